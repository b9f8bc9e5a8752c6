/* The CPU alarm: SIGPROF from ITIMER_PROF (user + system time of the
 * process), armed around one sim_run. The handler does nothing but
 * siglongjmp to watchdog_run, which is the safe point: the run is
 * abandoned there, and only the report and the caller's exit follow. */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "watchdog.h"

static sigjmp_buf g_back;
static volatile sig_atomic_t g_armed;

static void on_alarm(int sig)
{
    (void)sig;
    if (!g_armed) /* the run ended just before: nothing to stop */
        return;
    g_armed = 0;
    siglongjmp(g_back, 1);
}

static void set_timer(double seconds)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)seconds;
    it.it_value.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
    setitimer(ITIMER_PROF, &it, NULL);
}

bool watchdog_run(const sim_params *p, sim_result *r, FILE *report, double cpu_seconds)
{
    static bool installed;
    if (cpu_seconds <= 0) {
        sim_run(p, r, report);
        return false;
    }
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPROF, &sa, NULL);
        installed = true;
    }
    if (sigsetjmp(g_back, 1) != 0) { /* the alarm fired inside sim_run */
        sim_interrupted(r, report, cpu_seconds);
        return true;
    }
    g_armed = 1;
    set_timer(cpu_seconds);
    sim_run(p, r, report);
    g_armed = 0;
    set_timer(0);
    return false;
}
