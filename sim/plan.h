/* The fault plan of the simulator: which fault kinds a run has, how often
 * each fires, and the decisions for every libfiu point of the core, made
 * through fiu_enable_external callbacks from the plan's own seeded PRNG
 * (never libfiu's random mode, which is seeded from the clock). The same
 * seed and the same sequence of point evaluations give the same decisions.
 *
 * Two kinds of decision:
 *  - point decisions (short writes and reads, send/recv/accept/connect
 *    errors, resets, file failures, crash sites, and EAGAIN while the
 *    running node is partitioned or in an EAGAIN storm) are taken inside the
 *    core, in fp_point_cb, each time a point is evaluated;
 *  - scheduler decisions (kill a node, break its connections, start a
 *    partition or a storm, restart under a new name) are taken by the
 *    simulator between steps with fp_roll.
 * Defined in plan.c (which takes the points from faults/catalogue.h).
 *
 * Each kind has its own PRNG stream derived from the seed: its swarm
 * on/off coin, its rate, its decisions and their details (errno, byte
 * count, length) all come from it, so turning one kind off leaves every
 * other kind's draws as they were (what --shrink relies on: a run without a
 * kind is the same run until that kind would have fired). */
#ifndef TCPSHM_SIM_PLAN_H
#define TCPSHM_SIM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef enum fp_kind {
    FP_DISCONNECT,  /* venv_break / conn close between steps, tcpshm/net/reset inside */
    FP_KILL,        /* a node killed between steps (a random moment) */
    FP_CRASH,       /* a node killed at a tcpshm/crash/ site (the crash hook) */
    FP_RENAME,      /* a killed node restarts under a new name (a new stream) */
    FP_SHORT_WRITE, /* tcpshm/net/send/short */
    FP_SHORT_READ,  /* tcpshm/net/recv/short */
    FP_IO_ERROR,    /* tcpshm/net/send, recv, accept, connect fail with an errno */
    FP_EAGAIN,      /* a storm: every send and recv of one node gives EAGAIN for a while */
    FP_PARTITION,   /* the same, long enough for heartbeat timeouts */
    FP_FILE,        /* tcpshm/file/open, resize, rename, map, tcpshm/shm/open fail (login, queue open) */
    FP_RETURN,      /* a killed node restarts under a name it had before (fault_return.c) */
    FP_TWIN,        /* a second live client with a live client's name (fault_twin.c) */
    FP_ROLLBACK,    /* a dead node's storage goes back to a snapshot, or is wiped (fault_rollback.c) */
    FP_LIAR,        /* a hostile peer tells the server a lie now and then (fault_liar.h) */
    FP_POWER,       /* a power loss: a host's nodes die, its unsynced bytes go back (fault_power.c) */
    FP_MISCONFIG,   /* a restart is first tried with one thing wrong, which must be refused (fault_misconfig.c) */
    FP_DAMAGE,      /* a dead node's queue file damaged on its disk, which must be refused (fault_damage.c) */
    FP_MISUSE,      /* the application calls the API the wrong way, which must be refused (fault_misuse.c) */
    FP_STALL,       /* one of the server's group polls (a thread) is not scheduled for a while */
    FP_IMPOSTOR,    /* a client's login reaches a raw impostor that answers with one lie (fault_impostor.h) */
    FP_CLOCK,       /* a node's clock steps back or forward (an NTP step): the `now` it gives the core */
    FP_KINDS
} fp_kind;

#define FP_ALL_KINDS ((1u << FP_KINDS) - 1u)

extern const char *const fp_kind_names[FP_KINDS];

typedef struct fp_plan {
    sim_rng rng[FP_KINDS]; /* one stream per kind */
    uint32_t on;           /* bit per kind: the kinds this run has */
    uint32_t ppm[FP_KINDS]; /* rate per opportunity, parts per million */
    bool active;           /* false: nothing fires (set-up, settle phase, inspection); fp_set_active */
    bool block_io;         /* the running node is partitioned or in a storm: send/recv EAGAIN; fp_set_block_io */
    const char *crash_focus; /* one crash site fires far more often (swarm), or NULL */
    uint64_t fired[FP_KINDS];
    /* n > 0: the n-th evaluation of tcpshm/mem/alloc from now fails, even
     * while inactive (the misconfig kind's out-of-memory start); 0 after */
    uint32_t alloc_fail_in;
    const char *start_fail; /* the point that fails at every evaluation (fp_fail_at_start); NULL: none */
    /* Told about every point decision that fired (for the trace); may be NULL. */
    void (*on_fire)(void *user, fp_kind kind, const char *point, int failnum);
    void *user;
} fp_plan;

/* "all", "none", "swarm" or a comma list of kind names. *mask gets the
 * kinds, *swarm whether each seed picks a subset of them. 0, or -1 with a
 * message in why. */
int fp_parse_kinds(const char *list, uint32_t *mask, bool *swarm, char *why, size_t why_size);

/* A plan from the seed: with swarm, each kind of allowed is on with
 * probability 3/5 (when none is, one kind of allowed, picked from a stream
 * of its own), else every kind of allowed is on; each kind gets a rate
 * picked from its scale. Every kind draws its coin, its rate (and crash its
 * focus) from its own stream whether it is allowed or not. */
void fp_plan_init(fp_plan *p, uint64_t seed, uint32_t allowed, bool swarm);

/* For a run with SHM clients: half the plans with a crash focus move it
 * to one of the tcpshm/crash/shm/ sites (draws from the crash stream only
 * here, so runs without SHM keep their decisions). */
void fp_plan_focus_shm(fp_plan *p);

/* Makes p the plan that the libfiu callbacks consult (one at a time) and,
 * the first time, enables every point of the catalogue with the callback.
 * 0, or -1 if libfiu refused. */
int fp_install(fp_plan *p);

/* Sets p->active, p->block_io: always through these (the gate of the
 * core's points follows them, plan.c). */
void fp_set_active(fp_plan *p, bool active);
void fp_set_block_io(fp_plan *p, bool block);

/* A scheduler decision of kind k: true (and counted) with the kind's rate,
 * never when the kind is off or the plan inactive. */
/* While the plan is inactive (a misconfig attempt): every evaluation of
 * point fails (no stream is drawn, no budget is used), or, NULL, none
 * again. The gates let every evaluation through meanwhile, so that a gated
 * point (tcpshm/file/lock) is asked too. */
void fp_fail_at_start(fp_plan *p, const char *point);
bool fp_roll(fp_plan *p, fp_kind k);
/* A crash site outside the core (a user's world, tcpshm_sim_crash_site):
 * whether the crash kind fires at it now, at the kind's rate; a firing is
 * counted and reported (on_fire) as the core's sites are. */
bool fp_crash_site(fp_plan *p, const char *name);
/* A file call outside the core (a user's world's own files): the errno to
 * fail it with at the file kind's rate (0: it goes on), reported as the
 * core's points are. */
int fp_file_call(fp_plan *p, const char *name);

/* A number in [0, n) from kind k's stream (a detail of a k decision). */
uint32_t fp_below(fp_plan *p, fp_kind k, uint32_t n);

/* "disconnect,kill,..." of a mask, into out. */
void fp_kinds_text(uint32_t mask, char *out, size_t n);

#endif
