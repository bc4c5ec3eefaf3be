/*  cmd_score.c: `maas score`: fan-out batch scoring of a file across all
 *  workers, with a progress bar on a terminal; and `maas synth`, which
 *  writes the synthetic benchmark problem as CSV or .npy. */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "follow.h"
#include "output.h"
#include "maas.h"
#include "model_ref.h"
#include "npy.h"
#include "score.h"
#include "synth.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_score_summary[] =
    "usage: maas score NAME[@VER|@ALIAS] --input FILE --output FILE [OPTIONS]\n\n"
    "Score every row of FILE (CSV with a header row, or .npy float32/float64) on the\n"
    "model, fanned out over all workers, and write the predictions in input order\n"
    "(.npy: rows x outputs float32; CSV: p0..pN-1 and class). '-' is stdin / stdout\n"
    "(CSV). The output is written to a temporary file renamed over FILE on success, so\n"
    "a failed run leaves FILE as it was; an output that is the input is refused. The\n"
    "model's alias is resolved once in the registry: every row runs on one version.\n"
    "CSV columns are matched by name to the model's (others are dropped, and named on\n"
    "stderr); a file without a header row needs --no-header (columns by position).\n\n";

static const char s_score_epilog[] =
    "\n--label COL keeps a column out of the input and reports accuracy against it\n"
    "(class numbers, or the model's class labels by name). Ctrl-C cancels the shards\n"
    "in flight (exit 130), as does --timeout S (exit 1). The run has an id, printed\n"
    "first on stderr; its shard jobs are RUN.0, RUN.1, ... (`maas jobs --run RUN`).\n"
    "--curve-key FILE and --broker-key FILE: CurveZMQ keys (docs/security.md).\n";

//  Set by SIGINT/SIGTERM; the scoring loop polls it.
static volatile sig_atomic_t s_interrupted;

static void
s_on_signal (int sig)
{
    s_interrupted = 1;
}

typedef struct {
    bool tty;                       //  redraw in place
    int64_t started_us;             //  for rows/s and ETA
    int64_t printed_us;             //  last line printed (plain mode: every 2 s)
    size_t done;                    //  rows written so far
    const char *first_id;           //  the first shard's job id
    maas_follow_queued_t queued;    //  says once when it stays queued
} s_progress_t;

static void
s_progress (size_t done, size_t total, void *arg)
{
    s_progress_t *self = arg;
    self->done = done;
    int64_t now = maas_clock_mono_us ();
    double seconds = (double) (now - self->started_us) / 1e6;
    double rate = seconds > 0 ? (double) done / seconds : 0;
    if (!self->tty && now - self->printed_us < 2000000 && done != total)
        return;
    self->printed_us = now;
    char eta[32] = "";
    if (total && rate > 0)
        snprintf (eta, sizeof eta, " ETA %.0fs", (double) (total - done) / rate);
    if (total) {
        int width = 30, filled = (int) ((double) width * (double) done / (double) total);
        fprintf (stderr, "%s[%.*s%*s] %zu/%zu rows %.0f rows/s%s%s", self->tty ? "\r" : "", filled,
                 "##############################", width - filled, "", done, total, rate, eta,
                 self->tty ? "\033[K" : "\n");
    }
    else
        fprintf (stderr, "%s%zu rows %.0f rows/s%s", self->tty ? "\r" : "", done, rate,
                 self->tty ? "\033[K" : "\n");
}

typedef struct {
    const char *model;             //  NAME[@VER|@ALIAS]
    const char *input;             //  --input
    const char *output;            //  --output
    const char *label;             //  --label or NULL
    const char *redis;             //  --redis or NULL
    maas_redis_config_t where;     //  registry and job status: --redis or the environment's
    const char *broker;            //  --broker, $MAAS_BROKER_FRONTEND, or the default
    bool json;                     //  --json: the summary as one JSON object
    maas_score_config_t config;    //  shard rows, window, no_header, timeout
} s_score_args_t;

