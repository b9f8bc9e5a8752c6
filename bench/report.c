/* The three outputs: the table, --json and --plot's SVG. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_count.h"
#include "echo.h"
#include "lib_tcp.h"
#include "results.h"

static double ratio(double lib, double floor) { return floor > 0 ? lib / floor : 0; }

static const char *fmt_ns(char *buf, size_t n, double ns)
{
    if (ns >= 1e6)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else if (ns >= 1e4)
        snprintf(buf, n, "%.1f us", ns / 1e3);
    else
        snprintf(buf, n, "%.0f ns", ns);
    return buf;
}

static const char *fmt_rate(char *buf, size_t n, double mps, uint32_t size)
{
    snprintf(buf, n, "%6.2f M/s %7.1f MB/s", mps / 1e6, mps * size / 1e6);
    return buf;
}

static const char *spin_name(int pause) { return pause ? "pause" : "no pause"; }

/* Ratio targets per percentile (0: none): TCP p50; SHM p50, p99 and p99.9
 * (issue 15). The p99 and p99.9 targets also judge the README loop's row. */
typedef struct echo_targets {
    double p50, p99, p999;
} echo_targets;
static const echo_targets tcp_targets = {1.05, 0, 0};
static const echo_targets shm_targets = {1.2, 2.0, 5.0};

static double target_of(const echo_targets *t, int idx)
{
    return idx == STATS_P50 ? t->p50 : idx == STATS_P99 ? t->p99 : idx == STATS_P999 ? t->p999 : 0;
}

static void target_text(char *t, size_t n, double lib, double fl, double target)
{
    if (target > 0)
        snprintf(t, n, "<= %.2fx %s", target, ratio(lib, fl) <= target ? "met" : "MISSED");
    else
        t[0] = '\0';
}

static void echo_rows(FILE *out, const char *name, const echo_result *e, const echo_targets *tg)
{
    static const struct { int idx; const char *label; } rows[] = {
        {STATS_P50, "p50"}, {STATS_P99, "p99"}, {STATS_P999, "p99.9"}, {STATS_MAX, "max"}};
    if (!e->ok) {
        fprintf(out, "%-5s echo        (failed: see stderr)\n", name);
        return;
    }
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char a[32], b[32], t[64], spin[80] = "";
        double lib = e->lib.ns[rows[i].idx], fl = e->floor.ns[rows[i].idx];
        target_text(t, sizeof t, lib, fl, target_of(tg, rows[i].idx));
        if (rows[i].idx == STATS_P50)
            snprintf(spin, sizeof spin, " (spin: library %s, floor %s)", spin_name(e->lib_pause),
                     spin_name(e->floor_pause));
        fprintf(out, "%-5s echo %-8s %12s %12s %8.2fx  %s%s\n", name, rows[i].label,
                fmt_ns(a, sizeof a, lib), fmt_ns(b, sizeof b, fl), ratio(lib, fl), t, spin);
    }
}

