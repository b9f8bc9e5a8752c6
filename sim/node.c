/* The nodes: a server and clients of the real core on venv, their
 * application (the workload's pushes, pops and echoes), and what a kill
 * does to them. Every call into the core runs inside node_step (or a
 * callback under it), where a crash site longjmps back to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"
#include "tcpshm/ptcp_queue.h"

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

/* ------------------------------------------------------------ helpers */

static uint32_t body_size(sim *s) { return sim_rng_range(&s->rng, WL_MIN_BODY, s->max_body); }

/* Fills and pushes a message allocated at h on stream sid. */
static void push_alloced(sim *s, node *n, tcpshm_conn *c, tcpshm_msg_header *h, int sid, uint32_t kind,
                         uint32_t echo_of)
{
    wl_msg m = {(uint32_t)sid, tcpshm_conn_seq_end(c), kind, echo_of, 0, (uint32_t)h->size - 8u};
    h->msg_type = WL_MSG_TYPE;
    wl_fill((uint8_t *)(h + 1), &m);
    chk_push_begin(&s->chk, sid, m.seq, &m);
    n->pend_push = sid;
    int rc = tcpshm_conn_push(c);
    n->pend_push = -1;
    if (rc != 0) {
        chk_fail(&s->chk, sid, "push of seq %u failed (%d)", m.seq, rc);
        return;
    }
    chk_push_done(&s->chk, sid);
    if (tcpshm_conn_seq_end(c) != m.seq + 1u)
        chk_fail(&s->chk, sid, "push of seq %u returned but seq_end is %u", m.seq, tcpshm_conn_seq_end(c));
    trace_event(&s->tr, s->now, TR_PUSH, (uint32_t)sid, m.seq, m.size, NULL);
}

static void pop_checked(sim *s, node *n, tcpshm_conn *c, int sid, uint32_t seq, uint32_t size)
{
    uint32_t before = tcpshm_conn_my_ack(c);
    chk_pop_begin(&s->chk, sid);
    n->pend_pop = sid;
    tcpshm_conn_pop(c);
    n->pend_pop = -1;
    chk_pop_done(&s->chk, sid);
    if (tcpshm_conn_my_ack(c) != before + 1u)
        chk_fail(&s->chk, sid, "pop of seq %u: my_ack went from %u to %u", seq, before, tcpshm_conn_my_ack(c));
    trace_event(&s->tr, s->now, TR_POP, (uint32_t)sid, seq, size, NULL);
}

/* The persisted state of a pair's queue, read by a separate owner with the
 * faults off (what a restarted process would find). */
static bool peek(sim *s, const char *dir, const char *local, const char *remote, uint32_t *seq_end,
                 uint32_t *my_ack, char *why, size_t why_size)
{
    char path[128];
    size_t len;
    snprintf(path, sizeof path, "%s/%s_%s.ptcp", dir, local, remote);
    if (!venv_file_data(s->v, path, &len)) { /* open would create it */
        snprintf(why, why_size, "%s does not exist", path);
        return false;
    }
    bool was = s->plan.active;
    s->plan.active = false;
    uint32_t owner = venv_owner(s->v);
    venv_set_owner(s->v, SIM_PEEK_OWNER);
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config qc = {s->cfg.queue_size, s->cfg.max_msg_size, s->cfg.little_endian, 0};
    tcpshm_error err;
    int rc = tcpshm_ptcp_queue_open(&q, s->env, dir, local, remote, &qc, &err);
    if (rc == 0) {
        *seq_end = tcpshm_ptcp_queue_seq_end(&q);
        *my_ack = tcpshm_ptcp_queue_my_ack(&q);
        tcpshm_ptcp_queue_close(&q);
    } else {
        snprintf(why, why_size, "%s", err.text);
    }
    venv_set_owner(s->v, owner);
    s->plan.active = was;
    return rc == 0;
}

/* ------------------------------------------------------------ server */

static node *server_of(sim *s) { return &s->nodes[0]; }

