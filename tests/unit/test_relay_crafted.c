/* The relay flow stage in memory, no sockets, with bare ICE clients as peers, an injected
 * clock and crafted DTLS (helper_relay.c): STUN per hop, garbage, DTLS 1.3 / uninspectable
 * flows, rate limits, timers and API misuse. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/stages/relay.h"
#include "helper_relay.h"
#include "helper_suite.h"

/* ---- STUN per hop, garbage */

struct capture {
    uint8_t buf[2048];
    size_t n;
};

static void capture_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)to;
    struct capture *c = ud;
    memcpy(c->buf, p, n);
    c->n = n;
}

/* A connectivity check as a peer of `hop` would sign it with hop `key`'s credentials. */
static void make_check(struct capture *c, int user_hop, int key_hop, uint64_t now)
{
    struct dcgw_ice_client_settings cs;
    trelay_ice_settings(&cs, user_hop, key_hop);
    struct dcgw_ice_client_cbs cc = {.ud = c, .send = capture_send};
    struct dcgw_ice_client *ic;
    struct sockaddr_storage gw;
    dcgw_addr_parse("192.0.2.1:3478", &gw);
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &cc, &ic), 0);
    ck_assert_int_eq(dcgw_ice_client_start(ic, (struct sockaddr *)&gw, now), 0);
    ck_assert_uint_gt(c->n, 20);
    dcgw_ice_client_free(ic);
}

START_TEST(stun_stays_per_hop)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 11};
    trelay_world_init(&w, &o);
    trelay_run(&w, trelay_both_ice, 2000);
    ck_assert(trelay_both_ice(&w));
    ck_assert_uint_eq(w.same_buffer + w.copied, 0); /* nothing forwarded: all STUN answered */
    unsigned sends = w.sends;
    /* hop 1's credentials are worth nothing on hop 0, and the reverse */
    struct capture c;
    make_check(&c, 1, 1, w.now);
    ck_assert_int_eq(trelay_inject(&w, 0, c.buf, c.n), DCGW_RELAY_DROPPED);
    make_check(&c, 0, 1, w.now);
    ck_assert_int_eq(trelay_inject(&w, 0, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->stun_rejected, 2);
    ck_assert_uint_eq(w.sends, sends);
    /* a good check of hop 1 is answered on hop 1 only, never forwarded to side 0 */
    make_check(&c, 1, 1, w.now);
    unsigned stun0 = w.p[0].stun_from_relay;
    ck_assert_int_eq(trelay_inject(&w, 1, c.buf, c.n), DCGW_RELAY_STUN_OK);
    ck_assert_uint_eq(w.sends, sends + 1);
    ck_assert_uint_eq(w.p[0].stun_from_relay, stun0);
    ck_assert_uint_eq(w.p[1].stun_not_response, 0);
    /* a STUN response or indication from a peer is not forwarded either */
    c.buf[0] = 0x01, c.buf[1] = 0x01;
    ck_assert_int_eq(trelay_inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    c.buf[0] = 0x00, c.buf[1] = 0x11;
    ck_assert_int_eq(trelay_inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(w.sends, sends + 1);
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

START_TEST(garbage_dropped_and_counted)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 12};
    trelay_world_init(&w, &o);
    trelay_run(&w, trelay_both_ice, 2000);
    ck_assert(trelay_both_ice(&w));
    unsigned sends = w.sends;
    const struct dcgw_relay_side_stats *s0 = dcgw_relay_stats(w.r, 0);
    uint64_t garbage0 = s0->dropped_garbage;
    /* every first byte outside STUN (0..3), DTLS (20..63) and RTP/RTCP (128..191): unknown,
     * empty */
    uint8_t d[64];
    unsigned expect = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (b <= 3 || (b >= 20 && b <= 63) || (b >= 128 && b <= 191))
            continue;
        memset(d, (int)b, sizeof(d));
        ck_assert_int_eq(trelay_inject(&w, 0, d, 1 + b % sizeof(d)), DCGW_RELAY_DROPPED);
        expect++;
    }
    ck_assert_int_eq(trelay_inject(&w, 0, d, 0), DCGW_RELAY_DROPPED);
    expect++;
    ck_assert_uint_eq(s0->dropped_garbage, garbage0 + expect);
    /* RTP/RTCP before the handshake was verified: SRTP is not keyed yet, none forwarded */
    uint64_t media0 = s0->dropped_media;
    for (unsigned b = 128; b <= 191; b++) {
        memset(d, (int)b, sizeof(d));
        ck_assert_int_eq(trelay_inject(&w, 0, d, 12 + b % 40), DCGW_RELAY_DROPPED);
    }
    ck_assert_uint_eq(s0->dropped_media, media0 + 64);
    ck_assert_uint_eq(s0->media_forwarded_packets, 0);
    /* random datagrams of every kind, seeded */
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        size_t n = 1 + (size_t)(rng % 300);
        uint8_t buf[300];
        for (size_t k = 0; k < n; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[k] = (uint8_t)rng;
        }
        if (i % 3 == 0)
            buf[0] = (uint8_t)(20 + rng % 44); /* DTLS range: the inspector sees it */
        int r = trelay_inject(&w, i % 2, buf, n);
        ck_assert(r == DCGW_RELAY_DROPPED || r == DCGW_RELAY_FORWARDED);
    }
    /* DTLS from an address that never passed a check */
    uint8_t rec[64], body[16] = {0};
    size_t n = trelay_record(rec, 22, 0, 0, body, sizeof(body));
    struct sockaddr_storage stranger;
    dcgw_addr_parse("198.51.100.99:1234", &stranger);
    uint64_t unval = s0->dropped_unvalidated;
    ck_assert_int_eq(dcgw_relay_input(w.r, 0, (struct sockaddr *)&stranger, rec, n, w.now),
                     DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(s0->dropped_unvalidated, unval + 1);
    /* The handshake is still possible: nothing garbage did fixed a wrong state. */
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_INSPECTING);
    ck_assert_uint_gt(s0->dropped_inspector + dcgw_relay_stats(w.r, 1)->dropped_inspector, 0);
    ck_assert_uint_le(w.sends - sends, 0);
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

