/* SDP parser on real offers and answers (aiortc 1.4, headless Chromium, made by
 * tools/gen-sdp-fixtures.sh) and hand-written 3GPP-style ones, each checked against what
 * the fixture's text says. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/sdp/sdp.h"
#include "helper_sdp.h"

static char errbuf[256];

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
    struct dcgw_sdp *s = sdph_parse_file("chromium-offer.sdp", &t);
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
    sdph_assert_addr(&dc->candidates[0].addr, "192.0.2.10", dc->port);
    sdph_assert_addr(&dc->candidates[1].addr, "2001:db8::10", -1);
    ck_assert_uint_eq(dc->candidates[0].priority, 2113937151u);
    ck_assert(dc->has_conn);
    sdph_assert_addr(&dc->conn, "192.0.2.10", dc->port);
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
    struct dcgw_sdp *s = sdph_parse_file("chromium-offer-mdns.sdp", &t);
    ck_assert_uint_eq(s->dc.n_candidates, 0);
    ck_assert_uint_eq(s->ignored.cand_mdns, (unsigned)count_lines(t, "a=candidate:"));
    ck_assert_uint_eq(s->ignored.cand_mdns, 2);
    ck_assert(s->dc.has_conn);
    sdph_assert_addr(&s->dc.conn, "0.0.0.0", 9);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_chromium_answer_legacy)
{
    char *t;
    struct dcgw_sdp *s = sdph_parse_file("chromium-answer.sdp", &t);
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
    struct dcgw_sdp *s = sdph_parse_file("aiortc-offer.sdp", &t);
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
    sdph_assert_addr(&dc->candidates[0].addr, "192.0.2.10", dc->port);
    sdph_assert_addr(&dc->candidates[1].addr, "2001:db8::10", -1);
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
    struct dcgw_sdp *s = sdph_parse_file("aiortc-answer.sdp", &t);
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
    struct dcgw_sdp *s = sdph_parse_file("3gpp-offer.sdp", &t);
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
    sdph_assert_addr(&dc->conn, "2001:db8:100::10", 50000);
    /* trailing space and a tab between tokens were tolerated */
    ck_assert_str_eq(dc->ice_pwd, "Lr8eQmE2p4sYd0wV7nK1xZ3u");
    ck_assert_uint_eq(dc->n_candidates, 2);
    sdph_assert_addr(&dc->candidates[0].addr, "2001:db8:100::10", 50000);
    ck_assert_int_eq(dc->candidates[1].type, DCGW_SDP_CAND_SRFLX);
    ck_assert(dc->candidates[1].has_related);
    sdph_assert_addr(&dc->candidates[1].related, "10.10.0.20", 50000);
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
    struct dcgw_sdp *s = sdph_parse_file("multi-fingerprint-offer.sdp", &t);
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
    sdph_assert_addr(&dc->candidates[0].related, "0.0.0.0", 0);
    ck_assert_uint_eq(dc->n_dcmap, 1);
    ck_assert_str_eq(dc->dcmap[0].label, "chat");
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_legacy_offer)
{
    char *t;
    struct dcgw_sdp *s = sdph_parse_file("legacy-offer.sdp", &t);
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
    struct dcgw_sdp *s = sdph_parse_file("ipv6-offer.sdp", &t);
    const struct dcgw_sdp_dc *dc = &s->dc;
    ck_assert_uint_eq(dc->n_candidates, 4);
    sdph_assert_addr(&dc->candidates[0].addr, "2001:db8:20::5", 40001);
    ck_assert_int_eq(dc->candidates[1].type, DCGW_SDP_CAND_SRFLX);
    sdph_assert_addr(&dc->candidates[1].related, "2001:db8:20::5", 40001);
    ck_assert_int_eq(dc->candidates[2].type, DCGW_SDP_CAND_RELAY);
    sdph_assert_addr(&dc->candidates[2].addr, "198.51.100.200", 3478);
    sdph_assert_addr(&dc->candidates[2].related, "2001:db8:ffff::77", 55000);
    ck_assert_uint_eq(dc->candidates[2].priority, 41885439u);
    sdph_assert_addr(&dc->candidates[3].addr, "fe80::1c2a:3bff:fe4d:5e6f", 40003);
    ck_assert_uint_eq(s->ignored.cand_not_udp, 1);
    ck_assert_uint_eq(s->ignored.cand_mdns, 1);
    ck_assert_uint_eq(s->ignored.cand_fqdn, 1);
    ck_assert(dc->end_of_candidates);
    ck_assert_str_eq(dc->ice_options, "trickle ice2"); /* session level */
    ck_assert(dc->ice_trickle);
    sdph_assert_addr(&dc->conn, "2001:db8:20::5", 40001);
    free(s);
    free(t);
}
END_TEST

START_TEST(fixture_multi_media)
{
    char *t;
    struct dcgw_sdp *s = sdph_parse_file("multi-media-offer.sdp", &t);
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

int main(void)
{
    const struct sdph_tcase tc = {
        "fixtures",
        {fixture_chromium_offer, fixture_chromium_offer_mdns, fixture_chromium_answer_legacy,
         fixture_aiortc_offer_legacy, fixture_aiortc_answer, fixture_3gpp_offer,
         fixture_multi_fingerprint, fixture_legacy_offer, fixture_ipv6_offer, fixture_multi_media},
        NULL,
        0,
        0};
    return sdph_run(&tc);
}
