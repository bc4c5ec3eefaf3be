/*  recover.c: a (re)started broker reads its unfinished jobs back from the
 *  store's pending index and queues them again, so no accepted job is lost
 *  when the broker dies. Jobs recorded by another broker name are left.
 *  And the other way: on a fresh connection (Redis back, a new master after
 *  a failover) the broker writes back every job it holds. */
#include "state.h"
#include "clock.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    maas_broker_t *broker;             //  owner
    char id[MAAS_PROTO_ID_MAX + 1];    //  job being read back
} recall_t;

//  Field NAME of an HGETALL reply, or NULL.
static redisReply *
s_field (redisReply *hash, const char *name)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (hash->element[i]->type == REDIS_REPLY_STRING
            && strcmp (hash->element[i]->str, name) == 0)
            return hash->element[i + 1];
    return NULL;
}

//  The status in FIELD, STATUS_COUNT if it holds none.
static status_t
s_status (redisReply *field)
{
    return field && field->type == REDIS_REPLY_STRING ? broker_status_parse (field->str, field->len)
                                                      : STATUS_COUNT;
}

static bool
s_is (redisReply *field, const char *text)
{
    return field && field->type == REDIS_REPLY_STRING && strcmp (field->str, text) == 0;
}

//  Build the job from its hash and queue it; -1 if the hash is unusable.
static int
s_rebuild (maas_broker_t *self, const char *id, redisReply *hash)
{
    redisReply *header = s_field (hash, "header"), *payload = s_field (hash, "payload");
    redisReply *client = s_field (hash, "client"), *attempts = s_field (hash, "attempts");
    maas_proto_job_t spec;
    maas_err_t err;
    if (!header || header->type != REDIS_REPLY_STRING
        || maas_proto_job_parse (&spec, header->str, header->len, &self->scratch, &err) != 0
        || strcmp (spec.id, id) != 0)
        return -1;
    kind_t *kind = broker_kind_add (self, spec.kind, false);
    job_t *job = kind ? broker_job_new (self, &spec, kind) : NULL;
    if (!job)
        return -1;
    job->track = true;
    zmq_msg_init_size (&job->header, header->len);
    memcpy (zmq_msg_data (&job->header), header->str, header->len);
    if (payload && payload->type == REDIS_REPLY_STRING) {
        zmq_msg_close (&job->payload);
        zmq_msg_init_size (&job->payload, payload->len);
        memcpy (zmq_msg_data (&job->payload), payload->str, payload->len);
    }
    if (client && client->type == REDIS_REPLY_STRING && client->len <= MAAS_PROTO_PEER_MAX) {
        memcpy (job->client, client->str, client->len);
        job->client_size = client->len;
    }
    job->attempts = attempts && attempts->type == REDIS_REPLY_STRING ? atoi (attempts->str) : 0;
    if (broker_charge (self, job, job->client, job->client_size) != 0) {
        broker_job_destroy (&job);
        return -1;
    }
    zhashx_insert (self->jobs, job->id, job);
    job->owed = true;    //  results made now wait for the client to speak
    if (!payload && spec.durable == false) {
        if (broker_job_enqueue (self, job, false) == 0)
            broker_job_finish (self, job, STATUS_FAILED,
                               "lost: the broker restarted and the job was not durable", NULL,
                               NULL);
    }
    else if (s_status (s_field (hash, "status")) == STATUS_RUNNING)
        broker_job_requeue (self, job, "the broker restarted while it ran");
    else
        broker_job_enqueue (self, job, false);
    if (zhashx_lookup (self->jobs, id) == job)
        job->owed = false;    //  still held: later results are pushed as usual
    return 0;
}

//  A record this broker cannot run (bad header, no room for its kind):
//  final, so it leaves the pending index and a FETCH says why.
static void
s_unrecoverable (maas_broker_t *self, const char *id)
{
    const char *why =
        "not recoverable: its record could not be read back into a job "
        "after a broker restart (bad header, or too many kinds held); submit it again";
    maas_store_field_t error = {"error", why, strlen (why)};
    maas_store_update (self->store, id, broker_status_names[STATUS_FAILED], MAAS_STORE_FINAL,
                       &error, 1);
    maas_warn ("broker", "job not recoverable job=%s", id);
}

