/* venv's network: TCP sockets, listeners and their backlogs, connects (held
 * or made at once), and the two byte streams of each connection. */
#include "venv_internal.h"

#include <arpa/inet.h>
#include <string.h>

/* ------------------------------------------------------------- streams */

static uint32_t stream_put(stream *s, const uint8_t *p, uint32_t n)
{
    uint32_t room = s->cap - s->len;
    if (n > room)
        n = room;
    for (uint32_t done = 0; done < n;) {
        uint32_t at = (s->head + s->len) % s->cap;
        uint32_t chunk = s->cap - at;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(s->buf + at, p + done, chunk);
        s->len += chunk;
        done += chunk;
    }
    return n;
}

static uint32_t stream_get(stream *s, uint8_t *p, uint32_t n)
{
    if (n > s->len)
        n = s->len;
    for (uint32_t done = 0; done < n;) {
        uint32_t chunk = s->cap - s->head;
        if (chunk > n - done)
            chunk = n - done;
        memcpy(p + done, s->buf + s->head, chunk);
        s->head = (s->head + chunk) % s->cap;
        s->len -= chunk;
        done += chunk;
    }
    return n;
}

static void stream_clear(stream *s)
{
    s->head = 0;
    s->len = 0;
}

static vconn *new_conn(uint32_t cap)
{
    vconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s[0].buf = malloc(cap);
    c->s[1].buf = malloc(cap);
    if (!c->s[0].buf || !c->s[1].buf) {
        free(c->s[0].buf);
        free(c->s[1].buf);
        free(c);
        return NULL;
    }
    c->s[0].cap = c->s[1].cap = cap;
    c->fd[0] = c->fd[1] = -1;
    return c;
}

static void conn_maybe_free(vconn *c)
{
    if (c->closed[0] && c->closed[1] && !c->queued) {
        free(c->s[0].buf);
        free(c->s[1].buf);
        free(c);
    }
}

/* Both ends see ECONNRESET; whatever was in flight is lost. */
static void conn_reset_both(vconn *c)
{
    for (int e = 0; e < 2; e++) {
        c->reset_in[e] = true;
        stream_clear(&c->s[e]);
    }
}

/* End e goes away: the peer sees a reset (abort) or EOF. */
static void conn_close_end(vconn *c, int e, bool abort)
{
    int p = 1 - e;
    if (abort) {
        c->reset_in[p] = true;
        stream_clear(&c->s[p]);
    } else {
        c->eof_in[p] = true;
    }
    stream_clear(&c->s[e]);
    c->closed[e] = true;
    c->fd[e] = -1;
}

/* -------------------------------------------------------- socket calls */

static bool numeric_host(const char *addr)
{
    unsigned char buf[16];
    if (!addr)
        return false;
    if (strchr(addr, ':'))
        return inet_pton(AF_INET6, addr, buf) == 1;
    return inet_pton(AF_INET, addr, buf) == 1;
}

static bool wildcard(const char *host) { return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0; }

static bool port_taken(const venv *v, uint16_t port)
{
    for (size_t i = 0; i < v->nh; i++)
        if (v->h[i].kind == H_LISTEN && v->h[i].port == port)
            return true;
    return false;
}

static int v_listen(void *ctx, const char *addr, uint16_t port, int backlog)
{
    venv *v = ctx;
    if (!numeric_host(addr) || strlen(addr) >= sizeof v->h[0].host)
        return venv_fail(EINVAL);
    if (port == 0) {
        uint32_t p = v->first_port;
        while (p <= 65535u && port_taken(v, (uint16_t)p))
            p++;
        if (p > 65535u)
            return venv_fail(EADDRINUSE);
        port = (uint16_t)p;
    } else if (port_taken(v, port)) {
        return venv_fail(EADDRINUSE);
    }
    int fd = venv_new_handle(v, H_LISTEN);
    if (fd < 0)
        return -1;
    handle *hd = &v->h[fd];
    strcpy(hd->host, addr);
    hd->port = port;
    hd->backlog = backlog > 0 ? (uint32_t)backlog : 1u;
    return fd;
}

