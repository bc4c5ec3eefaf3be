/*  train_job.c: one train job. Training runs in a czmq actor (its own
 *  thread, owning the network while it trains); this thread reports each
 *  epoch to the broker, keeps heartbeats flowing and raises the cancel flag
 *  the training loop reads at every batch. */
#include "train_job.h"
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  What `trainer_build` records: the package version and, when the tree
//  was a git checkout at configure time, `git describe`.
#define MAAS_BUILD_TEXT PACKAGE_VERSION " (" MAAS_GIT_DESCRIBE ")"

typedef struct {
    const maas_train_job_env_t *env;              //  trainer connections, borrowed
    maas_training_t spec;                         //  what the job asks for
    char id[MAAS_PROTO_ID_MAX + 1];               //  job id (lineage, idempotent publish)
    maas_dataset_t *data;                         //  training data, owned
    float *scaled;                                //  its features × input_scale, owned, or NULL
    char data_name[MAAS_DATASET_MAX_NAME + 1];    //  data set name or "inline"
    maas_mlp_t *mlp;                              //  the network, owned (trained in place)
    maas_train_t *train;                          //  training loop state, owned
    maas_train_result_t result;                   //  summary once fit returned
    int fit_rc;                                   //  maas_train_fit's return code
    zsock_t *pipe;                                //  actor pipe while training (actor's)
    atomic_bool cancel;                           //  raised here, read by training at each batch
    int64_t started_us;                           //  when training started (monotonic)
    int64_t fit_us;                               //  how long fit took
    size_t samples;                               //  training rows counted so far
    maas_err_t error;                             //  why the job failed
    bool final;                                   //  ERROR would be the same on any trainer
} s_job_t;

//  -- before training: everything checked, nothing trained yet

//  The features training sees: the data set's, or their copy × the spec's
//  input scale, multiplied in float32 as a worker multiplies a job's rows
//  (so the stored scale serves exactly what was trained).
static const float *
s_features (const s_job_t *job)
{
    return job->scaled ? job->scaled : maas_dataset_features (job->data)->data;
}

static int
s_scale_inputs (s_job_t *job)
{
    if (job->spec.input_scale == 1)
        return 0;
    const maas_tensor_t *x = maas_dataset_features (job->data);
    size_t count = x->rows * x->cols;
    job->scaled = malloc ((count ? count : 1) * sizeof (float));
    if (!job->scaled) {
        maas_err_set (&job->error, MAAS_ERR_NOMEM, "trainer: out of memory scaling the inputs");
        return -1;
    }
    float scale = (float) job->spec.input_scale;
    for (size_t i = 0; i < count; i++)
        job->scaled[i] = x->data[i] * scale;
    return 0;
}

static int
s_load_data (s_job_t *job, maas_work_t *work)
{
    const maas_training_t *spec = &job->spec;
    if (*spec->dataset) {
        snprintf (job->data_name, sizeof job->data_name, "%s", spec->dataset);
        job->data = maas_dataset_store_get (job->env->store, spec->dataset);
        if (!job->data)
            maas_err_set (&job->error, MAAS_ERR_INPUT, "%s",
                          maas_dataset_store_error (job->env->store));
        //  The store has no error codes: a missing data set is missing on
        //  every trainer; anything else (Redis down) may pass.
        job->final = !job->data && strstr (job->error.text, "not found");
    }
    else if (maas_work_size (work) > 0) {
        snprintf (job->data_name, sizeof job->data_name, "inline");
        job->data =
            maas_training_decode_data (maas_work_data (work), maas_work_size (work), &job->error);
        job->final = !job->data;
    }
    else {
        maas_err_set (&job->error, MAAS_ERR_INPUT,
                      "train spec: no data: name a data set ('dataset') or send one as payload");
        job->final = true;
    }
    return job->data ? 0 : -1;
}

static int s_on_epoch (const maas_train_epoch_t *epoch, void *arg);

