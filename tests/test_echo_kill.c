/* Real processes: the echo_server and echo_client programs on loopback,
 * killed with SIGKILL at seeded random moments (the server, the client, or
 * both) and restarted after a short random delay from the same directories.
 * At the end the client must have verified every echo exactly once, in
 * order and intact, and say `done sent=N received=N`; restarted once more it
 * says so again, and the server stops with exit 0 on SIGTERM.
 *
 * server_renamed_part_way restarts the server under a new name part way:
 * per WIRE.md (login step 5) that is a brand-new connection and the old
 * unsent messages are dropped on both sides, so the client must notice the
 * new name, say that it starts over from 0, and complete the whole run again.
 *
 * crash_sites runs both programs under fiu-run with the tcpshm/crash/ sites
 * on at a small probability, so they also die exactly between the two
 * persisted steps of an operation (e.g. the server's push of an echo and its
 * pop), which a SIGKILL only hits by luck.
 *
 * The schedule comes from a seed, printed at the start; set
 * TCPSHM_ECHO_KILL_SEED to repeat it (the exact moments still depend on the
 * machine). TCPSHM_ECHO_KILL_KEEP=1 keeps the directory and its logs after a
 * pass too (a failure always keeps them). Under Valgrind (ci/memcheck traces
 * the children too) the runs are smaller, the waits longer, and crash_sites
 * is skipped. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tcpshm/env.h"

#if !defined(ECHO_SERVER) || !defined(ECHO_CLIENT)
#error "ECHO_SERVER and ECHO_CLIENT must be the paths of the built programs"
#endif

#define CLIENT_NAME "killclient"
#define MAX_SIZE "1024"

typedef struct bed {
    char dir[256];
    char srv_dir[300], cl_dir[300], srv_log[300], cl_out[300], cl_err[300];
    char srv_name[32];
    char port_s[16], count_s[32], seed_s[32];
    uint16_t port;
    pid_t srv, cl; /* 0: not running */
    uint64_t count, rng;
    int slow;      /* 1, or a factor for sleeps and waits under Valgrind */
    uint32_t kill_pct; /* how often random_kill really kills */
    bool fiu;      /* run both under fiu-run with these commands */
    const char *fiu_cmds[4];
    int srv_kills, cl_kills, both_kills, srv_crashes, cl_crashes;
    bool cl_done;  /* the client exited 0 */
    int64_t t0;
} bed;

static bed B;

