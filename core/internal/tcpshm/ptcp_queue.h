/* The persistent send queue of one TCP connection, in a mapped file
 * <dir>/<local>_<remote>.ptcp. It holds the messages pushed and not yet
 * acknowledged by the peer (encoded as on the wire, each padded to 8 bytes),
 * their sequence range, and this side's own ack of the peer's stream
 * (my_ack: how many of the peer's messages were popped).
 *
 * Crash safety: the file's state lives in two record slots and a selector;
 * every change (push, ack, pop, compaction, reset) writes the inactive slot
 * and then flips the selector with one release store. A process killed at
 * any instruction leaves either the old or the new state, never a mix, so
 * reopening yields the state of the last call that returned (or of the one
 * in progress). A file that is truncated, foreign or inconsistent is
 * rejected with a reason, never misread.
 *
 * Host durability (cfg.host_durable, tcpshm_config.durability = host): the
 * same file, and in addition the record the file shows never counts a
 * message whose bytes are not on stable storage. push syncs the message's
 * bytes, then publishes the record, then syncs the record, and returns only
 * then; push_more only writes the bytes and keeps the new end in memory (a
 * batch: the file's record, and so a kill or a power cut, does not count it
 * yet) until the next push or tcpshm_ptcp_queue_sync publishes the whole
 * batch with one data sync and one record sync. A pop is published at once
 * (a kill keeps it) and synced by the next sync, which the connection runs
 * before it sends any byte (an ack must never leave before the pop it
 * covers is on stable storage). Acks of our messages are published but not
 * synced: losing one to a power cut only resends messages the peer skips.
 *
 * Threading: one queue is used by one thread at a time. The send position
 * is not persisted: after open it is at the oldest unacknowledged message,
 * as a login's rewind would put it. */
#ifndef TCPSHM_PTCP_QUEUE_H
#define TCPSHM_PTCP_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/env.h"
#include "tcpshm/error.h"
#include "tcpshm/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tcpshm_ptcp_queue_config {
    uint32_t capacity;     /* bytes of message space, multiple of 8, >= max_msg_size */
    uint32_t max_msg_size; /* largest padded message, multiple of 8, in [16, TCPSHM_MAX_PADDED_MSG_SIZE] */
    bool little_endian;    /* wire byte order of the stored headers */
    unsigned file_mode;    /* permissions of a new file; 0 means 0600 */
    bool host_durable;     /* durability "host": sync to stable storage (see below) */
} tcpshm_ptcp_queue_config;

/* State kept in the file; a copy of the active record slot. */
typedef struct tcpshm_ptcp_state {
    uint32_t read_idx;  /* byte offset of the oldest unacknowledged message */
    uint32_t write_idx; /* byte offset after the newest message */
    uint32_t read_seq;  /* seq of the message at read_idx (= peer's ack) */
    uint32_t write_seq; /* seq the next pushed message gets */
    uint32_t my_ack;    /* messages of the peer's stream popped so far */
    uint32_t reserved[3];
} tcpshm_ptcp_state;

/* Fields are private; the struct is public so it can be embedded (no
 * allocation happens at open). */
typedef struct tcpshm_ptcp_queue {
    const tcpshm_env *env;
    struct tcpshm_ptcp_file *file; /* the mapping */
    uint64_t map_size;
    uint8_t *data;
    tcpshm_ptcp_state st; /* copy of the active record */
    uint32_t send_idx;    /* runtime: next byte to send */
    uint32_t sent_idx;    /* runtime: end of the last message sent completely */
    uint32_t sent_seq;    /* runtime: seq of the first message not sent completely */
    uint32_t alloc_size;  /* size of the message reserved by alloc, 0 if none */
    tcpshm_ptcp_queue_config cfg;
    /* host durability only: the end of the messages the file's record
     * counts (their bytes are synced); [durable_write_idx, st.write_idx) is
     * the push_more batch not published yet */
    uint32_t durable_write_idx;
    uint32_t durable_write_seq;
    bool record_unsynced;  /* a pop or reset was published but not synced */
    bool claimed;          /* this open claimed the file for its boot (env version 3): a close releases it */
    bool compact_unsynced; /* a compaction was published but not synced */
} tcpshm_ptcp_queue;

/* The file name of a pair: "<dir>/<local>_<remote>.ptcp". 0 or TCPSHM_E_ARG
 * if it does not fit in out_size. */
int tcpshm_ptcp_queue_path(char *out, size_t out_size, const char *dir, const char *local,
                           const char *remote);

/* Opens the pair's file, creating it (atomically, via a temporary file and
 * rename) if it does not exist. Names are checked (tcpshm_name_check with
 * TCPSHM_NAME_MAX + 1). An existing file is verified completely: header
 * (magic, version, byte order, capacity, names) and state (indices, message
 * sizes, sequence range); any mismatch is TCPSHM_E_CORRUPT with the reason. */
int tcpshm_ptcp_queue_open(tcpshm_ptcp_queue *q, const tcpshm_env *env, const char *dir,
                           const char *local, const char *remote,
                           const tcpshm_ptcp_queue_config *cfg, tcpshm_error *err);

/* Verifies a file's bytes without opening a queue (what open checks). The
 * config supplies the expected capacity and byte order; names NULL = any. */
/* The boot check of a verified file's header (written, boot_id) against
 * the host's boot now: TCPSHM_E_CORRUPT for a file written without a sync
 * (durability "process") in an earlier boot, which a power cut may have
 * taken back; else 0. Opening applies it; tcpshm-inspect shows it. */
