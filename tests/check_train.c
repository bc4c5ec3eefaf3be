/*  check_train.c: losses, metrics, optimizers and the training loop:
 *  gradients against central finite differences for every activation and
 *  loss, each optimizer reducing a loss, reproducibility, early stopping,
 *  callbacks, cancellation, and refused configurations and data. */
#include "maas.h"

#include "support.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static maas_err_t s_error;

//  Random features and targets fitting LOSS with OUTPUTS outputs.
static void
s_make_data (maas_loss_t loss, size_t rows, size_t inputs, size_t outputs, uint64_t seed, float *x,
             float *y)
{
    maas_rng_t rng;
    maas_rng_seed (&rng, seed);
    for (size_t k = 0; k < rows * inputs; k++)
        x[k] = (float) maas_rng_normal (&rng);
    size_t per_row = loss == MAAS_LOSS_SOFTMAX_CE ? 1 : outputs;
    for (size_t k = 0; k < rows * per_row; k++)
        y[k] = loss == MAAS_LOSS_SOFTMAX_CE ? (float) maas_rng_below (&rng, outputs)
            : loss == MAAS_LOSS_BCE         ? (float) maas_rng_below (&rng, 2)
                                            : (float) maas_rng_normal (&rng);
}

//  Compare every parameter's analytic gradient with a central difference
//  of the loss (loss summed in double, forward in float: h = 1e-3).
static void
s_gradcheck (maas_act_t hidden, maas_act_t output, maas_loss_t loss, size_t outputs)
{
    enum { ROWS = 6, INPUTS = 4 };
    maas_layer_spec_t layers[] = {{5, hidden}, {4, hidden}, {outputs, output}};
    maas_mlp_t *mlp = maas_mlp_new (INPUTS, layers, 3);
    maas_mlp_init (mlp, 5);
    for (size_t l = 0; l < 3; l++)
        for (size_t u = 0; u < layers[l].units; u++)
            maas_mlp_bias (mlp, l)->data[u] = 0.05f * (float) u + 0.02f;    //  off relu kinks
    //  A linear output layer starts at zero, which would hide the hidden
    //  layers' gradients: give it weights (no kink behind it to avoid).
    maas_tensor_t *out_w = maas_mlp_weights (mlp, 2);
    for (size_t k = 0; output == MAAS_ACT_LINEAR && k < maas_tensor_size (out_w); k++)
        out_w->data[k] = 0.4f * sinf ((float) k + 1);
    float x[ROWS * INPUTS], y[ROWS * 3];
    //  Data seeds keep every relu pre-activation further than h from its kink.
    s_make_data (loss, ROWS, INPUTS, outputs, 100 + hidden * 10 + output, x, y);
    maas_train_config_t config = maas_train_defaults ();
    config.loss = loss;
    config.batch_size = ROWS;
    maas_train_t *train = maas_train_new (mlp, &config, &s_error);
    ck_assert_msg (train != NULL, "%s", s_error.text);
    maas_train_gradient (train, x, y, ROWS);
    const double h = 1e-3;
    for (size_t l = 0; l < 3; l++)
        for (int which = 0; which < 2; which++) {
            maas_tensor_t *p = which ? maas_mlp_bias (mlp, l) : maas_mlp_weights (mlp, l);
            const maas_tensor_t *g =
                which ? maas_train_bias_grad (train, l) : maas_train_weight_grad (train, l);
            for (size_t k = 0; k < maas_tensor_size (p); k++) {
                float saved = p->data[k];
                p->data[k] = (float) (saved + h);
                double up = maas_train_evaluate (train, x, y, ROWS, NULL);
                p->data[k] = (float) (saved - h);
                double down = maas_train_evaluate (train, x, y, ROWS, NULL);
                p->data[k] = saved;
                double numeric = (up - down) / (2 * h), analytic = g->data[k];
                ck_assert_msg (fabs (numeric - analytic) <= 2e-3 + 2e-2 * fabs (numeric),
                               "%s/%s/%s layer %zu %s %zu: analytic %g numeric %g",
                               maas_act_name (hidden), maas_act_name (output),
                               maas_loss_name (loss), l, which ? "bias" : "weight", k, analytic,
                               numeric);
            }
        }
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
}

