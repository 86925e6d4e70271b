/* SDP parser on malformed and unusable input: one mutation of a valid base per case,
 * caps and size limits, garbage, and what is tolerated. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/sdp/sdp.h"
#include "helper_sdp.h"

static char errbuf[256];

/* ---- malformed and unusable input ---- */

#define FP256                                                                                      \
    "sha-256 "                                                                                     \
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"      \
    "77:88:99"

/* line 10 is the fingerprint; the parser counts from 1 */
static const char *const base_lines[] = {
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=mid:0",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:abcdefghijklmnopqrstuv",
    "a=fingerprint:" FP256,
    "a=setup:actpass",
    "a=sctp-port:5000",
    NULL,
};

/* The base SDP with the line starting with `prefix` replaced by `repl` (NULL deletes it),
 * or, when prefix is NULL, repl appended. */
static size_t mutate(char *buf, size_t cap, const char *prefix, const char *repl)
{
    size_t o = 0;
    for (int i = 0; base_lines[i]; i++) {
        const char *l = base_lines[i];
        if (prefix && strncmp(l, prefix, strlen(prefix)) == 0) {
            if (!repl)
                continue;
            l = repl;
        }
        o += (size_t)snprintf(buf + o, cap - o, "%s\r\n", l);
    }
    if (!prefix && repl)
        o += (size_t)snprintf(buf + o, cap - o, "%s\r\n", repl);
    ck_assert_uint_lt(o, cap);
    return o;
}

