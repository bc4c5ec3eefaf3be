/*  bench/infer.c: in-process inference rows/s of the seed's 10-64-64-1
 *  network (relu, relu, sigmoid; standardised inputs) over 1,000,000 rows
 *  at batch 1, 32, 1024 and 65536, through maas_predictor_run. In-run
 *  baseline: cblas_sgemm alone for the same three products at 65536 rows. */
#include "maas.h"
#include "proc.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#define S_ROWS    1000000    //  rows scored per measurement
#define S_REPEATS 3          //  measurements per case; the best is printed

//  Best rows/s of S_REPEATS passes over all rows, BATCH rows per call.
static double
s_predictor_rate (maas_predictor_t *predictor, const float *x, float *out, size_t batch)
{
    double best = 0;
    for (int r = 0; r < S_REPEATS; r++) {
        int64_t start = maas_clock_mono_us ();
        for (size_t done = 0; done < S_ROWS; done += batch) {
            size_t rows = S_ROWS - done < batch ? S_ROWS - done : batch;
            if (maas_predictor_run (predictor, x + done * 10, rows, out + done) != 0)
                abort ();
        }
        double rate = S_ROWS / ((double) (maas_clock_mono_us () - start) / 1e6);
        best = rate > best ? rate : best;
    }
    return best;
}

//  The three products alone (no bias, activation or standardisation), on
//  BATCH-row slices of the same rows, into preallocated buffers.
static double
s_sgemm_rate (const maas_mlp_t *mlp, const float *x, float *h1, float *h2, float *out, size_t batch)
{
    const float *w1 = maas_mlp_weights_const (mlp, 0)->data;
    const float *w2 = maas_mlp_weights_const (mlp, 1)->data;
    const float *w3 = maas_mlp_weights_const (mlp, 2)->data;
    double best = 0;
    for (int r = 0; r < S_REPEATS; r++) {
        int64_t start = maas_clock_mono_us ();
        for (size_t done = 0; done < S_ROWS; done += batch) {
            int m = (int) (S_ROWS - done < batch ? S_ROWS - done : batch);
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, 64, 10, 1, x + done * 10, 10,
                         w1, 64, 0, h1, 64);
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, 64, 64, 1, h1, 64, w2, 64, 0,
                         h2, 64);
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, 1, 64, 1, h2, 64, w3, 1, 0,
                         out + done, 1);
        }
        double rate = S_ROWS / ((double) (maas_clock_mono_us () - start) / 1e6);
        best = rate > best ? rate : best;
    }
    return best;
}

int
main (void)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (10, layers, 3);
    maas_mlp_init (mlp, 1);
    float mean[10] = {0}, std[10];
    for (int j = 0; j < 10; j++)
        std[j] = 1.0f + 0.1f * (float) j;
    maas_mlp_set_norm (mlp, mean, std);
    float *x = malloc ((size_t) S_ROWS * 10 * sizeof *x), *y = malloc (S_ROWS * sizeof *y);
    float *out = malloc (S_ROWS * sizeof *out);
    float *h1 = malloc ((size_t) 65536 * 64 * sizeof *h1),
          *h2 = malloc ((size_t) 65536 * 64 * sizeof *h2);
    if (!x || !y || !out || !h1 || !h2 || maas_synth_generate (0, 10, S_ROWS, x, y) != 0)
        return 1;
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    static const size_t batches[] = {1, 32, 1024, 65536};
    char name[64];
    for (int threads = 1; threads <= 2; threads++) {
        maas_blas_set_threads (threads);
        for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
            if (threads == 2 && batches[i] < 1024)
                continue;    //  small batches: one thread, as workers run
            fprintf (stderr, "infer: batch %zu, %d BLAS thread(s)\n", batches[i], threads);
            snprintf (name, sizeof name, "batch_%zu_threads_%d", batches[i], threads);
            bench_figure ("infer", name, "rows_per_s",
                          s_predictor_rate (predictor, x, out, batches[i]), "rows/s");
        }
        snprintf (name, sizeof name, "sgemm_only_batch_65536_threads_%d", threads);
        bench_figure ("infer", name, "rows_per_s", s_sgemm_rate (mlp, x, h1, h2, out, 65536),
                      "rows/s");
    }
    maas_predictor_destroy (&predictor);
    maas_mlp_destroy (&mlp);
    free (x);
    free (y);
    free (out);
    free (h1);
    free (h2);
    return 0;
}
