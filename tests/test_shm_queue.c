/* The SPSC shared-memory queue: order and content through many wrap-arounds
 * with random sizes, full and empty, reopen, producer recovery after a kill
 * at each crash site, refused segments, hostile slot lengths, and stress
 * with producer and consumer in two threads and in two processes. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_stress.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/shm_queue.h"

static char name[64];
static tcpshm_shm_queue prod, cons;

static void setup(void)
{
    snprintf(name, sizeof name, "/tcpshm_test_%d", (int)getpid());
    shm_unlink(name);
    memset(&prod, 0, sizeof prod);
    memset(&cons, 0, sizeof cons);
}

static void teardown(void)
{
    tcpshm_shm_queue_close(&prod);
    tcpshm_shm_queue_close(&cons);
    shm_unlink(name);
}

TestSuite(shm_queue, .init = setup, .fini = teardown, .timeout = 300);

static void open_both(uint32_t cap, uint32_t max)
{
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_open(&prod, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max,
                                                                  .producer = true, .create = true}, &err), 0,
                 "%s", err.text);
    cr_assert_eq(tcpshm_shm_queue_open(&cons, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = cap, .max_msg_size = max}, &err), 0,
                 "%s", err.text);
}


static uint8_t pat(uint32_t seq, uint32_t i) { return (uint8_t)(seq * 7u + i * 13u + 1u); }

static bool push_msg(tcpshm_shm_queue *q, uint32_t seq, uint16_t body)
{
    tcpshm_msg_header *h = tcpshm_shm_queue_alloc(q, body);
    if (!h)
        return false;
    h->msg_type = 3;
    uint8_t *b = (uint8_t *)(h + 1);
    memcpy(b, &seq, body < 4 ? body : 4);
    for (uint32_t i = 4; i < body; i++)
        b[i] = pat(seq, i);
    return tcpshm_shm_queue_push(q) == 0;
}

/* Checks the front message is seq with its pattern; returns its body size,
 * -1 if none, or fails the test. */
static int check_front(tcpshm_shm_queue *q, uint32_t seq)
{
    bool bad;
    tcpshm_error err = {0};
    tcpshm_msg_header *h = tcpshm_shm_queue_front(q, &bad, &err);
    cr_assert(!bad, "%s", err.text);
    if (!h)
        return -1;
    uint32_t body = h->size - 8u;
    const uint8_t *b = (const uint8_t *)(h + 1);
    uint32_t got = 0;
    memcpy(&got, b, body < 4 ? body : 4);
    uint32_t want = seq;
    if (body < 4)
        memcpy(&want, &seq, body), want &= (1u << (8 * body)) - 1u, got &= (1u << (8 * body)) - 1u;
    cr_assert_eq(got, want, "expected seq %u, got %u", seq, got);
    cr_assert_eq(h->msg_type, 3);
    for (uint32_t i = 4; i < body; i++)
        cr_assert_eq(b[i], pat(seq, i), "seq %u byte %u", seq, i);
    return (int)body;
}

Test(shm_queue, order_and_content_across_many_wraps)
{
    open_both(4096, 512);
    uint64_t rng = 5;
    uint32_t pushed = 0, popped = 0;
    for (int round = 0; round < 200000 && popped < 50000; round++) {
        if (shm_stress_random(&rng) % 3 && pushed < 50000) {
            if (push_msg(&prod, pushed, (uint16_t)(shm_stress_random(&rng) % 505)))
                pushed++;
        } else if (check_front(&cons, popped) >= 0) {
            tcpshm_shm_queue_pop(&cons);
            popped++;
        }
    }
    cr_assert_eq(popped, 50000, "popped %u pushed %u", popped, pushed);
    cr_assert_eq(tcpshm_shm_queue_pushed(&prod), 50000);
    cr_assert_eq(tcpshm_shm_queue_popped(&cons), 50000);
    cr_assert_eq(check_front(&cons, popped), -1, "empty at the end");
}