START_TEST (test_gradients)
{
    //  Every hidden activation under every output activation/loss pairing.
    for (int hidden = 0; hidden < MAAS_ACT_COUNT; hidden++) {
        maas_act_t act = (maas_act_t) hidden;
        s_gradcheck (act, MAAS_ACT_SIGMOID, MAAS_LOSS_BCE, 1);
        s_gradcheck (act, MAAS_ACT_SIGMOID, MAAS_LOSS_BCE, 2);
        s_gradcheck (act, MAAS_ACT_SOFTMAX, MAAS_LOSS_SOFTMAX_CE, 3);
        s_gradcheck (act, MAAS_ACT_LINEAR, MAAS_LOSS_MSE, 2);
        s_gradcheck (act, MAAS_ACT_TANH, MAAS_LOSS_MSE, 1);
        s_gradcheck (act, MAAS_ACT_SIGMOID, MAAS_LOSS_MSE, 2);
        s_gradcheck (act, MAAS_ACT_RELU, MAAS_LOSS_MSE, 3);
    }
}
END_TEST

START_TEST (test_losses_are_stable)
{
    float z[2] = {1000, -1000}, y[2] = {0, 0}, grad[2], out[2];
    double loss = maas_loss_eval (MAAS_LOSS_BCE, MAAS_ACT_SIGMOID, z, y, 2, 1, grad, out);
    ck_assert_double_eq_tol (loss, 500.0, 1e-3);    //  (1000 + 0) / 2 rows
    ck_assert_float_eq_tol (grad[0], 0.5f, 1e-6f);
    ck_assert_float_eq (out[1], 0.0f);
    float logits[2][3] = {{1000, 0, -1000}, {0, 0, 0}}, classes[2] = {1, 2};
    loss = maas_loss_eval (MAAS_LOSS_SOFTMAX_CE, MAAS_ACT_SOFTMAX, &logits[0][0], classes, 2, 3,
                           NULL, NULL);
    ck_assert_double_eq_tol (loss, (1000 + log (3.0)) / 2, 1e-3);
    float a[2] = {1, 3}, target[2] = {0, 0};
    loss = maas_loss_eval (MAAS_LOSS_MSE, MAAS_ACT_LINEAR, a, target, 1, 2, grad, NULL);
    ck_assert_double_eq_tol (loss, 5.0, 1e-9);
    ck_assert_float_eq (grad[1], 3.0f);    //  2 (3 - 0) / 2 elements
}
END_TEST

