/* SDP parser and writer: real offers and answers (aiortc 1.4, headless Chromium, made by
 * tools/gen-sdp-fixtures.sh), hand-written 3GPP-style ones, many malformed ones, and
 * answers written for each fixture and parsed back. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/error.h"
#include "dcgw/fingerprint.h"
#include "dcgw/sdp.h"

static char errbuf[256];

static char *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sdp/%s", DCGW_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(DCGW_SDP_TEXT_MAX + 1);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, DCGW_SDP_TEXT_MAX, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static struct dcgw_sdp *parse_file(const char *name, char **text)
{
    size_t len;
    *text = load(name, &len);
    struct dcgw_sdp *s = malloc(sizeof(*s));
    ck_assert_ptr_nonnull(s);
    int rc = dcgw_sdp_parse(*text, len, s, errbuf, sizeof(errbuf));
    ck_assert_msg(rc == 0, "%s: %s (%s)", name, dcgw_err_name(rc), errbuf);
    return s;
}

/* Value of the first line starting with key (the fixture read without the parser). */
static const char *value_of(const char *text, const char *key)
{
    static char v[512];
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, strlen(key)) == 0) {
            p += strlen(key);
            size_t n = strcspn(p, "\r\n");
            ck_assert_uint_lt(n, sizeof(v));
            memcpy(v, p, n);
            v[n] = '\0';
            return v;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return NULL;
}

static int count_lines(const char *text, const char *key)
{
    int n = 0;
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, key, strlen(key)) == 0;
    return n;
}

static void assert_addr(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char buf[INET6_ADDRSTRLEN] = "";
    int p;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
        p = ntohs(a->sin_port);
    } else {
        ck_assert_int_eq(ss->ss_family, AF_INET6);
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
        p = ntohs(a->sin6_port);
    }
    ck_assert_str_eq(buf, ip);
    if (port >= 0)
        ck_assert_int_eq(p, port);
}

static void assert_fp_from_text(const struct dcgw_sdp_dc *dc, size_t i, const char *text)
{
    const char *v = value_of(text, "a=fingerprint:");
    ck_assert_ptr_nonnull(v);
    struct dcgw_fingerprint want;
    ck_assert_int_eq(dcgw_fingerprint_parse(v, strlen(v), &want), 0);
    ck_assert(dcgw_fingerprint_equal(&dc->fingerprints[i], &want));
}

/* ---- real peers ---- */

