/*  main.c: maas-worker, runs infer jobs: flags and environment, signals and
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
    const char *broker;           //  backend endpoints, comma-separated
    const char *name;             //  worker name in logs and Redis
    int credits;                  //  jobs held at once
    int threads;                  //  OpenBLAS threads
    int heartbeat_ms;             //  heartbeat interval
    maas_engine_config_t engine;  //  registry, cache, batching
} s_config_t;

static const char s_usage[] =
    "usage: maas-worker [options]\n"
    "Runs infer jobs from a maas broker on models from the Redis registry.\n\n"
    "  --broker EP          broker backend(s), comma-separated ($MAAS_BROKER_BACKEND,\n"
    "                       default tcp://127.0.0.1:5556)\n"
    "  --redis URL          registry ($MAAS_REDIS_URL, default redis://127.0.0.1:6379)\n"
    "  --prefix P           Redis key prefix (default maas:)\n"
    "  --name NAME          worker name (default worker-<pid>)\n"
    "  --credits N          jobs held at once, what batches form from (default 32)\n"
    "  --cache-mb N         model cache bound: weights + workspace (default 256)\n"
    "  --max-batch-rows N   rows per batch; 0 runs each job alone (default 256)\n"
    "  --batch-delay-us N   longest a job waits for company (default 500)\n"
    "  --threads N          OpenBLAS threads (default 1: several workers share the cores)\n"
    "  --heartbeat MS       heartbeat interval, as the broker's (default 1000)\n"
    "  --log-level L        debug|info|warn|error ($MAAS_LOG_LEVEL, default info)\n";

static int
s_number (const char *flag, const char *text, long long min, long long max, long long *out)
{
    char *end;
    long long value = text ? strtoll (text, &end, 10) : 0;
    if (!text || *end || value < min || value > max) {
        fprintf (stderr, "maas-worker: %s takes a number from %lld to %lld\n", flag, min, max);
        return -1;
    }
    *out = value;
    return 0;
}

//  Store numeric flag K (index in the table below) with value N.
static void
s_set_number (s_config_t *config, int k, long long n)
{
    switch (k) {
        case 0:
            config->credits = (int) n;
            break;
        case 1:
            config->engine.cache_bytes = (size_t) n << 20;
            break;
        case 2:
            config->engine.max_batch_rows = (size_t) n;
            break;
        case 3:
            config->engine.batch_delay_us = n;
            break;
        case 4:
            config->threads = (int) n;
            break;
        default:
            config->heartbeat_ms = (int) n;
            break;
    }
}

//  One "--flag value" at ARGV[*I] into CONFIG; advances *I. 0, or -1 after
//  reporting.
static int
s_flag (s_config_t *config, int argc, char **argv, int *i)
{
    static const struct {
        const char *flag;
        long long min, max;
    } numbers[] = { { "--credits", 1, 100000 },
                    { "--cache-mb", 1, 1 << 20 },
                    { "--max-batch-rows", 0, 1 << 24 },
                    { "--batch-delay-us", 0, 10000000 },
                    { "--threads", 1, 256 },
                    { "--heartbeat", 10, 600000 },
                    { "--heartbeat-ms", 10, 600000 } };   //  the old spelling
    const char *flag = argv[*i], *value = *i + 1 < argc ? argv[++*i] : NULL;
    if (!value) {
        fprintf (stderr, "maas-worker: %s needs a value\n", flag);
        return -1;
    }
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++)
        if (strcmp (flag, numbers[k].flag) == 0) {
            long long n;
            if (s_number (flag, value, numbers[k].min, numbers[k].max, &n) != 0)
                return -1;
            s_set_number (config, (int) k, n);
            return 0;
        }
    if (strcmp (flag, "--broker") == 0)
        config->broker = value;
    else if (strcmp (flag, "--redis") == 0)
        config->engine.redis_url = value;
    else if (strcmp (flag, "--prefix") == 0)
        config->engine.prefix = value;
    else if (strcmp (flag, "--name") == 0)
        config->name = value;
    else if (strcmp (flag, "--log-level") == 0 && maas_log_level_parse (value) >= 0)
        maas_log_set_level ((maas_log_level_t) maas_log_level_parse (value));
    else {
        fprintf (stderr, "maas-worker: unknown option or bad value: %s %s (see --help)\n", flag,
                 value);
        return -1;
    }
    return 0;
}

//  Defaults, environment, then flags. 0, 1 for --help, -1 on bad input.
static int
s_configure (s_config_t *config, int argc, char **argv)
{
    *config = (s_config_t){ .broker = "tcp://127.0.0.1:5556",
                            .credits = 32,
                            .threads = 1,
                            .heartbeat_ms = MAAS_WORKER_HEARTBEAT_MS };
    config->engine =
        (maas_engine_config_t){ .cache_bytes = (size_t) MAAS_ENGINE_CACHE_MB_DEFAULT << 20,
                                .max_batch_rows = MAAS_ENGINE_MAX_BATCH_ROWS_DEFAULT,
                                .batch_delay_us = MAAS_ENGINE_BATCH_DELAY_US_DEFAULT,
                                .tick_rows = S_TICK_ROWS };
    if (getenv ("MAAS_BROKER_BACKEND") && *getenv ("MAAS_BROKER_BACKEND"))
        config->broker = getenv ("MAAS_BROKER_BACKEND");
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0) {
            fputs (s_usage, stdout);
            return 1;
        }
        if (s_flag (config, argc, argv, &i) != 0)
            return -1;
    }
    return 0;
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
    maas_serve_run (worker, engine, config.heartbeat_ms);
    maas_engine_destroy (&engine);
    maas_worker_destroy (&worker);
    maas_info ("worker", "stopped");
    return 0;
}
