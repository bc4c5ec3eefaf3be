/*  check_log.c: the log line format (ISO 8601 UTC date, pid, level,
 *  component) and $MAAS_LOG_LEVEL validation, in the library and in `maas`. */
#include "log.h"
#include "support.h"

#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Log one line with stderr pointed at a file; return the line (caller frees).
static char *
s_logged_line (const char *dir)
{
    char path[600], *line = calloc (1, 4096);
    snprintf (path, sizeof path, "%s/stderr.log", dir);
    fflush (stderr);
    ck_assert (freopen (path, "w", stderr));
    maas_log_set_level (MAAS_LOG_INFO);
    maas_info ("broker", "job finished job=%s status=%s", "j-42", "succeeded");
    fflush (stderr);
    FILE *file = fopen (path, "r");
    ck_assert (file && fgets (line, 4096, file));
    fclose (file);
    return line;
}

START_TEST (test_line_format)
{
    char *dir = support_tempdir_new ("log");
    char *line = s_logged_line (dir), pattern[256];
    snprintf (pattern, sizeof pattern,
              "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "
              "%d info  broker: job finished job=j-42 status=succeeded\n$",
              (int) getpid ());
    regex_t regex;
    ck_assert_int_eq (regcomp (&regex, pattern, REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_msg (regexec (&regex, line, 0, NULL, 0) == 0, "line: %s", line);
    regfree (&regex);
    free (line);
    support_tempdir_remove (&dir);
}
END_TEST

START_TEST (test_bad_level_is_an_error)
{
    maas_err_t err = {0};
    ck_assert_int_eq (maas_log_setup ("verbose", &err), -1);
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_msg (strstr (err.text, "MAAS_LOG_LEVEL=verbose") && strstr (err.text, "debug, info"),
                   "%s", err.text);
    ck_assert_int_eq (maas_log_setup ("error", &err), 0);
    ck_assert_int_eq (maas_log_setup ("", &err), 0);
    ck_assert_int_eq (maas_log_setup (NULL, &err), 0);
}
END_TEST

//  `maas` refuses to run with a level it does not know, exit code 2 (usage).
START_TEST (test_cli_refuses_bad_level)
{
    char *dir = support_tempdir_new ("log-cli"), *maas = support_build_path ("client/maas");
    char log[600];
    snprintf (log, sizeof log, "%s/maas.log", dir);
    const char *argv[] = {maas, "version", NULL}, *env[] = {"MAAS_LOG_LEVEL=loud", NULL};
    support_proc_t *proc = support_proc_start (argv, env, log);
    ck_assert_int_eq (support_proc_wait (proc, 10000), 2);
    support_proc_stop (&proc);
    ck_assert (support_file_has (log, "MAAS_LOG_LEVEL=loud is not a log level"));
    free (maas);
    support_tempdir_remove (&dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("log");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_line_format);
    tcase_add_test (core, test_bad_level_is_an_error);
    tcase_add_test (core, test_cli_refuses_bad_level);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
