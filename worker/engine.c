/*  engine.c: resolution, the model cache, and dynamic batching for
 *  maas-worker. Jobs wait in per-version batches; a batch runs when it holds
 *  max_batch_rows rows or its oldest job has waited batch_delay_us. */
#include "engine.h"
#include "cache.h"
#include "input.h"
#include "maas.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_REWATCH_US 1000000    //  retry a lost registry subscription after this

//  A model version ready to run.
typedef struct {
    maas_model_t *model;            //  decoded model, owned
    maas_predictor_t *predictor;    //  its workspace, owned
    size_t inputs;                  //  features per row
    size_t outputs;                 //  values per row
    maas_task_t task;               //  binary, multiclass, regression
    size_t classes;                 //  maas_model_classes: 0 for regression
    double threshold;               //  binary decision threshold from the registry, 0: 0.5
    float scale;                    //  the model's input scale, 1: none
} loaded_t;

//  A job waiting in a batch.
typedef struct {
    void *tag;                     //  caller's handle
    maas_tensor_t *input;          //  rows × inputs, owned (already scaled)
    int64_t submitted_us;          //  when it was submitted
    maas_infer_params_t params;    //  its output and top_k
} job_t;

//  Jobs for one model version that will run as one matrix product.
typedef struct {
    char name[MAAS_REGISTRY_NAME_MAX + 1];    //  model
    uint64_t version;                         //  version
    job_t *jobs;                              //  jobs, owned array
    size_t count;                             //  jobs held
    size_t capacity;                          //  room in JOBS
    size_t rows;                              //  their rows
    int64_t due_us;                           //  runs at the latest then
    bool full;                                //  takes no more jobs
} batch_t;

struct _maas_engine_t {
    maas_engine_config_t config;        //  as given (strings borrowed)
    maas_registry_t *registry;          //  reads versions and blobs, owned
    maas_registry_watch_t *watch;       //  announcements, owned; NULL while lost
    int64_t rewatch_at_us;              //  when to try subscribing again
    zhashx_t *resolved;                 //  "name@ref" → version (as a pointer), ours
    maas_cache_t *cache;                //  loaded_t by name@version, owned
    zlistx_t *batches;                  //  batch_t, oldest first, owned
    zlistx_t *results;                  //  maas_engine_result_t, finished, owned
    maas_tensor_t *batch_x;             //  batch input rows, reused
    maas_tensor_t *batch_y;             //  batch outputs, reused
    uint64_t loads;                     //  versions loaded from Redis
    maas_engine_counters_t counters;    //  batches, cache lookups, load time
    size_t pending;                     //  jobs in batches
};

static void
s_loaded_free (void **value_p)
{
    loaded_t *loaded = *value_p;
    if (loaded) {
        maas_predictor_destroy (&loaded->predictor);
        maas_model_destroy (&loaded->model);
        free (loaded);
    }
    *value_p = NULL;
}

static void
s_batch_free (void **item_p)
{
    batch_t *batch = *item_p;
    if (batch) {
        for (size_t i = 0; i < batch->count; i++)
            maas_tensor_destroy (&batch->jobs[i].input);
        free (batch->jobs);
        free (batch);
    }
    *item_p = NULL;
}

static void
s_result_free (void **item_p)
{
    maas_engine_result_destroy ((maas_engine_result_t **) item_p);
}

//  Where the registry is, from the config.
static maas_redis_config_t
s_redis (const maas_engine_config_t *config)
{
    return (maas_redis_config_t){.url = config->redis_url,
                                 .sentinels = config->redis_sentinels,
                                 .master = config->redis_master};
}

maas_engine_t *
maas_engine_new (const maas_engine_config_t *config, char *err, size_t err_size)
{
    maas_engine_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "engine: out of memory");
        return NULL;
    }
    self->config = *config;
    maas_redis_config_t redis = s_redis (config);
    maas_err_t why;
    self->watch = maas_registry_watch_open (&redis, config->prefix, &why);
    if (self->watch)
        self->registry = maas_registry_open (&redis, config->prefix, &why);
    if (!self->registry)
        maas_err_export (&why, err, err_size);
    self->resolved = zhashx_new ();
    self->cache = maas_cache_new (config->cache_bytes, s_loaded_free);
    self->batches = zlistx_new ();
    self->results = zlistx_new ();
    self->batch_x = maas_tensor_new (1, 1);
    self->batch_y = maas_tensor_new (1, 1);
    if (!self->registry || !self->resolved || !self->cache || !self->batches || !self->results
        || !self->batch_x || !self->batch_y) {
        if (self->registry)
            snprintf (err, err_size, "engine: out of memory");
        maas_engine_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->batches, s_batch_free);
    zlistx_set_destructor (self->results, s_result_free);
    return self;
}

