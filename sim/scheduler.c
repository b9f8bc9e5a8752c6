/* The run: the swarm's choice of sizes and rates, the step loop under the
 * virtual clock, the faults taken between steps, then the settle phase
 * (faults off) and its liveness bound. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calm.h"
#include "check_sockets.h"
#include "check_timeout.h"
#include "fault_twin.h"
#include "fault_rollback.h"
#include "fault_power.h"
#include "node.h"
#include "pairs.h"
#include "settle_inspect.h"
#include "shape_switch.h"
#include "sim_state.h"
#include "trace_chrome.h"
#include "world.h"
#include "world_reset.h"
#include "tcpshm/sim.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"

const char *const sim_tx_names[3] = {"tcp", "mixed", "shm"};
const char *const sim_dur_names[2] = {"process", "host"};

static uint32_t pick(sim_rng *r, const uint32_t *v, uint32_t n) { return v[sim_rng_below(r, n)]; }

/* The transports (drawn last): 40% of the seeds all TCP, 30% mixed, 30%
 * all SHM; a seed with SHM clients has 1 or 2 SHM groups (the sizes of its
 * segments are the application's config: world.c). */
static void shape_shm(sim *s, sim_rng *r)
{
    tcpshm_config *c = &s->cfg;
    uint32_t m = sim_rng_below(r, 10);
    s->tx_mode = m < 4 ? SIM_TX_TCP : m < 7 ? SIM_TX_MIXED : SIM_TX_SHM;
    if (s->p->transport >= 0) /* --transport: the same draws, another mode */
        s->tx_mode = (uint32_t)s->p->transport;
    c->shm_groups = s->tx_mode == SIM_TX_TCP ? 0 : sim_rng_range(r, 1, 2); /* 0: a login with use_shm is refused */
}

/* budget_env's hook: the server's registrations while its readiness sets
 * are full (step_faults). */
static int set_full_fails(void *user)
{
    const sim *s = user;
    return s->stepping && s->stepping->idx == 0 && s->set_full_until > s->now ? ENOSPC : 0;
}

/* What the seed decides of the machine room, whatever the application:
 * the timing (the virtual clock counts ticks), how far a step moves it,
 * the sockets' capacity, the disk's sync unit, the transports. The
 * application's own shape (sizes, groups, clients, a wrap run) is its
 * world's (world_shape). */
static void shape(sim *s, sim_rng *r)
{
    static const uint32_t caps[] = {17, 64, 200, 4096, 65536};
    tcpshm_config *c = &s->cfg;
    tcpshm_config_default(c);
    c->heartbeat_interval = sim_rng_range(r, 20, 200);
    c->connection_timeout = c->heartbeat_interval * sim_rng_range(r, 3, 8);
    c->new_conn_timeout = sim_rng_range(r, 200, 800);
    s->set_full_rng = sim_rng_make(s->p->seed, 12);
    c->max_new_conns = sim_rng_range(r, 1, 4);
    c->accepts_per_poll = sim_rng_range(r, 1, 4);
    s->max_dt = sim_rng_range(r, 1, 10);
    venv_options vo = {.stream_capacity = pick(r, caps, 5)};
    s->stream_cap = vo.stream_capacity;
    /* Half the seeds sync in 512-byte sectors, by a coin of their own stream
     * (11): an msync then carries no bytes beside its range by the accident
     * of their page (a compaction's copy left unsynced hid in the page of
     * the record synced after it: mutation 44). TCPSHM_SIM_SECTOR=1 puts
     * every seed there, =0 none. */
    sim_rng sector_rng = sim_rng_make(s->p->seed, 11);
    bool sector = sim_switch_apply(SIM_SW_SECTOR, sim_rng_below(&sector_rng, 2) == 0);
    vo.sync_unit = sector ? 512u : 0u;
    shape_shm(s, r);
    s->v = venv_create(&vo);
    budget_env_init(&s->budget, venv_env(s->v), SIM_STEP_ENV_BUDGET, node_hang, s);
    s->budget.closing = timeout_closing;
    s->budget.epoll_add_fails = set_full_fails;
    s->env = &s->budget.env;
}

static void on_fire(void *user, fp_kind kind, const char *point, int failnum)
{
    sim *s = user;
    /* the core's points without their "tcpshm/"; a world's own crash sites whole */
    trace_event(&s->tr, s->now, TR_FAULT, (uint32_t)kind, (uint32_t)failnum, 0,
                strncmp(point, "tcpshm/", 7) == 0 ? point + 7 : point);
    if (kind == FP_FILE && strstr(point, "sync"))
    {
        s->sync_failed_at = s->now; /* fault_power.c: the focus */
        s->sync_failed_node = s->stepping ? s->stepping->idx : -1;
    }
}

