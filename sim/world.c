/* A user's world in the simulator (tcpshm/sim.h): the user's server and
 * clients with their own callbacks, wrapped so that the simulator traces
 * and checks what happens; their pushes and pops (through world_wrap.c)
 * reported to the stream checker as the built-in application's are; their
 * step, start hook and invariant; and the public accessors of a run. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check_disk.h"
#include "check_lastserver.h"
#include "check_timeout.h"
#include "fault_impostor.h"
#include "fault_liar.h"
#include "fault_twin.h"
#include "login_follow.h"
#include "msg_sum.h"
#include "node.h"
#include "pairs.h"
#include "quiet_client.h"
#include "rollback_rule.h"
#include "sim.h"
#include "tcpshm/sim.h"
#include "world.h"

_Static_assert(TCPSHM_SIM_MAX_IDENTITIES == SIM_MAX_GEN, "a world node's identities are its names (gen)");

static sim *g_run; /* the run in progress: one at a time per process */

typedef struct world_ctx { /* what a wrapped callback's user pointer gives */
    sim *s;
    node *n;
} world_ctx;
static world_ctx g_ctx[1 + SIM_MAX_CLIENTS];
static uint32_t g_starts[1 + SIM_MAX_CLIENTS]; /* processes started per node this run */
static budget_env g_user_env; /* the env of the user's own files (tcpshm_sim_env, the start hook) */
/* The user's callbacks of each node's current process (its process hook's
 * choice, else the node's own), which the wrappers call. */
static tcpshm_server_callbacks g_scb;
static tcpshm_client_callbacks g_ccb[1 + SIM_MAX_CLIENTS];
/* The liar (fault_liar.h) in a world: per client node, the group the
 * user's on_new_connection gave its last accepted login (a liar's login
 * with that name gets it: s_new), and whether the server's pending login of
 * that name is one the wrapper passed on for the liar (liar_logon). */
static int g_group[1 + SIM_MAX_CLIENTS];
static bool g_liar_login[1 + SIM_MAX_CLIENTS];
/* What was wrong with the world's shape for this seed (world_shape),
 * reported as a violation at the first check. */
static char g_shape_error[320];
/* The name whose login the user's on_new_connection refused last, until
 * the core's on_login_rejected of it (a refusal of the user's, which the
 * liar must not take for the answer to its own login with that name). */
static char g_user_refused[TCPSHM_NAME_MAX + 1];

/* The user's file calls: failed now and then by the file kind, and each
 * one that changed a file followed by a crash site (budget_env.h). */
static int user_file_fail(void *u, const char *call)
{
    char point[48];
    snprintf(point, sizeof point, "user/file/%s", call);
    return fp_file_call(&((sim *)u)->plan, point);
}

static void user_file_changed(void *u, const char *call)
{
    (void)u;
    char site[48];
    snprintf(site, sizeof site, "user/crash/after_%s", call);
    tcpshm_sim_crash_site(site);
}

static const tcpshm_sim_node *spec(const sim *s, const node *n)
{
    return n->idx == 0 ? &s->p->world->server : &s->p->world->clients[n->idx - 1];
}
static void *user_of(const sim *s, const node *n)
{
    return n->idx == 0 ? spec(s, n)->server.user : spec(s, n)->client.user;
}

void world_begin(sim *s)
{
    g_run = s;
    memset(g_starts, 0, sizeof g_starts);
    memset(g_group, 0, sizeof g_group);
    memset(g_liar_login, 0, sizeof g_liar_login);
    g_shape_error[0] = '\0';
    g_user_refused[0] = '\0';
    if (world_wrap_forget)
        world_wrap_forget();
    /* over the nodes' env: the user's calls count toward a step's budget too */
    budget_env_init(&g_user_env, s->env, 0, NULL, s);
    budget_env_set_faults(&g_user_env, user_file_fail, user_file_changed);
}

void world_end(sim *s)
{
    if (g_run == s)
        g_run = NULL;
}

sim *world_running(void) { return g_run; }

