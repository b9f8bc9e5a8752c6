/* fuzz_shm_segment: a shared-memory queue segment with arbitrary contents
 * (what a crashed, buggy or hostile peer process could leave or write) is
 * opened by the consumer and the producer on the in-memory env (where a
 * segment is a file under VENV_SHM_DIR) and used.
 *
 * Input: [config][segment image][operations]. Config bits 0-1 choose the
 * capacity (256 512 1024 4096), bits 2-3 max_msg_size (16 32 64 128, lowered
 * until the capacity holds two); the image is the next 192 + capacity bytes
 * (zeros past the end of the input). Each operation byte (op % 8): 0-2
 * front (and pop if bit 3), 3 alloc+push of a body size from the next byte,
 * 4 the peer overwrites a byte of the segment (offset u16, value u8),
 * 5 reopen both sides, 6 reset, 7 front twice without a pop.
 *
 * Checks: open refuses with TCPSHM_E_CORRUPT and a reason, or, when a peer
 * would still be creating it, TCPSHM_E_SYSTEM; never a crash. Every message
 * front() returns lies inside the data area with a size in [8, max]; front
 * twice returns the same message; pop counts one; alloc returns room inside
 * the data area for the whole padded message; push succeeds after alloc; a
 * reset queue is empty. A peer write can only cause an error, never a wrong
 * message: every message front() returns has the seq the consumer expects
 * (its popped count) in its slot word, and while the peer has written
 * nothing, a message this producer pushed comes out with the size and body
 * it was pushed with. A refused consumer position names the word. AddressSanitizer (libFuzzer build) and the venv's
 * exactly-sized buffers catch any access outside the segment. */
#include <errno.h>
#include <string.h>

#include "fuzz_common.h"
#include "tcpshm/shm_queue.h"
#include "venv.h"

#define SEG_NAME "/tcpshm_peer_me"
#define SENT 4096u /* more than any queue here holds (4096 / 16) */


typedef struct ctx {
    venv *v;
    const tcpshm_env *env;
    uint32_t cap, max;
    tcpshm_shm_queue prod, cons;
    bool prod_open, cons_open;
    bool scribbled; /* the peer wrote into the segment (op 4) */
    /* what this producer pushed, by seq (mod SENT): body size, and whether
     * this run pushed that seq since the last reset */
    uint8_t sent_body[SENT];
    bool sent[SENT];
    char last_refusal[256];
} ctx;

static uint8_t *segment_bytes(ctx *c, size_t *len)
{
    char path[300];
    fz_shm_path(path, sizeof path, SEG_NAME);
    /* the mapping and the file share these bytes: the peer writes here */
    return (uint8_t *)(uintptr_t)venv_file_data(c->v, path, len);
}

static void open_side(ctx *c, bool producer)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue *q = producer ? &c->prod : &c->cons;
    int rc = tcpshm_shm_queue_open(q, c->env, SEG_NAME,
                                   &(tcpshm_shm_queue_config){.capacity = c->cap, .max_msg_size = c->max,
                                                              .producer = producer}, &err);
    if (rc == 0) {
        if (producer)
            c->prod_open = true;
        else
            c->cons_open = true;
        return;
    }
    FZ_CHECK(rc == TCPSHM_E_CORRUPT || (rc == TCPSHM_E_SYSTEM && err.sys_errno == EAGAIN),
             "open refused with code %d: %s", rc, err.text);
    FZ_CHECK(err.text[0] != '\0', "a refusal without a reason");
    memcpy(c->last_refusal, err.text, sizeof c->last_refusal);
}

static void close_sides(ctx *c)
{
    if (c->prod_open)
        tcpshm_shm_queue_close(&c->prod);
    if (c->cons_open)
        tcpshm_shm_queue_close(&c->cons);
    c->prod_open = c->cons_open = false;
}

static void check_message(const ctx *c, const tcpshm_msg_header *h)
{
    const uint8_t *data = c->cons.data, *p = (const uint8_t *)h;
    FZ_CHECK(p >= data + TCPSHM_SHM_SLOT_OVERHEAD && p < data + c->cap, "message outside the data area");
    FZ_CHECK(h->size >= TCPSHM_HEADER_SIZE && tcpshm_padded_size(h->size) <= c->max, "size %u, max %u", h->size,
             c->max);
    FZ_CHECK(p + tcpshm_padded_size(h->size) <= data + c->cap, "message runs past the data area");
}

/* The message is the one the consumer expects: its slot word carries the
 * popped count, and one this producer pushed is intact unless the peer
 * wrote. */
static void check_identity(const ctx *c, const tcpshm_msg_header *h)
{
    uint32_t seq = tcpshm_shm_queue_popped(&c->cons);
    uint64_t w;
    memcpy(&w, (const uint8_t *)h - TCPSHM_SHM_SLOT_OVERHEAD, 8);
    FZ_CHECK((uint32_t)(w >> 32) == seq, "front gave the slot of seq %u, expected %u", (uint32_t)(w >> 32), seq);
    if (c->scribbled || !c->sent[seq % SENT])
        return;
    uint32_t body = c->sent_body[seq % SENT];
    FZ_CHECK(h->size == TCPSHM_HEADER_SIZE + body && h->msg_type == 7, "seq %u came out as size %u type %u, pushed %u",
             seq, h->size, h->msg_type, TCPSHM_HEADER_SIZE + body);
    const uint8_t *b = (const uint8_t *)(h + 1);
    for (uint32_t i = 0; i < body; i++)
        FZ_CHECK(b[i] == (uint8_t)(seq + i), "seq %u body byte %u changed", seq, i);
}

