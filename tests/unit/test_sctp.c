/* SCTP associations back to back in memory: two usrsctp associations of this process's
 * stack, a lossy link in each direction, simulated timer ticks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/error.h"
#include "dcgw/sctp.h"
#include "helper_sctp_pair.h"

enum { MAX_MSGS = 4096 };

struct rmsg {
    uint16_t stream;
    uint32_t ppid;
    unsigned flags;
    size_t n;
    uint8_t *p;
};

struct peer {
    struct dcgw_sctp *s;
    struct lossy_link *out;
    struct rmsg msgs[MAX_MSGS];
    size_t nmsgs;
    int connected, closed, writable;
    int resets[3];
    uint16_t last_reset[3];
    bool free_on_message; /* frees itself inside on_message */
    bool send_in_send_packet;
    int nested_send_result;
    size_t max_packet;
    unsigned heartbeats; /* packets whose first chunk is a HEARTBEAT */
};

struct pair {
    struct peer a, b;
    struct sctp_pair_link l;
};

static uint16_t next_port = 5000;
static size_t want_a, want_b; /* what got_wanted() waits for; reset by pair_new() */

static void cb_send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    if (pe->send_in_send_packet) {
        static const uint8_t x = 1;
        pe->nested_send_result = dcgw_sctp_send(pe->s, 0, 53, NULL, &x, 1);
    }
    if (n > pe->max_packet)
        pe->max_packet = n;
    if (n > 12 && p[12] == 4) /* RFC 9260 §3.3.5: chunk type 4, HEARTBEAT */
        pe->heartbeats++;
    lossy_send(pe->out, p, n);
}

static void cb_connected(void *ud)
{
    ((struct peer *)ud)->connected++;
}

static void cb_message(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags)
{
    struct peer *pe = ud;
    ck_assert_uint_lt(pe->nmsgs, MAX_MSGS);
    struct rmsg *m = &pe->msgs[pe->nmsgs++];
    m->stream = stream;
    m->ppid = ppid;
    m->flags = flags;
    m->n = n;
    m->p = malloc(n);
    ck_assert_ptr_nonnull(m->p);
    memcpy(m->p, p, n);
    if (pe->free_on_message) {
        dcgw_sctp_free(pe->s);
        pe->s = NULL;
    }
}

static void cb_reset(void *ud, uint16_t stream, enum dcgw_sctp_reset what)
{
    struct peer *pe = ud;
    pe->resets[what]++;
    pe->last_reset[what] = stream;
}

static void cb_closed(void *ud)
{
    ((struct peer *)ud)->closed++;
}

static void cb_writable(void *ud)
{
    ((struct peer *)ud)->writable++;
}

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    if (pe->s)
        dcgw_sctp_input(pe->s, p, n);
}

static void settings(struct dcgw_sctp_settings *s, uint16_t lport, uint16_t rport)
{
    dcgw_sctp_settings_default(s);
    s->local_port = lport;
    s->remote_port = rport;
}

/* Default settings for a and b on a fresh pair of ports. */
static void settings_pair(struct dcgw_sctp_settings *sa, struct dcgw_sctp_settings *sb)
{
    uint16_t pa = next_port++, pb = next_port++;
    settings(sa, pa, pb);
    settings(sb, pb, pa);
}

static void pair_new(struct pair *pr, const struct dcgw_sctp_settings *sa,
                     const struct dcgw_sctp_settings *sb)
{
    memset(pr, 0, sizeof(*pr));
    want_a = want_b = 0;
    sctp_pair_link_init(&pr->l, 1, deliver, &pr->a, &pr->b);
    pr->a.out = &pr->l.ab;
    pr->b.out = &pr->l.ba;
    struct dcgw_sctp_callbacks cb = {.send_packet = cb_send_packet,
                                     .on_connected = cb_connected,
                                     .on_message = cb_message,
                                     .on_stream_reset = cb_reset,
                                     .on_closed = cb_closed,
                                     .on_writable = cb_writable};
    struct dcgw_sctp_settings da, db;
    settings_pair(&da, &db);
    if (!sa)
        sa = &da;
    if (!sb)
        sb = &db;
    cb.ud = &pr->a;
    ck_assert_int_eq(dcgw_sctp_new(sa, &cb, &pr->a.s), 0);
    cb.ud = &pr->b;
    ck_assert_int_eq(dcgw_sctp_new(sb, &cb, &pr->b.s), 0);
}

