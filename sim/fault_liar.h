/* The fault kind `liar`: a hostile peer. A raw node (a venv socket of its
 * own owner, not the core) now and then connects to the server and tells
 * one lie, chosen from its kind's PRNG stream (the lies and the answer the
 * server owes each: sim/README.md, "The liar"): over TCP as liar0, or, in
 * seeds with SHM, as liar1 writing into its own segments after an SHM login
 * (mapped through the raw env, as another process maps them). The rule: the server closes
 * the connection or refuses the login with that reason (its on_disconnect,
 * on_login_rejected or on_seq_mismatch, or the response the liar reads),
 * never accepts a lie, and keeps the liar's own pair consistent; the honest
 * streams keep every check. A fault the run injected that explains another
 * outcome (the server died, was partitioned, its link failed) makes the
 * attempt inconclusive, never a pass for a wrong answer. The liar stops in
 * the settle phase. Defined in fault_liar.c. */
#ifndef TCPSHM_SIM_FAULT_LIAR_H
#define TCPSHM_SIM_FAULT_LIAR_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/conn.h"
#include "tcpshm/login.h"
#include "tcpshm/msg.h"
#include "tcpshm/names.h"

#define SIM_LIAR_OWNER 8u /* the liar's venv owner (nodes have 100 and up) */
#define SIM_LIAR_NAME "liar0"      /* the TCP lies' client name */
#define SIM_SHM_LIAR_NAME "liar1"  /* the SHM lies' (a name keeps its transport) */
#define SIM_LIAR_SENT_NAME "liar2" /* a name of no pair, sent by the unterminated-name lie */
#define SIM_LIAR_MARK 0xA5u /* login user_data[0] of a liar's login that uses an honest name */
#define SIM_LIAR_MARK_OWN 0xA6u   /* ... of a liar name's login the application passes on as it is */
#define SIM_LIAR_MARK_GROUP 0xA7u /* ... of one it answers with a group out of range */

/* The liar's pending output holds its largest frame: a login of the
 * largest user data and names any config allows (header, the two seqs,
 * user data, use_shm, two names; aligned to 4, padded to 8). */
#define LIAR_OUT_SIZE (8u + ((8u + TCPSHM_MAX_USER_DATA + 1u + 2u * (TCPSHM_NAME_MAX + 1u) + 3u) & ~3u) + 8u)

