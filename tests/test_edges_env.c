/* The core's refusals and env-failure paths that the other suites leave
 * untaken (ci/coverage lists what is left): paths too long, a failing
 * stat/lock/port/mkdir/open, corrupt .lastserver records, SHM segments that
 * do not fit, server and client API misuse. On the in-memory env (testenv/),
 * with single members replaced by failing ones, and libfiu points. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <string.h>

#include "edges_bed.h"
#include "lastserver.h"
#include "name_lock.h"
#include "tcpshm/client.h"
#include "tcpshm/ptcp_queue.h"
#include "tcpshm/server.h"
#include "tcpshm/shm_queue.h"

static venv *v;
static tcpshm_env E; /* venv's env; a test replaces members to make them fail */
static char long_dir[4200];

static void setup(void)
{
    cr_assert_eq(fiu_init(0), 0);
    v = edges_venv(&E);
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
}
static void teardown(void) { venv_destroy(v); }
TestSuite(edges_env, .init = setup, .fini = teardown, .timeout = 60);

static int fail_size(void *ctx, int fd, uint64_t *size) { (void)ctx, (void)fd, (void)size; errno = EIO; return -1; }
static int fail_port(void *ctx, int fd) { (void)ctx, (void)fd; errno = EBADF; return -1; }
static int fail_lock(void *ctx, int fd, int *holder) { (void)ctx, (void)fd, (void)holder; errno = EIO; return -1; }
static int busy_lock(void *ctx, int fd, int *holder) { (void)ctx, (void)fd, *holder = -1; errno = EAGAIN; return -1; }
static int fail_mkdir(void *ctx, const char *p, unsigned m) { (void)ctx, (void)p, (void)m; errno = EACCES; return -1; }

/* ----------------------------------------------------------- name_lock.c */

Test(edges_env, name_lock_refusals)
{
    tcpshm_error err = {0};
    int fd = 7;
    cr_assert_eq(tcpshm_name_lock(&E, long_dir, "n", 0, &fd, &err), TCPSHM_E_ARG);
    cr_assert_eq(fd, -1);
    tcpshm_env e = E;
    e.mkdir = fail_mkdir;
    cr_assert_eq(tcpshm_name_lock(&e, "d", "n", 0, &fd, &err), TCPSHM_E_SYSTEM);
    cr_assert_not_null(strstr(err.text, "cannot create directory"), "%s", err.text);
    cr_assert_eq(fiu_enable("tcpshm/file/open", 1, NULL, 0), 0);
    cr_assert_eq(tcpshm_name_lock(&E, "d", "n", 0, &fd, &err), TCPSHM_E_SYSTEM);
    fiu_disable("tcpshm/file/open");
    cr_assert_not_null(strstr(err.text, "cannot open"), "%s", err.text);
    e = E;
    e.file_lock = fail_lock;
    cr_assert_eq(tcpshm_name_lock(&e, "d", "n", 0, &fd, &err), TCPSHM_E_SYSTEM);
    cr_assert_not_null(strstr(err.text, "cannot lock"), "%s", err.text);
    e.file_lock = busy_lock; /* held, by a process the env cannot name */
    cr_assert_eq(tcpshm_name_lock(&e, "d", "n", 0640, &fd, &err), TCPSHM_E_IN_USE);
    cr_assert_null(strstr(err.text, "pid"), "%s", err.text);
    cr_assert_eq(tcpshm_name_lock(&E, "d", "n", 0640, &fd, &err), 0, "%s", err.text);
    cr_assert_geq(fd, 0);
    tcpshm_name_unlock(&E, fd);
    tcpshm_name_unlock(&E, -1); /* nothing */
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* ---------------------------------------------------------- lastserver.c */

struct last_file {
    char magic[8];
    uint32_t version;
    uint32_t reserved;
    char name[TCPSHM_NAME_MAX + 1];
};

Test(edges_env, lastserver_refusals)
{
    tcpshm_error err = {0};
    char name[TCPSHM_NAME_MAX + 1];
    cr_assert_eq(tcpshm_lastserver_read(&E, long_dir, "c", name, &err), TCPSHM_E_ARG);
    cr_assert_eq(tcpshm_lastserver_write(&E, long_dir, "c", "s", 0, false, &err), TCPSHM_E_ARG);
    tcpshm_env e = E;
    e.mkdir = fail_mkdir;
    cr_assert_eq(tcpshm_lastserver_write(&e, "d", "c", "s", 0, false, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(tcpshm_lastserver_write(&E, "d", "c", "srv", 0, false, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), 0, "%s", err.text);
    cr_assert_str_eq(name, "srv");
    e = E;
    e.file_size = fail_size;
    cr_assert_eq(tcpshm_lastserver_read(&e, "d", "c", name, &err), TCPSHM_E_SYSTEM);
    cr_assert_not_null(strstr(err.text, "cannot stat"), "%s", err.text);
    /* wrong size, wrong magic, wrong version, a name without its NUL */
    struct last_file f;
    size_t len = 0;
    memcpy(&f, venv_file_data(v, "d/c.lastserver", &len), sizeof f);
    cr_assert_eq(len, sizeof f);
    cr_assert_eq(venv_file_write(v, "d/c.lastserver", &f, sizeof f - 1), 0);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "bytes, expected"), "%s", err.text);
    struct last_file bad = f;
    bad.version = 2;
    cr_assert_eq(venv_file_write(v, "d/c.lastserver", &bad, sizeof bad), 0);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a lastserver file"), "%s", err.text);
    bad = f;
    memset(bad.name, 'x', sizeof bad.name);
    cr_assert_eq(venv_file_write(v, "d/c.lastserver", &bad, sizeof bad), 0);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a valid name"), "%s", err.text);
    cr_assert_str_eq(name, "", "nothing is returned from a bad record");
}

/* ---------------------------------------------------------- ptcp_queue.c */

Test(edges_env, ptcp_queue_refusals)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    char path[64];
    cr_assert_eq(tcpshm_ptcp_queue_path(path, sizeof path, long_dir, "a", "b"), TCPSHM_E_ARG);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, long_dir, "a", "b", &qc, &err), TCPSHM_E_ARG);
    tcpshm_env e = E;
    e.mkdir = fail_mkdir;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &e, "d", "a", "b", &qc, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    e = E;
    e.file_size = fail_size;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &e, "d", "a", "b", &qc, &err), TCPSHM_E_SYSTEM);
    /* the other byte order is refused by name; too short to verify at all */
    size_t len = 0;
    const uint8_t *data = venv_file_data(v, "d/a_b.ptcp", &len);
    static uint8_t copy[1 << 16];
    cr_assert_leq(len, sizeof copy);
    memcpy(copy, data, len);
    tcpshm_ptcp_queue_config big = qc;
    big.little_endian = false;
    cr_assert_eq(tcpshm_ptcp_queue_verify(copy, len, "a", "b", &big, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "big"), "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_verify(copy, 8, "a", "b", &qc, &err), TCPSHM_E_CORRUPT);
    /* a corrupt file (its magic) opened without an error struct */
    copy[0] ^= 0xff;
    cr_assert_eq(venv_file_write(v, "d/a_b.ptcp", copy, len), 0);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, NULL), TCPSHM_E_CORRUPT,
                 "a corrupt file without an error struct still gives its code");
}