void world_shape(sim *s)
{
    const tcpshm_sim_world *w = s->p->world;
    tcpshm_config seed = s->cfg;
    uint32_t start_seq = 0;
    s->cfg = w->config;
    s->nnodes = 1u + w->nclients;
    if (w->shape) { /* the user's choice for this seed; the seed's fields below are set over it */
        tcpshm_sim_shape sh = {s->cfg, w->nclients, 0};
        w->shape(w->check_user, &sh);
        s->cfg = sh.config;
        start_seq = sh.start_seq;
        if (start_seq && !w->pair_reset)
            snprintf(g_shape_error, sizeof g_shape_error, "the shape hook chose start_seq %u without a pair_reset hook "
                     "(the pairs move there after their first logins, and the application starts its state of "
                     "them again)", start_seq);
        if (sh.nclients < 1 || sh.nclients > w->nclients)
            snprintf(g_shape_error, sizeof g_shape_error, "the shape hook chose %u clients (the world has %u)",
                     sh.nclients, w->nclients);
        else
            s->nnodes = 1u + sh.nclients;
    }
    /* the clock is the simulator's (ticks): the seed's timing */
    s->cfg.heartbeat_interval = seed.heartbeat_interval;
    s->cfg.connection_timeout = seed.connection_timeout;
    s->cfg.new_conn_timeout = seed.new_conn_timeout;
    s->cfg.ctl_interval = seed.ctl_interval;
    s->cfg.max_new_conns = seed.max_new_conns;
    s->cfg.accepts_per_poll = seed.accepts_per_poll;
    if (s->tx_mode != SIM_TX_TCP) { /* the seed runs clients over SHM: its groups, the user's sizes */
        s->cfg.shm_groups = seed.shm_groups;
        s->cfg.shm_conns_per_group = SIM_MAX_CLIENTS * SIM_MAX_GEN + 1; /* + the SHM liar */
        if (s->cfg.shm_queue_size == 0)
            s->cfg.shm_queue_size = 16u * (s->cfg.max_msg_size + 8u);
    } else {
        s->cfg.shm_groups = 0;
    }
    /* the liar's TCP name takes a slot of its group (slots are never
     * freed): one more per group, so that the user's clients keep theirs
     * (SHM's above leave room for liar1) */
    if ((s->p->kinds >> FP_LIAR & 1u) && s->cfg.tcp_conns_per_group < 65536u)
        s->cfg.tcp_conns_per_group++;
    tcpshm_error err;
    if (!g_shape_error[0] && tcpshm_config_check(&s->cfg, &err) != 0) {
        snprintf(g_shape_error, sizeof g_shape_error, "the seed's config is not valid: %s", err.text);
        s->cfg = seed; /* the nodes start on the simulator's own: the violation is the report */
    }
    s->wrap_base = g_shape_error[0] ? 0 : start_seq; /* scheduler.c's wrap run */
    s->ready_sets = s->cfg.tcp_conns_per_group > 64; /* the core polls such groups by readiness */
}

static tcpshm_sim_identity identity_of(const tcpshm_sim_node *x, uint32_t k)
{
    return k == 0 ? (tcpshm_sim_identity){x->name, x->dir} : x->identities[k - 1];
}

tcpshm_sim_identity world_identity(const sim *s, const node *n, uint32_t k) { return identity_of(spec(s, n), k); }

static uint32_t names_of(const tcpshm_sim_node *x) { return 1u + (x->identities ? x->nidentities : 0u); }

uint32_t world_names(const sim *s, const node *n) { return names_of(spec(s, n)); }

bool world_lists_identities(const tcpshm_sim_world *w)
{
    bool any = names_of(&w->server) > 1;
    for (uint32_t i = 0; i < w->nclients; i++)
        any = any || names_of(&w->clients[i]) > 1;
    return any;
}

void world_name(sim *s, node *n)
{
    tcpshm_sim_identity id = world_identity(s, n, n->cur);
    snprintf(n->name, sizeof n->name, "%s", id.name);
    snprintf(n->dir, sizeof n->dir, "%s", id.dir);
}

/* ------------------------------------------------------------ streams */

/* The checker's stream of node n's connection c: outgoing (n pushes) or
 * incoming (n pops). The server's are its peer's, of the epoch the login
 * started (login_follow.c); a client's, of the pair with the server it
 * logged in to (a stale epoch's for a pair whose storage went back, not
 * judged yet). The operator's reset (world_reset.c) and a power loss that
 * takes a pair's SHM segments start new epochs while both nodes are down. */
static int stream_of(sim *s, node *n, tcpshm_conn *c, bool outgoing)
{
    if (n->idx == 0) {
        const char *remote = tcpshm_conn_remote_name(c);
        peer *p = sim_find_peer(n, remote);
        if (p)
            return outgoing ? p->s2c : p->c2s;
        /* no logon seen (the peers are full): the pair's current epoch */
        return chk_stream_id(&s->chk, n->name, remote, outgoing ? CHK_S2C : CHK_C2S,
                             sim_pair_base(s, n->name, remote));
    }
    if (outgoing)
        lf_client_push_streams(s, n, c);
    else
        lf_client_streams(s, n, tcpshm_conn_remote_name(c));
    return outgoing ? n->c2s : n->s2c;
}

/* The server's connection c is one of the liar's (liar0, liar1): the
 * wrappers handle it; the user's callbacks and step never see it. */
static bool liars(const node *n, tcpshm_conn *c) { return n->idx == 0 && liar_name(tcpshm_conn_remote_name(c)); }

/* A detected loss ended the pair (rollback_rule.c): until the operator
 * resets it (world_reset.c, later in this scheduler step) the user's pushes
 * and pops on it go to the core unchecked, as a dead pair's do. */
