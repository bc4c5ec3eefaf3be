/*  explain.c: attributions for an MLP's outputs. A small workspace keeps
 *  every layer's activations of a chunk of rows so one backward pass per
 *  output (maas_act_backward and sgemm, as training does) gives the
 *  gradient of that output for every row of the chunk at once. */
#include "explain.h"
#include "clock.h"
#include "codec.h"
#include "forward.h"
#include "tensor.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_method_names[MAAS_EXPLAIN_METHOD_COUNT] = {"integrated_gradients",
                                                                "gradient_x_input", "shapley"};

const char *
maas_explain_method_name (maas_explain_method_t method)
{
    return method < MAAS_EXPLAIN_METHOD_COUNT ? s_method_names[method] : "?";
}

int
maas_explain_method_parse (const char *name)
{
    for (int m = 0; m < MAAS_EXPLAIN_METHOD_COUNT; m++)
        if (name && strcmp (name, s_method_names[m]) == 0)
            return m;
    return -1;
}

//  -- the network's workspace

typedef struct {
    const maas_mlp_t *mlp;                           //  borrowed
    size_t n_layers;                                 //  its layers
    maas_tensor_t *acts[MAAS_MLP_MAX_LAYERS + 1];    //  [0] standardised input, [l+1] layer l
    maas_tensor_t *grad;                             //  rows × widest, gradients, owned
    maas_tensor_t *spare;                            //  the same, the other side of a product
    maas_tensor_t *scratch;                          //  rows built from x and the baseline
} s_net_t;

static void
s_net_free (s_net_t *net)
{
    for (size_t l = 0; l <= net->n_layers; l++)
        maas_tensor_destroy (&net->acts[l]);
    maas_tensor_destroy (&net->grad);
    maas_tensor_destroy (&net->spare);
    maas_tensor_destroy (&net->scratch);
}

//  Widest of the input and every layer.
static size_t
s_widest (const maas_mlp_t *mlp)
{
    size_t widest = maas_mlp_inputs (mlp);
    for (size_t l = 0; l < maas_mlp_layer_count (mlp); l++)
        if (maas_mlp_layer (mlp, l).units > widest)
            widest = maas_mlp_layer (mlp, l).units;
    return widest;
}

static int
s_net_init (s_net_t *net, const maas_mlp_t *mlp)
{
    *net = (s_net_t){.mlp = mlp, .n_layers = maas_mlp_layer_count (mlp)};
    bool ok = true;
    for (size_t l = 0; l <= net->n_layers; l++)
        ok &= (net->acts[l] = maas_tensor_new (1, 1)) != NULL;
    net->grad = maas_tensor_new (1, s_widest (mlp));
    net->spare = maas_tensor_new (1, s_widest (mlp));
    net->scratch = maas_tensor_new (1, maas_mlp_inputs (mlp));
    if (ok && net->grad && net->spare && net->scratch)
        return 0;
    s_net_free (net);
    return -1;
}

//  Forward ROWS rows of X (raw features) keeping every layer's
//  activations. 0, or -1 if out of memory.
static int
s_net_forward (s_net_t *net, const float *x, size_t rows)
{
    const maas_mlp_t *mlp = net->mlp;
    size_t n = maas_mlp_inputs (mlp), widest = s_widest (mlp);
    const float *mean = maas_mlp_norm_mean (mlp), *std = maas_mlp_norm_std (mlp);
    if (maas_tensor_reshape (net->acts[0], rows, n) != 0
        || maas_tensor_reshape (net->grad, rows, widest) != 0
        || maas_tensor_reshape (net->spare, rows, widest) != 0)
        return -1;
    for (size_t k = 0; k < rows * n; k++)
        net->acts[0]->data[k] = mean ? (x[k] - mean[k % n]) / std[k % n] : x[k];
    for (size_t l = 0; l < net->n_layers; l++) {
        maas_layer_spec_t spec = maas_mlp_layer (mlp, l);
        if (maas_tensor_reshape (net->acts[l + 1], rows, spec.units) != 0)
            return -1;
        maas_gemm (false, false, 1.0f, net->acts[l], maas_mlp_weights_const (mlp, l), 0.0f,
                   net->acts[l + 1]);
        maas_act_forward (spec.act, net->acts[l + 1]->data, rows, spec.units,
                          maas_mlp_bias_const (mlp, l)->data);
    }
    //  Outputs in the targets' units, as the predictor gives them. Only a
    //  linear output layer scales, and its backward pass ignores the values.
    const float *y_mean = maas_mlp_target_mean (mlp), *y_std = maas_mlp_target_std (mlp);
    size_t outputs = maas_mlp_outputs (mlp);
    float *out = net->acts[net->n_layers]->data;
    for (size_t k = 0; y_mean && k < rows * outputs; k++) {
        float scaled = out[k] * y_std[k % outputs];
        out[k] = scaled + y_mean[k % outputs];
    }
    return 0;
}

