/* Real processes killed while they use a queue: by SIGKILL at random moments
 * and by the crash hook (_exit) at every tcpshm/crash/queue/ site. After each
 * death the file must reopen consistently, holding exactly the messages
 * whose push returned (plus at most the one in flight). */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>

#include "queue_test_util.h"
#include "tcpshm/crash_hook.h"

static char dir[256];

static void setup(void) { make_temp_dir(dir, sizeof dir); }
static void teardown(void) { remove_temp_dir(dir); }

TestSuite(ptcp_crash, .init = setup, .fini = teardown, .timeout = 300);

static void check_after_death(const tcpshm_ptcp_queue_config *cfg, kw_progress *state,
                              const kw_outcome *o, const char *what)
{
    kw_progress now;
    char why[320];
    int rc = kw_verify(dir, cfg, state, &o->last, o->have_last, &now, why, sizeof why);
    cr_assert_eq(rc, 0, "%s: %s", what, why);
    *state = now;
}

Test(ptcp_crash, sigkill_at_random_moments)
{
    const tcpshm_ptcp_queue_config cfg = kw_config();
    kw_progress state = {0, 0, 0, KW_NONE, 0};
    uint64_t rng = 20261126;
    const int rounds = 300;
    int progressed = 0;
    uint64_t reports = 0;
    for (int round = 0; round < rounds; round++) {
        uint64_t seed = kw_rand(&rng);
        uint32_t after_reports = 1 + (uint32_t)(kw_rand(&rng) % 3000);
        uint32_t delay_us = (uint32_t)(kw_rand(&rng) % 300);
        kw_outcome o;
        cr_assert_eq(kw_run_child(dir, &cfg, seed, 100000000u, NULL, 0, after_reports, delay_us, &o), 0);
        cr_assert(o.killed && WIFSIGNALED(o.wait_status) && WTERMSIG(o.wait_status) == SIGKILL,
                  "round %d: the child was to die by SIGKILL (status 0x%x)", round, o.wait_status);
        kw_progress before = state;
        char what[96];
        snprintf(what, sizeof what, "round %d (seed %llu, kill %u us after report %u)", round,
                 (unsigned long long)seed, delay_us, after_reports);
        check_after_death(&cfg, &state, &o, what);
        reports += o.reports;
        if (state.seq_end != before.seq_end || state.seq_start != before.seq_start)
            progressed++;
    }
    /* The check is only worth something if the children got work done. */
    cr_assert_geq(progressed, rounds / 2, "only %d of %d rounds changed the queue", progressed, rounds);
    cr_assert_geq(reports, 1000u, "only %llu operations ran", (unsigned long long)reports);
}

static const char *const queue_sites[] = {
    "tcpshm/crash/queue/push_before_publish",    "tcpshm/crash/queue/push_after_publish",
    "tcpshm/crash/queue/compact_before_publish", "tcpshm/crash/queue/compact_after_publish",
    "tcpshm/crash/queue/ack_before_publish",     "tcpshm/crash/queue/ack_after_publish",
    "tcpshm/crash/queue/pop_before_publish",     "tcpshm/crash/queue/pop_after_publish",
    "tcpshm/crash/queue/reset_before_publish",   "tcpshm/crash/queue/reset_after_publish",
};

Test(ptcp_crash, crash_hook_at_every_queue_site)
{
    const tcpshm_ptcp_queue_config cfg = kw_config();
    kw_progress state = {0, 0, 0, KW_NONE, 0};
    uint64_t rng = 7;
    const uint32_t hits[] = {1, 2, 5, 17, 40};
    for (size_t s = 0; s < sizeof queue_sites / sizeof queue_sites[0]; s++) {
        for (size_t h = 0; h < sizeof hits / sizeof hits[0]; h++) {
            kw_outcome o;
            uint64_t seed = kw_rand(&rng);
            cr_assert_eq(kw_run_child(dir, &cfg, seed, 400000, queue_sites[s], hits[h], 0, 0, &o), 0);
            cr_assert(WIFEXITED(o.wait_status) && WEXITSTATUS(o.wait_status) == TCPSHM_CRASH_EXIT_CODE,
                      "%s hit %u: the child should have died at the site (status 0x%x)",
                      queue_sites[s], hits[h], o.wait_status);
            char what[160];
            snprintf(what, sizeof what, "%s hit %u seed %llu", queue_sites[s], hits[h],
                     (unsigned long long)seed);
            check_after_death(&cfg, &state, &o, what);
        }
    }
}

Test(ptcp_crash, crash_while_creating_the_file)
{
    const tcpshm_ptcp_queue_config cfg = kw_config();
    kw_progress state = {0, 0, 0, KW_NONE, 0};
    kw_outcome o;
    cr_assert_eq(kw_run_child(dir, &cfg, 1, 1000, "tcpshm/crash/queue/create_before_rename", 1, 0, 0, &o), 0);
    cr_assert(WIFEXITED(o.wait_status) && WEXITSTATUS(o.wait_status) == TCPSHM_CRASH_EXIT_CODE,
              "status 0x%x", o.wait_status);
    cr_assert(!o.have_last, "the child died before it could report");
    check_after_death(&cfg, &state, &o, "after a crash inside create");
    /* and the queue works normally afterwards */
    cr_assert_eq(kw_run_child(dir, &cfg, 2, 1000, NULL, 0, 0, 0, &o), 0);
    cr_assert(WIFEXITED(o.wait_status) && WEXITSTATUS(o.wait_status) == 0, "status 0x%x", o.wait_status);
    check_after_death(&cfg, &state, &o, "after a normal run");
}