START_TEST(fixture_chromium_offer)
{
    char *t;
    struct dcgw_sdp *s = parse_file("chromium-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert(!dc->legacy);
    ck_assert_str_eq(dc->mid, "0");
    ck_assert_uint_eq(s->n_bundle, 1);
    ck_assert_str_eq(s->bundle[0], "0");
    ck_assert_uint_eq(s->n_media, 1);
    ck_assert_uint_eq(s->n_other_media, 0);
    ck_assert(!s->ice_lite);
    ck_assert_str_eq(dc->ice_ufrag, value_of(t, "a=ice-ufrag:"));
    ck_assert_str_eq(dc->ice_pwd, value_of(t, "a=ice-pwd:"));
    ck_assert(dc->ice_trickle);
    ck_assert_uint_eq(dc->n_fingerprints, 1);
    ck_assert_int_eq(dc->fingerprints[0].alg, DCGW_HASH_SHA256);
    assert_fp_from_text(dc, 0, t);
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert_uint_eq(dc->sctp_port, 5000);
    ck_assert_uint_eq(dc->max_message_size, 262144);
    ck_assert_uint_eq(dc->port, (unsigned)atoi(value_of(t, "m=application ")));
    ck_assert_uint_gt(dc->port, 0);
    /* the netns of the generator has 192.0.2.10 and 2001:db8::10 */
    ck_assert_uint_eq(dc->n_candidates, 2);
    ck_assert_int_eq(dc->candidates[0].type, DCGW_SDP_CAND_HOST);
    ck_assert_uint_eq(dc->candidates[0].component, 1);
    assert_addr(&dc->candidates[0].addr, "192.0.2.10", dc->port);
    assert_addr(&dc->candidates[1].addr, "2001:db8::10", -1);
    ck_assert_uint_eq(dc->candidates[0].priority, 2113937151u);
    ck_assert(dc->has_conn);
    assert_addr(&dc->conn, "192.0.2.10", dc->port);
    ck_assert_uint_eq(dc->n_dcmap, 0);
    ck_assert_str_eq(dc->tls_id, "");
    ck_assert_uint_ge(s->ignored.attrs, 2); /* extmap-allow-mixed, msid-semantic */
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_chromium_offer_mdns)
{
    char *t;
    struct dcgw_sdp *s = parse_file("chromium-offer-mdns.sdp", &t);
    ck_assert_uint_eq(s->dc.n_candidates, 0);
    ck_assert_uint_eq(s->ignored.cand_mdns, (unsigned)count_lines(t, "a=candidate:"));
    ck_assert_uint_eq(s->ignored.cand_mdns, 2);
    ck_assert(s->dc.has_conn);
    assert_addr(&s->dc.conn, "0.0.0.0", 9);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_chromium_answer_legacy)
{
    char *t;
    struct dcgw_sdp *s = parse_file("chromium-answer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert(dc->legacy);
    ck_assert_uint_eq(dc->sctp_port, 5000);
    ck_assert_uint_eq(dc->legacy_streams, 65535);
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert_uint_eq(dc->max_message_size, DCGW_SDP_DEFAULT_MAX_MESSAGE_SIZE);
    ck_assert_str_eq(dc->ice_pwd, value_of(t, "a=ice-pwd:"));
    ck_assert_uint_eq(dc->n_candidates, 2);
    assert_fp_from_text(dc, 0, t);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_aiortc_offer_legacy)
{
    char *t;
    struct dcgw_sdp *s = parse_file("aiortc-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert(dc->legacy);
    ck_assert_uint_eq(dc->sctp_port, 5000);
    ck_assert_uint_eq(dc->legacy_streams, 65535);
    ck_assert_uint_eq(dc->max_message_size, 65536);
    ck_assert(dc->end_of_candidates);
    ck_assert(!dc->ice_trickle);
    ck_assert_str_eq(dc->ice_ufrag, value_of(t, "a=ice-ufrag:"));
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert_uint_eq(dc->n_candidates, 2);
    assert_addr(&dc->candidates[0].addr, "192.0.2.10", dc->port);
    assert_addr(&dc->candidates[1].addr, "2001:db8::10", -1);
    ck_assert_str_eq(dc->candidates[0].foundation,
                     strtok(strcpy(errbuf, value_of(t, "a=candidate:")), " "));
    assert_fp_from_text(dc, 0, t);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_aiortc_answer)
{
    char *t;
    struct dcgw_sdp *s = parse_file("aiortc-answer.sdp", &t);
    ck_assert(!s->dc.legacy);
    ck_assert_int_eq(s->dc.setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert_uint_eq(s->dc.max_message_size, 65536);
    ck_assert_uint_eq(s->dc.n_candidates, 2);
    ck_assert_str_eq(s->dc.mid, "0");
    free(s);
    free(t);
}
END_TEST

/* ---- hand-written ---- */

START_TEST(fixture_3gpp_offer)
{
    char *t;
    struct dcgw_sdp *s = parse_file("3gpp-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert_str_eq(s->origin_sess_id, "3918826283");
    ck_assert_str_eq(s->origin_sess_version, "3918826284");
    ck_assert_uint_eq(s->n_media, 2);
    ck_assert_uint_eq(s->n_other_media, 1);
    ck_assert_str_eq(s->media[0].media, "audio");
    ck_assert_str_eq(s->media[0].proto, "RTP/AVP");
    ck_assert_str_eq(s->media[0].fmt, "96");
    ck_assert_uint_eq(dc->media_index, 1);
    ck_assert_str_eq(dc->mid, "");
    ck_assert_uint_eq(s->n_bundle, 0);
    ck_assert_uint_eq(dc->port, 50000);
    /* session-level fingerprint and setup, session-level c= (IPv6) */
    ck_assert(dc->fingerprints_from_session);
    ck_assert_uint_eq(dc->n_fingerprints, 1);
    assert_fp_from_text(dc, 0, t);
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert(dc->has_conn);
    assert_addr(&dc->conn, "2001:db8:100::10", 50000);
    /* trailing space and a tab between tokens were tolerated */
    ck_assert_str_eq(dc->ice_pwd, "Lr8eQmE2p4sYd0wV7nK1xZ3u");
    ck_assert_uint_eq(dc->n_candidates, 2);
    assert_addr(&dc->candidates[0].addr, "2001:db8:100::10", 50000);
    ck_assert_int_eq(dc->candidates[1].type, DCGW_SDP_CAND_SRFLX);
    ck_assert(dc->candidates[1].has_related);
    assert_addr(&dc->candidates[1].related, "10.10.0.20", 50000);
    ck_assert_str_eq(dc->tls_id, "Qm9vdHN0cmFwLXRscy1pZC0x");
    ck_assert_uint_eq(dc->max_message_size, 1024);
    /* bootstrap 0, 10, 100, 110 and application 1000, 1001 */
    static const uint16_t ids[] = {0, 10, 100, 110, 1000, 1001};
    ck_assert_uint_eq(dc->n_dcmap, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(dc->dcmap[i].stream_id, ids[i]);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(dc->dcmap[i].subprotocol, "http");
        ck_assert(dc->dcmap[i].ordered && !dc->dcmap[i].has_ordered);
        ck_assert(!dc->dcmap[i].has_max_retr && !dc->dcmap[i].has_max_time);
    }
    const struct dcgw_sdp_dcmap *av = &dc->dcmap[4], *game = &dc->dcmap[5];
    ck_assert_str_eq(av->label, "avatar");
    ck_assert_str_eq(av->subprotocol, "3gpp-avatar");
    ck_assert(av->has_max_retr && av->max_retr == 3 && !av->has_max_time);
    ck_assert(av->has_priority && av->priority == 256);
    ck_assert_str_eq(game->label, "game state; v1"); /* %3B decoded */
    ck_assert(game->has_ordered && !game->ordered);
    ck_assert(game->has_max_time && game->max_time == 150);
    ck_assert_uint_eq(dc->n_dcsa, 4);
    ck_assert_uint_eq(dc->dcsa[0].stream_id, 100);
    ck_assert_str_eq(dc->dcsa[0].attr, "3gpp-bdc-used-by:1");
    ck_assert_uint_eq(dc->dcsa[2].stream_id, 1000);
    ck_assert_str_eq(dc->dcsa[2].attr, "3gpp-req-app:urn:example:avatar-call");
    ck_assert_uint_ge(s->ignored.attrs, 1); /* a=3gpp-qos-hint */
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_multi_fingerprint)
{
    char *t;
    struct dcgw_sdp *s = parse_file("multi-fingerprint-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    /* media level wins over the session-level sha-384; md5 is skipped */
    ck_assert(!dc->fingerprints_from_session);
    ck_assert_uint_eq(dc->n_fingerprints, 2);
    ck_assert_int_eq(dc->fingerprints[0].alg, DCGW_HASH_SHA1);
    ck_assert_uint_eq(dc->fingerprints[0].len, 20);
    ck_assert_int_eq(dc->fingerprints[1].alg, DCGW_HASH_SHA512);
    ck_assert_uint_eq(dc->fingerprints[1].len, 64);
    ck_assert_uint_eq(s->ignored.fp_unknown_hash, 1);
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_PASSIVE);
    ck_assert_uint_eq(dc->sctp_port, 5001);
    ck_assert_uint_eq(dc->max_message_size, 0); /* any size */
    ck_assert_str_eq(dc->mid, "dc");
    ck_assert_str_eq(dc->ice_ufrag, "Zx9/");
    ck_assert_uint_eq(dc->n_candidates, 1);
    ck_assert(dc->candidates[0].has_related);
    assert_addr(&dc->candidates[0].related, "0.0.0.0", 0);
    ck_assert_uint_eq(dc->n_dcmap, 1);
    ck_assert_str_eq(dc->dcmap[0].label, "chat");
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_legacy_offer)
{
    char *t;
    struct dcgw_sdp *s = parse_file("legacy-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert(dc->legacy);
    ck_assert_uint_eq(dc->legacy_streams, 1024);
    ck_assert_uint_eq(dc->sctp_port, 5000);
    ck_assert_str_eq(dc->ice_ufrag, "LegacyUf"); /* session level, inherited */
    ck_assert_int_eq(dc->setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert_uint_eq(dc->max_message_size, 65536);
    ck_assert_uint_eq(dc->n_candidates, 1);
    ck_assert_uint_eq(s->ignored.cand_not_udp, 1);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_ipv6_offer)
{
    char *t;
    struct dcgw_sdp *s = parse_file("ipv6-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert_uint_eq(dc->n_candidates, 4);
    assert_addr(&dc->candidates[0].addr, "2001:db8:20::5", 40001);
    ck_assert_int_eq(dc->candidates[1].type, DCGW_SDP_CAND_SRFLX);
    assert_addr(&dc->candidates[1].related, "2001:db8:20::5", 40001);
    ck_assert_int_eq(dc->candidates[2].type, DCGW_SDP_CAND_RELAY);
    assert_addr(&dc->candidates[2].addr, "198.51.100.200", 3478);
    assert_addr(&dc->candidates[2].related, "2001:db8:ffff::77", 55000);
    ck_assert_uint_eq(dc->candidates[2].priority, 41885439u);
    assert_addr(&dc->candidates[3].addr, "fe80::1c2a:3bff:fe4d:5e6f", 40003);
    ck_assert_uint_eq(s->ignored.cand_not_udp, 1);
    ck_assert_uint_eq(s->ignored.cand_mdns, 1);
    ck_assert_uint_eq(s->ignored.cand_fqdn, 1);
    ck_assert(dc->end_of_candidates);
    ck_assert_str_eq(dc->ice_options, "trickle ice2"); /* session level */
    ck_assert(dc->ice_trickle);
    assert_addr(&dc->conn, "2001:db8:20::5", 40001);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_multi_media)
{
    char *t;
    struct dcgw_sdp *s = parse_file("multi-media-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    /* TCP/DTLS/SCTP and a port-0 section are skipped; the bundle-only one is taken */
    ck_assert_str_eq(dc->mid, "d2");
    ck_assert_uint_eq(dc->media_index, 4);
    ck_assert_uint_eq(dc->port, 0);
    ck_assert_uint_eq(dc->sctp_port, 6000);
    ck_assert_uint_eq(s->n_media, 6);
    ck_assert_uint_eq(s->n_other_media, 5);
    ck_assert_uint_eq(s->ignored.unusable_app, 2);
    ck_assert_str_eq(s->media[0].mid, "a0");
    ck_assert_str_eq(s->media[1].media, "video");
    ck_assert_str_eq(s->media[3].mid, "d1");
    ck_assert_str_eq(s->media[5].mid, "d3");
    ck_assert_uint_eq(s->n_bundle, 3);
    ck_assert_str_eq(s->bundle[2], "d2");
    ck_assert_uint_eq(dc->n_dcmap, 1); /* the rejected sections' dcmap lines are gone */
    ck_assert_uint_eq(dc->dcmap[0].stream_id, 5);
    ck_assert_uint_eq(dc->n_dcsa, 1);
    ck_assert_uint_eq(s->ignored.dcsa_orphan, 1);
    ck_assert_str_eq(dc->ice_ufrag, "MmUf");
    free(s);
    free(t);
}
END_TEST

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

/* ---- writer ---- */

START_TEST(answer_setup_table)
{
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTIVE, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_PASSIVE, DCGW_SDP_SETUP_PASSIVE),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_PASSIVE),
                     DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_ACTPASS),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_HOLDCONN, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_HOLDCONN);
    ck_assert_str_eq(dcgw_sdp_setup_name(DCGW_SDP_SETUP_HOLDCONN), "holdconn");
    ck_assert_str_eq(dcgw_sdp_setup_name(DCGW_SDP_SETUP_NONE), "none");
    ck_assert_str_eq(dcgw_sdp_cand_type_name(DCGW_SDP_CAND_RELAY), "relay");
}
END_TEST

static bool all_in(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

START_TEST(generators)
{
    char u1[64], p1[64], u2[64], p2[64], t1[64], t2[64];
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, sizeof(u1), p1, sizeof(p1)), 0);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u2, sizeof(u2), p2, sizeof(p2)), 0);
    ck_assert_uint_eq(strlen(u1), DCGW_SDP_GEN_UFRAG_LEN);
    ck_assert_uint_eq(strlen(p1), DCGW_SDP_GEN_PWD_LEN);
    ck_assert_uint_ge(strlen(u1), 4);
    ck_assert_uint_ge(strlen(p1), 22);
    ck_assert(all_in(u1, ALNUM "+/") && all_in(p1, ALNUM "+/"));
    ck_assert_str_ne(p1, p2);
    ck_assert_int_eq(dcgw_sdp_tls_id(t1, sizeof(t1)), 0);
    ck_assert_int_eq(dcgw_sdp_tls_id(t2, sizeof(t2)), 0);
    ck_assert_uint_eq(strlen(t1), DCGW_SDP_GEN_TLS_ID_LEN);
    ck_assert(all_in(t1, ALNUM "-_"));
    ck_assert_str_ne(t1, t2);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, 8, p1, sizeof(p1)), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, sizeof(u1), p1, 24), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_tls_id(t1, DCGW_SDP_GEN_TLS_ID_LEN), DCGW_ETOOBIG);
}
END_TEST

