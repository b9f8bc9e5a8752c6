/* Header encoding and the incremental frame parser (core/src/frame.c). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpshm/error.h"
#include "tcpshm/frame.h"
#include "test_seed.h"

/* ---- helpers ------------------------------------------------------------ */

/* splitmix64: small, seedable, good enough to generate test streams. */
typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform enough in [lo, hi] for tests. */
static uint32_t rng_range(rng *r, uint32_t lo, uint32_t hi)
{
    uint64_t span = (uint64_t)hi - lo + 1u;
    return lo + (uint32_t)(rng_next(r) % span);
}

/* Receive buffer shared by the tests: big enough for cap = 2 * 65536, plus
 * slack so misaligned views stay inside it. */
static _Alignas(8) uint8_t g_buf[2u * 65536u + 64u];

/* Encodes one message (header + `fill`-pattern body + 0xEE padding) at dst;
 * returns its padded size. */
static uint32_t put_msg(uint8_t *dst, uint16_t size, uint16_t type, uint32_t ack, bool le)
{
    tcpshm_msg_header h = {.size = size, .msg_type = type, .ack_seq = ack};
    tcpshm_header_encode(&h, dst, le);
    uint32_t padded = tcpshm_padded_size(size);
    for (uint32_t i = TCPSHM_HEADER_SIZE; i < padded; i++)
        dst[i] = i < size ? (uint8_t)(i * 7u + type) : 0xEEu;
    return padded;
}

static void init_ok(tcpshm_frame_parser *p, uint32_t cap, uint32_t max, bool le)
{
    tcpshm_error err;
    memset(&err, 0, sizeof err);
    int rc = tcpshm_frame_parser_init(p, g_buf, cap, max, le, &err);
    cr_assert_eq(rc, 0, "init(cap %u, max %u) failed: %d %s", cap, max, rc, err.text);
}

/* Appends len bytes through space()/received(); the test expects them to fit. */
static void feed_bytes(tcpshm_frame_parser *p, const uint8_t *data, uint32_t len)
{
    uint32_t room = 0;
    uint8_t *dst = tcpshm_frame_parser_space(p, &room);
    cr_assert_geq(room, len, "space() offers %u bytes, test needs %u", room, len);
    memcpy(dst, data, len);
    tcpshm_frame_parser_received(p, len);
}

static void assert_error(const tcpshm_error *err, int rc, int code, const char *prefix)
{
    cr_assert_eq(rc, code, "expected %d (%s), got %d (%s)", code, tcpshm_code_name(code), rc,
                 err->text);
    cr_assert_eq(err->code, code, "err->code %d, expected %d", err->code, code);
    cr_assert_neq(err->text[0], '\0', "error text is empty");
    cr_assert(strnlen(err->text, sizeof err->text) < sizeof err->text, "text not terminated");
    if (prefix)
        cr_assert_eq(strncmp(err->text, prefix, strlen(prefix)), 0,
                     "error text \"%s\" does not start with \"%s\"", err->text, prefix);
}

static tcpshm_error fresh_err(void)
{
    tcpshm_error e;
    memset(&e, 0, sizeof e);
    e.code = 12345;
    return e;
}

/* ---- header encoding ---------------------------------------------------- */

Test(header, little_endian_layout)
{
    tcpshm_msg_header h = {.size = 0x1234, .msg_type = 0x5678, .ack_seq = 0x01020304};
    uint8_t b[8];
    memset(b, 0xAA, sizeof b);
    tcpshm_header_encode(&h, b, true);
    const uint8_t want[8] = {0x34, 0x12, 0x78, 0x56, 0x04, 0x03, 0x02, 0x01};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(b[i], want[i], "LE byte %d: 0x%02x, want 0x%02x", i, b[i], want[i]);
}

Test(header, big_endian_layout)
{
    tcpshm_msg_header h = {.size = 0x1234, .msg_type = 0x5678, .ack_seq = 0x01020304};
    uint8_t b[8];
    memset(b, 0xAA, sizeof b);
    tcpshm_header_encode(&h, b, false);
    const uint8_t want[8] = {0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x03, 0x04};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(b[i], want[i], "BE byte %d: 0x%02x, want 0x%02x", i, b[i], want[i]);
}

Test(header, decode_known_bytes)
{
    const uint8_t le[8] = {0x34, 0x12, 0x78, 0x56, 0x04, 0x03, 0x02, 0x01};
    const uint8_t be[8] = {0x12, 0x34, 0x56, 0x78, 0x01, 0x02, 0x03, 0x04};
    tcpshm_msg_header h;
    tcpshm_header_decode(le, true, &h);
    cr_assert_eq(h.size, 0x1234);
    cr_assert_eq(h.msg_type, 0x5678);
    cr_assert_eq(h.ack_seq, 0x01020304u);
    tcpshm_header_decode(be, false, &h);
    cr_assert_eq(h.size, 0x1234);
    cr_assert_eq(h.msg_type, 0x5678);
    cr_assert_eq(h.ack_seq, 0x01020304u);
    /* The same bytes read in the other order. */
    tcpshm_header_decode(le, false, &h);
    cr_assert_eq(h.size, 0x3412);
    cr_assert_eq(h.msg_type, 0x7856);
    cr_assert_eq(h.ack_seq, 0x04030201u);
}

