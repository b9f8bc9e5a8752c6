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
#include "cli.h"
#include "escape.h"
#include "fleet.h"
#include "fleet_floor.h"
#include "echo.h"
#include "floors.h"
#include "results.h"
#include "scaling.h"
#include "stream.h"

#include "durability.h"

#define PROG "tcpshm-bench"
#define MAX_ROUNDS 64

static void usage(FILE *out, const char *prog)
{
    (void)prog; /* the usage names it tcpshm-bench */
    fprintf(out,
            "usage: " PROG " [--quick] [--rounds N] [--samples N] [--warmup N] [--msg-size B]\n"
            "                    [--stream-msgs N] [--no-stream] [--scaling-max N] [--scaling-secs S]\n"
            "                    [--idle-max N] [--fleet-threads N]\n"
            "                    [--cpus A,B] [--dir DIR] [--json] [--plot FILE.svg]\n"
            "       " PROG " --durability N [--dir DIR] [--json]\n"
            "\n"
            "Measures the library against the physical floor, in the same run, between two\n"
            "pinned threads: echo round trip over TCP and over SHM (connection API; the control\n"
            "plane every 64th round), against a raw loopback TCP ping-pong and a raw cache-line\n"
            "ping-pong, each with and without a pause in every spin, plus the loop from README;\n"
            "one-way streaming throughput for 16, 64, 256 and 1024-byte messages against a raw\n"
            "TCP stream and a two-thread ring; server scaling with 1, 10, 100 and 1000 TCP\n"
            "clients all echoing (against as many raw socket pairs), and with 1000 and 10000\n"
            "connected of which 10 echo. Floors and library runs interleave, round after round; the report shows\n"
            "medians across rounds. It also counts allocation calls while the library runs\n"
            "(expected 0).\n"
            "The table goes to stdout, progress to stderr.\n"
            "\n"
            "  --quick            short run (3 rounds, 10000 samples, 100000 stream messages or\n"
            "                     8 MiB, scaling up to 100 clients, idle scaling up to 1000, for\n"
            "                     0.1 s): a smoke test\n"
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
            "  --idle-max N       largest connected count of the idle-scaling rows (10 clients\n"
            "                     echo, the rest idle in child processes): 0 (none), 1000 or\n"
            "                     10000 (default 10000)\n"
            "  --fleet-threads N  threads driving the all-active scaling rows' clients: 1 (this\n"
            "                     thread, on CPU A) or 2 (and one on CPU B beside the server\n"
            "                     thread, sleeping in epoll_wait; default 2)\n"
            "  --cpus A,B         pin the two sides to CPUs A and B (default 0,1)\n"
            "  --dir DIR          where the queue files go, in a fresh subdirectory removed at the\n"
            "                     end (default /dev/shm if present, else /tmp)\n"
            "  --json             print JSON instead of the table\n"
            "  --plot FILE.svg    also draw the echo percentile curves (library and floor, both\n"
            "                     transports) into a self-contained SVG\n"
            "  --durability N     instead of all that: what durability \"host\" costs, N samples\n"
            "                     per row (100-100000): push latency and streaming (push each,\n"
            "                     push_more group commit) of a queue file in --dir, alone and\n"
            "                     over a loopback TCP connection of the library, host against\n"
            "                     process mode and against bare msync / fdatasync on the same\n"
            "                     file system (use a real disk directory: tmpfs syncs are free)\n"
            "  -h, --help         this text\n"
            "  --version          the program's version\n"
            "\n"
            "Exit status: 0 every measurement ran, 1 one failed (see stderr), 2 usage error.\n",
            MAX_ROUNDS);
}

/* argv[0], as getopt names the program in its complaints */
static const char *g_prog = PROG;

static int usage_error(const char *fmt, const char *arg) { return cli_usage_error(g_prog, fmt, CLI_ESC(arg)); }

