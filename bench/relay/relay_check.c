/* relay_check: the relay fast path end to end (docs/fastpath.md), for
 * tests/integration/test_relay_fast.sh. Needs a running dcgwd with fast_path.enabled and
 * ice.consent_timeout_ms below 10 s; peers on lo (peers.h). Prints "ok ..." per check, and
 * "FAIL ..." and exit 1 at the first that fails:
 *
 *   forged    dcgw gets B's answer with another certificate's fingerprint: blocked, nothing
 *             ever offloaded
 *   data      N messages each way through a verified flow, DTLS end to end: byte-exact;
 *             the fast path counted exactly the application data datagrams the peers sent,
 *             dcgw's userspace received exactly their other datagrams (STUN, ...)
 *   policy    UpdateSession.policy: the entry is removed first, then the flow offloaded again
 *   rate      UpdateSession.relay: R datagrams/s; A sends 3R for 2 s: B gets R +-10%
 *   close     the session closed: the entry is gone and A's datagrams reach nobody
 *   consent   A goes silent: consent lost on its hop, the entry gone, B's datagrams dropped */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "peers.h"

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (!ok)
        exit(1);
}

static unsigned drain_count(int fd, int ms)
{
    uint8_t buf[PEER_SLOT];
    unsigned n = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, ms) > 0 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        n++;
    return n;
}

static bool wait_fast(struct dcgw_ctlclient *c, const char *id, struct peer *p[2], bool on)
{
    for (int i = 0; i < 100; i++) {
        struct relay_counts rc;
        if (relay_counts(c, id, &rc) == 0 && rc.fast_on == on)
            return true;
        pump(p, 20, NULL);
    }
    return false;
}

static void new_pair(struct dcgw_ctlclient *c, const char *id, struct peer *a, struct peer *b,
                     bool forge)
{
    peer_init(a, "ue", "127.0.0.1");
    peer_init(b, "as", "127.0.0.1");
    setup_relay(c, id, a, b, forge);
}

static void forged(struct dcgw_ctlclient *c)
{
    struct peer a, b, *p[2] = {&a, &b};
    uint64_t added = stat_counter(c, "fast_path_added");
    new_pair(c, "forged", &a, &b, true);
    pump(p, 3000, handshaken);
    struct relay_counts rc;
    relay_counts(c, "forged", &rc);
    check(!a.connected || !b.connected, "forged: the handshake did not complete");
    check(stat_counter(c, "fast_path_added") == added && !rc.fast_on,
          "forged: nothing offloaded (fast_path_added %" PRIu64 ")",
          stat_counter(c, "fast_path_added"));
    close_session(c, "forged");
    peer_free(&a);
    peer_free(&b);
}

static void data(struct dcgw_ctlclient *c, struct peer *p[2], unsigned n)
{
    struct relay_counts c0, c1;
    relay_counts(c, "s", &c0);
    uint64_t io0 = stat_counter(c, "rx_packets");
    for (int k = 0; k < 2; k++)
        p[k]->sent_stun = p[k]->sent_app = p[k]->sent_app_bytes = p[k]->sent_other = 0;
    uint64_t first[2] = {p[1]->expect_seq, p[0]->expect_seq}; /* next index each side sends */
    static uint8_t msg[1200];
    for (unsigned i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            uint64_t seq = first[k] + i;
            size_t len = 8 + (seq * 37) % 1100;
            memcpy(msg, &seq, 8);
            for (size_t j = 8; j < len; j++)
                msg[j] = (uint8_t)(seq + j);
            if (dcgw_leg_send_data(p[k]->leg, msg, len) < 0)
                die("send", DCGW_ESTATE);
        }
        if (i % 16 == 15)
            pump(p, 1, NULL);
    }
    uint64_t want[2] = {first[1] + n, first[0] + n}; /* what each side expects next */
    uint64_t end = now_us() + 10000000;
    while ((p[0]->expect_seq < want[0] || p[1]->expect_seq < want[1]) && now_us() < end)
        pump(p, 20, NULL);
    /* until each peer's consent check went through too (RFC 7675: every 5 s +-20%) */
    end = now_us() + 8000000;
    while ((!p[0]->sent_stun || !p[1]->sent_stun) && now_us() < end)
        pump(p, 20, NULL);
    usleep(100000);
    pump(p, 10, NULL);
    usleep(50000);
    relay_counts(c, "s", &c1);
    uint64_t io1 = stat_counter(c, "rx_packets");
    check(p[0]->expect_seq == want[0] && p[1]->expect_seq == want[1] && !p[0]->got_bad &&
              !p[1]->got_bad,
          "data: %u messages each way arrived byte-exact and in order (bad %" PRIu64 "/%" PRIu64
          ")",
          n, p[0]->got_bad, p[1]->got_bad);
    uint64_t user = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t fast = c1.fast[k] - c0.fast[k], fb = c1.fast_bytes[k] - c0.fast_bytes[k];
        check(fast == p[k]->sent_app && fb == p[k]->sent_app_bytes,
              "data: leg %s: the fast path forwarded %" PRIu64 " datagrams / %" PRIu64
              " B, its peer sent %" PRIu64 " / %" PRIu64 " B of application data",
              p[k]->name, fast, fb, p[k]->sent_app, p[k]->sent_app_bytes);
        uint64_t seen =
            (c1.rx[k] - c1.fast[k] - c1.fast_rate[k]) - (c0.rx[k] - c0.fast[k] - c0.fast_rate[k]);
        check(seen == p[k]->sent_stun + p[k]->sent_other,
              "data: leg %s: userspace received %" PRIu64 " datagrams of the flow = the peer's "
              "%" PRIu64 " STUN + %" PRIu64 " other",
              p[k]->name, seen, p[k]->sent_stun, p[k]->sent_other);
        user += p[k]->sent_stun + p[k]->sent_other;
    }
    check(p[0]->sent_stun && p[1]->sent_stun, "data: both peers' consent checks included");
    check(io1 - io0 == user,
          "data: the worker's socket received %" PRIu64 " datagrams, none of the %" PRIu64
          " application data datagrams",
          io1 - io0, p[0]->sent_app + p[1]->sent_app);
}

