/* The damage kind (fault_damage.h). Each case breaks one thing a reopen
 * verifies (core/src/ptcp_queue.c, tcpshm_ptcp_queue_verify) and says which
 * word the refusal must contain. The file layout is read at the offsets
 * core/src/ptcp_file.h fixes with static asserts (the simulator does not
 * include the core's private header): magic 0, version 8, header_size 12,
 * endian_mark 16, wire_little 20, capacity 24, local 32, remote 96,
 * active 160, written 180, the two 32-byte record slots at 192 (read_idx,
 * write_idx, read_seq, write_seq, my_ack); messages from 256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_damage.h"
#include "fault_liar.h"
#include "node.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "tcpshm/frame.h"
#include "tcpshm/ptcp_inspect.h"
#include "tcpshm/shm_queue.h"
#include "lastserver.h" /* core/src's: the read a client's next process does */

#define HDR 256u
enum { O_VERSION = 8, O_HEADER_SIZE = 12, O_MARK = 16, O_WIRE = 20, O_CAPACITY = 24, O_LOCAL = 32, O_REMOTE = 96,
       O_ACTIVE = 160, O_WRITTEN = 180, O_SLOTS = 192 };
enum { S_READ_IDX = 0, S_WRITE_IDX = 4, S_READ_SEQ = 8, S_WRITE_SEQ = 12 };

static uint32_t get32(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, sizeof v); }

typedef struct damage {
    uint8_t *b;          /* the file's new bytes (malloc'd) */
    size_t len;
    const char *needle;  /* a word both refusals must contain */
    const char *what;    /* the case, for the trace and the violation */
} damage;

#define N_CASES 28u /* 0-20 a queue file's, 21-27 a client's .lastserver */
#define LS_CASE 21u

/* Case i on the bytes of a file of the pair (local, remote) in dir; other:
 * another pair file of the same directory (NULL if none). */
