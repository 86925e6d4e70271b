/* DTLS 1.2 stage over a datagram BIO of our own: no sockets, no clock reads of our own.
 * See docs/dtls.md for the design (BIO, timers, fingerprint binding, cipher policy). */
#include "dcgw/stages/dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/base/reentry.h"

/* AEAD only (RFC 9325 §4.2 recommends AEAD suites with ECDHE); ECDSA first since WebRTC
 * peers (Chromium, aiortc, us) use ECDSA P-256 certificates. */
static const char default_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                      "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                      "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                      "ECDHE-RSA-AES128-GCM-SHA256:"
                                      "ECDHE-RSA-CHACHA20-POLY1305:"
                                      "ECDHE-RSA-AES256-GCM-SHA384";
/* X25519 first: the cheaper server-side handshake (DESIGN §10). */
static const char default_groups[] = "X25519:P-256:P-384";

enum { DTLS_RECORD_HEADER = 13 }; /* RFC 6347 §4.1 */

struct dcgw_dtls_ctx {
    unsigned refs;
    SSL_CTX *ssl_ctx;
    struct dcgw_cert *cert;
};

struct dcgw_dtls {
    struct dcgw_dtls_ctx *ctx;
    SSL *ssl;
    struct dcgw_dtls_callbacks cbs;
    enum dcgw_dtls_state state;
    bool client;
    bool fp_checked;        /* the verify callback matched the peer certificate */
    bool trimmed;           /* dcgw_dtls_trim gave the record buffers back */
    struct dcgw_reentry re; /* inside start / recv / handle_timeout / send (base/reentry.h) */
    enum dcgw_hash min_hash;
    unsigned mtu, max_plaintext;
    unsigned initial_timeout_ms, max_timeout_ms, handshake_timeout_ms;
    int verify_err; /* DCGW_EFINGERPRINT / DCGW_EWEAKHASH set by the verify callback */
    int peer_alert; /* (level << 8 | desc) of a fatal alert received, -1 for none */
    size_t n_fps;
    struct dcgw_fingerprint fps[DCGW_DTLS_MAX_FINGERPRINTS];
    struct dcgw_fingerprint matched;
    /* the datagram being read (borrowed) */
    const uint8_t *rx;
    size_t rx_len;
    /* timers, in the caller's clock */
    uint64_t rtx_deadline, hs_deadline;
    struct dcgw_dtls_stats stats;
    char reason[DCGW_DTLS_REASON_MAX];
};

/* ---- the datagram BIO ---------------------------------------------------------------------
 * OpenSSL 3.0's DTLS record layer packs the records of a flight into its write buffer up to
 * the MTU and hands the BIO one whole datagram per BIO_write (it fragments handshake
 * messages so that each fits). So every write goes straight to the send callback as one
 * datagram: no copy, no merging. Reads return exactly one datagram (the one dcgw_dtls_recv
 * is processing), never a merge of several, which BIO_s_mem would do. */

static int bio_write(BIO *b, const char *data, int len)
{
    struct dcgw_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || len < 0)
        return -1;
    const uint8_t *p = (const uint8_t *)data;
    struct dcgw_dtls_scan sc;
    dcgw_dtls_record_scan(p, (size_t)len, &sc);
    d->stats.records_out += sc.records;
    d->stats.datagrams_out++;
    d->stats.bytes_out += (size_t)len;
    d->cbs.send(d->cbs.ud, p, (size_t)len);
    return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
    struct dcgw_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || !d->rx || len <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* datagram semantics: what does not fit is lost (OpenSSL's buffer holds a maximal one) */
    size_t n = d->rx_len < (size_t)len ? d->rx_len : (size_t)len;
    memcpy(buf, d->rx, n);
    d->rx = NULL;
    d->rx_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct dcgw_dtls *d = BIO_get_data(b);
    (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is buffered */
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_PENDING:
        return d && d->rx ? (long)d->rx_len : 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return d ? (long)d->mtu : 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0; /* our MTU is already the UDP payload size */
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
        return 1; /* timers are driven through next_timeout/handle_timeout */
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static uint64_t releases_total; /* dcgw_dtls_trim releases of this process (one thread) */

static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;
static BIO_METHOD *bio_method; /* built once per process, immutable afterwards */

static void bio_method_init(void)
{
    int idx = BIO_get_new_index();
    BIO_METHOD *m = idx > 0 ? BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK, "dcgw dtls datagram") : NULL;
    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create) &&
        BIO_meth_set_destroy(m, bio_destroy)) {
        bio_method = m;
        return;
    }
    BIO_meth_free(m);
}

