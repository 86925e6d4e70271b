/* The io module's UDP GSO and GRO (include/dcgw/net/io.h, docs/fastpath.md): runs of
 * equal-size datagrams to one destination leave in one GSO send and arrive one by one,
 * byte-exact and in order; coalesced input (a sender's UDP_SEGMENT, kept whole for a GRO
 * socket) is split; a refused GSO send falls back to datagram by datagram and turns GSO
 * off; on_burst_end comes once per burst, after its datagrams, and what it sends leaves in
 * that burst's flush. Real sockets on 127.0.0.1. */
#include <check.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/net/io.h"
#include "helper_suite.h"

enum { MAXGOT = 256 };

struct sink {
    unsigned n;
    size_t len[MAXGOT];
    uint8_t first[MAXGOT], last[MAXGOT]; /* first and last byte of each */
    size_t bytes;
};

static void on_dgram(void *ud, const struct sockaddr *from, uint8_t *p, size_t n, uint64_t now)
{
    (void)from;
    (void)now;
    struct sink *s = ud;
    if (s->n < MAXGOT) {
        s->len[s->n] = n;
        s->first[s->n] = n ? p[0] : 0;
        s->last[s->n] = n ? p[n - 1] : 0;
    }
    s->n++;
    s->bytes += n;
}

struct fixture {
    uv_loop_t loop;
    struct dcgw_io *a, *b;
    struct sink sa, sb;
};

static struct dcgw_io *open_io(uv_loop_t *loop, bool gso, bool gro, struct sink *s)
{
    struct sockaddr_storage ss;
    ck_assert_int_eq(dcgw_addr_parse("127.0.0.1:0", &ss), 0);
    struct dcgw_io_settings st = {.batch = 64, .gso = gso, .gro = gro};
    struct dcgw_io_cbs cbs = {.ud = s, .on_datagram = on_dgram};
    struct dcgw_io *io = NULL;
    ck_assert_int_eq(dcgw_io_new(loop, (struct sockaddr *)&ss, &st, &cbs, &io), 0);
    return io;
}

static void setup(struct fixture *f, bool gso, bool gro)
{
    memset(f, 0, sizeof(*f));
    ck_assert_int_eq(uv_loop_init(&f->loop), 0);
    f->a = open_io(&f->loop, gso, false, &f->sa);
    f->b = open_io(&f->loop, false, gro, &f->sb);
}

static void teardown(struct fixture *f)
{
    dcgw_io_close(f->a);
    dcgw_io_close(f->b);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&f->loop), 0);
}

