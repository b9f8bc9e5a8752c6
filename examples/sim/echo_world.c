/* An echo service under the simulator (tcpshm/sim.h): clients push
 * numbered requests, the server answers each with one echo. Built three ways:
 *
 *   -DECHO_NAIVE  pop the request, then push the echo. A crash between the
 *                 two (or a full queue at the push) loses the echo: the
 *                 simulation finds it ("invariant: ... an echo was lost").
 *   -DECHO_TORN   the write-ahead record below, written field by field: a
 *                 crash between the two stores leaves the new request with
 *                 the old position, and the restarted server takes the echo
 *                 for pushed ("... an echo was lost").
 *   -DECHO_ZEROS  the write-ahead record below, but a new one is zeros,
 *                 read as "request 0 was being echoed": right while seq
 *                 numbers start at 0, wrong where they start near 2^32 (the
 *                 seeds whose shape sets start_seq): every request before
 *                 0 is taken for echoed ("... an echo was lost").
 *   (default)     the write-ahead record: before pushing the echo of request
 *                 r, the server writes {r, seq_end} into a file of its own
 *                 (mapped through the simulator's env, so it survives kills
 *                 as the queue files do) with one 8-byte store; it pops only
 *                 after the push. A restarted server that gets request r
 *                 again and finds its record says the echo is already
 *                 queued pops it without a second echo. Exactly once, at
 *                 any crash.
 *
 * CRASH_SITE marks where a kill would leave the server's state half-made:
 * the simulator kills the server there now and then (a production build
 * would define it empty).
 *
 * The client checks, as it pops them, that echoes come in the order of its
 * requests with none missing or repeated (echo k answers request k), and
 * the world's invariant checks at the end that every request was echoed.
 *
 * The service as it is deployed, not one fixed build: each seed picks how
 * many clients run and the config an operator may choose (shape); each
 * process is one of two versions, as in a rolling upgrade (process): v1
 * reads in on_msg, v2 reads with tcpshm_conn_front / tcpshm_conn_pop in its
 * step and, on a client, counts its disconnects; every login carries user
 * data the server checks, and so does its response.
 *
 *   echo_world --seeds 1-400 --faults all   # a sweep; also --jobs, --shrink, --json ...
 *   echo_world --help
 */
#include <stdio.h>
#include <string.h>

#include <tcpshm/sim.h>

#define MSG_REQUEST 100
#define MSG_ECHO 101
#define NCLIENTS 3
/* requests a client has in flight at most: the seed's (shape) */
static uint32_t g_window = 4;
#define CRASH_SITE(name) tcpshm_sim_crash_site(name)

static uint32_t get32(const tcpshm_msg_header *h)
{
    uint32_t v;
    memcpy(&v, h + 1, sizeof v);
    return v;
}

/* Pushes a message of type t carrying v; 0, or -1 when the queue is full. */
static int push32(tcpshm_conn *c, uint16_t t, uint32_t v)
{
    tcpshm_msg_header *h = tcpshm_conn_alloc(c, sizeof v);
    if (!h)
        return -1;
    h->msg_type = t;
    memcpy(h + 1, &v, sizeof v);
    return tcpshm_conn_push(c);
}

/* ------------------------------------------------------------ server */

#ifndef ECHO_NAIVE
/* The write-ahead record of one client's pair, one 64-bit word: the request
 * being echoed, k, and the echo queue's seq_end before that echo's push, e.
 * A new record names the request before the first one the server handles
 * (never a request it will see: seq numbers may be anywhere, near 2^32
 * too). */
typedef uint64_t echo_rec;
static uint32_t rec_k(const echo_rec *r) { return (uint32_t)__atomic_load_n(r, __ATOMIC_RELAXED); }
static uint32_t rec_e(const echo_rec *r) { return (uint32_t)(__atomic_load_n(r, __ATOMIC_RELAXED) >> 32); }
static void rec_write(echo_rec *r, uint32_t k, uint32_t e)
{
#ifdef ECHO_TORN
    uint32_t *half = (uint32_t *)(void *)r; /* little-endian: k first, then e */
    __atomic_store_n(&half[0], k, __ATOMIC_RELAXED);
    CRASH_SITE("echo/crash/half_record");
    __atomic_store_n(&half[1], e, __ATOMIC_RELAXED);
#else
    __atomic_store_n(r, (uint64_t)e << 32 | k, __ATOMIC_RELAXED); /* one store: never half written */
#endif
}

