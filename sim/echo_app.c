/* tcpshm-sim's own application (echo_app.h), written on tcpshm/sim.h and
 * the core's public headers alone, as a user's world is: the simulator
 * runs it through the same wrappers, hooks and checks as any world.
 *
 * The server (names srv0..srv3, a directory each) answers every request
 * with one echo, kept exactly-once across kills by a write-ahead record,
 * and pushes one-way messages to each client that proved it recorded the
 * server's name. The clients (1-4 of them, names c<i>g0..c<i>g3, a
 * directory each) push requests and one-way messages within a window,
 * some batched with push_more, and pop everything. Every body is
 * self-checking (workload.h: the pair's tag, the seq it was pushed at, its
 * kind, a checksum over a filler), and whoever pops it checks it;
 * requests and echoes are marked (tcpshm_sim_request, tcpshm_sim_answer),
 * so the simulator holds them to exactly once, in order.
 *
 * Each seed draws the deployment (shape): message and queue sizes, windows
 * (a quarter deep: 24-200), groups (a quarter polled by readiness), byte
 * order, user-data sizes, Nagle, file mode, 1-4 clients, push rates, and
 * in a quarter of the seeds seq numbers just below 2^32. Each process is
 * one of several versions (process): a server that reads in its step
 * instead of on_msg, or leaves its optional callbacks NULL; a client that
 * reads in its step, leaves its optional callbacks NULL, or sends login
 * user data (the server checks it, and the client the response's). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "echo_app.h"
#include "shape_switch.h"
#include "tcpshm/sim.h"
#include "workload.h"

#define NCLIENTS TCPSHM_SIM_MAX_CLIENTS
#define NAMES TCPSHM_SIM_MAX_IDENTITIES
#define NAME_SIZE (TCPSHM_NAME_MAX + 1)

/* ------------------------------------------------------------ the seed's shape */

typedef struct app_shape {
    uint32_t win_c, win_s; /* messages a client / the server leaves unacknowledged at most */
    uint32_t push_ppm;     /* the chance of a push, per million */
    uint32_t max_body;     /* bodies of WL_MIN_BODY .. max_body bytes */
    uint32_t more_ppm;     /* the share of the clients' pushes made with push_more */
} app_shape;
static app_shape g;

static uint32_t rnd_below(uint32_t n) { return (uint32_t)(tcpshm_sim_random() % n); }
static uint32_t rnd_range(uint32_t lo, uint32_t hi) { return lo + rnd_below(hi - lo + 1u); }
static bool rnd_ppm(uint32_t ppm) { return rnd_below(1000000u) < ppm; }
static uint32_t pick(const uint32_t *v, uint32_t n) { return v[rnd_below(n)]; }
static uint32_t round8(uint32_t x) { return (x + 7u) & ~7u; }

/* The queues and the receive buffer are sized from the windows so that
 * the server always gets room for an echo eventually (sim/README.md: flow
 * control); a tight queue makes alloc refuse and compaction run often.
 * TCPSHM_SIM_DEEP and TCPSHM_SIM_READINESS force their coins (=1 every
 * seed, =0 none), as the simulator's own switches do. */
