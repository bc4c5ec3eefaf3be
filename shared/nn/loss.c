/*  loss.c: losses from logits with their gradients, target validation,
 *  accuracy and ROC AUC. */
#include "loss.h"
#include "forward.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *s_loss_names[MAAS_LOSS_COUNT] = {"bce", "softmax_ce", "mse"};

const char *
maas_loss_name (maas_loss_t loss)
{
    return loss < MAAS_LOSS_COUNT ? s_loss_names[loss] : "?";
}

int
maas_loss_parse (const char *name)
{
    static const struct {
        const char *name;
        maas_loss_t loss;
    } aliases[] = {{"ce", MAAS_LOSS_SOFTMAX_CE},
                   {"cross_entropy", MAAS_LOSS_SOFTMAX_CE},
                   {"binary_cross_entropy", MAAS_LOSS_BCE}};
    for (int i = 0; name && i < MAAS_LOSS_COUNT; i++)
        if (strcmp (name, s_loss_names[i]) == 0)
            return i;
    for (size_t i = 0; name && i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp (name, aliases[i].name) == 0)
            return (int) aliases[i].loss;
    return -1;
}

bool
maas_loss_fits (maas_loss_t loss, maas_act_t act)
{
    switch (loss) {
        case MAAS_LOSS_BCE: return act == MAAS_ACT_SIGMOID;
        case MAAS_LOSS_SOFTMAX_CE: return act == MAAS_ACT_SOFTMAX;
        case MAAS_LOSS_MSE: return act != MAAS_ACT_SOFTMAX && act < MAAS_ACT_COUNT;
        default: return false;
    }
}

//  Binary cross-entropy from logits: max(z,0) - z y + log(1 + e^-|z|),
//  exact for any z; gradient sigmoid(z) - y.
static double
s_bce (const float *z, const float *y, size_t n, float scale, float *grad, float *out)
{
    double sum = 0;
    for (size_t k = 0; k < n; k++) {
        float zk = z[k];
        float e = expf (-fabsf (zk));
        sum += (zk > 0 ? zk : 0) - zk * y[k] + log1pf (e);
        float p = zk >= 0 ? 1 / (1 + e) : e / (1 + e);
        if (grad)
            grad[k] = (p - y[k]) * scale;
        if (out)
            out[k] = p;
    }
    return sum;
}

//  Softmax cross-entropy per row: log-sum-exp(z) - z[class].
static double
s_softmax_ce (const float *z, const float *y, size_t rows, size_t cols, float scale, float *grad,
              float *out)
{
    double sum = 0;
    for (size_t i = 0; i < rows; i++, z += cols) {
        float top = z[0], total = 0;
        for (size_t j = 1; j < cols; j++)
            top = z[j] > top ? z[j] : top;
        for (size_t j = 0; j < cols; j++)
            total += expf (z[j] - top);
        size_t label = (size_t) y[i];
        sum += (double) logf (total) + top - z[label];
        float inv = 1 / total;
        for (size_t j = 0; j < cols; j++) {
            float p = expf (z[j] - top) * inv;
            if (grad)
                grad[i * cols + j] = (p - (j == label)) * scale;
            if (out)
                out[i * cols + j] = p;
        }
    }
    return sum;
}

//  Slope of an elementwise activation from its output A.
static inline float
s_slope (maas_act_t act, float a)
{
    switch (act) {
        case MAAS_ACT_RELU: return a > 0 ? 1.0f : 0.0f;
        case MAAS_ACT_TANH: return 1 - a * a;
        case MAAS_ACT_SIGMOID: return a * (1 - a);
        default: return 1.0f;
    }
}

