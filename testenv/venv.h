/* venv — an in-memory tcpshm_env: files, directories, shared mappings and TCP
 * sockets of a virtual machine room, for the simulator and the fuzzers.
 *
 * Deterministic and single-threaded: no real I/O, no clock, no randomness of
 * its own. The same sequence of calls gives the same results, bit for bit
 * (handles are the lowest free number, ports are picked in order, nothing
 * depends on addresses or time). It allocates with malloc; it is test code.
 *
 * Owners. Every handle (file descriptor, socket) and every mapping is tagged
 * with the owner that was current when it was made — a virtual process id the
 * caller sets with venv_set_owner before it lets a process run. A handle can
 * only be used by its owner (others get EBADF), so one process cannot touch
 * another's sockets by accident. venv_kill(owner) is a process death: its
 * sockets are reset (the peers see ECONNRESET), its listening sockets close,
 * its file handles close (releasing their locks); files and their contents
 * stay, and so do its mappings (the bytes live in the file, like MAP_SHARED
 * pages of a dead process), until they are unmapped by that owner or the venv is destroyed; a map_sync on them fails (EIO): a dead process syncs nothing.
 * Give a restarted process a new owner id: calls that a dead incarnation's
 * leftover code makes (e.g. the object's destroy) then fail with EBADF and
 * cannot touch the new one's handles.
 *
 * Files. A path names a file or a directory. Paths are plain strings with
 * '/' separators ("dir/x.ptcp", "/a/b"); repeated and trailing slashes are
 * ignored, "." alone is the root "", otherwise "." and ".." are not interpreted. The roots "" (relative) and "/"
 * always exist. As POSIX: open without create needs an existing regular file
 * (ENOENT, EISDIR); create needs an absent name (EEXIST) in an existing
 * directory (ENOENT, ENOTDIR); mkdir gives EEXIST if the name exists;
 * rename atomically replaces a file (EISDIR onto a directory; renaming a
 * directory moves everything under it, onto an absent name or an empty
 * directory); remove unlinks a file (EISDIR for a directory). A removed or
 * replaced file lives on while it is open or mapped (an inode). File data is
 * one heap buffer allocated when the file is resized; map returns a pointer
 * into it, so the address is fixed for the mapping's life, and every mapping
 * of a file shares it (coherent by construction). Hence: a mapping may not
 * exceed the file's size (EINVAL, where POSIX would give SIGBUS on access),
 * and a mapped file cannot be resized (EBUSY). A buffer is exactly the
 * file's size, so AddressSanitizer catches an access past the end.
 *
 * Locks. file_lock is an exclusive lock held by the file handle that took
 * it (as an OFD lock): any other handle of the file gets EWOULDBLOCK, with
 * the holder's owner id as holder_pid; closing that handle (venv_kill
 * included) releases it. Nothing is written to the file.
 *
 * Stable storage. Beside its live bytes (the page cache) each file has a
 * durable copy (the disk), and beside the names a durable namespace.
 * map_sync (msync MS_SYNC) copies the VENV_PAGE_SIZE pages it covers (or
 * the smaller units of venv_options.sync_unit) and
 * the file's size to the disk, file_sync (fdatasync) the whole file,
 * dir_sync (fsync of a directory) the names of that directory as they are
 * (created, replaced, removed, renamed in or away). venv_power_loss brings
 * the files of one host (a path filter) back to the disk: a name changed
 * since its directory's last sync, a page written since its file's last
 * sync, a size changed since then, each keeps its new state or goes back
 * to the disk's by a coin of the caller's (seeded) PRNG, as a real disk
 * may have written some of them back and not others; names in a directory
 * that did not come back go with it; SHM segments (RAM) are gone. Direct
 * writes (venv_file_write) are durable at once, as set-up.
 *
 * Shared-memory segments. shm_open("/name") opens the file VENV_SHM_DIR
 * "/name" (creating the directory if needed); shm_unlink removes it. So a
 * segment is a file like any other: it survives kills, maps coherently, and
 * venv_file_data shows it.
 *
 * Sockets. Hosts are numeric addresses as strings ("127.0.0.1", "::1"; checked
 * with inet_pton); a listener on "0.0.0.0" or "::" takes connections to any
 * host. Connects come from venv_set_connect_host's address (127.0.0.1 by
 * default); sock_addrs gives both ends' addresses. listen on port 0 takes the lowest free port from
 * first_ephemeral_port. connect returns a handle at once; the connection is
 * made at once (or, while connects are held, when venv_release_connects runs)
 * if a listener with room in its backlog is there, else it is refused
 * (connect_result gives ECONNREFUSED: a full backlog refuses rather than
 * retrying as Linux does). A connection is two byte streams, one per
 * direction, each holding at most stream_capacity bytes: send writes what
 * fits (short writes) and fails with EAGAIN when nothing fits; recv reads
 * what is there, EAGAIN when nothing is and the peer is still open, 0 (EOF)
 * after the peer closed and everything was read. sock_reset then sock_close
 * aborts the connection: the peer's unread bytes are discarded and its recv
 * and send fail with ECONNRESET. send after the peer closed fails with EPIPE.
 * Closing a listener resets the connections in its backlog. wait_io never
 * waits: it reports whether the socket is ready now. */
