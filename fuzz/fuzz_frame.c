/* fuzz_frame: the incremental stream parser of tcpshm/frame.h, fed in
 * fuzz-chosen chunk sizes.
 *
 * Input: [cfg][cap][consumer][nchunks][chunk sizes ...][stream bytes ...]
 *   cfg       bit 0: big-endian; bits 1-3: max_msg_size, one of
 *             8 16 24 64 128 256 1024 65536
 *   cap       buffer capacity = max_msg_size + 8 * (cap % 64)
 *   consumer  bits 0-1: 0 pops each message as it is scanned, 1 pops only
 *             when the buffer is full, 2 pops every k (k = bits 2-7, + 1)
 *   nchunks   % 16 chunk sizes follow, used in turn for the reads (0 or a
 *             chunk size of 0: as much as fits)
 *   stream    the received bytes (at most 128 KiB are used)
 *
 * Checks: a model parses the same bytes directly (docs/protocol.md: a header below 8
 * bytes or padded above the maximum is an error; everything before it is
 * delivered); the chunked run and a run reading as much as fits at once must
 * both give exactly the model's messages (header fields and bodies, at scan
 * and again at pop, after any compaction), the same error after the same
 * number of messages, and the same end-of-stream verdict. After every call:
 * head <= scan <= tail <= cap, every scanned message has size >= 8 and a
 * padded size <= max, space() returns buf + tail and cap - tail bytes, and
 * space() returns 0 only when there is a message to pop. */
#include <string.h>

#include "fuzz_common.h"
#include "tcpshm/frame.h"

#define MAX_STREAM (128u * 1024u)
#define MAX_MSGS (MAX_STREAM / 8u + 1u)

static const uint32_t max_sizes[8] = {8, 16, 24, 64, 128, 256, 1024, 65536};

typedef struct model_msg {
    uint32_t off;
    tcpshm_msg_header h;
} model_msg;

static model_msg g_model[MAX_MSGS];
static uint32_t g_nmodel;
static int g_model_end; /* 0, TCPSHM_E_TRUNCATED, _FRAME_SMALL or _FRAME_LARGE */
static _Alignas(64) uint8_t g_buf[65536u + 64u * 8u + 64u];

static void run_model(const uint8_t *s, uint32_t n, uint32_t max, bool le)
{
    uint32_t pos = 0;
    g_nmodel = 0;
    g_model_end = 0;
    for (;;) {
        if (n - pos < TCPSHM_HEADER_SIZE) {
            g_model_end = pos < n ? TCPSHM_E_TRUNCATED : 0;
            return;
        }
        tcpshm_msg_header h;
        /* decoded by hand, not with the library's decoder */
        const uint8_t *b = s + pos;
        if (le) {
            h.size = (uint16_t)(b[0] | b[1] << 8);
            h.msg_type = (uint16_t)(b[2] | b[3] << 8);
            h.ack_seq = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
        } else {
            h.size = (uint16_t)(b[0] << 8 | b[1]);
            h.msg_type = (uint16_t)(b[2] << 8 | b[3]);
            h.ack_seq = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | (uint32_t)b[7];
        }
        if (h.size < 8) {
            g_model_end = TCPSHM_E_FRAME_SMALL;
            return;
        }
        uint32_t padded = ((uint32_t)h.size + 7u) / 8u * 8u;
        if (padded > max) {
            g_model_end = TCPSHM_E_FRAME_LARGE;
            return;
        }
        if (n - pos < padded) {
            g_model_end = TCPSHM_E_TRUNCATED;
            return;
        }
        g_model[g_nmodel].off = pos;
        g_model[g_nmodel].h = h;
        g_nmodel++;
        pos += padded;
    }
}

typedef struct run {
    tcpshm_frame_parser p;
    const uint8_t *s;
    uint32_t scanned, popped;
} run;