/* Runs the loop until the sink holds want datagrams, or 2 s pass. */
static void run_until(struct fixture *f, struct sink *s, unsigned want)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (s->n < want &&
             (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
}

/* Queues n datagrams of size bytes from a to `to`, byte i of datagram k = (seed + k + i). */
static void queue(struct dcgw_io *a, const struct sockaddr *to, unsigned n, size_t size,
                  uint8_t seed)
{
    static uint8_t buf[DCGW_IO_SLOT];
    for (unsigned k = 0; k < n; k++) {
        for (size_t i = 0; i < size; i++)
            buf[i] = (uint8_t)(seed + k + i);
        ck_assert_int_eq(dcgw_io_send(a, to, buf, size), 0);
    }
}

/* The sink got datagram `at` as queue() made datagram k of that call. */
static void expect(const struct sink *s, unsigned at, size_t size, uint8_t seed, unsigned k)
{
    ck_assert_uint_eq(s->len[at], size);
    ck_assert_uint_eq(s->first[at], (uint8_t)(seed + k));
    ck_assert_uint_eq(s->last[at], (uint8_t)(seed + k + size - 1));
}

START_TEST(gso_runs_arrive_one_by_one_in_order)
{
    struct fixture f;
    setup(&f, true, false);
    ck_assert(dcgw_io_gso(f.a));
    const struct sockaddr *to = dcgw_io_local(f.b);
    queue(f.a, to, 20, 1000, 1); /* one run: 20 x 1000 ... */
    queue(f.a, to, 1, 300, 50);  /* ... and a shorter last one */
    queue(f.a, to, 5, 500, 90);  /* a new run: the size grew */
    queue(f.a, to, 1, 500, 99);  /* the same size: joins that run */
    dcgw_io_flush(f.a);
    run_until(&f, &f.sb, 27);
    ck_assert_uint_eq(f.sb.n, 27);
    for (unsigned k = 0; k < 20; k++)
        expect(&f.sb, k, 1000, 1, k);
    expect(&f.sb, 20, 300, 50, 0);
    for (unsigned k = 0; k < 5; k++)
        expect(&f.sb, 21 + k, 500, 90, k);
    expect(&f.sb, 26, 500, 99, 0);
    const struct dcgw_io_stats *st = dcgw_io_stats(f.a);
    ck_assert_uint_eq(st->tx_packets, 27);
    ck_assert_uint_eq(st->tx_bytes, 20 * 1000 + 300 + 6 * 500);
    /* [20 x 1000, 300] and [6 x 500] */
    ck_assert_uint_eq(st->tx_gso_sends, 2);
    ck_assert_uint_eq(st->tx_gso_segments, 27);
    ck_assert_uint_eq(st->tx_gso_fallbacks, 0);
    ck_assert_uint_eq(st->tx_errors, 0);
    teardown(&f);
}
END_TEST

START_TEST(gso_never_merges_destinations_or_past_the_limits)
{
    struct fixture f;
    setup(&f, true, false);
    struct sink sc = {0};
    struct dcgw_io *c = open_io(&f.loop, false, false, &sc);
    for (unsigned k = 0; k < 10; k++) { /* alternating destinations: ten runs of one */
        queue(f.a, dcgw_io_local(f.b), 1, 700, (uint8_t)k);
        queue(f.a, dcgw_io_local(c), 1, 700, (uint8_t)k);
    }
    dcgw_io_flush(f.a);
    ck_assert_uint_eq(dcgw_io_stats(f.a)->tx_gso_sends, 0);
    /* 64 segments at most per send, and at most DCGW_IO_GSO_BYTES_MAX bytes */
    queue(f.a, dcgw_io_local(f.b), 64, 100, 7); /* the batch (64) flushes at the next */
    queue(f.a, dcgw_io_local(f.b), 60, 1200, 9);
    dcgw_io_flush(f.a);
    run_until(&f, &f.sb, 10 + 64 + 60);
    run_until(&f, &sc, 10);
    ck_assert_uint_eq(f.sb.n, 134);
    ck_assert_uint_eq(sc.n, 10);
    for (unsigned k = 0; k < 60; k++)
        expect(&f.sb, 74 + k, 1200, 9, k);
    const struct dcgw_io_stats *st = dcgw_io_stats(f.a);
    /* 64 x 100 in one; 60 x 1200 = 72,000 bytes > 65,000: two sends (54 + 6) */
    ck_assert_uint_eq(st->tx_gso_sends, 3);
    ck_assert_uint_eq(st->tx_gso_segments, 124);
    dcgw_io_close(c);
    teardown(&f);
}
END_TEST

START_TEST(gso_refused_falls_back_and_turns_off)
{
    struct fixture f;
    setup(&f, true, false);
    /* No UDP checksum: the kernel refuses GSO sends on such a socket (EINVAL). */
    int one = 1;
    ck_assert_int_eq(setsockopt(dcgw_io_fd(f.a), SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
    const struct sockaddr *to = dcgw_io_local(f.b);
    queue(f.a, to, 8, 900, 3);
    dcgw_io_flush(f.a);
    ck_assert(!dcgw_io_gso(f.a));
    queue(f.a, to, 8, 900, 40); /* GSO off: eight plain datagrams */
    dcgw_io_flush(f.a);
    run_until(&f, &f.sb, 16);
    ck_assert_uint_eq(f.sb.n, 16);
    for (unsigned k = 0; k < 8; k++) {
        expect(&f.sb, k, 900, 3, k);
        expect(&f.sb, 8 + k, 900, 40, k);
    }
    const struct dcgw_io_stats *st = dcgw_io_stats(f.a);
    ck_assert_uint_eq(st->tx_gso_fallbacks, 1);
    ck_assert_uint_eq(st->tx_gso_sends, 0);
    ck_assert_uint_eq(st->tx_packets, 16);
    ck_assert_uint_eq(st->tx_errors, 0);
    teardown(&f);
}
END_TEST

START_TEST(gso_off_sends_datagram_by_datagram)
{
    struct fixture f;
    setup(&f, false, false);
    ck_assert(!dcgw_io_gso(f.a));
    queue(f.a, dcgw_io_local(f.b), 10, 1000, 5);
    dcgw_io_flush(f.a);
    run_until(&f, &f.sb, 10);
    ck_assert_uint_eq(f.sb.n, 10);
    ck_assert_uint_eq(dcgw_io_stats(f.a)->tx_gso_sends, 0);
    ck_assert_uint_eq(dcgw_io_stats(f.a)->tx_packets, 10);
    teardown(&f);
}
END_TEST

/* A sender's UDP_SEGMENT send of 10 x 800 + 123 bytes: kept whole for a GRO socket,
 * which the io splits into 11 datagrams. */
static void send_coalesced(const struct sockaddr *to)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    static uint8_t buf[10 * 800 + 123];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i / 800 + i % 800);
    int seg = 800;
    ck_assert_int_eq(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)), 0);
    ck_assert_int_eq(sendto(fd, buf, sizeof(buf), 0, to, dcgw_addr_len(to)), (ssize_t)sizeof(buf));
    close(fd);
}

