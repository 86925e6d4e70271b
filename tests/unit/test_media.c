/* Media stage (src/stages/media.c) in memory: the real Chromium (leg 0) and aiortc (leg 1)
 * offers paired, each leg's peer simulated by a libsrtp2 session with the mirror of dcgw's
 * keys (AES-128-GCM toward Chromium, AES-CM toward aiortc, as the real peers negotiate).
 * Audio and video both ways with payload types, mid and extension ids rewritten; routing by
 * mid, a=ssrc, learnt SSRCs and payload type; every drop reason counted where it belongs;
 * RTCP with SSRCs mapped after a collision; the SSRC cap and idle eviction; policy and
 * bitrate; a leg without SRTP; an unbundled Chromium (a transport, keys and RTP session per
 * m-line) against bundled aiortc. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/media.h"
#include "dcgw/stages/rtp.h"
#include "dcgw/stages/srtp.h"
#include "helper_sdp.h"
#include "helper_suite.h"

/* from the fixtures */
#define C_AUDIO_SSRC 624549962u /* Chromium's audio */
#define C_VIDEO_SSRC 443772695u /* Chromium's video, FID with 1745074061 */
#define C_RTX_SSRC   1745074061u
#define A_AUDIO_SSRC 1596857816u /* aiortc's audio */
#define A_VIDEO_SSRC 4010857127u
#define U_AUDIO_SSRC 2503529639u /* unbundled Chromium's (chromium-av-unbundled-offer.sdp) */
#define U_VIDEO_SSRC 276429907u

struct peer {
    struct dcgw_srtp *tx, *rx; /* the far endpoint of a leg */
    uint8_t last[2048];        /* the last packet dcgw sent it, unprotected */
    size_t last_len;
    unsigned received;
    uint16_t seq;
};

static struct world {
    struct dcgw_sdp *s[2];
    char *text[2];
    struct dcgw_sdp_match match;
    struct dcgw_media *m;
    struct dcgw_srtp_keys k[2][3]; /* dcgw's, per leg and transport */
    struct peer peer[2][3];        /* per leg and transport (unbundled legs have several) */
    int tp[2];                     /* the transport of leg k that make_rtp / send_rtp use */
    int last_tp[2];                /* the transport of leg k dcgw sent on last */
    uint64_t now;
    unsigned started[2][DCGW_MEDIA_LINES_MAX], failed[2];
    char reason[DCGW_MEDIA_REASON_MAX];
} w;

static void cb_send(void *ud, int side, int tp, const uint8_t *p, size_t n)
{
    (void)ud;
    ck_assert_int_lt(tp, 3);
    struct peer *pe = &w.peer[side][tp];
    w.last_tp[side] = tp;
    ck_assert_uint_le(n, sizeof(pe->last));
    memcpy(pe->last, p, n);
    pe->last_len = n;
    int rc = dcgw_srtp_unprotect(pe->rx, pe->last, &pe->last_len, dcgw_rtp_is_rtcp(p, n));
    ck_assert_msg(rc == 0, "the peer of leg %d cannot unprotect: %s", side, dcgw_err_name(rc));
    pe->received++;
}

static void cb_event(void *ud, int side, int line, enum dcgw_media_event ev, const char *reason)
{
    (void)ud;
    if (ev == DCGW_MEDIA_EV_STARTED)
        w.started[side][line]++;
    else
        w.failed[side]++, snprintf(w.reason, sizeof(w.reason), "%s", reason);
}

static void keys_tp(int side, int tp, enum dcgw_srtp_profile p)
{
    uint8_t m[2 * DCGW_SRTP_MASTER_MAX];
    size_t kl, sl;
    ck_assert_int_eq(dcgw_srtp_profile_lengths(p, &kl, &sl), 0);
    ck_assert_int_eq(RAND_bytes(m, (int)(2 * (kl + sl))), 1);
    struct dcgw_srtp_keys peer;
    ck_assert_int_eq(dcgw_srtp_keys_split(p, m, 2 * (kl + sl), side == 0, &w.k[side][tp]), 0);
    ck_assert_int_eq(dcgw_srtp_keys_split(p, m, 2 * (kl + sl), side != 0, &peer), 0);
    ck_assert_int_eq(dcgw_srtp_new(&peer, true, 0, &w.peer[side][tp].tx), 0);
    ck_assert_int_eq(dcgw_srtp_new(&peer, false, 0, &w.peer[side][tp].rx), 0);
}

static void keys(int side, enum dcgw_srtp_profile p)
{
    keys_tp(side, 0, p);
}