static int
s_prepare (s_job_t *job, maas_work_t *work)
{
    const maas_proto_job_t *header = maas_work_job (work);
    snprintf (job->id, sizeof job->id, "%s", header->id);
    maas_training_t *spec = &job->spec;
    //  What the job asks for and its data are checked first: a failure
    //  there is the same on every trainer, not worth running again.
    job->final = true;
    if (maas_training_decode (spec, maas_work_params (work), header->model, &job->error) != 0)
        return -1;
    if (!maas_registry_name_valid (spec->model)) {
        maas_err_set (&job->error, MAAS_ERR_INPUT, "model name '%s' is not valid", spec->model);
        return -1;
    }
    if (s_load_data (job, work) != 0)
        return -1;
    job->final = true;
    if (maas_training_check_data (spec, maas_dataset_cols (job->data),
                                  maas_dataset_task (job->data), maas_dataset_classes (job->data),
                                  &job->error)
        != 0)
        return -1;
    //  A network whose blob the registry would refuse is refused now, not
    //  after hours of training; the same on every trainer.
    size_t bytes =
        maas_model_encoded_size (maas_dataset_cols (job->data), spec->layers, spec->n_layers);
    if (maas_registry_size_check (spec->model, bytes, &job->error) != 0) {
        snprintf (job->error.text + strlen (job->error.text),
                  sizeof job->error.text - strlen (job->error.text),
                  ": train fewer or narrower layers");
        return -1;
    }
    job->final = false;    //  from here on, this trainer's resources
    if (s_scale_inputs (job) != 0)
        return -1;
    job->mlp = maas_mlp_new (maas_dataset_cols (job->data), spec->layers, spec->n_layers);
    if (!job->mlp) {
        maas_err_set (&job->error, MAAS_ERR_INPUT, "network too large for this trainer");
        return -1;
    }
    maas_mlp_init (job->mlp, spec->train.seed);
    maas_train_config_t config = spec->train;
    config.on_epoch = s_on_epoch;
    config.on_epoch_arg = job;
    config.cancel = &job->cancel;
    job->train = maas_train_new (job->mlp, &config, &job->error);
    return job->train ? 0 : -1;
}

//  -- training, in the actor

//  Epoch callback (actor thread): hand a copy of the figures to the job's
//  thread, which owns the broker connection.
static int
s_on_epoch (const maas_train_epoch_t *epoch, void *arg)
{
    s_job_t *job = arg;
    maas_train_epoch_t *copy = malloc (sizeof *copy);
    if (copy) {
        *copy = *epoch;
        if (zsock_send (job->pipe, "p", copy) != 0)
            free (copy);
    }
    return 0;
}

static void
s_actor (zsock_t *pipe, void *arg)
{
    s_job_t *job = arg;
    job->pipe = pipe;
    zsock_signal (pipe, 0);
    const maas_tensor_t *x = maas_dataset_features (job->data);
    int64_t started = maas_clock_mono_us ();
    job->fit_rc = maas_train_fit (job->train, s_features (job),
                                  maas_dataset_labels (job->data)->data, x->rows, &job->result);
    job->fit_us = maas_clock_mono_us () - started;
    zsock_send (pipe, "p", NULL);    //  done
    while (true) {
        char *command = zstr_recv (pipe);
        bool term = !command || streq (command, "$TERM");
        zstr_free (&command);
        if (term)
            break;
    }
}

//  -- while training: progress, heartbeats, cancel

static const char *
s_metric_name (const s_job_t *job)
{
    return job->spec.train.loss == MAAS_LOSS_MSE ? "rmse" : "accuracy";
}

static void
s_report (s_job_t *job, maas_work_t *work, const maas_train_epoch_t *epoch)
{
    double elapsed = (double) (maas_clock_mono_us () - job->started_us) / 1e6;
    double rate = elapsed > 0 ? (double) epoch->samples / elapsed : 0;
    double eta = epoch->epoch
        ? elapsed / (double) epoch->epoch * (double) (epoch->epochs - epoch->epoch)
        : 0;
    char message[256];
    snprintf (message, sizeof message,
              "epoch=%zu/%zu train_loss=%.6g val_loss=%.6g %s=%.6g samples_per_s=%.0f "
              "elapsed_s=%.3f eta_s=%.3f",
              epoch->epoch, epoch->epochs, epoch->train_loss, epoch->val_loss, s_metric_name (job),
              epoch->val_metric, rate, elapsed, eta);
    maas_worker_progress (job->env->worker, work, (double) epoch->epoch / (double) epoch->epochs,
                          message);
    job->env->counters->epochs++;
    job->env->counters->samples += epoch->samples - job->samples;
    job->samples = epoch->samples;
    maas_debug ("trainer", "progress job=%s %s", job->id, message);
}

