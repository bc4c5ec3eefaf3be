/*  import_keras.c: Keras Sequential models of Dense layers, from a Keras 2
 *  HDF5 file (model_config attribute, model_weights groups) or a Keras 3
 *  .keras zip (config.json, model.weights.h5). Layouts:
 *  /work/shared/refs/models.md, summed up in docs/models.md. */
#include "import_int.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

//  Most strings read from one attribute (layer_names, weight_names), and
//  most split parts (layer_names0, layer_names1, ...).
#define S_NAMES_MAX 4096
#define S_PARTS_MAX 256

//  What one Keras reader needs while it walks the config's layers.
typedef struct {
    hid_t root;                //  model_weights (.h5) or the file (.keras)
    bool vars;                 //  true: .keras layout, layers/dense_N/vars/I
    char **names;              //  .h5: the layer_names that hold weights, owned
    size_t n_names;            //  how many
    size_t dense_seen;         //  Dense layers so far (names .keras containers)
    size_t declared_inputs;    //  InputLayer's width, 0 if none was given
    maas_import_net_t *net;    //  what is being built
} s_keras_t;

//  A list of strings read from HDF5 attributes.
typedef struct {
    char **items;    //  count strings, each owned
    size_t count;    //  how many
} s_strings_t;

static void
s_strings_clear (s_strings_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->items[i]);
    free (self->items);
    self->items = NULL;
    self->count = 0;
}

//  Append TEXT (at most LEN bytes) to SELF. 0 or -1 (out of memory).
static int
s_strings_push (s_strings_t *self, const char *text, size_t len)
{
    char **items = realloc (self->items, (self->count + 1) * sizeof *items);
    if (!items)
        return -1;
    self->items = items;
    items[self->count] = strndup (text ? text : "", len);
    if (!items[self->count])
        return -1;
    self->count++;
    return 0;
}

//  Read the N variable-length strings of ATTR (type TYPE) into OUT.
static int
s_read_vlen (hid_t attr, hid_t type, hid_t space, size_t n, s_strings_t *out)
{
    hid_t mem = H5Tcopy (H5T_C_S1);
    char **buf = calloc (n, sizeof *buf);
    int rc = -1;
    if (mem >= 0 && buf && H5Tset_size (mem, H5T_VARIABLE) >= 0
        && H5Tset_cset (mem, H5Tget_cset (type)) >= 0 && H5Aread (attr, mem, buf) >= 0) {
        size_t total = 0;
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            size_t len = buf[i] ? strlen (buf[i]) : 0;
            total += len;
            rc = total <= MAAS_IMPORT_CONFIG_MAX ? s_strings_push (out, buf[i], len) : -1;
        }
        H5Dvlen_reclaim (mem, space, H5P_DEFAULT, buf);
    }
    free (buf);
    if (mem >= 0)
        H5Tclose (mem);
    return rc;
}

//  Read the N fixed-length strings of ATTR (type TYPE) into OUT.
static int
s_read_fixed (hid_t attr, hid_t type, size_t n, s_strings_t *out)
{
    size_t width = H5Tget_size (type);
    if (width == 0 || width > MAAS_IMPORT_CONFIG_MAX / n)
        return -1;
    hid_t mem = H5Tcopy (type);
    char *buf = malloc (width * n);
    int rc = -1;
    //  NULLPAD: a string that fills its width keeps its last byte.
    if (mem >= 0 && buf && H5Tset_strpad (mem, H5T_STR_NULLPAD) >= 0
        && H5Aread (attr, mem, buf) >= 0) {
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = s_strings_push (out, buf + i * width, strnlen (buf + i * width, width));
    }
    free (buf);
    if (mem >= 0)
        H5Tclose (mem);
    return rc;
}

