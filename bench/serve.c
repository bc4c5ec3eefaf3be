/*  serve.c: bench/serve. A private redis-server, one maas-broker, two
 *  maas-workers (one OpenBLAS thread each) and this process as the client,
 *  on a 256 → 1024 → 1024 → 10 model (~2.3 MFLOP a row): rows/s and latency
 *  of 1-row jobs with dynamic batching off and on, of ready-made 64-row
 *  jobs, the batch sizes formed, and the cold load of a 10 MB model; the
 *  in-process forward pass as the baseline. JSON lines on stdout. */
#include "maas.h"
#include "proc.h"

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_JOBS 40000     //  jobs in one case, at most
#define S_INPUTS   256       //  model inputs
#define S_CREDITS  "256"     //  each worker's credits: the largest batch it can form
#define S_DELAY_US "1000"    //  --batch-delay-us

typedef struct {
    char dir[256];                      //  temp dir
    char redis_url[320];                //  unix socket URL
    char front[300], back[300];         //  broker endpoints (ipc)
    pid_t redis, broker, workers[2];    //  children
    maas_client_t *client;              //  the bench's client
    int64_t sent_us[S_MAX_JOBS];        //  submit time of job i
    double latency_us[S_MAX_JOBS];      //  its round trip
    double batch_rows[S_MAX_JOBS];      //  batch it ran in
    int done;                           //  results in
    int failed;                         //  of which not succeeded
} bench_t;

static void
s_broker_start (bench_t *b)
{
    snprintf (b->front, sizeof b->front, "ipc://%s/front", b->dir);
    snprintf (b->back, sizeof b->back, "ipc://%s/back", b->dir);
    b->broker = bench_broker_start (b->front, b->back, b->redis_url, NULL, NULL);
}

//  COUNT (1 or 2) workers with MAX_BATCH_ROWS (0: batching off) and
//  THREADS OpenBLAS threads each.
static void
s_workers_start (bench_t *b, const char *max_batch_rows, int count, const char *threads)
{
    for (int i = 0; i < count; i++) {
        // clang-format off
        const char *extra[] = {"--max-batch-rows", max_batch_rows, "--batch-delay-us", S_DELAY_US,
                               "--credits", S_CREDITS, "--threads", threads, "--cache-mb", "512",
                               "--log-level", "warn", NULL};
        // clang-format on
        b->workers[i] = bench_worker_start (b->back, b->redis_url, extra, NULL);
    }
}

static void
s_workers_stop (bench_t *b)
{
    bench_stop (&b->workers[0]);
    bench_stop (&b->workers[1]);
}

//  A seeded model INPUTS → H1 → H2 → 10 (relu, relu, softmax) published as NAME.
static maas_model_t *
s_publish (maas_registry_t *reg, const char *name, size_t h1, size_t h2, size_t *bytes)
{
    maas_layer_spec_t layers[] = {{h1, MAAS_ACT_RELU}, {h2, MAAS_ACT_RELU}, {10, MAAS_ACT_SOFTMAX}};
    maas_mlp_t *mlp = maas_mlp_new (S_INPUTS, layers, 3);
    maas_mlp_init (mlp, 7);
    maas_model_t *model = maas_model_new (&mlp);
    uint8_t *blob = NULL;
    maas_err_t err;
    maas_registry_meta_t meta = {0};
    uint64_t version;
    if (!model || maas_model_encode (model, &blob, bytes, &err) != 0
        || maas_registry_publish (reg, name, blob, *bytes, &meta, &version, NULL) != 0) {
        fprintf (stderr, "bench: cannot publish %s\n", name);
        exit (1);
    }
    free (blob);
    return model;
}

