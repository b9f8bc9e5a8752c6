/* The echo test bed: echo_server and echo_client as real processes on
 * 127.0.0.1, started, SIGKILLed and restarted, optionally under fiu-run.
 * Used by the kill_loop program (tests/kill_loop.c); test_echo_kill runs
 * kill_loop as a process. Plain C, no Criterion: a failure prints the
 * reason, the tails of the logs and the replay command, keeps the
 * directory and exits 1. */
#ifndef TCPSHM_TESTS_ECHO_BED_H
#define TCPSHM_TESTS_ECHO_BED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BED_MAX_FIU 8

typedef struct bed {
    /* set by the caller before bed_start */
    const char *server_bin, *client_bin;
    const char *replay;      /* the command line that repeats this run */
    uint64_t count;          /* messages per client run */
    uint32_t max_size;
    uint64_t rng;            /* the schedule's PRNG state (from the seed) */
    bool shm;                /* pass the SHM option to both programs */
    const char *fiu_cmds[BED_MAX_FIU]; /* run both under fiu-run -x with these -c commands */
    int nfiu;
    bool fiu_no_x;           /* fiu-run without -x (libfiu's POSIX wrappers crash ASan builds) */
    bool keep;               /* keep the directory after a pass too */
    bool verbose;            /* log every kill */

    /* state */
    char dir[256];
    char srv_dir[300], cl_dir[300], srv_log[300], cl_out[300], cl_err[300];
    char srv_name[32], cl_name[32];
    char tag[16];            /* in every client name of the run; its SHM segments are removed at the end */
    char port_s[16], count_s[32], seed_s[32], max_size_s[16];
    const char *srv_shm_opt[3]; /* what the server gets for --shm */
    uint16_t port;
    pid_t srv, cl;           /* 0: not running */
    int slow;                /* 1, or a factor for sleeps and waits under Valgrind */
    uint32_t kill_pct;       /* how often a kill event really kills */
    int kills, srv_kills, cl_kills, both_kills, srv_crashes, cl_crashes;
    bool cl_done;            /* the client exited 0 */
    long cl_out_from, cl_err_from; /* where the current client's output starts */
    int64_t t0;
} bed;

int64_t bed_now_ms(void);
void bed_msleep(uint32_t ms);
uint32_t bed_rnd_in(bed *b, uint32_t lo, uint32_t hi); /* uniform in [lo, hi] */

void bed_fail(bed *b, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Makes the directory, picks a port, starts the server (named srv_name) and
 * a client named cl_name. */
void bed_start(bed *b, const char *srv_name, const char *cl_name);

/* Waits 1-60 ms, then SIGKILLs the server, the client or both (only the
 * server once the client is done; kill_pct percent of the time), waits
 * 0-30 ms and restarts whatever is down. Returns true if it killed. */
bool bed_random_kill(bed *b);

/* SIGKILLs the server (and the client when with_client) and restarts the
 * server under new_name. */
void bed_rename_server(bed *b, const char *new_name, bool with_client);

/* Waits (restarting what dies) until the running client has logged in to
 * the server under its current name, or has finished. */
void bed_wait_login(bed *b, int seconds);

/* Starts a new client run under another name (after the last one finished). */
void bed_new_client(bed *b, const char *cl_name);

/* Waits for the client to exit 0 (restarting what dies at crash sites) and
 * checks it printed "done sent=N received=N". */
void bed_wait_done(bed *b, int seconds);

/* Reads the whole client stdout (at most cap-1 bytes). */
void bed_client_stdout(const bed *b, char *buf, size_t cap);
/* The last "logged in to server NAME" of the client's stderr from offset on, "" if none. */
void bed_last_login(const bed *b, long from, char *name, size_t cap);
long bed_file_size(const char *path);

/* Restarts the finished client once more (it must say done again without
 * failure points), stops the server with SIGTERM (exit 0 expected), removes
 * the directory unless keep. */
void bed_finish(bed *b);

#endif
