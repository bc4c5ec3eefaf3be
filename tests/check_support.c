/*  check_support.c: the test fixtures themselves work: redis-server comes up
 *  on its private socket, answers, and is gone (by PID) after stop. */
#include "support.h"
#include "maas.h"
#include <string.h>

#include <check.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>

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
    ck_assert_int_eq (kill (pid, 0), -1);    //  reaped: no such process
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

//  The site a suite's daemons run in: a live redis-server, and endpoints
//  and logs inside its own temp dir, all gone once closed.
START_TEST (test_site_opens_and_closes)
{
    support_site_t site;
    support_site_open (&site, "site");
    pid_t pid = support_redis_pid (site.redis);
    ck_assert_int_gt (pid, 0);
    ck_assert_int_eq (access (site.dir, W_OK), 0);
    char path[300];
    snprintf (path, sizeof path, "ipc://%s/front", site.dir);
    ck_assert_str_eq (site.front, path);
    snprintf (path, sizeof path, "ipc://%s/back", site.dir);
    ck_assert_str_eq (site.back, path);
    snprintf (path, sizeof path, "%s/broker.log", site.dir);
    ck_assert_str_eq (site.broker_log, path);
    snprintf (path, sizeof path, "%s/worker.log", site.dir);
    ck_assert_str_eq (site.worker_log, path);
    char *dir = strdup (site.dir);
    support_site_close (&site);
    ck_assert_ptr_null (site.redis);
    ck_assert_ptr_null (site.dir);
    ck_assert_int_eq (kill (pid, 0), -1);
    ck_assert_int_eq (access (dir, F_OK), -1);
    free (dir);
}
END_TEST

//  A model of the layers asked for, its weights drawn from the seed.
START_TEST (test_model_new_is_seeded)
{
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_RELU}, {3, MAAS_ACT_SOFTMAX}};
    maas_model_t *models[3] = {support_model_new (4, layers, 2, 7),
                               support_model_new (4, layers, 2, 7),
                               support_model_new (4, layers, 2, 8)};
    const maas_tensor_t *weights[3];
    for (int i = 0; i < 3; i++) {
        const maas_mlp_t *mlp = maas_model_mlp_const (models[i]);
        ck_assert_uint_eq (maas_mlp_inputs (mlp), 4);
        ck_assert_uint_eq (maas_mlp_outputs (mlp), 3);
        weights[i] = maas_mlp_weights_const (mlp, 0);
    }
    size_t bytes = maas_tensor_size (weights[0]) * sizeof (float);
    ck_assert (memcmp (weights[0]->data, weights[1]->data, bytes) == 0);
    ck_assert (memcmp (weights[0]->data, weights[2]->data, bytes) != 0);
    for (int i = 0; i < 3; i++)
        maas_model_destroy (&models[i]);
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

//  $MAAS_TEST_WRAPPER prefixes the build tree's programs (valgrind runs the
//  binary itself, not libtool's script), and nothing else.
START_TEST (test_proc_wrapper_prefixes_build_programs)
{
    char *dir = support_tempdir_new ("wrapper"), log[512];
    snprintf (log, sizeof log, "%s/out.log", dir);
    char *broker = support_build_path ("broker/maas-broker");
    const char *wrapped[] = {broker, "--version", NULL}, *plain[] = {"/bin/echo", "plain", NULL};
    setenv ("MAAS_TEST_WRAPPER", "/bin/echo wrapped:", 1);    //  this test's process only
    support_proc_t *proc = support_proc_start (wrapped, NULL, log);
    ck_assert_int_eq (support_proc_wait (proc, 10000), 0);
    support_proc_stop (&proc);
    proc = support_proc_start (plain, NULL, log);
    ck_assert_int_eq (support_proc_wait (proc, 10000), 0);
    support_proc_stop (&proc);
    ck_assert (support_file_has (log, "wrapped: "));
    //  The binary, not a script: the programs link libmaas statically
    //  (shared/local.am), and libtool would hand over .libs/NAME if not.
    ck_assert (support_file_has (log, "wrapped: " MAAS_TOP_BUILDDIR "/broker/maas-broker")
               || support_file_has (log, "/.libs/"));
    ck_assert (support_file_has (log, "maas-broker --version"));
    ck_assert (support_file_has (log, "plain"));
    ck_assert (!support_file_has (log, "wrapped: /bin/echo"));
    unsetenv ("MAAS_TEST_WRAPPER");
    free (broker);
    support_tempdir_remove (&dir);
}
END_TEST

