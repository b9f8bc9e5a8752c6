/* The persistent send queue: push/send/ack/rewind/reset/pop, compaction,
 * reopen, and every class of corrupt file. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue_test_util.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/ptcp_queue.h"

/* File layout offsets (checked by _Static_assert in core/src/ptcp_queue.c). */
#define OFF_MAGIC 0
#define OFF_VERSION 8
#define OFF_CAPACITY 24
#define OFF_LOCAL 32
#define OFF_ACTIVE 160
#define OFF_SLOTS 192
#define SLOT_SIZE 32
#define DATA_OFF 256

static char dir[256];
static tcpshm_ptcp_queue q;
static tcpshm_ptcp_queue_config cfg;

static void setup(void)
{
    make_temp_dir(dir, sizeof dir);
    cfg = small_queue_config();
    memset(&q, 0, sizeof q);
}

static void teardown(void)
{
    tcpshm_ptcp_queue_close(&q);
    remove_temp_dir(dir);
}

TestSuite(ptcp_queue, .init = setup, .fini = teardown);

static void open_q(void)
{
    tcpshm_error err = {0};
    int rc = tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "server", "client", &cfg, &err);
    cr_assert_eq(rc, 0, "open failed: %s", err.text);
}

static void reopen_q(void)
{
    tcpshm_ptcp_queue_close(&q);
    open_q();
}

static void send_all(void)
{
    const uint8_t *p;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &p);
    tcpshm_ptcp_queue_mark_sent(&q, n);
}

static void path_of(char *out, size_t n)
{
    cr_assert_eq(tcpshm_ptcp_queue_path(out, n, dir, "server", "client"), 0);
}

/* Edits the closed queue file: patch len bytes at off. */
static void patch_file(size_t off, const void *bytes, size_t len)
{
    char path[512];
    path_of(path, sizeof path);
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
    close(fd);
}

static uint32_t read_u32(size_t off)
{
    char path[512];
    path_of(path, sizeof path);
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    uint32_t v = 0;
    cr_assert_eq(pread(fd, &v, sizeof v, (off_t)off), (ssize_t)sizeof v);
    close(fd);
    return v;
}

static void patch_u32(size_t off, uint32_t v) { patch_file(off, &v, sizeof v); }

/* Offset of a field of the active record slot (0 read_idx, 1 write_idx,
 * 2 read_seq, 3 write_seq, 4 my_ack). */
static size_t slot_field(int field)
{
    return OFF_SLOTS + read_u32(OFF_ACTIVE) * SLOT_SIZE + (size_t)field * 4;
}

/* Closes q and reopens, expecting TCPSHM_E_CORRUPT with `needle` in the text. */
static void expect_corrupt(const char *needle)
{
    tcpshm_ptcp_queue_close(&q);
    tcpshm_error err = {0};
    int rc = tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "server", "client", &cfg, &err);
    cr_assert_eq(rc, TCPSHM_E_CORRUPT, "expected corrupt (%s), got %d: %s", needle, rc, err.text);
    cr_assert(strstr(err.text, needle), "reason \"%s\" lacks \"%s\"", err.text, needle);
    cr_assert(strstr(err.text, "server_client.ptcp"), "reason \"%s\" lacks the file", err.text);
}

Test(ptcp_queue, create_push_reopen_keeps_state)
{
    open_q();
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 0);
    for (uint32_t s = 0; s < 5; s++)
        cr_assert(push_test_msg(&q, s, (uint16_t)(10 + s)), "push %u", s);
    for (int i = 0; i < 3; i++)
        tcpshm_ptcp_queue_popped(&q);
    reopen_q();
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 5);
    cr_assert_eq(tcpshm_ptcp_queue_my_ack(&q), 3);
    check_queue_contents(&q, 0, 5);

    char path[512];
    path_of(path, sizeof path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert_eq(st.st_size, DATA_OFF + cfg.capacity);
}

Test(ptcp_queue, push_stamps_my_ack_and_wire_order)
{
    cfg.little_endian = false;
    open_q();
    tcpshm_ptcp_queue_popped(&q);
    tcpshm_ptcp_queue_popped(&q);
    cr_assert(push_test_msg(&q, 0, 3));
    const uint8_t *m = tcpshm_ptcp_queue_next(&q, NULL);
    cr_assert_not_null(m);
    /* big-endian: size 11 = 00 0b, type 7, ack 2 */
    const uint8_t want[8] = {0x00, 0x0b, 0x00, TEST_MSG_TYPE, 0, 0, 0, 2};
    cr_assert_arr_eq(m, want, 8);
    for (int i = 11; i < 16; i++)
        cr_assert_eq(m[i], 0, "padding byte %d not zero", i);
}

