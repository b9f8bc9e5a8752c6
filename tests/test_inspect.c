/* tcpshm-inspect run as a process on good, empty, truncated, foreign and
 * corrupt queue files, on lastserver records and SHM segments: its output
 * and exit status. Every file the tool calls corrupt must also be refused by
 * the library's reopen, and every file it calls good must reopen (the tool
 * reuses the core's verify; this keeps the two from drifting apart). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tcpshm/env.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/shm_queue.h"

#ifndef INSPECT
#error "INSPECT must be the path of the built tcpshm-inspect"
#endif

#define TYPE 4242u
#define BODY 24u

static char g_dir[256];
static char g_out[1 << 20];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tcpshm-inspect-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(inspect, .init = setup, .fini = teardown, .timeout = 120);

/* Runs tcpshm-inspect with args (NULL-terminated); its stdout and stderr
 * land in g_out. Returns the exit status; a signal fails the test. */
static int run_inspect(const char *a0, ...)
{
    char *argv[16] = {INSPECT};
    int n = 1;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    char out_path[300];
    snprintf(out_path, sizeof out_path, "%s/inspect.out", g_dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    FILE *f = fopen(out_path, "r");
    cr_assert_not_null(f);
    size_t got = fread(g_out, 1, sizeof g_out - 1, f);
    g_out[got] = '\0';
    fclose(f);
    unlink(out_path);
    cr_assert(WIFEXITED(st), "tcpshm-inspect died with signal %d; output:\n%s", WTERMSIG(st), g_out);
    return WEXITSTATUS(st);
}

#define assert_out_has(needle) \
    cr_assert_not_null(strstr(g_out, needle), "output lacks '%s':\n%s", needle, g_out)

static tcpshm_ptcp_queue_config qcfg(void)
{
    /* max_msg_size as tcpshm_config_default's (the tool's default) */
    tcpshm_ptcp_queue_config c = {.capacity = 4096, .max_msg_size = 4096, .little_endian = true};
    return c;
}

/* server_alice.ptcp: 5 pushed, 2 acknowledged, 3 of alice's popped. Message
 * k has type TYPE + k and body bytes 0xA0 + k. */
static void make_good(const char *dir)
{
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config c = qcfg();
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), dir, "server", "alice", &c, &err), 0,
                 "%s", err.text);
    for (uint32_t k = 0; k < 5; k++) {
        tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, (uint16_t)(BODY + k));
        cr_assert_not_null(m);
        m->msg_type = (uint16_t)(TYPE + k);
        memset(m + 1, 0xA0 + (int)k, BODY + k);
        cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0);
    }
    const uint8_t *d;
    tcpshm_ptcp_queue_mark_sent(&q, tcpshm_ptcp_queue_sendable(&q, &d));
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 2, &err), 0);
    for (int i = 0; i < 3; i++)
        tcpshm_ptcp_queue_popped(&q);
    tcpshm_ptcp_queue_close(&q);
}

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

/* Would the library reopen dir's server_alice.ptcp? */
static bool core_reopens(void)
{
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config c = qcfg();
    tcpshm_error err = {0};
    if (tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), g_dir, "server", "alice", &c, &err) != 0)
        return false;
    tcpshm_ptcp_queue_close(&q);
    return true;
}

static void write_at(const char *path, long off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

Test(inspect, good_file_shows_names_range_ack_and_messages)
{
    make_good(g_dir);
    cr_assert_eq(run_inspect(g_dir, NULL), 0, "%s", g_out);
    assert_out_has("local: server");
    assert_out_has("remote: alice");
    assert_out_has("capacity: 4096");
    assert_out_has("seq start: 2");
    assert_out_has("seq end: 5");
    assert_out_has("pending: 3");
    assert_out_has("my ack: 3");
    assert_out_has("send position: 2");
    /* ack carried by each message: my_ack at push time, 0 */
    assert_out_has("seq 2: type 4244, size 34, ack 0");
    assert_out_has("seq 4: type 4246, size 36, ack 0");
    cr_assert_null(strstr(g_out, "seq 1:"), "an acknowledged message is listed:\n%s", g_out);
    assert_out_has("status: ok");
    assert_out_has("1 object inspected, 0 corrupt");
    /* made in process mode; the last change was a pop: the other slot has one pop less */
    assert_out_has("durability: process");
    assert_out_has("record slots: differ: the other slot is the state before the last change");
    assert_out_has("other slot my ack: 2");
}

/* A file made with durability host says so; a slot staged and never
 * published (a kill between stage and flip) shows as newer. */
Test(inspect, host_durability_and_a_staged_slot)
{
    tcpshm_ptcp_queue q;
    tcpshm_ptcp_queue_config c = qcfg();
    c.host_durable = true;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, tcpshm_env_posix(), g_dir, "server", "alice", &c, &err), 0,
                 "%s", err.text);
    tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, BODY);
    cr_assert_not_null(m);
    m->msg_type = TYPE;
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    cr_assert_eq(run_inspect(g_dir, NULL), 0, "%s", g_out);
    assert_out_has("durability: host");
    assert_out_has("record slots: differ: the other slot is the state before the last change");
    /* stage a newer state in the inactive slot by hand: my_ack + 5 */
    char p[512];
    path_in(p, sizeof p, "server_alice.ptcp");
    int fd = open(p, O_RDONLY);
    uint32_t active;
    cr_assert_eq(pread(fd, &active, 4, 160), 4);
    uint32_t st[8];
    cr_assert_eq(pread(fd, st, sizeof st, 192 + 32 * (long)active), (ssize_t)sizeof st);
    close(fd);
    st[4] += 5;
    write_at(p, 192 + 32 * (long)(1 - active), st, sizeof st);
    cr_assert_eq(run_inspect(g_dir, NULL), 0, "%s", g_out);
    assert_out_has("record slots: differ: the other slot is newer");
}

