/* One connection between two named peers, the same API whatever carries it.
 *
 * A connection exists from its first successful login until its server or
 * client is destroyed, connected or not: messages pushed while the link is
 * down are kept in the persistent queue and sent after the next login.
 * Every call on a connection must come from the thread that polls it (the
 * server's poll_tcp(grp) of its group, or the client's poll_tcp), including
 * the callbacks that run inside those polls. */
#ifndef TCPSHM_CONN_H
#define TCPSHM_CONN_H

#include "tcpshm/export.h"

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpshm_conn tcpshm_conn;

/* The six numbers of a sequence mismatch at login (docs/protocol.md step 6), from
 * this side's point of view: my queue's range and my ack of the peer's
 * stream, and the peer's. */
typedef struct tcpshm_seq_mismatch {
    uint32_t local_seq_start, local_seq_end, local_ack;
    uint32_t remote_seq_start, remote_seq_end, remote_ack;
} tcpshm_seq_mismatch;

/* Room for a message with body_size bytes after the 8-byte header (8-byte
 * aligned; size is set): fill msg_type (not 0) and the body, then push.
 * NULL when the queue is full (retry after the peer acknowledges), the
 * message is over max_msg_size, or no login ever opened the queue. */
TCPSHM_API tcpshm_msg_header *tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size);

/* Queues the allocated message persistently and sends what the link takes
 * now. push_more only queues; the next push or poll sends the batch.
 * 0, or TCPSHM_E_ARG (nothing allocated, or msg_type 0). */
TCPSHM_API int tcpshm_conn_push(tcpshm_conn *c);
TCPSHM_API int tcpshm_conn_push_more(tcpshm_conn *c);

/* The oldest received message not yet popped (heartbeats are never shown),
 * header in host order, body after it; the same one until pop. NULL if none. */
TCPSHM_API tcpshm_msg_header *tcpshm_conn_front(tcpshm_conn *c);

/* Consumes the front message; persists the new ack with one store. */
TCPSHM_API void tcpshm_conn_pop(tcpshm_conn *c);

/* Asks for the link to be closed ("Request close"); it happens, and the
 * disconnect callback runs, at the next poll. */
TCPSHM_API void tcpshm_conn_close(tcpshm_conn *c);

TCPSHM_API bool tcpshm_conn_is_connected(const tcpshm_conn *c);

/* Why the link last closed ("" if it never did) and the errno behind it
 * (sys_errno may be NULL when the errno is not wanted). */
TCPSHM_API const char *tcpshm_conn_close_reason(const tcpshm_conn *c, int *sys_errno);

TCPSHM_API const char *tcpshm_conn_local_name(const tcpshm_conn *c);
TCPSHM_API const char *tcpshm_conn_remote_name(const tcpshm_conn *c);

/* Sequence numbers: my queue's unacknowledged range [start, end) and how
 * many of the peer's messages I popped. */
TCPSHM_API uint32_t tcpshm_conn_seq_start(const tcpshm_conn *c);
TCPSHM_API uint32_t tcpshm_conn_seq_end(const tcpshm_conn *c);
TCPSHM_API uint32_t tcpshm_conn_my_ack(const tcpshm_conn *c);

/* A pointer of the application's, kept with the connection. */
TCPSHM_API void tcpshm_conn_set_user(tcpshm_conn *c, void *user);
TCPSHM_API void *tcpshm_conn_user(const tcpshm_conn *c);

#ifdef __cplusplus
}
#endif
#endif
