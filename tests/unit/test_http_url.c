/* The replacement URL, the rewrite rule (docs/bootstrap.md), hop-by-hop fields. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/http_url.h"
#include "helper_suite.h"

START_TEST(base_parse)
{
    struct dcgw_http_base b;
    const char *why;
    ck_assert_int_eq(dcgw_http_base_parse("https://DCSF.Example:8443/boot/ue1/?t=1", &b, &why), 0);
    ck_assert(b.https);
    ck_assert_str_eq(b.host, "dcsf.example");
    ck_assert_uint_eq(b.port, 8443);
    ck_assert_str_eq(b.path, "/boot/ue1");
    ck_assert_str_eq(b.query, "t=1");
    ck_assert_str_eq(b.origin, "https://dcsf.example:8443");
    ck_assert_int_eq(dcgw_http_base_parse("http://[::1]/", &b, &why), 0);
    ck_assert_str_eq(b.host, "::1");
    ck_assert_uint_eq(b.port, 80);
    ck_assert_str_eq(b.path, "");
    ck_assert_str_eq(b.origin, "http://[::1]:80");
    ck_assert_int_eq(dcgw_http_base_parse("http://h", &b, &why), 0);
    ck_assert_str_eq(b.path, "");
    ck_assert(!b.has_query);

    const char *bad[] = {"",
                         "dcsf/boot",
                         "/boot",
                         "ftp://h/",
                         "http://u@h/",
                         "http://h/#f",
                         "http://h:0/",
                         "http://h:99999/",
                         "http://h/a b",
                         "http://h/a%2fb",
                         "http://h/a\\b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(dcgw_http_base_parse(bad[i], &b, &why) == DCGW_EINVAL, "%s", bad[i]);
    char longu[DCGW_HTTP_URL_MAX + 16] = "http://h/";
    memset(longu + 9, 'a', DCGW_HTTP_URL_MAX);
    longu[DCGW_HTTP_URL_MAX + 9] = '\0';
    ck_assert_int_eq(dcgw_http_base_parse(longu, &b, &why), DCGW_EINVAL);
}
END_TEST

static const struct {
    const char *base, *target, *want; /* want NULL: error `err` */
    int err;
} rw[] = {
    {"https://dcsf/boot/ue1/", "/", "https://dcsf:443/boot/ue1/", 0},
    {"https://dcsf/boot/ue1", "/", "https://dcsf:443/boot/ue1/", 0},
    {"https://dcsf/boot/ue1/", "/apps/list.json?lang=en",
     "https://dcsf:443/boot/ue1/apps/list.json?lang=en", 0},
    {"http://dcsf:8080", "/a/b/", "http://dcsf:8080/a/b/", 0},
    {"http://dcsf/b?tok=1", "/x?y=2", "http://dcsf:80/b/x?tok=1&y=2", 0},
    {"http://dcsf/b?tok=1", "/x", "http://dcsf:80/b/x?tok=1", 0},
    {"http://dcsf/b", "/x?", "http://dcsf:80/b/x", 0},
    /* dot segments never climb above the base path */
    {"http://dcsf/b", "/../../etc/passwd", "http://dcsf:80/b/etc/passwd", 0},
    {"http://dcsf/b", "/a/./c/../d", "http://dcsf:80/b/a/d", 0},
    {"http://dcsf/b", "/a/..", "http://dcsf:80/b/", 0},
    {"http://dcsf/b", "/a/.", "http://dcsf:80/b/a/", 0},
    {"http://dcsf/b", "/%2e%2e/%2E./x", "http://dcsf:80/b/x", 0},
    {"http://dcsf/b", "/..a/.b./x", "http://dcsf:80/b/..a/.b./x", 0},
    {"http://dcsf/b", "/a?q=../..", "http://dcsf:80/b/a?q=../..", 0},
    {"http://dcsf/b", "//evil.example/x", "http://dcsf:80/b//evil.example/x", 0},
    {"http://dcsf/b", "/&////////////////", "http://dcsf:80/b/&////////////////", 0}, /* fuzz */
    {"http://dcsf/b", "/////../", "http://dcsf:80/b////", 0},
    /* absolute-form: only the replacement URL's own origin */
    {"http://dcsf/b", "http://DCSF:80/x?q", "http://dcsf:80/b/x?q", 0},
    {"http://dcsf/b", "http://dcsf", "http://dcsf:80/b/", 0},
    {"http://dcsf/b", "http://evil.example/x", NULL, DCGW_EDENIED},
    {"http://dcsf/b", "http://dcsf:81/x", NULL, DCGW_EDENIED},
    {"http://dcsf/b", "https://dcsf:80/x", NULL, DCGW_EDENIED},
    {"http://dcsf/b", "ftp://dcsf/x", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "http://u@dcsf/x", NULL, DCGW_EMALFORMED},
    /* targets that are no use */
    {"http://dcsf/b", "*", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "dcsf:80", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a#frag", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a%2f..%2f..", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a%5C..", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a\\..", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a b", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a\x01", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a\xc3\xa9", NULL, DCGW_EMALFORMED},
    {"http://dcsf/b", "/a?x=\x7f", NULL, DCGW_EMALFORMED},
};

START_TEST(rewrite)
{
    struct dcgw_http_base b;
    const char *why;
    ck_assert_int_eq(dcgw_http_base_parse(rw[_i].base, &b, &why), 0);
    char *out = NULL;
    int r = dcgw_http_rewrite(&b, rw[_i].target, strlen(rw[_i].target), &out, &why);
    if (rw[_i].want) {
        ck_assert_msg(r == 0, "%s: %s", rw[_i].target, why);
        ck_assert_str_eq(out, rw[_i].want);
    } else {
        ck_assert_msg(r == rw[_i].err, "%s: got %d", rw[_i].target, r);
        ck_assert_ptr_null(out);
        ck_assert_ptr_nonnull(why);
    }
    free(out);
}
END_TEST

START_TEST(rewrite_not_nul_terminated)
{
    struct dcgw_http_base b;
    const char *why;
    ck_assert_int_eq(dcgw_http_base_parse("http://dcsf/b", &b, &why), 0);
    char t[] = {'/', 'a', '/', '.', '.'}; /* no NUL after it */
    char *out = NULL;
    ck_assert_int_eq(dcgw_http_rewrite(&b, t, sizeof(t), &out, &why), 0);
    ck_assert_str_eq(out, "http://dcsf:80/b/");
    free(out);
}
END_TEST

START_TEST(headers)
{
    ck_assert(dcgw_http_header_name_valid("X-Dcgw-Session", false));
    ck_assert(dcgw_http_header_name_valid("", true));
    ck_assert(!dcgw_http_header_name_valid("", false));
    ck_assert(!dcgw_http_header_name_valid("Bad Name", false));
    ck_assert(!dcgw_http_header_name_valid("a:b", false));
    ck_assert(dcgw_http_hop_by_hop("Connection", 10, NULL));
    ck_assert(dcgw_http_hop_by_hop("TRANSFER-ENCODING", 17, NULL));
    ck_assert(dcgw_http_hop_by_hop("keep-alive", 10, NULL));
    ck_assert(dcgw_http_hop_by_hop("Upgrade", 7, NULL));
    ck_assert(!dcgw_http_hop_by_hop("Content-Type", 12, NULL));
    ck_assert(!dcgw_http_hop_by_hop("Content-Type", 12, "close"));
    ck_assert(dcgw_http_hop_by_hop("X-Secret", 8, "close, x-secret"));
    ck_assert(dcgw_http_hop_by_hop("X-Secret", 8, "x-secret,close"));
    ck_assert(!dcgw_http_hop_by_hop("X-Secre", 7, "x-secret"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_url");
    TCase *tc = tcase_create("url");
    tcase_add_test(tc, base_parse);
    tcase_add_loop_test(tc, rewrite, 0, sizeof(rw) / sizeof(rw[0]));
    tcase_add_test(tc, rewrite_not_nul_terminated);
    tcase_add_test(tc, headers);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
