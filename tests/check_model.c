/*  check_model.c: the model file format (v1, and v2 with an output
 *  scaling): bit-exact round trips, v1 blobs still read and served, the
 *  metadata API, and every corruption rejected with its own error code (the
 *  blob is unpacked, one field changed, packed again and decoded). */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const maas_layer_spec_t s_layers[] = {{8, MAAS_ACT_RELU}, {3, MAAS_ACT_SOFTMAX}};

//  A 4-8-3 softmax network with normalisation and one metadata entry of each type.
static maas_model_t *
s_sample_model (bool with_norm)
{
    maas_mlp_t *mlp = maas_mlp_new (4, s_layers, 2);
    ck_assert_ptr_nonnull (mlp);
    maas_mlp_init (mlp, 42);
    for (size_t j = 0; j < 3; j++)
        maas_mlp_bias (mlp, 1)->data[j] = 0.125f * (float) (j + 1);
    if (with_norm) {
        float mean[4] = {5.8f, 3.0f, 3.7f, 1.2f}, std[4] = {0.8f, 0.43f, 1.76f, 0.76f};
        ck_assert_int_eq (maas_mlp_set_norm (mlp, mean, std), 0);
    }
    maas_model_t *model = maas_model_new (&mlp);
    ck_assert_ptr_nonnull (model);
    ck_assert_ptr_null (mlp);
    ck_assert_int_eq (maas_model_meta_set_str (model, "loss", "softmax_cross_entropy"), 0);
    ck_assert_int_eq (maas_model_meta_set_str (model, "optimizer", "adam"), 0);
    ck_assert_int_eq (maas_model_meta_set_int (model, "epochs", 30), 0);
    ck_assert_int_eq (maas_model_meta_set_int (model, "created_ms", -1), 0);
    ck_assert_int_eq (maas_model_meta_set_double (model, "accuracy", 0.9733), 0);
    return model;
}

static void
s_encode (const maas_model_t *model, uint8_t **blob, size_t *size)
{
    maas_err_t err;
    ck_assert_msg (maas_model_encode (model, blob, size, &err) == 0, "%s", err.text);
    ck_assert_int_eq (err.code, MAAS_ERR_OK);
}

static void
s_assert_same_params (const maas_mlp_t *a, const maas_mlp_t *b)
{
    ck_assert_uint_eq (maas_mlp_inputs (a), maas_mlp_inputs (b));
    ck_assert_uint_eq (maas_mlp_layer_count (a), maas_mlp_layer_count (b));
    for (size_t i = 0; i < maas_mlp_layer_count (a); i++) {
        ck_assert_int_eq (maas_mlp_layer (a, i).act, maas_mlp_layer (b, i).act);
        const maas_tensor_t *wa = maas_mlp_weights_const (a, i),
                            *wb = maas_mlp_weights_const (b, i);
        ck_assert_uint_eq (wa->rows, wb->rows);
        ck_assert_uint_eq (wa->cols, wb->cols);
        ck_assert (memcmp (wa->data, wb->data, maas_tensor_size (wa) * sizeof (float)) == 0);
        ck_assert (memcmp (maas_mlp_bias_const (a, i)->data, maas_mlp_bias_const (b, i)->data,
                           wa->cols * sizeof (float))
                   == 0);
    }
    size_t n = maas_mlp_inputs (a) * sizeof (float);
    ck_assert ((maas_mlp_norm_mean (a) == NULL) == (maas_mlp_norm_mean (b) == NULL));
    if (maas_mlp_norm_mean (a)) {
        ck_assert (memcmp (maas_mlp_norm_mean (a), maas_mlp_norm_mean (b), n) == 0);
        ck_assert (memcmp (maas_mlp_norm_std (a), maas_mlp_norm_std (b), n) == 0);
    }
    size_t m = maas_mlp_outputs (a) * sizeof (float);
    ck_assert ((maas_mlp_target_mean (a) == NULL) == (maas_mlp_target_mean (b) == NULL));
    if (maas_mlp_target_mean (a)) {
        ck_assert (memcmp (maas_mlp_target_mean (a), maas_mlp_target_mean (b), m) == 0);
        ck_assert (memcmp (maas_mlp_target_std (a), maas_mlp_target_std (b), m) == 0);
    }
}

