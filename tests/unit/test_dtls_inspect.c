/* Relay handshake inspector: real DTLS 1.2 handshakes between two OpenSSL endpoints in
 * memory (no sockets), every datagram captured and fed through the inspector, plus crafted
 * records for everything a real stack never sends.
 *
 * OpenSSL 3.0 arms its DTLS retransmission timer with gettimeofday(); this program
 * interposes it with a clock that can be moved forward, so a lost flight is retransmitted
 * without waiting. With DCGW_INSPECT_CORPUS=<dir> set, the handshakes made with the fixed
 * test certificate are written there as seeds for tests/fuzz/fuzz_dtls_inspect.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dcgw/cert.h"
#include "dcgw/dtls_inspect.h"
#include "dcgw/error.h"

static uint64_t clock_ahead_us;

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    (void)tz;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u + clock_ahead_us;
    tv->tv_sec = (time_t)(us / 1000000u);
    tv->tv_usec = (suseconds_t)(us % 1000000u);
    return 0;
}

/* ---- two OpenSSL endpoints, every datagram captured ------------------------------------- */

enum { MAX_DG = 768, QCAP = 256, SIDES = 2 };

struct dg {
    int side;
    bool app; /* written by SSL_write after the handshake */
    size_t n;
    uint8_t *p;
};

struct world;

struct ep {
    struct world *w;
    int side;
    SSL_CTX *ctx;
    SSL *ssl;
    size_t q[QCAP]; /* indexes into w->dg of datagrams on their way to this endpoint */
    size_t qh, qt;
    bool dropping; /* capture what it writes but do not deliver it */
    size_t got;    /* application bytes read */
};

struct world {
    struct dg dg[MAX_DG];
    size_t n_dg;
    struct ep ep[SIDES];
    struct dcgw_cert *cert[SIDES], *extra[SIDES][3], *other;
    int client; /* side of the DTLS client */
    bool app;
    bool lose_server_flight, lost;
};

struct hs_opts {
    bool ue_server;    /* side 0 (UE) is the DTLS server */
    unsigned mtu;      /* 0: 1200 */
    bool cookie;       /* the server does a HelloVerifyRequest round */
    unsigned chain[2]; /* extra certificates after the end-entity one, per side */
    bool lose;         /* the server's first flight is lost after the relay: resent */
    bool fixed;        /* both sides use tests/data/dtls/fixed.pem (corpus seeds) */
};

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH || cmd == BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT ? 1 : 0;
}

static int bio_write(BIO *b, const char *data, int len)
{
    struct ep *e = BIO_get_data(b);
    struct world *w = e->w;
    ck_assert_uint_lt(w->n_dg, MAX_DG);
    struct dg *d = &w->dg[w->n_dg];
    *d = (struct dg){.side = e->side, .app = w->app, .n = (size_t)len, .p = malloc((size_t)len)};
    memcpy(d->p, data, (size_t)len);
    if (!e->dropping) {
        struct ep *peer = &w->ep[1 - e->side];
        ck_assert_uint_lt(peer->qt - peer->qh, QCAP);
        peer->q[peer->qt++ % QCAP] = w->n_dg;
    }
    w->n_dg++;
    return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
    struct ep *e = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (e->qh == e->qt) {
        BIO_set_retry_read(b);
        return -1;
    }
    const struct dg *d = &e->w->dg[e->q[e->qh++ % QCAP]];
    size_t n = d->n < (size_t)len ? d->n : (size_t)len;
    memcpy(buf, d->p, n);
    return (int)n;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bio_method(void)
{
    static BIO_METHOD *m;
    if (!m) {
        m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "test datagrams");
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
    }
    return m;
}

static int accept_any(int ok, X509_STORE_CTX *x)
{
    (void)ok, (void)x;
    return 1; /* the inspector is what checks fingerprints here */
}

static int cookie_make(SSL *s, unsigned char *c, unsigned int *len)
{
    (void)s;
    memcpy(c, "dcgw-cookie", 11);
    *len = 11;
    return 1;
}

static int cookie_check(SSL *s, const unsigned char *c, unsigned int len)
{
    (void)s;
    return len == 11 && memcmp(c, "dcgw-cookie", 11) == 0;
}

static void ep_setup(struct world *w, int k, const struct hs_opts *o)
{
    struct ep *e = &w->ep[k];
    e->w = w;
    e->side = k;
    e->ctx = SSL_CTX_new(DTLS_method());
    ck_assert_ptr_nonnull(e->ctx);
    SSL_CTX_set_min_proto_version(e->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(e->ctx, DTLS1_2_VERSION);
    ck_assert_int_eq(SSL_CTX_use_certificate(e->ctx, dcgw_cert_x509(w->cert[k])), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(e->ctx, dcgw_cert_key(w->cert[k])), 1);
    for (unsigned i = 0; i < o->chain[k]; i++) {
        ck_assert_int_eq(dcgw_cert_new(NULL, &w->extra[k][i]), 0);
        ck_assert_int_eq(SSL_CTX_add1_chain_cert(e->ctx, dcgw_cert_x509(w->extra[k][i])), 1);
    }
    /* WebRTC: mutual authentication, trust decided by the SDP fingerprint */
    SSL_CTX_set_verify(e->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    SSL_CTX_set_options(e->ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
    if (o->cookie) {
        SSL_CTX_set_options(e->ctx, SSL_OP_COOKIE_EXCHANGE);
        SSL_CTX_set_cookie_generate_cb(e->ctx, cookie_make);
        SSL_CTX_set_cookie_verify_cb(e->ctx, cookie_check);
    }
    e->ssl = SSL_new(e->ctx);
    BIO *b = BIO_new(bio_method());
    BIO_set_data(b, e);
    SSL_set_bio(e->ssl, b, b);
    ck_assert_int_eq(DTLS_set_link_mtu(e->ssl, o->mtu ? o->mtu : 1200), 1);
    if (k == w->client)
        SSL_set_connect_state(e->ssl);
    else
        SSL_set_accept_state(e->ssl);
}

static void ep_step(struct world *w, struct ep *e)
{
    if (SSL_is_init_finished(e->ssl)) {
        char buf[512];
        int r;
        while ((r = SSL_read(e->ssl, buf, sizeof(buf))) > 0)
            e->got += (size_t)r;
        return;
    }
    bool lose = w->lose_server_flight && !w->lost && e->side != w->client;
    size_t before = w->n_dg;
    e->dropping = lose;
    int r = SSL_do_handshake(e->ssl);
    e->dropping = false;
    if (r <= 0)
        ck_assert_int_eq(SSL_get_error(e->ssl, r), SSL_ERROR_WANT_READ);
    if (lose && w->n_dg > before) { /* the flight never reached the client: time out */
        w->lost = true;
        clock_ahead_us += 3000000;
        ck_assert_int_gt(DTLSv1_handle_timeout(e->ssl), 0);
    }
}

static const char FIXED_PEM[] = DCGW_TEST_DATA "/dtls/fixed.pem";
static const char FIXED_KEY[] = DCGW_TEST_DATA "/dtls/fixed.key";

/* A complete handshake, then one application record each way. */
static void handshake(struct world *w, const struct hs_opts *o)
{
    memset(w, 0, sizeof(*w));
    w->client = o->ue_server ? 1 : 0;
    w->lose_server_flight = o->lose;
    for (int k = 0; k < SIDES; k++) {
        if (o->fixed)
            ck_assert_int_eq(dcgw_cert_load_pem(FIXED_PEM, FIXED_KEY, &w->cert[k]), 0);
        else
            ck_assert_int_eq(dcgw_cert_new(NULL, &w->cert[k]), 0);
    }
    ck_assert_int_eq(dcgw_cert_new(NULL, &w->other), 0);
    ep_setup(w, 0, o);
    ep_setup(w, 1, o);
    struct ep *c = &w->ep[w->client], *s = &w->ep[1 - w->client];
    for (int i = 0; i < 50 && !(SSL_is_init_finished(c->ssl) && SSL_is_init_finished(s->ssl));
         i++) {
        ep_step(w, c);
        ep_step(w, s);
    }
    ck_assert(SSL_is_init_finished(c->ssl) && SSL_is_init_finished(s->ssl));
    ep_step(w, c); /* drain */
    w->app = true;
    ck_assert_int_eq(SSL_write(c->ssl, "ping from the client", 20), 20);
    ep_step(w, s);
    ck_assert_int_eq(SSL_write(s->ssl, "pong from the server", 20), 20);
    ep_step(w, c);
    w->app = false;
    ck_assert_uint_eq(s->got, 20);
    ck_assert_uint_eq(c->got, 20);
    if (o->lose)
        ck_assert(w->lost);
}

static void world_free(struct world *w)
{
    for (int k = 0; k < SIDES; k++) {
        SSL_free(w->ep[k].ssl);
        SSL_CTX_free(w->ep[k].ctx);
        dcgw_cert_unref(w->cert[k]);
        dcgw_cert_unref(w->extra[k][0]);
        dcgw_cert_unref(w->extra[k][1]);
        dcgw_cert_unref(w->extra[k][2]);
    }
    dcgw_cert_unref(w->other);
    for (size_t i = 0; i < w->n_dg; i++)
        free(w->dg[i].p);
    ERR_clear_error();
}

/* ---- looking into captured datagrams ------------------------------------------------------ */

static uint32_t rd16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Counts handshake fragments of message type t (epoch 0) in a datagram; *partial gets
 * those that carry only part of their message. Also tells whether it has app data. */
static unsigned frags_of(const uint8_t *p, size_t n, int t, unsigned *partial, bool *app)
{
    unsigned count = 0;
    for (size_t off = 0; off + 13 <= n;) {
        size_t len = rd16(p + off + 11);
        if (p[off] == 23 && app)
            *app = true;
        if (p[off] == 22 && rd16(p + off + 3) == 0)
            for (size_t h = off + 13; h + 12 <= off + 13 + len; h += 12 + rd24(p + h + 9))
                if (p[h] == t) {
                    count++;
                    if (partial && rd24(p + h + 9) < rd24(p + h + 1))
                        (*partial)++;
                }
        off += 13 + len;
    }
    return count;
}

static bool has_msg(const struct dg *d, int t)
{
    return frags_of(d->p, d->n, t, NULL, NULL) > 0;
}

static bool has_app(const uint8_t *p, size_t n)
{
    bool app = false;
    frags_of(p, n, -1, NULL, &app);
    return app;
}

/* ---- driving the inspector ----------------------------------------------------------------- */

struct seen {
    int events, last_state, last_side;
};

static void on_state(void *ud, enum dcgw_dtls_inspect_state st, int side)
{
    struct seen *s = ud;
    s->events++;
    s->last_state = (int)st;
    s->last_side = side;
}

struct iopts {
    struct dcgw_fingerprint fps[SIDES][4];
    size_t n[SIDES];
    enum dcgw_hash min_hash;
    size_t bound;
    enum dcgw_dtls_inspect_policy policy;
};

static struct dcgw_fingerprint fp_of(const struct dcgw_cert *c, enum dcgw_hash h)
{
    struct dcgw_fingerprint fp;
    ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &fp), 0);
    return fp;
}

/* Per side: a stranger's SHA-256, the right SHA-1 (under the default floor), the right
 * SHA-256: a match must be index 2. */
static struct iopts right_fps(const struct world *w)
{
    struct iopts io = {0};
    for (int k = 0; k < SIDES; k++) {
        io.fps[k][0] = fp_of(w->other, DCGW_HASH_SHA256);
        io.fps[k][1] = fp_of(w->cert[k], DCGW_HASH_SHA1);
        io.fps[k][2] = fp_of(w->cert[k], DCGW_HASH_SHA256);
        io.n[k] = 3;
    }
    return io;
}

static struct dcgw_dtls_inspect *insp_new(const struct iopts *io, struct seen *seen)
{
    struct dcgw_dtls_inspect_settings s = {.fps = {io->fps[0], io->fps[1]},
                                           .n_fps = {io->n[0], io->n[1]},
                                           .min_hash = io->min_hash,
                                           .max_handshake_bytes = io->bound,
                                           .policy = io->policy};
    struct dcgw_dtls_inspect_callbacks cbs = {.ud = seen, .on_state = on_state};
    struct dcgw_dtls_inspect *in = NULL;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, seen ? &cbs : NULL, &in), 0);
    return in;
}

