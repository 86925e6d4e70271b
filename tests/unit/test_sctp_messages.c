/* SCTP associations back to back in memory (helper_sctp_assoc.c): messages of every size
 * both ways, unordered delivery, oversize messages, many streams, back pressure (full
 * send buffers, and a receiver that stops reading), and stream resets. Check's fork mode gives each
 * test a fresh stack. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_sctp_assoc.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

START_TEST(sizes_both_ways_in_order)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    const size_t sizes[] = {1, 1024, 65536, DCGW_MAX_MESSAGE_SIZE_DEFAULT, 3, 70000, 1200};
    const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    for (uint32_t i = 0; i < nsizes; i++) {
        uint8_t *m = stp_make_msg(i, sizes[i]);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, sizes[i]), 0);
        ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 2, 51, NULL, m, sizes[i]), 0);
        free(m);
    }
    stp_want_a = stp_want_b = nsizes;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    ck_assert_uint_eq(pr.a.nmsgs, nsizes);
    ck_assert_uint_eq(pr.b.nmsgs, nsizes);
    for (uint32_t i = 0; i < nsizes; i++) {
        stp_check_msg(&pr.b.msgs[i], i, sizes[i]);
        ck_assert_uint_eq(pr.b.msgs[i].stream, 1);
        ck_assert_uint_eq(pr.b.msgs[i].ppid, 53);
        ck_assert_uint_eq(pr.b.msgs[i].flags & DCGW_SCTP_MSG_UNORDERED, 0);
        stp_check_msg(&pr.a.msgs[i], i, sizes[i]);
        ck_assert_uint_eq(pr.a.msgs[i].stream, 2);
        ck_assert_uint_eq(pr.a.msgs[i].ppid, 51);
    }
    /* SCTP packets stay within the configured MTU (DTLS adds its own overhead on top) */
    ck_assert_uint_le(pr.a.max_packet, DCGW_SCTP_MTU_DEFAULT);
    ck_assert_uint_ge(pr.a.max_packet, DCGW_SCTP_MTU_DEFAULT - 100);
    /* one byte over the limit is refused */
    uint8_t *big = stp_make_msg(0, DCGW_MAX_MESSAGE_SIZE_DEFAULT + 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, big, DCGW_MAX_MESSAGE_SIZE_DEFAULT + 1),
                     DCGW_ETOOBIG);
    free(big);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->too_big_out, 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, (const uint8_t *)"", 0), DCGW_EINVAL);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(unordered_delivery)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    pr.l.ab.reorder_pct = 40;
    struct dcgw_sctp_sendopts o = {.unordered = true};
    enum { N = 200 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = stp_make_msg(i, 100);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 4, 53, &o, m, 100), 0);
        free(m);
    }
    stp_want_a = 0;
    stp_want_b = N;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, N);
    bool seen[N] = {false};
    for (size_t k = 0; k < N; k++) {
        uint32_t i;
        memcpy(&i, pr.b.msgs[k].p, 4);
        ck_assert_uint_lt(i, N);
        ck_assert(!seen[i]);
        seen[i] = true;
        stp_check_msg(&pr.b.msgs[k], i, 100);
        ck_assert_uint_eq(pr.b.msgs[k].flags & DCGW_SCTP_MSG_UNORDERED, DCGW_SCTP_MSG_UNORDERED);
    }
    stp_pair_free(&pr);
}
END_TEST

/* messages received by pe on one stream, in arrival order */
START_TEST(oversize_incoming_dropped_and_counted)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.max_message_size = 1024 * 1024;
    sb.max_message_size = 100 * 1024;
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    const size_t sizes[] = {1000, 150 * 1024, 2000, 600 * 1024, 100 * 1024, 3000, 100 * 1024 + 1};
    const bool fits[] = {true, false, true, false, true, true, false};
    size_t n = sizeof(sizes) / sizeof(sizes[0]), nfit = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *m = stp_make_msg(i, sizes[i]);
        stp_send_waiting(&pr, pr.a.s, 0, NULL, m, sizes[i]);
        free(m);
        nfit += fits[i];
    }
    uint32_t mk = 99;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    stp_want_a = 0;
    stp_want_b = nfit + 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 20000), 0);
    ck_assert(stp_marker_arrived(&pr));
    stp_pump(&pr, NULL, 100);
    ck_assert_uint_eq(pr.b.nmsgs, nfit + 1);
    const struct stp_rmsg *got[8];
    ck_assert_uint_eq(stp_on_stream(&pr.b, 0, got, 8), nfit);
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (fits[i])
            stp_check_msg(got[k++], i, sizes[i]);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->too_big_in, n - nfit);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CONNECTED);
    /* and the small side refuses to send what it would not accept */
    uint8_t *m = stp_make_msg(0, 100 * 1024 + 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 0, 53, NULL, m, 100 * 1024 + 1), DCGW_ETOOBIG);
    free(m);
    stp_pair_free(&pr);
}
END_TEST

static bool resets_done(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.resets[DCGW_SCTP_RESET_OUTGOING] && pr->b.resets[DCGW_SCTP_RESET_INCOMING];
}

static bool resets_done_back(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->b.resets[DCGW_SCTP_RESET_OUTGOING] && pr->a.resets[DCGW_SCTP_RESET_INCOMING];
}

