/* The server: accept and log in (poll_ctl), serve groups (poll_tcp,
 * poll_shm). See tcpshm/server.h for which thread touches what. The
 * connection's queue or segments are reached only through conn_internal.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "conn_internal.h"
#include "crash.h"
#include "dir_check.h"
#include "env_check.h"
#include "error_set.h"
#include "io.h"
#include "tcpshm/login.h"
#include "peer_addr.h"
#include "name_lock.h"
#include "tcpshm/server.h"

/* Slot states; the word is written with release and read with acquire.
 * poll_ctl moves FREE or OFFLINE to LOGIN_PENDING; the group's poll (TCP
 * or SHM) moves LOGIN_PENDING to LIVE or OFFLINE. LIVE to OFFLINE: poll_tcp
 * for a TCP slot, poll_ctl (which keeps the TCP side of SHM slots) for an
 * SHM slot. TCP slots come first in the array, then SHM slots. */
enum { SLOT_FREE, SLOT_OFFLINE, SLOT_LOGIN_PENDING, SLOT_LIVE };

typedef struct slot {
    tcpshm_conn conn;
    uint32_t state;
    /* handed from poll_ctl to poll_tcp with LOGIN_PENDING */
    int login_fd;
    /* readiness polling (TCP groups with a set): the socket registered in
     * the group's set (-1: none, the slot is polled directly), and whether
     * the slot is in the group's list for the next poll */
    int reg_fd;
    bool in_again;
    tcpshm_login login;
    uint8_t rsp_user_data[TCPSHM_MAX_USER_DATA];
} slot;


/* An accepted connection whose login is being assembled. */
typedef struct pending {
    int fd; /* -1: unused */
    int64_t since;
    uint32_t got;
    uint8_t buf[TCPSHM_LOGIN_MAX_BYTES]; /* room for any configured login */
} pending;

/* A TCP group of more than this many slots polls with readiness (an epoll
 * set, env version 3): each poll reads only the sockets the set reports.
 * Smaller groups recv on every live connection at every poll. */
#define READY_MIN_SLOTS 64u

/* Readiness polling of one TCP group (docs/design.md "Readiness polling"). */
typedef struct ready_group {
    int set;            /* the readiness set; -1: the group polls every slot directly */
    uint64_t *tags;     /* what the set reports: slot numbers; room for twice the group (env.h) */
    uint32_t *again;    /* slots the next poll looks at although the set may not report them */
    uint32_t *spare;    /* the list being worked through */
    uint32_t nagain;
    /* logins poll_ctl hands over, in order: a ring of slot numbers (a slot is
     * in it at most once: it enters on its way to LOGIN_PENDING, which only
     * the group's poll ends). poll_ctl writes handed[] and tail (release),
     * the group's poll reads them and owns head. */
    uint32_t *handed;
    uint32_t tail, head;
    /* the sweep (heartbeats, timeouts): a cursor going round the group once
     * per quarter heartbeat of `now`, a few slots per poll */
    uint32_t cursor;
    bool swept;       /* swept_at is set */
    int64_t swept_at; /* `now` the sweep has covered up to */
} ready_group;

struct tcpshm_server {
    tcpshm_config cfg;
    const tcpshm_env *env;
    tcpshm_server_callbacks cb;
    char name[TCPSHM_NAME_MAX + 1];
    char dir[TCPSHM_PATH_SIZE];
    int listen_fd;
    int lock_fd; /* <dir>/<name>.lock, held from create to destroy */
    uint16_t port;
    int64_t next_accept; /* poll_ctl calls accept() from then (see ctl_interval in config.h) */
    pending *pend;
    slot *slots;
    uint8_t *rx_bufs;
    ready_group *ready; /* one per TCP group, then their tags and lists; NULL: no readiness */
};

static uint32_t load_state(const slot *sl) { return __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE); }
static void store_state(slot *sl, uint32_t st) { __atomic_store_n(&sl->state, st, __ATOMIC_RELEASE); }

static uint32_t ntcp(const tcpshm_server *s) { return s->cfg.tcp_groups * s->cfg.tcp_conns_per_group; }
static uint32_t nslots(const tcpshm_server *s)
{
    return ntcp(s) + s->cfg.shm_groups * s->cfg.shm_conns_per_group;
}

/* The first slot of a group and the group's size. */
static slot *group_base(tcpshm_server *s, bool shm, uint32_t grp, uint32_t *count)
{
    *count = shm ? s->cfg.shm_conns_per_group : s->cfg.tcp_conns_per_group;
    return &s->slots[(shm ? ntcp(s) : 0) + grp * *count];
}

