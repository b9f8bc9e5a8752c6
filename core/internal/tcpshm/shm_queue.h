/* A single-producer single-consumer queue of variable-length messages in a
 * shared-memory segment, for one direction of an SHM connection.
 *
 * Segment: a 192-byte header (magic, version, capacity, byte-order mark) in
 * three cache lines — constants, the producer's state, the consumer's state
 * — then `capacity` bytes of slots. A slot is an 8-byte slot word
 * (seq << 32 | slot length), the 8-byte message header (host order, as
 * front() shows it over TCP too) and the body, padded to 8.
 *
 * Latency: the consumer learns of a message by polling the slot word at its
 * read position, which the producer writes last with a release store; no
 * shared write index is read. The producer reads the consumer's position
 * only when the queue looks full (it caches it). So in steady state a
 * message costs the cache lines it occupies, and nothing else crosses.
 *
 * Crash safety: each side's position (count << 32 | offset) is one 64-bit
 * word written with one store after each push or pop; a slot is visible
 * only once its word carries the expected seq. Before publishing a slot
 * the producer zeroes the word after it (the queue keeps 8 bytes free for
 * it), so the word the consumer polls next never holds stale bytes that
 * could pass for the next slot. A producer killed after
 * publishing but before recording finds the published slot again at open.
 * So a kill of either side at any instruction loses, duplicates or tears
 * nothing. A message that does not fit before the end leaves a wrap marker
 * (slot length 1) and goes to offset 0.
 *
 * Untrusted: the peer process writes half the segment; every length read
 * from it is checked before use, and a bad one is reported, never followed.
 * (A peer that rewrites a message after front() validated it can change
 * what the application then reads; the queue itself never uses those bytes
 * again.) */
#ifndef TCPSHM_SHM_QUEUE_H
#define TCPSHM_SHM_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/env.h"
#include "tcpshm/error.h"
#include "tcpshm/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TCPSHM_SHM_HEADER_SIZE 192u
#define TCPSHM_SHM_SLOT_OVERHEAD 8u /* the slot word before each message */

typedef struct tcpshm_shm_queue {
    const tcpshm_env *env;
    struct tcpshm_shm_segment *seg;
    uint8_t *data;
    uint32_t cap;
    uint32_t max_msg_size;
    /* producer side (this process pushes) */
    uint32_t wpos, wcount;        /* next slot, its seq */
    uint32_t seen_rpos, seen_rcount; /* the consumer's position when last read */
    uint32_t alloc_pos, alloc_len, alloc_size, alloc_wrap; /* reserved by alloc */
    /* consumer side (this process pops) */
    uint32_t rpos, rcount;
    uint32_t front_pos, front_len; /* the message front() returned */
    bool producer;
    uint64_t map_size;
} tcpshm_shm_queue;

/* The segment name of the direction sender -> receiver: "/tcpshm_<from>_<to>". */
int tcpshm_shm_queue_name(char *out, size_t out_size, const char *from, const char *to);

/* How to open one direction's segment. */
typedef struct tcpshm_shm_queue_config {
    uint32_t capacity;     /* bytes of slots: multiple of 8, >= 2 * (max_msg_size + 8), <= 1 GiB */
    uint32_t max_msg_size; /* largest padded message, multiple of 8, in [16, TCPSHM_MAX_PADDED_MSG_SIZE] */
    bool producer;         /* this process pushes (else it pops) */
    bool create;           /* create the segment if it does not exist */
    unsigned mode;         /* permissions of a new segment; 0 means 0600 */
} tcpshm_shm_queue_config;

/* Opens the segment `name` as its producer or its consumer, creating it
 * when cfg->create is set and it does not exist. The producer also recovers
 * a slot it published but did not record before a kill. A segment whose
 * header is not ours, of another version, capacity or byte order, or whose
 * positions are out of range is refused with TCPSHM_E_CORRUPT and a reason. */
int tcpshm_shm_queue_open(tcpshm_shm_queue *q, const tcpshm_env *env, const char *name,
                          const tcpshm_shm_queue_config *cfg, tcpshm_error *err);
void tcpshm_shm_queue_close(tcpshm_shm_queue *q);

/* Empties the queue (both positions and every slot). Only while neither
 * side is using it (at login). */
void tcpshm_shm_queue_reset(tcpshm_shm_queue *q);

/* Producer: room for a message (header size set, type to fill), NULL when
 * full or too large; push publishes it (one release store) and persists
 * the producer's position. TCPSHM_E_ARG without an alloc or with type 0. */
tcpshm_msg_header *tcpshm_shm_queue_alloc(tcpshm_shm_queue *q, uint16_t body_size);
int tcpshm_shm_queue_push(tcpshm_shm_queue *q);

/* Consumer: the next message or NULL; a malformed slot from the peer gives
 * NULL with *bad set (err filled) — the caller closes the connection. */
tcpshm_msg_header *tcpshm_shm_queue_front(tcpshm_shm_queue *q, bool *bad, tcpshm_error *err);
/* Consumes the message front() returned; one store persists it. */
void tcpshm_shm_queue_pop(tcpshm_shm_queue *q);

/* The consumer's popped count and the producer's pushed count as published
 * in the segment: either side, any thread (one atomic load each). */
uint32_t tcpshm_shm_queue_consumer_count(const tcpshm_shm_queue *q);
uint32_t tcpshm_shm_queue_producer_count(const tcpshm_shm_queue *q);

/* Messages pushed so far (producer) and popped so far (consumer). */
static inline uint32_t tcpshm_shm_queue_pushed(const tcpshm_shm_queue *q) { return q->wcount; }
static inline uint32_t tcpshm_shm_queue_popped(const tcpshm_shm_queue *q) { return q->rcount; }


#ifdef __cplusplus
}
#endif
#endif
