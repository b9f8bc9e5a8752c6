/* An untrusted peer on either side, driven by raw sockets from the test.
 *
 * Server side: a well-behaved harness client ("good") logs in and exchanges
 * echoes first; then a raw socket misbehaves. Each case checks the reason the
 * server gives (on_login_rejected before login, on_disconnect after) and
 * that "good" is untouched: still connected, its queue's sequence range and
 * file unchanged, and it keeps exchanging messages afterwards.
 *
 * Client side: a fake server (a raw listening socket) answers the login with
 * garbage or malformed responses; the client reports the right callback and
 * goes back to idle. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcp_harness.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

static th h;
static void setup(void) { th_init(&h); }
static void teardown(void) { th_fini(&h); }
TestSuite(tcp_hostile, .init = setup, .fini = teardown, .timeout = 120);

#define LOGIN_BYTES 56u
#define RSP_BYTES 72u

/* ---- little-endian helpers (the harness uses the default byte order) ---- */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_header(uint8_t *p, uint16_t size, uint16_t type, uint32_t ack)
{
    put_le16(p, size);
    put_le16(p + 2, type);
    put_le32(p + 4, ack);
}

/* ---- raw sockets ---- */

static void set_nonblock_nodelay(int fd)
{
    int one = 1;
    cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    int fl = fcntl(fd, F_GETFL);
    cr_assert_geq(fl, 0);
    cr_assert_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A plain connection to the harness server (loopback connect completes at
 * once; the server accepts it at its next poll_ctl). */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    set_nonblock_nodelay(fd);
    return fd;
}

static void raw_send(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (int tries = 0; len > 0 && tries < 10000; tries++) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR, "send: %s",
                      strerror(errno));
            th_poll(&h, 1000000);
            usleep(50);
            continue;
        }
        p += n;
        len -= (size_t)n;
    }
    cr_assert_eq(len, 0, "raw send did not complete");
}

/* Reads up to want bytes, polling the harness between tries. Returns the
 * count; *eof tells whether the peer closed (or reset) the connection. */
static size_t raw_recv(int fd, uint8_t *buf, size_t want, int rounds, bool *eof)
{
    size_t got = 0;
    *eof = false;
    for (int r = 0; r < rounds && got < want; r++) {
        ssize_t n = recv(fd, buf + got, want - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            *eof = true;
            break;
        }
        th_poll(&h, 1000000);
        usleep(50);
    }
    return got;
}

/* Polls until the peer closes the socket; bytes that arrive first (a
 * response, heartbeats) are counted and thrown away. */
static bool raw_wait_closed(int fd, size_t *extra)
{
    uint8_t junk[4096];
    size_t total = 0;
    for (int r = 0; r < 3000; r++) {
        ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            if (extra)
                *extra = total;
            return true;
        }
        th_poll(&h, 1000000);
        usleep(50);
    }
    if (extra)
        *extra = total;
    return false;
}

static void build_login(uint8_t out[LOGIN_BYTES], const char *name, const char *last_server)
{
    tcpshm_login lg;
    memset(&lg, 0, sizeof lg);
    snprintf(lg.client_name, sizeof lg.client_name, "%s", name);
    snprintf(lg.last_server_name, sizeof lg.last_server_name, "%s", last_server);
    cr_assert_eq(tcpshm_login_encode(&h.cfg, &lg, out), LOGIN_BYTES);
}

typedef struct raw_rsp {
    uint16_t size, type;
    uint32_t ack, seq_start, seq_end;
    uint8_t status;
    char server_name[17];
    char error_msg[33];
} raw_rsp;

/* Parses the 72 bytes of a login response by docs/protocol.md's table. */
static void parse_rsp(const uint8_t b[RSP_BYTES], raw_rsp *r)
{
    memset(r, 0, sizeof *r);
    r->size = le16(b);
    r->type = le16(b + 2);
    r->ack = le32(b + 4);
    r->seq_start = le32(b + 8);
    r->seq_end = le32(b + 12);
    r->status = b[8 + 9];
    memcpy(r->server_name, b + 8 + 10, 16);
    memcpy(r->error_msg, b + 8 + 26, 32);
    cr_assert_eq(r->size, 68, "response size %u", r->size);
    cr_assert_eq(r->type, 2, "response type %u", r->type);
    cr_assert(memchr(b + 8 + 10, 0, 16) != NULL, "server name not NUL-terminated");
    cr_assert(memchr(b + 8 + 26, 0, 32) != NULL, "error message not NUL-terminated");
}

/* Sends the login bytes lg and reads the whole response. */
static int raw_login_bytes(const uint8_t lg[LOGIN_BYTES], raw_rsp *r)
{
    int fd = raw_connect(h.port);
    raw_send(fd, lg, LOGIN_BYTES);
    uint8_t b[RSP_BYTES];
    bool eof;
    size_t got = raw_recv(fd, b, sizeof b, 3000, &eof);
    cr_assert_eq(got, RSP_BYTES, "login of \"%.16s\": %zu response bytes (eof %d), server said \"%s\"",
                 (const char *)lg + 18, got, eof, h.srv_side.last_reason);
    parse_rsp(b, r);
    return fd;
}

