/* The fault plan: swarm choice of kinds and rates, and the libfiu external
 * callback that decides every point from the plan's seeded PRNG. */
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "plan.h"
#include "tcpshm/fault_gate.h"

const char *const fp_kind_names[FP_KINDS] = {"disconnect", "kill",    "crash",  "rename",    "short-write",
                                             "short-read", "io-error", "eagain", "partition", "file",
                                             "return",     "twin",      "rollback",
                                             "liar",       "power-loss", "misconfig", "damage", "misuse",
                                             "stall",      "impostor", "clock"};

/* Rates (ppm) a swarm picks from, per kind. Point kinds count per
 * evaluation of a point (sends and receives are many), scheduler kinds per
 * step, rename, return and misconfig per restart, damage per death (twin per step). */
static const uint32_t scales[FP_KINDS][3] = {
    [FP_DISCONNECT] = {1000, 4000, 15000},  [FP_KILL] = {500, 2000, 8000},
    [FP_CRASH] = {200, 1000, 5000},         [FP_RENAME] = {50000, 150000, 300000},
    [FP_SHORT_WRITE] = {10000, 100000, 500000}, [FP_SHORT_READ] = {10000, 100000, 500000},
    [FP_IO_ERROR] = {300, 2000, 10000},     [FP_EAGAIN] = {1000, 5000, 20000},
    [FP_PARTITION] = {300, 1000, 3000},     [FP_FILE] = {20000, 100000, 300000},
    [FP_RETURN] = {50000, 150000, 300000},  [FP_TWIN] = {1000, 4000, 15000},
    [FP_ROLLBACK] = {10000, 30000, 100000}, /* per step on a dead node with a snapshot */
    [FP_LIAR] = {5000, 20000, 60000}, /* per step while the liar is idle: an attempt */
    [FP_POWER] = {200, 600, 2000}, /* per step */
    [FP_MISCONFIG] = {100000, 250000, 500000}, /* per (re)start while faulting */
    [FP_DAMAGE] = {10000, 30000, 100000}, /* per death while faulting (each one ends a pair and uses up a name) */
    [FP_MISUSE] = {1000, 4000, 15000}, /* per node step */
    [FP_STALL] = {2000, 8000, 30000}, /* per step on the server while none is stalled */
    [FP_IMPOSTOR] = {50000, 150000, 300000}, /* per client login call while the impostor is idle */
    [FP_CLOCK] = {500, 2000, 8000}, /* per step */
};

static fp_plan *g_plan;

/* ---- the gate (tcpshm/fault_gate.h) ----
 *
 * Each gate family's points decide from one kind's stream, one draw per
 * evaluation that does not fire (fp_point_cb): the net family (send, recv,
 * accept, connect, epoll_ctl, epoll_wait) from io-error's, resets from disconnect's, the short ones
 * from short-write's and short-read's, file from file's, crash sites from
 * crash's. When the callback has decided, the plan looks ahead in that
 * stream (a copy) and lets the core skip the evaluations it sees will not
 * fire; before the next draw from the stream (a decision of the callback or
 * of the scheduler), the skipped evaluations become the draws they stand for
 * (splitmix64: a draw is one step of the state). The draws and decisions are
 * those of a run without the gate, in the same order: the sweep hashes do
 * not move. A point whose family draws from another stream would break
 * that: a new point goes into the family of the kind it draws from. */
#define GATE_LOOKAHEAD 64u /* draws looked at, at most, per decision */

static const fp_kind gate_kind[TCPSHM_GATE_FAMILIES] = {
    [TCPSHM_GATE_RESET] = FP_DISCONNECT,     [TCPSHM_GATE_NET] = FP_IO_ERROR,
    [TCPSHM_GATE_SEND_SHORT] = FP_SHORT_WRITE, [TCPSHM_GATE_RECV_SHORT] = FP_SHORT_READ,
    [TCPSHM_GATE_FILE] = FP_FILE,            [TCPSHM_GATE_CRASH] = FP_CRASH,
};