typedef struct server_state {
    bool v2; /* this process reads in its step (process) */
    const tcpshm_env *env;
    const char *dir;
    struct {
        char client[32];
        echo_rec *rec; /* in <dir>/<client>.echo, mapped (rec_file) */
    } recs[NCLIENTS];
    int nrecs;
} server_state;

/* The file at path, size bytes, mapped; its size and its name on the disk
 * (file_sync, dir_sync: under durability host a power loss keeps only what
 * was synced) before anything relies on it. NULL on any failure: the
 * caller tries again later. */
static void *map_durable(const tcpshm_env *e, const char *dir, const char *path, size_t size)
{
    int fd = e->file_open(e->ctx, path, 0, 0);
    if (fd < 0) /* the first time (create requires that it does not exist) */
        fd = e->file_open(e->ctx, path, 1, 0600);
    if (fd < 0)
        return NULL;
    uint64_t have = 0;
    void *p = NULL;
    if (e->file_size(e->ctx, fd, &have) == 0 && (have >= size || e->file_resize(e->ctx, fd, size) == 0) &&
        e->file_sync(e->ctx, fd) == 0 && e->dir_sync(e->ctx, dir) == 0)
        p = e->map(e->ctx, fd, size); /* new bytes read as zero */
    e->file_close(e->ctx, fd); /* the mapping stays */
    return p;
}

/* A record file: a marker, set only once the record below it was written
 * and synced. A new file reads as zeros, and a creation cut short (a
 * failed call, a crash) leaves them: zeros are no record (taken for one,
 * they named request 0, and near the wrap every request before it was
 * taken for echoed). */
#define REC_VALID 0x3143455243484345ull /* "ECHOREC1" */
typedef struct rec_file {
    echo_rec rec; /* first: a sync of the record starts at the mapping (msync wants it page-aligned) */
    uint64_t valid;
} rec_file;

/* The record of c's pair, mapped (made when the server handles the pair's
 * first request, which is c's front message). */
static echo_rec *record(server_state *st, tcpshm_conn *c)
{
    const char *client = tcpshm_conn_remote_name(c);
    for (int i = 0; i < st->nrecs; i++)
        if (strcmp(st->recs[i].client, client) == 0)
            return st->recs[i].rec;
    char path[128];
    snprintf(path, sizeof path, "%s/%s.echo", st->dir, client);
    const tcpshm_env *e = st->env;
    rec_file *f = map_durable(e, st->dir, path, sizeof *f);
    if (!f)
        return NULL;
    if (__atomic_load_n(&f->valid, __ATOMIC_RELAXED) != REC_VALID) {
#ifdef ECHO_ZEROS
        rec_write(&f->rec, 0, 0); /* assumes the pair's seq numbers start at 0 */
#else
        rec_write(&f->rec, tcpshm_conn_my_ack(c) - 1u, tcpshm_conn_seq_end(c));
#endif
        bool ok = e->map_sync(e->ctx, f, sizeof *f) == 0;
        if (ok) {
            __atomic_store_n(&f->valid, REC_VALID, __ATOMIC_RELAXED);
            ok = e->map_sync(e->ctx, f, sizeof *f) == 0;
        }
        if (!ok) {
            e->unmap(e->ctx, f, sizeof *f);
            return NULL; /* not made for good: the next message tries again */
        }
    }
    echo_rec *r = &f->rec;
    snprintf(st->recs[st->nrecs].client, sizeof st->recs[0].client, "%s", client);
    st->recs[st->nrecs].rec = r;
    st->nrecs++;
    return r;
}

