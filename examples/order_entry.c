/* order_entry: a trader that sends numbered orders and an exchange that
 * accepts and acknowledges each one exactly once, whichever side is killed
 * (kill -9) at whatever moment and restarted.
 *
 *   order_entry exchange --port P --dir D
 *   order_entry trader --port P --dir D --orders N [--rate R]
 *
 * Each side keeps a journal, an append-only text file of fixed 16-byte
 * records ("order     41\n"): the exchange one per trader of the orders it
 * accepted (D/orders_<trader>.log), the trader one of the acks it counted
 * (D/acks.log). A record is one write() of 16 bytes, which a kill cannot
 * split; a tail cut short anyway (a machine crash) is dropped at open.
 *
 * What the library persists: a push when it returns, a pop (my_ack) with
 * one store; what was pushed and not acknowledged is resent after the next
 * login, and a message not popped is delivered again. On top of that:
 *
 * Trader. Order k is message k of the trader's stream: it is pushed when
 * seq_end == k, so after a restart seq_end says which orders exist (a push
 * persisted or did not) — the queue is the trader's order book, nothing
 * else to record. Ack k is message k of the exchange's stream and arrives
 * while my_ack == k. The trader journals "ack k", then pops. Killed in
 * between, ack k comes again with the journal already ending at k: only pop.
 * (Pop first and a kill in between loses the count: the ack never comes
 * again.) Orders go out only after a login succeeded, which recorded the
 * exchange's name: see "The first-login window" in sim/README.md.
 *
 * Exchange. Order k arrives while my_ack == k, and takes three steps:
 *   1. journal "order k" (the order is accepted), unless the journal ends
 *      at k already;
 *   2. push ack k, unless seq_end > my_ack: the exchange pushes nothing but
 *      one ack per order, so seq_end == my_ack except between steps 2 and 3,
 *      where it means the ack is queued already;
 *   3. pop order k.
 * A kill anywhere leaves a state from which the redelivered order k finishes
 * the steps without repeating one; sim/README.md ("The echo rule") and
 * tools/echo_server.c say the same for an echo. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

#define ORDER_TYPE 200u
#define ACK_TYPE 201u
#define IN_FLIGHT 64u /* orders sent and not yet acknowledged, at most */
#define MAX_TRADERS 16u /* the default config's client slots */

typedef struct order {
    uint32_t id; /* = its place in the trader's stream */
    uint32_t quantity;
    char symbol[8];
} order;

