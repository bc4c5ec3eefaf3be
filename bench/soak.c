/*  soak.c: bench/soak [SECONDS] (default 600). Mixed load for SECONDS
 *  through a private stack (redis-server, maas-broker, 2 maas-worker,
 *  maas-trainer, maas-gateway): small infer jobs, fan-out scoring checked
 *  bit for bit against in-process answers, train jobs back to back, and
 *  HTTP predicts through the gateway (libcurl, one kept-alive connection),
 *  each from its own process. JSON lines on stdout: every server's RSS at start and end,
 *  jobs/s every 30 s, and errors (exit 0 only when there were none).
 *  Finished jobs stay 30 s in Redis (--result-ttl 30), so Redis's RSS shows
 *  a steady state rather than a day of results. */
#include "maas.h"
#include "proc.h"
#include "score.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_COLS       MAAS_SYNTH_FEATURES    //  features per row
#define S_INFER_ROWS 4                      //  rows per infer job
#define S_SCORE_ROWS 20000                  //  rows per scoring run
#define S_TRAIN_ROWS 2000                   //  rows of the training data set
#define S_WINDOW     64                     //  infer jobs in flight
#define S_REPORT_S   30                     //  seconds between jobs/s lines
#define S_SERVERS    6                      //  redis, broker, 2 workers, trainer, gateway
#define S_LOADS      4                      //  infer, score, train, http

typedef struct {
    char dir[64];                  //  temp dir: sockets and logs
    char url[320];                 //  redis URL
    char front[300], back[300];    //  broker endpoints
    char log[300];                 //  every server's output
    pid_t servers[S_SERVERS];      //  redis, broker, workers, trainer, gateway
    char predict_url[128];         //  the gateway's TF Serving predict route
    float *x;                      //  S_SCORE_ROWS × S_COLS scoring rows
    float *expected;               //  their in-process outputs
    int64_t until_ms;              //  when the load stops (monotonic)
} s_soak_t;

static const char *const s_names[S_SERVERS] = {"redis",    "broker",  "worker-1",
                                               "worker-2", "trainer", "gateway"};

static void
s_figure (const char *bench_case, const char *metric, double value, const char *unit)
{
    bench_figure ("soak", bench_case, metric, value, unit);
}

static int64_t
s_now_ms (void)
{
    return maas_clock_mono_us () / 1000;
}

//  VmRSS of PID in KiB, from /proc/PID/status; -1 if it cannot be read.
static long
s_rss_kb (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    long kb = -1;
    while (file && kb < 0 && fgets (line, sizeof line, file))
        if (strncmp (line, "VmRSS:", 6) == 0)
            kb = atol (line + 6);
    if (file)
        fclose (file);
    return kb;
}

static void
s_print_rss (const s_soak_t *soak, const char *when)
{
    char metric[64];
    for (int i = 0; i < S_SERVERS; i++) {
        snprintf (metric, sizeof metric, "rss_%s", s_names[i]);
        s_figure (when, metric, (double) s_rss_kb (soak->servers[i]), "KiB");
    }
}

static int
s_stack_up (s_soak_t *soak)
{
    snprintf (soak->dir, sizeof soak->dir, "/tmp/maas-bench-soak-XXXXXX");
    if (!mkdtemp (soak->dir)
        || bench_redis_start (soak->dir, soak->url, sizeof soak->url, &soak->servers[0]) != 0)
        return -1;
    snprintf (soak->front, sizeof soak->front, "ipc://%s/front", soak->dir);
    snprintf (soak->back, sizeof soak->back, "ipc://%s/back", soak->dir);
    snprintf (soak->log, sizeof soak->log, "%s/stack.log", soak->dir);
    const char *broker[] = {"--name", "soak", "--log-level", "warn", "--result-ttl", "30", NULL};
    const char *quiet[] = {"--log-level", "warn", NULL};
    soak->servers[1] = bench_broker_start (soak->front, soak->back, soak->url, broker, soak->log);
    soak->servers[2] = bench_worker_start (soak->back, soak->url, quiet, soak->log);
    soak->servers[3] = bench_worker_start (soak->back, soak->url, quiet, soak->log);
    soak->servers[4] = bench_trainer_start (soak->back, soak->url, quiet, soak->log);
    int port;
    if (bench_free_ports (&port, 1) != 0)
        return -1;
    char http[32];
    snprintf (http, sizeof http, "127.0.0.1:%d", port);
    snprintf (soak->predict_url, sizeof soak->predict_url, "http://%s/v1/models/soak:predict",
              http);
    const char *loops[] = {"--threads", "1", "--log-level", "warn", NULL};
    soak->servers[5] = bench_gateway_start (http, soak->front, soak->url, loops, soak->log);
    for (int i = 1; i < S_SERVERS; i++)
        if (soak->servers[i] <= 0)
            return -1;
    return 0;
}

