/* The fault kind `impostor`: a peer that lies to a client (the liar,
 * fault_liar.h, lies to the server). Now and then a client's login call is
 * misrouted (a stale address, a hijacked port): it dials the impostor, a raw
 * venv socket of its own owner listening on SIM_IMPOSTOR_PORT, instead of the
 * server. The impostor reads the login and answers with one lie, chosen from
 * its kind's PRNG stream (the lies and the reason the client owes each:
 * sim/README.md, "The impostor"): a response frame of a bad size or type, an
 * unknown status, a bad server name, or (to a TCP client that names a server)
 * that name with a range the client must refuse.
 *
 * The rule: the client ends the attempt with the lie's reason (its
 * on_system_error or on_seq_mismatch) and closes the connection, never
 * accepts it, and keeps its state: its recorded server (.lastserver and what
 * the core holds), and the pair's seq_start (TCP) and my_ack as they were
 * after the login call; the stream checker then sees no loss or duplicate
 * when it logs in to the real server. A link failure, a timeout or a file
 * fault ends the attempt as inconclusive, never as a pass for a wrong
 * reason. The impostor stops in the settle phase. Defined in fault_impostor.c. */
#ifndef TCPSHM_SIM_FAULT_IMPOSTOR_H
#define TCPSHM_SIM_FAULT_IMPOSTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/names.h"

#define SIM_IMPOSTOR_OWNER 10u   /* the impostor's venv owner (nodes have 100 and up) */
#define SIM_IMPOSTOR_PORT 7001u  /* where a misrouted login arrives */
#define SIM_IMPOSTOR_NAME "imp0" /* the name it gives a client that names no server */

/* How a client's attempt ended (its callback). */
typedef enum imp_end { IMP_END_FAILED, IMP_END_REJECTED, IMP_END_MISMATCH, IMP_END_ACCEPTED } imp_end;

typedef struct impostor {
    int lfd;           /* the listener, -1 until the first attempt */
    int fd;            /* the accepted connection, -1 none */
    int victim;        /* the client node of the attempt, -1 idle */
    uint32_t owner;    /* its incarnation */
    bool called;       /* its login call was made (the state below is noted) */
    bool judged;       /* its attempt ended; the impostor's socket must see the close */
    int lie;           /* -1 until the login is read */
    uint32_t arg;      /* the lie's number (a size, a type, a status, an ack) */
    char expect[48];   /* the reason the client owes (a prefix) */
    uint8_t in[512];   /* the login */
    uint32_t in_len;
    uint8_t out[1032]; /* the lie: a response frame, whole or its header */
    uint32_t out_len, out_off;
    /* the client's state after its login call */
    bool had_conn, shm;
    uint32_t seq_start, my_ack;
    char last[TCPSHM_NAME_MAX + 1], rec[TCPSHM_NAME_MAX + 1];
} impostor;

typedef struct sim sim;
typedef struct node node;

/* Before client n's login call: the port it dials (SIM_PORT, or
 * SIM_IMPOSTOR_PORT when the kind starts an attempt with it). */
uint16_t impostor_port(sim *s, node *n);
/* After that call: ok whether it succeeded (the attempt is then under way). */
void impostor_login_called(sim *s, node *n, bool ok);
/* Whether the client's login attempt under way is the impostor's. */
bool impostor_owns(const sim *s, const node *n);
/* Called by the client's callbacks at the end of a login: if the attempt
 * was the impostor's, judges how it ended and returns true (the callback
 * then skips its own checks); else false, nothing done. */
bool impostor_client_end(sim *s, node *n, imp_end how, const char *reason);
/* One impostor step (after the nodes' steps), when the kind is on. */
void impostor_step(sim *s);

#endif
