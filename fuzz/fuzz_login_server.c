/* fuzz_login_server: a server on the in-memory env receives the input as the
 * first bytes of a new connection, while a well-behaved client is logged in.
 *
 * Input: [sel][bytes ...]
 *   sel bits 0-1  configuration (fz_config: compatible, big-endian, names 8 with
 *                 user data 4/2, names 32 big-endian)
 *       bits 2-3  delivery: all at once, or 1, 7, 13 bytes per poll round
 *       bit  4    end: the peer closes (0), or time passes the new-connection
 *                 timeout (1)
 *       bits 5-6  stream capacity per direction: 4096, 64, 17, 1000 bytes
 * The application rejects logins whose first user-data byte is 0xEE ("go
 * away"), routes 0xEF to a group that does not exist, and rejects names
 * starting with "rej" without a text.
 *
 * Checks: the server's behaviour equals the model of fuzz_common.c
 * (docs/protocol.md's login steps): the connection is still pending, or rejected with
 * exactly the expected reason (and, when a response is due, a status-2
 * response carrying it, then the close), or refused with status 1, or
 * logged in with a status-0 response, after which the following bytes are
 * frames: the expected number of messages is delivered and a bad frame, an
 * oversized one or a bad ack closes with its specific reason. A pending
 * connection is dropped "Remote close before login" / "Timeout before
 * login". Every reason is a documented one. Afterwards the good client is
 * still logged in with its state unchanged and still exchanges messages, a
 * second good client logs in, and nothing leaks (handles, mappings). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"
#include "venv.h"

enum { OWN_SERVER = 1, OWN_GOOD = 2, OWN_HOSTILE = 3, OWN_GOOD2 = 4, OWN_PEEK = 9 };
#define PORT 7000
#define MAX_EVENTS 64

enum ev_kind { EV_LOGON, EV_REJECT, EV_DISCONNECT, EV_MISMATCH, EV_MSG, EV_SYSERR, EV_FILEERR };

typedef struct event {
    int kind;
    char name[72];
    char reason[300];
} event;

typedef struct T {
    venv *v;
    const tcpshm_env *env;
    tcpshm_config cfg;
    tcpshm_server *srv;
    tcpshm_client *good, *good2;
    int64_t now;
    event ev[MAX_EVENTS];
    int nev;
    uint32_t good_msgs; /* messages the good clients got back (none expected) */
} T;

static void add_event(T *t, int kind, const char *name, const char *reason)
{
    if (kind != EV_MSG && kind != EV_LOGON) {
        if (kind == EV_DISCONNECT)
            FZ_CHECK(fz_disconnect_reason_ok(reason), "undocumented disconnect reason \"%s\"", reason);
        static const char *const app[] = {"go away", NULL};
        if (kind == EV_REJECT)
            FZ_CHECK(fz_login_reject_reason_ok(reason, app), "undocumented reject reason \"%s\"", reason);
    }
    if (t->nev == MAX_EVENTS)
        return;
    event *e = &t->ev[t->nev++];
    e->kind = kind;
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
    snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
}

/* ---- the server application ---- */

static int decide(void *user, const tcpshm_login *lg, const char **text)
{
    (void)user;
    if (lg->user_data[0] == 0xEE) {
        *text = "go away";
        return -1;
    }
    if (lg->user_data[0] == 0xEF)
        return 7; /* no such group */
    if (strncmp(lg->client_name, "rej", 3) == 0)
        return -1;
    return 0;
}

