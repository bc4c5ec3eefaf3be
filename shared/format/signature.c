/*  signature.c: a model's class labels, output name and input scale, and
 *  their optional keys in the model format (docs/model-format.md,
 *  "Signature"). None is covered by sha256: they are edited after training. */
#include "signature.h"
#include "mlp.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _maas_signature_t {
    char **labels;         //  n_labels class labels, owned, or NULL
    size_t n_labels;       //  maas_model_classes when set, else 0
    char *output_name;     //  owned, or NULL: MAAS_SIGNATURE_OUTPUT
    double input_scale;    //  inputs are multiplied by it; 1: none
};

maas_signature_t *
maas_signature_new (void)
{
    maas_signature_t *self = calloc (1, sizeof *self);
    if (self)
        self->input_scale = 1.0;
    return self;
}

static void
s_labels_free (maas_signature_t *self)
{
    for (size_t i = 0; i < self->n_labels; i++)
        free (self->labels[i]);
    free (self->labels);
    self->labels = NULL;
    self->n_labels = 0;
}

void
maas_signature_destroy (maas_signature_t **self_p)
{
    assert (self_p);
    maas_signature_t *self = *self_p;
    if (!self)
        return;
    s_labels_free (self);
    free (self->output_name);
    free (self);
    *self_p = NULL;
}

//  ---------------------------------------------------------------------------
//  On a model

size_t
maas_model_classes (const maas_model_t *self)
{
    size_t outputs = maas_mlp_outputs (maas_model_mlp_const (self));
    switch (maas_model_task (self)) {
        case MAAS_TASK_BINARY: return outputs == 1 ? 2 : outputs;
        case MAAS_TASK_MULTICLASS: return outputs;
        case MAAS_TASK_REGRESSION: return 0;
    }
    return 0;
}

//  true if TEXT (LEN bytes) is printable enough to be a name: no control
//  bytes (labels are printed one a line and in CSV).
static bool
s_printable (const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) text[i] < 0x20 || text[i] == 0x7f)
            return false;
    return true;
}

//  Why LABELS cannot be MODEL's, or NULL.
static const char *
s_labels_problem (const maas_model_t *model, const char *const *labels, size_t count)
{
    if (maas_model_classes (model) == 0)
        return "a regression model has no classes";
    if (count != maas_model_classes (model))
        return "one label per class is needed";
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen (labels[i]);
        if (len == 0 || len > MAAS_SIGNATURE_LABEL_MAX || !s_printable (labels[i], len))
            return "a label is empty, too long or holds a control character";
        for (size_t j = 0; j < i; j++)
            if (strcmp (labels[i], labels[j]) == 0)
                return "a label is repeated";
    }
    return NULL;
}

int
maas_model_set_labels (maas_model_t *self, const char *const *labels, size_t count, maas_err_t *err)
{
    assert (self && (labels || count == 0));
    const char *problem = s_labels_problem (self, labels, count);
    if (problem) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "labels: %s (%zu labels for %zu classes, each 1 to %d bytes, unique)",
                      problem, count, maas_model_classes (self), MAAS_SIGNATURE_LABEL_MAX);
        return -1;
    }
    char **copy = calloc (count, sizeof *copy);
    size_t made = 0;
    while (copy && made < count && (copy[made] = strdup (labels[made])))
        made++;
    if (made < count) {
        while (copy && made > 0)
            free (copy[--made]);
        free (copy);
        maas_err_set (err, MAAS_ERR_NOMEM, "labels: out of memory");
        return -1;
    }
    maas_signature_t *sig = maas_model_signature (self);
    s_labels_free (sig);
    sig->labels = copy;
    sig->n_labels = count;
    return 0;
}

