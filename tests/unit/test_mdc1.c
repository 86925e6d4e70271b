/* MDC1 (net/mdc1.c): libcurl on the libuv loop against a small HTTP/1.1 server in the
 * same loop, through the proxy stage with a fake channel: a download paced by the window
 * (the transfer pauses and resumes), connection reuse, 502 for a closed port, 504 for a
 * DCSF that never answers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dcgw/base/error.h"
#include "dcgw/net/mdc1.h"
#include "helper_suite.h"

enum { BIG = 1 << 20 };

/* ---- the server: GET /big (1 MiB, Content-Length), GET /slow (no answer), else 404 */

struct conn {
    uv_tcp_t tcp;
    char req[4096];
    size_t n;
};

static unsigned accepted;
static char *big_resp;
static size_t big_len;

static void conn_closed(uv_handle_t *h)
{
    free(h->data);
}
static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    struct conn *c = h->data;
    *b = uv_buf_init(c->req + c->n, (unsigned)(sizeof(c->req) - c->n - 1));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct conn *c = s->data;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, conn_closed);
        return;
    }
    c->n += (size_t)nread;
    c->req[c->n] = '\0';
    char *end;
    while ((end = strstr(c->req, "\r\n\r\n"))) {
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t out;
        if (strncmp(c->req, "GET /big ", 9) == 0) {
            out = uv_buf_init(big_resp, (unsigned)big_len);
        } else if (strncmp(c->req, "GET /slow ", 10) == 0) {
            free(w);
            w = NULL;
        } else {
            static char nf[] =
                "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-Seen: 1\r\n\r\nnope";
            out = uv_buf_init(nf, sizeof(nf) - 1);
        }
        if (w)
            uv_write(w, s, &out, 1, on_written);
        size_t used = (size_t)(end + 4 - c->req);
        memmove(c->req, end + 4, c->n - used + 1);
        c->n -= used;
    }
}