static app_rec *map_rec(sim *s, node *n, const char *client, uint32_t my_ack)
{
    bool created = false;
    char path[128];
    snprintf(path, sizeof path, "%s/%s_%s.app", n->dir, n->name, client);
    void *ctx = s->env->ctx;
    int fd = s->env->file_open(ctx, path, 0, 0);
    if (fd < 0 && errno == ENOENT) {
        fd = s->env->file_open(ctx, path, 1, 0600);
        created = fd >= 0;
        if (fd >= 0 && s->env->file_resize(ctx, fd, sizeof(app_rec)) != 0) {
            s->env->file_close(ctx, fd);
            fd = -1;
        }
    }
    void *m = fd >= 0 ? s->env->map(ctx, fd, sizeof(app_rec)) : NULL;
    if (fd >= 0)
        s->env->file_close(ctx, fd);
    if (!m) {
        fprintf(stderr, "tcpshm-sim: cannot map %s\n", path);
        abort();
    }
    if (created) /* names no request (zeros would name request 0) */
        ((app_rec *)m)->k = my_ack - 1u;
    return m;
}

static peer *find_peer(node *n, const char *name)
{
    for (uint32_t i = 0; i < n->npeers; i++)
        if (strcmp(n->peers[i].name, name) == 0)
            return &n->peers[i];
    return NULL;
}

static void s_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    sim *s = u;
    node *n = server_of(s);
    (void)grp;
    const char *name = tcpshm_conn_remote_name(c);
    peer *p = find_peer(n, name);
    if (!p) {
        if (n->npeers == sizeof n->peers / sizeof n->peers[0]) {
            chk_fail(&s->chk, -1, "simulator: too many client names");
            return;
        }
        p = &n->peers[n->npeers++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        uint32_t base = sim_pair_base(s, n->name, name);
        p->c2s = chk_stream_id(&s->chk, n->name, name, CHK_C2S, base);
        p->s2c = chk_stream_id(&s->chk, n->name, name, CHK_S2C, base);
        p->rec = map_rec(s, n, name, tcpshm_conn_my_ack(c));
    }
    p->conn = c;
    tcpshm_conn_set_user(c, p);
}

/* Echo rule (push, then pop, with a write-ahead record): the echo of
 * request k is pushed before k is popped; just before pushing, the record
 * {k+1, seq_end} is stored with one 8-byte store. A kill between push and
 * pop redelivers k: the record names k and seq_end moved past e, so the
 * echo is queued already: pop only. A kill before the push persisted leaves
 * seq_end == e: push again. One-way pushes wait while the record names the
 * unpopped front message, so seq_end cannot move for another reason. */
static void s_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sim *s = u;
    node *n = server_of(s);
    peer *p = tcpshm_conn_user(c);
    if (!p || s->chk.violated)
        return;
    const uint8_t *body = (const uint8_t *)(m + 1);
    uint32_t size = (uint32_t)m->size - 8u;
    if (m->msg_type != WL_MSG_TYPE) {
        chk_fail(&s->chk, p->c2s, "pop: message type %u, not the workload's", m->msg_type);
        return;
    }
    if (!chk_front_ok(&s->chk, p->c2s, body, size))
        return;
    wl_msg w;
    (void)wl_parse(body, size, &w);
    if (w.seq != tcpshm_conn_my_ack(c)) {
        chk_fail(&s->chk, p->c2s, "the server's my_ack is %u but the next message is seq %u",
                 tcpshm_conn_my_ack(c), w.seq);
        return;
    }
    if (w.kind == WL_REQUEST) {
        if (p->rec->k == w.seq && tcpshm_conn_seq_end(c) != p->rec->e) {
            trace_event(&s->tr, s->now, TR_ECHO_SKIP, (uint32_t)p->s2c, w.seq, 0, NULL);
        } else {
            tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)size);
            if (!h)
                return; /* queue full: not popped, it comes again */
            uint64_t rec = (uint64_t)w.seq | (uint64_t)tcpshm_conn_seq_end(c) << 32;
            __atomic_store_n((uint64_t *)(void *)p->rec, rec, __ATOMIC_RELEASE);
            push_alloced(s, n, c, h, p->s2c, WL_ECHO, w.seq);
        }
    }
    pop_checked(s, n, c, p->c2s, w.seq, size);
}

