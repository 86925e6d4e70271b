/* Relay handshake inspector, crafted records (helper_dtls_inspect.c): everything a real
 * stack never sends, fragmented, reordered, malformed, oversized; settings and re-entry. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/error.h"
#include "helper_dtls_inspect.h"
#include "helper_suite.h"

START_TEST(crafted_handshake_fragmented_out_of_order)
{
    struct craft c;
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    uint8_t m[400];
    uint32_t n = (uint32_t)tinsp_cert_msg(m, c.der[1], sizeof(c.der[1]));
    /* three overlapping fragments, last first, one twice, two in one record */
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, n, 1, 200, n - 200, m + 200)),
                     0);
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, n, 1, 200, n - 200, m + 200)),
                     0);
    uint8_t two[1024];
    size_t t = tinsp_put_frag(two, 11, n, 1, 0, 120, m);
    t += tinsp_put_frag(two + t, 11, n, 1, 100, 150, m + 100);
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_put_rec(c.buf, 22, 0, two, t)),
                     DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->duplicates, 1);
    /* a retransmission that differs from the verified bytes is refused */
    uint8_t evil[400];
    memcpy(evil, m, n);
    evil[50] ^= 1;
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, n, 1, 0, n, evil)),
                     DCGW_INSPECT_DROP);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->conflicts, 1);
    ck_assert_int_eq(tinsp_craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    /* after verification: the same retransmission, a new hello or Certificate are refused */
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, n, 1, 0, n, evil)),
                     DCGW_INSPECT_DROP);
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 0,
                         tinsp_hs_rec(c.buf, 1, sizeof(CH_BODY), 2, 0, sizeof(CH_BODY), CH_BODY)),
        DCGW_INSPECT_DROP);
    ck_assert_int_eq(tinsp_craft_feed(&c, 0, tinsp_hs_rec(c.buf, 11, n, 4, 0, n, m)),
                     DCGW_INSPECT_DROP);
    ck_assert_int_eq(tinsp_craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(malformed_records_are_dropped)
{
    struct craft c;
    tinsp_craft_init(&c, 0, 0);
    uint8_t *b = c.buf;
    size_t n;
    tinsp_drop_malformed(&c, 0, 0, "empty datagram");
    n = tinsp_hs_rec(b, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY);
    tinsp_drop_malformed(&c, 0, 5, "truncated record header");
    tinsp_drop_malformed(&c, 0, 12, "record header one byte short");
    b[12] += 1;
    tinsp_drop_malformed(&c, 0, n, "record length beyond the datagram");
    /* a good record followed by a bad one: the whole datagram goes, nothing is applied */
    b[12] -= 1;
    memcpy(b + n, "\x16\xfe\xfd\x00", 4);
    tinsp_drop_malformed(&c, 0, n + 4, "trailing garbage");
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(c.in, &st);
    ck_assert_int_eq(st.client, -1);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 0)->fragments, 0);

    static const uint8_t types[] = {0, 19, 24, 25, 26, 0x40, 0x80, 0xff};
    for (unsigned i = 0; i < sizeof(types); i++) {
        n = tinsp_put_rec(b, types[i], 0, (const uint8_t *)"\x01\x02", 2);
        tinsp_drop_malformed(&c, i & 1, n, "unknown content type");
    }
    n = tinsp_put_rec(b, 22, 0, CH_BODY, 0);
    tinsp_drop_malformed(&c, 0, n, "empty handshake record");
    n = tinsp_put_rec(b, 22, 0, CH_BODY, 11);
    tinsp_drop_malformed(&c, 0, n, "truncated handshake header");
    n = tinsp_hs_rec(b, 1, 15, 0, 10, 10, CH_BODY);
    tinsp_drop_malformed(&c, 0, n, "fragment beyond message length");
    n = tinsp_hs_rec(b, 1, 0xffffff, 0, 0xffffff, 2, CH_BODY);
    tinsp_drop_malformed(&c, 0, n, "fragment_offset + fragment_length overflow");
    n = tinsp_hs_rec(b, 1, 0xffffff, 0, 0xfffffe, 1, CH_BODY);
    b[13 + 11] = 2; /* fragment_length 2 in a record that carries 1 */
    tinsp_drop_malformed(&c, 0, n, "fragment beyond its record");
    n = tinsp_hs_rec(b, 1, sizeof(CH_BODY), DCGW_INSPECT_MAX_MESSAGE_SEQ, 0, sizeof(CH_BODY),
                     CH_BODY);
    tinsp_drop_malformed(&c, 0, n, "message_seq out of range");
    n = tinsp_hs_rec(b, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY);
    b[1] = 0x03, b[2] = 0x03;
    tinsp_drop_malformed(&c, 0, n, "TLS record version");
    n = tinsp_put_rec(b, 20, 0, (const uint8_t *)"\x02", 1);
    tinsp_drop_malformed(&c, 0, n, "ChangeCipherSpec of value 2");
    n = tinsp_put_rec(b, 21, 0, (const uint8_t *)"\x02\x28\x00", 3);
    tinsp_drop_malformed(&c, 1, n, "three-byte alert");
    n = tinsp_put_rec(b, 23, 0, (const uint8_t *)"data", 4);
    tinsp_drop_malformed(&c, 1, n, "application data in epoch 0");
    n = tinsp_put_rec(b, 23, 1, (const uint8_t *)"data", 4);
    tinsp_drop_malformed(&c, 1, n, "application data before verification");
    n = tinsp_put_rec(b, 22, 1, (const uint8_t *)"encrypted?", 10);
    tinsp_drop_malformed(&c, 1, n, "epoch 1 before any hello");
    n = tinsp_put_rec(b, 20, 0, (const uint8_t *)"\x01", 1);
    tinsp_drop_malformed(&c, 1, n, "ChangeCipherSpec before any hello");
    n = tinsp_put_rec(b, 22, 7, (const uint8_t *)"whatever", 8);
    tinsp_drop_malformed(&c, 0, n, "epoch 7");
    memcpy(b, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT));
    tinsp_drop_malformed(&c, 0, sizeof(DTLS13_CIPHERTEXT) - 4, "DTLS 1.3 header while inspecting");
    tinsp_drop_malformed(&c, 0, sizeof(DTLS13_CIPHERTEXT), "DTLS 1.3 ciphertext while inspecting");
    n = tinsp_put_rec(b, 21, 0, (const uint8_t *)"\x01\x00", 2);
    n += tinsp_put_rec(b + n, 99, 0, (const uint8_t *)"\x01\x02", 2);
    tinsp_drop_malformed(&c, 0, n, "unknown type in a second record");
    /* none of it wedged the flow: a good handshake still verifies */
    tinsp_craft_hellos(&c);
    tinsp_craft_finish(&c);
    /* an alert passes */
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 0, tinsp_put_rec(b, 21, 0, (const uint8_t *)"\x02\x28", 2)),
        DCGW_INSPECT_PASS);
    dcgw_dtls_inspect_free(c.in);

    /* API misuse */
    tinsp_craft_init(&c, 0, 0);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, 2, b, 1), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, -1, b, 1), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, 0, NULL, 1), DCGW_EINVAL);
    ck_assert_ptr_null(dcgw_dtls_inspect_side(c.in, 2));
    ck_assert_ptr_null(dcgw_dtls_inspect_stats(c.in, -1));
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(malformed_messages_are_dropped)
{
    struct craft c;
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    uint8_t m[600], *b = c.buf;
    size_t n;
    /* certificate_list length says more than there is */
    n = tinsp_cert_msg(m, c.der[1], sizeof(c.der[1]));
    m[2] += 10;
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 1, 0, (uint32_t)n, m),
                         "list length lies");
    /* one certificate's length runs past the list */
    n = tinsp_cert_msg(m, c.der[1], sizeof(c.der[1]));
    m[5] += 1;
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 1, 0, (uint32_t)n, m),
                         "cert length lies");
    /* a zero-length certificate */
    static const uint8_t zero[] = {0, 0, 3, 0, 0, 0};
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, 6, 1, 0, 6, zero), "zero-length certificate");
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->bad_messages, 3);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_PENDING);
    /* fragments that contradict each other */
    n = tinsp_cert_msg(m, c.der[1], sizeof(c.der[1]));
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 1, 0, 100, m)), 0);
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n + 1, 1, 100, 100, m + 100),
                         "other length");
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 12, (uint32_t)n, 1, 100, 100, m + 100),
                         "other type");
    m[50] ^= 0xff;
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 1, 40, 100, m + 40),
                         "other bytes");
    m[50] ^= 0xff;
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 0, 0, 100, m),
                         "Certificate before hello");
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 11, (uint32_t)n, 3, 0, 100, m),
                         "Certificate not after hello");
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 1, sizeof(CH_BODY), 1, 0, sizeof(CH_BODY), CH_BODY),
                         "ClientHello from the server");
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 2, sizeof(SH_BODY), 1, 0, sizeof(SH_BODY), SH_BODY),
                         "ServerHello from the client");
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 1,
                         tinsp_hs_rec(b, 11, (uint32_t)n, 1, 100, (uint32_t)n - 100, m + 100)),
        DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_int_eq(tinsp_craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);

    /* a hello that does not parse is dropped and forgotten; the good one is read after */
    tinsp_craft_init(&c, 0, 0);
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 1, 30, 0, 0, 30, CH_BODY), "short ClientHello");
    uint8_t ext[sizeof(CH_BODY) + 2];
    memcpy(ext, CH_BODY, sizeof(CH_BODY));
    ext[sizeof(CH_BODY)] = 0, ext[sizeof(CH_BODY) + 1] = 9; /* extensions: 9 bytes, none there */
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 1, sizeof(ext), 0, 0, sizeof(ext), ext),
                         "extensions lie");
    tinsp_craft_hellos(&c);
    tinsp_craft_finish(&c);
    dcgw_dtls_inspect_free(c.in);

    /* the same side's messages keep failing: uninspectable, and the policy rejects it */
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    for (int i = 0; i < DCGW_INSPECT_MAX_BAD_MESSAGES; i++)
        tinsp_craft_feed(&c, 0, tinsp_hs_rec(b, 11, 6, 1, 0, 6, zero));
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 0)->err, DCGW_EMALFORMED);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(missing_certificates_block)
{
    struct craft c;
    uint8_t *b = c.buf;
    static const uint8_t empty_list[4] = {0, 0, 0, 0};
    /* _i: 0 the client sends an empty list, 1 the server does, 2 the client's next message
     * is a ClientKeyExchange, 3 the server's is a ServerKeyExchange, 4 the server sends
     * ChangeCipherSpec without a Certificate (resumption) */
    int side = _i == 0 || _i == 2 ? 0 : 1;
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    size_t n;
    if (_i == 4)
        ck_assert_int_eq(tinsp_craft_cert(&c, 0), DCGW_INSPECT_PASS); /* the client's is fine */
    if (_i < 2)
        n = tinsp_hs_rec(b, 11, 3, 1, 0, 3, empty_list);
    else if (_i < 4)
        n = tinsp_hs_rec(b, _i == 2 ? 16 : 12, 4, 1, 0, 4, empty_list);
    else
        n = tinsp_put_rec(b, 20, 0, (const uint8_t *)"\x01", 1);
    ck_assert_int_eq(tinsp_craft_feed(&c, side, n), DCGW_INSPECT_BLOCK);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(c.in, &st);
    ck_assert_int_eq(st.side, side);
    ck_assert_int_eq(st.err, DCGW_EPROTO);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, side)->cert, DCGW_INSPECT_CERT_NONE);
    dcgw_dtls_inspect_free(c.in);
    /* a client's ChangeCipherSpec may overtake its Certificate: not a failure by itself */
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    ck_assert_int_eq(tinsp_craft_feed(&c, 0, tinsp_put_rec(b, 20, 0, (const uint8_t *)"\x01", 1)),
                     0);
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 0, tinsp_put_rec(b, 22, 1, (const uint8_t *)"finished", 8)), 0);
    ck_assert(dcgw_dtls_inspect_side(c.in, 0)->ccs_seen);
    tinsp_craft_finish(&c);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

