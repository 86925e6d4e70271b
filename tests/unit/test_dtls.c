/* DTLS stage: two legs back to back over the in-memory lossy link (no sockets).
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

#include "dcgw/cert.h"
#include "dcgw/dtls.h"
#include "dcgw/error.h"
#include "helper_lossy.h"

static bool vclock_on;
static uint64_t vclock_base_us, vclock_ms;

static uint64_t real_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    (void)tz;
    uint64_t us = vclock_on ? vclock_base_us + vclock_ms * 1000u : real_us(CLOCK_REALTIME);
    tv->tv_sec = (time_t)(us / 1000000u);
    tv->tv_usec = (suseconds_t)(us % 1000000u);
    return 0;
}

/* ---- two legs back to back ------------------------------------------------------------- */

enum { RX_CAP = 256 * 1024, MAX_MSGS = 512 };

struct peer {
    struct world *w;
    struct dcgw_dtls *d;
    struct lossy_link *out;
    int connected, failed, closed, fail_err;
    struct dcgw_fingerprint matched;
    char reason[DCGW_DTLS_REASON_MAX];
    uint8_t *rx;
    size_t rx_len;
    size_t msg_len[MAX_MSGS];
    unsigned msgs;
    size_t max_dgram;
    uint8_t last[DCGW_DTLS_DATAGRAM_MAX]; /* last datagram sent */
    size_t last_len;
    bool echo;  /* send every message back from inside on_data */
    bool greet; /* send GREETING from inside on_connected */
};

static const uint8_t GREETING[] = "hello from on_connected";

struct world {
    uint64_t now;
    struct lossy_link ab, ba; /* a -> b, b -> a */
    struct peer a, b;         /* a is the client */
    struct dcgw_cert *ca, *cb, *cother;
    struct dcgw_dtls_ctx *xa, *xb;
};

static void cb_send(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    if (n > pe->max_dgram)
        pe->max_dgram = n;
    if (n <= sizeof(pe->last)) {
        memcpy(pe->last, p, n);
        pe->last_len = n;
    }
    lossy_send(pe->out, p, n);
}

static void cb_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    struct peer *pe = ud;
    ck_assert_int_eq(pe->msgs, 0); /* never data before the binding check */
    pe->connected++;
    pe->matched = *fp;
    if (pe->greet)
        ck_assert_int_eq(dcgw_dtls_send(pe->d, GREETING, sizeof(GREETING)), 0);
}

static void cb_data(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    ck_assert_int_eq(pe->connected, 1);
    ck_assert_uint_le(pe->rx_len + n, RX_CAP);
    ck_assert_uint_lt(pe->msgs, MAX_MSGS);
    memcpy(pe->rx + pe->rx_len, p, n);
    pe->rx_len += n;
    pe->msg_len[pe->msgs++] = n;
    if (pe->echo)
        ck_assert_int_eq(dcgw_dtls_send(pe->d, p, n), 0);
}

static void cb_failed(void *ud, int err, const char *reason)
{
    struct peer *pe = ud;
    pe->failed++;
    pe->fail_err = err;
    snprintf(pe->reason, sizeof(pe->reason), "%s", reason);
}

static void cb_closed(void *ud)
{
    ((struct peer *)ud)->closed++;
}

static void vclock_set(uint64_t ms)
{
    vclock_ms = ms;
}

static void world_init(struct world *w, unsigned loss, unsigned dup, unsigned reorder,
                       uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    vclock_on = true;
    vclock_base_us = real_us(CLOCK_REALTIME);
    w->now = 1000;
    vclock_set(w->now);
    lossy_init(&w->ab, loss, dup, reorder, seed);
    lossy_init(&w->ba, loss, dup, reorder, seed * 7 + 1);
    ck_assert_int_eq(dcgw_cert_new(NULL, &w->ca), 0);
    ck_assert_int_eq(dcgw_cert_new(NULL, &w->cb), 0);
    ck_assert_int_eq(dcgw_cert_new(NULL, &w->cother), 0);
    struct dcgw_dtls_ctx_settings sa = {.cert = w->ca}, sb = {.cert = w->cb};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sa, &w->xa), 0);
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sb, &w->xb), 0);
    w->a.w = w->b.w = w;
    w->a.out = &w->ab;
    w->b.out = &w->ba;
    w->a.rx = malloc(RX_CAP);
    w->b.rx = malloc(RX_CAP);
}

static struct dcgw_fingerprint fp_of(const struct dcgw_cert *c, enum dcgw_hash h)
{
    struct dcgw_fingerprint fp;
    ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &fp), 0);
    return fp;
}

