/* The SPSC shared-memory queue (see tcpshm/shm_queue.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"
#include "env_check.h"
#include "error_set.h"
#include "io.h"
#include "path_join.h"
#include "tcpshm/shm_queue.h"

#define SHM_MAGIC "TSHMSHMQ"
#define SHM_VERSION 1u
#define SHM_ENDIAN_MARK 0x01020304u
#define WRAP_MARK 1u

struct tcpshm_shm_segment {
    /* line 0: set once at creation */
    _Alignas(8) char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t capacity;
    uint32_t endian_mark;
    uint32_t reserved0[10];
    /* line 1: written by the producer only, after each push */
    uint64_t wstate; /* wcount << 32 | wpos */
    uint64_t reserved1[7];
    /* line 2: written by the consumer only, after each pop */
    uint64_t rstate; /* rcount << 32 | rpos */
    uint64_t reserved2[7];
};

_Static_assert(sizeof(struct tcpshm_shm_segment) == TCPSHM_SHM_HEADER_SIZE, "segment header size");
_Static_assert(offsetof(struct tcpshm_shm_segment, wstate) == 64, "producer line");
_Static_assert(offsetof(struct tcpshm_shm_segment, rstate) == 128, "consumer line");

#define MIN_SLOT (TCPSHM_SHM_SLOT_OVERHEAD + TCPSHM_HEADER_SIZE)

/* The most messages the queue can hold: a slot takes 16 bytes at least. */
static uint32_t max_in_flight(uint32_t cap) { return cap / MIN_SLOT; }

static uint64_t pack(uint32_t count, uint32_t pos) { return (uint64_t)count << 32 | pos; }
static uint32_t count_of(uint64_t w) { return (uint32_t)(w >> 32); }
static uint32_t pos_of(uint64_t w) { return (uint32_t)w; }

static uint64_t *slot_word(const tcpshm_shm_queue *q, uint32_t pos)
{
    return (uint64_t *)(void *)(q->data + pos);
}

/* (pos + len) % cap for pos < cap, len <= cap, without a division (the hot
 * paths run this per message). */
static uint32_t wrap_add(uint32_t pos, uint32_t len, uint32_t cap)
{
    uint32_t x = pos + len;
    return x >= cap ? x - cap : x;
}

static uint64_t load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

int tcpshm_shm_queue_name(char *out, size_t out_size, const char *from, const char *to)
{
    return tcpshm_join(out, out_size, "/tcpshm_", from, "_", to, NULL) != 0 ? TCPSHM_E_ARG : 0;
}

/* A slot length read from shared memory is usable when it is a multiple of
 * 8 holding at least the slot word and a header, and fits before `end`. */
static bool slot_len_ok(uint32_t len, uint32_t pos, uint32_t cap)
{
    return len % 8 == 0 && len >= MIN_SLOT && len <= cap - pos;
}

/* Segment positions as recorded: 8-aligned inside the data area, the
 * producer's count at most 2 behind the consumer's (slots it published but
 * did not record before a kill) and at most a full queue ahead, and the
 * bytes between the two positions room for the messages between the counts
 * (16 bytes at least each; equal counts, equal positions). */
static bool positions_ok(uint64_t ws, uint64_t rs, uint32_t cap)
{
    uint32_t wp = pos_of(ws), rp = pos_of(rs);
    if (wp >= cap || wp % 8 || rp >= cap || rp % 8)
        return false;
    int32_t d = (int32_t)(count_of(ws) - count_of(rs));
    if (d < -2 || d > (int32_t)max_in_flight(cap))
        return false;
    if (d == 0)
        return wp == rp;
    uint32_t n = (uint32_t)(d > 0 ? d : -d);
    uint32_t bytes = d > 0 ? (wp + cap - rp) % cap : (rp + cap - wp) % cap;
    return bytes >= n * MIN_SLOT;
}

static uint64_t magic_value(void)
{
    uint64_t w;
    memcpy(&w, SHM_MAGIC, 8);
    return w;
}

