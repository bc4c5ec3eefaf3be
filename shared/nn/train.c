/*  train.c: mini-batch training. Every buffer one batch needs is allocated
 *  by maas_train_new; a step is a gather, one sgemm and one fused pass per
 *  layer forward, two sgemms per layer backward, and the optimizer. */
#include "train.h"
#include "forward.h"
#include "log.h"
#include "rng.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _maas_train_t {
    maas_mlp_t *mlp;               //  network trained, borrowed
    maas_train_config_t config;    //  copy of the caller's configuration
    size_t n_layers;               //  layers of the network
    size_t targets;                //  floats of Y per row (1 for softmax_ce)
    maas_optim_t *optim;           //  slots 2l (weights) and 2l+1 (bias), owned
    maas_tensor_t *input;          //  batch × inputs standardised rows, owned
    maas_tensor_t **acts;          //  n_layers batch × units outputs (last: logits), owned
    maas_tensor_t *out;            //  batch × outputs probabilities, owned
    maas_tensor_t *delta[2];       //  batch × width dLoss/dZ, ping-pong, owned
    maas_tensor_t **wgrad;         //  n_layers weight gradients, owned
    maas_tensor_t **bgrad;         //  n_layers bias gradients, owned
    float *y;                      //  batch × targets gathered targets, owned
    maas_err_t err;                //  last failure
};

maas_train_config_t
maas_train_defaults (void)
{
    return (maas_train_config_t){.loss = MAAS_LOSS_BCE,
                                 .optim = maas_optim_defaults (MAAS_OPTIM_ADAM),
                                 .batch_size = 32,
                                 .epochs = 10,
                                 .standardize_target = true};
}

const char *
maas_train_outcome_name (maas_train_outcome_t outcome)
{
    static const char *names[] = {"completed", "early_stopped", "cancelled", "stopped"};
    return outcome <= MAAS_TRAIN_STOPPED ? names[outcome] : "?";
}

//  Check CONFIG against MLP; -1 with the message in ERR.
static int
s_check_config (const maas_mlp_t *mlp, const maas_train_config_t *c, maas_err_t *err)
{
    maas_act_t last = maas_mlp_layer (mlp, maas_mlp_layer_count (mlp) - 1).act;
    const char *problem = NULL;
    maas_err_t optim_err;
    if (c->loss >= MAAS_LOSS_COUNT)
        problem = "unknown loss";
    else if (!maas_loss_fits (c->loss, last))
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "loss %s does not fit a %s output layer (bce needs "
                             "sigmoid, softmax_ce needs softmax, mse anything but softmax)",
                             maas_loss_name (c->loss), maas_act_name (last));
    else if (c->batch_size < 1 || c->batch_size > MAAS_TRAIN_MAX_BATCH)
        problem = "batch_size must be 1 .. 65536";
    else if (c->epochs < 1)
        problem = "epochs must be >= 1";
    else if (!(c->val_fraction >= 0 && c->val_fraction <= 0.9))
        problem = "val_fraction must be in [0, 0.9]";
    else if (maas_optim_check (&c->optim, &optim_err) != 0)
        problem = optim_err.text;
    else if (maas_mlp_target_mean (mlp) && c->loss != MAAS_LOSS_MSE)
        problem = "the network scales its outputs (a regression network): train it with mse";
    return problem ? maas_err_set (err, MAAS_ERR_INPUT, "%s", problem) : 0;
}

static int
s_alloc (maas_train_t *self)
{
    size_t batch = self->config.batch_size, n = self->n_layers, width = 1;
    size_t *sizes = malloc (2 * n * sizeof *sizes);
    self->acts = calloc (n, sizeof *self->acts);
    self->wgrad = calloc (n, sizeof *self->wgrad);
    self->bgrad = calloc (n, sizeof *self->bgrad);
    if (!sizes || !self->acts || !self->wgrad || !self->bgrad) {
        free (sizes);
        return -1;
    }
    for (size_t l = 0; l < n; l++) {
        maas_tensor_t *w = maas_mlp_weights (self->mlp, l);
        width = w->rows > width ? w->rows : width;
        width = w->cols > width ? w->cols : width;
        self->acts[l] = maas_tensor_new (batch, w->cols);
        self->wgrad[l] = maas_tensor_new (w->rows, w->cols);
        self->bgrad[l] = maas_tensor_new (1, w->cols);
        sizes[2 * l] = w->rows * w->cols;
        sizes[2 * l + 1] = w->cols;
        if (!self->acts[l] || !self->wgrad[l] || !self->bgrad[l]) {
            free (sizes);
            return -1;
        }
    }
    self->optim = maas_optim_new (&self->config.optim, sizes, 2 * n);
    free (sizes);
    self->input = maas_tensor_new (batch, maas_mlp_inputs (self->mlp));
    self->out = maas_tensor_new (batch, maas_mlp_outputs (self->mlp));
    self->delta[0] = maas_tensor_new (batch, width);
    self->delta[1] = maas_tensor_new (batch, width);
    self->y = malloc (batch * self->targets * sizeof (float));
    return self->optim && self->input && self->out && self->delta[0] && self->delta[1] && self->y
        ? 0
        : -1;
}

