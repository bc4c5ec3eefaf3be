/*  rng.h: a small seeded generator (xoshiro256**, seeded through splitmix64)
 *  so training is reproducible bit for bit on every platform. The state is
 *  a value the caller owns: no hidden global generator. */
#ifndef MAAS_RNG_H
#define MAAS_RNG_H

#include "export.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t s[4];    //  xoshiro256** state, never all zero
} maas_rng_t;

//  Seed from any 64-bit value (0 included).
MAAS_EXPORT void maas_rng_seed (maas_rng_t *self, uint64_t seed);
//  Next 64 random bits.
MAAS_EXPORT uint64_t maas_rng_next (maas_rng_t *self);
//  Uniform double in [0, 1).
MAAS_EXPORT double maas_rng_uniform (maas_rng_t *self);
//  Uniform integer in [0, bound), bound > 0, without modulo bias.
MAAS_EXPORT uint64_t maas_rng_below (maas_rng_t *self, uint64_t bound);
//  Standard normal (Box-Muller, both values used in turn is not worth the state).
MAAS_EXPORT double maas_rng_normal (maas_rng_t *self);

#ifdef __cplusplus
}
#endif

#endif
