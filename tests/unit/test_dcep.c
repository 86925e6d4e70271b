/* DCEP codec (RFC 8832): round trips and every way a message can be wrong. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/dcep.h"
#include "dcgw/base/error.h"
#include "helper_suite.h"

static const uint8_t channel_types[] = {
    DCGW_DCEP_RELIABLE,
    DCGW_DCEP_PARTIAL_RELIABLE_REXMIT,
    DCGW_DCEP_PARTIAL_RELIABLE_TIMED,
    DCGW_DCEP_RELIABLE_UNORDERED,
    DCGW_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED,
    DCGW_DCEP_PARTIAL_RELIABLE_TIMED_UNORDERED,
};

static size_t make_open(uint8_t *buf, size_t cap, uint8_t type, const char *label,
                        const char *proto, uint32_t rel)
{
    struct dcgw_dcep_open o = {
        .channel_type = type,
        .priority = 256,
        .reliability = rel,
        .label = (const uint8_t *)label,
        .label_len = (uint16_t)strlen(label),
        .protocol = (const uint8_t *)proto,
        .protocol_len = (uint16_t)strlen(proto),
    };
    size_t len = 0;
    ck_assert_int_eq(dcgw_dcep_encode_open(&o, buf, cap, &len), 0);
    return len;
}

START_TEST(open_round_trip_every_channel_type)
{
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    uint8_t t = channel_types[_i];
    size_t n = make_open(buf, sizeof(buf), t, "chat\xc3\xa9", "http", 7);
    ck_assert_uint_eq(n, 12 + 6 + 4);
    /* wire layout, RFC 8832 §5.1 */
    ck_assert_uint_eq(buf[0], 0x03);
    ck_assert_uint_eq(buf[1], t);
    ck_assert_uint_eq(buf[2] << 8 | buf[3], 256);
    ck_assert_uint_eq(buf[8] << 8 | buf[9], 6);
    ck_assert_uint_eq(buf[10] << 8 | buf[11], 4);

    struct dcgw_dcep_msg m;
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), 0);
    ck_assert_int_eq(m.type, DCGW_DCEP_OPEN);
    ck_assert_uint_eq(m.open.channel_type, t);
    ck_assert_uint_eq(m.open.priority, 256);
    bool reliable = (t & 0x7f) == 0;
    ck_assert_uint_eq(m.open.reliability, reliable ? 0 : 7);
    ck_assert_uint_eq(m.open.label_len, 6);
    ck_assert(memcmp(m.open.label, "chat\xc3\xa9", 6) == 0);
    ck_assert_uint_eq(m.open.protocol_len, 4);
    ck_assert(memcmp(m.open.protocol, "http", 4) == 0);
    ck_assert(dcgw_dcep_channel_type_ordered(t) == !(t & 0x80));
}
END_TEST

START_TEST(open_empty_and_maximal_strings)
{
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    struct dcgw_dcep_msg m;
    size_t n = make_open(buf, sizeof(buf), DCGW_DCEP_RELIABLE, "", "", 0);
    ck_assert_uint_eq(n, 12);
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), 0);
    ck_assert_uint_eq(m.open.label_len, 0);
    ck_assert_uint_eq(m.open.protocol_len, 0);

    char big[DCGW_DCEP_LABEL_MAX + 1];
    memset(big, 'a', DCGW_DCEP_LABEL_MAX);
    big[DCGW_DCEP_LABEL_MAX] = 0;
    n = make_open(buf, sizeof(buf), DCGW_DCEP_RELIABLE, big, big, 0);
    ck_assert_uint_eq(n, DCGW_DCEP_OPEN_MAX);
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), 0);
    ck_assert_uint_eq(m.open.label_len, DCGW_DCEP_LABEL_MAX);
}
END_TEST

START_TEST(reliable_ignores_reliability_parameter)
{
    uint8_t buf[64] = {0x03, 0x00, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef, 0, 1, 0, 0, 'x'};
    struct dcgw_dcep_msg m;
    ck_assert_int_eq(dcgw_dcep_decode(buf, 13, &m), 0);
    ck_assert_uint_eq(m.open.reliability, 0);
    buf[1] = DCGW_DCEP_PARTIAL_RELIABLE_TIMED;
    ck_assert_int_eq(dcgw_dcep_decode(buf, 13, &m), 0);
    ck_assert_uint_eq(m.open.reliability, 0xdeadbeef);
}
END_TEST

