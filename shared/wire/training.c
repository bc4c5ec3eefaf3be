/*  training.c: train job specs: defaults, the "64:relu,1:sigmoid" layer
 *  syntax, msgpack params in and out, and the checks made before training. */
#include "training.h"
#include "dataset_store.h"
#include "protocol.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
maas_training_init (maas_training_t *spec)
{
    memset (spec, 0, sizeof *spec);
    spec->train = maas_train_defaults ();
    spec->train.val_fraction = 0.2;
    spec->train.standardize = true;
    spec->input_scale = 1;
}

static const char s_activations[] = "linear, relu, tanh, sigmoid, softmax";
static const char s_losses[] = "bce, softmax_ce, mse";
static const char s_optimizers[] = "sgd, momentum, nesterov, adagrad, rmsprop, adam";

//  Parse one "units:activation" of LEN bytes as layer INDEX (0-based).
static int
s_parse_layer (maas_layer_spec_t *layer, const char *text, size_t len, size_t index,
               maas_err_t *err)
{
    char item[64];
    if (len == 0 || len >= sizeof item)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "layer %zu: expected units:activation, got '%.*s'", index + 1,
                             (int) (len < 40 ? len : 40), text);
    memcpy (item, text, len);
    item[len] = '\0';
    char *colon = strchr (item, ':'), *end;
    if (!colon)
        return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: expected units:activation, got '%s'",
                             index + 1, item);
    *colon = '\0';
    errno = 0;
    unsigned long units = strtoul (item, &end, 10);
    if (*end || end == item || errno || units == 0 || units > MAAS_MLP_MAX_UNITS)
        return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: units must be 1..%d, got '%s'",
                             index + 1, MAAS_MLP_MAX_UNITS, item);
    int act = maas_act_parse (colon + 1);
    if (act < 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: unknown activation '%s' (%s)",
                             index + 1, colon + 1, s_activations);
    *layer = (maas_layer_spec_t){.units = units, .act = (maas_act_t) act};
    return 0;
}

int
maas_training_parse_layers (maas_training_t *spec, const char *text, maas_err_t *err)
{
    size_t count = 0;
    const char *at = text;
    while (true) {
        const char *comma = strchr (at, ',');
        size_t len = comma ? (size_t) (comma - at) : strlen (at);
        if (count == MAAS_MLP_MAX_LAYERS)
            return maas_err_set (err, MAAS_ERR_INPUT, "at most %d layers", MAAS_MLP_MAX_LAYERS);
        if (s_parse_layer (&spec->layers[count], at, len, count, err) != 0)
            return -1;
        count++;
        if (!comma)
            break;
        at = comma + 1;
    }
    spec->n_layers = count;
    return 0;
}

int
maas_training_set_optimizer (maas_training_t *spec, const char *name, maas_err_t *err)
{
    int kind = maas_optim_parse (name);
    if (kind < 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "unknown optimizer '%s' (%s)", name,
                             s_optimizers);
    spec->train.optim = maas_optim_defaults ((maas_optim_kind_t) kind);
    return 0;
}

