/*  dataset.c: labelled data sets in memory: validation of labels against the
 *  task, column names, and the content sha256 (libsodium). */
#include "dataset.h"
#include "csv.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "data sets are stored as little-endian float32; port maas_dataset_hash first"
#endif

struct _maas_dataset_t {
    maas_tensor_t *features;                      //  rows × cols, owned
    maas_tensor_t *labels;                        //  rows × 1, owned
    char **columns;                               //  cols feature names, owned
    char *label;                                  //  label column name, owned
    maas_dataset_task_t task;                     //  never AUTO once constructed
    size_t classes;                               //  2, max label + 1, or 0 for regression
    char **class_names;                           //  classes names, owned, or NULL (numbered)
    uint8_t sha256[MAAS_DATASET_SHA256_BYTES];    //  content digest
    char sha256_hex[MAAS_DATASET_SHA256_HEX];     //  the same in hex
};

static const char *s_task_names[] = {"auto", "binary", "multiclass", "regression"};

const char *
maas_dataset_task_name (maas_dataset_task_t task)
{
    return (unsigned) task < 4 ? s_task_names[task] : "?";
}

int
maas_dataset_task_parse (const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp (name, s_task_names[i]) == 0)
            return i;
    return -1;
}

void
maas_dataset_hash (const float *features, const float *labels, size_t rows, size_t cols,
                   uint8_t out[MAAS_DATASET_SHA256_BYTES])
{
    crypto_hash_sha256_state state;
    uint64_t shape[2] = {rows, cols};
    crypto_hash_sha256_init (&state);
    crypto_hash_sha256_update (&state, (const uint8_t *) shape, sizeof shape);
    crypto_hash_sha256_update (&state, (const uint8_t *) features, rows * cols * sizeof (float));
    crypto_hash_sha256_update (&state, (const uint8_t *) labels, rows * sizeof (float));
    crypto_hash_sha256_final (&state, out);
}

void
maas_dataset_hex (const uint8_t digest[MAAS_DATASET_SHA256_BYTES],
                  char hex[MAAS_DATASET_SHA256_HEX])
{
    sodium_bin2hex (hex, MAAS_DATASET_SHA256_HEX, digest, MAAS_DATASET_SHA256_BYTES);
}

//  The task the labels fit best, and the class count it implies.
static maas_dataset_task_t
s_infer_task (const float *labels, size_t rows)
{
    bool binary = true, classes = true;
    for (size_t r = 0; r < rows; r++) {
        float y = labels[r];
        if (y != 0.0f && y != 1.0f)
            binary = false;
        if (y < 0 || y >= MAAS_DATASET_MAX_CLASSES || y != floorf (y))
            classes = false;
    }
    return binary ? MAAS_DATASET_BINARY
        : classes ? MAAS_DATASET_MULTICLASS
                  : MAAS_DATASET_REGRESSION;
}

//  Check every label fits TASK; set *CLASSES. -1 with ERR on the first misfit.
static int
s_check_labels (const float *labels, size_t rows, maas_dataset_task_t task, size_t *classes,
                maas_err_t *err)
{
    float top = 0;
    for (size_t r = 0; r < rows; r++) {
        float y = labels[r];
        if (task == MAAS_DATASET_BINARY && y != 0.0f && y != 1.0f) {
            maas_err_set (err, MAAS_ERR_INPUT, "label at row %zu is %g: binary labels are 0 or 1",
                          r + 1, (double) y);
            return -1;
        }
        if (task == MAAS_DATASET_MULTICLASS
            && (y < 0 || y >= MAAS_DATASET_MAX_CLASSES || y != floorf (y))) {
            maas_err_set (err, MAAS_ERR_INPUT,
                          "label at row %zu is %g: multiclass labels are class indices 0..%d",
                          r + 1, (double) y, MAAS_DATASET_MAX_CLASSES - 1);
            return -1;
        }
        top = y > top ? y : top;
    }
    *classes = task == MAAS_DATASET_BINARY ? 2
        : task == MAAS_DATASET_MULTICLASS  ? (size_t) top + 1
                                           : 0;
    return 0;
}

