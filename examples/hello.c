/* hello: the smallest complete tcpshm program, both ends in one file.
 *
 *   hello server --port P --dir D            echoes every message back to its sender
 *   hello client --port P --dir D [--shm]    sends N greetings, checks every echo, exits 0
 *
 * It uses only the application headers (tcpshm/server.h, client.h and what
 * they include) and the release library. The library reads no clock: every
 * poll takes the caller's `now`, here CLOCK_MONOTONIC in nanoseconds, the
 * unit of the default config's timeouts. Both loops are the recommended one:
 * the data poll every round, the control plane (the server's accept and
 * logins, the SHM client's heartbeats) every 64th round. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "escape.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

#define GREETING_TYPE 100u /* msg_type of a greeting and of its echo (0-2 are the protocol's) */
#define IN_FLIGHT 32u      /* greetings sent and not yet echoed, at most */
#define GREETING_MAX 64u

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* After many rounds with nothing to do, sleep 50 us per round so an idle
 * program does not hold a core; while messages flow it only spins. */
static void nap_if_idle(uint32_t *idle_rounds, bool busy)
{
    if (busy) {
        *idle_rounds = 0;
    } else if (++*idle_rounds > 10000) {
        struct timespec pause = {0, 50 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* Prints a failed call's reason (and errno) to stderr; returns exit status 1. */
static int report(const char *who, const tcpshm_error *err)
{
    fprintf(stderr, "%s: %s%s%s\n", who, err->text, err->sys_errno ? ": " : "",
            err->sys_errno ? strerror(err->sys_errno) : "");
    return 1;
}

/* Greeting k is the k-th message of the client's stream (k = seq_end when
 * it is pushed), so its text is known again when its echo comes back. */
static uint16_t greeting_text(uint32_t k, char *out)
{
    return (uint16_t)snprintf(out, GREETING_MAX, "hello, tcpshm #%u", k);
}

/* ---------------------------------------------------------------- server */

static volatile sig_atomic_t g_stop;
static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct server_app {
    uint64_t handled; /* messages handled, for the idle nap */
} server_app;

/* quoted in README.md (ctest readme_excerpts checks it): the echo */
static void server_on_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg)
{
    ((server_app *)user)->handled++;
    /* Push the echo, then pop the greeting. Killed in between, the greeting
     * comes again with its echo already queued (seq_end > my_ack): only pop. */
    if (tcpshm_conn_seq_end(conn) == tcpshm_conn_my_ack(conn)) {
        uint16_t body = (uint16_t)(msg->size - TCPSHM_HEADER_SIZE);
        tcpshm_msg_header *echo = tcpshm_conn_alloc(conn, body);
        if (!echo)
            return; /* our queue is full: not popped, so it comes again */
        echo->msg_type = msg->msg_type;
        memcpy(echo + 1, msg + 1, body);
        if (tcpshm_conn_push(conn) != 0) /* persisted when this returns */
            return;
    }
    tcpshm_conn_pop(conn); /* consumed: one persisted store */
}
/* end of excerpt */

static void server_on_logon(void *user, tcpshm_conn *conn, uint32_t grp)
{
    (void)user;
    (void)grp;
    printf("hello server: %s logged in\n", tcpshm_conn_remote_name(conn));
    fflush(stdout);
}

static void server_on_disconnect(void *user, tcpshm_conn *conn, const char *reason, int sys_errno)
{
    (void)user;
    printf("hello server: %s disconnected: %s%s%s\n", tcpshm_conn_remote_name(conn), reason,
           sys_errno ? ": " : "", sys_errno ? strerror(sys_errno) : "");
    fflush(stdout);
}

static void server_on_login_rejected(void *user, const char *client, const char *reason)
{
    (void)user;
    printf("hello server: login of '%s' refused: %s\n", client, reason);
    fflush(stdout);
}

static void server_on_system_error(void *user, const char *what, int sys_errno)
{
    (void)user;
    fprintf(stderr, "hello server: %s: %s\n", what, strerror(sys_errno));
}

static void server_on_file_error(void *user, const char *client, const tcpshm_error *err)
{
    (void)user;
    fprintf(stderr, "hello server: the queue of client '%s' cannot be opened: %s\n", client, err->text);
}

static int run_server(uint16_t port, const char *dir, int64_t timeout_ns)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg); /* tcpshm-compatible; one TCP and one SHM group */
    tcpshm_error err = {0};
    server_app app = {0};
    /* quoted in README.md (ctest readme_excerpts checks it): server set-up */
    tcpshm_server_callbacks cb = {.user = &app, .on_msg = server_on_msg, .on_logon = server_on_logon,
                                  .on_disconnect = server_on_disconnect,
                                  .on_login_rejected = server_on_login_rejected,
                                  .on_system_error = server_on_system_error,
                                  .on_client_file_error = server_on_file_error};
    /* no on_new_connection: every client goes to group 0 (TCP or SHM) */
    tcpshm_server *srv;
    if (tcpshm_server_create(&srv, &cfg, NULL, "hello-server", dir, &cb, &err) != 0)
        return report("hello server", &err);
    if (tcpshm_server_start(srv, "127.0.0.1", port, &err) != 0) { /* port 0: any free port */
        tcpshm_server_destroy(srv);
        return report("hello server", &err);
    }
    /* end of excerpt */
    printf("hello server: listening on 127.0.0.1 port %u, queues in %s\n", tcpshm_server_port(srv), dir);
    fflush(stdout);

    int64_t deadline = now_ns() + timeout_ns;
    uint32_t idle_rounds = 0;
    /* quoted in README.md (ctest readme_excerpts checks it): the server loop */
    for (uint32_t round = 0; !g_stop; round++) {
        int64_t now = now_ns();
        uint64_t before = app.handled;
        if (round % 64 == 0)
            tcpshm_server_poll_ctl(srv, now); /* accept, logins; SHM heartbeats */
        tcpshm_server_poll_tcp(srv, now, 0);  /* TCP clients: heartbeats, messages */
        tcpshm_server_poll_shm(srv, now, 0);  /* SHM clients: messages */
        nap_if_idle(&idle_rounds, app.handled != before);
        if (timeout_ns > 0 && now > deadline)
            break;
    }
    /* end of excerpt */
    printf("hello server: stopping (%s), %llu messages echoed or re-popped\n",
           g_stop ? "signal" : "--timeout", (unsigned long long)app.handled);
    tcpshm_server_destroy(srv);
    return 0;
}