Test(shm_queue, full_refuses_and_room_returns_after_pop)
{
    open_both(1024, 128);
    uint32_t n = 0;
    while (push_msg(&prod, n, 40)) /* 8 + 48 = 56-byte slots */
        n++;
    cr_assert_eq(n, (1024 - 8) / 56, "fits %u (8 bytes stay free for the end word)", n);
    cr_assert_null(tcpshm_shm_queue_alloc(&prod, 40));
    /* the next slot wraps: it needs the 16-byte tail, 56 bytes at 0 and the
     * 8-byte end word after them, so one pop (56 bytes) is not enough */
    cr_assert_geq(check_front(&cons, 0), 0);
    tcpshm_shm_queue_pop(&cons);
    cr_assert_null(tcpshm_shm_queue_alloc(&prod, 40), "16 + 56 + 8 bytes do not fit in 72");
    cr_assert_geq(check_front(&cons, 1), 0);
    tcpshm_shm_queue_pop(&cons);
    cr_assert(push_msg(&prod, n, 40), "room after two pops");
    cr_assert_null(tcpshm_shm_queue_alloc(&prod, (uint16_t)(128 - 7)), "over max_msg_size");
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_push(&prod), TCPSHM_E_ARG, "a failed alloc leaves nothing to push");
    (void)err;
}

Test(shm_queue, reopen_keeps_both_positions)
{
    open_both(8192, 256);
    for (uint32_t k = 0; k < 30; k++)
        cr_assert(push_msg(&prod, k, (uint16_t)(k * 5)));
    for (uint32_t k = 0; k < 12; k++) {
        cr_assert_geq(check_front(&cons, k), 0);
        tcpshm_shm_queue_pop(&cons);
    }
    tcpshm_shm_queue_close(&prod);
    tcpshm_shm_queue_close(&cons);
    open_both(8192, 256);
    cr_assert_eq(tcpshm_shm_queue_pushed(&prod), 30);
    cr_assert_eq(tcpshm_shm_queue_popped(&cons), 12);
    for (uint32_t k = 12; k < 30; k++) {
        cr_assert_geq(check_front(&cons, k), 0, "message %u after reopen", k);
        tcpshm_shm_queue_pop(&cons);
    }
    cr_assert_eq(check_front(&cons, 30), -1);
}

Test(shm_queue, reset_empties_and_restarts_at_zero)
{
    open_both(2048, 256);
    for (uint32_t k = 0; k < 10; k++)
        cr_assert(push_msg(&prod, k, 20));
    tcpshm_shm_queue_reset(&prod);
    tcpshm_shm_queue_close(&cons);
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_open(&cons, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 2048, .max_msg_size = 256}, &err), 0);
    cr_assert_eq(check_front(&cons, 0), -1, "old slot 0 must not look like the new message 0");
    cr_assert(push_msg(&prod, 0, 20));
    cr_assert_geq(check_front(&cons, 0), 0);
}

/* Bodies made of words that look exactly like the slots to come (seq of a
 * later message, a valid length): once the consumer has caught up, the word
 * it polls must never pass for a message that was not pushed. */
Test(shm_queue, stale_bytes_never_pass_for_the_next_slot)
{
    open_both(1024, 128);
    uint64_t rng = 9;
    for (uint32_t k = 0; k < 20000; k++) {
        uint16_t body = (uint16_t)(8 * (shm_stress_random(&rng) % 15));
        tcpshm_msg_header *h = tcpshm_shm_queue_alloc(&prod, body);
        cr_assert_not_null(h);
        h->msg_type = 3;
        uint64_t *words = (uint64_t *)(void *)(h + 1);
        for (uint32_t i = 0; i < body / 8u; i++)
            words[i] = (uint64_t)(k + 5 + i) << 32 | 16u;
        cr_assert_eq(tcpshm_shm_queue_push(&prod), 0);
        bool bad;
        cr_assert_not_null(tcpshm_shm_queue_front(&cons, &bad, NULL), "message %u", k);
        tcpshm_shm_queue_pop(&cons);
        cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, NULL), "phantom message after %u", k);
        cr_assert(!bad, "stale bytes taken for a slot after message %u", k);
    }
}

