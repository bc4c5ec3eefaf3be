/*  rng.c: xoshiro256** (Blackman & Vigna), seeded with splitmix64. */
#include "rng.h"

#include <math.h>

static uint64_t
s_splitmix64 (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
maas_rng_seed (maas_rng_t *self, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        self->s[i] = s_splitmix64 (&seed);
}

uint64_t
maas_rng_next (maas_rng_t *self)
{
    uint64_t *s = self->s;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

double
maas_rng_uniform (maas_rng_t *self)
{
    return (double) (maas_rng_next (self) >> 11) * 0x1.0p-53;
}

uint64_t
maas_rng_below (maas_rng_t *self, uint64_t bound)
{
    //  Reject the top sliver of the range so every residue is equally likely.
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t draw;
    do
        draw = maas_rng_next (self);
    while (draw >= limit);
    return draw % bound;
}

double
maas_rng_normal (maas_rng_t *self)
{
    double u1 = 1.0 - maas_rng_uniform (self);    //  (0, 1]: log is finite
    double u2 = maas_rng_uniform (self);
    return sqrt (-2.0 * log (u1)) * cos (2.0 * M_PI * u2);
}
