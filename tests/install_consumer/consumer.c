/* Uses the installed library through its public headers only (ci/install-check
 * compiles it with the installed include directory and nothing else): a
 * server and a client in one process on 127.0.0.1, queues in DIR. The
 * client logs in, pushes one message, the server receives it; then the
 * client is created again on a copy of the real OS env (a user's own env,
 * which sets version) and logs in again. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tcpshm/client.h>
#include <tcpshm/server.h>
#include <tcpshm/version.h>

#define HELLO_TYPE 100u

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool got_hello;

static void on_server_msg(void *user, tcpshm_conn *conn, tcpshm_msg_header *msg)
{
    (void)user;
    got_hello = msg->msg_type == HELLO_TYPE && msg->size == TCPSHM_HEADER_SIZE + 5 &&
                memcmp(msg + 1, "hello", 5) == 0;
    tcpshm_conn_pop(conn);
}

/* Polls both ends until done() or 5 seconds pass. */
static bool poll_until(tcpshm_server *s, tcpshm_client *cl, bool (*done)(tcpshm_client *))
{
    for (int64_t end = now_ns() + 5000000000; now_ns() < end;) {
        int64_t now = now_ns();
        tcpshm_server_poll_ctl(s, now);
        tcpshm_server_poll_tcp(s, now, 0);
        tcpshm_client_poll_tcp(cl, now);
        if (done(cl))
            return true;
    }
    return false;
}
static bool logged_in(tcpshm_client *cl) { return tcpshm_client_get_state(cl) == TCPSHM_CLIENT_LOGGED_IN; }
static bool hello_arrived(tcpshm_client *cl)
{
    (void)cl;
    return got_hello;
}

/* Logs cl in to s, or says why not. */
static bool login(tcpshm_server *s, tcpshm_client *cl)
{
    tcpshm_error err = {0};
    if (tcpshm_client_login(cl, "127.0.0.1", tcpshm_server_port(s), false, NULL, now_ns(), &err) != 0) {
        fprintf(stderr, "consumer: login: %s\n", err.text);
        return false;
    }
    if (!poll_until(s, cl, logged_in)) {
        fprintf(stderr, "consumer: not logged in after 5 s\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer DIR\n");
        return 2;
    }
    /* the library it runs with is the one it was compiled against */
    if (strcmp(tcpshm_version(), TCPSHM_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: runs with tcpshm %s, compiled against %s\n", tcpshm_version(),
                TCPSHM_VERSION_STRING);
        return 1;
    }
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    tcpshm_server_callbacks scb = {.on_msg = on_server_msg};
    tcpshm_server *s = NULL;
    tcpshm_client *cl = NULL;
    tcpshm_error err = {0};
    if (tcpshm_server_create(&s, &cfg, NULL, "srv", argv[1], &scb, &err) != 0 ||
        tcpshm_server_start(s, "127.0.0.1", 0, &err) != 0 ||
        tcpshm_client_create(&cl, &cfg, NULL, "cli", argv[1], NULL, &err) != 0) {
        fprintf(stderr, "consumer: %s\n", err.text);
        return 1;
    }
    if (!login(s, cl))
        return 1;
    tcpshm_conn *c = tcpshm_client_conn(cl);
    tcpshm_msg_header *h = tcpshm_conn_alloc(c, 5);
    h->msg_type = HELLO_TYPE;
    memcpy(h + 1, "hello", 5);
    if (tcpshm_conn_push(c) != 0 || !poll_until(s, cl, hello_arrived)) {
        fprintf(stderr, "consumer: the message did not arrive\n");
        return 1;
    }
    tcpshm_client_destroy(cl);

    /* A user's env: a copy of the real OS one, as a wrapper would start. */
    tcpshm_env mine = *tcpshm_env_posix();
    if (mine.version != TCPSHM_ENV_VERSION ||
        tcpshm_client_create(&cl, &cfg, &mine, "cli", argv[1], NULL, &err) != 0) {
        fprintf(stderr, "consumer: own env: %s\n", err.text);
        return 1;
    }
    bool ok = login(s, cl) && strcmp(tcpshm_client_last_server(cl), "srv") == 0 &&
              tcpshm_conn_seq_end(tcpshm_client_conn(cl)) == 1;
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    printf("consumer (tcpshm %s): %s\n", tcpshm_version(), ok ? "ok" : "second login wrong");
    return ok ? 0 : 1;
}
