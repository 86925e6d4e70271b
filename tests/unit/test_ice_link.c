/* ICE: a client and a lite agent back to back in memory (no sockets, injected time):
 * connecting over IPv4 and IPv6, retransmission, giving up, lossy links, wrong
 * credentials, what the client drops, and RFC 7675 consent kept alive and lost. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"

/* ---- back to back ------------------------------------------------------------------ */

static void back_to_back(const struct sockaddr *caddr, const struct sockaddr *laddr)
{
    struct iceh_net t;
    iceh_net_init(&t, caddr, laddr, ICEH_L_PWD);
    ck_assert_ptr_null(dcgw_ice_lite_peer(t.l));
    ck_assert_int_eq(dcgw_ice_lite_state(t.l), DCGW_ICE_LITE_WAITING);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(t.l), UINT64_MAX);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, laddr, 0), 0);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, laddr, 0), DCGW_ESTATE);
    iceh_net_run(&t, 1000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.c_sent, 1);
    ck_assert(dcgw_addr_equal(SA(t.mapped), caddr)); /* XOR-MAPPED-ADDRESS = source */
    ck_assert_uint_eq(t.lr.selected, 1);
    ck_assert(dcgw_addr_equal(SA(t.lr.sel), caddr));
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(t.l), caddr));
    ck_assert_int_eq(dcgw_ice_lite_state(t.l), DCGW_ICE_LITE_SELECTED);
    ck_assert(iceh_mi_ok(t.c_last, t.c_last_len, ICEH_L_PWD) && iceh_fp_ok(t.c_last, t.c_last_len));
    ck_assert(iceh_mi_ok(t.lr.last, t.lr.last_len, ICEH_L_PWD) &&
              iceh_fp_ok(t.lr.last, t.lr.last_len));
    ck_assert(dcgw_ice_lite_addr_known(t.l, caddr));
    ck_assert(!dcgw_ice_lite_addr_known(t.l, laddr));
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->checks_ok, 1);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->nominations, 1);
    iceh_net_dispose(&t);
}

START_TEST(back_to_back_ipv4)
{
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    back_to_back(SA(c), SA(l));
}
END_TEST

START_TEST(back_to_back_ipv6)
{
    struct sockaddr_in6 c = iceh_v6("2001:db8::1", 40000), l = iceh_v6("2001:db8::2", 3478);
    back_to_back(SA(c), SA(l));
}
END_TEST

START_TEST(client_retransmits_after_loss)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
    t.drop_first = 3;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    iceh_net_run(&t, 10000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.c_sent, 4 + dcgw_ice_client_stats(t.c)->consent_sent);
    /* RTO 50 ms doubling: sends at 0, 50, 150, 350 */
    ck_assert_uint_eq(t.send_times[1], 50);
    ck_assert_uint_eq(t.send_times[2], 150);
    ck_assert_uint_eq(t.send_times[3], 350);
    ck_assert_uint_eq(dcgw_ice_client_stats(t.c)->retransmits, 3);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->checks_ok,
                      1 + dcgw_ice_client_stats(t.c)->consent_sent);
    iceh_net_dispose(&t);
}
END_TEST

START_TEST(client_gives_up)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
    t.block_c2l = true;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    iceh_net_run(&t, 4749);
    ck_assert_uint_eq(t.failed, 0);
    iceh_net_run(&t, 60000);
    /* 0, 50, 150, 350, 750, then every 800 (cap) up to 9 sends; gives up 800 ms later */
    ck_assert_uint_eq(t.c_sent, DCGW_ICE_CLIENT_MAX_TX_DEFAULT);
    ck_assert_uint_eq(t.send_times[4], 750);
    ck_assert_uint_eq(t.send_times[5], 1550);
    ck_assert_uint_eq(t.send_times[8], 3950);
    ck_assert_uint_eq(t.failed, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_FAILED);
    ck_assert_uint_eq(dcgw_ice_client_next_timeout(t.c), UINT64_MAX);
    iceh_net_dispose(&t);
}
END_TEST

START_TEST(client_connects_over_lossy_link)
{
    for (uint64_t seed = 1; seed <= 25; seed++) {
        struct iceh_net t;
        struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
        iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
        lossy_init(&t.c2l, 20, 10, 30, seed);
        lossy_init(&t.l2c, 20, 10, 30, seed * 7919);
        ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
        iceh_net_run(&t, 5000);
        ck_assert_msg(t.connected == 1, "seed %llu", (unsigned long long)seed);
        ck_assert_uint_eq(t.lr.selected, 1);
        /* lighter loss: consent must survive two minutes of it */
        lossy_init(&t.c2l, 5, 10, 30, seed);
        lossy_init(&t.l2c, 5, 10, 30, seed * 7919);
        iceh_net_run(&t, 120000);
        ck_assert_msg(t.lr.lost + t.c_lost == 0, "seed %llu", (unsigned long long)seed);
        iceh_net_dispose(&t);
    }
}
END_TEST

START_TEST(wrong_password_no_answer)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), "notTheLitePassword0123");
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    iceh_net_run(&t, 60000);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_integrity, DCGW_ICE_CLIENT_MAX_TX_DEFAULT);
    ck_assert_uint_eq(t.failed, 1);
    ck_assert_ptr_null(dcgw_ice_lite_peer(t.l));
    iceh_net_dispose(&t);
}
END_TEST

