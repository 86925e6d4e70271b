/* The crypto-only handshake limit (issue 17): DTLS 1.2 handshakes between two dcgw_dtls
 * stages in memory, made from contexts with dcgw's own settings (what a worker builds: an
 * ECDSA P-256 certificate, the default cipher and group lists, fingerprint binding), and
 * nothing else: no socket, no ICE, no SCTP, no control request, no SDP. Each side's calls
 * (new, start, every datagram in, free) are timed apart on this thread's CPU clock, so the
 * figure is the CPU one handshake of that role costs; its inverse is handshakes per second
 * per core, the most any set-up path built on these handshakes can reach. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"

enum { HS_INBOX = 16, HS_DGRAM = 1500, HS_ROUNDS_MAX = 64, HS_BATCH = 16 };

struct hs_side {
    struct dcgw_dtls *d;
    struct hs_side *peer;
    uint8_t inbox[HS_INBOX][HS_DGRAM];
    size_t inbox_len[HS_INBOX];
    unsigned n_in;
    bool connected, failed;
    uint64_t cpu_ns;
};

static uint64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void hs_send(void *ud, const uint8_t *p, size_t n)
{
    struct hs_side *s = ud;
    struct hs_side *to = s->peer;
    if (to->n_in < HS_INBOX && n <= HS_DGRAM) {
        memcpy(to->inbox[to->n_in], p, n);
        to->inbox_len[to->n_in++] = n;
    }
}

static void hs_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct hs_side *)ud)->connected = true;
}

static void hs_failed(void *ud, int err, const char *why)
{
    (void)err, (void)why;
    ((struct hs_side *)ud)->failed = true;
}

/* Delivers what s received, timing s (its sends go to the peer's inbox, never its own).
 * Returns false when s failed. */
static bool hs_deliver(struct hs_side *s, uint64_t now_ms)
{
    uint64_t t0 = thread_ns();
    for (unsigned i = 0; i < s->n_in && !s->failed; i++)
        dcgw_dtls_recv(s->d, s->inbox[i], s->inbox_len[i], now_ms);
    s->cpu_ns += thread_ns() - t0;
    s->n_in = 0;
    return !s->failed;
}

/* One handshake: new, start, pump, free on both sides. Returns 0 when both connected. */
static int one(struct dcgw_dtls_ctx *cctx, struct dcgw_dtls_ctx *sctx,
               const struct dcgw_fingerprint *cfp, const struct dcgw_fingerprint *sfp,
               struct hs_side *c, struct hs_side *s)
{
    c->n_in = s->n_in = 0;
    c->connected = s->connected = c->failed = s->failed = false;
    c->peer = s;
    s->peer = c;
    struct dcgw_dtls_callbacks cb = {
        .send = hs_send, .on_connected = hs_connected, .on_failed = hs_failed};
    struct dcgw_dtls_settings cs = {.client = true, .remote_fps = sfp, .n_remote_fps = 1};
    struct dcgw_dtls_settings ss = {.client = false, .remote_fps = cfp, .n_remote_fps = 1};
    int r;
    uint64_t t0 = thread_ns();
    cb.ud = s;
    r = dcgw_dtls_new(sctx, &ss, &cb, &s->d);
    if (r == 0)
        r = dcgw_dtls_start(s->d, 0);
    uint64_t t1 = thread_ns();
    s->cpu_ns += t1 - t0;
    cb.ud = c;
    if (r == 0)
        r = dcgw_dtls_new(cctx, &cs, &cb, &c->d);
    if (r == 0)
        r = dcgw_dtls_start(c->d, 0);
    c->cpu_ns += thread_ns() - t1;
    for (unsigned round = 0; r == 0 && round < HS_ROUNDS_MAX; round++) {
        if (c->connected && s->connected)
            break;
        if (!s->n_in && !c->n_in) {
            r = DCGW_ETIMEOUT; /* nothing in flight: a datagram was lost (it cannot be) */
            break;
        }
        if (!hs_deliver(s, round) || !hs_deliver(c, round))
            r = DCGW_ETLS;
    }
    if (r == 0 && !(c->connected && s->connected))
        r = DCGW_ETIMEOUT;
    t0 = thread_ns();
    dcgw_dtls_free(s->d);
    t1 = thread_ns();
    dcgw_dtls_free(c->d);
    c->cpu_ns += thread_ns() - t1;
    s->cpu_ns += t1 - t0;
    s->d = c->d = NULL;
    return r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int hs_limit_measure(unsigned n, struct hs_limit *out)
{
    memset(out, 0, sizeof(*out));
    struct dcgw_cert *ccert = NULL, *scert = NULL;
    struct dcgw_dtls_ctx *cctx = NULL, *sctx = NULL;
    struct dcgw_fingerprint cfp, sfp;
    int r = dcgw_cert_new(NULL, &ccert);
    if (r == 0)
        r = dcgw_cert_new(NULL, &scert);
    if (r == 0) {
        struct dcgw_dtls_ctx_settings a = {.cert = ccert}, b = {.cert = scert};
        r = dcgw_dtls_ctx_new(&a, &cctx);
        if (r == 0)
            r = dcgw_dtls_ctx_new(&b, &sctx);
    }
    if (r == 0)
        r = dcgw_cert_fingerprint(ccert, DCGW_HASH_SHA256, &cfp);
    if (r == 0)
        r = dcgw_cert_fingerprint(scert, DCGW_HASH_SHA256, &sfp);
    struct hs_side *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
    unsigned batches = n / HS_BATCH ? n / HS_BATCH : 1;
    uint64_t *bs = calloc(batches, sizeof(*bs)), *bc = calloc(batches, sizeof(*bc));
    if (r == 0 && (!c || !s || !bs || !bc))
        r = DCGW_ENOMEM;
    /* Warm-up (first allocations, OpenSSL's lazy tables), then batches: each batch's mean;
     * the median batch is the figure (a batch hit by the machine's other load is an
     * outlier, not the rule). */
    for (unsigned i = 0; r == 0 && i < 4; i++)
        r = one(cctx, sctx, &cfp, &sfp, c, s);
    for (unsigned k = 0; r == 0 && k < batches; k++) {
        c->cpu_ns = s->cpu_ns = 0;
        for (unsigned i = 0; r == 0 && i < HS_BATCH; i++)
            r = one(cctx, sctx, &cfp, &sfp, c, s);
        bs[k] = s->cpu_ns / HS_BATCH;
        bc[k] = c->cpu_ns / HS_BATCH;
        out->n += HS_BATCH;
    }
    if (r == 0) {
        qsort(bs, batches, sizeof(*bs), cmp_u64);
        qsort(bc, batches, sizeof(*bc), cmp_u64);
        out->server_ns = (double)bs[batches / 2];
        out->client_ns = (double)bc[batches / 2];
    }
    free(bs);
    free(bc);
    free(c);
    free(s);
    dcgw_dtls_ctx_free(cctx);
    dcgw_dtls_ctx_free(sctx);
    dcgw_cert_unref(ccert);
    dcgw_cert_unref(scert);
    return r;
}