int
maas_training_check (const maas_training_t *spec, maas_err_t *err)
{
    const maas_train_config_t *t = &spec->train;
    if (!*spec->model)
        return maas_err_set (err, MAAS_ERR_INPUT, "no model name to publish");
    if (*spec->dataset && !maas_dataset_name_valid (spec->dataset))
        return maas_err_set (err, MAAS_ERR_INPUT, "data set name '%s' is not valid", spec->dataset);
    if (spec->n_layers == 0 || spec->n_layers > MAAS_MLP_MAX_LAYERS)
        return maas_err_set (err, MAAS_ERR_INPUT, "layers: need 1..%d layers, got %zu",
                             MAAS_MLP_MAX_LAYERS, spec->n_layers);
    for (size_t i = 0; i < spec->n_layers; i++)
        if (spec->layers[i].units == 0 || spec->layers[i].units > MAAS_MLP_MAX_UNITS
            || spec->layers[i].act >= MAAS_ACT_COUNT)
            return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: units must be 1..%d", i + 1,
                                 MAAS_MLP_MAX_UNITS);
    maas_act_t last = spec->layers[spec->n_layers - 1].act;
    if (t->loss >= MAAS_LOSS_COUNT)
        return maas_err_set (err, MAAS_ERR_INPUT, "unknown loss");
    if (!maas_loss_fits (t->loss, last))
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "loss %s does not fit a %s output layer (bce: sigmoid, "
                             "softmax_ce: softmax, mse: any but softmax)",
                             maas_loss_name (t->loss), maas_act_name (last));
    if (maas_optim_check (&t->optim, err) != 0)
        return -1;
    if (t->batch_size == 0 || t->batch_size > MAAS_TRAIN_MAX_BATCH)
        return maas_err_set (err, MAAS_ERR_INPUT, "batch size must be 1..%d, got %zu",
                             MAAS_TRAIN_MAX_BATCH, t->batch_size);
    if (t->epochs == 0 || t->epochs > MAAS_TRAINING_MAX_EPOCHS)
        return maas_err_set (err, MAAS_ERR_INPUT, "epochs must be 1..%d, got %zu",
                             MAAS_TRAINING_MAX_EPOCHS, t->epochs);
    if (!(t->val_fraction >= 0 && t->val_fraction <= 0.9))
        return maas_err_set (err, MAAS_ERR_INPUT, "validation split must be 0..0.9, got %g",
                             t->val_fraction);
    if (t->patience && t->val_fraction == 0)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "early stopping (patience %zu) needs a validation split", t->patience);
    if (!(spec->input_scale >= 1e-30 && spec->input_scale <= 1e30))
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "input scale must be a number from 1e-30 to 1e30, got %g",
                             spec->input_scale);
    return 0;
}

int
maas_training_check_data (const maas_training_t *spec, size_t cols, maas_dataset_task_t task,
                          size_t classes, maas_err_t *err)
{
    const char *data = *spec->dataset ? spec->dataset : "inline";
    size_t units = spec->layers[spec->n_layers - 1].units;
    maas_loss_t loss = spec->train.loss;
    if (cols == 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "data set '%s' has no features", data);
    if (loss == MAAS_LOSS_SOFTMAX_CE && task == MAAS_DATASET_REGRESSION)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "loss softmax_ce needs class labels, data set '%s' is "
                             "regression",
                             data);
    if (loss == MAAS_LOSS_SOFTMAX_CE && units != classes)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "data set '%s' has %zu classes but the output layer has "
                             "%zu units",
                             data, classes, units);
    if (loss == MAAS_LOSS_BCE && task != MAAS_DATASET_BINARY)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "loss bce needs binary labels, data set '%s' is %s (use "
                             "%s)",
                             data, maas_dataset_task_name (task),
                             task == MAAS_DATASET_MULTICLASS ? "softmax_ce" : "mse");
    if (loss != MAAS_LOSS_SOFTMAX_CE && units != 1)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "loss %s with one label per row needs 1 output unit, "
                             "the output layer has %zu",
                             maas_loss_name (loss), units);
    return 0;
}

//  -- msgpack