Test(header, high_bits_and_extremes)
{
    /* Values whose high bytes are >= 0x80 catch sign-extension mistakes. */
    tcpshm_msg_header h = {.size = 0xFFFF, .msg_type = 0x80FE, .ack_seq = 0xFF80817Fu};
    uint8_t b[8];
    tcpshm_header_encode(&h, b, true);
    const uint8_t want_le[8] = {0xFF, 0xFF, 0xFE, 0x80, 0x7F, 0x81, 0x80, 0xFF};
    cr_assert_arr_eq(b, want_le, 8);
    tcpshm_header_encode(&h, b, false);
    const uint8_t want_be[8] = {0xFF, 0xFF, 0x80, 0xFE, 0xFF, 0x80, 0x81, 0x7F};
    cr_assert_arr_eq(b, want_be, 8);
}

Test(header, round_trip_both_orders_unaligned)
{
    const uint64_t seed = 0x5eed0001u;
    rng r = {seed};
    for (int i = 0; i < 20000; i++) {
        bool le = (i & 1) != 0;
        size_t off = (size_t)(i % 8); /* also misaligned buffers: no unaligned casts */
        tcpshm_msg_header in = {.size = (uint16_t)rng_next(&r),
                                .msg_type = (uint16_t)rng_next(&r),
                                .ack_seq = (uint32_t)rng_next(&r)};
        tcpshm_msg_header out = {0, 0, 0};
        uint8_t *b = g_buf + off;
        tcpshm_header_encode(&in, b, le);
        tcpshm_header_decode(b, le, &out);
        cr_assert(in.size == out.size && in.msg_type == out.msg_type && in.ack_seq == out.ack_seq,
                  "seed %llu iter %d le %d: %04x/%04x/%08x came back %04x/%04x/%08x",
                  (unsigned long long)seed, i, le, in.size, in.msg_type, in.ack_seq, out.size,
                  out.msg_type, out.ack_seq);
        /* The explicit layout, computed independently. */
        uint8_t s0 = le ? (uint8_t)in.size : (uint8_t)(in.size >> 8);
        uint8_t a3 = le ? (uint8_t)(in.ack_seq >> 24) : (uint8_t)in.ack_seq;
        cr_assert_eq(b[0], s0, "seed %llu iter %d: size byte 0", (unsigned long long)seed, i);
        cr_assert_eq(b[7], a3, "seed %llu iter %d: ack byte 3", (unsigned long long)seed, i);
    }
}

Test(header, padded_size)
{
    const uint32_t cases[][2] = {{0, 0},        {1, 8},         {7, 8},         {8, 8},
                                 {9, 16},       {15, 16},       {16, 16},       {17, 24},
                                 {52, 56},      {68, 72},       {65528, 65528}, {65529, 65536},
                                 {65535, 65536}, {65536, 65536}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(tcpshm_padded_size(cases[i][0]), cases[i][1], "padded(%u) = %u, want %u",
                     cases[i][0], tcpshm_padded_size(cases[i][0]), cases[i][1]);
}

/* ---- init validation ---------------------------------------------------- */

Test(parser_init, accepts_valid)
{
    tcpshm_frame_parser p;
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_init(&p, g_buf, 64, 64, true, &err), 0); /* cap == max */
    cr_assert_eq(tcpshm_frame_parser_init(&p, g_buf, 16, 8, false, &err), 0);
    cr_assert_eq(tcpshm_frame_parser_init(&p, g_buf, 131072, 65536, true, &err), 0);
    cr_assert_eq(tcpshm_frame_parser_init(&p, g_buf, 1032, 1024, true, &err), 0);
    cr_assert_eq(p.head, 0);
    cr_assert_eq(p.scan, 0);
    cr_assert_eq(p.tail, 0);
    cr_assert_eq(p.failed, 0);
    cr_assert_null(tcpshm_frame_parser_front(&p));
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0);
}

static void expect_init_fail(void *buf, uint32_t cap, uint32_t max, int code, const char *word)
{
    tcpshm_frame_parser p;
    tcpshm_error err = fresh_err();
    int rc = tcpshm_frame_parser_init(&p, buf, cap, max, true, &err);
    assert_error(&err, rc, code, NULL);
    cr_assert_not_null(strstr(err.text, word), "cap %u max %u: text \"%s\" lacks \"%s\"", cap,
                       max, err.text, word);
    /* A NULL err is allowed too. */
    cr_assert_eq(tcpshm_frame_parser_init(&p, buf, cap, max, true, NULL), code);
}