static void peer_new(struct peer *pe, struct dcgw_dtls_ctx *x, struct dcgw_dtls_settings s)
{
    struct dcgw_dtls_callbacks cbs = {.ud = pe,
                                      .send = cb_send,
                                      .on_connected = cb_connected,
                                      .on_data = cb_data,
                                      .on_failed = cb_failed,
                                      .on_closed = cb_closed};
    ck_assert_int_eq(dcgw_dtls_new(x, &s, &cbs, &pe->d), 0);
}

/* Legs with the given settings; the fingerprints default to the right SHA-256 ones. */
static void world_legs(struct world *w, struct dcgw_dtls_settings sa, struct dcgw_dtls_settings sb)
{
    static struct dcgw_fingerprint fa, fb;
    fa = fp_of(w->cb, DCGW_HASH_SHA256); /* what a expects of b */
    fb = fp_of(w->ca, DCGW_HASH_SHA256);
    sa.client = true;
    sb.client = false;
    if (!sa.remote_fps) {
        sa.remote_fps = &fa;
        sa.n_remote_fps = 1;
    }
    if (!sb.remote_fps) {
        sb.remote_fps = &fb;
        sb.n_remote_fps = 1;
    }
    peer_new(&w->a, w->xa, sa);
    peer_new(&w->b, w->xb, sb);
    ck_assert_int_eq(dcgw_dtls_start(w->b.d, w->now), 0);
    ck_assert_int_eq(dcgw_dtls_start(w->a.d, w->now), 0);
}

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    dcgw_dtls_recv(pe->d, p, n, pe->w->now);
}

static bool busy(const struct peer *pe)
{
    enum dcgw_dtls_state s = dcgw_dtls_state(pe->d);
    return s == DCGW_DTLS_NEW || s == DCGW_DTLS_HANDSHAKING;
}

/* Moves datagrams (1 ms per hop) and fires timers until both legs settle or `until`. */
static void world_run(struct world *w, uint64_t until)
{
    while (w->now < until) {
        size_t moved = lossy_pump(&w->ab, deliver, &w->b) + lossy_pump(&w->ba, deliver, &w->a);
        if (moved) {
            vclock_set(++w->now);
            continue;
        }
        if (!busy(&w->a) && !busy(&w->b))
            break;
        uint64_t ta = dcgw_dtls_next_timeout(w->a.d), tb = dcgw_dtls_next_timeout(w->b.d);
        uint64_t t = ta < tb ? ta : tb;
        if (t == UINT64_MAX)
            break;
        if (t > w->now)
            w->now = t;
        vclock_set(w->now);
        dcgw_dtls_handle_timeout(w->a.d, w->now);
        dcgw_dtls_handle_timeout(w->b.d, w->now);
    }
}

static void world_free(struct world *w)
{
    dcgw_dtls_free(w->a.d);
    dcgw_dtls_free(w->b.d);
    dcgw_dtls_ctx_free(w->xa);
    dcgw_dtls_ctx_free(w->xb);
    dcgw_cert_unref(w->ca);
    dcgw_cert_unref(w->cb);
    dcgw_cert_unref(w->cother);
    lossy_dispose(&w->ab);
    lossy_dispose(&w->ba);
    free(w->a.rx);
    free(w->b.rx);
    /* every call leaves the OpenSSL error queue empty */
    ck_assert_uint_eq(ERR_peek_error(), 0);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

/* ---- handshake ------------------------------------------------------------------------- */

START_TEST(handshake_and_data_both_ways)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_ptr_null(dcgw_dtls_peer_cert(w.a.d));
    world_run(&w, 10000);

    ck_assert_int_eq(dcgw_dtls_state(w.a.d), DCGW_DTLS_CONNECTED);
    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CONNECTED);
    ck_assert_int_eq(w.a.connected, 1);
    ck_assert_int_eq(w.b.connected, 1);
    struct dcgw_fingerprint want_b = fp_of(w.cb, DCGW_HASH_SHA256);
    struct dcgw_fingerprint want_a = fp_of(w.ca, DCGW_HASH_SHA256);
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
    uint8_t *expect = malloc(RX_CAP);
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        fill(buf, sizes[i], i);
        memcpy(expect + total, buf, sizes[i]);
        total += sizes[i];
        ck_assert_int_eq(dcgw_dtls_send(w.a.d, buf, sizes[i]), 0);
        fill(buf, sizes[i], i + 100);
        ck_assert_int_eq(dcgw_dtls_send(w.b.d, buf, sizes[i]), 0);
    }
    world_run(&w, w.now + 100);
    ck_assert_uint_eq(w.b.msgs, 7);
    ck_assert_uint_eq(w.b.rx_len, total);
    ck_assert_mem_eq(w.b.rx, expect, total);
    ck_assert_uint_eq(w.a.rx_len, total);
    size_t off = 0;
    for (unsigned i = 0; i < 7; i++) {
        ck_assert_uint_eq(w.a.msg_len[i], sizes[i]);
        fill(buf, sizes[i], i + 100);
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
    world_free(&w);
}
END_TEST

