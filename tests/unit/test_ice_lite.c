/* ICE lite agent alone: every way a check can be wrong gets no answer (missing
 * credentials, tampered bytes, truncated, oversized, garbage), and roles, nomination,
 * address changes, replays and the bounded address table. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"

/* ---- lite agent: what gets no answer ----------------------------------------------- */

START_TEST(missing_fingerprint_or_integrity)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    /* FINGERPRINT removed: MESSAGE-INTEGRITY stays valid */
    iceh_wr16(m + 2, n - 8 - 20);
    ck_assert(iceh_mi_ok(m, n - 8, ICEH_L_PWD));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n - 8, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 1);
    /* MESSAGE-INTEGRITY removed, FINGERPRINT recomputed */
    n = iceh_good_check(m, sizeof(m), true);
    size_t mi = iceh_find_attr(m, n, 0x0008, NULL) - 4;
    memmove(m + mi, m + mi + 24, 8);
    n -= 24;
    iceh_wr16(m + 2, n - 20);
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_credentials, 1);
    /* built without a key at all, and without ICEH_USERNAME */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, NULL, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    n = iceh_make_check(m, sizeof(m), NULL, ICEH_L_PWD, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_credentials, 3);
    ck_assert_uint_eq(r.sent, 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    /* and the intact check is answered and nominates */
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_ptr_nonnull(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(every_tampered_byte_unanswered)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    uint8_t m[256], t[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    size_t mi_end = iceh_find_attr(m, n, 0x0008, NULL) + 20;
    for (size_t i = 0; i < n; i++)
        for (int fix = 0; fix < 2; fix++)
            for (unsigned bit = 0; bit < 8; bit++) {
                memcpy(t, m, n);
                t[i] ^= (uint8_t)(1u << bit);
                if (fix && i < mi_end)
                    iceh_fp_fix(t, n); /* then only MESSAGE-INTEGRITY can catch it */
                ck_assert_msg(dcgw_ice_lite_recv(ice, SA(a), t, n, 0) < 0, "byte %zu bit %u", i,
                              bit);
            }
    ck_assert_uint_eq(r.sent, 0);
    ck_assert_uint_eq(r.selected, 0);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    ck_assert_uint_gt(st->bad_fingerprint, 0);
    ck_assert_uint_gt(st->bad_integrity, 0);
    ck_assert_uint_gt(st->bad_username, 0);
    ck_assert_uint_gt(st->malformed, 0);
    ck_assert_uint_eq(st->checks_ok, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(truncated_oversized_garbage)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    uint8_t m[2048], t[2048];
    size_t n = iceh_good_check(m, sizeof(m), true);
    for (size_t k = 0; k < n; k++) {
        memcpy(t, m, k);
        ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, k, 0) < 0);
        if (k >= 20) { /* and with the length field made consistent */
            iceh_wr16(t + 2, k - 20);
            ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, k, 0) < 0);
        }
    }
    /* attribute length running past the end */
    memcpy(t, m, n);
    iceh_wr16(t + 22, 200);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), t, n, 0), DCGW_EMALFORMED);
    /* a valid check with 1000 bytes of an optional attribute is fine; over the cap not */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_L_PWD, false, 1, 0x8030, 1000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_L_PWD, false, 1, 0x8030, 1300);
    ck_assert_uint_gt(n, DCGW_STUN_MSG_MAX);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EMALFORMED);
    ck_assert_uint_eq(r.sent, 1);
    /* garbage, some of it with a STUN header and cookie */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(x % 200);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t[k] = (uint8_t)x;
        }
        if (len >= 20 && i % 2) {
            t[0] &= 0x01;
            t[1] = 0x01;
            iceh_wr16(t + 2, (len - 20) & ~3u);
            len = 20 + ((len - 20) & ~3u);
            memcpy(t + 4, m + 4, 4);
        }
        ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, len, 0) < 0);
    }
    ck_assert_uint_eq(r.sent, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(not_requests_and_bad_family)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), iceh_rfc_resp4, sizeof(iceh_rfc_resp4), 0),
                     DCGW_EPROTO);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    m[1] = 0x11; /* indication */
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->not_request, 2);
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(un), m, n, 0), DCGW_EUNSUPPORTED);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_addr, 1);
    ck_assert_uint_eq(r.sent, 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

/* ---- lite agent: roles, nomination, address changes -------------------------------- */

START_TEST(role_conflict_and_no_role)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    uint8_t m[256];
    size_t n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_L_PWD, true, -1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0111);
    size_t ec = iceh_find_attr(r.last, r.last_len, 0x0009, NULL);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 487);
    ck_assert(iceh_mi_ok(r.last, r.last_len, ICEH_L_PWD) && iceh_fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    /* no role attribute: answered, but USE-CANDIDATE is not taken from it */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_L_PWD, true, 0, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 2);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0101);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->role_conflicts, 1);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_role, 1);
    /* unknown comprehension-required attribute, authenticated: 420 */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_L_PWD, true, 1, 0x0031, 4);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(r.sent, 3);
    ec = iceh_find_attr(r.last, r.last_len, 0x0009, NULL);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 420);
    ck_assert_uint_gt(iceh_find_attr(r.last, r.last_len, 0x000a, NULL), 0);
    ck_assert(iceh_mi_ok(r.last, r.last_len, ICEH_L_PWD));
    /* ... and the same with a wrong password gets nothing */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, "wrongWrongWrong0123456", true, 1, 0x0031, 4);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(r.sent, 3);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(nomination_and_address_change)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000), b = iceh_v4("10.1.2.3", 40001);
    struct sockaddr_in6 c = iceh_v6("2001:db8::7", 40000);
    uint8_t m[256];
    /* a check without USE-CANDIDATE is answered but selects nothing */
    size_t n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 10), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    /* the same transaction again (a retransmission) does not select again */
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 11), 0);
    ck_assert_uint_eq(r.selected, 1);
    /* an invalid nomination from b does not move it */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, "wrongWrongWrong0123456", true, 1, 0, 0);
    ck_assert(dcgw_ice_lite_recv(ice, SA(b), m, n, 20) < 0);
    n = iceh_good_check(m, sizeof(m), true);
    m[n - 1] ^= 1;
    ck_assert(dcgw_ice_lite_recv(ice, SA(b), m, n, 21) < 0);
    /* a valid check without USE-CANDIDATE from b neither */
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 30), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(b)));
    ck_assert_uint_eq(r.selected, 1);
    /* a valid nomination from b moves it, then one from an IPv6 address */
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 40), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(b)));
    ck_assert(dcgw_addr_equal(SA(r.sel), SA(b)));
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(c), m, n, 50), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(c)));
    ck_assert_uint_eq(r.selected, 3);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->nominations, 3);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(replay_from_other_address_dropped)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000), evil = iceh_v4("203.0.113.66", 9);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(evil), m, n, 1), DCGW_EAUTH);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->replays, 1);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert(!dcgw_ice_lite_addr_known(ice, SA(evil)));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(address_table_bounded)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_with(&r, ICEH_L_UFRAG, ICEH_U_UFRAG, ICEH_L_PWD, 0, 2);
    struct sockaddr_in a = iceh_v4("10.0.0.1", 1), b = iceh_v4("10.0.0.2", 2),
                       c = iceh_v4("10.0.0.3", 3);
    uint8_t m[256];
    size_t n;
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 1), 0);
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 2), 0);
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 3), 0); /* a is fresher than b */
    n = iceh_good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(c), m, n, 4), 0);
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(a)));
    ck_assert(!dcgw_ice_lite_addr_known(ice, SA(b)));
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(c)));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->addrs_evicted, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

int main(void)
{
    const struct iceh_group groups[] = {
        {"lite_rejects",
         {missing_fingerprint_or_integrity, every_tampered_byte_unanswered,
          truncated_oversized_garbage, not_requests_and_bad_family}},
        {"lite_nomination",
         {role_conflict_and_no_role, nomination_and_address_change,
          replay_from_other_address_dropped, address_table_bounded}},
    };
    return iceh_run(groups, sizeof(groups) / sizeof(groups[0]));
}
