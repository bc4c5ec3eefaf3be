/*  check_sentinel.c: every program finds Redis through Sentinel: a real
 *  master, replica and Sentinel; a forced failover; the next connection
 *  lands on the promoted replica with the data intact. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    ck_assert (asprintf (&log_path, "%s/%s.log", dir, args[0][0] == '-' ? args[1] : "sentinel") > 0);
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

//  Poll CMD on PORT until its reply contains WANT (or 20 s pass).
static void
s_wait_for (int port, const char *cmd, const char *want)
{
    for (int waited = 0; waited < 20000; waited += 50) {
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
        if (found)
            return;
        s_sleep_ms (50);
    }
    ck_abort_msg ("port %d: '%s' never showed '%s'", port, cmd, want);
}

START_TEST (test_follows_failover)
{
    support_redis_t *master = support_redis_start_tcp (0);
    const char *dir = support_redis_dir (master);
    char master_port[16], replica_port[16], sentinel_port[16], conf_path[512];
    snprintf (master_port, sizeof master_port, "%d", support_redis_port (master));
    snprintf (replica_port, sizeof replica_port, "%d", support_free_port ());
    snprintf (sentinel_port, sizeof sentinel_port, "%d", support_free_port ());
    const char *replica_args[] = {"--port", replica_port, "--bind", "127.0.0.1", "--save", "",
                                  "--dir", dir, "--replicaof", "127.0.0.1", master_port, NULL};
    support_proc_t *replica = s_redis_server (dir, replica_args);
    s_wait_for (atoi (replica_port), "INFO replication", "master_link_status:up");

    snprintf (conf_path, sizeof conf_path, "%s/sentinel.conf", dir);
    FILE *conf = fopen (conf_path, "w");
    ck_assert (conf);
    fprintf (conf, "port %s\nbind 127.0.0.1\ndir %s\n"
                   "sentinel monitor mymaster 127.0.0.1 %s 1\n"
                   "sentinel down-after-milliseconds mymaster 1000\n"
                   "sentinel failover-timeout mymaster 5000\n",
             sentinel_port, dir, master_port);
    fclose (conf);
    const char *sentinel_args[] = {conf_path, "--sentinel", NULL};
    support_proc_t *sentinel = s_redis_server (dir, sentinel_args);
    s_wait_for (atoi (sentinel_port), "SENTINEL get-master-addr-by-name mymaster", master_port);

    char sentinels[64], err[256];
    snprintf (sentinels, sizeof sentinels, "127.0.0.1:%s", sentinel_port);
    setenv ("MAAS_REDIS_SENTINELS", sentinels, 1);
    setenv ("MAAS_REDIS_MASTER", "mymaster", 1);
    redisContext *ctx = maas_redis_connect ("redis://127.0.0.1:1", 1000, err, sizeof err);
    ck_assert_msg (ctx, "%s", err);
    ck_assert_int_eq (s_server_port (ctx), support_redis_port (master));
    freeReplyObject (redisCommand (ctx, "SET survivor yes"));
    freeReplyObject (redisCommand (ctx, "WAIT 1 2000"));
    redisFree (ctx);

    //  Sentinel learns of the replica from the master's INFO; then fail over.
    //  (FAILOVER answers -NOGOODSLAVE until then, +OK once it starts.)
    s_wait_for (atoi (sentinel_port), "SENTINEL failover mymaster", "OK");
    s_wait_for (atoi (sentinel_port), "SENTINEL get-master-addr-by-name mymaster", replica_port);
    ctx = NULL;
    for (int tries = 0; !ctx && tries < 200; tries++) {
        ctx = maas_redis_connect ("redis://127.0.0.1:1", 1000, err, sizeof err);
        if (!ctx)
            s_sleep_ms (50);    //  the promoted replica may still report "slave"
    }
    ck_assert_msg (ctx, "%s", err);
    ck_assert_int_eq (s_server_port (ctx), atoi (replica_port));
    redisReply *reply = redisCommand (ctx, "GET survivor");
    ck_assert_str_eq (reply->str, "yes");
    freeReplyObject (reply);
    redisFree (ctx);

    unsetenv ("MAAS_REDIS_SENTINELS");
    support_proc_stop (&sentinel);
    support_proc_stop (&replica);
    support_redis_stop (&master);
}
END_TEST

START_TEST (test_no_sentinel_answers)
{
    char err[256];
    setenv ("MAAS_REDIS_SENTINELS", "127.0.0.1:1", 1);
    ck_assert_ptr_null (maas_redis_connect ("redis://127.0.0.1:6379", 500, err, sizeof err));
    ck_assert_ptr_nonnull (strstr (err, "no Sentinel in '127.0.0.1:1' knows master 'mymaster'"));
    unsetenv ("MAAS_REDIS_SENTINELS");
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
    suite_add_tcase (suite, failover);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
