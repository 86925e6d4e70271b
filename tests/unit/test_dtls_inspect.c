/* Relay handshake inspector, real handshakes: two OpenSSL DTLS 1.2 endpoints in memory (no
 * sockets, helper_dtls_inspect.c), every datagram captured and fed through the inspector.
 *
 * OpenSSL 3.0 arms its DTLS retransmission timer with gettimeofday(); this program
 * interposes it with a clock that can be moved forward, so a lost flight is retransmitted
 * without waiting. With DCGW_INSPECT_CORPUS=<dir> set, the handshakes made with the fixed
 * test certificate are written there as seeds for tests/fuzz/fuzz_dtls_inspect.c (the
 * DTLS 1.3 seed comes from test_dtls_inspect_peers). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/error.h"
#include "helper_dtls_inspect.h"
#include "helper_suite.h"

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    (void)tz;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us =
        (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u + tinsp_clock_ahead_us;
    tv->tv_sec = (time_t)(us / 1000000u);
    tv->tv_usec = (suseconds_t)(us % 1000000u);
    return 0;
}

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Datagrams in capture order, each flight (a run from one side) shuffled. */
static void shuffle_flights(const struct world *w, size_t *order, uint64_t seed)
{
    for (size_t i = 0; i < w->n_dg; i++)
        order[i] = i;
    for (size_t a = 0, b; a < w->n_dg; a = b) {
        for (b = a + 1; b < w->n_dg && w->dg[b].side == w->dg[a].side; b++)
            ;
        for (size_t i = b - 1; i > a; i--) {
            size_t j = a + rng_next(&seed) % (i - a + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}

/* ---- real handshakes ----------------------------------------------------------------------- */

START_TEST(real_handshake_verified)
{
    /* _i: 0 UE client, 1 UE server, 2 with HelloVerifyRequest, 3 UE server + cookie */
    struct hs_opts o = {.ue_server = _i & 1, .cookie = _i >= 2, .fixed = true};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    struct iopts io = tinsp_right_fps(&w);
    struct seen seen = {0};
    struct dcgw_dtls_inspect *in = tinsp_new(&io, &seen);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    bool verified_before_app = false;
    for (size_t i = 0; i < w.n_dg; i++) {
        if (w.dg[i].app && dcgw_dtls_inspect_state(in) == DCGW_INSPECT_VERIFIED)
            verified_before_app = true;
        ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    }
    ck_assert(verified_before_app);
    tinsp_assert_verified(in, &w, 2);
    ck_assert_int_eq(seen.events, 1);
    ck_assert_int_eq(seen.last_state, DCGW_INSPECT_VERIFIED);
    /* the client's Certificate is the last one to arrive */
    ck_assert_int_eq(seen.last_side, w.client);
    ck_assert_uint_gt(dcgw_dtls_inspect_stats(in, 0)->opaque, 0);
    static const char *const names[] = {"handshake_ue_client", "handshake_ue_server",
                                        "handshake_cookie", "handshake_cookie_ue_server"};
    tinsp_corpus_write(names[_i], 0, w.dg, w.n_dg);
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

START_TEST(small_mtu_fragments_the_certificate)
{
    static const unsigned mtus[] = {256, 300, 400};
    for (unsigned m = 0; m < 3; m++) {
        struct hs_opts o = {.mtu = mtus[m], .ue_server = m == 1, .chain = {m, 0}, .fixed = true};
        struct world w;
        tinsp_handshake(&w, &o, DCGW_TEST_DATA);
        unsigned frags[SIDES] = {0}, partial[SIDES] = {0};
        for (size_t i = 0; i < w.n_dg; i++) {
            ck_assert_uint_le(w.dg[i].n, mtus[m]);
            frags[w.dg[i].side] +=
                tinsp_frags_of(w.dg[i].p, w.dg[i].n, 11, &partial[w.dg[i].side], NULL);
        }
        /* each Certificate went out in several fragments */
        ck_assert_uint_gt(frags[0], 1);
        ck_assert_uint_gt(frags[1], 1);
        ck_assert_uint_eq(partial[0], frags[0]);
        struct iopts io = tinsp_right_fps(&w);
        struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
        tinsp_feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
        tinsp_assert_verified(in, &w, 2);
        if (m == 1)
            tinsp_corpus_write("handshake_mtu300", 0, w.dg, w.n_dg);
        dcgw_dtls_inspect_free(in);
        tinsp_world_free(&w);
    }
}
END_TEST

START_TEST(first_certificate_of_a_chain_is_hashed)
{
    struct hs_opts o = {.chain = {3, 0}};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    struct iopts io = tinsp_right_fps(&w);
    struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
    tinsp_feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
    tinsp_assert_verified(in, &w, 2);
    dcgw_dtls_inspect_free(in);

    /* the SDP names the second certificate of the UE's chain: not the UE's own */
    io.fps[0][2] = tinsp_fp_of(w.extra[0][0], DCGW_HASH_SHA256);
    in = tinsp_new(&io, NULL);
    size_t i = 0;
    while (i < w.n_dg && tinsp_feed_dg(in, &w.dg[i]) != DCGW_INSPECT_BLOCK)
        i++;
    ck_assert_uint_lt(i, w.n_dg);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->cert, DCGW_INSPECT_CERT_MISMATCH);
    dcgw_dtls_inspect_free(in);

    /* four certificates do not fit a 1 KiB reassembly bound */
    io = tinsp_right_fps(&w);
    io.bound = DCGW_INSPECT_HANDSHAKE_BYTES_MIN;
    in = tinsp_new(&io, NULL);
    for (i = 0; i < w.n_dg && tinsp_feed_dg(in, &w.dg[i]) == DCGW_INSPECT_PASS; i++)
        ;
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->err, DCGW_ELIMIT);
    ck_assert_ptr_nonnull(strstr(dcgw_dtls_inspect_side(in, 0)->reason, "1024-byte bound"));
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

START_TEST(retransmitted_flights_pass)
{
    /* every datagram twice, and a flight really resent by the server's timer */
    for (int lose = 0; lose < 2; lose++) {
        struct hs_opts o = {.mtu = 300, .lose = lose, .ue_server = lose};
        struct world w;
        tinsp_handshake(&w, &o, DCGW_TEST_DATA);
        struct iopts io = tinsp_right_fps(&w);
        struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
        for (size_t i = 0; i < w.n_dg; i++) {
            ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
            if (!lose)
                ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
        }
        tinsp_assert_verified(in, &w, 2);
        const struct dcgw_dtls_inspect_stats *s = dcgw_dtls_inspect_stats(in, 1 - w.client);
        ck_assert_uint_gt(s->duplicates, 0);
        dcgw_dtls_inspect_free(in);
        tinsp_world_free(&w);
    }
}
END_TEST

START_TEST(reordered_flights_pass)
{
    size_t order[MAX_DG];
    for (uint64_t seed = 1; seed <= 24; seed++) {
        struct hs_opts o = {
            .mtu = seed % 2 ? 256 : 350, .ue_server = seed % 3 == 0, .cookie = seed % 4 == 0};
        struct world w;
        tinsp_handshake(&w, &o, DCGW_TEST_DATA);
        shuffle_flights(&w, order, seed);
        struct iopts io = tinsp_right_fps(&w);
        struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
        tinsp_feed_all(in, &w, order, w.n_dg, DCGW_INSPECT_PASS);
        if (seed % 5 == 0) /* and once more, as retransmissions in another order */
            tinsp_feed_all(in, &w, order, w.n_dg, DCGW_INSPECT_PASS);
        tinsp_assert_verified(in, &w, 2);
        dcgw_dtls_inspect_free(in);
        tinsp_world_free(&w);
    }
}
END_TEST

START_TEST(wrong_fingerprint_blocks_that_side)
{
    /* _i: bit 0 which side is wrong, bit 1 UE is the server */
    int bad = _i & 1;
    struct hs_opts o = {.ue_server = _i >> 1, .mtu = 300};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    struct iopts io = tinsp_right_fps(&w);
    io.fps[bad][2] = tinsp_fp_of(w.other, DCGW_HASH_SHA256);
    io.fps[bad][3] = tinsp_fp_of(w.other, DCGW_HASH_SHA512);
    io.n[bad] = 4;
    struct seen seen = {0};
    struct dcgw_dtls_inspect *in = tinsp_new(&io, &seen);
    size_t blocked_at = w.n_dg;
    for (size_t i = 0; i < w.n_dg; i++) {
        int v = tinsp_feed_dg(in, &w.dg[i]);
        if (v == DCGW_INSPECT_BLOCK && blocked_at == w.n_dg)
            blocked_at = i;
        ck_assert_int_eq(v, i < blocked_at ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        if (w.dg[i].app)
            ck_assert_int_eq(v, DCGW_INSPECT_BLOCK);
    }
    /* blocked on the datagram that completed the wrong side's Certificate */
    ck_assert_uint_lt(blocked_at, w.n_dg);
    ck_assert(tinsp_has_msg(&w.dg[blocked_at], 11));
    ck_assert_int_eq(w.dg[blocked_at].side, bad);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.state, DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(st.side, bad);
    ck_assert_int_eq(st.err, DCGW_EFINGERPRINT);
    ck_assert_ptr_nonnull(strstr(st.reason, bad ? "far end" : "UE"));
    ck_assert_int_eq(seen.events, 1);
    ck_assert_int_eq(seen.last_side, bad);
    /* the event carries the certificate's fingerprint, with the strongest SDP hash */
    const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(in, bad);
    ck_assert_int_eq(sd->cert, DCGW_INSPECT_CERT_MISMATCH);
    struct dcgw_fingerprint real = tinsp_fp_of(w.cert[bad], DCGW_HASH_SHA512);
    ck_assert(dcgw_fingerprint_equal(&sd->fp, &real));
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
    dcgw_fingerprint_format(&real, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(st.reason, text));
    /* the other side's certificate, if it came first, matched */
    if (bad == w.client)
        ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1 - bad)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_gt(
        dcgw_dtls_inspect_stats(in, 0)->blocked + dcgw_dtls_inspect_stats(in, 1)->blocked, 1);
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

START_TEST(weak_hash_floor)
{
    struct hs_opts o = {0};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    struct iopts io = tinsp_right_fps(&w);
    io.fps[1][0] = io.fps[1][1]; /* only the SHA-1 fingerprint for the far end */
    io.n[1] = 1;
    struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
    for (size_t i = 0; i < w.n_dg; i++)
        tinsp_feed_dg(in, &w.dg[i]);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1)->cert, DCGW_INSPECT_CERT_WEAK_HASH);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.err, DCGW_EWEAKHASH);
    dcgw_dtls_inspect_free(in);
    /* a floor at SHA-1 accepts it */
    io.min_hash = DCGW_HASH_SHA1;
    in = tinsp_new(&io, NULL);
    tinsp_feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1)->fp.alg, DCGW_HASH_SHA1);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->matched_index, 1); /* SHA-1 comes first */
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

