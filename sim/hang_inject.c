/* Test only: compiled into tcpshm-sim-hangtest (TCPSHM_SIM_HANG_TEST), never
 * into tcpshm-sim. Makes one node step spin so that sim/hangtest.sh can
 * prove a hang ends the run with a hang violation:
 *   TCPSHM_SIM_INJECT_HANG=env:SEED  client 1's first step at t >= 100 of
 *       that seed calls recv forever (a poll spinning on EAGAIN): the
 *       env-call budget stops it, deterministically;
 *   TCPSHM_SIM_INJECT_HANG=cpu:SEED  it loops without any call: only the
 *       CPU alarm (--seed-timeout) stops it. */
#include <stdlib.h>
#include <string.h>

#include "node.h"

void sim_test_hang(sim *s, node *n)
{
    static int mode = -1; /* 0 off, 1 env, 2 cpu */
    static uint64_t seed;
    if (mode < 0) {
        const char *v = getenv("TCPSHM_SIM_INJECT_HANG");
        mode = !v ? 0 : strncmp(v, "env:", 4) == 0 ? 1 : strncmp(v, "cpu:", 4) == 0 ? 2 : 0;
        if (mode)
            seed = strtoull(v + 4, NULL, 10);
    }
    if (mode == 0 || s->p->seed != seed || n->idx != 1 || s->now < 100 || s->bootstrap)
        return;
    if (mode == 1) {
        char b;
        for (;;)
            (void)s->env->recv(s->env->ctx, -1, &b, 1);
    }
    volatile uint64_t spin = 0;
    for (;;)
        spin++;
}