//  Progress line: CPU seconds each process used during a case.
static void
s_cpu_report (const bench_t *b, const char *name, const double before[5])
{
    pid_t pids[5] = {getpid (), b->broker, b->workers[0], b->workers[1], b->redis};
    fprintf (stderr, "bench: %s cpu s: client %.2f broker %.2f workers %.2f %.2f redis %.2f\n",
             name, bench_cpu_s (pids[0]) - before[0], bench_cpu_s (pids[1]) - before[1],
             bench_cpu_s (pids[2]) - before[2], bench_cpu_s (pids[3]) - before[3],
             bench_cpu_s (pids[4]) - before[4]);
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  Percentile P (0..100) of N values (sorted in place).
static double
s_percentile (double *values, int n, double p)
{
    qsort (values, (size_t) n, sizeof *values, s_cmp_double);
    int at = (int) ceil (p / 100.0 * n) - 1;
    return values[at < 0 ? 0 : at >= n ? n - 1 : at];
}

//  batch_rows from an infer result payload (0 if absent).
static double
s_batch_rows (const maas_result_t *result)
{
    maas_infer_result_t out;
    maas_err_t err;
    size_t rows =
        maas_infer_result_parse (&out, result->data, result->size, &err) == 0 ? out.batch_rows : 0;
    maas_infer_result_clear (&out);
    return (double) rows;
}

static void
s_on_result (const maas_result_t *result, void *arg)
{
    bench_t *b = arg;
    const char *dash = strrchr (result->id, '-');
    int i = dash ? atoi (dash + 1) : -1;
    if (i < 0 || i >= S_MAX_JOBS)
        return;
    b->latency_us[b->done] = (double) (maas_clock_mono_us () - b->sent_us[i]);
    b->batch_rows[b->done] = s_batch_rows (result);
    if (strcmp (result->status, "succeeded") != 0 && b->failed++ == 0)
        fprintf (stderr, "bench: job %s %s: %s\n", result->id, result->status,
                 result->error ? result->error : "");
    b->done++;
}

//  JOBS jobs of ROWS rows each for MODEL, WINDOW in flight. Returns rows/s
//  and prints the figures of CASE.
static double
s_case (bench_t *b, const char *name, const char *model, int jobs, size_t rows, int window)
{
    float *x = malloc (rows * S_INPUTS * sizeof *x);
    uint8_t *bytes = malloc (rows * S_INPUTS * 4);
    for (size_t i = 0; i < rows * S_INPUTS; i++)
        x[i] = sinf ((float) i * 0.1f);
    maas_codec_f32_to_le (bytes, x, rows * S_INPUTS);
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, rows, S_INPUTS);
    maas_client_set_window (b->client, window);
    b->done = b->failed = 0;
    pid_t pids[5] = {getpid (), b->broker, b->workers[0], b->workers[1], b->redis};
    double cpu[5];
    for (int i = 0; i < 5; i++)
        cpu[i] = bench_cpu_s (pids[i]);
    int64_t start = maas_clock_mono_us ();
    bench_submit_infer (b->client, name, model, jobs, &params, bytes, rows * S_INPUTS * 4,
                        b->sent_us, s_on_result, b);
    int left = maas_client_wait_all (b->client, 120000);
    double secs = (double) (maas_clock_mono_us () - start) / 1e6;
    double rows_per_s = (double) b->done * (double) rows / secs;
    bench_figure ("serve", name, "rows_per_s", rows_per_s, "rows/s");
    bench_figure ("serve", name, "latency_p50", s_percentile (b->latency_us, b->done, 50) / 1000,
                  "ms");
    bench_figure ("serve", name, "latency_p99", s_percentile (b->latency_us, b->done, 99) / 1000,
                  "ms");
    bench_figure ("serve", name, "failed", b->failed + left, "jobs");
    fprintf (stderr, "bench: %s: %d jobs of %zu rows in %.2f s\n", name, b->done, rows, secs);
    s_cpu_report (b, name, cpu);
    msgpack_sbuffer_destroy (&params);
    free (bytes);
    free (x);
    return rows_per_s;
}

static void
s_batch_figures (bench_t *b, const char *name)
{
    double sum = 0, max = 0;
    for (int i = 0; i < b->done; i++) {
        sum += b->batch_rows[i];
        max = b->batch_rows[i] > max ? b->batch_rows[i] : max;
    }
    bench_figure ("serve", name, "batch_rows_mean", b->done ? sum / b->done : 0, "rows");
    bench_figure ("serve", name, "batch_rows_p50", s_percentile (b->batch_rows, b->done, 50),
                  "rows");
    bench_figure ("serve", name, "batch_rows_max", max, "rows");
}

//  The in-process forward pass, one thread: rows/s at ROWS rows a call.
static void
s_baseline (const maas_model_t *model, size_t rows, const char *name)
{
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    float *x = calloc (rows * S_INPUTS, sizeof *x), *y = malloc (rows * 10 * sizeof *y);
    int64_t start = maas_clock_mono_us (), calls = 0;
    while (maas_clock_mono_us () - start < 1000000) {
        maas_predictor_run (predictor, x, rows, y);
        calls++;
    }
    double secs = (double) (maas_clock_mono_us () - start) / 1e6;
    bench_figure ("serve", name, "rows_per_s", (double) calls * (double) rows / secs, "rows/s");
    free (x);
    free (y);
    maas_predictor_destroy (&predictor);
}