//  The last forward pass's outputs (rows × outputs, borrowed).
static const float *
s_net_outputs (const s_net_t *net)
{
    return net->acts[net->n_layers]->data;
}

//  Gradient of output K with respect to the raw input, for each of the
//  ROWS rows of the last forward pass: rows × inputs floats (borrowed,
//  valid until the next pass).
static const float *
s_net_backward (s_net_t *net, size_t rows, size_t k)
{
    const maas_mlp_t *mlp = net->mlp;
    size_t outputs = maas_mlp_outputs (mlp), n = maas_mlp_inputs (mlp);
    float *g = net->grad->data, *other = net->spare->data;
    //  d output / d output before the scaling: its std, or 1 unscaled.
    const float *y_std = maas_mlp_target_std (mlp);
    memset (g, 0, rows * outputs * sizeof *g);
    for (size_t r = 0; r < rows; r++)
        g[r * outputs + k] = y_std ? y_std[k] : 1;
    maas_act_backward (maas_mlp_layer (mlp, net->n_layers - 1).act, s_net_outputs (net), g, rows,
                       outputs);
    for (size_t l = net->n_layers; l-- > 0;) {
        const maas_tensor_t *w = maas_mlp_weights_const (mlp, l);
        maas_tensor_t dz = maas_tensor_view (g, rows, w->cols);
        maas_tensor_t da = maas_tensor_view (other, rows, w->rows);
        maas_gemm (false, true, 1.0f, &dz, w, 0.0f, &da);
        if (l > 0)
            maas_act_backward (maas_mlp_layer (mlp, l - 1).act, net->acts[l]->data, other, rows,
                               w->rows);
        float *swap = g;
        g = other, other = swap;
    }
    const float *std = maas_mlp_norm_std (mlp);
    for (size_t i = 0; std && i < rows * n; i++)
        g[i] /= std[i % n];
    return g;
}

//  -- the methods

//  The index of the KK-th output attributed.
static size_t
s_output_index (const maas_explain_result_t *res, size_t kk)
{
    return res->output == MAAS_EXPLAIN_OUTPUT_ALL ? kk : (size_t) res->output;
}

//  Attribution cell of row R, input I, attributed output KK.
static float *
s_cell (maas_explain_result_t *res, size_t r, size_t i, size_t kk)
{
    return res->attributions + (r * res->inputs + i) * res->outputs + kk;
}

//  Integrated gradients for C rows of X (result rows FIRST...): the
//  midpoint rule over STEPS points of the straight path from the baseline,
//  all C × steps points as one batch.
static int
s_ig_chunk (s_net_t *net, const float *x, size_t c, size_t first, maas_explain_result_t *res)
{
    size_t n = res->inputs, steps = res->steps;
    const float *b = res->baseline;
    if (maas_tensor_reshape (net->scratch, c * steps, n) != 0)
        return -1;
    float *path = net->scratch->data;
    for (size_t r = 0; r < c; r++)
        for (size_t s = 0; s < steps; s++) {
            float alpha = ((float) s + 0.5f) / (float) steps;
            for (size_t i = 0; i < n; i++)
                path[(r * steps + s) * n + i] = b[i] + alpha * (x[r * n + i] - b[i]);
        }
    if (s_net_forward (net, path, c * steps) != 0)
        return -1;
    for (size_t kk = 0; kk < res->outputs; kk++) {
        const float *g = s_net_backward (net, c * steps, s_output_index (res, kk));
        for (size_t r = 0; r < c; r++)
            for (size_t i = 0; i < n; i++) {
                double sum = 0;
                for (size_t s = 0; s < steps; s++)
                    sum += g[(r * steps + s) * n + i];
                *s_cell (res, first + r, i, kk) = (float) ((x[r * n + i] - b[i]) * sum / steps);
            }
    }
    return 0;
}

