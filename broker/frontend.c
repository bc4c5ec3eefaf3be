/*  frontend.c: what clients send the broker (SUBMIT, CANCEL, FETCH, PING).
 *  Every message from a client gets an answer, bad ones a REJECTED with a
 *  reason; nothing a client sends can crash the broker. */
#include "engine.h"
#include "clock.h"
#include "codec.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
engine_reply (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd,
              const char *id, const char *status, const char *reason, const char *error)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, (id != NULL) + (status != NULL) + (reason != NULL)
                                   + (error != NULL));
    if (id)
        maas_codec_pack_kv_str (&buf.pk, "id", id);
    if (status)
        maas_codec_pack_kv_str (&buf.pk, "status", status);
    if (reason)
        maas_codec_pack_kv_str (&buf.pk, "reason", reason);
    if (error)
        maas_codec_pack_kv_strn (&buf.pk, "error", error, strnlen (error, 1024));
    maas_proto_send (self->front, client, client_size, cmd, buf.data, buf.size, NULL);
}

static void
s_reject (maas_broker_t *self, maas_proto_msg_t *msg, const char *id, const char *reason,
          const char *error)
{
    self->stats.rejected++;
    engine_reply (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                  MAAS_PROTO_REJECTED, id && id[0] ? id : NULL, NULL, reason, error);
}

static void
s_set_client (job_t *job, maas_proto_msg_t *msg)
{
    job->client_size = zmq_msg_size (&msg->peer);
    memcpy (job->client, zmq_msg_data (&msg->peer), job->client_size);
}

//  A SUBMIT for an id we hold: the client retried. Answer where it stands.
static void
s_resubmit (maas_broker_t *self, job_t *job, maas_proto_msg_t *msg)
{
    s_set_client (job, msg);        //  answer the latest sender
    if (job->state != JOB_STORING)
        engine_reply (self, job->client, job->client_size, MAAS_PROTO_ACCEPTED, job->id,
                      job->state == JOB_QUEUED ? "queued" : "running", NULL, NULL);
}

static void
s_submit (maas_broker_t *self, maas_proto_msg_t *msg)
{
    size_t size;
    const void *header = maas_proto_header (msg, &size);
    maas_proto_job_t spec;
    char err[300];
    self->stats.submitted++;
    if (!header) {
        s_reject (self, msg, NULL, "bad_request", "SUBMIT without a header frame");
        return;
    }
    if (maas_proto_job_parse (&spec, header, size, &self->scratch, err, sizeof err) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad SUBMIT error=%s", err);
        s_reject (self, msg, maas_proto_id_valid (spec.id, strlen (spec.id)) ? spec.id : NULL,
                  "bad_request", err);
        return;
    }
    if (!engine_gate_submit (self, msg, spec.id, spec.kind))
        return;                     //  before anything is stored
    job_t *job = zhashx_lookup (self->jobs, spec.id);
    if (job) {
        s_resubmit (self, job, msg);
        return;
    }
    if (zhashx_size (self->jobs) >= self->config.max_jobs) {
        snprintf (err, sizeof err, "overloaded: %zu jobs held (--max-jobs %zu); retry later",
                  zhashx_size (self->jobs), self->config.max_jobs);
        s_reject (self, msg, spec.id, "overloaded", err);
        return;
    }
    kind_t *kind = engine_kind (self, spec.kind);
    job = kind ? engine_job_new (self, &spec, kind) : NULL;
    if (!job) {
        s_reject (self, msg, spec.id, "overloaded",
                  kind ? "out of memory" : "too many distinct job kinds (64)");
        return;
    }
    s_set_client (job, msg);
    zmq_msg_move (&job->header, &msg->frames[2]);
    if (maas_proto_payload (msg))
        zmq_msg_move (&job->payload, maas_proto_payload (msg));
    zhashx_insert (self->jobs, job->id, job);
    if (job->track) {
        engine_job_store (self, job);
        return;
    }
    if (spec.track && self->config.status && !self->store)
        maas_debug ("broker", "job untracked: no job store id=%s", job->id);
    engine_job_enqueue (self, job, false);
    self->stats.accepted++;
    engine_reply (self, job->client, job->client_size, MAAS_PROTO_ACCEPTED, job->id, "queued",
                  NULL, NULL);
}