maas_train_t *
maas_train_new (maas_mlp_t *mlp, const maas_train_config_t *config, maas_err_t *err)
{
    assert (mlp && config);
    if (s_check_config (mlp, config, err) != 0)
        return NULL;
    maas_train_t *self = calloc (1, sizeof *self);
    if (!self)
        goto oom;
    self->mlp = mlp;
    self->config = *config;
    self->n_layers = maas_mlp_layer_count (mlp);
    self->targets = config->loss == MAAS_LOSS_SOFTMAX_CE ? 1 : maas_mlp_outputs (mlp);
    if (s_alloc (self) == 0)
        return self;
    maas_train_destroy (&self);
oom:
    maas_err_set (err, MAAS_ERR_NOMEM, "out of memory for the training workspace");
    return NULL;
}

void
maas_train_destroy (maas_train_t **self_p)
{
    assert (self_p);
    maas_train_t *self = *self_p;
    if (!self)
        return;
    for (size_t l = 0; l < self->n_layers; l++) {
        if (self->acts)
            maas_tensor_destroy (&self->acts[l]);
        if (self->wgrad)
            maas_tensor_destroy (&self->wgrad[l]);
        if (self->bgrad)
            maas_tensor_destroy (&self->bgrad[l]);
    }
    free (self->acts);
    free (self->wgrad);
    free (self->bgrad);
    maas_optim_destroy (&self->optim);
    maas_tensor_destroy (&self->input);
    maas_tensor_destroy (&self->out);
    maas_tensor_destroy (&self->delta[0]);
    maas_tensor_destroy (&self->delta[1]);
    free (self->y);
    free (self);
    *self_p = NULL;
}

//  Copy ROWS rows of X and Y into the batch buffers, standardised with the
//  network's stored mean/std (features) and output scaling (targets): rows
//  INDEX[0..rows) or, with INDEX NULL, rows FIRST .. FIRST+rows.
static void
s_gather (maas_train_t *self, const float *x, const float *y, const size_t *index, size_t first,
          size_t rows)
{
    size_t cols = self->input->cols, ty = self->targets;
    const float *mean = maas_mlp_norm_mean (self->mlp), *std = maas_mlp_norm_std (self->mlp);
    const float *y_mean = maas_mlp_target_mean (self->mlp);
    const float *y_std = maas_mlp_target_std (self->mlp);
    for (size_t i = 0; i < rows; i++) {
        size_t r = index ? index[i] : first + i;
        const float *src = x + r * cols;
        float *dst = self->input->data + i * cols;
        if (mean)
            for (size_t j = 0; j < cols; j++)
                dst[j] = (src[j] - mean[j]) / std[j];
        else
            memcpy (dst, src, cols * sizeof (float));
        if (y_mean)
            for (size_t j = 0; j < ty; j++)
                self->y[i * ty + j] = (y[r * ty + j] - y_mean[j]) / y_std[j];
        else
            memcpy (self->y + i * ty, y + r * ty, ty * sizeof (float));
    }
}

//  Forward ROWS gathered rows: hidden layers activated, the last left as
//  logits (the loss applies its activation). Returns the logits.
static maas_tensor_t
s_forward (maas_train_t *self, size_t rows)
{
    maas_tensor_t src = maas_tensor_view (self->input->data, rows, self->input->cols);
    for (size_t l = 0; l < self->n_layers; l++) {
        const maas_tensor_t *w = maas_mlp_weights_const (self->mlp, l);
        maas_tensor_t dst = maas_tensor_view (self->acts[l]->data, rows, w->cols);
        maas_gemm (false, false, 1.0f, &src, w, 0.0f, &dst);
        bool last = l + 1 == self->n_layers;
        maas_act_t act = last ? MAAS_ACT_LINEAR : maas_mlp_layer (self->mlp, l).act;
        maas_act_forward (act, dst.data, rows, w->cols, maas_mlp_bias_const (self->mlp, l)->data);
        src = dst;
    }
    return src;
}