static bool pair_dead(const sim *s, const node *n, tcpshm_conn *c)
{
    const char *remote = tcpshm_conn_remote_name(c);
    return n->idx == 0 ? rb_pair_dead(s, n->name, remote) : rb_pair_dead(s, remote, n->name);
}

/* What identifies a user's message to the checker (msg_sum.h). */
static uint32_t msg_sum(const tcpshm_msg_header *h)
{
    return sim_msg_sum(h->msg_type, (const uint8_t *)(h + 1), h->size > 8u ? h->size - 8u : 0u);
}

/* The user's mark of a message (tcpshm_sim.h): on the allocation its node
 * holds on conn (world_wrap.c), taken by its push. Requests are a
 * client's, answers the server's. */
static void set_mark(tcpshm_conn *conn, uint32_t kind, uint32_t answers, const char *call)
{
    sim *s = g_run;
    if (!s || s->chk.violated)
        return;
    node *n = s->stepping;
    const char *wrong = !n                                  ? "outside a node's step"
                        : (kind == WL_REQUEST) != (n->idx > 0) ? (n->idx > 0 ? "on a client" : "on the server")
                        : !world_wrap_mark || !world_wrap_mark(conn, kind, answers)
                            ? "without an allocation of this process on the connection (mark it between "
                              "tcpshm_conn_alloc and the push)"
                            : NULL;
    if (wrong)
        chk_fail(&s->chk, -1, "world: %s %s", call, wrong);
}

void tcpshm_sim_request(tcpshm_conn *conn) { set_mark(conn, WL_REQUEST, 0, "tcpshm_sim_request"); }
void tcpshm_sim_answer(tcpshm_conn *conn, uint32_t request_seq)
{
    set_mark(conn, WL_ECHO, request_seq, "tcpshm_sim_answer");
}

int world_push(sim *s, tcpshm_conn *c, tcpshm_msg_header *h, uint32_t kind, uint32_t answers, sio_push_fn push,
               bool batched)
{
    node *n = s->stepping;
    if (!n) {
        chk_fail(&s->chk, -1, "world: a push outside a node's step (from check or a stale connection?)");
        return push(c);
    }
    if (pair_dead(s, n, c) || liars(n, c)) /* the liar's pairs: the simulator's own pushes (world_step) */
        return push(c);
    int sid = stream_of(s, n, c, true);
    /* no stream: the body is the user's, not the built-in workload's (the
     * checker knows it by its sum); its kind the user's mark, if any: the
     * echo rule then holds (checker.c) */
    wl_msg m = {UINT32_MAX, tcpshm_conn_seq_end(c), kind, answers, msg_sum(h), h->size >= 8u ? h->size - 8u : 0u};
    return sio_push(s, n, c, sid, &m, push, batched);
}

void world_pop(sim *s, tcpshm_conn *c, sio_pop_fn pop)
{
    node *n = s->stepping;
    tcpshm_msg_header *h = tcpshm_conn_front(c);
    if (!n || !h) {
        if (!n && h)
            chk_fail(&s->chk, -1, "world: a pop outside a node's step (from check or a stale connection?)");
        pop(c);
        return;
    }
    if (pair_dead(s, n, c) || liars(n, c)) {
        pop(c);
        return;
    }
    int sid = stream_of(s, n, c, false);
    uint32_t seq = tcpshm_conn_my_ack(c), size = h->size - 8u;
    if (!chk_front_is(&s->chk, sid, seq, size, msg_sum(h)))
        return;
    sio_pop(s, n, c, sid, seq, size, pop);
}

/* ------------------------------------------------------------ callbacks of both sides */

/* The user's callbacks that a server and a client have alike (the same
 * signatures), of x's node. */
typedef struct shared_cbs {
    void *user;
    void (*on_seq_mismatch)(void *user, tcpshm_conn *conn, const tcpshm_seq_mismatch *m);
    void (*on_disconnect)(void *user, tcpshm_conn *conn, const char *reason, int sys_errno);
    void (*on_msg)(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg);
} shared_cbs;

static shared_cbs shared_of(const world_ctx *x)
{
    if (x->n->idx == 0)
        return (shared_cbs){g_scb.user, g_scb.on_seq_mismatch, g_scb.on_disconnect, g_scb.on_msg};
    const tcpshm_client_callbacks *c = &g_ccb[x->n->idx];
    return (shared_cbs){c->user, c->on_seq_mismatch, c->on_disconnect, c->on_msg};
}

/* A mismatch is a bug, but a client's refusal of a range the impostor made
 * up, or the detection of a rollback or a power loss the rollback rule
 * asks for (rollback_rule.c: the pair is dead, the operator resets it). */
