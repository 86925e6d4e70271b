/* SDP audio and video (sdp_rtp.c, sdp_match.c, sdp_write_av.c): real Chromium and aiortc
 * offers parsed, every malformed audio/video attribute refused with its line, what is
 * tolerated and what makes an m-line unusable, the two offers paired (payload types and
 * extension ids mapped), no common codec, policy, directions, and the answers and offers
 * written, parsed back. The transports of unbundled m-lines: test_sdp_transports.c. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/sdp/sdp_match.h"
#include "helper_sdp.h"
#include "helper_suite.h"

static char errbuf[256];
static struct dcgw_sdp parsed, parsed2, back;
static struct dcgw_sdp_match match;
static char out[DCGW_SDP_TEXT_MAX + 1];

static const struct dcgw_sdp_codec *codec(const struct dcgw_sdp *s, size_t rtp, size_t i)
{
    return &s->codecs[s->rtp[rtp].first_codec + i];
}

static int codec_of_pt(const struct dcgw_sdp *s, size_t rtp, unsigned pt)
{
    for (unsigned i = 0; i < s->rtp[rtp].n_codecs; i++)
        if (codec(s, rtp, i)->pt == pt)
            return (int)i;
    return -1;
}

/* ---- real offers ---- */

START_TEST(chromium_offer)
{
    char *text;
    struct dcgw_sdp *s = sdph_parse_file("chromium-av-offer.sdp", &text);
    ck_assert_uint_eq(s->n_rtp, 2);
    ck_assert_uint_eq(s->n_media, 3);
    ck_assert_int_eq(s->media[0].rtp, 0);
    ck_assert_int_eq(s->media[2].rtp, -1);
    const struct dcgw_sdp_rtp *a = &s->rtp[0], *v = &s->rtp[1];
    ck_assert_int_eq(a->kind, DCGW_SDP_KIND_AUDIO);
    ck_assert_int_eq(v->kind, DCGW_SDP_KIND_VIDEO);
    ck_assert(a->usable && v->usable);
    ck_assert_str_eq(a->mid, "0");
    ck_assert_str_eq(a->proto, "UDP/TLS/RTP/SAVPF");
    ck_assert(a->rtcp_mux && a->rtcp_rsize);
    ck_assert_int_eq(a->dir, DCGW_SDP_DIR_SENDRECV);
    ck_assert_uint_eq(a->n_codecs, 8);
    const struct dcgw_sdp_codec *opus = codec(s, 0, 0);
    ck_assert_uint_eq(opus->pt, 111);
    ck_assert_str_eq(opus->name, "opus");
    ck_assert_uint_eq(opus->clock, 48000);
    ck_assert_uint_eq(opus->channels, 2);
    ck_assert_str_eq(opus->fmtp, "minptime=10;useinbandfec=1");
    ck_assert_uint_eq(opus->fb, DCGW_SDP_FB_TWCC);
    ck_assert_str_eq(codec(s, 0, 3)->name, "PCMU");
    ck_assert_uint_eq(codec(s, 0, 3)->channels, 1);
    ck_assert_uint_eq(a->n_exts, 4);
    ck_assert_uint_eq(dcgw_sdp_mid_ext_id(s, 0), 4);
    ck_assert_uint_eq(a->n_ssrcs, 1);
    ck_assert_uint_eq(s->ssrcs[a->first_ssrc].ssrc, 624549962u);
    ck_assert_str_eq(s->ssrcs[a->first_ssrc].cname, "zo3bguNssmhuf4ov");
    ck_assert(a->has_msid);
    ck_assert_str_eq(a->msid_track, "e81971de-728c-4880-ab52-94f21d4f85c8");
    ck_assert_str_eq(a->transport.ice_ufrag, "TwvM");
    ck_assert_uint_eq(a->transport.n_fingerprints, 1);
    ck_assert_uint_eq(a->transport.n_candidates, 1); /* the TCP one is skipped */
    ck_assert_uint_eq(v->n_codecs, 23);
    int vp8 = codec_of_pt(s, 1, 96);
    ck_assert_int_ge(vp8, 0);
    ck_assert_uint_eq(codec(s, 1, (size_t)vp8)->fb, DCGW_SDP_FB_NACK | DCGW_SDP_FB_PLI |
                                                        DCGW_SDP_FB_FIR | DCGW_SDP_FB_REMB |
                                                        DCGW_SDP_FB_TWCC);
    ck_assert_uint_eq(v->n_groups, 1);
    ck_assert_str_eq(s->ssrc_groups[v->first_group].semantics, "FID");
    ck_assert_uint_eq(s->ssrc_groups[v->first_group].ssrcs[1], 1745074061u);
    ck_assert_uint_eq(s->n_bundle, 3);
    /* rtcp-xr, extmap-allow-mixed, a=rtcp: tolerated */
    ck_assert_uint_gt(s->ignored.attrs, 0);
    free(text);
    free(s);
}
END_TEST