/* The tail of the README loop's row (p99, p99.9) where a target judges it. */
static void readme_tail_rows(FILE *out, const char *name, const echo_result *e, const echo_targets *tg)
{
    static const struct { int idx; const char *label; } rows[] = {{STATS_P99, "p99"}, {STATS_P999, "p99.9"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && e->ok; i++) {
        double target = target_of(tg, rows[i].idx);
        if (target <= 0)
            continue;
        char a[32], b[32], t[64], label[32];
        double lib = e->lib.ns[rows[i].idx], fl = e->floor.ns[rows[i].idx];
        target_text(t, sizeof t, lib, fl, target);
        snprintf(label, sizeof label, "%-5s echo %s R", name, rows[i].label);
        fprintf(out, "%-19s %12s %12s %8.2fx  %s (R against the headline floor's %s)\n", label,
                fmt_ns(a, sizeof a, lib), fmt_ns(b, sizeof b, fl), ratio(lib, fl), t, rows[i].label);
    }
}

/* A p50 row: a variant of the loop (or of the discipline), against its floor. */
static void p50_row(FILE *out, const char *label, const echo_result *e, const char *note)
{
    char a[32], b[32];
    if (!e->ok) {
        fprintf(out, "%-19s (failed: see stderr)\n", label);
        return;
    }
    double lib = e->lib.ns[STATS_P50], fl = e->floor.ns[STATS_P50];
    fprintf(out, "%-19s %12s %12s %8.2fx  %s\n", label, fmt_ns(a, sizeof a, lib),
            fmt_ns(b, sizeof b, fl), ratio(lib, fl), note);
}

static void echo_set_rows(FILE *out, const char *name, const echo_set *e, const echo_targets *tg)
{
    char label[32];
    echo_rows(out, name, &e->best, tg);
    snprintf(label, sizeof label, "%-5s echo p50 P", name);
    p50_row(out, label, &e->pause, "P: library and floor with a pause in every spin");
    snprintf(label, sizeof label, "%-5s echo p50 N", name);
    p50_row(out, label, &e->nopause, "N: library and floor without");
    snprintf(label, sizeof label, "%-5s echo p50 R", name);
    p50_row(out, label, &e->readme, "R: the loop from README (now_ns() every round), no pause");
    readme_tail_rows(out, name, &e->readme, tg);
    snprintf(label, sizeof label, "%-5s echo p50 *", name);
    p50_row(out, label, &e->ctl_every_round,
            "*: the control plane (and a clock reading) every round, no pause");
}

static void stream_row(FILE *out, const char *name, const stream_result *s)
{
    char a[48], b[48];
    if (!s->ok) {
        fprintf(out, "%-5s %4u B         (failed: see stderr)\n", name, s->size);
        return;
    }
    double lib = stream_lib(s), fl = stream_floor(s);
    fprintf(out, "%-5s %4u B       %-26s %-26s %6.2fx  %7.2f M/s %6.2fx  %7.2f M/s  %6.2f %6.2f %6.2f %6.2f\n",
            name, s->size, fmt_rate(a, sizeof a, lib, s->size), fmt_rate(b, sizeof b, fl, s->size),
            ratio(lib, fl), s->readme / 1e6, ratio(s->readme, fl), s->ctl_every_round / 1e6,
            s->lib_pause / 1e6, s->lib_nopause / 1e6, s->floor_pause / 1e6, s->floor_nopause / 1e6);
}

void report_table(FILE *out, const results *r)
{
    const bench_opts *o = &r->opts;
    fprintf(out, "tcpshm-bench: medians of %u rounds; echo: %u samples per round after %u warm-up, "
                 "%u-byte messages; CPUs %d,%d\n",
            o->rounds, o->samples, o->warmup, o->msg_size, o->cpu_a, o->cpu_b);
    fprintf(out, "%s, %s; load average %.2f at the start, %.2f at the end; %s build %s (%s)\n",
            r->ctx.date, r->ctx.cpu_model, r->ctx.load1_start, r->ctx.load1_end,
            context_build_type(), context_commit(), context_version());
    fprintf(out, "SHM rows through: %s\n\n", r->shm_layer);
    fprintf(out, "%-19s %12s %12s %9s  %s\n", "echo round trip", "library", "floor", "ratio",
            "target");
    echo_set_rows(out, "tcp", &r->tcp_echo, &tcp_targets);
    echo_set_rows(out, "shm", &r->shm_echo, &shm_targets);
    p50_row(out, "shm   echo p50 Q", &r->shm_echo_queue,
            "Q: shm_queue alone: two queues, no connection layer, no TCP side, no pause");
    fprintf(out, "  library: the bench's loop (control plane every %uth round, a clock reading only "
                 "then), its faster spin discipline;\n  floor: the lower of the two disciplines' "
                 "(tcp = raw loopback TCP ping-pong, TCP_NODELAY; shm = raw cache-line ping-pong);\n"
                 "  rows R, *, Q against that floor too. ratio = library / floor (1 = as fast)\n",
            LIB_README_CTL_EVERY);

    if (r->nsizes) {
        fprintf(out, "\n%-17s %-26s %-26s %7s  %-18s  %-11s  %s\n", "one-way stream", "library",
                "floor", "ratio", "README loop, ratio", "*", "M/s: lib P, lib N, floor P, floor N");
        for (uint32_t i = 0; i < r->nsizes; i++) {
            stream_row(out, "tcp", &r->tcp_stream[i]);
            stream_row(out, "shm", &r->shm_stream[i]);
        }
        fprintf(out, "  library and floor: the faster discipline of each (P: a pause in every spin, N: "
                     "none); README loop: no pause;\n  *: the control plane and a clock reading every round, no pause (these rows' loop before).\n  tcp: push_more up to 64 KiB then a round of "
                     "the client's loop; floor = raw loopback TCP in 64 KiB sends.\n  shm: one push "
                     "per message, a round of the client's loop when the queue is full; floor = two "
                     "threads,\n  a plain 1 MiB ring with a published index each way.");
        fprintf(out, " One thread memcpy-ing into the ring (no second core):");
        for (uint32_t i = 0; i < r->nsizes; i++)
            if (r->shm_stream[i].ok)
                fprintf(out, " %u B %.1f M/s%s", r->shm_stream[i].size,
                        r->shm_stream[i].memcpy_1thread / 1e6, i + 1 < r->nsizes ? "," : "");
        fprintf(out, "\n");
    }

    if (r->nscaling) {
        fprintf(out, "\n%-17s %14s %12s %12s %14s %8s   (medians of %u rounds)\n",
                "tcp scaling", "echoes/s", "p50", "p99", "floor echoes/s", "ratio", r->scaling_rounds);
        for (uint32_t i = 0; i < r->nscaling; i++) {
            const scaling_result *s = &r->scaling[i];
            char a[32], b[32];
            if (s->skipped || !s->ok) {
                fprintf(out, "%5u clients     %s\n", s->clients,
                        s->skipped ? "(skipped: file-descriptor limit, see stderr)"
                                   : "(failed: see stderr)");
                continue;
            }
            fprintf(out, "%5u clients     %14.0f %12s %12s", s->clients, s->echoes_per_s,
                    fmt_ns(a, sizeof a, s->p50_ns), fmt_ns(b, sizeof b, s->p99_ns));
            if (s->floor_echoes_per_s > 0)
                fprintf(out, " %14.0f %7.2fx\n", s->floor_echoes_per_s, s->echoes_per_s / s->floor_echoes_per_s);
            else
                fprintf(out, " %14s\n", "(not run)");
        }
        if (o->fleet_threads > 1)
            fprintf(out, "  one echo in flight per client; the clients driven with readiness (epoll) by %u threads, "
                         "one spinning on CPU %d, one sleeping in epoll_wait on CPU %d beside the server's "
                         "thread (poll_ctl every round)\n",
                    o->fleet_threads, o->cpu_a, o->cpu_b);
        else
            fprintf(out, "  one echo in flight per client; the clients driven by one thread with readiness "
                         "(epoll), the server by another (poll_ctl every round)\n");
        fprintf(out, "  floor: as many raw loopback TCP socket pairs, the same threads, epoll + recv/send on both "
                     "sides, run just before each row\n");
    }
    if (r->idle_one.ok || r->idle_one.skipped || r->nidle) {
        const idle_result *one = &r->idle_one;
        char a[32];
        fprintf(out, "\n%-17s %14s %12s %9s   (p50: median of %u rounds)\n", "tcp idle scaling", "active",
                "echo p50", "ratio", r->scaling_rounds);
        if (one->ok)
            fprintf(out, "%5u connected   %14u %12s %8.2fx\n", one->connected, one->active,
                    fmt_ns(a, sizeof a, one->p50_ns), 1.0);
        else
            fprintf(out, "%5u connected   (%s)\n", one->connected, one->skipped ? "skipped" : "failed: see stderr");
        for (uint32_t i = 0; i < r->nidle; i++) {
            const idle_result *x = &r->idle[i];
            if (!x->ok || !one->ok) {
                fprintf(out, "%5u connected   (%s)\n", x->connected,
                        x->skipped ? "skipped: file-descriptor limit, see stderr" : "failed or no baseline: see stderr");
                continue;
            }
            double ratio = x->p50_ns / one->p50_ns;
            fprintf(out, "%5u connected   %14u %12s %8.2fx  <= 1.50x %s\n", x->connected, x->active,
                    fmt_ns(a, sizeof a, x->p50_ns), ratio, ratio <= 1.5 ? "met" : "MISSED");
        }
        fprintf(out, "  one echo in flight at a time, the active clients in turn; the others idle in child "
                     "processes; ratio to the 1-client row\n");
    }
    if (!alloc_count_enabled()) {
        fprintf(out, "\nallocations in steady state: not counted (the interposer is compiled "
                     "out under ThreadSanitizer)\n");
        return;
    }
    fprintf(out, "\nallocations in steady state: %llu (expected 0; the interposer counted %llu "
                 "outside the measured phases: set-up and teardown)\n",
            (unsigned long long)r->allocs, (unsigned long long)r->allocs_other);
}

/* ---- JSON ---- */

/* Writes s as a JSON string (the CPU model comes from the system). */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The fields of one echo result: every percentile of the library, the
 * floor and their ratio, and the spin disciplines. */
static void json_echo_fields(FILE *out, const echo_result *e)
{
    static const struct { int idx; const char *key; } keys[] = {
        {STATS_P50, "p50"}, {STATS_P90, "p90"}, {STATS_P99, "p99"}, {STATS_P999, "p999"},
        {STATS_MAX, "max"}};
    fprintf(out, "\"ok\": %s", e->ok ? "true" : "false");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double lib = e->lib.ns[keys[i].idx], fl = e->floor.ns[keys[i].idx];
        fprintf(out, ", \"%s_ns\": %.0f, \"floor_%s_ns\": %.0f, \"%s_ratio\": %.4f", keys[i].key,
                lib, keys[i].key, fl, keys[i].key, ratio(lib, fl));
    }
    fprintf(out, ", \"spin\": \"%s\", \"floor_spin\": \"%s\", \"samples\": %llu",
            spin_name(e->lib_pause), spin_name(e->floor_pause), (unsigned long long)e->lib.count);
}

