/* One channel's HTTP proxy (stages/http_proxy.c) between a fake channel and a fake
 * upstream: order, framing, pacing, error statuses, counters. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/http_proxy.h"
#include "helper_suite.h"

enum { MAXX = 32 };

struct fake {
    /* channel */
    char *out; /* everything sent, concatenated */
    size_t out_len, max_msg_seen, msgs;
    size_t buffered; /* what the channel holds; grows with sends, tests drain it */
    bool eagain;     /* send refuses */
    size_t sndbuf;   /* send refuses past this many buffered bytes (0: no limit) */
    bool discard;    /* count what is sent, keep none of it */
    bool closed, want;
    unsigned failures, last_failure;
    bool deny; /* admit says no */
    uint64_t now;
    /* upstream */
    struct dcgw_http_xfer *x[MAXX];
    char url[MAXX][512], method[MAXX][16], hdrs[MAXX][2048], body[MAXX][64];
    bool resumed[MAXX], cancelled[MAXX];
    size_t n;
    int start_err;
};

static int ch_send(void *ud, const uint8_t *p, size_t n)
{
    struct fake *f = ud;
    if (f->eagain || (f->sndbuf && f->buffered + n > f->sndbuf))
        return DCGW_EAGAIN;
    if (!f->discard) {
        f->out = realloc(f->out, f->out_len + n + 1);
        memcpy(f->out + f->out_len, p, n);
        f->out[f->out_len + n] = '\0';
    }
    f->out_len += n;
    f->buffered += n;
    f->msgs++;
    if (n > f->max_msg_seen)
        f->max_msg_seen = n;
    return 0;
}
static size_t ch_buffered(void *ud)
{
    return ((struct fake *)ud)->buffered;
}
static void ch_want(void *ud)
{
    ((struct fake *)ud)->want = true;
}
static void ch_close(void *ud)
{
    ((struct fake *)ud)->closed = true;
}
static void ch_failed(void *ud, const struct dcgw_http_failure *fl)
{
    struct fake *f = ud;
    f->failures++;
    f->last_failure = fl->kind;
}
static bool ch_admit(void *ud, const struct dcgw_http_request *rq)
{
    (void)rq;
    return !((struct fake *)ud)->deny;
}
static uint64_t ch_now(void *ud)
{
    return ((struct fake *)ud)->now;
}

static int up_start(void *ud, const struct dcgw_http_upstream_request *rq, struct dcgw_http_xfer *x,
                    void **h)
{
    struct fake *f = ud;
    if (f->start_err)
        return f->start_err;
    ck_assert_uint_lt(f->n, MAXX);
    size_t i = f->n++;
    f->x[i] = x;
    snprintf(f->url[i], sizeof(f->url[i]), "%s", rq->url);
    snprintf(f->method[i], sizeof(f->method[i]), "%s", rq->method);
    size_t o = 0;
    for (size_t k = 0; k < rq->n_headers; k++)
        o += (size_t)snprintf(f->hdrs[i] + o, sizeof(f->hdrs[i]) - o, "%.*s: %.*s\n",
                              (int)rq->headers[k].name_len, rq->headers[k].name,
                              (int)rq->headers[k].value_len, rq->headers[k].value);
    snprintf(f->body[i], sizeof(f->body[i]), "%.*s", (int)rq->body_len, (const char *)rq->body);
    *h = (void *)(i + 1);
    return 0;
}
static void up_resume(void *ud, void *h)
{
    ((struct fake *)ud)->resumed[(size_t)h - 1] = true;
}
static void up_cancel(void *ud, void *h)
{
    ((struct fake *)ud)->cancelled[(size_t)h - 1] = true;
}

