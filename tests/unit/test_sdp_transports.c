/* The transports of audio/video m-lines (RFC 8843 §7, docs/media.md "Unbundled"): which
 * ICE/DTLS transport of a leg carries each m-line (dcgw_sdp_assign_transports), the peer's
 * side of each (dcgw_sdp_tp_transport), answers that give unbundled m-lines credentials and
 * a=setup of their own, TWCC only between legs that group m-lines alike, and bad unbundled
 * m-lines: said with the reason or a line-numbered error. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/sdp/sdp_match.h"
#include "helper_sdp.h"
#include "helper_suite.h"

static char errbuf[256];
static struct dcgw_sdp parsed, back;
static struct dcgw_sdp_match match;
static char out[DCGW_SDP_TEXT_MAX + 1];

#define FP                                                                                         \
    "a=fingerprint:sha-256 "                                                                       \
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"      \
    "77:88:99\r\n"
#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:a\r\na=rtcp-mux\r\n"

START_TEST(unbundled_offer_transports)
{
    char *t0, *t1;
    /* Chromium with bundlePolicy max-compat and no a=group:BUNDLE (test_media.sh case u) */
    struct dcgw_sdp *u = sdph_parse_file("chromium-av-unbundled-offer.sdp", &t0);
    struct dcgw_sdp *c = sdph_parse_file("chromium-av-offer.sdp", &t1);
    ck_assert_uint_eq(u->n_bundle, 0);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(u, 4, "cap"), 3);
    ck_assert(u->rtp[0].usable && u->rtp[1].usable);
    ck_assert_uint_eq(u->rtp[0].tp, 1);
    ck_assert_uint_eq(u->rtp[1].tp, 2);
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(u, NULL, 0, 0), &u->dc.transport);
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(u, NULL, 0, 1), &u->rtp[0].transport);
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(u, NULL, 0, 2), &u->rtp[1].transport);
    ck_assert_ptr_null(dcgw_sdp_tp_transport(u, NULL, 0, 3));
    ck_assert_ptr_eq(dcgw_sdp_bundle_transport(u, NULL, 0), &u->dc.transport);
    /* the same credentials on every m-line (Chromium), their own candidates */
    ck_assert_str_eq(u->rtp[0].transport.ice_ufrag, u->dc.transport.ice_ufrag);
    ck_assert(!dcgw_addr_equal((struct sockaddr *)&u->rtp[0].transport.candidates[0].addr,
                               (struct sockaddr *)&u->rtp[1].transport.candidates[0].addr));
    /* rejected audio leaves its transport unused */
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memset(av, 0, sizeof(av));
    av[0].reject = true;
    ck_assert_ptr_null(dcgw_sdp_tp_transport(u, av, 2, 1));
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(u, av, 2, 2), &u->rtp[1].transport);
    /* the cap: past it, unusable with the reason; assigned again from scratch */
    ck_assert_uint_eq(dcgw_sdp_assign_transports(u, 2, "past the cap"), 3);
    ck_assert(u->rtp[0].usable && !u->rtp[1].usable);
    ck_assert_str_eq(u->rtp[1].reason, "past the cap");
    ck_assert_uint_eq(u->rtp[1].tp, 0);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(u, 1, "bundle only"), 2);
    ck_assert(!u->rtp[0].usable);
    /* bundled: everything on the data channel's */
    ck_assert_uint_eq(dcgw_sdp_assign_transports(c, 1, "x"), 1);
    ck_assert(c->rtp[0].usable && c->rtp[1].usable && c->rtp[1].tp == 0);
    free(u);
    free(c);
    free(t0);
    free(t1);
}
END_TEST

