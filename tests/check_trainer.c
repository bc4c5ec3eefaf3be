/*  check_trainer.c: train jobs through the real processes: a redis-server
 *  (fixture), maas-broker, maas-trainer(s), and the test as client (libmaas
 *  client API and the real `maas` binary). Publishing, progress, a trainer
 *  killed mid-job, cancel, bad specs, reproducibility. */
#include "config.h"
#include "maas.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    support_redis_t *redis;         //  private redis-server
    char *dir;                      //  temp dir: endpoints and logs
    char front[256];                //  broker frontend endpoint
    char back[256];                 //  broker backend endpoint
    char log[256];                  //  every process's log
    support_proc_t *broker;         //  maas-broker
    support_proc_t *trainers[2];    //  maas-trainer processes
    maas_client_t *client;          //  the test's client
    maas_registry_t *registry;      //  to check what was published
    maas_dataset_store_t *store;    //  to put data sets
} fx_t;

static fx_t fx;
static maas_err_t s_err;

static support_proc_t *
s_trainer_start (int slot, const char *name)
{
    const char *extra[] = {"--name", name, "--heartbeat", "100", "--liveness", "5", NULL};
    fx.trainers[slot] =
        support_trainer_start (fx.back, support_redis_url (fx.redis), extra, fx.log);
    return fx.trainers[slot];
}

static void
s_put (const char *name, const char *file)
{
    char *path = support_src_path (file);
    maas_dataset_t *dataset = maas_dataset_from_csv (path, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (dataset, "%s", s_err.text);
    ck_assert_int_eq (maas_dataset_store_put (fx.store, name, dataset), 0);
    maas_dataset_destroy (&dataset);
    free (path);
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    memset (&fx, 0, sizeof fx);
    fx.redis = support_redis_start ();
    fx.dir = support_tempdir_new ("trainer");
    snprintf (fx.front, sizeof fx.front, "ipc://%s/front", fx.dir);
    snprintf (fx.back, sizeof fx.back, "ipc://%s/back", fx.dir);
    snprintf (fx.log, sizeof fx.log, "%s/processes.log", fx.dir);
    const char *extra[] = {"--heartbeat", "100", "--liveness", "5", NULL};
    fx.broker =
        support_broker_start (fx.front, fx.back, support_redis_url (fx.redis), extra, fx.log);
    fx.client = maas_client_new (fx.front, NULL);
    ck_assert_ptr_nonnull (fx.client);
    maas_client_set_retry (fx.client, 300);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
    fx.store = maas_dataset_store_new (support_redis_url (fx.redis), NULL, &s_err);
    fx.registry = maas_registry_new (support_redis_url (fx.redis), NULL, &s_err);
    ck_assert_msg (fx.store && fx.registry, "%s", s_err.text);
    s_put ("bc", "data/breast_cancer_train.csv");
    s_put ("digits", "data/digits_train.csv");
}

static void
s_teardown (void)
{
    maas_client_destroy (&fx.client);
    for (int i = 0; i < 2; i++)
        support_proc_stop (&fx.trainers[i]);
    support_proc_stop (&fx.broker);
    maas_registry_destroy (&fx.registry);
    maas_dataset_store_destroy (&fx.store);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
}

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

//  A spec: MODEL trained on DATASET with LAYERS, LOSS, EPOCHS, batch BATCH.
static maas_training_t
s_spec (const char *model, const char *dataset, const char *layers, maas_loss_t loss, size_t epochs,
        size_t batch)
{
    maas_training_t spec;
    maas_training_init (&spec);
    snprintf (spec.model, sizeof spec.model, "%s", model);
    snprintf (spec.dataset, sizeof spec.dataset, "%s", dataset);
    ck_assert_int_eq (maas_training_parse_layers (&spec, layers, &s_err), 0);
    spec.train.loss = loss;
    spec.train.epochs = epochs;
    spec.train.batch_size = batch;
    spec.train.seed = 7;
    return spec;
}

//  Submit SPEC (packed as a job would be) with PAYLOAD; its id into ID.
static void
s_submit (const maas_training_t *spec, const void *payload, size_t size, char *id)
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack (spec, &pk), 0);
    maas_submit_t submit = {
        .kind = "train", .model = spec->model, .params = params.data, .params_size = params.size};
    ck_assert_int_eq (maas_client_submit (fx.client, &submit, payload, size, NULL, NULL, id), 0);
    msgpack_sbuffer_destroy (&params);
}

static maas_result_t *
s_wait (const char *id, int timeout_ms)
{
    maas_result_t *result = maas_client_wait (fx.client, id, timeout_ms);
    ck_assert_msg (result, "no result for %s: %s", id, maas_client_error (fx.client));
    return result;
}

//  FIELD of job ID's status hash, into OUT ("" if absent).
static void
s_job_field (const char *id, const char *field, char *out, size_t size)
{
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.redis));
    ck_assert (ctx && !ctx->err);
    redisReply *reply = redisCommand (ctx, "HGET maas:job:%s %s", id, field);
    snprintf (out, size, "%s", reply && reply->type == REDIS_REPLY_STRING ? reply->str : "");
    freeReplyObject (reply);
    redisFree (ctx);
}

