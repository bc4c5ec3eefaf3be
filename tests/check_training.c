/*  check_training.c: train job specs: the layer syntax, msgpack round
 *  trips, and every bad spec refused before training with its message. */
#include "maas.h"

#include "support.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static maas_err_t s_err;

//  A valid spec for the seed's network on a binary data set.
static void
s_seed_spec (maas_training_t *spec)
{
    maas_training_init (spec);
    snprintf (spec->model, sizeof spec->model, "seed");
    snprintf (spec->dataset, sizeof spec->dataset, "synthetic10");
    ck_assert_int_eq (maas_training_parse_layers (spec, "64:relu,64:relu,1:sigmoid", &s_err), 0);
}

//  Pack SPEC, then decode it as a job would; the decode's return code.
static int
s_round_trip (const maas_training_t *spec, maas_training_t *out)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack (spec, &pk), 0);
    msgpack_unpacked message;
    msgpack_unpacked_init (&message);
    ck_assert_int_eq (maas_codec_unpack (buffer.data, buffer.size, 0, &message, &s_err), 0);
    int rc = maas_training_decode (out, &message.data, spec->model, &s_err);
    msgpack_unpacked_destroy (&message);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

//  Decode the msgpack of JSON-like TEXT built by the caller with PACK.
typedef void (s_pack_fn) (msgpack_packer *pk);

static int
s_decode_packed (s_pack_fn *pack)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    pack (&pk);
    msgpack_unpacked message;
    msgpack_unpacked_init (&message);
    ck_assert_int_eq (maas_codec_unpack (buffer.data, buffer.size, 0, &message, &s_err), 0);
    maas_training_t spec;
    int rc = maas_training_decode (&spec, &message.data, "m", &s_err);
    msgpack_unpacked_destroy (&message);
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

static void
s_one_layer (msgpack_packer *pk, const char *act)
{
    maas_codec_pack_str (pk, "layers");
    msgpack_pack_array (pk, 1);
    msgpack_pack_map (pk, 2);
    maas_codec_pack_kv_uint (pk, "units", 1);
    maas_codec_pack_kv_str (pk, "activation", act);
}

START_TEST (test_defaults_and_layers)
{
    maas_training_t spec;
    s_seed_spec (&spec);
    ck_assert_uint_eq (spec.n_layers, 3);
    ck_assert_uint_eq (spec.layers[1].units, 64);
    ck_assert_int_eq (spec.layers[2].act, MAAS_ACT_SIGMOID);
    ck_assert_int_eq (spec.train.loss, MAAS_LOSS_BCE);
    ck_assert_int_eq (spec.train.optim.kind, MAAS_OPTIM_ADAM);
    ck_assert_uint_eq (spec.train.batch_size, 32);
    ck_assert_uint_eq (spec.train.epochs, 10);
    ck_assert_int_eq (maas_training_check (&spec, &s_err), 0);
    ck_assert_int_eq (maas_training_check_data (&spec, 10, MAAS_DATASET_BINARY, 2, &s_err), 0);
}
END_TEST

START_TEST (test_pack_decode_round_trip)
{
    maas_training_t spec, back;
    s_seed_spec (&spec);
    ck_assert_int_eq (maas_training_set_optimizer (&spec, "momentum", &s_err), 0);
    spec.train.optim.lr = 0.05f;
    spec.train.epochs = 7;
    spec.train.batch_size = 64;
    spec.train.val_fraction = 0.25;
    spec.train.patience = 3;
    spec.train.restore_best = true;
    spec.train.seed = 12345678901234ull;
    ck_assert (spec.train.standardize_target);    //  the default
    spec.train.standardize_target = false;
    snprintf (spec.description, sizeof spec.description, "the seed network");
    ck_assert_msg (s_round_trip (&spec, &back) == 0, "%s", s_err.text);
    ck_assert_mem_eq (&spec, &back, sizeof spec);
}
END_TEST

START_TEST (test_bad_layer_text)
{
    maas_training_t spec;
    maas_training_init (&spec);
    ck_assert_int_eq (maas_training_parse_layers (&spec, "64:relo", &s_err), -1);
    ck_assert_str_eq (s_err.text,
                      "layer 1: unknown activation 'relo' (linear, relu, tanh, sigmoid, "
                      "softmax)");
    ck_assert_int_eq (maas_training_parse_layers (&spec, "64:relu,0:relu", &s_err), -1);
    ck_assert_str_eq (s_err.text, "layer 2: units must be 1..65536, got '0'");
    ck_assert_int_eq (maas_training_parse_layers (&spec, "64:relu,,1:sigmoid", &s_err), -1);
    ck_assert_str_eq (s_err.text, "layer 2: expected units:activation, got ''");
    ck_assert_int_eq (maas_training_parse_layers (&spec, "sixty:relu", &s_err), -1);
    ck_assert_int_eq (maas_training_parse_layers (&spec, "64", &s_err), -1);
    ck_assert_str_eq (s_err.text, "layer 1: expected units:activation, got '64'");
    ck_assert_int_eq (maas_training_set_optimizer (&spec, "adamw", &s_err), -1);
    ck_assert_str_eq (s_err.text,
                      "unknown optimizer 'adamw' (sgd, momentum, nesterov, adagrad, "
                      "rmsprop, adam)");
}
END_TEST