static void on_conn(uv_stream_t *srv, int status)
{
    ck_assert_int_eq(status, 0);
    struct conn *c = calloc(1, sizeof(*c));
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    ck_assert_int_eq(uv_accept(srv, (uv_stream_t *)&c->tcp), 0);
    accepted++;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

/* ---- a channel that the test drains */

struct chan {
    size_t buffered, received, peak;
    char first[256];
    bool want, closed;
    unsigned failures;
};

static struct dcgw_http_proxy *proxy_for_drain;

static int ch_send(void *ud, const uint8_t *p, size_t n)
{
    struct chan *c = ud;
    if (c->received < sizeof(c->first) - 1) {
        size_t k = n < sizeof(c->first) - 1 - c->received ? n : sizeof(c->first) - 1 - c->received;
        memcpy(c->first + c->received, p, k);
    }
    c->received += n;
    c->buffered += n;
    return 0;
}
static size_t ch_buffered(void *ud)
{
    return ((struct chan *)ud)->buffered;
}
static void ch_want(void *ud)
{
    ((struct chan *)ud)->want = true;
}
static void ch_close(void *ud)
{
    ((struct chan *)ud)->closed = true;
}
static void ch_failed(void *ud, const struct dcgw_http_failure *f)
{
    (void)f;
    ((struct chan *)ud)->failures++;
}
static uint64_t ch_now(void *ud)
{
    (void)ud;
    return uv_hrtime() / 1000;
}

/* The UE drains 32 KiB every millisecond. */
static void on_drain(uv_timer_t *t)
{
    struct chan *c = t->data;
    size_t held = c->buffered + dcgw_http_proxy_held(proxy_for_drain);
    if (held > c->peak)
        c->peak = held;
    c->buffered = c->buffered > 32768 ? c->buffered - 32768 : 0;
    if (c->want) {
        c->want = false;
        dcgw_http_proxy_writable(proxy_for_drain);
    }
}

static struct dcgw_http_proxy *mk(struct dcgw_mdc1_target *t, struct chan *c, int port)
{
    struct dcgw_http_proxy_settings s;
    memset(&s, 0, sizeof(s));
    char url[64];
    const char *why;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    ck_assert_int_eq(dcgw_http_base_parse(url, &s.base, &why), 0);
    s.lim.max_header_bytes = 4096;
    s.lim.max_body_bytes = 4096;
    s.max_concurrent = 4;
    s.window_bytes = 65536;
    s.max_message_size = 16384;
    struct dcgw_http_channel_ops ch = {.ud = c,
                                       .send = ch_send,
                                       .buffered = ch_buffered,
                                       .want_writable = ch_want,
                                       .close = ch_close,
                                       .failed = ch_failed,
                                       .now_us = ch_now};
    struct dcgw_http_upstream_ops up;
    dcgw_mdc1_target_ops(t, &up);
    struct dcgw_http_proxy *p;
    ck_assert_int_eq(dcgw_http_proxy_new(&s, &ch, &up, &p), 0);
    return p;
}

static void run_until(uv_loop_t *loop, bool (*done)(void *), void *ud)
{
    uint64_t end = uv_now(loop) + 10000;
    while (!done(ud) && uv_now(loop) < end)
        uv_run(loop, UV_RUN_ONCE);
}

static size_t want_bytes;
static bool got_all(void *ud)
{
    return ((struct chan *)ud)->received >= want_bytes;
}
static bool got_fail(void *ud)
{
    return ((struct chan *)ud)->failures > 0;
}

START_TEST(download_paced_and_errors)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    big_len = (size_t)snprintf(NULL, 0, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG) + BIG;
    big_resp = malloc(big_len);
    int hl = snprintf(big_resp, big_len, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG);
    memset(big_resp + hl, 'x', BIG);

    uv_tcp_t srv;
    uv_tcp_init(&loop, &srv);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    ck_assert_int_eq(uv_tcp_bind(&srv, (struct sockaddr *)&a, 0), 0);
    ck_assert_int_eq(uv_listen((uv_stream_t *)&srv, 16, on_conn), 0);
    int alen = sizeof(a);
    uv_tcp_getsockname(&srv, (struct sockaddr *)&a, &alen);
    int port = ntohs(a.sin_port);

    struct dcgw_mdc1_settings ms = {.max_transfers = 8, .max_host_connections = 4};
    struct dcgw_mdc1 *m;
    ck_assert_int_eq(dcgw_mdc1_new(&loop, &ms, &m), 0);
    struct dcgw_mdc1_target_settings ts = {.host = "127.0.0.1",
                                           .port = (uint16_t)port,
                                           .connect_timeout_ms = 2000,
                                           .request_timeout_ms = 1500};
    struct dcgw_mdc1_target *t;
    ck_assert_int_eq(dcgw_mdc1_target_new(m, &ts, &t), 0);
    struct chan c = {.buffered = 0};
    struct dcgw_http_proxy *p = mk(t, &c, port);
    proxy_for_drain = p;
    uv_timer_t drain;
    uv_timer_init(&loop, &drain);
    drain.data = &c;
    uv_timer_start(&drain, on_drain, 1, 1);

    const char *req = "GET /big HTTP/1.1\r\n\r\n";
    dcgw_http_proxy_input(p, (const uint8_t *)req, strlen(req));
    want_bytes = (size_t)hl + BIG;
    run_until(&loop, got_all, &c);
    ck_assert_uint_eq(c.received, want_bytes);
    ck_assert(strncmp(c.first, "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\nxxx", 46) == 0);
    ck_assert_uint_gt(dcgw_http_proxy_stats(p)->paused, 0);
    ck_assert_uint_le(c.peak, 65536 + 2 * 16384 + 32768);
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->upstream_received, BIG);

    /* the same connection again */
    req = "GET /other HTTP/1.1\r\n\r\n";
    dcgw_http_proxy_input(p, (const uint8_t *)req, strlen(req));
    want_bytes = c.received + 60;
    run_until(&loop, got_all, &c);
    ck_assert_uint_eq(accepted, 1);
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->by_class[4], 1);

    /* no answer: 504 within the timeout */
    uint64_t t0 = uv_now(&loop);
    req = "GET /slow HTTP/1.1\r\n\r\n";
    size_t before = c.received;
    dcgw_http_proxy_input(p, (const uint8_t *)req, strlen(req));
    run_until(&loop, got_fail, &c);
    ck_assert_uint_eq(c.failures, 1);
    ck_assert_uint_lt(uv_now(&loop) - t0, 3000);
    ck_assert_uint_gt(c.received, before);
    ck_assert_uint_eq(dcgw_http_proxy_stats(p)->by_class[5], 1);
    dcgw_http_proxy_free(p);
    dcgw_mdc1_target_free(t);

    /* a closed port: 502 */
    struct chan c2 = {.buffered = 0};
    ts.port = 1;
    ck_assert_int_eq(dcgw_mdc1_target_new(m, &ts, &t), 0);
    p = mk(t, &c2, 1);
    proxy_for_drain = p;
    drain.data = &c2;
    req = "GET / HTTP/1.1\r\n\r\n";
    dcgw_http_proxy_input(p, (const uint8_t *)req, strlen(req));
    run_until(&loop, got_fail, &c2);
    ck_assert(strncmp(c2.first, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
    dcgw_http_proxy_free(p);
    dcgw_mdc1_target_free(t);

    uv_close((uv_handle_t *)&drain, NULL);
    uv_close((uv_handle_t *)&srv, NULL);
    dcgw_mdc1_free(m);
    for (int i = 0; i < 100 && uv_run(&loop, UV_RUN_NOWAIT); i++)
        ;
    ck_assert_int_eq(uv_loop_close(&loop), 0); /* every handle of mdc1 was closed */
    free(big_resp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mdc1");
    TCase *tc = tcase_create("curl");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, download_paced_and_errors);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