/* Sends a login and reads the whole response. */
static int raw_login(const char *name, const char *last_server, raw_rsp *r)
{
    uint8_t lg[LOGIN_BYTES];
    build_login(lg, name, last_server);
    return raw_login_bytes(lg, r);
}

/* ---- the well-behaved client ---- */

static uint32_t good;
static uint32_t good_sent;

typedef struct snap {
    uint32_t srv_start, srv_end, srv_ack;
    uint32_t cl_start, cl_end, cl_ack;
    long long srv_file_size, cl_file_size;
} snap;

static bool all_echoed(th *t, void *arg)
{
    (void)arg;
    return t->clients[good].side.received >= good_sent;
}

/* Pushes n messages from good and waits for their echoes, then lets acks
 * settle (heartbeats carry them) so both queues are empty. */
static void good_exchange(uint32_t n)
{
    tcpshm_conn *c = tcpshm_client_conn(h.clients[good].cl);
    cr_assert_not_null(c);
    for (uint32_t i = 0; i < n; i++) {
        cr_assert(th_push(c, good_sent, (uint16_t)(16 + i * 7), i + 1 < n), "push %u", good_sent);
        good_sent++;
    }
    cr_assert(th_pump_until(&h, all_echoed, NULL, 3000), "good got %u of %u echoes",
              h.clients[good].side.received, good_sent);
    for (int i = 0; i < 40; i++) {
        th_poll(&h, 10000000);
        usleep(50);
    }
    cr_assert_eq(h.clients[good].side.bad, 0, "%s", h.clients[good].side.bad_text);
}

static long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long long)st.st_size;
}

static void take_snap(snap *s)
{
    tcpshm_conn *sc = tcpshm_server_find_conn(h.srv, "good");
    tcpshm_conn *cc = tcpshm_client_conn(h.clients[good].cl);
    cr_assert_not_null(sc);
    cr_assert_not_null(cc);
    s->srv_start = tcpshm_conn_seq_start(sc);
    s->srv_end = tcpshm_conn_seq_end(sc);
    s->srv_ack = tcpshm_conn_my_ack(sc);
    s->cl_start = tcpshm_conn_seq_start(cc);
    s->cl_end = tcpshm_conn_seq_end(cc);
    s->cl_ack = tcpshm_conn_my_ack(cc);
    char path[600];
    snprintf(path, sizeof path, "%s/%s_good.ptcp", h.server_dir, h.server_name);
    s->srv_file_size = file_size(path);
    snprintf(path, sizeof path, "%s/good_%s.ptcp", h.clients[good].dir, h.server_name);
    s->cl_file_size = file_size(path);
}

static snap before;

/* Starts the server with echo and logs good in, with traffic both ways. */
static void good_setup(void)
{
    th_start_server(&h, "server");
    h.server_echo = true;
    good = th_add_client(&h, "good");
    good_sent = 0;
    th_login(&h, good);
    cr_assert(th_pump_until(&h, th_client_logged_in, (void *)(uintptr_t)good, 2000), "good login: %s",
              h.clients[good].side.last_reason);
    good_exchange(20);
    take_snap(&before);
    cr_assert_eq(before.srv_start, 20);
    cr_assert_eq(before.srv_end, 20);
    cr_assert_eq(before.srv_ack, 20);
    cr_assert_eq(before.cl_start, 20);
    cr_assert_eq(before.cl_end, 20);
    cr_assert_eq(before.cl_ack, 20);
    cr_assert_gt(before.srv_file_size, 0);
    cr_assert_gt(before.cl_file_size, 0);
    cr_assert_eq(h.srv_side.logons, 1);
    cr_assert_eq(h.srv_side.rejects, 0);
    cr_assert_eq(h.srv_side.disconnects, 0);
}

/* The attack left good alone: same state as before, and it still talks. */
static void good_unharmed(void)
{
    cr_assert_eq(tcpshm_client_get_state(h.clients[good].cl), TCPSHM_CLIENT_LOGGED_IN);
    cr_assert_eq(h.clients[good].side.disconnects, 0, "good was disconnected: %s",
                 h.clients[good].side.last_reason);
    cr_assert_eq(h.clients[good].side.rejects + h.clients[good].side.system_errors, 0);
    cr_assert(tcpshm_conn_is_connected(tcpshm_server_find_conn(h.srv, "good")),
              "the server's side of good is down");
    snap now;
    take_snap(&now);
    cr_assert_eq(now.srv_start, before.srv_start, "server queue of good moved: start %u", now.srv_start);
    cr_assert_eq(now.srv_end, before.srv_end, "server queue of good moved: end %u", now.srv_end);
    cr_assert_eq(now.srv_ack, before.srv_ack, "server ack of good moved: %u", now.srv_ack);
    cr_assert_eq(now.cl_start, before.cl_start);
    cr_assert_eq(now.cl_end, before.cl_end);
    cr_assert_eq(now.cl_ack, before.cl_ack);
    cr_assert_eq(now.srv_file_size, before.srv_file_size);
    cr_assert_eq(now.cl_file_size, before.cl_file_size);

    uint32_t base = good_sent;
    good_exchange(15);
    take_snap(&now);
    cr_assert_eq(h.clients[good].side.received, base + 15);
    cr_assert_eq(now.srv_start, base + 15);
    cr_assert_eq(now.srv_end, base + 15);
    cr_assert_eq(now.srv_ack, base + 15);
    cr_assert_eq(now.cl_start, base + 15);
    cr_assert_eq(now.cl_end, base + 15);
    cr_assert_eq(now.cl_ack, base + 15);
    cr_assert_eq(h.clients[good].side.disconnects, 0, "%s", h.clients[good].side.last_reason);
    before = now; /* the next check starts from here */
}

