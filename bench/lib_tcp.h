/* A server and a client of the real library in one process: the server
 * polled by its own pinned thread with the recommended loop (a fresh clock
 * reading, poll_ctl, then poll_tcp of each group — or poll_shm of SHM group
 * 0 when the client logs in with use_shm), the client logged in and polled
 * by the caller (lib_client_poll). Used by the echo and stream rows. */
#ifndef TCPSHM_BENCH_LIB_TCP_H
#define TCPSHM_BENCH_LIB_TCP_H

#include "bench.h"
#include "tcpshm/client.h"
#include "tcpshm/server.h"

typedef void (*lib_msg_fn)(void *user, tcpshm_conn *c, tcpshm_msg_header *m);

typedef struct lib_tcp {
    tcpshm_server *srv;
    tcpshm_client *cl;
    tcpshm_conn *conn; /* the client's connection once logged in */
    pthread_t thread;
    int stop;          /* atomic: the server thread ends */
    int running;
    uint32_t groups;
    bool shm;
    uint32_t ctl_every, round; /* the client polls TCP every ctl_every rounds over SHM */
    char dir[512];
    char sname[16], cname[16]; /* names of this process's pair (the SHM segments carry them) */
} lib_tcp;

/* Creates both in fresh directories under dir, starts the server thread on
 * o->cpu_b and logs the client in. ctl_every: the server thread calls
 * poll_ctl every this many loop rounds (1: every round, the recommended
 * loop; more is the diagnostic row). 0, or -1 after printing why. */
int lib_tcp_open(lib_tcp *L, const bench_opts *o, const char *dir, const tcpshm_config *cfg,
                 bool use_shm, uint32_t ctl_every, lib_msg_fn server_msg, void *server_user,
                 lib_msg_fn client_msg, void *client_user);

/* One round of the client's loop. TCP: poll_tcp with a fresh clock reading.
 * SHM: poll_tcp (login, heartbeats; every ctl_every-th round) and poll_shm
 * (the messages; every round). */
static inline void lib_client_poll(lib_tcp *L)
{
    if (!L->shm) {
        tcpshm_client_poll_tcp(L->cl, bench_now());
        return;
    }
    if (++L->round >= L->ctl_every) {
        tcpshm_client_poll_tcp(L->cl, bench_now());
        L->round = 0;
    }
    tcpshm_client_poll_shm(L->cl);
}

/* Stops the server thread, destroys both, removes the directories. */
void lib_tcp_close(lib_tcp *L);

/* The server thread loop on its own (the scaling rows use it with their own
 * clients): polls srv until *stop. */
typedef struct lib_server_loop {
    tcpshm_server *srv;
    uint32_t groups;
    int *stop;
    uint32_t ctl_every; /* poll_ctl every this many rounds (0 or 1: every round) */
    bool shm;           /* poll_shm(group 0) instead of poll_tcp of every group */
} lib_server_loop;
void *lib_server_thread(void *arg);

/* Callbacks that report the unexpected to stderr. */
void lib_report_system_error(void *user, const char *what, int sys_errno);
void lib_report_disconnect(void *user, tcpshm_conn *c, const char *reason, int sys_errno);

#endif
