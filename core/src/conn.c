/* One connection: over TCP, send (control bytes, then queued messages),
 * heartbeats, receive and parse, acknowledgements, timeouts, delivery; over
 * SHM, the same API on two shared-memory queues, with TCP for the login
 * and heartbeats only. */
#include <errno.h>
#include <string.h>

#include "conn_internal.h"
#include "error_set.h"
#include "io.h"

void tcpshm_conn_init(tcpshm_conn *c, const tcpshm_config *cfg, const tcpshm_env *env,
                      const char *local, uint8_t *rx_buf)
{
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->env = env;
    c->fd = -1;
    c->rx_buf = rx_buf;
    memcpy(c->local, local, strnlen(local, TCPSHM_NAME_MAX));
    /* config_check guarantees the parser's constraints. */
    (void)tcpshm_frame_parser_init(&c->rx, rx_buf, cfg->recv_buf_size, cfg->max_msg_size,
                                   cfg->little_endian, NULL);
}

static void set_remote(tcpshm_conn *c, const char *remote)
{
    memset(c->remote, 0, sizeof c->remote);
    memcpy(c->remote, remote, strnlen(remote, TCPSHM_NAME_MAX));
}

int tcpshm_conn_open_queue(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err)
{
    if (c->q_open && strcmp(c->remote, remote) == 0)
        return 0;
    tcpshm_conn_close_queue(c);
    tcpshm_ptcp_queue_config qc = {c->cfg->queue_size, c->cfg->max_msg_size, c->cfg->little_endian,
                                   c->cfg->file_mode};
    int rc = tcpshm_ptcp_queue_open(&c->q, c->env, dir, c->local, remote, &qc, err);
    if (rc)
        return rc;
    set_remote(c, remote);
    c->q_open = true;
    return 0;
}

int tcpshm_conn_open_shm(tcpshm_conn *c, const char *remote, tcpshm_error *err)
{
    if (c->shm_open && strcmp(c->remote, remote) == 0)
        return 0;
    tcpshm_conn_close_shm(c);
    char out_name[2 * TCPSHM_NAME_MAX + 16], in_name[2 * TCPSHM_NAME_MAX + 16];
    if (tcpshm_shm_queue_name(out_name, sizeof out_name, c->local, remote) != 0 ||
        tcpshm_shm_queue_name(in_name, sizeof in_name, remote, c->local) != 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "shared-memory names too long");
    const tcpshm_config *cfg = c->cfg;
    int rc = tcpshm_shm_queue_open(&c->shm_out, c->env, out_name, cfg->shm_queue_size, cfg->max_msg_size,
                                   true, true, cfg->file_mode, err);
    if (rc)
        return rc;
    rc = tcpshm_shm_queue_open(&c->shm_in, c->env, in_name, cfg->shm_queue_size, cfg->max_msg_size, false,
                               true, cfg->file_mode, err);
    if (rc) {
        tcpshm_shm_queue_close(&c->shm_out);
        return rc;
    }
    set_remote(c, remote);
    c->shm_open = true;
    __atomic_store_n(&c->shm_failed, 0, __ATOMIC_RELAXED);
    return 0;
}

void tcpshm_conn_close_shm(tcpshm_conn *c)
{
    if (c->shm_open) {
        tcpshm_shm_queue_close(&c->shm_out);
        tcpshm_shm_queue_close(&c->shm_in);
    }
    c->shm_open = false;
}

void tcpshm_conn_reset_shm(tcpshm_conn *c)
{
    if (!c->shm_open)
        return;
    tcpshm_shm_queue_reset(&c->shm_out);
    tcpshm_shm_queue_reset(&c->shm_in);
    __atomic_store_n(&c->shm_failed, 0, __ATOMIC_RELAXED);
}

bool tcpshm_conn_has_state(const tcpshm_conn *c) { return c->shm ? c->shm_open : c->q_open; }

void tcpshm_conn_seq_state(const tcpshm_conn *c, uint32_t *start, uint32_t *end, uint32_t *ack)
{
    *start = tcpshm_conn_seq_start(c);
    *end = tcpshm_conn_seq_end(c);
    *ack = tcpshm_conn_my_ack(c);
}

