/*  check_cli.c: every `maas` command reads its flags through the one option
 *  reader (shared/base/options.c via maas_cli_options): unknown flags are
 *  called unknown, bad values get the one wording and exit 2 before anything
 *  is sent, flags may follow the positional words, --help exits 0. Runs the
 *  real `maas` binary; none of these cases needs a stack. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Run `maas ARGS...` (NULL-terminated) with no stack in reach; fail unless
//  it exits CODE within 10 s with TEXT in its output (stdout and stderr).
static void
s_maas (int code, const char *text, const char *const *args)
{
    char *maas = support_build_path ("client/maas"), *dir = support_tempdir_new ("cli");
    char *log = NULL, *state = NULL;
    ck_assert (asprintf (&log, "%s/out.log", dir) > 0);
    ck_assert (asprintf (&state, "MAAS_STATE_DIR=%s", dir) > 0);
    const char *argv[32] = {maas};
    size_t argc = 1;
    while (*args && argc < 31)
        argv[argc++] = *args++;
    //  Nothing listens there: a command that got past its flags fails fast.
    const char *env[] = {state, "MAAS_REDIS_URL=redis://127.0.0.1:1",
                         "MAAS_BROKER_FRONTEND=tcp://127.0.0.1:1", NULL};
    support_proc_t *proc = support_proc_start (argv, env, log);
    int rc = support_proc_wait (proc, 10000);
    support_proc_stop (&proc);
    ck_assert_msg (rc == code && support_file_has (log, text),
                   "maas %s ...: exit %d (want %d), output lacks '%s'", argv[1], rc, code, text);
    free (state);
    free (log);
    free (maas);
    support_tempdir_remove (&dir);
}

#define S_MAAS(code, text, ...) s_maas ((code), (text), (const char *const[]){__VA_ARGS__, NULL})

START_TEST (test_keygen)
{
    S_MAAS (2, "maas keygen: unknown option '--bogus' (see --help)", "keygen", "k", "--bogus");
    S_MAAS (2, "maas keygen: give one NAME (see --help)", "keygen");
    S_MAAS (0, "usage: maas keygen NAME", "keygen", "--help");
}
END_TEST

//  -- infer, explain, score, synth

//  -- train, dataset, job, jobs, cancel, status

//  -- model, up, down, ps

START_TEST (test_model)
{
    S_MAAS (2, "maas model: unknown option '--bogus' (see --help)", "model", "list", "--bogus");
    //  A flag after the positional words is read: NAME FILE, then --bogus.
    S_MAAS (2, "maas model: unknown option '--bogus' (see --help)", "model", "publish", "m",
            "m.bin", "--bogus");
    S_MAAS (2, "maas model: --input-scale: 'abc' is not a number (1e-30..1e+30)", "model", "import",
            "m", "m.h5", "--input-scale", "abc");
    S_MAAS (2, "maas model: --input-scale: '0' is not a number (1e-30..1e+30)", "model", "publish",
            "m", "m.bin", "--input-scale=0");
    S_MAAS (2, "maas model: --format: 'tflite' is not one of maas|onnx", "model", "export", "m",
            "out", "--format", "tflite");
    S_MAAS (2, "maas model: --tag: at most 16 of them", "model", "search", "--tag=a=1", "--tag=a=2",
            "--tag=a=3", "--tag=a=4", "--tag=a=5", "--tag=a=6", "--tag=a=7", "--tag=a=8",
            "--tag=a=9", "--tag=a=10", "--tag=a=11", "--tag=a=12", "--tag=a=13", "--tag=a=14",
            "--tag=a=15", "--tag=a=16", "--tag=a=17");
    S_MAAS (2, "maas model: search: --tag 'team' is not KEY=VALUE", "model", "search", "--tag",
            "team");
    //  The positional numbers are checked whole, before the registry is dialled.
    S_MAAS (2, "maas model: alias: VER '2x' is not a version number (1, 2, ...)", "model", "alias",
            "m", "prod", "2x");
    S_MAAS (2, "maas model: alias: VER '-1' is not a version number", "model", "alias", "m", "prod",
            "--", "-1");
    S_MAAS (2, "maas model: rm: VER 'prod' is not a version number", "model", "rm", "m@prod");
    S_MAAS (2, "maas model: threshold: P '1' is not a number above 0 and below 1, or none", "model",
            "threshold", "m@1", "1");
    S_MAAS (2, "maas model: threshold: P '0.3x' is not a number above 0", "model", "threshold",
            "m@1", "0.3x");
    S_MAAS (2, "maas model: show takes NAME[@VER|@ALIAS] (see --help)", "model", "show");
    S_MAAS (2, "maas model: unknown command 'frob' (see --help)", "model", "frob");
    S_MAAS (2, "maas model: give a COMMAND", "model", "--json");
    S_MAAS (2, "usage: maas model COMMAND", "model");
    S_MAAS (0, "usage: maas model COMMAND", "model", "--help");
    S_MAAS (0, "  --input-scale X", "model", "publish", "--help");
    //  Words and flags in any order get as far as the registry (none here).
    S_MAAS (1, "maas model: redis redis://127.0.0.1:1", "model", "--json", "threshold", "m@1",
            "none");
}
END_TEST

START_TEST (test_stack)
{
    S_MAAS (2, "maas up: unknown option '--bogus' (see --help)", "up", "--bogus");
    S_MAAS (2, "maas up: --workers: '65' is not a whole number (0..64)", "up", "--workers", "65");
    S_MAAS (2, "maas up: --trainers: 'x' is not a whole number (0..64)", "up", "--trainers=x");
    S_MAAS (2, "maas up: --cache-mb: '-1' is not a whole number (0..1048576)", "up", "--cache-mb",
            "-1");
    S_MAAS (2, "maas up: --redis:", "up", "--redis", "http://x");
    S_MAAS (2, "maas up: unexpected argument 'now' (see --help)", "up", "now");
    S_MAAS (0, "usage: maas up [--workers N]", "up", "--help");
    S_MAAS (2, "maas down: unknown option '--bogus' (see --help)", "down", "--purge", "--bogus");
    S_MAAS (2, "maas down: unexpected argument 'all' (see --help)", "down", "all");
    S_MAAS (2, "maas down: --state needs a value (see --help)", "down", "--state");
    S_MAAS (0, "usage: maas down [--state DIR] [--purge]", "down", "--help");
    S_MAAS (2, "maas ps: unknown option '--purge' (see --help)", "ps", "--purge");
    S_MAAS (2, "maas ps: --json: 'maybe' is not on or off", "ps", "--json=maybe");
    S_MAAS (0, "usage: maas ps [--state DIR] [--json]", "ps", "--help");
    //  No stack in the test's state dir: ps reads its flags, then says so.
    S_MAAS (1, "maas ps: no stack in", "ps", "--json");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("cli");
    TCase *keys = tcase_create ("keygen");
    tcase_add_test (keys, test_keygen);
    suite_add_tcase (suite, keys);
    TCase *model = tcase_create ("model");
    tcase_add_test (model, test_model);
    suite_add_tcase (suite, model);
    TCase *stack = tcase_create ("up, down, ps");
    tcase_add_test (stack, test_stack);
    suite_add_tcase (suite, stack);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
