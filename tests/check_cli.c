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

START_TEST (test_train)
{
    S_MAAS (2, "maas train: unknown option '--bogus' (see --help)", "train", "m", "--data", "d",
            "--layers", "1:sigmoid", "--bogus");
    S_MAAS (2, "maas train: --epochs: '0' is not a whole number (1..100000)", "train", "m",
            "--data", "d", "--layers", "1:linear", "--epochs", "0");
    S_MAAS (2, "maas train: --lr: 'abc' is not a number (1e-09..1000000)", "train", "m", "--data",
            "d", "--layers", "1:sigmoid", "--lr", "abc");
    S_MAAS (2, "maas train: --timeout: '0' is not a number of seconds (0.001..1000000)", "train",
            "m", "--data", "d", "--layers", "1:sigmoid", "--wait", "--timeout", "0");
    S_MAAS (2, "maas train: --seed: '-1' is not a whole number from 0", "train", "m", "--data", "d",
            "--layers", "1:sigmoid", "--seed", "-1");
    S_MAAS (2, "maas train: --layers: layer 1: unknown activation 'sigmod'", "train", "m", "--data",
            "d", "--layers", "1:sigmod");
    S_MAAS (2, "maas train: --optimizer: unknown optimizer 'adamw'", "train", "m", "--data", "d",
            "--layers", "1:sigmoid", "--optimizer", "adamw");
    S_MAAS (2, "maas train: give one model NAME (see --help)", "train");
    S_MAAS (2, "maas train: give one model NAME (see --help)", "train", "m", "n", "--data", "d",
            "--layers", "1:sigmoid");
    S_MAAS (2, "maas train: --data and --layers are required (see --help)", "train", "m",
            "--layers", "1:sigmoid");
    S_MAAS (2, "maas train: --timeout is for --wait", "train", "m", "--data", "d", "--layers",
            "1:sigmoid", "--timeout", "3");
    char description[300];
    memset (description, 'x', sizeof description - 1);
    description[sizeof description - 1] = '\0';
    S_MAAS (2, "maas train: --description: 'xxxxxxxxxxxxxxxxxxxx...' is longer than 255 characters",
            "train", "m", "--data", "d", "--layers", "1:sigmoid", "--description", description);
    S_MAAS (0, "usage: maas train NAME --data DATASET", "train", "--help");
    //  Flags before NAME, values after "=": past the flags, to the broker that is not there.
    S_MAAS (1, "maas train: no broker answers at tcp://127.0.0.1:1", "train", "--data=d",
            "--layers", "1:sigmoid", "--optimizer", "sgd", "--lr", "0.05", "m");
}
END_TEST

START_TEST (test_dataset)
{
    S_MAAS (2, "maas dataset: unknown option '--colour' (see --help)", "dataset", "list",
            "--colour");
    S_MAAS (2, "maas dataset: --chunk-bytes: '2' is not a whole number (4..536870912)", "dataset",
            "put", "d", "x.csv", "--chunk-bytes", "2");
    S_MAAS (2, "maas dataset: --chunk-bytes: '1k' is not a whole number (4..536870912)", "dataset",
            "put", "d", "x.csv", "--chunk-bytes", "1k");
    S_MAAS (2, "maas dataset: --task: unknown task 'ranking'", "dataset", "put", "d", "x.csv",
            "--task", "ranking");
    S_MAAS (2, "maas dataset: --label needs a value (see --help)", "dataset", "put", "d", "x.csv",
            "--label");
    S_MAAS (2, "maas dataset put: give NAME and FILE.csv (see --help)", "dataset", "put", "d");
    S_MAAS (2, "maas dataset show: give one NAME (see --help)", "dataset", "show");
    S_MAAS (2, "maas dataset: unknown subcommand 'frob' (put, list, show, rm)", "dataset", "frob");
    S_MAAS (2, "maas dataset: give a subcommand", "dataset");
    S_MAAS (0, "usage: maas dataset put NAME FILE.csv", "dataset", "--help");
    //  A flag before the subcommand: past the flags, to the Redis that is not there.
    S_MAAS (1, "maas dataset: redis redis://127.0.0.1:1", "dataset", "--json", "list");
    S_MAAS (1, "maas dataset: redis redis://127.0.0.1:1", "dataset", "show", "--json", "d");
}
END_TEST

