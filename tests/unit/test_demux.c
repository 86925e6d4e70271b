/* Demux: RFC 7983 §7 first-byte table, the STUN framing check, and the counters. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/demux.h"
#include "helper_suite.h"

/* A minimal well-framed STUN message: header + one 4-byte attribute. */
static size_t stun_msg(uint8_t *b, size_t attr_len)
{
    memset(b, 0, DCGW_STUN_HEADER_LEN + attr_len);
    b[0] = 0x00;
    b[1] = 0x01; /* Binding request */
    b[2] = (uint8_t)(attr_len >> 8);
    b[3] = (uint8_t)attr_len;
    b[4] = 0x21;
    b[5] = 0x12;
    b[6] = 0xa4;
    b[7] = 0x42;
    for (size_t i = 8; i < 20; i++)
        b[i] = (uint8_t)(i * 7);
    return DCGW_STUN_HEADER_LEN + attr_len;
}

START_TEST(classify_edges)
{
    static const struct {
        uint8_t b;
        enum dcgw_demux_kind k;
    } table[] = {
        {0, DCGW_DEMUX_STUN},      {1, DCGW_DEMUX_STUN},      {3, DCGW_DEMUX_STUN},
        {4, DCGW_DEMUX_UNKNOWN},   {16, DCGW_DEMUX_UNKNOWN},  {19, DCGW_DEMUX_UNKNOWN},
        {20, DCGW_DEMUX_DTLS},     {22, DCGW_DEMUX_DTLS},     {63, DCGW_DEMUX_DTLS},
        {64, DCGW_DEMUX_UNKNOWN},  {79, DCGW_DEMUX_UNKNOWN},  {127, DCGW_DEMUX_UNKNOWN},
        {128, DCGW_DEMUX_RTP},     {191, DCGW_DEMUX_RTP},     {192, DCGW_DEMUX_UNKNOWN},
        {200, DCGW_DEMUX_UNKNOWN}, {255, DCGW_DEMUX_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        uint8_t p[2] = {table[i].b, 0};
        ck_assert_msg(dcgw_demux_classify(p, 1) == table[i].k, "byte %u", table[i].b);
        ck_assert_msg(dcgw_demux_classify(p, 2) == table[i].k, "byte %u", table[i].b);
    }
}
END_TEST

START_TEST(classify_all_bytes_partition)
{
    unsigned counts[4] = {0};
    for (unsigned b = 0; b < 256; b++) {
        uint8_t p = (uint8_t)b;
        counts[dcgw_demux_classify(&p, 1)]++;
    }
    ck_assert_uint_eq(counts[DCGW_DEMUX_STUN], 4);
    ck_assert_uint_eq(counts[DCGW_DEMUX_DTLS], 44);
    ck_assert_uint_eq(counts[DCGW_DEMUX_RTP], 64);
    ck_assert_uint_eq(counts[DCGW_DEMUX_UNKNOWN], 256 - 4 - 44 - 64);
}
END_TEST

START_TEST(classify_empty)
{
    uint8_t p = 0;
    ck_assert(dcgw_demux_classify(&p, 0) == DCGW_DEMUX_UNKNOWN);
    ck_assert(dcgw_demux_classify(NULL, 0) == DCGW_DEMUX_UNKNOWN);
    ck_assert(dcgw_demux_classify(NULL, 5) == DCGW_DEMUX_UNKNOWN);
    ck_assert_str_eq(dcgw_demux_kind_name(DCGW_DEMUX_STUN), "stun");
    ck_assert_str_eq(dcgw_demux_kind_name(DCGW_DEMUX_DTLS), "dtls");
    ck_assert_str_eq(dcgw_demux_kind_name((enum dcgw_demux_kind)99), "unknown");
}
END_TEST

START_TEST(stun_sane_accepts_framed)
{
    uint8_t b[DCGW_STUN_MSG_MAX + 8];
    ck_assert(dcgw_demux_stun_sane(b, stun_msg(b, 0)));
    ck_assert(dcgw_demux_stun_sane(b, stun_msg(b, 4)));
    ck_assert(dcgw_demux_stun_sane(b, stun_msg(b, DCGW_STUN_MSG_MAX - 20)));
    /* all four classes of a method are STUN */
    size_t n = stun_msg(b, 8);
    for (unsigned t = 0; t < 4; t++) {
        b[0] = (uint8_t)(t & 1);
        b[1] = (uint8_t)((t & 2) ? 0x11 : 0x01);
        ck_assert(dcgw_demux_stun_sane(b, n));
    }
}
END_TEST

START_TEST(stun_sane_rejects_bad_framing)
{
    uint8_t b[DCGW_STUN_MSG_MAX + 64];
    size_t n = stun_msg(b, 8);
    ck_assert(dcgw_demux_stun_sane(b, n));
    /* truncated: every shorter length fails (the length field no longer matches) */
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(!dcgw_demux_stun_sane(b, k), "len %zu", k);
    /* longer than the length field says */
    ck_assert(!dcgw_demux_stun_sane(b, n + 4));
    /* length not a multiple of 4 */
    b[3] = 7;
    ck_assert(!dcgw_demux_stun_sane(b, 27));
    b[3] = 8;
    /* wrong magic cookie (RFC 3489 style) */
    b[7] ^= 1;
    ck_assert(!dcgw_demux_stun_sane(b, n));
    b[7] ^= 1;
    /* top bits set */
    b[0] = 0x40;
    ck_assert(!dcgw_demux_stun_sane(b, n));
    b[0] = 0;
    ck_assert(dcgw_demux_stun_sane(b, n));
    /* oversized: over the cap even though the framing is consistent */
    n = stun_msg(b, DCGW_STUN_MSG_MAX - 20 + 4);
    ck_assert(!dcgw_demux_stun_sane(b, n));
    ck_assert(!dcgw_demux_stun_sane(NULL, 20));
}
END_TEST

START_TEST(packet_counts)
{
    struct dcgw_demux_stats st;
    memset(&st, 0, sizeof(st));
    uint8_t stun[64], junk[64];
    size_t n = stun_msg(stun, 8);
    ck_assert(dcgw_demux_packet(&st, stun, n) == DCGW_DEMUX_STUN);
    ck_assert(dcgw_demux_packet(&st, stun, n - 1) == DCGW_DEMUX_UNKNOWN); /* insane STUN */
    memset(junk, 0, sizeof(junk));
    junk[0] = 22; /* DTLS handshake */
    ck_assert(dcgw_demux_packet(&st, junk, 13) == DCGW_DEMUX_DTLS);
    junk[0] = 0x80; /* RTP v2: for the media stage */
    ck_assert(dcgw_demux_packet(&st, junk, 12) == DCGW_DEMUX_RTP);
    junk[0] = 0xff;
    ck_assert(dcgw_demux_packet(&st, junk, 12) == DCGW_DEMUX_UNKNOWN);
    ck_assert(dcgw_demux_packet(&st, junk, 0) == DCGW_DEMUX_UNKNOWN);
    ck_assert(dcgw_demux_packet(NULL, stun, n) == DCGW_DEMUX_STUN);

    ck_assert_uint_eq(st.packets, 6);
    ck_assert_uint_eq(st.stun, 1);
    ck_assert_uint_eq(st.dtls, 1);
    ck_assert_uint_eq(st.unknown, 3);
    ck_assert_uint_eq(st.stun_bad, 1);
    ck_assert_uint_eq(st.rtp, 1);
    ck_assert_uint_eq(st.empty, 1);
    ck_assert_uint_eq(st.stun + st.dtls + st.rtp + st.unknown, st.packets);
}
END_TEST

START_TEST(packet_garbage_never_stun_unless_sane)
{
    uint64_t x = 0x1234567887654321ull;
    uint8_t b[256];
    struct dcgw_demux_stats st;
    memset(&st, 0, sizeof(st));
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(x % sizeof(b));
        for (size_t k = 0; k < n; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[k] = (uint8_t)x;
        }
        if (i % 4 == 0 && n >= 20) { /* half-plausible STUN: right cookie */
            b[0] &= 0x03;
            b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
        }
        enum dcgw_demux_kind k = dcgw_demux_packet(&st, b, n);
        if (k == DCGW_DEMUX_STUN)
            ck_assert(dcgw_demux_stun_sane(b, n));
        ck_assert(k != DCGW_DEMUX_RTP || (n && b[0] >= 128 && b[0] <= 191));
    }
    ck_assert_uint_eq(st.stun + st.dtls + st.rtp + st.unknown, st.packets);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demux");
    TCase *tc = tcase_create("classify");
    tcase_add_test(tc, classify_edges);
    tcase_add_test(tc, classify_all_bytes_partition);
    tcase_add_test(tc, classify_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("stun_sane");
    tcase_add_test(tc, stun_sane_accepts_framed);
    tcase_add_test(tc, stun_sane_rejects_bad_framing);
    suite_add_tcase(s, tc);
    tc = tcase_create("packet");
    tcase_add_test(tc, packet_counts);
    tcase_add_test(tc, packet_garbage_never_stun_unless_sane);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
