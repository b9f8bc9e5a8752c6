/* echo_client: sends N messages to an echo_server and checks that every echo
 * comes back exactly once, in order and intact, across kills and restarts of
 * either side.
 *
 * Message k (k = 0 .. N-1) is message k of the client's stream: type 1000,
 * body = k as 8 little-endian bytes, then bytes derived from (seed, k), the
 * body size also derived from (seed, k). Whatever a restarted client pushes
 * is therefore identical to what the killed one would have pushed. The
 * client pushes k = seq_end while seq_end < N and at most WINDOW messages
 * are unechoed (so the server's queue and both receive buffers never fill:
 * echoes carry the acknowledgements back in band).
 *
 * Echo j is the next one expected when my_ack == j: it is verified, popped,
 * and the count of verified echoes stored in <dir>/echo_progress (a small
 * mapped file that also records N, seed, max-size and the server name the
 * progress belongs to). A restarted client resumes from there. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "tcpshm/client.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/names.h"

#define ECHO_MSG_TYPE 1000u
#define WINDOW_MSGS 64u              /* unechoed messages at most */
#define WINDOW_BYTES (256u * 1024u)  /* and unechoed bytes at most (padded) */
#define BACKOFF_MIN_NS (5 * 1000000LL)
#define BACKOFF_MAX_NS (100 * 1000000LL)
#define DEFAULT_TIMEOUT_S 60u        /* --timeout: seconds without a login or a verified echo */

/* ---- logging ---- */

static void stamp(FILE *f)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(f, "%s.%06ld ", s, ts.tv_nsec / 1000);
}

/* Event lines go to stderr with the time; the final verdict to stdout. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    stamp(stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the message pattern ---- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Body size of message k: in [8, max_size - 8]. */
static uint16_t body_size_of(uint64_t seed, uint64_t k, uint32_t max_size)
{
    uint64_t x = seed ^ (k * 0xd1b54a32d192ed03ull) ^ 0x5bd1e995u;
    uint32_t span = max_size - 16u + 1u;
    return (uint16_t)(8u + splitmix(&x) % span);
}

/* Fills body (size bytes): k little-endian, then the stream of (seed, k). */
static void fill_body(uint8_t *b, uint16_t size, uint64_t seed, uint64_t k)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(k >> (8 * i));
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + k;
    for (uint32_t i = 8; i < size; i += 8) {
        uint64_t r = splitmix(&x);
        for (uint32_t j = 0; j < 8 && i + j < size; j++)
            b[i + j] = (uint8_t)(r >> (8 * j));
    }
}

/* ---- the progress file ---- */

#define PROGRESS_MAGIC "TSECHOP1"
#define PROGRESS_VERSION 1u

typedef struct progress {
    char magic[8];
    uint32_t version;
    uint32_t max_size;
    uint64_t count;
    uint64_t seed;
    char server[64];   /* server name the progress belongs to, "" before the first login */
    uint64_t verified; /* echoes verified and popped (== my_ack but for one pop in flight) */
} progress;

/* Maps <dir>/echo_progress, creating it (atomically: temporary file, then
 * rename) with these parameters if it does not exist. Exits on error: 1 for
 * a file problem, 2 for parameters that differ from the recorded ones. */
static progress *open_progress(const char *prog, const char *dir, uint64_t count, uint64_t seed,
                               uint32_t max_size)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/echo_progress", dir);
    int fd = open(path, O_RDWR);
    if (fd < 0 && errno == ENOENT) {
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        progress init;
        memset(&init, 0, sizeof init);
        memcpy(init.magic, PROGRESS_MAGIC, 8);
        init.version = PROGRESS_VERSION;
        init.max_size = max_size;
        init.count = count;
        init.seed = seed;
        int t = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (t < 0 || write(t, &init, sizeof init) != (ssize_t)sizeof init || close(t) != 0 ||
            rename(tmp, path) != 0) {
            fprintf(stderr, "%s: cannot create %s: %s\n", prog, CLI_ESC(path), strerror(errno));
            exit(1);
        }
        fd = open(path, O_RDWR);
    }
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", prog, CLI_ESC(path), strerror(errno));
        exit(1);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof(progress)) {
        fprintf(stderr, "%s: %s is not an echo_client progress file (size %lld, expected %zu)\n",
                prog, CLI_ESC(path), (long long)st.st_size, sizeof(progress));
        exit(1);
    }
    progress *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "%s: cannot map %s: %s\n", prog, CLI_ESC(path), strerror(errno));
        exit(1);
    }
    if (memcmp(p->magic, PROGRESS_MAGIC, 8) != 0 || p->version != PROGRESS_VERSION ||
        memchr(p->server, '\0', sizeof p->server) == NULL) {
        fprintf(stderr, "%s: %s is not an echo_client progress file (bad magic or version)\n", prog,
                CLI_ESC(path));
        exit(1);
    }
    if (p->count != count || p->seed != seed || p->max_size != max_size) {
        fprintf(stderr,
                "%s: %s belongs to a run with --count %llu --seed %llu --max-size %u; this one has "
                "--count %llu --seed %llu --max-size %u.\n"
                "Restart with the same arguments to resume, or use another --dir (or remove %s) "
                "to start a new run.\n",
                prog, CLI_ESC(path), (unsigned long long)p->count, (unsigned long long)p->seed, p->max_size,
                (unsigned long long)count, (unsigned long long)seed, max_size, CLI_ESC(dir));
        exit(2);
    }
    if (p->verified > count) {
        fprintf(stderr, "%s: %s says %llu echoes verified, more than --count %llu\n", prog, CLI_ESC(path),
                (unsigned long long)p->verified, (unsigned long long)count);
        exit(1);
    }
    return p;
}

