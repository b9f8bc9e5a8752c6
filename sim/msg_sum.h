/* What identifies a user's message to the checker: FNV-1a of its type
 * (two bytes, low first) and its body. world.c records it at each push of
 * a world (chk_rec.checksum) and compares it at each pop (chk_front_is);
 * check_queued.c compares the messages a dead node's queue file still
 * holds with it. Header only: one definition both use. */
#ifndef TCPSHM_SIM_MSG_SUM_H
#define TCPSHM_SIM_MSG_SUM_H

#include <stdint.h>

/* msg_type and the body_size bytes at body. */
static inline uint32_t sim_msg_sum(uint16_t msg_type, const uint8_t *body, uint32_t body_size)
{
    uint32_t x = 2166136261u;
    const uint8_t t[2] = {(uint8_t)msg_type, (uint8_t)(msg_type >> 8)};
    for (int i = 0; i < 2; i++)
        x = (x ^ t[i]) * 16777619u;
    for (uint32_t i = 0; i < body_size; i++)
        x = (x ^ body[i]) * 16777619u;
    return x;
}

#endif
