/* The SHM half of a connection: messages go through two shared-memory
 * segments of the pair (we produce into one, consume the other); the
 * socket carries the login and heartbeats only. The segments belong to the
 * thread of poll_shm; the login touches them only while poll_shm keeps off
 * (see the live flag in conn.c). */
#include <errno.h>
#include <string.h>

#include "conn_transport.h"
#include "error_set.h"

/* At every login, not only at open: the segments' constants are still
 * ours, and the failure a previous link ended with is forgotten (a word
 * still bad is found again where it is read). */
static int shm_login_check(tcpshm_conn *c, tcpshm_error *err)
{
    int rc = tcpshm_shm_queue_check_header(&c->shm.out, err);
    if (!rc)
        rc = tcpshm_shm_queue_check_header(&c->shm.in, err);
    if (!rc)
        __atomic_store_n(&c->peer_failed, 0, __ATOMIC_RELEASE);
    return rc;
}

static int shm_open_state(tcpshm_conn *c, const char *dir, const char *remote, tcpshm_error *err)
{
    (void)dir;
    if (c->shm.open && strcmp(c->remote, remote) == 0)
        return shm_login_check(c, err);
    if (c->shm.open && tcpshm_conn_shm_in_use(c))
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, EAGAIN, "poll_shm is delivering; try again");
    tcpshm_conn_shm_close(c);
    char out_name[2 * TCPSHM_NAME_MAX + 16], in_name[2 * TCPSHM_NAME_MAX + 16];
    if (tcpshm_shm_queue_name(out_name, sizeof out_name, c->local, remote) != 0 ||
        tcpshm_shm_queue_name(in_name, sizeof in_name, remote, c->local) != 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "shared-memory names too long");
    tcpshm_shm_queue_config qc = {.capacity = c->cfg->shm_queue_size, .max_msg_size = c->cfg->max_msg_size,
                                  .producer = true, .create = true, .mode = c->cfg->file_mode};
    int rc = tcpshm_shm_queue_open(&c->shm.out, c->env, out_name, &qc, err);
    if (rc)
        return rc;
    qc.producer = false;
    rc = tcpshm_shm_queue_open(&c->shm.in, c->env, in_name, &qc, err);
    if (rc) {
        tcpshm_shm_queue_close(&c->shm.out);
        return rc;
    }
    tcpshm_conn_set_remote(c, remote);
    c->shm.open = true;
    __atomic_store_n(&c->peer_failed, 0, __ATOMIC_RELAXED);
    return 0;
}

void tcpshm_conn_shm_close(tcpshm_conn *c)
{
    if (c->shm.open) {
        tcpshm_shm_queue_close(&c->shm.out);
        tcpshm_shm_queue_close(&c->shm.in);
    }
    c->shm.open = false;
}

static bool shm_has_state(const tcpshm_conn *c) { return c->shm.open; }

/* The segments are shared: the server empties both before it answers and
 * may already be pushing into them when the client hears of it, so the
 * client must not. */
static void shm_reset_for_new_peer(tcpshm_conn *c)
{
    if (c->side != TCPSHM_CONN_SERVER || !c->shm.open)
        return;
    tcpshm_shm_queue_reset(&c->shm.out);
    tcpshm_shm_queue_reset(&c->shm.in);
    __atomic_store_n(&c->peer_failed, 0, __ATOMIC_RELAXED);
}

static bool shm_login_seq_ok(tcpshm_conn *c, tcpshm_seq_mismatch *r)
{
    if (c->shm.open && shm_login_check(c, NULL) != 0)
        return false;
    /* The client: both sides see the same segments, which the server
     * checked; the server may already be consuming, so our view may be newer. */
    if (c->side != TCPSHM_CONN_SERVER)
        return true;
    /* The server: the login's numbers are a snapshot from when it was sent,
     * and the client may push while its login is on the way (even while a
     * stale link of its dead predecessor is still being consumed here), so
     * its end may lag the segment it writes. The segment is shared: what it
     * holds now is the truth, as long as it holds at least what the
     * snapshot said. A count the client cannot have pushed (behind what we
     * popped, more than the queue holds ahead) is not taken: the snapshot
     * judges (the client's own count; its next push rewrites the word). */
    uint32_t end_now;
    if (c->shm.open && tcpshm_shm_queue_producer_count(&c->shm.in, &end_now) &&
        (int32_t)(end_now - r->remote_seq_end) > 0 && (int32_t)(r->remote_seq_end - r->remote_seq_start) >= 0)
        r->remote_seq_end = end_now;
    return tcpshm_conn_ranges_agree(r);
}

