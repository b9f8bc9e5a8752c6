/* The nodes: a server and clients of the real core on venv, started,
 * stepped and killed (their application is the world's: world.c, and
 * tcpshm-sim's own in echo_app.c). Every call into the
 * core runs inside node_step (or a callback under it), where a crash site
 * longjmps back to. After a death the checker learns from the files what a
 * cut-short push or pop left, and every queue file must still open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_damage.h"
#include "fault_misconfig.h"
#include "fault_misuse.h"
#include "fault_return.h"
#include "fault_twin.h"
#include "check_lastserver.h"
#include "check_queued.h"
#include "node.h"
#include "pairs.h"
#include "rollback_rule.h"
#include "sim_state.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"
#include "fault_power.h"
#include "world.h"

static sim *g_sim; /* for the crash hook: one run at a time */

static void crash_hook(const char *site, void *user)
{
    (void)site, (void)user;
    if (g_sim && g_sim->jmp)
        longjmp(*g_sim->jmp, 1);
    /* a crash outside a node's step would be a simulator bug: die loudly */
    fprintf(stderr, "tcpshm-sim: crash site %s fired outside a node step\n", site);
    abort();
}

/* A step over its env-call budget: a hang violation, then the node dies
 * as at a crash site (its object was left mid-call) and the run ends. */
void node_hang(void *sim_, const char *call)
{
    sim *s = sim_;
    node *n = s->stepping;
    if (!n || !s->jmp) {
        fprintf(stderr, "tcpshm-sim: env-call budget exceeded outside a node step (at %s)\n", call);
        abort();
    }
    chk_fail(&s->chk, -1, "hang: node %s made more than %llu env calls in one step (at %s)", n->name,
             (unsigned long long)s->budget.limit, call);
    s->hang = true;
    trace_event(&s->tr, s->now, TR_HANG, (uint32_t)n->idx, (uint32_t)s->budget.limit, 0, call);
    longjmp(*s->jmp, 2);
}

/* A pair's queue as a restarted process would open it, by a separate owner
 * with the faults off, given to fn. */
bool node_look_queue(sim *s, const char *dir, const char *local, const char *remote,
                     void (*fn)(void *user, const tcpshm_ptcp_queue *q), void *user, char *why, size_t why_size)
{
    char path[SIM_PATH_SIZE];
    size_t len;
    sim_queue_path(path, sizeof path, dir, local, remote);
    if (!venv_file_data(s->v, path, &len)) { /* open would create it */
        snprintf(why, why_size, "%s does not exist", path);
        return false;
    }
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config qc = {s->cfg.queue_size, s->cfg.max_msg_size, s->cfg.little_endian, 0, false};
    tcpshm_error err;
    /* an env without boot ids (version 2): a look claims nothing, releases
     * nothing and makes no boot check (the power-loss rule makes its own) */
    tcpshm_env look = *s->env;
    look.version = 2;
    int rc = tcpshm_ptcp_queue_open(&q, &look, dir, local, remote, &qc, &err);
    if (rc == 0) {
        fn(user, &q);
        tcpshm_ptcp_queue_close(&q);
    } else {
        snprintf(why, why_size, "%s", err.text);
    }
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
    return rc == 0;
}

typedef struct queue_numbers {
    uint32_t *seq_start, *seq_end, *my_ack;
} queue_numbers;

static void read_numbers(void *user, const tcpshm_ptcp_queue *q)
{
    queue_numbers *r = user;
    if (r->seq_start)
        *r->seq_start = tcpshm_ptcp_queue_seq_start(q);
    *r->seq_end = tcpshm_ptcp_queue_seq_end(q);
    *r->my_ack = tcpshm_ptcp_queue_my_ack(q);
}

/* The persisted state of a pair's queue, read by a separate owner with the
 * faults off (what a restarted process would find). */