/* Empties this thread's OpenSSL error queue, before a call whose SSL_get_error must not
 * see what someone else left there, and after it. On the data path that is twice per
 * record, and the queue is nearly always empty: ERR_peek_error is one thread-local lookup,
 * where ERR_clear_error also rewrites every slot of the queue (ERR_NUM_ERRORS). */
static void err_reset(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

/* ---- failures ------------------------------------------------------------------------------ */

static int fail(struct dcgw_dtls *d, int err, const char *reason)
{
    if (d->state == DCGW_DTLS_FAILED)
        return err;
    if (d->state == DCGW_DTLS_NEW || d->state == DCGW_DTLS_HANDSHAKING)
        d->stats.handshake_failures++;
    d->state = DCGW_DTLS_FAILED;
    if (reason != d->reason)
        snprintf(d->reason, sizeof(d->reason), "%s", reason);
    d->rtx_deadline = UINT64_MAX;
    DCGW_LOG_RL(DTLS, INFO, "%s leg failed: %s: %s", d->client ? "client" : "server",
                dcgw_err_name(err), d->reason);
    if (d->cbs.on_failed)
        d->cbs.on_failed(d->cbs.ud, err, d->reason);
    return err;
}

/* Maps the failure OpenSSL just reported to a dcgw error, most specific cause first. */
static int fail_openssl(struct dcgw_dtls *d)
{
    char why[DCGW_DTLS_REASON_MAX], es[256] = "no OpenSSL error queued";
    unsigned long e = ERR_peek_error();
    int err = DCGW_ETLS;
    if (e)
        ERR_error_string_n(e, es, sizeof(es));
    if (d->verify_err) {
        err = d->verify_err; /* d->reason was written by the verify callback */
    } else if (d->peer_alert >= 0) {
        err = DCGW_EALERT(d->peer_alert & 0xff);
        snprintf(why, sizeof(why), "peer sent fatal alert %s (%d)",
                 SSL_alert_desc_string_long(d->peer_alert), d->peer_alert & 0xff);
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_READ_TIMEOUT_EXPIRED) {
        err = DCGW_ETIMEOUT;
        snprintf(why, sizeof(why), "no answer to the handshake after repeated retransmissions");
    } else {
        snprintf(why, sizeof(why), "%s", es);
    }
    ERR_clear_error();
    return fail(d, err, d->verify_err ? d->reason : why);
}

/* ---- fingerprint binding ------------------------------------------------------------------ */

/* Compares the peer certificate with each SDP fingerprint at or above the hash floor.
 * Returns 0 (d->matched set) or DCGW_EWEAKHASH / DCGW_EFINGERPRINT with d->reason. */
static int check_peer(struct dcgw_dtls *d, X509 *peer)
{
    struct dcgw_fingerprint got[DCGW_HASH_SHA512 + 1];
    bool have[DCGW_HASH_SHA512 + 1] = {false};
    enum dcgw_hash best = DCGW_HASH_NONE;
    size_t usable = 0;
    for (size_t i = 0; i < d->n_fps; i++) {
        const struct dcgw_fingerprint *fp = &d->fps[i];
        if (fp->alg < d->min_hash)
            continue; /* below the configured floor: ignored */
        usable++;
        if (!have[fp->alg]) {
            if (dcgw_cert_fingerprint_x509(peer, fp->alg, &got[fp->alg]) != 0)
                continue;
            have[fp->alg] = true;
        }
        if (fp->alg > best)
            best = fp->alg;
        /* RFC 8122 §5: the certificate must match a fingerprint the peer signalled; the
         * comparison takes constant time. */
        if (dcgw_fingerprint_equal(&got[fp->alg], fp)) {
            d->matched = *fp;
            return 0;
        }
    }
    if (usable == 0) {
        snprintf(d->reason, sizeof(d->reason),
                 "none of the %zu SDP fingerprints uses %s or a stronger hash", d->n_fps,
                 dcgw_hash_name(d->min_hash));
        return DCGW_EWEAKHASH;
    }
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16] = "(unhashable)";
    if (best != DCGW_HASH_NONE)
        dcgw_fingerprint_format(&got[best], text, sizeof(text));
    snprintf(d->reason, sizeof(d->reason), "peer certificate %s matches none of %zu SDP %s", text,
             usable, usable == 1 ? "fingerprint" : "fingerprints");
    return DCGW_EFINGERPRINT;
}