static void shape(void *user, tcpshm_sim_shape *sh)
{
    static const uint32_t msg_sizes[] = {80, 128, 256, 1024};
    tcpshm_config *c = &sh->config;
    (void)user;
    bool deep = sim_switch_apply(SIM_SW_DEEP, rnd_below(4) == 0);
    c->max_msg_size = pick(msg_sizes, deep ? 2 : 4); /* deep: every file copy costs its size */
    g.max_body = c->max_msg_size - 8u;
    if (rnd_below(2))
        g.max_body = WL_MIN_BODY + rnd_below(g.max_body - WL_MIN_BODY + 1u);
    g.win_c = deep ? rnd_range(24, 200) : rnd_range(1, 8);
    g.win_s = deep ? rnd_range(24, 200) : rnd_range(1, 8);
    uint32_t unit = c->max_msg_size;
    if (deep) /* the server's queue holds the echoes of win_c requests and win_s of its own */
        c->queue_size = round8((g.win_c + g.win_s + 2u) * unit + rnd_below(2u * unit));
    else if (rnd_below(2))
        c->queue_size = round8(2u * (2u * g.win_c + g.win_s + 2u) * unit * rnd_range(1, 3));
    else
        c->queue_size = round8(unit * rnd_range(1, 4) + rnd_below(unit));
    c->recv_buf_size = round8((g.win_c + 2u) * unit + rnd_below(4) * unit);
    uint32_t slot = unit + 8u; /* over SHM (a seed whose clients log in over SHM) */
    switch (rnd_below(3)) {
    case 0:
        c->shm_queue_size = 2u * (2u * g.win_c + g.win_s + 2u) * slot * rnd_range(1, 3);
        break;
    case 1:
        c->shm_queue_size = slot * rnd_range(3, 6) + 8u * rnd_below(slot / 8u);
        break;
    default:
        c->shm_queue_size = 2u * slot + 8u * rnd_below(slot / 8u + 1u);
        break;
    }
    c->little_endian = rnd_below(4) != 0;
    c->tcp_groups = rnd_range(1, 3); /* clients spread by a hash of their name (s_new) */
    c->tcp_conns_per_group = NCLIENTS * NAMES; /* every client name (the simulator adds its liar's) */
    if (sim_switch_apply(SIM_SW_READINESS, rnd_below(4) == 0))
        c->tcp_conns_per_group = 65; /* more than 64: the core polls the group by readiness */
    c->tcp_nodelay = rnd_below(4) != 0;
    c->login_user_data_size = pick((const uint32_t[]){1, 8, 24}, 3); /* the login fits the smallest max_msg_size */
    c->login_rsp_user_data_size = rnd_below(2) ? 8u : 1u;
    c->file_mode = rnd_below(4) ? 0600u : 0u; /* 0 means 0600 */
    sh->nclients = rnd_range(1, NCLIENTS);
    g.push_ppm = pick((const uint32_t[]){100000, 300000, 700000}, 3);
    g.more_ppm = pick((const uint32_t[]){0, 300000, 800000}, 3);
    if (rnd_below(4) == 0) /* the pairs of first names start just below the u32 wrap */
        sh->start_seq = 0u - rnd_range(1, 300);
}

static bool host_durable(void) { return tcpshm_sim_config()->durability == TCPSHM_DURABILITY_HOST; }

/* ------------------------------------------------------------ messages */

#define FNV_START 2166136261u

/* FNV-1a of the string t, continuing from h. */
static uint32_t fnv1a(uint32_t h, const char *t)
{
    for (; *t; t++)
        h = (h ^ (uint8_t)*t) * 16777619u;
    return h;
}

/* The tag of the pair's direction from -> to: FNV-1a of "from>to" (a
 * message of another pair or direction shows by it). */
static uint32_t pair_tag(const char *from, const char *to) { return fnv1a(fnv1a(fnv1a(FNV_START, from), ">"), to); }

/* Handles the front messages of c with handle (which pops what it takes),
 * until one stays (not popped: it comes again) or the link closes: a
 * process that reads in its step instead of on_msg. */
static void drain(void *user, tcpshm_conn *c, void (*handle)(void *user, tcpshm_conn *c, tcpshm_msg_header *m))
{
    tcpshm_msg_header *m;
    while (tcpshm_conn_is_connected(c) && (m = tcpshm_conn_front(c)) != NULL) {
        uint32_t ack = tcpshm_conn_my_ack(c);
        handle(user, c, m);
        if (tcpshm_conn_my_ack(c) == ack)
            break;
    }
}

static uint16_t body_size(void) { return (uint16_t)rnd_range(WL_MIN_BODY, g.max_body); }