/* A flight is packed: several records per datagram, never above the MTU; a small MTU
 * fragments the handshake messages and it still completes. */
START_TEST(records_packed_into_mtu)
{
    static const unsigned mtus[] = {DCGW_DTLS_MTU_MIN, 300, 576, 1200};
    for (unsigned i = 0; i < sizeof(mtus) / sizeof(mtus[0]); i++) {
        struct world w;
        world_init(&w, 0, 0, 0, 1);
        struct dcgw_dtls_settings s = {.mtu = mtus[i]};
        world_legs(&w, s, s);
        world_run(&w, 10000);
        ck_assert_int_eq(w.a.connected + w.b.connected, 2);
        ck_assert_uint_le(w.a.max_dgram, mtus[i]);
        ck_assert_uint_le(w.b.max_dgram, mtus[i]);
        const struct dcgw_dtls_stats *sb = dcgw_dtls_stats(w.b.d);
        /* the server's first flight is 5 messages (RFC 6347 §4.2.4): packed, it takes
         * fewer datagrams than records at the default MTU */
        if (mtus[i] == 1200)
            ck_assert_uint_lt(sb->datagrams_out, sb->records_out);
        ck_assert_uint_eq(sb->records_out, dcgw_dtls_stats(w.a.d)->records_in);
        world_free(&w);
    }
}
END_TEST

static void lossy_case(unsigned loss, unsigned dup, unsigned reorder, uint64_t seed,
                       uint64_t *retransmits)
{
    struct world w;
    world_init(&w, loss, dup, reorder, seed);
    struct dcgw_dtls_settings s = {.initial_timeout_ms = 50};
    w.b.greet = true;
    world_legs(&w, s, s);
    world_run(&w, 30000);
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
        ck_assert_mem_eq(w.a.rx, GREETING, sizeof(GREETING));

    /* Data over the same link: lost records stay lost (DTLS is unreliable), but whatever
     * arrives is byte-exact and never twice (replay protection, RFC 6347 §4.1.2.6). */
    uint8_t buf[600];
    unsigned seen[64] = {0};
    for (unsigned i = 0; i < 64; i++) {
        fill(buf, sizeof(buf), i);
        buf[0] = (uint8_t)i;
        ck_assert_int_eq(dcgw_dtls_send(w.a.d, buf, sizeof(buf)), 0);
    }
    world_run(&w, w.now + 100);
    for (unsigned m = 0; m < w.b.msgs; m++) {
        ck_assert_uint_eq(w.b.msg_len[m], sizeof(buf));
        const uint8_t *got = w.b.rx + m * sizeof(buf);
        unsigned id = got[0];
        ck_assert_uint_lt(id, 64);
        ck_assert_uint_eq(seen[id]++, 0);
        fill(buf, sizeof(buf), id);
        buf[0] = (uint8_t)id;
        ck_assert_mem_eq(got, buf, sizeof(buf));
    }
    if (loss == 0)
        ck_assert_uint_eq(w.b.msgs, 64);
    ck_assert_uint_gt(w.b.msgs, 0);
    world_free(&w);
}

START_TEST(handshake_under_loss_dup_reorder)
{
    uint64_t t0 = real_us(CLOCK_MONOTONIC), retransmits = 0;
    for (uint64_t seed = 1; seed <= 40; seed++)
        lossy_case(20, 10, 20, seed, &retransmits);
    /* duplication and reordering alone */
    for (uint64_t seed = 100; seed < 110; seed++)
        lossy_case(0, 30, 50, seed, &retransmits);
    /* the timer path ran: flights were lost and resent */
    ck_assert_uint_gt(retransmits, 20);
    /* the virtual clock keeps it fast */
    ck_assert_uint_lt(real_us(CLOCK_MONOTONIC) - t0, 15u * 1000000u);
}
END_TEST

