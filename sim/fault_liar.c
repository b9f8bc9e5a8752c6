/* The liar (fault_liar.h): a raw peer that tells the server one lie per
 * attempt and checks the answer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fault_liar.h"
#include "fault_twin.h"
#include "pairs.h"
#include "sim_state.h"
#include "tcpshm/frame.h"
#include "tcpshm/shm_queue.h"
#include "world.h"

enum {
    /* after a valid login as liar0 */
    LIE_ACK_MSG,   /* an application message whose ack is beyond the server's range: "Bad ack" */
    LIE_ACK_HB,    /* a heartbeat with a wild ack: "Bad ack" */
    LIE_STALE_ACK, /* a heartbeat with an ack before the server's range: ignored, no close */
    LIE_BAD_FRAME, /* a header of size < 8 ("Bad frame") or past max_msg_size */
    /* a login the server must refuse with a response */
    LIE_REVERSED,  /* liar0 resumes with seq_start after seq_end: status 1 "Seq number mismatch" */
    LIE_LIVE_NAME, /* the name of an honest client that is logged in: "Already logged on" */
    LIE_BAD_NAME,  /* a name with a space, a '/', "..", or empty: "Invalid client name" */
    LIE_SHM_REFUSED, /* liar1 asks SHM of a server without SHM groups ("Shared memory not enabled"), or
                        from another host ("Shared memory needs local peer") */
    LIE_SWITCH,      /* a liar name asks the other transport than its slot's: "Logged in over TCP before"
                        ("... SHM before") */
    LIE_GROUP,       /* the application (told by the login's mark) returns a group out of range: "Login Reject" */
    /* a login the server must drop without a response */
    LIE_UNTERMINATED,   /* a client (or last server) name field without a NUL */
    LIE_BAD_LOGIN_SIZE, /* a login header with another size, or another type */
    LIE_USE_SHM,        /* a use_shm byte of 2-255: "login: use_shm is ..." */
    /* after a valid login as liar0 */
    LIE_ACK_UNSENT, /* the server holds messages for liar0 it could not send (liar0 reads nothing after the
                       response; the pushes overflow the link): a heartbeat acknowledges one of them, "Bad ack" */
    LIES_TCP,
    /* after a valid SHM login as liar1, written into its segments: a word
     * the server reads in its segment from liar1 closes with "Bad shm message" */
    LIE_SHM_SEQ = LIES_TCP, /* a slot word with another seq */
    LIE_SHM_LEN,            /* a slot length that is no slot's */
    LIE_SHM_SIZE,           /* a header size that does not fit its slot */
    LIE_SHM_WRAP0,          /* a wrap marker at offset 0 */
    LIE_SHM_REWRITE,        /* a valid message, rewritten while the server holds it */
    LIE_SHM_LANDMINE,       /* in the server's own segment to liar1, at its next slot, a slot word of
                               another seq: the server's recovery must not take it (no close) */
    LIE_SHM_CONSUMER,       /* liar1's published consumer position (in the server's segment to it)
                               past anything the server pushed: never taken as its seq_start (no close) */
    LIE_SHM_HEADER,         /* before liar1's login, its segment to the server gets a bad header (magic,
                               version, sizes, byte order, capacity) or producer position: the login is
                               refused ("Seq number mismatch" where the server has liar1's segments
                               open, else "System error": they do not open) */
    LIE_SHM_CONSUMER_BAD,   /* the server's application fills its segment to liar1 (which consumes
                               nothing), then liar1's consumer word goes back, past the pushes, outside
                               the data area or off its slot, and the application pushes again: the
                               server reads the word only then, and must close ("Bad shm word") */
    LIE_SHM_TCP_MSG,        /* after the SHM login, an application message over liar1's TCP socket,
                               which carries heartbeats only: "Bad frame: application message ..." */
    LIES
};

static const char *const lie_names[LIES] = {
    "an ack beyond the range in a message", "a wild ack in a heartbeat", "a stale ack",
    "a header with a bad size",             "a reversed login range",    "a login as a live client",
    "an invalid client name",               "an SHM login the server cannot take", "a login over the other transport",
    "a group out of range",                 "an unterminated client name", "a login header with a bad size or type",
    "a use_shm byte of neither 0 nor 1",   "an ack past the messages sent",
    "an SHM slot word with another seq",    "an SHM slot length of no slot", "an SHM header size off its slot",
    "an SHM wrap marker at offset 0",       "an SHM message rewritten while held", "an SHM slot word in the server's segment",
    "an SHM consumer position past the pushes", "a bad SHM segment header or producer position",
    "a bad SHM consumer word where the server's queue is full", "an application message over an SHM link's TCP"};

enum { HDR_GROWN = 12, HDR_WAYS }; /* the header lie's ways (header_tell) */

/* Reasons a fault of the run can give instead of the lie's: the attempt
 * then proves nothing ("Timeout" only when the server was blocked). */
static bool benign(const char *r)
{
    static const char *const texts[] = {"Remote close", "Read error", "Send error", "Request close",
                                        "Server stopped", "Too many connections logging in",
                                        /* the liar's previous login still pending (a stalled group) */
                                        "Already logged on",
                                        "System error", /* a file fault at the pair's open */
                                        "Sync error" /* host durability: a sync fault before a send */};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strncmp(r, texts[i], strlen(texts[i])) == 0)
            return true;
    return strcmp(r, "Timeout before login") == 0;
}

static bool starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* The answer the lie is owed (a login as an honest client that is not
 * logged in is refused by the application instead: liar_new_conn). */
static bool owed(const liar *L, const char *text)
{
    return starts(text, L->expect) || (L->lie == LIE_LIVE_NAME && strcmp(text, "Not live (sim)") == 0);
}

/* (the first byte first: asked for every pair, every step) */
bool liar_name(const char *name)
{
    return name[0] == SIM_LIAR_NAME[0] && (strcmp(name, SIM_LIAR_NAME) == 0 || strcmp(name, SIM_SHM_LIAR_NAME) == 0);
}

static bool shm_lie(int lie) { return lie >= LIES_TCP; }

bool liar_holds_segment(const sim *s, const char *remote)
{
    return (s->liar.lie == LIE_SHM_CONSUMER || s->liar.lie == LIE_SHM_HEADER || s->liar.lie == LIE_SHM_CONSUMER_BAD) &&
           s->liar.shm_written &&
           strcmp(remote, SIM_SHM_LIAR_NAME) == 0;
}

/* The client name of the liar's own pair for this attempt's lie. */
static const char *pair_name(const liar *L)
{
    if (liar_name(L->name))
        return L->name;
    return shm_lie(L->lie) ? SIM_SHM_LIAR_NAME : SIM_LIAR_NAME;
}

/* The lies told by a login (the answer is a response, or a drop). */
static bool login_lie(int lie) { return (lie >= LIE_REVERSED && lie < LIE_ACK_UNSENT) || lie == LIE_SHM_HEADER; }

