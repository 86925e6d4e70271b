/* SCTP associations back to back in memory (helper_sctp_assoc.c): partial reliability
 * (RFC 3758) under loss, reliable delivery under loss, duplication and reordering, bad
 * CRCs, runts and corrupted packets. Check's fork mode gives each test a fresh stack. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_sctp_assoc.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

START_TEST(partial_reliability_rtx0_under_loss)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    pr.l.ab.loss_pct = 30;
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_RTX, .pr_value = 0};
    enum { N = 300 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = stp_make_msg(i, 300);
        stp_send_waiting(&pr, pr.a.s, 1, &o, m, 300);
        free(m);
    }
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(stp_pump(&pr, stp_marker_arrived, 20000), 0); /* no hang */
    stp_pump(&pr, NULL, 300);                                      /* stragglers */
    static const struct stp_rmsg *got[N + 1];
    size_t ngot = stp_on_stream(&pr.b, 1, got, N + 1);
    ck_assert_uint_lt(ngot, N); /* some were lost for good */
    ck_assert_uint_gt(ngot, N / 3);
    uint32_t prev = 0;
    for (size_t k = 0; k < ngot; k++) { /* ordered, no duplicates, intact */
        uint32_t i;
        memcpy(&i, got[k]->p, 4);
        ck_assert(k == 0 || i > prev);
        prev = i;
        stp_check_msg(got[k], i, 300);
    }
    ck_assert_uint_gt(dcgw_sctp_stats(pr.a.s)->send_failed, 0);
    /* the association still works reliably afterwards */
    pr.l.ab.loss_pct = 0;
    size_t before = pr.b.nmsgs;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    stp_want_a = 0;
    stp_want_b = before + 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 2000), 0);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(partial_reliability_ttl)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.nodelay = true; /* every message leaves at once (usrsctp only expires sent ones) */
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    pr.l.ab.loss_pct = 100; /* everything sent now is lost */
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_TTL, .pr_value = 30};
    enum { N = 6 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = stp_make_msg(i, 200);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, &o, m, 200), 0);
        free(m);
    }
    stp_pump(&pr, NULL, 3);
    ck_assert_uint_ge(pr.l.ab.dropped, 1);
    /* usrsctp measures message lifetime on the real clock */
    struct timespec ts = {0, 80 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pr.l.ab.loss_pct = 0;
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(stp_pump(&pr, stp_marker_arrived, 20000), 0);
    stp_pump(&pr, NULL, 600); /* let retransmission timers run: nothing more may arrive */
    ck_assert_uint_eq(pr.b.nmsgs, 1);
    ck_assert_uint_eq(pr.b.msgs[0].stream, 9);
    ck_assert_uint_ge(dcgw_sctp_stats(pr.a.s)->send_failed, N);
    /* a later TTL message that is not lost arrives */
    uint8_t *m = stp_make_msg(N + 1, 200);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, &o, m, 200), 0);
    free(m);
    stp_want_a = 0;
    stp_want_b = 2;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 2000), 0);
    stp_check_msg(&pr.b.msgs[1], N + 1, 200);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(reliable_under_loss_dup_reorder)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    lossy_init(&pr.l.ab, 10, 5, 10, 77);
    lossy_init(&pr.l.ba, 10, 5, 10, 78);
    enum { N = 400 };
    size_t size[N];
    uint32_t rng = 12345;
    for (uint32_t i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        size[i] = 4 + (rng >> 8) % 6000;
        uint8_t *m = stp_make_msg(i, size[i]);
        stp_send_waiting(&pr, pr.a.s, 0, NULL, m, size[i]);
        stp_send_waiting(&pr, pr.b.s, 7, NULL, m, size[i]);
        free(m);
    }
    stp_want_a = stp_want_b = N;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 60000), 0);
    stp_pump(&pr, NULL, 200); /* nothing extra may trickle in */
    ck_assert_uint_eq(pr.a.nmsgs, N);
    ck_assert_uint_eq(pr.b.nmsgs, N);
    for (uint32_t i = 0; i < N; i++) {
        stp_check_msg(&pr.b.msgs[i], i, size[i]);
        stp_check_msg(&pr.a.msgs[i], i, size[i]);
    }
    ck_assert_uint_gt(pr.l.ab.dropped, 0);
    ck_assert_uint_gt(pr.l.ab.duplicated, 0);
    ck_assert_uint_gt(pr.l.ab.reordered, 0);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(bad_crc_and_runts_dropped)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    uint8_t junk[64];
    memset(junk, 0xab, sizeof(junk));
    ck_assert_int_eq(dcgw_sctp_input(pr.b.s, junk, sizeof(junk)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_sctp_input(pr.b.s, junk, 11), DCGW_ETRUNC);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_crc, 1);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_size, 1);
    /* the association goes on: a lost packet is retransmitted, none counts as bad */
    uint8_t x = 5;
    pr.l.ab.loss_pct = 100;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), 0);
    pr.l.ab.loss_pct = 0;
    size_t bad_before = dcgw_sctp_stats(pr.b.s)->bad_crc;
    stp_want_a = 0;
    stp_want_b = 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 2000), 0);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_crc, bad_before);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CONNECTED);
    stp_pair_free(&pr);
}
END_TEST