static bool judge_mismatch(sim *s, node *n, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    const char *remote = tcpshm_conn_remote_name(c);
    if (n->idx == 0) /* the server's trace names the client */
        trace_event_noted(&s->tr, s->now, TR_MISMATCH, 0, m->local_seq_end, m->remote_seq_end, NULL, remote);
    else
        trace_event(&s->tr, s->now, TR_MISMATCH, (uint32_t)n->idx, m->local_seq_end, m->remote_seq_end, NULL);
    if (liars(n, c)) { /* a lie the server saw through */
        liar_server_mismatch(s, remote);
        return false;
    }
    bool made_up = impostor_client_end(s, n, IMP_END_MISMATCH, "Seq number mismatch");
    if (n->idx == 0)
        lf_note_drop(s, remote); /* its login ends here */
    else if (!made_up)
        lf_client_mismatch(s, n, m); /* never at a new connection */
    if (!made_up && !rb_mismatch(s, n->idx == 0 ? n->name : "", n->idx == 0 ? remote : n->name))
        chk_fail(&s->chk, -1, "%s %s: sequence mismatch with %s: mine [%u, %u) ack %u, peer's [%u, %u) ack %u",
             n->idx == 0 ? "server" : "client", n->name, remote, m->local_seq_start, m->local_seq_end, m->local_ack,
             m->remote_seq_start, m->remote_seq_end, m->remote_ack);
    return true;
}

static void w_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    world_ctx *x = u;
    shared_cbs ucb = shared_of(x);
    if (judge_mismatch(x->s, x->n, c, m) && ucb.on_seq_mismatch)
        ucb.on_seq_mismatch(ucb.user, c, m);
}

/* The server's trace names the client; a client's, its node. Every peer
 * but the liar is honest: the honest-close rule and the timeout rule hold
 * on both sides, but for the liar's connections, whose close is the
 * liar's to judge. */
static bool judge_disc(sim *s, node *n, tcpshm_conn *c, const char *reason)
{
    if (n->idx == 0)
        trace_event_noted(&s->tr, s->now, TR_DISC, 0, 0, 0, reason, tcpshm_conn_remote_name(c));
    else
        trace_event(&s->tr, s->now, TR_DISC, (uint32_t)n->idx, 0, 0, reason);
    if (n->idx == 0 && liar_server_disc(s, tcpshm_conn_remote_name(c), reason))
        return false;
    chk_honest_close(&s->chk, -1, n->name, tcpshm_conn_remote_name(c), reason);
    timeout_close(s, -1, n, tcpshm_conn_remote_name(c), reason);
    return true;
}

static void w_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    world_ctx *x = u;
    if (!judge_disc(x->s, x->n, c, reason))
        return;
    shared_cbs ucb = shared_of(x);
    if (ucb.on_disconnect)
        ucb.on_disconnect(ucb.user, c, reason, e);
}

static void w_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    world_ctx *x = u;
    if (liars(x->n, c)) { /* held for a lie (not popped), else a lie the server took */
        if (!x->s->chk.violated)
            liar_server_msg(x->s, tcpshm_conn_remote_name(c), m);
        return;
    }
    shared_cbs ucb = shared_of(u);
    if (ucb.on_msg)
        ucb.on_msg(ucb.user, c, m);
}

/* ------------------------------------------------------------ server callbacks */