Test(ptcp_queue, push_refuses_type0_and_missing_alloc)
{
    open_q();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), TCPSHM_E_ARG);
    tcpshm_msg_header *h = tcpshm_ptcp_queue_alloc(&q, 4);
    cr_assert_not_null(h);
    cr_assert_eq(h->size, 12);
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), TCPSHM_E_ARG);
    cr_assert(strstr(err.text, "type 0"));
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 0);
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, (uint16_t)(cfg.max_msg_size - 7)),
                   "a message over max_msg_size must be refused");
    cr_assert_not_null(tcpshm_ptcp_queue_alloc(&q, (uint16_t)(cfg.max_msg_size - 8)));
}

Test(ptcp_queue, fill_refuse_then_ack_frees)
{
    open_q();
    uint32_t n = 0;
    while (push_test_msg(&q, n, 56)) /* 64 bytes each */
        n++;
    cr_assert_eq(n, cfg.capacity / 64, "pushed %u", n);
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, 1), "a full queue must refuse");
    send_all();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, n, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), n);
    cr_assert(push_test_msg(&q, n, 56), "space after everything was acknowledged");
    check_queue_contents(&q, n, n + 1);
}

Test(ptcp_queue, compaction_moves_live_region_and_keeps_contents)
{
    open_q();
    /* 16 messages of 64 bytes fill 1024. Ack 10: 6 live (384 bytes) behind
     * 640 free bytes at the front, so compaction may copy without overlap. */
    for (uint32_t s = 0; s < 16; s++)
        cr_assert(push_test_msg(&q, s, 56));
    send_all();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 10, &err), 0);
    cr_assert_eq(q.st.read_idx, 640);
    cr_assert(push_test_msg(&q, 16, 56), "compaction should make room");
    cr_assert_eq(q.st.read_idx, 0, "live region moved to the front");
    cr_assert_eq(q.st.write_idx, 7 * 64);
    check_queue_contents(&q, 10, 17);
    /* The unsent part is exactly the new message. */
    const uint8_t *p;
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 64);
    reopen_q();
    check_queue_contents(&q, 10, 17);
}

/* The crash hook of the test below: back to the test, as the simulator's
 * node step is (a crash there leaves the mapping as it is, like a kill). */
static jmp_buf crashed;
static void crash_here(const char *site, void *user)
{
    (void)site, (void)user;
    longjmp(crashed, 1);
}

/* A process killed at either side of compaction's publish (its copy of the
 * live region made; the record not yet / just pointing at it), in this
 * process so that the site's firing counts in the coverage run (a child
 * that _exits writes no counts: ci/coverage-untaken.md, crash.c): the file
 * reopens with exactly the messages that were queued, whole. */
Test(ptcp_queue, crash_at_either_side_of_compaction_publish_reopens_whole)
{
    static const char *const sites[] = {"tcpshm/crash/queue/compact_before_publish",
                                        "tcpshm/crash/queue/compact_after_publish"};
    cr_assert_eq(fiu_init(0), 0);
    for (int i = 0; i < 2; i++) {
        char sub[300];
        snprintf(sub, sizeof sub, "%s/%d", dir, i);
        cr_assert_eq(mkdir(sub, 0700), 0);
        tcpshm_error err = {0};
        tcpshm_ptcp_queue dead;
        memset(&dead, 0, sizeof dead);
        cr_assert_eq(tcpshm_ptcp_queue_open(&dead, tcpshm_env_posix(), sub, "server", "client", &cfg, &err), 0,
                     "%s", err.text);
        for (uint32_t s = 0; s < 16; s++) /* as the compaction test above: 6 live behind 640 free bytes */
            cr_assert(push_test_msg(&dead, s, 56));
        const uint8_t *p;
        uint32_t n = tcpshm_ptcp_queue_sendable(&dead, &p);
        tcpshm_ptcp_queue_mark_sent(&dead, n);
        cr_assert_eq(tcpshm_ptcp_queue_ack(&dead, 10, &err), 0);
        tcpshm_set_crash_hook(crash_here, NULL);
        cr_assert_eq(fiu_enable(sites[i], 1, NULL, 0), 0);
        volatile bool died = false;
        if (setjmp(crashed) == 0)
            (void)push_test_msg(&dead, 16, 56); /* compacts: dies at the site */
        else
            died = true;
        fiu_disable(sites[i]);
        tcpshm_set_crash_hook(NULL, NULL);
        cr_assert(died, "%s: the push did not reach the site", sites[i]);
        /* the dead process's handles are not closed: a kill closes nothing
         * the file depends on (its mapping's bytes are the file's) */
        tcpshm_ptcp_queue back;
        memset(&back, 0, sizeof back);
        cr_assert_eq(tcpshm_ptcp_queue_open(&back, tcpshm_env_posix(), sub, "server", "client", &cfg, &err), 0,
                     "%s: the file does not reopen: %s", sites[i], err.text);
        check_queue_contents(&back, 10, 16);
        tcpshm_ptcp_queue_close(&back);
    }
}