/* One datagram through the inspector, with the rules that hold whatever comes in. */
static int feed(struct dcgw_dtls_inspect *in, int side, const uint8_t *p, size_t n)
{
    int v = dcgw_dtls_inspect_datagram(in, side, p, n);
    enum dcgw_dtls_inspect_state st = dcgw_dtls_inspect_state(in);
    ck_assert(v == DCGW_INSPECT_PASS || v == DCGW_INSPECT_DROP || v == DCGW_INSPECT_BLOCK);
    ck_assert_int_eq(v == DCGW_INSPECT_BLOCK, st == DCGW_INSPECT_BLOCKED);
    /* no application data before both certificates matched (or the policy let it be) */
    if (v == DCGW_INSPECT_PASS && has_app(p, n))
        ck_assert(st == DCGW_INSPECT_VERIFIED || st == DCGW_INSPECT_UNINSPECTED_ALLOWED);
    return v;
}

static int feed_dg(struct dcgw_dtls_inspect *in, const struct dg *d)
{
    return feed(in, d->side, d->p, d->n);
}

/* Feeds datagrams in the given order; every one must get `want`. */
static void feed_all(struct dcgw_dtls_inspect *in, const struct world *w, const size_t *order,
                     size_t n, int want)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = order ? order[i] : i;
        int v = feed_dg(in, &w->dg[j]);
        ck_assert_msg(v == want, "datagram %zu (side %d, %zu bytes): %s", j, w->dg[j].side,
                      w->dg[j].n, dcgw_dtls_inspect_verdict_name(v));
    }
}

