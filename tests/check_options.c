/*  check_options.c: the table-driven option reader (shared/base/options.c):
 *  typed values and ranges from flags and the environment, one wording for
 *  bad values, unknown flags, --help and --version; and the real daemons
 *  answering --bogus and --version through it. */
#include "maas.h"
#include "support.h"

#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;     //  --name
    const char *url;      //  --redis
    const char *level;    //  --log-level
    int heartbeat_ms;     //  --heartbeat
    size_t jobs;          //  --max-jobs
    bool status;          //  --no-status
} s_values_t;

//  A fake environment: MAAS_T_NAME and MAAS_T_HEARTBEAT from these.
static const char *s_env_name, *s_env_heartbeat;

static char *
s_env (const char *name)
{
    if (strcmp (name, "MAAS_T_NAME") == 0)
        return (char *) s_env_name;
    if (strcmp (name, "MAAS_T_HEARTBEAT") == 0)
        return (char *) s_env_heartbeat;
    return NULL;
}

//  Parse ARGV (NULL-terminated, argv[0] added) into *V from defaults; the
//  reader's return code, its message in ERR, its output in OUT (caller frees).
static int
s_parse (s_values_t *v, const char *const *args, maas_err_t *err, char **out)
{
    *v = (s_values_t){.heartbeat_ms = 1000, .jobs = 10, .status = true, .level = "info"};
    const maas_option_t table[] = {
        {"--name", "MAAS_T_NAME", MAAS_OPT_STRING, 0, 0, NULL, &v->name, "NAME", "a name", NULL},
        {"--redis", NULL, MAAS_OPT_URL, 0, 0, NULL, &v->url, "URL", "Redis", NULL},
        {"--log-level", NULL, MAAS_OPT_CHOICE, 0, 0, "debug|info", &v->level, "L", "level", NULL},
        {"--heartbeat", "MAAS_T_HEARTBEAT", MAAS_OPT_MS, 1, 60000, NULL, &v->heartbeat_ms, "MS",
         "heartbeat", NULL},
        {"--max-jobs", NULL, MAAS_OPT_UINT, 1, 100, NULL, &v->jobs, "N", "jobs", NULL},
        {"--no-status", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &v->status, NULL, "no status", NULL},
    };
    const maas_options_t options = {"maas-test", "usage: maas-test\n", "the end\n", table,
                                    sizeof table / sizeof table[0]};
    char *argv[16] = {"maas-test"};
    int argc = 1;
    while (args && *args && argc < 15)
        argv[argc++] = (char *) *args++;
    size_t size = 0;
    FILE *stream = open_memstream (out, &size);
    ck_assert_ptr_nonnull (stream);
    maas_err_clear (err);
    int rc = maas_options_parse (&options, argc, argv, s_env, stream, NULL, err);
    fclose (stream);
    return rc;
}

//  The reader's result for ARGS, its output freed; ERR keeps the message.
static int
s_try (s_values_t *v, const char *const *args, maas_err_t *err)
{
    char *out = NULL;
    int rc = s_parse (v, args, err, &out);
    free (out);
    return rc;
}

START_TEST (test_values_from_flags_and_environment)
{
    s_values_t v;
    maas_err_t err;
    s_env_name = "from-env";
    s_env_heartbeat = "250";
    ck_assert_int_eq (s_try (&v, (const char *[]){NULL}, &err), 0);
    ck_assert_str_eq (v.name, "from-env");
    ck_assert_int_eq (v.heartbeat_ms, 250);
    ck_assert (v.status);
    const char *args[] = {
        "--name",      "flag",    "--heartbeat=300",         "--max-jobs",  "100",
        "--no-status", "--redis", "unix:///tmp/r.sock?db=2", "--log-level", "debug",
        NULL};
    ck_assert_msg (s_try (&v, args, &err) == 0, "%s", err.text);
    ck_assert_str_eq (v.name, "flag");    //  flags win over the environment
    ck_assert_int_eq (v.heartbeat_ms, 300);
    ck_assert_uint_eq (v.jobs, 100);
    ck_assert (!v.status);
    ck_assert_str_eq (v.url, "unix:///tmp/r.sock?db=2");
    ck_assert_str_eq (v.level, "debug");
    //  "--" ends the flags, even where no word may follow.
    ck_assert_int_eq (s_try (&v, (const char *[]){"--max-jobs", "7", "--", NULL}, &err), 0);
    ck_assert_uint_eq (v.jobs, 7);
    //  A "--no-" flag's value says whether to do without: yes turns it off.
    ck_assert_int_eq (s_try (&v, (const char *[]){"--no-status=yes", NULL}, &err), 0);
    ck_assert (!v.status);
    ck_assert_int_eq (s_try (&v, (const char *[]){"--no-status=off", NULL}, &err), 0);
    ck_assert (v.status);
    s_env_name = s_env_heartbeat = NULL;
}
END_TEST

