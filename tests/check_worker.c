/*  check_worker.c: maas-worker as a process behind the real maas-broker,
 *  with a real redis-server; the test is the client (libmaas client API)
 *  and the publisher. Predictions, version switches under load, bad input,
 *  the cache bound, and `maas infer`. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    support_site_t site;          //  redis-server, temp dir, endpoints, logs
    support_proc_t *broker;       //  the broker
    support_proc_t *worker;       //  the worker
    support_proc_t *worker2;      //  a second one, when a test needs it
    maas_registry_t *registry;    //  the test's publisher
    maas_client_t *client;        //  the test's client
} fx_t;

static fx_t fx;

static void
s_worker_start_delay (const char *cache_mb, const char *max_batch_rows, const char *delay_us)
{
    const char *extra[] = {
        "--cache-mb",  cache_mb, "--max-batch-rows", max_batch_rows, "--batch-delay-us", delay_us,
        "--heartbeat", "100",    "--credits",        "16",           "--log-level",      "info",
        NULL};
    fx.worker = support_worker_start (fx.site.back, support_redis_url (fx.site.redis), extra,
                                      fx.site.worker_log);
}

static void
s_worker_start (const char *cache_mb, const char *max_batch_rows)
{
    s_worker_start_delay (cache_mb, max_batch_rows, "2000");
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    support_site_open (&fx.site, "worker");
    const char *extra[] = {"--heartbeat", "100", "--liveness", "10", NULL};
    fx.broker = support_broker_start (fx.site.front, fx.site.back,
                                      support_redis_url (fx.site.redis), extra, fx.site.broker_log);
    fx.registry = support_registry_new (fx.site.redis);
    fx.client = maas_client_new (fx.site.front, NULL);
    ck_assert_ptr_nonnull (fx.client);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
}

static void
s_teardown (void)
{
    maas_client_destroy (&fx.client);
    maas_registry_destroy (&fx.registry);
    support_proc_stop (&fx.worker);
    support_proc_stop (&fx.worker2);
    support_proc_stop (&fx.broker);
    support_site_close (&fx.site);
}

static maas_model_t *
s_model (size_t inputs, size_t hidden, size_t outputs, uint64_t seed)
{
    maas_layer_spec_t layers[] = {{hidden, MAAS_ACT_TANH}, {outputs, MAAS_ACT_SOFTMAX}};
    return support_model_new (inputs, layers, 2, seed);
}

static uint64_t
s_publish (const char *name, const maas_model_t *model)
{
    return support_publish_model (fx.registry, name, model);
}

//  Submit ROWS × COLS floats of X as a raw tensor for NAME (VERSION or
//  ALIAS); the id into ID.
static void
s_submit (const char *name, int64_t version, const char *alias, const float *x, size_t rows,
          size_t cols, maas_result_fn *fn, void *arg, char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, rows, cols);
    maas_submit_t spec = {.kind = "infer",
                          .model = name,
                          .version = version,
                          .alias = alias,
                          .params = params.data,
                          .params_size = params.size};
    uint8_t *bytes = malloc (rows * cols * 4);
    maas_codec_f32_to_le (bytes, x, rows * cols);
    ck_assert_msg (maas_client_submit (fx.client, &spec, bytes, rows * cols * 4, fn, arg, id) == 0,
                   "%s", maas_client_error (fx.client));
    free (bytes);
    msgpack_sbuffer_destroy (&params);
}

static maas_result_t *
s_wait (const char *id)
{
    maas_result_t *result = maas_client_wait (fx.client, id, 20000);
    ck_assert_msg (result, "no result for %s: %s", id, maas_client_error (fx.client));
    return result;
}

//  The "values" floats and "version" of a succeeded RESULT; VALUES gets
//  COUNT floats.
static uint64_t
s_values (const maas_result_t *result, float *values, size_t count)
{
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "job %s: %s", result->status,
                   result->error ? result->error : "");
    maas_infer_result_t out;
    maas_err_t err;
    ck_assert_msg (maas_infer_result_parse (&out, result->data, result->size, &err) == 0, "%s",
                   err.text);
    ck_assert_int_ge (out.batch_rows, 1);
    ck_assert_uint_eq (out.rows * out.outputs, count);
    if (values)
        memcpy (values, out.values, count * sizeof *values);
    uint64_t version = out.version;
    maas_infer_result_clear (&out);
    return version;
}

static void
s_fill (float *x, size_t n, float seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sinf (seed + 0.37f * (float) i);
}

//  -- predictions

//  Through broker + worker, predictions equal the in-process ones: bit for
//  bit when every job runs alone; within 1e-6 when jobs share a batch
//  (OpenBLAS picks its kernel by the row count, so the last bits of a row's
//  outputs may depend on the batch it ran in).
static void
s_check_predictions (const char *max_batch_rows, bool exact)
{
    maas_model_t *model = s_model (30, 32, 2, 11);
    s_publish ("cancer", model);
    s_worker_start ("64", max_batch_rows);
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    enum { JOBS = 12 };
    float x[JOBS][4 * 30], expected[JOBS][4 * 2], got[4 * 2];
    char ids[JOBS][MAAS_PROTO_ID_MAX + 1];
    for (int j = 0; j < JOBS; j++) {
        size_t rows = 1 + j % 4;
        s_fill (x[j], rows * 30, (float) j);
        ck_assert_int_eq (maas_predictor_run (predictor, x[j], rows, expected[j]), 0);
        s_submit ("cancer", 0, NULL, x[j], rows, 30, NULL, NULL, ids[j]);
    }
    for (int j = 0; j < JOBS; j++) {
        maas_result_t *result = s_wait (ids[j]);
        size_t rows = 1 + j % 4;
        ck_assert_uint_eq (s_values (result, got, rows * 2), 1);
        if (exact)
            ck_assert_msg (memcmp (got, expected[j], rows * 2 * sizeof (float)) == 0,
                           "job %d differs from the in-process prediction", j);
        for (size_t k = 0; k < rows * 2; k++)
            ck_assert_float_eq_tol (got[k], expected[j][k], 1e-6);
        maas_result_destroy (&result);
    }
    maas_predictor_destroy (&predictor);
    maas_model_destroy (&model);
}

START_TEST (test_predictions_bit_exact_unbatched)
{
    s_check_predictions ("0", true);
}
END_TEST

START_TEST (test_predictions_batched)
{
    s_check_predictions ("64", false);
}
END_TEST

//  -- switching versions while jobs stream

typedef struct {
    int done;             //  results received
    int failed;           //  of which not succeeded
    int versions[512];    //  version each job ran on, by submit order
} stream_t;

static void
s_on_stream (const maas_result_t *result, void *arg)
{
    stream_t *stream = arg;
    int index = atoi (strrchr (result->id, '-') + 1);
    stream->done++;
    if (strcmp (result->status, "succeeded") != 0) {
        stream->failed++;
        fprintf (stderr, "job %s %s: %s\n", result->id, result->status,
                 result->error ? result->error : "");
        return;
    }
    stream->versions[index] = (int) s_values (result, NULL, 3);
}

START_TEST (test_alias_switch_while_streaming)
{
    maas_model_t *v1 = s_model (4, 8, 3, 1), *v2 = s_model (4, 8, 3, 2);
    s_publish ("iris", v1);
    s_publish ("iris", v2);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    s_worker_start ("64", "32");
    stream_t stream = {0};
    float x[4];
    s_fill (x, 4, 0);
    enum { JOBS = 400, MOVE_AT = 200 };
    for (int j = 0; j < JOBS; j++) {
        if (j == MOVE_AT)
            ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 2), 0);
        char id[MAAS_PROTO_ID_MAX + 1];
        snprintf (id, sizeof id, "stream-%d", j);
        msgpack_sbuffer params;
        maas_infer_params_pack (&params, 1, 4);
        uint8_t bytes[16];
        maas_codec_f32_to_le (bytes, x, 4);
        maas_submit_t spec = {.id = id,
                              .kind = "infer",
                              .model = "iris",
                              .alias = "production",
                              .params = params.data,
                              .params_size = params.size};
        ck_assert_int_eq (
            maas_client_submit (fx.client, &spec, bytes, 16, s_on_stream, &stream, NULL), 0);
        msgpack_sbuffer_destroy (&params);
        while (maas_client_pending (fx.client) >= 8)    //  a stream, 8 in flight
            maas_client_poll (fx.client, 100);
    }
    ck_assert_int_eq (maas_client_wait_all (fx.client, 20000), 0);
    ck_assert_int_eq (stream.done, JOBS);
    ck_assert_int_eq (stream.failed, 0);
    //  One worker takes jobs in order and resolves the alias as it takes
    //  each: v1 until the announcement reached it, v2 from then on. The 8
    //  jobs in flight at the move may run on either; jobs submitted after
    //  it run on v2 once the announcement is in (a few ms at most: well
    //  within 40 jobs).
    for (int j = 0; j < MOVE_AT - 8; j++)
        ck_assert_msg (stream.versions[j] == 1, "job %d, before the move, ran on v%d", j,
                       stream.versions[j]);
    int first_v2 = JOBS;
    for (int j = 0; j < JOBS; j++) {
        ck_assert (stream.versions[j] == 1 || stream.versions[j] == 2);
        if (stream.versions[j] == 2 && first_v2 == JOBS)
            first_v2 = j;
        if (j > first_v2)
            ck_assert_msg (stream.versions[j] == 2, "job %d ran on v1 after job %d ran on v2", j,
                           first_v2);
    }
    ck_assert_msg (first_v2 < MOVE_AT + 40, "v2 first used by job %d", first_v2);
    maas_model_destroy (&v1);
    maas_model_destroy (&v2);
}
END_TEST

//  -- bad input

static void
s_expect_failure (const maas_submit_t *spec, const void *payload, size_t size, const char *expected)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (maas_client_submit (fx.client, spec, payload, size, NULL, NULL, id), 0);
    maas_result_t *result = s_wait (id);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_msg (result->error && strstr (result->error, expected), "error '%s' lacks '%s'",
                   result->error ? result->error : "(none)", expected);
    //  Each of these fails the same on any worker: not worth running again.
    ck_assert_msg (!maas_result_retryable (result), "'%s' sent as retryable", result->error);
    //  The worker's log line names the job (logged before it answers).
    char line[MAAS_PROTO_ID_MAX + 32];
    snprintf (line, sizeof line, "job failed job=%s ", id);
    ck_assert_msg (support_file_has (fx.site.worker_log, line), "worker log lacks '%s'", line);
    maas_result_destroy (&result);
    //  ... and the next job succeeds.
    float x[30];
    s_fill (x, 30, 1);
    s_submit ("cancer", 0, NULL, x, 1, 30, NULL, NULL, id);
    result = s_wait (id);
    s_values (result, NULL, 2);
    maas_result_destroy (&result);
}

START_TEST (test_bad_input_fails_and_worker_serves_on)
{
    maas_model_t *model = s_model (30, 8, 2, 3);
    s_publish ("cancer", model);
    s_worker_start ("64", "64");
    float x[2 * 30];
    s_fill (x, 60, 0);
    uint8_t bytes[sizeof x];
    maas_codec_f32_to_le (bytes, x, 60);
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, 1, 29);
    maas_submit_t spec = {
        .kind = "infer", .model = "cancer", .params = params.data, .params_size = params.size};
    s_expect_failure (&spec, bytes, 29 * 4, "model cancer@1: expected 30 features, got 29");
    msgpack_sbuffer_destroy (&params);
    maas_infer_params_pack (&params, 2, 30);
    spec.params = params.data;
    spec.params_size = params.size;
    s_expect_failure (&spec, bytes, 59 * 4, "shape 2x30 needs 240 bytes, payload has 236");
    x[37] = NAN;
    maas_codec_f32_to_le (bytes, x, 60);
    s_expect_failure (&spec, bytes, sizeof bytes, "row 2 column 8 is not a finite number");
    msgpack_sbuffer_destroy (&params);
    //  A params key the infer module does not know is named, not ignored.
    spec.params = "\x81\xa4rows\x01";
    spec.params_size = 7;
    s_expect_failure (&spec, bytes, sizeof bytes, "params: unknown key 'rows'");
    maas_submit_t plain = {.kind = "infer", .model = "cancer"};
    s_expect_failure (&plain, "\xc1\xc1", 2, "input: not msgpack rows");
    plain.model = "nosuch";
    s_expect_failure (&plain, "\x90", 1, "unknown model nosuch");
    plain.model = "cancer";
    plain.version = 7;
    s_expect_failure (&plain, "\x90", 1, "model cancer has no version 7");
    plain.version = 0;
    plain.alias = "staging";
    s_expect_failure (&plain, "\x90", 1, "model cancer has no alias 'staging'");
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.site.redis));
    freeReplyObject (redisCommand (ctx, "HSET maas:model:{cancer}:v1 blob %s", "garbage"));
    redisFree (ctx);
    s_publish ("cancer", model);    //  v2, for the jobs that follow each failure
    maas_submit_t corrupt = {.kind = "infer", .model = "cancer", .version = 1};
    //  v1 may already be cached (checked when it was loaded); a fresh
    //  worker loads it from Redis and must refuse it.
    support_proc_stop (&fx.worker);
    s_worker_start ("64", "64");
    s_expect_failure (&corrupt, "\x90", 1, "model cancer@1: stored blob fails its sha256 check");
    maas_model_destroy (&model);
}
END_TEST

//  The "version" the RESULT header's meta says ran.
static uint64_t
s_meta_version (const maas_result_t *result)
{
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    maas_codec_map_t map, meta;
    maas_err_t err;
    uint64_t version = 0;
    ck_assert_int_eq (maas_codec_unpack (result->header, result->header_size, 0, &top, &err), 0);
    ck_assert_int_eq (maas_codec_map_init (&map, &top.data, "header"), 0);
    ck_assert_int_eq (maas_codec_map_map (&map, "meta", &meta), 0);
    ck_assert_int_eq (maas_codec_map_uint64 (&meta, "version", &version), 0);
    msgpack_unpacked_destroy (&top);
    return version;
}

//  A job naming an alias runs on the version it points at, not the latest
//  (the header key was ignored when the wire spelt it "version"); the
//  RESULT's meta says which ran; an unknown alias fails the job.
START_TEST (test_alias_names_the_version)
{
    maas_model_t *model = s_model (30, 8, 2, 3);
    s_publish ("cancer", model);
    s_publish ("cancer", model);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "cancer", "production", 1), 0);
    s_worker_start ("64", "64");
    float x[30];
    s_fill (x, 30, 1);
    char id[MAAS_PROTO_ID_MAX + 1];
    const char *refs[] = {"production", NULL};
    uint64_t expected[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        s_submit ("cancer", 0, refs[i], x, 1, 30, NULL, NULL, id);
        maas_result_t *result = s_wait (id);
        ck_assert_uint_eq (s_values (result, NULL, 2), expected[i]);
        ck_assert_uint_eq (s_meta_version (result), expected[i]);
        maas_result_destroy (&result);
    }
    maas_submit_t spec = {.kind = "infer", .model = "cancer", .alias = "nosuch"};
    s_expect_failure (&spec, "\x90", 1, "model cancer has no alias 'nosuch'");
    //  Both a version and an alias: refused before it is sent.
    spec.version = 1;
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "\x90", 1, NULL, NULL, id), -1);
    ck_assert_msg (strstr (maas_client_error (fx.client), "not both"), "%s",
                   maas_client_error (fx.client));
    maas_model_destroy (&model);
}
END_TEST

//  -- cached versions reported to the broker

//  Start a worker named NAME with CREDITS into *PROC.
static void
s_named_worker (support_proc_t **proc, const char *name, const char *credits)
{
    const char *extra[] = {"--name", name, "--credits", credits, "--heartbeat", "100", NULL};
    *proc = support_worker_start (fx.site.back, support_redis_url (fx.site.redis), extra,
                                  fx.site.worker_log);
}

//  Run one job for NAME and return the worker that ran it (from Redis).
static char *
s_ran_on (const char *name)
{
    float x[4];
    s_fill (x, 4, 1);
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit (name, 0, NULL, x, 1, 4, NULL, NULL, id);
    maas_result_t *result = s_wait (id);
    s_values (result, NULL, 3);
    maas_result_destroy (&result);
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.site.redis));
    //  The broker answers the client and writes the final record in the same
    //  loop turn; under load the answer can arrive first: wait for the write.
    redisReply *reply = redisCommand (ctx, "HGET maas:job:%s worker", id);
    for (int i = 0; i < 200 && reply && reply->type != REDIS_REPLY_STRING; i++) {
        freeReplyObject (reply);
        zclock_sleep (10);
        reply = redisCommand (ctx, "HGET maas:job:%s worker", id);
    }
    ck_assert (reply && reply->type == REDIS_REPLY_STRING);
    char *worker = strdup (reply->str);
    freeReplyObject (reply);
    redisFree (ctx);
    return worker;
}

START_TEST (test_jobs_go_where_the_model_is_cached)
{
    maas_model_t *model = s_model (4, 8, 3, 4);
    s_publish ("iris", model);
    //  "small" loads iris first; "big" (more free credit, but not twice
    //  as much) joins later and would get every job if cached models did
    //  not count.
    s_named_worker (&fx.worker, "small", "16");
    char *first = s_ran_on ("iris");
    ck_assert_str_eq (first, "small");
    free (first);
    s_named_worker (&fx.worker2, "big", "24");
    //  A model nobody holds goes to "big" once it is ready.
    char *other = NULL;
    for (int i = 0; i < 100 && !(other && strcmp (other, "big") == 0); i++) {
        char probe[16];
        snprintf (probe, sizeof probe, "probe%d", i);
        s_publish (probe, model);
        free (other);
        other = s_ran_on (probe);
        if (strcmp (other, "big") != 0)
            zclock_sleep (20);
    }
    ck_assert_str_eq (other, "big");
    free (other);
    for (int i = 0; i < 5; i++) {
        char *worker = s_ran_on ("iris");
        ck_assert_msg (strcmp (worker, "small") == 0, "iris job %d ran on %s", i, worker);
        free (worker);
    }
    maas_model_destroy (&model);
}
END_TEST

//  -- heartbeats during a long batch

START_TEST (test_heartbeats_flow_during_long_batches)
{
    //  24576 rows through 256 → 1024 → 1024 → 10: about 57 GFLOP, seconds
    //  here, against a broker that drops a worker silent for 1 s.
    maas_layer_spec_t layers[] = {
        {1024, MAAS_ACT_RELU}, {1024, MAAS_ACT_RELU}, {10, MAAS_ACT_SOFTMAX}};
    maas_model_t *model = support_model_new (256, layers, 3, 1);
    s_publish ("wide", model);
    s_worker_start ("256", "0");
    enum { ROWS = 24576 };
    float *x = malloc (ROWS * 256 * sizeof *x);
    s_fill (x, ROWS * 256, 3);
    char id[MAAS_PROTO_ID_MAX + 1];
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, ROWS, 256);
    maas_submit_t spec = {.kind = "infer",
                          .model = "wide",
                          .ephemeral = true,
                          .params = params.data,
                          .params_size = params.size};
    uint8_t *bytes = malloc (ROWS * 256 * 4);
    maas_codec_f32_to_le (bytes, x, ROWS * 256);
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, bytes, ROWS * 256 * 4, NULL, NULL, id),
                      0);
    free (bytes);
    msgpack_sbuffer_destroy (&params);
    maas_result_t *result = maas_client_wait (fx.client, id, 60000);
    ck_assert_ptr_nonnull (result);
    s_values (result, NULL, ROWS * 10);
    maas_result_destroy (&result);
    FILE *log = fopen (fx.site.broker_log, "r");
    char line[512];
    while (log && fgets (line, sizeof line, log))
        ck_assert_msg (!strstr (line, "worker gone") && !strstr (line, "requeued"), "%s", line);
    if (log)
        fclose (log);
    free (x);
    maas_model_destroy (&model);
}
END_TEST

//  -- the cache bound

START_TEST (test_cache_stays_within_its_bound)
{
    //  Each 64 → 256 → 4 model holds about 4 * (BLOCK * (64 + 512) + 17k)
    //  bytes loaded, ~2.4 MB: a 5 MB cache holds two of six.
    maas_model_t *model = s_model (64, 256, 4, 5);
    char name[16];
    for (int i = 0; i < 6; i++) {
        snprintf (name, sizeof name, "m%d", i);
        s_publish (name, model);
    }
    s_worker_start ("5", "64");
    float x[64];
    s_fill (x, 64, 2);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 6; i++) {
            char id[MAAS_PROTO_ID_MAX + 1];
            snprintf (name, sizeof name, "m%d", i);
            s_submit (name, 0, NULL, x, 1, 64, NULL, NULL, id);
            maas_result_t *result = s_wait (id);
            s_values (result, NULL, 4);
            maas_result_destroy (&result);
        }
    //  Every load logged the cache's size after it: never over 5 MB.
    FILE *log = fopen (fx.site.worker_log, "r");
    ck_assert_ptr_nonnull (log);
    char line[512];
    int loads = 0;
    while (fgets (line, sizeof line, log)) {
        const char *at = strstr (line, "cache_bytes=");
        if (!strstr (line, "worker: loaded") || !at)
            continue;
        loads++;
        ck_assert_msg (strtoull (at + 12, NULL, 10) <= (5u << 20), "%s", line);
    }
    fclose (log);
    ck_assert_int_eq (loads, 12);
    maas_model_destroy (&model);
}
END_TEST

//  -- `maas infer`

//  Read all of DIR/NAME into TEXT (at most SIZE - 1 bytes).
static void
s_slurp (const char *name, char *text, size_t size)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", fx.site.dir, name);
    FILE *file = fopen (path, "r");
    ck_assert_msg (file, "no %s", path);
    text[fread (text, 1, size - 1, file)] = 0;
    fclose (file);
}

START_TEST (test_cli_infer)
{
    maas_model_t *model = s_model (4, 8, 3, 9);
    s_publish ("iris", model);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    s_worker_start ("64", "64");
    char *maas = support_build_path ("client/maas"), *script = NULL;
    ck_assert (asprintf (&script,
                         "cd %s && printf 'a,b,c,d\\n5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3\\n' > in.csv"
                         " && %s infer iris@production --input in.csv --broker %s > out 2> err"
                         " && echo '[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]' | %s infer iris"
                         " --input - --json --broker %s > out.json || exit 9;"
                         " echo '[[1,2,3]]' | %s infer iris --input - --broker %s 2> err.bad;"
                         " echo rc=$? >> err.bad;"
                         " %s infer iris --input nosuch.csv --broker %s 2> err.missing;"
                         " echo rc=$? >> err.missing;"
                         " printf '1,2,3,4\\n' > nohdr.csv;"
                         " %s infer iris --input nohdr.csv --broker %s 2> err.nohdr;"
                         " echo rc=$? >> err.nohdr",
                         fx.site.dir, maas, fx.site.front, maas, fx.site.front, maas, fx.site.front,
                         maas, fx.site.front, maas, fx.site.front)
               > 0);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    //  maas infer asks the registry for the version and column names.
    char redis_env[600];
    snprintf (redis_env, sizeof redis_env, "MAAS_REDIS_URL=%s", support_redis_url (fx.site.redis));
    const char *env[] = {redis_env, NULL};
    support_proc_t *proc = support_proc_start (argv, env, NULL);
    ck_assert_int_eq (support_proc_wait (proc, 60000), 0);
    support_proc_stop (&proc);
    float x[8] = {5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f}, y[6];
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, x, 2, y), 0);
    char path[512], text[4096] = "";
    snprintf (path, sizeof path, "%s/out.json", fx.site.dir);
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    text[fread (text, 1, sizeof text - 1, file)] = 0;
    fclose (file);
    char expected[64];
    snprintf (expected, sizeof expected, "\"values\":[%.9g,", (double) y[0]);
    ck_assert_msg (strstr (text, expected), "%s lacks %s", text, expected);
    ck_assert_msg (strstr (text, "\"model\":\"iris\",\"version\":1"), "%s", text);
    snprintf (path, sizeof path, "%s/err.bad", fx.site.dir);
    file = fopen (path, "r");
    text[fread (text, 1, sizeof text - 1, file)] = 0;
    fclose (file);
    ck_assert_msg (strstr (text, "expected 4 features, got 3") && strstr (text, "rc=1"), "%s",
                   text);
    //  A missing input says why.
    s_slurp ("err.missing", text, sizeof text);
    ck_assert_msg (strstr (text, "maas infer: cannot open nosuch.csv: No such file or directory\n")
                       && strstr (text, "rc=1"),
                   "%s", text);
    //  The CSV reader names the file; the command does not name it again.
    s_slurp ("err.nohdr", text, sizeof text);
    ck_assert_msg (strstr (text, "maas infer: nohdr.csv: line 1 is all numbers")
                       && strstr (text, "rc=1"),
                   "%s", text);
    free (script);
    free (maas);
    maas_predictor_destroy (&predictor);
    maas_model_destroy (&model);
}
END_TEST

//  Save MODEL as DIR/NAME.
static void
s_save (const maas_model_t *model, const char *name)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", fx.site.dir, name);
    maas_err_t err;
    ck_assert_msg (maas_model_save (model, path, &err) == 0, "%s", err.text);
}

//  Labels given at publish, `maas infer --output class --top-k 2`, and a
//  binary version's threshold moved with `maas model threshold`: the class
//  changes, the version and its weights do not.
//  Run SCRIPT with /bin/sh (-e when STRICT: any failing command fails it),
//  ENV added to the environment; fails the test unless it exits 0 within
//  TIMEOUT_MS.
static void
s_sh (const char *const env[], int timeout_ms, bool strict, const char *script)
{
    const char *argv[] = {"/bin/sh", strict ? "-ec" : "-c", script, NULL};
    support_proc_t *proc = support_proc_start (argv, env, NULL);
    int rc = support_proc_wait (proc, timeout_ms);
    support_proc_stop (&proc);
    ck_assert_msg (rc == 0, "sh -c '%s': exit %d (-1: still running)", script, rc);
}

//  SCRIPT with $MAAS_REDIS_URL pointing at the test's Redis; the commands
//  whose failure it checks say so themselves (not strict).
static void
s_sh_redis (const char *script)
{
    char redis_env[600];
    snprintf (redis_env, sizeof redis_env, "MAAS_REDIS_URL=%s", support_redis_url (fx.site.redis));
    const char *env[] = {redis_env, NULL};
    s_sh (env, 60000, false, script);
}

START_TEST (test_cli_labels_top_k_threshold)
{
    maas_model_t *iris = s_model (4, 8, 3, 9);
    s_save (iris, "iris.model");
    maas_layer_spec_t layers[] = {{1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (2, layers, 1);
    maas_mlp_weights (mlp, 0)->data[0] = 1.0f;    //  p = sigmoid(x0)
    maas_mlp_weights (mlp, 0)->data[1] = 0.0f;
    maas_mlp_bias (mlp, 0)->data[0] = 0.0f;
    maas_model_t *cancer = maas_model_new (&mlp);
    s_save (cancer, "cancer.model");
    s_worker_start ("64", "64");
    char *maas = support_build_path ("client/maas"), *script = NULL;
    ck_assert (asprintf (&script,
                         "cd %s && M=%s && B='--broker %s' &&"
                         " $M model publish iris iris.model --labels setosa,versicolor,virginica"
                         " > pub.txt && $M model show iris --json > show.json &&"
                         " $M model show iris > show.txt &&"
                         " printf 'a,b,c,d\\n5.1,3.5,1.4,0.2\\n6.7,3.0,5.2,2.3\\n' > in.csv &&"
                         " $M infer iris --input in.csv --output class --top-k 2 $B > top.txt &&"
                         " $M infer iris --input in.csv --output class --top-k 2 --json $B"
                         " > top.json &&"
                         " $M model publish cancer cancer.model --labels benign,malignant &&"
                         " printf 'x0,x1\\n-0.5,0\\n' > c.csv &&"
                         " $M infer cancer --input c.csv --output class $B > c1.txt &&"
                         " $M model threshold cancer@1 0.3 > thr.txt &&"
                         " $M infer cancer --input c.csv --output class $B > c2.txt &&"
                         " $M model show cancer --json > cshow.json || exit 9;"
                         " $M model threshold iris@1 0.3 2> thr.bad; echo rc=$? >> thr.bad;"
                         " $M infer iris --input in.csv --output klass $B 2> out.bad;"
                         " echo rc=$? >> out.bad",
                         fx.site.dir, maas, fx.site.front)
               > 0);
    s_sh_redis (script);
    //  Each row's label and its two most probable classes, as numpy would say.
    float x[8] = {5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f}, y[6];
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (iris));
    ck_assert_int_eq (maas_predictor_run (predictor, x, 2, y), 0);
    static const char *names[] = {"setosa", "versicolor", "virginica"};
    char text[8192], want[256];
    s_slurp ("top.txt", text, sizeof text);
    for (int r = 0; r < 2; r++) {
        const float *p = y + 3 * r;
        int order[3] = {0, 1, 2};
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (p[order[j]] > p[order[i]]) {
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
        snprintf (want, sizeof want, "%s\t%.6g %.6g %.6g\t%s:%.6g %s:%.6g\n", names[order[0]],
                  (double) p[0], (double) p[1], (double) p[2], names[order[0]],
                  (double) p[order[0]], names[order[1]], (double) p[order[1]]);
        ck_assert_msg (strstr (text, want), "'%s' lacks '%s'", text, want);
    }
    s_slurp ("top.json", text, sizeof text);
    ck_assert_msg (strstr (text, "\"label\":\"") && strstr (text, "\"top\":[[\""), "%s", text);
    s_slurp ("show.json", text, sizeof text);
    ck_assert_msg (strstr (text,
                           "\"labels\":[\"setosa\",\"versicolor\",\"virginica\"]"
                           ",\"labels_stored\":true"),
                   "%s", text);
    ck_assert_msg (strstr (text,
                           "\"signature\":{\"dtype\":\"float32\",\"inputs\":4,\"outputs\":3,"
                           "\"output_name\":\"output\",\"task\":\"multiclass\""),
                   "%s", text);
    s_slurp ("show.txt", text, sizeof text);
    ck_assert_msg (strstr (text, "classes      setosa,versicolor,virginica\n"), "%s", text);
    //  p = sigmoid(-0.5) = 0.378: benign at 0.5, malignant at 0.3.
    s_slurp ("c1.txt", text, sizeof text);
    ck_assert_msg (strncmp (text, "benign\t0.377541", 15) == 0, "%s", text);
    s_slurp ("c2.txt", text, sizeof text);
    ck_assert_msg (strncmp (text, "malignant\t0.377541", 18) == 0, "%s", text);
    s_slurp ("thr.txt", text, sizeof text);
    ck_assert_str_eq (text, "cancer@1: threshold 0.3\n");
    s_slurp ("cshow.json", text, sizeof text);
    ck_assert_msg (strstr (text, "\"threshold\":0.3,"), "%s", text);
    s_slurp ("thr.bad", text, sizeof text);
    ck_assert_msg (strstr (text, "iris@1 is not a binary model") && strstr (text, "rc=1"), "%s",
                   text);
    s_slurp ("out.bad", text, sizeof text);
    ck_assert_msg (strstr (text, "maas infer: --output: 'klass' is not one of probabilities|class")
                       && strstr (text, "rc=2"),
                   "%s", text);
    //  Still one version each: the threshold made none.
    uint64_t *versions;
    size_t count;
    ck_assert_int_eq (maas_registry_versions (fx.registry, "cancer", &versions, &count), 0);
    ck_assert_uint_eq (count, 1);
    free (versions);
    free (script);
    //  The block of docs/models.md's Signatures section, run as printed
    //  with maas on PATH, on the same files.
    char *doc = support_src_path ("docs/models.md"), *bin = support_build_path ("client");
    FILE *file = fopen (doc, "r");
    ck_assert_ptr_nonnull (file);
    char *md = calloc (1, 1 << 17);
    md[fread (md, 1, (1 << 17) - 1, file)] = 0;
    fclose (file);
    char *section = strstr (md, "\n## Signatures, pre- and post-processing\n");
    char *block = section ? strstr (section, "```sh\n") : NULL;
    char *end = block ? strstr (block + 6, "```") : NULL;
    ck_assert_msg (block && end, "docs/models.md has no sh block under Signatures");
    *end = 0;
    ck_assert (asprintf (&script, "cd %s && { %s} > doc.out 2> doc.err", fx.site.dir, block + 6)
               > 0);
    char redis_env[600], broker_env[600], path_env[600];
    snprintf (redis_env, sizeof redis_env, "MAAS_REDIS_URL=%s", support_redis_url (fx.site.redis));
    snprintf (broker_env, sizeof broker_env, "MAAS_BROKER_FRONTEND=%s", fx.site.front);
    snprintf (path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", bin);
    const char *doc_env[] = {redis_env, broker_env, path_env, NULL};
    s_sh (doc_env, 60000, true, script);
    s_slurp ("doc.out", text, sizeof text);
    ck_assert_msg (strstr (text, "classes      setosa,versicolor,virginica\n")
                       && strstr (text, "\nmalignant\t0.377541"),
                   "%s", text);
    free (md);
    free (doc);
    free (bin);
    free (script);
    free (maas);
    maas_predictor_destroy (&predictor);
    maas_model_destroy (&iris);
    maas_model_destroy (&cancer);
}
END_TEST

//  The iris features' names, in the models' input order.
static const char *const s_iris_columns[] = {"sepal_len", "sepal_wid", "petal_len", "petal_wid"};

//  A 4-8-3 model of weights SEED whose inputs are named s_iris_columns,
//  published as iris@1, and a worker to serve it; the caller's.
static maas_model_t *
s_iris_by_name (uint64_t seed)
{
    maas_model_t *model = s_model (4, 8, 3, seed);
    ck_assert_int_eq (maas_model_set_columns (model, s_iris_columns, 4), 0);
    s_publish ("iris", model);
    s_worker_start ("64", "64");
    return model;
}

//  `maas infer` matches a CSV header to the model's input names: columns
//  in reverse order give the same predictions, bit for bit; a column the
//  model needs and the file lacks, or one the header names twice, is an
//  error naming it.
START_TEST (test_cli_infer_columns_by_name)
{
    maas_model_t *model = s_iris_by_name (31);
    char *maas = support_build_path ("client/maas"), *script = NULL;
    ck_assert (
        asprintf (&script,
                  "cd %s && M=%s && B='--broker %s' &&"
                  " printf 'sepal_len,sepal_wid,petal_len,petal_wid\\n5.1,3.5,1.4,0.2\\n"
                  "6.7,3.0,5.2,2.3\\n' > in.csv &&"
                  " printf 'petal_wid,petal_len,sepal_wid,sepal_len\\n0.2,1.4,3.5,5.1\\n"
                  "2.3,5.2,3.0,6.7\\n' > rev.csv &&"
                  " printf 'sepal_len,sepal_wid,petal_len,x\\n5.1,3.5,1.4,0.2\\n' > miss.csv &&"
                  " $M infer iris --input in.csv --json $B | sed 's/.*\"rows\"://' > in.out &&"
                  " $M infer iris --input rev.csv --json $B | sed 's/.*\"rows\"://' > rev.out"
                  " && cmp in.out rev.out || exit 9;"
                  " $M infer iris --input miss.csv $B 2> miss.err; echo rc=$? >> miss.err;"
                  " printf 'sepal_len,sepal_len,sepal_wid,petal_len,petal_wid\\n"
                  "999,5.1,3.5,1.4,0.2\\n' > dup.csv &&"
                  " $M infer iris --input dup.csv $B > dup.out 2> dup.err; echo rc=$? >> dup.err",
                  fx.site.dir, maas, fx.site.front)
        > 0);
    s_sh_redis (script);
    char text[4096];
    s_slurp ("in.out", text, sizeof text);
    ck_assert_msg (strstr (text, "\"values\":["), "%s", text);
    s_slurp ("miss.err", text, sizeof text);
    ck_assert_msg (strstr (text, "no column 'petal_wid', which the model needs")
                       && strstr (text, "rc=1"),
                   "%s", text);
    //  A column named twice: refused, not one copy taken (no predictions).
    s_slurp ("dup.err", text, sizeof text);
    ck_assert_msg (strstr (text,
                           "dup.csv: the header names column 'sepal_len' twice (columns 1 "
                           "and 2)")
                       && strstr (text, "rc=1") && !strstr (text, "dropped columns"),
                   "%s", text);
    s_slurp ("dup.out", text, sizeof text);
    ck_assert_str_eq (text, "");
    free (script);
    free (maas);
    maas_model_destroy (&model);
}
END_TEST

//  -- latency

//  The queue_us a succeeded RESULT's header meta reports.
static int64_t
s_meta_queue_us (const maas_result_t *result)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t header, meta;
    maas_err_t err;
    int64_t queue_us = -1;
    ck_assert_msg (
        maas_proto_open_map (result->header, result->header_size, 0, "header", &msg, &header, &err)
                == 0
            && maas_codec_map_map (&header, "meta", &meta) == 0
            && maas_codec_map_int64 (&meta, "queue_us", &queue_us) == 0,
        "RESULT header without meta.queue_us");
    msgpack_unpacked_destroy (&msg);
    return queue_us;
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

//  A lone job waits for company as long as --batch-delay-us says, not the
//  whole milliseconds zmq_poll waits (it waited ~1090 µs for 500 µs). The
//  figure is the worker's own (RESULT meta queue_us); the median of 21
//  lone jobs, so one descheduling on a loaded machine does not decide.
#define S_DELAY_US 500
#define S_SLACK_US 250
START_TEST (test_lone_job_waits_the_batch_delay)
{
    maas_model_t *model = s_model (4, 8, 3, 5);
    s_publish ("lone", model);
    maas_model_destroy (&model);
    s_worker_start_delay ("64", "256", "500");
    float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit ("lone", 0, NULL, x, 1, 4, NULL, NULL, id);    //  loads the model
    maas_result_t *result = s_wait (id);
    maas_result_destroy (&result);
    int64_t queue[21];
    for (size_t i = 0; i < 21; i++) {
        s_submit ("lone", 0, NULL, x, 1, 4, NULL, NULL, id);
        result = s_wait (id);
        s_values (result, NULL, 3);
        queue[i] = s_meta_queue_us (result);
        maas_result_destroy (&result);
    }
    qsort (queue, 21, sizeof queue[0], s_cmp_i64);
    fprintf (stderr, "lone job queue_us: min %" PRId64 " median %" PRId64 " max %" PRId64 "\n",
             queue[0], queue[10], queue[20]);
    ck_assert_int_ge (queue[0], S_DELAY_US);
    ck_assert_int_lt (queue[10], S_DELAY_US + 100 + S_SLACK_US);
}
END_TEST

//  -- explain jobs

//  Submit an explain job for NAME over ROWS rows of X with PARAMS; its result.
static maas_result_t *
s_explain_job (const char *name, const maas_explain_params_t *params, const float *x, size_t rows,
               size_t cols)
{
    msgpack_sbuffer pbuf, rbuf;
    msgpack_sbuffer_init (&pbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &pbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_explain_params_pack (params, &pk), 0);
    msgpack_sbuffer_init (&rbuf);
    msgpack_packer_init (&pk, &rbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_codec_pack_rows (&pk, x, rows, cols), 0);
    maas_submit_t spec = {
        .kind = "explain", .model = name, .params = pbuf.data, .params_size = pbuf.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_msg (maas_client_submit (fx.client, &spec, rbuf.data, rbuf.size, NULL, NULL, id) == 0,
                   "%s", maas_client_error (fx.client));
    msgpack_sbuffer_destroy (&pbuf);
    msgpack_sbuffer_destroy (&rbuf);
    return s_wait (id);
}

//  An infer job for NAME that succeeds: the worker is up and has said
//  which kinds it runs (explain is not built into the broker).
static void
s_worker_ready (const char *name, size_t cols, size_t outputs)
{
    float x[64];
    char id[MAAS_PROTO_ID_MAX + 1];
    s_fill (x, cols, 1);
    s_submit (name, 0, NULL, x, 1, cols, NULL, NULL, id);
    maas_result_t *result = s_wait (id);
    s_values (result, NULL, outputs);
    maas_result_destroy (&result);
}

//  A worker answers explain jobs with what maas_explain_run computes here,
//  and fails ones whose params or model do not fit, as final failures.
START_TEST (test_explain_jobs)
{
    maas_model_t *model = s_model (4, 8, 3, 21), *wide = s_model (30, 8, 2, 22);
    s_publish ("iris", model);
    s_publish ("cancer", wide);
    s_worker_start ("64", "64");
    s_worker_ready ("iris", 4, 3);
    float x[8] = {5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f};
    maas_explain_params_t params = maas_explain_params_defaults ();
    for (int m = 0; m < MAAS_EXPLAIN_METHOD_COUNT; m++) {
        params.method = (maas_explain_method_t) m;
        maas_result_t *result = s_explain_job ("iris", &params, x, 2, 4);
        ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s: %s", result->status,
                       result->error ? result->error : "");
        maas_explain_result_t got, want;
        maas_err_t err;
        ck_assert_msg (maas_explain_result_parse (&got, result->data, result->size, &err) == 0,
                       "%s", err.text);
        ck_assert_int_eq (
            maas_explain_run (maas_model_mlp_const (model), &params, x, 2, &want, &err), 0);
        ck_assert_str_eq (got.model, "iris");
        ck_assert_uint_eq (got.version, 1);
        ck_assert_int_eq (got.method, m);
        ck_assert_uint_eq (got.outputs, 3);
        for (size_t k = 0; k < 2 * 4 * 3; k++)
            ck_assert_double_eq_tol (got.attributions[k], want.attributions[k], 1e-6);
        for (size_t k = 0; m != MAAS_EXPLAIN_GRADIENT_X_INPUT && k < 6; k++)
            ck_assert_float_lt (got.approximation_error[k], 1e-3f);
        maas_explain_result_clear (&got);
        maas_explain_result_clear (&want);
        maas_result_destroy (&result);
    }
    //  30 inputs are too many for exact Shapley; output 5 is not there.
    params.method = MAAS_EXPLAIN_SHAPLEY;
    float row[30];
    s_fill (row, 30, 2);
    maas_result_t *result = s_explain_job ("cancer", &params, row, 1, 30);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_ptr_nonnull (
        strstr (result->error, "model cancer@1: exact Shapley values need at most 14 inputs"));
    ck_assert (!maas_result_retryable (result));
    maas_result_destroy (&result);
    params = maas_explain_params_defaults ();
    params.output = 5;
    result = s_explain_job ("iris", &params, x, 1, 4);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_ptr_nonnull (
        strstr (result->error, "output 5 is out of range: the model has 3 outputs"));
    ck_assert (!maas_result_retryable (result));
    maas_result_destroy (&result);
    s_worker_ready ("iris", 4, 3);
    maas_model_destroy (&model);
    maas_model_destroy (&wide);
}
END_TEST

//  `maas explain`, as docs/models.md shows it, names the features by the
//  model's columns, prints the top K, and --json carries every attribution.
START_TEST (test_cli_explain)
{
    maas_model_t *model = s_iris_by_name (23);
    s_worker_ready ("iris", 4, 3);
    //  The example block of docs/models.md's Explanations, run as printed
    //  with maas on PATH.
    char *doc = support_src_path ("docs/models.md"), *script = NULL;
    FILE *file = fopen (doc, "r");
    ck_assert_ptr_nonnull (file);
    char *text = calloc (1, 1 << 16);
    text[fread (text, 1, (1 << 16) - 1, file)] = 0;
    fclose (file);
    char *section = strstr (text, "\n## Explanations\n");
    char *block = section ? strstr (section, "```sh\n") : NULL;
    char *end = block ? strstr (block + 6, "```") : NULL;
    ck_assert_msg (block && end, "docs/models.md has no sh block under Explanations");
    *end = 0;
    ck_assert (asprintf (&script, "cd %s && { %s} > out 2> err", fx.site.dir, block + 6) > 0);
    char *bin = support_build_path ("client"), redis_env[600], broker_env[600], path_env[600];
    snprintf (redis_env, sizeof redis_env, "MAAS_REDIS_URL=%s", support_redis_url (fx.site.redis));
    snprintf (broker_env, sizeof broker_env, "MAAS_BROKER_FRONTEND=%s", fx.site.front);
    snprintf (path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", bin);
    const char *env[] = {redis_env, broker_env, path_env, NULL};
    s_sh (env, 60000, true, script);
    //  What the worker computes, to compare with what was printed.
    float x[8] = {5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f};
    maas_explain_params_t params = maas_explain_params_defaults ();
    params.output = 1;
    maas_explain_result_t want;
    char path[512], line[128];
    maas_err_t err;
    ck_assert_int_eq (maas_explain_run (maas_model_mlp_const (model), &params, x, 2, &want, &err),
                      0);
    size_t best = 0;
    for (size_t i = 1; i < 4; i++)
        if (fabsf (want.attributions[i]) > fabsf (want.attributions[best]))
            best = i;
    snprintf (line, sizeof line, "  %-20s %+.6g\n", s_iris_columns[best],
              (double) want.attributions[best]);
    snprintf (path, sizeof path, "%s/out", fx.site.dir);
    ck_assert_msg (support_file_has (path, "row 1 output 1: f(x)="), "no header line in out");
    ck_assert_msg (support_file_has (path, line), "out lacks '%s'", line);
    ck_assert_msg (!support_file_has (path, "row 1 output 0"), "only output 1 was asked for");
    maas_explain_result_clear (&want);
    ck_assert (support_file_has (path, "{\"model\":\"iris\",\"version\":1,\"method\":\"shapley\""));
    ck_assert (support_file_has (path, "\"output\":2,"));
    ck_assert (support_file_has (path, "[\"petal_wid\","));
    //  No broker at the endpoint: said at once (it waited out --timeout-ms).
    free (script);
    ck_assert (asprintf (&script,
                         "cd %s && printf 'a,b,c,d\\n1,2,3,4\\n' > dead.csv && "
                         "! maas explain iris --input dead.csv --no-header "
                         "--broker ipc://%s/nobody.sock 2> dead-err.text",
                         fx.site.dir, fx.site.dir)
               > 0);
    s_sh (env, 10000, true, script);
    snprintf (path, sizeof path, "%s/dead-err.text", fx.site.dir);
    ck_assert_msg (support_file_has (path, "no broker answers at ipc://"), "dead broker not said");
    //  A job the worker fails: its reason, and exit code 1.
    free (script);
    ck_assert (asprintf (&script,
                         "cd %s && printf '5.1,3.5,1.4,0.2\\n' > row.csv && "
                         "maas explain iris --input row.csv --no-header --output 7 "
                         "2> failed-err.text || echo rc=$? >> failed-err.text",
                         fx.site.dir)
               > 0);
    s_sh (env, 30000, true, script);
    snprintf (path, sizeof path, "%s/failed-err.text", fx.site.dir);
    ck_assert_msg (support_file_has (path, "output 7 is out of range: the model has 3"),
                   "the job's failure not said (%s)", path);
    ck_assert (support_file_has (path, "maas explain: job ") && support_file_has (path, "rc=1"));
    free (script);
    free (text);
    free (doc);
    free (bin);
    maas_model_destroy (&model);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("worker");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 120);
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_predictions_bit_exact_unbatched);
    tcase_add_test (core, test_predictions_batched);
    tcase_add_test (core, test_cli_infer);
    tcase_add_test (core, test_cli_labels_top_k_threshold);
    tcase_add_test (core, test_cli_infer_columns_by_name);
    tcase_add_test (core, test_explain_jobs);
    tcase_add_test (core, test_cli_explain);
    tcase_add_test (core, test_jobs_go_where_the_model_is_cached);
    tcase_add_test (core, test_lone_job_waits_the_batch_delay);
    suite_add_tcase (suite, core);
    TCase *versions = tcase_create ("versions");
    tcase_set_timeout (versions, 120);
    tcase_add_checked_fixture (versions, s_setup, s_teardown);
    tcase_add_test (versions, test_alias_switch_while_streaming);
    tcase_add_test (versions, test_alias_names_the_version);
    suite_add_tcase (suite, versions);
    TCase *errors = tcase_create ("errors");
    tcase_set_timeout (errors, 120);
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_bad_input_fails_and_worker_serves_on);
    suite_add_tcase (suite, errors);
    TCase *beats = tcase_create ("heartbeats");
    tcase_set_timeout (beats, 120);
    tcase_add_checked_fixture (beats, s_setup, s_teardown);
    tcase_add_test (beats, test_heartbeats_flow_during_long_batches);
    suite_add_tcase (suite, beats);
    TCase *cache = tcase_create ("cache");
    tcase_set_timeout (cache, 120);
    tcase_add_checked_fixture (cache, s_setup, s_teardown);
    tcase_add_test (cache, test_cache_stays_within_its_bound);
    suite_add_tcase (suite, cache);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