static void invariants(const run *r)
{
    const tcpshm_frame_parser *p = &r->p;
    FZ_CHECK(p->head <= p->scan && p->scan <= p->tail && p->tail <= p->cap,
             "head %u scan %u tail %u cap %u", p->head, p->scan, p->tail, p->cap);
    FZ_CHECK(p->head % 8 == 0 && p->scan % 8 == 0, "head %u scan %u not aligned", p->head, p->scan);
    /* the scanned region is exactly the unpopped messages (the first 64 of
     * them: a full walk on every call would make long inputs quadratic) */
    uint32_t at = p->head, k = r->popped, walked = 0;
    while (at < p->scan && walked++ < 64) {
        const tcpshm_msg_header *h = (const tcpshm_msg_header *)(const void *)(p->buf + at);
        FZ_CHECK(h->size >= TCPSHM_HEADER_SIZE, "scanned message at %u has size %u", at, h->size);
        uint32_t padded = tcpshm_padded_size(h->size);
        FZ_CHECK(padded <= p->max_msg_size, "scanned message size %u > max %u", h->size, p->max_msg_size);
        FZ_CHECK(at + padded <= p->scan, "scanned message at %u runs past scan %u", at, p->scan);
        at += padded;
        k++;
    }
    FZ_CHECK(at < p->scan || k == r->scanned, "%u messages between head and scan, expected %u",
             k - r->popped, r->scanned - r->popped);
}

/* The message at h must be model message i, header in host order, body intact. */
static void same_as_model(const run *r, const tcpshm_msg_header *h, uint32_t i, const char *when)
{
    FZ_CHECK(i < g_nmodel, "%s: message %u but the model has only %u", when, i, g_nmodel);
    const model_msg *m = &g_model[i];
    FZ_CHECK(h->size == m->h.size && h->msg_type == m->h.msg_type && h->ack_seq == m->h.ack_seq,
             "%s: message %u is (%u, %u, %u), model (%u, %u, %u)", when, i, h->size, h->msg_type,
             h->ack_seq, m->h.size, m->h.msg_type, m->h.ack_seq);
    FZ_CHECK(memcmp(h + 1, r->s + m->off + 8, h->size - 8u) == 0, "%s: body of message %u differs",
             when, i);
}

static void pop_one(run *r)
{
    tcpshm_msg_header *h = tcpshm_frame_parser_front(&r->p);
    FZ_CHECK(h != NULL, "nothing to pop");
    FZ_CHECK((uint8_t *)h == r->p.buf + r->p.head, "front is not at head");
    same_as_model(r, h, r->popped, "pop");
    uint32_t head = r->p.head;
    tcpshm_frame_parser_pop(&r->p);
    FZ_CHECK(r->p.head == head + tcpshm_padded_size(h->size), "pop moved head %u -> %u", head, r->p.head);
    r->popped++;
    invariants(r);
}

enum { EAGER, LAZY, EVERY_K };