static void assert_verified(const struct dcgw_dtls_inspect *in, const struct world *w, size_t index)
{
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_str_eq(dcgw_dtls_inspect_state_name(st.state), "verified");
    ck_assert_int_eq(st.client, w->client);
    ck_assert_str_eq(st.reason, "");
    for (int k = 0; k < SIDES; k++) {
        const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(in, k);
        const struct dcgw_dtls_inspect_stats *ss = dcgw_dtls_inspect_stats(in, k);
        ck_assert_int_eq(sd->cert, DCGW_INSPECT_CERT_MATCHED);
        ck_assert_uint_eq(sd->matched_index, index);
        struct dcgw_fingerprint want = fp_of(w->cert[k], sd->fp.alg);
        ck_assert(dcgw_fingerprint_equal(&sd->fp, &want));
        size_t der_len;
        dcgw_cert_der(w->cert[k], &der_len);
        ck_assert_uint_eq(sd->cert_der_len, der_len);
        ck_assert(sd->ccs_seen);
        ck_assert_uint_eq(ss->malformed + ss->conflicts + ss->held_app_data, 0);
        ck_assert_uint_gt(ss->fragments, 0);
        ck_assert_uint_le(ss->buffered_peak, DCGW_INSPECT_HANDSHAKE_BYTES_DEFAULT);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Datagrams in capture order, each flight (a run from one side) shuffled. */
static void shuffle_flights(const struct world *w, size_t *order, uint64_t seed)
{
    for (size_t i = 0; i < w->n_dg; i++)
        order[i] = i;
    for (size_t a = 0, b; a < w->n_dg; a = b) {
        for (b = a + 1; b < w->n_dg && w->dg[b].side == w->dg[a].side; b++)
            ;
        for (size_t i = b - 1; i > a; i--) {
            size_t j = a + rng_next(&seed) % (i - a + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}

/* ---- seeds for the fuzz target: [flags] then [side][len:2][datagram]... ------------------- */

static void corpus_write(const char *name, uint8_t flags, const struct dg *dgs, size_t n)
{
    const char *dir = getenv("DCGW_INSPECT_CORPUS");
    if (!dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputc(flags, f);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[3] = {(uint8_t)dgs[i].side, (uint8_t)(dgs[i].n >> 8), (uint8_t)dgs[i].n};
        fwrite(h, 1, 3, f);
        fwrite(dgs[i].p, 1, dgs[i].n, f);
    }
    fclose(f);
}

/* ---- real handshakes ----------------------------------------------------------------------- */

START_TEST(real_handshake_verified)
{
    /* _i: 0 UE client, 1 UE server, 2 with HelloVerifyRequest, 3 UE server + cookie */
    struct hs_opts o = {.ue_server = _i & 1, .cookie = _i >= 2, .fixed = true};
    struct world w;
    handshake(&w, &o);
    struct iopts io = right_fps(&w);
    struct seen seen = {0};
    struct dcgw_dtls_inspect *in = insp_new(&io, &seen);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    bool verified_before_app = false;
    for (size_t i = 0; i < w.n_dg; i++) {
        if (w.dg[i].app && dcgw_dtls_inspect_state(in) == DCGW_INSPECT_VERIFIED)
            verified_before_app = true;
        ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    }
    ck_assert(verified_before_app);
    assert_verified(in, &w, 2);
    ck_assert_int_eq(seen.events, 1);
    ck_assert_int_eq(seen.last_state, DCGW_INSPECT_VERIFIED);
    /* the client's Certificate is the last one to arrive */
    ck_assert_int_eq(seen.last_side, w.client);
    ck_assert_uint_gt(dcgw_dtls_inspect_stats(in, 0)->opaque, 0);
    static const char *const names[] = {"handshake_ue_client", "handshake_ue_server",
                                        "handshake_cookie", "handshake_cookie_ue_server"};
    corpus_write(names[_i], 0, w.dg, w.n_dg);
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

START_TEST(small_mtu_fragments_the_certificate)
{
    static const unsigned mtus[] = {256, 300, 400};
    for (unsigned m = 0; m < 3; m++) {
        struct hs_opts o = {.mtu = mtus[m], .ue_server = m == 1, .chain = {m, 0}, .fixed = true};
        struct world w;
        handshake(&w, &o);
        unsigned frags[SIDES] = {0}, partial[SIDES] = {0};
        for (size_t i = 0; i < w.n_dg; i++) {
            ck_assert_uint_le(w.dg[i].n, mtus[m]);
            frags[w.dg[i].side] += frags_of(w.dg[i].p, w.dg[i].n, 11, &partial[w.dg[i].side], NULL);
        }
        /* each Certificate went out in several fragments */
        ck_assert_uint_gt(frags[0], 1);
        ck_assert_uint_gt(frags[1], 1);
        ck_assert_uint_eq(partial[0], frags[0]);
        struct iopts io = right_fps(&w);
        struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
        feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
        assert_verified(in, &w, 2);
        if (m == 1)
            corpus_write("handshake_mtu300", 0, w.dg, w.n_dg);
        dcgw_dtls_inspect_free(in);
        world_free(&w);
    }
}
END_TEST

START_TEST(first_certificate_of_a_chain_is_hashed)
{
    struct hs_opts o = {.chain = {3, 0}};
    struct world w;
    handshake(&w, &o);
    struct iopts io = right_fps(&w);
    struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
    feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
    assert_verified(in, &w, 2);
    dcgw_dtls_inspect_free(in);

    /* the SDP names the second certificate of the UE's chain: not the UE's own */
    io.fps[0][2] = fp_of(w.extra[0][0], DCGW_HASH_SHA256);
    in = insp_new(&io, NULL);
    size_t i = 0;
    while (i < w.n_dg && feed_dg(in, &w.dg[i]) != DCGW_INSPECT_BLOCK)
        i++;
    ck_assert_uint_lt(i, w.n_dg);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->cert, DCGW_INSPECT_CERT_MISMATCH);
    dcgw_dtls_inspect_free(in);

    /* four certificates do not fit a 1 KiB reassembly bound */
    io = right_fps(&w);
    io.bound = DCGW_INSPECT_HANDSHAKE_BYTES_MIN;
    in = insp_new(&io, NULL);
    for (i = 0; i < w.n_dg && feed_dg(in, &w.dg[i]) == DCGW_INSPECT_PASS; i++)
        ;
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->err, DCGW_ELIMIT);
    ck_assert_ptr_nonnull(strstr(dcgw_dtls_inspect_side(in, 0)->reason, "1024-byte bound"));
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

START_TEST(retransmitted_flights_pass)
{
    /* every datagram twice, and a flight really resent by the server's timer */
    for (int lose = 0; lose < 2; lose++) {
        struct hs_opts o = {.mtu = 300, .lose = lose, .ue_server = lose};
        struct world w;
        handshake(&w, &o);
        struct iopts io = right_fps(&w);
        struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
        for (size_t i = 0; i < w.n_dg; i++) {
            ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
            if (!lose)
                ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
        }
        assert_verified(in, &w, 2);
        const struct dcgw_dtls_inspect_stats *s = dcgw_dtls_inspect_stats(in, 1 - w.client);
        ck_assert_uint_gt(s->duplicates, 0);
        dcgw_dtls_inspect_free(in);
        world_free(&w);
    }
}
END_TEST

START_TEST(reordered_flights_pass)
{
    size_t order[MAX_DG];
    for (uint64_t seed = 1; seed <= 24; seed++) {
        struct hs_opts o = {
            .mtu = seed % 2 ? 256 : 350, .ue_server = seed % 3 == 0, .cookie = seed % 4 == 0};
        struct world w;
        handshake(&w, &o);
        shuffle_flights(&w, order, seed);
        struct iopts io = right_fps(&w);
        struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
        feed_all(in, &w, order, w.n_dg, DCGW_INSPECT_PASS);
        if (seed % 5 == 0) /* and once more, as retransmissions in another order */
            feed_all(in, &w, order, w.n_dg, DCGW_INSPECT_PASS);
        assert_verified(in, &w, 2);
        dcgw_dtls_inspect_free(in);
        world_free(&w);
    }
}
END_TEST

START_TEST(wrong_fingerprint_blocks_that_side)
{
    /* _i: bit 0 which side is wrong, bit 1 UE is the server */
    int bad = _i & 1;
    struct hs_opts o = {.ue_server = _i >> 1, .mtu = 300};
    struct world w;
    handshake(&w, &o);
    struct iopts io = right_fps(&w);
    io.fps[bad][2] = fp_of(w.other, DCGW_HASH_SHA256);
    io.fps[bad][3] = fp_of(w.other, DCGW_HASH_SHA512);
    io.n[bad] = 4;
    struct seen seen = {0};
    struct dcgw_dtls_inspect *in = insp_new(&io, &seen);
    size_t blocked_at = w.n_dg;
    for (size_t i = 0; i < w.n_dg; i++) {
        int v = feed_dg(in, &w.dg[i]);
        if (v == DCGW_INSPECT_BLOCK && blocked_at == w.n_dg)
            blocked_at = i;
        ck_assert_int_eq(v, i < blocked_at ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        if (w.dg[i].app)
            ck_assert_int_eq(v, DCGW_INSPECT_BLOCK);
    }
    /* blocked on the datagram that completed the wrong side's Certificate */
    ck_assert_uint_lt(blocked_at, w.n_dg);
    ck_assert(has_msg(&w.dg[blocked_at], 11));
    ck_assert_int_eq(w.dg[blocked_at].side, bad);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.state, DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(st.side, bad);
    ck_assert_int_eq(st.err, DCGW_EFINGERPRINT);
    ck_assert_ptr_nonnull(strstr(st.reason, bad ? "far end" : "UE"));
    ck_assert_int_eq(seen.events, 1);
    ck_assert_int_eq(seen.last_side, bad);
    /* the event carries the certificate's fingerprint, with the strongest SDP hash */
    const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(in, bad);
    ck_assert_int_eq(sd->cert, DCGW_INSPECT_CERT_MISMATCH);
    struct dcgw_fingerprint real = fp_of(w.cert[bad], DCGW_HASH_SHA512);
    ck_assert(dcgw_fingerprint_equal(&sd->fp, &real));
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
    dcgw_fingerprint_format(&real, text, sizeof(text));
    ck_assert_ptr_nonnull(strstr(st.reason, text));
    /* the other side's certificate, if it came first, matched */
    if (bad == w.client)
        ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1 - bad)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_gt(
        dcgw_dtls_inspect_stats(in, 0)->blocked + dcgw_dtls_inspect_stats(in, 1)->blocked, 1);
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

START_TEST(weak_hash_floor)
{
    struct hs_opts o = {0};
    struct world w;
    handshake(&w, &o);
    struct iopts io = right_fps(&w);
    io.fps[1][0] = io.fps[1][1]; /* only the SHA-1 fingerprint for the far end */
    io.n[1] = 1;
    struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
    for (size_t i = 0; i < w.n_dg; i++)
        feed_dg(in, &w.dg[i]);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1)->cert, DCGW_INSPECT_CERT_WEAK_HASH);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.err, DCGW_EWEAKHASH);
    dcgw_dtls_inspect_free(in);
    /* a floor at SHA-1 accepts it */
    io.min_hash = DCGW_HASH_SHA1;
    in = insp_new(&io, NULL);
    feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1)->fp.alg, DCGW_HASH_SHA1);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 0)->matched_index, 1); /* SHA-1 comes first */
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

