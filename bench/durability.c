/* tcpshm-bench --durability: what durability "host" costs (config.h). The
 * persistent queue of a TCP connection, alone (no socket: the sync is the
 * cost being measured), on a file in --dir: push latency and streaming
 * throughput in process and host mode, host with push_more group commit,
 * and the floor: the bare msync(MS_SYNC) of one dirty page and a 64-byte
 * pwrite + fdatasync on a file of the same size in the same directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "durability.h"
#include "stats.h"
#include "tcpshm/ptcp_queue.h"

#define BODY 56u /* a 64-byte message with its header */
#define CAPACITY (1u << 20)

static const char *fs_name(const char *dir, char *buf, size_t n)
{
    struct statfs s;
    if (statfs(dir, &s) != 0)
        return "unknown";
    switch ((unsigned long)s.f_type) {
    case 0x01021994UL: return "tmpfs";
    case 0x794c7630UL: return "overlayfs";
    case 0xef53UL: return "ext4";
    case 0x58465342UL: return "xfs";
    case 0x9123683eUL: return "btrfs";
    default: snprintf(buf, n, "f_type 0x%lx", (unsigned long)s.f_type); return buf;
    }
}

static int open_queue(tcpshm_ptcp_queue *q, const char *dir, const char *remote, bool host)
{
    tcpshm_ptcp_queue_config c = {.capacity = CAPACITY, .max_msg_size = 256, .little_endian = true,
                                  .host_durable = host};
    tcpshm_error err;
    if (tcpshm_ptcp_queue_open(q, tcpshm_env_posix(), dir, "bench", remote, &c, &err) != 0) {
        fprintf(stderr, "tcpshm-bench: %s\n", err.text);
        return -1;
    }
    return 0;
}

/* Everything pushed is sent and acknowledged (as a peer would), so the
 * queue never fills; not timed in the latency rows. */
static void drain(tcpshm_ptcp_queue *q)
{
    const uint8_t *p;
    tcpshm_ptcp_queue_mark_sent(q, tcpshm_ptcp_queue_sendable(q, &p));
    (void)tcpshm_ptcp_queue_ack(q, tcpshm_ptcp_queue_seq_end(q), NULL);
}

static int put(tcpshm_ptcp_queue *q, bool more)
{
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(q, BODY);
    if (!h)
        return -1;
    h->msg_type = 1;
    memset(h + 1, 0x5a, BODY);
    return more ? tcpshm_ptcp_queue_push_more(q, NULL) : tcpshm_ptcp_queue_push(q, NULL);
}

static int push_latency(const char *dir, bool host, int64_t *samples, uint32_t n, lat_summary *out)
{
    tcpshm_ptcp_queue q;
    if (open_queue(&q, dir, host ? "lat_host" : "lat_process", host))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        int64_t t0 = bench_now();
        int rc = put(&q, false);
        samples[i] = bench_now() - t0;
        if (rc) {
            fprintf(stderr, "tcpshm-bench: push failed: %s\n", strerror(errno));
            tcpshm_ptcp_queue_close(&q);
            return -1;
        }
        drain(&q);
    }
    tcpshm_ptcp_queue_close(&q);
    stats_summarize(samples, n, out);
    return 0;
}

/* Messages per second pushing n messages in batches of `batch` (1: a push
 * each; else batch-1 push_more and a push), acknowledged as they go. */
static double stream(const char *dir, bool host, uint32_t batch, uint32_t n)
{
    char remote[32];
    snprintf(remote, sizeof remote, "st_%s_%u", host ? "host" : "process", batch);
    tcpshm_ptcp_queue q;
    if (open_queue(&q, dir, remote, host))
        return -1;
    int64_t t0 = bench_now();
    for (uint32_t i = 0; i < n; i++) {
        if (put(&q, (i + 1) % batch != 0 && i + 1 != n)) {
            tcpshm_ptcp_queue_close(&q);
            return -1;
        }
        if ((i + 1) % batch == 0)
            drain(&q);
    }
    double secs = (double)(bench_now() - t0) / 1e9;
    tcpshm_ptcp_queue_close(&q);
    return (double)n / secs;
}