//  The daemon helpers put the endpoints and Redis URL first, then EXTRA;
//  the gateway's port is read from its log, 0 once it has exited silent.
START_TEST (test_daemon_helpers_argv_and_port)
{
    char *dir = support_tempdir_new ("daemons"), log[512], gw_log[512];
    snprintf (log, sizeof log, "%s/out.log", dir);
    snprintf (gw_log, sizeof gw_log, "%s/gateway.log", dir);
    setenv ("MAAS_TEST_WRAPPER", "/bin/echo wrapped:", 1);    //  argv shown, nothing run
    const char *extra[] = {"--name", "n1", NULL};
    support_proc_t *procs[] = {support_broker_start ("ipc://f", "ipc://b", "unix:///r", extra, log),
                               support_worker_start ("ipc://b", "unix:///r", extra, log),
                               support_trainer_start ("ipc://b", "unix:///r", NULL, log),
                               support_gateway_start ("ipc://f", "unix:///r", extra, gw_log)};
    unsetenv ("MAAS_TEST_WRAPPER");
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq (support_proc_wait (procs[i], 10000), 0);
        ck_assert_int_eq (support_gateway_port (gw_log, procs[i]), 0);
    }
    ck_assert (support_file_has (log,
                                 "maas-broker --frontend ipc://f --backend ipc://b --redis "
                                 "unix:///r --name n1"));
    ck_assert (support_file_has (log, "maas-worker --broker ipc://b --redis unix:///r --name n1"));
    ck_assert (support_file_has (log, "maas-trainer --broker ipc://b --redis unix:///r"));
    ck_assert (support_file_has (gw_log,
                                 "maas-gateway --http 127.0.0.1:0 --broker ipc://f "
                                 "--redis unix:///r --name n1"));
    FILE *file = fopen (gw_log, "a");
    ck_assert (file);
    fputs ("maas-gateway: listening on https://127.0.0.1:4321\n", file);
    fclose (file);
    ck_assert_int_eq (support_gateway_port (gw_log, procs[3]), 4321);
    for (size_t i = 0; i < 4; i++)
        support_proc_stop (&procs[i]);
    support_tempdir_remove (&dir);
}
END_TEST

START_TEST (test_redis_url_parse)
{
    maas_redis_url_t url;
    maas_err_t err;
    ck_assert_int_eq (maas_redis_url_parse (&url, "redis://u:pw@10.0.0.1:6380/3", &err), 0);
    ck_assert_str_eq (url.host, "10.0.0.1");
    ck_assert_int_eq (url.port, 6380);
    ck_assert_str_eq (url.user, "u");
    ck_assert_str_eq (url.password, "pw");
    ck_assert_int_eq (url.db, 3);
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_url_parse (&url, "unix:///tmp/r.sock?db=2", &err), 0);
    ck_assert_str_eq (url.path, "/tmp/r.sock");
    ck_assert_int_eq (url.db, 2);
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_url_parse (&url, "http://x", &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "unknown scheme"));
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_int_eq (maas_redis_url_parse (&url, "redis://h:99999", &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "port"));
}
END_TEST