static const struct bad_case {
    const char *prefix, *repl;
    int rc;
    const char *msg;
} bad[] = {
    {"a=ice-ufrag:", NULL, DCGW_ESDP, "no a=ice-ufrag"},
    {"a=ice-pwd:", NULL, DCGW_ESDP, "no a=ice-pwd"},
    {"a=fingerprint:", "a=fingerprint:sha-3-256 AB:CD", DCGW_ESDP,
     "line 10: a=fingerprint: unknown hash"},
    {"a=fingerprint:", "a=fingerprint:sha-256 AA:BB:CC", DCGW_EMALFORMED,
     "line 10: a=fingerprint: malformed"},
    {"a=fingerprint:", "a=fingerprint:sha-256 AA:B", DCGW_EMALFORMED, "line 10:"},
    {"a=fingerprint:", "a=fingerprint:sha-256", DCGW_EMALFORMED, "line 10:"},
    {"a=fingerprint:", NULL, DCGW_ESDP, "no a=fingerprint"},
    {"a=setup:", "a=setup:both", DCGW_EMALFORMED, "line 11: a=setup: invalid"},
    {"a=setup:", "a=setup:", DCGW_EMALFORMED, "empty value"},
    {NULL, "a=dcmap:1 label=chat", DCGW_EMALFORMED, "line 13: a=dcmap: label is not"},
    {NULL, "a=dcmap:x", DCGW_EMALFORMED, "a=dcmap: expected <stream-id>"},
    {NULL, "a=dcmap:1 max-retr=3;max-time=100", DCGW_EMALFORMED, "mutually exclusive"},
    {NULL, "a=dcmap:65535", DCGW_EMALFORMED, "out of range"},
    {NULL, "a=dcmap:100000", DCGW_EMALFORMED, "a=dcmap"},
    {NULL, "a=dcmap:1 label=\"a;b", DCGW_EMALFORMED, "unterminated"},
    {NULL, "a=dcmap:1 label=\"a%G1\"", DCGW_EMALFORMED, "escape"},
    {NULL, "a=dcmap:1 label=\"a%00\"", DCGW_EMALFORMED, "escape"},
    {NULL, "a=dcmap:1 label=\"a%4\"", DCGW_EMALFORMED, "escape"},
    {NULL, "a=dcmap:1 label=\"a\"b\"", DCGW_EMALFORMED, "a=dcmap"},
    {NULL, "a=dcmap:1 ordered=maybe", DCGW_EMALFORMED, "ordered"},
    {NULL, "a=dcmap:1 priority=70000", DCGW_EMALFORMED, "priority"},
    {NULL, "a=dcmap:1 max-retr=-1", DCGW_EMALFORMED, "max-retr"},
    {NULL, "a=dcmap:1 ordered=true;ordered=false", DCGW_EMALFORMED, "twice"},
    {NULL, "a=dcmap:1 label=\"x\";", DCGW_EMALFORMED, "empty option"},
    {NULL, "a=dcmap:1 label", DCGW_EMALFORMED, "<name>=<value>"},
    {NULL, "a=dcsa:1", DCGW_EMALFORMED, "a=dcsa: no attribute"},
    {NULL, "a=dcsa:70000 x:1", DCGW_EMALFORMED, "out of range"},
    {"m=", "m=audio 9 UDP/TLS/RTP/SAVPF 111", DCGW_ESDP, "no usable data-channel m-line"},
    {"m=", "m=application 9 DTLS/SCTP 5000", DCGW_ESDP, "no usable"}, /* no sctpmap */
    {"m=", "m=application 0 UDP/DTLS/SCTP webrtc-datachannel", DCGW_ESDP, "no usable"},
    {"m=", "m=application 9 UDP/DTLS/SCTP", DCGW_EMALFORMED, "line 5: m=: expected"},
    {"m=", "m=application 99999 UDP/DTLS/SCTP webrtc-datachannel", DCGW_EMALFORMED, "invalid port"},
    {"s=", "garbage line", DCGW_EMALFORMED, "line 3: expected <type>=<value>"},
    {"s=", "=nothing", DCGW_EMALFORMED, "line 3: expected <type>=<value>"},
    {"s=", "S=upper", DCGW_EMALFORMED, "line 3"},
    {"v=", "v=1", DCGW_EMALFORMED, "line 1: expected v=0"},
    {"s=", "v=0", DCGW_EMALFORMED, "v= after"},
    {"a=ice-ufrag:", "a=ice-ufrag:abc", DCGW_EMALFORMED, "a=ice-ufrag: need 4..256"},
    {"a=ice-ufrag:", "a=ice-ufrag:ab_cd", DCGW_EMALFORMED, "a=ice-ufrag"},
    {"a=ice-pwd:", "a=ice-pwd:short", DCGW_EMALFORMED, "a=ice-pwd: need 22..256"},
    {NULL, "a=ice-ufrag:efgh", DCGW_EMALFORMED, "more than one"},
    {NULL, "a=setup:active", DCGW_EMALFORMED, "more than one"},
    {NULL, "a=candidate:1 1 udp 2130706431 192.0.2.1", DCGW_EMALFORMED, "a=candidate"},
    {NULL, "a=candidate:1 1 udp 2130706431 192.0.2.1 70000 typ host", DCGW_EMALFORMED,
     "invalid port"},
    {NULL, "a=candidate:1 0 udp 2130706431 192.0.2.1 7000 typ host", DCGW_EMALFORMED, "component"},
    {NULL, "a=candidate:1 1 udp 2130706431 192.0.2.1 7000 type host", DCGW_EMALFORMED,
     "a=candidate"},
    {NULL, "a=candidate:1 1 udp 4294967296 192.0.2.1 7000 typ host", DCGW_EMALFORMED, "priority"},
    {NULL, "a=candidate:123456789012345678901234567890123 1 udp 1 192.0.2.1 7000 typ host",
     DCGW_EMALFORMED, "foundation"},
    {NULL, "a=candidate:1 1 udp 1 192.0.2.1/24 7000 typ host", DCGW_EMALFORMED, "address"},
    {NULL, "a=candidate:1 1 udp 1 192.0.2.1 7000 typ host raddr", DCGW_EMALFORMED, "extension"},
    {NULL, "a=candidate:1 1 udp 1 192.0.2.1 7000 typ srflx rport x", DCGW_EMALFORMED, "rport"},
    {NULL, "a=tls-id:tooshort", DCGW_EMALFORMED, "a=tls-id"},
    {NULL, "a=tls-id:has*bad*chars*but*long*enough", DCGW_EMALFORMED, "a=tls-id"},
    {"a=sctp-port:", "a=sctp-port:0", DCGW_EMALFORMED, "a=sctp-port"},
    {"a=sctp-port:", "a=sctp-port:70000", DCGW_EMALFORMED, "a=sctp-port"},
    {NULL, "a=max-message-size:12k", DCGW_EMALFORMED, "a=max-message-size"},
    {"a=mid:", "a=mid:123456789012345678901234567890123", DCGW_EMALFORMED, "a=mid"},
    {"c=", "c=IN", DCGW_EMALFORMED, "line 6: c=:"},
    {"o=", "o=- x 1 IN IP4 127.0.0.1", DCGW_EMALFORMED, "line 2: o=:"},
    {"o=", "o=- 1 1 IN IP4", DCGW_EMALFORMED, "o=: expected 6 fields"},
    {NULL, "a=dcsa:1 x:\x01", DCGW_EMALFORMED, "control byte 0x01"},
    {"s=", "s=a\rb", DCGW_EMALFORMED, "line 3: control byte 0x0d"},
    {"s=", "s=\x7f", DCGW_EMALFORMED, "control byte 0x7f"},
};

