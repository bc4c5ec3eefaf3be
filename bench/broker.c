/*  broker.c: bench/broker. One maas-broker, 2 echo workers (libmaas worker
 *  API), 1 async client, tcp on 127.0.0.1, a private redis-server: jobs/s
 *  for small jobs with status in Redis and without, round-trip latency at
 *  one job in flight, jobs lost; plus a direct DEALER-ROUTER echo as the
 *  in-run floor. Figures on stdout as JSON lines, progress on stderr. */
#include "maas.h"
#include "proc.h"

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int jobs;                                 //  jobs per throughput case
    int latency_jobs;                         //  jobs per latency case
    int window;                               //  client jobs in flight
    int credits;                              //  per worker
    char dir[256];                            //  temp dir
    char redis_url[320];                      //  unix socket URL
    char front[64], back[64];                 //  broker endpoints
    char echo_ep[64];                         //  direct echo endpoint (baseline)
    pid_t redis, broker, workers[2], echo;    //  children
} bench_t;

static void
s_echo_worker (bench_t *b, const char *name)
{
    maas_log_set_level (MAAS_LOG_WARN);
    maas_worker_t *worker = maas_worker_new (b->back, "echo", b->credits, name, NULL);
    while (worker && !zsys_interrupted) {
        maas_work_t *work = maas_worker_recv (worker, 500);
        if (work)
            maas_worker_reply (worker, &work, maas_work_data (work), maas_work_size (work), NULL,
                               0);
    }
    maas_worker_destroy (&worker);
}

//  Children first, before this process makes any ZeroMQ context.
static int
s_start (bench_t *b)
{
    if (bench_redis_start (b->dir, b->redis_url, sizeof b->redis_url, &b->redis) != 0)
        return -1;
    int ports[3];
    if (bench_free_ports (ports, 3) != 0)
        return -1;
    snprintf (b->front, sizeof b->front, "tcp://127.0.0.1:%d", ports[0]);
    snprintf (b->back, sizeof b->back, "tcp://127.0.0.1:%d", ports[1]);
    const char *extra[] = {"--log-level", getenv ("MAAS_BENCH_BROKER_LOG") ? "info" : "warn",
                           "--max-jobs", "1000000", NULL};
    b->broker = bench_broker_start (b->front, b->back, b->redis_url, extra, NULL);
    snprintf (b->echo_ep, sizeof b->echo_ep, "tcp://127.0.0.1:%d", ports[2]);
    b->echo = bench_fork ();
    if (b->echo == 0) {
        zsock_t *router = zsock_new_router (b->echo_ep);
        while (router && !zsys_interrupted) {
            zmsg_t *msg = zmsg_recv (router);
            if (!msg)
                break;
            zmsg_send (&msg, router);
        }
        zsock_destroy (&router);
        _exit (0);
    }
    for (int i = 0; i < 2; i++) {
        b->workers[i] = bench_fork ();
        if (b->workers[i] == 0) {
            s_echo_worker (b, i ? "echo-2" : "echo-1");
            _exit (0);
        }
    }
    return 0;
}

//  CPU seconds used so far by the broker, Redis, this client, both workers.
static void
s_cpu (const bench_t *b, double cpu[4])
{
    cpu[0] = bench_cpu_s (b->broker);
    cpu[1] = bench_cpu_s (b->redis);
    cpu[2] = bench_cpu_s (getpid ());
    cpu[3] = bench_cpu_s (b->workers[0]) + bench_cpu_s (b->workers[1]);
}

static void
s_count (const maas_result_t *result, void *arg)
{
    int *ok = arg;
    *ok += strcmp (result->status, "succeeded") == 0;
}

//  Throughput: JOBS small jobs, WINDOW in flight; prints jobs/s and lost.
static void
s_throughput (bench_t *b, maas_client_t *client, const char *name, bool untracked)
{
    maas_submit_t spec = {.kind = "echo", .untracked = untracked};
    const char payload[16] = "0123456789abcdef";
    int ok = 0;
    maas_client_set_window (client, b->window);
    double cpu[4];
    s_cpu (b, cpu);
    int64_t start = maas_clock_mono_us ();
    for (int i = 0; i < b->jobs; i++)
        if (maas_client_submit (client, &spec, payload, sizeof payload, s_count, &ok, NULL) != 0)
            fprintf (stderr, "bench: submit: %s\n", maas_client_error (client));
    maas_client_wait_all (client, 120000);
    double seconds = (double) (maas_clock_mono_us () - start) / 1e6;
    bench_figure ("broker", name, "jobs_per_s", b->jobs / seconds, "jobs/s");
    bench_figure ("broker", name, "lost", b->jobs - ok, "jobs");
    double after[4];
    s_cpu (b, after);
    const char *metrics[4] = {"broker_cpu", "redis_cpu", "client_cpu", "workers_cpu"};
    for (int i = 0; i < 4; i++)
        bench_figure ("broker", name, metrics[i], 1e6 * (after[i] - cpu[i]) / b->jobs, "us/job");
    fprintf (stderr, "bench: %s %d jobs in %.2f s, %d ok\n", name, b->jobs, seconds, ok);
}

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static void
s_percentiles (const char *name, double *us, int n)
{
    qsort (us, (size_t) n, sizeof *us, s_cmp);
    bench_figure ("broker", name, "p50", us[n / 2] / 1000.0, "ms");
    bench_figure ("broker", name, "p99", us[(int) (n * 0.99)] / 1000.0, "ms");
}