//  Wait (bounded) until job ID runs and has reported an epoch; its worker.
static void
s_wait_training (const char *id, char *worker, size_t size)
{
    char progress[32] = "";
    *worker = '\0';
    //  The broker records the worker at its 100 ms sweep, progress at once.
    for (int i = 0; i < 400 && (!*progress || !*worker); i++) {
        s_sleep_ms (25);
        s_job_field (id, "progress", progress, sizeof progress);
        s_job_field (id, "worker", worker, size);
    }
    ck_assert_msg (*progress && *worker, "job %s never reported progress", id);
}

//  Versions of MODEL published so far (0 if the model does not exist).
static size_t
s_versions (const char *model)
{
    uint64_t *versions = NULL;
    size_t count = 0;
    if (maas_registry_versions (fx.registry, model, &versions, &count) != 0)
        return 0;
    free (versions);
    return count;
}

//  The model MODEL@VERSION, decoded from the registry (the caller destroys it).
static maas_model_t *
s_model (const char *model, uint64_t version)
{
    uint8_t *blob = NULL;
    size_t size = 0;
    ck_assert_int_eq (maas_registry_fetch (fx.registry, model, version, &blob, &size, NULL), 0);
    maas_err_t err;
    maas_model_t *decoded = maas_model_decode (blob, size, &err);
    ck_assert_msg (decoded, "%s", err.text);
    free (blob);
    return decoded;
}

//  Run `maas ARGS...` to completion; exit code, output (stdout and stderr)
//  in *OUTPUT (the caller frees).
static int
s_maas (const char *const *args, char **output)
{
    char *maas = support_build_path ("client/maas");
    char log[512];
    snprintf (log, sizeof log, "%s/maas.out", fx.dir);
    unlink (log);
    const char *argv[32] = {maas};
    int argc = 1;
    while (*args && argc < 29)
        argv[argc++] = *args++;
    argv[argc++] = "--redis";
    argv[argc++] = support_redis_url (fx.redis);
    support_proc_t *proc = support_proc_start (argv, NULL, log);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    FILE *file = fopen (log, "r");
    ck_assert_ptr_nonnull (file);
    *output = calloc (1, 1 << 16);
    ck_assert_uint_lt (fread (*output, 1, (1 << 16) - 1, file), 1 << 16);
    fclose (file);
    free (maas);
    return code;
}