/* The constants of the header are ours (at open, and at each login). */
static int check_header(const struct tcpshm_shm_segment *seg, const char *name, uint32_t capacity,
                        tcpshm_error *err)
{
    uint64_t magic_now = __atomic_load_n((const uint64_t *)(const void *)seg->magic, __ATOMIC_ACQUIRE);
    uint32_t version = __atomic_load_n(&seg->version, __ATOMIC_ACQUIRE);
    if (magic_now == 0 && version == SHM_VERSION)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, EAGAIN, "%s: being created by another process, try again",
                           name);
    if (magic_now != magic_value())
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: not a tcpshm queue segment (bad magic)", name);
    if (version != SHM_VERSION)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: version %u, this build reads %u", name, version,
                           SHM_VERSION);
    if (seg->endian_mark != SHM_ENDIAN_MARK || seg->header_size != TCPSHM_SHM_HEADER_SIZE)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: foreign header", name);
    if (seg->capacity != capacity)
        return tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: capacity %u differs from the configured %u", name,
                           seg->capacity, capacity);
    return 0;
}

int tcpshm_shm_queue_check_header(const tcpshm_shm_queue *q, tcpshm_error *err)
{
    return check_header(q->seg, q->name, q->cap, err);
}

/* The producer recovers slots it published but did not record. */
static void recover_producer(tcpshm_shm_queue *q)
{
    for (int i = 0; i < 2; i++) {
        uint64_t w = load(slot_word(q, q->wpos));
        if (count_of(w) != q->wcount)
            return;
        uint32_t len = (uint32_t)w, pos = q->wpos;
        if (len == WRAP_MARK) {
            /* the message after a marker is published before the marker */
            uint64_t w0 = load(slot_word(q, 0));
            if (count_of(w0) != q->wcount || !slot_len_ok((uint32_t)w0, 0, q->cap))
                return;
            pos = 0;
            len = (uint32_t)w0;
        } else if (!slot_len_ok(len, pos, q->cap)) {
            return;
        }
        q->wpos = (pos + len) % q->cap;
        __atomic_store_n(&q->wcount, q->wcount + 1, __ATOMIC_RELAXED);
        store(&q->seg->wstate, pack(q->wcount, q->wpos));
    }
}

/* The slots from the consumer's recorded position to the producer's are
 * the producer's own chain: counts rcount, rcount + 1, ..., each a valid
 * slot (or a wrap marker before one at offset 0), ending at wpos. Recorded
 * positions that agree in distance but not with the slots (a peer wrote
 * the header's words or the slots between them) would have the consumer
 * read, as the next messages, slots this producer never wrote, while it
 * pushes elsewhere. */
static bool chain_ok(const tcpshm_shm_queue *q)
{
    uint32_t pos = q->rpos, n = q->wcount - q->rcount;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t seq = q->rcount + i;
        uint64_t w = load(slot_word(q, pos));
        if (count_of(w) == seq && (uint32_t)w == WRAP_MARK && pos != 0) {
            pos = 0;
            w = load(slot_word(q, 0));
        }
        if (count_of(w) != seq || !slot_len_ok((uint32_t)w, pos, q->cap))
            return false;
        pos = wrap_add(pos, (uint32_t)w, q->cap);
    }
    return pos == q->wpos;
}

