/* HTTP/2 server of the Nmf_MRM service on the master's libuv loop: nghttp2 does HTTP/2
 * (framing, HPACK, flow control, stream states), OpenSSL over memory BIOs does TLS with ALPN
 * h2 when configured (else h2c with prior knowledge, RFC 9113 §3.3); this file only moves
 * bytes between them and the socket, collects each request and sends its response.
 * Bounds: nmf.max_connections, nmf.max_streams per connection, nmf.max_body per request,
 * DCGW_NMF_OUTBUF_MAX queued toward a client that stops reading (then it is dropped). */
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "nmf_int.h"

enum {
    DCGW_NMF_OUTBUF_MAX = 4 << 20, /* bytes queued on one connection's socket */
    DCGW_NMF_HEADER_MAX = 8192,    /* one header value kept (path, authorization) */
    DCGW_NMF_IDLE_MS = 120000,     /* a connection without a request this long is closed */
};

struct nmf_server {
    uv_loop_t *loop;
    uv_tcp_t *listener;
    SSL_CTX *tls;
    nmf_request_fn fn;
    void *ud;
    uint32_t max_conns, max_streams, max_body;
    GHashTable *conns;   /* struct h2_conn set: open connections */
    GHashTable *streams; /* token -> struct h2_stream */
    uint64_t next_token;
    unsigned handles; /* the listener and the connections' handles not closed yet */
    bool stopping;
};

struct h2_conn {
    struct nmf_server *srv;
    uv_tcp_t tcp;
    uv_timer_t idle;
    nghttp2_session *h2;
    SSL *ssl;
    BIO *rbio, *wbio; /* the network side of the TLS memory BIOs */
    bool closing, alpn_checked;
    bool in_recv;          /* inside nghttp2_session_mem_recv: its callbacks cannot send */
    unsigned handles;      /* open uv handles (tcp, timer) */
    unsigned open_streams; /* requests begun and not closed */
};

struct h2_stream {
    struct h2_conn *c;
    int32_t id;
    uint64_t token;
    char method[16];
    char *path, *content_type, *authorization;
    uint8_t *body;
    size_t body_len, body_cap;
    bool too_large, dispatched;
    char *resp; /* the response body being sent */
    size_t resp_len, resp_off;
};

static void conn_close(struct h2_conn *c);
static void conn_flush(struct h2_conn *c);

/* ------------------------------------------------------------------ streams */

static void stream_free(struct h2_stream *st)
{
    free(st->path);
    free(st->content_type);
    free(st->authorization);
    free(st->body);
    free(st->resp);
    free(st);
}

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    struct h2_conn *c = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->c = c;
    st->id = f->hd.stream_id;
    st->token = ++c->srv->next_token;
    c->open_streams++;
    g_hash_table_insert(c->srv->streams, &st->token, st);
    nghttp2_session_set_stream_user_data(h2, f->hd.stream_id, st);
    return 0;
}

static char *dup_value(const uint8_t *v, size_t n)
{
    if (n > DCGW_NMF_HEADER_MAX)
        n = DCGW_NMF_HEADER_MAX;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, v, n);
        s[n] = '\0';
    }
    return s;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    if (!st || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    char **slot = NULL;
    if (namelen == 7 && !memcmp(name, ":method", 7)) {
        snprintf(st->method, sizeof(st->method), "%.*s", (int)valuelen, (const char *)value);
        return 0;
    }
    if (namelen == 5 && !memcmp(name, ":path", 5))
        slot = &st->path;
    else if (namelen == 12 && !memcmp(name, "content-type", 12))
        slot = &st->content_type;
    else if (namelen == 13 && !memcmp(name, "authorization", 13))
        slot = &st->authorization;
    if (slot && !*slot && !(*slot = dup_value(value, valuelen)))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data, size_t n,
                   void *ud)
{
    (void)flags;
    (void)ud;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(h2, id);
    if (!st || st->too_large)
        return 0;
    uint32_t max = st->c->srv->max_body;
    if (st->body_len + n > max) {
        st->too_large = true; /* answered 413 at the end; the rest is read and dropped */
        free(st->body);
        st->body = NULL;
        st->body_len = st->body_cap = 0;
        return 0;
    }
    if (st->body_len + n > st->body_cap) {
        size_t cap = st->body_cap ? st->body_cap : 4096;
        while (cap < st->body_len + n)
            cap *= 2;
        uint8_t *b = realloc(st->body, cap > max ? max : cap);
        if (!b)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        st->body = b;
        st->body_cap = cap > max ? max : cap;
    }
    memcpy(st->body + st->body_len, data, n);
    st->body_len += n;
    return 0;
}

