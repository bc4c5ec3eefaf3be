/*  serve.c: maas-worker's serve loop. Take the jobs the broker sends (up to
 *  --credits), let the engine batch them per model version, reply with each
 *  job's share of the outputs, and announce the cached versions. */
#include "serve.h"
#include "maas.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Waits for a batch to fall due (s_recv): a zmq_poll of whole ms while the
//  batch is at least S_POLL_MIN_US away, ending S_POLL_MARGIN_US early (the
//  poll oversleeps); then a non-blocking look for jobs every S_SLICE_US.
#define S_POLL_MIN_US    1500
#define S_POLL_MARGIN_US 500
#define S_SLICE_US       50

//  Jobs answered, by how (the engine counts the rest).
typedef struct {
    uint64_t succeeded;    //  RESULT sent
    uint64_t failed;       //  failed: bad input, unknown model, wrong kind, ...
    uint64_t cancelled;    //  cancelled while waiting or computing
    uint64_t rows;         //  rows of the succeeded ones
} s_jobs_t;

//  Answer WORK for a failed or cancelled RESULT, with the input row at
//  fault in the meta when there is one.
static void
s_fail (maas_worker_t *worker, maas_work_t *work, const maas_engine_result_t *result)
{
    msgpack_sbuffer meta;
    msgpack_sbuffer_init (&meta);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &meta, msgpack_sbuffer_write);
    bool row = !result->ok && result->row && maas_infer_error_meta_pack (result->row, &pk) == 0;
    if (!result->ok)    //  bad input is worth a line
        maas_warn ("worker",
                   "job failed job=%s model=%s version=%" PRIu64 " retryable=%d reason=\"%s\"",
                   maas_work_job (work)->id, result->model, result->version, result->retryable,
                   result->error);
    maas_worker_fail_with (worker, &work, result->ok ? "cancelled" : result->error,
                           result->ok || result->retryable, row ? meta.data : NULL,
                           row ? meta.size : 0);
    msgpack_sbuffer_destroy (&meta);
}

static void
s_reply (maas_worker_t *worker, maas_engine_result_t *result, s_jobs_t *jobs)
{
    maas_work_t *work = result->tag;
    bool cancelled = maas_work_cancelled (work);
    if (cancelled || !result->ok) {
        jobs->cancelled += cancelled;
        jobs->failed += !cancelled;
        s_fail (worker, work, result);
        return;
    }
    jobs->succeeded++;
    jobs->rows += result->rows;
    msgpack_sbuffer data, meta;
    msgpack_sbuffer_init (&data);
    msgpack_sbuffer_init (&meta);
    msgpack_packer pk;
    maas_infer_result_t view = maas_engine_result_infer (result);
    msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
    int rc = result->explain ? maas_explain_result_pack (result->explain, &pk)
                             : maas_infer_result_pack (&view, &pk);
    msgpack_packer_init (&pk, &meta, msgpack_sbuffer_write);
    rc |= result->explain ? maas_explain_meta_pack (result->explain, &pk)
                          : maas_infer_meta_pack (&view, &pk);
    char id[MAAS_PROTO_ID_MAX + 1];    //  WORK is gone once answered
    snprintf (id, sizeof id, "%s", maas_work_job (work)->id);
    if (rc != 0) {
        maas_warn ("worker", "job failed job=%s reason=\"out of memory packing the result\"", id);
        maas_worker_fail (worker, &work, "worker out of memory packing the result");
    }
    else if (maas_worker_reply (worker, &work, data.data, data.size, meta.data, meta.size) != 0)
        maas_warn ("worker", "reply failed job=%s reason=\"%s\"", id, maas_worker_error (worker));
    msgpack_sbuffer_destroy (&data);
    msgpack_sbuffer_destroy (&meta);
}

static void
s_submit (maas_engine_t *engine, maas_worker_t *worker, maas_work_t *work, s_jobs_t *jobs)
{
    const maas_proto_job_t *job = maas_work_job (work);
    if (strcmp (job->kind, "explain") == 0) {
        maas_engine_explain (engine, work, job->model,
                             job->version > 0 ? (uint64_t) job->version : 0, job->alias,
                             maas_work_data (work), maas_work_size (work), maas_work_params (work));
        return;
    }
    if (strcmp (job->kind, "infer") != 0) {
        jobs->failed++;
        char err[96];
        snprintf (err, sizeof err, "this worker runs infer and explain jobs, not '%s'", job->kind);
        maas_worker_fail (worker, &work, err);
        return;
    }
    maas_engine_submit (engine, work, job->model, job->version > 0 ? (uint64_t) job->version : 0,
                        job->alias, maas_work_data (work), maas_work_size (work),
                        maas_work_params (work), maas_clock_mono_us ());
}