/* Each side republishes its consumer position before the peer can read it
 * at a login, so that a position word another process scribbled is put
 * right instead of being refused by the peer at every login (a client with
 * nothing left to pop never rewrites it otherwise: with the server's queue
 * full, the server read the scribbled word right after each accept and
 * closed again, in tests/test_shm_scribble.c under load). The value is the
 * one the last pop published: only a scribbled word changes.
 *
 * The client writes it before its login goes out, when poll_shm is not
 * looking (live and busy clear: conn.c), so this thread is its only writer.
 * If poll_shm is still looking, the accepted login leaves it owed and
 * poll_shm pays it (tcpshm_conn_shm_pay_republish). The server's login
 * runs in the thread of its pops (poll_shm): it writes at once. Either
 * segment may be open with the TCP transport chosen (a switch): writing
 * the same value there is harmless. */
void tcpshm_conn_shm_before_login(tcpshm_conn *c)
{
    if (c->shm.open && !tcpshm_conn_shm_in_use(c))
        tcpshm_shm_queue_republish(&c->shm.in);
}

/* Nothing to free or resend: the segments hold the unconsumed messages. */
static void shm_login_accept(tcpshm_conn *c, tcpshm_seq_mismatch *r)
{
    (void)r;
    if (c->side == TCPSHM_CONN_SERVER && c->shm.open)
        tcpshm_shm_queue_republish(&c->shm.in);
    else if (c->shm.open) /* before the live flag is set: poll_shm sees it with live */
        __atomic_store_n(&c->republish, 1, __ATOMIC_RELEASE);
}

/* TCP carries heartbeats only; acks mean nothing here. */
static bool shm_on_frame(tcpshm_conn *c, tcpshm_msg_header *h)
{
    if (h->msg_type != TCPSHM_MSG_HEARTBEAT) {
        tcpshm_conn_fail(c, "Bad frame: application message over TCP in SHM mode", 0);
        return false;
    }
    tcpshm_frame_parser_pop(&c->rx);
    return true;
}

static bool shm_nothing_to_send(tcpshm_conn *c)
{
    (void)c;
    return true;
}

static bool shm_is_connected(const tcpshm_conn *c) { return __atomic_load_n(&c->live, __ATOMIC_ACQUIRE) != 0; }

/* The peer broke the protocol in a segment (a bad slot or position word):
 * the TCP side's next poll closes the connection with this reason. The
 * first report wins (the consumer's thread and a pushing thread may both
 * find one): 2 while its reason is written, then 1. */