//  NAME and the flags that must be there, once the table has read ARGV:
//  true (exit 2) after saying what is missing.
static bool
s_score_missing (const s_score_args_t *args, int argc, char **argv, int next)
{
    if (next == argc)
        fprintf (stderr, "maas score: give NAME[@VER|@ALIAS] (see --help)\n");
    else if (next < argc - 1)
        fprintf (stderr, "maas score: one NAME[@VER|@ALIAS], not also '%s' (see --help)\n",
                 argv[next + 1]);
    else if (!args->input || !args->output)
        fprintf (stderr, "maas score: give --input FILE and --output FILE (see --help)\n");
    else if (args->json && strcmp (args->output, "-") == 0)
        fprintf (stderr, "maas score: --json prints the summary on stdout: give --output FILE\n");
    else
        return false;
    return true;
}

//  The command line into ARGS; true when the command ends here with exit *CODE.
static bool
s_score_parse (int argc, char **argv, const maas_cli_env_t *env, s_score_args_t *args, int *code)
{
    *args = (s_score_args_t){
        .broker = env->broker,
        .config = {.shard_rows = MAAS_SCORE_SHARD_ROWS, .window = MAAS_SCORE_WINDOW}};
    bool header = true;
    int timeout_ms = 0;
    const maas_option_t table[] = {
        {"--input", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->input, "FILE",
         "the rows: CSV or .npy, - for stdin (CSV)", "none: required"},
        {"--output", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->output, "FILE",
         "the predictions: CSV or .npy, - for stdout (CSV)", "none: required"},
        {"--label", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->label, "COL",
         "score accuracy against column COL (kept out of the input)", NULL},
        {"--no-header", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &header, NULL,
         "the CSV has no header line: columns by position", "off"},
        {"--shard-rows", NULL, MAAS_OPT_UINT, 1, MAAS_TENSOR_MAX_ELEMS / 65536, NULL,
         &args->config.shard_rows, "N", "rows per infer job", NULL},
        {"--window", NULL, MAAS_OPT_UINT, 1, 4096, NULL, &args->config.window, "N",
         "shards in flight at once", NULL},
        {"--timeout", NULL, MAAS_OPT_SECONDS, 0.001, 1000000, NULL, &timeout_ms, "S",
         "stop the run after this long, cancelling the shards in flight", "none"},
        MAAS_CLI_OPT_JSON (&args->json, "the summary as one JSON object on stdout (docs/cli.md)"),
        MAAS_CLI_OPT_BROKER (&args->broker),
        MAAS_CLI_OPT_REDIS (&args->redis, "the registry (the version, the columns) and the jobs"),
    };
    const maas_options_t options = {"maas score", s_score_summary, s_score_epilog, table,
                                    sizeof table / sizeof table[0]};
    int next = 0;
    if (maas_cli_options (&options, argc, argv, &next, code))
        return true;
    *code = MAAS_EXIT_USAGE;
    if (s_score_missing (args, argc, argv, next)
        || maas_cli_broker_bad ("maas score", args->broker))
        return true;
    args->model = argv[next];
    args->config.no_header = !header;
    args->config.timeout_ms = timeout_ms;
    return false;
}

//  Each turn of the run: say once when the first shard stays queued.
static void
s_tick (void *arg)
{
    s_progress_t *self = arg;
    if (self->done == 0)
        maas_follow_check_queued (&self->queued, self->first_id);
}

//  The outcome as one JSON object (docs/cli.md); ERROR is NULL on success.
static void
s_score_json (const s_score_args_t *args, const char *run_id, const maas_model_ref_t *ref,
              const maas_score_stats_t *stats, double accuracy, const char *error)
{
    printf ("{");
    maas_json_field (stdout, "run", run_id, 1);
    maas_json_field (stdout, "status", error ? "failed" : "succeeded", 0);
    maas_json_field (stdout, "error", error, 0);
    maas_json_field (stdout, "model", ref->name, 0);
    uint64_t version = stats->version ? stats->version : ref->version;
    printf (",\"version\":%llu", (unsigned long long) version);
    maas_json_field (stdout, "alias", *ref->asked ? ref->asked : NULL, 0);
    printf (",\"rows\":%zu,\"shards\":%zu,\"retries\":%zu,\"seconds\":%.3f,\"rows_per_s\":%.1f",
            stats->rows, stats->shards, stats->retries, stats->seconds,
            stats->seconds > 0 ? (double) stats->rows / stats->seconds : 0.0);
    maas_json_field (stdout, "output", args->output, 0);
    printf (",\"dropped\":[");
    for (const char *at = stats->dropped; *at;) {
        size_t len = strcspn (at, ",");
        printf ("%s\"%.*s\"", at == stats->dropped ? "" : ",", (int) len, at);
        at += len;
        at += strspn (at, ", ");
    }
    printf (isnan (accuracy) ? "],\"accuracy\":null" : "],\"accuracy\":%.6f", accuracy);
    printf (isnan (stats->rmse) ? ",\"rmse\":null}\n" : ",\"rmse\":%.6g}\n", stats->rmse);
}

