/* The Chrome / Perfetto trace-event JSON of one run (see trace_chrome.h):
 * the sink of the run's trace. It keeps, per node, the live incarnation's
 * track and its open spans, so that every B has its E (nested: life >
 * login attempt or connection > instants). Pushes, pops and faults go on
 * the track of the node being stepped (venv's current owner). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace_chrome.h"

#define TC_CHECKER_PID 1u /* the checker's and scheduler's track */
#define TC_CHECKER_TID 1u
#define TC_NODE_PID(idx) ((uint32_t)(idx) + 2u)

typedef struct tc_node {
    uint32_t owner; /* the last incarnation's tid (its venv owner), 0: none yet */
    bool alive, trying, conn;
    char conn_name[TCPSHM_NAME_MAX + 24]; /* the open connection span's name */
    char track[TCPSHM_NAME_MAX + 32];     /* "c1g0 shm #105" */
} tc_node;

typedef struct tc {
    sim *s;
    FILE *f;
    uint64_t events;
    int64_t tick;  /* the virtual time of the last event */
    uint32_t nth;  /* its place in that tick: its ts is tick + nth ns */
    tc_node n[1 + SIM_MAX_CLIENTS];
} tc;

/* ------------------------------------------------------------ JSON */

/* An event's "args": an object built into a buffer; a value that does not
 * fit is cut at a character, never inside an escape. */
typedef struct targs {
    char b[4096];
    size_t n;
} targs;

static void a_raw(targs *a, const char *text)
{
    size_t len = strlen(text);
    if (a->n + len < sizeof a->b) {
        memcpy(a->b + a->n, text, len + 1);
        a->n += len;
    }
}

static void a_key(targs *a, const char *k)
{
    a_raw(a, a->n ? ",\"" : "\"");
    a_raw(a, k);
    a_raw(a, "\":");
}

static void a_u(targs *a, const char *k, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    a_key(a, k);
    a_raw(a, num);
}

/* A JSON string: quotes and backslashes escaped, control and non-ASCII
 * bytes as \u00XX (the core's texts are ASCII; this keeps the file valid). */
static void a_s(targs *a, const char *k, const char *v)
{
    a_key(a, k);
    a_raw(a, "\"");
    for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
        char e[8];
        if (*p == '"' || *p == '\\')
            snprintf(e, sizeof e, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            snprintf(e, sizeof e, "\\u%04x", *p);
        else
            snprintf(e, sizeof e, "%c", *p);
        if (a->n + strlen(e) + 2 >= sizeof a->b)
            break; /* room for the closing quote */
        a_raw(a, e);
    }
    a_raw(a, "\"");
}

/* One event. ph: 'B', 'E', 'i', 'M', 's' or 'f'; extra: more fields
 * (",\"id\":7") or NULL; args may be NULL. The events of one tick are
 * 1 ns apart in the order they happened: Perfetto stacks instants with the
 * same ts on top of each other (one row deeper each). A flow event takes
 * its instant's ts (it binds to the slice on top of its track). */
static void ev(tc *w, char ph, const char *cat, const char *name, uint32_t pid, uint32_t tid, int64_t ts,
               const char *extra, const targs *args)
{
    targs nm = {.n = 0};
    a_s(&nm, "name", name);
    if (ph != 'M' && ph != 's' && ph != 'f') {
        if (ts != w->tick)
            w->tick = ts, w->nth = 0;
        else if (w->nth < 999)
            w->nth++;
    }
    fprintf(w->f, "%s{\"ph\":\"%c\",\"cat\":\"%s\",%s,\"pid\":%u,\"tid\":%u,\"ts\":%lld.%03u%s%s%s%s%s}",
            w->events++ ? ",\n" : "\n", ph, cat, nm.b, pid, tid, (long long)ts, ph == 'M' ? 0u : w->nth,
            ph == 'i' ? ",\"s\":\"t\"" : "",
            extra ? extra : "", args ? ",\"args\":{" : "", args ? args->b : "", args ? "}" : "");
}

