/* One seed variable for every randomized test and program: TCPSHM_SEED
 * (also tcpshm-sim's default --seed). Set, it fixes the seed a run draws
 * from; failures print "TCPSHM_SEED=<n> to replay". Decimal or 0x hex. */
#ifndef TCPSHM_TEST_SEED_H
#define TCPSHM_TEST_SEED_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_SEED_VAR "TCPSHM_SEED"

/* TCPSHM_SEED when set: true with *seed. A malformed value ends the program
 * (exit 2): a typo must not silently run another seed. */
static inline bool test_seed_env(uint64_t *seed)
{
    const char *e = getenv(TEST_SEED_VAR);
    if (!e)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e, &end, 0);
    if (errno || !*e || *end || *e == '-') {
        fprintf(stderr, TEST_SEED_VAR "=%s is not a seed (a number)\n", e);
        exit(2);
    }
    *seed = v;
    return true;
}

/* TCPSHM_SEED when set, else dflt. */
static inline uint64_t test_seed_or(uint64_t dflt)
{
    uint64_t s;
    return test_seed_env(&s) ? s : dflt;
}

#endif
