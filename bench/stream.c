#include <stdio.h>
#include <string.h>

#include "alloc_count.h"
#include "lib_tcp.h"
#include "stream.h"

/* ---- the receiving side, shared by both transports ---- */

typedef struct sink {
    _Alignas(64) uint64_t warm, total; /* messages before measuring; all messages */
    uint64_t received;    /* atomic: written by the receiver */
    uint64_t next_seq;
    int64_t t_start, t_end;
    uint64_t a_start;     /* allocation count when measuring began */
    int bad;
} sink; /* aligned: nothing the producer writes shares the consumer's lines */

/* One message arrived: checks its sequence number, times the stream. */
static void sink_take(sink *s, const tcpshm_msg_header *m)
{
    uint64_t seq = 0;
    memcpy(&seq, m + 1, sizeof seq);
    if (seq != s->next_seq)
        s->bad = 1;
    s->next_seq++;
    uint64_t r = s->received + 1;
    if (r == s->warm) {
        s->t_start = bench_now();
        s->a_start = alloc_count();
    }
    if (r == s->total)
        s->t_end = bench_now();
    __atomic_store_n(&s->received, r, __ATOMIC_RELEASE);
}

static void sink_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    sink_take(user, m);
    tcpshm_conn_pop(c);
}

static void unexpected_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user, (void)m;
    tcpshm_conn_pop(c);
}

static int finish(sink *s, const char *what, uint64_t msgs, uint64_t a_end, double *msgs_per_s,
                  uint64_t *allocs)
{
    *allocs = a_end - s->a_start;
    if (s->bad) {
        fprintf(stderr, "tcpshm-bench: %s stream: a message arrived out of order\n", what);
        return -1;
    }
    *msgs_per_s = (double)msgs * 1e9 / (double)(s->t_end - s->t_start);
    return 0;
}

/* The producer copies into each message the whole body from payload (its
 * own buffer), as the floors copy every byte; the sequence number goes in
 * its first 8. */
static void fill(unsigned char *payload, tcpshm_msg_header *m, uint16_t body, uint64_t seq)
{
    m->msg_type = 1;
    memcpy(payload, &seq, sizeof seq);
    memcpy(m + 1, payload, body);
}

uint64_t stream_msgs_for(const bench_opts *o, uint32_t size)
{
    uint64_t msgs = o->stream_msgs, min = o->stream_min_bytes / size;
    return msgs > min ? msgs : min;
}

/* Opens the pair (SHM or TCP) with s receiving a stream of msgs after a
 * warm-up of a tenth as many (at least 1). Returns the total the producer
 * sends, its own copy (s's line is written by the receiver on every
 * message, and reading s->total per message pulled it over each time); 0
 * when the pair did not open. */
static uint64_t stream_open(lib_tcp *L, const bench_opts *o, const char *dir, const tcpshm_config *cfg, bool shm,
                            const lib_loop *loop, sink *s, uint64_t msgs)
{
    uint64_t warm = msgs / 10 ? msgs / 10 : 1;
    memset(s, 0, sizeof *s);
    s->warm = warm;
    s->total = warm + msgs;
    return lib_tcp_open(L, o, dir, cfg, shm, loop, sink_msg, s, unexpected_msg, NULL) != 0 ? 0 : warm + msgs;
}

/* ---- TCP through the connection API ---- */

int stream_tcp_run(const bench_opts *o, const char *dir, const lib_loop *loop, uint32_t size,
                   uint64_t msgs, double *msgs_per_s, uint64_t *allocs)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.queue_size = 8u << 20;
    cfg.heartbeat_interval = STREAM_TCP_HEARTBEAT_NS;
    static sink s;
    lib_tcp L;
    const uint64_t total = stream_open(&L, o, dir, &cfg, false, loop, &s, msgs);
    if (!total)
        return -1;
    uint16_t body = (uint16_t)(size - TCPSHM_HEADER_SIZE);
    unsigned char payload[4096];
    memset(payload, 0x5a, sizeof payload);
    uint64_t seq = 0;
    int rc = 0;
    while (__atomic_load_n(&s.received, __ATOMIC_ACQUIRE) < total) {
        uint32_t queued = 0;
        while (seq < total && queued < STREAM_TCP_BATCH) {
            tcpshm_msg_header *m = tcpshm_conn_alloc(L.conn, body);
            if (!m)
                break; /* full until the receiver's next heartbeat acknowledges */
            fill(payload, m, body, seq);
            tcpshm_conn_push_more(L.conn);
            seq++;
            queued += size;
        }
        /* one round of the client's loop sends the batch */
        lib_client_poll(&L);
        if (!tcpshm_conn_is_connected(L.conn)) {
            fprintf(stderr, "tcpshm-bench: TCP stream: the connection closed\n");
            rc = -1;
            break;
        }
    }
    uint64_t a_end = alloc_count(); /* before the teardown, which allocates */
    lib_tcp_close(&L);
    return rc ? rc : finish(&s, "TCP", msgs, a_end, msgs_per_s, allocs);
}

/* ---- SHM through the connection API ---- */

int stream_shm_run(const bench_opts *o, const char *dir, const lib_loop *loop, uint32_t size,
                   uint64_t msgs, double *msgs_per_s, uint64_t *allocs)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.shm_queue_size = STREAM_SHM_QUEUE;
    static sink s;
    lib_tcp L;
    const uint64_t total = stream_open(&L, o, dir, &cfg, true, loop, &s, msgs);
    if (!total)
        return -1;
    uint16_t body = (uint16_t)(size - TCPSHM_HEADER_SIZE);
    unsigned char payload[4096];
    memset(payload, 0x5a, sizeof payload);
    int rc = 0;
    for (uint64_t seq = 0; seq < total && rc == 0;) {
        tcpshm_msg_header *m = tcpshm_conn_alloc(L.conn, body);
        if (!m) {
            /* full until the server's poll_shm pops: a round of the client's
             * loop (its TCP side every ctl_every-th), a pause per the loop */
            if (lib_client_poll(&L) && !tcpshm_conn_is_connected(L.conn)) {
                fprintf(stderr, "tcpshm-bench: SHM stream: the connection closed\n");
                rc = -1;
            }
            if (L.loop.pause)
                bench_relax();
            continue;
        }
        fill(payload, m, body, seq);
        tcpshm_conn_push(L.conn);
        seq++;
    }
    while (rc == 0 && __atomic_load_n(&s.received, __ATOMIC_ACQUIRE) < total)
        if (lib_client_poll(&L) && !tcpshm_conn_is_connected(L.conn)) {
            fprintf(stderr, "tcpshm-bench: SHM stream: the connection closed\n");
            rc = -1;
        }
    uint64_t a_end = alloc_count(); /* before the teardown, which allocates */
    lib_tcp_close(&L);
    return rc ? rc : finish(&s, "SHM", msgs, a_end, msgs_per_s, allocs);
}
