/* The library contract of docs/design.md, read off the built archives with nm:
 * no output to stdout/stderr, no clock reads, no thread creation, no
 * allocation, no OS call outside the env seam (env_posix.o), and libfiu only
 * in the fault build. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAX_SYMS 4096

typedef struct sym {
    char object[64]; /* member of the archive the symbol is used in */
    char name[128];
    char type; /* nm -P type letter: U undefined, T text, ... */
} sym;

static sym syms[MAX_SYMS];
static size_t nsyms;

/* Loads every symbol of the archive, remembering which member it is in. */
static void load(const char *lib)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "nm -P -A '%s' 2>&1", lib);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run nm");
    nsyms = 0;
    char line[512];
    while (fgets(line, sizeof line, p) && nsyms < MAX_SYMS) {
        /* "lib.a[member.o]: name T 0 0" */
        char *lb = strchr(line, '['), *rb = strchr(line, ']');
        char *colon = strstr(line, ": ");
        if (!lb || !rb || !colon || rb < lb)
            continue;
        sym *s = &syms[nsyms];
        snprintf(s->object, sizeof s->object, "%.*s", (int)(rb - lb - 1), lb + 1);
        char name[128], type;
        if (sscanf(colon + 2, "%127s %c", name, &type) != 2)
            continue;
        snprintf(s->name, sizeof s->name, "%s", name);
        s->type = type;
        nsyms++;
    }
    int status = pclose(p);
    cr_assert_eq(status, 0, "nm failed on %s", lib);
    cr_assert_gt(nsyms, 20, "nm listed only %zu symbols of %s", nsyms, lib);
}

/* The member that uses `name` (undefined reference), or NULL. Versioned
 * names (name@GLIBC_x) count too. */
static const char *user_of(const char *name, const char *except_object)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < nsyms; i++) {
        if (syms[i].type != 'U' || strncmp(syms[i].name, name, n) != 0)
            continue;
        if (syms[i].name[n] != '\0' && syms[i].name[n] != '@')
            continue;
        if (except_object && strcmp(syms[i].object, except_object) == 0)
            continue;
        return syms[i].object;
    }
    return NULL;
}

static bool defines(const char *name)
{
    for (size_t i = 0; i < nsyms; i++)
        if (syms[i].type == 'T' && strcmp(syms[i].name, name) == 0)
            return true;
    return false;
}

static void forbid(const char *const *names, const char *why, const char *except_object)
{
    for (const char *const *n = names; *n; n++) {
        const char *obj = user_of(*n, except_object);
        cr_expect_null(obj, "%s uses %s (%s)", obj ? obj : "", *n, why);
    }
}

static const char *const output_fns[] = {
    "printf", "fprintf", "vprintf", "vfprintf", "dprintf", "vdprintf", "puts", "fputs",
    "putchar", "putc", "fputc", "fwrite", "perror", "stdout", "stderr", "__printf_chk",
    "__fprintf_chk", "__vfprintf_chk", "__dprintf_chk", "write", "writev", "syslog", NULL};
static const char *const clock_fns[] = {
    "clock_gettime", "gettimeofday", "time", "clock", "ftime", "times", "__clock_gettime",
    "timespec_get", NULL};
static const char *const thread_fns[] = {
    "pthread_create", "thrd_create", "clone", "clone3", "fork", "vfork", "pthread_mutex_lock",
    "mtx_lock", NULL};
/* Only alloc.c allocates (server and client create/destroy); everything
 * else is caller-provided, allocated at create, or mapped. */
static const char *const alloc_fns[] = {
    "malloc", "calloc", "realloc", "free", "strdup", "strndup", "aligned_alloc",
    "posix_memalign", "asprintf", "vasprintf", NULL};
/* Only the env seam talks to the OS. */
static const char *const os_fns[] = {
    "open", "open64", "openat", "close", "ftruncate", "ftruncate64", "fstat", "fstat64",
    "mmap", "mmap64", "munmap", "rename", "unlink", "mkdir", "socket", "bind", "listen",
    "accept", "accept4", "connect", "send", "sendto", "sendmsg", "recv", "recvfrom", "recvmsg",
    "setsockopt", "getsockopt", "getsockname", "poll", "shm_open", "shm_unlink", "read", "pread",
    "pread64", "pwrite", "pwrite64", "fcntl", "fcntl64", "flock", "getpid", NULL};

static void check_contract(const char *lib)
{
    load(lib);
    forbid(output_fns, "the library prints nothing", NULL);
    forbid(clock_fns, "the caller passes the time", NULL);
    forbid(thread_fns, "the library creates no threads and takes no locks", NULL);
    forbid(alloc_fns, "only alloc.c allocates, at create", "alloc.c.o");
    forbid(os_fns, "OS calls go through the env seam", "env_posix.c.o");
    /* Sanity: the scan sees real references (the seam does use the OS). */
    cr_assert_not_null(user_of("mmap", NULL), "nm parsing found no use of mmap at all");
    cr_assert_not_null(user_of("send", NULL), "nm parsing found no use of send at all");
}

Test(contract, release_library)
{
    check_contract(TCPSHM_RELEASE_LIB);
    cr_assert_null(user_of("fiu_fail", NULL), "the release library must not reference libfiu");
    cr_assert(defines("tcpshm_ptcp_queue_open"));
}

Test(contract, fault_library)
{
    check_contract(TCPSHM_FI_LIB);
    cr_assert_not_null(user_of("fiu_fail", NULL), "the fault build must carry the libfiu points");
}
