/*  check_engine.c: maas-worker's engine without the wire: resolution and
 *  alias switches through real pub/sub, the byte-bounded model cache, input
 *  checks with precise errors, and dynamic batching, against real Redis. */
#include "support.h"
#include "maas.h"
#include "cache.h"
#include "engine.h"
#include "input.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SUPPORT_REGISTRY_FIXTURE (s_redis, s_reg, s_setup, s_teardown)

//  A seeded INPUTS → HIDDEN → OUTPUTS network (softmax, or linear when
//  REGRESSION) as a model.
static maas_model_t *
s_model (size_t inputs, size_t hidden, size_t outputs, uint64_t seed, bool regression)
{
    maas_layer_spec_t layers[] = {{hidden, MAAS_ACT_RELU},
                                  {outputs, regression ? MAAS_ACT_LINEAR : MAAS_ACT_SOFTMAX}};
    return support_model_new (inputs, layers, 2, seed);
}

//  Publish MODEL as the next version of NAME; returns the version.
static uint64_t
s_publish (const char *name, const maas_model_t *model)
{
    return support_publish_model (s_reg, name, model);
}

static maas_engine_t *
s_engine (size_t cache_bytes, size_t max_batch_rows, int64_t delay_us)
{
    maas_engine_config_t config = {.redis_url = support_redis_url (s_redis),
                                   .cache_bytes = cache_bytes,
                                   .max_batch_rows = max_batch_rows,
                                   .batch_delay_us = delay_us};
    char err[256];
    maas_engine_t *engine = maas_engine_new (&config, err, sizeof err);
    ck_assert_msg (engine, "%s", err);
    return engine;
}

//  ROWS × COLS deterministic features, msgpack-encoded as an array of rows,
//  into SBUF (caller destroys); the floats into X if not NULL.
static void
s_pack_rows (msgpack_sbuffer *sbuf, size_t rows, size_t cols, float seed, float *x)
{
    msgpack_sbuffer_init (sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, rows);
    for (size_t r = 0; r < rows; r++) {
        msgpack_pack_array (&pk, cols);
        for (size_t c = 0; c < cols; c++) {
            float v = sinf (seed + (float) (r * cols + c));
            msgpack_pack_float (&pk, v);
            if (x)
                x[r * cols + c] = v;
        }
    }
}

//  Submit ROWS rows of COLS features for SPEC (name, version, alias).
static void
s_submit (maas_engine_t *engine, void *tag, const char *name, uint64_t version, const char *alias,
          size_t rows, size_t cols, float seed, float *x)
{
    msgpack_sbuffer sbuf;
    s_pack_rows (&sbuf, rows, cols, seed, x);
    maas_engine_submit (engine, tag, name, version, alias, sbuf.data, sbuf.size, NULL,
                        maas_clock_mono_us ());
    msgpack_sbuffer_destroy (&sbuf);
}

//  The next result, after running everything; asserted present.
static maas_engine_result_t *
s_next (maas_engine_t *engine)
{
    maas_engine_run (engine, maas_clock_mono_us (), true);
    maas_engine_result_t *result = maas_engine_result (engine);
    ck_assert_ptr_nonnull (result);
    return result;
}

//  The next result failed with EXPECTED, which fails the same on any worker.
static void
s_expect_error (maas_engine_t *engine, const char *expected)
{
    maas_engine_result_t *result = s_next (engine);
    ck_assert (!result->ok);
    ck_assert_msg (!result->retryable, "'%s' marked retryable", result->error);
    ck_assert_msg (strstr (result->error, expected), "error '%s' lacks '%s'", result->error,
                   expected);
    maas_engine_result_destroy (&result);
}

//  Submit ROWS rows of COLS features for SPEC and run them: the job must
//  succeed, with a result for every row.
static void
s_expect_ok (maas_engine_t *engine, const char *name, uint64_t version, const char *alias,
             size_t rows, size_t cols)
{
    s_submit (engine, NULL, name, version, alias, rows, cols, 0, NULL);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert_uint_eq (result->rows, rows);
    maas_engine_result_destroy (&result);
}

//  -- core

