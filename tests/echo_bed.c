/* The echo test bed (see echo_bed.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_bed.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/env.h"

/* ---- small helpers ---- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t bed_rnd_in(bed *b, uint32_t lo, uint32_t hi) { return lo + (uint32_t)(rnd(&b->rng) % (hi - lo + 1)); }

int64_t bed_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bed_msleep(uint32_t ms)
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

/* At most cap-1 bytes of a file from offset `from`, NUL-terminated. */
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

long bed_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Does the file hold needle from offset `from` on (its last MiB at most)? */
static bool file_contains(const char *path, long from, const char *needle)
{
    static char buf[1 << 20];
    long size = bed_file_size(path);
    if (size - from > (long)sizeof buf - 1)
        from = size - (long)sizeof buf + 1;
    read_file(path, from, buf, sizeof buf);
    return strstr(buf, needle) != NULL;
}

static void dump_tail(const char *path, int lines)
{
    static char buf[1 << 16];
    long size = bed_file_size(path);
    read_file(path, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, buf, sizeof buf);
    const char *p = buf + strlen(buf);
    for (int n = 0; p > buf && n <= lines; p--)
        if (p[-1] == '\n')
            n++;
    fprintf(stderr, "---- last lines of %s\n%s", path, p);
}

void bed_client_stdout(const bed *b, char *buf, size_t cap) { read_file(b->cl_out, b->cl_out_from, buf, cap); }

void bed_last_login(const bed *b, long from, char *name, size_t cap)
{
    static char buf[1 << 22];
    name[0] = '\0';
    read_file(b->cl_err, from, buf, sizeof buf);
    const char *last = NULL;
    for (const char *p = strstr(buf, "logged in to server "); p; p = strstr(p + 1, "logged in to server "))
        last = p;
    if (last) {
        last += strlen("logged in to server ");
        size_t n = strcspn(last, ":\n");
        snprintf(name, cap, "%.*s", (int)n, last);
    }
}