/* Fills the message allocated at h on c (kind, the request it answers)
 * and pushes it: a request marked as one, an echo as its answer; batched
 * with push_more, which the core sends (and in durability host syncs) with
 * the next push or poll. The push's result. */
static int push_alloced(tcpshm_conn *c, tcpshm_msg_header *h, uint32_t kind, uint32_t echo_of, bool batched)
{
    wl_msg m = {pair_tag(tcpshm_conn_local_name(c), tcpshm_conn_remote_name(c)), tcpshm_conn_seq_end(c), kind,
                echo_of, 0, (uint32_t)h->size - 8u};
    h->msg_type = WL_MSG_TYPE;
    wl_fill((uint8_t *)(h + 1), &m);
    if (kind == WL_REQUEST)
        tcpshm_sim_request(c);
    else if (kind == WL_ECHO)
        tcpshm_sim_answer(c, echo_of);
    return batched ? tcpshm_conn_push_more(c) : tcpshm_conn_push(c);
}

/* The front message m of c, checked as its popper's application: the
 * workload's type, an intact body of this pair's direction, pushed at the
 * seq it arrives at. false (a violation reported): not to be handled. */
static bool body_ok(const char *who, tcpshm_conn *c, const tcpshm_msg_header *m, wl_msg *w)
{
    uint32_t size = (uint32_t)m->size - 8u;
    const char *bad = m->msg_type != WL_MSG_TYPE                       ? "not the workload's type"
                      : wl_parse((const uint8_t *)(m + 1), size, w) != 0 ? "a body whose checksum fails"
                      : w->stream != pair_tag(tcpshm_conn_remote_name(c), tcpshm_conn_local_name(c))
                          ? "a body of another pair or direction"
                      : w->seq != tcpshm_conn_my_ack(c) ? "a body pushed at another seq"
                                                         : NULL;
    if (bad)
        tcpshm_sim_fail("%s %s: the message at my_ack %u from %s (type %u, %u bytes) is %s (its seq %u)", who,
                        tcpshm_conn_local_name(c), tcpshm_conn_my_ack(c), tcpshm_conn_remote_name(c), m->msg_type,
                        size, bad, w->seq);
    return bad == NULL;
}

/* The user data of a login ('u') or of its response ('r'): the tag, ':',
 * the client's name and '|', again and again to the last byte (no zero
 * padding that a cut copy would leave as it was). */
static void user_data_of(char tag, const char *client, uint8_t out[TCPSHM_MAX_USER_DATA])
{
    char unit[NAME_SIZE + 4];
    int k = snprintf(unit, sizeof unit, "%c:%s|", tag, client);
    for (size_t i = 0; i < TCPSHM_MAX_USER_DATA; i++)
        out[i] = (uint8_t)unit[i % (size_t)k];
}

/* ------------------------------------------------------------ the server */

/* The write-ahead record of a pair, in <dir>/<server>_<client>.app: the
 * request being echoed, k, and the server's seq_end before its echo, e,
 * in one 64-bit word stored at once; a marker set once the first record
 * is on the disk (a creation cut short reads as zeros, which would name
 * request 0). */
#define REC_VALID 0x3150504f484345ull /* "ECHOPP1" */
typedef struct rec_file {
    uint64_t rec; /* first: a sync of the record starts at the mapping */
    uint64_t valid;
} rec_file;

/* The path of the record of the pair (server, client) in dir. */
static void record_path(char *out, size_t n, const char *dir, const char *server, const char *client)
{
    snprintf(out, n, "%s/%s_%s.app", dir, server, client);
}

static uint32_t rec_k(const rec_file *f) { return (uint32_t)__atomic_load_n(&f->rec, __ATOMIC_ACQUIRE); }
static uint32_t rec_e(const rec_file *f) { return (uint32_t)(__atomic_load_n(&f->rec, __ATOMIC_ACQUIRE) >> 32); }