bool node_peek_queue(sim *s, const char *dir, const char *local, const char *remote, uint32_t *seq_start,
                     uint32_t *seq_end, uint32_t *my_ack, char *why, size_t why_size)
{
    queue_numbers r = {seq_start, seq_end, my_ack};
    return node_look_queue(s, dir, local, remote, read_numbers, &r, why, why_size);
}

/* The count an SHM segment publishes, opened as a restarted process would
 * (faults off, separate owner): as its producer (which first recovers a
 * slot published but not recorded: the producer is the dead node) for the
 * pushed count, as its consumer for the popped count. false with why if
 * the segment is missing or does not open. */
static bool peek_shm(sim *s, const char *from, const char *to, bool producer, uint32_t *count, char *why,
                     size_t why_size)
{
    char path[SIM_PATH_SIZE], name[64];
    size_t len;
    sim_shm_path(path, sizeof path, from, to);
    if (!venv_file_data(s->v, path, &len)) {
        snprintf(why, why_size, "%s does not exist", path);
        return false;
    }
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    tcpshm_shm_queue q;
    tcpshm_error err;
    (void)tcpshm_shm_queue_name(name, sizeof name, from, to);
    int rc = tcpshm_shm_queue_open(&q, s->env, name,
                                   &(tcpshm_shm_queue_config){.capacity = s->cfg.shm_queue_size,
                                                              .max_msg_size = s->cfg.max_msg_size,
                                                              .producer = producer}, &err);
    if (rc == 0) {
        *count = producer ? tcpshm_shm_queue_pushed(&q) : tcpshm_shm_queue_popped(&q);
        tcpshm_shm_queue_close(&q);
    } else {
        snprintf(why, why_size, "%s", err.text);
    }
    venv_set_owner(s->v, owner);
    fp_set_active(&s->plan, was);
    return rc == 0;
}

/* ------------------------------------------------------------ lifecycle */

/* How the operator wrote the node's directory in this incarnation's
 * configuration: as it is, with a trailing '/', as "./dir", or with
 * doubled separators. The same directory each time (the OS, and venv,
 * resolve the spellings alike); the simulator's own looks use the plain
 * one, so a core that took another spelling for another place would
 * leave its files where no check finds them. A user's world too: the
 * spelling is the core's only; the user's start hook gets the plain one. */
static void dir_spelling(const node *n, char *out, size_t size)
{
    static const char *const form[] = {"%s", "%s/", "./%s", ".//%s//"};
    unsigned k = (n->owner >> 1) % 4u;
    snprintf(out, size, form[k], n->dir);
}

/* The env this incarnation's application gives the core: the run's, or an
 * older or partial one a user may have: version 2 (no boot ids, no
 * readiness; only with durability host, whose syncs it has: a
 * process-durable node without boot ids cannot see that a power loss took
 * its unsynced writes back, which the power-loss rule expects of it),
 * version 3 without boot_id (the same, host only), or version 3 without one
 * of the three epoll members (the server's groups then poll every
 * connection directly). The same run otherwise. */
static const tcpshm_env *node_env(sim *s, node *n)
{
    n->env = *s->env;
    switch ((n->owner >> 3) % 8u) {
    case 1:
        if (s->durability == SIM_DUR_HOST)
            n->env.version = 2;
        break;
    case 5: /* version 3 without boot ids: no boot check either (host only, as version 2) */
        if (s->durability == SIM_DUR_HOST)
            n->env.boot_id = NULL;
        break;
    case 2: n->env.epoll_create = NULL; break;
    case 3: n->env.epoll_ctl = NULL; break;
    case 4: n->env.epoll_wait = NULL; break;
    default: break;
    }
    return &n->env;
}