//  FLAG VALUE gives exactly EXPECTED as the message (exit 2 in a program).
static void
s_assert_refused (const char *flag, const char *value, const char *expected)
{
    s_values_t v;
    maas_err_t err;
    ck_assert_int_eq (s_try (&v, (const char *[]){flag, value, NULL}, &err), -1);
    ck_assert_str_eq (err.text, expected);
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
}

START_TEST (test_bad_values_one_wording)
{
    s_assert_refused ("--heartbeat", "x",
                      "maas-test: --heartbeat: 'x' is not a whole number (1..60000)");
    s_assert_refused ("--heartbeat", "0",
                      "maas-test: --heartbeat: '0' is not a whole number (1..60000)");
    s_assert_refused (
        "--heartbeat", "99999999999999999999",
        "maas-test: --heartbeat: '99999999999999999999' is not a whole number (1..60000)");
    s_assert_refused ("--max-jobs", "-1",
                      "maas-test: --max-jobs: '-1' is not a whole number (1..100)");
    s_assert_refused ("--max-jobs", "", "maas-test: --max-jobs: '' is not a whole number (1..100)");
    //  Read in full, one way: no spaces or '+' before the digits.
    s_assert_refused ("--max-jobs", " 5",
                      "maas-test: --max-jobs: ' 5' is not a whole number (1..100)");
    s_assert_refused ("--max-jobs", "+5",
                      "maas-test: --max-jobs: '+5' is not a whole number (1..100)");
    s_assert_refused ("--", "stray", "maas-test: unexpected argument 'stray' (see --help)");
    s_assert_refused ("--log-level", "loud",
                      "maas-test: --log-level: 'loud' is not one of debug|info");
    s_assert_refused ("--redis", "http://x",
                      "maas-test: --redis: redis URL 'http://x': unknown "
                      "scheme, use redis://host:port or unix:///path");
    s_assert_refused ("--bogus", NULL, "maas-test: unknown option '--bogus' (see --help)");
    s_assert_refused ("--bogus=1", NULL, "maas-test: unknown option '--bogus' (see --help)");
    s_assert_refused ("--name", NULL, "maas-test: --name needs a value (see --help)");
    s_assert_refused ("stray", NULL, "maas-test: unexpected argument 'stray' (see --help)");
    s_env_heartbeat = "soon";
    s_assert_refused (NULL, NULL,
                      "maas-test: $MAAS_T_HEARTBEAT: 'soon' is not a whole number (1..60000)");
    s_env_heartbeat = NULL;
}
END_TEST

START_TEST (test_help_and_version)
{
    s_values_t v;
    maas_err_t err;
    char *out = NULL;
    ck_assert_int_eq (s_parse (&v, (const char *[]){"--version", NULL}, &err, &out), 1);
    ck_assert_str_eq (out, "maas-test (maas) " PACKAGE_VERSION "\n");
    free (out);
    ck_assert_int_eq (s_parse (&v, (const char *[]){"--help", NULL}, &err, &out), 1);
    ck_assert_msg (strstr (out, "usage: maas-test\n"), "%s", out);
    ck_assert_msg (strstr (out, "--heartbeat MS")
                       && strstr (out, "($MAAS_T_HEARTBEAT, 1..60000 ms, default 1000)"),
                   "%s", out);
    ck_assert_msg (strstr (out, "--version") && strstr (out, "the end\n"), "%s", out);
    free (out);
}
END_TEST

