/* Calm windows (calm.h).
 *
 * Why: with every kind on, a login fails far more often than it succeeds
 * (a file call in up to three fails, up to one login call in three reaches
 * the impostor, one restart in two is misconfigured first), so without
 * pauses a third of the --faults all seeds pushed fewer than 100 messages
 * in 3000 steps and a tenth none: their faults met idle connections. A
 * window of 40-200 steps without faults lets the pairs log in and fill
 * their queues, and the faults after it meet traffic in flight. Half the
 * seeds have none, so dense faults are still run as they were. */
#include "calm.h"
#include "plan.h"
#include "trace.h"

void calm_init(sim *s)
{
    s->calm.rng = sim_rng_make(s->p->seed, 9);
    s->calm.on = sim_rng_below(&s->calm.rng, 2) == 0;
    s->calm.now = false;
    s->calm.until = 0;
    s->calm.next = 100u + sim_rng_below(&s->calm.rng, 400);
}

bool calm_step(sim *s)
{
    if (!s->calm.on)
        return false;
    if (!s->calm.now && s->step >= s->calm.next) {
        s->calm.now = true;
        s->calm.until = s->step + 40u + sim_rng_below(&s->calm.rng, 160);
        s->calm.next = s->calm.until + 100u + sim_rng_below(&s->calm.rng, 400);
        fp_set_active(&s->plan, false);
        trace_event(&s->tr, s->now, TR_CALM, 1, 0, s->calm.until, NULL);
    } else if (s->calm.now && s->step >= s->calm.until) {
        s->calm.now = false;
        fp_set_active(&s->plan, true);
        trace_event(&s->tr, s->now, TR_CALM, 0, 0, s->calm.next, NULL);
    }
    return s->calm.now;
}
