/* A user's world's operator (world_reset.c): what is done, instead of the
 * built-in application's rename, when a loss on a pair was detected (a
 * rollback's, a power loss's, a refused damaged file's: rollback_rule.c).
 * A world's names are the user's, so the pair itself starts over. */
#ifndef TCPSHM_SIM_WORLD_RESET_H
#define TCPSHM_SIM_WORLD_RESET_H

#include "sim_state.h"

/* Whether the world opted into the kinds that reset pairs (its pair_reset
 * hook is set): rollback, power loss in process durability, damage. */
bool world_resets_pairs(const sim *s);
/* A pair of client node cn was detected dead: both processes stopped,
 * the client's .lastserver removed, and so every pair of cn (one per server
 * name: with identities, not only the dead ones) starts over: its state
 * removed on both sides (the server's queue file of the client, the
 * client's queue file, an SHM pair's segments), new streams at seq 0, the
 * rule's state cleared, and the user's pair_reset hook told. */
void world_reset(sim *s, node *cn);
/* A power loss took the SHM segments of the pair (server, client): the
 * checker started it anew already; the user's hook is told. */
void world_pair_lost(sim *s, const char *server, const char *client);

#endif
