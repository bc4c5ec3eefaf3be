/*  check_cli.c: every `maas` command reads its flags through the one option
 *  reader (shared/base/options.c via maas_cli_options): unknown flags are
 *  called unknown, bad values get the one wording and exit 2 before anything
 *  is sent, flags may follow the positional words, --help exits 0. Runs the
 *  real `maas` binary; none of these cases needs a stack. */
#include "maas.h"
#include "support.h"

#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Lines in the file at PATH.
static size_t
s_lines (const char *path)
{
    FILE *file = fopen (path, "r");
    ck_assert_msg (file, "no %s", path);
    size_t lines = 0;
    for (int c; (c = fgetc (file)) != EOF;)
        lines += c == '\n';
    fclose (file);
    return lines;
}

//  Run `maas ARGS...` (NULL-terminated) with no stack in reach; fail unless
//  it exits CODE within 10 s with TEXT in its output (stdout and stderr),
//  on one line if CODE is 2 (but for a usage).
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
    //  A bad command line is one line (docs/cli.md): no log lines (a bare
    //  command group prints its usage).
    bool usage = strncmp (text, "usage: ", 7) == 0;
    ck_assert_msg (code != 2 || usage || s_lines (log) == 1, "maas %s ...: %zu lines", argv[1],
                   s_lines (log));
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
    S_MAAS (2, "maas version: unexpected argument 'extra' (see --help)", "version", "extra");
    S_MAAS (0, "maas " PACKAGE_VERSION, "version");
}
END_TEST

//  --curve-key, --broker-key: a file that is missing or no key is one line
//  on stderr that says which and why (czmq's parse errors never show), exit 2.
START_TEST (test_curve_flags)
{
    S_MAAS (2, "maas infer: curve key /etc/passwd: not a secret key file (maas keygen)", "infer",
            "m", "--input", "x.csv", "--curve-key", "/etc/passwd", "--broker-key", "/etc/passwd");
    S_MAAS (2, "maas cancel: curve key /nonexistent: cannot read it: No such file or directory",
            "cancel", "x", "--curve-key=/nonexistent", "--broker-key", "/etc/passwd");
    S_MAAS (2, "maas score: curve key /: cannot read it: Is a directory", "score", "m", "--input",
            "a.csv", "--output", "b.npy", "--curve-key", "/", "--broker-key", "/etc/passwd");
    S_MAAS (2, "maas train: curve key (none): give a secret key file", "train", "m", "--broker-key",
            "/etc/passwd");
    S_MAAS (2, "maas explain: --curve-key needs a FILE", "explain", "m", "--curve-key");
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
    //  An empty FILE or COL is a bad command line, not the default or "cannot open ''".
    S_MAAS (2, "maas infer: --input: give a FILE, not '' (see --help)", "infer", "m", "--input",
            "");
    //  A bad endpoint is a bad command line: one line, nothing logged, nothing dialled.
    S_MAAS (2, "maas infer: --broker: 'bogus' is not an endpoint (tcp://HOST:PORT", "infer", "m",
            "--input", "x.csv", "--broker", "bogus");
    S_MAAS (2, "maas infer: --broker: 'tcp://127.0.0.1:99999' is not an endpoint", "infer", "m",
            "--input", "x.csv", "--broker", "tcp://127.0.0.1:99999,ipc://x");
    S_MAAS (2, "maas infer: --broker: no endpoint given", "infer", "m", "--input", "x.csv",
            "--broker", "");
    S_MAAS (2, "maas infer: model 'm@': after '@' comes", "infer", "m@", "--input", "x.csv");
    S_MAAS (0, "usage: maas infer NAME[@VER|@ALIAS] --input FILE|-", "infer", "--help");
    S_MAAS (0, "--top-k K", "infer", "m", "-h");
    S_MAAS (1, "maas infer: no broker answers at tcp://127.0.0.1:1", "infer", "--input", "-", "m",
            "--json", "--no-header", "--output", "class", "--top-k", "2", "--timeout", "2.5",
            "--timeout-ms=900", "--redis", "redis://127.0.0.1:1");
    //  The broker check never outlasts --timeout (3 s without a shorter one).
    S_MAAS (1, "maas infer: no broker answers at tcp://127.0.0.1:1 within 0.2 s", "infer", "m",
            "--input", "x.csv", "--timeout", "0.2");
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
    S_MAAS (2, "maas explain: --input: give a FILE, not ''", "explain", "m", "--input=");
    S_MAAS (2, "maas explain: --broker: 'tcp://h' is not an endpoint", "explain", "m", "--input",
            "x.csv", "--broker", "tcp://h");
    S_MAAS (0, "usage: maas explain NAME[@VER|@ALIAS] --input FILE|-", "explain", "--help");
    S_MAAS (1, "maas explain: cannot reach the model registry to resolve m", "explain", "--input",
            "x.csv", "m", "--method", "shapley", "--steps", "10", "--output", "1", "--top", "3",
            "--json", "--no-header", "--timeout", "5", "--timeout-ms", "5000");
}
END_TEST