START_TEST (test_metrics)
{
    float scores[4] = {0.1f, 0.4f, 0.35f, 0.8f}, labels[4] = {0, 0, 1, 1};
    ck_assert_double_eq_tol (maas_metric_auc (scores, labels, 4), 0.75, 1e-12);
    float ties[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    ck_assert_double_eq_tol (maas_metric_auc (ties, labels, 4), 0.5, 1e-12);
    float all_pos[2] = {1, 1};
    ck_assert (isnan (maas_metric_auc (scores, all_pos, 2)));
    ck_assert_double_eq_tol (maas_metric_accuracy (scores, labels, 4, 1), 0.75, 1e-12);
    float probs[2][3] = {{0.1f, 0.7f, 0.2f}, {0.5f, 0.2f, 0.3f}}, classes[2] = {1, 2};
    ck_assert_double_eq_tol (maas_metric_accuracy (&probs[0][0], classes, 2, 3), 0.5, 1e-12);
}
END_TEST

START_TEST (test_names)
{
    for (int i = 0; i < MAAS_LOSS_COUNT; i++)
        ck_assert_int_eq (maas_loss_parse (maas_loss_name ((maas_loss_t) i)), i);
    ck_assert_int_eq (maas_loss_parse ("ce"), MAAS_LOSS_SOFTMAX_CE);
    ck_assert_int_eq (maas_loss_parse ("hinge"), -1);
    for (int i = 0; i < MAAS_OPTIM_COUNT; i++)
        ck_assert_int_eq (maas_optim_parse (maas_optim_name ((maas_optim_kind_t) i)), i);
    ck_assert_int_eq (maas_optim_parse ("lbfgs"), -1);
    ck_assert_int_eq (maas_optim_parse (NULL), -1);
    ck_assert_str_eq (maas_train_outcome_name (MAAS_TRAIN_EARLY_STOPPED), "early_stopped");
}
END_TEST

START_TEST (test_optimizer_steps)
{
    size_t size = 1;
    float p = 1, g = 0.5f;
    maas_optim_config_t config = maas_optim_defaults (MAAS_OPTIM_SGD);
    config.lr = 0.1f;
    maas_optim_t *optim = maas_optim_new (&config, &size, 1);
    maas_optim_begin (optim);
    maas_optim_update (optim, 0, &p, &g, true);
    ck_assert_float_eq_tol (p, 0.95f, 1e-7f);
    maas_optim_destroy (&optim);
    config = maas_optim_defaults (MAAS_OPTIM_ADAM);
    optim = maas_optim_new (&config, &size, 1);
    p = 1;
    maas_optim_begin (optim);    //  Adam's first step is lr · sign(g)
    maas_optim_update (optim, 0, &p, &g, true);
    ck_assert_float_eq_tol (p, 0.999f, 1e-6f);
    maas_optim_reset (optim);
    maas_optim_destroy (&optim);
    ck_assert_ptr_null (optim);
    config = maas_optim_defaults (MAAS_OPTIM_MOMENTUM);
    config.lr = 0.1f;
    config.weight_decay = 1;
    optim = maas_optim_new (&config, &size, 1);
    p = 1;
    for (int step = 0; step < 2; step++) {    //  g + wd·p: 1.5, then 1.35
        maas_optim_begin (optim);
        maas_optim_update (optim, 0, &p, &g, true);
    }
    ck_assert_float_eq_tol (p, 0.85f - 0.1f * (0.9f * 1.5f + 1.35f), 1e-6f);
    maas_optim_destroy (&optim);
    config.momentum = 1;
    maas_err_t err;
    ck_assert_int_eq (maas_optim_check (&config, &err), -1);
    ck_assert_str_eq (err.text, "optimizer momentum: momentum out of range, got 1");
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
}
END_TEST

//  A fixed problem: 512 synthetic rows, a 10-16-1 network.
enum { S_ROWS = 512 };
static float s_x[S_ROWS * MAAS_SYNTH_FEATURES], s_y[S_ROWS];
static const maas_layer_spec_t s_net[] = {{16, MAAS_ACT_TANH}, {1, MAAS_ACT_SIGMOID}};

static void
s_setup (void)
{
    ck_assert_int_eq (maas_synth_generate (7, MAAS_SYNTH_FEATURES, S_ROWS, s_x, s_y), 0);
}

//  Train a fresh 10-16-1 network (init seed 3) with CONFIG; returns it.
static maas_mlp_t *
s_train (const maas_train_config_t *config, maas_train_result_t *result)
{
    maas_mlp_t *mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, s_net, 2);
    maas_mlp_init (mlp, 3);
    maas_train_t *train = maas_train_new (mlp, config, &s_error);
    ck_assert_msg (train != NULL, "%s", s_error.text);
    ck_assert_int_eq (maas_train_fit (train, s_x, s_y, S_ROWS, result), 0);
    maas_train_destroy (&train);
    return mlp;
}

static double
s_loss_of (maas_mlp_t *mlp)
{
    maas_train_config_t config = maas_train_defaults ();
    maas_train_t *train = maas_train_new (mlp, &config, NULL);
    double loss = maas_train_evaluate (train, s_x, s_y, S_ROWS, NULL);
    maas_train_destroy (&train);
    return loss;
}

START_TEST (test_each_optimizer_reduces_loss)
{
    maas_mlp_t *fresh = maas_mlp_new (MAAS_SYNTH_FEATURES, s_net, 2);
    maas_mlp_init (fresh, 3);
    double before = s_loss_of (fresh);
    maas_mlp_destroy (&fresh);
    for (int kind = 0; kind < MAAS_OPTIM_COUNT; kind++) {
        maas_train_config_t config = maas_train_defaults ();
        config.optim = maas_optim_defaults ((maas_optim_kind_t) kind);
        config.epochs = 5;
        maas_train_result_t result;
        maas_mlp_t *mlp = s_train (&config, &result);
        double after = s_loss_of (mlp);
        ck_assert_msg (after < 0.9 * before, "%s: loss %g -> %g", maas_optim_name (kind), before,
                       after);
        ck_assert_uint_eq (result.outcome, MAAS_TRAIN_COMPLETED);
        ck_assert_uint_eq (result.epochs_run, 5);
        maas_mlp_destroy (&mlp);
    }
}
END_TEST