typedef struct liar {
    int fd;    /* the liar's socket, -1: idle */
    int lie;   /* the lie of this attempt (fault_liar.c) */
    int phase; /* 0 valid login sent (the lie comes after it), 1 the lie sent */
    char name[TCPSHM_NAME_MAX + 1];     /* the client name this attempt's server events carry */
    char recorded[2][TCPSHM_NAME_MAX + 1]; /* the server name of liar0's, liar1's last accepted login */
    /* SHM lies: where the lie was written in liar1's segment to the server
     * (taken back when the attempt ends), and whether the server may still
     * hold a checked front there (the next login is then a new connection,
     * which clears it) */
    uint32_t shm_pos;
    uint64_t shm_saved; /* liar1's consumer word as it was, put back after the consumer-position lie */
    bool shm_written, shm_fresh;
    /* the header lie: the bytes it overwrote in liar1's segment to seg_srv
     * (put back when the attempt ends), and whether the server had liar1's
     * segments open when it was told */
    uint8_t hdr_saved[24];
    uint32_t hdr_off, hdr_len;
    bool hdr_slot;
    char seg_srv[TCPSHM_NAME_MAX + 1];
    char file_err[160]; /* the server's on_client_file_error for this attempt's name, "" none */
    bool syserr;        /* the server told its application the group was out of range */
    int delivered; /* the lie's valid message reached the server's on_msg: 1 held, 2 rewritten since */
    uint8_t out[LIAR_OUT_SIZE];
    uint32_t out_len, out_off;
    uint8_t in[512];
    uint32_t in_len;
    int64_t deadline;  /* give up (or, for a stale ack, close) at this time */
    bool srv_blocked;  /* the server was partitioned or in a storm since the lie */
    uint32_t srv_owner; /* the server incarnation the attempt began with */
    uint32_t arg;       /* the lie's number (an ack, a range start) */
    char expect[48];    /* the reason the server owes (a prefix) */
    char seen[96];      /* the server's reason for this attempt, "" none yet */
    bool noteless;      /* the login on_new_connection saw last is the liar's (no login note) */
    /* logins of liar0, liar1 the server began (on_new_connection) and has
     * not ended (reject, mismatch or logon), in server incarnation
     * under_way_owner: no attempt starts while one is under way, or its
     * end would be taken for the new attempt's (seed 6828 --faults all) */
    uint32_t under_way[2], under_way_owner;
    /* the ack past the messages sent: the server's application pushes to
     * liar0 (which reads nothing after the login response) until the
     * pushes overflow the link, so some stay unsent; then the liar
     * acknowledges one of those */
    bool want_push;       /* the server's application has yet to push for the lie */
    bool pushed_now;      /* it did (as far as its queue let it): the liar's ack is due */
    bool unsent_known;    /* the pushes passed the link's capacity: unsent_seq cannot have been sent */
    uint32_t unsent_seq;  /* the first pushed message whose last byte does not fit in the link */
    uint32_t pushed;      /* messages ever pushed to liar0 (its pair's seq_end is never past this) */
    uint32_t pushed_shm;  /* the same for liar1 (the bad consumer word: fault_liar.c) */
} liar;

typedef struct sim sim;

/* One liar step (after the nodes' steps), when the kind is on. */
void liar_step(sim *s);
/* From the wrappers of the world's server callbacks (world.c, which keep
 * the liar's connections from the application's callbacks and step). The close of a connection of name:
 * true if it is one of the liar's (the honest nodes' rules do not apply). */
bool liar_server_disc(sim *s, const char *name, const char *reason);
void liar_server_reject(sim *s, const char *name, const char *reason);
void liar_server_mismatch(sim *s, const char *name);
/* on_new_connection of a login that carries one of the liar's marks, for
 * which the application chose group grp (tcpshm-sim's: sim_name_group; a
 * world's wrapper: that for the liar's own names, the user's group of the
 * name's live login for an honest one): -1 refuse (reject_text set), else
 * the group to return; -2 not the liar's. Called for every login (it
 * counts the liar's names' logins under way, and sets what
 * liar_take_noteless tells). */
int liar_new_conn(sim *s, const tcpshm_login *lg, int grp, const char **reject_text);
/* Whether one of the liar's consumer-position lies stands in the server's
 * segment to remote now (the segment does not open while it does: no crash
 * did that). */
bool liar_holds_segment(const sim *s, const char *remote);
/* The server's on_logon for name: true (and a violation) if that is the
 * liar's login lie, accepted. */
bool liar_server_logon(sim *s, const char *name);
/* Whether name is one of the liar's own (liar0, liar1). */
bool liar_name(const char *name);
/* The server's on_msg got a message of a liar's name: held (not popped)
 * while the lie wants it, else a violation. */
void liar_server_msg(sim *s, const char *name, const tcpshm_msg_header *m);
/* The server's on_system_error and on_client_file_error. */
void liar_server_syserr(sim *s, const char *what);
void liar_server_file_error(sim *s, const char *name, const char *text);
/* The server's application at its step (a world's: its wrapper, never
 * the user's step), for the liar's pair c of name: pushes what the lie of
 * an ack past the messages sent wants (messages the checker does not
 * follow: nothing pops them). */
void liar_server_push(sim *s, const char *name, tcpshm_conn *c);
/* Whether the login the server just refused is the liar's, which left no
 * login note (once: the server refuses it within on_new_connection's call). */
bool liar_take_noteless(sim *s);

#endif
