/* Configuration: defaults, the shipped file, and errors reported with file:line. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/msg/config.h"
#include "dcgw/stages/cert.h"
#include "helper_suite.h"

#define SHIPPED DCGW_TEST_DATA "/../../config/dcgw.conf"

static int parse(const char *text, struct dcgw_config *cfg, char *err)
{
    return dcgw_config_parse(text, "t.conf", cfg, err, 512);
}

START_TEST(empty_text_gives_defaults)
{
    struct dcgw_config cfg, def;
    char err[512];
    ck_assert_int_eq(parse("", &cfg, err), 0);
    dcgw_config_default(&def);
    ck_assert_mem_eq(&cfg, &def, sizeof(cfg));
    ck_assert_uint_ge(cfg.workers, 1);
    ck_assert_uint_eq(cfg.sctp.streams, 256);
    ck_assert_int_eq(cfg.dtls.min_hash, DCGW_HASH_SHA256);
    ck_assert_str_eq(cfg.control.socket, "/run/dcgw/control.sock");
    ck_assert_uint_eq(cfg.control.socket_mode, 0660);
    ck_assert(cfg.metrics.enabled);
    ck_assert_str_eq(cfg.metrics.listen, "127.0.0.1:9745");
    ck_assert_uint_eq(cfg.metrics.push_interval_ms, 1000);
    ck_assert_str_eq(cfg.media.answer_setup, "passive");
    ck_assert_uint_eq(cfg.media.max_transports_per_leg, DCGW_MEDIA_TRANSPORTS_DEFAULT);
    ck_assert(cfg.sctp.dcep_tolerate_parity);
}
END_TEST

START_TEST(shipped_file_is_the_defaults)
{
    struct dcgw_config cfg, def;
    char err[512] = "";
    char *text = NULL;
    int r = dcgw_config_load(SHIPPED, &cfg, &text, err, sizeof(err));
    ck_assert_msg(r == 0, "%s", err);
    ck_assert_ptr_nonnull(text);
    dcgw_config_default(&def);
    ck_assert_mem_eq(&cfg, &def, sizeof(cfg));
    /* every setting is documented in the shipped file */
    for (size_t i = 0; dcgw_config_setting_name(i); i++) {
        const char *path = dcgw_config_setting_name(i);
        const char *leaf = strrchr(path, '.');
        leaf = leaf ? leaf + 1 : path;
        char key[96];
        snprintf(key, sizeof(key), "%s =", leaf);
        ck_assert_msg(strstr(text, key) != NULL, "%s is not documented in dcgw.conf", path);
    }
    free(text);
}
END_TEST

START_TEST(values_are_applied)
{
    struct dcgw_config cfg;
    char err[512];
    const char *t =
        "workers = 2;\n"
        "log: { level = \"debug\"; modules = { sdp = \"trace\"; dtls = \"error\"; }; };\n"
        "control: { socket = \"/tmp/x.sock\"; socket_mode = \"0600\"; };\n"
        "dtls: { min_hash = \"sha-384\"; };\n"
        "sctp: { allow_dcep = false; max_message_size = 65536; dcep_tolerate_parity = false; };\n"
        "media: { answer_setup = \"active\"; max_transports_per_leg = 9; };\n"
        "metrics: { enabled = false; listen = \"[::1]:0\"; push_interval_ms = 250; };\n";
    ck_assert_msg(parse(t, &cfg, err) == 0, "%s", err);
    ck_assert_uint_eq(cfg.workers, 2);
    ck_assert_int_eq(cfg.log.level, DCGW_LOG_DEBUG);
    ck_assert_int_eq(cfg.log.module_level[DCGW_MOD_SDP], DCGW_LOG_TRACE);
    ck_assert_int_eq(cfg.log.module_level[DCGW_MOD_DTLS], DCGW_LOG_ERROR);
    ck_assert_int_eq(cfg.log.module_level[DCGW_MOD_ICE], -1);
    ck_assert_str_eq(cfg.control.socket, "/tmp/x.sock");
    ck_assert_uint_eq(cfg.control.socket_mode, 0600);
    ck_assert_int_eq(cfg.dtls.min_hash, DCGW_HASH_SHA384);
    ck_assert(!cfg.sctp.allow_dcep);
    ck_assert_uint_eq(cfg.sctp.max_message_size, 65536);
    ck_assert(!cfg.sctp.dcep_tolerate_parity);
    ck_assert_str_eq(cfg.media.answer_setup, "active");
    ck_assert_uint_eq(cfg.media.max_transports_per_leg, 9);
    ck_assert(!cfg.metrics.enabled);
    ck_assert_str_eq(cfg.metrics.listen, "[::1]:0");
    ck_assert_uint_eq(cfg.metrics.push_interval_ms, 250);
}
END_TEST