typedef struct srv_pair {
    char client[NAME_SIZE];
    rec_file *rec;     /* mapped, or NULL: its file calls failed, tried again at the next message */
    tcpshm_conn *conn; /* its connection since its logon, until its disconnect */
    bool named_me;     /* its login named this server: the client has its name recorded */
    bool login_named_me; /* the same of the login on_new_connection saw last, for its on_logon */
    uint32_t ack_at_logon;
} srv_pair;

typedef struct server_app {
    const tcpshm_env *env;
    char name[NAME_SIZE], dir[NAME_SIZE];
    bool reads; /* this process reads in its step (no on_msg) */
    srv_pair pairs[NCLIENTS * NAMES];
    uint32_t npairs;
} server_app;

static srv_pair *pair_of(server_app *a, const char *client)
{
    for (uint32_t i = 0; i < a->npairs; i++)
        if (strcmp(a->pairs[i].client, client) == 0)
            return &a->pairs[i];
    if (a->npairs == sizeof a->pairs / sizeof a->pairs[0]) {
        tcpshm_sim_fail("server %s: more client names than the world has (%s)", a->name, client);
        return NULL;
    }
    srv_pair *p = &a->pairs[a->npairs++];
    memset(p, 0, sizeof *p);
    snprintf(p->client, sizeof p->client, "%s", client);
    return p;
}

static bool rec_sync(server_app *a, rec_file *f)
{
    return !host_durable() || a->env->map_sync(a->env->ctx, f, sizeof *f) == 0;
}

/* Stores {k, e} with one store (never half written), synced in durability
 * host (write-ahead: before the push it guards). false: not synced. */
static bool rec_write(server_app *a, rec_file *f, uint32_t k, uint32_t e)
{
    __atomic_store_n(&f->rec, (uint64_t)e << 32 | k, __ATOMIC_RELEASE);
    return rec_sync(a, f);
}

/* The record file of the pair with client, mapped; a new one (or one a
 * power loss cut) made naming the request before the first one the server
 * will see, my_ack - 1 (zeros would name request 0, also near the wrap).
 * NULL on any failure of its calls: the caller tries again later. */
static rec_file *map_record(server_app *a, tcpshm_conn *c)
{
    const tcpshm_env *e = a->env;
    char path[3 * NAME_SIZE + 8];
    record_path(path, sizeof path, a->dir, a->name, tcpshm_conn_remote_name(c));
    int fd = e->file_open(e->ctx, path, 0, 0);
    if (fd < 0 && errno == ENOENT)
        fd = e->file_open(e->ctx, path, 1, 0600);
    if (fd < 0 && errno == ENOENT) { /* only SHM clients so far: no queue file made the directory */
        if (e->mkdir(e->ctx, a->dir, 0700) == 0 && host_durable())
            (void)e->dir_sync(e->ctx, "");
        fd = e->file_open(e->ctx, path, 1, 0600);
    }
    if (fd < 0)
        return NULL;
    uint64_t size = 0;
    bool ok = e->file_size(e->ctx, fd, &size) == 0 && (size == sizeof(rec_file) || e->file_resize(e->ctx, fd, 0) == 0) &&
              (size == sizeof(rec_file) || e->file_resize(e->ctx, fd, sizeof(rec_file)) == 0) &&
              (!host_durable() || (e->file_sync(e->ctx, fd) == 0 && e->dir_sync(e->ctx, a->dir) == 0));
    rec_file *f = ok ? e->map(e->ctx, fd, sizeof(rec_file)) : NULL;
    e->file_close(e->ctx, fd); /* the mapping stays */
    if (f && __atomic_load_n(&f->valid, __ATOMIC_ACQUIRE) != REC_VALID) {
        ok = rec_write(a, f, tcpshm_conn_my_ack(c) - 1u, tcpshm_conn_seq_end(c));
        if (ok) {
            __atomic_store_n(&f->valid, REC_VALID, __ATOMIC_RELEASE);
            ok = rec_sync(a, f);
        }
        if (!ok) {
            e->unmap(e->ctx, f, sizeof *f);
            f = NULL;
        }
    }
    return f;
}