static void damage_case(sim *s, damage *d, uint32_t i, const uint8_t *other, size_t other_len)
{
    uint8_t *b = d->b;
    size_t slot = O_SLOTS + 32u * (get32(b, O_ACTIVE) == 1 ? 1u : 0u);
    uint32_t ri = get32(b, slot + S_READ_IDX), wi = get32(b, slot + S_WRITE_IDX);
    bool msgs = ri < wi && wi <= d->len - HDR;
    if (i >= 16 && i <= 18 && !msgs)
        i = 15; /* the message cases need a queued message */
    uint8_t *m = b + HDR + ri;
    tcpshm_msg_header h = {0, 0, 0};
    if (msgs)
        tcpshm_header_decode(m, s->cfg.little_endian, &h);
    /* case 17: the first message's size past every queued byte (a multiple
     * of 8, as wi - ri is), which may be past max_msg_size too */
    uint32_t past = msgs ? wi - ri + 8u : 0u;
    if (i == 17 && past > 0xfff8u)
        i = 18; /* a size field cannot say that much */
    switch (i) {
    case 0: b[7] ^= 0x20u; d->needle = "bad magic"; d->what = "a bit of the magic flipped"; break;
    case 1: put32(b, O_MARK, 0x04030201u); d->needle = "another byte order"; d->what = "from a host of the other byte order"; break;
    case 2: put32(b, O_VERSION, 2u); d->needle = "format version"; d->what = "a format version to come"; break;
    case 3: put32(b, O_HEADER_SIZE, 512u); d->needle = "header size"; d->what = "header size 512"; break;
    case 4: put32(b, O_WIRE, 7u); d->needle = "byte order field"; d->what = "byte order field 7"; break;
    case 5: put32(b, O_WRITTEN, 9u); d->needle = "write state"; d->what = "write state 9"; break;
    case 6: put32(b, O_CAPACITY, get32(b, O_CAPACITY) + 8u); d->needle = "capacity"; d->what = "capacity + 8"; break;
    case 7: d->len = HDR + (d->len - HDR) / 2; d->needle = "truncated"; d->what = "cut in the message space"; break;
    case 8: d->len = 100; d->needle = "truncated"; d->what = "cut in the header"; break;
    case 9: d->len += 4096; d->needle = "too long"; d->what = "4096 bytes too long"; break;
    case 10: /* an operator copies another pair's file over it */
        if (other && other_len <= d->len + 4096) {
            memcpy(b, other, other_len);
            d->len = other_len;
        } else {
            snprintf((char *)b + O_REMOTE, 64, "%s", "elsewhere");
        }
        d->needle = "belongs to the pair";
        d->what = "another pair's file";
        break;
    case 11: memset(b + O_LOCAL, 'x', 64); d->needle = "not NUL-terminated"; d->what = "a name field without its NUL"; break;
    case 12: put32(b, O_ACTIVE, 2u); d->needle = "record selector"; d->what = "record selector 2"; break;
    case 13: put32(b, slot + S_READ_IDX, wi + 8u); d->needle = "indices"; d->what = "read index past the write index"; break;
    case 14: put32(b, slot + S_READ_SEQ, get32(b, slot + S_WRITE_SEQ) + 1u); d->needle = "acknowledged seq"; d->what = "ack past the queue's end"; break;
    case 15: put32(b, slot + S_WRITE_SEQ, get32(b, slot + S_WRITE_SEQ) + 1u); d->needle = "messages but"; d->what = "one message counted too many"; break;
    case 16: h.size = 4; d->needle = "below the header size"; d->what = "a message of size 4"; break;
    case 17:
        h.size = (uint16_t)past;
        d->needle = past > s->cfg.max_msg_size ? "larger than max_msg_size" : "runs past the end";
        d->what = "a message longer than the queue";
        break;
    case 18: h.msg_type = 0; d->needle = "type 0"; d->what = "a queued heartbeat"; break;
    case 20: /* the reason shows such a name escaped, cut to fit */
        for (uint32_t k = 0; k < 60; k++)
            b[O_REMOTE + k] = (uint8_t)"a\x01\xe9\\"[k % 4];
        memset(b + O_REMOTE + 60, 0, 4);
        d->needle = "belongs to the pair";
        d->what = "a pair name with control and non-ASCII bytes";
        break;
    default: put32(b, slot + S_READ_IDX, ri + 4u); d->needle = "indices"; d->what = "a read index off the 8-byte grid"; break;
    }
    if (i >= 16 && i <= 18)
        tcpshm_header_encode(&h, m, s->cfg.little_endian);
}

typedef struct other_file {
    const char *dir, *self;
    char path[SIM_PATH_SIZE];
} other_file;

static void find_other(void *u, const char *path, bool is_dir, size_t size)
{
    other_file *o = u;
    size_t dl = strlen(o->dir), pl = strlen(path);
    (void)size;
    if (!is_dir && !o->path[0] && strncmp(path, o->dir, dl) == 0 && path[dl] == '/' && !strchr(path + dl + 1, '/') &&
        pl > 5 && strcmp(path + pl - 5, ".ptcp") == 0 && strcmp(path, o->self) != 0)
        snprintf(o->path, sizeof o->path, "%s", path);
}

/* The client of a pair is one of the run's client names (not the liar's). */
static bool client_name(const sim *s, const char *name)
{
    uint32_t g;
    return sim_client_named(s, name, &g) != NULL;
}

/* A client's .lastserver (core/src/lastserver.c's layout: magic 0,
 * version 8, the name's 64 bytes at 16; 80 bytes) damaged in way i; the
 * core's read, as the client's next process would do it (faults off), must
 * refuse it naming the file and saying needle, never read it as a name or
 * as no record. False if the client has no record to damage. */
