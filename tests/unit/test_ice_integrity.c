/* ICE: dcgw's own MESSAGE-INTEGRITY and FINGERPRINT (src/stages/ice_integrity.c) against
 * libnice's, both ways: checks libnice signs verify here, the lite agent's answers verify
 * with libnice's stun_agent_validate and are byte for byte what libnice's
 * stun_usage_ice_conncheck_create_reply writes; then what must fail (a wrong or tampered
 * MESSAGE-INTEGRITY, the wrong key, a wrong FINGERPRINT, MESSAGE-INTEGRITY of the wrong
 * size) and the attributes after MESSAGE-INTEGRITY that do not count. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"

/* A check signed by a libnice agent that keeps the transaction (and the key), so that
 * stun_agent_validate can then judge the answer as a response to it. */
static size_t signed_check(StunAgent *ag, uint8_t *buf, size_t cap, const char *pwd, bool use_cand)
{
    StunMessage m;
    stun_agent_init(ag, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    ck_assert(stun_agent_init_request(ag, &m, buf, cap, STUN_BINDING));
    stun_message_append_bytes(&m, STUN_ATTRIBUTE_USERNAME, ICEH_USERNAME, strlen(ICEH_USERNAME));
    stun_message_append32(&m, STUN_ATTRIBUTE_PRIORITY, 0x6e0001ff);
    stun_message_append64(&m, STUN_ATTRIBUTE_ICE_CONTROLLING, 0x1122334455667788ull);
    if (use_cand)
        stun_message_append_flag(&m, STUN_ATTRIBUTE_USE_CANDIDATE);
    size_t n = stun_agent_finish_message(ag, &m, (const uint8_t *)pwd, strlen(pwd));
    ck_assert_uint_gt(n, 0);
    return n;
}

/* What libnice's own ICE usage answers to `req` from `from` (the path dcgw took before). */
static size_t libnice_reply(const uint8_t *req, size_t n, const struct sockaddr *from, uint8_t *buf,
                            size_t cap)
{
    StunAgent ag;
    StunMessage m, resp;
    StunDefaultValidaterData creds[] = {{(uint8_t *)ICEH_USERNAME, strlen(ICEH_USERNAME),
                                         (uint8_t *)ICEH_L_PWD, strlen(ICEH_L_PWD)},
                                        {NULL, 0, NULL, 0}};
    struct sockaddr_storage src;
    memset(&src, 0, sizeof(src));
    memcpy(&src, from, dcgw_addr_len(from));
    stun_agent_init(&ag, dcgw__stun_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    ck_assert_int_eq(stun_agent_validate(&ag, &m, req, n, stun_agent_default_validater, creds),
                     STUN_VALIDATION_SUCCESS);
    bool control = false;
    size_t len = cap;
    ck_assert_int_eq(stun_usage_ice_conncheck_create_reply(&ag, &m, &resp, buf, &len, &src,
                                                           dcgw_addr_len(from), &control, 0,
                                                           STUN_USAGE_ICE_COMPATIBILITY_RFC5245),
                     STUN_USAGE_ICE_RETURN_SUCCESS);
    return len;
}

/* Moves the FINGERPRINT that ends m (n bytes) back by `len` bytes of attribute `type`
 * (value filled with `fill`) inserted after MESSAGE-INTEGRITY; fixes the length and the
 * FINGERPRINT. MESSAGE-INTEGRITY stays valid: it ends before the new attribute. */
static size_t insert_after_mi(uint8_t *m, size_t n, uint16_t type, uint16_t len, uint8_t fill)
{
    size_t at = iceh_find_attr(m, n, 0x0008, NULL) + 20, padded = (len + 3u) & ~3u;
    ck_assert_uint_eq(at, n - 8);
    memmove(m + at + 4 + padded, m + at, 8);
    iceh_wr16(m + at, type);
    iceh_wr16(m + at + 2, len);
    memset(m + at + 4, fill, padded);
    n += 4 + padded;
    iceh_wr16(m + 2, n - 20);
    iceh_fp_fix(m, n);
    return n;
}

/* ---- both ways against libnice ------------------------------------------------------ */

static void answer_matches_libnice(const struct sockaddr *from)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    StunAgent ue;
    uint8_t m[256], t[256], want[256];
    size_t n = signed_check(&ue, m, sizeof(m), ICEH_L_PWD, true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, from, m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0101);
    /* byte for byte what libnice's ICE usage writes for the same check */
    size_t wn = libnice_reply(m, n, from, want, sizeof(want));
    ck_assert_uint_eq(r.last_len, wn);
    ck_assert_mem_eq(r.last, want, wn);
    /* libnice's validator: a tampered copy (FINGERPRINT fixed) fails, the answer passes */
    StunMessage resp;
    memcpy(t, r.last, r.last_len);
    t[r.last_len - 40] ^= 0x01;
    iceh_fp_fix(t, r.last_len);
    ck_assert_int_eq(stun_agent_validate(&ue, &resp, t, r.last_len, NULL, NULL),
                     STUN_VALIDATION_UNAUTHORIZED);
    ck_assert_int_eq(stun_agent_validate(&ue, &resp, r.last, r.last_len, NULL, NULL),
                     STUN_VALIDATION_SUCCESS);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->checks_ok, 1);
    dcgw_ice_lite_free(ice);
}