void
maas_engine_destroy (maas_engine_t **self_p)
{
    assert (self_p);
    maas_engine_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy (&self->batches);
    zlistx_destroy (&self->results);
    maas_cache_destroy (&self->cache);
    zhashx_destroy (&self->resolved);
    maas_registry_watch_destroy (&self->watch);
    maas_registry_destroy (&self->registry);
    maas_tensor_destroy (&self->batch_x);
    maas_tensor_destroy (&self->batch_y);
    free (self);
    *self_p = NULL;
}

//  -- announcements and resolution

//  Forget every resolution of model NAME ("NAME@...").
static void
s_forget (maas_engine_t *self, const char *name)
{
    zlistx_t *keys = zhashx_keys (self->resolved);
    size_t len = strlen (name);
    for (const char *key = zlistx_first (keys); key; key = zlistx_next (keys))
        if (strncmp (key, name, len) == 0 && key[len] == '@')
            zhashx_delete (self->resolved, key);
    zlistx_destroy (&keys);
}

static void
s_apply (maas_engine_t *self, const maas_registry_event_t *event)
{
    s_forget (self, event->name);
    //  A threshold is read with the version: reload it on its next job.
    if (event->type == MAAS_REGISTRY_EV_DELETE || event->type == MAAS_REGISTRY_EV_THRESHOLD)
        maas_cache_evict (self->cache, event->name, event->version);
    maas_debug ("worker", "registry event type=%d model=%s version=%" PRIu64, event->type,
                event->name, event->version);
}

static void
s_rewatch (maas_engine_t *self)
{
    int64_t now = maas_clock_mono_us ();
    if (now < self->rewatch_at_us)
        return;
    maas_redis_config_t redis = s_redis (&self->config);
    maas_err_t err;
    self->watch = maas_registry_watch_open (&redis, self->config.prefix, &err);
    if (!self->watch) {
        self->rewatch_at_us = now + S_REWATCH_US;
        maas_warn ("worker", "registry subscription failed reason=\"%s\"", err.text);
    }
}

int
maas_engine_sync (maas_engine_t *self)
{
    assert (self);
    if (!self->watch)
        s_rewatch (self);
    int applied = 0;
    maas_registry_event_t event;
    int rc;
    while (self->watch && (rc = maas_registry_watch_next (self->watch, &event, 0)) != 0) {
        if (rc < 0) {
            //  We may have missed announcements: trust no resolution.
            maas_warn ("worker", "registry subscription lost; resolving afresh");
            maas_registry_watch_destroy (&self->watch);
            zhashx_purge (self->resolved);
            break;
        }
        s_apply (self, &event);
        applied++;
    }
    return applied;
}

//  Version of NAME that VERSION / ALIAS ask for, into *OUT. Alias and latest
//  resolutions are remembered until an announcement about NAME arrives (and
//  not at all while the subscription is down).
static int
s_resolve (maas_engine_t *self, const char *name, uint64_t version, const char *alias,
           uint64_t *out, char *err, size_t err_size)
{
    //  Announcements first, also for a numbered version: a threshold set
    //  on it must be read again before this job runs.
    maas_engine_sync (self);
    if (version) {
        *out = version;
        return 0;
    }
    char key[2 * MAAS_REGISTRY_NAME_MAX + 8];
    snprintf (key, sizeof key, "%s@%s", name, alias && *alias ? alias : "latest");
    void *known = zhashx_lookup (self->resolved, key);
    if (known) {
        *out = (uint64_t) (uintptr_t) known;
        return 0;
    }
    if (maas_registry_resolve (self->registry, name, alias, out) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        return -1;
    }
    if (self->watch)
        zhashx_update (self->resolved, key, (void *) (uintptr_t) *out);
    return 0;
}

//  -- the model cache