static const tcpshm_env *raw(sim *s) { return venv_env(s->v); }

static void shm_take_back(sim *s, liar *L);

/* Ends the attempt: closes the socket; outcome for the trace. */
static void finish(sim *s, liar *L, uint32_t outcome, const char *text)
{
    if (L->fd >= 0)
        (void)raw(s)->sock_close(raw(s)->ctx, L->fd);
    L->fd = -1;
    trace_event(&s->tr, s->now, TR_LIAR, (uint32_t)L->lie, outcome, 0, text);
    /* the liar's own pair on the server: nothing was ever pushed to it nor
     * delivered from it (an SHM server that took a slot word of liar1's as
     * one it published before a kill would count it here) */
    node *sv = &s->nodes[0];
    tcpshm_conn *c = sv->alive ? tcpshm_server_find_conn(sv->srv, pair_name(L)) : NULL;
    if (L->lie == LIE_SHM_CONSUMER_BAD)
        shm_take_back(s, L); /* its word, as it was, before the check (a count the server could reach) */
    uint32_t pushed = strcmp(pair_name(L), SIM_LIAR_NAME) == 0 ? L->pushed : L->pushed_shm;
    if (c && !s->chk.violated &&
        (tcpshm_conn_seq_start(c) != 0 || tcpshm_conn_seq_end(c) > pushed || tcpshm_conn_my_ack(c) != 0))
        chk_fail(&s->chk, -1, "liar: after %s (%u) the server's state for %s is [%u, %u) my_ack %u (nothing was "
                              "delivered from it nor acknowledged by it, %u ever pushed to it)",
                 lie_names[L->lie], L->arg, pair_name(L), tcpshm_conn_seq_start(c), tcpshm_conn_seq_end(c),
                 tcpshm_conn_my_ack(c), pushed);
    shm_take_back(s, L); /* after the check: the consumer-position lie is read there */
}

static void violation(sim *s, liar *L, const char *what)
{
    chk_fail(&s->chk, -1, "liar: after %s (%u) %s; expected \"%s\"", lie_names[L->lie], L->arg, what, L->expect);
    finish(s, L, 3, what);
}

static void out_add(sim *s, liar *L, const void *p, uint32_t n)
{
    if (L->out_len + n > sizeof L->out) { /* not the lie meant: never sent cut */
        chk_fail(&s->chk, -1, "simulator: the liar's frames (%u bytes) do not fit its buffer", L->out_len + n);
        return;
    }
    memcpy(L->out + L->out_len, p, n);
    L->out_len += n;
}

static void out_header(sim *s, liar *L, uint16_t size, uint16_t type, uint32_t ack)
{
    uint8_t b[16];
    memset(b, 0, sizeof b);
    tcpshm_msg_header h = {size, type, ack};
    tcpshm_header_encode(&h, b, s->cfg.little_endian);
    out_add(s, L, b, size >= 8 && size <= 16 ? tcpshm_padded_size(size) : 8u);
}

static void out_login(sim *s, liar *L, const char *name, const char *last, uint32_t ack, uint32_t start,
                      uint32_t end, bool shm, uint8_t mark)
{
    tcpshm_login m;
    memset(&m, 0, sizeof m);
    m.ack_seq = ack;
    m.client_seq_start = start;
    m.client_seq_end = end;
    m.use_shm = shm ? 1u : 0u;
    m.user_data[0] = mark;
    snprintf(m.client_name, sizeof m.client_name, "%s", name);
    snprintf(m.last_server_name, sizeof m.last_server_name, "%s", last);
    uint8_t b[sizeof L->out];
    uint32_t n = tcpshm_login_encode(&s->cfg, &m, b);
    out_add(s, L, b, tcpshm_padded_size(n));
}

/* ---- liar1's segments, through the raw env as another process maps them ---- */

/* Reads or writes len bytes at off of the segment from -> to; false if it
 * is not there (a power loss took it). */
static bool seg_access(sim *s, const char *from, const char *to, uint32_t off, void *buf, uint32_t len, bool write)
{
    char name[2 * TCPSHM_NAME_MAX + 16];
    const tcpshm_env *e = raw(s);
    size_t size = TCPSHM_SHM_HEADER_SIZE + (size_t)s->cfg.shm_queue_size;
    if (tcpshm_shm_queue_name(name, sizeof name, from, to) != 0 || (size_t)off + len > size)
        return false;
    int fd = e->shm_open(e->ctx, name, 0, 0);
    if (fd < 0)
        return false;
    uint8_t *m = e->map(e->ctx, fd, size);
    (void)e->file_close(e->ctx, fd);
    if (!m)
        return false;
    if (write)
        memcpy(m + off, buf, len);
    else
        memcpy(buf, m + off, len);
    (void)e->unmap(e->ctx, m, size);
    return true;
}

static uint64_t word_of(uint32_t count, uint32_t len) { return (uint64_t)count << 32 | len; }

/* A slot at data position pos: its word, then a header and 8 bytes of body. */
static bool put_slot(sim *s, const char *from, const char *to, uint32_t pos, uint64_t word, uint16_t size)
{
    uint8_t b[24];
    memset(b, 0, sizeof b);
    tcpshm_msg_header h = {size, 99, 0};
    memcpy(b, &word, 8);
    memcpy(b + 8, &h, sizeof h);
    return pos + sizeof b <= s->cfg.shm_queue_size &&
           seg_access(s, from, to, TCPSHM_SHM_HEADER_SIZE + pos, b, sizeof b, true);
}

/* The count and position word of a segment's header (64: the producer's, 128: the consumer's). */
static bool get_state(sim *s, const char *from, const char *to, uint32_t at, uint32_t *count, uint32_t *pos)
{
    uint64_t w;
    if (!seg_access(s, from, to, at, &w, 8, false))
        return false;
    *count = (uint32_t)(w >> 32);
    *pos = (uint32_t)w;
    return true;
}

/* The end of an SHM attempt: the word the lie left where the server reads
 * is taken back (liar1 is the producer there: 0 is "nothing published"),
 * and the consumer word liar1 moved is put back as it was. A server that
 * held a checked message there would see that as a rewrite: the next
 * login is a new connection (another server's name), which clears the
 * segments. The landmine in the server's own segment stays, for the next
 * restart. */
static bool seg_resize(sim *s, const char *srv, uint64_t size);