/* A producer child dies at a crash site; the reopened producer must neither
 * lose a published message nor publish one twice. */
static void crash_child(const char *site)
{
    fiu_init(0);
    tcpshm_shm_queue q;
    if (tcpshm_shm_queue_open(&q, tcpshm_env_posix(), name,
                              &(tcpshm_shm_queue_config){.capacity = 4096, .max_msg_size = 512,
                                                         .producer = true, .create = true}, NULL) != 0)
        _exit(3);
    /* push a few, then die inside the next push */
    uint32_t k = tcpshm_shm_queue_pushed(&q);
    for (int i = 0; i < 3; i++, k++)
        if (!push_msg(&q, k, (uint16_t)(k % 300)))
            _exit(4);
    fiu_enable(site, 1, NULL, 0);
    push_msg(&q, k, (uint16_t)(k % 300));
    _exit(5); /* the crash site did not fire */
}

Test(shm_queue, producer_killed_at_each_crash_site_recovers)
{
    const char *sites[] = {"tcpshm/crash/shm/push_before_publish", "tcpshm/crash/shm/push_after_publish"};
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_open(&cons, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 4096, .max_msg_size = 512,
                                                                  .create = true}, &err), 0,
                 "%s", err.text);
    uint32_t popped = 0;
    for (int round = 0; round < 40; round++) {
        const char *site = sites[round % 2];
        pid_t pid = fork();
        if (pid == 0)
            crash_child(site);
        int st;
        waitpid(pid, &st, 0);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == TCPSHM_CRASH_EXIT_CODE, "round %d status 0x%x", round, st);
        /* drain: exactly the messages published, in order */
        int body;
        while ((body = check_front(&cons, popped)) >= 0) {
            tcpshm_shm_queue_pop(&cons);
            popped++;
        }
        /* the next producer must continue at the count the consumer reached
         * (push_after_publish: the published message was recovered) */
        tcpshm_shm_queue p2;
        cr_assert_eq(tcpshm_shm_queue_open(&p2, tcpshm_env_posix(), name,
                                           &(tcpshm_shm_queue_config){.capacity = 4096, .max_msg_size = 512,
                                                                      .producer = true}, &err),
                     0, "%s", err.text);
        cr_assert_eq(tcpshm_shm_queue_pushed(&p2), popped, "round %d (%s): producer at %u, consumer at %u",
                     round, site, tcpshm_shm_queue_pushed(&p2), popped);
        cr_assert(push_msg(&p2, popped, 33));
        tcpshm_shm_queue_close(&p2);
        cr_assert_geq(check_front(&cons, popped), 0);
        tcpshm_shm_queue_pop(&cons);
        popped++;
    }
    cr_assert_geq(popped, 40);
}

Test(shm_queue, refuses_foreign_or_inconsistent_segments)
{
    open_both(2048, 256);
    tcpshm_shm_queue_close(&prod);
    tcpshm_shm_queue other;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_open(&other, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 4096, .max_msg_size = 256,
                                                                  .producer = true}, &err),
                 TCPSHM_E_CORRUPT, "another capacity");
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(fd >= 0);
    uint8_t *m = mmap(NULL, 192 + 2048, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(m, MAP_FAILED);
    uint64_t bad_pos = (uint64_t)5 << 32 | 2048; /* offset == capacity */
    memcpy(m + 64, &bad_pos, 8);
    cr_assert_eq(tcpshm_shm_queue_open(&other, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 2048, .max_msg_size = 256,
                                                                  .producer = true}, &err),
                 TCPSHM_E_CORRUPT);
    cr_assert(strstr(err.text, "positions out of range"), "%s", err.text);
    memset(m + 64, 0, 8);
    memcpy(m, "NOTOURS!", 8);
    cr_assert_eq(tcpshm_shm_queue_open(&other, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 2048, .max_msg_size = 256,
                                                                  .producer = true}, &err),
                 TCPSHM_E_CORRUPT);
    cr_assert(strstr(err.text, "bad magic"), "%s", err.text);
    munmap(m, 192 + 2048);
}