/* Real clock, real sleeps: the translation of OpenSSL's wall-clock timer into now_ms. */
START_TEST(handshake_real_clock_with_loss)
{
    struct world w;
    world_init(&w, 30, 0, 0, 5);
    vclock_on = false;
    uint64_t t0 = real_us(CLOCK_MONOTONIC);
    w.now = t0 / 1000;
    struct dcgw_dtls_settings s = {.initial_timeout_ms = 50};
    world_legs(&w, s, s);
    while (busy(&w.a) || busy(&w.b)) {
        ck_assert_uint_lt(real_us(CLOCK_MONOTONIC) - t0, 10u * 1000000u);
        w.now = real_us(CLOCK_MONOTONIC) / 1000;
        if (lossy_pump(&w.ab, deliver, &w.b) + lossy_pump(&w.ba, deliver, &w.a))
            continue;
        uint64_t ta = dcgw_dtls_next_timeout(w.a.d), tb = dcgw_dtls_next_timeout(w.b.d);
        uint64_t t = ta < tb ? ta : tb;
        ck_assert_uint_ne(t, UINT64_MAX);
        if (t > w.now) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(t - w.now) * 1000000L};
            nanosleep(&ts, NULL);
        }
        w.now = real_us(CLOCK_MONOTONIC) / 1000;
        dcgw_dtls_handle_timeout(w.a.d, w.now);
        dcgw_dtls_handle_timeout(w.b.d, w.now);
    }
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert_uint_gt(dcgw_dtls_stats(w.a.d)->retransmits + dcgw_dtls_stats(w.b.d)->retransmits, 0);
    world_free(&w);
}
END_TEST

/* Nobody answers: retransmissions at 50, 100, 200 ... ms (capped), then the deadline. */
START_TEST(retransmit_backoff_and_deadline)
{
    struct world w;
    world_init(&w, 100, 0, 0, 1);
    struct dcgw_dtls_settings s = {
        .initial_timeout_ms = 50, .max_timeout_ms = 400, .handshake_timeout_ms = 3000};
    world_legs(&w, s, s);
    uint64_t start = w.now, last = w.now, prev_gap = 0;
    unsigned sends = 1;
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->datagrams_out, 1); /* the ClientHello */
    while (dcgw_dtls_state(w.a.d) == DCGW_DTLS_HANDSHAKING) {
        uint64_t t = dcgw_dtls_next_timeout(w.a.d);
        ck_assert_uint_ne(t, UINT64_MAX);
        ck_assert_uint_gt(t, w.now);
        /* an early call (both clocks moved together) does nothing and keeps the deadline;
         * OpenSSL treats the last 15 ms as expired, so stay further away than that */
        vclock_set(t - 20);
        dcgw_dtls_handle_timeout(w.a.d, t - 20);
        ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->datagrams_out, sends);
        ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), t);
        w.now = t;
        vclock_set(t);
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
    world_free(&w);
}
END_TEST

/* ---- fingerprint binding -------------------------------------------------------------- */

static bool has_text(const char *hay, const struct dcgw_fingerprint *fp)
{
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
    dcgw_fingerprint_format(fp, text, sizeof(text));
    return strstr(hay, text) != NULL;
}

START_TEST(server_rejects_wrong_client_fingerprint)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint other = fp_of(w.cother, DCGW_HASH_SHA256);
    world_legs(&w, (struct dcgw_dtls_settings){0},
               (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1});
    w.a.echo = true;
    world_run(&w, 10000);
    ck_assert_int_eq(w.b.failed, 1);
    ck_assert_int_eq(w.b.fail_err, DCGW_EFINGERPRINT);
    struct dcgw_fingerprint actual = fp_of(w.ca, DCGW_HASH_SHA256);
    ck_assert_msg(has_text(w.b.reason, &actual), "reason: %s", w.b.reason);
    ck_assert_str_eq(dcgw_dtls_reason(w.b.d), w.b.reason);
    /* the client got the fatal alert bad_certificate (42) and never connected */
    ck_assert_int_eq(w.a.failed, 1);
    ck_assert_int_eq(w.a.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected, 0);
    ck_assert_int_eq(w.a.msgs + w.b.msgs, 0);
    ck_assert_ptr_null(dcgw_dtls_peer_cert(w.b.d));
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, w.a.last, w.a.last_len, w.now), DCGW_ECLOSED);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->handshake_failures, 1);
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.b.d), UINT64_MAX);
    world_free(&w);
}
END_TEST

START_TEST(client_rejects_wrong_server_fingerprint)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint other = fp_of(w.cother, DCGW_HASH_SHA256);
    /* both sides hold a wrong fingerprint: the client checks first */
    world_legs(&w, (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1},
               (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1});
    world_run(&w, 10000);
    ck_assert_int_eq(w.a.fail_err, DCGW_EFINGERPRINT);
    struct dcgw_fingerprint actual = fp_of(w.cb, DCGW_HASH_SHA256);
    ck_assert_msg(has_text(w.a.reason, &actual), "reason: %s", w.a.reason);
    ck_assert_int_eq(w.b.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected + (int)w.a.msgs + (int)w.b.msgs, 0);
    world_free(&w);
}
END_TEST