START_TEST(application_data_held_until_verified)
{
    struct hs_opts o = {.mtu = 300};
    struct world w;
    handshake(&w, &o);
    struct iopts io = right_fps(&w);
    struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
    /* everything but the client's Certificate: both application records are held back */
    unsigned app = 0;
    for (size_t i = 0; i < w.n_dg; i++) {
        if (w.dg[i].side == w.client && has_msg(&w.dg[i], 11))
            continue;
        int v = feed_dg(in, &w.dg[i]);
        if (w.dg[i].app) {
            app++;
            ck_assert_int_eq(v, DCGW_INSPECT_DROP);
        }
    }
    ck_assert_uint_eq(app, 2);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, w.client)->cert, DCGW_INSPECT_CERT_PENDING);
    ck_assert_int_eq(dcgw_dtls_inspect_side(in, 1 - w.client)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(in, 0)->held_app_data +
                          dcgw_dtls_inspect_stats(in, 1)->held_app_data,
                      2);
    /* the late Certificate completes the check; then the same records pass */
    for (size_t i = 0; i < w.n_dg; i++)
        if (w.dg[i].side == w.client && has_msg(&w.dg[i], 11))
            ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    for (size_t i = 0; i < w.n_dg; i++)
        if (w.dg[i].app)
            ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

/* ---- handshakes of real WebRTC stacks -------------------------------------------------------
 * Captured as a relay sees them by tools/dtls_inspect_capture.py (Chromium 156 / BoringSSL
 * and aiortc 1.4 / OpenSSL 3.0), with each side's a=fingerprint from the SDP of that
 * session. Side 0 is Chromium. Re-capturing changes the certificates: update both. */

static const struct {
    const char *file;
    const char *fp[SIDES];
    int client;
    bool dtls13;
} CAPTURES[] = {
    {"chromium_server_aiortc_client",
     {"sha-256 A5:CA:59:79:26:5F:93:4F:8C:FA:35:32:E6:6D:DB:64:44:06:1E:ED:B5:0E:D5:29:12:F9:8C:"
      "5D:4E:89:2E:77",
      "sha-256 BC:0A:67:B3:51:56:A1:7E:85:81:04:66:45:93:C4:ED:5B:08:69:EB:B4:1B:50:65:B4:A3:CA:"
      "98:B3:92:06:C3"},
     1,
     false},
    /* Chromium's ClientHello offers DTLS 1.3 and 1.2 (1413 bytes, two datagrams) */
    {"aiortc_server_chromium_client",
     {"sha-256 F1:C0:13:70:C1:39:EF:CF:DE:6B:81:49:52:A5:45:DE:BB:F3:3B:77:05:C2:76:6C:71:D5:21:"
      "0A:C9:FF:96:86",
      "sha-256 D2:64:16:1E:50:7A:18:46:55:04:DE:E4:0E:DD:ED:56:FD:9D:A1:65:44:04:D3:CB:9D:26:C1:"
      "CB:EC:F7:FB:A5"},
     0,
     false},
    /* Chromium to Chromium: DTLS 1.3 */
    {"chromium_pair_dtls13",
     {"sha-256 A2:22:F8:E6:6E:37:A2:CE:78:C8:4D:D8:1F:53:7C:23:7D:96:F9:51:16:FF:6E:0F:CB:06:6C:"
      "8A:31:EA:06:6A",
      "sha-256 52:78:91:AC:D1:66:39:74:5A:3C:B3:2F:85:86:63:F5:FD:DE:EE:69:B8:6B:C7:C6:96:A5:F9:"
      "CC:51:4B:15:F4"},
     1,
     true},
};

/* Loads a seed file ([flags] then [side][len:2][datagram]...) into w->dg. */
static void load_capture(struct world *w, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/../fuzz/corpus/dtls_inspect/%s", DCGW_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    static uint8_t buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    memset(w, 0, sizeof(*w));
    for (size_t off = 1; off + 3 <= n;) {
        size_t len = (size_t)buf[off + 1] << 8 | buf[off + 2];
        ck_assert_uint_le(off + 3 + len, n);
        ck_assert_uint_lt(w->n_dg, MAX_DG);
        struct dg *d = &w->dg[w->n_dg++];
        *d = (struct dg){.side = buf[off], .n = len, .p = malloc(len)};
        memcpy(d->p, buf + off + 3, len);
        d->app = has_app(d->p, d->n);
        off += 3 + len;
    }
    ck_assert_uint_gt(w->n_dg, 4);
}

START_TEST(real_peers_captured)
{
    struct world w;
    load_capture(&w, CAPTURES[_i].file);
    struct iopts io = {.n = {1, 1}};
    for (int k = 0; k < SIDES; k++)
        ck_assert_int_eq(
            dcgw_fingerprint_parse(CAPTURES[_i].fp[k], strlen(CAPTURES[_i].fp[k]), &io.fps[k][0]),
            0);
    struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
    struct dcgw_dtls_inspect_status st;
    if (CAPTURES[_i].dtls13) {
        /* rejected at the ServerHello (from the server, side 1 - client) ... */
        size_t i = 0;
        while (i < w.n_dg && feed_dg(in, &w.dg[i]) == DCGW_INSPECT_PASS)
            i++;
        ck_assert_uint_lt(i, w.n_dg);
        ck_assert(has_msg(&w.dg[i], 2));
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.side, 1 - CAPTURES[_i].client);
        ck_assert_int_eq(st.client, CAPTURES[_i].client);
        ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(st.reason, "DTLS 1.3"));
        dcgw_dtls_inspect_free(in);
        /* ... or allowed, and then everything passes */
        io.policy = DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT;
        in = insp_new(&io, NULL);
        feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
        ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_UNINSPECTED_ALLOWED);
        dcgw_dtls_inspect_free(in);
        world_free(&w);
        return;
    }
    bool app_before = false;
    for (size_t i = 0; i < w.n_dg; i++) {
        app_before |= w.dg[i].app && dcgw_dtls_inspect_state(in) != DCGW_INSPECT_VERIFIED;
        ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    }
    ck_assert(!app_before);
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.state, DCGW_INSPECT_VERIFIED);
    ck_assert_int_eq(st.client, CAPTURES[_i].client);
    dcgw_dtls_inspect_free(in);
    /* a stranger's fingerprint for either side: blocked, and the computed one is the SDP's */
    for (int k = 0; k < SIDES; k++) {
        struct iopts bad = io;
        bad.fps[k][0].digest[7] ^= 0x10;
        in = insp_new(&bad, NULL);
        for (size_t i = 0; i < w.n_dg; i++)
            feed_dg(in, &w.dg[i]);
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.state, DCGW_INSPECT_BLOCKED);
        ck_assert_int_eq(st.side, k);
        ck_assert(dcgw_fingerprint_equal(&dcgw_dtls_inspect_side(in, k)->fp, &io.fps[k][0]));
        ck_assert_uint_eq(
            dcgw_dtls_inspect_stats(in, 0)->passed + dcgw_dtls_inspect_stats(in, 1)->passed +
                dcgw_dtls_inspect_stats(in, 0)->blocked + dcgw_dtls_inspect_stats(in, 1)->blocked,
            w.n_dg);
        dcgw_dtls_inspect_free(in);
    }
    world_free(&w);
}
END_TEST

/* ---- DTLS 1.3-looking hellos --------------------------------------------------------------- */

/* Copies datagram d to out with an extension added to the first handshake message of type
 * t (whole, alone in its record) and, if version, its version field set. Returns the size. */
