/* queue_crash_demo: kills a process that is using a persistent queue, over
 * and over (SIGKILL at random moments, and the crash hook at each
 * tcpshm/crash/queue/ site), and after every death reopens the queue file
 * and checks that it holds exactly what the process had pushed. The main job
 * of the README until the simulator exists. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "kill_workload.h"
#include "tcpshm/crash_hook.h"

static const char *const sites[] = {
    "tcpshm/crash/queue/push_before_publish",    "tcpshm/crash/queue/push_after_publish",
    "tcpshm/crash/queue/compact_before_publish", "tcpshm/crash/queue/compact_after_publish",
    "tcpshm/crash/queue/ack_before_publish",     "tcpshm/crash/queue/ack_after_publish",
    "tcpshm/crash/queue/pop_before_publish",     "tcpshm/crash/queue/pop_after_publish",
    "tcpshm/crash/queue/reset_before_publish",   "tcpshm/crash/queue/reset_after_publish",
};
#define NSITES (sizeof sites / sizeof sites[0])

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--kills N] [--seed S] [--dir DIR] [--durability MODE] [--quiet]\n"
            "\n"
            "Runs a child process that pushes, sends, acknowledges and pops messages in a\n"
            "persistent queue file, kills it N times (alternating SIGKILL at a random moment\n"
            "with the crash hook at a random tcpshm/crash/queue/ site), and after each death\n"
            "reopens the file and checks it holds exactly the messages whose push returned.\n"
            "\n"
            "  --kills N   number of kills (default 200)\n"
            "  --seed S    seed of every random choice (default 1); the same seed makes the\n"
            "              same choices (SIGKILL timing still depends on the machine)\n"
            "  --dir DIR   directory for the queue file (default: a new one under /tmp,\n"
            "              removed at the end when every check passed)\n"
            "  --durability MODE  process (default) or host: the queue syncs every push\n"
            "              to stable storage (config.h); kills must find the same state\n"
            "  --quiet     no progress lines\n"
            "  -h, --help  this text\n"
            "  --version   the program's version\n"
            "\n"
            "Exit status: 0 all checks passed, 1 a check failed, 2 usage error.\n",
            prog);
}

int main(int argc, char **argv)
{
    uint64_t kills = 200, seed = 1;
    const char *dir_opt = NULL;
    int quiet = 0;
    bool host = false;
    static const struct option opts[] = {{"kills", required_argument, 0, 'k'},
                                         {"seed", required_argument, 0, 's'},
                                         {"dir", required_argument, 0, 'd'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"durability", required_argument, 0, 'D'},
                                         CLI_STD_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
        switch (c) {
        case 'k':
            if (cli_u64(argv[0], "kills", optarg, 1, 1000000, &kills))
                return 2;
            break;
        case 's':
            if (cli_u64(argv[0], "seed", optarg, 0, UINT64_MAX, &seed))
                return 2;
            break;
        case 'd': dir_opt = optarg; break;
        case 'q': quiet = 1; break;
        case 'D':
            if (strcmp(optarg, "host") != 0 && strcmp(optarg, "process") != 0)
                return cli_usage_error(argv[0], "--durability must be process or host, not '%s'", optarg);
            host = strcmp(optarg, "host") == 0;
            break;
        default: return cli_std_option(c, argv[0], usage);
        }
    }
    if (cli_no_operands(argv[0], argc, argv, optind))
        return 2;

    char dir[4096];
    if (dir_opt) {
        snprintf(dir, sizeof dir, "%s", dir_opt);
    } else {
        snprintf(dir, sizeof dir, "/tmp/tcpshm-crash-demo-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    tcpshm_ptcp_queue_config cfg = kw_config();
    cfg.host_durable = host;
    kw_progress state = {0, 0, 0, KW_NONE, 0};
    uint64_t rng = seed, ops = 0, by_signal = 0, by_site = 0, site_hits[NSITES] = {0};
    printf("queue_crash_demo: %llu kills, seed %llu, queue %s/%s_%s.ptcp (capacity %u, durability %s)\n",
           (unsigned long long)kills, (unsigned long long)seed, CLI_ESC(dir), KW_LOCAL, KW_REMOTE, cfg.capacity,
           host ? "host" : "process");
    for (uint64_t k = 0; k < kills; k++) {
        uint64_t child_seed = kw_rand(&rng);
        kw_outcome o;
        const char *how;
        char how_buf[128];
        int rc;
        if (k % 2 == 0) {
            uint32_t after = 1 + (uint32_t)(kw_rand(&rng) % 3000), delay = (uint32_t)(kw_rand(&rng) % 300);
            rc = kw_run_child(dir, &cfg, child_seed, 100000000u, NULL, 0, after, delay, &o);
            snprintf(how_buf, sizeof how_buf, "SIGKILL %u us after operation %u", delay, after);
            how = how_buf;
        } else {
            size_t s = (size_t)(kw_rand(&rng) % NSITES);
            uint32_t hit = 1 + (uint32_t)(kw_rand(&rng) % 20);
            rc = kw_run_child(dir, &cfg, child_seed, 2000000u, sites[s], hit, 0, 0, &o);
            snprintf(how_buf, sizeof how_buf, "%s, hit %u", sites[s], hit);
            how = how_buf;
            site_hits[s]++;
        }
        if (rc != 0) {
            perror("fork");
            return 1;
        }
        bool died_as_planned = (k % 2 == 0) ? (WIFSIGNALED(o.wait_status) && WTERMSIG(o.wait_status) == SIGKILL)
                                            : (WIFEXITED(o.wait_status) && WEXITSTATUS(o.wait_status) == TCPSHM_CRASH_EXIT_CODE);
        if (!died_as_planned) {
            printf("FAIL kill %llu (%s, child seed %llu): the child did not die as planned (wait status 0x%x)\n",
                   (unsigned long long)k, how, (unsigned long long)child_seed, o.wait_status);
            return 1;
        }
        (k % 2 == 0) ? by_signal++ : by_site++;
        ops += o.reports;
        char why[320];
        kw_progress now;
        if (kw_verify(dir, &cfg, &state, &o.last, o.have_last, &now, why, sizeof why) != 0) {
            printf("FAIL kill %llu (%s, child seed %llu): %s\nthe queue file is kept in %s\n",
                   (unsigned long long)k, how, (unsigned long long)child_seed, CLI_ESC(why), CLI_ESC(dir));
            return 1;
        }
        state = now;
        if (!quiet && ((k + 1) % (kills >= 10 ? kills / 10 : 1) == 0 || k + 1 == kills))
            printf("  %llu/%llu kills verified, %llu operations, queue now holds seqs [%u, %u), my_ack %u\n",
                   (unsigned long long)(k + 1), (unsigned long long)kills, (unsigned long long)ops,
                   state.seq_start, state.seq_end, state.my_ack);
        fflush(stdout);
    }
    printf("crash sites hit:");
    for (size_t s = 0; s < NSITES; s++)
        printf(" %s=%llu", sites[s] + strlen("tcpshm/crash/queue/"), (unsigned long long)site_hits[s]);
    printf("\nresult: %llu kills (%llu SIGKILL, %llu crash sites), %llu operations, every reopen consistent: PASS\n",
           (unsigned long long)kills, (unsigned long long)by_signal, (unsigned long long)by_site,
           (unsigned long long)ops);
    if (!dir_opt) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", CLI_ESC(dir));
    }
    return 0;
}
