/* The env the simulated nodes get: it forwards every member to another
 * tcpshm_env (venv's) and counts the calls each node step makes. A step that
 * makes more than the budget is a hang (a poll spinning on env calls: EAGAIN
 * forever, a retry that never gives up); the count is deterministic, so the
 * hang replays like any other violation.
 *
 * A user's world gets one more, over the nodes' (world.c): its file calls
 * may fail (the hook `fail`) and a call that changes a file is followed by
 * a crash site (`changed`), since the core's libfiu points and crash sites
 * do not reach the user's own files. */
#ifndef TCPSHM_SIM_BUDGET_ENV_H
#define TCPSHM_SIM_BUDGET_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpshm/env.h"

/* Calls one node step may make. The largest normal step of seeds 1-5000
 * (swarm, --faults all, --transport shm) makes a few hundred: see
 * sim/README.md "Hangs" for the measurement. */
#define SIM_STEP_ENV_BUDGET 200000u

typedef struct budget_env {
    tcpshm_env env; /* what the nodes get: its ctx is this struct */
    const tcpshm_env *inner;
    uint64_t limit, calls, max_calls; /* calls per step: the budget, this step's, the largest step's */
    bool armed;                       /* counting: inside a node step */
    /* Called once when a step goes over the budget, with the member's name;
     * must not return (the simulator longjmps back to the node step). */
    void (*on_exceed)(void *user, const char *call);
    void *user;
    /* Optional (NULL: none), for the file members: before the call, an
     * errno to fail it with (0: go on); after a call that changed a file
     * (it may not return: a crash site). */
    int (*fail)(void *user, const char *call);
    void (*changed)(void *user, const char *call);
    /* Optional: before a socket is closed (the timeout rule reads what
     * waited unread in it: check_timeout.h). */
    void (*closing)(void *user, int fd);
    /* Optional: an errno that fails a registration in a readiness set now
     * (0: go on; the scheduler's full set). */
    int (*epoll_add_fails)(void *user);
} budget_env;

void budget_env_init(budget_env *b, const tcpshm_env *inner, uint64_t limit,
                     void (*on_exceed)(void *user, const char *call), void *user);
/* The hooks of a user's env (see above). */
void budget_env_set_faults(budget_env *b, int (*fail)(void *user, const char *call),
                           void (*changed)(void *user, const char *call));
/* A node step begins: the count starts at 0. */
void budget_env_begin(budget_env *b);
/* The step is over (also after a longjmp out of it): max_calls is updated. */
void budget_env_end(budget_env *b);

#endif