static struct dcgw_http_proxy *mk(struct fake *f, size_t window, size_t maxmsg, bool admit)
{
    memset(f, 0, sizeof(*f));
    struct dcgw_http_proxy_settings s;
    memset(&s, 0, sizeof(s));
    const char *why;
    ck_assert_int_eq(dcgw_http_base_parse("https://dcsf.example/boot/ue1/", &s.base, &why), 0);
    s.lim.max_header_bytes = 4096;
    s.lim.max_body_bytes = 1024;
    s.max_concurrent = 3;
    s.window_bytes = window;
    s.max_message_size = maxmsg;
    snprintf(s.header_name, sizeof(s.header_name), "X-Dcgw-Session");
    snprintf(s.header_value, sizeof(s.header_value), "session=s1;leg=ue");
    struct dcgw_http_channel_ops ch = {.ud = f,
                                       .send = ch_send,
                                       .buffered = ch_buffered,
                                       .want_writable = ch_want,
                                       .close = ch_close,
                                       .failed = ch_failed,
                                       .admit = admit ? ch_admit : NULL,
                                       .now_us = ch_now};
    struct dcgw_http_upstream_ops up = {
        .ud = f, .start = up_start, .resume = up_resume, .cancel = up_cancel};
    struct dcgw_http_proxy *p;
    ck_assert_int_eq(dcgw_http_proxy_new(&s, &ch, &up, &p), 0);
    return p;
}

static void in(struct dcgw_http_proxy *p, const char *s)
{
    dcgw_http_proxy_input(p, (const uint8_t *)s, strlen(s));
}

static void head(struct dcgw_http_xfer *x, unsigned status, const char *fields)
{
    struct dcgw_http_hdr h[8];
    size_t n = 0;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", fields);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *c = strchr(l, ':');
        h[n] = (struct dcgw_http_hdr){l, c + 2, (size_t)(c - l), strlen(c + 2)};
        n++;
    }
    /* the strings must outlive the call only: head copies them */
    dcgw_http_xfer_head(x, status, NULL, h, n);
    dcgw_http_xfer_flush(x);
}

static int body(struct dcgw_http_xfer *x, const char *s)
{
    int r = dcgw_http_xfer_body(x, (const uint8_t *)s, strlen(s));
    dcgw_http_xfer_flush(x);
    return r;
}

START_TEST(get_rewritten_and_filtered)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    in(p, "GET /apps/list?lang=en HTTP/1.1\r\nHost: whatever\r\nAccept: application/json\r\n"
          "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nX-Dcgw-Session: forged\r\n"
          "TE: trailers\r\nX-End: e\r\n\r\n");
    ck_assert_uint_eq(f.n, 1);
    ck_assert_str_eq(f.url[0], "https://dcsf.example:443/boot/ue1/apps/list?lang=en");
    ck_assert_str_eq(f.method[0], "GET");
    ck_assert_str_eq(f.hdrs[0], "Accept: application/json\nX-End: e\n"
                                "X-Dcgw-Session: session=s1;leg=ue\n");
    f.now = 1500;
    head(f.x[0], 200,
         "Content-Type: application/json\nContent-Length: 7\nConnection: close\n"
         "Server: t");
    ck_assert_int_eq(body(f.x[0], "[1,2,3]"), 0);
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                            "7\r\nServer: t\r\n\r\n[1,2,3]");
    ck_assert(!f.closed);
    const struct dcgw_http_proxy_stats *st = dcgw_http_proxy_stats(p);
    ck_assert_uint_eq(st->requests, 1);
    ck_assert_uint_eq(st->by_class[2], 1);
    ck_assert_uint_eq(st->upstream_received, 7);
    ck_assert_uint_eq(st->response_bytes, f.out_len);
    ck_assert_uint_eq(st->latency_us_sum, 1500);
    ck_assert_uint_eq(st->upstream_responses, 1);
    ck_assert_uint_gt(st->request_bytes, 100);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

/* Head and body given before one flush leave in one message. */
START_TEST(head_and_body_share_a_message)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    in(p, "GET / HTTP/1.1\r\n\r\n");
    struct dcgw_http_hdr h = {"Content-Length", "2", 14, 1};
    dcgw_http_xfer_head(f.x[0], 200, NULL, &h, 1);
    ck_assert_int_eq(dcgw_http_xfer_body(f.x[0], (const uint8_t *)"ok", 2), 0);
    ck_assert_uint_eq(f.msgs, 0); /* nothing before the flush */
    dcgw_http_xfer_flush(f.x[0]);
    ck_assert_uint_eq(f.msgs, 1);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_uint_eq(f.msgs, 1);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