Test(parser_init, rejects_bad_arguments)
{
    expect_init_fail(g_buf + 4, 128, 64, TCPSHM_E_CONFIG, "aligned");
    expect_init_fail(g_buf + 1, 128, 64, TCPSHM_E_CONFIG, "aligned");
    expect_init_fail(g_buf, 68, 64, TCPSHM_E_CONFIG, "capacity");  /* cap not multiple of 8 */
    expect_init_fail(g_buf, 56, 64, TCPSHM_E_CONFIG, "capacity");  /* cap < max */
    expect_init_fail(g_buf, 0, 8, TCPSHM_E_CONFIG, "capacity");
    expect_init_fail(g_buf, 128, 0, TCPSHM_E_CONFIG, "max_msg_size");
    expect_init_fail(g_buf, 128, 4, TCPSHM_E_CONFIG, "max_msg_size");
    expect_init_fail(g_buf, 128, 60, TCPSHM_E_CONFIG, "max_msg_size"); /* not multiple of 8 */
    expect_init_fail(g_buf, 131072, 65544, TCPSHM_E_CONFIG, "max_msg_size");
    expect_init_fail(NULL, 128, 64, TCPSHM_E_ARG, "NULL");

    tcpshm_error err = fresh_err();
    int rc = tcpshm_frame_parser_init(NULL, g_buf, 128, 64, true, &err);
    assert_error(&err, rc, TCPSHM_E_ARG, NULL);
}

/* ---- random streams through every read pattern ---------------------------- */

typedef struct {
    uint16_t size, type;
    uint32_t ack;
    size_t off; /* where the message starts in the stream */
} exp_msg;

typedef struct {
    uint8_t *bytes;
    size_t len;
    exp_msg *msgs;
    size_t n;
    uint32_t max;
    bool le;
    uint64_t seed;
} stream;

static void make_stream(stream *s, size_t n, uint32_t max, bool le, uint64_t seed)
{
    rng r = {seed};
    uint32_t max_size = max > TCPSHM_MAX_MSG_SIZE ? TCPSHM_MAX_MSG_SIZE : max;
    s->msgs = calloc(n, sizeof *s->msgs);
    s->bytes = malloc(n * (size_t)max);
    cr_assert(s->msgs && s->bytes);
    s->n = n;
    s->max = max;
    s->le = le;
    s->seed = seed;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t size;
        if (rng_next(&r) % 4u == 0) { /* edge sizes often */
            const uint32_t edges[] = {8, 9, 15, 16, 17, max_size, max_size - 1u,
                                      max_size > 15u ? max_size - 7u : 8u};
            size = edges[rng_next(&r) % (sizeof edges / sizeof edges[0])];
            if (size < 8u || size > max_size)
                size = 8u;
        } else {
            size = rng_range(&r, 8u, max_size);
        }
        exp_msg *m = &s->msgs[i];
        m->size = (uint16_t)size;
        m->type = (uint16_t)rng_next(&r);
        m->ack = (uint32_t)rng_next(&r);
        m->off = off;
        tcpshm_msg_header h = {.size = m->size, .msg_type = m->type, .ack_seq = m->ack};
        tcpshm_header_encode(&h, s->bytes + off, le);
        uint32_t padded = tcpshm_padded_size(size);
        for (uint32_t k = TCPSHM_HEADER_SIZE; k < padded; k++) /* body and padding: random */
            s->bytes[off + k] = (uint8_t)rng_next(&r);
        off += padded;
    }
    s->len = off;
}

static void free_stream(stream *s)
{
    free(s->bytes);
    free(s->msgs);
}

enum chunking { CH_ONE, CH_SMALL, CH_RANDOM, CH_ALL, CH_BOUNDARY, CH_UNPADDED, CH_COUNT };
static const char *const chunk_names[] = {"1-byte",  "small random",   "random",
                                          "all at once", "at boundaries", "at unpadded ends"};
enum consumer { POP_NOW, POP_LAZY };

typedef struct {
    size_t data_moves;  /* space() moved unconsumed bytes to offset 0 */
    size_t zero_spaces; /* space() returned 0 and the consumer had to pop */
} feed_stats;

typedef struct {
    const stream *s;
    tcpshm_frame_parser p;
    uint32_t cap;
    const char *what; /* for failure messages */
    size_t scanned, popped;
} run_ctx;

#define CTX_FMT "TCPSHM_SEED=%llu to replay; max %u cap %u %s-endian, %s: "
#define CTX_ARGS(c)                                                                         \
    (unsigned long long)(c)->s->seed, (c)->s->max, (c)->cap, (c)->s->le ? "little" : "big", \
        (c)->what

static void check_invariants(run_ctx *c)
{
    const tcpshm_frame_parser *p = &c->p;
    cr_assert(p->head <= p->scan && p->scan <= p->tail && p->tail <= c->cap,
              CTX_FMT "bad regions head %u scan %u tail %u", CTX_ARGS(c), p->head, p->scan,
              p->tail);
    cr_assert(p->head % 8u == 0 && p->scan % 8u == 0,
              CTX_FMT "misaligned head %u / scan %u", CTX_ARGS(c), p->head, p->scan);
}