/* Moves packets both ways and ticks the timers until done() or the budget runs out. */
static int pump(struct pair *pr, bool (*done)(void *), int max_ticks)
{
    return sctp_pair_pump(&pr->l, done, pr, max_ticks);
}

static bool both_connected(void *ctx)
{
    struct pair *pr = ctx;
    return pr->a.connected && pr->b.connected;
}

static void pair_connect(struct pair *pr)
{
    ck_assert_int_eq(dcgw_sctp_connect(pr->a.s), 0);
    ck_assert_int_eq(dcgw_sctp_connect(pr->b.s), 0);
    ck_assert_int_ge(pump(pr, both_connected, 2000), 0);
}

static void peer_clear(struct peer *pe)
{
    for (size_t i = 0; i < pe->nmsgs; i++)
        free(pe->msgs[i].p);
    pe->nmsgs = 0;
}

static void pair_free(struct pair *pr)
{
    dcgw_sctp_free(pr->a.s);
    dcgw_sctp_free(pr->b.s);
    pr->a.s = pr->b.s = NULL;
    peer_clear(&pr->a);
    peer_clear(&pr->b);
    sctp_pair_link_dispose(&pr->l);
}

/* Sends a message with PPID 53 on s, pumping while its send buffer is full; asserts
 * that it was accepted. */
static void send_waiting(struct pair *pr, struct dcgw_sctp *s, uint16_t stream,
                         const struct dcgw_sctp_sendopts *o, const uint8_t *m, size_t n)
{
    int r;
    while ((r = dcgw_sctp_send(s, stream, 53, o, m, n)) == DCGW_EAGAIN)
        pump(pr, NULL, 5);
    ck_assert_int_eq(r, 0);
}

/* message i of a test: a 4-byte index then a pattern that depends on it */
static uint8_t *make_msg(uint32_t i, size_t n)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 31 + i * 7 + (k >> 8));
    if (n >= 4)
        memcpy(p, &i, 4);
    return p;
}

static void check_msg(const struct rmsg *m, uint32_t i, size_t n)
{
    uint8_t *want = make_msg(i, n);
    ck_assert_uint_eq(m->n, n);
    ck_assert(memcmp(m->p, want, n) == 0);
    free(want);
}

static bool got_wanted(void *ctx)
{
    struct pair *pr = ctx;
    return pr->a.nmsgs >= want_a && pr->b.nmsgs >= want_b;
}

/* ---- tests ---- */

START_TEST(connect_simultaneous_open)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_NEW);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), DCGW_ESTATE);
    pair_connect(&pr);
    ck_assert_int_eq(pr.a.connected, 1);
    ck_assert_int_eq(pr.b.connected, 1);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CONNECTED);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.a.s), 256);
    ck_assert_uint_eq(dcgw_sctp_streams_in(pr.b.s), 256);
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), DCGW_ESTATE);
    /* every packet carried a CRC32c the other side accepted */
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->bad_crc, 0);
    ck_assert_uint_gt(dcgw_sctp_stats(pr.b.s)->packets_in, 0);
    pair_free(&pr);
}
END_TEST

START_TEST(sizes_both_ways_in_order)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    const size_t sizes[] = {1, 1024, 65536, DCGW_MAX_MESSAGE_SIZE_DEFAULT, 3, 70000, 1200};
    const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    for (uint32_t i = 0; i < nsizes; i++) {
        uint8_t *m = make_msg(i, sizes[i]);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, sizes[i]), 0);
        ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 2, 51, NULL, m, sizes[i]), 0);
        free(m);
    }
    want_a = want_b = nsizes;
    ck_assert_int_ge(pump(&pr, got_wanted, 5000), 0);
    ck_assert_uint_eq(pr.a.nmsgs, nsizes);
    ck_assert_uint_eq(pr.b.nmsgs, nsizes);
    for (uint32_t i = 0; i < nsizes; i++) {
        check_msg(&pr.b.msgs[i], i, sizes[i]);
        ck_assert_uint_eq(pr.b.msgs[i].stream, 1);
        ck_assert_uint_eq(pr.b.msgs[i].ppid, 53);
        ck_assert_uint_eq(pr.b.msgs[i].flags & DCGW_SCTP_MSG_UNORDERED, 0);
        check_msg(&pr.a.msgs[i], i, sizes[i]);
        ck_assert_uint_eq(pr.a.msgs[i].stream, 2);
        ck_assert_uint_eq(pr.a.msgs[i].ppid, 51);
    }
    /* SCTP packets stay within the configured MTU (DTLS adds its own overhead on top) */
    ck_assert_uint_le(pr.a.max_packet, DCGW_SCTP_MTU_DEFAULT);
    ck_assert_uint_ge(pr.a.max_packet, DCGW_SCTP_MTU_DEFAULT - 100);
    /* one byte over the limit is refused */
    uint8_t *big = make_msg(0, DCGW_MAX_MESSAGE_SIZE_DEFAULT + 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, big, DCGW_MAX_MESSAGE_SIZE_DEFAULT + 1),
                     DCGW_ETOOBIG);
    free(big);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->too_big_out, 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, (const uint8_t *)"", 0), DCGW_EINVAL);
    pair_free(&pr);
}
END_TEST