/* The readiness sets and their arrays, sized for whole groups in one
 * allocation (none later; none at all when no group polls with readiness:
 * s->ready stays NULL). A set that cannot be made leaves its group on
 * direct polling, said through on_system_error. -1 only when out of memory. */
static int ready_create(tcpshm_server *s)
{
    uint32_t count = s->cfg.tcp_conns_per_group, groups = s->cfg.tcp_groups;
    if (count <= READY_MIN_SLOTS || !tcpshm_env_has_epoll(s->env))
        return 0;
    size_t head = (sizeof(ready_group) * groups + 7u) & ~(size_t)7u;
    /* rounded up to 8: each group's tags (uint64_t) start aligned */
    size_t per = ((size_t)count * (2 * sizeof(uint64_t) + 3 * sizeof(uint32_t)) + 7u) & ~(size_t)7u;
    uint8_t *mem = tcpshm_mem_alloc(head + per * groups);
    if (!mem)
        return -1;
    s->ready = (ready_group *)(void *)mem;
    for (uint32_t g = 0; g < groups; g++) {
        ready_group *rg = &s->ready[g];
        memset(rg, 0, sizeof *rg);
        rg->tags = (uint64_t *)(void *)(mem + head + per * g);
        rg->again = (uint32_t *)(void *)(rg->tags + 2u * (size_t)count);
        rg->spare = rg->again + count;
        rg->handed = rg->spare + count;
        rg->set = tcpshm_io_epoll_create(s->env);
        if (rg->set < 0 && s->cb.on_system_error)
            s->cb.on_system_error(s->cb.user, "epoll_create: the group polls every connection", errno);
    }
    return 0;
}

int tcpshm_server_create(tcpshm_server **out, const tcpshm_config *cfg, const tcpshm_env *env,
                         const char *server_name, const char *dir,
                         const tcpshm_server_callbacks *cb, tcpshm_error *err)
{
    *out = NULL;
    int rc = tcpshm_env_check(env ? env : tcpshm_env_posix(), err);
    if (!rc)
        rc = tcpshm_config_check(cfg, err);
    if (!rc)
        rc = tcpshm_env_check_durable(env ? env : tcpshm_env_posix(),
                                      cfg->durability == TCPSHM_DURABILITY_HOST, err);
    if (!rc)
        rc = tcpshm_name_check(server_name, cfg->name_size, "server name", err);
    if (rc)
        return rc;
    rc = tcpshm_dir_check(dir, server_name, cfg->name_size, err);
    if (rc)
        return rc;
    if (!env)
        env = tcpshm_env_posix();
    /* First: a second server of this name and directory stops here, before
     * it listens or touches any pair's state. */
    int lock_fd;
    rc = tcpshm_name_lock(env, dir, server_name, cfg->file_mode, &lock_fd, err);
    if (rc)
        return rc;
    tcpshm_server *s = tcpshm_mem_alloc(sizeof *s);
    if (!s) {
        tcpshm_name_unlock(env, lock_fd);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, ENOMEM, "out of memory for the server");
    }
    s->cfg = *cfg;
    s->env = env;
    s->lock_fd = lock_fd;
    if (cb)
        s->cb = *cb;
    memcpy(s->name, server_name, strlen(server_name) + 1);
    memcpy(s->dir, dir, strlen(dir) + 1);
    s->listen_fd = -1;
    s->next_accept = INT64_MIN;
    uint32_t n = nslots(s);
    s->pend = tcpshm_mem_alloc(sizeof(pending) * cfg->max_new_conns);
    s->slots = tcpshm_mem_alloc_unzeroed(sizeof(slot) * n); /* zeroed slot by slot below */
    s->rx_bufs = tcpshm_mem_alloc_unzeroed((size_t)cfg->recv_buf_size * n);
    if (!s->pend || !s->slots || !s->rx_bufs) {
        /* Freed here, not by destroy: nothing in them is initialized yet
         * (destroy would close pending fd 0 and fail zeroed connections). */
        tcpshm_mem_free(s->rx_bufs);
        tcpshm_mem_free(s->slots);
        tcpshm_mem_free(s->pend);
        tcpshm_mem_free(s);
        tcpshm_name_unlock(env, lock_fd);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, ENOMEM, "out of memory for %u connections", n);
    }
    for (uint32_t i = 0; i < cfg->max_new_conns; i++)
        s->pend[i].fd = -1;
    for (uint32_t i = 0; i < n; i++) {
        /* conn_init zeroes the connection; the rest of the slot here, so
         * that its memory is written once (a restart's largest cost) */
        memset((uint8_t *)&s->slots[i] + offsetof(slot, state), 0, sizeof(slot) - offsetof(slot, state));
        tcpshm_conn_init(&s->slots[i].conn, &s->cfg, s->env, TCPSHM_CONN_SERVER, s->name,
                         s->rx_bufs + (size_t)i * cfg->recv_buf_size);
        s->slots[i].login_fd = -1;
        s->slots[i].reg_fd = -1;
    }
    if (ready_create(s) != 0) {
        tcpshm_server_destroy(s);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, ENOMEM, "out of memory for readiness polling");
    }
    *out = s;
    return 0;
}

