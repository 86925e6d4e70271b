/* Requests from a byte stream (stages/http_req.c): framing, limits, errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/http_req.h"
#include "helper_suite.h"

struct got {
    struct dcgw_http_request *rq[8];
    size_t n;
};

static void on_req(void *ud, struct dcgw_http_request *rq)
{
    struct got *g = ud;
    ck_assert_uint_lt(g->n, 8);
    g->rq[g->n++] = rq;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        dcgw_http_request_free(g->rq[i]);
    g->n = 0;
}

static struct dcgw_http_reader *reader(size_t hdr, size_t body)
{
    struct dcgw_http_reader_limits lim = {.max_header_bytes = hdr, .max_body_bytes = body};
    struct dcgw_http_reader *r;
    ck_assert_int_eq(dcgw_http_reader_new(&lim, &r), 0);
    return r;
}

static int feed(struct dcgw_http_reader *r, const char *s, struct got *g)
{
    return dcgw_http_reader_feed(r, (const uint8_t *)s, strlen(s), on_req, g);
}

START_TEST(simple_get)
{
    struct dcgw_http_reader *r = reader(16384, 1024);
    struct got g = {.n = 0};
    ck_assert_int_eq(
        feed(r, "GET /apps?x=1 HTTP/1.1\r\nHost: dcgw\r\nAccept: */*\r\nX-E:\r\n\r\n", &g), 0);
    ck_assert_uint_eq(g.n, 1);
    struct dcgw_http_request *q = g.rq[0];
    ck_assert_str_eq(q->method, "GET");
    ck_assert_str_eq(q->target, "/apps?x=1");
    ck_assert_uint_eq(q->target_len, 9);
    ck_assert_uint_eq(q->n_fields, 3);
    ck_assert_str_eq(q->fields[0].name, "Host");
    ck_assert_str_eq(q->fields[0].value, "dcgw");
    ck_assert_str_eq(dcgw_http_request_field(q, "accept"), "*/*");
    ck_assert_str_eq(dcgw_http_request_field(q, "x-e"), "");
    ck_assert_ptr_null(dcgw_http_request_field(q, "nope"));
    ck_assert(q->keep_alive);
    ck_assert(!q->has_body);
    ck_assert(!q->head);
    ck_assert_uint_eq(q->major * 10 + q->minor, 11);
    got_free(&g);
    ck_assert_int_eq(feed(r, "HEAD / HTTP/1.0\r\n\r\n", &g), 0);
    ck_assert(g.rq[0]->head);
    ck_assert(!g.rq[0]->keep_alive);
    got_free(&g);
    ck_assert_int_eq(feed(r, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &g), 0);
    ck_assert(!g.rq[0]->keep_alive);
    got_free(&g);
    dcgw_http_reader_free(r);
}
END_TEST

START_TEST(split_and_pipelined)
{
    const char *two = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b "
                      "HTTP/1.1\r\nHost: a\r\n\r\n";
    /* every split point: the same two requests */
    for (size_t cut = 0; cut <= strlen(two); cut++) {
        struct dcgw_http_reader *r = reader(16384, 1024);
        struct got g = {.n = 0};
        ck_assert_int_eq(dcgw_http_reader_feed(r, (const uint8_t *)two, cut, on_req, &g), 0);
        ck_assert_int_eq(
            dcgw_http_reader_feed(r, (const uint8_t *)two + cut, strlen(two) - cut, on_req, &g), 0);
        ck_assert_uint_eq(g.n, 2);
        ck_assert_str_eq(g.rq[0]->method, "POST");
        ck_assert_str_eq(g.rq[0]->target, "/up");
        ck_assert_uint_eq(g.rq[0]->body_len, 5);
        ck_assert(memcmp(g.rq[0]->body, "hello", 5) == 0);
        ck_assert_str_eq(g.rq[0]->fields[1].name, "Content-Length");
        ck_assert_str_eq(g.rq[1]->target, "/b");
        ck_assert_str_eq(g.rq[1]->fields[0].value, "a");
        ck_assert_uint_eq(dcgw_http_reader_pending(r), 0);
        got_free(&g);
        dcgw_http_reader_free(r);
    }
    /* one byte at a time */
    struct dcgw_http_reader *r = reader(16384, 1024);
    struct got g = {.n = 0};
    for (size_t i = 0; i < strlen(two); i++)
        ck_assert_int_eq(dcgw_http_reader_feed(r, (const uint8_t *)two + i, 1, on_req, &g), 0);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.rq[0]->fields[1].value, "5");
    got_free(&g);
    dcgw_http_reader_free(r);
}
END_TEST

