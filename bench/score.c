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

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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
    char path[512];
    snprintf (path, sizeof path, "%s/in.npy", dir);
    maas_npy_writer_t *writer = maas_npy_create (path, S_COLS, NULL);
    if (!writer || maas_npy_write (writer, x, S_ROWS, NULL) != 0
        || maas_npy_close (&writer, NULL) != 0)
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
    maas_err_t err;
    maas_registry_t *registry = maas_registry_new (redis_url, NULL, &err);
    if (!registry || maas_model_encode (model, &blob, &size, NULL) != 0) {
        fprintf (stderr, "bench/score: %s\n", err.text);
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

//  The stack's processes by role, as `maas up` recorded them in
//  DIR/stack.pids, and the CPU seconds each role had used at the last look.
#define S_ROLES 4
static const char *const s_roles[S_ROLES] = {"client", "broker", "worker", "redis"};

typedef struct {
    pid_t pids[16];           //  the stack's processes
    int role[16];             //  index into s_roles of each
    size_t count;             //  how many
    double cpu_s[S_ROLES];    //  CPU seconds by role at the last s_cpu_mark
} s_cpu_t;

static void
s_cpu_open (s_cpu_t *self, const char *dir)
{
    char path[700], role[32], program[64];
    int pid;
    memset (self, 0, sizeof *self);
    snprintf (path, sizeof path, "%s/stack.pids", dir);
    FILE *file = fopen (path, "r");
    while (file && self->count < 16 && fscanf (file, "%31s %d %63s", role, &pid, program) == 3) {
        int r = strncmp (role, "worker", 6) == 0 ? 2 : strcmp (role, "broker") == 0 ? 1 : 3;
        if (r == 3 && strcmp (role, "redis") != 0)
            continue;
        self->pids[self->count] = (pid_t) pid;
        self->role[self->count++] = r;
    }
    if (file)
        fclose (file);
}

//  CPU seconds by role now (the client is this process: its I/O thread too);
//  with FIGURES, each role's nanoseconds per row of ROWS since the last mark.
static void
s_cpu_mark (s_cpu_t *self, const char *bench_case, size_t rows, bool figures)
{
    double now[S_ROLES] = {0};
    struct timespec ts;
    clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
    now[0] = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
    for (size_t i = 0; i < self->count; i++)
        now[self->role[i]] += bench_cpu_s (self->pids[i]);
    for (int r = 0; figures && r < S_ROLES; r++) {
        char metric[64];
        snprintf (metric, sizeof metric, "%s_cpu_ns_per_row", s_roles[r]);
        bench_figure ("score", bench_case, metric, (now[r] - self->cpu_s[r]) * 1e9 / (double) rows,
                      "ns");
    }
    memcpy (self->cpu_s, now, sizeof now);
}

//  Score INPUT into OUTPUT through the stack; rows/s, or -1.
static double
s_score (const char *broker, const char *input, const char *output)
{
    maas_client_t *client = maas_client_new (broker, NULL);
    maas_score_config_t config = {.model = "seed"};
    maas_score_stats_t stats;
    maas_err_t err;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, &err);
    maas_client_destroy (&client);
    if (rc != 0) {
        fprintf (stderr, "bench/score: %s\n", err.text);
        return -1;
    }
    return (double) stats.rows / stats.seconds;
}

//  Rows of OUTPUT (.npy) whose bits differ from EXPECTED, or S_ROWS if unreadable.
static size_t
s_mismatches (const char *output, const float *expected)
{
    maas_npy_reader_t *reader = maas_npy_open (output, NULL);
    float *got = malloc (S_ROWS * sizeof (float));
    size_t n = 0, bad = 0;
    if (!reader || maas_npy_read (reader, got, S_ROWS, &n, NULL) != 0 || n != S_ROWS)
        bad = S_ROWS;
    for (size_t r = 0; bad == 0 && r < S_ROWS; r++)
        bad += memcmp (&got[r], &expected[r], sizeof (float)) != 0;
    free (got);
    maas_npy_reader_destroy (&reader);
    return bad;
}

static int
s_remove (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void) st, (void) type, (void) ftw;
    return remove (path) == 0 ? 0 : -1;
}

int
main (void)
{
    signal (SIGPIPE, SIG_IGN);
    maas_blas_set_threads (1);
    char dir[] = "/tmp/maas-bench-score-XXXXXX", in[600], out[600];
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
        s_cpu_t cpu;
        s_cpu_open (&cpu, dir);
        s_cpu_mark (&cpu, NULL, 0, false);
        for (int pass = 0; pass < 2; pass++) {
            fprintf (stderr, "bench/score: npy to npy, pass %d\n", pass + 1);
            double rate = s_score (broker, in, out);
            best = rate > best ? rate : best;
        }
        bench_figure ("score", "npy_to_npy_2_workers", "rows_per_s", best, "rows/s");
        //  What each part costs, less at the mercy of the machine's load than rows/s.
        s_cpu_mark (&cpu, "npy_to_npy_2_workers", 2 * S_ROWS, true);
        bench_figure ("score", "npy_to_npy_2_workers", "rows_differing_from_in_process",
                      (double) s_mismatches (out, expected), "rows");
        snprintf (in, sizeof in, "%s/in.csv", dir);
        snprintf (out, sizeof out, "%s/out.csv", dir);
        fprintf (stderr, "bench/score: csv to csv\n");
        bench_figure ("score", "csv_to_csv_2_workers", "rows_per_s", s_score (broker, in, out),
                      "rows/s");
        s_cpu_mark (&cpu, "csv_to_csv_2_workers", S_ROWS, true);
    }
    const char *down[] = {"down", "--state", dir, NULL};
    s_maas (down);
    nftw (dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);    //  the stack's Redis data too
    maas_model_destroy (&model);
    free (x);
    free (y);
    free (expected);
    return rc == 0 ? 0 : 1;
}
