#include "dcgw/msg/stream.h"

#include <openssl/err.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/frame.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"

struct dcgw_stream {
    uv_stream_t *h;
    struct dcgw_stream_cbs cbs;
    struct dcgw_frame_decoder dec;
    size_t outbuf_limit;
    size_t queued;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    void *data;
    int close_err;
    bool closing, read_stopped;
    uint64_t partial_since; /* loop time since part of a frame waits for the rest; 0: none */
    char peer_name[128];
};

struct wreq {
    uv_write_t req;
    struct dcgw_stream *s;
    size_t n;
    uint8_t data[];
};

static void on_handle_closed(uv_handle_t *h)
{
    struct dcgw_stream *s = h->data;
    free(h);
    void (*cb)(void *, struct dcgw_stream *, int) = s->cbs.on_close;
    void *ud = s->cbs.ud;
    int err = s->close_err;
    dcgw_frame_decoder_dispose(&s->dec);
    if (s->ssl)
        SSL_free(s->ssl);
    if (cb)
        cb(ud, s, err);
    free(s);
}

static void shutdown_now(struct dcgw_stream *s)
{
    if (!uv_is_closing((uv_handle_t *)s->h))
        uv_close((uv_handle_t *)s->h, on_handle_closed);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct dcgw_stream *s = w->s;
    s->queued -= w->n;
    free(w);
    if (status < 0 && !s->closing) {
        s->closing = true;
        s->close_err = DCGW_EIO;
    }
    if (s->closing && s->queued == 0)
        shutdown_now(s);
}

static int raw_write(struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    if (s->queued + n > s->outbuf_limit) {
        DCGW_LOG_RL(CTL, WARN, "peer is not reading (%zu bytes queued): disconnecting", s->queued);
        dcgw_stream_close(s, DCGW_ELIMIT);
        return DCGW_ELIMIT;
    }
    struct wreq *w = malloc(sizeof(*w) + n);
    if (!w)
        return DCGW_ENOMEM;
    w->s = s;
    w->n = n;
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    s->queued += n;
    int r = uv_write(&w->req, s->h, &b, 1, on_written);
    if (r < 0) {
        s->queued -= n;
        free(w);
        dcgw_stream_close(s, DCGW_EIO);
        return DCGW_EIO;
    }
    return 0;
}

/* Moves whatever TLS produced (records, handshake) to the socket. */
static int flush_tls(struct dcgw_stream *s)
{
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(s->wbio, buf, sizeof(buf))) > 0) {
        int r = raw_write(s, buf, (size_t)n);
        if (r)
            return r;
    }
    return 0;
}

int dcgw_stream_write(struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    if (s->closing)
        return DCGW_ECLOSED;
    if (!s->ssl)
        return raw_write(s, p, n);
    ERR_clear_error();
    while (n > 0) {
        int w = SSL_write(s->ssl, p, (int)(n > 16384 ? 16384 : n));
        if (w <= 0) {
            int e = SSL_get_error(s->ssl, w);
            if (e != SSL_ERROR_WANT_READ) {
                dcgw_stream_close(s, DCGW_ETLS);
                return DCGW_ETLS;
            }
            /* Handshake not finished: TLS keeps nothing for us, so hold the rest by
             * refusing; controllers speak first, so the server never writes early. */
            return DCGW_EAGAIN;
        }
        p += w;
        n -= (size_t)w;
    }
    return flush_tls(s);
}

static int deliver(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_stream *s = ud;
    if (s->closing)
        return 1;
    int r = s->cbs.on_frame(s->cbs.ud, s, p, n);
    if (r) {
        dcgw_stream_close(s, r < 0 ? r : 0);
        return 1;
    }
    return s->closing ? 1 : 0;
}

static void feed_plain(struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    int r = dcgw_frame_feed(&s->dec, p, n, deliver, s);
    if (r < 0) {
        DCGW_LOG_RL(CTL, WARN, "control stream: %s, disconnecting", dcgw_strerror(r));
        dcgw_stream_close(s, r);
    }
}