static void meta(tc *w, const char *what, uint32_t pid, uint32_t tid, const char *name, uint64_t sort)
{
    targs a = {.n = 0};
    if (name)
        a_s(&a, "name", name);
    else
        a_u(&a, "sort_index", sort);
    ev(w, 'M', "__metadata", what, pid, tid, 0, NULL, &a);
}

/* ------------------------------------------------------------ tracks */

static bool node_ok(const tc *w, uint32_t idx) { return idx < w->s->nnodes && w->n[idx].owner != 0; }

/* The track of node idx's last incarnation, or the checker's. */
static void node_track(const tc *w, uint32_t idx, uint32_t *pid, uint32_t *tid)
{
    bool ok = node_ok(w, idx);
    *pid = ok ? TC_NODE_PID(idx) : TC_CHECKER_PID;
    *tid = ok ? w->n[idx].owner : TC_CHECKER_TID;
}

/* The track of the node being stepped (venv's current owner), or the
 * checker's between steps. *idx = -1 for the checker. */
static void current_track(const tc *w, int *idx, uint32_t *pid, uint32_t *tid)
{
    uint32_t owner = venv_owner(w->s->v);
    *idx = -1;
    for (uint32_t i = 0; i < w->s->nnodes; i++)
        if (w->n[i].owner == owner)
            *idx = (int)i;
    if (*idx >= 0)
        node_track(w, (uint32_t)*idx, pid, tid);
    else
        *pid = TC_CHECKER_PID, *tid = TC_CHECKER_TID;
}

static void instant(tc *w, uint32_t pid, uint32_t tid, int64_t ts, const char *cat, const char *name,
                    const targs *args)
{
    ev(w, 'i', cat, name, pid, tid, ts, NULL, args);
}

/* Ends node idx's login attempt and connection spans, if open. */
static void end_link_spans(tc *w, uint32_t idx, int64_t ts)
{
    tc_node *n = &w->n[idx];
    uint32_t pid, tid;
    node_track(w, idx, &pid, &tid);
    if (n->trying)
        ev(w, 'E', "login", "login attempt", pid, tid, ts, NULL, NULL);
    if (n->conn)
        ev(w, 'E', "conn", n->conn_name, pid, tid, ts, NULL, NULL);
    n->trying = n->conn = false;
}

/* Ends node idx's life span (and what is open inside it). */
static void end_life(tc *w, uint32_t idx, int64_t ts)
{
    if (!node_ok(w, idx) || !w->n[idx].alive)
        return;
    uint32_t pid, tid;
    node_track(w, idx, &pid, &tid);
    end_link_spans(w, idx, ts);
    ev(w, 'E', "node", "alive", pid, tid, ts, NULL, NULL);
    w->n[idx].alive = false;
}

static void on_start(tc *w, const tr_event *e)
{
    if (e->a >= w->s->nnodes)
        return;
    tc_node *n = &w->n[e->a];
    end_life(w, e->a, e->now);
    if (n->owner == 0) {
        char pname[32];
        if (e->a == 0)
            snprintf(pname, sizeof pname, "server");
        else
            snprintf(pname, sizeof pname, "client %u", e->a);
        meta(w, "process_name", TC_NODE_PID(e->a), 0, pname, 0);
        meta(w, "process_sort_index", TC_NODE_PID(e->a), 0, NULL, e->a + 1u);
    }
    n->owner = e->b;
    n->alive = true;
    snprintf(n->track, sizeof n->track, "%s #%u", e->s ? e->s : "?", e->b);
    meta(w, "thread_name", TC_NODE_PID(e->a), e->b, n->track, 0);
    meta(w, "thread_sort_index", TC_NODE_PID(e->a), e->b, NULL, e->b);
    targs a = {.n = 0};
    a_s(&a, "node", e->s);
    a_u(&a, "owner", e->b);
    a_u(&a, "generation", e->c);
    ev(w, 'B', "node", "alive", TC_NODE_PID(e->a), e->b, e->now, NULL, &a);
}