int tcpshm_ptcp_queue_boot_check(uint32_t written, const uint8_t boot_id[16], const uint8_t now[16],
                                 tcpshm_error *err);
int tcpshm_ptcp_queue_verify(const void *bytes, uint64_t size, const char *local,
                             const char *remote, const tcpshm_ptcp_queue_config *cfg,
                             tcpshm_error *err);

void tcpshm_ptcp_queue_close(tcpshm_ptcp_queue *q);

/* Capacity bounds: a multiple of 8 in [max_msg_size, 1 GiB]. */
#define TCPSHM_PTCP_MAX_CAPACITY (1u << 30)

/* Reserves room for a message with body_size bytes and returns its header
 * (size set, in host order) followed by the body, 8-byte aligned; the caller
 * sets msg_type (non-zero) and the body, then calls push. Returns NULL when
 * the message is larger than max_msg_size, or when it does not fit now: the
 * tail is full and compaction cannot make room without its copy
 * overwriting unacknowledged bytes (so roughly half the capacity or more is
 * unacknowledged) — retry after the peer acknowledges. A new alloc replaces
 * the previous one (its bytes are not kept), and a NULL result leaves
 * nothing allocated. May move the queued bytes (compaction): pointers from
 * sendable() or next() are invalid after alloc. After push the message
 * belongs to the queue: do not write through the header again. */
tcpshm_msg_header *tcpshm_ptcp_queue_alloc(tcpshm_ptcp_queue *q, uint16_t body_size);

/* Commits the message alloc returned: stamps ack_seq = my_ack, encodes the
 * header in the wire byte order, zeroes the padding and persists it; its seq
 * is seq_end - 1 afterwards. TCPSHM_E_ARG if nothing was allocated or the
 * msg_type is 0 (reserved for heartbeats); nothing is queued then. */
int tcpshm_ptcp_queue_push(tcpshm_ptcp_queue *q, tcpshm_error *err);

/* push without the sync of host durability: the message joins the batch the
 * next push (or sync) makes durable. In process mode the same as push. */
int tcpshm_ptcp_queue_push_more(tcpshm_ptcp_queue *q, tcpshm_error *err);

/* Host durability: makes everything done so far durable (publishes a
 * push_more batch after syncing its bytes, then syncs the record). 0 at once
 * when nothing is pending, and always in process mode. A failed sync is
 * TCPSHM_E_SYSTEM with the errno; the state in memory stays as it was. */
/* Whether the file was made by this pair's opens and no login has used the
 * pair yet (header offset 184); mark_used clears it (host durability: the
 * next sync makes that durable). */
bool tcpshm_ptcp_queue_fresh(const tcpshm_ptcp_queue *q);
void tcpshm_ptcp_queue_mark_used(tcpshm_ptcp_queue *q);
int tcpshm_ptcp_queue_sync(tcpshm_ptcp_queue *q, tcpshm_error *err);

/* The bytes not yet sent: *data and the length (0 if all sent). */
uint32_t tcpshm_ptcp_queue_sendable(const tcpshm_ptcp_queue *q, const uint8_t **data);

/* n bytes of the sendable range went out (n <= the sendable length). */
void tcpshm_ptcp_queue_mark_sent(tcpshm_ptcp_queue *q, uint32_t n);

/* The peer acknowledged everything before seq. Stale (not newer than what
 * was acknowledged) is ignored and returns 0; beyond the last message sent
 * completely is TCPSHM_E_BAD_ACK and changes nothing. */
int tcpshm_ptcp_queue_ack(tcpshm_ptcp_queue *q, uint32_t seq, tcpshm_error *err);

/* As at login: frees up to the peer's ack (which may be beyond what this
 * process sent, when the peer received it before a restart) and puts the
 * send position at the oldest unacknowledged message. The ack must lie in
 * [seq_start, seq_end] (wrap-aware), else TCPSHM_E_BAD_ACK. */
int tcpshm_ptcp_queue_rewind(tcpshm_ptcp_queue *q, uint32_t peer_ack, tcpshm_error *err);

/* A new connection (the peer has a new name): drops every queued message and
 * any allocation, and resets both sequence numbers and my_ack to 0, in one
 * persisted step. */
void tcpshm_ptcp_queue_reset(tcpshm_ptcp_queue *q);

/* Sequence range of the queued (unacknowledged) messages: [start, end). */
static inline uint32_t tcpshm_ptcp_queue_seq_start(const tcpshm_ptcp_queue *q) { return q->st.read_seq; }
static inline uint32_t tcpshm_ptcp_queue_seq_end(const tcpshm_ptcp_queue *q) { return q->st.write_seq; }
/* Seq of the next message to send completely. */
static inline uint32_t tcpshm_ptcp_queue_sent_seq(const tcpshm_ptcp_queue *q) { return q->sent_seq; }

/* This side's ack of the peer's stream, and its persisted increment (one
 * popped message). */
static inline uint32_t tcpshm_ptcp_queue_my_ack(const tcpshm_ptcp_queue *q) { return q->st.my_ack; }
void tcpshm_ptcp_queue_popped(tcpshm_ptcp_queue *q);

/* Iterates over the queued messages, oldest first: pass NULL to start, the
 * previous result to continue; NULL at the end. Headers are wire-encoded. */
const uint8_t *tcpshm_ptcp_queue_next(const tcpshm_ptcp_queue *q, const uint8_t *prev);

#ifdef __cplusplus
}
#endif
#endif