/* The record of pair p (connection c), mapped. NULL: not now. */
static rec_file *record_of(server_app *a, srv_pair *p, tcpshm_conn *c)
{
    if (!p->rec)
        p->rec = map_record(a, c);
    return p->rec;
}

/* A login that starts the client's side of the pair again: its record,
 * which names a request of the earlier start, removed (and the removal on
 * the disk, in durability host) before the login can be accepted, so that
 * no death between the core's reset and this application's next step can
 * leave it (a new record, made at the logon or the first request, names
 * no request of the new start). A login the core then refuses leaves the
 * pair to a next login, which starts it again too (the client records a
 * server's name only at an accepted login). false: not removed. */
static bool forget_record(server_app *a, const char *client)
{
    const tcpshm_env *e = a->env;
    char path[3 * NAME_SIZE + 8];
    for (uint32_t i = 0; i < a->npairs; i++)
        if (strcmp(a->pairs[i].client, client) == 0 && a->pairs[i].rec) {
            e->unmap(e->ctx, a->pairs[i].rec, sizeof(rec_file));
            a->pairs[i].rec = NULL;
        }
    record_path(path, sizeof path, a->dir, a->name, client);
    if (e->remove(e->ctx, path) != 0 && errno != ENOENT)
        return false;
    return !host_durable() || e->dir_sync(e->ctx, a->dir) == 0 || errno == ENOENT;
}

static void server_start(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts)
{
    server_app *a = user;
    (void)restarts;
    a->env = env; /* the dead process's mappings are gone with it */
    snprintf(a->dir, sizeof a->dir, "%s", dir);
    snprintf(a->name, sizeof a->name, "%s", tcpshm_sim_node_name(a));
    a->npairs = 0;
}

/* A login: its user data must be the client's (zeros: it sent none); the
 * response carries the server's for it. What the protocol will make of it
 * (docs/protocol.md, step 5): the pair goes on if the login names this
 * server; otherwise both sides start again (a new connection), or, in the
 * first-login window (no name, no state), the server resumes its side
 * while a TCP client starts its own again. So the record goes at every
 * login that does not name this server (forget_record), and a login whose
 * record cannot be removed now is refused (the client tries again). Over
 * SHM the window resumes both sides, where the removal could repeat the
 * echo of the pair's very first request if the server died between that
 * echo and its pop before the client ever recorded the server: accepted
 * (not seen in 100,000 seeds). Whether the login named this server is
 * noted for its on_logon. The group: FNV-1a of the name among its
 * transport's. */
static int s_new(void *user, const tcpshm_login *lg, uint8_t *rsp_user_data, const char **reject)
{
    server_app *a = user;
    const tcpshm_config *cfg = tcpshm_sim_config();
    static const uint8_t zeros[TCPSHM_MAX_USER_DATA];
    uint8_t want[TCPSHM_MAX_USER_DATA];
    user_data_of('u', lg->client_name, want);
    if (memcmp(lg->user_data, want, cfg->login_user_data_size) != 0 &&
        memcmp(lg->user_data, zeros, cfg->login_user_data_size) != 0)
        tcpshm_sim_fail("login of %s: its %u bytes of user data are not what the client sent (\"%.*s\")",
                        lg->client_name, cfg->login_user_data_size, (int)cfg->login_user_data_size,
                        (const char *)lg->user_data);
    user_data_of('r', lg->client_name, want);
    memcpy(rsp_user_data, want, cfg->login_rsp_user_data_size);
    bool named_me = strcmp(lg->last_server_name, a->name) == 0;
    srv_pair *p = pair_of(a, lg->client_name);
    bool live = p && p->conn && tcpshm_conn_is_connected(p->conn); /* the core refuses it: "Already logged on" */
    if (p && !live)
        p->login_named_me = named_me;
    if (!live && !named_me && !forget_record(a, lg->client_name)) {
        *reject = "the application cannot reset its record of the pair";
        return -1;
    }
    uint32_t h = fnv1a(FNV_START, lg->client_name);
    uint32_t groups = lg->use_shm ? cfg->shm_groups : cfg->tcp_groups;
    return groups ? (int)(h % groups) : 0;
}