void tcpshm_conn_close_queue(tcpshm_conn *c)
{
    if (c->q_open)
        tcpshm_ptcp_queue_close(&c->q);
    c->q_open = false;
}

void tcpshm_conn_attach(tcpshm_conn *c, int fd, int64_t now)
{
    c->fd = fd;
    tcpshm_frame_parser_reset(&c->rx);
    c->ctrl_len = c->ctrl_sent = 0;
    c->now = c->last_send = c->last_recv = now;
    c->established = false;
    __atomic_store_n(&c->close_requested, false, __ATOMIC_RELAXED);
    c->close_reason[0] = '\0';
    c->close_errno = 0;
    if (c->cfg->tcp_nodelay)
        (void)tcpshm_io_set_nodelay(c->env, fd, 1);
}

void tcpshm_conn_fail(tcpshm_conn *c, const char *reason, int sys_errno)
{
    if (c->fd < 0)
        return;
    (void)tcpshm_io_sock_close(c->env, c->fd);
    c->fd = -1;
    c->established = false;
    size_t n = strnlen(reason, sizeof c->close_reason - 1);
    memcpy(c->close_reason, reason, n);
    c->close_reason[n] = '\0';
    c->close_errno = sys_errno;
}

bool tcpshm_conn_send_ctrl(tcpshm_conn *c, const void *bytes, uint32_t len)
{
    if (c->ctrl_sent == c->ctrl_len)
        c->ctrl_sent = c->ctrl_len = 0;
    if (len > TCPSHM_CTRL_OUT_MAX - c->ctrl_len)
        return false;
    memcpy(c->ctrl_out + c->ctrl_len, bytes, len);
    c->ctrl_len += len;
    return true;
}

static bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

/* Sends up to len bytes; returns how many went, or -1 after closing the link. */
static int64_t send_some(tcpshm_conn *c, const uint8_t *p, uint32_t len)
{
    ssize_t n = tcpshm_io_send(c->env, c->fd, p, len);
    if (n < 0) {
        if (would_block(errno))
            return 0;
        tcpshm_conn_fail(c, "Send error", errno);
        return -1;
    }
    if (n > 0)
        c->last_send = c->now;
    return (int64_t)n;
}

bool tcpshm_conn_flush(tcpshm_conn *c)
{
    if (c->fd < 0)
        return false;
    while (c->ctrl_sent < c->ctrl_len) {
        int64_t n = send_some(c, c->ctrl_out + c->ctrl_sent, c->ctrl_len - c->ctrl_sent);
        if (n < 0)
            return false;
        if (n == 0)
            return true; /* the socket is full; control bytes go first next time */
        c->ctrl_sent += (uint32_t)n;
    }
    if (!c->established || !c->q_open)
        return true;
    for (;;) {
        const uint8_t *p;
        uint32_t len = tcpshm_ptcp_queue_sendable(&c->q, &p);
        if (len == 0)
            return true;
        int64_t n = send_some(c, p, len);
        if (n < 0)
            return false;
        tcpshm_ptcp_queue_mark_sent(&c->q, (uint32_t)n);
        if ((uint32_t)n < len)
            return true;
    }
}

static void send_heartbeat(tcpshm_conn *c)
{
    uint8_t hb[TCPSHM_HEADER_SIZE];
    tcpshm_msg_header h = {TCPSHM_HEADER_SIZE, TCPSHM_MSG_HEARTBEAT, tcpshm_conn_my_ack(c)};
    tcpshm_header_encode(&h, hb, c->cfg->little_endian);
    if (tcpshm_conn_send_ctrl(c, hb, sizeof hb))
        (void)tcpshm_conn_flush(c);
}

