/* tcpshm-bench: echo latency, streaming throughput and server scaling of
 * the library, each next to the physical floor measured in the same run
 * (floor, library, floor, library ... for --rounds rounds; medians). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_count.h"
#include "echo.h"
#include "floors.h"
#include "results.h"
#include "scaling.h"
#include "stream.h"

#define PROG "tcpshm-bench"
#define MAX_ROUNDS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " [--quick] [--rounds N] [--samples N] [--warmup N] [--msg-size B]\n"
            "                    [--stream-msgs N] [--no-stream] [--scaling-max N] [--scaling-secs S]\n"
            "                    [--cpus A,B] [--dir DIR] [--json] [--plot FILE.svg]\n"
            "\n"
            "Measures the library against the physical floor, in the same run, between two\n"
            "pinned threads: echo round trip over TCP (connection API, server thread polling\n"
            "poll_ctl + poll_tcp, client busy-polling) and over SHM, against a raw loopback TCP\n"
            "ping-pong and a raw cache-line ping-pong; one-way streaming throughput for 16, 64,\n"
            "256 and 1024-byte messages against a raw TCP stream and a memcpy-into-ring loop;\n"
            "server scaling with 1, 10, 100 and 1000 TCP clients. Floors and library runs\n"
            "interleave, round after round; the report shows medians across rounds. It also\n"
            "counts allocation calls while the library runs (expected 0).\n"
            "The table goes to stdout, progress to stderr.\n"
            "\n"
            "  --quick            short run (3 rounds, 10000 samples, 100000 stream messages or\n"
            "                     8 MiB, scaling up to 100 clients for 0.1 s): a smoke test\n"
            "  --rounds N         floor/library rounds, 1-%d (default 5)\n"
            "  --samples N        echo round trips measured per round, 100-10000000 (default 100000)\n"
            "  --warmup N         echo round trips before measuring, 0-10000000 (default 10000)\n"
            "  --msg-size B       echo message size in bytes, 8-byte header included, 16-64 (default 16)\n"
            "  --stream-msgs N    messages per streaming round, 1000-1000000000 (default 1000000;\n"
            "                     more when small messages would move less than 64 MiB)\n"
            "  --no-stream        skip the streaming rows\n"
            "  --scaling-max N    largest client count of the scaling rows: 0 (none), 1, 10, 100\n"
            "                     or 1000 (default 1000)\n"
            "  --scaling-secs S   measuring time per scaling round in seconds, 0.01-60 (default 0.5)\n"
            "  --cpus A,B         pin the two sides to CPUs A and B (default 0,1)\n"
            "  --dir DIR          where the queue files go, in a fresh subdirectory removed at the\n"
            "                     end (default /dev/shm if present, else /tmp)\n"
            "  --json             print JSON instead of the table\n"
            "  --plot FILE.svg    also draw the echo percentile curves (library and floor, both\n"
            "                     transports) into a self-contained SVG\n"
            "  --help             this text\n"
            "\n"
            "Exit status: 0 every measurement ran, 1 one failed (see stderr), 2 usage error.\n",
            MAX_ROUNDS);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '" PROG " --help'.\n");
    return 2;
}

static int parse_u64(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' || v < lo || v > hi) {
        fprintf(stderr, PROG ": --%s wants a number in [%llu, %llu], not '%s'\n", opt,
                (unsigned long long)lo, (unsigned long long)hi, arg);
        fprintf(stderr, "Try '" PROG " --help'.\n");
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_cpus(const char *arg, int *a, int *b)
{
    char *end;
    long x = strtol(arg, &end, 10);
    if (end == arg || *end != ',' || x < 0 || x > 4095)
        return -1;
    const char *s = end + 1;
    long y = strtol(s, &end, 10);
    if (end == s || *end || y < 0 || y > 4095 || x == y)
        return -1;
    *a = (int)x;
    *b = (int)y;
    return 0;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t *g_samples;

/* The echo rows: per round the cache-line floor, the SHM library (the
 * README's loop: the TCP side every ECHO_CTL_EVERY-th round; then the
 * diagnostic loop with the TCP side every round), shm_queue alone, the TCP
 * floor, the TCP library (the README's loop, then the diagnostic loop). */
