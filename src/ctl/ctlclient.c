#include "dcgw/ctl/ctlclient.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/frame.h"
#include "dcgw/base/limits.h"

enum { EVENT_QUEUE_MAX = 4096 };

struct dcgw_ctlclient {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    struct dcgw_frame_decoder dec;
    uint64_t next_id;
    Dcgw__Event *events[EVENT_QUEUE_MAX];
    size_t ev_head, ev_count, ev_dropped;
    uint64_t want_id;
    Dcgw__Response *got; /* the response being waited for */
    bool closed;
};

static int fail(char *err, size_t cap, int code, const char *fmt, const char *arg)
{
    snprintf(err, cap, fmt, arg, strerror(errno));
    return code;
}

static int connect_unix(const char *path, char *err, size_t cap)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path))
        return fail(err, cap, DCGW_EINVAL, "%s: path too long%.0s", path);
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int r = fail(err, cap, DCGW_EIO, "%s: %s", path);
        if (fd >= 0)
            close(fd);
        return r;
    }
    return fd;
}

static int connect_tls(struct dcgw_ctlclient *c, const struct dcgw_ctlclient_opts *o, char *err,
                       size_t cap)
{
    struct sockaddr_storage ss;
    if (dcgw_addr_parse(o->tcp, &ss) < 0)
        return fail(err, cap, DCGW_EINVAL, "%s: not a numeric host:port%.0s", o->tcp);
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&ss, dcgw_addr_len((void *)&ss)) < 0)
        return fail(err, cap, DCGW_EIO, "%s: %s", o->tcp);
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        return DCGW_ENOMEM;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    const char *what = o->cert ? o->cert : "(no --cert)";
    if (!o->cert || SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1)
        goto tls_fail;
    what = o->key ? o->key : "(no --key)";
    if (!o->key || SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1)
        goto tls_fail;
    what = o->ca ? o->ca : "(no --ca)";
    if (!o->ca || SSL_CTX_load_verify_locations(c->ctx, o->ca, NULL) != 1)
        goto tls_fail;
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(c->ctx);
    what = "handshake";
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
        goto tls_fail;
    return 0;
tls_fail : {
    char why[200];
    ERR_error_string_n(ERR_get_error(), why, sizeof(why));
    snprintf(err, cap, "TLS %s: %s", what, why);
    return DCGW_ETLS;
}
}

int dcgw_ctlclient_connect(const struct dcgw_ctlclient_opts *o, struct dcgw_ctlclient **out,
                           char *err, size_t errcap)
{
    struct dcgw_ctlclient *c = calloc(1, sizeof(*c));
    if (!c)
        return DCGW_ENOMEM;
    c->fd = -1;
    dcgw_frame_decoder_init(&c->dec, o->max_frame ? o->max_frame : DCGW_FRAME_MAX_CEILING);
    int r;
    if (o->socket) {
        r = connect_unix(o->socket, err, errcap);
        if (r >= 0) {
            c->fd = r;
            r = 0;
        }
    } else if (o->tcp) {
        r = connect_tls(c, o, err, errcap);
    } else {
        snprintf(err, errcap, "no socket path or TCP address given");
        r = DCGW_EINVAL;
    }
    if (r < 0) {
        dcgw_ctlclient_free(c);
        return r;
    }
    *out = c;
    return 0;
}

int dcgw_ctlclient_send_raw(struct dcgw_ctlclient *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, b, (int)n) : send(c->fd, b, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (!c->ssl && w < 0 && errno == EINTR)
                continue;
            return DCGW_ECLOSED;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_frame(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_ctlclient *c = ud;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (!f)
        return DCGW_EMALFORMED;
    if (f->body_case == DCGW__FRAME__BODY_RESPONSE && f->response && !c->got &&
        f->response->id == c->want_id) {
        c->got = f->response;
        f->response = NULL;
        f->body_case = DCGW__FRAME__BODY__NOT_SET;
    } else if (f->body_case == DCGW__FRAME__BODY_EVENT && f->event) {
        if (c->ev_count == EVENT_QUEUE_MAX) {
            c->ev_dropped++;
        } else {
            c->events[(c->ev_head + c->ev_count++) % EVENT_QUEUE_MAX] = f->event;
            f->event = NULL;
            f->body_case = DCGW__FRAME__BODY__NOT_SET;
        }
    }
    dcgw__frame__free_unpacked(f, NULL);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads once (waiting until deadline, -1 forever) and decodes what came. */
static int pump(struct dcgw_ctlclient *c, int64_t deadline)
{
    if (c->closed)
        return DCGW_ECLOSED;
    if (!c->ssl || SSL_pending(c->ssl) == 0) {
        int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
        if (deadline >= 0 && wait <= 0)
            return DCGW_ETIMEOUT;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, wait);
        if (r < 0 && errno == EINTR)
            return 0;
        if (r == 0)
            return DCGW_ETIMEOUT;
    }
    uint8_t buf[65536];
    ssize_t n = c->ssl ? SSL_read(c->ssl, buf, sizeof(buf)) : recv(c->fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        if (!c->ssl && n < 0 && errno == EINTR)
            return 0;
        c->closed = true;
        return DCGW_ECLOSED;
    }
    int r = dcgw_frame_feed(&c->dec, buf, (size_t)n, on_frame, c);
    if (r < 0)
        c->closed = true;
    return r;
}

int dcgw_ctlclient_call(struct dcgw_ctlclient *c, Dcgw__Request *req, Dcgw__Response **resp,
                        int timeout_ms)
{
    req->has_id = 1;
    req->id = ++c->next_id;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_REQUEST;
    f.request = req;
    uint8_t *b;
    size_t n;
    int r = dcgw_ctlmsg_pack(&f, DCGW_FRAME_MAX_CEILING, &b, &n);
    if (r)
        return r;
    r = dcgw_ctlclient_send_raw(c, b, n);
    free(b);
    if (r)
        return r;
    c->want_id = req->id;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    while (!c->got) {
        r = pump(c, deadline);
        if (r < 0)
            return r;
    }
    *resp = c->got;
    c->got = NULL;
    return 0;
}

int dcgw_ctlclient_next_event(struct dcgw_ctlclient *c, Dcgw__Event **ev, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    while (c->ev_count == 0) {
        int r = pump(c, deadline);
        if (r < 0)
            return r;
    }
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % EVENT_QUEUE_MAX;
    c->ev_count--;
    return 0;
}

size_t dcgw_ctlclient_events_dropped(const struct dcgw_ctlclient *c)
{
    return c->ev_dropped;
}

void dcgw_ctlclient_free(struct dcgw_ctlclient *c)
{
    if (!c)
        return;
    while (c->ev_count) {
        dcgw__event__free_unpacked(c->events[c->ev_head], NULL);
        c->ev_head = (c->ev_head + 1) % EVENT_QUEUE_MAX;
        c->ev_count--;
    }
    if (c->got)
        dcgw__response__free_unpacked(c->got, NULL);
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    dcgw_frame_decoder_dispose(&c->dec);
    free(c);
}