START_TEST(aiortc_offer)
{
    char *text;
    struct dcgw_sdp *s = sdph_parse_file("aiortc-av-offer.sdp", &text);
    ck_assert_uint_eq(s->n_rtp, 2);
    /* aiortc 1.4: a transport per m-line, bundled only if the answer says so */
    ck_assert(s->rtp[0].own_transport && s->rtp[1].own_transport);
    ck_assert_str_eq(s->rtp[0].transport.ice_ufrag, "m13E");
    ck_assert_str_eq(s->rtp[1].transport.ice_ufrag, "arUm");
    ck_assert_str_eq(s->dc.ice_ufrag, "h8x4");
    ck_assert_uint_eq(s->rtp[0].transport.n_candidates, 1);
    ck_assert_uint_eq(codec(s, 0, 0)->pt, 96);
    ck_assert_str_eq(codec(s, 0, 0)->name, "opus");
    ck_assert_uint_eq(codec(s, 1, 1)->pt, 98);
    ck_assert_str_eq(codec(s, 1, 1)->fmtp, "apt=97");
    ck_assert_uint_eq(dcgw_sdp_mid_ext_id(s, 1), 1);
    ck_assert(s->rtp[1].rtcp_mux && !s->rtp[1].rtcp_rsize);
    free(text);
    free(s);
}
END_TEST

/* ---- synthetic SDPs ---- */

#define FP                                                                                         \
    "a=fingerprint:sha-256 "                                                                       \
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"      \
    "77:88:99\r\n"

/* A session with ICE and a fingerprint at session level and a BUNDLE group of mids d, a
 * and v, the DC m-line (mid d) first (lines 1-10), then `media` (its first line is line 11). */
static size_t sdp_with(char *buf, size_t cap, const char *media)
{
    int n = snprintf(buf, cap,
                     "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\na=group:BUNDLE d a v\r\n"
                     "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" FP
                     "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                     "a=mid:d\r\na=sctp-port:5000\r\n%s",
                     media);
    ck_assert_int_lt(n, (int)cap);
    return (size_t)n;
}

static int parse_with(const char *media, struct dcgw_sdp *s)
{
    char buf[8192];
    size_t n = sdp_with(buf, sizeof(buf), media);
    return dcgw_sdp_parse(buf, n, s, errbuf, sizeof(errbuf));
}

#define AUDIO "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:a\r\na=rtcp-mux\r\n"

