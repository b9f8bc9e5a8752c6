/* What every connection does whatever carries its messages: control bytes,
 * heartbeats, receive and parse, timeouts, delivery, the live flag, the
 * login's sequence judgement; and the one place that picks the transport
 * (c->tp: conn_tcp.c or conn_shm.c, behind conn_transport.h). */
#include <errno.h>
#include <string.h>

#include "conn_transport.h"
#include "error_set.h"
#include "io.h"
#include "tcpshm/login.h"

void tcpshm_conn_init(tcpshm_conn *c, const tcpshm_config *cfg, const tcpshm_env *env,
                      tcpshm_conn_side side, const char *local, uint8_t *rx_buf)
{
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->env = env;
    c->side = side;
    c->tp = &tcpshm_conn_tcp;
    c->fd = -1;
    c->rx_buf = rx_buf;
    memcpy(c->local, local, strnlen(local, TCPSHM_NAME_MAX));
    /* config_check guarantees the parser's constraints. */
    (void)tcpshm_frame_parser_init(&c->rx, rx_buf, cfg->recv_buf_size, cfg->max_msg_size,
                                   cfg->little_endian, NULL);
}

void tcpshm_conn_set_remote(tcpshm_conn *c, const char *remote)
{
    memset(c->remote, 0, sizeof c->remote);
    memcpy(c->remote, remote, strnlen(remote, TCPSHM_NAME_MAX));
}

/* ---- the live flag and poll_shm ----
 *
 * poll_shm reads the segments only while the live flag is set; the TCP side
 * clears it when the link drops, and only then may a later login swap the
 * segments (a new server name) or the transport. The client's poll_shm
 * raises busy before it looks at live, and the login side clears live
 * before it looks at busy; all four accesses are seq_cst, as in Dekker's
 * algorithm (release/acquire would let each side's load pass its own store
 * and both miss the other). So once a login sees live clear and busy
 * clear, poll_shm is not using the segments and will not until live is set
 * again. The server needs no busy flag: its slot state hands the slot over.
 * The flag is stored for TCP connections too, where nothing reads it. */

void tcpshm_conn_set_live(tcpshm_conn *c) { __atomic_store_n(&c->live, 1, __ATOMIC_SEQ_CST); }
void tcpshm_conn_clear_live(tcpshm_conn *c) { __atomic_store_n(&c->live, 0, __ATOMIC_SEQ_CST); }

bool tcpshm_conn_shm_in_use(const tcpshm_conn *c)
{
    return __atomic_load_n(&c->live, __ATOMIC_SEQ_CST) || __atomic_load_n(&c->busy, __ATOMIC_SEQ_CST);
}

/* (The client's poll_shm raises and drops busy inline: conn_internal.h.) */

/* ---- transport and persistent state ---- */

int tcpshm_conn_set_transport(tcpshm_conn *c, bool shm, tcpshm_error *err)
{
    const tcpshm_conn_transport *tp = shm ? &tcpshm_conn_shm : &tcpshm_conn_tcp;
    if (c->tp == tp)
        return 0;
    if (tcpshm_conn_shm_in_use(c)) /* poll_shm reads c->tp */
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, EAGAIN, "poll_shm is delivering; try again");
    c->tp = tp;
    return 0;
}

bool tcpshm_conn_is_shm(const tcpshm_conn *c) { return c->tp == &tcpshm_conn_shm; }

int tcpshm_conn_open_state(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err)
{
    return c->tp->open(c, dir, remote, err);
}

bool tcpshm_conn_has_state(const tcpshm_conn *c) { return c->tp->has_state(c); }

void tcpshm_conn_close_state(tcpshm_conn *c)
{
    tcpshm_conn_tcp_close(c);
    tcpshm_conn_shm_close(c);
}

void tcpshm_conn_release_state(tcpshm_conn *c)
{
    tcpshm_conn_tcp_close(c);
    if (!tcpshm_conn_shm_in_use(c))
        tcpshm_conn_shm_close(c);
}

void tcpshm_conn_seq_state(const tcpshm_conn *c, uint32_t *start, uint32_t *end, uint32_t *ack)
{
    *start = tcpshm_conn_seq_start(c);
    *end = tcpshm_conn_seq_end(c);
    *ack = tcpshm_conn_my_ack(c);
}

/* ---- login ---- */

void tcpshm_conn_reset_for_new_peer(tcpshm_conn *c) { c->tp->reset_for_new_peer(c); }

tcpshm_seq_mismatch tcpshm_conn_seq_report(const tcpshm_conn *c, uint32_t remote_start,
                                           uint32_t remote_end, uint32_t remote_ack)
{
    tcpshm_seq_mismatch r = {0, 0, 0, remote_start, remote_end, remote_ack};
    tcpshm_conn_seq_state(c, &r.local_seq_start, &r.local_seq_end, &r.local_ack);
    return r;
}