static void s_logon(void *user, tcpshm_conn *c, uint32_t grp)
{
    server_app *a = user;
    (void)grp;
    srv_pair *p = pair_of(a, tcpshm_conn_remote_name(c));
    if (!p)
        return;
    p->named_me = p->login_named_me;
    p->login_named_me = false;
    p->ack_at_logon = tcpshm_conn_my_ack(c);
    p->conn = c;
    (void)record_of(a, p, c); /* now if it can: before any message of the login */
}

static void s_disc(void *user, tcpshm_conn *c, const char *reason, int e)
{
    server_app *a = user;
    (void)reason, (void)e;
    for (uint32_t i = 0; i < a->npairs; i++)
        if (a->pairs[i].conn == c)
            a->pairs[i].conn = NULL;
}

/* Echo, then pop, with the write-ahead record: just before the echo of
 * request r is pushed, the record {r, seq_end} is stored. A kill between
 * the push and the pop redelivers r: the record names it and seq_end moved
 * past e, so its echo is queued already: pop only. A kill (or a failed
 * call) before the push persisted leaves seq_end at e: push again. A
 * request before the one recorded was echoed too (echoes go in order, each
 * returned before the record moves on; durability host may deliver
 * several popped requests again after a power loss). One-way pushes wait
 * while the record names the front message or one after it, so seq_end
 * moves for no other reason. */
static void s_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    server_app *a = user;
    srv_pair *p = pair_of(a, tcpshm_conn_remote_name(c));
    wl_msg w;
    if (!p || !body_ok("server", c, m, &w))
        return;
    if (w.kind == WL_REQUEST) {
        rec_file *f = record_of(a, p, c);
        if (!f)
            return; /* not popped: it comes again */
        int32_t ahead = (int32_t)(rec_k(f) - w.seq);
        if (ahead < 0 || (ahead == 0 && (int32_t)(tcpshm_conn_seq_end(c) - rec_e(f)) <= 0)) {
            tcpshm_msg_header *h = tcpshm_conn_alloc(c, (uint16_t)w.size);
            if (!h || !rec_write(a, f, w.seq, tcpshm_conn_seq_end(c)))
                return; /* queue full, or the record not synced: not popped, it comes again */
            tcpshm_sim_crash_site("app/crash/recorded_not_pushed");
            if (push_alloced(c, h, WL_ECHO, w.seq, false) != 0)
                return; /* not popped: it comes again, its echo is pushed then */
            tcpshm_sim_crash_site("app/crash/pushed_not_popped");
        }
    }
    tcpshm_conn_pop(c);
}

/* The server's step of connection c: its messages, if this process reads
 * them here; then now and then a one-way push, only once the client is
 * known to have recorded this server's name (its login named it, or the
 * server popped one of its messages since: it pushes only after a login
 * that recorded the name), so that the first-login window cannot drop it
 * (sim/README.md), and never past the server's window. */
static void server_step(void *user, int64_t now, tcpshm_conn *c)
{
    server_app *a = user;
    (void)now;
    if (a->reads)
        drain(a, c, s_msg);
    srv_pair *p = pair_of(a, tcpshm_conn_remote_name(c));
    if (tcpshm_sim_settling() || !p || !p->rec || (!p->named_me && tcpshm_conn_my_ack(c) == p->ack_at_logon) ||
        (int32_t)(rec_k(p->rec) - tcpshm_conn_my_ack(c)) >= 0 ||
        tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= g.win_s || !rnd_ppm(g.push_ppm))
        return;
    tcpshm_msg_header *h = tcpshm_conn_alloc(c, body_size());
    if (h)
        (void)push_alloced(c, h, WL_ONEWAY, 0, false);
}

