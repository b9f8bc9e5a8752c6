/* The event trace of a run: every event updates a 64-bit hash (the trace
 * hash that --check-determinism compares), the last TRACE_RING events are
 * kept for a violation report, and with a file every event is written as a
 * line (or, with a sink, handed to it: the Chrome trace of trace_chrome.c).
 * Events are small structs; text is made only when printed.
 * Defined in trace.c. */
#ifndef TCPSHM_SIM_TRACE_H
#define TCPSHM_SIM_TRACE_H

#include <stdint.h>
#include <stdio.h>

#define TRACE_RING 48

typedef enum tr_type {
    TR_START,      /* node a started (owner b, generation c) */
    TR_KILL,       /* node a killed between steps */
    TR_CRASH,      /* node a killed at a crash site */
    TR_FAULT,      /* a point fired: kind a, errno b, point name in s */
    TR_BREAK,      /* node a's connections reset (venv_break) */
    TR_CLOSE,      /* node a closed a connection (conn close), b = peer index */
    TR_PART_ON,    /* node a partitioned (b = 1) or in an EAGAIN storm (b = 0) until c */
    TR_PART_OFF,   /* node a's partition or storm over */
    TR_LOGIN,      /* client a logged in (b = my_ack, c = seq_end) */
    TR_LOGIN_FAIL, /* client a: login failed (b = errno), reason in s */
    TR_DISC,       /* node a: connection closed, reason in s */
    TR_PUSH,       /* stream a, seq b, size c */
    TR_POP,        /* stream a, seq b, size c */
    TR_ECHO_SKIP,  /* stream a: echo of b already queued, pop only */
    TR_SETTLE,     /* faults off, settle phase begins */
    TR_MISMATCH,   /* node a: sequence mismatch callback */
    TR_REJECT,     /* node a: login rejected, reason in s */
    TR_HANG,       /* node a's step went over its env-call budget (b calls), at call s */
    TR_TWIN,       /* a twin of client a started (owner b), name and directory in s */
    TR_TWIN_END,   /* the twin of client a killed, why in s */
    TR_SNAPSHOT,   /* node a's files copied (b files) */
    TR_ROLLBACK,   /* node a's storage went back: mode b (fault_rollback.c), snapshot time c, what in s */
    TR_DETECTED,   /* the pair of client s is dead: a rollback or power loss detected (b: 0 mismatch, 1 new connection, 2 a file refused) */
    TR_LIAR,       /* the liar: lie a, b = 0 told (c its number, s the name), 1 answered as owed, 2 inconclusive, 3 violation */
    TR_POWER,      /* a power loss of the host of node a (0: the server's; or every host: s begins "all"), b nodes
                    * killed, c messages whose push or pop it took back; s: "<who> <mode> n<names kept>/<back>
                    * p<pages kept>/<back> z<sizes back> g<segments gone> l<pairs lost> r<refused> s<SHM pairs reset>" */
    TR_MISCONFIG,  /* node a's start tried with one thing wrong (owner b, case c), what in s; the outcome follows as
                    * a second TR_MISCONFIG with b = the code create returned (negative, as u32; 0: created), its
                    * name in s */
    TR_DAMAGE,     /* a queue file of dead node a damaged (case b), "path: what" in s */
    TR_MISUSE,     /* node a's application misuses the API (case b), what in s */
    TR_STALL,      /* the server's group poll a (TCP group a, SHM group a - 4) is not scheduled until c */
    TR_SYSERR,     /* node a's on_system_error (the server's: a login it could not finish, a readiness call that
                    * failed), b = errno, reason in s */
    TR_IMPOSTOR,   /* the impostor and client a: lie b, c = 0 told (s its detail), 1 refused as owed, 2 inconclusive,
                    * 3 violation; s the client's reason */
    TR_CLOCK,      /* node a's clock stepped by b (c = 1: back) (the clock kind) */
    TR_CALM,       /* a calm window opens (a = 1) until step c, or closes (a = 0), the next at step c (calm.c) */
    TR_SET_FULL,   /* the server's readiness sets refuse every registration (ENOSPC) until c */
    TR_RESET,      /* a user's world: the operator reset the pair of client a (name in s) after a detected loss
                    * (b: 0 a rollback's or power loss's detection, 1 a power loss took its SHM segments) */
    TR_TYPES
} tr_type;

/* Asides: events only the sink sees (not hashed, not in the ring or the text
 * trace), numbered after the hashed types. */
enum {
    TR_ASIDE_LOGIN = 64 /* client a calls login (b = 1 over SHM) */
};

typedef struct tr_event {
    int64_t now;
    uint32_t type, a, b, c;
    const char *s; /* static or stored text (only for the ring / file) */
} tr_event;

typedef struct trace {
    uint64_t hash;
    uint64_t count;
    tr_event ring[TRACE_RING];
    char ring_text[TRACE_RING][48]; /* copies of s */
    FILE *file;                     /* every event, or NULL */
    /* An observer of every event and aside (the Chrome trace writer,
     * trace_chrome.c), or NULL; with one the text file is not written.
     * note: context the hash leaves out (e.g. the peer of a server event). */
    void (*sink)(void *user, const tr_event *e, const char *note);
    void *sink_user;
} trace;

void trace_init(trace *t, FILE *file);
void trace_event(trace *t, int64_t now, tr_type type, uint32_t a, uint32_t b, uint32_t c, const char *s);
/* trace_event with a note for the sink (not hashed, not printed). */
void trace_event_noted(trace *t, int64_t now, tr_type type, uint32_t a, uint32_t b, uint32_t c, const char *s,
                       const char *note);
/* An aside (TR_ASIDE_*): only the sink sees it; the run is the same without. */
void trace_aside(trace *t, int64_t now, uint32_t type, uint32_t a, uint32_t b, uint32_t c, const char *s);
/* Writes the last n events (oldest first), each line prefixed. */
void trace_dump_last(const trace *t, FILE *out, unsigned n, const char *prefix);
void trace_format(const tr_event *e, char *out, size_t n);

#endif