//  What a CLI command's table holds: numbers with a fraction, seconds,
//  seeds, repeatable flags and positional words anywhere.
typedef struct {
    double rate;             //  --rate
    int timeout_ms;          //  --timeout (seconds)
    uint64_t seed;           //  --seed
    maas_opt_list_t tags;    //  --tag, repeatable
    bool json;               //  --json
} s_cli_t;

//  Parse ARGS (argv[0] added) with positional words allowed; the reader's
//  code; ARGV as reordered and NEXT for the caller to look at.
static int
s_cli (s_cli_t *v, const char *const *args, char **argv, int *next, maas_err_t *err)
{
    *v = (s_cli_t){.rate = 0.5, .timeout_ms = 30000};
    const maas_option_t table[] = {
        {"--rate", NULL, MAAS_OPT_DOUBLE, 0, 0.9, NULL, &v->rate, "X", "a rate", NULL},
        {"--timeout", NULL, MAAS_OPT_SECONDS, 0.001, 1e6, NULL, &v->timeout_ms, "S", "wait", NULL},
        {"--seed", NULL, MAAS_OPT_U64, 0, 0, NULL, &v->seed, "N", "seed", NULL},
        {"--tag", NULL, MAAS_OPT_LIST, 0, 0, NULL, &v->tags, "K=V", "tags", NULL},
        {"--json", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &v->json, NULL, "json", NULL},
    };
    const maas_options_t options = {"maas t", "usage: maas t\n", NULL, table,
                                    sizeof table / sizeof table[0]};
    int argc = 1;
    argv[0] = "maas-t";
    while (args && *args && argc < 47)
        argv[argc++] = (char *) *args++;
    argv[argc] = NULL;
    maas_err_clear (err);
    return maas_options_parse (&options, argc, argv, NULL, stdout, next, err);
}

START_TEST (test_cli_values_and_positionals)
{
    s_cli_t v;
    maas_err_t err;
    char *argv[48];
    int next = -1;
    const char *args[] = {"NAME",   "--rate", "0.25",          "--tag",
                          "a=1",    "FILE",   "--timeout=2.5", "--tag",
                          "b=2",    "-",      "--seed",        "18446744073709551615",
                          "--json", "--",     "--not-a-flag",  NULL};
    ck_assert_msg (s_cli (&v, args, argv, &next, &err) == 0, "%s", err.text);
    ck_assert_double_eq (v.rate, 0.25);
    ck_assert_int_eq (v.timeout_ms, 2500);
    ck_assert (v.seed == UINT64_MAX && v.json);
    ck_assert_uint_eq (v.tags.count, 2);
    ck_assert_str_eq (v.tags.items[0], "a=1");
    ck_assert_str_eq (v.tags.items[1], "b=2");
    //  The words, in their order, after every flag; "-" and what follows "--" are words.
    ck_assert_int_eq (next, 16 - 4);
    ck_assert_str_eq (argv[next], "NAME");
    ck_assert_str_eq (argv[next + 1], "FILE");
    ck_assert_str_eq (argv[next + 2], "-");
    ck_assert_str_eq (argv[next + 3], "--not-a-flag");
    ck_assert_str_eq (argv[1], "--rate");
    ck_assert_ptr_null (argv[16]);
    ck_assert_int_eq (s_cli (&v, (const char *[]){"--json", NULL}, argv, &next, &err), 0);
    ck_assert_int_eq (next, 2);    //  no words: ARGC
}
END_TEST

//  ARGS refused with exactly EXPECTED.
static void
s_assert_cli_refused (const char *const *args, const char *expected)
{
    s_cli_t v;
    maas_err_t err;
    char *argv[48];
    int next = 0;
    ck_assert_int_eq (s_cli (&v, args, argv, &next, &err), -1);
    ck_assert_str_eq (err.text, expected);
}

