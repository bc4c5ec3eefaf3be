/*  intake.c: a new tracked job's way in. It is recorded in Redis before the
 *  client hears ACCEPTED; a resubmitted id is answered from its record; while
 *  the store is away new jobs wait in the limbo for the next connection (up
 *  to --redis-timeout), then are rejected and remembered as unsure. */
#include "state.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_UNSURE_MAX 100000    //  rejected ids remembered to mark in Redis

static bool s_limbo (maas_broker_t *self, job_t *job);

//  JOB is recorded: queue it and tell the client.
static void
s_accept (maas_broker_t *self, job_t *job)
{
    if (job->client_moved)    //  another client spoke while it was being recorded
        broker_job_save_client (self, job);
    if (broker_job_enqueue (self, job, false) != 0)
        return;
    self->stats.accepted++;
    self->io.reply (self, job->client, job->client_size, MAAS_PROTO_ACCEPTED, job->id, "queued",
                    NULL, NULL);
    if (job->cancel)
        broker_job_finish (self, job, STATUS_CANCELLED, "cancelled by the client", NULL, NULL);
}

//  Is a record with STATUS one no broker is working on? "queued" with no
//  broker holding it: written by a submission whose connection was lost
//  (this one, sent again from the limbo, or an earlier one the client
//  retries), or left by a broker that died. "rejected": see the limbo.
static bool
s_unowned (redisReply *status)
{
    status_t known = status->type == REDIS_REPLY_STRING
        ? broker_status_parse (status->str, status->len)
        : STATUS_COUNT;
    return known == STATUS_QUEUED || known == STATUS_REJECTED;
}

//  A resubmitted id's record: answer from it, then forget the job (and
//  tidy what the resubmission wrote back if the job had finished). An
//  unowned record is taken instead: the job runs here (at least once).
static void
s_on_existing (void *r, void *arg)
{
    job_t *job = arg;
    maas_broker_t *self = job->broker;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4
        && s_unowned (reply->element[0])) {
        maas_info ("broker", "job taken over job=%s was=%s", job->id, reply->element[0]->str);
        maas_store_field_t status = {"status", "queued", 6};
        maas_store_set (self->store, job->id, &status, 1);
        s_accept (self, job);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4) {
        self->io.answer (self, job->client, job->client_size, job->id, reply);
        redisReply *status = reply->element[0];
        if (status->type == REDIS_REPLY_STRING
            && broker_status_final (broker_status_parse (status->str, status->len)))
            maas_store_settle (self->store, job->id);
    }
    else if (!reply && s_limbo (self, job))
        return;    //  sent again on the next connection
    else
        self->io.reply (self, job->client, job->client_size, MAAS_PROTO_REJECTED, job->id, NULL,
                        "unavailable", maas_store_error (self->store));
    zhashx_delete (self->jobs, job->id);
}

//  The store is down: JOB came in meanwhile, or its recording was cut off
//  (the write may or may not have landed). Keep it for the next connection
//  (a failover or a restart takes a moment) while the outage is younger
//  than --redis-timeout; past that, the caller rejects it.
static bool
s_limbo (maas_broker_t *self, job_t *job)
{
    if (self->stopping || maas_store_up (self->store) || self->config.redis_timeout_ms <= 0)
        return false;
    int64_t now = maas_clock_mono_ms (), since = maas_store_down_since (self->store);
    if (!job->limbo_until)    //  SINCE is 0 while hiredis fails a broken connection
        job->limbo_until = (since ? since : now) + self->config.redis_timeout_ms;
    if (now >= job->limbo_until)
        return false;
    list_push (&self->limbo, &job->link, true);
    return true;
}

void
broker_limbo_expire (maas_broker_t *self, int64_t now)
{
    job_t *job = BROKER_JOB (self->limbo.head);
    while (job) {
        job_t *next = BROKER_JOB (job->link.next);
        if (now >= job->limbo_until) {
            list_remove (&self->limbo, &job->link);
            self->stats.rejected++;
            maas_warn ("broker", "job not recorded job=%s error=\"%s\"", job->id,
                       maas_store_error (self->store));
            if (zlistx_size (self->unsure) < S_UNSURE_MAX)
                zlistx_add_end (self->unsure, job->id);
            self->io.reply (self, job->client, job->client_size, MAAS_PROTO_REJECTED, job->id, NULL,
                            "unavailable", maas_store_error (self->store));
            zhashx_delete (self->jobs, job->id);
        }
        job = next;
    }
}

static void
s_on_stored (int outcome, const char *error, void *arg)
{
    job_t *job = arg;
    maas_broker_t *self = job->broker;
    if (outcome == 1) {
        s_accept (self, job);
        return;
    }
    if (outcome == 0 && maas_store_fetch (self->store, job->id, s_on_existing, job) == 0)
        return;    //  answered when the record arrives
    if (outcome < 0 && s_limbo (self, job))
        return;    //  sent again on the next connection
    maas_warn ("broker", "job not recorded job=%s error=%s", job->id, error ? error : "");
    self->stats.rejected++;
    self->io.reply (self, job->client, job->client_size, MAAS_PROTO_REJECTED, job->id, NULL,
                    "unavailable", error ? error : "job store unavailable");
    zhashx_delete (self->jobs, job->id);
}

void
broker_job_store (maas_broker_t *self, job_t *job)
{
    //  Few fields on purpose: each costs Redis time on every job. Kind,
    //  model, version, priority, deadline are in the header (`maas status`
    //  decodes it); the submit time is in the id when the client made it.
    maas_store_field_t fields[] = {
        {"client", job->client, job->client_size},
        {"broker", self->name, strlen (self->name)},
        {"header", zmq_msg_data (&job->header), zmq_msg_size (&job->header)},
        {"payload", zmq_msg_data (&job->payload), zmq_msg_size (&job->payload)}};
    size_t count = sizeof fields / sizeof fields[0] - !job->durable;
    job->state = JOB_STORING;
    if (maas_store_submit (self->store, job->id, job->submitted_ms, fields, count, s_on_stored, job)
            != 0
        && !s_limbo (self, job)) {
        self->stats.rejected++;
        self->io.reply (self, job->client, job->client_size, MAAS_PROTO_REJECTED, job->id, NULL,
                        "unavailable", maas_store_error (self->store));
        zhashx_delete (self->jobs, job->id);
    }
}
