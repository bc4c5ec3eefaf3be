/*  trainer.c: the maas-trainer engine: connections (brokers, data sets,
 *  registry) and the loop that takes train jobs one at a time. */
#include "trainer.h"
#include "train_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _maas_trainer_t {
    maas_worker_t *worker;             //  broker connections, kind "train", one credit
    maas_dataset_store_t *store;       //  data sets in Redis
    maas_registry_t *registry;         //  model registry in Redis
    maas_train_job_env_t env;          //  the three above, for jobs
    maas_train_counters_t counters;    //  what jobs did, written to STATS
    maas_stats_t *stats;               //  maas:trainer:<name> in Redis, owned
};

//  Write the counters when a period has passed (ARG: the trainer); from
//  the idle loop and, while a job trains, at its every poll.
static void
s_publish (void *arg)
{
    maas_trainer_t *self = arg;
    int64_t now = maas_clock_mono_ms ();
    if (!self->stats || !maas_stats_due (self->stats, now))
        return;
    const maas_train_counters_t *c = &self->counters;
    const maas_stats_field_t fields[] = {
        {"jobs_succeeded", c->succeeded}, {"jobs_failed", c->failed},
        {"jobs_cancelled", c->cancelled}, {"epochs", c->epochs},
        {"samples", c->samples},
    };
    maas_stats_write (self->stats, fields, sizeof fields / sizeof fields[0], now);
}

maas_trainer_config_t
maas_trainer_defaults (void)
{
    return (maas_trainer_config_t){.brokers = "tcp://127.0.0.1:5556", .poll_ms = 50};
}

maas_trainer_t *
maas_trainer_new (const maas_trainer_config_t *config, char *err, size_t err_size)
{
    maas_trainer_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    maas_redis_config_t redis = {.url = config->redis_url,
                                 .sentinels = config->redis_sentinels,
                                 .master = config->redis_master};
    maas_err_t why;
    self->store = maas_dataset_store_open (&redis, config->prefix, &why);
    if (self->store)
        self->registry = maas_registry_open (&redis, config->prefix, &why);
    if (!self->registry)
        maas_err_export (&why, err, err_size);
    else {
        //  One job at a time: training takes the whole machine's attention.
        self->worker = maas_worker_new (config->brokers, "train", 1, config->name, &why);
        if (!self->worker)
            maas_err_export (&why, err, err_size);
        else if ((config->curve_key || config->broker_key)
                 && maas_worker_set_curve (self->worker, config->curve_key, config->broker_key)
                     != 0) {
            snprintf (err, err_size, "%s", maas_worker_error (self->worker));
            maas_worker_destroy (&self->worker);
        }
    }
    if (!self->worker) {
        maas_trainer_destroy (&self);
        return NULL;
    }
    if (config->heartbeat_ms > 0)
        maas_worker_set_heartbeat (self->worker, config->heartbeat_ms,
                                   config->liveness > 0 ? config->liveness : MAAS_WORKER_LIVENESS);
    self->stats =
        maas_stats_new (&redis, config->prefix, "trainer", maas_worker_name (self->worker));
    self->env = (maas_train_job_env_t){.worker = self->worker,
                                       .store = self->store,
                                       .registry = self->registry,
                                       .poll_ms = config->poll_ms > 0 ? config->poll_ms : 50,
                                       .counters = &self->counters,
                                       .tick = s_publish,
                                       .tick_arg = self};
    return self;
}

void
maas_trainer_destroy (maas_trainer_t **self_p)
{
    maas_trainer_t *self = *self_p;
    if (!self)
        return;
    maas_stats_destroy (&self->stats);
    maas_worker_destroy (&self->worker);
    maas_registry_destroy (&self->registry);
    maas_dataset_store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

int
maas_trainer_run (maas_trainer_t *self)
{
    maas_info ("trainer", "serving kind=train");
    while (!zsys_interrupted) {
        s_publish (self);
        maas_work_t *work = maas_worker_recv (self->worker, MAAS_STATS_PERIOD_MS);
        if (!work)
            continue;
        if (strcmp (maas_work_job (work)->kind, "train") != 0) {
            self->counters.failed++;
            maas_worker_fail (self->worker, &work, "this is a trainer: it runs train jobs only");
            continue;
        }
        if (maas_train_job_run (&self->env, &work) != 0)
            break;
    }
    maas_info ("trainer", "stopping");
    return 0;
}
