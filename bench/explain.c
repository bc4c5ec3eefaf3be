/*  bench/explain.c: in-process explanation rows/s of the seed's 10-64-64-1
 *  network (relu, relu, sigmoid; standardised inputs) through
 *  maas_explain_run: integrated gradients at 50 steps, gradient × input and
 *  exact Shapley (2^10 coalitions), each job of 256 rows. In-run baseline:
 *  inference rows/s of the same rows at batch 256 (maas_predictor_run). */
#include "maas.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>

#define S_ROWS    20480    //  rows explained per measurement
#define S_JOB     256      //  rows per maas_explain_run (one job)
#define S_REPEATS 3        //  measurements per case; the best is printed

//  Best rows/s of S_REPEATS passes explaining ROWS rows of X, S_JOB at a time.
static double
s_explain_rate (const maas_mlp_t *mlp, const maas_explain_params_t *params, const float *x,
                size_t rows)
{
    double best = 0;
    maas_err_t err;
    for (int r = 0; r < S_REPEATS; r++) {
        int64_t start = maas_clock_mono_us ();
        for (size_t done = 0; done < rows; done += S_JOB) {
            maas_explain_result_t res;
            if (maas_explain_run (mlp, params, x + done * 10, S_JOB, &res, &err) != 0) {
                fprintf (stderr, "explain: %s\n", err.text);
                abort ();
            }
            maas_explain_result_clear (&res);
        }
        double rate = (double) rows / ((double) (maas_clock_mono_us () - start) / 1e6);
        best = rate > best ? rate : best;
    }
    return best;
}

//  Best rows/s of S_REPEATS inference passes over the same rows, S_JOB at a time.
static double
s_infer_rate (const maas_mlp_t *mlp, const float *x, float *out)
{
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    double best = 0;
    for (int r = 0; predictor && r < S_REPEATS; r++) {
        int64_t start = maas_clock_mono_us ();
        for (size_t done = 0; done < S_ROWS; done += S_JOB)
            if (maas_predictor_run (predictor, x + done * 10, S_JOB, out + done) != 0)
                abort ();
        double rate = S_ROWS / ((double) (maas_clock_mono_us () - start) / 1e6);
        best = rate > best ? rate : best;
    }
    maas_predictor_destroy (&predictor);
    return best;
}

int
main (void)
{
    maas_layer_spec_t layers[] = {{64, MAAS_ACT_RELU}, {64, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (10, layers, 3);
    float *x = malloc ((size_t) S_ROWS * 10 * sizeof *x), *y = malloc (S_ROWS * sizeof *y);
    float mean[10], std[10];
    if (!mlp || !x || !y || maas_synth_generate (0, 10, S_ROWS, x, y) != 0)
        return 1;
    maas_mlp_init (mlp, 1);
    for (int j = 0; j < 10; j++)
        mean[j] = 0.05f * (float) j, std[j] = 1.0f + 0.1f * (float) j;
    maas_mlp_set_norm (mlp, mean, std);
    maas_blas_set_threads (1);    //  as workers run
    maas_explain_params_t params = maas_explain_params_defaults ();
    fprintf (stderr, "explain: infer baseline, integrated gradients, gradient x input, shapley\n");
    bench_figure ("explain", "infer_batch_256", "rows_per_s", s_infer_rate (mlp, x, y), "rows/s");
    bench_figure ("explain", "integrated_gradients_50_steps", "rows_per_s",
                  s_explain_rate (mlp, &params, x, S_ROWS), "rows/s");
    params.method = MAAS_EXPLAIN_GRADIENT_X_INPUT;
    bench_figure ("explain", "gradient_x_input", "rows_per_s",
                  s_explain_rate (mlp, &params, x, S_ROWS), "rows/s");
    params.method = MAAS_EXPLAIN_SHAPLEY;
    bench_figure ("explain", "shapley_exact_1024_coalitions", "rows_per_s",
                  s_explain_rate (mlp, &params, x, S_ROWS / 20), "rows/s");
    maas_mlp_destroy (&mlp);
    free (x);
    free (y);
    return 0;
}
