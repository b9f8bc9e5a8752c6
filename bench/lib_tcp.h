/* A server and a client of the real library in one process: the server
 * polled by its own pinned thread, the client logged in and polled by the
 * caller (lib_client_poll), both with the same loop (lib_loop). Used by the
 * echo and stream rows. */
#ifndef TCPSHM_BENCH_LIB_TCP_H
#define TCPSHM_BENCH_LIB_TCP_H

#include "bench.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

typedef void (*lib_msg_fn)(void *user, tcpshm_conn *c, tcpshm_msg_header *m);

/* How a polling loop is written; the rows differ only in this. Each round
 * polls the data (the server's poll_tcp(0) or poll_shm(0); the client's
 * poll_tcp, or poll_shm over SHM) and, every ctl_every-th round, the
 * control plane (the server's poll_ctl; the client's poll_tcp over SHM). */
typedef struct lib_loop {
    uint32_t ctl_every;     /* 1: the control plane every round */
    bool clock_every_round; /* a fresh clock reading every round (README's loop); else
                               only in control-plane rounds, the data polls reuse it */
    bool pause;             /* a pause after a round that found no message */
} lib_loop;

/* README's loops ("Using it"), exactly: the control plane every 64th round,
 * now_ns() every round, no pause. */
#define LIB_README_CTL_EVERY 64u
static const lib_loop lib_loop_readme = {LIB_README_CTL_EVERY, true, false};
/* The bench's own loop: the same, reading the clock only for the control
 * plane; the pause per the run's discipline. */
static inline lib_loop lib_loop_lean(const bench_opts *o)
{
    return (lib_loop){LIB_README_CTL_EVERY, false, o->spin_pause};
}
/* Diagnostic: the control plane (and a clock reading) every round. */
static const lib_loop lib_loop_ctl_every_round = {1, true, false};

/* The server thread's loop (the scaling rows use it with their own server
 * and leave on_msg NULL: no message counting, no pause). */
typedef struct lib_server_loop {
    _Alignas(64) int stop; /* atomic: the thread ends; alone in its line, which the
                              server thread reads every round */
    _Alignas(64) tcpshm_server *srv;
    uint32_t groups;
    bool shm;               /* poll_shm(group 0) instead of poll_tcp of every group */
    lib_loop loop;
    lib_msg_fn on_msg;      /* the server's message handler, counted by lib_tcp's trampoline */
    void *user;
    uint64_t msgs;          /* messages handled (server thread only) */
} lib_server_loop;
void *lib_server_thread(void *arg);

typedef struct lib_tcp {
    tcpshm_server *srv;
    tcpshm_client *cl;
    tcpshm_conn *conn; /* the client's connection once logged in */
    pthread_t thread;
    int running;
    bool shm;
    lib_loop loop;
    uint32_t round;    /* the client's loop, caller's thread only */
    int64_t now;       /* the client's last clock reading */
    char dir[512];
    char sname[16], cname[16]; /* names of this process's pair (the SHM segments carry them) */
} lib_tcp;

/* Creates both in fresh directories under dir, starts the server thread on
 * o->cpu_b with loop and logs the client in (the client polls with the same
 * loop). 0, or -1 after printing why. */
int lib_tcp_open(lib_tcp *L, const bench_opts *o, const char *dir, const tcpshm_config *cfg,
                 bool use_shm, const lib_loop *loop, lib_msg_fn server_msg, void *server_user,
                 lib_msg_fn client_msg, void *client_user);

/* One round of the client's loop; true when it was a control-plane round
 * (the caller checks the connection then). TCP: poll_tcp every round. SHM:
 * poll_tcp (login, heartbeats) every ctl_every-th round, poll_shm (the
 * messages) every round. The clock per L->loop. */
static inline bool lib_client_poll(lib_tcp *L)
{
    bool ctl = ++L->round >= L->loop.ctl_every;
    if (ctl)
        L->round = 0;
    if (!L->shm) {
        if (ctl || L->loop.clock_every_round)
            L->now = bench_now();
        tcpshm_client_poll_tcp(L->cl, L->now);
        return ctl;
    }
    if (ctl)
        tcpshm_client_poll_tcp(L->cl, bench_now());
    tcpshm_client_poll_shm(L->cl);
    return ctl;
}

/* Stops the server thread, destroys both, removes the directories. */
void lib_tcp_close(lib_tcp *L);

/* Callbacks that report the unexpected to stderr. */
void lib_report_system_error(void *user, const char *what, int sys_errno);
void lib_report_disconnect(void *user, tcpshm_conn *c, const char *reason, int sys_errno);

#endif