static void server_start(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts)
{
    server_state *st = user;
    (void)restarts;
    st->env = env; /* the dead process's mappings are gone: map them again when needed */
    st->dir = dir;
    st->nrecs = 0;
}
#else
typedef struct server_state {
    bool v2;
} server_state;
static void server_start(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts)
{
    (void)user, (void)env, (void)dir, (void)restarts;
}
#endif

static void server_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    server_state *st = user;
    uint32_t r = get32(m);
#ifdef ECHO_NAIVE
    (void)st;
    tcpshm_conn_pop(c); /* the request is consumed ... */
    CRASH_SITE("echo/crash/popped_not_echoed");
    (void)push32(c, MSG_ECHO, r); /* ... and a crash before this, or a full queue, loses its echo */
#else
    echo_rec *rec = record(st, c);
    if (!rec)
        return; /* cannot record: leave the request, it comes again */
    /* Echoed before a crash: only the pop was missing. Requests are echoed
     * in order, so one before the recorded request was echoed too: a power
     * loss (durability host) may take back several pops, whose sync waits
     * until an ack covers them. */
    uint32_t k = rec_k(rec);
    if ((int32_t)(r - k) < 0 || (r == k && tcpshm_conn_seq_end(c) == rec_e(rec) + 1u)) {
        tcpshm_conn_pop(c);
        return;
    }
    uint32_t e = tcpshm_conn_seq_end(c);
    rec_write(rec, r, e); /* write-ahead: before the push ... */
    if (st->env->map_sync(st->env->ctx, rec, sizeof *rec) != 0)
        return; /* ... on the disk (durability host: a power loss keeps only what was synced) */
    CRASH_SITE("echo/crash/recorded_not_pushed");
    if (push32(c, MSG_ECHO, r) != 0)
        return; /* full: the request stays, it comes again */
    CRASH_SITE("echo/crash/pushed_not_popped");
    tcpshm_conn_pop(c);
#endif
}

/* Version 2 of the server reads in its step (called per connection):
 * each front message handled as on_msg would, until one stays (its record
 * not mapped, the echo queue full). */
static void server_step(void *user, int64_t now, tcpshm_conn *c)
{
    (void)now;
    const server_state *st = user;
    tcpshm_msg_header *m;
    while (st->v2 && (m = tcpshm_conn_front(c)) != NULL) {
        uint32_t ack = tcpshm_conn_my_ack(c);
        server_msg(user, c, m);
        if (tcpshm_conn_my_ack(c) == ack)
            break;
    }
}

/* The user data of a login ('u') or of its response ('r'): the tag, ':'
 * and the client's name, then '|' and again, to the last byte (the config
 * sends the first login_user_data_size / login_rsp_user_data_size bytes):
 * no zero padding that a cut copy would leave as it was. */
static void user_data_of(char tag, const char *client, uint8_t out[TCPSHM_MAX_USER_DATA])
{
    char unit[40];
    int k = snprintf(unit, sizeof unit, "%c:%.32s|", tag, client);
    for (size_t i = 0; i < TCPSHM_MAX_USER_DATA; i++)
        out[i] = (uint8_t)unit[i % (size_t)k];
}

/* Every login must carry its client's user data; the response carries the
 * server's. One group. */
static int server_new_conn(void *user, const tcpshm_login *lg, uint8_t *rsp_user_data, const char **reject)
{
    (void)user, (void)reject;
    const tcpshm_config *cfg = tcpshm_sim_config();
    uint8_t want[TCPSHM_MAX_USER_DATA];
    user_data_of('u', lg->client_name, want);
    if (memcmp(lg->user_data, want, cfg->login_user_data_size) != 0)
        tcpshm_sim_fail("the login of %s carries user data \"%.*s\", not its own", lg->client_name,
                        (int)cfg->login_user_data_size, (const char *)lg->user_data);
    user_data_of('r', lg->client_name, want);
    memcpy(rsp_user_data, want, cfg->login_rsp_user_data_size);
    return 0;
}

/* ------------------------------------------------------------ clients */