static const struct bad {
    const char *media;
    int rc;
    const char *msg;
} bad[] = {
    {"m=audio 9 UDP/TLS/RTP/SAVPF 111 x\r\n", DCGW_EMALFORMED, "line 11: m=: payload type x"},
    {"m=audio 9 UDP/TLS/RTP/SAVPF 128\r\n", DCGW_EMALFORMED, "line 11: m=: payload type 128"},
    {"m=audio 9 UDP/TLS/RTP/SAVPF 0 0\r\n", DCGW_EMALFORMED, "listed twice"},
    {AUDIO "a=rtpmap:111 opus\r\n", DCGW_EMALFORMED, "line 14: a=rtpmap: expected"},
    {AUDIO "a=rtpmap:111 opus/0\r\n", DCGW_EMALFORMED, "line 14: a=rtpmap"},
    {AUDIO "a=rtpmap:111 opus/48000/2/9\r\n", DCGW_EMALFORMED, "a=rtpmap"},
    {AUDIO "a=rtpmap:111 opus/48000/0\r\n", DCGW_EMALFORMED, "a=rtpmap"},
    {AUDIO "a=rtpmap:111 /48000\r\n", DCGW_EMALFORMED, "a=rtpmap"},
    {AUDIO "a=rtpmap:200 opus/48000\r\n", DCGW_EMALFORMED, "payload type is 0..127"},
    {AUDIO "a=rtpmap:111 opus/48000/2\r\na=rtpmap:111 opus/48000/2\r\n", DCGW_EMALFORMED,
     "line 15: a=rtpmap: payload type 111 given twice"},
    {AUDIO "a=rtpmap:111 "
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/48000\r\n",
     DCGW_EMALFORMED, "encoding name longer"},
    {AUDIO "a=fmtp:111\r\n", DCGW_EMALFORMED, "a=fmtp"},
    {AUDIO "a=fmtp:111 a=1\r\na=fmtp:111 b=2\r\n", DCGW_EMALFORMED, "line 15: a=fmtp"},
    {AUDIO "a=rtcp-fb:x nack\r\n", DCGW_EMALFORMED, "line 14: a=rtcp-fb"},
    {AUDIO "a=rtcp-fb:111\r\n", DCGW_EMALFORMED, "a=rtcp-fb: expected"},
    {AUDIO "a=extmap:0 urn:x\r\n", DCGW_EMALFORMED, "line 14: a=extmap: id is 1..255"},
    {AUDIO "a=extmap:256 urn:x\r\n", DCGW_EMALFORMED, "a=extmap: id"},
    {AUDIO "a=extmap:1/sideways urn:x\r\n", DCGW_EMALFORMED, "invalid direction"},
    {AUDIO "a=extmap:1\r\n", DCGW_EMALFORMED, "a=extmap: expected"},
    {AUDIO "a=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n", DCGW_EMALFORMED, "id 1 given twice"},
    {AUDIO "a=ssrc:x cname:y\r\n", DCGW_EMALFORMED, "line 14: a=ssrc: ssrc is a 32-bit"},
    {AUDIO "a=ssrc:4294967296 cname:y\r\n", DCGW_EMALFORMED, "a=ssrc"},
    {AUDIO "a=ssrc:1\r\n", DCGW_EMALFORMED, "a=ssrc: expected"},
    {AUDIO "a=ssrc:1 cname:a\r\na=ssrc:1 cname:b\r\n", DCGW_EMALFORMED, "given twice"},
    {AUDIO "a=ssrc:1 cname:a\r\n" AUDIO "a=ssrc:1 cname:a\r\n", DCGW_EMALFORMED,
     "a=ssrc: 1 belongs to an earlier m-line"},
    {AUDIO "a=ssrc-group:FID\r\n", DCGW_EMALFORMED, "a=ssrc-group: no ssrc"},
    {AUDIO "a=ssrc-group:FID 1 2 3 4 5\r\n", DCGW_ETOOBIG, "a=ssrc-group: more than 4"},
    {AUDIO "a=ssrc-group:FID 1 x\r\n", DCGW_EMALFORMED, "a=ssrc-group"},
    {AUDIO "a=msid:s t extra\r\n", DCGW_EMALFORMED, "line 14: a=msid"},
    {AUDIO "a=sendonly\r\na=recvonly\r\n", DCGW_EMALFORMED, "line 15: a=recvonly: more than one"},
    {AUDIO "a=ice-ufrag:ab\r\n", DCGW_EMALFORMED, "line 14: a=ice-ufrag"},
    {AUDIO "a=candidate:1 1 udp 1 192.0.2.1\r\n", DCGW_EMALFORMED, "a=candidate"},
};