START_TEST(stream_reset_both_ways)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    uint8_t x = 7;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 3, 53, NULL, &x, 1), 0);
    uint16_t st = 3;
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &st, 1), 0);
    ck_assert_int_ge(stp_pump(&pr, resets_done, 2000), 0);
    ck_assert_uint_eq(pr.a.last_reset[DCGW_SCTP_RESET_OUTGOING], 3);
    ck_assert_uint_eq(pr.b.last_reset[DCGW_SCTP_RESET_INCOMING], 3);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* data queued before the reset arrived first */
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.b.s, &st, 1), 0);
    ck_assert_int_ge(stp_pump(&pr, resets_done_back, 2000), 0);
    ck_assert_uint_eq(pr.a.last_reset[DCGW_SCTP_RESET_INCOMING], 3);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->resets_out, 1);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->resets_in, 1);
    /* the stream is usable again both ways */
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 3, 53, NULL, &x, 1), 0);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 3, 53, NULL, &x, 1), 0);
    stp_want_a = 1;
    stp_want_b = 2;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 2000), 0);
    /* bad arguments */
    uint16_t bad = 256;
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &bad, 1), DCGW_ERANGE);
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &st, 0), DCGW_EINVAL);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(many_streams)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.streams = 2048;
    sb.streams = 1500;
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.a.s), 1500);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.b.s), 1500);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1500, 53, NULL, &x, 1), DCGW_ERANGE);
    for (uint32_t i = 0; i < 1500; i++) {
        uint8_t *m = stp_make_msg(i, 8);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, (uint16_t)i, 53, NULL, m, 8), 0);
        ck_assert_int_eq(dcgw_sctp_send(pr.b.s, (uint16_t)(1499 - i), 51, NULL, m, 8), 0);
        free(m);
    }
    stp_want_a = stp_want_b = 1500;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    bool seen[1500] = {false};
    for (size_t k = 0; k < 1500; k++) {
        uint32_t i;
        memcpy(&i, pr.b.msgs[k].p, 4);
        ck_assert_uint_eq(pr.b.msgs[k].stream, i);
        ck_assert(!seen[i]);
        seen[i] = true;
        memcpy(&i, pr.a.msgs[k].p, 4);
        ck_assert_uint_eq(pr.a.msgs[k].stream, 1499 - i);
    }
    stp_pair_free(&pr);
}
END_TEST

START_TEST(back_pressure_and_writable)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.max_message_size = sb.max_message_size = 16 * 1024;
    sa.sndbuf = 64 * 1024;
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    uint8_t *m = stp_make_msg(0, 4096);
    int sent = 0, r;
    while ((r = dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 4096)) == 0)
        sent++;
    ck_assert_int_eq(r, DCGW_EAGAIN);
    ck_assert_int_ge(sent, 10);
    ck_assert_int_le(sent, 64 * 1024 / 4096 + 2);
    ck_assert_uint_gt(dcgw_sctp_buffered_amount(pr.a.s), 32 * 1024);
    ck_assert_int_eq(pr.a.writable, 0);
    stp_want_a = 0;
    stp_want_b = (size_t)sent;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    stp_pump(&pr, NULL, 50);
    ck_assert_int_eq(pr.a.writable, 1);
    ck_assert_uint_lt(dcgw_sctp_buffered_amount(pr.a.s), 16 * 1024);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 4096), 0);
    free(m);
    stp_pair_free(&pr);
}
END_TEST

/* Back-pressure (DESIGN §2): a receiver that stops reading closes its window; the sender's
 * buffer then fills (EAGAIN) while the receiver holds at most its rcvbuf; resumed, every
 * message comes in order, once. */
START_TEST(paused_reading_closes_the_window)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.max_message_size = sb.max_message_size = 16 * 1024;
    sa.sndbuf = 256 * 1024;
    sb.rcvbuf = 64 * 1024;
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    dcgw_sctp_pause_reading(pr.b.s, true);
    ck_assert(dcgw_sctp_reading_paused(pr.b.s));
    enum { N = 200, SZ = 4096 };
    uint32_t sent = 0;
    for (int round = 0; round < 200 && sent < N; round++) {
        uint8_t *m = stp_make_msg(sent, SZ);
        int r = dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, SZ);
        free(m);
        if (r == 0) {
            sent++;
            continue;
        }
        ck_assert_int_eq(r, DCGW_EAGAIN);
        stp_pump(&pr, NULL, 20);
    }
    stp_pump(&pr, NULL, 200);
    /* nothing delivered, the receiver holds about its window, the rest waits at a */
    ck_assert_uint_eq(pr.b.nmsgs, 0);
    ck_assert_uint_lt(sent, N);
    size_t at_b = (size_t)sent * SZ - dcgw_sctp_buffered_amount(pr.a.s);
    ck_assert_uint_le(at_b, 64 * 1024 + 2 * SZ);
    ck_assert_uint_gt(dcgw_sctp_buffered_amount(pr.a.s), 128 * 1024);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->read_pauses, 1);
    /* the sender asks to hear when it may go on */
    dcgw_sctp_want_writable(pr.a.s, 0);
    dcgw_sctp_pause_reading(pr.b.s, false);
    while (sent < N) {
        uint8_t *m = stp_make_msg(sent, SZ);
        stp_send_waiting(&pr, pr.a.s, 0, NULL, m, SZ);
        free(m);
        sent++;
    }
    stp_want_a = 0;
    stp_want_b = N;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 20000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, N);
    for (uint32_t i = 0; i < N; i++)
        stp_check_msg(&pr.b.msgs[i], i, SZ);
    ck_assert_int_ge(pr.a.writable, 1);
    stp_pair_free(&pr);
}
END_TEST

int main(void)
{
    const TTest *messages[] = {sizes_both_ways_in_order,
                               unordered_delivery,
                               oversize_incoming_dropped_and_counted,
                               many_streams,
                               back_pressure_and_writable,
                               paused_reading_closes_the_window,
                               NULL};
    const TTest *reset[] = {stream_reset_both_ways, NULL};
    Suite *s = suite_create("sctp_messages");
    tsuite_add(s, "messages", 60, NULL, NULL, messages);
    tsuite_add(s, "reset", 0, NULL, NULL, reset);
    return tsuite_run(s);
}
