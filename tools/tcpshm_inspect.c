/* tcpshm-inspect: prints and verifies the persisted state of tcpshm
 * connections — every <local>_<remote>.ptcp queue file of a directory (or
 * one file), the <client>.lastserver records, and optionally shared-memory
 * queue segments. Verification is the core's own (tcpshm_ptcp_inspect runs
 * tcpshm_ptcp_queue_verify, the checks of reopening), so a file this tool
 * calls good is one the library would reopen. Files are untrusted: they are
 * read into memory, never mapped, never written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "inspect_out.h"
#include "inspect_shm.h"
#include "lastserver.h"
#include "readonly_env.h"
#include "tcpshm/config.h"
#include "tcpshm/env.h"
#include "tcpshm/ptcp_inspect.h"
#include "tcpshm/ptcp_queue.h"

#define PTCP_SUFFIX ".ptcp"
#define LAST_SUFFIX ".lastserver"

typedef struct opts {
    bool hex, json;
    uint32_t max_msg_size;
} opts;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads a whole file (at most max bytes) into a new buffer. 0, or -1 with
 * errno (EFBIG when larger than max). */
static int slurp(const char *path, uint64_t max, uint8_t **out, uint64_t *size)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno ? errno : EINVAL;
        close(fd);
        errno = S_ISREG(st.st_mode) ? e : EINVAL;
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        *size = (uint64_t)st.st_size;
        errno = EFBIG;
        return -1;
    }
    uint64_t n = (uint64_t)st.st_size, done = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* shrank meanwhile: what was read is the file */
        done += (uint64_t)r;
    }
    close(fd);
    *out = buf;
    *size = done;
    return 0;
}

static int corrupt(const char *why)
{
    out_str("status", "corrupt");
    out_str("reason", why);
    out_object_end();
    return 1;
}

/* One queue file. 0 good, 1 corrupt, 3 unreadable. */
static int inspect_ptcp(const char *path, const char *base, const opts *o)
{
    out_object_begin("ptcp", path);
    uint8_t *buf;
    uint64_t size = 0;
    /* header + the largest capacity; anything longer is refused unread */
    if (slurp(path, 256u + (1ull << 30) + 1, &buf, &size) != 0) {
        if (errno == EFBIG) {
            out_u64("file_bytes", size);
            return corrupt("too long: larger than any queue file");
        }
        char why[4200];
        snprintf(why, sizeof why, "cannot read %s: %s", path, strerror(errno));
        out_str("status", "unreadable");
        out_str("reason", why);
        out_object_end();
        return 3;
    }
    out_u64("file_bytes", size);
    tcpshm_ptcp_info info;
    tcpshm_error err = {0};
    int rc = tcpshm_ptcp_inspect(buf, size, o->max_msg_size, NULL, NULL, &info, &err);
    if (info.have_header && strcmp(info.magic, "TSHMPTCP") == 0) { /* not a foreign file's bytes */
        out_str("local", info.local);
        out_str("remote", info.remote);
    }
    char why[sizeof err.text + 200];
    if (rc != 0) {
        snprintf(why, sizeof why, "%s", err.text);
        free(buf);
        return corrupt(why);
    }
    /* Reopening goes by the file name: it must be the pair in the header. */
    char want[160];
    snprintf(want, sizeof want, "%s_%s" PTCP_SUFFIX, info.local, info.remote);
    if (strcmp(want, base) != 0) {
        snprintf(why, sizeof why, "the header names the pair (%s, %s), whose file is %s, not %s", info.local,
                 info.remote, want, base);
        free(buf);
        return corrupt(why);
    }
    /* the boot check, as a reopen on this host makes it */
    uint8_t now[16];
    const tcpshm_env *os = tcpshm_env_posix();
    bool know_boot = os->boot_id && os->boot_id(os->ctx, now) == 0;
    if (know_boot && tcpshm_ptcp_queue_boot_check(info.written, info.boot_id, now, &err) != 0) {
        snprintf(why, sizeof why, "%s", err.text);
        free(buf);
        return corrupt(why);
    }
    const tcpshm_ptcp_state *st = &info.st;
    out_u64("format_version", info.version);
    out_u64("capacity", info.capacity);
    out_str("wire_byte_order", info.little_endian ? "little-endian" : "big-endian");
    out_u64("seq_start", st->read_seq);
    out_u64("seq_end", st->write_seq);
    out_u64("pending", st->write_seq - st->read_seq);
    out_u64("pending_bytes", st->write_idx - st->read_idx);
    out_u64("my_ack", st->my_ack);
    out_u64("send_position", st->read_seq);
    out_note("the send position is not persisted: a reopen resends from seq_start, the oldest unacknowledged");
    static const char *const modes[] = {"process", "host"};
    out_str("durability", info.durability < 2 ? modes[info.durability] : "unknown");
    out_note("durability: the mode the file was created with; a later opener may use the other");
    static const char *const written[] = {"clean (synced and closed)", "unsynced, by a process of this boot",
                                          "synced at every change (host)"};
    out_str("written", info.written < 3 ? written[info.written] : "unknown");
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", info.boot_id[i]);
    out_str("boot_id", hex);
    if (!know_boot)
        out_note("this host's boot id cannot be read: the boot check a reopen makes was not made");
    static const char *const slots[] = {
        "agree", "differ: the other slot is the state before the last change",
        "differ: the other slot is newer, a change staged and never published (a kill or power cut before the flip)",
        "differ: the other slot is neither older nor newer in every counter"};
    out_str("record_slots", slots[tcpshm_ptcp_slots_compare(&info)]);
    out_u64("other_slot_seq_start", info.other.read_seq);
    out_u64("other_slot_seq_end", info.other.write_seq);
    out_u64("other_slot_my_ack", info.other.my_ack);
    out_list_begin("messages");
    const uint8_t *data = buf + info.data_offset;
    uint32_t seq = st->read_seq;
    for (uint32_t pos = st->read_idx; pos < st->write_idx; seq++) {
        tcpshm_msg_header h;
        tcpshm_header_decode(data + pos, info.little_endian, &h);
        out_msg(seq, h.msg_type, h.size, h.ack_seq, true, data + pos + TCPSHM_HEADER_SIZE,
                h.size - TCPSHM_HEADER_SIZE, o->hex);
        pos += tcpshm_padded_size(h.size); /* verified: whole, within [read, write) */
    }
    out_list_end();
    out_str("status", "ok");
    out_object_end();
    free(buf);
    return 0;
}