static bool damage_lastserver(sim *s, node *n, uint32_t i)
{
    enum { LS_NAME = 16, LS_SIZE = 16 + TCPSHM_NAME_MAX + 1 };
    char path[SIM_PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s.lastserver", n->dir, n->name);
    size_t len;
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    if (!bytes || len != LS_SIZE)
        return false;
    uint8_t b[LS_SIZE + 8];
    memcpy(b, bytes, LS_SIZE);
    memset(b + LS_SIZE, 0, 8);
    const char *needle = "not a lastserver file", *what;
    switch (i) {
    case 0: b[3] ^= 0x20u; what = "a bit of the magic flipped"; break;
    case 1: put32(b, 8, 2u); what = "a format version to come"; break;
    case 2: len = 40; needle = "bytes, expected"; what = "cut short"; break;
    case 3: len = LS_SIZE + 8; needle = "bytes, expected"; what = "8 bytes too long"; break;
    case 4: memset(b + LS_NAME, 'x', LS_SIZE - LS_NAME); needle = "not a valid name"; what = "a name without its NUL"; break;
    case 5: memcpy(b + LS_NAME, "sr v1", 6); needle = "not a valid name"; what = "a name with a space"; break;
    default: b[LS_NAME] = '\0'; needle = "not a valid name"; what = "an empty name"; break;
    }
    char trace_what[SIM_PATH_SIZE + 64];
    snprintf(trace_what, sizeof trace_what, "%s: %s", path, what);
    trace_event(&s->tr, s->now, TR_DAMAGE, (uint32_t)n->idx, LS_CASE + i, 0, trace_what);
    if (venv_file_write(s->v, path, b, len) != 0)
        chk_fail(&s->chk, -1, "simulator: cannot damage %s", path);
    n->ls_damaged |= 1u << n->cur; /* no record to check from now on */
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    char name[TCPSHM_NAME_MAX + 1];
    tcpshm_error err = {0};
    int rc = tcpshm_lastserver_read(s->env, n->dir, n->name, name, &err);
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
    if (rc == 0)
        chk_fail(&s->chk, -1, "damage: the core read %s (%s) as %s%s: a damaged record must be refused, never misread",
                 path, what, name[0] ? "the server name " : "no record", name);
    else if (rc != TCPSHM_E_CORRUPT || !strstr(err.text, needle) || !strstr(err.text, path))
        chk_fail(&s->chk, -1, "damage: the core refused %s (%s) with code %d \"%s\", which is not TCPSHM_E_CORRUPT "
                              "naming the file and saying \"%s\"",
                 path, what, rc, err.text, needle);
    return true;
}

/* ---- SHM segments (both ends down) ----
 * A segment (core/src/shm_queue.c's layout: magic 0, version 8, capacity
 * 16, the producer's word (count << 32 | position) at 64, the consumer's
 * at 128, slots from TCPSHM_SHM_HEADER_SIZE, each led by its word count
 * << 32 | length) written by a stray process while neither end of the pair
 * runs: nothing maps it to notice, so the ends' next opens must. */
enum { G_VERSION = 8, G_CAPACITY = 16, G_WSTATE = 64, G_RSTATE = 128 };
#define N_SHM_CASES 11u /* 8-10: the chain cases again (3, 3, 4): the checks only a restart makes */

static uint64_t get64(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, sizeof v); }

/* Case i on a segment's bytes; *len may shrink. The needle a refusal says,
 * and whether the consumer's open refuses too (the chain is checked by the
 * producer's open only: its own slots). */