//  The outcome as text: the summary on stdout (stderr when the predictions
//  are on stdout), errors on stderr.
static void
s_score_text (const s_score_args_t *args, const char *run_id, const maas_model_ref_t *ref,
              const maas_score_stats_t *stats, double accuracy, const char *error)
{
    if (error) {
        fprintf (stderr, "maas score: run %s: %s\n", run_id, error);
        return;
    }
    char used[160];
    maas_model_ref_describe (ref, used, sizeof used);
    FILE *summary = strcmp (args->output, "-") == 0 ? stderr : stdout;
    fprintf (summary,
             "run %s: scored %zu rows with %s in %zu shards (%zu retried) in %.2f s: %.0f "
             "rows/s -> %s\n",
             run_id, stats->rows, used, stats->shards, stats->retries, stats->seconds,
             stats->seconds > 0 ? (double) stats->rows / stats->seconds : 0.0, args->output);
    if (!isnan (accuracy))
        fprintf (summary, "accuracy against '%s': %.4f\n", args->label, accuracy);
    if (!isnan (stats->rmse))
        fprintf (summary, "RMSE against '%s': %.6g\n", args->label, stats->rmse);
}

//  Score with CLIENT on the version REF names; the exit code.
static int
s_score_run (s_score_args_t *args, maas_client_t *client, const maas_model_ref_t *ref)
{
    char run_id[MAAS_PROTO_ID_SIZE], first_id[MAAS_PROTO_ID_MAX + 1];
    maas_err_t err;
    maas_proto_idgen_t gen = {0};
    maas_proto_id_new (&gen, run_id);
    snprintf (first_id, sizeof first_id, "%s.0", run_id);
    redisContext *redis = maas_redis_connect (&args->where, 2000, &err);
    s_progress_t progress = {.tty = isatty (STDERR_FILENO),
                             .started_us = maas_clock_mono_us (),
                             .first_id = first_id,
                             .queued = {.redis = redis,
                                        .prefix = "maas:",
                                        .cmd = "maas score",
                                        .kind = "infer",
                                        .start_ms = maas_clock_mono_ms ()}};
    maas_score_config_t *config = &args->config;
    config->model = ref->pinned;
    config->columns = (const char *const *) ref->columns;
    config->n_columns = ref->n_columns;
    config->labels = (const char *const *) ref->labels;
    config->n_labels = ref->n_labels;
    config->progress = s_progress;
    config->tick = s_tick;
    config->progress_arg = &progress;
    config->interrupted = &s_interrupted;
    config->run_id = run_id;
    fprintf (stderr, "maas score: run %s (Ctrl-C cancels it)\n", run_id);
    maas_score_stats_t stats;
    double accuracy;
    int rc = maas_score_file (client, config, args->input, args->output, args->label, &accuracy,
                              &stats, &err);
    if (progress.tty)
        fputc ('\n', stderr);
    if (redis)
        redisFree (redis);
    if (*stats.dropped)
        fprintf (stderr, "maas score: %s: dropped columns the model does not use: %s\n",
                 args->input, stats.dropped);
    if (args->json)
        s_score_json (args, run_id, ref, &stats, accuracy, rc ? err.text : NULL);
    if (!args->json || rc)
        s_score_text (args, run_id, ref, &stats, accuracy, rc ? err.text : NULL);
    return s_interrupted ? MAAS_EXIT_INTERRUPTED : rc ? MAAS_EXIT_FAILED : MAAS_EXIT_OK;
}

