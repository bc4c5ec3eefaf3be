/*  check_readme.c: the README's "Using it" block runs as printed, line by
 *  line, against a real stack that its own `maas up` starts (redis-server,
 *  broker, workers, trainer): put the breast cancer data set, train, alias,
 *  infer on the test CSV (its label column is dropped by name, and said
 *  so), score a .npy, status. Then `maas down` and every PID is gone. */
#include "maas.h"
#include "npy.h"
#include "support.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *s_work;         //  cwd of every command: data/ and big.npy
static char s_state[700];    //  the stack's state dir

//  All of PATH, NUL-terminated (the caller frees); "" if unreadable.
static char *
s_slurp (const char *path)
{
    char *text = calloc (1, 1 << 20);
    FILE *file = fopen (path, "r");
    if (file) {
        text[fread (text, 1, (1 << 20) - 1, file)] = '\0';
        fclose (file);
    }
    return text;
}

//  The shell lines of the README's "## Using it" block, one per entry
//  (comments cut); NULL-terminated, the caller frees both levels.
static char **
s_readme_lines (void)
{
    char *path = support_src_path ("README.md"), *text = s_slurp (path);
    free (path);
    char *block = strstr (text, "## Using it\n\n```sh\n");
    ck_assert_msg (block, "README.md has no \"## Using it\" sh block");
    block += strlen ("## Using it\n\n```sh\n");
    char *end = strstr (block, "```");
    ck_assert_ptr_nonnull (end);
    *end = '\0';
    char **lines = calloc (32, sizeof *lines);
    size_t n = 0;
    for (char *line = strtok (block, "\n"); line && n < 31; line = strtok (NULL, "\n")) {
        char *comment = strstr (line, "  #");
        if (comment)
            *comment = '\0';
        lines[n++] = strdup (line);
    }
    free (text);
    return lines;
}

//  Run LINE with sh in the work dir, `maas` on the PATH and only the
//  stack's state dir in the environment; exit code, output in *OUT.
static int
s_sh (const char *line, char **out)
{
    char *client = support_build_path ("client"), script[4096], path_env[4096], state_env[800],
         log[800];
    snprintf (script, sizeof script,
              "unset MAAS_REDIS_URL MAAS_BROKER_FRONTEND MAAS_REDIS_SENTINELS; cd '%s' && %s",
              s_work, line);
    snprintf (path_env, sizeof path_env, "PATH=%s:%s", client, getenv ("PATH"));
    snprintf (state_env, sizeof state_env, "MAAS_STATE_DIR=%s", s_state);
    snprintf (log, sizeof log, "%s/sh.log", s_work);
    unlink (log);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    //  Any free port for the stack's gateway: other stacks may hold 8501.
    const char *env[] = {path_env, state_env, "MAAS_HTTP=127.0.0.1:0", NULL};
    support_proc_t *proc = support_proc_start (argv, env, log);
    int code = support_proc_wait (proc, 120000);
    support_proc_stop (&proc);
    *out = s_slurp (log);
    free (client);
    return code;
}

//  big.npy: the test set's 30 feature columns as float32, 5 times over.
static void
s_write_big_npy (void)
{
    char *csv_path = support_src_path ("data/breast_cancer_test.csv"), npy[800];
    maas_err_t err;
    maas_csv_t *csv = maas_csv_load (csv_path, "label", &err);
    ck_assert_msg (csv, "%s", err.text);
    snprintf (npy, sizeof npy, "%s/big.npy", s_work);
    maas_npy_writer_t *writer = maas_npy_create (npy, maas_csv_cols (csv), &err);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq (
            maas_npy_write (writer, maas_csv_features (csv)->data, maas_csv_rows (csv), &err), 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    maas_csv_destroy (&csv);
    free (csv_path);
}

//  What each README line must print, beyond exiting 0.
static void
s_check_output (const char *line, const char *out, char *job_id, size_t job_id_size)
{
    const char *published = strstr (out, "published by job ");
    if (strstr (line, "maas train") && published)
        sscanf (published, "published by job %63s", job_id);
    if (strstr (line, "maas infer"))
        ck_assert_msg (strstr (out, "dropped columns the model does not use: label")
                           && strstr (out, "cancer@1: 114 rows"),
                       "%s", out);
    if (strstr (line, "maas score"))
        ck_assert_msg (strstr (out, "scored 570 rows with cancer@1 (production)"), "%s", out);
    (void) job_id_size;
}

START_TEST (test_using_it_block_runs_as_printed)
{
    char **lines = s_readme_lines ();
    char job_id[64] = "", *out = NULL;
    for (size_t i = 0; lines[i]; i++) {
        char line[1024];
        snprintf (line, sizeof line, "%s", lines[i]);
        char *id = strstr (line, "maas job ID");
        if (id) {    //  the one placeholder: the train job's id
            ck_assert_msg (*job_id, "no job id from the train line");
            snprintf (id, sizeof line - (size_t) (id - line), "maas job %s", job_id);
        }
        int code = s_sh (line, &out);
        ck_assert_msg (code == 0, "README line `%s` exited %d:\n%s", line, code, out);
        s_check_output (line, out, job_id, sizeof job_id);
        free (out);
    }
    for (size_t i = 0; lines[i]; i++)
        free (lines[i]);
    free (lines);
    //  Malformed JSON is an error naming where, not a row.
    char bad[800];
    snprintf (bad, sizeof bad, "%s/bad.json", s_work);
    FILE *file = fopen (bad, "w");
    fputs ("[[1,2]\n", file);
    fclose (file);
    ck_assert_int_eq (s_sh ("maas infer cancer@production --input bad.json", &out), 1);
    ck_assert_msg (strstr (out, "']' expected near end of file"), "%s", out);
    free (out);
}
END_TEST

static void
s_setup (void)
{
    s_work = support_tempdir_new ("readme");
    snprintf (s_state, sizeof s_state, "%s/state", s_work);
    char *data = support_src_path ("data"), link[800];
    snprintf (link, sizeof link, "%s/data", s_work);
    ck_assert_int_eq (symlink (data, link), 0);
    free (data);
    s_write_big_npy ();
}

//  `maas down`; if it fails, stop by PID every process stack.pids names.
static void
s_teardown (void)
{
    char *out = NULL, pids_path[800];
    snprintf (pids_path, sizeof pids_path, "%s/stack.pids", s_state);
    char *pids = s_slurp (pids_path);
    int code = s_sh ("maas down", &out);
    char role[32], program[64];
    int pid, used = 0, offset = 0;
    while (code != 0 && sscanf (pids + offset, "%31s %d %63s%n", role, &pid, program, &used) == 3) {
        kill (pid, SIGKILL);
        offset += used;
    }
    if (code != 0)
        fprintf (stderr, "check_readme: maas down failed, stopped by PID: %s\n", out);
    free (out);
    free (pids);
    support_tempdir_remove (&s_work);
}

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("readme");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 300);
    //  Unchecked: the teardown runs in the runner even when the test fails,
    //  so a failed run never leaves its stack behind.
    tcase_add_unchecked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_using_it_block_runs_as_printed);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