static void
s_stack_down (s_soak_t *soak)
{
    for (int i = S_SERVERS - 1; i >= 0; i--)
        bench_stop (&soak->servers[i]);
    char command[128];
    snprintf (command, sizeof command, "rm -rf '%s'", soak->dir);
    if (system (command) != 0)
        fprintf (stderr, "bench/soak: could not remove %s\n", soak->dir);
}

//  The "soak" model (a seeded 10-64-64-1 network) in the registry, the
//  "soak" data set in the store, and the scoring rows' expected outputs.
static int
s_prepare (s_soak_t *soak)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (S_COLS, layers, 3);
    maas_mlp_init (mlp, 1);
    soak->x = malloc (S_SCORE_ROWS * S_COLS * sizeof (float));
    soak->expected = malloc (S_SCORE_ROWS * sizeof (float));
    maas_synth_generate (1, S_COLS, S_SCORE_ROWS, soak->x, soak->expected);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    maas_predictor_run (predictor, soak->x, S_SCORE_ROWS, soak->expected);
    maas_predictor_destroy (&predictor);
    maas_model_t *model = maas_model_new (&mlp);
    uint8_t *blob = NULL;
    size_t size = 0;
    uint64_t version;
    maas_err_t err = {0};
    maas_registry_meta_t meta = {0};
    maas_registry_t *registry = maas_registry_new (soak->url, NULL, &err);
    int rc = registry && maas_model_encode (model, &blob, &size, NULL) == 0
            && maas_registry_publish (registry, "soak", blob, size, &meta, &version, NULL) == 0
        ? 0
        : -1;
    maas_registry_destroy (&registry);
    maas_model_destroy (&model);
    free (blob);
    maas_tensor_t *x = maas_tensor_new (S_TRAIN_ROWS, S_COLS),
                  *y = maas_tensor_new (S_TRAIN_ROWS, 1);
    maas_synth_generate (2, S_COLS, S_TRAIN_ROWS, x->data, y->data);
    maas_err_t why;
    maas_dataset_t *data = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_BINARY, &why);
    if (!data)
        maas_err_copy (&err, &why);
    maas_dataset_store_t *store = maas_dataset_store_new (soak->url, NULL, &err);
    if (rc != 0 || !data || !store || maas_dataset_store_put (store, "soak", data) != 0)
        rc = -1;
    maas_dataset_store_destroy (&store);
    maas_dataset_destroy (&data);
    if (rc != 0)
        fprintf (stderr, "bench/soak: cannot prepare the stack: %s (see %s)\n", err.text,
                 soak->log);
    return rc;
}

//  -- the loads, each in its own process with its own client

typedef struct {
    long jobs;      //  outcomes
    long errors;    //  outcomes that were not right
} s_tally_t;

static void
s_count_infer (const maas_result_t *result, void *arg)
{
    s_tally_t *tally = arg;
    tally->jobs++;
    if (strcmp (result->status, "succeeded") != 0) {
        tally->errors++;
        fprintf (stderr, "bench/soak: infer %s %s: %s\n", result->id, result->status,
                 result->error ? result->error : "");
    }
}

static void
s_infer_load (const s_soak_t *soak, maas_client_t *client, s_tally_t *tally)
{
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, S_INFER_ROWS, S_COLS);
    uint8_t payload[S_INFER_ROWS * S_COLS * 4];
    maas_codec_f32_to_le (payload, soak->x, S_INFER_ROWS * S_COLS);
    maas_submit_t spec = {
        .kind = "infer", .model = "soak", .params = params.data, .params_size = params.size};
    maas_client_set_window (client, S_WINDOW);
    while (s_now_ms () < soak->until_ms)
        if (maas_client_submit (client, &spec, payload, sizeof payload, s_count_infer, tally, NULL)
            != 0)
            tally->errors++;
    if (maas_client_wait_all (client, 60000) != 0)
        tally->errors++;
    msgpack_sbuffer_destroy (&params);
}

