/*  main.c: maas-worker, runs infer jobs. Flags and environment, then a loop:
 *  take the jobs the broker sends (up to --credits), let the engine batch
 *  them per model version, reply with each job's share of the outputs. */
#include "engine.h"
#include "maas.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Rows computed between heartbeat checks in a long batch (~60 ms for the
//  largest models benchmarked, well inside a broker's liveness window).
#define S_TICK_ROWS 256

typedef struct {
    const char *broker;           //  backend endpoints, comma-separated
    const char *curve_key;        //  our secret key file, or NULL: plain
    const char *broker_key;       //  the broker's public key file
    const char *name;             //  worker name in logs and Redis
    int credits;                  //  jobs held at once
    int threads;                  //  OpenBLAS threads
    int heartbeat_ms;             //  heartbeat interval
    maas_engine_config_t engine;  //  registry, cache, batching
} s_config_t;

static const char s_summary[] =
    "usage: maas-worker [options]\n"
    "Runs infer jobs from a maas broker on models from the Redis registry.\n\n";

//  Defaults, environment, then flags. 0, 1 after --help/--version, -1
//  after saying what is wrong.
static int
s_configure (s_config_t *config, int argc, char **argv)
{
    *config = (s_config_t){ .broker = "tcp://127.0.0.1:5556",
                            .credits = 32,
                            .threads = 1,
                            .heartbeat_ms = MAAS_WORKER_HEARTBEAT_MS };
    config->engine =
        (maas_engine_config_t){ .max_batch_rows = MAAS_ENGINE_MAX_BATCH_ROWS_DEFAULT,
                                .tick_rows = S_TICK_ROWS };
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
        {"--max-batch-rows", NULL, MAAS_OPT_UINT, 0, 1 << 24, NULL,
         &config->engine.max_batch_rows, "N", "rows per batch; 0 runs each job alone", NULL},
        {"--batch-delay-us", NULL, MAAS_OPT_INT, 0, 10000000, NULL, &delay_us, "N",
         "longest a job waits for company", NULL},
        {"--threads", NULL, MAAS_OPT_INT, 1, 256, NULL, &config->threads, "N",
         "OpenBLAS threads (several workers share the cores)", NULL},
        {"--heartbeat", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS",
         "heartbeat interval, as the broker's", NULL},
        {"--heartbeat-ms", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS",
         NULL, NULL},               //  the old spelling
        {"--log-level", "MAAS_LOG_LEVEL", MAAS_OPT_CHOICE, 0, 0, MAAS_OPTIONS_LOG_LEVELS,
         &log_level, "L", "log level", NULL},
    };
    const maas_options_t options = {"maas-worker", s_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int rc = maas_options_main (&options, argc, argv, getenv);
    config->engine.cache_bytes = (size_t) cache_mb << 20;
    config->engine.batch_delay_us = delay_us;
    maas_log_set_level ((maas_log_level_t) maas_log_level_parse (log_level));
    return rc;
}

//  The result payload: a msgpack map with the outputs and how they came.
static void
s_pack_result (msgpack_packer *pk, const maas_engine_result_t *result)
{
    msgpack_pack_map (pk, result->classes ? 10 : 9);
    maas_codec_pack_kv_str (pk, "model", result->model);
    maas_codec_pack_kv_uint (pk, "version", result->version);
    maas_codec_pack_kv_uint (pk, "rows", result->rows);
    maas_codec_pack_kv_uint (pk, "outputs", result->outputs);
    maas_codec_pack_str (pk, "values");
    maas_codec_pack_f32 (pk, result->values, result->rows * result->outputs);
    if (result->classes) {
        maas_codec_pack_str (pk, "classes");
        msgpack_pack_array (pk, result->rows);
        for (size_t r = 0; r < result->rows; r++)
            msgpack_pack_int32 (pk, result->classes[r]);
    }
    maas_codec_pack_kv_uint (pk, "batch_rows", result->batch_rows);
    maas_codec_pack_kv_uint (pk, "batch_jobs", result->batch_jobs);
    maas_codec_pack_kv_int (pk, "queue_us", result->queue_us);
    maas_codec_pack_kv_int (pk, "compute_us", result->compute_us);
}

