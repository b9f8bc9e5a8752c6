/* The return fault kind (fault_return.h). Whether the pair of a name that
 * came back continues or starts again is decided at each login by the
 * protocol (docs/protocol.md step 5) and followed by the checker
 * (chk_login_continues, chk_pair_login): nothing is decided here. */
#include "fault_return.h"
#include "pairs.h"
#include "rollback_rule.h"

void fault_return(sim *s, node *n)
{
    if (!fp_roll(&s->plan, FP_RETURN))
        return;
    if (n->gen == 0) { /* nothing to come back to yet: a second name first */
        if (n->gen + 1u < sim_max_names(s, n))
            sim_name_switch(s, n, 1);
        return;
    }
    /* any of 0..gen but the current one, and never a client name whose pair
     * a detected rollback retired: the operator renamed that client away
     * for good (rollback_rule.c), as a real one would not bring it back */
    uint32_t cand[SIM_MAX_GEN], nc = 0;
    for (uint32_t k = 0; k <= n->gen; k++) {
        char name[TCPSHM_NAME_MAX + 1];
        sim_name_of(s, n, k, name);
        if (k != n->cur && !(n->idx > 0 && rb_client_retired(s, name)))
            cand[nc++] = k;
    }
    if (nc == 0)
        return;
    /* without retired names this is the draw it always was: fp_below(gen) */
    sim_name_switch(s, n, cand[fp_below(&s->plan, FP_RETURN, nc)]);
}
