/*  workers.c: the worker table and everything between the broker and its
 *  workers: what they send (READY, RESULT, PROGRESS, HEARTBEAT, DISCONNECT),
 *  every message sent to them, and liveness. A worker that goes silent
 *  for LIVENESS heartbeats is dropped and its jobs are queued again. */
#include "state.h"
#include "clock.h"
#include "codec.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_send_empty (maas_broker_t *self, const uint8_t *peer, size_t size, int cmd)
{
    const uint8_t empty_map = 0x80;
    maas_proto_send (self->back, peer, size, cmd, &empty_map, 1, NULL);
}

//  Index of the worker with routing id PEER, or -1.
static ssize_t
s_find (maas_broker_t *self, zmq_msg_t *peer)
{
    size_t size = zmq_msg_size (peer);
    const void *data = zmq_msg_data (peer);
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers[i]->identity_size == size
            && memcmp (self->workers[i]->identity, data, size) == 0)
            return (ssize_t) i;
    return -1;
}

void
broker_worker_destroy (maas_broker_t *self, size_t index, const char *why)
{
    worker_t *worker = self->workers[index];
    maas_info ("broker", "worker gone name=%s jobs=%d why=%s", worker->name, worker->inflight, why);
    while (worker->running.head)
        broker_job_requeue (self, BROKER_JOB (worker->running.head), why);
    self->workers[index] = self->workers[--self->worker_count];
    free (worker->models);
    free (worker);
    self->dirty = true;
}

//  ",a,b," from a msgpack array of strings (NULL if it is not one).
static char *
s_joined (const msgpack_object *items, size_t count)
{
    size_t size = 2;
    for (size_t i = 0; i < count; i++)
        size += items[i].via.str.size + 1;
    char *joined = malloc (size);
    if (!joined)
        return NULL;
    size_t at = 0;
    joined[at++] = ',';
    for (size_t i = 0; i < count; i++) {
        memcpy (joined + at, items[i].via.str.ptr, items[i].via.str.size);
        at += items[i].via.str.size;
        joined[at++] = ',';
    }
    joined[at] = '\0';
    return joined;
}

//  Apply READY's keys to WORKER; -1 with ERR if any is bad.
static int
s_announce (maas_broker_t *self, worker_t *worker, maas_codec_map_t *map, char *err,
            size_t err_size)
{
    const msgpack_object *items;
    size_t count;
    int64_t credits;
    if (maas_codec_map_strings (map, "kinds", &items, &count) != 0
        || maas_codec_map_int64 (map, "credits", &credits) != 0) {
        maas_err_export (&map->err, err, err_size);
        return -1;
    }
    if (credits < 1 || credits > 1000000 || count == 0) {
        snprintf (err, err_size, "READY: need credits 1..1000000 and at least one kind");
        return -1;
    }
    uint64_t kinds = 0;
    for (size_t i = 0; i < count; i++) {
        char name[MAAS_PROTO_KIND_MAX + 1];
        size_t len = items[i].via.str.size;
        if (len == 0 || len > MAAS_PROTO_KIND_MAX
            || !maas_proto_id_valid (items[i].via.str.ptr, len)) {
            snprintf (err, err_size, "READY: bad kind name");
            return -1;
        }
        memcpy (name, items[i].via.str.ptr, len);
        name[len] = '\0';
        kind_t *kind = broker_kind_add (self, name, true);
        if (!kind) {
            snprintf (err, err_size, "READY: too many distinct kinds (64)");
            return -1;
        }
        kinds |= (uint64_t) 1 << kind->bit;
    }
    worker->kinds = kinds;
    worker->credits = (int) credits;
    if (maas_codec_map_find (map, "models")
        && maas_codec_map_strings (map, "models", &items, &count) == 0) {
        free (worker->models);
        worker->models = s_joined (items, count);
    }
    if (maas_codec_map_find (map, "name"))
        maas_codec_map_str_copy (map, "name", worker->name, sizeof worker->name);
    return 0;
}

static worker_t *
s_worker_new (maas_broker_t *self, zmq_msg_t *peer)
{
    if (self->worker_count == self->worker_size) {
        size_t size = self->worker_size ? self->worker_size * 2 : 8;
        worker_t **grown = realloc (self->workers, size * sizeof *grown);
        if (!grown)
            return NULL;
        self->workers = grown;
        self->worker_size = size;
    }
    worker_t *worker = calloc (1, sizeof *worker);
    if (!worker)
        return NULL;
    worker->identity_size = zmq_msg_size (peer);
    memcpy (worker->identity, zmq_msg_data (peer), worker->identity_size);
    snprintf (worker->name, sizeof worker->name, "worker");
    self->workers[self->worker_count++] = worker;
    return worker;
}