Test(inspect, hex_dumps_bodies)
{
    make_good(g_dir);
    cr_assert_eq(run_inspect("--hex", g_dir, NULL), 0, "%s", g_out);
    assert_out_has("0000  a2 a2 a2 a2");
    assert_out_has("0010  a4 a4 a4 a4 a4 a4 a4 a4 a4 a4 a4 a4              ............\n");
}

Test(inspect, json)
{
    make_good(g_dir);
    char file[300];
    path_in(file, sizeof file, "server_alice.ptcp");
    cr_assert_eq(run_inspect("--json", "--hex", file, NULL), 0, "%s", g_out);
    assert_out_has("{\"objects\": [");
    assert_out_has("\"kind\": \"ptcp\"");
    assert_out_has("\"seq_start\": 2, \"seq_end\": 5");
    assert_out_has("{\"seq\": 3, \"type\": 4245, \"size\": 35, \"ack\": 0, \"body_hex\": \"a3a3");
    assert_out_has("\"status\": \"ok\"}");
    assert_out_has("\"count\": 1, \"corrupt\": 0, \"unreadable\": 0}");
}

Test(inspect, empty_directory)
{
    cr_assert_eq(run_inspect(g_dir, NULL), 0, "%s", g_out);
    assert_out_has("no queue files in");
}

Test(inspect, empty_file)
{
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    close(open(p, O_WRONLY | O_CREAT, 0600));
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("status: corrupt");
    assert_out_has("reason: truncated: 0 bytes");
    cr_assert_not(core_reopens());
}

Test(inspect, truncated_file)
{
    make_good(g_dir);
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    cr_assert_eq(truncate(p, 1000), 0);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("reason: truncated: 1000 bytes, expected 4352 for capacity 4096");
    cr_assert_not(core_reopens());
}

Test(inspect, foreign_file)
{
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 600; i++)
        fputs("not a queue file, ", f);
    fclose(f);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("reason: not a tcpshm queue file (bad magic)");
    cr_assert_null(strstr(g_out, "local:"), "names printed from a foreign file:\n%s", g_out);
    cr_assert_not(core_reopens());
}

/* The stored size of the first pending message below the header size. */
Test(inspect, corrupt_message_size)
{
    make_good(g_dir);
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    cr_assert_eq(run_inspect(g_dir, NULL), 0, "%s", g_out);
    /* messages 0 and 1 take 32 and 40 bytes (sizes 32, 33 padded): message 2 is at 72 */
    uint16_t bad = 3;
    write_at(p, 256 + 72, &bad, sizeof bad);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("reason: message 0 at offset 72 has size 3, below the header size");
    cr_assert_not(core_reopens());
}

/* A record whose seq range disagrees with the messages it holds. */
Test(inspect, corrupt_seq_range)
{
    make_good(g_dir);
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    uint32_t active;
    int fd = open(p, O_RDONLY);
    cr_assert_eq(pread(fd, &active, 4, 160), 4);
    close(fd);
    uint32_t write_seq = 9; /* slot: read_idx, write_idx, read_seq, write_seq */
    write_at(p, 192 + 32 * (long)active + 12, &write_seq, 4);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("reason: seq range [2, 9) says 7 messages but 3 are queued");
    cr_assert_not(core_reopens());
}

/* The file of another pair under this name: reopen refuses it, so must the tool. */
Test(inspect, file_of_another_pair)
{
    make_good(g_dir);
    char from[300], to[300];
    path_in(from, sizeof from, "server_alice.ptcp");
    path_in(to, sizeof to, "server_bob.ptcp");
    cr_assert_eq(rename(from, to), 0);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("whose file is server_alice.ptcp, not server_bob.ptcp");
}

/* One good and one corrupt file: both reported, exit 1. */
Test(inspect, reports_every_file)
{
    make_good(g_dir);
    char p[300];
    path_in(p, sizeof p, "x_y.ptcp");
    close(open(p, O_WRONLY | O_CREAT, 0600));
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("2 objects inspected, 1 corrupt");
    assert_out_has("status: ok");
}

