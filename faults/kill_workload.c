#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kill_workload.h"

uint64_t kw_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t pattern_byte(uint32_t seq, uint32_t i)
{
    return (uint8_t)((seq * 2654435761u) >> 24 ^ (i * 31u + seq));
}

bool kw_push(tcpshm_ptcp_queue *q, uint32_t seq, uint16_t body_size)
{
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(q, body_size);
    if (!h)
        return false;
    h->msg_type = KW_MSG_TYPE;
    uint8_t *body = (uint8_t *)(h + 1);
    for (uint32_t i = 0; i < body_size; i++)
        body[i] = pattern_byte(seq, i);
    return tcpshm_ptcp_queue_push(q, NULL) == 0;
}

int kw_check_contents(const tcpshm_ptcp_queue *q, char *why, size_t why_size)
{
    uint32_t seq = tcpshm_ptcp_queue_seq_start(q);
    for (const uint8_t *m = tcpshm_ptcp_queue_next(q, NULL); m; m = tcpshm_ptcp_queue_next(q, m), seq++) {
        tcpshm_msg_header h;
        tcpshm_header_decode(m, q->cfg.little_endian, &h);
        if (h.msg_type != KW_MSG_TYPE) {
            snprintf(why, why_size, "message %u has type %u, expected %u", seq, h.msg_type, KW_MSG_TYPE);
            return -1;
        }
        for (uint32_t i = 0; i + TCPSHM_HEADER_SIZE < h.size; i++) {
            if (m[TCPSHM_HEADER_SIZE + i] != pattern_byte(seq, i)) {
                snprintf(why, why_size, "message %u body byte %u is 0x%02x, expected 0x%02x", seq,
                         i, m[TCPSHM_HEADER_SIZE + i], pattern_byte(seq, i));
                return -1;
            }
        }
    }
    if (seq != tcpshm_ptcp_queue_seq_end(q)) {
        snprintf(why, why_size, "walked to seq %u but seq_end is %u", seq, tcpshm_ptcp_queue_seq_end(q));
        return -1;
    }
    return 0;
}

tcpshm_ptcp_queue_config kw_config(void)
{
    tcpshm_ptcp_queue_config cfg = {.capacity = 4096, .max_msg_size = 512, .little_endian = true};
    return cfg;
}

/* ---- the child ---- */

static uint32_t crash_countdown;

static int crash_on_nth_hit(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    return crash_countdown > 0 && --crash_countdown == 0;
}

static void report(int fd, const tcpshm_ptcp_queue *q, enum kw_op next, uint32_t arg)
{
    kw_progress p = {tcpshm_ptcp_queue_seq_start(q), tcpshm_ptcp_queue_seq_end(q),
                     tcpshm_ptcp_queue_my_ack(q), (uint32_t)next, arg};
    if (write(fd, &p, sizeof p) != (ssize_t)sizeof p)
        _exit(3);
}

static uint16_t random_body(uint64_t *rng, uint32_t max_msg_size)
{
    uint64_t r = kw_rand(rng);
    uint32_t max_body = max_msg_size - TCPSHM_HEADER_SIZE;
    /* mostly small messages, sometimes up to the maximum */
    uint32_t limit = (r & 7) == 0 ? max_body : 64;
    return (uint16_t)((r >> 8) % (limit + 1));
}

void kw_child_run(const char *dir, const tcpshm_ptcp_queue_config *cfg, uint64_t seed,
                  uint32_t max_ops, int progress_fd, const char *crash_site, uint32_t crash_hit)
{
    if (crash_site) {
        crash_countdown = crash_hit;
        if (fiu_init(0) != 0 || fiu_enable_external(crash_site, 1, NULL, 0, crash_on_nth_hit) != 0)
            _exit(3);
    }
    uint64_t rng = seed;
    /* Odd seeds acknowledge one message at a time, so the unacknowledged
     * region stays large and compaction runs next to live bytes. */
    bool lagging_acks = seed & 1;
    tcpshm_ptcp_queue q;
    if (tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, KW_LOCAL, KW_REMOTE, cfg, NULL) != 0)
        _exit(3);
    for (uint32_t ops = 0; ops < max_ops; ops++) {
        uint64_t r = kw_rand(&rng) % 1000;
        enum kw_op op = r < 450 ? KW_PUSH : r < 700 ? KW_SEND : r < 880 ? KW_ACK
                      : r < 990 ? KW_POP : r < 999 ? KW_REWIND : KW_RESET;
        uint32_t start = tcpshm_ptcp_queue_seq_start(&q);
        const uint8_t *p;
        uint32_t n, target = 0;
        /* the seq an ack or rewind frees up to is chosen, and reported, first */
        if (op == KW_ACK) {
            n = tcpshm_ptcp_queue_sent_seq(&q) - start;
            if (lagging_acks && n > 1)
                n = 1;
            target = start + (uint32_t)(kw_rand(&rng) % (n + 1u));
        } else if (op == KW_REWIND) {
            n = tcpshm_ptcp_queue_seq_end(&q) - start;
            target = start + (uint32_t)(kw_rand(&rng) % (n + 1u));
        }
        report(progress_fd, &q, op, target);
        switch (op) {
        case KW_PUSH:
            kw_push(&q, tcpshm_ptcp_queue_seq_end(&q), random_body(&rng, cfg->max_msg_size));
            break;
        case KW_SEND:
            n = tcpshm_ptcp_queue_sendable(&q, &p);
            if (n)
                tcpshm_ptcp_queue_mark_sent(&q, (uint32_t)(kw_rand(&rng) % n) + 1);
            break;
        case KW_ACK:
            if (tcpshm_ptcp_queue_ack(&q, target, NULL) != 0)
                _exit(3);
            break;
        case KW_POP:
            tcpshm_ptcp_queue_popped(&q);
            break;
        case KW_REWIND:
            if (tcpshm_ptcp_queue_rewind(&q, target, NULL) != 0)
                _exit(3);
            break;
        case KW_RESET:
            tcpshm_ptcp_queue_reset(&q);
            break;
        case KW_NONE:
            break;
        }
    }
    report(progress_fd, &q, KW_NONE, 0);
    _exit(0);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Reads the reports that are there; false at end of stream. */
