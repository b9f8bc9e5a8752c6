#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "floors.h"

/* ---- cache-line ping-pong ---- */

typedef struct line {
    _Alignas(64) uint64_t seq;
    unsigned char body[56];
} line;

typedef struct cl_pair {
    line ping, pong;
    uint32_t size, total;
    const bench_opts *o;
} cl_pair;

static void *cl_echoer(void *arg)
{
    cl_pair *p = arg;
    uint32_t body = p->size > 8 ? p->size - 8 : 0;
    unsigned char tmp[56];
    for (uint64_t k = 1; k <= p->total; k++) {
        while (__atomic_load_n(&p->ping.seq, __ATOMIC_ACQUIRE) != k)
            bench_spin(p->o);
        memcpy(tmp, p->ping.body, body);
        memcpy(p->pong.body, tmp, body);
        __atomic_store_n(&p->pong.seq, k, __ATOMIC_RELEASE);
    }
    return NULL;
}

int floor_cacheline_echo(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                         uint32_t warmup)
{
    if (size > 64) {
        fprintf(stderr, "tcpshm-bench: the cache-line floor takes messages up to 64 bytes\n");
        return -1;
    }
    static cl_pair p; /* static: no allocation, aligned */
    memset(&p, 0, sizeof p);
    p.size = size;
    p.total = n + warmup;
    p.o = o;
    uint32_t body = size > 8 ? size - 8 : 0;
    pthread_t t;
    if (bench_spawn(&t, o->cpu_b, cl_echoer, &p) != 0)
        return -1;
    unsigned char msg[56] = {0};
    for (uint64_t k = 1; k <= p.total; k++) {
        memcpy(msg, &k, sizeof k < body ? sizeof k : body);
        int64_t t0 = bench_now();
        memcpy(p.ping.body, msg, body);
        __atomic_store_n(&p.ping.seq, k, __ATOMIC_RELEASE);
        while (__atomic_load_n(&p.pong.seq, __ATOMIC_ACQUIRE) != k)
            bench_spin(o);
        memcpy(msg, p.pong.body, body);
        int64_t t1 = bench_now();
        if (k > warmup)
            samples[k - warmup - 1] = t1 - t0;
    }
    pthread_join(t, NULL);
    return 0;
}

/* ---- loopback TCP ---- */

static int nonblock_nodelay(int fd)
{
    int one = 1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        return -1;
    return 0;
}

int floor_tcp_pair(int *a, int *b)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), c = -1, s = -1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &len) != 0)
        goto fail;
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto fail;
    s = accept(l, NULL, NULL);
    if (s < 0 || nonblock_nodelay(c) != 0 || nonblock_nodelay(s) != 0)
        goto fail;
    close(l);
    *a = c;
    *b = s;
    return 0;
fail:
    fprintf(stderr, "tcpshm-bench: loopback TCP pair: %s\n", strerror(errno));
    if (l >= 0)
        close(l);
    if (c >= 0)
        close(c);
    if (s >= 0)
        close(s);
    return -1;
}

/* Busy-polls until len bytes arrived; -1 on error or EOF. */
static int recv_all(const bench_opts *o, int fd, unsigned char *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = recv(fd, p + got, len - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return -1;
        else
            bench_spin(o);
    }
    return 0;
}

static int send_all(const bench_opts *o, int fd, const unsigned char *p, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t r = send(fd, p + sent, len - sent, MSG_NOSIGNAL);
        if (r > 0)
            sent += (size_t)r;
        else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        else
            bench_spin(o);
    }
    return 0;
}

typedef struct tcp_echo {
    const bench_opts *o;
    int fd;
    uint32_t size, total;
    int failed;
} tcp_echo;

static void *tcp_echoer(void *arg)
{
    tcp_echo *e = arg;
    unsigned char buf[4096];
    for (uint32_t k = 0; k < e->total; k++)
        if (recv_all(e->o, e->fd, buf, e->size) != 0 || send_all(e->o, e->fd, buf, e->size) != 0) {
            e->failed = 1;
            break;
        }
    return NULL;
}

