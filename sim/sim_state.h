/* The simulator's state (a run, its nodes, the server's peers): data only,
 * no functions. Shared by pairs.c, world.c, node.c and scheduler.c; the
 * calls between them are declared in pairs.h, world.h and node.h. */
#ifndef TCPSHM_SIM_STATE_H
#define TCPSHM_SIM_STATE_H

#include <setjmp.h>

#include "budget_env.h"
#include "checker.h"
#include "fault_impostor.h"
#include "fault_liar.h"
#include "plan.h"
#include "rng.h"
#include "sim.h"
#include "tcpshm/client.h"
#include "tcpshm/names.h"
#include "tcpshm/server.h"
#include "trace.h"
#include "venv.h"

#define SIM_MAX_CLIENTS 4
#define SIM_MAX_GEN 4 /* names a node may have in a run */
#define SIM_PORT 7000
#define SIM_PEEK_OWNER 7u
#define SIM_PROBE_OWNER 9u /* fault_power.c's probe of the core's boot check */
/* A path of a node's files: a directory and two names (TCPSHM_NAME_MAX
 * bytes each) with separators and a suffix, or a segment path. */
#define SIM_PATH_SIZE (3u * TCPSHM_NAME_MAX + 32u)
/* "%.*s" precision for a name (the compiler cannot see how long a name in
 * an array of names is). */
#define SIM_NAME_PREC ((int)TCPSHM_NAME_MAX)

typedef struct peer { /* the server's view of one client name (world.c keeps it) */
    char name[TCPSHM_NAME_MAX + 1];
    tcpshm_conn *conn;
    int c2s, s2c; /* checker streams */
    bool shm; /* the client logs in over shared memory */
} peer;

typedef struct node {
    int idx; /* 0: the server, 1..: clients */
    bool alive;
    uint32_t owner, gen; /* gen: names made so far - 1 */
    uint32_t cur;        /* the current name's number (< gen after a return) */
    char name[TCPSHM_NAME_MAX + 1], dir[TCPSHM_NAME_MAX + 1];
    bool shm[SIM_MAX_GEN]; /* client: the transport of each name (fixed for the name's life) */
    tcpshm_server *srv;
    tcpshm_client *cl;
    tcpshm_env env; /* the env this incarnation's application gives the core (node.c node_env) */
    int64_t clock_off; /* its host's clock minus the run's (the clock kind's steps; node_now) */
    int64_t restart_at, next_login, block_until;
    int64_t unblocked_at; /* the end of its last partition or EAGAIN storm (the settle cuts it short) */
    int64_t logon_at;     /* client: when the server last accepted a login of its current name */
    int64_t login_ok_at;  /* client: when its own last login succeeded (its on_login) */
    int64_t closed_at;             /* the last socket it closed in a step: when, */
    long closed_unread;            /* the bytes that waited unread in it, */
    int64_t closed_unread_since;   /* and since when (check_timeout.h) */
    bool partitioned;
    /* server */
    peer peers[SIM_MAX_CLIENTS * SIM_MAX_GEN + 2]; /* + the liar's two names */
    uint32_t npeers;
    /* client: the streams of the pair (last server, me) */
    char server[TCPSHM_NAME_MAX + 1];
    int c2s, s2c;
    char login_last[TCPSHM_NAME_MAX + 1]; /* the server name its last login call said */
    char login_rec[TCPSHM_NAME_MAX + 1];  /* its ls_rec[cur] then (check_lastserver.h) */
    uint32_t login_srv_owner;             /* the server's incarnation (owner) that call connected to */
    uint32_t logins;                      /* on_login_success calls so far */
    bool connect_called;                  /* this incarnation made its blocking login (node.c) */
    /* an operation a crash may cut short: stream ids, -1 none */
    int pend_push, pend_pop;
    /* client: per name (its directory), the server name of its last
     * successful login (check_lastserver.h); [cur] is the current name's */
    char ls_rec[SIM_MAX_GEN][TCPSHM_NAME_MAX + 1];
    /* per name, the record before a failed login or a death in a login
     * adopted the one it left (not synced: a power loss may bring back this) */
    char ls_prev[SIM_MAX_GEN][TCPSHM_NAME_MAX + 1];
    /* bit g: the record of name g was torn by a power loss (the core
     * refuses it: fault_power.c) */
    uint32_t ls_torn;
    /* bit g: the damage kind broke the record of name g (the core refuses
     * it; the name is retired: fault_damage.c) */
    uint32_t ls_damaged;
} node;

typedef struct login_note { /* a login the server application saw, not finished yet */
    char client[TCPSHM_NAME_MAX + 1], last[TCPSHM_NAME_MAX + 1];
    bool zeros; /* ack_seq, client_seq_start, client_seq_end all 0 */
} login_note;

