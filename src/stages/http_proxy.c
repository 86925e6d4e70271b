/* One bootstrap channel's HTTP proxy (docs/bootstrap.md): a queue of transfers in request
 * order; the one at its head writes to the channel, the others wait with a bounded share
 * of the window. */
#include "dcgw/stages/http_proxy.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

enum {
    QUEUE_SLACK = 16, /* local answers queued beyond max_concurrent before closing */
    TARGET_REPORT_MAX = 256,
    DEFAULT_MSG = 65536, /* RFC 8841 §6.1: no a=max-message-size means 64 KiB */
};

struct buf {
    uint8_t *p;
    size_t len, off, cap;
};

struct dcgw_http_xfer {
    struct dcgw_http_proxy *p;
    struct dcgw_http_xfer *next;
    struct dcgw_http_request *rq; /* NULL for a local answer to a broken stream */
    char *url;
    void *h;        /* the upstream's, while it runs */
    struct buf out; /* framed for the UE, not sent yet */
    uint64_t t_start;
    unsigned status;
    bool head_done;   /* a response head is in out (or sent) */
    bool finished;    /* nothing more will be added to out */
    bool paused;      /* the upstream waits for resume */
    bool chunked;     /* body framed with chunked coding toward the UE */
    bool no_body;     /* HEAD, 1xx, 204, 304 */
    bool close_after; /* the channel closes once this response is out */
    bool local;
};

struct dcgw_http_proxy {
    struct dcgw_http_proxy_settings set;
    struct dcgw_http_channel_ops ch;
    struct dcgw_http_upstream_ops up;
    struct dcgw_http_reader *reader;
    struct dcgw_http_xfer *head, *tail;
    size_t queued;  /* transfers in the queue */
    size_t running; /* of them, upstream transfers not done */
    bool closing;   /* no more input is read; the channel closes after the queue */
    bool closed;    /* close() was called */
    bool pumping, again;
    struct dcgw_http_proxy_stats stats;
};

static size_t pending(const struct buf *b)
{
    return b->len - b->off;
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->off == b->len)
        b->off = b->len = 0;
    if (b->off && b->len + n > b->cap) { /* what was sent makes room: the buffer never holds
                                          * more than what is pending, plus this piece */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return DCGW_ENOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return DCGW_ETOOBIG;
    return buf_add(b, tmp, (size_t)n);
}

static const char *reason_of(unsigned status)
{
    const char *r = http_status_str((enum http_status)status);
    return r && strcmp(r, "<unknown>") != 0 ? r : "Status";
}

/* ---- the queue */

static void xfer_free(struct dcgw_http_xfer *x)
{
    dcgw_http_request_free(x->rq);
    free(x->url);
    free(x->out.p);
    free(x);
}

static void report(struct dcgw_http_proxy *p, const struct dcgw_http_xfer *x,
                   enum dcgw_http_failure_kind kind, unsigned status, const char *detail)
{
    p->stats.failed++;
    if (!p->ch.failed)
        return;
    char target[TARGET_REPORT_MAX + 1] = "";
    if (x && x->rq)
        snprintf(target, sizeof(target), "%.*s", TARGET_REPORT_MAX, x->rq->target);
    struct dcgw_http_failure f = {.kind = kind,
                                  .status = status,
                                  .method = x && x->rq ? x->rq->method : NULL,
                                  .target = target,
                                  .upstream = x ? x->url : NULL,
                                  .detail = detail};
    p->ch.failed(p->ch.ud, &f);
}

static struct dcgw_http_xfer *enqueue(struct dcgw_http_proxy *p, struct dcgw_http_request *rq)
{
    struct dcgw_http_xfer *x = calloc(1, sizeof(*x));
    if (!x) {
        dcgw_http_request_free(rq);
        return NULL;
    }
    x->p = p;
    x->rq = rq;
    x->t_start = p->ch.now_us(p->ch.ud);
    if (p->tail)
        p->tail->next = x;
    else
        p->head = x;
    p->tail = x;
    p->queued++;
    return x;
}

