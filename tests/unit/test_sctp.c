/* SCTP associations back to back in memory: two usrsctp associations of this process's
 * stack, a lossy link in each direction, simulated timer ticks (helper_sctp_assoc.c).
 * Here the association: connect, settings, close, free (also from inside a callback),
 * timeouts, heartbeats; messages in test_sctp_messages.c, reliability in
 * test_sctp_reliability.c. Check's fork mode gives each test a fresh stack. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_sctp_assoc.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

/* ---- tests ---- */

START_TEST(connect_simultaneous_open)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_NEW);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), DCGW_ESTATE);
    stp_pair_connect(&pr);
    ck_assert_int_eq(pr.a.connected, 1);
    ck_assert_int_eq(pr.b.connected, 1);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CONNECTED);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.a.s), 256);
    ck_assert_uint_eq(dcgw_sctp_streams_in(pr.b.s), 256);
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), DCGW_ESTATE);
    /* every packet carried a CRC32c the other side accepted */
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->bad_crc, 0);
    ck_assert_uint_gt(dcgw_sctp_stats(pr.b.s)->packets_in, 0);
    stp_pair_free(&pr);
}
END_TEST

static bool both_closed(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.closed && pr->b.closed;
}

START_TEST(graceful_close)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    uint8_t *m = stp_make_msg(3, 20000);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 20000), 0);
    ck_assert_int_eq(dcgw_sctp_close(pr.a.s), 0);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CLOSING);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 10), DCGW_ECLOSED);
    ck_assert_int_ge(stp_pump(&pr, both_closed, 3000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* queued data went out before the shutdown */
    stp_check_msg(&pr.b.msgs[0], 3, 20000);
    ck_assert_int_eq(pr.a.closed, 1);
    ck_assert_int_eq(pr.b.closed, 1);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CLOSED);
    stp_pump(&pr, NULL, 100);
    ck_assert_int_eq(pr.a.closed, 1);
    free(m);
    stp_pair_free(&pr);
}
END_TEST

static bool a_closed(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.closed;
}

static bool b_closed(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->b.closed;
}

START_TEST(free_aborts_the_peer)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    size_t out = pr.l.ab.sent;
    dcgw_sctp_free(pr.a.s);
    pr.a.s = NULL;
    ck_assert_uint_gt(pr.l.ab.sent, out); /* the ABORT went out during free */
    ck_assert_int_ge(stp_pump(&pr, b_closed, 100), 0);
    ck_assert_int_eq(pr.a.closed, 0); /* no callbacks after free */
    stp_pair_free(&pr);
}
END_TEST

START_TEST(free_inside_own_callback)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    pr.b.free_on_message = true;
    uint8_t x = 1;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), 0);
    stp_pump(&pr, b_closed, 200);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* nothing delivered after the free */
    ck_assert_ptr_null(pr.b.s);
    ck_assert_int_ge(stp_pump(&pr, NULL, 50), -1);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(no_reentry_from_send_packet)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    stp_pair_connect(&pr);
    pr.a.send_in_send_packet = true;
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), 0);
    ck_assert_int_eq(pr.a.nested_send_result, DCGW_ESTATE);
    pr.a.send_in_send_packet = false;
    stp_want_a = 0;
    stp_want_b = 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 1000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, 1);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(settings_validation)
{
    struct dcgw_sctp_settings s;
    struct dcgw_sctp_callbacks cb = {.send_packet = stp_cb_send_packet};
    struct dcgw_sctp *x;
    stp_settings(&s, 0, 5000);
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    stp_settings(&s, 4000, 5000);
    s.max_message_size = DCGW_MAX_MESSAGE_SIZE_CEILING + 1;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    stp_settings(&s, 4000, 5000);
    s.mtu = 100;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    stp_settings(&s, 4000, 5000);
    struct dcgw_sctp_callbacks nocb = {0};
    ck_assert_int_eq(dcgw_sctp_new(&s, &nocb, &x), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), 0);
    struct dcgw_sctp *y;
    /* the same port again works (each association has its own AF_CONN address), it is
     * just slower to bind when many share one */
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &y), 0);
    ck_assert_uint_eq(dcgw_sctp_stack_stats()->associations, 2);
    dcgw_sctp_free(y);
    dcgw_sctp_free(x);
    ck_assert_uint_eq(dcgw_sctp_stack_stats()->associations, 0);
    ck_assert_int_eq(dcgw_sctp_stack_finish(), 0);
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), 0); /* the stack comes back */
    dcgw_sctp_free(x);
}
END_TEST