static void pop_and_check(run_ctx *c)
{
    tcpshm_msg_header *h = tcpshm_frame_parser_front(&c->p);
    cr_assert_not_null(h, CTX_FMT "front() is NULL with %zu scanned, %zu popped", CTX_ARGS(c),
                       c->scanned, c->popped);
    cr_assert_eq(tcpshm_frame_parser_front(&c->p), h, CTX_FMT "front() not stable", CTX_ARGS(c));
    cr_assert_lt(c->popped, c->s->n, CTX_FMT "more messages than sent", CTX_ARGS(c));
    const exp_msg *m = &c->s->msgs[c->popped];
    cr_assert(h->size == m->size && h->msg_type == m->type && h->ack_seq == m->ack,
              CTX_FMT "message %zu: got %u/%u/%u, want %u/%u/%u", CTX_ARGS(c), c->popped,
              h->size, h->msg_type, h->ack_seq, m->size, m->type, m->ack);
    const uint8_t *body = (const uint8_t *)h + TCPSHM_HEADER_SIZE;
    cr_assert_eq(memcmp(body, c->s->bytes + m->off + TCPSHM_HEADER_SIZE,
                        (size_t)m->size - TCPSHM_HEADER_SIZE),
                 0, CTX_FMT "message %zu (size %u): body differs", CTX_ARGS(c), c->popped,
                 m->size);
    uint32_t head_before = c->p.head;
    tcpshm_frame_parser_pop(&c->p);
    cr_assert_eq(c->p.head, head_before + tcpshm_padded_size(m->size),
                 CTX_FMT "pop advanced head by %u, want padded %u", CTX_ARGS(c),
                 c->p.head - head_before, tcpshm_padded_size(m->size));
    c->popped++;
    check_invariants(c);
}

/* Scans until scan() returns 0; afterwards no whole message may remain
 * unscanned (a parser that stalls would hang a real connection). */
static void drain(run_ctx *c, enum consumer co)
{
    tcpshm_error err = fresh_err();
    tcpshm_msg_header *h = NULL;
    int rc;
    while ((rc = tcpshm_frame_parser_scan(&c->p, &h, &err)) == 1) {
        cr_assert_lt(c->scanned, c->s->n, CTX_FMT "scanned more than sent", CTX_ARGS(c));
        const exp_msg *m = &c->s->msgs[c->scanned];
        cr_assert_not_null(h, CTX_FMT "scan returned 1 without a header", CTX_ARGS(c));
        cr_assert_eq((uint8_t *)h, c->p.buf + c->p.scan - tcpshm_padded_size(m->size),
                     CTX_FMT "scan's header is not the last scanned message", CTX_ARGS(c));
        cr_assert(h->size == m->size && h->msg_type == m->type && h->ack_seq == m->ack,
                  CTX_FMT "scan %zu: got %u/%u/%u, want %u/%u/%u", CTX_ARGS(c), c->scanned,
                  h->size, h->msg_type, h->ack_seq, m->size, m->type, m->ack);
        c->scanned++;
        check_invariants(c);
        if (co == POP_NOW)
            pop_and_check(c);
    }
    cr_assert_eq(rc, 0, CTX_FMT "scan failed on a valid stream: %d %s", CTX_ARGS(c), rc,
                 err.text);
    cr_assert_null(h, CTX_FMT "scan returned 0 but set *out", CTX_ARGS(c));
    uint32_t left = c->p.tail - c->p.scan;
    if (left >= TCPSHM_HEADER_SIZE) {
        tcpshm_msg_header nh;
        tcpshm_header_decode(c->p.buf + c->p.scan, c->s->le, &nh);
        cr_assert_gt(tcpshm_padded_size(nh.size), left,
                     CTX_FMT "a whole message of %u bytes is buffered but not scanned",
                     CTX_ARGS(c), nh.size);
    }
}

static size_t next_read_size(run_ctx *c, enum chunking ch, rng *r, size_t fed, size_t *bidx)
{
    const stream *s = c->s;
    switch (ch) {
    case CH_ONE: return 1;
    case CH_SMALL: return rng_range(r, 1, 17);
    case CH_RANDOM: return rng_range(r, 1, 3u * s->max);
    case CH_ALL: return SIZE_MAX;
    case CH_BOUNDARY:
    case CH_UNPADDED: {
        while (*bidx < s->n &&
               s->msgs[*bidx].off + tcpshm_padded_size(s->msgs[*bidx].size) <= fed)
            (*bidx)++;
        const exp_msg *m = &s->msgs[*bidx];
        size_t end = m->off + tcpshm_padded_size(m->size);
        if (ch == CH_UNPADDED && m->off + m->size > fed)
            end = m->off + m->size; /* stop before the padding arrives */
        return end - fed;
    }
    default: cr_assert_fail("bad chunking"); return 1;
    }
}