static void damage_shm_case(uint8_t *b, size_t *len, uint32_t i, const char **needle, const char **what,
                            bool *consumer_too)
{
    const uint32_t H = TCPSHM_SHM_HEADER_SIZE;
    uint64_t ws = get64(b, G_WSTATE), rs = get64(b, G_RSTATE);
    uint32_t cap = get32(b, G_CAPACITY), wc = (uint32_t)(ws >> 32), rc = (uint32_t)(rs >> 32), rp = (uint32_t)rs;
    uint32_t wp = (uint32_t)ws;
    if (i >= 8)
        i = i == 10 ? 4 : 3;
    if ((i == 3 || i == 4) && (wc - rc == 0 || wc - rc > cap / 16u || rp % 8u || rp >= cap))
        i = 5; /* the chain cases need a slot in flight */
    if (i == 5 && (wp % 8u || wp >= cap || (uint32_t)(get64(b, H + wp) >> 32) == wc))
        i = 6; /* a slot published but not recorded there: the producer's recovery would move its position */
    *consumer_too = true;
    switch (i) {
    case 0: put32(b, G_VERSION, 2u); *needle = "this build reads"; *what = "a segment version to come"; break;
    case 1: b[5] ^= 0x10u; *needle = "bad magic"; *what = "a bit of the magic flipped"; break;
    case 2: put32(b, G_CAPACITY, cap + 8u); *needle = "differs from the configured"; *what = "capacity + 8"; break;
    case 3: /* the first slot in flight says another seq */
        put64(b, H + rp, get64(b, H + rp) + ((uint64_t)0x80000000u << 32));
        *needle = "do not lead to";
        *what = "a slot word of another seq in the chain";
        *consumer_too = false;
        break;
    case 4: /* the first slot in flight's length off the 8-byte grid */
        put64(b, H + rp, get64(b, H + rp) ^ 4u);
        *needle = "do not lead to";
        *what = "a slot length off the 8-byte grid in the chain";
        *consumer_too = false;
        break;
    case 5: /* the consumer's word one past the producer's, 16 bytes on */
        put64(b, G_RSTATE, (uint64_t)(wc + 1u) << 32 | ((wp + 16u) % cap));
        *needle = "past the producer";
        *what = "the consumer's position past the producer's";
        *consumer_too = false;
        break;
    case 6: put64(b, G_WSTATE, ws + 4u); *needle = "positions out of range"; *what = "the producer's position off the 8-byte grid"; break;
    default: *len -= 8u; *needle = "bytes, expected"; *what = "cut by 8 bytes"; break;
    }
}

/* Opens the segment from -> to as a next process would (faults off, an
 * owner of its own): 0, or the refusal's code with why. */
static int peek_segment(sim *s, const char *from, const char *to, bool producer, char *why, size_t why_size)
{
    char name[2 * TCPSHM_NAME_MAX + 16];
    (void)tcpshm_shm_queue_name(name, sizeof name, from, to);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    tcpshm_shm_queue q;
    tcpshm_error err = {0};
    int rc = tcpshm_shm_queue_open(&q, s->env, name,
                                   &(tcpshm_shm_queue_config){.capacity = s->cfg.shm_queue_size,
                                                              .max_msg_size = s->cfg.max_msg_size,
                                                              .producer = producer}, &err);
    if (rc == 0)
        tcpshm_shm_queue_close(&q);
    else
        snprintf(why, why_size, "%s", err.text);
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
    return rc;
}

/* Whether the segment from -> to holds published slots not consumed yet. */
static bool in_flight(const sim *s, const char *from, const char *to)
{
    char path[SIM_PATH_SIZE];
    size_t len;
    sim_shm_path(path, sizeof path, from, to);
    const uint8_t *b = venv_file_data(s->v, path, &len);
    return b && len >= TCPSHM_SHM_HEADER_SIZE && (get64(b, G_WSTATE) >> 32) != (get64(b, G_RSTATE) >> 32);
}

/* One segment of the SHM pair (server, client) damaged in way i, when the
 * other end is dead too (n is dying). The rule: the open of its next
 * producer (and, but for the chain cases, of its consumer) refuses it with
 * TCPSHM_E_CORRUPT saying needle; then the pair's state is gone, as a
 * refused queue file's. */
