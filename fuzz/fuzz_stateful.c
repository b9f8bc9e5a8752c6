/* fuzz_stateful: a client and a server on the in-memory env, driven by the
 * input: pushes from either side, poll rounds with time passing, paused
 * consumers, disconnects (close, reset), process kills and restarts over the
 * same files (also at every crash site, through the crash hook), hostile
 * peers on extra connections, and libfiu decisions, all chosen by the input.
 * An omniscient checker follows both directed streams.
 *
 * Input: [sel][operations ...]; sel picks the configuration (fz_config, bits
 * 0-1) and the stream capacity (bits 2-3: 4096, 64, 200, 17 bytes). The
 * pair first logs in once without faults (see README: a fault inside the
 * very first login is a known window of the protocol). Each operation is a
 * byte (op % 13) and its argument bytes:
 *   0 / 1   the client / the server pushes 1-4 messages (body sizes follow)
 *   2       one poll round after dt in {0, 1, 10, 50, 100, 150, 600, 1100}
 *   3       four poll rounds, dt < 50 each
 *   4       pause or resume popping on one side
 *   5       disconnect: client close, server close, network reset of either
 *   6 / 7   kill the client / the server and restart it over the same files
 *   8       arm a libfiu point (g_points[], network, file and crash sites):
 *           fire on its n-th evaluation (1-32) with an errno or a byte count
 *           from the input; a crash site calls the crash hook, which kills
 *           the side that was running
 *   9       a hostile peer ("mallory") connects with input bytes, raw or
 *           after a valid login
 *   10      hold / release new connects (connects in progress)
 *   11      the stream capacity of new connections
 *   12      several poll rounds
 * Then faults are disarmed and both sides poll until everything settles.
 *
 * Checks: every popped message is the next one its peer pushed (sequence,
 * size, content: no loss, no duplicate, no reordering, no corruption); a
 * push or pop cut short by a crash counts if, and only if, the reopened
 * file says it persisted; after the settle phase the client is logged in,
 * each side popped exactly what the other pushed and both queues are fully
 * acknowledged; the pair never sees a sequence mismatch or an unexpected
 * rejection; every reason is a documented one; a hostile peer gets exactly
 * the reaction of the server model (a specific reason for bad input) and
 * the pair is unaffected; nothing leaks. */
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "fuzz_common.h"
#include "tcpshm/client.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/names.h"
#include "tcpshm/server.h"
#include "venv.h"

#define PORT 7000
#define MAX_PUSH 2048u
#define MAX_ARMED 8
#define MAGIC 0x5A46u
enum { C2S, S2C };
enum { CLIENT, SERVER };
/* owner ids: a new one for each incarnation, in separate ranges */
enum { OWN_MALLORY = 3, OWN_PEEK = 9, OWN_SERVER0 = 0x100000, OWN_CLIENT0 = 0x200000 };

typedef struct stream {
    uint32_t pushed, popped;
    uint8_t size[MAX_PUSH]; /* body size of each message pushed */
    bool pending_push;      /* a push was cut short by a crash */
    uint32_t end_before;
    bool pending_pop;
    uint32_t ack_before;
} stream;

typedef struct armed {
    const char *name;
    uint32_t countdown;
    int failnum;
    void *failinfo;
} armed;

typedef struct T {
    venv *v;
    const tcpshm_env *env;
    tcpshm_config cfg;
    tcpshm_server *srv;
    tcpshm_client *cl;
    uint32_t owner[2];
    bool pause[2];
    int64_t now;
    stream st[2];
    armed arm[MAX_ARMED];
    int narmed;
    bool suspended; /* no fault fires (setup, checker, hostile episodes, settle) */
    bool held;
    /* hostile episode bookkeeping */
    bool in_episode;
    int ep_logons, ep_rejects, ep_mismatches, ep_disconnects, ep_msgs;
    uint32_t drops; /* logins the server dropped outside episodes */
    char ep_reason[300];
    uint32_t kills;
} T;

static T *g_t;
static jmp_buf *g_jmp;

/* TCPSHM_FUZZ_TRACE=1 in the environment prints what happens (for replaying
 * one input by hand); off, it costs one branch. */