static const struct {
    const char *text;
    const char *want; /* substring of the error */
} bad[] = {
    {"workers = 2;\n\nbogus = 1;\n", "t.conf:3: bogus: unknown setting"},
    {"dtls: {\n  min_hash = \"md5\";\n};\n", "t.conf:2: dtls.min_hash: expected one of"},
    {"workers = 100000;\n", "t.conf:1: workers: 100000 is out of range"},
    {"workers = \"two\";\n", "workers: expected an integer"},
    {"sctp: { allow_dcep = 1; };\n", "sctp.allow_dcep: expected true or false"},
    {"log: { level = \"loud\"; };\n", "log.level: expected one of"},
    {"log: { modules = { nosuch = \"debug\"; }; };\n", "unknown module 'nosuch'"},
    {"log: { modules = { sdp = \"x\"; }; };\n", "sdp: level must be"},
    {"control: { socket_mode = \"999\"; };\n", "control.socket_mode: expected an octal"},
    {"control: { tcp: { enabled = true; }; };\n", "needs cert, key and ca"},
    {"dtls: { cert = \"/a.pem\"; };\n", "cert and key go together"},
    {"workers = 2;\nlog = {\n", "t.conf:3: syntax error"},
    {"sctp: { streams = 0; };\n", "sctp.streams: 0 is out of range"},
    {"dtls = 5;\n", "dtls: unknown setting"},
    {"data_plane: { address = \"localhost\"; };\n", "t.conf:1: data_plane.address: expected"},
    {"data_plane: { gso = 1; };\n", "data_plane.gso: expected true or false"},
    {"fast_path: {\n  attach = \"xdp\"; };\n", "t.conf:2: fast_path.attach: expected \"auto\""},
    {"fast_path: { max_flows = 0; };\n", "fast_path.max_flows: 0 is out of range"},
    {"media: {\n  answer_setup = \"actpass\"; };\n",
     "t.conf:2: media.answer_setup: expected \"passive\" or \"active\""},
    {"media: { max_transports_per_leg = 10; };\n",
     "media.max_transports_per_leg: 10 is out of range"},
    {"media: { max_transports_per_leg = 0; };\n",
     "media.max_transports_per_leg: 0 is out of range"},
    {"control: { tcp: { enabled = true; cert = \"a\"; key = \"b\"; ca = \"c\";\n"
     "  listen = \"7445\"; }; };\n",
     "t.conf:2: control.tcp.listen: expected a numeric"},
    {"metrics: {\n  listen = \"localhost:9745\"; };\n",
     "t.conf:2: metrics.listen: expected a numeric"},
    {"metrics: { listen = \"127.0.0.1\"; };\n", "metrics.listen: expected a numeric host:port"},
    {"metrics: { listen = \"127.0.0.1:70000\"; };\n", "metrics.listen: expected"},
    {"metrics: { enabled = false; listen = \"[::1\"; };\n", "metrics.listen: expected"},
    {"metrics: { push_interval_ms = 99; };\n", "metrics.push_interval_ms: 99 is out of range"},
    {"metrics: { path = \"/m\"; };\n", "metrics.path: unknown setting"},
    {"control: { socket = \"" /* 300 chars */
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"; };\n",
     "longer than 255"},
};