static int on_new(void *user, const tcpshm_login *lg, uint8_t *rsp_ud, const char **text)
{
    rsp_ud[0] = 0x5a;
    return decide(user, lg, text);
}
static void on_syserr(void *user, const char *what, int e)
{
    (void)e;
    add_event(user, EV_SYSERR, "", what);
}
static void on_file(void *user, const char *name, const tcpshm_error *err)
{
    add_event(user, EV_FILEERR, name, err->text);
}
static void on_rejected(void *user, const char *name, const char *reason)
{
    add_event(user, EV_REJECT, name, reason);
}
static void on_mismatch(void *user, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    (void)m;
    add_event(user, EV_MISMATCH, tcpshm_conn_remote_name(c), "");
}
static void on_logon(void *user, tcpshm_conn *c, uint32_t grp)
{
    FZ_CHECK(grp == 0, "logon in group %u", grp);
    add_event(user, EV_LOGON, tcpshm_conn_remote_name(c), "");
}
static void on_disc(void *user, tcpshm_conn *c, const char *reason, int e)
{
    (void)e;
    add_event(user, EV_DISCONNECT, tcpshm_conn_remote_name(c), reason);
}
static void on_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)m;
    add_event(user, EV_MSG, tcpshm_conn_remote_name(c), "");
    tcpshm_conn_pop(c);
}

/* ---- the good clients ---- */

static void good_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)m;
    ((T *)user)->good_msgs++;
    tcpshm_conn_pop(c);
}
static void good_fail(void *user, const char *reason, int e)
{
    (void)user, (void)e;
    FZ_CHECK(0, "a good client failed: %s", reason);
}
static void good_disc(void *user, tcpshm_conn *c, const char *reason, int e)
{
    (void)user, (void)c, (void)e;
    FZ_CHECK(0, "a good client was disconnected: %s", reason);
}
static void good_reject(void *user, const tcpshm_login_rsp *r)
{
    (void)user;
    FZ_CHECK(0, "a good client was rejected: %s", r->error_msg);
}

/* ---- the model's view of the server ---- */

static bool name_busy(void *user, const char *name)
{
    T *t = user;
    tcpshm_conn *c = tcpshm_server_find_conn(t->srv, name);
    return c && tcpshm_conn_is_connected(c);
}

static bool queue_state(void *user, const char *name, uint32_t *seq, uint32_t *my_ack)
{
    T *t = user;
    uint32_t start, end;
    if (!fz_pair_state(t->v, OWN_PEEK, "srv", "server", name, &t->cfg, &start, &end, my_ack))
        return false;
    FZ_CHECK(start == end, "the model needs an empty queue for %s", name);
    *seq = start;
    return true;
}

/* ---- driving ---- */

static void poll_round(T *t, int64_t step)
{
    t->now += step;
    venv_set_owner(t->v, OWN_SERVER);
    tcpshm_server_poll_ctl(t->srv, t->now);
    tcpshm_server_poll_tcp(t->srv, t->now, 0);
    if (t->good) {
        venv_set_owner(t->v, OWN_GOOD);
        tcpshm_client_poll_tcp(t->good, t->now);
    }
    if (t->good2) {
        venv_set_owner(t->v, OWN_GOOD2);
        tcpshm_client_poll_tcp(t->good2, t->now);
    }
}

static tcpshm_client *good_login(T *t, uint32_t owner, const char *name, const char *dir)
{
    tcpshm_client_callbacks cb = {.user = t, .on_system_error = good_fail, .on_login_reject = good_reject,
                                  .on_disconnect = good_disc, .on_msg = good_msg};
    tcpshm_client *cl;
    tcpshm_error err;
    venv_set_owner(t->v, owner);
    FZ_CHECK(tcpshm_client_create(&cl, &t->cfg, t->env, name, dir, &cb, &err) == 0, "%s", err.text);
    FZ_CHECK(tcpshm_client_login(cl, "127.0.0.1", PORT, false, NULL, t->now, &err) == 0, "%s", err.text);
    for (int i = 0; i < 20 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        poll_round(t, 1);
        venv_set_owner(t->v, owner);
        tcpshm_client_poll_tcp(cl, t->now);
    }
    FZ_CHECK(tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN, "%s did not log in", name);
    return cl;
}