/* The server's peer of name, made at its first logon in this process. */
static peer *peer_of(sim *s, node *n, const char *name)
{
    peer *p = sim_find_peer(n, name);
    if (!p && n->npeers < sizeof n->peers / sizeof n->peers[0]) {
        p = &n->peers[n->npeers++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        p->shm = sim_client_shm(s, name);
        p->c2s = p->s2c = -1;
    }
    return p;
}

#define SRV(x) world_ctx *x = u; const tcpshm_server_callbacks *ucb = &g_scb
#define CLI(x) world_ctx *x = u; const tcpshm_client_callbacks *ucb = &g_ccb[x->n->idx]

/* The group out of range the wrapper gave a liar's login (its mark: the
 * liar's login was the last on_new_connection) is not the user's error. */
#define GROUP_ERROR "on_new_connection returned a group out of range"

static void s_syserr(void *u, const char *what, int e)
{
    SRV(x);
    trace_event(&x->s->tr, x->s->now, TR_LOGIN_FAIL, 0, (uint32_t)e, 0, what);
    liar_server_syserr(x->s, what);
    if (x->s->liar.noteless && strncmp(what, GROUP_ERROR, strlen(GROUP_ERROR)) == 0)
        return;
    if (ucb->on_system_error)
        ucb->on_system_error(ucb->user, what, e);
}

/* The group the wrapper gives a liar's login: for its own names
 * sim_name_group's (as tcpshm-sim's application), for an honest client's
 * name the group the user gave that name's live login, where the core must
 * find the live slot and refuse. */
static int liar_group(sim *s, const tcpshm_login *lg)
{
    const node *h = sim_node_named(s, lg->client_name);
    return h && h->idx > 0 ? g_group[h->idx] : sim_name_group(s, lg);
}

/* The liar's logins are the wrapper's (the user's on_new_connection never
 * sees them, as the user's callbacks never see the liar's connections):
 * those with a mark (fault_liar.h) answered as tcpshm-sim's application
 * answers them (liar_new_conn: a login as an honest client that is not
 * live refused, one as a live client passed on for the core to refuse),
 * the others of its own names given their group. */
static int s_new(void *u, const tcpshm_login *lg, uint8_t *rsp, const char **reject)
{
    SRV(x);
    int grp = liar_new_conn(x->s, lg, liar_group(x->s, lg), reject);
    if (grp != -2 || liar_name(lg->client_name)) {
        const node *h = sim_node_named(x->s, lg->client_name);
        if (grp >= 0 && h && h->idx > 0)
            g_liar_login[h->idx] = true; /* its pending login is the liar's now */
        return grp != -2 ? grp : sim_name_group(x->s, lg);
    }
    rb_server_login(x->s, lg);
    lastserver_at_login(x->s, lg);
    if (lg->use_shm != (sim_client_shm(x->s, lg->client_name) ? 1 : 0))
        chk_fail(&x->s->chk, -1, "simulator: %s logs in over %s, not its transport", lg->client_name,
                 lg->use_shm ? "SHM" : "TCP");
    /* a twin whose first dropped after it started: refused for it (fault_twin.h) */
    if ((*reject = fault_twin_refuse(x->s, lg)) != NULL)
        return -1;
    lf_note_add(x->s, lg); /* until the login is accepted, refused or fails the sequence check */
    int grp_user = ucb->on_new_connection ? ucb->on_new_connection(ucb->user, lg, rsp, reject) : 0;
    if (grp_user < 0) /* the user's refusal: its on_login_rejected is not the liar's answer */
        snprintf(g_user_refused, sizeof g_user_refused, "%s", lg->client_name);
    return grp_user;
}

static void s_file_err(void *u, const char *client, const tcpshm_error *err)
{
    SRV(x);
    liar_server_file_error(x->s, client, err->text);
    if (liar_name(client))
        return;
    if (ucb->on_client_file_error)
        ucb->on_client_file_error(ucb->user, client, err);
}

/* A refused login of the liar's (one of its own names, or one with a mark,
 * which the user's on_new_connection did not see) is not the user's; the
 * others are, also those the core refused before on_new_connection (an
 * invalid name the liar sent among them). */
static void s_rejected(void *u, const char *client, const char *reason)
{
    SRV(x);
    bool noteless = liar_take_noteless(x->s); /* the liar's mark (taken once) */
    trace_event_noted(&x->s->tr, x->s->now, TR_REJECT, 0, 0, 0, reason, client);
    if (!noteless) {
        /* host durability: a login refused at its end after step 5 reset the
         * pair is in the new epoch (login_follow.h) */
        node *n = x->n;
        peer *p = sim_find_peer(n, client);
        tcpshm_conn *c = tcpshm_server_find_conn(n->srv, client);
        if (p && c && lf_refused_after_reset(x->s, n->name, client, reason))
            (void)lf_server_login(x->s, n, p, c);
        else
            lf_note_drop(x->s, client);
        rb_server_rejected(x->s, client);
    }
    if (strcmp(g_user_refused, client) != 0)
        liar_server_reject(x->s, client, reason);
    g_user_refused[0] = '\0';
    const node *h = sim_node_named(x->s, client);
    if (noteless && h && h->idx > 0)
        g_liar_login[h->idx] = false;
    if (noteless || liar_name(client))
        return;
    if (ucb->on_login_rejected)
        ucb->on_login_rejected(ucb->user, client, reason);
}

/* An accepted login of the liar's: one of its own names (its peer kept,
 * without streams, for the liar's pushes, misuse and the file checks after
 * a death), or one as an honest client that the wrapper passed on (the core
 * must refuse it: the violation). True if it was the liar's. */
static bool liar_logon(sim *s, node *n, tcpshm_conn *c, const char *name)
{
    node *h = sim_node_named(s, name);
    bool passed = h && h->idx > 0 && g_liar_login[h->idx];
    if (!passed && !liar_name(name))
        return false;
    if (passed)
        g_liar_login[h->idx] = false;
    if (liar_server_logon(s, name)) /* a login lie accepted: the liar says which */
        return true;
    if (passed) {
        chk_fail(&s->chk, -1, "liar: the server accepted a login as %s that the liar sent while %s was live", name,
                 name);
        return true;
    }
    peer *p = peer_of(s, n, name);
    if (p)
        p->conn = c;
    return true;
}

static void s_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    SRV(x);
    node *n = x->n;
    const char *name = tcpshm_conn_remote_name(c);
    check_disk_at_logon(x->s, n->name, name);
    timeout_logon(x->s, name);
    if (liar_logon(x->s, n, c, name))
        return;
    const node *h = sim_node_named(x->s, name);
    if (h && h->idx > 0)
        g_group[h->idx] = (int)grp; /* a liar's login with this name gets it */
    peer *p = peer_of(x->s, n, name);
    if (p) { /* the pair continues or starts again: what the login said */
        (void)lf_server_login(x->s, n, p, c);
        p->conn = c;
    } else {
        chk_fail(&x->s->chk, -1, "simulator: too many client names at %s", n->name);
    }
    rb_server_accepted(x->s, n->name, name); /* the rollback rule judges the login */
    if (ucb->on_logon)
        ucb->on_logon(ucb->user, c, grp);
}

