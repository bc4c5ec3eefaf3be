/*  forward.c: the inference path: standardise a block of rows, then one
 *  sgemm and one fused bias+activation pass per layer, in a preallocated
 *  workspace. */
#include "forward.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _maas_predictor_t {
    const maas_mlp_t *mlp;          //  network run, borrowed
    size_t width;                   //  widest layer (units)
    maas_tensor_t *input;           //  BLOCK × inputs standardised rows, owned
    maas_tensor_t *ping;            //  BLOCK × width activations, owned
    maas_tensor_t *pong;            //  BLOCK × width activations, owned
    char error[128];                //  message of the last failed run
};

maas_predictor_t *
maas_predictor_new (const maas_mlp_t *mlp)
{
    assert (mlp);
    maas_predictor_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->mlp = mlp;
    self->width = 1;
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++)
        if (maas_mlp_layer (mlp, i).units > self->width)
            self->width = maas_mlp_layer (mlp, i).units;
    self->input = maas_tensor_new (MAAS_PREDICTOR_BLOCK, maas_mlp_inputs (mlp));
    self->ping = maas_tensor_new (MAAS_PREDICTOR_BLOCK, self->width);
    self->pong = maas_tensor_new (MAAS_PREDICTOR_BLOCK, self->width);
    if (!self->input || !self->ping || !self->pong)
        maas_predictor_destroy (&self);
    return self;
}

void
maas_predictor_destroy (maas_predictor_t **self_p)
{
    assert (self_p);
    maas_predictor_t *self = *self_p;
    if (!self)
        return;
    maas_tensor_destroy (&self->input);
    maas_tensor_destroy (&self->ping);
    maas_tensor_destroy (&self->pong);
    free (self);
    *self_p = NULL;
}

//  Copy ROWS rows of X into the input buffer, standardised, checking every
//  value is finite. FIRST_ROW numbers the rows in the error message.
static int
s_load_block (maas_predictor_t *self, const float *x, size_t rows, size_t first_row)
{
    size_t cols = maas_mlp_inputs (self->mlp);
    const float *mean = maas_mlp_norm_mean (self->mlp);
    const float *std = maas_mlp_norm_std (self->mlp);
    float *dst = self->input->data;
    bool finite = true;
    for (size_t i = 0; i < rows; i++, x += cols, dst += cols) {
        for (size_t j = 0; j < cols; j++) {
            finite &= isfinite (x[j]) != 0;
            dst[j] = mean ? (x[j] - mean[j]) / std[j] : x[j];
        }
    }
    if (finite)
        return 0;
    x -= rows * cols;
    for (size_t k = 0; k < rows * cols; k++)
        if (!isfinite (x[k])) {
            snprintf (self->error, sizeof self->error, "row %zu column %zu is not a finite number",
                      first_row + k / cols, k % cols);
            break;
        }
    return -1;
}

//  OpenBLAS picks its kernel for a row by the row's place in a group of
//  rows, so a product's bits for one row would depend on how many rows came
//  with it. Blocks always go through as whole groups (the padding rows are
//  computed and dropped), which makes a row's prediction the same bits
//  whatever batch it ran in: in process, alone, or batched by a worker.
#define S_ROW_GROUP 4

//  Run one block of ROWS (<= BLOCK) standardised rows through every layer,
//  the last one writing straight into OUT when no padding rows were added.
static void
s_run_block (maas_predictor_t *self, size_t rows, float *out)
{
    const maas_mlp_t *mlp = self->mlp;
    size_t n_layers = maas_mlp_layer_count (mlp);
    size_t padded = (rows + S_ROW_GROUP - 1) / S_ROW_GROUP * S_ROW_GROUP;
    maas_tensor_t src = maas_tensor_view (self->input->data, padded, maas_mlp_inputs (mlp));
    for (size_t i = 0; i < n_layers; i++) {
        maas_layer_spec_t spec = maas_mlp_layer (mlp, i);
        bool last = i + 1 == n_layers;
        float *dst_data = last && padded == rows ? out
                          : (i % 2 == 0 ? self->ping->data : self->pong->data);
        maas_tensor_t dst = maas_tensor_view (dst_data, padded, spec.units);
        maas_gemm (false, false, 1.0f, &src, maas_mlp_weights_const (mlp, i), 0.0f, &dst);
        maas_act_forward (spec.act, dst.data, padded, spec.units,
                          maas_mlp_bias_const (mlp, i)->data);
        if (last && dst_data != out)
            memcpy (out, dst_data, rows * spec.units * sizeof (float));
        src = dst;
    }
}