Test(ptcp_queue, compaction_refused_when_copy_would_overlap_live_bytes)
{
    open_q();
    for (uint32_t s = 0; s < 16; s++)
        cr_assert(push_test_msg(&q, s, 56));
    send_all();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 4, &err), 0); /* 256 free, 768 live */
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, 56), "copy would overwrite live bytes");
    check_queue_contents(&q, 4, 16);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 8, &err), 0); /* 512 free, 512 live */
    cr_assert(push_test_msg(&q, 16, 56));
    check_queue_contents(&q, 8, 17);
}

Test(ptcp_queue, ack_in_order_stale_out_of_order_and_beyond)
{
    open_q();
    for (uint32_t s = 0; s < 8; s++)
        cr_assert(push_test_msg(&q, s, 20));
    const uint8_t *p;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &p);
    cr_assert_eq(n, 8 * 32);
    tcpshm_ptcp_queue_mark_sent(&q, 5 * 32 + 3); /* 5 whole messages and 3 bytes */
    cr_assert_eq(tcpshm_ptcp_queue_sent_seq(&q), 5);
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 2, &err), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 2);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 3, &err), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 3);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0, "stale ack is ignored");
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 3, &err), 0, "repeated ack is ignored");
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 3);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 5, &err), 0, "out-of-order jump forward");
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 5);
    err.code = 0;
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 6, &err), TCPSHM_E_BAD_ACK,
                 "message 5 is only partly sent");
    cr_assert_eq(err.code, TCPSHM_E_BAD_ACK);
    cr_assert(strstr(err.text, "Bad ack"), "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 100, &err), TCPSHM_E_BAD_ACK, "beyond the end");
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 5, "a bad ack changes nothing");
    tcpshm_ptcp_queue_mark_sent(&q, 3 * 32 - 3);
    cr_assert_eq(tcpshm_ptcp_queue_sent_seq(&q), 8);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 8, &err), 0);
    cr_assert_eq(q.st.read_idx, 0, "an emptied queue goes back to the front");
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 0);
    reopen_q();
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 8);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 8);
}

Test(ptcp_queue, rewind_frees_to_peer_ack_and_resends_from_there)
{
    open_q();
    for (uint32_t s = 0; s < 6; s++)
        cr_assert(push_test_msg(&q, s, 20));
    send_all();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0);
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 0, &err), TCPSHM_E_BAD_ACK, "below the range");
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 7, &err), TCPSHM_E_BAD_ACK, "above the range");
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 3, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 3);
    cr_assert_eq(tcpshm_ptcp_queue_sent_seq(&q), 3);
    const uint8_t *p;
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 3 * 32, "resend messages 3..5");
    cr_assert_eq(p, tcpshm_ptcp_queue_next(&q, NULL));
    /* After a restart nothing counts as sent, yet the peer may have received
     * everything: rewind accepts any ack up to seq_end. */
    reopen_q();
    cr_assert_eq(tcpshm_ptcp_queue_sent_seq(&q), 3);
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 6, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 6);
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 0);
}

Test(ptcp_queue, reset_drops_everything_persistently)
{
    open_q();
    for (uint32_t s = 0; s < 4; s++)
        cr_assert(push_test_msg(&q, s, 20));
    tcpshm_ptcp_queue_popped(&q);
    tcpshm_ptcp_queue_reset(&q);
    reopen_q();
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 0);
    cr_assert_eq(tcpshm_ptcp_queue_my_ack(&q), 0);
    cr_assert_null(tcpshm_ptcp_queue_next(&q, NULL));
}

