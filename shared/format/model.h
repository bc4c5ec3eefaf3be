/*  model.h: a trained model: an MLP plus its training metadata, and the
 *  model file format (msgpack, versions 1 and 2, specified in
 *  docs/model-format.md) that stores it: encode, decode, save, load, and
 *  the sha256 of its weights. */
#ifndef MAAS_MODEL_H
#define MAAS_MODEL_H

#include "err.h"
#include "export.h"

#include "codec.h"
#include "mlp.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAAS_MODEL_MAGIC        "MAAS-MODEL"
#define MAAS_MODEL_FORMAT       2    //  the newest format version this build writes and reads
#define MAAS_MODEL_FORMAT_MIN   1    //  the oldest it reads (and writes, when it can express a model)
#define MAAS_MODEL_MAX_BYTES    ((size_t) 1 << 30)    //  largest blob encoded or decoded (1 GiB)
#define MAAS_MODEL_META_MAX     256                   //  metadata entries per model
#define MAAS_MODEL_META_KEY_MAX 64                    //  bytes in a metadata key
#define MAAS_MODEL_META_STR_MAX 4096                  //  bytes in a metadata string value
#define MAAS_MODEL_COLUMN_MAX   256                   //  bytes in an input column name
#define MAAS_SHA256_HEX_SIZE    65                    //  64 lowercase hex digits and a NUL
#define MAAS_MODEL_META_OVERHEAD                                                                   \
    ((size_t) 64 << 10)    //  room maas_model_encoded_size keeps for metadata

//  What a model predicts, derived from its output layer: sigmoid outputs
//  are binary (one probability per unit), softmax outputs multiclass, any
//  other activation (linear, relu, tanh) regression.
typedef enum {
    MAAS_TASK_BINARY,        //  sigmoid output
    MAAS_TASK_MULTICLASS,    //  softmax output
    MAAS_TASK_REGRESSION     //  linear, relu or tanh output
} maas_task_t;

//  Every decode, load and save failure is a maas_err_t (err.h): code
//  MAAS_ERR_INPUT for a blob or file that fails a check (the text names the
//  check and the place: "model: layer 2: weights have 32 rows, ..."),
//  MAAS_ERR_IO when the file cannot be read or written, MAAS_ERR_NOMEM.

//  A metadata value: a string, an integer or a (finite) float.
typedef enum { MAAS_META_STR, MAAS_META_INT, MAAS_META_DOUBLE } maas_meta_type_t;

typedef struct {
    const char *key;          //  borrowed from the model
    maas_meta_type_t type;    //  which of the values below holds
    const char *str;          //  MAAS_META_STR: borrowed from the model
    int64_t integer;          //  MAAS_META_INT
    double number;            //  MAAS_META_DOUBLE (and INT, converted)
} maas_meta_entry_t;

typedef struct _maas_model_t maas_model_t;

//  ---------------------------------------------------------------------------
//  Lifecycle

//  New model around *MLP_P, taking ownership (sets *MLP_P to NULL, and
//  destroys the MLP if the model cannot be made). NULL if out of memory.
MAAS_EXPORT maas_model_t *maas_model_new (maas_mlp_t **mlp_p);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_model_destroy (maas_model_t **self_p);
//  The network (borrowed; the model keeps it).
MAAS_EXPORT maas_mlp_t *maas_model_mlp (maas_model_t *self);
MAAS_EXPORT const maas_mlp_t *maas_model_mlp_const (const maas_model_t *self);
//  The task, from the output layer's activation; and its name
//  ("binary", "multiclass", "regression").
MAAS_EXPORT maas_task_t maas_model_task (const maas_model_t *self);
MAAS_EXPORT const char *maas_task_name (maas_task_t task);

//  ---------------------------------------------------------------------------
//  Metadata: key → string | integer | float, kept sorted by key (bytewise),
//  one value per key (setting a key again replaces it). Keys are 1 to
//  MAAS_MODEL_META_KEY_MAX bytes; strings at most MAAS_MODEL_META_STR_MAX.
//  Setters return 0, or -1 if a key or value is out of those limits, a
//  float is not finite, the model already has MAAS_MODEL_META_MAX entries,
//  or memory is short.

MAAS_EXPORT int maas_model_meta_set_str (maas_model_t *self, const char *key, const char *value);
MAAS_EXPORT int maas_model_meta_set_int (maas_model_t *self, const char *key, int64_t value);
MAAS_EXPORT int maas_model_meta_set_double (maas_model_t *self, const char *key, double value);
MAAS_EXPORT size_t maas_model_meta_count (const maas_model_t *self);
//  Entry I (0-based, in key order); asserted in range.
MAAS_EXPORT maas_meta_entry_t maas_model_meta_at (const maas_model_t *self, size_t i);
//  The string under KEY (borrowed), or NULL if absent or not a string.
MAAS_EXPORT const char *maas_model_meta_str (const maas_model_t *self, const char *key);
//  0 and the value if KEY holds an integer (_int), or any number (_number);
//  -1 otherwise.
MAAS_EXPORT int maas_model_meta_int (const maas_model_t *self, const char *key, int64_t *value);
MAAS_EXPORT int maas_model_meta_number (const maas_model_t *self, const char *key, double *value);