/* ----------------------------------------------------------- shm_queue.c */

Test(edges_env, shm_queue_refusals)
{
    tcpshm_error err = {0};
    char name[16];
    cr_assert_eq(tcpshm_shm_queue_name(name, sizeof name, "a-long-name", "b-long-name"), TCPSHM_E_ARG);
    tcpshm_shm_queue q;
    static const tcpshm_shm_queue_config bad[] = {
        {.capacity = 4100, .max_msg_size = 128, .create = true},          /* capacity % 8 */
        {.capacity = 4096, .max_msg_size = 8, .create = true},            /* max below 16 */
        {.capacity = 4096, .max_msg_size = 1u << 20, .create = true},     /* max above the largest */
        {.capacity = 4096, .max_msg_size = 4096, .create = true},         /* below two messages */
        {.capacity = (1u << 30) + 8, .max_msg_size = 128, .create = true}, /* above 1 GiB */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(tcpshm_shm_queue_open(&q, &E, "/tcpshm_a_b", &bad[i], &err), TCPSHM_E_CONFIG, "case %zu", i);
    tcpshm_shm_queue_config good = {.capacity = 4096, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&q, &E, "/tcpshm_a_b", &good, &err), 0, "%s", err.text);
    tcpshm_shm_queue_close(&q);
    tcpshm_shm_queue_config other = good;
    other.capacity = 8192; /* the segment is 4096 */
    cr_assert_neq(tcpshm_shm_queue_open(&q, &E, "/tcpshm_a_b", &other, &err), 0);
    tcpshm_env e = E;
    e.file_size = fail_size;
    cr_assert_eq(tcpshm_shm_queue_open(&q, &e, "/tcpshm_a_b", &good, &err), TCPSHM_E_SYSTEM);
}

/* ------------------------------------------------- server.c and client.c */