typedef struct ack {
    uint32_t order_id;
    uint32_t status; /* 0 accepted */
} ack;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps 50 us per round after many idle ones (see hello.c). */
static void nap_if_idle(uint32_t *idle_rounds, bool busy)
{
    if (busy) {
        *idle_rounds = 0;
    } else if (++*idle_rounds > 10000) {
        struct timespec pause = {0, 50 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* ---------------------------------------------------------------- journal */

#define RECORD_SIZE 16

typedef struct journal {
    int fd;
    int64_t last; /* id of the last record, -1 when empty */
    char path[512];
} journal;

static int journal_open(journal *j, const char *dir, const char *file)
{
    snprintf(j->path, sizeof j->path, "%s/%s", dir, file);
    j->last = -1;
    j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND, 0600);
    struct stat st;
    if (j->fd < 0 || fstat(j->fd, &st) != 0) {
        fprintf(stderr, "order_entry: cannot open %s: %s\n", j->path, strerror(errno));
        return -1;
    }
    off_t whole = st.st_size - st.st_size % RECORD_SIZE;
    if (whole != st.st_size && ftruncate(j->fd, whole) != 0) {
        fprintf(stderr, "order_entry: cannot drop the short tail of %s: %s\n", j->path, strerror(errno));
        return -1;
    }
    if (whole > 0) {
        char rec[RECORD_SIZE + 1] = {0};
        if (pread(j->fd, rec, RECORD_SIZE, whole - RECORD_SIZE) != RECORD_SIZE) {
            fprintf(stderr, "order_entry: cannot read %s: %s\n", j->path, strerror(errno));
            return -1;
        }
        j->last = strtoll(rec + 6, NULL, 10);
    }
    return 0;
}

static int journal_append(journal *j, const char *what, uint32_t id)
{
    char rec[RECORD_SIZE + 1];
    snprintf(rec, sizeof rec, "%-5s %9u\n", what, id);
    if (write(j->fd, rec, RECORD_SIZE) != RECORD_SIZE) {
        fprintf(stderr, "order_entry: cannot append to %s: %s\n", j->path, strerror(errno));
        return -1;
    }
    j->last = id;
    return 0;
}

/* Message k may be journaled already (a kill after step 1) or be the next
 * one; anything else is a journal from another run. */
static bool journal_fits(const journal *j, uint32_t k)
{
    if (j->last == (int64_t)k || j->last == (int64_t)k - 1)
        return true;
    fprintf(stderr, "order_entry: %s ends at %lld but message %u arrived: a journal of another run?\n",
            j->path, (long long)j->last, k);
    return false;
}

/* ---------------------------------------------------------------- exchange */

static volatile sig_atomic_t g_stop;
static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct exchange {
    const char *dir;
    journal journals[MAX_TRADERS]; /* one per trader, as its connection's user pointer */
    uint32_t traders;
    uint64_t handled; /* messages handled this round, for the idle nap */
    uint64_t accepted; /* orders journaled by this process */
    bool failed;
} exchange;

static void exchange_on_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg)
{
    exchange *x = user;
    journal *j = tcpshm_conn_user(conn);
    uint32_t k = tcpshm_conn_my_ack(conn);
    order o;
    x->handled++;
    if (msg->msg_type != ORDER_TYPE || msg->size != TCPSHM_HEADER_SIZE + sizeof o) {
        fprintf(stderr, "exchange: message %u of %s is not an order (type %u)\n", k,
                tcpshm_conn_remote_name(conn), msg->msg_type);
        x->failed = true;
        return;
    }
    memcpy(&o, msg + 1, sizeof o);
    if (o.id != k) {
        fprintf(stderr, "exchange: order %u arrived as message %u\n", o.id, k);
        x->failed = true;
    }
    if (x->failed || !j || !journal_fits(j, k)) {
        x->failed = true;
        return;
    }
    /* 1. accept: the write-ahead record, once */
    if (j->last != (int64_t)k) {
        if (journal_append(j, "order", k) != 0) {
            x->failed = true;
            return;
        }
        x->accepted++;
    }
    /* 2. acknowledge, unless ack k is queued already (killed before step 3) */
    if (tcpshm_conn_seq_end(conn) == tcpshm_conn_my_ack(conn)) {
        tcpshm_msg_header *m = tcpshm_conn_alloc(conn, sizeof(ack));
        if (!m)
            return; /* queue full until the trader acknowledges: order k comes again */
        m->msg_type = ACK_TYPE;
        ack a = {.order_id = k, .status = 0};
        memcpy(m + 1, &a, sizeof a);
        if (tcpshm_conn_push(conn) != 0)
            return;
    }
    /* 3. consume */
    tcpshm_conn_pop(conn);
}

/* A trader's journal is opened at its first logon in this process. */
static void exchange_on_logon(void *user, tcpshm_conn *conn, uint32_t grp)
{
    exchange *x = user;
    (void)grp;
    if (!tcpshm_conn_user(conn)) {
        char file[64];
        snprintf(file, sizeof file, "orders_%s.log", tcpshm_conn_remote_name(conn));
        journal *j = &x->journals[x->traders];
        if (x->traders == MAX_TRADERS || journal_open(j, x->dir, file) != 0) {
            x->failed = true;
            return;
        }
        x->traders++;
        tcpshm_conn_set_user(conn, j);
    }
    printf("exchange: %s logged in: %u orders received, %u acks sent\n", tcpshm_conn_remote_name(conn),
           tcpshm_conn_my_ack(conn), tcpshm_conn_seq_end(conn));
    fflush(stdout);
}

static void exchange_on_disconnect(void *user, tcpshm_conn *conn, const char *reason, int sys_errno)
{
    (void)user;
    (void)sys_errno;
    printf("exchange: %s disconnected: %s\n", tcpshm_conn_remote_name(conn), reason);
    fflush(stdout);
}

static void exchange_on_file_error(void *user, const char *client, const tcpshm_error *err)
{
    (void)user;
    fprintf(stderr, "exchange: the queue of %s cannot be opened: %s\n", client, err->text);
}

static int run_exchange(uint16_t port, const char *dir, int64_t timeout_ns)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.shm_groups = 0; /* TCP only: a login asking for SHM is refused */
    exchange x = {.dir = dir};
    tcpshm_server_callbacks cb = {.user = &x, .on_msg = exchange_on_msg, .on_logon = exchange_on_logon,
                                  .on_disconnect = exchange_on_disconnect,
                                  .on_client_file_error = exchange_on_file_error};
    tcpshm_error err = {0};
    tcpshm_server *srv;
    if (tcpshm_server_create(&srv, &cfg, NULL, "exchange", dir, &cb, &err) != 0) {
        fprintf(stderr, "exchange: %s\n", err.text);
        return 1;
    }
    if (tcpshm_server_start(srv, "127.0.0.1", port, &err) != 0) {
        fprintf(stderr, "exchange: %s: %s\n", err.text, strerror(err.sys_errno));
        tcpshm_server_destroy(srv);
        return 1;
    }
    printf("exchange: listening on 127.0.0.1 port %u\n", tcpshm_server_port(srv));
    fflush(stdout);
    int64_t deadline = now_ns() + timeout_ns;
    uint32_t idle_rounds = 0;
    for (uint32_t round = 0; !g_stop && !x.failed; round++) {
        int64_t now = now_ns();
        uint64_t before = x.handled;
        if (round % 64 == 0)
            tcpshm_server_poll_ctl(srv, now);
        tcpshm_server_poll_tcp(srv, now, 0);
        nap_if_idle(&idle_rounds, x.handled != before);
        if (timeout_ns > 0 && now > deadline)
            break;
    }
    printf("exchange: stopping, %llu orders accepted by this process\n", (unsigned long long)x.accepted);
    tcpshm_server_destroy(srv);
    return x.failed ? 1 : 0;
}

