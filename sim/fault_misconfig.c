/* The misconfig fault kind (fault_misconfig.h). Each wrong start is one
 * case of a table: the configuration field (each check of
 * core/src/config.c, each side of a range), the node name (each rule of
 * tcpshm_name_check), the directory or the env it is given, what create
 * must answer (the code, and a word its message must contain: the field,
 * "client name", "directory", ...), or 0 when the start must go on; a
 * restart case (another queue size or byte order than the pair's file was
 * made with) is answered by the client's first login call. It runs as its
 * own process (a fresh owner, killed after), with every fault
 * of the plan off (an OS case's failure is the env's own). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dir_print.h"
#include "node.h"
#include "pairs.h"
#include "fault_misconfig.h"
#include "tcpshm/error.h"
#include "tcpshm/msg.h"

typedef struct attempt {
    tcpshm_config cfg;
    tcpshm_env env;
    char name[2 * TCPSHM_NAME_MAX + 2];
    char dir[4200]; /* longer than the core's directory field (4096) */
    char addr[16];  /* the server's listening address */
    bool login;     /* a client's create is followed by a login call (the restart cases) */
    unsigned alloc; /* > 0: that allocation of create fails (the out-of-memory cases) */
    bool no_name;   /* the name given is NULL */
    const char *report; /* what the server's on_system_error must have said (NULL: nothing asked) */
    const char *point;  /* the core's start point that fails instead of the env's call (fp_plan.start_fail) */
    int code;          /* what create must return */
    const char *needle; /* what its message must contain */
    long long value;    /* a configuration case's wrong value */
    char what[64];      /* the case, for the trace and the violation */
} attempt;

/* A uint32 field moved off a multiple of 8, staying in its range when it can. */
static uint32_t misaligned(uint32_t v, uint32_t hi) { return v + 4u <= hi ? v + 4u : v - 4u; }

#define SET(f, v) (a->cfg.f = (v), a->needle = #f, a->value = (long long)a->cfg.f)

/* The configuration cases: one field wrong, every other as the run's (a
 * field's check comes before the checks that depend on it, so the refusal
 * names the field that was changed). */
static const unsigned n_config_cases = 39;

static void config_case(attempt *a, unsigned i)
{
    tcpshm_config *c = &a->cfg;
    a->code = TCPSHM_E_CONFIG;
    switch (i) {
    case 0: SET(name_size, 1u); break;
    case 1: SET(name_size, TCPSHM_NAME_MAX + 2u); break;
    case 2: SET(login_user_data_size, 0u); break;
    case 3: SET(login_user_data_size, TCPSHM_MAX_USER_DATA + 1u); break;
    case 4: SET(login_rsp_user_data_size, 0u); break;
    case 5: SET(login_rsp_user_data_size, TCPSHM_MAX_USER_DATA + 1u); break;
    case 6: SET(max_msg_size, 8u); break; /* below a login message */
    case 7: SET(max_msg_size, TCPSHM_MAX_PADDED_MSG_SIZE + 8u); break;
    case 8: SET(max_msg_size, misaligned(c->max_msg_size, TCPSHM_MAX_PADDED_MSG_SIZE)); break;
    case 9: SET(queue_size, c->max_msg_size - 8u); break;
    case 10: SET(queue_size, (1u << 30) + 8u); break;
    case 11: SET(queue_size, misaligned(c->queue_size, 1u << 30)); break;
    case 12: SET(recv_buf_size, c->max_msg_size - 8u); break;
    case 13: SET(recv_buf_size, (1u << 30) + 8u); break;
    case 14: SET(recv_buf_size, misaligned(c->recv_buf_size, 1u << 30)); break;
    case 15: SET(heartbeat_interval, 0); break;
    case 16: SET(heartbeat_interval, INT64_MAX / 2 + 1); break;
    case 17: SET(connection_timeout, c->heartbeat_interval); break; /* must be longer */
    case 18: SET(new_conn_timeout, 0); break;
    case 19: SET(new_conn_timeout, -1000); break;
    case 20: SET(ctl_interval, -1); break;
    case 21: SET(ctl_interval, INT64_MAX / 2 + 1); break;
    case 22: SET(max_new_conns, 0u); break;
    case 23: SET(max_new_conns, 65537u); break;
    case 24: SET(accepts_per_poll, 0u); break;
    case 25: SET(accepts_per_poll, 65537u); break;
    case 26: SET(tcp_groups, 0u); break;
    case 27: SET(tcp_groups, 1025u); break;
    case 28: SET(tcp_conns_per_group, 0u); break;
    case 29: SET(tcp_conns_per_group, 65537u); break;
    case 30: SET(shm_groups, 1025u); break;
    case 31: SET(shm_conns_per_group, 0u); break;
    case 32: SET(shm_conns_per_group, 65537u); break;
    case 33: SET(shm_queue_size, 2u * (c->max_msg_size + 8u) - 8u); break; /* two messages must fit */
    case 34: SET(shm_queue_size, (1u << 30) + 8u); break;
    case 35: SET(shm_queue_size, misaligned(c->shm_queue_size, 1u << 30)); break;
    case 36: SET(file_mode, 04600u); break; /* setuid: beyond 0777 */
    case 37: SET(durability, 2u); break;
    default: SET(durability, 0xffffffffu); break;
    }
    snprintf(a->what, sizeof a->what, "config %s %lld", a->needle, a->value);
}