//  A 3-5-2 regression network (random output layer: init leaves it at
//  zero) with input standardisation and, WITH_TARGET, an output scaling.
static maas_model_t *
s_regression_model (bool with_target)
{
    maas_layer_spec_t layers[] = {{5, MAAS_ACT_TANH}, {2, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (3, layers, 2);
    maas_mlp_init (mlp, 7);
    maas_tensor_t *w = maas_mlp_weights (mlp, 1);
    for (size_t k = 0; k < maas_tensor_size (w); k++)
        w->data[k] = 0.25f * (float) k - 1.0f;
    maas_mlp_bias (mlp, 1)->data[1] = 0.5f;
    float mean[3] = {1, -2, 0.5f}, std[3] = {2, 0.5f, 1};
    ck_assert_int_eq (maas_mlp_set_norm (mlp, mean, std), 0);
    float y_mean[2] = {1500, -3.25f}, y_std[2] = {420, 0.125f};
    if (with_target)
        ck_assert_int_eq (maas_mlp_set_target_norm (mlp, y_mean, y_std), 0);
    maas_model_t *model = maas_model_new (&mlp);
    ck_assert_int_eq (maas_model_meta_set_str (model, "loss", "mse"), 0);
    return model;
}

//  ---------------------------------------------------------------------------
//  core

START_TEST (test_round_trip_is_bit_exact)
{
    maas_model_t *model = s_sample_model (true);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    maas_err_t err;
    maas_model_t *copy = maas_model_decode (blob, size, &err);
    ck_assert_msg (copy != NULL, "%s", err.text);
    ck_assert_int_eq (err.code, MAAS_ERR_OK);
    s_assert_same_params (maas_model_mlp_const (model), maas_model_mlp_const (copy));
    //  Metadata: same entries, same types, same values.
    ck_assert_uint_eq (maas_model_meta_count (copy), 5);
    ck_assert_str_eq (maas_model_meta_str (copy, "loss"), "softmax_cross_entropy");
    int64_t epochs, created;
    double accuracy;
    ck_assert_int_eq (maas_model_meta_int (copy, "epochs", &epochs), 0);
    ck_assert_int_eq (epochs, 30);
    ck_assert_int_eq (maas_model_meta_int (copy, "created_ms", &created), 0);
    ck_assert_int_eq (created, -1);
    ck_assert_int_eq (maas_model_meta_number (copy, "accuracy", &accuracy), 0);
    ck_assert (accuracy == 0.9733);
    //  Re-encoding gives the same bytes, and the same sha256.
    uint8_t *again;
    size_t again_size;
    s_encode (copy, &again, &again_size);
    ck_assert_uint_eq (again_size, size);
    ck_assert (memcmp (blob, again, size) == 0);
    char h1[MAAS_SHA256_HEX_SIZE], h2[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (model, h1);
    maas_model_sha256 (copy, h2);
    ck_assert_str_eq (h1, h2);
    ck_assert_ptr_nonnull (memmem (blob, size, h1, 64));
    free (again);
    free (blob);
    maas_model_destroy (&copy);
    maas_model_destroy (&model);
    ck_assert_ptr_null (model);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_round_trip_without_norm)
{
    maas_layer_spec_t regression[] = {{1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (3, regression, 1);
    maas_mlp_init (mlp, 1);
    maas_model_t *model = maas_model_new (&mlp);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    maas_model_t *copy = maas_model_decode (blob, size, NULL);
    ck_assert_ptr_nonnull (copy);
    s_assert_same_params (maas_model_mlp_const (model), maas_model_mlp_const (copy));
    ck_assert_ptr_null (maas_mlp_norm_mean (maas_model_mlp_const (copy)));
    ck_assert_uint_eq (maas_model_meta_count (copy), 0);
    ck_assert_int_eq (maas_model_task (copy), MAAS_TASK_REGRESSION);
    free (blob);
    maas_model_destroy (&copy);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_encoding_is_deterministic)
{
    maas_model_t *a = s_sample_model (true);
    maas_model_t *b = s_sample_model (true);
    //  Metadata set in another order still encodes in key order.
    ck_assert_int_eq (maas_model_meta_set_int (b, "epochs", 30), 0);
    uint8_t *blob_a, *blob_b;
    size_t size_a, size_b;
    s_encode (a, &blob_a, &size_a);
    s_encode (b, &blob_b, &size_b);
    ck_assert_uint_eq (size_a, size_b);
    ck_assert (memcmp (blob_a, blob_b, size_a) == 0);
    free (blob_a);
    free (blob_b);
    maas_model_destroy (&a);
    maas_model_destroy (&b);
}
END_TEST

START_TEST (test_save_and_load)
{
    char *dir = support_tempdir_new ("model");
    char path[512];
    snprintf (path, sizeof path, "%s/iris.model", dir);
    maas_model_t *model = s_sample_model (true);
    maas_err_t err;
    ck_assert_msg (maas_model_save (model, path, &err) == 0, "%s", err.text);
    maas_model_t *loaded = maas_model_load (path, &err);
    ck_assert_msg (loaded != NULL, "%s", err.text);
    s_assert_same_params (maas_model_mlp_const (model), maas_model_mlp_const (loaded));
    //  No temporary file is left behind.
    char tmp[600];
    snprintf (tmp, sizeof tmp, "%s.tmp.%ld", path, (long) getpid ());
    ck_assert_int_ne (access (tmp, F_OK), 0);
    maas_model_destroy (&loaded);
    maas_model_destroy (&model);
    support_tempdir_remove (&dir);
}
END_TEST

START_TEST (test_metadata_api)
{
    maas_model_t *model = s_sample_model (false);
    //  Kept sorted by key; setting again replaces, with a new type if need be.
    ck_assert_int_eq (maas_model_meta_set_str (model, "epochs", "thirty"), 0);
    ck_assert_uint_eq (maas_model_meta_count (model), 5);
    const char *order[] = {"accuracy", "created_ms", "epochs", "loss", "optimizer"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq (maas_model_meta_at (model, i).key, order[i]);
    maas_meta_entry_t epochs = maas_model_meta_at (model, 2);
    ck_assert_int_eq (epochs.type, MAAS_META_STR);
    ck_assert_str_eq (epochs.str, "thirty");
    int64_t i64;
    double d;
    ck_assert_int_eq (maas_model_meta_int (model, "epochs", &i64), -1);
    ck_assert_int_eq (maas_model_meta_number (model, "epochs", &d), -1);
    ck_assert_int_eq (maas_model_meta_number (model, "created_ms", &d), 0);
    ck_assert (d == -1.0);
    ck_assert_ptr_null (maas_model_meta_str (model, "accuracy"));
    ck_assert_ptr_null (maas_model_meta_str (model, "absent"));
    //  Limits.
    char long_key[MAAS_MODEL_META_KEY_MAX + 2];
    memset (long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0;
    ck_assert_int_eq (maas_model_meta_set_int (model, long_key, 1), -1);
    long_key[MAAS_MODEL_META_KEY_MAX] = 0;
    ck_assert_int_eq (maas_model_meta_set_int (model, long_key, 1), 0);
    ck_assert_int_eq (maas_model_meta_set_int (model, "", 1), -1);
    ck_assert_int_eq (maas_model_meta_set_double (model, "auc", NAN), -1);
    ck_assert_int_eq (maas_model_meta_set_double (model, "auc", INFINITY), -1);
    char *long_value = calloc (1, MAAS_MODEL_META_STR_MAX + 2);
    memset (long_value, 'v', MAAS_MODEL_META_STR_MAX + 1);
    ck_assert_int_eq (maas_model_meta_set_str (model, "notes", long_value), -1);
    long_value[MAAS_MODEL_META_STR_MAX] = 0;
    ck_assert_int_eq (maas_model_meta_set_str (model, "notes", long_value), 0);
    free (long_value);
    for (int i = 0; maas_model_meta_count (model) < MAAS_MODEL_META_MAX; i++) {
        char key[16];
        snprintf (key, sizeof key, "k%d", i);
        ck_assert_int_eq (maas_model_meta_set_int (model, key, i), 0);
    }
    ck_assert_int_eq (maas_model_meta_set_int (model, "one-too-many", 1), -1);
    ck_assert_int_eq (maas_model_meta_set_int (model, "k0", 7), 0);
    //  A full model still round-trips.
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    maas_model_t *copy = maas_model_decode (blob, size, NULL);
    ck_assert_ptr_nonnull (copy);
    ck_assert_uint_eq (maas_model_meta_count (copy), MAAS_MODEL_META_MAX);
    free (blob);
    maas_model_destroy (&copy);
    maas_model_destroy (&model);
}
END_TEST

//  Column names round-trip; a model without them (every v1 blob written
//  before they existed) decodes with none; bad names are refused.
START_TEST (test_columns)
{
    maas_model_t *model = s_sample_model (true);
    ck_assert_ptr_null (maas_model_columns (model));
    static const char *const names[] = {"sepal_length", "sepal_width", "petal_length",
                                        "petal_width"};
    static const char *const repeated[] = {"a", "b", "a", "c"};
    ck_assert_int_eq (maas_model_set_columns (model, names, 3), -1);
    ck_assert_int_eq (maas_model_set_columns (model, repeated, 4), -1);
    ck_assert_int_eq (maas_model_set_columns (model, names, 4), 0);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    maas_err_t err;
    maas_model_t *back = maas_model_decode (blob, size, &err);
    ck_assert_msg (back, "%s", err.text);
    ck_assert_ptr_nonnull (maas_model_columns (back));
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq (maas_model_columns (back)[i], names[i]);
    free (blob);
    maas_model_destroy (&back);
    maas_model_destroy (&model);
    model = s_sample_model (true);
    s_encode (model, &blob, &size);
    back = maas_model_decode (blob, size, &err);
    ck_assert_msg (back && !maas_model_columns (back), "%s", err.text);
    free (blob);
    maas_model_destroy (&back);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_task)
{
    maas_model_t *model = s_sample_model (false);
    ck_assert_int_eq (maas_model_task (model), MAAS_TASK_MULTICLASS);
    ck_assert_str_eq (maas_task_name (maas_model_task (model)), "multiclass");
    maas_model_destroy (&model);
    maas_layer_spec_t binary[] = {{4, MAAS_ACT_TANH}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (2, binary, 2);
    model = maas_model_new (&mlp);
    ck_assert_int_eq (maas_model_task (model), MAAS_TASK_BINARY);
    ck_assert_str_eq (maas_task_name (MAAS_TASK_BINARY), "binary");
    ck_assert_str_eq (maas_task_name (MAAS_TASK_REGRESSION), "regression");
    maas_model_destroy (&model);
}
END_TEST

//  Labels and the output name: optional, kept through encode/decode, not
//  hashed; a model without them (the v1 example above) has none.
START_TEST (test_signature)
{
    maas_model_t *model = s_sample_model (true);
    char before[MAAS_SHA256_HEX_SIZE], weights[MAAS_SHA256_HEX_SIZE], buf[24];
    maas_err_t err;
    maas_model_sha256 (model, before);
    maas_model_weights_sha256 (model, weights);
    ck_assert_uint_eq (maas_model_classes (model), 3);
    ck_assert_ptr_null (maas_model_labels (model));
    ck_assert_str_eq (maas_model_label (model, 2, buf), "2");
    ck_assert_str_eq (maas_model_output_name (model), "output");
    ck_assert_int_eq (maas_model_set_labels_text (model, "setosa,versicolor", &err), -1);
    ck_assert_pstr_eq (err.text,
                       "labels: one label per class is needed (2 labels for 3 classes, each 1 "
                       "to 256 bytes, unique)");
    ck_assert_int_eq (maas_model_set_labels_text (model, "a,b,a", &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "a label is repeated"));
    ck_assert_int_eq (maas_model_set_labels_text (model, "a,,b", &err), -1);
    ck_assert_int_eq (maas_model_set_labels_text (model, "setosa,versicolor,virginica", &err), 0);
    ck_assert_int_eq (maas_model_set_output_name (model, "probabilities", &err), 0);
    ck_assert_int_eq (maas_model_set_output_name (model, "", &err), -1);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    ck_assert_uint_eq (blob[25], 1);    //  format 1: no input scale
    maas_err_t why;
    maas_model_t *back = maas_model_decode (blob, size, &why);
    ck_assert_msg (back, "%s", why.text);
    ck_assert_str_eq (maas_model_label (back, 1, buf), "versicolor");
    ck_assert_str_eq (maas_model_labels (back)[2], "virginica");
    ck_assert_str_eq (maas_model_output_name (back), "probabilities");
    char after[MAAS_SHA256_HEX_SIZE], weights_after[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (back, after);
    maas_model_weights_sha256 (back, weights_after);
    ck_assert_str_eq (after, before);
    ck_assert_str_eq (weights_after, weights);
    free (blob);
    maas_model_destroy (&back);
    maas_model_destroy (&model);
    //  A binary model has two classes (negative, positive); a regression none.
    maas_layer_spec_t binary[] = {{4, MAAS_ACT_TANH}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (2, binary, 2);
    model = maas_model_new (&mlp);
    ck_assert_uint_eq (maas_model_classes (model), 2);
    ck_assert_int_eq (maas_model_set_labels_text (model, "benign,malignant", &err), 0);
    maas_model_destroy (&model);
    maas_layer_spec_t linear[] = {{1, MAAS_ACT_LINEAR}};
    mlp = maas_mlp_new (2, linear, 1);
    model = maas_model_new (&mlp);
    ck_assert_uint_eq (maas_model_classes (model), 0);
    ck_assert_int_eq (maas_model_set_labels_text (model, "a", &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "a regression model has no classes"));
    maas_model_destroy (&model);
}
END_TEST

//  An input scale makes the blob format 2 (a format-1 reader would compute
//  other outputs) and is part of the weights hash; format 1 cannot hold it.
START_TEST (test_input_scale_is_format_2)
{
    maas_model_t *model = s_sample_model (false);
    char weights[MAAS_SHA256_HEX_SIZE], scaled[MAAS_SHA256_HEX_SIZE];
    maas_err_t err;
    maas_model_weights_sha256 (model, weights);
    ck_assert_double_eq (maas_model_input_scale (model), 1.0);
    ck_assert_int_eq (maas_model_set_input_scale (model, 0, &err), -1);
    ck_assert_int_eq (maas_model_set_input_scale (model, NAN, &err), -1);
    ck_assert_int_eq (maas_model_set_input_scale (model, 1.0 / 255, &err), 0);
    maas_model_weights_sha256 (model, scaled);
    ck_assert_str_ne (scaled, weights);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    ck_assert_uint_eq (blob[25], 2);    //  "format" 2
    maas_err_t why;
    maas_model_t *back = maas_model_decode (blob, size, &why);
    ck_assert_msg (back, "%s", why.text);
    ck_assert_double_eq (maas_model_input_scale (back), 1.0 / 255);
    ck_assert_uint_eq (maas_model_format (back), 2);
    maas_model_destroy (&back);
    //  The same blob claiming format 1 is refused: the scale needs 2.
    blob[25] = 1;
    ck_assert_ptr_null (maas_model_decode (blob, size, &why));
    ck_assert_int_eq (why.code, MAAS_ERR_INPUT);
    ck_assert_str_eq (why.text, "model: key 'input_scale' needs format 2, the blob says 1");
    free (blob);
    maas_model_destroy (&model);
    //  A regression model may hold both format-2 keys: the output scaling
    //  and the input scale; both come back.
    maas_layer_spec_t linear[] = {{4, MAAS_ACT_RELU}, {1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (3, linear, 2);
    maas_mlp_init (mlp, 5);
    float mean = 5000, std = 600;
    ck_assert_int_eq (maas_mlp_set_target_norm (mlp, &mean, &std), 0);
    model = maas_model_new (&mlp);
    ck_assert_int_eq (maas_model_set_input_scale (model, 0.25, &err), 0);
    s_encode (model, &blob, &size);
    ck_assert_uint_eq (blob[25], 2);
    back = maas_model_decode (blob, size, &why);
    ck_assert_msg (back, "%s", why.text);
    ck_assert_double_eq (maas_model_input_scale (back), 0.25);
    ck_assert_float_eq (maas_mlp_target_mean (maas_model_mlp_const (back))[0], 5000);
    maas_model_destroy (&back);
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

//  The example of docs/model-format.md, byte for byte: pins the format.
static const char s_golden_hex[] =
    "87a56d61676963aa4d4141532d4d4f44454ca6666f726d617401a6696e707574"
    "7302a66c61796572739184a5756e69747301aa61637469766174696f6ea77369"
    "676d6f6964a77765696768747383a57368617065920201a56474797065a36633"
    "32a464617461c4080000003f000080bfa46269617383a57368617065920101a5"
    "6474797065a3663332a464617461c4040000803ea46e6f726dc0a86d65746164"
    "61746181a665706f6368730aa6736861323536d9403137383438623731306464"
    "3435653362343036393035333066336664363338316563613765396465643332"
    "646266616266633439656339353532656634613938";

START_TEST (test_golden_blob)
{
    uint8_t golden[256];
    size_t golden_size;
    ck_assert_int_eq (sodium_hex2bin (golden, sizeof golden, s_golden_hex, strlen (s_golden_hex),
                                      NULL, &golden_size, NULL),
                      0);
    ck_assert_uint_eq (golden_size, 245);
    maas_layer_spec_t layer[] = {{1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (2, layer, 1);
    maas_mlp_weights (mlp, 0)->data[0] = 0.5f;
    maas_mlp_weights (mlp, 0)->data[1] = -1.0f;
    maas_mlp_bias (mlp, 0)->data[0] = 0.25f;
    maas_model_t *model = maas_model_new (&mlp);
    ck_assert_int_eq (maas_model_meta_set_int (model, "epochs", 10), 0);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    ck_assert_uint_eq (size, golden_size);
    ck_assert (memcmp (blob, golden, size) == 0);
    char hex[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (model, hex);
    ck_assert_str_eq (hex, "17848b710dd45e3b40690530f3fd6381eca7e9ded32dbfabfc49ec9552ef4a98");
    maas_model_t *decoded = maas_model_decode (golden, golden_size, NULL);
    ck_assert_ptr_nonnull (decoded);
    ck_assert (maas_mlp_weights (maas_model_mlp (decoded), 0)->data[1] == -1.0f);
    ck_assert_int_eq (maas_model_task (decoded), MAAS_TASK_BINARY);
    free (blob);
    maas_model_destroy (&decoded);
    maas_model_destroy (&model);
}
END_TEST

//  The format as version 1 wrote it still decodes, re-encodes to the same
//  bytes (a model without output scaling stays version 1) and serves the
//  same numbers: sigmoid(0.5·x0 − x1 + 0.25).
START_TEST (test_v1_blob_serves)
{
    uint8_t golden[256];
    size_t size;
    ck_assert_int_eq (sodium_hex2bin (golden, sizeof golden, s_golden_hex, strlen (s_golden_hex),
                                      NULL, &size, NULL),
                      0);
    maas_err_t err;
    maas_model_t *model = maas_model_decode (golden, size, &err);
    ck_assert_msg (model != NULL, "%s", err.text);
    ck_assert_int_eq (maas_model_format (model), 1);
    ck_assert_ptr_null (maas_mlp_target_mean (maas_model_mlp_const (model)));
    float x[4] = {1, 2, -0.5f, 0.25f}, out[2];
    maas_predictor_t *predictor = maas_predictor_new (maas_model_mlp_const (model));
    ck_assert_int_eq (maas_predictor_run (predictor, x, 2, out), 0);
    ck_assert_double_eq_tol (out[0], 1 / (1 + exp (1.25)), 1e-7);
    ck_assert_double_eq_tol (out[1], 1 / (1 + exp (0.25 + 0.25 - 0.25)), 1e-7);
    uint8_t *again;
    size_t again_size;
    s_encode (model, &again, &again_size);
    ck_assert_uint_eq (again_size, size);
    ck_assert (memcmp (again, golden, size) == 0);
    free (again);
    maas_predictor_destroy (&predictor);
    maas_model_destroy (&model);
}
END_TEST

//  An output scaling makes a version 2 blob that round-trips bit for bit,
//  is covered by both hashes, and serves y' · std + mean.
START_TEST (test_target_norm_round_trip)
{
    maas_model_t *model = s_regression_model (true), *plain = s_regression_model (false);
    ck_assert_int_eq (maas_model_format (model), 2);
    ck_assert_int_eq (maas_model_format (plain), 1);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    ck_assert_ptr_nonnull (memmem (blob, size,
                                   "\xa6"
                                   "format\x02",
                                   8));
    ck_assert_ptr_nonnull (memmem (blob, size,
                                   "\xab"
                                   "target_norm",
                                   12));
    maas_err_t err;
    maas_model_t *copy = maas_model_decode (blob, size, &err);
    ck_assert_msg (copy != NULL, "%s", err.text);
    s_assert_same_params (maas_model_mlp_const (model), maas_model_mlp_const (copy));
    uint8_t *again;
    size_t again_size;
    s_encode (copy, &again, &again_size);
    ck_assert (again_size == size && memcmp (again, blob, size) == 0);
    char h1[MAAS_SHA256_HEX_SIZE], h2[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (model, h1);
    maas_model_sha256 (plain, h2);
    ck_assert_str_ne (h1, h2);
    maas_model_weights_sha256 (model, h1);
    maas_model_weights_sha256 (plain, h2);
    ck_assert_str_ne (h1, h2);
    //  Served: the unscaled network's outputs, scaled back.
    float x[6] = {0.5f, -1, 2, 3, 0, -0.75f}, scaled[4], raw[4];
    maas_predictor_t *p = maas_predictor_new (maas_model_mlp_const (copy));
    maas_predictor_t *q = maas_predictor_new (maas_model_mlp_const (plain));
    ck_assert_int_eq (maas_predictor_run (p, x, 2, scaled), 0);
    ck_assert_int_eq (maas_predictor_run (q, x, 2, raw), 0);
    const float y_mean[2] = {1500, -3.25f}, y_std[2] = {420, 0.125f};
    for (size_t k = 0; k < 4; k++)
        ck_assert_float_eq (scaled[k], raw[k] * y_std[k % 2] + y_mean[k % 2]);
    maas_predictor_destroy (&p);
    maas_predictor_destroy (&q);
    free (again);
    free (blob);
    maas_model_destroy (&copy);
    maas_model_destroy (&plain);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_sha256_hex)
{
    char hex[MAAS_SHA256_HEX_SIZE];
    maas_sha256_hex ("abc", 3, hex);
    ck_assert_str_eq (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

//  The weights hash ignores metadata and column names, and sees a change in
//  a weight, an activation or the normalisation.
START_TEST (test_weights_sha256)
{
    maas_model_t *a = s_sample_model (true), *b = s_sample_model (true);
    ck_assert_int_eq (maas_model_meta_set_str (b, "job_id", "another run"), 0);
    const char *names[] = {"a", "b", "c", "d"};
    ck_assert_int_eq (maas_model_set_columns (b, names, 4), 0);
    char ha[MAAS_SHA256_HEX_SIZE], hb[MAAS_SHA256_HEX_SIZE];
    maas_model_weights_sha256 (a, ha);
    maas_model_weights_sha256 (b, hb);
    ck_assert_str_eq (ha, hb);
    ck_assert_uint_eq (strlen (ha), 64);
    maas_mlp_weights (maas_model_mlp (b), 0)->data[0] += 1.0f;
    maas_model_weights_sha256 (b, hb);
    ck_assert_str_ne (ha, hb);
    maas_model_t *plain = s_sample_model (false);
    maas_model_weights_sha256 (plain, hb);
    ck_assert_str_ne (ha, hb);
    maas_model_destroy (&a);
    maas_model_destroy (&b);
    maas_model_destroy (&plain);
}
END_TEST

//  The size computed from the layer widths bounds the real encoding.
START_TEST (test_encoded_size_bounds_blob)
{
    maas_model_t *model = s_sample_model (true);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    size_t bound = maas_model_encoded_size (4, s_layers, 2);
    ck_assert_uint_ge (bound, size);
    ck_assert_uint_le (bound,
                       size + MAAS_MODEL_META_OVERHEAD + 4 * (8 + MAAS_MODEL_COLUMN_MAX) + 2048);
    maas_layer_spec_t wide[] = {
        {4096, MAAS_ACT_RELU}, {4096, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    ck_assert_uint_gt (maas_model_encoded_size (4096, wide, 3), (size_t) 4096 * 4096 * 2 * 4);
    free (blob);
    maas_model_destroy (&model);
    //  With an output scaling (format 2) too.
    model = s_regression_model (true);
    s_encode (model, &blob, &size);
    maas_layer_spec_t regression[] = {{5, MAAS_ACT_TANH}, {2, MAAS_ACT_LINEAR}};
    ck_assert_uint_ge (maas_model_encoded_size (3, regression, 2), size);
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

//  ---------------------------------------------------------------------------
//  errors: unpack a valid blob, change one thing, pack it again, decode.

typedef struct {
    uint8_t *blob;    //  the valid encoding (the tree points into it)
    size_t size;
    msgpack_unpacked msg;              //  its tree, changed in place by a test
    char hex[MAAS_SHA256_HEX_SIZE];    //  a recomputed sha256 the tree may point to
    maas_err_t err;                    //  the last decode's error
} tree_t;

//  Open the tree of MODEL's encoding (taking MODEL).
static void
s_tree_open_model (tree_t *t, maas_model_t *model)
{
    memset (t, 0, sizeof *t);
    s_encode (model, &t->blob, &t->size);
    maas_model_destroy (&model);
    msgpack_unpacked_init (&t->msg);
    maas_err_t err;
    ck_assert_int_eq (maas_codec_unpack (t->blob, t->size, 0, &t->msg, &err), 0);
}

static void
s_tree_open (tree_t *t, bool with_norm)
{
    s_tree_open_model (t, s_sample_model (with_norm));
}

static void
s_tree_close (tree_t *t)
{
    msgpack_unpacked_destroy (&t->msg);
    free (t->blob);
}

//  The key object and the value under KEY in map OBJ (mutable).
static msgpack_object_kv *
s_kv (msgpack_object *obj, const char *key)
{
    ck_assert_int_eq (obj->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        msgpack_object *k = &obj->via.map.ptr[i].key;
        if (k->via.str.size == strlen (key) && memcmp (k->via.str.ptr, key, k->via.str.size) == 0)
            return &obj->via.map.ptr[i];
    }
    ck_abort_msg ("no key %s", key);
    return NULL;
}

static msgpack_object *
s_at (msgpack_object *obj, const char *key)
{
    return &s_kv (obj, key)->val;
}

//  The value under KEY in map OBJ, or NULL when it has none.
static msgpack_object *
s_find (msgpack_object *obj, const char *key)
{
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        msgpack_object *k = &obj->via.map.ptr[i].key;
        if (k->via.str.size == strlen (key) && memcmp (k->via.str.ptr, key, k->via.str.size) == 0)
            return &obj->via.map.ptr[i].val;
    }
    return NULL;
}

static msgpack_object *
s_layer (tree_t *t, size_t i)
{
    return &s_at (&t->msg.data, "layers")->via.array.ptr[i];
}

static void
s_set_str (msgpack_object *obj, const char *str)
{
    obj->type = MSGPACK_OBJECT_STR;
    obj->via.str.ptr = str;
    obj->via.str.size = (uint32_t) strlen (str);
}

//  Recompute the sha256 of the (changed) parameters as docs/model-format.md
//  specifies it, independently of model.c, and record it in the tree.
static void
s_rehash (tree_t *t)
{
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    msgpack_object *layers = s_at (&t->msg.data, "layers");
    for (uint32_t i = 0; i < layers->via.array.size; i++) {
        msgpack_object *w = s_at (s_at (&layers->via.array.ptr[i], "weights"), "data");
        msgpack_object *b = s_at (s_at (&layers->via.array.ptr[i], "bias"), "data");
        crypto_hash_sha256_update (&state, (const void *) w->via.bin.ptr, w->via.bin.size);
        crypto_hash_sha256_update (&state, (const void *) b->via.bin.ptr, b->via.bin.size);
    }
    const char *norms[] = {"norm", "target_norm"};
    for (size_t n = 0; n < 2; n++) {
        msgpack_object *norm = s_find (&t->msg.data, norms[n]);
        if (!norm || norm->type != MSGPACK_OBJECT_MAP)
            continue;
        msgpack_object *mean = s_at (norm, "mean"), *std = s_at (norm, "std");
        crypto_hash_sha256_update (&state, (const void *) mean->via.bin.ptr, mean->via.bin.size);
        crypto_hash_sha256_update (&state, (const void *) std->via.bin.ptr, std->via.bin.size);
    }
    unsigned char digest[32];
    crypto_hash_sha256_final (&state, digest);
    sodium_bin2hex (t->hex, sizeof t->hex, digest, sizeof digest);
    s_set_str (s_at (&t->msg.data, "sha256"), t->hex);
}

//  Pack the tree and decode it: it must fail with CODE and a message
//  containing TEXT.
static void
s_expect (tree_t *t, maas_err_code_t code, const char *text)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    ck_assert_int_eq (msgpack_pack_object (&pk, t->msg.data), 0);
    maas_model_t *model = maas_model_decode (buffer.data, buffer.size, &t->err);
    ck_assert_ptr_null (model);
    ck_assert_msg (t->err.code == code, "code %d, expected %d: %s", t->err.code, code, t->err.text);
    ck_assert_msg (strstr (t->err.text, text) != NULL, "'%s' does not contain '%s'", t->err.text,
                   text);
    msgpack_sbuffer_destroy (&buffer);
}

START_TEST (test_untouched_tree_decodes)
{
    tree_t t;
    s_tree_open (&t, true);
    s_rehash (&t);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, t.msg.data);
    //  The test's own hash agrees with model.c's, and repacking is lossless.
    ck_assert_uint_eq (buffer.size, t.size);
    ck_assert (memcmp (buffer.data, t.blob, t.size) == 0);
    msgpack_sbuffer_destroy (&buffer);
    s_tree_close (&t);
}
END_TEST

//  Flip one byte inside the parameter bytes under PATH: the sha256 catches it.
static void
s_flip (msgpack_object *bin, size_t at)
{
    ck_assert_int_eq (bin->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_lt (at, bin->via.bin.size);
    ((char *) bin->via.bin.ptr)[at] ^= 0x10;
}

START_TEST (test_flipped_bytes_fail_sha256)
{
    tree_t t;
    s_tree_open (&t, true);
    s_flip (s_at (s_at (s_layer (&t, 0), "weights"), "data"), 37);
    s_expect (&t, MAAS_ERR_INPUT, "model: sha256 mismatch: parameters hash to ");
    s_tree_close (&t);
    s_tree_open (&t, true);
    s_flip (s_at (s_at (s_layer (&t, 1), "bias"), "data"), 5);
    s_expect (&t, MAAS_ERR_INPUT, "(corrupted or edited)");
    s_tree_close (&t);
    s_tree_open (&t, true);
    //  The low mantissa byte of mean[2]: still a valid mean, but not the one hashed.
    s_flip (s_at (s_at (&t.msg.data, "norm"), "mean"), 8);
    s_expect (&t, MAAS_ERR_INPUT, "sha256 mismatch");
    s_tree_close (&t);
    s_tree_open (&t, true);
    s_set_str (s_at (&t.msg.data, "sha256"), "00");
    s_expect (&t, MAAS_ERR_INPUT, "the blob records '00'");
    s_tree_close (&t);
}
END_TEST

START_TEST (test_flipped_byte_in_blob)
{
    //  The same through the raw blob: a weight byte near the end of layer 0.
    maas_model_t *model = s_sample_model (false);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    const maas_tensor_t *w = maas_mlp_weights_const (maas_model_mlp_const (model), 0);
    uint8_t *at = memmem (blob, size, w->data + 20, 4);
    ck_assert_ptr_nonnull (at);
    at[1] ^= 0x01;
    maas_err_t err;
    ck_assert_ptr_null (maas_model_decode (blob, size, &err));
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_wrong_magic)
{
    tree_t t;
    s_tree_open (&t, false);
    s_set_str (s_at (&t.msg.data, "magic"), "NOT-MODEL");
    s_expect (&t, MAAS_ERR_INPUT, "model: wrong magic 'NOT-MODEL', expected 'MAAS-MODEL'");
    s_set_str (&s_kv (&t.msg.data, "magic")->key, "magix");
    s_expect (&t, MAAS_ERR_INPUT, "model: not a maas model (missing key 'magic')");
    t.msg.data = *s_at (&t.msg.data, "layers");
    s_expect (&t, MAAS_ERR_INPUT, "model: not a maas model (expected a map, got array)");
    s_tree_close (&t);
    //  Not msgpack at all: a CSV file.
    const char *csv = "sepal_length,sepal_width,label\n5.1,3.5,0\n";
    maas_err_t err;
    ck_assert_ptr_null (maas_model_decode (csv, strlen (csv), &err));
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_ptr_nonnull (strstr (err.text, "not a maas model"));
}
END_TEST

START_TEST (test_format_version)
{
    tree_t t;
    s_tree_open (&t, false);
    s_at (&t.msg.data, "format")->via.u64 = 3;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: unsupported format version 3 (this build reads versions 1 to 2)");
    s_at (&t.msg.data, "format")->via.u64 = 0;
    s_expect (&t, MAAS_ERR_INPUT, "model: unsupported format version 0");
    s_set_str (s_at (&t.msg.data, "format"), "1");
    s_expect (&t, MAAS_ERR_INPUT, "model: key 'format' must be a non-negative integer, got string");
    s_tree_close (&t);
}
END_TEST

START_TEST (test_inconsistent_shapes)
{
    tree_t t;
    s_tree_open (&t, false);
    //  Inputs that do not match the first layer's fan-in.
    s_at (&t.msg.data, "inputs")->via.u64 = 5;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: layer 0: weights have 4 rows, but the model has 5 inputs");
    s_tree_close (&t);
    //  Layer 1's weights reshaped to [4, 6]: right bytes, wrong fan-in.
    s_tree_open (&t, false);
    msgpack_object *shape = s_at (s_at (s_layer (&t, 1), "weights"), "shape");
    shape->via.array.ptr[0].via.u64 = 4;
    shape->via.array.ptr[1].via.u64 = 6;
    s_expect (&t, MAAS_ERR_INPUT, "model: layer 1: weights have 4 rows, but layer 0 has 8 units");
    s_tree_close (&t);
    //  Units that the weights do not have.
    s_tree_open (&t, false);
    s_at (s_layer (&t, 1), "units")->via.u64 = 4;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: layer 1: weights [8, 3] and bias [1, 3] do not fit 4 units");
    s_tree_close (&t);
    //  Bytes that do not match the shape.
    s_tree_open (&t, false);
    s_at (s_at (s_layer (&t, 0), "weights"), "data")->via.bin.size -= 4;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: layer 0: key 'weights': data holds 124 bytes, shape [4, 8] needs 128");
    s_tree_close (&t);
    //  Normalisation for the wrong number of inputs.
    s_tree_open (&t, true);
    s_at (s_at (&t.msg.data, "norm"), "std")->via.bin.size = 12;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: norm: mean holds 16 bytes and std 12, 4 inputs need 16 each");
    s_tree_close (&t);
}
END_TEST

START_TEST (test_missing_keys)
{
    const char *top_keys[] = {"format", "inputs", "layers", "metadata", "sha256"};
    for (size_t i = 0; i < sizeof top_keys / sizeof top_keys[0]; i++) {
        tree_t t;
        s_tree_open (&t, false);
        s_set_str (&s_kv (&t.msg.data, top_keys[i])->key, "renamed");
        char expected[64];
        snprintf (expected, sizeof expected, "missing key '%s'", top_keys[i]);
        s_expect (&t, MAAS_ERR_INPUT, expected);
        s_tree_close (&t);
    }
    const char *layer_keys[] = {"units", "activation", "weights", "bias"};
    for (size_t i = 0; i < sizeof layer_keys / sizeof layer_keys[0]; i++) {
        tree_t t;
        s_tree_open (&t, false);
        s_set_str (&s_kv (s_layer (&t, 1), layer_keys[i])->key, "renamed");
        char expected[64];
        snprintf (expected, sizeof expected, "model: layer 1: missing key '%s'", layer_keys[i]);
        s_expect (&t, MAAS_ERR_INPUT, expected);
        s_tree_close (&t);
    }
    //  No "norm" key at all is the same as nil: a model without one.
    tree_t t;
    s_tree_open (&t, false);
    s_set_str (&s_kv (&t.msg.data, "norm")->key, "renamed");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, t.msg.data);
    maas_model_t *model = maas_model_decode (buffer.data, buffer.size, &t.err);
    ck_assert_msg (model != NULL, "%s", t.err.text);
    maas_model_destroy (&model);
    msgpack_sbuffer_destroy (&buffer);
    s_tree_close (&t);
}
END_TEST

START_TEST (test_bad_values)
{
    tree_t t;
    s_tree_open (&t, true);
    s_set_str (s_at (s_layer (&t, 0), "activation"), "gelu");
    s_expect (&t, MAAS_ERR_INPUT, "model: layer 0: unknown activation 'gelu'");
    s_set_str (s_at (s_layer (&t, 0), "activation"), "relu");
    s_at (s_layer (&t, 0), "units")->via.u64 = 0;
    s_expect (&t, MAAS_ERR_INPUT, "model: layer 0: key 'units' must be between 1 and 65536, got 0");
    s_at (s_layer (&t, 0), "units")->via.u64 = 8;
    s_set_str (s_at (s_at (s_layer (&t, 0), "weights"), "dtype"), "f16");
    s_expect (&t, MAAS_ERR_INPUT, "model: layer 0: key 'weights': dtype must be 'f32', got 'f16'");
    s_set_str (s_at (s_at (s_layer (&t, 0), "weights"), "dtype"), "f32");
    s_at (&t.msg.data, "layers")->via.array.size = 0;
    s_expect (&t, MAAS_ERR_INPUT, "model: 'layers' must hold 1 to 64 layers, got 0");
    s_at (&t.msg.data, "layers")->via.array.size = 2;
    s_at (&t.msg.data, "inputs")->via.u64 = 65537;
    s_expect (&t, MAAS_ERR_INPUT, "model: key 'inputs' must be between 1 and 65536, got 65537");
    s_tree_close (&t);
}
END_TEST

START_TEST (test_bad_norm_and_nan_weights)
{
    tree_t t;
    s_tree_open (&t, true);
    //  std[1] = 0 with a correct sha256: refused for what it is.
    msgpack_object *std = s_at (s_at (&t.msg.data, "norm"), "std");
    memset ((char *) std->via.bin.ptr + 4, 0, 4);
    s_rehash (&t);
    s_expect (&t, MAAS_ERR_INPUT, "model: norm: mean[1] = 3, std[1] = 0");
    s_tree_close (&t);
    s_tree_open (&t, true);
    msgpack_object *w = s_at (s_at (s_layer (&t, 1), "weights"), "data");
    float nan = NAN;
    memcpy ((char *) w->via.bin.ptr + 8, &nan, 4);
    s_rehash (&t);
    s_expect (&t, MAAS_ERR_INPUT, "model: layer 1 weights hold NaN or infinity");
    s_tree_close (&t);
    //  And the encoder refuses to write such a model.
    maas_model_t *model = s_sample_model (false);
    maas_mlp_bias (maas_model_mlp (model), 0)->data[3] = INFINITY;
    uint8_t *blob = NULL;
    size_t size;
    maas_err_t err;
    ck_assert_int_eq (maas_model_encode (model, &blob, &size, &err), -1);
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_str_eq (err.text, "model: layer 0 bias hold NaN or infinity (diverged training?)");
    ck_assert_ptr_null (blob);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_bad_metadata)
{
    tree_t t;
    s_tree_open (&t, false);
    msgpack_object *meta = s_at (&t.msg.data, "metadata");
    msgpack_object *loss = s_at (meta, "loss");
    *loss = *s_at (&t.msg.data, "layers");
    s_expect (&t, MAAS_ERR_INPUT, "model: metadata: 'loss' must be a string");
    s_set_str (loss, "bce");
    s_set_str (&s_kv (meta, "optimizer")->key, "loss");
    s_expect (&t, MAAS_ERR_INPUT, "model: metadata: duplicate key 'loss'");
    s_set_str (&s_kv (meta, "loss")->key, "");
    s_expect (&t, MAAS_ERR_INPUT, "model: metadata: key 3 must be a string of 1 to 64 bytes");
    *meta = *s_at (&t.msg.data, "magic");
    s_expect (&t, MAAS_ERR_INPUT, "model: key 'metadata' must be a map, got string");
    s_tree_close (&t);
}
END_TEST

START_TEST (test_trailing_bytes)
{
    maas_model_t *model = s_sample_model (false);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    uint8_t *longer = malloc (size + 1);
    memcpy (longer, blob, size);
    longer[size] = 0xc0;
    maas_err_t err;
    ck_assert_ptr_null (maas_model_decode (longer, size + 1, &err));
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_ptr_nonnull (strstr (err.text, "1 trailing bytes"));
    free (longer);
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

//  ---------------------------------------------------------------------------
//  limits: truncation at every length, hostile files, random damage

START_TEST (test_truncated_at_every_length)
{
    maas_model_t *model = s_sample_model (true);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    for (size_t len = 0; len < size; len++) {
        //  An exact-size copy, so ASan and valgrind see any read past it.
        uint8_t *copy = malloc (len ? len : 1);
        memcpy (copy, blob, len);
        maas_err_t err;
        ck_assert_ptr_null (maas_model_decode (copy, len, &err));
        if (len >= 20)
            ck_assert_msg (err.code == MAAS_ERR_INPUT, "len %zu: %s", len, err.text);
        else
            ck_assert (err.code == MAAS_ERR_INPUT || err.code == MAAS_ERR_INPUT);
        free (copy);
    }
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_load_errors)
{
    char *dir = support_tempdir_new ("model");
    char path[512];
    maas_err_t err;
    snprintf (path, sizeof path, "%s/absent.model", dir);
    ck_assert_ptr_null (maas_model_load (path, &err));
    ck_assert_int_eq (err.code, MAAS_ERR_IO);
    ck_assert_ptr_nonnull (strstr (err.text, "cannot open"));
    ck_assert_ptr_nonnull (strstr (err.text, path));
    ck_assert_ptr_null (maas_model_load (dir, &err));
    ck_assert_int_eq (err.code, MAAS_ERR_IO);
    ck_assert_ptr_nonnull (strstr (err.text, "is not a regular file"));
    //  A sparse file past the limit is refused before reading it.
    snprintf (path, sizeof path, "%s/huge.model", dir);
    FILE *file = fopen (path, "wb");
    ck_assert_int_eq (ftruncate (fileno (file), (off_t) MAAS_MODEL_MAX_BYTES + 1), 0);
    fclose (file);
    ck_assert_ptr_null (maas_model_load (path, &err));
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    //  A damaged file: the message names it.
    maas_model_t *model = s_sample_model (false);
    snprintf (path, sizeof path, "%s/bad.model", dir);
    ck_assert_int_eq (maas_model_save (model, path, &err), 0);
    file = fopen (path, "r+b");
    fseek (file, -1, SEEK_END);
    fputc (0xc1, file);
    fclose (file);
    ck_assert_ptr_null (maas_model_load (path, &err));
    ck_assert_ptr_nonnull (strstr (err.text, path));
    //  Saving into a missing directory fails cleanly.
    snprintf (path, sizeof path, "%s/no/such/dir.model", dir);
    ck_assert_int_eq (maas_model_save (model, path, &err), -1);
    ck_assert_int_eq (err.code, MAAS_ERR_IO);
    maas_model_destroy (&model);
    support_tempdir_remove (&dir);
}
END_TEST

START_TEST (test_random_damage_never_crashes)
{
    maas_model_t *model = s_sample_model (true);
    uint8_t *blob;
    size_t size;
    s_encode (model, &blob, &size);
    maas_rng_t rng;
    maas_rng_seed (&rng, 99);
    uint8_t *copy = malloc (size);
    for (int round = 0; round < 3000; round++) {
        memcpy (copy, blob, size);
        int flips = 1 + (int) maas_rng_below (&rng, 3);
        for (int k = 0; k < flips; k++)
            copy[maas_rng_below (&rng, size)] = (uint8_t) maas_rng_next (&rng);
        maas_err_t err;
        maas_model_t *decoded = maas_model_decode (copy, size, &err);
        //  Damage in metadata values is not covered by the hash and may pass.
        if (decoded)
            maas_model_destroy (&decoded);
        else
            ck_assert (err.code != MAAS_ERR_OK && strlen (err.text) > 0);
    }
    free (copy);
    free (blob);
    maas_model_destroy (&model);
}
END_TEST

//  The output scaling's own checks, on a version 2 blob.
START_TEST (test_bad_target_norm)
{
    tree_t t;
    s_tree_open_model (&t, s_regression_model (true));
    s_rehash (&t);
    //  A version 1 blob cannot carry it: a v1 reader would serve unscaled outputs.
    s_at (&t.msg.data, "format")->via.u64 = 1;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: key 'target_norm' needs format 2, the blob says format 1");
    s_at (&t.msg.data, "format")->via.u64 = 2;
    s_set_str (s_at (s_layer (&t, 1), "activation"), "sigmoid");
    s_expect (&t, MAAS_ERR_INPUT,
              "model: target_norm: the output layer is sigmoid; only a linear output is scaled");
    s_set_str (s_at (s_layer (&t, 1), "activation"), "linear");
    msgpack_object *std = s_at (s_at (&t.msg.data, "target_norm"), "std");
    std->via.bin.size = 4;
    s_expect (&t, MAAS_ERR_INPUT,
              "model: target_norm: mean holds 8 bytes and std 4, 2 outputs need 8 each");
    std->via.bin.size = 8;
    //  The sha256 covers the scaling: another valid std is caught.
    float quarter = 0.25f;
    memcpy ((char *) std->via.bin.ptr + 4, &quarter, 4);
    s_expect (&t, MAAS_ERR_INPUT, "model: sha256 mismatch");
    memset ((char *) std->via.bin.ptr + 4, 0, 4);
    s_rehash (&t);
    s_expect (&t, MAAS_ERR_INPUT, "model: target_norm: mean[1] = -3.25, std[1] = 0");
    s_set_str (s_at (&t.msg.data, "target_norm"), "x");
    s_expect (&t, MAAS_ERR_INPUT, "target_norm");
    s_tree_close (&t);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("model");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_round_trip_is_bit_exact);
    tcase_add_test (core, test_weights_sha256);
    tcase_add_test (core, test_encoded_size_bounds_blob);
    tcase_add_test (core, test_round_trip_without_norm);
    tcase_add_test (core, test_encoding_is_deterministic);
    tcase_add_test (core, test_save_and_load);
    tcase_add_test (core, test_metadata_api);
    tcase_add_test (core, test_task);
    tcase_add_test (core, test_columns);
    tcase_add_test (core, test_signature);
    tcase_add_test (core, test_input_scale_is_format_2);
    tcase_add_test (core, test_sha256_hex);
    tcase_add_test (core, test_golden_blob);
    tcase_add_test (core, test_v1_blob_serves);
    tcase_add_test (core, test_target_norm_round_trip);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_untouched_tree_decodes);
    tcase_add_test (errors, test_flipped_bytes_fail_sha256);
    tcase_add_test (errors, test_flipped_byte_in_blob);
    tcase_add_test (errors, test_wrong_magic);
    tcase_add_test (errors, test_format_version);
    tcase_add_test (errors, test_inconsistent_shapes);
    tcase_add_test (errors, test_missing_keys);
    tcase_add_test (errors, test_bad_values);
    tcase_add_test (errors, test_bad_norm_and_nan_weights);
    tcase_add_test (errors, test_bad_target_norm);
    tcase_add_test (errors, test_bad_metadata);
    tcase_add_test (errors, test_trailing_bytes);
    suite_add_tcase (suite, errors);
    TCase *limits = tcase_create ("limits");
    tcase_add_test (limits, test_truncated_at_every_length);
    tcase_add_test (limits, test_load_errors);
    tcase_add_test (limits, test_random_damage_never_crashes);
    suite_add_tcase (suite, limits);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
