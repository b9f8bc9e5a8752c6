/* The connection API over the SHM transport: login with use_shm, echo,
 * poll_shm in its own threads, resume after a client restart, a new server
 * name empties the segments, a foreign segment is refused with a reason, a
 * peer writing garbage sizes gets its connection closed, a full SHM group
 * serves its last slot, and the refusals
 * (transport switch, SHM disabled). Names carry the pid so that runs in
 * parallel do not share segments. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tcp_harness.h"
#include "tcpshm/shm_queue.h"

static th h;
static char srv_name[16], srv_name2[16], cli_name[16];

static void setup(void)
{
    th_init(&h);
    h.use_shm = true;
    snprintf(srv_name, sizeof srv_name, "s%d", (int)getpid());
    snprintf(srv_name2, sizeof srv_name2, "t%d", (int)getpid());
    snprintf(cli_name, sizeof cli_name, "c%d", (int)getpid());
}
static void teardown(void) { th_fini(&h); }
TestSuite(shm_conn, .init = setup, .fini = teardown, .timeout = 120);

static bool got_at_least(th *t, void *arg) { return t->clients[0].side.received >= (uint32_t)(uintptr_t)arg; }
static bool srv_got_at_least(th *t, void *arg) { return t->srv_side.received >= (uint32_t)(uintptr_t)arg; }

/* Pumps until the server has the `sent` messages, intact, and no more. */
static void server_gets_exactly(uint32_t sent)
{
    cr_assert(th_pump_until(&h, srv_got_at_least, (void *)(uintptr_t)sent, 2000), "server got %u of %u",
              h.srv_side.received, sent);
    cr_assert_eq(h.srv_side.bad, 0, "%s", h.srv_side.bad_text);
    cr_assert_eq(h.srv_side.received, sent);
}

/* Polls (100 rounds at most, step_ns each) until side saw a close. */
static void poll_until_closed(const th_side *side, int64_t step_ns)
{
    for (int i = 0; i < 100 && side->disconnects == 0; i++)
        th_poll(&h, step_ns);
}

static tcpshm_conn *login_ok(uint32_t c)
{
    th_login(&h, c);
    cr_assert(th_pump_until(&h, th_client_logged_in, (void *)(uintptr_t)c, 2000), "login: %s / server: %s",
              h.clients[c].side.last_reason, h.srv_side.last_reason);
    tcpshm_conn *conn = tcpshm_client_conn(h.clients[c].cl);
    cr_assert_not_null(conn);
    return conn;
}

static void segment_name(char *out, size_t n, const char *from, const char *to)
{
    cr_assert_eq(tcpshm_shm_queue_name(out, n, from, to), 0);
}

Test(shm_conn, login_and_echo_random_sizes)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_echo = true;
    tcpshm_conn *conn = login_ok(c);
    cr_assert(tcpshm_conn_is_connected(conn));
    cr_assert_str_eq(tcpshm_conn_remote_name(conn), srv_name);
    /* both segments exist, owner-only */
    char seg[64];
    segment_name(seg, sizeof seg, cli_name, srv_name);
    char path[96];
    snprintf(path, sizeof path, "/dev/shm%s", seg);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    cr_assert_eq(st.st_mode & 0777, 0600);
    const uint32_t n = 5000;
    uint64_t rng = 7;
    uint32_t sent = 0;
    for (int round = 0; round < 400000 && h.clients[c].side.received < n; round++) {
        while (sent < n) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint16_t body = (uint16_t)(4 + (rng >> 33) % (h.cfg.max_msg_size - 12));
            if (!th_push(conn, sent, body, false))
                break; /* full: the server drains it */
            sent++;
        }
        th_poll(&h, 10000);
    }
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, n, "client got %u of %u", h.clients[c].side.received, n);
    cr_assert_eq(h.srv_side.received, n);
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
    cr_assert_eq(tcpshm_conn_seq_end(conn), n, "the segment counts messages as seq numbers");
}

/* Every SHM slot of the group in use: poll_shm scans the slots in use (a
 * prefix, none is ever freed) and must reach the last one. */