START_TEST(close_before_and_while_connecting)
{
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    ck_assert_int_eq(dcgw_sctp_close(pr.b.s), 0); /* never connected */
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CLOSED);
    ck_assert_int_eq(dcgw_sctp_connect(pr.b.s), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), 0);
    ck_assert_int_eq(dcgw_sctp_close(pr.a.s), 0); /* INIT out, nothing back yet */
    stp_pump(&pr, NULL, 100);
    ck_assert_int_eq(pr.a.closed, 1);
    ck_assert_int_eq(pr.b.closed, 1);
    ck_assert_int_eq(pr.a.connected, 0);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(connect_timeout_reports_closed)
{
    /* a fresh process in fork mode: a quick stack makes INIT give up soon */
    struct dcgw_sctp_stack_settings st;
    dcgw_sctp_stack_settings_default(&st);
    st.init_rtx_max = 2;
    st.init_rto_max_ms = 1000;
    ck_assert_int_eq(dcgw_sctp_stack_init(&st), 0);
    struct stp_pair pr;
    stp_pair_new(&pr, NULL, NULL);
    pr.l.ab.loss_pct = 100;
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), 0);
    ck_assert_int_ge(stp_pump(&pr, a_closed, 20000), 0);
    ck_assert_int_eq(pr.a.connected, 0);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CLOSED);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), DCGW_ECLOSED);
    stp_pair_free(&pr);
}
END_TEST

START_TEST(heartbeats_only_where_wanted)
{
    struct dcgw_sctp_stack_settings st;
    dcgw_sctp_stack_settings_default(&st);
    st.heartbeat_interval_ms = 100;
    ck_assert_int_eq(dcgw_sctp_stack_init(&st), 0);
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.no_heartbeat = true; /* the gateway's side */
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    ck_assert_int_eq(stp_pump(&pr, NULL, 5), -1); /* the handshake's last packets */
    uint64_t active = dcgw_sctp_stack_stats()->active_packets;
    uint64_t data_in = dcgw_sctp_stack_stats()->data_packets_in;
    /* idle for ~4 s of timer time: B beats every ~0.1 s + RTO, A never */
    ck_assert_int_eq(stp_pump(&pr, NULL, 400), -1);
    ck_assert_uint_ge(pr.b.heartbeats, 2);
    ck_assert_uint_eq(pr.a.heartbeats, 0);
    ck_assert_int_eq(pr.a.closed + pr.b.closed, 0);
    /* heartbeats and their acks are not activity; data is */
    ck_assert_uint_eq(dcgw_sctp_stack_stats()->active_packets, active);
    ck_assert_uint_eq(dcgw_sctp_stack_stats()->data_packets_in, data_in); /* no SACK owed */
    /* and A still answers: data flows both ways afterwards */
    uint8_t *m = stp_make_msg(1, 100);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, 100), 0);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 1, 53, NULL, m, 100), 0);
    free(m);
    stp_want_a = stp_want_b = 1;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 1000), 0);
    ck_assert_uint_ge(dcgw_sctp_stack_stats()->active_packets, active + 2);
    ck_assert_uint_ge(dcgw_sctp_stack_stats()->data_packets_in, data_in + 2);
    stp_pair_free(&pr);
}
END_TEST

/* usrsctp's timers as dcgw's patch 0002 keeps them (third_party/usrsctp: a wheel of 2^14
 * one-tick lists, a turn every 16.4 s at 1,000 ticks a second): a callout due more than a
 * turn ahead is passed over, not fired, when the wheel first comes round to its list, and
 * fires when due; one tick of more than a turn fires what fell due in it. The callout is
 * a lost message's retransmission timer with an RTO of 20 s. Holds on the unpatched
 * library too. */