START_TEST(gro_buffers_are_split)
{
    struct fixture f;
    setup(&f, false, true);
    ck_assert(dcgw_io_gro(f.b));
    send_coalesced(dcgw_io_local(f.b));
    run_until(&f, &f.sb, 11);
    ck_assert_uint_eq(f.sb.n, 11);
    for (unsigned k = 0; k < 10; k++) {
        ck_assert_uint_eq(f.sb.len[k], 800);
        ck_assert_uint_eq(f.sb.first[k], k);
        ck_assert_uint_eq(f.sb.last[k], (uint8_t)(k + 799));
    }
    ck_assert_uint_eq(f.sb.len[10], 123);
    const struct dcgw_io_stats *st = dcgw_io_stats(f.b);
    ck_assert_uint_eq(st->rx_gro_buffers, 1); /* on loopback the send stays one buffer */
    ck_assert_uint_eq(st->rx_gro_segments, 11);
    ck_assert_uint_eq(st->rx_packets, 11);
    ck_assert_uint_eq(st->rx_bytes, 10 * 800 + 123);
    teardown(&f);
}
END_TEST

START_TEST(without_gro_the_kernel_splits)
{
    struct fixture f;
    setup(&f, false, false);
    send_coalesced(dcgw_io_local(f.b));
    run_until(&f, &f.sb, 11);
    ck_assert_uint_eq(f.sb.n, 11);
    ck_assert_uint_eq(f.sb.len[10], 123);
    ck_assert_uint_eq(dcgw_io_stats(f.b)->rx_gro_buffers, 0);
    teardown(&f);
}
END_TEST

/* on_burst_end: once per wake-up that read something, after its datagrams; what it sends
 * leaves in that burst's flush (one sendmmsg per burst here: only it sends). */
struct burst_rec {
    struct dcgw_io *io;
    const struct sockaddr *reply_to;
    struct sink *sink;
    unsigned calls, seen_at_last, empty;
};

static void on_burst(void *ud, uint64_t now)
{
    (void)now;
    struct burst_rec *r = ud;
    if (r->sink->n == r->seen_at_last)
        r->empty++; /* called for a burst that delivered nothing */
    r->seen_at_last = r->sink->n;
    r->calls++;
    static const uint8_t ack[] = {0xac, 0x0c};
    ck_assert_int_eq(dcgw_io_send(r->io, r->reply_to, ack, sizeof(ack)), 0);
}

static void on_dgram_burst(void *ud, const struct sockaddr *from, uint8_t *p, size_t n,
                           uint64_t now)
{
    struct burst_rec *r = ud;
    on_dgram(r->sink, from, p, n, now);
}

START_TEST(burst_end_follows_each_burst_and_shares_its_flush)
{
    struct fixture f;
    setup(&f, false, false);
    struct sockaddr_storage ss;
    ck_assert_int_eq(dcgw_addr_parse("127.0.0.1:0", &ss), 0);
    struct sink got = {0};
    struct burst_rec r = {.reply_to = dcgw_io_local(f.a), .sink = &got};
    struct dcgw_io_settings st = {.batch = 8};
    struct dcgw_io_cbs cbs = {.ud = &r, .on_datagram = on_dgram_burst, .on_burst_end = on_burst};
    ck_assert_int_eq(dcgw_io_new(&f.loop, (struct sockaddr *)&ss, &st, &cbs, &r.io), 0);
    for (int round = 0; round < 3; round++) {
        queue(f.a, dcgw_io_local(r.io), 20, 100, (uint8_t)round);
        dcgw_io_flush(f.a);
        run_until(&f, &got, 20u * (unsigned)(round + 1));
    }
    run_until(&f, &f.sa, r.calls); /* the replies */
    ck_assert_uint_eq(got.n, 60);
    ck_assert_uint_ge(r.calls, 3); /* at least one burst per round */
    ck_assert_uint_eq(r.empty, 0);
    ck_assert_uint_eq(r.seen_at_last, 60); /* the last call came after the last datagram */
    ck_assert_uint_eq(f.sa.n, r.calls);
    ck_assert_uint_eq(dcgw_io_stats(r.io)->tx_batches, r.calls);
    dcgw_io_close(r.io);
    teardown(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("gso_gro");
    tcase_add_test(tc, gso_runs_arrive_one_by_one_in_order);
    tcase_add_test(tc, gso_never_merges_destinations_or_past_the_limits);
    tcase_add_test(tc, gso_refused_falls_back_and_turns_off);
    tcase_add_test(tc, gso_off_sends_datagram_by_datagram);
    tcase_add_test(tc, gro_buffers_are_split);
    tcase_add_test(tc, without_gro_the_kernel_splits);
    suite_add_tcase(s, tc);
    TCase *tb = tcase_create("burst");
    tcase_add_test(tb, burst_end_follows_each_burst_and_shares_its_flush);
    suite_add_tcase(s, tb);
    return tsuite_run(s);
}