#ifndef TCPSHM_TESTENV_VENV_H
#define TCPSHM_TESTENV_VENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpshm/env.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct venv venv;

#define VENV_SHM_DIR "/dev/shm" /* where shm_open's segments live */
#define VENV_PAGE_SIZE 4096u      /* what map_sync copies, and a power loss reverts, at a time */

typedef struct venv_options {
    uint32_t stream_capacity;      /* bytes per direction of a new connection; 0: 65536 */
    uint16_t first_ephemeral_port; /* first port listen(port 0) and connects take; 0: 40000 */
    uint32_t sync_unit; /* map_sync copies its range rounded out to this (a power of 2 at most
                           VENV_PAGE_SIZE, e.g. a 512-byte sector: stricter than a kernel,
                           which syncs whole pages); 0: VENV_PAGE_SIZE */
} venv_options;

/* NULL options: the defaults. NULL if out of memory. */
venv *venv_create(const venv_options *opt);
/* Frees everything: files, sockets, mappings (pointers from map become invalid). */
void venv_destroy(venv *v);

/* The env to give to the core; ctx is v. Valid until venv_destroy. */
const tcpshm_env *venv_env(venv *v);

/* ---- owners (virtual processes) ---- */
/* Handles and mappings made from now on belong to owner; only owner may use them. */
void venv_set_owner(venv *v, uint32_t owner);
uint32_t venv_owner(const venv *v);
/* Process death: every socket of owner is reset and closed, its listeners
 * and file handles are closed (their locks released). Files and mappings stay. */
void venv_kill(venv *v, uint32_t owner);
/* Network failure: every established or pending connection with an end
 * owned by owner is reset at both ends (both see ECONNRESET); the handles
 * stay open until their owners close them. Listeners are untouched. */
void venv_break(venv *v, uint32_t owner);

/* ---- connection control ---- */
/* Capacity per direction of connections made from now on (>= 1). */
void venv_set_stream_capacity(venv *v, uint32_t capacity);
/* While held, new connects stay in progress (connect_result EINPROGRESS). */
void venv_hold_connects(venv *v, bool hold);
/* The address connects made from now on come from (the accepted socket's
 * peer address in sock_addrs); NULL: "127.0.0.1", the default. The accepted
 * end's own address is the one the client dialed. -1/EINVAL if not numeric. */
int venv_set_connect_host(venv *v, const char *host);
/* Makes every held connect, oldest first: connected if a listener has room,
 * else refused. Returns how many were made (connected or refused). */
uint32_t venv_release_connects(venv *v);

/* ---- direct file access, for setting up and checking (no owner, no handle) ---- */
/* Creates or replaces the file at path with len bytes (the parent directory
 * must exist; a mapped file of that name is replaced by a new inode, the
 * mapping keeps the old one). 0, or -1 with errno. */
int venv_file_write(venv *v, const char *path, const void *data, size_t len);
/* The bytes of the file at path and its size, or NULL (a file of size 0
 * gives a non-NULL pointer). Valid until the file is resized or freed. */
const uint8_t *venv_file_data(const venv *v, const char *path, size_t *len);
/* venv_file_data, and a stamp of those bytes: while the file at path keeps
 * the same nonzero stamp its bytes stay the same (every change of a file's
 * bytes or size gives it a stamp no file of this venv had before). 0 while
 * the file is mapped (its bytes may change through the mapping at any
 * time). For caches of a file's copy or hash (the simulator's snapshots). */
