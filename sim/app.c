/* The applications on the nodes: the server's (echo every request with the
 * write-ahead record, push one-way messages to clients that proved they
 * recorded its name) and the clients' (push requests and one-way messages
 * within their window, pop everything), every push and pop reported to the
 * checker and the trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "fault_twin.h"
#include "rollback_rule.h"
#include "check_disk.h"
#include "check_lastserver.h"
#include "check_timeout.h"
#include "fault_rollback.h"
#include "login_follow.h"
#include "pairs.h"
#include "quiet_client.h"
#include "sim_state.h"
#include "same_name.h"
#include "stream_io.h"

/* ------------------------------------------------------------ helpers */

static uint32_t body_size(sim *s) { return sim_rng_range(&s->wl_rng, WL_MIN_BODY, s->max_body); }

/* Fills and pushes a message allocated at h on stream sid (batched: with
 * push_more, which the core sends, and in host durability syncs, with the
 * next push or before it sends). false: the push failed and was taken
 * back (host durability: its sync failed). */
static bool push_alloced(sim *s, node *n, tcpshm_conn *c, tcpshm_msg_header *h, int sid, uint32_t kind,
                         uint32_t echo_of, bool batched)
{
    wl_msg m = {(uint32_t)sid, tcpshm_conn_seq_end(c), kind, echo_of, 0, (uint32_t)h->size - 8u};
    h->msg_type = WL_MSG_TYPE;
    wl_fill((uint8_t *)(h + 1), &m);
    return sio_push(s, n, c, sid, &m, batched ? tcpshm_conn_push_more : tcpshm_conn_push, batched) == 0;
}

static void pop_checked(sim *s, node *n, tcpshm_conn *c, int sid, uint32_t seq, uint32_t size)
{
    sio_pop(s, n, c, sid, seq, size, tcpshm_conn_pop);
}

/* ------------------------------------------------------------ server */

static node *server_of(sim *s) { return &s->nodes[0]; }

/* Host durability: the record reaches the disk before the push it guards
 * (write-ahead), as the core's own state does; process durability: a store
 * survives the process, which is all it promises. */
static void rec_sync(sim *s, app_rec *r)
{
    if (s->durability == SIM_DUR_HOST && s->env->map_sync(s->env->ctx, r, sizeof *r) != 0) {
        fprintf(stderr, "tcpshm-sim: cannot sync an echo record: %s\n", strerror(errno));
        abort();
    }
}

static app_rec *map_rec(sim *s, node *n, const char *client, uint32_t my_ack)
{
    bool created = false;
    char path[SIM_PATH_SIZE];
    sim_join(path, sizeof path, n->dir, "/", n->name, "_", client, ".app", NULL);
    void *ctx = s->env->ctx;
    int fd = s->env->file_open(ctx, path, 0, 0);
    bool host = s->durability == SIM_DUR_HOST;
    if (fd < 0 && errno == ENOENT) {
        fd = s->env->file_open(ctx, path, 1, 0600);
        if (fd < 0 && errno == ENOENT) { /* only SHM clients so far: no queue file made the directory */
            if (s->env->mkdir(ctx, n->dir, 0700) == 0 && host)
                (void)s->env->dir_sync(ctx, "");
            fd = s->env->file_open(ctx, path, 1, 0600);
        }
        created = fd >= 0;
        if (fd >= 0 && s->env->file_resize(ctx, fd, sizeof(app_rec)) != 0) {
            s->env->file_close(ctx, fd);
            fd = -1;
        }
        if (fd >= 0 && host && (s->env->file_sync(ctx, fd) != 0 || s->env->dir_sync(ctx, n->dir) != 0)) {
            fprintf(stderr, "tcpshm-sim: cannot sync %s: %s\n", path, strerror(errno));
            abort();
        }
    }
    uint64_t size = 0;
    if (fd >= 0 && !created && s->env->file_size(ctx, fd, &size) == 0 && size != sizeof(app_rec)) {
        /* a power loss took back its size (process durability): not a
         * record any more; made again, naming no request */
        created = s->env->file_resize(ctx, fd, 0) == 0 && s->env->file_resize(ctx, fd, sizeof(app_rec)) == 0;
    }
    void *m = fd >= 0 ? s->env->map(ctx, fd, sizeof(app_rec)) : NULL;
    if (fd >= 0)
        s->env->file_close(ctx, fd);
    if (!m) {
        fprintf(stderr, "tcpshm-sim: cannot map %s: %s (fd %d)\n", path, strerror(errno), fd);
        abort();
    }
    if (created) { /* names no request (zeros would name request 0) */
        ((app_rec *)m)->k = my_ack - 1u;
        rec_sync(s, m);
    }
    return m;
}

