/*  check_accuracy.c: with fixed seeds, the networks of issue 2 reach the
 *  accuracies PyTorch and scikit-learn reach on the same data: the shipped
 *  80/20 splits of breast_cancer and digits, and the synthetic problem; and
 *  an 8-64-64-1 regression network's test RMSE is within 5 % of PyTorch's,
 *  trained here by tests/fixtures/regress_torch.py on the problem it writes. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static maas_csv_t *
s_load (const char *relative)
{
    maas_err_t error;
    char *path = support_src_path (relative);
    maas_csv_t *csv = maas_csv_load (path, "label", &error);
    ck_assert_msg (csv != NULL, "%s", error.text);
    free (path);
    return csv;
}

//  Train MLP on TRAIN with CONFIG, return the accuracy on TEST.
static double
s_fit_and_test (maas_mlp_t *mlp, const maas_train_config_t *config, const float *x, const float *y,
                size_t rows, const float *test_x, const float *test_y, size_t test_rows)
{
    maas_err_t error;
    maas_train_t *train = maas_train_new (mlp, config, &error);
    ck_assert_msg (train != NULL, "%s", error.text);
    ck_assert_int_eq (maas_train_fit (train, x, y, rows, NULL), 0);
    maas_train_destroy (&train);
    //  Score through the inference path, as a worker would.
    size_t outputs = maas_mlp_outputs (mlp);
    float *out = malloc (test_rows * outputs * sizeof *out);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, test_x, test_rows, out), 0);
    double accuracy = maas_metric_accuracy (out, test_y, test_rows, outputs);
    maas_predictor_destroy (&predictor);
    free (out);
    return accuracy;
}

static double
s_csv_task (const char *name, const maas_layer_spec_t *layers, size_t n_layers,
            const maas_train_config_t *config, const float *scale)
{
    char train_path[64], test_path[64];
    snprintf (train_path, sizeof train_path, "data/%s_train.csv", name);
    snprintf (test_path, sizeof test_path, "data/%s_test.csv", name);
    maas_csv_t *train = s_load (train_path), *test = s_load (test_path);
    maas_mlp_t *mlp = maas_mlp_new (maas_csv_cols (train), layers, n_layers);
    maas_mlp_init (mlp, config->seed);
    if (scale) {
        float zero[64] = {0}, std[64];
        for (size_t j = 0; j < 64; j++)
            std[j] = *scale;
        maas_mlp_set_norm (mlp, zero, std);
    }
    double accuracy =
        s_fit_and_test (mlp, config, maas_csv_features (train)->data, maas_csv_labels (train),
                        maas_csv_rows (train), maas_csv_features (test)->data,
                        maas_csv_labels (test), maas_csv_rows (test));
    maas_mlp_destroy (&mlp);
    maas_csv_destroy (&train);
    maas_csv_destroy (&test);
    return accuracy;
}

START_TEST (test_breast_cancer)
{
    maas_layer_spec_t layers[] = {{32, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_train_config_t config = maas_train_defaults ();
    config.epochs = 50;
    config.standardize = true;
    double accuracy = s_csv_task ("breast_cancer", layers, 2, &config, NULL);
    ck_assert_msg (accuracy >= 0.96, "breast_cancer test accuracy %.4f", accuracy);
}
END_TEST

START_TEST (test_digits)
{
    maas_layer_spec_t layers[] = {{128, MAAS_ACT_RELU}, {10, MAAS_ACT_SOFTMAX}};
    maas_train_config_t config = maas_train_defaults ();
    config.loss = MAAS_LOSS_SOFTMAX_CE;
    config.epochs = 30;
    float pixel_range = 16;    //  pixels 0..16 scaled to 0..1, as the peers do
    double accuracy = s_csv_task ("digits", layers, 2, &config, &pixel_range);
    ck_assert_msg (accuracy >= 0.96, "digits test accuracy %.4f", accuracy);
}
END_TEST

START_TEST (test_synthetic)
{
    enum { TRAIN = 100000, TEST = 20000, D = MAAS_SYNTH_FEATURES };
    float *x = malloc ((size_t) (TRAIN + TEST) * D * sizeof *x);
    float *y = malloc ((size_t) (TRAIN + TEST) * sizeof *y);
    ck_assert_int_eq (maas_synth_generate (0, D, TRAIN + TEST, x, y), 0);
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (D, layers, 3);
    maas_train_config_t config = maas_train_defaults ();    //  Adam 1e-3, batch 32, 10 epochs
    config.seed = 1;
    maas_mlp_init (mlp, config.seed);
    double accuracy =
        s_fit_and_test (mlp, &config, x, y, TRAIN, x + (size_t) TRAIN * D, y + TRAIN, TEST);
    ck_assert_msg (accuracy >= 0.98, "synthetic test accuracy %.4f", accuracy);
    maas_mlp_destroy (&mlp);
    free (x);
    free (y);
}
END_TEST

//  Train maas on DIR's regress_train.csv as a train job would (inputs and
//  target standardised, Adam lr 1e-3, batch 32, 30 epochs, all rows: no
//  validation split, as PyTorch trains) with SEED; the RMSE on regress_test.csv.
static double
s_regression_rmse (const char *dir, uint64_t seed)
{
    char path[600];
    maas_err_t error;
    snprintf (path, sizeof path, "%s/regress_train.csv", dir);
    maas_csv_t *train = maas_csv_load (path, "label", &error);
    ck_assert_msg (train, "%s", error.text);
    snprintf (path, sizeof path, "%s/regress_test.csv", dir);
    maas_csv_t *test = maas_csv_load (path, "label", &error);
    ck_assert_msg (test, "%s", error.text);
    maas_training_t spec;
    maas_training_init (&spec);    //  a train job's defaults
    spec.train.loss = MAAS_LOSS_MSE;
    spec.train.epochs = 30;
    spec.train.val_fraction = 0;
    spec.train.seed = seed;
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_LINEAR}};
    maas_mlp_t *mlp = maas_mlp_new (maas_csv_cols (train), layers, 3);
    maas_mlp_init (mlp, seed);
    maas_train_t *trainer = maas_train_new (mlp, &spec.train, &error);
    ck_assert_msg (trainer, "%s", error.text);
    ck_assert_int_eq (maas_train_fit (trainer, maas_csv_features (train)->data,
                                      maas_csv_labels (train), maas_csv_rows (train), NULL),
                      0);
    maas_train_destroy (&trainer);
    size_t rows = maas_csv_rows (test);
    float *out = malloc (rows * sizeof *out);
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, maas_csv_features (test)->data, rows, out), 0);
    double sum = 0;
    for (size_t i = 0; i < rows; i++) {
        double d = (double) out[i] - maas_csv_labels (test)[i];
        sum += d * d;
    }
    maas_predictor_destroy (&predictor);
    maas_mlp_destroy (&mlp);
    maas_csv_destroy (&train);
    maas_csv_destroy (&test);
    free (out);
    return sqrt (sum / (double) rows);
}

//  PyTorch's mean test RMSE over the seeds in DIR/torch.txt ("SEED RMSE" lines).
static double
s_torch_rmse (const char *dir, size_t expected)
{
    char path[600];
    snprintf (path, sizeof path, "%s/torch.txt", dir);
    FILE *file = fopen (path, "r");
    ck_assert_msg (file, "no %s", path);
    double sum = 0, rmse;
    size_t n = 0;
    int seed;
    while (fscanf (file, "%d %lf", &seed, &rmse) == 2)
        sum += rmse, n++;
    fclose (file);
    ck_assert_uint_eq (n, expected);
    return sum / (double) n;
}

START_TEST (test_regression_matches_torch)
{
    char *dir = support_tempdir_new ("regress");
    char *script = support_src_path ("tests/fixtures/regress_torch.py"), log[600];
    snprintf (log, sizeof log, "%s/torch.log", dir);
    const char *argv[] = {"/usr/bin/python3", script, dir, "0", "1", "2", NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, log);
    int rc = support_proc_wait (proc, 100000);
    support_proc_stop (&proc);
    free (script);
    ck_assert_msg (rc == 0, "regress_torch.py failed (%d): is python3-torch installed? see %s", rc,
                   log);
    double torch = s_torch_rmse (dir, 3), maas = 0;
    for (uint64_t seed = 0; seed < 3; seed++)
        maas += s_regression_rmse (dir, seed) / 3;
    printf ("regression 8-64-64-1: test RMSE maas %.4f, PyTorch %.4f (ratio %.3f)\n", maas, torch,
            maas / torch);
    ck_assert_msg (maas <= 1.05 * torch, "maas test RMSE %.4f, PyTorch %.4f: over 5 %% more", maas,
                   torch);
    support_tempdir_remove (&dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("accuracy");
    TCase *shipped = tcase_create ("shipped");
    tcase_add_test (shipped, test_breast_cancer);
    tcase_add_test (shipped, test_digits);
    suite_add_tcase (suite, shipped);
    TCase *synthetic = tcase_create ("synthetic");
    tcase_add_test (synthetic, test_synthetic);
    suite_add_tcase (suite, synthetic);
    TCase *regression = tcase_create ("regression");
    tcase_set_timeout (regression, 120);    //  PyTorch trains 3 seeds: about 15 s on 2 cores
    tcase_add_test (regression, test_regression_matches_torch);
    suite_add_tcase (suite, regression);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