static void setup_pair(const char *f0, const char *f1, bool keyed)
{
    memset(&w, 0, sizeof(w));
    w.now = 1000;
    w.s[0] = sdph_parse_file(f0, &w.text[0]);
    w.s[1] = sdph_parse_file(f1, &w.text[1]);
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(w.s[0], w.s[1], &o, &w.match);
    struct dcgw_media_cbs cbs = {.send = cb_send, .on_event = cb_event};
    ck_assert_int_eq(dcgw_media_new(&w.match, w.s[0], w.s[1], NULL, &cbs, &w.m), 0);
    keys(0, DCGW_SRTP_AEAD_AES_128_GCM);
    keys(1, DCGW_SRTP_AES128_CM_SHA1_80);
    if (keyed) {
        ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 0, &w.k[0][0]), 0);
        ck_assert_int_eq(dcgw_media_set_keys(w.m, 1, 0, &w.k[1][0]), 0);
    }
}

static void setup(void)
{
    setup_pair("chromium-av-offer.sdp", "aiortc-av-offer.sdp", true);
}

static void teardown(void)
{
    dcgw_media_free(w.m);
    for (int k = 0; k < 2; k++) {
        for (int t = 0; t < 3; t++) {
            dcgw_srtp_free(w.peer[k][t].tx);
            dcgw_srtp_free(w.peer[k][t].rx);
        }
        free(w.s[k]);
        free(w.text[k]);
    }
}

/* An RTP packet of leg `side`'s peer, protected: payload "media <pt>", and a mid
 * extension (one-byte form, id mid_id) when mid is not NULL. */
static size_t make_rtp(int side, uint8_t *b, uint8_t pt, uint32_t ssrc, uint8_t mid_id,
                       const char *mid)
{
    struct peer *pe = &w.peer[side][w.tp[side]];
    size_t n = 0;
    b[n++] = (uint8_t)(0x80 | (mid ? 0x10 : 0));
    b[n++] = pt;
    b[n++] = (uint8_t)(pe->seq >> 8);
    b[n++] = (uint8_t)pe->seq;
    pe->seq++;
    memcpy(b + n, "\x00\x00\x10\x00", 4);
    n += 4;
    for (int i = 3; i >= 0; i--)
        b[n++] = (uint8_t)(ssrc >> (8 * i));
    if (mid) {
        size_t ml = strlen(mid), words = (1 + ml + 3) / 4;
        b[n++] = 0xbe, b[n++] = 0xde, b[n++] = 0, b[n++] = (uint8_t)words;
        memset(b + n, 0, 4 * words);
        b[n] = (uint8_t)(mid_id << 4 | (ml - 1));
        memcpy(b + n + 1, mid, ml);
        n += 4 * words;
    }
    n += (size_t)snprintf((char *)b + n, 32, "media %u", pt);
    ck_assert_int_eq(dcgw_srtp_protect(pe->tx, b, &n, 2048, false), 0);
    return n;
}

static int send_rtp(int side, uint8_t pt, uint32_t ssrc, uint8_t mid_id, const char *mid)
{
    uint8_t b[2048];
    size_t n = make_rtp(side, b, pt, ssrc, mid_id, mid);
    return dcgw_media_input(w.m, side, w.tp[side], b, n, w.now);
}

/* What the peer of leg `side` got last: header, payload "media <pt>" of the original. */
static void got(int side, struct dcgw_rtp_hdr *h, unsigned orig_pt)
{
    struct peer *pe = &w.peer[side][w.last_tp[side]];
    ck_assert_int_eq(dcgw_rtp_parse(pe->last, pe->last_len, h), 0);
    char want[32];
    int wl = snprintf(want, sizeof(want), "media %u", orig_pt);
    ck_assert_uint_eq(pe->last_len - h->payload_off, (size_t)wl);
    ck_assert_mem_eq(pe->last + h->payload_off, want, (size_t)wl);
}

static void got_mid(int side, const struct dcgw_rtp_hdr *h, uint8_t id, const char *mid)
{
    const uint8_t *v;
    size_t n;
    ck_assert(dcgw_rtp_ext_find(w.peer[side][w.last_tp[side]].last, h, id, &v, &n));
    ck_assert_uint_eq(n, strlen(mid));
    ck_assert_mem_eq(v, mid, n);
}

static const struct dcgw_media_counters *cnt(int line, int side)
{
    return dcgw_media_counters(w.m, line, side);
}