START_TEST(parse_rejects_bad_input)
{
    const struct bad_case *c = &bad[_i];
    char text[2048];
    struct dcgw_sdp *s = malloc(sizeof(*s));
    size_t len = mutate(text, sizeof(text), c->prefix, c->repl);
    int rc = dcgw_sdp_parse(text, len, s, errbuf, sizeof(errbuf));
    ck_assert_msg(rc == c->rc, "case %d (%s): got %s (%s)", _i, c->repl ? c->repl : "delete",
                  dcgw_err_name(rc), errbuf);
    ck_assert_msg(strstr(errbuf, c->msg) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, errbuf,
                  c->msg);
    free(s);
}
END_TEST

START_TEST(parse_base_is_valid)
{
    char text[2048];
    struct dcgw_sdp *s = malloc(sizeof(*s));
    size_t len = mutate(text, sizeof(text), NULL, NULL);
    ck_assert_int_eq(dcgw_sdp_parse(text, len, s, errbuf, sizeof(errbuf)), 0);
    ck_assert_str_eq(errbuf, "");
    ck_assert_uint_eq(s->dc.sctp_port, 5000);
    free(s);
}
END_TEST

/* base SDP plus n copies of a line built from fmt(i) */
static char *repeat(const char *fmt, int n, size_t *len)
{
    size_t cap = 200000;
    char *buf = malloc(cap);
    size_t o = mutate(buf, cap, NULL, NULL);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, cap - o, fmt, i, i);
    *len = o;
    return buf;
}

static void expect_repeat(const char *fmt, int ok_n, int rc_over, const char *msg)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    size_t len;
    char *t = repeat(fmt, ok_n, &len);
    ck_assert_msg(dcgw_sdp_parse(t, len, s, errbuf, sizeof(errbuf)) == 0, "%s", errbuf);
    free(t);
    t = repeat(fmt, ok_n + 1, &len);
    ck_assert_int_eq(dcgw_sdp_parse(t, len, s, errbuf, sizeof(errbuf)), rc_over);
    ck_assert_msg(strstr(errbuf, msg), "%s", errbuf);
    free(t);
    free(s);
}

START_TEST(parse_caps)
{
    expect_repeat("a=candidate:%d 1 udp 1 192.0.2.1 %d typ host\r\n", DCGW_SDP_CANDIDATES_MAX,
                  DCGW_ETOOBIG, "a=candidate: more than 32");
    /* the base has one fingerprint already */
    expect_repeat("a=fingerprint:" FP256 "\r\na=x-%d:%d\r\n", DCGW_SDP_FINGERPRINTS_MAX - 1,
                  DCGW_ETOOBIG, "a=fingerprint: more than");
    expect_repeat("a=dcmap:%d label=\"c%d\"\r\n", DCGW_SDP_DCMAP_MAX, DCGW_ETOOBIG,
                  "a=dcmap: more than");
    expect_repeat("a=dcsa:0 x-%d:%d\r\n", DCGW_SDP_DCSA_MAX, DCGW_ETOOBIG, "a=dcsa: more than");
    expect_repeat("m=audio 9 RTP/AVP %d\r\na=mid:m%d\r\n", DCGW_SDP_MEDIA_MAX - 1, DCGW_ETOOBIG,
                  "m=: more than");
}
END_TEST

