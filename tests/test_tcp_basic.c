/* Login and messages both ways over loopback. */
#include <criterion/criterion.h>

#include "tcp_harness.h"

static th h;
static void setup(void) { th_init(&h); }
static void teardown(void) { th_fini(&h); }
TestSuite(tcp_basic, .init = setup, .fini = teardown, .timeout = 120);

static bool echoes_done(th *t, void *arg)
{
    return t->clients[0].side.received >= (uint32_t)(uintptr_t)arg;
}

Test(tcp_basic, login_and_echo_random_sizes)
{
    th_start_server(&h, "server");
    uint32_t c = th_add_client(&h, "alice");
    h.server_echo = true;
    th_login(&h, c);
    cr_assert(th_pump_until(&h, th_client_logged_in, (void *)(uintptr_t)c, 2000), "login: %s",
              h.clients[c].side.last_reason);
    cr_assert_eq(h.srv_side.logons, 1);
    tcpshm_conn *conn = tcpshm_client_conn(h.clients[c].cl);
    cr_assert_not_null(conn);
    cr_assert_str_eq(tcpshm_conn_remote_name(conn), "server");
    const uint32_t n = 3000;
    uint64_t rng = 99;
    uint32_t sent = 0;
    for (int round = 0; round < 200000 && h.clients[c].side.received < n; round++) {
        /* Keep a window in flight: acks travel inside the data, so an echo
         * server whose queue fills with unacknowledged echoes stalls. */
        while (sent < n && sent - h.clients[c].side.received < 16) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint16_t body = (uint16_t)(4 + (rng >> 33) % (h.cfg.max_msg_size - 12));
            if (!th_push(conn, sent, body, (rng >> 20) & 1))
                break;
            sent++;
        }
        th_poll(&h, 100000);
    }
    cr_assert_eq(h.clients[c].side.bad, 0, "%s", h.clients[c].side.bad_text);
    cr_assert_eq(h.clients[c].side.received, n, "client got %u, server %u, sent %u, cl disc %u (%s), srv disc %u (%s), seq_end %u",
                 h.clients[c].side.received, h.srv_side.received, sent, h.clients[c].side.disconnects,
                 h.clients[c].side.last_reason, h.srv_side.disconnects, h.srv_side.last_reason, tcpshm_conn_seq_end(conn));
    cr_assert_eq(h.srv_side.received, n);
    cr_assert_eq(h.srv_side.disconnects, 0, "%s", h.srv_side.last_reason);
    (void)echoes_done;
}
