/* The return fault kind (fault_return.h). Whether the pair of a name that
 * came back continues or starts again is decided at each login by the
 * protocol (docs/protocol.md step 5) and followed by the checker
 * (chk_login_continues, chk_pair_login): nothing is decided here. */
#include "fault_return.h"
#include "pairs.h"

void fault_return(sim *s, node *n)
{
    if (!fp_roll(&s->plan, FP_RETURN))
        return;
    if (n->gen == 0) { /* nothing to come back to yet: a second name first */
        if (n->gen + 1u < SIM_MAX_GEN)
            sim_name_switch(s, n, 1);
        return;
    }
    uint32_t k = fp_below(&s->plan, FP_RETURN, n->gen); /* any of 0..gen but the current one */
    sim_name_switch(s, n, k >= n->cur ? k + 1u : k);
}