int
maas_training_pack (const maas_training_t *spec, msgpack_packer *pk)
{
    const maas_train_config_t *t = &spec->train;
    const maas_optim_config_t *o = &t->optim;
    bool dataset = *spec->dataset, description = *spec->description;
    //  Only when off: a trainer older than the key refuses keys it does
    //  not know, and a spec at the default needs no key to say so.
    bool raw_target = !t->standardize_target, scaled = spec->input_scale != 1;
    int rc = msgpack_pack_map (pk, 17 + dataset + description + raw_target + scaled);
    if (scaled)    //  only when set, as standardize_target
        rc |= maas_codec_pack_kv_double (pk, "input_scale", spec->input_scale);
    if (dataset)
        rc |= maas_codec_pack_kv_str (pk, "dataset", spec->dataset);
    if (raw_target)
        rc |= maas_codec_pack_kv_bool (pk, "standardize_target", false);
    if (description)
        rc |= maas_codec_pack_kv_str (pk, "description", spec->description);
    rc |= maas_codec_pack_str (pk, "layers") | msgpack_pack_array (pk, spec->n_layers);
    for (size_t i = 0; i < spec->n_layers; i++)
        rc |= msgpack_pack_map (pk, 2)
            | maas_codec_pack_kv_uint (pk, "units", spec->layers[i].units)
            | maas_codec_pack_kv_str (pk, "activation", maas_act_name (spec->layers[i].act));
    rc |= maas_codec_pack_kv_str (pk, "loss", maas_loss_name (t->loss))
        | maas_codec_pack_kv_str (pk, "optimizer", maas_optim_name (o->kind))
        | maas_codec_pack_kv_double (pk, "lr", o->lr)
        | maas_codec_pack_kv_double (pk, "momentum", o->momentum)
        | maas_codec_pack_kv_double (pk, "beta1", o->beta1)
        | maas_codec_pack_kv_double (pk, "beta2", o->beta2)
        | maas_codec_pack_kv_double (pk, "rho", o->rho)
        | maas_codec_pack_kv_double (pk, "eps", o->eps)
        | maas_codec_pack_kv_double (pk, "weight_decay", o->weight_decay)
        | maas_codec_pack_kv_uint (pk, "epochs", t->epochs)
        | maas_codec_pack_kv_uint (pk, "batch_size", t->batch_size)
        | maas_codec_pack_kv_double (pk, "val_split", t->val_fraction)
        | maas_codec_pack_kv_uint (pk, "patience", t->patience)
        | maas_codec_pack_kv_bool (pk, "restore_best", t->restore_best)
        | maas_codec_pack_kv_bool (pk, "standardize", t->standardize)
        | maas_codec_pack_kv_uint (pk, "seed", t->seed);
    return rc ? -1 : 0;
}

//  Read "layers": an array of {"units": n, "activation": name} maps.
static int
s_decode_layers (maas_training_t *spec, maas_codec_map_t *map, maas_err_t *err)
{
    const msgpack_object *layers = maas_codec_map_find (map, "layers");
    if (!layers)
        return maas_err_set (err, MAAS_ERR_INPUT, "train spec: missing key 'layers'");
    if (layers->type != MSGPACK_OBJECT_ARRAY || layers->via.array.size == 0
        || layers->via.array.size > MAAS_MLP_MAX_LAYERS)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "train spec: 'layers' must be an array of 1..%d layers",
                             MAAS_MLP_MAX_LAYERS);
    spec->n_layers = layers->via.array.size;
    for (size_t i = 0; i < spec->n_layers; i++) {
        maas_codec_map_t layer;
        char what[32], act[32];
        uint64_t units;
        snprintf (what, sizeof what, "layer %zu", i + 1);
        if (maas_codec_map_init (&layer, &layers->via.array.ptr[i], what) != 0
            || maas_codec_map_uint64 (&layer, "units", &units) != 0
            || maas_codec_map_str_copy (&layer, "activation", act, sizeof act) != 0)
            return maas_err_copy (err, &layer.err);
        if (units == 0 || units > MAAS_MLP_MAX_UNITS)
            return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: units must be 1..%d, got %llu",
                                 i + 1, MAAS_MLP_MAX_UNITS, (unsigned long long) units);
        int parsed = maas_act_parse (act);
        if (parsed < 0)
            return maas_err_set (err, MAAS_ERR_INPUT, "layer %zu: unknown activation '%s' (%s)",
                                 i + 1, act, s_activations);
        spec->layers[i] = (maas_layer_spec_t){.units = units, .act = (maas_act_t) parsed};
    }
    return 0;
}