int tcpshm_server_start(tcpshm_server *s, const char *addr, uint16_t port, tcpshm_error *err)
{
    if (s->listen_fd >= 0)
        return tcpshm_fail(err, TCPSHM_E_ARG, 0, "server already started");
    int fd = tcpshm_io_listen(s->env, addr, port, 64);
    if (fd < 0)
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, errno, "cannot listen on %s port %u", addr, port);
    int p = tcpshm_io_local_port(s->env, fd);
    if (p < 0) {
        int e = errno;
        (void)tcpshm_io_sock_close(s->env, fd);
        return tcpshm_fail(err, TCPSHM_E_SYSTEM, e, "cannot read the listening port");
    }
    s->listen_fd = fd;
    s->port = (uint16_t)p;
    return 0;
}

uint16_t tcpshm_server_port(const tcpshm_server *s) { return s->port; }

void tcpshm_server_destroy(tcpshm_server *s)
{
    if (!s)
        return;
    if (s->listen_fd >= 0)
        (void)tcpshm_io_sock_close(s->env, s->listen_fd);
    /* Only a created server comes here: its arrays are all there. */
    for (uint32_t i = 0; i < s->cfg.max_new_conns; i++)
        if (s->pend[i].fd >= 0)
            (void)tcpshm_io_sock_close(s->env, s->pend[i].fd);
    for (uint32_t i = 0; i < nslots(s); i++) {
        slot *sl = &s->slots[i];
        if (sl->login_fd >= 0 && load_state(sl) == SLOT_LOGIN_PENDING)
            (void)tcpshm_io_sock_close(s->env, sl->login_fd);
        tcpshm_conn_fail(&sl->conn, "Server stopped", 0);
        tcpshm_conn_close_state(&sl->conn);
    }
    for (uint32_t g = 0; s->ready && g < s->cfg.tcp_groups; g++)
        if (s->ready[g].set >= 0)
            (void)tcpshm_io_sock_close(s->env, s->ready[g].set);
    tcpshm_name_unlock(s->env, s->lock_fd); /* last: every pair's state is closed */
    tcpshm_mem_free(s->ready);
    tcpshm_mem_free(s->rx_bufs);
    tcpshm_mem_free(s->slots);
    tcpshm_mem_free(s->pend);
    tcpshm_mem_free(s);
}

/* ---- poll_ctl: accept, assemble, steps 1-4 ---- */

static void drop_pending(tcpshm_server *s, pending *p, const char *client, const char *reason)
{
    (void)tcpshm_io_sock_close(s->env, p->fd);
    p->fd = -1;
    if (s->cb.on_login_rejected)
        s->cb.on_login_rejected(s->cb.user, client, reason);
}

/* Sends a refusing response once (best effort: the socket is new and
 * empty, so the 72 bytes normally go at once) and drops the connection. */
static void reject(tcpshm_server *s, pending *p, const tcpshm_login *login, uint8_t status,
                   const char *text)
{
    tcpshm_login_rsp rsp;
    memset(&rsp, 0, sizeof rsp);
    rsp.status = status;
    memcpy(rsp.server_name, s->name, strlen(s->name) + 1);
    snprintf(rsp.error_msg, sizeof rsp.error_msg, "%s", text);
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_rsp_encode(&s->cfg, &rsp, out);
    (void)tcpshm_io_send(s->env, p->fd, out, len);
    drop_pending(s, p, login->client_name, text);
}

/* Each group's slots in use are a prefix of it (handle_login): a group's
 * first free slot ends its part of the search. TCP groups first, then SHM. */
static slot *find_slot(tcpshm_server *s, const char *client)
{
    uint32_t groups = s->cfg.tcp_groups + s->cfg.shm_groups;
    for (uint32_t k = 0; k < groups; k++) {
        bool shm = k >= s->cfg.tcp_groups;
        uint32_t count;
        slot *base = group_base(s, shm, shm ? k - s->cfg.tcp_groups : k, &count);
        for (uint32_t i = 0; i < count && load_state(&base[i]) != SLOT_FREE; i++)
            if (strcmp(tcpshm_conn_remote_name(&base[i].conn), client) == 0)
                return &base[i];
    }
    return NULL;
}

/* A shared-memory login makes this host's segments: only for a peer on
 * this host (an env that cannot tell refuses). */