int tcpshm_shm_queue_open(tcpshm_shm_queue *q, const tcpshm_env *env, const char *name,
                          const tcpshm_shm_queue_config *cfg, tcpshm_error *err)
{
    uint32_t capacity = cfg->capacity, max_msg_size = cfg->max_msg_size;
    bool producer = cfg->producer, create = cfg->create;
    unsigned mode = cfg->mode;
    memset(q, 0, sizeof *q);
    if (tcpshm_env_check(env, err) != 0)
        return TCPSHM_E_ARG;
    if (capacity % 8 || max_msg_size % 8 || max_msg_size < 16 || max_msg_size > TCPSHM_MAX_PADDED_MSG_SIZE ||
        capacity < 2 * (max_msg_size + TCPSHM_SHM_SLOT_OVERHEAD) || capacity > (1u << 30))
        return tcpshm_fail(err, TCPSHM_E_CONFIG, 0,
                           "shm queue capacity %u must be a multiple of 8 in [2 * (max_msg_size %u + 8), 1 GiB]",
                           capacity, max_msg_size);
    uint64_t want = (uint64_t)TCPSHM_SHM_HEADER_SIZE + capacity;
    bool created = false;
    int fd = tcpshm_io_shm_open(env, name, 0, 0);
    if (fd < 0 && errno == ENOENT && create) {
        fd = tcpshm_io_shm_open(env, name, 1, mode ? mode : 0600);
        created = fd >= 0;
        if (created) {
            TCPSHM_CRASH_SITE("tcpshm/crash/shm/create_after_open");
        }
    }
    if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot open shared memory %s", name);
    int rc = 0;
    uint64_t size = 0;
    if (tcpshm_io_file_size(env, fd, &size) != 0)
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot stat shared memory %s", name);
    /* size 0: just created, or its creator died before sizing it */
    else if (size == 0 && tcpshm_io_file_resize(env, fd, want) != 0)
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot size shared memory %s", name);
    else if (size == 0) {
        size = want;
        TCPSHM_CRASH_SITE("tcpshm/crash/shm/create_after_resize");
    }
    else if (size != want)
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "%s: %llu bytes, expected %llu for capacity %u", name,
                         (unsigned long long)size, (unsigned long long)want, capacity);
    struct tcpshm_shm_segment *seg = NULL;
    if (!rc && !(seg = tcpshm_io_map(env, fd, (size_t)want)))
        rc = tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot map shared memory %s", name);
    (void)tcpshm_io_file_close(env, fd);
    if (rc) {
        if (created)
            (void)tcpshm_io_shm_unlink(env, name);
        return rc;
    }
    /* New (all zero), or its creator died before finishing the header: the
     * process that wins the version word sets it up, magic last. Both peers
     * may open a new segment at once; the loser sees no magic yet and is
     * told to try again. */
    uint32_t no_version = 0;
    uint64_t magic_word = magic_value();
    if (__atomic_load_n((uint64_t *)(void *)seg->magic, __ATOMIC_ACQUIRE) == 0 &&
        __atomic_compare_exchange_n(&seg->version, &no_version, SHM_VERSION, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        seg->header_size = TCPSHM_SHM_HEADER_SIZE;
        seg->capacity = capacity;
        seg->endian_mark = SHM_ENDIAN_MARK;
        seg->wstate = seg->rstate = 0;
        __atomic_store_n((uint64_t *)(void *)seg->magic, magic_word, __ATOMIC_RELEASE);
        TCPSHM_CRASH_SITE("tcpshm/crash/shm/create_after_header");
    }
    rc = check_header(seg, name, capacity, err);
    /* The producer's recorded count may trail the consumer's by the slots it
     * published but did not record before a kill (recovered below). */
    uint64_t ws = load(&seg->wstate), rs = load(&seg->rstate);
    if (!rc && !positions_ok(ws, rs, capacity))
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                         "%s: positions out of range (write %u@%u, read %u@%u, capacity %u)", name,
                         count_of(ws), pos_of(ws), count_of(rs), pos_of(rs), capacity);
    if (rc) {
        (void)tcpshm_io_unmap(env, seg, (size_t)want);
        return rc;
    }
    q->env = env;
    q->seg = seg;
    q->map_size = want;
    q->data = (uint8_t *)seg + TCPSHM_SHM_HEADER_SIZE;
    q->cap = capacity;
    q->max_msg_size = max_msg_size;
    q->producer = producer;
    q->wcount = count_of(ws);
    q->wpos = pos_of(ws);
    q->seen_rcount = q->rcount = count_of(rs);
    q->seen_rpos = q->rpos = pos_of(rs);
    snprintf(q->name, sizeof q->name, "%s", name);
    if (producer)
        recover_producer(q);
    if (producer && (int32_t)(q->wcount - q->rcount) < 0)
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                         "%s: the consumer's position %u@%u is past the producer's %u@%u and its slots",
                         name, q->rcount, q->rpos, q->wcount, q->wpos);
    else if (producer && !chain_ok(q))
        rc = tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                         "%s: the slots from the consumer's position %u@%u do not lead to the producer's %u@%u",
                         name, q->rcount, q->rpos, q->wcount, q->wpos);
    if (rc) {
        tcpshm_shm_queue_close(q);
        return rc;
    }
    return 0;
}