/* The pair after an accepted login (login_follow.c follows it), and the
 * echo record of the pair with it. */
static void s_pair_login(sim *s, node *n, peer *p, tcpshm_conn *c)
{
    lf_login r;
    if (!lf_server_login(s, n, p, c, &r))
        return;
    /* a valid login of the liar's own names (with a note): its login ended
     * (the liar tells its next lie only then), as world.c says for every
     * one (a noteless one was told by lf_server_login) */
    if (liar_name(p->name))
        (void)liar_server_logon(s, p->name);
    /* the first-login window's new epoch: the echo record names a request
     * of the old epoch; the new one's requests start again at its base
     * (seed 80719 --faults all: request 0 of the new epoch taken for the
     * old one's, its echo skipped) */
    if (r.window_epoch) {
        p->rec->k = s->chk.s[p->c2s].base - 1u, p->rec->e = tcpshm_conn_seq_end(c);
        rec_sync(s, p->rec);
    }
    /* a reset pair: the echo record of the old one names nothing now (not
     * a wrap run's queue that came round to 0 with my_ack 0: its record may
     * name the request whose echo is queued (seed 6233, --transport shm
     * --faults all: that echo was pushed twice; seed 35760, --faults all:
     * request 0, popped but taken back by a power loss, was echoed twice) */
    if (r.at_zero && (p->rec->k != 0u - 1u || p->rec->e != 0)) {
        p->rec->k = 0u - 1u, p->rec->e = 0;
        rec_sync(s, p->rec);
    }
}

static void s_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    sim *s = u;
    node *n = server_of(s);
    (void)grp;
    const char *name = tcpshm_conn_remote_name(c);
    check_disk_at_logon(s, n->name, name);
    timeout_logon(s, name);
    peer *p = sim_find_peer(n, name);
    if (!p) {
        if (n->npeers == sizeof n->peers / sizeof n->peers[0]) {
            chk_fail(&s->chk, -1, "simulator: too many client names");
            return;
        }
        p = &n->peers[n->npeers++];
        memset(p, 0, sizeof *p);
        sim_join(p->name, sizeof p->name, name, NULL);
        p->rec = map_rec(s, n, name, tcpshm_conn_my_ack(c));
        p->shm = sim_client_shm(s, name);
    }
    s_pair_login(s, n, p, c);
    p->conn = c;
    tcpshm_conn_set_user(c, p);
    rb_server_accepted(s, n->name, name);
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
    if (liar_name(p->name)) { /* held for a lie, else a lie the server took */
        liar_server_msg(s, p->name, m);
        return;
    }
    if (rb_pair_dead(s, n->name, p->name))
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
    wl_fields(body, size, &w); /* chk_front_ok checked its checksum */
    if (w.seq != tcpshm_conn_my_ack(c)) {
        chk_fail(&s->chk, p->c2s, "the server's my_ack is %u but the next message is seq %u",
                 tcpshm_conn_my_ack(c), w.seq);
        return;
    }
    if (w.kind == WL_REQUEST) {
        /* a request before the one the record names was echoed (echoes
         * are pushed in order, each returned before the record moves on:
         * host durability may deliver several popped requests again after a
         * power loss); the one it names was if seq_end moved past e (a
         * power loss may also take back pushes that never returned, leaving
         * seq_end below e: push again) */
        int32_t ahead = (int32_t)(p->rec->k - w.seq);
        if (ahead > 0 || (ahead == 0 && (int32_t)(tcpshm_conn_seq_end(c) - p->rec->e) > 0)) {
            trace_event(&s->tr, s->now, TR_ECHO_SKIP, (uint32_t)p->s2c, w.seq, 0, NULL);
        } else {
            tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)size);
            if (!h)
                return; /* queue full: not popped, it comes again */
            uint64_t rec = (uint64_t)w.seq | (uint64_t)tcpshm_conn_seq_end(c) << 32;
            __atomic_store_n((uint64_t *)(void *)p->rec, rec, __ATOMIC_RELEASE);
            rec_sync(s, p->rec);
            if (!push_alloced(s, n, c, h, p->s2c, WL_ECHO, w.seq, false))
                return; /* not popped: it comes again, its echo is pushed then */
        }
    }
    pop_checked(s, n, c, p->c2s, w.seq, size);
}

