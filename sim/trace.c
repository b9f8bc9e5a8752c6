#include <string.h>

#include "plan.h"
#include "trace.h"

static const char *const names[TR_TYPES] = {
    "start", "kill", "crash", "fault", "break", "close", "partition", "partition-end", "login",
    "login-fail", "disconnect", "push", "pop", "echo-skip", "settle", "mismatch", "reject", "hang", "twin", "twin-end",
    "snapshot", "rollback", "rollback-detected", "liar", "power-loss", "misconfig", "damage", "misuse",
    "stall", "system-error", "impostor", "clock", "calm", "set-full", "pair-reset"};

void trace_init(trace *t, FILE *file)
{
    memset(t, 0, sizeof *t);
    t->hash = 0xcbf29ce484222325ull;
    t->file = file;
}

#define FNV_BYTE(h, x) (((h) ^ ((x) & 0xffu)) * 0x100000001b3ull)

static uint64_t mix(uint64_t h, uint64_t v)
{
    /* FNV-1a over the 8 bytes of v, low byte first; written out (the
     * compiler kept the loop, half of the instructions of every event) */
    h = FNV_BYTE(h, v);
    h = FNV_BYTE(h, v >> 8);
    h = FNV_BYTE(h, v >> 16);
    h = FNV_BYTE(h, v >> 24);
    h = FNV_BYTE(h, v >> 32);
    h = FNV_BYTE(h, v >> 40);
    h = FNV_BYTE(h, v >> 48);
    return FNV_BYTE(h, v >> 56);
}

void trace_event(trace *t, int64_t now, tr_type type, uint32_t a, uint32_t b, uint32_t c, const char *s)
{
    trace_event_noted(t, now, type, a, b, c, s, NULL);
}

void trace_event_noted(trace *t, int64_t now, tr_type type, uint32_t a, uint32_t b, uint32_t c, const char *s,
                       const char *note)
{
    uint64_t h = mix(t->hash, (uint64_t)now);
    h = mix(h, (uint64_t)type << 32 | a);
    h = mix(h, (uint64_t)b << 32 | c);
    if (s)
        for (const char *p = s; *p; p++)
            h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    t->hash = h;
    unsigned i = (unsigned)(t->count % TRACE_RING);
    t->count++;
    t->ring[i] = (tr_event){now, (uint32_t)type, a, b, c, NULL};
    if (s) {
        strncpy(t->ring_text[i], s, sizeof t->ring_text[i] - 1);
        t->ring_text[i][sizeof t->ring_text[i] - 1] = '\0';
        t->ring[i].s = t->ring_text[i];
    }
    if (t->sink) {
        tr_event e = {now, (uint32_t)type, a, b, c, s}; /* s whole, not the ring's copy */
        t->sink(t->sink_user, &e, note);
    } else if (t->file) {
        char line[160];
        trace_format(&t->ring[i], line, sizeof line);
        fprintf(t->file, "%s\n", line);
    }
}

void trace_aside(trace *t, int64_t now, uint32_t type, uint32_t a, uint32_t b, uint32_t c, const char *s)
{
    if (t->sink) {
        tr_event e = {now, type, a, b, c, s};
        t->sink(t->sink_user, &e, NULL);
    }
}

void trace_format(const tr_event *e, char *out, size_t n)
{
    if (e->type == TR_FAULT) {
        snprintf(out, n, "t=%lld fault %s %s (errno/bytes %u)", (long long)e->now,
                 e->a < FP_KINDS ? fp_kind_names[e->a] : "?", e->s ? e->s : "", e->b);
        return;
    }
    snprintf(out, n, "t=%lld %s %u %u %u%s%s", (long long)e->now,
             e->type < TR_TYPES ? names[e->type] : "?", e->a, e->b, e->c, e->s ? " " : "",
             e->s ? e->s : "");
}

void trace_dump_last(const trace *t, FILE *out, unsigned n, const char *prefix)
{
    if (n > TRACE_RING)
        n = TRACE_RING;
    uint64_t first = t->count > n ? t->count - n : 0;
    for (uint64_t k = first; k < t->count; k++) {
        char line[160];
        trace_format(&t->ring[k % TRACE_RING], line, sizeof line);
        fprintf(out, "%s%s\n", prefix, line);
    }
}