START_TEST(answer_verifies_with_libnice_ipv4)
{
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    answer_matches_libnice(SA(a));
}
END_TEST

START_TEST(answer_verifies_with_libnice_ipv6)
{
    struct sockaddr_in6 a = iceh_v6("2001:db8::7", 40000);
    answer_matches_libnice(SA(a));
}
END_TEST

START_TEST(long_password_hashed_first)
{
    /* RFC 2104 §2: keys longer than SHA-1's 64-byte block are hashed first; an ice-pwd
     * may have 256 characters. libnice and OpenSSL's HMAC() judge dcgw's work. */
    char pwd[DCGW_ICE_PWD_MAX + 1];
    const size_t lens[] = {DCGW_ICE_PWD_MIN, 63, 64, 65, DCGW_ICE_PWD_MAX};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        memset(pwd, 'p', lens[i]);
        pwd[lens[i]] = '\0';
        pwd[0] = (char)('A' + i);
        struct iceh_rec r;
        struct dcgw_ice_lite *ice = iceh_lite_with(&r, ICEH_L_UFRAG, ICEH_U_UFRAG, pwd, 0, 0);
        struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
        StunAgent ue;
        StunMessage resp;
        uint8_t m[256];
        size_t n = signed_check(&ue, m, sizeof(m), pwd, false);
        ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
        ck_assert(iceh_mi_ok(r.last, r.last_len, pwd) && iceh_fp_ok(r.last, r.last_len));
        ck_assert_int_eq(stun_agent_validate(&ue, &resp, r.last, r.last_len, NULL, NULL),
                         STUN_VALIDATION_SUCCESS);
        /* the same check keyed with one character less gets nothing */
        pwd[lens[i] - 1] = '\0';
        n = signed_check(&ue, m, sizeof(m), pwd, false);
        ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
        ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
        ck_assert_uint_eq(r.sent, 1);
        dcgw_ice_lite_free(ice);
    }
}
END_TEST