START_TEST(ack_round_trip)
{
    uint8_t buf[4];
    size_t n = 0;
    ck_assert_int_eq(dcgw_dcep_encode_ack(buf, sizeof(buf), &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(buf[0], 0x02);
    struct dcgw_dcep_msg m;
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), 0);
    ck_assert_int_eq(m.type, DCGW_DCEP_ACK);
    ck_assert_int_eq(dcgw_dcep_encode_ack(buf, 0, &n), DCGW_ERANGE);
}
END_TEST

START_TEST(truncated_at_every_length)
{
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    size_t n = make_open(buf, sizeof(buf), DCGW_DCEP_PARTIAL_RELIABLE_REXMIT, "label", "proto", 3);
    struct dcgw_dcep_msg m;
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(dcgw_dcep_decode(buf, k, &m), DCGW_ETRUNC);
    ck_assert_int_eq(dcgw_dcep_decode(NULL, 0, &m), DCGW_ETRUNC);
}
END_TEST

START_TEST(label_length_overflow_and_trailing_bytes)
{
    uint8_t buf[64];
    size_t n = make_open(buf, sizeof(buf), DCGW_DCEP_RELIABLE, "ab", "cd", 0);
    struct dcgw_dcep_msg m;
    /* label length runs past the end */
    buf[8] = 0xff, buf[9] = 0xff;
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), DCGW_ETRUNC);
    /* protocol length runs past the end */
    buf[8] = 0, buf[9] = 2, buf[10] = 0, buf[11] = 3;
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), DCGW_ETRUNC);
    /* lengths shorter than the message: trailing garbage */
    buf[11] = 1;
    ck_assert_int_eq(dcgw_dcep_decode(buf, n, &m), DCGW_EMALFORMED);
    /* ACK with trailing bytes */
    uint8_t ack[2] = {0x02, 0x00};
    ck_assert_int_eq(dcgw_dcep_decode(ack, 2, &m), DCGW_EMALFORMED);
}
END_TEST

START_TEST(oversized_label_or_protocol)
{
    size_t cap = 12 + 2 * (DCGW_DCEP_LABEL_MAX + 1);
    uint8_t *buf = calloc(1, cap);
    ck_assert_ptr_nonnull(buf);
    buf[0] = 0x03;
    memset(buf + 12, 'a', cap - 12);
    struct dcgw_dcep_msg m;
    uint16_t big = DCGW_DCEP_LABEL_MAX + 1;
    buf[8] = (uint8_t)(big >> 8), buf[9] = (uint8_t)big;
    ck_assert_int_eq(dcgw_dcep_decode(buf, 12 + big, &m), DCGW_ETOOBIG);
    buf[8] = 0, buf[9] = 0;
    buf[10] = (uint8_t)(big >> 8), buf[11] = (uint8_t)big;
    ck_assert_int_eq(dcgw_dcep_decode(buf, 12 + big, &m), DCGW_ETOOBIG);
    /* the encoder refuses them too */
    struct dcgw_dcep_open o = {.channel_type = 0, .label = buf + 12, .label_len = big};
    size_t n;
    ck_assert_int_eq(dcgw_dcep_encode_open(&o, buf, cap, &n), DCGW_EINVAL);
    free(buf);
}
END_TEST

START_TEST(unknown_message_types)
{
    static const uint8_t types[] = {0x00, 0x01, 0x04, 0x7f, 0x80, 0xfe, 0xff};
    struct dcgw_dcep_msg m;
    for (size_t i = 0; i < sizeof(types); i++) {
        uint8_t buf[12] = {types[i]};
        ck_assert_int_eq(dcgw_dcep_decode(buf, sizeof(buf), &m), DCGW_EUNSUPPORTED);
        ck_assert_int_eq(dcgw_dcep_decode(buf, 1, &m), DCGW_EUNSUPPORTED);
    }
}
END_TEST