/* The optional callbacks of a process that sets them: the simulator judges
 * what they report; the application has nothing to do. */
static void s_syserr(void *user, const char *what, int e) { (void)user, (void)what, (void)e; }
static void s_file_error(void *user, const char *client, const tcpshm_error *err)
{
    (void)user, (void)client, (void)err;
}

/* ------------------------------------------------------------ the clients */

typedef struct client_app {
    bool reads;     /* this process reads in its step (no on_msg) */
    bool user_data; /* its logins carry user data */
    uint8_t login_data[TCPSHM_MAX_USER_DATA];
} client_app;

static void c_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    wl_msg w;
    (void)user;
    if (body_ok("client", c, m, &w))
        tcpshm_conn_pop(c);
}

static void c_login(void *user, tcpshm_conn *c, const tcpshm_login_rsp *rsp)
{
    uint32_t n = tcpshm_sim_config()->login_rsp_user_data_size;
    uint8_t want[TCPSHM_MAX_USER_DATA];
    (void)user;
    user_data_of('r', tcpshm_conn_local_name(c), want);
    if (memcmp(rsp->user_data, want, n) != 0)
        tcpshm_sim_fail("login response of %s: its %u bytes of user data are not what the server sent (\"%.*s\")",
                        tcpshm_conn_local_name(c), n, (int)n, (const char *)rsp->user_data);
}

static const uint8_t *c_login_data(void *user)
{
    client_app *a = user;
    if (!a->user_data)
        return NULL;
    user_data_of('u', tcpshm_sim_node_name(a), a->login_data);
    return a->login_data;
}

static void c_syserr(void *user, const char *reason, int e) { (void)user, (void)reason, (void)e; }
static void c_reject(void *user, const tcpshm_login_rsp *rsp) { (void)user, (void)rsp; }
static void c_mismatch(void *user, tcpshm_conn *c, const tcpshm_seq_mismatch *m) { (void)user, (void)c, (void)m; }
static void c_disc(void *user, tcpshm_conn *c, const char *reason, int e) { (void)user, (void)c, (void)reason, (void)e; }

/* A client's step: its messages, if this process reads them here; then,
 * until the faults stop, up to two pushes within its window (whenever it
 * has a connection, also after a login whose server name could not be
 * recorded), each a request or a one-way message, some batched. */
static void client_step(void *user, int64_t now, tcpshm_conn *c)
{
    client_app *a = user;
    (void)now;
    if (a->reads)
        drain(a, c, c_msg);
    for (int i = 0; i < 2 && !tcpshm_sim_settling(); i++) {
        if (tcpshm_conn_seq_end(c) - tcpshm_conn_seq_start(c) >= g.win_c || !rnd_ppm(g.push_ppm))
            return;
        tcpshm_msg_header *h = tcpshm_conn_alloc(c, body_size());
        if (!h)
            return;
        uint32_t kind = rnd_below(2) ? WL_REQUEST : WL_ONEWAY;
        (void)push_alloced(c, h, kind, 0, rnd_ppm(g.more_ppm));
    }
}

/* ------------------------------------------------------------ processes and pairs */

/* Each process is a version of its node's application: a server that
 * reads in its step (1 in 5) and one that sets its optional callbacks
 * (1 in 2); a client that reads in its step (1 in 7), one that leaves its
 * optional callbacks NULL (1 in 3), one whose logins carry user data
 * (1 in 5). The core runs with exactly those set. */
