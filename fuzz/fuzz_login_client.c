/* fuzz_login_client: a client on the in-memory env logs in to a fake server
 * that answers with the input.
 *
 * Input: [sel][bytes ...]
 *   sel bits 0-1  configuration (fz_config)
 *       bits 2-3  delivery: all at once, or 1, 7, 13 bytes per poll round
 *       bit  4    history: first a real session with the server "server"
 *                 (messages both ways, some unacknowledged), so the client
 *                 comes with a last server name and non-trivial sequence ranges
 *       bits 5-6  stream capacity per direction: 4096, 64, 17, 1000 bytes
 *
 * Checks: the client's reaction equals a model of docs/protocol.md's response
 * handling: waiting (then "Timeout waiting for the login response" once the
 * new-connection timeout passes), a system error (bad frame, oversized,
 * malformed response, unsafe server name), a rejection (status 2), a
 * sequence mismatch (status 1, or an OK whose ranges disagree with the
 * client's, wrap-aware) or a login; the bytes after an accepted response are
 * frames (a bad frame, oversized one, or an ack beyond anything queued
 * closes with its reason). Reasons are documented ones. The recorded last
 * server changes only on a login, to the response's name; every file the
 * client made is in its directory, named after valid names. Afterwards the
 * client logs in to the real server (or, if the fake passed itself off as
 * "server" with forged numbers, at worst gets a sequence mismatch; without
 * the history the real server has no queue file of the pair, so a client
 * that goes on with "server" must get the mismatch), and nothing leaks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "tcpshm/client.h"
#include "tcpshm/names.h"
#include "tcpshm/server.h"
#include "venv.h"

enum { OWN_SERVER = 1, OWN_CLIENT = 2, OWN_FAKE = 3, OWN_SERVER2 = 4 };
#define PORT 7000
#define FAKE_PORT 7001

enum ev_kind { EV_SYSERR, EV_REJECT, EV_MISMATCH, EV_LOGIN, EV_DISCONNECT, EV_MSG };

typedef struct T {
    venv *v;
    const tcpshm_env *env;
    tcpshm_config cfg;
    tcpshm_server *srv;
    uint32_t srv_owner;
    tcpshm_client *cl;
    int64_t now;
    int n[6];
    char last_reason[300];
    tcpshm_login_rsp last_rsp;
} T;

/* ---- the client's callbacks ---- */

static void c_syserr(void *u, const char *reason, int e)
{
    T *t = u;
    (void)e;
    FZ_CHECK(fz_client_error_reason_ok(reason), "undocumented client error \"%s\"", reason);
    t->n[EV_SYSERR]++;
    snprintf(t->last_reason, sizeof t->last_reason, "%s", reason);
}
static void c_reject(void *u, const tcpshm_login_rsp *r)
{
    T *t = u;
    t->n[EV_REJECT]++;
    t->last_rsp = *r;
}
static void c_mismatch(void *u, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    (void)c, (void)m;
    ((T *)u)->n[EV_MISMATCH]++;
}
static void c_login(void *u, tcpshm_conn *c, const tcpshm_login_rsp *r)
{
    T *t = u;
    (void)c;
    t->n[EV_LOGIN]++;
    t->last_rsp = *r;
}
static void c_disc(void *u, tcpshm_conn *c, const char *reason, int e)
{
    T *t = u;
    (void)c, (void)e;
    FZ_CHECK(fz_disconnect_reason_ok(reason), "undocumented disconnect reason \"%s\"", reason);
    t->n[EV_DISCONNECT]++;
    snprintf(t->last_reason, sizeof t->last_reason, "%s", reason);
}
static void c_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)m;
    ((T *)u)->n[EV_MSG]++;
    tcpshm_conn_pop(c);
}

/* ---- the real server: pops everything ---- */

static void s_msg(void *u, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)u, (void)m;
    tcpshm_conn_pop(c);
}

static void start_server(T *t, uint32_t owner)
{
    tcpshm_server_callbacks scb = {.user = t, .on_msg = s_msg};
    tcpshm_error err;
    t->srv_owner = owner;
    venv_set_owner(t->v, owner);
    FZ_CHECK(tcpshm_server_create(&t->srv, &t->cfg, t->env, "server", "srv", &scb, &err) == 0, "%s", err.text);
    FZ_CHECK(tcpshm_server_start(t->srv, "127.0.0.1", PORT, &err) == 0, "%s", err.text);
}

