/* Edges of the core's pure functions that the other suites leave untaken
 * (ci/coverage lists what is left): every error code's name, each config
 * range on both sides, queue-file inspection, the io wrappers' sync calls
 * and short-length clamps, the frame parser without a buffer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error_set.h"
#include "io.h"
#include "tcpshm/config.h"
#include "tcpshm/error.h"
#include "tcpshm/frame.h"
#include "tcpshm/ptcp_inspect.h"
#include "tcpshm/ptcp_queue.h"
#include "venv.h"

static void fiu_setup(void) { cr_assert_eq(fiu_init(0), 0); }
TestSuite(edges, .init = fiu_setup, .timeout = 60);

/* ------------------------------------------------------------- error.c */

Test(edges, every_code_has_its_own_name)
{
    static const int codes[] = {TCPSHM_OK,           TCPSHM_E_CONFIG,      TCPSHM_E_SYSTEM,    TCPSHM_E_NAME,
                                TCPSHM_E_CORRUPT,    TCPSHM_E_FULL,        TCPSHM_E_BAD_ACK,   TCPSHM_E_FRAME_SMALL,
                                TCPSHM_E_FRAME_LARGE, TCPSHM_E_TRUNCATED, TCPSHM_E_ARG,       TCPSHM_E_IN_USE};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *a = tcpshm_code_name(codes[i]);
        cr_assert_str_neq(a, "unknown error", "code %d has no name", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(a, tcpshm_code_name(codes[j]), "codes %d and %d share a name", codes[i], codes[j]);
    }
    cr_assert_str_eq(tcpshm_code_name(12345), "unknown error");
    cr_assert_str_eq(tcpshm_code_name(TCPSHM_OK), "ok");
}

Test(edges, fail_without_an_error_struct_returns_the_code)
{
    cr_assert_eq(tcpshm_fail(NULL, TCPSHM_E_FULL, 0, "x %d", 1), TCPSHM_E_FULL);
}

/* ------------------------------------------------------------ config.c */

typedef struct range_case {
    const char *field;
    void (*bad)(tcpshm_config *c);
} range_case;

#define BAD(name, stmt)                                                                                                \
    static void bad_##name(tcpshm_config *c) { stmt; }
BAD(conn_timeout_high, c->connection_timeout = -1)
BAD(max_new_conns_high, c->max_new_conns = 65537)
BAD(accepts_high, c->accepts_per_poll = 65537)
BAD(tcp_conns_high, c->tcp_conns_per_group = 65537)
BAD(shm_groups_high, c->shm_groups = 1025)
BAD(shm_conns_low, c->shm_conns_per_group = 0)
BAD(shm_conns_high, c->shm_conns_per_group = 65537)
BAD(shm_queue_low, c->shm_queue_size = 2 * c->max_msg_size)
BAD(shm_queue_high, c->shm_queue_size = (1u << 30) + 8)
BAD(shm_queue_odd, c->shm_queue_size = (1u << 20) + 4)
BAD(ctl_interval_low, c->ctl_interval = -1)
BAD(ctl_interval_high, c->ctl_interval = INT64_MAX / 2 + 1)
#undef BAD

Test(edges, config_ranges_refused_on_the_side_no_other_suite_tries)
{
    static const range_case cases[] = {
        {"connection_timeout", bad_conn_timeout_high}, {"max_new_conns", bad_max_new_conns_high},
        {"accepts_per_poll", bad_accepts_high},        {"tcp_conns_per_group", bad_tcp_conns_high},
        {"shm_groups", bad_shm_groups_high},           {"shm_conns_per_group", bad_shm_conns_low},
        {"shm_conns_per_group", bad_shm_conns_high},   {"shm_queue_size", bad_shm_queue_low},
        {"shm_queue_size", bad_shm_queue_high},        {"shm_queue_size", bad_shm_queue_odd},
        {"ctl_interval", bad_ctl_interval_low},        {"ctl_interval", bad_ctl_interval_high},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcpshm_config c;
        tcpshm_config_default(&c);
        tcpshm_error err = {0};
        cr_assert_eq(tcpshm_config_check(&c, &err), 0, "the default is good: %s", err.text);
        cases[i].bad(&c);
        cr_assert_eq(tcpshm_config_check(&c, &err), TCPSHM_E_CONFIG, "case %zu (%s) passed", i, cases[i].field);
        cr_assert_not_null(strstr(err.text, cases[i].field), "case %zu: '%s' does not name %s", i, err.text,
                           cases[i].field);
    }
}