Test(edges_env, server_and_client_misuse)
{
    tcpshm_config cfg;
    edges_config(&cfg);
    cfg.queue_size = 4096;
    tcpshm_server_callbacks scb = {0};
    tcpshm_client_callbacks ccb = {0};
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    tcpshm_client *cl = NULL;
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", long_dir, &scb, &err), TCPSHM_E_ARG);
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &E, "cli", long_dir, &ccb, &err), TCPSHM_E_ARG);
    tcpshm_server_destroy(NULL);
    tcpshm_client_destroy(NULL);
    /* listen fails (point), the port cannot be read (env), started twice */
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(fiu_enable("tcpshm/net/listen", 1, NULL, 0), 0);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), TCPSHM_E_SYSTEM);
    fiu_disable("tcpshm/net/listen");
    tcpshm_server_destroy(s);
    tcpshm_env e = E;
    e.local_port = fail_port;
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &e, "srv", "s", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), TCPSHM_E_SYSTEM);
    cr_assert_not_null(strstr(err.text, "listening port"), "%s", err.text);
    tcpshm_server_destroy(s);
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9001, &err), TCPSHM_E_ARG);
    /* groups beyond the configuration are ignored */
    tcpshm_server_poll_tcp(s, 0, cfg.tcp_groups);
    tcpshm_server_poll_shm(s, 0, cfg.shm_groups);
    /* a client logs in with user data; a second login is refused */
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &E, "cli", "c", &ccb, &err), 0, "%s", err.text);
    uint8_t ud[1] = {42};
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, ud, 0, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, ud, 0, &err), TCPSHM_E_ARG);
    for (int i = 0; i < 20 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(cl, i * 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* A queue file's bytes with one field changed, verified without a
 * configuration (the file's own capacity and byte order). */
#include "ptcp_file.h"

static size_t file_copy(const char *path, uint8_t *out, size_t cap)
{
    size_t len = 0;
    const uint8_t *data = venv_file_data(v, path, &len);
    cr_assert_not_null(data, "%s", path);
    cr_assert_leq(len, cap);
    memcpy(out, data, len);
    return len;
}

Test(edges_env, ptcp_verify_fields_one_at_a_time)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = false};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    static uint8_t good[1 << 12], b[1 << 12];
    size_t len = file_copy("d/a_b.ptcp", good, sizeof good);
    struct tcpshm_ptcp_file *f = (struct tcpshm_ptcp_file *)(void *)b;
    /* a big-endian file passes whole (its state checked big-endian) */
    cr_assert_eq(tcpshm_ptcp_queue_verify(good, len, "a", "b", NULL, &err), 0, "%s", err.text);
    /* and is refused by a little-endian configuration, naming both */
    tcpshm_ptcp_queue_config little = qc;
    little.little_endian = true;
    cr_assert_eq(tcpshm_ptcp_queue_verify(good, len, "a", "b", &little, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "stores big-endian headers but the configuration says little"), "%s",
                       err.text);
    memcpy(b, good, len);
    f->capacity = 1020;
    cr_assert_eq(tcpshm_ptcp_queue_verify(b, len, "a", "b", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a valid capacity"), "%s", err.text);
    f->capacity = (1u << 30) + 8;
    cr_assert_eq(tcpshm_ptcp_queue_verify(b, len, "a", "b", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a valid capacity"), "%s", err.text);
    /* another pair: by the remote name alone, and with no local name given */
    cr_assert_eq(tcpshm_ptcp_queue_verify(good, len, "a", "x", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not (a, x)"), "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_verify(good, len, NULL, "x", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not (a, x)"), "%s", err.text);
    /* a write index off the 8-byte grid */
    memcpy(b, good, len);
    f->slot[f->active].write_idx += 4;
    cr_assert_eq(tcpshm_ptcp_queue_verify(b, len, "a", "b", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "indices out of range"), "%s", err.text);
}

static int huge_size(void *ctx, int fd, uint64_t *size)
{
    (void)ctx, (void)fd;
    *size = (uint64_t)PTCP_HEADER_SIZE + (1u << 30) + 8;
    return 0;
}

Test(edges_env, ptcp_open_refusals_by_config_and_size)
{
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    static const tcpshm_ptcp_queue_config bad[] = {
        {.capacity = 1 << 20, .max_msg_size = 65544}, /* above the largest */
        {.capacity = 1 << 20, .max_msg_size = 132},   /* not a multiple of 8 */
        {.capacity = (1u << 30) + 8, .max_msg_size = 128},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &bad[i], &err), TCPSHM_E_CONFIG, "case %zu", i);
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    tcpshm_env e = E;
    e.file_size = huge_size;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &e, "d", "a", "b", &qc, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "too long"), "%s", err.text);
}

/* The segment header: each constant scribbled, seen by check_header. */
Test(edges_env, shm_header_fields_one_at_a_time)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue q;
    tcpshm_shm_queue_config c = {.capacity = 4096, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&q, &E, "/tcpshm_a_b", &c, &err), 0, "%s", err.text);
    uint8_t *h = (uint8_t *)q.seg, saved[24];
    memcpy(saved, h, sizeof saved);
    cr_assert_eq(tcpshm_shm_queue_check_header(&q, &err), 0, "%s", err.text);
    struct { size_t off; uint32_t value; const char *says; int code; } cases[] = {
        {8, 2, "version 2", TCPSHM_E_CORRUPT},        /* version */
        {12, 64, "foreign header", TCPSHM_E_CORRUPT}, /* header_size */
        {20, 0x04030201u, "foreign header", TCPSHM_E_CORRUPT}, /* endian mark */
        {16, 8192, "capacity 8192", TCPSHM_E_CORRUPT},  /* capacity */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(h + cases[i].off, &cases[i].value, 4);
        cr_assert_eq(tcpshm_shm_queue_check_header(&q, &err), cases[i].code, "case %zu", i);
        cr_assert_not_null(strstr(err.text, cases[i].says), "case %zu: %s", i, err.text);
        memcpy(h, saved, sizeof saved);
    }
    /* magic still 0 with the version set: another process is creating it */
    memset(h, 0, 8);
    cr_assert_eq(tcpshm_shm_queue_check_header(&q, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(err.sys_errno, EAGAIN);
    memcpy(h, saved, sizeof saved);
    /* pop with nothing in front does nothing; the application cannot push
     * the heartbeat type (the type is the library's) */
    tcpshm_shm_queue_pop(&q);
    tcpshm_msg_header *m = tcpshm_shm_queue_alloc(&q, 8);
    cr_assert_not_null(m);
    m->msg_type = TCPSHM_MSG_HEARTBEAT;
    cr_assert_eq(tcpshm_shm_queue_push(&q), TCPSHM_E_ARG);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_shm_queue_push(&q), 0);
    tcpshm_shm_queue_close(&q);
}

/* ------------------------------- the same runs without any callback set */

Test(edges_env, no_callbacks_set)
{
    tcpshm_config cfg;
    edges_config(&cfg);
    cfg.queue_size = 4096;
    cfg.tcp_nodelay = false; /* and no TCP_NODELAY */
    tcpshm_error err = {0};
    tcpshm_client *cl = NULL;
    tcpshm_server *s = NULL;
    /* connect refused, then a server that refuses a second login of a live name */
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &E, "cli", "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    for (int i = 0; i < 5; i++)
        tcpshm_client_poll_tcp(cl, i * 1000);
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_IDLE, "refused, quietly");
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    for (int i = 0; i < 20 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(cl, i * 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(cl), TCPSHM_CLIENT_LOGGED_IN);
    /* a message to a server without on_msg: it stays queued, nothing breaks */
    tcpshm_msg_header *m = tcpshm_conn_alloc(tcpshm_client_conn(cl), 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_conn_push(tcpshm_client_conn(cl)), 0);
    for (int i = 20; i < 30; i++) {
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(cl, i * 1000);
    }
    tcpshm_conn *sc = tcpshm_server_find_conn(s, "cli");
    cr_assert_not_null(sc);
    cr_assert_not_null(tcpshm_conn_front(sc), "the message waits for the application");
    tcpshm_client_destroy(cl);
    /* the same name again from a second client while the first is live */
    cr_assert_eq(tcpshm_client_create(&cl, &cfg, &E, "cli", "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, false, NULL, 40000, &err), 0, "%s", err.text);
    for (int i = 40; i < 60 && tcpshm_client_get_state(cl) != TCPSHM_CLIENT_IDLE; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(cl, i * 1000);
    }
    tcpshm_client_destroy(cl);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* A connection whose pair state is not open (the API hands none out:
 * client_conn returns NULL then; here one made with conn_init) refuses
 * messages on either transport; pop, flush and close_reason are harmless. */
#include "conn_internal.h"
#include "conn_transport.h"

Test(edges_env, a_connection_without_state_refuses_messages)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.recv_buf_size = 4096;
    static uint8_t rx[4096];
    tcpshm_error err = {0};
    for (int shm = 0; shm < 2; shm++) {
        tcpshm_conn c;
        tcpshm_conn_init(&c, &cfg, &E, TCPSHM_CONN_CLIENT, "cli", rx);
        cr_assert_eq(tcpshm_conn_set_transport(&c, shm, &err), 0, "%s", err.text);
        cr_assert_null(tcpshm_conn_alloc(&c, 8), "shm %d", shm);
        cr_assert_eq(tcpshm_conn_push(&c), TCPSHM_E_ARG, "shm %d", shm);
        cr_assert_eq(tcpshm_conn_push_more(&c), TCPSHM_E_ARG, "shm %d", shm);
        cr_assert_null(tcpshm_conn_front(&c), "shm %d", shm);
        tcpshm_conn_pop(&c);
        cr_assert(!tcpshm_conn_flush(&c), "no socket: nothing flushed");
        cr_assert(!tcpshm_conn_is_connected(&c));
        cr_assert_str_eq(tcpshm_conn_close_reason(&c, NULL), "");
    }
}

/* ------------------------------------------------------ one more each */

/* file_open of a lock file that is missing: the open finds no file
 * (ENOENT), the create fails with create_errno. */
static int race_opens, create_errno;
static int missing_lock_file(void *ctx, const char *path, int create, unsigned mode)
{
    (void)ctx, (void)path, (void)mode;
    race_opens++;
    errno = create ? create_errno : ENOENT;
    return -1;
}

/* EEXIST: "another process" created it, then it is missing again. */
Test(edges_env, lock_file_that_keeps_appearing_and_vanishing)
{
    tcpshm_env e = E;
    e.file_open = missing_lock_file;
    create_errno = EEXIST;
    tcpshm_error err = {0};
    int fd;
    cr_assert_eq(tcpshm_name_lock(&e, "d", "n", 0, &fd, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(race_opens, 6, "three tries of open then create");
    cr_assert_eq(err.sys_errno, EEXIST);
}

/* EACCES: no retry, the create's error is the reason. */
Test(edges_env, lock_file_that_cannot_be_created)
{
    tcpshm_env e = E;
    e.file_open = missing_lock_file;
    create_errno = EACCES;
    tcpshm_error err = {0};
    int fd;
    race_opens = 0;
    cr_assert_eq(tcpshm_name_lock(&e, "d", "n", 0, &fd, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(race_opens, 2, "one open, one create");
    cr_assert_eq(err.sys_errno, EACCES);
    cr_assert_eq(fd, -1);
}

Test(edges_env, lastserver_bad_magic_bad_name_and_a_tmp_path_too_long)
{
    tcpshm_error err = {0};
    char name[TCPSHM_NAME_MAX + 1];
    cr_assert_eq(tcpshm_lastserver_write(&E, "d", "c", "srv", 0, false, &err), 0, "%s", err.text);
    struct last_file f;
    memcpy(&f, venv_file_data(v, "d/c.lastserver", NULL), sizeof f);
    struct last_file bad = f;
    bad.magic[0] = 'X';
    cr_assert_eq(venv_file_write(v, "d/c.lastserver", &bad, sizeof bad), 0);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a lastserver file"), "%s", err.text);
    bad = f;
    memcpy(bad.name, "a/b", 4); /* terminated, but not a valid name */
    cr_assert_eq(venv_file_write(v, "d/c.lastserver", &bad, sizeof bad), 0);
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not a valid name"), "%s", err.text);
    /* "<dir>/c.lastserver" fits in 4095 characters, "<dir>/c.lastserver.tmp" does not */
    static char dir[4096];
    size_t n = 4095 - strlen("/c.lastserver");
    memset(dir, 'd', n);
    dir[n] = '\0';
    cr_assert_eq(tcpshm_lastserver_write(&E, dir, "c", "srv", 0, false, &err), TCPSHM_E_ARG);
}

Test(edges_env, queue_refusals_one_more_each)
{
    tcpshm_error err = {0};
    /* a message larger than any: body 65535 + header */
    tcpshm_ptcp_queue_config qc = {.capacity = 1 << 17, .max_msg_size = 65536, .little_endian = true};
    tcpshm_ptcp_queue q;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, 65535));
    tcpshm_ptcp_queue_close(&q);
    /* a file that cannot be created, without an error struct */
    cr_assert_eq(fiu_enable("tcpshm/file/resize", 1, NULL, 0), 0);
    int rc = tcpshm_ptcp_queue_open(&q, &E, "d", "x", "y", &qc, NULL);
    fiu_disable("tcpshm/file/resize");
    cr_assert_eq(rc, TCPSHM_E_SYSTEM);
    /* another pair by the local name */
    size_t len = 0;
    const uint8_t *data = venv_file_data(v, "d/a_b.ptcp", &len);
    cr_assert_eq(tcpshm_ptcp_queue_verify(data, len, "z", "b", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not (z, b)"), "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_verify(data, len, "z", NULL, NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "not (z, b)"), "%s", err.text);
    /* SHM: max_msg_size off the grid; a missing segment without create; too large a message */
    tcpshm_shm_queue s;
    tcpshm_shm_queue_config odd = {.capacity = 4096, .max_msg_size = 132, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&s, &E, "/tcpshm_a_b", &odd, &err), TCPSHM_E_CONFIG);
    tcpshm_shm_queue_config nocreate = {.capacity = 4096, .max_msg_size = 128};
    cr_assert_neq(tcpshm_shm_queue_open(&s, &E, "/tcpshm_none", &nocreate, &err), 0);
    tcpshm_shm_queue_config big = {.capacity = 1 << 18, .max_msg_size = 65536, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&s, &E, "/tcpshm_a_b", &big, &err), 0, "%s", err.text);
    cr_assert_null(tcpshm_shm_queue_alloc(&s, 65535));
    /* magic 0 with another version: a bad magic, not "being created" */
    uint8_t *h = (uint8_t *)s.seg, saved[16];
    memcpy(saved, h, sizeof saved);
    memset(h, 0, 8);
    uint32_t two = 2;
    memcpy(h + 8, &two, 4);
    cr_assert_eq(tcpshm_shm_queue_check_header(&s, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "bad magic"), "%s", err.text);
    memcpy(h, saved, sizeof saved);
    tcpshm_shm_queue_close(&s);
}

/* Refusals and failures reach a server and a client that set no callback:
 * max clients (a second name), a listening socket that fails to accept
 * (EMFILE, then EINTR), a server gone during the login. */
Test(edges_env, refusals_without_callbacks)
{
    tcpshm_config cfg;
    edges_config(&cfg);
    cfg.queue_size = 4096;
    cfg.tcp_conns_per_group = 1;
    cfg.ctl_interval = 0; /* accept at every poll_ctl: this test's clock moves 1 us a round */
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    tcpshm_client *a = NULL, *b = NULL;
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", NULL, &err), 0, "%s", err.text);
    tcpshm_server_poll_ctl(s, 0); /* not started: nothing to accept */
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_create(&a, &cfg, &E, "a", "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_create(&b, &cfg, &E, "b", "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(a, "127.0.0.1", 9000, false, NULL, 0, &err), 0, "%s", err.text);
    /* accept fails: with an errno that is reported (to no one), then with EINTR */
    /* enabled and disabled by hand: libfiu leaks the name of a FIU_ONETIME
     * point once it fires (LeakSanitizer reports it) */
    cr_assert_eq(fiu_enable("tcpshm/net/accept", EMFILE, NULL, 0), 0);
    tcpshm_server_poll_ctl(s, 0);
    cr_assert_eq(fiu_disable("tcpshm/net/accept"), 0);
    cr_assert_eq(fiu_enable("tcpshm/net/accept", EINTR, NULL, 0), 0);
    tcpshm_server_poll_ctl(s, 0);
    cr_assert_eq(fiu_disable("tcpshm/net/accept"), 0);
    for (int i = 1; i < 20 && tcpshm_client_get_state(a) != TCPSHM_CLIENT_LOGGED_IN; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(a, i * 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(a), TCPSHM_CLIENT_LOGGED_IN);
    cr_assert_eq(tcpshm_client_login(b, "127.0.0.1", 9000, false, NULL, 20000, &err), 0, "%s", err.text);
    for (int i = 20; i < 40 && tcpshm_client_get_state(b) != TCPSHM_CLIENT_IDLE; i++) {
        tcpshm_server_poll_ctl(s, i * 1000);
        tcpshm_server_poll_tcp(s, i * 1000, 0);
        tcpshm_client_poll_tcp(b, i * 1000);
    }
    cr_assert_eq(tcpshm_client_get_state(b), TCPSHM_CLIENT_IDLE, "refused: the only slot is taken");
    cr_assert_null(tcpshm_server_find_conn(s, "b"));
    /* b tries again; the server goes away before it answers */
    cr_assert_eq(tcpshm_client_login(b, "127.0.0.1", 9000, false, NULL, 40000, &err), 0, "%s", err.text);
    tcpshm_server_poll_ctl(s, 40000);
    tcpshm_server_destroy(s);
    for (int i = 40; i < 50 && tcpshm_client_get_state(b) != TCPSHM_CLIENT_IDLE; i++)
        tcpshm_client_poll_tcp(b, i * 1000);
    cr_assert_eq(tcpshm_client_get_state(b), TCPSHM_CLIENT_IDLE, "the link failed during the login");
    tcpshm_client_destroy(a);
    tcpshm_client_destroy(b);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* A queue with a message in it: a record whose read index is off the grid;
 * an ack that empties the queue while a message is allocated, unpushed. */
Test(edges_env, ptcp_read_index_off_the_grid_and_ack_during_alloc)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0, "%s", err.text);
    const uint8_t *p;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &p);
    cr_assert_eq(n, 16);
    tcpshm_ptcp_queue_mark_sent(&q, n);
    cr_assert_not_null(tcpshm_ptcp_queue_alloc(&q, 8), "a second message, allocated only");
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 1, "the allocated message is not counted");
    static uint8_t b[1 << 12];
    size_t len = file_copy("d/a_b.ptcp", b, sizeof b);
    tcpshm_ptcp_queue_close(&q);
    struct tcpshm_ptcp_file *f = (struct tcpshm_ptcp_file *)(void *)b;
    f->slot[f->active].read_idx = 4;
    f->slot[f->active].write_idx = 16;
    cr_assert_eq(tcpshm_ptcp_queue_verify(b, len, "a", "b", NULL, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "indices out of range"), "%s", err.text);
}

/* One segment, its producer and its consumer in this process: a consumer
 * position scribbled past the data area (on the grid), and a message
 * header whose size was scribbled below a header's. */
Test(edges_env, shm_consumer_word_past_the_end_and_a_short_header)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p, c;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    /* a message whose header size is scribbled to 4 before the consumer reads it */
    tcpshm_msg_header *m = tcpshm_shm_queue_alloc(&p, 8);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_shm_queue_push(&p), 0);
    m->size = 4;
    bool bad = false;
    cr_assert_null(tcpshm_shm_queue_front(&c, &bad, &err));
    cr_assert(bad, "a header shorter than a header is a bad slot");
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
    cr_assert_eq(E.shm_unlink(E.ctx, "/tcpshm_a_b"), 0);
    /* fill the queue; the consumer pops one; its position word is then scribbled to the capacity */
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    int pushed = 0;
    while ((m = tcpshm_shm_queue_alloc(&p, 8)) != NULL) {
        m->msg_type = 7;
        cr_assert_eq(tcpshm_shm_queue_push(&p), 0);
        pushed++;
    }
    cr_assert_gt(pushed, 2);
    cr_assert_not_null(tcpshm_shm_queue_front(&c, &bad, &err));
    tcpshm_shm_queue_pop(&c);
    uint64_t rs;
    memcpy(&rs, (uint8_t *)p.seg + 128, 8); /* the consumer line: count << 32 | position */
    rs = (rs & ~(uint64_t)0xffffffffu) | 1024u;
    memcpy((uint8_t *)p.seg + 128, &rs, 8);
    cr_assert_null(tcpshm_shm_queue_alloc(&p, 8));
    cr_assert_not_null(strstr(tcpshm_shm_queue_fault(&p), "outside the data area"), "%s", tcpshm_shm_queue_fault(&p));
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
}

/* A connection on a socket whose login is not done is not connected; an
 * env send that moves nothing is "would block", not an error. */
static ssize_t send_nothing(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx, (void)fd, (void)buf, (void)len;
    return 0;
}

Test(edges_env, a_socket_before_its_login_and_a_send_of_nothing)
{
    tcpshm_config cfg;
    tcpshm_config_default(&cfg);
    cfg.recv_buf_size = 4096;
    static uint8_t rx[4096];
    tcpshm_env e = E;
    e.send = send_nothing;
    int lfd = E.listen(E.ctx, "127.0.0.1", 9300, 4);
    cr_assert_geq(lfd, 0);
    int fd = E.connect(E.ctx, "127.0.0.1", 9300);
    cr_assert_geq(fd, 0);
    tcpshm_conn c;
    tcpshm_conn_init(&c, &cfg, &e, TCPSHM_CONN_CLIENT, "cli", rx);
    tcpshm_conn_attach(&c, fd, 0);
    cr_assert(!tcpshm_conn_is_connected(&c), "up, but not logged in");
    uint8_t byte = 1;
    cr_assert_eq(tcpshm_conn_send_some(&c, &byte, 1), 0);
    cr_assert_eq(c.fd, fd, "not closed");
    tcpshm_conn_fail(&c, "done", 0);
    cr_assert_eq(E.sock_close(E.ctx, lfd), 0);
}

/* Server-side refusals with only the callbacks each case needs: a group
 * out of range (no on_system_error), an SHM login through an env that
 * cannot tell the peer's address, a name that logged in over SHM coming
 * back over TCP, more connections waiting than max_new_conns (no
 * on_login_rejected); a logged-in SHM client polled without on_msg;
 * tcpshm_client_connect on a client already logged in. */
static int group_out_of_range(void *user, const tcpshm_login *lg, uint8_t *ud, const char **text)
{
    (void)user, (void)ud, (void)text;
    return strcmp(lg->client_name, "far") == 0 ? 7 : 0;
}

static int64_t fixed_clock(void *user) { return *(int64_t *)user; }

/* Polls until the client is logged in or idle again; true if logged in. */
static bool run_login(tcpshm_server *s, tcpshm_client *cl, bool shm, int64_t *now)
{
    for (int i = 0; i < 20; i++) {
        *now += 1000;
        tcpshm_server_poll_ctl(s, *now);
        if (shm)
            tcpshm_server_poll_shm(s, *now, 0);
        else
            tcpshm_server_poll_tcp(s, *now, 0);
        tcpshm_client_poll_tcp(cl, *now);
        tcpshm_client_state st = tcpshm_client_get_state(cl);
        if (st == TCPSHM_CLIENT_LOGGED_IN || st == TCPSHM_CLIENT_IDLE)
            return st == TCPSHM_CLIENT_LOGGED_IN;
    }
    return false;
}

static bool login_once(tcpshm_server *s, const tcpshm_env *env, const tcpshm_config *cfg, const char *name,
                       bool shm, int64_t *now)
{
    tcpshm_error err = {0};
    tcpshm_client *cl = NULL;
    cr_assert_eq(tcpshm_client_create(&cl, cfg, env, name, "c", NULL, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_client_login(cl, "127.0.0.1", 9000, shm, NULL, *now, &err), 0, "%s", err.text);
    bool in = run_login(s, cl, shm, now);
    if (in && shm) {
        tcpshm_client_poll_shm(cl); /* no on_msg: nothing to deliver to */
        cr_assert_eq(tcpshm_client_connect(cl, "127.0.0.1", 9000, shm, NULL, 1000, fixed_clock, now, &err),
                     TCPSHM_E_ARG, "already logged in");
    }
    tcpshm_client_destroy(cl);
    /* let the server see the close */
    for (int i = 0; i < 3; i++) {
        *now += 1000;
        tcpshm_server_poll_ctl(s, *now);
        shm ? tcpshm_server_poll_shm(s, *now, 0) : tcpshm_server_poll_tcp(s, *now, 0);
        tcpshm_server_poll_tcp(s, *now, 0);
    }
    return in;
}

Test(edges_env, server_refusals_with_few_callbacks)
{
    tcpshm_config cfg;
    edges_config(&cfg);
    cfg.queue_size = 4096;
    cfg.max_new_conns = 1;
    cfg.ctl_interval = 0; /* accept at every poll_ctl: this test's clock moves in small steps */
    tcpshm_server_callbacks scb = {.on_new_connection = group_out_of_range};
    tcpshm_error err = {0};
    tcpshm_server *s = NULL;
    int64_t now = 0;
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &E, "srv", "s", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert(!login_once(s, &E, &cfg, "far", false, &now), "group 7 does not exist");
    cr_assert(login_once(s, &E, &cfg, "near", true, &now), "an SHM login from this host");
    cr_assert(!login_once(s, &E, &cfg, "near", false, &now), "logged in over SHM before");
    cr_assert_null(tcpshm_server_find_conn(s, "far"));
    /* an env that cannot tell addresses: no SHM login */
    tcpshm_env blind = E;
    blind.sock_addrs = NULL;
    tcpshm_server_destroy(s);
    cr_assert_eq(tcpshm_server_create(&s, &cfg, &blind, "srv", "s", &scb, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_server_start(s, "127.0.0.1", 9000, &err), 0, "%s", err.text);
    cr_assert(!login_once(s, &blind, &cfg, "near", true, &now), "refused: the peer may not be on this host");
    /* two connections waiting, room for one */
    int a = E.connect(E.ctx, "127.0.0.1", 9000), b = E.connect(E.ctx, "127.0.0.1", 9000);
    cr_assert(a >= 0 && b >= 0);
    tcpshm_server_poll_ctl(s, now += 1000);
    char byte;
    for (int i = 0; i < 3; i++)
        tcpshm_server_poll_ctl(s, now += 1000);
    errno = 0;
    ssize_t got = E.recv(E.ctx, b, &byte, 1);
    ssize_t got_a = E.recv(E.ctx, a, &byte, 1);
    cr_assert(got == 0 || got_a == 0 || errno == ECONNRESET, "one of the two was dropped");
    E.sock_close(E.ctx, a);
    E.sock_close(E.ctx, b);
    tcpshm_server_destroy(s);
    cr_assert_eq(venv_handle_count(v, 0), 0);
}

/* Open refuses a segment whose two position words do not fit together:
 * each word past the end or off the grid, counts too far apart either way. */
Test(edges_env, shm_open_refuses_positions_that_do_not_fit)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p, c;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    uint8_t *seg = (uint8_t *)p.seg;
    static const struct { uint32_t wc, wp, rc, rp; } bad[] = {
        {0, 1024, 0, 0}, {0, 4, 0, 0}, {0, 0, 0, 1024}, {0, 0, 0, 4}, /* past the end, off the grid */
        {0, 0, 5, 0},    {1000, 0, 0, 0},                             /* counts too far apart */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ws = (uint64_t)bad[i].wc << 32 | bad[i].wp, rs = (uint64_t)bad[i].rc << 32 | bad[i].rp;
        memcpy(seg + 64, &ws, 8);
        memcpy(seg + 128, &rs, 8);
        cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), TCPSHM_E_CORRUPT, "case %zu", i);
        cr_assert_not_null(strstr(err.text, "positions out of range"), "case %zu: %s", i, err.text);
    }
    uint64_t zero = 0;
    memcpy(seg + 64, &zero, 8);
    memcpy(seg + 128, &zero, 8);
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
}

/* Host durability: a compaction whose synced messages were all acknowledged
 * (only an unsynced push_more batch is live) has no synced bytes to copy:
 * it syncs nothing for them, moves the batch to the front, and the batch
 * is still whole after its final push. */
static void push_n(tcpshm_ptcp_queue *q, int n, bool more)
{
    tcpshm_error err = {0};
    for (int i = 0; i < n; i++) {
        tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(q, 120); /* 128 bytes */
        cr_assert_not_null(m);
        m->msg_type = 7;
        cr_assert_eq(more ? tcpshm_ptcp_queue_push_more(q, &err) : tcpshm_ptcp_queue_push(q, &err), 0, "%s",
                     err.text);
    }
}

Test(edges_env, host_compaction_with_only_an_unsynced_batch_live)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true, .host_durable = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&q, 4, false); /* synced: bytes [0, 512) */
    const uint8_t *p;
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 512);
    tcpshm_ptcp_queue_mark_sent(&q, 512);
    push_n(&q, 4, true); /* a batch, not synced: [512, 1024) */
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 4, &err), 0, "%s", err.text);
    cr_assert_eq(q.st.read_idx, 512);
    cr_assert_eq(q.st.write_idx, 1024);
    tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, 120);
    cr_assert_not_null(m, "compacted: the batch moved to the front");
    cr_assert_eq(q.st.read_idx, 0);
    cr_assert_eq(q.st.write_idx, 512);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 9);
    tcpshm_ptcp_queue_close(&q);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 4);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 9, "the batch and the last message reopen");
    tcpshm_ptcp_queue_close(&q);
}

