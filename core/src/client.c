/* The client: a login state machine (connect, send the login, read the
 * response) driven by poll_tcp, then the connection itself (TCP, or SHM
 * with poll_shm delivering, possibly from another thread; conn.c's live
 * flag keeps a login from swapping segments poll_shm is reading). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "conn_internal.h"
#include "crash.h"
#include "dir_check.h"
#include "env_check.h"
#include "error_set.h"
#include "io.h"
#include "lastserver.h"
#include "name_lock.h"
#include "tcpshm/client.h"
#include "tcpshm/login.h"
#include "tcpshm/ptcp_queue.h"

struct tcpshm_client {
    tcpshm_config cfg;
    const tcpshm_env *env;
    tcpshm_client_callbacks cb;
    char name[TCPSHM_NAME_MAX + 1];
    char dir[TCPSHM_PATH_SIZE];
    char last_server[TCPSHM_NAME_MAX + 1]; /* as persisted */
    int lock_fd; /* <dir>/<name>.lock, held from create to destroy */
    tcpshm_client_state state;
    int64_t attempt_start;
    tcpshm_conn conn;
    uint8_t *rx_buf;
};

int tcpshm_client_create(tcpshm_client **out, const tcpshm_config *cfg, const tcpshm_env *env,
                         const char *client_name, const char *dir,
                         const tcpshm_client_callbacks *cb, tcpshm_error *err)
{
    *out = NULL;
    int rc = tcpshm_env_check(env ? env : tcpshm_env_posix(), err);
    if (!rc)
        rc = tcpshm_config_check(cfg, err);
    if (!rc)
        rc = tcpshm_env_check_durable(env ? env : tcpshm_env_posix(),
                                      cfg->durability == TCPSHM_DURABILITY_HOST, err);
    if (!rc)
        rc = tcpshm_name_check(client_name, cfg->name_size, "client name", err);
    if (rc)
        return rc;
    rc = tcpshm_dir_check(dir, client_name, cfg->name_size, err);
    if (rc)
        return rc;
    if (!env)
        env = tcpshm_env_posix();
    /* First: a second process of this name and directory stops here,
     * before it reads or writes any of the name's state. */
    int lock_fd;
    rc = tcpshm_name_lock(env, dir, client_name, cfg->file_mode, &lock_fd, err);
    if (rc)
        return rc;
    tcpshm_client *cl = tcpshm_mem_alloc(sizeof *cl);
    uint8_t *rx = tcpshm_mem_alloc_unzeroed(cfg->recv_buf_size);
    if (!cl || !rx) {
        tcpshm_mem_free(cl);
        tcpshm_mem_free(rx);
        tcpshm_name_unlock(env, lock_fd);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, ENOMEM, "out of memory for the client");
    }
    cl->cfg = *cfg;
    cl->env = env;
    cl->lock_fd = lock_fd;
    if (cb)
        cl->cb = *cb;
    memcpy(cl->name, client_name, strlen(client_name) + 1);
    memcpy(cl->dir, dir, strlen(dir) + 1);
    cl->rx_buf = rx;
    tcpshm_conn_init(&cl->conn, &cl->cfg, cl->env, TCPSHM_CONN_CLIENT, cl->name, rx);
    *out = cl;
    return 0;
}

void tcpshm_client_destroy(tcpshm_client *cl)
{
    if (!cl)
        return;
    tcpshm_conn_fail(&cl->conn, "Client stopped", 0);
    tcpshm_conn_close_state(&cl->conn);
    tcpshm_name_unlock(cl->env, cl->lock_fd); /* last: the state is closed */
    tcpshm_mem_free(cl->rx_buf);
    tcpshm_mem_free(cl);
}

tcpshm_client_state tcpshm_client_get_state(const tcpshm_client *cl) { return cl->state; }
tcpshm_conn *tcpshm_client_conn(tcpshm_client *cl) { return tcpshm_conn_has_state(&cl->conn) ? &cl->conn : NULL; }

/* Opens the pair's persistent state for the transport of this login. */
static int open_state(tcpshm_client *cl, const char *server, tcpshm_error *err)
{
    return tcpshm_conn_open_state(&cl->conn, cl->dir, server, err);
}
const char *tcpshm_client_last_server(const tcpshm_client *cl) { return cl->last_server; }

/* Whether the TCP queue file of the pair with server is there (an error
 * other than ENOENT counts as there: opening it reports it). A plain env
 * call, not a failure point: a look, nothing is changed. */
