/*  clients.c: everything between the broker and its clients: what they
 *  send (SUBMIT, CANCEL, FETCH, PING) and every message sent to them.
 *  Every message from a client gets an answer, bad ones a REJECTED with a
 *  reason; nothing a client sends can crash the broker. */
#include "state.h"
#include "clock.h"
#include "codec.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
broker_client_reply (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd,
                     const char *id, const char *status, const char *reason, const char *error)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk,
                      (id != NULL) + (status != NULL) + (reason != NULL) + (error != NULL));
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
    broker_client_reply (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                         MAAS_PROTO_REJECTED, id && id[0] ? id : NULL, NULL, reason, error);
}

//  REJECTED overloaded, and a warn line at most once a second with how many
//  since the last one: a flood must be visible to the operator, but not
//  write a log line per refused job.
static void
s_overloaded (maas_broker_t *self, maas_proto_msg_t *msg, const char *id, const char *error)
{
    self->overload_unlogged++;
    if (self->now_mono - self->overload_logged >= 1000 || !self->overload_logged) {
        maas_warn ("broker", "overloaded rejected=%" PRIu64 " error=%s", self->overload_unlogged,
                   error);
        self->overload_logged = self->now_mono ? self->now_mono : 1;
        self->overload_unlogged = 0;
    }
    s_reject (self, msg, id, "overloaded", error);
}

//  MSG's sender is now whoever last spoke about JOB: its RESULT goes there,
//  also after a broker restart, so a change is written to the record (a
//  job still being recorded writes it once accepted).
static void
s_set_client (maas_broker_t *self, job_t *job, maas_proto_msg_t *msg)
{
    size_t size = zmq_msg_size (&msg->peer);
    if (size == job->client_size && memcmp (job->client, zmq_msg_data (&msg->peer), size) == 0)
        return;
    job->client_size = size;
    memcpy (job->client, zmq_msg_data (&msg->peer), size);
    if (job->track && job->state == JOB_STORING)
        job->client_moved = true;
    else if (job->track)
        broker_job_save_client (self, job);
}

//  A SUBMIT for an id we hold: the client retried. Answer where it stands.
static void
s_resubmit (maas_broker_t *self, job_t *job, maas_proto_msg_t *msg)
{
    s_set_client (self, job, msg);    //  answer the latest sender
    if (job->state != JOB_STORING)
        broker_client_reply (
            self, job->client, job->client_size, MAAS_PROTO_ACCEPTED, job->id,
            broker_status_names[job->state == JOB_QUEUED ? STATUS_QUEUED : STATUS_RUNNING], NULL,
            NULL);
}

//  The kind of a new job SPEC (its header still in self->scratch): one a
//  worker announced (or built in), or, if the header says wait_for_kind:
//  true, any, held while jobs wait for it. Else reject and NULL.
static kind_t *
s_kind_of (maas_broker_t *self, maas_proto_msg_t *msg, const maas_proto_job_t *spec, char *err,
           size_t err_size)
{
    kind_t *kind = broker_kind (self, spec->kind);
    if (kind && kind->announced)
        return kind;
    maas_codec_map_t map;
    bool wait = false;
    if (maas_codec_map_init (&map, &self->scratch.data, "header") == 0
        && maas_codec_map_find (&map, "wait_for_kind")
        && maas_codec_map_bool (&map, "wait_for_kind", &wait) != 0) {
        self->stats.bad_input++;
        s_reject (self, msg, spec->id, "bad_request", map.err.text);
        return NULL;
    }
    if (!wait) {
        snprintf (err, err_size,
                  "no worker has announced kind '%s'; start one that serves it, or submit "
                  "with wait_for_kind: true to queue until one does",
                  spec->kind);
        s_reject (self, msg, spec->id, "unknown_kind", err);
        return NULL;
    }
    kind = broker_kind_add (self, spec->kind, false);
    if (!kind)
        s_overloaded (self, msg, spec->id, "too many distinct job kinds held (64); retry later");
    return kind;
}