int floor_tcp_echo(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                   uint32_t warmup)
{
    int a, b;
    if (size > 4096 || floor_tcp_pair(&a, &b) != 0)
        return -1;
    tcp_echo e = {o, b, size, n + warmup, 0};
    pthread_t t;
    int rc = 0;
    if (bench_spawn(&t, o->cpu_b, tcp_echoer, &e) != 0) {
        close(a);
        close(b);
        return -1;
    }
    unsigned char msg[4096] = {0};
    for (uint32_t k = 0; rc == 0 && k < e.total; k++) {
        memcpy(msg, &k, sizeof k);
        int64_t t0 = bench_now();
        if (send_all(o, a, msg, size) != 0 || recv_all(o, a, msg, size) != 0) {
            fprintf(stderr, "tcpshm-bench: TCP floor: %s\n", strerror(errno));
            rc = -1;
            shutdown(a, SHUT_RDWR);
            break;
        }
        int64_t t1 = bench_now();
        if (k >= warmup)
            samples[k - warmup] = t1 - t0;
    }
    pthread_join(t, NULL);
    close(a);
    close(b);
    return rc || e.failed ? -1 : 0;
}

/* ---- streaming floors ---- */

int floor_ring_memcpy(const bench_opts *o, uint32_t size, uint64_t msgs, uint32_t ring_cap,
                      double *msgs_per_s)
{
    (void)o;
    unsigned char *ring = aligned_alloc(64, ring_cap);
    if (!ring) {
        fprintf(stderr, "tcpshm-bench: out of memory\n");
        return -1;
    }
    memset(ring, 0, ring_cap);
    unsigned char msg[2048];
    memset(msg, 0x5a, sizeof msg);
    uint32_t pos = 0;
    int64_t t0 = bench_now();
    for (uint64_t k = 0; k < msgs; k++) {
        if (pos + size > ring_cap)
            pos = 0;
        memcpy(msg, &k, sizeof k);
        memcpy(ring + pos, msg, size);
        /* keep the compiler from merging or dropping the copies */
        __asm__ __volatile__("" : : "r"(ring) : "memory");
        pos += size;
    }
    int64_t t1 = bench_now();
    free(ring);
    *msgs_per_s = (double)msgs * 1e9 / (double)(t1 - t0);
    return 0;
}

/* The two-thread ring: the producer (the caller, cpu_a) writes each message
 * into the next slot and publishes its count (release); the consumer
 * (cpu_b) waits for it (acquire), reads its sequence number (all the
 * library's receiver reads of a message) and publishes its own count, which the producer reads
 * when the ring looks full. One publication per message each way, as a
 * push and a pop. */
typedef struct ring2 {
    _Alignas(64) uint64_t head; /* messages written (producer) */
    _Alignas(64) uint64_t tail; /* messages read (consumer) */
    _Alignas(64) unsigned char *buf;
    uint32_t size, cap;         /* message size; bytes used of the ring (whole slots) */
    uint64_t warm, total;
    int64_t t_start, t_end;
    int bad;
    const bench_opts *o;
} ring2;

static void *ring2_consumer(void *arg)
{
    ring2 *r = arg;
    /* everything per message in locals: r's third line is read-only while
     * the stream runs (a store into it would pull it from the producer) */
    const unsigned char *buf = r->buf;
    const uint32_t size = r->size, cap = r->cap;
    const uint64_t total = r->total, warm = r->warm;
    uint64_t k = 0, head = 0;
    uint32_t pos = 0;
    int bad = 0;
    int64_t t_start = 0;
    while (k < total) {
        if (k == head) {
            head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
            if (k == head) {
                bench_spin(r->o);
                continue;
            }
        }
        uint64_t seq; /* what the library's receiver reads of each message */
        memcpy(&seq, buf + pos, sizeof seq);
        bad |= seq != k;
        pos += size;
        if (pos == cap)
            pos = 0;
        __atomic_store_n(&r->tail, ++k, __ATOMIC_RELEASE);
        if (k == warm)
            t_start = bench_now();
    }
    r->t_end = bench_now();
    r->t_start = t_start;
    r->bad = bad;
    return NULL;
}

