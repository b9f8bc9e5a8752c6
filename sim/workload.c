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

#define LCG_A 6364136223846793005ull
#define LCG_C 1442695040888963407ull

/* The filler of (stream, seq): byte i (from 20) is the top byte of the
 * i-19th step of the LCG x = A x + C. Four steps at once are x = A4 x + C4,
 * so four interleaved chains (bytes i, i+1, i+2, i+3) give the same bytes
 * without waiting on one multiply per byte. */
typedef struct filler {
    uint64_t x[4];
} filler;

static filler filler_of(uint32_t stream, uint32_t seq)
{
    filler f;
    uint64_t x = (uint64_t)stream << 32 ^ seq ^ 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 4; k++)
        f.x[k] = x = x * LCG_A + LCG_C;
    return f;
}

/* The next n bytes of the filler into out (n a multiple of 4 but at the end). */
static void filler_next(filler *f, uint8_t *out, uint32_t n)
{
    static const uint64_t A4 = LCG_A * LCG_A * LCG_A * LCG_A;
    static const uint64_t C4 = LCG_C * (LCG_A * LCG_A * LCG_A + LCG_A * LCG_A + LCG_A + 1u);
    /* the lanes in locals: out may alias f, so stores through it would
     * make the compiler reload them at every byte */
    uint64_t x0 = f->x[0], x1 = f->x[1], x2 = f->x[2], x3 = f->x[3];
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w = (uint32_t)(x0 >> 56) | (uint32_t)(x1 >> 56) << 8 | (uint32_t)(x2 >> 56) << 16 |
                     (uint32_t)(x3 >> 56) << 24;
        put32(out + i, w);
        x0 = x0 * A4 + C4, x1 = x1 * A4 + C4, x2 = x2 * A4 + C4, x3 = x3 * A4 + C4;
    }
    const uint64_t rest[3] = {x0, x1, x2};
    for (uint32_t k = 0; i < n; i++, k++)
        out[i] = (uint8_t)(rest[k] >> 56);
    f->x[0] = x0, f->x[1] = x1, f->x[2] = x2, f->x[3] = x3;
}

void wl_fill(uint8_t *b, wl_msg *m)
{
    put32(b, m->stream);
    put32(b + 4, m->seq);
    put32(b + 8, m->kind);
    put32(b + 12, m->echo_of);
    filler f = filler_of(m->stream, m->seq);
    if (m->size > 20)
        filler_next(&f, b + 20, m->size - 20);
    m->checksum = checksum(b, m->size);
    put32(b + 16, m->checksum);
}

void wl_fields(const uint8_t *b, uint32_t size, wl_msg *m)
{
    memset(m, 0, sizeof *m);
    if (size < WL_MIN_BODY)
        return;
    m->stream = get32(b);
    m->seq = get32(b + 4);
    m->kind = get32(b + 8);
    m->echo_of = get32(b + 12);
    m->checksum = get32(b + 16);
    m->size = size;
}

int wl_parse(const uint8_t *b, uint32_t size, wl_msg *m)
{
    wl_fields(b, size, m);
    if (size < WL_MIN_BODY)
        return -1;
    return checksum(b, size) == m->checksum ? 0 : -1;
}
