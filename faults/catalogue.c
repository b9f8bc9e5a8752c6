/* The failure-point catalogue: every libfiu point compiled into the core
 * (tcpshm_fi). tests/test_fault_catalogue.c checks that this table and the
 * fiu_fail(...) / TCPSHM_CRASH_SITE(...) names in core/src are the same set;
 * faults/README.md shows the same table. */
#include <string.h>

#include "catalogue.h"

#define CRASH_EFFECT "crash hook (default _exit(86))"

const tcpshm_fault_point tcpshm_fault_catalogue[] = {
    /* ---- network (core/src/io.c) ---- */
    {"tcpshm/net/reset",
     "abort the connection (SO_LINGER {1,0}, the close sends a reset); the call fails with ECONNRESET",
     "tcpshm_io_send and tcpshm_io_recv, before the send/recv points"},
    {"tcpshm/net/send",
     "send fails with errno failnum if > 1, else EPIPE",
     "tcpshm_io_send: every send on a TCP connection"},
    {"tcpshm/net/send/short",
     "send passes only part of the bytes: failinfo bytes clamped to [1, len-1], else half; only when len > 1",
     "tcpshm_io_send: every send on a TCP connection"},
    {"tcpshm/net/recv",
     "recv fails with errno failnum if > 1, else ECONNRESET",
     "tcpshm_io_recv: every recv on a TCP connection"},
    {"tcpshm/net/recv/short",
     "recv reads at most part of what fits: failinfo bytes clamped to [1, len-1], else half; only when len > 1",
     "tcpshm_io_recv: every recv on a TCP connection"},
    {"tcpshm/net/accept",
     "accept fails with errno failnum if > 1, else ECONNABORTED",
     "tcpshm_io_accept: the server taking a new connection"},
    {"tcpshm/net/connect",
     "connect fails at once with errno failnum if > 1, else ECONNREFUSED",
     "tcpshm_io_connect: the client starting a connection"},
    {"tcpshm/net/listen",
     "listen fails with errno failnum if > 1, else EADDRINUSE",
     "tcpshm_io_listen: the server opening its listening socket"},
    {"tcpshm/net/epoll_create",
     "making a readiness set fails with errno failnum if > 1, else EMFILE",
     "tcpshm_io_epoll_create: server create, per TCP group of more than 64 slots (the group then polls directly)"},
    {"tcpshm/net/epoll_ctl",
     "adding a socket to a readiness set fails with errno failnum if > 1, else ENOMEM",
     "tcpshm_io_epoll_ctl: a login finished in a readiness group (the connection is then polled directly)"},
    {"tcpshm/net/epoll_wait",
     "the readiness wait fails with errno failnum if > 1, else EINTR",
     "tcpshm_io_epoll_wait: every poll_tcp of a readiness group (that poll reads every connection)"},

    /* ---- files and mappings (core/src/io.c) ---- */
    {"tcpshm/file/open",
     "file open fails with errno failnum if > 1, else EACCES",
     "tcpshm_io_file_open: opening or creating a queue file"},
    {"tcpshm/file/resize",
     "file resize fails with errno failnum if > 1, else ENOSPC",
     "tcpshm_io_file_resize: sizing a new queue file"},
    {"tcpshm/file/rename",
     "rename fails with errno failnum if > 1, else EIO",
     "tcpshm_io_rename: publishing a new queue file under its final name"},
    {"tcpshm/file/lock",
     "lock fails with errno failnum if > 1, else ENOLCK (a system error, not 'in use')",
     "tcpshm_io_file_lock: a client or server taking its <dir>/<name>.lock at create"},
    {"tcpshm/file/sync",
     "msync of a mapped range fails with errno failnum if > 1, else EIO",
     "tcpshm_io_map_sync: durability host, syncing a queue file's touched range"},
    {"tcpshm/file/fdatasync",
     "fdatasync fails with errno failnum if > 1, else EIO",
     "tcpshm_io_file_sync: durability host, syncing a whole file"},
    {"tcpshm/file/dirsync",
     "fsync of a directory fails with errno failnum if > 1, else EIO",
     "tcpshm_io_dir_sync: durability host, after a create or rename in a state directory"},
    {"tcpshm/file/map",
     "map fails (returns NULL) with errno failnum if > 1, else ENOMEM",
     "tcpshm_io_map: mapping a queue file"},
    {"tcpshm/shm/open",
     "shared-memory segment open fails with errno failnum if > 1, else EACCES",
     "tcpshm_io_shm_open: opening or creating an SHM queue segment"},

    /* ---- crash sites ---- */
    {"tcpshm/crash/queue/open_after_mkdir", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open: the directory made (or there already), nothing opened yet"},
    {"tcpshm/crash/queue/create_after_remove_tmp", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open, creating: a temporary file left by a killed creation removed, no new one yet"},
    {"tcpshm/crash/queue/create_after_open", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open, creating: empty temporary file created, not yet sized"},
    {"tcpshm/crash/queue/create_after_resize", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open, creating: temporary file sized (all zero), header not yet written"},
    {"tcpshm/crash/queue/create_before_rename", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open, creating: new queue file initialised under its temporary name, not yet renamed"},
    {"tcpshm/crash/queue/create_after_rename", CRASH_EFFECT,
     "tcpshm_ptcp_queue_open, creating: new queue file renamed to its final name, open not yet returned"},
    {"tcpshm/crash/queue/push_before_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_push: message bytes written, record not flipped"},
    {"tcpshm/crash/queue/push_after_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_push: record flipped (message queued), push not yet returned"},
    {"tcpshm/crash/queue/compact_before_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_alloc, compacting: live region copied to the front, record not flipped"},
    {"tcpshm/crash/queue/compact_after_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_alloc, compacting: record flipped to the compacted layout, send positions not yet moved"},
    {"tcpshm/crash/queue/ack_before_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_ack or _rewind: advanced read position staged in the inactive record, record not flipped"},
    {"tcpshm/crash/queue/ack_after_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_ack or _rewind: record flipped (acknowledged messages freed), send positions not yet updated"},
    {"tcpshm/crash/queue/pop_before_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_popped: incremented my_ack staged in the inactive record, record not flipped"},
    {"tcpshm/crash/queue/pop_after_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_popped: record flipped (my_ack persisted), not yet returned"},
    {"tcpshm/crash/queue/reset_before_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_reset: emptied state staged in the inactive record, record not flipped"},
    {"tcpshm/crash/queue/reset_after_publish", CRASH_EFFECT,
     "tcpshm_ptcp_queue_reset: record flipped (queue empty, seqs and my_ack 0), send positions not yet cleared"},
    {"tcpshm/crash/login/server_after_reset", CRASH_EFFECT,
     "server poll_tcp, login step 5: the queue of a client that last saw another server name was reset, response not sent"},
    {"tcpshm/crash/login/server_after_rewind", CRASH_EFFECT,
     "server poll_tcp, login step 7: queue freed up to the client's ack, response not sent"},
    {"tcpshm/crash/login/client_after_reset", CRASH_EFFECT,
     "client, status 0 from a new server name: the new pair's queue was reset, lastserver not yet recorded"},
    {"tcpshm/crash/login/client_lastserver_after_mkdir", CRASH_EFFECT,
     "client, recording a server name: the directory made (or there already), nothing written yet"},
    {"tcpshm/crash/login/client_lastserver_after_remove_tmp", CRASH_EFFECT,
     "client, recording a server name: a temporary <client>.lastserver.tmp left by a kill removed"},
    {"tcpshm/crash/login/client_lastserver_after_open", CRASH_EFFECT,
     "client, recording a server name: empty <client>.lastserver.tmp created, not yet sized"},
    {"tcpshm/crash/login/client_lastserver_after_resize", CRASH_EFFECT,
     "client, recording a server name: <client>.lastserver.tmp sized (all zero), record not yet written"},
    {"tcpshm/crash/login/client_lastserver_before_rename", CRASH_EFFECT,
     "client: new <client>.lastserver written under its temporary name, not yet renamed"},
    {"tcpshm/crash/login/client_lastserver_after_rename", CRASH_EFFECT,
     "client: new <client>.lastserver renamed into place (name recorded), write not yet returned"},
    {"tcpshm/crash/shm/create_after_open", CRASH_EFFECT,
     "shm queue open, creating: empty segment created, not yet sized"},
    {"tcpshm/crash/shm/create_after_resize", CRASH_EFFECT,
     "shm queue open: a size-0 segment sized (all zero), not yet mapped or initialised"},
    {"tcpshm/crash/shm/create_after_header", CRASH_EFFECT,
     "shm queue open: the creator's header written, magic stored last, open not yet returned"},
    {"tcpshm/crash/shm/push_before_publish", CRASH_EFFECT,
     "shm push: message written in its slot, slot word not stored"},
    {"tcpshm/crash/shm/push_after_publish", CRASH_EFFECT,
     "shm push: slot (and wrap marker) published, producer position not recorded (recovered at open)"},
    {"tcpshm/crash/shm/pop_before_publish", CRASH_EFFECT,
     "shm pop: consumer position not yet stored"},
    {"tcpshm/crash/shm/pop_after_publish", CRASH_EFFECT,
     "shm pop: consumer position stored, pop not yet returned"},
};

const size_t tcpshm_fault_catalogue_len =
    sizeof tcpshm_fault_catalogue / sizeof tcpshm_fault_catalogue[0];

const tcpshm_fault_point *tcpshm_fault_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < tcpshm_fault_catalogue_len; i++)
        if (strcmp(tcpshm_fault_catalogue[i].name, name) == 0)
            return &tcpshm_fault_catalogue[i];
    return NULL;
}
