/* The omniscient checker: outside the nodes, it records per directed stream
 * every push that returned and every pop that returned (or that a crash cut
 * short but the reopened file says persisted), and checks:
 *  safety   each pop is the next message pushed on its stream: same seq,
 *           size and checksum (no gap, duplicate, reordering, corruption);
 *           the queue's seq_end agrees with the pushes; every request is
 *           echoed exactly once, before it is popped;
 *  liveness (chk_settled) every open stream popped everything pushed.
 * A stream is (server name, client name, direction); a new name is a new
 * stream, and the streams of a name that is gone are closed (no liveness).
 * The first violation is kept (text and stream); later ones are ignored.
 * Defined in checker.c. */
#ifndef TCPSHM_SIM_CHECKER_H
#define TCPSHM_SIM_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/names.h"
#include "workload.h"

enum { CHK_C2S = 0, CHK_S2C = 1 };

typedef struct chk_rec {
    uint32_t size, checksum;
    uint32_t seq, echo_of;
    uint16_t kind; /* the pusher's mark: 0, WL_REQUEST or WL_ECHO */
} chk_rec;

typedef struct chk_stream {
    char server[TCPSHM_NAME_MAX + 1], client[TCPSHM_NAME_MAX + 1];
    int dir;
    bool closed;
    bool retired;              /* an older epoch of its pair: a new connection replaced it */
    uint32_t base;             /* seq of the first message */
    uint32_t pushed, popped;   /* counts */
    uint32_t crash_tail;       /* the last pushes were resolved from the file after a crash (they never
                                * returned), or returned from push_more in host durability (not synced
                                * yet): a power loss may take them back; no push returned since */
    uint32_t retracted;        /* pushes a rollback retracted are recs[pushed, retracted): the peer may
                                * still pop them from what it had received (then it must detect it) */
    chk_rec *recs;             /* one per push */
    chk_rec *old;              /* the pushes the last rollback retracted, recs[old_base, old_base + old_n)
                                * as they were: a new push reuses their seqs, but the peer may still pop
                                * one of them from what it had received */
    uint32_t old_base, old_n;
    uint32_t cap;
    uint32_t echo_next;        /* C2S: requests before this seq were echoed */
    bool echo_off;             /* C2S: a rollback touched the pair: the echo rule no longer applies */
    bool client_joined;        /* the client took this epoch (its login or first message): before that its
                                * queue file still holds the older epoch's numbers */
    /* a push or pop in flight (a crash may cut it short) */
    bool push_pending, pop_pending;
    chk_rec pending;
    uint32_t pending_echo_of;
} chk_stream;

typedef struct chk {
    chk_stream *s;
    uint32_t n, cap;
    bool violated;
    int violation_stream;
    char violation[512];
    uint64_t pushes, pops;
    char gone[64][TCPSHM_NAME_MAX + 1]; /* names that are gone: their streams, even new ones, are closed */
    uint32_t ngone;
} chk;

void chk_init(chk *c);
void chk_fini(chk *c);
/* The newest stream (the last made) of (server, client, dir), or -1. */
int chk_find(const chk *c, const char *server, const char *client, int dir);
/* A new stream of the pair at base, closed (no liveness): an older epoch
 * that one side still holds (a client whose storage went back pushes into
 * a queue the checker's epoch has left behind); the next login must end it. */
int chk_stale_epoch(chk *c, const char *server, const char *client, int dir, uint32_t base);
/* The stream (server, client, dir) of the pair's current epoch, created
 * (starting at seq base) if absent. */
int chk_stream_id(chk *c, const char *server, const char *client, int dir, uint32_t base);
/* A name that was gone is back (a node restarted under it): streams made
 * from now on are open; its old ones stay closed until a login continues
 * them (chk_pair_login). */
void chk_name_back(chk *c, const char *name);
/* Login rule (docs/protocol.md step 5): does a login with last_server_name
 * last (zeros: its three numbers all 0) continue the pair's current epoch?
 * Yes if last names the server, or in the first-login window (last "" and
 * zeros while the epoch starts at 0 and nothing of it was popped). */
bool chk_login_continues(chk *c, const char *server, const char *client, const char *last, bool zeros,
                         uint32_t base);
/* An accepted login of the pair: cont reopens the current epoch's streams
 * (their messages must now be delivered); otherwise both sides reset, the
 * current epoch is retired (when it holds anything or starts elsewhere) and
 * a new one starts at seq 0. *c2s, *s2c get the current epoch's streams
 * (base: where a pair never seen starts). */
void chk_pair_login(chk *c, const char *server, const char *client, bool cont, uint32_t base, int *c2s, int *s2c);
/* Closes every stream of that server name / client name. */
void chk_close_server(chk *c, const char *server);
void chk_close_client(chk *c, const char *client);
const char *chk_stream_name(const chk *c, int sid, char *out, unsigned n);

/* A push about to be made: seq must be the queue's seq_end. */
void chk_push_begin(chk *c, int sid, uint32_t seq, const wl_msg *m);
/* The push returned. */
void chk_push_done(chk *c, int sid);
/* A message at the front of sid, about to be popped, known by its seq
 * (the receiver's my_ack), size and checksum (msg_sum.h; world.c): must be
 * the next one pushed. */
bool chk_front_is(chk *c, int sid, uint32_t seq, uint32_t size, uint32_t checksum);
void chk_pop_begin(chk *c, int sid);
void chk_pop_done(chk *c, int sid);
/* A push that returned before its sync (push_more, host durability): done,
 * and one more of the last pushes a power loss may take back (crash_tail). */
void chk_push_unsynced(chk *c, int sid);
/* Host durability: the queue's seq_end went back to seq_end (a death, or a
 * push whose sync failed, dropped the batch push_more had not synced). True,
 * and the pushes after it taken back, when they are all among the last
 * pushes that may go (crash_tail) and none of them was popped. */
bool chk_take_back_unsynced(chk *c, int sid, uint32_t seq_end);
/* After a crash: the push / pop in flight persisted or not (from the file). */
void chk_push_resolve(chk *c, int sid, bool persisted);
void chk_pop_resolve(chk *c, int sid, bool persisted);

/* A rollback (fault_rollback.c): the stream's push count (its producer's
 * state went back: later pushes are retracted, new ones reuse their seqs)
 * or its pop count (its consumer's state went back: later pops may be
 * replayed) goes back to n, which must not be above it. The echo rule of
 * the pair's C2S stream is off from then on (the echo application's
 * write-ahead record cannot follow a partial restore). */
void chk_rewind_pushed(chk *c, int sid, uint32_t n);
void chk_rewind_popped(chk *c, int sid, uint32_t n);
void chk_echo_off(chk *c, int sid);
/* A power loss put one side's state of the pair at a seq outside the
 * current epoch of direction dir (an older epoch's file came back): that
 * epoch is retired and a new one starts at base. Returns its id. */
int chk_new_epoch(chk *c, const char *server, const char *client, int dir, uint32_t base);

void chk_fail(chk *c, int sid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The honest-close rule: who closed its connection with other for reason;
 * honest peers never send an ack past what was sent, a bad frame or a bad
 * SHM word, nor write past their message, so a close for one of these
 * between two honest nodes is a violation (only a liar may cause one). */
void chk_honest_close(chk *c, int sid, const char *who, const char *other, const char *reason);

/* Every open stream popped everything pushed. */
bool chk_settled(const chk *c, int *first_open_stream);
/* Messages pushed and not popped yet, over the open streams. */
uint32_t chk_backlog(const chk *c);

#endif