/* ---------------------------------------------------------------- client */

typedef struct client_app {
    bool logged_in, failed;
    uint32_t verified; /* echoes checked in this run */
} client_app;

/* Echo k arrives while my_ack == k (my_ack counts the echoes popped). */
static void client_on_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg)
{
    client_app *app = user;
    uint32_t k = tcpshm_conn_my_ack(conn);
    char want[GREETING_MAX];
    uint16_t len = greeting_text(k, want);
    if (msg->msg_type != GREETING_TYPE || msg->size != TCPSHM_HEADER_SIZE + len ||
        memcmp(msg + 1, want, len) != 0) {
        fprintf(stderr, "hello client: echo %u is wrong: type %u, %u bytes, want \"%s\"\n", k,
                msg->msg_type, msg->size, want);
        app->failed = true;
        return;
    }
    tcpshm_conn_pop(conn);
    app->verified++;
}

static void client_on_login_success(void *user, tcpshm_conn *conn, const tcpshm_login_rsp *rsp)
{
    (void)conn;
    (void)rsp;
    ((client_app *)user)->logged_in = true;
}

static void client_on_disconnect(void *user, tcpshm_conn *conn, const char *reason, int sys_errno)
{
    client_app *app = user;
    (void)conn;
    if (app->logged_in) /* before that, tcpshm_client_connect reports the failure */
        fprintf(stderr, "hello client: the server went away: %s%s%s\n", reason, sys_errno ? ": " : "",
                sys_errno ? strerror(sys_errno) : "");
    app->logged_in = false;
}

static void client_on_login_reject(void *user, const tcpshm_login_rsp *rsp)
{
    (void)user;
    fprintf(stderr, "hello client: the server refused the login: %s\n", rsp->error_msg);
}