/* ---------------------------- shm_queue.c: recovery of unrecorded slots */

static uint64_t slot_word_at(const tcpshm_shm_queue *q, uint32_t pos)
{
    uint64_t w;
    memcpy(&w, q->data + pos, 8);
    return w;
}
static void set_slot_word(tcpshm_shm_queue *q, uint32_t pos, uint64_t w) { memcpy(q->data + pos, &w, 8); }

static void shm_push_one(tcpshm_shm_queue *p)
{
    tcpshm_msg_header *m = tcpshm_shm_queue_alloc(p, 100);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_shm_queue_push(p), 0);
}

/* The producer's open walks the slots from the consumer's position to its
 * own: a slot of the right count with a length no slot has, or a wrap
 * marker at offset 0 (where no message is published before one), ends the
 * walk and the segment is refused. */
Test(edges_env, shm_producer_refuses_slots_that_do_not_lead_to_its_position)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p, c;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    shm_push_one(&p); /* seq 0 at 0, seq 1 at 120 (slots of 120 bytes) */
    shm_push_one(&p);
    tcpshm_shm_queue_close(&p);
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    set_slot_word(&c, 120, (uint64_t)1 << 32 | 12u); /* seq 1's word: a length of no slot */
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "do not lead to the producer's 2@240"), "%s", err.text);
    set_slot_word(&c, 120, (uint64_t)1 << 32 | 120u);
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    tcpshm_shm_queue_close(&p);
    set_slot_word(&c, 0, 1u); /* seq 0's word: a wrap marker at offset 0 */
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "do not lead"), "%s", err.text);
    tcpshm_shm_queue_close(&c);
}

