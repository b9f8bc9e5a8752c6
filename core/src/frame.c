/* Message header encoding (docs/protocol.md, "Message header") and the incremental
 * stream parser. No I/O, no allocation: everything works on caller buffers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error_set.h"
#include "tcpshm/frame.h"

_Static_assert(sizeof(tcpshm_msg_header) == TCPSHM_HEADER_SIZE,
               "tcpshm_msg_header must be exactly the 8-byte wire header");

/* Largest max_msg_size: the padded size of a u16-sized message. */

static void put16(uint8_t *b, uint16_t v, bool le)
{
    if (le) {
        b[0] = (uint8_t)(v & 0xffu);
        b[1] = (uint8_t)(v >> 8);
    } else {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)(v & 0xffu);
    }
}

static void put32(uint8_t *b, uint32_t v, bool le)
{
    for (unsigned i = 0; i < 4u; i++) {
        unsigned shift = le ? 8u * i : 8u * (3u - i);
        b[i] = (uint8_t)((v >> shift) & 0xffu);
    }
}

static uint16_t get16(const uint8_t *b, bool le)
{
    return le ? (uint16_t)((unsigned)b[0] | ((unsigned)b[1] << 8))
              : (uint16_t)(((unsigned)b[0] << 8) | (unsigned)b[1]);
}

static uint32_t get32(const uint8_t *b, bool le)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4u; i++) {
        unsigned shift = le ? 8u * i : 8u * (3u - i);
        v |= (uint32_t)b[i] << shift;
    }
    return v;
}

void tcpshm_header_encode(const tcpshm_msg_header *h, void *out, bool little_endian)
{
    uint8_t *b = out;
    put16(b, h->size, little_endian);
    put16(b + 2, h->msg_type, little_endian);
    put32(b + 4, h->ack_seq, little_endian);
}

void tcpshm_header_decode(const void *in, bool little_endian, tcpshm_msg_header *h)
{
    const uint8_t *b = in;
    tcpshm_msg_header tmp;
    tmp.size = get16(b, little_endian);
    tmp.msg_type = get16(b + 2, little_endian);
    tmp.ack_seq = get32(b + 4, little_endian);
    *h = tmp; /* in and h may overlap (in-place rewrite) */
}

int tcpshm_frame_parser_init(tcpshm_frame_parser *p, void *buf, uint32_t cap,
                             uint32_t max_msg_size, bool little_endian, tcpshm_error *err)
{
    if (!p)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "frame parser: the parser pointer is NULL");
    memset(p, 0, sizeof *p);
    if (!buf)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "frame parser: the receive buffer is NULL");
    if ((uintptr_t)buf % 8u != 0)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "frame parser: the receive buffer must be 8-byte aligned "
                           "(its address is %u modulo 8)",
                           (unsigned)((uintptr_t)buf % 8u));
    if (max_msg_size < TCPSHM_HEADER_SIZE || max_msg_size > TCPSHM_MAX_PADDED_MSG_SIZE ||
        max_msg_size % 8u != 0)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "frame parser: max_msg_size %u must be a multiple of 8 in [8, %u]",
                           (unsigned)max_msg_size, TCPSHM_MAX_PADDED_MSG_SIZE);
    if (cap % 8u != 0 || cap < max_msg_size)
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "frame parser: buffer capacity %u must be a multiple of 8 and at "
                           "least max_msg_size %u",
                           (unsigned)cap, (unsigned)max_msg_size);
    p->buf = buf;
    p->cap = cap;
    p->max_msg_size = max_msg_size;
    p->little_endian = little_endian;
    return 0;
}

void tcpshm_frame_parser_reset(tcpshm_frame_parser *p)
{
    p->head = p->scan = p->tail = 0;
    p->failed = 0;
}

uint8_t *tcpshm_frame_parser_space(tcpshm_frame_parser *p, uint32_t *len)
{
    if (!p->buf) {
        *len = 0;
        return NULL;
    }
    if (p->head > 0 && p->head == p->tail) {
        /* Everything was consumed: start over at the front, nothing to move. */
        p->head = p->scan = p->tail = 0;
    } else if (p->head > 0 && p->cap - p->tail < p->max_msg_size) {
        /* head is a multiple of 8, so messages stay 8-byte aligned. */
        uint32_t used = p->tail - p->head;
        memmove(p->buf, p->buf + p->head, used);
        p->scan -= p->head;
        p->tail = used;
        p->head = 0;
    }
    *len = p->cap - p->tail;
    return p->buf + p->tail;
}