//  Accuracy of MODEL on the CSV file TEST.
static double
s_accuracy (const maas_model_t *model, const char *test)
{
    char *path = support_src_path (test);
    maas_dataset_t *data = maas_dataset_from_csv (path, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_ptr_nonnull (data);
    size_t rows = maas_dataset_rows (data);
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    float *out = calloc (rows, sizeof (float));
    ck_assert_int_eq (maas_predictor_run (predictor, maas_dataset_features (data)->data, rows, out),
                      0);
    double accuracy = maas_metric_accuracy (out, maas_dataset_labels (data)->data, rows, 1);
    free (out);
    maas_predictor_destroy (&predictor);
    maas_dataset_destroy (&data);
    free (path);
    return accuracy;
}

//  Accuracy of MODEL@1's predictions for the CSV file TEST, made by a real
//  maas-worker through the broker (an infer job with a raw tensor).
static double
s_worker_accuracy (const char *model, const char *test)
{
    const char *extra[] = {"--name", "w1", "--heartbeat", "100", NULL};
    support_proc_t *proc =
        support_worker_start (fx.back, support_redis_url (fx.redis), extra, fx.log);
    char *path = support_src_path (test);
    maas_dataset_t *data = maas_dataset_from_csv (path, NULL, MAAS_DATASET_AUTO, &s_err);
    size_t rows = maas_dataset_rows (data), cols = maas_dataset_cols (data);
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, rows, cols);
    uint8_t *bytes = malloc (rows * cols * 4);
    maas_codec_f32_to_le (bytes, maas_dataset_features (data)->data, rows * cols);
    maas_submit_t infer = {.kind = "infer",
                           .model = model,
                           .version = 1,
                           .params = params.data,
                           .params_size = params.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (
        maas_client_submit (fx.client, &infer, bytes, rows * cols * 4, NULL, NULL, id), 0);
    maas_result_t *result = s_wait (id, 30000);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
    maas_infer_result_t out;
    ck_assert_int_eq (maas_infer_result_parse (&out, result->data, result->size, &s_err), 0);
    ck_assert_uint_eq (out.rows * out.outputs, rows);
    double accuracy = maas_metric_accuracy (out.values, maas_dataset_labels (data)->data, rows, 1);
    maas_infer_result_clear (&out);
    maas_result_destroy (&result);
    free (bytes);
    msgpack_sbuffer_destroy (&params);
    maas_dataset_destroy (&data);
    free (path);
    support_proc_stop (&proc);
    return accuracy;
}

//  -- the seed's example, end to end

//  The lineage the trainer stores in the blob for the job of
//  test_put_train_publish_infer, trained on DATA.
static void
s_assert_lineage (const maas_model_t *model, const maas_dataset_info_t *data)
{
    int64_t value;
    double number;
    ck_assert_str_eq (maas_model_meta_str (model, "optimizer"), "adam");
    ck_assert_str_eq (maas_model_meta_str (model, "loss"), "bce");
    ck_assert_str_eq (maas_model_meta_str (model, "layers"), "32:relu,1:sigmoid");
    ck_assert_str_eq (maas_model_meta_str (model, "dataset"), "cancer");
    ck_assert_int_eq (maas_model_meta_number (model, "beta2", &number), 0);
    ck_assert_double_eq_tol (number, 0.999, 1e-6);
    ck_assert_int_eq (maas_model_meta_number (model, "val_fraction", &number), 0);
    ck_assert_double_eq_tol (number, 0.2, 1e-9);
    ck_assert_int_eq (maas_model_meta_int (model, "dataset_rows", &value), 0);
    ck_assert_int_eq (value, (int64_t) data->rows);
    int64_t val_rows, metric_rows;
    ck_assert_int_eq (maas_model_meta_int (model, "val_rows", &val_rows), 0);
    ck_assert_int_eq (maas_model_meta_int (model, "metric_rows", &metric_rows), 0);
    ck_assert_int_eq (metric_rows, val_rows);
    ck_assert_int_gt (val_rows, 0);
    const char *keys[] = {"seed",         "patience",       "standardize",
                          "restore_best", "epochs_planned", "batch_size"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg (maas_model_meta_int (model, keys[i], &value) == 0, "no %s", keys[i]);
    ck_assert_ptr_null (maas_model_meta_str (model, "accuracy"));
    ck_assert (strncmp (maas_model_meta_str (model, "trainer_build"), PACKAGE_VERSION " (",
                        strlen (PACKAGE_VERSION) + 2)
               == 0);
}

START_TEST (test_put_train_publish_infer)
{
    s_trainer_start (0, "t1");
    char *out, *csv = support_src_path ("data/breast_cancer_train.csv");
    const char *put[] = {"dataset", "put", "cancer", csv, NULL};
    ck_assert_int_eq (s_maas (put, &out), 0);
    free (out);
    const char *train[] = {
        "train",    "bc",  "--data",      "cancer", "--layers", "32:relu,1:sigmoid",
        "--loss",   "bce", "--optimizer", "adam",   "--lr",     "0.001",
        "--epochs", "30",  "--batch",     "32",     "--wait",   "--broker",
        fx.front,   NULL};
    ck_assert_int_eq (s_maas (train, &out), 0);
    //  Not a terminal: one plain line per epoch, then the version and metrics.
    ck_assert_msg (strstr (out, "epoch=30/30 train_loss="), "%s", out);
    char *published = strstr (out, "model bc version 1 published by job ");
    ck_assert_msg (published, "%s", out);
    ck_assert_ptr_nonnull (strstr (published, "accuracy"));
    char id[64] = "";
    sscanf (published, "model bc version 1 published by job %63s", id);
    free (out);
    //  The registry holds version 1 with its accuracy, job id and lineage.
    maas_registry_info_t info;
    ck_assert_int_eq (maas_registry_info (fx.registry, "bc", 1, &info), 0);
    ck_assert_ptr_nonnull (strstr (info.metrics, "\"val_accuracy\":"));
    ck_assert_ptr_nonnull (strstr (info.metrics, "\"metric_rows\":"));
    ck_assert_str_eq (info.job_id, id);
    ck_assert_uint_eq (info.inputs, 30);
    maas_registry_info_clear (&info);
    maas_model_t *model = s_model ("bc", 1);
    maas_dataset_info_t data;
    ck_assert_int_eq (maas_dataset_store_info (fx.store, "cancer", &data), 0);
    ck_assert_str_eq (maas_model_meta_str (model, "dataset_sha256"), data.sha256);
    ck_assert_str_eq (maas_model_meta_str (model, "job_id"), id);
    //  The data set's column names travel with the model, in order.
    ck_assert_ptr_nonnull (maas_model_columns (model));
    ck_assert_uint_eq (data.cols, 30);
    for (size_t c = 0; c < 30; c++)
        ck_assert_str_eq (maas_model_columns (model)[c], data.columns[c]);
    ck_assert_str_eq (maas_model_columns (model)[0], "mean_radius");
    double accuracy;
    ck_assert_int_eq (maas_model_meta_number (model, "val_accuracy", &accuracy), 0);
    ck_assert_double_gt (accuracy, 0.9);
    s_assert_lineage (model, &data);
    maas_dataset_info_clear (&data);
    //  Inference with the published version on the held-out test set, in
    //  process and through a real maas-worker: the same accuracy.
    double local = s_accuracy (model, "data/breast_cancer_test.csv");
    ck_assert_double_ge (local, 0.93);
    ck_assert_double_eq_tol (s_worker_accuracy ("bc", "data/breast_cancer_test.csv"), local, 1e-9);
    maas_model_destroy (&model);
    //  The job's record: succeeded, progress complete, and `maas job(s)`.
    char field[512];
    s_job_field (id, "progress", field, sizeof field);
    ck_assert_str_eq (field, "1.0000");
    s_job_field (id, "progress_message", field, sizeof field);
    ck_assert_msg (strstr (field, "epoch=30/30"), "%s", field);
    const char *job[] = {"job", id, NULL};
    ck_assert_int_eq (s_maas (job, &out), 0);
    ck_assert_msg (strstr (out, "succeeded") && strstr (out, "published    bc@1"), "%s", out);
    free (out);
    const char *jobs[] = {"jobs", "--status", "succeeded", NULL};
    ck_assert_int_eq (s_maas (jobs, &out), 0);
    ck_assert_msg (strstr (out, id) && strstr (out, "train   bc"), "%s", out);
    free (out);
    //  Without --wait: the job id once the broker has recorded it; it runs on.
    //  NAME last, and --lr before --optimizer: it still refines the
    //  optimizer's defaults (sgd's own lr is 0.01).
    const char *submit[] = {"train", "--data",   "cancer",      "--layers", "1:sigmoid",
                            "--lr",  "0.05",     "--optimizer", "sgd",      "--epochs",
                            "1",     "--broker", fx.front,      "bc",       NULL};
    ck_assert_int_eq (s_maas (submit, &out), 0);
    char second[64] = "", status[32] = "";
    ck_assert_int_eq (sscanf (out, "%63s", second), 1);
    ck_assert_uint_eq (strlen (second), 26);
    free (out);
    for (int i = 0; i < 400 && strcmp (status, "succeeded") != 0; i++) {
        s_sleep_ms (25);
        s_job_field (second, "status", status, sizeof status);
    }
    ck_assert_str_eq (status, "succeeded");
    ck_assert_uint_eq (s_versions ("bc"), 2);
    model = s_model ("bc", 2);
    double lr = 0;
    ck_assert_str_eq (maas_model_meta_str (model, "optimizer"), "sgd");
    ck_assert_int_eq (maas_model_meta_number (model, "lr", &lr), 0);
    ck_assert_double_eq_tol (lr, 0.05, 1e-6);
    maas_model_destroy (&model);
    free (csv);
}
END_TEST

START_TEST (test_progress_bar_on_a_terminal)
{
    //  Under a pseudo-terminal (script(1)), --wait redraws one line in place.
    s_trainer_start (0, "t1");
    char *maas = support_build_path ("client/maas"), *command = NULL, *out;
    ck_assert (asprintf (&command,
                         "%s train dg --data digits --layers 256:relu,10:softmax "
                         "--loss softmax_ce --epochs 200 --batch 8 --wait "
                         "--broker %s --redis %s",
                         maas, fx.front, support_redis_url (fx.redis))
               > 0);
    char log[512];
    snprintf (log, sizeof log, "%s/tty.out", fx.dir);
    const char *argv[] = {"/usr/bin/script", "-q", "-e", "-c", command, "/dev/null", NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, log);
    ck_assert_int_eq (support_proc_wait (proc, 60000), 0);
    support_proc_stop (&proc);
    FILE *file = fopen (log, "r");
    out = calloc (1, 1 << 16);
    ck_assert_uint_lt (fread (out, 1, (1 << 16) - 1, file), 1 << 16);
    fclose (file);
    ck_assert_msg (strstr (out, "\r[#") && strstr (out, "] epoch ") && strstr (out, "\033[K")
                       && strstr (out, "ETA "),
                   "%s", out);
    ck_assert_ptr_null (strstr (out, "epoch=1/200"));    //  no plain lines on a terminal
    ck_assert_ptr_nonnull (strstr (out, "model dg version 1 published"));
    free (out);
    free (command);
    free (maas);
}
END_TEST

//  -- faults

//  A job that trains for a few seconds (about 5 ms an epoch here): digits,
//  a wide layer, small batches. Faults strike at its first epochs.
static maas_training_t
s_long_spec (const char *model)
{
    return s_spec (model, "digits", "256:relu,10:softmax", MAAS_LOSS_SOFTMAX_CE, 600, 8);
}

START_TEST (test_trainer_killed_mid_job)
{
    s_trainer_start (0, "t1");
    s_trainer_start (1, "t2");
    maas_training_t spec = s_long_spec ("digits-kill");
    char id[MAAS_PROTO_ID_MAX + 1], worker[64];
    s_submit (&spec, NULL, 0, id);
    s_wait_training (id, worker, sizeof worker);
    int victim = strcmp (worker, "t1") == 0 ? 0 : 1;
    ck_assert_msg (strcmp (worker, victim ? "t2" : "t1") == 0, "worker '%s'", worker);
    support_proc_signal (fx.trainers[victim], SIGKILL);
    maas_result_t *result = s_wait (id, 60000);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s: %s", result->status,
                   result->error ? result->error : "");
    maas_result_destroy (&result);
    s_job_field (id, "worker", worker, sizeof worker);
    ck_assert_str_eq (worker, victim ? "t1" : "t2");
    char attempts[16];
    s_job_field (id, "attempts", attempts, sizeof attempts);
    ck_assert_str_eq (attempts, "2");
    ck_assert_uint_eq (s_versions ("digits-kill"), 1);
}
END_TEST

START_TEST (test_cancel_mid_job)
{
    s_trainer_start (0, "t1");
    maas_training_t spec = s_long_spec ("digits-cancel");
    spec.train.epochs = 5000;
    char id[MAAS_PROTO_ID_MAX + 1], worker[64];
    s_submit (&spec, NULL, 0, id);
    s_wait_training (id, worker, sizeof worker);
    ck_assert_int_eq (maas_client_cancel (fx.client, id), 0);
    maas_result_t *result = s_wait (id, 20000);
    ck_assert_str_eq (result->status, "cancelled");
    maas_result_destroy (&result);
    ck_assert_uint_eq (s_versions ("digits-cancel"), 0);
    //  The trainer is free again and serves the next job.
    spec = s_spec ("after", "bc", "1:sigmoid", MAAS_LOSS_BCE, 2, 32);
    s_submit (&spec, NULL, 0, id);
    result = s_wait (id, 20000);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
}
END_TEST

//  -- bad specs

//  Job ID fails with a message containing EXPECTED, marked not retryable:
//  a bad spec or missing data fails the same on every trainer.
static void
s_expect_final_failure (const char *id, const char *expected)
{
    maas_result_t *result = s_wait (id, 20000);
    ck_assert_str_eq (result->status, "failed");
    ck_assert_msg (result->error && strstr (result->error, expected), "expected '%s', got '%s'",
                   expected, result->error ? result->error : "");
    ck_assert_msg (!maas_result_retryable (result), "'%s' sent as retryable", result->error);
    maas_result_destroy (&result);
}

//  Submit SPEC, expect it to fail with a message containing EXPECTED.
static void
s_expect_failure (const maas_training_t *spec, const void *payload, size_t size,
                  const char *expected)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit (spec, payload, size, id);
    s_expect_final_failure (id, expected);
}

