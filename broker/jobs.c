/*  jobs.c: the broker's jobs: one table by id, one FIFO per (kind,
 *  priority), each running job linked to its worker. Dispatch matches
 *  queued jobs with workers that have credit, preferring a worker that has
 *  the job's model cached. Every status change is written to the store.
 *  No socket I/O here: what is to be sent goes through self->io. */
#include "state.h"
#include "clock.h"
#include "codec.h"
#include "log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const broker_status_names[STATUS_COUNT] = {
    "queued", "running", "succeeded", "failed", "cancelled", "expired", "rejected"};

status_t
broker_status_parse (const char *text, size_t len)
{
    for (int i = 0; i < STATUS_COUNT; i++)
        if (strlen (broker_status_names[i]) == len
            && memcmp (broker_status_names[i], text, len) == 0)
            return (status_t) i;
    return STATUS_COUNT;
}

bool
broker_status_final (status_t status)
{
    return status >= STATUS_SUCCEEDED && status <= STATUS_EXPIRED;
}

kind_t *
broker_kind (maas_broker_t *self, const char *name)
{
    for (int i = 0; i < BROKER_KINDS_MAX; i++)
        if (self->kinds[i] && strcmp (self->kinds[i]->name, name) == 0)
            return self->kinds[i];
    return NULL;
}

void
broker_kinds_trim (maas_broker_t *self)
{
    for (int i = 0; i < BROKER_KINDS_MAX; i++) {
        kind_t *kind = self->kinds[i];
        if (kind && !kind->announced && kind->jobs == 0) {
            assert (kind->queued == 0);
            free (kind);    //  no worker serves it: no worker mask has its bit
            self->kinds[i] = NULL;
        }
    }
}

static int
s_free_slot (maas_broker_t *self)
{
    for (int i = 0; i < BROKER_KINDS_MAX; i++)
        if (!self->kinds[i])
            return i;
    return -1;
}

kind_t *
broker_kind_add (maas_broker_t *self, const char *name, bool announced)
{
    kind_t *kind = broker_kind (self, name);
    if (kind) {
        kind->announced |= announced;
        return kind;
    }
    int slot = s_free_slot (self);
    if (slot < 0) {
        broker_kinds_trim (self);
        slot = s_free_slot (self);
    }
    kind = slot < 0 ? NULL : calloc (1, sizeof *kind);
    if (!kind)
        return NULL;
    snprintf (kind->name, sizeof kind->name, "%s", name);
    kind->bit = slot;
    kind->announced = announced;
    self->kinds[slot] = kind;
    return kind;
}

job_t *
broker_job_new (maas_broker_t *self, const maas_proto_job_t *spec, kind_t *kind)
{
    job_t *job = calloc (1, sizeof *job);
    if (!job)
        return NULL;
    maas_proto_copy (job->id, sizeof job->id, spec->id);
    job->kind = kind;
    kind->jobs++;
    size_t len = maas_proto_copy (job->model, sizeof job->model, spec->model);
    if (len && (spec->alias[0] || spec->version > 0)) {
        job->model[len++] = '@';    //  "name@version": what workers say they cache
        if (spec->alias[0])
            maas_proto_copy (job->model + len, sizeof job->model - len, spec->alias);
        else
            maas_proto_itoa (job->model + len, spec->version);
    }
    job->priority = spec->priority;
    job->deadline_ms = spec->deadline_ms;
    job->track = spec->track && self->config.status && self->store;
    job->durable = spec->durable;
    job->submitted_ms = self->now_wall;
    job->broker = self;
    zmq_msg_init (&job->header);
    zmq_msg_init (&job->payload);
    return job;
}

void
broker_job_destroy (job_t **job_p)
{
    job_t *job = *job_p;
    if (!job)
        return;
    maas_broker_t *self = job->broker;
    if (job->lane) {    //  still queued as the broker stops
        broker_lane_remove (job);
        job->kind->queued--;
    }
    broker_discharge (self, job);
    zmq_msg_close (&job->header);
    zmq_msg_close (&job->payload);
    assert (job->kind->jobs > 0);
    job->kind->jobs--;    //  freed by broker_kinds_trim once unused
    free (job);
    *job_p = NULL;
}

int
broker_job_enqueue (maas_broker_t *self, job_t *job, bool front)
{
    assert (job->state != JOB_QUEUED && !job->worker);
    if (broker_lane_push (job, front) != 0) {
        broker_job_finish (self, job, STATUS_FAILED, "broker out of memory queueing it", NULL,
                           NULL);
        return -1;
    }
    job->state = JOB_QUEUED;
    job->kind->queued++;
    self->deadlines += job->deadline_ms != 0;
    self->dirty = true;
    return 0;
}

