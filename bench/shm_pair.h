/* Two SPSC shared-memory queues, one per direction, opened straight from
 * tcpshm/shm_queue.h (no connection layer): the SHM rows' fallback while
 * the connection-level SHM transport is not in the library. */
#ifndef TCPSHM_BENCH_SHM_PAIR_H
#define TCPSHM_BENCH_SHM_PAIR_H

#include "tcpshm/shm_queue.h"

typedef struct shm_pair {
    tcpshm_shm_queue c2s_prod, c2s_cons, s2c_prod, s2c_cons;
    char c2s[64], s2c[64];
    int opened;
} shm_pair;

/* capacity bytes per direction, messages up to max_msg bytes. 0 or -1. */
int shm_pair_open(shm_pair *p, uint32_t capacity, uint32_t max_msg);
void shm_pair_close(shm_pair *p);

#endif