static size_t rewrite_hello(const struct dg *d, int t, uint16_t ext, const uint8_t *body,
                            size_t blen, uint32_t version, uint8_t *out)
{
    size_t o = 0, found = 0;
    for (size_t off = 0; off < d->n;) {
        size_t len = rd16(d->p + off + 11);
        const uint8_t *r = d->p + off;
        if (found || r[0] != 22 || r[13] != t) {
            memcpy(out + o, r, 13 + len);
            o += 13 + len;
            off += 13 + len;
            continue;
        }
        const uint8_t *m = r + 25;
        size_t mlen = rd24(r + 14);
        ck_assert_uint_eq(len, 12 + mlen); /* whole message, alone */
        size_t e = 34 + 1 + m[34];         /* version, random, session_id */
        if (t == 1) {
            e += 1 + m[e];        /* cookie */
            e += 2 + rd16(m + e); /* cipher_suites */
            e += 1 + m[e];        /* compression_methods */
        } else {
            e += 3; /* cipher_suite, compression_method */
        }
        uint8_t msg[2048];
        memcpy(msg, m, mlen);
        size_t nl = mlen, exts = e < mlen ? rd16(m + e) : 0;
        if (e == mlen)
            nl += 2;
        exts += 4 + blen;
        msg[e] = (uint8_t)(exts >> 8), msg[e + 1] = (uint8_t)exts;
        uint8_t x[4] = {(uint8_t)(ext >> 8), (uint8_t)ext, (uint8_t)(blen >> 8), (uint8_t)blen};
        memcpy(msg + nl, x, 4);
        memcpy(msg + nl + 4, body, blen);
        nl += 4 + blen;
        if (version)
            msg[0] = (uint8_t)(version >> 8), msg[1] = (uint8_t)version;
        memcpy(out + o, r, 25);
        out[o + 11] = (uint8_t)((12 + nl) >> 8), out[o + 12] = (uint8_t)(12 + nl);
        uint8_t l24[3] = {(uint8_t)(nl >> 16), (uint8_t)(nl >> 8), (uint8_t)nl};
        memcpy(out + o + 14, l24, 3);
        memcpy(out + o + 22, l24, 3);
        memcpy(out + o + 25, msg, nl);
        o += 25 + nl;
        off += 13 + len;
        found = 1;
    }
    ck_assert(found);
    return o;
}

static const uint8_t SV_ONLY13[] = {2, 0xfe, 0xfc};
static const uint8_t SV_BOTH[] = {4, 0xfe, 0xfc, 0xfe, 0xfd};
static const uint8_t SV_SEL13[] = {0xfe, 0xfc};
/* a DTLS 1.3 ciphertext record: unified header 001CSLEE with sequence and length */
static const uint8_t DTLS13_CIPHERTEXT[] = {0x2f, 0x00, 0x01, 0x00, 0x04, 1, 2, 3, 4};

static size_t first_with(const struct world *w, int t)
{
    for (size_t i = 0; i < w->n_dg; i++)
        if (has_msg(&w->dg[i], t))
            return i;
    ck_abort_msg("no handshake message of type %d", t);
    return 0;
}

START_TEST(dtls13_hellos_follow_the_policy)
{
    /* _i: 0 ClientHello offering 1.3 only, 1 ServerHello selecting 1.3, 2 ServerHello
     * with version DTLS 1.0; each under both policies */
    struct hs_opts o = {.ue_server = _i == 1, .fixed = true};
    struct world w;
    handshake(&w, &o);
    int t = _i == 0 ? 1 : 2;
    size_t at = first_with(&w, t);
    uint8_t mod[4096];
    size_t n = _i == 0 ? rewrite_hello(&w.dg[at], 1, 43, SV_ONLY13, 3, 0, mod)
               : _i == 1
                   ? rewrite_hello(&w.dg[at], 2, 43, SV_SEL13, 2, 0, mod)
                   : rewrite_hello(&w.dg[at], 2, 0xff01, (const uint8_t *)"\0", 1, 0xfeff, mod);
    int who = w.dg[at].side;
    ck_assert_int_eq(who, t == 1 ? w.client : 1 - w.client);
    for (int allow = 0; allow < 2; allow++) {
        struct iopts io = right_fps(&w);
        io.policy = allow ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : 0;
        struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
        feed_all(in, &w, NULL, at, DCGW_INSPECT_PASS);
        ck_assert_int_eq(feed(in, who, mod, n), allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        struct dcgw_dtls_inspect_status st;
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.state, allow ? DCGW_INSPECT_UNINSPECTED_ALLOWED : DCGW_INSPECT_BLOCKED);
        ck_assert_int_eq(st.side, who);
        ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(st.reason, _i == 2 ? "0xfeff" : "DTLS 1.3"));
        ck_assert_int_eq(dcgw_dtls_inspect_side(in, who)->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
        /* from then on: everything passes (allowed) or nothing does (rejected) */
        int want = allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK;
        feed_all(in, &w, NULL, w.n_dg, want);
        ck_assert_int_eq(feed(in, 0, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT)), want);
        ck_assert_int_eq(feed(in, 1, (const uint8_t *)"garbage", 7), want);
        dcgw_dtls_inspect_free(in);
    }
    if (_i == 0) {
        struct dg one = {.side = who, .n = n, .p = mod};
        corpus_write("dtls13_client_hello", 0, &one, 1);
    }
    world_free(&w);
}
END_TEST

START_TEST(client_offering_13_and_12_is_inspected)
{
    struct hs_opts o = {0};
    struct world w;
    handshake(&w, &o);
    size_t at = first_with(&w, 1);
    uint8_t mod[4096];
    size_t n = rewrite_hello(&w.dg[at], 1, 43, SV_BOTH, 5, 0, mod);
    struct iopts io = right_fps(&w);
    struct dcgw_dtls_inspect *in = insp_new(&io, NULL);
    ck_assert_int_eq(feed(in, w.dg[at].side, mod, n), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    /* DTLS 1.3 ciphertext without a DTLS 1.3 ServerHello is garbage */
    ck_assert_int_eq(feed(in, 1, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT)), DCGW_INSPECT_DROP);
    for (size_t i = at + 1; i < w.n_dg; i++)
        ck_assert_int_eq(feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(in);
    world_free(&w);
}
END_TEST

/* ---- crafted records ----------------------------------------------------------------------- */

/* A handshake of our own making: side 0 is the client, both "certificates" are opaque
 * DER-sized blobs (the inspector hashes bytes, it does not parse X.509). */
struct craft {
    uint8_t der[SIDES][300];
    struct iopts io;
    struct dcgw_dtls_inspect *in;
    uint8_t buf[8192];
};

static size_t put_rec(uint8_t *o, uint8_t type, uint16_t epoch, const uint8_t *body, size_t n)
{
    uint8_t h[13] = {type, 0xfe, 0xfd, (uint8_t)(epoch >> 8), (uint8_t)epoch, 0, 0, 0,
                     0,    0,    1,    (uint8_t)(n >> 8),     (uint8_t)n};
    memcpy(o, h, 13);
    memmove(o + 13, body, n);
    return 13 + n;
}

/* One handshake fragment (RFC 6347 §4.2.2 header) into o. */
static size_t put_frag(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
                       uint32_t flen, const uint8_t *data)
{
    uint8_t h[12] = {type,
                     (uint8_t)(len >> 16),
                     (uint8_t)(len >> 8),
                     (uint8_t)len,
                     (uint8_t)(seq >> 8),
                     (uint8_t)seq,
                     (uint8_t)(off >> 16),
                     (uint8_t)(off >> 8),
                     (uint8_t)off,
                     (uint8_t)(flen >> 16),
                     (uint8_t)(flen >> 8),
                     (uint8_t)flen};
    memcpy(o, h, 12);
    if (data)
        memcpy(o + 12, data, flen);
    return 12 + flen;
}

/* A record holding one fragment. */
static size_t hs_rec(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
                     uint32_t flen, const uint8_t *data)
{
    uint8_t tmp[4096];
    size_t n = put_frag(tmp, type, len, seq, off, flen, data);
    return put_rec(o, 22, 0, tmp, n);
}

static const uint8_t CH_BODY[] = {0xfe, 0xfd, [34] = 0, 0, 0, 2, 0xc0, 0x2b, 1, 0};
static const uint8_t SH_BODY[] = {0xfe, 0xfd, [34] = 0, 0xc0, 0x2b, 0};

static size_t cert_msg(uint8_t *o, const uint8_t *der, size_t n)
{
    uint8_t h[6] = {(uint8_t)((n + 3) >> 16), (uint8_t)((n + 3) >> 8), (uint8_t)(n + 3),
                    (uint8_t)(n >> 16),       (uint8_t)(n >> 8),       (uint8_t)n};
    memcpy(o, h, 6);
    memcpy(o + 6, der, n);
    return 6 + n;
}

static void craft_init(struct craft *c, enum dcgw_dtls_inspect_policy policy, size_t bound)
{
    memset(c, 0, sizeof(*c));
    for (int k = 0; k < SIDES; k++) {
        for (size_t i = 0; i < sizeof(c->der[k]); i++)
            c->der[k][i] = (uint8_t)(i * 13 + k * 101 + 7);
        ck_assert_int_eq(dcgw_cert_fingerprint_der(c->der[k], sizeof(c->der[k]), DCGW_HASH_SHA256,
                                                   &c->io.fps[k][0]),
                         0);
        c->io.n[k] = 1;
    }
    c->io.policy = policy;
    c->io.bound = bound;
    c->in = insp_new(&c->io, NULL);
}

static int craft_feed(struct craft *c, int side, size_t n)
{
    return feed(c->in, side, c->buf, n);
}

/* ClientHello (side 0, seq 0) and ServerHello (side 1, seq 0). */
static void craft_hellos(struct craft *c)
{
    ck_assert_int_eq(
        craft_feed(c, 0, hs_rec(c->buf, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY)),
        DCGW_INSPECT_PASS);
    ck_assert_int_eq(
        craft_feed(c, 1, hs_rec(c->buf, 2, sizeof(SH_BODY), 0, 0, sizeof(SH_BODY), SH_BODY)),
        DCGW_INSPECT_PASS);
}

/* Side k's Certificate at message_seq 1, whole. */
static int craft_cert(struct craft *c, int k)
{
    uint8_t m[400];
    size_t n = cert_msg(m, c->der[k], sizeof(c->der[k]));
    return craft_feed(c, k, hs_rec(c->buf, 11, (uint32_t)n, 1, 0, (uint32_t)n, m));
}

static void craft_finish(struct craft *c)
{
    ck_assert_int_eq(craft_cert(c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(craft_cert(c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c->in), DCGW_INSPECT_VERIFIED);
}

START_TEST(crafted_handshake_fragmented_out_of_order)
{
    struct craft c;
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    uint8_t m[400];
    uint32_t n = (uint32_t)cert_msg(m, c.der[1], sizeof(c.der[1]));
    /* three overlapping fragments, last first, one twice, two in one record */
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(c.buf, 11, n, 1, 200, n - 200, m + 200)), 0);
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(c.buf, 11, n, 1, 200, n - 200, m + 200)), 0);
    uint8_t two[1024];
    size_t t = put_frag(two, 11, n, 1, 0, 120, m);
    t += put_frag(two + t, 11, n, 1, 100, 150, m + 100);
    ck_assert_int_eq(craft_feed(&c, 1, put_rec(c.buf, 22, 0, two, t)), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->duplicates, 1);
    /* a retransmission that differs from the verified bytes is refused */
    uint8_t evil[400];
    memcpy(evil, m, n);
    evil[50] ^= 1;
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(c.buf, 11, n, 1, 0, n, evil)), DCGW_INSPECT_DROP);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->conflicts, 1);
    ck_assert_int_eq(craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    /* after verification: the same retransmission, a new hello or Certificate are refused */
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(c.buf, 11, n, 1, 0, n, evil)), DCGW_INSPECT_DROP);
    ck_assert_int_eq(
        craft_feed(&c, 0, hs_rec(c.buf, 1, sizeof(CH_BODY), 2, 0, sizeof(CH_BODY), CH_BODY)),
        DCGW_INSPECT_DROP);
    ck_assert_int_eq(craft_feed(&c, 0, hs_rec(c.buf, 11, n, 4, 0, n, m)), DCGW_INSPECT_DROP);
    ck_assert_int_eq(craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

/* A datagram that must be dropped as malformed without changing anything. */
static void drop_malformed(struct craft *c, int side, size_t n, const char *what)
{
    const struct dcgw_dtls_inspect_stats *s = dcgw_dtls_inspect_stats(c->in, side);
    uint64_t before = s->malformed + s->early_epoch + s->held_app_data + s->conflicts;
    ck_assert_msg(craft_feed(c, side, n) == DCGW_INSPECT_DROP, "%s passed", what);
    ck_assert_msg(s->malformed + s->early_epoch + s->held_app_data + s->conflicts == before + 1,
                  "%s not counted", what);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c->in), DCGW_INSPECT_INSPECTING);
}