START_TEST(malformed)
{
    const struct bad *b = &bad[_i];
    int rc = parse_with(b->media, &parsed);
    ck_assert_msg(rc == b->rc, "case %d: %s, want %s (%s)", _i, dcgw_err_name(rc),
                  dcgw_err_name(b->rc), errbuf);
    ck_assert_msg(strstr(errbuf, b->msg) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, errbuf,
                  b->msg);
}
END_TEST

START_TEST(caps)
{
    char media[8192];
    int n = snprintf(media, sizeof(media), "m=video 9 UDP/TLS/RTP/SAVPF");
    for (int pt = 0; pt <= DCGW_SDP_RTP_CODECS_MAX; pt++)
        n += snprintf(media + n, sizeof(media) - (size_t)n, " %d", pt);
    snprintf(media + n, sizeof(media) - (size_t)n, "\r\n");
    ck_assert_int_eq(parse_with(media, &parsed), DCGW_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(errbuf, "line 11: m=: more than 64 payload types"));
    n = snprintf(media, sizeof(media), AUDIO);
    for (int id = 1; id <= DCGW_SDP_RTP_EXTS_MAX + 1; id++)
        n += snprintf(media + n, sizeof(media) - (size_t)n, "a=extmap:%d urn:x:%d\r\n", id, id);
    ck_assert_int_eq(parse_with(media, &parsed), DCGW_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(errbuf, "a=extmap: more than 16"));
    n = snprintf(media, sizeof(media), AUDIO);
    for (int i = 1; i <= DCGW_SDP_RTP_SSRCS_MAX + 1; i++)
        n += snprintf(media + n, sizeof(media) - (size_t)n, "a=ssrc:%d cname:c\r\n", i);
    ck_assert_int_eq(parse_with(media, &parsed), DCGW_ETOOBIG);
    /* more audio/video m-lines than kept: recorded as other media (rejected), no error */
    n = 0;
    for (int i = 0; i <= DCGW_SDP_RTP_MAX; i++)
        n += snprintf(media + n, sizeof(media) - (size_t)n,
                      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:m%d\r\na=rtcp-mux\r\n", i);
    ck_assert_int_eq(parse_with(media, &parsed), 0);
    ck_assert_uint_eq(parsed.n_rtp, DCGW_SDP_RTP_MAX);
    ck_assert_uint_eq(parsed.ignored.rtp_extra, 1);
    ck_assert_int_eq(parsed.media[DCGW_SDP_RTP_MAX + 1].rtp, -1);
}
END_TEST

START_TEST(tolerated_and_unusable)
{
    /* unknown rtcp-fb kinds, attributes for payload types not in m=, unknown attributes,
     * a dynamic payload type without rtpmap (dropped), static types without rtpmap */
    ck_assert_int_eq(parse_with(AUDIO "a=rtcp-fb:111 ccm tmmbr\r\na=rtcp-fb:* nack\r\n"
                                      "a=rtpmap:99 x/8000\r\na=fmtp:98 y=1\r\na=frobnicate:1\r\n"
                                      "a=rtcp:9 IN IP4 0.0.0.0\r\n",
                                &parsed),
                     0);
    ck_assert_uint_eq(parsed.ignored.rtp_fb, 1);
    ck_assert_uint_eq(parsed.ignored.rtp_unknown_pt, 2);
    ck_assert_uint_eq(parsed.ignored.rtp_no_rtpmap, 1);
    ck_assert_uint_eq(parsed.rtp[0].n_codecs, 1);
    ck_assert_str_eq(codec(&parsed, 0, 0)->name, "PCMU");
    ck_assert_uint_eq(codec(&parsed, 0, 0)->fb, DCGW_SDP_FB_NACK);
    ck_assert(parsed.rtp[0].usable);
    /* what makes an m-line unusable: said, and the SDP still parses */
    static const struct {
        const char *media, *reason;
    } un[] = {
        {"m=audio 9 RTP/AVP 0\r\na=rtcp-mux\r\n", "RTP/AVP is not carried"},
        {"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", "no a=rtcp-mux"},
        {"m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=rtcp-mux\r\n", "port 0"},
        {"m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtcp-mux\r\n", "no payload type"},
    };
    for (size_t i = 0; i < sizeof(un) / sizeof(un[0]); i++) {
        ck_assert_int_eq(parse_with(un[i].media, &parsed), 0);
        ck_assert_uint_eq(parsed.n_rtp, 1);
        ck_assert(!parsed.rtp[0].usable);
        ck_assert_msg(strstr(parsed.rtp[0].reason, un[i].reason), "%zu: %s", i,
                      parsed.rtp[0].reason);
    }
    /* not bundled, and no ICE credentials of its own nor from the session */
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof(buf),
                                "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" FP
                                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                                "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" AUDIO);
    ck_assert_int_eq(dcgw_sdp_parse(buf, n, &parsed, errbuf, sizeof(errbuf)), 0);
    ck_assert(!parsed.rtp[0].usable);
    ck_assert_ptr_nonnull(strstr(parsed.rtp[0].reason, "not bundled"));
    /* port 0 with bundle-only is usable (RFC 8843 §6) */
    ck_assert_int_eq(parse_with("m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=bundle-only\r\na=mid:a\r\n"
                                "a=rtcp-mux\r\n",
                                &parsed),
                     0);
    ck_assert(parsed.rtp[0].usable && parsed.rtp[0].bundle_only);
    /* a non-RTP proto on an audio m-line is other media, not kept */
    ck_assert_int_eq(parse_with("m=audio 9 TCP/MRCPv2 1\r\n", &parsed), 0);
    ck_assert_uint_eq(parsed.n_rtp, 0);
    /* session-level direction is every m-line's default */
    ck_assert_int_eq(parse_with("a=recvonly\r\n" AUDIO, &parsed), 0); /* (in the DC section) */
    n = (size_t)snprintf(buf, sizeof(buf),
                         "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=sendonly\r\n"
                         "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" FP
                         "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" AUDIO);
    ck_assert_int_eq(dcgw_sdp_parse(buf, n, &parsed, errbuf, sizeof(errbuf)), 0);
    ck_assert_int_eq(parsed.rtp[0].dir, DCGW_SDP_DIR_SENDONLY);
}
END_TEST