static void set_addr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a->sin_addr) == 1) {
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &a6->sin6_addr), 1);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
    }
}

static void make_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *offer)
{
    dcgw_sdp_local_init(l);
    l->sess_id = 8425307013052718201ull;
    l->sess_version = 2;
    ck_assert_int_eq(dcgw_sdp_ice_credentials(l->ice_ufrag, sizeof(l->ice_ufrag), l->ice_pwd,
                                              sizeof(l->ice_pwd)),
                     0);
    ck_assert_int_eq(dcgw_sdp_tls_id(l->tls_id, sizeof(l->tls_id)), 0);
    set_addr(&l->addrs[0], "192.0.2.1", 40000);
    set_addr(&l->addrs[1], "2001:db8::1", 40001);
    l->n_addrs = 2;
    static const enum dcgw_hash algs[] = {DCGW_HASH_SHA256, DCGW_HASH_SHA512};
    for (size_t i = 0; i < 2; i++) {
        l->fingerprints[i].alg = algs[i];
        l->fingerprints[i].len = (uint8_t)dcgw_hash_len(algs[i]);
        for (size_t j = 0; j < l->fingerprints[i].len; j++)
            l->fingerprints[i].digest[j] = (uint8_t)(j * 7 + i);
    }
    l->n_fingerprints = 2;
    l->sctp_port = 5123;
    l->max_message_size = 262144;
    if (offer) {
        l->setup = dcgw_sdp_answer_setup(offer->dc.setup, DCGW_SDP_SETUP_PASSIVE);
        l->dcmap = offer->dc.dcmap;
        l->n_dcmap = offer->dc.n_dcmap;
        l->dcsa = offer->dc.dcsa;
        l->n_dcsa = offer->dc.n_dcsa;
    }
}