static void process(void *user, uint32_t restarts, tcpshm_server_callbacks *server, tcpshm_client_callbacks *client)
{
    (void)restarts;
    if (server) {
        server_app *a = user;
        a->reads = rnd_below(5) == 0;
        if (a->reads)
            server->on_msg = NULL;
        if (rnd_below(2))
            server->on_system_error = NULL, server->on_client_file_error = NULL;
        return;
    }
    client_app *a = user;
    a->reads = rnd_below(7) == 0;
    if (a->reads)
        client->on_msg = NULL;
    if (rnd_below(3) == 0)
        client->on_system_error = NULL, client->on_login_reject = NULL, client->on_seq_mismatch = NULL,
        client->on_disconnect = NULL;
    a->user_data = rnd_below(5) == 0;
}

/* The operator reset the pair (a loss the core detected): both processes
 * are down, both queues gone; the pair's record goes too (a new one is
 * made at the next login, naming no request). */
static void pair_reset(void *user, const char *server, const char *client)
{
    const tcpshm_env *e = tcpshm_sim_env();
    char path[3 * NAME_SIZE + 8];
    (void)user;
    record_path(path, sizeof path, server, server, client); /* each server name's directory is its name */
    (void)e->remove(e->ctx, path);
    (void)e->dir_sync(e->ctx, server); /* a power loss (durability host) brings back an unsynced removal */
}

/* ------------------------------------------------------------ the world */

static const tcpshm_sim_identity g_server_names[NAMES - 1] = {{"srv1", "srv1"}, {"srv2", "srv2"}, {"srv3", "srv3"}};
static const tcpshm_sim_identity g_client_names[NCLIENTS][NAMES - 1] = {
    {{"c1g1", "c1g1"}, {"c1g2", "c1g2"}, {"c1g3", "c1g3"}},
    {{"c2g1", "c2g1"}, {"c2g2", "c2g2"}, {"c2g3", "c2g3"}},
    {{"c3g1", "c3g1"}, {"c3g2", "c3g2"}, {"c3g3", "c3g3"}},
    {{"c4g1", "c4g1"}, {"c4g2", "c4g2"}, {"c4g3", "c4g3"}},
};
static const char *const g_first[NCLIENTS] = {"c1g0", "c2g0", "c3g0", "c4g0"};
static server_app g_server;
static client_app g_clients[NCLIENTS];

const tcpshm_sim_world *echo_app_world(void)
{
    static tcpshm_sim_world w;
    tcpshm_config_default(&w.config);
    w.server = (tcpshm_sim_node){.name = "srv0", .dir = "srv0", .start = server_start, .step = server_step,
                                 .identities = g_server_names, .nidentities = NAMES - 1, .process = process};
    w.server.server = (tcpshm_server_callbacks){.user = &g_server, .on_system_error = s_syserr,
                                                .on_new_connection = s_new, .on_client_file_error = s_file_error,
                                                .on_logon = s_logon, .on_disconnect = s_disc, .on_msg = s_msg};
    for (int i = 0; i < NCLIENTS; i++) {
        w.clients[i] = (tcpshm_sim_node){.name = g_first[i], .dir = g_first[i], .step = client_step,
                                         .identities = g_client_names[i], .nidentities = NAMES - 1,
                                         .process = process, .login_user_data = c_login_data};
        w.clients[i].client = (tcpshm_client_callbacks){.user = &g_clients[i], .on_system_error = c_syserr,
                                                        .on_login_reject = c_reject, .on_seq_mismatch = c_mismatch,
                                                        .on_login_success = c_login, .on_disconnect = c_disc,
                                                        .on_msg = c_msg};
    }
    w.nclients = NCLIENTS;
    w.shape = shape;
    w.pair_reset = pair_reset;
    /* its record only guards its echoes: a queue file or a segment that goes
     * back alone leaves the record ahead, which the echo rule, off for the
     * pair until its reset, does not judge */
    w.core_files_alone = true;
    return &w;
}