Test(ptcp_queue, sequence_numbers_wrap_around)
{
    open_q();
    tcpshm_ptcp_queue_close(&q);
    for (int f = 2; f <= 3; f++)
        patch_u32(slot_field(f), 0xfffffffeu);
    open_q();
    for (uint32_t s = 0; s < 4; s++)
        cr_assert(push_test_msg(&q, 0xfffffffeu + s, 20));
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 2);
    send_all();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 0xffffffffu, &err), 0);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 1);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 0xffffffffu, &err), 0, "stale across the wrap");
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 1);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 3, &err), TCPSHM_E_BAD_ACK);
    reopen_q();
    check_queue_contents(&q, 1, 2);
}

Test(ptcp_queue, leftover_temporary_file_is_ignored)
{
    char path[512], tmp[520];
    path_of(path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    cr_assert_not_null(f);
    fputs("half-made", f);
    fclose(f);
    open_q();
    cr_assert(push_test_msg(&q, 0, 8));
    cr_assert_eq(access(tmp, F_OK), -1, "the temporary name is gone after rename");
}

Test(ptcp_queue, rejects_bad_names_and_config)
{
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "../etc", "c", &cfg, &err),
                 TCPSHM_E_NAME);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "s", "a/b", &cfg, &err),
                 TCPSHM_E_NAME);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "s", "", &cfg, &err),
                 TCPSHM_E_NAME);
    tcpshm_ptcp_queue_config bad = cfg;
    bad.capacity = 1001;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "s", "c", &bad, &err),
                 TCPSHM_E_CONFIG);
    bad = cfg;
    bad.max_msg_size = 12;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "s", "c", &bad, &err),
                 TCPSHM_E_CONFIG);
    bad = cfg;
    bad.capacity = bad.max_msg_size - 8;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "s", "c", &bad, &err),
                 TCPSHM_E_CONFIG);
    cr_assert(strstr(err.text, "capacity"), "%s", err.text);
}

/* ---- corruption classes: each gives its own reason ---- */

static void make_file_with_messages(void)
{
    open_q();
    for (uint32_t s = 0; s < 3; s++)
        cr_assert(push_test_msg(&q, s, 20));
    tcpshm_ptcp_queue_close(&q);
}

Test(ptcp_queue, corrupt_truncated)
{
    make_file_with_messages();
    char path[512];
    path_of(path, sizeof path);
    cr_assert_eq(truncate(path, DATA_OFF + 100), 0);
    expect_corrupt("truncated");
    cr_assert_eq(truncate(path, 10), 0);
    expect_corrupt("truncated");
    cr_assert_eq(truncate(path, 0), 0);
    expect_corrupt("truncated");
}

Test(ptcp_queue, corrupt_foreign_magic_and_version)
{
    make_file_with_messages();
    patch_file(OFF_MAGIC, "NOTOURS!", 8);
    expect_corrupt("bad magic");
    patch_file(OFF_MAGIC, "TSHMPTCP", 8);
    patch_u32(OFF_VERSION, 99);
    expect_corrupt("version 99");
}

Test(ptcp_queue, corrupt_wrong_capacity_and_byte_order)
{
    make_file_with_messages();
    cfg.capacity = 2048;
    expect_corrupt("capacity 1024 differs");
    cfg.capacity = 1024;
    cfg.little_endian = false;
    expect_corrupt("little-endian");
    cfg.little_endian = true;
    patch_u32(OFF_CAPACITY, 2048); /* header and size disagree */
    cfg.capacity = 2048;
    expect_corrupt("truncated");
}

Test(ptcp_queue, corrupt_foreign_pair)
{
    make_file_with_messages();
    patch_file(OFF_LOCAL, "other\0", 6);
    expect_corrupt("belongs to the pair (other, client)");
    char unterminated[64];
    memset(unterminated, 'x', sizeof unterminated);
    patch_file(OFF_LOCAL, unterminated, sizeof unterminated);
    expect_corrupt("not NUL-terminated");
}

/* A foreign file's names go into the reason escaped: a file cannot put
 * control bytes (terminal escapes, forged lines) into a reason. */