//  Read optional key KEY as a double into *OUT (as float if FLOAT_OUT).
static int
s_opt_double (maas_codec_map_t *map, const char *key, double *out)
{
    return maas_codec_map_find (map, key) ? maas_codec_map_double (map, key, out) : 0;
}

static int
s_opt_float (maas_codec_map_t *map, const char *key, float *out)
{
    double value = *out;
    if (s_opt_double (map, key, &value) != 0)
        return -1;
    *out = (float) value;
    return 0;
}

static int
s_opt_size (maas_codec_map_t *map, const char *key, size_t *out)
{
    uint64_t value = *out;
    if (maas_codec_map_find (map, key) && maas_codec_map_uint64 (map, key, &value) != 0)
        return -1;
    *out = value > SIZE_MAX ? SIZE_MAX : (size_t) value;
    return 0;
}

static int
s_opt_bool (maas_codec_map_t *map, const char *key, bool *out)
{
    return maas_codec_map_find (map, key) ? maas_codec_map_bool (map, key, out) : 0;
}

//  Loss and optimizer names, then the optimizer's parameters over its defaults.
static int
s_decode_names (maas_training_t *spec, maas_codec_map_t *map, maas_err_t *err)
{
    char name[32] = "";
    maas_train_config_t *t = &spec->train;
    if (maas_codec_map_find (map, "loss")) {
        if (maas_codec_map_str_copy (map, "loss", name, sizeof name) != 0)
            return maas_err_copy (err, &map->err);
        int loss = maas_loss_parse (name);
        if (loss < 0)
            return maas_err_set (err, MAAS_ERR_INPUT, "unknown loss '%s' (%s)", name, s_losses);
        t->loss = (maas_loss_t) loss;
    }
    if (maas_codec_map_find (map, "optimizer")) {
        if (maas_codec_map_str_copy (map, "optimizer", name, sizeof name) != 0)
            return maas_err_copy (err, &map->err);
        if (maas_training_set_optimizer (spec, name, err) != 0)
            return -1;
    }
    maas_optim_config_t *o = &t->optim;
    if (s_opt_float (map, "lr", &o->lr) || s_opt_float (map, "momentum", &o->momentum)
        || s_opt_float (map, "beta1", &o->beta1) || s_opt_float (map, "beta2", &o->beta2)
        || s_opt_float (map, "rho", &o->rho) || s_opt_float (map, "eps", &o->eps)
        || s_opt_float (map, "weight_decay", &o->weight_decay))
        return maas_err_copy (err, &map->err);
    return 0;
}

static const char *s_keys[] = {"dataset",      "description", "layers",    "loss",
                               "optimizer",    "lr",          "momentum",  "beta1",
                               "beta2",        "rho",         "eps",       "weight_decay",
                               "epochs",       "batch_size",  "val_split", "patience",
                               "restore_best", "standardize", "seed",      "standardize_target",
                               "input_scale"};

//  -1 with ERR naming the first key this version does not know.
static int
s_unknown_keys (const msgpack_object *params, maas_err_t *err)
{
    for (uint32_t i = 0; i < params->via.map.size; i++) {
        const msgpack_object *key = &params->via.map.ptr[i].key;
        bool known = false;
        for (size_t k = 0; k < sizeof s_keys / sizeof s_keys[0] && !known; k++)
            known = key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen (s_keys[k])
                && memcmp (key->via.str.ptr, s_keys[k], key->via.str.size) == 0;
        if (!known)
            return maas_err_set (err, MAAS_ERR_INPUT, "train spec: unknown key '%.*s'",
                                 key->type == MSGPACK_OBJECT_STR
                                     ? (int) (key->via.str.size < 40 ? key->via.str.size : 40)
                                     : 1,
                                 key->type == MSGPACK_OBJECT_STR ? key->via.str.ptr : "?");
    }
    return 0;
}