/* ---- DTLS 1.3 / uninspectable: reject, or allow and report */

START_TEST(uninspectable_rejected)
{
    struct world w;
    trelay_uninspectable_world(&w, DCGW_INSPECT_REJECT_UNINSPECTABLE, 0, 0, 0);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_BLOCKED);
    ck_assert_int_eq(st.side, 0);
    ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
    ck_assert(!st.mitm_suspected);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    /* a valid check is no longer answered */
    struct capture c;
    make_check(&c, 1, 1, w.now);
    unsigned sends = w.sends;
    ck_assert_int_eq(trelay_inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(w.sends, sends);
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

START_TEST(uninspectable_allowed_and_reported)
{
    struct world w;
    trelay_uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 0, 0);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_UNINSPECTED);
    ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
    ck_assert_str_ne(st.reason, "");
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    uint8_t rec[128], body[100] = {1, 2, 3};
    size_t n = trelay_record(rec, 23, 1, 5, body, sizeof(body));
    ck_assert_int_eq(trelay_inject(&w, 1, rec, n), DCGW_RELAY_FORWARDED);
    ck_assert_int_eq(trelay_inject(&w, 0, rec, n), DCGW_RELAY_FORWARDED);
    ck_assert_uint_eq(w.copied, 0);
    trelay_world_dispose(&w);
}
END_TEST

/* ---- rate limits, injected clock */

static unsigned burst_in(struct world *w, int side, size_t size, unsigned count)
{
    uint8_t rec[2048], body[2048] = {0};
    size_t n = trelay_record(rec, 23, 1, 9, body, size - 13);
    unsigned fwd = 0;
    for (unsigned i = 0; i < count; i++)
        fwd += trelay_inject(w, side, rec, n) == DCGW_RELAY_FORWARDED;
    return fwd;
}

