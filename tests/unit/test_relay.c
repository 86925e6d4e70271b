/* The relay flow stage in memory, no sockets, with real DTLS peers (helper_relay.c):
 *
 *   peer 0 (UE)            dcgw_relay (ICE-lite x2, demux,          peer 1 (far end)
 *   dcgw_leg controlling <--> rate limits, DTLS inspector) <--> dcgw_leg controlling
 *                               side 0 | side 1
 *
 * The two peers run a real DTLS 1.2 handshake (OpenSSL, real clock) end to end through the
 * relay, each bound to the other's certificate; the relay blocks a man in the middle. */
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

static bool peers_connected(struct world *w)
{
    return (w->p[0].connected && w->p[1].connected) || w->p[0].failed || w->p[1].failed;
}

static bool relay_final(struct world *w)
{
    enum dcgw_relay_state st = dcgw_relay_state(w->r);
    return st == DCGW_RELAY_BLOCKED || st == DCGW_RELAY_FAILED;
}

/* ---- forwarding */

static void handshake_and_talk(struct world *w, const struct opts *o)
{
    trelay_world_init(w, o);
    trelay_run(w, peers_connected, 8000);
    ck_assert_msg(w->p[0].connected == 1 && w->p[1].connected == 1, "ue %d/%d as %d/%d (%s)",
                  w->p[0].connected, w->p[0].failed, w->p[1].connected, w->p[1].failed,
                  dcgw_relay_state_name(dcgw_relay_state(w->r)));
    /* application data both ways, end to end through the relay */
    for (int k = 0; k < 2; k++)
        w->p[k].up.loss_pct = w->p[k].down.loss_pct = 0;
    ck_assert_int_eq(dcgw_leg_send_data(w->p[0].leg, (const uint8_t *)"hello far end", 13), 0);
    ck_assert_int_eq(dcgw_leg_send_data(w->p[1].leg, (const uint8_t *)"hello UE", 8), 0);
    trelay_run(w, NULL, 0);
    for (int i = 0; i < 20 && (w->p[1].got_n < 13 || w->p[0].got_n < 8); i++)
        trelay_pump_once(w);
}

START_TEST(forwards_a_real_handshake_end_to_end)
{
    struct world w;
    struct opts o = {.legs = true, .wrong_fp_side = -1, .seed = 1, .seed_name = "handshake"};
    handshake_and_talk(&w, &o);
    ck_assert_uint_eq(w.p[1].got_n, 13);
    ck_assert_mem_eq(w.p[1].got, "hello far end", 13);
    ck_assert_uint_eq(w.p[0].got_n, 8);
    ck_assert_mem_eq(w.p[0].got, "hello UE", 8);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_CONNECTED);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 0);
    ck_assert_uint_ge(w.ev[DCGW_RELAY_EV_LATCHED], 2);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.dtls_client, 0);
    ck_assert_int_eq(st.err, 0);
    ck_assert(!st.mitm_suspected);
    for (int k = 0; k < 2; k++) {
        const struct dcgw_relay_side_stats *s = dcgw_relay_stats(w.r, k);
        ck_assert_uint_ge(s->forwarded_packets, 3); /* a flight, CCS+Finished, data */
        ck_assert_uint_ge(s->stun, 1);
        ck_assert_uint_eq(
            s->dropped_garbage + s->dropped_unvalidated + s->dropped_rate + s->dropped_blocked, 0);
        ck_assert(dcgw_addr_equal(dcgw_relay_peer(w.r, k), (struct sockaddr *)&w.p[k].addr));
        ck_assert_uint_eq(w.p[k].wrong_dest, 0);
        /* STUN stays per hop: all a peer got from the relay were answers to its checks */
        ck_assert_uint_ge(w.p[k].stun_from_relay, 1);
        ck_assert_uint_eq(w.p[k].stun_not_response, 0);
        const struct dcgw_dtls_inspect_side *is =
            dcgw_dtls_inspect_side(dcgw_relay_inspector(w.r), k);
        ck_assert_int_eq(is->cert, DCGW_INSPECT_CERT_MATCHED);
    }
    /* every forwarded datagram was the input buffer itself */
    ck_assert_uint_ge(w.same_buffer, 6);
    ck_assert_uint_eq(w.copied, 0);
    /* now verified: SRTP/SRTCP (RFC 7983: 128..191), keyed end to end, passes untouched and
     * is counted as media per direction */
    unsigned same = w.same_buffer;
    uint8_t srtp[200];
    for (int k = 0; k < 2; k++)
        for (unsigned i = 0; i < 10; i++) {
            memset(srtp, (int)(0x80 + i), sizeof(srtp));
            srtp[1] = i % 2 ? 200 : 96; /* SRTCP sender report, or SRTP */
            ck_assert_int_eq(trelay_inject(&w, k, srtp, 100 + i), DCGW_RELAY_FORWARDED);
        }
    ck_assert_uint_eq(w.same_buffer, same + 20);
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(dcgw_relay_stats(w.r, k)->media_forwarded_packets, 10);
        ck_assert_uint_eq(dcgw_relay_stats(w.r, k)->media_forwarded_bytes, 10 * 100 + 45);
    }
    trelay_assert_accounting(&w);
    ck_assert_uint_eq(dcgw_relay_next_timeout(w.r) < UINT64_MAX, 1); /* consent timers */
    trelay_world_dispose(&w);
}
END_TEST