static void shm_take_back(sim *s, liar *L)
{
    if (L->lie == LIE_SHM_HEADER && L->shm_written) { /* its own header (or size), as it was */
        if (L->arg == HDR_GROWN)
            (void)seg_resize(s, L->seg_srv, TCPSHM_SHM_HEADER_SIZE + (uint64_t)s->cfg.shm_queue_size);
        else
            (void)seg_access(s, SIM_SHM_LIAR_NAME, L->seg_srv, L->hdr_off, L->hdr_saved, L->hdr_len, true);
        L->shm_written = false;
    }
    if ((L->lie == LIE_SHM_CONSUMER || L->lie == LIE_SHM_CONSUMER_BAD) && L->shm_written) { /* its own consumer word */
        (void)seg_access(s, L->recorded[1], SIM_SHM_LIAR_NAME, 128, &L->shm_saved, 8, true);
        L->shm_written = false;
    }
    if (!L->shm_written)
        return;
    uint64_t zero = 0;
    (void)seg_access(s, SIM_SHM_LIAR_NAME, L->recorded[1], TCPSHM_SHM_HEADER_SIZE + L->shm_pos, &zero, 8, true);
    L->shm_written = false;
    if (L->lie == LIE_SHM_REWRITE)
        L->shm_fresh = true;
}

/* The SHM lie, after liar1's login was accepted: written at the server's
 * read position in liar1's segment (or, for the landmine, at its write
 * position in its own). */
static bool shm_tell(sim *s, liar *L)
{
    fp_plan *p = &s->plan;
    const char *srv = L->recorded[1];
    uint32_t count, pos, cap = s->cfg.shm_queue_size, len = 24;
    uint16_t size = 16;
    snprintf(L->expect, sizeof L->expect, "Bad shm message");
    if (L->lie == LIE_SHM_LANDMINE) {
        if (!get_state(s, srv, SIM_SHM_LIAR_NAME, 64, &count, &pos))
            return false;
        L->arg = 1u + fp_below(p, FP_LIAR, 1000);
        snprintf(L->expect, sizeof L->expect, "no close");
        L->deadline = s->now + 2 * s->cfg.heartbeat_interval; /* then the liar closes */
        return put_slot(s, srv, SIM_SHM_LIAR_NAME, pos, word_of(count + L->arg, len), size);
    }
    if (L->lie == LIE_SHM_CONSUMER_BAD) { /* the server's application pushes first (liar_server_push) */
        L->want_push = true;
        snprintf(L->expect, sizeof L->expect, "Bad shm word");
        return true;
    }
    if (L->lie == LIE_SHM_CONSUMER) {
        if (!seg_access(s, srv, SIM_SHM_LIAR_NAME, 128, &L->shm_saved, 8, false))
            return false;
        L->arg = 1u + fp_below(p, FP_LIAR, 1000);
        uint64_t w = word_of((uint32_t)(L->shm_saved >> 32) + L->arg, (uint32_t)L->shm_saved);
        snprintf(L->expect, sizeof L->expect, "no close");
        L->deadline = s->now + 2 * s->cfg.heartbeat_interval;
        L->shm_written = true;
        return seg_access(s, srv, SIM_SHM_LIAR_NAME, 128, &w, 8, true);
    }
    if (!get_state(s, SIM_SHM_LIAR_NAME, srv, 128, &count, &pos))
        return false;
    if (L->lie == LIE_SHM_WRAP0 && pos != 0)
        L->lie = LIE_SHM_SEQ; /* a marker elsewhere only sends the reader to offset 0 */
    switch (L->lie) {
    case LIE_SHM_SEQ:
        L->arg = 1u + fp_below(p, FP_LIAR, 1000);
        count += L->arg;
        break;
    case LIE_SHM_LEN: {
        const uint32_t lens[4] = {8u, 17u + fp_below(p, FP_LIAR, 7), cap - pos + 8u * (1u + fp_below(p, FP_LIAR, 4)),
                                  s->cfg.max_msg_size + 16u};
        len = L->arg = lens[fp_below(p, FP_LIAR, 4)];
        break;
    }
    case LIE_SHM_SIZE:
        size = (uint16_t)(fp_below(p, FP_LIAR, 2) ? fp_below(p, FP_LIAR, 8) : 17u + fp_below(p, FP_LIAR, 8));
        L->arg = size;
        break;
    case LIE_SHM_WRAP0:
        len = 1u; /* the marker's length */
        break;
    default: /* LIE_SHM_REWRITE: a valid message first */
        break;
    }
    L->shm_pos = pos;
    L->shm_written = true;
    return put_slot(s, SIM_SHM_LIAR_NAME, srv, pos, word_of(count, len), size);
}

/* The server holds liar1's valid message (its on_msg does not pop it): its
 * slot word, or its header's size, changes under it. */
static void shm_rewrite(sim *s, liar *L)
{
    fp_plan *p = &s->plan;
    uint32_t count, pos;
    if (!get_state(s, SIM_SHM_LIAR_NAME, L->recorded[1], 128, &count, &pos))
        return;
    uint32_t how = fp_below(p, FP_LIAR, 3);
    L->arg = 100u + how;
    L->delivered = 2;
    (void)put_slot(s, SIM_SHM_LIAR_NAME, L->recorded[1], L->shm_pos,
                   how == 0 ? word_of(count + 1u + fp_below(p, FP_LIAR, 1000), 24) : word_of(count, how == 1 ? 16 : 24),
                   how == 2 ? 24 : 16);
}

/* Where a liar's connect comes from and goes to (the server listens on
 * every address, so the host's own address 10.0.0.7 reaches it too): the
 * forms of this host an SHM login may come from, and those of another. */
typedef struct route {
    const char *from, *to;
} route;
static const route local_routes[] = {{"127.0.0.1", "127.0.0.1"}, {"127.0.0.2", "127.0.0.1"},
                                     {"::1", "127.0.0.1"},       {"::ffff:127.0.0.1", "127.0.0.1"},
                                     {"::FFFF:127.0.0.3", "127.0.0.1"}, {"10.0.0.7", "10.0.0.7"}};
static const route remote_routes[] = {{"10.0.0.9", "127.0.0.1"}, {"::ffff:10.0.0.9", "127.0.0.1"},
                                      {"0.0.0.0", "0.0.0.0"},     {"::", "::"},
                                      {"::ffff:0.0.0.0", "::ffff:0.0.0.0"}, {"10.0.0.9", "10.0.0.7"}};
#define N_ROUTES (sizeof local_routes / sizeof local_routes[0])