static void count_status(struct dcgw_http_proxy *p, unsigned status)
{
    unsigned c = status / 100;
    if (c >= 1 && c <= 5)
        p->stats.by_class[c]++;
}

/* A response dcgw writes itself: status, a short text body, whether the channel closes. */
static void answer_local(struct dcgw_http_proxy *p, struct dcgw_http_xfer *x, unsigned status,
                         bool close, const char *why)
{
    char body[256];
    int bn = snprintf(body, sizeof(body), "dcgw: %s\n", why ? why : reason_of(status));
    if (bn < 0 || (size_t)bn >= sizeof(body))
        bn = (int)sizeof(body) - 1;
    bool head = x->rq && x->rq->head;
    x->local = true;
    x->status = status;
    x->close_after = close || (x->rq && !x->rq->keep_alive);
    buf_printf(&x->out,
               "HTTP/1.1 %u %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "
               "%d\r\n%s\r\n",
               status, reason_of(status), bn, x->close_after ? "Connection: close\r\n" : "");
    if (!head)
        buf_add(&x->out, body, (size_t)bn);
    x->head_done = x->finished = true;
    count_status(p, status);
}

static void shut(struct dcgw_http_proxy *p);

static void maybe_resume(struct dcgw_http_proxy *p, struct dcgw_http_xfer *x)
{
    if (!x->paused || !x->h)
        return;
    if (pending(&x->out) + p->ch.buffered(p->ch.ud) >= p->set.window_bytes)
        return;
    x->paused = false;
    p->up.resume(p->up.ud, x->h);
}

/* Sends the head transfer's bytes while the window allows; pops finished transfers. */
static void pump_once(struct dcgw_http_proxy *p)
{
    struct dcgw_http_xfer *x;
    size_t max = p->set.max_message_size ? p->set.max_message_size : DEFAULT_MSG;
    while (!p->closed && (x = p->head)) {
        while (pending(&x->out)) {
            if (p->ch.buffered(p->ch.ud) >= p->set.window_bytes) {
                p->ch.want_writable(p->ch.ud);
                return;
            }
            size_t n = pending(&x->out) < max ? pending(&x->out) : max;
            int r = p->ch.send(p->ch.ud, x->out.p + x->out.off, n);
            if (r == DCGW_EAGAIN) {
                p->ch.want_writable(p->ch.ud);
                return;
            }
            if (r < 0) {
                DCGW_LOG_RL(DC, DEBUG, "http proxy: sending a response: %s", dcgw_strerror(r));
                shut(p);
                return;
            }
            x->out.off += n;
            p->stats.response_bytes += n;
        }
        if (!x->finished) {
            maybe_resume(p, x);
            return;
        }
        p->head = x->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        bool close = x->close_after;
        xfer_free(x);
        if (close) {
            shut(p);
            return;
        }
    }
    if (p->closing && !p->head)
        shut(p);
}

static void pump(struct dcgw_http_proxy *p)
{
    if (p->pumping) {
        p->again = true;
        return;
    }
    p->pumping = true;
    do {
        p->again = false;
        pump_once(p);
    } while (p->again && !p->closed);
    p->pumping = false;
}

/* Cancels (those upstream) and frees every transfer of p's queue. */
static void drop_all(struct dcgw_http_proxy *p)
{
    struct dcgw_http_xfer *x = p->head;
    while (x) {
        struct dcgw_http_xfer *next = x->next;
        if (x->h)
            p->up.cancel(p->up.ud, x->h);
        xfer_free(x);
        x = next;
    }
    p->head = p->tail = NULL;
}

/* Closes the channel once: transfers still queued are cancelled and dropped. */
static void shut(struct dcgw_http_proxy *p)
{
    if (p->closed)
        return;
    p->closed = p->closing = true;
    drop_all(p);
    p->queued = p->running = 0;
    p->ch.close(p->ch.ud);
}

/* ---- requests */