START_TEST(audio_and_video_both_ways)
{
    struct dcgw_rtp_hdr h;
    ck_assert_uint_eq(dcgw_media_lines(w.m), 2);
    /* Chromium's opus (111, mid 0 under id 4) reaches aiortc as 96, mid 0 under id 1 */
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), 0);
    got(1, &h, 111);
    ck_assert_uint_eq(h.pt, 96);
    ck_assert_uint_eq(h.ssrc, C_AUDIO_SSRC);
    got_mid(1, &h, 1, "0");
    /* its VP8 (96) as 97, mid 1 */
    ck_assert_int_eq(send_rtp(0, 96, C_VIDEO_SSRC, 4, "1"), 0);
    got(1, &h, 96);
    ck_assert_uint_eq(h.pt, 97);
    got_mid(1, &h, 1, "1");
    /* its rtx (97) with no mid: routed by the a=ssrc of its SDP, sent as rtx 98 */
    ck_assert_int_eq(send_rtp(0, 97, C_RTX_SSRC, 0, NULL), 0);
    got(1, &h, 97);
    ck_assert_uint_eq(h.pt, 98);
    ck_assert_uint_eq(h.ext_profile, 0);
    /* H264 42e01f: 108 -> 101 */
    ck_assert_int_eq(send_rtp(0, 108, C_VIDEO_SSRC, 0, NULL), 0);
    got(1, &h, 108);
    ck_assert_uint_eq(h.pt, 101);
    /* aiortc's VP8 (97, mid under id 1) reaches Chromium as 96 with mid under id 4 */
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), 0);
    got(0, &h, 97);
    ck_assert_uint_eq(h.pt, 96);
    got_mid(0, &h, 4, "1");
    ck_assert_int_eq(send_rtp(1, 96, A_AUDIO_SSRC, 1, "0"), 0);
    got(0, &h, 96);
    ck_assert_uint_eq(h.pt, 111);
    /* counted per line and direction; STARTED once per line and leg */
    ck_assert_uint_eq(cnt(0, 0)->rtp_packets, 1);
    ck_assert_uint_eq(cnt(1, 0)->rtp_packets, 3);
    ck_assert_uint_eq(cnt(1, 0)->fwd_packets, 3);
    ck_assert_uint_eq(cnt(1, 1)->fwd_packets, 1);
    ck_assert_uint_eq(w.started[0][0] + w.started[0][1] + w.started[1][0] + w.started[1][1], 4);
    ck_assert_uint_eq(dcgw_media_streams(w.m, 0), 3);
    ck_assert_int_eq(dcgw_media_profile(w.m, 0, -1), DCGW_SRTP_AEAD_AES_128_GCM);
    const struct dcgw_media_line_info *li = dcgw_media_line(w.m, 1);
    ck_assert_str_eq(li->mid[0], "1");
    ck_assert(li->send[0] && li->send[1] && li->started[0]);
    ck_assert_ptr_null(dcgw_media_line(w.m, 2));
}
END_TEST

START_TEST(routing)
{
    /* an SSRC no SDP announced, named by its mid once, then known by its SSRC */
    ck_assert_int_eq(send_rtp(0, 96, 777, 4, "1"), 0);
    ck_assert_int_eq(send_rtp(0, 96, 777, 0, NULL), 0);
    ck_assert_uint_eq(cnt(1, 0)->fwd_packets, 2);
    /* a payload type only one m-line has routes an unknown SSRC (PCMU: audio) */
    ck_assert_int_eq(send_rtp(0, 0, 888, 0, NULL), 0);
    ck_assert_uint_eq(cnt(0, 0)->fwd_packets, 1);
    /* AV1 (45) was not agreed: unroutable without a mid, refused as a codec with one */
    ck_assert_int_eq(send_rtp(0, 45, 999, 0, NULL), -1 - DCGW_MEDIA_DROP_UNROUTABLE);
    ck_assert_uint_eq(cnt(-1, 0)->dropped[DCGW_MEDIA_DROP_UNROUTABLE], 1);
    ck_assert_int_eq(send_rtp(0, 45, 999, 4, "1"), -1 - DCGW_MEDIA_DROP_CODEC);
    ck_assert_uint_eq(cnt(1, 0)->dropped[DCGW_MEDIA_DROP_CODEC], 1);
    /* a mid that names no carried m-line */
    ck_assert_int_eq(send_rtp(0, 96, 1234, 4, "7"), -1 - DCGW_MEDIA_DROP_UNROUTABLE);
    ck_assert_uint_eq(w.peer[1][0].received, 3);
}
END_TEST

START_TEST(tampered_replayed_malformed)
{
    uint8_t b[2048], c[2048];
    size_t n = make_rtp(0, b, 111, C_AUDIO_SSRC, 4, "0");
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), 0);
    size_t nc = make_rtp(0, c, 111, C_AUDIO_SSRC, 4, "0");
    c[nc - 20] ^= 0x40; /* in the payload */
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], c, nc, w.now), -1 - DCGW_MEDIA_DROP_AUTH);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), -1 - DCGW_MEDIA_DROP_REPLAY);
    /* a stream not yet known: counted for the leg */
    n = make_rtp(0, b, 111, 4242, 4, "0");
    b[n - 1] ^= 1;
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), -1 - DCGW_MEDIA_DROP_AUTH);
    ck_assert_uint_eq(cnt(0, 0)->dropped[DCGW_MEDIA_DROP_AUTH], 1);
    ck_assert_uint_eq(cnt(0, 0)->dropped[DCGW_MEDIA_DROP_REPLAY], 1);
    ck_assert_uint_eq(cnt(-1, 0)->dropped[DCGW_MEDIA_DROP_AUTH], 1);
    ck_assert_uint_eq(w.peer[1][0].received, 1); /* only the genuine one */
    /* short, version 1, too large */
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, 11, w.now),
                     -1 - DCGW_MEDIA_DROP_MALFORMED);
    b[0] = 0x40;
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now),
                     -1 - DCGW_MEDIA_DROP_MALFORMED);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, DCGW_RTP_PACKET_MAX + 1, w.now),
                     -1 - DCGW_MEDIA_DROP_MALFORMED);
    ck_assert_uint_eq(cnt(-1, 0)->dropped[DCGW_MEDIA_DROP_MALFORMED], 3);
}
END_TEST