//  Memory a loaded version holds: its weights and its predictor workspace.
static size_t
s_charge (const maas_mlp_t *mlp)
{
    size_t widest = 0;
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++)
        if (maas_mlp_layer (mlp, i).units > widest)
            widest = maas_mlp_layer (mlp, i).units;
    return 4
        * (maas_mlp_param_count (mlp)
           + (size_t) MAAS_PREDICTOR_BLOCK * (maas_mlp_inputs (mlp) + 2 * widest));
}

static loaded_t *
s_decode (const uint8_t *blob, size_t size, char *err, size_t err_size)
{
    maas_err_t why;
    loaded_t *loaded = calloc (1, sizeof *loaded);
    if (loaded)
        loaded->model = maas_model_decode (blob, size, &why);
    if (loaded && loaded->model) {
        const maas_mlp_t *mlp = maas_model_mlp_const (loaded->model);
        loaded->predictor = maas_predictor_new (mlp);
        loaded->inputs = maas_mlp_inputs (mlp);
        loaded->outputs = maas_mlp_outputs (mlp);
        loaded->task = maas_model_task (loaded->model);
        loaded->classes = maas_model_classes (loaded->model);
        loaded->scale = (float) maas_model_input_scale (loaded->model);
    }
    if (loaded && loaded->predictor)
        return loaded;
    if (loaded && !loaded->model)
        snprintf (err, err_size, "blob does not decode: %.200s", why.text);
    else
        snprintf (err, err_size, "out of memory loading it");
    void *value = loaded;
    s_loaded_free (&value);
    return NULL;
}

//  NAME@VERSION from the cache, loading it from Redis on a miss. NULL with
//  ERR ("model iris@3: stored blob fails its sha256 check ...").
static loaded_t *
s_load (maas_engine_t *self, const char *name, uint64_t version, char *err, size_t err_size)
{
    loaded_t *loaded = maas_cache_get (self->cache, name, version);
    self->counters.cache_hits += loaded != NULL;
    if (loaded)
        return loaded;
    self->counters.cache_misses++;
    int64_t started_us = maas_clock_mono_us ();
    uint8_t *blob;
    size_t size;
    if (maas_registry_fetch (self->registry, name, version, &blob, &size, NULL) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        return NULL;
    }
    char why[256];
    loaded = s_decode (blob, size, why, sizeof why);
    free (blob);
    if (!loaded) {
        snprintf (err, err_size, "model %s@%" PRIu64 ": %s", name, version, why);
        return NULL;
    }
    if (maas_registry_threshold (self->registry, name, version, &loaded->threshold) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        void *value = loaded;
        s_loaded_free (&value);
        return NULL;
    }
    size_t charge = s_charge (maas_model_mlp_const (loaded->model));
    void *value = loaded;
    if (maas_cache_put (self->cache, name, version, &value, charge) != 0) {
        snprintf (err, err_size,
                  "model %s@%" PRIu64 ": needs %zu MB loaded, more than the "
                  "cache holds (--cache-mb %zu)",
                  name, version, (charge + (1 << 20) - 1) >> 20,
                  maas_cache_max_bytes (self->cache) >> 20);
        s_loaded_free (&value);
        return NULL;
    }
    self->loads++;
    self->counters.load_us += (uint64_t) (maas_clock_mono_us () - started_us);
    maas_info ("worker", "loaded model=%s version=%" PRIu64 " bytes=%zu cache_bytes=%zu", name,
               version, charge, maas_cache_bytes (self->cache));
    return loaded;
}

//  -- results

static maas_engine_result_t *
s_result_new (void *tag, const char *name, uint64_t version)
{
    maas_engine_result_t *result = calloc (1, sizeof *result);
    if (!result)
        return NULL;
    result->tag = tag;
    snprintf (result->model, sizeof result->model, "%s", name ? name : "");
    result->version = version;
    return result;
}

void
maas_engine_result_destroy (maas_engine_result_t **result_p)
{
    assert (result_p);
    maas_engine_result_t *result = *result_p;
    if (!result)
        return;
    maas_infer_result_t owned = maas_engine_result_infer (result);
    maas_infer_result_clear (&owned);
    if (result->explain)
        maas_explain_result_clear (result->explain);
    free (result->explain);
    free (result);
    *result_p = NULL;
}