/* The user data of a login ('u') or of its response ('r'): the tag, ':',
 * the client's name and '|', again and again to size bytes. */
static void user_data_of(char tag, const char *client, uint32_t size, uint8_t out[TCPSHM_MAX_USER_DATA])
{
    char unit[TCPSHM_NAME_MAX + 4], t[2] = {tag, '\0'};
    memset(out, 0, TCPSHM_MAX_USER_DATA);
    sim_join(unit, sizeof unit, t, ":", client, "|", NULL);
    /* repeated to the last byte: no zero padding that a cut copy would
     * leave as it was (a decode that kept 8 of 24 bytes passed) */
    size_t k = strlen(unit);
    for (uint32_t i = 0; i < size && i < TCPSHM_MAX_USER_DATA; i++)
        out[i] = (uint8_t)unit[i % k];
}

const uint8_t *app_login_user_data(sim *s, node *n)
{
    static uint8_t data[1 + SIM_MAX_CLIENTS][TCPSHM_MAX_USER_DATA];
    if (n->owner % 5u != 0)
        return NULL;
    user_data_of('u', n->name, s->cfg.login_user_data_size, data[n->idx]);
    return data[n->idx];
}

/* The user data a login carried, as the server application sees it: the
 * client's (zeros when it gave none), never another's or garbled bytes. */
static void check_user_data(sim *s, const char *client, const uint8_t *got, uint32_t size, char tag)
{
    static const uint8_t zeros[TCPSHM_MAX_USER_DATA];
    uint8_t want[TCPSHM_MAX_USER_DATA];
    user_data_of(tag, client, size, want);
    if (memcmp(got, want, size) != 0 && (tag == 'r' || memcmp(got, zeros, size) != 0))
        chk_fail(&s->chk, -1, "%s of %s: its %u bytes of user data are not what %s sent (\"%.*s\")",
                 tag == 'u' ? "login" : "login response", client, size, tag == 'u' ? "the client" : "the server",
                 (int)size, (const char *)got);
}

/* The group of a client: FNV-1a of its name, as tools/echo_server does,
 * among the groups of its transport (sim_name_group). */
