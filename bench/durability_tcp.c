/* tcpshm-bench --durability, over a TCP connection: a client and a server of
 * the library on loopback (lib_tcp.h), their queue files in --dir, 64-byte
 * messages, durability process or host on both sides. What the queue-alone
 * rows (durability.c) leave out: the socket, the receiver's pops (synced
 * before the ack that covers them leaves, in host mode) and the acks that
 * come back in its heartbeats. */
#include <stdio.h>
#include <string.h>

#include "durability.h"
#include "lib_tcp.h"
#include "stream.h"

#define BODY 56u /* a 64-byte message with its header, as in durability.c */

typedef struct dur_sink {
    _Alignas(64) uint64_t received; /* written by the server thread only */
} dur_sink;

static void sink_pop(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    dur_sink *s = user;
    (void)m;
    tcpshm_conn_pop(c);
    __atomic_store_n(&s->received, s->received + 1, __ATOMIC_RELEASE);
}

static int open_pair(lib_tcp *L, const bench_opts *o, const char *dir, bool host, dur_sink *s)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.durability = host ? TCPSHM_DURABILITY_HOST : TCPSHM_DURABILITY_PROCESS;
    /* acks in the receiver's heartbeats, as in the TCP stream rows */
    cfg.queue_size = 8u << 20;
    cfg.heartbeat_interval = STREAM_TCP_HEARTBEAT_NS;
    memset(s, 0, sizeof *s);
    lib_loop loop = lib_loop_lean(o);
    return lib_tcp_open(L, o, dir, &cfg, false, &loop, sink_pop, s, NULL, NULL);
}

/* Client loop rounds until the server has popped `want` messages; -1 when
 * the connection closed. */
static int wait_received(lib_tcp *L, const dur_sink *s, uint64_t want)
{
    while (__atomic_load_n(&s->received, __ATOMIC_ACQUIRE) < want)
        if (lib_client_poll(L) && !tcpshm_conn_is_connected(L->conn)) {
            fprintf(stderr, "tcpshm-bench: durability over TCP: the connection closed\n");
            return -1;
        }
    return 0;
}

/* alloc (client loop rounds while the queue is full) and fill. */
static tcpshm_msg_header *alloc_msg(lib_tcp *L)
{
    tcpshm_msg_header *h;
    while (!(h = tcpshm_conn_alloc(L->conn, BODY)))
        if (lib_client_poll(L) && !tcpshm_conn_is_connected(L->conn))
            return NULL;
    h->msg_type = 1;
    memset(h + 1, 0x5a, BODY);
    return h;
}

/* Push latency: alloc + fill + push timed (push sends the message, and in
 * host mode syncs it first); then the client's loop until the server has
 * popped it, untimed, so no sample waits behind another. */
static int tcp_push_latency(const bench_opts *o, const char *dir, bool host, int64_t *samples,
                            uint32_t n, lat_summary *out)
{
    lib_tcp L;
    static dur_sink s;
    if (open_pair(&L, o, dir, host, &s))
        return -1;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        int64_t t0 = bench_now();
        tcpshm_msg_header *h = alloc_msg(&L);
        rc = h ? tcpshm_conn_push(L.conn) : -1;
        samples[i] = bench_now() - t0;
        if (rc == 0)
            rc = wait_received(&L, &s, i + 1u);
        else
            fprintf(stderr, "tcpshm-bench: durability over TCP: push failed\n");
    }
    lib_tcp_close(&L);
    if (rc == 0)
        stats_summarize(samples, n, out);
    return rc;
}

/* Messages per second from the first alloc to the server's pop of the
 * n-th: batches of `batch` (batch - 1 push_more and a push, which syncs the
 * batch once in host mode), a round of the client's loop after each. */
static double tcp_stream(const bench_opts *o, const char *dir, bool host, uint32_t batch, uint32_t n)
{
    lib_tcp L;
    static dur_sink s;
    if (open_pair(&L, o, dir, host, &s))
        return -1;
    int rc = 0;
    int64_t t0 = bench_now();
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        bool last = (i + 1) % batch == 0 || i + 1 == n;
        if (!alloc_msg(&L))
            rc = -1;
        else if ((last ? tcpshm_conn_push(L.conn) : tcpshm_conn_push_more(L.conn)) != 0)
            rc = -1;
        else if (last)
            (void)lib_client_poll(&L);
    }
    if (rc == 0)
        rc = wait_received(&L, &s, n);
    else
        fprintf(stderr, "tcpshm-bench: durability over TCP: push failed\n");
    double secs = (double)(bench_now() - t0) / 1e9;
    lib_tcp_close(&L);
    return rc ? -1 : (double)n / secs;
}

int durability_tcp_run(const bench_opts *o, const char *base, uint32_t n, int64_t *samples,
                       durability_result *r)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tcp", base);
    if (tcp_push_latency(o, dir, false, samples, n, &r->tcp_push_process) ||
        tcp_push_latency(o, dir, true, samples, n, &r->tcp_push_host))
        return -1;
    r->tcp_stream_process = tcp_stream(o, dir, false, 1, n * 16u);
    for (int i = 0; i < DUR_NBATCH && r->tcp_stream_process >= 0; i++)
        if ((r->tcp_stream_host[i] = tcp_stream(o, dir, true, r->batch[i], n)) < 0)
            return -1;
    return r->tcp_stream_process < 0 ? -1 : 0;
}
