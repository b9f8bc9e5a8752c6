#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "pairs.h"
#include "same_name.h"

void chk_init(chk *c)
{
    memset(c, 0, sizeof *c);
    c->violation_stream = -1;
}

void chk_fini(chk *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        free(c->s[i].recs);
        free(c->s[i].old);
    }
    free(c->s);
    memset(c, 0, sizeof *c);
}

void chk_fail(chk *c, int sid, const char *fmt, ...)
{
    if (c->violated)
        return;
    c->violated = true;
    c->violation_stream = sid;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->violation, sizeof c->violation, fmt, ap);
    va_end(ap);
}

static bool is_gone(const chk *c, const char *name)
{
    for (uint32_t i = 0; i < c->ngone; i++)
        if (strcmp(c->gone[i], name) == 0)
            return true;
    return false;
}

/* The pair's current epoch in direction dir (the last one made: a new
 * connection retires the old epoch's stream and appends one), or -1.
 * Searched from the end: the newest epochs are there, and a power loss
 * asks for every pair (the whole scan showed in profiles of long runs). */
int chk_find(const chk *c, const char *server, const char *client, int dir)
{
    for (uint32_t i = c->n; i-- > 0;)
        if (c->s[i].dir == dir && sim_same_name(c->s[i].server, server) && sim_same_name(c->s[i].client, client))
            return (int)i;
    return -1;
}

static int make(chk *c, const char *server, const char *client, int dir, uint32_t base)
{
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 16;
        chk_stream *s = realloc(c->s, cap * sizeof *s);
        if (!s)
            abort();
        c->s = s;
        c->cap = cap;
    }
    chk_stream *s = &c->s[c->n];
    memset(s, 0, sizeof *s);
    /* e.g. a client still connected to a renamed server pushes on the old pair */
    s->closed = is_gone(c, server) || is_gone(c, client);
    sim_join(s->server, sizeof s->server, server, NULL);
    sim_join(s->client, sizeof s->client, client, NULL);
    s->dir = dir;
    s->base = base;
    return (int)c->n++;
}

int chk_stream_id(chk *c, const char *server, const char *client, int dir, uint32_t base)
{
    int i = chk_find(c, server, client, dir);
    return i >= 0 ? i : make(c, server, client, dir, base);
}

int chk_stale_epoch(chk *c, const char *server, const char *client, int dir, uint32_t base)
{
    int i = make(c, server, client, dir, base);
    c->s[i].closed = true;
    return i;
}

void chk_name_back(chk *c, const char *name)
{
    for (uint32_t i = 0; i < c->ngone; i++)
        if (strcmp(c->gone[i], name) == 0)
            memcpy(c->gone[i], c->gone[--c->ngone], sizeof c->gone[0]);
}

static bool untouched(const chk *c, int sid) { return sid < 0 || (c->s[sid].pushed == 0 && c->s[sid].popped == 0); }

bool chk_login_continues(chk *c, const char *server, const char *client, const char *last, bool zeros,
                         uint32_t base)
{
    if (strcmp(last, server) == 0)
        return true;
    if (last[0] != '\0' || !zeros)
        return false;
    /* the first-login window: the server's state for the pair has seq_start
     * 0 and my_ack 0, i.e. its epoch starts at 0 and nothing was popped */
    int a = chk_find(c, server, client, CHK_C2S), b = chk_find(c, server, client, CHK_S2C);
    uint32_t at = a >= 0 ? c->s[a].base : base;
    return at == 0 && (a < 0 || c->s[a].popped == 0) && (b < 0 || c->s[b].popped == 0);
}

void chk_pair_login(chk *c, const char *server, const char *client, bool cont, uint32_t base, int *c2s, int *s2c)
{
    int ids[2] = {chk_find(c, server, client, CHK_C2S), chk_find(c, server, client, CHK_S2C)};
    bool fresh = untouched(c, ids[0]) && untouched(c, ids[1]) &&
                 (ids[0] < 0 || c->s[ids[0]].base == 0) && (ids[1] < 0 || c->s[ids[1]].base == 0);
    for (int d = 0; d < 2; d++) {
        if (ids[d] >= 0 && (cont || fresh)) {
            /* it must settle, unless a name is gone (a login the server
             * finishes after the client died and took another name) */
            c->s[ids[d]].closed = is_gone(c, server) || is_gone(c, client);
        } else if (ids[d] >= 0) { /* a new connection: the old epoch ends */
            c->s[ids[d]].closed = c->s[ids[d]].retired = true;
            ids[d] = make(c, server, client, d, 0);
        } else if (ids[d] < 0) {
            ids[d] = make(c, server, client, d, cont ? base : 0);
        }
    }
    *c2s = ids[CHK_C2S];
    *s2c = ids[CHK_S2C];
}