void node_start(sim *s, node *n)
{
    fault_misconfig(s, n); /* an operator's wrong start first, now and then */
    g_sim = s;
    tcpshm_set_crash_hook(crash_hook, NULL);
    n->owner = s->next_owner++;
    n->alive = true;
    n->connect_called = false;
    n->npeers = 0;
    n->pend_push = n->pend_pop = -1;
    n->c2s = n->s2c = -1;
    n->server[0] = '\0';
    n->next_login = s->now;
    n->login_last[0] = '\0';
    memcpy(n->login_rec, n->ls_rec[n->cur], sizeof n->login_rec);
    n->partitioned = false;
    n->block_until = 0;
    venv_set_owner(s->v, n->owner);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    tcpshm_error err;
    int rc;
    char dir[TCPSHM_NAME_MAX + 8];
    dir_spelling(n, dir, sizeof dir);
    if (n->idx == 0) {
        tcpshm_server_callbacks cb;
        world_server_callbacks(s, n, &cb);
        rc = tcpshm_server_create(&n->srv, &s->cfg, node_env(s, n), n->name, dir, &cb, &err);
        if (rc == 0)
            rc = tcpshm_server_start(n->srv, "0.0.0.0", SIM_PORT, &err);
    } else {
        tcpshm_client_callbacks cb;
        world_client_callbacks(s, n, &cb);
        rc = tcpshm_client_create(&n->cl, &s->cfg, node_env(s, n), n->name, dir, &cb, &err);
    }
    if (rc != 0) {
        fprintf(stderr, "tcpshm-sim: cannot start %s: %s\n", n->name, err.text);
        abort();
    }
    world_started(s, n); /* the application's state from its files */
    fp_set_active(&s->plan, was);
    char what[TCPSHM_NAME_MAX + 8];
    bool shm = n->idx > 0 && n->shm[n->cur];
    snprintf(what, sizeof what, "%s%s", n->name, shm ? " shm" : "");
    trace_event(&s->tr, s->now, TR_START, (uint32_t)n->idx, n->owner, n->cur, what);
}

/* A push or pop a crash cut short counts if, and only if, the file says
 * it persisted. */
static void resolve(sim *s, node *n)
{
    int sids[2] = {n->pend_push, n->pend_pop};
    for (int k = 0; k < 2; k++) {
        int sid = sids[k];
        if (sid < 0)
            continue;
        chk_stream *st = &s->chk.s[sid];
        const char *remote = n->idx == 0 ? st->client : st->server;
        uint32_t seq_end = 0, my_ack = 0;
        char why[256];
        bool ok;
        if (!sim_client_shm(s, st->client))
            ok = node_peek_queue(s, n->dir, n->name, remote, NULL, &seq_end, &my_ack, why, sizeof why);
        else if (k == 0)
            ok = peek_shm(s, n->name, remote, true, &seq_end, why, sizeof why);
        else
            ok = peek_shm(s, remote, n->name, false, &my_ack, why, sizeof why);
        if (!ok) {
            chk_fail(&s->chk, sid, "after the crash of %s the queue does not open: %s", n->name, why);
            return;
        }
        if (k == 0) {
            uint32_t want = st->base + st->pushed;
            chk_push_resolve(&s->chk, sid, seq_end == want + 1u);
            /* host: the crash may take back the batch before it, not synced yet */
            if (seq_end != want && seq_end != want + 1u &&
                !(s->durability == SIM_DUR_HOST && chk_take_back_unsynced(&s->chk, sid, seq_end)))
                chk_fail(&s->chk, sid, "after a crash in push of seq %u the file says seq_end %u", want, seq_end);
        } else {
            uint32_t want = st->base + st->popped;
            if (my_ack != want && my_ack != want + 1u)
                chk_fail(&s->chk, sid, "after a crash in pop of seq %u the file says my_ack %u", want, my_ack);
            chk_pop_resolve(&s->chk, sid, my_ack == want + 1u);
        }
    }
    n->pend_push = n->pend_pop = -1;
}

/* Host durability: a client's push_more batch not synced yet dies with its
 * process (the file's record does not count it): its pushes are taken back
 * when the file says so, and only those. */