/* Nothing but the expected queue files in the server directory (a hostile
 * name must not create or touch any file), besides the server's own
 * server.lock (made at create). */
static void server_dir_holds_only(const char *const *names, size_t n)
{
    DIR *d = opendir(h.server_dir);
    cr_assert_not_null(d);
    struct dirent *e;
    size_t seen = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "server.lock") == 0)
            continue;
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(e->d_name, names[i]) == 0)
                ok = true;
        cr_assert(ok, "unexpected file %s in the server directory", e->d_name);
        seen++;
    }
    closedir(d);
    cr_assert_eq(seen, n);
}

static const char *const only_good[] = {"server_good.ptcp"};

/* A pre-login drop: one rejection with a reason that contains want, no
 * response bytes (unless rsp_bytes), the socket closed. */
static void expect_dropped(int fd, uint32_t rejects_before, const char *want, size_t rsp_bytes)
{
    size_t extra = 0;
    cr_assert(raw_wait_closed(fd, &extra), "the server kept the connection open");
    cr_assert_eq(extra, rsp_bytes, "%zu bytes came back, expected %zu", extra, rsp_bytes);
    cr_assert_eq(h.srv_side.rejects, rejects_before + 1, "rejects %u (%s)", h.srv_side.rejects,
                 h.srv_side.last_reason);
    cr_assert_not_null(strstr(h.srv_side.last_reason, want), "reason \"%s\" does not say \"%s\"",
                       h.srv_side.last_reason, want);
    cr_assert_eq(h.srv_side.logons, 1, "an attacker logged in");
    close(fd);
}

/* ===================== before login ===================== */