//  Append the strings of attribute NAME of OBJ (a scalar or a 1-D array of
//  fixed- or variable-length strings) to OUT. 0, or -1 with the error set.
static int
s_attr_strings (hid_t obj, const char *name, s_strings_t *out, maas_err_t *err)
{
    hid_t attr = H5Aopen (obj, name, H5P_DEFAULT);
    hid_t type = attr >= 0 ? H5Aget_type (attr) : -1;
    hid_t space = attr >= 0 ? H5Aget_space (attr) : -1;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints (space) : -1;
    int rc = -1;
    if (type >= 0 && H5Tget_class (type) == H5T_STRING && n >= 0 && n <= S_NAMES_MAX
        && H5Sget_simple_extent_ndims (space) <= 1)
        rc = n == 0                         ? 0
            : H5Tis_variable_str (type) > 0 ? s_read_vlen (attr, type, space, (size_t) n, out)
                                            : s_read_fixed (attr, type, (size_t) n, out);
    if (space >= 0)
        H5Sclose (space);
    if (type >= 0)
        H5Tclose (type);
    if (attr >= 0)
        H5Aclose (attr);
    if (rc != 0)
        maas_import_fail (err, MAAS_ERR_INPUT,
                          "attribute '%s' is not a list of at most %d strings (or is too big)",
                          name, S_NAMES_MAX);
    return rc;
}

//  The strings of attribute NAME, or of NAME0, NAME1, ... when Keras split
//  it (attributes over 64 KB). 0, or -1 with the error set (none exists).
static int
s_attr_strings_split (hid_t obj, const char *name, s_strings_t *out, maas_err_t *err)
{
    if (H5Aexists (obj, name) > 0)
        return s_attr_strings (obj, name, out, err);
    char part[128];
    size_t k = 0;
    for (; k < S_PARTS_MAX; k++) {
        snprintf (part, sizeof part, "%s%zu", name, k);
        if (H5Aexists (obj, part) <= 0)
            break;
        if (s_attr_strings (obj, part, out, err) != 0 || out->count > S_NAMES_MAX)
            return maas_import_fail (err, MAAS_ERR_INPUT, "attribute '%s' is too big", name);
    }
    return k ? 0 : maas_import_fail (err, MAAS_ERR_INPUT, "attribute '%s' is missing", name);
}

//  true if the dataset SET holds floats in RANK dimensions equal to DIMS.
static bool
s_dataset_fits (hid_t set, int rank, const hsize_t *dims)
{
    hid_t space = H5Dget_space (set), type = H5Dget_type (set);
    hsize_t got[2] = {0, 0};
    bool fits = space >= 0 && type >= 0 && H5Tget_class (type) == H5T_FLOAT
        && H5Sget_simple_extent_ndims (space) == rank
        && H5Sget_simple_extent_dims (space, got, NULL) == rank && got[0] == dims[0]
        && (rank == 1 || got[1] == dims[1]);
    if (type >= 0)
        H5Tclose (type);
    if (space >= 0)
        H5Sclose (space);
    return fits;
}

