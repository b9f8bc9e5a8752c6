#include <unistd.h>

#include "crash.h"
#include "tcpshm/crash_hook.h"

static tcpshm_crash_hook crash_hook;
static void *crash_user;

void tcpshm_set_crash_hook(tcpshm_crash_hook hook, void *user)
{
    crash_hook = hook;
    crash_user = user;
}

void tcpshm_crash(const char *site)
{
    if (crash_hook)
        crash_hook(site, crash_user);
    /* Die as under SIGKILL: no atexit handlers, no flushing, mappings stay. */
    _exit(TCPSHM_CRASH_EXIT_CODE);
}
