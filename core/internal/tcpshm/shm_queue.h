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
 * Untrusted: any process that maps the segment can write any of it. Each
 * side keeps its own position in this struct (private memory) and only
 * publishes it to its line; it never reads its own line back except at
 * open (recovery). A word the peer writes is read only where it must be —
 * the slot word at the consumer's position (its seq must be the one the
 * consumer expects, or the word 0), and the consumer's position when the
 * producer looks for room — and checked there: a bad one is reported
 * ("Bad shm message" / "Bad shm word", naming the segment and the word),
 * never followed. (A peer that rewrites a message after front() validated
 * it can change what the application then reads; the queue itself never
 * uses those bytes again.) */
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
    /* cold: the segment's name for reasons; the last refused consumer
     * position ("" once one is accepted) */
    char name[2 * 63 + 16];
    char fault[288];
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
 * full or too large. The consumer's published position is read only when
 * the queue looks full; one it cannot have reached (moved back, past what
 * was pushed, not at the slot of its count) is refused: alloc gives NULL
 * and tcpshm_shm_queue_fault() says why, until a later read is accepted
 * (room known from the last good position stays usable).
 * Push publishes it (one release store) and persists the producer's
 * position. TCPSHM_E_ARG without an alloc or with type 0. */
tcpshm_msg_header *tcpshm_shm_queue_alloc(tcpshm_shm_queue *q, uint16_t body_size);
int tcpshm_shm_queue_push(tcpshm_shm_queue *q);

/* Consumer: the next message or NULL (the slot word is still 0); a slot
 * word with another seq than the next expected one, or a malformed slot,
 * gives NULL with *bad set (err filled) — the caller closes the connection.
 * Until it is popped, the same message again without reading the segment
 * (it was checked once; pop uses only this side's copy of its place). */
tcpshm_msg_header *tcpshm_shm_queue_front(tcpshm_shm_queue *q, bool *bad, tcpshm_error *err);
/* Consumes the message front() returned; one store persists it. */
void tcpshm_shm_queue_pop(tcpshm_shm_queue *q);
/* Consumer: writes its own position to the segment again, from its private
 * copy (a word another process scribbled would otherwise stay wrong, and the
 * producer would refuse it at every login). Only in the consumer's thread. */
void tcpshm_shm_queue_republish(tcpshm_shm_queue *q);

/* The last refused consumer position (why alloc gave NULL), NULL once a
 * later one is accepted. */
const char *tcpshm_shm_queue_fault(const tcpshm_shm_queue *q);

/* The peer's count as published in the segment, any thread: the producer
 * reads the consumer's popped count, the consumer the producer's pushed
 * count. False when it is not one the peer can have reached (popped count
 * outside [last seen, pushed]; pushed count outside [popped, popped + the
 * most the queue holds]); *count is then the last value known good. */
bool tcpshm_shm_queue_consumer_count(const tcpshm_shm_queue *q, uint32_t *count);
bool tcpshm_shm_queue_producer_count(const tcpshm_shm_queue *q, uint32_t *count);

/* The segment's constants (magic, version, header, byte order, capacity)
 * are still ours: checked at open and again at each login. */
int tcpshm_shm_queue_check_header(const tcpshm_shm_queue *q, tcpshm_error *err);

/* Messages pushed so far (producer) and popped so far (consumer): this
 * side's private counts, any thread. */
static inline uint32_t tcpshm_shm_queue_pushed(const tcpshm_shm_queue *q)
{
    return __atomic_load_n(&q->wcount, __ATOMIC_RELAXED);
}
static inline uint32_t tcpshm_shm_queue_popped(const tcpshm_shm_queue *q)
{
    return __atomic_load_n(&q->rcount, __ATOMIC_RELAXED);
}

/* Producer: a hint, no store: asks for the cache line of the next slot, for
 * writing (poll_shm, when a message has come in: a reply would go there, so
 * its line is on its way while the message is checked and delivered). Any
 * thread: wpos is read relaxed (push stores it so), and a stale position
 * only warms another line of the data area. */
static inline void tcpshm_shm_queue_warm(const tcpshm_shm_queue *q)
{
    const uint8_t *p = q->data + __atomic_load_n(&q->wpos, __ATOMIC_RELAXED);
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("prefetchw %0" ::"m"(*p)); /* a no-op where unsupported */
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Consumer: true when front() would return NULL for want of a message (no
 * front checked and not popped, and the next slot word still 0), in one
 * load: the poll loops' idle round, inline. False means: call front(). */
static inline bool tcpshm_shm_queue_idle(const tcpshm_shm_queue *q)
{
    return q->front_len == 0 &&
           __atomic_load_n((const uint64_t *)(const void *)(q->data + q->rpos), __ATOMIC_ACQUIRE) == 0;
}


#ifdef __cplusplus
}
#endif
#endif