static void put32(uint8_t *b, uint32_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static uint32_t swap32(uint32_t v) { return v >> 24 | (v >> 8 & 0xff00u) | (v << 8 & 0xff0000u) | v << 24; }
static uint32_t get32(const uint8_t *b, uint32_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

/* The header lie, told before liar1's login: one field of the header of
 * its segment to the server (core/src/shm_queue.c's layout: magic 0,
 * version 8, header_size 12, capacity 16, endian_mark 20; the producer's
 * word at 64, the consumer's at 128) made wrong, or the segment grown.
 * The position and size ways only where the server does not have the
 * segments open (it reads them at the open; a server that has them open
 * was told nothing new of them). False if the segment or its header is not
 * there. */
/* Resizes liar1's segment to the server srv (the header lie's growth and
 * its taking back). */
static bool seg_resize(sim *s, const char *srv, uint64_t size)
{
    char name[2 * TCPSHM_NAME_MAX + 16];
    const tcpshm_env *e = raw(s);
    if (tcpshm_shm_queue_name(name, sizeof name, SIM_SHM_LIAR_NAME, srv) != 0)
        return false;
    int fd = e->shm_open(e->ctx, name, 0, 0);
    if (fd < 0)
        return false;
    int rc = e->file_resize(e->ctx, fd, size);
    (void)e->file_close(e->ctx, fd);
    return rc == 0;
}

static bool header_tell(sim *s, liar *L)
{
    node *sv = &s->nodes[0];
    uint8_t h[136];
    static const uint8_t none[8];
    if (!seg_access(s, SIM_SHM_LIAR_NAME, sv->name, 0, h, sizeof h, false) || memcmp(h, none, 8) == 0)
        return false; /* no header yet (its creator died): the next open writes one over any lie */
    L->hdr_slot = tcpshm_server_find_conn(sv->srv, SIM_SHM_LIAR_NAME) != NULL;
    L->arg = fp_below(&s->plan, FP_LIAR, L->hdr_slot ? 6u : (uint32_t)HDR_WAYS);
    L->hdr_off = L->arg < 6 ? 0u : L->arg == 9 || L->arg == 10 ? 128u : 64u;
    L->hdr_len = L->arg < 6 ? 24u : L->arg == HDR_GROWN ? 0u : 8u;
    memcpy(L->hdr_saved, h + L->hdr_off, L->hdr_len);
    snprintf(L->seg_srv, sizeof L->seg_srv, "%s", sv->name);
    uint32_t cap = s->cfg.shm_queue_size, rc = get32(h, 132), rp = get32(h, 128);
    L->shm_written = true;
    if (L->arg == HDR_GROWN) /* the segment 8 bytes longer than its capacity says */
        return seg_resize(s, sv->name, TCPSHM_SHM_HEADER_SIZE + (uint64_t)cap + 8u);
    switch (L->arg) {
    case 0: h[7] ^= 0x20u; break;                                 /* a bit of the magic */
    case 1: memset(h, 0, 8); break;                               /* no magic: "being created" */
    case 2: put32(h, 8, get32(h, 8) + 1u); break;                 /* a version to come */
    case 3: put32(h, 12, 512u); break;                            /* header size */
    case 4: put32(h, 20, swap32(get32(h, 20))); break;            /* the other byte order */
    case 5: put32(h, 16, get32(h, 16) + 8u); break;               /* capacity */
    case 6: put32(h, 64, rp + 4u); put32(h, 68, rc + 1u); break;  /* off the 8-byte grid */
    case 7: put32(h, 64, cap); put32(h, 68, rc + 1u); break;      /* past the capacity */
    case 8: put32(h, 64, rp); put32(h, 68, rc + (1u << 20)); break; /* more in flight than fit */
    case 9: put32(h, 128, rp + 4u); break;                        /* the consumer's off the grid */
    case 10: put32(h, 128, cap); break;                           /* ... past the capacity */
    default: put32(h, 64, rp); put32(h, 68, rc - 1u); break;      /* one behind, no slot between */
    }
    return seg_access(s, SIM_SHM_LIAR_NAME, sv->name, L->hdr_off, h + L->hdr_off, L->hdr_len, true);
}

/* The count of liar-name logins under way at this server incarnation
 * (NULL: not a liar name). */
static uint32_t *under_way(sim *s, const char *name)
{
    liar *L = &s->liar;
    if (L->under_way_owner != s->nodes[0].owner) { /* a dead server's logins died with it */
        L->under_way[0] = L->under_way[1] = 0;
        L->under_way_owner = s->nodes[0].owner;
    }
    return strcmp(name, SIM_LIAR_NAME) == 0 ? &L->under_way[0] : strcmp(name, SIM_SHM_LIAR_NAME) == 0 ? &L->under_way[1] : NULL;
}

/* A login of name ended at the server (refused, mismatched or accepted). */
static void login_ended(sim *s, const char *name)
{
    uint32_t *n = under_way(s, name);
    if (n && *n > 0)
        (*n)--;
}

static void start(sim *s, liar *L)
{
    node *sv = &s->nodes[0];
    fp_plan *p = &s->plan;
    for (int i = 0; i < 2; i++) {
        const char *name = i ? SIM_SHM_LIAR_NAME : SIM_LIAR_NAME;
        tcpshm_conn *old = tcpshm_server_find_conn(sv->srv, name);
        if ((old && tcpshm_conn_is_connected(old)) || *under_way(s, name) > 0)
            return; /* the server has not yet seen the last attempt's close, or ended its login
                     * (an attempt that proved nothing may leave it pending in a stalled group
                     * poll: seeds 6828 --faults all, 310 swarm) */
    }
    /* SHM lies where liar1 can log in over SHM (segments are not host-durable) */
    bool shm = s->cfg.shm_groups > 0 && s->cfg.durability != TCPSHM_DURABILITY_HOST;
    L->lie = (int)fp_below(p, FP_LIAR, shm ? LIES : LIES_TCP);
    L->phase = !login_lie(L->lie) ? 0 : 1; /* a valid login first */
    L->out_len = L->out_off = L->in_len = 0;
    L->seen[0] = L->file_err[0] = '\0';
    L->syserr = false;
    L->srv_blocked = false;
    L->delivered = 0;
    L->want_push = L->pushed_now = L->unsent_known = false;
    L->srv_owner = sv->owner;
    L->deadline = s->now + 2 * s->cfg.connection_timeout + 2 * s->cfg.new_conn_timeout;
    L->arg = 0;
    snprintf(L->name, sizeof L->name, "%s", SIM_LIAR_NAME);
    L->expect[0] = '\0';
    /* an SHM login comes from one of this host's forms */
    const route *from = &local_routes[shm_lie(L->lie) ? fp_below(p, FP_LIAR, N_ROUTES) : 0];
    if (L->lie == LIE_SHM_HEADER && !header_tell(s, L)) {
        L->lie = LIE_SHM_SEQ; /* no segment to lie in: a lie after a valid login instead */
        L->phase = 0;
    }
    switch (L->lie) {
    case LIE_REVERSED: {
        uint32_t end = 1u + fp_below(p, FP_LIAR, 2);
        L->arg = end + 1u + fp_below(p, FP_LIAR, 1000);
        snprintf(L->expect, sizeof L->expect, "Seq number mismatch");
        out_login(s, L, SIM_LIAR_NAME, sv->name, 0, L->arg, end, false, 0);
        break;
    }
    case LIE_LIVE_NAME: {
        node *h = &s->nodes[1u + fp_below(p, FP_LIAR, s->nnodes - 1u)];
        snprintf(L->name, sizeof L->name, "%s", h->name);
        snprintf(L->expect, sizeof L->expect, "Already logged on");
        out_login(s, L, h->name, "", 0, 0, 0, sim_client_shm(s, h->name), SIM_LIAR_MARK);
        break;
    }
    case LIE_BAD_NAME: {
        static const char *const bad[] = {"li ar", "li/ar", "..liar", ""};
        L->arg = fp_below(p, FP_LIAR, 4);
        snprintf(L->name, sizeof L->name, "%s", bad[L->arg]);
        snprintf(L->expect, sizeof L->expect, "Invalid client name");
        out_login(s, L, L->name, "", 0, 0, 0, false, 0);
        break;
    }
    case LIE_UNTERMINATED: /* the client name's field, or the last server name's */
        L->arg = fp_below(p, FP_LIAR, 2);
        /* the server reports the refused login with the client name it could read ("" none):
         * a name of no pair (the refusal of liar0's would drop the note of a login of its
         * that is still pending) */
        snprintf(L->name, sizeof L->name, "%s", L->arg ? SIM_LIAR_SENT_NAME : "");
        snprintf(L->expect, sizeof L->expect, "Invalid %s name", L->arg ? "last server" : "client");
        out_login(s, L, L->arg ? SIM_LIAR_SENT_NAME : SIM_LIAR_NAME, "", 0, 0, 0, false, 0); /* status 2 (docs/protocol.md) */
        memset(L->out + 17u + s->cfg.login_user_data_size + L->arg * s->cfg.name_size, 'x', s->cfg.name_size);
        break;
    case LIE_BAD_LOGIN_SIZE: {
        static const uint16_t types[] = {TCPSHM_MSG_HEARTBEAT, 2, 3, 99};
        uint16_t type = 1;
        L->name[0] = '\0';
        L->arg = tcpshm_login_size(&s->cfg);
        if (fp_below(p, FP_LIAR, 2))
            L->arg += 4u * (1u + fp_below(p, FP_LIAR, 4));
        else
            type = types[fp_below(p, FP_LIAR, 4)];
        snprintf(L->expect, sizeof L->expect, "Bad login: type %u size %u", type, L->arg);
        out_login(s, L, SIM_LIAR_NAME, "", 0, 0, 0, false, 0);
        tcpshm_msg_header h = {(uint16_t)L->arg, type, 0};
        tcpshm_header_encode(&h, L->out, s->cfg.little_endian);
        break;
    }
    case LIE_SHM_REFUSED: /* liar1, SHM, its own transport: where SHM is off, or from another host */
        snprintf(L->name, sizeof L->name, "%s", SIM_SHM_LIAR_NAME);
        L->arg = fp_below(p, FP_LIAR, N_ROUTES);
        from = shm ? &remote_routes[L->arg] : from;
        snprintf(L->expect, sizeof L->expect, "%s",
                 s->cfg.shm_groups == 0                        ? "Shared memory not enabled"
                 : s->cfg.durability == TCPSHM_DURABILITY_HOST ? "Shared memory not host-durable"
                                                               : "Shared memory needs local peer");
        out_login(s, L, SIM_SHM_LIAR_NAME, L->recorded[1], 0, 0, 0, true, SIM_LIAR_MARK_OWN);
        break;
    case LIE_SWITCH: { /* a name the server has a slot for, over the other transport */
        tcpshm_conn *c0 = tcpshm_server_find_conn(sv->srv, SIM_LIAR_NAME);
        tcpshm_conn *c1 = tcpshm_server_find_conn(sv->srv, SIM_SHM_LIAR_NAME);
        bool tcp_to_shm = shm && c0, shm_to_tcp = c1; /* liar0 logs in over TCP only, liar1 over SHM */
        if (tcp_to_shm && shm_to_tcp)
            tcp_to_shm = fp_below(p, FP_LIAR, 2) == 0;
        if (tcp_to_shm || shm_to_tcp) {
            snprintf(L->name, sizeof L->name, "%s", tcp_to_shm ? SIM_LIAR_NAME : SIM_SHM_LIAR_NAME);
            snprintf(L->expect, sizeof L->expect, "Logged in over %s before", tcp_to_shm ? "TCP" : "SHM");
            out_login(s, L, L->name, L->recorded[tcp_to_shm ? 0 : 1], 0, 0, 0, tcp_to_shm, SIM_LIAR_MARK_OWN);
            break;
        }
        L->lie = LIE_GROUP; /* no slot to switch */
    } /* fall through */
    case LIE_GROUP: /* 3: the application refuses without a reason */
        L->arg = fp_below(p, FP_LIAR, 4);
        snprintf(L->expect, sizeof L->expect, "Login Reject");
        out_login(s, L, SIM_LIAR_NAME, L->recorded[0], 0, 0, 0, false, SIM_LIAR_MARK_GROUP);
        break;
    case LIE_USE_SHM:
        L->name[0] = '\0'; /* dropped: the server reports it with "" */
        L->arg = 2u + fp_below(p, FP_LIAR, 254);
        snprintf(L->expect, sizeof L->expect, "login: use_shm is %u", L->arg);
        out_login(s, L, SIM_LIAR_NAME, "", 0, 0, 0, false, 0);
        L->out[16u + s->cfg.login_user_data_size] = (uint8_t)L->arg;
        break;
    case LIE_SHM_HEADER:
        snprintf(L->name, sizeof L->name, "%s", SIM_SHM_LIAR_NAME);
        snprintf(L->expect, sizeof L->expect, "%s", L->hdr_slot ? "Seq number mismatch" : "System error");
        out_login(s, L, SIM_SHM_LIAR_NAME, L->shm_fresh ? "elsewhere" : L->recorded[1], 0, 0, 0, true, 0);
        break;
    default: /* a valid login first: resuming the last accepted server name */
        if (shm_lie(L->lie)) {
            snprintf(L->name, sizeof L->name, "%s", SIM_SHM_LIAR_NAME);
            /* fresh: a server name it never had ("" would be the first-login
             * window, which keeps an untouched pair as it is) */
            out_login(s, L, SIM_SHM_LIAR_NAME, L->shm_fresh ? "elsewhere" : L->recorded[1], 0, 0, 0, true, 0);
        } else {
            /* once the server held messages for liar0, a new connection
             * (which resets them): the lies' acks count from an empty pair */
            out_login(s, L, SIM_LIAR_NAME, L->pushed ? "elsewhere" : L->recorded[0], 0, 0, 0, false, 0);
        }
        break;
    }
    (void)venv_set_connect_host(s->v, from->from);
    L->fd = raw(s)->connect(raw(s)->ctx, from->to, SIM_PORT);
    (void)venv_set_connect_host(s->v, NULL);
    if (L->fd >= 0)
        trace_event(&s->tr, s->now, TR_LIAR, (uint32_t)L->lie, 0, L->arg, L->name);
}

/* The lie after liar0's or liar1's login was accepted (server range [0, 0], my_ack 0). */
static void tell_lie(sim *s, liar *L)
{
    fp_plan *p = &s->plan;
    L->phase = 1;
    /* what the server said of the name before is not about the lie: e.g. a
     * login of an earlier attempt that stayed pending (a stalled group)
     * ending in a mismatch just before this attempt's login was accepted */
    L->seen[0] = '\0';
    L->deadline = s->now + 2 * s->cfg.connection_timeout + s->cfg.new_conn_timeout;
    if (L->lie == LIE_SHM_TCP_MSG) { /* the socket, not the segments */
        snprintf(L->expect, sizeof L->expect, "Bad frame: application message over TCP");
        out_header(s, L, 16, 99, 0);
        return;
    }
    if (shm_lie(L->lie)) {
        if (!shm_tell(s, L))
            finish(s, L, 2, "no segment");
        return;
    }
    switch (L->lie) {
    case LIE_ACK_MSG:
        L->arg = 1u + fp_below(p, FP_LIAR, 1000);
        snprintf(L->expect, sizeof L->expect, "Bad ack");
        out_header(s, L, 16, 99, L->arg);
        break;
    case LIE_ACK_HB:
        L->arg = 1u + fp_below(p, FP_LIAR, 1u << 30);
        snprintf(L->expect, sizeof L->expect, "Bad ack");
        out_header(s, L, 8, TCPSHM_MSG_HEARTBEAT, L->arg);
        break;
    case LIE_ACK_UNSENT: /* the server's application pushes first (liar_server_push), then unsent_tell */
        L->want_push = true;
        snprintf(L->expect, sizeof L->expect, "Bad ack");
        break;
    case LIE_STALE_ACK:
        L->arg = 0u - 1u - fp_below(p, FP_LIAR, 1000);
        snprintf(L->expect, sizeof L->expect, "no close");
        L->deadline = s->now + 2 * s->cfg.heartbeat_interval; /* then the liar closes */
        out_header(s, L, 8, TCPSHM_MSG_HEARTBEAT, L->arg);
        break;
    default: /* LIE_BAD_FRAME */
        if (fp_below(p, FP_LIAR, 2)) {
            L->arg = fp_below(p, FP_LIAR, 8);
            snprintf(L->expect, sizeof L->expect, "Bad frame");
        } else {
            L->arg = s->cfg.max_msg_size + 1u + fp_below(p, FP_LIAR, 65535u - s->cfg.max_msg_size);
            snprintf(L->expect, sizeof L->expect, "Msg size larger than recv buf max size");
        }
        out_header(s, L, (uint16_t)L->arg, 99, 0);
        break;
    }
}

/* The ack past the messages sent, once the server's application pushed
 * to liar0: where the pushes overflowed the link, an ack of one of the
 * messages that cannot have been sent (up to the server's seq_end, the
 * last pushed: the window mutation 17 takes); else one past seq_end.
 * False when the attempt ended here. */
static bool unsent_tell(sim *s, liar *L)
{
    fp_plan *p = &s->plan;
    tcpshm_conn *c = tcpshm_server_find_conn(s->nodes[0].srv, SIM_LIAR_NAME);
    if (!c) {
        finish(s, L, 2, "no pair");
        return false;
    }
    uint32_t end = tcpshm_conn_seq_end(c);
    if (L->unsent_known && (int32_t)(end - L->unsent_seq) > 0) /* it is: nothing reset the pair since */
        L->arg = L->unsent_seq + 1u + fp_below(p, FP_LIAR, end - L->unsent_seq);
    else
        L->arg = end + 1u + fp_below(p, FP_LIAR, 1000);
    out_header(s, L, 8, TCPSHM_MSG_HEARTBEAT, L->arg);
    return true;
}

/* The bad consumer word, once the server's application filled its segment
 * to liar1: back one, past the pushes, outside the data area, off the
 * 8-byte grid, or one consumed but not at a slot; then the application
 * pushes again, which reads the word. False when the attempt ended here. */
static bool consumer_bad_tell(sim *s, liar *L)
{
    const char *srv = L->recorded[1];
    uint32_t wc, wp, cap = s->cfg.shm_queue_size;
    if (!seg_access(s, srv, SIM_SHM_LIAR_NAME, 128, &L->shm_saved, 8, false) ||
        !get_state(s, srv, SIM_SHM_LIAR_NAME, 64, &wc, &wp)) {
        finish(s, L, 2, "no segment");
        return false;
    }
    uint32_t rc = (uint32_t)(L->shm_saved >> 32), rp = (uint32_t)L->shm_saved;
    L->arg = fp_below(&s->plan, FP_LIAR, 5);
    uint64_t w;
    switch (L->arg) {
    case 0: w = word_of(rc - 1u, rp); break;        /* went back */
    case 1: w = word_of(wc + 1u, rp); break;        /* past the producer */
    case 2: w = word_of(rc, cap); break;            /* outside the data area */
    case 3: w = word_of(rc, rp + 4u); break;        /* off the grid */
    default: w = word_of(rc + 1u, rp + 8u); break;  /* one consumed, inside the first slot */
    }
    L->shm_written = true;
    L->want_push = true;
    if (!seg_access(s, srv, SIM_SHM_LIAR_NAME, 128, &w, 8, true)) {
        finish(s, L, 2, "no segment");
        return false;
    }
    return true;
}

/* The header lie where the server had to open liar1's segments: its
 * on_client_file_error names the segment and says what is wrong with it
 * (a file fault of the run at the open, "cannot ...", proves nothing).
 * False when judged here. */
static bool header_reason_ok(sim *s, liar *L)
{
    static const char *const needles[HDR_WAYS] = {
        "bad magic", "being created", "version", "foreign header", "foreign header", "capacity",
        "positions out of range", "positions out of range", "positions out of range", "positions out of range",
        "positions out of range", "positions out of range", "bytes, expected"};
    char seg[2 * TCPSHM_NAME_MAX + 16], what[400];
    (void)tcpshm_shm_queue_name(seg, sizeof seg, SIM_SHM_LIAR_NAME, L->seg_srv);
    if (strstr(L->file_err, needles[L->arg]) && strstr(L->file_err, seg))
        return true;
    if (starts(L->file_err, "cannot ")) {
        finish(s, L, 2, L->file_err);
        return false;
    }
    snprintf(what, sizeof what, "the server refused the segment with \"%.120s\", which does not name %s and say \"%s\"",
             L->file_err, seg, needles[L->arg]);
    violation(s, L, what);
    return false;
}

static void on_response(sim *s, liar *L, const tcpshm_login_rsp *r)
{
    char what[160];
    if (L->phase == 0) {
        if (r->status != TCPSHM_LOGIN_OK) {
            finish(s, L, 2, r->error_msg); /* e.g. a file fault: the lie needs a login */
            return;
        }
        memcpy(L->recorded[shm_lie(L->lie)], r->server_name, sizeof L->recorded[0]);
        if (shm_lie(L->lie))
            L->shm_fresh = false;
        tell_lie(s, L);
        return;
    }
    bool ok = false;
    switch (L->lie) {
    case LIE_REVERSED:
        if (r->status == TCPSHM_LOGIN_OK)
            memcpy(L->recorded[0], r->server_name, sizeof L->recorded[0]);
        if (r->status == TCPSHM_LOGIN_ERROR) {
            finish(s, L, 2, r->error_msg);
            return;
        }
        ok = r->status == TCPSHM_LOGIN_SEQ_MISMATCH;
        break;
    case LIE_LIVE_NAME:
        if (r->status == TCPSHM_LOGIN_ERROR && !owed(L, r->error_msg)) {
            finish(s, L, 2, r->error_msg);
            return;
        }
        ok = r->status == TCPSHM_LOGIN_ERROR;
        break;
    case LIE_BAD_NAME:
    case LIE_UNTERMINATED:
        ok = r->status == TCPSHM_LOGIN_ERROR && starts(r->error_msg, L->expect);
        break;
    case LIE_SHM_REFUSED:
    case LIE_SWITCH:
    case LIE_GROUP:
    case LIE_SHM_HEADER:
        if (r->status == TCPSHM_LOGIN_ERROR && !owed(L, r->error_msg) && benign(r->error_msg)) {
            finish(s, L, 2, r->error_msg); /* e.g. its previous login still pending */
            return;
        }
        ok = L->lie == LIE_SHM_HEADER && L->hdr_slot ? r->status == TCPSHM_LOGIN_SEQ_MISMATCH
                                                      : r->status == TCPSHM_LOGIN_ERROR && owed(L, r->error_msg);
        if (ok && L->lie == LIE_GROUP && L->arg < 3 && !L->syserr && world_server_reports(false)) { /* reported only then */
            violation(s, L, "the server refused it without telling its application (on_system_error)");
            return;
        }
        if (ok && L->lie == LIE_SHM_HEADER && !L->hdr_slot && world_server_reports(true) && !header_reason_ok(s, L))
            return;
        break;
    default: /* a login with a bad header size: dropped without a response */
        break;
    }
    if (ok) {
        finish(s, L, 1, r->error_msg);
        return;
    }
    snprintf(what, sizeof what, "the server answered status %u \"%.40s\"", r->status, r->error_msg);
    violation(s, L, what);
}

/* The server's reason (from its callbacks) against the expected one, once
 * the connection is gone or the attempt timed out. */
static void judge(sim *s, liar *L)
{
    char what[160];
    const char *seen = L->seen;
    if (L->lie == LIE_STALE_ACK || L->lie == LIE_SHM_LANDMINE || L->lie == LIE_SHM_CONSUMER) {
        if (starts(seen, "Bad ")) {
            snprintf(what, sizeof what, "the server closed with \"%.60s\"", seen);
            violation(s, L, what);
        } else {
            finish(s, L, 1, seen);
        }
        return;
    }
    if (seen[0] && L->expect[0] && owed(L, seen)) { /* expect "": the lie was not told yet */
        finish(s, L, 1, seen);
        return;
    }
    bool timeout = strcmp(seen, "Timeout") == 0;
    if (!seen[0] || benign(seen) || (timeout && L->srv_blocked) || L->phase == 0) {
        finish(s, L, 2, seen);
        return;
    }
    snprintf(what, sizeof what, "the server closed with \"%.60s\"%s", seen,
             timeout ? " (it kept the connection until it timed out)" : "");
    violation(s, L, what);
}

static void pump(sim *s, liar *L)
{
    const tcpshm_env *e = raw(s);
    node *sv = &s->nodes[0];
    if (!sv->alive || sv->owner != L->srv_owner) {
        finish(s, L, 2, "server died");
        return;
    }
    if (sv->block_until > s->now || s->stall_until > s->now)
        L->srv_blocked = true; /* partitioned, in a storm, or a group poll stalled */
    if (L->lie == LIE_SHM_REWRITE && L->phase == 1 && L->delivered == 1)
        shm_rewrite(s, L);
    if (L->lie == LIE_SHM_CONSUMER_BAD && L->phase == 1 && L->pushed_now && !L->shm_written) {
        L->pushed_now = false;
        if (!consumer_bad_tell(s, L))
            return;
    }
    bool quiet = L->lie == LIE_ACK_UNSENT && L->phase == 1; /* reads nothing: the link stays full */
    if (quiet && L->pushed_now) {
        L->pushed_now = false;
        if (!unsent_tell(s, L))
            return;
    }
    while (L->out_off < L->out_len) {
        ssize_t n = e->send(e->ctx, L->fd, L->out + L->out_off, L->out_len - L->out_off);
        if (n <= 0)
            break;
        L->out_off += (uint32_t)n;
    }
    if (quiet) {
        if (L->seen[0] || s->now >= L->deadline)
            judge(s, L); /* the server's close, or nothing came */
        return;
    }
    bool want_rsp = L->phase == 0 || login_lie(L->lie);
    uint32_t rsp = tcpshm_padded_size(tcpshm_login_rsp_size(&s->cfg));
    bool eof = false;
    for (;;) {
        uint32_t room = want_rsp ? rsp - L->in_len : (uint32_t)sizeof L->in;
        if (!want_rsp)
            L->in_len = 0; /* heartbeats after the response: read and dropped */
        ssize_t n = e->recv(e->ctx, L->fd, L->in + L->in_len, room);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            eof = true;
            break;
        }
        if (n < 0)
            break;
        L->in_len += (uint32_t)n;
        if (want_rsp && L->in_len == rsp) {
            tcpshm_login_rsp r;
            tcpshm_error err;
            if (tcpshm_login_rsp_decode(&s->cfg, L->in, rsp, &r, &err) != 0) {
                chk_fail(&s->chk, -1, "liar: the server's login response does not decode: %s", err.text);
                finish(s, L, 3, err.text);
                return;
            }
            L->in_len = 0;
            int phase = L->phase;
            on_response(s, L, &r);
            if (L->fd < 0 || L->phase == phase)
                return; /* judged, or a refusal: the server closes */
            if (L->lie == LIE_ACK_UNSENT)
                return; /* reads nothing more: what the server sends fills the link */
            want_rsp = false;
        }
    }
    if (eof)
        judge(s, L);
    else if (s->now >= L->deadline)
        judge(s, L); /* a stale ack's close by the liar, or nothing came */
}

void liar_step(sim *s)
{
    liar *L = &s->liar;
    if (!(s->plan.on >> FP_LIAR & 1u))
        return;
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_LIAR_OWNER);
    if (L->fd >= 0 && s->settle)
        finish(s, L, 2, "settle"); /* the liar stops when the faults do */
    else if (L->fd >= 0)
        pump(s, L);
    else if (s->nodes[0].alive && fp_roll(&s->plan, FP_LIAR))
        start(s, L);
    venv_set_owner(s->v, owner);
}