static void
s_score_load (const s_soak_t *soak, maas_client_t *client, s_tally_t *tally)
{
    maas_tensor_t *x = maas_tensor_new (S_SCORE_ROWS, S_COLS);
    memcpy (x->data, soak->x, S_SCORE_ROWS * S_COLS * sizeof (float));
    maas_score_config_t config = {.model = "soak", .shard_rows = 1000, .window = 4};
    maas_err_t err;
    while (s_now_ms () < soak->until_ms) {
        maas_tensor_t *out = NULL;
        int rc = maas_score_tensor (client, &config, x, &out, NULL, &err);
        bool right =
            rc == 0 && memcmp (out->data, soak->expected, S_SCORE_ROWS * sizeof (float)) == 0;
        tally->jobs++;
        if (!right) {
            tally->errors++;
            fprintf (stderr, "bench/soak: scoring run %ld: %s\n", tally->jobs,
                     rc ? err.text : "outputs differ from in process");
        }
        maas_tensor_destroy (&out);
    }
    maas_tensor_destroy (&x);
}

static void
s_train_load (const s_soak_t *soak, maas_client_t *client, s_tally_t *tally)
{
    maas_training_t spec;
    maas_training_init (&spec);
    snprintf (spec.model, sizeof spec.model, "soak-trained");
    snprintf (spec.dataset, sizeof spec.dataset, "soak");
    maas_err_t err;
    maas_training_parse_layers (&spec, "32:relu,1:sigmoid", &err);
    spec.train.epochs = 40;
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    maas_training_pack (&spec, &pk);
    maas_submit_t submit = {
        .kind = "train", .model = spec.model, .params = params.data, .params_size = params.size};
    while (s_now_ms () < soak->until_ms) {
        char id[MAAS_PROTO_ID_MAX + 1];
        maas_result_t *result = NULL;
        if (maas_client_submit (client, &submit, NULL, 0, NULL, NULL, id) == 0)
            result = maas_client_wait (client, id, 120000);
        s_count_infer (result ? result : &(maas_result_t){.status = "lost"}, tally);
        maas_result_destroy (&result);
    }
    msgpack_sbuffer_destroy (&params);
}

static size_t
s_body_sink (char *data, size_t size, size_t count, void *arg)
{
    msgpack_sbuffer_write (arg, data, size * count);
    return size * count;
}

//  One row's prediction as the gateway writes it: [p] inside "predictions".
static bool
s_predicted (const char *body, float want)
{
    const char *at = body ? strstr (body, "\"predictions\":") : NULL;
    at = at ? strstr (at, "[[") : NULL;
    return at && fabsf (strtof (at + 2, NULL) - want) < 1e-5f;
}

//  TF Serving predicts of 4 rows through the gateway, one connection kept
//  alive, each answer checked against the in-process outputs. The gateway
//  starts with the others: its first refusals (not up yet) are retried for
//  10 s before they count.
static void
s_http_load (const s_soak_t *soak, s_tally_t *tally)
{
    char body[1024] = "{\"instances\": [";
    for (int r = 0; r < S_INFER_ROWS; r++)
        for (int c = 0; c < S_COLS; c++)
            snprintf (body + strlen (body), sizeof body - strlen (body), "%s%.9g%s",
                      c ? "," : (r ? ",[" : "["), soak->x[r * S_COLS + c],
                      c == S_COLS - 1 ? "]" : "");
    strcat (body, "]}");
    CURL *curl = curl_easy_init ();
    msgpack_sbuffer reply;
    msgpack_sbuffer_init (&reply);
    curl_easy_setopt (curl, CURLOPT_URL, soak->predict_url);
    curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_body_sink);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 30000L);
    int64_t patience = s_now_ms () + 10000;
    while (s_now_ms () < soak->until_ms) {
        reply.size = 0;
        CURLcode rc = curl_easy_perform (curl);
        long code = 0;
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_COULDNT_CONNECT && s_now_ms () < patience) {
            usleep (50000);
            continue;
        }
        msgpack_sbuffer_write (&reply, "", 1);
        tally->jobs++;
        if (rc != CURLE_OK || code != 200 || !s_predicted (reply.data, soak->expected[0])) {
            tally->errors++;
            fprintf (stderr, "bench/soak: http predict %ld: %s, HTTP %ld: %.200s\n", tally->jobs,
                     curl_easy_strerror (rc), code, reply.data ? reply.data : "");
        }
    }
    msgpack_sbuffer_destroy (&reply);
    curl_easy_cleanup (curl);
}