static struct {
    uint32_t set;   /* the count the family was given, when counting */
    bool counting;  /* its skips stand for draws (else: the plan is inactive or the kind off) */
    uint32_t paused; /* the budget kept while the plan is inactive (fp_set_active) */
    bool was_counting;
} gates[TCPSHM_GATE_FAMILIES];

/* TCPSHM_SIM_NO_GATE=1 leaves every evaluation to libfiu: the sweep hash
 * must be the same as with the gate (CTest sim_gate_exact checks it). */
static bool gate_off;

static int kind_gate(fp_kind k)
{
    for (int f = 0; f < TCPSHM_GATE_FAMILIES; f++)
        if (gate_kind[f] == k)
            return f;
    return -1;
}

/* kind_gate of every kind, made once (fp_below asks it at every draw) */
static int8_t kind_gates[FP_KINDS];
static bool kind_gates_made;

static void make_kind_gates(void)
{
    for (int k = 0; k < FP_KINDS; k++)
        kind_gates[k] = (int8_t)kind_gate((fp_kind)k);
    kind_gates_made = true;
}

/* The skipped evaluations of family f become draws of its stream. */
static void gate_sync(fp_plan *p, int f)
{
    if (!gates[f].counting)
        return;
    uint32_t used = gates[f].set - tcpshm_fault_skip[f];
    p->rng[gate_kind[f]].s += (uint64_t)used * 0x9e3779b97f4a7c15ull; /* sim_rng_next's step */
    gates[f].set = tcpshm_fault_skip[f];
}

/* Synced, and every later evaluation asks libfiu until the next budget. */
static void gate_open(fp_plan *p, int f)
{
    gate_sync(p, f);
    gates[f].counting = gates[f].was_counting = false; /* a kept budget is stale too */
    tcpshm_fault_skip[f] = 0;
}

static void gates_reset(void)
{
    for (int f = 0; f < TCPSHM_GATE_FAMILIES; f++) {
        gates[f].counting = gates[f].was_counting = false;
        tcpshm_fault_skip[f] = 0;
    }
}

/* After the callback decided for family f: how many evaluations may pass. */
static void gate_budget(fp_plan *p, int f)
{
    fp_kind k = gate_kind[f];
    if (gate_off) {
        gates[f].counting = false;
        tcpshm_fault_skip[f] = 0;
        return;
    }
    if (!p->active || !(p->on >> k & 1u)) { /* nothing is drawn, nothing fires */
        if (!(f == TCPSHM_GATE_NET && p->block_io)) {
            gates[f].counting = false;
            tcpshm_fault_skip[f] = p->start_fail && !p->active ? 0u : UINT32_MAX; /* fp_fail_at_start */
            return;
        }
    }
    if (f == TCPSHM_GATE_NET && p->block_io) { /* send and recv fail without a draw */
        gates[f].counting = false;
        tcpshm_fault_skip[f] = 0;
        return;
    }
    uint32_t below = p->ppm[k]; /* a draw below this fires (a reset: may fire) */
    if (f == TCPSHM_GATE_CRASH && p->crash_focus && below < 100000u)
        below = 100000u; /* the focus site's rate */
    sim_rng r = p->rng[k];
    uint32_t n = 0;
    while (n < GATE_LOOKAHEAD && sim_rng_below(&r, 1000000u) >= below)
        n++;
    gates[f].set = n;
    gates[f].counting = true;
    tcpshm_fault_skip[f] = n;
}

void fp_set_active(fp_plan *p, bool active)
{
    if (p == g_plan && active != p->active && !gate_off)
        for (int f = 0; f < TCPSHM_GATE_FAMILIES; f++) {
            if (!active) { /* keep the budget: evaluations now draw nothing */
                gate_sync(p, f);
                gates[f].was_counting = gates[f].counting;
                gates[f].paused = tcpshm_fault_skip[f];
                gates[f].counting = false;
                tcpshm_fault_skip[f] = UINT32_MAX;
            } else if (gates[f].was_counting) {
                gates[f].set = tcpshm_fault_skip[f] = gates[f].paused;
                gates[f].counting = true;
                gates[f].was_counting = false;
            } else {
                tcpshm_fault_skip[f] = 0; /* the next evaluation asks, and budgets */
            }
        }
    p->active = active;
}

