/*  check_import.c: models from Keras (.h5 in the Keras 2 and Keras 3
 *  layouts, .keras zips) and ONNX, and maas models out to ONNX. Fixtures
 *  are made by tests/fixtures/make_import_fixtures.py (python3-h5py,
 *  python3-onnx) with a numpy reference next to each; exports are checked
 *  with onnx.checker and evaluated with numpy by tests/fixtures/onnx_eval.py.
 */
#include "maas.h"
#include "npy.h"
#include "support.h"

#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PYTHON "/usr/bin/python3"

static char *s_dir;    //  fixtures, made once per test case

static void
s_path (char *out, size_t size, const char *name)
{
    snprintf (out, size, "%s/%s", s_dir, name);
}

//  Run ARGV (with ENV added, may be NULL) to completion with its output in
//  LOG; its exit code.
static int
s_run (const char *const argv[], const char *const env[], const char *log)
{
    support_proc_t *proc = support_proc_start (argv, env, log);
    int rc = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    return rc;
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    s_dir = support_tempdir_new ("import");
    char *script = support_src_path ("tests/fixtures/make_import_fixtures.py"), log[600];
    s_path (log, sizeof log, "fixtures.log");
    const char *argv[] = {S_PYTHON, script, s_dir, NULL};
    int rc = s_run (argv, NULL, log);
    free (script);
    ck_assert_msg (rc == 0, "make_import_fixtures.py failed (%d), see %s", rc, log);
}

static void
s_teardown (void)
{
    support_tempdir_remove (&s_dir);
}

//  All of the .npy file PATH as float32 rows (caller frees).
static float *
s_npy (const char *path, size_t *rows, size_t *cols)
{
    maas_err_t err;
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    *rows = maas_npy_rows (reader);
    *cols = maas_npy_cols (reader);
    float *data = malloc (*rows * *cols * sizeof *data);
    size_t got = 0;
    ck_assert_int_eq (maas_npy_read (reader, data, *rows, &got, &err), 0);
    ck_assert_uint_eq (got, *rows);
    maas_npy_reader_destroy (&reader);
    return data;
}

//  MODEL's outputs for the rows of the .npy file X (caller frees), its
//  input scale applied in float32 as the worker applies it.
static float *
s_predict (const maas_model_t *model, const char *x_path, size_t *rows)
{
    size_t cols;
    float *x = s_npy (x_path, rows, &cols);
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    ck_assert_uint_eq (cols, maas_mlp_inputs (mlp));
    float scale = (float) maas_model_input_scale (model);
    for (size_t k = 0; scale != 1.0f && k < *rows * cols; k++)
        x[k] *= scale;
    float *y = malloc (*rows * maas_mlp_outputs (mlp) * sizeof *y);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, x, *rows, y), 0);
    maas_predictor_destroy (&predictor);
    free (x);
    return y;
}

//  MODEL's predictions on NAME.x.npy equal NAME.y.npy (or REF_PATH) to TOL.
static void
s_assert_predicts (const maas_model_t *model, const char *name, const char *ref_path, double tol)
{
    char x_path[600], y_path[600];
    snprintf (x_path, sizeof x_path, "%s/%s.x.npy", s_dir, name);
    snprintf (y_path, sizeof y_path, "%s/%s.y.npy", s_dir, name);
    size_t rows, ref_rows, ref_cols;
    float *y = s_predict (model, x_path, &rows);
    float *ref = s_npy (ref_path ? ref_path : y_path, &ref_rows, &ref_cols);
    ck_assert_uint_eq (ref_rows, rows);
    ck_assert_uint_eq (ref_cols, maas_mlp_outputs (maas_model_mlp_const (model)));
    for (size_t k = 0; k < rows * ref_cols; k++)
        ck_assert_msg (fabs ((double) y[k] - ref[k]) <= tol, "%s: row %zu col %zu: %.9g vs %.9g",
                       name, k / ref_cols, k % ref_cols, y[k], ref[k]);
    free (y);
    free (ref);
}

//  Import fixture FILE, which must be of FORMAT, shaped as SHAPE, with the
//  input name INPUT, and predict its numpy reference to 1e-5.
static maas_model_t *
s_import_ok (const char *file, const char *format, const char *shape, const char *input)
{
    char path[600], name[64], text[256];
    s_path (path, sizeof path, file);
    maas_err_t err;
    maas_model_t *model = maas_model_import_file (path, &err);
    ck_assert_msg (model, "%s", err.text);
    ck_assert_str_eq (maas_model_meta_str (model, "import_format"), format);
    ck_assert_str_eq (maas_model_meta_str (model, "import_file"), file);
    ck_assert_str_eq (maas_model_meta_str (model, "input_name"), input);
    maas_model_describe (model, text, sizeof text);
    ck_assert_str_eq (text, shape);
    snprintf (name, sizeof name, "%.*s", (int) strcspn (file, "."), file);
    s_assert_predicts (model, name, NULL, 1e-5);
    return model;
}