typedef struct client_state {
    const char *name;
    uint32_t echoes_seen; /* in memory: only for the check's message */
    bool v2;              /* this process reads in its step and counts its disconnects */
    uint32_t disconnects;
    uint8_t login_data[TCPSHM_MAX_USER_DATA];
} client_state;

static void client_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    client_state *cs = user;
    /* echo k answers request k: the k-th message of the server's stream,
     * whose number is my ack of that stream */
    uint32_t want = tcpshm_conn_my_ack(c), got = get32(m);
    if (m->msg_type != MSG_ECHO || got != want)
        tcpshm_sim_fail("client %s: got the echo of request %u, expected %u (%s)", cs->name, got, want,
                        (int32_t)(got - want) > 0 ? "an echo was lost" : "an echo came twice"); /* modular: near 2^32 too */
    tcpshm_conn_pop(c);
    cs->echoes_seen++;
}

static const uint8_t *client_login_data(void *user)
{
    client_state *cs = user;
    user_data_of('u', cs->name, cs->login_data);
    return cs->login_data;
}

static void client_logged_in(void *user, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    client_state *cs = user;
    (void)c;
    uint8_t want[TCPSHM_MAX_USER_DATA];
    uint32_t n = tcpshm_sim_config()->login_rsp_user_data_size;
    user_data_of('r', cs->name, want);
    if (memcmp(rsp->user_data, want, n) != 0)
        tcpshm_sim_fail("client %s: the login response carries user data \"%.*s\", not the server's for it",
                        cs->name, (int)n, (const char *)rsp->user_data);
}

static void client_disconnected(void *user, tcpshm_conn *c, const char *reason, int sys_errno)
{
    client_state *cs = user;
    (void)c, (void)reason, (void)sys_errno;
    cs->disconnects++;
}

/* Requests within the window, until the faults stop. An echo may come
 * before its request: the server answered it (echo pushed, request not yet
 * popped), then this client's directory went back to before the request (a
 * rollback takes back the push, not the answer). The request is pushed
 * again, also while settling: the server's record names it, so it is
 * popped without a second echo. The window is counted signed: unsigned,
 * that case read as a full window for good. */
static void client_step(void *user, int64_t now, tcpshm_conn *c)
{
    client_state *cs = user;
    (void)now;
    tcpshm_msg_header *m;
    while (cs->v2 && tcpshm_conn_is_connected(c) && (m = tcpshm_conn_front(c)) != NULL)
        client_msg(user, c, m); /* version 2 reads here; client_msg pops */
    int32_t unanswered = (int32_t)(tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c));
    if (unanswered < 0) {
        (void)push32(c, MSG_REQUEST, tcpshm_conn_seq_end(c));
        return;
    }
    if (tcpshm_sim_settling() || unanswered >= (int32_t)g_window)
        return;
    if (tcpshm_sim_random() % 4 == 0)
        (void)push32(c, MSG_REQUEST, tcpshm_conn_seq_end(c));
}

/* ------------------------------------------------------------ the world */

static server_state g_server;
static client_state g_clients[NCLIENTS] = {{.name = "alice"}, {.name = "bob"}, {.name = "carol"}};

/* The simulator reset the pair of client (a rollback or a power loss lost
 * part of it, the core detected it, and the operator removed both sides'
 * queues): both processes are down, the pair starts again at request 0.
 * The server's record of the old pair would name its requests: it goes
 * too (the operator's procedure for this application). */
static void pair_reset(void *user, const char *server, const char *client)
{
    (void)user, (void)server;
    const tcpshm_env *e = tcpshm_sim_env();
    char path[128];
    snprintf(path, sizeof path, "srv/%s.echo", client);
    (void)e->remove(e->ctx, path); /* none (the naive server keeps no record): nothing to do */
    /* for good: a power loss (durability host) brings back an unsynced removal,
     * and with it a record of the old pair */
    (void)e->dir_sync(e->ctx, "srv");
}

/* Each process of a node is version 1 or 2 (a rolling upgrade that goes
 * back and forth): version 2 reads in its step, so its on_msg is NULL, and
 * a client of version 2 sets on_disconnect. */