/* The name cases: every rule of tcpshm_name_check. */
static const unsigned n_name_cases = 8;

static void name_case(attempt *a, const node *n, unsigned i)
{
    static const char *const what[] = {"empty", "too long", "a space", "a '/'", "\"..\"", "a control character",
                                       "DEL", "a NULL pointer"};
    a->code = TCPSHM_E_NAME;
    a->needle = n->idx == 0 ? "server name" : "client name";
    size_t len = strlen(n->name);
    switch (i) {
    case 0: a->name[0] = '\0'; break;
    case 7: a->no_name = true; break; /* "is empty" too */
    case 1: /* name_size - 1 characters is the longest */
        memset(a->name, 'x', a->cfg.name_size);
        a->name[a->cfg.name_size] = '\0';
        break;
    default: { /* the name with one bad piece in its middle */
        static const char *const piece[] = {" ", "/", "..", "\x01", "\x7f"};
        snprintf(a->name, sizeof a->name, "%.*s%s%s", (int)(len / 2), n->name, piece[i - 2], n->name + len / 2);
        break;
    }
    }
    snprintf(a->what, sizeof a->what, "name with %s", what[i]);
}

/* The directory cases: too long for the core, below a directory that does
 * not exist, one whose lock file path is too long, a file (its lock file,
 * when it has one); and for a server, a listening address that is a host
 * name (start takes numeric addresses only: create with everything right,
 * then start; only when its lock file is there already, as create would
 * make it). */
static const unsigned n_dir_cases = 5;

static void dir_case(sim *s, attempt *a, const node *n, unsigned i)
{
    size_t len;
    char lock[SIM_PATH_SIZE];
    snprintf(lock, sizeof lock, "%s/%s.lock", n->dir, n->name);
    if (i >= 3 && !venv_file_data(s->v, lock, &len))
        i = 1; /* a new name's first start: no lock file yet */
    if (i == 4 && n->idx > 0)
        i = 2; /* a client's address is its login's, not its start's */
    switch (i) {
    case 0:
        memset(a->dir, 'd', sizeof a->dir - 1);
        a->dir[sizeof a->dir - 1] = '\0';
        a->code = TCPSHM_E_ARG;
        a->needle = "directory path too long";
        snprintf(a->what, sizeof a->what, "directory too long");
        break;
    case 1:
        snprintf(a->dir, sizeof a->dir, "%s/missing/%s", n->dir, n->name);
        a->code = TCPSHM_E_SYSTEM;
        a->needle = "cannot create directory";
        snprintf(a->what, sizeof a->what, "directory under a missing one");
        break;
    case 2: { /* the directory fits the core's field, "<dir>/<name>.lock" does not */
        size_t at = (size_t)snprintf(a->dir, sizeof a->dir, "%s/", n->dir);
        memset(a->dir + at, 'd', 4090 - at);
        a->dir[4090] = '\0';
        a->code = TCPSHM_E_ARG;
        a->needle = "too long";
        snprintf(a->what, sizeof a->what, "directory too long for its lock file");
        break;
    }
    case 3:
        snprintf(a->dir, sizeof a->dir, "%s", lock);
        a->code = TCPSHM_E_SYSTEM;
        a->needle = "cannot open";
        snprintf(a->what, sizeof a->what, "directory that is a file");
        break;
    default:
        snprintf(a->addr, sizeof a->addr, "localhost");
        a->code = TCPSHM_E_SYSTEM;
        a->needle = "cannot listen on localhost";
        snprintf(a->what, sizeof a->what, "listening address localhost");
        break;
    }
}