static bool drain_reports(int fd, kw_outcome *out, char *carry_buf, size_t *carry)
{
    char buf[4096];
    memcpy(buf, carry_buf, *carry);
    ssize_t n = read(fd, buf + *carry, sizeof buf - *carry);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    size_t total = *carry + (size_t)n, whole = total / sizeof(kw_progress);
    if (whole) {
        memcpy(&out->last, buf + (whole - 1) * sizeof(kw_progress), sizeof(kw_progress));
        out->have_last = true;
        out->reports += (uint32_t)whole;
    }
    *carry = total % sizeof(kw_progress);
    memcpy(carry_buf, buf + whole * sizeof(kw_progress), *carry);
    return true;
}

int kw_run_child(const char *dir, const tcpshm_ptcp_queue_config *cfg, uint64_t seed,
                 uint32_t max_ops, const char *crash_site, uint32_t crash_hit,
                 uint32_t kill_after_reports, uint32_t kill_delay_us, kw_outcome *out)
{
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        kw_child_run(dir, cfg, seed, max_ops, fds[1], crash_site, crash_hit);
    }
    close(fds[1]);
    char carry_buf[sizeof(kw_progress)];
    size_t carry = 0;
    uint64_t deadline = 0; /* when to kill, once the reports are in */
    for (;;) {
        int timeout = -1;
        if (kill_after_reports && !out->killed && out->reports >= kill_after_reports) {
            uint64_t t = now_us();
            if (!deadline)
                deadline = t + kill_delay_us;
            if (t >= deadline) {
                kill(pid, SIGKILL);
                out->killed = true;
                continue;
            }
            timeout = (int)((deadline - t + 999) / 1000);
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int r = poll(&pfd, 1, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && !drain_reports(fds[0], out, carry_buf, &carry))
            break; /* end of stream: the child is gone */
    }
    close(fds[0]);
    while (waitpid(pid, &out->wait_status, 0) < 0 && errno == EINTR) {
    }
    return 0;
}

int kw_verify(const char *dir, const tcpshm_ptcp_queue_config *cfg, const kw_progress *before,
              const kw_progress *last, bool have_last, kw_progress *now, char *why, size_t why_size)
{
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    if (tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, KW_LOCAL, KW_REMOTE, cfg, &err) != 0) {
        snprintf(why, why_size, "reopen failed: %s", err.text);
        return -1;
    }
    int rc = kw_check_contents(&q, why, why_size);
    kw_progress p = {tcpshm_ptcp_queue_seq_start(&q), tcpshm_ptcp_queue_seq_end(&q),
                     tcpshm_ptcp_queue_my_ack(&q), KW_NONE, 0};
    tcpshm_ptcp_queue_close(&q);
    if (rc)
        return rc;
    const kw_progress *e = have_last ? last : before;
    uint32_t op = have_last ? e->next_op : KW_NONE;
    bool same = p.seq_start == e->seq_start && p.seq_end == e->seq_end && p.my_ack == e->my_ack;
    /* The announced operation may have persisted its effect before the kill: */
    bool done;
    switch (op) {
    case KW_PUSH:
        done = p.seq_start == e->seq_start && p.seq_end == e->seq_end + 1 && p.my_ack == e->my_ack;
        break;
    case KW_ACK:
    case KW_REWIND:
        done = p.seq_start == e->arg && p.seq_end == e->seq_end && p.my_ack == e->my_ack;
        break;
    case KW_POP:
        done = p.seq_start == e->seq_start && p.seq_end == e->seq_end && p.my_ack == e->my_ack + 1;
        break;
    case KW_RESET:
        done = p.seq_start == 0 && p.seq_end == 0 && p.my_ack == 0;
        break;
    default:
        done = false;
    }
    if (!same && !done) {
        snprintf(why, why_size,
                 "state [%u, %u) my_ack %u is neither the last reported [%u, %u) my_ack %u "
                 "nor the result of the announced operation %u",
                 p.seq_start, p.seq_end, p.my_ack, e->seq_start, e->seq_end, e->my_ack, op);
        return -1;
    }
    *now = p;
    return 0;
}