static bool peer_on_this_host(tcpshm_server *s, int fd)
{
    char local[TCPSHM_ADDR_STR_SIZE], peer[TCPSHM_ADDR_STR_SIZE];
    if (tcpshm_io_sock_addrs(s->env, fd, local, peer, sizeof local) != 0)
        return false;
    local[sizeof local - 1] = peer[sizeof peer - 1] = '\0';
    return tcpshm_peer_is_local(local, peer);
}

static void handle_login(tcpshm_server *s, pending *p, const tcpshm_login *login)
{
    /* 1. a name that can be a file name */
    if (tcpshm_name_check(login->client_name, s->cfg.name_size, "client name", NULL) != 0) {
        reject(s, p, login, TCPSHM_LOGIN_ERROR, "Invalid client name");
        return;
    }
    /* 2. the application decides */
    uint8_t rsp_ud[TCPSHM_MAX_USER_DATA];
    memset(rsp_ud, 0, sizeof rsp_ud);
    const char *reject_text = NULL;
    int grp = s->cb.on_new_connection
                  ? s->cb.on_new_connection(s->cb.user, login, rsp_ud, &reject_text)
                  : 0;
    if (grp < 0) {
        reject(s, p, login, TCPSHM_LOGIN_ERROR, reject_text ? reject_text : "Login Reject");
        return;
    }
    bool shm = login->use_shm != 0;
    if (shm && s->cfg.shm_groups == 0) {
        reject(s, p, login, TCPSHM_LOGIN_ERROR, "Shared memory not enabled");
        return;
    }
    /* Segments are RAM: a power cut loses them (see config.h). */
    if (shm && s->cfg.durability == TCPSHM_DURABILITY_HOST) {
        reject(s, p, login, TCPSHM_LOGIN_ERROR, "Shared memory not host-durable");
        return;
    }
    if (shm && !peer_on_this_host(s, p->fd)) {
        reject(s, p, login, TCPSHM_LOGIN_ERROR, "Shared memory needs local peer");
        return;
    }
    if ((uint32_t)grp >= (shm ? s->cfg.shm_groups : s->cfg.tcp_groups)) {
        if (s->cb.on_system_error)
            s->cb.on_system_error(s->cb.user, "on_new_connection returned a group out of range", 0);
        reject(s, p, login, TCPSHM_LOGIN_ERROR, "Login Reject");
        return;
    }
    /* 3. the client's slot, or a free one in the chosen group */
    slot *sl = find_slot(s, login->client_name);
    if (sl) {
        uint32_t st = load_state(sl);
        if (st == SLOT_LIVE || st == SLOT_LOGIN_PENDING) {
            reject(s, p, login, TCPSHM_LOGIN_ERROR, "Already logged on");
            return;
        }
        /* Its messages wait in the other transport's queue: switching
         * would strand them until it switches back. */
        if (tcpshm_conn_is_shm(&sl->conn) != shm) {
            reject(s, p, login, TCPSHM_LOGIN_ERROR, shm ? "Logged in over TCP before" : "Logged in over SHM before");
            return;
        }
    } else {
        /* The lowest free slot, and no slot is ever freed: a group's slots
         * in use stay a prefix of it (poll_shm stops at the first free). */
        uint32_t count;
        slot *base = group_base(s, shm, (uint32_t)grp, &count);
        for (uint32_t i = 0; i < count && !sl; i++)
            if (load_state(&base[i]) == SLOT_FREE)
                sl = &base[i];
        if (!sl) {
            reject(s, p, login, TCPSHM_LOGIN_ERROR, "Max client cnt exceeded");
            return;
        }
        /* 4. the pair's queue file or segments; the slot is FREE, so no
         * group thread looks at it */
        tcpshm_error err;
        (void)tcpshm_conn_set_transport(&sl->conn, shm, NULL); /* FREE: poll_shm keeps off */
        if (tcpshm_conn_open_state(&sl->conn, s->dir, login->client_name, &err) != 0) {
            if (s->cb.on_client_file_error)
                s->cb.on_client_file_error(s->cb.user, login->client_name, &err);
            reject(s, p, login, TCPSHM_LOGIN_ERROR, "System error");
            return;
        }
    }
    sl->login_fd = p->fd;
    sl->login = *login;
    memcpy(sl->rsp_user_data, rsp_ud, sizeof rsp_ud);
    p->fd = -1;
    store_state(sl, SLOT_LOGIN_PENDING); /* hands everything above to the group's poll */
    uint32_t at = (uint32_t)(sl - s->slots), count = s->cfg.tcp_conns_per_group;
    if (s->ready && at < ntcp(s) && s->ready[at / count].set >= 0) { /* after the state */
        ready_group *g = &s->ready[at / count];
        uint32_t t = __atomic_load_n(&g->tail, __ATOMIC_RELAXED); /* only this thread writes it */
        g->handed[t % count] = at % count;
        __atomic_store_n(&g->tail, t + 1u, __ATOMIC_RELEASE);
    }
}