//  Loss of the forwarded batch; GRAD (rows × outputs) gets dLoss/dlogits.
static double
s_loss (maas_train_t *self, const maas_tensor_t *logits, float *grad)
{
    maas_act_t act = maas_mlp_layer (self->mlp, self->n_layers - 1).act;
    return maas_loss_eval (self->config.loss, act, logits->data, self->y, logits->rows,
                           logits->cols, grad, self->out->data);
}

//  The forwarded batch's LOSS (of its ROWS rows) in the targets' units: as
//  it is, or with a target standardisation the mean squared error of the
//  outputs scaled back (y' · std against y · std, the means cancel).
static double
s_target_loss (const maas_train_t *self, double loss, size_t rows)
{
    const float *std = maas_mlp_target_std (self->mlp);
    if (!std)
        return loss;
    size_t cols = self->out->cols;
    double sum = 0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double d = ((double) self->out->data[i * cols + j] - self->y[i * cols + j]) * std[j];
            sum += d * d;
        }
    return sum / (double) (rows * cols);
}

//  Back-propagate dLoss/dlogits (in delta[0]) into every layer's gradients.
static void
s_backward (maas_train_t *self, size_t rows)
{
    int which = 0;
    for (size_t l = self->n_layers; l-- > 0;) {
        const maas_tensor_t *w = maas_mlp_weights_const (self->mlp, l);
        maas_tensor_t dz = maas_tensor_view (self->delta[which]->data, rows, w->cols);
        maas_tensor_t src = l == 0 ? maas_tensor_view (self->input->data, rows, w->rows)
                                   : maas_tensor_view (self->acts[l - 1]->data, rows, w->rows);
        maas_gemm (true, false, 1.0f, &src, &dz, 0.0f, self->wgrad[l]);
        float *db = self->bgrad[l]->data;
        memcpy (db, dz.data, w->cols * sizeof (float));
        for (size_t i = 1; i < rows; i++)
            for (size_t j = 0; j < w->cols; j++)
                db[j] += dz.data[i * w->cols + j];
        if (l == 0)
            break;
        which = 1 - which;
        maas_tensor_t da = maas_tensor_view (self->delta[which]->data, rows, w->rows);
        maas_gemm (false, true, 1.0f, &dz, w, 0.0f, &da);
        maas_act_backward (maas_mlp_layer (self->mlp, l - 1).act, src.data, da.data, rows, w->rows);
    }
}

//  Forward, loss and backward on the gathered batch.
static double
s_gradient (maas_train_t *self, size_t rows)
{
    maas_tensor_t logits = s_forward (self, rows);
    double loss = s_loss (self, &logits, self->delta[0]->data);
    s_backward (self, rows);
    return loss;
}

double
maas_train_gradient (maas_train_t *self, const float *x, const float *y, size_t rows)
{
    assert (self && rows >= 1 && rows <= self->config.batch_size);
    s_gather (self, x, y, NULL, 0, rows);
    return s_gradient (self, rows);
}

const maas_tensor_t *
maas_train_weight_grad (const maas_train_t *self, size_t i)
{
    assert (i < self->n_layers);
    return self->wgrad[i];
}

const maas_tensor_t *
maas_train_bias_grad (const maas_train_t *self, size_t i)
{
    assert (i < self->n_layers);
    return self->bgrad[i];
}

void
maas_train_step (maas_train_t *self)
{
    maas_optim_begin (self->optim);
    for (size_t l = 0; l < self->n_layers; l++) {
        maas_optim_update (self->optim, 2 * l, maas_mlp_weights (self->mlp, l)->data,
                           self->wgrad[l]->data, true);
        maas_optim_update (self->optim, 2 * l + 1, maas_mlp_bias (self->mlp, l)->data,
                           self->bgrad[l]->data, false);
    }
}

const char *
maas_train_error (const maas_train_t *self)
{
    return self->err.text;
}