START_TEST(unordered_delivery)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    pr.l.ab.reorder_pct = 40;
    struct dcgw_sctp_sendopts o = {.unordered = true};
    enum { N = 200 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = make_msg(i, 100);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 4, 53, &o, m, 100), 0);
        free(m);
    }
    want_a = 0;
    want_b = N;
    ck_assert_int_ge(pump(&pr, got_wanted, 5000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, N);
    bool seen[N] = {false};
    for (size_t k = 0; k < N; k++) {
        uint32_t i;
        memcpy(&i, pr.b.msgs[k].p, 4);
        ck_assert_uint_lt(i, N);
        ck_assert(!seen[i]);
        seen[i] = true;
        check_msg(&pr.b.msgs[k], i, 100);
        ck_assert_uint_eq(pr.b.msgs[k].flags & DCGW_SCTP_MSG_UNORDERED, DCGW_SCTP_MSG_UNORDERED);
    }
    pair_free(&pr);
}
END_TEST

/* messages received by pe on one stream, in arrival order */
static size_t on_stream(const struct peer *pe, uint16_t stream, const struct rmsg **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < pe->nmsgs; i++)
        if (pe->msgs[i].stream == stream && k < max)
            out[k++] = &pe->msgs[i];
    return k;
}

/* A marker message on stream 9 (another stream: not held up by the stream under test). */
static bool marker_arrived(void *ctx)
{
    struct pair *pr = ctx;
    const struct rmsg *m[1];
    return on_stream(&pr->b, 9, m, 1) == 1;
}

START_TEST(partial_reliability_rtx0_under_loss)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    pr.l.ab.loss_pct = 30;
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_RTX, .pr_value = 0};
    enum { N = 300 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = make_msg(i, 300);
        send_waiting(&pr, pr.a.s, 1, &o, m, 300);
        free(m);
    }
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(pump(&pr, marker_arrived, 20000), 0); /* no hang */
    pump(&pr, NULL, 300);                                  /* stragglers */
    static const struct rmsg *got[N + 1];
    size_t ngot = on_stream(&pr.b, 1, got, N + 1);
    ck_assert_uint_lt(ngot, N); /* some were lost for good */
    ck_assert_uint_gt(ngot, N / 3);
    uint32_t prev = 0;
    for (size_t k = 0; k < ngot; k++) { /* ordered, no duplicates, intact */
        uint32_t i;
        memcpy(&i, got[k]->p, 4);
        ck_assert(k == 0 || i > prev);
        prev = i;
        check_msg(got[k], i, 300);
    }
    ck_assert_uint_gt(dcgw_sctp_stats(pr.a.s)->send_failed, 0);
    /* the association still works reliably afterwards */
    pr.l.ab.loss_pct = 0;
    size_t before = pr.b.nmsgs;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    want_a = 0;
    want_b = before + 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 2000), 0);
    pair_free(&pr);
}
END_TEST