START_TEST (test_cli_bad_values)
{
    s_assert_cli_refused ((const char *[]){"--rate", "0.95", NULL},
                          "maas t: --rate: '0.95' is not a number (0..0.9)");
    s_assert_cli_refused ((const char *[]){"--rate", "nan", NULL},
                          "maas t: --rate: 'nan' is not a number (0..0.9)");
    s_assert_cli_refused ((const char *[]){"--rate", "0.1x", NULL},
                          "maas t: --rate: '0.1x' is not a number (0..0.9)");
    s_assert_cli_refused ((const char *[]){"--timeout", "0", NULL},
                          "maas t: --timeout: '0' is not a number of seconds (0.001..1000000)");
    s_assert_cli_refused ((const char *[]){"--rate", " 0.5", NULL},
                          "maas t: --rate: ' 0.5' is not a number (0..0.9)");
    s_assert_cli_refused ((const char *[]){"--seed", "-1", NULL},
                          "maas t: --seed: '-1' is not a whole number from 0");
    s_assert_cli_refused ((const char *[]){"--seed", "18446744073709551616", NULL},
                          "maas t: --seed: '18446744073709551616' is not a whole number from 0");
    s_assert_cli_refused ((const char *[]){"NAME", "--bogus", NULL},
                          "maas t: unknown option '--bogus' (see --help)");
    const char *many[40] = {NULL};
    for (int i = 0; i < 2 * (MAAS_OPT_LIST_MAX + 1); i += 2)
        many[i] = "--tag", many[i + 1] = "k=v";
    s_assert_cli_refused (many, "maas t: --tag: at most 16 of them");
}
END_TEST

//  Run a daemon with ARG; its exit code, and whether its output holds TEXT.
static void
s_assert_daemon (const char *program, const char *arg, int code, const char *text)
{
    char *path = support_build_path (program), *dir = support_tempdir_new ("options");
    char *log = NULL;
    ck_assert (asprintf (&log, "%s/out.log", dir) > 0);
    support_proc_t *proc = support_proc_start ((const char *[]){path, arg, NULL}, NULL, log);
    ck_assert_int_eq (support_proc_wait (proc, 10000), code);
    support_proc_stop (&proc);
    ck_assert_msg (support_file_has (log, text), "%s %s: output lacks '%s'", program, arg, text);
    free (log);
    free (path);
    support_tempdir_remove (&dir);
}

START_TEST (test_daemons_answer_through_it)
{
    s_assert_daemon ("broker/maas-broker", "--bogus", 2,
                     "maas-broker: unknown option '--bogus' (see --help)");
    s_assert_daemon ("broker/maas-broker", "--version", 0, "maas-broker (maas) " PACKAGE_VERSION);
    s_assert_daemon ("worker/maas-worker", "--bogus", 2,
                     "maas-worker: unknown option '--bogus' (see --help)");
    s_assert_daemon ("worker/maas-worker", "--version", 0, "maas-worker (maas) " PACKAGE_VERSION);
    s_assert_daemon ("trainer/maas-trainer", "--heartbeat=x", 2,
                     "maas-trainer: --heartbeat: 'x' is not a whole number (10..600000)");
    s_assert_daemon ("trainer/maas-trainer", "--version", 0,
                     "maas-trainer (maas) " PACKAGE_VERSION);
    //  The gateway too (it parsed by hand, with unchecked atoi, before).
    s_assert_daemon ("gateway/maas-gateway", "--bogus", 2,
                     "maas-gateway: unknown option '--bogus' (see --help)");
    s_assert_daemon ("gateway/maas-gateway", "--threads=x", 2,
                     "maas-gateway: --threads: 'x' is not a whole number (1..256)");
    s_assert_daemon ("gateway/maas-gateway", "--version", 0,
                     "maas-gateway (maas) " PACKAGE_VERSION);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("options");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_values_from_flags_and_environment);
    tcase_add_test (core, test_help_and_version);
    tcase_add_test (core, test_cli_values_and_positionals);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_bad_values_one_wording);
    tcase_add_test (errors, test_cli_bad_values);
    suite_add_tcase (suite, errors);
    TCase *daemons = tcase_create ("daemons");
    tcase_add_test (daemons, test_daemons_answer_through_it);
    suite_add_tcase (suite, daemons);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