START_TEST(packet_rate_limit)
{
    struct world w;
    /* 100 packets/s, 100 ms deep: max(10, floor 8) = 10 packets */
    trelay_uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 100, 0, 100);
    w.now += 1000; /* full again after the ClientHello */
    ck_assert_uint_eq(burst_in(&w, 0, 200, 30), 10);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->dropped_rate, 20);
    ck_assert_uint_eq(burst_in(&w, 0, 200, 5), 0);
    w.now += 50; /* 5 tokens */
    ck_assert_uint_eq(burst_in(&w, 0, 200, 10), 5);
    /* per direction: the other side has its own bucket */
    ck_assert_uint_eq(burst_in(&w, 1, 200, 12), 10);
    /* over a simulated 2 s at 1 ms steps, 100/s + the burst */
    w.now += 1000;
    unsigned total = 0;
    for (int t = 0; t < 2000; t++, w.now++)
        total += burst_in(&w, 0, 100, 2);
    ck_assert_uint_ge(total, 208);
    ck_assert_uint_le(total, 211);
    /* lifted in flight */
    dcgw_relay_set_limits(w.r, 0, 0, 0, w.now);
    ck_assert_uint_eq(burst_in(&w, 0, 200, 500), 500);
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

START_TEST(byte_rate_limit)
{
    struct world w;
    /* 20000 bytes/s, 1 s deep */
    trelay_uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 20000, 1000);
    w.now += 2000;
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 25), 20);
    w.now += 100; /* 2000 bytes */
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 5), 2);
    /* a small datagram still fits where a big one does not */
    w.now += 40; /* 800 bytes */
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 1), 0);
    ck_assert_uint_eq(burst_in(&w, 0, 500, 1), 1);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->dropped_rate, 5 + 3 + 1);
    /* a shallow configured bucket still takes a few datagrams (the floor) */
    dcgw_relay_set_limits(w.r, 0, 1000, 10, w.now + 10000);
    w.now += 10000;
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 40), DCGW_RELAY_BURST_BYTES_MIN / 1000);
    trelay_world_dispose(&w);
}
END_TEST

/* ---- timers */

START_TEST(setup_timeout_fails_the_flow)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 13, .consent_ms = 60000};
    trelay_world_init(&w, &o);
    trelay_run(&w, trelay_both_ice, 2000);
    ck_assert(trelay_both_ice(&w));
    uint64_t due = dcgw_relay_next_timeout(w.r);
    ck_assert_uint_le(due, 1000000 + 20000);
    dcgw_relay_handle_timeout(w.r, 1000000 + 20000 - 1);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_INSPECTING);
    dcgw_relay_handle_timeout(w.r, 1000000 + 20000);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_FAILED);
    ck_assert_int_eq(st.side, -1);
    ck_assert_int_eq(st.err, DCGW_ETIMEOUT);
    ck_assert_ptr_nonnull(strstr(st.reason, "DTLS"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_FAILED], 1);
    trelay_world_dispose(&w);
}
END_TEST

START_TEST(consent_loss_fails_the_flow)
{
    struct world w;
    trelay_uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 0, 0);
    /* connected: only the hops' consent timers are left (5 s here) */
    uint64_t due = dcgw_relay_next_timeout(w.r);
    ck_assert_uint_le(due, w.now + 5000);
    ck_assert_uint_gt(due, w.now);
    dcgw_relay_handle_timeout(w.r, due);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_FAILED);
    ck_assert(st.side == 0 || st.side == 1);
    ck_assert_ptr_nonnull(strstr(st.reason, "consent"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_FAILED], 1);
    uint8_t rec[64], body[16] = {0};
    size_t n = trelay_record(rec, 23, 1, 9, body, sizeof(body));
    ck_assert_int_eq(trelay_inject(&w, 0, rec, n), DCGW_RELAY_DROPPED);
    trelay_world_dispose(&w);
}
END_TEST

/* ---- API misuse */

static int reenter_rc;
static void reenter_event(void *ud, enum dcgw_relay_event ev, int side)
{
    (void)ev;
    (void)side;
    struct world *w = ud;
    uint8_t b[1] = {0x80};
    reenter_rc = dcgw_relay_input(w->r, 0, (struct sockaddr *)&w->p[0].addr, b, 1, w->now);
}

