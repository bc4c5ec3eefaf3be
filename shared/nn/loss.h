/*  loss.h: training losses and evaluation metrics. Losses take the output
 *  layer's pre-activations (logits), so binary and softmax cross-entropy are
 *  computed stably (log-sum-exp) however large the logits grow. */
#ifndef MAAS_LOSS_H
#define MAAS_LOSS_H

#include "err.h"
#include "export.h"

#include "mlp.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAAS_LOSS_BCE,           //  binary cross-entropy; sigmoid outputs, targets in [0, 1]
    MAAS_LOSS_SOFTMAX_CE,    //  softmax cross-entropy; softmax outputs, class indices
    MAAS_LOSS_MSE,           //  mean squared error over every output
    MAAS_LOSS_COUNT
} maas_loss_t;

//  Name of a loss ("bce", "softmax_ce", "mse"), and back: parse also takes
//  "ce", "cross_entropy" and "binary_cross_entropy"; -1 if unknown.
MAAS_EXPORT const char *maas_loss_name (maas_loss_t loss);
MAAS_EXPORT int maas_loss_parse (const char *name);

//  Whether LOSS can train a network whose last layer has activation ACT
//  (bce: sigmoid; softmax_ce: softmax; mse: anything but softmax).
MAAS_EXPORT bool maas_loss_fits (maas_loss_t loss, maas_act_t act);

//  Targets Y per loss: bce and mse take rows × cols values; softmax_ce takes
//  one class index per row (0 .. cols-1, as a float). Y is trusted here:
//  check it with maas_loss_check_targets first.
//  Mean loss over the ROWS rows of logits Z (rows × cols) given the output
//  activation ACT. If GRAD is not NULL, writes dLoss/dZ there (rows × cols;
//  the derivative of the mean, so already divided by rows). OUT, if not
//  NULL, receives the activated outputs (probabilities). Sums in double.
MAAS_EXPORT double maas_loss_eval (maas_loss_t loss, maas_act_t act, const float *z, const float *y,
                                   size_t rows, size_t cols, float *grad, float *out);

//  0 if Y (laid out as above) is valid for LOSS with COLS outputs: finite,
//  in [0, 1] for bce, integer class indices below COLS for softmax_ce.
//  Otherwise -1 and a message naming the first bad row in ERR (may be NULL).
MAAS_EXPORT int maas_loss_check_targets (maas_loss_t loss, const float *y, size_t rows, size_t cols,
                                         maas_err_t *err);

//  Fraction of rows classified right from outputs P (rows × cols
//  probabilities): with one column, p >= 0.5 means class 1 and Y holds 0/1;
//  with several, the arg max is compared with the class index in Y.
MAAS_EXPORT double maas_metric_accuracy (const float *p, const float *y, size_t rows, size_t cols);
//  Area under the ROC curve of SCORES for binary labels Y (nonzero =
//  positive), ties counted half (Mann-Whitney). NaN if a class is absent or
//  out of memory. Allocates rows indices.
MAAS_EXPORT double maas_metric_auc (const float *scores, const float *y, size_t rows);

#ifdef __cplusplus
}
#endif

#endif