static bool mine(const liar *L, const char *name) { return L->fd >= 0 && strcmp(name, L->name) == 0; }

bool liar_server_disc(sim *s, const char *name, const char *reason)
{
    liar *L = &s->liar;
    if (!liar_name(name))
        return false;
    if (mine(L, name) && !L->seen[0])
        snprintf(L->seen, sizeof L->seen, "%s", reason);
    return true;
}

void liar_server_reject(sim *s, const char *name, const char *reason)
{
    liar *L = &s->liar;
    /* "" also comes from honest clients' dropped logins (benign texts): the
     * expected text wins over one of those; a twin's login (the same name,
     * refused by the application) is not the liar's (seed 19933 --faults all) */
    if (strcmp(reason, FAULT_TWIN_REFUSAL) == 0)
        return;
    login_ended(s, name);
    if (mine(L, name) && (!L->seen[0] || (benign(L->seen) && owed(L, reason))))
        snprintf(L->seen, sizeof L->seen, "%s", reason);
}

void liar_server_msg(sim *s, const char *name, const tcpshm_msg_header *m)
{
    liar *L = &s->liar;
    if (mine(L, name) && L->lie == LIE_SHM_REWRITE && L->phase == 1 && L->delivered < 2) {
        L->delivered = 1; /* held: the liar rewrites it at its next step */
        return;
    }
    if (strcmp(name, SIM_SHM_LIAR_NAME) == 0 && L->delivered == 2)
        chk_fail(&s->chk, -1, "liar: the server delivered %s's message (type %u size %u) again after its slot word "
                              "or size was rewritten (way %u)",
                 name, m->msg_type, m->size, L->arg - 100u);
    else
        chk_fail(&s->chk, -1, "liar: the server delivered a message of %s (type %u size %u) after %s", name,
                 m->msg_type, m->size, L->lie >= 0 ? lie_names[L->lie] : "no lie");
}

