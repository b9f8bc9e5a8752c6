/* Producer and consumer loops for the SHM queue stress runs, shared by the
 * Criterion suite (test_shm_queue) and the plain program shm_stress (which
 * ThreadSanitizer can run; Criterion cannot). Message k has a body size
 * drawn from a seeded PRNG and a body derived from k, so the consumer can
 * check order and every byte without any shared state. */
#ifndef TCPSHM_TESTS_SHM_STRESS_H
#define TCPSHM_TESTS_SHM_STRESS_H

#include <stdint.h>

#include "tcpshm/shm_queue.h"

typedef struct {
    uint32_t messages;
    uint32_t max_body; /* bodies are 0 .. max_body - 1 bytes */
    uint64_t seed;
} shm_stress_plan;

/* splitmix64: the sizes and contents of the stress messages (and of other
 * SHM queue tests) come from it. */
uint64_t shm_stress_random(uint64_t *state);

/* Pushes messages 0 .. plan->messages - 1, yielding while full. */
void shm_stress_produce(tcpshm_shm_queue *q, const shm_stress_plan *plan);

/* Pops and checks until all messages arrived (returns plan->messages) or
 * one is wrong (returns its index, describes it in why). */
uint32_t shm_stress_consume(tcpshm_shm_queue *q, const shm_stress_plan *plan, char *why, size_t why_size);

#endif
