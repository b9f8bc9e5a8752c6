/* The server framework: a listening socket, logins (docs/protocol.md), and client
 * connections in groups that the application polls, possibly each in its
 * own thread.
 *
 * Threads. poll_ctl and each group's poll_tcp(grp) may run in different
 * threads, one thread per call site at a time:
 *  - poll_ctl owns the listening socket and the connections not yet logged
 *    in: it accepts, assembles logins, runs login steps 1-4 of docs/protocol.md
 *    (name check, on_new_connection, slot, opening the queue file — only for
 *    a client seen for the first time, whose slot no group thread can see
 *    yet), times out and reports rejected logins. Its callbacks:
 *    on_system_error, on_new_connection, on_client_file_error,
 *    on_login_rejected.
 *  - poll_tcp(grp) owns that group's connections: it finishes logins (steps
 *    5-7: reset on a new server name — except for a client that says "" with
 *    no state while nothing of the pair was ever consumed: one that died in
 *    its first login before recording our name, which resumes so that what
 *    was pushed to it is not lost — the sequence check, the response and
 *    the resend), runs heartbeats and timeouts, delivers messages and reports
 *    disconnects. Its callbacks: on_seq_mismatch, on_logon, on_disconnect,
 *    on_msg, and on_system_error when a readiness call fails (a group of
 *    more than 64 slots, docs/design.md "Readiness polling"). The application pushes to a group's connections from the
 *    thread that polls that group.
 *  - poll_shm(grp) owns that SHM group's connections (clients that logged
 *    in with use_shm): it finishes their logins (steps 5-7; a new server
 *    name empties both segments), delivers messages from shared memory and
 *    is where the application pushes to them. Its callbacks: on_seq_mismatch,
 *    on_logon, on_msg. The TCP side of a live SHM connection (heartbeats,
 *    timeouts, the peer going away) is kept by poll_ctl, which therefore
 *    also reports SHM disconnects (on_disconnect).
 * They hand a login over through one atomic state word per client slot
 * (release/acquire), and a connection's live flag (what is_connected says
 * over SHM) is one seq_cst word; nothing else is shared and no lock is
 * taken. The login steps act on the connection through its own operations
 * (reset, judge, accept; core/src/conn.c), the same for either transport. A client
 * keeps the slot (and group) of its first login for the server's lifetime,
 * and its transport: a client that logged in over TCP and comes back over
 * SHM (or the other way) is refused, because its unconsumed messages wait
 * in the other transport's queue. */
#ifndef TCPSHM_SERVER_H
#define TCPSHM_SERVER_H

#include "tcpshm/export.h"

#include "tcpshm/config.h"
#include "tcpshm/conn.h"
#include "tcpshm/env.h"
#include "tcpshm/error.h"
#include "tcpshm/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpshm_server tcpshm_server;

/* Peer bytes in callbacks. The reasons the library builds never carry raw
 * peer or file bytes (they are escaped as \xNN). The arguments are the
 * peer's own, as received: login->last_server_name and user data, and the
 * client_name of on_login_rejected when the reason is "Invalid client name"
 * (any bytes but NUL). An application that logs or prints them must escape
 * them (as tools/escape.c does). */
typedef struct tcpshm_server_callbacks {
    void *user;
    /* poll_ctl: an accept or another OS call of the server failed. */
    void (*on_system_error)(void *user, const char *what, int sys_errno);
    /* poll_ctl: a client with a valid name asks to log in. Return its group
     * (0 .. tcp_groups-1, or 0 .. shm_groups-1 when login->use_shm) or -1 to
     * reject; on reject *reject_text may point
     * to a reason (cut to 31 characters; NULL gives "Login Reject").
     * rsp_user_data (login_rsp_user_data_size bytes, zeroed) goes back in the
     * response. NULL callback: every login goes to group 0. */
    int (*on_new_connection)(void *user, const tcpshm_login *login, uint8_t *rsp_user_data,
                             const char **reject_text);
    /* poll_ctl: the queue file (or SHM segments) of a client could not be opened. */
    void (*on_client_file_error)(void *user, const char *client_name, const tcpshm_error *err);
    /* poll_ctl: a connection was dropped before its login completed, with
     * why (bad first bytes, timeout, rejected login ...). client_name is ""
     * when no valid login arrived. Also poll_tcp / poll_shm, with "System
     * error", when host durability cannot sync the pair at the login's end
     * (after on_system_error). */
    void (*on_login_rejected)(void *user, const char *client_name, const char *reason);
    /* poll_tcp / poll_shm: the sequence ranges do not agree; the login was refused with
     * status 1 and nothing was discarded. */
    void (*on_seq_mismatch)(void *user, tcpshm_conn *conn, const tcpshm_seq_mismatch *m);
    /* poll_tcp / poll_shm: a client logged in; unacknowledged messages are being resent. */
    void (*on_logon)(void *user, tcpshm_conn *conn, uint32_t grp);
    /* poll_tcp (TCP) / poll_ctl (SHM): a logged-in connection closed. */
    void (*on_disconnect)(void *user, tcpshm_conn *conn, const char *reason, int sys_errno);
    /* poll_tcp / poll_shm: a message arrived; pop it to consume it, else it comes again. */
    void (*on_msg)(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg);
} tcpshm_server_callbacks;

/* Allocates everything the server will use (the only allocation). env NULL
 * means tcpshm_env_posix(). The config is copied and checked. dir must leave
 * room for a pair's queue file with a client of the longest name
 * (<dir>/<server>_<client>.ptcp.tmp) in 4095 bytes: TCPSHM_E_ARG otherwise. */
TCPSHM_API int tcpshm_server_create(tcpshm_server **out, const tcpshm_config *cfg, const tcpshm_env *env,
                         const char *server_name, const char *dir,
                         const tcpshm_server_callbacks *cb, tcpshm_error *err);

/* Listens on a numeric IPv4 or IPv6 address; port 0 picks a free port. */
TCPSHM_API int tcpshm_server_start(tcpshm_server *s, const char *addr, uint16_t port, tcpshm_error *err);
TCPSHM_API uint16_t tcpshm_server_port(const tcpshm_server *s);

TCPSHM_API void tcpshm_server_poll_ctl(tcpshm_server *s, int64_t now);
TCPSHM_API void tcpshm_server_poll_tcp(tcpshm_server *s, int64_t now, uint32_t grp);
/* Serves SHM group grp (0 .. shm_groups-1): logins handed over by
 * poll_ctl, then every message waiting in shared memory. */
TCPSHM_API void tcpshm_server_poll_shm(tcpshm_server *s, int64_t now, uint32_t grp);

/* The connection of a client that logged in at least once, or NULL. */
TCPSHM_API tcpshm_conn *tcpshm_server_find_conn(tcpshm_server *s, const char *client_name);

/* Closes every socket and queue file and frees the server (no callbacks). */
TCPSHM_API void tcpshm_server_destroy(tcpshm_server *s);

#ifdef __cplusplus
}
#endif
#endif