/* A producer whose next push wraps, the consumer caught up: the producer's
 * recorded word (count@position) before that push is returned in *ws. */
static void shm_near_the_end(tcpshm_shm_queue *p, tcpshm_shm_queue *c, uint64_t *ws)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_shm_queue_open(c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    bool bad = false;
    while (1024 - p->wpos >= 136) { /* a slot of 120 bytes and the next word still fit */
        shm_push_one(p);
        cr_assert_not_null(tcpshm_shm_queue_front(c, &bad, &err));
        tcpshm_shm_queue_pop(c);
    }
    memcpy(ws, (uint8_t *)p->seg + 64, 8);
}

/* Killed after publishing a wrap marker, the message at 0 behind it and one
 * more, before recording any: the reopened producer recovers all three
 * (the loop's two steps), and the consumer reads both messages. */
Test(edges_env, shm_producer_recovers_a_wrap_and_the_message_after_it)
{
    tcpshm_shm_queue p, c;
    uint64_t ws;
    shm_near_the_end(&p, &c, &ws);
    uint32_t n = p.wcount, at = p.wpos;
    shm_push_one(&p);
    cr_assert_lt(p.wpos, at, "this push wrapped");
    cr_assert_eq((uint32_t)slot_word_at(&p, at), 1u, "a wrap marker at the old position");
    shm_push_one(&p);
    tcpshm_shm_queue_close(&p);
    memcpy((uint8_t *)c.seg + 64, &ws, 8); /* the kill: neither push recorded */
    tcpshm_error err = {0};
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    cr_assert_eq(p.wcount, n + 2, "both recovered");
    bool bad = false;
    for (uint32_t i = 0; i < 2; i++) {
        cr_assert_not_null(tcpshm_shm_queue_front(&c, &bad, &err), "message %u: %s", i, err.text);
        tcpshm_shm_queue_pop(&c);
    }
    cr_assert_null(tcpshm_shm_queue_front(&c, &bad, &err));
    cr_assert(!bad);
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
}