//  A new worker past --max-workers: not taken. It is told why (DISCONNECT
//  with an error, which it logs) and will announce itself again after its
//  next heartbeat goes unanswered, so it joins once a place is free. Logged
//  at most once a second: a refused worker retries every heartbeat.
static void
s_refuse (maas_broker_t *self, maas_proto_msg_t *msg, const char *name)
{
    char error[160];
    snprintf (error, sizeof error, "the broker holds %zu workers (--max-workers %zu)",
              self->worker_count, self->config.max_workers);
    self->stats.over_limit_workers++;
    if (self->now_mono - self->over_limit_logged >= 1000 || !self->over_limit_logged) {
        maas_warn ("broker", "worker refused name=%s refused=%" PRIu64 " error=%s", name,
                   self->stats.over_limit_workers, error);
        self->over_limit_logged = self->now_mono ? self->now_mono : 1;
    }
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 1);
    maas_codec_pack_kv_str (&buf.pk, "error", error);
    maas_proto_send (self->back, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                     MAAS_PROTO_DISCONNECT, buf.data, buf.size, NULL);
}

static void
s_ready (maas_broker_t *self, maas_proto_msg_t *msg, ssize_t index, maas_codec_map_t *map)
{
    char err[300];
    worker_t scratch, *worker = index >= 0 ? self->workers[index] : &scratch;
    memset (&scratch, 0, sizeof scratch);
    if (index < 0)
        snprintf (scratch.name, sizeof scratch.name, "worker");
    if (s_announce (self, worker, map, err, sizeof err) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad READY error=%s", err);
        free (scratch.models);
        return;
    }
    if (index < 0 && self->worker_count >= self->config.max_workers) {
        s_refuse (self, msg, worker->name);
        free (scratch.models);
        return;
    }
    if (index < 0) {
        worker_t *made = s_worker_new (self, &msg->peer);
        if (!made) {
            free (scratch.models);
            return;
        }
        memcpy (made->name, scratch.name, sizeof made->name);
        made->kinds = scratch.kinds;
        made->credits = scratch.credits;
        made->models = scratch.models;
        worker = made;
        maas_info ("broker", "worker ready name=%s credits=%d models=%s", worker->name,
                   worker->credits, worker->models ? worker->models : "");
    }
    worker->expires_ms =
        self->now_mono + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    self->dirty = true;
}

//  A failed RESULT's "retryable": true asks for another attempt (a
//  transient failure; not for a job the client cancelled); false or
//  absent, the failure is final (it would fail the same way again).
//  Anything else is bad input, taken as final.
static bool
s_retryable (maas_broker_t *self, worker_t *worker, maas_codec_map_t *map)
{
    bool retryable = false;
    if (maas_codec_map_find (map, "retryable")
        && maas_codec_map_bool (map, "retryable", &retryable) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad RESULT worker=%s error=%s", worker->name, map->err.text);
        return false;
    }
    return retryable;
}

//  A RESULT from worker INDEX: finish the job if it is this worker's.
static void
s_result (maas_broker_t *self, maas_proto_msg_t *msg, worker_t *worker, maas_codec_map_t *map)
{
    char id[MAAS_PROTO_ID_MAX + 1], status[16], error[512] = "";
    if (maas_codec_map_str_copy (map, "id", id, sizeof id) != 0
        || maas_codec_map_str_copy (map, "status", status, sizeof status) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad RESULT worker=%s error=%s", worker->name, map->err.text);
        return;
    }
    job_t *job = zhashx_lookup (self->jobs, id);
    if (!job || job->worker != worker) {
        maas_debug ("broker", "stale RESULT job=%s worker=%s", id, worker->name);
        return;
    }
    if (maas_codec_map_find (map, "error"))
        maas_codec_map_str_copy (map, "error", error, sizeof error);
    status_t final = broker_status_parse (status, strlen (status));
    if (final != STATUS_SUCCEEDED && final != STATUS_FAILED && final != STATUS_CANCELLED) {
        maas_warn ("broker", "RESULT with bad status job=%s status=%s", id, status);
        broker_job_finish (self, job, STATUS_FAILED, "worker replied with an unknown status", NULL,
                           NULL);
        return;
    }
    if (final == STATUS_FAILED && !job->cancel && s_retryable (self, worker, map)) {
        char why[600];
        snprintf (why, sizeof why, "worker %s failed it (retryable): %s", worker->name,
                  error[0] ? error : "no error given");
        broker_job_requeue (self, job, why);
        return;
    }
    job->keep_header = maas_codec_map_find (map, "meta") != NULL;
    broker_job_finish (self, job, final, error[0] ? error : NULL, &msg->frames[2],
                       maas_proto_payload (msg));
}

