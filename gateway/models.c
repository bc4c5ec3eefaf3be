/*  models.c: per-thread registry lookups with a short cache (models.h). */
#include "models.h"

#include <czmq.h>
#include <inttypes.h>
#include <string.h>

struct _gw_models_t {
    maas_registry_t *registry;    //  this thread's Redis connection
    zhashx_t *cache;              //  "name@ref" -> entry_t, owns entries
};

typedef struct {
    gw_model_t model;    //  what the reference resolved to
    int64_t until_ms;    //  monotonic time it stops being trusted
} entry_t;

static void
s_entry_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

gw_models_t *
gw_models_new (const maas_redis_config_t *redis, const char *prefix, char *err, size_t err_size)
{
    gw_models_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "gateway: out of memory");
        return NULL;
    }
    maas_err_t why;
    self->registry = maas_registry_open (redis, prefix, &why);
    if (!self->registry)
        maas_err_export (&why, err, err_size);
    self->cache = zhashx_new ();
    if (!self->registry || !self->cache) {
        gw_models_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->cache, s_entry_destroy);
    return self;
}

void
gw_models_destroy (gw_models_t **self_p)
{
    gw_models_t *self = *self_p;
    if (!self)
        return;
    maas_registry_destroy (&self->registry);
    zhashx_destroy (&self->cache);
    free (self);
    *self_p = NULL;
}

maas_registry_t *
gw_models_registry (gw_models_t *self)
{
    return self->registry;
}

int
gw_models_status (const gw_models_t *self)
{
    const char *why = maas_registry_error (self->registry);
    if (strncmp (why, "registry:", 9) == 0)
        return 503;
    if (strstr (why, "unknown model") || strstr (why, " has no "))
        return 404;
    return 400;
}

//  Ask the registry; 0 or the status to answer.
static int
s_resolve (gw_models_t *self, const char *name, const char *ref, gw_model_t *model, char *err,
           size_t err_size)
{
    maas_registry_info_t info;
    memset (&info, 0, sizeof info);
    if (maas_registry_resolve (self->registry, name, ref, &model->version) != 0
        || maas_registry_info (self->registry, name, model->version, &info) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        return gw_models_status (self);
    }
    model->inputs = info.inputs;
    model->outputs = info.outputs;
    maas_registry_info_clear (&info);
    return 0;
}

int
gw_models_lookup (gw_models_t *self, const char *name, const char *ref, gw_model_t *model,
                  char *err, size_t err_size)
{
    if (!maas_registry_name_valid (name)) {
        snprintf (err, err_size, "model '%.64s': not a valid model name", name);
        return 400;
    }
    char key[2 * MAAS_REGISTRY_NAME_MAX + 2];
    snprintf (key, sizeof key, "%s@%s", name, ref);
    int64_t now = maas_clock_mono_ms ();
    entry_t *entry = zhashx_lookup (self->cache, key);
    if (entry && entry->until_ms > now) {
        *model = entry->model;
        return 0;
    }
    int status = s_resolve (self, name, ref, model, err, err_size);
    if (status != 0)
        return status;
    entry = malloc (sizeof *entry);
    if (entry) {
        *entry = (entry_t){.model = *model, .until_ms = now + GW_MODELS_TTL_MS};
        zhashx_update (self->cache, key, entry);
    }
    return 0;
}

//  A JSON array of N strings, or null when NAMES is NULL.
static void
s_json_names (gw_buf_t *buf, const char *const *names, size_t n)
{
    if (!names) {
        gw_buf_puts (buf, "null");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        gw_buf_puts (buf, i ? "," : "[");
        gw_json_str (buf, names[i]);
    }
    gw_buf_puts (buf, n ? "]" : "[]");
}

//  MODEL's signature as the members of a JSON object, THRESHOLD (0: none)
//  with it for a binary model.
static void
s_signature (gw_buf_t *buf, const maas_model_t *model, double threshold)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    gw_buf_printf (buf, "\"dtype\":\"float32\",\"inputs\":%zu,\"outputs\":%zu,\"feature_names\":",
                   maas_mlp_inputs (mlp), maas_mlp_outputs (mlp));
    s_json_names (buf, maas_model_columns (model), maas_mlp_inputs (mlp));
    gw_buf_puts (buf, ",\"output_name\":");
    gw_json_str (buf, maas_model_output_name (model));
    gw_buf_printf (buf, ",\"task\":\"%s\",\"labels\":", maas_task_name (maas_model_task (model)));
    size_t classes = maas_model_classes (model);
    char number[24];
    for (size_t k = 0; k < classes; k++) {
        gw_buf_puts (buf, k ? "," : "[");
        gw_json_str (buf, maas_model_label (model, k, number));
    }
    gw_buf_puts (buf, classes ? "]" : "null");
    gw_buf_printf (buf, ",\"input_scale\":%.17g,\"standardized\":%s",
                   maas_model_input_scale (model), maas_mlp_norm_mean (mlp) ? "true" : "false");
    if (maas_model_task (model) == MAAS_TASK_BINARY && maas_mlp_outputs (mlp) == 1)
        gw_buf_printf (buf, ",\"threshold\":%.9g", threshold > 0 ? threshold : 0.5);
}

//  NAME@VERSION decoded from the registry, or NULL with ERR and the HTTP
//  *STATUS to answer (the registry's, or 500 for a blob that will not
//  decode).
static maas_model_t *
s_fetch (gw_models_t *self, const char *name, uint64_t version, int *status, char *err,
         size_t err_size)
{
    uint8_t *blob = NULL;
    size_t size = 0;
    *status = 500;
    if (maas_registry_fetch (self->registry, name, version, &blob, &size, NULL) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        *status = gw_models_status (self);
        return NULL;
    }
    maas_err_t why;
    maas_model_t *model = maas_model_decode (blob, size, &why);
    free (blob);
    if (!model)
        snprintf (err, err_size, "model %s@%" PRIu64 ": %s", name, version, why.text);
    return model;
}

char *
gw_models_feature_names (gw_models_t *self, const char *name, uint64_t version)
{
    char err[512];
    int status;
    maas_model_t *model = s_fetch (self, name, version, &status, err, sizeof err);
    if (!model)
        return NULL;
    gw_buf_t buf;
    gw_buf_init (&buf);
    s_json_names (&buf, maas_model_columns (model), maas_mlp_inputs (maas_model_mlp_const (model)));
    maas_model_destroy (&model);
    char *names = buf.failed ? NULL : strndup (buf.data, buf.size);
    gw_buf_clear (&buf);
    return names;
}

int
gw_models_signature (gw_models_t *self, const char *name, uint64_t version, gw_buf_t *buf,
                     char *err, size_t err_size)
{
    double threshold = 0;
    if (maas_registry_threshold (self->registry, name, version, &threshold) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (self->registry));
        return gw_models_status (self);
    }
    int status;
    maas_model_t *model = s_fetch (self, name, version, &status, err, err_size);
    if (!model)
        return status;
    gw_buf_puts (buf, ",\"maas_signature\":{");
    s_signature (buf, model, threshold);
    gw_buf_puts (buf, "}");
    maas_model_destroy (&model);
    return 0;
}
