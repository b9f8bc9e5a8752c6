/* gen_corpus [--help] OUT_DIR: writes the seed corpora of the fuzz targets into
 * OUT_DIR/<target>/ from valid protocol traffic made with the library's own
 * encoders (messages, logins, responses, queue files written by a real queue
 * on the in-memory env) and a few stateful scripts. Deterministic: running
 * it again gives the same files (the committed fuzz/corpus/ is its output:
 *   build/fault/fuzz/gen_corpus fuzz/corpus). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "tcpshm/login.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"
#include "venv.h"

static const char *g_out;
static unsigned g_count;

typedef struct buf {
    uint8_t b[70000];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > sizeof b->b) {
        fprintf(stderr, "gen_corpus: buffer overflow\n");
        exit(1);
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put8(buf *b, uint8_t v) { put(b, &v, 1); }

static void write_file(const char *target, const char *name, const buf *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_out, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_out, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->b, 1, b->n, f) != b->n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    g_count++;
}

/* One message on the stream: header + body, padded to 8. */
static void put_msg(buf *b, uint16_t size, uint16_t type, uint32_t ack, bool le)
{
    uint8_t m[65544];
    tcpshm_msg_header h = {size, type, ack};
    uint32_t padded = tcpshm_padded_size(size);
    memset(m, 0, padded);
    tcpshm_header_encode(&h, m, le);
    for (uint32_t i = 8; i < size; i++)
        m[i] = (uint8_t)(i * 3u + type);
    put(b, m, padded);
}

/* ---- frame: [cfg][cap][consumer][nchunks][chunks][stream] ---- */

static void gen_frame(void)
{
    static const struct {
        const char *name;
        uint8_t cfg, cap, cons;
        uint8_t chunks[4];
        uint8_t nchunks;
        int kind;
    } c[] = {
        {"le-heartbeats-1byte-reads", 4u << 1, 0, 0, {1}, 1, 0},
        {"le-mixed-eager", 4u << 1, 2, 0, {0}, 0, 1},
        {"le-mixed-lazy-small-buffer", 4u << 1, 0, 1, {7, 3}, 2, 1},
        {"be-mixed-every-3", 1u | 4u << 1, 5, 2u | 2u << 2, {13}, 1, 1},
        {"le-max-8-tight", 0, 0, 0, {5}, 1, 0},
        {"le-logins-and-responses", 5u << 1, 1, 0, {9, 1, 17}, 3, 2},
        {"le-bad-size-at-end", 4u << 1, 3, 0, {11}, 1, 3},
        {"le-oversized-at-end", 3u << 1, 0, 1, {0}, 0, 4},
        {"le-truncated", 4u << 1, 0, 0, {6}, 1, 5},
        {"be-large-1024", 1u | 6u << 1, 0, 0, {200, 31}, 2, 6},
        {"le-max-65536", 7u << 1, 1, 1, {255}, 1, 6},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        buf b = {.n = 0};
        bool le = (c[i].cfg & 1u) == 0;
        put8(&b, c[i].cfg);
        put8(&b, c[i].cap);
        put8(&b, c[i].cons);
        put8(&b, c[i].nchunks);
        put(&b, c[i].chunks, c[i].nchunks);
        switch (c[i].kind) {
        case 0:
            for (uint32_t k = 0; k < 6; k++)
                put_msg(&b, 8, 0, k, le);
            break;
        case 1:
            for (uint32_t k = 0; k < 12; k++)
                put_msg(&b, (uint16_t)(8 + (k * 13) % 50), k % 3 == 0 ? 0 : (uint16_t)(5 + k), k, le);
            break;
        case 2:
            put_msg(&b, 52, 1, 0, le);
            put_msg(&b, 68, 2, 0, le);
            put_msg(&b, 8, 0, 1, le);
            break;
        case 3:
            put_msg(&b, 20, 7, 0, le);
            put_msg(&b, 4, 7, 0, le); /* size below the header */
            break;
        case 4:
            put_msg(&b, 16, 7, 0, le);
            put_msg(&b, 200, 7, 0, le); /* beyond max 64 */
            break;
        case 5:
            put_msg(&b, 24, 7, 0, le);
            b.n -= 5;
            break;
        default:
            put_msg(&b, 1000, 9, 1, le);
            put_msg(&b, 8, 0, 2, le);
            put_msg(&b, 333, 9, 3, le);
            break;
        }
        char name[96];
        snprintf(name, sizeof name, "%s", c[i].name);
        write_file("frame", name, &b);
    }
}