/* Replaces OpenSSL's chain verification for both roles. RFC 5763 §6.7.1 / RFC 8122 §5:
 * the peer's certificate (self-signed as a rule) is trusted because its fingerprint
 * matches the SDP; chains, names and validity dates do not matter. On mismatch OpenSSL
 * sends the fatal alert bad_certificate (42) and the handshake stops before any key is
 * used, so no application data can ever be accepted from an unbound peer. */
static int verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct dcgw_dtls *d = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *peer = X509_STORE_CTX_get0_cert(sctx);
    if (!d || !peer) {
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    int rc = check_peer(d, peer);
    if (rc != 0) {
        d->verify_err = rc;
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED); /* -> bad_certificate */
        return 0;
    }
    d->fp_checked = true;
    X509_STORE_CTX_set_error(sctx, X509_V_OK);
    return 1;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    struct dcgw_dtls *d = SSL_get_app_data(ssl);
    if (!d || !(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL)
        return;
    if (where & SSL_CB_READ)
        d->peer_alert = ret;
    else
        DCGW_LOG_RL(DTLS, DEBUG, "sending fatal alert %s", SSL_alert_desc_string_long(ret));
}

/* ---- timers --------------------------------------------------------------------------------
 * OpenSSL 3.0 arms its retransmission timer with gettimeofday() and checks it the same way;
 * it cannot be given another clock. We choose its durations (this callback) and, after each
 * call into OpenSSL, translate the time it has left into the caller's clock: the deadline
 * is now_ms + remaining. Both clocks run at the same rate, so the deadline is right; if the
 * wall clock steps, handle_timeout finds OpenSSL not yet expired and simply re-arms. */

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    struct dcgw_dtls *d = SSL_get_app_data(ssl);
    uint64_t cap = (uint64_t)d->max_timeout_ms * 1000;
    /* RFC 6347 §4.2.4.1: start at the initial value, double on each retransmission. */
    uint64_t next = prev_us == 0 ? (uint64_t)d->initial_timeout_ms * 1000 : (uint64_t)prev_us * 2;
    return (unsigned)(next < cap ? next : cap);
}

static void update_timer(struct dcgw_dtls *d, uint64_t now_ms)
{
    struct timeval tv;
    d->rtx_deadline = UINT64_MAX;
    if (d->state != DCGW_DTLS_HANDSHAKING && d->state != DCGW_DTLS_CONNECTED)
        return;
    if (DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        uint64_t us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
        d->rtx_deadline = now_ms + (us + 999) / 1000;
    }
}

/* ---- context -------------------------------------------------------------------------------- */

static void ctx_unref(struct dcgw_dtls_ctx *ctx)
{
    if (!ctx || --ctx->refs > 0)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    dcgw_cert_unref(ctx->cert);
    free(ctx);
}

static int ctx_policy(SSL_CTX *c, const struct dcgw_dtls_ctx_settings *s)
{
    const char *ciphers = s->ciphers ? s->ciphers : default_ciphers;
    const char *groups = s->groups ? s->groups : default_groups;
    if (SSL_CTX_set_cipher_list(c, ciphers) != 1 || SSL_CTX_set1_groups_list(c, groups) != 1) {
        DCGW_ERROR(DTLS, "cipher list \"%s\" or group list \"%s\" refused", ciphers, groups);
        return DCGW_ECONFIG;
    }
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(c);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
        const SSL_CIPHER *ci = sk_SSL_CIPHER_value(sk, i);
        if (!SSL_CIPHER_is_aead(ci)) {
            DCGW_ERROR(DTLS, "cipher %s is not AEAD: refused", SSL_CIPHER_get_name(ci));
            return DCGW_ECONFIG;
        }
    }
    return 0;
}

