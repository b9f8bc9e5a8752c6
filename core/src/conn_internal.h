/* The connection object and what the server and client do with it. */
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

struct tcpshm_conn {
    const tcpshm_config *cfg;
    const tcpshm_env *env;
    char local[TCPSHM_NAME_MAX + 1];
    char remote[TCPSHM_NAME_MAX + 1];
    void *user;

    tcpshm_ptcp_queue q; /* TCP: open once a login opened it */
    bool q_open;

    /* SHM transport: the data goes through two segments, TCP carries the
     * login and heartbeats only. The TCP fields below belong to the thread
     * that polls TCP; shm_out/shm_in and pops to the thread of poll_shm. */
    bool shm;                  /* this connection uses shared memory */
    bool shm_open;             /* both segments are mapped */
    tcpshm_shm_queue shm_out;  /* we produce */
    tcpshm_shm_queue shm_in;   /* we consume */
    uint32_t shm_live;         /* atomic: poll_shm may deliver (client side) */
    uint32_t shm_busy;         /* atomic: the client's poll_shm is looking (see client.c) */
    uint32_t shm_failed;       /* atomic: the peer wrote a bad slot; shm_fail_reason says what */
    char shm_fail_reason[96];

    int fd; /* -1 while disconnected */
    tcpshm_frame_parser rx;
    uint8_t *rx_buf; /* recv_buf_size bytes, 8-byte aligned, owned by the server/client */
    uint8_t ctrl_out[TCPSHM_CTRL_OUT_MAX];
    uint32_t ctrl_len, ctrl_sent;
    int64_t now; /* the caller's time at the last poll */
    int64_t last_send, last_recv;
    bool established; /* the login handshake is done: queued messages may flow */
    uint64_t pops;    /* counts pops, so deliver() sees whether the callback popped */

    bool close_requested; /* atomic access: any thread may ask */
    char close_reason[96];
    int close_errno;
};

/* Sets up a disconnected connection with its receive buffer. */
void tcpshm_conn_init(tcpshm_conn *c, const tcpshm_config *cfg, const tcpshm_env *env,
                      const char *local, uint8_t *rx_buf);

/* Opens (or keeps) the persistent queue of the pair in dir. */
int tcpshm_conn_open_queue(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err);
void tcpshm_conn_close_queue(tcpshm_conn *c);

/* A new link on fd: empty receive buffer, fresh timers, the queue's send
 * position at the oldest unacknowledged message after rewind. */
void tcpshm_conn_attach(tcpshm_conn *c, int fd, int64_t now);

/* Queues bytes to go out before queued messages (login, response). Returns
 * false if they do not fit. */
bool tcpshm_conn_send_ctrl(tcpshm_conn *c, const void *bytes, uint32_t len);

/* One round of I/O on a live link: send pending bytes, heartbeat, read,
 * apply acks, check the timeout. Returns false once the link is closed (the
 * reason is set; the caller reports it). Does not deliver messages. */
bool tcpshm_conn_poll_io(tcpshm_conn *c, int64_t now);

/* Closes the link with a reason (keeps the first reason of a close). */
void tcpshm_conn_fail(tcpshm_conn *c, const char *reason, int sys_errno);

/* Delivers received messages to cb until the application stops popping. */
typedef void (*tcpshm_msg_cb)(void *user, tcpshm_conn *c, tcpshm_msg_header *msg);
void tcpshm_conn_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user);

/* SHM (c->shm set by the caller): opens (creating if needed) both segments
 * of the pair local/remote, or keeps them if open for that remote. */
int tcpshm_conn_open_shm(tcpshm_conn *c, const char *remote, tcpshm_error *err);
void tcpshm_conn_close_shm(tcpshm_conn *c);
/* SHM: empties both segments (a new server name: a new connection). */
void tcpshm_conn_reset_shm(tcpshm_conn *c);
/* The persisted state, whichever transport: oldest unacknowledged message
 * sent, next to send, and how many of the peer's we consumed. */
void tcpshm_conn_seq_state(const tcpshm_conn *c, uint32_t *start, uint32_t *end, uint32_t *ack);
/* Whether the connection's persistent state is open (queue or segments). */
bool tcpshm_conn_has_state(const tcpshm_conn *c);

/* Sends what it can now: control bytes first, then queued messages. */
bool tcpshm_conn_flush(tcpshm_conn *c);

#endif
