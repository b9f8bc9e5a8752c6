/* A loopback test bed for the TCP framework (and SHM, with use_shm): one
 * server (port chosen by the kernel) and up to TH_MAX_CLIENTS clients in one
 * thread, a virtual clock
 * the tests advance, and a record of every callback. Messages carry a
 * sequence number and a body derived from it, so receivers can check order
 * and content. */
#ifndef TCPSHM_TESTS_TCP_HARNESS_H
#define TCPSHM_TESTS_TCP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/client.h"
#include "tcpshm/server.h"

#define TH_MAX_CLIENTS 8
#define TH_MSG_TYPE 5u

/* What one side saw. */
typedef struct th_side {
    uint32_t logons, disconnects, rejects, mismatches, system_errors, file_errors;
    char last_reason[300];   /* last disconnect / reject / error text */
    char last_file_error[300]; /* server: the last on_client_file_error text */
    tcpshm_seq_mismatch last_mismatch;
    uint32_t next_expected;  /* next sequence number expected in received messages */
    uint32_t received;       /* messages popped */
    uint32_t bad;            /* out-of-order or corrupted messages */
    uint32_t last_grp;       /* group of the last logon (server side) */
    char bad_text[160];
} th_side;

typedef struct th {
    char dir[256];           /* base temporary directory */
    char server_dir[300];
    char server_name[64];
    tcpshm_config cfg;
    tcpshm_server *srv;
    uint16_t port;
    int64_t now;             /* virtual clock, ns */
    bool server_echo;        /* server pushes back each message, then pops it */
    bool server_consume;     /* server pops without echo */
    bool client_consume;     /* clients pop what they get */
    th_side srv_side;        /* events of the server */
    int reject_group;        /* on_new_connection returns this when >= -1 and set_group */
    bool use_fixed_group;
    const char *reject_text;
    bool route_by_len;       /* group = strlen(name) % tcp_groups */
    bool use_shm;            /* clients log in with use_shm (th_poll also polls SHM) */
    char server_names[4][64]; /* every name the server had, to unlink SHM segments */
    uint32_t nserver_names;
    struct th_client {
        tcpshm_client *cl;
        char name[64];
        char dir[300];
        th_side side;
        bool paused;         /* th_poll skips this client (a silent peer) */
    } clients[TH_MAX_CLIENTS];
    uint32_t nclients;
} th;

/* A fresh temp dir, default config tightened for tests (small queues,
 * heartbeat 100 ms, timeout 1 s in virtual ns). Does not start anything. */
void th_init(th *h);
/* Starts (or restarts, after th_stop_server) the server under `name`. */
void th_start_server(th *h, const char *name);
void th_stop_server(th *h);
/* Adds a client (not connected); returns its index. */
uint32_t th_add_client(th *h, const char *name);
void th_destroy_client(th *h, uint32_t i);
void th_recreate_client(th *h, uint32_t i);
/* Starts a login of client i to the server. */
void th_login(th *h, uint32_t i);
/* One round: poll_ctl, every group (TCP and SHM), every client (poll_tcp,
 * and poll_shm when use_shm); the clock advances by step_ns. */
void th_poll(th *h, int64_t step_ns);
/* Polls (sleeping 50 us between rounds) until cond(h, arg) or max_rounds. */
bool th_pump_until(th *h, bool (*cond)(th *h, void *arg), void *arg, int max_rounds);
bool th_client_logged_in(th *h, void *arg); /* arg: (uintptr_t) client index */
void th_fini(th *h);

/* Pushes message seq (body_size bytes of pattern) on a connection. */
bool th_push(tcpshm_conn *c, uint32_t seq, uint16_t body_size, bool more);
/* Checks and counts a received message in `side`, then pops it. */
void th_consume(th_side *side, tcpshm_conn *c, tcpshm_msg_header *m);

#endif