START_TEST (test_weight_decay_shrinks_weights)
{
    double norms[2];
    for (int decay = 0; decay < 2; decay++) {
        maas_train_config_t config = maas_train_defaults ();
        config.optim.weight_decay = decay ? 0.5f : 0;
        config.epochs = 3;
        maas_mlp_t *mlp = s_train (&config, NULL);
        const maas_tensor_t *w = maas_mlp_weights (mlp, 0);
        norms[decay] = 0;
        for (size_t k = 0; k < maas_tensor_size (w); k++)
            norms[decay] += w->data[k] * w->data[k];
        maas_mlp_destroy (&mlp);
    }
    ck_assert_double_lt (norms[1], 0.8 * norms[0]);
}
END_TEST

static bool
s_same_weights (maas_mlp_t *a, maas_mlp_t *b)
{
    for (size_t l = 0; l < maas_mlp_layer_count (a); l++)
        if (memcmp (maas_mlp_weights (a, l)->data, maas_mlp_weights (b, l)->data,
                    maas_tensor_size (maas_mlp_weights (a, l)) * sizeof (float))
            || memcmp (maas_mlp_bias (a, l)->data, maas_mlp_bias (b, l)->data,
                       maas_tensor_size (maas_mlp_bias (a, l)) * sizeof (float)))
            return false;
    return true;
}

START_TEST (test_same_seed_same_weights)
{
    maas_train_config_t config = maas_train_defaults ();
    config.epochs = 3;
    config.val_fraction = 0.25;
    config.standardize = true;
    config.seed = 99;
    maas_mlp_t *a = s_train (&config, NULL), *b = s_train (&config, NULL);
    ck_assert (s_same_weights (a, b));
    ck_assert_mem_eq (maas_mlp_norm_std (a), maas_mlp_norm_std (b), 10 * sizeof (float));
    config.seed = 100;
    maas_mlp_t *c = s_train (&config, NULL);
    ck_assert (!s_same_weights (a, c));
    maas_mlp_destroy (&a);
    maas_mlp_destroy (&b);
    maas_mlp_destroy (&c);
}
END_TEST

START_TEST (test_standardisation_is_fitted)
{
    for (size_t k = 0; k < S_ROWS * MAAS_SYNTH_FEATURES; k++)
        s_x[k] = s_x[k] * 5 + 3;
    maas_train_config_t config = maas_train_defaults ();
    config.standardize = true;
    config.epochs = 1;
    maas_mlp_t *mlp = s_train (&config, NULL);
    ck_assert_float_eq_tol (maas_mlp_norm_mean (mlp)[0], 3.0f, 0.5f);
    ck_assert_float_eq_tol (maas_mlp_norm_std (mlp)[4], 5.0f, 0.5f);
    maas_mlp_destroy (&mlp);
}
END_TEST

//  A regression target far from unit scale (y = 1000 · f(x) + 5000): with
//  target standardisation the network learns it as well as f itself,
//  stores its mean and std, serves in target units and reports RMSE in
//  them; without, Adam at lr 1e-3 barely moves the output off zero.
static double
s_fit_scaled_target (bool standardize_target, maas_train_result_t *result, maas_mlp_t **mlp_p)
{
    float *y = malloc (S_ROWS * sizeof *y);
    for (size_t i = 0; i < S_ROWS; i++)
        y[i] = 1000 * (s_x[i * 10] + s_x[i * 10 + 1] * s_x[i * 10 + 2]) + 5000;
    maas_layer_spec_t layers[] = {{32, MAAS_ACT_RELU}, {1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, layers, 2);
    maas_mlp_init (mlp, 3);
    maas_train_config_t config = maas_train_defaults ();
    config.loss = MAAS_LOSS_MSE;
    config.epochs = 40;
    config.val_fraction = 0.25;
    config.standardize_target = standardize_target;
    maas_train_t *train = maas_train_new (mlp, &config, &s_error);
    ck_assert_int_eq (maas_train_fit (train, s_x, y, S_ROWS, result), 0);
    //  RMSE over every row from the inference path: what a client sees.
    float *out = malloc (S_ROWS * sizeof *out);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, out), 0);
    double sum = 0;
    for (size_t i = 0; i < S_ROWS; i++)
        sum += ((double) out[i] - y[i]) * ((double) out[i] - y[i]);
    maas_train_metrics_t metrics;
    ck_assert_int_eq (maas_train_metrics (train, s_x, y, S_ROWS, &metrics), 0);
    ck_assert_double_eq_tol (metrics.rmse, sqrt (sum / S_ROWS), 1e-4 * metrics.rmse);
    maas_predictor_destroy (&predictor);
    maas_train_destroy (&train);
    free (out);
    free (y);
    *mlp_p = mlp;
    return metrics.rmse;
}

