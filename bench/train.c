/*  bench/train.c: training throughput (samples/s) and test accuracy of the
 *  issue-2 networks: the seed's 10-64-64-1 on 100,000 synthetic rows, digits
 *  64-128-10 and breast_cancer 30-32-1, Adam lr 1e-3, batch 32. In-run
 *  baseline: the same sgemm calls a training step makes, timed alone. */
#include "maas.h"
#include "proc.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef MAAS_TOP_SRCDIR
#define MAAS_TOP_SRCDIR "."
#endif

typedef struct {
    const char *name;                //  case name
    size_t inputs;                   //  features
    maas_layer_spec_t layers[3];     //  the network
    size_t n_layers;                 //  layers used
    maas_train_config_t config;      //  loss, epochs, seed, standardisation
    const float *x, *y;              //  training rows
    size_t rows;                     //  training rows
    const float *test_x, *test_y;    //  test rows
    size_t test_rows;                //  test rows
    const float *scale;              //  fixed input scale (digits: 16) or NULL
} s_task_t;

//  Time the sgemm calls of one training step (forward: one per layer;
//  backward: weight gradient per layer, input gradient for all but the
//  first) over as many batches as training makes: the bound for the loop.
static double
s_sgemm_only (const s_task_t *task)
{
    size_t batch = task->config.batch_size, width = task->inputs;
    for (size_t l = 0; l < task->n_layers; l++)
        width = task->layers[l].units > width ? task->layers[l].units : width;
    maas_tensor_t *a = maas_tensor_new (batch, width), *b = maas_tensor_new (width, width);
    maas_tensor_t *c = maas_tensor_new (width, width);
    size_t batches = (task->rows + batch - 1) / batch * task->config.epochs;
    int64_t start = maas_clock_mono_us ();
    for (size_t step = 0; step < batches; step++) {
        size_t fan_in = task->inputs;
        for (size_t l = 0; l < task->n_layers; l++) {
            int m = (int) batch, k = (int) fan_in, n = (int) task->layers[l].units;
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a->data, k, b->data,
                         n, 0, c->data, n);
            cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1, a->data, k, b->data,
                         n, 0, c->data, n);
            if (l > 0)
                cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1, a->data, n,
                             b->data, n, 0, c->data, k);
            fan_in = task->layers[l].units;
        }
    }
    double seconds = (double) (maas_clock_mono_us () - start) / 1e6;
    maas_tensor_destroy (&a);
    maas_tensor_destroy (&b);
    maas_tensor_destroy (&c);
    return (double) task->rows * (double) task->config.epochs / seconds;
}

static void
s_run (const s_task_t *task)
{
    fprintf (stderr, "train: %s, %zu rows, %zu epochs\n", task->name, task->rows,
             task->config.epochs);
    maas_mlp_t *mlp = maas_mlp_new (task->inputs, task->layers, task->n_layers);
    maas_mlp_init (mlp, task->config.seed);
    if (task->scale) {
        float zero[64] = {0}, std[64];
        for (size_t j = 0; j < 64; j++)
            std[j] = *task->scale;
        maas_mlp_set_norm (mlp, zero, std);
    }
    maas_err_t error;
    maas_train_t *train = maas_train_new (mlp, &task->config, &error);
    if (!train) {
        fprintf (stderr, "train: %s\n", error.text);
        exit (1);
    }
    int64_t start = maas_clock_mono_us ();
    if (maas_train_fit (train, task->x, task->y, task->rows, NULL) != 0) {
        fprintf (stderr, "train: %s\n", maas_train_error (train));
        exit (1);
    }
    double seconds = (double) (maas_clock_mono_us () - start) / 1e6;
    double accuracy;
    maas_train_evaluate (train, task->test_x, task->test_y, task->test_rows, &accuracy);
    char name[64];
    bench_figure ("train", task->name, "samples_per_s",
                  (double) task->rows * (double) task->config.epochs / seconds, "samples/s");
    bench_figure ("train", task->name, "test_accuracy", accuracy, "fraction");
    snprintf (name, sizeof name, "%s_sgemm_only", task->name);
    bench_figure ("train", name, "samples_per_s", s_sgemm_only (task), "samples/s");
    maas_train_destroy (&train);
    maas_mlp_destroy (&mlp);
}

static maas_csv_t *
s_load (const char *set, const char *part)
{
    char path[512];
    maas_err_t err;
    snprintf (path, sizeof path, "%s/data/%s_%s.csv", MAAS_TOP_SRCDIR, set, part);
    maas_csv_t *csv = maas_csv_load (path, "label", &err);
    if (!csv) {
        fprintf (stderr, "train: %s\n", err.text);
        exit (1);
    }
    return csv;
}

static void
s_csv_task (s_task_t *task, const char *set)
{
    maas_csv_t *train = s_load (set, "train"), *test = s_load (set, "test");
    task->inputs = maas_csv_cols (train);
    task->x = maas_csv_features (train)->data;
    task->y = maas_csv_labels (train);
    task->rows = maas_csv_rows (train);
    task->test_x = maas_csv_features (test)->data;
    task->test_y = maas_csv_labels (test);
    task->test_rows = maas_csv_rows (test);
    s_run (task);
    maas_csv_destroy (&train);
    maas_csv_destroy (&test);
}

int
main (void)
{
    maas_blas_set_threads (1);    //  batch 32: threads only add synchronisation
    enum { TRAIN = 100000, TEST = 20000, D = MAAS_SYNTH_FEATURES };
    float *x = malloc ((size_t) (TRAIN + TEST) * D * sizeof *x);
    float *y = malloc ((size_t) (TRAIN + TEST) * sizeof *y);
    if (!x || !y || maas_synth_generate (0, D, TRAIN + TEST, x, y) != 0)
        return 1;
    s_task_t synthetic = {"synthetic_10_64_64_1",
                          D,
                          {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}},
                          3,
                          maas_train_defaults (),
                          x,
                          y,
                          TRAIN,
                          x + (size_t) TRAIN * D,
                          y + TRAIN,
                          TEST,
                          NULL};
    synthetic.config.seed = 1;
    s_run (&synthetic);
    free (x);
    free (y);

    float pixel_range = 16;
    s_task_t digits = {.name = "digits_64_128_10",
                       .layers = {{128, MAAS_ACT_RELU}, {10, MAAS_ACT_SOFTMAX}},
                       .n_layers = 2,
                       .config = maas_train_defaults (),
                       .scale = &pixel_range};
    digits.config.loss = MAAS_LOSS_SOFTMAX_CE;
    digits.config.epochs = 30;
    s_csv_task (&digits, "digits");

    s_task_t cancer = {.name = "breast_cancer_30_32_1",
                       .layers = {{32, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}},
                       .n_layers = 2,
                       .config = maas_train_defaults ()};
    cancer.config.epochs = 50;
    cancer.config.standardize = true;
    s_csv_task (&cancer, "breast_cancer");
    return 0;
}