/* ---- pairing two legs ---- */

static void both(const char *m0, const char *m1, bool allow_video)
{
    ck_assert_msg(parse_with(m0, &parsed) == 0, "%s", errbuf);
    ck_assert_msg(parse_with(m1, &parsed2) == 0, "%s", errbuf);
    struct dcgw_sdp_match_opts o = {.allow = {{true, allow_video}, {true, allow_video}}};
    dcgw_sdp_match(&parsed, &parsed2, &o, &match);
}

/* Writes dcgw's answer to leg `leg`'s offer and parses it back into `back`. */
static void answer(int leg)
{
    struct dcgw_sdp *offer = leg ? &parsed2 : &parsed;
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, offer, &match, leg);
    int n = dcgw_sdp_write_answer(offer, &l, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_msg(dcgw_sdp_parse(out, (size_t)n, &back, errbuf, sizeof(errbuf)) == 0, "%s\n%s",
                  errbuf, out);
}

START_TEST(real_offers_paired)
{
    char *t0, *t1;
    struct dcgw_sdp *c = sdph_parse_file("chromium-av-offer.sdp", &t0);
    struct dcgw_sdp *a = sdph_parse_file("aiortc-av-offer.sdp", &t1);
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(c, a, &o, &match);
    ck_assert_uint_eq(match.n_pairs, 2);
    const struct dcgw_sdp_pair *au = &match.pairs[0], *vi = &match.pairs[1];
    /* audio: opus 111 <-> 96, PCMU, PCMA (Chromium's order) */
    ck_assert_uint_eq(au->n_codecs, 3);
    ck_assert_uint_eq(au->codecs[0].pt[0], 111);
    ck_assert_uint_eq(au->codecs[0].pt[1], 96);
    ck_assert_uint_eq(au->codecs[1].pt[0], 0);
    ck_assert_uint_eq(au->codecs[2].pt[1], 8);
    /* video: VP8 96 <-> 97, H264 pm=1 42001f 102 <-> 99, 42e01f 108 <-> 101, then the rtx of
     * each with its apt mapped */
    ck_assert_uint_eq(vi->n_codecs, 6);
    ck_assert_uint_eq(vi->codecs[0].pt[0], 96);
    ck_assert_uint_eq(vi->codecs[0].pt[1], 97);
    ck_assert_uint_eq(vi->codecs[1].pt[0], 102);
    ck_assert_uint_eq(vi->codecs[1].pt[1], 99);
    ck_assert_uint_eq(vi->codecs[2].pt[0], 108);
    ck_assert_uint_eq(vi->codecs[2].pt[1], 101);
    ck_assert_uint_eq(vi->codecs[3].flags, DCGW_SDP_CODEC_RTX);
    ck_assert_uint_eq(vi->codecs[3].pt[0], 97);
    ck_assert_uint_eq(vi->codecs[3].pt[1], 98);
    /* the mid extension, 4 on Chromium and 1 on aiortc */
    bool mid = false;
    for (size_t i = 0; i < vi->n_exts; i++)
        if (vi->exts[i].known == DCGW_SDP_EXT_MID)
            mid = vi->exts[i].id[0] == 4 && vi->exts[i].id[1] == 1;
    ck_assert(mid);
    ck_assert(au->send[0] && au->send[1]);
    /* the answer to Chromium: its payload types, aiortc's streams, rtcp-fb both have */
    ck_assert_uint_eq(match.n_av[0], 2);
    ck_assert(!match.av[0][1].reject);
    ck_assert_uint_eq(match.av[0][1].fb[codec_of_pt(c, 1, 96)],
                      DCGW_SDP_FB_NACK | DCGW_SDP_FB_PLI | DCGW_SDP_FB_REMB);
    ck_assert_ptr_eq(match.av[0][1].streams, a);
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, c, &match, 0);
    int n = dcgw_sdp_write_answer(c, &l, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(dcgw_sdp_parse(out, (size_t)n, &back, errbuf, sizeof(errbuf)), 0);
    ck_assert_ptr_nonnull(strstr(out, "a=group:BUNDLE 0 1 2\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "m=video 4000 UDP/TLS/RTP/SAVPF 96 97 102 103 108 109\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "a=ssrc-group:FID 4010857127 2029873212\r\n"));
    ck_assert_uint_eq(back.n_rtp, 2);
    ck_assert_uint_eq(back.rtp[0].n_codecs, 3);
    ck_assert_uint_eq(back.rtp[1].n_ssrcs, 2);
    ck_assert_str_eq(back.rtp[1].mid, "1");
    ck_assert(back.rtp[1].rtcp_mux);
    ck_assert_str_eq(back.rtp[0].transport.ice_ufrag, "dcgw");
    free(c);
    free(a);
    free(t0);
    free(t1);
}
END_TEST