static void dispatch(struct h2_stream *st)
{
    if (st->dispatched)
        return;
    st->dispatched = true;
    struct h2_conn *c = st->c;
    uv_timer_again(&c->idle);
    char *q = st->path ? strchr(st->path, '?') : NULL;
    if (q)
        *q = '\0';
    struct nmf_request req = {
        .token = st->token,
        .method = st->method,
        .path = st->path ? st->path : "",
        .content_type = st->content_type ? st->content_type : "",
        .authorization = st->authorization ? st->authorization : "",
        .body = st->body ? st->body : (const uint8_t *)"",
        .body_len = st->body_len,
        .too_large = st->too_large,
    };
    c->srv->fn(c->srv->ud, &req);
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct h2_stream *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
        if (st)
            dispatch(st);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code, void *ud)
{
    (void)code;
    struct h2_conn *c = ud;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(h2, id);
    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    c->open_streams--;
    g_hash_table_remove(c->srv->streams, &st->token);
    stream_free(st);
    return 0;
}

static ssize_t read_resp(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)h2;
    (void)id;
    (void)ud;
    struct h2_stream *st = src->ptr;
    size_t n = st->resp_len - st->resp_off;
    if (n > len)
        n = len;
    memcpy(buf, st->resp + st->resp_off, n);
    st->resp_off += n;
    if (st->resp_off == st->resp_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

bool dcgw__nmf_server_respond(struct nmf_server *s, uint64_t token, int status,
                              const struct nmf_header *h, size_t nh, char *body, size_t len)
{
    struct h2_stream *st = s ? g_hash_table_lookup(s->streams, &token) : NULL;
    if (!st || st->resp || st->c->closing || nh > 8) {
        free(body);
        return false;
    }
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    nghttp2_nv nva[9];
    size_t n = 0;
    nva[n++] =
        (nghttp2_nv){(uint8_t *)":status", (uint8_t *)code, 7, strlen(code), NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < nh; i++)
        nva[n++] = (nghttp2_nv){(uint8_t *)h[i].name, (uint8_t *)h[i].value, strlen(h[i].name),
                                strlen(h[i].value), NGHTTP2_NV_FLAG_NONE};
    st->resp = body;
    st->resp_len = body ? len : 0;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_resp};
    int r = nghttp2_submit_response(st->c->h2, st->id, nva, n, body ? &prd : NULL);
    if (r != 0) {
        DCGW_LOG_RL(CTL, WARN, "nmf: response on stream %d: %s", st->id, nghttp2_strerror(r));
        return false;
    }
    conn_flush(st->c);
    return true;
}

/* ------------------------------------------------------------------ connections */

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w->data);
    free(w);
}

static int write_raw(struct h2_conn *c, const uint8_t *p, size_t n)
{
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) + n > DCGW_NMF_OUTBUF_MAX) {
        DCGW_LOG_RL(CTL, WARN, "nmf: a client does not read its responses; dropping it");
        return DCGW_ELIMIT;
    }
    uv_write_t *w = malloc(sizeof(*w));
    char *copy = malloc(n);
    if (!w || !copy) {
        free(w);
        free(copy);
        return DCGW_ENOMEM;
    }
    memcpy(copy, p, n);
    w->data = copy;
    uv_buf_t b = uv_buf_init(copy, (unsigned)n);
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(copy);
        free(w);
        return DCGW_EIO;
    }
    return 0;
}