START_TEST (test_keras2_h5)
{
    maas_model_t *model =
        s_import_ok ("seed.h5", "keras2 h5", "10-64-64-1 relu,relu,sigmoid", "dense_input");
    ck_assert_int_eq (maas_model_task (model), MAAS_TASK_BINARY);
    //  The output is named after the last layer, as Keras names it.
    ck_assert_str_eq (maas_model_output_name (model), "dense_2");
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_keras3_h5)
{
    //  batch_shape, names without ":0", split layer_names, vlen weight_names,
    //  a fixed-length model_config, Activation folded, Dropout skipped, no bias.
    maas_model_t *model =
        s_import_ok ("k3.h5", "keras3 h5", "6-8-5-3 tanh,relu,softmax", "features");
    const maas_tensor_t *bias = maas_mlp_bias_const (maas_model_mlp_const (model), 1);
    for (size_t j = 0; j < bias->cols; j++)
        ck_assert_float_eq (bias->data[j], 0.0f);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_keras3_zip)
{
    maas_model_t *model =
        s_import_ok ("seed3.keras", "keras3 keras", "10-16-16-4 relu,linear,softmax", "pixels");
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_onnx)
{
    static const char *cases[][4] = {
        {"gemm.onnx", "onnx opset 13", "10-12-1 relu,sigmoid", "input.1"},
        {"matmul_add.onnx", "onnx opset 9", "5-7-2 tanh,linear", "x"},
        {"softmax11.onnx", "onnx opset 11", "4-6-3 relu,softmax", "input"},
        {"softmax13.onnx", "onnx opset 13", "4-6-3 relu,softmax", "input"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        maas_model_t *model = s_import_ok (cases[i][0], cases[i][1], cases[i][2], cases[i][3]);
        ck_assert_str_eq (maas_model_output_name (model), "output");    //  the graph output's
        ck_assert_double_eq (maas_model_input_scale (model), 1.0);
        maas_model_destroy (&model);
    }
}
END_TEST

START_TEST (test_onnx_input_scale)
{
    //  A leading Mul by a scalar (written by another tool: 0-d raw_data,
    //  the constant first) is the input scale; predictions scale the rows.
    maas_model_t *model =
        s_import_ok ("scaled.onnx", "onnx opset 13", "4-5-2 relu,linear", "input");
    ck_assert_double_eq (maas_model_input_scale (model), (double) (1.0f / 255));
    maas_model_destroy (&model);
    //  As torch.onnx.export writes x * (1/255): the scalar in a Constant node.
    model = s_import_ok ("scaled_torch.onnx", "onnx opset 13", "4-5-2 relu,linear", "onnx::Mul_0");
    ck_assert_double_eq (maas_model_input_scale (model), (double) (1.0f / 255));
    maas_model_destroy (&model);
}
END_TEST

//  Importing FILE fails with CODE and a message containing TEXT.
static void
s_assert_refused (const char *file, maas_err_code_t code, const char *text)
{
    char path[600];
    s_path (path, sizeof path, file);
    maas_err_t err;
    maas_model_t *model = maas_model_import_file (path, &err);
    ck_assert_ptr_null (model);
    ck_assert_msg (err.code == code, "%s: code %d, expected %d (%s)", file, err.code, code,
                   err.text);
    ck_assert_msg (strstr (err.text, text), "%s: '%s' lacks '%s'", file, err.text, text);
    ck_assert_msg (strncmp (err.text, path, strlen (path)) == 0, "'%s' names no path", err.text);
}

START_TEST (test_refused)
{
    s_assert_refused ("conv2d.h5", MAAS_ERR_INPUT,
                      "layer 3 'conv2d': Conv2D is not supported (Dense, Dropout, Activation, "
                      "InputLayer are)");
    s_assert_refused ("conv.onnx", MAAS_ERR_INPUT,
                      "node 2 'conv1' (Conv): Conv is not supported (Gemm, MatMul, Add");
    s_assert_refused ("seed.x.npy", MAAS_ERR_INPUT, "not a Keras .h5, .keras or ONNX");
    s_assert_refused ("missing.onnx", MAAS_ERR_IO, "No such file");
}
END_TEST

START_TEST (test_refused_limits)
{
    //  Each file is refused for one reason, named with the layer or node.
    s_assert_refused ("gelu.h5", MAAS_ERR_INPUT,
                      "layer 1 'dense': activation 'gelu' is not supported (linear, relu, tanh, "
                      "sigmoid, softmax are)");
    s_assert_refused ("units.h5", MAAS_ERR_INPUT, "layer 1 'dense': units must be 1 to 65536");
    s_assert_refused ("shape.h5", MAAS_ERR_INPUT,
                      "layer 1 'dense': 'dense/kernel:0' is not a float matrix of shape [10, 5]");
    s_assert_refused ("act2.h5", MAAS_ERR_INPUT,
                      "layer 2 'act': an Activation must follow a Dense layer without one");
    s_assert_refused ("functional.h5", MAAS_ERR_INPUT,
                      "model class 'Functional' is not supported (Sequential is)");
    //  A 65536 x 65536 kernel is declared in a 9 KB file: refused from its
    //  shape, before anything is allocated.
    s_assert_refused ("huge.h5", MAAS_ERR_INPUT,
                      "dense: 4294967296 more parameters pass the limit of 67108864");
    s_assert_refused ("opset8.onnx", MAAS_ERR_INPUT, "ONNX opset 8 is not supported (9 to 17 are)");
    s_assert_refused ("softmax_axis0.onnx", MAAS_ERR_INPUT,
                      "node 1 'softmax' (Softmax): softmax over another axis than the features");
    s_assert_refused ("mulvec.onnx", MAAS_ERR_INPUT,
                      "node 0 'per_feature' (Mul): a Mul before the first layer is read only as "
                      "the input scale, by one constant value");
    s_assert_refused ("mulnorm.onnx", MAAS_ERR_INPUT,
                      "node 2 'late_scale' (Mul): a Mul before the first layer is read only as "
                      "the input scale, once, before the standardisation");
}
END_TEST

START_TEST (test_damaged)
{
    //  Every cut of a file is refused with a reason (and, under the
    //  sanitizers and valgrind, read without a fault).
    static const char *files[] = {"seed.h5", "seed3.keras", "gemm.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[600], cut[600];
        s_path (path, sizeof path, files[i]);
        snprintf (cut, sizeof cut, "%s/cut-%s", s_dir, files[i]);
        FILE *in = fopen (path, "rb");
        ck_assert_ptr_nonnull (in);
        char *data = malloc (1 << 20);
        size_t size = fread (data, 1, 1 << 20, in);
        fclose (in);
        ck_assert (size > 0 && size < (1 << 20));
        for (size_t k = 1; k < 24; k++) {
            FILE *out = fopen (cut, "wb");
            ck_assert_uint_eq (fwrite (data, 1, size * k / 24, out), size * k / 24);
            fclose (out);
            maas_err_t err;
            maas_model_t *model = maas_model_import_file (cut, &err);
            ck_assert_msg (!model, "%s cut at %zu/24 imported", files[i], k);
            ck_assert (err.code != MAAS_ERR_OK && strlen (err.text) > strlen (cut) + 2);
            for (const char *c = err.text; *c; c++)
                ck_assert_int_ge ((unsigned char) *c, 0x20);
        }
        free (data);
    }
}
END_TEST

//  Every weight, bias and standardisation value of A and B is the same bits.
static void
s_assert_same_params (const maas_model_t *a, const maas_model_t *b)
{
    const maas_mlp_t *x = maas_model_mlp_const (a), *y = maas_model_mlp_const (b);
    ck_assert_uint_eq (maas_mlp_inputs (x), maas_mlp_inputs (y));
    ck_assert_uint_eq (maas_mlp_layer_count (x), maas_mlp_layer_count (y));
    for (size_t i = 0; i < maas_mlp_layer_count (x); i++) {
        ck_assert_int_eq (maas_mlp_layer (x, i).act, maas_mlp_layer (y, i).act);
        const maas_tensor_t *wx = maas_mlp_weights_const (x, i),
                            *wy = maas_mlp_weights_const (y, i);
        ck_assert_uint_eq (maas_tensor_size (wx), maas_tensor_size (wy));
        ck_assert (memcmp (wx->data, wy->data, maas_tensor_size (wx) * 4) == 0);
        const maas_tensor_t *bx = maas_mlp_bias_const (x, i), *by = maas_mlp_bias_const (y, i);
        ck_assert (memcmp (bx->data, by->data, maas_tensor_size (bx) * 4) == 0);
    }
    ck_assert_int_eq (!maas_mlp_norm_mean (x), !maas_mlp_norm_mean (y));
    if (maas_mlp_norm_mean (x)) {
        ck_assert (memcmp (maas_mlp_norm_mean (x), maas_mlp_norm_mean (y), maas_mlp_inputs (x) * 4)
                   == 0);
        ck_assert (memcmp (maas_mlp_norm_std (x), maas_mlp_norm_std (y), maas_mlp_inputs (x) * 4)
                   == 0);
    }
    size_t outputs = maas_mlp_outputs (x) * 4;
    ck_assert_int_eq (!maas_mlp_target_mean (x), !maas_mlp_target_mean (y));
    if (maas_mlp_target_mean (x)) {
        ck_assert (memcmp (maas_mlp_target_mean (x), maas_mlp_target_mean (y), outputs) == 0);
        ck_assert (memcmp (maas_mlp_target_std (x), maas_mlp_target_std (y), outputs) == 0);
    }
    char hx[MAAS_SHA256_HEX_SIZE], hy[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (a, hx);
    maas_model_sha256 (b, hy);
    ck_assert_str_eq (hx, hy);
}

//  onnx.checker accepts the ONNX file PATH, and its numpy evaluation on
//  NAME.x.npy equals MODEL's predictions to 1e-6.
static void
s_assert_onnx_matches (const char *path, const maas_model_t *model, const char *name)
{
    char *script = support_src_path ("tests/fixtures/onnx_eval.py");
    char x_path[600], out[600], log[600];
    snprintf (x_path, sizeof x_path, "%s/%s.x.npy", s_dir, name);
    snprintf (out, sizeof out, "%s/%s.onnx-eval.npy", s_dir, name);
    snprintf (log, sizeof log, "%s/%s.onnx-eval.log", s_dir, name);
    const char *argv[] = {S_PYTHON, script, path, x_path, out, NULL};
    int rc = s_run (argv, NULL, log);
    free (script);
    ck_assert_msg (rc == 0, "onnx_eval.py %s failed (%d), see %s", path, rc, log);
    ck_assert (support_file_has (log, "opset 13"));
    s_assert_predicts (model, name, out, 1e-6);
}

//  Export MODEL (whose inputs are NAME.x.npy's) to ONNX, check it with
//  onnx.checker and numpy, import it back: the same parameters.
static void
s_round_trip (const maas_model_t *model, const char *name)
{
    char path[600];
    snprintf (path, sizeof path, "%s/%s.export.onnx", s_dir, name);
    maas_err_t err;
    ck_assert_msg (maas_export_onnx_file (model, path, &err) == 0, "%s", err.text);
    s_assert_onnx_matches (path, model, name);
    maas_model_t *back = maas_model_import_file (path, &err);
    ck_assert_msg (back, "%s", err.text);
    ck_assert_str_eq (maas_model_meta_str (back, "import_format"), "onnx opset 13");
    s_assert_same_params (model, back);
    ck_assert_str_eq (maas_model_output_name (back), maas_model_output_name (model));
    //  The exact double, not only its float32 in the graph.
    ck_assert_double_eq (maas_model_input_scale (back), maas_model_input_scale (model));
    maas_model_destroy (&back);
}

START_TEST (test_export_round_trip)
{
    static const char *files[] = {"seed.h5",   "k3.h5",           "seed3.keras",
                                  "gemm.onnx", "matmul_add.onnx", "softmax11.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[600], name[64];
        s_path (path, sizeof path, files[i]);
        maas_model_t *model = maas_model_import_file (path, NULL);
        ck_assert_ptr_nonnull (model);
        snprintf (name, sizeof name, "%.*s", (int) strcspn (files[i], "."), files[i]);
        s_round_trip (model, name);
        maas_model_destroy (&model);
    }
}
END_TEST

START_TEST (test_export_norm)
{
    //  A trained maas model keeps its standardisation: exported as Sub and
    //  Div, read back into the same mean and std.
    char path[600];
    s_path (path, sizeof path, "seed.h5");
    maas_model_t *model = maas_model_import_file (path, NULL);
    float mean[10], std[10];
    for (int k = 0; k < 10; k++) {
        mean[k] = 0.1f * (float) k - 0.3f;
        std[k] = 0.5f + 0.25f * (float) k;
    }
    ck_assert_int_eq (maas_mlp_set_norm (maas_model_mlp (model), mean, std), 0);
    s_round_trip (model, "seed");
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_export_target_norm)
{
    //  A regression model with an output scaling far from unit scale:
    //  exported as Mul and Add after the last Gemm, the numpy evaluation of
    //  the graph gives maas's outputs to 1e-6, and the import reads
    //  back the same scaling, bit for bit.
    char path[600];
    s_path (path, sizeof path, "matmul_add.onnx");
    maas_model_t *model = maas_model_import_file (path, NULL);
    float mean[5] = {1, -2, 0.5f, 0, 3}, std[5] = {2, 0.5f, 1, 4, 0.25f};
    float y_mean[2] = {1.5f, -3.25f}, y_std[2] = {0.42f, 0.125f};
    ck_assert_int_eq (maas_mlp_set_norm (maas_model_mlp (model), mean, std), 0);
    ck_assert_int_eq (maas_mlp_set_target_norm (maas_model_mlp (model), y_mean, y_std), 0);
    s_round_trip (model, "matmul_add");
    uint8_t *onnx;
    size_t size;
    ck_assert_int_eq (maas_export_onnx (model, &onnx, &size, NULL), 0);
    ck_assert_ptr_nonnull (memmem (onnx, size, "target/std", 10));
    free (onnx);
    maas_model_destroy (&model);
}
END_TEST

START_TEST (test_export_input_scale)
{
    //  An input scale (1/255 has no exact float32) with a standardisation
    //  after it: a Mul before the Sub, the graph computes maas's outputs,
    //  and the import reads back the same double from the metadata.
    char path[600];
    s_path (path, sizeof path, "seed.h5");
    maas_model_t *model = maas_model_import_file (path, NULL);
    float mean[10], std[10];
    for (int k = 0; k < 10; k++) {
        mean[k] = 0.002f * (float) k - 0.003f;
        std[k] = 0.005f + 0.0025f * (float) k;
    }
    maas_err_t err;
    ck_assert_int_eq (maas_mlp_set_norm (maas_model_mlp (model), mean, std), 0);
    ck_assert_int_eq (maas_model_set_input_scale (model, 1.0 / 255, &err), 0);
    s_round_trip (model, "seed");
    uint8_t *onnx;
    size_t size;
    ck_assert_int_eq (maas_export_onnx (model, &onnx, &size, NULL), 0);
    ck_assert_ptr_nonnull (memmem (onnx, size, "input/scale", 11));
    free (onnx);
    maas_model_destroy (&model);
}
END_TEST

//  -- the command line, through a real Redis, broker and worker

//  Run `maas ARGS...` against REDIS and BROKER (may be NULL); its exit
//  code, with its output in LOG (under the fixtures dir).
static int
s_maas (support_redis_t *redis, const char *broker, const char *log, const char *const args[])
{
    char *maas = support_build_path ("client/maas"), env_redis[600], env_broker[600], path[600];
    const char *argv[16] = {maas};
    size_t n = 1;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    snprintf (env_redis, sizeof env_redis, "MAAS_REDIS_URL=%s", support_redis_url (redis));
    snprintf (env_broker, sizeof env_broker, "MAAS_BROKER_FRONTEND=%s", broker ? broker : "");
    const char *env[] = {env_redis, env_broker, NULL};
    s_path (path, sizeof path, log);
    int rc = s_run (argv, env, path);
    free (maas);
    return rc;
}

//  Version VERSION of NAME in REDIS, decoded.
static maas_model_t *
s_fetch (support_redis_t *redis, const char *name, uint64_t version)
{
    maas_registry_t *reg = support_registry_new (redis);
    uint8_t *blob;
    size_t size;
    ck_assert_int_eq (maas_registry_fetch (reg, name, version, &blob, &size, NULL), 0);
    maas_model_t *model = maas_model_decode (blob, size, NULL);
    ck_assert_ptr_nonnull (model);
    free (blob);
    maas_registry_destroy (&reg);
    return model;
}

//  The broker and one worker on ipc:// sockets in the fixtures dir.
static void
s_stack_start (support_redis_t *redis, support_proc_t **procs, char *frontend, size_t size)
{
    char backend[600], log[600];
    snprintf (frontend, size, "ipc://%s/front", s_dir);
    snprintf (backend, sizeof backend, "ipc://%s/back", s_dir);
    char *broker = support_build_path ("broker/maas-broker");
    char *worker = support_build_path ("worker/maas-worker");
    const char *bargv[] = {broker,
                           "--frontend",
                           frontend,
                           "--backend",
                           backend,
                           "--redis",
                           support_redis_url (redis),
                           "--heartbeat",
                           "200",
                           NULL};
    s_path (log, sizeof log, "broker.log");
    procs[0] = support_proc_start (bargv, NULL, log);
    const char *wargv[] = {worker,        "--broker", backend, "--redis", support_redis_url (redis),
                           "--heartbeat", "200",      NULL};
    s_path (log, sizeof log, "worker.log");
    procs[1] = support_proc_start (wargv, NULL, log);
    free (broker);
    free (worker);
}

//  The rows of the .npy X_PATH as a CSV with a header (f0, f1, ...) at
//  CSV_PATH, and as JSON "instances" into BODY; their count.
static size_t
s_rows_as_text (const char *x_path, const char *csv_path, char *body, size_t body_size)
{
    size_t rows, cols;
    float *x = s_npy (x_path, &rows, &cols);
    FILE *csv = fopen (csv_path, "w");
    ck_assert_ptr_nonnull (csv);
    for (size_t c = 0; c < cols; c++)
        fprintf (csv, "%sf%zu", c ? "," : "", c);
    size_t at = (size_t) snprintf (body, body_size, "{\"instances\": [");
    for (size_t r = 0; r < rows; r++) {
        fputc ('\n', csv);
        at += (size_t) snprintf (body + at, body_size - at, "%s[", r ? "," : "");
        for (size_t c = 0; c < cols; c++) {
            fprintf (csv, "%s%.9g", c ? "," : "", x[r * cols + c]);
            at += (size_t) snprintf (body + at, body_size - at, "%s%.9g", c ? "," : "",
                                     x[r * cols + c]);
        }
        at += (size_t) snprintf (body + at, body_size - at, "]");
    }
    fputc ('\n', csv);
    fclose (csv);
    snprintf (body + at, body_size - at, "]}");
    ck_assert (at + 2 < body_size);
    free (x);
    return rows;
}

//  The NEED single-output predictions in LOG_PATH, one per line as `maas
//  infer` prints them ("CLASS<tab>P"; other lines, the job's report, are
//  passed over) into Y.
static void
s_read_infer_lines (const char *log_path, float *y, size_t need)
{
    FILE *log = fopen (log_path, "r");
    ck_assert_ptr_nonnull (log);
    char line[256];
    size_t got = 0;
    int cls;
    float p;
    while (got < need && fgets (line, sizeof line, log))
        if (sscanf (line, "%d\t%f", &cls, &p) == 2)
            y[got++] = p;
    fclose (log);
    ck_assert_uint_eq (got, need);
}

//  A gateway in front of FRONTEND and REDIS on a free port, its log in
//  gateway.log; the predict URL of MODEL into URL.
static support_proc_t *
s_gateway (support_redis_t *redis, const char *frontend, const char *model, char *url,
           size_t url_size)
{
    char *gateway = support_build_path ("gateway/maas-gateway"), log[600];
    s_path (log, sizeof log, "gateway.log");
    const char *argv[] = {gateway,
                          "--http",
                          "127.0.0.1:0",
                          "--broker",
                          frontend,
                          "--redis",
                          support_redis_url (redis),
                          "--threads",
                          "1",
                          NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, log);
    free (gateway);
    int port = 0;
    for (int waited = 0; !port && waited < 10000; waited += 20) {
        FILE *file = fopen (log, "r");
        char line[300];
        while (file && fgets (line, sizeof line, file))
            sscanf (line, "maas-gateway: listening on http://127.0.0.1:%d", &port);
        if (file)
            fclose (file);
        if (!port)
            usleep (20000);
    }
    ck_assert_msg (port > 0, "the gateway did not listen (see %s)", log);
    snprintf (url, url_size, "http://127.0.0.1:%d/v1/models/%s:predict", port, model);
    return proc;
}

//  The predictions of a TF Serving predict answer in FILE into Y (NEED).
static void
s_read_predictions (const char *path, float *y, size_t need)
{
    FILE *file = fopen (path, "r");
    ck_assert_ptr_nonnull (file);
    char text[65536];
    size_t size = fread (text, 1, sizeof text - 1, file);
    fclose (file);
    text[size] = '\0';
    char *at = strstr (text, "\"predictions\":");
    ck_assert_msg (at, "no predictions in %s", text);
    at += strlen ("\"predictions\":");
    for (size_t k = 0; k < need; k++) {
        at += strspn (at, " [,");
        char *end;
        y[k] = strtof (at, &end);
        ck_assert_msg (end != at, "prediction %zu unreadable in %s", k, text);
        at = end + strspn (end, "]");
    }
}

START_TEST (test_cli_seed)
{
    //  The seed's example (issue 13's "done when"): model.h5 imported,
    //  scored by a worker, predicted over the CLI and over the gateway,
    //  explained, exported to ONNX (onnx.checker, numpy), imported back:
    //  all equal.
    support_redis_t *redis = support_redis_start ();
    support_proc_t *procs[2];
    char frontend[600], h5[600], onnx[600], x[600], y[600];
    s_stack_start (redis, procs, frontend, sizeof frontend);
    s_path (h5, sizeof h5, "seed.h5");
    s_path (onnx, sizeof onnx, "seed.cli.onnx");
    s_path (x, sizeof x, "seed.x.npy");
    s_path (y, sizeof y, "seed.served.npy");
    const char *import[] = {"model", "import", "seed", h5, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "import.log", import), 0);
    char line[900], log[600];
    snprintf (line, sizeof line, "imported %s as seed@1 (keras2 h5, 10-64-64-1 relu,relu,sigmoid)",
              h5);
    s_path (log, sizeof log, "import.log");
    ck_assert_msg (support_file_has (log, line), "no '%s' in %s", line, log);
    const char *score[] = {"score", "seed@1", "--input", x, "--output", y, NULL};
    ck_assert_int_eq (s_maas (redis, frontend, "score.log", score), 0);
    maas_model_t *model = s_fetch (redis, "seed", 1);
    s_assert_predicts (model, "seed", y, 1e-5);
    const char *export[] = {"model", "export", "seed@1", "--format", "onnx", onnx, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "export.log", export), 0);
    s_assert_onnx_matches (onnx, model, "seed");
    //  Predicted over the CLI and over the gateway, explained: the same.
    char csv[600], body[16384], url[128], answer[600], explained[600];
    s_path (csv, sizeof csv, "seed.csv");
    size_t rows = s_rows_as_text (x, csv, body, sizeof body);
    float *want = s_predict (model, x, &(size_t){0}), cli[64], http[64];
    ck_assert_uint_le (rows, 64);
    const char *infer[] = {"infer", "seed@1", "--input", csv, NULL};
    ck_assert_int_eq (s_maas (redis, frontend, "infer.log", infer), 0);
    s_path (log, sizeof log, "infer.log");
    s_read_infer_lines (log, cli, rows);
    support_proc_t *gateway = s_gateway (redis, frontend, "seed", url, sizeof url);
    s_path (answer, sizeof answer, "predict.json");
    const char *curl[] = {"/usr/bin/curl", "-sf", "-o", answer, "-X",
                          "POST",          "-d",  body, url,    NULL};
    ck_assert_int_eq (s_run (curl, NULL, log), 0);
    s_read_predictions (answer, http, rows);
    support_proc_stop (&gateway);
    for (size_t r = 0; r < rows; r++) {
        ck_assert_msg (fabsf (cli[r] - want[r]) <= 1e-5f, "row %zu: CLI %.9g, maas %.9g", r, cli[r],
                       want[r]);
        ck_assert_msg (fabsf (http[r] - want[r]) <= 1e-5f, "row %zu: HTTP %.9g, maas %.9g", r,
                       http[r], want[r]);
    }
    free (want);
    const char *explain[] = {"explain", "seed@1", "--input", csv, "--json", NULL};
    ck_assert_int_eq (s_maas (redis, frontend, "explain.log", explain), 0);
    s_path (explained, sizeof explained, "explain.log");
    ck_assert (support_file_has (explained, "\"attributions\""));
    const char *back[] = {"model", "import", "seed-back", onnx, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "back.log", back), 0);
    snprintf (line, sizeof line,
              "imported %s as seed-back@1 (onnx opset 13, 10-64-64-1 relu,relu,sigmoid)", onnx);
    s_path (log, sizeof log, "back.log");
    ck_assert_msg (support_file_has (log, line), "no '%s' in %s", line, log);
    maas_model_t *again = s_fetch (redis, "seed-back", 1);
    s_assert_same_params (model, again);
    maas_model_destroy (&again);
    maas_model_destroy (&model);
    support_proc_stop (&procs[1]);
    support_proc_stop (&procs[0]);
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_cli_flags)
{
    //  A refused file publishes nothing and says why; --format is checked;
    //  --json answers.
    support_redis_t *redis = support_redis_start ();
    char conv[600], out[600], log[600];
    s_path (conv, sizeof conv, "conv.onnx");
    s_path (out, sizeof out, "never.onnx");
    const char *import[] = {"model", "import", "cnn", conv, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "refused.log", import), 1);
    s_path (log, sizeof log, "refused.log");
    ck_assert (support_file_has (log, "node 2 'conv1' (Conv): Conv is not supported"));
    const char *export[] = {"model", "export", "cnn", "--format", "onnx", out, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "export.log", export), 1);
    const char *bad[] = {"model", "export", "cnn", "--format", "tflite", out, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "format.log", bad), 2);
    //  --json, for scripts.
    char k3[600];
    s_path (k3, sizeof k3, "k3.h5");
    const char *json[] = {"model", "import", "k3", k3, "--json", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "json.log", json), 0);
    s_path (log, sizeof log, "json.log");
    ck_assert (support_file_has (log,
                                 "{\"model\":\"k3\",\"version\":1,\"format\":\"keras3 "
                                 "h5\",\"shape\":\"6-8-5-3 tanh,relu,softmax\"}"));
    const char *json_export[] = {"model", "export", "k3", "--format", "onnx", out, "--json", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "json-export.log", json_export), 0);
    s_path (log, sizeof log, "json-export.log");
    ck_assert (support_file_has (log, "{\"model\":\"k3\",\"version\":1,\"format\":\"onnx\"}"));
    //  The signature given at import: labels, an input scale (format 2),
    //  which ONNX export writes and import reads back; a wrong count of
    //  labels publishes nothing.
    const char *sig[] = {"model", "import",        "k3s", k3,  "--labels",
                         "a,b,c", "--input-scale", "0.5", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "sig.log", sig), 0);
    const char *show[] = {"model", "show", "k3s", "--json", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "show.log", show), 0);
    s_path (log, sizeof log, "show.log");
    ck_assert (support_file_has (log, "\"format\":2,"));
    ck_assert (support_file_has (log,
                                 "\"labels\":[\"a\",\"b\",\"c\"],\"labels_stored\":true,"
                                 "\"input_scale\":0.5,"));
    const char *scaled_export[] = {"model", "export", "k3s", "--format", "onnx", out, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "scaled.log", scaled_export), 0);
    const char *scaled_back[] = {"model", "import", "k3s-back", out, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "scaled-back.log", scaled_back), 0);
    const char *show_back[] = {"model", "show", "k3s-back", "--json", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "show-back.log", show_back), 0);
    s_path (log, sizeof log, "show-back.log");
    ck_assert (support_file_has (log, "\"input_scale\":0.5,"));
    const char *few[] = {"model", "import", "k3f", k3, "--labels", "a,b", NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "few.log", few), 1);
    s_path (log, sizeof log, "few.log");
    ck_assert (support_file_has (log, "one label per class is needed (2 labels for 3 classes"));
    support_redis_stop (&redis);
}
END_TEST