START_TEST (test_job)
{
    S_MAAS (2, "maas job: unknown option '--bogus' (see --help)", "job", "x", "--bogus");
    S_MAAS (2, "maas job: unknown option '--limit' (see --help)", "job", "x", "--limit", "3");
    S_MAAS (2, "maas job: give one job ID (see --help)", "job");
    S_MAAS (2, "maas job: give one job ID (see --help)", "job", "x", "y");
    S_MAAS (0, "usage: maas job ID", "job", "--help");
    S_MAAS (1, "maas job: redis redis://127.0.0.1:1", "job", "--json", "x", "--prefix", "p:");

    S_MAAS (2, "maas jobs: unknown option '--bogus' (see --help)", "jobs", "--bogus");
    S_MAAS (2, "maas jobs: --limit: '0' is not a whole number (1..100000)", "jobs", "--limit", "0");
    S_MAAS (2, "maas jobs: --limit: '5x' is not a whole number (1..100000)", "jobs", "--limit=5x");
    S_MAAS (2, "maas jobs: --status: 'done' is not one of queued|running|succeeded", "jobs",
            "--status", "done");
    S_MAAS (2, "maas jobs: unexpected argument 'x' (see --help)", "jobs", "x");
    S_MAAS (2, "maas jobs: --all or --run RUN, not both", "jobs", "--all", "--run", "r");
    S_MAAS (0, "usage: maas jobs [--status S]", "jobs", "--help");
    S_MAAS (1, "maas jobs: redis redis://127.0.0.1:1", "jobs", "--json", "--limit", "5");

    S_MAAS (2, "maas cancel: unknown option '--bogus' (see --help)", "cancel", "x", "--bogus");
    S_MAAS (2, "maas cancel: give the ID of each job to cancel (see --help)", "cancel");
    S_MAAS (2, "maas cancel: --broker needs a value (see --help)", "cancel", "x", "--broker");
    S_MAAS (0, "usage: maas cancel [--broker EP] ID...", "cancel", "--help");
    //  --broker after the ids (it had to come first).
    S_MAAS (1, "maas cancel: no broker answers at ipc://nowhere", "cancel", "x", "y", "--broker",
            "ipc://nowhere");
}
END_TEST

START_TEST (test_status)
{
    S_MAAS (2, "maas status: unknown option '--bogus' (see --help)", "status", "x", "--bogus");
    S_MAAS (2, "maas status: --prefix needs a value (see --help)", "status", "--prefix");
    S_MAAS (2, "maas status: --redis: ", "status", "--redis", "http://x");
    //  A flag after an id is a flag (it was taken for an id).
    S_MAAS (2, "maas status: --json is for the overview", "status", "x", "--json");
    S_MAAS (0, "usage: maas status [--json]", "status", "--help");
    S_MAAS (1, "maas status: redis redis://127.0.0.1:1", "status", "x", "--prefix", "p:");
}
END_TEST

//  -- model, up, down, ps

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("cli");
    TCase *keys = tcase_create ("keygen");
    tcase_add_test (keys, test_keygen);
    suite_add_tcase (suite, keys);
    TCase *train = tcase_create ("train");
    tcase_set_timeout (train, 60);    //  a case waits out the broker's 3 s PING
    tcase_add_test (train, test_train);
    suite_add_tcase (suite, train);
    TCase *dataset = tcase_create ("dataset");
    tcase_set_timeout (dataset, 60);    //  a dozen runs of maas on 2 busy cores
    tcase_add_test (dataset, test_dataset);
    suite_add_tcase (suite, dataset);
    TCase *jobs = tcase_create ("job, jobs, cancel");
    tcase_set_timeout (jobs, 60);    //  a case waits out the broker's 3 s PING
    tcase_add_test (jobs, test_job);
    suite_add_tcase (suite, jobs);
    TCase *status = tcase_create ("status");
    tcase_set_timeout (status, 60);    //  a dozen runs of maas on 2 busy cores
    tcase_add_test (status, test_status);
    suite_add_tcase (suite, status);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