//  Gradient × input for C rows of X: one gradient per row and output.
static int
s_gxi_chunk (s_net_t *net, const float *x, size_t c, size_t first, maas_explain_result_t *res)
{
    size_t n = res->inputs;
    if (s_net_forward (net, x, c) != 0)
        return -1;
    for (size_t kk = 0; kk < res->outputs; kk++) {
        const float *g = s_net_backward (net, c, s_output_index (res, kk));
        for (size_t r = 0; r < c; r++)
            for (size_t i = 0; i < n; i++)
                *s_cell (res, first + r, i, kk) = x[r * n + i] * g[r * n + i];
    }
    return 0;
}

//  Shapley weight of a coalition of S of N players: s! (n-s-1)! / n!.
static double
s_shapley_weight (size_t s, size_t n)
{
    double choose = 1;    //  C(n-1, s)
    for (size_t j = 1; j <= s; j++)
        choose = choose * (double) (n - s - 1 + j) / (double) j;
    return 1.0 / ((double) n * choose);
}

//  Shapley values of row R from F, the outputs of its 2^n coalitions
//  (coalition S: the inputs whose bits are set take x, the others the
//  baseline).
static void
s_shapley_row (const float *f, size_t outputs, size_t r, maas_explain_result_t *res)
{
    size_t n = res->inputs, m = (size_t) 1 << n;
    double weight[MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS];
    for (size_t s = 0; s < n; s++)
        weight[s] = s_shapley_weight (s, n);
    for (size_t kk = 0; kk < res->outputs; kk++) {
        size_t k = s_output_index (res, kk);
        for (size_t i = 0; i < n; i++) {
            double phi = 0;
            for (size_t set = 0; set < m; set++)
                if (!(set & ((size_t) 1 << i)))
                    phi += weight[__builtin_popcountll (set)]
                        * (f[(set | (size_t) 1 << i) * outputs + k] - f[set * outputs + k]);
            *s_cell (res, r, i, kk) = (float) phi;
        }
    }
}

//  Exact Shapley values for C rows of X: every coalition of every row in
//  one forward pass.
static int
s_shapley_chunk (s_net_t *net, const float *x, size_t c, size_t first, maas_explain_result_t *res)
{
    size_t n = res->inputs, m = (size_t) 1 << n, outputs = maas_mlp_outputs (net->mlp);
    if (maas_tensor_reshape (net->scratch, c * m, n) != 0)
        return -1;
    float *rows = net->scratch->data;
    for (size_t r = 0; r < c; r++)
        for (size_t set = 0; set < m; set++)
            for (size_t i = 0; i < n; i++)
                rows[(r * m + set) * n + i] = set >> i & 1 ? x[r * n + i] : res->baseline[i];
    if (s_net_forward (net, rows, c * m) != 0)
        return -1;
    for (size_t r = 0; r < c; r++)
        s_shapley_row (s_net_outputs (net) + r * m * outputs, outputs, first + r, res);
    return 0;
}

typedef int (s_chunk_fn) (s_net_t *net, const float *x, size_t c, size_t first,
                          maas_explain_result_t *res);

//  Network rows each input row costs under RES's method.
static size_t
s_cost (const maas_explain_result_t *res)
{
    if (res->method == MAAS_EXPLAIN_INTEGRATED_GRADIENTS)
        return res->steps;
    return res->method == MAAS_EXPLAIN_SHAPLEY ? (size_t) 1 << res->inputs : 1;
}

//  Run RES's method over ROWS rows of X in chunks of whole rows.
static int
s_attribute (s_net_t *net, const float *x, size_t rows, maas_explain_result_t *res)
{
    static s_chunk_fn *const chunk_fn[MAAS_EXPLAIN_METHOD_COUNT] = {s_ig_chunk, s_gxi_chunk,
                                                                    s_shapley_chunk};
    size_t per_chunk = MAAS_EXPLAIN_BLOCK_ROWS / s_cost (res);
    per_chunk = per_chunk ? per_chunk : 1;
    for (size_t done = 0; done < rows; done += per_chunk) {
        size_t c = rows - done < per_chunk ? rows - done : per_chunk;
        if (chunk_fn[res->method](net, x + done * res->inputs, c, done, res) != 0)
            return -1;
    }
    return 0;
}