/* Pushes greetings while fewer than IN_FLIGHT wait for their echo. */
static void push_greetings(tcpshm_conn *conn, uint32_t last)
{
    for (;;) {
        uint32_t k = tcpshm_conn_seq_end(conn);
        if (k == last || k - tcpshm_conn_my_ack(conn) >= IN_FLIGHT)
            return;
        char text[GREETING_MAX];
        uint16_t len = greeting_text(k, text);
        /* quoted in README.md (ctest readme_excerpts checks it): sending */
        tcpshm_msg_header *m = tcpshm_conn_alloc(conn, len); /* NULL: queue full, retry later */
        if (!m)
            return;
        m->msg_type = GREETING_TYPE;
        memcpy(m + 1, text, len);
        tcpshm_conn_push(conn); /* persisted (and sent if the link takes it) when this returns */
        /* end of excerpt */
    }
}

static int64_t clock_for_connect(void *unused)
{
    (void)unused;
    return now_ns();
}

/* Logs in, retrying while the server is not listening yet (connection refused). */
static int log_in(tcpshm_client *cl, uint16_t port, bool use_shm, int64_t deadline)
{
    for (;;) {
        tcpshm_error err = {0};
        int64_t left = deadline - now_ns();
        /* quoted in README.md (ctest readme_excerpts checks it): login */
        int rc = tcpshm_client_connect(cl, "127.0.0.1", port, use_shm, NULL, left, clock_for_connect,
                                       NULL, &err); /* or tcpshm_client_login, then poll */
        /* end of excerpt */
        if (rc == 0)
            return 0;
        if (err.sys_errno != ECONNREFUSED || now_ns() + 10000000 > deadline)
            return report("hello client: cannot log in", &err);
        struct timespec pause = {0, 10 * 1000 * 1000}; /* not listening yet: again in 10 ms */
        nanosleep(&pause, NULL);
    }
}

static int run_client(uint16_t port, const char *dir, bool use_shm, uint32_t count, int64_t timeout_ns)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg); /* both sides must agree (SHM: shm_queue_size) */
    tcpshm_error err = {0};
    client_app app = {0};
    tcpshm_client_callbacks cb = {.user = &app, .on_msg = client_on_msg,
                                  .on_login_success = client_on_login_success,
                                  .on_login_reject = client_on_login_reject,
                                  .on_disconnect = client_on_disconnect};
    tcpshm_client *cl;
    if (tcpshm_client_create(&cl, &cfg, NULL, "hello-client", dir, &cb, &err) != 0)
        return report("hello client", &err);
    int64_t deadline = now_ns() + timeout_ns;
    if (log_in(cl, port, use_shm, deadline) != 0) {
        tcpshm_client_destroy(cl);
        return 1;
    }
    tcpshm_conn *conn = tcpshm_client_conn(cl);
    /* A previous run in the same DIR may have left greetings unechoed: they
     * come back first (and are checked too); ours follow them. */
    uint32_t last = tcpshm_conn_seq_end(conn) + count;
    printf("hello client: logged in over %s, sending %u greetings\n", use_shm ? "shared memory" : "TCP",
           count);
    fflush(stdout);

    uint32_t idle_rounds = 0;
    /* quoted in README.md (ctest readme_excerpts checks it): the client loop */
    for (uint32_t round = 0; tcpshm_conn_my_ack(conn) != last; round++) {
        int64_t now = now_ns();
        uint32_t before = app.verified;
        if (!use_shm || round % 64 == 0)
            tcpshm_client_poll_tcp(cl, now); /* TCP: messages; SHM: heartbeats, timeouts */
        if (use_shm)
            tcpshm_client_poll_shm(cl); /* SHM: messages */
        if (!app.logged_in || app.failed)
            break;
        push_greetings(conn, last);
        nap_if_idle(&idle_rounds, app.verified != before);
        if (now > deadline)
            break;
    }
    /* end of excerpt */
    int rc = tcpshm_conn_my_ack(conn) == last ? 0 : 1;
    if (rc == 0)
        printf("hello client: verified %u echoes\n", app.verified);
    else if (!app.failed && app.logged_in)
        fprintf(stderr, "hello client: timed out (--timeout) with %u echoes verified\n", app.verified);
    tcpshm_client_destroy(cl);
    return rc;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *out, const char *prog)
{
    (void)prog; /* the text names the program */
    fprintf(out,
            "usage: hello server [--port P] [--dir D] [--timeout S]\n"
            "       hello client [--port P] [--dir D] [--shm] [--count N] [--timeout S]\n"
            "\n"
            "The server echoes every message back to its sender (exactly once, also across\n"
            "kills). The client logs in, sends N greetings, checks that each comes back intact\n"
            "and in order, prints 'hello client: verified N echoes' and exits 0.\n"
            "\n"
            "  --port P      TCP port, 0-65535 (default 12345; server: 0 picks a free one, printed)\n"
            "  --dir D       directory of the persistent queues (default ./hello-server or\n"
            "                ./hello-client); a rerun in the same D continues the connection\n"
            "  --shm         client: the messages go through shared memory (same host),\n"
            "                TCP only carries the login and heartbeats\n"
            "  --count N     client: greetings to send, 1-1000000 (default 1000)\n"
            "  --timeout S   seconds before giving up, 1-86400 (client, default 30: exit 1) or\n"
            "                before stopping (server, default 60; 0 runs until SIGINT/SIGTERM)\n"
            "  -h, --help    this text\n"
            "  --version     the program's version\n"
            "\n"
            "Exit status: 0 done, 1 failure (with the reason on stderr), 2 usage error.\n");
}