static void run_echo(results *res, const char *base)
{
    const bench_opts *o = &res->opts;
    enum { TL, TF, TD, SL, SF, SD, SQ, N };
    static lat_summary sum[N][MAX_ROUNDS];
    int ok[N] = {1, 1, 1, 1, 1, 1, 1};
    char dir[512];
    for (uint32_t r = 0; r < o->rounds; r++) {
        uint64_t allocs = 0;
        progress("echo round %u/%u: cache-line floor, SHM library (TCP side polled every %uth "
                 "round), SHM library (TCP side every round), shm_queue alone, TCP floor, TCP "
                 "library (poll_ctl every %uth round), TCP library (poll_ctl every round)",
                 r + 1, o->rounds, ECHO_CTL_EVERY, ECHO_CTL_EVERY);
        for (int k = 0; k < N; k++) {
            static const int order[N] = {SF, SL, SD, SQ, TF, TL, TD};
            int w = order[k], rc;
            uint32_t every = (w == SD || w == TD) ? 1 : ECHO_CTL_EVERY;
            snprintf(dir, sizeof dir, "%s/echo-%d-%u", base, w, r);
            allocs = 0;
            switch (w) {
            case SF: rc = floor_cacheline_echo(o, o->msg_size, g_samples, o->samples, o->warmup); break;
            case TF: rc = floor_tcp_echo(o, o->msg_size, g_samples, o->samples, o->warmup); break;
            case SQ: rc = echo_shmq_run(o, o->msg_size, g_samples, o->samples, o->warmup, &allocs); break;
            case SL:
            case SD:
                rc = echo_shm_run(o, dir, o->msg_size, every, g_samples, o->samples, o->warmup, &allocs);
                break;
            default:
                rc = echo_tcp_run(o, dir, o->msg_size, every, g_samples, o->samples, o->warmup, &allocs);
                break;
            }
            res->allocs += allocs;
            if (rc != 0)
                ok[w] = 0;
            stats_summarize(g_samples, rc == 0 ? o->samples : 0, &sum[w][r]);
        }
    }
    echo_result *dst[N] = {&res->tcp_echo, NULL, &res->tcp_echo_diag, &res->shm_echo, NULL,
                           &res->shm_echo_diag, &res->shm_echo_queue};
    int floor_of[N] = {TF, TF, TF, SF, SF, SF, SF};
    for (int w = 0; w < N; w++) {
        if (!dst[w])
            continue;
        dst[w]->ok = ok[w] && ok[floor_of[w]];
        stats_median_summary(sum[w], o->rounds, &dst[w]->lib);
        stats_median_summary(sum[floor_of[w]], o->rounds, &dst[w]->floor);
        res->failures += !dst[w]->ok;
    }
}

static void run_stream(results *res, const char *base)
{
    const bench_opts *o = &res->opts;
    static const uint32_t sizes[RESULTS_NSIZES] = {16, 64, 256, 1024};
    res->nsizes = RESULTS_NSIZES;
    for (uint32_t i = 0; i < RESULTS_NSIZES; i++) {
        double tl[MAX_ROUNDS], tf[MAX_ROUNDS], sl[MAX_ROUNDS], sf[MAX_ROUNDS];
        int tcp_ok = 1, shm_ok = 1;
        uint64_t msgs = stream_msgs_for(o, sizes[i]);
        char dir[512];
        for (uint32_t r = 0; r < o->rounds; r++) {
            uint64_t allocs = 0;
            progress("stream %u B round %u/%u (%llu messages): ring floor, SHM, TCP floor, TCP "
                     "library", sizes[i], r + 1, o->rounds, (unsigned long long)msgs);
            shm_ok &= floor_ring_memcpy(o, sizes[i], msgs, STREAM_SHM_QUEUE, &sf[r]) == 0;
            snprintf(dir, sizeof dir, "%s/shm-stream-%u-%u", base, sizes[i], r);
            shm_ok &= stream_shm_run(o, dir, sizes[i], msgs, &sl[r], &allocs) == 0;
            res->allocs += allocs;
            tcp_ok &= floor_tcp_stream(o, sizes[i], msgs, &tf[r]) == 0;
            snprintf(dir, sizeof dir, "%s/tcp-stream-%u-%u", base, sizes[i], r);
            tcp_ok &= stream_tcp_run(o, dir, sizes[i], msgs, &tl[r], &allocs) == 0;
            res->allocs += allocs;
            if (!tcp_ok || !shm_ok)
                break;
        }
        stream_result *t = &res->tcp_stream[i], *s = &res->shm_stream[i];
        t->size = s->size = sizes[i];
        t->ok = tcp_ok;
        s->ok = shm_ok;
        if (tcp_ok) {
            t->lib_mps = stats_median(tl, o->rounds);
            t->floor_mps = stats_median(tf, o->rounds);
        }
        if (shm_ok) {
            s->lib_mps = stats_median(sl, o->rounds);
            s->floor_mps = stats_median(sf, o->rounds);
        }
        res->failures += !tcp_ok + !shm_ok;
    }
}