//  -1 with ERR if any value is NaN or infinite, naming where.
static int
s_check_finite (const maas_tensor_t *features, const maas_tensor_t *labels, maas_err_t *err)
{
    for (size_t r = 0; r < features->rows; r++) {
        const float *row = features->data + r * features->cols;
        for (size_t c = 0; c < features->cols; c++)
            if (!isfinite (row[c])) {
                maas_err_set (err, MAAS_ERR_INPUT, "feature %zu at row %zu is not a finite number",
                              c + 1, r + 1);
                return -1;
            }
        if (!isfinite (labels->data[r])) {
            maas_err_set (err, MAAS_ERR_INPUT, "label at row %zu is not a finite number", r + 1);
            return -1;
        }
    }
    return 0;
}

//  Copy or make up the names; -1 with ERR on a name we could not store.
static int
s_set_names (maas_dataset_t *self, const char *const *columns, const char *label, maas_err_t *err)
{
    size_t cols = self->features->cols;
    self->columns = calloc (cols, sizeof (char *));
    self->label = strdup (label ? label : "label");
    if (!self->columns || !self->label) {
        maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t c = 0; c < cols; c++) {
        char made_up[32];
        snprintf (made_up, sizeof made_up, "x%zu", c);
        const char *name = columns ? columns[c] : made_up;
        if (strlen (name) > MAAS_DATASET_MAX_NAME || strchr (name, '\n')) {
            maas_err_set (err, MAAS_ERR_INPUT,
                          "column %zu: name longer than %d characters or with a "
                          "line break",
                          c + 1, MAAS_DATASET_MAX_NAME);
            return -1;
        }
        if (!(self->columns[c] = strdup (name))) {
            maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
    return 0;
}

maas_dataset_t *
maas_dataset_new (maas_tensor_t **features_p, maas_tensor_t **labels_p, const char *const *columns,
                  const char *label, maas_dataset_task_t task, maas_err_t *err)
{
    assert (features_p && *features_p && labels_p && *labels_p);
    maas_dataset_t *self = calloc (1, sizeof *self);
    maas_tensor_t *features = *features_p, *labels = *labels_p;
    *features_p = *labels_p = NULL;
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    self->features = features;
    self->labels = labels;
    features = labels = NULL;
    if (self->labels->rows != self->features->rows || self->labels->cols != 1) {
        maas_err_set (err, MAAS_ERR_INPUT, "%zu rows of features but %zu × %zu labels",
                      self->features->rows, self->labels->rows, self->labels->cols);
        goto fail;
    }
    if (s_check_finite (self->features, self->labels, err) != 0
        || s_set_names (self, columns, label, err) != 0)
        goto fail;
    if (task == MAAS_DATASET_AUTO)
        task = s_infer_task (self->labels->data, self->labels->rows);
    self->task = task;
    if (s_check_labels (self->labels->data, self->labels->rows, task, &self->classes, err) != 0)
        goto fail;
    maas_dataset_hash (self->features->data, self->labels->data, self->features->rows,
                       self->features->cols, self->sha256);
    maas_dataset_hex (self->sha256, self->sha256_hex);
    return self;
fail:
    maas_tensor_destroy (&features);
    maas_tensor_destroy (&labels);
    maas_dataset_destroy (&self);
    return NULL;
}

maas_dataset_t *
maas_dataset_from_csv (const char *path, const char *label, maas_dataset_task_t task,
                       maas_err_t *err)
{
    maas_csv_t *csv = maas_csv_load (path, label, err);
    if (!csv)
        return NULL;
    maas_dataset_t *self = NULL;
    size_t rows = maas_csv_rows (csv), cols = maas_csv_cols (csv);
    size_t n_names;
    const char *const *names = maas_csv_classes (csv, &n_names);
    const char **columns = calloc (cols ? cols : 1, sizeof (char *));
    maas_tensor_t *labels = NULL, *features = NULL;
    if (cols == 0 || !maas_csv_labels (csv))
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: a data set needs feature columns and a label column", path);
    else if (names && task == MAAS_DATASET_REGRESSION)
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: the labels are names (%s, ...), not numbers to regress", path, names[0]);
    else if (!columns || !(labels = maas_tensor_from (maas_csv_labels (csv), rows, 1))
             || !(features = maas_csv_take_features (csv)))
        maas_err_set (err, MAAS_ERR_NOMEM, "%s: out of memory", path);
    else {
        for (size_t c = 0; c < cols; c++)
            columns[c] = maas_csv_column_name (csv, c);
        self = maas_dataset_new (&features, &labels, columns, maas_csv_label_name (csv), task, err);
        if (self && names && maas_dataset_set_class_names (self, names, n_names) != 0) {
            maas_dataset_destroy (&self);
            maas_err_set (err, MAAS_ERR_NOMEM, "out of memory for the class names");
        }
        if (!self)
            maas_err_prefix (err, "%s", path);
    }
    maas_tensor_destroy (&features);
    maas_tensor_destroy (&labels);
    free (columns);
    maas_csv_destroy (&csv);
    return self;
}

static void
s_class_names_free (maas_dataset_t *self)
{
    for (size_t k = 0; self->class_names && k < self->classes; k++)
        free (self->class_names[k]);
    free (self->class_names);
    self->class_names = NULL;
}

int
maas_dataset_set_class_names (maas_dataset_t *self, const char *const *names, size_t count)
{
    assert (self && (names || count == 0));
    if (count != self->classes || count == 0)
        return -1;
    char **copy = calloc (count, sizeof *copy);
    size_t made = 0;
    while (copy && made < count && (copy[made] = strdup (names[made])))
        made++;
    if (made < count) {
        while (copy && made > 0)
            free (copy[--made]);
        free (copy);
        return -1;
    }
    s_class_names_free (self);
    self->class_names = copy;
    return 0;
}

const char *const *
maas_dataset_class_names (const maas_dataset_t *self)
{
    return (const char *const *) self->class_names;
}

void
maas_dataset_destroy (maas_dataset_t **self_p)
{
    assert (self_p);
    maas_dataset_t *self = *self_p;
    if (!self)
        return;
    if (self->columns)
        for (size_t c = 0; c < self->features->cols; c++)
            free (self->columns[c]);
    free (self->columns);
    free (self->label);
    s_class_names_free (self);
    maas_tensor_destroy (&self->features);
    maas_tensor_destroy (&self->labels);
    free (self);
    *self_p = NULL;
}

size_t
maas_dataset_rows (const maas_dataset_t *self)
{
    return self->features->rows;
}

size_t
maas_dataset_cols (const maas_dataset_t *self)
{
    return self->features->cols;
}

maas_dataset_task_t
maas_dataset_task (const maas_dataset_t *self)
{
    return self->task;
}

size_t
maas_dataset_classes (const maas_dataset_t *self)
{
    return self->classes;
}

const maas_tensor_t *
maas_dataset_features (const maas_dataset_t *self)
{
    return self->features;
}

const maas_tensor_t *
maas_dataset_labels (const maas_dataset_t *self)
{
    return self->labels;
}

const char *
maas_dataset_column (const maas_dataset_t *self, size_t i)
{
    assert (i < self->features->cols);
    return self->columns[i];
}

const char *
maas_dataset_label (const maas_dataset_t *self)
{
    return self->label;
}

const uint8_t *
maas_dataset_sha256 (const maas_dataset_t *self)
{
    return self->sha256;
}

const char *
maas_dataset_sha256_hex (const maas_dataset_t *self)
{
    return self->sha256_hex;
}