/* The group of a client: FNV-1a of its name, as tools/echo_server does. */
static int s_new_conn(void *u, const tcpshm_login *lg, uint8_t *rsp_user_data, const char **reject_text)
{
    sim *s = u;
    (void)rsp_user_data, (void)reject_text;
    uint32_t h = 2166136261u;
    for (const char *p = lg->client_name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (int)(h % s->cfg.tcp_groups);
}

static void s_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    sim *s = u;
    (void)c, (void)e;
    trace_event(&s->tr, s->now, TR_DISC, 0, 0, 0, reason);
}

static void s_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    sim *s = u;
    peer *p = find_peer(server_of(s), tcpshm_conn_remote_name(c));
    trace_event(&s->tr, s->now, TR_MISMATCH, 0, m->local_seq_end, m->remote_seq_end, NULL);
    /* both sides only acknowledge what the other persisted: a mismatch
     * means persisted state was lost */
    chk_fail(&s->chk, p ? p->c2s : -1,
             "server: sequence mismatch with %s: server [%u, %u) ack %u, client [%u, %u) ack %u",
             tcpshm_conn_remote_name(c), m->local_seq_start, m->local_seq_end, m->local_ack,
             m->remote_seq_start, m->remote_seq_end, m->remote_ack);
}

static void s_rejected(void *u, const char *name, const char *reason)
{
    sim *s = u;
    (void)name;
    trace_event(&s->tr, s->now, TR_REJECT, 0, 0, 0, reason);
}

static void server_app(sim *s, node *n)
{
    if (s->settle || s->bootstrap)
        return;
    for (uint32_t i = 0; i < n->npeers && !s->chk.violated; i++) {
        peer *p = &n->peers[i];
        tcpshm_conn *c = p->conn;
        /* one-way pushes only once the server popped one of the client's
         * messages (my_ack > 0): that proves the client recorded this
         * server's name (README: the first-login window) */
        if (!c || tcpshm_conn_my_ack(c) == sim_pair_base(s, n->name, p->name) || p->rec->k == tcpshm_conn_my_ack(c) ||
            tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= s->win_s ||
            !sim_rng_ppm(&s->rng, s->push_ppm))
            continue;
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)body_size(s));
        if (h)
            push_alloced(s, n, c, h, p->s2c, WL_ONEWAY, 0);
    }
}

/* ------------------------------------------------------------ client */

static void client_streams(sim *s, node *n, const char *server)
{
    if (n->c2s >= 0 && strcmp(n->server, server) == 0)
        return;
    snprintf(n->server, sizeof n->server, "%s", server);
    uint32_t base = sim_pair_base(s, server, n->name);
    n->c2s = chk_stream_id(&s->chk, server, n->name, CHK_C2S, base);
    n->s2c = chk_stream_id(&s->chk, server, n->name, CHK_S2C, base);
}

static node *client_node(tcpshm_conn *c) { return tcpshm_conn_user(c); }

static void c_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sim *s = u;
    node *n = client_node(c);
    if (!n || s->chk.violated)
        return;
    client_streams(s, n, tcpshm_conn_remote_name(c));
    const uint8_t *body = (const uint8_t *)(m + 1);
    uint32_t size = (uint32_t)m->size - 8u;
    if (m->msg_type != WL_MSG_TYPE) {
        chk_fail(&s->chk, n->s2c, "pop: message type %u, not the workload's", m->msg_type);
        return;
    }
    if (!chk_front_ok(&s->chk, n->s2c, body, size))
        return;
    wl_msg w;
    (void)wl_parse(body, size, &w);
    if (w.seq != tcpshm_conn_my_ack(c)) {
        chk_fail(&s->chk, n->s2c, "client %s: my_ack is %u but the next message is seq %u", n->name,
                 tcpshm_conn_my_ack(c), w.seq);
        return;
    }
    pop_checked(s, n, c, n->s2c, w.seq, size);
}

