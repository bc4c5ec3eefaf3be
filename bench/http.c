/*  http.c: bench/http. A private redis-server, one maas-broker, one
 *  maas-worker and maas-gateway (2 loops); wrk (bench/http.lua) sends 1-row
 *  TF Serving predicts of the seed's 10-64-64-1 network on 64 connections
 *  for 5 s, then on one connection (one request at a time: the latency a
 *  lone caller sees). Baselines in the same run: the same 1-row jobs through
 *  the C client, 64 in flight and one at a time (with the worker's CPU per
 *  job). JSON lines on stdout. */
#include "maas.h"
#include "proc.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAAS_TOP_SRCDIR
#define MAAS_TOP_SRCDIR "."
#endif

#define S_JOBS       20000    //  baseline jobs, 64 in flight
#define S_WINDOW     64       //  in flight, as wrk's connections
#define S_LONE_JOBS  3000     //  baseline jobs, one at a time
#define S_BATCH_ROWS 256      //  rows per request of the KServe v2 binary case
#define S_BATCH_JOBS 4000     //  baseline jobs of S_BATCH_ROWS rows

typedef struct {
    int64_t sent_us[S_JOBS];      //  submit time of job i
    double latency_us[S_JOBS];    //  round trip of the i-th result
    int done, failed;             //  results in, of which not succeeded
} s_client_run_t;

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_on_result (const maas_result_t *result, void *arg)
{
    s_client_run_t *run = arg;
    int i = atoi (strrchr (result->id, '-') + 1);
    run->latency_us[run->done++] = (double) (maas_clock_mono_us () - run->sent_us[i]);
    bool failed = strcmp (result->status, "succeeded") != 0;
    if (failed && run->failed++ == 0)
        fprintf (stderr, "bench: job %s %s: %s\n", result->id, result->status,
                 result->error ? result->error : "");
}

//  ROWS rows of the bench's input (every row 0.1 ... 1.0) as little-endian
//  float32 into BYTES (ROWS × 40 bytes).
static void
s_rows (uint8_t *bytes, size_t rows)
{
    const float x[10] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f};
    for (size_t r = 0; r < rows; r++)
        maas_codec_f32_to_le (bytes + r * sizeof x, x, 10);
}

//  A baseline: JOBS jobs of ROWS rows, WINDOW in flight, as the gateway
//  sends them (untracked, ephemeral), figures under NAME; the worker's CPU
//  per job too when WORKER is not 0.
static void
s_client_case (maas_client_t *client, const char *name, int jobs, size_t rows, int window,
               pid_t worker)
{
    static s_client_run_t run;
    static uint8_t bytes[S_BATCH_ROWS * 40];
    run.done = run.failed = 0;
    s_rows (bytes, rows);
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, rows, 10);
    maas_client_set_window (client, (size_t) window);
    double cpu = worker ? bench_cpu_s (worker) : 0;
    int64_t start = maas_clock_mono_us ();
    bench_submit_infer (client, name, "mlp", jobs, &params, bytes, rows * 40, run.sent_us,
                        s_on_result, &run);
    int left = maas_client_wait_all (client, 60000);
    if (left)
        fprintf (stderr, "bench: %s: %d jobs still in flight after 60 s\n", name, left);
    double secs = (double) (maas_clock_mono_us () - start) / 1e6;
    qsort (run.latency_us, (size_t) run.done, sizeof (double), s_cmp);
    bench_figure ("http", name, "requests_per_s", run.done / secs, "req/s");
    if (rows > 1)
        bench_figure ("http", name, "rows_per_s", (double) run.done * (double) rows / secs,
                      "rows/s");
    bench_figure ("http", name, "latency_p50", run.latency_us[run.done / 2] / 1000, "ms");
    bench_figure ("http", name, "latency_p99", run.latency_us[(int) (run.done * 0.99)] / 1000,
                  "ms");
    bench_figure ("http", name, "errors", run.failed + (jobs - run.done), "requests");
    if (worker)
        bench_figure ("http", name, "worker_cpu_per_job", (bench_cpu_s (worker) - cpu) / jobs * 1e6,
                      "us");
    msgpack_sbuffer_destroy (&params);
}

static int
s_publish (const char *redis_url)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (10, layers, 3);
    maas_mlp_init (mlp, 1);
    maas_model_t *model = maas_model_new (&mlp);
    uint8_t *blob = NULL;
    size_t size;
    maas_err_t err;
    maas_registry_t *reg = maas_registry_new (redis_url, NULL, &err);
    maas_registry_meta_t meta = {0};
    uint64_t version;
    int rc = reg && maas_model_encode (model, &blob, &size, NULL) == 0
            && maas_registry_publish (reg, "mlp", blob, size, &meta, &version, NULL) == 0
        ? 0
        : -1;
    free (blob);
    maas_model_destroy (&model);
    maas_registry_destroy (&reg);
    return rc;
}