//  A hostile Keras file (one that made libhdf5 allocate 4 GiB, kept from
//  fuzzing) read through the CLI: the reader runs in a child bounded in
//  memory and CPU (client/cmd_import.c), the command fails naming the
//  file, and nothing is published.
START_TEST (test_cli_hostile_file)
{
    support_redis_t *redis = support_redis_start ();
    char *hostile = support_src_path ("tests/fuzz/hangs/import-keras-h5dread-4gib.keras"), log[600];
    const char *import[] = {"model", "import", "hostile", hostile, NULL};
    ck_assert_int_eq (s_maas (redis, NULL, "hostile.log", import), 1);
    s_path (log, sizeof log, "hostile.log");
    ck_assert (support_file_has (log, "maas model: import: "));
    ck_assert (support_file_has (log, "import-keras-h5dread-4gib.keras"));
    maas_registry_t *reg = support_registry_new (redis);
    uint8_t *blob = NULL;
    size_t size;
    ck_assert_int_ne (maas_registry_fetch (reg, "hostile", 0, &blob, &size, NULL), 0);
    maas_registry_destroy (&reg);
    free (hostile);
    support_redis_stop (&redis);
}
END_TEST

//  ONNX files made by torch.onnx.export (tests/fixtures/make_torch_fixtures.py):
//  imported, they predict what PyTorch's own forward pass gave, to 1e-5.
START_TEST (test_torch_onnx_export)
{
    char *script = support_src_path ("tests/fixtures/make_torch_fixtures.py"), log[600];
    s_path (log, sizeof log, "torch.log");
    const char *argv[] = {S_PYTHON, script, s_dir, NULL};
    int rc = s_run (argv, NULL, log);
    free (script);
    ck_assert_msg (rc == 0, "make_torch_fixtures.py failed (%d), see %s", rc, log);
    maas_model_t *seed =
        s_import_ok ("torch_seed.onnx", "onnx opset 13", "10-64-64-1 relu,relu,sigmoid", "x");
    maas_model_t *classes =
        s_import_ok ("torch_softmax.onnx", "onnx opset 11", "4-16-3 tanh,softmax", "x");
    maas_model_destroy (&seed);
    maas_model_destroy (&classes);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("import");
    TCase *keras = tcase_create ("keras");
    tcase_add_unchecked_fixture (keras, s_setup, s_teardown);
    tcase_add_test (keras, test_keras2_h5);
    tcase_add_test (keras, test_keras3_h5);
    tcase_add_test (keras, test_keras3_zip);
    suite_add_tcase (suite, keras);
    TCase *onnx = tcase_create ("onnx");
    tcase_add_unchecked_fixture (onnx, s_setup, s_teardown);
    tcase_add_test (onnx, test_onnx);
    tcase_add_test (onnx, test_torch_onnx_export);
    tcase_add_test (onnx, test_onnx_input_scale);
    suite_add_tcase (suite, onnx);
    TCase *errors = tcase_create ("errors");
    tcase_add_unchecked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_refused);
    tcase_add_test (errors, test_refused_limits);
    tcase_add_test (errors, test_damaged);
    suite_add_tcase (suite, errors);
    TCase *exports = tcase_create ("export");
    tcase_add_unchecked_fixture (exports, s_setup, s_teardown);
    tcase_add_test (exports, test_export_round_trip);
    tcase_add_test (exports, test_export_norm);
    tcase_add_test (exports, test_export_target_norm);
    tcase_add_test (exports, test_export_input_scale);
    suite_add_tcase (suite, exports);
    TCase *cli = tcase_create ("cli");
    tcase_add_unchecked_fixture (cli, s_setup, s_teardown);
    tcase_add_test (cli, test_cli_seed);
    tcase_add_test (cli, test_cli_flags);
    tcase_add_test (cli, test_cli_hostile_file);
    suite_add_tcase (suite, cli);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