/* Reads the rest of a login (never past it: later bytes belong to the
 * connection) and handles it once whole. */
static void serve_pending(tcpshm_server *s, pending *p, int64_t now)
{
    uint32_t want = tcpshm_padded_size(tcpshm_login_size(&s->cfg));
    while (p->got < want) {
        ssize_t n = tcpshm_io_recv(s->env, p->fd, p->buf + p->got, want - p->got);
        if (n == 0) {
            drop_pending(s, p, "", "Remote close before login");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            drop_pending(s, p, "", "Read error before login");
            return;
        }
        p->got += (uint32_t)n;
        if (p->got >= TCPSHM_HEADER_SIZE && p->got - (uint32_t)n < TCPSHM_HEADER_SIZE) {
            /* judge the header as soon as it is there */
            tcpshm_msg_header h;
            tcpshm_header_decode(p->buf, s->cfg.little_endian, &h);
            char why[96];
            if (h.msg_type != TCPSHM_MSG_LOGIN || h.size != tcpshm_login_size(&s->cfg)) {
                snprintf(why, sizeof why, "Bad login: type %u size %u, expected type 1 size %u",
                         h.msg_type, h.size, tcpshm_login_size(&s->cfg));
                drop_pending(s, p, "", why);
                return;
            }
        }
    }
    if (p->got == want) {
        tcpshm_login login;
        tcpshm_error err;
        int rc = tcpshm_login_decode(&s->cfg, p->buf, want, &login, &err);
        if (rc == TCPSHM_E_NAME) { /* a name field without a NUL: a bad name, answered */
            reject(s, p, &login, TCPSHM_LOGIN_ERROR,
                   login.client_name[0] ? "Invalid last server name" : "Invalid client name");
            return;
        }
        if (rc != 0) {
            drop_pending(s, p, "", err.text);
            return;
        }
        handle_login(s, p, &login);
        return;
    }
    if (now - p->since > s->cfg.new_conn_timeout)
        drop_pending(s, p, "", "Timeout before login");
}

/* Accepts what waits, up to accepts_per_poll. Once the queue is found
 * empty (or accept fails), the next look is a control-plane interval later;
 * after a full batch, more may wait: the next poll looks again. */
static void accept_new(tcpshm_server *s, int64_t now)
{
    int64_t span = tcpshm_ctl_interval(&s->cfg);
    if (!tcpshm_due(now, s->next_accept, span))
        return;
    s->next_accept = now;
    for (uint32_t i = 0; i < s->cfg.accepts_per_poll; i++) {
        int fd = tcpshm_io_accept(s->env, s->listen_fd);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && s->cb.on_system_error)
                s->cb.on_system_error(s->cb.user, "accept", errno);
            s->next_accept = now + span;
            return;
        }
        pending *p = NULL;
        for (uint32_t k = 0; k < s->cfg.max_new_conns && !p; k++)
            if (s->pend[k].fd < 0)
                p = &s->pend[k];
        if (!p) {
            (void)tcpshm_io_sock_close(s->env, fd);
            if (s->cb.on_login_rejected)
                s->cb.on_login_rejected(s->cb.user, "", "Too many connections logging in");
            continue;
        }
        p->fd = fd;
        p->since = now;
        p->got = 0;
    }
}

/* ---- the group polls: steps 5-7, then the live connection ---- */

static void send_response_once(tcpshm_server *s, int fd, const tcpshm_login_rsp *rsp)
{
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_rsp_encode(&s->cfg, rsp, out);
    (void)tcpshm_io_send(s->env, fd, out, len);
}

/* The first-login window: a client that logged in for the first time, was
 * accepted, and died (or failed to write its record) before it recorded
 * our name comes back with "" and no state at all. If it never consumed
 * anything of this pair's stream and we never consumed anything of its
 * (seq_start 0, my_ack 0), nothing distinguishes it from the client we
 * accepted, and what we pushed since is exactly what it must receive:
 * resetting (step 5 read literally) would drop pushes that returned. A
 * client whose directory was wiped after it consumed something still gets
 * a new connection. */
static bool first_login_resumed(const tcpshm_conn *c, const tcpshm_login *lg)
{
    uint32_t start, end, ack;
    tcpshm_conn_seq_state(c, &start, &end, &ack);
    return lg->last_server_name[0] == '\0' && lg->ack_seq == 0 && lg->client_seq_start == 0 &&
           lg->client_seq_end == 0 && start == 0 && ack == 0;
}

