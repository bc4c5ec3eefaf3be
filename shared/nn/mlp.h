/*  mlp.h: multilayer perceptrons: dense layers with an activation each,
 *  input standardisation and output scaling stored with the network,
 *  seeded initialisation.
 *  Forward/backward passes and training live in forward.h and train.h. */
#ifndef MAAS_MLP_H
#define MAAS_MLP_H

#include "export.h"

#include "tensor.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAAS_ACT_LINEAR,     //  identity (regression outputs)
    MAAS_ACT_RELU,       //  max(0, z)
    MAAS_ACT_TANH,       //  tanh(z)
    MAAS_ACT_SIGMOID,    //  1 / (1 + e^-z) (binary outputs)
    MAAS_ACT_SOFTMAX,    //  normalised exp over the row (class outputs)
    MAAS_ACT_COUNT
} maas_act_t;

//  Largest network accepted (per layer units, layers): bounds what a model
//  file or a job spec can make us allocate.
#define MAAS_MLP_MAX_LAYERS 64
#define MAAS_MLP_MAX_UNITS  65536

//  One dense layer: UNITS outputs, then ACT.
typedef struct {
    size_t units;      //  outputs of the layer
    maas_act_t act;    //  activation applied to them
} maas_layer_spec_t;

typedef struct _maas_mlp_t maas_mlp_t;

//  Name of an activation ("relu"), and back; -1 if unknown.
MAAS_EXPORT const char *maas_act_name (maas_act_t act);
MAAS_EXPORT int maas_act_parse (const char *name);

//  New network taking INPUTS features through N_LAYERS layers; weights and
//  biases are zero (call maas_mlp_init or fill them). NULL if a size is 0 or
//  over the limits above, or memory is short. Copies LAYERS.
MAAS_EXPORT maas_mlp_t *maas_mlp_new (size_t inputs, const maas_layer_spec_t *layers,
                                      size_t n_layers);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_mlp_destroy (maas_mlp_t **self_p);
//  Deep copy (weights, normalisation); NULL if out of memory.
MAAS_EXPORT maas_mlp_t *maas_mlp_dup (const maas_mlp_t *self);

//  Seeded initialisation, from a generator seeded with SEED: same seed, same
//  weights. He-normal for relu layers, Glorot-uniform for the others,
//  biases zero; but a regression network (linear output layer) starts as
//  PyTorch's nn.Linear does, weights and biases uniform within
//  ±1/sqrt(fan_in), with its output layer at zero (first predictions: the
//  target mean).
MAAS_EXPORT void maas_mlp_init (maas_mlp_t *self, uint64_t seed);

MAAS_EXPORT size_t maas_mlp_inputs (const maas_mlp_t *self);
MAAS_EXPORT size_t maas_mlp_outputs (const maas_mlp_t *self);
MAAS_EXPORT size_t maas_mlp_layer_count (const maas_mlp_t *self);
//  Spec of layer I (0-based; asserted in range).
MAAS_EXPORT maas_layer_spec_t maas_mlp_layer (const maas_mlp_t *self, size_t i);
//  Weights of layer I, fan_in × units (borrowed), and its 1 × units bias.
MAAS_EXPORT maas_tensor_t *maas_mlp_weights (maas_mlp_t *self, size_t i);
MAAS_EXPORT maas_tensor_t *maas_mlp_bias (maas_mlp_t *self, size_t i);
MAAS_EXPORT const maas_tensor_t *maas_mlp_weights_const (const maas_mlp_t *self, size_t i);
MAAS_EXPORT const maas_tensor_t *maas_mlp_bias_const (const maas_mlp_t *self, size_t i);
//  Total number of weights and biases.
MAAS_EXPORT size_t maas_mlp_param_count (const maas_mlp_t *self);

//  Input standardisation x' = (x - mean) / std, applied by every forward
//  pass. Copies INPUTS floats from each; std values <= 0 or non-finite are
//  stored as 1. NULL mean clears it. Returns 0, -1 if out of memory.
MAAS_EXPORT int maas_mlp_set_norm (maas_mlp_t *self, const float *mean, const float *std);
//  The stored mean and std (INPUTS floats each), or NULL when there is none.
MAAS_EXPORT const float *maas_mlp_norm_mean (const maas_mlp_t *self);
MAAS_EXPORT const float *maas_mlp_norm_std (const maas_mlp_t *self);

//  Output scaling y = y' * std + mean, applied by every forward pass after
//  the last layer: the inverse of the target standardisation a regression
//  network was trained with; only a linear output layer has one. Copies
//  OUTPUTS floats from each; std values <= 0 or non-finite are stored as 1,
//  a non-finite mean as 0. NULL mean clears it. Returns 0, or -1 if the
//  output layer is not linear (nothing stored) or memory is short.
MAAS_EXPORT int maas_mlp_set_target_norm (maas_mlp_t *self, const float *mean, const float *std);
//  The stored output mean and std (OUTPUTS floats each), or NULL when none.
MAAS_EXPORT const float *maas_mlp_target_mean (const maas_mlp_t *self);
MAAS_EXPORT const float *maas_mlp_target_std (const maas_mlp_t *self);

#ifdef __cplusplus
}
#endif

#endif
