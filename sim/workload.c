#include <string.h>

#include "workload.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t checksum(const uint8_t *b, uint32_t size)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < 16; i++)
        h = (h ^ b[i]) * 16777619u;
    for (uint32_t i = 20; i < size; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

void wl_fill(uint8_t *b, wl_msg *m)
{
    put32(b, m->stream);
    put32(b + 4, m->seq);
    put32(b + 8, m->kind);
    put32(b + 12, m->echo_of);
    uint64_t x = (uint64_t)m->stream << 32 ^ m->seq ^ 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 20; i < m->size; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        b[i] = (uint8_t)(x >> 56);
    }
    m->checksum = checksum(b, m->size);
    put32(b + 16, m->checksum);
}

int wl_parse(const uint8_t *b, uint32_t size, wl_msg *m)
{
    memset(m, 0, sizeof *m);
    if (size < WL_MIN_BODY)
        return -1;
    m->stream = get32(b);
    m->seq = get32(b + 4);
    m->kind = get32(b + 8);
    m->echo_of = get32(b + 12);
    m->checksum = get32(b + 16);
    m->size = size;
    return checksum(b, size) == m->checksum ? 0 : -1;
}