START_TEST(malformed_records_are_dropped)
{
    struct craft c;
    craft_init(&c, 0, 0);
    uint8_t *b = c.buf;
    size_t n;
    drop_malformed(&c, 0, 0, "empty datagram");
    n = hs_rec(b, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY);
    drop_malformed(&c, 0, 5, "truncated record header");
    drop_malformed(&c, 0, 12, "record header one byte short");
    b[12] += 1;
    drop_malformed(&c, 0, n, "record length beyond the datagram");
    /* a good record followed by a bad one: the whole datagram goes, nothing is applied */
    b[12] -= 1;
    memcpy(b + n, "\x16\xfe\xfd\x00", 4);
    drop_malformed(&c, 0, n + 4, "trailing garbage");
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(c.in, &st);
    ck_assert_int_eq(st.client, -1);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 0)->fragments, 0);

    static const uint8_t types[] = {0, 19, 24, 25, 26, 0x40, 0x80, 0xff};
    for (unsigned i = 0; i < sizeof(types); i++) {
        n = put_rec(b, types[i], 0, (const uint8_t *)"\x01\x02", 2);
        drop_malformed(&c, i & 1, n, "unknown content type");
    }
    n = put_rec(b, 22, 0, CH_BODY, 0);
    drop_malformed(&c, 0, n, "empty handshake record");
    n = put_rec(b, 22, 0, CH_BODY, 11);
    drop_malformed(&c, 0, n, "truncated handshake header");
    n = hs_rec(b, 1, 15, 0, 10, 10, CH_BODY);
    drop_malformed(&c, 0, n, "fragment beyond message length");
    n = hs_rec(b, 1, 0xffffff, 0, 0xffffff, 2, CH_BODY);
    drop_malformed(&c, 0, n, "fragment_offset + fragment_length overflow");
    n = hs_rec(b, 1, 0xffffff, 0, 0xfffffe, 1, CH_BODY);
    b[13 + 11] = 2; /* fragment_length 2 in a record that carries 1 */
    drop_malformed(&c, 0, n, "fragment beyond its record");
    n = hs_rec(b, 1, sizeof(CH_BODY), DCGW_INSPECT_MAX_MESSAGE_SEQ, 0, sizeof(CH_BODY), CH_BODY);
    drop_malformed(&c, 0, n, "message_seq out of range");
    n = hs_rec(b, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY);
    b[1] = 0x03, b[2] = 0x03;
    drop_malformed(&c, 0, n, "TLS record version");
    n = put_rec(b, 20, 0, (const uint8_t *)"\x02", 1);
    drop_malformed(&c, 0, n, "ChangeCipherSpec of value 2");
    n = put_rec(b, 21, 0, (const uint8_t *)"\x02\x28\x00", 3);
    drop_malformed(&c, 1, n, "three-byte alert");
    n = put_rec(b, 23, 0, (const uint8_t *)"data", 4);
    drop_malformed(&c, 1, n, "application data in epoch 0");
    n = put_rec(b, 23, 1, (const uint8_t *)"data", 4);
    drop_malformed(&c, 1, n, "application data before verification");
    n = put_rec(b, 22, 1, (const uint8_t *)"encrypted?", 10);
    drop_malformed(&c, 1, n, "epoch 1 before any hello");
    n = put_rec(b, 20, 0, (const uint8_t *)"\x01", 1);
    drop_malformed(&c, 1, n, "ChangeCipherSpec before any hello");
    n = put_rec(b, 22, 7, (const uint8_t *)"whatever", 8);
    drop_malformed(&c, 0, n, "epoch 7");
    memcpy(b, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT));
    drop_malformed(&c, 0, sizeof(DTLS13_CIPHERTEXT) - 4, "DTLS 1.3 header while inspecting");
    drop_malformed(&c, 0, sizeof(DTLS13_CIPHERTEXT), "DTLS 1.3 ciphertext while inspecting");
    n = put_rec(b, 21, 0, (const uint8_t *)"\x01\x00", 2);
    n += put_rec(b + n, 99, 0, (const uint8_t *)"\x01\x02", 2);
    drop_malformed(&c, 0, n, "unknown type in a second record");
    /* none of it wedged the flow: a good handshake still verifies */
    craft_hellos(&c);
    craft_finish(&c);
    /* an alert passes */
    ck_assert_int_eq(craft_feed(&c, 0, put_rec(b, 21, 0, (const uint8_t *)"\x02\x28", 2)),
                     DCGW_INSPECT_PASS);
    dcgw_dtls_inspect_free(c.in);

    /* API misuse */
    craft_init(&c, 0, 0);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, 2, b, 1), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, -1, b, 1), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_dtls_inspect_datagram(c.in, 0, NULL, 1), DCGW_EINVAL);
    ck_assert_ptr_null(dcgw_dtls_inspect_side(c.in, 2));
    ck_assert_ptr_null(dcgw_dtls_inspect_stats(c.in, -1));
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(malformed_messages_are_dropped)
{
    struct craft c;
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    uint8_t m[600], *b = c.buf;
    size_t n;
    /* certificate_list length says more than there is */
    n = cert_msg(m, c.der[1], sizeof(c.der[1]));
    m[2] += 10;
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n, 1, 0, (uint32_t)n, m), "list length lies");
    /* one certificate's length runs past the list */
    n = cert_msg(m, c.der[1], sizeof(c.der[1]));
    m[5] += 1;
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n, 1, 0, (uint32_t)n, m), "cert length lies");
    /* a zero-length certificate */
    static const uint8_t zero[] = {0, 0, 3, 0, 0, 0};
    drop_malformed(&c, 1, hs_rec(b, 11, 6, 1, 0, 6, zero), "zero-length certificate");
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->bad_messages, 3);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_PENDING);
    /* fragments that contradict each other */
    n = cert_msg(m, c.der[1], sizeof(c.der[1]));
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(b, 11, (uint32_t)n, 1, 0, 100, m)), 0);
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n + 1, 1, 100, 100, m + 100), "other length");
    drop_malformed(&c, 1, hs_rec(b, 12, (uint32_t)n, 1, 100, 100, m + 100), "other type");
    m[50] ^= 0xff;
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n, 1, 40, 100, m + 40), "other bytes");
    m[50] ^= 0xff;
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n, 0, 0, 100, m), "Certificate before hello");
    drop_malformed(&c, 1, hs_rec(b, 11, (uint32_t)n, 3, 0, 100, m), "Certificate not after hello");
    drop_malformed(&c, 1, hs_rec(b, 1, sizeof(CH_BODY), 1, 0, sizeof(CH_BODY), CH_BODY),
                   "ClientHello from the server");
    drop_malformed(&c, 0, hs_rec(b, 2, sizeof(SH_BODY), 1, 0, sizeof(SH_BODY), SH_BODY),
                   "ServerHello from the client");
    ck_assert_int_eq(
        craft_feed(&c, 1, hs_rec(b, 11, (uint32_t)n, 1, 100, (uint32_t)n - 100, m + 100)),
        DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_int_eq(craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);

    /* a hello that does not parse is dropped and forgotten; the good one is read after */
    craft_init(&c, 0, 0);
    drop_malformed(&c, 0, hs_rec(b, 1, 30, 0, 0, 30, CH_BODY), "short ClientHello");
    uint8_t ext[sizeof(CH_BODY) + 2];
    memcpy(ext, CH_BODY, sizeof(CH_BODY));
    ext[sizeof(CH_BODY)] = 0, ext[sizeof(CH_BODY) + 1] = 9; /* extensions: 9 bytes, none there */
    drop_malformed(&c, 0, hs_rec(b, 1, sizeof(ext), 0, 0, sizeof(ext), ext), "extensions lie");
    craft_hellos(&c);
    craft_finish(&c);
    dcgw_dtls_inspect_free(c.in);

    /* the same side's messages keep failing: uninspectable, and the policy rejects it */
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    for (int i = 0; i < DCGW_INSPECT_MAX_BAD_MESSAGES; i++)
        craft_feed(&c, 0, hs_rec(b, 11, 6, 1, 0, 6, zero));
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_BLOCKED);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 0)->err, DCGW_EMALFORMED);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(missing_certificates_block)
{
    struct craft c;
    uint8_t *b = c.buf;
    static const uint8_t empty_list[4] = {0, 0, 0, 0};
    /* _i: 0 the client sends an empty list, 1 the server does, 2 the client's next message
     * is a ClientKeyExchange, 3 the server's is a ServerKeyExchange, 4 the server sends
     * ChangeCipherSpec without a Certificate (resumption) */
    int side = _i == 0 || _i == 2 ? 0 : 1;
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    size_t n;
    if (_i == 4)
        ck_assert_int_eq(craft_cert(&c, 0), DCGW_INSPECT_PASS); /* the client's is fine */
    if (_i < 2)
        n = hs_rec(b, 11, 3, 1, 0, 3, empty_list);
    else if (_i < 4)
        n = hs_rec(b, _i == 2 ? 16 : 12, 4, 1, 0, 4, empty_list);
    else
        n = put_rec(b, 20, 0, (const uint8_t *)"\x01", 1);
    ck_assert_int_eq(craft_feed(&c, side, n), DCGW_INSPECT_BLOCK);
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(c.in, &st);
    ck_assert_int_eq(st.side, side);
    ck_assert_int_eq(st.err, DCGW_EPROTO);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, side)->cert, DCGW_INSPECT_CERT_NONE);
    dcgw_dtls_inspect_free(c.in);
    /* a client's ChangeCipherSpec may overtake its Certificate: not a failure by itself */
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    ck_assert_int_eq(craft_feed(&c, 0, put_rec(b, 20, 0, (const uint8_t *)"\x01", 1)), 0);
    ck_assert_int_eq(craft_feed(&c, 0, put_rec(b, 22, 1, (const uint8_t *)"finished", 8)), 0);
    ck_assert(dcgw_dtls_inspect_side(c.in, 0)->ccs_seen);
    craft_finish(&c);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