static void assert_local(const struct dcgw_sdp *a, const struct dcgw_sdp_local *l)
{
    const struct dcgw_sdp_dc *dc = &a->dc;
    ck_assert(a->ice_lite);
    ck_assert_str_eq(a->origin_sess_id, "8425307013052718201");
    ck_assert_str_eq(dc->ice_ufrag, l->ice_ufrag);
    ck_assert_str_eq(dc->ice_pwd, l->ice_pwd);
    ck_assert_str_eq(dc->tls_id, l->tls_id);
    ck_assert_uint_eq(dc->n_fingerprints, l->n_fingerprints);
    for (size_t i = 0; i < l->n_fingerprints; i++)
        ck_assert(dcgw_fingerprint_equal(&dc->fingerprints[i], &l->fingerprints[i]));
    ck_assert_uint_eq(dc->sctp_port, l->sctp_port);
    ck_assert_uint_eq(dc->max_message_size, l->max_message_size);
    ck_assert_uint_eq(dc->port, 40000);
    ck_assert_uint_eq(dc->n_candidates, 2);
    assert_addr(&dc->candidates[0].addr, "192.0.2.1", 40000);
    assert_addr(&dc->candidates[1].addr, "2001:db8::1", 40001);
    ck_assert_uint_gt(dc->candidates[0].priority, dc->candidates[1].priority);
    ck_assert_int_eq(dc->candidates[0].type, DCGW_SDP_CAND_HOST);
    ck_assert(dc->end_of_candidates);
    assert_addr(&dc->conn, "192.0.2.1", 40000);
    ck_assert_uint_eq(dc->n_dcmap, l->n_dcmap);
    for (size_t i = 0; i < l->n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *x = &dc->dcmap[i], *y = &l->dcmap[i];
        ck_assert_uint_eq(x->stream_id, y->stream_id);
        ck_assert_str_eq(x->label, y->label);
        ck_assert_str_eq(x->subprotocol, y->subprotocol);
        ck_assert(x->ordered == y->ordered && x->has_ordered == y->has_ordered);
        ck_assert(x->has_max_retr == y->has_max_retr && x->max_retr == y->max_retr);
        ck_assert(x->has_max_time == y->has_max_time && x->max_time == y->max_time);
        ck_assert(x->has_priority == y->has_priority && x->priority == y->priority);
    }
    ck_assert_uint_eq(dc->n_dcsa, l->n_dcsa);
    for (size_t i = 0; i < l->n_dcsa; i++) {
        ck_assert_uint_eq(dc->dcsa[i].stream_id, l->dcsa[i].stream_id);
        ck_assert_str_eq(dc->dcsa[i].attr, l->dcsa[i].attr);
    }
}