bool tcpshm_conn_ranges_agree(const tcpshm_seq_mismatch *r)
{
    return tcpshm_seq_ranges_consistent(r->local_seq_start, r->local_seq_end, r->remote_ack,
                                        r->remote_seq_start, r->remote_seq_end, r->local_ack);
}

bool tcpshm_conn_login_seq_ok(tcpshm_conn *c, tcpshm_seq_mismatch *r) { return c->tp->login_seq_ok(c, r); }
void tcpshm_conn_login_accept(tcpshm_conn *c, tcpshm_seq_mismatch *r) { c->tp->login_accept(c, r); }
void tcpshm_conn_set_established(tcpshm_conn *c) { c->established = true; }

/* ---- the link ---- */

void tcpshm_conn_attach(tcpshm_conn *c, int fd, int64_t now)
{
    c->fd = fd;
    tcpshm_frame_parser_reset(&c->rx);
    c->ctrl_len = c->ctrl_sent = 0;
    c->now = c->last_send = c->last_recv = c->next_check = now;
    c->established = false;
    __atomic_store_n(&c->close_requested, false, __ATOMIC_RELAXED);
    c->close_reason[0] = '\0';
    c->close_errno = 0;
    if (c->cfg->tcp_nodelay)
        (void)tcpshm_io_set_nodelay(c->env, fd, 1);
}

void tcpshm_conn_link_up(tcpshm_conn *c, int64_t now)
{
    c->now = now;
    c->last_recv = now;
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

int64_t tcpshm_conn_send_some(tcpshm_conn *c, const uint8_t *p, uint32_t len)
{
    /* Host durability: every byte that leaves carries an ack (a header, a
     * heartbeat, a login) or a queued message, so what it says must be on
     * stable storage first: pops batched since the last sync, a push_more
     * batch. A failed sync closes the link rather than send. */
    tcpshm_error err;
    if (c->cfg->durability == TCPSHM_DURABILITY_HOST && tcpshm_conn_sync(c, &err) != 0) {
        tcpshm_conn_fail(c, err.text, err.sys_errno);
        return -1;
    }
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
        int64_t n = tcpshm_conn_send_some(c, c->ctrl_out + c->ctrl_sent, c->ctrl_len - c->ctrl_sent);
        if (n < 0)
            return false;
        if (n == 0)
            return true; /* the socket is full; control bytes go first next time */
        c->ctrl_sent += (uint32_t)n;
    }
    if (!c->established)
        return true;
    /* Only a queue file holds messages for the socket. It is sent whenever
     * it is open, as before the transport split, even on an SHM link after
     * the client switched from TCP (kept as it was; the server then closes
     * the link: an application message over TCP in SHM mode). */
    return tcpshm_conn_tcp_send_queued(c);
}

static void send_heartbeat(tcpshm_conn *c)
{
    uint8_t hb[TCPSHM_HEADER_SIZE];
    tcpshm_msg_header h = {TCPSHM_HEADER_SIZE, TCPSHM_MSG_HEARTBEAT, tcpshm_conn_my_ack(c)};
    tcpshm_header_encode(&h, hb, c->cfg->little_endian);
    if (tcpshm_conn_send_ctrl(c, hb, sizeof hb))
        (void)tcpshm_conn_flush(c);
}