static void c_login(void *u, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    sim *s = u;
    node *n = client_node(c);
    client_streams(s, n, rsp->server_name);
    trace_event(&s->tr, s->now, TR_LOGIN, (uint32_t)n->idx, tcpshm_conn_my_ack(c), tcpshm_conn_seq_end(c),
                rsp->server_name);
}

/* The client callbacks that get no connection find their node through
 * the user pointer of the callbacks: one struct per client node. */
typedef struct client_ctx {
    sim *s;
    node *n;
} client_ctx;
static client_ctx g_ctx[1 + SIM_MAX_CLIENTS];

static void c_syserr(void *u, const char *reason, int e)
{
    client_ctx *x = u;
    trace_event(&x->s->tr, x->s->now, TR_LOGIN_FAIL, (uint32_t)x->n->idx, (uint32_t)e, 0, reason);
}

static void c_reject(void *u, const tcpshm_login_rsp *rsp)
{
    client_ctx *x = u;
    trace_event(&x->s->tr, x->s->now, TR_REJECT, (uint32_t)x->n->idx, 0, 0, rsp->error_msg);
}

static void c_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    client_ctx *x = u;
    (void)c;
    trace_event(&x->s->tr, x->s->now, TR_MISMATCH, (uint32_t)x->n->idx, m->local_seq_end, m->remote_seq_end, NULL);
    chk_fail(&x->s->chk, x->n->c2s,
             "client %s: sequence mismatch: client [%u, %u) ack %u, server [%u, %u) ack %u", x->n->name,
             m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start, m->remote_seq_end,
             m->remote_ack);
}

static void c_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    client_ctx *x = u;
    (void)c, (void)e;
    trace_event(&x->s->tr, x->s->now, TR_DISC, (uint32_t)x->n->idx, 0, 0, reason);
}

/* The wrappers give the sim to the message and login callbacks. */
static void c_msg_x(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    client_ctx *x = u;
    tcpshm_conn_set_user(c, x->n);
    c_msg(x->s, c, m);
}
static void c_login_x(void *u, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    client_ctx *x = u;
    tcpshm_conn_set_user(c, x->n);
    c_login(x->s, c, rsp);
}

static void client_app(sim *s, node *n)
{
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    if (s->settle || s->bootstrap || !c)
        return;
    /* The queue belongs to the pair (me, its remote name). After a login to
     * a new server name whose record failed (lastserver write), that is the
     * new name while the recorded one is still the old: the next login goes
     * back to the old pair and the new one is reset again, dropping what
     * was pushed meanwhile (a core bug, README: known core issues). The
     * application therefore pushes only while the two agree, unless
     * --push-unrecorded asks to show the bug. */
    const char *remote = tcpshm_conn_remote_name(c);
    if (!s->p->push_unrecorded && strcmp(remote, tcpshm_client_last_server(n->cl)) != 0)
        return;
    client_streams(s, n, remote);
    for (int i = 0; i < 2 && !s->chk.violated; i++) {
        if (tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= s->win_c || !sim_rng_ppm(&s->rng, s->push_ppm))
            return;
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)body_size(s));
        if (!h)
            return;
        push_alloced(s, n, c, h, n->c2s, sim_rng_below(&s->rng, 2) ? WL_REQUEST : WL_ONEWAY, 0);
    }
}

/* ------------------------------------------------------------ lifecycle */