static void
s_submit (maas_broker_t *self, maas_proto_msg_t *msg)
{
    size_t size;
    const void *header = maas_proto_header (msg, &size);
    maas_proto_job_t spec;
    maas_err_t err;
    self->stats.submitted++;
    if (!header) {
        s_reject (self, msg, NULL, "bad_request", "SUBMIT without a header frame");
        return;
    }
    if (maas_proto_job_parse (&spec, header, size, &self->scratch, &err) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad SUBMIT error=%s", err.text);
        s_reject (self, msg, maas_proto_id_valid (spec.id, strlen (spec.id)) ? spec.id : NULL,
                  "bad_request", err.text);
        return;
    }
    if (!broker_gate_submit (self, msg, spec.id, spec.kind))
        return;    //  before anything is stored
    job_t *job = zhashx_lookup (self->jobs, spec.id);
    if (job) {
        s_resubmit (self, job, msg);
        return;
    }
    if (zhashx_size (self->jobs) >= self->config.max_jobs) {
        maas_err_set (&err, MAAS_ERR_INPUT,
                      "overloaded: %zu jobs held (--max-jobs %zu); retry later",
                      zhashx_size (self->jobs), self->config.max_jobs);
        s_overloaded (self, msg, spec.id, err.text);
        return;
    }
    zmq_msg_t *payload = maas_proto_payload (msg);
    if (broker_admit (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                      size + (payload ? zmq_msg_size (payload) : 0), err.text, sizeof err.text)
        != 0) {
        s_overloaded (self, msg, spec.id, err.text);
        return;
    }
    kind_t *kind = s_kind_of (self, msg, &spec, err.text, sizeof err.text);
    if (!kind)
        return;
    job = broker_job_new (self, &spec, kind);
    if (!job) {
        s_overloaded (self, msg, spec.id, "out of memory");
        return;
    }
    job->client_size = zmq_msg_size (&msg->peer);
    memcpy (job->client, zmq_msg_data (&msg->peer), job->client_size);
    zmq_msg_move (&job->header, &msg->frames[2]);
    if (payload)
        zmq_msg_move (&job->payload, payload);
    if (broker_charge (self, job, job->client, job->client_size) != 0) {
        broker_job_destroy (&job);
        s_overloaded (self, msg, spec.id, "out of memory");
        return;
    }
    zhashx_insert (self->jobs, job->id, job);
    if (job->track) {
        broker_job_store (self, job);
        return;
    }
    if (spec.track && self->config.status && !self->store)
        maas_debug ("broker", "job untracked: no job store job=%s", job->id);
    if (broker_job_enqueue (self, job, false) != 0)
        return;
    self->stats.accepted++;
    broker_client_reply (self, job->client, job->client_size, MAAS_PROTO_ACCEPTED, job->id,
                         "queued", NULL, NULL);
}

