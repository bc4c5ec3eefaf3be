/*  check_score.c: fan-out batch scoring through the real maas-broker and two
 *  real maas-worker processes: output rows and order equal in-process
 *  scoring bit for bit (CSV and .npy, shard sizes that do not divide the
 *  rows), a worker killed mid-run changes nothing, a malformed row stops
 *  the run with its line number, and the `maas score` CLI does the same,
 *  with memory bounded by the window, not the file. */
#include "maas.h"
#include "client.h"
#include "forward.h"
#include "model.h"
#include "npy.h"
#include "registry.h"
#include "score.h"
#include "support.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_ROWS 5003    //  a prime: no shard size divides it
#define S_COLS 10

static support_redis_t *s_redis;
static support_proc_t *s_broker;
static support_proc_t *s_workers[2];
static char *s_dir;
static char s_frontend[512];
static maas_mlp_t *s_mlp;    //  the published network, for reference scoring
static float *s_x;           //  S_ROWS × S_COLS inputs
static float *s_expected;    //  S_ROWS in-process outputs

static support_proc_t *
s_start_worker (const char *backend, int i)
{
    char *path = support_build_path ("worker/maas-worker"), log_path[600];
    snprintf (log_path, sizeof log_path, "%s/worker-%d.log", s_dir, i);
    const char *argv[] = {
        path,          "--broker", backend, "--redis", support_redis_url (s_redis),
        "--heartbeat", "200",      NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, log_path);
    free (path);
    return proc;
}

//  Publish a copy of MLP as a new version of NAME, with input COLUMNS
//  (S_COLS names) or none, and class LABELS ("a,b") or none; its number.
static uint64_t
s_publish_with (const char *name, const maas_mlp_t *mlp, const char *const *columns,
                const char *labels)
{
    maas_mlp_t *copy = maas_mlp_dup (mlp);
    maas_model_t *model = maas_model_new (&copy);
    maas_err_t err;
    if (columns)
        ck_assert_int_eq (maas_model_set_columns (model, columns, S_COLS), 0);
    if (labels)
        ck_assert_msg (maas_model_set_labels_text (model, labels, &err) == 0, "%s", err.text);
    maas_registry_t *registry = support_registry_new (s_redis);
    uint64_t version = support_publish_model (registry, name, model);
    maas_registry_destroy (&registry);
    maas_model_destroy (&model);
    return version;
}

static uint64_t
s_publish (const char *name, const maas_mlp_t *mlp, const char *const *columns)
{
    return s_publish_with (name, mlp, columns, NULL);
}

//  Point seed's production alias at VERSION.
static void
s_move_production (uint64_t version)
{
    maas_registry_t *registry = support_registry_new (s_redis);
    ck_assert_int_eq (maas_registry_alias (registry, "seed", "production", version), 0);
    maas_registry_destroy (&registry);
}

static maas_mlp_t *
s_seed_mlp (uint64_t init_seed)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (S_COLS, layers, 3);
    maas_mlp_init (mlp, init_seed);
    float mean[S_COLS] = {0.1f, -0.2f}, std[S_COLS] = {1, 2, 3, 1, 1, 1, 1, 1, 1, 0.5f};
    maas_mlp_set_norm (mlp, mean, std);
    return mlp;
}

static void
s_publish_model (void)
{
    s_mlp = s_seed_mlp (7);
    s_move_production (s_publish ("seed", s_mlp, NULL));
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    s_dir = support_tempdir_new ("score");
    s_redis = support_redis_start ();
    char backend[512], log_path[600];
    snprintf (s_frontend, sizeof s_frontend, "ipc://%s/front", s_dir);
    snprintf (backend, sizeof backend, "ipc://%s/back", s_dir);
    snprintf (log_path, sizeof log_path, "%s/broker.log", s_dir);
    char *broker = support_build_path ("broker/maas-broker");
    const char *argv[] = {broker,
                          "--frontend",
                          s_frontend,
                          "--backend",
                          backend,
                          "--redis",
                          support_redis_url (s_redis),
                          "--heartbeat",
                          "200",
                          NULL};
    s_broker = support_proc_start (argv, NULL, log_path);
    free (broker);
    for (int i = 0; i < 2; i++)
        s_workers[i] = s_start_worker (backend, i);
    s_publish_model ();
    s_x = malloc (S_ROWS * S_COLS * sizeof (float));
    s_expected = malloc (S_ROWS * sizeof (float));
    maas_rng_t rng;
    maas_rng_seed (&rng, 3);
    for (size_t i = 0; i < S_ROWS * S_COLS; i++)
        s_x[i] = (float) maas_rng_normal (&rng);
    maas_blas_set_threads (1);    //  as the workers run: same bits in any batch
    maas_predictor_t *predictor = maas_predictor_new (s_mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, s_expected), 0);
    maas_predictor_destroy (&predictor);
}

static void
s_teardown (void)
{
    for (int i = 0; i < 2; i++)
        support_proc_stop (&s_workers[i]);
    support_proc_stop (&s_broker);
    support_redis_stop (&s_redis);
    support_tempdir_remove (&s_dir);
    maas_mlp_destroy (&s_mlp);
    free (s_x);
    free (s_expected);
}

static char *
s_path (const char *name)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", s_dir, name) > 0);
    return path;
}

//  Inputs as CSV with a header (and a label column of zeros when LABEL).
static char *
s_write_csv (const char *name, bool label)
{
    char *path = s_path (name);
    FILE *file = fopen (path, "w");
    for (int j = 0; j < S_COLS; j++)
        fprintf (file, "%sx%d", j ? "," : "", j);
    fputs (label ? ",label\n" : "\n", file);
    for (size_t r = 0; r < S_ROWS; r++) {
        for (int j = 0; j < S_COLS; j++)
            fprintf (file, "%s%.9g", j ? "," : "", s_x[r * S_COLS + j]);
        fputs (label ? ",0\n" : "\n", file);
    }
    fclose (file);
    return path;
}

