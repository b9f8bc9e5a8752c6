/* The connection object and what the server and client do with it.
 *
 * Files: conn.c is what every connection does whatever carries its
 * messages (control bytes, heartbeats, receive and parse, timeouts,
 * delivery, the live flag, the login's sequence judgement) and the one
 * place that picks the transport; conn_tcp.c (persistent queue file, data
 * over the socket) and conn_shm.c (two shared-memory segments, the socket
 * for login and heartbeats only) are the two halves behind the interface of
 * conn_transport.h. server.c and client.c use only the functions below and
 * never a queue or a segment directly. */
#ifndef TCPSHM_CONN_INTERNAL_H
#define TCPSHM_CONN_INTERNAL_H

#include "tcpshm/config.h"
#include "tcpshm/conn.h"
#include "tcpshm/env.h"
#include "tcpshm/names.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"

/* Bytes that must go out before any queued message: a login, a login
 * response or a heartbeat, possibly left over from a short send. */
#define TCPSHM_CTRL_OUT_MAX 1024u

/* Which end of the pair this connection is: the two differ at login (the
 * server judges the ranges and empties shared segments, see conn_shm.c). */
typedef enum tcpshm_conn_side { TCPSHM_CONN_SERVER, TCPSHM_CONN_CLIENT } tcpshm_conn_side;

struct tcpshm_conn_transport;

struct tcpshm_conn {
    const tcpshm_config *cfg;
    const tcpshm_env *env;
    tcpshm_conn_side side;
    char local[TCPSHM_NAME_MAX + 1];
    char remote[TCPSHM_NAME_MAX + 1];
    void *user;

    /* The transport of the current login (set by tcpshm_conn_set_transport;
     * poll_shm reads it, so it changes only while poll_shm keeps off). */
    const struct tcpshm_conn_transport *tp;

    /* TCP half (conn_tcp.c): the persistent queue, open once a login opened it. */
    struct {
        tcpshm_ptcp_queue q;
        bool open;
    } tcp;

    /* SHM half (conn_shm.c): the data goes through two segments, TCP carries
     * the login and heartbeats only. The TCP fields below belong to the
     * thread that polls TCP; the segments and pops to the thread of poll_shm. */
    struct {
        bool open;            /* both segments are mapped */
        tcpshm_shm_queue out; /* we produce */
        tcpshm_shm_queue in;  /* we consume */
    } shm;
    uint32_t live;          /* atomic: poll_shm may deliver (see conn.c) */
    uint32_t busy;          /* atomic: the client's poll_shm is looking (see conn.c) */
    uint32_t republish;     /* atomic: the client's poll_shm owes its consumer word a republish
                               (a login was accepted: conn_shm.c shm_login_accept) */
    uint32_t peer_failed;   /* atomic: the peer broke the protocol off the TCP thread (a bad slot) */
    char peer_fail_reason[96];

    int fd; /* -1 while disconnected */
    tcpshm_frame_parser rx;
    uint8_t *rx_buf; /* recv_buf_size bytes, 8-byte aligned, owned by the server/client */
    uint8_t ctrl_out[TCPSHM_CTRL_OUT_MAX];
    uint32_t ctrl_len, ctrl_sent;
    int64_t now; /* the caller's time at the last poll */
    int64_t last_send, last_recv;
    int64_t next_check; /* an established SHM link's socket is looked at from then (conn.c) */
    bool established; /* the login handshake is done: queued messages may flow */
    uint64_t pops;    /* counts pops, so deliver() sees whether the callback popped */

    bool close_requested; /* atomic access: any thread may ask */
    char close_reason[96];
    int close_errno;
};

/* Sets up a disconnected TCP connection of the given side with its receive buffer. */
void tcpshm_conn_init(tcpshm_conn *c, const tcpshm_config *cfg, const tcpshm_env *env,
                      tcpshm_conn_side side, const char *local, uint8_t *rx_buf);

/* ---- transport and persistent state ---- */

/* Chooses the transport of the next login. TCPSHM_E_SYSTEM (EAGAIN) while
 * poll_shm may be reading the segments. */
int tcpshm_conn_set_transport(tcpshm_conn *c, bool shm, tcpshm_error *err);
bool tcpshm_conn_is_shm(const tcpshm_conn *c);

/* Opens (or keeps, if open for that remote) the pair's persistent state for
 * the current transport: the queue file in dir, or both segments (dir
 * unused; TCPSHM_E_SYSTEM with EAGAIN if other segments are open and
 * poll_shm may be reading them). */
int tcpshm_conn_open_state(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err);
/* Durability "host": makes the queue file's state durable (a push_more
 * batch, pops, a reset); 0 at once when nothing is pending, in process mode
 * and without a queue file. Runs before every send (see conn.c). */
int tcpshm_conn_sync(tcpshm_conn *c, tcpshm_error *err);
/* Whether the current transport's persistent state is open. */
bool tcpshm_conn_has_state(const tcpshm_conn *c);
/* TCP: the pair's queue file was made by an open and no login used it yet
 * (tcpshm_ptcp_queue_fresh); used clears that (an accepted login). */
bool tcpshm_conn_state_fresh(const tcpshm_conn *c);
void tcpshm_conn_state_used(tcpshm_conn *c);
/* Closes the state of both transports (destroy). */
void tcpshm_conn_close_state(tcpshm_conn *c);
/* Closes the queue file, and the segments unless poll_shm may be reading them. */
void tcpshm_conn_release_state(tcpshm_conn *c);

/* ---- login (WIRE.md steps 5-7) ---- */

/* Step 5: the peer last talked to another name, this is a new connection:
 * empty the pair's state (over SHM only the server side does; see conn_shm.c). */