START_TEST(not_ready_and_failed_leg)
{
    teardown(); /* the fixture's keyed world */
    setup_pair("chromium-av-offer.sdp", "aiortc-av-offer.sdp", false);
    /* no keys on leg 0: nothing read */
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), -1 - DCGW_MEDIA_DROP_NOT_READY);
    /* leg 0 keyed, leg 1 not: authenticated, counted on its line, not forwarded */
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 0, &w.k[0][0]), 0);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 0, &w.k[0][0]), DCGW_ESTATE);
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_uint_eq(cnt(0, 0)->rtp_packets, 1);
    ck_assert_uint_eq(cnt(0, 0)->dropped[DCGW_MEDIA_DROP_NOT_READY], 1);
    /* leg 1 agreed no use_srtp: it fails, once, with the reason; set_keys is refused */
    dcgw_media_fail_leg(w.m, 1, "DTLS agreed no use_srtp profile (RFC 5764)");
    dcgw_media_fail_leg(w.m, 1, "again");
    ck_assert_uint_eq(w.failed[1], 1);
    ck_assert_str_eq(w.reason, "DTLS agreed no use_srtp profile (RFC 5764)");
    ck_assert_str_eq(dcgw_media_reason(w.m, 1), w.reason);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 1, 0, &w.k[1][0]), DCGW_ESTATE);
    ck_assert_int_eq(send_rtp(1, 96, A_AUDIO_SSRC, 1, "0"), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_uint_eq(w.peer[0][0].received + w.peer[1][0].received, 0);
    ck_assert_uint_eq(w.started[0][0], 0);
    teardown();
    setup(); /* for the fixture's teardown */
}
END_TEST

/* An RTCP packet of leg `side`'s peer (plain in b, protected on return). */
static size_t protect_rtcp(int side, uint8_t *b, size_t n)
{
    ck_assert_int_eq(dcgw_srtp_protect(w.peer[side][w.tp[side]].tx, b, &n, 2048, true), 0);
    return n;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

START_TEST(rtcp_and_ssrc_collision)
{
    struct dcgw_rtp_hdr h;
    /* Chromium sends audio with the SSRC aiortc itself uses (RFC 3550 §8.2 collision on
     * the aiortc leg): aiortc gets it under another SSRC */
    ck_assert_int_eq(send_rtp(0, 111, A_AUDIO_SSRC, 4, "0"), 0);
    got(1, &h, 111);
    uint32_t mapped = h.ssrc;
    ck_assert_uint_ne(mapped, A_AUDIO_SSRC);
    /* aiortc's receiver report and PLI about it reach Chromium about its own SSRC */
    uint8_t b[2048];
    memset(b, 0, sizeof(b));
    memcpy(b, "\x81\xc9\x00\x07", 4); /* RR, 1 block */
    put32(b + 4, 5555);
    put32(b + 8, mapped);
    memcpy(b + 32, "\x81\xce\x00\x02", 4); /* PLI */
    put32(b + 36, 5555);
    put32(b + 40, mapped);
    size_t n = protect_rtcp(1, b, 44);
    ck_assert_int_eq(dcgw_media_input(w.m, 1, w.tp[1], b, n, w.now), 0);
    ck_assert_uint_eq(w.peer[0][0].last_len, 44);
    ck_assert_uint_eq(get32(w.peer[0][0].last + 4), 5555);
    ck_assert_uint_eq(get32(w.peer[0][0].last + 8), A_AUDIO_SSRC);
    ck_assert_uint_eq(get32(w.peer[0][0].last + 40), A_AUDIO_SSRC);
    /* an RTCP sender with no RTP is counted for the leg, and remembered (bounded) */
    ck_assert_uint_eq(cnt(-1, 1)->rtcp_packets, 1);
    ck_assert_uint_eq(dcgw_media_streams(w.m, 1), 1);
    /* Chromium's sender report about its own stream passes under the SSRC aiortc knows */
    memset(b, 0, sizeof(b));
    memcpy(b, "\x80\xc8\x00\x06", 4);
    put32(b + 4, A_AUDIO_SSRC);
    n = protect_rtcp(0, b, 28);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), 0);
    ck_assert_uint_eq(get32(w.peer[1][0].last + 4), mapped);
    ck_assert_uint_eq(cnt(0, 0)->rtcp_packets, 1);
    /* replayed and tampered SRTCP */
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), -1 - DCGW_MEDIA_DROP_REPLAY);
    n = protect_rtcp(0, b, 28);
    b[10] ^= 1;
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now), -1 - DCGW_MEDIA_DROP_AUTH);
    /* a compound that does not parse after authentication */
    memset(b, 0, sizeof(b));
    memcpy(b, "\x80\xc8\x00\x09", 4); /* length past the end */
    put32(b + 4, A_AUDIO_SSRC);
    n = protect_rtcp(0, b, 28);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, w.tp[0], b, n, w.now),
                     -1 - DCGW_MEDIA_DROP_MALFORMED);
}
END_TEST

START_TEST(ssrc_cap_and_eviction)
{
    for (uint32_t i = 0; i < DCGW_MEDIA_STREAMS_MAX; i++)
        ck_assert_int_eq(send_rtp(0, 96, 10000 + i, 4, "1"), 0);
    /* one more SSRC while all are fresh: refused before libsrtp2 sees it */
    ck_assert_int_eq(send_rtp(0, 96, 99999, 4, "1"), -1 - DCGW_MEDIA_DROP_STREAMS);
    ck_assert_uint_eq(cnt(-1, 0)->dropped[DCGW_MEDIA_DROP_STREAMS], 1);
    /* the known ones keep flowing */
    ck_assert_int_eq(send_rtp(0, 96, 10005, 0, NULL), 0);
    /* once some are idle long enough, a new one takes the oldest slot */
    w.now += DCGW_MEDIA_STREAM_IDLE_MS + 1;
    ck_assert_int_eq(send_rtp(0, 96, 10005, 0, NULL), 0);
    ck_assert_int_eq(send_rtp(0, 96, 99999, 4, "1"), 0);
    ck_assert_uint_eq(dcgw_media_streams(w.m, 0), DCGW_MEDIA_STREAMS_MAX);
    /* the evicted SSRC is new again: it needs its mid to be routed */
    ck_assert_int_eq(send_rtp(0, 96, 10000, 0, NULL), 0); /* VP8 is unique: by payload type */
}
END_TEST

START_TEST(policy_and_bitrate)
{
    /* video from Chromium forbidden, audio limited to 64 kbit/s (16 KiB bucket floor) */
    dcgw_media_set_policy(w.m, 1, 0, false, 0, 0, w.now);
    dcgw_media_set_policy(w.m, 0, 0, true, 64000, 0, w.now);
    ck_assert_int_eq(send_rtp(0, 96, C_VIDEO_SSRC, 4, "1"), -1 - DCGW_MEDIA_DROP_POLICY);
    ck_assert_uint_eq(cnt(1, 0)->dropped[DCGW_MEDIA_DROP_POLICY], 1);
    /* the other direction of the same line is not affected */
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), 0);
    unsigned passed = 0, rate = 0;
    for (int i = 0; i < 2000; i++) {
        int rc = send_rtp(0, 111, C_AUDIO_SSRC, 4, "0");
        passed += rc == 0;
        rate += rc == -1 - DCGW_MEDIA_DROP_RATE;
    }
    ck_assert_uint_eq(passed + rate, 2000);
    ck_assert_uint_gt(rate, 0);
    /* the packets that passed fit the bucket: 16384 bytes at most */
    ck_assert_uint_le(cnt(0, 0)->rtp_bytes - 0, 2000 * 64);
    ck_assert_uint_eq(cnt(0, 0)->dropped[DCGW_MEDIA_DROP_RATE], rate);
    /* a second later the bucket has 8000 bytes more */
    w.now += 1000;
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), 0);
    ck_assert_uint_eq(dcgw_media_line(w.m, 0)->max_bitrate[0], 64000);
    /* lifting the limits */
    dcgw_media_set_policy(w.m, 0, 0, true, 0, 0, w.now);
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), 0);
}
END_TEST

