/*  forward.c: the inference path: standardise a block of rows, then one
 *  sgemm and one fused bias+activation pass per layer, in a preallocated
 *  workspace. */
#include "forward.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Where a block's rows sit in the buffers OpenBLAS multiplies: runs of RUN
//  rows at the start of each group of GROUP rows (the rest is padding).
typedef struct {
    size_t run;
    size_t group;
} s_layout_t;

struct _maas_predictor_t {
    const maas_mlp_t *mlp;    //  network run, borrowed
    size_t width;             //  widest layer (units)
    s_layout_t layout;        //  row placement, chosen by s_probe_layout
    size_t block_rows;        //  rows of input per block under that layout
    maas_tensor_t *input;     //  BLOCK × inputs standardised rows, owned
    maas_tensor_t *ping;      //  BLOCK × width activations, owned
    maas_tensor_t *pong;      //  BLOCK × width activations, owned
    char error[128];          //  message of the last failed run
};

//  OpenBLAS computes a row of a product by the row's place in a group of
//  rows, so a row's bits would depend on the rows that came with it. Its
//  AVX-512 kernels give every place of a group of 4 the same bits, so whole
//  groups (padding rows computed and dropped) are enough; its Haswell and
//  Zen kernels give places 0-5 and 6-11 of a group of 12 different bits, so
//  rows go in the first six places only. Candidates, cheapest first; the
//  last (one row per group) holds for any kernel.
static const s_layout_t s_layouts[] = {{24, 24}, {6, 12}, {1, 24}};

//  Padded buffer index of block row R.
static inline size_t
s_place (s_layout_t layout, size_t r)
{
    return r / layout.run * layout.group + r % layout.run;
}

//  Buffer rows that hold ROWS block rows, in whole groups.
static inline size_t
s_padded (s_layout_t layout, size_t rows)
{
    return (rows + layout.run - 1) / layout.run * layout.group;
}

//  Multiply ROWS rows of A (rows × k) by B (k × n) under LAYOUT into C's
//  placed rows, with SCRATCH (padded rows × k, zeroed) as the placed input.
static void
s_probe_product (s_layout_t layout, const float *a, size_t rows, const maas_tensor_t *b,
                 float *scratch, float *c)
{
    size_t k = b->rows, padded = s_padded (layout, rows);
    for (size_t r = 0; r < rows; r++)
        memcpy (scratch + s_place (layout, r) * k, a + r * k, k * sizeof (float));
    maas_tensor_t src = maas_tensor_view (scratch, padded, k);
    maas_tensor_t dst = maas_tensor_view (c, padded, b->cols);
    maas_gemm (false, false, 1.0f, &src, b, 0.0f, &dst);
}

//  Whether LAYOUT gives every row of a K × N product the same bits at every
//  offset within a group: two groups of made-up rows, multiplied from each
//  start in the first group, compared row by row with the product from 0.
static bool
s_layout_holds (s_layout_t layout, const maas_tensor_t *w)
{
    size_t k = w->rows, n = w->cols, rows = 2 * layout.group;
    size_t padded = s_padded (layout, rows);
    float *a = malloc (rows * k * sizeof (float));
    float *scratch = calloc (padded * k, sizeof (float));
    float *whole = malloc (padded * n * sizeof (float)),
          *part = malloc (padded * n * sizeof (float));
    bool holds = a && scratch && whole && part;
    uint32_t state = 2463534242u;
    for (size_t i = 0; holds && i < rows * k; i++) {
        state ^= state << 13, state ^= state >> 17, state ^= state << 5;
        a[i] = (float) (state >> 8) / (float) (1u << 24) - 0.5f;
    }
    if (holds)
        s_probe_product (layout, a, rows, w, scratch, whole);
    for (size_t off = 1; holds && off < layout.group; off++) {
        memset (scratch, 0, padded * k * sizeof (float));
        s_probe_product (layout, a + off * k, rows - off, w, scratch, part);
        for (size_t r = 0; holds && r < rows - off; r++)
            holds = memcmp (part + s_place (layout, r) * n, whole + s_place (layout, r + off) * n,
                            n * sizeof (float))
                == 0;
    }
    free (a), free (scratch), free (whole), free (part);
    return holds;
}

