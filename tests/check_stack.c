/*  check_stack.c: `maas up` / `maas ps` / `maas down` with the real
 *  binaries: a private redis-server, a broker and workers come up detached
 *  under a state dir; two stacks side by side do not collide; down stops
 *  exactly those processes and leaves no process and no socket behind. */
#include "maas.h"
#include "client.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

//  Run `maas ARGS...` with ENV ("NAME=value", NULL-terminated, or NULL)
//  added to the environment; output into DIR/LOG.
//  Every stack a test brings up is listed in S_STACKS (a file the suite's
//  unchecked set-up names, read back by its teardown in the parent), so a
//  test that fails before its `maas down` leaves nothing running.
static char s_stacks[300];

static void
s_note_stack (const char *const *args)
{
    for (size_t i = 1; args[0] && strcmp (args[0], "up") == 0 && args[i]; i++)
        if (strcmp (args[i], "--state") == 0 && args[i + 1]) {
            FILE *list = fopen (s_stacks, "a");
            if (list) {
                fprintf (list, "%s\n", args[i + 1]);
                fclose (list);
            }
        }
}

static void
s_suite_setup (void)
{
    char *dir = support_tempdir_new ("stack-list");
    snprintf (s_stacks, sizeof s_stacks, "%s/stacks", dir);
    free (dir);
}

//  `maas down` for every stack listed (a test that passed has already
//  brought its own down: this finds nothing running), then the list.
static void
s_suite_teardown (void)
{
    char *maas = support_build_path ("client/maas"), state[600];
    FILE *list = fopen (s_stacks, "r");
    while (list && fgets (state, sizeof state, list)) {
        state[strcspn (state, "\n")] = '\0';
        const char *argv[] = {maas, "down", "--state", state, NULL};
        support_proc_t *proc = support_proc_start (argv, NULL, "/dev/null");
        support_proc_wait (proc, 30000);
        support_proc_stop (&proc);
    }
    if (list)
        fclose (list);
    free (maas);
    unlink (s_stacks);
    *strrchr (s_stacks, '/') = '\0';
    rmdir (s_stacks);
}

static int
s_maas_env (const char *dir, const char *log, const char *const *args, const char *const *env)
{
    s_note_stack (args);
    char *maas = support_build_path ("client/maas"), log_path[600];
    snprintf (log_path, sizeof log_path, "%s/%s", dir, log);
    const char *argv[16] = {maas};
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    free (maas);
    return code;
}

static int
s_maas (const char *dir, const char *log, const char *const *args)
{
    return s_maas_env (dir, log, args, NULL);
}

static char *
s_read (const char *dir, const char *name)
{
    char path[600], *text = calloc (1, 16384);
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "r");
    if (file) {
        text[fread (text, 1, 16383, file)] = '\0';
        fclose (file);
    }
    return text;
}

//  PIDs in STATE/stack.pids into PIDS; returns how many.
static int
s_pids (const char *state, pid_t *pids, int max)
{
    char *text = s_read (state, "stack.pids"), role[32], program[64];
    int count = 0, pid, used = 0, offset = 0;
    while (count < max
           && sscanf (text + offset, "%31s %d %63s%n", role, &pid, program, &used) == 3) {
        pids[count++] = pid;
        offset += used;
    }
    free (text);
    return count;
}

//  The value of NAME in STATE/env (empty if absent); the caller frees.
static char *
s_env_value (const char *state, const char *name)
{
    char *env = s_read (state, "env"), key[64];
    snprintf (key, sizeof key, "%s=", name);
    char *found = strstr (env, key);
    char *value = strdup (found ? found + strlen (key) : "");
    value[strcspn (value, "\n")] = '\0';
    free (env);
    return value;
}

//  The string reply to the command FMT, ... at the Redis at URL (the
//  caller frees it), or NULL for any other reply (nil).
static char *
s_redis_str (const char *url, const char *fmt, ...)
{
    maas_err_t err;
    redisContext *redis = maas_redis_connect (&(maas_redis_config_t){.url = url}, 2000, &err);
    ck_assert_msg (redis, "%s", err.text);
    va_list args;
    va_start (args, fmt);
    redisReply *reply = redisvCommand (redis, fmt, args);
    va_end (args);
    ck_assert_ptr_nonnull (reply);
    char *value = reply->type == REDIS_REPLY_STRING ? strdup (reply->str) : NULL;
    freeReplyObject (reply);
    redisFree (redis);
    return value;
}

//  GET KEY from the Redis at URL: the value (caller frees) or NULL for nil.
//  SET_TO, if not NULL, is written first.
static char *
s_redis_get (const char *url, const char *key, const char *set_to)
{
    if (set_to)
        free (s_redis_str (url, "SET %s %s", key, set_to));
    return s_redis_str (url, "GET %s", key);
}

//  Publish a small valid model as the next version of NAME in the Redis at URL.
static void
s_publish (const char *url, const char *name)
{
    maas_err_t err;
    maas_registry_t *reg = maas_registry_new (url, "maas:", &err);
    ck_assert_msg (reg, "%s", err.text);
    maas_layer_spec_t layers[] = {{4, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (3, layers, 2);
    maas_mlp_init (mlp, 7);
    maas_model_t *model = maas_model_new (&mlp);
    support_publish_model (reg, name, model);
    maas_model_destroy (&model);
    maas_registry_destroy (&reg);
}

//  maas model unalias NAME ALIAS, and maas model rm NAME (the whole model).
START_TEST (test_model_unalias_rm_all)
{
    char *work = support_tempdir_new ("stack-model"), state[600], env[700];
    snprintf (state, sizeof state, "%s/s", work);
    const char *up[] = {"up",      "--workers", "0",      "--trainers", "0",
                        "--state", state,       "--http", "off",        NULL};
    ck_assert_int_eq (s_maas (work, "up.log", up), 0);
    char *url = s_env_value (state, "MAAS_REDIS_URL");
    s_publish (url, "m");
    s_publish (url, "m");
    snprintf (env, sizeof env, "MAAS_STATE_DIR=%s", state);
    const char *stack_env[] = {env, NULL};
    const char *alias[] = {"model", "alias", "m", "prod", "1", NULL};
    const char *unalias[] = {"model", "unalias", "m", "prod", NULL};
    const char *rm_all[] = {"model", "rm", "m", NULL};
    const char *show[] = {"model", "show", "m@1", NULL};
    ck_assert_int_eq (s_maas_env (work, "alias.log", alias, stack_env), 0);
    ck_assert_int_eq (s_maas_env (work, "unalias.log", unalias, stack_env), 0);
    ck_assert_int_eq (s_maas_env (work, "unalias2.log", unalias, stack_env), 1);
    ck_assert_int_eq (s_maas_env (work, "rm.log", rm_all, stack_env), 0);
    char *log = s_read (work, "rm.log");
    ck_assert_msg (strstr (log, "deleted m@1\ndeleted m@2\n"), "%s", log);
    free (log);
    ck_assert_int_eq (s_maas_env (work, "show.log", show, stack_env), 1);
    ck_assert_int_eq (s_maas_env (work, "rm-empty.log", rm_all, stack_env), 1);
    log = s_read (work, "rm-empty.log");
    ck_assert_msg (strstr (log, "unknown model m"), "%s", log);    //  the name went too
    free (log);
    const char *down[] = {"down", "--purge", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    free (url);
    support_tempdir_remove (&work);
}
END_TEST

//  Run the shell SCRIPT (with $MAAS pointing at the built maas), output into DIR/LOG.
static int
s_sh (const char *dir, const char *log, const char *script)
{
    char *maas = support_build_path ("client/maas"), log_path[600], env_maas[700];
    snprintf (log_path, sizeof log_path, "%s/%s", dir, log);
    snprintf (env_maas, sizeof env_maas, "MAAS=%s", maas);
    const char *argv[] = {"/bin/sh", "-c", script, NULL}, *env[] = {env_maas, NULL};
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    free (maas);
    return code;
}

//  A PID that is gone, or a zombie nobody has reaped yet, is not running.
static bool
s_running (pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    size_t got = fread (stat, 1, sizeof stat - 1, file);
    fclose (file);
    stat[got] = '\0';
    char *paren = strrchr (stat, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

START_TEST (test_up_ps_down)
{
    char *work = support_tempdir_new ("stack"), state_a[600], state_b[600];
    snprintf (state_a, sizeof state_a, "%s/a", work);
    snprintf (state_b, sizeof state_b, "%s/b", work);
    const char *up_a[] = {"up",      "--workers", "2",      "--trainers", "0",
                          "--state", state_a,     "--http", "off",        NULL};
    const char *up_b[] = {"up",      "--workers", "1",      "--trainers", "0",
                          "--state", state_b,     "--http", "off",        NULL};
    int code = s_maas (work, "up-a.log", up_a);
    char *log = s_read (work, "up-a.log");
    ck_assert_msg (code == 0, "maas up: %s", log);
    ck_assert_ptr_nonnull (strstr (log, "worker-2"));
    free (log);
    //  A second stack beside it: its own socket, endpoints, processes.
    ck_assert_int_eq (s_maas (work, "up-b.log", up_b), 0);
    //  The same state dir twice: refused, naming the running stack.
    ck_assert_int_eq (s_maas (work, "up-a2.log", up_a), 1);
    log = s_read (work, "up-a2.log");
    ck_assert_msg (strstr (log, "already up"), "%s", log);
    free (log);

    pid_t pids_a[8], pids_b[8];
    int count_a = s_pids (state_a, pids_a, 8), count_b = s_pids (state_b, pids_b, 8);
    ck_assert_int_eq (count_a, 4);    //  redis, broker, 2 workers
    ck_assert_int_eq (count_b, 3);
    for (int i = 0; i < count_a; i++)
        ck_assert (s_running (pids_a[i]));
    //  The stack serves: the broker answers a PING through the env file's endpoint.
    char *broker = s_env_value (state_a, "MAAS_BROKER_FRONTEND");
    ck_assert_str_ne (broker, "");
    maas_client_t *client = maas_client_new (broker, NULL);
    ck_assert_int_eq (maas_client_ping (client, 5000), 0);
    maas_client_destroy (&client);
    free (broker);

    const char *ps_a[] = {"ps", "--state", state_a, NULL};
    ck_assert_int_eq (s_maas (work, "ps.log", ps_a), 0);
    log = s_read (work, "ps.log");
    ck_assert_ptr_nonnull (strstr (log, "running"));
    free (log);
    //  maas status names the stack's processes too, and reads that stack's
    //  Redis (its broker's counters), not another one's.
    const char *status_a[] = {"status", "--state", state_a, NULL};
    const char *status_b[] = {"status", "--state", state_b, NULL};
    ck_assert_int_eq (s_maas (work, "status-a.log", status_a), 0);
    ck_assert_int_eq (s_maas (work, "status-b.log", status_b), 0);
    log = s_read (work, "status-a.log");
    ck_assert_msg (strstr (log, "worker-2") && strstr (log, "running"), "%s", log);
    ck_assert_msg (strstr (log, "unfinished jobs"), "%s", log);
    //  The broker's counters: times in ISO 8601, peers not all called workers.
    //  (Both workers reach the broker's counters within a second or two.)
    for (int i = 0; i < 50 && !strstr (log, "connected      2"); i++) {
        free (log);
        usleep (200000);
        ck_assert_int_eq (s_maas (work, "status-a.log", status_a), 0);
        log = s_read (work, "status-a.log");
    }
    ck_assert_msg (strstr (log, "connected      2 (workers and trainers)"), "%s", log);
    ck_assert_msg (strstr (log, "started        20") && strstr (log, "Z\n"), "%s", log);
    ck_assert_msg (!strstr (log, "started_ms"), "%s", log);
    free (log);
    log = s_read (work, "status-b.log");
    ck_assert_msg (strstr (log, "worker-1") && !strstr (log, "worker-2"), "%s", log);
    free (log);

    const char *down_a[] = {"down", "--state", state_a, NULL};
    ck_assert_int_eq (s_maas (work, "down-a.log", down_a), 0);
    for (int i = 0; i < count_a; i++)
        ck_assert_msg (!s_running (pids_a[i]), "pid %d still runs", (int) pids_a[i]);
    const char *leftovers[] = {"redis.sock", "frontend.sock", "backend.sock", "stack.pids", "env"};
    for (size_t i = 0; i < 5; i++) {
        char path[700];
        snprintf (path, sizeof path, "%s/%s", state_a, leftovers[i]);
        ck_assert_msg (access (path, F_OK) != 0, "%s left behind", path);
    }
    //  Stack B was not touched by A's down.
    for (int i = 0; i < count_b; i++)
        ck_assert (s_running (pids_b[i]));
    const char *down_b[] = {"down", "--state", state_b, NULL};
    ck_assert_int_eq (s_maas (work, "down-b.log", down_b), 0);
    for (int i = 0; i < count_b; i++)
        ck_assert (!s_running (pids_b[i]));
    //  Nothing up any more: down says so and fails.
    ck_assert_int_eq (s_maas (work, "down-again.log", down_a), 1);
    support_tempdir_remove (&work);
}
END_TEST

START_TEST (test_bad_arguments)
{
    char *work = support_tempdir_new ("stack-args");
    const char *too_many[] = {"up", "--workers", "65", "--state", work, "--http", "off", NULL};
    ck_assert_int_eq (s_maas (work, "bad.log", too_many), 2);
    char *log = s_read (work, "bad.log");
    ck_assert_msg (strstr (log, "maas up: --workers: '65' is not a whole number (0..64)"), "%s",
                   log);
    free (log);
    const char *version[] = {"--version", NULL};
    ck_assert_int_eq (s_maas (work, "version.log", version), 0);
    log = s_read (work, "version.log");
    ck_assert_msg (strncmp (log, "maas 0.", 7) == 0, "%s", log);
    free (log);
    support_tempdir_remove (&work);
}
END_TEST

//  What the stack's Redis holds survives `maas down` + `maas up` on the
//  same state dir; `maas down --purge` deletes it.
START_TEST (test_down_keeps_data)
{
    char *work = support_tempdir_new ("stack-keep"), state[600];
    snprintf (state, sizeof state, "%s/s", work);
    const char *up[] = {"up",      "--workers", "0",      "--trainers", "0",
                        "--state", state,       "--http", "off",        NULL};
    const char *down[] = {"down", "--state", state, NULL};
    const char *purge[] = {"down", "--purge", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "up1.log", up), 0);
    char *url = s_env_value (state, "MAAS_REDIS_URL");
    free (s_redis_get (url, "maas:test:kept", "iris@3"));
    ck_assert_int_eq (s_maas (work, "down1.log", down), 0);
    ck_assert_int_eq (s_maas (work, "up2.log", up), 0);
    char *kept = s_redis_get (url, "maas:test:kept", NULL);
    ck_assert_msg (kept && strcmp (kept, "iris@3") == 0, "lost across down/up: %s",
                   kept ? kept : "(nil)");
    free (kept);
    ck_assert_int_eq (s_maas (work, "purge.log", purge), 0);
    char *log = s_read (work, "purge.log");
    ck_assert_msg (strstr (log, "deleted"), "%s", log);
    free (log);
    ck_assert_int_eq (s_maas (work, "up3.log", up), 0);
    ck_assert_ptr_null (s_redis_get (url, "maas:test:kept", NULL));
    ck_assert_int_eq (s_maas (work, "down3.log", down), 0);
    free (url);
    support_tempdir_remove (&work);
}
END_TEST

//  Stack B started after `export $(cat A/env)` gets its own Redis; two
//  stacks told to share one (--redis) run two brokers of distinct names.
START_TEST (test_stacks_share_no_redis_by_accident)
{
    char *work = support_tempdir_new ("stack-redis"), state_a[600], state_b[600];
    snprintf (state_a, sizeof state_a, "%s/a", work);
    snprintf (state_b, sizeof state_b, "%s/b", work);
    const char *up_a[] = {"up",      "--workers", "0",      "--trainers", "0",
                          "--state", state_a,     "--http", "off",        NULL};
    const char *up_b[] = {"up",      "--workers", "0",      "--trainers", "0",
                          "--state", state_b,     "--http", "off",        NULL};
    ck_assert_int_eq (s_maas (work, "up-a.log", up_a), 0);
    char *url_a = s_env_value (state_a, "MAAS_REDIS_URL"), env_url[700];
    snprintf (env_url, sizeof env_url, "MAAS_REDIS_URL=%s", url_a);
    const char *exported[] = {env_url, NULL};
    ck_assert_int_eq (s_maas_env (work, "up-b.log", up_b, exported), 0);
    char *url_b = s_env_value (state_b, "MAAS_REDIS_URL"), *log = s_read (work, "up-b.log");
    ck_assert_msg (strcmp (url_a, url_b) != 0 && strstr (url_b, state_b), "B uses %s", url_b);
    ck_assert_msg (strstr (log, "not using $MAAS_REDIS_URL"), "%s", log);
    free (log);
    const char *down_a[] = {"down", "--state", state_a, NULL};
    const char *down_b[] = {"down", "--state", state_b, NULL};
    ck_assert_int_eq (s_maas (work, "down-a.log", down_a), 0);
    ck_assert_int_eq (s_maas (work, "down-b.log", down_b), 0);

    support_redis_t *redis = support_redis_start ();
    const char *url = support_redis_url (redis);
    const char *shared_a[] = {"up", "--workers", "0",     "--trainers", "0",   "--redis",
                              url,  "--state",   state_a, "--http",     "off", NULL};
    const char *shared_b[] = {"up", "--workers", "0",     "--trainers", "0",   "--redis",
                              url,  "--state",   state_b, "--http",     "off", NULL};
    ck_assert_int_eq (s_maas (work, "shared-a.log", shared_a), 0);
    ck_assert_int_eq (s_maas (work, "shared-b.log", shared_b), 0);
    log = s_read (work, "shared-b.log");
    ck_assert_msg (strstr (log, "using the Redis at"), "%s", log);
    free (log);
    maas_err_t err;
    redisContext *ctx = maas_redis_connect (&(maas_redis_config_t){.url = url}, 2000, &err);
    ck_assert_msg (ctx, "%s", err.text);
    long long brokers = 0;
    for (int i = 0; i < 100 && brokers < 2; i++) {
        redisReply *reply = redisCommand (ctx, "SCARD maas:brokers");
        brokers = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
        freeReplyObject (reply);
        usleep (50000);
    }
    redisFree (ctx);
    ck_assert_int_eq (brokers, 2);
    ck_assert_int_eq (s_maas (work, "down-a2.log", down_a), 0);
    ck_assert_int_eq (s_maas (work, "down-b2.log", down_b), 0);
    support_redis_stop (&redis);
    free (url_a);
    free (url_b);
    support_tempdir_remove (&work);
}
END_TEST

//  Workers and trainers carry their `maas ps` role as their name; `maas up
//  --state` says how other commands find that stack; `maas ps` fails once a
//  member is gone.
START_TEST (test_ps_names_and_dead_members)
{
    char *work = support_tempdir_new ("stack-ps"), state[600], broker_log[700];
    snprintf (state, sizeof state, "%s/s", work);
    snprintf (broker_log, sizeof broker_log, "%s/logs/broker.log", state);
    const char *up[] = {"up",      "--workers", "1",      "--trainers", "1",
                        "--state", state,       "--http", "off",        NULL};
    const char *info[] = {"MAAS_LOG_LEVEL=info", NULL};
    ck_assert_int_eq (s_maas_env (work, "up.log", up, info), 0);
    char *log = s_read (work, "up.log");
    ck_assert_msg (strstr (log, "export MAAS_STATE_DIR=") && !strstr (log, "by themselves"), "%s",
                   log);
    free (log);
    for (int i = 0; i < 100
         && !(support_file_has (broker_log, "ready name=worker-1")
              && support_file_has (broker_log, "ready name=trainer-1"));
         i++)
        usleep (50000);
    ck_assert_msg (support_file_has (broker_log, "ready name=worker-1"), "no worker-1");
    ck_assert_msg (support_file_has (broker_log, "ready name=trainer-1"), "no trainer-1");
    const char *ps[] = {"ps", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "ps.log", ps), 0);
    const char *status_up[] = {"status", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "status.log", status_up), 0);
    pid_t pids[8];
    ck_assert_int_eq (s_pids (state, pids, 8), 4);
    kill (pids[2], SIGKILL);    //  worker-1
    for (int i = 0; i < 100 && s_running (pids[2]); i++)
        usleep (20000);
    ck_assert_int_eq (s_maas (work, "ps-dead.log", ps), 1);
    log = s_read (work, "ps-dead.log");
    ck_assert_msg (strstr (log, "gone") && strstr (log, "1 of 4 processes are gone"), "%s", log);
    free (log);
    //  status says the same, with the same exit code.
    const char *status[] = {"status", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "status-dead.log", status), 1);
    log = s_read (work, "status-dead.log");
    ck_assert_msg (strstr (log, "maas status: 1 of 4 processes are gone"), "%s", log);
    free (log);
    const char *status_json[] = {"status", "--state", state, "--json", NULL};
    ck_assert_int_eq (s_maas (work, "status-dead-json.log", status_json), 1);
    const char *down[] = {"down", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    support_tempdir_remove (&work);
}
END_TEST

//  `maas train --wait` never hangs and never lies: no broker is said at
//  once; a job nobody takes is said to be queued, and at --timeout it is
//  cancelled; a bad flag value is one message, not two.
START_TEST (test_train_wait_says_why)
{
    char *work = support_tempdir_new ("stack-train"), state[600], nowhere[700], env[700];
    snprintf (state, sizeof state, "%s/s", work);
    snprintf (nowhere, sizeof nowhere, "ipc://%s/no-broker.sock", work);
    const char *epochs[] = {"train",    "m",        "--data", "d", "--layers",
                            "1:linear", "--epochs", "0",      NULL};
    ck_assert_int_eq (s_maas (work, "epochs.log", epochs), 2);
    char *log = s_read (work, "epochs.log");
    ck_assert_msg (strstr (log, "maas train: --epochs: '0' is not a whole number (1..100000)")
                       && !strstr (log, "unknown"),
                   "%s", log);
    free (log);
    const char *no_broker[] = {"train",  "m",         "--data", "d",        "--layers", "1:sigmoid",
                               "--wait", "--timeout", "30",     "--broker", nowhere,    NULL};
    int64_t start = maas_clock_mono_ms ();
    ck_assert_int_eq (s_maas (work, "no-broker.log", no_broker), 1);
    ck_assert_int_lt (maas_clock_mono_ms () - start, 10000);
    log = s_read (work, "no-broker.log");
    ck_assert_msg (strstr (log, "no broker answers at ipc://") && strstr (log, "maas up"), "%s",
                   log);
    free (log);

    const char *up[] = {"up",      "--workers", "0",      "--trainers", "0",
                        "--state", state,       "--http", "off",        NULL};
    ck_assert_int_eq (s_maas (work, "up.log", up), 0);
    snprintf (env, sizeof env, "MAAS_STATE_DIR=%s", state);
    const char *stack_env[] = {env, NULL};
    const char *queued[] = {"train",     "m",      "--data",    "d", "--layers",
                            "1:sigmoid", "--wait", "--timeout", "3", NULL};
    ck_assert_int_eq (s_maas_env (work, "queued.log", queued, stack_env), 1);
    log = s_read (work, "queued.log");
    ck_assert_msg (strstr (log, "no trainer serves 'train'") && strstr (log, "timed out")
                       && strstr (log, "cancelled"),
                   "%s", log);
    free (log);
    //  maas cancel: a queued job ends cancelled; an unknown id fails.
    const char *submit[] = {"train", "m", "--data", "d", "--layers", "1:sigmoid", NULL};
    ck_assert_int_eq (s_maas_env (work, "submit.log", submit, stack_env), 0);
    log = s_read (work, "submit.log");
    char id[64] = "";
    ck_assert_msg (sscanf (log, "%63s", id) == 1 && strlen (id) == 26, "%s", log);
    free (log);
    const char *cancel[] = {"cancel", id, NULL};
    ck_assert_int_eq (s_maas_env (work, "cancel.log", cancel, stack_env), 0);
    log = s_read (work, "cancel.log");
    ck_assert_msg (strstr (log, "cancelled"), "%s", log);
    free (log);
    const char *cancel_bogus[] = {"cancel", "01NOSUCHJOB000000000000000", NULL};
    ck_assert_int_eq (s_maas_env (work, "cancel-bogus.log", cancel_bogus, stack_env), 1);
    //  Every --json output parses and has the documented keys.
    char script[1600];
    snprintf (script, sizeof script, "MAAS_STATE_DIR=%s sh %s/tests/cli_json.sh %s", state,
              MAAS_TOP_SRCDIR, work);
    int code = s_sh (work, "json.log", script);
    log = s_read (work, "json.log");
    ck_assert_msg (code == 0, "%s", log);
    free (log);
    const char *down[] = {"down", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    support_tempdir_remove (&work);
}
END_TEST

//  Write TEXT into DIR/NAME; the path in PATH (600 bytes).
static void
s_write (const char *dir, const char *name, const char *text, char *path)
{
    snprintf (path, 600, "%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
}

//  Run `maas ARGS` with STACK_ENV, expect exit 1 within MAX_MS and every
//  one of the NEEDLES in its output; the output (caller frees).
static char *
s_fails_saying (const char *work, const char *log_name, const char *const *args,
                const char *const *stack_env, int64_t max_ms, const char *const *needles)
{
    int64_t start = maas_clock_mono_ms ();
    int code = s_maas_env (work, log_name, args, stack_env);
    int64_t took = maas_clock_mono_ms () - start;
    char *log = s_read (work, log_name);
    ck_assert_msg (code == 1 && took < max_ms, "exit %d after %lld ms: %s", code, (long long) took,
                   log);
    for (size_t i = 0; needles[i]; i++)
        ck_assert_msg (strstr (log, needles[i]), "no '%s' in: %s", needles[i], log);
    return log;
}

//  Start `maas ARGS` with STACK_ENV, send it SIGINT after a second (its job
//  queued: no worker); expect exit 130 and the job cancelled in Redis URL.
static void
s_interrupt_cancels (const char *work, const char *log_name, const char *const *args,
                     const char *const *stack_env, const char *url)
{
    char *maas = support_build_path ("client/maas"), log_path[700], id[64] = "";
    snprintf (log_path, sizeof log_path, "%s/%s", work, log_name);
    const char *argv[16] = {maas};
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    support_proc_t *proc = support_proc_start (argv, stack_env, log_path);
    usleep (1000 * 1000);
    support_proc_signal (proc, SIGINT);
    int code = support_proc_wait (proc, 15000);
    support_proc_stop (&proc);
    free (maas);
    char *log = s_read (work, log_name);
    const char *at = strstr (log, "cancelling job ");
    ck_assert_msg (code == 130 && strstr (log, "interrupted by Ctrl-C") && at
                       && sscanf (at, "cancelling job %63s", id) == 1,
                   "exit %d: %s", code, log);
    free (log);
    char *status = s_redis_str (url, "HGET maas:job:%s status", id);
    ck_assert_msg (status && strcmp (status, "cancelled") == 0, "job %s is %s", id, status);
    free (status);
}

//  `maas infer`, `maas explain` and `maas score` never hang and never lie: no broker is said
//  within seconds; with no worker, the job is said to be queued, and at
//  --timeout it is cancelled, not left queued in Redis.
START_TEST (test_infer_score_say_why)
{
    char *work = support_tempdir_new ("stack-infer"), state[600], nowhere[700], env[700];
    char input[600], output[700];
    snprintf (state, sizeof state, "%s/s", work);
    snprintf (nowhere, sizeof nowhere, "ipc://%s/no-broker.sock", work);
    snprintf (output, sizeof output, "%s/out.csv", work);
    s_write (work, "in.csv", "x0,x1,x2\n1,2,3\n4,5,6\n7,8,9\n1,1,1\n2,2,2\n3,3,3\n", input);
    const char *bad_timeout[] = {"infer", "m", "--input", input, "--timeout", "0", NULL};
    ck_assert_int_eq (s_maas (work, "bad-timeout.log", bad_timeout), 2);
    char *log = s_read (work, "bad-timeout.log");
    ck_assert_msg (strstr (log, "maas infer: --timeout: '0' is not a number of seconds"), "%s",
                   log);
    free (log);
    const char *no_broker[] = {"no broker answers at ipc://", "is the stack up? (maas up)", NULL};
    const char *infer_nowhere[] = {"infer", "m", "--input", input, "--broker", nowhere, NULL};
    free (s_fails_saying (work, "infer-nowhere.log", infer_nowhere, NULL, 10000, no_broker));
    const char *score_nowhere[] = {"score", "m",        "--input", input, "--output",
                                   output,  "--broker", nowhere,   NULL};
    free (s_fails_saying (work, "score-nowhere.log", score_nowhere, NULL, 10000, no_broker));

    const char *up[] = {"up",      "--workers", "0",      "--trainers", "0",
                        "--state", state,       "--http", "off",        NULL};
    ck_assert_int_eq (s_maas (work, "up.log", up), 0);
    char *url = s_env_value (state, "MAAS_REDIS_URL");
    s_publish (url, "m");
    snprintf (env, sizeof env, "MAAS_STATE_DIR=%s", state);
    const char *stack_env[] = {env, NULL};
    const char *queued[] = {"still queued after 2 s: no worker serves 'infer' yet", NULL};
    const char *infer[] = {"infer", "m", "--input", input, "--timeout", "3", NULL};
    log = s_fails_saying (work, "infer.log", infer, stack_env, 15000, queued);
    char id[64] = "";
    const char *at = strstr (log, "cancelling job ");
    ck_assert_msg (at && sscanf (at, "cancelling job %63s", id) == 1, "%s", log);
    free (log);
    char *status = s_redis_str (url, "HGET maas:job:%s status", id);
    ck_assert_msg (status && strcmp (status, "cancelled") == 0, "job %s is %s", id, status);
    free (status);
    //  Ctrl-C: the job is cancelled too, and the exit code is 130.
    const char *interrupt[] = {"infer", "m", "--input", input, NULL};
    s_interrupt_cancels (work, "infer-int.log", interrupt, stack_env, url);
    //  explain waits as infer does (follow.c): the note, the cancel, 130.
    const char *explain_queued[] = {"still queued after 2 s: no worker serves 'explain' yet",
                                    "no result within --timeout: cancelling job", NULL};
    const char *explain[] = {"explain", "m", "--input", input, "--timeout", "3", NULL};
    free (s_fails_saying (work, "explain.log", explain, stack_env, 15000, explain_queued));
    const char *explain_int[] = {"explain", "m", "--input", input, NULL};
    s_interrupt_cancels (work, "explain-int.log", explain_int, stack_env, url);
    const char *score[] = {"score",        "m", "--input",   input, "--output", output,
                           "--shard-rows", "2", "--timeout", "3",   NULL};
    log = s_fails_saying (work, "score.log", score, stack_env, 15000, queued);
    ck_assert_msg (strstr (log, "timed out after 3 s: cancelled 3 shards"), "%s", log);
    at = strstr (log, "maas score: run ");
    ck_assert_msg (at && sscanf (at, "maas score: run %26s", id) == 1, "%s", log);
    free (log);
    for (int shard = 0; shard < 3; shard++) {
        status = s_redis_str (url, "HGET maas:job:%s.%d status", id, shard);
        ck_assert_msg (status && strcmp (status, "cancelled") == 0, "%s.%d is %s", id, shard,
                       status);
        free (status);
    }
    ck_assert_int_eq (access (output, F_OK), -1);
    const char *down[] = {"down", "--purge", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    free (url);
    support_tempdir_remove (&work);
}
END_TEST

//  Run `maas ARGS` with STACK_ENV; expect exit 0 and NEEDLE in its output.
static void
s_ok_saying (const char *work, const char *log_name, const char *const *args,
             const char *const *stack_env, const char *needle)
{
    int code = s_maas_env (work, log_name, args, stack_env);
    char *log = s_read (work, log_name);
    ck_assert_msg (code == 0 && strstr (log, needle), "exit %d, '%s' wanted in: %s", code, needle,
                   log);
    free (log);
}

//  `maas dataset put` does not replace a data set of that name unless
//  --force: the error names the stored set's rows and sha256; the same
//  contents again are no change.
START_TEST (test_dataset_put_needs_force)
{
    char *work = support_tempdir_new ("stack-dataset"), state[600], env[700], a[600], b[600];
    snprintf (state, sizeof state, "%s/s", work);
    s_write (work, "a.csv", "x0,x1,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n", a);
    s_write (work, "b.csv", "x0,x1,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,9,1\n", b);
    const char *up[] = {"up",      "--workers", "0",      "--trainers", "0",
                        "--state", state,       "--http", "off",        NULL};
    ck_assert_int_eq (s_maas (work, "up.log", up), 0);
    snprintf (env, sizeof env, "MAAS_STATE_DIR=%s", state);
    const char *stack_env[] = {env, NULL};
    const char *put_a[] = {"dataset", "put", "d", a, NULL};
    s_ok_saying (work, "put-a.log", put_a, stack_env, "data set d: 4 rows");
    char *log = s_read (work, "put-a.log"), sha[65] = "";
    const char *at = strstr (log, "sha256 ");
    ck_assert_msg (at && sscanf (at, "sha256 %64s", sha) == 1, "%s", log);
    free (log);
    char needle[200];
    snprintf (needle, sizeof needle, "data set d exists (4 rows, sha256 %s): give --force", sha);
    const char *refused[] = {needle, NULL};
    const char *put_b[] = {"dataset", "put", "d", b, NULL};
    free (s_fails_saying (work, "put-b.log", put_b, stack_env, 10000, refused));
    s_ok_saying (work, "put-a2.log", put_a, stack_env, "data set d unchanged: 4 rows");
    const char *force_b[] = {"dataset", "put", "d", b, "--force", NULL};
    s_ok_saying (work, "force.log", force_b, stack_env, "data set d: 5 rows");
    const char *show[] = {"dataset", "show", "d", NULL};
    s_ok_saying (work, "show.log", show, stack_env, "rows     5\n");
    const char *down[] = {"down", "--purge", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    support_tempdir_remove (&work);
}
END_TEST

//  true if PID has a descriptor open on PATH.
static bool
s_has_fd_on (pid_t pid, const char *path)
{
    char dir_path[64], link_path[400], target[600];
    snprintf (dir_path, sizeof dir_path, "/proc/%d/fd", (int) pid);
    DIR *dir = opendir (dir_path);
    ck_assert_msg (dir, "%s: %s", dir_path, strerror (errno));
    bool found = false;
    for (struct dirent *entry; !found && (entry = readdir (dir));) {
        snprintf (link_path, sizeof link_path, "%s/%s", dir_path, entry->d_name);
        ssize_t len = readlink (link_path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        found = len > 0 && strcmp (target, path) == 0;
    }
    closedir (dir);
    return found;
}

//  A shell holds a lock while it runs `maas up`: no stack member inherits
//  the descriptor, so the lock is free once the shell is gone.
START_TEST (test_children_inherit_no_fd)
{
    char *work = support_tempdir_new ("stack-fd"), lock[600], state[600], script[2000];
    snprintf (lock, sizeof lock, "%s/held.lock", work);
    snprintf (state, sizeof state, "%s/s", work);
    snprintf (script, sizeof script,
              "exec 9>%s && flock -n 9 && \"$MAAS\" up --workers 1 --trainers 1 --state %s "
              "--http 127.0.0.1:0",
              lock, state);
    int code = s_sh (work, "up.log", script);
    char *log = s_read (work, "up.log");
    ck_assert_msg (code == 0, "maas up: %s", log);
    free (log);
    pid_t pids[8];
    int count = s_pids (state, pids, 8);
    ck_assert_int_eq (count, 5);    //  redis, broker, worker, trainer, gateway
    for (int i = 0; i < count; i++)
        ck_assert_msg (!s_has_fd_on (pids[i], lock), "pid %d holds %s", (int) pids[i], lock);
    int fd = open (lock, O_RDWR);
    ck_assert_int_ge (fd, 0);
    ck_assert_msg (flock (fd, LOCK_EX | LOCK_NB) == 0, "the lock is still held: %s",
                   strerror (errno));
    close (fd);
    const char *down[] = {"down", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    support_tempdir_remove (&work);
}
END_TEST

//  maas up starts a gateway (port 0: the kernel's pick), lists it in
//  maas ps, and names its URL in the env file; it answers HTTP.
START_TEST (test_up_http)
{
    char *work = support_tempdir_new ("stack-http"), state[600];
    snprintf (state, sizeof state, "%s/s", work);
    const char *up[] = {"up",      "--workers", "1",      "--trainers",  "0",
                        "--state", state,       "--http", "127.0.0.1:0", NULL};
    ck_assert_int_eq (s_maas (work, "up.log", up), 0);
    char *log = s_read (work, "up.log");
    ck_assert_msg (strstr (log, "gateway"), "%s", log);
    free (log);
    char *env = s_read (state, "env");
    char *url = strstr (env, "MAAS_HTTP_URL=http://127.0.0.1:");
    ck_assert_msg (url, "%s", env);
    url += strlen ("MAAS_HTTP_URL=");
    url[strcspn (url, "\n")] = '\0';
    char command[1024];
    snprintf (command, sizeof command, "curl -sf -o /dev/null %s/v2/health/live", url);
    ck_assert_int_eq (system (command), 0);
    free (env);
    const char *down[] = {"down", "--state", state, NULL};
    ck_assert_int_eq (s_maas (work, "down.log", down), 0);
    support_tempdir_remove (&work);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("stack");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 120);
    tcase_add_unchecked_fixture (core, s_suite_setup, s_suite_teardown);
    tcase_add_test (core, test_up_ps_down);
    tcase_add_test (core, test_bad_arguments);
    tcase_add_test (core, test_children_inherit_no_fd);
    tcase_add_test (core, test_down_keeps_data);
    tcase_add_test (core, test_stacks_share_no_redis_by_accident);
    tcase_add_test (core, test_ps_names_and_dead_members);
    tcase_add_test (core, test_train_wait_says_why);
    tcase_add_test (core, test_infer_score_say_why);
    tcase_add_test (core, test_dataset_put_needs_force);
    tcase_add_test (core, test_model_unalias_rm_all);
    tcase_add_test (core, test_up_http);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