/* The settle deadline's allowance for the backlog when the faults stop: a
 * deep seed may hold hundreds of messages, each of them (and the echo a
 * request still owes) taking up to a step of max_dt ticks per stream_cap
 * bytes, twice (the bytes move in one step, are read in the next). */
static int64_t settle_drain_ticks(const sim *s)
{
    int64_t steps_per_msg = 2 * ((int64_t)s->cfg.max_msg_size / s->stream_cap + 2);
    return 2 * (int64_t)chk_backlog(&s->chk) * steps_per_msg * s->max_dt;
}

/* Faults the scheduler takes between steps. */
static void step_faults(sim *s)
{
    node *n = &s->nodes[sim_rng_below(&s->rng, s->nnodes)];
    rb_step(s, n); /* a snapshot, or (dead) storage that goes back */
    if (!n->alive || fault_twin_pins(s, n))
        return;
    if (fp_roll(&s->plan, FP_KILL)) {
        node_kill(s, n, false);
        return;
    }
    if (fp_roll(&s->plan, FP_DISCONNECT)) {
        if (fp_below(&s->plan, FP_DISCONNECT, 2)) {
            venv_break(s->v, n->owner);
            trace_event(&s->tr, s->now, TR_BREAK, (uint32_t)n->idx, 0, 0, NULL);
        } else {
            tcpshm_conn *c = NULL;
            uint32_t which = 0;
            if (n->idx == 0 && n->npeers) {
                which = fp_below(&s->plan, FP_DISCONNECT, n->npeers);
                c = n->peers[which].conn;
            } else if (n->idx > 0) {
                c = tcpshm_client_conn(n->cl);
            }
            if (c) {
                tcpshm_conn_close(c); /* closed cleanly at its next poll */
                trace_event(&s->tr, s->now, TR_CLOSE, (uint32_t)n->idx, which, 0, NULL);
            }
        }
    }
    bool part = fp_roll(&s->plan, FP_PARTITION);
    if ((part || fp_roll(&s->plan, FP_EAGAIN)) && n->block_until <= s->now) {
        int64_t len = part ? s->cfg.connection_timeout * (int64_t)fp_below(&s->plan, FP_PARTITION, 3) +
                                 s->cfg.connection_timeout + 1
                           : 1 + (int64_t)fp_below(&s->plan, FP_EAGAIN, (uint32_t)s->cfg.heartbeat_interval);
        n->block_until = n->unblocked_at = s->now + len;
        trace_event(&s->tr, s->now, TR_PART_ON, (uint32_t)n->idx, part, (uint32_t)n->block_until, NULL);
    }
    /* a group thread of the server not scheduled for up to two heartbeat
     * intervals: its logins stay pending (LOGIN_PENDING across poll_ctl
     * calls), its connections unpolled, while poll_ctl goes on */
    if (n->idx == 0 && s->stall_until <= s->now && fp_roll(&s->plan, FP_STALL)) {
        uint32_t nt = s->cfg.tcp_groups, g = fp_below(&s->plan, FP_STALL, nt + s->cfg.shm_groups);
        s->stall_group = g < nt ? g : 4u + g - nt;
        s->stall_until = s->now + 1 + (int64_t)fp_below(&s->plan, FP_STALL, 2u * (uint32_t)s->cfg.heartbeat_interval);
        s->unstalled_at = s->stall_until;
        trace_event(&s->tr, s->now, TR_STALL, s->stall_group, 0, (uint32_t)s->stall_until, NULL);
    }
    /* the server's readiness sets full for up to two timeouts (with the
     * io-error kind): every registration fails with ENOSPC, and the groups
     * must read the links they could not add directly (mutation 43: a slot
     * that kept an old registration took a new socket with the same
     * descriptor for registered, and nothing read it until it timed out) */
    if (n->idx == 0 && s->ready_sets && (s->plan.on >> FP_IO_ERROR & 1u) && s->set_full_until <= s->now &&
        sim_rng_ppm(&s->set_full_rng, 3000)) {
        s->set_full_until =
            s->now + 1 + (int64_t)sim_rng_below(&s->set_full_rng, 2u * (uint32_t)s->cfg.connection_timeout);
        trace_event(&s->tr, s->now, TR_SET_FULL, 0, 0, (uint32_t)s->set_full_until, NULL);
    }
    /* its host's clock steps (NTP) back or forward by up to three heartbeat
     * intervals: the core's timers must neither stall nor lose anything
     * (the rules of the run: no loss, every client back after settle); not
     * the server's while the liar has an attempt open (its rule reads the
     * server's closes: a step would make them timeouts; seeds 1687, 2582) */
    if (fp_roll(&s->plan, FP_CLOCK) && !(n->idx == 0 && s->liar.fd >= 0)) {
        uint32_t step = 1u + fp_below(&s->plan, FP_CLOCK, 3u * (uint32_t)s->cfg.heartbeat_interval);
        bool back = fp_below(&s->plan, FP_CLOCK, 2) == 0;
        n->clock_off += back ? -(int64_t)step : (int64_t)step;
        /* the timeout rule (check_timeout.c): a step forward makes the
         * node's peers look silent, a step back delays its heartbeats */
        if (n->unblocked_at < s->now)
            n->unblocked_at = s->now;
        trace_event(&s->tr, s->now, TR_CLOCK, (uint32_t)n->idx, step, back, NULL);
    }
}