static void kill_all(bed *b)
{
    pid_t pids[2] = {b->srv, b->cl};
    for (int i = 0; i < 2; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    b->srv = b->cl = 0;
}

void bed_fail(bed *b, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kill_all(b);
    fflush(stdout);
    fprintf(stderr, "kill_loop: FAILED after %.1f s and %d kills: %s\n",
            (double)(bed_now_ms() - b->t0) / 1000.0, b->kills, msg);
    dump_tail(b->cl_out, 10);
    dump_tail(b->cl_err, 30);
    dump_tail(b->srv_log, 30);
    char kills[300];
    snprintf(kills, sizeof kills, "%s/kills.log", b->dir);
    dump_tail(kills, 5);
    fprintf(stderr, "kill_loop: the directory %s is kept (and any SHM segment /dev/shm/tcpshm_*%s*; "
                    "tcpshm-inspect DIR/server DIR/client-* shows the queues)\n", b->dir, b->tag);
    fprintf(stderr, "kill_loop: replay (the same schedule; the exact moments depend on the machine):\n  %s\n",
            b->replay ? b->replay : "(unknown)");
    exit(1);
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

/* fork + exec with stdout and stderr appended to files; the child dies with us. */
static pid_t spawn(bed *b, char *const argv[], const char *out, const char *err)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        bed_fail(b, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (b->nfiu) {
            /* fiu-run preloads its library; an ASan build would refuse to
             * start unless its runtime came first */
            static char opts[1024];
            const char *old = getenv("ASAN_OPTIONS");
            snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", old ? old : "", old && old[0] ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
            /* and LeakSanitizer would report the string it strdup()s */
            old = getenv("LSAN_OPTIONS");
            snprintf(opts, sizeof opts, "%s%ssuppressions=%s/lsan.supp", old ? old : "", old && old[0] ? ":" : "",
                     b->dir);
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
    if (fd < 0)
        bed_fail(b, "socket: %s", strerror(errno));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint16_t port = 0;
    for (int i = 0; i < 200 && !port && lo > 11000; i++) {
        uint16_t p = (uint16_t)bed_rnd_in(b, 10000, lo - 1);
        sa.sin_port = htons(p);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            port = p;
    }
    if (!port) {
        sa.sin_port = 0;
        socklen_t len = sizeof sa;
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
            bed_fail(b, "cannot find a free port: %s", strerror(errno));
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

/* ---- the two programs ---- */

/* argv of a program, wrapped in fiu-run with the bed's failure points when
 * there are any. */
static void program_argv(bed *b, char **argv, size_t cap, char *const prog[])
{
    size_t n = 0;
    if (b->nfiu) {
        argv[n++] = "fiu-run";
        if (!b->fiu_no_x)
            argv[n++] = "-x";
        argv[n++] = "-f"; /* no control FIFOs under /tmp */
        argv[n++] = "";
        for (int i = 0; i < b->nfiu; i++) {
            argv[n++] = "-c";
            argv[n++] = (char *)b->fiu_cmds[i];
        }
    }
    for (size_t i = 0; prog[i] && n + 1 < cap; i++)
        argv[n++] = prog[i];
    argv[n] = NULL;
}

/* Starts the server and waits for its "listening" line. false if it exited
 * instead because the port is taken. */
static bool try_start_server(bed *b)
{
    long off = bed_file_size(b->srv_log);
    snprintf(b->port_s, sizeof b->port_s, "%u", b->port);
    char *prog[16] = {(char *)b->server_bin, "--listen", "127.0.0.1", "--port", b->port_s, "--name", b->srv_name,
                      "--dir", b->srv_dir};
    for (int i = 0, n = 9; b->shm && b->srv_shm_opt[i]; i++)
        prog[n++] = (char *)b->srv_shm_opt[i];
    char *argv[48];
    program_argv(b, argv, 48, prog);
    b->srv = spawn(b, argv, b->srv_log, b->srv_log);
    int64_t deadline = bed_now_ms() + 5000 * b->slow;
    while (bed_now_ms() < deadline) {
        if (file_contains(b->srv_log, off, "listening on"))
            return true;
        int st;
        if (waitpid(b->srv, &st, WNOHANG) == b->srv) {
            b->srv = 0;
            if (file_contains(b->srv_log, off, "cannot listen"))
                return false;
            if (b->nfiu && WIFEXITED(st) && WEXITSTATUS(st) == TCPSHM_CRASH_EXIT_CODE) {
                b->srv_crashes++; /* a crash site at start: try again */
                return try_start_server(b);
            }
            char why[64];
            bed_fail(b, "the server (%s) ended at start with %s", argv[0], status_text(st, why, sizeof why));
        }
        bed_msleep(1);
    }
    bed_fail(b, "the server did not start listening within %d s", 5 * b->slow);
}

/* Starts the server on the bed's port, retrying a while if the port is still held. */
static void start_server(bed *b)
{
    for (int i = 0; i < 100; i++) {
        if (try_start_server(b))
            return;
        bed_msleep(20);
    }
    bed_fail(b, "the server could not listen on port %u 100 times in a row", b->port);
}

static void start_client(bed *b)
{
    char *prog[20] = {(char *)b->client_bin, "--name", b->cl_name, "--port", b->port_s, "--dir", b->cl_dir,
                      "--count", b->count_s, "--seed", b->seed_s, "--max-size", b->max_size_s};
    if (b->shm)
        prog[13] = "--shm";
    char *argv[48];
    program_argv(b, argv, 48, prog);
    b->cl = spawn(b, argv, b->cl_out, b->cl_err);
}

static bool crash_site_exit(const bed *b, int st)
{
    return b->nfiu && WIFEXITED(st) && WEXITSTATUS(st) == TCPSHM_CRASH_EXIT_CODE;
}

/* The client ended by itself: it must have finished (exit 0) or, with
 * failure points on, died at a crash site. */
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

/* Notes programs that ended by themselves. */
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

/* SIGKILL; true if that is what ended it. */
static bool kill_server(bed *b)
{
    int st;
    if (b->srv <= 0)
        return false; /* not running (kill(0) would hit the whole process group) */
    kill(b->srv, SIGKILL);
    waitpid(b->srv, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        b->srv = 0;
        b->srv_kills++;
        return true;
    }
    server_exited(b, st);
    return false;
}

static bool kill_client(bed *b)
{
    int st;
    if (b->cl <= 0)
        return false;
    kill(b->cl, SIGKILL);
    waitpid(b->cl, &st, 0);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
        b->cl = 0;
        b->cl_kills++;
        return true;
    }
    client_exited(b, st); /* it finished, or hit a crash site, just before */
    return false;
}

/* ---- the bed ---- */

/* Every kill goes to DIR/kills.log, and to stdout when verbose. */
static void log_kill(bed *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_kill(bed *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (b->verbose)
        fputs(line, stdout);
    char path[300];
    snprintf(path, sizeof path, "%s/kills.log", b->dir);
    FILE *f = fopen(path, "a");
    if (f) {
        fputs(line, f);
        fclose(f);
    }
}

static void set_client(bed *b, const char *cl_name)
{
    snprintf(b->cl_name, sizeof b->cl_name, "%s", cl_name);
    snprintf(b->cl_dir, sizeof b->cl_dir, "%s/client-%s", b->dir, cl_name);
    b->cl_done = false;
    b->cl_out_from = bed_file_size(b->cl_out);
    b->cl_err_from = bed_file_size(b->cl_err);
}

void bed_start(bed *b, const char *srv_name, const char *cl_name)
{
    b->t0 = bed_now_ms();
    b->slow = under_valgrind() ? 5 : 1;
    if (!b->kill_pct)
        b->kill_pct = 100;
    snprintf(b->dir, sizeof b->dir, "/tmp/tcpshm-kill-loop-XXXXXX");
    if (!mkdtemp(b->dir)) {
        fprintf(stderr, "kill_loop: mkdtemp: %s\n", strerror(errno));
        exit(1);
    }
    snprintf(b->srv_dir, sizeof b->srv_dir, "%s/server", b->dir);
    snprintf(b->srv_log, sizeof b->srv_log, "%s/server.log", b->dir);
    snprintf(b->cl_out, sizeof b->cl_out, "%s/client.out", b->dir);
    snprintf(b->cl_err, sizeof b->cl_err, "%s/client.err", b->dir);
    snprintf(b->srv_name, sizeof b->srv_name, "%s", srv_name);
    snprintf(b->count_s, sizeof b->count_s, "%" PRIu64, b->count);
    snprintf(b->seed_s, sizeof b->seed_s, "%" PRIu64, rnd(&b->rng) % 1000000007u);
    snprintf(b->max_size_s, sizeof b->max_size_s, "%u", b->max_size);
    set_client(b, cl_name);
    if (b->nfiu) {
        char supp[320];
        snprintf(supp, sizeof supp, "%s/lsan.supp", b->dir);
        FILE *f = fopen(supp, "w");
        if (!f || fputs("leak:fiu_run_preload.so\n", f) < 0 || fclose(f) != 0)
            bed_fail(b, "cannot write %s", supp);
    }
    for (int i = 0;; i++) {
        b->port = pick_port(b);
        if (try_start_server(b))
            break;
        if (i == 20)
            bed_fail(b, "the server could not start on 20 different ports");
    }
    start_client(b);
}

bool bed_random_kill(bed *b)
{
    uint32_t wait = bed_rnd_in(b, 1, 60);
    bed_msleep(wait * (uint32_t)b->slow);
    reap(b);
    uint32_t r = bed_rnd_in(b, 0, 9);
    bool really = bed_rnd_in(b, 1, 100) <= b->kill_pct;
    bool srv = really && b->srv > 0 && (r < 4 || r >= 8 || b->cl_done);
    bool cl = really && b->cl > 0 && r >= 4;
    pid_t killed_srv_pid = srv ? b->srv : 0, killed_cl_pid = cl ? b->cl : 0;
    bool killed_cl = cl && kill_client(b);
    bool killed_srv = srv && kill_server(b);
    if (!killed_cl)
        killed_cl_pid = 0;
    if (!killed_srv)
        killed_srv_pid = 0;
    if (killed_cl && killed_srv)
        b->both_kills++;
    bool killed = killed_cl || killed_srv;
    if (killed) {
        b->kills++;
        char who[96];
        if (killed_cl && killed_srv)
            snprintf(who, sizeof who, "server and client (pids %d, %d)", (int)killed_srv_pid, (int)killed_cl_pid);
        else
            snprintf(who, sizeof who, "%s (pid %d)", killed_srv ? "server" : "client",
                     (int)(killed_srv ? killed_srv_pid : killed_cl_pid));
        log_kill(b, "kill %d at %.3f s (%u ms after the last): %s\n", b->kills,
                 (double)(bed_now_ms() - b->t0) / 1000.0, wait, who);
    }
    bed_msleep(bed_rnd_in(b, 0, 30) * (uint32_t)b->slow);
    reap(b);
    restart_dead(b);
    return killed;
}

void bed_rename_server(bed *b, const char *new_name, bool with_client)
{
    reap(b);
    bool killed_cl = with_client && kill_client(b);
    bool killed_srv = kill_server(b);
    if (killed_cl || killed_srv)
        b->kills++;
    if (killed_cl && killed_srv)
        b->both_kills++;
    log_kill(b, "kill %d at %.3f s: %s, the server restarts as %s (was %s)\n", b->kills,
             (double)(bed_now_ms() - b->t0) / 1000.0, killed_cl ? "server and client" : "server", new_name,
             b->srv_name);
    snprintf(b->srv_name, sizeof b->srv_name, "%s", new_name);
    bed_msleep(bed_rnd_in(b, 0, 30) * (uint32_t)b->slow);
    reap(b);
    restart_dead(b);
}

void bed_wait_login(bed *b, int seconds)
{
    int64_t deadline = bed_now_ms() + (int64_t)seconds * 1000 * b->slow;
    for (;;) {
        reap(b);
        if (b->cl_done)
            return;
        char last[32];
        bed_last_login(b, b->cl_err_from, last, sizeof last);
        if (strcmp(last, b->srv_name) == 0)
            return;
        restart_dead(b);
        if (bed_now_ms() > deadline)
            bed_fail(b, "the client %s did not log in to %s within %d s", b->cl_name, b->srv_name,
                     seconds * b->slow);
        bed_msleep(2);
    }
}

void bed_new_client(bed *b, const char *cl_name)
{
    reap(b);
    if (b->cl > 0)
        bed_fail(b, "a new client was asked for while %s still runs", b->cl_name);
    set_client(b, cl_name);
    start_client(b);
}

void bed_wait_done(bed *b, int seconds)
{
    int64_t deadline = bed_now_ms() + (int64_t)seconds * 1000 * b->slow;
    for (;;) {
        reap(b);
        if (b->cl_done)
            break;
        restart_dead(b);
        if (bed_now_ms() > deadline)
            bed_fail(b, "the client %s did not finish within %d s after the last kill", b->cl_name,
                     seconds * b->slow);
        bed_msleep(5);
    }
    char want[96];
    snprintf(want, sizeof want, "done sent=%" PRIu64 " received=%" PRIu64 "\n", b->count, b->count);
    if (!file_contains(b->cl_out, b->cl_out_from, want))
        bed_fail(b, "the client %s exited 0 without printing '%.*s'", b->cl_name, (int)strlen(want) - 1, want);
}

/* The SHM segments of this run's clients (/dev/shm/tcpshm_*<tag>*). */
static void remove_segments(const bed *b)
{
    if (!b->tag[0])
        return;
    DIR *d = opendir("/dev/shm");
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, "tcpshm_", 7) != 0 || !strstr(e->d_name, b->tag))
            continue;
        char name[300];
        snprintf(name, sizeof name, "/%s", e->d_name);
        shm_unlink(name);
    }
    if (d)
        closedir(d);
}

void bed_finish(bed *b)
{
    if (b->nfiu) { /* the last checks without failure points */
        b->nfiu = 0;
        reap(b);
        if (b->srv > 0)
            kill_server(b);
        start_server(b);
    }
    long off = bed_file_size(b->cl_out);
    b->cl_done = false;
    start_client(b);
    bed_wait_done(b, 20);
    if (!file_contains(b->cl_out, off, "done sent="))
        bed_fail(b, "a restart after the end did not say done again");
    int st;
    char why[64];
    if (b->srv <= 0)
        bed_fail(b, "the server is not running at the end");
    kill(b->srv, SIGTERM);
    waitpid(b->srv, &st, 0);
    b->srv = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        bed_fail(b, "the server ended with %s on SIGTERM, expected exit status 0", status_text(st, why, sizeof why));
    if (b->keep) {
        printf("kill_loop: the directory %s is kept\n", b->dir);
        return;
    }
    remove_segments(b);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "kill_loop: could not remove %s\n", b->dir);
}
