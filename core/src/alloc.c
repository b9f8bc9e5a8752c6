#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fiu_local.h"

void *tcpshm_mem_alloc_unzeroed(size_t size)
{
    void *p = NULL;
    if (fiu_fail("tcpshm/mem/alloc")) /* out of memory at create */
        return NULL;
    return posix_memalign(&p, 64, size ? size : 1) == 0 ? p : NULL;
}

void *tcpshm_mem_alloc(size_t size)
{
    void *p = tcpshm_mem_alloc_unzeroed(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void tcpshm_mem_free(void *p) { free(p); }