bool liar_server_logon(sim *s, const char *name)
{
    liar *L = &s->liar;
    login_ended(s, name);
    if (!mine(L, name) || !login_lie(L->lie) || L->phase != 1)
        return false;
    violation(s, L, "the server accepted the login");
    return true;
}

void liar_server_mismatch(sim *s, const char *name)
{
    liar *L = &s->liar;
    login_ended(s, name);
    if (mine(L, name) && liar_name(name))
        snprintf(L->seen, sizeof L->seen, "Seq number mismatch");
}

void liar_server_syserr(sim *s, const char *what)
{
    liar *L = &s->liar;
    if (L->fd >= 0 && L->lie == LIE_GROUP && starts(what, "on_new_connection returned a group out of range"))
        L->syserr = true;
}

void liar_server_file_error(sim *s, const char *name, const char *text)
{
    liar *L = &s->liar;
    if (mine(L, name) && L->lie == LIE_SHM_HEADER && !L->file_err[0])
        snprintf(L->file_err, sizeof L->file_err, "%s", text);
}

/* The bad consumer word's pushes: until the queue to liar1 is full (the
 * word as liar1 left it is read then, and is good), and once more after the
 * lie (the word is read again: the server must refuse it). */
static void consumer_bad_push(sim *s, liar *L, tcpshm_conn *c)
{
    L->want_push = false;
    L->shm_fresh = true; /* the next SHM lie's login: a new connection, which empties the pair (first: a
                          * crash in a push ends this step here) */
    uint32_t body = s->cfg.max_msg_size - 8u; /* the largest: the queue fills in few pushes */
    bool told = L->shm_written; /* the word is bad now: the alloc that reads it must refuse */
    for (uint32_t i = 0; i < 1u << 16; i++) {
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)body);
        if (!h)
            break; /* full (or, after the lie, refused) */
        if (told) {
            (void)tcpshm_conn_alloc(c, UINT16_MAX); /* given up (a failed alloc drops it) */
            violation(s, L, "the server's alloc took the bad consumer word (it found room)");
            return;
        }
        memset(h + 1, 0x5A, body);
        h->msg_type = 99;
        L->pushed_shm++; /* before the push: a crash in it may leave it queued */
        if (tcpshm_conn_push(c) != 0)
            break;
    }
    L->pushed_now = true;
}

