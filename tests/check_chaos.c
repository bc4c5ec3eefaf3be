/*  check_chaos.c: the reliability claims of docs/protocol.md under attack.
 *  A real stack (redis-server with its AOF, maas-broker, maas-worker ×2,
 *  maas-trainer) runs 30,000 tracked infer jobs with client-made ids and
 *  known answers plus 3 train jobs while the test kills the broker (twice),
 *  workers (10 times), the trainer mid-training (once) and restarts Redis
 *  (once). Then every job must have ended exactly once at the client with
 *  the fault-free answer, bit for bit, every Redis record must agree, and no
 *  train job may have published twice. Counts go to stderr as one JSON line.
 *
 *  Sizes: the full counts of issue 12, not scaled down. On this 2-core
 *  machine shared with other builds the load takes about 8 s (13 s with
 *  set-up); the case's timeout is 180 s.
 *  The broker runs with --max-attempts 10: 13 faults may hit one job more
 *  than the default 3 times, and a job failed for too many losses is the
 *  documented outcome then, not what this test is after. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C_JOBS    30000    //  infer jobs
#define C_ROWS    2        //  rows per infer job
#define C_COLS    8        //  features per row
#define C_OUTS    3        //  softmax outputs per row
#define C_WORKERS 2        //  maas-worker processes at any time
#define C_TRAINS  3        //  train jobs
#define C_WINDOW  256      //  client jobs in flight
#define C_SEED    12       //  drives inputs and which worker dies
#define C_LIMIT_S 170      //  the whole run, under the 180 s timeout

//  Faults during the infer load, in order, spread evenly over its jobs:
//  W a worker, B the broker, R Redis. The trainer dies apart (mid-training).
static const char s_faults[] = "WWBWWRWWBWWWW";

typedef struct {
    int outcomes;       //  outcomes the client delivered
    char status[16];    //  the last one's status
    bool right;         //  its values were the fault-free ones
} c_job_t;

typedef struct {
    support_redis_t *redis;                //  redis-server, appendonly yes
    char *dir;                             //  temp dir: endpoints and logs
    char front[256], back[256];            //  broker endpoints
    char log[256];                         //  every process's log
    support_proc_t *broker;                //  maas-broker, name "chaos"
    support_proc_t *workers[C_WORKERS];    //  maas-worker processes
    support_proc_t *trainer;               //  maas-trainer
    int serial;                            //  workers started so far (their names)
    maas_client_t *client;                 //  the test's client
    maas_mlp_t *mlp;                       //  the published network
    float *x;                              //  C_JOBS × C_ROWS × C_COLS inputs
    float *expected;                       //  C_JOBS × C_ROWS × C_OUTS fault-free outputs
    uint8_t *payload;                      //  x as little-endian bytes
    c_job_t *jobs;                         //  what the client saw, per infer job
    int *retry;                            //  infer jobs REJECTED, to submit again
    size_t retries;                        //  how many are in RETRY
    int finished;                          //  infer jobs ended (not counting rejections)
    char train_ids[C_TRAINS][32];          //  train job ids
    c_job_t trains[C_TRAINS];              //  what the client saw, per train job
    char train_errors[C_TRAINS][256];      //  their errors, "" if none
    int broker_kills, worker_kills, trainer_kills, redis_restarts, resubmits;
    maas_rng_t rng;         //  picks the worker to kill
    int victim;             //  the train job running when the trainer died
    char rejection[256];    //  the first REJECTED's error, "" if none
} fx_t;

static fx_t fx;
static maas_err_t s_err;

static void
s_broker_start (void)
{
    const char *extra[] = {"--name",        "chaos", "--heartbeat",    "100", "--liveness", "5",
                           "--redis-retry", "100",   "--max-attempts", "10",  NULL};
    fx.broker =
        support_broker_start (fx.front, fx.back, support_redis_url (fx.redis), extra, fx.log);
}

static void
s_worker_start (int slot)
{
    char name[32];
    snprintf (name, sizeof name, "w%d", ++fx.serial);
    const char *extra[] = {"--name", name, "--heartbeat", "100", NULL};
    fx.workers[slot] = support_worker_start (fx.back, support_redis_url (fx.redis), extra, fx.log);
}

static void
s_trainer_start (void)
{
    const char *extra[] = {"--name", "trainer", "--heartbeat", "100", "--liveness", "5", NULL};
    fx.trainer = support_trainer_start (fx.back, support_redis_url (fx.redis), extra, fx.log);
}

//  SIGKILL the process in *PROC_P and reap it.
static void
s_kill (support_proc_t **proc_p)
{
    support_proc_signal (*proc_p, SIGKILL);
    support_proc_wait (*proc_p, 5000);
    support_proc_stop (proc_p);
}

static void
s_publish (const char *name, const maas_mlp_t *mlp)
{
    maas_mlp_t *copy = maas_mlp_dup (mlp);
    maas_model_t *model = maas_model_new (&copy);
    maas_registry_t *registry = support_registry_new (fx.redis);
    ck_assert_int_eq (support_publish_model (registry, name, model), 1);
    maas_registry_destroy (&registry);
    maas_model_destroy (&model);
}

//  The network, its inputs and, computed here, the outputs every job must get.
static void
s_make_answers (void)
{
    maas_layer_spec_t layers[] = {{16, MAAS_ACT_RELU}, {C_OUTS, MAAS_ACT_SOFTMAX}};
    fx.mlp = maas_mlp_new (C_COLS, layers, 2);
    maas_mlp_init (fx.mlp, 5);
    size_t n = (size_t) C_JOBS * C_ROWS;
    fx.x = malloc (n * C_COLS * sizeof (float));
    fx.expected = malloc (n * C_OUTS * sizeof (float));
    fx.payload = malloc (n * C_COLS * 4);
    ck_assert (fx.x && fx.expected && fx.payload);
    for (size_t i = 0; i < n * C_COLS; i++)
        fx.x[i] = (float) maas_rng_normal (&fx.rng);
    maas_codec_f32_to_le (fx.payload, fx.x, n * C_COLS);
    maas_blas_set_threads (1);    //  as the workers run: same bits in any batch
    maas_predictor_t *predictor = maas_predictor_new (fx.mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, fx.x, n, fx.expected), 0);
    maas_predictor_destroy (&predictor);
}

static void
s_put_digits (void)
{
    maas_dataset_store_t *store =
        maas_dataset_store_new (support_redis_url (fx.redis), NULL, &s_err);
    char *path = support_src_path ("data/digits_train.csv");
    maas_dataset_t *dataset = maas_dataset_from_csv (path, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (store && dataset, "%s", s_err.text);
    ck_assert_int_eq (maas_dataset_store_put (store, "digits", dataset), 0);
    maas_dataset_destroy (&dataset);
    maas_dataset_store_destroy (&store);
    free (path);
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    memset (&fx, 0, sizeof fx);
    maas_rng_seed (&fx.rng, C_SEED);
    fx.redis = support_redis_start_aof ();    //  appendfsync: Redis's default, everysec
    fx.dir = support_tempdir_new ("chaos");
    snprintf (fx.front, sizeof fx.front, "ipc://%s/front", fx.dir);
    snprintf (fx.back, sizeof fx.back, "ipc://%s/back", fx.dir);
    snprintf (fx.log, sizeof fx.log, "%s/processes.log", fx.dir);
    s_make_answers ();
    s_publish ("chaos", fx.mlp);
    s_put_digits ();
    s_broker_start ();
    for (int i = 0; i < C_WORKERS; i++)
        s_worker_start (i);
    s_trainer_start ();
    fx.jobs = calloc (C_JOBS, sizeof *fx.jobs);
    fx.retry = calloc (C_JOBS, sizeof *fx.retry);
    fx.client = maas_client_new (fx.front, NULL);
    ck_assert (fx.jobs && fx.retry && fx.client);
    maas_client_set_retry (fx.client, 500);
    maas_client_set_window (fx.client, C_WINDOW);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
}

static void
s_teardown (void)
{
    maas_client_destroy (&fx.client);
    for (int i = 0; i < C_WORKERS; i++)
        support_proc_stop (&fx.workers[i]);
    support_proc_stop (&fx.trainer);
    support_proc_stop (&fx.broker);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
    maas_mlp_destroy (&fx.mlp);
    free (fx.x);
    free (fx.expected);
    free (fx.payload);
    free (fx.jobs);
    free (fx.retry);
}

//  true if the infer result payload DATA holds job JOB's fault-free values.
static bool
s_values_right (const void *data, size_t size, int job)
{
    maas_infer_result_t parsed;
    memset (&parsed, 0, sizeof parsed);
    bool ok = maas_infer_result_parse (&parsed, data, size, &s_err) == 0 && parsed.rows == C_ROWS
        && parsed.outputs == C_OUTS
        //  Bitwise: memcmp, not ==, so even a NaN or -0 would differ.
        && memcmp (parsed.values, fx.expected + (size_t) job * C_ROWS * C_OUTS,
                   C_ROWS * C_OUTS * sizeof (float))
            == 0;
    maas_infer_result_clear (&parsed);
    return ok;
}

static void
s_on_infer (const maas_result_t *result, void *arg)
{
    int job = (int) (intptr_t) arg;
    if (strcmp (result->status, "rejected") == 0) {
        fx.retry[fx.retries++] = job;    //  not accepted: the same id again is safe
        if (!*fx.rejection)
            snprintf (fx.rejection, sizeof fx.rejection, "%s", result->error ? result->error : "");
        return;
    }
    c_job_t *seen = &fx.jobs[job];
    seen->outcomes++;
    snprintf (seen->status, sizeof seen->status, "%s", result->status);
    seen->right = strcmp (result->status, "succeeded") == 0
        && s_values_right (result->data, result->size, job);
    fx.finished++;
}

static void
s_submit_infer (int job, const msgpack_sbuffer *params)
{
    char id[32];
    snprintf (id, sizeof id, "chaos-%05d", job);
    maas_submit_t spec = {.id = id,
                          .kind = "infer",
                          .model = "chaos",
                          .version = 1,
                          .params = params->data,
                          .params_size = params->size};
    size_t bytes = C_ROWS * C_COLS * 4;
    ck_assert_msg (maas_client_submit (fx.client, &spec, fx.payload + (size_t) job * bytes, bytes,
                                       s_on_infer, (void *) (intptr_t) job, NULL)
                       == 0,
                   "%s", maas_client_error (fx.client));
}

//  The model version a train job's result payload names; 0 if none.
static uint64_t
s_trained_version (const void *data, size_t size)
{
    maas_training_result_t parsed;
    if (maas_training_result_parse (&parsed, data, size, &s_err) != 0)
        return 0;
    return parsed.version;
}

static void
s_on_train (const maas_result_t *result, void *arg)
{
    c_job_t *seen = arg;
    if (strcmp (result->status, "rejected") == 0)
        ck_abort_msg ("train job %s rejected: %s", result->id, result->error);
    seen->outcomes++;
    snprintf (seen->status, sizeof seen->status, "%s", result->status);
    snprintf (fx.train_errors[seen - fx.trains], sizeof fx.train_errors[0], "%s",
              result->error ? result->error : "");
    //  Each job publishes its own model: version 1, whichever run answered.
    seen->right = strcmp (result->status, "succeeded") == 0
        && s_trained_version (result->data, result->size) == 1;
}

//  Three train jobs of one spec and seed, each publishing its own model.
static void
s_submit_trains (void)
{
    for (int i = 0; i < C_TRAINS; i++) {
        maas_training_t spec;
        maas_training_init (&spec);
        snprintf (spec.model, sizeof spec.model, "chaos-train-%d", i);
        snprintf (spec.dataset, sizeof spec.dataset, "digits");
        ck_assert_int_eq (maas_training_parse_layers (&spec, "64:relu,10:softmax", &s_err), 0);
        spec.train.loss = MAAS_LOSS_SOFTMAX_CE;
        spec.train.epochs = 120;    //  about 1-2 s each: time to be caught mid-training
        spec.train.batch_size = 16;
        spec.train.seed = 7;
        msgpack_sbuffer params;
        msgpack_sbuffer_init (&params);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
        ck_assert_int_eq (maas_training_pack (&spec, &pk), 0);
        snprintf (fx.train_ids[i], sizeof fx.train_ids[i], "chaos-train-%d", i);
        maas_submit_t submit = {.id = fx.train_ids[i],
                                .kind = "train",
                                .model = spec.model,
                                .params = params.data,
                                .params_size = params.size};
        ck_assert_int_eq (
            maas_client_submit (fx.client, &submit, NULL, 0, s_on_train, &fx.trains[i], NULL), 0);
        msgpack_sbuffer_destroy (&params);
    }
}

//  A new connection to the test's Redis; NULL while it is down.
static redisContext *
s_redis (void)
{
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.redis));
    if (ctx && ctx->err)
        redisFree (ctx), ctx = NULL;
    return ctx;
}

//  FIELD of job ID into OUT ("" if absent or Redis is down).
static void
s_job_field (const char *id, const char *field, char *out, size_t size)
{
    redisContext *ctx = s_redis ();
    redisReply *reply = ctx ? redisCommand (ctx, "HGET maas:job:%s %s", id, field) : NULL;
    snprintf (out, size, "%s", reply && reply->type == REDIS_REPLY_STRING ? reply->str : "");
    if (reply)
        freeReplyObject (reply);
    if (ctx)
        redisFree (ctx);
}

//  Kill the trainer once, while it is training (a train job's record says
//  running with some progress below 0.9), and start it again.
static void
s_maybe_kill_trainer (void)
{
    for (int i = 0; i < C_TRAINS && !fx.trainer_kills; i++) {
        char status[32], progress[32];
        s_job_field (fx.train_ids[i], "status", status, sizeof status);
        s_job_field (fx.train_ids[i], "progress", progress, sizeof progress);
        if (strcmp (status, "running") != 0 || !*progress || atof (progress) >= 0.9)
            continue;
        s_kill (&fx.trainer);
        s_trainer_start ();
        fx.trainer_kills++;
        fx.victim = i;
    }
}

static void
s_fault (char kind)
{
    if (kind == 'W') {
        int slot = (int) maas_rng_below (&fx.rng, C_WORKERS);
        s_kill (&fx.workers[slot]);
        s_worker_start (slot);
        fx.worker_kills++;
    }
    else if (kind == 'B') {
        s_kill (&fx.broker);
        s_broker_start ();
        fx.broker_kills++;
    }
    else {
        support_redis_bounce (fx.redis);    //  SIGTERM, then again with its AOF
        fx.redis_restarts++;
    }
}

//  The next fault of s_faults once enough jobs have ended, and the trainer's.
static void
s_maybe_fault (size_t *next_fault)
{
    size_t faults = sizeof s_faults - 1;
    if (*next_fault < faults && fx.finished >= (int) ((*next_fault + 1) * C_JOBS / (faults + 1)))
        s_fault (s_faults[(*next_fault)++]);
    s_maybe_kill_trainer ();
}

static double
s_now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
s_trains_done (void)
{
    int done = 0;
    for (int i = 0; i < C_TRAINS; i++)
        done += fx.trains[i].outcomes > 0;
    return done;
}

//  Submit every infer job (again when rejected) while the faults happen,
//  until every job and train job has ended.
static void
s_run_load (double started)
{
    msgpack_sbuffer params;
    ck_assert_int_eq (maas_infer_params_pack (&params, C_ROWS, C_COLS), 0);
    size_t next_fault = 0;
    int next_job = 0;
    double last_check = 0;
    while (fx.finished < C_JOBS || s_trains_done () < C_TRAINS || !fx.trainer_kills) {
        if (fx.retries) {
            s_submit_infer (fx.retry[--fx.retries], &params);
            fx.resubmits++;
        }
        else if (next_job < C_JOBS)
            s_submit_infer (next_job++, &params);
        else
            maas_client_poll (fx.client, 20);
        ck_assert_msg (fx.trainer_kills || s_trains_done () < C_TRAINS,
                       "the train jobs ended before the trainer could be killed mid-training");
        double now = s_now_s ();
        if (now - last_check >= 0.05) {    //  Redis reads for the trainer: 20 a second
            s_maybe_fault (&next_fault);
            last_check = now;
        }
        ck_assert_msg (now - started < C_LIMIT_S,
                       "after %.0f s: %d of %d infer jobs, %d of %d train jobs ended",
                       now - started, fx.finished, C_JOBS, s_trains_done (), C_TRAINS);
    }
    ck_assert_uint_eq (next_fault, sizeof s_faults - 1);
    msgpack_sbuffer_destroy (&params);
}

//  Every infer job ended once, succeeded, with its fault-free values.
static void
s_check_client (void)
{
    for (int i = 0; i < C_JOBS; i++) {
        const c_job_t *seen = &fx.jobs[i];
        ck_assert_msg (seen->outcomes == 1 && seen->right,
                       "job chaos-%05d: %d outcomes, last %s, values %s", i, seen->outcomes,
                       seen->status, seen->right ? "right" : "wrong");
    }
    for (int i = 0; i < C_TRAINS; i++)
        ck_assert_msg (fx.trains[i].outcomes == 1 && fx.trains[i].right,
                       "train job %s: %d outcomes, last %s (%s)", fx.train_ids[i],
                       fx.trains[i].outcomes, fx.trains[i].status, fx.train_errors[i]);
}

//  Wait until nothing is pending in Redis (the broker's last writes land a
//  moment after the client has the results), up to 10 s.
static void
s_wait_pending_empty (redisContext *ctx)
{
    long long pending = -1;
    for (int i = 0; i < 200 && pending != 0; i++) {
        redisReply *reply = redisCommand (ctx, "ZCARD maas:pending");
        ck_assert (reply && reply->type == REDIS_REPLY_INTEGER);
        pending = reply->integer;
        freeReplyObject (reply);
        if (pending)
            maas_client_poll (fx.client, 50);
    }
    ck_assert_msg (pending == 0, "%lld jobs still pending in Redis", pending);
}

//  Every infer job's record: succeeded, with the values the client got;
//  returns the attempts beyond the first, summed (dispatches again).
static long
s_check_records (redisContext *ctx)
{
    long again = 0;
    for (int i = 0; i < C_JOBS; i++)
        redisAppendCommand (ctx, "HMGET maas:job:chaos-%05d status result attempts", i);
    for (int i = 0; i < C_JOBS; i++) {
        redisReply *reply;
        ck_assert_int_eq (redisGetReply (ctx, (void **) &reply), REDIS_OK);
        ck_assert (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3);
        redisReply *status = reply->element[0], *result = reply->element[1];
        ck_assert_msg (status->type == REDIS_REPLY_STRING && strcmp (status->str, "succeeded") == 0,
                       "record of chaos-%05d: status %s", i,
                       status->type == REDIS_REPLY_STRING ? status->str : "(none)");
        ck_assert_msg (result->type == REDIS_REPLY_STRING
                           && s_values_right (result->str, result->len, i),
                       "record of chaos-%05d: result differs from the client's", i);
        if (reply->element[2]->type == REDIS_REPLY_STRING)
            again += atol (reply->element[2]->str) - 1;
        freeReplyObject (reply);
    }
    return again;
}

//  The parameters' sha256 of MODEL_NAME@1 into SHA; fails the test if
//  MODEL_NAME has any other version than 1.
static void
s_only_version_sha (maas_registry_t *registry, const char *model_name,
                    char sha[MAAS_SHA256_HEX_SIZE])
{
    uint64_t *versions = NULL;
    size_t count = 0;
    ck_assert_int_eq (maas_registry_versions (registry, model_name, &versions, &count), 0);
    ck_assert_msg (count == 1 && versions[0] == 1, "%s has %zu versions", model_name, count);
    free (versions);
    uint8_t *blob = NULL;
    size_t size = 0;
    ck_assert_int_eq (maas_registry_fetch (registry, model_name, 1, &blob, &size, NULL), 0);
    maas_model_t *model = maas_model_decode (blob, size, NULL);
    ck_assert (model);
    maas_model_sha256 (model, sha);
    maas_model_destroy (&model);
    free (blob);
}

//  Each train job: one version of its model (never published twice), its
//  record succeeded naming that version as the client saw, and the same
//  weights from all three (one spec, one seed), killed or not.
static void
s_check_trains (redisContext *ctx)
{
    maas_registry_t *registry = support_registry_new (fx.redis);
    char first[MAAS_SHA256_HEX_SIZE] = "", sha[MAAS_SHA256_HEX_SIZE], status[32];
    for (int i = 0; i < C_TRAINS; i++) {
        s_only_version_sha (registry, fx.train_ids[i], sha);    //  model name = job id
        ck_assert_msg (!*first || strcmp (sha, first) == 0, "%s trained other weights",
                       fx.train_ids[i]);
        snprintf (first, sizeof first, "%s", sha);
        s_job_field (fx.train_ids[i], "status", status, sizeof status);
        ck_assert_str_eq (status, "succeeded");
        redisReply *result = redisCommand (ctx, "HGET maas:job:%s result", fx.train_ids[i]);
        ck_assert (result && result->type == REDIS_REPLY_STRING);
        ck_assert_uint_eq (s_trained_version (result->str, result->len), 1);
        freeReplyObject (result);
    }
    maas_registry_destroy (&registry);
    char attempts[16];    //  the trainer's death cost its job a run
    s_job_field (fx.train_ids[fx.victim], "attempts", attempts, sizeof attempts);
    ck_assert_msg (atoi (attempts) >= 2, "train job %s: attempts '%s'", fx.train_ids[fx.victim],
                   attempts);
}

START_TEST (test_jobs_survive_every_fault)
{
    double started = s_now_s ();
    s_submit_trains ();
    s_run_load (started);
    double load_s = s_now_s () - started;
    s_check_client ();
    redisContext *ctx = s_redis ();
    ck_assert (ctx);
    s_wait_pending_empty (ctx);
    long again = s_check_records (ctx);
    s_check_trains (ctx);
    redisFree (ctx);
    for (char *c = fx.rejection; *c; c++)
        *c = *c == '"' || *c == '\\' ? '\'' : *c;    //  no quote ends the JSON string
    fprintf (stderr,
             "{\"suite\":\"chaos\",\"jobs\":%d,\"train_jobs\":%d,\"broker_kills\":%d,"
             "\"worker_kills\":%d,\"trainer_kills\":%d,\"redis_restarts\":%d,"
             "\"resubmits\":%d,\"first_rejection\":\"%s\",\"redispatches\":%ld,"
             "\"seconds\":%.1f}\n",
             C_JOBS, C_TRAINS, fx.broker_kills, fx.worker_kills, fx.trainer_kills,
             fx.redis_restarts, fx.resubmits, fx.rejection, again, load_s);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("chaos");
    TCase *faults = tcase_create ("faults");
    tcase_add_checked_fixture (faults, s_setup, s_teardown);
    tcase_set_timeout (faults, 180);
    tcase_add_test (faults, test_jobs_survive_every_fault);
    suite_add_tcase (suite, faults);
    return support_run (suite);
}