static void on_death(tc *w, const tr_event *e)
{
    if (!node_ok(w, e->a))
        return;
    uint32_t pid, tid;
    node_track(w, e->a, &pid, &tid);
    end_link_spans(w, e->a, e->now);
    targs a = {.n = 0};
    a_s(&a, "node", e->s);
    a_u(&a, "owner", e->b);
    instant(w, pid, tid, e->now, "death", e->type == TR_CRASH ? "crash" : "kill", &a);
    end_life(w, e->a, e->now);
}

/* A push or a pop: an instant with the stream, seq and size, and the end
 * of a flow arrow whose id is (stream, seq). */
static void on_message(tc *w, const tr_event *e)
{
    int idx;
    uint32_t pid, tid;
    current_track(w, &idx, &pid, &tid);
    bool push = e->type == TR_PUSH;
    char sname[96];
    targs a = {.n = 0};
    a_u(&a, "stream", e->a);
    a_s(&a, "stream_name", chk_stream_name(&w->s->chk, (int)e->a, sname, sizeof sname));
    a_u(&a, "seq", e->b);
    a_u(&a, "size", e->c);
    instant(w, pid, tid, e->now, "msg", push ? "push" : "pop", &a);
    char id[48];
    snprintf(id, sizeof id, "%s,\"id\":%" PRIu64, push ? "" : ",\"bp\":\"e\"", (uint64_t)e->a << 32 | e->b);
    ev(w, push ? 's' : 'f', "msg", "msg", pid, tid, e->now, id, NULL);
}

/* Login attempts and connections of a client (its track). */
static void on_link(tc *w, const tr_event *e, const char *note)
{
    if (!node_ok(w, e->a))
        return;
    tc_node *n = &w->n[e->a];
    uint32_t pid, tid;
    node_track(w, e->a, &pid, &tid);
    targs a = {.n = 0};
    switch (e->type) {
    case TR_ASIDE_LOGIN:
        end_link_spans(w, e->a, e->now); /* a previous attempt that ended silently */
        a_s(&a, "transport", e->b ? "shm" : "tcp");
        ev(w, 'B', "login", "login attempt", pid, tid, e->now, NULL, &a);
        n->trying = true;
        return;
    case TR_LOGIN:
        end_link_spans(w, e->a, e->now);
        snprintf(n->conn_name, sizeof n->conn_name, "connected to %s", e->s ? e->s : "?");
        a_s(&a, "server", e->s);
        a_u(&a, "my_ack", e->b);
        a_u(&a, "seq_end", e->c);
        ev(w, 'B', "conn", n->conn_name, pid, tid, e->now, NULL, &a);
        n->conn = true;
        return;
    case TR_LOGIN_FAIL:
        a_s(&a, "reason", e->s);
        a_u(&a, "errno", e->b);
        a_s(&a, "where", e->c ? "login call" : "callback");
        if (e->a > 0)
            end_link_spans(w, e->a, e->now);
        instant(w, pid, tid, e->now, "login", "login failed", &a);
        return;
    case TR_REJECT:
        a_s(&a, "reason", e->s);
        if (note)
            a_s(&a, "client", note);
        if (e->a > 0)
            end_link_spans(w, e->a, e->now);
        instant(w, pid, tid, e->now, "login", "login rejected", &a);
        return;
    case TR_DISC:
        a_s(&a, "reason", e->s);
        if (note)
            a_s(&a, "peer", note);
        if (e->a > 0)
            end_link_spans(w, e->a, e->now);
        instant(w, pid, tid, e->now, "conn", "disconnect", &a);
        return;
    case TR_MISMATCH:
        a_u(&a, "local_seq_end", e->b);
        a_u(&a, "remote_seq_end", e->c);
        if (note)
            a_s(&a, "peer", note);
        instant(w, pid, tid, e->now, "conn", "sequence mismatch", &a);
        return;
    case TR_SNAPSHOT: /* the rollback kind (fault_rollback.c) */
        a_u(&a, "files", e->b);
        instant(w, pid, tid, e->now, "fault", "snapshot", &a);
        return;
    case TR_ROLLBACK:
        a_s(&a, "what", e->s);
        a_u(&a, "snapshot_t", e->c);
        instant(w, pid, tid, e->now, "fault", "fault rollback", &a);
        return;
    case TR_POWER: /* the power-loss kind (fault_power.c) */
        a_u(&a, "host", e->a);
        a_s(&a, "what", e->s);
        instant(w, pid, tid, e->now, "fault", "fault power loss", &a);
        return;
    case TR_MISCONFIG: /* the misconfig kind (fault_misconfig.c): the wrong start, then its outcome */
        a_s(&a, "what", e->s);
        instant(w, pid, tid, e->now, "fault", "fault misconfig", &a);
        return;
    case TR_DAMAGE: /* the damage kind (fault_damage.c) */
        a_u(&a, "case", e->b);
        a_s(&a, "what", e->s);
        instant(w, pid, tid, e->now, "fault", "fault damage", &a);
        return;
    case TR_MISUSE: /* the misuse kind (fault_misuse.c) */
        a_s(&a, "what", e->s);
        instant(w, pid, tid, e->now, "fault", "fault misuse", &a);
        return;
    case TR_DETECTED:
        a_s(&a, "client", e->s);
        a_s(&a, "how", e->b == 2 ? "file refused" : e->b ? "new connection" : "sequence mismatch");
        instant(w, pid, tid, e->now, "conn", "rollback detected", &a);
        return;
    case TR_SYSERR:
        a_s(&a, "reason", e->s);
        a_u(&a, "errno", e->b);
        instant(w, pid, tid, e->now, "conn", "system error", &a);
        return;
    default:
        return;
    }
}