/* One message each way arrives, through the fast path. */
static void expect_app(struct dcgw_ctlclient *c, struct peer *p[2])
{
    struct relay_counts c0, c1;
    relay_counts(c, "s", &c0);
    uint64_t want[2] = {p[0]->expect_seq + 1, p[1]->expect_seq + 1};
    static uint8_t msg[64];
    for (int k = 0; k < 2; k++) {
        uint64_t seq = p[1 - k]->expect_seq;
        memcpy(msg, &seq, 8);
        for (size_t j = 8; j < sizeof(msg); j++)
            msg[j] = (uint8_t)(seq + j);
        dcgw_leg_send_data(p[k]->leg, msg, sizeof(msg));
    }
    uint64_t end = now_us() + 3000000;
    while ((p[0]->expect_seq < want[0] || p[1]->expect_seq < want[1]) && now_us() < end)
        pump(p, 10, NULL);
    usleep(50000);
    relay_counts(c, "s", &c1);
    check(p[0]->expect_seq == want[0] && p[1]->expect_seq == want[1] && c1.fast_on &&
              c1.fast[0] > c0.fast[0] && c1.fast[1] > c0.fast[1],
          "policy: data goes on through the fast path");
}

static void policy(struct dcgw_ctlclient *c, struct peer *p[2])
{
    uint64_t removed = stat_counter(c, "fast_path_removed");
    uint64_t added = stat_counter(c, "fast_path_added");
    update_policy(c, "s");
    check(stat_counter(c, "fast_path_removed") == removed + 1 &&
              stat_counter(c, "fast_path_added") == added + 1,
          "policy: a new policy took the entry down and the flow was offloaded again");
    expect_app(c, p);
}

