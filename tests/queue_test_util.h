/* Helpers shared by the queue tests: temporary directories and the message
 * pattern of faults/kill_workload.h wrapped in Criterion assertions. */
#ifndef TCPSHM_TESTS_QUEUE_TEST_UTIL_H
#define TCPSHM_TESTS_QUEUE_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kill_workload.h"
#include "tcpshm/ptcp_queue.h"

#define TEST_MSG_TYPE KW_MSG_TYPE

static inline void make_temp_dir(char *out, size_t n)
{
    snprintf(out, n, "/tmp/tcpshm-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out), "mkdtemp failed");
}

static inline void remove_temp_dir(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

/* 1 KiB of messages up to 256 bytes, little-endian. */
static inline tcpshm_ptcp_queue_config small_queue_config(void)
{
    tcpshm_ptcp_queue_config c = {.capacity = 1024, .max_msg_size = 256, .little_endian = true};
    return c;
}

static inline bool push_test_msg(tcpshm_ptcp_queue *q, uint32_t seq, uint16_t body_size)
{
    return kw_push(q, seq, body_size);
}

/* The queue holds exactly messages [from, to), each with its pattern. */
static inline void check_queue_contents(const tcpshm_ptcp_queue *q, uint32_t from, uint32_t to)
{
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(q), from, "seq_start %u, expected %u",
                 tcpshm_ptcp_queue_seq_start(q), from);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(q), to, "seq_end %u, expected %u",
                 tcpshm_ptcp_queue_seq_end(q), to);
    char why[256];
    cr_assert_eq(kw_check_contents(q, why, sizeof why), 0, "%s", why);
}

#endif