static void feed_tls(struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    ERR_clear_error();
    if (BIO_write(s->rbio, p, (int)n) != (int)n) {
        dcgw_stream_close(s, DCGW_ENOMEM);
        return;
    }
    uint8_t buf[16384];
    for (;;) {
        int k = SSL_read(s->ssl, buf, sizeof(buf));
        if (k > 0) {
            feed_plain(s, buf, (size_t)k);
            if (s->closing)
                return;
            continue;
        }
        int e = SSL_get_error(s->ssl, k);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_ZERO_RETURN) {
            dcgw_stream_close(s, 0);
            return;
        }
        char why[160];
        ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
        DCGW_LOG_RL(CTL, WARN, "control TLS: %s", why);
        flush_tls(s); /* the alert */
        dcgw_stream_close(s, DCGW_ETLS);
        return;
    }
    if (!s->peer_name[0] && SSL_is_init_finished(s->ssl)) {
        X509 *peer = SSL_get1_peer_certificate(s->ssl);
        if (peer) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, s->peer_name,
                                      sizeof(s->peer_name));
            X509_free(peer);
        }
    }
    flush_tls(s);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    static char slab[65536]; /* one loop per process: reads never overlap */
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    struct dcgw_stream *s = h->data;
    if (nread < 0) {
        s->closing = true;
        s->close_err = nread == UV_EOF ? 0 : DCGW_EIO;
        shutdown_now(s);
        return;
    }
    if (nread == 0 || s->closing)
        return;
    uint64_t frames = s->dec.frames;
    if (s->ssl)
        feed_tls(s, (const uint8_t *)buf->base, (size_t)nread);
    else
        feed_plain(s, (const uint8_t *)buf->base, (size_t)nread);
    if (s->closing)
        return;
    /* A frame under way (or a TLS record or handshake) starts the clock; a whole frame
     * delivered restarts it for what follows. */
    bool partial = dcgw_frame_pending(&s->dec) > 0 ||
                   (s->ssl && (BIO_ctrl_pending(s->rbio) > 0 || !SSL_is_init_finished(s->ssl)));
    if (!partial)
        s->partial_since = 0;
    else if (!s->partial_since || s->dec.frames != frames)
        s->partial_since = uv_now(h->loop) ? uv_now(h->loop) : 1;
}

int dcgw_stream_new(uv_stream_t *handle, const struct dcgw_stream_settings *st,
                    const struct dcgw_stream_cbs *cbs, struct dcgw_stream **out)
{
    struct dcgw_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        uv_close((uv_handle_t *)handle, (uv_close_cb)free);
        return DCGW_ENOMEM;
    }
    s->h = handle;
    s->cbs = *cbs;
    s->outbuf_limit = st->outbuf_limit;
    handle->data = s;
    dcgw_frame_decoder_init(&s->dec, st->max_frame);
    if (st->tls) {
        s->ssl = SSL_new(st->tls);
        s->rbio = BIO_new(BIO_s_mem());
        s->wbio = BIO_new(BIO_s_mem());
        if (!s->ssl || !s->rbio || !s->wbio) {
            BIO_free(s->rbio);
            BIO_free(s->wbio);
            s->closing = true;
            s->close_err = DCGW_ENOMEM;
            s->cbs.on_close = NULL;
            shutdown_now(s);
            return DCGW_ENOMEM;
        }
        SSL_set_bio(s->ssl, s->rbio, s->wbio);
        SSL_set_accept_state(s->ssl);
    }
    int r = uv_read_start(handle, on_alloc, on_read);
    if (r < 0) {
        s->closing = true;
        s->cbs.on_close = NULL;
        shutdown_now(s);
        return DCGW_EIO;
    }
    *out = s;
    return 0;
}

int dcgw_stream_send(struct dcgw_stream *s, const Dcgw__Frame *f)
{
    uint8_t *b;
    size_t n;
    int r = dcgw_ctlmsg_pack(f, DCGW_FRAME_MAX_CEILING, &b, &n);
    if (r)
        return r;
    r = dcgw_stream_write(s, b, n);
    free(b);
    return r;
}

int dcgw_stream_send_response(struct dcgw_stream *s, const Dcgw__Response *r)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_RESPONSE;
    f.response = (Dcgw__Response *)r;
    return dcgw_stream_send(s, &f);
}

int dcgw_stream_send_event(struct dcgw_stream *s, const Dcgw__Event *ev)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_EVENT;
    f.event = (Dcgw__Event *)ev;
    return dcgw_stream_send(s, &f);
}

void dcgw_stream_close(struct dcgw_stream *s, int err)
{
    if (s->closing)
        return;
    s->closing = true;
    s->close_err = err;
    uv_read_stop(s->h);
    if (s->ssl && err == 0) {
        SSL_shutdown(s->ssl);
        flush_tls(s);
    }
    if (s->queued == 0 || err == DCGW_ELIMIT)
        shutdown_now(s);
}

void dcgw_stream_abort(struct dcgw_stream *s, int err)
{
    if (!s->closing) {
        s->closing = true;
        s->close_err = err;
        uv_read_stop(s->h);
    }
    shutdown_now(s); /* queued writes are cancelled; on_close follows */
}

uint64_t dcgw_stream_partial_since(const struct dcgw_stream *s)
{
    return s->partial_since;
}

size_t dcgw_stream_queued(const struct dcgw_stream *s)
{
    return s->queued;
}

void dcgw_stream_set_data(struct dcgw_stream *s, void *data)
{
    s->data = data;
}

void *dcgw_stream_data(const struct dcgw_stream *s)
{
    return s->data;
}

const char *dcgw_stream_peer_name(const struct dcgw_stream *s)
{
    return s->peer_name;
}

SSL_CTX *dcgw_stream_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
                                    size_t errcap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = "SSL_CTX_new";
    if (!ctx)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    what = cert;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        goto fail;
    what = key;
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    what = ca;
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
fail : {
    char why[160];
    ERR_error_string_n(ERR_get_error(), why, sizeof(why));
    snprintf(err, errcap, "%s: %s", what, why);
    SSL_CTX_free(ctx);
    return NULL;
}
}
