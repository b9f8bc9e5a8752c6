/* The SHM queue stress loops (see shm_stress.h). */
#include "shm_stress.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

uint64_t shm_stress_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t body_byte(uint32_t k, uint32_t i) { return (uint8_t)(k * 7u + i * 13u + 1u); }

void shm_stress_produce(tcpshm_shm_queue *q, const shm_stress_plan *plan)
{
    uint64_t rng = plan->seed;
    for (uint32_t k = 0; k < plan->messages; k++) {
        uint16_t body = (uint16_t)(shm_stress_random(&rng) % plan->max_body);
        tcpshm_msg_header *h;
        while (!(h = tcpshm_shm_queue_alloc(q, body)))
            sched_yield(); /* full */
        h->msg_type = (uint16_t)(1 + k % 1000);
        uint8_t *b = (uint8_t *)(h + 1);
        for (uint32_t i = 0; i < body; i++)
            b[i] = body_byte(k, i);
        tcpshm_shm_queue_push(q);
    }
}

uint32_t shm_stress_consume(tcpshm_shm_queue *q, const shm_stress_plan *plan, char *why, size_t why_size)
{
    uint64_t rng = plan->seed;
    for (uint32_t k = 0; k < plan->messages;) {
        bool bad;
        tcpshm_error err = {0};
        tcpshm_msg_header *h = tcpshm_shm_queue_front(q, &bad, &err);
        if (bad) {
            snprintf(why, why_size, "message %u: queue reports %s", k, err.text);
            return k;
        }
        if (!h) {
            sched_yield(); /* empty */
            continue;
        }
        uint32_t body = (uint32_t)(shm_stress_random(&rng) % plan->max_body);
        if (h->size != 8u + body || h->msg_type != 1 + k % 1000) {
            snprintf(why, why_size, "message %u: size %u type %u, expected size %u type %u", k, h->size,
                     h->msg_type, 8u + body, 1 + k % 1000);
            return k;
        }
        const uint8_t *b = (const uint8_t *)(h + 1);
        for (uint32_t i = 0; i < body; i++)
            if (b[i] != body_byte(k, i)) {
                snprintf(why, why_size, "message %u: body byte %u is 0x%02x, expected 0x%02x", k, i, b[i],
                         body_byte(k, i));
                return k;
            }
        tcpshm_shm_queue_pop(q);
        k++;
    }
    return plan->messages;
}