/* The env cases: a version the library does not know (0, one ahead), or,
 * with durability host, version 1 (no syncs). */
static const unsigned n_env_cases = 2;

static void env_case(attempt *a, unsigned i)
{
    a->code = TCPSHM_E_ARG;
    a->needle = "env version";
    if (i == 0) {
        a->env.version = 0;
    } else if (a->cfg.durability == TCPSHM_DURABILITY_HOST) {
        a->env.version = 1;
        a->needle = "durability";
    } else {
        a->env.version = TCPSHM_ENV_VERSION + 1u;
    }
    snprintf(a->what, sizeof a->what, "env version %u", a->env.version);
}

/* The OS cases: the run's own start, with one call of its env failing as
 * a real OS can make it fail: the lock (ENOLCK: a system error, not "in
 * use"), and for a server the listen (EADDRINUSE: another process has the
 * port), reading the bound port, and epoll_create (EMFILE) for a group
 * that polls by readiness, which must not stop the start: the group polls
 * every connection directly; the lock file's open (EMFILE: the process is
 * out of descriptors); the lock refused by a holder the OS does not name
 * (an OFD lock's F_GETLK says pid -1: still "in use"); and memory: the k-th
 * allocation of create failing (the server: itself, its login slots, its
 * connection slots, its receive buffers, its readiness sets; the client:
 * itself, its receive buffer), through the core's tcpshm/mem/alloc point.
 * Only when the lock file is there already (as dir_case: the refused start
 * must leave the directory as it was). */
static const unsigned n_os_cases = 11;
#define OS_ALLOC 4u /* cases 4-8: allocation k = i - 3 fails (a client's: 1 or 2) */

static int fail_lock(void *ctx, int fd, int *holder_pid)
{
    (void)ctx, (void)fd;
    *holder_pid = -1;
    errno = ENOLCK;
    return -1;
}
static int held_lock(void *ctx, int fd, int *holder_pid)
{
    (void)ctx, (void)fd;
    *holder_pid = -1; /* not told */
    errno = EWOULDBLOCK;
    return -1;
}
static int (*real_file_open)(void *ctx, const char *path, int create, unsigned mode);
static int lock_open_emfile(void *ctx, const char *path, int create, unsigned mode)
{
    size_t n = strlen(path);
    if (n >= 5 && strcmp(path + n - 5, ".lock") == 0) {
        errno = EMFILE;
        return -1;
    }
    return real_file_open(ctx, path, create, mode);
}
static int fail_listen(void *ctx, const char *addr, uint16_t port, int backlog)
{
    (void)ctx, (void)addr, (void)port, (void)backlog;
    errno = EADDRINUSE;
    return -1;
}
static int fail_local_port(void *ctx, int fd)
{
    (void)ctx, (void)fd;
    errno = ENOBUFS;
    return -1;
}
static int fail_epoll_create(void *ctx)
{
    (void)ctx;
    errno = EMFILE;
    return -1;
}

