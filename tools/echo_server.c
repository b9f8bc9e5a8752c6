/* echo_server: a tcpshm server that sends every application message it
 * receives back to its sender, exactly once, across kills of either side.
 *
 * Echo rule (push, then pop): the echo of the client's message k is message
 * k of the server's stream to that client. The echo is pushed (persisted)
 * before the message is popped; a process killed between the two comes back
 * with seq_end == my_ack + 1, the client resends message k (it was never
 * acknowledged), and the server, seeing its echo already queued
 * (seq_end > my_ack), only pops it. Pop-then-push would lose the echo when
 * killed in between.
 *
 * One thread: poll_ctl, then poll_tcp and poll_shm of every group, with a
 * monotonic clock in nanoseconds as `now`. Clients choose TCP or SHM at login
 * (echo_client --shm); the echo rule is the same for both. Events go to stdout, one line each, with the time. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "escape.h"
#include "tcpshm/crash_hook.h"
#include "tcpshm/names.h"
#include "tcpshm/server.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One line on stdout, prefixed with the wall-clock time, flushed. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s.%06ld ", stamp, ts.tv_nsec / 1000);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

typedef struct app {
    uint32_t tcp_groups, shm_groups;
    uint64_t echoed;   /* echoes pushed by this process */
    uint64_t activity; /* messages handled in the current loop round */
} app;

/* FNV-1a: the group of a client depends only on its name. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* In the fault build, an enabled tcpshm/crash/ point (e.g. under fiu-run)
 * ends the process as SIGKILL would; say which one first. */
static void on_crash_site(const char *site, void *user)
{
    (void)user;
    logf_("crash site %s: exiting with status %d as if killed", CLI_ESC(site), TCPSHM_CRASH_EXIT_CODE);
}

static void cb_system_error(void *user, const char *what, int e)
{
    (void)user;
    logf_("system error: %s%s%s", CLI_ESC(what), e ? ": " : "", e ? strerror(e) : "");
}

static int cb_new_connection(void *user, const tcpshm_login *login, uint8_t *rsp_user_data,
                             const char **reject_text)
{
    app *a = user;
    (void)rsp_user_data;
    uint32_t groups = login->use_shm ? a->shm_groups : a->tcp_groups;
    if (groups == 0) {
        *reject_text = "SHM off: --shm-groups 0";
        return -1;
    }
    return (int)(name_hash(login->client_name) % groups);
}

static void cb_file_error(void *user, const char *client, const tcpshm_error *err)
{
    (void)user;
    logf_("file error for client %s: %s", CLI_ESC(client), CLI_ESC(err->text));
}

static void cb_login_rejected(void *user, const char *client, const char *reason)
{
    (void)user;
    /* client is the name the peer sent, as it sent it (the rejection may be
     * for that very name): escaped like every name and reason printed */
    logf_("login rejected%s%s: %s", client[0] ? " for client " : "", CLI_ESC(client), CLI_ESC(reason));
}

static void cb_mismatch(void *user, tcpshm_conn *c, const tcpshm_seq_mismatch *m)
{
    (void)user;
    logf_("seq mismatch with client %s: server seq_start %u seq_end %u ack %u, client seq_start %u "
          "seq_end %u ack %u",
          CLI_ESC(tcpshm_conn_remote_name(c)), m->local_seq_start, m->local_seq_end, m->local_ack,
          m->remote_seq_start, m->remote_seq_end, m->remote_ack);
}

static void cb_logon(void *user, tcpshm_conn *c, uint32_t grp)
{
    (void)user;
    logf_("logon client %s group %u: server seq [%u, %u) ack %u", CLI_ESC(tcpshm_conn_remote_name(c)), grp,
          tcpshm_conn_seq_start(c), tcpshm_conn_seq_end(c), tcpshm_conn_my_ack(c));
}

static void cb_disconnect(void *user, tcpshm_conn *c, const char *reason, int e)
{
    (void)user;
    logf_("disconnect client %s: %s%s%s", CLI_ESC(tcpshm_conn_remote_name(c)), CLI_ESC(reason), e ? ": " : "",
          e ? strerror(e) : "");
}