/* A hello body followed by an extensions block. */
static size_t hello_with(uint8_t *o, const uint8_t *body, size_t n, const uint8_t *ext, size_t en)
{
    memcpy(o, body, n);
    o[n] = (uint8_t)(en >> 8), o[n + 1] = (uint8_t)en;
    memcpy(o + n + 2, ext, en);
    return n + 2 + en;
}

START_TEST(crafted_hellos)
{
    struct craft c;
    uint8_t *b = c.buf, h[256];
    size_t n;
    static const uint8_t odd_list[] = {0, 43, 0, 4, 3, 0xfe, 0xfd, 0xfe};
    static const uint8_t long_ext[] = {0, 43, 0, 9, 2, 0xfe, 0xfd};
    static const uint8_t sv12[] = {0, 43, 0, 3, 2, 0xfe, 0xfd, 0xff, 0x01, 0, 1, 0};
    static const uint8_t sel_bad[] = {0, 43, 0, 3, 0xfe, 0xfd, 0};
    static const uint8_t sel12[] = {0, 43, 0, 2, 0xfe, 0xfd};
    craft_init(&c, 0, 0);
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), odd_list, sizeof(odd_list));
    drop_malformed(&c, 0, hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h), "odd version list");
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), long_ext, sizeof(long_ext));
    drop_malformed(&c, 0, hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h), "extension too long");
    n = hello_with(h, CH_BODY, sizeof(CH_BODY), sv12, sizeof(sv12));
    ck_assert_int_eq(craft_feed(&c, 0, hs_rec(b, 1, (uint32_t)n, 0, 0, (uint32_t)n, h)), 0);
    drop_malformed(&c, 1, hs_rec(b, 2, 20, 0, 0, 20, SH_BODY), "short ServerHello");
    n = hello_with(h, SH_BODY, sizeof(SH_BODY), sel_bad, sizeof(sel_bad));
    drop_malformed(&c, 1, hs_rec(b, 2, (uint32_t)n, 0, 0, (uint32_t)n, h), "3-byte selection");
    /* the server's Certificate overtakes its ServerHello: read once the hello is there */
    ck_assert_int_eq(craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_PENDING);
    n = hello_with(h, SH_BODY, sizeof(SH_BODY), sel12, sizeof(sel12));
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(b, 2, (uint32_t)n, 0, 0, (uint32_t)n, h)), 0);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    ck_assert_int_eq(craft_cert(&c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(c.in);

    /* a "Certificate" two places after where the ServerHello turns out to be is forgotten */
    craft_init(&c, 0, 0);
    ck_assert_int_eq(
        craft_feed(&c, 0, hs_rec(b, 1, sizeof(CH_BODY), 1, 0, sizeof(CH_BODY), CH_BODY)), 0);
    uint8_t m[400];
    uint32_t cm = (uint32_t)cert_msg(m, c.der[1], sizeof(c.der[1]));
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(b, 11, cm, 2, 0, 50, m)), DCGW_INSPECT_PASS);
    ck_assert_int_eq(
        craft_feed(&c, 1, hs_rec(b, 2, sizeof(SH_BODY), 0, 0, sizeof(SH_BODY), SH_BODY)), 0);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->buffered_peak, cm + (cm + 7) / 8);
    /* message_seq 2 is free again: a ServerKeyExchange may take it */
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(b, 12, 4, 2, 0, 4, m)), DCGW_INSPECT_PASS);
    ck_assert_int_eq(craft_cert(&c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->cert, DCGW_INSPECT_CERT_MATCHED);
    /* the client's hello was at message_seq 1: a Certificate at 0 cannot be its own */
    drop_malformed(&c, 0, hs_rec(b, 11, cm, 0, 0, cm, m), "Certificate before its hello");
    cert_msg(m, c.der[0], sizeof(c.der[0])); /* as long as the far end's */
    ck_assert_int_eq(craft_feed(&c, 0, hs_rec(b, 11, cm, 2, 0, cm, m)), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c.in), DCGW_INSPECT_VERIFIED);
    /* an epoch-0 record above 2^14 bytes (RFC 6347 §4.1) */
    static uint8_t big[13 + 16385];
    put_rec(big, 21, 0, big + 13, 16385);
    ck_assert_int_eq(feed(c.in, 0, big, sizeof(big)), DCGW_INSPECT_DROP);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(reassembly_bound_follows_the_policy)
{
    for (int allow = 0; allow < 2; allow++) {
        struct craft c;
        craft_init(&c, allow ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : 0, 4096);
        craft_hellos(&c);
        /* a Certificate that claims 5000 bytes: over the 4 KiB bound at its first fragment */
        int v = craft_feed(&c, 1, hs_rec(c.buf, 11, 5000, 1, 0, 10, c.der[1]));
        ck_assert_int_eq(v, allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(c.in, 1);
        ck_assert_int_eq(sd->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
        ck_assert_int_eq(sd->err, DCGW_ELIMIT);
        ck_assert_ptr_nonnull(strstr(sd->reason, "4096-byte bound"));
        ck_assert_int_eq(dcgw_dtls_inspect_state(c.in),
                         allow ? DCGW_INSPECT_UNINSPECTED_ALLOWED : DCGW_INSPECT_BLOCKED);
        /* application data now follows the decision */
        v = craft_feed(&c, 0, put_rec(c.buf, 23, 1, (const uint8_t *)"data", 4));
        ck_assert_int_eq(v, allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        dcgw_dtls_inspect_free(c.in);
    }
    /* just under the bound is fine: message + bitmap */
    struct craft c;
    craft_init(&c, 0, 4096);
    craft_hellos(&c);
    ck_assert_int_eq(craft_feed(&c, 1, hs_rec(c.buf, 11, 3600, 1, 0, 10, c.der[1])), 0);
    ck_assert_uint_eq(dcgw_dtls_inspect_stats(c.in, 1)->buffered_peak, 3600 + 450);
    dcgw_dtls_inspect_free(c.in);

    /* an end-entity certificate above DCGW_CERT_DER_MAX is not hashed: uninspectable */
    craft_init(&c, 0, 0);
    craft_hellos(&c);
    static uint8_t der[DCGW_CERT_DER_MAX + 1000], msg[sizeof(der) + 6], dgram[13 + 12 + 10000];
    memset(der, 0x42, sizeof(der));
    uint32_t ml = (uint32_t)cert_msg(msg, der, sizeof(der));
    int v = DCGW_INSPECT_PASS;
    for (uint32_t off = 0; off < ml; off += 10000) {
        ck_assert_int_eq(v, DCGW_INSPECT_PASS);
        uint32_t fl = ml - off < 10000 ? ml - off : 10000;
        size_t fn = put_frag(dgram + 13, 11, ml, 1, off, fl, msg + off);
        v = feed(c.in, 1, dgram, put_rec(dgram, 22, 0, dgram + 13, fn));
    }
    ck_assert_int_eq(v, DCGW_INSPECT_BLOCK);
    ck_assert_int_eq(dcgw_dtls_inspect_side(c.in, 1)->err, DCGW_ELIMIT);
    ck_assert_ptr_nonnull(strstr(dcgw_dtls_inspect_side(c.in, 1)->reason, "cannot be hashed"));
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

START_TEST(settings_are_validated)
{
    struct dcgw_fingerprint fp = {.alg = DCGW_HASH_SHA256, .len = 32}, bad = fp;
    bad.len = 20;
    struct dcgw_fingerprint many[DCGW_INSPECT_MAX_FINGERPRINTS + 1];
    for (size_t i = 0; i < DCGW_INSPECT_MAX_FINGERPRINTS + 1; i++)
        many[i] = fp;
    struct dcgw_dtls_inspect *in = NULL;
    struct dcgw_dtls_inspect_settings s = {.fps = {&fp, &fp}, .n_fps = {1, 1}};
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), 0);
    dcgw_dtls_inspect_free(in);
    dcgw_dtls_inspect_free(NULL);
    in = NULL;
    s.n_fps[1] = 0;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.n_fps[1] = 1;
    s.fps[0] = &bad;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.fps[0] = many;
    s.n_fps[0] = DCGW_INSPECT_MAX_FINGERPRINTS + 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    s.n_fps[0] = DCGW_INSPECT_MAX_FINGERPRINTS;
    s.max_handshake_bytes = DCGW_INSPECT_HANDSHAKE_BYTES_MIN - 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_ERANGE);
    s.max_handshake_bytes = DCGW_INSPECT_HANDSHAKE_BYTES_MAX + 1;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_ERANGE);
    s.max_handshake_bytes = 0;
    s.policy = (enum dcgw_dtls_inspect_policy)7;
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, NULL, &in), DCGW_EINVAL);
    ck_assert_ptr_null(in);
    ck_assert_str_eq(dcgw_dtls_inspect_verdict_name(DCGW_INSPECT_DROP), "drop");
    ck_assert_str_eq(dcgw_dtls_inspect_verdict_name(-5), "?");
    ck_assert_str_eq(dcgw_dtls_inspect_cert_name(DCGW_INSPECT_CERT_MISMATCH), "mismatch");
    ck_assert_str_eq(dcgw_dtls_inspect_state_name(DCGW_INSPECT_UNINSPECTED_ALLOWED),
                     "uninspected-allowed");
}
END_TEST