static void finish_login(tcpshm_server *s, slot *sl, uint32_t grp, int64_t now)
{
    tcpshm_conn *c = &sl->conn;
    bool lost = tcpshm_conn_state_fresh(c); /* SHM: never */
    tcpshm_login *lg = &sl->login;
    int fd = sl->login_fd;
    sl->login_fd = -1;
    uint32_t client_ack = lg->ack_seq, client_start = lg->client_seq_start, client_end = lg->client_seq_end;
    /* 5. a client that last talked to another server name is a new connection */
    if (strcmp(lg->last_server_name, s->name) != 0 && !first_login_resumed(c, lg)) {
        tcpshm_conn_reset_for_new_peer(c);
        TCPSHM_CRASH_SITE("tcpshm/crash/login/server_after_reset");
        client_ack = client_start = client_end = 0;
    }
    tcpshm_login_rsp rsp;
    memset(&rsp, 0, sizeof rsp);
    tcpshm_seq_mismatch r = tcpshm_conn_seq_report(c, client_start, client_end, client_ack);
    memcpy(rsp.user_data, sl->rsp_user_data, sizeof rsp.user_data);
    memcpy(rsp.server_name, s->name, strlen(s->name) + 1);
    /* 6. both ranges must agree */
    bool ok = tcpshm_conn_login_seq_ok(c, &r);
    /* a client that goes on with this server while the pair's queue file
     * is fresh (made at a login and never used since: it was gone, so the
     * server's state of the pair was lost, e.g. a power cut in process
     * durability): ranges that happen to agree (an empty queue at 0) prove
     * nothing; both sides are told, at every such login until an operator
     * acts */
    if (lost && strcmp(lg->last_server_name, s->name) == 0)
        ok = false;
    /* 7. accept: free what the client has, resend the rest after the response */
    if (ok) {
        tcpshm_conn_login_accept(c, &r);
        tcpshm_conn_state_used(c);
    }
    rsp.server_seq_start = r.local_seq_start;
    rsp.server_seq_end = r.local_seq_end;
    rsp.ack_seq = r.local_ack;
    /* host durability: what the response states (a reset for a new
     * connection, the rewind) is on stable storage before the client hears
     * it, or the client goes on with a pair a power cut takes back */
    if (ok && s->cfg.durability == TCPSHM_DURABILITY_HOST && tcpshm_conn_sync(c, NULL) != 0) {
        rsp.status = TCPSHM_LOGIN_ERROR;
        snprintf(rsp.error_msg, sizeof rsp.error_msg, "System error");
        send_response_once(s, fd, &rsp);
        (void)tcpshm_io_sock_close(s->env, fd);
        store_state(sl, SLOT_OFFLINE);
        int e = errno;
        if (s->cb.on_system_error)
            s->cb.on_system_error(s->cb.user, "cannot sync a pair's queue at login", e);
        /* the login ended refused: say whose, like every other refusal (an
         * application that follows logins from on_new_connection to their
         * end would otherwise keep this one under way for ever) */
        if (s->cb.on_login_rejected)
            s->cb.on_login_rejected(s->cb.user, lg->client_name, "System error");
        return;
    }
    if (!ok) {
        rsp.status = TCPSHM_LOGIN_SEQ_MISMATCH;
        snprintf(rsp.error_msg, sizeof rsp.error_msg, "Seq number mismatch");
        send_response_once(s, fd, &rsp);
        (void)tcpshm_io_sock_close(s->env, fd);
        store_state(sl, SLOT_OFFLINE);
        if (s->cb.on_seq_mismatch)
            s->cb.on_seq_mismatch(s->cb.user, c, &r);
        return;
    }
    rsp.status = TCPSHM_LOGIN_OK;
    uint8_t out[TCPSHM_LOGIN_MAX_BYTES];
    uint32_t len = tcpshm_login_rsp_encode(&s->cfg, &rsp, out);
    tcpshm_conn_attach(c, fd, now);
    (void)tcpshm_conn_send_ctrl(c, out, len); /* fits: config_check bounds it */
    tcpshm_conn_set_established(c);
    /* before LIVE: from then on poll_ctl owns the socket of an SHM slot */
    (void)tcpshm_conn_flush(c);
    tcpshm_conn_set_live(c);
    store_state(sl, SLOT_LIVE);
    if (s->cb.on_logon)
        s->cb.on_logon(s->cb.user, c, grp);
}

static void deliver_cb(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    tcpshm_server *s = user;
    s->cb.on_msg(s->cb.user, c, m);
}