static feed_stats run_stream(const stream *s, uint32_t cap, enum chunking ch, enum consumer co)
{
    feed_stats st = {0, 0};
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.cap = cap;
    char what[64];
    (void)snprintf(what, sizeof what, "%s reads, %s pop", chunk_names[ch],
                   co == POP_NOW ? "immediate" : "lazy");
    c.what = what;
    init_ok(&c.p, cap, s->max, s->le);
    rng r = {s->seed ^ 0xA5A5A5A5u ^ (uint64_t)ch};
    size_t fed = 0, bidx = 0;
    while (fed < s->len) {
        uint32_t old_head = c.p.head, old_tail = c.p.tail;
        uint32_t room = 0xDEADBEEFu;
        uint8_t *dst = tcpshm_frame_parser_space(&c.p, &room);
        if (old_head > 0 && old_tail > old_head && c.p.head == 0)
            st.data_moves++;
        cr_assert_eq(dst, c.p.buf + c.p.tail, CTX_FMT "space() is not at tail", CTX_ARGS(&c));
        cr_assert_eq(room, cap - c.p.tail, CTX_FMT "space() len %u, want %u", CTX_ARGS(&c), room,
                     cap - c.p.tail);
        cr_assert_eq(c.p.tail - c.p.head, old_tail - old_head,
                     CTX_FMT "space() lost or invented bytes", CTX_ARGS(&c));
        check_invariants(&c);
        if (room == 0) {
            /* Full of unpopped messages: the consumer must be able to pop. */
            st.zero_spaces++;
            pop_and_check(&c);
            continue;
        }
        size_t want = next_read_size(&c, ch, &r, fed, &bidx);
        if (want > s->len - fed)
            want = s->len - fed;
        if (want > room)
            want = room;
        memcpy(dst, s->bytes + fed, want);
        tcpshm_frame_parser_received(&c.p, (uint32_t)want);
        fed += want;
        drain(&c, co);
    }
    drain(&c, co);
    while (tcpshm_frame_parser_front(&c.p))
        pop_and_check(&c);
    cr_assert_eq(c.scanned, s->n, CTX_FMT "scanned %zu of %zu messages", CTX_ARGS(&c), c.scanned,
                 s->n);
    cr_assert_eq(c.popped, s->n, CTX_FMT "popped %zu of %zu messages", CTX_ARGS(&c), c.popped,
                 s->n);
    tcpshm_error err = fresh_err();
    int rc = tcpshm_frame_parser_finish(&c.p, &err);
    cr_assert_eq(rc, 0, CTX_FMT "finish() = %d (%s) at a clean end", CTX_ARGS(&c), rc, err.text);
    return st;
}

/* TCPSHM_SEED=S adds a stream drawn from S to every pattern (any failure
 * message names the seed to set). */
static uint64_t extra_seed(void) { return test_seed_or(0); }

static void run_all_patterns(size_t n, uint32_t max, uint32_t cap, bool le, uint64_t seed)
{
    stream s;
    make_stream(&s, n, max, le, seed);
    size_t moves_all = 0;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        for (int co = POP_NOW; co <= POP_LAZY; co++) {
            feed_stats st = run_stream(&s, cap, (enum chunking)ch, (enum consumer)co);
            moves_all += st.data_moves;
            if (co == POP_LAZY)
                cr_assert_gt(st.zero_spaces, 0,
                             "TCPSHM_SEED=%llu to replay; max %u cap %u: lazy consumer with %s reads never "
                             "saw space() == 0",
                             (unsigned long long)seed, max, cap, chunk_names[ch]);
            if (ch == CH_RANDOM || ch == CH_ALL || co == POP_LAZY)
                cr_assert_gt(st.data_moves, 0,
                             "TCPSHM_SEED=%llu to replay; max %u cap %u: %s reads, %s pop never moved "
                             "unconsumed bytes to the front",
                             (unsigned long long)seed, max, cap, chunk_names[ch],
                             co == POP_NOW ? "immediate" : "lazy");
        }
    }
    cr_assert_gt(moves_all, 0);
    free_stream(&s);
}

static void run_seeds(size_t n, uint32_t max, uint32_t cap, bool le, uint64_t base)
{
    run_all_patterns(n, max, cap, le, base);
    run_all_patterns(n, max, cap, le, base * 0x9E3779B97F4A7C15ull + 17u);
    uint64_t x = extra_seed();
    if (x)
        run_all_patterns(n, max, cap, le, x);
}

Test(parser_stream, max64_cap128_little) { run_seeds(400, 64, 128, true, 1); }
Test(parser_stream, max64_cap128_big) { run_seeds(400, 64, 128, false, 2); }
Test(parser_stream, max64_cap64_little) { run_seeds(300, 64, 64, true, 3); }
Test(parser_stream, max256_cap512_big) { run_seeds(300, 256, 512, false, 4); }
Test(parser_stream, max1024_cap1032_little) { run_seeds(200, 1024, 1032, true, 5); }
Test(parser_stream, max65536_cap131072_little) { run_all_patterns(40, 65536, 131072, true, 6); }
Test(parser_stream, max65536_cap65536_big) { run_all_patterns(40, 65536, 65536, false, 7); }

/* ---- malformed input ---------------------------------------------------- */