START_TEST(partial_reliability_ttl)
{
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sa.nodelay = true; /* every message leaves at once (usrsctp only expires sent ones) */
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    pr.l.ab.loss_pct = 100; /* everything sent now is lost */
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_TTL, .pr_value = 30};
    enum { N = 6 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = make_msg(i, 200);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, &o, m, 200), 0);
        free(m);
    }
    pump(&pr, NULL, 3);
    ck_assert_uint_ge(pr.l.ab.dropped, 1);
    /* usrsctp measures message lifetime on the real clock */
    struct timespec ts = {0, 80 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pr.l.ab.loss_pct = 0;
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(pump(&pr, marker_arrived, 20000), 0);
    pump(&pr, NULL, 600); /* let retransmission timers run: nothing more may arrive */
    ck_assert_uint_eq(pr.b.nmsgs, 1);
    ck_assert_uint_eq(pr.b.msgs[0].stream, 9);
    ck_assert_uint_ge(dcgw_sctp_stats(pr.a.s)->send_failed, N);
    /* a later TTL message that is not lost arrives */
    uint8_t *m = make_msg(N + 1, 200);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, &o, m, 200), 0);
    free(m);
    want_a = 0;
    want_b = 2;
    ck_assert_int_ge(pump(&pr, got_wanted, 2000), 0);
    check_msg(&pr.b.msgs[1], N + 1, 200);
    pair_free(&pr);
}
END_TEST

START_TEST(oversize_incoming_dropped_and_counted)
{
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sa.max_message_size = 1024 * 1024;
    sb.max_message_size = 100 * 1024;
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    const size_t sizes[] = {1000, 150 * 1024, 2000, 600 * 1024, 100 * 1024, 3000, 100 * 1024 + 1};
    const bool fits[] = {true, false, true, false, true, true, false};
    size_t n = sizeof(sizes) / sizeof(sizes[0]), nfit = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *m = make_msg(i, sizes[i]);
        send_waiting(&pr, pr.a.s, 0, NULL, m, sizes[i]);
        free(m);
        nfit += fits[i];
    }
    uint32_t mk = 99;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    want_a = 0;
    want_b = nfit + 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 20000), 0);
    ck_assert(marker_arrived(&pr));
    pump(&pr, NULL, 100);
    ck_assert_uint_eq(pr.b.nmsgs, nfit + 1);
    const struct rmsg *got[8];
    ck_assert_uint_eq(on_stream(&pr.b, 0, got, 8), nfit);
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (fits[i])
            check_msg(got[k++], i, sizes[i]);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->too_big_in, n - nfit);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CONNECTED);
    /* and the small side refuses to send what it would not accept */
    uint8_t *m = make_msg(0, 100 * 1024 + 1);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 0, 53, NULL, m, 100 * 1024 + 1), DCGW_ETOOBIG);
    free(m);
    pair_free(&pr);
}
END_TEST

static bool resets_done(void *ctx)
{
    struct pair *pr = ctx;
    return pr->a.resets[DCGW_SCTP_RESET_OUTGOING] && pr->b.resets[DCGW_SCTP_RESET_INCOMING];
}

static bool resets_done_back(void *ctx)
{
    struct pair *pr = ctx;
    return pr->b.resets[DCGW_SCTP_RESET_OUTGOING] && pr->a.resets[DCGW_SCTP_RESET_INCOMING];
}

START_TEST(stream_reset_both_ways)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    uint8_t x = 7;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 3, 53, NULL, &x, 1), 0);
    uint16_t st = 3;
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &st, 1), 0);
    ck_assert_int_ge(pump(&pr, resets_done, 2000), 0);
    ck_assert_uint_eq(pr.a.last_reset[DCGW_SCTP_RESET_OUTGOING], 3);
    ck_assert_uint_eq(pr.b.last_reset[DCGW_SCTP_RESET_INCOMING], 3);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* data queued before the reset arrived first */
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.b.s, &st, 1), 0);
    ck_assert_int_ge(pump(&pr, resets_done_back, 2000), 0);
    ck_assert_uint_eq(pr.a.last_reset[DCGW_SCTP_RESET_INCOMING], 3);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->resets_out, 1);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.a.s)->resets_in, 1);
    /* the stream is usable again both ways */
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 3, 53, NULL, &x, 1), 0);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 3, 53, NULL, &x, 1), 0);
    want_a = 1;
    want_b = 2;
    ck_assert_int_ge(pump(&pr, got_wanted, 2000), 0);
    /* bad arguments */
    uint16_t bad = 256;
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &bad, 1), DCGW_ERANGE);
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, &st, 0), DCGW_EINVAL);
    pair_free(&pr);
}
END_TEST

START_TEST(many_streams)
{
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sa.streams = 2048;
    sb.streams = 1500;
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.a.s), 1500);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.b.s), 1500);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1500, 53, NULL, &x, 1), DCGW_ERANGE);
    for (uint32_t i = 0; i < 1500; i++) {
        uint8_t *m = make_msg(i, 8);
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, (uint16_t)i, 53, NULL, m, 8), 0);
        ck_assert_int_eq(dcgw_sctp_send(pr.b.s, (uint16_t)(1499 - i), 51, NULL, m, 8), 0);
        free(m);
    }
    want_a = want_b = 1500;
    ck_assert_int_ge(pump(&pr, got_wanted, 5000), 0);
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
    pair_free(&pr);
}
END_TEST