Test(shm_queue, hostile_slot_lengths_are_reported_never_followed)
{
    open_both(2048, 256);
    cr_assert(push_msg(&prod, 0, 20));
    uint8_t *slot = cons.data;
    const uint32_t bad_lens[] = {8, 12, 2048 + 8, 4000, 264 + 8};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        uint64_t w = (uint64_t)0 << 32 | bad_lens[i];
        memcpy(slot, &w, 8);
        bool bad = false;
        tcpshm_error err = {0};
        cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, &err));
        cr_assert(bad, "length %u accepted", bad_lens[i]);
        cr_assert(strstr(err.text, "Bad shm message"), "%s", err.text);
    }
    /* a size field that disagrees with the slot length */
    uint64_t w = (uint64_t)0 << 32 | 40; /* 8 + 32 */
    memcpy(slot, &w, 8);
    uint16_t size = 200;
    memcpy(slot + 8, &size, 2);
    bool bad = false;
    cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, NULL));
    cr_assert(bad);
    /* a wrap marker at offset 0 */
    w = 1;
    memcpy(slot, &w, 8);
    cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, NULL));
    cr_assert(bad);
}

/* ---- stress: producer and consumer in two threads, then two processes ---- */

static const shm_stress_plan stress_plan = {.messages = 1000000, .max_body = 121, .seed = 77};

static void *producer_thread(void *arg)
{
    shm_stress_produce(arg, &stress_plan);
    return NULL;
}

Test(shm_queue, stress_two_threads_small_queue)
{
    open_both(1024, 128);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, producer_thread, &prod), 0);
    char why[256] = "";
    uint32_t got = shm_stress_consume(&cons, &stress_plan, why, sizeof why);
    /* a producer waiting for room that will never come cannot be joined */
    cr_assert_eq(got, stress_plan.messages, "consumer stopped at %u: %s", got, why);
    pthread_join(t, NULL);
}

Test(shm_queue, stress_two_processes_small_queue)
{
    open_both(1024, 128);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        shm_stress_produce(&prod, &stress_plan);
        _exit(0);
    }
    char why[256] = "";
    uint32_t got = shm_stress_consume(&cons, &stress_plan, why, sizeof why);
    if (got != stress_plan.messages)
        kill(pid, SIGKILL); /* it may be waiting for room forever */
    int st;
    waitpid(pid, &st, 0);
    cr_assert_eq(got, stress_plan.messages, "consumer stopped at %u: %s", got, why);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- words any process can write (issue 13): checked where read ---- */

static uint64_t *seg_word(tcpshm_shm_queue *q, uint32_t offset)
{
    return (uint64_t *)(void *)(q->data - TCPSHM_SHM_HEADER_SIZE + offset);
}
#define WSTATE 64u
#define RSTATE 128u

static uint64_t word_of(uint32_t count, uint32_t pos) { return (uint64_t)count << 32 | pos; }

/* Fills the queue (56-byte slots), the consumer pops some and the producer
 * refills, so the producer has seen a consumer position past 0. Returns
 * how many were pushed. */
static uint32_t fill_with_a_seen_consumer(uint32_t *popped)
{
    open_both(1024, 128);
    uint32_t n = 0;
    while (push_msg(&prod, n, 40))
        n++;
    for (; *popped < 4; (*popped)++) {
        cr_assert_geq(check_front(&cons, *popped), 0);
        tcpshm_shm_queue_pop(&cons);
    }
    while (push_msg(&prod, n, 40))
        n++;
    cr_assert_null(tcpshm_shm_queue_fault(&prod), "%s", tcpshm_shm_queue_fault(&prod));
    return n;
}