static void expect_small(uint16_t size)
{
    tcpshm_frame_parser p;
    init_ok(&p, 128, 64, true);
    uint8_t m[8];
    tcpshm_msg_header h = {.size = size, .msg_type = 5, .ack_seq = 0};
    tcpshm_header_encode(&h, m, true);
    /* One byte at a time: no verdict before the header is complete. */
    tcpshm_error err = fresh_err();
    tcpshm_msg_header *out = NULL;
    for (uint32_t i = 0; i < 7; i++) {
        feed_bytes(&p, m + i, 1);
        cr_assert_eq(tcpshm_frame_parser_scan(&p, &out, &err), 0, "size %u: verdict after %u bytes",
                     size, i + 1);
    }
    feed_bytes(&p, m + 7, 1);
    out = (tcpshm_msg_header *)(void *)g_buf; /* must be cleared */
    int rc = tcpshm_frame_parser_scan(&p, &out, &err);
    assert_error(&err, rc, TCPSHM_E_FRAME_SMALL, "Bad frame");
    cr_assert_null(out);
    char want[64];
    (void)snprintf(want, sizeof want, "size %u is below the 8-byte header", size);
    cr_assert_not_null(strstr(err.text, want), "text \"%s\"", err.text);
    cr_assert_eq(p.failed, TCPSHM_E_FRAME_SMALL);
    cr_assert_null(tcpshm_frame_parser_front(&p));
}

Test(parser_bad, size_below_header)
{
    expect_small(0);
    expect_small(1);
    expect_small(7);
}

Test(parser_bad, size_below_header_big_endian)
{
    tcpshm_frame_parser p;
    init_ok(&p, 128, 64, false);
    /* 0x0700 read big-endian is 7; little-endian it would be 1792. */
    const uint8_t m[8] = {0x00, 0x07, 0, 1, 0, 0, 0, 0};
    feed_bytes(&p, m, 8);
    tcpshm_error err = fresh_err();
    assert_error(&err, tcpshm_frame_parser_scan(&p, NULL, &err), TCPSHM_E_FRAME_SMALL,
                 "Bad frame");
}

Test(parser_bad, too_large_detected_at_header)
{
    const uint16_t sizes[] = {65, 71, 72, 1000, 65535};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tcpshm_frame_parser p;
        init_ok(&p, 128, 64, true);
        uint8_t m[8];
        tcpshm_msg_header h = {.size = sizes[i], .msg_type = 9, .ack_seq = 1};
        tcpshm_header_encode(&h, m, true);
        feed_bytes(&p, m, 8); /* only the header: the verdict must not wait for the body */
        tcpshm_error err = fresh_err();
        int rc = tcpshm_frame_parser_scan(&p, NULL, &err);
        assert_error(&err, rc, TCPSHM_E_FRAME_LARGE, "Msg size larger than recv buf max size");
        cr_assert_eq(p.failed, TCPSHM_E_FRAME_LARGE);
    }
}

Test(parser_bad, exactly_max_accepted)
{
    tcpshm_frame_parser p;
    init_ok(&p, 64, 64, true); /* cap == max: a max message fills the buffer */
    uint8_t m[64];
    put_msg(m, 64, 3, 77, true);
    feed_bytes(&p, m, 64);
    tcpshm_error err = fresh_err();
    tcpshm_msg_header *h = NULL;
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "%s", err.text);
    cr_assert_eq(h->size, 64);
    cr_assert_eq(h->ack_seq, 77u);
    tcpshm_frame_parser_pop(&p);
    /* 57 pads to 64: accepted too. */
    put_msg(m, 57, 4, 78, true);
    feed_bytes(&p, m, 64);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "%s", err.text);
    cr_assert_eq(h->size, 57);
    tcpshm_frame_parser_pop(&p);
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0);
}

Test(parser_bad, max_65536_accepts_65535)
{
    tcpshm_frame_parser p;
    init_ok(&p, 65536, 65536, false);
    static uint8_t m[65536];
    put_msg(m, 65535, 2, 5, false);
    feed_bytes(&p, m, 65536);
    tcpshm_error err = fresh_err();
    tcpshm_msg_header *h = NULL;
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "%s", err.text);
    cr_assert_eq(h->size, 65535);
}