START_TEST(reliable_under_loss_dup_reorder)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    lossy_init(&pr.l.ab, 10, 5, 10, 77);
    lossy_init(&pr.l.ba, 10, 5, 10, 78);
    enum { N = 400 };
    size_t size[N];
    uint32_t rng = 12345;
    for (uint32_t i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        size[i] = 4 + (rng >> 8) % 6000;
        uint8_t *m = make_msg(i, size[i]);
        send_waiting(&pr, pr.a.s, 0, NULL, m, size[i]);
        send_waiting(&pr, pr.b.s, 7, NULL, m, size[i]);
        free(m);
    }
    want_a = want_b = N;
    ck_assert_int_ge(pump(&pr, got_wanted, 60000), 0);
    pump(&pr, NULL, 200); /* nothing extra may trickle in */
    ck_assert_uint_eq(pr.a.nmsgs, N);
    ck_assert_uint_eq(pr.b.nmsgs, N);
    for (uint32_t i = 0; i < N; i++) {
        check_msg(&pr.b.msgs[i], i, size[i]);
        check_msg(&pr.a.msgs[i], i, size[i]);
    }
    ck_assert_uint_gt(pr.l.ab.dropped, 0);
    ck_assert_uint_gt(pr.l.ab.duplicated, 0);
    ck_assert_uint_gt(pr.l.ab.reordered, 0);
    pair_free(&pr);
}
END_TEST

START_TEST(bad_crc_and_runts_dropped)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
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
    want_a = 0;
    want_b = 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 2000), 0);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_crc, bad_before);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CONNECTED);
    pair_free(&pr);
}
END_TEST

static void flip_deliver(void *ud, const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    c[n - 1] ^= 0x10;
    deliver(ud, c, n);
    free(c);
}

START_TEST(corrupted_packets_are_retransmitted)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    uint8_t *m = make_msg(1, 900);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 900), 0);
    /* the first copy arrives corrupted */
    ck_assert_uint_eq(lossy_pump(&pr.l.ab, flip_deliver, &pr.b), 1);
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->bad_crc, 1);
    ck_assert_uint_eq(pr.b.nmsgs, 0);
    want_a = 0;
    want_b = 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 5000), 0); /* T3 retransmission */
    check_msg(&pr.b.msgs[0], 1, 900);
    free(m);
    pair_free(&pr);
}
END_TEST

START_TEST(back_pressure_and_writable)
{
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sa.max_message_size = sb.max_message_size = 16 * 1024;
    sa.sndbuf = 64 * 1024;
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    uint8_t *m = make_msg(0, 4096);
    int sent = 0, r;
    while ((r = dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 4096)) == 0)
        sent++;
    ck_assert_int_eq(r, DCGW_EAGAIN);
    ck_assert_int_ge(sent, 10);
    ck_assert_int_le(sent, 64 * 1024 / 4096 + 2);
    ck_assert_uint_gt(dcgw_sctp_buffered_amount(pr.a.s), 32 * 1024);
    ck_assert_int_eq(pr.a.writable, 0);
    want_a = 0;
    want_b = (size_t)sent;
    ck_assert_int_ge(pump(&pr, got_wanted, 5000), 0);
    pump(&pr, NULL, 50);
    ck_assert_int_eq(pr.a.writable, 1);
    ck_assert_uint_lt(dcgw_sctp_buffered_amount(pr.a.s), 16 * 1024);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 4096), 0);
    free(m);
    pair_free(&pr);
}
END_TEST

static bool both_closed(void *ctx)
{
    struct pair *pr = ctx;
    return pr->a.closed && pr->b.closed;
}

START_TEST(graceful_close)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    uint8_t *m = make_msg(3, 20000);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 20000), 0);
    ck_assert_int_eq(dcgw_sctp_close(pr.a.s), 0);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CLOSING);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, m, 10), DCGW_ECLOSED);
    ck_assert_int_ge(pump(&pr, both_closed, 3000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* queued data went out before the shutdown */
    check_msg(&pr.b.msgs[0], 3, 20000);
    ck_assert_int_eq(pr.a.closed, 1);
    ck_assert_int_eq(pr.b.closed, 1);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CLOSED);
    pump(&pr, NULL, 100);
    ck_assert_int_eq(pr.a.closed, 1);
    free(m);
    pair_free(&pr);
}
END_TEST

