/*  synth.h: the synthetic binary problem of the benchmarks and accuracy
 *  tests, generated rather than shipped: x ~ N(0,1)^d and
 *  y = [w·x + ½ xᵀQx − ½ tr Q > 0], w ~ N(0,1)^d, Q = sym(N(0,1)^{d×d})/√d. */
#ifndef MAAS_SYNTH_H
#define MAAS_SYNTH_H

#include "export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Features of the benchmark problem.
#define MAAS_SYNTH_FEATURES 10

//  Draw w and Q, then ROWS rows, from a generator seeded with SEED; write
//  rows × FEATURES floats to X and rows 0/1 labels to Y. Deterministic: the
//  same seed and features give the same problem, and a longer call extends
//  a shorter one (generate train + test rows at once, then split). Labels
//  are computed in double. Returns 0, or -1 if FEATURES is 0 or over 4096,
//  or out of memory.
MAAS_EXPORT int maas_synth_generate (uint64_t seed, size_t features, size_t rows, float *x,
                                     float *y);

#ifdef __cplusplus
}
#endif

#endif