static void stop_server(T *t)
{
    venv_set_owner(t->v, t->srv_owner);
    tcpshm_server_destroy(t->srv);
    t->srv = NULL;
}

static void poll_round(T *t, int64_t step)
{
    t->now += step;
    if (t->srv) {
        venv_set_owner(t->v, t->srv_owner);
        tcpshm_server_poll_ctl(t->srv, t->now);
        tcpshm_server_poll_tcp(t->srv, t->now, 0);
    }
    venv_set_owner(t->v, OWN_CLIENT);
    tcpshm_client_poll_tcp(t->cl, t->now);
}

static bool push(T *t, tcpshm_conn *c, uint32_t owner)
{
    venv_set_owner(t->v, owner);
    tcpshm_msg_header *m = tcpshm_conn_alloc(c, 12);
    if (!m)
        return false;
    m->msg_type = 9;
    memset(m + 1, 0x33, 12);
    return tcpshm_conn_push(c) == 0;
}

/* A real session: 3 messages each way, the client's last one unacknowledged. */
static void history(T *t)
{
    start_server(t, OWN_SERVER);
    tcpshm_error err;
    venv_set_owner(t->v, OWN_CLIENT);
    FZ_CHECK(tcpshm_client_login(t->cl, "127.0.0.1", PORT, false, NULL, t->now, &err) == 0, "%s", err.text);
    for (int i = 0; i < 20 && tcpshm_client_get_state(t->cl) != TCPSHM_CLIENT_LOGGED_IN; i++)
        poll_round(t, 1);
    FZ_CHECK(tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_LOGGED_IN, "history login");
    tcpshm_conn *cc = tcpshm_client_conn(t->cl), *sc = tcpshm_server_find_conn(t->srv, "client");
    for (int i = 0; i < 3; i++) {
        FZ_CHECK(push(t, sc, OWN_SERVER), "server push");
        FZ_CHECK(push(t, cc, OWN_CLIENT), "client push");
        poll_round(t, 1);
        poll_round(t, 1);
    }
    FZ_CHECK(push(t, cc, OWN_CLIENT), "client push");
    stop_server(t); /* the last message is never acknowledged */
    for (int i = 0; i < 3 && tcpshm_client_get_state(t->cl) != TCPSHM_CLIENT_IDLE; i++)
        poll_round(t, 1);
    FZ_CHECK(tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_IDLE, "history end");
    memset(t->n, 0, sizeof t->n);
}

/* ---- the model ---- */

enum { M_WAIT, M_SYSERR, M_REJECT, M_MISMATCH, M_LOGIN };

typedef struct mexpect {
    int outcome;
    const char *reason;  /* M_SYSERR: required prefix (NULL: any documented) */
    tcpshm_login_rsp rsp; /* once decoded */
    bool forged;          /* accepted a response that says it is "server" */
    bool new_name;        /* an OK from a new server name: the client switches to it (resets
                           * and records the name) before it checks the numbers */
    int after;            /* M_LOGIN: 0 up, 1 must close (reason prefix in after_reason), 2 unknown */
    const char *after_reason;
} mexpect;