#define OPUS "a=rtpmap:111 opus/48000/2\r\n"
#define VIDEO_H264(pt, prof, pm)                                                                   \
    "m=video 9 UDP/TLS/RTP/SAVPF " #pt "\r\na=mid:v\r\na=rtcp-mux\r\na=rtpmap:" #pt                \
    " H264/90000\r\na=fmtp:" #pt " profile-level-id=" prof ";packetization-mode=" pm "\r\n"

START_TEST(no_common_codec)
{
    both("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS,
         "m=audio 9 UDP/TLS/RTP/SAVPF 8\r\na=mid:a\r\na=rtcp-mux\r\n", true);
    ck_assert_uint_eq(match.n_pairs, 0);
    for (int k = 0; k < 2; k++) {
        ck_assert(match.av[k][0].reject);
        ck_assert_str_eq(match.av[k][0].reason, "no common codec with the other leg");
        answer(k);
        ck_assert_ptr_nonnull(strstr(out, "m=audio 0 UDP/TLS/RTP/SAVPF "));
        ck_assert_ptr_nonnull(strstr(out, "i=no common codec with the other leg\r\n"));
        ck_assert_ptr_nonnull(strstr(out, "a=group:BUNDLE d\r\n"));
        ck_assert_uint_eq(back.rtp[0].port, 0);
        ck_assert(!back.rtp[0].usable);
    }
    /* H264 of another profile, or another packetization mode, is another codec */
    both(VIDEO_H264(100, "42e01f", "1"), VIDEO_H264(101, "640c1f", "1"), true);
    ck_assert_uint_eq(match.n_pairs, 0);
    both(VIDEO_H264(100, "42e01f", "1"), VIDEO_H264(101, "42e01f", "0"), true);
    ck_assert_uint_eq(match.n_pairs, 0);
    /* the level may differ */
    both(VIDEO_H264(100, "42e01f", "1"), VIDEO_H264(101, "42e034", "1"), true);
    ck_assert_uint_eq(match.n_pairs, 1);
    ck_assert_uint_eq(match.pairs[0].codecs[0].pt[1], 101);
    /* only rtx in common is no codec */
    both("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:v\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
         "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:v\r\na=rtcp-mux\r\na=rtpmap:96 VP9/90000\r\n"
         "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n",
         true);
    ck_assert_uint_eq(match.n_pairs, 0);
}
END_TEST