/* Moves a pair's file to seq (or count) base; the caller verifies the
 * result by reopening it. A queue file (shm false): both record slots set
 * to an empty queue at seq base with my_ack base; this depends on the file
 * format version 1 (selector at byte 160, two 32-byte tcpshm_ptcp_state
 * slots at 192: static assertions in ptcp_queue.c). An SHM segment: both
 * positions set to count base at offset 0, every slot word zeroed (the
 * wstate and rstate words at 64 and 128 of the 192-byte header: static
 * assertions in shm_queue.c). */
static void patch_to_base(sim *s, const char *path, uint32_t base, bool shm)
{
    void *ctx = s->env->ctx;
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    int fd = s->env->file_open(ctx, path, 0, 0);
    uint64_t size = 0;
    uint8_t *m = fd >= 0 && s->env->file_size(ctx, fd, &size) == 0 ? s->env->map(ctx, fd, (size_t)size) : NULL;
    if (!m || size < (shm ? TCPSHM_SHM_HEADER_SIZE + 1u : 256u)) {
        fprintf(stderr, "tcpshm-sim: cannot map %s to move it near the wrap\n", path);
        abort();
    }
    if (shm) {
        uint64_t st = (uint64_t)base << 32;
        memset(m + TCPSHM_SHM_HEADER_SIZE, 0, (size_t)size - TCPSHM_SHM_HEADER_SIZE);
        memcpy(m + 64, &st, sizeof st);
        memcpy(m + 128, &st, sizeof st);
    } else {
        tcpshm_ptcp_state st;
        memset(&st, 0, sizeof st);
        st.read_seq = st.write_seq = st.my_ack = base;
        memcpy(m + 192, &st, sizeof st);
        memcpy(m + 224, &st, sizeof st);
    }
    s->env->unmap(ctx, m, (size_t)size);
    s->env->file_close(ctx, fd);
}

/* A wrap run: the first logins happen without faults or pushes, every node
 * is killed, the pairs' queue files are moved to wrap_base, and the nodes
 * restart; the run proper then crosses the wrap within a few hundred
 * messages per stream. */
static bool bootstrap_wrap(sim *s)
{
    s->bootstrap = true;
    fp_set_active(&s->plan, false);
    bool ready = false;
    for (int i = 0; i < 20000 && !ready; i++) {
        s->now += 1;
        for (uint32_t k = 0; k < s->nnodes; k++)
            node_step(s, &s->nodes[k]);
        ready = true;
        for (uint32_t k = 1; k < s->nnodes; k++)
            ready = ready && tcpshm_client_get_state(s->nodes[k].cl) == TCPSHM_CLIENT_LOGGED_IN;
    }
    if (!ready)
        return false;
    for (uint32_t k = 0; k < s->nnodes; k++)
        node_kill(s, &s->nodes[k], false);
    const char *srv = s->nodes[0].name;
    for (uint32_t k = 1; k < s->nnodes; k++) {
        char path[SIM_PATH_SIZE];
        const char *c = s->nodes[k].name;
        if (s->nodes[k].shm[0]) {
            sim_shm_path(path, sizeof path, c, srv);
            patch_to_base(s, path, s->wrap_base, true);
            sim_shm_path(path, sizeof path, srv, c);
            patch_to_base(s, path, s->wrap_base, true);
        } else {
            sim_queue_path(path, sizeof path, s->nodes[k].dir, c, srv);
            patch_to_base(s, path, s->wrap_base, false);
            sim_queue_path(path, sizeof path, s->nodes[0].dir, srv, c);
            patch_to_base(s, path, s->wrap_base, false);
        }
        world_pair_lost(s, srv, c); /* the application's state of the pair was made for seq 0: its operator starts it again */
    }
    chk_fini(&s->chk);
    chk_init(&s->chk);
    venv_sync_all(s->v); /* the set-up is on the disk */
    for (uint32_t k = 0; k < s->nnodes; k++)
        node_start(s, &s->nodes[k]);
    s->bootstrap = false;
    return true;
}