static void model(const T *t, const uint8_t *b, size_t n, const char *last, uint32_t s0, uint32_t s1,
                  uint32_t ack, mexpect *ex)
{
    const tcpshm_config *cfg = &t->cfg;
    memset(ex, 0, sizeof *ex);
    if (n < 8) {
        ex->outcome = M_WAIT;
        return;
    }
    tcpshm_msg_header h;
    tcpshm_header_decode(b, cfg->little_endian, &h);
    uint32_t padded = tcpshm_padded_size(h.size);
    ex->outcome = M_SYSERR;
    if (h.size < 8) {
        ex->reason = "Bad frame";
        return;
    }
    if (padded > cfg->max_msg_size) {
        ex->reason = "Msg size larger than recv buf max size";
        return;
    }
    if (n < padded) {
        ex->outcome = M_WAIT;
        return;
    }
    tcpshm_error err;
    if (tcpshm_login_rsp_decode(cfg, b, padded, &ex->rsp, &err) != 0) {
        ex->reason = "login response: ";
        return;
    }
    const tcpshm_login_rsp *r = &ex->rsp;
    if (r->status == TCPSHM_LOGIN_ERROR) {
        ex->outcome = M_REJECT;
        return;
    }
    if (r->status == TCPSHM_LOGIN_SEQ_MISMATCH) {
        ex->outcome = M_MISMATCH;
        return;
    }
    if (strcmp(r->server_name, last) != 0) {
        if (tcpshm_name_check(r->server_name, cfg->name_size, NULL, NULL) != 0) {
            ex->reason = "server name ";
            return;
        }
        s0 = s1 = ack = 0; /* a new server: the client starts a new connection */
        ex->new_name = true;
    }
    /* a response in the real server's name, recorded by the client even when
     * its numbers then disagree (new_name): the real server, which has no
     * queue file of this pair unless the history made one, may answer the
     * next login with a mismatch (docs/protocol.md step 6) */
    ex->forged = strcmp(r->server_name, "server") == 0;
    if (!fz_in_range(r->ack_seq, s0, s1) || !fz_in_range(ack, r->server_seq_start, r->server_seq_end)) {
        ex->outcome = M_MISMATCH;
        return;
    }
    ex->outcome = M_LOGIN;
    /* frames after the response; the queue holds [r->ack_seq, s1), some of
     * it resent by now: an ack not newer than the last acknowledged is
     * ignored, a newer one beyond s1 is bad, one in between depends on what
     * was sent */
    uint32_t read = r->ack_seq;
    size_t pos = padded;
    while (n - pos >= 8) {
        tcpshm_header_decode(b + pos, cfg->little_endian, &h);
        if (h.size < 8) {
            ex->after = 1;
            ex->after_reason = "Bad frame";
            return;
        }
        padded = tcpshm_padded_size(h.size);
        if (padded > cfg->max_msg_size) {
            ex->after = 1;
            ex->after_reason = "Msg size larger than recv buf max size";
            return;
        }
        if (n - pos < padded)
            return;
        /* as the queue judges it: first "not newer than acknowledged" (ignored;
         * a distance of exactly 2^31 counts as not newer), then "beyond" */
        if ((int32_t)(h.ack_seq - read) > 0) {
            if ((int32_t)(h.ack_seq - s1) > 0) {
                ex->after = 1;
                ex->after_reason = "Bad ack";
            } else {
                ex->after = 2; /* depends on how much was resent by then */
            }
            return;
        }
        pos += padded;
    }
}

/* ---- files ---- */

typedef struct file_check {
    const T *t;
    char bad[300];
} file_check;