//  `maas score`: the flags' ranges are score.c's (a shard of at most
//  2^31 / 65536 rows, a window of at most 4096).
START_TEST (test_score)
{
    S_MAAS (2, "maas score: unknown option '--bogus' (see --help)", "score", "--input", "a.csv",
            "m", "--output", "b.npy", "--bogus");
    S_MAAS (2, "maas score: --shard-rows: '0' is not a whole number (1..32768)", "score", "m",
            "--input", "a.csv", "--output", "b.npy", "--shard-rows", "0");
    S_MAAS (2, "maas score: --window: '4097' is not a whole number (1..4096)", "score", "m",
            "--input", "a.csv", "--output", "b.npy", "--window", "4097");
    S_MAAS (2, "maas score: --timeout: 'soon' is not a number of seconds (0.001..1000000)", "score",
            "m", "--input", "a.csv", "--output", "b.npy", "--timeout", "soon");
    S_MAAS (2, "maas score: give --input FILE and --output FILE (see --help)", "score", "m",
            "--input", "a.csv");
    S_MAAS (2, "maas score: one NAME[@VER|@ALIAS], not also 'a.csv' (see --help)", "score", "m",
            "a.csv", "b.npy");
    S_MAAS (2, "maas score: --json prints the summary on stdout: give --output FILE", "score", "m",
            "--input", "a.csv", "--output", "-", "--json");
    S_MAAS (0, "usage: maas score NAME[@VER|@ALIAS] --input FILE --output FILE", "score", "-h");
    S_MAAS (2, "maas score: --label: give a COL, not '' (see --help)", "score", "m", "--input",
            "t.csv", "--output", "z.csv", "--label", "");
    S_MAAS (2, "maas score: --output: give a FILE, not ''", "score", "m", "--input", "t.csv",
            "--output", "");
    S_MAAS (2, "maas score: --broker: 'ipc://' is not an endpoint", "score", "m", "--input",
            "a.csv", "--output", "b.npy", "--broker", "ipc://");
    S_MAAS (1, "maas score: no broker answers at tcp://127.0.0.1:1 within 3 s", "score", "--input",
            "a.csv", "--output", "b.npy", "m", "--label", "y", "--no-header", "--shard-rows", "700",
            "--window", "2", "--timeout", "3", "--json");
    S_MAAS (1, "maas score: no broker answers at tcp://127.0.0.1:1 within 1 s", "score", "m",
            "--input", "a.csv", "--output", "b.npy", "--timeout", "1");
}
END_TEST