static bool a_closed(void *ctx)
{
    struct pair *pr = ctx;
    return pr->a.closed;
}

static bool b_closed(void *ctx)
{
    struct pair *pr = ctx;
    return pr->b.closed;
}

START_TEST(free_aborts_the_peer)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    size_t out = pr.l.ab.sent;
    dcgw_sctp_free(pr.a.s);
    pr.a.s = NULL;
    ck_assert_uint_gt(pr.l.ab.sent, out); /* the ABORT went out during free */
    ck_assert_int_ge(pump(&pr, b_closed, 100), 0);
    ck_assert_int_eq(pr.a.closed, 0); /* no callbacks after free */
    pair_free(&pr);
}
END_TEST

START_TEST(free_inside_own_callback)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    pr.b.free_on_message = true;
    uint8_t x = 1;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), 0);
    pump(&pr, b_closed, 200);
    ck_assert_uint_eq(pr.b.nmsgs, 1); /* nothing delivered after the free */
    ck_assert_ptr_null(pr.b.s);
    ck_assert_int_ge(pump(&pr, NULL, 50), -1);
    pair_free(&pr);
}
END_TEST

START_TEST(no_reentry_from_send_packet)
{
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pair_connect(&pr);
    pr.a.send_in_send_packet = true;
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), 0);
    ck_assert_int_eq(pr.a.nested_send_result, DCGW_ESTATE);
    pr.a.send_in_send_packet = false;
    want_a = 0;
    want_b = 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 1000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, 1);
    pair_free(&pr);
}
END_TEST

START_TEST(settings_validation)
{
    struct dcgw_sctp_settings s;
    struct dcgw_sctp_callbacks cb = {.send_packet = cb_send_packet};
    struct dcgw_sctp *x;
    settings(&s, 0, 5000);
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    settings(&s, 4000, 5000);
    s.max_message_size = DCGW_MAX_MESSAGE_SIZE_CEILING + 1;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    settings(&s, 4000, 5000);
    s.mtu = 100;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x), DCGW_ECONFIG);
    settings(&s, 4000, 5000);
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
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    ck_assert_int_eq(dcgw_sctp_close(pr.b.s), 0); /* never connected */
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CLOSED);
    ck_assert_int_eq(dcgw_sctp_connect(pr.b.s), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), 0);
    ck_assert_int_eq(dcgw_sctp_close(pr.a.s), 0); /* INIT out, nothing back yet */
    pump(&pr, NULL, 100);
    ck_assert_int_eq(pr.a.closed, 1);
    ck_assert_int_eq(pr.b.closed, 1);
    ck_assert_int_eq(pr.a.connected, 0);
    pair_free(&pr);
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
    struct pair pr;
    pair_new(&pr, NULL, NULL);
    pr.l.ab.loss_pct = 100;
    ck_assert_int_eq(dcgw_sctp_connect(pr.a.s), 0);
    ck_assert_int_ge(pump(&pr, a_closed, 20000), 0);
    ck_assert_int_eq(pr.a.connected, 0);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CLOSED);
    uint8_t x = 1;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 0, 53, NULL, &x, 1), DCGW_ECLOSED);
    pair_free(&pr);
}
END_TEST

START_TEST(heartbeats_only_where_wanted)
{
    struct dcgw_sctp_stack_settings st;
    dcgw_sctp_stack_settings_default(&st);
    st.heartbeat_interval_ms = 100;
    ck_assert_int_eq(dcgw_sctp_stack_init(&st), 0);
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sa.no_heartbeat = true; /* the gateway's side */
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    ck_assert_int_eq(pump(&pr, NULL, 5), -1); /* the handshake's last packets */
    uint64_t active = dcgw_sctp_stack_stats()->active_packets;
    /* idle for ~4 s of timer time: B beats every ~0.1 s + RTO, A never */
    ck_assert_int_eq(pump(&pr, NULL, 400), -1);
    ck_assert_uint_ge(pr.b.heartbeats, 2);
    ck_assert_uint_eq(pr.a.heartbeats, 0);
    ck_assert_int_eq(pr.a.closed + pr.b.closed, 0);
    /* heartbeats and their acks are not activity; data is */
    ck_assert_uint_eq(dcgw_sctp_stack_stats()->active_packets, active);
    /* and A still answers: data flows both ways afterwards */
    uint8_t *m = make_msg(1, 100);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, 100), 0);
    ck_assert_int_eq(dcgw_sctp_send(pr.b.s, 1, 53, NULL, m, 100), 0);
    free(m);
    want_a = want_b = 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 1000), 0);
    ck_assert_uint_ge(dcgw_sctp_stack_stats()->active_packets, active + 2);
    pair_free(&pr);
}
END_TEST