START_TEST(weak_hash_floor)
{
    /* only a SHA-1 fingerprint (the right one) with the default floor SHA-256 */
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint sha1 = fp_of(w.ca, DCGW_HASH_SHA1);
    world_legs(&w, (struct dcgw_dtls_settings){0},
               (struct dcgw_dtls_settings){.remote_fps = &sha1, .n_remote_fps = 1});
    world_run(&w, 10000);
    ck_assert_int_eq(w.b.fail_err, DCGW_EWEAKHASH);
    ck_assert_int_eq(w.a.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected, 0);
    world_free(&w);

    /* the same fingerprint with the floor lowered to SHA-1 binds */
    world_init(&w, 0, 0, 0, 1);
    sha1 = fp_of(w.ca, DCGW_HASH_SHA1);
    world_legs(&w, (struct dcgw_dtls_settings){0},
               (struct dcgw_dtls_settings){
                   .remote_fps = &sha1, .n_remote_fps = 1, .min_hash = DCGW_HASH_SHA1});
    world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert_int_eq(w.b.matched.alg, DCGW_HASH_SHA1);
    world_free(&w);

    /* a matching weak fingerprint does not rescue a mismatching strong one */
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint mix[2] = {fp_of(w.ca, DCGW_HASH_SHA1),
                                      fp_of(w.cother, DCGW_HASH_SHA384)};
    world_legs(&w, (struct dcgw_dtls_settings){0},
               (struct dcgw_dtls_settings){.remote_fps = mix, .n_remote_fps = 2});
    world_run(&w, 10000);
    ck_assert_int_eq(w.b.fail_err, DCGW_EFINGERPRINT);
    /* the reason names the peer's certificate with the hash in use */
    struct dcgw_fingerprint actual = fp_of(w.ca, DCGW_HASH_SHA384);
    ck_assert_msg(has_text(w.b.reason, &actual), "reason: %s", w.b.reason);
    world_free(&w);
}
END_TEST

START_TEST(second_fingerprint_matches)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint list[3] = {fp_of(w.cother, DCGW_HASH_SHA256),
                                       fp_of(w.ca, DCGW_HASH_SHA512),
                                       fp_of(w.cother, DCGW_HASH_SHA384)};
    world_legs(&w, (struct dcgw_dtls_settings){0},
               (struct dcgw_dtls_settings){.remote_fps = list, .n_remote_fps = 3});
    world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert(dcgw_fingerprint_equal(&w.b.matched, &list[1]));
    world_free(&w);
}
END_TEST

/* ---- peers dcgw would never be: a hand-driven OpenSSL client ------------------------- */

static void raw_to_server(struct world *w, BIO *wbio)
{
    uint8_t *p;
    long n = BIO_get_mem_data(wbio, (char **)&p);
    if (n > 0)
        dcgw_dtls_recv(w->b.d, p, (size_t)n, w->now);
    (void)BIO_reset(wbio);
}

static void raw_deliver(void *ud, const uint8_t *p, size_t n)
{
    SSL *ssl = ud;
    BIO_write(SSL_get_rbio(ssl), p, (int)n);
    SSL_do_handshake(ssl); /* one datagram at a time: the mem BIO would merge them */
}

/* Runs a raw client (configured by `how`) against a server leg; returns the server's error. */
static int raw_client_vs_server(int how, char *reason, size_t cap)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint fp = fp_of(w.ca, DCGW_HASH_SHA256);
    peer_new(&w.b, w.xb, (struct dcgw_dtls_settings){.remote_fps = &fp, .n_remote_fps = 1});
    ck_assert_int_eq(dcgw_dtls_start(w.b.d, w.now), 0);

    SSL_CTX *cx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_verify(cx, SSL_VERIFY_NONE, NULL);
    if (how == 0) { /* no certificate at all */
        SSL_CTX_set_cipher_list(cx, "ECDHE-ECDSA-AES128-GCM-SHA256");
    } else if (how == 1) { /* a certificate, but only CBC suites */
        SSL_CTX_use_certificate(cx, dcgw_cert_x509(w.ca));
        SSL_CTX_use_PrivateKey(cx, dcgw_cert_key(w.ca));
        SSL_CTX_set_cipher_list(cx, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
    } else { /* DTLS 1.0 only */
        SSL_CTX_use_certificate(cx, dcgw_cert_x509(w.ca));
        SSL_CTX_use_PrivateKey(cx, dcgw_cert_key(w.ca));
        SSL_CTX_set_security_level(cx, 0);
        SSL_CTX_set_min_proto_version(cx, DTLS1_VERSION);
        SSL_CTX_set_max_proto_version(cx, DTLS1_VERSION);
    }
    SSL *ssl = SSL_new(cx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, 1200);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    for (int round = 0; round < 10 && !w.b.failed && !w.b.connected; round++) {
        raw_to_server(&w, wbio);
        lossy_pump(&w.ba, raw_deliver, ssl);
    }
    raw_to_server(&w, wbio); /* e.g. the client's alert */
    ck_assert_int_eq(w.b.connected, 0);
    ck_assert_int_eq(w.b.msgs, 0);
    ck_assert_int_eq(w.b.failed, 1);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->handshake_failures, 1);
    snprintf(reason, cap, "%s", w.b.reason);
    int err = w.b.fail_err;
    SSL_free(ssl);
    SSL_CTX_free(cx);
    ERR_clear_error(); /* the raw client's own errors */
    world_free(&w);
    return err;
}

