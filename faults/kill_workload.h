/* Real-process crash checks of the persistent queue: a child process runs a
 * seeded mix of queue operations and reports, after each one returns, what
 * is persisted; it is killed (SIGKILL at a random moment, or at a crash site
 * through libfiu); the parent then reopens the file and checks it holds
 * exactly what the last report says, give or take the one operation that
 * was in flight. Used by tests/test_ptcp_crash.c and tools/queue_crash_demo. */
#ifndef TCPSHM_FAULTS_KILL_WORKLOAD_H
#define TCPSHM_FAULTS_KILL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpshm/ptcp_queue.h"

#define KW_MSG_TYPE 7u
#define KW_LOCAL "server"
#define KW_REMOTE "client"

/* splitmix64: the workloads' only source of randomness. */
uint64_t kw_rand(uint64_t *state);

/* Pushes the message of `seq`: type KW_MSG_TYPE, body_size bytes, the body
 * a pattern derived from seq. false if alloc refused (queue full). */
bool kw_push(tcpshm_ptcp_queue *q, uint32_t seq, uint16_t body_size);

/* 0 if every queued message carries the pattern of its seq (seq_start + i),
 * else -1 with the first difference described in why. */
int kw_check_contents(const tcpshm_ptcp_queue *q, char *why, size_t why_size);

enum kw_op { KW_NONE, KW_PUSH, KW_SEND, KW_ACK, KW_POP, KW_REWIND, KW_RESET };

/* What the child reports before each operation: the state persisted so far
 * and the operation it is about to perform. */
typedef struct kw_progress {
    uint32_t seq_start, seq_end, my_ack;
    uint32_t next_op; /* enum kw_op */
    uint32_t arg;     /* for KW_ACK and KW_REWIND: the seq it frees up to */
} kw_progress;

/* Runs in a forked child: opens the queue in dir and performs up to max_ops
 * seeded operations (push of random sizes, partial sends, acks, pops,
 * login-style rewinds, rarely a reset; odd seeds acknowledge slowly so the
 * queue runs nearly full), writing a kw_progress to progress_fd
 * before each. If crash_site is not NULL, that libfiu point is enabled to
 * fire on its crash_hit-th hit (the default hook _exits with code 86).
 * Never returns: exits 0 after max_ops, 3 on an unexpected error. */
void kw_child_run(const char *dir, const tcpshm_ptcp_queue_config *cfg, uint64_t seed,
                  uint32_t max_ops, int progress_fd, const char *crash_site, uint32_t crash_hit)
    __attribute__((noreturn));

/* How a child run ended. */
typedef struct kw_outcome {
    int wait_status;  /* from waitpid */
    bool killed;      /* the parent sent SIGKILL */
    bool have_last;   /* at least one report arrived */
    kw_progress last; /* the last report */
    uint32_t reports; /* how many reports arrived */
} kw_outcome;

/* Forks a child running kw_child_run and collects its reports. With
 * kill_after_reports > 0 it SIGKILLs the child kill_delay_us microseconds
 * after that many reports arrived: counting reports rather than time keeps
 * the amount of work per kill the same on a slow machine or under Valgrind,
 * and the delay puts the kill at an arbitrary instruction. */
int kw_run_child(const char *dir, const tcpshm_ptcp_queue_config *cfg, uint64_t seed,
                 uint32_t max_ops, const char *crash_site, uint32_t crash_hit,
                 uint32_t kill_after_reports, uint32_t kill_delay_us, kw_outcome *out);

/* Reopens the queue after the child died and checks it: the file opens
 * (no corruption), contents carry their patterns, and the state equals the
 * last report or is the result of the operation it announced. `before`
 * is the state verified before this child started (used when the child died
 * before its first report). 0, or -1 with the reason in why. On success
 * *now is the state found. */
int kw_verify(const char *dir, const tcpshm_ptcp_queue_config *cfg, const kw_progress *before,
              const kw_progress *last, bool have_last, kw_progress *now, char *why,
              size_t why_size);

/* The config the kill checks use: small, so compaction runs often. */
tcpshm_ptcp_queue_config kw_config(void);

#endif