/* A live connection closed: the slot keeps the client's state. */
static void went_offline(tcpshm_server *s, slot *sl)
{
    tcpshm_conn *c = &sl->conn;
    sl->reg_fd = -1; /* the socket is closed: it left the group's set */
    tcpshm_conn_clear_live(c);
    store_state(sl, SLOT_OFFLINE);
    int e;
    const char *reason = tcpshm_conn_close_reason(c, &e);
    if (s->cb.on_disconnect)
        s->cb.on_disconnect(s->cb.user, c, reason, e);
}

/* poll_ctl's share of SHM slots: their TCP side (heartbeats, timeouts),
 * each socket only when due (conn.c). */
static void poll_shm_links(tcpshm_server *s, int64_t now)
{
    for (uint32_t grp = 0; grp < s->cfg.shm_groups; grp++) {
        uint32_t count;
        slot *base = group_base(s, true, grp, &count);
        for (uint32_t i = 0; i < count; i++) { /* in use: a prefix (handle_login) */
            uint32_t st = load_state(&base[i]);
            if (st == SLOT_FREE)
                break;
            if (st == SLOT_LIVE && !tcpshm_conn_poll_io(&base[i].conn, now))
                went_offline(s, &base[i]);
        }
    }
}

void tcpshm_server_poll_ctl(tcpshm_server *s, int64_t now)
{
    if (s->listen_fd >= 0)
        accept_new(s, now);
    for (uint32_t k = 0; k < s->cfg.max_new_conns; k++)
        if (s->pend[k].fd >= 0)
            serve_pending(s, &s->pend[k], now);
    poll_shm_links(s, now);
}

/* A group slot's state once a login handed over to it is finished. */
static uint32_t group_slot_state(tcpshm_server *s, slot *sl, uint32_t grp, int64_t now)
{
    uint32_t st = load_state(sl);
    if (st != SLOT_LOGIN_PENDING)
        return st;
    finish_login(s, sl, grp, now);
    return load_state(sl);
}

void tcpshm_server_poll_shm(tcpshm_server *s, int64_t now, uint32_t grp)
{
    if (grp >= s->cfg.shm_groups)
        return;
    uint32_t count;
    slot *base = group_base(s, true, grp, &count);
    /* The group's slots in use are a prefix (see handle_login): the first
     * free one ends the scan, so an idle round reads one state per client,
     * not one per configured slot (16 by default). */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t st = group_slot_state(s, &base[i], grp, now);
        if (st == SLOT_FREE)
            break;
        if (st == SLOT_LIVE && s->cb.on_msg && !tcpshm_conn_shm_idle(&base[i].conn))
            tcpshm_conn_deliver(&base[i].conn, deliver_cb, s);
    }
}

/* One round of a live TCP slot: I/O (the receive only when readable),
 * delivery, and the end of the link. */
static void serve_tcp(tcpshm_server *s, slot *sl, int64_t now, bool readable)
{
    tcpshm_conn *c = &sl->conn;
    bool up = tcpshm_conn_poll_io_as(c, now, readable);
    if (s->cb.on_msg)
        tcpshm_conn_deliver(c, deliver_cb, s);
    if (!up)
        went_offline(s, sl);
}

/* ---- readiness polling (groups with a set) ---- */

static void ready_again(ready_group *g, slot *base, uint32_t i)
{
    if (!base[i].in_again) {
        base[i].in_again = true;
        g->again[g->nagain++] = i;
    }
}

/* A live slot's socket joins the group's set; if it cannot, the slot is
 * polled directly (with a receive) at every poll until a sweep adds it. */
static void ready_watch(tcpshm_server *s, ready_group *g, slot *base, uint32_t i)
{
    int fd = base[i].conn.fd;
    if (tcpshm_io_epoll_ctl(s->env, g->set, TCPSHM_EPOLL_ADD, fd, i) == 0) {
        base[i].reg_fd = fd;
        return;
    }
    int e = errno;
    ready_again(g, base, i);
    if (s->cb.on_system_error)
        s->cb.on_system_error(s->cb.user, "epoll_ctl: the connection is polled directly", e);
}

/* One round of slot i if it is live; it stays on the list for the next
 * poll while it is not in the set or wants a poll (conn.c). */
static void ready_serve(tcpshm_server *s, ready_group *g, slot *base, uint32_t i, int64_t now,
                        bool readable)
{
    slot *sl = &base[i];
    if (load_state(sl) != SLOT_LIVE)
        return;
    bool direct = sl->reg_fd < 0 || sl->reg_fd != sl->conn.fd;
    serve_tcp(s, sl, now, readable || direct);
    if (load_state(sl) == SLOT_LIVE && (direct || tcpshm_conn_wants_poll(&sl->conn)))
        ready_again(g, base, i);
}