void tcpshm_frame_parser_received(tcpshm_frame_parser *p, uint32_t n)
{
    /* A caller bug (n beyond the space offered) must not move tail past cap. */
    uint32_t room = p->cap - p->tail;
    p->tail += n <= room ? n : room;
}

static int sticky_failure(const tcpshm_frame_parser *p, tcpshm_error *err)
{
    if (p->failed == TCPSHM_E_FRAME_LARGE)
        return tcpshm_fail(err, p->failed, 0,
                           "Msg size larger than recv buf max size (reported earlier; the "
                           "parser stays failed until reset)");
    return tcpshm_fail(err, p->failed, 0,
                       "Bad frame: a malformed header was reported earlier; the parser stays "
                       "failed until reset");
}

int tcpshm_frame_parser_scan(tcpshm_frame_parser *p, tcpshm_msg_header **out, tcpshm_error *err)
{
    if (out)
        *out = NULL;
    if (p->failed)
        return sticky_failure(p, err);
    uint32_t avail = p->tail - p->scan;
    if (avail < TCPSHM_HEADER_SIZE)
        return 0;
    uint8_t *at = p->buf + p->scan;
    tcpshm_msg_header h;
    tcpshm_header_decode(at, p->little_endian, &h);
    if (h.size < TCPSHM_HEADER_SIZE) {
        p->failed = TCPSHM_E_FRAME_SMALL;
        return tcpshm_fail(err, TCPSHM_E_FRAME_SMALL, 0,
                           "Bad frame: size %u is below the 8-byte header (type %u, at "
                           "offset %u of the unconsumed stream)",
                           (unsigned)h.size, (unsigned)h.msg_type,
                           (unsigned)(p->scan - p->head));
    }
    uint32_t padded = tcpshm_padded_size(h.size);
    if (padded > p->max_msg_size) {
        p->failed = TCPSHM_E_FRAME_LARGE;
        return tcpshm_fail(err, TCPSHM_E_FRAME_LARGE, 0,
                           "Msg size larger than recv buf max size: size %u (padded %u) "
                           "exceeds the maximum %u (type %u)",
                           (unsigned)h.size, (unsigned)padded, (unsigned)p->max_msg_size,
                           (unsigned)h.msg_type);
    }
    if (avail < padded)
        return 0;
    memcpy(at, &h, sizeof h);
    p->scan += padded;
    if (out)
        *out = (tcpshm_msg_header *)(void *)at;
    return 1;
}

tcpshm_msg_header *tcpshm_frame_parser_front(const tcpshm_frame_parser *p)
{
    if (p->head >= p->scan)
        return NULL;
    return (tcpshm_msg_header *)(void *)(p->buf + p->head);
}

void tcpshm_frame_parser_unscan(tcpshm_frame_parser *p, const tcpshm_msg_header *m)
{
    const uint8_t *at = (const uint8_t *)m;
    if (at >= p->buf + p->head && at < p->buf + p->scan)
        p->scan = (uint32_t)(at - p->buf);
}

void tcpshm_frame_parser_pop(tcpshm_frame_parser *p)
{
    tcpshm_msg_header *h = tcpshm_frame_parser_front(p);
    if (!h)
        return;
    /* The header is the application's to read, but a caller that wrote
     * to it must not move head past the scanned messages. */
    uint32_t padded = tcpshm_padded_size(h->size);
    uint32_t left = p->scan - p->head;
    p->head += (h->size < TCPSHM_HEADER_SIZE || padded > left) ? left : padded;
    /* The resting state is reached lazily in space(), so a pointer space()
     * returned earlier stays valid across pops. */
}

int tcpshm_frame_parser_finish(const tcpshm_frame_parser *p, tcpshm_error *err)
{
    if (p->failed)
        return sticky_failure(p, err);
    if (p->scan < p->tail)
        return tcpshm_fail(err, TCPSHM_E_TRUNCATED, 0,
                           "stream ended inside a message: %u bytes of an incomplete message",
                           (unsigned)(p->tail - p->scan));
    return 0;
}