/* The same kill, but the slot word at 0 behind the marker is not the
 * message of the marker's count (another count, or a bad length): nothing
 * is recovered, the producer goes on from its recorded position. */
Test(edges_env, shm_producer_recovers_no_marker_without_its_message)
{
    for (int variant = 0; variant < 2; variant++) {
        tcpshm_shm_queue p, c;
        uint64_t ws;
        shm_near_the_end(&p, &c, &ws);
        uint32_t n = p.wcount;
        shm_push_one(&p);
        tcpshm_shm_queue_close(&p);
        memcpy((uint8_t *)c.seg + 64, &ws, 8);
        uint64_t w0 = slot_word_at(&c, 0);
        cr_assert_eq((uint32_t)(w0 >> 32), n, "the message behind the marker has its count");
        w0 = variant == 0 ? w0 + ((uint64_t)5 << 32) : (w0 & ~(uint64_t)0xffffffffu) | 12u;
        set_slot_word(&c, 0, w0);
        tcpshm_error err = {0};
        tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true};
        cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
        cr_assert_eq(p.wcount, n, "variant %d: not recovered", variant);
        tcpshm_shm_queue_close(&c);
        tcpshm_shm_queue_close(&p);
        cr_assert_eq(E.shm_unlink(E.ctx, "/tcpshm_a_b"), 0);
    }
}

