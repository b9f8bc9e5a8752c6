/* The simulator as a library: run your own tcpshm-c application (one
 * server and 1-4 clients, with the callbacks and the config you use in
 * production) inside tcpshm-sim's deterministic world: the virtual env
 * (files, sockets, shared memory, process kills), the virtual clock, the
 * fault plan, the stream checker, and your own invariants. A violation
 * prints the command that replays it; --shrink and --check-determinism
 * work on your program. Guide: docs/simulating-your-app.md.
 *
 * Link with `pkg-config --cflags --libs tcpshm_sim` (or CMake's
 * tcpshm::tcpshm_sim): it links the fault build of the core (tcpshm_fi)
 * and wraps tcpshm_conn_alloc / push / push_more / pop at link time
 * (-Wl,--wrap) so that the checker sees every push and pop your code
 * makes; your code calls the ordinary tcpshm_conn_* functions.
 *
 * Rules for the code you run in the world:
 *  - all state that must survive a kill lives in files opened through
 *    tcpshm_sim_env() (not stdio, not the OS): a kill or crash ends the
 *    node's process between any two instructions of the core and closes
 *    its files and mappings; start() then rebuilds the state from them;
 *  - time is tcpshm_sim_now() (also the `now` step() gets), randomness
 *    tcpshm_sim_random(): a run must be a function of the seed;
 *  - one thread; never block. */
#ifndef TCPSHM_SIM_H
#define TCPSHM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpshm/client.h"
#include "tcpshm/config.h"
#include "tcpshm/conn.h"
#include "tcpshm/env.h"
#include "tcpshm/server.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TCPSHM_SIM_MAX_CLIENTS 4
/* The names a node may have in a run: its first (name, dir) and up to
 * TCPSHM_SIM_MAX_IDENTITIES - 1 more (tcpshm_sim_node.identities). */
#define TCPSHM_SIM_MAX_IDENTITIES 4

/* A name a node may take, and its directory on the virtual disk. */
typedef struct tcpshm_sim_identity {
    const char *name;
    const char *dir;
} tcpshm_sim_identity;

/* One node of the world: a process of your application. Its callbacks'
 * `user` pointer (server.user or client.user) is also what start, step
 * and the node's callbacks receive. */
typedef struct tcpshm_sim_node {
    const char *name; /* its tcpshm name (its first, when it lists identities) */
    const char *dir;  /* its directory on the virtual disk (queue files, .lastserver, your files) */
    tcpshm_server_callbacks server; /* the server node: your production callbacks */
    tcpshm_client_callbacks client; /* a client node: your production callbacks */
    /* The process starts: the first time (restarts 0) and after every kill
     * or crash (restarts 1, 2, ...). Forget every pointer of the previous
     * process (connections, mappings) and rebuild your state from your
     * files in dir, through env. NULL: nothing to rebuild. */
    void (*start)(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts);
    /* A step of the node, after the library's polls (where your callbacks
     * ran): your application's own work, e.g. its pushes. A client gets its
     * connection (once a login opened it); the server is called once per
     * client connection it has. NULL: callbacks only. */
    void (*step)(void *user, int64_t now, tcpshm_conn *conn);
    /* Optional: the other identities the node may take (0 to
     * TCPSHM_SIM_MAX_IDENTITIES - 1 of them; NULL/0: it is always name).
     * With any node listing some, the world runs the kinds `rename` (a
     * killed node restarts under the next identity it has not had yet: a
     * client's new name is a new pair with every server name; a server's,
     * a new server name for every client, whose logins to it are new
     * connections) and `return` (a killed node restarts under an identity
     * it had before, with that identity's directory: its queue files and
     * .lastserver). At each login the protocol decides whether the pair
     * of the two names continues or starts again at seq 0 (a new
     * connection: the client's last server name is not this server's;
     * docs/protocol.md step 5); the simulator checks that it did and what
     * it says, and your application must follow it too: learn the node's
     * current name from tcpshm_sim_node_name(user) (start gets the current
     * identity's dir), keep your state per pair of names, and take a
     * connection whose seq_end and my_ack are both 0 at on_logon /
     * on_login_success for a pair that may have started again. Names are
     * unique in the world. A directory may be shared by identities, but
     * then the rollback kind leaves it alone (a restore follows the pairs
     * of the name the node runs under): give each its own to have it
     * restored. Each node's user pointer must then be its own (the
     * accessor finds the node by it). */
    const tcpshm_sim_identity *identities;
    uint32_t nidentities;
    /* Optional: the callbacks of each process of the node, where your
     * application's processes differ (a rolling upgrade; a version that
     * reads its messages with tcpshm_conn_front / tcpshm_conn_pop in step
     * instead of on_msg; one that leaves the optional callbacks NULL).
     * Called as a process starts, before start, with the restarts start
     * gets, and a copy of the node's server callbacks (the server node) or
     * client callbacks (a client node) to change in place; the other
     * pointer is NULL. Keep user as it is. The core gets exactly the
     * callbacks you leave set: a NULL on_msg, or a NULL optional callback
     * (a server's on_system_error and on_client_file_error; a client's
     * on_system_error, on_login_reject, on_seq_mismatch, on_disconnect), is
     * NULL in the core too, and the simulator judges what it would have
     * reported from the client's state and close reason after each poll.
     * NULL: every process has server / client as they are. */
    void (*process)(void *user, uint32_t restarts, tcpshm_server_callbacks *server,
                    tcpshm_client_callbacks *client);
    /* Optional, a client node: the user data its next login carries, as
     * your application passes it to tcpshm_client_login / _connect
     * (TCPSHM_MAX_USER_DATA bytes; config.login_user_data_size of them go
     * out); called at each login attempt. NULL, or NULL returned: none (the
     * server sees zeros). Your server's on_new_connection sees what came,
     * and may check it with tcpshm_sim_fail. */
    const uint8_t *(*login_user_data)(void *user);
} tcpshm_sim_node;

