/* Crash sites of the fault library (libtcpshm_fi, TCPSHM_FAULTS): the
 * library has crash sites named tcpshm/crash/<where> at every point where a
 * kill would leave persisted state half-updated; when such a libfiu point
 * is enabled the crash hook is called. The default hook calls
 * _exit(TCPSHM_CRASH_EXIT_CODE): the process dies without cleanup, as under
 * SIGKILL, and its mapped memory stays as it is. A hook that returns makes
 * the process die by the default as well, so the simulator's hook must
 * longjmp. The release library has no crash sites and no hook. */
#ifndef TCPSHM_CRASH_HOOK_H
#define TCPSHM_CRASH_HOOK_H

#include "tcpshm/export.h"

#ifndef TCPSHM_FAULTS
#error "tcpshm/crash_hook.h belongs to the fault build: link tcpshm::tcpshm_fi (it defines TCPSHM_FAULTS)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TCPSHM_CRASH_EXIT_CODE 86
typedef void (*tcpshm_crash_hook)(const char *site, void *user);
/* NULL restores the default. Not thread-safe: set it before starting. */
TCPSHM_API void tcpshm_set_crash_hook(tcpshm_crash_hook hook, void *user);

#ifdef __cplusplus
}
#endif
#endif