int floor_ring_2thread(const bench_opts *o, uint32_t size, uint64_t msgs, uint32_t ring_cap,
                       double *msgs_per_s)
{
    static ring2 r; /* static: aligned, no allocation beyond the ring */
    memset(&r, 0, sizeof r);
    uint32_t slots = ring_cap / size;
    if (size < 8 || size > 2048 || slots < 2) {
        fprintf(stderr, "tcpshm-bench: ring floor: bad message size %u\n", size);
        return -1;
    }
    r.buf = aligned_alloc(64, ring_cap);
    if (!r.buf) {
        fprintf(stderr, "tcpshm-bench: out of memory\n");
        return -1;
    }
    memset(r.buf, 0, ring_cap);
    r.size = size;
    r.cap = slots * size;
    r.warm = msgs / 10 ? msgs / 10 : 1;
    r.total = r.warm + msgs;
    r.o = o;
    pthread_t t;
    if (bench_spawn(&t, o->cpu_b, ring2_consumer, &r) != 0) {
        free(r.buf);
        return -1;
    }
    unsigned char msg[2048], *buf = r.buf;
    memset(msg, 0x5a, sizeof msg);
    const uint64_t total = r.total;
    const uint32_t cap = r.cap;
    uint64_t tail = 0;
    uint32_t pos = 0;
    for (uint64_t k = 0; k < total; k++) {
        while (k - tail >= slots) {
            tail = __atomic_load_n(&r.tail, __ATOMIC_ACQUIRE);
            if (k - tail >= slots)
                bench_spin(o);
        }
        memcpy(msg, &k, sizeof k);
        memcpy(buf + pos, msg, size);
        pos += size;
        if (pos == cap)
            pos = 0;
        __atomic_store_n(&r.head, k + 1, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    free(r.buf);
    if (r.bad) {
        fprintf(stderr, "tcpshm-bench: ring floor: a message arrived out of order\n");
        return -1;
    }
    *msgs_per_s = (double)msgs * 1e9 / (double)(r.t_end - r.t_start);
    return 0;
}

typedef struct tcp_sink {
    const bench_opts *o;
    int fd;
    uint64_t bytes, warm_bytes;
    int64_t t_start, t_end;
    int failed;
} tcp_sink;

static void *tcp_sinker(void *arg)
{
    tcp_sink *s = arg;
    static unsigned char buf[1 << 16]; /* the library's default recv_buf_size */
    uint64_t got = 0;
    while (got < s->bytes) {
        ssize_t r = recv(s->fd, buf, sizeof buf, 0);
        if (r > 0) {
            if (got < s->warm_bytes && got + (uint64_t)r >= s->warm_bytes)
                s->t_start = bench_now();
            got += (uint64_t)r;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            s->failed = 1;
            return NULL;
        } else
            bench_spin(s->o);
    }
    s->t_end = bench_now();
    return NULL;
}

int floor_tcp_stream(const bench_opts *o, uint32_t size, uint64_t msgs, double *msgs_per_s)
{
    int a, b;
    if (floor_tcp_pair(&a, &b) != 0)
        return -1;
    uint64_t warm = msgs / 10;
    tcp_sink s = {o, b, (msgs + warm) * size, warm * size, 0, 0, 0};
    pthread_t t;
    int rc = 0;
    if (bench_spawn(&t, o->cpu_b, tcp_sinker, &s) != 0) {
        close(a);
        close(b);
        return -1;
    }
    static unsigned char chunk[65536];
    uint32_t per = (uint32_t)(sizeof chunk / size) * size; /* whole messages per send */
    for (uint32_t off = 0; off + size <= per; off += size) {
        memset(chunk + off, 0x5a, size);
        memcpy(chunk + off, &size, sizeof size);
    }
    uint64_t left = s.bytes;
    while (rc == 0 && left > 0) {
        size_t len = left < per ? (size_t)left : per;
        if (send_all(o, a, chunk, len) != 0) {
            fprintf(stderr, "tcpshm-bench: TCP stream floor: %s\n", strerror(errno));
            rc = -1;
        }
        left -= len;
    }
    if (rc)
        shutdown(a, SHUT_RDWR);
    pthread_join(t, NULL);
    close(a);
    close(b);
    if (rc || s.failed)
        return -1;
    *msgs_per_s = (double)msgs * 1e9 / (double)(s.t_end - s.t_start);
    return 0;
}