static bool skip_field(const struct dcgw_http_proxy *p, const struct dcgw_http_field *f,
                       const char *connection)
{
    static const char *const ours[] = {"host", "content-length", "expect"};
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (strcasecmp(f->name, ours[i]) == 0)
            return true;
    if (*p->set.header_name && strcasecmp(f->name, p->set.header_name) == 0)
        return true; /* the UE cannot speak for dcgw */
    return dcgw_http_hop_by_hop(f->name, f->name_len, connection);
}

static void start_upstream(struct dcgw_http_proxy *p, struct dcgw_http_xfer *x)
{
    struct dcgw_http_request *rq = x->rq;
    struct dcgw_http_hdr h[DCGW_HTTP_HEADERS_MAX + 1];
    size_t nh = 0;
    const char *connection = dcgw_http_request_field(rq, "connection");
    for (size_t i = 0; i < rq->n_fields; i++) {
        const struct dcgw_http_field *f = &rq->fields[i];
        if (skip_field(p, f, connection))
            continue;
        h[nh++] = (struct dcgw_http_hdr){f->name, f->value, f->name_len, f->value_len};
    }
    if (*p->set.header_name)
        h[nh++] = (struct dcgw_http_hdr){p->set.header_name, p->set.header_value,
                                         strlen(p->set.header_name), strlen(p->set.header_value)};
    struct dcgw_http_upstream_request ur = {.method = rq->method,
                                            .url = x->url,
                                            .headers = h,
                                            .n_headers = nh,
                                            .body = rq->body,
                                            .body_len = rq->body_len,
                                            .has_body = rq->has_body,
                                            .head = rq->head};
    int r = p->up.start(p->up.ud, &ur, x, &x->h);
    if (r == 0) {
        p->running++;
        p->stats.upstream_sent += rq->body_len;
        x->t_start = p->ch.now_us(p->ch.ud);
        return;
    }
    x->h = NULL;
    bool full = r == DCGW_ELIMIT;
    answer_local(p, x, full ? 503 : 502, false, full ? "too many requests in flight" : NULL);
    report(p, x, full ? DCGW_HTTP_OVERLOADED : DCGW_HTTP_UNREACHABLE, x->status, dcgw_strerror(r));
}

static void on_request(void *ud, struct dcgw_http_request *rq)
{
    struct dcgw_http_proxy *p = ud;
    p->stats.requests++;
    p->stats.request_bytes += rq->wire_bytes;
    if (p->closing) {
        dcgw_http_request_free(rq); /* after a Connection: close: not answered */
        return;
    }
    struct dcgw_http_xfer *x = enqueue(p, rq);
    if (!x)
        return;
    if (!rq->keep_alive)
        p->closing = true; /* RFC 9112 §9.6: nothing after it is read */
    const char *why = NULL;
    if (p->ch.admit && !p->ch.admit(p->ch.ud, rq)) {
        answer_local(p, x, 429, false, "the channel's rate limit");
        report(p, x, DCGW_HTTP_RATE_LIMITED, 429, NULL);
        return;
    }
    if (p->running >= p->set.max_concurrent) {
        answer_local(p, x, 503, false, "too many requests in flight on this channel");
        report(p, x, DCGW_HTTP_OVERLOADED, 503, NULL);
        return;
    }
    int r = dcgw_http_rewrite(&p->set.base, rq->target, rq->target_len, &x->url, &why);
    if (r == DCGW_EDENIED) {
        answer_local(p, x, 403, false, why);
        report(p, x, DCGW_HTTP_FORBIDDEN_TARGET, 403, why);
        return;
    }
    if (r < 0) {
        answer_local(p, x, r == DCGW_ENOMEM ? 503 : 400, r != DCGW_ENOMEM, why);
        report(p, x, DCGW_HTTP_MALFORMED, x->status, why);
        if (x->close_after)
            p->closing = true;
        return;
    }
    start_upstream(p, x);
}