static char *
s_write_npy (const char *name)
{
    char *path = s_path (name);
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (path, S_COLS, &err);
    ck_assert (writer && maas_npy_write (writer, s_x, S_ROWS, &err) == 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    return path;
}

static maas_score_config_t
s_config (const char *model, size_t shard_rows, size_t window)
{
    return (maas_score_config_t){.model = model, .shard_rows = shard_rows, .window = window};
}

START_TEST (test_npy_to_npy_in_order)
{
    char *input = s_write_npy ("in.npy"), *output = s_path ("out.npy");
    maas_err_t err;
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed@production", 333, 4);
    maas_score_stats_t stats;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert_uint_eq (stats.rows, S_ROWS);
    ck_assert_uint_eq (stats.shards, (S_ROWS + 332) / 333);
    support_assert_npy_equal (output, s_expected, S_ROWS, 1);
    maas_client_destroy (&client);
    free (input);
    free (output);
}
END_TEST

START_TEST (test_csv_to_csv_with_accuracy)
{
    char *input = s_write_csv ("in.csv", true), *output = s_path ("out.csv");
    maas_err_t err;
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed", 1000, 3);
    double accuracy;
    int rc = maas_score_file (client, &config, input, output, "label", &accuracy, NULL, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    FILE *file = fopen (output, "r");
    char line[256];
    ck_assert (fgets (line, sizeof line, file));
    ck_assert_str_eq (line, "p0,class\n");
    size_t rows = 0, ones = 0;
    float p;
    int klass;
    while (fscanf (file, "%f,%d", &p, &klass) == 2) {
        ck_assert_msg (p == s_expected[rows], "row %zu: %.9g != %.9g", rows, p, s_expected[rows]);
        ck_assert_int_eq (klass, s_expected[rows] >= 0.5f);
        ones += klass;
        rows++;
    }
    fclose (file);
    ck_assert_uint_eq (rows, S_ROWS);
    //  Every label is 0, so accuracy is the share of rows predicted 0.
    ck_assert_double_eq_tol (accuracy, (double) (S_ROWS - ones) / S_ROWS, 1e-12);
    maas_client_destroy (&client);
    free (input);
    free (output);
}
END_TEST

//  A regression model (one linear output, no classes) scored against a
//  label column reports the RMSE, not an accuracy.
START_TEST (test_csv_regression_rmse)
{
    maas_layer_spec_t layers[] = {{16, MAAS_ACT_RELU}, {1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (S_COLS, layers, 2);
    maas_mlp_init (mlp, 5);
    s_publish ("reg", mlp, NULL);
    float *predicted = malloc (S_ROWS * sizeof (float));
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, predicted), 0);
    maas_predictor_destroy (&predictor);
    double squares = 0;    //  every label is 0
    for (size_t r = 0; r < S_ROWS; r++)
        squares += (double) predicted[r] * predicted[r];
    char *input = s_write_csv ("reg.csv", true), *output = s_path ("reg-out.csv");
    maas_err_t err;
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("reg", 1000, 3);
    double accuracy = 0;
    maas_score_stats_t stats;
    int rc = maas_score_file (client, &config, input, output, "label", &accuracy, &stats, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert (isnan (accuracy));
    ck_assert_double_eq_tol (stats.rmse, sqrt (squares / S_ROWS), 1e-5);
    //  A classifier's run has no RMSE.
    config.model = "seed";
    rc = maas_score_file (client, &config, input, output, "label", &accuracy, &stats, &err);
    ck_assert_msg (rc == 0 && isnan (stats.rmse) && !isnan (accuracy), "%s", err.text);
    maas_client_destroy (&client);
    maas_mlp_destroy (&mlp);
    free (predicted);
    free (input);
    free (output);
}
END_TEST

START_TEST (test_tensor_api)
{
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed@1", 4096, 2);
    maas_tensor_t x = maas_tensor_view (s_x, S_ROWS, S_COLS), *y = NULL;
    maas_err_t err;
    ck_assert_msg (maas_score_tensor (client, &config, &x, &y, NULL, &err) == 0, "%s", err.text);
    ck_assert_uint_eq (y->rows, S_ROWS);
    ck_assert_mem_eq (y->data, s_expected, S_ROWS * sizeof (float));
    maas_tensor_destroy (&y);
    maas_client_destroy (&client);
}
END_TEST

START_TEST (test_malformed_row_stops_with_line)
{
    char *input = s_write_csv ("bad.csv", false), *output = s_path ("bad-out.npy");
    maas_err_t err;
    //  Corrupt row 4000 (line 4001 of the file, after the header).
    FILE *file = fopen (input, "r+");
    char line[512];
    for (int i = 0; i < 4001; i++)
        ck_assert (fgets (line, sizeof line, file));
    fseek (file, 0, SEEK_CUR);
    fputs ("oops", file);
    fclose (file);
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed", 500, 4);
    ck_assert_int_eq (maas_score_file (client, &config, input, output, NULL, NULL, NULL, &err), -1);
    ck_assert_msg (strstr (err.text, "bad.csv:4002:1 'oops"), "%s", err.text);
    ck_assert_int_eq (access (output, F_OK), -1);    //  no partial output left
    //  JSON rows are not read as a CSV with a strange header.
    char *json = s_path ("rows.json");
    file = fopen (json, "w");
    fputs ("{\"instances\": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}\n", file);
    fclose (file);
    ck_assert_int_eq (maas_score_file (client, &config, json, output, NULL, NULL, NULL, &err), -1);
    ck_assert_msg (
        strstr (err.text, "rows.json: score reads CSV with a header row or .npy, not JSON"), "%s",
        err.text);
    free (json);
    //  Unknown model: every shard fails, the run names the rows and the reason.
    char *good = s_write_npy ("good.npy");
    config.model = "nosuch";
    config.max_attempts = 2;
    ck_assert_int_eq (maas_score_file (client, &config, good, output, NULL, NULL, NULL, &err), -1);
    //  Rows count from 1; the worker said it would fail the same again.
    ck_assert_msg (strncmp (err.text, "rows ", 5) == 0
                       && strstr (err.text, "00: failed: unknown model nosuch")
                       && strstr (err.text, "(not retried: it would fail the same again)"),
                   "%s", err.text);
    maas_client_destroy (&client);
    free (input);
    free (output);
    free (good);
}
END_TEST

//  Progress callback that kills worker 0 once a third of the rows are in.
static void
s_kill_midway (size_t done, size_t total, void *arg)
{
    bool *killed = arg;
    if (!*killed && done >= S_ROWS / 3) {
        support_proc_signal (s_workers[0], SIGKILL);
        *killed = true;
    }
}

START_TEST (test_worker_killed_mid_run)
{
    char *input = s_write_npy ("kill.npy"), *output = s_path ("kill-out.npy");
    maas_err_t err;
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    bool killed = false;
    maas_score_config_t config = s_config ("seed@production", 100, 8);
    config.progress = s_kill_midway;
    config.progress_arg = &killed;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, NULL, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert (killed);
    support_assert_npy_equal (output, s_expected, S_ROWS, 1);
    maas_client_destroy (&client);
    free (input);
    free (output);
}
END_TEST

#define S_COPIES 40    //  of the S_ROWS rows in test_alias_moved_in_first_window

//  The .npy at PATH holds COPIES copies of EXPECTED's S_ROWS rows, each
//  within 1e-5 (which model ran and on which columns, not OpenBLAS's last bits).
static void
s_assert_npy_matches (const char *path, const float *expected, int copies)
{
    maas_err_t err;
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    float *got = malloc (S_ROWS * sizeof (float));
    for (int copy = 0; copy < copies; copy++) {
        size_t n = 0;
        ck_assert_int_eq (maas_npy_read (reader, got, S_ROWS, &n, &err), 0);
        ck_assert_uint_eq (n, S_ROWS);
        for (size_t r = 0; r < S_ROWS; r++)
            ck_assert_msg (fabsf (got[r] - expected[r]) < 1e-5f, "row %zu: %.9g, expected %.9g",
                           copy * S_ROWS + r, got[r], expected[r]);
    }
    free (got);
    maas_npy_reader_destroy (&reader);
}

//  ... of s_expected, the outputs of production's first version.
static void
s_assert_npy_near (const char *path)
{
    s_assert_npy_matches (path, s_expected, 1);
}

//  Progress callback that moves production to the version in ARG once the
//  first shard is in.
static void
s_move_alias_midway (size_t done, size_t total, void *arg)
{
    uint64_t *version = arg;
    if (*version) {
        s_move_production (*version);
        *version = 0;
        usleep (200 * 1000);    //  the workers hear the announcement
    }
}

//  One run, one version: moving the alias mid-run changes no row.
START_TEST (test_alias_moved_mid_run)
{
    maas_mlp_t *other = s_seed_mlp (8);
    uint64_t v2 = s_publish ("seed", other, NULL), move_to = v2;
    maas_mlp_destroy (&other);
    char *input = s_write_npy ("moved.npy"), *output = s_path ("moved-out.npy");
    maas_err_t err;
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed@production", 100, 4);
    config.progress = s_move_alias_midway;
    config.progress_arg = &move_to;
    maas_score_stats_t stats;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert_uint_eq (move_to, 0);
    ck_assert_uint_eq (stats.version, 1);
    //  Near, not bit-equal: v2's outputs are far away.
    s_assert_npy_near (output);
    s_move_production (1);
    maas_client_destroy (&client);
    free (input);
    free (output);
}
END_TEST

//  Progress callback of test_alias_moved_in_first_window: once the first
//  shard is written (the run's version fixed), move production to the
//  version in ARG while the rest of the first window is still running.
static void
s_move_alias_at_once (size_t done, size_t total, void *arg)
{
    (void) done, (void) total;
    uint64_t *version = arg;
    if (*version) {
        s_move_production (*version);
        *version = 0;
    }
}

//  The whole first window goes out before a result fixes the version, and
//  the alias moves as soon as one has: the shards of that window that then
//  run on the new version run again on the run's, so every row is the
//  model of the one version the run reports. (Whether any shard ran on the
//  new version depends on the workers' pace; sending the window at once
//  without the rerun fails the run on its own check when one did.)
START_TEST (test_alias_moved_in_first_window)
{
    maas_mlp_t *other = s_seed_mlp (8);
    uint64_t v2 = s_publish ("seed", other, NULL), move_to = v2;
    float *other_expected = malloc (S_ROWS * sizeof (float));
    maas_predictor_t *predictor = maas_predictor_new (other);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, other_expected), 0);
    maas_predictor_destroy (&predictor);
    maas_mlp_destroy (&other);
    char *input = s_path ("first-window.npy"), *output = s_path ("first-window-out.npy");
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (input, S_COLS, &err);
    for (int copy = 0; copy < S_COPIES; copy++)
        ck_assert (writer && maas_npy_write (writer, s_x, S_ROWS, &err) == 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config ("seed@production", S_ROWS * S_COPIES / 16, 16);
    config.progress = s_move_alias_at_once;
    config.progress_arg = &move_to;
    maas_score_stats_t stats;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert_uint_eq (move_to, 0);
    ck_assert_msg (stats.version == 1 || stats.version == v2, "ran on version %llu",
                   (unsigned long long) stats.version);
    s_assert_npy_matches (output, stats.version == 1 ? s_expected : other_expected, S_COPIES);
    s_move_production (1);
    maas_client_destroy (&client);
    free (other_expected);
    free (input);
    free (output);
}
END_TEST

static char *
s_read_log (const char *log_name)
{
    char *path = s_path (log_name), *text = calloc (1, 8192);
    FILE *file = fopen (path, "r");
    if (file) {
        text[fread (text, 1, 8191, file)] = '\0';
        fclose (file);
    }
    free (path);
    return text;
}

//  The environment that points `maas` at the test's broker and Redis
//  (600 bytes each).
static void
s_cli_env (char *broker, char *redis)
{
    snprintf (broker, 600, "MAAS_BROKER_FRONTEND=%s", s_frontend);
    snprintf (redis, 600, "MAAS_REDIS_URL=%s", support_redis_url (s_redis));
}

//  `maas ARGS...` against the test's broker; its exit code, and its peak
//  resident set in MAXRSS_KB if not NULL. Under AddressSanitizer its
//  quarantine of freed memory is kept small, so the peak measures what the
//  program holds, not what ASan keeps back.
static int
s_run_cli_rss (const char *const *args, const char *log_name, long *maxrss_kb)
{
    char *maas = support_build_path ("client/maas"), *log_path = s_path (log_name);
    const char *argv[16] = {maas};
    for (size_t i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    char env_broker[600], env_redis[600], env_asan[600];
    s_cli_env (env_broker, env_redis);
    const char *asan = getenv ("ASAN_OPTIONS");
    snprintf (env_asan, sizeof env_asan, "ASAN_OPTIONS=%s%squarantine_size_mb=1", asan ? asan : "",
              asan && *asan ? ":" : "");
    const char *env[] = {env_broker, env_redis, env_asan, NULL};
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    int code = support_proc_wait (proc, 60000);
    if (maxrss_kb)
        *maxrss_kb = support_proc_maxrss_kb (proc);
    support_proc_stop (&proc);
    free (maas);
    free (log_path);
    return code;
}

static int
s_run_cli (const char *const *args, const char *log_name)
{
    return s_run_cli_rss (args, log_name, NULL);
}

START_TEST (test_cli)
{
    char *input = s_write_csv ("cli.csv", true), *output = s_path ("cli.npy");
    const char *ok[] = {"score",   "seed@production", "--input",      input, "--output", output,
                        "--label", "label",           "--shard-rows", "700", NULL};
    int code = s_run_cli (ok, "cli-ok.log");
    char *text = s_read_log ("cli-ok.log");
    ck_assert_msg (code == 0, "exit %d: %s", code, text);
    support_assert_npy_equal (output, s_expected, S_ROWS, 1);
    ck_assert_msg (strstr (text, "scored 5003 rows with seed@1 (production)")
                       && strstr (text, "accuracy against 'label'"),
                   "%s", text);
    const char *bad[] = {"score", "seed", "--input", "/nonexistent.csv", "--output", output, NULL};
    ck_assert_int_eq (s_run_cli (bad, "cli-bad.log"), 1);
    free (input);
    free (output);
    free (text);
}
END_TEST

//  All of PATH, NUL-terminated (the caller frees); its size in *SIZE if not NULL.
static char *
s_slurp_size (const char *path, size_t *size_p)
{
    FILE *file = fopen (path, "rb");
    ck_assert_msg (file, "%s", path);
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    rewind (file);
    char *text = malloc ((size_t) size + 1);
    ck_assert_uint_eq (fread (text, 1, (size_t) size, file), (size_t) size);
    text[size] = '\0';
    fclose (file);
    if (size_p)
        *size_p = (size_t) size;
    return text;
}

static char *
s_slurp (const char *path)
{
    return s_slurp_size (path, NULL);
}

//  maas_score_file of INPUT into OUTPUT with MODEL; its return code.
static int
s_score (const char *model, const char *input, const char *output, maas_err_t *err)
{
    maas_client_t *client = maas_client_new (s_frontend, NULL);
    maas_score_config_t config = s_config (model, 1000, 4);
    config.max_attempts = 1;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, NULL, err);
    maas_client_destroy (&client);
    return rc;
}

//  An output that is the input, by name, symlink or hard link, is refused
//  and the input is left whole.
START_TEST (test_output_is_input_refused)
{
    char *input = s_write_csv ("same.csv", false), *before = s_slurp (input);
    maas_err_t err;
    char *sym = s_path ("same-link.csv"), *hard = s_path ("same-hard.csv");
    ck_assert_int_eq (symlink (input, sym), 0);
    ck_assert_int_eq (link (input, hard), 0);
    const char *outputs[] = {input, sym, hard};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq (s_score ("seed", input, outputs[i], &err), -1);
        ck_assert_msg (strstr (err.text, "is the input file"), "%s", err.text);
        char *after = s_slurp (input);
        ck_assert_str_eq (after, before);
        free (after);
    }
    free (input);
    free (before);
    free (sym);
    free (hard);
}
END_TEST

//  A failed rerun leaves the earlier run's output as it was; a symlinked
//  output is replaced by the new file, its target never written; no
//  temporary file is left behind.
START_TEST (test_output_never_destroyed)
{
    char *input = s_write_npy ("keep.npy"), *output = s_path ("keep-out.npy");
    maas_err_t err;
    ck_assert_msg (s_score ("seed", input, output, &err) == 0, "%s", err.text);
    size_t good_size, after_size;
    char *good = s_slurp_size (output, &good_size);
    ck_assert_int_eq (s_score ("nosuch", input, output, &err), -1);
    char *after = s_slurp_size (output, &after_size);
    ck_assert (after_size == good_size && memcmp (after, good, good_size) == 0);
    free (after);
    char *target = s_path ("precious.txt"), *link = s_path ("keep-link.npy");
    FILE *file = fopen (target, "w");
    fputs ("precious\n", file);
    fclose (file);
    ck_assert_int_eq (symlink (target, link), 0);
    ck_assert_msg (s_score ("seed", input, link, &err) == 0, "%s", err.text);
    char *kept = s_slurp (target), *written = s_slurp (link);
    ck_assert_str_eq (kept, "precious\n");
    struct stat st;
    ck_assert_int_eq (lstat (link, &st), 0);
    ck_assert (S_ISREG (st.st_mode));
    ck_assert_int_eq (memcmp (written, good, 64), 0);    //  same .npy header
    char command[1200];
    snprintf (command, sizeof command, "ls -a %s | grep -c '\\.tmp$'", s_dir);
    FILE *ls = popen (command, "r");
    int tmp_files = -1;
    ck_assert_int_eq (fscanf (ls, "%d", &tmp_files), 1);
    pclose (ls);
    ck_assert_int_eq (tmp_files, 0);
    free (input);
    free (output);
    free (good);
    free (target);
    free (link);
    free (kept);
    free (written);
}
END_TEST

//  `--input - --output -`: CSV from stdin to stdout, the summary on stderr.
START_TEST (test_cli_stdin_stdout)
{
    char *input = s_write_csv ("pipe.csv", false), *output = s_path ("pipe-out.csv");
    char *maas = support_build_path ("client/maas"), *log_path = s_path ("cli-pipe.log");
    char command[2400];
    snprintf (command, sizeof command, "'%s' score seed --input - --output - < '%s' > '%s'", maas,
              input, output);
    const char *argv[] = {"/bin/sh", "-c", command, NULL};
    char env_broker[600], env_redis[600];
    s_cli_env (env_broker, env_redis);
    const char *env[] = {env_broker, env_redis, NULL};
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    char *log = s_read_log ("cli-pipe.log"), *text = s_slurp (output);
    ck_assert_msg (code == 0 && strstr (log, "scored 5003 rows with seed@1 (latest)"),
                   "exit %d: %s", code, log);
    ck_assert_msg (strncmp (text, "p0,class\n", 9) == 0, "%.40s", text);
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    ck_assert_uint_eq (lines, S_ROWS + 1);
    free (input);
    free (output);
    free (maas);
    free (log_path);
    free (log);
    free (text);
}
END_TEST

//  A NaN deep inside a file is reported at its row of the file (data rows
//  from 1), not its row within the job that carried it.
START_TEST (test_cli_names_the_file_row)
{
    char *input = s_path ("nan.npy"), *output = s_path ("nan-out.npy");
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (input, S_COLS, &err);
    ck_assert_ptr_nonnull (writer);
    for (int i = 0; i < 4; i++) {    //  20,012 rows; row 20,000 is copy 3's row 4,991
        float saved = s_x[4990 * S_COLS + 4];
        if (i == 3)
            s_x[4990 * S_COLS + 4] = NAN;
        ck_assert_int_eq (maas_npy_write (writer, s_x, S_ROWS, &err), 0);
        s_x[4990 * S_COLS + 4] = saved;
    }
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    const char *args[] = {"score", "seed", "--input", input, "--output", output, NULL};
    ck_assert_int_eq (s_run_cli (args, "cli-nan.log"), 1);
    char *text = s_read_log ("cli-nan.log");
    //  The job held rows 16,385..20,012: row 3,616 of its own.
    ck_assert_msg (strstr (text, ": row 20000 column 5 is not a finite number (nan) (not retried")
                       && !strstr (text, "3616"),
                   "%s", text);
    ck_assert_int_eq (access (output, F_OK), -1);
    free (text);
    free (input);
    free (output);
}
END_TEST

//  Every output row of PATH is s_expected again, COPIES times over.
static void
s_assert_npy_repeats (const char *path, size_t copies)
{
    maas_err_t err;
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    ck_assert_uint_eq (maas_npy_rows (reader), copies * S_ROWS);
    float *got = malloc (S_ROWS * sizeof (float));
    for (size_t copy = 0; copy < copies; copy++) {
        size_t n;
        ck_assert_int_eq (maas_npy_read (reader, got, S_ROWS, &n, &err), 0);
        ck_assert_uint_eq (n, S_ROWS);
        ck_assert_msg (memcmp (got, s_expected, S_ROWS * sizeof (float)) == 0,
                       "copy %zu differs from in-process scoring", copy);
    }
    free (got);
    maas_npy_reader_destroy (&reader);
}

//  Memory is bounded by the window, not the file: scoring a file 200 times
//  larger (40 MB) peaks at about the same resident size as the small one.
START_TEST (test_memory_bounded_by_window)
{
    enum { COPIES = 200 };    //  1,000,600 rows, 40 MB of float32
    char *small = s_write_npy ("small.npy"), *big = s_path ("big.npy");
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (big, S_COLS, &err);
    for (int i = 0; i < COPIES; i++)
        ck_assert_int_eq (maas_npy_write (writer, s_x, S_ROWS, &err), 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    char *small_out = s_path ("small-out.npy"), *big_out = s_path ("big-out.npy");
    const char *small_args[] = {"score",        "seed", "--input",  small, "--output", small_out,
                                "--shard-rows", "4096", "--window", "4",   NULL};
    const char *big_args[] = {"score",        "seed", "--input",  big, "--output", big_out,
                              "--shard-rows", "4096", "--window", "4", NULL};
    long small_kb, big_kb;
    ck_assert_int_eq (s_run_cli_rss (small_args, "rss-small.log", &small_kb), 0);
    ck_assert_int_eq (s_run_cli_rss (big_args, "rss-big.log", &big_kb), 0);
    s_assert_npy_repeats (big_out, COPIES);
    //  Holding the input would add 40 MB; the window (4 shards of 4096 rows,
    //  in and out) is well under 1 MB. Allow 8 MB of allocator noise.
    ck_assert_msg (big_kb < small_kb + 8 * 1024,
                   "peak RSS %ld KiB scoring 40 MB, %ld KiB "
                   "scoring 200 KB",
                   big_kb, small_kb);
    free (small);
    free (big);
    free (small_out);
    free (big_out);
}
END_TEST

//  Publish the test network as NAME with input columns x0..x9.
static void
s_publish_named (const char *name)
{
    static const char *const names[S_COLS] = {"x0", "x1", "x2", "x3", "x4",
                                              "x5", "x6", "x7", "x8", "x9"};
    s_publish (name, s_mlp, names);
}

//  Inputs as CSV, columns in reverse order (x9..x0), then an "id" column
//  and a "label" of zeros; no header row when !HEADER.
static char *
s_write_reversed_csv (const char *name, bool header)
{
    char *path = s_path (name);
    FILE *file = fopen (path, "w");
    for (int j = S_COLS - 1; header && j >= 0; j--)
        fprintf (file, "x%d,", j);
    if (header)
        fputs ("id,label\n", file);
    for (size_t r = 0; r < S_ROWS; r++) {
        for (int j = S_COLS - 1; j >= 0; j--)
            fprintf (file, "%.9g,", s_x[r * S_COLS + j]);
        fprintf (file, "%zu,0\n", r);
    }
    fclose (file);
    return path;
}

//  A model with column names: a CSV with its columns reversed scores as
//  the right order would (the id column dropped and named, the label
//  kept out), a missing column is an error naming it, and a header-less
//  file is refused unless --no-header.
START_TEST (test_cli_columns_by_name)
{
    s_publish_named ("named");
    char *input = s_write_reversed_csv ("reversed.csv", true), *output = s_path ("named.npy");
    const char *ok[] = {"score", "named",   "--input", input, "--output",
                        output,  "--label", "label",   NULL};
    int code = s_run_cli (ok, "cli-named.log");
    char *text = s_read_log ("cli-named.log");
    ck_assert_msg (code == 0 && strstr (text, "dropped columns the model does not use: id")
                       && strstr (text, "with named@1 (latest)"),
                   "exit %d: %s", code, text);
    free (text);
    s_assert_npy_near (output);
    //  No x3: the error names it, and no output is written.
    char *missing = s_write_csv ("missing.csv", false), *missing_out = s_path ("missing.npy");
    char command[1600];
    snprintf (command, sizeof command, "sed -i '1s/x3/y3/' '%s'", missing);
    ck_assert_int_eq (system (command), 0);
    const char *bad[] = {"score", "named", "--input", missing, "--output", missing_out, NULL};
    ck_assert_int_eq (s_run_cli (bad, "cli-missing.log"), 1);
    text = s_read_log ("cli-missing.log");
    ck_assert_msg (strstr (text, "no column 'x3', which the model needs"), "%s", text);
    ck_assert_int_eq (access (missing_out, F_OK), -1);
    free (text);
    //  A column named twice (an x0 of 999s before the real one): refused,
    //  naming it, not the first copy scored and the real one dropped.
    char *twice = s_write_reversed_csv ("twice.csv", true), *twice_out = s_path ("twice.npy");
    snprintf (command, sizeof command, "sed -i '1s/^/x0,/; 2,$s/^/999,/' '%s'", twice);
    ck_assert_int_eq (system (command), 0);
    const char *dup[] = {"score", "named", "--input", twice, "--output", twice_out, NULL};
    ck_assert_int_eq (s_run_cli (dup, "cli-twice.log"), 1);
    text = s_read_log ("cli-twice.log");
    ck_assert_msg (strstr (text,
                           "twice.csv: the header names column 'x0' twice (columns 1 and "
                           "11): rename one"),
                   "%s", text);
    ck_assert_int_eq (access (twice_out, F_OK), -1);
    free (text);
    free (twice);
    free (twice_out);
    //  No header row: refused; with --no-header, read by position, no row lost.
    char *bare = s_write_csv ("bare.csv", false), *bare_out = s_path ("bare.npy");
    snprintf (command, sizeof command, "sed -i 1d '%s'", bare);
    ck_assert_int_eq (system (command), 0);
    const char *refused[] = {"score", "named", "--input", bare, "--output", bare_out, NULL};
    ck_assert_int_eq (s_run_cli (refused, "cli-bare.log"), 1);
    text = s_read_log ("cli-bare.log");
    ck_assert_msg (strstr (text, "the file has no header row") && strstr (text, "--no-header"),
                   "%s", text);
    free (text);
    const char *positional[] = {"score",    "named",  "--input",     bare,
                                "--output", bare_out, "--no-header", NULL};
    ck_assert_int_eq (s_run_cli (positional, "cli-bare-ok.log"), 0);
    s_assert_npy_near (bare_out);
    free (input);
    free (output);
    free (missing);
    free (missing_out);
    free (bare);
    free (bare_out);
}
END_TEST

//  Inputs as CSV with a label column holding class names ("benign",
//  "malignant"): the predicted class's, but the other one on every 4th row
//  and a class number on every 10th; BAD, when not NULL, is written as the
//  label of row 2500. The rows labelled wrongly, into *WRONG.
static char *
s_write_named_csv (const char *name, const char *bad, size_t *wrong)
{
    static const char *const names[] = {"benign", "malignant"};
    char *path = s_path (name);
    FILE *file = fopen (path, "w");
    for (int j = 0; j < S_COLS; j++)
        fprintf (file, "x%d,", j);
    fputs ("label\n", file);
    *wrong = 0;
    for (size_t r = 0; r < S_ROWS; r++) {
        for (int j = 0; j < S_COLS; j++)
            fprintf (file, "%.9g,", s_x[r * S_COLS + j]);
        int klass = s_expected[r] >= 0.5f;
        if (r % 4 == 0) {
            klass = !klass;
            (*wrong)++;
        }
        if (bad && r == 2500)
            fprintf (file, "%s\n", bad);
        else if (r % 10 == 1)
            fprintf (file, "%d\n", klass);
        else
            fprintf (file, "%s\n", names[klass]);
    }
    fclose (file);
    return path;
}

//  A model with class labels scores a CSV whose label column holds those
//  names (or class numbers); a name that is not one of them stops the run
//  naming it, its line and the model's labels.
START_TEST (test_cli_label_names)
{
    s_publish_with ("cancer", s_mlp, NULL, "benign,malignant");
    size_t wrong;
    char *input = s_write_named_csv ("names.csv", NULL, &wrong), *output = s_path ("names.npy");
    const char *ok[] = {"score", "cancer",  "--input", input, "--output",
                        output,  "--label", "label",   NULL};
    int code = s_run_cli (ok, "cli-names.log");
    char *text = s_read_log ("cli-names.log"), line[128];
    snprintf (line, sizeof line, "accuracy against 'label': %.4f",
              (double) (S_ROWS - wrong) / S_ROWS);
    ck_assert_msg (code == 0 && strstr (text, line), "exit %d, no '%s': %s", code, line, text);
    free (text);
    free (input);
    input = s_write_named_csv ("typo.csv", "malignnat", &wrong);
    const char *typo[] = {"score", "cancer",  "--input", input, "--output",
                          output,  "--label", "label",   NULL};
    ck_assert_int_eq (s_run_cli (typo, "cli-typo.log"), 1);
    text = s_read_log ("cli-typo.log");
    ck_assert_msg (strstr (text,
                           "typo.csv:2502:11 label 'malignnat' is not one of the model's "
                           "labels (benign, malignant) nor a number"),
                   "%s", text);
    free (text);
    //  Without stored labels a name is still refused as not a number.
    const char *bare[] = {"score", "seed",    "--input", input, "--output",
                          output,  "--label", "label",   NULL};
    ck_assert_int_eq (s_run_cli (bare, "cli-bare-names.log"), 1);
    text = s_read_log ("cli-bare-names.log");
    ck_assert_msg (strstr (text, "typo.csv:2:11 '") && strstr (text, "' is not a number"), "%s",
                   text);
    free (text);
    free (input);
    free (output);
}
END_TEST

//  The JSON object on the line of TEXT that starts with START (a CLI's
//  --json stdout, among its stderr lines); NULL if none parses.
static json_t *
s_json_line (const char *text, const char *start)
{
    const char *at = strstr (text, start);
    while (at && at != text && at[-1] != '\n')
        at = strstr (at + 1, start);
    if (!at)
        return NULL;
    size_t len = strcspn (at, "\n");
    return json_loadb (at, len, 0, NULL);
}

static const char *
s_json_str (const json_t *object, const char *key)
{
    return json_string_value (json_object_get (object, key));
}

static json_int_t
s_json_int (const json_t *object, const char *key)
{
    return json_integer_value (json_object_get (object, key));
}

//  `maas score --json`: one object with the run's id and outcome; the run's
//  shard jobs are RUN.0..RUN.7, shown by `maas jobs` as one line, and one
//  by one with --run RUN or --all.
START_TEST (test_cli_json_and_jobs_by_run)
{
    s_publish_named ("jsonm");
    char *input = s_write_reversed_csv ("json.csv", true), *output = s_path ("json-out.csv");
    const char *args[] = {"score",   "jsonm", "--input",      input, "--output", output,
                          "--label", "label", "--shard-rows", "700", "--json",   NULL};
    int code = s_run_cli (args, "json.log");
    char *text = s_read_log ("json.log");
    json_t *d = s_json_line (text, "{\"run\":");
    ck_assert_msg (code == 0 && d, "exit %d: %s", code, text);
    ck_assert_str_eq (s_json_str (d, "status"), "succeeded");
    ck_assert_str_eq (s_json_str (d, "model"), "jsonm");
    ck_assert_str_eq (s_json_str (d, "alias"), "latest");
    ck_assert_str_eq (s_json_str (d, "output"), output);
    ck_assert (json_is_null (json_object_get (d, "error")));
    ck_assert (json_is_real (json_object_get (d, "accuracy")));
    ck_assert_int_eq (s_json_int (d, "version"), 1);
    ck_assert_int_eq (s_json_int (d, "rows"), S_ROWS);
    ck_assert_int_eq (s_json_int (d, "shards"), 8);
    ck_assert_int_eq (s_json_int (d, "retries"), 0);
    ck_assert (json_real_value (json_object_get (d, "rows_per_s")) > 0);
    ck_assert (json_is_real (json_object_get (d, "seconds")));
    json_t *dropped = json_object_get (d, "dropped");
    ck_assert (json_array_size (dropped) == 1);
    ck_assert_str_eq (json_string_value (json_array_get (dropped, 0)), "id");
    char run[64], line[128];
    snprintf (run, sizeof run, "%s", s_json_str (d, "run"));
    ck_assert_uint_eq (strlen (run), 26);
    ck_assert_msg (strstr (text, run) < strstr (text, "{\"run\":"), "run id said first: %s", text);
    json_decref (d);
    free (text);

    const char *jobs[] = {"jobs", NULL};
    ck_assert_int_eq (s_run_cli (jobs, "jobs.log"), 0);
    text = s_read_log ("jobs.log");
    snprintf (line, sizeof line, "score run %s: 8 shards, 8 succeeded, 0 failed\n", run);
    ck_assert_msg (strstr (text, line) && !strstr (text, ".0 "), "%s", text);
    free (text);
    const char *all[] = {"jobs", "--all", NULL};
    ck_assert_int_eq (s_run_cli (all, "jobs-all.log"), 0);
    text = s_read_log ("jobs-all.log");
    snprintf (line, sizeof line, "%s.7 succeeded  infer   jsonm", run);
    ck_assert_msg (strstr (text, line) && !strstr (text, "score run"), "%s", text);
    //  An infer job reports no progress: done is 100%, not 0%.
    ck_assert_msg (strstr (text, "  100%  ") && !strstr (text, " 0%  "), "%s", text);
    free (text);
    const char *by_run[] = {"jobs", "--run", run, "--json", NULL};
    ck_assert_int_eq (s_run_cli (by_run, "jobs-run.log"), 0);
    text = s_read_log ("jobs-run.log");
    d = s_json_line (text, "{\"jobs\":");
    ck_assert_msg (d && json_array_size (json_object_get (d, "jobs")) == 8, "%s", text);
    for (size_t i = 0; i < 8; i++) {
        json_t *job = json_array_get (json_object_get (d, "jobs"), i);
        snprintf (line, sizeof line, "%s.%zu", run, i);
        ck_assert_str_eq (s_json_str (job, "id"), line);
        ck_assert_str_eq (s_json_str (job, "status"), "succeeded");
        ck_assert_msg (s_json_str (job, "submitted"), "%s", text);
    }
    json_decref (d);
    free (text);
    //  --limit holds for --run too: the first shards, in shard order.
    const char *by_run_3[] = {"jobs", "--run", run, "--limit", "3", "--json", NULL};
    ck_assert_int_eq (s_run_cli (by_run_3, "jobs-run-3.log"), 0);
    text = s_read_log ("jobs-run-3.log");
    d = s_json_line (text, "{\"jobs\":");
    ck_assert_msg (d && json_array_size (json_object_get (d, "jobs")) == 3, "%s", text);
    snprintf (line, sizeof line, "%s.2", run);
    ck_assert_str_eq (s_json_str (json_array_get (json_object_get (d, "jobs"), 2), "id"), line);
    json_decref (d);
    free (text);
    const char *jobs_json[] = {"jobs", "--json", NULL};
    ck_assert_int_eq (s_run_cli (jobs_json, "jobs-json.log"), 0);
    text = s_read_log ("jobs-json.log");
    d = s_json_line (text, "{\"jobs\":");
    json_t *first = json_array_get (json_object_get (d, "runs"), 0);
    ck_assert_msg (first && strcmp (s_json_str (first, "run"), run) == 0, "%s", text);
    ck_assert_int_eq (s_json_int (first, "shards"), 8);
    ck_assert_int_eq (s_json_int (first, "succeeded"), 8);
    json_decref (d);
    free (text);
    free (input);
    free (output);
}
END_TEST

//  `maas infer --json`: the shape docs/cli.md gives, every key present.
START_TEST (test_infer_json)
{
    char *input = s_path ("infer.csv");
    FILE *file = fopen (input, "w");
    for (int j = 0; j < S_COLS; j++)
        fprintf (file, "%sx%d", j ? "," : "", j);
    fputs ("\n0,0,0,0,0,0,0,0,0,0\n1,1,1,1,1,1,1,1,1,1\n", file);
    fclose (file);
    const char *args[] = {"infer", "seed@production", "--input", input, "--json", NULL};
    int code = s_run_cli (args, "infer-json.log");
    char *text = s_read_log ("infer-json.log");
    json_t *d = s_json_line (text, "{\"id\":");
    ck_assert_msg (code == 0 && d, "exit %d: %s", code, text);
    ck_assert_uint_eq (strlen (s_json_str (d, "id")), 26);
    ck_assert_str_eq (s_json_str (d, "model"), "seed");
    ck_assert_int_eq (s_json_int (d, "version"), 1);
    const char *counts[] = {"batch_rows", "batch_jobs", "queue_us", "compute_us"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg (json_is_integer (json_object_get (d, counts[i])), "%s: %s", counts[i], text);
    json_t *rows = json_object_get (d, "rows");
    ck_assert_uint_eq (json_array_size (rows), 2);
    for (size_t r = 0; r < 2; r++) {
        json_t *row = json_array_get (rows, r);
        ck_assert_msg (json_object_get (row, "class"), "%s", text);
        ck_assert_uint_eq (json_array_size (json_object_get (row, "values")), 1);
    }
    json_decref (d);
    free (text);
    free (input);
}
END_TEST

//  Ctrl-C: SIGINT mid-run cancels the shards in flight, exits 130, leaves no output.
START_TEST (test_cli_interrupt)
{
    char *input = s_path ("many.npy"), *output = s_path ("many-out.npy");
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (input, S_COLS, &err);
    for (int i = 0; i < 40; i++)    //  200,120 rows
        ck_assert_int_eq (maas_npy_write (writer, s_x, S_ROWS, &err), 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    char *maas = support_build_path ("client/maas"), *log_path = s_path ("cli-int.log");
    const char *argv[] = {maas,   "score",        "seed", "--input",  input, "--output",
                          output, "--shard-rows", "50",   "--window", "2",   NULL};
    char env_broker[600], env_redis[600];
    s_cli_env (env_broker, env_redis);
    const char *env[] = {env_broker, env_redis, NULL};
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    usleep (500 * 1000);
    support_proc_signal (proc, SIGINT);
    int code = support_proc_wait (proc, 20000);
    support_proc_stop (&proc);
    char *text = s_read_log ("cli-int.log");
    ck_assert_msg (code == 130 && strstr (text, "interrupted: cancelled"), "exit %d: %s", code,
                   text);
    ck_assert_int_eq (access (output, F_OK), -1);
    free (text);
    free (maas);
    free (log_path);
    free (input);
    free (output);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("score");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 120);
    tcase_add_unchecked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_npy_to_npy_in_order);
    tcase_add_test (core, test_csv_to_csv_with_accuracy);
    tcase_add_test (core, test_csv_regression_rmse);
    tcase_add_test (core, test_tensor_api);
    tcase_add_test (core, test_cli);
    tcase_add_test (core, test_cli_names_the_file_row);
    tcase_add_test (core, test_memory_bounded_by_window);
    tcase_add_test (core, test_cli_columns_by_name);
    tcase_add_test (core, test_cli_label_names);
    tcase_add_test (core, test_cli_json_and_jobs_by_run);
    tcase_add_test (core, test_infer_json);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_set_timeout (errors, 120);
    tcase_add_unchecked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_malformed_row_stops_with_line);
    tcase_add_test (errors, test_cli_interrupt);
    tcase_add_test (errors, test_output_is_input_refused);
    tcase_add_test (errors, test_output_never_destroyed);
    tcase_add_test (errors, test_cli_stdin_stdout);
    suite_add_tcase (suite, errors);
    TCase *faults = tcase_create ("faults");
    tcase_set_timeout (faults, 120);
    tcase_add_unchecked_fixture (faults, s_setup, s_teardown);
    tcase_add_test (faults, test_worker_killed_mid_run);
    tcase_add_test (faults, test_alias_moved_mid_run);
    tcase_add_test (faults, test_alias_moved_in_first_window);
    suite_add_tcase (suite, faults);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