START_TEST(wrong_ufrag_no_answer)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
    dcgw_ice_client_free(t.c);
    iceh_net_client(&t, "uE+2", ICEH_L_UFRAG, ICEH_L_PWD); /* right password, wrong remote ufrag */
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    iceh_net_run(&t, 200);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_username, 3);
    dcgw_ice_client_free(t.c);
    iceh_net_client(&t, ICEH_U_UFRAG, "LiTx", ICEH_L_PWD); /* wrong local ufrag */
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 300), 0);
    iceh_net_run(&t, 300);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_username, 4);
    iceh_net_dispose(&t);
}
END_TEST

/* ---- consent ----------------------------------------------------------------------- */

START_TEST(consent_lost_after_timeout)
{
    struct iceh_rec r;
    uint64_t now = 0;
    struct dcgw_ice_lite *ice =
        iceh_lite_with(&r, ICEH_L_UFRAG, ICEH_U_UFRAG, ICEH_L_PWD, 30000, 0);
    r.now = &now;
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000), b = iceh_v4("10.1.2.4", 40000);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 1000), 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 31000);
    dcgw_ice_lite_handle_timeout(ice, now = 30999);
    ck_assert_uint_eq(r.lost, 0);
    /* a valid check from the selected address refreshes ... */
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 20000), 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 50000);
    /* ... one from elsewhere or an invalid one does not */
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, now = 40000), 0);
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, "wrongWrongWrong0123456", false, 1, 0, 0);
    ck_assert(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 41000) < 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 50000);
    dcgw_ice_lite_handle_timeout(ice, now = 49999);
    ck_assert_uint_eq(r.lost, 0);
    dcgw_ice_lite_handle_timeout(ice, now = 50000);
    ck_assert_uint_eq(r.lost, 1);
    ck_assert_uint_eq(r.lost_at, 50000);
    ck_assert_int_eq(dcgw_ice_lite_state(ice), DCGW_ICE_LITE_CONSENT_LOST);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), UINT64_MAX);
    dcgw_ice_lite_handle_timeout(ice, now = 90000);
    ck_assert_uint_eq(r.lost, 1); /* once */
    /* after the loss nothing is answered any more */
    unsigned sent = r.sent;
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now), DCGW_ESTATE);
    ck_assert_uint_eq(r.sent, sent);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->consent_lost, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(consent_kept_alive_then_lost)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    iceh_net_run(&t, 120000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.lr.lost + t.c_lost, 0);
    uint64_t consent = dcgw_ice_client_stats(t.c)->consent_sent;
    ck_assert_uint_ge(consent, 120 / 6);
    ck_assert_uint_le(consent, 120 / 4 + 1);
    /* RFC 7675: 4 to 6 s between consent checks */
    for (unsigned i = 1; i < t.c_sent && i < 64; i++) {
        ck_assert_uint_ge(t.send_times[i] - t.send_times[i - 1], 4000);
        ck_assert_uint_le(t.send_times[i] - t.send_times[i - 1], 6000);
    }
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->consent_refreshes, consent);
    ck_assert_uint_eq(dcgw_ice_client_stats(t.c)->responses_ok, consent + 1);
    /* the UE goes away: both sides notice within the timeout */
    t.block_c2l = true;
    uint64_t cut = t.now;
    iceh_net_run(&t, cut + 40000);
    ck_assert_uint_eq(t.lr.lost, 1);
    ck_assert_uint_ge(t.lr.lost_at, cut + 30000 - 6000);
    ck_assert_uint_le(t.lr.lost_at, cut + 30000);
    ck_assert_uint_eq(t.c_lost, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CONSENT_LOST);
    iceh_net_dispose(&t);
}
END_TEST

START_TEST(client_drops_non_responses)
{
    struct iceh_net t;
    struct sockaddr_in c = iceh_v4("10.1.2.3", 40000), l = iceh_v4("10.9.9.9", 3478);
    iceh_net_init(&t, SA(c), SA(l), ICEH_L_PWD);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), m, n, 0), DCGW_ESTATE); /* idle */
    t.block_c2l = true;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    /* a request, an error response (type changed, re-fingerprinted), garbage */
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), m, n, 1), DCGW_EPROTO);
    uint8_t e[256];
    memcpy(e, t.c_last, t.c_last_len);
    e[0] = 0x01, e[1] = 0x11;
    iceh_fp_fix(e, t.c_last_len);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, t.c_last_len, 1), DCGW_EPROTO);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, 7, 1), DCGW_EMALFORMED);
    /* a success response without integrity */
    e[1] = 0x01;
    size_t mi = iceh_find_attr(e, t.c_last_len, 0x0008, NULL) - 4;
    memmove(e + mi, e + mi + 24, 8);
    iceh_wr16(e + 2, t.c_last_len - 24 - 20);
    iceh_fp_fix(e, t.c_last_len - 24);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, t.c_last_len - 24, 1), DCGW_EAUTH);
    const struct dcgw_ice_client_stats *st = dcgw_ice_client_stats(t.c);
    ck_assert_uint_eq(st->not_response, 2);
    ck_assert_uint_eq(st->malformed, 1);
    ck_assert_uint_eq(st->bad_response, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CHECKING);
    iceh_net_dispose(&t);
}
END_TEST

int main(void)
{
    const struct iceh_group groups[] = {
        {"back_to_back",
         {back_to_back_ipv4, back_to_back_ipv6, client_retransmits_after_loss, client_gives_up,
          client_connects_over_lossy_link, wrong_password_no_answer, wrong_ufrag_no_answer,
          client_drops_non_responses}},
        {"consent", {consent_lost_after_timeout, consent_kept_alive_then_lost}},
    };
    return iceh_run(groups, sizeof(groups) / sizeof(groups[0]));
}