START_TEST(unknown_channel_types)
{
    struct dcgw_dcep_msg m;
    int known = 0;
    for (int t = 0; t < 256; t++) {
        uint8_t buf[12] = {0x03, (uint8_t)t};
        int r = dcgw_dcep_decode(buf, sizeof(buf), &m);
        if (dcgw_dcep_channel_type_valid((uint8_t)t)) {
            ck_assert_int_eq(r, 0);
            known++;
        } else {
            ck_assert_int_eq(r, DCGW_EUNSUPPORTED);
        }
    }
    ck_assert_int_eq(known, 6);
    struct dcgw_dcep_open o = {.channel_type = 0x03};
    uint8_t out[32];
    size_t n;
    ck_assert_int_eq(dcgw_dcep_encode_open(&o, out, sizeof(out), &n), DCGW_EINVAL);
}
END_TEST

START_TEST(bad_strings)
{
    static const char *const bad[] = {
        "a\0b",             /* NUL */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* > U+10FFFF */
        "\xc3",             /* truncated sequence */
        "\x80",             /* lone continuation */
        "\xff",
    };
    static const size_t lens[] = {3, 2, 3, 3, 4, 1, 1, 1};
    struct dcgw_dcep_msg m;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t buf[32] = {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, (uint8_t)lens[i], 0, 0};
        memcpy(buf + 12, bad[i], lens[i]);
        ck_assert_int_eq(dcgw_dcep_decode(buf, 12 + lens[i], &m), DCGW_EMALFORMED);
        /* same bytes as the protocol */
        buf[9] = 0, buf[11] = (uint8_t)lens[i];
        ck_assert_int_eq(dcgw_dcep_decode(buf, 12 + lens[i], &m), DCGW_EMALFORMED);
    }
    ck_assert(dcgw_dcep_string_ok((const uint8_t *)"\xf0\x9f\x98\x80 ok", 7));
}
END_TEST

START_TEST(encode_needs_room)
{
    uint8_t buf[16];
    struct dcgw_dcep_open o = {
        .channel_type = 0, .label = (const uint8_t *)"abcde", .label_len = 5};
    size_t n = 0;
    ck_assert_int_eq(dcgw_dcep_encode_open(&o, buf, 16, &n), DCGW_ERANGE);
    uint8_t big[17];
    ck_assert_int_eq(dcgw_dcep_encode_open(&o, big, sizeof(big), &n), 0);
    ck_assert_uint_eq(n, 17);
}
END_TEST

START_TEST(ppid_classes)
{
    ck_assert_int_eq(dcgw_ppid_classify(50), DCGW_PPID_CLASS_DCEP);
    ck_assert_int_eq(dcgw_ppid_classify(51), DCGW_PPID_CLASS_TEXT);
    ck_assert_int_eq(dcgw_ppid_classify(52), DCGW_PPID_CLASS_DEPRECATED);
    ck_assert_int_eq(dcgw_ppid_classify(53), DCGW_PPID_CLASS_BINARY);
    ck_assert_int_eq(dcgw_ppid_classify(54), DCGW_PPID_CLASS_DEPRECATED);
    ck_assert_int_eq(dcgw_ppid_classify(55), DCGW_PPID_CLASS_UNKNOWN);
    ck_assert_int_eq(dcgw_ppid_classify(56), DCGW_PPID_CLASS_TEXT_EMPTY);
    ck_assert_int_eq(dcgw_ppid_classify(57), DCGW_PPID_CLASS_BINARY_EMPTY);
    ck_assert_int_eq(dcgw_ppid_classify(0), DCGW_PPID_CLASS_UNKNOWN);
    ck_assert_int_eq(dcgw_ppid_classify(0x33000000), DCGW_PPID_CLASS_UNKNOWN);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dcep");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, open_round_trip_every_channel_type, 0,
                        (int)(sizeof(channel_types) / sizeof(channel_types[0])));
    tcase_add_test(tc, open_empty_and_maximal_strings);
    tcase_add_test(tc, reliable_ignores_reliability_parameter);
    tcase_add_test(tc, ack_round_trip);
    tcase_add_test(tc, encode_needs_room);
    suite_add_tcase(s, tc);
    tc = tcase_create("negative");
    tcase_add_test(tc, truncated_at_every_length);
    tcase_add_test(tc, label_length_overflow_and_trailing_bytes);
    tcase_add_test(tc, oversized_label_or_protocol);
    tcase_add_test(tc, unknown_message_types);
    tcase_add_test(tc, unknown_channel_types);
    tcase_add_test(tc, bad_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("ppid");
    tcase_add_test(tc, ppid_classes);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