/* ---------------------------------------------------------------- trader */

typedef struct trader {
    journal acks;
    bool ready; /* logged in: orders may go out */
    bool failed;
    uint64_t handled;
} trader;

static void trader_on_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg)
{
    trader *t = user;
    uint32_t k = tcpshm_conn_my_ack(conn);
    ack a;
    t->handled++;
    if (msg->msg_type != ACK_TYPE || msg->size != TCPSHM_HEADER_SIZE + sizeof a) {
        fprintf(stderr, "trader: message %u from the exchange is not an ack (type %u)\n", k, msg->msg_type);
        t->failed = true;
        return;
    }
    memcpy(&a, msg + 1, sizeof a);
    if (a.order_id != k) {
        fprintf(stderr, "trader: the ack of order %u arrived as message %u\n", a.order_id, k);
        t->failed = true;
    }
    if (t->failed || !journal_fits(&t->acks, k)) {
        t->failed = true;
        return;
    }
    /* count it (once), then pop: killed in between, it comes again, counted */
    if (t->acks.last != (int64_t)k && journal_append(&t->acks, "ack", k) != 0) {
        t->failed = true;
        return;
    }
    tcpshm_conn_pop(conn);
}

static void trader_on_login_success(void *user, tcpshm_conn *conn, const tcpshm_login_rsp *rsp)
{
    (void)rsp;
    ((trader *)user)->ready = true;
    printf("trader: logged in: %u orders sent, %u acks received\n", tcpshm_conn_seq_end(conn),
           tcpshm_conn_my_ack(conn));
    fflush(stdout);
}

static void trader_on_disconnect(void *user, tcpshm_conn *conn, const char *reason, int sys_errno)
{
    (void)conn;
    (void)sys_errno;
    ((trader *)user)->ready = false;
    printf("trader: disconnected: %s\n", reason);
    fflush(stdout);
}

static void trader_on_login_reject(void *user, const tcpshm_login_rsp *rsp)
{
    /* Right after a kill -9 of the previous trader the exchange may not have
     * seen that connection drop yet: it still counts our name as logged on.
     * That clears by itself (the exchange reads the reset, or times the link
     * out), so log in again; any other refusal is final. */
    if (strcmp(rsp->error_msg, "Already logged on") == 0) {
        printf("trader: login refused: %s (our previous run's link is not closed yet; retrying)\n",
               rsp->error_msg);
        fflush(stdout);
        return;
    }
    fprintf(stderr, "trader: login refused: %s\n", rsp->error_msg);
    ((trader *)user)->failed = true;
}

