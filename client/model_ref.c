/*  model_ref.c: resolve a model reference once, and fetch the column names
 *  from the version's blob (the model format keeps them; docs/model-format.md). */
#include "model_ref.h"
#include "model.h"
#include "signature.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Copy the N strings NAMES (may be NULL: none) into *LIST_P and *COUNT;
//  -1 if out of memory.
static int
s_copy_names (const char *const *names, size_t n, char ***list_p, size_t *count)
{
    if (!names)
        return 0;
    if (!(*list_p = calloc (n, sizeof **list_p)))
        return -1;
    *count = n;
    for (size_t i = 0; i < n; i++)
        if (!((*list_p)[i] = strdup (names[i])))
            return -1;
    return 0;
}

//  Copy MODEL's column names and class labels into SELF; -1 if out of memory.
static int
s_take_columns (maas_model_ref_t *self, const maas_model_t *model)
{
    size_t inputs = maas_mlp_inputs (maas_model_mlp_const (model));
    if (s_copy_names (maas_model_columns (model), inputs, &self->columns, &self->n_columns) != 0)
        return -1;
    return s_copy_names (maas_model_labels (model), maas_model_classes (model), &self->labels,
                         &self->n_labels);
}

//  Fetch and decode SELF's version, keep its column names and labels.
static int
s_fetch_columns (maas_model_ref_t *self, maas_registry_t *registry, char *err, size_t err_size)
{
    uint8_t *blob = NULL;
    size_t size = 0;
    if (maas_registry_fetch (registry, self->name, self->version, &blob, &size, NULL) != 0) {
        snprintf (err, err_size, "%s", maas_registry_error (registry));
        return -1;
    }
    maas_err_t model_err;
    maas_model_t *model = maas_model_decode (blob, size, &model_err);
    free (blob);
    int rc = model ? s_take_columns (self, model) : -1;
    if (!model)
        snprintf (err, err_size, "model %s: %s", self->pinned, model_err.text);
    else if (rc != 0)
        snprintf (err, err_size, "out of memory");
    maas_model_destroy (&model);
    return rc;
}

int
maas_model_ref_resolve (maas_model_ref_t *self, const char *spec, const maas_redis_config_t *redis,
                        char *err, size_t err_size)
{
    memset (self, 0, sizeof *self);
    maas_registry_ref_t ref;
    maas_err_t why;
    if (maas_registry_ref_parse (&ref, spec, &why) != 0)
        return maas_err_export (&why, err, err_size);
    snprintf (self->name, sizeof self->name, "%s", ref.name);
    bool numbered = ref.ref[0] && isdigit ((unsigned char) ref.ref[0]);
    snprintf (self->asked, sizeof self->asked, "%s", numbered ? "" : *ref.ref ? ref.ref : "latest");
    maas_registry_t *registry = maas_registry_open (redis, NULL, &why);
    if (!registry) {
        snprintf (err, err_size,
                  "cannot reach the model registry to resolve %s (%s): give "
                  "--redis URL or set MAAS_REDIS_URL",
                  spec, why.text);
        return -1;
    }
    int rc = maas_registry_resolve (registry, ref.name, ref.ref, &self->version);
    if (rc != 0)
        snprintf (err, err_size, "%s", maas_registry_error (registry));
    else {
        snprintf (self->pinned, sizeof self->pinned, "%s@%llu", self->name,
                  (unsigned long long) self->version);
        rc = s_fetch_columns (self, registry, err, err_size);
    }
    maas_registry_destroy (&registry);
    return rc;
}

void
maas_model_ref_clear (maas_model_ref_t *self)
{
    for (size_t i = 0; self->columns && i < self->n_columns; i++)
        free (self->columns[i]);
    free (self->columns);
    self->columns = NULL;
    self->n_columns = 0;
    for (size_t i = 0; self->labels && i < self->n_labels; i++)
        free (self->labels[i]);
    free (self->labels);
    self->labels = NULL;
    self->n_labels = 0;
}

void
maas_model_ref_describe (const maas_model_ref_t *self, char *out, size_t size)
{
    if (*self->asked)
        snprintf (out, size, "%s (%s)", self->pinned, self->asked);
    else
        snprintf (out, size, "%s", self->pinned);
}