int dcgw_dtls_ctx_new(const struct dcgw_dtls_ctx_settings *s, struct dcgw_dtls_ctx **out)
{
    if (!s || !s->cert || !out)
        return DCGW_EINVAL;
    CRYPTO_THREAD_run_once(&bio_once, bio_method_init);
    if (!bio_method)
        return DCGW_EINTERNAL;
    struct dcgw_dtls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return DCGW_ENOMEM;
    ctx->refs = 1;
    ctx->cert = dcgw_cert_ref(s->cert);
    int rc = DCGW_EINTERNAL;
    SSL_CTX *c = ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (!c)
        goto fail;
    /* DTLS 1.2 only: 1.0 lacks AEAD suites, 1.3 would blind the relay inspector. */
    if (!SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(c, DTLS1_2_VERSION))
        goto fail;
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_QUERY_MTU |
                               SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_PRIORITIZE_CHACHA);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if ((rc = ctx_policy(c, s)) != 0)
        goto fail;
    /* SSL_CTX_set_tlsext_use_srtp returns 0 on success (an OpenSSL oddity). */
    if (s->srtp_profiles && SSL_CTX_set_tlsext_use_srtp(c, s->srtp_profiles) != 0) {
        rc = DCGW_ECONFIG;
        goto fail;
    }
    rc = DCGW_EINTERNAL;
    if (SSL_CTX_use_certificate(c, dcgw_cert_x509(s->cert)) != 1 ||
        SSL_CTX_use_PrivateKey(c, dcgw_cert_key(s->cert)) != 1 || SSL_CTX_check_private_key(c) != 1)
        goto fail;
    /* Both roles demand the peer's certificate (RFC 5763 §5: the server requests the
     * client's) and check it only against the SDP fingerprints. */
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(c, verify_cb, NULL);
    err_reset();
    *out = ctx;
    return 0;
fail:
    if (rc == DCGW_EINTERNAL) {
        char es[256];
        ERR_error_string_n(ERR_peek_error(), es, sizeof(es));
        DCGW_ERROR(DTLS, "SSL_CTX setup failed: %s", es);
    }
    err_reset();
    ctx_unref(ctx);
    return rc;
}

void dcgw_dtls_ctx_free(struct dcgw_dtls_ctx *ctx)
{
    ctx_unref(ctx);
}

struct dcgw_cert *dcgw_dtls_ctx_cert(const struct dcgw_dtls_ctx *ctx)
{
    return ctx->cert;
}

/* ---- leg ------------------------------------------------------------------------------------ */

static int check_settings(const struct dcgw_dtls_settings *s, const struct dcgw_dtls_callbacks *cbs)
{
    if (!s || !cbs || !cbs->send || !s->remote_fps || s->n_remote_fps == 0 ||
        s->n_remote_fps > DCGW_DTLS_MAX_FINGERPRINTS || (unsigned)s->min_hash > DCGW_HASH_SHA512)
        return DCGW_EINVAL;
    for (size_t i = 0; i < s->n_remote_fps; i++) {
        const struct dcgw_fingerprint *fp = &s->remote_fps[i];
        if (fp->alg == DCGW_HASH_NONE || (unsigned)fp->alg > DCGW_HASH_SHA512 ||
            fp->len != dcgw_hash_len(fp->alg))
            return DCGW_EINVAL;
    }
    unsigned init =
        s->initial_timeout_ms ? s->initial_timeout_ms : DCGW_DTLS_TIMEOUT_INITIAL_DEFAULT_MS;
    unsigned max = s->max_timeout_ms ? s->max_timeout_ms : DCGW_DTLS_TIMEOUT_MAX_DEFAULT_MS;
    if ((s->mtu && (s->mtu < DCGW_DTLS_MTU_MIN || s->mtu > DCGW_DTLS_MTU_MAX)) ||
        s->max_plaintext > DCGW_DTLS_PLAINTEXT_MAX || init < DCGW_DTLS_TIMEOUT_INITIAL_MIN_MS ||
        max > DCGW_DTLS_TIMEOUT_MAX_CEILING_MS || init > max)
        return DCGW_ERANGE;
    return 0;
}

