/*  optim.h: gradient-descent optimizers over a fixed set of parameter
 *  tensors ("slots"): SGD, momentum, Nesterov momentum, Adagrad, RMSprop and
 *  Adam, each with optional L2 weight decay. State is allocated once. */
#ifndef MAAS_OPTIM_H
#define MAAS_OPTIM_H

#include "err.h"
#include "export.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAAS_OPTIM_SGD,         //  p -= lr g
    MAAS_OPTIM_MOMENTUM,    //  v = mu v + g; p -= lr v
    MAAS_OPTIM_NESTEROV,    //  v = mu v + g; p -= lr (g + mu v)
    MAAS_OPTIM_ADAGRAD,     //  s += g²; p -= lr g / (√s + eps)
    MAAS_OPTIM_RMSPROP,     //  s = rho s + (1-rho) g²; p -= lr g / (√s + eps)
    MAAS_OPTIM_ADAM,        //  bias-corrected moments, as in PyTorch's Adam
    MAAS_OPTIM_COUNT
} maas_optim_kind_t;

typedef struct {
    maas_optim_kind_t kind;    //  which update rule
    float lr;                  //  learning rate, > 0
    float momentum;            //  mu for momentum and nesterov, [0, 1)
    float beta1;               //  Adam first-moment decay, [0, 1)
    float beta2;               //  Adam second-moment decay, [0, 1)
    float rho;                 //  RMSprop decay, [0, 1)
    float eps;                 //  denominator guard of adagrad/rmsprop/adam, > 0
    float weight_decay;        //  L2: g += weight_decay * p on decayed slots, >= 0
} maas_optim_config_t;

//  Name of an optimizer ("adam"), and back ("sgd", "momentum", "nesterov",
//  "adagrad", "rmsprop", "adam"); -1 if unknown.
MAAS_EXPORT const char *maas_optim_name (maas_optim_kind_t kind);
MAAS_EXPORT int maas_optim_parse (const char *name);
//  Usual defaults for KIND: lr 0.01 (sgd, momentum, nesterov, adagrad) or
//  0.001 (rmsprop, adam); momentum 0.9; betas 0.9/0.999; rho 0.9; eps 1e-8
//  (adam) or 1e-10 (adagrad) / 1e-8 (rmsprop); no weight decay.
MAAS_EXPORT maas_optim_config_t maas_optim_defaults (maas_optim_kind_t kind);
//  0 if every field of CONFIG is in range; else -1 with a message in ERR
//  (may be NULL; MAAS_ERR_INPUT): "optimizer adam: lr out of range, got -1".
MAAS_EXPORT int maas_optim_check (const maas_optim_config_t *config, maas_err_t *err);

typedef struct _maas_optim_t maas_optim_t;

//  New optimizer state for N_SLOTS parameter tensors of SIZES[i] floats;
//  CONFIG is copied and must pass maas_optim_check (asserted). NULL if out
//  of memory.
MAAS_EXPORT maas_optim_t *maas_optim_new (const maas_optim_config_t *config, const size_t *sizes,
                                          size_t n_slots);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_optim_destroy (maas_optim_t **self_p);
//  Start a step: call once before the updates of one batch (Adam's bias
//  correction counts steps).
MAAS_EXPORT void maas_optim_begin (maas_optim_t *self);
//  Update slot SLOT's parameters PARAM (sizes[slot] floats) in place with
//  gradient GRAD; DECAY applies the configured L2 weight decay (weights
//  usually, not biases). Allocates nothing.
MAAS_EXPORT void maas_optim_update (maas_optim_t *self, size_t slot, float *param,
                                    const float *grad, bool decay);
//  Forget all state (moments, step count), as if new.
MAAS_EXPORT void maas_optim_reset (maas_optim_t *self);

#ifdef __cplusplus
}
#endif

#endif