//  Latency: one job in flight, LATENCY_JOBS times.
static void
s_latency (bench_t *b, maas_client_t *client, const char *name, bool untracked)
{
    maas_submit_t spec = {.kind = "echo", .untracked = untracked};
    double *us = calloc ((size_t) b->latency_jobs, sizeof *us);
    int ok = 0;
    for (int i = 0; i < b->latency_jobs; i++) {
        int64_t start = maas_clock_mono_us ();
        maas_client_submit (client, &spec, "x", 1, s_count, &ok, NULL);
        maas_client_wait_all (client, 5000);
        us[i] = (double) (maas_clock_mono_us () - start);
    }
    s_percentiles (name, us, b->latency_jobs);
    bench_figure ("broker", name, "lost", b->latency_jobs - ok, "jobs");
    free (us);
}

//  Turn on the persistence `maas up` gives its Redis (AOF, fsync every
//  second) and wait until the first rewrite is done, so the case after it
//  pays what a stack pays per job, not the one-off rewrite.
static int
s_redis_aof_on (const bench_t *b)
{
    redisContext *ctx = redisConnectUnix (b->redis_url + strlen ("unix://"));
    int rc = ctx && !ctx->err ? 0 : -1;
    const char *commands[] = {"CONFIG SET appendfsync everysec", "CONFIG SET appendonly yes"};
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        redisReply *reply = redisCommand (ctx, commands[i]);
        rc = reply && reply->type == REDIS_REPLY_STATUS ? 0 : -1;
        freeReplyObject (reply);
    }
    for (int i = 0; rc == 0 && i < 3000; i++) {
        redisReply *reply = redisCommand (ctx, "INFO persistence");
        bool busy = !reply || !reply->str || strstr (reply->str, "aof_rewrite_in_progress:1")
            || strstr (reply->str, "aof_enabled:0");
        freeReplyObject (reply);
        if (!busy)
            break;
        usleep (10000);
    }
    redisFree (ctx);
    return rc;
}

//  Baseline: the same round trip without a broker: DEALER ↔ ROUTER echo.
static void
s_direct (bench_t *b)
{
    zsock_t *dealer = zsock_new_dealer (b->echo_ep);
    zsock_set_rcvtimeo (dealer, 5000);    //  a missing echo ends the case, not the bench
    double *us = calloc ((size_t) b->latency_jobs, sizeof *us);
    int done = 0;
    while (done < b->latency_jobs) {
        int64_t start = maas_clock_mono_us ();
        zstr_send (dealer, "x");
        char *reply = zstr_recv (dealer);
        if (!reply)
            break;
        free (reply);
        us[done++] = (double) (maas_clock_mono_us () - start);
    }
    if (done > 0)
        s_percentiles ("baseline_zmq_echo", us, done);
    bench_figure ("broker", "baseline_zmq_echo", "lost", b->latency_jobs - done, "messages");
    free (us);
    zsock_destroy (&dealer);
}

int
main (int argc, char **argv)
{
    //  Arguments (all optional): JOBS LATENCY_JOBS [on|off|latency|aof].
    bench_t b = {.jobs = 200000, .latency_jobs = 20000, .window = 4000, .credits = 500};
    bench_deadline (900);
    if (argc > 1)
        b.jobs = atoi (argv[1]);
    if (argc > 2)
        b.latency_jobs = atoi (argv[2]);
    snprintf (b.dir, sizeof b.dir, "/tmp/maas-bench-broker-XXXXXX");
    if (!mkdtemp (b.dir) || s_start (&b) != 0) {
        fprintf (stderr, "bench: cannot start redis-server in %s\n", b.dir);
        return 1;
    }
    maas_client_t *client = maas_client_new (b.front, NULL);
    if (!client || maas_client_ping (client, 10000) != 0) {
        fprintf (stderr, "bench: broker did not answer\n");
        return 1;
    }
    maas_client_poll (client, 500);                //  workers connected
    const char *only = argc > 3 ? argv[3] : "";    //  on, off, latency, aof: one case only
    if (!*only || strcmp (only, "on") == 0 || strcmp (only, "aof") == 0)
        s_throughput (&b, client, "status_on", false);
    if (!*only || strcmp (only, "off") == 0)
        s_throughput (&b, client, "status_off", true);
    if (!*only || strcmp (only, "latency") == 0) {
        s_latency (&b, client, "latency_status_off", true);
        s_latency (&b, client, "latency_status_on", false);
    }
    if (!*only || strcmp (only, "aof") == 0) {    //  last: it changes the Redis
        if (s_redis_aof_on (&b) == 0)
            s_throughput (&b, client, "status_on_aof", false);
        else
            fprintf (stderr, "bench: could not turn on the AOF\n");
    }
    maas_client_destroy (&client);
    s_direct (&b);
    if (getenv ("MAAS_BENCH_COMMANDSTATS")) {    //  where Redis spent its time
        redisContext *ctx = redisConnectUnix (b.redis_url + 7);
        redisReply *reply = ctx && !ctx->err ? redisCommand (ctx, "INFO commandstats") : NULL;
        if (reply && reply->str)
            fprintf (stderr, "%s\n", reply->str);
        freeReplyObject (reply);
        redisFree (ctx);
    }
    for (int i = 0; i < 2; i++)
        bench_stop (&b.workers[i]);
    bench_stop (&b.echo);
    bench_stop (&b.broker);
    bench_stop (&b.redis);
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", b.dir);
    return system (cmd) == 0 ? 0 : 1;
}