static void trader_on_seq_mismatch(void *user, tcpshm_conn *conn, const tcpshm_seq_mismatch *m)
{
    (void)conn;
    fprintf(stderr, "trader: sequence mismatch: mine [%u, %u) ack %u, exchange's [%u, %u) ack %u\n",
            m->local_seq_start, m->local_seq_end, m->local_ack, m->remote_seq_start, m->remote_seq_end,
            m->remote_ack);
    ((trader *)user)->failed = true;
}

/* Pushes order seq_end while orders remain, the window allows and the
 * rate (orders per second, 0: no limit) says it is time. */
static void send_orders(tcpshm_conn *conn, uint32_t orders, uint32_t rate, int64_t now, int64_t *next_at)
{
    for (;;) {
        uint32_t k = tcpshm_conn_seq_end(conn);
        if (k == orders || k - tcpshm_conn_my_ack(conn) >= IN_FLIGHT || now < *next_at)
            return;
        tcpshm_msg_header *m = tcpshm_conn_alloc(conn, sizeof(order));
        if (!m)
            return;
        m->msg_type = ORDER_TYPE;
        order o = {.id = k, .quantity = 1 + k % 100, .symbol = "TCPSHM"};
        memcpy(m + 1, &o, sizeof o);
        if (tcpshm_conn_push(conn) != 0)
            return;
        if (rate)
            *next_at = now + 1000000000 / rate;
    }
}

static int run_trader(const char *name, uint16_t port, const char *dir, uint32_t orders, uint32_t rate,
                      int64_t timeout_ns)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    trader t = {0};
    if (journal_open(&t.acks, dir, "acks.log") != 0)
        return 1;
    tcpshm_client_callbacks cb = {.user = &t, .on_msg = trader_on_msg,
                                  .on_login_success = trader_on_login_success,
                                  .on_disconnect = trader_on_disconnect,
                                  .on_login_reject = trader_on_login_reject,
                                  .on_seq_mismatch = trader_on_seq_mismatch};
    tcpshm_error err = {0};
    tcpshm_client *cl;
    if (tcpshm_client_create(&cl, &cfg, NULL, name, dir, &cb, &err) != 0) {
        fprintf(stderr, "trader: %s\n", err.text);
        return 1;
    }
    int64_t deadline = now_ns() + timeout_ns, next_login = 0, next_order = 0;
    uint32_t idle_rounds = 0;
    while (t.acks.last + 1 < (int64_t)orders && !t.failed) {
        int64_t now = now_ns();
        uint64_t before = t.handled;
        if (now > deadline) {
            fprintf(stderr, "trader: timed out (--timeout) with %lld of %u acks\n",
                    (long long)(t.acks.last + 1), orders);
            t.failed = true;
            break;
        }
        if (tcpshm_client_get_state(cl) == TCPSHM_CLIENT_IDLE) {
            /* not connected (the exchange is down, or restarting): log in again every 20 ms */
            t.ready = false;
            if (now >= next_login) {
                next_login = now + 20000000;
                if (tcpshm_client_login(cl, "127.0.0.1", port, false, NULL, now, &err) != 0 &&
                    err.code != TCPSHM_E_SYSTEM) {
                    fprintf(stderr, "trader: %s\n", err.text); /* e.g. a corrupt queue file */
                    t.failed = true;
                }
            }
        } else {
            tcpshm_client_poll_tcp(cl, now);
        }
        if (t.ready)
            send_orders(tcpshm_client_conn(cl), orders, rate, now, &next_order);
        nap_if_idle(&idle_rounds, t.handled != before);
    }
    tcpshm_client_destroy(cl);
    if (t.failed)
        return 1;
    printf("trader: done: %u orders acknowledged\n", orders);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *out, const char *prog)
{
    (void)prog; /* the text names the program */
    fprintf(out,
            "usage: order_entry exchange [--port P] [--dir D] [--timeout S]\n"
            "       order_entry trader --orders N [--port P] [--dir D] [--name NAME] [--rate R]\n"
            "                          [--timeout S]\n"
            "\n"
            "The trader sends orders 0 .. N-1; the exchange journals each order once in\n"
            "D/orders_NAME.log and acknowledges it; the trader journals each ack once in\n"
            "D/acks.log and exits 0 when all N are acknowledged. Kill either side at any moment\n"
            "(kill -9) and start it again with the same arguments: it carries on, and no order or\n"
            "ack is lost or journaled twice. The trader logs in again every 20 ms while the\n"
            "exchange is away.\n"
            "\n"
            "  --port P      TCP port, 0-65535 (default 12345; exchange: 0 picks a free one, printed)\n"
            "  --dir D       directory of the queues and journals (default ./exchange or ./trader)\n"
            "  --orders N    trader: orders to send, 1-100000000 (required)\n"
            "  --name NAME   trader: its name, 1-15 letters, digits, '-' or '_' (default trader)\n"
            "  --rate R      trader: orders per second at most, 0-1000000 (default 0: no limit)\n"
            "  --timeout S   seconds before giving up (trader, default 60: exit 1) or stopping\n"
            "                (exchange, default 300; 0 runs until SIGINT/SIGTERM), 0-86400\n"
            "  -h, --help    this text\n"
            "  --version     the program's version\n"
            "\n"
            "Exit status: 0 done (exchange: stopped), 1 failure (reason on stderr), 2 usage error.\n");
}