/* One 8-byte store: a kill leaves the old or the new count. */
static void store_verified(progress *p, uint64_t v) { __atomic_store_n(&p->verified, v, __ATOMIC_RELEASE); }

/* ---- the client ---- */

typedef struct app {
    const char *prog;
    uint64_t count, seed;
    uint32_t max_size;
    progress *pf;
    bool ready;      /* logged in and the progress agrees with the connection */
    int fail;        /* exit code once something went wrong (1), else 0 */
    bool was_up;     /* the last login succeeded and the link has not closed yet */
    uint64_t activity;
    uint64_t logins, disconnects;
} app;

/* In the fault build, an enabled tcpshm/crash/ point (e.g. under fiu-run)
 * ends the process as SIGKILL would; say which one first. */
static void on_crash_site(const char *site, void *user)
{
    (void)user;
    logf_("crash site %s: exiting with status %d as if killed", CLI_ESC(site), TCPSHM_CRASH_EXIT_CODE);
}

static void cb_system_error(void *user, const char *reason, int e)
{
    (void)user;
    logf_("login failed: %s%s%s", CLI_ESC(reason), e ? ": " : "", e ? strerror(e) : "");
}

static void cb_login_reject(void *user, const tcpshm_login_rsp *rsp)
{
    (void)user;
    /* both strings are the peer's bytes as it sent them */
    logf_("login rejected by server %s: %s", CLI_ESC(rsp->server_name), CLI_ESC(rsp->error_msg));
}

static void cb_mismatch(void *user, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    app *a = user;
    (void)c;
    /* Both sides only ever acknowledge what the other persisted, so a
     * mismatch means persisted state was lost or replaced: retrying cannot
     * help. */
    fprintf(stderr,
            "%s: sequence mismatch at login: client seq_start %u seq_end %u ack %u, server "
            "seq_start %u seq_end %u ack %u; the persisted state of client and server does not "
            "belong together\n",
            a->prog, m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start,
            m->remote_seq_end, m->remote_ack);
    a->fail = 1;
}

static void cb_login_success(void *user, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    app *a = user;
    progress *p = a->pf;
    a->logins++;
    a->was_up = true;
    if (strcmp(p->server, rsp->server_name) != 0) {
        if (p->server[0] == '\0') {
            logf_("first login to server %s", CLI_ESC(rsp->server_name));
        } else {
            /* docs/protocol.md login step 5: a server under a new name makes a brand-new
             * connection; both sides dropped what was queued. What was
             * verified belongs to the old connection. */
            printf("server name changed from %s to %s: new connection, starting over from 0 "
                   "(had verified %llu of %llu)\n",
                   CLI_ESC(p->server), CLI_ESC(rsp->server_name), (unsigned long long)p->verified,
                   (unsigned long long)a->count);
            fflush(stdout);
            logf_("server name changed from %s to %s: new connection, starting over from 0 "
                  "(had verified %llu of %llu)",
                  CLI_ESC(p->server), CLI_ESC(rsp->server_name), (unsigned long long)p->verified,
                  (unsigned long long)a->count);
        }
        /* The count first: a kill in between leaves 0 with the old name,
         * and the next login starts over again. */
        store_verified(p, 0);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        memset(p->server, 0, sizeof p->server);
        memcpy(p->server, rsp->server_name, strnlen(rsp->server_name, sizeof p->server - 1));
    }
    uint32_t ack = tcpshm_conn_my_ack(c), end = tcpshm_conn_seq_end(c), start = tcpshm_conn_seq_start(c);
    uint64_t v = p->verified;
    if (ack == v + 1) {
        /* killed after popping echo v, before counting it: it was verified */
        store_verified(p, ack);
        v = ack;
    }
    if (ack != v || end > a->count || ack > end) {
        fprintf(stderr,
                "%s: the progress file says %llu echoes verified, but the connection to %s has "
                "popped %u echoes and queued messages [%u, %u) of %llu: the state in the client "
                "directory does not belong together\n",
                a->prog, (unsigned long long)p->verified, CLI_ESC(rsp->server_name), ack, start, end,
                (unsigned long long)a->count);
        a->fail = 1;
        tcpshm_conn_close(c);
        return;
    }
    logf_("logged in to server %s: sent %u, verified %llu of %llu, resending from %u", CLI_ESC(rsp->server_name),
          end, (unsigned long long)v, (unsigned long long)a->count, start);
    a->ready = true;
}