/* ------------------------------------------------------ ptcp_inspect.c */

/* A real queue file's bytes, made on the in-memory env. */
static size_t queue_bytes(uint8_t *out, size_t cap)
{
    venv_options o = {.stream_capacity = 64};
    venv *v = venv_create(&o);
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, venv_env(v), "d", "a", "b", &qc, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    size_t len = 0;
    const uint8_t *data = venv_file_data(v, "d/a_b.ptcp", &len);
    cr_assert_not_null(data);
    cr_assert_leq(len, cap);
    memcpy(out, data, len);
    venv_destroy(v);
    return len;
}

Test(edges, inspect_good_short_and_odd_magic)
{
    static uint8_t buf[1 << 16];
    size_t len = queue_bytes(buf, sizeof buf);
    tcpshm_ptcp_info info;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_inspect(buf, len, 128, "a", "b", &info, &err), 0, "%s", err.text);
    cr_assert(info.have_header);
    cr_assert_eq(info.capacity, 1024);
    cr_assert_str_eq(info.local, "a");
    /* max_msg_size 0: the largest; the file's capacity is below it */
    cr_assert_eq(tcpshm_ptcp_inspect(buf, len, 0, "a", "b", &info, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "below max_msg_size"), "%s", err.text);
    /* shorter than a header */
    cr_assert_neq(tcpshm_ptcp_inspect(buf, 10, 128, "a", "b", &info, &err), 0);
    cr_assert(!info.have_header);
    /* a magic with unprintable bytes is shown with '?' and refused */
    buf[0] = 0x01;
    buf[1] = 0x7f;
    cr_assert_eq(tcpshm_ptcp_inspect(buf, len, 128, "a", "b", &info, &err), TCPSHM_E_CORRUPT);
    cr_assert_eq(info.magic[0], '?');
    cr_assert_eq(info.magic[1], '?');
}

/* The record slots compared counter by counter, wrap-aware: identical,
 * other all at most (older), all at least (newer), or some of each; a
 * difference only in the indices counts as both older and newer (older). */
Test(edges, slots_compare_every_outcome)
{
    tcpshm_ptcp_info info;
    memset(&info, 0, sizeof info);
    info.st = (tcpshm_ptcp_state){.read_idx = 64, .write_idx = 128, .read_seq = 10, .write_seq = 20, .my_ack = 5};
    info.other = info.st;
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_AGREE);
    info.other.write_seq = 19; /* the state before the last push */
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_OTHER_OLDER);
    info.other = info.st;
    info.other.read_seq = 11; /* a staged ack never published */
    info.other.my_ack = 6;
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_OTHER_NEWER);
    info.other.write_seq = 19; /* newer reads, older writes */
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_MIXED);
    info.other = info.st;
    info.other.read_idx = 0; /* the counters agree: not newer, not mixed */
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_OTHER_OLDER);
    /* across the wrap: 0xfffffff0 is before 5 */
    info.st.write_seq = 5;
    info.other = info.st;
    info.other.write_seq = 0xfffffff0u;
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_OTHER_OLDER);
    info.st.write_seq = 0xfffffff0u;
    info.other.write_seq = 5;
    cr_assert_eq(tcpshm_ptcp_slots_compare(&info), TCPSHM_SLOTS_OTHER_NEWER);
}

/* ------------------------------------------------------------- alloc.c */

Test(edges, alloc_of_zero_bytes_is_a_valid_pointer)
{
    void *p = tcpshm_mem_alloc(0);
    cr_assert_not_null(p);
    tcpshm_mem_free(p);
}

/* ---------------------------------------------------------------- io.c */

static int sync_map(void *ctx, void *addr, size_t len) { (void)ctx, (void)addr, (void)len; return 0; }
static int sync_file(void *ctx, int fd) { (void)ctx, (void)fd; return 0; }
static int sync_dir(void *ctx, const char *path) { (void)ctx, (void)path; return 0; }