static int s_new_conn(void *u, const tcpshm_login *lg, uint8_t *rsp_user_data, const char **reject_text)
{
    sim *s = u;
    int grp = sim_name_group(s, lg);
    /* the liar's login for a live name goes to that name's group, where
     * the server must find the live slot and refuse */
    int lg_liar = liar_new_conn(s, lg, grp, reject_text);
    if (lg_liar != -2)
        return lg_liar;
    rb_server_login(s, lg);
    lastserver_at_login(s, lg);
    check_user_data(s, lg->client_name, lg->user_data, s->cfg.login_user_data_size, 'u');
    uint8_t rsp_data[TCPSHM_MAX_USER_DATA];
    user_data_of('r', lg->client_name, s->cfg.login_rsp_user_data_size, rsp_data);
    memcpy(rsp_user_data, rsp_data, s->cfg.login_rsp_user_data_size);
    if (lg->use_shm != (sim_client_shm(s, lg->client_name) ? 1 : 0))
        chk_fail(&s->chk, -1, "simulator: %s logs in over %s, not its transport", lg->client_name,
                 lg->use_shm ? "SHM" : "TCP");
    *reject_text = fault_twin_refuse(s, lg);
    if (*reject_text)
        return -1;
    lf_note_add(s, lg);
    return grp;
}

/* Only the liar breaks the protocol: honest peers never send an ack past
 * what was sent, a bad frame or a bad SHM word, so a close for one of these
 * between two honest nodes is a bug of the side that closed or of its peer
 * (both are the core under test). */
static void s_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    sim *s = u;
    (void)e;
    trace_event_noted(&s->tr, s->now, TR_DISC, 0, 0, 0, reason, tcpshm_conn_remote_name(c));
    if (!liar_server_disc(s, tcpshm_conn_remote_name(c), reason)) {
        chk_honest_close(&s->chk, -1, server_of(s)->name, tcpshm_conn_remote_name(c), reason);
        timeout_close(s, -1, server_of(s), tcpshm_conn_remote_name(c), reason);
    }
}

static void s_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    sim *s = u;
    peer *p = sim_find_peer(server_of(s), tcpshm_conn_remote_name(c));
    lf_note_drop(s, tcpshm_conn_remote_name(c));
    trace_event_noted(&s->tr, s->now, TR_MISMATCH, 0, m->local_seq_end, m->remote_seq_end, NULL,
                      tcpshm_conn_remote_name(c));
    if (liar_name(tcpshm_conn_remote_name(c))) { /* a lie the server saw through */
        liar_server_mismatch(s, tcpshm_conn_remote_name(c));
        return;
    }
    if (rb_mismatch(s, server_of(s)->name, tcpshm_conn_remote_name(c)))
        return; /* a rollback detected, as it must be */
    /* both sides only acknowledge what the other persisted: a mismatch
     * means persisted state was lost (or a rollback went unnoticed) */
    chk_fail(&s->chk, p ? p->c2s : -1,
             "server: sequence mismatch with %s: server [%u, %u) ack %u, client [%u, %u) ack %u",
             tcpshm_conn_remote_name(c), m->local_seq_start, m->local_seq_end, m->local_ack,
             m->remote_seq_start, m->remote_seq_end, m->remote_ack);
}

/* Host durability: a login refused at its end because the pair could not
 * be synced ("System error" for a client with a slot) was already made a
 * new connection (step 5 resets the pair before the sync): the server's
 * queue is in the new epoch though no login was accepted. The checker
 * starts that epoch as an accepted login does (s_pair_login also checks
 * that the queue is there). */
static bool refused_after_reset(sim *s, const char *name, const char *reason)
{
    node *n = server_of(s);
    peer *p = sim_find_peer(n, name);
    tcpshm_conn *c = tcpshm_server_find_conn(n->srv, name);
    if (!p || !c || !lf_refused_after_reset(s, n->name, name, reason))
        return false;
    s_pair_login(s, n, p, c);
    return true;
}

/* The server's system errors and the pair files it could not open: only
 * the liar's answers are judged from them (a group out of range, its
 * segment that does not open); the faults' own are the other rules' (what
 * they cost: a login not finished, a connection polled directly). The
 * errors go into the trace. */
static void s_syserr(void *u, const char *what, int e)
{
    sim *s = u;
    trace_event(&s->tr, s->now, TR_SYSERR, 0, (uint32_t)e, 0, what);
    liar_server_syserr(s, what);
}

static void s_file_error(void *u, const char *name, const tcpshm_error *err)
{
    liar_server_file_error(u, name, err->text);
}