START_TEST(direction)
{
    teardown();
    /* leg 0 only receives video: nothing it sends on that line is forwarded */
    memset(&w, 0, sizeof(w));
    char *t;
    w.s[0] = sdph_parse_file("chromium-av-offer.sdp", &w.text[0]);
    w.s[1] = sdph_parse_file("aiortc-av-offer.sdp", &t);
    w.text[1] = t;
    w.s[0]->rtp[1].dir = DCGW_SDP_DIR_RECVONLY;
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(w.s[0], w.s[1], &o, &w.match);
    struct dcgw_media_cbs cbs = {.send = cb_send, .on_event = cb_event};
    ck_assert_int_eq(dcgw_media_new(&w.match, w.s[0], w.s[1], NULL, &cbs, &w.m), 0);
    keys(0, DCGW_SRTP_AEAD_AES_128_GCM);
    keys(1, DCGW_SRTP_AES128_CM_SHA1_80);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 0, &w.k[0][0]), 0);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 1, 0, &w.k[1][0]), 0);
    ck_assert_int_eq(send_rtp(0, 96, C_VIDEO_SSRC, 4, "1"), -1 - DCGW_MEDIA_DROP_DIRECTION);
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), 0);
    ck_assert_uint_eq(cnt(1, 0)->dropped[DCGW_MEDIA_DROP_DIRECTION], 1);
    /* bad arguments */
    struct dcgw_media *m2;
    ck_assert_int_eq(dcgw_media_new(NULL, w.s[0], w.s[1], NULL, &cbs, &m2), DCGW_EINVAL);
    struct dcgw_media_cbs none = {0};
    ck_assert_int_eq(dcgw_media_new(&w.match, w.s[0], w.s[1], NULL, &none, &m2), DCGW_EINVAL);
    ck_assert_int_lt(dcgw_media_input(NULL, 0, 0, NULL, 0, 0), 0);
    ck_assert_int_lt(dcgw_media_input(w.m, 2, 0, (const uint8_t *)"x", 1, 0), 0);
    ck_assert_ptr_null(dcgw_media_counters(w.m, 5, 0));
    ck_assert_str_eq(dcgw_media_drop_name(DCGW_MEDIA_DROP_AUTH), "auth");
}
END_TEST

/* Chromium without BUNDLE (the offer test_media.sh's case u captured): audio on transport 1,
 * video on transport 2, each with its own GCM keys; aiortc bundled on its one transport. */
static void setup_unbundled(void)
{
    memset(&w, 0, sizeof(w));
    w.now = 1000;
    w.s[0] = sdph_parse_file("chromium-av-unbundled-offer.sdp", &w.text[0]);
    w.s[1] = sdph_parse_file("aiortc-av-offer.sdp", &w.text[1]);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(w.s[0], 4, "cap"), 3);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(w.s[1], 4, "cap"), 1);
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(w.s[0], w.s[1], &o, &w.match);
    struct dcgw_media_cbs cbs = {.send = cb_send, .on_event = cb_event};
    ck_assert_int_eq(dcgw_media_new(&w.match, w.s[0], w.s[1], NULL, &cbs, &w.m), 0);
    keys_tp(0, 1, DCGW_SRTP_AEAD_AES_128_GCM);
    keys_tp(0, 2, DCGW_SRTP_AEAD_AES_128_GCM);
    keys(1, DCGW_SRTP_AES128_CM_SHA1_80);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 1, &w.k[0][1]), 0);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 2, &w.k[0][2]), 0);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 1, 0, &w.k[1][0]), 0);
}

START_TEST(unbundled_transports)
{
    teardown();
    setup_unbundled();
    struct dcgw_rtp_hdr h;
    ck_assert_uint_eq(dcgw_media_line(w.m, 0)->tp[0], 1);
    ck_assert_uint_eq(dcgw_media_line(w.m, 1)->tp[0], 2);
    ck_assert_uint_eq(dcgw_media_line(w.m, 1)->tp[1], 0);
    /* each transport carries one m-line: no mid needed, any SSRC is that m-line's */
    w.tp[0] = 1;
    ck_assert_int_eq(send_rtp(0, 111, U_AUDIO_SSRC, 0, NULL), 0);
    got(1, &h, 111);
    ck_assert_uint_eq(h.pt, 96);
    ck_assert_int_eq(send_rtp(0, 0, 31337, 0, NULL), 0); /* PCMU from an unknown SSRC */
    /* VP8's type on the audio transport is the audio m-line's, which has no 96 */
    ck_assert_int_eq(send_rtp(0, 96, 4242, 0, NULL), -1 - DCGW_MEDIA_DROP_CODEC);
    w.tp[0] = 2;
    ck_assert_int_eq(send_rtp(0, 96, U_VIDEO_SSRC, 0, NULL), 0);
    got(1, &h, 96);
    ck_assert_uint_eq(h.pt, 97);
    ck_assert_uint_eq(w.last_tp[1], 0);
    /* SSRCs are per RTP session: 4242 on the video transport is another stream than 4242 on
     * the audio one (which has its m-line, though its packet was refused), sent to aiortc's
     * one session under another SSRC (RFC 3550 §8.2) */
    ck_assert_int_eq(send_rtp(0, 96, 4242, 0, NULL), 0);
    got(1, &h, 96);
    ck_assert_uint_ne(h.ssrc, 4242);
    w.tp[0] = 1;
    ck_assert_int_eq(send_rtp(0, 0, 4242, 0, NULL), 0);
    got(1, &h, 0);
    ck_assert_uint_eq(h.ssrc, 4242);
    ck_assert_uint_eq(dcgw_media_streams(w.m, 0), 5); /* 4242 twice, one per transport */
    /* aiortc's audio reaches Chromium's audio transport, its video the video one, each
     * protected with that transport's keys (cb_send unprotects with them) */
    ck_assert_int_eq(send_rtp(1, 96, A_AUDIO_SSRC, 1, "0"), 0);
    ck_assert_int_eq(w.last_tp[0], 1);
    got(0, &h, 96);
    ck_assert_uint_eq(h.pt, 111);
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), 0);
    ck_assert_int_eq(w.last_tp[0], 2);
    ck_assert_uint_eq(w.peer[0][1].received, 1);
    ck_assert_uint_eq(w.peer[0][2].received, 1);
    /* a packet of the audio transport replayed onto the video one: its keys do not fit */
    uint8_t b[2048];
    w.tp[0] = 1;
    size_t n = make_rtp(0, b, 111, U_AUDIO_SSRC, 0, NULL);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, 2, b, n, w.now), -1 - DCGW_MEDIA_DROP_AUTH);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, 1, b, n, w.now), 0);
    ck_assert_int_eq(dcgw_media_profile(w.m, 0, 2), DCGW_SRTP_AEAD_AES_128_GCM);
    ck_assert_int_eq(dcgw_media_profile(w.m, 0, 0), DCGW_SRTP_NONE); /* the data channel's */
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, DCGW_MEDIA_TRANSPORTS_MAX, &w.k[0][1]),
                     DCGW_ESTATE);
    ck_assert_int_lt(dcgw_media_input(w.m, 0, DCGW_MEDIA_TRANSPORTS_MAX, b, n, w.now), 0);
}
END_TEST

