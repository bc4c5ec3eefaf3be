/*  train.h: training a maas_mlp_t on rows of features: forward and backward
 *  passes on mini-batches (sgemm), a loss, an optimizer, seeded shuffling,
 *  a validation split, early stopping, a per-epoch progress callback and
 *  cancellation at the next batch boundary. Same seed, same weights. */
#ifndef MAAS_TRAIN_H
#define MAAS_TRAIN_H

#include "export.h"

#include "loss.h"
#include "mlp.h"
#include "optim.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Largest mini-batch accepted (bounds the workspace a job spec can ask for).
#define MAAS_TRAIN_MAX_BATCH 65536

//  What one epoch did, as handed to the progress callback.
typedef struct {
    size_t epoch;         //  1-based epoch just finished
    size_t epochs;        //  epochs planned
    double train_loss;    //  mean loss over the epoch's batches (mse: in target units)
    double val_loss;      //  loss on the validation rows (NaN: no split)
    double val_metric;    //  accuracy (bce, softmax_ce) or RMSE (mse); NaN: no split
    size_t samples;       //  training rows seen so far, all epochs
} maas_train_epoch_t;

//  Called after each epoch; return 0 to go on, nonzero to stop training
//  (the weights are kept as they are).
typedef int (maas_train_epoch_fn) (const maas_train_epoch_t *epoch, void *arg);

typedef struct {
    maas_loss_t loss;                 //  loss to minimise (must fit the output activation)
    maas_optim_config_t optim;        //  optimizer and its hyper-parameters
    size_t batch_size;                //  rows per step, 1 .. MAAS_TRAIN_MAX_BATCH
    size_t epochs;                    //  passes over the training rows, >= 1
    double val_fraction;              //  share of rows held out for validation, [0, 0.9]
    size_t patience;                  //  early stopping: epochs without a better
                                      //  monitored loss before stopping; 0: off
    bool restore_best;                //  with patience: end with the best epoch's weights
    bool standardize;                 //  fit mean/std on the training rows into the network
    bool standardize_target;          //  mse, linear output: train on standardised targets,
                                      //  their mean/std stored as the network's output scaling
    uint64_t seed;                    //  drives the validation split and shuffling
    maas_train_epoch_fn *on_epoch;    //  progress callback or NULL
    void *on_epoch_arg;               //  its argument
    const atomic_bool *cancel;        //  set (any thread) to stop at the next batch; or NULL
} maas_train_config_t;

//  Defaults: bce, Adam lr 1e-3, batch 32, 10 epochs, no validation, no
//  early stopping, no input standardisation, target standardisation (for
//  mse with a linear output layer), seed 0, no callback.
MAAS_EXPORT maas_train_config_t maas_train_defaults (void);

//  Why training ended.
typedef enum {
    MAAS_TRAIN_COMPLETED,        //  every epoch ran
    MAAS_TRAIN_EARLY_STOPPED,    //  patience ran out
    MAAS_TRAIN_CANCELLED,        //  the cancel flag was set
    MAAS_TRAIN_STOPPED           //  the callback asked to stop
} maas_train_outcome_t;

//  Summary of a training run.
typedef struct {
    maas_train_outcome_t outcome;    //  why it ended
    size_t epochs_run;               //  epochs finished
    size_t best_epoch;               //  epoch with the lowest monitored loss (1-based)
    double train_loss;               //  last epoch's mean training loss
    double val_loss;                 //  last (or restored best) validation loss; NaN: none
    double val_metric;               //  matching metric, as in maas_train_epoch_t
    size_t train_rows;               //  rows trained on
    size_t val_rows;                 //  rows held out
} maas_train_result_t;

//  Name of an outcome ("completed", "early_stopped", "cancelled", "stopped").
MAAS_EXPORT const char *maas_train_outcome_name (maas_train_outcome_t outcome);

typedef struct _maas_train_t maas_train_t;

//  New trainer for MLP (borrowed: it is updated in place and must outlive
//  the trainer) with CONFIG (copied). Checks the configuration against the
//  network; NULL with a message in ERR (may be NULL; MAAS_ERR_INPUT: "loss
//  mse does not fit a softmax output layer ...") if it does not fit, or out
//  of memory (MAAS_ERR_NOMEM). All
//  buffers for one batch are allocated here: steps allocate nothing.
MAAS_EXPORT maas_train_t *maas_train_new (maas_mlp_t *mlp, const maas_train_config_t *config,
                                          maas_err_t *err);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_train_destroy (maas_train_t **self_p);

//  Train on ROWS rows of X (rows × inputs, raw features) with targets Y
//  (laid out per loss, see loss.h). Validates the data (finite features,
//  valid targets, enough rows for the split), then runs the loop described
//  by the config. Fills RESULT (may be NULL). Returns 0 (whatever the
//  outcome), or -1 with maas_train_error set when the data are refused.
MAAS_EXPORT int maas_train_fit (maas_train_t *self, const float *x, const float *y, size_t rows,
                                maas_train_result_t *result);

//  Losses and metrics are in the targets' units: with a target
//  standardisation the outputs are scaled back before they are compared.

//  Mean loss over ROWS rows (any number) of X, Y with the current weights;
//  writes the metric (accuracy or RMSE) to *METRIC if not NULL. Data are
//  trusted (validated by the caller).
MAAS_EXPORT double maas_train_evaluate (maas_train_t *self, const float *x, const float *y,
                                        size_t rows, double *metric);

//  Metrics of the current weights on a data set.
typedef struct {
    double loss;        //  mean loss
    double accuracy;    //  bce, softmax_ce; NaN for mse
    double auc;         //  ROC AUC for bce with one output; NaN otherwise
                        //  or when a class is absent
    double rmse;        //  mse: root of the mean squared error; NaN otherwise
} maas_train_metrics_t;

//  Fill METRICS for ROWS rows of X, Y (raw features, targets as for fit).
//  Validates the data like maas_train_fit. Returns 0, or -1 with
//  maas_train_error set (bad data, out of memory).
MAAS_EXPORT int maas_train_metrics (maas_train_t *self, const float *x, const float *y, size_t rows,
                                    maas_train_metrics_t *metrics);

//  One forward and backward pass on ROWS (<= batch_size) rows of X, Y:
//  returns the mean loss and leaves the gradients, readable below. Does not
//  change the weights. Data are trusted. With a target standardisation
//  the loss and gradients are those minimised: in standardised units.
MAAS_EXPORT double maas_train_gradient (maas_train_t *self, const float *x, const float *y,
                                        size_t rows);
//  Gradient of layer I's weights and bias from the last maas_train_gradient
//  (borrowed; same shapes as maas_mlp_weights / maas_mlp_bias).
MAAS_EXPORT const maas_tensor_t *maas_train_weight_grad (const maas_train_t *self, size_t i);
MAAS_EXPORT const maas_tensor_t *maas_train_bias_grad (const maas_train_t *self, size_t i);
//  Apply one optimizer step with the last gradients.
MAAS_EXPORT void maas_train_step (maas_train_t *self);

//  Message of the last failure, "" if none (borrowed).
MAAS_EXPORT const char *maas_train_error (const maas_train_t *self);

#ifdef __cplusplus
}
#endif

#endif
