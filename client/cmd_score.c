/*  cmd_score.c: `maas score`: fan-out batch scoring of a file across all
 *  workers, with a progress bar on a terminal; and `maas synth`, which
 *  writes the synthetic benchmark problem as CSV or .npy. */
#include "commands.h"
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

static const char *s_score_usage =
    "usage: maas score NAME[@VER|@ALIAS] --input FILE --output FILE [--label COL]\n"
    "                  [--no-header] [--shard-rows N] [--window N] [--broker ENDPOINTS]\n"
    "                  [--redis URL]\n"
    "Score every row of FILE (CSV with a header row, or .npy float32/float64) on the\n"
    "model, fanned out over all workers, and write the predictions in input order\n"
    "(.npy: rows x outputs float32; CSV: p0..pN-1 and class). '-' is stdin / stdout\n"
    "(CSV). The output is written to a temporary file renamed over FILE on success, so\n"
    "a failed run leaves FILE as it was; an output that is the input is refused. The\n"
    "model's alias is resolved once in the registry (--redis URL, $MAAS_REDIS_URL):\n"
    "every row runs on one version. CSV columns are matched by name to the model's\n"
    "(others are dropped, and named on stderr); a file without a header row needs\n"
    "--no-header (columns by position). --label COL keeps a\n"
    "column out of the input and reports accuracy against it. Ctrl-C cancels the\n"
    "shards in flight. Broker: --broker, $MAAS_BROKER_FRONTEND, or the stack of `maas up`.\n";

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
} s_progress_t;

static void
s_progress (size_t done, size_t total, void *arg)
{
    s_progress_t *self = arg;
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
        fprintf (stderr, "%s[%.*s%*s] %zu/%zu rows %.0f rows/s%s%s", self->tty ? "\r" : "",
                 filled, "##############################", width - filled, "", done, total,
                 rate, eta, self->tty ? "\033[K" : "\n");
    } else
        fprintf (stderr, "%s%zu rows %.0f rows/s%s", self->tty ? "\r" : "", done, rate,
                 self->tty ? "\033[K" : "\n");
}

static const char *
s_arg (int argc, char **argv, int *i)
{
    return *i + 1 < argc ? argv[++*i] : NULL;
}

int
maas_cmd_score (int argc, char **argv)
{
    const char *model = NULL, *input = NULL, *output = NULL, *label = NULL, *redis = NULL;
    const char *broker = getenv ("MAAS_BROKER_FRONTEND");
    maas_score_config_t config = {0};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = NULL;
        if (strcmp (flag, "--help") == 0 || strcmp (flag, "-h") == 0) {
            fputs (s_score_usage, stdout);
            return 0;
        }
        if (strcmp (flag, "--no-header") == 0) {
            config.no_header = true;
            continue;
        }
        if (flag[0] != '-' && !model) {
            model = flag;
            continue;
        }
        if (!(value = s_arg (argc, argv, &i)))
            break;
        if (strcmp (flag, "--input") == 0) input = value;
        else if (strcmp (flag, "--output") == 0) output = value;
        else if (strcmp (flag, "--label") == 0) label = value;
        else if (strcmp (flag, "--broker") == 0) broker = value;
        else if (strcmp (flag, "--redis") == 0) redis = value;
        else if (strcmp (flag, "--shard-rows") == 0) config.shard_rows = strtoul (value, NULL, 10);
        else if (strcmp (flag, "--window") == 0) config.window = strtoul (value, NULL, 10);
        else {
            fprintf (stderr, "maas score: unknown option '%s'\n%s", flag, s_score_usage);
            return 2;
        }
    }
    if (!model || !input || !output) {
        fprintf (stderr, "maas score: need a model, --input and --output\n%s", s_score_usage);
        return 2;
    }
    if (!broker) {
        fprintf (stderr, "maas score: no broker: give --broker, set MAAS_BROKER_FRONTEND, or run maas up\n");
        return 2;
    }
    //  One version for the whole run, and its column names, asked once.
    maas_model_ref_t ref;
    char err[MAAS_SCORE_ERR_SIZE];
    if (maas_model_ref_resolve (&ref, model, redis, err, sizeof err) != 0) {
        fprintf (stderr, "maas score: %s\n", err);
        maas_model_ref_clear (&ref);
        return 1;
    }
    maas_client_t *client = maas_cli_client ("maas score", broker);
    if (!client) {
        fprintf (stderr, "maas score: cannot connect to '%s'\n", broker);
        maas_model_ref_clear (&ref);
        return 1;
    }
    s_progress_t progress = {.tty = isatty (STDERR_FILENO), .started_us = maas_clock_mono_us ()};
    config.model = ref.pinned;
    config.columns = (const char *const *) ref.columns;
    config.n_columns = ref.n_columns;
    config.progress = s_progress;
    config.progress_arg = &progress;
    config.interrupted = &s_interrupted;
    struct sigaction action = {.sa_handler = s_on_signal};
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    maas_score_stats_t stats;
    double accuracy;
    int rc = maas_score_file (client, &config, input, output, label, &accuracy, &stats, err,
                              sizeof err);
    if (progress.tty)
        fputc ('\n', stderr);
    maas_client_destroy (&client);
    char used[160];
    maas_model_ref_describe (&ref, used, sizeof used);
    maas_model_ref_clear (&ref);
    if (rc != 0) {
        fprintf (stderr, "maas score: %s\n", err);
        return 1;
    }
    if (*stats.dropped)
        fprintf (stderr, "maas score: %s: dropped columns the model does not use: %s\n", input,
                 stats.dropped);
    //  With the predictions on stdout, the summary goes to stderr.
    FILE *summary = strcmp (output, "-") == 0 ? stderr : stdout;
    fprintf (summary,
             "scored %zu rows with %s in %zu shards (%zu retried) in %.2f s: %.0f rows/s -> %s\n",
             stats.rows, used, stats.shards, stats.retries, stats.seconds,
             stats.seconds > 0 ? (double) stats.rows / stats.seconds : 0.0, output);
    if (!isnan (accuracy))
        fprintf (summary, "accuracy against '%s': %.4f\n", label, accuracy);
    return 0;
}