bool tcpshm_shm_queue_consumer_count(const tcpshm_shm_queue *q, uint32_t *count)
{
    uint32_t seen = __atomic_load_n(&q->seen_rcount, __ATOMIC_RELAXED);
    uint32_t now = count_of(load(&q->seg->rstate));
    bool ok = now - seen <= tcpshm_shm_queue_pushed(q) - seen;
    *count = ok ? now : seen;
    return ok;
}

bool tcpshm_shm_queue_producer_count(const tcpshm_shm_queue *q, uint32_t *count)
{
    uint32_t popped = tcpshm_shm_queue_popped(q);
    uint32_t now = count_of(load(&q->seg->wstate));
    bool ok = now - popped <= max_in_flight(q->cap);
    *count = ok ? now : popped;
    return ok;
}

const char *tcpshm_shm_queue_fault(const tcpshm_shm_queue *q) { return q->fault[0] ? q->fault : NULL; }

void tcpshm_shm_queue_close(tcpshm_shm_queue *q)
{
    if (q->seg)
        (void)tcpshm_io_unmap(q->env, q->seg, (size_t)q->map_size);
    memset(q, 0, sizeof *q);
}

void tcpshm_shm_queue_reset(tcpshm_shm_queue *q)
{
    /* Old slots must not match the restarted seqs: clear them first. */
    memset(q->data, 0, q->cap);
    store(&q->seg->wstate, 0);
    store(&q->seg->rstate, 0);
    q->wpos = q->rpos = 0;
    __atomic_store_n(&q->wcount, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&q->rcount, 0, __ATOMIC_RELAXED);
    q->seen_rpos = 0;
    __atomic_store_n(&q->seen_rcount, 0, __ATOMIC_RELAXED);
    q->alloc_len = q->front_len = 0;
    q->fault[0] = '\0';
}

/* ---- producer ---- */

/* Bytes the producer may write from wpos on, as far as it knows. */
static uint32_t free_bytes(const tcpshm_shm_queue *q)
{
    if (q->seen_rcount == q->wcount)
        return q->cap; /* empty: the consumer is at wpos */
    return wrap_add(q->seen_rpos, q->cap - q->wpos, q->cap); /* 0 when full */
}

/* A message needs its slot, the unused tail before a wrap, and 8 more bytes
 * for the zero word that ends the queue (see push): so the queue is never
 * filled up to the consumer's slot word. */
static uint32_t bytes_needed(uint32_t wpos, uint32_t len, uint32_t cap, bool wrap)
{
    return (wrap ? cap - wpos + len : len) + TCPSHM_SHM_SLOT_OVERHEAD;
}

/* Whether the slot word at pos is one this producer published for seq. */
static bool published_at(const tcpshm_shm_queue *q, uint32_t pos, uint32_t seq)
{
    uint64_t w = load(slot_word(q, pos));
    return count_of(w) == seq && ((uint32_t)w == WRAP_MARK || slot_len_ok((uint32_t)w, pos, q->cap));
}

/* The queue looks full: only now read the consumer's line. Its position can
 * only move forward from the last one seen, up to what was pushed, and it
 * must stand at the slot of its count (whose word this producer wrote and
 * has not reused, since the consumer has not passed it); anything else is
 * refused with a reason and the last position seen stays. */
static bool see_consumer(tcpshm_shm_queue *q)
{
    uint64_t rs = load(&q->seg->rstate);
    uint32_t rc = count_of(rs), rp = pos_of(rs);
    const char *what = NULL;
    if ((int32_t)(rc - q->seen_rcount) < 0)
        what = "went back";
    else if (rc - q->seen_rcount > q->wcount - q->seen_rcount)
        what = "went past the producer";
    else if (rp >= q->cap || rp % 8)
        what = "is outside the data area";
    else if (rc == q->wcount ? rp != q->wpos : rc == q->seen_rcount ? rp != q->seen_rpos : !published_at(q, rp, rc))
        what = "is not at the slot of its count";
    if (what) {
        snprintf(q->fault, sizeof q->fault,
                 "Bad shm word: %s consumer position %s (from %u@%u to %u@%u; %u pushed)", q->name, what,
                 q->seen_rcount, q->seen_rpos, rc, rp, q->wcount);
        return false;
    }
    q->fault[0] = '\0';
    __atomic_store_n(&q->seen_rcount, rc, __ATOMIC_RELAXED);
    q->seen_rpos = rp;
    return true;
}