static void run_scaling(results *res, const char *base, uint32_t max_samples)
{
    const bench_opts *o = &res->opts;
    static const uint32_t counts[RESULTS_NSCALING] = {1, 10, 100, 1000};
    res->scaling_rounds = o->rounds;
    for (uint32_t i = 0; i < RESULTS_NSCALING && counts[i] <= o->scaling_max; i++) {
        scaling_round rr[MAX_ROUNDS];
        scaling_result *s = &res->scaling[res->nscaling++];
        s->clients = counts[i];
        char dir[512];
        snprintf(dir, sizeof dir, "%s/scaling-%u", base, counts[i]);
        progress("scaling: %u client%s, %u rounds of %.2f s", counts[i], counts[i] == 1 ? "" : "s",
                 o->rounds, o->scaling_secs);
        uint64_t allocs = 0;
        int rc = scaling_run(o, dir, counts[i], o->rounds, g_samples, max_samples, rr, &allocs);
        res->allocs += allocs;
        if (rc == 1) {
            s->skipped = 1;
            continue;
        }
        if (rc != 0) {
            res->failures++;
            continue;
        }
        double e[MAX_ROUNDS], p50[MAX_ROUNDS], p99[MAX_ROUNDS];
        for (uint32_t r = 0; r < o->rounds; r++) {
            e[r] = rr[r].echoes_per_s;
            p50[r] = rr[r].p50_ns;
            p99[r] = rr[r].p99_ns;
        }
        s->ok = 1;
        s->echoes_per_s = stats_median(e, o->rounds);
        s->p50_ns = stats_median(p50, o->rounds);
        s->p99_ns = stats_median(p99, o->rounds);
    }
}