START_TEST(group_without_the_data_channel)
{
    char *t0;
    struct dcgw_sdp *c = sdph_parse_file("chromium-av-offer.sdp", &t0);
    char *g = strstr(t0, "a=group:BUNDLE 0 1 2\r\n");
    ck_assert_ptr_nonnull(g);
    memcpy(g, "a=group:BUNDLE 0 1  ", 20); /* audio and video bundled, the data channel not */
    ck_assert_int_eq(dcgw_sdp_parse(t0, strlen(t0), &parsed, errbuf, sizeof(errbuf)), 0);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(&parsed, 4, "cap"), 2);
    ck_assert_uint_eq(parsed.rtp[0].tp, 1);
    ck_assert_uint_eq(parsed.rtp[1].tp, 1);
    /* the data channel keeps its own transport, the group has its first m-line's */
    ck_assert_ptr_eq(dcgw_sdp_bundle_transport(&parsed, NULL, 0), &parsed.dc.transport);
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(&parsed, NULL, 0, 1), &parsed.rtp[0].transport);
    /* audio rejected by the answer: its transport is still the group's, video's goes on it */
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memset(av, 0, sizeof(av));
    av[0].reject = true;
    ck_assert_ptr_eq(dcgw_sdp_tp_transport(&parsed, av, 2, 1), &parsed.rtp[1].transport);
    /* a group whose m-lines all leave ICE and DTLS to the group (here: to nobody) */
    for (int k = 0; k < 2; k++) {
        char *u = strstr(t0, "a=ice-ufrag:");
        ck_assert_ptr_nonnull(u);
        memcpy(u, "a=x-ice-ufr", 11);
    }
    ck_assert_int_eq(dcgw_sdp_parse(t0, strlen(t0), &parsed, errbuf, sizeof(errbuf)), 0);
    ck_assert(parsed.rtp[0].usable && parsed.rtp[1].usable); /* bundled: may leave it */
    dcgw_sdp_assign_transports(&parsed, 4, "cap");
    ck_assert(!parsed.rtp[0].usable && !parsed.rtp[1].usable);
    ck_assert_str_eq(parsed.rtp[1].reason,
                     "its BUNDLE group has no ICE credentials or fingerprint");
    ck_assert_ptr_null(dcgw_sdp_tp_transport(&parsed, NULL, 0, 1));
    free(c);
    free(t0);
}
END_TEST

/* What an unbundled m-line needs (RFC 8843 §7, RFC 8839 §5.4, RFC 8122): bad ones are said
 * (the m-line unusable with the reason, or a line-numbered error); the SDP still parses and
 * the data channel keeps its transport. No session-level ICE, no BUNDLE group. */
#define UB_HEAD "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define UB_DC                                                                                      \
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:d\r\na=sctp-port:5000\r\n"          \
    "a=ice-ufrag:dcdc\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" FP "a=setup:actpass\r\n"
#define UB_ICE "a=ice-ufrag:avav\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"

static const struct ub_bad {
    const char *group, *media;
    int rc;          /* of the parse */
    const char *why; /* the m-line's reason (rc 0), or the error's text */
    unsigned max;    /* transports per leg for dcgw_sdp_assign_transports (rc 0) */
} ub_bad[] = {
    {"", AUDIO "a=ice-ufrag:avav\r\n" FP, 0, "not bundled and without ICE credentials", 4},
    {"", AUDIO "a=ice-pwd:abcdefghijklmnopqrstuv\r\n" FP, 0, "without ICE credentials", 4},
    {"", AUDIO UB_ICE, 0, "not bundled and without ICE credentials or a known fingerprint", 4},
    {"", AUDIO UB_ICE "a=fingerprint:md2 AA:BB\r\n", 0, "or a known fingerprint", 4},
    {"", "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=bundle-only\r\na=mid:a\r\na=rtcp-mux\r\n" UB_ICE FP, 0,
     "a=bundle-only with port 0 outside a BUNDLE group", 4},
    /* a group without the data channel whose members have no transport of their own */
    {"a=group:BUNDLE a\r\n", AUDIO, 0, "its BUNDLE group has no ICE credentials or fingerprint", 4},
    /* well formed, but past the cap on transports (the data channel's is one) */
    {"", AUDIO UB_ICE FP, 0, "past the cap", 1},
    /* line-numbered errors on an unbundled m-line's own transport (its first line is 12) */
    {"", AUDIO "a=ice-ufrag:av\r\n", DCGW_EMALFORMED, "line 15: a=ice-ufrag", 0},
    {"", AUDIO UB_ICE "a=fingerprint:sha-256 AA:BB\r\n", DCGW_EMALFORMED,
     "line 17: a=fingerprint: malformed digest", 0},
    {"", AUDIO UB_ICE FP "a=setup:sideways\r\n", DCGW_EMALFORMED, "line 18: a=setup", 0},
};