/* A seed's shape of the world (tcpshm_sim_world.shape). */
typedef struct tcpshm_sim_shape {
    /* In: your config with the seed's timing, transport settings and
     * durability (tcpshm_sim_world.config says which are the seed's).
     * Out: what every node of the run is created with; change the fields
     * your application lets its operators choose (sizes, groups, byte
     * order, user data sizes, Nagle). The seed's timing, transport and
     * durability fields are set again after the hook. */
    tcpshm_config config;
    /* In: the world's nclients. Out: how many of them run (1 to that): the
     * first ones of clients[]. */
    uint32_t nclients;
    /* In: 0. Out: 0, or the sequence number both directions of every pair
     * of first names (the server's name with each client's) start at: a
     * value just below 2^32 (e.g. 0u - 200) makes the run cross the u32
     * wrap within a few hundred messages, where seq arithmetic that is not
     * modular breaks. The simulator logs every client in without faults or
     * pushes, stops the nodes, moves those pairs' queues there and calls
     * pair_reset for each (needed: without it the seed is refused), so
     * that your application starts its state of the pair again, and
     * restarts the nodes. */
    uint32_t start_seq;
} tcpshm_sim_shape;

typedef struct tcpshm_sim_world {
    /* Your production config. The simulator keeps its sizes and groups
     * but not its times: the virtual clock counts ticks, and each seed
     * picks heartbeat_interval (20-200 ticks), connection_timeout,
     * new_conn_timeout, ctl_interval, max_new_conns and accepts_per_poll.
     * Over shared memory (a seed may run clients over SHM) it also sets
     * shm_groups, shm_conns_per_group and, when 0, shm_queue_size; durability
     * is the seed's (--durability). tcp_conns_per_group must hold the clients
     * (with identities: every client identity). */
    tcpshm_config config;
    tcpshm_sim_node server;
    tcpshm_sim_node clients[TCPSHM_SIM_MAX_CLIENTS];
    uint32_t nclients; /* 1 .. TCPSHM_SIM_MAX_CLIENTS */
    /* Your invariant, after every step of the world (final false) and once
     * at the end, after the faults stopped and everything settled (final
     * true): return 0, or nonzero with a message in why (a violation, with
     * its replay command). It may read your nodes' in-memory state; use
     * tcpshm_sim_alive() and tcpshm_sim_conn() to see which exist. NULL:
     * only the built-in checks. */
    int (*check)(void *user, int64_t now, bool final, char *why, size_t why_size);
    void *check_user;
    /* Optional (NULL: the world runs none of the kinds below). Set, it
     * opts the world into the kinds that lose part of a pair for good:
     * `rollback` (a node's directory goes back to an older backup, or is
     * wiped, or a client's .lastserver alone goes back, while the node is
     * down), `power-loss` in process durability (what was not synced goes)
     * and `damage` (a dead node's queue file or .lastserver damaged on its
     * disk: the core must refuse it with TCPSHM_E_CORRUPT). The core must
     * detect such a loss at the next login or open (a sequence mismatch on
     * either side, a new connection, or a queue file it refuses); the
     * simulator checks that it does, and that no login goes on as if
     * nothing happened. Then the simulator does what your operator would:
     * it stops both processes, removes the pair's queues on both sides
     * (and the client's .lastserver) and calls this hook, before either
     * restarts; the pair starts again at seq 0 both ways. It is also
     * called when a power loss takes a pair's SHM segments (memory: both
     * sides start at 0; both nodes are down then too). Everything pushed
     * on the pair before is gone: reset your application's state of the
     * pair (its files, through tcpshm_sim_env(); your node's memory is
     * rebuilt by start), and stop expecting it in your invariant. user is
     * check_user. Its file calls do not fail. */
    void (*pair_reset)(void *user, const char *server, const char *client);
    /* Optional, with pair_reset (false: off). true: your application copes
     * with the core's files of a pair going back without its own files of
     * the pair (its state then runs ahead of the pair's: e.g. a record that
     * names a request the restored queue delivers again) until the core
     * detects the loss and the pair is reset; your invariant must allow
     * that while tcpshm_sim_conn() gives no connection for the pair. The
     * rollback kind then also restores a queue file alone, or one SHM
     * segment of a pair (both processes stopped), and rolls back the
     * directories of nodes that have pairs over SHM. false: only whole
     * directories (your files go back with the queues), and only of nodes
     * without pairs over SHM. */
    bool core_files_alone;
    /* Optional: each seed's shape, called once before the nodes start,
     * with check_user: draw with tcpshm_sim_random() the config and the
     * number of clients this seed runs (tcpshm_sim_shape), so that a sweep
     * covers the configurations your deployments use. Your code reads what
     * the seed got with tcpshm_sim_config(). NULL: every seed runs config
     * and every client. */
    void (*shape)(void *user, tcpshm_sim_shape *shape);
} tcpshm_sim_world;