START_TEST(seal_and_check_directly)
{
    struct dcgw__stun_key *k = NULL;
    ck_assert_int_eq(dcgw__stun_key_new(ICEH_RFC_PWD, strlen(ICEH_RFC_PWD), &k), 0);
    /* the RFC 5769 request: its MESSAGE-INTEGRITY at 76, FINGERPRINT last */
    struct dcgw__stun_view v;
    ck_assert_int_eq(dcgw__stun_parse(iceh_rfc_req, sizeof(iceh_rfc_req), &v), 0);
    ck_assert(v.integrity && v.fingerprint);
    ck_assert_uint_eq(v.integrity_off, 76);
    ck_assert(dcgw__stun_fingerprint_ok(iceh_rfc_req, sizeof(iceh_rfc_req)));
    ck_assert_int_eq(dcgw__stun_integrity_check(k, iceh_rfc_req, sizeof(iceh_rfc_req), 76), 0);
    /* an offset that is not MESSAGE-INTEGRITY, or runs past the end */
    ck_assert_int_eq(dcgw__stun_integrity_check(k, iceh_rfc_req, sizeof(iceh_rfc_req), 20),
                     DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw__stun_integrity_check(k, iceh_rfc_req, 90, 76), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw__stun_integrity_check(k, iceh_rfc_req, sizeof(iceh_rfc_req), 8),
                     DCGW_EMALFORMED);
    /* the IPv4 sample response sealed again from its first 48 bytes (header, SOFTWARE,
     * XOR-MAPPED-ADDRESS; the length field still counts the rest): the RFC's bytes */
    uint8_t m[128];
    memcpy(m, iceh_rfc_resp4, 48);
    ck_assert_uint_eq(dcgw__stun_seal(k, m, 48, sizeof(m)), sizeof(iceh_rfc_resp4));
    ck_assert_mem_eq(m, iceh_rfc_resp4, sizeof(iceh_rfc_resp4));
    /* no room: nothing written past cap */
    memcpy(m, iceh_rfc_resp4, 48);
    memset(m + 48, 0xee, sizeof(m) - 48);
    ck_assert_uint_eq(dcgw__stun_seal(k, m, 48, 48 + DCGW__STUN_SEAL_LEN - 1), 0);
    ck_assert_uint_eq(m[48], 0xee);
    ck_assert_uint_eq(dcgw__stun_seal(k, m, 12, sizeof(m)), 0);
    dcgw__stun_key_free(k);
    dcgw__stun_key_free(NULL);
}
END_TEST

/* ---- what must fail ---------------------------------------------------------------- */