START_TEST(unbundled_negative)
{
    const struct ub_bad *b = &ub_bad[_i];
    char buf[4096];
    /* the group (a session attribute) goes before the first m-line */
    int n = snprintf(buf, sizeof(buf), UB_HEAD "%s" UB_DC "%s", b->group, b->media);
    ck_assert_int_lt(n, (int)sizeof(buf));
    int rc = dcgw_sdp_parse(buf, (size_t)n, &parsed, errbuf, sizeof(errbuf));
    ck_assert_msg(rc == b->rc, "%d: rc %d (%s)", _i, rc, errbuf);
    if (rc != 0) {
        ck_assert_msg(strstr(errbuf, b->why), "%d: %s", _i, errbuf);
        return;
    }
    ck_assert_uint_eq(parsed.n_rtp, 1);
    unsigned n_tp = dcgw_sdp_assign_transports(&parsed, b->max, "past the cap");
    ck_assert(!parsed.rtp[0].usable);
    ck_assert_msg(strstr(parsed.rtp[0].reason, b->why), "%d: %s", _i, parsed.rtp[0].reason);
    ck_assert_uint_eq(parsed.rtp[0].tp, 0);
    ck_assert_uint_ge(n_tp, 1);
    ck_assert_ptr_null(dcgw_sdp_tp_transport(&parsed, NULL, 0, 1));
    ck_assert_ptr_eq(dcgw_sdp_bundle_transport(&parsed, NULL, 0), &parsed.dc.transport);
    ck_assert_str_eq(parsed.dc.transport.ice_ufrag, "dcdc");
    /* and the answer rejects it (port 0) with the reason */
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(&parsed, &parsed, &o, &match);
    ck_assert_uint_eq(match.n_pairs, 0);
    ck_assert(match.av[0][0].reject);
}
END_TEST

/* Transport-wide sequence numbers are per transport: TWCC passes between two bundled
 * Chromiums, not between an unbundled and a bundled one (their transports group the
 * m-lines differently). */
START_TEST(twcc_only_where_transports_match)
{
    char *t0, *t1;
    struct dcgw_sdp *u = sdph_parse_file("chromium-av-unbundled-offer.sdp", &t0);
    struct dcgw_sdp *c = sdph_parse_file("chromium-av-offer.sdp", &t1);
    dcgw_sdp_assign_transports(u, 4, "cap");
    dcgw_sdp_assign_transports(c, 4, "cap");
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    for (int pass = 0; pass < 3; pass++) {
        /* 0: bundled with bundled; 1: unbundled with bundled; 2: unbundled with unbundled */
        const struct dcgw_sdp *l0 = pass == 0 ? c : u, *l1 = pass == 1 ? c : (pass ? u : c);
        dcgw_sdp_match(l0, l1, &o, &match);
        ck_assert_uint_eq(match.n_pairs, 2);
        bool want = pass != 1;
        for (size_t j = 0; j < match.n_pairs; j++) {
            const struct dcgw_sdp_pair *pr = &match.pairs[j];
            bool ext = false;
            for (size_t e = 0; e < pr->n_exts; e++)
                ext |= pr->exts[e].known == DCGW_SDP_EXT_TWCC;
            ck_assert_msg(ext == want, "pass %d pair %zu", pass, j);
            ck_assert_uint_gt(pr->n_exts, 1); /* the others stay (mid, abs-send-time) */
            for (int k = 0; k < 2; k++) {
                const struct dcgw_sdp_av *av = &match.av[k][pr->rtp[k]];
                uint8_t fb = 0;
                for (size_t ci = 0; ci < DCGW_SDP_RTP_CODECS_MAX; ci++)
                    fb |= av->fb[ci];
                ck_assert_msg(!!(fb & DCGW_SDP_FB_TWCC) == want, "pass %d pair %zu leg %d", pass, j,
                              k);
                ck_assert(fb & DCGW_SDP_FB_NACK || pr->kind == DCGW_SDP_KIND_AUDIO);
            }
        }
    }
    /* the answer to the unbundled leg says neither */
    dcgw_sdp_match(u, c, &o, &match);
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, u, &match, 0);
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memcpy(av, match.av[0], sizeof(av));
    for (int i = 0; i < 2; i++) {
        av[i].ice_ufrag = i ? "videoUF" : "audioUF";
        av[i].ice_pwd = "avPWDavPWDavPWDavPWDavP";
        av[i].setup = DCGW_SDP_SETUP_PASSIVE;
    }
    l.av = av;
    ck_assert_int_gt(dcgw_sdp_write_answer(u, &l, out, sizeof(out)), 0);
    ck_assert_ptr_null(strstr(out, "transport-wide-cc"));
    ck_assert_ptr_null(strstr(out, "transport-cc"));
    ck_assert_ptr_nonnull(strstr(out, "abs-send-time"));
    free(u);
    free(c);
    free(t0);
    free(t1);
}
END_TEST

