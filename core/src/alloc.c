#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void *tcpshm_mem_alloc_unzeroed(size_t size)
{
    void *p = NULL;
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