void node_start(sim *s, node *n)
{
    g_sim = s;
    tcpshm_set_crash_hook(crash_hook, NULL);
    n->owner = s->next_owner++;
    n->alive = true;
    n->npeers = 0;
    n->pend_push = n->pend_pop = -1;
    n->c2s = n->s2c = -1;
    n->server[0] = '\0';
    n->next_login = s->now;
    n->partitioned = false;
    n->block_until = 0;
    venv_set_owner(s->v, n->owner);
    bool was = s->plan.active;
    s->plan.active = false;
    tcpshm_error err;
    int rc;
    if (n->idx == 0) {
        tcpshm_server_callbacks cb = {.user = s, .on_new_connection = s_new_conn,
                                      .on_login_rejected = s_rejected, .on_seq_mismatch = s_mismatch,
                                      .on_logon = s_logon, .on_disconnect = s_disc, .on_msg = s_msg};
        rc = tcpshm_server_create(&n->srv, &s->cfg, s->env, n->name, n->dir, &cb, &err);
        if (rc == 0)
            rc = tcpshm_server_start(n->srv, "127.0.0.1", SIM_PORT, &err);
    } else {
        g_ctx[n->idx] = (client_ctx){s, n};
        tcpshm_client_callbacks cb = {.user = &g_ctx[n->idx], .on_system_error = c_syserr,
                                      .on_login_reject = c_reject, .on_seq_mismatch = c_mismatch,
                                      .on_login_success = c_login_x, .on_disconnect = c_disc, .on_msg = c_msg_x};
        rc = tcpshm_client_create(&n->cl, &s->cfg, s->env, n->name, n->dir, &cb, &err);
    }
    s->plan.active = was;
    if (rc != 0) {
        fprintf(stderr, "tcpshm-sim: cannot start %s: %s\n", n->name, err.text);
        abort();
    }
    trace_event(&s->tr, s->now, TR_START, (uint32_t)n->idx, n->owner, n->gen, n->name);
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
        bool server = n->idx == 0;
        uint32_t seq_end = 0, my_ack = 0;
        char why[256];
        if (!peek(s, n->dir, n->name, server ? st->client : st->server, &seq_end, &my_ack, why, sizeof why)) {
            chk_fail(&s->chk, sid, "after the crash of %s the queue does not open: %s", n->name, why);
            return;
        }
        if (k == 0) {
            uint32_t want = st->base + st->pushed;
            if (seq_end != want && seq_end != want + 1u)
                chk_fail(&s->chk, sid, "after a crash in push of seq %u the file says seq_end %u", want, seq_end);
            chk_push_resolve(&s->chk, sid, seq_end == want + 1u);
        } else {
            uint32_t want = st->base + st->popped;
            if (my_ack != want && my_ack != want + 1u)
                chk_fail(&s->chk, sid, "after a crash in pop of seq %u the file says my_ack %u", want, my_ack);
            chk_pop_resolve(&s->chk, sid, my_ack == want + 1u);
        }
    }
    n->pend_push = n->pend_pop = -1;
}

/* Every queue file the dead node had open must still open (verify): a kill
 * at any instruction leaves the old or the new state, never a broken file. */
static void check_files(sim *s, node *n, char remotes[][24], uint32_t nr)
{
    for (uint32_t i = 0; i < nr && !s->chk.violated; i++) {
        uint32_t seq_end, my_ack;
        char why[256], path[128];
        size_t len;
        snprintf(path, sizeof path, "%.23s/%.23s_%.23s.ptcp", n->dir, n->name, remotes[i]);
        if (venv_file_data(s->v, path, &len) && !peek(s, n->dir, n->name, remotes[i], &seq_end, &my_ack, why, sizeof why)) {
            int sid = chk_stream_id(&s->chk, n->idx == 0 ? n->name : remotes[i], n->idx == 0 ? remotes[i] : n->name,
                                    n->idx == 0 ? CHK_S2C : CHK_C2S, 0);
            chk_fail(&s->chk, sid, "after %s died its queue file does not open: %s", n->name, why);
        }
    }
}