static void rate(struct dcgw_ctlclient *c, struct peer *p[2], uint32_t r)
{
    update_relay(c, "s", r, 0, 100);
    check(wait_fast(c, "s", p, true), "rate: offloaded again with %u datagrams/s", r);
    struct relay_counts c0, c1;
    relay_counts(c, "s", &c0);
    const struct sockaddr *relay_a = dcgw_leg_peer(p[0]->leg);
    uint8_t buf[PEER_SLOT];
    uint64_t t0 = now_us(), sent = 0, got = 0, got_win = 0;
    const uint64_t dur = 2300000, w0 = 300000, w1 = 2300000;
    while (now_us() - t0 < dur) {
        uint64_t el = now_us() - t0;
        while (sent < (uint64_t)3 * r * el / 1000000) {
            sendto(p[0]->fd, p[0]->record, p[0]->record_n, 0, relay_a, dcgw_addr_len(relay_a));
            sent++;
        }
        struct pollfd pf = {.fd = p[1]->fd, .events = POLLIN};
        poll(&pf, 1, 1);
        while (recv(p[1]->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
            got++;
            el = now_us() - t0;
            got_win += el >= w0 && el < w1;
        }
    }
    got += drain_count(p[1]->fd, 50);
    relay_counts(c, "s", &c1);
    double rate_in = (double)got_win / ((double)(w1 - w0) / 1e6);
    check(fabs(rate_in - r) <= 0.1 * r,
          "rate: offered %.0f/s, B received %.0f/s (limit %u/s, +-10%%)",
          (double)sent / (dur / 1e6), rate_in, r);
    check(c1.fast[0] - c0.fast[0] == got && c1.fast_rate[0] - c0.fast_rate[0] == sent - got,
          "rate: fast path forwarded %" PRIu64 " (B got %" PRIu64 "), dropped %" PRIu64
          " over the limit",
          c1.fast[0] - c0.fast[0], got, c1.fast_rate[0] - c0.fast_rate[0]);
    update_relay(c, "s", 0, 0, 0);
}

static void closed(struct dcgw_ctlclient *c, struct peer *p[2])
{
    close_session(c, "s");
    usleep(100000);
    check(stat_counter(c, "fast_path_flows") == 0, "close: the entry is gone");
    const struct sockaddr *relay_a = dcgw_leg_peer(p[0]->leg);
    drain_count(p[1]->fd, 10);
    for (int i = 0; i < 20; i++)
        sendto(p[0]->fd, p[0]->record, p[0]->record_n, 0, relay_a, dcgw_addr_len(relay_a));
    check(drain_count(p[1]->fd, 300) == 0, "close: A's datagrams reach nobody");
}

static void consent(struct dcgw_ctlclient *c)
{
    struct peer a, b, *p[2] = {&a, &b};
    new_pair(c, "c", &a, &b, false);
    pump(p, 10000, handshaken);
    check(handshaken(p), "consent: handshake through the relay");
    capture_records(p, 300);
    check(wait_fast(c, "c", p, true), "consent: offloaded");
    uint64_t removed = stat_counter(c, "fast_path_removed");
    a.quiet = true; /* A's leg sends nothing more: no consent checks on its hop */
    bool gone = false;
    for (int i = 0; i < 150 && !gone; i++) {
        pump(p, 100, NULL);
        gone = stat_counter(c, "fast_path_removed") > removed;
    }
    check(gone, "consent: lost on A's hop, the entry removed");
    struct relay_counts c0, c1;
    relay_counts(c, "c", &c0);
    const struct sockaddr *relay_b = dcgw_leg_peer(b.leg);
    drain_count(a.fd, 10);
    for (int i = 0; i < 20; i++)
        sendto(b.fd, b.record, b.record_n, 0, relay_b, dcgw_addr_len(relay_b));
    check(drain_count(a.fd, 300) == 0, "consent: B's datagrams no longer reach A");
    relay_counts(c, "c", &c1);
    check(c1.dropped_blocked[1] - c0.dropped_blocked[1] == 20 && c1.fast[1] == c0.fast[1],
          "consent: dcgw dropped them (%" PRIu64 "), the fast path forwarded none",
          c1.dropped_blocked[1] - c0.dropped_blocked[1]);
    close_session(c, "c");
    peer_free(&a);
    peer_free(&b);
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    unsigned n = 300, r = 2000;
    static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
                                       {"messages", required_argument, NULL, 'n'},
                                       {"rate", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "s:n:r:", lo, NULL)) != -1) {
        if (ch == 's')
            sock = optarg;
        else if (ch == 'n')
            n = (unsigned)atoi(optarg);
        else if (ch == 'r')
            r = (unsigned)atoi(optarg);
        else
            return 2;
    }
    if (!sock || !n || r < 100) {
        fprintf(stderr, "usage: dcgw-relay-check -s CONTROL_SOCKET [--messages N] [--rate R]\n");
        return 2;
    }
    struct dcgw_ctlclient_opts co = {.socket = sock};
    struct dcgw_ctlclient *c;
    char err[256];
    if (dcgw_ctlclient_connect(&co, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "relay_check: %s\n", err);
        return 1;
    }
    check(stat_counter(c, "fast_path_max_flows") > 0, "the fast path is on in dcgwd");
    forged(c);
    struct peer a, b, *p[2] = {&a, &b};
    new_pair(c, "s", &a, &b, false);
    pump(p, 10000, handshaken);
    check(handshaken(p), "handshake through the relay, both certificates verified");
    check(wait_fast(c, "s", p, true), "offloaded once verified");
    capture_records(p, 1000);
    data(c, p, n);
    policy(c, p);
    rate(c, p, r);
    closed(c, p);
    peer_free(&a);
    peer_free(&b);
    consent(c);
    dcgw_ctlclient_free(c);
    printf("relay_check: all passed\n");
    return 0;
}