static void flip_deliver(void *ud, const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    c[n - 1] ^= 0x10;
    stp_deliver(ud, c, n);
    free(c);
}

START_TEST(corrupted_packets_are_retransmitted)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    uint8_t *m = stp_make_msg(1, 900);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 900), 0);
    /* the first copy arrives corrupted */
    ck_assert_uint_eq(lossy_pump(&pr.l.ab, flip_deliver, &pr.b), 1);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_crc, 1);
    ck_assert_uint_eq(pr.b.nmsgs, 0);
    stp_want_a = 0;
    stp_want_b = 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0); /* T3 retransmission */
    stp_check_msg(&pr.b.msgs[0], 1, 900);
    free(m);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(pr_large_messages_small_window)
{
    /* max-retr 0 abandons a message at its first retransmission: a lost packet, or a
     * window probe. Messages of up to max-message-size are never delivered partially
     * (usrsctp would keep the window shut after abandoning one), so the association keeps
     * flowing. */
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sb.max_message_size = 48 * 1024;
    sb.rcvbuf = 64 * 1024; /* raised to twice the message size */
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    lossy_init(&pr.l.ab, 2, 0, 0, 99);
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_RTX, .pr_value = 0};
    enum { N = 40, SZ = 48 * 1024 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = stp_make_msg(i, SZ);
        stp_send_waiting(&pr, pr.a.s, 1, &o, m, SZ);
        free(m);
    }
    pr.l.ab.loss_pct = 0;
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(stp_pump(&pr, stp_marker_arrived, 20000), 0);
    stp_pump(&pr, NULL, 300);
    static const struct stp_rmsg *got[N];
    size_t ngot = stp_on_stream(&pr.b, 1, got, N);
    ck_assert_uint_lt(ngot, N);
    ck_assert_uint_gt(ngot, N / 4);
    uint32_t prev = 0;
    for (size_t k = 0; k < ngot; k++) {
        uint32_t i;
        memcpy(&i, got[k]->p, 4);
        ck_assert(k == 0 || i > prev);
        prev = i;
        stp_check_msg(got[k], i, SZ);
    }
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->pd_aborted, 0);
    /* a reliable message of the largest size still goes through promptly */
    uint8_t *m = stp_make_msg(77, SZ);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, SZ), 0);
    free(m);
    stp_want_b = pr.b.nmsgs + 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 1000), 0);
    stp_check_msg(&pr.b.msgs[pr.b.nmsgs - 1], 77, SZ);
    stp_pair_free(&pr);
}
END_TEST

int main(void)
{
    const TTest *reliability[] = {partial_reliability_rtx0_under_loss,
                                  partial_reliability_ttl,
                                  reliable_under_loss_dup_reorder,
                                  bad_crc_and_runts_dropped,
                                  corrupted_packets_are_retransmitted,
                                  pr_large_messages_small_window,
                                  NULL};
    Suite *s = suite_create("sctp_reliability");
    tsuite_add(s, "reliability", 60, NULL, NULL, reliability);
    return tsuite_run(s);
}