static bool pair_file_exists(tcpshm_client *cl, const char *server)
{
    char path[TCPSHM_PATH_SIZE];
    if (tcpshm_ptcp_queue_path(path, sizeof path, cl->dir, cl->name, server) != 0)
        return true;
    int fd = cl->env->file_open(cl->env->ctx, path, 0, 0);
    if (fd < 0)
        return errno != ENOENT;
    (void)cl->env->file_close(cl->env->ctx, fd);
    return true;
}

/* A login attempt ends without a logged-in connection. */
static void attempt_failed(tcpshm_client *cl, const char *reason, int sys_errno)
{
    tcpshm_conn_fail(&cl->conn, reason, sys_errno);
    cl->state = TCPSHM_CLIENT_IDLE;
    if (cl->cb.on_system_error)
        cl->cb.on_system_error(cl->cb.user, reason, sys_errno);
}

int tcpshm_client_login(tcpshm_client *cl, const char *addr, uint16_t port, bool use_shm,
                        const uint8_t *login_user_data, int64_t now, tcpshm_error *err)
{
    if (cl->state != TCPSHM_CLIENT_IDLE)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "a login is already under way or done");
    if (use_shm && cl->cfg.durability == TCPSHM_DURABILITY_HOST)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0,
                           "durability \"host\" cannot use shared memory: its segments are RAM "
                           "and a power cut loses them; log in over TCP");
    int rc = tcpshm_lastserver_read(cl->env, cl->dir, cl->name, cl->last_server, err);
    if (rc)
        return rc;
    /* host durability: a record that an earlier process renamed into place
     * and died before syncing is synced before a login names it */
    if (cl->last_server[0] && cl->cfg.durability == TCPSHM_DURABILITY_HOST) {
        rc = tcpshm_lastserver_sync(cl->env, cl->dir, cl->name, err);
        if (rc)
            return rc;
    }
    rc = tcpshm_conn_set_transport(&cl->conn, use_shm, err);
    if (rc)
        return rc;
    /* the record names a server but the pair's queue file is gone: its
     * state was lost (storage went back; a power cut in process durability).
     * The login then names no server, so the server starts the pair anew (a
     * new connection both applications see), never resuming from an empty
     * queue as if nothing had been pushed or popped */
    if (cl->last_server[0] && !use_shm && !tcpshm_conn_has_state(&cl->conn) &&
        !pair_file_exists(cl, cl->last_server))
        cl->last_server[0] = '\0';
    if (cl->last_server[0]) {
        rc = open_state(cl, cl->last_server, err);
        if (rc)
            return rc;
    }
    tcpshm_conn_shm_before_login(&cl->conn);
    tcpshm_login lg;
    memset(&lg, 0, sizeof lg);
    tcpshm_conn_seq_state(&cl->conn, &lg.client_seq_start, &lg.client_seq_end, &lg.ack_seq);
    if (login_user_data)
        memcpy(lg.user_data, login_user_data, cl->cfg.login_user_data_size);
    lg.use_shm = use_shm ? 1 : 0;
    memcpy(lg.client_name, cl->name, sizeof lg.client_name);
    memcpy(lg.last_server_name, cl->last_server, sizeof lg.last_server_name);
    uint8_t msg[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_encode(&cl->cfg, &lg, msg);

    int fd = tcpshm_io_connect(cl->env, addr, port);
    if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot connect to %s port %u", addr, port);
    tcpshm_conn_attach(&cl->conn, fd, now);
    (void)tcpshm_conn_send_ctrl(&cl->conn, msg, len);
    cl->attempt_start = now;
    cl->state = TCPSHM_CLIENT_CONNECTING;
    return 0;
}

/* A login to a new server name failed before the name was recorded: go
 * back to the recorded pair's state (none the first time). Left on the new
 * pair, the application could push into a queue that the next login (new
 * again, since the name is not recorded) resets. */
static void back_to_recorded_pair(tcpshm_client *cl)
{
    tcpshm_error ignored;
    if (!cl->last_server[0] || open_state(cl, cl->last_server, &ignored) != 0)
        tcpshm_conn_release_state(&cl->conn);
}

/* The ranges do not agree (our check or the server's). */
static void seq_mismatch(tcpshm_client *cl, const tcpshm_seq_mismatch *m)
{
    tcpshm_conn_fail(&cl->conn, "Seq number mismatch", 0);
    cl->state = TCPSHM_CLIENT_IDLE;
    if (cl->cb.on_seq_mismatch)
        cl->cb.on_seq_mismatch(cl->cb.user, &cl->conn, m);
}

