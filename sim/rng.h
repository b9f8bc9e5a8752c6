/* The simulator's only source of randomness: splitmix64 streams derived
 * from the run's seed (one per consumer, so that adding a draw in one place
 * does not shift every other decision). Header-only. */
#ifndef TCPSHM_SIM_RNG_H
#define TCPSHM_SIM_RNG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sim_rng {
    uint64_t s;
} sim_rng;

static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A stream for one consumer: the seed mixed with a constant per consumer. */
static inline sim_rng sim_rng_make(uint64_t seed, uint64_t stream)
{
    sim_rng r = {seed ^ (stream * 0xd1b54a32d192ed03ull)};
    (void)sim_rng_next(&r);
    return r;
}

/* Uniform in [0, n), n > 0 (modulo bias is irrelevant here). */
static inline uint32_t sim_rng_below(sim_rng *r, uint32_t n) { return (uint32_t)(sim_rng_next(r) % n); }

/* Uniform in [lo, hi]. */
static inline uint32_t sim_rng_range(sim_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + sim_rng_below(r, hi - lo + 1u);
}

/* True with probability ppm / 1e6. */
static inline bool sim_rng_ppm(sim_rng *r, uint32_t ppm) { return ppm && sim_rng_below(r, 1000000u) < ppm; }

#endif