/* Parses what arrived: every header acknowledges our queue. */
static bool scan_received(tcpshm_conn *c)
{
    tcpshm_msg_header *h;
    tcpshm_error err;
    int rc;
    while ((rc = tcpshm_frame_parser_scan(&c->rx, &h, &err)) == 1) {
        if (c->shm) {
            /* SHM: TCP carries heartbeats only; acks mean nothing here */
            if (h->msg_type != TCPSHM_MSG_HEARTBEAT) {
                tcpshm_conn_fail(c, "Bad frame: application message over TCP in SHM mode", 0);
                return false;
            }
            tcpshm_frame_parser_pop(&c->rx);
            continue;
        }
        if (tcpshm_ptcp_queue_ack(&c->q, h->ack_seq, &err) != 0) {
            /* The message that broke the protocol is not delivered; the
             * ones scanned before it still are. */
            tcpshm_frame_parser_unscan(&c->rx, h);
            tcpshm_conn_fail(c, err.text, 0);
            return false;
        }
        /* A heartbeat with nothing unpopped before it is done with at once. */
        if (h->msg_type == TCPSHM_MSG_HEARTBEAT && tcpshm_frame_parser_front(&c->rx) == h)
            tcpshm_frame_parser_pop(&c->rx);
    }
    if (rc < 0) {
        tcpshm_conn_fail(c, rc == TCPSHM_E_FRAME_LARGE ? "Msg size larger than recv buf max size"
                                                       : "Bad frame",
                         0);
        return false;
    }
    return true;
}

/* Reads what the socket has (a few reads at most); false after closing. */
static bool receive(tcpshm_conn *c)
{
    for (int i = 0; i < 4; i++) {
        uint32_t room;
        uint8_t *p = tcpshm_frame_parser_space(&c->rx, &room);
        if (room == 0)
            return true; /* full of unpopped messages: the application pops first */
        ssize_t n = tcpshm_io_recv(c->env, c->fd, p, room);
        if (n == 0) {
            tcpshm_conn_fail(c, "Remote close", 0);
            return false;
        }
        if (n < 0) {
            if (would_block(errno))
                return true;
            tcpshm_conn_fail(c, "Read error", errno);
            return false;
        }
        tcpshm_frame_parser_received(&c->rx, (uint32_t)n);
        c->last_recv = c->now;
        if ((uint32_t)n < room)
            return true;
    }
    return true;
}

bool tcpshm_conn_poll_io(tcpshm_conn *c, int64_t now)
{
    c->now = now;
    if (c->fd < 0)
        return false;
    if (__atomic_load_n(&c->close_requested, __ATOMIC_RELAXED)) {
        tcpshm_conn_fail(c, "Request close", 0);
        return false;
    }
    if (__atomic_load_n(&c->shm_failed, __ATOMIC_ACQUIRE)) {
        tcpshm_conn_fail(c, c->shm_fail_reason, 0);
        return false;
    }
    if (!tcpshm_conn_flush(c))
        return false;
    if (c->established && now - c->last_send >= c->cfg->heartbeat_interval &&
        c->ctrl_sent == c->ctrl_len) {
        const uint8_t *p;
        if (c->shm || tcpshm_ptcp_queue_sendable(&c->q, &p) == 0)
            send_heartbeat(c);
        if (c->fd < 0)
            return false;
    }
    if (!receive(c))
        return false;
    if (c->established && !scan_received(c))
        return false;
    if (now - c->last_recv > c->cfg->connection_timeout) {
        tcpshm_conn_fail(c, "Timeout", 0);
        return false;
    }
    return true;
}

void tcpshm_conn_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user)
{
    tcpshm_msg_header *m;
    while (!__atomic_load_n(&c->close_requested, __ATOMIC_RELAXED) && (m = tcpshm_conn_front(c)) != NULL) {
        uint64_t pops = c->pops;
        cb(user, c, m);
        if (c->pops == pops)
            break; /* not popped: it comes again at the next poll */
    }
}

/* ---- public API ---- */

tcpshm_msg_header *tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size)
{
    if (c->shm) {
        if (!c->shm_open)
            return NULL;
        tcpshm_msg_header *h = tcpshm_shm_queue_alloc(&c->shm_out, body_size);
        if (h) /* as over TCP: our ack at the time of the push */
            h->ack_seq = tcpshm_shm_queue_consumer_count(&c->shm_in);
        return h;
    }
    return c->q_open ? tcpshm_ptcp_queue_alloc(&c->q, body_size) : NULL;
}