static const char *s_synth_usage =
    "usage: maas synth TRAIN TEST [--train N] [--test N] [--seed S]\n"
    "Write the synthetic 10-feature binary problem of the benchmarks (x ~ N(0,1)^10,\n"
    "y = [w.x + x'Qx/2 - trQ/2 > 0]) as TRAIN and TEST files (CSV with a header\n"
    "x0..x9,label, or .npy with the label as the last column). Defaults: 100000\n"
    "train rows, 20000 test rows, seed 0.\n";

static int
s_write_rows (const char *path, const float *x, const float *y, size_t rows, size_t cols)
{
    char err[MAAS_NPY_ERROR_SIZE];
    if (maas_npy_is_path (path)) {
        maas_npy_writer_t *writer = maas_npy_create (path, cols + 1, err, sizeof err);
        float row[MAAS_SYNTH_FEATURES + 1];
        for (size_t r = 0; writer && r < rows; r++) {
            memcpy (row, x + r * cols, cols * sizeof (float));
            row[cols] = y[r];
            if (maas_npy_write (writer, row, 1, err, sizeof err) != 0)
                break;
        }
        if (!writer || maas_npy_close (&writer, err, sizeof err) != 0) {
            fprintf (stderr, "maas synth: %s\n", err);
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
    const char *paths[2] = {NULL, NULL};
    unsigned long long train = 100000, test = 20000, seed = 0;
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp (argv[i], "--help") == 0) {
            fputs (s_synth_usage, stdout);
            return 0;
        } else if (strcmp (argv[i], "--train") == 0 && ++i)
            train = strtoull (value, NULL, 10);
        else if (strcmp (argv[i], "--test") == 0 && ++i)
            test = strtoull (value, NULL, 10);
        else if (strcmp (argv[i], "--seed") == 0 && ++i)
            seed = strtoull (value, NULL, 10);
        else if (argv[i][0] != '-' && n_paths < 2)
            paths[n_paths++] = argv[i];
        else {
            fprintf (stderr, "maas synth: unexpected '%s'\n%s", argv[i], s_synth_usage);
            return 2;
        }
    }
    size_t rows = (size_t) (train + test), cols = MAAS_SYNTH_FEATURES;
    if (n_paths != 2 || train == 0 || test == 0 || rows > 100000000) {
        fputs (s_synth_usage, stderr);
        return 2;
    }
    float *x = malloc (rows * cols * sizeof (float)), *y = malloc (rows * sizeof (float));
    int rc = x && y && maas_synth_generate (seed, cols, rows, x, y) == 0 ? 0 : 1;
    if (rc == 0 && (s_write_rows (paths[0], x, y, train, cols) != 0
                    || s_write_rows (paths[1], x + train * cols, y + train, test, cols) != 0))
        rc = 1;
    free (x);
    free (y);
    return rc;
}