void tcpshm_conn_reset_for_new_peer(tcpshm_conn *c);
/* The six numbers: this side's persisted state now and the peer's as given.
 * Both the server (step 6) and the client (a response) judge and report these. */
tcpshm_seq_mismatch tcpshm_conn_seq_report(const tcpshm_conn *c, uint32_t remote_start,
                                           uint32_t remote_end, uint32_t remote_ack);
/* Step 6: whether the ranges of r agree (the transport may correct the
 * peer's numbers in r first, see conn_shm.c). */
bool tcpshm_conn_login_seq_ok(tcpshm_conn *c, tcpshm_seq_mismatch *r);
/* Step 7: frees what the peer acknowledged (r->remote_ack) and sets
 * r->local_seq_start to what the response gives; the rest is resent. */
void tcpshm_conn_login_accept(tcpshm_conn *c, tcpshm_seq_mismatch *r);
/* The handshake is done: queued messages may flow. */
void tcpshm_conn_set_established(tcpshm_conn *c);

/* ---- the live flag and poll_shm (the handshake is described in conn.c) ---- */

void tcpshm_conn_set_live(tcpshm_conn *c);
void tcpshm_conn_clear_live(tcpshm_conn *c);
/* The client's poll_shm: begin returns whether it may deliver; end always
 * follows. Inline, with tcpshm_conn_shm_idle: see below. */
static inline bool tcpshm_conn_begin_shm_poll(tcpshm_conn *c)
{
    __atomic_store_n(&c->busy, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&c->live, __ATOMIC_SEQ_CST) != 0;
}
static inline void tcpshm_conn_end_shm_poll(tcpshm_conn *c) { __atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE); }

/* poll_shm's round that finds nothing, inline: an SHM link (the client's
 * poll_shm checks that it is one; the server's SHM groups hold no other)
 * with no message checked and not popped whose next slot word is still 0
 * (one load; the segments are mapped while the link is live). Keep a
 * spinning poll_shm round this short: on the bench's 2-vCPU VM a round
 * longer by ~15 ns delayed the peer's echo by ~150 ns (bench/README.md
 * "SHM echo p50 ... 2026-12-01"). */
extern const struct tcpshm_conn_transport tcpshm_conn_shm;
static inline bool tcpshm_conn_shm_idle(const tcpshm_conn *c)
{
    return c->shm.open && tcpshm_shm_queue_idle(&c->shm.in);
}

/* The client, before its login goes out: rewrites its consumer word in the
 * server's segment when poll_shm is not looking (conn_shm.c). */
void tcpshm_conn_shm_before_login(tcpshm_conn *c);

/* The client's poll_shm, once it may deliver: the consumer word a login
 * owed is written again from this thread, the only one that writes it. */
static inline void tcpshm_conn_shm_pay_republish(tcpshm_conn *c)
{
    /* set only for open segments, before live; cleared only here, while
     * live holds off the next login (conn.c): a load and a store suffice */
    if (__atomic_load_n(&c->republish, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&c->republish, 0, __ATOMIC_RELAXED);
        tcpshm_shm_queue_republish(&c->shm.in);
    }
}

/* ---- the link ---- */

/* A new link on fd: empty receive buffer, fresh timers, the queue's send
 * position at the oldest unacknowledged message after rewind. */
void tcpshm_conn_attach(tcpshm_conn *c, int fd, int64_t now);
/* The client's connect completed at now: the receive timeout counts from here. */
void tcpshm_conn_link_up(tcpshm_conn *c, int64_t now);

/* Queues bytes to go out before queued messages (login, response). Returns
 * false if they do not fit. */
bool tcpshm_conn_send_ctrl(tcpshm_conn *c, const void *bytes, uint32_t len);

/* One round of I/O on a live link: send pending bytes, heartbeat, read,
 * apply acks, check the timeout (an established SHM link: only when due). Returns false once the link is closed (the
 * reason is set; the caller reports it). Does not deliver messages. */
bool tcpshm_conn_poll_io(tcpshm_conn *c, int64_t now);
/* The same; readable false skips the receive (readiness polling: the set
 * did not report the socket), the rest (sends, heartbeat, timeout) runs. */
bool tcpshm_conn_poll_io_as(tcpshm_conn *c, int64_t now, bool readable);
/* Readiness polling: whether a live link needs a poll although its socket
 * has nothing to read: bytes wait to go out, a received message was not
 * popped, or a close was asked for. */
bool tcpshm_conn_wants_poll(tcpshm_conn *c);

/* The control plane's granularity: config ctl_interval, at most a quarter
 * heartbeat (see config.h). */
int64_t tcpshm_ctl_interval(const tcpshm_config *cfg);
/* Whether a look planned for next (at most span ahead when planned) is due
 * at now; also when now went back by more than span. */
bool tcpshm_due(int64_t now, int64_t next, int64_t span);

/* Closes the link with a reason (keeps the first reason of a close). */
void tcpshm_conn_fail(tcpshm_conn *c, const char *reason, int sys_errno);

/* Delivers received messages to cb until the application stops popping. */
typedef void (*tcpshm_msg_cb)(void *user, tcpshm_conn *c, tcpshm_msg_header *msg);
void tcpshm_conn_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user);

/* The persisted state, whichever transport: oldest unacknowledged message
 * sent, next to send, and how many of the peer's we consumed. */
void tcpshm_conn_seq_state(const tcpshm_conn *c, uint32_t *start, uint32_t *end, uint32_t *ack);

/* Sends what it can now: control bytes first, then queued messages. */
bool tcpshm_conn_flush(tcpshm_conn *c);

#endif