static void take_back_batch(sim *s, node *n)
{
    if (s->durability != SIM_DUR_HOST || n->idx == 0 || n->c2s < 0 || s->chk.violated)
        return;
    chk_stream *st = &s->chk.s[n->c2s];
    if (st->crash_tail == 0 || sim_client_shm(s, n->name) || rb_pair_dead(s, st->server, n->name))
        return; /* a pair whose storage went back is the rollback rule's to judge */
    uint32_t seq_end = 0, my_ack = 0;
    char why[256];
    if (!node_peek_queue(s, n->dir, n->name, st->server, NULL, &seq_end, &my_ack, why, sizeof why))
        return; /* check_files reports it */
    if (seq_end != st->base + st->pushed && !chk_take_back_unsynced(&s->chk, n->c2s, seq_end))
        chk_fail(&s->chk, n->c2s, "after %s died its queue file of %s/%s says seq_end %u; %u pushes returned, %u of "
                 "them not synced yet (push_more), %u popped",
                 n->name, st->server, n->name, seq_end, st->base + st->pushed, st->crash_tail, st->base + st->popped);
}

/* Whether the pair's persisted state (the queue file, or each SHM segment
 * that exists) opens; why says what does not. */
static bool state_opens(sim *s, node *n, const char *remote, char *why, size_t why_size)
{
    const char *client = n->idx == 0 ? remote : n->name;
    uint32_t x, y;
    char path[SIM_PATH_SIZE];
    size_t len;
    if (!sim_client_shm(s, client)) {
        snprintf(path, sizeof path, "%.*s/%.*s_%.*s.ptcp", SIM_NAME_PREC, n->dir, SIM_NAME_PREC, n->name,
                 SIM_NAME_PREC, remote);
        return !venv_file_data(s->v, path, &len) || node_peek_queue(s, n->dir, n->name, remote, NULL, &x, &y, why, why_size);
    }
    /* the segment it produces into and the one it consumes from */
    sim_shm_path(path, sizeof path, n->name, remote);
    if (venv_file_data(s->v, path, &len) && !peek_shm(s, n->name, remote, true, &x, why, why_size))
        return false;
    sim_shm_path(path, sizeof path, remote, n->name);
    return !venv_file_data(s->v, path, &len) || peek_shm(s, remote, n->name, false, &x, why, why_size);
}

/* Every queue file or segment the dead node had open must still open
 * (verify): a kill at any instruction leaves the old or the new state,
 * never a broken file. */
static void check_files(sim *s, node *n, char remotes[][TCPSHM_NAME_MAX + 1], uint32_t nr)
{
    for (uint32_t i = 0; i < nr && !s->chk.violated; i++) {
        char why[256];
        if (!liar_holds_segment(s, remotes[i]) && !state_opens(s, n, remotes[i], why, sizeof why)) {
            int sid = chk_stream_id(&s->chk, n->idx == 0 ? n->name : remotes[i], n->idx == 0 ? remotes[i] : n->name,
                                    n->idx == 0 ? CHK_S2C : CHK_C2S, 0);
            chk_fail(&s->chk, sid, "after %s died its queue %s does not open: %s", n->name,
                     sim_client_shm(s, n->idx == 0 ? remotes[i] : n->name) ? "segment" : "file", why);
        } else if (!sim_client_shm(s, n->idx == 0 ? remotes[i] : n->name) &&
                   !queued_intact(s, n->dir, n->name, remotes[i], why, sizeof why)) {
            chk_fail(&s->chk, -1, "after %s died: %s", n->name, why);
        }
    }
}

/* The death of a node: killed between steps (TR_KILL), at a crash site
 * (TR_CRASH), or stopped in a hang (TR_HANG: traced by node_hang). */