/* Three good messages, a bad one, then a good one after it. */
static void sticky_case(uint16_t bad_size, int code, const char *prefix)
{
    tcpshm_frame_parser p;
    init_ok(&p, 256, 64, true);
    uint8_t s[256];
    uint32_t off = 0;
    off += put_msg(s + off, 20, 101, 1, true);
    off += put_msg(s + off, 8, 102, 2, true);
    off += put_msg(s + off, 64, 103, 3, true);
    tcpshm_msg_header bad = {.size = bad_size, .msg_type = 104, .ack_seq = 4};
    tcpshm_header_encode(&bad, s + off, true);
    off += 8;
    off += put_msg(s + off, 16, 105, 5, true);
    feed_bytes(&p, s, off);

    tcpshm_error err = fresh_err();
    tcpshm_msg_header *h = NULL;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "good message %d: %s", i,
                     err.text);
        cr_assert_eq(h->msg_type, 101 + i);
    }
    int rc = tcpshm_frame_parser_scan(&p, &h, &err);
    assert_error(&err, rc, code, prefix);
    /* Sticky: every later scan fails the same way, even with more data. */
    for (int i = 0; i < 3; i++) {
        tcpshm_error e2 = fresh_err();
        h = (tcpshm_msg_header *)(void *)g_buf;
        assert_error(&e2, tcpshm_frame_parser_scan(&p, &h, &e2), code, prefix);
        cr_assert_null(h);
    }
    uint8_t more[16];
    put_msg(more, 16, 106, 6, true);
    feed_bytes(&p, more, 16);
    tcpshm_error e3 = fresh_err();
    assert_error(&e3, tcpshm_frame_parser_scan(&p, NULL, &e3), code, prefix);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, NULL), code); /* err may be NULL */

    /* The messages scanned before the bad one are all still there. */
    const uint16_t sizes[] = {20, 8, 64};
    for (int i = 0; i < 3; i++) {
        h = tcpshm_frame_parser_front(&p);
        cr_assert_not_null(h, "message %d lost after the error", i);
        cr_assert_eq(h->msg_type, 101 + i);
        cr_assert_eq(h->size, sizes[i]);
        cr_assert_eq(h->ack_seq, (uint32_t)(i + 1));
        const uint8_t *body = (const uint8_t *)h;
        for (uint32_t k = 8; k < h->size; k++)
            cr_assert_eq(body[k], (uint8_t)(k * 7u + h->msg_type), "message %d byte %u", i, k);
        tcpshm_frame_parser_pop(&p);
    }
    cr_assert_null(tcpshm_frame_parser_front(&p));
    tcpshm_frame_parser_pop(&p); /* no effect */
    cr_assert_null(tcpshm_frame_parser_front(&p));
    tcpshm_error e4 = fresh_err();
    assert_error(&e4, tcpshm_frame_parser_finish(&p, &e4), code, prefix);

    /* reset clears the failure and the buffer. */
    tcpshm_frame_parser_reset(&p);
    cr_assert_eq(p.failed, 0);
    cr_assert_null(tcpshm_frame_parser_front(&p));
    feed_bytes(&p, more, 16);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "%s", err.text);
    cr_assert_eq(h->msg_type, 106);
    tcpshm_frame_parser_pop(&p);
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0);
}

Test(parser_bad, small_is_sticky_and_keeps_scanned) { sticky_case(7, TCPSHM_E_FRAME_SMALL, "Bad frame"); }
Test(parser_bad, zero_is_sticky_and_keeps_scanned) { sticky_case(0, TCPSHM_E_FRAME_SMALL, "Bad frame"); }
Test(parser_bad, large_is_sticky_and_keeps_scanned)
{
    sticky_case(65, TCPSHM_E_FRAME_LARGE, "Msg size larger than recv buf max size");
}

static void expect_truncated(const uint8_t *bytes, uint32_t len, uint32_t whole, bool le)
{
    tcpshm_frame_parser p;
    init_ok(&p, 256, 64, le);
    feed_bytes(&p, bytes, len);
    tcpshm_error err = fresh_err();
    tcpshm_msg_header *h = NULL;
    for (uint32_t i = 0; i < whole; i++) {
        cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1, "%s", err.text);
        tcpshm_frame_parser_pop(&p);
    }
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 0, "len %u: incomplete message scanned",
                 len);
    int rc = tcpshm_frame_parser_finish(&p, &err);
    assert_error(&err, rc, TCPSHM_E_TRUNCATED, "stream ended inside a message");
    cr_assert_eq(p.failed, 0, "finish must not mark the parser failed");
}

Test(parser_bad, truncated_streams)
{
    uint8_t s[128];
    uint32_t first = put_msg(s, 21, 7, 9, true); /* 24 bytes on the stream */
    put_msg(s + first, 30, 8, 10, true);        /* 32 more */
    expect_truncated(s, 3, 0, true);             /* partial header */
    expect_truncated(s, 7, 0, true);             /* header one byte short */
    expect_truncated(s, 8, 0, true);             /* header, no body */
    expect_truncated(s, 20, 0, true);            /* partial body */
    expect_truncated(s, 21, 0, true);            /* body complete, padding missing */
    expect_truncated(s, 23, 0, true);            /* one padding byte missing */
    expect_truncated(s, first + 5, 1, true);     /* second message, partial header */
    expect_truncated(s, first + 31, 1, true);    /* second message, one byte short */

    /* The byte count is reported. */
    tcpshm_frame_parser p;
    init_ok(&p, 256, 64, true);
    feed_bytes(&p, s, 13);
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 0);
    assert_error(&err, tcpshm_frame_parser_finish(&p, &err), TCPSHM_E_TRUNCATED, NULL);
    cr_assert_not_null(strstr(err.text, "13 bytes"), "text \"%s\"", err.text);

    uint8_t b[64];
    put_msg(b, 40, 1, 2, false);
    expect_truncated(b, 39, 0, false); /* big-endian partial body */
}

Test(parser_bad, clean_ends_finish_ok)
{
    tcpshm_frame_parser p;
    init_ok(&p, 256, 64, true);
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0, "empty stream");
    uint8_t s[64];
    uint32_t n = put_msg(s, 21, 7, 9, true);
    feed_bytes(&p, s, n);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 1);
    /* Scanned but not popped is not truncation. */
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0, "%s", err.text);
    tcpshm_frame_parser_pop(&p);
    cr_assert_eq(tcpshm_frame_parser_finish(&p, &err), 0, "%s", err.text);
}

/* ---- smaller behaviours ------------------------------------------------- */