static void cb_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    app *a = user;
    a->activity++;
    /* The echo of this message is already queued (a redelivery after a kill
     * between push and pop): only pop it. */
    if ((int32_t)(tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c)) > 0) {
        tcpshm_conn_pop(c);
        return;
    }
    uint16_t body = (uint16_t)(m->size - TCPSHM_HEADER_SIZE);
    tcpshm_msg_header *out = tcpshm_conn_alloc(c, body);
    if (!out)
        return; /* queue full: not popped, so it comes again at the next poll */
    out->msg_type = m->msg_type;
    memcpy(out + 1, m + 1, body);
    if (tcpshm_conn_push(c) != 0)
        return;
    tcpshm_conn_pop(c);
    a->echoed++;
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--listen ADDR] [--port N] [--name NAME] [--dir DIR]\n"
            "          [--tcp-groups N] [--shm-groups N]\n"
            "\n"
            "A tcpshm server that sends every message it receives back to its sender,\n"
            "exactly once across kills and restarts of either side (the echo is pushed\n"
            "before the message is popped; a message whose echo is already queued is only\n"
            "popped). Clients are spread over the groups by a hash of their name; every\n"
            "group is polled in this one thread. Events go to stdout, one line each.\n"
            "SIGTERM or SIGINT stops it cleanly (exit 0).\n"
            "\n"
            "  --listen ADDR    numeric IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N         TCP port, 1-65535 (default 12345)\n"
            "  --name NAME      server name (default \"server\"); restarting under a new name\n"
            "                   starts brand-new connections: old unsent messages are dropped\n"
            "  --dir DIR        directory of the persistent queues (default ./server)\n"
            "  --tcp-groups N   number of TCP connection groups, 1-1024 (default 1)\n"
            "  --shm-groups N   number of SHM connection groups, 0-1024 (default 1; 0 refuses\n"
            "                   clients that log in with --shm)\n"
            "  -h, --help       this text\n"
            "  --version        the program's version\n"
            "\n"
            "Failure points (libfiu) can be switched on with fiu-run, e.g. crash sites:\n"
            "  fiu-run -f '' -c 'enable_random name=tcpshm/crash/queue/*,probability=0.0001' \\\n"
            "      %s ...\n"
            "\n"
            "Exit status: 0 stopped by a signal, 1 could not start, 2 usage error\n"
            "(86: a crash site fired, as if killed).\n",
            prog, prog);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *name = "server", *dir = "./server";
    uint32_t port = 12345, tcp_groups = 1, shm_groups = 1;
    static const struct option opts[] = {{"listen", required_argument, 0, 'l'},
                                         {"port", required_argument, 0, 'p'},
                                         {"name", required_argument, 0, 'n'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"tcp-groups", required_argument, 0, 't'},
                                         {"shm-groups", required_argument, 0, 's'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        switch (c) {
        case 'l': addr = optarg; break;
        case 'p':
            if (cli_u32(argv[0], "port", optarg, 1, 65535, &port))
                return 2;
            break;
        case 'n': name = optarg; break;
        case 'd': dir = optarg; break;
        case 't':
            if (cli_u32(argv[0], "tcp-groups", optarg, 1, 1024, &tcp_groups))
                return 2;
            break;
        case 's':
            if (cli_u32(argv[0], "shm-groups", optarg, 0, 1024, &shm_groups))
                return 2;
            break;
        default: return cli_std_option(c, argv[0], usage);
        }
    }
    if (cli_no_operands(argv[0], argc, argv, optind))
        return 2;

    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    /* Echoes wait in the queue until the client acknowledges them. */
    cfg.queue_size = 8u << 20;
    cfg.tcp_groups = tcp_groups;
    cfg.shm_groups = shm_groups;
    cfg.shm_queue_size = 8u << 20;
    tcpshm_error err = {0};
    if (tcpshm_name_check(name, cfg.name_size, "server name", &err) != 0) {
        return cli_usage_error(argv[0], "--name '%s': %s", CLI_ESC(name), CLI_ESC(err.text));
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create directory %s: %s\n", argv[0], CLI_ESC(dir), strerror(errno));
        return 1;
    }

    app a = {.tcp_groups = tcp_groups, .shm_groups = shm_groups};
    tcpshm_server_callbacks cb = {
        .user = &a, .on_system_error = cb_system_error, .on_new_connection = cb_new_connection,
        .on_client_file_error = cb_file_error, .on_login_rejected = cb_login_rejected,
        .on_seq_mismatch = cb_mismatch, .on_logon = cb_logon, .on_disconnect = cb_disconnect,
        .on_msg = cb_msg};
    tcpshm_server *s;
    if (tcpshm_server_create(&s, &cfg, NULL, name, dir, &cb, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], CLI_ESC(err.text));
        return 1;
    }
    if (tcpshm_server_start(s, addr, (uint16_t)port, &err) != 0) {
        fprintf(stderr, "%s: %s%s%s\n", argv[0], CLI_ESC(err.text), err.sys_errno ? ": " : "",
                err.sys_errno ? strerror(err.sys_errno) : "");
        tcpshm_server_destroy(s);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    tcpshm_set_crash_hook(on_crash_site, NULL);

    logf_("echo_server %s listening on %s port %u, dir %s, %u tcp group%s, %u shm group%s", CLI_ESC(name),
          CLI_ESC(addr), tcpshm_server_port(s), CLI_ESC(dir), tcp_groups, tcp_groups == 1 ? "" : "s", shm_groups,
          shm_groups == 1 ? "" : "s");

    /* Spin while messages flow; after a while without any, sleep a little
     * per round so an idle server does not hold a core. */
    uint32_t idle_rounds = 0;
    while (!g_stop) {
        int64_t now = mono_ns();
        a.activity = 0;
        tcpshm_server_poll_ctl(s, now);
        for (uint32_t g = 0; g < tcp_groups; g++)
            tcpshm_server_poll_tcp(s, now, g);
        for (uint32_t g = 0; g < shm_groups; g++)
            tcpshm_server_poll_shm(s, now, g);
        if (a.activity) {
            idle_rounds = 0;
        } else if (++idle_rounds > 2000) {
            struct timespec pause = {0, 100 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    logf_("echo_server %s stopping (signal), %llu echoes pushed by this process", CLI_ESC(name),
          (unsigned long long)a.echoed);
    tcpshm_server_destroy(s);
    return 0;
}