START_TEST(parse_size_limits)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    char *t = malloc(DCGW_SDP_TEXT_MAX + 2);
    size_t o = mutate(t, DCGW_SDP_TEXT_MAX, NULL, NULL);
    /* pad with unknown attributes up to exactly the cap: still fine */
    while (o < DCGW_SDP_TEXT_MAX) {
        size_t n = DCGW_SDP_TEXT_MAX - o < 200 ? DCGW_SDP_TEXT_MAX - o : 200;
        memcpy(t + o, "a=x", 3);
        memset(t + o + 3, 'y', n - 3 > 0 ? n - 3 : 0);
        if (n >= 5) {
            t[o + n - 2] = '\r';
            t[o + n - 1] = '\n';
        }
        o += n;
    }
    ck_assert_uint_eq(o, DCGW_SDP_TEXT_MAX);
    ck_assert_msg(dcgw_sdp_parse(t, o, s, errbuf, sizeof(errbuf)) == 0, "%s", errbuf);
    t[o] = '\n';
    ck_assert_int_eq(dcgw_sdp_parse(t, o + 1, s, errbuf, sizeof(errbuf)), DCGW_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(errbuf, "more than 65536"));
    /* one over-long line */
    o = mutate(t, DCGW_SDP_TEXT_MAX, NULL, NULL);
    memcpy(t + o, "a=x", 3);
    memset(t + o + 3, 'y', DCGW_SDP_LINE_MAX);
    o += 3 + DCGW_SDP_LINE_MAX;
    ck_assert_int_eq(dcgw_sdp_parse(t, o, s, errbuf, sizeof(errbuf)), DCGW_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(errbuf, "line 13: line longer"));
    free(t);
    free(s);
}
END_TEST

START_TEST(parse_garbage)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    unsigned char buf[4096];
    uint32_t x = 2463534242u;
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = (size_t)(trial % 64) * 64 + 1;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
            buf[i] = (unsigned char)x;
        }
        if (trial & 1)
            memcpy(buf, "v=0\n", 4); /* get past the first line sometimes */
        int rc = dcgw_sdp_parse((const char *)buf, n, s, errbuf, sizeof(errbuf));
        ck_assert_int_lt(rc, 0);
        ck_assert_uint_gt(strlen(errbuf), 0);
    }
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(dcgw_sdp_parse((const char *)buf, sizeof(buf), s, errbuf, sizeof(errbuf)),
                     DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_sdp_parse("", 0, s, errbuf, sizeof(errbuf)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_sdp_parse("\r\n\r\n  \n", 7, s, errbuf, sizeof(errbuf)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_sdp_parse("v=0\r\n", 5, s, errbuf, sizeof(errbuf)), DCGW_ESDP);
    ck_assert_int_eq(dcgw_sdp_parse(NULL, 5, s, errbuf, sizeof(errbuf)), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_sdp_parse("v=0", 3, NULL, NULL, 0), DCGW_EINVAL);
    /* a tiny error buffer is still NUL-terminated */
    char small[6];
    ck_assert_int_eq(dcgw_sdp_parse("x", 1, s, small, sizeof(small)), DCGW_EMALFORMED);
    ck_assert_str_eq(small, "line ");
    free(s);
}
END_TEST

#define LONG_OPTS                                                                                  \
    "x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
    "x-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

START_TEST(parse_tolerates)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    static const char text[] =
        "  v=0  \n"
        "o=- 1 1 IN IP4 127.0.0.1\r\n"
        "s=-\n"
        "a=ice-ufrag:sess\n"
        "a=ice-pwd:sessionpasswordsession\n"
        "a=setup:passive\n"
        "a=fingerprint:md5 00:11\n"
        "x=unknown line type\n"
        "a=unknown-session-attr\n"
        "\n"
        "m=application 4000 UDP/DTLS/SCTP webrtc-datachannel\n"
        "a=ice-ufrag:  medi  \r\n"
        "a=fingerprint:" FP256 "\t\n"
        "a=candidate:1 1 UDP 1 192.0.2.1 4000 typ host ufrag medi network-id 1\n"
        "a=candidate:2 1 udp 1 192.0.2.1 4001 typ xyz\n"
        "a=candidate:3 1 udp 1 fe80::1%eth0 4002 typ host\n"
        "a=ice-options:trickle " LONG_OPTS "\n"
        "a=dcmap:7 label=\"caf\xc3\xa9\";foo=\"bar\";priority=1\n"
        "a=dcsa:7 something else\n"
        "a=max-message-size:99999999999\n"
        "a=ice-lite\n"
        "a=sctpmap:1 not-used-in-modern-form\n";
    ck_assert_msg(dcgw_sdp_parse(text, sizeof(text) - 1, s, errbuf, sizeof(errbuf)) == 0, "%s",
                  errbuf);
    ck_assert_str_eq(s->dc.ice_ufrag, "medi");                 /* media level wins */
    ck_assert_str_eq(s->dc.ice_pwd, "sessionpasswordsession"); /* inherited */
    ck_assert_int_eq(s->dc.setup, DCGW_SDP_SETUP_PASSIVE);
    ck_assert_uint_eq(s->dc.n_fingerprints, 1);
    ck_assert_uint_eq(s->ignored.fp_unknown_hash, 1); /* session md5, then replaced */
    ck_assert_uint_eq(s->dc.n_candidates, 1);
    ck_assert_uint_eq(s->ignored.cand_type, 1);
    ck_assert_uint_eq(s->ignored.cand_fqdn, 1); /* the zone id */
    ck_assert(s->dc.ice_trickle);
    ck_assert_str_eq(s->dc.ice_options, ""); /* too long to keep, not worth failing */
    ck_assert_str_eq(s->dc.dcmap[0].label, "caf\xc3\xa9");
    ck_assert(s->dc.dcmap[0].has_priority && s->dc.dcmap[0].priority == 1);
    ck_assert_uint_eq(s->dc.max_message_size, UINT32_MAX);
    ck_assert(!s->ice_lite);                  /* only at session level */
    ck_assert_uint_eq(s->dc.sctp_port, 5000); /* RFC 8841 default */
    ck_assert(!s->dc.has_conn);
    free(s);
}
END_TEST