//  `maas synth TRAIN TEST`: the two files, flags anywhere; the rows' ranges.
START_TEST (test_synth)
{
    S_MAAS (2, "maas synth: unknown option '--bogus' (see --help)", "synth", "a.csv", "b.csv",
            "--bogus");
    S_MAAS (2, "maas synth: --train: '0' is not a whole number (1..100000000)", "synth", "a.csv",
            "b.csv", "--train", "0");
    S_MAAS (2, "maas synth: --seed: '-1' is not a whole number from 0", "synth", "a.csv", "b.csv",
            "--seed", "-1");
    S_MAAS (2, "maas synth: --train and --test add up to 100000001 rows, over 100000000", "synth",
            "a.csv", "b.csv", "--train", "100000000", "--test", "1");
    S_MAAS (2, "maas synth: give two files, TRAIN and TEST (see --help)", "synth", "a.csv");
    S_MAAS (0, "usage: maas synth TRAIN TEST", "synth", "--help");
    char *dir = support_tempdir_new ("cli-synth"), *train = NULL, *test = NULL;
    ck_assert (asprintf (&train, "%s/train.csv", dir) > 0);
    ck_assert (asprintf (&test, "%s/test.csv", dir) > 0);
    //  It prints nothing: run it here, not through s_maas.
    char *maas = support_build_path ("client/maas");
    const char *argv[] = {maas,     "synth", "--train", "5",        train,
                          "--seed", "7",     test,      "--test=3", NULL};
    char *state = NULL;
    ck_assert (asprintf (&state, "MAAS_STATE_DIR=%s", dir) > 0);
    const char *env[] = {state, NULL};
    support_proc_t *proc = support_proc_start (argv, env, NULL);
    ck_assert_int_eq (support_proc_wait (proc, 10000), 0);
    support_proc_stop (&proc);
    free (state);
    free (maas);
    ck_assert_uint_eq (s_lines (train), 6);    //  the header and 5 rows
    ck_assert_uint_eq (s_lines (test), 4);
    ck_assert (support_file_has (train, "x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,label\n"));
    free (train);
    free (test);
    support_tempdir_remove (&dir);
}
END_TEST

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
    S_MAAS (2, "maas train: --momentum: only momentum and nesterov use it, not adam", "train", "m",
            "--data", "d", "--layers", "1:sigmoid", "--momentum", "0.5");
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
    S_MAAS (2, "maas train: --broker: 'inproc://' is not an endpoint", "train", "m", "--data", "d",
            "--layers", "1:sigmoid", "--broker", "inproc://");
    //  Flags before NAME, values after "=": past the flags, to the broker that is not there.
    S_MAAS (1, "maas train: no broker answers at tcp://127.0.0.1:1 within 3 s", "train", "--data=d",
            "--layers", "1:sigmoid", "--optimizer", "sgd", "--lr", "0.05", "m");
    //  The broker check never outlasts --timeout.
    S_MAAS (1, "maas train: no broker answers at tcp://127.0.0.1:1 within 1 s", "train", "m",
            "--data", "d", "--layers", "1:sigmoid", "--wait", "--timeout", "1");
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
    S_MAAS (2, "maas dataset: --label: give a COL, not '' (see --help)", "dataset", "put", "n",
            "f.csv", "--label", "");
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
    S_MAAS (2, "maas cancel: --broker: 'bogus' is not an endpoint", "cancel", "--broker", "bogus",
            "X");
    S_MAAS (2, "maas cancel: --broker: no endpoint given", "cancel", "--broker", "", "X");
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
    //  A malformed NAME@VER is a bad command line, before the registry is asked.
    S_MAAS (2, "maas model: model 'cancer@': after '@' comes a version", "model", "show",
            "cancer@");
    S_MAAS (2, "maas model: model '@1': a name is letters", "model", "show", "@1");
    S_MAAS (2, "maas model: model 'cancer@-1': after '@' comes", "model", "show", "cancer@-1");
    S_MAAS (2, "maas model: model 'cancer@0': after '@' comes", "model", "export", "cancer@0",
            "f.onnx");
    S_MAAS (2, "maas model: model 'm@': after '@' comes", "model", "threshold", "m@", "0.5");
    S_MAAS (2, "maas model: model 'm@-2': after '@' comes", "model", "tag", "m@-2", "k=v");
    S_MAAS (2, "maas model: unknown command 'frob' (see --help)", "model", "frob");
    S_MAAS (2, "maas model: give a COMMAND", "model", "--json");
    S_MAAS (2, "usage: maas model COMMAND", "model");
    S_MAAS (0, "usage: maas model COMMAND", "model", "--help");
    S_MAAS (0, "threshold NAME[@VER|@ALIAS] P|none", "model", "--help");    //  as docs/cli.md
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
    //  A gateway address it cannot listen on: said before anything starts.
    S_MAAS (2, "maas up: --http: 'bogus' is not IPV4:PORT (port 0..65535, 0: any) or off", "up",
            "--http", "bogus");
    S_MAAS (2, "maas up: --http: '127.0.0.1:99999' is not IPV4:PORT", "up", "--http",
            "127.0.0.1:99999");
    S_MAAS (2, "maas up: --http: 'localhost:8501' is not IPV4:PORT", "up", "--http=localhost:8501");
    S_MAAS (2, "maas up: --http: '' is not IPV4:PORT", "up", "--http", "");
    S_MAAS (0, "usage: maas up [--workers N]", "up", "--help");
    //  --cache-mb's default as docs/cli.md gives it: 0, meaning 256.
    S_MAAS (0, "each worker's model cache, MiB (0: 256) (0..1048576, default 0)", "up", "--help");
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

//  One TCase per command group, each with room for a dozen runs of maas on
//  2 busy cores (some wait out the broker's 3 s PING).
static void
s_add (Suite *suite, const char *name, const TTest *test)
{
    TCase *tcase = tcase_create (name);
    tcase_set_timeout (tcase, 60);
    tcase_add_test (tcase, test);
    suite_add_tcase (suite, tcase);
}

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("cli");
    s_add (suite, "keygen", test_keygen);
    s_add (suite, "curve", test_curve_flags);
    s_add (suite, "infer", test_infer);
    s_add (suite, "explain", test_explain);
    s_add (suite, "score", test_score);
    s_add (suite, "synth", test_synth);
    s_add (suite, "train", test_train);
    s_add (suite, "dataset", test_dataset);
    s_add (suite, "job, jobs, cancel", test_job);
    s_add (suite, "status", test_status);
    s_add (suite, "model", test_model);
    s_add (suite, "up, down, ps", test_stack);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
