/* The client framework: a non-blocking login driven by poll_tcp, the one
 * connection it gives, and the persisted name of the server it last logged
 * in to (<dir>/<client>.lastserver).
 *
 * Threads. Over TCP every call and callback happens in the thread that
 * calls poll_tcp. Over SHM (login with use_shm), poll_tcp keeps the login,
 * heartbeats and timeouts, and poll_shm delivers the messages (on_msg); it
 * may run in its own thread. Push from one thread at a time (e.g. from
 * on_msg in the poll_shm thread). */
#ifndef TCPSHM_CLIENT_H
#define TCPSHM_CLIENT_H

#include "tcpshm/export.h"

#include "tcpshm/config.h"
#include "tcpshm/conn.h"
#include "tcpshm/env.h"
#include "tcpshm/error.h"
#include "tcpshm/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpshm_client tcpshm_client;

typedef enum tcpshm_client_state {
    TCPSHM_CLIENT_IDLE,       /* not connected; call login */
    TCPSHM_CLIENT_CONNECTING, /* TCP connection being made */
    TCPSHM_CLIENT_LOGGING_IN, /* login sent, waiting for the response */
    TCPSHM_CLIENT_LOGGED_IN   /* messages flow */
} tcpshm_client_state;

/* Peer bytes in callbacks: the response handed to on_login_reject and
 * on_login_success is the server's, as received (error_msg, server_name
 * and user data may hold any bytes but NUL): an application that logs or
 * prints them must escape them. The reasons the library builds never carry
 * raw peer or file bytes. */
typedef struct tcpshm_client_callbacks {
    void *user;
    /* A login attempt failed before any response: connect refused, timeout,
     * a file that cannot be opened, a malformed response ... */
    void (*on_system_error)(void *user, const char *reason, int sys_errno);
    /* The server refused the login (status 2) with rsp->error_msg. */
    void (*on_login_reject)(void *user, const tcpshm_login_rsp *rsp);
    /* Sequence numbers disagree (status 1, or an inconsistent OK); nothing
     * was discarded. */
    void (*on_seq_mismatch)(void *user, tcpshm_conn *conn, const tcpshm_seq_mismatch *m);
    /* Logged in; unacknowledged messages are being resent. */
    void (*on_login_success)(void *user, tcpshm_conn *conn, const tcpshm_login_rsp *rsp);
    /* A logged-in connection closed. */
    void (*on_disconnect)(void *user, tcpshm_conn *conn, const char *reason, int sys_errno);
    /* A message arrived (from poll_tcp, or poll_shm over SHM); pop it to
     * consume it, else it comes again. */
    void (*on_msg)(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg);
} tcpshm_client_callbacks;

/* Allocates the client (the only allocation). env NULL: tcpshm_env_posix().
 * dir must leave room for every path the client makes in it (a pair's
 * queue file with a server of the longest name, <dir>/<client>_<server>.ptcp.tmp,
 * and <dir>/<client>.lastserver.tmp) in 4095 bytes: TCPSHM_E_ARG otherwise. */
TCPSHM_API int tcpshm_client_create(tcpshm_client **out, const tcpshm_config *cfg, const tcpshm_env *env,
                         const char *client_name, const char *dir,
                         const tcpshm_client_callbacks *cb, tcpshm_error *err);

/* Starts a login to a numeric address: reads the last server name, opens
 * that pair's queue, starts connecting. Non-blocking: poll_tcp drives the
 * rest and reports through the callbacks. login_user_data may be NULL
 * (zeros). use_shm: the data goes through two shared-memory segments
 * "/tcpshm_<client>_<server>" and "/tcpshm_<server>_<client>" (created
 * with file_mode, both sides need the same shm_queue_size), TCP carries the
 * login and heartbeats only; the server must be on this host. */
TCPSHM_API int tcpshm_client_login(tcpshm_client *cl, const char *addr, uint16_t port, bool use_shm,
                        const uint8_t *login_user_data, int64_t now, tcpshm_error *err);

TCPSHM_API void tcpshm_client_poll_tcp(tcpshm_client *cl, int64_t now);
/* SHM: delivers the messages waiting in shared memory while logged in
 * (nothing otherwise). Any thread, one at a time. */
TCPSHM_API void tcpshm_client_poll_shm(tcpshm_client *cl);

/* Blocking convenience: login, then poll until logged in, failed, or
 * timeout has passed on the caller's clock (clock(clock_user) gives `now`).
 * 0 when logged in; otherwise the client is idle again and err says why. */
TCPSHM_API int tcpshm_client_connect(tcpshm_client *cl, const char *addr, uint16_t port, bool use_shm,
                          const uint8_t *login_user_data, int64_t timeout,
                          int64_t (*clock)(void *clock_user), void *clock_user, tcpshm_error *err);

TCPSHM_API tcpshm_client_state tcpshm_client_get_state(const tcpshm_client *cl);

/* The connection, once a login opened its queue (NULL before). */
TCPSHM_API tcpshm_conn *tcpshm_client_conn(tcpshm_client *cl);

/* The server name recorded in <dir>/<client>.lastserver ("" if none). */
TCPSHM_API const char *tcpshm_client_last_server(const tcpshm_client *cl);

/* Closes the socket and queue file and frees the client (no callbacks). */
TCPSHM_API void tcpshm_client_destroy(tcpshm_client *cl);

#ifdef __cplusplus
}
#endif
#endif