START_TEST(bad_settings_are_reported_with_line)
{
    struct dcgw_config cfg;
    memset(&cfg, 0xab, sizeof(cfg));
    struct dcgw_config before = cfg;
    char err[512] = "";
    ck_assert_int_eq(parse(bad[_i].text, &cfg, err), DCGW_ECONFIG);
    ck_assert_msg(strstr(err, bad[_i].want), "case %d: got '%s', want '%s'", _i, err, bad[_i].want);
    /* a rejected configuration leaves the output untouched */
    ck_assert_mem_eq(&cfg, &before, sizeof(cfg));
}
END_TEST

/* dtls.cert and dtls.key: missing, not a file, not PEM, a key of another certificate are
 * configuration errors naming the file; a matching pair is fine. */
START_TEST(dtls_files_are_checked)
{
    char dir[] = "/tmp/dcgw-test-dtls-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char a_crt[64], a_key[64], b_key[64], junk[64], text[512], err[512];
    snprintf(a_crt, sizeof(a_crt), "%s/a.crt", dir);
    snprintf(a_key, sizeof(a_key), "%s/a.key", dir);
    snprintf(b_key, sizeof(b_key), "%s/b.key", dir);
    snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
    char b_crt[64];
    snprintf(b_crt, sizeof(b_crt), "%s/b.crt", dir);
    struct dcgw_cert *a = NULL, *b = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &a), 0);
    ck_assert_int_eq(dcgw_cert_new(NULL, &b), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(a, a_crt, a_key), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(b, b_crt, b_key), 0);
    dcgw_cert_unref(a);
    dcgw_cert_unref(b);
    FILE *f = fopen(junk, "w");
    fputs("not PEM\n", f);
    fclose(f);
    const struct {
        const char *cert, *key, *want; /* want NULL: accepted */
    } cases[] = {
        {a_crt, a_key, NULL},
        {"/nonexistent/a.crt", a_key, "dtls.cert: cannot read /nonexistent/a.crt: No such file"},
        {a_crt, "/nonexistent/a.key", "dtls.key: cannot read /nonexistent/a.key: No such file"},
        {dir, a_key, "is not a regular file"},
        {junk, a_key, "must hold a PEM certificate"},
        {a_crt, junk, "a PEM private key"},
        {a_crt, b_key, "is not the private key of the certificate in"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dcgw_config cfg;
        snprintf(text, sizeof(text), "dtls: { cert = \"%s\"; key = \"%s\"; };\n", cases[i].cert,
                 cases[i].key);
        err[0] = '\0';
        int r = parse(text, &cfg, err);
        if (!cases[i].want) {
            ck_assert_msg(r == 0, "case %zu: %s", i, err);
            continue;
        }
        ck_assert_int_eq(r, DCGW_ECONFIG);
        ck_assert_msg(strstr(err, cases[i].want), "case %zu: got '%s', want '%s'", i, err,
                      cases[i].want);
    }
    remove(a_crt);
    remove(a_key);
    remove(b_crt);
    remove(b_key);
    remove(junk);
    rmdir(dir);
}
END_TEST

START_TEST(missing_and_binary_files)
{
    struct dcgw_config cfg;
    char err[512];
    ck_assert_int_eq(dcgw_config_load("/nonexistent/dcgw.conf", &cfg, NULL, err, sizeof(err)),
                     DCGW_ECONFIG);
    ck_assert(strstr(err, "No such file"));
    char path[] = "/tmp/dcgw-test-conf-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    fwrite("workers = 1;\0\x01\x02", 1, 15, f);
    fclose(f);
    ck_assert_int_eq(dcgw_config_load(path, &cfg, NULL, err, sizeof(err)), DCGW_ECONFIG);
    ck_assert(strstr(err, "not a text file"));
    remove(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, empty_text_gives_defaults);
    tcase_add_test(tc, shipped_file_is_the_defaults);
    tcase_add_test(tc, values_are_applied);
    tcase_add_loop_test(tc, bad_settings_are_reported_with_line, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, missing_and_binary_files);
    tcase_add_test(tc, dtls_files_are_checked);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