/* ---- small helpers ---- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint32_t rnd_in(bed *b, uint32_t lo, uint32_t hi) { return lo + (uint32_t)(rnd(&b->rng) % (hi - lo + 1)); }

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void msleep(uint32_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* The whole file (at most cap-1 bytes from offset `from`), NUL-terminated. */
static size_t read_file(const char *path, long from, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

static bool file_contains(const char *path, long from, const char *needle)
{
    static char buf[1 << 20];
    long size = file_size(path);
    if (size - from > (long)sizeof buf - 1)
        from = size - (long)sizeof buf + 1;
    read_file(path, from, buf, sizeof buf);
    return strstr(buf, needle) != NULL;
}

static void dump_tail(const char *path, int lines)
{
    static char buf[1 << 16];
    long size = file_size(path);
    read_file(path, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, buf, sizeof buf);
    const char *p = buf + strlen(buf);
    for (int n = 0; p > buf && n <= lines; p--)
        if (p[-1] == '\n')
            n++;
    fprintf(stderr, "---- last lines of %s\n%s", path, p);
}

/* Kills whatever still runs, shows the logs, keeps the directory, fails. */
static void bed_fail(bed *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void bed_fail(bed *b, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pid_t pids[2] = {b->srv, b->cl};
    for (int i = 0; i < 2; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    b->srv = b->cl = 0;
    fprintf(stderr, "echo kill test FAILED after %.1f s: %s\n", (double)(now_ms() - b->t0) / 1000.0, msg);
    dump_tail(b->cl_out, 10);
    dump_tail(b->cl_err, 30);
    dump_tail(b->srv_log, 30);
    fprintf(stderr, "the directory %s is kept\n", b->dir);
    cr_assert_fail("%s (directory %s kept)", msg, b->dir);
    abort(); /* not reached */
}

static const char *status_text(int st, char *buf, size_t n)
{
    if (WIFEXITED(st))
        snprintf(buf, n, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, n, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, n, "wait status 0x%x", st);
    return buf;
}

/* fork + exec with stdout and stderr appended to files; the child dies with
 * the test. */
static pid_t spawn(bed *b, char *const argv[], const char *out, const char *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bed_fail(b, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (b->fiu) {
            /* fiu-run preloads its library; an ASan build would refuse to
             * start unless its runtime came first */
            static char opts[1024];
            const char *old = getenv("ASAN_OPTIONS");
            snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "",
                     old && old[0] ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
            /* and LeakSanitizer would report the string it strdup()s */
            old = getenv("LSAN_OPTIONS");
            snprintf(opts, sizeof opts, "%s%ssuppressions=%s/lsan.supp", old ? old : "",
                     old && old[0] ? ":" : "", b->dir);
            setenv("LSAN_OPTIONS", opts, 1);
        }
        int o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        close(o);
        close(e);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* A port that is free now and outside the kernel's ephemeral range, so that
 * the client's own connect attempts (while the server is down) never take it
 * as their local port: a socket connecting to itself would make the next
 * server start fail. Falls back to a kernel-chosen port. */
static uint16_t pick_port(bed *b)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint16_t port = 0;
    for (int i = 0; i < 200 && !port && lo > 11000; i++) {
        uint16_t p = (uint16_t)rnd_in(b, 10000, lo - 1);
        sa.sin_port = htons(p);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            port = p;
    }
    if (!port) {
        sa.sin_port = 0;
        socklen_t len = sizeof sa;
        cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

/* ---- the two programs ---- */

/* argv of a program, wrapped in fiu-run with the bed's failure points when
 * they are on. */
static void program_argv(bed *b, char **argv, size_t cap, char *const prog[])
{
    size_t n = 0;
    if (b->fiu) {
        argv[n++] = "fiu-run";
        argv[n++] = "-f"; /* no control FIFOs under /tmp */
        argv[n++] = "";
        for (size_t i = 0; i < sizeof b->fiu_cmds / sizeof b->fiu_cmds[0]; i++) {
            argv[n++] = "-c";
            argv[n++] = (char *)b->fiu_cmds[i];
        }
    }
    for (size_t i = 0; prog[i] && n + 1 < cap; i++)
        argv[n++] = prog[i];
    argv[n] = NULL;
}

/* Starts the server and waits for its "listening" line. false if it exited
 * instead (the port is taken). */
static bool try_start_server(bed *b)
{
    long off = file_size(b->srv_log);
    snprintf(b->port_s, sizeof b->port_s, "%u", b->port);
    char *prog[] = {ECHO_SERVER, "--listen", "127.0.0.1", "--port", b->port_s, "--name", b->srv_name,
                    "--dir", b->srv_dir, NULL};
    char *argv[32];
    program_argv(b, argv, 32, prog);
    b->srv = spawn(b, argv, b->srv_log, b->srv_log);
    int64_t deadline = now_ms() + 5000 * b->slow;
    while (now_ms() < deadline) {
        if (file_contains(b->srv_log, off, "listening on"))
            return true;
        int st;
        if (waitpid(b->srv, &st, WNOHANG) == b->srv) {
            b->srv = 0;
            if (file_contains(b->srv_log, off, "cannot listen"))
                return false;
            char why[64];
            bed_fail(b, "the server (%s) ended at start with %s", argv[0], status_text(st, why, sizeof why));
        }
        msleep(1);
    }
    bed_fail(b, "the server did not start listening within %d s", 5 * b->slow);
}

/* Restarts the server on the same port, retrying a while if the port is
 * still held. */
static void start_server(bed *b)
{
    for (int i = 0; i < 100; i++) {
        if (try_start_server(b))
            return;
        msleep(20);
    }
    bed_fail(b, "the server could not listen on port %u 100 times in a row", b->port);
}

static void start_client(bed *b)
{
    char *prog[] = {ECHO_CLIENT, "--name", CLIENT_NAME, "--port", b->port_s, "--dir", b->cl_dir,
                    "--count", b->count_s, "--seed", b->seed_s, "--max-size", MAX_SIZE, NULL};
    char *argv[32];
    program_argv(b, argv, 32, prog);
    b->cl = spawn(b, argv, b->cl_out, b->cl_err);
}

static bool crash_site_exit(const bed *b, int st)
{
    return b->fiu && WIFEXITED(st) && WEXITSTATUS(st) == TCPSHM_CRASH_EXIT_CODE;
}

/* The client ended by itself (or just before a kill): it must have finished
 * (exit 0) or, with failure points on, died at a crash site. */
static void client_exited(bed *b, int st)
{
    char why[64];
    b->cl = 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        b->cl_done = true;
        return;
    }
    if (crash_site_exit(b, st)) {
        b->cl_crashes++;
        return;
    }
    bed_fail(b, "the client ended with %s", status_text(st, why, sizeof why));
}

static void server_exited(bed *b, int st)
{
    char why[64];
    b->srv = 0;
    if (crash_site_exit(b, st)) {
        b->srv_crashes++;
        return;
    }
    bed_fail(b, "the server ended by itself with %s", status_text(st, why, sizeof why));
}

/* Notes programs that ended by themselves; anything but a finished client
 * or a crash site (with failure points on) fails the test. */
static void reap(bed *b)
{
    int st;
    if (b->cl > 0 && waitpid(b->cl, &st, WNOHANG) == b->cl)
        client_exited(b, st);
    if (b->srv > 0 && waitpid(b->srv, &st, WNOHANG) == b->srv)
        server_exited(b, st);
}

/* Starts again whatever is not running (but a finished client). */
static void restart_dead(bed *b)
{
    if (b->srv == 0)
        start_server(b);
    if (b->cl == 0 && !b->cl_done)
        start_client(b);
}

static void kill_server(bed *b)
{
    int st;
    if (b->srv <= 0)
        return; /* not running (kill(0) would hit the whole process group) */
    kill(b->srv, SIGKILL);
    waitpid(b->srv, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        b->srv = 0;
        b->srv_kills++;
        return;
    }
    server_exited(b, st);
}

static void kill_client(bed *b)
{
    int st;
    if (b->cl <= 0)
        return;
    kill(b->cl, SIGKILL);
    waitpid(b->cl, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        b->cl = 0;
        b->cl_kills++;
        return;
    }
    client_exited(b, st); /* it finished, or hit a crash site, just before */
}

/* ---- the bed ---- */

static void bed_init(bed *b, const char *srv_name, uint64_t count, bool fiu)
{
    memset(b, 0, sizeof *b);
    b->t0 = now_ms();
    b->slow = under_valgrind() ? 5 : 1;
    b->kill_pct = 100;
    snprintf(b->dir, sizeof b->dir, "/tmp/tcpshm-echo-kill-XXXXXX");
    cr_assert_not_null(mkdtemp(b->dir));
    snprintf(b->srv_dir, sizeof b->srv_dir, "%s/server", b->dir);
    snprintf(b->cl_dir, sizeof b->cl_dir, "%s/client", b->dir);
    snprintf(b->srv_log, sizeof b->srv_log, "%s/server.log", b->dir);
    snprintf(b->cl_out, sizeof b->cl_out, "%s/client.out", b->dir);
    snprintf(b->cl_err, sizeof b->cl_err, "%s/client.err", b->dir);
    snprintf(b->srv_name, sizeof b->srv_name, "%s", srv_name);
    const char *env = getenv("TCPSHM_ECHO_KILL_SEED");
    uint64_t seed = env ? (uint64_t)strtoull(env, NULL, 10)
                        : ((uint64_t)time(NULL) * 1000003u) ^ (uint64_t)getpid() ^ (uint64_t)now_ms();
    b->rng = seed;
    b->count = count;
    snprintf(b->count_s, sizeof b->count_s, "%" PRIu64, count);
    snprintf(b->seed_s, sizeof b->seed_s, "%" PRIu64, seed % 1000000007u);
    b->fiu = fiu;
    if (fiu) {
        char supp[320];
        snprintf(supp, sizeof supp, "%s/lsan.supp", b->dir);
        FILE *f = fopen(supp, "w");
        cr_assert_not_null(f);
        fputs("leak:fiu_run_preload.so\n", f);
        fclose(f);
    }
    /* With failure points: the queue's crash sites are hit several times
     * per message, server_after_rewind once per login, and the other login
     * sites only at a first login (or one with a new server name). */
    b->fiu_cmds[0] = "enable_random name=tcpshm/crash/queue/*,probability=0.00005";
    b->fiu_cmds[1] = "enable_random name=tcpshm/crash/login/server_after_rewind,probability=0.05";
    b->fiu_cmds[2] = "enable_random name=tcpshm/crash/login/server_after_reset,probability=0.5";
    b->fiu_cmds[3] = "enable_random name=tcpshm/crash/login/client*,probability=0.5";
    fprintf(stderr, "echo kill test: seed %" PRIu64 " (TCPSHM_ECHO_KILL_SEED=%" PRIu64
                    " repeats the schedule), %" PRIu64 " messages, directory %s%s\n",
            seed, seed, count, b->dir, b->slow > 1 ? ", under Valgrind: scaled down" : "");
    /* the first port that works */
    for (int i = 0;; i++) {
        b->port = pick_port(b);
        if (try_start_server(b))
            break;
        if (i == 20)
            bed_fail(b, "the server could not start on 20 different ports");
    }
    start_client(b);
}

/* A kill (kill_pct percent of the time) of the server, the client or both
 * (only the server once the client is done); then, after a short random
 * delay, whatever is down starts again (also a program that died at a crash
 * site meanwhile). */
static void kill_now(bed *b)
{
    reap(b);
    uint32_t r = rnd_in(b, 0, 9);
    bool really = rnd_in(b, 1, 100) <= b->kill_pct;
    bool srv = really && b->srv > 0 && (r < 4 || r >= 8 || b->cl_done);
    bool cl = really && b->cl > 0 && r >= 4;
    if (srv && cl)
        b->both_kills++;
    if (cl)
        kill_client(b);
    if (srv)
        kill_server(b);
    msleep(rnd_in(b, 0, 30) * (uint32_t)b->slow);
    reap(b);
    restart_dead(b);
}

/* kill_now at a random moment 1-60 ms later. */
static void random_kill(bed *b)
{
    msleep(rnd_in(b, 1, 60) * (uint32_t)b->slow);
    kill_now(b);
}

/* Waits for the client to finish (restarting what dies at crash sites),
 * then checks its verdict line. */
static void wait_done(bed *b, int seconds)
{
    int64_t deadline = now_ms() + (int64_t)seconds * 1000 * b->slow;
    for (;;) {
        reap(b);
        if (b->cl_done)
            break;
        restart_dead(b);
        if (now_ms() > deadline)
            bed_fail(b, "the client did not finish within %d s after the last kill", seconds * b->slow);
        msleep(5);
    }
    char want[96];
    snprintf(want, sizeof want, "done sent=%" PRIu64 " received=%" PRIu64 "\n", b->count, b->count);
    if (!file_contains(b->cl_out, 0, want))
        bed_fail(b, "the client exited 0 without printing '%.*s'", (int)strlen(want) - 1, want);
}

/* A finished client restarted with the same arguments (and without failure
 * points) says done again; then the server stops cleanly on SIGTERM.
 * Removes the directory. */
static void bed_finish(bed *b)
{
    if (b->fiu) {
        b->fiu = false;
        reap(b);
        if (b->srv > 0)
            kill_server(b);
        start_server(b);
    }
    long off = file_size(b->cl_out);
    b->cl_done = false;
    start_client(b);
    wait_done(b, 20);
    if (!file_contains(b->cl_out, off, "done sent="))
        bed_fail(b, "a restart after the end did not say done again");
    int st;
    char why[64];
    cr_assert_gt(b->srv, 0);
    kill(b->srv, SIGTERM);
    waitpid(b->srv, &st, 0);
    b->srv = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        bed_fail(b, "the server ended with %s on SIGTERM, expected exit status 0",
                 status_text(st, why, sizeof why));
    fprintf(stderr, "echo kill test: passed in %.1f s: %d server kills, %d client kills, %d of both "
                    "at once; crash sites: %d in the server, %d in the client\n",
            (double)(now_ms() - b->t0) / 1000.0, b->srv_kills, b->cl_kills, b->both_kills,
            b->srv_crashes, b->cl_crashes);
    if (getenv("TCPSHM_ECHO_KILL_KEEP")) {
        fprintf(stderr, "echo kill test: the directory %s is kept (TCPSHM_ECHO_KILL_KEEP)\n", b->dir);
        return;
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(echo_kill, .timeout = 300);

/* Kills at random moments, the server, the client or both, each followed by
 * a restart, for as long as the client runs (at least 60 kills; at most
 * about 30 s of killing, then it must finish on its own); every echo must
 * arrive exactly once. */
Test(echo_kill, random_kills)
{
    bool vg = under_valgrind();
    bed *b = &B;
    bed_init(b, "server", vg ? 20000 : 1000000, false);
    int min_kills = vg ? 12 : 60;
    int64_t kill_until = now_ms() + (vg ? 20000 : 30000);
    while (b->srv_kills + b->cl_kills < min_kills || (!b->cl_done && now_ms() < kill_until))
        random_kill(b);
    wait_done(b, 60);
    if (b->cl_kills < min_kills / 4)
        fprintf(stderr, "echo kill test: note: the client finished early (only %d client kills "
                        "while it ran); a larger count would test more\n", b->cl_kills);
    bed_finish(b);
}

/* Waits until the client has logged a progress line after offset `from` of
 * its stderr (a tenth of the run more is verified and persisted), killing
 * at random meanwhile. */
static void kill_until_progress(bed *b, long from)
{
    int64_t deadline = now_ms() + 30000 * b->slow;
    for (;;) {
        uint32_t wait = rnd_in(b, 1, 60) * (uint32_t)b->slow;
        for (uint32_t t = 0; t < wait; t++) {
            if (file_contains(b->cl_err, from, "progress: verified"))
                return;
            msleep(1);
        }
        reap(b);
        if (b->cl_done)
            bed_fail(b, "the client finished before the rename; the count is too small");
        if (now_ms() > deadline)
            bed_fail(b, "the client verified less than a tenth of the run in %d s", 30 * b->slow);
        kill_now(b);
    }
}

/* The server comes back under a new name part way: a brand-new connection
 * (WIRE.md login step 5). The client must say it starts over from 0 with
 * some but not all echoes verified before, then complete the whole run. */
Test(echo_kill, server_renamed_part_way)
{
    bool vg = under_valgrind();
    bed *b = &B;
    bed_init(b, "alpha", vg ? 20000 : 100000, false);
    kill_until_progress(b, 0);
    reap(b);
    if (b->cl_done)
        bed_fail(b, "the client finished before the rename; the count is too small");
    /* the client dies too, half the time: it then finds the new name at its
     * next start */
    bool with_client = rnd_in(b, 0, 1) == 1;
    if (with_client)
        kill_client(b);
    kill_server(b);
    snprintf(b->srv_name, sizeof b->srv_name, "beta");
    msleep(rnd_in(b, 0, 30) * (uint32_t)b->slow);
    start_server(b);
    if (with_client && !b->cl_done)
        start_client(b);
    fprintf(stderr, "echo kill test: server renamed alpha -> beta%s\n",
            with_client ? " (client killed at the same time)" : "");
    int64_t kill_until = now_ms() + 20000;
    for (int k = 0; k < (vg ? 4 : 10) || (!b->cl_done && now_ms() < kill_until); k++)
        random_kill(b);
    wait_done(b, 60);

    static char out[1 << 16];
    read_file(b->cl_out, 0, out, sizeof out);
    const char *line = strstr(out, "server name changed from alpha to beta: new connection, starting over from 0");
    if (!line)
        bed_fail(b, "the client did not report the new server name and the restart from 0");
    unsigned long long had = 0, of = 0;
    const char *h = strstr(line, "(had verified ");
    if (!h || sscanf(h, "(had verified %llu of %llu)", &had, &of) != 2)
        bed_fail(b, "cannot read how much the client had verified: %.200s", line);
    if (of != b->count || had == 0 || had >= b->count)
        bed_fail(b, "the client had verified %llu of %llu before the rename; expected part of %" PRIu64,
                 had, of, b->count);
    /* A kill right after the line (before the new name is persisted) makes
     * the next start report the change again, with 0 verified; any such
     * line must name the same change. */
    for (const char *p = strstr(out, "server name changed"); p; p = strstr(p + 1, "server name changed"))
        if (strncmp(p, "server name changed from alpha to beta:", 39) != 0)
            bed_fail(b, "unexpected server name change: %.120s", p);
    fprintf(stderr, "echo kill test: the client had verified %llu of %llu when the server was renamed\n",
            had, of);
    bed_finish(b);
}

/* How many "crash site SITE" lines a log holds. */
static int count_lines(const char *path, const char *needle)
{
    static char buf[1 << 22];
    read_file(path, 0, buf, sizeof buf);
    int n = 0;
    for (const char *p = strstr(buf, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Both programs under fiu-run with every tcpshm/crash/ site on at a small
 * probability: they die (exit 86, as under SIGKILL) exactly where persisted
 * state is half-updated — between the server's push of an echo and its pop,
 * between the client's pop and its progress count, inside a login — and
 * start again; SIGKILLs at random moments come in between. */
Test(echo_kill, crash_sites)
{
    bool vg = under_valgrind();
    if (vg) /* fiu-run's preload library leaks a string at start: Valgrind noise */
        cr_skip_test("failure points are not combined with Valgrind");
    bed *b = &B;
    bed_init(b, "server", 300000, true);
    b->kill_pct = 30;
    int64_t kill_until = now_ms() + 30000 * b->slow;
    while (!b->cl_done && now_ms() < kill_until)
        random_kill(b);
    wait_done(b, 60);
    static const char *const sites[] = {"queue/push_before_publish", "queue/push_after_publish",
                                        "queue/pop_before_publish",  "queue/pop_after_publish",
                                        "queue/ack_before_publish",  "queue/ack_after_publish",
                                        "queue/compact_before_publish", "queue/compact_after_publish",
                                        "queue/reset_before_publish", "queue/reset_after_publish",
                                        "queue/create_before_rename", "login/server_after_reset",
                                        "login/server_after_rewind", "login/client_after_reset",
                                        "login/client_lastserver_before_rename"};
    char line[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
        char needle[96];
        snprintf(needle, sizeof needle, "crash site tcpshm/crash/%s:", sites[i]);
        int ns = count_lines(b->srv_log, needle), nc = count_lines(b->cl_err, needle);
        if (ns + nc)
            used += (size_t)snprintf(line + used, sizeof line - used, " %s=%d/%d", sites[i], ns, nc);
    }
    fprintf(stderr, "echo kill test: crash sites hit (server/client):%s\n", line);
    if (!vg && (b->srv_crashes < 10 || b->cl_crashes < 10))
        bed_fail(b, "only %d crash-site deaths of the server and %d of the client", b->srv_crashes,
                 b->cl_crashes);
    bed_finish(b);
}