START_TEST (test_predictions_equal_in_process)
{
    maas_model_t *model = s_model (4, 16, 3, 42, false);
    ck_assert_uint_eq (s_publish ("iris", model), 1);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    float x[5 * 4], expected[5 * 3];
    s_submit (engine, (void *) 7, "iris", 0, NULL, 5, 4, 0.5f, x);
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, x, 5, expected), 0);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert_ptr_eq (result->tag, (void *) 7);
    ck_assert_str_eq (result->model, "iris");
    ck_assert_uint_eq (result->version, 1);
    ck_assert_uint_eq (result->rows, 5);
    ck_assert_uint_eq (result->outputs, 3);
    ck_assert (memcmp (result->values, expected, sizeof expected) == 0);
    for (size_t r = 0; r < 5; r++) {
        int32_t best = 0;
        for (int k = 1; k < 3; k++)
            if (expected[r * 3 + k] > expected[r * 3 + best])
                best = k;
        ck_assert_int_eq (result->classes[r], best);
    }
    ck_assert_uint_eq (result->batch_rows, 5);
    ck_assert_uint_eq (result->batch_jobs, 1);
    ck_assert_int_ge (result->queue_us, 0);
    ck_assert_int_ge (result->compute_us, 0);
    //  What a RESULT reply packs: the same figures, the arrays borrowed.
    maas_infer_result_t view = maas_engine_result_infer (result);
    ck_assert_str_eq (view.model, "iris");
    ck_assert_uint_eq (view.version, 1);
    ck_assert_uint_eq (view.rows, 5);
    ck_assert_uint_eq (view.outputs, 3);
    ck_assert_ptr_eq (view.values, result->values);
    ck_assert_ptr_eq (view.classes, result->classes);
    ck_assert_uint_eq (view.batch_rows, 5);
    maas_engine_result_destroy (&result);
    ck_assert_ptr_null (maas_engine_result (engine));
    ck_assert_uint_eq (maas_engine_loads (engine), 1);
    char *cached = maas_engine_cached (engine);
    ck_assert_str_eq (cached, "iris@1");
    free (cached);
    maas_predictor_destroy (&predictor);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_regression_has_no_classes_and_raw_f32_input)
{
    maas_model_t *model = s_model (3, 8, 2, 7, true);
    s_publish ("reg", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    float x[2 * 3] = {1, 2, 3, -1, -2, -3}, expected[2 * 2];
    //  params {"shape": [2, 3]} and the floats as bytes
    msgpack_sbuffer sbuf;
    maas_infer_params_pack (&sbuf, 2, 3);
    msgpack_unpacked params;
    msgpack_unpacked_init (&params);
    maas_err_t err;
    ck_assert_int_eq (maas_codec_unpack (sbuf.data, sbuf.size, 0, &params, &err), 0);
    uint8_t bytes[sizeof x];
    maas_codec_f32_to_le (bytes, x, 6);
    maas_engine_submit (engine, NULL, "reg", 1, NULL, bytes, sizeof bytes, &params.data,
                        maas_clock_mono_us ());
    maas_engine_submit (engine, NULL, "reg", 1, NULL, bytes, sizeof bytes - 4, &params.data,
                        maas_clock_mono_us ());
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, x, 2, expected), 0);
    s_expect_error (engine, "input: shape 2x3 needs 24 bytes, payload has 20");
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert_ptr_null (result->classes);
    ck_assert (memcmp (result->values, expected, sizeof expected) == 0);
    maas_engine_result_destroy (&result);
    msgpack_unpacked_destroy (&params);
    msgpack_sbuffer_destroy (&sbuf);
    maas_predictor_destroy (&predictor);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  -- aliases and switching versions

//  Wait (bounded) until the engine has applied a registry announcement.
static void
s_await_event (maas_engine_t *engine)
{
    for (int i = 0; i < 500; i++) {
        if (maas_engine_sync (engine) > 0)
            return;
        usleep (2000);
    }
    ck_abort_msg ("no registry announcement reached the engine in 1 s");
}