static void cb_disconnect(void *user, tcpshm_conn *c, const char *reason, int e)
{
    app *a = user;
    a->disconnects++;
    logf_("disconnected: %s%s%s (sent %u, verified %llu)", CLI_ESC(reason), e ? ": " : "", e ? strerror(e) : "",
          tcpshm_conn_seq_end(c), (unsigned long long)a->pf->verified);
}

static void describe(char *out, size_t n, uint64_t k, uint16_t type, uint32_t size)
{
    snprintf(out, n, "echo %llu (type %u, %u bytes)", (unsigned long long)k, type, size);
}

static void cb_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    app *a = user;
    if (a->fail || !a->ready)
        return; /* not popped: it stays */
    a->activity++;
    uint64_t j = tcpshm_conn_my_ack(c);
    uint16_t want_body = body_size_of(a->seed, j, a->max_size);
    char want[96], got[96];
    describe(want, sizeof want, j, ECHO_MSG_TYPE, want_body + 8u);
    const uint8_t *b = (const uint8_t *)(m + 1);
    uint32_t body = m->size - 8u;
    uint64_t k = 0;
    if (body >= 8)
        for (int i = 0; i < 8; i++)
            k |= (uint64_t)b[i] << (8 * i);
    if (body >= 8)
        describe(got, sizeof got, k, m->msg_type, m->size);
    else
        snprintf(got, sizeof got, "a message of type %u with %u bytes (too short)", m->msg_type, m->size);
    if (j >= a->count) {
        fprintf(stderr, "%s: unexpected echo: all %llu echoes were verified, then came %s\n",
                a->prog, (unsigned long long)a->count, got);
        a->fail = 1;
        return;
    }
    if (body < 8 || m->msg_type != ECHO_MSG_TYPE || k != j || body != want_body) {
        const char *what = body >= 8 && k > j   ? "gap"
                           : body >= 8 && k < j ? "duplicate"
                                                : "corrupted echo";
        fprintf(stderr, "%s: %s: expected %s, got %s\n", a->prog, what, want, got);
        a->fail = 1;
        return;
    }
    uint8_t expect[4096];
    fill_body(expect, want_body, a->seed, j);
    if (memcmp(expect, b, want_body) != 0) {
        uint32_t i = 0;
        while (expect[i] == b[i])
            i++;
        fprintf(stderr, "%s: corrupted echo: expected %s, got %s whose body byte %u is 0x%02x, "
                        "expected 0x%02x\n",
                a->prog, want, got, i, b[i], expect[i]);
        a->fail = 1;
        return;
    }
    tcpshm_conn_pop(c);
    uint64_t v = tcpshm_conn_my_ack(c);
    store_verified(a->pf, v);
    uint64_t step = a->count >= 10 ? a->count / 10 : 1;
    if (v % step == 0 && v < a->count)
        logf_("progress: verified %llu of %llu", (unsigned long long)v, (unsigned long long)a->count);
}