Test(shm_conn, a_full_group_serves_its_last_slot)
{
    h.cfg.shm_groups = 1;
    h.cfg.shm_conns_per_group = 2;
    th_start_server(&h, srv_name);
    h.server_echo = true;
    char second[20];
    snprintf(second, sizeof second, "%sb", cli_name);
    uint32_t a = th_add_client(&h, cli_name), b = th_add_client(&h, second);
    tcpshm_conn *ca = login_ok(a), *cb = login_ok(b);
    const uint32_t n = 50;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert(th_push(ca, i, 16, false));
        cr_assert(th_push(cb, i, 24, false));
    }
    for (int round = 0; round < 2000 && (h.clients[a].side.received < n || h.clients[b].side.received < n); round++)
        th_poll(&h, 1000);
    cr_assert_eq(h.clients[b].side.received, n, "the last slot's client got %u of %u echoes",
                 h.clients[b].side.received, n);
    cr_assert_eq(h.clients[a].side.received, n, "the first slot's client got %u of %u echoes",
                 h.clients[a].side.received, n);
    cr_assert_eq(h.clients[a].side.bad + h.clients[b].side.bad, 0, "%s%s", h.clients[a].side.bad_text,
                 h.clients[b].side.bad_text);
}

Test(shm_conn, heartbeats_keep_an_idle_link_and_a_silent_peer_times_out)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    login_ok(c);
    for (int i = 0; i < 300; i++) /* 3 s of virtual time, timeout 1 s */
        th_poll(&h, 10 * 1000000LL);
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
    cr_assert_eq(h.clients[c].side.disconnects, 0, "%s", h.clients[c].side.last_reason);
    h.clients[c].paused = true;
    for (int i = 0; i < 200; i++)
        th_poll(&h, 10 * 1000000LL);
    cr_assert_eq(h.srv_side.disconnects, 1);
    cr_assert_str_eq(h.srv_side.last_reason, "Timeout");
}

Test(shm_conn, client_restart_resumes_without_loss_or_duplicate)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_consume = true;
    tcpshm_conn *conn = login_ok(c);
    uint32_t sent = 0;
    for (int life = 0; life < 5; life++) {
        for (int k = 0; k < 40; k++)
            cr_assert(th_push(conn, sent++, (uint16_t)(8 + k), false));
        th_poll(&h, 1000); /* the server takes some of them, perhaps */
        th_destroy_client(&h, c); /* as if killed: the segments stay */
        for (int i = 0; i < 50; i++)
            th_poll(&h, 10 * 1000000LL); /* the server notices */
        th_recreate_client(&h, c);
        conn = login_ok(c);
        cr_assert_eq(tcpshm_conn_seq_end(conn), sent, "the producer position survives the restart");
    }
    server_gets_exactly(sent);
}

Test(shm_conn, server_restart_same_name_resumes)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_echo = true;
    tcpshm_conn *conn = login_ok(c);
    uint32_t sent = 0;
    for (int life = 0; life < 3; life++) {
        for (int k = 0; k < 30; k++)
            cr_assert(th_push(conn, sent++, 20, false));
        th_poll(&h, 1000);
        th_stop_server(&h);
        for (int i = 0; i < 20; i++)
            th_poll(&h, 100 * 1000000LL); /* the client sees the link go */
        th_start_server(&h, srv_name);
        conn = login_ok(c);
    }
    cr_assert(th_pump_until(&h, got_at_least, (void *)(uintptr_t)sent, 3000), "client got %u of %u",
              h.clients[c].side.received, sent);
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, sent);
}

Test(shm_conn, new_server_name_empties_the_segments)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    tcpshm_conn *conn = login_ok(c);
    for (uint32_t k = 0; k < 5; k++) /* never consumed: the server does not pop */
        cr_assert(th_push(conn, 100 + k, 16, false));
    th_stop_server(&h);
    th_poll(&h, 2000 * 1000000LL);
    th_start_server(&h, srv_name2); /* another name: a new connection */
    login_ok(c);
    th_stop_server(&h);
    th_poll(&h, 2000 * 1000000LL);
    th_start_server(&h, srv_name); /* the first name again: its old segments hold 5 messages */
    h.server_consume = true;
    conn = login_ok(c);
    cr_assert_eq(tcpshm_conn_seq_end(conn), 0, "a new name starts the stream at 0");
    for (int i = 0; i < 100; i++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.srv_side.received, 0, "old messages of a discarded stream were delivered");
    cr_assert(th_push(conn, 0, 16, false));
    cr_assert(th_pump_until(&h, srv_got_at_least, (void *)1, 1000));
    cr_assert_eq(h.srv_side.bad, 0, "%s", h.srv_side.bad_text);
}

