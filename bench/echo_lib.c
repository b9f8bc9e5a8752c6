#include <stdio.h>
#include <string.h>

#include "alloc_count.h"
#include "echo.h"
#include "lib_tcp.h"

void echo_server_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    (void)user;
    uint16_t body = (uint16_t)(m->size - TCPSHM_HEADER_SIZE);
    tcpshm_msg_header *out = tcpshm_conn_alloc(c, body);
    if (!out)
        return; /* not popped: comes again at the next poll */
    out->msg_type = m->msg_type;
    memcpy(out + 1, m + 1, body);
    if (tcpshm_conn_push(c) != 0)
        return;
    tcpshm_conn_pop(c);
}

typedef struct echo_client {
    uint64_t want; /* sequence number of the echo awaited */
    int got, bad;
} echo_client;

static void client_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    echo_client *e = user;
    uint64_t seq = 0;
    if (m->size >= TCPSHM_HEADER_SIZE + sizeof seq)
        memcpy(&seq, m + 1, sizeof seq);
    if (seq != e->want)
        e->bad = 1;
    e->got = 1;
    tcpshm_conn_pop(c);
}

int echo_lib_run(const bench_opts *o, const char *dir, bool shm, const lib_loop *loop,
                 uint32_t size, int64_t *samples, uint32_t n, uint32_t warmup, uint64_t *allocs)
{
    const char *what = shm ? "SHM" : "TCP";
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    echo_client e = {0, 0, 0};
    lib_tcp L;
    if (lib_tcp_open(&L, o, dir, &cfg, shm, loop, echo_server_msg, NULL, client_msg, &e) != 0)
        return -1;
    uint16_t body = (uint16_t)(size - TCPSHM_HEADER_SIZE);
    uint64_t a0 = 0;
    int rc = 0;
    for (uint32_t k = 0; k < n + warmup; k++) {
        if (k == warmup)
            a0 = alloc_count();
        e.want = k;
        e.got = 0;
        int64_t t0 = bench_now();
        tcpshm_msg_header *m = tcpshm_conn_alloc(L.conn, body);
        if (!m) {
            fprintf(stderr, "tcpshm-bench: %s echo: the client's queue is full\n", what);
            rc = -1;
            break;
        }
        m->msg_type = 1;
        memset(m + 1, 0, body);
        memcpy(m + 1, &e.want, sizeof e.want < body ? sizeof e.want : body);
        tcpshm_conn_push(L.conn);
        /* the client's loop: poll until the echo is back, checking the
         * connection in control-plane rounds, a pause after an empty round
         * under the pause discipline */
        while (!e.got) {
            bool ctl = lib_client_poll(&L);
            if (e.got)
                break;
            if (ctl && !tcpshm_conn_is_connected(L.conn)) {
                fprintf(stderr, "tcpshm-bench: %s echo: the connection closed\n", what);
                rc = -1;
                break;
            }
            if (L.loop.pause)
                bench_relax();
        }
        int64_t t1 = bench_now();
        if (rc)
            break;
        if (k >= warmup)
            samples[k - warmup] = t1 - t0;
    }
    *allocs = alloc_count() - a0;
    if (e.bad) {
        fprintf(stderr, "tcpshm-bench: %s echo: an echo came back with the wrong sequence number\n",
                what);
        rc = -1;
    }
    lib_tcp_close(&L);
    return rc;
}