int
maas_training_decode (maas_training_t *spec, const msgpack_object *params, const char *model,
                      maas_err_t *err)
{
    maas_training_init (spec);
    maas_codec_map_t map;
    if (!params)
        return maas_err_set (err, MAAS_ERR_INPUT, "train spec: the job has no params");
    if (maas_codec_map_init (&map, params, "train spec") != 0)
        return maas_err_copy (err, &map.err);
    if (s_unknown_keys (params, err) != 0)
        return -1;
    if (!model || strlen (model) > MAAS_TRAINING_NAME_MAX)
        return maas_err_set (err, MAAS_ERR_INPUT, "model name missing or longer than %d characters",
                             MAAS_TRAINING_NAME_MAX);
    snprintf (spec->model, sizeof spec->model, "%s", model);
    maas_train_config_t *t = &spec->train;
    if ((maas_codec_map_find (&map, "dataset")
         && maas_codec_map_str_copy (&map, "dataset", spec->dataset, sizeof spec->dataset))
        || (maas_codec_map_find (&map, "description")
            && maas_codec_map_str_copy (&map, "description", spec->description,
                                        sizeof spec->description))
        || s_opt_size (&map, "epochs", &t->epochs)
        || s_opt_size (&map, "batch_size", &t->batch_size)
        || s_opt_size (&map, "patience", &t->patience)
        || s_opt_double (&map, "val_split", &t->val_fraction)
        || s_opt_bool (&map, "restore_best", &t->restore_best)
        || s_opt_bool (&map, "standardize", &t->standardize)
        || s_opt_bool (&map, "standardize_target", &t->standardize_target)
        || s_opt_double (&map, "input_scale", &spec->input_scale)
        || (maas_codec_map_find (&map, "seed") && maas_codec_map_uint64 (&map, "seed", &t->seed)))
        return maas_err_copy (err, &map.err);
    if (s_decode_layers (spec, &map, err) != 0 || s_decode_names (spec, &map, err) != 0)
        return -1;
    return maas_training_check (spec, err);
}

//  -- inline data

int
maas_training_pack_data (const maas_dataset_t *dataset, msgpack_packer *pk)
{
    int rc = msgpack_pack_map (pk, 3)
        | maas_codec_pack_kv_tensor (pk, "features", maas_dataset_features (dataset))
        | maas_codec_pack_kv_tensor (pk, "labels", maas_dataset_labels (dataset))
        | maas_codec_pack_kv_str (pk, "task", maas_dataset_task_name (maas_dataset_task (dataset)));
    return rc ? -1 : 0;
}

maas_dataset_t *
maas_training_decode_data (const void *data, size_t size, maas_err_t *err)
{
    msgpack_unpacked message;
    msgpack_unpacked_init (&message);
    maas_tensor_t *features = NULL, *labels = NULL;
    maas_dataset_t *dataset = NULL;
    maas_codec_map_t map;
    char task_name[32] = "auto";
    maas_err_t why;
    if (maas_codec_unpack (data, size, MAAS_TRAINING_INLINE_MAX, &message, &why) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "inline data: %s", why.text);
        goto done;
    }
    if (maas_codec_map_init (&map, &message.data, "inline data") != 0
        || maas_codec_map_tensor (&map, "features", &features) != 0
        || maas_codec_map_tensor (&map, "labels", &labels) != 0
        || (maas_codec_map_find (&map, "task")
            && maas_codec_map_str_copy (&map, "task", task_name, sizeof task_name) != 0)) {
        maas_err_copy (err, &map.err);
        goto done;
    }
    int task = maas_dataset_task_parse (task_name);
    if (task < 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "inline data: unknown task '%s'", task_name);
        goto done;
    }
    dataset = maas_dataset_new (&features, &labels, NULL, NULL, (maas_dataset_task_t) task, &why);
    if (!dataset)
        maas_err_set (err, MAAS_ERR_INPUT, "inline data: %s", why.text);
done:
    maas_tensor_destroy (&features);
    maas_tensor_destroy (&labels);
    msgpack_unpacked_destroy (&message);
    return dataset;
}

//  -- the result

