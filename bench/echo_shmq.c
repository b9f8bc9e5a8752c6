/* The SHM echo through tcpshm/shm_queue.h alone (two queues, one per
 * direction, no connection layer): a diagnostic row that splits the SHM
 * library's cost into the queue's and the connection layer's. */
#include <stdio.h>
#include <string.h>

#include "alloc_count.h"
#include "echo.h"
#include "shm_pair.h"

/* The stop flag, read by the echoer every round, sits alone in its line
 * (as lib_server_loop's): the client's own writes (its stack, the flags
 * front() sets) must not share it. */
typedef struct shm_echoer {
    _Alignas(64) int stop; /* atomic */
    _Alignas(64) shm_pair *p;
    const bench_opts *o;
    int bad;
} shm_echoer;

/* The server side: front, alloc the echo, push it, pop (push-then-pop). */
static void *echoer(void *arg)
{
    shm_echoer *s = arg;
    tcpshm_error err;
    bool bad = false;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        tcpshm_msg_header *m = tcpshm_shm_queue_front(&s->p->c2s_cons, &bad, &err);
        if (!m) {
            if (bad) {
                s->bad = 1;
                return NULL;
            }
            bench_spin(s->o);
            continue;
        }
        uint16_t body = (uint16_t)(m->size - TCPSHM_HEADER_SIZE);
        tcpshm_msg_header *out = tcpshm_shm_queue_alloc(&s->p->s2c_prod, body);
        if (!out)
            continue;
        out->msg_type = m->msg_type;
        memcpy(out + 1, m + 1, body);
        tcpshm_shm_queue_push(&s->p->s2c_prod);
        tcpshm_shm_queue_pop(&s->p->c2s_cons);
    }
    return NULL;
}

int echo_shmq_run(const bench_opts *o, uint32_t size, int64_t *samples, uint32_t n,
                  uint32_t warmup, uint64_t *allocs)
{
    static shm_pair p;
    if (shm_pair_open(&p, 1u << 20, 4096) != 0)
        return -1;
    static shm_echoer s; /* static: aligned, off the client's stack */
    memset(&s, 0, sizeof s);
    s.p = &p;
    s.o = o;
    pthread_t t;
    if (bench_spawn(&t, o->cpu_b, echoer, &s) != 0) {
        shm_pair_close(&p);
        return -1;
    }
    uint16_t body = (uint16_t)(size - TCPSHM_HEADER_SIZE);
    uint64_t a0 = 0;
    int rc = 0;
    tcpshm_error err;
    bool bad = false;
    for (uint32_t k = 0; k < n + warmup && rc == 0; k++) {
        if (k == warmup)
            a0 = alloc_count();
        uint64_t seq = k;
        int64_t t0 = bench_now();
        tcpshm_msg_header *m = tcpshm_shm_queue_alloc(&p.c2s_prod, body);
        if (!m) {
            fprintf(stderr, "tcpshm-bench: SHM echo: the queue is full\n");
            rc = -1;
            break;
        }
        m->msg_type = 1;
        memset(m + 1, 0, body);
        memcpy(m + 1, &seq, sizeof seq < body ? sizeof seq : body);
        tcpshm_shm_queue_push(&p.c2s_prod);
        tcpshm_msg_header *r;
        while (!(r = tcpshm_shm_queue_front(&p.s2c_cons, &bad, &err))) {
            if (bad || s.bad) {
                fprintf(stderr, "tcpshm-bench: SHM echo: bad slot: %s\n", err.text);
                rc = -1;
                break;
            }
            bench_spin(o);
        }
        if (rc)
            break;
        uint64_t got;
        memcpy(&got, r + 1, sizeof got);
        tcpshm_shm_queue_pop(&p.s2c_cons);
        int64_t t1 = bench_now();
        if (got != seq) {
            fprintf(stderr, "tcpshm-bench: SHM echo: echo %llu came back as %llu\n",
                    (unsigned long long)seq, (unsigned long long)got);
            rc = -1;
        }
        if (k >= warmup)
            samples[k - warmup] = t1 - t0;
    }
    *allocs = alloc_count() - a0;
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    shm_pair_close(&p);
    return rc;
}