static int g_trace = -1;
#define TRACE(...)                                                                                   \
    do {                                                                                             \
        if (g_trace < 0)                                                                             \
            g_trace = getenv("TCPSHM_FUZZ_TRACE") != NULL;                                           \
        if (g_trace) {                                                                               \
            fprintf(stderr, "[%lld] ", (long long)(g_t ? g_t->now : 0));                              \
            fprintf(stderr, __VA_ARGS__);                                                            \
            fputc('\n', stderr);                                                                     \
        }                                                                                            \
    } while (0)

/* ------------------------------------------------------------ faults */

static int fault_cb(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)flags;
    T *t = g_t;
    if (!t || t->suspended)
        return 0;
    for (int i = 0; i < t->narmed; i++) {
        if (strcmp(name, t->arm[i].name) != 0 || --t->arm[i].countdown > 0)
            continue;
        TRACE("fault %s (failnum %d)", name, t->arm[i].failnum);
        *failnum = t->arm[i].failnum;
        *failinfo = t->arm[i].failinfo;
        t->arm[i] = t->arm[--t->narmed];
        return 1;
    }
    return 0;
}

static void crash_hook(const char *site, void *user)
{
    (void)site, (void)user;
    TRACE("crash site %s", site);
    FZ_CHECK(g_jmp != NULL, "crash site %s outside a side's call", site);
    longjmp(*g_jmp, 1);
}

/* The points an input can arm, by index: a fixed list, so that inputs keep
 * their meaning when the catalogue grows (append new points at the end).
 * setup_once checks that each is still in the catalogue. */
static const char *const g_points[] = {
    "tcpshm/net/reset", "tcpshm/net/send", "tcpshm/net/send/short", "tcpshm/net/recv",
    "tcpshm/net/recv/short", "tcpshm/net/accept", "tcpshm/net/connect", "tcpshm/file/open",
    "tcpshm/file/resize", "tcpshm/file/rename", "tcpshm/file/map",
    "tcpshm/crash/queue/create_before_rename", "tcpshm/crash/queue/push_before_publish",
    "tcpshm/crash/queue/push_after_publish", "tcpshm/crash/queue/compact_before_publish",
    "tcpshm/crash/queue/compact_after_publish", "tcpshm/crash/queue/ack_before_publish",
    "tcpshm/crash/queue/ack_after_publish", "tcpshm/crash/queue/pop_before_publish",
    "tcpshm/crash/queue/pop_after_publish", "tcpshm/crash/queue/reset_before_publish",
    "tcpshm/crash/queue/reset_after_publish", "tcpshm/crash/login/server_after_reset",
    "tcpshm/crash/login/server_after_rewind", "tcpshm/crash/login/client_after_reset",
    "tcpshm/crash/login/client_lastserver_before_rename"};
#define NPOINTS (sizeof g_points / sizeof g_points[0])

static void setup_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    for (size_t i = 0; i < NPOINTS; i++)
        FZ_CHECK(tcpshm_fault_find(g_points[i]) != NULL, "%s is not in the catalogue any more", g_points[i]);
    FZ_CHECK(fiu_init(0) == 0, "fiu_init");
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        FZ_CHECK(fiu_enable_external(tcpshm_fault_catalogue[i].name, 1, NULL, 0, fault_cb) == 0, "enable %s",
                 tcpshm_fault_catalogue[i].name);
    tcpshm_set_crash_hook(crash_hook, NULL);
}

/* ------------------------------------------------------ the messages */

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint8_t fill(uint32_t dir, uint32_t seq, uint32_t i) { return (uint8_t)(seq * 7u + i * 13u + dir); }

/* A received message of stream dir must be the next one. */
static void check_msg(T *t, int dir, const tcpshm_msg_header *m)
{
    stream *s = &t->st[dir];
    const uint8_t *b = (const uint8_t *)(m + 1);
    uint32_t body = m->size - 8u;
    FZ_CHECK(body >= 12 && m->msg_type == MAGIC, "stream %d: a message that nobody pushed (type %u, size %u)",
             dir, m->msg_type, m->size);
    uint32_t seq = get_u32(b + 4);
    FZ_CHECK(get_u32(b) == (uint32_t)dir, "stream %d: a message of the other stream", dir);
    FZ_CHECK(seq == s->popped, "stream %d: got message %u, expected %u (%s)", dir, seq, s->popped,
             seq < s->popped ? "duplicate" : "gap");
    FZ_CHECK(seq < s->pushed || (s->pending_push && seq == s->pushed), "stream %d: message %u was never pushed",
             dir, seq);
    FZ_CHECK(body == s->size[seq], "stream %d message %u: size %u, pushed %u", dir, seq, body, s->size[seq]);
    FZ_CHECK(get_u32(b + 8) == body, "stream %d message %u: corrupted length", dir, seq);
    for (uint32_t i = 12; i < body; i++)
        FZ_CHECK(b[i] == fill((uint32_t)dir, seq, i), "stream %d message %u: byte %u corrupted", dir, seq, i);
}