maas_infer_result_t
maas_engine_result_infer (const maas_engine_result_t *result)
{
    maas_infer_result_t view = {.version = result->version,
                                .rows = result->rows,
                                .outputs = result->outputs,
                                .values = result->values,
                                .classes = result->classes,
                                .output = result->output,
                                .class_labels = result->class_labels,
                                .n_class_labels = result->n_class_labels,
                                .top_k = result->top_k,
                                .top_classes = result->top_classes,
                                .top_scores = result->top_scores,
                                .threshold = result->threshold,
                                .batch_rows = result->batch_rows,
                                .batch_jobs = result->batch_jobs,
                                .queue_us = result->queue_us,
                                .compute_us = result->compute_us};
    maas_proto_copy (view.model, sizeof view.model, result->model);
    return view;
}

//  Whether a resolve or load failure (ERROR) may pass on another run or
//  worker. The registry has no error codes, so its messages are read, and
//  only the ones that name what is missing or broken (the same in every
//  worker) count as final: "unknown model ...", "model ... has no ...",
//  "version '...' is not a number", a blob failing its sha256 or decoding.
//  Anything else (Redis unreachable, out of memory, a cache too small for
//  the model) may pass.
static bool
s_retryable (const char *error)
{
    static const char *final[] = {"unknown model ", " has no ", "is not a number", "sha256 check",
                                  "does not decode"};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        if (strstr (error, final[i]))
            return false;
    return true;
}

//  Finish TAG as failed with ERROR; RETRYABLE false when it would fail the
//  same anywhere. The caller logs it when it answers the job (it knows the
//  job's id). Returns the result queued (to add details), NULL if out of
//  memory.
static maas_engine_result_t *
s_fail (maas_engine_t *self, void *tag, const char *name, uint64_t version, const char *error,
        bool retryable)
{
    maas_engine_result_t *result = s_result_new (tag, name, version);
    if (!result) {
        maas_error ("worker", "out of memory reporting a failed job");
        return NULL;
    }
    snprintf (result->error, sizeof result->error, "%s", error);
    result->retryable = retryable;
    zlistx_add_end (self->results, result);
    return result;
}

maas_engine_result_t *
maas_engine_result (maas_engine_t *self)
{
    assert (self);
    void *first = zlistx_first (self->results);
    if (first)
        zlistx_detach_cur (self->results);
    return first;
}

//  -- batching

//  The open batch for NAME@VERSION with room for ROWS more rows, created
//  when there is none. NULL if out of memory.
static batch_t *
s_batch_for (maas_engine_t *self, const char *name, uint64_t version, size_t rows, int64_t now_us)
{
    size_t max = self->config.max_batch_rows;
    for (batch_t *batch = zlistx_first (self->batches); batch && max;
         batch = zlistx_next (self->batches)) {
        if (batch->full || batch->version != version || strcmp (batch->name, name) != 0)
            continue;
        if (batch->rows + rows <= max)
            return batch;
        batch->full = true;    //  the new job would overflow it: let it run
    }
    batch_t *batch = calloc (1, sizeof *batch);
    if (!batch || !zlistx_add_end (self->batches, batch)) {
        free (batch);
        return NULL;
    }
    snprintf (batch->name, sizeof batch->name, "%s", name);
    batch->version = version;
    batch->due_us = now_us + (max ? self->config.batch_delay_us : 0);
    return batch;
}

static int
s_batch_add (maas_engine_t *self, batch_t *batch, void *tag, maas_tensor_t **input_p,
             const maas_infer_params_t *params, int64_t now_us)
{
    if (batch->count == batch->capacity) {
        size_t capacity = batch->capacity ? 2 * batch->capacity : 8;
        job_t *jobs = realloc (batch->jobs, capacity * sizeof *jobs);
        if (!jobs)
            return -1;
        batch->jobs = jobs;
        batch->capacity = capacity;
    }
    batch->jobs[batch->count++] = (job_t){tag, *input_p, now_us, *params};
    batch->rows += (*input_p)->rows;
    *input_p = NULL;
    if (!self->config.max_batch_rows || batch->rows >= self->config.max_batch_rows)
        batch->full = true;
    self->pending++;
    return 0;
}