START_TEST(unbundled_answer_written)
{
    char *t0, *t1;
    struct dcgw_sdp *u = sdph_parse_file("chromium-av-unbundled-offer.sdp", &t0);
    struct dcgw_sdp *a = sdph_parse_file("aiortc-av-offer.sdp", &t1);
    dcgw_sdp_assign_transports(u, 4, "cap");
    dcgw_sdp_assign_transports(a, 4, "cap");
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(u, a, &o, &match);
    ck_assert_uint_eq(match.n_pairs, 2);
    ck_assert_uint_eq(match.pairs[0].tp[0], 1);
    ck_assert_uint_eq(match.pairs[1].tp[0], 2);
    ck_assert_uint_eq(match.pairs[1].tp[1], 0);
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, u, &match, 0);
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memcpy(av, match.av[0], sizeof(av));
    l.av = av;
    av[0].ice_ufrag = "audioUF";
    av[0].ice_pwd = "audioPWDaudioPWDaudioPW";
    av[0].setup = DCGW_SDP_SETUP_PASSIVE;
    av[1].ice_ufrag = "videoUF";
    av[1].ice_pwd = "videoPWDvideoPWDvideoPW";
    av[1].setup = DCGW_SDP_SETUP_PASSIVE;
    int n = dcgw_sdp_write_answer(u, &l, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_null(strstr(out, "a=group:BUNDLE")); /* the offer had none */
    ck_assert_int_eq(dcgw_sdp_parse(out, (size_t)n, &back, errbuf, sizeof(errbuf)), 0);
    ck_assert_str_eq(back.rtp[0].transport.ice_ufrag, "audioUF");
    ck_assert_str_eq(back.rtp[1].transport.ice_ufrag, "videoUF");
    ck_assert_int_eq(back.rtp[1].transport.setup, DCGW_SDP_SETUP_PASSIVE);
    ck_assert_str_eq(back.dc.transport.ice_ufrag, "dcgw");
    ck_assert_int_eq(back.dc.transport.setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert(back.rtp[0].usable && back.rtp[1].usable);
    /* read as the answer to an offer of dcgw's (one transport): not carried */
    dcgw_sdp_assign_transports(&back, 1, "not bundled in the answer");
    ck_assert(!back.rtp[0].usable && !back.rtp[1].usable);
    /* an own transport needs both credentials and a valid setup */
    av[1].ice_pwd = NULL;
    ck_assert_int_eq(dcgw_sdp_write_answer(u, &l, out, sizeof(out)), DCGW_EINVAL);
    av[1].ice_pwd = "videoPWDvideoPWDvideoPW";
    av[1].setup = DCGW_SDP_SETUP_NONE;
    ck_assert_int_eq(dcgw_sdp_write_answer(u, &l, out, sizeof(out)), DCGW_EINVAL);
    free(u);
    free(a);
    free(t0);
    free(t1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdp_transports");
    const TTest *tps[] = {unbundled_offer_transports, group_without_the_data_channel,
                          unbundled_answer_written, twcc_only_where_transports_match, NULL};
    TCase *tc = tsuite_add(s, "transports", 0, NULL, NULL, tps);
    tcase_add_loop_test(tc, unbundled_negative, 0, (int)(sizeof(ub_bad) / sizeof(ub_bad[0])));
    return tsuite_run(s);
}
