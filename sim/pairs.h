/* The pairs of a run (a server name and a client name): the seq a pair's
 * streams start at, and the transport of a client name and where its SHM
 * segments are. Defined in pairs.c; used by world.c, node.c, scheduler.c
 * and the fault kinds. */
#ifndef TCPSHM_SIM_PAIRS_H
#define TCPSHM_SIM_PAIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_state.h"

/* The seq a new stream starts at: wrap_base for the pairs of the first names. */
uint32_t sim_pair_base(const sim *s, const char *server, const char *client);
/* The transport of a new client name: from the run's mode (a coin in mixed runs). */
bool sim_pick_shm(sim *s);
/* Whether the client name logs in over shared memory (false for unknown names;
 * true for the liar's SHM name, liar1). */
bool sim_client_shm(const sim *s, const char *client);
/* The group of a login: FNV-1a of its client name among its transport's
 * groups, as tools/echo_server chooses (0 where the transport has none):
 * the world's wrapper's for the liar's own names (world.c). */
int sim_name_group(const sim *s, const tcpshm_login *lg);
/* The strings up to a NULL joined into out (n bytes), cut as snprintf's
 * "%s%s..." would be: the paths of pair files and copies of names, made
 * many times a step (snprintf showed in profiles). */
void sim_join(char *out, size_t n, ...);
/* The name number k of node n, and that name's directory: the node's
 * identities (k 0: its first name and directory; world_identity). */
void sim_name_of(const sim *s, const node *n, uint32_t k, char out[TCPSHM_NAME_MAX + 1]);
const char *sim_dir_of(const sim *s, const node *n, uint32_t k, char out[TCPSHM_NAME_MAX + 1]);
/* The directory of the server's name server (its identities may each
 * have one): its current one's if it never had that name. */
const char *sim_server_dir(const sim *s, const char *server, char out[TCPSHM_NAME_MAX + 1]);
/* How many names node n may have in the run: its identities (1 when it
 * lists none: renames and returns leave it alone). */
uint32_t sim_max_names(const sim *s, const node *n);
/* Node n takes its name number k (> n->gen: a new name, which tosses its
 * transport in a mixed run; otherwise one it had before, with that name's
 * directory): the old name's streams close, the name is no longer gone. */
void sim_name_switch(sim *s, node *n, uint32_t k);
/* The server name client records in <dir>/<client>.lastserver (the file
 * format of core/src/lastserver.c: "TSHMLAST", version 1, a reserved word,
 * the name): 1 with the name in out, 0 when there is no record ("" in
 * out), -1 when the file is not a whole record (torn or foreign). */
int sim_recorded_server(sim *s, const char *dir, const char *client, char out[TCPSHM_NAME_MAX + 1]);
/* The client node that has or had name (one of its generations, in *gen),
 * or NULL: the server's names, the twin's or the liar's are none. */
const node *sim_client_named(const sim *s, const char *name, uint32_t *gen);
/* The node whose current name is name (the server or a client, alive or
 * not), or NULL. sim_client_named also knows a client's earlier names. */
node *sim_node_named(sim *s, const char *name);
/* The server node n's peer of the client name, or NULL. */
peer *sim_find_peer(node *n, const char *name);
/* The venv path of the segment of the direction from -> to. */
void sim_shm_path(char *out, size_t n, const char *from, const char *to);
/* The venv path of local's queue file of the pair with remote in dir
 * (<dir>/<local>_<remote>.ptcp, as the core names it). */
void sim_queue_path(char *out, size_t n, const char *dir, const char *local, const char *remote);
/* The venv path of client's .lastserver record in dir (<dir>/<client>.lastserver). */
void sim_lastserver_path(char *out, size_t n, const char *dir, const char *client);

/* The core's answer to a lost pair: a client whose record names server
 * but whose queue file of that pair (TCP) is gone logs in naming no server
 * (a new connection). True when that is the case for client in dir. */
bool sim_pair_lost(sim *s, const char *dir, const char *client, const char *server);

#endif