START_TEST(unbundled_rtcp)
{
    teardown();
    setup_unbundled();
    w.tp[0] = 2;
    ck_assert_int_eq(send_rtp(0, 96, U_VIDEO_SSRC, 0, NULL), 0);
    w.tp[0] = 1;
    ck_assert_int_eq(send_rtp(0, 111, U_AUDIO_SSRC, 0, NULL), 0);
    /* aiortc's receiver report on Chromium's video goes to the video transport, the one on
     * its audio to the audio transport (aiortc's receiver SSRC is known to neither) */
    uint8_t b[2048];
    memset(b, 0, sizeof(b));
    memcpy(b, "\x81\xc9\x00\x07", 4);
    put32(b + 4, 5555);
    put32(b + 8, U_VIDEO_SSRC);
    ck_assert_int_eq(dcgw_media_input(w.m, 1, 0, b, protect_rtcp(1, b, 32), w.now), 0);
    ck_assert_int_eq(w.last_tp[0], 2);
    ck_assert_uint_eq(get32(w.peer[0][2].last + 8), U_VIDEO_SSRC);
    memset(b, 0, sizeof(b));
    memcpy(b, "\x81\xc9\x00\x07", 4);
    put32(b + 4, 5555);
    put32(b + 8, U_AUDIO_SSRC);
    ck_assert_int_eq(dcgw_media_input(w.m, 1, 0, b, protect_rtcp(1, b, 32), w.now), 0);
    ck_assert_int_eq(w.last_tp[0], 1);
    /* a receiver report of Chromium's video transport, from a sender SSRC that sends no
     * RTP: that transport's one m-line decides, it goes to aiortc */
    w.tp[0] = 2;
    memset(b, 0, sizeof(b));
    memcpy(b, "\x81\xc9\x00\x07", 4);
    put32(b + 4, 1);
    put32(b + 8, A_VIDEO_SSRC);
    ck_assert_int_eq(dcgw_media_input(w.m, 0, 2, b, protect_rtcp(0, b, 32), w.now), 0);
    ck_assert_int_eq(w.last_tp[1], 0);
    ck_assert_uint_eq(get32(w.peer[1][0].last + 8), A_VIDEO_SSRC);
    ck_assert_uint_eq(cnt(-1, 0)->fwd_packets, 1); /* a sender with no m-line of its own */
    ck_assert_uint_eq(cnt(-1, 0)->rtcp_packets, 1);
}
END_TEST

START_TEST(unbundled_transport_fails)
{
    teardown();
    setup_unbundled();
    w.tp[0] = 2;
    ck_assert_int_eq(send_rtp(0, 96, U_VIDEO_SSRC, 0, NULL), 0);
    /* the video transport's consent is lost: only its m-line stops, once, with the reason */
    dcgw_media_fail_transport(w.m, 0, 2, "transport 2: ICE consent lost");
    dcgw_media_fail_transport(w.m, 0, 2, "again");
    ck_assert_uint_eq(w.failed[0], 1);
    ck_assert_str_eq(dcgw_media_reason(w.m, 0), "transport 2: ICE consent lost");
    ck_assert_int_eq(send_rtp(0, 96, U_VIDEO_SSRC, 0, NULL), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 2, &w.k[0][2]), DCGW_ESTATE);
    w.tp[0] = 1;
    ck_assert_int_eq(send_rtp(0, 111, U_AUDIO_SSRC, 0, NULL), 0);
    ck_assert_int_eq(send_rtp(1, 96, A_AUDIO_SSRC, 1, "0"), 0);
    ck_assert_int_eq(w.last_tp[0], 1);
    /* the whole leg: the audio transport too, one more FAILED */
    dcgw_media_fail_leg(w.m, 0, "leg gone");
    ck_assert_uint_eq(w.failed[0], 2);
    ck_assert_int_eq(send_rtp(0, 111, U_AUDIO_SSRC, 0, NULL), -1 - DCGW_MEDIA_DROP_NOT_READY);
    ck_assert_str_eq(dcgw_media_reason(w.m, 0), "transport 2: ICE consent lost");
}
END_TEST