typedef struct twin { /* the twin fault: a second client with a live client's name */
    node n;            /* its own node (never in nodes[]) */
    bool alive, tried; /* tried: its one login call was made */
    int victim;        /* index of the client whose name it has */
    int64_t until;     /* killed then at the latest */
    uint32_t count;    /* twins so far (each gets a fresh directory) */
    char refused[48];  /* how its login ended: "refused: <text>", "failed: <why>", or "" */
} twin;

#define SIM_PRINT_CACHE 512u
typedef struct sim_print_cache { /* the hash of a file's bytes with this venv stamp */
    uint64_t stamp, hash;
} sim_print_cache;

typedef struct sim {
    const sim_params *p;
    venv *v;
    uint32_t stream_cap;  /* venv's bytes per direction of a connection (the liar overflows it) */
    budget_env budget;    /* counts each node step's env calls (a hang: budget_env.h) */
    const tcpshm_env *env; /* &budget.env: what the nodes and the simulator use */
    tcpshm_config cfg;
    sim_rng rng;    /* scheduling: clock steps, node order, poll order, login and restart times */
    sim_rng wl_rng; /* the application's (tcpshm_sim_random) */
    sim_rng tx_rng; /* transports of client names (mixed runs) */
    fp_plan plan;   /* faults: one stream per kind (plan.h) */
    chk chk;
    trace tr;
    int64_t now;
    node nodes[1 + SIM_MAX_CLIENTS];
    uint32_t nnodes;
    uint32_t next_owner;
    jmp_buf *jmp;
    node *stepping; /* the node whose step runs, or NULL */
    bool misusing;  /* fault_misuse's calls run: a world's wrappers pass them to the core unchecked */
    bool hang;      /* the violation is a hang */
    uint32_t step;  /* steps so far */
    bool settle;
    struct {              /* calm windows (calm.c): the faults pause now and then */
        sim_rng rng;      /* a stream of its own (9): the others' draws stay */
        bool on;          /* this seed has them */
        bool now;         /* a window is open */
        uint32_t until;   /* the open window's end (a step) */
        uint32_t next;    /* the next window's start */
    } calm;
    uint32_t max_dt;    /* a step moves the clock by 1 .. max_dt ticks */
    uint32_t wrap_base; /* != 0: the first pairs start at this seq, near the u32 wrap */
    bool bootstrap;     /* the fault-free first logins of a wrap run: no pushes */
    uint32_t tx_mode;   /* SIM_TX_*: the transports of the run's clients */
    uint32_t durability; /* SIM_DUR_*: the core's durability mode (fault_power.h) */
    int64_t sync_failed_at; /* when a sync point last failed (0: never): a power loss then bites */
    int sync_failed_node;   /* the node whose step it failed in (-1: none) */
    int64_t stall_until;    /* the stall kind: the server's group poll stall_group is skipped until then */
    uint32_t stall_group;   /* < 4: TCP group, else SHM group - 4 (node.c server_polls) */
    int64_t unstalled_at;   /* the end of the last stall (the settle cuts it short): check_timeout.c */
    bool ready_sets;        /* the run's TCP groups poll by readiness (scheduler.c shape) */
    sim_rng set_full_rng;   /* the full readiness set's own stream (12): no other draw moves */
    int64_t set_full_until; /* the server's readiness sets refuse every registration until then */
    int64_t held_until;     /* != 0: connects a cut-off client made wait (venv holds them) until then */
    uint32_t boots[1 + SIM_MAX_CLIENTS]; /* per host: power losses so far (its boot id, fault_power.c) */
    int probe_host;                      /* the host SIM_PROBE_OWNER runs on */
    login_note notes[16]; /* logins between on_new_connection and on_logon */
    uint32_t nnotes;
    twin tw;
    sim_print_cache print_cache[SIM_PRINT_CACHE]; /* file hashes by venv stamp (dir_print.c) */
    struct rb_state *rb;     /* the rollback kind's snapshots (fault_rollback.c) */
    struct rb_rule *rb_rule; /* the pairs under its rule (rollback_rule.c) */
    liar liar;          /* the hostile peer (fault_liar.h) */
    impostor imp;       /* the peer that lies to a client (fault_impostor.h) */
    /* the damage kind's SHM segment damage drawn at a death while the
     * pair's other end ran: made at the death that leaves both ends down */
    struct {
        bool on;
        char server[TCPSHM_NAME_MAX + 1], client[TCPSHM_NAME_MAX + 1];
        uint32_t way;
    } shm_damage;
} sim;

#endif
