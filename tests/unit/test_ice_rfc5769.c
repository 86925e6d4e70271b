/* ICE: the RFC 5769 §2 vectors checked by the independent verifiers of helper_ice.c,
 * then fed to the lite agent (as sent, re-signed, tampered) and to the client (the
 * sample responses to a request with the RFC's transaction id). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"

/* ---- RFC 5769 ---------------------------------------------------------------------- */

START_TEST(rfc5769_helpers_agree_with_vectors)
{
    /* The local verifiers must accept the published vectors before they judge dcgw. */
    ck_assert(iceh_fp_ok(iceh_rfc_req, sizeof(iceh_rfc_req)) &&
              iceh_mi_ok(iceh_rfc_req, sizeof(iceh_rfc_req), ICEH_RFC_PWD));
    ck_assert(iceh_fp_ok(iceh_rfc_resp4, sizeof(iceh_rfc_resp4)) &&
              iceh_mi_ok(iceh_rfc_resp4, sizeof(iceh_rfc_resp4), ICEH_RFC_PWD));
    ck_assert(iceh_fp_ok(iceh_rfc_resp6, sizeof(iceh_rfc_resp6)) &&
              iceh_mi_ok(iceh_rfc_resp6, sizeof(iceh_rfc_resp6), ICEH_RFC_PWD));
    ck_assert(!iceh_mi_ok(iceh_rfc_req, sizeof(iceh_rfc_req), "VOkJxbRl1RmTxUk/WvJxBu"));
    struct sockaddr_in m = iceh_xor_mapped4(iceh_rfc_resp4, sizeof(iceh_rfc_resp4));
    struct sockaddr_in want = iceh_v4("192.0.2.1", 32853);
    ck_assert(dcgw_addr_equal(SA(m), SA(want)));
}
END_TEST

START_TEST(rfc5769_request_role_conflict_answered_487)
{
    /* The sample request carries ICE-CONTROLLED: it authenticates, and a lite agent
     * (controlled, never switching) answers 487 with integrity. */
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_with(&r, "evtj", "h6vY", ICEH_RFC_PWD, 0, 0);
    struct sockaddr_in from = iceh_v4("192.0.2.1", 32853);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), iceh_rfc_req, sizeof(iceh_rfc_req), 0),
                     DCGW_EPROTO);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    ck_assert_uint_eq(st->role_conflicts, 1);
    ck_assert_uint_eq(st->bad_integrity + st->bad_fingerprint + st->bad_username, 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0111); /* Binding error response */
    ck_assert_mem_eq(r.last + 4, iceh_rfc_req + 4, 16);
    uint16_t len = 0;
    size_t ec = iceh_find_attr(r.last, r.last_len, 0x0009, &len);
    ck_assert_uint_gt(ec, 0);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 487);
    ck_assert(iceh_mi_ok(r.last, r.last_len, ICEH_RFC_PWD) && iceh_fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(rfc5769_request_as_controlling_answered)
{
    /* The same request turned into a controlling one with USE-CANDIDATE kept out:
     * re-signed here, answered with a success response we verify independently. */
    uint8_t m[sizeof(iceh_rfc_req)];
    memcpy(m, iceh_rfc_req, sizeof(m));
    iceh_wr16(m + 48, 0x802a); /* ICE-CONTROLLED -> ICE-CONTROLLING */
    iceh_mi_check(m, sizeof(m), ICEH_RFC_PWD, true);
    iceh_fp_fix(m, sizeof(m));
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_with(&r, "evtj", "h6vY", ICEH_RFC_PWD, 0, 0);
    struct sockaddr_in from = iceh_v4("192.0.2.1", 32853);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0101);
    ck_assert_mem_eq(r.last + 4, m + 4, 16);
    ck_assert(iceh_mi_ok(r.last, r.last_len, ICEH_RFC_PWD) && iceh_fp_ok(r.last, r.last_len));
    struct sockaddr_in mapped = iceh_xor_mapped4(r.last, r.last_len);
    ck_assert(dcgw_addr_equal(SA(mapped), SA(from)));
    ck_assert(dcgw_addr_equal(SA(r.to), SA(from)));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice)); /* no USE-CANDIDATE */
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(from)));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(rfc5769_request_rejections)
{
    struct iceh_rec r;
    struct sockaddr_in from = iceh_v4("192.0.2.1", 32853);
    uint8_t m[sizeof(iceh_rfc_req)];
    /* wrong password */
    struct dcgw_ice_lite *ice = iceh_lite_with(&r, "evtj", "h6vY", "VOkJxbRl1RmTxUk/WvJxBu", 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), iceh_rfc_req, sizeof(iceh_rfc_req), 0),
                     DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    dcgw_ice_lite_free(ice);
    /* wrong remote ufrag */
    ice = iceh_lite_with(&r, "evtj", "h6vZ", ICEH_RFC_PWD, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), iceh_rfc_req, sizeof(iceh_rfc_req), 0),
                     DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_username, 1);
    dcgw_ice_lite_free(ice);
    ice = iceh_lite_with(&r, "evtj", "h6vY", ICEH_RFC_PWD, 0, 0);
    /* a byte of SOFTWARE changed: FINGERPRINT fails first */
    memcpy(m, iceh_rfc_req, sizeof(m));
    m[30] ^= 0x20;
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 1);
    /* ... and with FINGERPRINT recomputed, MESSAGE-INTEGRITY fails */
    iceh_fp_fix(m, sizeof(m));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    /* FINGERPRINT stripped (MESSAGE-INTEGRITY still valid) */
    memcpy(m, iceh_rfc_req, sizeof(m));
    iceh_wr16(m + 2, sizeof(m) - 8 - 20);
    ck_assert(iceh_mi_ok(m, sizeof(m) - 8, ICEH_RFC_PWD));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m) - 8, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 2);
    ck_assert_uint_eq(r.sent, 0);
    char u[16];
    ck_assert_int_eq(dcgw_stun_peek_username(iceh_rfc_req, sizeof(iceh_rfc_req), u, sizeof(u)), 4);
    ck_assert_str_eq(u, "evtj");
    dcgw_ice_lite_free(ice);
}
END_TEST