void
broker_job_unqueue (maas_broker_t *self, job_t *job)
{
    assert (job->state == JOB_QUEUED);
    broker_lane_remove (job);
    job->kind->queued--;
    self->deadlines -= job->deadline_ms != 0;
}

//  Take a running job off its worker's list and give the credit back.
static void
s_detach (maas_broker_t *self, job_t *job)
{
    worker_t *worker = job->worker;
    if (!worker)
        return;
    assert (job->state == JOB_RUNNING);
    list_remove (&worker->running, &job->link);
    job->worker = NULL;
    worker->inflight--;
    self->dirty = true;
}

static void
s_count (maas_broker_t *self, status_t status)
{
    if (status == STATUS_SUCCEEDED)
        self->stats.succeeded++;
    else if (status == STATUS_CANCELLED)
        self->stats.cancelled++;
    else if (status == STATUS_EXPIRED)
        self->stats.expired++;
    else
        self->stats.failed++;
}

//  The final write: only fields that say something (each costs Redis time
//  on every job). The RESULT header is kept when it carries more than id,
//  status and error; otherwise FETCH rebuilds it.
static void
s_record_final (maas_broker_t *self, job_t *job, status_t status, const char *error,
                const void *hdr, size_t hdr_size, zmq_msg_t *payload)
{
    char finished[24];
    maas_proto_itoa (finished, self->now_wall);
    maas_store_field_t fields[6] = {
        {"finished_ms", finished, strlen (finished)},
        {"result", payload ? zmq_msg_data (payload) : NULL, payload ? zmq_msg_size (payload) : 0}};
    size_t count = 2;
    if (job->keep_header)
        fields[count++] = (maas_store_field_t){"result_header", hdr, hdr_size};
    if (error)
        fields[count++] = (maas_store_field_t){"error", error, strlen (error)};
    maas_store_update (self->store, job->id, broker_status_names[status], MAAS_STORE_FINAL, fields,
                       count);
}

void
broker_job_finish (maas_broker_t *self, job_t *job, status_t status, const char *error,
                   zmq_msg_t *header, zmq_msg_t *payload)
{
    assert (broker_status_final (status));
    if (job->state == JOB_QUEUED)
        broker_job_unqueue (self, job);
    maas_proto_buf_t buf;
    const void *hdr = header ? zmq_msg_data (header) : NULL;
    size_t hdr_size = header ? zmq_msg_size (header) : 0;
    if (!header) {
        maas_proto_buf_init (&buf);
        msgpack_pack_map (&buf.pk, 2 + (error != NULL));
        maas_codec_pack_kv_str (&buf.pk, "id", job->id);
        maas_codec_pack_kv_str (&buf.pk, "status", broker_status_names[status]);
        if (error)
            maas_codec_pack_kv_strn (&buf.pk, "error", error, strnlen (error, 1024));
        hdr = buf.data;
        hdr_size = buf.size;
    }
    if (job->track)
        s_record_final (self, job, status, error, hdr, hdr_size, payload);
    if (job->state == JOB_RUNNING)
        s_detach (self, job);
    self->io.result (self, job, hdr, hdr_size, payload);
    s_count (self, status);
    maas_debug ("broker", "job finished job=%s status=%s", job->id, broker_status_names[status]);
    zhashx_delete (self->jobs, job->id);
}

void
broker_job_requeue (maas_broker_t *self, job_t *job, const char *why)
{
    s_detach (self, job);
    if (job->attempts >= self->config.max_attempts) {
        char error[256];
        snprintf (error, sizeof error, "job %s: %s, %d attempts made (--max-attempts %d)", job->id,
                  why, job->attempts, self->config.max_attempts);
        broker_job_finish (self, job, STATUS_FAILED, error, NULL, NULL);
        return;
    }
    if (broker_job_enqueue (self, job, true) != 0)
        return;
    self->stats.requeued++;
    if (job->track) {
        char attempts[24];
        maas_proto_itoa (attempts, job->attempts);
        maas_store_field_t fields[2] = {{"attempts", attempts, strlen (attempts)},
                                        {"worker", "", 0}};
        maas_store_update (self->store, job->id, "queued", MAAS_STORE_EVENT, fields, 2);
    }
    maas_info ("broker", "job requeued job=%s attempts=%d why=%s", job->id, job->attempts, why);
}

//  Free credit of W.
static int
s_free (const worker_t *w)
{
    return w->credits - w->inflight;
}