static tcpshm_conn *conn_of(T *t, int side)
{
    if (side == CLIENT)
        return t->cl ? tcpshm_client_conn(t->cl) : NULL;
    return t->srv ? tcpshm_server_find_conn(t->srv, "client") : NULL;
}

/* The pop of a message of stream dir, by the side that receives it. */
static void pop_checked(T *t, int dir, tcpshm_conn *c, const tcpshm_msg_header *m)
{
    check_msg(t, dir, m);
    stream *s = &t->st[dir];
    s->pending_pop = true;
    s->ack_before = tcpshm_conn_my_ack(c);
    tcpshm_conn_pop(c);
    s->pending_pop = false;
    FZ_CHECK(tcpshm_conn_my_ack(c) == s->ack_before + 1u, "pop did not advance the ack");
    s->popped++;
}

/* --------------------------------------------------------- callbacks */

static void s_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    T *t = u;
    if (strcmp(tcpshm_conn_remote_name(c), "mallory") == 0) {
        t->ep_msgs++;
        tcpshm_conn_pop(c);
        return;
    }
    FZ_CHECK(strcmp(tcpshm_conn_remote_name(c), "client") == 0, "a message from %s", tcpshm_conn_remote_name(c));
    if (!t->pause[SERVER])
        pop_checked(t, C2S, c, m);
}

static void s_logon(void *u, tcpshm_conn *c, uint32_t grp)
{
    T *t = u;
    (void)grp;
    TRACE("server: %s logged on", tcpshm_conn_remote_name(c));
    if (strcmp(tcpshm_conn_remote_name(c), "mallory") == 0)
        t->ep_logons++;
    else
        FZ_CHECK(strcmp(tcpshm_conn_remote_name(c), "client") == 0, "%s logged on", tcpshm_conn_remote_name(c));
}

static void s_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    T *t = u;
    (void)e;
    TRACE("server: %s disconnected: %s", tcpshm_conn_remote_name(c), reason);
    FZ_CHECK(fz_disconnect_reason_ok(reason), "undocumented disconnect reason \"%s\"", reason);
    if (strcmp(tcpshm_conn_remote_name(c), "mallory") == 0) {
        t->ep_disconnects++;
        snprintf(t->ep_reason, sizeof t->ep_reason, "%s", reason);
    }
}

static void s_rejected(void *u, const char *name, const char *reason)
{
    T *t = u;
    TRACE("server: login of \"%s\" dropped: %s", name, reason);
    FZ_CHECK(fz_login_reject_reason_ok(reason, NULL), "undocumented reject reason \"%s\"", reason);
    if (t->in_episode) {
        t->ep_rejects++;
        snprintf(t->ep_reason, sizeof t->ep_reason, "%s", reason);
    } else {
        t->drops++;
        /* the client itself: only while its old connection is not yet seen dead, or a file fault */
        FZ_CHECK((name[0] == '\0' || strcmp(name, "client") == 0) &&
                     (strcmp(reason, "Already logged on") == 0 || strcmp(reason, "System error") == 0 ||
                      strncmp(reason, "Read error", 10) == 0 || strncmp(reason, "Remote close", 12) == 0 ||
                      strncmp(reason, "Timeout", 7) == 0 || strncmp(reason, "Too many", 8) == 0),
                 "the client's login was dropped: \"%s\" \"%s\"", name, reason);
    }
}

static void s_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    T *t = u;
    if (strcmp(tcpshm_conn_remote_name(c), "mallory") == 0) {
        t->ep_mismatches++;
        return;
    }
    FZ_CHECK(0, "server: sequence mismatch with the client: mine [%u, %u] ack %u, its [%u, %u] ack %u",
             m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start, m->remote_seq_end,
             m->remote_ack);
}

static void s_syserr(void *u, const char *what, int e)
{
    (void)u, (void)what, (void)e; /* accept failures from armed faults */
}

static void c_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    T *t = u;
    if (!t->pause[CLIENT])
        pop_checked(t, S2C, c, m);
}

