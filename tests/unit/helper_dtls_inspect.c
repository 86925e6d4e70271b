/* Shared fixtures of the DTLS handshake inspector tests: see helper_dtls_inspect.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/error.h"
#include "helper_dtls_inspect.h"

uint64_t tinsp_clock_ahead_us;

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
        tinsp_clock_ahead_us += 3000000;
        ck_assert_int_gt(DTLSv1_handle_timeout(e->ssl), 0);
    }
}

/* A complete handshake, then one application record each way. */
void tinsp_handshake(struct world *w, const struct hs_opts *o, const char *data_dir)
{
    memset(w, 0, sizeof(*w));
    w->client = o->ue_server ? 1 : 0;
    w->lose_server_flight = o->lose;
    char pem[512], key[512];
    snprintf(pem, sizeof(pem), "%s/dtls/fixed.pem", data_dir);
    snprintf(key, sizeof(key), "%s/dtls/fixed.key", data_dir);
    for (int k = 0; k < SIDES; k++) {
        if (o->fixed)
            ck_assert_int_eq(dcgw_cert_load_pem(pem, key, &w->cert[k]), 0);
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

void tinsp_world_free(struct world *w)
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

uint32_t tinsp_rd16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

uint32_t tinsp_rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Counts handshake fragments of message type t (epoch 0) in a datagram; *partial gets
 * those that carry only part of their message. Also tells whether it has app data. */
unsigned tinsp_frags_of(const uint8_t *p, size_t n, int t, unsigned *partial, bool *app)
{
    unsigned count = 0;
    for (size_t off = 0; off + 13 <= n;) {
        size_t len = tinsp_rd16(p + off + 11);
        if (p[off] == 23 && app)
            *app = true;
        if (p[off] == 22 && tinsp_rd16(p + off + 3) == 0)
            for (size_t h = off + 13; h + 12 <= off + 13 + len; h += 12 + tinsp_rd24(p + h + 9))
                if (p[h] == t) {
                    count++;
                    if (partial && tinsp_rd24(p + h + 9) < tinsp_rd24(p + h + 1))
                        (*partial)++;
                }
        off += 13 + len;
    }
    return count;
}

bool tinsp_has_msg(const struct dg *d, int t)
{
    return tinsp_frags_of(d->p, d->n, t, NULL, NULL) > 0;
}

bool tinsp_has_app(const uint8_t *p, size_t n)
{
    bool app = false;
    tinsp_frags_of(p, n, -1, NULL, &app);
    return app;
}

/* ---- driving the inspector ----------------------------------------------------------------- */

static void on_state(void *ud, enum dcgw_dtls_inspect_state st, int side)
{
    struct seen *s = ud;
    s->events++;
    s->last_state = (int)st;
    s->last_side = side;
}

struct dcgw_fingerprint tinsp_fp_of(const struct dcgw_cert *c, enum dcgw_hash h)
{
    struct dcgw_fingerprint fp;
    ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &fp), 0);
    return fp;
}

/* Per side: a stranger's SHA-256, the right SHA-1 (under the default floor), the right
 * SHA-256: a match must be index 2. */
struct iopts tinsp_right_fps(const struct world *w)
{
    struct iopts io = {0};
    for (int k = 0; k < SIDES; k++) {
        io.fps[k][0] = tinsp_fp_of(w->other, DCGW_HASH_SHA256);
        io.fps[k][1] = tinsp_fp_of(w->cert[k], DCGW_HASH_SHA1);
        io.fps[k][2] = tinsp_fp_of(w->cert[k], DCGW_HASH_SHA256);
        io.n[k] = 3;
    }
    return io;
}

struct dcgw_dtls_inspect *tinsp_new(const struct iopts *io, struct seen *seen)
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
int tinsp_feed(struct dcgw_dtls_inspect *in, int side, const uint8_t *p, size_t n)
{
    int v = dcgw_dtls_inspect_datagram(in, side, p, n);
    enum dcgw_dtls_inspect_state st = dcgw_dtls_inspect_state(in);
    ck_assert(v == DCGW_INSPECT_PASS || v == DCGW_INSPECT_DROP || v == DCGW_INSPECT_BLOCK);
    ck_assert_int_eq(v == DCGW_INSPECT_BLOCK, st == DCGW_INSPECT_BLOCKED);
    /* no application data before both certificates matched (or the policy let it be) */
    if (v == DCGW_INSPECT_PASS && tinsp_has_app(p, n))
        ck_assert(st == DCGW_INSPECT_VERIFIED || st == DCGW_INSPECT_UNINSPECTED_ALLOWED);
    return v;
}

int tinsp_feed_dg(struct dcgw_dtls_inspect *in, const struct dg *d)
{
    return tinsp_feed(in, d->side, d->p, d->n);
}

