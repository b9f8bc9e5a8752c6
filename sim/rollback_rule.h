/* The rollback rule: the pairs a rollback (fault_rollback.c) touched, and
 * what a login, a sequence mismatch or a new connection means for them
 * (sim/README.md, "Storage that goes back in time"). A pair is pending
 * from a rollback to its next good login; a detected rollback (a mismatch,
 * or a new connection) makes it dead: its streams closed, the pair to be
 * reset by the operator (fault_rollback.c rb_operator, world_reset.c).
 * Defined in rollback_rule.c; used by world.c (the hooks), fault_rollback.c
 * and world_reset.c. */
#ifndef TCPSHM_SIM_ROLLBACK_RULE_H
#define TCPSHM_SIM_ROLLBACK_RULE_H

#include <stdbool.h>

#include "sim_state.h"
#include "tcpshm/login.h"

#define RB_PAIRS 64 /* pairs a run may roll back */
#define RB_NAME (TCPSHM_NAME_MAX + 1)

enum { RB_NONE, RB_PENDING, RB_DEAD };

typedef struct rb_pair {
    char server[RB_NAME], client[RB_NAME];
    int state;
    int64_t t;           /* the last rollback */
    char who[RB_NAME];   /* whose storage went back */
    uint32_t owner_floor; /* the venv owners of the incarnations started after it are >= this */
    char srv_last[RB_NAME]; /* the last login the server got from the client: its last server name, */
    uint32_t srv_ack, srv_end; /* its ack_seq and client_seq_end */
    bool srv_noted; /* that login came after the rollback and was not refused at once (a login the server
                     * accepts without it was sent before: pending since, in a stalled group) */
    bool power; /* the storage went back in a power loss (fault_power.c) */
    bool lost;  /* and something whose push or pop returned is gone: a login that continues the pair is a
                 * silent loss (without it: a queue file gone empty, which the core may report) */
} rb_pair;

typedef struct rb_rule {
    rb_pair pairs[RB_PAIRS];
    uint32_t npairs;
    char rename[1 + SIM_MAX_CLIENTS][RB_NAME]; /* the operator renames this client ("" none) */
} rb_rule;

void rb_rule_init(sim *s);
void rb_rule_fini(sim *s);
/* The node that has this name now, or NULL. */
node *rb_node_named(sim *s, const char *name);
/* A user's world: the operator reset the pair (both sides' state removed,
 * world_reset.c): a new pair, under no rule. */
void rb_pair_reset(sim *s, const char *server, const char *client);
/* The server refused a login of client in handle_login (after its note). */
void rb_server_rejected(sim *s, const char *client);
/* A rollback of who's storage touched the pair: pending (unless dead). */
void rb_pending(sim *s, const char *server, const char *client, const char *who);

/* A power loss (fault_power.c) took back some push or pop of the pair that
 * had returned: pending, and only a detection may end it. */
void rb_power_lost(sim *s, const char *server, const char *client, const char *who, bool lost);
/* The pair's state does not open (a file refused with a reason: torn by a
 * power loss, or damaged on the disk: fault_damage.c): the loss is
 * detected; the pair is dead. */
void rb_file_refused(sim *s, const char *server, const char *client);

/* Some pair lost data in a power loss and was not judged yet (no login since). */
bool rb_power_pending(const sim *s);

/* The pair (server, client) is dead for the checker: no more pushes or pops. */
bool rb_pair_dead(const sim *s, const char *server, const char *client);
/* The pair is under the rule: a rollback touched it since its last good
 * login. Its next accepted login is judged by this rule, not by the
 * checker's epoch positions (which a rollback moved). */
bool rb_pair_pending(const sim *s, const char *server, const char *client);
/* A pair of this client name is dead: the operator renamed it away for good. */
bool rb_client_retired(const sim *s, const char *client);
/* The server got a login (on_new_connection): what it says its last server was. */
void rb_server_login(sim *s, const tcpshm_login *lg);
/* The server accepted the login of client (on_logon). */
void rb_server_accepted(sim *s, const char *server, const char *client);
/* The client logged in to server; recorded: its .lastserver at the login call. */
void rb_client_accepted(sim *s, node *n, const char *server, const char *recorded);
/* A sequence mismatch on the pair (server "": any pair of the client): true
 * when a rollback explains it (detected: the pair is dead now), false when
 * it is a violation. The server's mismatch at a login that names another
 * server (or none) is one, rollback or not: that login is a new connection
 * (rule 4), and reported as such here. */
bool rb_mismatch(sim *s, const char *server, const char *client);

#endif