//  Read the float dataset PATH under LOC, which must have RANK dimensions
//  equal to DIMS, into a new array (*OUT, caller frees). 0, or -1 with the
//  error set, naming the layer (POS, NAME).
static int
s_read_floats (s_keras_t *k, hid_t loc, const char *path, int rank, const hsize_t *dims, size_t pos,
               const char *name, float **out)
{
    maas_err_t *err = k->net->err;
    hid_t set = H5Lexists (loc, path, H5P_DEFAULT) > 0 ? H5Dopen2 (loc, path, H5P_DEFAULT) : -1;
    if (set < 0)
        return maas_import_fail (err, MAAS_ERR_INPUT, "layer %zu '%s': no dataset '%s'", pos, name,
                                 path);
    size_t count = (size_t) dims[0] * (rank == 2 ? (size_t) dims[1] : 1);
    char shape[64];
    snprintf (shape, sizeof shape, rank == 2 ? "matrix of shape [%zu, %zu]" : "vector of %zu",
              (size_t) dims[0], rank == 2 ? (size_t) dims[1] : 0);
    int rc = -1;
    if (!s_dataset_fits (set, rank, dims))
        maas_import_fail (err, MAAS_ERR_INPUT,
                          "layer %zu '%s': '%s' is not a float %s, as the config says", pos, name,
                          path, shape);
    else if (maas_import_net_reserve (k->net, count, name) == 0) {
        *out = malloc (count * sizeof **out);
        rc = *out && H5Dread (set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0
            ? 0
            : maas_import_fail (err, MAAS_ERR_IO, "layer %zu '%s': cannot read '%s'", pos, name,
                                path);
    }
    H5Dclose (set);
    return rc;
}

//  Where the kernel and bias of Dense layer NAME are, relative to *GROUP
//  (opened here, the caller closes it), in a Keras 2 (or Keras 3 legacy)
//  .h5: model_weights/NAME, its weight_names matched on their last path
//  component without ":N". 0 or -1.
static int
s_h5_weight_paths (s_keras_t *k, size_t pos, const char *name, hid_t *group, char **kernel,
                   char **bias)
{
    bool listed = false;
    for (size_t i = 0; i < k->n_names && !listed; i++)
        listed = strcmp (k->names[i], name) == 0;
    if (!listed || (*group = H5Gopen2 (k->root, name, H5P_DEFAULT)) < 0)
        return maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                                 "layer %zu '%s': no weights for it in model_weights", pos, name);
    s_strings_t weights = {0};
    if (s_attr_strings (*group, "weight_names", &weights, k->net->err) != 0)
        return -1;
    for (size_t i = 0; i < weights.count; i++) {
        const char *last = strrchr (weights.items[i], '/');
        last = last ? last + 1 : weights.items[i];
        size_t len = strcspn (last, ":");
        char **slot = len == 6 && strncmp (last, "kernel", 6) == 0 ? kernel
            : len == 4 && strncmp (last, "bias", 4) == 0           ? bias
                                                                   : NULL;
        if (slot && !*slot) {
            *slot = weights.items[i];
            weights.items[i] = NULL;
        }
    }
    s_strings_clear (&weights);
    return 0;
}

//  Where the kernel and bias of the Dense layer at POS are in a .keras
//  model.weights.h5, relative to *GROUP ("layers", opened here, the caller
//  closes it): the K-th Dense layer's container is dense (K 0) or dense_K,
//  its variables vars/0 and vars/1. 0 or -1.
static int
s_vars_weight_paths (s_keras_t *k, size_t pos, const char *name, hid_t *group, char **kernel,
                     char **bias)
{
    char base[64];
    snprintf (base, sizeof base, k->dense_seen ? "dense_%zu" : "dense", k->dense_seen);
    *group = H5Lexists (k->root, "layers", H5P_DEFAULT) > 0
        ? H5Gopen2 (k->root, "layers", H5P_DEFAULT)
        : -1;
    if (*group < 0)
        return maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                                 "layer %zu '%s': no 'layers' group in model.weights.h5", pos,
                                 name);
    if (asprintf (kernel, "%s/vars/0", base) < 0 || asprintf (bias, "%s/vars/1", base) < 0)
        return maas_import_fail (k->net->err, MAAS_ERR_NOMEM, "out of memory");
    return 0;
}

//  Read the kernel (FAN_IN × UNITS) and, with USE_BIAS, the bias of the
//  Dense layer at POS into *W and *B. 0 or -1.
static int
s_dense_weights (s_keras_t *k, size_t pos, const char *name, size_t fan_in, size_t units,
                 bool use_bias, float **w, float **b)
{
    hsize_t kdims[2] = {fan_in, units}, bdims[1] = {units};
    char *kernel = NULL, *bias = NULL;
    hid_t group = -1;
    int rc = k->vars ? s_vars_weight_paths (k, pos, name, &group, &kernel, &bias)
                     : s_h5_weight_paths (k, pos, name, &group, &kernel, &bias);
    if (rc == 0 && !kernel)
        rc = maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                               "layer %zu '%s': no kernel among its weights", pos, name);
    if (rc == 0)
        rc = s_read_floats (k, group, kernel, 2, kdims, pos, name, w);
    if (rc == 0 && use_bias && !bias)
        rc = maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                               "layer %zu '%s': no bias among its weights", pos, name);
    if (rc == 0 && use_bias)
        rc = s_read_floats (k, group, bias, 1, bdims, pos, name, b);
    if (group >= 0)
        H5Gclose (group);
    free (kernel);
    free (bias);
    return rc;
}

//  An activation name in a layer config; -1 (error set) if not one maas has.
static int
s_config_act (s_keras_t *k, json_t *config, size_t pos, const char *name)
{
    json_t *value = json_object_get (config, "activation");
    const char *act = value ? json_string_value (value) : "linear";
    int parsed = maas_import_act (act);
    if (parsed < 0)
        maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                          "layer %zu '%s': activation '%s' is not supported (linear, relu, "
                          "tanh, sigmoid, softmax are)",
                          pos, name, act ? act : "(not a name)");
    return parsed;
}

//  The Dense layer at POS: its kernel's shape follows from the config's
//  units and the width so far (the first kernel's rows set the inputs).
static int
s_dense (s_keras_t *k, json_t *config, size_t pos, const char *name)
{
    json_int_t units = json_integer_value (json_object_get (config, "units"));
    json_t *use_bias = json_object_get (config, "use_bias");
    int act = s_config_act (k, config, pos, name);
    if (act < 0)
        return -1;
    if (units < 1 || units > MAAS_MLP_MAX_UNITS)
        return maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                                 "layer %zu '%s': units must be 1 to %d", pos, name,
                                 MAAS_MLP_MAX_UNITS);
    size_t fan_in = maas_import_net_width (k->net);
    if (fan_in == 0)
        fan_in = k->declared_inputs;
    if (fan_in == 0)
        return maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                                 "layer %zu '%s': the config gives no input width (no InputLayer "
                                 "or batch_input_shape)",
                                 pos, name);
    float *w = NULL, *b = NULL;
    bool bias = !use_bias || json_is_true (use_bias);
    if (s_dense_weights (k, pos, name, fan_in, (size_t) units, bias, &w, &b) != 0) {
        free (w);
        return -1;
    }
    k->dense_seen++;
    return maas_import_net_add (k->net, fan_in, (size_t) units, (maas_act_t) act, &w, &b);
}

//  The width a config declares: the last of batch_input_shape, batch_shape
//  or input_shape ([null, 10] → 10), 0 when it gives none.
static size_t
s_declared_width (json_t *config)
{
    json_t *shape = json_object_get (config, "batch_input_shape");
    if (!shape)
        shape = json_object_get (config, "batch_shape");
    if (!shape)
        shape = json_object_get (config, "input_shape");
    size_t n = json_array_size (shape);
    json_int_t width = n ? json_integer_value (json_array_get (shape, n - 1)) : 0;
    return width > 0 && width <= MAAS_MLP_MAX_UNITS ? (size_t) width : 0;
}

//  An Activation layer: folded into the Dense layer before it, which must
//  have none of its own.
static int
s_activation (s_keras_t *k, json_t *config, size_t pos, const char *name)
{
    int act = s_config_act (k, config, pos, name);
    maas_import_net_t *net = k->net;
    if (act < 0 || act == MAAS_ACT_LINEAR)
        return act < 0 ? -1 : 0;
    if (net->n_layers == 0 || net->specs[net->n_layers - 1].act != MAAS_ACT_LINEAR)
        return maas_import_fail (net->err, MAAS_ERR_INPUT,
                                 "layer %zu '%s': an Activation must follow a Dense layer "
                                 "without one (maas applies one activation per Dense layer)",
                                 pos, name);
    net->specs[net->n_layers - 1].act = (maas_act_t) act;
    return 0;
}

//  Layer POS of the config's list.
static int
s_layer (s_keras_t *k, json_t *layer, size_t pos)
{
    const char *cls = json_string_value (json_object_get (layer, "class_name"));
    json_t *config = json_object_get (layer, "config");
    const char *name = json_string_value (json_object_get (config, "name"));
    name = name ? name : "?";
    if (!cls || !json_is_object (config))
        return maas_import_fail (k->net->err, MAAS_ERR_INPUT, "layer %zu: no class_name or config",
                                 pos);
    if (k->net->n_layers == 0 && s_declared_width (config))
        k->declared_inputs = s_declared_width (config);
    if (strcmp (cls, "InputLayer") == 0) {
        snprintf (k->net->input_name, sizeof k->net->input_name, "%s", name);
        return 0;
    }
    //  The model's output is named after its last layer, as Keras names it.
    snprintf (k->net->output_name, sizeof k->net->output_name, "%s", name);
    if (strcmp (cls, "Dense") == 0)
        return s_dense (k, config, pos, name);
    if (strcmp (cls, "Activation") == 0)
        return s_activation (k, config, pos, name);
    if (strcmp (cls, "Dropout") == 0)
        return 0;
    return maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                             "layer %zu '%s': %s is not supported (Dense, Dropout, Activation, "
                             "InputLayer are)",
                             pos, name, cls);
}

//  Walk the model config TEXT (LEN bytes): a Sequential's layers.
static int
s_config (s_keras_t *k, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb (text, len, 0, &jerr);
    const char *cls = json_string_value (json_object_get (root, "class_name"));
    json_t *config = json_object_get (root, "config");
    json_t *layers = json_is_array (config) ? config : json_object_get (config, "layers");
    int rc = 0;
    if (!root)
        rc = maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                               "model config is not JSON (%s, line %d)", jerr.text, jerr.line);
    else if (!cls || strcmp (cls, "Sequential") != 0)
        rc =
            maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                              "model class '%s' is not supported (Sequential is)", cls ? cls : "?");
    else if (!json_is_array (layers) || json_array_size (layers) > MAAS_IMPORT_LAYERS_MAX)
        rc = maas_import_fail (k->net->err, MAAS_ERR_INPUT,
                               "model config has no list of at most %d layers",
                               MAAS_IMPORT_LAYERS_MAX);
    //  Keras 3 may give the width only in the model's build_config.
    k->declared_inputs = s_declared_width (json_object_get (root, "build_config"));
    for (size_t i = 0; rc == 0 && i < json_array_size (layers); i++)
        rc = s_layer (k, json_array_get (layers, i), i);
    json_decref (root);
    return rc;
}

//  Open an HDF5 image held in memory (copied by libhdf5), with libhdf5's
//  own error printing off (errors are reported through ERR instead).
static hid_t
s_open_image (const void *data, size_t size, const char *what, maas_err_t *err)
{
    H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
    hid_t file = H5LTopen_file_image ((void *) data, size, 0);
    if (file < 0)
        maas_import_fail (err, MAAS_ERR_INPUT, "%s is not a readable HDF5 file", what);
    return file;
}

//  "keras2 h5" or "keras3 h5" from the root's keras_version attribute.
static void
s_h5_format (hid_t file, maas_import_net_t *net)
{
    s_strings_t version = {0};
    maas_err_t ignored;
    bool three = H5Aexists (file, "keras_version") > 0
        && s_attr_strings (file, "keras_version", &version, &ignored) == 0 && version.count
        && version.items[0][0] >= '3';
    snprintf (net->format, sizeof net->format, "keras%d h5", three ? 3 : 2);
    s_strings_clear (&version);
}

//  model_config and model_weights of an open Keras .h5 file.
static int
s_h5_model (hid_t file, s_keras_t *k)
{
    maas_err_t *err = k->net->err;
    if (H5Aexists (file, "model_config") <= 0)
        return maas_import_fail (err, MAAS_ERR_INPUT,
                                 "no model_config attribute: not a Keras model file (a "
                                 "weights-only file from save_weights has no architecture)");
    s_strings_t config = {0}, names = {0};
    int rc = s_attr_strings (file, "model_config", &config, err);
    if (rc == 0 && config.count != 1)
        rc = maas_import_fail (err, MAAS_ERR_INPUT, "model_config is not one string");
    k->root = rc == 0 && H5Lexists (file, "model_weights", H5P_DEFAULT) > 0
        ? H5Gopen2 (file, "model_weights", H5P_DEFAULT)
        : -1;
    if (rc == 0 && k->root < 0)
        rc = maas_import_fail (err, MAAS_ERR_INPUT, "no model_weights group");
    if (rc == 0)
        rc = s_attr_strings_split (k->root, "layer_names", &names, err);
    k->names = names.items;
    k->n_names = names.count;
    if (rc == 0)
        rc = s_config (k, config.items[0], strlen (config.items[0]));
    s_strings_clear (&config);
    s_strings_clear (&names);
    if (k->root >= 0)
        H5Gclose (k->root);
    return rc;
}