/* The owner's callback may query but not feed the inspector. */
static struct dcgw_dtls_inspect *reentry_in;
static int reentry_rc;

static void on_state_reenter(void *ud, enum dcgw_dtls_inspect_state st, int side)
{
    (void)ud, (void)st, (void)side;
    reentry_rc = dcgw_dtls_inspect_datagram(reentry_in, 0, (const uint8_t *)"x", 1);
    ck_assert_int_eq(dcgw_dtls_inspect_state(reentry_in), DCGW_INSPECT_VERIFIED);
}

START_TEST(callback_may_not_reenter)
{
    struct craft c;
    craft_init(&c, 0, 0);
    dcgw_dtls_inspect_free(c.in);
    struct dcgw_dtls_inspect_settings s = {.fps = {c.io.fps[0], c.io.fps[1]}, .n_fps = {1, 1}};
    struct dcgw_dtls_inspect_callbacks cbs = {.on_state = on_state_reenter};
    ck_assert_int_eq(dcgw_dtls_inspect_new(&s, &cbs, &c.in), 0);
    reentry_in = c.in;
    craft_hellos(&c);
    craft_finish(&c);
    ck_assert_int_eq(reentry_rc, DCGW_ESTATE);
    dcgw_dtls_inspect_free(c.in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_inspect");
    TCase *tc = tcase_create("real_handshakes");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, real_handshake_verified, 0, 4);
    tcase_add_test(tc, small_mtu_fragments_the_certificate);
    tcase_add_test(tc, first_certificate_of_a_chain_is_hashed);
    tcase_add_test(tc, retransmitted_flights_pass);
    tcase_add_test(tc, reordered_flights_pass);
    tcase_add_loop_test(tc, wrong_fingerprint_blocks_that_side, 0, 4);
    tcase_add_test(tc, weak_hash_floor);
    tcase_add_test(tc, application_data_held_until_verified);
    tcase_add_loop_test(tc, dtls13_hellos_follow_the_policy, 0, 3);
    tcase_add_loop_test(tc, real_peers_captured, 0, 3);
    tcase_add_test(tc, client_offering_13_and_12_is_inspected);
    suite_add_tcase(s, tc);
    tc = tcase_create("crafted");
    tcase_add_test(tc, crafted_handshake_fragmented_out_of_order);
    tcase_add_test(tc, malformed_records_are_dropped);
    tcase_add_test(tc, malformed_messages_are_dropped);
    tcase_add_loop_test(tc, missing_certificates_block, 0, 5);
    tcase_add_test(tc, crafted_hellos);
    tcase_add_test(tc, reassembly_bound_follows_the_policy);
    tcase_add_test(tc, settings_are_validated);
    tcase_add_test(tc, callback_may_not_reenter);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