//  Mean squared error of the activated outputs, the gradient taken back
//  through the (elementwise) activation. Works in chunks so OUT is optional.
static double
s_mse (maas_act_t act, const float *z, const float *y, size_t n, size_t cols, float *grad,
       float *out)
{
    float local[64];
    double sum = 0, scale = 2.0 / (double) n;
    for (size_t start = 0; start < n; start += 64) {
        size_t count = n - start < 64 ? n - start : 64;
        float *a = out ? out + start : local;
        memcpy (a, z + start, count * sizeof (float));
        maas_act_forward (act, a, 1, count, NULL);
        for (size_t k = 0; k < count; k++) {
            double d = (double) a[k] - y[start + k];
            sum += d * d;
            if (grad)
                grad[start + k] = (float) (scale * d) * s_slope (act, a[k]);
        }
    }
    return sum / (double) cols;
}

double
maas_loss_eval (maas_loss_t loss, maas_act_t act, const float *z, const float *y, size_t rows,
                size_t cols, float *grad, float *out)
{
    assert (maas_loss_fits (loss, act) && rows > 0);
    float scale = 1.0f / (float) rows;
    double sum = 0;
    if (loss == MAAS_LOSS_BCE)
        sum = s_bce (z, y, rows * cols, scale, grad, out);
    else if (loss == MAAS_LOSS_SOFTMAX_CE)
        sum = s_softmax_ce (z, y, rows, cols, scale, grad, out);
    else
        sum = s_mse (act, z, y, rows * cols, cols, grad, out);
    return sum / (double) rows;
}

int
maas_loss_check_targets (maas_loss_t loss, const float *y, size_t rows, size_t cols,
                         maas_err_t *err)
{
    size_t per_row = loss == MAAS_LOSS_SOFTMAX_CE ? 1 : cols;
    for (size_t k = 0; k < rows * per_row; k++) {
        float v = y[k];
        const char *why = NULL;
        if (!isfinite (v))
            why = "is not a finite number";
        else if (loss == MAAS_LOSS_BCE && (v < 0 || v > 1))
            why = "is not in [0, 1] (bce)";
        else if (loss == MAAS_LOSS_SOFTMAX_CE && (v < 0 || v >= (float) cols || v != floorf (v)))
            why = "is not a class index";
        if (why)
            return maas_err_set (err, MAAS_ERR_INPUT, "label %g of row %zu %s%s%zu outputs", v,
                                 k / per_row, why, loss == MAAS_LOSS_SOFTMAX_CE ? " for " : ", ",
                                 cols);
    }
    return 0;
}

double
maas_metric_accuracy (const float *p, const float *y, size_t rows, size_t cols)
{
    size_t right = 0;
    for (size_t i = 0; i < rows; i++, p += cols) {
        if (cols == 1) {
            right += (p[0] >= 0.5f) == (y[i] >= 0.5f);
            continue;
        }
        size_t best = 0;
        for (size_t j = 1; j < cols; j++)
            best = p[j] > p[best] ? j : best;
        right += (float) best == y[i];
    }
    return rows ? (double) right / (double) rows : NAN;
}

static int
s_compare_scores (const void *a, const void *b, void *scores_p)
{
    const float *scores = scores_p;
    float x = scores[*(const size_t *) a], y = scores[*(const size_t *) b];
    return (x > y) - (x < y);
}

double
maas_metric_auc (const float *scores, const float *y, size_t rows)
{
    size_t *order = malloc (rows * sizeof *order);
    if (!order)
        return NAN;
    for (size_t i = 0; i < rows; i++)
        order[i] = i;
    qsort_r (order, rows, sizeof *order, s_compare_scores, (void *) scores);
    //  Sum of positive ranks (ties get their average rank), Mann-Whitney U.
    double rank_sum = 0, positives = 0;
    for (size_t i = 0; i < rows;) {
        size_t j = i;
        while (j < rows && scores[order[j]] == scores[order[i]])
            j++;
        double rank = (double) (i + j + 1) / 2;
        for (size_t k = i; k < j; k++)
            if (y[order[k]] != 0) {
                rank_sum += rank;
                positives++;
            }
        i = j;
    }
    free (order);
    double negatives = (double) rows - positives;
    if (positives == 0 || negatives == 0)
        return NAN;
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}