static void node_die(sim *s, node *n, tr_type why, bool keep_name)
{
    if (why != TR_HANG)
        trace_event(&s->tr, s->now, why, (uint32_t)n->idx, n->owner, 0, n->name);
    /* a server's peers: every client name and the liar (seed 68229: 17 of them) */
    char remotes[sizeof n->peers / sizeof n->peers[0]][TCPSHM_NAME_MAX + 1];
    uint32_t nr = 0;
    if (n->idx == 0)
        for (uint32_t i = 0; i < n->npeers; i++)
            memcpy(remotes[nr++], n->peers[i].name, sizeof remotes[0]);
    else if (n->server[0])
        memcpy(remotes[nr++], n->server, sizeof remotes[0]);
    bool mid_login = n->idx > 0 && tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_IDLE &&
                     tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_LOGGED_IN;
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    venv_kill(s->v, n->owner);
    /* the process is gone: its memory is freed (its env calls fail, its
     * handles are closed), its files and their bytes stay */
    venv_set_owner(s->v, n->owner);
    if (n->idx == 0) {
        world_died(s, n);
        tcpshm_server_destroy(n->srv);
        n->srv = NULL;
    } else {
        tcpshm_client_destroy(n->cl);
        n->cl = NULL;
    }
    fp_set_active(&s->plan, was);
    resolve(s, n);
    take_back_batch(s, n);
    check_files(s, n, remotes, nr);
    if (n->idx > 0 && !s->chk.violated)
        lastserver_after_death(s, n, mid_login);
    fault_damage(s, n, remotes, nr); /* now and then its disk damages a file */
    n->alive = false;
    n->restart_at = s->now + sim_rng_range(&s->rng, 0, (uint32_t)(2 * s->cfg.heartbeat_interval));
    if (keep_name)
        return; /* stopped by the operator, to start again as it was */
    if (n->gen + 1u < sim_max_names(s, n) && fp_roll(&s->plan, FP_RENAME))
        sim_name_switch(s, n, n->gen + 1u); /* a new name: the old pair's streams end, new ones begin */
    else
        fault_return(s, n); /* maybe a name it had before */
}

/* A fresh name for a dead node (the rollback operator's answer to a
 * detected mismatch): false when it has had all its names. */
bool node_rename(sim *s, node *n)
{
    if (n->alive || n->gen + 1u >= sim_max_names(s, n))
        return false;
    sim_name_switch(s, n, n->gen + 1u); /* a new name: the old pair's streams end, new ones begin */
    return true;
}

void node_kill(sim *s, node *n, bool crashed) { node_die(s, n, crashed ? TR_CRASH : TR_KILL, false); }

void node_stop(sim *s, node *n) { node_die(s, n, TR_KILL, true); }

int64_t node_now(const sim *s, const node *n) { return s->now + n->clock_off; }

/* Whether group poll g (< 4: TCP, else SHM g - 4) is stalled now (FP_STALL). */
static bool stalled(const sim *s, uint32_t g) { return s->stall_until > s->now && s->stall_group == g; }

/* The server's group polls after poll_ctl, in a seeded order (as threads
 * would interleave them). Without SHM groups: the TCP groups from a seeded
 * start (the draws of the runs before SHM nodes). With them: a seeded
 * shuffle of every TCP and SHM group. */