static void json_echo_variant(FILE *out, const char *key, const echo_result *e)
{
    fprintf(out, ",\n    \"%s\": {", key);
    json_echo_fields(out, e);
    fprintf(out, "}");
}

static void json_echo_set(FILE *out, const char *name, const echo_set *e, const echo_targets *tg,
                          const char *layer)
{
    fprintf(out, "  \"%s\": {\n    \"echo\": {\"layer\": \"%s\", ", name, layer);
    json_echo_fields(out, &e->best);
    fprintf(out, ", \"p50_target_ratio\": %.2f", tg->p50);
    if (tg->p99 > 0)
        fprintf(out, ", \"p99_target_ratio\": %.2f, \"p999_target_ratio\": %.2f", tg->p99, tg->p999);
    fputc('}', out);
    json_echo_variant(out, "echo_pause", &e->pause);
    json_echo_variant(out, "echo_no_pause", &e->nopause);
    json_echo_variant(out, "echo_readme_loop", &e->readme);
    json_echo_variant(out, strcmp(name, "tcp") == 0 ? "echo_poll_ctl_every_round"
                                                    : "echo_tcp_side_every_round",
                      &e->ctl_every_round);
}

static void json_stream(FILE *out, const stream_result *s, uint32_t n, int shm)
{
    fprintf(out, ",\n    \"stream\": [");
    for (uint32_t i = 0; i < n; i++) {
        double lib = stream_lib(&s[i]), fl = shm ? s[i].memcpy_1thread : stream_floor(&s[i]);
        fprintf(out, "%s\n      {\"size\": %u, \"ok\": %s, \"msgs_per_s\": %.0f, \"mb_per_s\": %.2f, "
                     "\"floor_msgs_per_s\": %.0f, \"floor_mb_per_s\": %.2f, \"ratio\": %.4f, "
                     "\"readme_loop_msgs_per_s\": %.0f, \"pause_msgs_per_s\": %.0f, "
                     "\"no_pause_msgs_per_s\": %.0f, \"ctl_every_round_msgs_per_s\": %.0f}",
                i ? "," : "", s[i].size, s[i].ok ? "true" : "false", lib, lib * s[i].size / 1e6,
                fl, fl * s[i].size / 1e6, ratio(lib, fl), s[i].readme, s[i].lib_pause,
                s[i].lib_nopause, s[i].ctl_every_round);
    }
    fprintf(out, "%s]", n ? "\n    " : "");
    if (!shm)
        return;
    fprintf(out, ",\n    \"stream_2thread\": [");
    for (uint32_t i = 0; i < n; i++) {
        double lib = stream_lib(&s[i]), fl = stream_floor(&s[i]);
        fprintf(out, "%s\n      {\"msg_size\": %u, \"ok\": %s, \"msgs_per_s\": %.0f, "
                     "\"floor_msgs_per_s\": %.0f, \"ratio\": %.4f, \"readme_loop_msgs_per_s\": %.0f, "
                     "\"floor_pause_msgs_per_s\": %.0f, \"floor_no_pause_msgs_per_s\": %.0f}",
                i ? "," : "", s[i].size, s[i].ok ? "true" : "false", lib, fl, ratio(lib, fl),
                s[i].readme, s[i].floor_pause, s[i].floor_nopause);
    }
    fprintf(out, "%s]", n ? "\n    " : "");
}

