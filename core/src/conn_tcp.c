/* The TCP half of a connection: messages wait in the pair's persistent
 * queue file, go out over the socket after the control bytes, and are
 * freed by the acks every received header carries. */
#include <string.h>

#include "conn_transport.h"
#include "crash.h"
#include "error_set.h"

static int tcp_open_state(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err)
{
    if (c->tcp.open && strcmp(c->remote, remote) == 0)
        return 0;
    /* host: a batch push_more queued lives in memory until a sync; letting
     * the file go would drop it without a word (the client going to a new
     * server name, then back to its recorded pair, found it gone): synced
     * first, or this pair stays open and the open fails */
    int rc = c->tcp.open ? tcpshm_ptcp_queue_sync(&c->tcp.q, err) : 0;
    if (rc)
        return rc;
    tcpshm_conn_tcp_close(c);
    tcpshm_ptcp_queue_config qc = {c->cfg->queue_size, c->cfg->max_msg_size, c->cfg->little_endian,
                                   c->cfg->file_mode,
                                   c->cfg->durability == TCPSHM_DURABILITY_HOST};
    rc = tcpshm_ptcp_queue_open(&c->tcp.q, c->env, dir, c->local, remote, &qc, err);
    if (rc)
        return rc;
    tcpshm_conn_set_remote(c, remote);
    c->tcp.open = true;
    return 0;
}

void tcpshm_conn_tcp_close(tcpshm_conn *c)
{
    /* host: a batch push_more queued reaches the disk with the file's
     * close, if it can (a no-op in process durability, where push_more
     * publishes at once) */
    if (c->tcp.open) {
        (void)tcpshm_ptcp_queue_sync(&c->tcp.q, NULL);
        tcpshm_ptcp_queue_close(&c->tcp.q);
    }
    c->tcp.open = false;
}

int tcpshm_conn_sync(tcpshm_conn *c, tcpshm_error *err)
{
    return c->tcp.open ? tcpshm_ptcp_queue_sync(&c->tcp.q, err) : 0;
}

static bool tcp_has_state(const tcpshm_conn *c) { return c->tcp.open; }

bool tcpshm_conn_state_fresh(const tcpshm_conn *c) { return c->tcp.open && tcpshm_ptcp_queue_fresh(&c->tcp.q); }

void tcpshm_conn_state_used(tcpshm_conn *c)
{
    if (c->tcp.open)
        tcpshm_ptcp_queue_mark_used(&c->tcp.q);
}

static void tcp_reset_for_new_peer(tcpshm_conn *c) { tcpshm_ptcp_queue_reset(&c->tcp.q); }

static bool tcp_login_seq_ok(tcpshm_conn *c, tcpshm_seq_mismatch *r)
{
    (void)c;
    return tcpshm_conn_ranges_agree(r);
}

static void tcp_login_accept(tcpshm_conn *c, tcpshm_seq_mismatch *r)
{
    (void)tcpshm_ptcp_queue_rewind(&c->tcp.q, r->remote_ack, NULL);
    if (c->side == TCPSHM_CONN_SERVER) {
        TCPSHM_CRASH_SITE("tcpshm/crash/login/server_after_rewind");
    }
    r->local_seq_start = tcpshm_ptcp_queue_seq_start(&c->tcp.q);
}

bool tcpshm_conn_tcp_send_queued(tcpshm_conn *c)
{
    if (!c->tcp.open)
        return true;
    for (;;) {
        const uint8_t *p;
        uint32_t len = tcpshm_ptcp_queue_sendable(&c->tcp.q, &p);
        if (len == 0)
            return true;
        int64_t n = tcpshm_conn_send_some(c, p, len);
        if (n < 0)
            return false;
        tcpshm_ptcp_queue_mark_sent(&c->tcp.q, (uint32_t)n);
        if ((uint32_t)n < len)
            return true;
    }
}