//  The worker to run JOB: one with credit that serves its kind, preferring
//  those with the model cached (READY's models), and among equals the one
//  with the most free credit, so several workers holding a model share its
//  jobs.
static worker_t *
s_pick (maas_broker_t *self, const job_t *job)
{
    char pattern[sizeof job->model + 2];
    if (job->model[0]) {
        size_t len = maas_proto_copy (pattern + 1, sizeof pattern - 2, job->model);
        pattern[0] = pattern[len + 1] = ',';
        pattern[len + 2] = '\0';
    }
    uint64_t bit = (uint64_t) 1 << job->kind->bit;
    worker_t *cached = NULL, *other = NULL;
    for (size_t i = 0; i < self->worker_count; i++) {
        worker_t *w = self->workers[i];
        if (!(w->kinds & bit) || w->inflight >= w->credits)
            continue;
        worker_t **best =
            job->model[0] && w->models && strstr (w->models, pattern) ? &cached : &other;
        if (!*best || s_free (w) > s_free (*best))
            *best = w;
    }
    return cached ? cached : other;
}

//  Written at dispatch, so that once a client has the RESULT, the record
//  already names the worker (the final write follows in the same turn).
static void
s_record_running (maas_broker_t *self, job_t *job, worker_t *worker)
{
    char started[24], attempts[24];
    maas_proto_itoa (started, job->started_ms);
    maas_proto_itoa (attempts, job->attempts);
    maas_store_field_t fields[4] = {{"status", "running", 7},
                                    {"worker", worker->name, strlen (worker->name)},
                                    {"started_ms", started, strlen (started)},
                                    {"attempts", attempts, strlen (attempts)}};
    maas_store_set (self->store, job->id, fields, 4);
}

static void
s_send_job (maas_broker_t *self, job_t *job, worker_t *worker)
{
    broker_job_unqueue (self, job);
    job->state = JOB_RUNNING;
    job->attempts++;
    job->worker = worker;
    list_push (&worker->running, &job->link, true);
    worker->inflight++;
    self->io.run (self, job, worker);
    job->started_ms = self->now_wall;
    if (job->track)
        s_record_running (self, job, worker);
}

void
broker_dispatch (maas_broker_t *self)
{
    for (int k = 0; k < BROKER_KINDS_MAX; k++) {
        kind_t *kind = self->kinds[k];
        job_t *job;
        while (kind && kind->queued && (job = broker_lane_next (kind))) {
            if (job->deadline_ms) {
                if (self->now_wall > job->deadline_ms) {
                    broker_job_finish (self, job, STATUS_EXPIRED,
                                       "deadline passed before it could start", NULL, NULL);
                    continue;
                }
            }
            worker_t *worker = s_pick (self, job);
            if (!worker)
                break;
            s_send_job (self, job, worker);
        }
    }
    self->dirty = false;
}

//  Expire the jobs past their deadline in the lanes of TURNS (a lane may
//  be freed as its last job goes).
static void
s_sweep_lanes (maas_broker_t *self, list_t *turns, int64_t now)
{
    lane_t *lane = BROKER_LANE (turns->head);
    while (lane) {
        lane_t *next_lane = BROKER_LANE (lane->turn.next);
        job_t *job = BROKER_JOB (lane->jobs.head);
        while (job) {
            job_t *next = BROKER_JOB (job->link.next);
            bool last = !next;    //  the lane is freed with its last job
            if (job->deadline_ms && now > job->deadline_ms)
                broker_job_finish (self, job, STATUS_EXPIRED,
                                   "deadline passed before it could start", NULL, NULL);
            job = last ? NULL : next;
        }
        lane = next_lane;
    }
}

void
broker_sweep_deadlines (maas_broker_t *self)
{
    int64_t now = maas_clock_wall_ms ();
    for (int k = 0; k < BROKER_KINDS_MAX && self->deadlines; k++)
        for (int p = 0; p <= MAAS_PROTO_PRIORITY_MAX && self->kinds[k]; p++)
            s_sweep_lanes (self, &self->kinds[k]->queues[p], now);
}

void
broker_job_cancel (maas_broker_t *self, job_t *job)
{
    job->cancel = true;
    if (job->state == JOB_QUEUED)
        broker_job_finish (self, job, STATUS_CANCELLED, "cancelled by the client", NULL, NULL);
    else if (job->state == JOB_RUNNING && job->worker)
        self->io.cancel (self, job);
}

void
broker_job_progress (maas_broker_t *self, job_t *job, double progress, const char *message,
                     size_t message_size, const void *header, size_t header_size)
{
    if (job->track) {
        //  The worker's optional message ("epoch=3/10 train_loss=...") goes
        //  beside the number, so a person reading the hash sees what it means.
        char text[32];
        snprintf (text, sizeof text, "%.4f", progress);
        maas_store_field_t fields[2] = {{"progress", text, strlen (text)},
                                        {"progress_message", message, message_size}};
        maas_store_set (self->store, job->id, fields, message ? 2 : 1);
    }
    self->io.progress (self, job, header, header_size);
}

void
broker_job_save_client (maas_broker_t *self, job_t *job)
{
    maas_store_field_t client = {"client", job->client, job->client_size};
    maas_store_set (self->store, job->id, &client, 1);
    job->client_moved = false;
}