static void c_syserr(void *u, const char *reason, int e)
{
    (void)u, (void)e;
    TRACE("client: login failed: %s (errno %d)", reason, e);
    FZ_CHECK(fz_client_error_reason_ok(reason), "undocumented client error \"%s\"", reason);
}

static void c_reject(void *u, const tcpshm_login_rsp *r)
{
    (void)u;
    TRACE("client: login rejected: %s", r->error_msg);
    FZ_CHECK(strcmp(r->error_msg, "Already logged on") == 0 || strcmp(r->error_msg, "System error") == 0,
             "the client was rejected: \"%s\"", r->error_msg);
}

static void c_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    (void)u, (void)c;
    FZ_CHECK(0, "client: sequence mismatch: mine [%u, %u] ack %u, the server's [%u, %u] ack %u",
             m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start, m->remote_seq_end,
             m->remote_ack);
}

static void c_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    (void)u, (void)c, (void)e;
    TRACE("client: disconnected: %s", reason);
    FZ_CHECK(fz_disconnect_reason_ok(reason), "undocumented disconnect reason \"%s\"", reason);
}

/* ------------------------------------------------------------ sides */

static void start_server(T *t)
{
    tcpshm_server_callbacks cb = {.user = t, .on_system_error = s_syserr, .on_login_rejected = s_rejected,
                                  .on_seq_mismatch = s_mismatch, .on_logon = s_logon,
                                  .on_disconnect = s_disc, .on_msg = s_msg};
    tcpshm_error err;
    venv_set_owner(t->v, t->owner[SERVER]);
    /* create (it takes the name's lock file) and listen run without faults,
     * as a process that could not start would simply be started again */
    bool was = t->suspended;
    t->suspended = true;
    FZ_CHECK(tcpshm_server_create(&t->srv, &t->cfg, t->env, "server", "srv", &cb, &err) == 0, "%s", err.text);
    FZ_CHECK(tcpshm_server_start(t->srv, "127.0.0.1", PORT, &err) == 0, "listen: %s", err.text);
    t->suspended = was;
}

static void start_client(T *t)
{
    tcpshm_client_callbacks cb = {.user = t, .on_system_error = c_syserr, .on_login_reject = c_reject,
                                  .on_seq_mismatch = c_mismatch, .on_disconnect = c_disc, .on_msg = c_msg};
    tcpshm_error err;
    venv_set_owner(t->v, t->owner[CLIENT]);
    bool was = t->suspended; /* create takes the name's lock file: no faults, as for the server */
    t->suspended = true;
    FZ_CHECK(tcpshm_client_create(&t->cl, &t->cfg, t->env, "client", "cli", &cb, &err) == 0, "%s", err.text);
    t->suspended = was;
}

/* After a kill: a push or pop cut short counts if the file says it persisted. */
static void resolve_pending(T *t, int side)
{
    int out = side == CLIENT ? C2S : S2C, in = side == CLIENT ? S2C : C2S;
    const char *dir = side == CLIENT ? "cli" : "srv";
    const char *local = side == CLIENT ? "client" : "server";
    const char *remote = side == CLIENT ? "server" : "client";
    uint32_t s0, s1, ack;
    bool was = t->suspended;
    t->suspended = true;
    bool exists = fz_peek_queue(t->v, OWN_PEEK, dir, local, remote, &t->cfg, &s0, &s1, &ack);
    t->suspended = was;
    stream *po = &t->st[out], *pi = &t->st[in];
    if (po->pending_push) {
        FZ_CHECK(exists, "no queue after a push");
        FZ_CHECK(s1 == po->end_before || s1 == po->end_before + 1u, "after a crash in push: seq_end %u, was %u",
                 s1, po->end_before);
        if (s1 == po->end_before + 1u)
            po->pushed++;
        po->pending_push = false;
    }
    if (pi->pending_pop) {
        FZ_CHECK(exists, "no queue after a pop");
        FZ_CHECK(ack == pi->ack_before || ack == pi->ack_before + 1u, "after a crash in pop: my_ack %u, was %u",
                 ack, pi->ack_before);
        if (ack == pi->ack_before + 1u)
            pi->popped++;
        pi->pending_pop = false;
    }
}

/* The process dies without any cleanup; its object is then only freed (its
 * env calls fail: its handles are gone), and a new incarnation starts over
 * the same directory. */