void dcgw_http_proxy_input(struct dcgw_http_proxy *p, const uint8_t *msg, size_t n)
{
    if (p->closing)
        return;
    int r = dcgw_http_reader_feed(p->reader, msg, n, on_request, p);
    if (r == DCGW_EPROTO && !p->closing) {
        const char *why;
        unsigned status = dcgw_http_reader_error(p->reader, &why);
        struct dcgw_http_xfer *x = enqueue(p, NULL);
        p->stats.requests++;
        if (x) {
            answer_local(p, x, status, true, why);
            enum dcgw_http_failure_kind k = status == 431   ? DCGW_HTTP_HEADERS_TOO_LARGE
                                            : status == 413 ? DCGW_HTTP_BODY_TOO_LARGE
                                            : status == 405 ? DCGW_HTTP_METHOD
                                                            : DCGW_HTTP_MALFORMED;
            report(p, x, k, status, why);
        }
        p->closing = true;
    }
    if (!p->closing && p->queued > p->set.max_concurrent + QUEUE_SLACK) {
        /* answers pile up faster than the UE takes them: stop reading */
        report(p, NULL, DCGW_HTTP_OVERLOADED, 0, "too many requests queued");
        shut(p);
        return;
    }
    pump(p);
}

void dcgw_http_proxy_writable(struct dcgw_http_proxy *p)
{
    pump(p);
}

/* ---- from the upstream */