Test(edges, sync_wrappers_version_member_and_points)
{
    tcpshm_env e = {.version = 1};
    char x = 0;
    /* a version-1 env has no sync members: ENOSYS */
    errno = 0;
    cr_assert_eq(tcpshm_io_map_sync(&e, &x, 1), -1);
    cr_assert_eq(errno, ENOSYS);
    cr_assert_eq(tcpshm_io_file_sync(&e, 3), -1);
    cr_assert_eq(errno, ENOSYS);
    cr_assert_eq(tcpshm_io_dir_sync(&e, "d"), -1);
    cr_assert_eq(errno, ENOSYS);
    /* version 2 with NULL members: ENOSYS too */
    e.version = 2;
    cr_assert_eq(tcpshm_io_map_sync(&e, &x, 1), -1);
    cr_assert_eq(tcpshm_io_file_sync(&e, 3), -1);
    cr_assert_eq(tcpshm_io_dir_sync(&e, "d"), -1);
    e.map_sync = sync_map;
    e.file_sync = sync_file;
    e.dir_sync = sync_dir;
    cr_assert_eq(tcpshm_io_map_sync(&e, &x, 1), 0);
    cr_assert_eq(tcpshm_io_file_sync(&e, 3), 0);
    cr_assert_eq(tcpshm_io_dir_sync(&e, "d"), 0);
    /* each failure point, with its default errno and with a chosen one */
    cr_assert_eq(fiu_enable("tcpshm/file/sync", 1, NULL, 0), 0);
    cr_assert_eq(fiu_enable("tcpshm/file/fdatasync", ENOSPC, NULL, 0), 0);
    cr_assert_eq(fiu_enable("tcpshm/file/dirsync", 1, NULL, 0), 0);
    cr_assert_eq(tcpshm_io_map_sync(&e, &x, 1), -1);
    cr_assert_eq(errno, EIO);
    cr_assert_eq(tcpshm_io_file_sync(&e, 3), -1);
    cr_assert_eq(errno, ENOSPC);
    cr_assert_eq(tcpshm_io_dir_sync(&e, "d"), -1);
    cr_assert_eq(errno, EIO);
    fiu_disable("tcpshm/file/sync");
    fiu_disable("tcpshm/file/fdatasync");
    fiu_disable("tcpshm/file/dirsync");
}

static int boot_of(void *ctx, uint8_t id[16]) { (void)ctx; memset(id, 7, 16); return 0; }

/* The boot id (env version 3): ENOSYS for an older env or a NULL member,
 * the env's id otherwise, and its failure point (not failed by the
 * simulator: no gate family) with the default errno and a chosen one. */
Test(edges, boot_id_wrapper_version_member_and_point)
{
    tcpshm_env e = {.version = 2};
    uint8_t id[16];
    errno = 0;
    cr_assert_eq(tcpshm_io_boot_id(&e, id), -1);
    cr_assert_eq(errno, ENOSYS);
    e.version = 3;
    cr_assert_eq(tcpshm_io_boot_id(&e, id), -1);
    cr_assert_eq(errno, ENOSYS);
    e.boot_id = boot_of;
    cr_assert_eq(tcpshm_io_boot_id(&e, id), 0);
    cr_assert_eq(id[0], 7);
    cr_assert_eq(id[15], 7);
    cr_assert_eq(fiu_enable("tcpshm/env/boot_id", 1, NULL, 0), 0);
    cr_assert_eq(tcpshm_io_boot_id(&e, id), -1);
    cr_assert_eq(errno, EIO);
    fiu_disable("tcpshm/env/boot_id");
    cr_assert_eq(fiu_enable("tcpshm/env/boot_id", EACCES, NULL, 0), 0);
    cr_assert_eq(tcpshm_io_boot_id(&e, id), -1);
    cr_assert_eq(errno, EACCES);
    fiu_disable("tcpshm/env/boot_id");
    /* the real one: 16 bytes, not all zero */
    const tcpshm_env *os = tcpshm_env_posix();
    memset(id, 0, sizeof id);
    cr_assert_eq(tcpshm_io_boot_id(os, id), 0, "%s", strerror(errno));
    bool any = false;
    for (int i = 0; i < 16; i++)
        any = any || id[i] != 0;
    cr_assert(any, "the POSIX boot id is all zero");
}

