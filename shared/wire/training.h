/*  training.h: what a `train` job asks for (docs/training-jobs.md): the
 *  data, the network, the loss, the optimizer and the training loop, as the
 *  msgpack "params" of the job, with every check that can be made before
 *  any training starts, each failing with a message a person can act on;
 *  and what it answers, the RESULT payload (packed by the trainer, parsed
 *  by clients). */
#ifndef MAAS_TRAINING_H
#define MAAS_TRAINING_H

#include "export.h"

#include "codec.h"
#include "dataset.h"
#include "mlp.h"
#include "train.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Most epochs a job may ask for.
#define MAAS_TRAINING_MAX_EPOCHS 100000
//  Longest model name (as the registry's).
#define MAAS_TRAINING_NAME_MAX   64
//  Largest inline data set (the job's payload), bytes.
#define MAAS_TRAINING_INLINE_MAX ((size_t) 64 << 20)

//  A train job's spec. A plain value: no allocation, copy it freely.
typedef struct {
    char model[MAAS_TRAINING_NAME_MAX + 1];           //  model name to publish
    char dataset[MAAS_DATASET_MAX_NAME + 1];          //  stored data set, "" for inline data
    maas_layer_spec_t layers[MAAS_MLP_MAX_LAYERS];    //  dense layers, input side first
    size_t n_layers;                                  //  layers in use
    maas_train_config_t train;    //  loss, optimizer, batch, epochs, split, early
                                  //  stopping, standardisation, seed (no callbacks)
    char description[256];        //  free text stored with the model, or ""
    double input_scale;           //  inputs are multiplied by it before anything else, in
                                  //  training and (stored with the model) in serving; 1: none
} maas_training_t;

//  Defaults: no model, no data, no layers; bce, Adam lr 0.001, batch 32,
//  10 epochs, validation split 0.2, no early stopping, standardised inputs,
//  seed 0.
MAAS_EXPORT void maas_training_init (maas_training_t *spec);

//  Set the layers from "64:relu,64:relu,1:sigmoid" (units:activation,
//  comma-separated). Returns 0, or -1 with ERR ("layer 2: unknown
//  activation 'relo' (linear, relu, tanh, sigmoid, softmax)").
MAAS_EXPORT int maas_training_parse_layers (maas_training_t *spec, const char *text,
                                            maas_err_t *err);
//  Set the optimizer NAME with its defaults (lr and friends). -1 with ERR
//  if unknown ("unknown optimizer 'adamw' (sgd, momentum, ...)").
MAAS_EXPORT int maas_training_set_optimizer (maas_training_t *spec, const char *name,
                                             maas_err_t *err);

//  Everything that can be checked without the data: model and data set
//  names, layer count and sizes, optimizer ranges, batch, epochs, split,
//  and that the loss fits the output activation ("loss bce needs a sigmoid
//  output layer, got softmax"). Returns 0, or -1 with ERR.
MAAS_EXPORT int maas_training_check (const maas_training_t *spec, maas_err_t *err);
//  The spec against its data: COLS features, labels for TASK with CLASSES
//  classes. Output units and loss must fit the task ("data set 'digits' has
//  10 classes but the output layer has 3 units"). 0, or -1 with ERR.
MAAS_EXPORT int maas_training_check_data (const maas_training_t *spec, size_t cols,
                                          maas_dataset_task_t task, size_t classes,
                                          maas_err_t *err);

//  Pack the spec as a train job's params map (model excluded: it travels
//  in the job header). Returns 0, or -1 if the packer failed.
MAAS_EXPORT int maas_training_pack (const maas_training_t *spec, msgpack_packer *pk);
//  Read PARAMS (a job's params map) into SPEC with MODEL as model name, then
//  maas_training_check. Unknown keys and wrong types are errors
//  ("train spec: unknown key 'epoch'"). Returns 0, or -1 with ERR.
MAAS_EXPORT int maas_training_decode (maas_training_t *spec, const msgpack_object *params,
                                      const char *model, maas_err_t *err);

//  Inline data sets, for a train job's payload: a map {"features": tensor,
//  "labels": tensor (rows × 1), "task": "binary"|...|"auto"} (tensors as
//  codec.h packs them). _pack returns 0 or -1; _decode returns a new data
//  set or NULL with ERR, reading at most MAAS_TRAINING_INLINE_MAX bytes.
MAAS_EXPORT int maas_training_pack_data (const maas_dataset_t *dataset, msgpack_packer *pk);
MAAS_EXPORT maas_dataset_t *maas_training_decode_data (const void *data, size_t size,
                                                       maas_err_t *err);

//  ---------------------------------------------------------------------------
//  The result of a succeeded train job.

//  How the published network did (NaN: not measured).
typedef struct {
    double accuracy;         //  classification: accuracy (validation rows if any)
    double rmse;             //  regression: RMSE (same rows)
    double train_loss;       //  last epoch's training loss
    double val_loss;         //  validation loss, NaN without a split
    double samples_per_s;    //  training throughput
} maas_training_metrics_t;

typedef struct {
    char model[MAAS_TRAINING_NAME_MAX + 1];    //  model published
    uint64_t version;                          //  its version
    bool created;                              //  false: this job id had published it before
    char outcome[24];                          //  "completed", "early_stopped"
    uint64_t epochs;                           //  epochs run
    double train_seconds;                      //  time in the training loop
    char dataset_sha256[65];                   //  the data trained on, hex
    maas_training_metrics_t metrics;           //  accuracy or rmse, losses, throughput
} maas_training_result_t;

//  Pack RESULT as a train job's RESULT payload. 0, or -1 if the packer
//  failed.
MAAS_EXPORT int maas_training_result_pack (const maas_training_result_t *result,
                                           msgpack_packer *pk);
//  Parse a RESULT payload of SIZE bytes into RESULT: every key required
//  but "val_loss", exactly one of "accuracy" and "rmse". 0, or -1 with ERR
//  ("result: missing key 'epochs'").
MAAS_EXPORT int maas_training_result_parse (maas_training_result_t *result, const void *data,
                                            size_t size, maas_err_t *err);
#ifdef __cplusplus
}
#endif

#endif