int
maas_cmd_score (int argc, char **argv)
{
    s_score_args_t args;
    maas_cli_env_t env = maas_cli_env ();
    int code = 0;
    if (s_score_parse (argc, argv, &env, &args, &code))
        return code;
    args.where = maas_cli_redis (&env, args.redis);
    maas_client_t *client = maas_cli_client ("maas score", args.broker);
    if (!client)
        return MAAS_EXIT_FAILED;
    //  Our handler over czmq's (which the client's socket installs), before
    //  the ping: a Ctrl-C from now on cancels the run.
    struct sigaction action = {.sa_handler = s_on_signal};
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    if (maas_follow_ping (client, "maas score", args.broker, (int) args.config.timeout_ms) != 0) {
        maas_client_destroy (&client);
        return MAAS_EXIT_FAILED;
    }
    //  One version for the whole run, and its column names, asked once.
    maas_model_ref_t ref;
    char err[MAAS_ERR_TEXT_MAX];
    int rc = MAAS_EXIT_FAILED;
    if (maas_model_ref_resolve (&ref, args.model, &args.where, err, sizeof err) != 0)
        fprintf (stderr, "maas score: %s\n", err);
    else
        rc = s_score_run (&args, client, &ref);
    maas_model_ref_clear (&ref);
    maas_client_destroy (&client);
    return rc;
}

static const char s_synth_summary[] =
    "usage: maas synth TRAIN TEST [--train N] [--test N] [--seed S]\n\n"
    "Write the synthetic 10-feature binary problem of the benchmarks (x ~ N(0,1)^10,\n"
    "y = [w.x + x'Qx/2 - trQ/2 > 0]) as TRAIN and TEST files (CSV with a header\n"
    "x0..x9,label, or .npy with the label as the last column).\n\n";

//  Most rows TRAIN and TEST hold together (1.2 GB of floats, with the labels).
#define S_SYNTH_ROWS_MAX 100000000

static int
s_write_rows (const char *path, const float *x, const float *y, size_t rows, size_t cols)
{
    maas_err_t err;
    if (maas_npy_is_path (path)) {
        maas_npy_writer_t *writer = maas_npy_create (path, cols + 1, &err);
        float row[MAAS_SYNTH_FEATURES + 1];
        for (size_t r = 0; writer && r < rows; r++) {
            memcpy (row, x + r * cols, cols * sizeof (float));
            row[cols] = y[r];
            if (maas_npy_write (writer, row, 1, &err) != 0)
                break;
        }
        if (!writer || maas_npy_close (&writer, &err) != 0) {
            fprintf (stderr, "maas synth: %s\n", err.text);
            return -1;
        }
        return 0;
    }
    FILE *file = fopen (path, "w");
    if (!file) {
        perror (path);
        return -1;
    }
    for (size_t j = 0; j < cols; j++)
        fprintf (file, "x%zu,", j);
    fputs ("label\n", file);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++)
            fprintf (file, "%.7g,", x[r * cols + j]);
        fprintf (file, "%d\n", (int) y[r]);
    }
    return fclose (file) == 0 ? 0 : -1;
}

int
maas_cmd_synth (int argc, char **argv)
{
    size_t train = 100000, test = 20000;
    uint64_t seed = 0;
    const maas_option_t table[] = {
        {"--train", NULL, MAAS_OPT_UINT, 1, S_SYNTH_ROWS_MAX, NULL, &train, "N", "rows in TRAIN",
         NULL},
        {"--test", NULL, MAAS_OPT_UINT, 1, S_SYNTH_ROWS_MAX, NULL, &test, "N", "rows in TEST",
         NULL},
        {"--seed", NULL, MAAS_OPT_U64, 0, 0, NULL, &seed, "S", "the generator's seed", NULL},
    };
    const maas_options_t options = {"maas synth", s_synth_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int next = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &next, &code))
        return code;
    if (next != argc - 2) {
        fprintf (stderr, "maas synth: give two files, TRAIN and TEST (see --help)\n");
        return MAAS_EXIT_USAGE;
    }
    if (train + test > S_SYNTH_ROWS_MAX) {
        fprintf (stderr, "maas synth: --train and --test add up to %zu rows, over %d\n",
                 train + test, S_SYNTH_ROWS_MAX);
        return MAAS_EXIT_USAGE;
    }
    const char *paths[2] = {argv[next], argv[next + 1]};
    size_t rows = train + test, cols = MAAS_SYNTH_FEATURES;
    float *x = malloc (rows * cols * sizeof (float)), *y = malloc (rows * sizeof (float));
    int rc = x && y && maas_synth_generate (seed, cols, rows, x, y) == 0 ? 0 : 1;
    if (rc == 0
        && (s_write_rows (paths[0], x, y, train, cols) != 0
            || s_write_rows (paths[1], x + train * cols, y + train, test, cols) != 0))
        rc = 1;
    free (x);
    free (y);
    return rc;
}