/* The callbacks of the server's process that starts: the node's, or what
 * its process hook made of them; the core gets a wrapper for each, and NULL
 * where the user left an optional one or on_msg NULL (the wrappers of the
 * others check what the core does). */
void world_server_callbacks(sim *s, node *n, tcpshm_server_callbacks *cb)
{
    const tcpshm_sim_node *x = spec(s, n);
    g_ctx[n->idx] = (world_ctx){s, n};
    g_scb = x->server;
    if (x->process)
        x->process(x->server.user, g_starts[n->idx], &g_scb, NULL);
    g_scb.user = x->server.user;
    *cb = (tcpshm_server_callbacks){&g_ctx[n->idx], s_syserr, s_new, s_file_err, s_rejected, w_mismatch,
                                    s_logon, w_disc, w_msg};
    if (!g_scb.on_system_error)
        cb->on_system_error = NULL;
    if (!g_scb.on_client_file_error)
        cb->on_client_file_error = NULL;
    if (!g_scb.on_msg)
        cb->on_msg = NULL;
}

bool world_server_reports(bool file_errors)
{
    return file_errors ? g_scb.on_client_file_error != NULL : g_scb.on_system_error != NULL;
}

/* ------------------------------------------------------------ client callbacks */

/* A client's attempt with the impostor ends in its callbacks as any failed
 * login does (the user's callbacks see it), and is judged there
 * (lf_client_failed, lf_client_rejected). */
static void c_syserr(void *u, const char *reason, int e)
{
    CLI(x);
    lf_client_failed(x->s, x->n, reason, e);
    if (ucb->on_system_error)
        ucb->on_system_error(ucb->user, reason, e);
}

static void c_reject(void *u, const tcpshm_login_rsp *rsp)
{
    CLI(x);
    lf_client_rejected(x->s, x->n, rsp->error_msg);
    if (ucb->on_login_reject)
        ucb->on_login_reject(ucb->user, rsp);
}

static void c_login(void *u, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    CLI(x);
    node *n = x->n;
    n->logins++; /* quiet_client.h: a login that succeeded and closed in one poll */
    if (impostor_client_end(x->s, n, IMP_END_ACCEPTED, rsp->server_name))
        return; /* a violation: the user's application is not told */
    lf_client_login(x->s, n, c, rsp->server_name); /* its streams: the epoch the server's login started */
    lastserver_login_ok(x->s, n, rsp->server_name);
    trace_event(&x->s->tr, x->s->now, TR_LOGIN, (uint32_t)n->idx, tcpshm_conn_my_ack(c), tcpshm_conn_seq_end(c),
                rsp->server_name);
    check_disk_at_login(x->s, n, rsp->server_name);
    timeout_login_ok(x->s, n);
    rb_client_accepted(x->s, n, rsp->server_name, n->login_last); /* the rollback rule judges the login */
    if (ucb->on_login_success)
        ucb->on_login_success(ucb->user, c, rsp);
}

void world_client_callbacks(sim *s, node *n, tcpshm_client_callbacks *cb)
{
    const tcpshm_sim_node *x = spec(s, n);
    tcpshm_client_callbacks *u = &g_ccb[n->idx];
    g_ctx[n->idx] = (world_ctx){s, n};
    *u = x->client;
    if (x->process)
        x->process(x->client.user, g_starts[n->idx], NULL, u);
    u->user = x->client.user;
    *cb = (tcpshm_client_callbacks){&g_ctx[n->idx], c_syserr, c_reject, w_mismatch, c_login, w_disc, w_msg};
    if (!u->on_system_error)
        cb->on_system_error = NULL;
    if (!u->on_login_reject)
        cb->on_login_reject = NULL;
    if (!u->on_seq_mismatch)
        cb->on_seq_mismatch = NULL;
    if (!u->on_disconnect)
        cb->on_disconnect = NULL;
    if (!u->on_msg)
        cb->on_msg = NULL;
}

/* The ends of a poll that a NULL optional callback of the user's did not
 * hear: judged as its wrapper judges them (quiet_client.h). */