static void apply_settings(struct dcgw_dtls *d, const struct dcgw_dtls_settings *s)
{
    d->client = s->client;
    d->min_hash = s->min_hash != DCGW_HASH_NONE ? s->min_hash : DCGW_HASH_SHA256;
    d->mtu = s->mtu ? s->mtu : DCGW_DTLS_MTU_DEFAULT;
    d->max_plaintext = s->max_plaintext ? s->max_plaintext : DCGW_DTLS_PLAINTEXT_MAX;
    d->initial_timeout_ms =
        s->initial_timeout_ms ? s->initial_timeout_ms : DCGW_DTLS_TIMEOUT_INITIAL_DEFAULT_MS;
    d->max_timeout_ms = s->max_timeout_ms ? s->max_timeout_ms : DCGW_DTLS_TIMEOUT_MAX_DEFAULT_MS;
    d->handshake_timeout_ms =
        s->handshake_timeout_ms ? s->handshake_timeout_ms : DCGW_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS;
    d->n_fps = s->n_remote_fps;
    memcpy(d->fps, s->remote_fps, s->n_remote_fps * sizeof(d->fps[0]));
}

/* OpenSSL's bounds for max_send_fragment are 512 .. 16384 (SSL3_RT_MAX_PLAIN_LENGTH). */
static unsigned send_fragment(const struct dcgw_dtls *d)
{
    unsigned f = d->max_plaintext > d->mtu ? d->max_plaintext : d->mtu;
    if (f < 512)
        f = 512;
    return f > SSL3_RT_MAX_PLAIN_LENGTH ? SSL3_RT_MAX_PLAIN_LENGTH : f;
}

int dcgw_dtls_new(struct dcgw_dtls_ctx *ctx, const struct dcgw_dtls_settings *s,
                  const struct dcgw_dtls_callbacks *cbs, struct dcgw_dtls **out)
{
    if (!ctx || !out)
        return DCGW_EINVAL;
    int rc = check_settings(s, cbs);
    if (rc != 0)
        return rc;
    struct dcgw_dtls *d = calloc(1, sizeof(*d));
    if (!d)
        return DCGW_ENOMEM;
    apply_settings(d, s);
    d->cbs = *cbs;
    d->peer_alert = -1;
    d->rtx_deadline = d->hs_deadline = UINT64_MAX;
    d->state = DCGW_DTLS_NEW;
    d->ctx = ctx;
    ctx->refs++;
    rc = DCGW_ENOMEM;
    BIO *b = NULL;
    if (!(d->ssl = SSL_new(ctx->ssl_ctx)) || !(b = BIO_new(bio_method)))
        goto fail;
    BIO_set_data(b, d);
    SSL_set_bio(d->ssl, b, b); /* the SSL owns the BIO now */
    SSL_set_app_data(d->ssl, d);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    rc = DCGW_EINTERNAL;
    if (DTLS_set_link_mtu(d->ssl, d->mtu) != 1)
        goto fail;
    /* OpenSSL sizes a connection's write buffer for the largest record it may write,
     * 16 KiB unless told; dcgw writes none above max_plaintext (handshake fragments fit
     * the MTU): a leg holding its buffers keeps that much less (issue 17). */
    if (SSL_set_max_send_fragment(d->ssl, send_fragment(d)) != 1)
        goto fail;
    /* SSL_set_tlsext_use_srtp returns 0 on success (an OpenSSL oddity). */
    if (s->srtp_profiles && SSL_set_tlsext_use_srtp(d->ssl, s->srtp_profiles) != 0) {
        rc = DCGW_ECONFIG;
        goto fail;
    }
    DTLS_set_timer_cb(d->ssl, timer_cb);
    SSL_set_info_callback(d->ssl, info_cb);
    if (d->client)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    err_reset();
    *out = d;
    return 0;
fail:
    err_reset();
    dcgw_dtls_free(d);
    return rc;
}

static void real_free(struct dcgw_dtls *d)
{
    if (d->ssl) {
        BIO *b = SSL_get_rbio(d->ssl);
        if (b)
            BIO_set_data(b, NULL);
        SSL_free(d->ssl);
    }
    ctx_unref(d->ctx);
    free(d);
}

void dcgw_dtls_free(struct dcgw_dtls *d)
{
    if (d && dcgw_reentry_free_now(&d->re)) /* else from a callback: when the call returns */
        real_free(d);
}

/* The end of a call that entered d: OpenSSL's error queue emptied, d released when one of
 * its callbacks freed it. Returns rc. */
static int leave(struct dcgw_dtls *d, int rc)
{
    err_reset();
    if (dcgw_reentry_leave(&d->re))
        real_free(d);
    return rc;
}

/* ---- driving OpenSSL --------------------------------------------------------------------- */