//  Submit raw params PACKED by FN under model "raw"; expect EXPECTED.
static void
s_expect_raw_failure (void (*fn) (msgpack_packer *), const char *expected)
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    fn (&pk);
    maas_submit_t submit = {
        .kind = "train", .model = "raw", .params = params.data, .params_size = params.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (maas_client_submit (fx.client, &submit, NULL, 0, NULL, NULL, id), 0);
    msgpack_sbuffer_destroy (&params);
    s_expect_final_failure (id, expected);
}

static void
s_pack_bad_activation (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    maas_codec_pack_kv_str (pk, "dataset", "bc");
    maas_codec_pack_str (pk, "layers");
    msgpack_pack_array (pk, 1);
    msgpack_pack_map (pk, 2);
    maas_codec_pack_kv_uint (pk, "units", 1);
    maas_codec_pack_kv_str (pk, "activation", "swish");
}

static void
s_pack_unknown_key (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    maas_codec_pack_kv_uint (pk, "epoch", 3);
}

static void
s_pack_bad_optimizer (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 3);
    maas_codec_pack_kv_str (pk, "dataset", "bc");
    maas_codec_pack_kv_str (pk, "optimizer", "lbfgs");
    maas_codec_pack_str (pk, "layers");
    msgpack_pack_array (pk, 1);
    msgpack_pack_map (pk, 2);
    maas_codec_pack_kv_uint (pk, "units", 1);
    maas_codec_pack_kv_str (pk, "activation", "sigmoid");
}