/* A decimal number in [lo, hi], or -1 after saying what is wrong. */
static int parse_number(const char *prog, const char *opt, const char *arg, long lo, long hi, long *out)
{
    uint64_t v;
    if (cli_u64(prog, opt, arg, (uint64_t)lo, (uint64_t)hi, &v))
        return -1;
    *out = (long)v;
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15)
        return false;
    for (; *s; s++)
        if (!(*s == '-' || *s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

int main(int argc, char **argv)
{
    int std = cli_std_first(argc, argv, usage); /* --help, --version, a bad option */
    if (std >= 0)
        return std;
    if (argc < 2)
        return cli_usage_error(argv[0], "the first argument is 'exchange' or 'trader'");
    bool is_exchange = strcmp(argv[1], "exchange") == 0;
    if (!is_exchange && strcmp(argv[1], "trader") != 0)
        return cli_usage_error(argv[0], "the first argument is 'exchange' or 'trader', not '%s'", CLI_ESC(argv[1]));
    long port = 12345, orders = 0, rate = 0, timeout_s = is_exchange ? 300 : 60;
    const char *dir = is_exchange ? "./exchange" : "./trader", *name = "trader";
    static const struct option opts[] = {{"port", required_argument, 0, 'p'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"orders", required_argument, 0, 'o'},
                                         {"name", required_argument, 0, 'n'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"timeout", required_argument, 0, 't'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    optind = 2;
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        if (is_exchange && (c == 'o' || c == 'n' || c == 'r')) {
            return cli_usage_error(argv[0], "--orders, --name and --rate are trader options");
        }
        int bad = 0;
        switch (c) {
        case 'p': bad = parse_number(argv[0], "port", optarg, is_exchange ? 0 : 1, 65535, &port); break;
        case 'd': dir = optarg; break;
        case 'o': bad = parse_number(argv[0], "orders", optarg, 1, 100000000, &orders); break;
        case 'n': name = optarg; break;
        case 'r': bad = parse_number(argv[0], "rate", optarg, 0, 1000000, &rate); break;
        case 't': bad = parse_number(argv[0], "timeout", optarg, is_exchange ? 0 : 1, 86400, &timeout_s); break;
        default: return cli_std_option(c, argv[0], usage);
        }
        if (bad)
            return 2;
    }
    if (cli_no_operands(argv[0], argc, argv, optind))
        return 2;
    if (!is_exchange && orders == 0)
        return cli_usage_error(argv[0], "the trader needs --orders N");
    if (!name_ok(name))
        return cli_usage_error(argv[0], "--name '%s': 1-15 letters, digits, '-' or '_'", CLI_ESC(name));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "order_entry: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t timeout_ns = (int64_t)timeout_s * 1000000000;
    if (!is_exchange)
        return run_trader(name, (uint16_t)port, dir, (uint32_t)orders, (uint32_t)rate, timeout_ns);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return run_exchange((uint16_t)port, dir, timeout_ns);
}