//  Read {"id": ...} from a CANCEL or FETCH; reject and return -1 if bad.
static int
s_id_of (maas_broker_t *self, maas_proto_msg_t *msg, char id[MAAS_PROTO_ID_MAX + 1])
{
    size_t size;
    const void *header = maas_proto_header (msg, &size);
    char err[300] = "missing header frame";
    maas_codec_map_t map;
    if (header
        && maas_codec_unpack (header, size, MAAS_PROTO_HEADER_MAX, &self->scratch, err,
                              sizeof err) == 0
        && maas_codec_map_init (&map, &self->scratch.data, "header") == 0) {
        if (maas_codec_map_str_copy (&map, "id", id, MAAS_PROTO_ID_MAX + 1) == 0
            && maas_proto_id_valid (id, strlen (id)))
            return 0;
        snprintf (err, sizeof err, "%s", map.err[0] ? map.err : "header: bad key 'id'");
    }
    else if (header)
        snprintf (err, sizeof err, "%s", err[0] ? err : map.err);
    self->stats.bad_input++;
    maas_warn ("broker", "bad %s error=%s", maas_proto_cmd_name (maas_proto_check (msg, NULL, 0)),
               err);
    s_reject (self, msg, NULL, "bad_request", err);
    return -1;
}

static void
s_cancel (maas_broker_t *self, maas_proto_msg_t *msg)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    if (s_id_of (self, msg, id) != 0)
        return;
    job_t *job = zhashx_lookup (self->jobs, id);
    if (!job) {
        s_reject (self, msg, id, "unknown_job", "job is not queued or running on this broker");
        return;
    }
    s_set_client (job, msg);
    job->cancel = true;
    if (job->state == JOB_QUEUED)
        engine_job_finish (self, job, "cancelled", "cancelled by the client", NULL, NULL);
    else if (job->state == JOB_RUNNING) {
        maas_proto_buf_t buf;
        maas_proto_buf_init (&buf);
        msgpack_pack_map (&buf.pk, 1);
        maas_codec_pack_kv_str (&buf.pk, "id", id);
        maas_proto_send (self->back, job->worker->identity, job->worker->identity_size,
                         MAAS_PROTO_CANCEL, buf.data, buf.size, NULL);
    }
}

typedef struct {
    maas_broker_t *broker;          //  owner
    char id[MAAS_PROTO_ID_MAX + 1]; //  job asked about
    uint8_t client[MAAS_PROTO_PEER_MAX]; //  who asked
    size_t client_size;             //  its length
} fetch_t;

static void
s_on_fetched (struct redisAsyncContext *ac, void *r, void *arg)
{
    fetch_t *fetch = arg;
    redisReply *reply = r;
    maas_broker_t *self = fetch->broker;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4)
        engine_answer_stored (self, fetch->client, fetch->client_size, fetch->id, reply);
    else
        engine_reply (self, fetch->client, fetch->client_size, MAAS_PROTO_REJECTED, fetch->id,
                      NULL, "unavailable",
                      reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                : "job store unavailable");
    free (fetch);
}

static void
s_fetch (maas_broker_t *self, maas_proto_msg_t *msg)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    if (s_id_of (self, msg, id) != 0)
        return;
    job_t *job = zhashx_lookup (self->jobs, id);
    if (job) {
        s_resubmit (self, job, msg);
        return;
    }
    if (!self->store || !self->config.status) {
        s_reject (self, msg, id, "unknown_job", "job is not queued or running on this broker");
        return;
    }
    fetch_t *fetch = calloc (1, sizeof *fetch);
    if (fetch) {
        fetch->broker = self;
        snprintf (fetch->id, sizeof fetch->id, "%s", id);
        fetch->client_size = zmq_msg_size (&msg->peer);
        memcpy (fetch->client, zmq_msg_data (&msg->peer), fetch->client_size);
    }
    if (!fetch || maas_store_fetch (self->store, id, s_on_fetched, fetch) != 0) {
        free (fetch);
        s_reject (self, msg, id, "unavailable", maas_store_error (self->store));
    }
}

void
engine_frontend (maas_broker_t *self, maas_proto_msg_t *msg)
{
    char err[256];
    if (zmq_msg_size (&msg->peer) > MAAS_PROTO_PEER_MAX) {
        maas_warn ("broker", "client routing id too long size=%zu", zmq_msg_size (&msg->peer));
        return;                     //  cannot keep it to answer later
    }
    int cmd = maas_proto_check (msg, err, sizeof err);
    if (cmd == MAAS_PROTO_SUBMIT)
        s_submit (self, msg);
    else if (cmd == MAAS_PROTO_CANCEL)
        s_cancel (self, msg);
    else if (cmd == MAAS_PROTO_FETCH)
        s_fetch (self, msg);
    else if (cmd == MAAS_PROTO_PING) {
        const uint8_t empty_map = 0x80;
        maas_proto_send (self->front, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                         MAAS_PROTO_PONG, &empty_map, 1, NULL);
    }
    else {
        if (cmd >= 0)
            snprintf (err, sizeof err, "unknown client command 0x%02x", (unsigned) cmd);
        self->stats.bad_input++;
        maas_warn ("broker", "bad client message error=%s", err);
        s_reject (self, msg, NULL, "bad_request", err);
    }
}