START_TEST(pr_large_messages_small_window)
{
    /* max-retr 0 abandons a message at its first retransmission: a lost packet, or a
     * window probe. Messages of up to max-message-size are never delivered partially
     * (usrsctp would keep the window shut after abandoning one), so the association keeps
     * flowing. */
    struct dcgw_sctp_settings sa, sb;
    settings_pair(&sa, &sb);
    sb.max_message_size = 48 * 1024;
    sb.rcvbuf = 64 * 1024; /* raised to twice the message size */
    struct pair pr;
    pair_new(&pr, &sa, &sb);
    pair_connect(&pr);
    lossy_init(&pr.l.ab, 2, 0, 0, 99);
    struct dcgw_sctp_sendopts o = {.pr = DCGW_SCTP_PR_RTX, .pr_value = 0};
    enum { N = 40, SZ = 48 * 1024 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t *m = make_msg(i, SZ);
        send_waiting(&pr, pr.a.s, 1, &o, m, SZ);
        free(m);
    }
    pr.l.ab.loss_pct = 0;
    uint32_t mk = N;
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 9, 53, NULL, (const uint8_t *)&mk, 4), 0);
    ck_assert_int_ge(pump(&pr, marker_arrived, 20000), 0);
    pump(&pr, NULL, 300);
    static const struct rmsg *got[N];
    size_t ngot = on_stream(&pr.b, 1, got, N);
    ck_assert_uint_lt(ngot, N);
    ck_assert_uint_gt(ngot, N / 4);
    uint32_t prev = 0;
    for (size_t k = 0; k < ngot; k++) {
        uint32_t i;
        memcpy(&i, got[k]->p, 4);
        ck_assert(k == 0 || i > prev);
        prev = i;
        check_msg(got[k], i, SZ);
    }
    ck_assert_uint_eq(dcgw_sctp_stats(pr.b.s)->pd_aborted, 0);
    /* a reliable message of the largest size still goes through promptly */
    uint8_t *m = make_msg(77, SZ);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1, 53, NULL, m, SZ), 0);
    free(m);
    want_b = pr.b.nmsgs + 1;
    ck_assert_int_ge(pump(&pr, got_wanted, 1000), 0);
    check_msg(&pr.b.msgs[pr.b.nmsgs - 1], 77, SZ);
    pair_free(&pr);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sctp");
    TCase *tc = tcase_create("association");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, connect_simultaneous_open);
    tcase_add_test(tc, settings_validation);
    tcase_add_test(tc, graceful_close);
    tcase_add_test(tc, free_aborts_the_peer);
    tcase_add_test(tc, free_inside_own_callback);
    tcase_add_test(tc, no_reentry_from_send_packet);
    tcase_add_test(tc, close_before_and_while_connecting);
    tcase_add_test(tc, connect_timeout_reports_closed);
    tcase_add_test(tc, heartbeats_only_where_wanted);
    suite_add_tcase(s, tc);
    tc = tcase_create("messages");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sizes_both_ways_in_order);
    tcase_add_test(tc, unordered_delivery);
    tcase_add_test(tc, oversize_incoming_dropped_and_counted);
    tcase_add_test(tc, many_streams);
    tcase_add_test(tc, back_pressure_and_writable);
    suite_add_tcase(s, tc);
    tc = tcase_create("reliability");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, partial_reliability_rtx0_under_loss);
    tcase_add_test(tc, partial_reliability_ttl);
    tcase_add_test(tc, reliable_under_loss_dup_reorder);
    tcase_add_test(tc, bad_crc_and_runts_dropped);
    tcase_add_test(tc, corrupted_packets_are_retransmitted);
    tcase_add_test(tc, pr_large_messages_small_window);
    suite_add_tcase(s, tc);
    tc = tcase_create("reset");
    tcase_add_test(tc, stream_reset_both_ways);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