START_TEST(lossy_handshake_still_verified)
{
    struct world w;
    struct opts o = {.legs = true,
                     .wrong_fp_side = -1,
                     .loss = 15,
                     .dup = 10,
                     .reorder = 20,
                     .seed = 40 + (uint64_t)_i};
    handshake_and_talk(&w, &o);
    ck_assert_uint_eq(w.p[1].got_n, 13);
    ck_assert_uint_eq(w.p[0].got_n, 8);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_CONNECTED);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

/* ---- a man in the middle: a certificate that is not the one of the side's SDP */

START_TEST(mitm_blocked_and_stays_blocked)
{
    int bad = _i; /* 0: the UE (DTLS client), 1: the far end (DTLS server) */
    struct world w;
    struct opts o = {.legs = true,
                     .wrong_fp_side = bad,
                     .seed = 7,
                     .seed_name = bad ? "mitm_far_end" : "mitm_ue"};
    trelay_world_init(&w, &o);
    trelay_run(&w, relay_final, 5000);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_BLOCKED);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.side, bad);
    ck_assert_int_eq(st.err, DCGW_EFINGERPRINT);
    ck_assert(st.mitm_suspected);
    ck_assert_ptr_nonnull(strstr(st.reason, "sha-256"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    ck_assert_uint_eq(w.ev_side[DCGW_RELAY_EV_BLOCKED], (unsigned)bad);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 0);
    const struct dcgw_dtls_inspect_side *is =
        dcgw_dtls_inspect_side(dcgw_relay_inspector(w.r), bad);
    ck_assert_int_eq(is->cert, DCGW_INSPECT_CERT_MISMATCH);
    struct dcgw_fingerprint real;
    trelay_fp_of(w.p[bad].cert, &real);
    ck_assert(dcgw_fingerprint_equal(&is->fp, &real)); /* what it presented */

    /* It stays blocked: retransmissions, application data, STUN checks, timers. */
    unsigned sends = w.sends;
    uint64_t fwd =
        dcgw_relay_stats(w.r, 0)->forwarded_packets + dcgw_relay_stats(w.r, 1)->forwarded_packets;
    trelay_run(&w, NULL, 400); /* OpenSSL retransmits every 50+ ms */
    uint8_t rec[64], body[32] = {0};
    for (int k = 0; k < 2; k++) {
        size_t n = trelay_record(rec, 23, 1, 1, body, sizeof(body));
        ck_assert_int_eq(trelay_inject(&w, k, rec, n), DCGW_RELAY_DROPPED);
    }
    dcgw_relay_handle_timeout(w.r, trelay_real_ms() + 3600 * 1000);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_BLOCKED);
    ck_assert_uint_eq(dcgw_relay_next_timeout(w.r), UINT64_MAX);
    ck_assert_uint_eq(w.sends, sends);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->forwarded_packets +
                          dcgw_relay_stats(w.r, 1)->forwarded_packets,
                      fwd);
    ck_assert_uint_ge(dcgw_relay_stats(w.r, bad)->dropped_blocked, 2);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    /* no application data ever reached either peer, and neither finished its handshake */
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(w.p[k].got_n, 0);
        ck_assert_int_eq(w.p[k].connected, 0);
        ck_assert_uint_eq(dcgw_dtls_inspect_stats(dcgw_relay_inspector(w.r), k)->held_app_data, 0);
    }
    trelay_assert_accounting(&w);
    trelay_world_dispose(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("relay");
    const TTest *const forwarding[] = {forwards_a_real_handshake_end_to_end, NULL};
    TCase *fwd = tsuite_add(s, "forwarding", 60, NULL, NULL, forwarding);
    tcase_add_loop_test(fwd, lossy_handshake_still_verified, 0, 3);
    TCase *mitm = tcase_create("mitm");
    tcase_set_timeout(mitm, 60);
    tcase_add_loop_test(mitm, mitm_blocked_and_stays_blocked, 0, 2);
    suite_add_tcase(s, mitm);
    return tsuite_run(s);
}