static bool all_ready(sim *s)
{
    if (!s->nodes[0].alive)
        return false;
    for (uint32_t i = 1; i < s->nnodes; i++)
        if (!node_client_ready(s, &s->nodes[i]))
            return false;
    return chk_settled(&s->chk, NULL) && sockets_settled(s, NULL, 0);
}

/* The run's numbers into its result (a finished run, or one the CPU alarm
 * stopped). */
static void fill_result(const sim *s, sim_result *r)
{
    r->max_step_calls = s->budget.max_calls;
    r->hash = s->tr.hash;
    r->pushes = s->chk.pushes;
    r->pops = s->chk.pops;
    r->events = s->tr.count;
    memcpy(r->fired, s->plan.fired, sizeof r->fired);
    r->kinds_on = s->plan.on;
    r->clients = s->nnodes - 1;
    r->tx_mode = s->tx_mode;
    r->durability = s->durability;
    r->steps = s->step;
    r->vtime = s->now;
}

static void report(sim *s, sim_result *r, FILE *out)
{
    chk_stream_name(&s->chk, s->chk.violation_stream, r->stream, sizeof r->stream);
    snprintf(r->what, sizeof r->what, "%s", s->chk.violation);
    r->violated = true;
    if (s->p->trace_file)
        fflush(s->p->trace_file); /* whatever happens to the process next */
    if (!out)
        return;
    fprintf(out, "VIOLATION (seed %llu, t=%lld): %s\n  stream: %s\n  last events:\n",
            (unsigned long long)s->p->seed, (long long)s->now, r->what, r->stream);
    trace_dump_last(&s->tr, out, 30, "    ");
}

static sim *g_running; /* the run sim_run is in, for sim_interrupted */

void sim_interrupted(sim_result *r, FILE *out, double cpu_seconds)
{
    sim *s = g_running;
    memset(r, 0, sizeof *r);
    if (!s)
        return;
    fp_set_active(&s->plan, false);
    fp_install(NULL);
    chk_fail(&s->chk, -1, "hang: the run used more than %g s of CPU time (a loop that makes no env call; the "
                          "point where it was stopped may vary)",
             cpu_seconds);
    r->hang = true;
    report(s, r, out);
    fill_result(s, r);
    g_running = NULL;
}