START_TEST (test_target_standardisation)
{
    maas_train_result_t with, without;
    maas_mlp_t *a, *b;
    double rmse = s_fit_scaled_target (true, &with, &a);
    double raw_rmse = s_fit_scaled_target (false, &without, &b);
    ck_assert_ptr_nonnull (maas_mlp_target_mean (a));
    ck_assert_float_eq_tol (maas_mlp_target_mean (a)[0], 5000, 200);
    ck_assert_float_eq_tol (maas_mlp_target_std (a)[0], 1400, 300);    //  √2 · 1000
    ck_assert_ptr_null (maas_mlp_target_mean (b));
    ck_assert_msg (rmse < 0.4 * maas_mlp_target_std (a)[0], "rmse %g", rmse);
    ck_assert_msg (raw_rmse > 5 * rmse, "rmse %g standardised, %g raw", rmse, raw_rmse);
    //  The loop's figures are in target units too.
    ck_assert_double_eq_tol (with.val_metric * with.val_metric, with.val_loss,
                             1e-6 * with.val_loss);
    ck_assert_double_gt (with.val_metric, 0.5 * rmse);
    ck_assert_double_lt (with.val_metric, 2 * rmse);
    ck_assert_double_gt (with.train_loss, 0.25 * rmse * rmse);
    maas_mlp_destroy (&a);
    maas_mlp_destroy (&b);
}
END_TEST

START_TEST (test_synth_is_deterministic)
{
    float x[30 * 10], y[30], x2[40 * 10], y2[40];
    ck_assert_int_eq (maas_synth_generate (7, 10, 30, x, y), 0);
    ck_assert_int_eq (maas_synth_generate (7, 10, 40, x2, y2), 0);
    ck_assert_mem_eq (x, x2, sizeof x);
    ck_assert_mem_eq (y, y2, sizeof y);
    ck_assert_mem_eq (x, s_x, sizeof x);
    ck_assert_int_eq (maas_synth_generate (7, 0, 40, x2, y2), -1);
    double positive = 0;
    for (size_t i = 0; i < S_ROWS; i++)
        positive += s_y[i];
    ck_assert_double_gt (positive / S_ROWS, 0.3);
    ck_assert_double_lt (positive / S_ROWS, 0.7);
}
END_TEST

//  Callback state: records each epoch; stops or cancels at a given epoch.
typedef struct {
    maas_train_epoch_t seen[64];
    size_t count;
    size_t stop_at;      //  return nonzero at this epoch (0: never)
    size_t cancel_at;    //  set CANCEL at this epoch (0: never)
    atomic_bool *cancel;
} s_watch_t;

static int
s_on_epoch (const maas_train_epoch_t *epoch, void *arg)
{
    s_watch_t *watch = arg;
    if (watch->count < 64)
        watch->seen[watch->count++] = *epoch;
    if (watch->cancel_at == epoch->epoch)
        atomic_store (watch->cancel, true);
    return watch->stop_at == epoch->epoch;
}