/* Feeds datagrams in the given order; every one must get `want`. */
void tinsp_feed_all(struct dcgw_dtls_inspect *in, const struct world *w, const size_t *order,
                    size_t n, int want)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = order ? order[i] : i;
        int v = tinsp_feed_dg(in, &w->dg[j]);
        ck_assert_msg(v == want, "datagram %zu (side %d, %zu bytes): %s", j, w->dg[j].side,
                      w->dg[j].n, dcgw_dtls_inspect_verdict_name(v));
    }
}

void tinsp_assert_verified(const struct dcgw_dtls_inspect *in, const struct world *w, size_t index)
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
        struct dcgw_fingerprint want = tinsp_fp_of(w->cert[k], sd->fp.alg);
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

/* ---- seeds for the fuzz target: [flags] then [side][len:2][datagram]... ------------------- */

void tinsp_corpus_write(const char *name, uint8_t flags, const struct dg *dgs, size_t n)
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

/* ---- crafted records ----------------------------------------------------------------------- */

size_t tinsp_put_rec(uint8_t *o, uint8_t type, uint16_t epoch, const uint8_t *body, size_t n)
{
    uint8_t h[13] = {type, 0xfe, 0xfd, (uint8_t)(epoch >> 8), (uint8_t)epoch, 0, 0, 0,
                     0,    0,    1,    (uint8_t)(n >> 8),     (uint8_t)n};
    memcpy(o, h, 13);
    memmove(o + 13, body, n);
    return 13 + n;
}

/* One handshake fragment (RFC 6347 §4.2.2 header) into o. */
size_t tinsp_put_frag(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
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
size_t tinsp_hs_rec(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
                    uint32_t flen, const uint8_t *data)
{
    uint8_t tmp[4096];
    size_t n = tinsp_put_frag(tmp, type, len, seq, off, flen, data);
    return tinsp_put_rec(o, 22, 0, tmp, n);
}

size_t tinsp_cert_msg(uint8_t *o, const uint8_t *der, size_t n)
{
    uint8_t h[6] = {(uint8_t)((n + 3) >> 16), (uint8_t)((n + 3) >> 8), (uint8_t)(n + 3),
                    (uint8_t)(n >> 16),       (uint8_t)(n >> 8),       (uint8_t)n};
    memcpy(o, h, 6);
    memcpy(o + 6, der, n);
    return 6 + n;
}

void tinsp_craft_init(struct craft *c, enum dcgw_dtls_inspect_policy policy, size_t bound)
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
    c->in = tinsp_new(&c->io, NULL);
}

int tinsp_craft_feed(struct craft *c, int side, size_t n)
{
    return tinsp_feed(c->in, side, c->buf, n);
}

/* ClientHello (side 0, seq 0) and ServerHello (side 1, seq 0). */
void tinsp_craft_hellos(struct craft *c)
{
    ck_assert_int_eq(
        tinsp_craft_feed(c, 0,
                         tinsp_hs_rec(c->buf, 1, sizeof(CH_BODY), 0, 0, sizeof(CH_BODY), CH_BODY)),
        DCGW_INSPECT_PASS);
    ck_assert_int_eq(
        tinsp_craft_feed(c, 1,
                         tinsp_hs_rec(c->buf, 2, sizeof(SH_BODY), 0, 0, sizeof(SH_BODY), SH_BODY)),
        DCGW_INSPECT_PASS);
}

/* Side k's Certificate at message_seq 1, whole. */
int tinsp_craft_cert(struct craft *c, int k)
{
    uint8_t m[400];
    size_t n = tinsp_cert_msg(m, c->der[k], sizeof(c->der[k]));
    return tinsp_craft_feed(c, k, tinsp_hs_rec(c->buf, 11, (uint32_t)n, 1, 0, (uint32_t)n, m));
}

void tinsp_craft_finish(struct craft *c)
{
    ck_assert_int_eq(tinsp_craft_cert(c, 1), DCGW_INSPECT_PASS);
    ck_assert_int_eq(tinsp_craft_cert(c, 0), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c->in), DCGW_INSPECT_VERIFIED);
}

/* A datagram that must be dropped as malformed without changing anything. */
void tinsp_drop_malformed(struct craft *c, int side, size_t n, const char *what)
{
    const struct dcgw_dtls_inspect_stats *s = dcgw_dtls_inspect_stats(c->in, side);
    uint64_t before = s->malformed + s->early_epoch + s->held_app_data + s->conflicts;
    ck_assert_msg(tinsp_craft_feed(c, side, n) == DCGW_INSPECT_DROP, "%s passed", what);
    ck_assert_msg(s->malformed + s->early_epoch + s->held_app_data + s->conflicts == before + 1,
                  "%s not counted", what);
    ck_assert_int_eq(dcgw_dtls_inspect_state(c->in), DCGW_INSPECT_INSPECTING);
}
