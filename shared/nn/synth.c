/*  synth.c: the seeded linear-plus-quadratic binary problem. */
#include "synth.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>

int
maas_synth_generate (uint64_t seed, size_t features, size_t rows, float *x, float *y)
{
    size_t d = features;
    if (d == 0 || d > 4096)
        return -1;
    double *w = malloc (d * sizeof *w), *q = malloc (d * d * sizeof *q);
    if (!w || !q) {
        free (w);
        free (q);
        return -1;
    }
    maas_rng_t rng;
    maas_rng_seed (&rng, seed);
    for (size_t i = 0; i < d; i++)
        w[i] = maas_rng_normal (&rng);
    for (size_t k = 0; k < d * d; k++)
        q[k] = maas_rng_normal (&rng) / sqrt ((double) d);
    double trace = 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t j = 0; j < i; j++)
            q[i * d + j] = q[j * d + i] = 0.5 * (q[i * d + j] + q[j * d + i]);
        trace += q[i * d + i];
    }
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * d;
        for (size_t i = 0; i < d; i++)
            row[i] = (float) maas_rng_normal (&rng);
        double f = -0.5 * trace;
        for (size_t i = 0; i < d; i++) {
            double qx = 0;
            for (size_t j = 0; j < d; j++)
                qx += q[i * d + j] * row[j];
            f += w[i] * row[i] + 0.5 * row[i] * qx;
        }
        y[r] = f > 0 ? 1.0f : 0.0f;
    }
    free (w);
    free (q);
    return 0;
}
