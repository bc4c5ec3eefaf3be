/*  check_mlp.c: network structure, initialisation, input standardisation
 *  and output scaling. */
#include "maas.h"

#include "support.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const maas_layer_spec_t s_seed_net[] = {
    {64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};

START_TEST (test_shapes)
{
    maas_mlp_t *mlp = maas_mlp_new (10, s_seed_net, 3);
    ck_assert_ptr_nonnull (mlp);
    ck_assert_uint_eq (maas_mlp_inputs (mlp), 10);
    ck_assert_uint_eq (maas_mlp_outputs (mlp), 1);
    ck_assert_uint_eq (maas_mlp_layer_count (mlp), 3);
    ck_assert_uint_eq (maas_mlp_weights (mlp, 1)->rows, 64);
    ck_assert_uint_eq (maas_mlp_param_count (mlp), 10 * 64 + 64 + 64 * 64 + 64 + 64 + 1);
    maas_mlp_destroy (&mlp);
    ck_assert_ptr_null (mlp);
    maas_mlp_destroy (&mlp);
}
END_TEST

START_TEST (test_rejects_impossible_shapes)
{
    maas_layer_spec_t zero[] = {{0, MAAS_ACT_RELU}};
    ck_assert_ptr_null (maas_mlp_new (10, zero, 1));
    ck_assert_ptr_null (maas_mlp_new (0, s_seed_net, 3));
    ck_assert_ptr_null (maas_mlp_new (10, s_seed_net, 0));
    maas_layer_spec_t huge[] = {{MAAS_MLP_MAX_UNITS + 1, MAAS_ACT_RELU}};
    ck_assert_ptr_null (maas_mlp_new (10, huge, 1));
    maas_layer_spec_t bad_act[] = {{4, MAAS_ACT_COUNT}};
    ck_assert_ptr_null (maas_mlp_new (10, bad_act, 1));
}
END_TEST

START_TEST (test_init_is_seeded)
{
    maas_mlp_t *a = maas_mlp_new (10, s_seed_net, 3);
    maas_mlp_t *b = maas_mlp_new (10, s_seed_net, 3);
    maas_mlp_init (a, 42);
    maas_mlp_init (b, 42);
    for (size_t i = 0; i < 3; i++)
        ck_assert_mem_eq (maas_mlp_weights (a, i)->data, maas_mlp_weights (b, i)->data,
                          maas_tensor_size (maas_mlp_weights (a, i)) * sizeof (float));
    maas_mlp_init (b, 43);
    ck_assert (
        memcmp (maas_mlp_weights (a, 0)->data, maas_mlp_weights (b, 0)->data, 640 * sizeof (float))
        != 0);
    //  He init of the first relu layer: variance about 2 / fan_in.
    double sum_sq = 0;
    const maas_tensor_t *w = maas_mlp_weights (a, 0);
    for (size_t j = 0; j < maas_tensor_size (w); j++)
        sum_sq += w->data[j] * w->data[j];
    double variance = sum_sq / (double) maas_tensor_size (w);
    ck_assert_double_gt (variance, 0.15);
    ck_assert_double_lt (variance, 0.25);
    maas_mlp_destroy (&a);
    maas_mlp_destroy (&b);
}
END_TEST

START_TEST (test_norm_and_dup)
{
    maas_mlp_t *mlp = maas_mlp_new (3, s_seed_net, 3);
    float mean[3] = {1, 2, 3}, std[3] = {0.5f, 0, NAN};
    ck_assert_int_eq (maas_mlp_set_norm (mlp, mean, std), 0);
    ck_assert_float_eq (maas_mlp_norm_std (mlp)[0], 0.5f);
    ck_assert_float_eq (maas_mlp_norm_std (mlp)[1], 1.0f);    //  zero std: kept as 1
    ck_assert_float_eq (maas_mlp_norm_std (mlp)[2], 1.0f);    //  NaN std: kept as 1
    maas_mlp_init (mlp, 7);
    maas_mlp_t *copy = maas_mlp_dup (mlp);
    ck_assert_mem_eq (maas_mlp_norm_mean (copy), mean, sizeof mean);
    ck_assert_mem_eq (maas_mlp_weights (copy, 2)->data, maas_mlp_weights (mlp, 2)->data,
                      64 * sizeof (float));
    ck_assert_int_eq (maas_mlp_set_norm (mlp, NULL, NULL), 0);
    ck_assert_ptr_null (maas_mlp_norm_mean (mlp));
    maas_mlp_destroy (&mlp);
    maas_mlp_destroy (&copy);
}
END_TEST