/* The floor, on a file of the queue's size: one 64-byte store into a
 * mapped page and msync of that page; or a 64-byte pwrite and fdatasync. */
static int floors(const char *dir, int64_t *samples, uint32_t n, lat_summary *msync_out,
                  lat_summary *fdatasync_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/floor.bin", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    size_t size = CAPACITY + 256u;
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        fprintf(stderr, "tcpshm-bench: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return -1;
    }
    uint8_t msg[64];
    memset(msg, 0x5a, sizeof msg);
    for (uint32_t i = 0; i < n; i++) {
        size_t off = ((size_t)i * 64u) % (size - 64u);
        int64_t t0 = bench_now();
        memcpy(m + off, msg, sizeof msg);
        int rc = msync(m + (off & ~(size_t)4095), 4096, MS_SYNC);
        samples[i] = bench_now() - t0;
        if (rc != 0)
            goto fail;
    }
    stats_summarize(samples, n, msync_out);
    for (uint32_t i = 0; i < n; i++) {
        off_t off = (off_t)(((size_t)i * 64u) % (size - 64u));
        int64_t t0 = bench_now();
        int rc = pwrite(fd, msg, sizeof msg, off) == (ssize_t)sizeof msg ? fdatasync(fd) : -1;
        samples[i] = bench_now() - t0;
        if (rc != 0)
            goto fail;
    }
    stats_summarize(samples, n, fdatasync_out);
    munmap(m, size);
    close(fd);
    return 0;
fail:
    fprintf(stderr, "tcpshm-bench: floor on %s: %s\n", path, strerror(errno));
    munmap(m, size);
    close(fd);
    return -1;
}

int durability_run(const bench_opts *o, const char *base, uint32_t n, bool json, FILE *out)
{
    int64_t *samples = malloc(sizeof *samples * n);
    if (!samples)
        return -1;
    durability_result r;
    memset(&r, 0, sizeof r);
    char fsbuf[64];
    r.fs = fs_name(base, fsbuf, sizeof fsbuf);
    static const uint32_t batches[DUR_NBATCH] = {1, 16, 64};
    memcpy(r.batch, batches, sizeof batches);
    int rc = push_latency(base, false, samples, n, &r.push_process);
    if (!rc)
        rc = push_latency(base, true, samples, n, &r.push_host);
    if (!rc)
        rc = floors(base, samples, n, &r.floor_msync, &r.floor_fdatasync);
    if (!rc)
        rc = durability_tcp_run(o, base, n, samples, &r);
    free(samples);
    if (rc)
        return -1;
    r.stream_process = stream(base, false, 1, n * 16u);
    for (int i = 0; i < DUR_NBATCH; i++) {
        r.stream_host[i] = stream(base, true, batches[i], n);
        if (r.stream_host[i] < 0)
            return -1;
    }
    if (r.stream_process < 0)
        return -1;
    durability_report(out, o, &r, n, json);
    return 0;
}

/* A latency row: its name in the table, its JSON key, its numbers. */
typedef struct lat_row {
    const char *what, *key;
    const lat_summary *s;
} lat_row;

/* One half of the report: the queue alone, or over TCP. */
typedef struct dur_half {
    const char *latency, *stream; /* the headers of its latency and stream rows */
    lat_row lat[4];
    int nlat;
    const char *side, *key; /* before its stream rows' names ("tcp, ") and JSON keys ("tcp_") */
    const char *batched;    /* after a batched stream row's name */
    const char *gain;       /* in its gain line, after "group-commit gain" */
    double process;         /* msgs/s */
    const double *host;     /* msgs/s per batch size */
} dur_half;