/* dir_sync syncs the directory, then its parent: a trailing slash or "."
 * is not a level; a failing env call or a parent path too long for the buffer
 * ends it there. */
static char synced[2][4400];
static int n_synced;
static int record_dir(void *ctx, const char *path)
{
    (void)ctx;
    if (n_synced < 2)
        snprintf(synced[n_synced], sizeof synced[0], "%s", path);
    n_synced++;
    return 0;
}
static int fail_dir(void *ctx, const char *path) { (void)ctx, (void)path; errno = EIO; return -1; }

Test(edges, dir_sync_parent_trailing_slash_failure_and_length)
{
    tcpshm_env e = {.version = 2, .dir_sync = record_dir};
    n_synced = 0;
    cr_assert_eq(tcpshm_io_dir_sync(&e, "top/sub//"), 0);
    cr_assert_eq(n_synced, 2);
    cr_assert_str_eq(synced[1], "top", "the parent of top/sub//");
    /* a trailing "." is the directory before it: x/. is x, its parent "." */
    static const char *const dots[][2] = {{"x/.", "."}, {"top/sub/././/", "top"}, {"/x/.", "/"}, {"x/.y", "x"}, {"top/sub.", "top"}};
    for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
        n_synced = 0;
        cr_assert_eq(tcpshm_io_dir_sync(&e, dots[i][0]), 0);
        cr_assert_eq(n_synced, 2);
        cr_assert_str_eq(synced[1], dots[i][1], "the parent of %s", dots[i][0]);
    }
    e.dir_sync = fail_dir;
    errno = 0;
    cr_assert_eq(tcpshm_io_dir_sync(&e, "top/sub"), -1);
    cr_assert_eq(errno, EIO);
    /* a parent of 4100 characters does not fit the 4096-byte buffer */
    static char deep[4200];
    memset(deep, 'a', sizeof deep - 1);
    deep[4100] = '/';
    e.dir_sync = record_dir;
    n_synced = 0;
    errno = 0;
    cr_assert_eq(tcpshm_io_dir_sync(&e, deep), -1);
    cr_assert_eq(errno, ENAMETOOLONG);
    cr_assert_eq(n_synced, 1, "the directory itself was synced, its parent not");
}

/* ------------------------------------------------------------- frame.c */

Test(edges, frame_parser_without_a_buffer_has_no_space)
{
    tcpshm_frame_parser p;
    memset(&p, 0, sizeof p);
    uint32_t len = 99;
    cr_assert_null(tcpshm_frame_parser_space(&p, &len));
    cr_assert_eq(len, 0);
}

/* A caller that wrote to a scanned header's size (too small, or more than
 * was scanned) does not move pop past the scanned messages. */
Test(edges, frame_parser_pop_after_the_caller_wrote_the_size)
{
    static uint8_t buf[256];
    tcpshm_frame_parser p;
    cr_assert_eq(tcpshm_frame_parser_init(&p, buf, sizeof buf, 64, true, NULL), 0);
    static const uint16_t written[] = {4, 200};
    for (int round = 0; round < 2; round++) {
        tcpshm_msg_header h = {.size = 16, .msg_type = 9};
        uint32_t len = 0;
        uint8_t *space = tcpshm_frame_parser_space(&p, &len);
        cr_assert_geq(len, 16);
        tcpshm_header_encode(&h, space, true);
        memset(space + 8, 0, 8);
        tcpshm_frame_parser_received(&p, 16);
        tcpshm_msg_header *m = NULL;
        tcpshm_error err = {0};
        cr_assert_eq(tcpshm_frame_parser_scan(&p, &m, &err), 1, "%s", err.text);
        m->size = written[round];
        tcpshm_frame_parser_pop(&p);
        cr_assert_null(tcpshm_frame_parser_front(&p), "round %d: the scanned message is gone", round);
    }
}

#include "peer_addr.h"

Test(edges, peer_addr_unspecified_forms)
{
    cr_assert(!tcpshm_peer_is_local("::ffff:0.0.0.0", "::ffff:0.0.0.0"), "an unspecified peer is never local");
    cr_assert(!tcpshm_peer_is_local("::", "::"));
    cr_assert(tcpshm_peer_is_local("10.0.0.1", "10.0.0.1"));
}
