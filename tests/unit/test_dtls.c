/* DTLS stage: two legs back to back over the in-memory lossy link (no sockets,
 * helper_dtls_pair.c): the handshake, records packed into the MTU, loss, duplication and
 * reordering, retransmission back-off. Fingerprint binding is in test_dtls_fingerprint.c,
 * peers outside the policy, bad input, close and the API in test_dtls_records.c.
 *
 * OpenSSL 3.0 runs its DTLS retransmission timer on gettimeofday() and offers no way to
 * give it another clock. So that lossy handshakes are deterministic and take no real time,
 * this test program interposes gettimeofday() with a virtual clock that moves with the
 * now_ms the test hands to the stage (OpenSSL resolves the symbol to this definition).
 * One test turns it off and runs on the real clock with real sleeps. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/error.h"
#include "helper_dtls_pair.h"
#include "helper_lossy.h"
#include "helper_suite.h"

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    return dp_gettimeofday(tv, tz);
}

/* ---- handshake ------------------------------------------------------------------------- */

START_TEST(handshake_and_data_both_ways)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_ptr_null(dcgw_dtls_peer_cert(w.a.d));
    dp_world_run(&w, 10000);

    ck_assert_int_eq(dcgw_dtls_state(w.a.d), DCGW_DTLS_CONNECTED);
    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CONNECTED);
    ck_assert_int_eq(w.a.connected, 1);
    ck_assert_int_eq(w.b.connected, 1);
    struct dcgw_fingerprint want_b = dp_fp_of(w.cb, DCGW_HASH_SHA256);
    struct dcgw_fingerprint want_a = dp_fp_of(w.ca, DCGW_HASH_SHA256);
    ck_assert(dcgw_fingerprint_equal(&w.a.matched, &want_b));
    ck_assert(dcgw_fingerprint_equal(&w.b.matched, &want_a));
    /* the peer certificate is the one whose fingerprint was signalled */
    struct dcgw_fingerprint got;
    ck_assert_int_eq(dcgw_cert_fingerprint_x509(dcgw_dtls_peer_cert(w.a.d), DCGW_HASH_SHA256, &got),
                     0);
    ck_assert(dcgw_fingerprint_equal(&got, &want_b));
    ck_assert_int_eq(X509_cmp(dcgw_dtls_peer_cert(w.b.d), dcgw_cert_x509(w.ca)), 0);

    /* policy: DTLS 1.2, AEAD, X25519 */
    struct dcgw_dtls_info ia, ib;
    ck_assert_int_eq(dcgw_dtls_get_info(w.a.d, &ia), 0);
    ck_assert_int_eq(dcgw_dtls_get_info(w.b.d, &ib), 0);
    ck_assert_str_eq(ia.version, "DTLSv1.2");
    ck_assert(ia.aead && ib.aead);
    ck_assert_str_eq(ia.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    ck_assert_str_eq(ib.cipher, ia.cipher);
    ck_assert_str_eq(ia.group, "X25519");
    ck_assert_str_eq(ib.group, "X25519");
    /* datagrams respect the MTU; the payload MTU leaves room for the record overhead */
    ck_assert_uint_le(w.a.max_dgram, DCGW_DTLS_MTU_DEFAULT);
    ck_assert_uint_le(w.b.max_dgram, DCGW_DTLS_MTU_DEFAULT);
    size_t dmtu = dcgw_dtls_data_mtu(w.a.d);
    ck_assert_uint_gt(dmtu, 1100);
    ck_assert_uint_lt(dmtu, DCGW_DTLS_MTU_DEFAULT);

    /* application data both ways, byte-exact and in order (no loss here) */
    static const size_t sizes[] = {1, 2, 100, 1000, 1100, 4000, DCGW_DTLS_PLAINTEXT_MAX};
    size_t total = 0;
    uint8_t *buf = malloc(DCGW_DTLS_PLAINTEXT_MAX);
    uint8_t *expect = malloc(DP_RX_CAP);
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        dp_fill(buf, sizes[i], i);
        memcpy(expect + total, buf, sizes[i]);
        total += sizes[i];
        ck_assert_int_eq(dcgw_dtls_send(w.a.d, buf, sizes[i]), 0);
        dp_fill(buf, sizes[i], i + 100);
        ck_assert_int_eq(dcgw_dtls_send(w.b.d, buf, sizes[i]), 0);
    }
    dp_world_run(&w, w.now + 100);
    ck_assert_uint_eq(w.b.msgs, 7);
    ck_assert_uint_eq(w.b.rx_len, total);
    ck_assert_mem_eq(w.b.rx, expect, total);
    ck_assert_uint_eq(w.a.rx_len, total);
    size_t off = 0;
    for (unsigned i = 0; i < 7; i++) {
        ck_assert_uint_eq(w.a.msg_len[i], sizes[i]);
        dp_fill(buf, sizes[i], i + 100);
        ck_assert_mem_eq(w.a.rx + off, buf, sizes[i]);
        off += sizes[i];
    }
    const struct dcgw_dtls_stats *sa = dcgw_dtls_stats(w.a.d), *sb = dcgw_dtls_stats(w.b.d);
    ck_assert_uint_eq(sa->app_records_out, 7);
    ck_assert_uint_eq(sb->app_records_in, 7);
    ck_assert_uint_eq(sb->app_bytes_in, total);
    ck_assert_uint_eq(sa->bad_records + sb->bad_records, 0);
    ck_assert_uint_eq(sa->handshake_failures + sb->handshake_failures, 0);
    ck_assert_uint_eq(sa->datagrams_out, sb->datagrams_in);
    ck_assert_uint_eq(sa->records_out, sb->records_in);
    ck_assert_uint_eq(dcgw_dtls_send(w.a.d, buf, DCGW_DTLS_PLAINTEXT_MAX + 1), DCGW_ETOOBIG);
    ck_assert_uint_eq(dcgw_dtls_send(w.a.d, buf, 0), DCGW_EINVAL);
    free(buf);
    free(expect);
    dp_world_free(&w);
}
END_TEST