START_TEST(chunked_body_and_trailers)
{
    struct dcgw_http_reader *r = reader(16384, 1024);
    struct got g = {.n = 0};
    ck_assert_int_eq(
        feed(r, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", &g), 0);
    ck_assert_uint_eq(g.n, 0);
    ck_assert_uint_gt(dcgw_http_reader_pending(r), 0);
    ck_assert_int_eq(feed(r, "4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n", &g), 0);
    ck_assert_uint_eq(g.n, 1);
    ck_assert(g.rq[0]->chunked);
    ck_assert(g.rq[0]->has_body);
    ck_assert_uint_eq(g.rq[0]->body_len, 7);
    ck_assert(memcmp(g.rq[0]->body, "abcdefg", 7) == 0);
    ck_assert_uint_eq(g.rq[0]->n_fields, 1); /* the trailer is not a field */
    got_free(&g);
    /* an Upgrade request is read as a plain one and the stream goes on */
    ck_assert_int_eq(feed(r,
                          "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /2 "
                          "HTTP/1.1\r\n\r\n",
                          &g),
                     0);
    ck_assert_uint_eq(g.n, 2);
    ck_assert_str_eq(g.rq[1]->target, "/2");
    got_free(&g);
    dcgw_http_reader_free(r);
}
END_TEST

static const struct {
    const char *in;
    unsigned status;
    size_t before; /* requests delivered before the error */
} bad[] = {
    {"\x16\x03\x01garbage\r\n\r\n", 400, 0},
    {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, 0},
    {"GET / HTTP/9.9\r\n\r\n", 505, 0},
    {"GET / HTTP/2.0\r\n\r\n", 505, 0},
    {"GET / HTTP/1.1\r\n\r\nNOPE\r\n\r\n", 400, 1},
    {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, 0},
    {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, 0},
    {"POST / HTTP/1.1\r\nContent-Length: 2048\r\n\r\n", 413, 0},
    {"CONNECT dcsf:443 HTTP/1.1\r\nHost: dcsf\r\n\r\n", 405, 0},
};

START_TEST(errors)
{
    struct dcgw_http_reader *r = reader(16384, 1024);
    struct got g = {.n = 0};
    ck_assert_int_eq(feed(r, bad[_i].in, &g), DCGW_EPROTO);
    const char *why = NULL;
    ck_assert_uint_eq(dcgw_http_reader_error(r, &why), bad[_i].status);
    ck_assert_ptr_nonnull(why);
    ck_assert_uint_eq(g.n, bad[_i].before);
    /* nothing more is read */
    ck_assert_int_eq(feed(r, "GET / HTTP/1.1\r\n\r\n", &g), DCGW_ESTATE);
    ck_assert_uint_eq(g.n, bad[_i].before);
    got_free(&g);
    dcgw_http_reader_free(r);
}
END_TEST

START_TEST(limits)
{
    struct dcgw_http_reader *r = reader(1024, 16);
    struct got g = {.n = 0};
    char big[2048];
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %01500d\r\n\r\n", 0);
    ck_assert_int_eq(feed(r, big, &g), DCGW_EPROTO);
    ck_assert_uint_eq(dcgw_http_reader_error(r, NULL), 431);
    dcgw_http_reader_free(r);

    /* a long target counts too */
    r = reader(1024, 16);
    snprintf(big, sizeof(big), "GET /%01500d HTTP/1.1\r\n\r\n", 0);
    ck_assert_int_eq(feed(r, big, &g), DCGW_EPROTO);
    ck_assert_uint_eq(dcgw_http_reader_error(r, NULL), 431);
    dcgw_http_reader_free(r);

    /* more than 100 fields */
    r = reader(16384, 16);
    ck_assert_int_eq(feed(r, "GET / HTTP/1.1\r\n", &g), 0);
    for (int i = 0; i < 101; i++)
        feed(r, "A: b\r\n", &g);
    ck_assert_uint_eq(dcgw_http_reader_error(r, NULL), 431);
    dcgw_http_reader_free(r);

    /* a chunked body past the limit, without Content-Length to tell in advance */
    r = reader(1024, 16);
    ck_assert_int_eq(feed(r,
                          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"
                          "0123456789abcdef\r\n",
                          &g),
                     0);
    ck_assert_int_eq(feed(r, "1\r\nx\r\n", &g), DCGW_EPROTO);
    ck_assert_uint_eq(dcgw_http_reader_error(r, NULL), 413);
    ck_assert_uint_eq(g.n, 0);
    dcgw_http_reader_free(r);

    /* exactly at the limit passes */
    r = reader(1024, 16);
    ck_assert_int_eq(feed(r, "POST / HTTP/1.1\r\nContent-Length: 16\r\n\r\n0123456789abcdef", &g),
                     0);
    ck_assert_uint_eq(g.n, 1);
    got_free(&g);
    dcgw_http_reader_free(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_req");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, simple_get);
    tcase_add_test(tc, split_and_pipelined);
    tcase_add_test(tc, chunked_body_and_trailers);
    tcase_add_loop_test(tc, errors, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, limits);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
