/* The echo programs as processes, against hostile or absent peers:
 *   server_log_escapes_a_hostile_client_name  a raw TCP login whose client
 *       name holds "\n" and "\x1b[31m": echo_server's log line shows the
 *       name escaped (\x0a, \x1b), no raw control byte, no forged line
 *   client_gives_up_after_its_timeout         echo_client --timeout 1
 *       against a port nobody listens on exits 1 within a few seconds
 *   client_timeout_must_be_a_number         --timeout soon: exit 2
 *   second_client_of_a_name_is_refused      a second echo_client with the same
 *       --name and --dir while the first runs exits 1 at once, naming the
 *       first's pid, and leaves the directory's bytes as they were */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_procs.h"
#include "escape.h"
#include "tcpshm/frame.h"
#include "tcpshm/login.h"

#ifndef ECHO_SERVER
#error "ECHO_SERVER and ECHO_CLIENT must be the paths of the built echo programs"
#endif

static char g_dir[256];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/tcpshm-echo-hardening-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(echo_hardening, .init = setup, .fini = teardown, .timeout = 60);

/* The log into the test's output, each line escaped (the raw bytes are
 * what the test looks for; they must not reach the terminal here either):
 * a line of printable ASCII as it is, any other escaped. */
static void dump(const char *what, const char *text)
{
    fprintf(stderr, "---- %s\n", what);
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        char copy[512];
        snprintf(copy, sizeof copy, "%.*s", (int)n, line);
        bool raw = true;
        for (const unsigned char *c = (const unsigned char *)copy; *c; c++)
            raw = raw && *c >= 0x20 && *c < 0x7f;
        fprintf(stderr, "%s%s\n", raw ? "" : "(escaped here) ", raw ? copy : CLI_ESC(copy));
        line += n + (eol ? 1 : 0);
    }
    fprintf(stderr, "----\n");
}

#define HOSTILE_NAME "ev\nFORGED\x1b[31m" /* 14 bytes: fits the default 16-byte name field */
#define ESCAPED_NAME "ev\\x0aFORGED\\x1b[31m"

Test(echo_hardening, server_log_escapes_a_hostile_client_name)
{
    char log[300];
    snprintf(log, sizeof log, "%s/server.log", g_dir);
    uint16_t port;
    char srv_dir[300];
    snprintf(srv_dir, sizeof srv_dir, "%s/server", g_dir);
    pid_t srv = start_echo_server(ECHO_SERVER, log, "srv", srv_dir, &port);

    /* a raw login, as the wire carries it */
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    tcpshm_login login;
    memset(&login, 0, sizeof login);
    memcpy(login.client_name, HOSTILE_NAME, sizeof HOSTILE_NAME);
    uint8_t msg[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_encode(&cfg, &login, msg);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    cr_assert_eq(send(fd, msg, len, 0), (ssize_t)len);
    /* the refusal, then the close */
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t rsp_buf[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t want = tcpshm_padded_size(tcpshm_login_rsp_size(&cfg)), got = 0;
    while (got < want) {
        ssize_t n = recv(fd, rsp_buf + got, want - got, 0);
        cr_assert_gt(n, 0, "no login response from echo_server (got %u of %u bytes)", got, want);
        got += (uint32_t)n;
    }
    close(fd);
    tcpshm_login_rsp rsp;
    tcpshm_error err;
    cr_assert_eq(tcpshm_login_rsp_decode(&cfg, rsp_buf, want, &rsp, &err), 0, "%s", err.text);
    cr_assert_eq(rsp.status, TCPSHM_LOGIN_ERROR);
    cr_assert_str_eq(rsp.error_msg, "Invalid client name");

    /* the server logs the rejection (after sending the response) */
    static char out[1 << 16];
    for (long long end = now_ms() + 10000; now_ms() < end && !strstr(out, "login rejected"); msleep(5))
        slurp(log, out, sizeof out);
    stop_server(srv);
    size_t n = slurp(log, out, sizeof out);
    dump("echo_server's log", out);
    cr_assert_not_null(strstr(out, "login rejected for client " ESCAPED_NAME ": Invalid client name\n"),
                       "the rejection is not logged with the escaped name");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        cr_assert(c == '\n' || (c >= 0x20 && c < 0x7f), "raw byte 0x%02x at %zu of the log", c, i);
    }
    /* every line is one of the server's, none started by the peer's newline */
    for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
        cr_assert(line[0] >= '0' && line[0] <= '9', "a line that is not a timestamped log line: %.40s", line);
        if (!strchr(line, '\n'))
            break;
    }
}

/* No server at all: with --timeout 1 the client gives up (exit 1, saying
 * why) within a few seconds instead of retrying forever. */