/* good pushes one message; the server pops it */
static void good_exchange(T *t, tcpshm_client *cl, uint32_t owner)
{
    venv_set_owner(t->v, owner);
    tcpshm_conn *c = tcpshm_client_conn(cl);
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, 4);
    FZ_CHECK(m != NULL, "good alloc");
    m->msg_type = 9;
    memcpy(m + 1, "ping", 4);
    FZ_CHECK(tcpshm_conn_push(c) == 0, "good push");
    uint32_t want = tcpshm_conn_seq_end(c);
    tcpshm_conn *sc = tcpshm_server_find_conn(t->srv, tcpshm_conn_local_name(c));
    for (int i = 0; i < 10 && tcpshm_conn_my_ack(sc) != want; i++)
        poll_round(t, 1);
    FZ_CHECK(tcpshm_conn_my_ack(sc) == want, "the server did not get %s's message",
             tcpshm_conn_local_name(c));
}

static int count(const T *t, int from, int kind, const char *name)
{
    int n = 0;
    for (int i = from; i < t->nev; i++)
        if (t->ev[i].kind == kind && (!name || strcmp(t->ev[i].name, name) == 0))
            n++;
    return n;
}

static const event *find(const T *t, int from, int kind)
{
    for (int i = from; i < t->nev; i++)
        if (t->ev[i].kind == kind)
            return &t->ev[i];
    return NULL;
}

/* Reads what the hostile socket has; returns false at EOF or reset. */
static bool drain(T *t, int fd, uint8_t *rsp, size_t *rlen, size_t cap)
{
    venv_set_owner(t->v, OWN_HOSTILE);
    for (;;) {
        uint8_t b[256];
        ssize_t n = t->env->recv(t->v, fd, b, sizeof b);
        if (n > 0) {
            size_t k = (size_t)n;
            if (*rlen + k > cap)
                k = cap - *rlen;
            memcpy(rsp + *rlen, b, k);
            *rlen += k;
            continue;
        }
        return n < 0 && errno == EAGAIN;
    }
}

/* Independent check of the login layout of docs/protocol.md (names 16, user data 1). */
static void check_layout(const tcpshm_config *cfg, const uint8_t *b, const tcpshm_login *lg)
{
    bool le = cfg->little_endian;
#define U32(o) (le ? (uint32_t)b[o] | (uint32_t)b[o + 1] << 8 | (uint32_t)b[o + 2] << 16 | (uint32_t)b[o + 3] << 24 \
                   : (uint32_t)b[o] << 24 | (uint32_t)b[o + 1] << 16 | (uint32_t)b[o + 2] << 8 | (uint32_t)b[o + 3])
    FZ_CHECK(lg->ack_seq == U32(4) && lg->client_seq_start == U32(8) && lg->client_seq_end == U32(12),
             "login numbers are not at docs/protocol.md's offsets");
#undef U32
    FZ_CHECK(lg->user_data[0] == b[16] && lg->use_shm == b[17], "user data / use_shm offsets");
    FZ_CHECK(strncmp(lg->client_name, (const char *)b + 18, 16) == 0 &&
                 strncmp(lg->last_server_name, (const char *)b + 34, 16) == 0,
             "name offsets");
}

/* Two rules judged from the raw bytes alone, not through the model (issue
 * 13): a whole login with a valid header whose client or last server name
 * field has no NUL is answered with status 2; a login resuming with this
 * server ("server") whose client range is reversed never gets status 0.
 * whole_rsp: a response fits the streams at once; rsp: the response, when
 * one came. */
