/* Two DTLS legs of one test back to back over the in-memory lossy link (test_dtls*.c),
 * and the virtual clock the test programs give OpenSSL through gettimeofday(). */
#include "helper_dtls_pair.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

const uint8_t dp_greeting[sizeof(DP_GREETING)] = DP_GREETING;

bool dp_vclock_on;
static uint64_t vclock_base_us, vclock_ms;

uint64_t dp_real_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int dp_gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    uint64_t us = dp_vclock_on ? vclock_base_us + vclock_ms * 1000u : dp_real_us(CLOCK_REALTIME);
    tv->tv_sec = (time_t)(us / 1000000u);
    tv->tv_usec = (suseconds_t)(us % 1000000u);
    return 0;
}

void dp_cb_send(void *ud, const uint8_t *p, size_t n)
{
    struct dp_peer *pe = ud;
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
    struct dp_peer *pe = ud;
    ck_assert_int_eq(pe->msgs, 0); /* never data before the binding check */
    pe->connected++;
    pe->matched = *fp;
    if (pe->greet)
        ck_assert_int_eq(dcgw_dtls_send(pe->d, dp_greeting, sizeof(dp_greeting)), 0);
}

static void cb_data(void *ud, const uint8_t *p, size_t n)
{
    struct dp_peer *pe = ud;
    ck_assert_int_eq(pe->connected, 1);
    ck_assert_uint_le(pe->rx_len + n, DP_RX_CAP);
    ck_assert_uint_lt(pe->msgs, DP_MAX_MSGS);
    memcpy(pe->rx + pe->rx_len, p, n);
    pe->rx_len += n;
    pe->msg_len[pe->msgs++] = n;
    if (pe->echo)
        ck_assert_int_eq(dcgw_dtls_send(pe->d, p, n), 0);
}

static void cb_failed(void *ud, int err, const char *reason)
{
    struct dp_peer *pe = ud;
    pe->failed++;
    pe->fail_err = err;
    snprintf(pe->reason, sizeof(pe->reason), "%s", reason);
}

static void cb_closed(void *ud)
{
    ((struct dp_peer *)ud)->closed++;
}

void dp_vclock_set(uint64_t ms)
{
    vclock_ms = ms;
}

void dp_world_init(struct dp_world *w, unsigned loss, unsigned dup, unsigned reorder, uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    dp_vclock_on = true;
    vclock_base_us = dp_real_us(CLOCK_REALTIME);
    w->now = 1000;
    dp_vclock_set(w->now);
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
    w->a.rx = malloc(DP_RX_CAP);
    w->b.rx = malloc(DP_RX_CAP);
}

struct dcgw_fingerprint dp_fp_of(const struct dcgw_cert *c, enum dcgw_hash h)
{
    struct dcgw_fingerprint fp;
    ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &fp), 0);
    return fp;
}

void dp_peer_new(struct dp_peer *pe, struct dcgw_dtls_ctx *x, struct dcgw_dtls_settings s)
{
    struct dcgw_dtls_callbacks cbs = {.ud = pe,
                                      .send = dp_cb_send,
                                      .on_connected = cb_connected,
                                      .on_data = cb_data,
                                      .on_failed = cb_failed,
                                      .on_closed = cb_closed};
    ck_assert_int_eq(dcgw_dtls_new(x, &s, &cbs, &pe->d), 0);
}

/* Legs with the given settings; the fingerprints default to the right SHA-256 ones. */
void dp_world_legs(struct dp_world *w, struct dcgw_dtls_settings sa, struct dcgw_dtls_settings sb)
{
    static struct dcgw_fingerprint fa, fb;
    fa = dp_fp_of(w->cb, DCGW_HASH_SHA256); /* what a expects of b */
    fb = dp_fp_of(w->ca, DCGW_HASH_SHA256);
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
    dp_peer_new(&w->a, w->xa, sa);
    dp_peer_new(&w->b, w->xb, sb);
    ck_assert_int_eq(dcgw_dtls_start(w->b.d, w->now), 0);
    ck_assert_int_eq(dcgw_dtls_start(w->a.d, w->now), 0);
}

void dp_deliver(void *ud, const uint8_t *p, size_t n)
{
    struct dp_peer *pe = ud;
    dcgw_dtls_recv(pe->d, p, n, pe->w->now);
}

bool dp_busy(const struct dp_peer *pe)
{
    enum dcgw_dtls_state s = dcgw_dtls_state(pe->d);
    return s == DCGW_DTLS_NEW || s == DCGW_DTLS_HANDSHAKING;
}

/* Moves datagrams (1 ms per hop) and fires timers until both legs settle or `until`. */
void dp_world_run(struct dp_world *w, uint64_t until)
{
    while (w->now < until) {
        size_t moved =
            lossy_pump(&w->ab, dp_deliver, &w->b) + lossy_pump(&w->ba, dp_deliver, &w->a);
        if (moved) {
            dp_vclock_set(++w->now);
            continue;
        }
        if (!dp_busy(&w->a) && !dp_busy(&w->b))
            break;
        uint64_t ta = dcgw_dtls_next_timeout(w->a.d), tb = dcgw_dtls_next_timeout(w->b.d);
        uint64_t t = ta < tb ? ta : tb;
        if (t == UINT64_MAX)
            break;
        if (t > w->now)
            w->now = t;
        dp_vclock_set(w->now);
        dcgw_dtls_handle_timeout(w->a.d, w->now);
        dcgw_dtls_handle_timeout(w->b.d, w->now);
    }
}

void dp_world_free(struct dp_world *w)
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

void dp_fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}
