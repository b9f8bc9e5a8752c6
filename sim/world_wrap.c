/* The link-time wrappers of a world (-Wl,--wrap=tcpshm_conn_alloc and
 * push, push_more, pop: pkg-config --libs tcpshm_sim; tcpshm-sim's own
 * programs are linked the same way): the application's calls come here,
 * and go to the core's function (__real_) through the checker while a
 * world runs (world.c), straight otherwise. */
#include <stddef.h>
#include <string.h>

#include "fault_rollback.h"
#include "world.h"

const int tcpshm_sim_wrapped = 1; /* world.c: the wrappers are linked */

tcpshm_msg_header *__real_tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size);
int __real_tcpshm_conn_push(tcpshm_conn *c);
int __real_tcpshm_conn_push_more(tcpshm_conn *c);
void __real_tcpshm_conn_pop(tcpshm_conn *c);
tcpshm_msg_header *__wrap_tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size);
int __wrap_tcpshm_conn_push(tcpshm_conn *c);
int __wrap_tcpshm_conn_push_more(tcpshm_conn *c);
void __wrap_tcpshm_conn_pop(tcpshm_conn *c);

/* The allocations not pushed yet, per connection, each with the process
 * (venv owner) that made it: a connection of a later process may have the
 * same address. A few live connections at a time; a full table reuses
 * slot 0 (its push then goes unchecked and the checker says so at the pop). */
typedef struct alloc_rec {
    tcpshm_conn *conn;
    tcpshm_msg_header *msg;
    uint32_t owner;
    uint32_t kind, answers; /* the user's mark (tcpshm_sim_request, _answer): 0, or WL_REQUEST / WL_ECHO */
} alloc_rec;
static alloc_rec g_allocs[64];

static uint32_t owner_now(void)
{
    sim *s = world_running();
    return s && s->stepping ? s->stepping->owner : 0;
}

static alloc_rec *find(const tcpshm_conn *c)
{
    for (size_t i = 0; i < sizeof g_allocs / sizeof g_allocs[0]; i++)
        if (g_allocs[i].conn == c)
            return &g_allocs[i];
    return NULL;
}

void world_wrap_forget(void) { memset(g_allocs, 0, sizeof g_allocs); }

bool world_wrap_holds(const tcpshm_conn *c)
{
    const alloc_rec *r = c ? find(c) : NULL;
    return r && r->owner == owner_now();
}

bool world_wrap_mark(const tcpshm_conn *c, uint32_t kind, uint32_t answers)
{
    alloc_rec *r = c ? find(c) : NULL;
    if (!r || r->owner != owner_now())
        return false;
    r->kind = kind, r->answers = answers;
    return true;
}

/* The simulator's own misuse calls (fault_misuse.c) are not the user's:
 * straight to the core, unrecorded. */
static bool misusing(void)
{
    sim *s = world_running();
    return s && s->misusing;
}

tcpshm_msg_header *__wrap_tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size)
{
    tcpshm_msg_header *h = __real_tcpshm_conn_alloc(c, body_size);
    if (!c || misusing())
        return h;
    alloc_rec *r = find(c);
    if (!r)
        r = find(NULL);
    if (!r)
        r = &g_allocs[0];
    *r = h ? (alloc_rec){c, h, owner_now(), 0, 0} : (alloc_rec){NULL, NULL, 0, 0, 0};
    return h;
}

static int push(tcpshm_conn *c, sio_push_fn real, bool batched)
{
    sim *s = world_running();
    if (misusing())
        return real(c);
    alloc_rec *r = c ? find(c) : NULL;
    if (!r)
        return real(c); /* nothing allocated: the core refuses it */
    alloc_rec a = *r;
    *r = (alloc_rec){NULL, NULL, 0, 0, 0};
    if (!s || a.owner != owner_now())
        return real(c); /* another process's allocation: the core refuses it */
    return world_push(s, c, a.msg, a.kind, a.answers, real, batched);
}

int __wrap_tcpshm_conn_push(tcpshm_conn *c) { return push(c, __real_tcpshm_conn_push, false); }
/* A batch the rollback model does not follow is pushed whole
 * (rb_batches_followed), as tcpshm-sim's own clients push then. */
int __wrap_tcpshm_conn_push_more(tcpshm_conn *c)
{
    sim *s = world_running();
    if (s && !rb_batches_followed(s))
        return push(c, __real_tcpshm_conn_push, false);
    return push(c, __real_tcpshm_conn_push_more, true);
}

void __wrap_tcpshm_conn_pop(tcpshm_conn *c)
{
    sim *s = world_running();
    if (!s)
        __real_tcpshm_conn_pop(c);
    else
        world_pop(s, c, __real_tcpshm_conn_pop);
}