static void shm_peer_failed(tcpshm_conn *c, const char *reason)
{
    uint32_t none = 0;
    if (!__atomic_compare_exchange_n(&c->peer_failed, &none, 2, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    size_t n = strnlen(reason, sizeof c->peer_fail_reason - 1);
    memcpy(c->peer_fail_reason, reason, n);
    c->peer_fail_reason[n] = '\0';
    __atomic_store_n(&c->peer_failed, 1, __ATOMIC_RELEASE);
}

static tcpshm_msg_header *shm_alloc(tcpshm_conn *c, uint16_t body_size)
{
    if (!c->shm.open)
        return NULL;
    tcpshm_msg_header *h = tcpshm_shm_queue_alloc(&c->shm.out, body_size);
    if (h) /* as over TCP: our ack at the time of the push */
        h->ack_seq = tcpshm_shm_queue_popped(&c->shm.in);
    else if (tcpshm_shm_queue_fault(&c->shm.out))
        shm_peer_failed(c, tcpshm_shm_queue_fault(&c->shm.out));
    return h;
}

static int shm_push(tcpshm_conn *c) { return c->shm.open ? tcpshm_shm_queue_push(&c->shm.out) : TCPSHM_E_ARG; }

/* A malformed slot from the peer closes the connection (the TCP side's
 * next poll does it, with this reason). */
static tcpshm_msg_header *shm_front(tcpshm_conn *c)
{
    if (!c->shm.open || __atomic_load_n(&c->peer_failed, __ATOMIC_ACQUIRE))
        return NULL;
    bool bad;
    tcpshm_error err;
    tcpshm_msg_header *h = tcpshm_shm_queue_front(&c->shm.in, &bad, &err);
    if (bad)
        shm_peer_failed(c, err.text);
    return h;
}

static void shm_pop(tcpshm_conn *c) { tcpshm_shm_queue_pop(&c->shm.in); }

/* tcpshm_conn_deliver and tcpshm_conn_pop of an SHM link, without the
 * transport table (conn.c sends them here): poll_shm's rounds and the
 * echo of a message are the SHM hot path, and each call through the table
 * lengthens the time until a side sees a slot or publishes the next one.
 * When a message is there, the line of our next slot is asked for at once
 * (a hint): the peer spins on it, and a reply written in on_msg no longer
 * waits for it (bench/README.md "SHM echo p50"). */
void tcpshm_conn_shm_deliver(tcpshm_conn *c, tcpshm_msg_cb cb, void *user)
{
    tcpshm_msg_header *m;
    bool warmed = false;
    while (!__atomic_load_n(&c->close_requested, __ATOMIC_RELAXED)) {
        if (c->shm.open && tcpshm_shm_queue_idle(&c->shm.in))
            return;
        if (c->shm.open && !warmed) {
            tcpshm_shm_queue_warm(&c->shm.out);
            warmed = true;
        }
        if ((m = shm_front(c)) == NULL)
            return;
        uint64_t pops = c->pops;
        cb(user, c, m);
        if (c->pops == pops)
            return; /* not popped: it comes again at the next poll */
    }
}

void tcpshm_conn_shm_pop(tcpshm_conn *c)
{
    /* front again: the slot word and size are checked once more */
    if (!shm_front(c))
        return;
    tcpshm_shm_queue_pop(&c->shm.in);
    c->pops++;
}

/* Any thread may ask. seq_end and my_ack are this side's private counts
 * (never read back from the segment, which anyone can write); seq_start is
 * the peer's published pop count (keep it off hot paths), taken only while
 * it is one the peer can have reached, else the last one known good (the
 * next alloc that needs room reports the bad word). */
static uint32_t shm_seq_start(const tcpshm_conn *c)
{
    uint32_t start = 0;
    if (c->shm.open)
        (void)tcpshm_shm_queue_consumer_count(&c->shm.out, &start);
    return start;
}

static uint32_t shm_seq_end(const tcpshm_conn *c) { return c->shm.open ? tcpshm_shm_queue_pushed(&c->shm.out) : 0; }

static uint32_t shm_my_ack(const tcpshm_conn *c) { return c->shm.open ? tcpshm_shm_queue_popped(&c->shm.in) : 0; }

const tcpshm_conn_transport tcpshm_conn_shm = {
    .open = shm_open_state,
    .has_state = shm_has_state,
    .reset_for_new_peer = shm_reset_for_new_peer,
    .login_seq_ok = shm_login_seq_ok,
    .login_accept = shm_login_accept,
    .on_frame = shm_on_frame,
    .nothing_to_send = shm_nothing_to_send,
    .is_connected = shm_is_connected,
    .alloc = shm_alloc,
    .push = shm_push,
    .push_more = shm_push,
    .front = shm_front,
    .pop = shm_pop,
    .seq_start = shm_seq_start,
    .seq_end = shm_seq_end,
    .my_ack = shm_my_ack,
};
