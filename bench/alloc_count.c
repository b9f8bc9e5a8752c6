/* The counting malloc interposer (see alloc_count.h). The program's own
 * definitions win over libc's for every caller, the library and libc
 * included; the real functions come from dlsym(RTLD_NEXT). dlsym itself may
 * allocate before they are known: those calls get a small static arena. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc_count.h"

#if defined(__SANITIZE_THREAD__)
#define ALLOC_COUNT_OFF 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ALLOC_COUNT_OFF 1
#endif
#endif

#ifdef ALLOC_COUNT_OFF
uint64_t alloc_count(void) { return 0; }
int alloc_count_enabled(void) { return 0; }
#else
int alloc_count_enabled(void) { return 1; }

static uint64_t g_count;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* bootstrap arena for allocations made while resolving the real functions */
static _Alignas(64) unsigned char arena[16384];
static size_t arena_used;
static int resolving;

static int in_arena(const void *p)
{
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}

static void *arena_alloc(size_t n)
{
    size_t a = (arena_used + 63) & ~(size_t)63;
    if (a + n > sizeof arena)
        return NULL;
    arena_used = a + n;
    return arena + a;
}

/* ISO C forbids converting void * to function pointers; copy the bits. */
#define RESOLVE(var, name)                                                                    \
    do {                                                                                      \
        void *sym_ = dlsym(RTLD_NEXT, name);                                                  \
        memcpy(&(var), &sym_, sizeof sym_);                                                   \
    } while (0)

static void resolve(void)
{
    if (real_malloc || resolving)
        return;
    resolving = 1;
    RESOLVE(real_calloc, "calloc");
    RESOLVE(real_realloc, "realloc");
    RESOLVE(real_free, "free");
    RESOLVE(real_posix_memalign, "posix_memalign");
    RESOLVE(real_aligned_alloc, "aligned_alloc");
    RESOLVE(real_memalign, "memalign");
    RESOLVE(real_valloc, "valloc");
    RESOLVE(real_pvalloc, "pvalloc");
    RESOLVE(real_malloc, "malloc");
    resolving = 0;
}

static void count(void) { __atomic_fetch_add(&g_count, 1, __ATOMIC_RELAXED); }

uint64_t alloc_count(void) { return __atomic_load_n(&g_count, __ATOMIC_RELAXED); }

void *malloc(size_t n);
void *calloc(size_t k, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
void *memalign(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc)
        return arena_alloc(n);
    count();
    return real_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    resolve();
    if (!real_calloc) {
        if (n && k > SIZE_MAX / n)
            return NULL;
        return arena_alloc(k * n); /* static: already zero */
    }
    count();
    return real_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (in_arena(p) || !real_realloc) {
        void *q = malloc(n);
        if (q && p) {
            size_t room = (size_t)(arena + sizeof arena - (unsigned char *)p);
            memcpy(q, p, n < room ? n : room);
        }
        return q;
    }
    count();
    return real_realloc(p, n);
}

void free(void *p)
{
    if (!p || in_arena(p))
        return;
    resolve();
    if (real_free)
        real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    resolve();
    if (!real_posix_memalign)
        return ENOMEM;
    count();
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    resolve();
    if (!real_aligned_alloc)
        return NULL;
    count();
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    resolve();
    if (!real_memalign)
        return NULL;
    count();
    return real_memalign(align, n);
}

void *valloc(size_t n)
{
    resolve();
    if (!real_valloc)
        return NULL;
    count();
    return real_valloc(n);
}

void *pvalloc(size_t n)
{
    resolve();
    if (!real_pvalloc)
        return NULL;
    count();
    return real_pvalloc(n);
}
#endif