//  f(x) for every row and f(baseline), the selected outputs of each.
static int
s_endpoints (s_net_t *net, const float *x, size_t rows, maas_explain_result_t *res)
{
    size_t outputs = maas_mlp_outputs (net->mlp), K = res->outputs;
    for (size_t done = 0; done < rows; done += MAAS_EXPLAIN_BLOCK_ROWS) {
        size_t c = rows - done < MAAS_EXPLAIN_BLOCK_ROWS ? rows - done : MAAS_EXPLAIN_BLOCK_ROWS;
        if (s_net_forward (net, x + done * res->inputs, c) != 0)
            return -1;
        for (size_t r = 0; r < c; r++)
            for (size_t kk = 0; kk < K; kk++)
                res->instance_output[(done + r) * K + kk] =
                    s_net_outputs (net)[r * outputs + s_output_index (res, kk)];
    }
    if (s_net_forward (net, res->baseline, 1) != 0)
        return -1;
    for (size_t r = 0; r < rows; r++)
        for (size_t kk = 0; kk < K; kk++)
            res->baseline_output[r * K + kk] = s_net_outputs (net)[s_output_index (res, kk)];
    return 0;
}

//  |Σ attributions − (f(x) − f(baseline))| per row and output.
static void
s_errors (maas_explain_result_t *res)
{
    for (size_t r = 0; r < res->rows; r++)
        for (size_t kk = 0; kk < res->outputs; kk++) {
            double sum = 0;
            for (size_t i = 0; i < res->inputs; i++)
                sum += *s_cell (res, r, i, kk);
            size_t at = r * res->outputs + kk;
            res->approximation_error[at] =
                (float) fabs (sum - ((double) res->instance_output[at] - res->baseline_output[at]));
        }
}

//  -- running

//  Whether PARAMS fit MLP and X is finite; -1 with ERR if not.
static int
s_check (const maas_mlp_t *mlp, const maas_explain_params_t *params, const float *x, size_t rows,
         maas_err_t *err)
{
    size_t n = maas_mlp_inputs (mlp), outputs = maas_mlp_outputs (mlp);
    if (params->method == MAAS_EXPLAIN_SHAPLEY && n > MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS)
        maas_err_set (err, MAAS_ERR_INPUT,
                      "exact Shapley values need at most %d inputs, the model has %zu "
                      "(use integrated_gradients)",
                      MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS, n);
    else if (params->baseline && params->baseline_len != n)
        maas_err_set (err, MAAS_ERR_INPUT, "baseline has %zu values, the model takes %zu features",
                      params->baseline_len, n);
    else if (params->output != MAAS_EXPLAIN_OUTPUT_ALL
             && (params->output < 0 || (size_t) params->output >= outputs))
        maas_err_set (err, MAAS_ERR_INPUT,
                      "output %" PRId64 " is out of range: the model has %zu output%s",
                      params->output, outputs, outputs == 1 ? "" : "s");
    else if (params->method == MAAS_EXPLAIN_INTEGRATED_GRADIENTS
             && (params->steps < 1 || params->steps > MAAS_EXPLAIN_STEPS_MAX))
        maas_err_set (err, MAAS_ERR_INPUT, "steps must be 1 to %d, got %zu", MAAS_EXPLAIN_STEPS_MAX,
                      params->steps);
    else if (rows == 0 || rows > MAAS_TENSOR_MAX_ELEMS / n)
        maas_err_set (err, MAAS_ERR_INPUT, "%zu rows: give at least one, and fewer", rows);
    else if (!maas_tensor_all_finite (x, rows * n)
             || (params->baseline && !maas_tensor_all_finite (params->baseline, n)))
        maas_err_set (err, MAAS_ERR_INPUT,
                      "the input or baseline holds a value that is not a finite number");
    else
        return 0;
    return -1;
}