static void check_file(void *u, const char *path, bool is_dir, size_t size)
{
    file_check *fc = u;
    (void)size;
    if (fc->bad[0] || is_dir || strncmp(path, "srv/", 4) == 0)
        return;
    const char *name = path + 4;
    char peer[80];
    size_t len = strlen(name);
    if (strncmp(path, "cli/", 4) != 0) {
        snprintf(fc->bad, sizeof fc->bad, "file outside the client's directory: %s", path);
    } else if (strcmp(name, "client.lastserver") == 0 || strcmp(name, "client.lock") == 0) {
        return; /* its record and its lock (made at create, empty in venv) */
    } else if (strncmp(name, "client_", 7) == 0 && len > 12 && len - 12 < sizeof peer &&
               strcmp(name + len - 5, ".ptcp") == 0) {
        memcpy(peer, name + 7, len - 12);
        peer[len - 12] = '\0';
        if (tcpshm_name_check(peer, fc->t->cfg.name_size, NULL, NULL) != 0)
            snprintf(fc->bad, sizeof fc->bad, "queue file for an invalid name: %s", path);
    } else {
        snprintf(fc->bad, sizeof fc->bad, "unexpected file %s", path);
    }
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
    tcpshm_client_callbacks ccb = {.user = t, .on_system_error = c_syserr, .on_login_reject = c_reject,
                                   .on_seq_mismatch = c_mismatch, .on_login_success = c_login,
                                   .on_disconnect = c_disc, .on_msg = c_msg};
    tcpshm_error err;
    venv_set_owner(t->v, OWN_CLIENT);
    FZ_CHECK(tcpshm_client_create(&t->cl, &t->cfg, t->env, "client", "cli", &ccb, &err) == 0, "%s", err.text);
    if (sel & 16u)
        history(t);

    /* what the client has now */
    char last[72];
    snprintf(last, sizeof last, "%s", tcpshm_client_last_server(t->cl));
    uint32_t s0 = 0, s1 = 0, ack = 0;
    if (last[0])
        FZ_CHECK(fz_peek_queue(t->v, 9, "cli", "client", last, &t->cfg, &s0, &s1, &ack), "no queue");
    mexpect ex;
    model(t, b, n, last, s0, s1, ack, &ex);

    /* the fake server */
    venv_set_owner(t->v, OWN_FAKE);
    int lfd = t->env->listen(t->v, "127.0.0.1", FAKE_PORT, 4);
    FZ_CHECK(lfd >= 0, "fake listen");
    venv_set_owner(t->v, OWN_CLIENT);
    FZ_CHECK(tcpshm_client_login(t->cl, "127.0.0.1", FAKE_PORT, false, NULL, t->now, &err) == 0, "%s",
             err.text);
    poll_round(t, 0);
    venv_set_owner(t->v, OWN_FAKE);
    int fd = t->env->accept(t->v, lfd);
    FZ_CHECK(fd >= 0, "the client did not connect");
    /* read the login: a well-formed one from this client */
    uint32_t lpad = tcpshm_padded_size(tcpshm_login_size(&t->cfg));
    uint8_t lb[512];
    size_t got = 0;
    for (int i = 0; i < 64 && got < lpad; i++) {
        venv_set_owner(t->v, OWN_FAKE);
        ssize_t k = t->env->recv(t->v, fd, lb + got, lpad - got);
        if (k > 0)
            got += (size_t)k;
        else
            poll_round(t, 0);
    }
    tcpshm_login lg;
    FZ_CHECK(got == lpad && tcpshm_login_decode(&t->cfg, lb, lpad, &lg, &err) == 0, "the client's login: %s",
             err.text);
    FZ_CHECK(strcmp(lg.client_name, "client") == 0 && strcmp(lg.last_server_name, last) == 0 &&
                 lg.ack_seq == ack && lg.client_seq_start == s0 && lg.client_seq_end == s1,
             "the login does not say what the client has");

    /* the answer */
    size_t sent = 0;
    for (int stall = 0; sent < n && stall < 8;) {
        size_t want = chunk && chunk < n - sent ? chunk : n - sent;
        venv_set_owner(t->v, OWN_FAKE);
        ssize_t k = t->env->send(t->v, fd, b + sent, want);
        if (k > 0) {
            sent += (size_t)k;
            stall = 0;
        } else if (errno == EAGAIN) {
            stall++;
        } else {
            break;
        }
        poll_round(t, 0);
        /* the fake reads what the client sends (resent messages, heartbeats) */
        uint8_t junk[512];
        venv_set_owner(t->v, OWN_FAKE);
        while (t->env->recv(t->v, fd, junk, sizeof junk) > 0) {
        }
    }
    for (int i = 0; i < 4; i++)
        poll_round(t, 0);
    tcpshm_client_state st = tcpshm_client_get_state(t->cl);
    int calls = t->n[EV_SYSERR] + t->n[EV_REJECT] + t->n[EV_MISMATCH] + t->n[EV_LOGIN];
    FZ_CHECK(calls <= 1, "%d outcomes of one login", calls);
    FZ_CHECK(st == TCPSHM_CLIENT_IDLE || sent == n, "the client stopped reading (%zu of %zu)", sent, n);

    switch (ex.outcome) {
    case M_WAIT:
        FZ_CHECK(calls == 0 && st == TCPSHM_CLIENT_LOGGING_IN, "waiting: state %d, %d outcomes (%s)", st,
                 calls, t->last_reason);
        poll_round(t, t->cfg.new_conn_timeout + 1);
        FZ_CHECK(t->n[EV_SYSERR] == 1 && strcmp(t->last_reason, "Timeout waiting for the login response") == 0,
                 "after the timeout: \"%s\"", t->last_reason);
        break;
    case M_SYSERR:
        FZ_CHECK(t->n[EV_SYSERR] == 1 && st == TCPSHM_CLIENT_IDLE, "expected a system error \"%s\"",
                 ex.reason);
        FZ_CHECK(strncmp(t->last_reason, ex.reason, strlen(ex.reason)) == 0, "reason \"%s\", expected \"%s\"",
                 t->last_reason, ex.reason);
        break;
    case M_REJECT:
        FZ_CHECK(t->n[EV_REJECT] == 1 && st == TCPSHM_CLIENT_IDLE, "expected a rejection");
        FZ_CHECK(strcmp(t->last_rsp.error_msg, ex.rsp.error_msg) == 0, "rejection text");
        break;
    case M_MISMATCH:
        FZ_CHECK(t->n[EV_MISMATCH] == 1 && st == TCPSHM_CLIENT_IDLE, "expected a mismatch (state %d, %s)", st,
                 t->last_reason);
        break;
    case M_LOGIN:
        FZ_CHECK(t->n[EV_LOGIN] == 1, "expected a login (%s)", t->last_reason);
        FZ_CHECK(strcmp(tcpshm_client_last_server(t->cl), ex.rsp.server_name) == 0, "last server not recorded");
        if (ex.after == 0)
            FZ_CHECK(st == TCPSHM_CLIENT_LOGGED_IN && t->n[EV_DISCONNECT] == 0, "closed: %s", t->last_reason);
        if (ex.after == 1)
            FZ_CHECK(st == TCPSHM_CLIENT_IDLE && t->n[EV_DISCONNECT] == 1 &&
                         strncmp(t->last_reason, ex.after_reason, strlen(ex.after_reason)) == 0,
                     "expected a disconnect \"%s\", got \"%s\"", ex.after_reason, t->last_reason);
        break;
    }
    /* the recorded name changes only to the name of an OK response */
    const char *want_last = ex.new_name ? ex.rsp.server_name : last;
    FZ_CHECK(strcmp(tcpshm_client_last_server(t->cl), want_last) == 0, "the last server is \"%s\", expected \"%s\"",
             tcpshm_client_last_server(t->cl), want_last);
    file_check fc = {t, ""};
    venv_list(t->v, check_file, &fc);
    FZ_CHECK(fc.bad[0] == '\0', "%s", fc.bad);

    /* the fake goes away; the client logs in to the real server */
    venv_set_owner(t->v, OWN_FAKE);
    t->env->sock_close(t->v, fd);
    t->env->sock_close(t->v, lfd);
    for (int i = 0; i < 3; i++)
        poll_round(t, 1);
    FZ_CHECK(tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_IDLE, "still not idle");
    memset(t->n, 0, sizeof t->n);
    start_server(t, OWN_SERVER2);
    venv_set_owner(t->v, OWN_CLIENT);
    FZ_CHECK(tcpshm_client_login(t->cl, "127.0.0.1", PORT, false, NULL, t->now, &err) == 0, "%s", err.text);
    for (int i = 0; i < 20 && tcpshm_client_get_state(t->cl) != TCPSHM_CLIENT_LOGGED_IN &&
                    t->n[EV_MISMATCH] == 0;
         i++)
        poll_round(t, 1);
    /* the server sends a refusing response once, best effort: through a
     * stream narrower than the response the client sees the close first */
    bool narrow = capacity < tcpshm_padded_size(tcpshm_login_rsp_size(&t->cfg));
    bool in_servers_name = (ex.outcome == M_LOGIN || ex.new_name) && ex.forged;
    bool logged_in = tcpshm_client_get_state(t->cl) == TCPSHM_CLIENT_LOGGED_IN;
    bool refused = t->n[EV_MISMATCH] == 1 || (narrow && t->n[EV_SYSERR] == 1 && strcmp(t->last_reason, "Remote close") == 0);
    if (in_servers_name && !(sel & 16u)) /* no history: the real server has no queue file of the pair, and a
                                            * login that goes on with it is a mismatch (protocol.md step 6) */
        FZ_CHECK(refused && !logged_in, "the client goes on with \"server\", which has no queue file of the pair: "
                 "expected a mismatch (%s)", t->last_reason);
    else if (in_servers_name)
        FZ_CHECK(logged_in || refused, "after a forged login: neither logged in nor a mismatch (%s)",
                 t->last_reason);
    else
        FZ_CHECK(logged_in, "the client cannot log in to the real server any more (%s)", t->last_reason);

    venv_set_owner(t->v, OWN_CLIENT);
    tcpshm_client_destroy(t->cl);
    stop_server(t);
    for (uint32_t o = 1; o <= 9; o++)
        FZ_CHECK(venv_handle_count(t->v, o) == 0 && venv_mapping_count(t->v, o) == 0,
                 "owner %u leaked %u handles, %u mappings", o, venv_handle_count(t->v, o),
                 venv_mapping_count(t->v, o));
    venv_destroy(t->v);
    free(t);
    return 0;
}