static void kill_side(T *t, int side)
{
    TRACE("kill the %s", side == CLIENT ? "client" : "server");
    t->kills++;
    venv_kill(t->v, t->owner[side]);
    venv_set_owner(t->v, t->owner[side]);
    if (side == CLIENT) {
        tcpshm_client_destroy(t->cl);
        t->cl = NULL;
    } else {
        tcpshm_server_destroy(t->srv);
        t->srv = NULL;
    }
    FZ_CHECK(venv_handle_count(t->v, t->owner[side]) == 0 && venv_mapping_count(t->v, t->owner[side]) == 0,
             "the dead process still holds something");
    resolve_pending(t, side);
    t->owner[side]++;
    if (side == CLIENT)
        start_client(t);
    else
        start_server(t);
}

/* Runs stmt as a call of side; a crash site inside kills and restarts it. */
#define RUN(t, side, stmt)                                                                           \
    do {                                                                                             \
        jmp_buf jb_;                                                                                 \
        if (setjmp(jb_) == 0) {                                                                      \
            g_jmp = &jb_;                                                                            \
            venv_set_owner((t)->v, (t)->owner[side]);                                                \
            stmt;                                                                                    \
            g_jmp = NULL;                                                                            \
        } else {                                                                                     \
            g_jmp = NULL;                                                                            \
            kill_side((t), (side));                                                                  \
        }                                                                                            \
    } while (0)

static void client_poll(T *t)
{
    if (tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_IDLE) {
        tcpshm_error err = {0};
        int rc = tcpshm_client_login(t->cl, "127.0.0.1", PORT, false, NULL, t->now, &err);
        TRACE("client: login: %d %s", rc, rc ? err.text : "");
    }
    tcpshm_client_poll_tcp(t->cl, t->now);
}

static void server_poll(T *t)
{
    tcpshm_server_poll_ctl(t->srv, t->now);
    tcpshm_server_poll_tcp(t->srv, t->now, 0);
}

static void poll_round(T *t, int64_t dt)
{
    t->now += dt;
    RUN(t, SERVER, server_poll(t));
    RUN(t, CLIENT, client_poll(t));
}

static void push_one(T *t, int side, uint32_t body)
{
    int dir = side == CLIENT ? C2S : S2C;
    stream *s = &t->st[dir];
    tcpshm_conn *c = conn_of(t, side);
    if (!c || s->pushed >= MAX_PUSH)
        return;
    s->end_before = tcpshm_conn_seq_end(c);
    FZ_CHECK(s->end_before == s->pushed, "stream %d: the queue says %u pushed, the checker %u", dir,
             s->end_before, s->pushed);
    s->size[s->pushed] = (uint8_t)body;
    s->pending_push = true;
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, (uint16_t)body);
    if (m) {
        uint8_t *b = (uint8_t *)(m + 1);
        m->msg_type = MAGIC;
        put_u32(b, (uint32_t)dir);
        put_u32(b + 4, s->pushed);
        put_u32(b + 8, body);
        for (uint32_t i = 12; i < body; i++)
            b[i] = fill((uint32_t)dir, s->pushed, i);
        FZ_CHECK(tcpshm_conn_push(c) == 0, "push failed");
        s->pushed++;
        FZ_CHECK(tcpshm_conn_seq_end(c) == s->pushed, "push did not advance seq_end");
    }
    s->pending_push = false;
    TRACE("%s push %s: queue [%u, %u)", side == CLIENT ? "client" : "server", m ? "ok" : "refused (full)",
          tcpshm_conn_seq_start(c), tcpshm_conn_seq_end(c));
}

/* A push as a call of its side (its own frame: setjmp and the caller's loop
 * variables stay apart). */
static void run_push(T *t, int side, uint32_t body) { RUN(t, side, push_one(t, side, body)); }

/* ------------------------------------------------- hostile episodes */

static bool name_busy(void *user, const char *name)
{
    T *t = user;
    tcpshm_conn *c = tcpshm_server_find_conn(t->srv, name);
    return c && tcpshm_conn_is_connected(c);
}
static int decide(void *user, const tcpshm_login *lg, const char **text)
{
    (void)user, (void)lg, (void)text;
    return 0;
}
static bool queue_state(void *user, const char *name, uint32_t *seq, uint32_t *my_ack)
{
    T *t = user;
    uint32_t s0, s1;
    if (!fz_pair_state(t->v, OWN_PEEK, "srv", "server", name, &t->cfg, &s0, &s1, my_ack))
        return false;
    FZ_CHECK(s0 == s1, "the server queued messages for %s", name);
    *seq = s0;
    return true;
}