static void os_case(sim *s, attempt *a, const node *n, unsigned i)
{
    size_t len;
    char lock[SIM_PATH_SIZE];
    snprintf(lock, sizeof lock, "%s/%s.lock", n->dir, n->name);
    if (!venv_file_data(s->v, lock, &len)) {
        dir_case(s, a, n, 1); /* a new name's first start */
        return;
    }
    if ((n->idx > 0 && i >= 1 && i <= 3) || (i == 3 && a->cfg.tcp_conns_per_group <= 64)) /* the core's READY_MIN_SLOTS */
        i = 0;
    bool by_point = (s->next_owner >> 1) % 2u != 0; /* the attempt's owner, not a draw */
    a->code = TCPSHM_E_SYSTEM;
    switch (i) {
    case 0: /* the env's lock failing, or (every other attempt) the core's failure point before it */
        if (by_point)
            a->point = "tcpshm/file/lock";
        else
            a->env.file_lock = fail_lock;
        a->needle = "cannot lock";
        break;
    case 1: /* the env's listen failing, or (every other attempt) the core's failure point before it */
        if (by_point)
            a->point = "tcpshm/net/listen";
        else
            a->env.listen = fail_listen;
        a->needle = "cannot listen";
        break;
    case 2:
        a->env.local_port = fail_local_port;
        a->needle = "cannot read the listening port";
        break;
    case 3:
        if (by_point)
            a->point = "tcpshm/net/epoll_create";
        else
            a->env.epoll_create = fail_epoll_create;
        a->code = 0; /* the start goes on, and the application is told */
        a->needle = "";
        a->report = "epoll_create";
        break;
    case 9:
        real_file_open = a->env.file_open;
        a->env.file_open = lock_open_emfile;
        a->needle = "cannot open";
        break;
    case 10:
        a->env.file_lock = held_lock;
        a->code = TCPSHM_E_IN_USE;
        a->needle = "in use by another process";
        break;
    default:
        a->alloc = n->idx == 0 ? i - OS_ALLOC + 1u : (i - OS_ALLOC) % 2u + 1u;
        a->needle = "out of memory";
        break;
    }
    if (a->alloc)
        snprintf(a->what, sizeof a->what, "allocation %u of create failing", a->alloc);
    else
        snprintf(a->what, sizeof a->what, "the OS failing its %s%s",
                 i == 0 ? "lock" : i == 1 ? "listen" : i == 2 ? "bound port" : i == 3 ? "epoll_create"
                 : i == 9 ? "lock file's open" : "lock (held, holder not named)", a->point ? " (core's point)" : "");
}

/* The restart cases: a client restarted with a queue configuration its
 * pair's file was not made with (another queue_size, the other byte
 * order). Create takes it (each is valid alone); the login call, which
 * opens the recorded pair's file before it connects, must refuse it: the
 * file opens only as it was made (read otherwise, every offset and seq in
 * it would be wrong). And the right configuration with the OS failing
 * fstat (EIO) of the .lastserver record or of the pair's queue file, which
 * the login reads before it connects: refused with the system error
 * ("cannot stat"), nothing read from a file whose size is unknown. Only for
 * a TCP client name whose directory records a server and whose pair file
 * opens with the run's configuration (a look with the faults off), and
 * whose lock file is there; else the missing directory case. */
static const unsigned n_restart_cases = 4;

/* The restart case's fstat failure: the descriptor the core opened last
 * for that path (the env's file_open, wrapped) fails file_size. */
static char fstat_path[SIM_PATH_SIZE];
static int fstat_fd = -1;
static int (*real_file_size)(void *ctx, int fd, uint64_t *size);
static int open_noting(void *ctx, const char *path, int create, unsigned mode)
{
    int fd = real_file_open(ctx, path, create, mode);
    if (fd >= 0)
        fstat_fd = strcmp(path, fstat_path) == 0 ? fd : fd == fstat_fd ? -1 : fstat_fd;
    return fd;
}
static int size_failing(void *ctx, int fd, uint64_t *size)
{
    if (fd == fstat_fd) {
        errno = EIO;
        return -1;
    }
    return real_file_size(ctx, fd, size);
}