START_TEST (test_bad_loop_settings)
{
    maas_training_t spec;
    s_seed_spec (&spec);
    spec.train.batch_size = 0;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "batch size must be 1..65536, got 0");
    s_seed_spec (&spec);
    spec.train.epochs = 0;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "epochs must be 1..100000, got 0");
    s_seed_spec (&spec);
    spec.train.val_fraction = 0.95;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "validation split must be 0..0.9, got 0.95");
    s_seed_spec (&spec);
    spec.train.val_fraction = 0;
    spec.train.patience = 2;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "early stopping (patience 2) needs a validation split");
    s_seed_spec (&spec);
    spec.train.optim.lr = -1;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "lr"));
    s_seed_spec (&spec);
    spec.model[0] = '\0';
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "no model name to publish");
    s_seed_spec (&spec);
    snprintf (spec.dataset, sizeof spec.dataset, "no such:name");
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_str_eq (s_err.text, "data set name 'no such:name' is not valid");
}
END_TEST

START_TEST (test_loss_must_fit_output_and_task)
{
    maas_training_t spec;
    s_seed_spec (&spec);
    spec.layers[2].act = MAAS_ACT_SOFTMAX;
    ck_assert_int_eq (maas_training_check (&spec, &s_err), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "loss bce does not fit a softmax output layer"));
    //  digits: 10 classes, 3 softmax units.
    s_seed_spec (&spec);
    ck_assert_int_eq (maas_training_parse_layers (&spec, "128:relu,3:softmax", &s_err), 0);
    spec.train.loss = MAAS_LOSS_SOFTMAX_CE;
    snprintf (spec.dataset, sizeof spec.dataset, "digits");
    ck_assert_int_eq (maas_training_check (&spec, &s_err), 0);
    ck_assert_int_eq (maas_training_check_data (&spec, 64, MAAS_DATASET_MULTICLASS, 10, &s_err),
                      -1);
    ck_assert_str_eq (s_err.text,
                      "data set 'digits' has 10 classes but the output layer has 3 units");
    ck_assert_int_eq (maas_training_check_data (&spec, 64, MAAS_DATASET_REGRESSION, 0, &s_err), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "softmax_ce needs class labels"));
    //  bce on a multiclass data set.
    s_seed_spec (&spec);
    ck_assert_int_eq (maas_training_check_data (&spec, 64, MAAS_DATASET_MULTICLASS, 10, &s_err),
                      -1);
    ck_assert_str_eq (s_err.text,
                      "loss bce needs binary labels, data set 'synthetic10' is multiclass "
                      "(use softmax_ce)");
    //  mse with two outputs for one label.
    ck_assert_int_eq (maas_training_parse_layers (&spec, "8:tanh,2:linear", &s_err), 0);
    spec.train.loss = MAAS_LOSS_MSE;
    ck_assert_int_eq (maas_training_check_data (&spec, 4, MAAS_DATASET_REGRESSION, 0, &s_err), -1);
    ck_assert_str_eq (s_err.text,
                      "loss mse with one label per row needs 1 output unit, the output "
                      "layer has 2");
}
END_TEST

static void
s_pack_unknown_key (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_one_layer (pk, "sigmoid");
    maas_codec_pack_kv_uint (pk, "epoch", 3);
}

static void
s_pack_bad_type (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_one_layer (pk, "sigmoid");
    maas_codec_pack_kv_str (pk, "epochs", "ten");
}

static void
s_pack_bad_activation (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    s_one_layer (pk, "swish");
}

static void
s_pack_bad_loss (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_one_layer (pk, "sigmoid");
    maas_codec_pack_kv_str (pk, "loss", "hinge");
}

static void
s_pack_bad_optimizer (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 2);
    s_one_layer (pk, "sigmoid");
    maas_codec_pack_kv_str (pk, "optimizer", "lbfgs");
}

static void
s_pack_no_layers (msgpack_packer *pk)
{
    msgpack_pack_map (pk, 1);
    maas_codec_pack_kv_str (pk, "dataset", "x");
}

static void
s_pack_not_a_map (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 0);
}