int main(int argc, char **argv)
{
    results res;
    memset(&res, 0, sizeof res);
    bench_opts *o = &res.opts;
    *o = (bench_opts){.cpu_a = 0, .cpu_b = 1, .rounds = 5, .samples = 100000, .warmup = 10000,
                      .msg_size = 16, .stream_msgs = 1000000, .stream_min_bytes = 64u << 20, .scaling_secs = 0.5,
                      .scaling_max = 1000};
    struct stat st;
    o->dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    int json = 0;
    const char *plot = NULL;
    /* explicit options win over --quick, whatever their order */
    int set_rounds = 0, set_samples = 0, set_warmup = 0, set_stream = 0, set_smax = 0, set_ssecs = 0;
    uint64_t v;
    static const struct option opts[] = {
        {"quick", no_argument, 0, 'q'},          {"rounds", required_argument, 0, 'r'},
        {"samples", required_argument, 0, 'n'},  {"warmup", required_argument, 0, 'w'},
        {"msg-size", required_argument, 0, 'm'}, {"stream-msgs", required_argument, 0, 's'},
        {"no-stream", no_argument, 0, 'S'},      {"scaling-max", required_argument, 0, 'x'},
        {"scaling-secs", required_argument, 0, 't'}, {"cpus", required_argument, 0, 'c'},
        {"dir", required_argument, 0, 'd'},      {"json", no_argument, 0, 'j'},
        {"plot", required_argument, 0, 'p'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int quick = 0;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'q': quick = 1; break;
        case 'r':
            if (parse_u64("rounds", optarg, 1, MAX_ROUNDS, &v))
                return 2;
            o->rounds = (uint32_t)v, set_rounds = 1;
            break;
        case 'n':
            if (parse_u64("samples", optarg, 100, 10000000, &v))
                return 2;
            o->samples = (uint32_t)v, set_samples = 1;
            break;
        case 'w':
            if (parse_u64("warmup", optarg, 0, 10000000, &v))
                return 2;
            o->warmup = (uint32_t)v, set_warmup = 1;
            break;
        case 'm':
            if (parse_u64("msg-size", optarg, 16, 64, &v))
                return 2;
            if (v % 8)
                return usage_error("--msg-size wants a multiple of 8, not '%s'", optarg);
            o->msg_size = (uint32_t)v;
            break;
        case 's':
            if (parse_u64("stream-msgs", optarg, 1000, 1000000000, &v))
                return 2;
            o->stream_msgs = v, set_stream = 1;
            break;
        case 'S': o->no_stream = true; break;
        case 'x':
            if (parse_u64("scaling-max", optarg, 0, 1000, &v))
                return 2;
            if (v != 0 && v != 1 && v != 10 && v != 100 && v != 1000)
                return usage_error("--scaling-max wants 0, 1, 10, 100 or 1000, not '%s'", optarg);
            o->scaling_max = (uint32_t)v, set_smax = 1;
            break;
        case 't': {
            char *end;
            double d = strtod(optarg, &end);
            if (end == optarg || *end || !(d >= 0.01 && d <= 60))
                return usage_error("--scaling-secs wants seconds in [0.01, 60], not '%s'", optarg);
            o->scaling_secs = d, set_ssecs = 1;
            break;
        }
        case 'c':
            if (parse_cpus(optarg, &o->cpu_a, &o->cpu_b) != 0)
                return usage_error("--cpus wants two different CPU numbers A,B (e.g. 0,1), not '%s'",
                                   optarg);
            break;
        case 'd': o->dir = optarg; break;
        case 'j': json = 1; break;
        case 'p': plot = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            if (optopt) {
                const char *name = "?";
                for (const struct option *op = opts; op->name; op++)
                    if (op->val == optopt)
                        name = op->name;
                fprintf(stderr, PROG ": option '--%s' needs a value\n", name);
            } else
                fprintf(stderr, PROG ": unknown option or missing value: '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try '" PROG " --help'.\n");
            return 2;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (quick) {
        if (!set_rounds)
            o->rounds = 3;
        if (!set_samples)
            o->samples = 10000;
        if (!set_warmup)
            o->warmup = 1000;
        if (!set_stream) {
            o->stream_msgs = 100000;
            o->stream_min_bytes = 8u << 20;
        }
        if (!set_smax)
            o->scaling_max = 100;
        if (!set_ssecs)
            o->scaling_secs = 0.1;
    }

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 2)
        progress("only %ld CPU online: the two busy-polling sides share it, numbers mean little",
                 ncpu);
    /* both CPUs must accept a thread; then this thread stays on A */
    if (bench_pin_self(o->cpu_b) != 0 || bench_pin_self(o->cpu_a) != 0) {
        fprintf(stderr, PROG ": --cpus %d,%d: cannot run on those CPUs (see above)\n", o->cpu_a,
                o->cpu_b);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    char base[400];
    if (strlen(o->dir) > 300)
        return usage_error("--dir: '%s' is too long (300 characters at most)", o->dir);
    snprintf(base, sizeof base, "%s/tcpshm-bench-XXXXXX", o->dir);
    if (!mkdtemp(base)) {
        fprintf(stderr, PROG ": cannot create a directory in %s: %s\n", o->dir, strerror(errno));
        return 1;
    }
    uint32_t max_samples = o->samples > 1000000 ? o->samples : 1000000;
    g_samples = malloc(sizeof *g_samples * max_samples);
    if (!g_samples) {
        fprintf(stderr, PROG ": out of memory\n");
        bench_rmtree(base);
        return 1;
    }
    res.shm_layer = "connection API (login with use_shm)";
    res.allocs_setup = alloc_count();

    run_echo(&res, base);
    if (!o->no_stream)
        run_stream(&res, base);
    if (o->scaling_max)
        run_scaling(&res, base, max_samples);
    bench_rmtree(base);
    free(g_samples);
    res.allocs_other = alloc_count() - res.allocs;

    if (json)
        report_json(stdout, &res);
    else
        report_table(stdout, &res);
    fflush(stdout);
    if (plot && report_svg(plot, &res) != 0)
        return 1;
    return res.failures ? 1 : 0;
}
