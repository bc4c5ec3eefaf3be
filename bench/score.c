/*  bench/score: fan-out batch scoring of 1,000,000 rows (10 features, the
 *  seed's 10-64-64-1 network) through a local stack with 2 workers
 *  (`maas up`), .npy to .npy and CSV to CSV, beside in-process predictor
 *  rows/s on the same rows in the same run. JSON lines on stdout. */
#include "maas.h"
#include "proc.h"
#include "client.h"
#include "forward.h"
#include "model.h"
#include "npy.h"
#include "registry.h"
#include "score.h"
#include "synth.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ROWS 1000000
#define S_COLS MAAS_SYNTH_FEATURES

//  Run the maas CLI with ARGS; its output goes to stderr. Returns the exit code.
static int
s_maas (const char *const *args)
{
    const char *argv[16] = {MAAS_TOP_BUILDDIR "/client/maas"};
    for (size_t i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    pid_t pid = bench_fork ();
    if (pid == 0) {
        dup2 (STDERR_FILENO, STDOUT_FILENO);
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    int status;
    waitpid (pid, &status, 0);
    return WIFEXITED (status) ? WEXITSTATUS (status) : 1;
}

//  Train nothing: a seeded random 10-64-64-1 network standing in for the
//  trained one (scoring cost does not depend on the weights).
static maas_model_t *
s_model (void)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (S_COLS, layers, 3);
    maas_mlp_init (mlp, 1);
    return maas_model_new (&mlp);
}

static double
s_in_process (const maas_model_t *model, const float *x, float *out)
{
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    double best = 0;
    for (int pass = 0; pass < 3; pass++) {
        int64_t start = maas_clock_mono_us ();
        for (size_t done = 0; done < S_ROWS; done += 65536) {
            size_t rows = S_ROWS - done < 65536 ? S_ROWS - done : 65536;
            maas_predictor_run (predictor, x + done * S_COLS, rows, out + done);
        }
        double rate = S_ROWS / ((double) (maas_clock_mono_us () - start) / 1e6);
        best = rate > best ? rate : best;
    }
    maas_predictor_destroy (&predictor);
    return best;
}

static int
s_write_inputs (const char *dir, const float *x)
{
    char path[512], err[256];
    snprintf (path, sizeof path, "%s/in.npy", dir);
    maas_npy_writer_t *writer = maas_npy_create (path, S_COLS, err, sizeof err);
    if (!writer || maas_npy_write (writer, x, S_ROWS, err, sizeof err) != 0
        || maas_npy_close (&writer, err, sizeof err) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/in.csv", dir);
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    for (int j = 0; j < S_COLS; j++)
        fprintf (file, "%sx%d", j ? "," : "", j);
    fputc ('\n', file);
    for (size_t r = 0; r < S_ROWS; r++)
        for (int j = 0; j < S_COLS; j++)
            fprintf (file, "%.7g%c", x[r * S_COLS + j], j + 1 < S_COLS ? ',' : '\n');
    return fclose (file);
}

static int
s_publish (const char *redis_url, const maas_model_t *model)
{
    uint8_t *blob;
    size_t size;
    char err[256];
    maas_registry_t *registry = maas_registry_new (redis_url, NULL, err, sizeof err);
    if (!registry || maas_model_encode (model, &blob, &size, NULL) != 0) {
        fprintf (stderr, "bench/score: %s\n", err);
        maas_registry_destroy (&registry);
        return -1;
    }
    maas_registry_meta_t meta = {0};
    uint64_t version;
    int rc = maas_registry_publish (registry, "seed", blob, size, &meta, &version, NULL);
    maas_registry_destroy (&registry);
    free (blob);
    return rc;
}

//  Score INPUT into OUTPUT through the stack; rows/s, or -1.
static double
s_score (const char *broker, const char *input, const char *output)
{
    maas_client_t *client = maas_client_new (broker, NULL);
    maas_score_config_t config = {.model = "seed"};
    maas_score_stats_t stats;
    char err[MAAS_SCORE_ERR_SIZE];
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, err, sizeof err);
    maas_client_destroy (&client);
    if (rc != 0) {
        fprintf (stderr, "bench/score: %s\n", err);
        return -1;
    }
    return (double) stats.rows / stats.seconds;
}

//  Rows of OUTPUT (.npy) whose bits differ from EXPECTED, or S_ROWS if unreadable.
static size_t
s_mismatches (const char *output, const float *expected)
{
    char err[256];
    maas_npy_reader_t *reader = maas_npy_open (output, err, sizeof err);
    float *got = malloc (S_ROWS * sizeof (float));
    size_t n = 0, bad = 0;
    if (!reader || maas_npy_read (reader, got, S_ROWS, &n, err, sizeof err) != 0 || n != S_ROWS)
        bad = S_ROWS;
    for (size_t r = 0; bad == 0 && r < S_ROWS; r++)
        bad += memcmp (&got[r], &expected[r], sizeof (float)) != 0;
    free (got);
    maas_npy_reader_destroy (&reader);
    return bad;
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    maas_blas_set_threads (1);
    char dir[] = "/tmp/maas-bench-score-XXXXXX", path[600], in[600], out[600];
    if (!mkdtemp (dir))
        return 1;
    float *x = malloc (S_ROWS * S_COLS * sizeof (float)), *y = malloc (S_ROWS * sizeof (float));
    float *expected = malloc (S_ROWS * sizeof (float));
    maas_synth_generate (0, S_COLS, S_ROWS, x, y);
    maas_model_t *model = s_model ();
    fprintf (stderr, "bench/score: in-process baseline\n");
    bench_figure ("score", "in_process_batch_65536", "rows_per_s",
                  s_in_process (model, x, expected), "rows/s");
    if (s_write_inputs (dir, x) != 0)
        return 1;
    const char *up[] = {"up",      "--workers", "2",      "--trainers", "0",
                        "--state", dir,         "--http", "off",        NULL};
    int rc = s_maas (up);
    char redis_url[700], broker[700];
    snprintf (redis_url, sizeof redis_url, "unix://%s/redis.sock", dir);
    snprintf (broker, sizeof broker, "ipc://%s/frontend.sock", dir);
    if (rc == 0)
        rc = s_publish (redis_url, model);
    if (rc == 0) {
        snprintf (in, sizeof in, "%s/in.npy", dir);
        snprintf (out, sizeof out, "%s/out.npy", dir);
        double best = 0;
        for (int pass = 0; pass < 2; pass++) {
            fprintf (stderr, "bench/score: npy to npy, pass %d\n", pass + 1);
            double rate = s_score (broker, in, out);
            best = rate > best ? rate : best;
        }
        bench_figure ("score", "npy_to_npy_2_workers", "rows_per_s", best, "rows/s");
        bench_figure ("score", "npy_to_npy_2_workers", "rows_differing_from_in_process",
                      (double) s_mismatches (out, expected), "rows");
        snprintf (in, sizeof in, "%s/in.csv", dir);
        snprintf (out, sizeof out, "%s/out.csv", dir);
        fprintf (stderr, "bench/score: csv to csv\n");
        bench_figure ("score", "csv_to_csv_2_workers", "rows_per_s", s_score (broker, in, out),
                      "rows/s");
    }
    const char *down[] = {"down", "--state", dir, NULL};
    s_maas (down);
    const char *files[] = {"in.npy",
                           "out.npy",
                           "in.csv",
                           "out.csv",
                           "logs/redis.log",
                           "logs/broker.log",
                           "logs/worker-1.log",
                           "logs/worker-2.log",
                           "logs"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf (path, sizeof path, "%s/%s", dir, files[i]);
        remove (path);
    }
    rmdir (dir);
    maas_model_destroy (&model);
    free (x);
    free (y);
    free (expected);
    return rc == 0 ? 0 : 1;
}