START_TEST(application_data_held_until_verified)
{
    struct hs_opts o = {.mtu = 300};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    struct iopts io = tinsp_right_fps(&w);
    struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
    /* everything but the client's Certificate: both application records are held back */
    unsigned app = 0;
    for (size_t i = 0; i < w.n_dg; i++) {
        if (w.dg[i].side == w.client && tinsp_has_msg(&w.dg[i], 11))
            continue;
        int v = tinsp_feed_dg(in, &w.dg[i]);
        if (w.dg[i].app) {
            app++;
            ck_assert_int_eq(v, DCGW_INSPECT_DROP);
        }
    }
    ck_assert_uint_eq(app, 2);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, w.client)->cert, DCGW_INSPECT_CERT_PENDING);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1 - w.client)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(in, 0)->held_app_data +
                          dcgw_dtls_inspect_stats(in, 1)->held_app_data,
                      2);
    /* the late Certificate completes the check; then the same records pass */
    for (size_t i = 0; i < w.n_dg; i++)
        if (w.dg[i].side == w.client && tinsp_has_msg(&w.dg[i], 11))
            ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    for (size_t i = 0; i < w.n_dg; i++)
        if (w.dg[i].app)
            ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_inspect");
    const TTest *const tests[] = {small_mtu_fragments_the_certificate,
                                  first_certificate_of_a_chain_is_hashed,
                                  retransmitted_flights_pass,
                                  reordered_flights_pass,
                                  weak_hash_floor,
                                  application_data_held_until_verified,
                                  NULL};
    TCase *tc = tsuite_add(s, "real_handshakes", 60, NULL, NULL, tests);
    tcase_add_loop_test(tc, real_handshake_verified, 0, 4);
    tcase_add_loop_test(tc, wrong_fingerprint_blocks_that_side, 0, 4);
    return tsuite_run(s);
}