START_TEST (test_bad_specs_fail_with_their_message)
{
    s_trainer_start (0, "t1");
    maas_training_t spec = s_spec ("m", "nope", "1:sigmoid", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0, "data set 'nope' not found");
    spec = s_spec ("m", "digits", "3:softmax", MAAS_LOSS_SOFTMAX_CE, 1, 32);
    s_expect_failure (&spec, NULL, 0,
                      "data set 'digits' has 10 classes but the output layer "
                      "has 3 units");
    spec = s_spec ("m", "digits", "1:sigmoid", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0,
                      "loss bce needs binary labels, data set 'digits' is "
                      "multiclass");
    spec = s_spec ("m", "bc", "1:softmax", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0, "loss bce does not fit a softmax output layer");
    spec = s_spec ("a b", "bc", "1:sigmoid", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0, "model name 'a b' is not valid");
    spec = s_spec ("m", "", "1:sigmoid", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0, "no data");
    s_expect_failure (&spec, "\xc1", 1, "inline data");
    //  A network whose blob the registry could not hold, before training.
    spec = s_spec ("m", "bc", "8192:relu,8192:relu,1:sigmoid", MAAS_LOSS_BCE, 1, 32);
    s_expect_failure (&spec, NULL, 0,
                      "model m: 269591908 bytes is over the registry's limit "
                      "of 268435456 bytes (256 MiB; docs/model-format.md, "
                      "Limits): train fewer or narrower layers");
    s_expect_raw_failure (s_pack_bad_activation, "layer 1: unknown activation 'swish'");
    s_expect_raw_failure (s_pack_unknown_key, "train spec: unknown key 'epoch'");
    s_expect_raw_failure (s_pack_bad_optimizer, "unknown optimizer 'lbfgs'");
    ck_assert_uint_eq (s_versions ("m"), 0);
    //  Through the CLI: the same message, and a non-zero exit.
    char *out;
    const char *train[] = {"train",     "m",      "--data",   "nope",   "--layers",
                           "1:sigmoid", "--wait", "--broker", fx.front, NULL};
    ck_assert_int_eq (s_maas (train, &out), 1);
    ck_assert_msg (strstr (out, "failed: data set 'nope' not found"), "%s", out);
    free (out);
    const char *huge[] = {"train",    "m",        "--data",
                          "bc",       "--layers", "8192:relu,8192:relu,1:sigmoid",
                          "--broker", fx.front,   NULL};
    ck_assert_int_eq (s_maas (huge, &out), 1);
    ck_assert_msg (strstr (out, "maas train: model m: ")
                       && strstr (out,
                                  "over the registry's "
                                  "limit")
                       && strstr (out, "train fewer or narrower layers"),
                   "%s", out);
    free (out);
    const char *local[] = {"train", "m", "--data", "bc", "--layers", "1:sigmod", NULL};
    ck_assert_int_eq (s_maas (local, &out), 2);
    ck_assert_msg (strstr (out, "layer 1: unknown activation 'sigmod'"), "%s", out);
    free (out);
}
END_TEST

