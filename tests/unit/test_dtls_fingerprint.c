/* DTLS stage: the binding of each leg to the fingerprints it was given (RFC 5763 §5), the
 * floor on their hash, a second fingerprint that matches (legs: helper_dtls_pair.c; the
 * virtual clock interposed as in test_dtls.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/error.h"
#include "helper_dtls_pair.h"
#include "helper_lossy.h"
#include "helper_suite.h"

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    return dp_gettimeofday(tv, tz);
}

/* ---- fingerprint binding -------------------------------------------------------------- */

static bool has_text(const char *hay, const struct dcgw_fingerprint *fp)
{
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
    dcgw_fingerprint_format(fp, text, sizeof(text));
    return strstr(hay, text) != NULL;
}

START_TEST(server_rejects_wrong_client_fingerprint)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint other = dp_fp_of(w.cother, DCGW_HASH_SHA256);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0},
                  (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1});
    w.a.echo = true;
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.b.failed, 1);
    ck_assert_int_eq(w.b.fail_err, DCGW_EFINGERPRINT);
    struct dcgw_fingerprint actual = dp_fp_of(w.ca, DCGW_HASH_SHA256);
    ck_assert_msg(has_text(w.b.reason, &actual), "reason: %s", w.b.reason);
    ck_assert_str_eq(dcgw_dtls_reason(w.b.d), w.b.reason);
    /* the client got the fatal alert bad_certificate (42) and never connected */
    ck_assert_int_eq(w.a.failed, 1);
    ck_assert_int_eq(w.a.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected, 0);
    ck_assert_int_eq(w.a.msgs + w.b.msgs, 0);
    ck_assert_ptr_null(dcgw_dtls_peer_cert(w.b.d));
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, w.a.last, w.a.last_len, w.now), DCGW_ECLOSED);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->handshake_failures, 1);
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.b.d), UINT64_MAX);
    dp_world_free(&w);
}
END_TEST

START_TEST(client_rejects_wrong_server_fingerprint)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint other = dp_fp_of(w.cother, DCGW_HASH_SHA256);
    /* both sides hold a wrong fingerprint: the client checks first */
    dp_world_legs(&w, (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1},
                  (struct dcgw_dtls_settings){.remote_fps = &other, .n_remote_fps = 1});
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.a.fail_err, DCGW_EFINGERPRINT);
    struct dcgw_fingerprint actual = dp_fp_of(w.cb, DCGW_HASH_SHA256);
    ck_assert_msg(has_text(w.a.reason, &actual), "reason: %s", w.a.reason);
    ck_assert_int_eq(w.b.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected + (int)w.a.msgs + (int)w.b.msgs, 0);
    dp_world_free(&w);
}
END_TEST

START_TEST(weak_hash_floor)
{
    /* only a SHA-1 fingerprint (the right one) with the default floor SHA-256 */
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint sha1 = dp_fp_of(w.ca, DCGW_HASH_SHA1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0},
                  (struct dcgw_dtls_settings){.remote_fps = &sha1, .n_remote_fps = 1});
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.b.fail_err, DCGW_EWEAKHASH);
    ck_assert_int_eq(w.a.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(w.a.connected + w.b.connected, 0);
    dp_world_free(&w);

    /* the same fingerprint with the floor lowered to SHA-1 binds */
    dp_world_init(&w, 0, 0, 0, 1);
    sha1 = dp_fp_of(w.ca, DCGW_HASH_SHA1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0},
                  (struct dcgw_dtls_settings){
                      .remote_fps = &sha1, .n_remote_fps = 1, .min_hash = DCGW_HASH_SHA1});
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert_int_eq(w.b.matched.alg, DCGW_HASH_SHA1);
    dp_world_free(&w);

    /* a matching weak fingerprint does not rescue a mismatching strong one */
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint mix[2] = {dp_fp_of(w.ca, DCGW_HASH_SHA1),
                                      dp_fp_of(w.cother, DCGW_HASH_SHA384)};
    dp_world_legs(&w, (struct dcgw_dtls_settings){0},
                  (struct dcgw_dtls_settings){.remote_fps = mix, .n_remote_fps = 2});
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.b.fail_err, DCGW_EFINGERPRINT);
    /* the reason names the peer's certificate with the hash in use */
    struct dcgw_fingerprint actual = dp_fp_of(w.ca, DCGW_HASH_SHA384);
    ck_assert_msg(has_text(w.b.reason, &actual), "reason: %s", w.b.reason);
    dp_world_free(&w);
}
END_TEST

START_TEST(second_fingerprint_matches)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint list[3] = {dp_fp_of(w.cother, DCGW_HASH_SHA256),
                                       dp_fp_of(w.ca, DCGW_HASH_SHA512),
                                       dp_fp_of(w.cother, DCGW_HASH_SHA384)};
    dp_world_legs(&w, (struct dcgw_dtls_settings){0},
                  (struct dcgw_dtls_settings){.remote_fps = list, .n_remote_fps = 3});
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    ck_assert(dcgw_fingerprint_equal(&w.b.matched, &list[1]));
    dp_world_free(&w);
}
END_TEST

int main(void)
{
    const TTest *fingerprint[] = {server_rejects_wrong_client_fingerprint,
                                  client_rejects_wrong_server_fingerprint, weak_hash_floor,
                                  second_fingerprint_matches, NULL};
    Suite *s = suite_create("dtls_fingerprint");
    tsuite_add(s, "fingerprint", 0, NULL, NULL, fingerprint);
    return tsuite_run(s);
}
