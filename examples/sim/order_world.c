/* An order-entry service under the simulator (tcpshm/sim.h), with a user
 * invariant: every order is booked exactly once.
 *
 * Traders push numbered orders (the order id is the push's seq, its
 * quantity 1 + id % 7). The exchange books each order into its book (a
 * file of its own, mapped through the simulator's env: it survives kills)
 * and acknowledges it; the ack of order k is the k-th message of its
 * stream. The world's invariant: the book of each trader holds exactly the
 * orders the trader pushed (count and volume), checked after every step
 * (never more than pushed) and at the end (all of them).
 *
 *   -DORDER_NAIVE  books every order it pops as it comes. An order whose
 *                  pop a crash cut short comes again after the restart and
 *                  is booked twice: "invariant: ... booked 41 orders ...".
 *   (default)      the book records the next order id it expects; an order
 *                  below it is already booked (and acknowledged if the
 *                  ack queue's seq_end is past it): only the missing steps
 *                  are redone. The book is one 64-bit word written with one
 *                  store: a crash never leaves half an update.
 *
 * CRASH_SITE marks where a kill would leave the exchange's state half-made:
 * the simulator kills the exchange there now and then (a production build
 * would define it empty).
 *
 *   order_world --seeds 1-400 --faults all
 */
#include <stdio.h>
#include <string.h>

#include <tcpshm/sim.h>

#define MSG_ORDER 200
#define MSG_ACK 201
#define NTRADERS 3
#define WINDOW 6
#define CRASH_SITE(name) tcpshm_sim_crash_site(name)

static uint32_t qty_of(uint32_t id) { return 1u + id % 7u; }

static uint32_t get32(const tcpshm_msg_header *h)
{
    uint32_t v;
    memcpy(&v, h + 1, sizeof v);
    return v;
}

static int push32(tcpshm_conn *c, uint16_t t, uint32_t v)
{
    tcpshm_msg_header *h = tcpshm_conn_alloc(c, sizeof v);
    if (!h)
        return -1;
    h->msg_type = t;
    memcpy(h + 1, &v, sizeof v);
    return tcpshm_conn_push(c);
}

/* ------------------------------------------------------------ the exchange */

/* One trader's book, in <dir>/<trader>.book: one 64-bit word, the next
 * order id to book (ids below it are booked: it counts the orders) and the
 * volume booked (their quantities). */
typedef uint64_t book;
static uint32_t book_orders(const book *b) { return (uint32_t)__atomic_load_n(b, __ATOMIC_RELAXED); }
static uint32_t book_volume(const book *b) { return (uint32_t)(__atomic_load_n(b, __ATOMIC_RELAXED) >> 32); }
static void book_add(book *b, uint32_t qty) /* one order more, with one store */
{
    __atomic_store_n(b, (uint64_t)(book_volume(b) + qty) << 32 | (book_orders(b) + 1u), __ATOMIC_RELAXED);
}

static const char *const g_traders[NTRADERS] = {"t1", "t2", "t3"};

typedef struct exchange {
    const tcpshm_env *env;
    const char *dir;
    book *books[NTRADERS]; /* mapped, or NULL (not yet, or the process died) */
} exchange;

static int trader_index(const char *name)
{
    for (int i = 0; i < NTRADERS; i++)
        if (strcmp(g_traders[i], name) == 0)
            return i;
    return -1;
}

/* The file at path, size bytes, mapped; its size and its name on the disk
 * (file_sync, dir_sync: under durability host a power loss keeps only what
 * was synced) before anything relies on it. *fresh: it was shorter (new).
 * NULL on any failure: the caller tries again later. */
static void *map_durable(const tcpshm_env *e, const char *dir, const char *path, size_t size, bool *fresh)
{
    int fd = e->file_open(e->ctx, path, 0, 0);
    if (fd < 0) /* the first time (create requires that it does not exist) */
        fd = e->file_open(e->ctx, path, 1, 0600);
    if (fd < 0)
        return NULL;
    uint64_t have = 0;
    void *p = NULL;
    if (e->file_size(e->ctx, fd, &have) == 0 && (have >= size || e->file_resize(e->ctx, fd, size) == 0) &&
        e->file_sync(e->ctx, fd) == 0 && e->dir_sync(e->ctx, dir) == 0)
        p = e->map(e->ctx, fd, size); /* new bytes read as zero */
    e->file_close(e->ctx, fd); /* the mapping stays */
    *fresh = have < size;
    return p;
}

static book *book_of(exchange *x, int t)
{
    if (x->books[t])
        return x->books[t];
    char path[128];
    bool fresh; /* a new book is all zeros: empty */
    snprintf(path, sizeof path, "%s/%s.book", x->dir, g_traders[t]);
    x->books[t] = map_durable(x->env, x->dir, path, sizeof(book), &fresh);
    return x->books[t];
}

static void exchange_start(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts)
{
    exchange *x = user;
    (void)restarts;
    x->env = env;
    x->dir = dir;
    memset(x->books, 0, sizeof x->books); /* the dead process's mappings are gone */
}

