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