START_TEST(refuses_peers_outside_policy)
{
    char reason[DCGW_DTLS_REASON_MAX];
    /* RFC 5763 §5: the client must present a certificate */
    ck_assert_int_eq(raw_client_vs_server(0, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "peer did not return a certificate"), "%s", reason);
    /* AEAD only: a client offering CBC suites finds none in common */
    ck_assert_int_eq(raw_client_vs_server(1, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "no shared cipher"), "%s", reason);
    /* DTLS 1.2 only */
    ck_assert_int_eq(raw_client_vs_server(2, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "unsupported protocol"), "%s", reason);
}
END_TEST

/* ---- bad input, close, policy, API ---------------------------------------------------- */

START_TEST(garbage_does_not_break_connection)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    /* garbage before the handshake is dropped too */
    uint8_t junk[300];
    fill(junk, sizeof(junk), 9);
    junk[0] = 22;
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, junk, sizeof(junk), w.now), 0);
    world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    uint64_t bad0 = dcgw_dtls_stats(w.b.d)->bad_records;
    ck_assert_uint_eq(bad0, 1);

    /* a valid record, captured */
    uint8_t msg[200];
    fill(msg, sizeof(msg), 3);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, sizeof(msg)), 0);
    uint8_t rec[512];
    size_t rec_len = w.a.last_len;
    memcpy(rec, w.a.last, rec_len);
    world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.b.msgs, 1);

    /* 1. random bytes; 2. truncated record; 3. well-framed record, forged ciphertext;
     * 4. replay of the captured record; 5. empty datagram; 6. oversized datagram */
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, junk, sizeof(junk), w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, rec_len - 5, w.now), 0);
    uint8_t forged[512];
    memcpy(forged, rec, rec_len);
    forged[10] ^= 0x40; /* another sequence number */
    forged[rec_len - 1] ^= 1;
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, forged, rec_len, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, rec_len, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, 0, w.now), 0);
    uint8_t *big = calloc(1, DCGW_DTLS_DATAGRAM_MAX + 1);
    memcpy(big, rec, rec_len);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, big, DCGW_DTLS_DATAGRAM_MAX + 1, w.now), 0);
    free(big);
    /* a valid record followed by junk: the record is delivered, the junk counted */
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, 50), 0);
    uint8_t mixed[512];
    size_t mlen = w.a.last_len;
    memcpy(mixed, w.a.last, mlen);
    memcpy(mixed + mlen, junk, 40);
    lossy_dispose(&w.ab); /* deliver our copy only */
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, mixed, mlen + 40, w.now), 0);

    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CONNECTED);
    ck_assert_uint_eq(w.b.msgs, 2); /* the original and the mixed one, nothing else */
    ck_assert_uint_eq(w.b.msg_len[1], 50);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->bad_records - bad0, 7);
    ck_assert_int_eq(w.b.failed, 0);

    /* and it still works both ways */
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, msg, sizeof(msg)), 0);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, sizeof(msg)), 0);
    world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.a.msgs, 1);
    ck_assert_uint_eq(w.b.msgs, 3);
    ck_assert_mem_eq(w.a.rx, msg, sizeof(msg));
    world_free(&w);
}
END_TEST

START_TEST(close_notify)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    w.b.echo = true;
    world_run(&w, 10000);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, (const uint8_t *)"ping", 4), 0);
    world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.a.msgs, 1); /* echoed from inside on_data */
    ck_assert_mem_eq(w.a.rx, "ping", 4);

    dcgw_dtls_close(w.a.d);
    ck_assert_int_eq(dcgw_dtls_state(w.a.d), DCGW_DTLS_CLOSED);
    world_run(&w, w.now + 10);
    ck_assert_int_eq(w.b.closed, 1);
    ck_assert_int_eq(w.a.closed, 0); /* not raised for our own close */
    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CLOSED);
    ck_assert_int_eq(w.a.failed + w.b.failed, 0);
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_recv(w.a.d, w.b.last, w.b.last_len, w.now), DCGW_ECLOSED);
    dcgw_dtls_close(w.a.d); /* idempotent */
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), UINT64_MAX);
    world_free(&w);
}
END_TEST