static void half_text(FILE *out, const dur_half *h, const uint32_t *batch)
{
    fprintf(out, "  %-44s %12s %12s\n", h->latency, "p50 ns", "p99 ns");
    for (int i = 0; i < h->nlat; i++)
        fprintf(out, "  %-44s %12.0f %12.0f\n", h->lat[i].what, h->lat[i].s->ns[STATS_P50], h->lat[i].s->ns[STATS_P99]);
    fprintf(out, "  %-44s %12s\n", h->stream, "msgs/s");
    char what[64];
    snprintf(what, sizeof what, "%sprocess, push each", h->side);
    fprintf(out, "  %-44s %12.0f\n", what, h->process);
    for (int i = 0; i < DUR_NBATCH; i++) {
        if (batch[i] == 1)
            snprintf(what, sizeof what, "%shost, push each", h->side);
        else
            snprintf(what, sizeof what, "%shost, %u push_more + push%s", h->side, batch[i] - 1, h->batched);
        fprintf(out, "  %-44s %12.0f\n", what, h->host[i]);
    }
    fprintf(out, "  group-commit gain%s (batch of %u vs push each): %.1fx\n", h->gain, batch[DUR_NBATCH - 1],
            h->host[DUR_NBATCH - 1] / h->host[0]);
}

/* Its keys, each line ending with a comma; `end` follows the last value. */
static void half_json(FILE *out, const dur_half *h, const uint32_t *batch, const char *end)
{
    for (int i = 0; i < h->nlat; i++)
        fprintf(out, "  \"%s_p50_ns\": %.0f, \"%s_p99_ns\": %.0f,\n", h->lat[i].key, h->lat[i].s->ns[STATS_P50],
                h->lat[i].key, h->lat[i].s->ns[STATS_P99]);
    fprintf(out, "  \"%sstream_process_msgs_per_s\": %.0f,\n", h->key, h->process);
    for (int i = 0; i < DUR_NBATCH; i++)
        fprintf(out, "  \"%sstream_host_batch%u_msgs_per_s\": %.0f,\n", h->key, batch[i], h->host[i]);
    fprintf(out, "  \"%sgroup_commit_gain\": %.2f%s\n", h->key, h->host[DUR_NBATCH - 1] / h->host[0], end);
}

void durability_report(FILE *out, const bench_opts *o, const durability_result *r, uint32_t n, bool json)
{
    const dur_half queue = {"push latency", "stream",
                            {{"process (no sync)", "push_process", &r->push_process},
                             {"host (msync bytes, then record)", "push_host", &r->push_host},
                             {"floor: store + msync(MS_SYNC) of 1 page", "floor_msync", &r->floor_msync},
                             {"floor: pwrite 64 B + fdatasync", "floor_fdatasync", &r->floor_fdatasync}},
                            4, "", "", " (group commit)", "", r->stream_process, r->stream_host};
    const dur_half tcp = {"push latency (alloc + fill + push, sends)", "stream (until the server popped the last)",
                          {{"tcp, process", "tcp_push_process", &r->tcp_push_process},
                           {"tcp, host", "tcp_push_host", &r->tcp_push_host}},
                          2, "tcp, ", "tcp_", "", " over TCP", r->tcp_stream_process, r->tcp_stream_host};
    if (json) {
        fprintf(out, "{\"durability\": {\"dir\": \"%s\", \"fs_type\": \"%s\", \"msg_bytes\": 64, \"samples\": %u,\n",
                o->dir, r->fs, n);
        half_json(out, &queue, r->batch, ",");
        half_json(out, &tcp, r->batch, "}}");
        return;
    }
    fprintf(out, "durability: queue file in %s (%s), %u samples, 64-byte messages\n", o->dir, r->fs, n);
    half_text(out, &queue, r->batch);
    fprintf(out, "over TCP: a library client and server on loopback, queue files in %s, pops acknowledged\n"
                 "in the server's heartbeats (100 us)\n", o->dir);
    half_text(out, &tcp, r->batch);
}