int
maas_training_result_pack (const maas_training_result_t *result, msgpack_packer *pk)
{
    const maas_training_metrics_t *m = &result->metrics;
    bool has_val = !isnan (m->val_loss), regression = !isnan (m->rmse);
    int rc = msgpack_pack_map (pk, 8) | maas_codec_pack_kv_str (pk, "model", result->model)
        | maas_codec_pack_kv_uint (pk, "version", result->version)
        | maas_codec_pack_kv_bool (pk, "created", result->created)
        | maas_codec_pack_kv_str (pk, "outcome", result->outcome)
        | maas_codec_pack_kv_uint (pk, "epochs", result->epochs)
        | maas_codec_pack_kv_double (pk, "train_seconds", result->train_seconds)
        | maas_codec_pack_kv_str (pk, "dataset_sha256", result->dataset_sha256)
        | maas_codec_pack_str (pk, "metrics") | msgpack_pack_map (pk, 3 + has_val)
        | maas_codec_pack_kv_double (pk, regression ? "rmse" : "accuracy",
                                     regression ? m->rmse : m->accuracy)
        | maas_codec_pack_kv_double (pk, "train_loss", m->train_loss)
        | maas_codec_pack_kv_double (pk, "samples_per_s", m->samples_per_s);
    if (has_val)
        rc |= maas_codec_pack_kv_double (pk, "val_loss", m->val_loss);
    return rc ? -1 : 0;
}

//  The "metrics" map into M; -1 with MAP->err.
static int
s_result_metrics (maas_codec_map_t *map, maas_training_metrics_t *m)
{
    *m = (maas_training_metrics_t){NAN, NAN, NAN, NAN, NAN};
    bool accuracy = maas_codec_map_find (map, "accuracy") != NULL;
    if (accuracy == (maas_codec_map_find (map, "rmse") != NULL)) {
        maas_err_set (&map->err, MAAS_ERR_INPUT, "%s: needs one of 'accuracy' and 'rmse'",
                      map->what);
        return -1;
    }
    if (maas_codec_map_double (map, accuracy ? "accuracy" : "rmse",
                               accuracy ? &m->accuracy : &m->rmse)
        || maas_codec_map_double (map, "train_loss", &m->train_loss)
        || maas_codec_map_double (map, "samples_per_s", &m->samples_per_s)
        || (maas_codec_map_find (map, "val_loss")
            && maas_codec_map_double (map, "val_loss", &m->val_loss)))
        return -1;
    return 0;
}

//  Every key of a result map into RESULT; -1 with MAP->err (or INNER's).
static int
s_result_keys (maas_codec_map_t *map, maas_training_result_t *result)
{
    maas_codec_map_t inner;
    if (maas_codec_map_str_copy (map, "model", result->model, sizeof result->model)
        || maas_codec_map_uint64 (map, "version", &result->version)
        || maas_codec_map_bool (map, "created", &result->created)
        || maas_codec_map_str_copy (map, "outcome", result->outcome, sizeof result->outcome)
        || maas_codec_map_uint64 (map, "epochs", &result->epochs)
        || maas_codec_map_double (map, "train_seconds", &result->train_seconds)
        || maas_codec_map_str_copy (map, "dataset_sha256", result->dataset_sha256,
                                    sizeof result->dataset_sha256)
        || maas_codec_map_map (map, "metrics", &inner))
        return -1;
    if (s_result_metrics (&inner, &result->metrics) != 0) {
        maas_err_copy (&map->err, &inner.err);
        return -1;
    }
    return 0;
}

int
maas_training_result_parse (maas_training_result_t *result, const void *data, size_t size,
                            maas_err_t *err)
{
    memset (result, 0, sizeof *result);
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t map;
    int rc = maas_proto_open_map (data, size, 0, "result", &msg, &map, err);
    if (rc == 0 && s_result_keys (&map, result) != 0) {
        maas_err_copy (err, &map.err);
        rc = -1;
    }
    msgpack_unpacked_destroy (&msg);
    return rc;
}