//  Mean loss over N rows (INDEX or, if NULL, the first N), batch by batch;
//  *METRIC gets accuracy, or RMSE for mse.
static double
s_evaluate (maas_train_t *self, const float *x, const float *y, const size_t *index, size_t n,
            double *metric)
{
    double loss_sum = 0, right = 0;
    size_t outputs = self->out->cols;
    for (size_t done = 0; done < n;) {
        size_t rows = n - done < self->config.batch_size ? n - done : self->config.batch_size;
        s_gather (self, x, y, index ? index + done : NULL, done, rows);
        maas_tensor_t logits = s_forward (self, rows);
        double loss = s_target_loss (self, s_loss (self, &logits, NULL), rows);
        loss_sum += loss * (double) rows;
        if (self->config.loss != MAAS_LOSS_MSE)
            right += maas_metric_accuracy (self->out->data, self->y, rows, outputs) * (double) rows;
        done += rows;
    }
    double mean = n ? loss_sum / (double) n : NAN;
    if (metric)
        *metric = self->config.loss == MAAS_LOSS_MSE ? sqrt (mean) : right / (double) n;
    return mean;
}

double
maas_train_evaluate (maas_train_t *self, const float *x, const float *y, size_t rows,
                     double *metric)
{
    assert (self);
    return s_evaluate (self, x, y, NULL, rows, metric);
}

//  Refuse the data: the message goes to self->err and the log. -1.
static int s_refuse (maas_train_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_refuse (maas_train_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    maas_err_vset (&self->err, MAAS_ERR_INPUT, fmt, args);
    va_end (args);
    maas_warn ("train", "refused data=\"%s\"", self->err.text);
    return -1;
}

//  Refuse non-finite features and invalid targets.
static int
s_check_rows (maas_train_t *self, const float *x, const float *y, size_t rows)
{
    size_t cols = self->input->cols;
    if (rows == 0)
        return s_refuse (self, "no training rows");
    if (rows > MAAS_TENSOR_MAX_ELEMS / cols)
        return s_refuse (self, "%zu rows of %zu features is too large", rows, cols);
    for (size_t k = 0; k < rows * cols; k++)
        if (!isfinite (x[k]))
            return s_refuse (self, "feature %zu of row %zu is not a finite number", k % cols,
                             k / cols);
    if (maas_loss_check_targets (self->config.loss, y, rows, self->out->cols, &self->err)) {
        maas_warn ("train", "refused data=\"%s\"", self->err.text);
        return -1;
    }
    return 0;
}

//  Check the data, and that there are rows enough for the split, before
//  touching any weight.
static int
s_check_data (maas_train_t *self, const float *x, const float *y, size_t rows)
{
    if (s_check_rows (self, x, y, rows) != 0)
        return -1;
    size_t n_val = (size_t) ((double) rows * self->config.val_fraction);
    if ((self->config.val_fraction > 0 && n_val == 0) || n_val >= rows)
        return s_refuse (self, "%zu rows are too few to hold out a validation fraction of %g", rows,
                         self->config.val_fraction);
    return 0;
}

//  Probabilities of ROWS rows into SCORES (rows floats: one output).
static void
s_scores (maas_train_t *self, const float *x, const float *y, size_t rows, float *scores)
{
    for (size_t done = 0; done < rows;) {
        size_t n = rows - done < self->config.batch_size ? rows - done : self->config.batch_size;
        s_gather (self, x, y, NULL, done, n);
        maas_tensor_t logits = s_forward (self, n);
        s_loss (self, &logits, NULL);
        memcpy (scores + done, self->out->data, n * sizeof (float));
        done += n;
    }
}

int
maas_train_metrics (maas_train_t *self, const float *x, const float *y, size_t rows,
                    maas_train_metrics_t *metrics)
{
    assert (self && metrics);
    maas_err_clear (&self->err);
    if (s_check_rows (self, x, y, rows) != 0)
        return -1;
    bool mse = self->config.loss == MAAS_LOSS_MSE;
    double metric = NAN;
    metrics->loss = s_evaluate (self, x, y, NULL, rows, &metric);
    metrics->accuracy = mse ? NAN : metric;
    metrics->rmse = mse ? metric : NAN;
    metrics->auc = NAN;
    if (self->config.loss == MAAS_LOSS_BCE && self->out->cols == 1) {
        float *scores = malloc (rows * sizeof *scores);
        if (!scores)
            return s_refuse (self, "out of memory for %zu scores", rows);
        s_scores (self, x, y, rows, scores);
        metrics->auc = maas_metric_auc (scores, y, rows);
        free (scores);
    }
    return 0;
}

static void
s_shuffle (size_t *order, size_t n, maas_rng_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t) maas_rng_below (rng, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

//  Fit the network's standardisation on the N rows INDEX of X (population
//  std, as scikit-learn's StandardScaler), summed in double.
static int
s_fit_norm (maas_train_t *self, const float *x, const size_t *index, size_t n)
{
    size_t cols = self->input->cols;
    double *sum = calloc (2 * cols, sizeof *sum);
    float *mean = malloc (2 * cols * sizeof *mean);
    if (!sum || !mean) {
        free (sum);
        free (mean);
        return s_refuse (self, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cols; j++)
            sum[j] += x[index[i] * cols + j];
    for (size_t j = 0; j < cols; j++)
        mean[j] = (float) (sum[j] / (double) n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cols; j++) {
            double d = x[index[i] * cols + j] - (double) mean[j];
            sum[cols + j] += d * d;
        }
    for (size_t j = 0; j < cols; j++)
        mean[cols + j] = (float) sqrt (sum[cols + j] / (double) n);
    int rc = maas_mlp_set_norm (self->mlp, mean, mean + cols);
    free (sum);
    free (mean);
    return rc == 0 ? 0 : s_refuse (self, "out of memory");
}

//  With standardize_target (mse, linear output), the mean and population
//  std of each target over the N training rows INDEX, in double, become
//  the network's output scaling: training then fits standardised targets,
//  whatever their scale, and every forward pass scales back.
static int
s_fit_target_norm (maas_train_t *self, const float *y, const size_t *index, size_t n)
{
    size_t last = self->n_layers - 1, cols = self->targets;
    if (!self->config.standardize_target || self->config.loss != MAAS_LOSS_MSE
        || maas_mlp_layer (self->mlp, last).act != MAAS_ACT_LINEAR)
        return 0;
    double *sum = calloc (2 * cols, sizeof *sum);
    float *mean = malloc (2 * cols * sizeof *mean);
    int rc = sum && mean ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = 0; j < cols; j++)
            sum[j] += y[index[i] * cols + j];
    for (size_t j = 0; rc == 0 && j < cols; j++)
        mean[j] = (float) (sum[j] / (double) n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t j = 0; j < cols; j++) {
            double d = y[index[i] * cols + j] - (double) mean[j];
            sum[cols + j] += d * d;
        }
    for (size_t j = 0; rc == 0 && j < cols; j++)
        mean[cols + j] = (float) sqrt (sum[cols + j] / (double) n);
    if (rc == 0)
        rc = maas_mlp_set_target_norm (self->mlp, mean, mean + cols);
    free (sum);
    free (mean);
    return rc == 0 ? 0 : s_refuse (self, "out of memory");
}

//  One pass over the N training rows INDEX in a fresh seeded order; *LOSS
//  gets the mean loss. Returns 0, or -1 if cancelled before the end.
static int
s_epoch (maas_train_t *self, const float *x, const float *y, size_t *index, size_t n,
         maas_rng_t *rng, double *loss)
{
    s_shuffle (index, n, rng);
    double loss_sum = 0;
    for (size_t done = 0; done < n;) {
        if (self->config.cancel && atomic_load (self->config.cancel))
            return -1;
        size_t rows = n - done < self->config.batch_size ? n - done : self->config.batch_size;
        s_gather (self, x, y, index + done, 0, rows);
        loss_sum += s_target_loss (self, s_gradient (self, rows), rows) * (double) rows;
        maas_train_step (self);
        done += rows;
    }
    *loss = loss_sum / (double) n;
    return 0;
}

static void
s_copy_params (maas_mlp_t *dst, const maas_mlp_t *src)
{
    for (size_t l = 0; l < maas_mlp_layer_count (src); l++) {
        const maas_tensor_t *w = maas_mlp_weights_const (src, l), *b = maas_mlp_bias_const (src, l);
        memcpy (maas_mlp_weights (dst, l)->data, w->data, maas_tensor_size (w) * sizeof (float));
        memcpy (maas_mlp_bias (dst, l)->data, b->data, maas_tensor_size (b) * sizeof (float));
    }
}

//  The training rows are ORDER[0..n_train), the validation rows follow.
typedef struct {
    const float *x;    //  all features, borrowed
    const float *y;    //  all targets, borrowed
    size_t *order;     //  row indices: training then validation
    size_t n_train;    //  training rows
    size_t n_val;      //  validation rows
    double best;       //  lowest monitored loss so far
} s_split_t;

//  After an epoch: validate, keep the best weights, report, decide whether
//  to stop. Returns 1 to stop (RESULT->outcome set), 0 to go on.
static int
s_after_epoch (maas_train_t *self, s_split_t *split, maas_train_epoch_t *epoch, maas_mlp_t *best,
               maas_train_result_t *result)
{
    const maas_train_config_t *c = &self->config;
    epoch->val_loss = epoch->val_metric = NAN;
    if (split->n_val)
        epoch->val_loss = s_evaluate (self, split->x, split->y, split->order + split->n_train,
                                      split->n_val, &epoch->val_metric);
    double monitored = split->n_val ? epoch->val_loss : epoch->train_loss;
    if (monitored < split->best || result->best_epoch == 0) {
        split->best = monitored;
        result->best_epoch = epoch->epoch;
        if (best)
            s_copy_params (best, self->mlp);
    }
    result->epochs_run = epoch->epoch;
    result->train_loss = epoch->train_loss;
    result->val_loss = epoch->val_loss;
    result->val_metric = epoch->val_metric;
    maas_debug ("train", "epoch n=%zu train_loss=%.6f val_loss=%.6f val_metric=%.4f", epoch->epoch,
                epoch->train_loss, epoch->val_loss, epoch->val_metric);
    if (c->on_epoch && c->on_epoch (epoch, c->on_epoch_arg) != 0) {
        result->outcome = MAAS_TRAIN_STOPPED;
        return 1;
    }
    if (c->patience && epoch->epoch - result->best_epoch >= c->patience) {
        result->outcome = MAAS_TRAIN_EARLY_STOPPED;
        return 1;
    }
    return 0;
}

static void
s_run_epochs (maas_train_t *self, s_split_t *split, maas_rng_t *rng, maas_mlp_t *best,
              maas_train_result_t *result)
{
    maas_train_epoch_t epoch = {.epochs = self->config.epochs};
    for (size_t e = 1; e <= self->config.epochs; e++) {
        epoch.epoch = e;
        if (s_epoch (self, split->x, split->y, split->order, split->n_train, rng, &epoch.train_loss)
            != 0) {
            result->outcome = MAAS_TRAIN_CANCELLED;
            return;
        }
        epoch.samples += split->n_train;
        if (s_after_epoch (self, split, &epoch, best, result))
            return;
    }
}

//  With restore_best, put the best epoch's weights back and report its
//  validation figures.
static void
s_restore_best (maas_train_t *self, s_split_t *split, const maas_mlp_t *best,
                maas_train_result_t *result)
{
    if (!best || result->best_epoch == 0 || result->best_epoch == result->epochs_run)
        return;
    s_copy_params (self->mlp, best);
    if (split->n_val)
        result->val_loss = s_evaluate (self, split->x, split->y, split->order + split->n_train,
                                       split->n_val, &result->val_metric);
}

int
maas_train_fit (maas_train_t *self, const float *x, const float *y, size_t rows,
                maas_train_result_t *result)
{
    assert (self && x && y);
    maas_err_clear (&self->err);
    maas_train_result_t local;
    result = result ? result : &local;
    *result = (maas_train_result_t){.val_loss = NAN, .val_metric = NAN};
    if (s_check_data (self, x, y, rows) != 0)
        return -1;
    size_t n_val = (size_t) ((double) rows * self->config.val_fraction);
    s_split_t split = {x, y, malloc (rows * sizeof (size_t)), rows - n_val, n_val, INFINITY};
    bool want_best = self->config.restore_best && self->config.patience;
    maas_mlp_t *best = want_best ? maas_mlp_dup (self->mlp) : NULL;
    if (!split.order || (want_best && !best)) {
        free (split.order);
        maas_mlp_destroy (&best);
        return s_refuse (self, "out of memory for %zu rows", rows);
    }
    maas_rng_t rng;
    maas_rng_seed (&rng, self->config.seed);
    for (size_t i = 0; i < rows; i++)
        split.order[i] = i;
    if (n_val)
        s_shuffle (split.order, rows, &rng);
    int rc = self->config.standardize ? s_fit_norm (self, x, split.order, split.n_train) : 0;
    if (rc == 0)
        rc = s_fit_target_norm (self, y, split.order, split.n_train);
    if (rc == 0) {
        maas_optim_reset (self->optim);
        s_run_epochs (self, &split, &rng, best, result);
        s_restore_best (self, &split, best, result);
        result->train_rows = split.n_train;
        result->val_rows = split.n_val;
    }
    free (split.order);
    maas_mlp_destroy (&best);
    return rc;
}