static void
s_on_hash (void *r, void *arg)
{
    recall_t *recall = arg;
    maas_broker_t *self = recall->broker;
    redisReply *hash = r;
    if (hash && hash->type == REDIS_REPLY_ARRAY && !zhashx_lookup (self->jobs, recall->id)) {
        status_t status = s_status (s_field (hash, "status"));
        if (hash->elements == 0 || (status != STATUS_QUEUED && status != STATUS_RUNNING))
            maas_store_forget (self->store, recall->id);    //  finished or gone: stale entry
        else if (s_is (s_field (hash, "broker"), self->name)) {
            if (s_rebuild (self, recall->id, hash) == 0)
                maas_info ("broker", "job recovered job=%s", recall->id);
            else
                s_unrecoverable (self, recall->id);
        }
    }
    free (recall);
}

static void
s_on_pending (void *r, void *arg)
{
    maas_broker_t *self = arg;
    redisReply *ids = r;
    if (!ids || ids->type != REDIS_REPLY_ARRAY) {
        self->loaded = false;    //  try again when Redis is back
        return;
    }
    maas_info ("broker", "recovering pending jobs count=%zu", ids->elements);
    for (size_t i = 0; i < ids->elements; i++) {
        redisReply *id = ids->element[i];
        if (id->type != REDIS_REPLY_STRING || id->len > MAAS_PROTO_ID_MAX
            || zhashx_lookup (self->jobs, id->str))
            continue;
        recall_t *recall = calloc (1, sizeof *recall);
        if (!recall)
            break;
        recall->broker = self;
        memcpy (recall->id, id->str, id->len);
        if (maas_store_job (self->store, recall->id, s_on_hash, recall) != 0) {
            free (recall);
            break;
        }
    }
}

void
broker_recover (maas_broker_t *self)
{
    if (maas_store_pending (self->store, s_on_pending, self) == 0)
        self->loaded = true;
}

//  Write JOB back as it stands (its record may be missing or stale).
static void
s_restore_job (maas_broker_t *self, job_t *job)
{
    char attempts[24], started[24];
    maas_proto_itoa (attempts, job->attempts);
    maas_proto_itoa (started, job->started_ms);
    bool running = job->state == JOB_RUNNING && job->worker;
    maas_store_field_t fields[7] = {
        {"client", job->client, job->client_size},
        {"broker", self->name, strlen (self->name)},
        {"header", zmq_msg_data (&job->header), zmq_msg_size (&job->header)},
        {"attempts", attempts, strlen (attempts)}};
    size_t count = 4;
    if (job->durable)
        fields[count++] = (maas_store_field_t){"payload", zmq_msg_data (&job->payload),
                                               zmq_msg_size (&job->payload)};
    if (running) {
        fields[count++] =
            (maas_store_field_t){"worker", job->worker->name, strlen (job->worker->name)};
        fields[count++] = (maas_store_field_t){"started_ms", started, strlen (started)};
    }
    maas_store_restore (self->store, job->id, job->submitted_ms,
                        broker_status_names[running ? STATUS_RUNNING : STATUS_QUEUED], fields,
                        count);
}

void
broker_restore (maas_broker_t *self)
{
    size_t written = 0, resent = 0;
    for (job_t *job = zhashx_first (self->jobs); job; job = zhashx_next (self->jobs))
        if (job->track && job->state != JOB_STORING) {
            s_restore_job (self, job);
            written++;
        }
    for (char *id = zlistx_first (self->unsure); id; id = zlistx_next (self->unsure)) {
        const char *why = "rejected: job store unavailable while it was being recorded; "
                          "submit it again to run it";
        maas_store_field_t error = {"error", why, strlen (why)};
        maas_store_update (self->store, id, broker_status_names[STATUS_REJECTED], MAAS_STORE_FINAL,
                           &error, 1);
    }
    size_t marked = zlistx_size (self->unsure);
    zlistx_purge (self->unsure);
    while (self->limbo.head) {
        job_t *job = BROKER_JOB (self->limbo.head);
        list_remove (&self->limbo, &job->link);
        broker_job_store (self, job);    //  may free JOB (rejected)
        resent++;
    }
    if (written || resent || marked)
        maas_info ("broker", "jobs written back redis=%s held=%zu resent=%zu rejected=%zu",
                   maas_store_where (self->store), written, resent, marked);
}