START_TEST (test_bad_params)
{
    ck_assert_int_eq (s_decode_packed (s_pack_unknown_key), -1);
    ck_assert_str_eq (s_err.text, "train spec: unknown key 'epoch'");
    ck_assert_int_eq (s_decode_packed (s_pack_bad_type), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "'epochs'"));
    ck_assert_int_eq (s_decode_packed (s_pack_bad_activation), -1);
    ck_assert_str_eq (s_err.text,
                      "layer 1: unknown activation 'swish' (linear, relu, tanh, sigmoid, "
                      "softmax)");
    ck_assert_int_eq (s_decode_packed (s_pack_bad_loss), -1);
    ck_assert_str_eq (s_err.text, "unknown loss 'hinge' (bce, softmax_ce, mse)");
    ck_assert_int_eq (s_decode_packed (s_pack_bad_optimizer), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "unknown optimizer 'lbfgs'"));
    ck_assert_int_eq (s_decode_packed (s_pack_no_layers), -1);
    ck_assert_str_eq (s_err.text, "train spec: missing key 'layers'");
    ck_assert_int_eq (s_decode_packed (s_pack_not_a_map), -1);
    ck_assert_ptr_nonnull (strstr (s_err.text, "train spec"));
    maas_training_t spec;
    ck_assert_int_eq (maas_training_decode (&spec, NULL, "m", &s_err), -1);
    ck_assert_str_eq (s_err.text, "train spec: the job has no params");
}
END_TEST

START_TEST (test_inline_data)
{
    maas_tensor_t *x = maas_tensor_new (5, 2), *y = maas_tensor_new (5, 1);
    for (size_t i = 0; i < 10; i++)
        x->data[i] = (float) i / 3;
    y->data[1] = y->data[4] = 1;
    maas_dataset_t *dataset = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_AUTO, &s_err);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack_data (dataset, &pk), 0);
    maas_dataset_t *back = maas_training_decode_data (buffer.data, buffer.size, &s_err);
    ck_assert_msg (back, "%s", s_err.text);
    ck_assert_str_eq (maas_dataset_sha256_hex (back), maas_dataset_sha256_hex (dataset));
    ck_assert_int_eq (maas_dataset_task (back), MAAS_DATASET_BINARY);
    maas_dataset_destroy (&back);
    //  Truncated bytes, and labels that do not fit: refused with a reason.
    ck_assert_ptr_null (maas_training_decode_data (buffer.data, buffer.size - 3, &s_err));
    ck_assert_ptr_nonnull (strstr (s_err.text, "truncated"));
    ck_assert_ptr_null (maas_training_decode_data ("\x80", 1, &s_err));
    ck_assert_ptr_nonnull (strstr (s_err.text, "inline data"));
    msgpack_sbuffer_destroy (&buffer);
    maas_dataset_destroy (&dataset);
}
END_TEST

//  A train RESULT packed by the trainer's module parses back whole;
//  missing parts are refused with the key.
START_TEST (test_result_round_trip)
{
    maas_training_result_t sent = {.model = "cancer",
                                   .version = 4,
                                   .created = true,
                                   .outcome = "early_stopped",
                                   .epochs = 17,
                                   .train_seconds = 1.5,
                                   .dataset_sha256 = "ab12",
                                   .metrics = {.accuracy = 0.97,
                                               .rmse = NAN,
                                               .train_loss = 0.1,
                                               .val_loss = NAN,
                                               .samples_per_s = 1e5}};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_result_pack (&sent, &pk), 0);
    maas_training_result_t back;
    maas_err_t err;
    ck_assert_int_eq (maas_training_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_str_eq (back.model, "cancer");
    ck_assert_uint_eq (back.version, 4);
    ck_assert (back.created);
    ck_assert_str_eq (back.outcome, "early_stopped");
    ck_assert_uint_eq (back.epochs, 17);
    ck_assert_str_eq (back.dataset_sha256, "ab12");
    ck_assert_double_eq (back.metrics.accuracy, 0.97);
    ck_assert (isnan (back.metrics.rmse) && isnan (back.metrics.val_loss));
    ck_assert_double_eq (back.metrics.samples_per_s, 1e5);
    msgpack_sbuffer_clear (&sbuf);
    msgpack_pack_map (&pk, 2);
    maas_codec_pack_kv_str (&pk, "model", "cancer");
    maas_codec_pack_kv_uint (&pk, "version", 4);
    ck_assert_int_eq (maas_training_result_parse (&back, sbuf.data, sbuf.size, &err), -1);
    ck_assert_str_eq (err.text, "result: missing key 'created'");
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("training");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_defaults_and_layers);
    tcase_add_test (core, test_pack_decode_round_trip);
    tcase_add_test (core, test_inline_data);
    tcase_add_test (core, test_result_round_trip);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_bad_layer_text);
    tcase_add_test (errors, test_bad_loop_settings);
    tcase_add_test (errors, test_loss_must_fit_output_and_task);
    tcase_add_test (errors, test_bad_params);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