static void exchange_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    exchange *x = user;
    int t = trader_index(tcpshm_conn_remote_name(c));
    book *b = t >= 0 ? book_of(x, t) : NULL;
    if (!b)
        return; /* cannot book now: the order stays and comes again */
    uint32_t id = get32(m);
#ifdef ORDER_NAIVE
    book_add(b, qty_of(id));
#else
    if (id == book_orders(b)) /* not booked yet */
        book_add(b, qty_of(id));
#endif
    /* on the disk before the ack and the pop (durability host: a power loss
     * keeps only what was synced); a failed sync: the order comes again */
    if (x->env->map_sync(x->env->ctx, b, sizeof *b) != 0)
        return;
    CRASH_SITE("order/crash/booked_not_acked");
    if (tcpshm_conn_seq_end(c) == id && push32(c, MSG_ACK, id) != 0)
        return; /* the ack queue is full: the order comes again (booked already) */
    CRASH_SITE("order/crash/acked_not_popped");
    tcpshm_conn_pop(c);
}

/* ------------------------------------------------------------ traders */

typedef struct trader {
    const char *name;
} trader;

static void trader_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    trader *tr = user;
    uint32_t want = tcpshm_conn_my_ack(c), got = get32(m);
    if (m->msg_type != MSG_ACK || got != want)
        tcpshm_sim_fail("trader %s: got the ack of order %u, expected %u", tr->name, got, want);
    tcpshm_conn_pop(c);
}

static void trader_step(void *user, int64_t now, tcpshm_conn *c)
{
    (void)user, (void)now;
    if (!tcpshm_sim_settling() && tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c) < WINDOW &&
        tcpshm_sim_random() % 3 == 0)
        (void)push32(c, MSG_ORDER, tcpshm_conn_seq_end(c));
}

/* ------------------------------------------------------------ the world */

static exchange g_exchange;
static trader g_trader[NTRADERS];

/* A pair the simulator reset (the core detected that a rollback or a power
 * loss lost part of it; the operator removed both sides' queues): both
 * processes are down and the trader's orders start again at id 0. The
 * orders of the old pair are gone with it: the trader's book goes too
 * (the operator's procedure for this application), and the invariant
 * holds the book to the new pair's orders only. */
static uint32_t g_resets[NTRADERS]; /* for the invariant's message */

static void pair_reset(void *user, const char *server, const char *client)
{
    (void)user, (void)server;
    int t = trader_index(client);
    if (t < 0)
        return;
    const tcpshm_env *e = tcpshm_sim_env();
    char path[128];
    snprintf(path, sizeof path, "exchange/%s.book", client);
    (void)e->remove(e->ctx, path);
    /* for good: a power loss (durability host) brings back an unsynced removal,
     * and with it a record of the old pair */
    (void)e->dir_sync(e->ctx, "exchange");
    g_resets[t]++;
}

/* Every order booked exactly once: never more than the trader pushed, and
 * at the end all of them, with their volume (since its pair's last reset,
 * if a loss reset it). */
static int booked_once(void *user, int64_t now, bool final, char *why, size_t n)
{
    (void)user, (void)now;
    if (!tcpshm_sim_alive("exchange"))
        return 0; /* its mappings died with it */
    for (int t = 0; t < NTRADERS; t++) {
        tcpshm_conn *c = tcpshm_sim_conn(g_traders[t], "exchange");
        const book *b = g_exchange.books[t];
        if (!c || !b)
            continue;
        uint32_t pushed = tcpshm_conn_seq_end(c);
        uint32_t volume = 0;
        for (uint32_t i = 0; i < pushed; i++)
            volume += qty_of(i);
        uint32_t orders = book_orders(b);
        if (orders > pushed || (final && (orders != pushed || book_volume(b) != volume))) {
            snprintf(why, n, "trader %s pushed %u orders (volume %u), the exchange booked %u (volume %u)%s",
                     g_traders[t], pushed, volume, orders, book_volume(b),
                     g_resets[t] ? " since the pair's last reset" : "");
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static tcpshm_sim_world w;
    tcpshm_config_default(&w.config);
    w.server = (tcpshm_sim_node){.name = "exchange", .dir = "exchange", .start = exchange_start};
    w.server.server.user = &g_exchange;
    w.server.server.on_msg = exchange_msg;
    for (int i = 0; i < NTRADERS; i++) {
        g_trader[i].name = g_traders[i];
        w.clients[i] = (tcpshm_sim_node){.name = g_traders[i], .dir = g_traders[i], .step = trader_step};
        w.clients[i].client.user = &g_trader[i];
        w.clients[i].client.on_msg = trader_msg;
    }
    w.nclients = NTRADERS;
    w.check = booked_once;
    w.pair_reset = pair_reset; /* and so the rollback and power-loss kinds (process durability) */
    return tcpshm_sim_main(argc, argv, &w);
}