static void s_rejected(void *u, const char *name, const char *reason)
{
    sim *s = u;
    /* the liar's logins leave no note; its attempt may be over (stopped at
     * settle) when the server gets to its login: known by the login itself */
    bool noteless = liar_take_noteless(s);
    if (!noteless && !refused_after_reset(s, name, reason))
        lf_note_drop(s, name);
    trace_event_noted(&s->tr, s->now, TR_REJECT, 0, 0, 0, reason, name);
    if (!noteless)
        rb_server_rejected(s, name);
    liar_server_reject(s, name, reason);
}

/* A server incarnation of owner 3 mod 5 reads its messages itself: no
 * on_msg; after its polls, each connected peer's front message is read and
 * popped (s_msg, as the callback would) until one stays (queue full, a
 * lie held): what an application that drains its connections does. */
static bool server_reads(const sim *s) { return s->nodes[0].owner % 5u == 3u; }

static void server_read(sim *s, node *n)
{
    for (uint32_t i = 0; i < n->npeers && !s->chk.violated; i++) {
        tcpshm_conn *c = n->peers[i].conn;
        tcpshm_msg_header *m;
        while (c && tcpshm_conn_is_connected(c) && !s->chk.violated && (m = tcpshm_conn_front(c)) != NULL) {
            uint32_t ack = tcpshm_conn_my_ack(c);
            s_msg(s, c, m);
            if (tcpshm_conn_my_ack(c) == ack)
                break; /* not popped: it comes again */
        }
    }
}

void app_server(sim *s, node *n)
{
    if (server_reads(s))
        server_read(s, n);
    if (s->settle || s->bootstrap)
        return;
    for (uint32_t i = 0; i < n->npeers && !s->chk.violated; i++) {
        peer *p = &n->peers[i];
        tcpshm_conn *c = p->conn;
        if (c && liar_name(p->name)) {
            liar_server_push(s, p->name, c); /* what a lie wants the server to hold for the liar */
            continue;
        }
        /* one-way pushes only once the server popped one of the client's
         * messages (my_ack > 0): that proves the client recorded this
         * server's name (README: the first-login window); nor while the
         * record names the front message or one after it (host durability:
         * a power loss may take back pops whose ack had not gone out, so the
         * front can be before the request the record names) */
        if (!c || liar_name(p->name) || rb_pair_dead(s, n->name, p->name) || tcpshm_conn_my_ack(c) == s->chk.s[p->c2s].base || (int32_t)(p->rec->k - tcpshm_conn_my_ack(c)) >= 0 ||
            tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= s->win_s ||
            !sim_rng_ppm(&s->wl_rng, s->push_ppm))
            continue;
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)body_size(s));
        if (h)
            (void)push_alloced(s, n, c, h, p->s2c, WL_ONEWAY, 0, false);
    }
}

/* ------------------------------------------------------------ client */

static node *client_node(tcpshm_conn *c) { return tcpshm_conn_user(c); }

static void c_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sim *s = u;
    node *n = client_node(c);
    if (!n || s->chk.violated || rb_pair_dead(s, tcpshm_conn_remote_name(c), n->name))
        return;
    lf_client_streams(s, n, tcpshm_conn_remote_name(c));
    const uint8_t *body = (const uint8_t *)(m + 1);
    uint32_t size = (uint32_t)m->size - 8u;
    if (m->msg_type != WL_MSG_TYPE) {
        chk_fail(&s->chk, n->s2c, "pop: message type %u, not the workload's", m->msg_type);
        return;
    }
    if (!chk_front_ok(&s->chk, n->s2c, body, size))
        return;
    wl_msg w;
    wl_fields(body, size, &w); /* chk_front_ok checked its checksum */
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
    if (impostor_client_end(s, n, IMP_END_ACCEPTED, rsp->server_name))
        return;
    check_user_data(s, n->name, rsp->user_data, s->cfg.login_rsp_user_data_size, 'r');
    lf_client_login(s, n, c, rsp->server_name);
    lastserver_login_ok(s, n, rsp->server_name);
    trace_event(&s->tr, s->now, TR_LOGIN, (uint32_t)n->idx, tcpshm_conn_my_ack(c), tcpshm_conn_seq_end(c),
                rsp->server_name);
    check_disk_at_login(s, n, rsp->server_name);
    timeout_login_ok(s, n);
    rb_client_accepted(s, n, rsp->server_name, n->login_last);
}