//  ---------------------------------------------------------------------------
//  Input column names: what each input is called in the training data, so
//  input files are matched by name. A model without them (trained from
//  .npy, or written before they were stored) takes its inputs by position.

//  Set the names, one per input in input order (copied). 0, or -1 if COUNT
//  is not the model's inputs, a name is empty, over MAAS_MODEL_COLUMN_MAX
//  bytes or repeated, or memory is short (the model keeps its old names).
MAAS_EXPORT int maas_model_set_columns (maas_model_t *self, const char *const *names, size_t count);
//  The names (borrowed: inputs of them), or NULL when the model has none.
MAAS_EXPORT const char *const *maas_model_columns (const maas_model_t *self);

//  ---------------------------------------------------------------------------
//  Format: version 1, or 2 for a network with an output scaling or an
//  input scale

//  The format version MODEL encodes as: the lowest that can express it (2
//  when its network scales its outputs, maas_mlp_target_mean, or its
//  signature scales its inputs, maas_model_input_scale; else 1).
MAAS_EXPORT int maas_model_format (const maas_model_t *self);

//  Encode to a new blob (*BLOB_P, the caller frees it) of *SIZE_P bytes,
//  in format maas_model_format (SELF).
//  The same model always encodes to the same bytes. Returns 0, or -1 with
//  ERR (may be NULL) set: a parameter is NaN or infinite (a diverged
//  training run: such a model could never serve), the blob would pass
//  MAAS_MODEL_MAX_BYTES, or memory is short.
MAAS_EXPORT int maas_model_encode (const maas_model_t *self, uint8_t **blob_p, size_t *size_p,
                                   maas_err_t *err);
//  Decode SIZE bytes of BLOB (format 1 or 2) into a new model (the caller
//  destroys it). Everything is checked before anything large is allocated: magic,
//  version, every key and type, every size against the architecture, the
//  sha256 of the parameters, finite values. NULL with ERR (may be NULL)
//  set on any failure; never reads outside BLOB.
MAAS_EXPORT maas_model_t *maas_model_decode (const void *blob, size_t size, maas_err_t *err);

//  Encode to PATH (written to a temporary file then renamed, so readers
//  never see half a model). Returns 0, or -1 with ERR set.
MAAS_EXPORT int maas_model_save (const maas_model_t *self, const char *path, maas_err_t *err);
//  Write SIZE bytes of BLOB to PATH the same way (any file: an exported
//  model too). Returns 0, or -1 with ERR set (MAAS_ERR_IO, MAAS_ERR_NOMEM).
MAAS_EXPORT int maas_model_write_file (const char *path, const void *blob, size_t size,
                                       maas_err_t *err);
//  Read and decode PATH. NULL with ERR set (the message names the path).
MAAS_EXPORT maas_model_t *maas_model_load (const char *path, maas_err_t *err);

//  SHA-256 of the model's parameters as the format stores it in "sha256"
//  (see docs/model-format.md for what it covers), as lowercase hex.
MAAS_EXPORT void maas_model_sha256 (const maas_model_t *self, char hex[MAAS_SHA256_HEX_SIZE]);
//  SHA-256 identifying the weights alone (docs/model-format.md, "The
//  weights hash"): input count, each layer's units, activation, weights and
//  bias, the normalisation and the output scaling. Metadata (job id, times)
//  and column names are not covered, so two identical trainings have the
//  same weights hash though their files differ.
MAAS_EXPORT void maas_model_weights_sha256 (const maas_model_t *self,
                                            char hex[MAAS_SHA256_HEX_SIZE]);
//  Bytes a model of INPUTS features through LAYERS would encode to, at
//  most (parameters, normalisation and output scaling, headers, column
//  names of the longest length and MAAS_MODEL_META_OVERHEAD for metadata):
//  what a train job checks against the registry's limit before it trains.
MAAS_EXPORT size_t maas_model_encoded_size (size_t inputs, const maas_layer_spec_t *layers,
                                            size_t n_layers);
//  SHA-256 of SIZE bytes (a whole blob, for content addressing), in hex.
MAAS_EXPORT void maas_sha256_hex (const void *data, size_t size, char hex[MAAS_SHA256_HEX_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