static void ready_finish_login(tcpshm_server *s, ready_group *g, slot *base, uint32_t i,
                               uint32_t grp, int64_t now)
{
    finish_login(s, &base[i], grp, now);
    if (load_state(&base[i]) == SLOT_LIVE)
        ready_watch(s, g, base, i);
}

/* One slot's look by the sweep: back into the set if it is not there,
 * then its round without a receive (unless readable: a failed wait). */
static void ready_sweep_slot(tcpshm_server *s, ready_group *g, slot *base, uint32_t i, int64_t now,
                             bool readable)
{
    if (load_state(&base[i]) == SLOT_LIVE && base[i].reg_fd != base[i].conn.fd && base[i].conn.fd >= 0)
        ready_watch(s, g, base, i);
    ready_serve(s, g, base, i, now, readable);
}

/* The sweep's share of this poll: as many slots as the `now` elapsed is of
 * a quarter heartbeat, so that each live link's heartbeat, timeout, pending
 * bytes and asked close are looked at once per quarter heartbeat, spread
 * over the polls (a whole sweep of a large group at once would stall it). */
static void ready_sweep_due(tcpshm_server *s, ready_group *g, slot *base, uint32_t count, int64_t now)
{
    int64_t span = s->cfg.heartbeat_interval / 4;
    if (span < 1)
        span = 1;
    if (!g->swept) {
        g->swept = true;
        g->swept_at = now - span;
    }
    int64_t elapsed = now - g->swept_at;
    if (elapsed < 0 || elapsed > span) { /* the caller's clock jumped: one whole sweep */
        elapsed = span;
        g->swept_at = now - span;
    }
    uint64_t e = (uint64_t)elapsed, sp = (uint64_t)span; /* scaled so e * count fits */
    while (sp > ((uint64_t)1 << 31)) {
        e >>= 1;
        sp >>= 1;
    }
    uint64_t want = e >= sp ? count : (uint64_t)count * e / sp;
    if (want == 0)
        return;
    g->swept_at += (int64_t)(want * (uint64_t)span / count);
    for (uint64_t k = 0; k < want; k++) {
        uint32_t i = g->cursor;
        g->cursor = i + 1u == count ? 0 : i + 1u;
        ready_sweep_slot(s, g, base, i, now, false);
    }
}

static void poll_tcp_ready(tcpshm_server *s, ready_group *g, slot *base, uint32_t count,
                           uint32_t grp, int64_t now)
{
    /* logins handed over */
    uint32_t tail = __atomic_load_n(&g->tail, __ATOMIC_ACQUIRE);
    for (; g->head != tail; g->head++) {
        uint32_t i = g->handed[g->head % count];
        if (load_state(&base[i]) == SLOT_LOGIN_PENDING)
            ready_finish_login(s, g, base, i, grp, now);
    }
    ready_sweep_due(s, g, base, count, now);
    /* the slots the last poll left on the list */
    uint32_t *list = g->again, n = g->nagain;
    g->again = g->spare;
    g->spare = list;
    g->nagain = 0;
    for (uint32_t k = 0; k < n; k++) {
        base[list[k]].in_again = false;
        ready_serve(s, g, base, list[k], now, false);
    }
    int got = tcpshm_io_epoll_wait(s->env, g->set, g->tags, count);
    if (got < 0) { /* this poll reads every live link, as a small group does */
        int e = errno;
        if (s->cb.on_system_error)
            s->cb.on_system_error(s->cb.user, "epoll_wait: this poll reads every connection", e);
        for (uint32_t i = 0; i < count; i++)
            ready_sweep_slot(s, g, base, i, now, true);
        return;
    }
    for (int k = 0; k < got; k++)
        if (g->tags[k] < count)
            ready_serve(s, g, base, (uint32_t)g->tags[k], now, true);
}

void tcpshm_server_poll_tcp(tcpshm_server *s, int64_t now, uint32_t grp)
{
    if (grp >= s->cfg.tcp_groups)
        return;
    uint32_t count;
    slot *base = group_base(s, false, grp, &count);
    if (s->ready && s->ready[grp].set >= 0) {
        poll_tcp_ready(s, &s->ready[grp], base, count, grp, now);
        return;
    }
    /* the slots in use are a prefix, as in poll_shm: the first free one ends the scan */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t st = group_slot_state(s, &base[i], grp, now);
        if (st == SLOT_FREE)
            break;
        if (st == SLOT_LIVE)
            serve_tcp(s, &base[i], now, true);
    }
}

tcpshm_conn *tcpshm_server_find_conn(tcpshm_server *s, const char *client_name)
{
    slot *sl = find_slot(s, client_name);
    return sl ? &sl->conn : NULL;
}