Test(shm_conn, foreign_segment_is_refused_with_a_reason)
{
    char seg[64];
    segment_name(seg, sizeof seg, cli_name, srv_name);
    int fd = shm_open(seg, O_CREAT | O_RDWR | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, TCPSHM_SHM_HEADER_SIZE + h.cfg.shm_queue_size), 0);
    cr_assert_eq(pwrite(fd, "NOTOURS!", 8, 0), 8);
    close(fd);
    h.nserver_names = 1; /* let th_fini unlink it even if the server never starts */
    snprintf(h.server_names[0], sizeof h.server_names[0], "%s", srv_name);
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    th_login(&h, c);
    for (int i = 0; i < 100 && h.clients[c].side.rejects == 0; i++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.clients[c].side.rejects, 1);
    cr_assert_str_eq(h.clients[c].side.last_reason, "System error");
    cr_assert_eq(h.srv_side.file_errors, 1);
    cr_assert(strstr(h.srv_side.last_file_error, "bad magic"), "%s", h.srv_side.last_file_error);
}

Test(shm_conn, garbage_slot_sizes_close_the_connection)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_consume = true;
    login_ok(c);
    /* The client process turns hostile: it writes a slot word with the
     * expected seq (0) and an absurd length where the server reads next. */
    char seg[64];
    segment_name(seg, sizeof seg, cli_name, srv_name);
    int fd = shm_open(seg, O_RDWR, 0);
    cr_assert_geq(fd, 0);
    size_t len = TCPSHM_SHM_HEADER_SIZE + h.cfg.shm_queue_size;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(m, MAP_FAILED);
    uint64_t word = 0xfffffff8u; /* seq 0, length 4 GiB - 8 */
    __atomic_store_n((uint64_t *)(void *)(m + TCPSHM_SHM_HEADER_SIZE), word, __ATOMIC_RELEASE);
    munmap(m, len);
    poll_until_closed(&h.srv_side, 1000000);
    cr_assert_eq(h.srv_side.disconnects, 1);
    cr_assert(strstr(h.srv_side.last_reason, "Bad shm message"), "%s", h.srv_side.last_reason);
    cr_assert_eq(h.srv_side.received, 0);
}

Test(shm_conn, transport_switch_and_disabled_shm_are_refused)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.use_shm = false;
    login_ok(c);
    th_destroy_client(&h, c);
    for (int i = 0; i < 50; i++)
        th_poll(&h, 10 * 1000000LL);
    th_recreate_client(&h, c);
    h.use_shm = true;
    th_login(&h, c);
    for (int i = 0; i < 100 && h.clients[c].side.rejects == 0; i++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.clients[c].side.rejects, 1);
    cr_assert_str_eq(h.clients[c].side.last_reason, "Logged in over TCP before");

    th_stop_server(&h);
    h.cfg.shm_groups = 0;
    th_start_server(&h, srv_name);
    uint32_t d = th_add_client(&h, "other");
    th_login(&h, d);
    for (int i = 0; i < 100 && h.clients[d].side.rejects == 0; i++)
        th_poll(&h, 1000000);
    cr_assert_eq(h.clients[d].side.rejects, 1);
    cr_assert_str_eq(h.clients[d].side.last_reason, "Shared memory not enabled");
}

/* ---- poll_shm in its own threads, as the API allows ---- */

static volatile int stop_threads;

static void *server_shm_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_threads, __ATOMIC_ACQUIRE)) {
        tcpshm_server_poll_shm(h.srv, __atomic_load_n(&h.now, __ATOMIC_RELAXED), 0);
        sched_yield(); /* three busy threads may share two cores */
    }
    return NULL;
}

static void *client_shm_thread(void *arg)
{
    tcpshm_client *cl = arg;
    while (!__atomic_load_n(&stop_threads, __ATOMIC_ACQUIRE)) {
        tcpshm_client_poll_shm(cl);
        sched_yield();
    }
    return NULL;
}