static void op_front(ctx *c, bool pop, bool twice)
{
    if (!c->cons_open)
        return;
    bool bad;
    tcpshm_error err = {0};
    tcpshm_msg_header *h = tcpshm_shm_queue_front(&c->cons, &bad, &err);
    if (bad) {
        FZ_CHECK(!h && strstr(err.text, "Bad shm message"), "bad slot reported as: %s", err.text);
        return;
    }
    if (!h)
        return;
    check_message(c, h);
    check_identity(c, h);
    if (twice) {
        bool bad2;
        tcpshm_msg_header *h2 = tcpshm_shm_queue_front(&c->cons, &bad2, NULL);
        FZ_CHECK(h2 == h && !bad2, "front twice gave two answers");
    }
    if (pop) {
        uint32_t before = tcpshm_shm_queue_popped(&c->cons);
        tcpshm_shm_queue_pop(&c->cons);
        FZ_CHECK(tcpshm_shm_queue_popped(&c->cons) == before + 1, "pop did not count one");
    }
}

static void op_push(ctx *c, uint8_t body)
{
    if (!c->prod_open)
        return;
    tcpshm_msg_header *h = tcpshm_shm_queue_alloc(&c->prod, body);
    const char *fault = tcpshm_shm_queue_fault(&c->prod);
    FZ_CHECK(!fault || (strstr(fault, "Bad shm word") && strstr(fault, SEG_NAME) && strstr(fault, "consumer position")),
             "a refused consumer position: %s", fault);
    if (!h)
        return;
    const uint8_t *data = c->prod.data, *p = (const uint8_t *)h;
    uint32_t padded = tcpshm_padded_size(TCPSHM_HEADER_SIZE + (uint32_t)body);
    FZ_CHECK(padded <= c->max, "alloc of %u bytes beyond max %u", padded, c->max);
    FZ_CHECK(p >= data + TCPSHM_SHM_SLOT_OVERHEAD && p + padded <= data + c->cap,
             "alloc outside the data area");
    uint32_t before = tcpshm_shm_queue_pushed(&c->prod);
    for (uint32_t i = 0; i < body; i++)
        ((uint8_t *)(h + 1))[i] = (uint8_t)(before + i);
    h->msg_type = 7;
    c->sent[before % SENT] = true;
    c->sent_body[before % SENT] = body;
    FZ_CHECK(tcpshm_shm_queue_push(&c->prod) == 0, "push after alloc failed");
    FZ_CHECK(tcpshm_shm_queue_pushed(&c->prod) == before + 1, "push did not count one");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_in_init(&in, data, size);
    uint8_t cfg = fz_u8(&in);
    ctx c = {0};
    fz_shm_geometry(cfg, &c.cap, &c.max);
    c.v = venv_create(NULL);
    FZ_CHECK(c.v != NULL, "venv");
    c.env = venv_env(c.v);
    /* the segment as the peer left it */
    size_t seg_len = TCPSHM_SHM_HEADER_SIZE + c.cap, got = 0;
    static uint8_t image[TCPSHM_SHM_HEADER_SIZE + 4096];
    memset(image, 0, sizeof image);
    const uint8_t *src = fz_bytes(&in, seg_len, &got);
    memcpy(image, src, got);
    (void)c.env->mkdir(c.env->ctx, "/dev", 0755);
    (void)c.env->mkdir(c.env->ctx, VENV_SHM_DIR, 0755);
    char path[300];
    fz_shm_path(path, sizeof path, SEG_NAME);
    FZ_CHECK(venv_file_write(c.v, path, image, seg_len) == 0, "venv_file_write");

    open_side(&c, false);
    open_side(&c, true);
    while (fz_more(&in)) {
        uint8_t op = fz_u8(&in);
        switch (op % 8) {
        case 0:
        case 1:
        case 2: op_front(&c, op & 8, false); break;
        case 3: op_push(&c, fz_u8(&in)); break;
        case 4: {
            uint16_t off = fz_u16(&in);
            uint8_t val = fz_u8(&in);
            size_t len = 0;
            uint8_t *seg = segment_bytes(&c, &len);
            if (seg && len)
                seg[off % len] = val;
            c.scribbled = true;
            break;
        }
        case 5:
            close_sides(&c);
            open_side(&c, false);
            open_side(&c, true);
            break;
        case 6:
            if (c.prod_open) {
                tcpshm_shm_queue_reset(&c.prod);
                memset(c.sent, 0, sizeof c.sent);
                if (c.cons_open) { /* the consumer's view is reopened, as at a login */
                    tcpshm_shm_queue_close(&c.cons);
                    c.cons_open = false;
                    open_side(&c, false);
                    /* unless the peer scribbled on the header since it opened */
                    FZ_CHECK(c.cons_open || c.scribbled, "a reset segment does not reopen: %s", c.last_refusal);
                    bool bad;
                    FZ_CHECK(!c.cons_open || (!tcpshm_shm_queue_front(&c.cons, &bad, NULL) && !bad),
                             "a reset queue is not empty");
                }
            }
            break;
        case 7: op_front(&c, false, true); break;
        }
    }
    close_sides(&c);
    venv_destroy(c.v);
    return 0;
}
