/* Shared by the fuzz targets: checks that abort with a message, a reader over
 * the fuzz input, configurations, the documented reasons, and a model of the
 * server's handling of the first bytes of a connection (docs/protocol.md, "Logging in:
 * the server side") that the login and stateful targets compare the
 * real server with. */
#ifndef TCPSHM_FUZZ_COMMON_H
#define TCPSHM_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpshm/config.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

/* Every fuzz target defines this (libFuzzer's entry point). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check prints where and why, then aborts: every fuzzer engine
 * counts an abort as a crash. */
#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond))                                                          \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)
void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* ---- reading the input: past the end every read gives zeros ---- */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, i;
} fz_in;

static inline void fz_in_init(fz_in *in, const uint8_t *p, size_t n)
{
    in->p = p;
    in->n = n;
    in->i = 0;
}
static inline bool fz_more(const fz_in *in) { return in->i < in->n; }
static inline size_t fz_left(const fz_in *in) { return in->n - in->i; }
static inline uint8_t fz_u8(fz_in *in) { return in->i < in->n ? in->p[in->i++] : 0; }
static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)(fz_u8(in) << 8));
}
static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t lo = fz_u16(in);
    return lo | (uint32_t)fz_u16(in) << 16;
}
/* Up to max bytes (fewer at the end): returns a pointer into the input. */
static inline const uint8_t *fz_bytes(fz_in *in, size_t max, size_t *got)
{
    size_t n = fz_left(in) < max ? fz_left(in) : max;
    const uint8_t *p = in->p + in->i;
    in->i += n;
    *got = n;
    return p;
}

/* ---- configurations ---- */
/* Variant sel % 4 of a small configuration: 0 tcpshm-compatible (names 16,
 * user data 1/1, little-endian), 1 the same big-endian, 2 names 8 and user
 * data 4/2, 3 names 32 big-endian. Always: max_msg_size 128, receive buffer
 * 512, queue 1024, heartbeat 100, timeout 1000, new connections 300 (in the
 * targets' virtual time), 1 group of 3 clients, TCP_NODELAY. */
void fz_config(uint8_t sel, tcpshm_config *c);

struct venv;
/* The login targets' selector byte: fz_config(sel), bits 2-3 the size of the
 * pieces the peer's bytes arrive in (*chunk: 0 all at once, 1, 7, 13), bits
 * 5-6 the venv's stream capacity (*capacity: 4096, 64, 17, 1000). Returns
 * the new venv. */
struct venv *fz_login_bed(uint8_t sel, tcpshm_config *cfg, size_t *chunk, uint32_t *capacity);

/* shm_segment's geometry from its config byte: capacity (256 512 1024 4096,
 * bits 0-1) and max_msg_size (16 32 64 128, bits 2-3), the latter halved
 * until the capacity holds two messages. */
void fz_shm_geometry(uint8_t cfg, uint32_t *capacity, uint32_t *max_msg_size);

/* ---- the reasons the library documents ---- */
/* A logged-in connection closed (on_disconnect): tcpshm's six plus "Bad
 * ack" / "Bad frame" (docs/protocol.md, "Close reasons"). */
bool fz_disconnect_reason_ok(const char *reason);
/* A connection dropped before its login completed (on_login_rejected);
 * app_texts: extra texts the application's on_new_connection may give. */
bool fz_login_reject_reason_ok(const char *reason, const char *const *app_texts);
/* A client login attempt failed (on_system_error). */
bool fz_client_error_reason_ok(const char *reason);

/* Wrap-aware: seq in [start, end], where a range is one only if end is not
 * before start (fewer than 2^31 numbers apart): a reversed range holds
 * nothing. Written here, another way than the core's signed differences. */
static inline bool fz_in_range(uint32_t seq, uint32_t start, uint32_t end)
{
    uint32_t width = end - start;
    return width < 0x80000000u && (uint32_t)(seq - start) <= width;
}

/* ---- model of the server side of a new connection ---- */
enum fz_srv_outcome {
    FZ_SRV_PENDING,   /* not enough bytes yet: neither logged in nor dropped */
    FZ_SRV_REJECTED,  /* dropped before login, with reason (and maybe a response) */
    FZ_SRV_MISMATCH,  /* login refused with status 1 (on_seq_mismatch) */
    FZ_SRV_LOGGED_IN, /* logged in; then `after` */
};
enum fz_srv_after { FZ_AFTER_UP, FZ_AFTER_DISCONNECT };

typedef struct fz_srv_expect {
    int outcome;
    char reason[256];  /* REJECTED: the exact reason on_login_rejected gets */
    bool response;     /* REJECTED: a status-2 response carrying `reason` is sent first */
    tcpshm_login login;/* once a login decoded */
    bool decoded;
    bool unterminated; /* decoded but for a name field without a NUL (that name "") */
    int after;              /* LOGGED_IN */
    const char *disc_reason; /* FZ_AFTER_DISCONNECT: the reason's required prefix */
    uint32_t msgs;          /* LOGGED_IN: application messages delivered */
} fz_srv_expect;

/* What the model needs to know about the server. */
typedef struct fz_srv_model {
    const tcpshm_config *cfg;
    const char *server_name;
    void *user;
    /* true if a slot of that client is live or has a login pending */
    bool (*name_busy)(void *user, const char *name);
    /* the server's on_new_connection, called with a scratch response buffer */
    int (*decide)(void *user, const tcpshm_login *login, const char **reject_text);
    /* the persisted queue of (server, name): false when there is none yet,
     * or only a fresh one (made at a login, none accepted since: its fresh
     * mark, fz_pair_state). The model supports only queues with nothing
     * unacknowledged. */
    bool (*queue_state)(void *user, const char *name, uint32_t *seq, uint32_t *my_ack);
} fz_srv_model;

/* The outcome of a new connection on which exactly b[0..n) arrived (in any
 * number of reads), with no time passing. */
void fz_expect_server(const fz_srv_model *m, const uint8_t *b, size_t n, fz_srv_expect *out);

/* ---- looking at persisted state from outside (the checker's view) ---- */
struct venv;
/* The state of the queue file <dir>/<local>_<remote>.ptcp on the venv, read
 * under owner `as` (restored afterwards): false if the file does not exist;
 * a file that exists but does not open is a failed check. */
bool fz_peek_queue(struct venv *v, uint32_t as, const char *dir, const char *local,
                   const char *remote, const tcpshm_config *cfg, uint32_t *seq_start,
                   uint32_t *seq_end, uint32_t *my_ack);
/* The same, and false as well when the file carries the fresh mark (made by
 * an open, no login accepted on the pair since: no state of the pair). */
bool fz_pair_state(struct venv *v, uint32_t as, const char *dir, const char *local, const char *remote,
                   const tcpshm_config *cfg, uint32_t *seq_start, uint32_t *seq_end, uint32_t *my_ack);

/* ---- shared-memory segments on the venv ---- */
/* The venv path of segment name ("/tcpshm_a_b" -> VENV_SHM_DIR "/tcpshm_a_b"). */
void fz_shm_path(char *out, size_t n, const char *name);

#endif