const uint8_t *venv_file_stamped(const venv *v, const char *path, size_t *len, uint64_t *stamp);
/* fn (NULL: none) gets a file's bytes and their stamp (as venv_file_stamped
 * showed it, never 0) just before they change (a resize, a first map, a
 * power loss) or leave their name (removed, replaced by a write, a rename
 * or a power loss, renamed away, with a directory too): a cache of what
 * the file held under that stamp can take it then, not before (the
 * simulator's fingerprint of a directory before a refused start). */
typedef void (*venv_stamp_fn)(void *user, uint64_t stamp, const uint8_t *data, size_t size);
void venv_set_stamp_hook(venv *v, venv_stamp_fn fn, void *user);
/* The permission bits a file or directory was created with, or -1. */
int venv_file_mode(const venv *v, const char *path);
/* Calls fn for every name (files and directories), in creation order. */
void venv_list(const venv *v, void (*fn)(void *user, const char *path, bool is_dir, size_t size),
               void *user);

/* ---- stable storage and power loss ---- */
typedef bool (*venv_on_host_fn)(void *user, const char *path); /* a normalized path on the host that fails */
typedef uint32_t (*venv_below_fn)(void *user, uint32_t n);     /* a number in [0, n), seeded */
typedef struct venv_power_stats {
    uint32_t names_kept, names_reverted; /* names changed since their directory's sync */
    uint32_t pages_new, pages_old;       /* pages written since their file's sync */
    uint32_t sizes_reverted, segments;   /* sizes that went back, SHM segments gone */
} venv_power_stats;
/* A power loss of the host whose paths on_host accepts (see "Stable
 * storage" above). Every process of the host must be dead (venv_kill) and
 * unmapped: a file still mapped keeps its size. The disk is then what is
 * there. st (may be NULL) gets what happened. */
void venv_power_loss(venv *v, venv_on_host_fn on_host, venv_below_fn below, void *user, venv_power_stats *st);
/* Whether the next power losses take every page written since its file's
 * last sync back (no coin; names and sizes still by coin): the worst a
 * disk may do to a file's bytes. Off at creation. */
void venv_set_pages_back(venv *v, bool all);
/* The disk's side of the live file at path: its durable bytes (non-NULL,
 * *len of them; what a power loss that takes back every unsynced page would
 * leave) and whether its durable name is path, as are those of the
 * directories above it (a power loss cannot take the name back). NULL if no live file is at path. */
const uint8_t *venv_disk_data(const venv *v, const char *path, size_t *len, bool *name_durable);
/* Every file and name durable as it is now (a set-up, e.g. before a test). */
void venv_sync_all(venv *v);
/* The boot id (env boot_id) is one host's, "venvboot" and a count that
 * venv_reboot raises (a test's host restart; venv_power_loss does not, it
 * knows no hosts). A simulator with hosts gives each owner its host's id
 * with venv_set_boot_fn (NULL: back to the count). */
typedef void (*venv_boot_fn)(void *user, uint32_t owner, uint8_t id[16]);
void venv_reboot(venv *v);
void venv_set_boot_fn(venv *v, venv_boot_fn fn, void *user);

/* ---- introspection, for leak checks and tests ---- */
/* Open handles (files, sockets, listeners) and live mappings of owner. */
uint32_t venv_handle_count(const venv *v, uint32_t owner);
uint32_t venv_mapping_count(const venv *v, uint32_t owner);
/* Open connected or accepted sockets of owner (no listener, no epoll set, no file). */
uint32_t venv_socket_count(const venv *v, uint32_t owner);
/* Bytes waiting to be received by the socket handle fd (any owner), or -1. */
long venv_sock_pending(const venv *v, int fd);
/* The same, and when they began to wait unread: the clock (venv_set_clock)
 * of the send that found the stream empty, or of the last receive that
 * left bytes in it. */
long venv_sock_unread(const venv *v, int fd, int64_t *since);
/* The user's clock, for venv_sock_unread (venv itself has no time). */
void venv_set_clock(venv *v, int64_t now);

#ifdef __cplusplus
}
#endif
#endif