START_TEST(pipelined_in_order_and_post)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    in(p, "POST /up HTTP/1.1\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhe");
    in(p, "llo");
    in(p, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(f.n, 3);
    ck_assert_str_eq(f.method[0], "POST");
    ck_assert_str_eq(f.body[0], "hello");
    ck_assert_str_eq(f.hdrs[0], "Content-Type: text/plain\nX-Dcgw-Session: session=s1;leg=ue\n");
    /* the last answers first: nothing goes out before the first */
    head(f.x[2], 200, "Content-Length: 1");
    body(f.x[2], "b");
    dcgw_http_xfer_done(f.x[2], 0, NULL);
    head(f.x[1], 404, "Content-Length: 1");
    body(f.x[1], "a");
    dcgw_http_xfer_done(f.x[1], 0, NULL);
    ck_assert_uint_eq(f.out_len, 0);
    head(f.x[0], 201, "Content-Length: 2");
    body(f.x[0], "ok");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_str_eq(f.out, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                            "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\na"
                            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb");
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->by_class[4], 1);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

START_TEST(chunked_and_close_delimited)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    in(p, "GET / HTTP/1.1\r\n\r\n");
    head(f.x[0], 200, "Content-Type: text/html");
    body(f.x[0], "hello");
    body(f.x[0], "world!");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: "
                            "chunked\r\n\r\n5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n");
    ck_assert(!f.closed);
    dcgw_http_proxy_free(p);
    free(f.out);

    p = mk(&f, 65536, 65536, false); /* HTTP/1.0: no chunked coding; the close ends it */
    in(p, "GET / HTTP/1.0\r\n\r\n");
    head(f.x[0], 200, "X: y");
    body(f.x[0], "abc");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nX: y\r\nConnection: close\r\n\r\nabc");
    ck_assert(f.closed);
    dcgw_http_proxy_free(p);
    free(f.out);

    p = mk(&f, 65536, 65536, false); /* HEAD: no body, the length stays */
    in(p, "HEAD / HTTP/1.1\r\n\r\n");
    head(f.x[0], 200, "Content-Length: 99");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

START_TEST(paced_by_the_window)
{
    struct fake f;
    enum { WIN = 64 * 1024, PIECE = 16 * 1024, TOTAL = 1024 * 1024, MSG = 8192 };
    struct dcgw_http_proxy *p = mk(&f, WIN, MSG, false);
    in(p, "GET /big HTTP/1.1\r\n\r\n");
    char len[64];
    snprintf(len, sizeof(len), "Content-Length: %d", TOTAL);
    head(f.x[0], 200, len);
    static char piece[PIECE];
    size_t given = 0, pauses = 0, peak = 0;
    uint8_t next = 0;
    while (given < TOTAL) {
        for (size_t i = 0; i < PIECE; i++)
            piece[i] = (char)(next + i);
        int r = dcgw_http_xfer_body(f.x[0], (const uint8_t *)piece, PIECE);
        dcgw_http_xfer_flush(f.x[0]);
        size_t held = dcgw_http_proxy_held(p) + f.buffered;
        peak = held > peak ? held : peak;
        if (r == DCGW_EAGAIN) {
            pauses++;
            ck_assert(!f.resumed[0]);
            ck_assert(f.want); /* the proxy asked to hear when the channel drains */
            f.want = false;
            /* the UE drains everything; the proxy resumes the upstream */
            f.buffered = 0;
            dcgw_http_proxy_writable(p);
            ck_assert(f.resumed[0]);
            f.resumed[0] = false;
            continue; /* the same piece again, as curl does after a pause */
        }
        ck_assert_int_eq(r, 0);
        given += PIECE;
        next = (uint8_t)(next + PIECE);
    }
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_uint_gt(pauses, TOTAL / WIN / 2);
    ck_assert_uint_le(peak, WIN + PIECE); /* the window plus one read */
    ck_assert_uint_le(f.max_msg_seen, MSG);
    const char *b = strstr(f.out, "\r\n\r\n") + 4;
    ck_assert_uint_eq(f.out_len - (size_t)(b - f.out), TOTAL);
    size_t bad = TOTAL;
    for (size_t i = 0; i < TOTAL && bad == TOTAL; i++)
        if ((uint8_t)b[i] != (uint8_t)i)
            bad = i;
    ck_assert_uint_eq(bad, TOTAL); /* every byte in order */
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->paused, pauses);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