static void run_parser(const uint8_t *s, uint32_t n, uint32_t cap, uint32_t max, bool le,
                       const uint8_t *chunks, uint32_t nchunks, int mode, uint32_t k)
{
    run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    tcpshm_error err;
    FZ_CHECK(tcpshm_frame_parser_init(&r.p, g_buf, cap, max, le, &err) == 0, "init: %s", err.text);
    uint32_t pos = 0, ci = 0;
    int failed = 0;
    for (;;) {
        uint32_t len = 0;
        uint8_t *sp = tcpshm_frame_parser_space(&r.p, &len);
        invariants(&r);
        FZ_CHECK(sp == r.p.buf + r.p.tail && len == r.p.cap - r.p.tail, "space %p/%u, tail %u",
                 (void *)sp, len, r.p.tail);
        if (len == 0 && !failed) {
            /* full: only when the application has messages to pop */
            FZ_CHECK(tcpshm_frame_parser_front(&r.p) != NULL, "no space and nothing to pop (tail %u)",
                     r.p.tail);
            pop_one(&r);
            continue;
        }
        if (pos == n || failed)
            break;
        uint32_t want = nchunks ? chunks[ci++ % nchunks] : 0;
        if (want == 0 || want > len)
            want = len;
        if (want > n - pos)
            want = n - pos;
        memcpy(sp, s + pos, want);
        tcpshm_frame_parser_received(&r.p, want);
        pos += want;
        invariants(&r);
        for (;;) {
            uint32_t before = r.p.scan;
            tcpshm_msg_header *h = (tcpshm_msg_header *)(void *)1;
            int rc = tcpshm_frame_parser_scan(&r.p, &h, &err);
            if (rc == 1)
                r.scanned++; /* checked against the model below */
            invariants(&r);
            if (rc == 0) {
                FZ_CHECK(h == NULL && r.p.scan == before, "scan 0 changed state");
                break;
            }
            if (rc < 0) {
                failed = rc;
                FZ_CHECK(r.scanned == g_nmodel && rc == g_model_end,
                         "error %d after %u messages; the model says %d after %u", rc, r.scanned,
                         g_model_end, g_nmodel);
                FZ_CHECK(h == NULL && r.p.scan == before, "a failing scan changed state");
                FZ_CHECK(tcpshm_frame_parser_scan(&r.p, &h, NULL) == rc, "the failure is not sticky");
                break;
            }
            FZ_CHECK(rc == 1 && (uint8_t *)h == r.p.buf + before, "scan returned %d, %p", rc, (void *)h);
            FZ_CHECK(r.p.scan == before + tcpshm_padded_size(h->size), "scan advanced %u -> %u", before,
                     r.p.scan);
            same_as_model(&r, h, r.scanned - 1u, "scan");
            if (mode == EAGER)
                pop_one(&r);
        }
        if (mode == EVERY_K && r.scanned - r.popped >= k)
            while (r.popped < r.scanned)
                pop_one(&r);
    }
    while (tcpshm_frame_parser_front(&r.p))
        pop_one(&r);
    FZ_CHECK(r.popped == r.scanned, "popped %u of %u", r.popped, r.scanned);
    int fin = tcpshm_frame_parser_finish(&r.p, NULL);
    if (failed) {
        FZ_CHECK(fin == failed, "finish %d after failure %d", fin, failed);
    } else {
        FZ_CHECK(r.scanned == g_nmodel, "%u messages, the model has %u", r.scanned, g_nmodel);
        FZ_CHECK(g_model_end == 0 || g_model_end == TCPSHM_E_TRUNCATED,
                 "the model failed with %d, the parser did not", g_model_end);
        FZ_CHECK(fin == g_model_end, "finish says %d, the model %d", fin, g_model_end);
    }
    /* reset gives an empty parser */
    tcpshm_frame_parser_reset(&r.p);
    FZ_CHECK(r.p.head == 0 && r.p.scan == 0 && r.p.tail == 0 && r.p.failed == 0, "reset");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_in_init(&in, data, size);
    uint8_t cfg = fz_u8(&in), capb = fz_u8(&in), cons = fz_u8(&in);
    uint32_t nchunks = fz_u8(&in) % 16u;
    size_t got;
    const uint8_t *chunks = fz_bytes(&in, nchunks, &got);
    nchunks = (uint32_t)got;
    const uint8_t *s = fz_bytes(&in, MAX_STREAM, &got);
    uint32_t n = (uint32_t)got;

    bool le = (cfg & 1u) == 0;
    uint32_t max = max_sizes[(cfg >> 1) & 7u];
    uint32_t cap = max + 8u * (capb % 64u);
    int mode = (cons & 3u) == 3u ? EAGER : (int)(cons & 3u);
    uint32_t k = (uint32_t)(cons >> 2) + 1u;

    /* the header codec round-trips */
    if (n >= 8) {
        tcpshm_msg_header h;
        uint8_t back[8];
        tcpshm_header_decode(s, le, &h);
        tcpshm_header_encode(&h, back, le);
        FZ_CHECK(memcmp(back, s, 8) == 0, "header encode(decode(x)) != x");
    }

    run_model(s, n, max, le);
    run_parser(s, n, cap, max, le, chunks, nchunks, mode, k);
    /* the same bytes, as much as fits per read, popped at once */
    run_parser(s, n, cap, max, le, NULL, 0, EAGER, 1);
    return 0;
}