/* Faults the scheduler takes on a node between steps. */
static void on_scheduler_fault(tc *w, const tr_event *e)
{
    if (!node_ok(w, e->a))
        return;
    uint32_t pid, tid;
    node_track(w, e->a, &pid, &tid);
    targs a = {.n = 0};
    const char *name = "connections reset";
    if (e->type == TR_CLOSE) {
        name = "connection closed";
        a_u(&a, "peer_index", e->b);
        if (e->a == 0 && e->b < w->s->nodes[0].npeers)
            a_s(&a, "peer", w->s->nodes[0].peers[e->b].name);
    } else if (e->type == TR_PART_ON) {
        name = e->b ? "partition" : "eagain storm";
        a_u(&a, "until", e->c);
    }
    instant(w, pid, tid, e->now, "fault", name, e->type == TR_BREAK ? NULL : &a);
}

static void on_event(void *user, const tr_event *e, const char *note)
{
    tc *w = user;
    int idx;
    uint32_t pid, tid;
    targs a = {.n = 0};
    char name[64];
    switch (e->type) {
    case TR_START:
        on_start(w, e);
        break;
    case TR_KILL:
    case TR_CRASH:
        on_death(w, e);
        break;
    case TR_FAULT:
        current_track(w, &idx, &pid, &tid);
        snprintf(name, sizeof name, "fault %s", e->a < FP_KINDS ? fp_kind_names[e->a] : "?");
        a_s(&a, "point", e->s);
        a_u(&a, "errno_or_bytes", e->b);
        instant(w, pid, tid, e->now, "fault", name, &a);
        break;
    case TR_BREAK:
    case TR_CLOSE:
    case TR_PART_ON:
        on_scheduler_fault(w, e);
        break;
    case TR_PUSH:
    case TR_POP:
        on_message(w, e);
        break;
    case TR_ECHO_SKIP:
        current_track(w, &idx, &pid, &tid);
        a_u(&a, "stream", e->a);
        a_u(&a, "seq", e->b);
        instant(w, pid, tid, e->now, "msg", "echo already queued", &a);
        break;
    case TR_SETTLE:
        a_u(&a, "deadline", e->c);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "run", "faults stop: settle", &a);
        break;
    case TR_STALL: /* a group poll of the server not scheduled: on the scheduler's track */
        a_u(&a, "group", e->a);
        a_u(&a, "until", e->c);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "fault", "fault stall", &a);
        break;
    case TR_CLOCK: /* a node's clock stepped: on the scheduler's track */
        a_u(&a, "node", e->a);
        a_u(&a, "step", e->b);
        a_u(&a, "back", e->c);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "fault", "fault clock", &a);
        break;
    case TR_CALM: /* the faults pause or resume: on the scheduler's track */
        a_u(&a, "step", e->c);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "run", e->a ? "calm: faults pause" : "calm: faults resume",
                &a);
        break;
    case TR_LIAR: /* the hostile peer is no node: its lies show on the checker's track */
        a_u(&a, "lie", e->a);
        a_u(&a, "outcome", e->b);
        a_s(&a, "text", e->s);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "liar", "liar", &a);
        break;
    case TR_IMPOSTOR: /* the impostor is no node either: on the checker's track, naming its client */
        a_u(&a, "client", e->a);
        a_u(&a, "lie", e->b);
        a_u(&a, "outcome", e->c);
        a_s(&a, "text", e->s);
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, e->now, "impostor", "impostor", &a);
        break;
    default: /* logins, disconnects, rejects, mismatches, asides */
        on_link(w, e, note);
        break;
    }
}

