/* fuzz_queue_file: a persisted queue file (<dir>/<local>_<remote>.ptcp) made of
 * arbitrary bytes is verified and opened on the in-memory env, and, if it
 * opens, used.
 *
 * Input: [file image][operations]. The image is the first 256 + capacity
 * bytes when the capacity field (offset 24) is a plausible capacity (a
 * multiple of 8 in [16, 65536]) and the input is that long, else the whole
 * input. The first operation byte chooses the configuration the file is
 * opened with: bits 0-2 max_msg_size (16 32 64 128 256 512 4096 65536),
 * clamped to the capacity unless bit 3; bit 4 flips the byte order the file
 * says; bit 5 opens under the names "server"/"client" instead of the names
 * in the file. The configured capacity is the file's (1024 when implausible).
 *
 * Checks: verify never crashes on any bytes; open accepts exactly what verify
 * accepts (for a valid configuration) and never changes a file it rejects;
 * an opened queue starts from the file's active record slot. Then each
 * operation byte runs one of alloc / push / mark_sent / ack / rewind / popped
 * / reset / reopen / send-all, each compared with a model of its documented
 * effect, and after each one: indices in order and in the capacity
 * (read <= sent <= send <= write <= capacity), the sent position on a message
 * boundary with sent_seq counting the messages before it, every pointer
 * (alloc, next, sendable) inside the mapping and inside [read, write), the
 * walk finds write_seq - read_seq messages, and the mapped file still passes
 * verify (so a kill at any point would reopen). */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "tcpshm/names.h"
#include "tcpshm/ptcp_queue.h"
#include "venv.h"

#define HDR 256u
#define OFF_WIRE 20u
#define OFF_CAP 24u
#define OFF_LOCAL 32u
#define OFF_REMOTE 96u
#define OFF_ACTIVE 160u
#define OFF_BOOT_ID 164u
#define OFF_WRITTEN 180u
#define OFF_SLOTS 192u

static const uint32_t max_sizes[8] = {16, 32, 64, 128, 256, 512, 4096, 65536};

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* the file is in host byte order */
    return v;
}

typedef struct ctx {
    venv *v;
    const tcpshm_env *env;
    char local[65], remote[65], path[160];
    tcpshm_ptcp_queue_config cfg;
    tcpshm_ptcp_queue q;
} ctx;

static uint16_t hdr_size(const ctx *c, const uint8_t *m)
{
    tcpshm_msg_header h;
    tcpshm_header_decode(m, c->cfg.little_endian, &h);
    return h.size;
}

static void check_queue(ctx *c)
{
    const tcpshm_ptcp_queue *q = &c->q;
    const tcpshm_ptcp_state *st = &q->st;
    uint32_t cap = c->cfg.capacity;
    FZ_CHECK(st->read_idx <= st->write_idx && st->write_idx <= cap && st->read_idx % 8 == 0 &&
                 st->write_idx % 8 == 0,
             "read %u write %u cap %u", st->read_idx, st->write_idx, cap);
    FZ_CHECK(st->read_idx <= q->sent_idx && q->sent_idx <= q->send_idx && q->send_idx <= st->write_idx,
             "read %u sent %u send %u write %u", st->read_idx, q->sent_idx, q->send_idx, st->write_idx);
    FZ_CHECK((uint32_t)(q->sent_seq - st->read_seq) <= (uint32_t)(st->write_seq - st->read_seq),
             "sent_seq %u outside [%u, %u]", q->sent_seq, st->read_seq, st->write_seq);
    FZ_CHECK(q->alloc_size == 0 || st->write_idx + tcpshm_padded_size(q->alloc_size) <= cap,
             "the allocated message (%u) runs past the capacity", q->alloc_size);
    /* the mapping is the file, and the file would reopen */
    size_t len = 0;
    const uint8_t *d = venv_file_data(c->v, c->path, &len);
    FZ_CHECK(d == (const uint8_t *)q->file && len == q->map_size && q->data == d + HDR,
             "the queue does not map its file");
    tcpshm_error err;
    FZ_CHECK(tcpshm_ptcp_queue_verify(d, len, c->local, c->remote, &c->cfg, &err) == 0,
             "the mapped file no longer verifies: %s", err.text);
    uint32_t active = rd32(d + OFF_ACTIVE);
    const uint8_t *slot = d + OFF_SLOTS + 32u * active;
    FZ_CHECK(rd32(slot) == st->read_idx && rd32(slot + 4) == st->write_idx &&
                 rd32(slot + 8) == st->read_seq && rd32(slot + 12) == st->write_seq &&
                 rd32(slot + 16) == st->my_ack,
             "the persisted record differs from the queue's copy");
    /* walk: pointers inside [read, write), sent position on a boundary */
    uint32_t n = 0, before_sent = 0;
    bool sent_on_boundary = q->sent_idx == st->read_idx;
    const uint8_t *m = NULL;
    while ((m = tcpshm_ptcp_queue_next(q, m)) != NULL) {
        FZ_CHECK(m >= q->data + st->read_idx && m + 8 <= q->data + st->write_idx,
                 "next() gave offset %ld outside [%u, %u)", (long)(m - q->data), st->read_idx,
                 st->write_idx);
        uint32_t off = (uint32_t)(m - q->data), padded = tcpshm_padded_size(hdr_size(c, m));
        FZ_CHECK(hdr_size(c, m) >= 8 && off + padded <= st->write_idx, "message at %u size %u", off,
                 hdr_size(c, m));
        if (off + padded <= q->sent_idx)
            before_sent++;
        if (off + padded == q->sent_idx)
            sent_on_boundary = true;
        FZ_CHECK(++n <= cap / 8u, "the walk does not end");
    }
    FZ_CHECK(n == st->write_seq - st->read_seq, "walk found %u messages, seq range says %u", n,
             st->write_seq - st->read_seq);
    FZ_CHECK(sent_on_boundary, "sent position %u is inside a message", q->sent_idx);
    FZ_CHECK(before_sent == q->sent_seq - st->read_seq, "%u messages before the sent position, sent_seq says %u",
             before_sent, q->sent_seq - st->read_seq);
    const uint8_t *sp;
    uint32_t sl = tcpshm_ptcp_queue_sendable(q, &sp);
    FZ_CHECK(sp == q->data + q->send_idx && sl == st->write_idx - q->send_idx, "sendable");
}