START_TEST(parse_legacy_needs_matching_sctpmap)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    static const char *const maps[] = {
        "a=sctpmap:5000 webrtc-datachannel 1024", /* the only usable one */
        "a=sctpmap:5001 webrtc-datachannel 1024", /* number differs from the m-line */
        "a=sctpmap:5000 bfcp 1024",               /* not data channels */
    };
    for (int i = 0; i < 3; i++) {
        char text[1024];
        int n = snprintf(text, sizeof(text),
                         "v=0\r\nt=0 0\r\nm=application 9 DTLS/SCTP 5000\r\n%s\r\n"
                         "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                         "a=fingerprint:" FP256 "\r\n",
                         maps[i]);
        int rc = dcgw_sdp_parse(text, (size_t)n, s, errbuf, sizeof(errbuf));
        ck_assert_int_eq(rc, i == 0 ? 0 : DCGW_ESDP);
        if (i == 0)
            ck_assert(s->dc.legacy && s->dc.legacy_streams == 1024);
        else
            ck_assert_ptr_nonnull(strstr(errbuf, "no usable data-channel m-line"));
    }
    free(s);
}
END_TEST

START_TEST(parse_setup_absent_and_unknown_hash_only_in_session)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    char text[2048];
    size_t len = mutate(text, sizeof(text), "a=setup:", NULL);
    ck_assert_int_eq(dcgw_sdp_parse(text, len, s, errbuf, sizeof(errbuf)), 0);
    ck_assert_int_eq(s->dc.setup, DCGW_SDP_SETUP_NONE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(s->dc.setup, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_PASSIVE);
    static const char sess_unknown[] = "v=0\nt=0 0\na=fingerprint:blake3 AA:BB\n"
                                       "m=application 1 UDP/DTLS/SCTP webrtc-datachannel\n"
                                       "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\n";
    ck_assert_int_eq(
        dcgw_sdp_parse(sess_unknown, sizeof(sess_unknown) - 1, s, errbuf, sizeof(errbuf)),
        DCGW_ESDP);
    ck_assert_str_eq(errbuf, "line 3: a=fingerprint: unknown hash");
    free(s);
}
END_TEST

int main(void)
{
    const struct sdph_tcase tc = {
        "parse",
        {parse_base_is_valid, parse_caps, parse_size_limits, parse_garbage, parse_tolerates,
         parse_legacy_needs_matching_sctpmap, parse_setup_absent_and_unknown_hash_only_in_session},
        parse_rejects_bad_input,
        (int)(sizeof(bad) / sizeof(bad[0])),
        1};
    return sdph_run(&tc);
}