int
maas_model_set_labels_text (maas_model_t *self, const char *text, maas_err_t *err)
{
    assert (self && text);
    size_t len = strlen (text), count = 1;
    if (len > MAAS_SIGNATURE_LABELS_TEXT) {
        maas_err_set (err, MAAS_ERR_INPUT, "labels: the list is over %d bytes",
                      MAAS_SIGNATURE_LABELS_TEXT);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        count += text[i] == ',';
    char *copy = strdup (text);
    const char **labels = calloc (count, sizeof *labels);
    int rc = -1;
    if (copy && labels) {
        size_t n = 0;
        for (char *at = copy, *comma; n < count; at = comma + 1) {
            labels[n++] = at;
            if (!(comma = strchr (at, ',')))
                break;
            *comma = 0;
        }
        rc = maas_model_set_labels (self, labels, n, err);
    }
    else
        maas_err_set (err, MAAS_ERR_NOMEM, "labels: out of memory");
    free (labels);
    free (copy);
    return rc;
}

const char *const *
maas_model_labels (const maas_model_t *self)
{
    return (const char *const *) maas_model_signature_const (self)->labels;
}

const char *
maas_model_label (const maas_model_t *self, size_t k, char buf[24])
{
    assert (k < maas_model_classes (self));
    const maas_signature_t *sig = maas_model_signature_const (self);
    if (sig->labels)
        return sig->labels[k];
    snprintf (buf, 24, "%zu", k);
    return buf;
}

const char *
maas_model_output_name (const maas_model_t *self)
{
    const maas_signature_t *sig = maas_model_signature_const (self);
    return sig->output_name ? sig->output_name : MAAS_SIGNATURE_OUTPUT;
}

int
maas_model_set_output_name (maas_model_t *self, const char *name, maas_err_t *err)
{
    assert (self && name);
    size_t len = strlen (name);
    if (len == 0 || len > MAAS_SIGNATURE_NAME_MAX || !s_printable (name, len)) {
        maas_err_set (err, MAAS_ERR_INPUT, "output name: 1 to %d bytes without control characters",
                      MAAS_SIGNATURE_NAME_MAX);
        return -1;
    }
    char *copy = strdup (name);
    if (!copy) {
        maas_err_set (err, MAAS_ERR_NOMEM, "output name: out of memory");
        return -1;
    }
    maas_signature_t *sig = maas_model_signature (self);
    free (sig->output_name);
    sig->output_name = copy;
    return 0;
}

double
maas_model_input_scale (const maas_model_t *self)
{
    return maas_model_signature_const (self)->input_scale;
}

int
maas_model_set_input_scale (maas_model_t *self, double scale, maas_err_t *err)
{
    assert (self);
    if (!isfinite (scale) || scale < 1e-30 || scale > 1e30) {
        maas_err_set (err, MAAS_ERR_INPUT, "input scale %g: must be a number from 1e-30 to 1e30",
                      scale);
        return -1;
    }
    maas_model_signature (self)->input_scale = scale;
    return 0;
}

//  ---------------------------------------------------------------------------
//  The format

size_t
maas_signature_keys (const maas_signature_t *self)
{
    return (self->output_name != NULL) + (self->labels != NULL) + (self->input_scale != 1.0);
}

unsigned
maas_signature_format (const maas_signature_t *self)
{
    //  A reader that ignored the scale would compute other outputs: such a
    //  model is format 2, which format-1 readers refuse.
    return self->input_scale != 1.0 ? 2 : 1;
}

int
maas_signature_pack (const maas_signature_t *self, msgpack_packer *pk)
{
    int rc = 0;
    if (self->output_name)
        rc |= maas_codec_pack_kv_str (pk, "output_name", self->output_name);
    if (self->labels) {
        rc |= maas_codec_pack_str (pk, "labels") | msgpack_pack_array (pk, self->n_labels);
        for (size_t i = 0; i < self->n_labels; i++)
            rc |= maas_codec_pack_str (pk, self->labels[i]);
    }
    if (self->input_scale != 1.0)
        rc |= maas_codec_pack_str (pk, "input_scale") | msgpack_pack_double (pk, self->input_scale);
    return rc ? -1 : 0;
}

size_t
maas_signature_size (const maas_signature_t *self)
{
    size_t size = 64 + (self->output_name ? strlen (self->output_name) : 0);
    for (size_t i = 0; i < self->n_labels; i++)
        size += 8 + strlen (self->labels[i]);
    return size;
}

//  "labels": an array of strings, one per class.
static int
s_decode_labels (maas_model_t *model, maas_codec_map_t *top, maas_err_t *err)
{
    const msgpack_object *obj = maas_codec_map_find (top, "labels");
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    const msgpack_object *items;
    size_t n;
    if (maas_codec_map_strings (top, "labels", &items, &n) != 0) {
        return maas_err_copy (err, &top->err);
    }
    if (n > MAAS_MLP_MAX_UNITS) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: labels: %zu labels, more than a model has classes", n);
        return -1;
    }
    char **owned = calloc (n ? n : 1, sizeof *owned);
    bool ok = owned != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = !memchr (items[i].via.str.ptr, 0, items[i].via.str.size)
            && (owned[i] = strndup (items[i].via.str.ptr, items[i].via.str.size));
    maas_err_t why = {MAAS_ERR_INPUT, "labels: a label holds a NUL byte, or out of memory"};
    if (ok)
        ok = maas_model_set_labels (model, (const char *const *) owned, n, &why) == 0;
    for (size_t i = 0; owned && i < n; i++)
        free (owned[i]);
    free (owned);
    if (!ok) {
        maas_err_copy (err, &why);
        return maas_err_prefix (err, "model");
    }
    return 0;
}

//  "output_name": a string; "input_scale": a number, only in format 2.
static int
s_decode_scalars (maas_model_t *model, maas_codec_map_t *top, unsigned format, maas_err_t *err)
{
    char name[MAAS_SIGNATURE_NAME_MAX + 1];
    if (maas_codec_map_find (top, "output_name")
        && (maas_codec_map_str_copy (top, "output_name", name, sizeof name) != 0
            || maas_model_set_output_name (model, name, NULL) != 0)) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: key 'output_name' must be a name of 1 to %d bytes",
                      MAAS_SIGNATURE_NAME_MAX);
        return -1;
    }
    if (!maas_codec_map_find (top, "input_scale"))
        return 0;
    double scale;
    if (format < 2) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: key 'input_scale' needs format 2, the blob says %u", format);
        return -1;
    }
    if (maas_codec_map_double (top, "input_scale", &scale) != 0
        || maas_model_set_input_scale (model, scale, NULL) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: key 'input_scale' must be a number from 1e-30 to 1e30");
        return -1;
    }
    return 0;
}

int
maas_signature_decode (maas_model_t *model, maas_codec_map_t *top, unsigned format, maas_err_t *err)
{
    return s_decode_labels (model, top, err) || s_decode_scalars (model, top, format, err) ? -1 : 0;
}