/* A decimal number in [lo, hi], or -1 after saying what is wrong. */
/* A decimal number in [lo, hi], or -1 after saying what is wrong. */
static int parse_number(const char *prog, const char *opt, const char *arg, long lo, long hi, long *out)
{
    uint64_t v;
    if (cli_u64(prog, opt, arg, (uint64_t)lo, (uint64_t)hi, &v))
        return -1;
    *out = (long)v;
    return 0;
}

int main(int argc, char **argv)
{
    int std = cli_std_first(argc, argv, usage); /* --help, --version, a bad option */
    if (std >= 0)
        return std;
    if (argc < 2)
        return cli_usage_error(argv[0], "the first argument is 'server' or 'client'");
    bool server = strcmp(argv[1], "server") == 0;
    if (!server && strcmp(argv[1], "client") != 0)
        return cli_usage_error(argv[0], "the first argument is 'server' or 'client', not '%s'", CLI_ESC(argv[1]));
    long port = 12345, count = 1000, timeout_s = server ? 60 : 30;
    const char *dir = server ? "./hello-server" : "./hello-client";
    bool use_shm = false;
    static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"shm", no_argument, 0, 's'},
                                         {"count", required_argument, 0, 'c'},
                                         {"timeout", required_argument, 0, 't'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    optind = 2;
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        int bad = 0;
        switch (c) {
        case 'p': bad = parse_number(argv[0], "port", optarg, server ? 0 : 1, 65535, &port); break;
        case 'd': dir = optarg; break;
        case 's': use_shm = true; bad = server; break;
        case 'c': bad = server || parse_number(argv[0], "count", optarg, 1, 1000000, &count); break;
        case 't': bad = parse_number(argv[0], "timeout", optarg, server ? 0 : 1, 86400, &timeout_s); break;
        default: return cli_std_option(c, argv[0], usage);
        }
        if (bad && server && (c == 's' || c == 'c'))
            return cli_usage_error(argv[0], "--%s is a client option", c == 's' ? "shm" : "count");
        if (bad)
            return 2;
    }
    if (cli_no_operands(argv[0], argc, argv, optind))
        return 2;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "hello: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a send to a closed socket is an error return, not a signal */
    int64_t timeout_ns = (int64_t)timeout_s * 1000000000;
    if (!server)
        return run_client((uint16_t)port, dir, use_shm, (uint32_t)count, timeout_ns);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return run_server((uint16_t)port, dir, timeout_ns);
}