/* The bytes of a hostile peer: any valid client name becomes "mallory", so
 * it never impersonates the client (the pair's streams must stay its own). */
static size_t hostile_bytes(T *t, fz_in *in, uint8_t *out, size_t cap)
{
    uint8_t how = fz_u8(in);
    size_t len = fz_u8(in) % 160u, got, pos = 0;
    uint32_t lsize = tcpshm_login_size(&t->cfg), lpad = tcpshm_padded_size(lsize);
    if (how & 1u) {
        tcpshm_login lg;
        memset(&lg, 0, sizeof lg);
        lg.ack_seq = how & 2u ? 0 : fz_u32(in);
        lg.client_seq_start = fz_u32(in);
        lg.client_seq_end = fz_u32(in);
        strcpy(lg.client_name, "mallory");
        strcpy(lg.last_server_name, how & 4u ? "server" : "");
        pos = tcpshm_login_encode(&t->cfg, &lg, out);
    }
    const uint8_t *b = fz_bytes(in, len < cap - pos ? len : cap - pos, &got);
    memcpy(out + pos, b, got);
    pos += got;
    tcpshm_login lg;
    int rc = pos >= lpad ? tcpshm_login_decode(&t->cfg, out, lpad, &lg, NULL) : -1;
    /* a login refused for its last server name still carries a client name */
    if ((rc == 0 || rc == TCPSHM_E_NAME) && tcpshm_name_check(lg.client_name, t->cfg.name_size, NULL, NULL) == 0) {
        uint8_t *name = out + 16u + t->cfg.login_user_data_size + 1u;
        memset(name, 0, t->cfg.name_size);
        memcpy(name, "mallory", 7);
    }
    return pos;
}

/* Only the server runs during an episode, so every login it drops then is
 * mallory's: the client makes no new connections meanwhile. */
static void server_round(T *t) { RUN(t, SERVER, server_poll(t)); }
static void client_poll_nologin(T *t) { tcpshm_client_poll_tcp(t->cl, t->now); }
static void client_round_nologin(T *t) { RUN(t, CLIENT, client_poll_nologin(t)); }

/* Before an episode: the client finishes a login under way (without starting
 * another), then the server gets rid of the client's dead connections: all
 * of them, however many a client killed again and again left in the
 * backlog (it accepts a few per round), until two rounds drop nothing. */
static void quiesce(T *t)
{
    for (int i = 0; i < 60; i++) {
        tcpshm_client_state st = tcpshm_client_get_state(t->cl);
        if (st == TCPSHM_CLIENT_IDLE || st == TCPSHM_CLIENT_LOGGED_IN)
            break;
        server_round(t);
        client_round_nologin(t);
    }
    for (int quiet = 0, i = 0; quiet < 2 && i < 200; i++) {
        uint32_t before = t->drops;
        server_round(t);
        quiet = t->drops == before ? quiet + 1 : 0;
    }
}