static int v_local_port(void *ctx, int fd)
{
    handle *hd = venv_get_handle(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_LISTEN)
        return hd->port;
    if (hd->kind == H_SOCK)
        return hd->local_port;
    return venv_fail(ENOTSOCK);
}

static int v_accept(void *ctx, int listen_fd)
{
    venv *v = ctx;
    handle *lh = venv_get_handle(v, listen_fd, H_FREE);
    if (!lh)
        return -1;
    if (lh->kind != H_LISTEN)
        return venv_fail(EINVAL);
    if (lh->qlen == 0)
        return venv_fail(EAGAIN);
    int fd = venv_new_handle(v, H_SOCK);
    if (fd < 0)
        return -1;
    lh = &v->h[listen_fd]; /* new_handle may have moved the table */
    vconn *c = lh->queue[0];
    memmove(lh->queue, lh->queue + 1, (lh->qlen - 1) * sizeof *lh->queue);
    lh->qlen--;
    c->queued = false;
    handle *hd = &v->h[fd];
    hd->state = S_CONNECTED;
    hd->c = c;
    hd->end = 1;
    hd->local_port = lh->port;
    c->fd[1] = fd;
    return fd;
}

/* Makes the connection of the connecting socket fd: to a listener with
 * room, or refused. */
static void resolve_connect(venv *v, int fd)
{
    handle *hd = &v->h[fd];
    handle *lh = NULL;
    for (size_t i = 0; i < v->nh && !lh; i++) {
        handle *x = &v->h[i];
        if (x->kind == H_LISTEN && x->port == hd->peer_port &&
            (strcmp(x->host, hd->peer_host) == 0 || wildcard(x->host)))
            lh = x;
    }
    if (!lh || lh->qlen >= lh->backlog) {
        hd->state = S_REFUSED;
        hd->err = ECONNREFUSED;
        return;
    }
    vconn *c = NULL;
    if (!venv_grow((void **)&lh->queue, &lh->qcap, lh->qlen + 1u, sizeof *lh->queue) ||
        !(c = new_conn(v->stream_capacity))) {
        hd->state = S_REFUSED;
        hd->err = ENOMEM;
        return;
    }
    c->fd[0] = fd;
    c->queued = true;
    strcpy(c->host[0], hd->host);
    strcpy(c->host[1], hd->peer_host);
    lh->queue[lh->qlen++] = c;
    hd->state = S_CONNECTED;
    hd->c = c;
}

static int v_connect(void *ctx, const char *addr, uint16_t port)
{
    venv *v = ctx;
    if (!numeric_host(addr) || strlen(addr) >= sizeof v->h[0].peer_host)
        return venv_fail(EINVAL);
    if (port == 0)
        return venv_fail(ECONNREFUSED);
    if (v->hold && !venv_grow((void **)&v->held, &v->cap_held, v->nheld + 1, sizeof *v->held))
        return venv_fail(ENOMEM);
    int fd = venv_new_handle(v, H_SOCK);
    if (fd < 0)
        return -1;
    handle *hd = &v->h[fd];
    hd->state = S_CONNECTING;
    hd->end = 0;
    strcpy(hd->peer_host, addr);
    strcpy(hd->host, v->connect_host); /* a socket's own address */
    hd->peer_port = port;
    hd->local_port = v->next_local_port;
    v->next_local_port = (uint16_t)(v->next_local_port == 65535u ? v->first_port : v->next_local_port + 1u);
    if (v->hold)
        v->held[v->nheld++] = fd;
    else
        resolve_connect(v, fd);
    return fd;
}

static int v_connect_result(void *ctx, int fd)
{
    handle *hd = venv_get_handle(ctx, fd, H_SOCK);
    if (!hd)
        return errno;
    switch (hd->state) {
    case S_CONNECTING:
        return EINPROGRESS;
    case S_REFUSED:
        return hd->err;
    default:
        return hd->c->reset_in[hd->end] ? ECONNRESET : 0;
    }
}