void sim_run(const sim_params *p, sim_result *r, FILE *out)
{
    sim *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    g_running = s;
    memset(r, 0, sizeof *r);
    s->p = p;
    sim_rng shape_rng = sim_rng_make(p->seed, 1);
    s->rng = sim_rng_make(p->seed, 2);
    s->tx_rng = sim_rng_make(p->seed, 3);
    s->wl_rng = sim_rng_make(p->seed, 4); /* the application's (tcpshm_sim_random) */
    shape(s, &shape_rng);
    power_init(s);
    calm_init(s);
    world_begin(s);
    world_shape(s);
    power_pick_durability(s);
    fp_plan_init(&s->plan, p->seed,
                 p->kinds & WORLD_KINDS_OF(s->durability, p->world->pair_reset != NULL, world_lists_identities(p->world)),
                 p->swarm);
    if (s->tx_mode != SIM_TX_TCP)
        fp_plan_focus_shm(&s->plan);
    s->plan.on_fire = on_fire;
    s->plan.user = s;
    if (fp_install(&s->plan) != 0)
        abort();
    chk_init(&s->chk);
    rb_init(s);
    trace_init(&s->tr, p->trace_file);
    if (p->trace_file && p->trace_chrome)
        trace_chrome_begin(s);
    s->next_owner = 100;
    s->liar.fd = -1;
    s->imp.lfd = s->imp.fd = s->imp.victim = -1;
    for (uint32_t i = 0; i < s->nnodes; i++) {
        node *n = &s->nodes[i];
        n->idx = (int)i;
        world_name(s, n);
        n->shm[0] = i > 0 && sim_pick_shm(s);
        node_start(s, n);
    }
    uint32_t order[1 + SIM_MAX_CLIENTS];
    int64_t deadline = 0;
    if (s->wrap_base && !bootstrap_wrap(s))
        chk_fail(&s->chk, -1, "the fault-free first logins of a wrap run did not complete");
    fp_set_active(&s->plan, true);
    for (; !s->chk.violated; s->step++) {
        bool faulting = s->step < p->steps && (p->time_limit == 0 || s->now < p->time_limit);
        if (!faulting && !s->settle) {
            /* faults stop; every node comes back; everything must settle */
            s->settle = true;
            fp_set_active(&s->plan, false);
            fault_twin_end(s, "faults stop");
            s->stall_until = 0;
            s->set_full_until = 0;
            if (s->unstalled_at > s->now)
                s->unstalled_at = s->now;
            for (uint32_t i = 0; i < s->nnodes; i++) {
                s->nodes[i].block_until = 0;
                if (s->nodes[i].unblocked_at > s->now)
                    s->nodes[i].unblocked_at = s->now;
                if (!s->nodes[i].alive && s->nodes[i].restart_at > s->now)
                    s->nodes[i].restart_at = s->now;
            }
            deadline = s->now + 4 * s->cfg.connection_timeout + 4 * s->cfg.new_conn_timeout +
                       20 * s->cfg.heartbeat_interval + 2000 + settle_drain_ticks(s);
            trace_event(&s->tr, s->now, TR_SETTLE, 0, 0, (uint32_t)deadline, NULL);
        }
        s->now += 1 + (int64_t)sim_rng_below(&s->rng, s->max_dt);
        node_release_connects(s);
        if (faulting && calm_step(s))
            faulting = false; /* no fault this step; the plan is paused */
        if (faulting) {
            step_faults(s);
            fault_twin_maybe_start(s);
            power_step(s);
        }
        rb_operator(s);
        for (uint32_t i = 0; i < s->nnodes; i++) {
            node *n = &s->nodes[i];
            if (!n->alive && n->restart_at <= s->now)
                node_start(s, n);
            order[i] = i;
        }
        for (uint32_t i = s->nnodes - 1; i > 0; i--) {
            uint32_t j = sim_rng_below(&s->rng, i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (uint32_t i = 0; i < s->nnodes && !s->chk.violated; i++)
            if (s->nodes[order[i]].alive)
                node_step(s, &s->nodes[order[i]]);
        if (!s->chk.violated) {
            fault_twin_step(s);
            liar_step(s);
            impostor_step(s);
        }
        if (!s->chk.violated) {
            rb_operator(s); /* a pair detected in this step is reset before the application's invariant runs */
            world_check(s, false);
        }
        if (s->chk.violated) {
            report(s, r, out);
            break;
        }
        if (s->settle && all_ready(s)) {
            settle_inspect(s);
            world_check(s, true);
            if (s->chk.violated)
                report(s, r, out);
            break;
        }
        if (s->settle && s->now > deadline) {
            int open = -1;
            if (!chk_settled(&s->chk, &open)) {
                chk_stream *st = &s->chk.s[open];
                chk_fail(&s->chk, open, "liveness: %u of %u messages popped by t=%lld, the deadline after the "
                                        "faults stopped",
                         st->popped, st->pushed, (long long)deadline);
            } else {
                for (uint32_t i = 1; i < s->nnodes && !s->chk.violated; i++)
                    if (!node_client_ready(s, &s->nodes[i]))
                        chk_fail(&s->chk, -1, "liveness: client %s is not logged in with its queues acknowledged "
                                              "by the deadline (state %d)",
                                 s->nodes[i].name,
                                 s->nodes[i].alive ? (int)tcpshm_client_get_state(s->nodes[i].cl) : -1);
                char why[160];
                if (!s->chk.violated && s->nodes[0].alive && !sockets_settled(s, why, sizeof why))
                    chk_fail(&s->chk, -1, "leak: %s after everything else settled (a socket the server no longer "
                                          "uses is still open)", why);
            }
            r->liveness = true;
            report(s, r, out);
            break;
        }
    }
    if (s->chk.violated && !r->violated)
        report(s, r, out);
    r->hang = s->hang;
    fill_result(s, r);
    trace_chrome_end(s, r); /* if it began */
    /* tear down: every live node, then the machine room */
    fp_set_active(&s->plan, false);
    fault_twin_end(s, "end of the run");
    for (uint32_t i = 0; i < s->nnodes; i++) {
        node *n = &s->nodes[i];
        if (!n->alive)
            continue;
        venv_set_owner(s->v, n->owner);
        if (i == 0) {
            world_died(s, n);
            tcpshm_server_destroy(n->srv);
        } else {
            tcpshm_client_destroy(n->cl);
        }
    }
    fp_install(NULL);
    venv_destroy(s->v);
    chk_fini(&s->chk);
    rb_fini(s);
    world_end(s);
    free(s);
    g_running = NULL;
}
