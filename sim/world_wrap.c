/* The link-time wrappers of a user's world (-Wl,--wrap=tcpshm_conn_alloc
 * and push, push_more, pop: pkg-config --libs tcpshm_sim): the user's
 * calls come here, and go to the core's function (__real_) through the
 * checker while a world runs (world.c), straight otherwise. Only a program
 * linked with --wrap pulls this file in (tcpshm-sim does not: its own
 * application calls the core directly). */
#include <stddef.h>

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

/* The last allocation: what a push of that connection pushes. */
static tcpshm_conn *g_conn;
static tcpshm_msg_header *g_msg;

tcpshm_msg_header *__wrap_tcpshm_conn_alloc(tcpshm_conn *c, uint16_t body_size)
{
    g_msg = __real_tcpshm_conn_alloc(c, body_size);
    g_conn = g_msg ? c : NULL;
    return g_msg;
}

static int push(tcpshm_conn *c, sio_push_fn real)
{
    sim *s = world_running();
    if (!s || c != g_conn)
        return real(c); /* nothing allocated: the core refuses it */
    tcpshm_msg_header *h = g_msg;
    g_conn = NULL, g_msg = NULL;
    return world_push(s, c, h, real);
}

int __wrap_tcpshm_conn_push(tcpshm_conn *c) { return push(c, __real_tcpshm_conn_push); }
int __wrap_tcpshm_conn_push_more(tcpshm_conn *c) { return push(c, __real_tcpshm_conn_push_more); }

void __wrap_tcpshm_conn_pop(tcpshm_conn *c)
{
    sim *s = world_running();
    if (!s)
        __real_tcpshm_conn_pop(c);
    else
        world_pop(s, c, __real_tcpshm_conn_pop);
}