/* A consumer word ahead of the producer's by one, with no slot to recover:
 * the producer refuses the segment at open. */
Test(edges_env, shm_producer_refuses_a_consumer_ahead_of_it)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    uint64_t rs = (uint64_t)1 << 32 | 64u; /* count 1 at 64: within what open accepts */
    memcpy((uint8_t *)p.seg + 128, &rs, 8);
    tcpshm_shm_queue_close(&p);
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), TCPSHM_E_CORRUPT);
    cr_assert_not_null(strstr(err.text, "is past the producer's"), "%s", err.text);
}

/* The consumer's word moved to a later count whose slot word has that
 * count but a length no slot can have: refused as not at its slot. */
Test(edges_env, shm_consumer_word_at_a_slot_with_a_bad_length)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    tcpshm_msg_header *m;
    while ((m = tcpshm_shm_queue_alloc(&p, 100)) != NULL) {
        m->msg_type = 7;
        cr_assert_eq(tcpshm_shm_queue_push(&p), 0);
    }
    cr_assert_gt(p.wcount, 2);
    uint64_t w1 = slot_word_at(&p, (uint32_t)slot_word_at(&p, 0)); /* the second slot */
    uint32_t pos1 = (uint32_t)slot_word_at(&p, 0);
    cr_assert_eq((uint32_t)(w1 >> 32), 1u);
    set_slot_word(&p, pos1, (w1 & ~(uint64_t)0xffffffffu) | 12u);
    uint64_t rs = (uint64_t)1 << 32 | pos1;
    memcpy((uint8_t *)p.seg + 128, &rs, 8);
    cr_assert_null(tcpshm_shm_queue_alloc(&p, 100));
    cr_assert_not_null(strstr(tcpshm_shm_queue_fault(&p), "is not at the slot of its count"), "%s",
                       tcpshm_shm_queue_fault(&p));
    tcpshm_shm_queue_close(&p);
}

/* ------------------------------ crash sites the suite's runs never fire */

#include <setjmp.h>

#include "tcpshm/crash_hook.h"

static jmp_buf crash_jump;
static void jump_out(const char *site, void *user)
{
    (void)user;
    cr_assert_not_null(site);
    longjmp(crash_jump, 1);
}

/* Runs fn with the crash site armed; true if it crashed there. The hook
 * jumps back here, as the simulator's does (a kill: nothing after the
 * site runs, the env keeps what was done). */
static bool crashes_at(const char *site, void (*fn)(void))
{
    tcpshm_set_crash_hook(jump_out, NULL);
    cr_assert_eq(fiu_enable(site, 1, NULL, 0), 0);
    volatile bool crashed = false;
    if (setjmp(crash_jump) == 0)
        fn();
    else
        crashed = true;
    fiu_disable(site);
    tcpshm_set_crash_hook(NULL, NULL);
    return crashed;
}

static void write_record(void)
{
    tcpshm_error err = {0};
    (void)tcpshm_lastserver_write(&E, "d", "c", "srv", 0, false, &err);
}

/* Killed with the new .lastserver record's temporary file open: the record
 * is not there, a read finds no server, and the next write makes it. */
Test(edges_env, lastserver_write_killed_after_opening_its_temporary_file)
{
    cr_assert(crashes_at("tcpshm/crash/login/client_lastserver_after_open", write_record));
    size_t len = 0;
    cr_assert_not_null(venv_file_data(v, "d/c.lastserver.tmp", &len), "the temporary file was made");
    cr_assert_null(venv_file_data(v, "d/c.lastserver", &len));
    tcpshm_error err = {0};
    char name[TCPSHM_NAME_MAX + 1];
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), 0, "%s", err.text);
    cr_assert_str_eq(name, "");
    write_record();
    cr_assert_eq(tcpshm_lastserver_read(&E, "d", "c", name, &err), 0, "%s", err.text);
    cr_assert_str_eq(name, "srv");
}

static void create_segment(void)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue q;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    (void)tcpshm_shm_queue_open(&q, &E, "/tcpshm_a_b", &pc, &err);
}

/* Killed right after creating a new segment, before sizing it: the next
 * open finds size 0 and sizes it (a creator that died before sizing). */
Test(edges_env, shm_create_killed_after_the_open)
{
    cr_assert(crashes_at("tcpshm/crash/shm/create_after_open", create_segment));
    tcpshm_error err = {0};
    tcpshm_shm_queue p, c;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    shm_push_one(&p);
    bool bad = false;
    cr_assert_not_null(tcpshm_shm_queue_front(&c, &bad, &err), "%s", err.text);
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
}

/* Killed after sizing a new segment, before its header: the next open (a
 * consumer here) sets the header up and the segment works. */
Test(edges_env, shm_create_killed_after_the_resize)
{
    cr_assert(crashes_at("tcpshm/crash/shm/create_after_resize", create_segment));
    tcpshm_error err = {0};
    tcpshm_shm_queue p, c;
    tcpshm_shm_queue_config cc = {.capacity = 1024, .max_msg_size = 128};
    cr_assert_eq(tcpshm_shm_queue_open(&c, &E, "/tcpshm_a_b", &cc, &err), 0, "%s", err.text);
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    shm_push_one(&p);
    bool bad = false;
    cr_assert_not_null(tcpshm_shm_queue_front(&c, &bad, &err), "%s", err.text);
    tcpshm_shm_queue_close(&c);
    tcpshm_shm_queue_close(&p);
}

/* A segment whose version word is set but whose magic is not yet: another
 * process won the version word and is writing the header. Open does not
 * set it up a second time; it says try again. */