static bool field_is(const struct dcgw_http_hdr *f, const char *name)
{
    return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

void dcgw_http_xfer_head(struct dcgw_http_xfer *x, unsigned status, const char *reason,
                         const struct dcgw_http_hdr *fields, size_t n)
{
    struct dcgw_http_proxy *p = x->p;
    if (status < 200 || x->head_done)
        return; /* interim responses are not passed on */
    uint64_t lat = p->ch.now_us(p->ch.ud) - x->t_start;
    p->stats.latency_us_sum += lat;
    p->stats.upstream_responses++;
    if (lat > p->stats.latency_us_max)
        p->stats.latency_us_max = lat;
    x->status = status;
    count_status(p, status);
    x->no_body = x->rq->head || status == 204 || status == 304;
    const char *connection = NULL;
    bool has_length = false;
    for (size_t i = 0; i < n; i++) {
        if (field_is(&fields[i], "connection"))
            connection = fields[i].value;
        if (field_is(&fields[i], "content-length"))
            has_length = true;
    }
    x->chunked = !x->no_body && !has_length && x->rq->minor >= 1;
    x->close_after = !x->rq->keep_alive || (!x->no_body && !has_length && !x->chunked);
    bool ok_reason = reason && *reason && strlen(reason) < 64 && !strpbrk(reason, "\r\n");
    buf_printf(&x->out, "HTTP/1.1 %u %s\r\n", status, ok_reason ? reason : reason_of(status));
    for (size_t i = 0; i < n; i++) {
        const struct dcgw_http_hdr *f = &fields[i];
        if (dcgw_http_hop_by_hop(f->name, f->name_len, connection))
            continue;
        buf_add(&x->out, f->name, f->name_len);
        buf_add(&x->out, ": ", 2);
        buf_add(&x->out, f->value, f->value_len);
        buf_add(&x->out, "\r\n", 2);
    }
    if (x->chunked)
        buf_add(&x->out, "Transfer-Encoding: chunked\r\n", 28);
    if (x->close_after)
        buf_add(&x->out, "Connection: close\r\n", 19);
    buf_add(&x->out, "\r\n", 2);
    x->head_done = true; /* sent at the next flush, with what of the body came by then */
}

int dcgw_http_xfer_body(struct dcgw_http_xfer *x, const uint8_t *data, size_t n)
{
    struct dcgw_http_proxy *p = x->p;
    if (!x->head_done || x->no_body || n == 0)
        return 0; /* nothing to pass on (a body where none belongs is dropped) */
    size_t held = pending(&x->out);
    bool over;
    if (x == p->head) {
        /* what it holds leaves at the next flush; more than a message or two of it would
         * only sit here (and stay resident) while the channel's buffer fills */
        size_t stage = p->set.max_message_size ? p->set.max_message_size : DEFAULT_MSG;
        over = held >= stage || held + p->ch.buffered(p->ch.ud) >= p->set.window_bytes;
    } else { /* those behind the head share half the window */
        size_t behind = 0;
        for (struct dcgw_http_xfer *o = p->head ? p->head->next : NULL; o; o = o->next)
            behind += pending(&o->out);
        over = behind + n > p->set.window_bytes / 2;
    }
    if (over) {
        if (!x->paused)
            p->stats.paused++;
        x->paused = true;
        if (x == p->head)
            p->ch.want_writable(p->ch.ud); /* resumed from dcgw_http_proxy_writable */
        return DCGW_EAGAIN;
    }
    int r = 0;
    if (x->chunked)
        r = buf_printf(&x->out, "%zx\r\n", n);
    if (r == 0)
        r = buf_add(&x->out, data, n);
    if (r == 0 && x->chunked)
        r = buf_add(&x->out, "\r\n", 2);
    if (r < 0) {
        x->paused = true;
        return DCGW_EAGAIN; /* out of memory: try again later */
    }
    p->stats.upstream_received += n;
    return 0;
}

void dcgw_http_xfer_flush(struct dcgw_http_xfer *x)
{
    pump(x->p);
}

void dcgw_http_xfer_done(struct dcgw_http_xfer *x, int err, const char *detail)
{
    struct dcgw_http_proxy *p = x->p;
    x->h = NULL;
    x->paused = false;
    if (p->running)
        p->running--;
    if (err == 0 && !x->head_done)
        err = DCGW_EPROTO;
    if (err == 0) {
        if (x->chunked)
            buf_add(&x->out, "0\r\n\r\n", 5);
        x->finished = true;
    } else if (!x->head_done) {
        bool timeout = err == DCGW_ETIMEOUT;
        answer_local(p, x, timeout ? 504 : 502, false,
                     timeout ? "the DCSF did not answer in time" : "the DCSF could not be reached");
        report(p, x, timeout ? DCGW_HTTP_TIMEOUT : DCGW_HTTP_UNREACHABLE, x->status, detail);
    } else {
        /* the head went out: the UE can only learn of the break by the channel closing */
        x->finished = x->close_after = true;
        report(p, x, DCGW_HTTP_CUT_SHORT, 0, detail);
    }
    pump(p);
}

/* ---- life */

int dcgw_http_proxy_new(const struct dcgw_http_proxy_settings *set,
                        const struct dcgw_http_channel_ops *ch,
                        const struct dcgw_http_upstream_ops *up, struct dcgw_http_proxy **out)
{
    struct dcgw_http_proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return DCGW_ENOMEM;
    p->set = *set;
    p->ch = *ch;
    p->up = *up;
    int r = dcgw_http_reader_new(&set->lim, &p->reader);
    if (r < 0) {
        free(p);
        return r;
    }
    *out = p;
    return 0;
}

void dcgw_http_proxy_configure(struct dcgw_http_proxy *p,
                               const struct dcgw_http_proxy_settings *set)
{
    p->set = *set; /* the reader keeps the limits it started with: they bound memory only */
}

void dcgw_http_proxy_free(struct dcgw_http_proxy *p)
{
    if (!p)
        return;
    drop_all(p);
    dcgw_http_reader_free(p->reader);
    free(p);
}

const struct dcgw_http_proxy_stats *dcgw_http_proxy_stats(const struct dcgw_http_proxy *p)
{
    return &p->stats;
}

size_t dcgw_http_proxy_held(const struct dcgw_http_proxy *p)
{
    size_t n = 0;
    for (const struct dcgw_http_xfer *x = p->head; x; x = x->next)
        n += pending(&x->out);
    return n;
}

size_t dcgw_http_proxy_buffer_cap(const struct dcgw_http_proxy *p)
{
    size_t n = 0;
    for (const struct dcgw_http_xfer *x = p->head; x; x = x->next)
        n += x->out.cap;
    return n;
}