START_TEST (test_redis_url_credentials_and_mask)
{
    maas_redis_url_t url;
    char shown[256];
    maas_err_t err;
    ck_assert_int_eq (maas_redis_url_parse (&url, "unix://u:p@ss@/tmp/r.sock?db=2", &err), 0);
    ck_assert_str_eq (url.user, "u");
    ck_assert_str_eq (url.password, "p@ss");
    ck_assert_str_eq (url.path, "/tmp/r.sock");
    ck_assert_int_eq (url.db, 2);
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_url_parse (&url, "unix://:pw@/tmp/r.sock", &err), 0);
    ck_assert_ptr_null (url.user);
    ck_assert_str_eq (url.password, "pw");
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_url_parse (&url, "unix://u:secret@tmp/r.sock", &err), -1);
    ck_assert_ptr_null (strstr (err.text, "secret"));
    ck_assert_str_eq (maas_redis_url_mask ("redis://u:secret@h:1/2", shown, sizeof shown),
                      "redis://u:***@h:1/2");
    ck_assert_str_eq (maas_redis_url_mask ("unix://secret@/r.sock", shown, sizeof shown),
                      "unix://***@/r.sock");
    ck_assert_str_eq (maas_redis_url_mask ("redis://h:1", shown, sizeof shown), "redis://h:1");
    ck_assert_str_eq (maas_redis_url_mask ("s:pw@a:1,b:2,:x@c:3", shown, sizeof shown),
                      "s:***@a:1,b:2,:***@c:3");
    ck_assert_int_eq (maas_redis_sentinel_parse (&url, "sen:p:w@10.0.0.1:26379", 22), 0);
    ck_assert_str_eq (url.user, "sen");
    ck_assert_str_eq (url.password, "p:w");
    ck_assert_str_eq (url.host, "10.0.0.1");
    ck_assert_int_eq (url.port, 26379);
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_sentinel_parse (&url, "10.0.0.1:26379,x:1", 14), 0);
    ck_assert_ptr_null (url.password);
    maas_redis_url_clear (&url);
    ck_assert_int_eq (maas_redis_sentinel_parse (&url, "nohost", 6), -1);
}
END_TEST

START_TEST (test_redis_connect_real_and_dead)
{
    support_redis_t *redis = support_redis_start_tcp (0);
    char url[64];
    maas_err_t err;
    redisContext *ctx =
        maas_redis_connect (&(maas_redis_config_t){.url = support_redis_url (redis)}, 1000, &err);
    ck_assert_msg (ctx, "%s", err.text);
    redisFree (ctx);
    snprintf (url, sizeof url, "redis://127.0.0.1:%d/1", support_redis_port (redis));
    ctx = maas_redis_connect (&(maas_redis_config_t){.url = url}, 1000, &err);
    ck_assert_msg (ctx, "%s", err.text);
    redisFree (ctx);
    support_redis_kill (redis);
    ck_assert_ptr_null (maas_redis_connect (&(maas_redis_config_t){.url = url}, 1000, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "refused"));
    support_redis_stop (&redis);
}
END_TEST

//  A process a test started dies with the test, even when the test never
//  stops it (an abort, a harness timeout).
START_TEST (test_children_die_with_the_test)
{
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    pid_t test = fork ();
    if (test == 0) {
        const char *argv[] = {"/bin/sleep", "30", NULL};
        support_proc_t *proc = support_proc_start (argv, NULL, NULL);
        pid_t pid = support_proc_pid (proc);
        ssize_t ignored = write (fds[1], &pid, sizeof pid);
        (void) ignored;
        usleep (200 * 1000);    //  let the child reach its prctl
        _exit (0);              //  "dies" without stopping it
    }
    pid_t sleeper = 0;
    ck_assert_int_eq (read (fds[0], &sleeper, sizeof sleeper), sizeof sleeper);
    waitpid (test, NULL, 0);
    bool gone = false;
    for (int waited = 0; !gone && waited < 5000; waited += 20) {
        char path[64], stat[256] = "";
        snprintf (path, sizeof path, "/proc/%d/stat", (int) sleeper);
        FILE *file = fopen (path, "r");
        if (file) {
            stat[fread (stat, 1, sizeof stat - 1, file)] = '\0';
            fclose (file);
        }
        char *paren = strrchr (stat, ')');
        gone = !file || (paren && paren[2] == 'Z');
        if (!gone)
            usleep (20 * 1000);
    }
    ck_assert_msg (gone, "pid %d outlived the test that started it", (int) sleeper);
    close (fds[0]);
    close (fds[1]);
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
    tcase_add_test (core, test_site_opens_and_closes);
    tcase_add_test (core, test_model_new_is_seeded);
    tcase_add_test (core, test_proc_exit_codes);
    tcase_add_test (core, test_children_die_with_the_test);
    tcase_add_test (core, test_proc_wrapper_prefixes_build_programs);
    tcase_add_test (core, test_daemon_helpers_argv_and_port);
    tcase_add_test (core, test_redis_url_parse);
    tcase_add_test (core, test_redis_url_credentials_and_mask);
    tcase_add_test (core, test_redis_connect_real_and_dead);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