int
maas_predictor_run (maas_predictor_t *self, const float *x, size_t rows, float *out)
{
    assert (self);
    self->error[0] = 0;
    size_t inputs = maas_mlp_inputs (self->mlp), outputs = maas_mlp_outputs (self->mlp);
    for (size_t done = 0; done < rows;) {
        size_t block = rows - done < MAAS_PREDICTOR_BLOCK ? rows - done : MAAS_PREDICTOR_BLOCK;
        if (s_load_block (self, x + done * inputs, block, done) != 0)
            return -1;
        s_run_block (self, block, out + done * outputs);
        done += block;
    }
    return 0;
}

const char *
maas_predictor_error (const maas_predictor_t *self)
{
    return self->error;
}

const maas_mlp_t *
maas_predictor_mlp (const maas_predictor_t *self)
{
    return self->mlp;
}

static inline float
s_sigmoid (float z)
{
    //  Two branches so exp never overflows and small outputs keep precision.
    if (z >= 0)
        return 1.0f / (1.0f + expf (-z));
    float e = expf (z);
    return e / (1.0f + e);
}

static void
s_softmax_rows (float *z, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++, z += cols) {
        float top = z[0];
        for (size_t j = 1; j < cols; j++)
            top = z[j] > top ? z[j] : top;
        float sum = 0;
        for (size_t j = 0; j < cols; j++)
            sum += (z[j] = expf (z[j] - top));
        float inv = 1.0f / sum;
        for (size_t j = 0; j < cols; j++)
            z[j] *= inv;
    }
}

void
maas_act_forward (maas_act_t act, float *z, size_t rows, size_t cols, const float *bias)
{
    if (bias)
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < cols; j++)
                z[i * cols + j] += bias[j];
    size_t n = rows * cols;
    switch (act) {
    case MAAS_ACT_RELU:
        for (size_t k = 0; k < n; k++)
            z[k] = z[k] > 0 ? z[k] : 0;
        break;
    case MAAS_ACT_TANH:
        for (size_t k = 0; k < n; k++)
            z[k] = tanhf (z[k]);
        break;
    case MAAS_ACT_SIGMOID:
        for (size_t k = 0; k < n; k++)
            z[k] = s_sigmoid (z[k]);
        break;
    case MAAS_ACT_SOFTMAX:
        s_softmax_rows (z, rows, cols);
        break;
    default:
        break;
    }
}

void
maas_act_backward (maas_act_t act, const float *a, float *grad, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    switch (act) {
    case MAAS_ACT_RELU:
        for (size_t k = 0; k < n; k++)
            grad[k] = a[k] > 0 ? grad[k] : 0;
        break;
    case MAAS_ACT_TANH:
        for (size_t k = 0; k < n; k++)
            grad[k] *= 1 - a[k] * a[k];
        break;
    case MAAS_ACT_SIGMOID:
        for (size_t k = 0; k < n; k++)
            grad[k] *= a[k] * (1 - a[k]);
        break;
    case MAAS_ACT_SOFTMAX:
        for (size_t i = 0; i < rows; i++, a += cols, grad += cols) {
            float dot = 0;
            for (size_t j = 0; j < cols; j++)
                dot += grad[j] * a[j];
            for (size_t j = 0; j < cols; j++)
                grad[j] = a[j] * (grad[j] - dot);
        }
        break;
    default:
        break;
    }
}