/* OpenSSL 3.0 writes a DTLS record (data, alert, retransmission) into its write buffer
 * without allocating it: only its read path sets the record buffers up. After
 * dcgw_dtls_trim the first write would find none (a crash; test_dtls_records
 * trim_then_data_and_close_notify). A peek with no datagram to read sets both up again and
 * reads nothing. */
static void buffers_back(struct dcgw_dtls *d)
{
    if (!d->trimmed)
        return;
    d->trimmed = false;
    d->stats.buffer_regrows++;
    uint8_t b;
    if (SSL_peek(d->ssl, &b, 1) <= 0)
        ERR_clear_error(); /* WANT_READ queues nothing; anything else is not ours to keep */
}

static int handshake_done(struct dcgw_dtls *d)
{
    /* The verify callback is the binding point; this re-check only guards against a
     * handshake that completed without it (it cannot with SSL_VERIFY_PEER). */
    if (!d->fp_checked || !SSL_get0_peer_certificate(d->ssl))
        return fail(d, DCGW_EFINGERPRINT, "handshake completed without a checked peer certificate");
    d->state = DCGW_DTLS_CONNECTED;
    d->hs_deadline = UINT64_MAX;
    DCGW_LOG_RL(DTLS, DEBUG, "%s leg connected, %s", d->client ? "client" : "server",
                SSL_CIPHER_get_name(SSL_get_current_cipher(d->ssl)));
    if (d->cbs.on_connected)
        d->cbs.on_connected(d->cbs.ud, &d->matched);
    return 0;
}

static int read_app(struct dcgw_dtls *d)
{
    uint8_t buf[DCGW_DTLS_PLAINTEXT_MAX];
    while (d->state == DCGW_DTLS_CONNECTED) {
        int r = SSL_read(d->ssl, buf, sizeof(buf));
        if (r > 0) {
            d->stats.app_records_in++;
            d->stats.app_bytes_in += (uint64_t)r;
            if (d->cbs.on_data)
                d->cbs.on_data(d->cbs.ud, buf, (size_t)r);
            /* The datagram was read and no record of it waits: one more SSL_read would
             * only find the BIO empty (WANT_READ). Skipping it saves a call into the
             * record layer and SSL_get_error's look at the error queue per datagram. */
            if (!d->rx && !SSL_has_pending(d->ssl))
                return 0;
            continue;
        }
        int e = SSL_get_error(d->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN) {
            /* close_notify: answer with ours and close (RFC 5246 §7.2.1) */
            SSL_shutdown(d->ssl);
            d->state = DCGW_DTLS_CLOSED;
            d->rtx_deadline = UINT64_MAX;
            if (d->cbs.on_closed)
                d->cbs.on_closed(d->cbs.ud);
            return 0;
        }
        return fail_openssl(d);
    }
    return 0;
}