/* Chromium's audio and video in a BUNDLE group without the data channel (RFC 8843 §7: a
 * transport for the group, another for the data channel): both m-lines on transport 1,
 * routed there by mid, a=ssrc or payload type as when bundled; the data channel's transport
 * carries no media (no keys: not_ready). */
START_TEST(group_without_the_data_channel)
{
    teardown();
    memset(&w, 0, sizeof(w));
    w.now = 1000;
    w.s[0] = sdph_parse_file("chromium-av-offer.sdp", &w.text[0]);
    w.s[1] = sdph_parse_file("aiortc-av-offer.sdp", &w.text[1]);
    char *g = strstr(w.text[0], "a=group:BUNDLE 0 1 2\r\n");
    ck_assert_ptr_nonnull(g);
    memcpy(g, "a=group:BUNDLE 0 1  ", 20);
    char err[256];
    ck_assert_int_eq(dcgw_sdp_parse(w.text[0], strlen(w.text[0]), w.s[0], err, sizeof(err)), 0);
    ck_assert_uint_eq(dcgw_sdp_assign_transports(w.s[0], 4, "cap"), 2);
    dcgw_sdp_assign_transports(w.s[1], 4, "cap");
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, true}}};
    dcgw_sdp_match(w.s[0], w.s[1], &o, &w.match);
    struct dcgw_media_cbs cbs = {.send = cb_send, .on_event = cb_event};
    ck_assert_int_eq(dcgw_media_new(&w.match, w.s[0], w.s[1], NULL, &cbs, &w.m), 0);
    ck_assert_uint_eq(dcgw_media_line(w.m, 0)->tp[0], 1);
    ck_assert_uint_eq(dcgw_media_line(w.m, 1)->tp[0], 1);
    keys_tp(0, 1, DCGW_SRTP_AEAD_AES_128_GCM);
    keys(1, DCGW_SRTP_AES128_CM_SHA1_80);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 0, 1, &w.k[0][1]), 0);
    ck_assert_int_eq(dcgw_media_set_keys(w.m, 1, 0, &w.k[1][0]), 0);
    struct dcgw_rtp_hdr h;
    w.tp[0] = 1;
    ck_assert_int_eq(send_rtp(0, 96, 777, 4, "1"), 0); /* by mid */
    got(1, &h, 96);
    ck_assert_uint_eq(h.pt, 97);
    ck_assert_int_eq(send_rtp(0, 97, C_RTX_SSRC, 0, NULL), 0); /* by a=ssrc */
    got(1, &h, 97);
    ck_assert_uint_eq(h.pt, 98);
    ck_assert_int_eq(send_rtp(0, 111, 888, 0, NULL), 0); /* by the one m-line with 111 */
    got(1, &h, 111);
    ck_assert_uint_eq(h.pt, 96);
    ck_assert_int_eq(send_rtp(0, 111, 999, 4, "2"), -1 - DCGW_MEDIA_DROP_UNROUTABLE);
    /* aiortc's audio and video both go to the group's transport */
    ck_assert_int_eq(send_rtp(1, 96, A_AUDIO_SSRC, 1, "0"), 0);
    ck_assert_int_eq(w.last_tp[0], 1);
    ck_assert_int_eq(send_rtp(1, 97, A_VIDEO_SSRC, 1, "1"), 0);
    ck_assert_int_eq(w.last_tp[0], 1);
    ck_assert_uint_eq(w.peer[0][1].received, 2);
    w.tp[0] = 0;
    keys_tp(0, 0, DCGW_SRTP_AEAD_AES_128_GCM); /* the test's peer only */
    ck_assert_int_eq(send_rtp(0, 111, C_AUDIO_SSRC, 4, "0"), -1 - DCGW_MEDIA_DROP_NOT_READY);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("media");
    const TTest *t[] = {audio_and_video_both_ways,
                        routing,
                        tampered_replayed_malformed,
                        not_ready_and_failed_leg,
                        rtcp_and_ssrc_collision,
                        ssrc_cap_and_eviction,
                        policy_and_bitrate,
                        direction,
                        unbundled_transports,
                        unbundled_rtcp,
                        unbundled_transport_fails,
                        group_without_the_data_channel,
                        NULL};
    tsuite_add(s, "media", 30, setup, teardown, t);
    return tsuite_run(s);
}