/* Random damage to a good file: the tool never crashes, and it calls a file
 * good exactly when the library reopens it. */
Test(inspect, garbage_agrees_with_reopen)
{
    char p[300];
    path_in(p, sizeof p, "server_alice.ptcp");
    uint64_t x = 12345;
    for (int round = 0; round < 60; round++) {
        unlink(p);
        make_good(g_dir);
        int flips = 1 + round % 4;
        for (int i = 0; i < flips; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            /* mostly the header and the first messages, where it matters */
            long off = (long)((x >> 33) % (round % 2 ? 256 : 4352));
            uint8_t b = (uint8_t)(x >> 20);
            write_at(p, off, &b, 1);
        }
        int rc = run_inspect(g_dir, NULL);
        bool ok = core_reopens();
        cr_assert(rc == 0 || rc == 1, "round %d: exit %d\n%s", round, rc, g_out);
        cr_assert_eq(rc == 0, ok, "round %d: tool says %s, reopen %s\n%s", round, rc ? "corrupt" : "good",
                     ok ? "accepts" : "refuses", g_out);
    }
}

Test(inspect, lastserver_record)
{
    /* as a client would leave it: write one through the core's writer */
    char p[300];
    path_in(p, sizeof p, "alice.lastserver");
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("garbage", f);
    fclose(f);
    cr_assert_eq(run_inspect(g_dir, NULL), 1, "%s", g_out);
    assert_out_has("lastserver ");
    assert_out_has("client: alice");
    assert_out_has("status: corrupt");
}

Test(inspect, missing_path_is_unreadable)
{
    char p[300];
    path_in(p, sizeof p, "nothing_here.ptcp");
    cr_assert_eq(run_inspect(p, NULL), 3, "%s", g_out);
    assert_out_has("No such file or directory");
}

Test(inspect, usage)
{
    cr_assert_eq(run_inspect(NULL), 2, "%s", g_out);
    assert_out_has("give a directory, a .ptcp file or --shm NAME\nTry '");
    cr_assert_eq(run_inspect("--bogus", g_dir, NULL), 2, "%s", g_out);
    assert_out_has("unrecognized option '--bogus'\nTry '");
    cr_assert_eq(run_inspect("--max-msg-size", "12", g_dir, NULL), 2, "%s", g_out);
    assert_out_has("--max-msg-size wants a number in [16, 65536], not '12'");
    cr_assert_eq(run_inspect("--help", NULL), 0, "%s", g_out);
    assert_out_has("Exit status:");
}

/* ---- shared memory ---- */

static char g_seg[64];

static void make_segment(uint32_t msgs)
{
    snprintf(g_seg, sizeof g_seg, "/tcpshm_inspect%d_t", (int)getpid());
    shm_unlink(g_seg);
    tcpshm_shm_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_shm_queue_open(&q, tcpshm_env_posix(), g_seg,
                                       &(tcpshm_shm_queue_config){.capacity = 4096, .max_msg_size = 256,
                                                                  .producer = true, .create = true}, &err), 0,
                 "%s", err.text);
    for (uint32_t k = 0; k < msgs; k++) {
        tcpshm_msg_header *m = tcpshm_shm_queue_alloc(&q, (uint16_t)(BODY + k));
        cr_assert_not_null(m);
        m->msg_type = (uint16_t)(TYPE + k);
        memset(m + 1, 0xB0 + (int)k, BODY + k);
        cr_assert_eq(tcpshm_shm_queue_push(&q), 0);
    }
    tcpshm_shm_queue_close(&q);
}

Test(inspect, shm_segment)
{
    make_segment(3);
    int rc = run_inspect("--shm", g_seg, "--max-msg-size", "256", "--hex", NULL);
    shm_unlink(g_seg);
    cr_assert_eq(rc, 0, "%s", g_out);
    assert_out_has("capacity: 4096");
    assert_out_has("pushed: 3");
    assert_out_has("popped: 0");
    assert_out_has("pending: 3");
    assert_out_has("seq 1: type 4243, size 33");
    assert_out_has("0000  b2 b2 b2");
    assert_out_has("status: ok");
}

Test(inspect, shm_segment_corrupt_positions)
{
    make_segment(2);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm%s", g_seg);
    uint64_t bad = ((uint64_t)1 << 32) | 4093u; /* write position not a multiple of 8 */
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, &bad, 8, 64), 8);
    close(fd);
    int rc = run_inspect("--shm", g_seg, "--max-msg-size", "256", NULL);
    shm_unlink(g_seg);
    cr_assert_eq(rc, 1, "%s", g_out);
    assert_out_has("positions out of range");
}

Test(inspect, shm_missing)
{
    cr_assert_eq(run_inspect("--shm", "/tcpshm_no_such_segment_here", NULL), 3, "%s", g_out);
    assert_out_has("cannot open shared memory");
}