//  RES's shape and arrays for ROWS rows of MLP under PARAMS. -1 if out of memory.
static int
s_result_alloc (maas_explain_result_t *res, const maas_mlp_t *mlp,
                const maas_explain_params_t *params, size_t rows)
{
    res->method = params->method;
    res->steps = params->method == MAAS_EXPLAIN_INTEGRATED_GRADIENTS ? params->steps : 0;
    res->rows = rows;
    res->inputs = maas_mlp_inputs (mlp);
    res->output = params->output;
    res->outputs = params->output == MAAS_EXPLAIN_OUTPUT_ALL ? maas_mlp_outputs (mlp) : 1;
    size_t each = rows * res->outputs;
    res->attributions = calloc (each * res->inputs, sizeof (float));
    res->instance_output = calloc (each, sizeof (float));
    res->baseline_output = calloc (each, sizeof (float));
    res->approximation_error = calloc (each, sizeof (float));
    res->baseline = calloc (res->inputs, sizeof (float));
    if (!res->attributions || !res->instance_output || !res->baseline_output
        || !res->approximation_error || !res->baseline)
        return -1;
    const float *b = params->baseline ? params->baseline : maas_mlp_norm_mean (mlp);
    if (b)
        memcpy (res->baseline, b, res->inputs * sizeof (float));
    return 0;
}

int
maas_explain_run (const maas_mlp_t *mlp, const maas_explain_params_t *params, const float *x,
                  size_t rows, maas_explain_result_t *result, maas_err_t *err)
{
    *result = (maas_explain_result_t){0};
    if (s_check (mlp, params, x, rows, err) != 0)
        return -1;
    int64_t started = maas_clock_mono_us ();
    s_net_t net;
    bool have_net = false;
    if (s_result_alloc (result, mlp, params, rows) != 0 || s_net_init (&net, mlp) != 0)
        goto oom;
    have_net = true;
    if (s_endpoints (&net, x, rows, result) != 0 || s_attribute (&net, x, rows, result) != 0)
        goto oom;
    s_errors (result);
    s_net_free (&net);
    result->compute_us = maas_clock_mono_us () - started;
    return 0;
oom:
    maas_err_set (err, MAAS_ERR_NOMEM, "out of memory explaining %zu rows", rows);
    if (have_net)
        s_net_free (&net);
    maas_explain_result_clear (result);
    return -1;
}

void
maas_explain_result_clear (maas_explain_result_t *result)
{
    free (result->attributions);
    free (result->instance_output);
    free (result->baseline_output);
    free (result->approximation_error);
    free (result->baseline);
    *result = (maas_explain_result_t){0};
}

//  -- params

maas_explain_params_t
maas_explain_params_defaults (void)
{
    return (maas_explain_params_t){.method = MAAS_EXPLAIN_INTEGRATED_GRADIENTS,
                                   .steps = MAAS_EXPLAIN_STEPS_DEFAULT,
                                   .output = MAAS_EXPLAIN_OUTPUT_ALL};
}

void
maas_explain_params_clear (maas_explain_params_t *params)
{
    free (params->baseline);
    *params = maas_explain_params_defaults ();
}

int
maas_explain_params_pack (const maas_explain_params_t *params, msgpack_packer *pk)
{
    bool one = params->output != MAAS_EXPLAIN_OUTPUT_ALL, baseline = params->baseline != NULL;
    int rc = msgpack_pack_map (pk, 2 + one + baseline)
        | maas_codec_pack_kv_str (pk, "method", maas_explain_method_name (params->method))
        | maas_codec_pack_kv_uint (pk, "steps", params->steps);
    if (one)
        rc |= maas_codec_pack_kv_int (pk, "output", params->output);
    if (baseline) {
        rc |= maas_codec_pack_str (pk, "baseline") | msgpack_pack_array (pk, params->baseline_len);
        for (size_t i = 0; i < params->baseline_len; i++)
            rc |= msgpack_pack_float (pk, params->baseline[i]);
    }
    return rc ? -1 : 0;
}

//  A msgpack number as a float; false if OBJ is not one.
static bool
s_number (const msgpack_object *obj, float *value)
{
    if (obj->type == MSGPACK_OBJECT_FLOAT32 || obj->type == MSGPACK_OBJECT_FLOAT64)
        *value = (float) obj->via.f64;
    else if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *value = (float) obj->via.u64;
    else if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *value = (float) obj->via.i64;
    else
        return false;
    return true;
}

