/*  check_explain.c: attributions (integrated gradients, gradient × input,
 *  exact Shapley) against what they promise: completeness within the
 *  reported error, a brute-force Shapley over permutations, finite
 *  differences; and the explain params and RESULT, packed and parsed. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  A seeded INPUTS → 16 → 16 → OUTPUTS network with a standardisation
//  whose mean is not zero (so the default baseline is not the origin).
static maas_mlp_t *
s_net (size_t inputs, size_t outputs, maas_act_t hidden, maas_act_t out, uint64_t seed)
{
    maas_layer_spec_t layers[] = {{16, hidden}, {16, hidden}, {outputs, out}};
    maas_mlp_t *mlp = maas_mlp_new (inputs, layers, 3);
    ck_assert_ptr_nonnull (mlp);
    maas_mlp_init (mlp, seed);
    float mean[16], std[16];
    for (size_t i = 0; i < inputs; i++)
        mean[i] = 0.1f * (float) i - 0.3f, std[i] = 0.5f + 0.25f * (float) i;
    ck_assert_int_eq (maas_mlp_set_norm (mlp, mean, std), 0);
    return mlp;
}

//  ROWS × N made-up rows (caller frees).
static float *
s_rows (size_t rows, size_t n, uint64_t seed)
{
    maas_rng_t rng;
    maas_rng_seed (&rng, seed);
    float *x = malloc (rows * n * sizeof *x);
    for (size_t k = 0; k < rows * n; k++)
        x[k] = (float) (maas_rng_uniform (&rng) * 4 - 2);
    return x;
}

//  f(x) output K through the inference path.
static double
s_f (const maas_mlp_t *mlp, const float *x, size_t k)
{
    maas_predictor_t *p = maas_predictor_new (mlp);
    float out[16];
    ck_assert_int_eq (maas_predictor_run (p, x, 1, out), 0);
    maas_predictor_destroy (&p);
    return out[k];
}

//  Explain ROWS rows of X under MLP with PARAMS into RES; expect success.
static void
s_explain (const maas_mlp_t *mlp, const maas_explain_params_t *params, const float *x, size_t rows,
           maas_explain_result_t *res)
{
    maas_err_t err = {0};
    ck_assert_msg (maas_explain_run (mlp, params, x, rows, res, &err) == 0, "%s", err.text);
}

//  Completeness: Σ attributions = f(x) − f(baseline) within the reported
//  error, which is recomputed here, and the error is small.
static void
s_check_complete (const maas_explain_result_t *res, double bound)
{
    for (size_t r = 0; r < res->rows; r++)
        for (size_t k = 0; k < res->outputs; k++) {
            double sum = 0;
            for (size_t i = 0; i < res->inputs; i++)
                sum += res->attributions[(r * res->inputs + i) * res->outputs + k];
            size_t at = r * res->outputs + k;
            double gap = fabs (sum - (res->instance_output[at] - res->baseline_output[at]));
            ck_assert_double_eq_tol (gap, res->approximation_error[at], 1e-6);
            ck_assert_msg (gap < bound, "row %zu output %zu: error %g", r, k, gap);
        }
}

START_TEST (test_ig_completeness)
{
    maas_mlp_t *mlp = s_net (4, 1, MAAS_ACT_TANH, MAAS_ACT_SIGMOID, 7);
    float *x = s_rows (5, 4, 1);
    maas_explain_params_t params = maas_explain_params_defaults ();
    maas_explain_result_t res;
    s_explain (mlp, &params, x, 5, &res);
    ck_assert_int_eq (res.method, MAAS_EXPLAIN_INTEGRATED_GRADIENTS);
    ck_assert_uint_eq (res.steps, 50);
    ck_assert_uint_eq (res.outputs, 1);
    s_check_complete (&res, 1e-3);
    //  The default baseline is the training mean; f(x) is the inference path's.
    ck_assert_float_eq (res.baseline[0], -0.3f);
    ck_assert_double_eq_tol (res.instance_output[2], s_f (mlp, x + 8, 0), 1e-6);
    ck_assert_double_eq_tol (res.baseline_output[0], s_f (mlp, res.baseline, 0), 1e-6);
    maas_explain_result_clear (&res);
    maas_mlp_destroy (&mlp);
    //  Softmax: every class attributed, each complete.
    mlp = s_net (4, 3, MAAS_ACT_RELU, MAAS_ACT_SOFTMAX, 8);
    s_explain (mlp, &params, x, 5, &res);
    ck_assert_uint_eq (res.outputs, 3);
    ck_assert_int_eq (res.output, MAAS_EXPLAIN_OUTPUT_ALL);
    s_check_complete (&res, 1e-3);
    maas_explain_result_clear (&res);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

//  A regression network's attributions are in the target's units: its
//  output scaling multiplies them by the target std, and they stay complete
//  against the scaled outputs the predictor serves.
START_TEST (test_regression_in_target_units)
{
    maas_mlp_t *mlp = s_net (4, 1, MAAS_ACT_TANH, MAAS_ACT_LINEAR, 9);
    maas_tensor_t *w = maas_mlp_weights (mlp, 2);    //  init leaves it at zero
    for (size_t k = 0; k < maas_tensor_size (w); k++)
        w->data[k] = 0.3f * sinf ((float) k + 1);
    maas_mlp_t *scaled = maas_mlp_dup (mlp);
    float y_mean = 250, y_std = 40;
    ck_assert_int_eq (maas_mlp_set_target_norm (scaled, &y_mean, &y_std), 0);
    float *x = s_rows (3, 4, 7);
    maas_explain_params_t params = maas_explain_params_defaults ();
    for (int m = 0; m < MAAS_EXPLAIN_METHOD_COUNT; m++) {
        params.method = (maas_explain_method_t) m;
        maas_explain_result_t raw, res;
        s_explain (mlp, &params, x, 3, &raw);
        s_explain (scaled, &params, x, 3, &res);
        if (m != MAAS_EXPLAIN_GRADIENT_X_INPUT)
            s_check_complete (&res, 40 * 1e-3);
        for (size_t k = 0; k < 12; k++)
            ck_assert_double_eq_tol (res.attributions[k], 40 * raw.attributions[k], 1e-4);
        ck_assert_double_eq_tol (res.instance_output[1], s_f (scaled, x + 4, 0), 1e-4);
        ck_assert_double_eq_tol (res.baseline_output[0], 40 * raw.baseline_output[0] + 250, 1e-4);
        maas_explain_result_clear (&raw);
        maas_explain_result_clear (&res);
    }
    maas_mlp_destroy (&scaled);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

//  Shapley value of every input of X by definition: the mean over all N!
//  orders of its marginal contribution when it joins those before it.
static void
s_brute_shapley (const maas_mlp_t *mlp, const float *x, const float *b, size_t n, double *phi)
{
    size_t count = 0;
    memset (phi, 0, n * sizeof *phi);
    //  Every code of four 2-bit digits naming each input once is an order.
    for (unsigned code = 0; code < 256; code++) {
        size_t order[4];
        unsigned seen = 0;
        for (size_t j = 0; j < 4; j++)
            seen |= 1u << (order[j] = code >> (2 * j) & 3);
        if (seen != 15)
            continue;
        float z[4];
        memcpy (z, b, sizeof z);
        for (size_t j = 0; j < n; j++) {
            double before = s_f (mlp, z, 0);
            z[order[j]] = x[order[j]];
            phi[order[j]] += s_f (mlp, z, 0) - before;
        }
        count++;
    }
    ck_assert_uint_eq (count, 24);
    for (size_t i = 0; i < n; i++)
        phi[i] /= (double) count;
}

START_TEST (test_shapley_exact)
{
    maas_mlp_t *mlp = s_net (4, 1, MAAS_ACT_RELU, MAAS_ACT_SIGMOID, 11);
    float *x = s_rows (3, 4, 2);
    float baseline[4] = {0.5f, -1, 0, 2};
    maas_explain_params_t params = maas_explain_params_defaults ();
    params.method = MAAS_EXPLAIN_SHAPLEY;
    params.baseline = baseline;
    params.baseline_len = 4;
    maas_explain_result_t res;
    s_explain (mlp, &params, x, 3, &res);
    ck_assert_uint_eq (res.steps, 0);
    s_check_complete (&res, 1e-5);
    for (size_t r = 0; r < 3; r++) {
        double phi[4];
        s_brute_shapley (mlp, x + r * 4, baseline, 4, phi);
        for (size_t i = 0; i < 4; i++)
            ck_assert_double_eq_tol (res.attributions[r * 4 + i], phi[i], 1e-5);
    }
    maas_explain_result_clear (&res);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

START_TEST (test_gradient_x_input)
{
    maas_mlp_t *mlp = s_net (5, 2, MAAS_ACT_TANH, MAAS_ACT_SOFTMAX, 13);
    float *x = s_rows (4, 5, 3);
    maas_explain_params_t params = maas_explain_params_defaults ();
    params.method = MAAS_EXPLAIN_GRADIENT_X_INPUT;
    maas_explain_result_t res;
    s_explain (mlp, &params, x, 4, &res);
    ck_assert_uint_eq (res.outputs, 2);
    const float h = 1e-2f;
    for (size_t r = 0; r < 4; r++)
        for (size_t i = 0; i < 5; i++)
            for (size_t k = 0; k < 2; k++) {
                float z[5];
                memcpy (z, x + r * 5, sizeof z);
                z[i] += h;
                double up = s_f (mlp, z, k);
                z[i] -= 2 * h;
                double slope = (up - s_f (mlp, z, k)) / (2 * h);
                ck_assert_double_eq_tol (res.attributions[(r * 5 + i) * 2 + k],
                                         x[r * 5 + i] * slope, 1e-3);
            }
    maas_explain_result_clear (&res);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

//  One output named: the same numbers as that column of all outputs; and
//  rows cut into chunks (400 rows × 50 steps is over one block) give each
//  row what it gets alone.
START_TEST (test_output_and_chunks)
{
    maas_mlp_t *mlp = s_net (3, 3, MAAS_ACT_RELU, MAAS_ACT_SOFTMAX, 17);
    size_t rows = 400;
    float *x = s_rows (rows, 3, 4);
    maas_explain_params_t params = maas_explain_params_defaults ();
    maas_explain_result_t all, one;
    s_explain (mlp, &params, x, rows, &all);
    params.output = 1;
    for (size_t r = 326; r < 329; r++) {
        s_explain (mlp, &params, x + r * 3, 1, &one);
        ck_assert_uint_eq (one.outputs, 1);
        for (size_t i = 0; i < 3; i++)
            ck_assert_double_eq_tol (one.attributions[i], all.attributions[(r * 3 + i) * 3 + 1],
                                     1e-6);
        maas_explain_result_clear (&one);
    }
    maas_explain_result_clear (&all);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

START_TEST (test_run_errors)
{
    maas_err_t err;
    maas_explain_result_t res;
    maas_explain_params_t params = maas_explain_params_defaults ();
    maas_mlp_t *wide = s_net (15, 1, MAAS_ACT_RELU, MAAS_ACT_SIGMOID, 1);
    float *x = s_rows (1, 15, 5);
    params.method = MAAS_EXPLAIN_SHAPLEY;
    ck_assert_int_eq (maas_explain_run (wide, &params, x, 1, &res, &err), -1);
    ck_assert_str_eq (err.text,
                      "exact Shapley values need at most 14 inputs, the model has 15 "
                      "(use integrated_gradients)");
    params.method = MAAS_EXPLAIN_INTEGRATED_GRADIENTS;
    params.output = 1;
    ck_assert_int_eq (maas_explain_run (wide, &params, x, 1, &res, &err), -1);
    ck_assert_str_eq (err.text, "output 1 is out of range: the model has 1 output");
    params.output = MAAS_EXPLAIN_OUTPUT_ALL;
    params.baseline = x;
    params.baseline_len = 3;
    ck_assert_int_eq (maas_explain_run (wide, &params, x, 1, &res, &err), -1);
    ck_assert_str_eq (err.text, "baseline has 3 values, the model takes 15 features");
    params.baseline = NULL;
    x[3] = NAN;
    ck_assert_int_eq (maas_explain_run (wide, &params, x, 1, &res, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "not a finite number"));
    ck_assert_ptr_null (res.attributions);
    maas_mlp_destroy (&wide);
    free (x);
}
END_TEST

//  Decode params packed from BYTES (LEN) into PARAMS; the rc, ERR filled.
static int
s_decode (const char *bytes, size_t len, maas_explain_params_t *params, maas_err_t *err)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    ck_assert_int_eq (maas_codec_unpack (bytes, len, 0, &msg, NULL), 0);
    int rc = maas_explain_params_decode (params, &msg.data, err);
    msgpack_unpacked_destroy (&msg);
    return rc;
}

START_TEST (test_params)
{
    float baseline[2] = {1.5f, -2};
    maas_explain_params_t in = maas_explain_params_defaults (), out;
    in.method = MAAS_EXPLAIN_SHAPLEY, in.steps = 7, in.output = 2;
    in.baseline = baseline, in.baseline_len = 2;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_explain_params_pack (&in, &pk), 0);
    maas_err_t err;
    ck_assert_int_eq (s_decode (sbuf.data, sbuf.size, &out, &err), 0);
    ck_assert_int_eq (out.method, MAAS_EXPLAIN_SHAPLEY);
    ck_assert_uint_eq (out.steps, 7);
    ck_assert_int_eq (out.output, 2);
    ck_assert_uint_eq (out.baseline_len, 2);
    ck_assert_float_eq (out.baseline[1], -2);
    maas_explain_params_clear (&out);
    maas_explain_params_clear (&out);
    msgpack_sbuffer_destroy (&sbuf);
    ck_assert_int_eq (maas_explain_params_decode (&out, NULL, &err), 0);
    ck_assert_int_eq (out.method, MAAS_EXPLAIN_INTEGRATED_GRADIENTS);
    ck_assert_uint_eq (out.steps, 50);
    //  {"step": 5}, {"method": "lime"}, {"steps": 0}, {"baseline": "x"}
    ck_assert_int_eq (s_decode ("\x81\xa4step\x05", 7, &out, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "unknown key 'step'"));
    ck_assert_int_eq (s_decode ("\x81\xa6method\xa4lime", 13, &out, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "'method' must be integrated_gradients"));
    ck_assert_int_eq (s_decode ("\x81\xa5steps\x00", 8, &out, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "'steps' must be an integer from 1 to 4096"));
    ck_assert_int_eq (s_decode ("\x81\xa8"
                                "baseline\xa1x",
                                12, &out, &err),
                      -1);
    ck_assert_ptr_nonnull (strstr (err.text, "'baseline' must be an array"));
    ck_assert_ptr_null (out.baseline);
}
END_TEST

START_TEST (test_result_round_trip)
{
    maas_mlp_t *mlp = s_net (3, 2, MAAS_ACT_RELU, MAAS_ACT_SOFTMAX, 19);
    float *x = s_rows (2, 3, 6);
    maas_explain_params_t params = maas_explain_params_defaults ();
    maas_explain_result_t res, back;
    s_explain (mlp, &params, x, 2, &res);
    snprintf (res.model, sizeof res.model, "iris");
    res.version = 4;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_explain_result_pack (&res, &pk), 0);
    maas_err_t err;
    ck_assert_int_eq (maas_explain_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_str_eq (back.model, "iris");
    ck_assert_uint_eq (back.version, 4);
    ck_assert_uint_eq (back.rows, 2);
    ck_assert_uint_eq (back.inputs, 3);
    ck_assert_uint_eq (back.outputs, 2);
    ck_assert_int_eq (memcmp (back.attributions, res.attributions, 12 * sizeof (float)), 0);
    ck_assert_int_eq (memcmp (back.approximation_error, res.approximation_error, 4 * 4), 0);
    maas_explain_result_clear (&back);
    //  Cut short: the parser names what is wrong and allocates nothing.
    ck_assert_int_eq (maas_explain_result_parse (&back, sbuf.data, sbuf.size - 30, &err), -1);
    ck_assert_ptr_null (back.attributions);
    msgpack_sbuffer_destroy (&sbuf);
    maas_explain_result_clear (&res);
    maas_mlp_destroy (&mlp);
    free (x);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("explain");
    TCase *methods = tcase_create ("methods");
    tcase_add_test (methods, test_ig_completeness);
    tcase_add_test (methods, test_regression_in_target_units);
    tcase_add_test (methods, test_shapley_exact);
    tcase_add_test (methods, test_gradient_x_input);
    tcase_add_test (methods, test_output_and_chunks);
    suite_add_tcase (suite, methods);
    TCase *codec = tcase_create ("codec");
    tcase_add_test (codec, test_params);
    tcase_add_test (codec, test_result_round_trip);
    suite_add_tcase (suite, codec);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_run_errors);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