/* A flight is packed: several records per datagram, never above the MTU; a small MTU
 * fragments the handshake messages and it still completes. */
START_TEST(records_packed_into_mtu)
{
    static const unsigned mtus[] = {DCGW_DTLS_MTU_MIN, 300, 576, 1200};
    for (unsigned i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
        struct dp_world w;
        dp_world_init(&w, 0, 0, 0, 1);
        struct dcgw_dtls_settings s = {.mtu = mtus[i]};
        dp_world_legs(&w, s, s);
        dp_world_run(&w, 10000);
        ck_assert_int_eq(w.a.connected + w.b.connected, 2);
        ck_assert_uint_le(w.a.max_dgram, mtus[i]);
        ck_assert_uint_le(w.b.max_dgram, mtus[i]);
        const struct dcgw_dtls_stats *sb = dcgw_dtls_stats(w.b.d);
        /* the server's first flight is 5 messages (RFC 6347 §4.2.4): packed, it takes
         * fewer datagrams than records at the default MTU */
        if (mtus[i] == 1200)
            ck_assert_uint_lt(sb->datagrams_out, sb->records_out);
        ck_assert_uint_eq(sb->records_out, dcgw_dtls_stats(w.a.d)->records_in);
        dp_world_free(&w);
    }
}
END_TEST

static void lossy_case(unsigned loss, unsigned dup, unsigned reorder, uint64_t seed,
                       uint64_t *retransmits)
{
    struct dp_world w;
    dp_world_init(&w, loss, dup, reorder, seed);
    struct dcgw_dtls_settings s = {.initial_timeout_ms = 50};
    w.b.greet = true;
    dp_world_legs(&w, s, s);
    dp_world_run(&w, 30000);
    ck_assert_msg(w.a.connected == 1 && w.b.connected == 1, "seed %llu: a %s (%s), b %s (%s)",
                  (unsigned long long)seed, dcgw_dtls_state_name(dcgw_dtls_state(w.a.d)),
                  w.a.reason, dcgw_dtls_state_name(dcgw_dtls_state(w.b.d)), w.b.reason);
    *retransmits += dcgw_dtls_stats(w.a.d)->retransmits + dcgw_dtls_stats(w.b.d)->retransmits;
    /* The server's greeting, sent the moment it connected, may overtake its Finished: the
     * client still raises on_connected first (cb_data checks) and delivers it once. */
    ck_assert_uint_le(w.a.msgs, 1);
    if (loss == 0)
        ck_assert_uint_eq(w.a.msgs, 1);
    if (w.a.msgs)
        ck_assert_mem_eq(w.a.rx, dp_greeting, sizeof(dp_greeting));

    /* Data over the same link: lost records stay lost (DTLS is unreliable), but whatever
     * arrives is byte-exact and never twice (replay protection, RFC 6347 §4.1.2.6). */
    uint8_t buf[600];
    unsigned seen[64] = {0};
    for (unsigned i = 0; i < 64; i++) {
        dp_fill(buf, sizeof(buf), i);
        buf[0] = (uint8_t)i;
        ck_assert_int_eq(dcgw_dtls_send(w.a.d, buf, sizeof(buf)), 0);
    }
    dp_world_run(&w, w.now + 100);
    for (unsigned m = 0; m < w.b.msgs; m++) {
        ck_assert_uint_eq(w.b.msg_len[m], sizeof(buf));
        const uint8_t *got = w.b.rx + m * sizeof(buf);
        unsigned id = got[0];
        ck_assert_uint_lt(id, 64);
        ck_assert_uint_eq(seen[id]++, 0);
        dp_fill(buf, sizeof(buf), id);
        buf[0] = (uint8_t)id;
        ck_assert_mem_eq(got, buf, sizeof(buf));
    }
    if (loss == 0)
        ck_assert_uint_eq(w.b.msgs, 64);
    ck_assert_uint_gt(w.b.msgs, 0);
    dp_world_free(&w);
}