static void
s_progress (maas_broker_t *self, maas_proto_msg_t *msg, worker_t *worker, maas_codec_map_t *map)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    double progress;
    if (maas_codec_map_str_copy (map, "id", id, sizeof id) != 0
        || maas_codec_map_double (map, "progress", &progress) != 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad PROGRESS worker=%s error=%s", worker->name, map->err.text);
        return;
    }
    job_t *job = zhashx_lookup (self->jobs, id);
    if (!job || job->worker != worker)
        return;
    const char *message = NULL;
    size_t message_size = 0;
    if (maas_codec_map_find (map, "message"))
        maas_codec_map_str (map, "message", &message, &message_size);
    broker_job_progress (self, job, progress, message, message_size, zmq_msg_data (&msg->frames[2]),
                         zmq_msg_size (&msg->frames[2]));
}

//  Decode the header of a worker message into MAP; -1 (logged) if bad.
static int
s_header (maas_broker_t *self, maas_proto_msg_t *msg, int cmd, maas_codec_map_t *map)
{
    char err[300];
    if (broker_header_map (self, msg, map, err, sizeof err) == 0)
        return 0;
    self->stats.bad_input++;
    maas_warn ("broker", "bad worker message cmd=%s error=%s", maas_proto_cmd_name (cmd), err);
    return -1;
}

void
broker_backend (maas_broker_t *self, maas_proto_msg_t *msg)
{
    maas_err_t err;
    int cmd = maas_proto_check (msg, &err);
    if (cmd < 0) {
        self->stats.bad_input++;
        maas_warn ("broker", "bad worker message error=%s", err.text);
        return;
    }
    ssize_t index =
        zmq_msg_size (&msg->peer) <= MAAS_PROTO_PEER_MAX ? s_find (self, &msg->peer) : -2;
    if (index == -2)
        return;
    if (index >= 0)
        self->workers[index]->expires_ms =
            self->now_mono + (int64_t) self->config.heartbeat_ms * self->config.liveness;
    maas_codec_map_t map;
    if (cmd == MAAS_PROTO_HEARTBEAT) {
        if (index < 0)    //  we forgot it (restart): make it announce itself
            s_send_empty (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                          MAAS_PROTO_DISCONNECT);
    }
    else if (cmd == MAAS_PROTO_DISCONNECT) {
        if (index >= 0)
            broker_worker_destroy (self, (size_t) index, "worker disconnected");
    }
    else if (s_header (self, msg, cmd, &map) != 0)
        return;
    else if (cmd == MAAS_PROTO_READY)
        s_ready (self, msg, index, &map);
    else if (index < 0)
        s_send_empty (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer),
                      MAAS_PROTO_DISCONNECT);
    else if (cmd == MAAS_PROTO_RESULT)
        s_result (self, msg, self->workers[index], &map);
    else if (cmd == MAAS_PROTO_PROGRESS)
        s_progress (self, msg, self->workers[index], &map);
    else {
        self->stats.bad_input++;
        maas_warn ("broker", "unknown worker command cmd=0x%02x", (unsigned) cmd);
    }
}

void
broker_worker_run (maas_broker_t *self, job_t *job, worker_t *worker)
{
    zmq_msg_t payload;
    zmq_msg_init (&payload);
    zmq_msg_copy (&payload, &job->payload);    //  a reference, not a copy of the bytes
    maas_proto_send (self->back, worker->identity, worker->identity_size, MAAS_PROTO_JOB,
                     zmq_msg_data (&job->header), zmq_msg_size (&job->header), &payload);
}

void
broker_worker_cancel (maas_broker_t *self, job_t *job)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 1);
    maas_codec_pack_kv_str (&buf.pk, "id", job->id);
    maas_proto_send (self->back, job->worker->identity, job->worker->identity_size,
                     MAAS_PROTO_CANCEL, buf.data, buf.size, NULL);
}

void
broker_heartbeat (maas_broker_t *self, int64_t now)
{
    for (size_t i = self->worker_count; i-- > 0;) {
        worker_t *worker = self->workers[i];
        if (now > worker->expires_ms)
            broker_worker_destroy (self, i, "worker silent past its liveness");
        else
            s_send_empty (self, worker->identity, worker->identity_size, MAAS_PROTO_HEARTBEAT);
    }
}