/* Runs the world under the standard command line of tcpshm-sim (--seed,
 * --seeds, --faults, --jobs, --trace, --shrink, --check-determinism,
 * --json, --shard, --help, --version ...). Returns the exit status: 0 no
 * violation, 1 a violation or a determinism mismatch, 2 usage. */
int tcpshm_sim_main(int argc, char **argv, const tcpshm_sim_world *world);

/* Inside a run (from start, step, the callbacks, check): */
const tcpshm_env *tcpshm_sim_env(void); /* the virtual env: your files go through it */
/* The virtual clock: inside a node's step and callbacks, that node's host
 * clock, the same `now` its core gets (and step receives); the fault kind
 * `clock` steps it back or forward by up to three heartbeat intervals, as
 * an NTP step does: never assume it only moves forward. Elsewhere (check)
 * the run's own time. */
int64_t tcpshm_sim_now(void);
uint64_t tcpshm_sim_random(void);       /* the seed's own stream for your application */
/* The config every node of this run was created with: the world's, as the
 * seed's shape made it (its timing, transport settings, durability, and
 * what the shape hook chose). NULL outside a run. */
const tcpshm_config *tcpshm_sim_config(void);
/* How many of the world's clients this run has (the shape hook's choice):
 * clients[0 .. that - 1]. 0 outside a run. */
uint32_t tcpshm_sim_nclients(void);
bool tcpshm_sim_settling(void);         /* the faults stopped: finish, start no new work */
bool tcpshm_sim_alive(const char *node_name); /* a node's current name */
/* The current name of the node whose callbacks' user pointer is user
 * (server.user or client.user): its first name until a rename or a return
 * gave it another identity (tcpshm_sim_node.identities). The string
 * changes when the node takes another identity (while it is down): copy
 * it to keep it. NULL outside a run or for a pointer no node has. */
const char *tcpshm_sim_node_name(const void *user);
/* Node local's connection with remote (NULL if local is dead or has none;
 * NULL too while the pair's storage went back (rollback, power loss) and
 * its next login has not been judged yet: its numbers are not the pair's
 * until then; and once such a loss was detected, until the reset). */
tcpshm_conn *tcpshm_sim_conn(const char *local, const char *remote);
/* A crash site of your code: a point between two of your own stores or
 * file calls where a kill would leave your persisted state half-updated
 * (between the pop of a request and the push of its answer; between two
 * fields of a record). With the crash kind on, the simulator now and then
 * kills the node right here, as it does at the core's own crash sites: the
 * call does not return, and the node restarts through its start hook.
 * Anywhere else (no run, the settle phase, outside a node's step) it
 * returns at once. Call it through a macro of your own that is empty in
 * your production build. name (e.g. "myapp/crash/after_record") is what
 * the trace shows. */
void tcpshm_sim_crash_site(const char *name);
/* Requests and answers (optional): the simulator checks a request/answer
 * protocol's exactly-once discipline for you. Between tcpshm_conn_alloc
 * and the push of a message on conn, mark what it is:
 *  - tcpshm_sim_request(conn), a client's message: a request; the server
 *    must answer it exactly once, and before it pops it;
 *  - tcpshm_sim_answer(conn, seq), the server's message: it answers the
 *    client's request seq (the seq of the front message on conn, its
 *    tcpshm_conn_my_ack), which must be the next request still unanswered.
 * Answer, then pop, is the discipline that stays exactly-once at a kill:
 * a kill between the two redelivers the request, whose answer is queued
 * already (your own record must say so: docs/simulating-your-app.md,
 * section 5); a pop before the answer loses the answer at a kill. The
 * violations say "request 5 popped without its echo", "request 5 echoed
 * twice", "echo of 7 while the next request to handle is 5". The rule is
 * off for a pair whose storage went back (rollback, power loss) until the
 * pair is reset. */
void tcpshm_sim_request(tcpshm_conn *conn);
void tcpshm_sim_answer(tcpshm_conn *conn, uint32_t request_seq);
/* Reports a violation from your code (e.g. in on_msg: "echo 7 came twice"). */
void tcpshm_sim_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif
