/*  check_stack.c: `maas up` / `maas ps` / `maas down` with the real
 *  binaries: a private redis-server, a broker and workers come up detached
 *  under a state dir; two stacks side by side do not collide; down stops
 *  exactly those processes and leaves no process and no socket behind. */
#include "maas.h"
#include "client.h"
#include "support.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Run `maas ARGS...` with MAAS_STATE_DIR unset; output into DIR/LOG.
static int
s_maas (const char *dir, const char *log, const char *const *args)
{
    char *maas = support_build_path ("client/maas"), log_path[600];
    snprintf (log_path, sizeof log_path, "%s/%s", dir, log);
    const char *argv[16] = {maas};
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    support_proc_t *proc = support_proc_start (argv, NULL, log_path);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    free (maas);
    return code;
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
    while (count < max && sscanf (text + offset, "%31s %d %63s%n", role, &pid, program, &used) == 3) {
        pids[count++] = pid;
        offset += used;
    }
    free (text);
    return count;
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
    const char *up_a[] = {"up", "--workers", "2", "--trainers", "0", "--state", state_a,
                          "--http", "off", NULL};
    const char *up_b[] = {"up", "--workers", "1", "--trainers", "0", "--state", state_b,
                          "--http", "off", NULL};
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
    ck_assert_int_eq (count_a, 4);                 //  redis, broker, 2 workers
    ck_assert_int_eq (count_b, 3);
    for (int i = 0; i < count_a; i++)
        ck_assert (s_running (pids_a[i]));
    //  The stack serves: the broker answers a PING through the env file's endpoint.
    char *env = s_read (state_a, "env");
    char *broker = strstr (env, "MAAS_BROKER_FRONTEND=");
    ck_assert_ptr_nonnull (broker);
    broker += strlen ("MAAS_BROKER_FRONTEND=");
    broker[strcspn (broker, "\n")] = '\0';
    maas_client_t *client = maas_client_new (broker);
    ck_assert_int_eq (maas_client_ping (client, 5000), 0);
    maas_client_destroy (&client);
    free (env);

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
    const char *too_many[] = {"up", "--workers", "65", "--state", work, NULL};
    ck_assert_int_eq (s_maas (work, "bad.log", too_many), 2);
    char *log = s_read (work, "bad.log");
    ck_assert_msg (strstr (log, "whole numbers 0-64"), "%s", log);
    free (log);
    support_tempdir_remove (&work);
}
END_TEST

//  maas up starts a gateway (port 0: the kernel's pick), lists it in
//  maas ps, and names its URL in the env file; it answers HTTP.
START_TEST (test_up_http)
{
    char *work = support_tempdir_new ("stack-http"), state[600];
    snprintf (state, sizeof state, "%s/s", work);
    const char *up[] = {"up", "--workers", "1", "--trainers", "0", "--state", state, "--http",
                        "127.0.0.1:0", NULL};
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
    tcase_add_test (core, test_up_ps_down);
    tcase_add_test (core, test_bad_arguments);
    tcase_add_test (core, test_up_http);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