static void rfc5769_response(const uint8_t *resp, size_t n, const struct sockaddr *want)
{
    struct iceh_net t;
    struct sockaddr_in peer = iceh_v4("198.51.100.7", 3478), me = iceh_v4("10.0.0.1", 5000);
    iceh_net_init(&t, SA(me), SA(peer), ICEH_RFC_PWD);
    dcgw_ice_client_free(t.c);
    /* The client draws the RFC's transaction id; ICEH_USERNAME "evtj:h6vY". */
    static const uint8_t id[16] = {0,    0,    0,    0,    0xb7, 0xe7, 0xa7, 0x01,
                                   0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
    t.fixed_id = id;
    iceh_net_client(&t, "h6vY", "evtj", ICEH_RFC_PWD);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(peer), 0), 0);
    ck_assert_uint_eq(t.c_sent, 1);
    ck_assert_mem_eq(t.c_last + 8, id + 4, 12);
    ck_assert(iceh_mi_ok(t.c_last, t.c_last_len, ICEH_RFC_PWD) &&
              iceh_fp_ok(t.c_last, t.c_last_len));
    /* the response signed by someone else's key is refused, then the RFC's accepted */
    uint8_t bad[128];
    memcpy(bad, resp, n);
    iceh_mi_check(bad, n, "VOkJxbRl1RmTxUk/WvJxBu", true);
    iceh_fp_fix(bad, n);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), bad, n, 10), DCGW_EAUTH);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(me), resp, n, 10), DCGW_EPROTO);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CHECKING);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), resp, n, 10), 0);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CONNECTED);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert(dcgw_addr_equal(SA(t.mapped), want));
    /* the same response again matches no transaction */
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), resp, n, 11), DCGW_ENOENT);
    const struct dcgw_ice_client_stats *st = dcgw_ice_client_stats(t.c);
    ck_assert_uint_eq(st->bad_response, 1);
    ck_assert_uint_eq(st->wrong_source, 1);
    ck_assert_uint_eq(st->unmatched, 1);
    ck_assert_uint_eq(st->responses_ok, 1);
    iceh_net_dispose(&t);
}

START_TEST(rfc5769_response_ipv4)
{
    struct sockaddr_in want = iceh_v4("192.0.2.1", 32853);
    rfc5769_response(iceh_rfc_resp4, sizeof(iceh_rfc_resp4), SA(want));
}
END_TEST

START_TEST(rfc5769_response_ipv6)
{
    struct sockaddr_in6 want = iceh_v6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
    rfc5769_response(iceh_rfc_resp6, sizeof(iceh_rfc_resp6), SA(want));
}
END_TEST

int main(void)
{
    const struct iceh_group groups[] = {
        {"rfc5769",
         {rfc5769_helpers_agree_with_vectors, rfc5769_request_role_conflict_answered_487,
          rfc5769_request_as_controlling_answered, rfc5769_request_rejections,
          rfc5769_response_ipv4, rfc5769_response_ipv6}},
    };
    return iceh_run(groups, sizeof(groups) / sizeof(groups[0]));
}