//  -- reproducibility, inline data

START_TEST (test_same_seed_same_weights)
{
    s_trainer_start (0, "t1");
    char id[2][MAAS_PROTO_ID_MAX + 1];
    for (int i = 0; i < 2; i++) {
        maas_training_t spec =
            s_spec (i ? "r2" : "r1", "digits", "32:tanh,10:softmax", MAAS_LOSS_SOFTMAX_CE, 3, 16);
        s_submit (&spec, NULL, 0, id[i]);
        maas_result_t *result = s_wait (id[i], 30000);
        ck_assert_str_eq (result->status, "succeeded");
        maas_result_destroy (&result);
    }
    maas_model_t *a = s_model ("r1", 1), *b = s_model ("r2", 1);
    char sha_a[MAAS_SHA256_HEX_SIZE], sha_b[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (a, sha_a);
    maas_model_sha256 (b, sha_b);
    ck_assert_str_eq (sha_a, sha_b);
    maas_model_destroy (&a);
    maas_model_destroy (&b);
    //  The registry shows the same weights hash for both, beside file
    //  hashes that differ (the blobs hold their job ids).
    maas_registry_info_t one, two;
    ck_assert_int_eq (maas_registry_info (fx.registry, "r1", 1, &one), 0);
    ck_assert_int_eq (maas_registry_info (fx.registry, "r2", 1, &two), 0);
    ck_assert_str_ne (one.sha256, two.sha256);
    ck_assert_uint_eq (strlen (one.weights_sha256), 64);
    ck_assert_str_eq (one.weights_sha256, two.weights_sha256);
    maas_registry_info_clear (&one);
    maas_registry_info_clear (&two);
}
END_TEST

//  A data set of X and Y (taken) and its inline form in PAYLOAD (the
//  caller destroys both), as a train job's payload carries it.
static maas_dataset_t *
s_inline (maas_tensor_t **x, maas_tensor_t **y, msgpack_sbuffer *payload)
{
    maas_dataset_t *data = maas_dataset_new (x, y, NULL, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (data, "%s", s_err.text);
    msgpack_sbuffer_init (payload);
    msgpack_packer pk;
    msgpack_packer_init (&pk, payload, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack_data (data, &pk), 0);
    return data;
}

START_TEST (test_inline_data)
{
    s_trainer_start (0, "t1");
    maas_tensor_t *x = maas_tensor_new (200, 2), *y = maas_tensor_new (200, 1);
    for (size_t r = 0; r < 200; r++) {
        x->data[2 * r] = (float) (r % 20) - 10;
        x->data[2 * r + 1] = (float) (r % 7);
        y->data[r] = x->data[2 * r] > 0;
    }
    msgpack_sbuffer payload;
    maas_dataset_t *data = s_inline (&x, &y, &payload);
    maas_training_t spec = s_spec ("inline", "", "8:relu,1:sigmoid", MAAS_LOSS_BCE, 20, 16);
    spec.train.val_fraction = 0;    //  no split: the metric is measured on the training rows
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit (&spec, payload.data, payload.size, id);
    maas_result_t *result = s_wait (id, 30000);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
    maas_result_destroy (&result);
    maas_model_t *model = s_model ("inline", 1);
    ck_assert_str_eq (maas_model_meta_str (model, "dataset"), "inline");
    double accuracy;
    int64_t rows;
    ck_assert_int_eq (maas_model_meta_number (model, "train_accuracy", &accuracy), 0);
    ck_assert_int_eq (maas_model_meta_int (model, "metric_rows", &rows), 0);
    ck_assert_int_eq (rows, 200);
    ck_assert_int_ne (maas_model_meta_number (model, "val_accuracy", &accuracy), 0);
    ck_assert_str_eq (maas_model_meta_str (model, "dataset_sha256"),
                      maas_dataset_sha256_hex (data));
    maas_model_destroy (&model);
    msgpack_sbuffer_destroy (&payload);
    maas_dataset_destroy (&data);
}
END_TEST

//  input_scale in the spec: training sees the rows × the scale (pixel
//  values 0..255 trained as 0..1, no standardisation), and the published
//  version carries the scale, so a worker serving raw pixels computes what
//  was trained.
START_TEST (test_input_scale)
{
    s_trainer_start (0, "t1");
    maas_tensor_t *x = maas_tensor_new (256, 2), *y = maas_tensor_new (256, 1);
    for (size_t r = 0; r < 256; r++) {
        x->data[2 * r] = (float) r;
        x->data[2 * r + 1] = (float) ((r * 37) % 256);
        y->data[r] = r >= 128;
    }
    msgpack_sbuffer payload;
    maas_dataset_t *data = s_inline (&x, &y, &payload);
    maas_training_t spec = s_spec ("pixels", "", "8:relu,1:sigmoid", MAAS_LOSS_BCE, 60, 16);
    spec.train.val_fraction = 0;
    spec.train.standardize = false;
    spec.input_scale = 1.0 / 255;
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit (&spec, payload.data, payload.size, id);
    maas_result_t *result = s_wait (id, 30000);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
    maas_result_destroy (&result);
    maas_model_t *model = s_model ("pixels", 1);
    ck_assert (maas_model_input_scale (model) == 1.0 / 255);
    double accuracy;
    ck_assert_int_eq (maas_model_meta_number (model, "train_accuracy", &accuracy), 0);
    ck_assert_msg (accuracy > 0.9, "accuracy %g on the scaled rows", accuracy);
    //  A bad scale is refused with the spec's message.
    spec.input_scale = -1;
    maas_err_t err;
    ck_assert_int_eq (maas_training_check (&spec, &err), -1);
    ck_assert_str_eq (err.text, "input scale must be a number from 1e-30 to 1e30, got -1");
    maas_model_destroy (&model);
    msgpack_sbuffer_destroy (&payload);
    maas_dataset_destroy (&data);
}
END_TEST

//  Write a CSV of ROWS rows, x0,x1 then a label column: names (benign /
//  malignant, by the sign of x0) when NAMED, else the integers 0..2.
static char *
s_labels_csv (const char *file, bool named)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", fx.dir, file) > 0);
    FILE *out = fopen (path, "w");
    ck_assert_ptr_nonnull (out);
    fprintf (out, "x0,x1,diagnosis\n");
    for (int r = 0; r < 300; r++) {
        float x0 = (float) (r % 20) - 9.5f, x1 = (float) (r % 7);
        if (named)
            fprintf (out, "%g,%g,%s\n", x0, x1, x0 > 0 ? "malignant" : "benign");
        else
            fprintf (out, "%g,%g,%d\n", x0, x1, x0 < -3 ? 0 : x0 < 3 ? 1 : 2);
    }
    fclose (out);
    return path;
}

//  A CSV whose labels are names trains a model whose labels are those
//  names, in sorted order (class 1, the positive one, is "malignant"); one
//  of integer labels keeps its classes numbered, as their values.
START_TEST (test_labels_from_the_data)
{
    s_trainer_start (0, "t1");
    char *named = s_labels_csv ("named.csv", true), *numbered = s_labels_csv ("int.csv", false);
    maas_dataset_t *data = maas_dataset_from_csv (named, "diagnosis", MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (data, "%s", s_err.text);
    ck_assert_int_eq (maas_dataset_task (data), MAAS_DATASET_BINARY);
    ck_assert_int_eq (maas_dataset_store_put (fx.store, "named", data), 0);
    maas_dataset_destroy (&data);
    data = maas_dataset_from_csv (numbered, "diagnosis", MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (data, "%s", s_err.text);
    ck_assert_ptr_null (maas_dataset_class_names (data));
    ck_assert_int_eq (maas_dataset_store_put (fx.store, "numbered", data), 0);
    maas_dataset_destroy (&data);
    //  Names cannot be regressed.
    ck_assert_ptr_null (
        maas_dataset_from_csv (named, "diagnosis", MAAS_DATASET_REGRESSION, &s_err));
    ck_assert_msg (strstr (s_err.text, "the labels are names (benign, ...), not numbers"), "%s",
                   s_err.text);
    char id[2][MAAS_PROTO_ID_MAX + 1];
    maas_training_t spec = s_spec ("dx", "named", "8:relu,1:sigmoid", MAAS_LOSS_BCE, 5, 32);
    s_submit (&spec, NULL, 0, id[0]);
    spec = s_spec ("tri", "numbered", "8:relu,3:softmax", MAAS_LOSS_SOFTMAX_CE, 5, 32);
    s_submit (&spec, NULL, 0, id[1]);
    for (int i = 0; i < 2; i++) {
        maas_result_t *result = s_wait (id[i], 30000);
        ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
        maas_result_destroy (&result);
    }
    maas_model_t *model = s_model ("dx", 1);
    char buf[24];
    ck_assert_ptr_nonnull (maas_model_labels (model));
    ck_assert_str_eq (maas_model_label (model, 0, buf), "benign");
    ck_assert_str_eq (maas_model_label (model, 1, buf), "malignant");
    maas_model_destroy (&model);
    model = s_model ("tri", 1);
    ck_assert_ptr_null (maas_model_labels (model));
    ck_assert_str_eq (maas_model_label (model, 2, buf), "2");
    maas_model_destroy (&model);
    free (named);
    free (numbered);
}
END_TEST

//  A regression job on a target far from unit scale: the model is
//  published in format 2 with the training rows' target mean and std, and
//  its test metric is an RMSE in target units, a small share of the std.
START_TEST (test_regression_target_standardised)
{
    s_trainer_start (0, "t1");
    maas_tensor_t *x = maas_tensor_new (400, 2), *y = maas_tensor_new (400, 1);
    for (size_t r = 0; r < 400; r++) {
        x->data[2 * r] = (float) (r % 20) / 10 - 1;
        x->data[2 * r + 1] = (float) (r % 7) / 7;
        y->data[r] = 1000 * (x->data[2 * r] + x->data[2 * r + 1]) + 5000;
    }
    maas_dataset_t *data = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_REGRESSION, &s_err);
    ck_assert_msg (data, "%s", s_err.text);
    msgpack_sbuffer payload;
    msgpack_sbuffer_init (&payload);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &payload, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack_data (data, &pk), 0);
    maas_training_t spec = s_spec ("price", "", "16:relu,1:linear", MAAS_LOSS_MSE, 30, 16);
    char id[MAAS_PROTO_ID_MAX + 1];
    s_submit (&spec, payload.data, payload.size, id);
    maas_result_t *result = s_wait (id, 30000);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
    maas_result_destroy (&result);
    maas_model_t *model = s_model ("price", 1);
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    ck_assert_int_eq (maas_model_format (model), 2);
    ck_assert_ptr_nonnull (maas_mlp_target_mean (mlp));
    ck_assert_float_eq_tol (maas_mlp_target_mean (mlp)[0], 5430, 150);
    ck_assert_float_eq_tol (maas_mlp_target_std (mlp)[0], 620, 150);
    double rmse;
    int64_t flag;
    ck_assert_int_eq (maas_model_meta_number (model, "val_rmse", &rmse), 0);
    ck_assert_msg (rmse > 1 && rmse < 0.25 * maas_mlp_target_std (mlp)[0], "val_rmse %g", rmse);
    ck_assert_int_eq (maas_model_meta_int (model, "standardize_target", &flag), 0);
    ck_assert_int_eq (flag, 1);
    maas_registry_info_t info;
    ck_assert_int_eq (maas_registry_info (fx.registry, "price", 1, &info), 0);
    ck_assert_int_eq (info.format, 2);
    maas_registry_info_clear (&info);
    maas_model_destroy (&model);
    msgpack_sbuffer_destroy (&payload);
    maas_dataset_destroy (&data);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("trainer");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_set_timeout (core, 120);
    tcase_add_test (core, test_put_train_publish_infer);
    tcase_add_test (core, test_same_seed_same_weights);
    tcase_add_test (core, test_inline_data);
    tcase_add_test (core, test_input_scale);
    tcase_add_test (core, test_labels_from_the_data);
    tcase_add_test (core, test_regression_target_standardised);
    tcase_add_test (core, test_progress_bar_on_a_terminal);
    suite_add_tcase (suite, core);
    TCase *faults = tcase_create ("faults");
    tcase_add_checked_fixture (faults, s_setup, s_teardown);
    tcase_set_timeout (faults, 120);
    tcase_add_test (faults, test_trainer_killed_mid_job);
    tcase_add_test (faults, test_cancel_mid_job);
    suite_add_tcase (suite, faults);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_set_timeout (errors, 120);
    tcase_add_test (errors, test_bad_specs_fail_with_their_message);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
