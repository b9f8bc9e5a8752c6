/* tcpshm-sim: the deterministic simulator's command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "sim.h"

#define DEFAULT_STEPS 3000u

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seed N | --seeds A-B] [--steps N] [--time T] [--faults LIST]\n"
            "          [--trace FILE] [--check-determinism] [--json] [--quiet]\n"
            "       %s --list-faults\n"
            "\n"
            "Runs the real tcpshm core (TCP) as one server and 1-%d clients on an in-memory\n"
            "network and disk under a virtual clock, injects faults, and checks that every\n"
            "message pushed is popped once, in order and intact (safety), and that after the\n"
            "last fault everything settles (liveness). Everything derives from the seed: the\n"
            "same seed, options and build give the same run and the same trace hash.\n"
            "\n"
            "  --seed N             run one seed (default 1)\n"
            "  --seeds A-B          run seeds A to B, print a summary table\n"
            "  --steps N            steps of the fault phase (default %u); then faults stop\n"
            "                       and the run must settle within a bounded virtual time\n"
            "  --time T             also end the fault phase at virtual time T\n"
            "  --faults LIST        swarm (default: each seed picks a subset), all, none,\n"
            "                       or a comma list of: disconnect, kill, crash, rename,\n"
            "                       short-write, short-read, io-error, eagain, partition, file\n"
            "  --trace FILE         write every event of the run to FILE (one seed)\n"
            "  --check-determinism  run each seed twice and compare the trace hashes\n"
            "  --json               print the summary as JSON on stdout\n"
            "  --quiet              no per-seed lines, no progress line\n"
            "  --stop               end a sweep at its first violation\n"
            "  --push-unrecorded    clients also push while their queue's server name is not\n"
            "                       recorded yet (shows a known core bug, see sim/README.md)\n"
            "  --list-faults        print the failure-point catalogue\n"
            "  --help               this text\n"
            "\n"
            "Exit status: 0 no violation, 1 a violation or a determinism mismatch, 2 usage.\n",
            prog, prog, 4, DEFAULT_STEPS);
}

static int usage_error(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static double cpu_seconds(void) { return (double)clock() / CLOCKS_PER_SEC; }

int main(int argc, char **argv)
{
    const char *prog = argv[0];
    uint64_t seed_a = 1, seed_b = 1, steps = DEFAULT_STEPS, tlimit = 0;
    const char *faults = "swarm", *trace_path = NULL;
    bool range = false, determinism = false, json = false, quiet = false, unrecorded = false, stop = false;
    static const struct option opts[] = {{"seed", required_argument, 0, 's'},
                                         {"seeds", required_argument, 0, 'S'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"time", required_argument, 0, 't'},
                                         {"faults", required_argument, 0, 'f'},
                                         {"trace", required_argument, 0, 'T'},
                                         {"check-determinism", no_argument, 0, 'd'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"push-unrecorded", no_argument, 0, 'u'},
                                         {"stop", no_argument, 0, 'x'},
                                         {"list-faults", no_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 's':
            if (parse_u64(optarg, &seed_a))
                return usage_error(prog, "--seed needs a number, not '%s'", optarg);
            seed_b = seed_a;
            range = false;
            break;
        case 'S': {
            const char *dash = strchr(optarg, '-');
            char a[32];
            if (!dash || (size_t)(dash - optarg) >= sizeof a)
                return usage_error(prog, "--seeds needs A-B, not '%s'", optarg);
            memcpy(a, optarg, (size_t)(dash - optarg));
            a[dash - optarg] = '\0';
            if (parse_u64(a, &seed_a) || parse_u64(dash + 1, &seed_b) || seed_b < seed_a)
                return usage_error(prog, "--seeds needs A-B with A <= B, not '%s'", optarg);
            range = true;
            break;
        }
        case 'n':
            if (parse_u64(optarg, &steps) || steps > 100000000u)
                return usage_error(prog, "--steps needs a number up to 100000000, not '%s'", optarg);
            break;
        case 't':
            if (parse_u64(optarg, &tlimit) || tlimit == 0 || tlimit > INT64_MAX / 4)
                return usage_error(prog, "--time needs a positive number, not '%s'", optarg);
            break;
        case 'f':
            faults = optarg;
            break;
        case 'T':
            trace_path = optarg;
            break;
        case 'd':
            determinism = true;
            break;
        case 'j':
            json = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'u':
            unrecorded = true;
            break;
        case 'x':
            stop = true;
            break;
        case 'l':
            for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
                printf("%-52s %s\n%-52s   at: %s\n", tcpshm_fault_catalogue[i].name,
                       tcpshm_fault_catalogue[i].effect, "", tcpshm_fault_catalogue[i].where);
            return 0;
        case 'h':
            usage(stdout, prog);
            return 0;
        default:
            return usage_error(prog, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(prog, "unexpected argument '%s'", argv[optind]);
    sim_params p = {.steps = (uint32_t)steps, .time_limit = (int64_t)tlimit, .push_unrecorded = unrecorded};
    char why[128];
    if (fp_parse_kinds(faults, &p.kinds, &p.swarm, why, sizeof why) != 0)
        return usage_error(prog, "%s", why);
    if (trace_path && (range && seed_a != seed_b))
        return usage_error(prog, "--trace takes one seed (%s)", "use --seed");
    FILE *tf = NULL;
    if (trace_path && !(tf = fopen(trace_path, "w"))) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, trace_path, strerror(errno));
        return 2;
    }

    bool tty = isatty(2) && !quiet && range;
    uint64_t nseeds = seed_b - seed_a + 1, failed = 0, nondet = 0, pushes = 0, pops = 0;
    uint64_t fired[FP_KINDS] = {0}, sweep_hash = 0xcbf29ce484222325ull, first_fail = 0;
    double t0 = cpu_seconds();
    for (uint64_t seed = seed_a;; seed++) {
        p.seed = seed;
        p.trace_file = tf;
        sim_result r;
        sim_run(&p, &r, stderr);
        bool same = true;
        if (determinism) {
            sim_params q = p;
            q.trace_file = NULL;
            sim_result r2;
            sim_run(&q, &r2, NULL);
            if (r2.hash != r.hash) {
                same = false;
                nondet++;
                fprintf(stderr, "seed %" PRIu64 ": NOT DETERMINISTIC: trace hash %016" PRIx64 " then %016" PRIx64 "\n",
                        seed, r.hash, r2.hash);
            }
        }
        pushes += r.pushes;
        pops += r.pops;
        for (int k = 0; k < FP_KINDS; k++)
            fired[k] += r.fired[k];
        sweep_hash = (sweep_hash ^ r.hash) * 0x100000001b3ull;
        char kinds[160];
        fp_kinds_text(r.kinds_on, kinds, sizeof kinds);
        if (r.violated) {
            if (!failed)
                first_fail = seed;
            failed++;
            fprintf(stderr, "  replay: %s --seed %" PRIu64 " --steps %" PRIu64 "%s%s --faults %s%s --trace trace.txt\n",
                    prog, seed, steps, tlimit ? " --time " : "", tlimit ? (snprintf(why, sizeof why, "%" PRIu64, tlimit), why) : "",
                    faults, unrecorded ? " --push-unrecorded" : "");
        }
        if ((!range || r.violated) && !quiet)
            printf("seed %" PRIu64 ": %s, trace hash %016" PRIx64 ", %" PRIu64 " pushed, %" PRIu64
                   " popped, %u clients, %u steps, t=%lld, faults: %s%s\n",
                   seed, r.violated ? (r.liveness ? "LIVENESS VIOLATION" : "SAFETY VIOLATION") : "ok", r.hash,
                   r.pushes, r.pops, r.clients, r.steps, (long long)r.vtime, kinds,
                   determinism && same ? " (run twice: same trace hash)" : "");
        if (tty)
            fprintf(stderr, "\r%" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " violations ", seed - seed_a + 1, nseeds,
                    failed);
        if (seed == seed_b || (stop && (r.violated || nondet))) {
            nseeds = seed - seed_a + 1;
            break;
        }
    }
    if (tty)
        fputc('\n', stderr);
    double cpu = cpu_seconds() - t0;
    if (tf)
        fclose(tf);
    if (json) {
        printf("{\"seeds\": %" PRIu64 ", \"first_seed\": %" PRIu64 ", \"violations\": %" PRIu64
               ", \"first_violation\": %" PRIu64 ", \"nondeterministic\": %" PRIu64 ", \"pushed\": %" PRIu64
               ", \"popped\": %" PRIu64 ", \"cpu_seconds\": %.3f, \"hash\": \"%016" PRIx64 "\", \"faults\": {",
               nseeds, seed_a, failed, failed ? first_fail : 0, nondet, pushes, pops, cpu, sweep_hash);
        for (int k = 0; k < FP_KINDS; k++)
            printf("%s\"%s\": %" PRIu64, k ? ", " : "", fp_kind_names[k], fired[k]);
        printf("}}\n");
    } else if (range) {
        printf("\n%-22s %s\n", "seeds", "");
        printf("  %-20s %" PRIu64 " (%" PRIu64 "-%" PRIu64 ")\n", "run", nseeds, seed_a, seed_b);
        printf("  %-20s %" PRIu64 "%s\n", "violations", failed, failed ? "  <-- FAIL" : "");
        if (determinism)
            printf("  %-20s %" PRIu64 "\n", "nondeterministic", nondet);
        printf("  %-20s %016" PRIx64 "\n", "sweep hash", sweep_hash);
        printf("%-22s\n", "messages");
        printf("  %-20s %" PRIu64 "\n  %-20s %" PRIu64 "\n", "pushed", pushes, "popped", pops);
        printf("%-22s\n", "faults fired");
        for (int k = 0; k < FP_KINDS; k++)
            printf("  %-20s %" PRIu64 "\n", fp_kind_names[k], fired[k]);
        printf("%-22s\n", "speed");
        printf("  %-20s %.2f\n", "cpu seconds", cpu);
        printf("  %-20s %.1f\n", "seeds / cpu-s", cpu > 0 ? (double)nseeds * (determinism ? 2 : 1) / cpu : 0.0);
        printf("  %-20s %.0f\n", "msgs / cpu-s", cpu > 0 ? (double)pops * (determinism ? 2 : 1) / cpu : 0.0);
    }
    return failed || nondet ? 1 : 0;
}
