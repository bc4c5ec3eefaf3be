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

//  `maas infer`: the table's wording for every flag, NAME and --input
//  checked, and flags after NAME (the stack is nowhere: a command line the
//  reader takes fails at the broker, exit 1).
START_TEST (test_infer)
{
    S_MAAS (2, "maas infer: unknown option '--bogus' (see --help)", "infer", "--input", "x.csv",
            "m", "--bogus");
    S_MAAS (2, "maas infer: --timeout: 'abc' is not a number of seconds (0.001..1000000)", "infer",
            "m", "--input", "x.csv", "--timeout", "abc");
    S_MAAS (2, "maas infer: --timeout: '0' is not a number of seconds", "infer", "m", "--input",
            "x.csv", "--timeout=0");
    S_MAAS (2, "maas infer: --timeout-ms: '0' is not a whole number (1..1000000000)", "infer", "m",
            "--input", "x.csv", "--timeout-ms", "0");
    S_MAAS (2, "maas infer: --top-k: '0' is not a whole number (1..65536)", "infer", "m", "--input",
            "x.csv", "--top-k", "0");
    S_MAAS (2, "maas infer: --output: 'klass' is not one of probabilities|class", "infer", "m",
            "--input", "x.csv", "--output", "klass");
    S_MAAS (2, "maas infer: --redis: redis URL 'foo://x'", "infer", "m", "--input", "x.csv",
            "--redis", "foo://x");
    S_MAAS (2, "maas infer: --input needs a value (see --help)", "infer", "m", "--input");
    S_MAAS (2, "maas infer: give NAME[@VER|@ALIAS] (see --help)", "infer", "--input", "x.csv");
    S_MAAS (2, "maas infer: one NAME[@VER|@ALIAS], not also 'n' (see --help)", "infer", "m", "n",
            "--input", "x.csv");
    S_MAAS (2, "maas infer: give --input FILE (- for stdin) (see --help)", "infer", "m");
    S_MAAS (2, "maas infer: model 'm@': after '@' comes", "infer", "m@", "--input", "x.csv");
    S_MAAS (0, "usage: maas infer NAME[@VER|@ALIAS] --input FILE|-", "infer", "--help");
    S_MAAS (0, "--top-k K", "infer", "m", "-h");
    S_MAAS (1, "maas infer: no broker answers at tcp://127.0.0.1:1", "infer", "--input", "-", "m",
            "--json", "--no-header", "--output", "class", "--top-k", "2", "--timeout", "2.5",
            "--timeout-ms=900", "--redis", "redis://127.0.0.1:1");
}
END_TEST

//  `maas explain`: as infer; a command line it takes fails at the registry.
START_TEST (test_explain)
{
    S_MAAS (2, "maas explain: unknown option '--bogus' (see --help)", "explain", "--input", "x.csv",
            "m", "--bogus");
    S_MAAS (2, "maas explain: --steps: '0' is not a whole number (1..4096)", "explain", "m",
            "--input", "x.csv", "--steps", "0");
    S_MAAS (2, "maas explain: --top: 'five' is not a whole number (1..65536)", "explain", "m",
            "--input", "x.csv", "--top", "five");
    S_MAAS (2, "maas explain: --output: '-1' is not a whole number (0..65535)", "explain", "m",
            "--input", "x.csv", "--output", "-1");
    S_MAAS (2, "maas explain: --method: 'lime' is not one of integrated_gradients|", "explain", "m",
            "--input", "x.csv", "--method", "lime");
    S_MAAS (2, "maas explain: --timeout: '-2' is not a number of seconds (0.001..1000000)",
            "explain", "m", "--input", "x.csv", "--timeout", "-2");
    S_MAAS (2, "maas explain: --timeout-ms: '5s' is not a whole number", "explain", "m", "--input",
            "x.csv", "--timeout-ms", "5s");
    S_MAAS (2, "maas explain: give NAME[@VER|@ALIAS] (see --help)", "explain", "--input", "x");
    S_MAAS (2, "maas explain: give --input FILE (- for stdin) (see --help)", "explain", "m");
    S_MAAS (0, "usage: maas explain NAME[@VER|@ALIAS] --input FILE|-", "explain", "--help");
    S_MAAS (1, "maas explain: cannot reach the model registry to resolve m", "explain", "--input",
            "x.csv", "m", "--method", "shapley", "--steps", "10", "--output", "1", "--top", "3",
            "--json", "--no-header", "--timeout", "5", "--timeout-ms", "5000");
}
END_TEST

//  -- train, dataset, job, jobs, cancel, status

//  -- model, up, down, ps

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("cli");
    TCase *keys = tcase_create ("keygen");
    tcase_add_test (keys, test_keygen);
    suite_add_tcase (suite, keys);
    TCase *infer = tcase_create ("infer");
    tcase_add_test (infer, test_infer);
    suite_add_tcase (suite, infer);
    TCase *explain = tcase_create ("explain");
    tcase_add_test (explain, test_explain);
    suite_add_tcase (suite, explain);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