static void restart_case(sim *s, attempt *a, const node *n, unsigned i)
{
    char rec[TCPSHM_NAME_MAX + 1], why[256], lock[SIM_PATH_SIZE];
    uint32_t end, ack;
    size_t len;
    snprintf(lock, sizeof lock, "%s/%s.lock", n->dir, n->name);
    /* the lock file there already, as for the OS cases (a process-durable
     * power loss can take back its name: create would make it again, seed 719) */
    if (n->idx == 0 || n->shm[n->cur] || !venv_file_data(s->v, lock, &len) ||
        sim_recorded_server(s, n->dir, n->name, rec) != 1 ||
        !node_peek_queue(s, n->dir, n->name, rec, NULL, &end, &ack, why, sizeof why)) {
        dir_case(s, a, n, 1);
        return;
    }
    a->login = true;
    a->code = TCPSHM_E_CORRUPT;
    if (i == 0) {
        uint32_t q = a->cfg.queue_size;
        SET(queue_size, q + 8u <= (1u << 30) ? q + 8u : q - 8u);
        a->needle = "differs from the configured";
        snprintf(a->what, sizeof a->what, "a restart with queue_size %u (was %u)", a->cfg.queue_size, q);
    } else if (i == 1) {
        a->cfg.little_endian = !a->cfg.little_endian;
        a->needle = a->cfg.little_endian ? "configuration says little-endian" : "configuration says big-endian";
        snprintf(a->what, sizeof a->what, "a restart with the other byte order");
    } else {
        if (i == 2)
            snprintf(fstat_path, sizeof fstat_path, "%s/%s.lastserver", n->dir, n->name);
        else
            snprintf(fstat_path, sizeof fstat_path, "%.*s/%.*s_%.*s.ptcp", SIM_NAME_PREC, n->dir, SIM_NAME_PREC,
                     n->name, SIM_NAME_PREC, rec);
        fstat_fd = -1;
        real_file_open = a->env.file_open;
        real_file_size = a->env.file_size;
        a->env.file_open = open_noting;
        a->env.file_size = size_failing;
        a->code = TCPSHM_E_SYSTEM;
        a->needle = "cannot stat";
        snprintf(a->what, sizeof a->what, "a restart whose fstat of its %s fails", i == 2 ? ".lastserver" : "queue file");
    }
}

static void make_attempt(sim *s, const node *n, unsigned i, attempt *a)
{
    memset(a, 0, sizeof *a);
    a->cfg = s->cfg;
    a->env = *s->env;
    snprintf(a->name, sizeof a->name, "%s", n->name);
    snprintf(a->dir, sizeof a->dir, "%s", n->dir);
    snprintf(a->addr, sizeof a->addr, "127.0.0.1");
    if (i < n_config_cases)
        config_case(a, i);
    else if ((i -= n_config_cases) < n_name_cases)
        name_case(a, n, i);
    else if ((i -= n_name_cases) < n_dir_cases)
        dir_case(s, a, n, i);
    else if ((i -= n_dir_cases) < n_env_cases)
        env_case(a, i);
    else if ((i -= n_env_cases) < n_os_cases)
        os_case(s, a, n, i);
    else
        restart_case(s, a, n, i - n_os_cases);
}

/* The server attempt's on_system_error: what it said last, and what it
 * had said when the polls before its start were done. */
static char syserr_said[128], polled_said[128];
static void attempt_syserr(void *user, const char *what, int sys_errno)
{
    (void)user, (void)sys_errno;
    snprintf(syserr_said, sizeof syserr_said, "%s", what);
}