//  The RESULT header's meta: what ran and how, for `maas status` too.
static void
s_pack_meta (msgpack_packer *pk, const maas_engine_result_t *result)
{
    msgpack_pack_map (pk, 5);
    maas_codec_pack_kv_uint (pk, "version", result->version);
    maas_codec_pack_kv_uint (pk, "batch_rows", result->batch_rows);
    maas_codec_pack_kv_uint (pk, "batch_jobs", result->batch_jobs);
    maas_codec_pack_kv_int (pk, "queue_us", result->queue_us);
    maas_codec_pack_kv_int (pk, "compute_us", result->compute_us);
}

static void
s_reply (maas_worker_t *worker, maas_engine_result_t *result)
{
    maas_work_t *work = result->tag;
    if (maas_work_cancelled (work) || !result->ok) {
        maas_worker_fail (worker, &work, result->ok ? "cancelled" : result->error);
        return;
    }
    msgpack_sbuffer data, meta;
    msgpack_sbuffer_init (&data);
    msgpack_sbuffer_init (&meta);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
    s_pack_result (&pk, result);
    msgpack_packer_init (&pk, &meta, msgpack_sbuffer_write);
    s_pack_meta (&pk, result);
    if (maas_worker_reply (worker, &work, data.data, data.size, meta.data, meta.size) != 0)
        maas_warn ("worker", "reply failed reason=\"%s\"", maas_worker_error (worker));
    msgpack_sbuffer_destroy (&data);
    msgpack_sbuffer_destroy (&meta);
}

static void
s_submit (maas_engine_t *engine, maas_worker_t *worker, maas_work_t *work)
{
    const maas_proto_job_t *job = maas_work_job (work);
    if (strcmp (job->kind, "infer") != 0) {
        char err[96];
        snprintf (err, sizeof err, "this worker runs infer jobs, not '%s'", job->kind);
        maas_worker_fail (worker, &work, err);
        return;
    }
    maas_engine_submit (engine, work, job->model,
                        job->version > 0 ? (uint64_t) job->version : 0, job->alias,
                        maas_work_data (work), maas_work_size (work), maas_work_params (work),
                        maas_clock_mono_us ());
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
    } else
        free (cached);
}

static void
s_tick (void *worker)
{
    maas_worker_tick (worker);
}

//  How long to wait for jobs: until the next batch is due, or a heartbeat.
static int
s_timeout_ms (const maas_engine_t *engine, int heartbeat_ms)
{
    int64_t due = maas_engine_next_due (engine);
    if (due < 0)
        return heartbeat_ms;
    int64_t wait_us = due - maas_clock_mono_us ();
    return wait_us <= 0 ? 0 : (int) ((wait_us + 999) / 1000);
}

static void
s_serve (maas_worker_t *worker, maas_engine_t *engine, int heartbeat_ms)
{
    char *announced = NULL;
    while (!zsys_interrupted) {
        maas_work_t *work = maas_worker_recv (worker, s_timeout_ms (engine, heartbeat_ms));
        while (work) {
            s_submit (engine, worker, work);
            work = maas_worker_recv (worker, 0);
        }
        maas_engine_run (engine, maas_clock_mono_us (), false);
        maas_engine_result_t *result;
        while ((result = maas_engine_result (engine))) {
            s_reply (worker, result);
            maas_engine_result_destroy (&result);
        }
        s_announce (worker, engine, &announced);
    }
    //  Jobs already taken are finished, not dropped.
    maas_engine_run (engine, maas_clock_mono_us (), true);
    maas_engine_result_t *result;
    while ((result = maas_engine_result (engine))) {
        s_reply (worker, result);
        maas_engine_result_destroy (&result);
    }
    free (announced);
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
    maas_worker_t *worker =
        maas_worker_new (config.broker, "infer", config.credits, config.name);
    if (!worker)
        return 1;
    if ((config.curve_key || config.broker_key)
        && maas_worker_set_curve (worker, config.curve_key, config.broker_key) != 0) {
        fprintf (stderr, "maas-worker: %s\n", maas_worker_error (worker));
        maas_worker_destroy (&worker);
        return 1;
    }
    maas_worker_set_heartbeat (worker, config.heartbeat_ms, MAAS_WORKER_LIVENESS);
    config.engine.tick = s_tick;
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
    s_serve (worker, engine, config.heartbeat_ms);
    maas_engine_destroy (&engine);
    maas_worker_destroy (&worker);
    maas_info ("worker", "stopped");
    return 0;
}