void world_client_after_poll(sim *s, node *n, tcpshm_client_state before, uint32_t logins)
{
    const tcpshm_client_callbacks *u = &g_ccb[n->idx];
    if (s->chk.violated)
        return;
    quiet_event ev = quiet_client_end(n, before, logins);
    if (ev.end == QUIET_DISCONNECTED && !u->on_disconnect)
        (void)judge_disc(s, n, ev.conn, ev.reason);
    else if (ev.end == QUIET_REJECTED && !u->on_login_reject)
        lf_client_rejected(s, n, ev.reason);
    else if (ev.end == QUIET_MISMATCH && !u->on_seq_mismatch)
        (void)judge_mismatch(s, n, ev.conn, &ev.m);
    else if (ev.end == QUIET_FAILED && !u->on_system_error)
        lf_client_failed(s, n, ev.reason, ev.sys_errno);
}

const uint8_t *world_login_user_data(sim *s, node *n)
{
    const tcpshm_sim_node *x = spec(s, n);
    return x->login_user_data ? x->login_user_data(user_of(s, n)) : NULL;
}

/* ------------------------------------------------------------ lives, steps, invariants */

void world_started(sim *s, node *n)
{
    const tcpshm_sim_node *x = spec(s, n);
    uint32_t k = g_starts[n->idx]++;
    if (x->start)
        x->start(user_of(s, n), &g_user_env.env, n->dir, k);
}

void world_died(sim *s, node *n)
{
    /* the liar's logins pending in the server (as far as a death of the
     * name they use may end them too) */
    memset(g_liar_login, 0, sizeof g_liar_login);
    if (n->idx != 0)
        return;
    n->npeers = 0;      /* the connections were the dead process's */
    lf_notes_forget(s); /* and the logins it was handling */
}

/* A server process without on_msg reads its messages in the user's step;
 * the liar's are the wrapper's: read here, as w_msg reads them, until one
 * stays (held for a lie). */
static void liar_read(sim *s, peer *p)
{
    tcpshm_msg_header *m;
    while (!s->chk.violated && tcpshm_conn_is_connected(p->conn) && (m = tcpshm_conn_front(p->conn)) != NULL) {
        uint32_t ack = tcpshm_conn_my_ack(p->conn);
        liar_server_msg(s, p->name, m);
        if (tcpshm_conn_my_ack(p->conn) == ack)
            break;
    }
}

/* The user's step of each connection; on the server the liar's are not
 * the user's: what a lie wants the server to push to the liar is pushed
 * there instead. */
void world_step(sim *s, node *n)
{
    const tcpshm_sim_node *x = spec(s, n);
    int64_t now = node_now(s, n); /* its host's clock, as its core's */
    if (s->bootstrap) /* a wrap run's first logins: no pushes until the pairs moved near the wrap */
        return;
    if (n->idx > 0) {
        tcpshm_conn *c = tcpshm_client_conn(n->cl);
        if (c && x->step)
            x->step(user_of(s, n), now, c);
        return;
    }
    for (uint32_t i = 0; i < n->npeers && !s->chk.violated; i++) {
        peer *p = &n->peers[i];
        if (liar_name(p->name)) {
            if (p->conn && !g_scb.on_msg)
                liar_read(s, p);
            if (p->conn && !s->settle)
                liar_server_push(s, p->name, p->conn);
        } else if (p->conn && x->step) {
            x->step(user_of(s, n), now, p->conn);
        }
    }
}

void world_check(sim *s, bool final)
{
    const tcpshm_sim_world *w = s->p->world;
    char why[400] = "";
    if (g_shape_error[0] && !s->chk.violated)
        chk_fail(&s->chk, -1, "world: %s", g_shape_error);
    if (w->check && !s->chk.violated && w->check(w->check_user, s->now, final, why, sizeof why) != 0)
        chk_fail(&s->chk, -1, "invariant%s: %s", final ? " (at the end)" : "", why[0] ? why : "(no message)");
}

/* ------------------------------------------------------------ the public accessors */

const tcpshm_env *tcpshm_sim_env(void) { return g_run ? &g_user_env.env : NULL; }
int64_t tcpshm_sim_now(void)
{
    if (!g_run)
        return 0;
    return g_run->stepping ? node_now(g_run, g_run->stepping) : g_run->now;
}
uint64_t tcpshm_sim_random(void) { return g_run ? sim_rng_next(&g_run->wl_rng) : 0; }
bool tcpshm_sim_settling(void) { return g_run && g_run->settle; }
const tcpshm_config *tcpshm_sim_config(void) { return g_run ? &g_run->cfg : NULL; }
uint32_t tcpshm_sim_nclients(void) { return g_run ? g_run->nnodes - 1u : 0u; }

static node *node_named(const char *name) { return g_run ? sim_node_named(g_run, name) : NULL; }