/* A hello body followed by an extensions block. */
static size_t hello_with(uint8_t *o, const uint8_t *body, size_t n, const uint8_t *ext, size_t en)
{
    memcpy(o, body, n);
    o[n] = (uint8_t)(en >> 8), o[n + 1] = (uint8_t)en;
    memcpy(o + n + 2, ext, en);
    return n + 2 + en;
}

START_TEST(crafted_hellos)
{
    struct craft c;
    uint8_t *b = c.buf, h[256];
    size_t n;
    static const uint8_t odd_list[] = {0, 43, 0, 4, 3, 0xfe, 0xfd, 0xfe};
    static const uint8_t long_ext[] = {0, 43, 0, 9, 2, 0xfe, 0xfd};
    static const uint8_t sv12[] = {0, 43, 0, 3, 2, 0xfe, 0xfd, 0xff, 0x01, 0, 1, 0};
    static const uint8_t sel_bad[] = {0, 43, 0, 3, 0xfe, 0xfd, 0};
    static const uint8_t sel12[] = {0, 43, 0, 2, 0xfe, 0xfd};
    tinsp_craft_init(&c, 0, 0);
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), odd_list, sizeof(odd_list));
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h),
                         "odd version list");
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), long_ext, sizeof(long_ext));
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h),
                         "extension too long");
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), sv12, sizeof(sv12));
    ck_assert_int_eq(tinsp_craft_feed(&c, 0, tinsp_hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h)),
                     0);
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 2, 20, 0, 0, 20, SH_BODY), "short ServerHello");
    n = hello_with(h, SH_BODY, sizeof(SH_BODY), sel_bad, sizeof(sel_bad));
    tinsp_drop_malformed(&c, 1, tinsp_hs_rec(b, 2, (uint32_t)n, 0, 0, (uint32_t)n, h),
                         "3-byte selection");
    /* the server's Certificate overtakes its ServerHello: read once the hello is there */
    ck_assert_int_eq(tinsp_craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_PENDING);
    n = hello_with(h, SH_BODY, sizeof(SH_BODY), sel12, sizeof(sel12));
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(b, 2, (uint32_t)n, 0, 0, (uint32_t)n, h)),
                     0);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_int_eq(tinsp_craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);

    /* a "Certificate" two places after where the ServerHello turns out to be is forgotten */
    tinsp_craft_init(&c, 0, 0);
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 0,
                         tinsp_hs_rec(b, 1, sizeof(CH_BODY), 1, 0, sizeof(CH_BODY), CH_BODY)),
        0);
    uint8_t m[400];
    uint32_t cm = (uint32_t)tinsp_cert_msg(m, c.der[1], sizeof(c.der[1]));
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(b, 11, cm, 2, 0, 50, m)),
                     DCGW_INSPECT_PASS);
    ck_assert_int_eq(
        tinsp_craft_feed(&c, 1,
                         tinsp_hs_rec(b, 2, sizeof(SH_BODY), 0, 0, sizeof(SH_BODY), SH_BODY)),
        0);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->buffered_peak, cm + (cm + 7) / 8);
    /* message_seq 2 is free again: a ServerKeyExchange may take it */
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(b, 12, 4, 2, 0, 4, m)),
                     DCGW_INSPECT_PASS);
    ck_assert_int_eq(tinsp_craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    /* the client's hello was at message_seq 1: a Certificate at 0 cannot be its own */
    tinsp_drop_malformed(&c, 0, tinsp_hs_rec(b, 11, cm, 0, 0, cm, m),
                         "Certificate before its hello");
    tinsp_cert_msg(m, c.der[0], sizeof(c.der[0])); /* as long as the far end's */
    ck_assert_int_eq(tinsp_craft_feed(&c, 0, tinsp_hs_rec(b, 11, cm, 2, 0, cm, m)),
                     DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    /* an epoch-0 record above 2^14 bytes (RFC 6347 §4.1) */
    static uint8_t big[13 + 16385];
    tinsp_put_rec(big, 21, 0, big + 13, 16385);
    ck_assert_int_eq(tinsp_feed(c.in, 0, big, sizeof(big)), DCGW_INSPECT_DROP);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(reassembly_bound_follows_the_policy)
{
    for (int allow = 0; allow < 2; allow++) {
        struct craft c;
        tinsp_craft_init(&c, allow ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : 0, 4096);
        tinsp_craft_hellos(&c);
        /* a Certificate that claims 5000 bytes: over the 4 KiB bound at its first fragment */
        int v = tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, 5000, 1, 0, 10, c.der[1]));
        ck_assert_int_eq(v, allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(c.in, 1);
        ck_assert_int_eq(sd->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
        ck_assert_int_eq(sd->err, DCGW_ELIMIT);
        ck_assert_ptr_nonnull(strstr(sd->reason, "4096-byte bound"));
        ck_assert_int_eq(dcgw_dtls_inspect_state(c.in),
                         allow ? DCGW_INSPECT_UNINSPECTED_ALLOWED : DCGW_INSPECT_BLOCKED);
        /* application data now follows the decision */
        v = tinsp_craft_feed(&c, 0, tinsp_put_rec(c.buf, 23, 1, (const uint8_t *)"data", 4));
        ck_assert_int_eq(v, allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        dcgw_dtls_inspect_free(c.in);
    }
    /* just under the bound is fine: message + bitmap */
    struct craft c;
    tinsp_craft_init(&c, 0, 4096);
    tinsp_craft_hellos(&c);
    ck_assert_int_eq(tinsp_craft_feed(&c, 1, tinsp_hs_rec(c.buf, 11, 3600, 1, 0, 10, c.der[1])), 0);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->buffered_peak, 3600 + 450);
    dcgw_dtls_inspect_free(c.in);

    /* an end-entity certificate above DCGW_CERT_DER_MAX is not hashed: uninspectable */
    tinsp_craft_init(&c, 0, 0);
    tinsp_craft_hellos(&c);
    static uint8_t der[DCGW_CERT_DER_MAX + 1000], msg[sizeof(der) + 6], dgram[13 + 12 + 10000];
    memset(der, 0x42, sizeof(der));
    uint32_t ml = (uint32_t)tinsp_cert_msg(msg, der, sizeof(der));
    int v = DCGW_INSPECT_PASS;
    for (uint32_t off = 0; off < ml; off += 10000) {
        ck_assert_int_eq(v, DCGW_INSPECT_PASS);
        uint32_t fl = ml - off < 10000 ? ml - off : 10000;
        size_t fn = tinsp_put_frag(dgram + 13, 11, ml, 1, off, fl, msg + off);
        v = tinsp_feed(c.in, 1, dgram, tinsp_put_rec(dgram, 22, 0, dgram + 13, fn));
    }
    ck_assert_int_eq(v, DCGW_INSPECT_BLOCK);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->err, DCGW_ELIMIT);
    ck_assert_ptr_nonnull(strstr(dcgw_dtls_inspect_side(c.in, 1)->reason, "cannot be hashed"));
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(settings_are_validated)
{
    struct dcgw_fingerprint fp = {.alg = DCGW_HASH_SHA256, .len = 32}, bad = fp;
    bad.len = 20;
    struct dcgw_fingerprint many[DCGW_INSPECT_MAX_FINGERPRINTS + 1];
    for (size_t i = 0; i < DCGW_INSPECT_MAX_FINGERPRINTS + 1; i++)
        many[i] = fp;
    struct dcgw_dtls_inspect *in = NULL;
    struct dcgw_dtls_inspect_settings s = {.fps = {&fp, &fp}, .n_fps = {1, 1}};
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), 0);
    dcgw_dtls_inspect_free(in);
    dcgw_dtls_inspect_free(NULL);
    in = NULL;
    s.n_fps[1] = 0;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.n_fps[1] = 1;
    s.fps[0] = &bad;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.fps[0] = many;
    s.n_fps[0] = DCGW_INSPECT_MAX_FINGERPRINTS + 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.n_fps[0] = DCGW_INSPECT_MAX_FINGERPRINTS;
    s.max_handshake_bytes = DCGW_INSPECT_HANDSHAKE_BYTES_MIN - 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_ERANGE);
    s.max_handshake_bytes = DCGW_INSPECT_HANDSHAKE_BYTES_MAX + 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_ERANGE);
    s.max_handshake_bytes = 0;
    s.policy = (enum dcgw_dtls_inspect_policy)7;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    ck_assert_ptr_null(in);
    ck_assert_str_eq(dcgw_dtls_inspect_verdict_name(DCGW_INSPECT_DROP), "drop");
    ck_assert_str_eq(dcgw_dtls_inspect_verdict_name(-5), "?");
    ck_assert_str_eq(dcgw_dtls_inspect_cert_name(DCGW_INSPECT_CERT_MISMATCH), "mismatch");
    ck_assert_str_eq(dcgw_dtls_inspect_state_name(DCGW_INSPECT_UNINSPECTED_ALLOWED),
                     "uninspected-allowed");
}
END_TEST