Test(shm_conn, poll_shm_in_its_own_threads)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_echo = true;
    tcpshm_conn *conn = login_ok(c);
    /* from here the main thread polls only TCP; the threads poll SHM */
    h.cfg.shm_groups = 0; /* th_poll reads the group count from here: skip SHM */
    h.use_shm = false;
    pthread_t ts, tc;
    cr_assert_eq(pthread_create(&ts, NULL, server_shm_thread, NULL), 0);
    cr_assert_eq(pthread_create(&tc, NULL, client_shm_thread, h.clients[c].cl), 0);
    const uint32_t n = 100000;
    uint32_t sent = 0;
    time_t deadline = time(NULL) + 90; /* a liveness bound, not a speed target */
    for (long round = 0; time(NULL) < deadline && __atomic_load_n(&h.clients[c].side.received, __ATOMIC_RELAXED) < n;
         round++) {
        while (sent < n && th_push(conn, sent, (uint16_t)(4 + sent % 200), false))
            sent++;
        sched_yield();
        if (round % 64 == 0) {
            __atomic_store_n(&h.now, h.now + 100000, __ATOMIC_RELAXED);
            tcpshm_server_poll_ctl(h.srv, h.now);
            tcpshm_client_poll_tcp(h.clients[c].cl, h.now);
        }
    }
    __atomic_store_n(&stop_threads, 1, __ATOMIC_RELEASE);
    pthread_join(ts, NULL);
    pthread_join(tc, NULL);
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, n, "client got %u of %u (sent %u, server echoed %u, disc %u/%u %s %s)",
                 h.clients[c].side.received, n, sent, h.srv_side.received, h.srv_side.disconnects,
                 h.clients[c].side.disconnects, h.srv_side.last_reason, h.clients[c].side.last_reason);
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
}

/* ---- words any process can write (issue 13) ---- */

/* The 64-bit word at `offset` of the segment from -> to, written as a
 * third process would. Returns what was there. */
static uint64_t scribble(const char *from, const char *to, uint32_t offset, uint64_t value)
{
    char seg[64];
    segment_name(seg, sizeof seg, from, to);
    int fd = shm_open(seg, O_RDWR, 0);
    cr_assert_geq(fd, 0);
    size_t len = TCPSHM_SHM_HEADER_SIZE + h.cfg.shm_queue_size;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(m, MAP_FAILED);
    uint64_t old = __atomic_exchange_n((uint64_t *)(void *)(m + offset), value, __ATOMIC_ACQ_REL);
    munmap(m, len);
    return old;
}

/* seq_end and my_ack are this side's own counts: scribbling the words it
 * publishes moves neither, and the stream goes on in order. */
Test(shm_conn, scribbled_own_words_move_no_count)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_echo = true;
    tcpshm_conn *conn = login_ok(c);
    for (uint32_t k = 0; k < 10; k++)
        cr_assert(th_push(conn, k, 24, false));
    cr_assert(th_pump_until(&h, got_at_least, (void *)10, 1000));
    scribble(cli_name, srv_name, 64, 0x9e3779b97f4a7c15ull);  /* the client's pushed count */
    scribble(srv_name, cli_name, 128, 0x0badf00d0badf00dull); /* the client's popped count */
    cr_assert_eq(tcpshm_conn_seq_end(conn), 10);
    cr_assert_eq(tcpshm_conn_my_ack(conn), 10);
    for (uint32_t k = 10; k < 20; k++)
        cr_assert(th_push(conn, k, 24, false));
    cr_assert(th_pump_until(&h, got_at_least, (void *)20, 1000));
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.srv_side.bad, 0, "%s", h.srv_side.bad_text);
    cr_assert_eq(tcpshm_conn_my_ack(conn), 20);
    cr_assert_eq(h.clients[c].side.disconnects, 0, "%s", h.clients[c].side.last_reason);
}

/* The server's popped count, scribbled while the client's queue is full:
 * the client closes with a reason naming the word instead of writing over
 * unread messages; after a new login every message arrives once, in order. */