static void damage_shm(sim *s, node *n, const char *server, const char *client, uint32_t i)
{
    const node *other = n->idx == 0 ? sim_client_named(s, client, &(uint32_t){0}) : &s->nodes[0];
    if (!other || liar_holds_segment(s, client))
        return;
    if (other->alive) { /* it maps the segment (a scribble under a live end is another fault): at its death */
        s->shm_damage.on = true;
        snprintf(s->shm_damage.server, sizeof s->shm_damage.server, "%s", server);
        snprintf(s->shm_damage.client, sizeof s->shm_damage.client, "%s", client);
        s->shm_damage.way = i;
        return;
    }
    s->shm_damage.on = false;
    bool to_server = fp_below(&s->plan, FP_DAMAGE, 2) == 0;
    char path[SIM_PATH_SIZE];
    size_t len;
    /* the chain cases: the direction with slots in flight, when one has */
    if ((i % N_SHM_CASES == 3 || i % N_SHM_CASES == 4 || i % N_SHM_CASES >= 8) && !in_flight(s, to_server ? client : server,
                                                                    to_server ? server : client))
        to_server = !to_server;
    const char *from = to_server ? client : server, *to = to_server ? server : client;
    sim_shm_path(path, sizeof path, from, to);
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    if (!bytes || len < TCPSHM_SHM_HEADER_SIZE + 16u || len != TCPSHM_SHM_HEADER_SIZE + (size_t)s->cfg.shm_queue_size)
        return;
    /* a segment whose creator died before its header (magic 0): it holds
     * nothing, and the next open sets it up afresh, over any bytes there
     * (seed 25549 --faults all: a producer position scribbled on one read
     * as "opened a damaged segment") */
    if (get64(bytes, 0) == 0)
        return;
    uint8_t *b = malloc(len);
    if (!b)
        abort();
    memcpy(b, bytes, len);
    const char *needle = "", *what = "";
    bool consumer_too;
    damage_shm_case(b, &len, i % N_SHM_CASES, &needle, &what, &consumer_too);
    char trace_what[SIM_PATH_SIZE + 64];
    snprintf(trace_what, sizeof trace_what, "%s: %s", path, what);
    trace_event(&s->tr, s->now, TR_DAMAGE, (uint32_t)n->idx, 100u + i % N_SHM_CASES, 0, trace_what);
    if (venv_file_write(s->v, path, b, len) != 0)
        chk_fail(&s->chk, -1, "simulator: cannot damage %s", path);
    free(b);
    char why[256] = "";
    for (int k = consumer_too ? 0 : 1; k < 2 && !s->chk.violated; k++) {
        bool producer = k == 1; /* the consumer's first: the producer's open may recover a slot */
        int rc = peek_segment(s, from, to, producer, why, sizeof why);
        if (rc == 0)
            chk_fail(&s->chk, -1, "damage: the core opened %s (%s) as its %s: a damaged segment must be refused, "
                     "never misread", path, what, producer ? "producer" : "consumer");
        else if (rc != TCPSHM_E_CORRUPT || !strstr(why, needle))
            chk_fail(&s->chk, -1, "damage: the core refused %s (%s) as its %s with code %d \"%s\", which is not "
                     "TCPSHM_E_CORRUPT saying \"%s\"", path, what, producer ? "producer" : "consumer", rc, why, needle);
    }
    if (!s->chk.violated)
        rb_file_refused(s, server, client); /* the pair's state is gone: the operator renames the client */
}

/* The SHM damage drawn earlier, made at the first death of one of the
 * pair's ends that leaves both down (either may have come back and died
 * again meanwhile); dropped when the faults stop. */
static void shm_damage_due(sim *s, node *n)
{
    if (!s->shm_damage.on)
        return;
    if (!s->plan.active) {
        s->shm_damage.on = false;
        return;
    }
    const char *server = s->shm_damage.server, *client = s->shm_damage.client;
    bool is_server = n->idx == 0 && strcmp(n->name, server) == 0;
    bool is_client = n->idx > 0 && strcmp(n->name, client) == 0 && strcmp(s->nodes[0].name, server) == 0;
    const node *other = is_server ? sim_client_named(s, client, &(uint32_t){0}) : &s->nodes[0];
    if ((!is_server && !is_client) || !other || other->alive)
        return;
    s->shm_damage.on = false;
    if (!rb_client_retired(s, client))
        damage_shm(s, n, server, client, s->shm_damage.way);
}