Test(tcp_hostile, garbage_before_login)
{
    good_setup();
    int fd = raw_connect(h.port);
    const char *get = "GET / HTTP/1.1\r\n\r\n";
    raw_send(fd, get, strlen(get));
    expect_dropped(fd, 0, "Bad login", 0);
    cr_assert_eq(strncmp(h.srv_side.last_reason, "Bad login", 9), 0, "%s", h.srv_side.last_reason);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

Test(tcp_hostile, login_header_wrong_type)
{
    good_setup();
    int fd = raw_connect(h.port);
    uint8_t lg[LOGIN_BYTES];
    build_login(lg, "mallory", "");
    put_le16(lg + 2, 7);
    raw_send(fd, lg, sizeof lg);
    expect_dropped(fd, 0, "Bad login: type 7 size 52", 0);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

Test(tcp_hostile, login_header_wrong_size)
{
    good_setup();
    int fd = raw_connect(h.port);
    uint8_t lg[64];
    memset(lg, 0, sizeof lg);
    build_login(lg, "mallory", "");
    put_le16(lg, 60);
    raw_send(fd, lg, sizeof lg);
    expect_dropped(fd, 0, "Bad login: type 1 size 60", 0);
    good_unharmed();

    /* a header announcing the right type and a size below the header */
    fd = raw_connect(h.port);
    put_le16(lg, 4);
    raw_send(fd, lg, 8);
    expect_dropped(fd, 1, "Bad login: type 1 size 4", 0);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

Test(tcp_hostile, login_one_byte_at_a_time)
{
    good_setup();
    int fd = raw_connect(h.port);
    uint8_t lg[LOGIN_BYTES];
    build_login(lg, "slow", "");
    for (uint32_t i = 0; i < LOGIN_BYTES; i++) {
        raw_send(fd, lg + i, 1);
        for (int k = 0; k < 3; k++) {
            th_poll(&h, 1000000);
            usleep(100);
        }
        if (i + 1 < LOGIN_BYTES) {
            uint8_t b;
            cr_assert_eq(recv(fd, &b, 1, MSG_DONTWAIT), -1, "a response before the login was whole");
            cr_assert_eq(h.srv_side.rejects, 0, "dropped after %u bytes: %s", i + 1, h.srv_side.last_reason);
        }
    }
    uint8_t b[RSP_BYTES];
    bool eof;
    cr_assert_eq(raw_recv(fd, b, sizeof b, 2000, &eof), RSP_BYTES, "no response (%s)", h.srv_side.last_reason);
    raw_rsp r;
    parse_rsp(b, &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_OK, "status %u: %s", r.status, r.error_msg);
    cr_assert_str_eq(r.server_name, "server");
    cr_assert_str_eq(r.error_msg, "");
    cr_assert_eq(r.ack, 0);
    cr_assert_eq(r.seq_start, 0);
    cr_assert_eq(r.seq_end, 0);
    cr_assert_eq(b[8 + 8], 0x5a, "the response user data the application set");
    cr_assert_eq(h.srv_side.logons, 2);
    cr_assert_eq(h.srv_side.rejects, 0);
    tcpshm_conn *sc = tcpshm_server_find_conn(h.srv, "slow");
    cr_assert_not_null(sc);
    cr_assert(tcpshm_conn_is_connected(sc));
    good_unharmed();
    close(fd);
}

Test(tcp_hostile, close_in_the_middle_of_a_login)
{
    good_setup();
    int fd = raw_connect(h.port);
    uint8_t lg[LOGIN_BYTES];
    build_login(lg, "quitter", "");
    raw_send(fd, lg, 30);
    for (int k = 0; k < 5; k++) {
        th_poll(&h, 1000000);
        usleep(100);
    }
    cr_assert_eq(h.srv_side.rejects, 0, "dropped on a partial login: %s", h.srv_side.last_reason);
    close(fd);
    for (int k = 0; k < 2000 && h.srv_side.rejects == 0; k++) {
        th_poll(&h, 1000000);
        usleep(50);
    }
    cr_assert_eq(h.srv_side.rejects, 1);
    cr_assert_str_eq(h.srv_side.last_reason, "Remote close before login");
    cr_assert_eq(h.srv_side.logons, 1);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

Test(tcp_hostile, invalid_client_names)
{
    good_setup();
    const char *names[] = {"../x", "a/b", "", "..", "sp ace", "x\x7f"};
    for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        raw_rsp r;
        int fd = raw_login(names[i], "", &r);
        cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR, "name \"%s\": status %u", names[i], r.status);
        cr_assert_str_eq(r.error_msg, "Invalid client name", "name \"%s\"", names[i]);
        cr_assert_str_eq(r.server_name, "server");
        expect_dropped(fd, i, "Invalid client name", 0);
    }
    good_unharmed();
    server_dir_holds_only(only_good, 1);
    /* nothing escaped the server directory either */
    char path[600];
    snprintf(path, sizeof path, "%s/x.ptcp", h.dir);
    cr_assert_eq(file_size(path), -1);
}

/* A name field filled to its end is a bad name: answered with status 2 like
 * the others (tcpshm would cut it to 15 characters and accept it). */
Test(tcp_hostile, client_name_not_nul_terminated)
{
    good_setup();
    uint8_t lg[LOGIN_BYTES];
    raw_rsp r;
    build_login(lg, "x", "");
    memset(lg + 8 + 10, 'A', 16);
    int fd = raw_login_bytes(lg, &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR, "status %u", r.status);
    cr_assert_str_eq(r.error_msg, "Invalid client name");
    cr_assert_str_eq(r.server_name, "server");
    expect_dropped(fd, 0, "Invalid client name", 0);
    good_unharmed();

    build_login(lg, "y", "");
    memset(lg + 8 + 26, 'B', 16);
    fd = raw_login_bytes(lg, &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR, "status %u", r.status);
    cr_assert_str_eq(r.error_msg, "Invalid last server name");
    expect_dropped(fd, 1, "Invalid last server name", 0);

    fd = raw_connect(h.port);
    build_login(lg, "z", "");
    lg[8 + 9] = 2; /* use_shm */
    raw_send(fd, lg, sizeof lg);
    expect_dropped(fd, 2, "use_shm", 0);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

/* A resuming login (last server = this server) with its own range [start,
 * end]; the new pair is empty, so the server's my_ack is 0. */
static int range_login(const char *name, uint32_t start, uint32_t end, raw_rsp *r)
{
    tcpshm_login m;
    memset(&m, 0, sizeof m);
    snprintf(m.client_name, sizeof m.client_name, "%s", name);
    strcpy(m.last_server_name, "server");
    m.client_seq_start = start;
    m.client_seq_end = end;
    uint8_t lg[LOGIN_BYTES];
    cr_assert_eq(tcpshm_login_encode(&h.cfg, &m, lg), LOGIN_BYTES);
    return raw_login_bytes(lg, r);
}

/* Issue 13: [5, 3] is no range, so the server's my_ack 0 is not in it:
 * status 1, as tcpshm answers (the unsigned test took it as 5..2^32-1, 0..3). */
Test(tcp_hostile, reversed_login_range_is_a_mismatch)
{
    good_setup();
    static const uint32_t bad[][2] = {{5, 3}, {2, 0xfffffffeu}, {0, 0x80000000u}, {1, 0}};
    for (uint32_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_rsp r;
        int fd = range_login("mallory", bad[i][0], bad[i][1], &r);
        cr_assert_eq(r.status, TCPSHM_LOGIN_SEQ_MISMATCH, "[%u, %u]: status %u \"%s\"", bad[i][0], bad[i][1],
                     r.status, r.error_msg);
        cr_assert_str_eq(r.error_msg, "Seq number mismatch");
        cr_assert(raw_wait_closed(fd, NULL), "the server kept the connection open");
        close(fd);
        cr_assert_eq(h.srv_side.mismatches, i + 1);
        cr_assert_eq(h.srv_side.last_mismatch.remote_seq_start, bad[i][0]);
        cr_assert_eq(h.srv_side.last_mismatch.remote_seq_end, bad[i][1]);
        cr_assert_eq(h.srv_side.logons, 1, "mallory logged in");
    }
    /* mallory's pair is fresh (no login accepted on it): a login that goes
     * on with it is a mismatch whatever its range (docs/protocol.md step 6) */
    raw_rsp r;
    int fd = range_login("mallory", 0xfffffffeu, 2, &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_SEQ_MISMATCH, "fresh pair: status %u \"%s\"", r.status, r.error_msg);
    close(fd);
    /* once a login was accepted on the pair (a new connection, last server
     * ""), a range across the wrap that holds 0 is a range */
    uint32_t gone = h.srv_side.disconnects;
    fd = raw_login("mallory", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_OK, "new connection: status %u \"%s\"", r.status, r.error_msg);
    close(fd);
    for (int i = 0; i < 20000 && h.srv_side.disconnects == gone; i++) {
        th_poll(&h, 1000000);
        usleep(20);
    }
    cr_assert_gt(h.srv_side.disconnects, gone, "the server did not see mallory's connection end");
    fd = range_login("mallory", 0xfffffffeu, 2, &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_OK, "status %u \"%s\"", r.status, r.error_msg);
    close(fd);
    good_unharmed();
}

Test(tcp_hostile, silent_connection_times_out)
{
    good_setup();
    int fd = raw_connect(h.port);
    th_poll(&h, 0);
    usleep(200);
    th_poll(&h, 0); /* accepted now, at t0 */
    int64_t t0 = h.now;
    const int64_t step = 10000000; /* 10 ms */
    while (h.srv_side.rejects == 0 && h.now - t0 < 3 * h.cfg.new_conn_timeout) {
        th_poll(&h, step);
        usleep(20);
    }
    cr_assert_eq(h.srv_side.rejects, 1, "never dropped");
    cr_assert_str_eq(h.srv_side.last_reason, "Timeout before login");
    cr_assert_gt(h.now - t0, h.cfg.new_conn_timeout, "dropped early, after %lld ns",
                 (long long)(h.now - t0));
    cr_assert_leq(h.now - t0, h.cfg.new_conn_timeout + 5 * step, "dropped late, after %lld ns",
                  (long long)(h.now - t0));
    size_t extra = 0;
    cr_assert(raw_wait_closed(fd, &extra));
    cr_assert_eq(extra, 0);
    close(fd);
    good_unharmed();
}

/* ===================== after a successful raw login ===================== */

static int mallory_login(void)
{
    raw_rsp r;
    int fd = raw_login("mallory", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_OK, "%s", r.error_msg);
    cr_assert_eq(r.seq_end, 0);
    for (int k = 0; k < 5; k++) {
        th_poll(&h, 1000000);
        usleep(50);
    }
    cr_assert_eq(h.srv_side.logons, 2);
    cr_assert(tcpshm_conn_is_connected(tcpshm_server_find_conn(h.srv, "mallory")));
    return fd;
}

static const char *const good_and_mallory[] = {"server_good.ptcp", "server_mallory.ptcp"};

static void expect_closed(int fd, const char *prefix)
{
    cr_assert(raw_wait_closed(fd, NULL), "the server kept the connection open");
    close(fd);
    cr_assert_eq(h.srv_side.disconnects, 1, "disconnects %u (%s)", h.srv_side.disconnects,
                 h.srv_side.last_reason);
    cr_assert_eq(strncmp(h.srv_side.last_reason, prefix, strlen(prefix)), 0,
                 "reason \"%s\" does not start with \"%s\"", h.srv_side.last_reason, prefix);
    tcpshm_conn *mc = tcpshm_server_find_conn(h.srv, "mallory");
    cr_assert_not(tcpshm_conn_is_connected(mc));
    int e = -1;
    cr_assert_str_eq(tcpshm_conn_close_reason(mc, &e), h.srv_side.last_reason);
    cr_assert_eq(e, 0);
}

Test(tcp_hostile, ack_beyond_what_was_sent)
{
    good_setup();
    int fd = mallory_login();
    uint32_t srv_received = h.srv_side.received;
    uint8_t m[16];
    memset(m, 0, sizeof m);
    put_header(m, 12, TH_MSG_TYPE, 5);
    put_le32(m + 8, 0);
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Bad ack");
    cr_assert_not_null(strstr(h.srv_side.last_reason, "5"), "%s", h.srv_side.last_reason);
    /* The message that carried the bad ack is part of the protocol error: it
     * is not handed to the application. */
    cr_assert_eq(h.srv_side.received, srv_received, "the bad message was delivered");
    tcpshm_conn *mc = tcpshm_server_find_conn(h.srv, "mallory");
    cr_assert_eq(tcpshm_conn_my_ack(mc), 0);
    cr_assert_eq(tcpshm_conn_seq_end(mc), 0);
    good_unharmed();
    server_dir_holds_only(good_and_mallory, 2);
}

Test(tcp_hostile, heartbeat_with_bad_ack)
{
    good_setup();
    int fd = mallory_login();
    uint8_t m[8];
    put_header(m, 8, 0, 0x7fffffffu); /* the farthest ack that is still "newer" */
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Bad ack");
    good_unharmed();
}

Test(tcp_hostile, old_ack_is_ignored)
{
    /* Seq numbers compare by signed difference: an ack half the space or
     * more behind counts as old and is ignored (docs/protocol.md), not an error. */
    good_setup();
    int fd = mallory_login();
    uint8_t m[16];
    put_header(m, 8, 0, 0x80000000u);
    put_header(m + 8, 8, 0, 0xffffffffu);
    raw_send(fd, m, sizeof m);
    for (int k = 0; k < 20; k++) {
        th_poll(&h, 1000000);
        usleep(50);
    }
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
    cr_assert(tcpshm_conn_is_connected(tcpshm_server_find_conn(h.srv, "mallory")));
    cr_assert_eq(tcpshm_conn_seq_start(tcpshm_server_find_conn(h.srv, "mallory")), 0);
    close(fd);
    good_unharmed();
}

Test(tcp_hostile, frame_smaller_than_a_header)
{
    good_setup();
    int fd = mallory_login();
    uint8_t m[8];
    put_header(m, 4, TH_MSG_TYPE, 0);
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Bad frame");
    good_unharmed();
    server_dir_holds_only(good_and_mallory, 2);
}

Test(tcp_hostile, frame_larger_than_max_msg_size)
{
    good_setup();
    int fd = mallory_login();
    uint8_t m[8];
    cr_assert_lt(h.cfg.max_msg_size, 4000);
    put_header(m, 4000, TH_MSG_TYPE, 0);
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Msg size larger than recv buf max size");
    good_unharmed();
}

Test(tcp_hostile, frame_just_over_max_msg_size)
{
    /* max_msg_size bounds the padded size: max+1 pads to max+8 */
    good_setup();
    int fd = mallory_login();
    uint8_t m[8];
    put_header(m, (uint16_t)(h.cfg.max_msg_size + 1), TH_MSG_TYPE, 0);
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Msg size larger than recv buf max size");
    good_unharmed();
}

Test(tcp_hostile, messages_before_the_bad_one_are_kept)
{
    /* "nothing already received is lost": a valid message followed by a bad
     * frame in the same segment is still delivered. */
    good_setup();
    int fd = mallory_login();
    uint32_t srv_received = h.srv_side.received;
    uint8_t m[24];
    memset(m, 0, sizeof m);
    put_header(m, 12, TH_MSG_TYPE, 0);
    put_le32(m + 8, 0);
    put_header(m + 16, 2, TH_MSG_TYPE, 0);
    raw_send(fd, m, sizeof m);
    expect_closed(fd, "Bad frame");
    cr_assert_eq(h.srv_side.received, srv_received + 1, "the valid message was lost");
    tcpshm_conn *mc = tcpshm_server_find_conn(h.srv, "mallory");
    cr_assert_eq(tcpshm_conn_my_ack(mc), 1, "the valid message was not popped");
    cr_assert_eq(tcpshm_conn_seq_end(mc), 1, "its echo is queued for mallory");
    good_unharmed();
}

Test(tcp_hostile, second_login_with_a_live_name)
{
    good_setup();
    raw_rsp r;
    int fd = raw_login("good", "server", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Already logged on");
    expect_dropped(fd, 0, "Already logged on", 0);
    good_unharmed();
    /* with a foreign last server name too (it would reset the queue) */
    fd = raw_login("good", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Already logged on");
    expect_dropped(fd, 1, "Already logged on", 0);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

Test(tcp_hostile, group_full)
{
    cr_assert_eq(h.cfg.tcp_groups, 1);
    cr_assert_eq(h.cfg.tcp_conns_per_group, 4);
    good_setup();
    int fds[3];
    const char *names[3] = {"r1", "r2", "r3"};
    for (int i = 0; i < 3; i++) {
        raw_rsp r;
        fds[i] = raw_login(names[i], "", &r);
        cr_assert_eq(r.status, TCPSHM_LOGIN_OK, "%s: %s", names[i], r.error_msg);
    }
    for (int k = 0; k < 5; k++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.srv_side.logons, 4);
    raw_rsp r;
    int fd = raw_login("r4", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Max client cnt exceeded");
    size_t extra = 0;
    cr_assert(raw_wait_closed(fd, &extra));
    close(fd);
    cr_assert_eq(h.srv_side.rejects, 1);
    cr_assert_str_eq(h.srv_side.last_reason, "Max client cnt exceeded");
    cr_assert_null(tcpshm_server_find_conn(h.srv, "r4"));
    /* slots stay taken after their clients leave */
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    for (int k = 0; k < 20; k++) {
        th_poll(&h, 1000000);
        usleep(50);
    }
    cr_assert_eq(h.srv_side.disconnects, 3, "%s", h.srv_side.last_reason);
    fd = raw_login("r5", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Max client cnt exceeded");
    close(fd);
    good_unharmed();
    const char *const files[] = {"server_good.ptcp", "server_r1.ptcp", "server_r2.ptcp",
                                 "server_r3.ptcp"};
    server_dir_holds_only(files, 4);
}

Test(tcp_hostile, application_rejects)
{
    good_setup();
    h.use_fixed_group = true;
    h.reject_group = -1;
    h.reject_text = "go away";
    raw_rsp r;
    int fd = raw_login("eve", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "go away");
    cr_assert_str_eq(r.server_name, "server");
    expect_dropped(fd, 0, "go away", 0);
    cr_assert_str_eq(h.srv_side.last_reason, "go away");
    /* without a text: "Login Reject" */
    h.reject_text = NULL;
    fd = raw_login("eve", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Login Reject");
    expect_dropped(fd, 1, "Login Reject", 0);
    /* a group out of range is refused too, with a system error */
    h.reject_group = 7;
    fd = raw_login("eve", "", &r);
    cr_assert_eq(r.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(r.error_msg, "Login Reject");
    cr_assert_eq(h.srv_side.system_errors, 1);
    size_t extra;
    cr_assert(raw_wait_closed(fd, &extra));
    close(fd);
    good_unharmed();
    server_dir_holds_only(only_good, 1);
}

/* ===================== a hostile server ===================== */

static int fake_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    int one = 1;
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    return fd;
}

/* The victim logs in to the fake server; returns the accepted socket after
 * reading and checking the login. */
static int fake_accept_login(int lfd, uint16_t port, uint32_t victim)
{
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_client_login(h.clients[victim].cl, "127.0.0.1", port, false, NULL, h.now, &err),
                 0, "%s", err.text);
    int fd = -1;
    for (int r = 0; r < 2000 && fd < 0; r++) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            th_poll(&h, 1000000);
            usleep(50);
        }
    }
    cr_assert_geq(fd, 0, "the client never connected");
    set_nonblock_nodelay(fd);
    uint8_t lg[LOGIN_BYTES];
    bool eof;
    cr_assert_eq(raw_recv(fd, lg, sizeof lg, 2000, &eof), LOGIN_BYTES);
    cr_assert_eq(le16(lg), 52);
    cr_assert_eq(le16(lg + 2), 1);
    cr_assert_str_eq((const char *)lg + 8 + 10, h.clients[victim].name);
    cr_assert_eq(tcpshm_client_get_state(h.clients[victim].cl), TCPSHM_CLIENT_LOGGING_IN);
    return fd;
}

static bool victim_idle(th *t, void *arg)
{
    return tcpshm_client_get_state(t->clients[(uintptr_t)arg].cl) == TCPSHM_CLIENT_IDLE;
}

static void valid_rsp(uint8_t out[RSP_BYTES], uint8_t status, const char *server, const char *msg)
{
    tcpshm_login_rsp r;
    memset(&r, 0, sizeof r);
    r.status = status;
    snprintf(r.server_name, sizeof r.server_name, "%s", server);
    snprintf(r.error_msg, sizeof r.error_msg, "%s", msg);
    cr_assert_eq(tcpshm_login_rsp_encode(&h.cfg, &r, out), RSP_BYTES);
}

typedef enum { SYS_ERROR, REJECT } outcome;

/* One exchange with the fake server: answer the login with bytes, expect
 * the outcome and a reason containing want. */
static void fake_case(const void *answer, size_t len, outcome want_kind, const char *want)
{
    uint16_t port;
    int lfd = fake_listen(&port);
    uint32_t v = th_add_client(&h, "victim");
    int fd = fake_accept_login(lfd, port, v);
    raw_send(fd, answer, len);
    cr_assert(th_pump_until(&h, victim_idle, (void *)(uintptr_t)v, 2000), "the client is still in state %d",
              (int)tcpshm_client_get_state(h.clients[v].cl));
    th_side *s = &h.clients[v].side;
    if (want_kind == SYS_ERROR) {
        cr_assert_eq(s->system_errors, 1, "system errors %u, rejects %u (%s)", s->system_errors,
                     s->rejects, s->last_reason);
        cr_assert_eq(s->rejects, 0);
    } else {
        cr_assert_eq(s->rejects, 1, "rejects %u, system errors %u (%s)", s->rejects,
                     s->system_errors, s->last_reason);
        cr_assert_eq(s->system_errors, 0);
    }
    cr_assert_eq(s->logons + s->mismatches + s->disconnects, 0);
    cr_assert_not_null(strstr(s->last_reason, want), "reason \"%s\" does not say \"%s\"", s->last_reason,
                       want);
    cr_assert_str_eq(tcpshm_client_last_server(h.clients[v].cl), "", "a bad server name was recorded");
    /* the client dropped the connection */
    size_t extra;
    cr_assert(raw_wait_closed(fd, &extra), "the client kept the connection");
    close(fd);
    /* and it is usable again: a real server takes its login */
    th_start_server(&h, "server");
    th_login(&h, v);
    cr_assert(th_pump_until(&h, th_client_logged_in, (void *)(uintptr_t)v, 2000), "relogin: %s",
              s->last_reason);
    cr_assert_str_eq(tcpshm_client_last_server(h.clients[v].cl), "server");
    close(lfd);
}

Test(tcp_hostile, server_sends_http_garbage)
{
    const char *g = "HTTP/1.1 400 Bad Request\r\n\r\n";
    fake_case(g, strlen(g), SYS_ERROR, "Msg size larger than recv buf max size");
}

Test(tcp_hostile, server_sends_zeros)
{
    uint8_t z[16];
    memset(z, 0, sizeof z);
    fake_case(z, sizeof z, SYS_ERROR, "Bad frame");
}

Test(tcp_hostile, server_response_wrong_type)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "fake", "");
    put_le16(b + 2, 3);
    fake_case(b, sizeof b, SYS_ERROR, "login response: message type 3, expected 2");
}

Test(tcp_hostile, server_response_wrong_size)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "fake", "");
    put_le16(b, 60);
    fake_case(b, 64, SYS_ERROR, "login response: size 60, expected 68");
}

Test(tcp_hostile, server_response_heartbeat_first)
{
    /* a heartbeat where the response should be is not a response */
    uint8_t b[8];
    put_header(b, 8, 0, 0);
    fake_case(b, sizeof b, SYS_ERROR, "login response: message type 0, expected 2");
}

Test(tcp_hostile, server_rejects_with_message)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_ERROR, "fake", "not today");
    fake_case(b, sizeof b, REJECT, "not today");
}