Test(shm_queue, scribbled_consumer_position_is_refused_never_followed)
{
    struct {
        const char *what;
        uint64_t word; /* 0: computed below */
        const char *reason;
    } cases[] = {
        {"backwards", 0, "went back"},
        {"past the producer", 0, "went past the producer"},
        {"garbage", 0x9e3779b97f4a7c15ull, NULL},
        {"misaligned", 0, "outside the data area"},
        {"between slots", 0, "not at the slot of its count"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t popped = 0;
        uint32_t pushed = fill_with_a_seen_consumer(&popped);
        uint64_t truth = word_of(cons.rcount, cons.rpos);
        switch (i) {
        case 0: cases[i].word = word_of(1, 56); break;
        case 1: cases[i].word = word_of(pushed + 1, prod.wpos); break;
        case 3: cases[i].word = word_of(popped + 1, cons.rpos + 4); break;
        case 4: cases[i].word = word_of(popped + 1, cons.rpos + 8); break;
        default: break;
        }
        __atomic_store_n(seg_word(&prod, RSTATE), cases[i].word, __ATOMIC_RELEASE);
        cr_assert_null(tcpshm_shm_queue_alloc(&prod, 40), "%s: alloc followed the scribbled word", cases[i].what);
        const char *fault = tcpshm_shm_queue_fault(&prod);
        cr_assert_not_null(fault, "%s: no fault", cases[i].what);
        cr_assert(strstr(fault, "Bad shm word") && strstr(fault, name) && strstr(fault, "consumer position"),
                  "%s: %s", cases[i].what, fault);
        cr_assert(!cases[i].reason || strstr(fault, cases[i].reason), "%s: %s", cases[i].what, fault);
        /* nothing was overwritten: the consumer gets every message once, in order */
        uint32_t got = popped;
        while (check_front(&cons, got) >= 0) {
            tcpshm_shm_queue_pop(&cons);
            got++;
        }
        cr_assert_eq(got, pushed, "%s: consumer stopped at %u of %u", cases[i].what, got, pushed);
        /* the consumer's next pop wrote its true position again: room is back */
        (void)truth;
        cr_assert(push_msg(&prod, pushed, 40), "%s: no room after the consumer's true position", cases[i].what);
        cr_assert_null(tcpshm_shm_queue_fault(&prod));
        cr_assert_geq(check_front(&cons, pushed), 0);
        tcpshm_shm_queue_close(&prod);
        tcpshm_shm_queue_close(&cons);
        shm_unlink(name);
    }
}

Test(shm_queue, scribbled_slot_seq_is_reported_never_waited_for)
{
    open_both(1024, 128);
    cr_assert(push_msg(&prod, 0, 20));
    uint64_t good = __atomic_load_n((uint64_t *)(void *)cons.data, __ATOMIC_ACQUIRE);
    /* a plausible length under another seq: not "not yet", but a bad slot */
    __atomic_store_n((uint64_t *)(void *)cons.data, word_of(7, (uint32_t)good), __ATOMIC_RELEASE);
    bool bad = false;
    tcpshm_error err = {0};
    cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, &err));
    cr_assert(bad, "a slot word with seq 7 where 0 is expected was waited for");
    cr_assert(strstr(err.text, "Bad shm message") && strstr(err.text, name) && strstr(err.text, "seq 7, expected 0"),
              "%s", err.text);
    __atomic_store_n((uint64_t *)(void *)cons.data, good, __ATOMIC_RELEASE);
    cr_assert_geq(check_front(&cons, 0), 0);
    tcpshm_shm_queue_pop(&cons);
    /* a wrap marker with the right seq before a slot at 0 with another */
    uint32_t n = 1;
    while (prod.wpos + 56 <= 1024) {
        cr_assert(push_msg(&prod, n, 40));
        cr_assert_geq(check_front(&cons, n), 0);
        tcpshm_shm_queue_pop(&cons);
        n++;
    }
    cr_assert(push_msg(&prod, n, 40)); /* wraps */
    uint64_t at0 = __atomic_load_n((uint64_t *)(void *)cons.data, __ATOMIC_ACQUIRE);
    __atomic_store_n((uint64_t *)(void *)cons.data, word_of(n + 1, (uint32_t)at0), __ATOMIC_RELEASE);
    cr_assert_null(tcpshm_shm_queue_front(&cons, &bad, &err));
    cr_assert(bad && strstr(err.text, "offset 0"), "%s", err.text);
}

