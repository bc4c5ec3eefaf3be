/*  forward.h: inference. A predictor runs a trained network over rows of
 *  features with a workspace it allocates once, so the worker's and batch
 *  scoring's hot loops allocate nothing and touch no fresh pages. */
#ifndef MAAS_FORWARD_H
#define MAAS_FORWARD_H

#include "export.h"

#include "mlp.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Rows pushed through the network per block: the workspace holds this many
//  rows of the widest layer, so its size is bounded whatever the batch. A
//  multiple of the row group forward.c pads to (24), so whole blocks need
//  no padding.
#define MAAS_PREDICTOR_BLOCK 1152

typedef struct _maas_predictor_t maas_predictor_t;

//  New predictor for MLP, which it borrows: the network must outlive the
//  predictor and must not change shape while it exists (weights may change
//  between runs; each run reads them afresh). Allocates the whole workspace
//  now. NULL if out of memory. Several predictors may run at once over one
//  const network (one predictor per thread: a predictor is not shared).
MAAS_EXPORT maas_predictor_t *maas_predictor_new (const maas_mlp_t *mlp);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_predictor_destroy (maas_predictor_t **self_p);

//  Run ROWS rows of X (rows × inputs floats, row-major, raw unstandardised
//  features: the network's stored standardisation is applied here) and
//  write rows × outputs floats to OUT: probabilities for sigmoid and softmax
//  outputs, the layer's values otherwise. Allocates nothing. Returns 0, or
//  -1 when X holds a NaN or infinity (OUT is then undefined; the message
//  from maas_predictor_error names the row and column). rows == 0 is a
//  no-op. X and OUT must not overlap. With BLAS on one thread (as workers
//  and scoring run it: maas_blas_set_threads (1)) a row's outputs are the
//  same bits whatever other rows share its batch, on every OpenBLAS kernel;
//  with more threads OpenBLAS may split a large product differently and
//  change the last bits (about 1e-7 relative).
MAAS_EXPORT int maas_predictor_run (maas_predictor_t *self, const float *x, size_t rows,
                                    float *out);
//  Message of the last failed run ("row 3 column 7 is not a finite
//  number"), "" if none; borrowed, valid until the next run.
MAAS_EXPORT const char *maas_predictor_error (const maas_predictor_t *self);
//  The network this predictor runs (borrowed).
MAAS_EXPORT const maas_mlp_t *maas_predictor_mlp (const maas_predictor_t *self);

//  Z (rows × cols, row-major) += BIAS (cols floats, NULL: none) on each
//  row, then ACT applied in place (softmax over each row, max-subtracted
//  so it never overflows). The building block of every forward pass.
MAAS_EXPORT void maas_act_forward (maas_act_t act, float *z, size_t rows, size_t cols,
                                   const float *bias);
//  Backward through ACT: GRAD (rows × cols) holds dLoss/dA on entry and
//  dLoss/dZ on return, computed from the activation's outputs A (what
//  maas_act_forward left), in place. Softmax uses its full Jacobian.
MAAS_EXPORT void maas_act_backward (maas_act_t act, const float *a, float *grad, size_t rows,
                                    size_t cols);

#ifdef __cplusplus
}
#endif

#endif
