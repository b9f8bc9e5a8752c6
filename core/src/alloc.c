#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void *tcpshm_mem_alloc(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 1) != 0)
        return NULL;
    memset(p, 0, size);
    return p;
}

void tcpshm_mem_free(void *p) { free(p); }
