/*  main.c: maas-worker, runs infer and explain jobs: flags and environment, signals and
 *  logging, then the serve loop (serve.c). */
#include "engine.h"
#include "maas.h"
#include "serve.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Rows computed between heartbeat checks in a long batch (~60 ms for the
//  largest models benchmarked, well inside a broker's liveness window).
#define S_TICK_ROWS 256

typedef struct {
    const char *broker;             //  backend endpoints, comma-separated
    const char *curve_key;          //  our secret key file, or NULL: plain
    const char *broker_key;         //  the broker's public key file
    const char *name;               //  worker name in logs and Redis
    int credits;                    //  jobs held at once
    int threads;                    //  OpenBLAS threads
    int heartbeat_ms;               //  heartbeat interval
    maas_engine_config_t engine;    //  registry, cache, batching
} s_config_t;

static const char s_summary[] =
    "usage: maas-worker [options]\n"
    "Runs infer and explain jobs from a maas broker on models from the Redis registry.\n\n";

//  Defaults, environment, then flags. 0, 1 after --help/--version, -1
//  after saying what is wrong.
static int
s_configure (s_config_t *config, int argc, char **argv)
{
    *config = (s_config_t){.broker = "tcp://127.0.0.1:5556",
                           .credits = 32,
                           .threads = 1,
                           .heartbeat_ms = MAAS_WORKER_HEARTBEAT_MS};
    config->engine = (maas_engine_config_t){.max_batch_rows = MAAS_ENGINE_MAX_BATCH_ROWS_DEFAULT,
                                            .max_rows = MAAS_ENGINE_MAX_ROWS_DEFAULT,
                                            .tick_rows = S_TICK_ROWS};
    int cache_mb = MAAS_ENGINE_CACHE_MB_DEFAULT, delay_us = MAAS_ENGINE_BATCH_DELAY_US_DEFAULT;
    const char *log_level = "info";
    const maas_option_t table[] = {
        {"--broker", "MAAS_BROKER_BACKEND", MAAS_OPT_STRING, 0, 0, NULL, &config->broker, "EP",
         "broker backend(s), comma-separated", NULL},
        MAAS_CURVE_OPTIONS (&config->curve_key, &config->broker_key),
        {"--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, &config->engine.redis_url, "URL",
         "registry", MAAS_REDIS_URL_DEFAULT},
        {"--prefix", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config->engine.prefix, "P",
         "Redis key prefix", "maas:"},
        {"--name", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config->name, "NAME", "worker name",
         "worker-<pid>"},
        {"--credits", NULL, MAAS_OPT_INT, 1, 100000, NULL, &config->credits, "N",
         "jobs held at once, what batches form from", NULL},
        {"--cache-mb", NULL, MAAS_OPT_INT, 1, 1 << 20, NULL, &cache_mb, "N",
         "model cache bound: weights + workspace", NULL},
        {"--max-batch-rows", NULL, MAAS_OPT_UINT, 0, 1 << 24, NULL, &config->engine.max_batch_rows,
         "N", "rows per batch; 0 runs each job alone", NULL},
        {"--max-rows", NULL, MAAS_OPT_UINT, 1, (size_t) 1 << 30, NULL, &config->engine.max_rows,
         "N", "rows one job may send; a bigger job fails, naming the limit", NULL},
        {"--batch-delay-us", NULL, MAAS_OPT_INT, 0, 10000000, NULL, &delay_us, "N",
         "longest a job waits for company", NULL},
        {"--threads", NULL, MAAS_OPT_INT, 1, 256, NULL, &config->threads, "N",
         "OpenBLAS threads (several workers share the cores)", NULL},
        {"--heartbeat", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS",
         "heartbeat interval, as the broker's", NULL},
        {"--heartbeat-ms", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS", NULL,
         NULL},    //  the old spelling
        {"--log-level", "MAAS_LOG_LEVEL", MAAS_OPT_CHOICE, 0, 0, MAAS_OPTIONS_LOG_LEVELS,
         &log_level, "L", "log level", NULL},
    };
    const maas_options_t options = {"maas-worker", s_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int rc = maas_options_main (&options, argc, argv, getenv);
    config->engine.redis_sentinels = getenv ("MAAS_REDIS_SENTINELS");
    config->engine.redis_master = getenv ("MAAS_REDIS_MASTER");
    config->engine.cache_bytes = (size_t) cache_mb << 20;
    config->engine.batch_delay_us = delay_us;
    maas_log_set_level ((maas_log_level_t) maas_log_level_parse (log_level));
    return rc;
}

int
main (int argc, char **argv)
{
    s_config_t config;
    int rc = s_configure (&config, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    signal (SIGPIPE, SIG_IGN);
    zsys_init ();
    maas_blas_set_threads (config.threads);
    maas_err_t why;
    maas_worker_t *worker =
        maas_worker_new (config.broker, "infer,explain", config.credits, config.name, &why);
    if (!worker) {
        fprintf (stderr, "maas-worker: %s (--broker)\n", why.text);
        return 1;
    }
    if ((config.curve_key || config.broker_key)
        && maas_worker_set_curve (worker, config.curve_key, config.broker_key) != 0) {
        fprintf (stderr, "maas-worker: %s\n", maas_worker_error (worker));
        maas_worker_destroy (&worker);
        return 1;
    }
    maas_worker_set_heartbeat (worker, config.heartbeat_ms, MAAS_WORKER_LIVENESS);
    config.engine.tick = maas_serve_tick;
    config.engine.tick_arg = worker;
    char err[512];
    maas_engine_t *engine = maas_engine_new (&config.engine, err, sizeof err);
    if (!engine) {
        fprintf (stderr, "maas-worker: %s\n", err);
        maas_worker_destroy (&worker);
        return 1;
    }
    maas_info ("worker",
               "started broker=%s credits=%d cache_mb=%zu max_batch_rows=%zu "
               "batch_delay_us=%" PRId64 " threads=%d",
               config.broker, config.credits, config.engine.cache_bytes >> 20,
               config.engine.max_batch_rows, config.engine.batch_delay_us, config.threads);
    maas_redis_config_t redis = {.url = config.engine.redis_url,
                                 .sentinels = config.engine.redis_sentinels,
                                 .master = config.engine.redis_master};
    maas_stats_t *stats =
        maas_stats_new (&redis, config.engine.prefix, "worker", maas_worker_name (worker));
    maas_serve_run (worker, engine, stats, config.heartbeat_ms);
    maas_stats_destroy (&stats);
    maas_engine_destroy (&engine);
    maas_worker_destroy (&worker);
    maas_info ("worker", "stopped");
    return 0;
}