void report_json(FILE *out, const results *r)
{
    const bench_opts *o = &r->opts;
    fprintf(out, "{\n  \"config\": {\"rounds\": %u, \"samples\": %u, \"warmup\": %u, "
                 "\"msg_size\": %u, \"stream_msgs\": %llu, \"cpus\": [%d, %d], \"fleet_threads\": %u},\n",
            o->rounds, o->samples, o->warmup, o->msg_size, (unsigned long long)o->stream_msgs,
            o->cpu_a, o->cpu_b, o->fleet_threads);
    fprintf(out, "  \"context\": {\"version\": ");
    json_str(out, context_version());
    fprintf(out, ", \"commit\": ");
    json_str(out, context_commit());
    fprintf(out, ", \"date\": ");
    json_str(out, r->ctx.date);
    fprintf(out, ", \"cpu_model\": ");
    json_str(out, r->ctx.cpu_model);
    fprintf(out, ", \"build_type\": ");
    json_str(out, context_build_type());
    fprintf(out, ", \"load1_start\": %.2f, \"load1_end\": %.2f},\n", r->ctx.load1_start,
            r->ctx.load1_end);
    json_echo_set(out, "tcp", &r->tcp_echo, &tcp_targets, "connection API");
    json_stream(out, r->tcp_stream, r->nsizes, 0);
    fprintf(out, ",\n    \"scaling\": [");
    for (uint32_t i = 0; i < r->nscaling; i++) {
        const scaling_result *s = &r->scaling[i];
        fprintf(out, "%s\n      {\"clients\": %u, \"ok\": %s, \"skipped\": %s, \"echoes_per_s\": %.0f, "
                     "\"p50_ns\": %.0f, \"p99_ns\": %.0f, \"floor_echoes_per_s\": %.0f}",
                i ? "," : "", s->clients, s->ok ? "true" : "false", s->skipped ? "true" : "false",
                s->echoes_per_s, s->p50_ns, s->p99_ns, s->floor_echoes_per_s);
    }
    fprintf(out, "%s],\n    \"all_active_scaling\": [", r->nscaling ? "\n    " : "");
    uint32_t shown = 0;
    for (uint32_t i = 0; i < r->nscaling; i++)
        if (r->scaling[i].ok)
            fprintf(out, "%s\n      {\"clients\": %u, \"echoes_per_s\": %.0f, \"floor_echoes_per_s\": %.0f, "
                         "\"ratio_to_floor\": %.3f}",
                    shown++ ? "," : "", r->scaling[i].clients, r->scaling[i].echoes_per_s,
                    r->scaling[i].floor_echoes_per_s,
                    r->scaling[i].floor_echoes_per_s > 0 ? r->scaling[i].echoes_per_s / r->scaling[i].floor_echoes_per_s
                                                         : 0.0);
    fprintf(out, "%s],\n    \"idle_scaling_one_p50_ns\": %.0f,\n    \"idle_scaling\": [", shown ? "\n    " : "",
            r->idle_one.ok ? r->idle_one.p50_ns : 0.0);
    shown = 0;
    for (uint32_t i = 0; i < r->nidle; i++) {
        const idle_result *x = &r->idle[i];
        if (!x->ok || !r->idle_one.ok)
            continue;
        fprintf(out, "%s\n      {\"connected\": %u, \"active\": %u, \"p50_ns\": %.0f, \"p50_ratio_to_one\": %.3f}",
                shown++ ? "," : "", x->connected, x->active, x->p50_ns, x->p50_ns / r->idle_one.p50_ns);
    }
    fprintf(out, "%s]\n  },\n", shown ? "\n    " : "");
    json_echo_set(out, "shm", &r->shm_echo, &shm_targets, r->shm_layer);
    json_echo_variant(out, "echo_shm_queue_only", &r->shm_echo_queue);
    json_stream(out, r->shm_stream, r->nsizes, 1);
    if (!alloc_count_enabled())
        fprintf(out, "\n  },\n  \"allocations_counted\": false,");
    else
        fprintf(out, "\n  },\n  \"allocations_counted\": true,");
    fprintf(out, "\n  \"allocations_steady_state\": %llu,\n  \"allocations_outside_measurement\": %llu,\n"
                 "  \"failures\": %d\n}\n",
            (unsigned long long)r->allocs, (unsigned long long)r->allocs_other, r->failures);
}