int tcpshm_conn_push_more(tcpshm_conn *c)
{
    if (c->shm)
        return c->shm_open ? tcpshm_shm_queue_push(&c->shm_out) : TCPSHM_E_ARG;
    return c->q_open ? tcpshm_ptcp_queue_push(&c->q, NULL) : TCPSHM_E_ARG;
}

int tcpshm_conn_push(tcpshm_conn *c)
{
    int rc = tcpshm_conn_push_more(c);
    if (rc == 0 && !c->shm && c->fd >= 0)
        (void)tcpshm_conn_flush(c);
    return rc;
}

/* SHM front: a malformed slot from the peer closes the connection (the TCP
 * side's next poll does it, with this reason). */
static tcpshm_msg_header *shm_front(tcpshm_conn *c)
{
    if (!c->shm_open || __atomic_load_n(&c->shm_failed, __ATOMIC_ACQUIRE))
        return NULL;
    bool bad;
    tcpshm_error err;
    tcpshm_msg_header *h = tcpshm_shm_queue_front(&c->shm_in, &bad, &err);
    if (bad) {
        size_t n = strnlen(err.text, sizeof c->shm_fail_reason - 1);
        memcpy(c->shm_fail_reason, err.text, n);
        c->shm_fail_reason[n] = '\0';
        __atomic_store_n(&c->shm_failed, 1, __ATOMIC_RELEASE);
    }
    return h;
}

tcpshm_msg_header *tcpshm_conn_front(tcpshm_conn *c)
{
    if (c->shm)
        return shm_front(c);
    if (!c->q_open)
        return NULL;
    for (;;) {
        tcpshm_msg_header *h = tcpshm_frame_parser_front(&c->rx);
        if (!h || h->msg_type != TCPSHM_MSG_HEARTBEAT)
            return h;
        tcpshm_frame_parser_pop(&c->rx);
    }
}

void tcpshm_conn_pop(tcpshm_conn *c)
{
    if (!tcpshm_conn_front(c))
        return;
    if (c->shm) {
        tcpshm_shm_queue_pop(&c->shm_in);
    } else {
        tcpshm_frame_parser_pop(&c->rx);
        tcpshm_ptcp_queue_popped(&c->q);
    }
    c->pops++;
}

void tcpshm_conn_close(tcpshm_conn *c) { __atomic_store_n(&c->close_requested, true, __ATOMIC_RELAXED); }

bool tcpshm_conn_is_connected(const tcpshm_conn *c)
{
    if (c->shm)
        return __atomic_load_n(&c->shm_live, __ATOMIC_ACQUIRE) != 0;
    return c->fd >= 0 && c->established;
}

const char *tcpshm_conn_close_reason(const tcpshm_conn *c, int *sys_errno)
{
    if (sys_errno)
        *sys_errno = c->close_errno;
    return c->close_reason;
}

const char *tcpshm_conn_local_name(const tcpshm_conn *c) { return c->local; }
const char *tcpshm_conn_remote_name(const tcpshm_conn *c) { return c->remote; }
/* Over SHM each number is a count published in a segment, so any thread
 * may ask; seq_end and my_ack read lines this side writes, only seq_start
 * reads the peer's (keep it off hot paths). */
uint32_t tcpshm_conn_seq_start(const tcpshm_conn *c)
{
    if (c->shm)
        return c->shm_open ? tcpshm_shm_queue_consumer_count(&c->shm_out) : 0;
    return c->q_open ? tcpshm_ptcp_queue_seq_start(&c->q) : 0;
}

uint32_t tcpshm_conn_seq_end(const tcpshm_conn *c)
{
    if (c->shm)
        return c->shm_open ? tcpshm_shm_queue_producer_count(&c->shm_out) : 0;
    return c->q_open ? tcpshm_ptcp_queue_seq_end(&c->q) : 0;
}

uint32_t tcpshm_conn_my_ack(const tcpshm_conn *c)
{
    if (c->shm)
        return c->shm_open ? tcpshm_shm_queue_consumer_count(&c->shm_in) : 0;
    return c->q_open ? tcpshm_ptcp_queue_my_ack(&c->q) : 0;
}
void tcpshm_conn_set_user(tcpshm_conn *c, void *user) { c->user = user; }
void *tcpshm_conn_user(const tcpshm_conn *c) { return c->user; }