/* RFC 8866 §5: v= o= s= [c=] t= then a=, all before the first m= */
static void assert_session_order(const char *sdp)
{
    static const char order[] = "vosctam";
    const char *o = order;
    for (const char *p = sdp; p && *p && *o != 'm'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        while (*o && *o != *p)
            o++;
        ck_assert_msg(*o, "session line '%c' out of order:\n%s", *p, sdp);
    }
}

static const char *const fixtures[] = {
    "chromium-offer.sdp",    "chromium-offer-mdns.sdp",     "chromium-answer.sdp",
    "aiortc-offer.sdp",      "aiortc-answer.sdp",           "3gpp-offer.sdp",
    "legacy-offer.sdp",      "multi-fingerprint-offer.sdp", "ipv6-offer.sdp",
    "multi-media-offer.sdp",
};

START_TEST(answer_round_trip)
{
    char *t;
    struct dcgw_sdp *offer = parse_file(fixtures[_i], &t);
    struct dcgw_sdp *ans = malloc(sizeof(*ans));
    struct dcgw_sdp_local l;
    make_local(&l, offer);
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    int n = dcgw_sdp_write_answer(offer, &l, buf, DCGW_SDP_TEXT_MAX);
    ck_assert_msg(n > 0, "%s: %s", fixtures[_i], dcgw_err_name(n));
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    assert_session_order(buf);
    ck_assert_msg(dcgw_sdp_parse(buf, (size_t)n, ans, errbuf, sizeof(errbuf)) == 0, "%s: %s\n%s",
                  fixtures[_i], errbuf, buf);
    assert_local(ans, &l);
    ck_assert_int_eq(ans->dc.setup, l.setup);
    ck_assert(ans->dc.setup == DCGW_SDP_SETUP_ACTIVE || ans->dc.setup == DCGW_SDP_SETUP_PASSIVE);
    /* same form, same mid, every m-line answered, the others rejected */
    ck_assert(ans->dc.legacy == offer->dc.legacy);
    if (offer->dc.legacy)
        ck_assert_uint_eq(ans->dc.legacy_streams, offer->dc.legacy_streams);
    ck_assert_str_eq(ans->dc.mid, offer->dc.mid);
    ck_assert_uint_eq(ans->n_media, offer->n_media);
    ck_assert_uint_eq(ans->dc.media_index, offer->dc.media_index);
    for (size_t i = 0; i < offer->n_media; i++) {
        ck_assert_str_eq(ans->media[i].media, offer->media[i].media);
        ck_assert_str_eq(ans->media[i].mid, offer->media[i].mid);
        if (i != offer->dc.media_index)
            ck_assert_uint_eq(ans->media[i].port, 0);
    }
    ck_assert_uint_eq(ans->n_bundle, offer->n_bundle ? 1 : 0);
    if (offer->n_bundle)
        ck_assert_str_eq(ans->bundle[0], offer->dc.mid);
    /* too small a buffer, at every size */
    for (int cap = 0; cap <= n; cap += (cap < 64 || cap > n - 64) ? 1 : 97)
        ck_assert_int_eq(dcgw_sdp_write_answer(offer, &l, buf, (size_t)cap), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &l, buf, (size_t)n + 1), n);
    free(buf);
    free(ans);
    free(offer);
    free(t);
}
END_TEST