/* What TLS has for the network (handshake records, encrypted data). */
static int drain_tls(struct h2_conn *c)
{
    uint8_t buf[16384];
    int n;
    while ((n = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
        if (write_raw(c, buf, (size_t)n) < 0)
            return DCGW_EIO;
    return 0;
}

static void conn_flush(struct h2_conn *c)
{
    if (c->closing || c->in_recv || (c->ssl && !SSL_is_init_finished(c->ssl)))
        return; /* TLS: the server's SETTINGS wait for the handshake */
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->h2, &data);
        if (n < 0) {
            conn_close(c);
            return;
        }
        if (n == 0)
            break;
        int r = c->ssl ? (SSL_write(c->ssl, data, (int)n) == n ? drain_tls(c) : DCGW_ETLS)
                       : write_raw(c, data, (size_t)n);
        if (r < 0) {
            conn_close(c);
            return;
        }
    }
    if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))
        conn_close(c);
}

static int feed_h2(struct h2_conn *c, const uint8_t *p, size_t n)
{
    c->in_recv = true;
    ssize_t r = nghttp2_session_mem_recv(c->h2, p, n);
    c->in_recv = false;
    if (r < 0) {
        DCGW_LOG_RL(CTL, INFO,
                    "nmf: HTTP/2 error from a client: %s (prior knowledge or ALPN h2"
                    " needed)",
                    nghttp2_strerror((int)r));
        return DCGW_EPROTO;
    }
    return 0;
}

static int feed_tls(struct h2_conn *c, const uint8_t *p, size_t n)
{
    if (BIO_write(c->rbio, p, (int)n) != (int)n)
        return DCGW_ETLS;
    if (!SSL_is_init_finished(c->ssl)) {
        int r = SSL_do_handshake(c->ssl);
        if (drain_tls(c) < 0)
            return DCGW_EIO;
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : DCGW_ETLS;
        }
    }
    if (!c->alpn_checked) {
        const unsigned char *alpn = NULL;
        unsigned alen = 0;
        SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
        if (alen != 2 || memcmp(alpn, "h2", 2) != 0) {
            DCGW_LOG_RL(CTL, INFO, "nmf: a TLS client did not negotiate h2 (ALPN)");
            return DCGW_EPROTO;
        }
        c->alpn_checked = true;
    }
    uint8_t buf[16384];
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof(buf));
        if (r > 0) {
            if (feed_h2(c, buf, (size_t)r) < 0)
                return DCGW_EPROTO;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ)
            return drain_tls(c);
        return e == SSL_ERROR_ZERO_RETURN ? DCGW_ECLOSED : DCGW_ETLS;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    static char buf[65536]; /* the loop is single-threaded and the data is used at once */
    *b = uv_buf_init(buf, sizeof(buf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct h2_conn *c = s->data;
    if (n == 0)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    int r = c->ssl ? feed_tls(c, (const uint8_t *)b->base, (size_t)n)
                   : feed_h2(c, (const uint8_t *)b->base, (size_t)n);
    if (r < 0) {
        conn_close(c);
        return;
    }
    conn_flush(c);
}

static void server_free(struct nmf_server *s)
{
    g_hash_table_destroy(s->conns);
    g_hash_table_destroy(s->streams);
    if (s->tls)
        SSL_CTX_free(s->tls);
    free(s);
}

static void server_handle_gone(struct nmf_server *s)
{
    if (--s->handles == 0 && s->stopping)
        server_free(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct h2_conn *c = h->data;
    struct nmf_server *s = c->srv;
    if (--c->handles == 0) {
        g_hash_table_remove(s->conns, c);
        free(c);
    }
    server_handle_gone(s);
}

static gboolean stream_of(gpointer k, gpointer v, gpointer c)
{
    (void)k;
    struct h2_stream *st = v;
    if (st->c != c)
        return FALSE;
    stream_free(st);
    return TRUE;
}

static void conn_close(struct h2_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* nghttp2_session_del frees its streams without on_stream_close: ours go here */
    g_hash_table_foreach_remove(c->srv->streams, stream_of, c);
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
    if (c->ssl)
        SSL_free(c->ssl); /* frees both BIOs */
    c->ssl = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
    struct h2_conn *c = t->data;
    if (c->open_streams == 0)
        conn_close(c);
}

static int session_new(struct h2_conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return DCGW_ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int r = nghttp2_session_server_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (r != 0)
        return DCGW_ENOMEM;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->srv->max_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 4 * DCGW_NMF_HEADER_MAX},
    };
    return nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) == 0 ? 0 : DCGW_ENOMEM;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct nmf_server *s = server->data;
    if (status < 0)
        return;
    struct h2_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->idle);
    c->tcp.data = c->idle.data = c;
    c->handles = 2;
    s->handles += 2;
    g_hash_table_add(s->conns, c);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || s->stopping) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        uv_close((uv_handle_t *)&c->idle, on_handle_closed);
        return;
    }
    bool full = g_hash_table_size(s->conns) > s->max_conns;
    if (full)
        DCGW_LOG_RL(CTL, WARN, "nmf: connection refused: %u open already", s->max_conns);
    if (!full && s->tls) {
        c->ssl = SSL_new(s->tls);
        c->rbio = BIO_new(BIO_s_mem());
        c->wbio = BIO_new(BIO_s_mem());
        if (c->ssl && c->rbio && c->wbio) {
            SSL_set_bio(c->ssl, c->rbio, c->wbio);
            SSL_set_accept_state(c->ssl);
        } else {
            BIO_free(c->rbio);
            BIO_free(c->wbio);
            full = true;
        }
    }
    if (full || session_new(c) < 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->idle, on_idle, DCGW_NMF_IDLE_MS, DCGW_NMF_IDLE_MS);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    conn_flush(c); /* the server's SETTINGS (h2c); TLS sends them after the handshake */
}