/* Parses what arrived; the transport handles each frame (acks, heartbeats). */
static bool scan_received(tcpshm_conn *c)
{
    tcpshm_msg_header *h;
    tcpshm_error err;
    int rc;
    while ((rc = tcpshm_frame_parser_scan(&c->rx, &h, &err)) == 1)
        if (!c->tp->on_frame(c, h))
            return false;
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

/* ---- the control plane's clock ---- */

int64_t tcpshm_ctl_interval(const tcpshm_config *cfg)
{
    int64_t quarter = cfg->heartbeat_interval / 4;
    return cfg->ctl_interval < quarter ? cfg->ctl_interval : quarter;
}

bool tcpshm_due(int64_t now, int64_t next, int64_t span)
{
    /* next was planned at most span ahead: further ahead, the caller's
     * clock went back, and waiting for it to catch up could stall. */
    return now >= next || next - now > span;
}

/* The next time the socket of an SHM link needs a look: the granularity,
 * or sooner if our heartbeat or the timeout falls due before. */
static void plan_next_check(tcpshm_conn *c, int64_t now)
{
    int64_t next = now + tcpshm_ctl_interval(c->cfg);
    int64_t hb = c->last_send + c->cfg->heartbeat_interval;
    int64_t to = c->last_recv + c->cfg->connection_timeout + 1;
    if (hb < next)
        next = hb;
    if (to < next)
        next = to;
    c->next_check = next;
}

/* An established SHM link's socket carries only heartbeats and the
 * peer's close: it is looked at when due (see ctl_interval in config.h),
 * so that polls in between make no system call. Control bytes still
 * waiting go out at once. */
static bool socket_can_wait(const tcpshm_conn *c, int64_t now)
{
    return c->established && tcpshm_conn_is_shm(c) && c->ctrl_sent == c->ctrl_len &&
           !tcpshm_due(now, c->next_check, tcpshm_ctl_interval(c->cfg));
}

bool tcpshm_conn_poll_io(tcpshm_conn *c, int64_t now) { return tcpshm_conn_poll_io_as(c, now, true); }

bool tcpshm_conn_poll_io_as(tcpshm_conn *c, int64_t now, bool readable)
{
    c->now = now;
    if (c->fd < 0)
        return false;
    if (__atomic_load_n(&c->close_requested, __ATOMIC_RELAXED)) {
        tcpshm_conn_fail(c, "Request close", 0);
        return false;
    }
    if (__atomic_load_n(&c->peer_failed, __ATOMIC_ACQUIRE) == 1) { /* 2: its reason is being written */
        tcpshm_conn_fail(c, c->peer_fail_reason, 0);
        return false;
    }
    if (socket_can_wait(c, now))
        return true;
    if (!tcpshm_conn_flush(c))
        return false;
    if (c->established && now - c->last_send >= c->cfg->heartbeat_interval &&
        c->ctrl_sent == c->ctrl_len) {
        if (c->tp->nothing_to_send(c))
            send_heartbeat(c);
        if (c->fd < 0)
            return false;
    }
    if (readable && !receive(c))
        return false;
    if (readable && c->established && !scan_received(c))
        return false;
    if (now - c->last_recv > c->cfg->connection_timeout) {
        tcpshm_conn_fail(c, "Timeout", 0);
        return false;
    }
    plan_next_check(c, now);
    return true;
}

bool tcpshm_conn_wants_poll(tcpshm_conn *c)
{
    if (c->fd < 0)
        return false;
    return c->ctrl_sent < c->ctrl_len || (c->established && !c->tp->nothing_to_send(c)) ||
           c->tp->front(c) != NULL || __atomic_load_n(&c->close_requested, __ATOMIC_RELAXED);
}

void tcpshm_conn_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user)
{
    if (c->tp == &tcpshm_conn_shm) {
        tcpshm_conn_shm_deliver(c, cb, user);
        return;
    }
    tcpshm_msg_header *m;
    while (!__atomic_load_n(&c->close_requested, __ATOMIC_RELAXED) && (m = tcpshm_conn_front(c)) != NULL) {
        uint64_t pops = c->pops;
        cb(user, c, m);
        if (c->pops == pops)
            break; /* not popped: it comes again at the next poll */
    }
}

/* ---- public API ---- */

tcpshm_msg_header *tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size) { return c->tp->alloc(c, body_size); }
int tcpshm_conn_push_more(tcpshm_conn *c) { return c->tp->push_more(c); }
int tcpshm_conn_push(tcpshm_conn *c) { return c->tp->push(c); }
tcpshm_msg_header *tcpshm_conn_front(tcpshm_conn *c) { return c->tp->front(c); }

void tcpshm_conn_pop(tcpshm_conn *c)
{
    if (c->tp == &tcpshm_conn_shm) {
        tcpshm_conn_shm_pop(c);
        return;
    }
    if (!tcpshm_conn_front(c))
        return;
    c->tp->pop(c);
    c->pops++;
}

void tcpshm_conn_close(tcpshm_conn *c) { __atomic_store_n(&c->close_requested, true, __ATOMIC_RELAXED); }

bool tcpshm_conn_is_connected(const tcpshm_conn *c) { return c->tp->is_connected(c); }

const char *tcpshm_conn_close_reason(const tcpshm_conn *c, int *sys_errno)
{
    if (sys_errno)
        *sys_errno = c->close_errno;
    return c->close_reason;
}

const char *tcpshm_conn_local_name(const tcpshm_conn *c) { return c->local; }
const char *tcpshm_conn_remote_name(const tcpshm_conn *c) { return c->remote; }
uint32_t tcpshm_conn_seq_start(const tcpshm_conn *c) { return c->tp->seq_start(c); }
uint32_t tcpshm_conn_seq_end(const tcpshm_conn *c) { return c->tp->seq_end(c); }
uint32_t tcpshm_conn_my_ack(const tcpshm_conn *c) { return c->tp->my_ack(c); }
void tcpshm_conn_set_user(tcpshm_conn *c, void *user) { c->user = user; }
void *tcpshm_conn_user(const tcpshm_conn *c) { return c->user; }
