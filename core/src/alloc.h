/* The library's only allocation: server and client create/destroy. Kept in
 * one object so tests/test_contract.c can check no other code allocates. */
#ifndef TCPSHM_ALLOC_H
#define TCPSHM_ALLOC_H

#include <stddef.h>

/* Zeroed, 64-byte aligned memory, or NULL. */
void *tcpshm_mem_alloc(size_t size);
/* The same, not zeroed: for receive buffers, whose bytes are only read
 * after a recv wrote them (the frame parser reads [head, tail) only).
 * Zeroing them was a tenth of the simulator's time: every server restart
 * allocates one per slot. */
void *tcpshm_mem_alloc_unzeroed(size_t size);
void tcpshm_mem_free(void *p);

#endif