START_TEST(cipher_and_group_policy)
{
    struct dcgw_cert *c = NULL;
    struct dcgw_dtls_ctx *x = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c), 0);
    struct dcgw_dtls_ctx_settings s = {.cert = c, .ciphers = "ECDHE-ECDSA-AES128-SHA"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG); /* CBC: not AEAD */
    s.ciphers = "NO-SUCH-CIPHER";
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG);
    s = (struct dcgw_dtls_ctx_settings){.cert = c, .groups = "no-such-group"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG);
    s = (struct dcgw_dtls_ctx_settings){0};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_EINVAL);
    ck_assert_ptr_null(x);
    dcgw_cert_unref(c);

    /* a client that only offers ChaCha20 and P-256 gets them */
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    dcgw_dtls_ctx_free(w.xa);
    struct dcgw_dtls_ctx_settings sa = {
        .cert = w.ca, .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305", .groups = "P-256"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sa, &w.xa), 0);
    world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    world_run(&w, 10000);
    struct dcgw_dtls_info info;
    ck_assert_int_eq(dcgw_dtls_get_info(w.b.d, &info), 0);
    ck_assert_str_eq(info.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
    ck_assert_str_eq(info.group, "prime256v1");
    ck_assert(info.aead);
    world_free(&w);
}
END_TEST

/* A server with an RSA certificate: the ECDHE-RSA AEAD suites. */
START_TEST(rsa_server_certificate)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    char dir[] = "/tmp/dcgw-dtls-XXXXXX", cp[64], kp[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cp, sizeof(cp), "%s/c.pem", dir);
    snprintf(kp, sizeof(kp), "%s/k.pem", dir);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, rsa);
    ck_assert_int_gt(X509_sign(x, rsa, EVP_sha256()), 0);
    FILE *f = fopen(cp, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(kp, "w");
    PEM_write_PrivateKey(f, rsa, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(rsa);
    dcgw_dtls_ctx_free(w.xb);
    dcgw_cert_unref(w.cb);
    ck_assert_int_eq(dcgw_cert_load_pem(cp, kp, &w.cb), 0);
    unlink(cp);
    unlink(kp);
    rmdir(dir);
    struct dcgw_dtls_ctx_settings sb = {.cert = w.cb};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sb, &w.xb), 0);
    world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    world_run(&w, 10000);
    struct dcgw_dtls_info info;
    ck_assert_int_eq(dcgw_dtls_get_info(w.a.d, &info), 0);
    ck_assert_str_eq(info.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
    world_free(&w);
}
END_TEST

