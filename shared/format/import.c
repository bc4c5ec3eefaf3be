/*  import.c: maas_model_import_file: tell the format from a file's first
 *  bytes, run its reader, and build the model from the layers it read. The
 *  readers are import_keras.c and import_onnx.c. */
#include "import_int.h"
#include "signature.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char s_hdf5_magic[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
static const unsigned char s_zip_magic[4] = {'P', 'K', 3, 4};

int
maas_import_fail (maas_err_t *err, maas_err_code_t code, const char *fmt, ...)
{
    assert (err);
    va_list args;
    va_start (args, fmt);
    maas_err_vset (err, code, fmt, args);
    va_end (args);
    //  Names come from the file: no control bytes reach a terminal or log.
    for (char *c = err->text; *c; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

int
maas_import_act (const char *name)
{
    if (name && strcmp (name, "identity") == 0)
        return MAAS_ACT_LINEAR;
    return maas_act_parse (name);
}

int
maas_import_net_reserve (maas_import_net_t *self, size_t count, const char *what)
{
    if (count > MAAS_IMPORT_PARAMS_MAX - self->params)
        return maas_import_fail (self->err, MAAS_ERR_INPUT,
                                 "%s: %zu more parameters pass the limit of %zu for a model", what,
                                 count, (size_t) MAAS_IMPORT_PARAMS_MAX);
    self->params += count;
    return 0;
}

size_t
maas_import_net_width (const maas_import_net_t *self)
{
    return self->n_layers ? self->specs[self->n_layers - 1].units : self->inputs;
}

int
maas_import_net_add (maas_import_net_t *self, size_t fan_in, size_t units, maas_act_t act,
                     float **weights_p, float **bias_p)
{
    float *weights = *weights_p, *bias = bias_p ? *bias_p : NULL;
    *weights_p = NULL;
    if (bias_p)
        *bias_p = NULL;
    if (self->n_layers == MAAS_MLP_MAX_LAYERS) {
        free (weights);
        free (bias);
        return maas_import_fail (self->err, MAAS_ERR_INPUT,
                                 "more than %d dense layers (maas's limit)", MAAS_MLP_MAX_LAYERS);
    }
    if (!bias)
        bias = calloc (units, sizeof *bias);
    if (!bias) {
        free (weights);
        return maas_import_fail (self->err, MAAS_ERR_NOMEM, "out of memory");
    }
    if (self->n_layers == 0)
        self->inputs = fan_in;
    assert (fan_in == maas_import_net_width (self));
    self->specs[self->n_layers] = (maas_layer_spec_t){.units = units, .act = act};
    self->weights[self->n_layers] = weights;
    self->biases[self->n_layers] = bias;
    self->n_layers++;
    return 0;
}

//  Record where the model came from in its metadata. 0 or -1.
static int
s_set_origin (const maas_import_net_t *self, maas_model_t *model, const char *file_name)
{
    const char *base = strrchr (file_name, '/');
    base = base ? base + 1 : file_name;
    int rc = maas_model_meta_set_str (model, "import_format", self->format);
    if (rc == 0 && strlen (base) <= MAAS_MODEL_META_STR_MAX)
        rc = maas_model_meta_set_str (model, "import_file", base);
    if (rc == 0 && *self->input_name)
        rc = maas_model_meta_set_str (model, "input_name", self->input_name);
    //  A name the signature cannot hold (a control byte) leaves "output".
    if (rc == 0 && *self->output_name)
        (void) maas_model_set_output_name (model, self->output_name, NULL);
    //  The reader checked the range already (import_onnx.c, s_input_scale).
    if (rc == 0 && self->input_scale)
        rc = maas_model_set_input_scale (model, self->input_scale, NULL);
    return rc;
}

maas_model_t *
maas_import_net_finish (maas_import_net_t *self, const char *file_name)
{
    if (self->n_layers == 0) {
        maas_import_fail (self->err, MAAS_ERR_INPUT, "no dense layer: nothing to run");
        return NULL;
    }
    maas_mlp_t *mlp = maas_mlp_new (self->inputs, self->specs, self->n_layers);
    if (!mlp || maas_mlp_set_norm (mlp, self->norm_mean, self->norm_std) != 0
        || maas_mlp_set_target_norm (mlp, self->target_mean, self->target_std) != 0) {
        maas_mlp_destroy (&mlp);
        maas_import_fail (self->err, MAAS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < self->n_layers; i++) {
        maas_tensor_t *w = maas_mlp_weights (mlp, i), *b = maas_mlp_bias (mlp, i);
        memcpy (w->data, self->weights[i], maas_tensor_size (w) * sizeof (float));
        memcpy (b->data, self->biases[i], maas_tensor_size (b) * sizeof (float));
    }
    maas_model_t *model = maas_model_new (&mlp);
    if (!model || s_set_origin (self, model, file_name) != 0) {
        maas_model_destroy (&model);
        maas_import_fail (self->err, MAAS_ERR_NOMEM, "out of memory");
    }
    return model;
}

void
maas_import_net_clear (maas_import_net_t *self)
{
    for (size_t i = 0; i < self->n_layers; i++) {
        free (self->weights[i]);
        free (self->biases[i]);
    }
    free (self->norm_mean);
    free (self->norm_std);
    free (self->target_mean);
    free (self->target_std);
    self->n_layers = 0;
    self->norm_mean = self->norm_std = NULL;
    self->target_mean = self->target_std = NULL;
}

int
maas_import_read_file (const char *path, size_t max, uint8_t **data_p, size_t *size_p,
                       maas_err_t *err)
{
    FILE *file = fopen (path, "rb");
    struct stat st;
    if (!file || fstat (fileno (file), &st) != 0 || !S_ISREG (st.st_mode)) {
        int code = errno;
        if (file)
            fclose (file);
        return maas_import_fail (err, MAAS_ERR_IO, "cannot read %s: %s", path,
                                 file ? "not a regular file" : strerror (code));
    }
    if ((uint64_t) st.st_size > max) {
        fclose (file);
        return maas_import_fail (err, MAAS_ERR_INPUT, "%s: %lld bytes is over the limit of %zu",
                                 path, (long long) st.st_size, max);
    }
    size_t size = (size_t) st.st_size;
    uint8_t *data = malloc (size ? size : 1);
    size_t got = data ? fread (data, 1, size, file) : 0;
    fclose (file);
    if (!data || got != size) {
        free (data);
        return maas_import_fail (err, data ? MAAS_ERR_IO : MAAS_ERR_NOMEM,
                                 "cannot read %s (%zu bytes)", path, size);
    }
    *data_p = data;
    *size_p = size;
    return 0;
}

//  Run the reader for the format of PATH, told by its first bytes.
static int
s_read_any (const char *path, maas_import_net_t *net)
{
    uint8_t *data;
    size_t size;
    if (maas_import_read_file (path, MAAS_IMPORT_FILE_MAX, &data, &size, net->err) != 0)
        return -1;
    int rc;
    if (size >= 8 && memcmp (data, s_hdf5_magic, 8) == 0)
        rc = maas_import_keras_h5 (data, size, net);
    else if (size >= 4 && memcmp (data, s_zip_magic, 4) == 0)
        rc = maas_import_keras_zip (data, size, net);
    else
        rc = maas_import_onnx (data, size, net);
    free (data);
    return rc;
}

//  TEXT (SIZE bytes) becomes "PREFIX: TEXT", cut to fit.
static void
s_prefix (char *text, size_t size, const char *prefix)
{
    size_t plen = strnlen (prefix, size / 2), tlen = strlen (text);
    if (plen + 2 + tlen >= size)
        tlen = size - 1 - plen - 2;
    memmove (text + plen + 2, text, tlen);
    memcpy (text, prefix, plen);
    memcpy (text + plen, ": ", 2);
    text[plen + 2 + tlen] = 0;
}

maas_model_t *
maas_model_import_file (const char *path, maas_err_t *err)
{
    //  libhdf5 (Debian's serial build) is not thread-safe: one import at a time.
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    maas_err_t local;
    maas_import_net_t net = {.err = err ? err : &local};
    net.err->code = MAAS_ERR_OK;
    net.err->text[0] = 0;
    pthread_mutex_lock (&lock);
    int rc = s_read_any (path, &net);
    pthread_mutex_unlock (&lock);
    maas_model_t *model = rc == 0 ? maas_import_net_finish (&net, path) : NULL;
    maas_import_net_clear (&net);
    if (!model)
        s_prefix (net.err->text, sizeof net.err->text, path);
    return model;
}

void
maas_model_describe (const maas_model_t *model, char *out, size_t size)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    size_t n = maas_mlp_layer_count (mlp), used = 0;
    used += (size_t) snprintf (out, size, "%zu", maas_mlp_inputs (mlp));
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t) snprintf (out + used, size - used, "-%zu", maas_mlp_layer (mlp, i).units);
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t) snprintf (out + used, size - used, "%c%s", i ? ',' : ' ',
                                   maas_act_name (maas_mlp_layer (mlp, i).act));
}