/* Status 0: adopt the server's name (a new one starts a new connection),
 * free what it acknowledged, resend the rest. */
static void login_accepted(tcpshm_client *cl, const tcpshm_login_rsp *rsp)
{
    tcpshm_conn *c = &cl->conn;
    tcpshm_error err;
    if (strcmp(cl->last_server, rsp->server_name) != 0) {
        if (tcpshm_name_check(rsp->server_name, cl->cfg.name_size, "server name", &err) != 0 ||
            open_state(cl, rsp->server_name, &err) != 0) {
            back_to_recorded_pair(cl);
            attempt_failed(cl, err.text, err.sys_errno);
            return;
        }
        tcpshm_conn_reset_for_new_peer(c);
        TCPSHM_CRASH_SITE("tcpshm/crash/login/client_after_reset");
        /* Host: the reset on disk before the record that names the pair. */
        bool host = cl->cfg.durability == TCPSHM_DURABILITY_HOST;
        if ((host && tcpshm_conn_sync(c, &err) != 0) ||
            tcpshm_lastserver_write(cl->env, cl->dir, cl->name, rsp->server_name, cl->cfg.file_mode,
                                    host, &err) != 0) {
            back_to_recorded_pair(cl);
            attempt_failed(cl, err.text, err.sys_errno);
            return;
        }
        memcpy(cl->last_server, rsp->server_name, sizeof cl->last_server);
    }
    /* The ranges must agree, then resend what the server lacks. */
    tcpshm_seq_mismatch r = tcpshm_conn_seq_report(c, rsp->server_seq_start, rsp->server_seq_end, rsp->ack_seq);
    if (!tcpshm_conn_login_seq_ok(c, &r)) {
        seq_mismatch(cl, &r);
        return;
    }
    tcpshm_conn_login_accept(c, &r);
    tcpshm_conn_set_established(c);
    cl->state = TCPSHM_CLIENT_LOGGED_IN;
    tcpshm_conn_set_live(c);
    if (cl->cb.on_login_success)
        cl->cb.on_login_success(cl->cb.user, c, rsp);
    (void)tcpshm_conn_flush(c);
}

/* The link closed during the login: report why. */
static void link_failed(tcpshm_client *cl)
{
    cl->state = TCPSHM_CLIENT_IDLE;
    int e;
    const char *reason = tcpshm_conn_close_reason(&cl->conn, &e);
    if (cl->cb.on_system_error)
        cl->cb.on_system_error(cl->cb.user, reason, e);
}