void liar_server_push(sim *s, const char *name, tcpshm_conn *c)
{
    liar *L = &s->liar;
    if (mine(L, name) && strcmp(name, SIM_SHM_LIAR_NAME) == 0 && L->lie == LIE_SHM_CONSUMER_BAD && L->phase == 1 &&
        L->want_push && tcpshm_conn_is_connected(c)) {
        consumer_bad_push(s, L, c);
        return;
    }
    if (!mine(L, name) || strcmp(name, SIM_LIAR_NAME) != 0 || L->lie != LIE_ACK_UNSENT || L->phase != 1 ||
        !L->want_push || !tcpshm_conn_is_connected(c))
        return;
    L->want_push = false;
    /* the link holds stream_cap bytes and liar0 reads none after the
     * response: a message whose last byte lies past that (counting only
     * these pushes) is still in the queue, unsent */
    uint32_t bytes = 0;
    for (int i = 0; i < 64 && !L->unsent_known; i++) {
        uint16_t body = (uint16_t)(8u + fp_below(&s->plan, FP_LIAR, s->cfg.max_msg_size - 15u));
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, body);
        if (!h)
            break; /* the queue is full */
        memset(h + 1, 0xA5, body);
        h->msg_type = 99;
        uint32_t seq = tcpshm_conn_seq_end(c);
        L->pushed++; /* before the push: a crash in it may leave it queued */
        if (tcpshm_conn_push(c) != 0)
            break;
        bytes += tcpshm_padded_size(8u + body);
        if (bytes > s->stream_cap) {
            L->unsent_seq = seq;
            L->unsent_known = true;
        }
    }
    L->pushed_now = true;
}