START_TEST (test_callback_reports_and_stops)
{
    s_watch_t watch = {.stop_at = 3};
    maas_train_config_t config = maas_train_defaults ();
    config.epochs = 10;
    config.val_fraction = 0.2;
    config.on_epoch = s_on_epoch;
    config.on_epoch_arg = &watch;
    maas_train_result_t result;
    maas_mlp_t *mlp = s_train (&config, &result);
    ck_assert_uint_eq (result.outcome, MAAS_TRAIN_STOPPED);
    ck_assert_uint_eq (result.epochs_run, 3);
    ck_assert_uint_eq (watch.count, 3);
    ck_assert_uint_eq (result.val_rows, 102);
    ck_assert_uint_eq (result.train_rows, 410);
    ck_assert_uint_eq (watch.seen[2].samples, 3 * 410);
    ck_assert_uint_eq (watch.seen[1].epochs, 10);
    ck_assert (watch.seen[2].train_loss < watch.seen[0].train_loss);
    ck_assert (watch.seen[2].val_metric > 0.5 && watch.seen[2].val_metric <= 1);
    ck_assert_double_eq (result.val_loss, watch.seen[2].val_loss);
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_cancel_stops_at_batch_boundary)
{
    atomic_bool cancel = false;
    s_watch_t watch = {.cancel_at = 2, .cancel = &cancel};
    maas_train_config_t config = maas_train_defaults ();
    config.epochs = 10;
    config.on_epoch = s_on_epoch;
    config.on_epoch_arg = &watch;
    config.cancel = &cancel;
    maas_train_result_t result;
    maas_mlp_t *mlp = s_train (&config, &result);
    ck_assert_uint_eq (result.outcome, MAAS_TRAIN_CANCELLED);
    ck_assert_uint_eq (result.epochs_run, 2);
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_early_stopping_restores_best)
{
    //  Random labels: validation loss soon stops improving.
    maas_rng_t rng;
    maas_rng_seed (&rng, 1);
    for (size_t i = 0; i < S_ROWS; i++)
        s_y[i] = (float) maas_rng_below (&rng, 2);
    s_watch_t watch = {0};
    maas_train_config_t config = maas_train_defaults ();
    config.optim.lr = 0.01f;
    config.epochs = 60;
    config.val_fraction = 0.3;
    config.patience = 3;
    config.restore_best = true;
    config.on_epoch = s_on_epoch;
    config.on_epoch_arg = &watch;
    maas_train_result_t result;
    maas_mlp_t *mlp = s_train (&config, &result);
    ck_assert_uint_eq (result.outcome, MAAS_TRAIN_EARLY_STOPPED);
    ck_assert_uint_lt (result.epochs_run, 60);
    ck_assert_uint_eq (result.epochs_run - result.best_epoch, 3);
    double best = INFINITY;
    for (size_t e = 0; e < watch.count; e++)
        best = fmin (best, watch.seen[e].val_loss);
    ck_assert_double_eq (watch.seen[result.best_epoch - 1].val_loss, best);
    ck_assert_double_eq_tol (result.val_loss, best, 1e-9);
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_refuses_bad_config)
{
    maas_mlp_t *mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, s_net, 2);
    maas_train_config_t config = maas_train_defaults ();
    config.loss = MAAS_LOSS_SOFTMAX_CE;
    ck_assert_ptr_null (maas_train_new (mlp, &config, &s_error));
    ck_assert_str_eq (s_error.text,
                      "loss softmax_ce does not fit a sigmoid output layer (bce needs "
                      "sigmoid, softmax_ce needs softmax, mse anything but softmax)");
    ck_assert_int_eq (s_error.code, MAAS_ERR_INPUT);
    config = maas_train_defaults ();
    config.batch_size = 0;
    ck_assert_ptr_null (maas_train_new (mlp, &config, &s_error));
    ck_assert_str_eq (s_error.text, "batch_size must be 1 .. 65536");
    config = maas_train_defaults ();
    config.val_fraction = 0.95;
    ck_assert_ptr_null (maas_train_new (mlp, &config, &s_error));
    config = maas_train_defaults ();
    config.optim.lr = -1;
    ck_assert_ptr_null (maas_train_new (mlp, &config, NULL));
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_refuses_bad_data)
{
    maas_mlp_t *mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, s_net, 2);
    maas_mlp_init (mlp, 1);
    maas_mlp_t *before = maas_mlp_dup (mlp);
    maas_train_config_t config = maas_train_defaults ();
    maas_train_t *train = maas_train_new (mlp, &config, NULL);
    s_y[7] = 2;
    ck_assert_int_eq (maas_train_fit (train, s_x, s_y, S_ROWS, NULL), -1);
    ck_assert_str_eq (maas_train_error (train),
                      "label 2 of row 7 is not in [0, 1] (bce), 1 outputs");
    s_y[7] = 1;
    s_x[33] = NAN;
    ck_assert_int_eq (maas_train_fit (train, s_x, s_y, S_ROWS, NULL), -1);
    ck_assert_str_eq (maas_train_error (train), "feature 3 of row 3 is not a finite number");
    ck_assert_int_eq (maas_train_fit (train, s_x, s_y, 0, NULL), -1);
    ck_assert_str_eq (maas_train_error (train), "no training rows");
    ck_assert (s_same_weights (mlp, before));
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
    maas_mlp_destroy (&before);
    //  Class labels must be indices below the number of outputs.
    maas_layer_spec_t classes[] = {{3, MAAS_ACT_SOFTMAX}};
    mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, classes, 1);
    config.loss = MAAS_LOSS_SOFTMAX_CE;
    config.val_fraction = 0.5;
    train = maas_train_new (mlp, &config, NULL);
    float y[2] = {0, 1.5f};
    ck_assert_int_eq (maas_train_fit (train, s_x, y, 2, NULL), -1);
    ck_assert_str_eq (maas_train_error (train),
                      "label 1.5 of row 1 is not a class index for 3 outputs");
    y[1] = 2;
    ck_assert_int_eq (maas_train_fit (train, s_x, y, 1, NULL), -1);
    ck_assert_str_eq (maas_train_error (train),
                      "1 rows are too few to hold out a validation fraction of 0.5");
    ck_assert_int_eq (maas_train_fit (train, s_x, y, 2, NULL), 0);
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_metrics_of_a_trained_network)
{
    maas_train_config_t config = maas_train_defaults ();
    config.epochs = 5;
    maas_mlp_t *mlp = s_train (&config, NULL);
    maas_train_t *train = maas_train_new (mlp, &config, NULL);
    maas_train_metrics_t metrics;
    ck_assert_int_eq (maas_train_metrics (train, s_x, s_y, S_ROWS, &metrics), 0);
    double accuracy;
    ck_assert_double_eq (metrics.loss, maas_train_evaluate (train, s_x, s_y, S_ROWS, &accuracy));
    ck_assert_double_eq (metrics.accuracy, accuracy);
    //  AUC of the same network's probabilities from the inference path.
    float *p = malloc (S_ROWS * sizeof *p);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, p), 0);
    ck_assert_double_eq_tol (metrics.auc, maas_metric_auc (p, s_y, S_ROWS), 1e-6);
    ck_assert_double_gt (metrics.auc, 0.7);
    maas_predictor_destroy (&predictor);
    free (p);
    ck_assert (isnan (metrics.rmse));
    s_x[0] = INFINITY;
    ck_assert_int_eq (maas_train_metrics (train, s_x, s_y, S_ROWS, &metrics), -1);
    ck_assert_str_eq (maas_train_error (train), "feature 0 of row 0 is not a finite number");
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
    //  Regression: RMSE instead of accuracy and AUC.
    maas_layer_spec_t linear[] = {{1, MAAS_ACT_LINEAR}};
    mlp = maas_mlp_new (MAAS_SYNTH_FEATURES, linear, 1);
    config.loss = MAAS_LOSS_MSE;
    train = maas_train_new (mlp, &config, NULL);
    for (size_t i = 0; i < S_ROWS; i++)
        s_y[i] = 2;    //  zero weights predict 0
    ck_assert_int_eq (maas_train_metrics (train, s_x + 10, s_y, S_ROWS - 1, &metrics), 0);
    ck_assert_double_eq_tol (metrics.rmse, 2.0, 1e-9);
    ck_assert_double_eq_tol (metrics.loss, 4.0, 1e-9);
    ck_assert (isnan (metrics.accuracy) && isnan (metrics.auc));
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("train");
    TCase *gradients = tcase_create ("gradients");
    tcase_add_test (gradients, test_gradients);
    tcase_add_test (gradients, test_losses_are_stable);
    tcase_add_test (gradients, test_metrics);
    tcase_add_test (gradients, test_names);
    suite_add_tcase (suite, gradients);
    TCase *optim = tcase_create ("optimizers");
    tcase_add_checked_fixture (optim, s_setup, NULL);
    tcase_add_test (optim, test_optimizer_steps);
    tcase_add_test (optim, test_each_optimizer_reduces_loss);
    tcase_add_test (optim, test_weight_decay_shrinks_weights);
    suite_add_tcase (suite, optim);
    TCase *loop = tcase_create ("loop");
    tcase_add_checked_fixture (loop, s_setup, NULL);
    tcase_add_test (loop, test_same_seed_same_weights);
    tcase_add_test (loop, test_standardisation_is_fitted);
    tcase_add_test (loop, test_target_standardisation);
    tcase_add_test (loop, test_synth_is_deterministic);
    tcase_add_test (loop, test_callback_reports_and_stops);
    tcase_add_test (loop, test_cancel_stops_at_batch_boundary);
    tcase_add_test (loop, test_early_stopping_restores_best);
    tcase_add_test (loop, test_metrics_of_a_trained_network);
    suite_add_tcase (suite, loop);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, NULL);
    tcase_add_test (errors, test_refuses_bad_config);
    tcase_add_test (errors, test_refuses_bad_data);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