//  wrk on URL for 5 s with THREADS threads and CONNECTIONS (as "-c64"),
//  its figures named NAME (bench/http.lua reads $MAAS_BENCH_CASE); its JSON
//  lines to stdout.
static void
s_wrk (const char *url, const char *dir, const char *threads, const char *connections,
       const char *name)
{
    char log[300];
    snprintf (log, sizeof log, "%s/wrk.out", dir);
    unlink (log);
    setenv ("MAAS_BENCH_CASE", name, 1);    //  read by bench/http.lua
    const char *argv[] = {
        "wrk", threads, connections, "-d5s", "-s", MAAS_TOP_SRCDIR "/bench/http.lua", url, NULL};
    pid_t wrk = bench_spawn (argv, log);
    int status = 0;
    waitpid (wrk, &status, 0);
    FILE *out = fopen (log, "r");
    char line[512];
    while (out && fgets (line, sizeof line, out))
        fputs (line, line[0] == '{' ? stdout : stderr);
    if (out)
        fclose (out);
    fflush (stdout);
}

//  The KServe v2 binary request of S_BATCH_ROWS rows in DIR/v2.body, for
//  bench/http.lua ($MAAS_BENCH_BODY, $MAAS_BENCH_HEADER_LENGTH,
//  $MAAS_BENCH_ROWS): the JSON header, then the rows' bytes; the output
//  asked for as binary too. 0, or -1.
static int
s_v2_body (const char *dir)
{
    static uint8_t bytes[S_BATCH_ROWS * 40];
    char header[256], path[300], length[16], rows[16];
    int len = snprintf (header, sizeof header,
                        "{\"inputs\":[{\"name\":\"x\",\"shape\":[%d,10],\"datatype\":\"FP32\","
                        "\"parameters\":{\"binary_data_size\":%d}}],"
                        "\"parameters\":{\"binary_data_output\":true}}",
                        S_BATCH_ROWS, S_BATCH_ROWS * 40);
    s_rows (bytes, S_BATCH_ROWS);
    snprintf (path, sizeof path, "%s/v2.body", dir);
    FILE *file = fopen (path, "wb");
    bool ok = file && fwrite (header, 1, (size_t) len, file) == (size_t) len
        && fwrite (bytes, 1, sizeof bytes, file) == sizeof bytes;
    if (file && fclose (file) != 0)
        ok = false;
    snprintf (length, sizeof length, "%d", len);
    snprintf (rows, sizeof rows, "%d", S_BATCH_ROWS);
    setenv ("MAAS_BENCH_BODY", path, 1);
    setenv ("MAAS_BENCH_HEADER_LENGTH", length, 1);
    setenv ("MAAS_BENCH_ROWS", rows, 1);
    return ok ? 0 : -1;
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    bench_deadline (300);
    maas_log_set_level (MAAS_LOG_WARN);
    char dir[64] = "/tmp/maas-bench-http-XXXXXX", url[320], front[128], back[128];
    pid_t redis = 0, broker, worker, gateway;
    int port;
    if (!mkdtemp (dir) || bench_redis_start (dir, url, sizeof url, &redis) != 0
        || bench_free_ports (&port, 1) != 0 || s_publish (url) != 0) {
        fprintf (stderr, "bench: set-up failed\n");
        return 1;
    }
    snprintf (front, sizeof front, "ipc://%s/front", dir);
    snprintf (back, sizeof back, "ipc://%s/back", dir);
    char http[32], target[96];
    snprintf (http, sizeof http, "127.0.0.1:%d", port);
    snprintf (target, sizeof target, "http://%s/v1/models/mlp:predict", http);
    const char *quiet[] = {"--log-level", "warn", NULL};
    const char *loops[] = {"--threads", "2", "--log-level", "warn", NULL};
    broker = bench_broker_start (front, back, url, NULL, NULL);
    worker = bench_worker_start (back, url, quiet, NULL);
    char g_log[96];
    snprintf (g_log, sizeof g_log, "%s/gateway.log", dir);
    gateway =
        bench_gateway_start (http, front, url, loops, g_log);    //  its stdout is not a figure
    maas_client_t *client = maas_client_new (front, NULL);
    if (!client || maas_client_ping (client, 5000) != 0) {
        fprintf (stderr, "bench: broker did not answer\n");
        return 1;
    }
    s_client_case (client, "c_client_1row_64inflight", S_JOBS, 1, S_WINDOW, 0);
    s_wrk (target, dir, "-t2", "-c64", "tf_predict_1row_64conn");
    s_client_case (client, "c_client_1row_1inflight", S_LONE_JOBS, 1, 1, worker);
    s_wrk (target, dir, "-t1", "-c1", "tf_predict_1row_1conn");
    //  Large batches skip JSON: 256 rows a request, KServe v2 binary.
    snprintf (target, sizeof target, "http://%s/v2/models/mlp/infer", http);
    s_client_case (client, "c_client_256rows_16inflight", S_BATCH_JOBS, S_BATCH_ROWS, 16, 0);
    if (s_v2_body (dir) == 0)
        s_wrk (target, dir, "-t2", "-c16", "v2_binary_256rows_16conn");
    else
        fprintf (stderr, "bench: cannot write the v2 request body in %s\n", dir);
    maas_client_destroy (&client);
    bench_stop (&gateway);
    bench_stop (&worker);
    bench_stop (&broker);
    bench_stop (&redis);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    return system (cmd) == 0 ? 0 : 1;
}