/* Pushes the next messages while the window allows. */
static void push_more(app *a, tcpshm_conn *c)
{
    for (;;) {
        uint32_t end = tcpshm_conn_seq_end(c), ack = tcpshm_conn_my_ack(c);
        if (end >= a->count || end - ack >= WINDOW_MSGS)
            return;
        /* bytes in flight, by the sizes the pattern gives */
        uint64_t bytes = 0;
        for (uint32_t k = ack; k < end; k++)
            bytes += (body_size_of(a->seed, k, a->max_size) + 8u + 7u) & ~7u;
        uint16_t size = body_size_of(a->seed, end, a->max_size);
        if (bytes + size + 8u > WINDOW_BYTES)
            return;
        tcpshm_msg_header *m = tcpshm_conn_alloc(c, size);
        if (!m)
            return; /* queue full until the server acknowledges */
        m->msg_type = ECHO_MSG_TYPE;
        fill_body((uint8_t *)(m + 1), size, a->seed, end);
        if (tcpshm_conn_push_more(c) != 0)
            return;
        a->activity++;
    }
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s --name NAME [--server ADDR] [--port N] [--dir DIR] [--shm]\n"
            "          [--count N] [--max-size B] [--seed S] [--timeout S]\n"
            "\n"
            "Sends N messages to an echo_server and checks that each echo comes back exactly\n"
            "once, in order and byte for byte. Message k carries k and bytes derived from\n"
            "(seed, k). Progress is persisted in DIR/echo_progress: restarted with the same\n"
            "arguments after a kill, it resumes where it was. It reconnects by itself after a\n"
            "disconnect or a failed login, until --timeout seconds pass without progress (no\n"
            "login and no verified echo): then it says so and exits 1. If the server comes\n"
            "back under a new name, the connection is brand new (old messages are dropped)\n"
            "and the client starts over from message 0, saying so on stdout.\n"
            "Events go to stderr; at the end it prints 'done sent=N received=N' on stdout.\n"
            "\n"
            "  --name NAME      client name (required)\n"
            "  --server ADDR    numeric IPv4 or IPv6 address of the server (default 127.0.0.1)\n"
            "  --port N         server port, 1-65535 (default 12345)\n"
            "  --dir DIR        directory of the persistent state (default ./client-NAME)\n"
            "  --shm            the data goes through shared memory (the server must be on\n"
            "                   this host); TCP carries the login and heartbeats only\n"
            "  --count N        messages to send, 1-4294967295 (default 1000)\n"
            "  --max-size B     largest message in bytes, header included, 16-4096 (default 1024)\n"
            "  --seed S         seed of the message sizes and contents (default 1)\n"
            "  --timeout S      give up (exit 1) after S seconds without a login or a verified\n"
            "                   echo: server unreachable, refusing or stalled; 0 never gives\n"
            "                   up (default %u)\n"
            "  -h, --help       this text\n"
            "  --version        the program's version\n"
            "\n"
            "Exit status: 0 every echo verified; 1 a wrong, missing or duplicate echo, a\n"
            "state or file error, or no progress within --timeout; 2 usage error (also: DIR holds a run with other arguments);\n"
            "86 a crash site enabled with fiu-run fired (as if killed; restart it to resume).\n",
            prog, DEFAULT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
    const char *name = NULL, *server = "127.0.0.1", *dir_opt = NULL;
    uint64_t port = 12345, count = 1000, max_size = 1024, seed = 1, timeout_s = DEFAULT_TIMEOUT_S;
    bool shm = false;
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"server", required_argument, 0, 'a'},
                                         {"port", required_argument, 0, 'p'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"shm", no_argument, 0, 'S'},
                                         {"count", required_argument, 0, 'c'},
                                         {"max-size", required_argument, 0, 'm'},
                                         {"seed", required_argument, 0, 's'},
                                         {"timeout", required_argument, 0, 't'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'a': server = optarg; break;
        case 'd': dir_opt = optarg; break;
        case 'S': shm = true; break;
        case 'p':
            if (cli_u64(argv[0], "port", optarg, 1, 65535, &port))
                return 2;
            break;
        case 'c':
            if (cli_u64(argv[0], "count", optarg, 1, UINT32_MAX, &count))
                return 2;
            break;
        case 'm':
            /* bytes, header included; at most the max_msg_size 4096 */
            if (cli_u64(argv[0], "max-size", optarg, 16, 4096, &max_size))
                return 2;
            break;
        case 's':
            if (cli_u64(argv[0], "seed", optarg, 0, UINT64_MAX, &seed))
                return 2;
            break;
        case 't':
            if (cli_u64(argv[0], "timeout", optarg, 0, 1000000000, &timeout_s))
                return 2;
            break;
        default: return cli_std_option(c, argv[0], usage);
        }
    }
    if (cli_no_operands(argv[0], argc, argv, optind))
        return 2;
    if (!name) {
        return cli_usage_error(argv[0], "--name is required");
    }
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.shm_queue_size = 8u << 20; /* as echo_server's: both sides must agree */
    tcpshm_error err = {0};
    if (tcpshm_name_check(name, cfg.name_size, "client name", &err) != 0) {
        return cli_usage_error(argv[0], "--name '%s': %s", CLI_ESC(name), CLI_ESC(err.text));
    }
    char dir[4096];
    if (dir_opt)
        snprintf(dir, sizeof dir, "%s", dir_opt);
    else
        snprintf(dir, sizeof dir, "./client-%s", name);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create directory %s: %s\n", argv[0], CLI_ESC(dir), strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    tcpshm_set_crash_hook(on_crash_site, NULL);

    app a = {.prog = argv[0], .count = count, .seed = seed, .max_size = (uint32_t)max_size};
    tcpshm_client_callbacks cb = {
        .user = &a, .on_system_error = cb_system_error, .on_login_reject = cb_login_reject,
        .on_seq_mismatch = cb_mismatch, .on_login_success = cb_login_success,
        .on_disconnect = cb_disconnect, .on_msg = cb_msg};
    tcpshm_client *cl;
    if (tcpshm_client_create(&cl, &cfg, NULL, name, dir, &cb, &err) != 0) {
        /* e.g. another echo_client of this name and --dir runs: it holds
         * <dir>/<name>.lock, and nothing here has been touched */
        fprintf(stderr, "%s: %s\n", argv[0], CLI_ESC(err.text));
        return 1;
    }
    /* after create: the client's lock covers the progress file too */
    a.pf = open_progress(argv[0], dir, count, seed, (uint32_t)max_size);
    logf_("echo_client %s: %llu messages up to %llu bytes, seed %llu, server %s port %llu, dir %s, %s",
          CLI_ESC(name), (unsigned long long)count, (unsigned long long)max_size, (unsigned long long)seed,
          CLI_ESC(server), (unsigned long long)port, CLI_ESC(dir), shm ? "shared memory" : "TCP");

    int64_t backoff = BACKOFF_MIN_NS, next_attempt = 0;
    uint32_t idle_rounds = 0;
    /* --timeout: progress is a login or a verified echo */
    int64_t last_progress = mono_ns();
    uint64_t seen_logins = 0, seen_verified = a.pf->verified;
    while (!a.fail) {
        int64_t now = mono_ns();
        a.activity = 0;
        if (a.logins != seen_logins || a.pf->verified != seen_verified) {
            seen_logins = a.logins;
            seen_verified = a.pf->verified;
            last_progress = now;
        } else if (timeout_s && now - last_progress > (int64_t)timeout_s * 1000000000LL) {
            fprintf(stderr, "%s: giving up: %llu s without %s (--timeout %llu; verified %llu of %llu)\n",
                    argv[0], (unsigned long long)timeout_s,
                    tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN ? "a verified echo" : "a login",
                    (unsigned long long)timeout_s, (unsigned long long)a.pf->verified,
                    (unsigned long long)count);
            a.fail = 1;
            break;
        }
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_IDLE) {
            if (now < next_attempt) {
                struct timespec pause = {0, 1000 * 1000};
                nanosleep(&pause, NULL);
                continue;
            }
            a.ready = false;
            if (tcpshm_client_login(cl, server, (uint16_t)port, shm, NULL, now, &err) != 0) {
                logf_("login failed: %s%s%s", CLI_ESC(err.text), err.sys_errno ? ": " : "",
                      err.sys_errno ? strerror(err.sys_errno) : "");
                if (err.code != TCPSHM_E_SYSTEM) {
                    /* a corrupt or foreign file in the client directory */
                    fprintf(stderr, "%s: %s\n", argv[0], CLI_ESC(err.text));
                    a.fail = 1;
                    break;
                }
            }
        } else {
            tcpshm_client_poll_tcp(cl, now);
            tcpshm_client_poll_shm(cl); /* SHM: the echoes; nothing over TCP */
        }
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_IDLE) {
            /* the attempt failed or the link closed: try again soon */
            backoff = a.was_up ? BACKOFF_MIN_NS : (backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2);
            a.was_up = false;
            a.ready = false;
            next_attempt = now + backoff;
            continue;
        }
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN && a.ready) {
            backoff = BACKOFF_MIN_NS;
            if (a.pf->verified == count)
                break;
            push_more(&a, tcpshm_client_conn(cl));
        }
        if (a.activity) {
            idle_rounds = 0;
        } else if (++idle_rounds > 2000) {
            struct timespec pause = {0, 100 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (a.fail) {
        tcpshm_client_destroy(cl);
        return a.fail;
    }
    tcpshm_conn *c = tcpshm_client_conn(cl);
    printf("done sent=%u received=%llu\n", tcpshm_conn_seq_end(c), (unsigned long long)a.pf->verified);
    fflush(stdout);
    logf_("done after %llu logins and %llu disconnects in this process", (unsigned long long)a.logins,
          (unsigned long long)a.disconnects);
    tcpshm_client_destroy(cl);
    return 0;
}