/* ------------------------------------------------------------------ TLS and listening */

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    /* RFC 7301 §3.2: only h2; a client without it gets no_application_protocol */
    if (nghttp2_select_next_protocol((unsigned char **)out, outlen, in, inlen) != 1)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_ctx(const struct dcgw_config *cfg)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* RFC 9113 §9.2.2: TLS 1.2 with HTTP/2 needs an AEAD ephemeral cipher suite */
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->nmf.tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->nmf.tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        DCGW_ERROR(CTL, "nmf.tls: %s / %s: %s", cfg->nmf.tls_cert, cfg->nmf.tls_key,
                   ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    return ctx;
}

int dcgw__nmf_server_start(uv_loop_t *loop, const struct dcgw_config *cfg, nmf_request_fn fn,
                           void *ud, struct nmf_server **out)
{
    struct sockaddr_storage ss;
    if (dcgw_addr_parse(cfg->nmf.listen, &ss) < 0)
        return DCGW_ECONFIG;
    struct nmf_server *s = calloc(1, sizeof(*s));
    if (!s)
        return DCGW_ENOMEM;
    s->loop = loop;
    s->fn = fn;
    s->ud = ud;
    s->max_conns = cfg->nmf.max_connections;
    s->max_streams = cfg->nmf.max_streams;
    s->max_body = cfg->nmf.max_body;
    s->streams = g_hash_table_new(g_int64_hash, g_int64_equal);
    s->conns = g_hash_table_new(NULL, NULL);
    if (*cfg->nmf.tls_cert && !(s->tls = tls_ctx(cfg))) {
        dcgw__nmf_server_stop(s);
        return DCGW_ECONFIG;
    }
    s->listener = malloc(sizeof(*s->listener));
    int r = s->listener ? 0 : UV_ENOMEM;
    if (r == 0) {
        s->handles++;
        uv_tcp_init(loop, s->listener);
        s->listener->data = s;
        r = uv_tcp_bind(s->listener, (struct sockaddr *)&ss, 0);
        if (r == 0)
            r = uv_listen((uv_stream_t *)s->listener, 128, on_connection);
    }
    if (r < 0) {
        DCGW_ERROR(CTL, "nmf: listening on %s: %s", cfg->nmf.listen, uv_strerror(r));
        dcgw__nmf_server_stop(s);
        return DCGW_EIO;
    }
    DCGW_INFO(CTL, "Nmf_MRM on %s (%s)", cfg->nmf.listen,
              s->tls ? "TLS, ALPN h2" : "h2c, prior knowledge");
    *out = s;
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct nmf_server *s = h->data;
    free(h);
    server_handle_gone(s);
}

void dcgw__nmf_server_stop(struct nmf_server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    GList *all = g_hash_table_get_keys(s->conns);
    for (GList *l = all; l; l = l->next)
        conn_close(l->data);
    g_list_free(all);
    if (s->listener)
        uv_close((uv_handle_t *)s->listener, on_listener_closed);
    else if (s->handles == 0)
        server_free(s);
}