//  Read {"id": ...} from a CANCEL or FETCH; reject and return -1 if bad.
static int
s_id_of (maas_broker_t *self, maas_proto_msg_t *msg, char id[MAAS_PROTO_ID_MAX + 1])
{
    char err[300];
    maas_codec_map_t map;
    if (broker_header_map (self, msg, &map, err, sizeof err) == 0) {
        if (maas_codec_map_str_copy (&map, "id", id, MAAS_PROTO_ID_MAX + 1) != 0)
            maas_err_export (&map.err, err, sizeof err);
        else if (maas_proto_id_valid (id, strlen (id)))
            return 0;
        else
            snprintf (err, sizeof err, "header: key 'id' must be 1..64 of [0-9A-Za-z_.:-]");
    }
    self->stats.bad_input++;
    maas_warn ("broker", "bad %s error=%s", maas_proto_cmd_name (maas_proto_check (msg, NULL)),
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
    s_set_client (self, job, msg);
    broker_job_cancel (self, job);
}

typedef struct {
    maas_broker_t *broker;                  //  owner
    char id[MAAS_PROTO_ID_MAX + 1];         //  job asked about
    uint8_t client[MAAS_PROTO_PEER_MAX];    //  who asked
    size_t client_size;                     //  its length
} fetch_t;

static void
s_on_fetched (void *r, void *arg)
{
    fetch_t *fetch = arg;
    redisReply *reply = r;
    maas_broker_t *self = fetch->broker;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4)
        broker_client_answer (self, fetch->client, fetch->client_size, fetch->id, reply);
    else
        broker_client_reply (self, fetch->client, fetch->client_size, MAAS_PROTO_REJECTED,
                             fetch->id, NULL, "unavailable",
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

#define S_OWED_MAX 100000    //  RESULTs kept for clients not heard from since a restart

typedef struct {
    uint8_t client[MAAS_PROTO_PEER_MAX];    //  routing id to send to
    size_t client_size;                     //  its length
    size_t header_size;                     //  bytes in HEADER
    uint8_t header[];                       //  the RESULT header
} owed_t;

void
broker_owe (maas_broker_t *self, const uint8_t *client, size_t client_size, const void *header,
            size_t header_size)
{
    if (zlistx_size (self->owed) >= S_OWED_MAX) {
        owed_t *oldest = zlistx_detach (self->owed, NULL);
        free (oldest);    //  its result is still in Redis for FETCH
    }
    owed_t *owed = malloc (sizeof *owed + header_size);
    if (!owed)
        return;
    memcpy (owed->client, client, client_size);
    owed->client_size = client_size;
    memcpy (owed->header, header, header_size);
    owed->header_size = header_size;
    zlistx_add_end (self->owed, owed);
}

void
broker_pay (maas_broker_t *self, const uint8_t *client, size_t client_size)
{
    owed_t *owed = zlistx_first (self->owed);
    while (owed) {
        void *handle = zlistx_cursor (self->owed);
        bool mine =
            owed->client_size == client_size && memcmp (owed->client, client, client_size) == 0;
        if (mine) {
            zmq_msg_t payload;
            zmq_msg_init (&payload);
            maas_proto_send (self->front, client, client_size, MAAS_PROTO_RESULT, owed->header,
                             owed->header_size, &payload);
        }
        owed = zlistx_next (self->owed);
        if (mine)
            zlistx_delete (self->owed, handle);
    }
}

//  A tracked job's RESULT waiting for its final write to be in Redis, so
//  that a client reading the job's record after its RESULT sees it final.
typedef struct {
    maas_broker_t *broker;
    bool owed;    //  kept for the client rather than sent
    uint8_t client[MAAS_PROTO_PEER_MAX];
    size_t client_size;
    bool has_payload;     //  PAYLOAD holds one (else the RESULT has none)
    zmq_msg_t payload;    //  moved from the worker's RESULT
    size_t header_size;
    uint8_t header[];    //  the RESULT header's bytes
} held_result_t;

static void
s_send_result (maas_broker_t *self, bool owed, const uint8_t *client, size_t client_size,
               const void *header, size_t header_size, zmq_msg_t *payload)
{
    if (owed)
        broker_owe (self, client, client_size, header, header_size);
    else
        maas_proto_send (self->front, client, client_size, MAAS_PROTO_RESULT, header, header_size,
                         payload);
}

//  The final write is in Redis (or the store went down: the client is not
//  kept waiting on it; the write is kept and written back).
static void
s_on_final_written (bool written, void *arg)
{
    held_result_t *held = arg;
    (void) written;
    s_send_result (held->broker, held->owed, held->client, held->client_size, held->header,
                   held->header_size, held->has_payload ? &held->payload : NULL);
    zmq_msg_close (&held->payload);
    free (held);
}

//  A tracked job's RESULT leaves once Redis has applied its final write
//  (one reply per loop turn for all of them, docs/redis.md); others, and
//  all results while the store is down, leave at once.
void
broker_client_result (maas_broker_t *self, const job_t *job, const void *header, size_t header_size,
                      zmq_msg_t *payload)
{
    held_result_t *held = job->track && self->store ? malloc (sizeof *held + header_size) : NULL;
    if (held) {
        *held = (held_result_t){.broker = self,
                                .owed = job->owed,
                                .client_size = job->client_size,
                                .header_size = header_size,
                                .has_payload = payload != NULL};
        memcpy (held->client, job->client, job->client_size);
        memcpy (held->header, header, header_size);
        zmq_msg_init (&held->payload);
        if (payload)
            zmq_msg_move (&held->payload, payload);
        if (maas_store_after_writes (self->store, s_on_final_written, held) == 0)
            return;
        if (payload)
            zmq_msg_move (payload, &held->payload);
        zmq_msg_close (&held->payload);
        free (held);
    }
    s_send_result (self, job->owed, job->client, job->client_size, header, header_size, payload);
}

void
broker_client_progress (maas_broker_t *self, const job_t *job, const void *header,
                        size_t header_size)
{
    maas_proto_send (self->front, job->client, job->client_size, MAAS_PROTO_PROGRESS, header,
                     header_size, NULL);
}

void
broker_frontend (maas_broker_t *self, maas_proto_msg_t *msg)
{
    maas_err_t err;
    if (zmq_msg_size (&msg->peer) > MAAS_PROTO_PEER_MAX) {
        maas_warn ("broker", "client routing id too long size=%zu", zmq_msg_size (&msg->peer));
        return;    //  cannot keep it to answer later
    }
    if (zlistx_size (self->owed))
        broker_pay (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer));
    int cmd = maas_proto_check (msg, &err);
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
            maas_err_set (&err, MAAS_ERR_INPUT, "unknown client command 0x%02x", (unsigned) cmd);
        self->stats.bad_input++;
        maas_warn ("broker", "bad client message error=%s", err.text);
        s_reject (self, msg, NULL, "bad_request", err.text);
    }
}