//  The model a job names, resolved and loaded, its version in *RESOLVED;
//  NULL when the job has failed (its result queued).
static loaded_t *
s_job_model (maas_engine_t *self, void *tag, const char *name, uint64_t version, const char *alias,
             uint64_t *resolved)
{
    char err[MAAS_ENGINE_ERR_SIZE];
    *resolved = 0;
    if (!maas_registry_name_valid (name)) {
        snprintf (err, sizeof err, "model '%.64s': not a valid model name", name ? name : "");
        s_fail (self, tag, name, version, err, false);
        return NULL;
    }
    loaded_t *loaded = NULL;
    if (s_resolve (self, name, version, alias, resolved, err, sizeof err) != 0
        || !(loaded = s_load (self, name, *resolved, err, sizeof err)))
        s_fail (self, tag, name, *resolved, err, s_retryable (err));
    return loaded;
}

//  A job's input rows for LOADED (NAME@RESOLVED), or NULL when the job has
//  failed (its result queued, naming the row at fault).
static maas_tensor_t *
s_job_input (maas_engine_t *self, void *tag, const char *name, uint64_t resolved,
             const loaded_t *loaded, const msgpack_object *params, const void *payload, size_t size)
{
    maas_err_t why;
    maas_tensor_t *input = NULL;
    size_t bad_row;
    size_t max_rows = self->config.max_rows ? self->config.max_rows : MAAS_ENGINE_MAX_ROWS_DEFAULT;
    int rc = maas_input_decode (params, payload, size, loaded->inputs, &input, &bad_row, &why);
    if (rc == 0 && input->rows > max_rows) {
        maas_err_set (&why, MAAS_ERR_INPUT,
                      "the job has %zu rows; this worker takes at most %zu per job (--max-rows): "
                      "split it into smaller jobs (maas score does)",
                      input->rows, max_rows);
        maas_tensor_destroy (&input);
        bad_row = 0;
        rc = -1;
    }
    if (rc != 0) {
        bool retryable = strstr (why.text, "out of memory") != NULL;
        maas_err_prefix (&why, "model %s@%" PRIu64, name, resolved);
        maas_engine_result_t *failed = s_fail (self, tag, name, resolved, why.text, retryable);
        if (failed)
            failed->row = bad_row;
    }
    return input;
}

//  Multiply INPUT by the model's declared input scale (docs/models.md,
//  "Pre-processing"), before the network and its standardisation.
static void
s_scale (const loaded_t *loaded, maas_tensor_t *input)
{
    size_t n = maas_tensor_size (input);
    for (size_t i = 0; loaded->scale != 1.0f && i < n; i++)
        input->data[i] *= loaded->scale;
}

//  Why PARAMS' post-processing does not fit LOADED (-1 and ERR), or 0.
static int
s_post_check (const loaded_t *loaded, const maas_infer_params_t *params, maas_err_t *err)
{
    bool asked = params->output == MAAS_INFER_CLASS || params->top_k;
    if (asked && loaded->classes == 0) {
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "params: output 'class' and top_k need a classifier (sigmoid or "
                             "softmax output); the model is a regression");
    }
    if (params->top_k > loaded->classes && asked) {
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "params: top_k %zu is more than the model's %zu classes",
                             params->top_k, loaded->classes);
    }
    return 0;
}

void
maas_engine_submit (maas_engine_t *self, void *tag, const char *name, uint64_t version,
                    const char *alias, const void *payload, size_t size,
                    const msgpack_object *params, int64_t now_us)
{
    assert (self);
    uint64_t resolved;
    loaded_t *loaded = s_job_model (self, tag, name, version, alias, &resolved);
    maas_tensor_t *input =
        loaded ? s_job_input (self, tag, name, resolved, loaded, params, payload, size) : NULL;
    if (!input)
        return;
    //  The input decoder accepted the params, so this decode succeeds.
    maas_infer_params_t post;
    maas_err_t why;
    if (maas_infer_params_decode (&post, params, &why) != 0
        || s_post_check (loaded, &post, &why) != 0) {
        maas_err_prefix (&why, "model %s@%" PRIu64, name, resolved);
        s_fail (self, tag, name, resolved, why.text, false);
        maas_tensor_destroy (&input);
        return;
    }
    s_scale (loaded, input);
    batch_t *batch = s_batch_for (self, name, resolved, input->rows, now_us);
    if (!batch || s_batch_add (self, batch, tag, &input, &post, now_us) != 0) {
        maas_tensor_destroy (&input);
        s_fail (self, tag, name, resolved, "worker out of memory", true);
    }
}

