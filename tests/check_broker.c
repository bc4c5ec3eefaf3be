/*  check_broker.c: maas-broker as a process, with a real redis-server and
 *  test workers (maas-test-worker, on the libmaas worker API); the test
 *  itself is the client (libmaas client API) or a raw ZeroMQ socket. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    support_redis_t *redis;        //  private redis-server
    char *dir;                     //  temp dir: endpoints and logs
    char front[256];               //  broker frontend endpoint
    char back[256];                //  broker backend endpoint
    char log[256];                 //  broker log file
    char jobs_log[256];            //  workers' finished-jobs log
    support_proc_t *broker;        //  the broker process
    support_proc_t *workers[4];    //  test workers
    maas_client_t *client;         //  the test's client
} fx_t;

static fx_t fx;

static void
s_broker_start (const char *extra1, const char *extra2)
{
    //  warn: some tests read the log, whatever $MAAS_LOG_LEVEL
    const char *extra[] = {"--heartbeat",   "100",  "--liveness",  "3",
                           "--redis-retry", "100",  "--log-level", "warn",
                           extra1,          extra2, NULL};
    fx.broker =
        support_broker_start (fx.front, fx.back, support_redis_url (fx.redis), extra, fx.log);
}

static void
s_broker_kill (int sig)
{
    support_proc_signal (fx.broker, sig);
    support_proc_wait (fx.broker, 5000);
    support_proc_stop (&fx.broker);
}

//  Stop the fixture's broker, start it again with EXTRA1 and EXTRA2 (either
//  may be NULL) and wait until it answers the client.
static void
s_broker_restart (const char *extra1, const char *extra2)
{
    support_proc_stop (&fx.broker);
    s_broker_start (extra1, extra2);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
}

//  A test worker; MODELS ("iris@3") are announced as cached, or NULL.
static support_proc_t *
s_worker_start_models (const char *name, const char *kinds, int credits, const char *models)
{
    char *path = support_build_path ("tests/maas-test-worker");
    char credits_text[16];
    snprintf (credits_text, sizeof credits_text, "%d", credits);
    const char *argv[] = {path,   "--endpoint", fx.back,      "--kinds",
                          kinds,  "--credits",  credits_text, "--name",
                          name,   "--log",      fx.jobs_log,  models ? "--models" : NULL,
                          models, NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, fx.log);
    free (path);
    for (int i = 0; i < 4; i++)
        if (!fx.workers[i]) {
            fx.workers[i] = proc;
            break;
        }
    return proc;
}

static support_proc_t *
s_worker_start (const char *name, const char *kinds, int credits)
{
    return s_worker_start_models (name, kinds, credits, NULL);
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    fx.redis = support_redis_start ();
    fx.dir = support_tempdir_new ("broker");
    snprintf (fx.front, sizeof fx.front, "ipc://%s/front", fx.dir);
    snprintf (fx.back, sizeof fx.back, "ipc://%s/back", fx.dir);
    snprintf (fx.log, sizeof fx.log, "%s/broker.log", fx.dir);
    snprintf (fx.jobs_log, sizeof fx.jobs_log, "%s/jobs.log", fx.dir);
    s_broker_start (NULL, NULL);
    fx.client = maas_client_new (fx.front, NULL);
    ck_assert_ptr_nonnull (fx.client);
    maas_client_set_retry (fx.client, 300);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
}

static void
s_teardown (void)
{
    maas_client_destroy (&fx.client);
    for (int i = 0; i < 4; i++)
        support_proc_stop (&fx.workers[i]);
    support_proc_stop (&fx.broker);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
}

//  Submit a job and wait for its result (the caller destroys it).
static maas_result_t *
s_run (const maas_submit_t *spec, const char *payload, int timeout_ms)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (
        maas_client_submit (fx.client, spec, payload, strlen (payload), NULL, NULL, id), 0);
    maas_result_t *result = maas_client_wait (fx.client, id, timeout_ms);
    ck_assert_msg (result, "no result for %s: %s", id, maas_client_error (fx.client));
    return result;
}

//  s_run once a worker has announced SPEC's kind (until then a SUBMIT is
//  rejected unknown_kind).
static maas_result_t *
s_run_announced (const maas_submit_t *spec, const char *payload, int timeout_ms)
{
    maas_result_t *result = s_run (spec, payload, timeout_ms);
    for (int i = 0; i < 100 && strcmp (result->status, "rejected") == 0
         && strstr (result->error, "no worker has announced");
         i++) {
        maas_result_destroy (&result);
        maas_client_poll (fx.client, 50);
        result = s_run (spec, payload, timeout_ms);
    }
    return result;
}

static bool
s_result_is (const maas_result_t *result, const char *status, const char *data_prefix)
{
    return strcmp (result->status, status) == 0
        && (!data_prefix
            || (result->size >= strlen (data_prefix)
                && memcmp (result->data, data_prefix, strlen (data_prefix)) == 0));
}

static redisContext *
s_redis (void)
{
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.redis));
    ck_assert (ctx && !ctx->err);
    return ctx;
}

//  Wait (polling the client meanwhile) until FIELD of job ID reads WANT
//  (a field written without a RESULT to follow it, such as progress, may
//  land a moment later). Fails the test after 3 s.
static void
s_field_becomes (const char *id, const char *field, const char *want)
{
    redisContext *ctx = s_redis ();
    char got[64] = "";
    for (int i = 0; i < 150 && strcmp (got, want) != 0; i++) {
        redisReply *reply = redisCommand (ctx, "HGET maas:job:%s %s", id, field);
        snprintf (got, sizeof got, "%s", reply->type == REDIS_REPLY_STRING ? reply->str : "");
        freeReplyObject (reply);
        if (strcmp (got, want) != 0)
            maas_client_poll (fx.client, 20);
    }
    redisFree (ctx);
    ck_assert_msg (strcmp (got, want) == 0, "job %s: %s '%s', not '%s'", id, field, got, want);
}

//  Run SPEC with PAYLOAD until it succeeds (Redis coming back takes the
//  broker a moment); fails the test after 50 tries.
static void
s_run_until_succeeded (const maas_submit_t *spec, const char *payload)
{
    bool succeeded = false;
    for (int i = 0; i < 50 && !succeeded; i++) {
        maas_result_t *result = s_run (spec, payload, 5000);
        succeeded = strcmp (result->status, "succeeded") == 0;
        maas_result_destroy (&result);
        if (!succeeded)
            maas_client_poll (fx.client, 100);
    }
    ck_assert_msg (succeeded, "job %s never succeeded", spec->id ? spec->id : "(new)");
}

//  Fail the test if Redis holds a status hash for job ID.
static void
s_assert_no_record (const char *id)
{
    redisContext *ctx = s_redis ();
    redisReply *reply = redisCommand (ctx, "EXISTS maas:job:%s", id);
    ck_assert_msg (reply->integer == 0, "job %s has a record in Redis", id);
    freeReplyObject (reply);
    redisFree (ctx);
}

static void
s_status_becomes (const char *id, const char *want)
{
    s_field_becomes (id, "status", want);
}

//  Lines of the workers' job log that mention ID.
static int
s_runs_of (const char *id)
{
    FILE *log = fopen (fx.jobs_log, "r");
    int runs = 0;
    char line[256];
    while (log && fgets (line, sizeof line, log))
        runs += strncmp (line, id, strlen (id)) == 0 && line[strlen (id)] == ' ';
    if (log)
        fclose (log);
    return runs;
}

START_TEST (test_echo_and_redis_record)
{
    s_worker_start ("w1", "infer", 4);
    maas_submit_t spec = {.kind = "infer", .id = "job-echo-1", .model = "iris", .version = 3};
    maas_result_t *result = s_run (&spec, "hello", 5000);
    ck_assert_msg (s_result_is (result, "succeeded", "w1:held=1:hello"), "got %s %.*s",
                   result->status, (int) result->size, (char *) result->data);
    maas_result_destroy (&result);
    s_status_becomes ("job-echo-1", "succeeded");
    redisContext *ctx = s_redis ();
    redisReply *reply = redisCommand (ctx, "HGET maas:job:job-echo-1 result");
    ck_assert_int_eq (reply->len, 15);
    freeReplyObject (reply);
    reply = redisCommand (ctx, "HSTRLEN maas:job:job-echo-1 payload");
    ck_assert_int_eq (reply->integer, 0);    //  the input is not kept once final
    freeReplyObject (reply);
    reply = redisCommand (ctx, "PTTL maas:job:job-echo-1");
    ck_assert_int_gt (reply->integer, 0);
    freeReplyObject (reply);
    reply = redisCommand (ctx, "ZCARD maas:pending");
    ck_assert_int_eq (reply->integer, 0);
    freeReplyObject (reply);
    reply = redisCommand (ctx, "XLEN maas:events");
    ck_assert_int_eq (reply->integer, 2);    //  queued, succeeded (in different turns)
    freeReplyObject (reply);
    redisFree (ctx);
}
END_TEST

START_TEST (test_prefers_worker_with_model_cached)
{
    s_worker_start ("plain", "infer,probe-plain",
                    8);    //  more free credit: wins without the cache
    s_worker_start_models ("cached", "infer,probe-cached", 4, "digits@1,iris@3");
    const char *probes[2] = {"probe-plain", "probe-cached"};
    for (int i = 0; i < 2; i++) {    //  a job each only it can run: both announced
        maas_submit_t probe = {.kind = probes[i]};
        maas_result_t *result = s_run_announced (&probe, "x", 5000);
        ck_assert_str_eq (result->status, "succeeded");
        maas_result_destroy (&result);
    }
    for (int i = 0; i < 6; i++) {
        maas_submit_t spec = {.kind = "infer", .model = "iris", .version = 3};
        maas_result_t *result = s_run (&spec, "x", 5000);
        ck_assert_msg (s_result_is (result, "succeeded", "cached:"), "ran on %.*s",
                       (int) result->size, (char *) result->data);
        maas_result_destroy (&result);
    }
    //  Without a cached model, the worker with the most free credit runs it.
    maas_submit_t spec = {.kind = "infer", .model = "other", .version = 1};
    maas_result_t *result = s_run (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
}
END_TEST

START_TEST (test_broker_without_status)
{
    support_proc_stop (&fx.broker);
    s_broker_start ("--no-status", NULL);
    s_worker_start ("w14", "infer", 1);
    maas_submit_t spec = {.kind = "infer", .id = "no-status-1"};
    maas_result_t *result = s_run (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    s_assert_no_record ("no-status-1");
}
END_TEST

//  Two brokers sharing one Redis, a client and workers connected to both:
//  jobs spread over both brokers and all complete.
START_TEST (test_two_brokers)
{
    char front2[300], back2[300], name2[] = "broker-2";
    snprintf (front2, sizeof front2, "ipc://%s/front2", fx.dir);
    snprintf (back2, sizeof back2, "ipc://%s/back2", fx.dir);
    const char *extra[] = {"--name", name2, "--heartbeat", "100", NULL};
    support_proc_t *second =
        support_broker_start (front2, back2, support_redis_url (fx.redis), extra, fx.log);
    maas_client_t *probe = maas_client_new (front2, NULL);
    ck_assert_int_eq (maas_client_ping (probe, 5000), 0);    //  bound and serving
    maas_client_destroy (&probe);
    char *worker = support_build_path ("tests/maas-test-worker"), both_back[700], both_front[700];
    snprintf (both_back, sizeof both_back, "%s,%s", fx.back, back2);
    snprintf (both_front, sizeof both_front, "%s,%s", fx.front, front2);
    const char *wargv[] = {worker, "--endpoint", both_back, "--credits",
                           "2",    "--name",     "dual",    NULL};
    fx.workers[0] = support_proc_start (wargv, NULL, fx.log);
    free (worker);
    maas_client_t *client = maas_client_new (both_front, NULL);
    ck_assert_ptr_nonnull (client);
    maas_client_poll (client, 300);
    char ids[10][MAAS_PROTO_ID_MAX + 1];
    for (int i = 0; i < 10; i++) {
        maas_submit_t spec = {.kind = "infer"};
        ck_assert_int_eq (maas_client_submit (client, &spec, "x", 1, NULL, NULL, ids[i]), 0);
    }
    int names[2] = {0, 0};
    redisContext *ctx = s_redis ();
    for (int i = 0; i < 10; i++) {
        maas_result_t *result = maas_client_wait (client, ids[i], 5000);
        ck_assert_ptr_nonnull (result);
        ck_assert_str_eq (result->status, "succeeded");
        maas_result_destroy (&result);
        redisReply *reply = redisCommand (ctx, "HGET maas:job:%s broker", ids[i]);
        ck_assert (reply->type == REDIS_REPLY_STRING);
        names[strcmp (reply->str, name2) == 0]++;
        freeReplyObject (reply);
    }
    redisFree (ctx);
    ck_assert_int_gt (names[0], 0);
    ck_assert_int_gt (names[1], 0);
    maas_client_destroy (&client);
    support_proc_stop (&second);
}
END_TEST

START_TEST (test_params_reach_the_worker)
{
    s_worker_start ("w16", "infer", 1);
    const char params[] = "\x81\xa5reply\xa4pong";    //  {"reply": "pong"}
    maas_submit_t spec = {.kind = "infer", .params = params, .params_size = sizeof params - 1};
    maas_result_t *result = s_run (&spec, "ping", 5000);
    ck_assert (s_result_is (result, "succeeded", "pong"));
    ck_assert_uint_eq (result->size, 4);
    maas_result_destroy (&result);
}
END_TEST

//  What the progress test saw: each report, and how many came before the result.
typedef struct {
    double progress[8];
    char message[8][32];
    int reports;
    int reports_before_result;
    bool finished;
} progress_seen_t;

static void
s_on_progress (const char *id, double progress, const char *message, void *arg)
{
    progress_seen_t *seen = arg;
    if (strcmp (id, "job-progress-1") == 0 && seen->reports < 8) {
        seen->progress[seen->reports] = progress;
        snprintf (seen->message[seen->reports], sizeof seen->message[0], "%s", message);
        seen->reports++;
    }
}

static void
s_on_progress_result (const maas_result_t *result, void *arg)
{
    progress_seen_t *seen = arg;
    seen->finished = strcmp (result->status, "succeeded") == 0;
    seen->reports_before_result = seen->reports;
}

START_TEST (test_progress_reaches_client)
{
    s_worker_start ("w17", "infer", 1);
    progress_seen_t seen = {0};
    maas_client_set_progress (fx.client, s_on_progress, &seen);
    maas_submit_t spec = {.kind = "infer", .id = "job-progress-1"};
    ck_assert_int_eq (
        maas_client_submit (fx.client, &spec, "progress:4", 10, s_on_progress_result, &seen, NULL),
        0);
    ck_assert_int_eq (maas_client_wait_all (fx.client, 5000), 0);
    ck_assert (seen.finished);
    //  Every report, in order, with its message, before the result.
    ck_assert_int_eq (seen.reports_before_result, 4);
    for (int i = 0; i < 4; i++) {
        char expected[32];
        snprintf (expected, sizeof expected, "step %d", i + 1);
        ck_assert_double_eq_tol (seen.progress[i], (i + 1) / 4.0, 1e-9);
        ck_assert_str_eq (seen.message[i], expected);
    }
    //  The job's record keeps the last report for anyone reading Redis (the
    //  broker's pipelined writes may land a moment after the result).
    s_field_becomes ("job-progress-1", "progress_message", "step 4");
    s_field_becomes ("job-progress-1", "progress", "1.0000");
}
END_TEST

START_TEST (test_routing_by_kind)
{
    s_worker_start ("inferer", "infer", 2);
    s_worker_start ("trainer", "train", 2);
    for (int i = 0; i < 6; i++) {
        maas_submit_t spec = {.kind = i % 2 ? "train" : "infer"};
        maas_result_t *result = s_run (&spec, "x", 5000);
        ck_assert (s_result_is (result, "succeeded", i % 2 ? "trainer:" : "inferer:"));
        maas_result_destroy (&result);
    }
}
END_TEST

static int s_finished;

static void
s_count_cb (const maas_result_t *result, void *arg)
{
    int *max_held = arg;
    const char *held = memmem (result->data, result->size, "held=", 5);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s: %s", result->status,
                   result->error ? result->error : "");
    ck_assert_ptr_nonnull (held);
    if (atoi (held + 5) > *max_held)
        *max_held = atoi (held + 5);
    s_finished++;
}

START_TEST (test_credits_respected)
{
    s_worker_start ("w2", "infer", 2);
    int max_held = 0;
    s_finished = 0;
    for (int i = 0; i < 8; i++) {
        maas_submit_t spec = {.kind = "infer", .untracked = true};
        ck_assert_int_eq (
            maas_client_submit (fx.client, &spec, "sleep:30", 8, s_count_cb, &max_held, NULL), 0);
    }
    ck_assert_int_eq (maas_client_wait_all (fx.client, 10000), 0);
    ck_assert_int_eq (s_finished, 8);
    ck_assert_int_eq (max_held, 2);
}
END_TEST

static char s_order[32][8];

static void
s_order_cb (const maas_result_t *result, void *arg)
{
    const char *tag = memchr (result->data, 'p', result->size);
    ck_assert_ptr_nonnull (tag);
    snprintf (s_order[s_finished++], 8, "%.*s",
              (int) (result->size - (size_t) (tag - (char *) result->data)), tag);
}

START_TEST (test_priorities_then_fifo)
{
    s_finished = 0;
    const char *tags[6] = {"p0a", "p0b", "p9a", "p5a", "p9b", "p0c"};
    int prios[6] = {0, 0, 9, 5, 9, 0};
    for (int i = 0; i < 6; i++) {
        maas_submit_t spec = {.kind = "infer", .priority = prios[i]};
        ck_assert_int_eq (maas_client_submit (fx.client, &spec, tags[i], 3, s_order_cb, NULL, NULL),
                          0);
    }
    for (int i = 0; i < 100; i++) {    //  until all are recorded and queued
        redisContext *ctx = s_redis ();
        redisReply *reply = redisCommand (ctx, "ZCARD maas:pending");
        long long queued = reply->integer;
        freeReplyObject (reply);
        redisFree (ctx);
        if (queued == 6)
            break;
        maas_client_poll (fx.client, 20);
    }
    s_worker_start ("w3", "infer", 1);
    ck_assert_int_eq (maas_client_wait_all (fx.client, 10000), 0);
    const char *expected[6] = {"p9a", "p9b", "p5a", "p0a", "p0b", "p0c"};
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq (s_order[i], expected[i]);
}
END_TEST

START_TEST (test_deadline_expires_queued_job)
{
    maas_submit_t spec = {.kind = "infer", .deadline_ms = maas_clock_wall_ms () + 150};
    maas_result_t *result = s_run (&spec, "late", 5000);
    ck_assert_str_eq (result->status, "expired");
    ck_assert_ptr_nonnull (strstr (result->error, "deadline"));
    maas_result_destroy (&result);
    s_worker_start ("w4", "infer", 1);
    spec.deadline_ms = maas_clock_wall_ms () + 60000;
    result = s_run (&spec, "ontime", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
}
END_TEST

//  Each RESULT as it arrives: the job's record in Redis must already say
//  the same final status (docs/redis.md: results wait for the final write).
typedef struct {
    redisContext *redis;
    int seen, stale;
    char stale_example[160];
} record_check_t;

static void
s_record_check_cb (const maas_result_t *result, void *arg)
{
    record_check_t *check = arg;
    redisReply *reply = redisCommand (check->redis, "HGET maas:job:%s status", result->id);
    const char *stored = reply && reply->type == REDIS_REPLY_STRING ? reply->str : "(none)";
    if (strcmp (stored, result->status) != 0 && check->stale++ == 0)
        snprintf (check->stale_example, sizeof check->stale_example, "job %s: RESULT %s, record %s",
                  result->id, result->status, stored);
    freeReplyObject (reply);
    check->seen++;
}

START_TEST (test_record_final_before_result)
{
    s_worker_start ("w1", "infer", 8);
    maas_result_t *first = s_run_announced (&(maas_submit_t){.kind = "infer"}, "x", 5000);
    maas_result_destroy (&first);
    record_check_t check = {.redis = s_redis ()};
    int jobs = 3000;
    for (int i = 0; i < jobs; i++) {
        //  every other job's deadline has passed: it ends expired at once
        maas_submit_t spec = {.kind = "infer",
                              .deadline_ms = i % 2 ? maas_clock_wall_ms () - 1000 : 0};
        ck_assert_int_eq (
            maas_client_submit (fx.client, &spec, "x", 1, s_record_check_cb, &check, NULL), 0);
    }
    ck_assert_int_eq (maas_client_wait_all (fx.client, 20000), 0);
    redisFree (check.redis);
    ck_assert_int_eq (check.seen, jobs);
    ck_assert_msg (check.stale == 0, "%d of %d RESULTs came before their record was final (%s)",
                   check.stale, jobs, check.stale_example);
}
END_TEST

START_TEST (test_cancel_queued_and_running)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_submit_t spec = {.kind = "infer"};
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "q", 1, NULL, NULL, id), 0);
    maas_client_poll (fx.client, 200);
    ck_assert_int_eq (maas_client_cancel (fx.client, id), 0);
    maas_result_t *result = maas_client_wait (fx.client, id, 5000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "cancelled");
    maas_result_destroy (&result);
    s_worker_start ("w5", "infer", 1);
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "sleep:5000", 10, NULL, NULL, id), 0);
    int64_t start = maas_clock_mono_ms ();
    for (int i = 0; i < 50 && s_runs_of (id) == 0; i++) {
        maas_client_poll (fx.client, 100);
        redisContext *ctx = s_redis ();
        redisReply *reply = redisCommand (ctx, "HGET maas:job:%s status", id);
        bool running = reply->type == REDIS_REPLY_STRING && strcmp (reply->str, "running") == 0;
        freeReplyObject (reply);
        redisFree (ctx);
        if (running)
            break;
    }
    ck_assert_int_eq (maas_client_cancel (fx.client, id), 0);
    result = maas_client_wait (fx.client, id, 4000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "cancelled");
    ck_assert_int_lt (maas_clock_mono_ms () - start, 4000);
    maas_result_destroy (&result);
}
END_TEST

START_TEST (test_idempotent_resubmission)
{
    s_worker_start ("w6", "infer", 1);
    maas_submit_t spec = {.kind = "infer", .id = "same-id-1"};
    maas_result_t *first = s_run (&spec, "once", 5000);
    ck_assert (s_result_is (first, "succeeded", "w6:held=1:once"));
    maas_result_t *second = s_run (&spec, "once", 5000);
    ck_assert (s_result_is (second, "succeeded", "w6:held=1:once"));
    ck_assert_int_eq (s_runs_of ("same-id-1"), 1);
    maas_result_destroy (&first);
    maas_result_destroy (&second);
}
END_TEST

START_TEST (test_overload_rejected)
{
    s_broker_restart ("--max-jobs", "3");
    char ids[5][MAAS_PROTO_ID_MAX + 1];
    for (int i = 0; i < 5; i++) {
        maas_submit_t spec = {.kind = "infer", .untracked = true};
        ck_assert_int_eq (maas_client_submit (fx.client, &spec, "x", 1, NULL, NULL, ids[i]), 0);
    }
    int rejected = 0;
    for (int i = 0; i < 5; i++) {
        maas_result_t *result = maas_client_wait (fx.client, ids[i], i < 3 ? 300 : 3000);
        if (result) {
            ck_assert_str_eq (result->status, "rejected");
            ck_assert_ptr_nonnull (strstr (result->error, "overloaded"));
            rejected++;
            maas_result_destroy (&result);
        }
    }
    ck_assert_int_eq (rejected, 2);
    //  Said once in the log (at most a line a second), naming the limit.
    ck_assert (support_file_has (fx.log,
                                 "overloaded rejected=1 error=overloaded: 3 jobs held "
                                 "(--max-jobs 3)"));
}
END_TEST

//  Jobs in the broker's pending index (recorded, not finished).
static long long
s_pending (void)
{
    redisContext *ctx = s_redis ();
    redisReply *reply = redisCommand (ctx, "ZCARD maas:pending");
    long long count = reply->integer;
    freeReplyObject (reply);
    redisFree (ctx);
    return count;
}

//  Results seen by the flood test: A's so far, and A's when B's last came.
typedef struct {
    int a_done, b_done;
    int a_before_b_last;
} flood_t;

static void
s_flood_a (const maas_result_t *result, void *arg)
{
    ck_assert_str_eq (result->status, "succeeded");
    ((flood_t *) arg)->a_done++;
}

static void
s_flood_b (const maas_result_t *result, void *arg)
{
    flood_t *flood = arg;
    ck_assert_str_eq (result->status, "succeeded");
    if (++flood->b_done == 100)
        flood->a_before_b_last = flood->a_done;
}

//  One client floods (20,000 jobs queued before any worker), another sends
//  100: they take turns, so B's last result comes after about 100 of A's,
//  not after A's backlog; every job of both ends once.
START_TEST (test_flooding_client_keeps_to_its_share)
{
    enum { S_FLOOD = 20000, S_FEW = 100 };
    maas_client_t *flooder = maas_client_new (fx.front, NULL);
    maas_client_set_window (flooder, S_FLOOD);
    maas_client_set_retry (flooder, 60000);    //  queued a while: no FETCH storm
    maas_client_set_retry (fx.client, 60000);
    flood_t flood = {0};
    maas_submit_t spec = {.kind = "infer"};
    for (int i = 0; i < S_FLOOD; i++)
        ck_assert_int_eq (maas_client_submit (flooder, &spec, "a", 1, s_flood_a, &flood, NULL), 0);
    for (int i = 0; i < 200 && s_pending () < S_FLOOD; i++)
        maas_client_poll (flooder, 50);
    for (int i = 0; i < S_FEW; i++)
        ck_assert_int_eq (maas_client_submit (fx.client, &spec, "b", 1, s_flood_b, &flood, NULL),
                          0);
    for (int i = 0; i < 200 && s_pending () < S_FLOOD + S_FEW; i++) {
        maas_client_poll (flooder, 20);
        maas_client_poll (fx.client, 20);
    }
    ck_assert_int_eq (s_pending (), S_FLOOD + S_FEW);
    s_worker_start ("w-flood", "infer", 1);
    for (int i = 0; i < 6000 && flood.a_done + flood.b_done < S_FLOOD + S_FEW; i++) {
        maas_client_poll (flooder, 5);
        maas_client_poll (fx.client, 5);
    }
    ck_assert_int_eq (flood.a_done, S_FLOOD);
    ck_assert_int_eq (flood.b_done, S_FEW);
    //  Turns give ~100; results are read in batches of a few ms from two
    //  sockets, so allow for that. In arrival order B would wait for 20,000.
    ck_assert_msg (flood.a_before_b_last < 2000, "B's last result came after %d of A's",
                   flood.a_before_b_last);
    printf ("flood: B's last result after %d of A's %d\n", flood.a_before_b_last, S_FLOOD);
    maas_client_destroy (&flooder);
}
END_TEST

//  Past --max-workers, a new worker is refused, told why (it logs it) and
//  counted; the broker serves with the one it took.
START_TEST (test_max_workers_refused)
{
    support_proc_stop (&fx.broker);
    s_broker_start ("--max-workers", "1");
    s_worker_start ("w-first", "infer", 1);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run_announced (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    s_worker_start ("w-second", "infer", 1);
    for (int i = 0; i < 100 && !support_file_has (fx.log, "broker refused this worker"); i++)
        maas_client_poll (fx.client, 50);
    ck_assert (support_file_has (fx.log,
                                 "worker refused name=w-second refused=1 error=the broker "
                                 "holds 1 workers (--max-workers 1)"));
    ck_assert (support_file_has (fx.log, "error=the broker holds 1 workers (--max-workers 1)"));
    ck_assert (support_file_has (fx.log, "broker refused this worker"));
}
END_TEST

START_TEST (test_worker_killed_mid_job)
{
    support_proc_t *doomed = s_worker_start ("doomed", "infer", 1);
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_submit_t spec = {.kind = "infer"};
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "sleep:1500", 10, NULL, NULL, id), 0);
    for (int i = 0; i < 50 && s_runs_of (id) == 0; i++) {
        redisContext *ctx = s_redis ();
        redisReply *reply = redisCommand (ctx, "HGET maas:job:%s worker", id);
        bool running = reply->type == REDIS_REPLY_STRING && strcmp (reply->str, "doomed") == 0;
        freeReplyObject (reply);
        redisFree (ctx);
        if (running)
            break;
        maas_client_poll (fx.client, 50);
    }
    support_proc_signal (doomed, SIGKILL);
    s_worker_start ("rescuer", "infer", 1);
    maas_result_t *result = maas_client_wait (fx.client, id, 8000);
    ck_assert_ptr_nonnull (result);
    ck_assert_msg (s_result_is (result, "succeeded", "rescuer:"), "%s %.*s", result->status,
                   (int) result->size, (char *) result->data);
    maas_result_destroy (&result);
}
END_TEST

static int s_seen[16];

static void
s_seen_cb (const maas_result_t *result, void *arg)
{
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s %s", result->status,
                   result->error ? result->error : "");
    s_seen[atoi (strrchr (result->id, '-') + 1)]++;
}

START_TEST (test_broker_killed_and_restarted)
{
    s_worker_start ("w7", "infer", 2);
    memset (s_seen, 0, sizeof s_seen);
    for (int i = 0; i < 8; i++) {
        char id[32];
        snprintf (id, sizeof id, "crash-%d", i);
        maas_submit_t spec = {.kind = "infer", .id = id};
        ck_assert_int_eq (
            maas_client_submit (fx.client, &spec, "sleep:150", 9, s_seen_cb, NULL, NULL), 0);
    }
    maas_client_poll (fx.client, 250);    //  accepted; two running, six queued
    s_broker_kill (SIGKILL);
    s_broker_start (NULL, NULL);
    ck_assert_int_eq (maas_client_wait_all (fx.client, 20000), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq (s_seen[i], 1);
}
END_TEST

//  A raw client: a DEALER with routing id ROUTING_ID on the frontend, so a
//  test knows exactly who speaks (libmaas clients also FETCH by themselves).
static zsock_t *
s_raw_client (const char *routing_id)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (sock);
    zsock_set_identity (sock, routing_id);
    zsock_set_linger (sock, 0);
    ck_assert_int_eq (zsock_connect (sock, "%s", fx.front), 0);
    return sock;
}

//  Send CMD with header {id: ID} (and kind KIND, durable DURABLE if KIND,
//  and wait_for_kind: true if WAIT).
static void
s_raw_send_wait (zsock_t *sock, int cmd, const char *id, const char *kind, bool durable, bool wait)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, (kind ? 3 : 1) + wait);
    maas_codec_pack_kv_str (&buf.pk, "id", id);
    if (kind) {
        maas_codec_pack_kv_str (&buf.pk, "kind", kind);
        maas_codec_pack_kv_bool (&buf.pk, "durable", durable);
    }
    if (wait)
        maas_codec_pack_kv_bool (&buf.pk, "wait_for_kind", true);
    zmq_msg_t payload;
    zmq_msg_init_size (&payload, 1);
    memcpy (zmq_msg_data (&payload), "x", 1);
    ck_assert_int_eq (maas_proto_send (zsock_resolve (sock), NULL, 0, cmd, buf.data, buf.size,
                                       cmd == MAAS_PROTO_SUBMIT ? &payload : NULL),
                      0);
    zmq_msg_close (&payload);
}

static void
s_raw_send (zsock_t *sock, int cmd, const char *id, const char *kind, bool durable)
{
    s_raw_send_wait (sock, cmd, id, kind, durable, false);
}

//  The next message's command (-1: none within TIMEOUT_MS); its header's
//  "status" (or "reason") into STATUS.
static int
s_raw_recv (zsock_t *sock, int timeout_ms, char status[64])
{
    zsock_set_rcvtimeo (sock, timeout_ms);
    maas_proto_msg_t msg;
    status[0] = '\0';
    if (maas_proto_recv (zsock_resolve (sock), &msg, false, 0) != 0)
        return -1;
    int cmd = maas_proto_check (&msg, NULL);
    size_t size;
    const void *header = maas_proto_header (&msg, &size);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    maas_err_t err;
    maas_codec_map_t map;
    if (header && maas_codec_unpack (header, size, 0, &unpacked, &err) == 0
        && maas_codec_map_init (&map, &unpacked.data, "reply") == 0)
        maas_codec_map_str_copy (&map, maas_codec_map_find (&map, "status") ? "status" : "reason",
                                 status, 64);
    msgpack_unpacked_destroy (&unpacked);
    maas_proto_msg_close (&msg);
    return cmd;
}

//  The client that last spoke about a job gets its RESULT, also from a
//  restarted broker: FETCH moves the job's client in Redis too.
START_TEST (test_last_speaker_gets_result_after_restart)
{
    zsock_t *first = s_raw_client ("c-first"), *second = s_raw_client ("c-second");
    char status[64];
    s_raw_send (first, MAAS_PROTO_SUBMIT, "moved-1", "infer", true);
    ck_assert_int_eq (s_raw_recv (first, 3000, status), MAAS_PROTO_ACCEPTED);
    s_raw_send (second, MAAS_PROTO_FETCH, "moved-1", NULL, false);
    ck_assert_int_eq (s_raw_recv (second, 3000, status), MAAS_PROTO_ACCEPTED);
    s_field_becomes ("moved-1", "client", "c-second");
    s_broker_kill (SIGKILL);
    s_broker_start (NULL, NULL);
    s_raw_send (second, MAAS_PROTO_PING, "x", NULL, false);    //  reconnected (a PING moves no job)
    ck_assert_int_eq (s_raw_recv (second, 5000, status), MAAS_PROTO_PONG);
    s_worker_start ("w-moved", "infer", 1);
    ck_assert_int_eq (s_raw_recv (second, 8000, status), MAAS_PROTO_RESULT);
    ck_assert_str_eq (status, "succeeded");
    ck_assert_int_eq (s_raw_recv (first, 300, status), -1);
    zsock_destroy (&first);
    zsock_destroy (&second);
}
END_TEST

//  A result the broker makes while recovering (a non-durable job lost at
//  restart) reaches its client when that client next says anything.
START_TEST (test_recovery_result_pushed_when_client_speaks)
{
    zsock_t *client = s_raw_client ("c-lost");
    char status[64];
    s_raw_send (client, MAAS_PROTO_SUBMIT, "lost-1", "infer", false);
    ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_ACCEPTED);
    zsock_destroy (&client);    //  away while the broker restarts
    s_broker_kill (SIGKILL);
    s_broker_start (NULL, NULL);
    s_status_becomes ("lost-1", "failed");
    client = s_raw_client ("c-lost");
    s_raw_send (client, MAAS_PROTO_PING, "x", NULL, false);
    int got_result = 0, got_pong = 0;
    for (int i = 0; i < 2; i++) {
        int cmd = s_raw_recv (client, 3000, status);
        got_result += cmd == MAAS_PROTO_RESULT && strcmp (status, "failed") == 0;
        got_pong += cmd == MAAS_PROTO_PONG;
    }
    ck_assert_int_eq (got_result, 1);
    ck_assert_int_eq (got_pong, 1);
    s_raw_send (client, MAAS_PROTO_PING, "x", NULL, false);
    ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_PONG);    //  pushed once
    zsock_destroy (&client);
}
END_TEST

//  READY for "infer" with one credit (again: the broker forgets a raw
//  worker silent past its liveness).
static void
s_raw_ready (zsock_t *sock)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 2);
    const char *kinds[] = {"infer"};
    maas_codec_pack_kv_strings (&buf.pk, "kinds", kinds, 1);
    maas_codec_pack_kv_int (&buf.pk, "credits", 1);
    ck_assert_int_eq (
        maas_proto_send (zsock_resolve (sock), NULL, 0, MAAS_PROTO_READY, buf.data, buf.size, NULL),
        0);
}

static zsock_t *
s_raw_worker (void)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    ck_assert_ptr_nonnull (sock);
    zsock_set_linger (sock, 0);
    ck_assert_int_eq (zsock_connect (sock, "%s", fx.back), 0);
    s_raw_ready (sock);
    return sock;
}

//  Wait up to TIMEOUT_MS for a message WANT (answering heartbeats); the
//  job id of a JOB or CANCEL into ID.
static bool
s_raw_expect (zsock_t *worker, int want, int timeout_ms, char id[MAAS_PROTO_ID_MAX + 1])
{
    int64_t until = zclock_mono () + timeout_ms;
    while (zclock_mono () < until) {
        zsock_set_rcvtimeo (worker, 50);
        maas_proto_msg_t msg;
        if (maas_proto_recv (zsock_resolve (worker), &msg, false, 0) != 0)
            continue;
        int cmd = maas_proto_check (&msg, NULL);
        size_t size;
        const void *header = maas_proto_header (&msg, &size);
        msgpack_unpacked scratch;
        msgpack_unpacked_init (&scratch);
        maas_err_t err;
        maas_codec_map_t map;
        bool got = cmd == want && maas_codec_unpack (header, size, 0, &scratch, &err) == 0
            && maas_codec_map_init (&map, &scratch.data, "header") == 0
            && maas_codec_map_str_copy (&map, "id", id, MAAS_PROTO_ID_MAX + 1) == 0;
        msgpack_unpacked_destroy (&scratch);
        maas_proto_msg_close (&msg);
        if (got)
            return true;
        const uint8_t empty_map = 0x80;
        maas_proto_send (zsock_resolve (worker), NULL, 0, MAAS_PROTO_HEARTBEAT, &empty_map, 1,
                         NULL);
    }
    return false;
}

static bool
s_raw_job (zsock_t *worker, int timeout_ms, char id[MAAS_PROTO_ID_MAX + 1])
{
    return s_raw_expect (worker, MAAS_PROTO_JOB, timeout_ms, id);
}

//  Answer job ID "failed" with "retryable": RETRYABLE.
static void
s_raw_fail (zsock_t *worker, const char *id, bool retryable)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 4);
    maas_codec_pack_kv_str (&buf.pk, "id", id);
    maas_codec_pack_kv_str (&buf.pk, "status", "failed");
    maas_codec_pack_kv_str (&buf.pk, "error", "model file is corrupt");
    maas_codec_pack_kv_bool (&buf.pk, "retryable", retryable);
    zmq_msg_t payload;
    zmq_msg_init (&payload);
    ck_assert_int_eq (maas_proto_send (zsock_resolve (worker), NULL, 0, MAAS_PROTO_RESULT, buf.data,
                                       buf.size, &payload),
                      0);
}

//  "retryable": false is final at once; true runs the job again, up to
//  --max-attempts (3), then fails it saying so.
START_TEST (test_retryable_failures)
{
    zsock_t *worker = s_raw_worker ();
    maas_client_poll (fx.client, 100);    //  READY is in
    char id[MAAS_PROTO_ID_MAX + 1], got[MAAS_PROTO_ID_MAX + 1];
    maas_submit_t spec = {.kind = "infer"};
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "x", 1, NULL, NULL, id), 0);
    ck_assert (s_raw_job (worker, 3000, got));
    s_raw_fail (worker, got, false);
    maas_result_t *result = maas_client_wait (fx.client, id, 3000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_str_eq (result->error, "model file is corrupt");
    maas_result_destroy (&result);
    s_field_becomes (id, "attempts", "1");
    s_raw_ready (worker);
    maas_client_poll (fx.client, 100);
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "x", 1, NULL, NULL, id), 0);
    for (int attempt = 1; attempt <= 3; attempt++) {
        ck_assert_msg (s_raw_job (worker, 3000, got), "attempt %d not sent", attempt);
        ck_assert_str_eq (got, id);
        s_raw_fail (worker, got, true);
    }
    result = maas_client_wait (fx.client, id, 3000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_msg (strstr (result->error, "model file is corrupt")
                       && strstr (result->error, "3 attempts"),
                   "error: %s", result->error);
    maas_result_destroy (&result);
    ck_assert (!s_raw_job (worker, 200, got));
    s_raw_ready (worker);    //  a cancelled job is not retried
    maas_client_poll (fx.client, 100);
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "x", 1, NULL, NULL, id), 0);
    ck_assert (s_raw_job (worker, 3000, got));
    ck_assert_int_eq (maas_client_cancel (fx.client, id), 0);
    char cancelled[MAAS_PROTO_ID_MAX + 1];    //  the broker has the CANCEL: it forwarded it
    ck_assert (s_raw_expect (worker, MAAS_PROTO_CANCEL, 3000, cancelled));
    ck_assert_str_eq (cancelled, id);
    s_raw_fail (worker, got, true);
    ck_assert (!s_raw_job (worker, 300, got));
    s_status_becomes (id, "failed");
    zsock_destroy (&worker);
}
END_TEST

//  A kind no worker announced is refused, unless the client waits for it;
//  the built-in kinds queue before any worker is up.
START_TEST (test_unknown_kind_rejected)
{
    maas_submit_t spec = {.kind = "madeup", .id = "junk-1"};
    maas_result_t *result = s_run (&spec, "x", 3000);
    ck_assert_str_eq (result->status, "rejected");
    ck_assert_msg (strstr (result->error, "no worker has announced kind 'madeup'"), "error: %s",
                   result->error);
    maas_result_destroy (&result);
    s_assert_no_record ("junk-1");    //  nothing left queued in Redis
    zsock_t *client = s_raw_client ("c-kinds");
    char status[64];
    s_raw_send (client, MAAS_PROTO_SUBMIT, "early-train", "train", true);
    ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_ACCEPTED);
    s_raw_send (client, MAAS_PROTO_SUBMIT, "early-explain", "explain", true);
    ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_ACCEPTED);
    s_raw_send_wait (client, MAAS_PROTO_SUBMIT, "waits-1", "later", true, true);
    ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_ACCEPTED);
    s_worker_start ("w-later", "later", 1);
    ck_assert_int_eq (s_raw_recv (client, 5000, status), MAAS_PROTO_RESULT);
    ck_assert_str_eq (status, "succeeded");
    zsock_destroy (&client);
}
END_TEST

//  Kinds made for waiting jobs are freed with their last job: more made-up
//  kinds than the table holds (64) over time leave room for a real one.
START_TEST (test_kinds_freed)
{
    zsock_t *client = s_raw_client ("c-many");
    char status[64], id[32], kind[32];
    for (int i = 0; i < 80; i++) {
        snprintf (id, sizeof id, "many-%d", i);
        snprintf (kind, sizeof kind, "made-up-%d", i);
        s_raw_send_wait (client, MAAS_PROTO_SUBMIT, id, kind, true, true);
        ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_ACCEPTED);
        s_raw_send (client, MAAS_PROTO_CANCEL, id, NULL, false);
        ck_assert_int_eq (s_raw_recv (client, 3000, status), MAAS_PROTO_RESULT);
        ck_assert_str_eq (status, "cancelled");
    }
    zsock_destroy (&client);
    s_worker_start ("w-real", "real", 1);
    maas_client_poll (fx.client, 300);    //  READY is in
    maas_submit_t spec = {.kind = "real"};
    maas_result_t *result = s_run_announced (&spec, "x", 5000);
    ck_assert_msg (s_result_is (result, "succeeded", "w-real:"), "%s %s", result->status,
                   result->error ? result->error : "");
    maas_result_destroy (&result);
}
END_TEST

//  A pending record a restarted broker cannot read back is failed, not
//  left queued in Redis for every restart to trip on.
START_TEST (test_unrecoverable_record_failed)
{
    redisContext *ctx = s_redis ();
    freeReplyObject (redisCommand (ctx,
                                   "HSET maas:job:junk-2 status queued broker broker "
                                   "header %b",
                                   "\xc1", (size_t) 1));
    freeReplyObject (redisCommand (ctx, "ZADD maas:pending 1 junk-2"));
    redisFree (ctx);
    s_broker_kill (SIGKILL);
    s_broker_start (NULL, NULL);
    s_status_becomes ("junk-2", "failed");
    ctx = s_redis ();
    redisReply *reply = redisCommand (ctx, "ZSCORE maas:pending junk-2");
    ck_assert_int_eq (reply->type, REDIS_REPLY_NIL);
    freeReplyObject (reply);
    redisFree (ctx);
}
END_TEST

START_TEST (test_redis_down_rejects_then_recovers)
{
    s_broker_restart ("--redis-timeout", "500");    //  jobs wait that long for Redis to be back
    s_worker_start ("w8", "infer", 1);
    support_redis_kill (fx.redis);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "rejected");
    ck_assert_msg (strstr (result->error, "redis"), "error: %s", result->error);
    maas_result_destroy (&result);
    spec.untracked = true;    //  ephemeral traffic keeps flowing
    result = s_run (&spec, "y", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    support_redis_restart (fx.redis);
    spec.untracked = false;
    s_run_until_succeeded (&spec, "z");
}
END_TEST

//  A hung Redis (SIGSTOP) does not hang submissions: they are rejected
//  once replies are --redis-timeout overdue, with that reason; the broker
//  keeps routing; after SIGCONT new jobs are taken again, and the job that
//  ran meanwhile finishes and its final status reaches Redis.
START_TEST (test_redis_hung_rejects_then_recovers)
{
    s_broker_restart ("--redis-timeout", "500");
    s_worker_start ("w17", "infer", 1);
    maas_submit_t slow = {.kind = "infer", .id = "hung-slow"};
    ck_assert_int_eq (maas_client_submit (fx.client, &slow, "sleep:1500", 10, NULL, NULL, NULL), 0);
    s_status_becomes ("hung-slow", "running");
    kill (support_redis_pid (fx.redis), SIGSTOP);
    int64_t start = maas_clock_mono_ms ();
    maas_submit_t spec = {.kind = "infer", .id = "hung-new"};
    maas_result_t *result = s_run (&spec, "x", 8000);
    int64_t took = maas_clock_mono_ms () - start;
    ck_assert_str_eq (result->status, "rejected");
    ck_assert_msg (strstr (result->error, "did not answer in 500 ms"), "error: %s", result->error);
    ck_assert_int_lt (took, 4000);
    maas_result_destroy (&result);
    spec = (maas_submit_t){.kind = "infer", .untracked = true};
    result = s_run (&spec, "y", 5000);    //  routing goes on
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    kill (support_redis_pid (fx.redis), SIGCONT);
    spec.untracked = false;
    s_run_until_succeeded (&spec, "z");
    result = maas_client_wait (fx.client, "hung-slow", 5000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    s_status_becomes ("hung-slow", "succeeded");    //  written when Redis came back
    s_status_becomes ("hung-new", "rejected");      //  its late writes are marked
}
END_TEST

//  Redis hangs for less than --redis-timeout after the broker dropped it:
//  a job caught waiting for its record is sent again on the new
//  connection and runs; the client sees one result, not a rejection.
START_TEST (test_redis_pause_keeps_waiting_jobs)
{
    s_broker_restart ("--redis-timeout", "1500");
    s_worker_start ("w18", "infer", 1);
    kill (support_redis_pid (fx.redis), SIGSTOP);
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_submit_t spec = {.kind = "infer", .id = "paused-1"};
    ck_assert_int_eq (maas_client_submit (fx.client, &spec, "x", 1, NULL, NULL, id), 0);
    for (int i = 0; i < 200 && !support_file_has (fx.log, "redis dropped"); i++)
        maas_client_poll (fx.client, 20);
    kill (support_redis_pid (fx.redis), SIGCONT);
    ck_assert (support_file_has (fx.log, "did not answer in 1500 ms"));
    maas_result_t *result = maas_client_wait (fx.client, id, 8000);
    ck_assert_ptr_nonnull (result);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s: %s", result->status,
                   result->error ? result->error : "");
    maas_result_destroy (&result);
    ck_assert_int_eq (s_runs_of ("paused-1"), 1);
    s_status_becomes ("paused-1", "succeeded");
}
END_TEST

static int s_outcomes[200][2];    //  per job: succeeded, anything else

static void
s_outcome_cb (const maas_result_t *result, void *arg)
{
    s_outcomes[(int) (intptr_t) arg][strcmp (result->status, "succeeded") != 0]++;
}

//  Redis closes the broker's connection while jobs flow (as Sentinel does
//  to the clients of a master it demotes): the broker reconnects, writes
//  back what it holds, and every job completes once; none is rejected.
START_TEST (test_redis_connection_killed_mid_stream)
{
    s_worker_start ("w20", "infer", 4);
    memset (s_outcomes, 0, sizeof s_outcomes);
    redisContext *ctx = s_redis ();
    for (int i = 0; i < 200; i++) {
        maas_submit_t spec = {.kind = "infer"};
        ck_assert_int_eq (maas_client_submit (fx.client, &spec, "sleep:2", 7, s_outcome_cb,
                                              (void *) (intptr_t) i, NULL),
                          0);
        if (i == 100)
            freeReplyObject (redisCommand (ctx, "CLIENT KILL TYPE normal"));
        maas_client_poll (fx.client, 1);
    }
    redisFree (ctx);
    ck_assert_int_eq (maas_client_wait_all (fx.client, 20000), 0);
    for (int i = 0; i < 200; i++)
        ck_assert_msg (s_outcomes[i][0] == 1 && s_outcomes[i][1] == 0, "job %d: %d, %d", i,
                       s_outcomes[i][0], s_outcomes[i][1]);
    ck_assert (support_file_has (fx.log, "redis down"));
}
END_TEST

//  Without Sentinel, the server the broker writes to is made a replica:
//  its next write gets READONLY or its next ROLE says "slave" (whichever
//  comes first), the broker leaves it and rejects tracked jobs saying so;
//  once it is a master again, jobs are taken again.
START_TEST (test_demoted_redis_is_left)
{
    s_broker_restart ("--redis-timeout", "1000");
    s_worker_start ("w19", "infer", 1);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    support_redis_t *other = support_redis_start_tcp (0);
    redisContext *ctx = s_redis ();
    freeReplyObject (redisCommand (ctx, "REPLICAOF 127.0.0.1 %d", support_redis_port (other)));
    result = s_run (&spec, "y", 8000);
    ck_assert_str_eq (result->status, "rejected");
    maas_result_destroy (&result);
    ck_assert (support_file_has (fx.log, "is not the master (slave)"));
    freeReplyObject (redisCommand (ctx, "REPLICAOF NO ONE"));
    redisFree (ctx);
    s_run_until_succeeded (&spec, "z");
    support_redis_stop (&other);
}
END_TEST

//  Send FRAMES (NULL-terminated, "\x01"-style strings; "" is an empty
//  frame) and return the command byte answered, or -1 if none in 1 s.
//  The answer's reason goes to REASON, its error (if ERROR) to ERROR.
static int
s_raw_error (zsock_t *sock, const char *const *frames, const size_t *sizes, char *reason,
             size_t reason_size, char *error, size_t error_size)
{
    zmsg_t *msg = zmsg_new ();
    for (int i = 0; frames[i]; i++)
        zmsg_addmem (msg, frames[i], sizes[i]);
    zmsg_send (&msg, sock);
    zsock_set_rcvtimeo (sock, 1000);
    zmsg_t *reply = zmsg_recv (sock);
    if (!reply)
        return -1;
    zframe_t *tag = zmsg_first (reply), *cmd = zmsg_next (reply), *header = zmsg_next (reply);
    ck_assert (tag && zframe_streq (tag, "MAAS1"));
    int command = zframe_data (cmd)[0];
    reason[0] = '\0';
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    maas_err_t err;
    maas_codec_map_t map;
    if (header
        && maas_codec_unpack (zframe_data (header), zframe_size (header), 0, &unpacked, &err) == 0
        && maas_codec_map_init (&map, &unpacked.data, "reply") == 0) {
        maas_codec_map_str_copy (&map, "reason", reason, reason_size);
        if (error && maas_codec_map_find (&map, "error"))
            maas_codec_map_str_copy (&map, "error", error, error_size);
    }
    msgpack_unpacked_destroy (&unpacked);
    zmsg_destroy (&reply);
    return command;
}

static int
s_raw (zsock_t *sock, const char *const *frames, const size_t *sizes, char *reason,
       size_t reason_size)
{
    return s_raw_error (sock, frames, sizes, reason, reason_size, NULL, 0);
}

//  A bad header gets the same error whichever command carries it (FETCH
//  and CANCEL were answered with an empty one).
START_TEST (test_bad_header_error_text)
{
    zsock_t *raw = zsock_new_dealer (fx.front);
    ck_assert_ptr_nonnull (raw);
    const char *headers[] = {"\xc1\xc1", "\x93\x01\x02\x03"};
    const size_t sizes[] = {2, 4};
    for (size_t h = 0; h < 2; h++) {
        char want[256] = "";
        const char *cmds[] = {"\x01", "\x08", "\x05"};    //  SUBMIT, FETCH, CANCEL
        for (size_t c = 0; c < 3; c++) {
            const char *frames[] = {"MAAS1", cmds[c], headers[h], NULL};
            const size_t frame_sizes[] = {5, 1, sizes[h]};
            char reason[64], error[256] = "";
            int cmd =
                s_raw_error (raw, frames, frame_sizes, reason, sizeof reason, error, sizeof error);
            ck_assert_int_eq (cmd, MAAS_PROTO_REJECTED);
            ck_assert_str_eq (reason, "bad_request");
            ck_assert_msg (error[0], "header %zu cmd %zu: empty error", h, c);
            if (c == 0)
                snprintf (want, sizeof want, "%s", error);
            ck_assert_msg (strcmp (error, want) == 0, "header %zu cmd %zu: '%s', SUBMIT '%s'", h, c,
                           error, want);
        }
    }
    zsock_destroy (&raw);
}
END_TEST

START_TEST (test_bad_client_input)
{
    zsock_t *raw = zsock_new_dealer (fx.front);
    ck_assert_ptr_nonnull (raw);
    static char big[70000];
    const char map_no_id[] = "\x81\xa4kind\xa5infer";
    const char bad_prio[] = "\x83\xa2id\xa1x\xa4kind\xa5infer\xa8priority\xa1z";
    const char deep[] = "\x81\xa2id\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                        "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                        "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x01";
    const char huge_count[] = "\x81\xa2id\xdd\xff\xff\xff\xff";
    struct {
        const char *frames[6];
        size_t sizes[6];
    } cases[] = {
        {{"garbage", NULL}, {7}},                                    //  one frame
        {{"MAAS9", "\x01", "\x80", NULL}, {5, 1, 1}},                //  wrong tag
        {{"MAAS1", "\x01\x01", "\x80", NULL}, {5, 2, 1}},            //  2-byte command
        {{"MAAS1", "\x7f", "\x80", NULL}, {5, 1, 1}},                //  unknown command
        {{"MAAS1", "\x01", "\xc1\xc1", NULL}, {5, 1, 2}},            //  not msgpack
        {{"MAAS1", "\x01", "\x93\x01\x02\x03", NULL}, {5, 1, 4}},    //  not a map
        {{"MAAS1", "\x01", map_no_id, NULL}, {5, 1, sizeof map_no_id - 1}},
        {{"MAAS1", "\x01", bad_prio, NULL}, {5, 1, sizeof bad_prio - 1}},
        {{"MAAS1", "\x01", deep, NULL}, {5, 1, sizeof deep - 1}},
        {{"MAAS1", "\x01", huge_count, NULL}, {5, 1, sizeof huge_count - 1}},
        {{"MAAS1", "\x01", big, NULL}, {5, 1, sizeof big}},    //  oversized header
        {{"MAAS1", "\x01", "\x80", "p", "extra", NULL}, {5, 1, 1, 1, 5}},
        {{"MAAS1", "\x05", NULL}, {5, 1}},                         //  CANCEL, no header
        {{"MAAS1", "\x08", "\x81\xa2id\x01", NULL}, {5, 1, 6}},    //  FETCH, id not a string
        {{"MAAS1", "\x01", NULL}, {5, 1}},                         //  SUBMIT, no header
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reason[64];
        int cmd = s_raw (raw, cases[i].frames, cases[i].sizes, reason, sizeof reason);
        ck_assert_msg (cmd == MAAS_PROTO_REJECTED, "case %zu: answer %d", i, cmd);
        ck_assert_msg (strcmp (reason, "bad_request") == 0, "case %zu: reason %s", i, reason);
    }
    zsock_destroy (&raw);
    s_worker_start ("w9", "infer", 1);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run (&spec, "still fine", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
}
END_TEST

START_TEST (test_huge_frame_cuts_off_sender_only)
{
    s_broker_restart ("--max-message", "1");
    zsock_t *raw = zsock_new_dealer (fx.front);
    size_t size = 3 << 20;
    char *huge = calloc (1, size);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, "MAAS1", 5);
    zmsg_addmem (msg, "\x01", 1);
    zmsg_addmem (msg, "\x80", 1);
    zmsg_addmem (msg, huge, size);
    zmsg_send (&msg, raw);
    free (huge);
    zsock_set_rcvtimeo (raw, 500);
    zmsg_t *reply = zmsg_recv (raw);
    ck_assert_ptr_null (reply);    //  dropped, not answered
    zsock_destroy (&raw);
    s_worker_start ("w15", "infer", 1);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run (&spec, "small", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    ck_assert_int_eq (support_proc_wait (fx.broker, 0), -1);
}
END_TEST

START_TEST (test_bad_worker_input)
{
    zsock_t *raw = zsock_new_dealer (fx.back);
    static const struct {
        const char *frames[5];
        size_t sizes[5];
    } cases[] = {
        {{"garbage", NULL}, {7}},
        {{"MAAS1", "\x10", "\xc1", NULL}, {5, 1, 1}},                 //  READY, not msgpack
        {{"MAAS1", "\x10", "\x81\xa5kinds\x01", NULL}, {5, 1, 8}},    //  READY, kinds not a list
        {{"MAAS1", "\x04", "\x82\xa2id\xa1x\xa6status\xa2ok", NULL},
         {5, 1, 16}},                                    //  RESULT, unknown
        {{"MAAS1", "\x66", "\x80", NULL}, {5, 1, 1}},    //  unknown command
        {{"MAAS1", "\x09", "\x80", NULL}, {5, 1, 1}},    //  PROGRESS, no id
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zmsg_t *msg = zmsg_new ();
        for (int f = 0; cases[i].frames[f]; f++)
            zmsg_addmem (msg, cases[i].frames[f], cases[i].sizes[f]);
        zmsg_send (&msg, raw);
    }
    zsock_destroy (&raw);
    s_worker_start ("w10", "infer", 1);
    maas_submit_t spec = {.kind = "infer"};
    maas_result_t *result = s_run (&spec, "ok", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    ck_assert_int_eq (support_proc_wait (fx.broker, 0), -1);    //  still running
}
END_TEST

START_TEST (test_untracked_leaves_no_record)
{
    s_worker_start ("w11", "infer", 1);
    maas_submit_t spec = {.kind = "infer", .id = "quiet-1", .untracked = true};
    maas_result_t *result = s_run (&spec, "x", 5000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    s_assert_no_record ("quiet-1");
}
END_TEST

START_TEST (test_fetch_later_by_id)
{
    s_worker_start ("w12", "infer", 1);
    maas_submit_t spec = {.kind = "infer", .id = "later-1"};
    maas_result_t *result = s_run (&spec, "keep", 5000);
    maas_result_destroy (&result);
    maas_client_t *other = maas_client_new (fx.front, NULL);
    ck_assert_int_eq (maas_client_fetch (other, "later-1", NULL, NULL), 0);
    result = maas_client_wait (other, "later-1", 5000);
    ck_assert_ptr_nonnull (result);
    ck_assert (s_result_is (result, "succeeded", "w12:held=1:keep"));
    maas_result_destroy (&result);
    ck_assert_int_eq (maas_client_fetch (other, "never-was", NULL, NULL), 0);
    result = maas_client_wait (other, "never-was", 5000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "rejected");
    maas_result_destroy (&result);
    maas_client_destroy (&other);
}
END_TEST

START_TEST (test_status_command)
{
    s_worker_start ("w13", "infer", 1);
    maas_submit_t spec = {.kind = "infer", .id = "status-1"};
    maas_result_t *result = s_run (&spec, "x", 5000);
    maas_result_destroy (&result);
    maas_client_poll (fx.client, 1200);    //  a stats write happens each second
    char *maas = support_build_path ("client/maas");
    char out[256];
    snprintf (out, sizeof out, "%s/status.out", fx.dir);
    const char *argv[] = {maas, "status", "--redis", support_redis_url (fx.redis), NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, out);
    ck_assert_int_eq (support_proc_wait (proc, 5000), 0);
    support_proc_stop (&proc);
    const char *argv2[] = {maas,       "status", "--redis", support_redis_url (fx.redis),
                           "status-1", NULL};
    proc = support_proc_start (argv2, NULL, out);
    ck_assert_int_eq (support_proc_wait (proc, 5000), 0);
    support_proc_stop (&proc);
    free (maas);
    FILE *file = fopen (out, "r");
    char text[4096] = "";
    size_t n = fread (text, 1, sizeof text - 1, file);
    text[n] = '\0';
    fclose (file);
    ck_assert_msg (strstr (text, "broker") && strstr (text, "succeeded"), "output: %s", text);
    ck_assert_msg (strstr (text, "status-1"), "output: %s", text);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("broker");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_set_timeout (core, 60);
    tcase_add_test (core, test_echo_and_redis_record);
    tcase_add_test (core, test_routing_by_kind);
    tcase_add_test (core, test_prefers_worker_with_model_cached);
    tcase_add_test (core, test_broker_without_status);
    tcase_add_test (core, test_two_brokers);
    tcase_add_test (core, test_params_reach_the_worker);
    tcase_add_test (core, test_progress_reaches_client);
    tcase_add_test (core, test_credits_respected);
    tcase_add_test (core, test_priorities_then_fifo);
    tcase_add_test (core, test_deadline_expires_queued_job);
    tcase_add_test (core, test_record_final_before_result);
    tcase_add_test (core, test_cancel_queued_and_running);
    tcase_add_test (core, test_retryable_failures);
    tcase_add_test (core, test_unknown_kind_rejected);
    tcase_add_test (core, test_kinds_freed);
    tcase_add_test (core, test_idempotent_resubmission);
    tcase_add_test (core, test_overload_rejected);
    tcase_add_test (core, test_flooding_client_keeps_to_its_share);
    tcase_add_test (core, test_max_workers_refused);
    tcase_add_test (core, test_untracked_leaves_no_record);
    tcase_add_test (core, test_fetch_later_by_id);
    tcase_add_test (core, test_status_command);
    suite_add_tcase (suite, core);
    TCase *faults = tcase_create ("faults");
    tcase_add_checked_fixture (faults, s_setup, s_teardown);
    tcase_set_timeout (faults, 60);
    tcase_add_test (faults, test_worker_killed_mid_job);
    tcase_add_test (faults, test_broker_killed_and_restarted);
    tcase_add_test (faults, test_last_speaker_gets_result_after_restart);
    tcase_add_test (faults, test_recovery_result_pushed_when_client_speaks);
    tcase_add_test (faults, test_unrecoverable_record_failed);
    tcase_add_test (faults, test_redis_down_rejects_then_recovers);
    tcase_add_test (faults, test_redis_hung_rejects_then_recovers);
    tcase_add_test (faults, test_redis_pause_keeps_waiting_jobs);
    tcase_add_test (faults, test_demoted_redis_is_left);
    tcase_add_test (faults, test_redis_connection_killed_mid_stream);
    suite_add_tcase (suite, faults);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_set_timeout (errors, 60);
    tcase_add_test (errors, test_bad_client_input);
    tcase_add_test (errors, test_bad_header_error_text);
    tcase_add_test (errors, test_bad_worker_input);
    tcase_add_test (errors, test_huge_frame_cuts_off_sender_only);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