Test(shm_queue, scribbled_producer_word_moves_nothing)
{
    open_both(1024, 128);
    for (uint32_t k = 0; k < 5; k++)
        cr_assert(push_msg(&prod, k, 20));
    __atomic_store_n(seg_word(&prod, WSTATE), 0x9e3779b97f4a7c15ull, __ATOMIC_RELEASE);
    cr_assert_eq(tcpshm_shm_queue_pushed(&prod), 5);
    uint32_t count;
    cr_assert(!tcpshm_shm_queue_producer_count(&cons, &count), "an impossible pushed count was taken");
    cr_assert_eq(count, 0, "the fallback is what was popped");
    for (uint32_t k = 5; k < 10; k++)
        cr_assert(push_msg(&prod, k, 20));
    cr_assert(tcpshm_shm_queue_producer_count(&cons, &count));
    cr_assert_eq(count, 10);
    for (uint32_t k = 0; k < 10; k++) {
        cr_assert_geq(check_front(&cons, k), 0);
        tcpshm_shm_queue_pop(&cons);
    }
    cr_assert_eq(check_front(&cons, 10), -1);
    /* the consumer's count, as the producer reads it for seq_start */
    cr_assert(tcpshm_shm_queue_consumer_count(&prod, &count));
    cr_assert_eq(count, 10);
    __atomic_store_n(seg_word(&prod, RSTATE), word_of(99, 0), __ATOMIC_RELEASE);
    cr_assert(!tcpshm_shm_queue_consumer_count(&prod, &count));
    cr_assert_eq(count, 0, "the last consumer count the producer checked");
}

/* At open the recorded positions are the persisted state: inconsistent
 * ones are refused with a reason, never adopted. */
Test(shm_queue, open_refuses_positions_that_do_not_fit_together)
{
    open_both(1024, 128);
    for (uint32_t k = 0; k < 6; k++)
        cr_assert(push_msg(&prod, k, 40));
    tcpshm_shm_queue_close(&prod);
    tcpshm_shm_queue_close(&cons);
    int fd = shm_open(name, O_RDWR, 0);
    cr_assert(fd >= 0);
    uint8_t *m = mmap(NULL, 192 + 1024, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(m, MAP_FAILED);
    const struct {
        uint64_t w, r;
        const char *why;
    } bad[] = {
        {word_of(6, 336), word_of(6, 56), "equal counts, other positions"},
        {word_of(6, 336), word_of(0, 328), "6 messages in 8 bytes"},
        {word_of(6, 336), word_of(7, 336), "consumer one past the producer with no slot to recover"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(m + WSTATE, &bad[i].w, 8);
        memcpy(m + RSTATE, &bad[i].r, 8);
        tcpshm_error err = {0};
        int rc = tcpshm_shm_queue_open(&prod, tcpshm_env_posix(), name,
                                       &(tcpshm_shm_queue_config){.capacity = 1024, .max_msg_size = 128,
                                                                  .producer = true}, &err);
        cr_assert_eq(rc, TCPSHM_E_CORRUPT, "%s: opened", bad[i].why);
        cr_assert(strstr(err.text, name), "%s: %s", bad[i].why, err.text);
    }
    /* the true state opens */
    uint64_t w = word_of(6, 336), r = word_of(0, 0);
    memcpy(m + WSTATE, &w, 8);
    memcpy(m + RSTATE, &r, 8);
    munmap(m, 192 + 1024);
    open_both(1024, 128);
    for (uint32_t k = 0; k < 6; k++) {
        cr_assert_geq(check_front(&cons, k), 0);
        tcpshm_shm_queue_pop(&cons);
    }
}