/* <client>.lastserver: read by the core's reader (read-only env). */
static int inspect_lastserver(const char *dir, const char *base)
{
    char client[256], path[4400];
    snprintf(client, sizeof client, "%.*s", (int)(strlen(base) - strlen(LAST_SUFFIX)), base);
    snprintf(path, sizeof path, "%s/%s", dir, base);
    out_object_begin("lastserver", path);
    out_str("client", client);
    char name[TCPSHM_NAME_MAX + 1];
    tcpshm_error err = {0};
    int rc = tcpshm_lastserver_read(readonly_env(), dir, client, name, &err);
    if (rc == TCPSHM_E_CORRUPT)
        return corrupt(err.text);
    if (rc != 0) {
        out_str("status", "unreadable");
        out_str("reason", err.text);
        out_object_end();
        return 3;
    }
    out_str("last_server", name);
    out_str("status", "ok");
    out_object_end();
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Outcomes so far: counts, and whether anything was corrupt or unreadable. */
typedef struct tally {
    unsigned objects, corrupt, unreadable;
} tally;

static void count(tally *t, int rc)
{
    t->objects++;
    t->corrupt += rc == 1;
    t->unreadable += rc == 3;
}

/* Every queue file and lastserver record of dir, in name order. */
static void inspect_dir(const char *dir, const opts *o, tally *t)
{
    DIR *d = opendir(dir);
    if (!d) {
        char why[4200];
        snprintf(why, sizeof why, "cannot open directory %s: %s", dir, strerror(errno));
        out_object_begin("dir", dir);
        out_str("status", "unreadable");
        out_str("reason", why);
        out_object_end();
        count(t, 3);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, PTCP_SUFFIX) && !ends_with(e->d_name, PTCP_SUFFIX ".tmp") &&
            !ends_with(e->d_name, LAST_SUFFIX))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                abort();
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (!names[n++])
            abort();
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int rc = 0;
        if (ends_with(names[i], ".tmp")) {
            out_object_begin("leftover", path);
            out_note("a queue file whose creation was killed before its rename; the next open removes it");
            out_str("status", "ok");
            out_object_end();
        } else if (ends_with(names[i], LAST_SUFFIX)) {
            rc = inspect_lastserver(dir, names[i]);
        } else {
            rc = inspect_ptcp(path, names[i], o);
        }
        count(t, rc);
        free(names[i]);
    }
    free(names);
    if (n == 0 && !o->json)
        printf("no queue files in %s\n", CLI_ESC(dir));
}

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--hex] [--json] [--max-msg-size B] [DIR | FILE.ptcp]... [--shm NAME]...\n"
            "\n"
            "Prints and verifies the persisted state of tcpshm connections: for every\n"
            "<local>_<remote>.ptcp queue file in DIR (or each FILE given), the pair of names,\n"
            "capacity, the seq range of the pending (unacknowledged) messages, my_ack (how many\n"
            "of the peer's messages were popped), the send position, and each pending message\n"
            "(seq, type, size, ack); also <client>.lastserver records. Each file gets the same\n"
            "checks as the library's reopen; a corrupt one is reported with the reason.\n"
            "Nothing is ever written. The first tool to reach for after a crash.\n"
            "\n"
            "  --shm NAME        also inspect the shared-memory queue segment NAME\n"
            "                    (e.g. /tcpshm_alice_server), as its consumer would read it\n"
            "  --hex             dump each pending message's body in hex\n"
            "  --json            one JSON document instead of text\n"
            "  --max-msg-size B  largest message the configuration allows, 16-65536, multiple\n"
            "                    of 8 (default: tcpshm_config_default's, 4096)\n"
            "  -h, --help        this text\n"
            "  --version         the program's version\n"
            "\n"
            "Exit status: 0 everything verified; 1 something is corrupt (reason printed);\n"
            "2 usage error; 3 something could not be read (missing, permissions).\n",
            prog);
}