/* ---- login_server: [sel][bytes] ---- */

static void login_bytes(buf *b, uint8_t sel, const char *name, const char *last, uint8_t ud, uint32_t ack,
                        uint32_t s0, uint32_t s1)
{
    tcpshm_config cfg;
    fz_config(sel, &cfg);
    tcpshm_login lg;
    memset(&lg, 0, sizeof lg);
    lg.ack_seq = ack;
    lg.client_seq_start = s0;
    lg.client_seq_end = s1;
    lg.user_data[0] = ud;
    snprintf(lg.client_name, sizeof lg.client_name, "%s", name);
    snprintf(lg.last_server_name, sizeof lg.last_server_name, "%s", last);
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    put(b, out, tcpshm_login_encode(&cfg, &lg, out));
}

static void gen_login_server(void)
{
    for (uint8_t v = 0; v < 4; v++) {
        bool le = v == 0 || v == 2;
        for (uint8_t mode = 0; mode < 4; mode++) {
            uint8_t sel = (uint8_t)((unsigned)v | (unsigned)mode << 2 | (mode == 3 ? 1u << 5 : 0u));
            buf b = {.n = 0};
            put8(&b, sel);
            login_bytes(&b, sel, "mallory", "", 0, 0, 0, 0);
            if (mode & 1u) { /* messages after the login */
                put_msg(&b, 20, 9, 0, le);
                put_msg(&b, 8, 0, 0, le);
                put_msg(&b, 40, 9, 0, le);
            }
            if (mode == 2)
                put_msg(&b, 8, 9, 5, le); /* bad ack */
            char name[64];
            snprintf(name, sizeof name, "cfg%u-mode%u", v, mode);
            write_file("login_server", name, &b);
        }
    }
    static const struct {
        const char *file, *name, *last;
        uint8_t ud;
        uint32_t ack, s0, s1;
        uint8_t sel;
    } c[] = {
        {"known-server-consistent", "eve", "server", 0, 0, 3, 7, 0},
        {"known-server-mismatch", "eve", "server", 0, 5, 0, 0, 0},
        {"name-of-good", "good", "server", 0, 0, 0, 0, 0},
        {"name-invalid-dotdot", "..", "", 0, 0, 0, 0, 0},
        {"name-invalid-slash", "a/b", "", 0, 0, 0, 0, 0},
        {"name-empty", "", "", 0, 0, 0, 0, 0},
        {"app-rejects-go-away", "eve", "", 0xEE, 0, 0, 0, 0},
        {"app-group-out-of-range", "eve", "", 0xEF, 0, 0, 0, 0},
        {"app-rejects-by-name", "rejected", "", 0, 0, 0, 0, 0},
        {"timeout-end", "slow", "", 0, 0, 0, 0, 1u << 4},
        {"capacity-17-bytewise", "slow", "", 0, 0, 0, 0, 1u << 2 | 2u << 5},
        /* sequence ranges (issue 13): reversed, across the wrap, at 2^31 */
        {"range-reversed", "eve", "server", 0, 0, 5, 3, 0},
        {"range-reversed-be", "eve", "server", 0, 0, 5, 3, 1},
        {"range-wrapped", "eve", "server", 0, 0, 0xfffffffeu, 2, 0},
        {"range-reversed-across-wrap", "eve", "server", 0, 0, 2, 0xfffffffeu, 0},
        {"range-2pow31-wide", "eve", "server", 0, 0, 0, 0x80000000u, 0},
        {"range-reversed-new-server", "eve", "old", 0, 0, 5, 3, 0},
        /* names with escape bytes: refused, never echoed raw */
        {"name-escape-bytes", "e\x1b[2J", "", 0, 0, 0, 0, 0},
        {"last-server-escape-bytes", "eve", "\x1b]0;x\x07", 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        buf b = {.n = 0};
        put8(&b, c[i].sel);
        login_bytes(&b, c[i].sel, c[i].name, c[i].last, c[i].ud, c[i].ack, c[i].s0, c[i].s1);
        write_file("login_server", c[i].file, &b);
    }
    /* name fields filled to their end (no NUL): status 2 */
    static const struct {
        const char *file;
        uint8_t sel, field; /* 0 client name, 1 last server name, 2 both */
    } u[] = {
        {"name-unterminated", 0, 0},          {"name-unterminated-names8", 2, 0},
        {"last-server-unterminated", 0, 1},   {"both-names-unterminated-be", 1, 2},
        {"last-server-unterminated-names32", 3, 1},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        tcpshm_config cfg;
        fz_config(u[i].sel, &cfg);
        buf b = {.n = 0};
        put8(&b, u[i].sel);
        login_bytes(&b, u[i].sel, "eve", "server", 0, 0, 0, 0);
        size_t names = 1 + TCPSHM_HEADER_SIZE + 8 + cfg.login_user_data_size + 1;
        if (u[i].field != 1)
            memset(b.b + names, 'A', cfg.name_size);
        if (u[i].field != 0)
            memset(b.b + names + cfg.name_size, 'B', cfg.name_size);
        write_file("login_server", u[i].file, &b);
    }
    /* a partial login, a foreign protocol */
    buf b = {.n = 0};
    put8(&b, 0);
    login_bytes(&b, 0, "half", "", 0, 0, 0, 0);
    b.n = 1 + 30;
    write_file("login_server", "partial-login", &b);
    b.n = 0;
    put8(&b, 0);
    put(&b, "GET / HTTP/1.1\r\n\r\n", 18);
    write_file("login_server", "http", &b);
}

/* ---- login_client: [sel][bytes] ---- */

static void rsp_bytes(buf *b, uint8_t sel, uint8_t status, const char *server, const char *msg, uint32_t ack,
                      uint32_t s0, uint32_t s1)
{
    tcpshm_config cfg;
    fz_config(sel, &cfg);
    tcpshm_login_rsp r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.ack_seq = ack;
    r.server_seq_start = s0;
    r.server_seq_end = s1;
    snprintf(r.server_name, sizeof r.server_name, "%s", server);
    snprintf(r.error_msg, sizeof r.error_msg, "%s", msg);
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    put(b, out, tcpshm_login_rsp_encode(&cfg, &r, out));
}

static void gen_login_client(void)
{
    for (uint8_t v = 0; v < 4; v++) {
        bool le = v == 0 || v == 2;
        for (uint8_t hist = 0; hist < 2; hist++) {
            uint8_t sel = (uint8_t)((unsigned)v | (unsigned)hist << 4 | (v == 3 ? 1u << 2 | 1u << 5 : 0u));
            buf b = {.n = 0};
            put8(&b, sel);
            /* history: the client has [3, 4) unacknowledged and popped 3 */
            rsp_bytes(&b, sel, 0, "server", "", hist ? 3 : 0, hist ? 3 : 0, hist ? 3 : 0);
            put_msg(&b, 24, 9, hist ? 4 : 0, le);
            put_msg(&b, 8, 0, hist ? 4 : 0, le);
            char name[64];
            snprintf(name, sizeof name, "ok-cfg%u-history%u", v, hist);
            write_file("login_client", name, &b);
        }
    }
    static const struct {
        const char *file, *server, *msg;
        uint8_t status, sel;
        uint32_t ack, s0, s1;
    } c[] = {
        {"ok-new-server-name", "other", "", 0, 1u << 4, 0, 0, 0},
        {"ok-inconsistent", "server", "", 0, 1u << 4, 9, 0, 0},
        {"status-mismatch", "server", "Seq number mismatch", 1, 0, 0, 0, 0},
        {"status-reject", "server", "go away", 2, 0, 0, 0, 0},
        {"ok-empty-name", "", "", 0, 0, 0, 0, 0},
        {"ok-unsafe-name", "../x", "", 0, 0, 0, 0, 0},
        {"ok-escape-bytes-name", "s\x1b[2J", "", 0, 0, 0, 0, 0},
        {"reject-escape-bytes-text", "server", "\x1b[31mno\nforged", 2, 0, 0, 0, 0},
        /* the server's range reversed, across the wrap, at 2^31 (history: [3, 4), popped 3) */
        {"ok-range-reversed", "server", "", 0, 1u << 4, 3, 5, 2},
        {"ok-range-wrapped-around-ack", "server", "", 0, 1u << 4, 3, 0xfffffffeu, 4},
        {"ok-range-reversed-across-wrap", "server", "", 0, 1u << 4, 3, 4, 0xfffffffeu},
        {"ok-range-2pow31-wide", "server", "", 0, 1u << 4, 3, 3, 0x80000003u},
        {"bytewise-capacity-17", "server", "", 0, 1u << 2 | 2u << 5, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        buf b = {.n = 0};
        put8(&b, c[i].sel);
        rsp_bytes(&b, c[i].sel, c[i].status, c[i].server, c[i].msg, c[i].ack, c[i].s0, c[i].s1);
        write_file("login_client", c[i].file, &b);
    }
    buf b = {.n = 0};
    put8(&b, 0);
    put_msg(&b, 8, 0, 0, true); /* a heartbeat instead of the response */
    write_file("login_client", "heartbeat-first", &b);
    b.n = 0;
    put8(&b, 0);
    put(&b, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
    write_file("login_client", "http", &b);
}

/* ---- queue_file: [file image][ops] ---- */

static void gen_queue_file(void)
{
    static const struct {
        const char *name;
        uint32_t cap, max;
        bool le;
        int pushes, acks, pops, sel;
    } c[] = {
        {"empty-1024", 1024, 256, true, 0, 0, 0, 0x05},
        {"three-queued", 1024, 256, true, 3, 0, 2, 0x05},
        {"acked-some", 1024, 256, true, 6, 4, 1, 0x05},
        {"wrapped-compacted", 256, 64, true, 40, 38, 9, 0x02},
        {"big-endian", 512, 128, false, 5, 2, 3, 0x03},
        {"capacity-16", 16, 16, true, 1, 0, 0, 0x00},
        {"max-4096", 4096, 4096, true, 3, 1, 0, 0x06},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        venv *v = venv_create(NULL);
        const tcpshm_env *env = venv_env(v);
        tcpshm_ptcp_queue_config qc = {c[i].cap, c[i].max, c[i].le, 0, false};
        tcpshm_ptcp_queue q;
        tcpshm_error err;
        if (tcpshm_ptcp_queue_open(&q, env, "q", "server", "client", &qc, &err) != 0) {
            fprintf(stderr, "gen_corpus: %s\n", err.text);
            exit(1);
        }
        for (int k = 0; k < c[i].pushes; k++) {
            tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(&q, (uint16_t)(k % 3 == 0 ? 0 : 4 + k % 5));
            if (!h) {
                /* full: send and acknowledge everything to make room */
                const uint8_t *p;
                tcpshm_ptcp_queue_mark_sent(&q, tcpshm_ptcp_queue_sendable(&q, &p));
                (void)tcpshm_ptcp_queue_ack(&q, tcpshm_ptcp_queue_seq_end(&q), NULL);
                h = tcpshm_ptcp_queue_alloc(&q, 4);
            }
            h->msg_type = 9;
            (void)tcpshm_ptcp_queue_push(&q, NULL);
        }
        const uint8_t *p;
        tcpshm_ptcp_queue_mark_sent(&q, tcpshm_ptcp_queue_sendable(&q, &p));
        uint32_t queued = tcpshm_ptcp_queue_seq_end(&q) - tcpshm_ptcp_queue_seq_start(&q);
        uint32_t acks = (uint32_t)c[i].acks < queued ? (uint32_t)c[i].acks : queued;
        (void)tcpshm_ptcp_queue_ack(&q, tcpshm_ptcp_queue_seq_start(&q) + acks, NULL);
        for (int k = 0; k < c[i].pops; k++)
            tcpshm_ptcp_queue_popped(&q);
        size_t len;
        const uint8_t *d = venv_file_data(v, "q/server_client.ptcp", &len);
        buf b = {.n = 0};
        put(&b, d, len);
        /* ops: config byte, then a mix of alloc/push/send/ack/rewind/pop/reopen */
        static const uint8_t ops[] = {0, 10, 0, 9, 0, 1, 2, 30, 9, 3, 1, 0, 5, 7, 0, 20, 0, 7, 0, 1,
                                      4, 0, 8, 6, 1, 3, 2, 0};
        put8(&b, (uint8_t)c[i].sel);
        put(&b, ops, sizeof ops);
        write_file("queue_file", c[i].name, &b);
        tcpshm_ptcp_queue_close(&q);
        venv_destroy(v);
    }
}

/* ---- shm_segment: [config][segment image][ops] ---- */

static void gen_shm_segment(void)
{
    static const struct {
        const char *name;
        uint8_t cfg; /* capacity index | max index << 2 */
        int pushes, pops;
    } c[] = {
        {"empty-256", 0x00, 0, 0},       {"three-queued-1024", 0x0a, 3, 0}, {"popped-some-512", 0x05, 9, 4},
        {"wrapped-256", 0x04, 40, 37},   {"full-1024", 0x0e, 60, 0},       {"wrapped-4096", 0x0f, 400, 390},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint32_t cap, max;
        fz_shm_geometry(c[i].cfg, &cap, &max);
        venv *v = venv_create(NULL);
        const tcpshm_env *env = venv_env(v);
        tcpshm_shm_queue prod, cons;
        tcpshm_error err;
        if (tcpshm_shm_queue_open(&prod, env, "/tcpshm_peer_me",
                                  &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max,
                                                             .producer = true, .create = true}, &err) != 0 ||
            tcpshm_shm_queue_open(&cons, env, "/tcpshm_peer_me",
                                  &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max}, &err) != 0) {
            fprintf(stderr, "gen_corpus: %s\n", err.text);
            exit(1);
        }
        for (int k = 0, popped = 0; k < c[i].pushes; k++) {
            tcpshm_msg_header *h = tcpshm_shm_queue_alloc(&prod, (uint16_t)((uint32_t)k % (max - 7)));
            if (!h)
                break; /* full */
            h->msg_type = (uint16_t)(3 + k % 4);
            (void)tcpshm_shm_queue_push(&prod);
            /* pop as we go, so later pushes wrap */
            if (popped < c[i].pops && k >= c[i].pushes - c[i].pops - 1) {
                bool bad;
                if (tcpshm_shm_queue_front(&cons, &bad, NULL)) {
                    tcpshm_shm_queue_pop(&cons);
                    popped++;
                }
            }
        }
        char path[300];
        fz_shm_path(path, sizeof path, "/tcpshm_peer_me");
        size_t len;
        const uint8_t *d = venv_file_data(v, path, &len);
        buf b = {.n = 0};
        put8(&b, c[i].cfg);
        put(&b, d, len);
        /* ops: fronts and pops, pushes, a hostile byte, reopen, front twice */
        static const uint8_t ops[] = {8, 8, 3, 20, 7, 8, 3, 0, 5, 8, 9, 3, 40, 4, 200, 0, 7, 8, 7, 6, 3, 1, 8};
        put(&b, ops, sizeof ops);
        write_file("shm_segment", c[i].name, &b);
        tcpshm_shm_queue_close(&prod);
        tcpshm_shm_queue_close(&cons);
        venv_destroy(v);
    }
}

/* ---- stateful: [sel][ops] ---- */

static void gen_stateful(void)
{
    /* op bytes (op % 13): 0 client push, 1 server push, 2 poll, 3 four polls,
     * 4 pause, 5 disconnect, 6 kill client, 7 kill server, 8 arm fault
     * (point index of fuzz_stateful.c's g_points, countdown, errno/bytes),
     * 9 hostile peer, 10 hold connects, 11 stream capacity, 12 many polls */
    static const struct {
        const char *name;
        uint8_t ops[64];
        size_t n;
    } c[] = {
        {"echo-both-ways", {0, 0, 3, 10, 20, 30, 1, 1, 5, 6, 2, 2, 3, 1, 2, 3, 4, 12, 4}, 19},
        {"kill-client-mid-stream", {0, 3, 10, 20, 30, 40, 2, 1, 6, 1, 3, 3, 1, 2, 3, 4, 12, 8}, 18},
        {"kill-server-mid-stream", {1, 3, 10, 20, 30, 40, 2, 1, 0, 2, 5, 7, 7, 12, 8, 0, 1, 9}, 18},
        {"disconnect-each-way", {0, 1, 50, 5, 0, 12, 3, 1, 1, 60, 5, 1, 12, 3, 5, 2, 12, 3, 5, 3, 12, 4}, 22},
        {"timeouts", {0, 2, 1, 2, 2, 7, 1, 0, 90, 2, 6, 12, 10}, 13},
        {"paused-consumers", {4, 3, 0, 3, 1, 2, 3, 12, 5, 4, 1, 12, 5}, 13},
        {"reset-fault", {8, 0, 2, 0, 0, 3, 1, 2, 3, 12, 10}, 11},
        {"send-error", {8, 1, 3, 4, 0, 3, 1, 2, 3, 12, 10}, 11},
        {"short-sends-and-reads", {8, 2, 1, 9, 8, 4, 2, 5, 8, 2, 5, 33, 0, 3, 100, 110, 120, 12, 10}, 19},
        {"recv-error", {8, 3, 2, 3, 1, 3, 1, 2, 3, 12, 10}, 11},
        {"accept-and-connect-fail", {8, 5, 0, 0, 8, 6, 0, 0, 6, 12, 20}, 11},
        {"crash-push-before-publish", {8, 12, 1, 0, 0, 3, 1, 2, 3, 0, 2, 9, 9, 12, 10}, 15},
        {"crash-push-after-publish", {8, 13, 1, 0, 1, 3, 1, 2, 3, 0, 2, 9, 9, 12, 10}, 15},
        {"crash-pop-before-publish", {8, 18, 1, 0, 0, 3, 1, 2, 3, 12, 10, 12, 10}, 13},
        {"crash-pop-after-publish", {8, 19, 2, 0, 1, 3, 1, 2, 3, 12, 10, 12, 10}, 13},
        {"crash-ack", {8, 16, 1, 0, 0, 0, 40, 12, 10, 8, 17, 1, 0, 1, 0, 40, 12, 10}, 18},
        /* 7 messages, the server pops them and acknowledges (heartbeat) while
         * paused before the 8th: the queue is [840, 960) of 1024, so the 9th
         * push compacts, and the armed crash site fires inside */
        {"crash-compaction", {0, 3, 100, 100, 100, 100, 0, 2, 100, 100, 100, 2, 1, 4, 3, 0, 0, 100, 2, 4, 2, 1,
                              8, 14, 0, 0, 0, 1, 100, 100, 4, 1, 12, 10},
         34},
        {"crash-rewind-at-relogin", {0, 2, 10, 20, 30, 1, 1, 50, 60, 7, 8, 23, 1, 0, 12, 10}, 16},
        {"file-open-fault-at-restart", {8, 7, 1, 0, 6, 12, 20}, 7},
        {"file-map-fault-at-restart", {8, 10, 1, 0, 7, 12, 20}, 7},
        {"held-connects", {10, 6, 2, 6, 2, 6, 10, 12, 10}, 9},
        {"tiny-stream", {11, 3, 6, 0, 3, 100, 100, 100, 1, 3, 90, 90, 90, 12, 30}, 15},
        {"hostile-garbage", {9, 0, 16, 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r',
                              '\n', 12, 3},
         21},
        {"hostile-login-then-bad-frame", {9, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 9, 0, 0, 0, 0, 0, 12, 3}, 21},
        {"hostile-known-server", {9, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 3}, 13},
        /* [how 7: login, ack 0, "server"][len][seq_start][seq_end] */
        {"hostile-range-reversed", {9, 7, 0, 5, 0, 0, 0, 3, 0, 0, 0, 12, 3}, 13},
        {"hostile-range-wrapped", {9, 7, 0, 0xfe, 0xff, 0xff, 0xff, 2, 0, 0, 0, 12, 3}, 13},
        {"hostile-range-reversed-across-wrap", {9, 7, 0, 2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 12, 3}, 13},
        {"hostile-range-2pow31", {9, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 12, 3}, 13},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        for (uint8_t sel = 0; sel < 2; sel++) {
            buf b = {.n = 0};
            put8(&b, sel ? 0x05 : 0x00); /* compatible config + 4096; big-endian + 64-byte streams */
            put(&b, c[i].ops, c[i].n);
            char name[96];
            snprintf(name, sizeof name, "%s-%s", c[i].name, sel ? "be-64" : "le-4096");
            write_file("stateful", name, &b);
        }
    }
    /* a hostile raw login (how 0) whose name fields have no NUL: status 2 */
    for (uint8_t field = 0; field < 2; field++) {
        tcpshm_config cfg;
        fz_config(0, &cfg);
        tcpshm_login lg;
        memset(&lg, 0, sizeof lg);
        strcpy(lg.client_name, "mallory");
        uint8_t login[TCPSHM_LOGIN_MAX_BYTES];
        uint32_t n = tcpshm_login_encode(&cfg, &lg, login);
        memset(login + TCPSHM_HEADER_SIZE + 8 + cfg.login_user_data_size + 1 + field * cfg.name_size,
               field ? 'B' : 'A', cfg.name_size);
        buf b = {.n = 0};
        put8(&b, 0x00);
        put8(&b, 9);
        put8(&b, 0);
        put8(&b, (uint8_t)n);
        put(&b, login, n);
        put8(&b, 12);
        put8(&b, 3);
        write_file("stateful", field ? "hostile-last-server-unterminated-le-4096" : "hostile-name-unterminated-le-4096",
                   &b);
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: gen_corpus OUT_DIR   (e.g. fuzz/corpus)\n"
                 "\n"
                 "Writes the seed corpus of every fuzz target into OUT_DIR/<target>/ (creating\n"
                 "OUT_DIR if needed); deterministic: the committed fuzz/corpus/ is its output.\n"
                 "\n"
                 "  --help   this text\n"
                 "\n"
                 "Exit status: 0 written, 1 a file could not be written, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "Try 'gen_corpus --help'.\n"); /* getopt said what was wrong */
        return 2;
    }
    if (argc - optind != 1) {
        fprintf(stderr, "gen_corpus: %s\nTry 'gen_corpus --help'.\n",
                optind == argc ? "OUT_DIR is missing" : "one OUT_DIR only");
        return 2;
    }
    g_out = argv[optind];
    if (mkdir(g_out, 0755) != 0 && errno != EEXIST) {
        perror(g_out);
        return 1;
    }
    gen_frame();
    gen_login_server();
    gen_login_client();
    gen_queue_file();
    gen_shm_segment();
    gen_stateful();
    printf("gen_corpus: %u files in %s\n", g_count, g_out);
    return 0;
}