//  The cheapest layout under which every layer's product gives a row the
//  same bits in any batch. With BLAS on several threads OpenBLAS may split a
//  product by its size, which no layout undoes: those get the cheapest.
static s_layout_t
s_probe_layout (const maas_mlp_t *mlp)
{
    size_t candidates = sizeof s_layouts / sizeof s_layouts[0];
    if (maas_blas_threads () > 1)
        return s_layouts[0];
    for (size_t c = 0; c < candidates - 1; c++) {
        bool holds = true;
        for (size_t i = 0; holds && i < maas_mlp_layer_count (mlp); i++)
            holds = s_layout_holds (s_layouts[c], maas_mlp_weights_const (mlp, i));
        if (holds)
            return s_layouts[c];
    }
    return s_layouts[candidates - 1];
}

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
    self->layout = s_probe_layout (mlp);
    self->block_rows = MAAS_PREDICTOR_BLOCK / self->layout.group * self->layout.run;
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
    bool finite = true;
    for (size_t i = 0; i < rows; i++, x += cols) {
        float *dst = self->input->data + s_place (self->layout, i) * cols;
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

//  Undo the target standardisation on ROWS rows of OUT: y = y' * std + mean,
//  two roundings, as the exported ONNX graph's Mul and Add compute it.
static void
s_scale_outputs (const maas_mlp_t *mlp, float *out, size_t rows)
{
    const float *mean = maas_mlp_target_mean (mlp), *std = maas_mlp_target_std (mlp);
    size_t outputs = maas_mlp_outputs (mlp);
    for (size_t r = 0; mean && r < rows; r++, out += outputs)
        for (size_t j = 0; j < outputs; j++) {
            float scaled = out[j] * std[j];
            out[j] = scaled + mean[j];
        }
}

//  Run one block of ROWS (<= BLOCK) standardised rows through every layer,
//  the last one writing straight into OUT when no padding rows were added.
static void
s_run_block (maas_predictor_t *self, size_t rows, float *out)
{
    const maas_mlp_t *mlp = self->mlp;
    size_t n_layers = maas_mlp_layer_count (mlp);
    size_t padded = s_padded (self->layout, rows);
    maas_tensor_t src = maas_tensor_view (self->input->data, padded, maas_mlp_inputs (mlp));
    for (size_t i = 0; i < n_layers; i++) {
        maas_layer_spec_t spec = maas_mlp_layer (mlp, i);
        bool last = i + 1 == n_layers;
        float *dst_data =
            last && padded == rows ? out : (i % 2 == 0 ? self->ping->data : self->pong->data);
        maas_tensor_t dst = maas_tensor_view (dst_data, padded, spec.units);
        maas_gemm (false, false, 1.0f, &src, maas_mlp_weights_const (mlp, i), 0.0f, &dst);
        maas_act_forward (spec.act, dst.data, padded, spec.units,
                          maas_mlp_bias_const (mlp, i)->data);
        if (last && dst_data != out)
            for (size_t r = 0; r < rows; r++)
                memcpy (out + r * spec.units, dst_data + s_place (self->layout, r) * spec.units,
                        spec.units * sizeof (float));
        src = dst;
    }
    s_scale_outputs (mlp, out, rows);
}

int
maas_predictor_run (maas_predictor_t *self, const float *x, size_t rows, float *out)
{
    assert (self);
    self->error[0] = 0;
    size_t inputs = maas_mlp_inputs (self->mlp), outputs = maas_mlp_outputs (self->mlp);
    for (size_t done = 0; done < rows;) {
        size_t block = rows - done < self->block_rows ? rows - done : self->block_rows;
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
        case MAAS_ACT_SOFTMAX: s_softmax_rows (z, rows, cols); break;
        default: break;
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
        default: break;
    }
}