void node_kill(sim *s, node *n, bool crashed)
{
    trace_event(&s->tr, s->now, crashed ? TR_CRASH : TR_KILL, (uint32_t)n->idx, n->owner, 0, n->name);
    char remotes[SIM_MAX_CLIENTS * SIM_MAX_GEN][24];
    uint32_t nr = 0;
    if (n->idx == 0)
        for (uint32_t i = 0; i < n->npeers; i++)
            memcpy(remotes[nr++], n->peers[i].name, 24);
    else if (n->server[0])
        memcpy(remotes[nr++], n->server, 24);
    bool was = s->plan.active;
    s->plan.active = false;
    venv_kill(s->v, n->owner);
    /* the process is gone: its memory is freed (its env calls fail, its
     * handles are closed), its files and their bytes stay */
    venv_set_owner(s->v, n->owner);
    if (n->idx == 0) {
        for (uint32_t i = 0; i < n->npeers; i++)
            s->env->unmap(s->env->ctx, n->peers[i].rec, sizeof(app_rec));
        tcpshm_server_destroy(n->srv);
        n->srv = NULL;
        n->npeers = 0;
    } else {
        tcpshm_client_destroy(n->cl);
        n->cl = NULL;
    }
    s->plan.active = was;
    resolve(s, n);
    check_files(s, n, remotes, nr);
    n->alive = false;
    n->restart_at = s->now + sim_rng_range(&s->rng, 0, (uint32_t)(2 * s->cfg.heartbeat_interval));
    if (n->gen + 1u < SIM_MAX_GEN && fp_roll(&s->plan, FP_RENAME)) {
        /* a new name: the old pair's streams end, new ones begin */
        if (n->idx == 0)
            chk_close_server(&s->chk, n->name);
        else
            chk_close_client(&s->chk, n->name);
        n->gen++;
        if (n->idx == 0) {
            snprintf(n->name, sizeof n->name, "srv%u", n->gen);
        } else {
            snprintf(n->name, sizeof n->name, "c%dg%u", n->idx, n->gen);
            memcpy(n->dir, n->name, sizeof n->dir); /* both char[24] */
        }
    }
}

static void step_body(sim *s, node *n)
{
    if (n->idx == 0) {
        tcpshm_server_poll_ctl(n->srv, s->now);
        /* the groups in a seeded order (as threads would interleave them) */
        uint32_t g0 = sim_rng_below(&s->rng, s->cfg.tcp_groups);
        for (uint32_t g = 0; g < s->cfg.tcp_groups; g++)
            tcpshm_server_poll_tcp(n->srv, s->now, (g0 + g) % s->cfg.tcp_groups);
        if (!s->chk.violated)
            server_app(s, n);
    } else {
        if (tcpshm_client_get_state(n->cl) == TCPSHM_CLIENT_IDLE && s->now >= n->next_login) {
            tcpshm_error err;
            n->next_login = s->now + sim_rng_range(&s->rng, 1, (uint32_t)s->cfg.heartbeat_interval);
            if (tcpshm_client_login(n->cl, "127.0.0.1", SIM_PORT, false, NULL, s->now, &err) != 0)
                trace_event(&s->tr, s->now, TR_LOGIN_FAIL, (uint32_t)n->idx, (uint32_t)err.sys_errno, 1, err.text);
        }
        tcpshm_client_poll_tcp(n->cl, s->now);
        if (!s->chk.violated)
            client_app(s, n);
    }
}

void node_step(sim *s, node *n)
{
    jmp_buf jb;
    venv_set_owner(s->v, n->owner);
    s->plan.block_io = n->block_until > s->now;
    if (setjmp(jb) == 0) {
        s->jmp = &jb;
        step_body(s, n);
        s->jmp = NULL;
    } else {
        s->jmp = NULL;
        node_kill(s, n, true);
    }
    s->plan.block_io = false;
}

bool node_client_ready(sim *s, node *n)
{
    if (!n->alive || tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_LOGGED_IN)
        return false;
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    node *sv = server_of(s);
    if (!c || !sv->alive)
        return false;
    tcpshm_conn *sc = tcpshm_server_find_conn(sv->srv, n->name);
    return tcpshm_conn_seq_start(c) == tcpshm_conn_seq_end(c) && sc && tcpshm_conn_is_connected(sc) &&
           tcpshm_conn_seq_start(sc) == tcpshm_conn_seq_end(sc);
}