//  CACHED ("iris@3,digits@1") as announced to brokers: each version, then
//  each model name once, since a broker prefers a worker by name ("iris@3,
//  digits@1,iris,digits"). Caller frees; NULL if out of memory.
static char *
s_models_text (const char *cached)
{
    size_t len = strlen (cached);
    char *text = malloc (2 * len + 2), *names = strdup (cached), *save = NULL;
    if (!text || !names) {
        free (text);
        free (names);
        return NULL;
    }
    strcpy (text, cached);
    for (char *item = strtok_r (names, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        char *at = strchr (item, '@'), pattern[80];
        if (!at)
            continue;
        *at = 0;
        snprintf (pattern, sizeof pattern, ",%s,", item);
        size_t used = strlen (text);
        char *wrapped = malloc (used + 3);
        if (wrapped)
            sprintf (wrapped, ",%s,", text);
        if (wrapped && !strstr (wrapped, pattern))
            sprintf (text + used, "%s%s", used ? "," : "", item);
        free (wrapped);
    }
    free (names);
    return text;
}

//  Tell the brokers which versions are cached when that changed.
static void
s_announce (maas_worker_t *worker, maas_engine_t *engine, char **announced)
{
    char *cached = maas_engine_cached (engine);
    if (cached && (!*announced || strcmp (cached, *announced) != 0)) {
        char *models = s_models_text (cached);
        if (models)
            maas_worker_set_models (worker, models);
        free (models);
        free (*announced);
        *announced = cached;
    }
    else
        free (cached);
}

void
maas_serve_tick (void *worker)
{
    maas_worker_tick (worker);
}

//  Sleep US microseconds (under a second).
static void
s_sleep_us (int64_t us)
{
    struct timespec span = {0, (long) us * 1000};
    while (nanosleep (&span, &span) != 0 && !zsys_interrupted)
        ;
}

//  The next job, waiting until the next batch is due, or IDLE_MS if none.
//  zmq_poll waits whole milliseconds (and a little more), which would keep
//  a lone job waiting ~1.1 ms for a 500 µs --batch-delay-us: so the poll
//  waits only the whole milliseconds that end well before the batch is due,
//  and the rest is spent looking for jobs every S_SLICE_US (a job arriving
//  then still joins the batch), until the batch is due.
static maas_work_t *
s_recv (maas_worker_t *worker, const maas_engine_t *engine, int idle_ms)
{
    int64_t due = maas_engine_next_due (engine);
    if (due < 0)
        return maas_worker_recv (worker, idle_ms);
    int64_t wait_us = due - maas_clock_mono_us ();
    if (wait_us >= S_POLL_MIN_US)
        return maas_worker_recv (worker, (int) ((wait_us - S_POLL_MARGIN_US) / 1000));
    while (!zsys_interrupted) {
        maas_work_t *work = maas_worker_recv (worker, 0);
        wait_us = due - maas_clock_mono_us ();
        if (work || wait_us <= 0)
            return work;
        s_sleep_us (wait_us < S_SLICE_US ? wait_us : S_SLICE_US);
    }
    return NULL;
}

//  Send every finished job's RESULT.
static void
s_reply_all (maas_worker_t *worker, maas_engine_t *engine, s_jobs_t *jobs)
{
    maas_engine_result_t *result;
    while ((result = maas_engine_result (engine))) {
        s_reply (worker, result, jobs);
        maas_engine_result_destroy (&result);
    }
}

//  Write the worker's counters to STATS when a period has passed (one
//  Redis round trip a second, never per job).
static void
s_publish (maas_stats_t *stats, const maas_engine_t *engine, const s_jobs_t *jobs)
{
    int64_t now = maas_clock_mono_ms ();
    if (!stats || !maas_stats_due (stats, now))
        return;
    const maas_engine_counters_t *c = maas_engine_counters (engine);
    const maas_stats_field_t fields[] = {
        {"jobs_succeeded", jobs->succeeded},
        {"jobs_failed", jobs->failed},
        {"jobs_cancelled", jobs->cancelled},
        {"rows", jobs->rows},
        {"batches", c->batches},
        {"batch_rows", c->batch_rows},
        {"cache_hits", c->cache_hits},
        {"cache_misses", c->cache_misses},
        {"cache_evictions", maas_engine_cache_evictions (engine)},
        {"cache_bytes", maas_engine_cache_bytes (engine)},
        {"cache_entries", maas_engine_cache_count (engine)},
        {"model_loads", maas_engine_loads (engine)},
        {"model_load_us", c->load_us},
    };
    maas_stats_write (stats, fields, sizeof fields / sizeof fields[0], now);
}

void
maas_serve_run (maas_worker_t *worker, maas_engine_t *engine, maas_stats_t *stats, int heartbeat_ms)
{
    char *announced = NULL;
    s_jobs_t jobs = {0};
    //  Idle, the loop still turns once a period to write the counters.
    int idle_ms = heartbeat_ms < MAAS_STATS_PERIOD_MS ? heartbeat_ms : MAAS_STATS_PERIOD_MS;
    while (!zsys_interrupted) {
        maas_work_t *work = s_recv (worker, engine, idle_ms);
        while (work) {
            s_submit (engine, worker, work, &jobs);
            work = maas_worker_recv (worker, 0);
        }
        maas_engine_run (engine, maas_clock_mono_us (), false);
        s_reply_all (worker, engine, &jobs);
        s_announce (worker, engine, &announced);
        s_publish (stats, engine, &jobs);
    }
    //  Jobs already taken are finished, not dropped.
    maas_engine_run (engine, maas_clock_mono_us (), true);
    s_reply_all (worker, engine, &jobs);
    s_publish (stats, engine, &jobs);
    free (announced);
}