void fp_fail_at_start(fp_plan *p, const char *point)
{
    p->start_fail = point;
    if (p == g_plan && !gate_off && !p->active) /* inactive: no budget counts, none is lost */
        for (int f = 0; f < TCPSHM_GATE_FAMILIES; f++)
            tcpshm_fault_skip[f] = point ? 0u : UINT32_MAX;
}

void fp_set_block_io(fp_plan *p, bool block)
{
    if (p == g_plan && block != p->block_io)
        gate_open(p, TCPSHM_GATE_NET);
    p->block_io = block;
}

/* A draw from family f's stream outside an evaluation (the scheduler's,
 * a detail of a decision): it takes the first of the draws the budget stood
 * for, so one evaluation fewer may pass (the others still see the draws
 * that were looked at). The same for a budget kept while inactive. */
static void gate_draw(fp_plan *p, int f)
{
    gate_sync(p, f);
    if (gates[f].counting && gates[f].set > 0)
        tcpshm_fault_skip[f] = --gates[f].set;
    if (gates[f].was_counting && gates[f].paused > 0)
        gates[f].paused--;
}

/* The next draw of k's stream (sim_rng_next), after the skipped
 * evaluations of its gate family became draws. */
static uint64_t draw(fp_plan *p, fp_kind k)
{
    if (p == g_plan) {
        int f = kind_gates[k];
        if (f >= 0)
            gate_draw(p, f);
    }
    return sim_rng_next(&p->rng[k]);
}

uint32_t fp_below(fp_plan *p, fp_kind k, uint32_t n) { return (uint32_t)(draw(p, k) % n); /* sim_rng_below */ }

/* A decision of kind k: draws (from k's stream) only when k is on. The
 * modulus a constant (fp_below(p, k, 1000000), without a division). */
static bool chance(fp_plan *p, fp_kind k)
{
    return (p->on >> k & 1u) && (uint32_t)(draw(p, k) % 1000000u) < p->ppm[k];
}

/* The plan's streams of the seed, numbered after the simulator's own
 * (rng.h): FP_STREAM + k for kind k, FP_STREAM + FP_KINDS for the swarm's
 * pick when no kind came up. */
#define FP_STREAM 16u