static int parse_u64(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *out)
{
    return cli_u64(g_prog, opt, arg, lo, hi, out);
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

/* The two spin disciplines: options copied with spin_pause set or not. */
static bench_opts with_pause(const bench_opts *o, bool pause)
{
    bench_opts c = *o;
    c.spin_pause = pause;
    return c;
}

static void echo_result_set(echo_result *dst, const lat_summary *lib, int lib_ok, int lib_pause,
                            const lat_summary *fl, int fl_ok, int fl_pause)
{
    dst->ok = lib_ok && fl_ok;
    dst->lib = *lib;
    dst->floor = *fl;
    dst->lib_pause = lib_pause;
    dst->floor_pause = fl_pause;
}

/* The echo rows. Per round and transport (SHM first): the floor and the
 * bench's loop with a pause in every spin, the same without, the loop from
 * README, the control plane every round; over SHM also shm_queue alone. */
enum { E_FP, E_LP, E_FN, E_LN, E_README, E_CTL, E_QUEUE, E_N };

static int echo_one(const bench_opts *o, bool shm, int w, const char *dir, uint64_t *allocs)
{
    bench_opts p = with_pause(o, w == E_FP || w == E_LP);
    lib_loop lean = lib_loop_lean(&p);
    switch (w) {
    case E_FP:
    case E_FN:
        return shm ? floor_cacheline_echo(&p, o->msg_size, g_samples, o->samples, o->warmup)
                   : floor_tcp_echo(&p, o->msg_size, g_samples, o->samples, o->warmup);
    case E_QUEUE: return echo_shmq_run(&p, o->msg_size, g_samples, o->samples, o->warmup, allocs);
    case E_README:
        return echo_lib_run(&p, dir, shm, &lib_loop_readme, o->msg_size, g_samples, o->samples,
                            o->warmup, allocs);
    case E_CTL:
        return echo_lib_run(&p, dir, shm, &lib_loop_ctl_every_round, o->msg_size, g_samples,
                            o->samples, o->warmup, allocs);
    default:
        return echo_lib_run(&p, dir, shm, &lean, o->msg_size, g_samples, o->samples, o->warmup,
                            allocs);
    }
}

static void run_echo(results *res, const char *base)
{
    const bench_opts *o = &res->opts;
    static lat_summary sum[2][E_N][MAX_ROUNDS];
    int ok[2][E_N];
    for (int t = 0; t < 2; t++)
        for (int w = 0; w < E_N; w++)
            ok[t][w] = 1;
    char dir[512];
    for (uint32_t r = 0; r < o->rounds; r++) {
        for (int t = 0; t < 2; t++) {
            bool shm = t == 0; /* SHM first, as before */
            int ti = shm ? 1 : 0;
            progress("echo round %u/%u, %s: floor and library with pause, floor and library "
                     "without, the loop from README, the control plane every round%s",
                     r + 1, o->rounds, shm ? "SHM" : "TCP", shm ? ", shm_queue alone" : "");
            for (int w = 0; w < E_N; w++) {
                if (w == E_QUEUE && !shm)
                    continue;
                uint64_t allocs = 0;
                snprintf(dir, sizeof dir, "%s/echo-%d-%d-%u", base, ti, w, r);
                int rc = echo_one(o, shm, w, dir, &allocs);
                res->allocs += allocs;
                if (rc != 0)
                    ok[ti][w] = 0;
                stats_summarize(g_samples, rc == 0 ? o->samples : 0, &sum[ti][w][r]);
            }
        }
    }
    for (int ti = 0; ti < 2; ti++) {
        lat_summary m[E_N];
        for (int w = 0; w < E_N; w++)
            stats_median_summary(sum[ti][w], o->rounds, &m[w]);
        echo_set *set = ti ? &res->shm_echo : &res->tcp_echo;
        const int *k = ok[ti];
        echo_result_set(&set->pause, &m[E_LP], k[E_LP], 1, &m[E_FP], k[E_FP], 1);
        echo_result_set(&set->nopause, &m[E_LN], k[E_LN], 0, &m[E_FN], k[E_FN], 0);
        /* the lower floor and the faster library loop, each by its p50 */
        int fl = !k[E_FN] || (k[E_FP] && m[E_FP].ns[STATS_P50] <= m[E_FN].ns[STATS_P50]) ? E_FP : E_FN;
        int lb = !k[E_LN] || (k[E_LP] && m[E_LP].ns[STATS_P50] <= m[E_LN].ns[STATS_P50]) ? E_LP : E_LN;
        echo_result_set(&set->best, &m[lb], k[lb], lb == E_LP, &m[fl], k[fl], fl == E_FP);
        echo_result_set(&set->readme, &m[E_README], k[E_README], 0, &m[fl], k[fl], fl == E_FP);
        echo_result_set(&set->ctl_every_round, &m[E_CTL], k[E_CTL], 0, &m[fl], k[fl], fl == E_FP);
        res->failures += !set->pause.ok + !set->nopause.ok + !set->readme.ok +
                         !set->ctl_every_round.ok;
        if (ti) {
            echo_result_set(&res->shm_echo_queue, &m[E_QUEUE], k[E_QUEUE], 0, &m[fl], k[fl],
                            fl == E_FP);
            res->failures += !res->shm_echo_queue.ok;
        }
    }
}

/* The stream rows. Per size and round, TCP then SHM: the floor and the
 * bench's loop with a pause in every spin, the same without, the loop from
 * README, the control plane every round (the loop these rows used before)
 * and over SHM the one-thread memcpy reference. */
static void run_stream(results *res, const char *base)
{
    const bench_opts *o = &res->opts;
    static const uint32_t sizes[RESULTS_NSIZES] = {16, 64, 256, 1024};
    res->nsizes = RESULTS_NSIZES;
    for (uint32_t i = 0; i < RESULTS_NSIZES; i++) {
        enum { S_FP, S_LP, S_FN, S_LN, S_README, S_CTL, S_MEMCPY, S_N };
        double v[2][S_N][MAX_ROUNDS];
        int ok[2] = {1, 1};
        uint64_t msgs = stream_msgs_for(o, sizes[i]);
        char dir[512];
        for (uint32_t r = 0; r < o->rounds && ok[0] && ok[1]; r++) {
            progress("stream %u B round %u/%u (%llu messages): TCP, then SHM: floor and library "
                     "with pause, without, the loop from README, the control plane every round; SHM memcpy "
                     "reference",
                     sizes[i], r + 1, o->rounds, (unsigned long long)msgs);
            for (int t = 0; t < 2; t++) {
                bool shm = t == 1;
                for (int w = 0; w < S_N; w++) {
                    if (w == S_MEMCPY && !shm)
                        continue;
                    bench_opts p = with_pause(o, w == S_FP || w == S_LP);
                    lib_loop loop = w == S_README ? lib_loop_readme
                                    : w == S_CTL  ? lib_loop_ctl_every_round
                                                  : lib_loop_lean(&p);
                    uint64_t allocs = 0;
                    double *out = &v[t][w][r];
                    int rc;
                    snprintf(dir, sizeof dir, "%s/stream-%d-%u-%d-%u", base, t, sizes[i], w, r);
                    if (w == S_MEMCPY)
                        rc = floor_ring_memcpy(&p, sizes[i], msgs, STREAM_SHM_QUEUE, out);
                    else if (w == S_FP || w == S_FN)
                        rc = shm ? floor_ring_2thread(&p, sizes[i], msgs, STREAM_SHM_QUEUE, out)
                                 : floor_tcp_stream(&p, sizes[i], msgs, out);
                    else
                        rc = shm ? stream_shm_run(&p, dir, &loop, sizes[i], msgs, out, &allocs)
                                 : stream_tcp_run(&p, dir, &loop, sizes[i], msgs, out, &allocs);
                    res->allocs += allocs;
                    ok[t] &= rc == 0;
                }
            }
        }
        for (int t = 0; t < 2; t++) {
            stream_result *s = t ? &res->shm_stream[i] : &res->tcp_stream[i];
            s->size = sizes[i];
            s->ok = ok[t];
            res->failures += !ok[t];
            if (!ok[t])
                continue;
            s->floor_pause = stats_median(v[t][S_FP], o->rounds);
            s->lib_pause = stats_median(v[t][S_LP], o->rounds);
            s->floor_nopause = stats_median(v[t][S_FN], o->rounds);
            s->lib_nopause = stats_median(v[t][S_LN], o->rounds);
            s->readme = stats_median(v[t][S_README], o->rounds);
            s->ctl_every_round = stats_median(v[t][S_CTL], o->rounds);
            s->memcpy_1thread = t ? stats_median(v[t][S_MEMCPY], o->rounds) : 0;
        }
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
        /* the floor first (its own threads, ended before the library's start) */
        double fl[MAX_ROUNDS];
        if (fleet_raise_fds((uint64_t)counts[i] * 2 + 64, "the scaling floor") == 0 &&
            fleet_floor_run(o, counts[i], o->rounds, fl) == 0)
            s->floor_echoes_per_s = stats_median(fl, o->rounds);
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

static void run_idle_one(const bench_opts *o, results *res, idle_result *r, const char *base,
                         uint32_t connected, uint32_t active, uint32_t max_samples)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/idle-%u", base, connected);
    progress("idle scaling: %u connected, %u active, %u rounds of %.2f s", connected, active, o->rounds,
             o->scaling_secs);
    r->connected = connected;
    r->active = active;
    uint64_t allocs = 0;
    int rc = idle_scaling_run(o, dir, connected, active, o->rounds, g_samples, max_samples, &r->p50_ns, &allocs);
    res->allocs += allocs;
    if (rc == 1)
        r->skipped = 1;
    else if (rc != 0)
        res->failures++;
    else
        r->ok = 1;
}

/* The baseline (1 client), then 1000 and 10000 connected with 10 active. */
static void run_idle_scaling(results *res, const char *base, uint32_t max_samples)
{
    const bench_opts *o = &res->opts;
    static const uint32_t counts[RESULTS_NIDLE] = {1000, 10000};
    res->scaling_rounds = o->rounds;
    run_idle_one(o, res, &res->idle_one, base, 1, 1, max_samples);
    for (uint32_t i = 0; i < RESULTS_NIDLE && counts[i] <= o->idle_max; i++)
        run_idle_one(o, res, &res->idle[res->nidle++], base, counts[i], IDLE_ACTIVE, max_samples);
}

int main(int argc, char **argv)
{
    g_prog = argv[0];
    results res;
    memset(&res, 0, sizeof res);
    bench_opts *o = &res.opts;
    *o = (bench_opts){.cpu_a = 0, .cpu_b = 1, .rounds = 5, .samples = 100000, .warmup = 10000,
                      .msg_size = 16, .stream_msgs = 1000000, .stream_min_bytes = 64u << 20, .scaling_secs = 0.5,
                      .scaling_max = 1000, .idle_max = 10000, .fleet_threads = 2};
    struct stat st;
    o->dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    int json = 0;
    const char *plot = NULL;
    /* explicit options win over --quick, whatever their order */
    int set_rounds = 0, set_samples = 0, set_warmup = 0, set_stream = 0, set_smax = 0, set_ssecs = 0,
        set_imax = 0;
    uint64_t v;
    static const struct option opts[] = {
        {"quick", no_argument, 0, 'q'},          {"rounds", required_argument, 0, 'r'},
        {"samples", required_argument, 0, 'n'},  {"warmup", required_argument, 0, 'w'},
        {"msg-size", required_argument, 0, 'm'}, {"stream-msgs", required_argument, 0, 's'},
        {"no-stream", no_argument, 0, 'S'},      {"scaling-max", required_argument, 0, 'x'},
        {"scaling-secs", required_argument, 0, 't'}, {"cpus", required_argument, 0, 'c'},
        {"dir", required_argument, 0, 'd'},      {"json", no_argument, 0, 'j'},
        {"plot", required_argument, 0, 'p'},     CLI_STD_LONG_OPTIONS,
        {"durability", required_argument, 0, 'D'}, {"idle-max", required_argument, 0, 'I'},
        {"fleet-threads", required_argument, 0, 'F'},
        {0, 0, 0, 0}};
    int quick = 0;
    uint32_t dur_n = 0;
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, opts, NULL)) != -1;) {
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
        case 'I':
            if (parse_u64("idle-max", optarg, 0, 10000, &v))
                return 2;
            if (v != 0 && v != 1000 && v != 10000)
                return usage_error("--idle-max wants 0, 1000 or 10000, not '%s'", optarg);
            o->idle_max = (uint32_t)v, set_imax = 1;
            break;
        case 'F':
            if (parse_u64("fleet-threads", optarg, 1, SCALING_PARTS_MAX, &v))
                return 2;
            o->fleet_threads = (uint32_t)v;
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
        case 'D':
            if (parse_u64("durability", optarg, 100, 100000, &v))
                return 2;
            dur_n = (uint32_t)v;
            break;
        case 'j': json = 1; break;
        case 'p': plot = optarg; break;
        default: return cli_std_option(c, g_prog, usage);
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
        if (!set_imax)
            o->idle_max = 1000;
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
    if (dur_n) {
        int drc = durability_run(o, base, dur_n, json, stdout);
        bench_rmtree(base);
        return drc ? 1 : 0;
    }
    uint32_t max_samples = o->samples > 1000000 ? o->samples : 1000000;
    g_samples = malloc(sizeof *g_samples * max_samples);
    if (!g_samples) {
        fprintf(stderr, PROG ": out of memory\n");
        bench_rmtree(base);
        return 1;
    }
    res.shm_layer = "connection API (login with use_shm)";
    context_fill(&res.ctx);
    res.allocs_setup = alloc_count();

    run_echo(&res, base);
    if (!o->no_stream)
        run_stream(&res, base);
    if (o->scaling_max)
        run_scaling(&res, base, max_samples);
    if (o->idle_max)
        run_idle_scaling(&res, base, max_samples);
    bench_rmtree(base);
    free(g_samples);
    res.allocs_other = alloc_count() - res.allocs;
    res.ctx.load1_end = context_load1();

    if (json)
        report_json(stdout, &res);
    else
        report_table(stdout, &res);
    fflush(stdout);
    if (plot && report_svg(plot, &res) != 0)
        return 1;
    return res.failures ? 1 : 0;
}