const char *tcpshm_sim_node_name(const void *user)
{
    for (uint32_t i = 0; g_run && i < g_run->nnodes; i++)
        if (user_of(g_run, &g_run->nodes[i]) == user)
            return g_run->nodes[i].name;
    return NULL;
}

bool tcpshm_sim_alive(const char *name)
{
    node *n = node_named(name);
    return n && n->alive;
}

tcpshm_conn *tcpshm_sim_conn(const char *local, const char *remote)
{
    node *n = node_named(local);
    if (!n || !n->alive)
        return NULL;
    /* a pair whose storage went back and whose next login was not judged
     * yet holds numbers that are not the pair's (the login must detect
     * it), and a detected one is about to be reset: neither is given */
    const char *server = n->idx == 0 ? local : remote, *client = n->idx == 0 ? remote : local;
    if (liar_name(client)) /* the liar's are not the user's */
        return NULL;
    if (rb_pair_pending(g_run, server, client) || rb_pair_dead(g_run, server, client))
        return NULL;
    if (n->idx == 0)
        return tcpshm_server_find_conn(n->srv, remote);
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    return c && strcmp(tcpshm_conn_remote_name(c), remote) == 0 ? c : NULL;
}

void tcpshm_sim_crash_site(const char *name)
{
    sim *s = g_run;
    if (s && s->stepping && s->jmp && fp_crash_site(&s->plan, name ? name : "user/crash"))
        longjmp(*s->jmp, 1); /* node_step: the node dies as at the core's crash sites */
}

void tcpshm_sim_fail(const char *fmt, ...)
{
    if (!g_run || g_run->chk.violated)
        return;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    chk_fail(&g_run->chk, -1, "invariant: %s", text);
}

/* Every node's identities: at most TCPSHM_SIM_MAX_IDENTITIES names in all,
 * each with a name and a directory, no name twice in the world, none the
 * liar uses. */
static bool identities_ok(const char *prog, const tcpshm_sim_world *w)
{
    const char *names[(1 + TCPSHM_SIM_MAX_CLIENTS) * TCPSHM_SIM_MAX_IDENTITIES];
    uint32_t nn = 0;
    for (uint32_t i = 0; i <= w->nclients; i++) {
        const tcpshm_sim_node *x = i == 0 ? &w->server : &w->clients[i - 1];
        if (x->nidentities > 0 && (!x->identities || names_of(x) > TCPSHM_SIM_MAX_IDENTITIES)) {
            fprintf(stderr, "%s: node %s lists %u identities (at most %d more than its first name)\n", prog,
                    x->name, x->nidentities, TCPSHM_SIM_MAX_IDENTITIES - 1);
            return false;
        }
        for (uint32_t k = 0; k < names_of(x); k++) {
            tcpshm_sim_identity id = identity_of(x, k);
            if (!id.name || !id.dir) {
                fprintf(stderr, "%s: identity %u of node %s has no name or no directory\n", prog, k, x->name);
                return false;
            }
            if (liar_name(id.name) || strcmp(id.name, SIM_LIAR_SENT_NAME) == 0) { /* fault_liar.h */
                fprintf(stderr, "%s: the name %s is the simulator's (its liar's)\n", prog, id.name);
                return false;
            }
            for (uint32_t j = 0; j < nn; j++)
                if (strcmp(names[j], id.name) == 0) {
                    fprintf(stderr, "%s: the name %s is in the world twice\n", prog, id.name);
                    return false;
                }
            names[nn++] = id.name;
        }
    }
    return true;
}

/* world_wrap.c defines it: the program was linked with the wrappers
 * (pkg-config --libs tcpshm_sim), without which the checker sees nothing. */
extern const int tcpshm_sim_wrapped __attribute__((weak));

int tcpshm_sim_main(int argc, char **argv, const tcpshm_sim_world *world)
{
    const char *prog = argc > 0 ? argv[0] : "tcpshm_sim";
    if (!&tcpshm_sim_wrapped) {
        fprintf(stderr, "%s: not linked with the push/pop wrappers: link with `pkg-config --libs tcpshm_sim` "
                        "(-Wl,--wrap=tcpshm_conn_push ...) or CMake's tcpshm::tcpshm_sim\n", prog);
        return 2;
    }
    if (!world || world->nclients < 1 || world->nclients > TCPSHM_SIM_MAX_CLIENTS || !world->server.name ||
        !world->server.dir) {
        fprintf(stderr, "%s: the world needs a server and 1 to %d clients, each with a name and a directory\n", prog,
                TCPSHM_SIM_MAX_CLIENTS);
        return 2;
    }
    for (uint32_t i = 0; i < world->nclients; i++)
        if (!world->clients[i].name || !world->clients[i].dir) {
            fprintf(stderr, "%s: client %u has no name or no directory\n", prog, i);
            return 2;
        }
    if (!identities_ok(prog, world)) /* also no name of the liar's */
        return 2;
    return sim_cli_main(argc, argv, world);
}