Test(ptcp_queue, foreign_names_in_the_reason_are_escaped)
{
    make_file_with_messages();
    patch_file(OFF_LOCAL, "ev\x1b[2Jil\nline\\\0", 16);
    patch_file(OFF_LOCAL + 64, "\x7f\xff\x01\0", 4); /* the remote name field follows */
    expect_corrupt("belongs to the pair (ev\\x1b[2Jil\\x0aline\\x5c, \\x7f\\xff\\x01), not (server, client)");
    tcpshm_error err = {0};
    cr_assert_neq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "server", "client", &cfg, &err), 0);
    for (const char *c = err.text; *c; c++)
        cr_assert(*c >= 0x20 && *c <= 0x7e, "reason \"%s\" has byte 0x%02x", err.text, (unsigned char)*c);
}

Test(ptcp_queue, corrupt_selector_and_indices)
{
    make_file_with_messages();
    patch_u32(OFF_ACTIVE, 2);
    expect_corrupt("selector 2");
    patch_u32(OFF_ACTIVE, 0);
    /* slot 0 is the initial empty state, so make it point out of bounds */
    patch_u32(slot_field(1), cfg.capacity + 8);
    expect_corrupt("indices out of range");
    patch_u32(slot_field(1), 12); /* not a multiple of 8 */
    expect_corrupt("indices out of range");
    patch_u32(slot_field(0), 16);
    patch_u32(slot_field(1), 8);
    expect_corrupt("indices out of range");
}

Test(ptcp_queue, corrupt_message_sizes)
{
    make_file_with_messages();
    uint32_t write_idx = read_u32(slot_field(1));
    cr_assert_eq(write_idx, 96);
    const uint8_t huge[2] = {0xff, 0x00}; /* size 255 at the third message */
    patch_file(DATA_OFF + 64, huge, 2);
    expect_corrupt("runs past the end");
    const uint8_t tiny[2] = {4, 0};
    patch_file(DATA_OFF + 64, tiny, 2);
    expect_corrupt("below the header size");
    const uint8_t ok_size_type0[4] = {28, 0, 0, 0};
    patch_file(DATA_OFF + 64, ok_size_type0, 4);
    expect_corrupt("type 0");
}

Test(ptcp_queue, corrupt_sequence_range)
{
    make_file_with_messages();
    uint32_t write_seq = read_u32(slot_field(3));
    patch_u32(slot_field(2), write_seq + 1);
    expect_corrupt("newer than anything queued");
    patch_u32(slot_field(2), 0);
    patch_u32(slot_field(3), write_seq + 1);
    expect_corrupt("says 4 messages but 3 are queued");
}

Test(ptcp_queue, verify_accepts_good_bytes_and_names_nothing_on_success)
{
    make_file_with_messages();
    char path[512];
    path_of(path, sizeof path);
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(m, MAP_FAILED);
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_verify(m, (uint64_t)st.st_size, NULL, NULL, &cfg, &err), 0,
                 "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_verify(m, (uint64_t)st.st_size, "server", "other", &cfg, &err),
                 TCPSHM_E_CORRUPT);
    munmap(m, (size_t)st.st_size);
}

Test(ptcp_queue, corrupt_message_larger_than_the_configured_maximum)
{
    make_file_with_messages(); /* 28-byte messages */
    open_q();
    cr_assert(push_test_msg(&q, 3, 200));
    tcpshm_ptcp_queue_close(&q);
    cfg.max_msg_size = 128; /* the peer could never take the stored message */
    expect_corrupt("larger than max_msg_size 128");
}

Test(ptcp_queue, a_failed_alloc_leaves_nothing_to_push)
{
    open_q();
    cr_assert_not_null(tcpshm_ptcp_queue_alloc(&q, 16));
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, (uint16_t)cfg.max_msg_size));
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), TCPSHM_E_ARG, "the earlier allocation was replaced");
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 0);
}

Test(ptcp_queue, verify_reads_unaligned_bytes)
{
    make_file_with_messages();
    char path[512];
    path_of(path, sizeof path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[DATA_OFF + 1024 + 1];
    cr_assert_eq(fread(buf + 1, 1, DATA_OFF + 1024, f), DATA_OFF + 1024);
    fclose(f);
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_verify(buf + 1, DATA_OFF + 1024, "server", "client", &cfg, &err), 0,
                 "%s", err.text);
}