static void process(void *user, uint32_t restarts, tcpshm_server_callbacks *server, tcpshm_client_callbacks *client)
{
    (void)restarts;
    bool v2 = tcpshm_sim_random() % 2 == 0;
    if (server) {
        ((server_state *)user)->v2 = v2;
        if (v2)
            server->on_msg = NULL;
    } else {
        ((client_state *)user)->v2 = v2;
        if (v2)
            client->on_msg = NULL, client->on_disconnect = client_disconnected;
    }
}

/* Each seed: 1 to NCLIENTS clients, and what an operator may configure:
 * a tight queue (32 messages) or a roomy one, either byte order, login
 * user data of 2 to 256 bytes, groups polled by readiness; how deep the
 * clients' windows are; and now and then seq numbers near 2^32. */
static void shape(void *user, tcpshm_sim_shape *sh)
{
    (void)user;
    tcpshm_config *c = &sh->config;
    sh->nclients = 1u + (uint32_t)(tcpshm_sim_random() % NCLIENTS);
    c->max_msg_size = 512; /* a login of the largest user data fits */
    c->queue_size = tcpshm_sim_random() % 2 ? 512u : 1u << 16;
    c->recv_buf_size = tcpshm_sim_random() % 2 ? 512u : 4096u;
    c->little_endian = tcpshm_sim_random() % 4 != 0;
    c->login_user_data_size = 2u + (uint32_t)(tcpshm_sim_random() % (TCPSHM_MAX_USER_DATA - 1));
    c->login_rsp_user_data_size = 2u + (uint32_t)(tcpshm_sim_random() % 7);
    /* groups of more than 64 connections (the core polls them by readiness) */
    if (tcpshm_sim_random() % 4 == 0)
        c->tcp_conns_per_group = 65;
    /* the clients' windows: deep ones leave dozens of requests in flight at a login */
    g_window = tcpshm_sim_random() % 4 == 0 ? 24u + (uint32_t)(tcpshm_sim_random() % 40) : 4u;
    /* a quarter of the seeds run across the u32 wrap of the seq numbers */
    if (tcpshm_sim_random() % 4 == 0)
        sh->start_seq = 0u - (1u + (uint32_t)(tcpshm_sim_random() % 300));
}

/* At the end, every request has its echo. */
static int check(void *user, int64_t now, bool final, char *why, size_t n)
{
    (void)user, (void)now;
    if (!final)
        return 0;
    for (uint32_t i = 0; i < tcpshm_sim_nclients(); i++) {
        tcpshm_conn *c = tcpshm_sim_conn(g_clients[i].name, "server");
        if (c && tcpshm_conn_my_ack(c) != tcpshm_conn_seq_end(c)) {
            snprintf(why, n, "client %s has %u requests without an echo (requests up to seq %u, echoes up to %u): "
                     "an echo was lost", g_clients[i].name, tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c),
                     tcpshm_conn_seq_end(c), tcpshm_conn_my_ack(c));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static tcpshm_sim_world w;
    tcpshm_config_default(&w.config);
    w.server = (tcpshm_sim_node){.name = "server", .dir = "srv", .start = server_start, .step = server_step,
                                 .process = process};
    w.server.server.user = &g_server;
    w.server.server.on_msg = server_msg;
    w.server.server.on_new_connection = server_new_conn;
    for (int i = 0; i < NCLIENTS; i++) {
        w.clients[i] = (tcpshm_sim_node){.name = g_clients[i].name, .dir = g_clients[i].name, .step = client_step,
                                         .process = process, .login_user_data = client_login_data};
        w.clients[i].client.user = &g_clients[i];
        w.clients[i].client.on_msg = client_msg;
        w.clients[i].client.on_login_success = client_logged_in;
    }
    w.nclients = NCLIENTS;
    w.shape = shape;
    w.check = check;
    w.pair_reset = pair_reset; /* and so the rollback and power-loss kinds (process durability) */
    return tcpshm_sim_main(argc, argv, &w);
}
