/* The interface between conn.c and the two transport halves, conn_tcp.c
 * and conn_shm.c. conn.c calls through c->tp for everything that differs
 * by transport; nothing else looks at a queue or a segment. */
#ifndef TCPSHM_CONN_TRANSPORT_H
#define TCPSHM_CONN_TRANSPORT_H

#include "conn_internal.h"

typedef struct tcpshm_conn_transport {
    /* persistent state (see tcpshm_conn_open_state and friends) */
    int (*open)(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err);
    bool (*has_state)(const tcpshm_conn *c);
    void (*reset_for_new_peer)(tcpshm_conn *c);
    bool (*login_seq_ok)(tcpshm_conn *c, tcpshm_seq_mismatch *r);
    void (*login_accept)(tcpshm_conn *c, tcpshm_seq_mismatch *r);
    /* one received frame once the link is established: false after closing */
    bool (*on_frame)(tcpshm_conn *c, tcpshm_msg_header *h);
    /* nothing queued waits for the socket: a heartbeat may go */
    bool (*nothing_to_send)(tcpshm_conn *c);
    bool (*is_connected)(const tcpshm_conn *c);
    /* the public message API */
    tcpshm_msg_header *(*alloc)(tcpshm_conn *c, uint16_t body_size);
    int (*push)(tcpshm_conn *c);
    int (*push_more)(tcpshm_conn *c);
    tcpshm_msg_header *(*front)(tcpshm_conn *c);
    void (*pop)(tcpshm_conn *c); /* after front() returned a message */
    uint32_t (*seq_start)(const tcpshm_conn *c);
    uint32_t (*seq_end)(const tcpshm_conn *c);
    uint32_t (*my_ack)(const tcpshm_conn *c);
} tcpshm_conn_transport;

extern const tcpshm_conn_transport tcpshm_conn_tcp;
extern const tcpshm_conn_transport tcpshm_conn_shm;

/* TCP half, outside the table */
void tcpshm_conn_tcp_close(tcpshm_conn *c);
/* Sends queued messages of an open queue file (control bytes went first). */
bool tcpshm_conn_tcp_send_queued(tcpshm_conn *c);

/* SHM half, outside the table */
void tcpshm_conn_shm_close(tcpshm_conn *c);
/* tcpshm_conn_deliver and tcpshm_conn_pop of an SHM link (the hot path, direct) */
void tcpshm_conn_shm_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user);
void tcpshm_conn_shm_pop(tcpshm_conn *c);

/* conn.c, for the halves */
/* Sends up to len bytes; returns how many went, or -1 after closing the link. */
int64_t tcpshm_conn_send_some(tcpshm_conn *c, const uint8_t *p, uint32_t len);
void tcpshm_conn_set_remote(tcpshm_conn *c, const char *remote);
/* True while poll_shm may be looking at the segments. */
bool tcpshm_conn_shm_in_use(const tcpshm_conn *c);
bool tcpshm_conn_ranges_agree(const tcpshm_seq_mismatch *r);

#endif