/* The client callbacks that get no connection find their node through
 * the user pointer of the callbacks: one struct per client node. */
typedef struct client_ctx {
    sim *s;
    node *n;
} client_ctx;
static client_ctx g_ctx[1 + SIM_MAX_CLIENTS];

/* The client's handlers of a mismatch and of a disconnect (of a failed or
 * refused login: login_follow.c): called by the callbacks, or, in an
 * incarnation that leaves them NULL, by app_client_after_poll from what the
 * client's state and close reason say. */
static void client_mismatch(sim *s, node *n, const tcpshm_seq_mismatch *m)
{
    trace_event(&s->tr, s->now, TR_MISMATCH, (uint32_t)n->idx, m->local_seq_end, m->remote_seq_end, NULL);
    if (impostor_client_end(s, n, IMP_END_MISMATCH, "Seq number mismatch"))
        return; /* a range the impostor made up: refused as it must be */
    lf_client_mismatch(s, n, m); /* never at a new connection */
    if (rb_mismatch(s, "", n->name))
        return; /* a rollback detected, as it must be */
    chk_fail(&s->chk, n->c2s,
             "client %s: sequence mismatch: client [%u, %u) ack %u, server [%u, %u) ack %u", n->name,
             m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start, m->remote_seq_end,
             m->remote_ack);
}

static void client_disconnected(sim *s, node *n, tcpshm_conn *c, const char *reason)
{
    trace_event(&s->tr, s->now, TR_DISC, (uint32_t)n->idx, 0, 0, reason);
    chk_honest_close(&s->chk, n->c2s, n->name, tcpshm_conn_remote_name(c), reason);
    timeout_close(s, n->c2s, n, tcpshm_conn_remote_name(c), reason);
}

static void c_syserr(void *u, const char *reason, int e)
{
    client_ctx *x = u;
    lf_client_failed(x->s, x->n, reason, e);
}
static void c_reject(void *u, const tcpshm_login_rsp *rsp)
{
    client_ctx *x = u;
    lf_client_rejected(x->s, x->n, rsp->error_msg);
}
static void c_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    client_ctx *x = u;
    (void)c;
    client_mismatch(x->s, x->n, m);
}
static void c_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    client_ctx *x = u;
    (void)e;
    client_disconnected(x->s, x->n, c, reason);
}

bool app_client_quiet(const node *n) { return n->owner % 3u == 2u; }

/* An incarnation of owner 3 mod 7 reads its messages itself: no on_msg,
 * the front message read and popped after each poll while logged in, as
 * an application that polls and then drains its connection does. */
static bool client_reads(const node *n) { return n->owner % 7u == 3u; }

static void c_msg_x(void *u, tcpshm_conn *c, tcpshm_msg_header *m);

static void client_read(sim *s, node *n)
{
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    if (!c || tcpshm_client_get_state(n->cl) != TCPSHM_CLIENT_LOGGED_IN)
        return;
    tcpshm_msg_header *m;
    while (!s->chk.violated && (m = tcpshm_conn_front(c)) != NULL) {
        uint32_t ack = tcpshm_conn_my_ack(c);
        c_msg_x(&g_ctx[n->idx], c, m);
        if (tcpshm_conn_my_ack(c) == ack)
            break; /* not popped (a pair the checker holds dead): it comes again */
    }
}

