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
 *   -DORDER_POP_FIRST  books as the default does, but pops the order before
 *                  it pushes the ack: a kill between the two loses the ack,
 *                  which no invariant of the book sees. The orders are
 *                  marked as requests and the acks as their answers
 *                  (tcpshm_sim_request, tcpshm_sim_answer): the simulator
 *                  checks that each order is acknowledged exactly once and
 *                  before it is popped ("request 0 popped without its
 *                  echo", at once).
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
 * Names: each node lists identities (tcpshm_sim_node.identities), so the
 * simulator renames a killed node now and then or brings it back under a
 * name it had (the exchange alternates between two names on one address;
 * a trader restarts as another desk's login, with that name's directory).
 * A pair is a pair of names: the exchange keeps a book per pair
 * (<dir>/<exchange>_<trader>.book, in its current name's directory), and
 * the order ids are the pair's seqs.
 * When the protocol starts a pair again at a login (a new connection: the
 * trader last talked to another exchange name), both queues are at 0 at
 * on_logon, and the exchange empties that pair's book before it books
 * the new pair's first order (an order of the old pair that was booked
 * and not yet acknowledged is in the queue still: booked again, once).
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

/* Pushes a message of type t carrying v: an order (a request, which the
 * exchange must acknowledge exactly once, before it pops it), or the ack
 * of order v (its answer). Orders go now and then with push_more: a batch
 * the core sends (and, in durability host, syncs) with the next push or
 * its next poll, as a trader that sends a basket at once does. 0, or -1
 * when the queue is full. */
static int push32(tcpshm_conn *c, uint16_t t, uint32_t v)
{
    tcpshm_msg_header *h = tcpshm_conn_alloc(c, sizeof v);
    if (!h)
        return -1;
    h->msg_type = t;
    memcpy(h + 1, &v, sizeof v);
    if (t == MSG_ACK) {
        tcpshm_sim_answer(c, v);
        return tcpshm_conn_push(c);
    }
    tcpshm_sim_request(c);
    return tcpshm_sim_random() % 2 ? tcpshm_conn_push_more(c) : tcpshm_conn_push(c);
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

/* Every trader name (identity) of the world; trader i's first is
 * g_names[i][0]. Each has its own directory (its queue files, .lastserver). */
#define NAMES 3
static const tcpshm_sim_identity g_names[NTRADERS][NAMES] = {
    {{"t1", "t1"}, {"t1b", "t1b"}, {"t1c", "t1c"}},
    {{"t2", "t2"}, {"t2b", "t2b"}, {NULL, NULL}},
    {{"t3", "t3"}, {"t3b", "t3b"}, {"t3c", "t3c"}},
};
static const uint32_t g_nnames[NTRADERS] = {3, 2, 3};
/* the exchange's two names, a directory each (a restore from a backup
 * takes the whole directory of the name the exchange runs under) */
static const tcpshm_sim_identity g_exchange_names[2] = {{"exchange", "exchange"}, {"exchange-b", "exchange-b"}};
#define NBOOKS (NTRADERS * NAMES)

typedef struct exchange {
    const tcpshm_env *env;
    const char *dir;
    book *books[NBOOKS]; /* of the pairs of its current name; mapped, or NULL (not yet, or the process died) */
    bool emptied[NBOOKS]; /* false: the pair started again at a login, its book not emptied yet */
} exchange;

/* The book index of a trader name (-1: none of the world's). */
static int trader_index(const char *name)
{
    for (int i = 0; i < NTRADERS; i++)
        for (uint32_t k = 0; k < g_nnames[i]; k++)
            if (strcmp(g_names[i][k].name, name) == 0)
                return i * NAMES + (int)k;
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
    char path[160];
    bool fresh; /* a new book is all zeros: empty */
    snprintf(path, sizeof path, "%s/%s_%s.book", x->dir, tcpshm_sim_node_name(x), g_names[t / NAMES][t % NAMES].name);
    x->books[t] = map_durable(x->env, x->dir, path, sizeof(book), &fresh);
    return x->books[t];
}

/* The book of a pair that started again, emptied (on the disk before the
 * first order of the new pair is booked); false: not now, try again. */
static bool empty_book(exchange *x, int t)
{
    book *b = book_of(x, t);
    if (!b)
        return false;
    __atomic_store_n(b, 0, __ATOMIC_RELAXED);
    x->emptied[t] = x->env->map_sync(x->env->ctx, b, sizeof *b) == 0;
    return x->emptied[t];
}

static void exchange_start(void *user, const tcpshm_env *env, const char *dir, uint32_t restarts)
{
    exchange *x = user;
    (void)restarts;
    x->env = env;
    x->dir = dir; /* its current name's (tcpshm_sim_node_name) */
    memset(x->books, 0, sizeof x->books); /* the dead process's mappings are gone */
    for (int t = 0; t < NBOOKS; t++)
        x->emptied[t] = true;
}

/* A login of a trader: a pair at seq 0 both ways started again (a new
 * connection) or never booked anything; either way its book is empty now
 * (an order booked but not acknowledged is still queued: booked again). */
static void exchange_logon(void *user, tcpshm_conn *c, uint32_t group)
{
    exchange *x = user;
    (void)group;
    int t = trader_index(tcpshm_conn_remote_name(c));
    if (t >= 0 && tcpshm_conn_seq_end(c) == 0 && tcpshm_conn_my_ack(c) == 0) {
        x->emptied[t] = false;
        (void)empty_book(x, t);
    }
}

static void exchange_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    exchange *x = user;
    int t = trader_index(tcpshm_conn_remote_name(c));
    if (t >= 0 && !x->emptied[t] && !empty_book(x, t))
        return; /* the pair's book first: the order stays and comes again */
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
#ifdef ORDER_POP_FIRST
    tcpshm_conn_pop(c);
    CRASH_SITE("order/crash/popped_not_acked");
#endif
    /* the ack answers the order at the front (its id is its seq) */
    if (tcpshm_conn_seq_end(c) == id && push32(c, MSG_ACK, id) != 0)
        return; /* the ack queue is full: the order comes again (booked already) */
#ifndef ORDER_POP_FIRST
    CRASH_SITE("order/crash/acked_not_popped");
    tcpshm_conn_pop(c);
#endif
}

/* ------------------------------------------------------------ traders */

typedef struct trader {
    int desk; /* its index: its names are g_names[desk] */
} trader;

static void trader_msg(void *user, tcpshm_conn *c, tcpshm_msg_header *m)
{
    uint32_t want = tcpshm_conn_my_ack(c), got = get32(m);
    if (m->msg_type != MSG_ACK || got != want)
        tcpshm_sim_fail("trader %s: got the ack of order %u, expected %u", tcpshm_sim_node_name(user), got, want);
    tcpshm_conn_pop(c);
}

/* Orders within the window, until the faults stop. An ack may come before
 * its order (the exchange booked and acknowledged it, then this trader's
 * directory went back to before it): the order is pushed again, also while
 * settling, and the exchange, whose book has it, neither books nor
 * acknowledges it twice. Signed: unsigned, that read as a full window. */
static void trader_step(void *user, int64_t now, tcpshm_conn *c)
{
    (void)user, (void)now;
    int32_t unacked = (int32_t)(tcpshm_conn_seq_end(c) - tcpshm_conn_my_ack(c));
    if (unacked < 0 || (!tcpshm_sim_settling() && unacked < WINDOW && tcpshm_sim_random() % 3 == 0)) {
        (void)push32(c, MSG_ORDER, tcpshm_conn_seq_end(c));
    }
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
static uint32_t g_resets[NBOOKS]; /* for the invariant's message */

static void pair_reset(void *user, const char *server, const char *client)
{
    (void)user;
    int t = trader_index(client);
    if (t < 0)
        return;
    const tcpshm_env *e = tcpshm_sim_env();
    char path[160];
    snprintf(path, sizeof path, "%s/%s_%s.book", strcmp(server, g_exchange_names[0].name) == 0 ? g_exchange_names[0].dir
                                                                                            : g_exchange_names[1].dir,
             server, client);
    (void)e->remove(e->ctx, path);
    /* for good: a power loss (durability host) brings back an unsynced removal,
     * and with it a record of the old pair */
    (void)e->dir_sync(e->ctx, "exchange");
    g_resets[t]++;
}

/* Every order booked exactly once: never more than the trader pushed on
 * its pair with the exchange's current name, and at the end all of them,
 * with their volume (since the pair's last start: a reset after a loss,
 * or a new connection). */
static int booked_once(void *user, int64_t now, bool final, char *why, size_t n)
{
    (void)user, (void)now;
    const char *xname = tcpshm_sim_node_name(&g_exchange);
    if (!tcpshm_sim_alive(xname))
        return 0; /* its mappings died with it */
    for (int d = 0; d < NTRADERS; d++) {
        const char *tname = tcpshm_sim_node_name(&g_trader[d]);
        int t = trader_index(tname);
        tcpshm_conn *c = tcpshm_sim_conn(tname, xname);
        const book *b = g_exchange.books[t];
        if (!c || !b || !g_exchange.emptied[t])
            continue; /* no pair now, its book not mapped, or not emptied yet after a new start */
        uint32_t pushed = tcpshm_conn_seq_end(c);
        uint32_t volume = 0;
        for (uint32_t i = 0; i < pushed; i++)
            volume += qty_of(i);
        uint32_t orders = book_orders(b);
        if (orders > pushed || (final && (orders != pushed || book_volume(b) != volume))) {
            snprintf(why, n, "trader %s pushed %u orders (volume %u), %s booked %u (volume %u)%s", tname, pushed,
                     volume, xname, orders, book_volume(b),
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
    /* each node's first name, and the others it may take (rename, return) */
    w.server = (tcpshm_sim_node){.name = g_exchange_names[0].name, .dir = g_exchange_names[0].dir,
                                 .start = exchange_start, .identities = &g_exchange_names[1], .nidentities = 1};
    w.server.server.user = &g_exchange;
    w.server.server.on_msg = exchange_msg;
    w.server.server.on_logon = exchange_logon;
    for (int i = 0; i < NTRADERS; i++) {
        g_trader[i].desk = i;
        w.clients[i] = (tcpshm_sim_node){.name = g_names[i][0].name, .dir = g_names[i][0].dir, .step = trader_step,
                                         .identities = &g_names[i][1], .nidentities = g_nnames[i] - 1};
        w.clients[i].client.user = &g_trader[i];
        w.clients[i].client.on_msg = trader_msg;
    }
    w.nclients = NTRADERS;
    w.check = booked_once;
    w.pair_reset = pair_reset; /* and so the rollback and power-loss kinds (process durability) */
    return tcpshm_sim_main(argc, argv, &w);
}