int main(int argc, char **argv)
{
    tcpshm_config def;
    tcpshm_config_default(&def);
    opts o = {.max_msg_size = def.max_msg_size};
    const char *shm[16];
    size_t nshm = 0;
    static const struct option lopts[] = {{"hex", no_argument, 0, 'x'},
                                          {"json", no_argument, 0, 'j'},
                                          {"max-msg-size", required_argument, 0, 'm'},
                                          {"shm", required_argument, 0, 's'},
                                          CLI_STD_LONG_OPTIONS,
                                          {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, CLI_SHORT_OPTS, lopts, NULL)) != -1;) {
        switch (c) {
        case 'x': o.hex = true; break;
        case 'j': o.json = true; break;
        case 'm':
            if (cli_u32(argv[0], "max-msg-size", optarg, 16, TCPSHM_MAX_PADDED_MSG_SIZE, &o.max_msg_size))
                return 2;
            if (o.max_msg_size % 8) {
                return cli_usage_error(argv[0], "--max-msg-size %u is not a multiple of 8", o.max_msg_size);
            }
            break;
        case 's':
            if (nshm == sizeof shm / sizeof shm[0]) {
                return cli_usage_error(argv[0], "at most 16 --shm segments");
            }
            shm[nshm++] = optarg;
            break;
        default: return cli_std_option(c, argv[0], usage);
        }
    }
    if (optind == argc && nshm == 0) {
        return cli_usage_error(argv[0], "give a directory, a .ptcp file or --shm NAME");
    }
    out_init(o.json);
    tally t = {0};
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            inspect_dir(argv[i], &o, &t);
        } else {
            const char *slash = strrchr(argv[i], '/');
            count(&t, inspect_ptcp(argv[i], slash ? slash + 1 : argv[i], &o));
        }
    }
    for (size_t i = 0; i < nshm; i++)
        count(&t, inspect_shm(shm[i], o.max_msg_size, o.hex));
    out_finish(t.objects, t.corrupt, t.unreadable);
    return t.corrupt ? 1 : t.unreadable ? 3 : 0;
}