START_TEST(handshake_under_loss_dup_reorder)
{
    uint64_t t0 = dp_real_us(CLOCK_MONOTONIC), retransmits = 0;
    for (uint64_t seed = 1; seed <= 40; seed++)
        lossy_case(20, 10, 20, seed, &retransmits);
    /* duplication and reordering alone */
    for (uint64_t seed = 100; seed < 110; seed++)
        lossy_case(0, 30, 50, seed, &retransmits);
    /* the timer path ran: flights were lost and resent */
    ck_assert_uint_gt(retransmits, 20);
    /* the virtual clock keeps it fast */
    ck_assert_uint_lt(dp_real_us(CLOCK_MONOTONIC) - t0, 15u * 1000000u);
}
END_TEST

/* Real clock, real sleeps: the translation of OpenSSL's wall-clock timer into now_ms. */
START_TEST(handshake_real_clock_with_loss)
{
    struct dp_world w;
    dp_world_init(&w, 30, 0, 0, 5);
    dp_vclock_on = false;
    uint64_t t0 = dp_real_us(CLOCK_MONOTONIC);
    w.now = t0 / 1000;
    struct dcgw_dtls_settings s = {.initial_timeout_ms = 50};
    dp_world_legs(&w, s, s);
    while (dp_busy(&w.a) || dp_busy(&w.b)) {
        ck_assert_uint_lt(dp_real_us(CLOCK_MONOTONIC) - t0, 10u * 1000000u);
        w.now = dp_real_us(CLOCK_MONOTONIC) / 1000;
        if (lossy_pump(&w.ab, dp_deliver, &w.b) + lossy_pump(&w.ba, dp_deliver, &w.a))
            continue;
        uint64_t ta = dcgw_dtls_next_timeout(w.a.d), tb = dcgw_dtls_next_timeout(w.b.d);
        uint64_t t = ta < tb ? ta : tb;
        ck_assert_uint_ne(t, UINT64_MAX);
        if (t > w.now) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(t - w.now) * 1000000L};
            nanosleep(&ts, NULL);
        }
        w.now = dp_real_us(CLOCK_MONOTONIC) / 1000;
        dcgw_dtls_handle_timeout(w.a.d, w.now);
        dcgw_dtls_handle_timeout(w.b.d, w.now);
    }
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert_uint_gt(dcgw_dtls_stats(w.a.d)->retransmits + dcgw_dtls_stats(w.b.d)->retransmits, 0);
    dp_world_free(&w);
}
END_TEST

/* Nobody answers: retransmissions at 50, 100, 200 ... ms (capped), then the deadline. */
START_TEST(retransmit_backoff_and_deadline)
{
    struct dp_world w;
    dp_world_init(&w, 100, 0, 0, 1);
    struct dcgw_dtls_settings s = {
        .initial_timeout_ms = 50, .max_timeout_ms = 400, .handshake_timeout_ms = 3000};
    dp_world_legs(&w, s, s);
    uint64_t start = w.now, last = w.now, prev_gap = 0;
    unsigned sends = 1;
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->datagrams_out, 1); /* the ClientHello */
    while (dcgw_dtls_state(w.a.d) == DCGW_DTLS_HANDSHAKING) {
        uint64_t t = dcgw_dtls_next_timeout(w.a.d);
        ck_assert_uint_ne(t, UINT64_MAX);
        ck_assert_uint_gt(t, w.now);
        /* an early call (both clocks moved together) does nothing and keeps the deadline;
         * OpenSSL treats the last 15 ms as expired, so stay further away than that */
        dp_vclock_set(t - 20);
        dcgw_dtls_handle_timeout(w.a.d, t - 20);
        ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->datagrams_out, sends);
        ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), t);
        w.now = t;
        dp_vclock_set(t);
        dcgw_dtls_handle_timeout(w.a.d, t);
        if (dcgw_dtls_state(w.a.d) != DCGW_DTLS_HANDSHAKING)
            break;
        ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->datagrams_out, ++sends);
        uint64_t gap = t - last;
        uint64_t want = prev_gap ? (prev_gap * 2 > 400 ? 400 : prev_gap * 2) : 50;
        ck_assert_msg(gap >= want && gap <= want + 1, "gap %llu want %llu", (unsigned long long)gap,
                      (unsigned long long)want);
        prev_gap = gap;
        last = t;
    }
    ck_assert_int_eq(w.a.failed, 1);
    ck_assert_int_eq(w.a.fail_err, DCGW_ETIMEOUT);
    ck_assert_uint_eq(w.now - start, 3000);
    ck_assert_uint_ge(dcgw_dtls_stats(w.a.d)->retransmits, 8);
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->handshake_failures, 1);
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), UINT64_MAX);
    /* the server never heard anything and times out on its own deadline */
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.b.d), start + 3000);
    dcgw_dtls_handle_timeout(w.b.d, start + 3000);
    ck_assert_int_eq(w.b.fail_err, DCGW_ETIMEOUT);
    dp_world_free(&w);
}
END_TEST

int main(void)
{
    const TTest *handshake[] = {handshake_and_data_both_ways,     records_packed_into_mtu,
                                handshake_under_loss_dup_reorder, handshake_real_clock_with_loss,
                                retransmit_backoff_and_deadline,  NULL};
    Suite *s = suite_create("dtls");
    tsuite_add(s, "handshake", 30, NULL, NULL, handshake);
    return tsuite_run(s);
}