static ssize_t v_send(void *ctx, int fd, const void *buf, size_t len)
{
    handle *hd = venv_get_handle(ctx, fd, H_SOCK);
    if (!hd)
        return -1;
    if (hd->state == S_CONNECTING)
        return venv_fail(EAGAIN);
    if (hd->state == S_REFUSED)
        return venv_fail(ENOTCONN);
    vconn *c = hd->c;
    int e = hd->end, p = 1 - e;
    if (c->reset_in[e])
        return venv_fail(ECONNRESET);
    if (c->closed[p])
        return venv_fail(EPIPE);
    if (len == 0)
        return 0;
    uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    if (c->s[p].len == 0)
        c->s[p].waiting_since = ((venv *)ctx)->clock;
    uint32_t n = stream_put(&c->s[p], buf, want);
    if (n == 0)
        return venv_fail(EAGAIN);
    return (ssize_t)n;
}

static ssize_t v_recv(void *ctx, int fd, void *buf, size_t len)
{
    handle *hd = venv_get_handle(ctx, fd, H_SOCK);
    if (!hd)
        return -1;
    if (hd->state == S_CONNECTING)
        return venv_fail(EAGAIN);
    if (hd->state == S_REFUSED)
        return venv_fail(ENOTCONN);
    vconn *c = hd->c;
    int e = hd->end;
    if (c->reset_in[e])
        return venv_fail(ECONNRESET);
    if (len == 0)
        return 0;
    if (c->s[e].len > 0) {
        uint32_t want = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
        c->s[e].waiting_since = ((venv *)ctx)->clock; /* what is left waits from this read on */
        return (ssize_t)stream_get(&c->s[e], buf, want);
    }
    if (c->eof_in[e])
        return 0;
    return venv_fail(EAGAIN);
}