Test(parser, header_rewritten_to_host_order_in_place)
{
    tcpshm_frame_parser p;
    init_ok(&p, 128, 64, false);
    uint8_t m[24];
    put_msg(m, 20, 0x0102, 0xA0B0C0D0u, false);
    feed_bytes(&p, m, 16); /* incomplete: header stays as received */
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 0);
    cr_assert_arr_eq(g_buf, m, 8, "header rewritten before the message was complete");
    cr_assert_null(tcpshm_frame_parser_front(&p));
    feed_bytes(&p, m + 16, 8);
    tcpshm_msg_header *h = NULL;
    cr_assert_eq(tcpshm_frame_parser_scan(&p, &h, &err), 1);
    cr_assert_eq((void *)h, (void *)g_buf);
    tcpshm_msg_header host;
    memcpy(&host, g_buf, sizeof host);
    cr_assert_eq(host.size, 20);
    cr_assert_eq(host.msg_type, 0x0102);
    cr_assert_eq(host.ack_seq, 0xA0B0C0D0u);
    cr_assert_eq(tcpshm_frame_parser_front(&p), h);
    cr_assert_eq(p.scan, 24u);
}

Test(parser, space_moves_unconsumed_to_front)
{
    tcpshm_frame_parser p;
    init_ok(&p, 128, 64, true);
    uint8_t s[128];
    memset(s, 0xa5, sizeof s); /* the 10 bytes of the 3rd message are defined filler */
    uint32_t off = 0;
    off += put_msg(s + off, 40, 1, 1, true); /* 40 */
    off += put_msg(s + off, 60, 2, 2, true); /* 64 -> 104 */
    feed_bytes(&p, s, 104 + 10);           /* plus 10 bytes of a 3rd (garbage ok) */
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 1);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 1);
    tcpshm_frame_parser_pop(&p); /* head 40, scan 104, tail 114 */
    uint32_t room = 0;
    uint8_t *dst = tcpshm_frame_parser_space(&p, &room);
    /* cap - tail = 14 < 64 and head > 0: moved. */
    cr_assert_eq(p.head, 0u);
    cr_assert_eq(p.scan, 64u);
    cr_assert_eq(p.tail, 74u);
    cr_assert_eq(dst, g_buf + 74);
    cr_assert_eq(room, 128u - 74u);
    tcpshm_msg_header *h = tcpshm_frame_parser_front(&p);
    cr_assert_eq((void *)h, (void *)g_buf);
    cr_assert_eq(h->msg_type, 2);
    cr_assert_eq(h->size, 60);
    cr_assert_arr_eq(g_buf + 8, s + 48, 52, "moved body differs");
    cr_assert_arr_eq(g_buf + 64, s + 104, 10, "moved partial bytes differ");
}

Test(parser, space_zero_when_full_of_unpopped)
{
    tcpshm_frame_parser p;
    init_ok(&p, 64, 64, true);
    uint8_t s[64];
    put_msg(s, 32, 1, 1, true);
    put_msg(s + 32, 32, 2, 2, true);
    feed_bytes(&p, s, 64);
    tcpshm_error err = fresh_err();
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 1);
    cr_assert_eq(tcpshm_frame_parser_scan(&p, NULL, &err), 1);
    uint32_t room = 99;
    (void)tcpshm_frame_parser_space(&p, &room);
    cr_assert_eq(room, 0u);
    tcpshm_frame_parser_pop(&p);
    (void)tcpshm_frame_parser_space(&p, &room);
    cr_assert_eq(room, 32u);
    cr_assert_eq(tcpshm_frame_parser_front(&p)->msg_type, 2);
}

Test(parser, received_never_passes_cap)
{
    tcpshm_frame_parser p;
    init_ok(&p, 64, 64, true);
    uint32_t room = 0;
    (void)tcpshm_frame_parser_space(&p, &room);
    cr_assert_eq(room, 64u);
    tcpshm_frame_parser_received(&p, 1000); /* caller bug: more than offered */
    cr_assert_eq(p.tail, 64u);
    (void)tcpshm_frame_parser_space(&p, &room);
    cr_assert_eq(room, 0u);
}

/* ---- unscan: a scanned message that breaks the protocol is not delivered ---- */

Test(parser_unscan, drops_the_message_and_those_after_it)
{
    tcpshm_frame_parser p;
    init_ok(&p, 256, 64, true);
    uint8_t wire[96];
    uint32_t n = 0;
    for (uint16_t t = 1; t <= 3; t++)
        n += put_msg(wire + n, 16, t, 0, true);
    feed_bytes(&p, wire, n);
    tcpshm_msg_header *m[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tcpshm_frame_parser_scan(&p, &m[i], NULL), 1);
    tcpshm_frame_parser_unscan(&p, m[1]);
    cr_assert_eq(tcpshm_frame_parser_front(&p), m[0]);
    tcpshm_frame_parser_pop(&p);
    cr_assert_null(tcpshm_frame_parser_front(&p), "messages 2 and 3 must not be delivered");
    /* a pointer outside the scanned region changes nothing */
    tcpshm_msg_header outside;
    tcpshm_frame_parser_unscan(&p, &outside);
    tcpshm_frame_parser_unscan(&p, m[0]); /* already popped */
    cr_assert_null(tcpshm_frame_parser_front(&p));
}