/* The UE takes a little at a time and the channel's send buffer is smaller than the
 * window, so the proxy's buffer is never empty: what it holds (and the memory behind it)
 * stays within the window all the same. */
START_TEST(held_bytes_bounded_when_never_empty)
{
    struct fake f;
    enum { WIN = 65536, PIECE = 16384 };
    struct dcgw_http_proxy *p = mk(&f, WIN, 4096, false);
    f.sndbuf = WIN / 2;
    f.discard = true;
    in(p, "GET /big HTTP/1.1\r\n\r\n");
    head(f.x[0], 200, "Content-Length: 16777216");
    static uint8_t piece[PIECE];
    size_t given = 0, peak = 0;
    for (int round = 0; round < 4000 && given < 16777216; round++) {
        if (dcgw_http_xfer_body(f.x[0], piece, PIECE) == 0)
            given += PIECE;
        dcgw_http_xfer_flush(f.x[0]);
        size_t held = dcgw_http_proxy_held(p);
        peak = held > peak ? held : peak;
        f.buffered = f.buffered > 6000 ? f.buffered - 6000 : 0; /* drains a bit each round */
        dcgw_http_proxy_writable(p);
    }
    ck_assert_uint_gt(given, 4 * WIN);
    ck_assert_uint_le(peak, WIN + PIECE);
    ck_assert_uint_le(dcgw_http_proxy_buffer_cap(p), 2 * (WIN + PIECE));
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

START_TEST(eagain_from_the_channel)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    f.eagain = true;
    in(p, "GET / HTTP/1.1\r\n\r\n");
    head(f.x[0], 200, "Content-Length: 2");
    body(f.x[0], "hi");
    dcgw_http_xfer_done(f.x[0], 0, NULL);
    ck_assert_uint_eq(f.out_len, 0);
    ck_assert(f.want);
    f.eagain = false;
    dcgw_http_proxy_writable(p);
    ck_assert_str_eq(f.out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

static const struct {
    const char *in;
    const char *status_line;
    bool closes, starts;
    unsigned failure;
} local[] = {
    {"garbage\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", true, false, DCGW_HTTP_MALFORMED},
    {"GET / HTTP/1.1\r\nX: "
     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
     "%s\r\n\r\n",
     "HTTP/1.1 431 Request Header Fields Too Large\r\n", true, false, DCGW_HTTP_HEADERS_TOO_LARGE},
    {"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", "HTTP/1.1 413 Payload Too Large\r\n", true,
     false, DCGW_HTTP_BODY_TOO_LARGE},
    {"GET http://evil.example/x HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n", false, false,
     DCGW_HTTP_FORBIDDEN_TARGET},
    {"GET /a%2f.. HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n", true, false,
     DCGW_HTTP_MALFORMED},
    {"CONNECT dcsf.example:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n", true,
     false, DCGW_HTTP_METHOD},
};

START_TEST(local_answers)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    char msg[8192];
    if (strstr(local[_i].in, "%s")) {
        char pad[5000];
        memset(pad, 'B', sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        snprintf(msg, sizeof(msg), local[_i].in, pad);
    } else {
        snprintf(msg, sizeof(msg), "%s", local[_i].in);
    }
    in(p, msg);
    ck_assert_uint_eq(f.n, local[_i].starts ? 1 : 0);
    ck_assert_ptr_nonnull(f.out);
    ck_assert_msg(strncmp(f.out, local[_i].status_line, strlen(local[_i].status_line)) == 0, "%s",
                  f.out);
    ck_assert(f.closed == local[_i].closes);
    ck_assert(strstr(f.out, "\r\n\r\ndcgw: "));
    ck_assert_uint_eq(f.failures, 1);
    ck_assert_uint_eq(f.last_failure, local[_i].failure);
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->failed, 1);
    /* after a close nothing more is read */
    size_t before = f.out_len;
    in(p, "GET / HTTP/1.1\r\n\r\n");
    if (local[_i].closes)
        ck_assert_uint_eq(f.out_len, before);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

START_TEST(upstream_failures)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, true);
    in(p, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"
          "GET /4 HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(f.n, 3); /* max_concurrent: the fourth gets 503 at once */
    dcgw_http_xfer_done(f.x[0], DCGW_EIO, "Couldn't connect to server");
    dcgw_http_xfer_done(f.x[1], DCGW_ETIMEOUT, "Operation timed out");
    head(f.x[2], 200, "Content-Length: 10");
    body(f.x[2], "abc");
    ck_assert(!f.closed);
    dcgw_http_xfer_done(f.x[2], DCGW_EIO, "transfer closed with 7 bytes remaining");
    ck_assert(strstr(f.out, "HTTP/1.1 502 Bad Gateway\r\n"));
    ck_assert(strstr(f.out, "HTTP/1.1 504 Gateway Timeout\r\n"));
    ck_assert(strstr(f.out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    /* the cut-short response ends the channel: the 503 behind it is not sent */
    ck_assert(!strstr(f.out, "503"));
    ck_assert(f.closed);
    ck_assert_uint_eq(f.failures, 4);
    ck_assert_uint_eq(f.last_failure, DCGW_HTTP_CUT_SHORT);
    ck_assert(strstr(f.out, "502") < strstr(f.out, "504"));
    dcgw_http_proxy_free(p);
    free(f.out);

    p = mk(&f, 65536, 65536, true);
    f.deny = true;
    in(p, "GET /1 HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(f.n, 0);
    ck_assert(strstr(f.out, "HTTP/1.1 429 Too Many Requests\r\n"));
    f.deny = false;
    f.start_err = DCGW_ELIMIT;
    in(p, "GET /2 HTTP/1.1\r\n\r\n");
    ck_assert(strstr(f.out, "HTTP/1.1 503 Service Unavailable\r\n"));
    f.start_err = 0;
    in(p, "GET /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(f.n, 2);
    dcgw_http_proxy_free(p); /* both in flight are cancelled */
    ck_assert(f.cancelled[0] && f.cancelled[1]);
    free(f.out);
}
END_TEST

START_TEST(queue_is_bounded)
{
    struct fake f;
    struct dcgw_http_proxy *p = mk(&f, 65536, 65536, false);
    f.eagain = true; /* the UE takes nothing */
    for (int i = 0; i < 200 && !f.closed; i++)
        in(p, "GET /x HTTP/1.1\r\n\r\n");
    ck_assert(f.closed);
    ck_assert_uint_le(f.n, 3);
    ck_assert(f.cancelled[0]);
    dcgw_http_proxy_free(p);
    free(f.out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_proxy");
    TCase *tc = tcase_create("proxy");
    tcase_add_test(tc, get_rewritten_and_filtered);
    tcase_add_test(tc, head_and_body_share_a_message);
    tcase_add_test(tc, pipelined_in_order_and_post);
    tcase_add_test(tc, chunked_and_close_delimited);
    tcase_add_test(tc, paced_by_the_window);
    tcase_add_test(tc, held_bytes_bounded_when_never_empty);
    tcase_add_test(tc, eagain_from_the_channel);
    tcase_add_loop_test(tc, local_answers, 0, sizeof(local) / sizeof(local[0]));
    tcase_add_test(tc, upstream_failures);
    tcase_add_test(tc, queue_is_bounded);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