void app_client_after_poll(sim *s, node *n, tcpshm_client_state before, uint32_t logins)
{
    if (client_reads(n) && !s->chk.violated)
        client_read(s, n);
    if (!app_client_quiet(n) || s->chk.violated)
        return;
    quiet_event ev = quiet_client_end(n, before, logins);
    switch (ev.end) {
    case QUIET_NONE:
        break;
    case QUIET_DISCONNECTED:
        client_disconnected(s, n, ev.conn, ev.reason);
        break;
    case QUIET_REJECTED:
        lf_client_rejected(s, n, ev.reason);
        break;
    case QUIET_MISMATCH:
        client_mismatch(s, n, &ev.m);
        break;
    case QUIET_FAILED:
        lf_client_failed(s, n, ev.reason, ev.sys_errno);
        break;
    }
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
    x->n->logins++;
    c_login(x->s, c, rsp);
}

void app_client(sim *s, node *n)
{
    tcpshm_conn *c = tcpshm_client_conn(n->cl);
    if (s->settle || s->bootstrap || !c)
        return;
    /* The client pushes whenever it has a connection, also after a login
     * whose server name could not be recorded (which once lost pushes:
     * README, "A core bug it found"). */
    const char *remote = tcpshm_conn_remote_name(c);
    if (rb_pair_dead(s, remote, n->name))
        return;
    lf_client_push_streams(s, n, c); /* a stale epoch's pushes, too */
    for (int i = 0; i < 2 && !s->chk.violated; i++) {
        if (tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= s->win_c || !sim_rng_ppm(&s->wl_rng, s->push_ppm))
            return;
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)body_size(s));
        if (!h)
            return;
        uint32_t kind = sim_rng_below(&s->wl_rng, 2) ? WL_REQUEST : WL_ONEWAY;
        /* the client's pushes only: the server's echoes keep the write-ahead
         * record's order with push (its sync); and only where the rollback
         * model follows a batch */
        bool batched = sim_rng_ppm(&s->more_rng, s->more_ppm) && rb_batches_followed(s);
        (void)push_alloced(s, n, c, h, n->c2s, kind, 0, batched);
    }
}

void app_server_callbacks(sim *s, tcpshm_server_callbacks *cb)
{
    *cb = (tcpshm_server_callbacks){.user = s, .on_new_connection = s_new_conn,
                                    .on_login_rejected = s_rejected, .on_seq_mismatch = s_mismatch,
                                    .on_logon = s_logon, .on_disconnect = s_disc, .on_msg = s_msg};
    if (app_server_reports(s)) {
        cb->on_system_error = s_syserr;
        cb->on_client_file_error = s_file_error;
    }
    if (server_reads(s)) /* it reads with front and pop (server_read) */
        cb->on_msg = NULL;
}

bool app_server_reports(const sim *s) { return s->nodes[0].owner % 2u == 0; }

void app_client_callbacks(sim *s, node *n, tcpshm_client_callbacks *cb)
{
    g_ctx[n->idx] = (client_ctx){s, n};
    *cb = (tcpshm_client_callbacks){.user = &g_ctx[n->idx], .on_system_error = c_syserr,
                                    .on_login_reject = c_reject, .on_seq_mismatch = c_mismatch,
                                    .on_login_success = c_login_x, .on_disconnect = c_disc, .on_msg = c_msg_x};
    if (app_client_quiet(n)) /* the optional ones left NULL (app_client_after_poll) */
        cb->on_system_error = NULL, cb->on_login_reject = NULL, cb->on_seq_mismatch = NULL, cb->on_disconnect = NULL;
    if (client_reads(n)) /* it reads with front and pop (client_read) */
        cb->on_msg = NULL;
}

void app_server_forget(sim *s, node *n)
{
    for (uint32_t i = 0; i < n->npeers; i++)
        s->env->unmap(s->env->ctx, n->peers[i].rec, sizeof(app_rec));
    n->npeers = 0;
    lf_notes_forget(s); /* the logins it was handling died with it */
}