Test(echo_hardening, client_gives_up_after_its_timeout)
{
    char port_s[16], cl_dir[300], log[300];
    snprintf(port_s, sizeof port_s, "%u", free_port()); /* nobody listens there */
    snprintf(cl_dir, sizeof cl_dir, "%s/client", g_dir);
    snprintf(log, sizeof log, "%s/client.log", g_dir);
    char *argv[] = {ECHO_CLIENT, "--name", "alice", "--port", port_s, "--dir", cl_dir, "--timeout", "1", NULL};
    long long t0 = now_ms();
    pid_t pid = spawn(argv, log);
    int st = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() - t0 < 10000)
        msleep(10);
    long long took = now_ms() - t0;
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    static char out[1 << 16];
    slurp(log, out, sizeof out);
    dump("echo_client's output", out);
    cr_assert_eq(done, pid, "echo_client --timeout 1 still runs after %lld ms", took);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "echo_client ended with wait status 0x%x, expected exit 1", st);
    cr_assert_geq(took, 1000, "gave up after %lld ms, before its timeout", took);
    cr_assert_not_null(strstr(out, "giving up: 1 s without a login (--timeout 1"), "no reason given");
}

/* --timeout takes seconds: a bad value is a usage error. */
Test(echo_hardening, client_timeout_must_be_a_number)
{
    char *argv[] = {ECHO_CLIENT, "--name", "alice", "--timeout", "soon", NULL};
    char log[300];
    snprintf(log, sizeof log, "%s/usage.log", g_dir);
    pid_t pid = spawn(argv, log);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2, "wait status 0x%x, expected exit 2", st);
    static char out[4096];
    slurp(log, out, sizeof out);
    cr_assert_not_null(strstr(out, "--timeout wants a number"), "%s", out);
}

/* Every file of dir as "[name size fnv1a-64]", one after another. */
static void dir_snapshot(const char *dir, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        uint64_t h = 14695981039346656037ull, n = 0;
        for (int c; (c = fgetc(f)) != EOF; n++)
            h = (h ^ (uint64_t)(unsigned char)c) * 1099511628211ull;
        fclose(f);
        at += (size_t)snprintf(out + at, cap - at, "[%s %llu %016llx]", e->d_name, (unsigned long long)n,
                               (unsigned long long)h);
        cr_assert_lt(at, cap, "snapshot buffer too small");
    }
    closedir(d);
}

/* Issue 13 item 5: two echo_client processes on one state directory. The
 * first is logged in and idle (--count 0 would end it: it runs with a
 * count it cannot reach while the test holds it); the second must exit at
 * once with "in use by another process (pid <first>)" and write nothing. */
Test(echo_hardening, second_client_of_a_name_is_refused)
{
    char srv_log[300], log1[300], log2[300], cl_dir[300], port_s[16];
    snprintf(srv_log, sizeof srv_log, "%s/server.log", g_dir);
    snprintf(log1, sizeof log1, "%s/client1.log", g_dir);
    snprintf(log2, sizeof log2, "%s/client2.log", g_dir);
    snprintf(cl_dir, sizeof cl_dir, "%s/client", g_dir);
    char srv_dir[300];
    snprintf(srv_dir, sizeof srv_dir, "%s/server", g_dir);
    uint16_t port;
    pid_t srv = start_echo_server(ECHO_SERVER, srv_log, "srv", srv_dir, &port);
    snprintf(port_s, sizeof port_s, "%u", port);
    char *argv[] = {ECHO_CLIENT, "--name", "alice", "--port", port_s, "--dir", cl_dir, "--count", "1000000000", NULL};
    pid_t first = spawn(argv, log1);
    /* wait until the first has logged in: its state is on disk then */
    static char out[1 << 16];
    for (long long end = now_ms() + 10000; now_ms() < end && !strstr(out, "logged in"); msleep(5))
        slurp(log1, out, sizeof out);
    cr_assert_not_null(strstr(out, "logged in"), "the first echo_client did not log in:\n%s", out);
    /* stop it where it is (a stopped process keeps its lock), so the bytes
     * stay still while the second runs */
    cr_assert_eq(kill(first, SIGSTOP), 0);
    static char before[4096], after[4096];
    dir_snapshot(cl_dir, before, sizeof before);

    pid_t second = spawn(argv, log2);
    int st = 0;
    pid_t done = 0;
    for (long long end = now_ms() + 10000; (done = waitpid(second, &st, WNOHANG)) == 0 && now_ms() < end;)
        msleep(10);
    if (done == 0) {
        kill(second, SIGKILL);
        waitpid(second, NULL, 0);
    }
    dir_snapshot(cl_dir, after, sizeof after);
    kill(first, SIGKILL);
    waitpid(first, NULL, 0);
    stop_server(srv);

    slurp(log2, out, sizeof out);
    dump("the second echo_client's output", out);
    cr_assert_eq(done, second, "the second echo_client still runs beside the first");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "wait status 0x%x, expected exit 1", st);
    char want[96];
    snprintf(want, sizeof want, "is in use by another process (pid %ld)", (long)first);
    cr_assert_not_null(strstr(out, want), "the error does not say '%s'", want);
    cr_assert_str_eq(after, before, "the second echo_client changed the client directory");
}
