/* A malloc interposer: alloc_count.c defines malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc in the
 * program that links it, counts every call (all threads) and forwards to
 * the next definition (libc's, or a sanitizer's). */
#ifndef TCPSHM_BENCH_ALLOC_COUNT_H
#define TCPSHM_BENCH_ALLOC_COUNT_H

#include <stdint.h>

/* Allocation calls so far in this process. */
uint64_t alloc_count(void);

/* 0 when the interposer is compiled out: under ThreadSanitizer, whose
 * start-up calls dlsym, which would call back into it before anything is
 * set up. alloc_count() is then always 0 and means nothing. */
int alloc_count_enabled(void);

#endif