//  "baseline": an array of numbers, copied into PARAMS.
static int
s_baseline (maas_explain_params_t *params, const msgpack_object *val, maas_err_t *err)
{
    size_t n = val->type == MSGPACK_OBJECT_ARRAY ? val->via.array.size : 0;
    free (params->baseline);
    params->baseline = n && n <= MAAS_MLP_MAX_UNITS ? malloc (n * sizeof (float)) : NULL;
    params->baseline_len = n;
    for (size_t i = 0; params->baseline && i < n; i++)
        if (!s_number (&val->via.array.ptr[i], &params->baseline[i])) {
            free (params->baseline);
            params->baseline = NULL;
        }
    if (params->baseline)
        return 0;
    maas_err_set (err, MAAS_ERR_INPUT,
                  "params: 'baseline' must be an array of 1 to %d numbers (one row)",
                  MAAS_MLP_MAX_UNITS);
    return -1;
}

//  One params entry KEY = VAL into PARAMS; -1 with ERR.
static int
s_param (maas_explain_params_t *params, const char *key, const msgpack_object *val, maas_err_t *err)
{
    bool count = val->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
    if (strcmp (key, "baseline") == 0)
        return s_baseline (params, val, err);
    if (strcmp (key, "method") == 0) {
        char name[40] = "";
        if (val->type == MSGPACK_OBJECT_STR && val->via.str.size < sizeof name)
            memcpy (name, val->via.str.ptr, val->via.str.size);
        int method = maas_explain_method_parse (name);
        if (method >= 0) {
            params->method = (maas_explain_method_t) method;
            return 0;
        }
        maas_err_set (err, MAAS_ERR_INPUT,
                      "params: 'method' must be integrated_gradients, gradient_x_input or shapley");
    }
    else if (strcmp (key, "steps") == 0) {
        if (count && val->via.u64 >= 1 && val->via.u64 <= MAAS_EXPLAIN_STEPS_MAX) {
            params->steps = (size_t) val->via.u64;
            return 0;
        }
        maas_err_set (err, MAAS_ERR_INPUT, "params: 'steps' must be an integer from 1 to %d",
                      MAAS_EXPLAIN_STEPS_MAX);
    }
    else if (strcmp (key, "output") == 0) {
        if (count && val->via.u64 < MAAS_MLP_MAX_UNITS) {
            params->output = (int64_t) val->via.u64;
            return 0;
        }
        maas_err_set (err, MAAS_ERR_INPUT, "params: 'output' must be an output index (0, 1, ...)");
    }
    else
        maas_err_set (err, MAAS_ERR_INPUT,
                      "params: unknown key '%s' (an explain job's params hold method, steps, "
                      "baseline, output)",
                      key);
    return -1;
}

int
maas_explain_params_decode (maas_explain_params_t *params, const msgpack_object *obj,
                            maas_err_t *err)
{
    *params = maas_explain_params_defaults ();
    maas_codec_map_t map;
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (maas_codec_map_init (&map, obj, "params") != 0) {
        maas_err_copy (err, &map.err);
        return -1;
    }
    for (uint32_t i = 0; i < map.map->size; i++) {
        const msgpack_object_kv *kv = &map.map->ptr[i];
        char key[40] = "?";
        if (kv->key.type == MSGPACK_OBJECT_STR)
            maas_codec_excerpt (key, sizeof key, kv->key.via.str.ptr, kv->key.via.str.size);
        if (s_param (params, key, &kv->val, err) != 0) {
            maas_explain_params_clear (params);
            return -1;
        }
    }
    return 0;
}

//  -- the result

int
maas_explain_result_pack (const maas_explain_result_t *result, msgpack_packer *pk)
{
    size_t each = result->rows * result->outputs;
    return msgpack_pack_map (pk, 14) | maas_codec_pack_kv_str (pk, "model", result->model)
            | maas_codec_pack_kv_uint (pk, "version", result->version)
            | maas_codec_pack_kv_str (pk, "method", maas_explain_method_name (result->method))
            | maas_codec_pack_kv_uint (pk, "steps", result->steps)
            | maas_codec_pack_kv_uint (pk, "rows", result->rows)
            | maas_codec_pack_kv_uint (pk, "inputs", result->inputs)
            | maas_codec_pack_kv_uint (pk, "outputs", result->outputs)
            | maas_codec_pack_kv_int (pk, "output", result->output)
            | maas_codec_pack_str (pk, "attributions")
            | maas_codec_pack_f32 (pk, result->attributions, each * result->inputs)
            | maas_codec_pack_str (pk, "instance_output")
            | maas_codec_pack_f32 (pk, result->instance_output, each)
            | maas_codec_pack_str (pk, "baseline_output")
            | maas_codec_pack_f32 (pk, result->baseline_output, each)
            | maas_codec_pack_str (pk, "approximation_error")
            | maas_codec_pack_f32 (pk, result->approximation_error, each)
            | maas_codec_pack_str (pk, "baseline")
            | maas_codec_pack_f32 (pk, result->baseline, result->inputs)
            | maas_codec_pack_kv_int (pk, "compute_us", result->compute_us)
        ? -1
        : 0;
}

