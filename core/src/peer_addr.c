#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "peer_addr.h"

/* IPv6 text is case-insensitive ("::FFFF:127.0.0.1"). */
static bool same_text(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return false;
        if (a[i] == '\0')
            return true;
    }
    return true;
}

static bool has_prefix(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strlen(s) > n && same_text(s, prefix, n);
}

static bool loopback(const char *a)
{
    const char *v4 = has_prefix(a, "::ffff:") ? a + 7 : a; /* IPv4-mapped */
    return has_prefix(v4, "127.") || same_text(a, "::1", 4);
}

static bool unspecified(const char *a)
{
    return same_text(a, "0.0.0.0", 8) || same_text(a, "::", 3) || same_text(a, "::ffff:0.0.0.0", 15);
}

bool tcpshm_peer_is_local(const char *local, const char *peer)
{
    if (!peer || !peer[0])
        return false;
    if (loopback(peer))
        return true;
    return local && !unspecified(peer) && same_text(local, peer, strlen(peer) + 1);
}