int
maas_import_keras_h5 (const void *data, size_t size, maas_import_net_t *net)
{
    hid_t file = s_open_image (data, size, "the file", net->err);
    if (file < 0)
        return -1;
    s_keras_t k = {.net = net, .root = -1};
    s_h5_format (file, net);
    int rc = s_h5_model (file, &k);
    H5Fclose (file);
    return rc;
}

//  Entry NAME of the zip ZA, whole, into *OUT (caller frees) and *SIZE.
static int
s_zip_entry (zip_t *za, const char *name, char **out, size_t *size, maas_err_t *err)
{
    zip_stat_t st;
    if (zip_stat (za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return maas_import_fail (err, MAAS_ERR_INPUT, "no %s in the .keras zip", name);
    if (st.size > MAAS_IMPORT_FILE_MAX)
        return maas_import_fail (err, MAAS_ERR_INPUT, "%s: %llu bytes is over the limit of %zu",
                                 name, (unsigned long long) st.size, (size_t) MAAS_IMPORT_FILE_MAX);
    zip_file_t *entry = zip_fopen (za, name, 0);
    *out = malloc ((size_t) st.size + 1);
    zip_int64_t got = entry && *out ? zip_fread (entry, *out, st.size) : -1;
    if (entry)
        zip_fclose (entry);
    if (got < 0 || (zip_uint64_t) got != st.size)
        return maas_import_fail (err, MAAS_ERR_IO, "cannot read %s from the .keras zip", name);
    (*out)[st.size] = 0;
    *size = (size_t) st.size;
    return 0;
}

//  config.json and model.weights.h5 of an open .keras zip.
static int
s_zip_model (zip_t *za, maas_import_net_t *net)
{
    char *config = NULL, *weights = NULL;
    size_t config_size = 0, weights_size = 0;
    int rc = s_zip_entry (za, "config.json", &config, &config_size, net->err);
    if (rc == 0 && config_size > MAAS_IMPORT_CONFIG_MAX)
        rc = maas_import_fail (net->err, MAAS_ERR_INPUT, "config.json is over %zu bytes",
                               (size_t) MAAS_IMPORT_CONFIG_MAX);
    if (rc == 0)
        rc = s_zip_entry (za, "model.weights.h5", &weights, &weights_size, net->err);
    hid_t file = rc == 0 ? s_open_image (weights, weights_size, "model.weights.h5", net->err) : -1;
    if (rc == 0 && file < 0)
        rc = -1;
    s_keras_t k = {.net = net, .root = file, .vars = true};
    snprintf (net->format, sizeof net->format, "keras3 keras");
    if (rc == 0)
        rc = s_config (&k, config, config_size);
    if (file >= 0)
        H5Fclose (file);
    free (config);
    free (weights);
    return rc;
}

int
maas_import_keras_zip (const void *data, size_t size, maas_import_net_t *net)
{
    zip_error_t zerr;
    zip_error_init (&zerr);
    zip_source_t *src = zip_source_buffer_create (data, size, 0, &zerr);
    zip_t *za = src ? zip_open_from_source (src, ZIP_RDONLY, &zerr) : NULL;
    int rc;
    if (!za) {
        rc = maas_import_fail (net->err, MAAS_ERR_INPUT, "not a readable zip (%s)",
                               zip_error_strerror (&zerr));
        zip_source_free (src);
    }
    else {
        rc = s_zip_model (za, net);
        zip_discard (za);
    }
    zip_error_fini (&zerr);
    return rc;
}