/* A hint, no store: asks for the cache line after the one holding the next
 * slot word, for writing. The next small slot, or the zero word after it,
 * often reaches into that line, untouched for a lap of the ring; fetched
 * only by push's store, it held the slot word's store back while the
 * consumer, spinning on the slot word's line, took that line away again
 * (a 16-byte echo was 30-60 ns slower in the 3 of 8 positions that cross
 * a line). The data area starts 64-byte aligned (after the 192-byte
 * header of a mapping). */
static void warm_next_line(const tcpshm_shm_queue *q)
{
    uint32_t line = (q->wpos | 63u) + 1u;
    const uint8_t *p = q->data + (line < q->cap ? line : 0);
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("prefetchw %0" ::"m"(*p)); /* a no-op where unsupported */
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

tcpshm_msg_header *tcpshm_shm_queue_alloc(tcpshm_shm_queue *q, uint16_t body_size)
{
    q->alloc_len = 0;
    uint32_t size = TCPSHM_HEADER_SIZE + (uint32_t)body_size;
    if (size > TCPSHM_MAX_MSG_SIZE || tcpshm_padded_size(size) > q->max_msg_size)
        return NULL;
    uint32_t len = TCPSHM_SHM_SLOT_OVERHEAD + tcpshm_padded_size(size);
    bool wrap = q->wpos + len > q->cap;
    uint32_t need = bytes_needed(q->wpos, len, q->cap, wrap);
    if (free_bytes(q) < need && (!see_consumer(q) || free_bytes(q) < need))
        return NULL;
    q->alloc_pos = wrap ? 0 : q->wpos;
    q->alloc_len = len;
    q->alloc_size = size;
    q->alloc_wrap = wrap;
    tcpshm_msg_header *h = (tcpshm_msg_header *)(void *)(q->data + q->alloc_pos + TCPSHM_SHM_SLOT_OVERHEAD);
    h->size = (uint16_t)size;
    h->msg_type = 0;
    h->ack_seq = 0;
    return h;
}

int tcpshm_shm_queue_push(tcpshm_shm_queue *q)
{
    if (!q->alloc_len)
        return TCPSHM_E_ARG;
    tcpshm_msg_header *h = (tcpshm_msg_header *)(void *)(q->data + q->alloc_pos + TCPSHM_SHM_SLOT_OVERHEAD);
    if (h->msg_type == TCPSHM_MSG_HEARTBEAT)
        return TCPSHM_E_ARG;
    h->size = (uint16_t)q->alloc_size; /* ours, whatever the caller did to it */
    uint32_t next = wrap_add(q->alloc_pos, q->alloc_len, q->cap);
    /* The consumer polls the word at `next` once this message is popped.
     * Until the next push it holds stale bytes of older messages, which can
     * by chance look like a slot with the expected seq: zero it first. */
    __atomic_store_n(slot_word(q, next), 0, __ATOMIC_RELAXED);
    TCPSHM_CRASH_SITE("tcpshm/crash/shm/push_before_publish");
    store(slot_word(q, q->alloc_pos), pack(q->wcount, q->alloc_len));
    if (q->alloc_wrap) /* after the message, so a reader never finds an empty slot behind it */
        store(slot_word(q, q->wpos), pack(q->wcount, WRAP_MARK));
    TCPSHM_CRASH_SITE("tcpshm/crash/shm/push_after_publish");
    __atomic_store_n(&q->wpos, next, __ATOMIC_RELAXED); /* read by tcpshm_shm_queue_warm in any thread */
    __atomic_store_n(&q->wcount, q->wcount + 1, __ATOMIC_RELAXED); /* read by seq_end in any thread */
    store(&q->seg->wstate, pack(q->wcount, q->wpos));
    q->alloc_len = 0;
    warm_next_line(q);
    return 0;
}

/* ---- consumer ---- */

/* A message header's size agrees with its slot's length (both checked
 * where read: the peer writes them). */
static inline bool size_fits_slot(uint16_t size, uint32_t slot_len)
{
    return size >= TCPSHM_HEADER_SIZE && tcpshm_padded_size(size) == slot_len - TCPSHM_SHM_SLOT_OVERHEAD;
}

tcpshm_msg_header *tcpshm_shm_queue_front(tcpshm_shm_queue *q, bool *bad, tcpshm_error *err)
{
    *bad = false;
    /* Checked already and not popped yet (tcpshm_conn_pop asks again after
     * on_msg): the queue uses only its private front_pos and front_len, but
     * the slot word and the header's size are the peer's to write at any
     * time, so both are compared again with what was checked the first time
     * (one load and two compares). */
    if (q->front_len) {
        tcpshm_msg_header *f = (tcpshm_msg_header *)(void *)(q->data + q->front_pos + TCPSHM_SHM_SLOT_OVERHEAD);
        uint64_t fw = load(slot_word(q, q->front_pos));
        if (fw == pack(q->rcount, q->front_len) && size_fits_slot(f->size, q->front_len))
            return f;
        *bad = true;
        tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                    "Bad shm message: %s seq %u at offset %u changed its slot word to seq %u length %u or its "
                    "size to %u after it was checked",
                    q->name, q->rcount, q->front_pos, count_of(fw), (uint32_t)fw, f->size);
        return NULL;
    }
    uint32_t pos = q->rpos;
    uint64_t w = load(slot_word(q, pos));
    if (w == 0) /* the producer zeroed it before publishing the slot before */
        return NULL;
    uint32_t len = (uint32_t)w;
    if (count_of(w) == q->rcount && len == WRAP_MARK) {
        if (pos == 0) {
            *bad = true;
            tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "Bad shm message: %s wrap marker at offset 0", q->name);
            return NULL;
        }
        pos = 0; /* published before the marker */
        w = load(slot_word(q, 0));
        len = (uint32_t)w;
    }
    if (count_of(w) != q->rcount) {
        *bad = true;
        tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "Bad shm message: %s slot word at offset %u has seq %u, expected %u",
                    q->name, pos, count_of(w), q->rcount);
        return NULL;
    }
    const tcpshm_msg_header *h = (const tcpshm_msg_header *)(const void *)(q->data + pos + TCPSHM_SHM_SLOT_OVERHEAD);
    if (!slot_len_ok(len, pos, q->cap) || len - TCPSHM_SHM_SLOT_OVERHEAD > q->max_msg_size) {
        /* the header is not read: at the data area's last word it lies past the end */
        *bad = true;
        tcpshm_fail(err, TCPSHM_E_CORRUPT, 0, "Bad shm message: %s seq %u at offset %u has slot length %u", q->name,
                    q->rcount, pos, len);
        return NULL;
    }
    if (!size_fits_slot(h->size, len)) {
        *bad = true;
        tcpshm_fail(err, TCPSHM_E_CORRUPT, 0,
                    "Bad shm message: %s seq %u at offset %u has slot length %u and size %u", q->name, q->rcount,
                    pos, len, h->size);
        return NULL;
    }
    q->front_pos = pos;
    q->front_len = len;
    return (tcpshm_msg_header *)(void *)(q->data + pos + TCPSHM_SHM_SLOT_OVERHEAD);
}

void tcpshm_shm_queue_republish(tcpshm_shm_queue *q)
{
    /* the same (count, position) it published at its last pop: no crash
     * window, only a scribbled word put right */
    store(&q->seg->rstate, pack(q->rcount, q->rpos));
}

void tcpshm_shm_queue_pop(tcpshm_shm_queue *q)
{
    if (!q->front_len)
        return;
    uint32_t pos = wrap_add(q->front_pos, q->front_len, q->cap);
    TCPSHM_CRASH_SITE("tcpshm/crash/shm/pop_before_publish");
    store(&q->seg->rstate, pack(q->rcount + 1, pos));
    TCPSHM_CRASH_SITE("tcpshm/crash/shm/pop_after_publish");
    __atomic_store_n(&q->rcount, q->rcount + 1, __ATOMIC_RELAXED); /* read by my_ack in any thread */
    q->rpos = pos;
    q->front_len = 0;
}