START_TEST(api_misuse)
{
    struct world w;
    world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint fp = fp_of(w.cb, DCGW_HASH_SHA256), bad = fp;
    bad.len = 20;
    struct dcgw_dtls_callbacks cbs = {.ud = &w.a, .send = cb_send};
    struct dcgw_dtls *d = NULL;
    struct dcgw_dtls_settings s = {.client = true, .remote_fps = &fp, .n_remote_fps = 1};
    struct dcgw_fingerprint many[DCGW_DTLS_MAX_FINGERPRINTS + 1];
    for (unsigned i = 0; i <= DCGW_DTLS_MAX_FINGERPRINTS; i++)
        many[i] = fp;

    struct dcgw_dtls_settings t = s;
    t.n_remote_fps = 0;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.remote_fps = &bad;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.remote_fps = many;
    t.n_remote_fps = DCGW_DTLS_MAX_FINGERPRINTS + 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.mtu = DCGW_DTLS_MTU_MIN - 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    t = s;
    t.max_plaintext = DCGW_DTLS_PLAINTEXT_MAX + 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    t = s;
    t.initial_timeout_ms = 5000;
    t.max_timeout_ms = 1000;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    struct dcgw_dtls_callbacks nosend = {0};
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &s, &nosend, &d), DCGW_EINVAL);
    ck_assert_ptr_null(d);

    /* the leg keeps the context alive after the owner frees it */
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &s, &cbs, &d), 0);
    dcgw_dtls_ctx_free(w.xa);
    w.xa = NULL;
    ck_assert_int_eq(dcgw_dtls_state(d), DCGW_DTLS_NEW);
    ck_assert_int_eq(dcgw_dtls_recv(d, w.a.last, 20, w.now), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_send(d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_get_info(d, &(struct dcgw_dtls_info){0}), DCGW_ESTATE);
    ck_assert_uint_eq(dcgw_dtls_data_mtu(d), 0);
    ck_assert_uint_eq(dcgw_dtls_next_timeout(d), UINT64_MAX);
    ck_assert_str_eq(dcgw_dtls_reason(d), "");
    ck_assert_int_eq(dcgw_dtls_start(d, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_start(d, w.now), DCGW_ESTATE);
    ck_assert_uint_eq(dcgw_dtls_stats(d)->datagrams_out, 1);
    ck_assert_str_eq(dcgw_dtls_state_name(dcgw_dtls_state(d)), "handshaking");
    dcgw_dtls_free(d);
    dcgw_dtls_free(NULL);
    dcgw_dtls_ctx_free(NULL);
    world_free(&w);
}
END_TEST

/* ---- record framing ------------------------------------------------------------------- */

static size_t rec(uint8_t *p, uint8_t type, uint16_t version, size_t len)
{
    memset(p, 0xab, 13 + len);
    p[0] = type;
    p[1] = (uint8_t)(version >> 8);
    p[2] = (uint8_t)version;
    p[11] = (uint8_t)(len >> 8);
    p[12] = (uint8_t)len;
    return 13 + len;
}

START_TEST(record_scan)
{
    static uint8_t b[70000];
    struct dcgw_dtls_scan sc;
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, 0, &sc), 0);
    ck_assert(!sc.trailing_garbage);
    ck_assert_uint_eq(dcgw_dtls_record_scan(NULL, 5, &sc), 0);

    size_t n = rec(b, 22, 0xfefd, 40);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(sc.records, 1);
    ck_assert_uint_eq(sc.app_records, 0);
    ck_assert(!sc.trailing_garbage);
    /* two records, the second application data, DTLS 1.0 version in the first */
    n = rec(b, 22, 0xfeff, 10);
    n += rec(b + n, 23, 0xfefd, 0);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(sc.records, 2);
    ck_assert_uint_eq(sc.app_records, 1);
    /* header only, truncated header, truncated body */
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, 12, &sc), 0);
    ck_assert(sc.trailing_garbage);
    n = rec(b, 23, 0xfefd, 100);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n - 1, &sc), 0);
    /* a good record then a truncated one: the prefix */
    size_t first = rec(b, 21, 0xfefd, 2);
    n = first + rec(b + first, 23, 0xfefd, 30);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n - 3, &sc), first);
    ck_assert_uint_eq(sc.records, 1);
    ck_assert(sc.trailing_garbage);
    /* unknown types (heartbeat 24, tls12_cid 25, 19), TLS and DTLS 1.3-style versions */
    static const uint8_t bad_types[] = {0, 19, 24, 25, 63, 255};
    for (unsigned i = 0; i < sizeof(bad_types); i++) {
        n = rec(b, bad_types[i], 0xfefd, 5);
        ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    }
    static const uint16_t bad_versions[] = {0x0303, 0xfefc, 0xfe00, 0x0000, 0xffff};
    for (unsigned i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        n = rec(b, 22, bad_versions[i], 5);
        ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    }
    /* oversized: a length above 2^14 + 2048 */
    n = rec(b, 23, 0xfefd, DCGW_DTLS_RECORD_MAX + 1);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    n = rec(b, 23, 0xfefd, DCGW_DTLS_RECORD_MAX);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, NULL), n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls");
    TCase *hs = tcase_create("handshake");
    tcase_set_timeout(hs, 30);
    tcase_add_test(hs, handshake_and_data_both_ways);
    tcase_add_test(hs, records_packed_into_mtu);
    tcase_add_test(hs, handshake_under_loss_dup_reorder);
    tcase_add_test(hs, handshake_real_clock_with_loss);
    tcase_add_test(hs, retransmit_backoff_and_deadline);
    suite_add_tcase(s, hs);
    TCase *fp = tcase_create("fingerprint");
    tcase_add_test(fp, server_rejects_wrong_client_fingerprint);
    tcase_add_test(fp, client_rejects_wrong_server_fingerprint);
    tcase_add_test(fp, weak_hash_floor);
    tcase_add_test(fp, second_fingerprint_matches);
    suite_add_tcase(s, fp);
    TCase *io = tcase_create("records");
    tcase_set_timeout(io, 20);
    tcase_add_test(io, garbage_does_not_break_connection);
    tcase_add_test(io, close_notify);
    tcase_add_test(io, cipher_and_group_policy);
    tcase_add_test(io, rsa_server_certificate);
    tcase_add_test(io, refuses_peers_outside_policy);
    tcase_add_test(io, api_misuse);
    tcase_add_test(io, record_scan);
    suite_add_tcase(s, io);

    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