/* Every header acknowledges our queue. */
static bool tcp_on_frame(tcpshm_conn *c, tcpshm_msg_header *h)
{
    tcpshm_error err;
    if (tcpshm_ptcp_queue_ack(&c->tcp.q, h->ack_seq, &err) != 0) {
        /* The message that broke the protocol is not delivered; the
         * ones scanned before it still are. */
        tcpshm_frame_parser_unscan(&c->rx, h);
        tcpshm_conn_fail(c, err.text, 0);
        return false;
    }
    /* A heartbeat with nothing unpopped before it is done with at once. */
    if (h->msg_type == TCPSHM_MSG_HEARTBEAT && tcpshm_frame_parser_front(&c->rx) == h)
        tcpshm_frame_parser_pop(&c->rx);
    return true;
}

static bool tcp_nothing_to_send(tcpshm_conn *c)
{
    const uint8_t *p;
    return tcpshm_ptcp_queue_sendable(&c->tcp.q, &p) == 0;
}

static bool tcp_is_connected(const tcpshm_conn *c) { return c->fd >= 0 && c->established; }

static tcpshm_msg_header *tcp_alloc(tcpshm_conn *c, uint16_t body_size)
{
    return c->tcp.open ? tcpshm_ptcp_queue_alloc(&c->tcp.q, body_size) : NULL;
}

static int tcp_push_more(tcpshm_conn *c)
{
    return c->tcp.open ? tcpshm_ptcp_queue_push_more(&c->tcp.q, NULL) : TCPSHM_E_ARG;
}

/* Host durability: the batch and this message are synced before it returns
 * (a failed sync is TCPSHM_E_SYSTEM, errno set, and nothing of the batch is
 * queued). */
static int tcp_push(tcpshm_conn *c)
{
    int rc = c->tcp.open ? tcpshm_ptcp_queue_push(&c->tcp.q, NULL) : TCPSHM_E_ARG;
    if (rc == 0 && c->fd >= 0)
        (void)tcpshm_conn_flush(c);
    return rc;
}

static tcpshm_msg_header *tcp_front(tcpshm_conn *c)
{
    if (!c->tcp.open)
        return NULL;
    for (;;) {
        tcpshm_msg_header *h = tcpshm_frame_parser_front(&c->rx);
        if (!h || h->msg_type != TCPSHM_MSG_HEARTBEAT)
            return h;
        tcpshm_frame_parser_pop(&c->rx);
    }
}

static void tcp_pop(tcpshm_conn *c)
{
    tcpshm_frame_parser_pop(&c->rx);
    tcpshm_ptcp_queue_popped(&c->tcp.q);
}

static uint32_t tcp_seq_start(const tcpshm_conn *c)
{
    return c->tcp.open ? tcpshm_ptcp_queue_seq_start(&c->tcp.q) : 0;
}

static uint32_t tcp_seq_end(const tcpshm_conn *c)
{
    return c->tcp.open ? tcpshm_ptcp_queue_seq_end(&c->tcp.q) : 0;
}

static uint32_t tcp_my_ack(const tcpshm_conn *c)
{
    return c->tcp.open ? tcpshm_ptcp_queue_my_ack(&c->tcp.q) : 0;
}

const tcpshm_conn_transport tcpshm_conn_tcp = {
    .open = tcp_open_state,
    .has_state = tcp_has_state,
    .reset_for_new_peer = tcp_reset_for_new_peer,
    .login_seq_ok = tcp_login_seq_ok,
    .login_accept = tcp_login_accept,
    .on_frame = tcp_on_frame,
    .nothing_to_send = tcp_nothing_to_send,
    .is_connected = tcp_is_connected,
    .alloc = tcp_alloc,
    .push = tcp_push,
    .push_more = tcp_push_more,
    .front = tcp_front,
    .pop = tcp_pop,
    .seq_start = tcp_seq_start,
    .seq_end = tcp_seq_end,
    .my_ack = tcp_my_ack,
};