START_TEST (test_alias_switch_applies_to_later_jobs)
{
    maas_model_t *v1 = s_model (4, 8, 3, 1, false), *v2 = s_model (4, 8, 3, 2, false);
    s_publish ("iris", v1);
    s_publish ("iris", v2);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    maas_engine_t *engine = s_engine (64 << 20, 64, 1000000);
    s_submit (engine, (void *) 1, "iris", 0, "production", 1, 4, 0, NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 2), 0);
    //  Redis flushes the announcement around the time alias() returns;
    //  once the engine has it, the old resolution is gone.
    s_await_event (engine);
    s_submit (engine, (void *) 2, "iris", 0, "production", 1, 4, 0, NULL);
    s_submit (engine, (void *) 3, "iris", 0, NULL, 1, 4, 0, NULL);
    maas_model_t *v3 = s_model (4, 8, 3, 3, false);
    s_publish ("iris", v3);
    s_await_event (engine);
    s_submit (engine, (void *) 4, "iris", 0, "latest", 1, 4, 0, NULL);
    uint64_t expected[] = {0, 1, 2, 2, 3};
    for (int i = 0; i < 4; i++) {
        maas_engine_result_t *result = s_next (engine);
        ck_assert_msg (result->ok, "%s", result->error);
        int tag = (int) (intptr_t) result->tag;
        ck_assert_msg (result->version == expected[tag], "job %d ran on v%d", tag,
                       (int) result->version);
        maas_engine_result_destroy (&result);
    }
    ck_assert_uint_eq (maas_engine_loads (engine), 3);
    maas_engine_destroy (&engine);
    maas_model_destroy (&v1);
    maas_model_destroy (&v2);
    maas_model_destroy (&v3);
}
END_TEST

START_TEST (test_deleted_version_is_evicted)
{
    maas_model_t *model = s_model (4, 8, 3, 1, false);
    s_publish ("iris", model);
    s_publish ("iris", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    s_expect_ok (engine, "iris", 1, NULL, 1, 4);
    ck_assert_uint_eq (maas_engine_cache_count (engine), 1);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 1, false), 0);
    s_await_event (engine);
    ck_assert_uint_eq (maas_engine_cache_count (engine), 0);
    s_submit (engine, NULL, "iris", 1, NULL, 1, 4, 0, NULL);
    s_expect_error (engine, "model iris has no version 1");
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  -- post-processing: labels, top-k, the threshold; pre-processing: scale

//  Submit ROWS rows (msgpack) with PARAMS (output, top_k) packed.
static void
s_submit_post (maas_engine_t *engine, const char *name, uint64_t version,
               const maas_infer_params_t *post, size_t rows, size_t cols, float seed, float *x)
{
    msgpack_sbuffer sbuf, params;
    s_pack_rows (&sbuf, rows, cols, seed, x);
    ck_assert_int_eq (maas_infer_params_pack_all (&params, post), 0);
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_err_t err;
    ck_assert_int_eq (maas_codec_unpack (params.data, params.size, 0, &msg, &err), 0);
    maas_engine_submit (engine, NULL, name, version, NULL, sbuf.data, sbuf.size, &msg.data,
                        maas_clock_mono_us ());
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&sbuf);
}

