/*  dataset.h: a labelled data set in memory: features (rows × cols float32),
 *  one label per row, column names, the learning task, and a sha256 that
 *  identifies the exact data (lineage for the models trained on it). */
#ifndef MAAS_DATASET_H
#define MAAS_DATASET_H

#include "err.h"
#include "export.h"

#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  What the labels mean, which decides the losses and output layers that fit.
typedef enum {
    MAAS_DATASET_AUTO,          //  infer from the labels (constructor only)
    MAAS_DATASET_BINARY,        //  labels 0 or 1
    MAAS_DATASET_MULTICLASS,    //  labels 0 .. classes-1 (integers)
    MAAS_DATASET_REGRESSION     //  any finite label
} maas_dataset_task_t;

#define MAAS_DATASET_SHA256_BYTES 32
#define MAAS_DATASET_SHA256_HEX   65       //  64 hex digits and a NUL
#define MAAS_DATASET_MAX_CLASSES  65536    //  largest class index + 1
#define MAAS_DATASET_MAX_NAME     128      //  longest column or data set name

typedef struct _maas_dataset_t maas_dataset_t;

//  Name of a task ("binary"), and back (-1 if unknown; "auto" parses).
MAAS_EXPORT const char *maas_dataset_task_name (maas_dataset_task_t task);
MAAS_EXPORT int maas_dataset_task_parse (const char *name);

//  New data set over FEATURES (rows × cols) and LABELS (rows × 1), taking
//  ownership of both (the pointers are NULLed, also on failure). COLUMNS
//  names the cols features (NULL: "x0", "x1", ...), LABEL the label column
//  (NULL: "label"); both are copied. TASK AUTO infers it: labels all 0/1 →
//  binary, all integers in [0, MAX_CLASSES) → multiclass, else regression.
//  Validates what the task requires and that every value is finite, and
//  computes the sha256. NULL on failure with a reason in ERR
//  ("label at row 7 is 2.5: multiclass labels are class indices").
MAAS_EXPORT maas_dataset_t *maas_dataset_new (maas_tensor_t **features_p, maas_tensor_t **labels_p,
                                              const char *const *columns, const char *label,
                                              maas_dataset_task_t task, maas_err_t *err);
//  New data set from the CSV file PATH (header row, numeric columns; see
//  csv.h) with LABEL naming the label column (name or 0-based index; NULL:
//  the last one), under TASK as maas_dataset_new. NULL with a reason in ERR
//  that names the file, and the line and column of a bad value
//  ("iris.csv:7:3 'abc' is not a number").
MAAS_EXPORT maas_dataset_t *maas_dataset_from_csv (const char *path, const char *label,
                                                   maas_dataset_task_t task, maas_err_t *err);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_dataset_destroy (maas_dataset_t **self_p);

MAAS_EXPORT size_t maas_dataset_rows (const maas_dataset_t *self);
MAAS_EXPORT size_t maas_dataset_cols (const maas_dataset_t *self);
MAAS_EXPORT maas_dataset_task_t maas_dataset_task (const maas_dataset_t *self);
//  Number of classes: 2 for binary, max label + 1 for multiclass, 0 for regression.
MAAS_EXPORT size_t maas_dataset_classes (const maas_dataset_t *self);
//  The features (rows × cols) and labels (rows × 1), borrowed.
MAAS_EXPORT const maas_tensor_t *maas_dataset_features (const maas_dataset_t *self);
MAAS_EXPORT const maas_tensor_t *maas_dataset_labels (const maas_dataset_t *self);
//  Name of feature column I (asserted < cols) and of the label column, borrowed.
MAAS_EXPORT const char *maas_dataset_column (const maas_dataset_t *self, size_t i);
MAAS_EXPORT const char *maas_dataset_label (const maas_dataset_t *self);
//  The classes' names ("benign", "malignant": class k is names[k]), set
//  from a CSV whose labels were names or from the stored manifest. 0, or
//  -1 if COUNT is not the classes or memory is short. They are not part of
//  the sha256 (they name the labels, they are not data).
MAAS_EXPORT int maas_dataset_set_class_names (maas_dataset_t *self, const char *const *names,
                                              size_t count);
//  The names (borrowed, classes of them), or NULL when classes are numbered.
MAAS_EXPORT const char *const *maas_dataset_class_names (const maas_dataset_t *self);
//  The sha256 (32 bytes, borrowed) and its lowercase hex form.
MAAS_EXPORT const uint8_t *maas_dataset_sha256 (const maas_dataset_t *self);
MAAS_EXPORT const char *maas_dataset_sha256_hex (const maas_dataset_t *self);

//  sha256 of a data set's content, as maas_dataset_new computes it: rows and
//  cols as two little-endian uint64, then the features and the labels as
//  little-endian float32 bytes. Writes 32 bytes to OUT. Loaders use it to
//  check what they read.
MAAS_EXPORT void maas_dataset_hash (const float *features, const float *labels, size_t rows,
                                    size_t cols, uint8_t out[MAAS_DATASET_SHA256_BYTES]);
//  Lowercase hex of a 32-byte digest into HEX (65 bytes).
MAAS_EXPORT void maas_dataset_hex (const uint8_t digest[MAAS_DATASET_SHA256_BYTES],
                                   char hex[MAAS_DATASET_SHA256_HEX]);

#ifdef __cplusplus
}
#endif

#endif