void
broker_client_answer (maas_broker_t *self, const uint8_t *client, size_t client_size,
                      const char *id, redisReply *fields)
{
    redisReply **f = fields->element;
    if (f[0]->type != REDIS_REPLY_STRING) {
        broker_client_reply (
            self, client, client_size, MAAS_PROTO_REJECTED, id, NULL, "unknown_job",
            "job is not known here (finished long ago and expired, or never submitted)");
        return;
    }
    if (!broker_status_final (broker_status_parse (f[0]->str, f[0]->len))) {
        broker_client_reply (self, client, client_size, MAAS_PROTO_ACCEPTED, id, f[0]->str, NULL,
                             NULL);
        return;
    }
    zmq_msg_t payload;
    zmq_msg_init_size (&payload, f[3]->type == REDIS_REPLY_STRING ? f[3]->len : 0);
    if (f[3]->type == REDIS_REPLY_STRING)
        memcpy (zmq_msg_data (&payload), f[3]->str, f[3]->len);
    if (f[2]->type == REDIS_REPLY_STRING && f[2]->len > 0) {
        maas_proto_send (self->front, client, client_size, MAAS_PROTO_RESULT, f[2]->str, f[2]->len,
                         &payload);
        return;
    }
    const char *error = f[1]->type == REDIS_REPLY_STRING && f[1]->len ? f[1]->str : NULL;
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 2 + (error != NULL));
    maas_codec_pack_kv_str (&buf.pk, "id", id);
    maas_codec_pack_kv_str (&buf.pk, "status", f[0]->str);
    if (error)
        maas_codec_pack_kv_strn (&buf.pk, "error", error, strnlen (error, 1024));
    maas_proto_send (self->front, client, client_size, MAAS_PROTO_RESULT, buf.data, buf.size,
                     &payload);
}