//  Explanations of INPUT's rows under LOADED as TAG's result; the job fails
//  (not retryable: the same anywhere) when its params do not fit the model.
static void
s_explain (maas_engine_t *self, void *tag, const char *name, uint64_t resolved,
           const loaded_t *loaded, const msgpack_object *params, const maas_tensor_t *input)
{
    maas_err_t why = {0};
    maas_explain_params_t spec = maas_explain_params_defaults ();
    maas_explain_result_t *explain = calloc (1, sizeof *explain);
    int rc = explain ? maas_explain_params_decode (&spec, params, &why) : -1;
    //  The input is scaled already; a given baseline is in the same raw
    //  units, so it is scaled too (attributions do not change with it).
    for (size_t j = 0; rc == 0 && spec.baseline && j < spec.baseline_len; j++)
        spec.baseline[j] *= loaded->scale;
    if (rc == 0)
        rc = maas_explain_run (maas_model_mlp_const (loaded->model), &spec, input->data,
                               input->rows, explain, &why);
    maas_explain_params_clear (&spec);
    maas_engine_result_t *result = rc == 0 ? s_result_new (tag, name, resolved) : NULL;
    if (!result) {
        bool retryable = strstr (why.text, "out of memory") != NULL;
        maas_err_prefix (&why, "model %s@%" PRIu64, name, resolved);
        s_fail (self, tag, name, resolved, why.text, retryable);
        if (explain)
            maas_explain_result_clear (explain);
        free (explain);
        return;
    }
    maas_proto_copy (explain->model, sizeof explain->model, name);
    explain->version = resolved;
    for (size_t j = 0; loaded->scale != 1.0f && j < explain->inputs; j++)
        explain->baseline[j] /= loaded->scale;    //  reported in the caller's units
    result->explain = explain;
    result->ok = true;
    result->rows = input->rows;
    result->outputs = explain->outputs;
    result->compute_us = explain->compute_us;
    zlistx_add_end (self->results, result);
}

void
maas_engine_explain (maas_engine_t *self, void *tag, const char *name, uint64_t version,
                     const char *alias, const void *payload, size_t size,
                     const msgpack_object *params)
{
    assert (self);
    uint64_t resolved;
    loaded_t *loaded = s_job_model (self, tag, name, version, alias, &resolved);
    maas_tensor_t *input =
        loaded ? s_job_input (self, tag, name, resolved, loaded, NULL, payload, size) : NULL;
    if (input) {
        s_scale (loaded, input);
        s_explain (self, tag, name, resolved, loaded, params, input);
    }
    maas_tensor_destroy (&input);
}

//  The decision threshold of a single sigmoid output: the registry's, else 0.5.
static double
s_threshold (const loaded_t *loaded)
{
    return loaded->threshold > 0 ? loaded->threshold : 0.5;
}

//  Predicted class of each row: argmax for softmax outputs, p >= the
//  threshold for a single sigmoid output, the argmax for several sigmoid
//  outputs.
static int32_t *
s_classes (const loaded_t *loaded, const float *y, size_t rows)
{
    if (loaded->task == MAAS_TASK_REGRESSION)
        return NULL;
    int32_t *classes = malloc ((rows ? rows : 1) * sizeof *classes);
    float threshold = (float) s_threshold (loaded);
    for (size_t r = 0; classes && r < rows; r++) {
        const float *row = y + r * loaded->outputs;
        if (loaded->outputs == 1) {
            classes[r] = row[0] >= threshold;
            continue;
        }
        size_t best = 0;
        for (size_t k = 1; k < loaded->outputs; k++)
            if (row[k] > row[best])
                best = k;
        classes[r] = (int32_t) best;
    }
    return classes;
}

//  Forward pass of ROWS rows of X into Y in blocks of tick_rows, calling
//  the tick between blocks so heartbeats flow during long batches.
static int
s_forward (maas_engine_t *self, loaded_t *loaded, const float *x, size_t rows, float *y)
{
    size_t step = self->config.tick_rows && self->config.tick ? self->config.tick_rows : rows;
    for (size_t done = 0; done < rows; done += step) {
        size_t n = rows - done < step ? rows - done : step;
        if (maas_predictor_run (loaded->predictor, x + done * loaded->inputs, n,
                                y + done * loaded->outputs)
            != 0)
            return -1;
        if (done + n < rows)
            self->config.tick (self->config.tick_arg);
    }
    return 0;
}