static void episode(T *t, fz_in *in)
{
    uint8_t b[512];
    size_t n = hostile_bytes(t, in, b, sizeof b);
    bool was = t->suspended;
    t->suspended = true;
    quiesce(t);
    fz_srv_model model = {&t->cfg, "server", t, name_busy, decide, queue_state};
    fz_srv_expect ex;
    fz_expect_server(&model, b, n, &ex);
    t->in_episode = true;
    t->ep_logons = t->ep_rejects = t->ep_mismatches = t->ep_disconnects = t->ep_msgs = 0;
    t->ep_reason[0] = '\0';
    TRACE("episode: %zu bytes, expected outcome %d", n, ex.outcome);

    venv_set_owner(t->v, OWN_MALLORY);
    int fd = t->env->connect(t->v, "127.0.0.1", PORT);
    size_t sent = 0;
    bool connected = fd >= 0 && t->env->connect_result(t->v, fd) == 0;
    for (int stall = 0; connected && sent < n && stall < 8;) {
        venv_set_owner(t->v, OWN_MALLORY);
        ssize_t k = t->env->send(t->v, fd, b + sent, n - sent);
        if (k > 0)
            sent += (size_t)k;
        else if (errno != EAGAIN)
            break;
        else
            stall++;
        server_round(t);
        uint8_t junk[256];
        venv_set_owner(t->v, OWN_MALLORY);
        while (t->env->recv(t->v, fd, junk, sizeof junk) > 0) {
        }
    }
    for (int i = 0; i < 3; i++)
        server_round(t);
    if (connected) {
        const char *h = ex.decoded ? ex.login.client_name : "?";
        switch (ex.outcome) {
        case FZ_SRV_PENDING:
            FZ_CHECK(t->ep_rejects + t->ep_logons == 0, "a pending login was handled: %s", t->ep_reason);
            break;
        case FZ_SRV_REJECTED:
            FZ_CHECK(t->ep_rejects == 1 && strcmp(t->ep_reason, ex.reason) == 0,
                     "hostile: expected the reject \"%s\", got %d \"%s\"", ex.reason, t->ep_rejects, t->ep_reason);
            break;
        case FZ_SRV_MISMATCH:
            FZ_CHECK(t->ep_mismatches == 1 && t->ep_logons == 0, "hostile %s: expected a mismatch", h);
            break;
        case FZ_SRV_LOGGED_IN:
            FZ_CHECK(t->ep_logons == 1 && t->ep_msgs == (int)ex.msgs, "hostile %s: %d logons, %d of %u messages",
                     h, t->ep_logons, t->ep_msgs, ex.msgs);
            if (ex.after == FZ_AFTER_DISCONNECT)
                FZ_CHECK(t->ep_disconnects == 1 &&
                             strncmp(t->ep_reason, ex.disc_reason, strlen(ex.disc_reason)) == 0,
                         "hostile: expected the close \"%s\", got \"%s\"", ex.disc_reason, t->ep_reason);
            else
                FZ_CHECK(t->ep_disconnects == 0, "hostile: closed with \"%s\"", t->ep_reason);
            break;
        }
    }
    int before = t->ep_rejects + t->ep_disconnects;
    if (fd >= 0) {
        venv_set_owner(t->v, OWN_MALLORY);
        t->env->sock_close(t->v, fd);
    }
    server_round(t);
    server_round(t);
    if (connected && (ex.outcome == FZ_SRV_PENDING ||
                      (ex.outcome == FZ_SRV_LOGGED_IN && ex.after == FZ_AFTER_UP)))
        /* the server sees the close on its next read, or first on its next
         * send when it still has bytes for the peer (the response, heartbeats) */
        FZ_CHECK(t->ep_rejects + t->ep_disconnects == before + 1 &&
                     (strncmp(t->ep_reason, "Remote close", 12) == 0 ||
                      (ex.outcome == FZ_SRV_LOGGED_IN && strcmp(t->ep_reason, "Send error") == 0)),
                 "hostile: closing ended with \"%s\"", t->ep_reason);
    FZ_CHECK(venv_handle_count(t->v, OWN_MALLORY) == 0, "mallory's socket");
    t->in_episode = false;
    t->suspended = was;
}

/* ------------------------------------------------------------ driver */

static void arm_fault(T *t, fz_in *in)
{
    static const int errnos[8] = {1, EAGAIN, EINTR, ECONNRESET, EPIPE, ETIMEDOUT, ENOSPC, EIO};
    uint8_t p = fz_u8(in), c = fz_u8(in), e = fz_u8(in);
    if (t->narmed == MAX_ARMED)
        return;
    armed *a = &t->arm[t->narmed++];
    a->name = g_points[p % NPOINTS];
    a->countdown = 1u + c % 32u;
    a->failnum = errnos[e % 8u];
    a->failinfo = (void *)(uintptr_t)(1u + e % 64u);
}

