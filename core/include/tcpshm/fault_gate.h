/* The gate in front of the fault library's libfiu points (libtcpshm_fi,
 * TCPSHM_FAULTS). Each point belongs to a family; while
 * tcpshm_fault_skip[family] is above 0, an evaluation of a point of that
 * family decrements it and does not fail, without asking libfiu (a load, a
 * branch and a store instead of libfiu's lock and hash lookup). At 0, the
 * default, every evaluation asks libfiu, as if there were no gate: a program
 * that never writes the array (fiu-run, fiu_enable in tests) sees plain
 * libfiu points. tcpshm/net/listen has no family: it always asks libfiu.
 *
 * The simulator sets a family's count to the evaluations it knows will not
 * fail (sim/plan.c) and reads back how many were made. Not thread-safe: a
 * program that writes it runs the library on one thread. */
#ifndef TCPSHM_FAULT_GATE_H
#define TCPSHM_FAULT_GATE_H

#ifndef TCPSHM_FAULTS
#error "tcpshm/fault_gate.h belongs to the fault build: link tcpshm::tcpshm_fi (it defines TCPSHM_FAULTS)"
#endif

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tcpshm_fault_family {
    TCPSHM_GATE_RESET,      /* tcpshm/net/reset */
    TCPSHM_GATE_NET,        /* tcpshm/net/send, recv, accept, connect, epoll_ctl, epoll_wait */
    TCPSHM_GATE_SEND_SHORT, /* tcpshm/net/send/short */
    TCPSHM_GATE_RECV_SHORT, /* tcpshm/net/recv/short */
    TCPSHM_GATE_FILE,       /* tcpshm/file/..., tcpshm/shm/open, tcpshm/env/boot_id */
    TCPSHM_GATE_CRASH,      /* tcpshm/crash/... */
    TCPSHM_GATE_FAMILIES
};

/* Evaluations of each family still to let pass without libfiu. */
extern uint32_t tcpshm_fault_skip[TCPSHM_GATE_FAMILIES];

#ifdef __cplusplus
}
#endif
#endif