//  Train in an actor until it is done; returns 0, or -1 if interrupted.
static int
s_train (s_job_t *job, maas_work_t *work)
{
    job->started_us = maas_clock_mono_us ();
    zactor_t *actor = zactor_new (s_actor, job);
    if (!actor) {
        maas_err_set (&job->error, MAAS_ERR_NOMEM, "trainer: cannot start a training thread");
        job->fit_rc = -1;
        return 0;
    }
    bool interrupted = false;
    zsock_set_rcvtimeo (zactor_sock (actor), job->env->poll_ms);
    while (true) {
        void *epoch = NULL;
        if (zsock_recv (zactor_sock (actor), "p", &epoch) == 0) {
            if (!epoch)
                break;
            s_report (job, work, epoch);
            free (epoch);
        }
        if (maas_worker_tick (job->env->worker) != 0 || zsys_interrupted)
            interrupted = true;
        if (job->env->tick)
            job->env->tick (job->env->tick_arg);
        if (interrupted || maas_work_cancelled (work))
            atomic_store (&job->cancel, true);
    }
    zactor_destroy (&actor);
    return interrupted ? -1 : 0;
}

//  -- after training: metrics, publish, answer

static maas_training_metrics_t
s_metrics (s_job_t *job)
{
    const maas_train_result_t *r = &job->result;
    double metric = r->val_metric;
    if (r->val_rows == 0) {
        const maas_tensor_t *x = maas_dataset_features (job->data);
        maas_train_evaluate (job->train, s_features (job), maas_dataset_labels (job->data)->data,
                             x->rows, &metric);
    }
    bool mse = job->spec.train.loss == MAAS_LOSS_MSE;
    double seconds = (double) job->fit_us / 1e6;
    return (maas_training_metrics_t){
        .accuracy = mse ? NAN : metric,
        .rmse = mse ? metric : NAN,
        .train_loss = r->train_loss,
        .val_loss = r->val_loss,
        .samples_per_s = seconds > 0 ? (double) (r->train_rows * r->epochs_run) / seconds : 0};
}

//  The test metric's honest name: measured on the validation rows when
//  there is a split ("val_accuracy", "val_rmse"), else on the training
//  rows ("train_accuracy", "train_rmse"); and how many rows that was.
static const char *
s_test_metric_name (const maas_training_metrics_t *m, const s_job_t *job, int64_t *rows)
{
    bool val = job->result.val_rows > 0;
    *rows = (int64_t) (val ? job->result.val_rows : job->result.train_rows);
    if (isnan (m->rmse))
        return val ? "val_accuracy" : "train_accuracy";
    return val ? "val_rmse" : "train_rmse";
}

//  Metrics as the JSON object the registry stores ({"val_accuracy":0.98,
//  "metric_rows":114,...}).
static void
s_metrics_json (const maas_training_metrics_t *m, const s_job_t *job, char *json, size_t size)
{
    int64_t rows;
    const char *name = s_test_metric_name (m, job, &rows);
    int len = snprintf (json, size, "{\"%s\":%.6g,\"metric_rows\":%" PRId64 ",\"train_loss\":%.6g",
                        name, isnan (m->rmse) ? m->accuracy : m->rmse, rows, m->train_loss);
    if (!isnan (m->val_loss) && len > 0 && (size_t) len < size)
        len += snprintf (json + len, size - (size_t) len, ",\"val_loss\":%.6g", m->val_loss);
    if (len > 0 && (size_t) len < size)
        snprintf (json + len, size - (size_t) len, ",\"epochs\":%zu,\"samples_per_s\":%.0f}",
                  job->result.epochs_run, m->samples_per_s);
}

//  The spec's layers as the CLI takes them ("32:relu,1:sigmoid") into OUT.
static void
s_layers_text (const maas_training_t *spec, char *out, size_t size)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < spec->n_layers && used < size; i++)
        used += (size_t) snprintf (out + used, size - used, "%s%zu:%s", i ? "," : "",
                                   spec->layers[i].units, maas_act_name (spec->layers[i].act));
}

//  The whole train spec: loss, optimizer and every hyper-parameter, the
//  loop's settings, the network.
static int
s_set_spec_meta (maas_model_t *model, const maas_training_t *spec)
{
    const maas_train_config_t *t = &spec->train;
    const maas_optim_config_t *o = &t->optim;
    char layers[MAAS_MLP_MAX_LAYERS * 24];
    s_layers_text (spec, layers, sizeof layers);
    return maas_model_meta_set_str (model, "loss", maas_loss_name (t->loss))
        | maas_model_meta_set_str (model, "optimizer", maas_optim_name (o->kind))
        | maas_model_meta_set_double (model, "lr", o->lr)
        | maas_model_meta_set_double (model, "momentum", o->momentum)
        | maas_model_meta_set_double (model, "beta1", o->beta1)
        | maas_model_meta_set_double (model, "beta2", o->beta2)
        | maas_model_meta_set_double (model, "rho", o->rho)
        | maas_model_meta_set_double (model, "eps", o->eps)
        | maas_model_meta_set_double (model, "weight_decay", o->weight_decay)
        | maas_model_meta_set_int (model, "batch_size", (int64_t) t->batch_size)
        | maas_model_meta_set_int (model, "epochs_planned", (int64_t) t->epochs)
        | maas_model_meta_set_double (model, "val_fraction", t->val_fraction)
        | maas_model_meta_set_int (model, "patience", (int64_t) t->patience)
        | maas_model_meta_set_int (model, "restore_best", t->restore_best)
        | maas_model_meta_set_int (model, "standardize", t->standardize)
        | maas_model_meta_set_int (model, "standardize_target", t->standardize_target)
        | maas_model_meta_set_int (model, "seed", (int64_t) t->seed)
        | maas_model_meta_set_str (model, "layers", layers);
}