//  Inputs of BATCH as one matrix: the job's own tensor when it is alone,
//  else the rows copied into batch_x. NULL if out of memory.
static const float *
s_gather (maas_engine_t *self, const batch_t *batch, size_t inputs)
{
    if (batch->count == 1)
        return batch->jobs[0].input->data;
    if (maas_tensor_reshape (self->batch_x, batch->rows, inputs) != 0)
        return NULL;
    float *at = self->batch_x->data;
    for (size_t i = 0; i < batch->count; i++) {
        size_t n = maas_tensor_size (batch->jobs[i].input);
        memcpy (at, batch->jobs[i].input->data, n * sizeof *at);
        at += n;
    }
    return self->batch_x->data;
}

//  The K most probable classes of each of ROWS rows of Y into RESULT, with
//  their probabilities (1 - p and p for a single sigmoid output). Ties
//  keep the lower class first. -1 if out of memory.
static int
s_top_k (const loaded_t *loaded, const float *y, size_t rows, size_t k,
         maas_engine_result_t *result)
{
    result->top_classes = malloc (rows * k * sizeof *result->top_classes);
    result->top_scores = malloc (rows * k * sizeof *result->top_scores);
    if (!result->top_classes || !result->top_scores)
        return -1;
    result->top_k = k;
    for (size_t r = 0; r < rows; r++) {
        const float *row = y + r * loaded->outputs;
        int32_t *classes = result->top_classes + r * k;
        float *scores = result->top_scores + r * k;
        for (size_t i = 0; i < k; i++) {
            //  Selection: k is small next to the classes in practice.
            int32_t best = -1;
            float best_p = 0;
            for (size_t c = 0; c < loaded->classes; c++) {
                float p = loaded->outputs == 1 ? (c ? row[0] : 1.0f - row[0]) : row[c];
                bool taken = false;
                for (size_t j = 0; j < i && !taken; j++)
                    taken = classes[j] == (int32_t) c;
                if (!taken && (best < 0 || p > best_p)) {
                    best = (int32_t) c;
                    best_p = p;
                }
            }
            classes[i] = best;
            scores[i] = best_p;
        }
    }
    return 0;
}

//  The model's class labels, copied into RESULT. -1 if out of memory.
static int
s_class_labels (const loaded_t *loaded, maas_engine_result_t *result)
{
    result->class_labels = calloc (loaded->classes, sizeof *result->class_labels);
    if (!result->class_labels)
        return -1;
    result->n_class_labels = loaded->classes;
    char buf[24];
    for (size_t k = 0; k < loaded->classes; k++)
        if (!(result->class_labels[k] = strdup (maas_model_label (loaded->model, k, buf))))
            return -1;
    return 0;
}

//  What JOB asked for besides the outputs: the threshold that ran, the
//  class labels, the top K. -1 if out of memory.
static int
s_post (const loaded_t *loaded, const job_t *job, const float *y, maas_engine_result_t *result)
{
    if (loaded->task == MAAS_TASK_BINARY && loaded->outputs == 1)
        result->threshold = s_threshold (loaded);
    result->output = job->params.output;
    bool asked = job->params.output == MAAS_INFER_CLASS || job->params.top_k;
    if (asked && s_class_labels (loaded, result) != 0)
        return -1;
    if (job->params.top_k && s_top_k (loaded, y, job->input->rows, job->params.top_k, result) != 0)
        return -1;
    return 0;
}

//  One job's share of the batch outputs Y as its result.
static void
s_split_one (maas_engine_t *self, const batch_t *batch, const job_t *job, const loaded_t *loaded,
             const float *y, int64_t started_us, int64_t compute_us)
{
    maas_engine_result_t *result = s_result_new (job->tag, batch->name, batch->version);
    size_t n = job->input->rows * loaded->outputs;
    if (result)
        result->values = malloc (n * sizeof *result->values);
    if (!result || !result->values) {
        maas_engine_result_destroy (&result);
        s_fail (self, job->tag, batch->name, batch->version, "worker out of memory", true);
        return;
    }
    memcpy (result->values, y, n * sizeof *y);
    result->classes = s_classes (loaded, y, job->input->rows);
    if ((!result->classes && loaded->classes) || s_post (loaded, job, y, result) != 0) {
        maas_engine_result_destroy (&result);
        s_fail (self, job->tag, batch->name, batch->version, "worker out of memory", true);
        return;
    }
    result->ok = true;
    result->rows = job->input->rows;
    result->outputs = loaded->outputs;
    result->batch_rows = batch->rows;
    result->batch_jobs = batch->count;
    result->queue_us = started_us - job->submitted_us;
    result->compute_us = compute_us;
    zlistx_add_end (self->results, result);
}