START_TEST(wrong_integrity_and_key)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    uint8_t m[256];
    /* MESSAGE-INTEGRITY of other bytes (FINGERPRINT right) */
    size_t n = iceh_good_check(m, sizeof(m), true);
    size_t mi = iceh_find_attr(m, n, 0x0008, NULL);
    for (int i = 0; i < 20; i++)
        m[mi + i] = (uint8_t)(i * 37 + 1);
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_integrity, 1);
    /* one bit of it off */
    n = iceh_good_check(m, sizeof(m), true);
    m[mi + 19] ^= 0x80;
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_integrity, 2);
    /* signed with the UE's own password, and with ours but one character changed */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, ICEH_U_PWD, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, "dcgwLitePassword0123457", true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_integrity, 4);
    /* a byte MESSAGE-INTEGRITY covers changed (PRIORITY), FINGERPRINT fixed */
    n = iceh_good_check(m, sizeof(m), true);
    size_t prio = iceh_find_attr(m, n, 0x0024, NULL);
    m[prio + 3] ^= 0x01;
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    /* ... and the header's type and transaction id are covered too */
    n = iceh_good_check(m, sizeof(m), true);
    m[19] ^= 0x01;
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_integrity, 6);
    ck_assert_uint_eq(st->bad_fingerprint + st->malformed + st->bad_username, 0);
    ck_assert_uint_eq(r.sent, 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(wrong_fingerprint)
{
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    for (int byte = 1; byte <= 4; byte++) {
        m[n - byte] ^= 0x10;
        ck_assert(!dcgw__stun_fingerprint_ok(m, n));
        ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
        m[n - byte] ^= 0x10;
    }
    /* the CRC without the xor of RFC 8489 §14.7 (what a CRC-32 alone gives) */
    uint32_t v = (uint32_t)iceh_rd16(m + n - 4) << 16 | iceh_rd16(m + n - 2);
    v ^= 0x5354554eu;
    iceh_wr16(m + n - 4, v >> 16);
    iceh_wr16(m + n - 2, v & 0xffff);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_fingerprint, 5);
    ck_assert_uint_eq(st->bad_integrity, 0); /* FINGERPRINT is checked first */
    ck_assert_uint_eq(r.sent, 0);
    n = iceh_good_check(m, sizeof(m), true);
    ck_assert(dcgw__stun_fingerprint_ok(m, n));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(integrity_of_wrong_size)
{
    /* MESSAGE-INTEGRITY is 20 bytes (RFC 8489 §14.5); any other length is malformed before
     * any HMAC, even with everything around it consistent. */
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    struct dcgw__stun_view v;
    const uint16_t lens[] = {0, 4, 16, 19, 21, 24, 32};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t m[256], t[256];
        size_t n = iceh_good_check(m, sizeof(m), true);
        size_t mi = iceh_find_attr(m, n, 0x0008, NULL) - 4, padded = (lens[i] + 3u) & ~3u;
        /* header .. MI header with the new length, `padded` bytes, FINGERPRINT */
        memcpy(t, m, mi + 4);
        iceh_wr16(t + mi + 2, lens[i]);
        memset(t + mi + 4, 0x5a, padded);
        memcpy(t + mi + 4 + padded, m + n - 8, 8);
        size_t tn = mi + 4 + padded + 8;
        iceh_wr16(t + 2, tn - 20);
        iceh_fp_fix(t, tn);
        ck_assert_int_eq(dcgw__stun_parse(t, tn, &v), DCGW_EMALFORMED);
        ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), t, tn, 0), DCGW_EMALFORMED);
    }
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->malformed, 7);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 0);
    ck_assert_uint_eq(r.sent, 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(attributes_after_integrity)
{
    /* RFC 8489 §14.5: of the attributes after MESSAGE-INTEGRITY only FINGERPRINT counts;
     * they are not covered, so an attacker on the path could add them. */
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_new(&r);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    struct dcgw__stun_view v;
    uint8_t m[256];
    /* USE-CANDIDATE after it does not nominate */
    size_t n = iceh_good_check(m, sizeof(m), false);
    n = insert_after_mi(m, n, 0x0025, 0, 0);
    ck_assert_int_eq(dcgw__stun_parse(m, n, &v), 0);
    ck_assert(v.integrity && !v.use_candidate);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    /* ICE-CONTROLLED after it gets no 487, an unknown comprehension-required attribute
     * no 420: a success response each time */
    n = iceh_good_check(m, sizeof(m), false);
    n = insert_after_mi(m, n, 0x8029, 8, 1);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0101);
    n = iceh_good_check(m, sizeof(m), false);
    n = insert_after_mi(m, n, 0x0031, 4, 2);
    ck_assert_int_eq(dcgw__stun_parse(m, n, &v), 0);
    ck_assert(!v.unknown);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(iceh_rd16(r.last), 0x0101);
    ck_assert_uint_eq(st->role_conflicts + st->unknown_attrs, 0);
    /* a second MESSAGE-INTEGRITY after a wrong first one does not rescue it */
    n = iceh_good_check(m, sizeof(m), false);
    size_t mi = iceh_find_attr(m, n, 0x0008, NULL);
    uint8_t good[20];
    memcpy(good, m + mi, 20);
    m[mi] ^= 0xff;
    n = insert_after_mi(m, n, 0x0008, 20, 0);
    memcpy(m + mi + 24, good, 20);
    iceh_fp_fix(m, n);
    ck_assert_int_eq(dcgw__stun_parse(m, n, &v), 0);
    ck_assert_uint_eq(v.integrity_off, mi - 4);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(st->bad_integrity, 1);
    /* FINGERPRINT anywhere but last is malformed: two of them, or one before another
     * attribute (the last one made an optional attribute) */
    n = iceh_good_check(m, sizeof(m), false);
    n = insert_after_mi(m, n, 0x8028, 4, 3);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EMALFORMED);
    iceh_wr16(m + n - 8, 0x8030);
    ck_assert_int_eq(dcgw__stun_parse(m, n, &v), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EMALFORMED);
    ck_assert_uint_eq(st->malformed, 2);
    ck_assert_uint_eq(st->checks_ok, 3);
    ck_assert_uint_eq(r.sent, 3);
    dcgw_ice_lite_free(ice);
}
END_TEST

int main(void)
{
    const struct iceh_group groups[] = {
        {"integrity_libnice",
         {answer_verifies_with_libnice_ipv4, answer_verifies_with_libnice_ipv6,
          long_password_hashed_first, seal_and_check_directly}},
        {"integrity_rejects",
         {wrong_integrity_and_key, wrong_fingerprint, integrity_of_wrong_size,
          attributes_after_integrity}},
    };
    return iceh_run(groups, sizeof(groups) / sizeof(groups[0]));
}