static int v_set_nodelay(void *ctx, int fd, int on)
{
    handle *hd = venv_get_handle(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return venv_fail(ENOTSOCK);
    hd->nodelay = on != 0;
    return 0;
}

static int v_sock_reset(void *ctx, int fd)
{
    handle *hd = venv_get_handle(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return venv_fail(ENOTSOCK);
    hd->reset_on_close = true;
    return 0;
}

static void remove_held(venv *v, int fd)
{
    for (size_t i = 0; i < v->nheld; i++)
        if (v->held[i] == fd) {
            memmove(&v->held[i], &v->held[i + 1], (v->nheld - i - 1) * sizeof *v->held);
            v->nheld--;
            return;
        }
}

/* Closes a socket or listener handle (already checked). */
void venv_close_sock(venv *v, int fd)
{
    handle *hd = &v->h[fd];
    if (hd->kind == H_SOCK)
        venv_ready_forget(v, fd);
    if (hd->kind == H_LISTEN) {
        /* connections never accepted are reset */
        for (uint32_t i = 0; i < hd->qlen; i++) {
            vconn *c = hd->queue[i];
            c->queued = false;
            conn_close_end(c, 1, true);
            conn_maybe_free(c);
        }
    } else if (hd->kind == H_EPOLL) {
        /* nothing else refers to a set */
    } else if (hd->state == S_CONNECTING) {
        remove_held(v, fd);
    } else if (hd->state == S_CONNECTED) {
        vconn *c = hd->c;
        conn_close_end(c, hd->end, hd->reset_on_close);
        conn_maybe_free(c);
    }
    venv_free_handle(hd);
}

static int v_sock_close(void *ctx, int fd)
{
    venv *v = ctx;
    handle *hd = venv_get_handle(v, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return venv_fail(ENOTSOCK);
    venv_close_sock(v, fd);
    return 0;
}

static int v_wait_io(void *ctx, int fd, int want_write, int timeout_ms)
{
    (void)timeout_ms; /* never waits: there is no time here */
    handle *hd = venv_get_handle(ctx, fd, H_FREE);
    if (!hd)
        return -1;
    if (hd->kind == H_FILE)
        return 1;
    if (hd->kind == H_LISTEN)
        return !want_write && hd->qlen > 0;
    if (hd->state == S_CONNECTING)
        return 0;
    if (hd->state == S_REFUSED)
        return 1;
    if (!want_write)
        return venv_sock_readable(hd);
    vconn *c = hd->c;
    int e = hd->end, p = 1 - e;
    return c->reset_in[e] || c->closed[p] || c->s[p].len < c->s[p].cap;
}

bool venv_sock_readable(const handle *hd)
{
    if (hd->kind != H_SOCK || hd->state == S_CONNECTING)
        return false;
    if (hd->state == S_REFUSED)
        return true;
    const vconn *c = hd->c;
    int e = hd->end;
    return c->reset_in[e] || c->s[e].len > 0 || c->eof_in[e];
}

static int v_sock_addrs(void *ctx, int fd, char *local, char *peer, size_t size)
{
    handle *hd = venv_get_handle(ctx, fd, H_SOCK);
    if (!hd)
        return -1;
    if (hd->state != S_CONNECTED)
        return venv_fail(ENOTCONN);
    const char *l = hd->c->host[hd->end], *p = hd->c->host[1 - hd->end];
    if (strlen(l) >= size || strlen(p) >= size)
        return venv_fail(ENOSPC);
    strcpy(local, l);
    strcpy(peer, p);
    return 0;
}

void venv_net_install(tcpshm_env *env)
{
    env->listen = v_listen;
    env->local_port = v_local_port;
    env->accept = v_accept;
    env->connect = v_connect;
    env->connect_result = v_connect_result;
    env->send = v_send;
    env->recv = v_recv;
    env->set_nodelay = v_set_nodelay;
    env->sock_reset = v_sock_reset;
    env->sock_close = v_sock_close;
    env->wait_io = v_wait_io;
    env->sock_addrs = v_sock_addrs;
}

/* ------------------------------------------------ connection control */

void venv_break(venv *v, uint32_t owner)
{
    for (size_t i = 0; i < v->nh; i++) {
        handle *hd = &v->h[i];
        if (hd->owner != owner)
            continue;
        if (hd->kind == H_SOCK && hd->state == S_CONNECTED)
            conn_reset_both(hd->c);
        else if (hd->kind == H_LISTEN)
            for (uint32_t k = 0; k < hd->qlen; k++)
                conn_reset_both(hd->queue[k]);
    }
}

void venv_set_stream_capacity(venv *v, uint32_t capacity) { v->stream_capacity = capacity ? capacity : 1u; }

void venv_hold_connects(venv *v, bool hold) { v->hold = hold; }

int venv_set_connect_host(venv *v, const char *host)
{
    if (!host)
        host = "127.0.0.1";
    if (!numeric_host(host) || strlen(host) >= sizeof v->connect_host)
        return venv_fail(EINVAL);
    strcpy(v->connect_host, host);
    return 0;
}

uint32_t venv_release_connects(venv *v)
{
    uint32_t n = 0;
    while (v->nheld > 0) {
        int fd = v->held[0];
        memmove(&v->held[0], &v->held[1], (v->nheld - 1) * sizeof *v->held);
        v->nheld--;
        resolve_connect(v, fd);
        n++;
    }
    return n;
}

long venv_sock_pending(const venv *v, int fd)
{
    if (fd < 0 || (size_t)fd >= v->nh || v->h[fd].kind != H_SOCK || v->h[fd].state != S_CONNECTED)
        return -1;
    return (long)v->h[fd].c->s[v->h[fd].end].len;
}

long venv_sock_unread(const venv *v, int fd, int64_t *since)
{
    long n = venv_sock_pending(v, fd);
    if (n > 0)
        *since = v->h[fd].c->s[v->h[fd].end].waiting_since;
    return n;
}

void venv_set_clock(venv *v, int64_t now) { v->clock = now; }