static void gone(chk *c, const char *name)
{
    for (uint32_t i = 0; i < c->ngone; i++)
        if (strcmp(c->gone[i], name) == 0)
            return;
    if (c->ngone < sizeof c->gone / sizeof c->gone[0])
        snprintf(c->gone[c->ngone++], sizeof c->gone[0], "%s", name);
    else
        chk_fail(c, -1, "checker: too many names");
}

void chk_close_server(chk *c, const char *server)
{
    gone(c, server);
    for (uint32_t i = 0; i < c->n; i++)
        if (strcmp(c->s[i].server, server) == 0)
            c->s[i].closed = true;
}

void chk_close_client(chk *c, const char *client)
{
    gone(c, client);
    for (uint32_t i = 0; i < c->n; i++)
        if (strcmp(c->s[i].client, client) == 0)
            c->s[i].closed = true;
}

const char *chk_stream_name(const chk *c, int sid, char *out, unsigned n)
{
    if (sid < 0 || (uint32_t)sid >= c->n) {
        snprintf(out, n, "-");
        return out;
    }
    const chk_stream *s = &c->s[sid];
    snprintf(out, n, "#%d %s %s %s", sid, s->dir == CHK_C2S ? s->client : s->server, "->",
             s->dir == CHK_C2S ? s->server : s->client);
    return out;
}

static void append(chk *c, chk_stream *s, chk_rec r)
{
    if (s->pushed == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        chk_rec *n = realloc(s->recs, cap * sizeof *n);
        if (!n)
            abort();
        s->recs = n;
        s->cap = cap;
    }
    s->recs[s->pushed++] = r;
    /* a new push replaced what a rollback retracted at its seq; those after
     * it may still be popped from what the peer had received (seed 4610
     * --faults all: a stalled group read them after the rollback) */
    if (s->pushed >= s->retracted)
        s->retracted = 0;
    c->pushes++;
}

void chk_push_begin(chk *c, int sid, uint32_t seq, const wl_msg *m)
{
    chk_stream *s = &c->s[sid];
    if (seq != s->base + s->pushed)
        chk_fail(c, sid, "push: the queue's next seq is %u but %u messages were pushed on this stream "
                         "(a push that returned was lost, or the queue was reset)",
                 seq, s->pushed);
    s->push_pending = true;
    s->pending = (chk_rec){m->size, m->checksum, m->seq, m->echo_of, (uint16_t)m->kind};
    s->pending_echo_of = m->echo_of;
}

/* The echo rule: an echo answers the request at the front of its paired
 * stream, once. */
static void echo_pushed(chk *c, chk_stream *s2c, uint32_t echo_of)
{
    int req = -1;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->s[i].dir == CHK_C2S && sim_same_name(c->s[i].server, s2c->server) &&
            sim_same_name(c->s[i].client, s2c->client))
            req = (int)i;
    if (req < 0) {
        chk_fail(c, (int)(s2c - c->s), "echo of %u pushed but the client never pushed on this pair", echo_of);
        return;
    }
    chk_stream *r = &c->s[req];
    if (r->echo_off)
        return;
    uint32_t k = echo_of - r->base;
    if (k < r->echo_next)
        chk_fail(c, req, "request %u echoed twice", echo_of);
    else if (k >= r->pushed || r->recs[k].kind != WL_REQUEST)
        chk_fail(c, req, "echo of %u, which is not a request that was pushed", echo_of);
    else if (k != r->popped)
        chk_fail(c, req, "echo of %u while the next request to handle is %u", echo_of, r->base + r->popped);
    else
        r->echo_next = k + 1;
}

void chk_push_done(chk *c, int sid)
{
    chk_stream *s = &c->s[sid];
    if (!s->push_pending)
        return;
    s->push_pending = false;
    s->crash_tail = 0;
    append(c, s, s->pending);
    if (s->pending.kind == WL_ECHO)
        echo_pushed(c, s, s->pending_echo_of);
}

void chk_push_unsynced(chk *c, int sid)
{
    uint32_t tail = c->s[sid].crash_tail;
    chk_push_done(c, sid);
    c->s[sid].crash_tail = tail + 1;
}

bool chk_take_back_unsynced(chk *c, int sid, uint32_t seq_end)
{
    chk_stream *s = &c->s[sid];
    uint32_t k = seq_end - s->base;
    if (k >= s->pushed || s->pushed - k > s->crash_tail || k < s->popped)
        return false;
    uint32_t gone = s->pushed - k;
    chk_rewind_pushed(c, sid, k);
    s->crash_tail -= gone; /* the rest may still go: a record published but not synced (a power loss) */
    return true;
}