//  Training metadata stored inside the model blob: the lineage that must
//  outlive the job's record (docs/model-format.md, "Metadata map").
static int
s_set_meta (maas_model_t *model, const s_job_t *job, const maas_training_metrics_t *m)
{
    int64_t rows;
    const char *metric = s_test_metric_name (m, job, &rows);
    int rc = s_set_spec_meta (model, &job->spec)
        | maas_model_meta_set_str (model, "job_id", job->id)
        | maas_model_meta_set_str (model, "trainer_build", MAAS_BUILD_TEXT)
        | maas_model_meta_set_str (model, "dataset", job->data_name)
        | maas_model_meta_set_int (model, "dataset_rows", (int64_t) maas_dataset_rows (job->data))
        | maas_model_meta_set_str (model, "dataset_sha256", maas_dataset_sha256_hex (job->data))
        | maas_model_meta_set_int (model, "epochs", (int64_t) job->result.epochs_run)
        | maas_model_meta_set_int (model, "best_epoch", (int64_t) job->result.best_epoch)
        | maas_model_meta_set_int (model, "train_rows", (int64_t) job->result.train_rows)
        | maas_model_meta_set_int (model, "val_rows", (int64_t) job->result.val_rows)
        | maas_model_meta_set_str (model, "outcome", maas_train_outcome_name (job->result.outcome))
        | maas_model_meta_set_double (model, "train_loss", m->train_loss)
        | maas_model_meta_set_double (model, metric, isnan (m->rmse) ? m->accuracy : m->rmse)
        | maas_model_meta_set_int (model, "metric_rows", rows);
    if (!isnan (m->val_loss))
        rc |= maas_model_meta_set_double (model, "val_loss", m->val_loss);
    return rc ? -1 : 0;
}

//  The data set's feature names, stored in the model so that clients match
//  input columns by name (docs/model-format.md, "Column names"), and its
//  class names as the model's labels. Names the format cannot hold
//  (repeated, too long) leave the model positional.
static int
s_set_columns (maas_model_t *model, const maas_dataset_t *data, const char *job_id)
{
    size_t cols = maas_dataset_cols (data);
    const char **names = calloc (cols, sizeof *names);
    if (!names)
        return -1;
    for (size_t i = 0; i < cols; i++)
        names[i] = maas_dataset_column (data, i);
    if (maas_model_set_columns (model, names, cols) != 0)
        maas_warn ("trainer",
                   "column names not stored, model takes inputs by position job=%s "
                   "reason=\"repeated, empty or over %d bytes\"",
                   job_id, MAAS_MODEL_COLUMN_MAX);
    free (names);
    //  Labels that were names in the data ("benign") name the classes.
    const char *const *classes = maas_dataset_class_names (data);
    maas_err_t err;
    if (classes && maas_model_set_labels (model, classes, maas_dataset_classes (data), &err) != 0)
        maas_warn ("trainer", "class labels not stored job=%s reason=\"%s\"", job_id, err.text);
    return 0;
}

//  The job's answer (training.h packs it).
static int
s_pack_result (msgpack_sbuffer *buffer, const s_job_t *job, uint64_t version, bool created,
               const maas_training_metrics_t *m)
{
    maas_training_result_t result = {.version = version,
                                     .created = created,
                                     .epochs = job->result.epochs_run,
                                     .train_seconds = (double) job->fit_us / 1e6,
                                     .metrics = *m};
    maas_proto_copy (result.model, sizeof result.model, job->spec.model);
    maas_proto_copy (result.outcome, sizeof result.outcome,
                     maas_train_outcome_name (job->result.outcome));
    maas_proto_copy (result.dataset_sha256, sizeof result.dataset_sha256,
                     maas_dataset_sha256_hex (job->data));
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    return maas_training_result_pack (&result, &pk);
}