Test(tcp_hostile, server_unknown_status)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "fake", "");
    b[8 + 9] = 3;
    fake_case(b, sizeof b, SYS_ERROR, "unknown status 3");
}

Test(tcp_hostile, server_ok_with_empty_name)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "", "");
    fake_case(b, sizeof b, SYS_ERROR, "empty server name");
}

Test(tcp_hostile, server_ok_with_path_name)
{
    /* the server name becomes part of a file name: "../x" must not */
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "../x", "");
    fake_case(b, sizeof b, SYS_ERROR, "server name");
    char path[600];
    snprintf(path, sizeof path, "%s/victim_../x.ptcp", h.clients[0].dir);
    cr_assert_eq(file_size(path), -1);
    snprintf(path, sizeof path, "%s/x.ptcp", h.dir);
    cr_assert_eq(file_size(path), -1);
}

Test(tcp_hostile, server_unterminated_server_name)
{
    uint8_t b[RSP_BYTES];
    valid_rsp(b, TCPSHM_LOGIN_OK, "fake", "");
    memset(b + 8 + 10, 'S', 16);
    fake_case(b, sizeof b, SYS_ERROR, "server name is not NUL-terminated");
}

Test(tcp_hostile, server_closes_without_answer)
{
    uint16_t port;
    int lfd = fake_listen(&port);
    uint32_t v = th_add_client(&h, "victim");
    int fd = fake_accept_login(lfd, port, v);
    close(fd);
    cr_assert(th_pump_until(&h, victim_idle, (void *)(uintptr_t)v, 2000));
    cr_assert_eq(h.clients[v].side.system_errors, 1);
    cr_assert_str_eq(h.clients[v].side.last_reason, "Remote close");
    close(lfd);
}

Test(tcp_hostile, server_never_answers)
{
    uint16_t port;
    int lfd = fake_listen(&port);
    uint32_t v = th_add_client(&h, "victim");
    int fd = fake_accept_login(lfd, port, v);
    /* heartbeats are not a response either; the login times out */
    int64_t t0 = h.now;
    while (tcpshm_client_get_state(h.clients[v].cl) != TCPSHM_CLIENT_IDLE &&
           h.now - t0 < 3 * h.cfg.new_conn_timeout) {
        th_poll(&h, 10000000);
        usleep(20);
    }
    cr_assert_eq(tcpshm_client_get_state(h.clients[v].cl), TCPSHM_CLIENT_IDLE);
    cr_assert_eq(h.clients[v].side.system_errors, 1);
    cr_assert_not_null(strstr(h.clients[v].side.last_reason, "Timeout"), "%s",
                       h.clients[v].side.last_reason);
    close(fd);
    close(lfd);
}