void chk_push_resolve(chk *c, int sid, bool persisted)
{
    uint32_t tail = c->s[sid].crash_tail;
    if (persisted) {
        chk_push_done(c, sid);
        c->s[sid].crash_tail = tail + 1;
    }
    c->s[sid].push_pending = false;
}

/* The front of stream sid is the message pushed as seq, of this size and
 * checksum (its kind is the pusher's mark, not in its bytes). */
bool chk_front_is(chk *c, int sid, uint32_t seq, uint32_t size, uint32_t checksum)
{
    chk_stream *s = &c->s[sid];
    uint32_t want = s->base + s->popped;
    if (seq != want) {
        chk_fail(c, sid, "pop: got seq %u, expected %u (%s)", seq, want,
                 (int32_t)(seq - want) < 0 ? "duplicate" : "gap: messages lost");
        return false;
    }
    if (s->popped >= s->pushed && s->popped >= s->retracted) {
        chk_fail(c, sid, "pop: seq %u was never pushed (pushed %u)", seq, s->pushed);
        return false;
    }
    const chk_rec *r = &s->recs[s->popped];
    uint32_t i = s->popped - s->old_base;
    bool was_retracted = s->popped >= s->old_base && i < s->old_n && s->old[i].size == size &&
                         s->old[i].checksum == checksum;
    if ((r->size != size || r->checksum != checksum) && !was_retracted) {
        chk_fail(c, sid, "pop: seq %u differs from what was pushed (size %u/%u, checksum %08x/%08x)", seq,
                 size, r->size, checksum, r->checksum);
        return false;
    }
    return true;
}

void chk_pop_begin(chk *c, int sid) { c->s[sid].pop_pending = true; }

void chk_pop_done(chk *c, int sid)
{
    chk_stream *s = &c->s[sid];
    if (!s->pop_pending)
        return;
    s->pop_pending = false;
    if (s->dir == CHK_C2S && !s->echo_off && s->popped < s->pushed && s->recs[s->popped].kind == WL_REQUEST &&
        s->echo_next <= s->popped)
        chk_fail(c, sid, "request %u popped without its echo", s->base + s->popped);
    s->popped++;
    c->pops++;
}

void chk_pop_resolve(chk *c, int sid, bool persisted)
{
    if (persisted)
        chk_pop_done(c, sid);
    c->s[sid].pop_pending = false;
}

void chk_rewind_pushed(chk *c, int sid, uint32_t n)
{
    chk_stream *s = &c->s[sid];
    if (n > s->pushed)
        chk_fail(c, sid, "simulator: rollback of the pushes to %u, above %u", n, s->pushed);
    else if (n < s->pushed) {
        if (s->retracted < s->pushed)
            s->retracted = s->pushed;
        /* as they were: new pushes will write over recs[n, ...) (seed 89564
         * --faults all: the server, its group stalled, popped a retracted
         * push after the client had pushed that seq anew) */
        chk_rec *o = realloc(s->old, (s->pushed - n) * sizeof *o);
        if (!o)
            abort();
        memcpy(o, s->recs + n, (s->pushed - n) * sizeof *o);
        s->old = o;
        s->old_base = n;
        s->old_n = s->pushed - n;
        s->pushed = n;
    }
}

void chk_rewind_popped(chk *c, int sid, uint32_t n)
{
    chk_stream *s = &c->s[sid];
    if (n > s->popped)
        chk_fail(c, sid, "simulator: rollback of the pops to %u, above %u", n, s->popped);
    else
        s->popped = n;
}

void chk_echo_off(chk *c, int sid) { c->s[sid].echo_off = true; }

int chk_new_epoch(chk *c, const char *server, const char *client, int dir, uint32_t base)
{
    int old = chk_find(c, server, client, dir);
    if (old >= 0)
        c->s[old].closed = c->s[old].retired = true;
    return make(c, server, client, dir, base);
}

bool chk_settled(const chk *c, int *first_open)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->s[i].closed && c->s[i].popped != c->s[i].pushed) {
            if (first_open)
                *first_open = (int)i;
            return false;
        }
    return true;
}

uint32_t chk_backlog(const chk *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->s[i].closed)
            n += c->s[i].pushed - c->s[i].popped;
    return n;
}

void chk_honest_close(chk *c, int sid, const char *who, const char *other, const char *reason)
{
    static const char *const broken[] = {"Bad ack", "Bad frame", "Bad shm", "Msg size larger", "Bad queue"};
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        if (strncmp(reason, broken[i], strlen(broken[i])) == 0)
            chk_fail(c, sid, "protocol: %s closed its connection with %s: \"%s\" (honest peers never break the protocol)",
                     who, other, reason);
}