/* The owner's callback may query but not feed the inspector. */
static struct dcgw_dtls_inspect *reentry_in;
static int reentry_rc;

static void on_state_reenter(void *ud, enum dcgw_dtls_inspect_state st, int side)
{
    (void)ud, (void)st, (void)side;
    reentry_rc = dcgw_dtls_inspect_datagram(reentry_in, 0, (const uint8_t *)"x", 1);
    ck_assert_int_eq(dcgw_dtls_inspect_state(reentry_in), DCGW_INSPECT_VERIFIED);
}

/* ... and may free it: released when the datagram call returns (base/reentry.h). */
static int freed_in_cb;

static void on_state_free(void *ud, enum dcgw_dtls_inspect_state st, int side)
{
    (void)ud, (void)side;
    ck_assert_int_eq(st, DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(reentry_in);
    freed_in_cb++;
    /* still there until the call that raised us returns */
    ck_assert_int_eq(dcgw_dtls_inspect_state(reentry_in), DCGW_INSPECT_VERIFIED);
}

START_TEST(callback_may_not_reenter)
{
    struct craft c;
    tinsp_craft_init(&c, 0, 0);
    dcgw_dtls_inspect_free(c.in);
    struct dcgw_dtls_inspect_settings s = {.fps = {c.io.fps[0], c.io.fps[1]}, .n_fps = {1, 1}};
    struct dcgw_dtls_inspect_callbacks cbs = {.on_state = on_state_reenter};
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, &cbs, &c.in), 0);
    reentry_in = c.in;
    tinsp_craft_hellos(&c);
    tinsp_craft_finish(&c);
    ck_assert_int_eq(reentry_rc, DCGW_ESTATE);
    dcgw_dtls_inspect_free(c.in);

    /* a free from on_state: the verdict still comes back, the memory goes after it (the
     * sanitizer build sees any use after free) */
    cbs.on_state = on_state_free;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, &cbs, &c.in), 0);
    reentry_in = c.in;
    tinsp_craft_hellos(&c);
    ck_assert_int_eq(tinsp_craft_cert(&c, 1), DCGW_INSPECT_PASS);
    uint8_t m[400];
    size_t n = tinsp_cert_msg(m, c.der[0], sizeof(c.der[0]));
    size_t len = tinsp_hs_rec(c.buf, 11, (uint32_t)n, 1, 0, (uint32_t)n, m);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, 0, c.buf, len), DCGW_INSPECT_PASS);
    ck_assert_int_eq(freed_in_cb, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_inspect_crafted");
    const TTest *const tests[] = {crafted_handshake_fragmented_out_of_order,
                                  malformed_records_are_dropped,
                                  malformed_messages_are_dropped,
                                  crafted_hellos,
                                  reassembly_bound_follows_the_policy,
                                  settings_are_validated,
                                  callback_may_not_reenter,
                                  NULL};
    TCase *tc = tsuite_add(s, "crafted", 0, NULL, NULL, tests);
    tcase_add_loop_test(tc, missing_certificates_block, 0, 5);
    return tsuite_run(s);
}