static bool settled(T *t)
{
    tcpshm_conn *cc = conn_of(t, CLIENT), *sc = conn_of(t, SERVER);
    return tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_LOGGED_IN && cc && sc &&
           tcpshm_conn_is_connected(sc) && t->st[C2S].popped == t->st[C2S].pushed &&
           t->st[S2C].popped == t->st[S2C].pushed && tcpshm_conn_seq_start(cc) == tcpshm_conn_seq_end(cc) &&
           tcpshm_conn_seq_start(sc) == tcpshm_conn_seq_end(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t caps[4] = {4096, 64, 200, 17};
    static const int64_t dts[8] = {0, 1, 10, 50, 100, 150, 600, 1100};
    setup_once();
    fz_in in;
    fz_in_init(&in, data, size);
    uint8_t sel = fz_u8(&in);
    T *t = calloc(1, sizeof *t);
    FZ_CHECK(t != NULL, "oom");
    g_t = t;
    fz_config(sel, &t->cfg);
    venv_options vo = {.stream_capacity = caps[(sel >> 2) & 3u]};
    t->v = venv_create(&vo);
    t->env = venv_env(t->v);
    t->owner[SERVER] = OWN_SERVER0;
    t->owner[CLIENT] = OWN_CLIENT0;
    t->suspended = true;
    start_server(t);
    start_client(t);
    /* The very first login runs under the input's faults too: a client that
     * dies before recording the server's name must not lose what the server
     * pushed meanwhile (the first-login window, server.c). */
    t->suspended = false;

    while (fz_more(&in)) {
        uint8_t op = fz_u8(&in);
        TRACE("op %u", op % 13u);
        switch (op % 13u) {
        case 0:
        case 1: {
            int side = op % 13u == 0 ? CLIENT : SERVER;
            uint32_t k = 1u + fz_u8(&in) % 4u;
            for (uint32_t i = 0; i < k; i++)
                run_push(t, side, 12u + fz_u8(&in) % (t->cfg.max_msg_size - 8u - 12u + 1u));
            break;
        }
        case 2:
            poll_round(t, dts[fz_u8(&in) % 8u]);
            break;
        case 3:
            for (int i = 0; i < 4; i++)
                poll_round(t, fz_u8(&in) % 50u);
            break;
        case 4: {
            uint8_t b = fz_u8(&in);
            t->pause[b & 1u] = (b & 2u) != 0;
            break;
        }
        case 5: {
            uint8_t b = fz_u8(&in) % 4u;
            tcpshm_conn *c = conn_of(t, b == 0 ? CLIENT : SERVER);
            if (b < 2 && c)
                tcpshm_conn_close(c);
            else if (b >= 2)
                venv_break(t->v, t->owner[b == 2 ? CLIENT : SERVER]);
            break;
        }
        case 6:
            kill_side(t, CLIENT);
            break;
        case 7:
            kill_side(t, SERVER);
            break;
        case 8:
            arm_fault(t, &in);
            break;
        case 9:
            episode(t, &in);
            break;
        case 10:
            t->held = !t->held;
            venv_hold_connects(t->v, t->held);
            if (!t->held)
                venv_release_connects(t->v);
            break;
        case 11:
            venv_set_stream_capacity(t->v, caps[fz_u8(&in) % 4u]);
            break;
        default: {
            uint32_t k = 1u + fz_u8(&in) % 16u;
            for (uint32_t i = 0; i < k; i++)
                poll_round(t, 25);
            break;
        }
        }
    }

    /* settle: no more faults; everything pushed must arrive, exactly once */
    t->suspended = true;
    t->narmed = 0;
    t->pause[0] = t->pause[1] = false;
    t->held = false;
    venv_hold_connects(t->v, false);
    venv_release_connects(t->v);
    int rounds = 0;
    /* short steps: even a 17-byte stream carries a login within the new-connection timeout */
    for (; rounds < 3000 && !settled(t); rounds++)
        poll_round(t, 5);
    tcpshm_conn *cc = conn_of(t, CLIENT), *sc = conn_of(t, SERVER);
    FZ_CHECK(settled(t),
             "not settled after %d rounds: client state %d, server conn %s; client->server %u pushed %u popped, "
             "server->client %u pushed %u popped; queues [%u,%u) and [%u,%u)",
             rounds, (int)tcpshm_client_get_state(t->cl), sc && tcpshm_conn_is_connected(sc) ? "up" : "down",
             t->st[C2S].pushed, t->st[C2S].popped, t->st[S2C].pushed, t->st[S2C].popped,
             cc ? tcpshm_conn_seq_start(cc) : 0, cc ? tcpshm_conn_seq_end(cc) : 0,
             sc ? tcpshm_conn_seq_start(sc) : 0, sc ? tcpshm_conn_seq_end(sc) : 0);

    venv_set_owner(t->v, t->owner[CLIENT]);
    tcpshm_client_destroy(t->cl);
    venv_set_owner(t->v, t->owner[SERVER]);
    tcpshm_server_destroy(t->srv);
    FZ_CHECK(venv_handle_count(t->v, t->owner[CLIENT]) + venv_handle_count(t->v, t->owner[SERVER]) == 0 &&
                 venv_mapping_count(t->v, t->owner[CLIENT]) + venv_mapping_count(t->v, t->owner[SERVER]) == 0,
             "destroy left handles or mappings");
    venv_destroy(t->v);
    g_t = NULL;
    free(t);
    return 0;
}
