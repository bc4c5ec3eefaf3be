/*  check_support.c: the test fixtures themselves work: redis-server comes up
 *  on its private socket, answers, and is gone (by PID) after stop. */
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

START_TEST (test_redis_fixture_starts_and_stops)
{
    support_redis_t *redis = support_redis_start ();
    pid_t pid = support_redis_pid (redis);
    ck_assert_int_gt (pid, 0);
    redisContext *ctx = redisConnectUnix (support_redis_socket (redis));
    ck_assert (ctx && !ctx->err);
    redisReply *reply = redisCommand (ctx, "SET %s %s", "k", "v");
    ck_assert (reply && reply->type == REDIS_REPLY_STATUS);
    freeReplyObject (reply);
    reply = redisCommand (ctx, "GET k");
    ck_assert_str_eq (reply->str, "v");
    freeReplyObject (reply);
    redisFree (ctx);
    support_redis_stop (&redis);
    ck_assert_ptr_null (redis);
    ck_assert_int_eq (kill (pid, 0), -1);      //  reaped: no such process
}
END_TEST

START_TEST (test_redis_fixture_kill_and_restart)
{
    support_redis_t *redis = support_redis_start_tcp (0);
    ck_assert_int_gt (support_redis_port (redis), 0);
    support_redis_kill (redis);
    redisContext *ctx = redisConnectUnix (support_redis_socket (redis));
    ck_assert (!ctx || ctx->err);
    redisFree (ctx);
    support_redis_restart (redis);
    ctx = redisConnect ("127.0.0.1", support_redis_port (redis));
    ck_assert (ctx && !ctx->err);
    redisFree (ctx);
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_proc_exit_codes)
{
    const char *ok[] = {"/bin/sh", "-c", "exit 3", NULL};
    support_proc_t *proc = support_proc_start (ok, NULL, NULL);
    ck_assert_int_eq (support_proc_wait (proc, 5000), 3);
    support_proc_stop (&proc);
    const char *sleeper[] = {"/bin/sleep", "30", NULL};
    proc = support_proc_start (sleeper, NULL, NULL);
    ck_assert_int_eq (support_proc_wait (proc, 20), -1);
    ck_assert_int_eq (support_proc_stop (&proc), 128 + SIGTERM);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("support");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 60);
    tcase_add_test (core, test_redis_fixture_starts_and_stops);
    tcase_add_test (core, test_redis_fixture_kill_and_restart);
    tcase_add_test (core, test_proc_exit_codes);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
