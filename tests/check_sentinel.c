/*  check_sentinel.c: every program finds Redis through Sentinel and follows
 *  a failover. A real master, replica and Sentinel; a forced failover seen
 *  by libmaas, then end to end: maas-broker and maas-worker serving a
 *  client's jobs while Sentinel moves the master. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    support_redis_t *master;     //  the first master (a fixture server)
    support_proc_t *replica;     //  its replica, promoted by the failover
    support_proc_t *sentinel;    //  one Sentinel watching "mymaster"
    int master_port;             //  ports on 127.0.0.1
    int replica_port;
    int sentinel_port;
    char url[64];                 //  the first master's URL, as programs are told
    char sentinels[64];           //  "127.0.0.1:<sentinel port>"
    maas_redis_config_t redis;    //  both, for the library (programs: the environment)
} cluster_t;

//  A registry (or its watch) behind CL's Sentinel, with ERR on failure.
static maas_registry_t *
s_registry (const cluster_t *cl, char *err, size_t size)
{
    maas_err_t why;
    maas_registry_t *self = maas_registry_open (&cl->redis, NULL, &why);
    if (!self)
        maas_err_export (&why, err, size);
    return self;
}

static maas_registry_watch_t *
s_watch (const cluster_t *cl, char *err, size_t size)
{
    maas_err_t why;
    maas_registry_watch_t *self = maas_registry_watch_open (&cl->redis, NULL, &why);
    if (!self)
        maas_err_export (&why, err, size);
    return self;
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static support_proc_t *
s_redis_server (const char *dir, const char *const *args)
{
    const char *argv[24] = {"/usr/bin/env", "redis-server"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 22; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *log_path = NULL;
    ck_assert (asprintf (&log_path, "%s/%s.log", dir, args[0][0] == '-' ? args[1] : "sentinel")
               > 0);
    support_proc_t *proc = support_proc_start (argv, NULL, log_path);
    free (log_path);
    return proc;
}

//  The port of the server CTX talks to.
static int
s_server_port (redisContext *ctx)
{
    redisReply *reply = redisCommand (ctx, "CONFIG GET port");
    ck_assert (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2);
    int port = atoi (reply->element[1]->str);
    freeReplyObject (reply);
    return port;
}

//  true if CMD on PORT answers a text containing WANT (or a pair whose
//  second element is WANT, as get-master-addr-by-name does).
static bool
s_answers (int port, const char *cmd, const char *want)
{
    redisContext *ctx = redisConnect ("127.0.0.1", port);
    redisReply *reply = ctx && !ctx->err ? redisCommand (ctx, cmd) : NULL;
    bool found = false;
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS))
        found = strstr (reply->str, want) != NULL;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
        found = strcmp (reply->element[1]->str, want) == 0;
    if (reply)
        freeReplyObject (reply);
    redisFree (ctx);
    return found;
}

//  Poll CMD on PORT until its reply contains WANT (or 20 s pass).
static void
s_wait_for (int port, const char *cmd, const char *want)
{
    for (int waited = 0; waited < 20000; waited += 50) {
        if (s_answers (port, cmd, want))
            return;
        s_sleep_ms (50);
    }
    ck_abort_msg ("port %d: '%s' never showed '%s'", port, cmd, want);
}

//  A master, its replica and a Sentinel; CL->redis names it.
static void
s_cluster_start (cluster_t *cl)
{
    memset (cl, 0, sizeof *cl);
    cl->master = support_redis_start_tcp (0);
    const char *dir = support_redis_dir (cl->master);
    cl->master_port = support_redis_port (cl->master);
    cl->replica_port = support_free_port ();
    cl->sentinel_port = support_free_port ();
    char master_port[16], replica_port[16], conf_path[512];
    snprintf (master_port, sizeof master_port, "%d", cl->master_port);
    snprintf (replica_port, sizeof replica_port, "%d", cl->replica_port);
    const char *replica_args[] = {"--port",      replica_port, "--bind",    "127.0.0.1",
                                  "--save",      "",           "--dir",     dir,
                                  "--replicaof", "127.0.0.1",  master_port, NULL};
    cl->replica = s_redis_server (dir, replica_args);
    s_wait_for (cl->replica_port, "INFO replication", "master_link_status:up");

    snprintf (conf_path, sizeof conf_path, "%s/sentinel.conf", dir);
    FILE *conf = fopen (conf_path, "w");
    ck_assert (conf);
    fprintf (conf,
             "port %d\nbind 127.0.0.1\ndir %s\n"
             "sentinel monitor mymaster 127.0.0.1 %s 1\n"
             "sentinel down-after-milliseconds mymaster 1000\n"
             "sentinel failover-timeout mymaster 5000\n",
             cl->sentinel_port, dir, master_port);
    fclose (conf);
    const char *sentinel_args[] = {conf_path, "--sentinel", NULL};
    cl->sentinel = s_redis_server (dir, sentinel_args);
    s_wait_for (cl->sentinel_port, "SENTINEL get-master-addr-by-name mymaster", master_port);
    snprintf (cl->sentinels, sizeof cl->sentinels, "127.0.0.1:%d", cl->sentinel_port);
    snprintf (cl->url, sizeof cl->url, "redis://127.0.0.1:%d", cl->master_port);
    cl->redis =
        (maas_redis_config_t){.url = cl->url, .sentinels = cl->sentinels, .master = "mymaster"};
}

static void
s_cluster_stop (cluster_t *cl)
{
    support_proc_stop (&cl->sentinel);
    support_proc_stop (&cl->replica);
    support_redis_stop (&cl->master);
}

//  Ask Sentinel to fail over: true once it has begun (it answers
//  -NOGOODSLAVE until it has seen the replica).
static bool
s_failover (const cluster_t *cl)
{
    return s_answers (cl->sentinel_port, "SENTINEL failover mymaster", "OK");
}

START_TEST (test_follows_failover)
{
    cluster_t cl;
    s_cluster_start (&cl);
    char replica_port[16];
    maas_err_t err;
    snprintf (replica_port, sizeof replica_port, "%d", cl.replica_port);
    redisContext *ctx = maas_redis_connect (&cl.redis, 1000, &err);
    ck_assert_msg (ctx, "%s", err.text);
    ck_assert_int_eq (s_server_port (ctx), cl.master_port);
    freeReplyObject (redisCommand (ctx, "SET survivor yes"));
    freeReplyObject (redisCommand (ctx, "WAIT 1 2000"));
    redisFree (ctx);

    //  Sentinel learns of the replica from the master's INFO; then fail over.
    s_wait_for (cl.sentinel_port, "SENTINEL failover mymaster", "OK");
    s_wait_for (cl.sentinel_port, "SENTINEL get-master-addr-by-name mymaster", replica_port);
    ctx = NULL;
    for (int tries = 0; !ctx && tries < 200; tries++) {
        ctx = maas_redis_connect (&cl.redis, 1000, &err);
        if (!ctx)
            s_sleep_ms (50);    //  the promoted replica may still report "slave"
    }
    ck_assert_msg (ctx, "%s", err.text);
    ck_assert_int_eq (s_server_port (ctx), cl.replica_port);
    redisReply *reply = redisCommand (ctx, "GET survivor");
    ck_assert_str_eq (reply->str, "yes");
    freeReplyObject (reply);
    redisFree (ctx);
    s_cluster_stop (&cl);
}
END_TEST

//  Poll until Sentinel knows the replica (it learns it from the master's
//  INFO); only then can it promote it without being asked.
static void
s_wait_for_replica (const cluster_t *cl)
{
    for (int waited = 0; waited < 20000; waited += 100) {
        redisContext *ctx = redisConnect ("127.0.0.1", cl->sentinel_port);
        redisReply *reply =
            ctx && !ctx->err ? redisCommand (ctx, "SENTINEL replicas mymaster") : NULL;
        bool known = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0;
        freeReplyObject (reply);
        redisFree (ctx);
        if (known)
            return;
        s_sleep_ms (100);
    }
    ck_abort_msg ("Sentinel never saw the replica");
}

static int s_publish_to (maas_registry_t *registry, uint64_t seed, const char *job_id,
                         uint64_t *version);

//  A master that hangs (SIGSTOP) while Sentinel promotes its replica keeps
//  the announcement subscription open and silent. The watch asks Sentinel
//  and gives up on it, and a new watch hears what is published on the new
//  master. (Without asking, the worker would trust stale aliases for as
//  long as the old master hangs.)
START_TEST (test_watch_leaves_a_hung_master)
{
    signal (SIGPIPE, SIG_IGN);
    cluster_t cl;
    s_cluster_start (&cl);
    char err[256], replica_port[16];
    snprintf (replica_port, sizeof replica_port, "%d", cl.replica_port);
    s_wait_for_replica (&cl);
    maas_registry_watch_t *watch = s_watch (&cl, err, sizeof err);
    ck_assert_msg (watch, "%s", err);
    kill (support_redis_pid (cl.master), SIGSTOP);
    s_wait_for (cl.sentinel_port, "SENTINEL get-master-addr-by-name mymaster", replica_port);
    maas_registry_event_t event;
    int rc = 0;
    for (int i = 0; i < 30 && rc == 0; i++)
        rc = maas_registry_watch_next (watch, &event, 100);
    ck_assert_msg (rc == -1, "the watch stayed on the hung master (rc %d)", rc);
    maas_registry_watch_destroy (&watch);
    for (int tries = 0; !watch && tries < 200; tries++)
        if (!(watch = s_watch (&cl, err, sizeof err)))
            s_sleep_ms (50);    //  the promoted replica may still report "slave"
    ck_assert_msg (watch, "%s", err);
    maas_registry_t *registry = s_registry (&cl, err, sizeof err);
    ck_assert_msg (registry, "%s", err);
    uint64_t version = 0;
    ck_assert_msg (s_publish_to (registry, 5, NULL, &version) == 0, "%s",
                   maas_registry_error (registry));
    rc = maas_registry_watch_next (watch, &event, 5000);
    ck_assert_int_eq (rc, 1);
    ck_assert_str_eq (event.name, "fo");
    ck_assert_uint_eq (event.version, version);
    maas_registry_destroy (&registry);
    maas_registry_watch_destroy (&watch);
    kill (support_redis_pid (cl.master), SIGCONT);
    s_cluster_stop (&cl);
}
END_TEST

START_TEST (test_no_sentinel_answers)
{
    maas_err_t err;
    maas_redis_config_t redis = {.url = "redis://127.0.0.1:6379", .sentinels = "127.0.0.1:1"};
    ck_assert_ptr_null (maas_redis_connect (&redis, 500, &err));
    ck_assert_ptr_nonnull (
        strstr (err.text, "no Sentinel in '127.0.0.1:1' knows master 'mymaster'"));
}
END_TEST

//  ---------------------------------------------------------------------------
//  End to end: the real broker and worker, jobs flowing through a failover

#define S_JOBS_MAX 3000    //  jobs the flow submits at most
#define S_WINDOW   32      //  jobs in flight at once

typedef struct {
    char id[32];      //  job id (resubmitted under the same id)
    int succeeded;    //  outcomes seen
    int rejected;
    int other;
    int resent;         //  times submitted again after a rejection
    bool inflight;      //  awaiting an outcome
    char error[160];    //  the last rejection or failure
} flow_job_t;

typedef struct {
    cluster_t cl;                  //  master, replica, Sentinel
    char *dir;                     //  endpoints and logs
    char front[256], back[256];    //  broker endpoints
    char broker_log[256];          //  logs
    char worker_log[256];
    char env_sentinels[96];         //  "MAAS_REDIS_SENTINELS=..." for the programs
    support_proc_t *broker;         //  maas-broker
    support_proc_t *worker;         //  maas-worker
    maas_client_t *client;          //  the test's client
    maas_registry_t *registry;      //  the test's publisher, connected before the failover
    flow_job_t jobs[S_JOBS_MAX];    //  every job submitted
    int count;                      //  jobs used
} flow_t;

static void
s_outcome (const maas_result_t *result, void *arg)
{
    flow_job_t *job = arg;
    job->inflight = false;
    if (strcmp (result->status, "succeeded") == 0)
        job->succeeded++;
    else {
        if (strcmp (result->status, "rejected") == 0)
            job->rejected++;
        else
            job->other++;
        snprintf (job->error, sizeof job->error, "%s: %s", result->status,
                  result->error ? result->error : "");
    }
}

//  One row of four features for model "fo" at VERSION.
static void
s_submit (flow_t *flow, flow_job_t *job, int64_t version)
{
    static const char params[] = "\x81\xa5shape\x92\x01\x04";    //  {"shape": [1, 4]}
    float x[4] = {0.5f, -1.0f, 0.25f, 2.0f};
    uint8_t bytes[16];
    maas_codec_f32_to_le (bytes, x, 4);
    maas_submit_t spec = {.kind = "infer",
                          .id = job->id,
                          .model = "fo",
                          .version = version,
                          .params = params,
                          .params_size = sizeof params - 1};
    ck_assert_msg (
        maas_client_submit (flow->client, &spec, bytes, sizeof bytes, s_outcome, job, NULL) == 0,
        "%s", maas_client_error (flow->client));
    job->inflight = true;
}

static flow_job_t *
s_new_job (flow_t *flow, const char *tag)
{
    ck_assert_int_lt (flow->count, S_JOBS_MAX);
    flow_job_t *job = &flow->jobs[flow->count];
    snprintf (job->id, sizeof job->id, "%s-%d", tag, flow->count);
    flow->count++;
    return job;
}

//  An encoded 4-8-3 network (the caller frees *BLOB).
static void
s_blob (uint64_t seed, uint8_t **blob, size_t *size)
{
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_TANH}, {3, MAAS_ACT_SOFTMAX}};
    maas_mlp_t *mlp = maas_mlp_new (4, layers, 2);
    maas_mlp_init (mlp, seed);
    maas_model_t *model = maas_model_new (&mlp);
    maas_err_t err;
    ck_assert_msg (maas_model_encode (model, blob, size, &err) == 0, "%s", err.text);
    maas_model_destroy (&model);
}

//  Publish model "fo" from SEED under train job JOB_ID (NULL: none).
static int
s_publish_to (maas_registry_t *registry, uint64_t seed, const char *job_id, uint64_t *version)
{
    uint8_t *blob;
    size_t size;
    s_blob (seed, &blob, &size);
    maas_registry_meta_t meta = {.job_id = job_id};
    int rc = maas_registry_publish (registry, "fo", blob, size, &meta, version, NULL);
    free (blob);
    return rc;
}

static void
s_flow_start (flow_t *flow)
{
    memset (flow, 0, sizeof *flow);
    s_cluster_start (&flow->cl);
    flow->dir = support_tempdir_new ("failover");
    snprintf (flow->front, sizeof flow->front, "ipc://%s/front", flow->dir);
    snprintf (flow->back, sizeof flow->back, "ipc://%s/back", flow->dir);
    snprintf (flow->broker_log, sizeof flow->broker_log, "%s/broker.log", flow->dir);
    snprintf (flow->worker_log, sizeof flow->worker_log, "%s/worker.log", flow->dir);
    snprintf (flow->env_sentinels, sizeof flow->env_sentinels, "MAAS_REDIS_SENTINELS=%s",
              flow->cl.sentinels);
    char err[256];
    flow->registry = s_registry (&flow->cl, err, sizeof err);
    ck_assert_msg (flow->registry, "%s", err);
    uint64_t version = 0;
    ck_assert_int_eq (s_publish_to (flow->registry, 7, "train-1", &version), 0);
    ck_assert_uint_eq (version, 1);
    const char *env[] = {flow->env_sentinels, "MAAS_REDIS_MASTER=mymaster", NULL};
    char *broker = support_build_path ("broker/maas-broker");
    const char *bargv[] = {broker,    "--frontend",  flow->front,   "--backend", flow->back,
                           "--redis", flow->cl.url,  "--heartbeat", "100",       "--redis-retry",
                           "100",     "--log-level", "info",        NULL};
    flow->broker = support_proc_start (bargv, env, flow->broker_log);
    free (broker);
    char *worker = support_build_path ("worker/maas-worker");
    const char *wargv[] = {worker,        "--broker",    flow->back,  "--redis", flow->cl.url,
                           "--heartbeat", "100",         "--credits", "16",      "--batch-delay-us",
                           "30000",       "--log-level", "info",      NULL};
    flow->worker = support_proc_start (wargv, env, flow->worker_log);
    free (worker);
    flow->client = maas_client_new (flow->front, NULL);
    ck_assert_ptr_nonnull (flow->client);
    maas_client_set_retry (flow->client, 500);
    ck_assert_int_eq (maas_client_ping (flow->client, 5000), 0);
}

static void
s_flow_stop (flow_t *flow)
{
    maas_client_destroy (&flow->client);
    maas_registry_destroy (&flow->registry);
    support_proc_stop (&flow->worker);
    support_proc_stop (&flow->broker);
    s_cluster_stop (&flow->cl);
    support_tempdir_remove (&flow->dir);
}

//  Submit again every job rejected and not yet resubmitted; how many are
//  still awaited.
static int
s_tend (flow_t *flow, int64_t version)
{
    int waiting = 0;
    for (int i = 0; i < flow->count; i++) {
        flow_job_t *job = &flow->jobs[i];
        if (!job->inflight && job->succeeded == 0 && job->other == 0
            && job->rejected > job->resent) {
            job->resent++;
            s_submit (flow, job, version);
        }
        waiting += job->inflight;
    }
    return waiting;
}

//  Jobs flow (S_WINDOW in flight, each held about 30 ms by the worker's
//  batching) from before the failover until the
//  broker has written to the promoted replica for a while.
static void
s_flow_through_failover (flow_t *flow)
{
    char followed[64];
    snprintf (followed, sizeof followed, "at=127.0.0.1:%d role=master", flow->cl.replica_port);
    int64_t start = maas_clock_mono_ms (), followed_at = 0, asked_at = 0;
    bool asked = false;
    while (true) {
        int64_t now = maas_clock_mono_ms ();
        ck_assert_msg (now - start < 30000, "the broker did not follow the failover");
        for (int room = S_WINDOW - s_tend (flow, 1); room > 0 && flow->count < S_JOBS_MAX - 100;
             room--)
            s_submit (flow, s_new_job (flow, "fo"), 1);
        maas_client_poll (flow->client, 2);
        if (!asked && flow->count >= 200 && now - asked_at >= 50) {
            asked = s_failover (&flow->cl);
            asked_at = now;
        }
        if (asked && !followed_at && now - asked_at >= 100
            && support_file_has (flow->broker_log, followed))
            followed_at = now;
        if (followed_at && now - followed_at > 500)
            break;
    }
    int64_t deadline = maas_clock_mono_ms () + 20000;
    while (s_tend (flow, 1) > 0 && maas_clock_mono_ms () < deadline)
        maas_client_poll (flow->client, 50);
}

//  Every job submitted completed once, as the client sees it.
static void
s_check_once (const flow_t *flow)
{
    for (int i = 0; i < flow->count; i++) {
        const flow_job_t *job = &flow->jobs[i];
        ck_assert_msg (job->succeeded == 1 && job->other == 0 && !job->inflight,
                       "job %s: succeeded %d times, %d other outcomes, %s; last error '%s'",
                       job->id, job->succeeded, job->other,
                       job->inflight ? "still awaited" : "not awaited", job->error);
    }
}

//  HGET maas:job:ID FIELD on PORT, polled until it is WANT (or 3 s pass).
static void
s_record_is (int port, const char *id, const char *field, const char *want)
{
    char got[128] = "";
    for (int waited = 0; waited < 3000 && strcmp (got, want) != 0; waited += 20) {
        redisContext *ctx = redisConnect ("127.0.0.1", port);
        ck_assert (ctx && !ctx->err);
        redisReply *reply = redisCommand (ctx, "HGET maas:job:%s %s", id, field);
        snprintf (got, sizeof got, "%s",
                  reply && reply->type == REDIS_REPLY_STRING ? reply->str : "");
        freeReplyObject (reply);
        redisFree (ctx);
        if (strcmp (got, want) != 0)
            s_sleep_ms (20);
    }
    ck_assert_msg (strcmp (got, want) == 0, "port %d: job %s %s is '%s', not '%s'", port, id, field,
                   got, want);
}

//  Every job's record on PORT says succeeded (polled up to 5 s): jobs that
//  finished on the old master in its last moments were written again.
static void
s_all_recorded_on (const flow_t *flow, int port)
{
    redisContext *ctx = redisConnect ("127.0.0.1", port);
    ck_assert (ctx && !ctx->err);
    int wrong = 0;
    char first[128] = "";
    for (int waited = 0; waited < 5000; waited += 100) {
        for (int i = 0; i < flow->count; i++)
            redisAppendCommand (ctx, "HGET maas:job:%s status", flow->jobs[i].id);
        wrong = 0;
        for (int i = 0; i < flow->count; i++) {
            redisReply *reply = NULL;
            ck_assert_int_eq (redisGetReply (ctx, (void **) &reply), REDIS_OK);
            bool ok = reply->type == REDIS_REPLY_STRING && strcmp (reply->str, "succeeded") == 0;
            if (!ok && wrong++ == 0)
                snprintf (first, sizeof first, "%s is '%s'", flow->jobs[i].id,
                          reply->type == REDIS_REPLY_STRING ? reply->str : "missing");
            freeReplyObject (reply);
        }
        if (wrong == 0)
            break;
        s_sleep_ms (100);
    }
    redisFree (ctx);
    ck_assert_msg (wrong == 0, "%d of %d records on the new master are wrong; %s", wrong,
                   flow->count, first);
}

//  Jobs submitted now, run to the end; their records are on PORT.
static void
s_new_jobs_land_on (flow_t *flow, int port, int64_t version, const char *tag)
{
    int first = flow->count;
    for (int i = 0; i < 20; i++)
        s_submit (flow, s_new_job (flow, tag), version);
    int64_t deadline = maas_clock_mono_ms () + 10000;
    while (s_tend (flow, version) > 0 && maas_clock_mono_ms () < deadline)
        maas_client_poll (flow->client, 50);
    for (int i = first; i < flow->count; i++) {
        ck_assert_msg (flow->jobs[i].succeeded == 1 && flow->jobs[i].rejected == 0,
                       "job %s after the failover: %s", flow->jobs[i].id, flow->jobs[i].error);
        s_record_is (port, flow->jobs[i].id, "status", "succeeded");
    }
}

START_TEST (test_jobs_flow_through_failover)
{
    static flow_t flow;
    s_flow_start (&flow);
    s_flow_through_failover (&flow);
    s_check_once (&flow);
    char replica_port[16];
    snprintf (replica_port, sizeof replica_port, "%d", flow.cl.replica_port);
    ck_assert (s_answers (flow.cl.sentinel_port, "SENTINEL get-master-addr-by-name mymaster",
                          replica_port));
    ck_assert_msg (support_file_has (flow.broker_log, "following failover"), "broker log lacks it");
    s_new_jobs_land_on (&flow, flow.cl.replica_port, 1, "after");
    s_all_recorded_on (&flow, flow.cl.replica_port);

    //  A publisher connected before the failover (a trainer) publishes on
    //  the new master, and the worker loads that version from there: both
    //  ask Sentinel again before Sentinel closes their old connections.
    uint64_t version = 0;
    ck_assert_msg (s_publish_to (flow.registry, 8, "train-2", &version) == 0, "%s",
                   maas_registry_error (flow.registry));
    ck_assert_uint_eq (version, 2);
    ck_assert (s_answers (flow.cl.replica_port, "HGET maas:model:{fo} latest", "2"));
    s_new_jobs_land_on (&flow, flow.cl.replica_port, 2, "v2");
    ck_assert_msg (support_file_has (flow.worker_log, "redis: master moved"),
                   "worker log lacks it");
    s_check_once (&flow);
    s_flow_stop (&flow);
}
END_TEST

//  What Sentinel does to the clients of a master it demotes (CLIENT KILL
//  TYPE normal), done by hand: the registry's next read and publish go
//  through on a new connection. The link sees the closed connection before
//  it sends (the idle socket reads EOF), so even a publish without a job
//  id, which is never sent twice, goes through.
START_TEST (test_registry_rides_out_killed_connections)
{
    signal (SIGPIPE, SIG_IGN);    //  as every program's main does: hiredis uses write(2)
    support_redis_t *redis = support_redis_start ();
    maas_registry_t *registry = support_registry_new (redis);
    redisContext *admin = redisConnectUnix (support_redis_socket (redis));
    ck_assert (admin && !admin->err);
    uint64_t version = 0;
    ck_assert_int_eq (s_publish_to (registry, 1, "train-1", &version), 0);
    freeReplyObject (redisCommand (admin, "CLIENT KILL TYPE normal"));
    ck_assert_msg (s_publish_to (registry, 2, "train-2", &version) == 0, "%s",
                   maas_registry_error (registry));
    ck_assert_uint_eq (version, 2);
    freeReplyObject (redisCommand (admin, "CLIENT KILL TYPE normal"));
    ck_assert_int_eq (maas_registry_resolve (registry, "fo", NULL, &version), 0);
    ck_assert_uint_eq (version, 2);
    freeReplyObject (redisCommand (admin, "CLIENT KILL TYPE normal"));
    ck_assert_msg (s_publish_to (registry, 3, NULL, &version) == 0, "%s",
                   maas_registry_error (registry));
    ck_assert_uint_eq (version, 3);
    redisFree (admin);
    maas_registry_destroy (&registry);
    support_redis_stop (&redis);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("sentinel");
    TCase *failover = tcase_create ("failover");
    tcase_set_timeout (failover, 90);
    tcase_add_test (failover, test_follows_failover);
    tcase_add_test (failover, test_no_sentinel_answers);
    tcase_add_test (failover, test_registry_rides_out_killed_connections);
    tcase_add_test (failover, test_watch_leaves_a_hung_master);
    suite_add_tcase (suite, failover);
    TCase *flow = tcase_create ("end_to_end");
    tcase_set_timeout (flow, 120);
    tcase_add_test (flow, test_jobs_flow_through_failover);
    suite_add_tcase (suite, flow);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