/* ---- SVG: latency (log) against percentile (log of 1 / (1 - p)) ---- */

#define W 900.0
#define H 560.0
#define L 90.0
#define R 200.0
#define T 50.0
#define B 70.0

static double xpos(int i)
{
    double p = stats_pcts[i];
    double v = p >= 100 ? 5.5 : -log10(1 - p / 100); /* max drawn after 99.999 */
    return L + v / 5.5 * (W - L - R);
}

int report_svg(const char *path, const results *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "tcpshm-bench: --plot %s: %s\n", path, strerror(errno));
        return -1;
    }
    const struct { const lat_summary *s; const char *name, *color, *dash; int ok; } curves[] = {
        {&r->tcp_echo.best.lib, "TCP library", "#d62728", "", r->tcp_echo.best.ok},
        {&r->tcp_echo.best.floor, "TCP floor (raw socket)", "#d62728", "6,4", r->tcp_echo.best.ok},
        {&r->shm_echo.best.lib, "SHM library", "#1f77b4", "", r->shm_echo.best.ok},
        {&r->shm_echo.best.floor, "SHM floor (cache line)", "#1f77b4", "6,4", r->shm_echo.best.ok},
        {&r->tcp_echo.readme.lib, "TCP README loop", "#ff9896", "2,3", r->tcp_echo.readme.ok},
        {&r->shm_echo.readme.lib, "SHM README loop", "#aec7e8", "2,3", r->shm_echo.readme.ok}};
    const size_t ncurves = sizeof curves / sizeof curves[0];
    double lo = 1e18, hi = 0;
    for (size_t c = 0; c < ncurves; c++)
        for (int i = 0; curves[c].ok && i < STATS_NPCT; i++) {
            double v = curves[c].s->ns[i];
            if (v > 0 && v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
    if (hi <= 0) {
        lo = 10;
        hi = 1e5;
    }
    double ylo = floor(log10(lo)), yhi = ceil(log10(hi));
    if (yhi <= ylo)
        yhi = ylo + 1;
#define YPOS(v) (T + (H - T - B) * (1 - (log10(v) - ylo) / (yhi - ylo)))
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%.0f\" y=\"28\" font-size=\"16\">tcpshm-bench: echo round trip, %u-byte "
               "messages (medians of %u rounds)</text>\n",
            W, H, W, H, L, r->opts.msg_size, r->opts.rounds);
    for (double d = ylo; d <= yhi + 1e-9; d += 1) {
        double y = T + (H - T - B) * (1 - (d - ylo) / (yhi - ylo));
        char lab[32];
        fmt_ns(lab, sizeof lab, pow(10, d));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                L, y, W - R, y, L - 6, y + 4, lab);
    }
    for (int i = 0; i < STATS_NPCT; i++) {
        double x = xpos(i);
        if (i > 0 && i < STATS_NPCT - 1 && xpos(i) - xpos(i - 1) < 18)
            continue; /* labels too close together */
        char lab[16];
        if (stats_pcts[i] >= 100)
            snprintf(lab, sizeof lab, "max");
        else
            snprintf(lab, sizeof lab, "%g", stats_pcts[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                x, T, x, H - B, x, H - B + 18, lab);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">percentile</text>\n"
               "<text x=\"20\" y=\"%.1f\" transform=\"rotate(-90 20 %.1f)\" "
               "text-anchor=\"middle\">round trip</text>\n"
               "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#888\"/>\n",
            (L + W - R) / 2, H - B + 45, (T + H - B) / 2, (T + H - B) / 2, L, T, W - L - R,
            H - T - B);
    for (size_t c = 0; c < ncurves; c++) {
        double ly = T + 20 + 22 * (double)c;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\" stroke-dasharray=\"%s\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\">%s%s</text>\n",
                W - R + 12, ly, W - R + 40, ly, curves[c].color, curves[c].dash, W - R + 46,
                ly + 4, curves[c].name, curves[c].ok ? "" : " (failed)");
        if (!curves[c].ok)
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                   "stroke-dasharray=\"%s\" points=\"",
                curves[c].color, curves[c].dash);
        for (int i = 0; i < STATS_NPCT; i++) {
            double v = curves[c].s->ns[i] > 0 ? curves[c].s->ns[i] : pow(10, ylo);
            fprintf(f, "%.1f,%.1f ", xpos(i), YPOS(v));
        }
        fprintf(f, "\"/>\n");
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">SHM: %s. Library: control plane every "
               "%uth round, its faster spin; floor: the lower; README loop: a clock reading every "
               "round</text>\n</svg>\n",
            L, H - 8, r->shm_layer, LIB_README_CTL_EVERY);
    if (fclose(f) != 0) {
        fprintf(stderr, "tcpshm-bench: --plot %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}