Test(edges_env, shm_open_while_another_process_creates_the_segment)
{
    tcpshm_error err = {0};
    tcpshm_shm_queue p;
    tcpshm_shm_queue_config pc = {.capacity = 1024, .max_msg_size = 128, .producer = true, .create = true};
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), 0, "%s", err.text);
    memset(p.seg, 0, 8); /* the magic, written last by the creator */
    tcpshm_shm_queue_close(&p);
    cr_assert_eq(tcpshm_shm_queue_open(&p, &E, "/tcpshm_a_b", &pc, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(err.sys_errno, EAGAIN);
    cr_assert_not_null(strstr(err.text, "being created by another process"), "%s", err.text);
}

/* A queued message's header changed in memory after its push (an
 * application writing past the message it allocated): the walks over the
 * queue stop at a size that cannot be, instead of looping on a size of 0
 * or reading past the mapping; the ack that needs the walk is refused. */
Test(edges_env, queue_walks_stop_at_a_header_that_cannot_be)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&q, 3, false);
    const uint8_t *p;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &p);
    cr_assert_eq(n, 3 * 128);
    memset(q.data + 128, 0, 2); /* the second message's size: 0 */
    tcpshm_ptcp_queue_mark_sent(&q, n); /* returns: it used to loop on the size 0 */
    cr_assert_eq(q.sent_seq, 1, "counted up to the bad header");
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 2, &err), TCPSHM_E_BAD_ACK, "not sent as far as the queue can tell");
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 3, &err), TCPSHM_E_CORRUPT, "the walk to seq 3 crosses the bad header");
    cr_assert_not_null(strstr(err.text, "Bad queue: the message of seq 1 at offset 128 has no valid size (0)"), "%s",
                       err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 1, "nothing freed past the bad header");
    uint8_t big[2] = {0xf8, 0x7f}; /* a size past the end of the queued bytes */
    memcpy(q.data + 128, big, 2);
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 3, &err), TCPSHM_E_CORRUPT);
    uint8_t two[2] = {0x00, 0x01}; /* 256: the second message takes the third's bytes too */
    memcpy(q.data + 128, two, 2);
    cr_assert_eq(tcpshm_ptcp_queue_rewind(&q, 3, &err), TCPSHM_E_CORRUPT, "the walk ran out of queued bytes");
    cr_assert_not_null(strstr(err.text, "at offset 384"), "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
}

static tcpshm_ptcp_queue closing;
static void close_queue(void) { tcpshm_ptcp_queue_close(&closing); }

/* Killed in a clean close (durability process) after the whole file was
 * synced, before the header says "clean": the header still says written
 * by a process of this boot, so the reopen (a restart after a kill) trusts
 * it, with both messages. */
Test(edges_env, queue_close_killed_after_its_sync)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true};
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&closing, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&closing, 2, false);
    cr_assert(crashes_at("tcpshm/crash/queue/close_after_sync", close_queue));
    tcpshm_ptcp_queue q;
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 0);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 2);
    tcpshm_ptcp_queue_close(&q);
}

static int map_syncs, map_sync_fail_at;
static int (*real_map_sync)(void *ctx, void *addr, size_t len);
static int counting_map_sync(void *ctx, void *addr, size_t len)
{
    if (++map_syncs == map_sync_fail_at) {
        errno = EIO;
        return -1;
    }
    return real_map_sync(ctx, addr, len);
}

/* Host durability: a push_more batch made durable by a sync (a send's)
 * whose bytes sync but whose record sync fails: the record is published,
 * so its sync is still owed, and the next sync makes it. (It was not:
 * the next sync found no batch and nothing owed, returned 0, and the sends
 * went on with a record a power cut took back; found by the simulator's
 * power loss once its clients pushed with push_more.) */
Test(edges_env, host_batch_record_sync_retried_after_it_failed)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true, .host_durable = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&q, 2, true);
    real_map_sync = E.map_sync;
    E.map_sync = counting_map_sync;
    map_syncs = 0;
    map_sync_fail_at = 2; /* the batch's bytes sync, the record's sync fails */
    cr_assert_eq(tcpshm_ptcp_queue_sync(&q, &err), TCPSHM_E_SYSTEM);
    cr_assert_eq(map_syncs, 2);
    cr_assert_eq(tcpshm_ptcp_queue_sync(&q, &err), 0, "%s", err.text);
    cr_assert_eq(map_syncs, 3, "the record's sync was not made again");
    cr_assert_eq(tcpshm_ptcp_queue_sync(&q, &err), 0, "%s", err.text);
    cr_assert_eq(map_syncs, 3, "nothing more is owed");
    E.map_sync = real_map_sync;
    tcpshm_ptcp_queue_close(&q);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 2);
    tcpshm_ptcp_queue_close(&q);
}

/* Host durability: a compaction whose record sync fails leaves that sync
 * owed (the copy is published, the disk's record may still point at the
 * old region): the alloc fails, every later sync tries the record first
 * and fails while it fails, and once it is made the queue goes on and
 * reopens whole. */
Test(edges_env, host_compaction_record_sync_owed_until_it_succeeds)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true, .host_durable = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&q, 8, false); /* synced: bytes [0, 1024) */
    const uint8_t *p;
    cr_assert_eq(tcpshm_ptcp_queue_sendable(&q, &p), 1024);
    tcpshm_ptcp_queue_mark_sent(&q, 1024);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 4, &err), 0, "%s", err.text);
    cr_assert_eq(q.st.read_idx, 512);
    real_map_sync = E.map_sync;
    E.map_sync = counting_map_sync;
    map_syncs = 0;
    map_sync_fail_at = 2; /* the compacted bytes sync, the compaction's record sync fails */
    cr_assert_null(tcpshm_ptcp_queue_alloc(&q, 120), "the alloc must fail with the compaction's record unsynced");
    cr_assert_eq(map_syncs, 2);
    cr_assert_eq(q.st.read_idx, 0, "the compaction was published");
    map_sync_fail_at = 3;
    cr_assert_neq(tcpshm_ptcp_queue_sync(&q, &err), 0, "the owed record sync failed again: the sync must say so");
    cr_assert_eq(map_syncs, 3, "the sync tried the owed record first");
    cr_assert_eq(tcpshm_ptcp_queue_sync(&q, &err), 0, "%s", err.text);
    cr_assert_eq(map_syncs, 4, "the owed record was synced");
    E.map_sync = real_map_sync;
    tcpshm_msg_header *m = tcpshm_ptcp_queue_alloc(&q, 120);
    cr_assert_not_null(m);
    m->msg_type = 7;
    cr_assert_eq(tcpshm_ptcp_queue_push(&q, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 4);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 9);
    tcpshm_ptcp_queue_close(&q);
}

/* Host durability at the queue's level: a push_more batch sent and
 * acknowledged before any sync (conn.c never sends one unsynced: send_some
 * syncs first). The ack that empties the queue moves it back to offset 0,
 * so at the next sync only the write seq says a batch was pending: the
 * sync publishes it (no bytes left to sync) and the queue reopens at 1..1. */
Test(edges_env, host_batch_acknowledged_before_its_sync)
{
    tcpshm_ptcp_queue_config qc = {.capacity = 1024, .max_msg_size = 128, .little_endian = true, .host_durable = true};
    tcpshm_ptcp_queue q;
    tcpshm_error err = {0};
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    push_n(&q, 1, true);
    const uint8_t *p;
    uint32_t n = tcpshm_ptcp_queue_sendable(&q, &p);
    cr_assert_eq(n, 128);
    tcpshm_ptcp_queue_mark_sent(&q, n);
    cr_assert_eq(tcpshm_ptcp_queue_ack(&q, 1, &err), 0, "%s", err.text);
    cr_assert_eq(q.st.write_idx, 0, "emptied: back to offset 0");
    cr_assert_eq(tcpshm_ptcp_queue_sync(&q, &err), 0, "%s", err.text);
    tcpshm_ptcp_queue_close(&q);
    cr_assert_eq(tcpshm_ptcp_queue_open(&q, &E, "d", "a", "b", &qc, &err), 0, "%s", err.text);
    cr_assert_eq(tcpshm_ptcp_queue_seq_start(&q), 1);
    cr_assert_eq(tcpshm_ptcp_queue_seq_end(&q), 1);
    tcpshm_ptcp_queue_close(&q);
}