void fault_damage(sim *s, node *n, char remotes[][TCPSHM_NAME_MAX + 1], uint32_t nr)
{
    if (!s->chk.violated)
        shm_damage_due(s, n);
    if (s->chk.violated || nr == 0 || !fp_roll(&s->plan, FP_DAMAGE))
        return;
    const char *remote = remotes[fp_below(&s->plan, FP_DAMAGE, nr)];
    uint32_t i = fp_below(&s->plan, FP_DAMAGE, N_CASES);
    const char *server = n->idx == 0 ? n->name : remote, *client = n->idx == 0 ? remote : n->name;
    if (i >= LS_CASE && n->idx == 0)
        i = 20; /* a server has no .lastserver */
    if (!client_name(s, client) || rb_client_retired(s, client))
        return;
    if (sim_client_shm(s, client) && i < LS_CASE) { /* (an SHM client has a .lastserver, no queue file) */
        damage_shm(s, n, server, client, i);
        return;
    }
    if (i >= LS_CASE) {
        /* the record is the client's, not one pair's: its name is retired
         * like a pair's refused file retires it (a client with no name left
         * would come back under it, with a record it cannot read, for ever) */
        if (n->gen + 1u < SIM_MAX_GEN && damage_lastserver(s, n, i - LS_CASE) && !s->chk.violated)
            rb_file_refused(s, server, client);
        return;
    }
    char path[SIM_PATH_SIZE];
    sim_queue_path(path, sizeof path, n->dir, n->name, remote);
    size_t len;
    const uint8_t *bytes = venv_file_data(s->v, path, &len);
    if (!bytes || len < HDR)
        return;
    other_file o = {n->dir, path, ""};
    venv_list(s->v, find_other, &o);
    size_t olen = 0;
    const uint8_t *other = o.path[0] ? venv_file_data(s->v, o.path, &olen) : NULL;
    tcpshm_ptcp_info oi;
    if (other && (tcpshm_ptcp_inspect(other, olen, s->cfg.max_msg_size, NULL, NULL, &oi, NULL) != 0 ||
                  (strcmp(oi.local, n->name) == 0 && strcmp(oi.remote, remote) == 0)))
        other = NULL; /* torn or damaged itself (it would not fail for its names), or this pair's own
                       * bytes an earlier damage copied there (an older copy: a rollback, not a damage) */
    damage d = {malloc(len + 4096), len, NULL, NULL};
    if (!d.b)
        abort();
    memcpy(d.b, bytes, len);
    memset(d.b + len, 0, 4096);
    damage_case(s, &d, i, other, olen);
    char what[SIM_PATH_SIZE + 64];
    snprintf(what, sizeof what, "%s: %s", path, d.what);
    trace_event(&s->tr, s->now, TR_DAMAGE, (uint32_t)n->idx, i, 0, what);
    if (venv_file_write(s->v, path, d.b, d.len) != 0)
        chk_fail(&s->chk, -1, "simulator: cannot damage %s", path);
    /* the inspector, on the bytes as they are now */
    tcpshm_ptcp_info info;
    tcpshm_error ierr = {0};
    int irc = tcpshm_ptcp_inspect(d.b, d.len, s->cfg.max_msg_size, n->name, remote, &info, &ierr);
    free(d.b);
    /* the core, opening it as the node's next process would (faults off) */
    uint32_t x, y, z;
    char why[256] = "";
    bool opens = node_peek_queue(s, n->dir, n->name, remote, &x, &y, &z, why, sizeof why);
    if (s->chk.violated)
        return;
    if (opens)
        chk_fail(&s->chk, -1, "damage: the core opened %s (%s): a damaged queue file must be refused, never misread",
                 path, d.what);
    else if (!strstr(why, d.needle) || !strstr(why, path))
        chk_fail(&s->chk, -1, "damage: the core refused %s (%s) with \"%s\", which does not name the file and say "
                 "\"%s\"", path, d.what, why, d.needle);
    else if (irc != TCPSHM_E_CORRUPT)
        chk_fail(&s->chk, -1, "damage: the inspector %s %s (%s), which the core refuses: %s",
                 irc == 0 ? "accepts" : "fails on", path, d.what, irc == 0 ? why : ierr.text);
    else if (!strstr(ierr.text, d.needle))
        chk_fail(&s->chk, -1, "damage: the inspector refuses %s (%s) with \"%s\", which does not say \"%s\"", path,
                 d.what, ierr.text, d.needle);
    if (s->chk.violated)
        return;
    rb_file_refused(s, server, client); /* the pair's state is gone: the operator renames the client */
}