//  Run load WHICH until the deadline, print its tally; the exit code of the
//  process (errors, at most 100).
static int
s_load (const s_soak_t *soak, int which)
{
    static const char *const names[S_LOADS] = {"infer", "score", "train", "http"};
    maas_log_set_level (MAAS_LOG_WARN);
    maas_client_t *client = maas_client_new (soak->front, NULL);
    s_tally_t tally = {0};
    if (!client || maas_client_ping (client, 10000) != 0)
        tally.errors++;
    else if (which == 0)
        s_infer_load (soak, client, &tally);
    else if (which == 1)
        s_score_load (soak, client, &tally);
    else if (which == 2)
        s_train_load (soak, client, &tally);
    else
        s_http_load (soak, &tally);
    maas_client_destroy (&client);
    s_figure (names[which], "runs", (double) tally.jobs, "jobs");
    s_figure (names[which], "errors", (double) tally.errors, "jobs");
    return tally.errors > 100 ? 100 : (int) tally.errors;
}

//  -- the watch: jobs/s from the broker's stats in Redis

//  Jobs the broker has finished (succeeded + failed + ...) and those that
//  were not right (failed, expired, rejected) since it started.
static int
s_broker_counts (const s_soak_t *soak, long *finished, long *bad)
{
    redisContext *ctx = redisConnectUnix (soak->url + strlen ("unix://"));
    redisReply *reply = ctx && !ctx->err ? redisCommand (ctx,
                                                         "HMGET maas:broker:soak succeeded failed "
                                                         "cancelled expired rejected")
                                         : NULL;
    int rc = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5 ? 0 : -1;
    long value[5] = {0};
    for (size_t i = 0; rc == 0 && i < 5; i++)
        value[i] =
            reply->element[i]->type == REDIS_REPLY_STRING ? atol (reply->element[i]->str) : 0;
    *finished = value[0] + value[1] + value[2] + value[3];
    *bad = value[1] + value[3] + value[4];
    if (reply)
        freeReplyObject (reply);
    redisFree (ctx);
    return rc;
}

//  A jobs/s line every S_REPORT_S seconds until the deadline; returns the
//  times the broker's stats could not be read.
static long
s_watch (const s_soak_t *soak, int64_t started_ms)
{
    long before = 0, now = 0, bad = 0, unread = 0;
    int64_t at = started_ms;
    while (at < soak->until_ms) {
        int64_t next =
            at + S_REPORT_S * 1000 < soak->until_ms ? at + S_REPORT_S * 1000 : soak->until_ms;
        while (s_now_ms () < next)
            usleep (100000);
        if (s_broker_counts (soak, &now, &bad) != 0)
            unread++;
        char when[32];
        snprintf (when, sizeof when, "t=%llds", (long long) (next - started_ms) / 1000);
        s_figure (when, "jobs_per_s", (double) (now - before) * 1000.0 / (double) (next - at),
                  "jobs/s");
        before = now;
        at = next;
    }
    return unread;
}

//  The broker's totals once every load has ended; its bad outcomes.
static long
s_totals (const s_soak_t *soak)
{
    long finished = 0, bad = 0;
    if (s_broker_counts (soak, &finished, &bad) != 0)
        return 1;
    s_figure ("total", "jobs", (double) finished, "jobs");
    s_figure ("total", "broker_bad_outcomes", (double) bad, "jobs");
    return bad;
}

int
main (int argc, char **argv)
{
    int seconds = argc > 1 ? atoi (argv[1]) : 600;
    if (seconds <= 0) {
        fprintf (stderr, "usage: bench/soak [SECONDS]   (default 600)\n");
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    maas_log_set_level (MAAS_LOG_WARN);
    maas_blas_set_threads (1);    //  as workers run: the same bits in any batch
    bench_deadline ((unsigned) seconds + 300);
    s_soak_t soak = {0};
    int rc = s_stack_up (&soak) == 0 && s_prepare (&soak) == 0 ? 0 : 1;
    pid_t loads[S_LOADS] = {0};
    long errors = rc;
    if (rc == 0) {
        sleep (1);    //  the servers settle: their start is after set-up
        s_print_rss (&soak, "start");
        int64_t started_ms = s_now_ms ();
        soak.until_ms = started_ms + (int64_t) seconds * 1000;
        for (int i = 0; i < S_LOADS; i++)
            if ((loads[i] = bench_fork ()) == 0)
                _exit (s_load (&soak, i));
        errors += s_watch (&soak, started_ms);
        for (int i = 0; i < S_LOADS; i++) {
            int status = 0;
            waitpid (loads[i], &status, 0);
            errors += WIFEXITED (status) ? WEXITSTATUS (status) : 1;
        }
        errors += s_totals (&soak);
        s_print_rss (&soak, "end");
    }
    s_figure ("total", "errors", (double) errors, "errors");
    s_stack_down (&soak);
    free (soak.x);
    free (soak.expected);
    return errors == 0 ? 0 : 1;
}