static void
s_fail_batch (maas_engine_t *self, const batch_t *batch, const char *error, bool retryable)
{
    for (size_t i = 0; i < batch->count; i++)
        s_fail (self, batch->jobs[i].tag, batch->name, batch->version, error, retryable);
}

//  Run BATCH as one forward pass and split the outputs back per job.
static void
s_run_batch (maas_engine_t *self, batch_t *batch)
{
    int64_t started = maas_clock_mono_us ();
    char err[MAAS_ENGINE_ERR_SIZE];
    //  Loaded again: a later job's load may have evicted it from the cache.
    loaded_t *loaded = s_load (self, batch->name, batch->version, err, sizeof err);
    if (!loaded) {
        s_fail_batch (self, batch, err, s_retryable (err));
        return;
    }
    const float *x = s_gather (self, batch, loaded->inputs);
    if (!x || maas_tensor_reshape (self->batch_y, batch->rows, loaded->outputs) != 0) {
        s_fail_batch (self, batch, "worker out of memory for the batch", true);
        return;
    }
    if (s_forward (self, loaded, x, batch->rows, self->batch_y->data) != 0) {
        snprintf (err, sizeof err, "model %s@%" PRIu64 ": %s", batch->name, batch->version,
                  maas_predictor_error (loaded->predictor));
        s_fail_batch (self, batch, err, true);
        return;
    }
    int64_t compute = maas_clock_mono_us () - started;
    self->counters.batches++;
    self->counters.batch_rows += batch->rows;
    const float *y = self->batch_y->data;
    for (size_t i = 0; i < batch->count; i++) {
        s_split_one (self, batch, &batch->jobs[i], loaded, y, started, compute);
        y += batch->jobs[i].input->rows * loaded->outputs;
    }
    maas_debug ("worker",
                "batch model=%s version=%" PRIu64 " jobs=%zu rows=%zu compute_us=%" PRId64,
                batch->name, batch->version, batch->count, batch->rows, compute);
}

int
maas_engine_run (maas_engine_t *self, int64_t now_us, bool flush)
{
    assert (self);
    int ran = 0;
    batch_t *batch = zlistx_first (self->batches);
    while (batch) {
        if (!(flush || batch->full || batch->due_us <= now_us)) {
            batch = zlistx_next (self->batches);
            continue;
        }
        s_run_batch (self, batch);
        self->pending -= batch->count;
        zlistx_delete (self->batches, zlistx_cursor (self->batches));
        ran++;
        batch = zlistx_first (self->batches);
    }
    return ran;
}

int64_t
maas_engine_next_due (const maas_engine_t *self)
{
    assert (self);
    int64_t due = -1;
    for (batch_t *batch = zlistx_first (self->batches); batch;
         batch = zlistx_next (self->batches)) {
        int64_t at = batch->full ? 0 : batch->due_us;
        if (due < 0 || at < due)
            due = at;
    }
    return due;
}

size_t
maas_engine_pending (const maas_engine_t *self)
{
    return self->pending;
}
char *
maas_engine_cached (const maas_engine_t *self)
{
    return maas_cache_list (self->cache);
}
size_t
maas_engine_cache_bytes (const maas_engine_t *self)
{
    return maas_cache_bytes (self->cache);
}
size_t
maas_engine_cache_count (const maas_engine_t *self)
{
    return maas_cache_count (self->cache);
}
uint64_t
maas_engine_loads (const maas_engine_t *self)
{
    return self->loads;
}
uint64_t
maas_engine_cache_evictions (const maas_engine_t *self)
{
    return maas_cache_evictions (self->cache);
}
const maas_engine_counters_t *
maas_engine_counters (const maas_engine_t *self)
{
    return &self->counters;
}