static void check_wire_rules(const tcpshm_config *cfg, const uint8_t *b, size_t n, bool whole_rsp,
                             const tcpshm_login_rsp *rsp)
{
    uint32_t lsize = tcpshm_login_size(cfg), N = cfg->name_size;
    if (n < tcpshm_padded_size(lsize) || !whole_rsp)
        return;
    tcpshm_msg_header h;
    tcpshm_header_decode(b, cfg->little_endian, &h);
    const uint8_t *body = b + TCPSHM_HEADER_SIZE, *names = body + 8 + cfg->login_user_data_size + 1;
    if (h.msg_type != TCPSHM_MSG_LOGIN || h.size != lsize || names[-1] > 1)
        return;
    bool client_open = memchr(names, 0, N) == NULL, last_open = memchr(names + N, 0, N) == NULL;
    if (client_open || last_open) {
        FZ_CHECK(rsp != NULL, "an unterminated name got no response");
        /* an unterminated or empty client name is the client name's fault,
         * else the unterminated last server name's */
        bool client_bad = client_open || names[0] == 0;
        FZ_CHECK(rsp->status == TCPSHM_LOGIN_ERROR &&
                     strcmp(rsp->error_msg, client_bad ? "Invalid client name" : "Invalid last server name") == 0,
                 "an unterminated name got status %u \"%s\"", rsp->status, rsp->error_msg);
        return;
    }
    bool le = cfg->little_endian;
    uint32_t start = 0, end = 0;
    for (int i = 0; i < 4; i++) {
        start |= (uint32_t)body[i] << (le ? 8 * i : 8 * (3 - i));
        end |= (uint32_t)body[4 + i] << (le ? 8 * i : 8 * (3 - i));
    }
    if (rsp && strcmp((const char *)names + N, "server") == 0 && (int32_t)(end - start) < 0)
        FZ_CHECK(rsp->status != TCPSHM_LOGIN_OK, "a reversed range [%u, %u] got status 0", start, end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in;
    fz_in_init(&in, data, size);
    uint8_t sel = fz_u8(&in);
    size_t n;
    const uint8_t *b = fz_bytes(&in, 2048, &n);

    T *t = calloc(1, sizeof *t);
    FZ_CHECK(t != NULL, "oom");
    size_t chunk;
    uint32_t capacity;
    t->v = fz_login_bed(sel, &t->cfg, &chunk, &capacity);
    t->env = venv_env(t->v);
    tcpshm_error err;
    tcpshm_server_callbacks scb = {.user = t, .on_system_error = on_syserr, .on_new_connection = on_new,
                                   .on_client_file_error = on_file, .on_login_rejected = on_rejected,
                                   .on_seq_mismatch = on_mismatch, .on_logon = on_logon,
                                   .on_disconnect = on_disc, .on_msg = on_msg};
    venv_set_owner(t->v, OWN_SERVER);
    FZ_CHECK(tcpshm_server_create(&t->srv, &t->cfg, t->env, "server", "srv", &scb, &err) == 0, "%s", err.text);
    FZ_CHECK(tcpshm_server_start(t->srv, "127.0.0.1", PORT, &err) == 0, "%s", err.text);
    t->good = good_login(t, OWN_GOOD, "good", "cg");
    good_exchange(t, t->good, OWN_GOOD);
    tcpshm_conn *gsc = tcpshm_server_find_conn(t->srv, "good");
    uint32_t g_end = tcpshm_conn_seq_end(gsc), g_ack = tcpshm_conn_my_ack(gsc);
    int from = t->nev;

    /* what must happen, from the state before the connection */
    fz_srv_model model = {&t->cfg, "server", t, name_busy, decide, queue_state};
    fz_srv_expect ex;
    fz_expect_server(&model, b, n, &ex);

    /* the hostile connection */
    venv_set_owner(t->v, OWN_HOSTILE);
    int fd = t->env->connect(t->v, "127.0.0.1", PORT);
    FZ_CHECK(fd >= 0 && t->env->connect_result(t->v, fd) == 0, "hostile connect");
    size_t sent = 0, rlen = 0;
    uint8_t rsp[4096];
    bool open = true;
    for (int stall = 0; sent < n && stall < 8;) {
        size_t want = chunk && chunk < n - sent ? chunk : n - sent;
        venv_set_owner(t->v, OWN_HOSTILE);
        ssize_t k = t->env->send(t->v, fd, b + sent, want);
        if (k > 0) {
            sent += (size_t)k;
            stall = 0;
        } else if (errno == EAGAIN) {
            stall++;
        } else {
            break; /* the server closed it */
        }
        poll_round(t, 0);
        open = drain(t, fd, rsp, &rlen, sizeof rsp) && open;
    }
    for (int i = 0; i < 4; i++) {
        poll_round(t, 0);
        open = drain(t, fd, rsp, &rlen, sizeof rsp) && open;
    }

    FZ_CHECK(sent == n || !open, "the server stopped reading an open connection (%zu of %zu bytes)",
             sent, n);
    if (ex.decoded && !ex.unterminated && (sel & 3u) < 2u)
        check_layout(&t->cfg, b, &ex.login);
    const char *hname = ex.decoded ? ex.login.client_name : "";
    uint32_t rsp_pad = tcpshm_padded_size(tcpshm_login_rsp_size(&t->cfg));
    bool whole_rsp = capacity >= rsp_pad;
    tcpshm_login_rsp r;
    memset(&r, 0, sizeof r);
    bool got_rsp = rlen >= rsp_pad && tcpshm_login_rsp_decode(&t->cfg, rsp, rsp_pad, &r, &err) == 0;

    check_wire_rules(&t->cfg, b, n, whole_rsp, got_rsp ? &r : NULL);

    switch (ex.outcome) {
    case FZ_SRV_PENDING:
        FZ_CHECK(t->nev == from && open && rlen == 0, "a pending login saw %d events (%s), %zu bytes",
                 t->nev - from, t->nev > from ? t->ev[from].reason : "", rlen);
        break;
    case FZ_SRV_REJECTED: {
        const event *e = find(t, from, EV_REJECT);
        FZ_CHECK(e && count(t, from, EV_REJECT, NULL) == 1, "expected the reject \"%s\"", ex.reason);
        FZ_CHECK(strcmp(e->reason, ex.reason) == 0, "reject reason \"%s\", expected \"%s\"", e->reason,
                 ex.reason);
        FZ_CHECK(strcmp(e->name, ex.response ? hname : "") == 0, "reject names \"%s\"", e->name);
        FZ_CHECK(!open, "a rejected connection stays open");
        FZ_CHECK(count(t, from, EV_LOGON, NULL) == 0, "a rejected login logged on");
        if (!ex.response) {
            FZ_CHECK(rlen == 0, "%zu bytes sent to a connection dropped without a response", rlen);
        } else if (whole_rsp) {
            char cut[TCPSHM_ERROR_MSG_SIZE];
            memcpy(cut, ex.reason, sizeof cut - 1); /* the field holds 31 characters */
            cut[sizeof cut - 1] = '\0';
            FZ_CHECK(got_rsp && rlen == rsp_pad && r.status == TCPSHM_LOGIN_ERROR &&
                         strcmp(r.error_msg, cut) == 0 && strcmp(r.server_name, "server") == 0,
                     "the refusing response is wrong (%zu bytes, status %u, \"%s\")", rlen, r.status,
                     r.error_msg);
        }
        FZ_CHECK((count(t, from, EV_SYSERR, NULL) == 1) == (ex.decoded && ex.login.user_data[0] == 0xEF &&
                                                            strcmp(ex.reason, "Login Reject") == 0),
                 "system errors");
        break;
    }
    case FZ_SRV_MISMATCH:
        FZ_CHECK(count(t, from, EV_MISMATCH, hname) == 1 && count(t, from, EV_LOGON, NULL) == 0,
                 "expected a sequence mismatch for %s", hname);
        FZ_CHECK(!open, "a refused connection stays open");
        if (whole_rsp)
            FZ_CHECK(got_rsp && r.status == TCPSHM_LOGIN_SEQ_MISMATCH, "status-1 response");
        break;
    case FZ_SRV_LOGGED_IN:
        FZ_CHECK(count(t, from, EV_LOGON, hname) == 1, "%s did not log on", hname);
        if (whole_rsp)
            FZ_CHECK(got_rsp && r.status == TCPSHM_LOGIN_OK && r.user_data[0] == 0x5a &&
                         strcmp(r.server_name, "server") == 0,
                     "the OK response is wrong");
        FZ_CHECK(count(t, from, EV_MSG, hname) == (int)ex.msgs, "%d messages delivered, expected %u",
                 count(t, from, EV_MSG, hname), ex.msgs);
        if (ex.after == FZ_AFTER_DISCONNECT) {
            const event *e = find(t, from, EV_DISCONNECT);
            FZ_CHECK(e && strcmp(e->name, hname) == 0 &&
                         strncmp(e->reason, ex.disc_reason, strlen(ex.disc_reason)) == 0,
                     "expected a disconnect \"%s\", got \"%s\"", ex.disc_reason, e ? e->reason : "none");
            FZ_CHECK(!open, "a broken connection stays open");
        } else {
            FZ_CHECK(count(t, from, EV_DISCONNECT, NULL) == 0 && open, "the connection closed: %s",
                     find(t, from, EV_DISCONNECT) ? find(t, from, EV_DISCONNECT)->reason : "");
            FZ_CHECK(tcpshm_conn_is_connected(tcpshm_server_find_conn(t->srv, hname)), "not connected");
        }
        break;
    }
    FZ_CHECK(count(t, from, EV_FILEERR, NULL) == 0, "file errors");

    /* the end of the hostile connection */
    int mark = t->nev;
    bool timeout_end = (sel & 16u) != 0;
    if (timeout_end) {
        poll_round(t, t->cfg.new_conn_timeout + 1);
        poll_round(t, 1);
    }
    venv_set_owner(t->v, OWN_HOSTILE);
    t->env->sock_close(t->v, fd);
    poll_round(t, 1);
    poll_round(t, 1);
    if (ex.outcome == FZ_SRV_PENDING) {
        const event *e = find(t, mark, EV_REJECT);
        const char *want = timeout_end ? "Timeout before login" : "Remote close before login";
        FZ_CHECK(e && strcmp(e->reason, want) == 0, "a pending login ended with \"%s\", expected \"%s\"",
                 e ? e->reason : "nothing", want);
    } else if (ex.outcome == FZ_SRV_LOGGED_IN && ex.after == FZ_AFTER_UP) {
        const event *e = find(t, mark, EV_DISCONNECT);
        /* seen on the next read, or first on the next send (response bytes left) */
        FZ_CHECK(e && (strcmp(e->reason, "Remote close") == 0 || strcmp(e->reason, "Send error") == 0),
                 "close ended with \"%s\"", e ? e->reason : "nothing");
    }

    /* good is untouched and still talks; another client still logs in */
    FZ_CHECK(tcpshm_client_get_state(t->good) == TCPSHM_CLIENT_LOGGED_IN &&
                 tcpshm_conn_is_connected(gsc),
             "good lost its connection");
    FZ_CHECK(tcpshm_conn_seq_end(gsc) == g_end && tcpshm_conn_my_ack(gsc) == g_ack, "good's state moved");
    good_exchange(t, t->good, OWN_GOOD);
    t->good2 = good_login(t, OWN_GOOD2, name_busy(t, "good2") ? "good3" : "good2", "cg2");
    good_exchange(t, t->good2, OWN_GOOD2);
    FZ_CHECK(t->good_msgs == 0, "the good clients got messages nobody sent");

    venv_set_owner(t->v, OWN_GOOD2);
    tcpshm_client_destroy(t->good2);
    venv_set_owner(t->v, OWN_GOOD);
    tcpshm_client_destroy(t->good);
    venv_set_owner(t->v, OWN_SERVER);
    tcpshm_server_destroy(t->srv);
    for (uint32_t o = 1; o <= OWN_PEEK; o++)
        FZ_CHECK(venv_handle_count(t->v, o) == 0 && venv_mapping_count(t->v, o) == 0,
                 "owner %u leaked %u handles, %u mappings", o, venv_handle_count(t->v, o),
                 venv_mapping_count(t->v, o));
    venv_destroy(t->v);
    free(t);
    return 0;
}