static void nop_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)ud, (void)side, (void)to, (void)p, (void)n;
}

START_TEST(bad_arguments)
{
    struct dcgw_fingerprint fp = {.alg = DCGW_HASH_SHA256, .len = 32};
    struct dcgw_relay_settings rs;
    dcgw_relay_settings_default(&rs);
    struct dcgw_relay_cbs cbs = {.send = nop_send};
    struct dcgw_relay *r = NULL;
    for (int k = 0; k < 2; k++)
        rs.side[k] = (struct dcgw_relay_side_settings){.local_ufrag = GW_UFRAG[k],
                                                       .local_pwd = GW_PWD[k],
                                                       .remote_ufrag = PEER_UFRAG[k],
                                                       .fps = &fp,
                                                       .n_fps = 1};
    struct dcgw_relay_cbs none = {0};
    ck_assert_int_eq(dcgw_relay_new(&rs, &none, 0, &r), DCGW_EINVAL);
    rs.side[1].n_fps = 0;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[1].n_fps = 1;
    rs.side[0].local_pwd = "short";
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[0].local_pwd = GW_PWD[0];
    rs.side[0].remote_ufrag = NULL;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[0].remote_ufrag = PEER_UFRAG[0];
    rs.burst_ms = DCGW_RELAY_BURST_MS_MAX + 1;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_ERANGE);
    ck_assert_ptr_null(r);
    rs.burst_ms = 0;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), 0);
    struct sockaddr_storage a;
    dcgw_addr_parse("127.0.0.1:9", &a);
    uint8_t b[4] = {0x80};
    ck_assert_int_eq(dcgw_relay_input(r, 2, (struct sockaddr *)&a, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, -1, (struct sockaddr *)&a, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, 0, NULL, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, 0, (struct sockaddr *)&a, NULL, 4, 0), DCGW_EINVAL);
    ck_assert_ptr_null(dcgw_relay_stats(r, 2));
    ck_assert_ptr_null(dcgw_relay_peer(r, 0));
    ck_assert_int_eq(dcgw_relay_state(r), DCGW_RELAY_ICE);
    ck_assert_str_eq(dcgw_relay_state_name(DCGW_RELAY_BLOCKED), "blocked");
    ck_assert_str_eq(dcgw_relay_state_name((enum dcgw_relay_state)99), "?");
    dcgw_relay_free(r);
    dcgw_relay_free(NULL);

    /* input from inside a callback is refused */
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 14};
    trelay_world_init(&w, &o);
    dcgw_relay_free(w.r);
    for (int k = 0; k < 2; k++)
        rs.side[k].remote_pwd = PEER_PWD[k];
    struct dcgw_relay_cbs rc = {.ud = &w, .send = trelay_relay_send, .on_event = reenter_event};
    ck_assert_int_eq(dcgw_relay_new(&rs, &rc, w.now, &w.r), 0);
    reenter_rc = 0;
    trelay_run(&w, trelay_both_ice, 2000);
    ck_assert_int_eq(reenter_rc, DCGW_ESTATE);
    trelay_world_dispose(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("relay_crafted");
    const TTest *const hop[] = {stun_stays_per_hop, garbage_dropped_and_counted, NULL};
    const TTest *const pol[] = {uninspectable_rejected, uninspectable_allowed_and_reported, NULL};
    const TTest *const rate[] = {packet_rate_limit, byte_rate_limit, NULL};
    const TTest *const tm[] = {setup_timeout_fails_the_flow, consent_loss_fails_the_flow, NULL};
    const TTest *const api[] = {bad_arguments, NULL};
    tsuite_add(s, "stun_and_garbage", 0, NULL, NULL, hop);
    tsuite_add(s, "uninspectable", 0, NULL, NULL, pol);
    tsuite_add(s, "rate_limits", 0, NULL, NULL, rate);
    tsuite_add(s, "timers", 0, NULL, NULL, tm);
    tsuite_add(s, "api", 0, NULL, NULL, api);
    return tsuite_run(s);
}