bool liar_take_noteless(sim *s)
{
    bool was = s->liar.noteless;
    s->liar.noteless = false;
    return was;
}

int liar_new_conn(sim *s, const tcpshm_login *lg, int grp, const char **reject_text)
{
    uint32_t *n = under_way(s, lg->client_name);
    if (n)
        (*n)++;
    uint8_t mark = lg->user_data[0];
    s->liar.noteless = mark == SIM_LIAR_MARK || mark == SIM_LIAR_MARK_OWN || mark == SIM_LIAR_MARK_GROUP;
    if (!s->liar.noteless)
        return -2;
    if (mark == SIM_LIAR_MARK_OWN) /* the liar's own name: the server judges the login */
        return grp;
    if (mark == SIM_LIAR_MARK_GROUP && s->liar.arg == 3)
        return -1; /* a refusal without a reason: the server says "Login Reject" */
    if (mark == SIM_LIAR_MARK_GROUP) /* one past the groups of the login's transport, or more */
        return (int)((lg->use_shm ? s->cfg.shm_groups : s->cfg.tcp_groups) + s->liar.arg);
    /* The impersonation of an honest client that is not logged in would
     * take its pair over (nothing in the protocol authenticates a name):
     * the application refuses it; only a live name tests the server. */
    node *sv = &s->nodes[0];
    tcpshm_conn *c = tcpshm_server_find_conn(sv->srv, lg->client_name);
    if (!c || !tcpshm_conn_is_connected(c)) {
        *reject_text = "Not live (sim)";
        return -1;
    }
    return grp;
}