/* A signed step of -128..127 as a wrapping u32 offset. */
static uint32_t step(uint8_t b) { return b < 128u ? b : (uint32_t)b - 256u; }

static void fill_body(uint8_t *b, uint32_t n, uint32_t seed)
{
    for (uint32_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31u + i);
}

static void run_ops(ctx *c, fz_in *in)
{
    tcpshm_ptcp_queue *q = &c->q;
    tcpshm_error err;
    check_queue(c);
    while (fz_more(in)) {
        uint8_t op = fz_u8(in);
        tcpshm_ptcp_state st = q->st;
        uint32_t sent_seq = q->sent_seq;
        switch (op % 10u) {
        case 0: { /* alloc */
            uint16_t body = (uint16_t)(fz_u16(in) % (c->cfg.max_msg_size + 16u));
            uint8_t type = fz_u8(in), how = fz_u8(in);
            tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(q, body);
            uint32_t padded = tcpshm_padded_size(8u + body);
            if (!h) {
                FZ_CHECK(q->alloc_size == 0, "a failed alloc left an allocation");
                /* refused only when too large or when compaction cannot make room */
                uint32_t live = st.write_idx - st.read_idx;
                bool too_big = 8u + body > 65535u || padded > c->cfg.max_msg_size;
                bool no_room = st.write_idx + padded > c->cfg.capacity &&
                               (live > st.read_idx || live + padded > c->cfg.capacity);
                FZ_CHECK(too_big || no_room, "alloc(%u) refused with write %u read %u cap %u", body,
                         st.write_idx, st.read_idx, c->cfg.capacity);
                break;
            }
            FZ_CHECK(padded <= c->cfg.max_msg_size, "alloc(%u) beyond max_msg_size", body);
            FZ_CHECK((uint8_t *)h == q->data + q->st.write_idx && (uintptr_t)h % 8 == 0 &&
                         q->st.write_idx + padded <= c->cfg.capacity,
                     "alloc gave offset %ld", (long)((uint8_t *)h - q->data));
            FZ_CHECK(h->size == 8u + body && q->alloc_size == 8u + body, "alloc size");
            FZ_CHECK(q->st.read_seq == st.read_seq && q->st.write_seq == st.write_seq &&
                         q->st.my_ack == st.my_ack,
                     "alloc changed the sequence numbers");
            h->msg_type = type;
            fill_body((uint8_t *)(h + 1), body, q->st.write_seq);
            if (how & 1u)
                h->size = fz_u16(in); /* a careless caller: push must trust its own record */
            break;
        }
        case 1: { /* push */
            uint32_t asz = q->alloc_size;
            uint16_t type = asz ? ((tcpshm_msg_header *)(void *)(q->data + st.write_idx))->msg_type : 0;
            int rc = tcpshm_ptcp_queue_push(q, &err);
            if (asz == 0 || type == 0) {
                FZ_CHECK(rc == TCPSHM_E_ARG && q->st.write_seq == st.write_seq, "push of nothing: %d", rc);
                break;
            }
            FZ_CHECK(rc == 0 && q->alloc_size == 0, "push: %d %s", rc, err.text);
            FZ_CHECK(q->st.write_seq == st.write_seq + 1u &&
                         q->st.write_idx == st.write_idx + tcpshm_padded_size(asz),
                     "push moved write to %u/%u", q->st.write_idx, q->st.write_seq);
            tcpshm_msg_header h;
            tcpshm_header_decode(q->data + st.write_idx, c->cfg.little_endian, &h);
            FZ_CHECK(h.size == asz && h.msg_type == type && h.ack_seq == st.my_ack,
                     "pushed header (%u, %u, %u)", h.size, h.msg_type, h.ack_seq);
            break;
        }
        case 2: { /* mark_sent, possibly more than sendable */
            const uint8_t *p;
            uint32_t sl = tcpshm_ptcp_queue_sendable(q, &p);
            tcpshm_ptcp_queue_mark_sent(q, fz_u16(in) % (sl + 2u));
            break;
        }
        case 3: { /* ack */
            uint32_t seq = st.read_seq + step(fz_u8(in));
            if (fz_u8(in) == 0xff)
                seq = fz_u32(in);
            int rc = tcpshm_ptcp_queue_ack(q, seq, &err);
            if ((int32_t)(seq - st.read_seq) <= 0) {
                FZ_CHECK(rc == 0 && q->st.read_seq == st.read_seq, "stale ack %u: %d", seq, rc);
            } else if ((int32_t)(seq - sent_seq) > 0) {
                FZ_CHECK(rc == TCPSHM_E_BAD_ACK && q->st.read_seq == st.read_seq &&
                             q->st.read_idx == st.read_idx,
                         "ack %u beyond sent %u: %d", seq, sent_seq, rc);
            } else {
                FZ_CHECK(rc == 0 && q->st.read_seq == seq && q->st.write_seq == st.write_seq,
                         "ack %u: %d, read_seq %u", seq, rc, q->st.read_seq);
            }
            break;
        }
        case 4: { /* rewind, as at login */
            uint32_t ack = st.read_seq + step(fz_u8(in));
            int rc = tcpshm_ptcp_queue_rewind(q, ack, &err);
            if (fz_in_range(ack, st.read_seq, st.write_seq)) {
                FZ_CHECK(rc == 0 && q->st.read_seq == ack && q->sent_seq == ack &&
                             q->send_idx == q->st.read_idx && q->sent_idx == q->st.read_idx,
                         "rewind %u: %d", ack, rc);
            } else {
                FZ_CHECK(rc == TCPSHM_E_BAD_ACK && q->st.read_seq == st.read_seq, "rewind %u outside: %d",
                         ack, rc);
            }
            break;
        }
        case 5: /* popped */
            tcpshm_ptcp_queue_popped(q);
            FZ_CHECK(q->st.my_ack == st.my_ack + 1u, "popped");
            break;
        case 6: /* reset */
            if (fz_u8(in) % 4u != 0)
                break; /* rarely: it empties everything */
            tcpshm_ptcp_queue_reset(q);
            FZ_CHECK(q->st.read_seq == 0 && q->st.write_seq == 0 && q->st.my_ack == 0 &&
                         q->st.read_idx == 0 && q->st.write_idx == 0 && q->alloc_size == 0,
                     "reset");
            break;
        case 7: { /* close and reopen: the state persists */
            tcpshm_ptcp_queue_close(q);
            int rc = tcpshm_ptcp_queue_open(q, c->env, "q", c->local, c->remote, &c->cfg, &err);
            FZ_CHECK(rc == 0, "reopen failed: %s", err.text);
            FZ_CHECK(q->st.read_idx == st.read_idx && q->st.write_idx == st.write_idx &&
                         q->st.read_seq == st.read_seq && q->st.write_seq == st.write_seq &&
                         q->st.my_ack == st.my_ack,
                     "reopen changed the state");
            FZ_CHECK(q->send_idx == st.read_idx && q->sent_seq == st.read_seq, "reopen send position");
            break;
        }
        default: { /* send everything */
            const uint8_t *p;
            uint32_t sl = tcpshm_ptcp_queue_sendable(q, &p);
            tcpshm_ptcp_queue_mark_sent(q, sl);
            FZ_CHECK(q->sent_seq == q->st.write_seq && q->sent_idx == q->st.write_idx,
                     "after sending all, sent_seq %u write_seq %u", q->sent_seq, q->st.write_seq);
            break;
        }
        }
        check_queue(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tcpshm_error err;
    /* any bytes, no expectations */
    (void)tcpshm_ptcp_queue_verify(data, size, NULL, NULL, NULL, &err);

    uint32_t capf = size >= OFF_CAP + 4 ? rd32(data + OFF_CAP) : 0;
    bool plausible = capf % 8 == 0 && capf >= 16 && capf <= 65536;
    size_t img_len = plausible && size >= HDR + capf ? HDR + capf : size;
    fz_in in;
    fz_in_init(&in, data + img_len, size - img_len);
    uint8_t sel = fz_u8(&in);

    ctx c;
    memset(&c, 0, sizeof c);
    c.cfg.capacity = plausible ? capf : 1024;
    c.cfg.max_msg_size = max_sizes[sel & 7u];
    if (!(sel & 8u) && c.cfg.max_msg_size > c.cfg.capacity)
        c.cfg.max_msg_size = c.cfg.capacity;
    c.cfg.little_endian = size >= OFF_WIRE + 4 ? rd32(data + OFF_WIRE) == 1 : true;
    if (sel & 16u)
        c.cfg.little_endian = !c.cfg.little_endian;
    strcpy(c.local, "server");
    strcpy(c.remote, "client");
    if (!(sel & 32u) && size >= HDR) {
        char l[65] = {0}, r[65] = {0};
        memcpy(l, data + OFF_LOCAL, 64);
        memcpy(r, data + OFF_REMOTE, 64);
        if (tcpshm_name_check(l, 64, NULL, NULL) == 0 && tcpshm_name_check(r, 64, NULL, NULL) == 0) {
            strcpy(c.local, l);
            strcpy(c.remote, r);
        }
    }
    bool config_ok = c.cfg.max_msg_size >= 16 && c.cfg.capacity >= c.cfg.max_msg_size;
    int rc_v = tcpshm_ptcp_queue_verify(data, img_len, c.local, c.remote, &c.cfg, &err);

    c.v = venv_create(NULL);
    FZ_CHECK(c.v != NULL, "venv");
    c.env = venv_env(c.v);
    venv_set_owner(c.v, 1);
    FZ_CHECK(c.env->mkdir(c.v, "q", 0700) == 0, "mkdir");
    snprintf(c.path, sizeof c.path, "q/%s_%s.ptcp", c.local, c.remote);
    FZ_CHECK(venv_file_write(c.v, c.path, data, img_len) == 0, "write");
    /* verify judges the bytes alone; open also applies the boot check
     * against this host's boot id (a file written unsynced in another boot
     * is refused). The venv's boot id is its own, never the file's. */
    if (rc_v == 0) {
        uint8_t now[16];
        FZ_CHECK(c.env->boot_id(c.env->ctx, now) == 0, "boot_id");
        rc_v = tcpshm_ptcp_queue_boot_check(rd32(data + OFF_WRITTEN), data + OFF_BOOT_ID, now, &err);
    }
    memset(&err, 0, sizeof err);
    int rc_o = tcpshm_ptcp_queue_open(&c.q, c.env, "q", c.local, c.remote, &c.cfg, &err);
    if (config_ok)
        FZ_CHECK(rc_o == rc_v, "open says %d (%s), verify says %d", rc_o, err.text, rc_v);
    if (rc_o != 0) {
        size_t len = 0;
        const uint8_t *d = venv_file_data(c.v, c.path, &len);
        FZ_CHECK(d && len == img_len && memcmp(d, data, img_len) == 0, "a rejected file was changed");
        FZ_CHECK(venv_mapping_count(c.v, 1) == 0 && venv_handle_count(c.v, 1) == 0,
                 "a failed open left a mapping or a handle");
        venv_destroy(c.v);
        return 0;
    }
    /* the queue starts from the active record */
    const uint8_t *slot = data + OFF_SLOTS + 32u * rd32(data + OFF_ACTIVE);
    FZ_CHECK(c.q.st.read_idx == rd32(slot) && c.q.st.write_idx == rd32(slot + 4) &&
                 c.q.st.read_seq == rd32(slot + 8) && c.q.st.write_seq == rd32(slot + 12) &&
                 c.q.st.my_ack == rd32(slot + 16),
             "the opened state is not the file's active record");
    run_ops(&c, &in);
    tcpshm_ptcp_queue_close(&c.q);
    FZ_CHECK(venv_mapping_count(c.v, 1) == 0 && venv_handle_count(c.v, 1) == 0, "close left something");
    venv_destroy(c.v);
    return 0;
}