static void server_polls(sim *s, node *n)
{
    uint32_t nt = s->cfg.tcp_groups, ns = s->cfg.shm_groups;
    if (ns == 0) {
        uint32_t g0 = sim_rng_below(&s->rng, nt);
        for (uint32_t g = 0; g < nt; g++)
            if (!stalled(s, (g0 + g) % nt))
                tcpshm_server_poll_tcp(n->srv, node_now(s, n), (g0 + g) % nt);
        return;
    }
    uint32_t order[8]; /* < 4: TCP group order[i], else SHM group order[i] - 4 */
    uint32_t k = 0;
    for (uint32_t g = 0; g < nt; g++)
        order[k++] = g;
    for (uint32_t g = 0; g < ns; g++)
        order[k++] = 4u + g;
    for (uint32_t i = k - 1; i > 0; i--) {
        uint32_t j = sim_rng_below(&s->rng, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i < k; i++) {
        if (stalled(s, order[i]))
            continue;
        if (order[i] < 4u)
            tcpshm_server_poll_tcp(n->srv, node_now(s, n), order[i]);
        else
            tcpshm_server_poll_shm(n->srv, node_now(s, n), order[i] - 4u);
    }
}

/* A login call that succeeded says the server name the client's
 * directory records: "" only when there is no record (a record it cannot
 * read must fail the call, never read as ""); otherwise the server would
 * reset a pair the client still has. */
static void login_says_record(sim *s, node *n)
{
    char rec[TCPSHM_NAME_MAX + 1];
    sim_join(n->login_last, sizeof n->login_last, tcpshm_client_last_server(n->cl), NULL);
    memcpy(n->login_rec, n->ls_rec[n->cur], sizeof n->login_rec);
    n->login_srv_owner = s->nodes[0].owner; /* the only incarnation that can answer it */
    if (sim_recorded_server(s, n->dir, n->name, rec) >= 0 && strcmp(rec, n->login_last) != 0 &&
        !(n->login_last[0] == '\0' && sim_pair_lost(s, n->dir, n->name, rec)))
        chk_fail(&s->chk, n->c2s, "client %s: its login says last server \"%s\" but its directory records \"%s\"",
                 n->name, n->login_last, rec);
}

/* The blocking login (tcpshm_client_connect) of an application that has
 * nothing else to do until it is logged in. Its clock is the run's: each
 * call after the first lets time pass (a scheduler step's worth) while the
 * server's process runs on (its polls, faults off: a fault in it would
 * land in this client's step); the other clients wait (only while no
 * liar, impostor or twin is trying: they are not run meanwhile). */
typedef struct blocking {
    sim *s;
    node *n;
    uint32_t calls; /* 2 or more: the login call succeeded */
} blocking;

/* The other clients do not run while n blocks: for the timeout rule
 * (check_timeout.c) they are cut off until now, also for the closes the
 * server's polls make meanwhile. */
static void others_frozen(sim *s, const node *n)
{
    for (uint32_t i = 1; i < s->nnodes; i++)
        if (&s->nodes[i] != n && s->nodes[i].unblocked_at < s->now)
            s->nodes[i].unblocked_at = s->now;
}

static int64_t blocking_clock(void *user)
{
    blocking *b = user;
    sim *s = b->s;
    if (b->calls++ == 1)
        login_says_record(s, b->n); /* the login call succeeded: its first poll is next */
    if (b->calls == 1)
        return node_now(s, b->n);
    s->now += 1 + (int64_t)sim_rng_below(&s->rng, s->max_dt);
    others_frozen(s, b->n);
    node *sv = &s->nodes[0];
    if (!sv->alive)
        return node_now(s, b->n);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    venv_set_owner(s->v, sv->owner);
    s->stepping = sv; /* the server's code runs: its callbacks' pushes are its own (world.c) */
    tcpshm_server_poll_ctl(sv->srv, node_now(s, sv));
    server_polls(s, sv);
    s->stepping = b->n;
    venv_set_owner(s->v, b->n->owner);
    fp_set_active(&s->plan, was);
    return node_now(s, b->n);
}

/* The user data of client n's login: its application's. */
static const uint8_t *login_user_data(sim *s, node *n) { return world_login_user_data(s, n); }

const uint8_t *node_side_login_data(sim *s, node *n) { return world_login_user_data(s, n); }

/* What n's application does after its polls (a quiet process's ends its
 * callbacks did not hear). */
static void client_after_poll(sim *s, node *n, tcpshm_client_state before, uint32_t logins)
{
    world_client_after_poll(s, n, before, logins);
}

/* An incarnation of an echo client with an odd owner makes its first
 * login with the blocking call, as an application that connects at its
 * start and then polls (the impostor's misrouted logins excepted; later
 * logins poll: a client that blocked on every retry of a login that kept
 * failing froze the others for good, seed 5127). The rule: it
 * returns 0 exactly when the client is logged in, and otherwise leaves it
 * idle (a later login must be possible), within its timeout. -1 when the
 * login is not a blocking one; else whether its login call succeeded (an
 * attempt began). */
static int blocking_login(sim *s, node *n, bool shm, uint16_t port)
{
    if (port != SIM_PORT || n->owner % 2u == 0 || n->connect_called)
        return -1;
    /* the liar, the impostor and a twin keep their own time with the
     * server's answers while they try: not frozen under a blocking call */
    if (s->liar.fd >= 0 || s->imp.victim >= 0 || s->tw.alive)
        return -1;
    n->connect_called = true;
    blocking b = {s, n, 0};
    int64_t start = s->now;
    /* the application's timeout: now and then a tight one (a few polls),
     * else one to two heartbeat intervals, less than any connection
     * timeout (3 to 8 heartbeats), since the other clients do not run
     * meanwhile (up to new_conn_timeout, tens of heartbeats, starved them:
     * their links timed out while the server ran on; seeds 629 and 1842) */
    uint32_t hb = (uint32_t)s->cfg.heartbeat_interval;
    int64_t timeout = sim_rng_below(&s->rng, 4) == 0 ? sim_rng_range(&s->rng, 1, 2 * s->max_dt)
                                                      : sim_rng_range(&s->rng, hb, 2 * hb);
    tcpshm_error err;
    int rc = tcpshm_client_connect(n->cl, "127.0.0.1", port, shm, login_user_data(s, n), timeout, blocking_clock,
                                   &b, &err);
    tcpshm_client_state st = tcpshm_client_get_state(n->cl);
    if (rc != 0)
        trace_event(&s->tr, s->now, TR_LOGIN_FAIL, (uint32_t)n->idx, (uint32_t)err.sys_errno, b.calls < 2 ? 1 : 2,
                    err.text);
    if (rc == 0 && st != TCPSHM_CLIENT_LOGGED_IN)
        chk_fail(&s->chk, n->c2s, "client %s: tcpshm_client_connect returned 0 but the client is not logged in "
                 "(state %d)", n->name, (int)st);
    else if (rc != 0 && st != TCPSHM_CLIENT_IDLE)
        chk_fail(&s->chk, n->c2s, "client %s: tcpshm_client_connect failed (%s) but left the client in state %d, "
                 "not idle (no later login can start)", n->name, err.text, (int)st);
    else if (rc != 0 && b.calls >= 2 && s->now - start > timeout + (int64_t)s->max_dt + 1)
        chk_fail(&s->chk, n->c2s, "client %s: tcpshm_client_connect with timeout %lld returned after %lld",
                 n->name, (long long)timeout, (long long)(s->now - start));
    return b.calls >= 2;
}

/* A client: a login when idle, then poll_tcp and, over SHM, poll_shm in a
 * seeded order. */
static void client_polls(sim *s, node *n)
{
    bool shm = n->shm[n->cur];
    tcpshm_client_state before = tcpshm_client_get_state(n->cl);
    uint32_t logins = n->logins;
    if (before == TCPSHM_CLIENT_IDLE && s->now >= n->next_login) {
        tcpshm_error err;
        n->next_login = s->now + sim_rng_range(&s->rng, 1, (uint32_t)s->cfg.heartbeat_interval);
        trace_aside(&s->tr, s->now, TR_ASIDE_LOGIN, (uint32_t)n->idx, shm, 0, NULL);
        uint16_t port = impostor_port(s, n); /* now and then misrouted to the impostor */
        /* cut off (partition or EAGAIN storm): its connect waits, unanswered,
         * until the network is back (node_release_connects) */
        bool hold = n->block_until > s->now && port == SIM_PORT;
        if (hold && n->block_until > s->held_until)
            s->held_until = n->block_until;
        venv_hold_connects(s->v, hold);
        int blocked = blocking_login(s, n, shm, port);
        bool ok = blocked >= 0 ? blocked == 1
                               : tcpshm_client_login(n->cl, "127.0.0.1", port, shm, login_user_data(s, n),
                                                     node_now(s, n), &err) == 0;
        venv_hold_connects(s->v, false);
        if (ok)
            before = TCPSHM_CLIENT_CONNECTING; /* an attempt began */
        if (blocked >= 0) { /* it polled already */
            client_after_poll(s, n, before, logins);
            return;
        }
        if (!ok)
            trace_event(&s->tr, s->now, TR_LOGIN_FAIL, (uint32_t)n->idx, (uint32_t)err.sys_errno, 1, err.text);
        else /* what the login says: the name its directory records */
            login_says_record(s, n);
        impostor_login_called(s, n, ok);
    }
    bool shm_first = shm && sim_rng_below(&s->rng, 2);
    if (shm_first)
        tcpshm_client_poll_shm(n->cl);
    tcpshm_client_poll_tcp(n->cl, node_now(s, n));
    if (shm && !shm_first)
        tcpshm_client_poll_shm(n->cl);
    client_after_poll(s, n, before, logins);
}

static void step_body(sim *s, node *n)
{
#ifdef TCPSHM_SIM_HANG_TEST
    sim_test_hang(s, n);
#endif
    fault_misuse(s, n); /* now and then the application calls the API the wrong way */
    if (n->idx == 0) {
        tcpshm_server_poll_ctl(n->srv, node_now(s, n));
        server_polls(s, n);
    } else {
        client_polls(s, n);
    }
    if (s->chk.violated)
        return;
    world_step(s, n);
}

void node_step(sim *s, node *n)
{
    jmp_buf jb;
    venv_set_owner(s->v, n->owner);
    fp_set_block_io(&s->plan, n->block_until > s->now);
    bool was = s->plan.active;
    if (fault_twin_pins(s, n))
        fp_set_active(&s->plan, false); /* its connection stays live while the twin tries */
    s->stepping = n;
    venv_set_clock(s->v, s->now); /* when bytes begin to wait in a socket (check_timeout.c) */
    budget_env_begin(&s->budget);
    tr_type died = TR_TYPES; /* or how the node died: a crash site fired, a hang (node_hang) */
    switch (setjmp(jb)) {
    case 0:
        s->jmp = &jb;
        step_body(s, n);
        break;
    case 2:
        died = TR_HANG;
        break;
    default:
        died = TR_CRASH;
        break;
    }
    s->jmp = NULL;
    venv_hold_connects(s->v, false); /* a login that crashed left it on */
    budget_env_end(&s->budget);
    s->stepping = NULL;
    fp_set_active(&s->plan, was);
    if (died != TR_TYPES)
        node_die(s, n, died, false);
    if (died == TR_CRASH && !s->chk.violated)
        power_at_crash_site(s, n);
    fp_set_block_io(&s->plan, false);
}

void node_release_connects(sim *s)
{
    if (s->held_until != 0 && (s->now >= s->held_until || s->settle)) {
        (void)venv_release_connects(s->v);
        s->held_until = 0;
    }
}

bool node_client_ready(sim *s, node *n)
{
    if (!n->alive || tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_LOGGED_IN)
        return false;
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    node *sv = &s->nodes[0];
    if (!c || !sv->alive)
        return false;
    tcpshm_conn *sc = tcpshm_server_find_conn(sv->srv, n->name);
    return tcpshm_conn_seq_start(c) == tcpshm_conn_seq_end(c) && sc && tcpshm_conn_is_connected(sc) &&
           tcpshm_conn_seq_start(sc) == tcpshm_conn_seq_end(sc);
}