static void lose_one(struct stp_pair *pr, uint32_t i)
{
    pr->l.ab.loss_pct = 100;
    uint8_t *m = stp_make_msg(i, 100);
    ck_assert_int_eq(dcgw_sctp_send(pr->a.s, 1, 53, NULL, m, 100), 0);
    free(m);
    dcgw_sctp_handle_timers(1);
    ck_assert_int_eq(stp_pump(pr, NULL, 1), -1);
    /* T3 resends only chunks older than the smoothed RTT on the real clock */
    struct timespec ts = {0, 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

START_TEST(timers_past_a_turn_of_the_wheel)
{
    struct dcgw_sctp_stack_settings st;
    dcgw_sctp_stack_settings_default(&st);
    st.rto_initial_ms = st.rto_min_ms = 20000;
    st.rto_max_ms = 60000;
    ck_assert_int_eq(dcgw_sctp_stack_init(&st), 0);
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.no_heartbeat = sb.no_heartbeat = true;
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    lose_one(&pr, 1);
    uint64_t lost = pr.l.ab.dropped;
    ck_assert_uint_ge(lost, 1);
    /* 170 x (100 ms + the pump's tick of ~10 ms): ~18.7 s, past its list once */
    for (int i = 0; i < 170; i++) {
        dcgw_sctp_handle_timers(100);
        ck_assert_int_eq(stp_pump(&pr, NULL, 1), -1);
        ck_assert_msg(pr.l.ab.dropped == lost, "resent at step %d", i);
    }
    ck_assert_uint_eq(pr.l.ab.dropped, lost); /* not resent early */
    for (int i = 0; i < 40 && pr.l.ab.dropped == lost; i++) {
        dcgw_sctp_handle_timers(100);
        ck_assert_int_eq(stp_pump(&pr, NULL, 1), -1);
    }
    ck_assert_uint_gt(pr.l.ab.dropped, lost); /* resent at 20 s */
    pr.l.ab.loss_pct = 0;
    stp_want_a = 0;
    stp_want_b = 1;
    for (int i = 0; i < 500 && pr.b.nmsgs < 1; i++) { /* the next resend: RTO doubled */
        dcgw_sctp_handle_timers(100);
        stp_pump(&pr, NULL, 1);
    }
    ck_assert_uint_eq(pr.b.nmsgs, 1);
    stp_check_msg(&pr.b.msgs[0], 1, 100);
    /* another lost, then one tick of over four turns: its retransmission timer fires */
    lose_one(&pr, 2);
    pr.l.ab.loss_pct = 0;
    dcgw_sctp_handle_timers(70000); /* past rto_max: whatever the back-off made of the RTO */
    stp_want_b = 2;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 3), 0);
    stp_check_msg(&pr.b.msgs[1], 2, 100);
    ck_assert_int_eq(pr.a.closed + pr.b.closed, 0);
    stp_pair_free(&pr);
}
END_TEST

/* dcgw_sctp_buffered_above answers as dcgw_sctp_buffered_amount would, while queued bytes
 * grow with sends and fall with SACKs. */
START_TEST(buffered_above_agrees_with_buffered_amount)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    struct stp_pair pr;
    stp_pair_new(&pr, &sa, &sb);
    stp_pair_connect(&pr);
    uint8_t *m = stp_make_msg(1, 1000);
    ck_assert(!dcgw_sctp_buffered_above(pr.a.s, 0)); /* nothing sent yet */
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, 1000), 0);
        static const size_t limits[] = {0, 999, 5000, 12000, 19999, 1u << 20};
        for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
            /* the bound first: buffered_amount refreshes it */
            bool above = dcgw_sctp_buffered_above(pr.a.s, limits[k]);
            ck_assert_int_eq(above, dcgw_sctp_buffered_amount(pr.a.s) > limits[k]);
        }
    }
    ck_assert(dcgw_sctp_buffered_above(pr.a.s, 15000)); /* 20 x 1000 queued, none acked */
    free(m);
    stp_want_b = 20;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 1000), 0);
    ck_assert_int_eq(stp_pump(&pr, NULL, 30), -1); /* the SACKs */
    ck_assert(!dcgw_sctp_buffered_above(pr.a.s, 0));
    ck_assert_uint_eq(dcgw_sctp_buffered_amount(pr.a.s), 0);
    stp_pair_free(&pr);
}
END_TEST

int main(void)
{
    const TTest *association[] = {connect_simultaneous_open,
                                  settings_validation,
                                  graceful_close,
                                  free_aborts_the_peer,
                                  free_inside_own_callback,
                                  no_reentry_from_send_packet,
                                  close_before_and_while_connecting,
                                  connect_timeout_reports_closed,
                                  heartbeats_only_where_wanted,
                                  timers_past_a_turn_of_the_wheel,
                                  buffered_above_agrees_with_buffered_amount,
                                  NULL};
    Suite *s = suite_create("sctp");
    tsuite_add(s, "association", 60, NULL, NULL, association);
    return tsuite_run(s);
}