START_TEST(offer_round_trip)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    struct dcgw_sdp_local l;
    make_local(&l, NULL);
    struct dcgw_sdp_dcmap maps[2] = {
        {.stream_id = 0, .ordered = true, .subprotocol = "http"},
        {.stream_id = 1000,
         .label = "q\"uote %\x01 caf\xc3\xa9",
         .has_ordered = true,
         .ordered = false,
         .has_max_retr = true,
         .max_retr = 0,
         .has_priority = true,
         .priority = 512},
    };
    struct dcgw_sdp_dcsa sa = {.stream_id = 1000, .attr = "3gpp-req-app:urn:x"};
    l.dcmap = maps;
    l.n_dcmap = 2;
    l.dcsa = &sa;
    l.n_dcsa = 1;
    l.setup = DCGW_SDP_SETUP_PASSIVE; /* ignored in offers */
    char buf[4096];
    int n = dcgw_sdp_write_offer(&l, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    assert_session_order(buf);
    ck_assert_ptr_nonnull(strstr(buf, "label=\"q%22uote %25%01 caf\xc3\xa9\""));
    ck_assert_msg(dcgw_sdp_parse(buf, (size_t)n, s, errbuf, sizeof(errbuf)) == 0, "%s\n%s", errbuf,
                  buf);
    assert_local(s, &l);
    ck_assert_int_eq(s->dc.setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert(!s->dc.legacy);
    ck_assert_str_eq(s->dc.mid, "0");
    ck_assert_uint_eq(s->n_bundle, 1);
    ck_assert_str_eq(s->bundle[0], "0");
    strcpy(l.mid, "data");
    l.tls_id[0] = '\0';
    n = dcgw_sdp_write_offer(&l, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(dcgw_sdp_parse(buf, (size_t)n, s, errbuf, sizeof(errbuf)), 0);
    ck_assert_str_eq(s->dc.mid, "data");
    ck_assert_str_eq(s->dc.tls_id, "");
    free(s);
}
END_TEST

START_TEST(write_rejects_bad_local)
{
    char *t;
    struct dcgw_sdp *offer = parse_file("3gpp-offer.sdp", &t);
    struct dcgw_sdp_local l;
    char buf[8192];
    make_local(&l, offer);
    ck_assert_int_gt(dcgw_sdp_write_answer(offer, &l, buf, sizeof(buf)), 0);
    struct dcgw_sdp_local b = l;
    b.n_addrs = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.addrs[1].ss_family = AF_UNIX;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.ice_ufrag, "ab");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.ice_pwd, "has\r\nnewline-and-long-enough");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.n_fingerprints = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.fingerprints[0].len = 3;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.setup = DCGW_SDP_SETUP_ACTPASS; /* RFC 5763 §5: not in an answer */
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.tls_id, "short");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.n_dcmap = 4; /* dcsa for 1000 now has no dcmap */
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    struct dcgw_sdp_dcsa evil = {.stream_id = 0, .attr = "x\r\na=fingerprint:sha-1 00"};
    b = l;
    b.dcsa = &evil;
    b.n_dcsa = 1;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    struct dcgw_sdp_dcmap both = {.stream_id = 3, .has_max_retr = true, .has_max_time = true};
    b = l;
    b.dcmap = &both;
    b.n_dcmap = 1;
    b.n_dcsa = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    /* an injected mid in a hand-built offer is refused */
    struct dcgw_sdp *o2 = malloc(sizeof(*o2));
    *o2 = *offer;
    strcpy(o2->media[0].mid, "a\r\nb");
    ck_assert_int_eq(dcgw_sdp_write_answer(o2, &l, buf, sizeof(buf)), DCGW_EINVAL);
    strcpy(l.mid, "bad mid");
    ck_assert_int_eq(dcgw_sdp_write_offer(&l, buf, sizeof(buf)), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_sdp_write_offer(NULL, buf, sizeof(buf)), DCGW_EINVAL);
    free(o2);
    free(offer);
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdp");
    TCase *tc = tcase_create("fixtures");
    tcase_add_test(tc, fixture_chromium_offer);
    tcase_add_test(tc, fixture_chromium_offer_mdns);
    tcase_add_test(tc, fixture_chromium_answer_legacy);
    tcase_add_test(tc, fixture_aiortc_offer_legacy);
    tcase_add_test(tc, fixture_aiortc_answer);
    tcase_add_test(tc, fixture_3gpp_offer);
    tcase_add_test(tc, fixture_multi_fingerprint);
    tcase_add_test(tc, fixture_legacy_offer);
    tcase_add_test(tc, fixture_ipv6_offer);
    tcase_add_test(tc, fixture_multi_media);
    suite_add_tcase(s, tc);

    tc = tcase_create("parse");
    tcase_add_test(tc, parse_base_is_valid);
    tcase_add_loop_test(tc, parse_rejects_bad_input, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, parse_caps);
    tcase_add_test(tc, parse_size_limits);
    tcase_add_test(tc, parse_garbage);
    tcase_add_test(tc, parse_tolerates);
    tcase_add_test(tc, parse_legacy_needs_matching_sctpmap);
    tcase_add_test(tc, parse_setup_absent_and_unknown_hash_only_in_session);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    tcase_add_test(tc, answer_setup_table);
    tcase_add_test(tc, generators);
    tcase_add_loop_test(tc, answer_round_trip, 0, (int)(sizeof(fixtures) / sizeof(fixtures[0])));
    tcase_add_test(tc, offer_round_trip);
    tcase_add_test(tc, write_rejects_bad_local);
    suite_add_tcase(s, tc);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