START_TEST (test_class_labels_and_top_k)
{
    maas_model_t *model = s_model (4, 16, 3, 42, false);
    maas_err_t err;
    ck_assert_int_eq (maas_model_set_labels_text (model, "setosa,versicolor,virginica", &err), 0);
    s_publish ("iris", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    maas_infer_params_t post = {.output = MAAS_INFER_CLASS, .top_k = 3};
    s_submit_post (engine, "iris", 1, &post, 6, 4, 0.25f, NULL);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert_int_eq (result->output, MAAS_INFER_CLASS);
    ck_assert_uint_eq (result->n_class_labels, 3);
    ck_assert_str_eq (result->class_labels[2], "virginica");
    ck_assert_uint_eq (result->top_k, 3);
    for (size_t r = 0; r < 6; r++) {
        const float *p = result->values + r * 3, *score = result->top_scores + r * 3;
        const int32_t *top = result->top_classes + r * 3;
        //  Best first, the scores the probabilities of the classes named.
        ck_assert_int_eq (top[0], result->classes[r]);
        ck_assert (score[0] >= score[1] && score[1] >= score[2]);
        for (size_t i = 0; i < 3; i++)
            ck_assert (score[i] == p[top[i]]);
        ck_assert (top[0] != top[1] && top[1] != top[2] && top[0] != top[2]);
    }
    maas_engine_result_destroy (&result);
    //  More classes than the model has, or a regression: refused, named.
    post.top_k = 4;
    s_submit_post (engine, "iris", 1, &post, 1, 4, 0, NULL);
    s_expect_error (engine, "model iris@1: params: top_k 4 is more than the model's 3 classes");
    maas_model_t *reg = s_model (3, 8, 1, 7, true);
    s_publish ("price", reg);
    post.top_k = 0;
    s_submit_post (engine, "price", 1, &post, 1, 3, 0, NULL);
    s_expect_error (engine, "params: output 'class' and top_k need a classifier");
    maas_engine_destroy (&engine);
    maas_model_destroy (&reg);
    maas_model_destroy (&model);
}
END_TEST

//  A 2-input binary model whose p is sigmoid(x0): p is known for each row.
static maas_model_t *
s_binary_model (void)
{
    maas_layer_spec_t layers[] = {{1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (2, layers, 1);
    ck_assert_ptr_nonnull (mlp);
    maas_mlp_weights (mlp, 0)->data[0] = 1.0f;
    maas_mlp_weights (mlp, 0)->data[1] = 0.0f;
    maas_mlp_bias (mlp, 0)->data[0] = 0.0f;
    maas_model_t *model = maas_model_new (&mlp);
    maas_err_t err;
    ck_assert_int_eq (maas_model_set_labels_text (model, "benign,malignant", &err), 0);
    return model;
}

//  Run one row {X0, 0} on cancer@1 and return its class.
static int32_t
s_binary_class (maas_engine_t *engine, float x0, double *threshold)
{
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_float (&pk, x0);
    msgpack_pack_float (&pk, 0);
    maas_engine_submit (engine, NULL, "cancer", 1, NULL, sbuf.data, sbuf.size, NULL,
                        maas_clock_mono_us ());
    msgpack_sbuffer_destroy (&sbuf);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    int32_t class = result->classes[0];
    *threshold = result->threshold;
    maas_engine_result_destroy (&result);
    return class;
}

START_TEST (test_threshold_changes_class_not_weights)
{
    maas_model_t *model = s_binary_model ();
    s_publish ("cancer", model);
    maas_registry_info_t before, after;
    ck_assert_int_eq (maas_registry_info (s_reg, "cancer", 1, &before), 0);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    double threshold;
    //  p = sigmoid(-0.5) = 0.38: class 0 at the default 0.5 ...
    ck_assert_int_eq (s_binary_class (engine, -0.5f, &threshold), 0);
    ck_assert_double_eq (threshold, 0.5);
    //  ... class 1 once the version's threshold is 0.3, with no new version.
    ck_assert_int_eq (maas_registry_set_threshold (s_reg, "cancer", 1, 0.3), 0);
    s_await_event (engine);
    ck_assert_int_eq (s_binary_class (engine, -0.5f, &threshold), 1);
    ck_assert_double_eq_tol (threshold, 0.3, 1e-9);
    ck_assert_int_eq (maas_registry_info (s_reg, "cancer", 1, &after), 0);
    ck_assert_str_eq (after.weights_sha256, before.weights_sha256);
    ck_assert_str_eq (after.sha256, before.sha256);
    ck_assert_double_eq_tol (after.threshold, 0.3, 1e-9);
    maas_registry_info_clear (&after);
    //  Removed: back to 0.5.
    ck_assert_int_eq (maas_registry_set_threshold (s_reg, "cancer", 1, 0), 0);
    s_await_event (engine);
    ck_assert_int_eq (s_binary_class (engine, -0.5f, &threshold), 0);
    ck_assert_int_eq (maas_registry_set_threshold (s_reg, "cancer", 1, 1.5), -1);
    ck_assert_int_eq (maas_registry_set_threshold (s_reg, "cancer", 9, 0.4), -1);
    ck_assert_str_eq (maas_registry_error (s_reg), "model cancer has no version 9");
    maas_registry_info_clear (&before);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_input_scale_is_applied)
{
    maas_model_t *model = s_model (4, 16, 3, 42, false);
    maas_err_t err;
    ck_assert_int_eq (maas_model_set_input_scale (model, 1.0 / 255, &err), 0);
    s_publish ("digits", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    float x[3 * 4], scaled[3 * 4], expected[3 * 3];
    maas_infer_params_t post = {0};
    s_submit_post (engine, "digits", 1, &post, 3, 4, 0.5f, x);
    for (size_t i = 0; i < 12; i++)
        scaled[i] = x[i] * (float) (1.0 / 255);
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, scaled, 3, expected), 0);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert (memcmp (result->values, expected, sizeof expected) == 0);
    maas_engine_result_destroy (&result);
    maas_predictor_destroy (&predictor);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  An explain job on a model with an input scale explains the network on
//  the scaled rows from the scaled baseline, and reports the baseline in
//  the caller's units.
START_TEST (test_explain_applies_the_input_scale)
{
    maas_model_t *model = s_model (4, 8, 3, 11, false);
    maas_err_t err;
    ck_assert_int_eq (maas_model_set_input_scale (model, 0.5, &err), 0);
    s_publish ("scaled", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    float x[2 * 4], base[4] = {1, 2, 3, 4}, sx[2 * 4], sbase[4];
    maas_explain_params_t params = maas_explain_params_defaults ();
    params.method = MAAS_EXPLAIN_SHAPLEY;
    params.baseline = base;
    params.baseline_len = 4;
    msgpack_sbuffer rows, packed;
    s_pack_rows (&rows, 2, 4, 0.75f, x);
    msgpack_sbuffer_init (&packed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_explain_params_pack (&params, &pk), 0);
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    ck_assert_int_eq (maas_codec_unpack (packed.data, packed.size, 0, &msg, &err), 0);
    maas_engine_explain (engine, NULL, "scaled", 1, NULL, rows.data, rows.size, &msg.data);
    maas_engine_result_t *result = maas_engine_result (engine);
    ck_assert_ptr_nonnull (result);
    ck_assert_msg (result->ok, "%s", result->error);
    for (size_t i = 0; i < 8; i++)
        sx[i] = x[i] * 0.5f;
    for (size_t j = 0; j < 4; j++)
        sbase[j] = base[j] * 0.5f;
    params.baseline = sbase;
    maas_explain_result_t want;
    ck_assert_int_eq (maas_explain_run (maas_model_mlp_const (model), &params, sx, 2, &want, &err),
                      0);
    const maas_explain_result_t *got = result->explain;
    ck_assert (memcmp (got->attributions, want.attributions, 2 * 4 * 3 * sizeof (float)) == 0);
    ck_assert (memcmp (got->instance_output, want.instance_output, 2 * 3 * sizeof (float)) == 0);
    for (size_t j = 0; j < 4; j++)
        ck_assert_float_eq_tol (got->baseline[j], base[j], 1e-6f);
    maas_explain_result_clear (&want);
    maas_engine_result_destroy (&result);
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&packed);
    msgpack_sbuffer_destroy (&rows);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  -- bad input: each gets its error, the next job succeeds

START_TEST (test_bad_inputs_fail_precisely)
{
    maas_model_t *model = s_model (30, 8, 2, 1, false);
    s_publish ("cancer", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    s_submit (engine, NULL, "cancer", 0, NULL, 1, 29, 0, NULL);
    s_expect_error (engine, "model cancer@1: expected 30 features, got 29");
    s_expect_ok (engine, "cancer", 0, NULL, 1, 30);
    //  NaN in row 2, column 5
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    for (int r = 0; r < 2; r++) {
        msgpack_pack_array (&pk, 30);
        for (int c = 0; c < 30; c++)
            msgpack_pack_double (&pk, r == 1 && c == 4 ? NAN : 1.0);
    }
    maas_engine_submit (engine, NULL, "cancer", 0, NULL, sbuf.data, sbuf.size, NULL, 0);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_uint_eq (result->row, 2);    //  the row, for clients to translate
    maas_engine_result_destroy (&result);
    maas_engine_submit (engine, NULL, "cancer", 0, NULL, sbuf.data, sbuf.size, NULL, 0);
    s_expect_error (engine, "row 2 column 5 is not a finite number");
    maas_engine_submit (engine, NULL, "cancer", 0, NULL, "\xc1", 1, NULL, 0);
    s_expect_error (engine, "input: not msgpack rows");
    maas_engine_submit (engine, NULL, "cancer", 0, NULL,
                        "\xa3"
                        "abc",
                        4, NULL, 0);
    s_expect_error (engine, "expected an array of rows");
    s_submit (engine, NULL, "nosuch", 0, NULL, 1, 30, 0, NULL);
    s_expect_error (engine, "unknown model nosuch");
    s_submit (engine, NULL, "cancer", 9, NULL, 1, 30, 0, NULL);
    s_expect_error (engine, "model cancer has no version 9");
    s_submit (engine, NULL, "cancer", 0, "staging", 1, 30, 0, NULL);
    s_expect_error (engine, "model cancer has no alias 'staging'");
    s_submit (engine, NULL, "bad{name}", 0, NULL, 1, 30, 0, NULL);
    s_expect_error (engine, "not a valid model name");
    s_expect_ok (engine, "cancer", 0, NULL, 3, 30);
    msgpack_sbuffer_destroy (&sbuf);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  A job over --max-rows fails at once, naming the limit; one at the
//  limit runs. The default holds when the config leaves it 0.
START_TEST (test_rows_per_job_bounded)
{
    maas_model_t *model = s_model (3, 4, 1, 1, false);
    s_publish ("small", model);
    maas_engine_config_t config = {
        .redis_url = support_redis_url (s_redis), .cache_bytes = 64 << 20, .max_rows = 10};
    char err[256];
    maas_engine_t *engine = maas_engine_new (&config, err, sizeof err);
    ck_assert_msg (engine, "%s", err);
    s_submit (engine, NULL, "small", 0, NULL, 11, 3, 0, NULL);
    s_expect_error (engine,
                    "model small@1: the job has 11 rows; this worker takes at most 10 per "
                    "job (--max-rows)");
    s_expect_ok (engine, "small", 0, NULL, 10, 3);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_corrupted_blobs_fail_precisely)
{
    maas_model_t *model = s_model (4, 8, 3, 1, false);
    s_publish ("iris", model);
    s_publish ("junk", model);
    char sha[65];
    maas_registry_sha256_hex ("not a model", 11, sha);
    redisContext *ctx = redisConnectUnix (support_redis_socket (s_redis));
    freeReplyObject (
        redisCommand (ctx, "HSET maas:model:{junk}:v1 blob %s sha256 %s", "not a model", sha));
    freeReplyObject (redisCommand (ctx, "HSET maas:model:{iris}:v1 blob %s", "tampered"));
    redisFree (ctx);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    s_submit (engine, NULL, "iris", 1, NULL, 1, 4, 0, NULL);
    s_expect_error (engine, "model iris@1: stored blob fails its sha256 check");
    s_submit (engine, NULL, "junk", 1, NULL, 1, 4, 0, NULL);
    s_expect_error (engine, "model junk@1: blob does not decode");
    s_publish ("iris", model);
    s_expect_ok (engine, "iris", 2, NULL, 1, 4);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

//  -- the cache

START_TEST (test_cache_never_exceeds_its_bound)
{
    //  Each model is charged about 4 * (BLOCK * (32 + 2 * 64) + params), ~0.7 MB.
    maas_model_t *model = s_model (32, 64, 4, 1, false);
    char name[16];
    for (int i = 0; i < 6; i++) {
        snprintf (name, sizeof name, "m%d", i);
        s_publish (name, model);
    }
    size_t bound = 2 << 20;
    maas_engine_t *engine = s_engine (bound, 0, 0);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 6; i++) {
            snprintf (name, sizeof name, "m%d", i);
            s_expect_ok (engine, name, 0, NULL, 2, 32);
            ck_assert_uint_le (maas_engine_cache_bytes (engine), bound);
            ck_assert_uint_le (maas_engine_cache_count (engine), 3);
        }
    ck_assert_uint_eq (maas_engine_loads (engine), 12);
    maas_engine_destroy (&engine);
    //  A model bigger than the whole cache fails with a reason; a worker
    //  with a larger cache could run it, so it may be retried.
    engine = s_engine (100000, 0, 0);
    s_submit (engine, NULL, "m0", 0, NULL, 1, 32, 0, NULL);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (!result->ok
                       && strstr (result->error, "more than the cache holds (--cache-mb 0)"),
                   "%s", result->error);
    ck_assert (result->retryable);
    maas_engine_result_destroy (&result);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

static void
s_free_string (void **value_p)
{
    free (*value_p);
    *value_p = NULL;
}

START_TEST (test_cache_lru_order)
{
    maas_cache_t *cache = maas_cache_new (100, s_free_string);
    void *value = strdup ("a");
    ck_assert_int_eq (maas_cache_put (cache, "a", 1, &value, 40), 0);
    ck_assert_ptr_null (value);
    value = strdup ("b");
    ck_assert_int_eq (maas_cache_put (cache, "b", 1, &value, 40), 0);
    ck_assert_str_eq (maas_cache_get (cache, "a", 1), "a");    //  a is now the recent one
    value = strdup ("c");
    ck_assert_int_eq (maas_cache_put (cache, "c", 1, &value, 40), 0);
    ck_assert_ptr_null (maas_cache_get (cache, "b", 1));
    ck_assert_ptr_nonnull (maas_cache_get (cache, "a", 1));
    ck_assert_uint_eq (maas_cache_bytes (cache), 80);
    ck_assert_uint_eq (maas_cache_evictions (cache), 1);
    char *list = maas_cache_list (cache);
    ck_assert_str_eq (list, "a@1,c@1");
    free (list);
    value = strdup ("big");
    ck_assert_int_eq (maas_cache_put (cache, "big", 1, &value, 101), -1);
    ck_assert_ptr_nonnull (value);
    ck_assert_int_eq (maas_cache_put (cache, "a", 1, &value, 1), -1);
    free (value);
    maas_cache_evict (cache, "a", 1);
    ck_assert_uint_eq (maas_cache_count (cache), 1);
    maas_cache_destroy (&cache);
    ck_assert_ptr_null (cache);
}
END_TEST

//  -- dynamic batching

START_TEST (test_batches_form_and_split)
{
    maas_model_t *model = s_model (4, 16, 3, 5, false);
    s_publish ("iris", model);
    maas_engine_t *engine = s_engine (64 << 20, 4, 1000000);
    float x[6][4], y[6][3];
    int64_t t0 = maas_clock_mono_us ();
    for (intptr_t i = 0; i < 5; i++)
        s_submit (engine, (void *) i, "iris", 0, NULL, 1, 4, (float) i, x[i]);
    //  A 2-row job joins the second batch (1 + 2 rows <= 4).
    s_submit (engine, (void *) 5, "iris", 1, NULL, 2, 4, 9.0f, NULL);
    ck_assert_uint_eq (maas_engine_pending (engine), 6);
    //  The first 4 jobs filled a batch: it is due now; the rest waits.
    ck_assert_int_eq (maas_engine_next_due (engine), 0);
    ck_assert_int_eq (maas_engine_run (engine, t0, false), 1);
    ck_assert_uint_eq (maas_engine_pending (engine), 2);
    ck_assert_int_ge (maas_engine_next_due (engine), t0 + 1000000);
    ck_assert_int_eq (maas_engine_run (engine, t0, false), 0);
    ck_assert_int_eq (maas_engine_run (engine, t0 + 2000000, false), 1);
    ck_assert_int_eq (maas_engine_next_due (engine), -1);
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, &x[0][0], 5, &y[0][0]), 0);
    for (int i = 0; i < 6; i++) {
        maas_engine_result_t *result = maas_engine_result (engine);
        ck_assert_ptr_nonnull (result);
        ck_assert_msg (result->ok, "%s", result->error);
        int tag = (int) (intptr_t) result->tag;
        ck_assert_int_eq (tag, i);
        ck_assert_uint_eq (result->batch_rows, i < 4 ? 4 : 3);
        ck_assert_uint_eq (result->batch_jobs, i < 4 ? 4 : 2);
        if (i < 5)
            for (int k = 0; k < 3; k++)
                ck_assert_float_eq (result->values[k], y[i][k]);
        maas_engine_result_destroy (&result);
    }
    maas_predictor_destroy (&predictor);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

static void
s_count_tick (void *arg)
{
    (*(int *) arg)++;
}

START_TEST (test_long_batches_tick)
{
    maas_model_t *model = s_model (4, 8, 3, 5, false);
    s_publish ("iris", model);
    int ticks = 0;
    maas_engine_config_t config = {.redis_url = support_redis_url (s_redis),
                                   .cache_bytes = 64 << 20,
                                   .max_batch_rows = 0,
                                   .tick_rows = 100,
                                   .tick = s_count_tick,
                                   .tick_arg = &ticks};
    char err[256];
    maas_engine_t *engine = maas_engine_new (&config, err, sizeof err);
    ck_assert_msg (engine, "%s", err);
    s_submit (engine, NULL, "iris", 0, NULL, 450, 4, 0, NULL);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (result->ok, "%s", result->error);
    ck_assert_int_eq (ticks, 4);
    maas_engine_result_destroy (&result);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_dead_redis_fails_jobs_then_recovers)
{
    maas_model_t *model = s_model (4, 8, 3, 1, false);
    s_publish ("iris", model);
    maas_engine_t *engine = s_engine (64 << 20, 0, 0);
    s_expect_ok (engine, "iris", 1, NULL, 1, 4);
    support_redis_kill (s_redis);
    //  A cached version still serves; what needs Redis fails with a reason.
    s_expect_ok (engine, "iris", 1, NULL, 1, 4);
    s_submit (engine, NULL, "iris", 0, "production", 1, 4, 0, NULL);
    maas_engine_result_t *result = s_next (engine);
    ck_assert_msg (!result->ok && strstr (result->error, "redis"), "%s", result->error);
    ck_assert (result->retryable);    //  Redis may be back for the next run
    maas_engine_result_destroy (&result);
    support_redis_restart (s_redis);
    //  The restarted server is empty: publish again, and the engine finds it.
    maas_registry_destroy (&s_reg);
    s_reg = support_registry_new (s_redis);
    s_publish ("digits", model);
    s_expect_ok (engine, "digits", 0, NULL, 1, 4);
    maas_engine_destroy (&engine);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_engine_needs_redis)
{
    maas_engine_config_t config = {.redis_url = "unix:///nonexistent/redis.sock",
                                   .cache_bytes = 1 << 20};
    char err[256];
    ck_assert_ptr_null (maas_engine_new (&config, err, sizeof err));
    ck_assert_msg (strstr (err, "redis"), "%s", err);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("engine");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_predictions_equal_in_process);
    tcase_add_test (core, test_regression_has_no_classes_and_raw_f32_input);
    tcase_add_test (core, test_engine_needs_redis);
    tcase_add_test (core, test_class_labels_and_top_k);
    tcase_add_test (core, test_input_scale_is_applied);
    tcase_add_test (core, test_explain_applies_the_input_scale);
    suite_add_tcase (suite, core);
    TCase *versions = tcase_create ("versions");
    tcase_add_checked_fixture (versions, s_setup, s_teardown);
    tcase_add_test (versions, test_alias_switch_applies_to_later_jobs);
    tcase_add_test (versions, test_deleted_version_is_evicted);
    tcase_add_test (versions, test_threshold_changes_class_not_weights);
    suite_add_tcase (suite, versions);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_bad_inputs_fail_precisely);
    tcase_add_test (errors, test_rows_per_job_bounded);
    tcase_add_test (errors, test_corrupted_blobs_fail_precisely);
    tcase_add_test (errors, test_dead_redis_fails_jobs_then_recovers);
    suite_add_tcase (suite, errors);
    TCase *cache = tcase_create ("cache");
    tcase_add_checked_fixture (cache, s_setup, s_teardown);
    tcase_add_test (cache, test_cache_never_exceeds_its_bound);
    tcase_add_test (cache, test_cache_lru_order);
    suite_add_tcase (suite, cache);
    TCase *batching = tcase_create ("batching");
    tcase_add_checked_fixture (batching, s_setup, s_teardown);
    tcase_add_test (batching, test_batches_form_and_split);
    tcase_add_test (batching, test_long_batches_tick);
    suite_add_tcase (suite, batching);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