/* ------------------------------------------------------------ begin, end */

void trace_chrome_begin(sim *s)
{
    tc *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->s = s;
    w->f = s->p->trace_file;
    w->tick = -1;
    fputs("{\"traceEvents\":[", w->f);
    meta(w, "process_name", TC_CHECKER_PID, 0, "checker", 0);
    meta(w, "process_sort_index", TC_CHECKER_PID, 0, NULL, 0);
    meta(w, "thread_name", TC_CHECKER_PID, TC_CHECKER_TID, "checker and scheduler", 0);
    s->tr.sink = on_event;
    s->tr.sink_user = w;
}

void trace_chrome_end(sim *s, const sim_result *r)
{
    tc *w = s->tr.sink_user;
    if (!w)
        return;
    for (uint32_t i = 0; i < s->nnodes; i++)
        end_life(w, i, s->now);
    if (r->violated) {
        /* where the checker saw it (the node being stepped), then on the
         * checker's track: the last events of the run */
        int idx;
        uint32_t pid, tid;
        current_track(w, &idx, &pid, &tid);
        targs a = {.n = 0};
        a_s(&a, "violation", r->what);
        a_s(&a, "stream", r->stream);
        a_s(&a, "kind", r->liveness ? "liveness" : "safety");
        if (idx >= 0) {
            a_s(&a, "node", w->n[idx].track);
            instant(w, pid, tid, s->now, "violation", "VIOLATION", &a);
        }
        instant(w, TC_CHECKER_PID, TC_CHECKER_TID, s->now, "violation", "VIOLATION", &a);
    }
    char kinds[160], hash[24];
    fp_kinds_text(r->kinds_on, kinds, sizeof kinds);
    snprintf(hash, sizeof hash, "%016" PRIx64, r->hash);
    targs o = {.n = 0};
    a_s(&o, "tool", "tcpshm-sim");
    a_u(&o, "seed", s->p->seed);
    a_s(&o, "clock", "ts is the virtual time, 1 tick = 1 us; the events of one tick are 1 ns apart, in order");
    a_s(&o, "result", !r->violated ? "ok" : r->liveness ? "liveness violation" : "safety violation");
    if (r->violated)
        a_s(&o, "violation", r->what);
    a_s(&o, "trace_hash", hash);
    a_u(&o, "steps", r->steps);
    a_u(&o, "clients", r->clients);
    a_s(&o, "transport", sim_tx_names[r->tx_mode % 3]);
    a_s(&o, "faults", kinds);
    fprintf(w->f, "\n],\n\"otherData\":{%s}}\n", o.b);
    fflush(w->f);
    s->tr.sink = NULL;
    s->tr.sink_user = NULL;
    s->tr.file = NULL; /* the tear-down's events would follow the JSON */
    free(w);
}