/* Reads the response (it may come in pieces) and acts on it. */
static void await_response(tcpshm_client *cl, int64_t now)
{
    tcpshm_conn *c = &cl->conn;
    if (!tcpshm_conn_poll_io(c, now)) {
        link_failed(cl);
        return;
    }
    tcpshm_msg_header *h;
    tcpshm_error err;
    int rc = tcpshm_frame_parser_scan(&c->rx, &h, &err);
    if (rc == 0) {
        if (now - cl->attempt_start > cl->cfg.new_conn_timeout)
            attempt_failed(cl, "Timeout waiting for the login response", 0);
        return;
    }
    if (rc < 0) {
        attempt_failed(cl, err.text, 0);
        return;
    }
    /* Decode from the wire form: re-encode the (host-order) header first. */
    uint8_t msg[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t padded = tcpshm_padded_size(h->size);
    tcpshm_login_rsp rsp;
    if (padded > sizeof msg) {
        attempt_failed(cl, "Bad login response: too large", 0);
        return;
    }
    memcpy(msg, h, padded);
    tcpshm_header_encode(h, msg, cl->cfg.little_endian);
    tcpshm_frame_parser_pop(&c->rx);
    if (tcpshm_login_rsp_decode(&cl->cfg, msg, padded, &rsp, &err) != 0) {
        attempt_failed(cl, err.text, 0);
        return;
    }
    if (rsp.status == TCPSHM_LOGIN_ERROR) {
        tcpshm_conn_fail(c, "Login rejected", 0);
        cl->state = TCPSHM_CLIENT_IDLE;
        if (cl->cb.on_login_reject)
            cl->cb.on_login_reject(cl->cb.user, &rsp);
        return;
    }
    if (rsp.status == TCPSHM_LOGIN_SEQ_MISMATCH) {
        tcpshm_seq_mismatch m = tcpshm_conn_seq_report(c, rsp.server_seq_start, rsp.server_seq_end, rsp.ack_seq);
        seq_mismatch(cl, &m);
        return;
    }
    login_accepted(cl, &rsp);
}

static void deliver_cb(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    tcpshm_client *cl = user;
    cl->cb.on_msg(cl->cb.user, c, m);
}

void tcpshm_client_poll_tcp(tcpshm_client *cl, int64_t now)
{
    tcpshm_conn *c = &cl->conn;
    switch (cl->state) {
    case TCPSHM_CLIENT_IDLE:
        return;
    case TCPSHM_CLIENT_CONNECTING: {
        int r = tcpshm_io_connect_result(cl->env, c->fd);
        if (r == EINPROGRESS) {
            if (now - cl->attempt_start > cl->cfg.new_conn_timeout)
                attempt_failed(cl, "Timeout connecting", ETIMEDOUT);
            return;
        }
        if (r != 0) {
            attempt_failed(cl, "Connect error", r);
            return;
        }
        tcpshm_conn_link_up(c, now);
        cl->state = TCPSHM_CLIENT_LOGGING_IN;
        if (!tcpshm_conn_flush(c)) {
            link_failed(cl);
            return;
        }
        await_response(cl, now);
        if (cl->state != TCPSHM_CLIENT_LOGGED_IN)
            return;
        break;
    }
    case TCPSHM_CLIENT_LOGGING_IN:
        await_response(cl, now);
        if (cl->state != TCPSHM_CLIENT_LOGGED_IN)
            return;
        break;
    case TCPSHM_CLIENT_LOGGED_IN:
        break;
    }
    bool up = tcpshm_conn_poll_io(c, now);
    if (cl->cb.on_msg && !tcpshm_conn_is_shm(c)) /* SHM messages come through poll_shm */
        tcpshm_conn_deliver(c, deliver_cb, cl);
    if (!up) {
        cl->state = TCPSHM_CLIENT_IDLE;
        tcpshm_conn_clear_live(c);
        int e;
        const char *reason = tcpshm_conn_close_reason(c, &e);
        if (cl->cb.on_disconnect)
            cl->cb.on_disconnect(cl->cb.user, c, reason, e);
    }
}

void tcpshm_client_poll_shm(tcpshm_client *cl)
{
    tcpshm_conn *c = &cl->conn;
    /* live is set for a TCP login too: over TCP, poll_tcp's thread alone
     * delivers (client.h). The transport is read once busy is up, when a
     * login can no longer change it (tcpshm_conn_set_transport). */
    if (tcpshm_conn_begin_shm_poll(c) && c->tp == &tcpshm_conn_shm) {
        tcpshm_conn_shm_pay_republish(c);
        if (cl->cb.on_msg && !tcpshm_conn_shm_idle(c))
            tcpshm_conn_deliver(c, deliver_cb, cl);
    }
    tcpshm_conn_end_shm_poll(c);
}

int tcpshm_client_connect(tcpshm_client *cl, const char *addr, uint16_t port, bool use_shm,
                          const uint8_t *login_user_data, int64_t timeout,
                          int64_t (*clock)(void *clock_user), void *clock_user, tcpshm_error *err)
{
    int64_t start = clock(clock_user);
    int rc = tcpshm_client_login(cl, addr, port, use_shm, login_user_data, start, err);
    if (rc)
        return rc;
    for (;;) {
        int64_t now = clock(clock_user);
        tcpshm_client_poll_tcp(cl, now);
        if (cl->state == TCPSHM_CLIENT_LOGGED_IN)
            return 0;
        if (cl->state == TCPSHM_CLIENT_IDLE) {
            int e = 0;
            const char *why = tcpshm_conn_close_reason(&cl->conn, &e);
            return tcpshm_fail(err, TCPSHM_E_SYSTEM, e, "login failed: %s", why[0] ? why : "refused");
        }
        if (now - start > timeout) {
            tcpshm_conn_fail(&cl->conn, "Timeout", ETIMEDOUT);
            cl->state = TCPSHM_CLIENT_IDLE;
            return tcpshm_fail(err, TCPSHM_E_SYSTEM, ETIMEDOUT, "login timed out");
        }
        (void)tcpshm_io_wait(cl->env, cl->conn.fd, cl->state == TCPSHM_CLIENT_CONNECTING, 1);
    }
}
