/* The scaling rows' clients: many library clients driven with readiness
 * (an epoll set over their sockets, so a round costs a system call per
 * client that has something, not per client), and idle clients kept logged
 * in by child processes (each process holds two descriptors per client: its
 * socket and its lock file, so 10,000 of them do not fit under one
 * RLIMIT_NOFILE of 20,000 next to the server's). */
#ifndef TCPSHM_BENCH_FLEET_H
#define TCPSHM_BENCH_FLEET_H

#include <stdint.h>
#include <sys/types.h>

#include "tcpshm/client.h"

typedef struct fclient {
    tcpshm_client *cl;
    tcpshm_conn *conn;
    int fd;        /* its socket (the fleet's env records connects) */
    int logged_in;
    int64_t sent_at; /* the echo in flight was pushed at */
    int got;         /* an echo came back */
} fclient;

typedef struct fleet {
    tcpshm_env env; /* the POSIX env with connect recorded: ctx is the fleet */
    int last_fd;
    fclient *c;
    uint32_t n;
    int set; /* epoll over the logged-in clients' sockets */
    void *events;
} fleet;

/* n clients named <prefix><i> with state under dir. 0, or -1 after printing why. */
int fleet_create(fleet *f, const tcpshm_config *cfg, const char *dir, const char *prefix, uint32_t n);
/* Logs every client in to 127.0.0.1:port (at most 32 connecting at once: the
 * server's backlog is 64), keeping the ones already in alive. 0, or -1. */
int fleet_login(fleet *f, uint16_t port);
/* Polls the clients whose sockets are readable (waiting up to timeout_ms for
 * one); returns how many it polled. */
uint32_t fleet_poll_ready(fleet *f, int64_t now, int timeout_ms);
/* The k-th client the last fleet_poll_ready polled. */
uint32_t fleet_ready_index(const fleet *f, uint32_t k);
/* Polls every client (heartbeats of the quiet ones). */
void fleet_poll_all(fleet *f, int64_t now);
/* -1 when every client is connected, else the first that is not. */
int64_t fleet_first_down(const fleet *f);
void fleet_destroy(fleet *f);

/* Idle clients in child processes, at most IDLE_PER_PROC each. */
#define IDLE_PER_PROC 4000u
#define IDLE_MAX_PROCS 8u
typedef struct idle_procs {
    pid_t pid[IDLE_MAX_PROCS];
    int stop_fd[IDLE_MAX_PROCS];  /* closing it ends the child */
    int ready_fd[IDLE_MAX_PROCS]; /* the child writes 'k' once its clients are in */
    uint32_t n;
} idle_procs;
/* Forks the processes (call it before this process starts threads): n
 * clients that log in to port and are kept alive (each child answers
 * heartbeats until stopped). 0, or -1 after printing why. */
int idle_procs_start(idle_procs *p, const tcpshm_config *cfg, const char *dir, uint16_t port, uint32_t n);
/* Waits (the server being polled meanwhile by its thread) until every
 * child says its clients are logged in: 0, or -1 after printing why. */
int idle_procs_wait(idle_procs *p);
/* Ends the children and waits for them. */
void idle_procs_stop(idle_procs *p);

/* Raises RLIMIT_NOFILE to need if the hard limit allows; 0 when the soft
 * limit is then at least need, else 1 after saying so on stderr. */
int fleet_raise_fds(uint64_t need, const char *what);

#endif