static int drive(struct dcgw_dtls *d)
{
    if (d->state == DCGW_DTLS_HANDSHAKING) {
        int r = SSL_do_handshake(d->ssl);
        if (r != 1) {
            int e = SSL_get_error(d->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            return fail_openssl(d);
        }
        int rc = handshake_done(d);
        if (rc != 0)
            return rc;
    }
    return read_app(d);
}

int dcgw_dtls_start(struct dcgw_dtls *d, uint64_t now_ms)
{
    if (d->state != DCGW_DTLS_NEW || dcgw_reentry_busy(&d->re))
        return DCGW_ESTATE;
    err_reset();
    dcgw_reentry_enter(&d->re);
    d->state = DCGW_DTLS_HANDSHAKING;
    d->hs_deadline = now_ms + d->handshake_timeout_ms;
    int rc = 0;
    if (d->client)
        rc = drive(d); /* sends the ClientHello */
    update_timer(d, now_ms);
    return leave(d, rc);
}

int dcgw_dtls_recv(struct dcgw_dtls *d, const uint8_t *p, size_t n, uint64_t now_ms)
{
    if (dcgw_reentry_busy(&d->re) || d->state == DCGW_DTLS_NEW)
        return DCGW_ESTATE;
    d->stats.datagrams_in++;
    d->stats.bytes_in += n;
    if (d->state == DCGW_DTLS_CLOSED || d->state == DCGW_DTLS_FAILED)
        return DCGW_ECLOSED;
    struct dcgw_dtls_scan sc = {0};
    size_t len = n <= DCGW_DTLS_DATAGRAM_MAX ? dcgw_dtls_record_scan(p, n, &sc) : 0;
    /* RFC 6347 §4.1.2.7: invalid records are silently discarded, the association stays. */
    if (sc.trailing_garbage || len == 0) {
        d->stats.bad_records++;
        DCGW_LOG_RL(DTLS, DEBUG, "dropped %zu malformed bytes of a %zu-byte datagram", n - len, n);
        if (len == 0)
            return 0;
    }
    d->stats.records_in += sc.records;
    bool was_connected = d->state == DCGW_DTLS_CONNECTED;
    uint64_t app_before = d->stats.app_records_in;
    d->trimmed = false; /* reading sets the buffers up */
    err_reset();
    dcgw_reentry_enter(&d->re);
    d->rx = p;
    d->rx_len = len;
    int rc = drive(d);
    d->rx = NULL;
    d->rx_len = 0;
    if (was_connected) {
        /* Application records OpenSSL dropped (bad MAC, replay, stale epoch) yield no
         * plaintext: count them (RFC 6347 §4.1.2.7 allows logging them). */
        uint64_t got = d->stats.app_records_in - app_before;
        if (sc.app_records > got)
            d->stats.bad_records += sc.app_records - got;
    }
    update_timer(d, now_ms);
    return leave(d, rc);
}

int dcgw_dtls_send(struct dcgw_dtls *d, const uint8_t *p, size_t n)
{
    if (d->state != DCGW_DTLS_CONNECTED)
        return DCGW_ESTATE;
    if (!p || n == 0)
        return DCGW_EINVAL;
    if (n > d->max_plaintext)
        return DCGW_ETOOBIG;
    buffers_back(d);
    err_reset();
    dcgw_reentry_enter(&d->re); /* a failure raises on_failed */
    int r = SSL_write(d->ssl, p, (int)n);
    if (r != (int)n)
        return leave(d, fail_openssl(d));
    d->stats.app_records_out++;
    d->stats.app_bytes_out += n;
    return leave(d, 0);
}

uint64_t dcgw_dtls_next_timeout(const struct dcgw_dtls *d)
{
    if (d->state == DCGW_DTLS_HANDSHAKING)
        return d->rtx_deadline < d->hs_deadline ? d->rtx_deadline : d->hs_deadline;
    if (d->state == DCGW_DTLS_CONNECTED)
        return d->rtx_deadline;
    return UINT64_MAX;
}

int dcgw_dtls_handle_timeout(struct dcgw_dtls *d, uint64_t now_ms)
{
    if (dcgw_reentry_busy(&d->re))
        return DCGW_ESTATE;
    if (d->state != DCGW_DTLS_HANDSHAKING && d->state != DCGW_DTLS_CONNECTED)
        return 0;
    /* Woken for another stage's deadline (the leg has one timer: ICE consent every ~25 s
     * of an idle leg): OpenSSL is not entered, and a trimmed leg keeps its buffers. */
    if (now_ms < dcgw_dtls_next_timeout(d))
        return 0;
    buffers_back(d);
    err_reset();
    dcgw_reentry_enter(&d->re);
    int rc = 0;
    if (d->state == DCGW_DTLS_HANDSHAKING && now_ms >= d->hs_deadline) {
        char why[96];
        snprintf(why, sizeof(why), "handshake not complete after %u ms", d->handshake_timeout_ms);
        rc = fail(d, DCGW_ETIMEOUT, why);
    } else if (now_ms >= d->rtx_deadline) {
        int r = (int)DTLSv1_handle_timeout(d->ssl);
        if (r > 0)
            d->stats.retransmits++;
        else if (r < 0)
            rc = fail_openssl(d);
    }
    update_timer(d, now_ms);
    return leave(d, rc);
}

void dcgw_dtls_close(struct dcgw_dtls *d)
{
    if (d->state == DCGW_DTLS_CONNECTED) {
        buffers_back(d);
        err_reset();
        SSL_shutdown(d->ssl); /* close_notify */
        err_reset();
    }
    if (d->state != DCGW_DTLS_FAILED)
        d->state = DCGW_DTLS_CLOSED;
    d->rtx_deadline = d->hs_deadline = UINT64_MAX;
}

bool dcgw_dtls_trim(struct dcgw_dtls *d)
{
    if (d->state != DCGW_DTLS_CONNECTED || dcgw_reentry_busy(&d->re))
        return false;
    if (SSL_free_buffers(d->ssl) != 1) /* no error is queued for a refusal */
        return false;
    d->trimmed = true;
    d->stats.buffer_releases++;
    releases_total++;
    return true;
}

uint64_t dcgw_dtls_releases_total(void)
{
    return releases_total;
}

X509 *dcgw_dtls_peer_cert(const struct dcgw_dtls *d)
{
    return d->fp_checked ? SSL_get0_peer_certificate(d->ssl) : NULL;
}

enum dcgw_dtls_state dcgw_dtls_state(const struct dcgw_dtls *d)
{
    return d->state;
}

const struct dcgw_dtls_stats *dcgw_dtls_stats(const struct dcgw_dtls *d)
{
    return &d->stats;
}

const char *dcgw_dtls_reason(const struct dcgw_dtls *d)
{
    return d->state == DCGW_DTLS_FAILED ? d->reason : "";
}

int dcgw_dtls_get_info(const struct dcgw_dtls *d, struct dcgw_dtls_info *out)
{
    const SSL_CIPHER *ci = SSL_get_current_cipher(d->ssl);
    if (d->state == DCGW_DTLS_NEW || d->state == DCGW_DTLS_HANDSHAKING || !ci)
        return DCGW_ESTATE;
    int nid = (int)SSL_get_negotiated_group(d->ssl);
    const char *group = nid > 0 ? OBJ_nid2sn(nid) : NULL;
    out->version = SSL_get_version(d->ssl);
    out->cipher = SSL_CIPHER_get_name(ci);
    out->group = group ? group : "";
    out->aead = SSL_CIPHER_is_aead(ci) == 1;
    return 0;
}

unsigned dcgw_dtls_srtp_profile(const struct dcgw_dtls *d)
{
    if (d->state != DCGW_DTLS_CONNECTED && d->state != DCGW_DTLS_CLOSED)
        return 0;
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    return p ? (unsigned)p->id : 0;
}

int dcgw_dtls_export(const struct dcgw_dtls *d, const char *label, uint8_t *out, size_t n)
{
    if (d->state != DCGW_DTLS_CONNECTED)
        return DCGW_ESTATE;
    err_reset();
    int r = SSL_export_keying_material(d->ssl, out, n, label, strlen(label), NULL, 0, 0);
    err_reset();
    return r == 1 ? 0 : DCGW_ETLS;
}

bool dcgw_dtls_is_client(const struct dcgw_dtls *d)
{
    return d->client;
}

size_t dcgw_dtls_data_mtu(const struct dcgw_dtls *d)
{
    if (d->state != DCGW_DTLS_CONNECTED)
        return 0;
    return DTLS_get_data_mtu(d->ssl);
}

const char *dcgw_dtls_state_name(enum dcgw_dtls_state s)
{
    static const char *const names[] = {
        [DCGW_DTLS_NEW] = "new",
        [DCGW_DTLS_HANDSHAKING] = "handshaking",
        [DCGW_DTLS_CONNECTED] = "connected",
        [DCGW_DTLS_CLOSED] = "closed",
        [DCGW_DTLS_FAILED] = "failed",
    };
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

size_t dcgw_dtls_record_scan(const uint8_t *p, size_t n, struct dcgw_dtls_scan *out)
{
    struct dcgw_dtls_scan sc = {0};
    size_t off = 0;
    /* RFC 6347 §4.1: type(1) version(2) epoch(2) sequence_number(6) length(2) fragment */
    while (p && n - off >= DTLS_RECORD_HEADER) {
        const uint8_t *h = p + off;
        unsigned version = (unsigned)h[1] << 8 | h[2];
        size_t len = (size_t)h[11] << 8 | h[12];
        if (h[0] < 20 || h[0] > 23 || (version != 0xfeff && version != 0xfefd) ||
            len > DCGW_DTLS_RECORD_MAX || len > n - off - DTLS_RECORD_HEADER)
            break;
        off += DTLS_RECORD_HEADER + len;
        sc.records++;
        if (h[0] == 23)
            sc.app_records++;
    }
    sc.trailing_garbage = off < n;
    if (out)
        *out = sc;
    return off;
}