Test(shm_conn, scribbled_consumer_word_closes_naming_it)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_consume = true;
    tcpshm_conn *conn = login_ok(c);
    uint32_t sent = 0;
    for (; sent < 8; sent++)
        cr_assert(th_push(conn, sent, 100, false));
    cr_assert(th_pump_until(&h, srv_got_at_least, (void *)(uintptr_t)sent, 1000));
    h.server_consume = false;
    while (th_push(conn, sent, 100, false))
        sent++;
    /* a count past everything pushed, at the producer's position */
    uint64_t truth = scribble(cli_name, srv_name, 128, (uint64_t)(sent + 40) << 32);
    cr_assert(!th_push(conn, sent, 100, false), "the client wrote over unread messages");
    poll_until_closed(&h.clients[c].side, 1000000);
    cr_assert_eq(h.clients[c].side.disconnects, 1);
    char seg[64];
    segment_name(seg, sizeof seg, cli_name, srv_name);
    cr_assert(strstr(h.clients[c].side.last_reason, "Bad shm word") &&
                  strstr(h.clients[c].side.last_reason, seg) &&
                  strstr(h.clients[c].side.last_reason, "consumer position"),
              "%s", h.clients[c].side.last_reason);
    poll_until_closed(&h.srv_side, 10 * 1000000LL); /* the server notices */
    /* the word is put right (the server's next pop would do it too) */
    scribble(cli_name, srv_name, 128, truth);
    h.server_consume = true;
    login_ok(c);
    conn = tcpshm_client_conn(h.clients[c].cl);
    cr_assert(th_push(conn, sent, 100, false));
    sent++;
    server_gets_exactly(sent);
}

/* A slot word with a plausible length but another seq where the server
 * reads next: a close with a reason, not an endless wait. */
Test(shm_conn, scribbled_slot_seq_closes_the_connection)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_consume = true;
    login_ok(c);
    scribble(cli_name, srv_name, TCPSHM_SHM_HEADER_SIZE, (uint64_t)5 << 32 | 32u);
    poll_until_closed(&h.srv_side, 1000000);
    cr_assert_eq(h.srv_side.disconnects, 1, "the server waits for seq 0 behind a slot word of seq 5");
    cr_assert(strstr(h.srv_side.last_reason, "Bad shm message") && strstr(h.srv_side.last_reason, "seq 5"),
              "%s", h.srv_side.last_reason);
    cr_assert_eq(h.srv_side.received, 0);
}

/* The client's popped count in the server's segment, scribbled after the
 * client's last pop: the server, its queue full, closes naming it, and the
 * client's next login must put it right (it republishes the count its last
 * pop published). Without that, nothing would rewrite the word while the
 * client has nothing to pop: the server's queue full again, it would close
 * every login (a stall once seen in CI's ASan stage of test_shm_scribble). */
Test(shm_conn, scribbled_client_consumer_word_is_republished_at_login)
{
    th_start_server(&h, srv_name);
    uint32_t c = th_add_client(&h, cli_name);
    h.server_echo = true;
    tcpshm_conn *conn = login_ok(c);
    uint32_t sent = 0;
    for (; sent < 10; sent++)
        cr_assert(th_push(conn, sent, 40, false));
    cr_assert(th_pump_until(&h, got_at_least, (void *)(uintptr_t)sent, 1000));
    scribble(srv_name, cli_name, 128, (uint64_t)(sent + 400) << 32); /* past everything the server pushed */
    h.client_consume = false; /* the echoes fill the server's queue: it reads the word */
    for (int i = 0; i < 1000 && h.srv_side.disconnects == 0; i++) {
        if (th_push(conn, sent, 40, false))
            sent++;
        th_poll(&h, 1000000);
    }
    cr_assert_eq(h.srv_side.disconnects, 1, "the server's queue never looked full (%u pushed)", sent);
    cr_assert(strstr(h.srv_side.last_reason, "Bad shm word") && strstr(h.srv_side.last_reason, "consumer position"),
              "%s", h.srv_side.last_reason);
    poll_until_closed(&h.clients[c].side, 10 * 1000000LL); /* the client notices */
    cr_assert_eq(h.clients[c].side.disconnects, 1, "%s", h.clients[c].side.last_reason);
    /* nobody puts the word right by hand: the login must; the client still
     * pops nothing, so the server's queue fills again and reads the word */
    conn = login_ok(c);
    for (int i = 0; i < 1000; i++) {
        if (th_push(conn, sent, 40, false))
            sent++;
        th_poll(&h, 1000000);
    }
    cr_assert_eq(h.srv_side.disconnects, 1, "the server closed a login again: %s", h.srv_side.last_reason);
    h.client_consume = true;
    cr_assert(th_pump_until(&h, got_at_least, (void *)(uintptr_t)sent, 20000), "client got %u of %u echoes; server: %s",
              h.clients[c].side.received, sent, h.srv_side.last_reason);
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, sent);
    cr_assert_eq(h.srv_side.disconnects, 1, "the server closed a login again: %s", h.srv_side.last_reason);
}