void fault_misconfig(sim *s, node *n)
{
    if (!fp_roll(&s->plan, FP_MISCONFIG))
        return;
    unsigned i = fp_below(&s->plan, FP_MISCONFIG, n_config_cases + n_name_cases + n_dir_cases + n_env_cases + n_os_cases +
                                                   n_restart_cases);
    static attempt a; /* one run at a time (a is big) */
    make_attempt(s, n, i, &a);
    uint32_t owner = s->next_owner++;
    trace_event(&s->tr, s->now, TR_MISCONFIG, (uint32_t)n->idx, owner, i, a.what);
    static sim_dir_print before; /* one attempt at a time */
    sim_dir_print_begin(s, n->dir, &before);
    venv_set_owner(s->v, owner);
    bool was = s->plan.active;
    fp_set_active(&s->plan, false);
    tcpshm_error err = {0};
    int rc;
    s->plan.alloc_fail_in = a.alloc;
    fp_fail_at_start(&s->plan, a.point);
    polled_said[0] = '\0';
    if (n->idx == 0) {
        tcpshm_server *srv = NULL;
        /* an operator's start with the application's error callback, or with none (every other restart) */
        tcpshm_server_callbacks cb = {.on_system_error = attempt_syserr};
        bool told = s->next_owner % 2u == 0;
        if (!told)
            a.report = NULL;
        syserr_said[0] = '\0';
        rc = tcpshm_server_create(&srv, &a.cfg, &a.env, a.no_name ? NULL : a.name, a.dir, told ? &cb : NULL, &err);
        if (rc == 0) {
            /* a loop that polls before start: a server not started has nothing to poll, nothing to say */
            char at_create[sizeof syserr_said];
            snprintf(at_create, sizeof at_create, "%s", syserr_said);
            syserr_said[0] = '\0';
            tcpshm_server_poll_ctl(srv, s->now);
            tcpshm_server_poll_tcp(srv, s->now, 0);
            if (a.cfg.shm_groups)
                tcpshm_server_poll_shm(srv, s->now, 0);
            snprintf(polled_said, sizeof polled_said, "%s", syserr_said);
            snprintf(syserr_said, sizeof syserr_said, "%s", at_create);
            rc = tcpshm_server_start(srv, a.addr, SIM_PORT, &err);
        }
        tcpshm_server_destroy(srv); /* NULL after a refused create */
    } else {
        tcpshm_client *cl = NULL;
        rc = tcpshm_client_create(&cl, &a.cfg, &a.env, a.no_name ? NULL : a.name, a.dir, NULL, &err);
        if (rc == 0 && a.login)
            rc = tcpshm_client_login(cl, "127.0.0.1", SIM_PORT, false, NULL, s->now, &err);
        tcpshm_client_destroy(cl); /* NULL after a refused create */
    }
    if (a.alloc && s->plan.alloc_fail_in > 0) { /* create made fewer allocations (no readiness sets): it starts */
        a.code = 0;
        a.needle = "";
    }
    s->plan.alloc_fail_in = 0;
    fp_fail_at_start(&s->plan, NULL);
    /* refused or destroyed, the attempt holds nothing: its lock, files,
     * sockets and mappings went with the refusal or the destroy (a leak
     * would outlive a start an application retries in the same process) */
    uint32_t handles = venv_handle_count(s->v, owner), maps = venv_mapping_count(s->v, owner);
    venv_kill(s->v, owner);
    sim_dir_print_end(s, &before);
    fp_set_active(&s->plan, was);
    int sid = -1; /* the node's, not a stream's */
    if (polled_said[0])
        chk_fail(&s->chk, sid, "misconfig: %s's polls before its start (with %s) called on_system_error: \"%s\"",
                 n->name, a.what, polled_said);
    else if (a.code == 0 && rc != 0)
        chk_fail(&s->chk, sid, "misconfig: %s with %s must start, but start refused with %d (%s: %s)", n->name, a.what,
                 rc, tcpshm_code_name(rc), err.text);
    else if (a.code == 0 && a.report && !strstr(syserr_said, a.report))
        chk_fail(&s->chk, sid, "misconfig: %s with %s started, but its on_system_error did not say \"%s\" (it said "
                 "\"%s\")", n->name, a.what, a.report, syserr_said);
    else if (a.code == 0)
        ; /* started as it must */
    else if (rc == 0)
        chk_fail(&s->chk, sid, "misconfig: %s was started with %s: create (start, or for a restart case the login) must refuse it (%s)", n->name, a.what,
                 tcpshm_code_name(a.code));
    else if (rc != a.code)
        chk_fail(&s->chk, sid, "misconfig: %s started with %s was refused with %d (%s: %s), not %d (%s)", n->name,
                 a.what, rc, tcpshm_code_name(rc), err.text, a.code, tcpshm_code_name(a.code));
    else if (!strstr(err.text, a.needle))
        chk_fail(&s->chk, sid, "misconfig: %s started with %s was refused with the message \"%s\", which does not "
                 "say \"%s\"", n->name, a.what, err.text, a.needle);
    else if (handles != 0 || maps != 0)
        ; /* below */
    else if (!sim_dir_print_same(s, &before))
        chk_fail(&s->chk, sid, "misconfig: the refused start of %s with %s changed its directory %s", n->name,
                 a.what, n->dir);
    if (!s->chk.violated && (handles != 0 || maps != 0))
        chk_fail(&s->chk, sid, "misconfig: the %s of %s with %s left its process holding %u handles and %u mappings "
                 "(a refused create, or a destroy, must release everything)",
                 rc == 0 ? "start" : "refused start", n->name, a.what, handles, maps);
    trace_event(&s->tr, s->now, TR_MISCONFIG, (uint32_t)n->idx, (uint32_t)rc, i, tcpshm_code_name(rc));
}