int
maas_explain_meta_pack (const maas_explain_result_t *result, msgpack_packer *pk)
{
    return msgpack_pack_map (pk, 2) | maas_codec_pack_kv_uint (pk, "version", result->version)
            | maas_codec_pack_kv_int (pk, "compute_us", result->compute_us)
        ? -1
        : 0;
}

//  The scalar keys of a result map into RESULT; -1 with MAP->err.
static int
s_scalars (maas_codec_map_t *map, maas_explain_result_t *result)
{
    uint64_t steps, rows, inputs, outputs;
    char method[40];
    if (maas_codec_map_str_copy (map, "model", result->model, sizeof result->model)
        || maas_codec_map_uint64 (map, "version", &result->version)
        || maas_codec_map_str_copy (map, "method", method, sizeof method)
        || maas_codec_map_uint64 (map, "steps", &steps)
        || maas_codec_map_uint64 (map, "rows", &rows)
        || maas_codec_map_uint64 (map, "inputs", &inputs)
        || maas_codec_map_uint64 (map, "outputs", &outputs)
        || maas_codec_map_int64 (map, "output", &result->output)
        || maas_codec_map_int64 (map, "compute_us", &result->compute_us))
        return -1;
    int m = maas_explain_method_parse (method);
    if (m < 0 || rows == 0 || inputs == 0 || outputs == 0 || inputs > MAAS_MLP_MAX_UNITS
        || outputs > MAAS_MLP_MAX_UNITS || rows > MAAS_TENSOR_MAX_ELEMS / inputs / outputs) {
        maas_err_set (&map->err, MAAS_ERR_INPUT,
                      "result: method '%s', %" PRIu64 " rows × %" PRIu64 " inputs × %" PRIu64
                      " outputs is unknown, empty or too large",
                      method, rows, inputs, outputs);
        return -1;
    }
    result->method = (maas_explain_method_t) m;
    result->steps = (size_t) steps;
    result->rows = (size_t) rows;
    result->inputs = (size_t) inputs;
    result->outputs = (size_t) outputs;
    return 0;
}

//  The float32 bin under KEY, COUNT floats, copied into a new *DST.
static int
s_floats (maas_codec_map_t *map, const char *key, size_t count, float **dst)
{
    const void *bytes;
    size_t size;
    if (maas_codec_map_bin (map, key, &bytes, &size) != 0)
        return -1;
    if (size != count * 4) {
        maas_err_set (&map->err, MAAS_ERR_INPUT, "result: '%s' holds %zu bytes, expected %zu", key,
                      size, count * 4);
        return -1;
    }
    if (!(*dst = malloc (count * sizeof (float)))) {
        maas_err_set (&map->err, MAAS_ERR_NOMEM, "result: out of memory for '%s'", key);
        return -1;
    }
    maas_codec_f32_from_le (*dst, bytes, count);
    return 0;
}

int
maas_explain_result_parse (maas_explain_result_t *result, const void *data, size_t size,
                           maas_err_t *err)
{
    *result = (maas_explain_result_t){0};
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t map;
    int rc = maas_proto_open_map (data, size, 0, "result", &msg, &map, err);
    size_t each = result->rows * result->outputs;
    if (rc == 0 && s_scalars (&map, result) == 0)
        each = result->rows * result->outputs;
    if (rc == 0
        && (each == 0
            || s_floats (&map, "attributions", each * result->inputs, &result->attributions)
            || s_floats (&map, "instance_output", each, &result->instance_output)
            || s_floats (&map, "baseline_output", each, &result->baseline_output)
            || s_floats (&map, "approximation_error", each, &result->approximation_error)
            || s_floats (&map, "baseline", result->inputs, &result->baseline))) {
        maas_err_copy (err, &map.err);
        rc = -1;
    }
    msgpack_unpacked_destroy (&msg);
    if (rc != 0)
        maas_explain_result_clear (result);
    return rc;
}