//  One job on a model no worker holds yet, then one on it warm.
static void
s_cold_load (bench_t *b, maas_registry_t *reg)
{
    size_t bytes;
    maas_model_t *big = s_publish (reg, "big", 2048, 1024, &bytes);
    bench_figure ("serve", "cold_load", "model_bytes", (double) bytes, "bytes");
    s_case (b, "cold_first_job", "big", 1, 1, 1);
    double cold = b->latency_us[0];
    s_case (b, "warm_job", "big", 1, 1, 1);
    bench_figure ("serve", "cold_load", "load_ms", (cold - b->latency_us[0]) / 1000, "ms");
    //  In-process: fetch from Redis with the blob's sha256 check, then
    //  decode (the format's own checks), as the worker does.
    int64_t start = maas_clock_mono_us ();
    uint8_t *blob;
    size_t size;
    maas_err_t err;
    maas_registry_fetch (reg, "big", 1, &blob, &size, NULL);
    int64_t fetched = maas_clock_mono_us ();
    maas_model_t *copy = maas_model_decode (blob, size, &err);
    int64_t decoded = maas_clock_mono_us ();
    bench_figure ("serve", "cold_load_in_process", "fetch_ms", (double) (fetched - start) / 1000,
                  "ms");
    bench_figure ("serve", "cold_load_in_process", "decode_ms", (double) (decoded - fetched) / 1000,
                  "ms");
    maas_model_destroy (&copy);
    free (blob);
    maas_model_destroy (&big);
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    bench_deadline (900);
    maas_log_set_level (MAAS_LOG_WARN);
    maas_blas_set_threads (1);
    static bench_t b;
    snprintf (b.dir, sizeof b.dir, "/tmp/maas-bench-serve-XXXXXX");
    if (!mkdtemp (b.dir)
        || bench_redis_start (b.dir, b.redis_url, sizeof b.redis_url, &b.redis) != 0) {
        fprintf (stderr, "bench: cannot start redis-server\n");
        return 1;
    }
    maas_err_t err;
    maas_registry_t *reg = maas_registry_new (b.redis_url, NULL, &err);
    size_t bytes;
    maas_model_t *model = reg ? s_publish (reg, "serve", 1024, 1024, &bytes) : NULL;
    s_broker_start (&b);
    b.client = maas_client_new (b.front, NULL);
    if (!model || !b.client || maas_client_ping (b.client, 5000) != 0) {
        fprintf (stderr, "bench: set-up failed %s\n", reg ? "" : err.text);
        return 1;
    }
    s_baseline (model, 1, "in_process_1row");
    s_baseline (model, 64, "in_process_64rows");
    s_workers_start (&b, "0", 2, "1");
    //  Warm-ups keep more jobs in flight than one worker's credits, so both
    //  workers load the model (the broker prefers a holder while it has
    //  credit) and share the measured jobs.
    s_case (&b, "warmup", "serve", 1000, 1, 512);
    double off = s_case (&b, "batching_off_1row", "serve", 4000, 1, 128);
    s_workers_stop (&b);
    s_workers_start (&b, "256", 2, "1");
    s_case (&b, "warmup2", "serve", 1000, 1, 512);
    double on = s_case (&b, "batching_on_1row", "serve", 30000, 1, 512);
    s_batch_figures (&b, "batching_on_1row");
    double ready = s_case (&b, "ready_64rows", "serve", 1000, 64, 64);
    bench_figure ("serve", "batching_on_vs_off", "speedup", on / off, "x");
    bench_figure ("serve", "batching_on_vs_ready_64rows", "ratio", on / ready, "x");
    s_cold_load (&b, reg);
    s_workers_stop (&b);
    //  --threads: one worker with 2 OpenBLAS threads against the two
    //  single-threaded workers above, on the same 64-row jobs.
    s_workers_start (&b, "256", 1, "2");
    s_case (&b, "warmup3", "serve", 20, 64, 64);
    double threads2 = s_case (&b, "one_worker_2threads_64rows", "serve", 1000, 64, 64);
    bench_figure ("serve", "one_worker_2threads_vs_two_workers", "ratio", threads2 / ready, "x");
    s_workers_stop (&b);
    maas_client_destroy (&b.client);
    bench_stop (&b.broker);
    bench_stop (&b.redis);
    maas_registry_destroy (&reg);
    maas_model_destroy (&model);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", b.dir);
    return system (cmd) == 0 ? 0 : 1;
}