START_TEST(policy_direction_and_wrapping)
{
    const char *av = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS
                     "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=rtcp-mux\r\n"
                     "a=rtpmap:96 VP8/90000\r\n";
    both(av, av, false);
    ck_assert_uint_eq(match.n_pairs, 1);
    ck_assert(match.av[0][1].reject);
    ck_assert_ptr_nonnull(strstr(match.av[0][1].reason, "video forbidden by the policy"));
    answer(0);
    ck_assert_ptr_nonnull(strstr(out, "a=group:BUNDLE d a\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "m=video 0 "));
    /* leg 0 only sends, leg 1 sends and receives: dcgw receives from leg 0 and sends to 1 */
    both("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\na=sendonly\r\n" OPUS,
         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS, true);
    ck_assert(match.pairs[0].send[0] && !match.pairs[0].send[1]);
    ck_assert_int_eq(match.av[0][0].dir, DCGW_SDP_DIR_RECVONLY);
    ck_assert_int_eq(match.av[1][0].dir, DCGW_SDP_DIR_SENDONLY);
    answer(1);
    ck_assert_ptr_nonnull(strstr(out, "a=sendonly\r\n"));
    ck_assert_int_eq(back.rtp[0].dir, DCGW_SDP_DIR_SENDONLY);
    /* red keeps payload types inside: kept only when every type maps to itself */
    both("m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS
         "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n",
         "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS
         "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n",
         true);
    ck_assert_uint_eq(match.pairs[0].n_codecs, 2);
    ck_assert_uint_eq(match.pairs[0].codecs[1].flags, DCGW_SDP_CODEC_WRAP);
    both(
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS
        "a=rtpmap:63 red/48000/2\r\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 96 63\r\na=mid:a\r\na=rtcp-mux\r\na=rtpmap:96 opus/48000/2\r\n"
        "a=rtpmap:63 red/48000/2\r\n",
        true);
    ck_assert_uint_eq(match.pairs[0].n_codecs, 1);
    /* an m-line with no partner on the other leg */
    both("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtcp-mux\r\n" OPUS, "", true);
    ck_assert(match.av[0][0].reject);
    ck_assert_ptr_nonnull(strstr(match.av[0][0].reason, "no audio m-line to pair"));
}
END_TEST

START_TEST(offer_from_an_answer)
{
    char *t0;
    struct dcgw_sdp *c = sdph_parse_file("chromium-av-offer.sdp", &t0);
    struct dcgw_sdp_av ans[DCGW_SDP_RTP_MAX], off[DCGW_SDP_RTP_MAX];
    bool allow[2] = {true, true};
    dcgw_sdp_answer_alone(c, allow, ans);
    ck_assert(!ans[0].reject && !ans[1].reject);
    ck_assert_uint_eq(__builtin_popcountll(ans[1].codecs), 23);
    size_t n = dcgw_sdp_offer_from(ans, c->n_rtp, off);
    ck_assert_uint_eq(n, 2);
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, c, &match, 0);
    l.setup = DCGW_SDP_SETUP_ACTPASS;
    strcpy(l.mid, "2");
    l.av = off;
    l.n_av = n;
    l.dc_index = 2;
    int len = dcgw_sdp_write_offer(&l, out, sizeof(out));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(dcgw_sdp_parse(out, (size_t)len, &back, errbuf, sizeof(errbuf)), 0);
    ck_assert_ptr_nonnull(strstr(out, "a=group:BUNDLE 0 1 2\r\n"));
    ck_assert_uint_eq(back.n_rtp, 2);
    ck_assert_uint_eq(back.rtp[1].n_codecs, 23);
    ck_assert_str_eq(back.rtp[0].msid_stream, c->rtp[0].msid_stream); /* Chromium's streams */
    ck_assert_uint_eq(back.rtp[0].n_ssrcs, 1);
    ck_assert_int_eq(back.rtp[0].transport.setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert_int_eq(back.dc.media_index, 2);
    /* a mid the data channel also uses, or no mid at all, cannot be offered */
    strcpy(l.mid, "0");
    ck_assert_int_eq(dcgw_sdp_write_offer(&l, out, sizeof(out)), DCGW_EINVAL);
    strcpy(l.mid, "2");
    l.dc_index = 3;
    ck_assert_int_eq(dcgw_sdp_write_offer(&l, out, sizeof(out)), DCGW_EINVAL);
    /* policy forbids video: rejected with a reason, not offered */
    allow[DCGW_SDP_KIND_VIDEO] = false;
    dcgw_sdp_answer_alone(c, allow, ans);
    ck_assert(ans[1].reject);
    ck_assert_uint_eq(dcgw_sdp_offer_from(ans, c->n_rtp, off), 1);
    free(c);
    free(t0);
}
END_TEST

START_TEST(writer_refuses_bad_descriptions)
{
    both(AUDIO "a=rtpmap:111 opus/48000/2\r\n", AUDIO "a=rtpmap:111 opus/48000/2\r\n", true);
    struct dcgw_sdp_local l;
    sdph_local_answer(&l, &parsed, &match, 0);
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memcpy(av, match.av[0], sizeof(av));
    l.av = av;
    av[0].codecs = 1ull << 5; /* a codec the m-line does not have */
    ck_assert_int_eq(dcgw_sdp_write_answer(&parsed, &l, out, sizeof(out)), DCGW_EINVAL);
    memcpy(av, match.av[0], sizeof(av));
    strcpy(av[0].reason, "two\nlines");
    ck_assert_int_eq(dcgw_sdp_write_answer(&parsed, &l, out, sizeof(out)), DCGW_EINVAL);
    memcpy(av, match.av[0], sizeof(av));
    l.n_av = 2; /* not one per offered m-line */
    ck_assert_int_eq(dcgw_sdp_write_answer(&parsed, &l, out, sizeof(out)), DCGW_EINVAL);
    l.n_av = 1;
    ck_assert_int_eq(dcgw_sdp_write_answer(&parsed, &l, out, 100), DCGW_ETOOBIG);
    /* no audio/video description: every such m-line rejected, as before */
    l.n_av = 0;
    l.av = NULL;
    int n = dcgw_sdp_write_answer(&parsed, &l, out, sizeof(out));
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(out, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdp_media");
    const TTest *real[] = {chromium_offer, aiortc_offer, NULL};
    tsuite_add(s, "real", 0, NULL, NULL, real);
    TCase *tc = tcase_create("malformed");
    tcase_add_loop_test(tc, malformed, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, caps);
    tcase_add_test(tc, tolerated_and_unusable);
    suite_add_tcase(s, tc);
    const TTest *pairs[] = {real_offers_paired,
                            no_common_codec,
                            policy_direction_and_wrapping,
                            offer_from_an_answer,
                            writer_refuses_bad_descriptions,
                            NULL};
    tsuite_add(s, "match", 0, NULL, NULL, pairs);
    return tsuite_run(s);
}