//  Publish the trained network (taking job->mlp); *VERSION and *CREATED
//  as the registry says. -1 with job->error.
static int
s_publish (s_job_t *job, const maas_training_metrics_t *m, uint64_t *version, bool *created)
{
    maas_model_t *model = maas_model_new (&job->mlp);
    uint8_t *blob = NULL;
    size_t size = 0;
    maas_err_t model_err = {0};
    char json[512];
    int rc = -1;
    if (!model || s_set_meta (model, job, m) != 0 || s_set_columns (model, job->data, job->id) != 0
        || (job->spec.input_scale != 1
            && maas_model_set_input_scale (model, job->spec.input_scale, NULL) != 0)) {
        maas_err_set (&job->error, MAAS_ERR_NOMEM, "trainer: out of memory building the model");
        goto done;
    }
    if (maas_model_encode (model, &blob, &size, &model_err) != 0) {
        maas_err_copy (&job->error, &model_err);
        goto done;
    }
    s_metrics_json (m, job, json, sizeof json);
    maas_registry_meta_t meta = {.metrics = json,
                                 .job_id = job->id,
                                 .description =
                                     *job->spec.description ? job->spec.description : NULL};
    rc = maas_registry_publish (job->env->registry, job->spec.model, blob, size, &meta, version,
                                created);
    if (rc != 0)
        maas_err_set (&job->error, MAAS_ERR_INPUT, "%s", maas_registry_error (job->env->registry));
done:
    free (blob);
    maas_model_destroy (&model);
    return rc;
}

static void
s_finish (s_job_t *job, maas_work_t **work_p)
{
    maas_worker_t *worker = job->env->worker;
    maas_train_counters_t *counters = job->env->counters;
    if (job->fit_rc != 0) {
        if (!*job->error.text)
            maas_err_set (&job->error, MAAS_ERR_INPUT, "%s", maas_train_error (job->train));
        counters->failed++;
        maas_worker_fail (worker, work_p, job->error.text);
        return;
    }
    if (job->result.outcome == MAAS_TRAIN_CANCELLED) {
        maas_info ("trainer", "cancelled job=%s epochs=%zu", job->id, job->result.epochs_run);
        counters->cancelled++;
        maas_worker_fail (worker, work_p, "cancelled");
        return;
    }
    maas_training_metrics_t metrics = s_metrics (job);
    maas_train_destroy (&job->train);    //  it borrows the network the model takes
    uint64_t version = 0;
    bool created = false;
    msgpack_sbuffer result;
    msgpack_sbuffer_init (&result);
    if (s_publish (job, &metrics, &version, &created) != 0
        || s_pack_result (&result, job, version, created, &metrics) != 0) {
        maas_error ("trainer", "publish failed job=%s error=\"%s\"", job->id, job->error.text);
        counters->failed++;
        maas_worker_fail (worker, work_p, job->error.text);
    }
    else {
        maas_info ("trainer", "published job=%s model=%s version=%llu created=%d epochs=%zu",
                   job->id, job->spec.model, (unsigned long long) version, created,
                   job->result.epochs_run);
        counters->succeeded++;
        maas_worker_reply (worker, work_p, result.data, result.size, NULL, 0);
    }
    msgpack_sbuffer_destroy (&result);
}

int
maas_train_job_run (const maas_train_job_env_t *env, maas_work_t **work_p)
{
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        maas_work_destroy (work_p);    //  re-queued: another trainer may have memory
        return 0;
    }
    job->env = env;
    atomic_init (&job->cancel, false);
    int rc = 0;
    if (s_prepare (job, *work_p) != 0) {
        maas_warn ("trainer", "refused job=%s retryable=%d error=\"%s\"", job->id, !job->final,
                   job->error.text);
        env->counters->failed++;
        maas_worker_fail_with (env->worker, work_p, job->error.text, !job->final, NULL, 0);
    }
    else {
        maas_info ("trainer", "training job=%s model=%s data=%s rows=%zu", job->id, job->spec.model,
                   job->data_name, maas_dataset_rows (job->data));
        rc = s_train (job, *work_p);
        if (rc != 0) {
            maas_info ("trainer", "interrupted job=%s: given back to the broker", job->id);
            maas_work_destroy (work_p);
        }
        else
            s_finish (job, work_p);
    }
    maas_train_destroy (&job->train);
    maas_mlp_destroy (&job->mlp);
    maas_dataset_destroy (&job->data);
    free (job->scaled);
    free (job);
    return rc;
}