//  A regression network starts as PyTorch's nn.Linear: hidden weights and
//  biases within ±1/sqrt(fan_in), the output layer at zero.
START_TEST (test_regression_init)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (8, layers, 3);
    maas_mlp_init (mlp, 5);
    for (size_t l = 0; l < 2; l++) {
        const maas_tensor_t *w = maas_mlp_weights (mlp, l), *b = maas_mlp_bias (mlp, l);
        float bound = 1.0f / sqrtf ((float) w->rows), top = 0;
        for (size_t k = 0; k < maas_tensor_size (w); k++)
            top = fabsf (w->data[k]) > top ? fabsf (w->data[k]) : top;
        ck_assert_float_le (top, bound);
        ck_assert_float_gt (top, 0.9f * bound);
        double sum_sq = 0;
        for (size_t k = 0; k < b->cols; k++)
            sum_sq += b->data[k] * b->data[k];
        ck_assert_double_gt (sum_sq, 0);
    }
    float zeros[65] = {0};
    ck_assert_mem_eq (maas_mlp_weights (mlp, 2)->data, zeros, 64 * sizeof (float));
    ck_assert_float_eq (maas_mlp_bias (mlp, 2)->data[0], 0);
    maas_mlp_destroy (&mlp);
}
END_TEST

//  The output scaling: kept on a linear output only, sanitised like the
//  input standardisation, copied by dup, cleared by NULL.
START_TEST (test_target_norm)
{
    maas_mlp_t *mlp = maas_mlp_new (3, s_seed_net, 3);
    float mean[2] = {5, NAN}, std[2] = {0.5f, -1};
    ck_assert_int_eq (maas_mlp_set_target_norm (mlp, mean, std), -1);    //  sigmoid output
    ck_assert_ptr_null (maas_mlp_target_mean (mlp));
    maas_mlp_destroy (&mlp);
    maas_layer_spec_t layers[] = {{4, MAAS_ACT_TANH}, {2, MAAS_ACT_LINEAR}};
    mlp = maas_mlp_new (3, layers, 2);
    ck_assert_int_eq (maas_mlp_set_target_norm (mlp, mean, std), 0);
    ck_assert_float_eq (maas_mlp_target_mean (mlp)[0], 5);
    ck_assert_float_eq (maas_mlp_target_mean (mlp)[1], 0);    //  NaN mean: kept as 0
    ck_assert_float_eq (maas_mlp_target_std (mlp)[0], 0.5f);
    ck_assert_float_eq (maas_mlp_target_std (mlp)[1], 1);    //  negative std: kept as 1
    maas_mlp_t *copy = maas_mlp_dup (mlp);
    ck_assert_mem_eq (maas_mlp_target_std (copy), maas_mlp_target_std (mlp), 2 * sizeof (float));
    ck_assert_int_eq (maas_mlp_set_target_norm (mlp, NULL, NULL), 0);
    ck_assert_ptr_null (maas_mlp_target_mean (mlp));
    ck_assert_ptr_nonnull (maas_mlp_target_mean (copy));
    maas_mlp_destroy (&mlp);
    maas_mlp_destroy (&copy);
}
END_TEST

START_TEST (test_act_names)
{
    for (int act = 0; act < MAAS_ACT_COUNT; act++)
        ck_assert_int_eq (maas_act_parse (maas_act_name ((maas_act_t) act)), act);
    ck_assert_int_eq (maas_act_parse ("gelu"), -1);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("mlp");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_shapes);
    tcase_add_test (core, test_init_is_seeded);
    tcase_add_test (core, test_norm_and_dup);
    tcase_add_test (core, test_regression_init);
    tcase_add_test (core, test_target_norm);
    tcase_add_test (core, test_act_names);
    suite_add_tcase (suite, core);
    TCase *limits = tcase_create ("limits");
    tcase_add_test (limits, test_rejects_impossible_shapes);
    suite_add_tcase (suite, limits);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