int fp_parse_kinds(const char *list, uint32_t *mask, bool *swarm, char *why, size_t why_size)
{
    *mask = 0;
    *swarm = false;
    if (strcmp(list, "all") == 0) {
        *mask = FP_ALL_KINDS;
        return 0;
    }
    if (strcmp(list, "swarm") == 0) {
        *mask = FP_ALL_KINDS;
        *swarm = true;
        return 0;
    }
    if (strcmp(list, "none") == 0)
        return 0;
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        int found = -1;
        for (int k = 0; k < FP_KINDS; k++)
            if (strlen(fp_kind_names[k]) == n && strncmp(s, fp_kind_names[k], n) == 0)
                found = k;
        if (found < 0) {
            snprintf(why, why_size, "unknown fault kind \"%.*s\" (kinds: see --help)", (int)n, s);
            return -1;
        }
        *mask |= 1u << found;
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

void fp_kinds_text(uint32_t mask, char *out, size_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (int k = 0; k < FP_KINDS; k++)
        if (mask >> k & 1u) {
            int w = snprintf(out + at, n - at, "%s%s", at ? "," : "", fp_kind_names[k]);
            if (w < 0 || (size_t)w >= n - at)
                return;
            at += (size_t)w;
        }
    if (at == 0)
        snprintf(out, n, "none");
}

void fp_plan_init(fp_plan *p, uint64_t seed, uint32_t allowed, bool swarm)
{
    if (p == g_plan) { /* the gates belonged to the run this plan had */
        g_plan = NULL;
        gates_reset();
    }
    memset(p, 0, sizeof *p);
    /* every kind's coin and rate, always drawn, then masked: a swarm and
     * --faults <the kinds it picked> make the same draws (what --shrink
     * starts from) */
    uint32_t coins = 0;
    for (int k = 0; k < FP_KINDS; k++) {
        p->rng[k] = sim_rng_make(seed, FP_STREAM + (uint64_t)k);
        if (fp_below(p, (fp_kind)k, 5) < 3)
            coins |= 1u << k;
        p->ppm[k] = scales[k][fp_below(p, (fp_kind)k, 3)];
    }
    p->on = swarm ? coins & allowed : allowed;
    if (swarm && p->on == 0 && allowed != 0) { /* the i-th kind of allowed */
        sim_rng r = sim_rng_make(seed, FP_STREAM + FP_KINDS);
        uint32_t n = 0;
        for (int k = 0; k < FP_KINDS; k++)
            n += allowed >> k & 1u;
        uint32_t i = sim_rng_below(&r, n);
        for (int k = 0; k < FP_KINDS && !p->on; k++)
            if ((allowed >> k & 1u) && i-- == 0)
                p->on = 1u << k;
    }
    /* power-loss and rollback do not run together: a restore is made
     * durable as it is, the rollback rule's snapshots would hold states a
     * power loss took back (a coin of the seed itself: no stream is drawn) */
    uint32_t pr = 1u << FP_POWER | 1u << FP_ROLLBACK;
    if ((p->on & pr) == pr)
        p->on &= ~(1u << (((seed * 0xbf58476d1ce4e5b9ull) >> 63) ? FP_POWER : FP_ROLLBACK));
    /* Half the seeds with crashes focus on one TCP crash site: rare sites
     * (compaction, reset, login) then fire in most of those runs (runs with
     * SHM clients may move the focus to an SHM site: fp_plan_focus_shm). */
    if (fp_below(p, FP_CRASH, 2)) {
        const char *sites[64];
        uint32_t n = 0;
        for (size_t i = 0; i < tcpshm_fault_catalogue_len && n < 64; i++)
            if (strncmp(tcpshm_fault_catalogue[i].name, "tcpshm/crash/", 13) == 0 &&
                strncmp(tcpshm_fault_catalogue[i].name + 13, "shm/", 4) != 0)
                sites[n++] = tcpshm_fault_catalogue[i].name;
        if (n)
            p->crash_focus = sites[fp_below(p, FP_CRASH, n)];
    }
}

void fp_plan_focus_shm(fp_plan *p)
{
    if (!p->crash_focus || fp_below(p, FP_CRASH, 2) == 0)
        return;
    const char *sites[16];
    uint32_t n = 0;
    for (size_t i = 0; i < tcpshm_fault_catalogue_len && n < 16; i++)
        if (strncmp(tcpshm_fault_catalogue[i].name, "tcpshm/crash/shm/", 17) == 0)
            sites[n++] = tcpshm_fault_catalogue[i].name;
    if (n)
        p->crash_focus = sites[fp_below(p, FP_CRASH, n)];
}

bool fp_roll(fp_plan *p, fp_kind k)
{
    if (!p->active || !chance(p, k))
        return false;
    p->fired[k]++;
    return true;
}

static int fire(fp_plan *p, fp_kind k, const char *name, int failnum, int *out_failnum)
{
    p->fired[k]++;
    *out_failnum = failnum;
    if (p->on_fire)
        p->on_fire(p->user, k, name, failnum);
    return 1;
}

int fp_file_call(fp_plan *p, const char *name)
{
    static const int errs[] = {EIO, ENOSPC, EACCES, EMFILE, ENOMEM};
    int failnum;
    if (!p->active || !(p->on >> FP_FILE & 1u) || !chance(p, FP_FILE))
        return 0;
    int e = errs[fp_below(p, FP_FILE, sizeof errs / sizeof errs[0])];
    (void)fire(p, FP_FILE, name, e, &failnum);
    return e;
}

bool fp_crash_site(fp_plan *p, const char *name)
{
    int failnum;
    if (!p->active || !(p->on >> FP_CRASH & 1u) || !chance(p, FP_CRASH))
        return false;
    return fire(p, FP_CRASH, name, 1, &failnum) != 0;
}

/* What a point is, from its name (the literals of core/src: io.c and the
 * crash sites). */
enum pclass { P_SEND, P_RECV, P_SEND_SHORT, P_RECV_SHORT, P_RESET, P_ACCEPT, P_CONNECT, P_EPOLL, P_FILE, P_CRASH, P_ALLOC,
              P_NONE };

static enum pclass classify(const char *name)
{
    const char *n = name + 7; /* after "tcpshm/" */
    if (strncmp(n, "net/", 4) == 0) {
        n += 4;
        if (strcmp(n, "send") == 0)
            return P_SEND;
        if (strcmp(n, "recv") == 0)
            return P_RECV;
        if (strcmp(n, "send/short") == 0)
            return P_SEND_SHORT;
        if (strcmp(n, "recv/short") == 0)
            return P_RECV_SHORT;
        if (strcmp(n, "reset") == 0)
            return P_RESET;
        if (strcmp(n, "accept") == 0)
            return P_ACCEPT;
        if (strcmp(n, "connect") == 0)
            return P_CONNECT;
        if (strcmp(n, "epoll_ctl") == 0 || strcmp(n, "epoll_wait") == 0)
            return P_EPOLL;
        /* listen and epoll_create: only at a start, where the plan is
         * inactive (node_start): the server must be able to start (the
         * misconfig kind's attempts make them fail: start_fail) */
        return P_NONE;
    }
    if (strncmp(n, "file/", 5) == 0 || strcmp(n, "shm/open") == 0 || strcmp(n, "env/boot_id") == 0)
        return P_FILE;
    if (strncmp(n, "crash/", 6) == 0)
        return P_CRASH;
    if (strcmp(n, "mem/alloc") == 0)
        return P_ALLOC;
    return P_NONE;
}

/* libfiu passes the call site's literal, always the same pointer for a
 * site: classify each pointer once (the strcmps showed in profiles). */
static struct {
    const char *name;
    enum pclass cls;
    const char *focus_of; /* the crash focus `focus` was computed for */
    bool focus;
} cache[128];

static enum pclass class_of(const char *name, const char *crash_focus, bool *focus)
{
    size_t h = ((uintptr_t)name >> 3) % 128u;
    if (cache[h].name != name) {
        cache[h].name = name;
        cache[h].cls = classify(name);
        cache[h].focus_of = NULL;
        cache[h].focus = false;
    }
    if (cache[h].cls == P_CRASH && cache[h].focus_of != crash_focus) {
        cache[h].focus_of = crash_focus;
        cache[h].focus = crash_focus && strcmp(name, crash_focus) == 0;
    }
    *focus = cache[h].cls == P_CRASH && crash_focus && cache[h].focus;
    return cache[h].cls;
}

/* The gate family of a class, or -1 (listen). */
static int class_gate(enum pclass cls)
{
    switch (cls) {
    case P_SEND:
    case P_RECV:
    case P_ACCEPT:
    case P_CONNECT:
    case P_EPOLL:
        return TCPSHM_GATE_NET;
    case P_SEND_SHORT:
        return TCPSHM_GATE_SEND_SHORT;
    case P_RECV_SHORT:
        return TCPSHM_GATE_RECV_SHORT;
    case P_RESET:
        return TCPSHM_GATE_RESET;
    case P_FILE:
        return TCPSHM_GATE_FILE;
    case P_CRASH:
        return TCPSHM_GATE_CRASH;
    default:
        return -1;
    }
}

/* The decision of one evaluation of a point (of class cls). */
static int decide(fp_plan *p, const char *name, enum pclass cls, bool focus, int *failnum, void **failinfo)
{
    if (p->start_fail && strcmp(name, p->start_fail) == 0) /* the misconfig kind's point (no stream is drawn) */
        return 1;
    if (cls == P_ALLOC) /* only where the misconfig kind asks (no stream is drawn) */
        return p->alloc_fail_in > 0 && --p->alloc_fail_in == 0;
    if (!p->active)
        return 0;
    if (cls <= P_RESET) {
        bool send = cls == P_SEND || cls == P_SEND_SHORT;
        bool is_short = cls == P_SEND_SHORT || cls == P_RECV_SHORT;
        if ((cls == P_SEND || cls == P_RECV) && p->block_io) {
            /* partition or storm: nothing moves, nothing is counted here */
            *failnum = EAGAIN;
            return 1;
        }
        if (is_short) {
            fp_kind k = send ? FP_SHORT_WRITE : FP_SHORT_READ;
            if (!chance(p, k))
                return 0;
            /* a byte count: 1 to 64 (clamped below the length by io.c) or half */
            uint32_t r = fp_below(p, k, 80);
            *failinfo = r < 64 ? (void *)(uintptr_t)(r + 1u) : NULL;
            return fire(p, k, name, 1, failnum);
        }
        if (cls == P_RESET)
            return chance(p, FP_DISCONNECT) && fp_below(p, FP_DISCONNECT, 8) == 0 ? fire(p, FP_DISCONNECT, name, 1, failnum) : 0;
        if (!chance(p, FP_IO_ERROR))
            return 0;
        static const int send_errs[] = {1, EPIPE, ECONNRESET, EIO, EINTR, EAGAIN};
        static const int recv_errs[] = {1, ECONNRESET, EIO, ETIMEDOUT, EINTR, EAGAIN};
        int e = send ? send_errs[fp_below(p, FP_IO_ERROR, 6)] : recv_errs[fp_below(p, FP_IO_ERROR, 6)];
        return fire(p, FP_IO_ERROR, name, e, failnum);
    }
    if (cls == P_ACCEPT || cls == P_CONNECT) {
        if (!chance(p, FP_IO_ERROR))
            return 0;
        /* accept also interrupted by a signal, or woken with nothing to take */
        static const int errs[] = {1, ECONNREFUSED, ECONNABORTED, EMFILE, EINTR, EAGAIN};
        return fire(p, FP_IO_ERROR, name, errs[fp_below(p, FP_IO_ERROR, cls == P_ACCEPT ? 6 : 4)], failnum);
    }
    if (cls == P_EPOLL) {
        /* a readiness group's registration or wait failing: the core then
         * polls those connections directly (1: the point's default errno) */
        if (!chance(p, FP_IO_ERROR))
            return 0;
        static const int errs[] = {1, ENOMEM, ENOSPC, EINTR};
        return fire(p, FP_IO_ERROR, name, errs[fp_below(p, FP_IO_ERROR, 4)], failnum);
    }
    if (cls == P_FILE) {
        if (!chance(p, FP_FILE))
            return 0;
        static const int errs[] = {1, EACCES, EIO, ENOSPC, EMFILE, ENOMEM};
        return fire(p, FP_FILE, name, errs[fp_below(p, FP_FILE, 6)], failnum);
    }
    if (cls == P_CRASH) {
        if (!((p->on >> FP_CRASH & 1u) && focus ? fp_below(p, FP_CRASH, 1000000u) < 100000u : chance(p, FP_CRASH)))
            return 0;
        return fire(p, FP_CRASH, name, 1, failnum);
    }
    return 0;
}

/* The libfiu external callback of every point: the skipped evaluations of
 * its family become draws, it decides, and the family gets its next budget. */
static int fp_point_cb(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)flags;
    fp_plan *p = g_plan;
    if (!p)
        return 0;
    bool focus;
    enum pclass cls = class_of(name, p->crash_focus, &focus);
    int f = class_gate(cls);
    if (f >= 0)
        gate_sync(p, f);
    int r = decide(p, name, cls, focus, failnum, failinfo);
    if (f >= 0)
        gate_budget(p, f);
    return r;
}

int fp_install(fp_plan *p)
{
    static bool enabled;
    g_plan = p;
    if (!kind_gates_made)
        make_kind_gates();
    const char *off = getenv("TCPSHM_SIM_NO_GATE");
    gate_off = off && strcmp(off, "1") == 0;
    gates_reset();
    if (enabled)
        return 0;
    if (fiu_init(0) != 0)
        return -1;
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        if (fiu_enable_external(tcpshm_fault_catalogue[i].name, 1, NULL, 0, fp_point_cb) != 0)
            return -1;
    enabled = true;
    return 0;
}
