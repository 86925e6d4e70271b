/* DTLS stage: peers dcgw would never be (a hand-driven OpenSSL client), garbage, close,
 * cipher and group policy, an RSA server, API misuse and the record scan (legs:
 * helper_dtls_pair.c; the virtual clock interposed as in test_dtls.c). */
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

/* ---- peers dcgw would never be: a hand-driven OpenSSL client ------------------------- */

static void raw_to_server(struct dp_world *w, BIO *wbio)
{
    uint8_t *p;
    long n = BIO_get_mem_data(wbio, (char **)&p);
    if (n > 0)
        dcgw_dtls_recv(w->b.d, p, (size_t)n, w->now);
    (void)BIO_reset(wbio);
}

static void raw_deliver(void *ud, const uint8_t *p, size_t n)
{
    SSL *ssl = ud;
    BIO_write(SSL_get_rbio(ssl), p, (int)n);
    SSL_do_handshake(ssl); /* one datagram at a time: the mem BIO would merge them */
}

/* Runs a raw client (configured by `how`) against a server leg; returns the server's error. */
static int raw_client_vs_server(int how, char *reason, size_t cap)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint fp = dp_fp_of(w.ca, DCGW_HASH_SHA256);
    dp_peer_new(&w.b, w.xb, (struct dcgw_dtls_settings){.remote_fps = &fp, .n_remote_fps = 1});
    ck_assert_int_eq(dcgw_dtls_start(w.b.d, w.now), 0);

    SSL_CTX *cx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_verify(cx, SSL_VERIFY_NONE, NULL);
    if (how == 0) { /* no certificate at all */
        SSL_CTX_set_cipher_list(cx, "ECDHE-ECDSA-AES128-GCM-SHA256");
    } else if (how == 1) { /* a certificate, but only CBC suites */
        SSL_CTX_use_certificate(cx, dcgw_cert_x509(w.ca));
        SSL_CTX_use_PrivateKey(cx, dcgw_cert_key(w.ca));
        SSL_CTX_set_cipher_list(cx, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA");
    } else { /* DTLS 1.0 only */
        SSL_CTX_use_certificate(cx, dcgw_cert_x509(w.ca));
        SSL_CTX_use_PrivateKey(cx, dcgw_cert_key(w.ca));
        SSL_CTX_set_security_level(cx, 0);
        SSL_CTX_set_min_proto_version(cx, DTLS1_VERSION);
        SSL_CTX_set_max_proto_version(cx, DTLS1_VERSION);
    }
    SSL *ssl = SSL_new(cx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, 1200);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl);
    for (int round = 0; round < 10 && !w.b.failed && !w.b.connected; round++) {
        raw_to_server(&w, wbio);
        lossy_pump(&w.ba, raw_deliver, ssl);
    }
    raw_to_server(&w, wbio); /* e.g. the client's alert */
    ck_assert_int_eq(w.b.connected, 0);
    ck_assert_int_eq(w.b.msgs, 0);
    ck_assert_int_eq(w.b.failed, 1);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->handshake_failures, 1);
    snprintf(reason, cap, "%s", w.b.reason);
    int err = w.b.fail_err;
    SSL_free(ssl);
    SSL_CTX_free(cx);
    ERR_clear_error(); /* the raw client's own errors */
    dp_world_free(&w);
    return err;
}

START_TEST(refuses_peers_outside_policy)
{
    char reason[DCGW_DTLS_REASON_MAX];
    /* RFC 5763 §5: the client must present a certificate */
    ck_assert_int_eq(raw_client_vs_server(0, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "peer did not return a certificate"), "%s", reason);
    /* AEAD only: a client offering CBC suites finds none in common */
    ck_assert_int_eq(raw_client_vs_server(1, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "no shared cipher"), "%s", reason);
    /* DTLS 1.2 only */
    ck_assert_int_eq(raw_client_vs_server(2, reason, sizeof(reason)), DCGW_ETLS);
    ck_assert_msg(strstr(reason, "unsupported protocol"), "%s", reason);
}
END_TEST

/* ---- bad input, close, policy, API ---------------------------------------------------- */

START_TEST(garbage_does_not_break_connection)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    /* garbage before the handshake is dropped too */
    uint8_t junk[300];
    dp_fill(junk, sizeof(junk), 9);
    junk[0] = 22;
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, junk, sizeof(junk), w.now), 0);
    dp_world_run(&w, 10000);
    ck_assert_int_eq(w.a.connected + w.b.connected, 2);
    uint64_t bad0 = dcgw_dtls_stats(w.b.d)->bad_records;
    ck_assert_uint_eq(bad0, 1);

    /* a valid record, captured */
    uint8_t msg[200];
    dp_fill(msg, sizeof(msg), 3);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, sizeof(msg)), 0);
    uint8_t rec[512];
    size_t rec_len = w.a.last_len;
    memcpy(rec, w.a.last, rec_len);
    dp_world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.b.msgs, 1);

    /* 1. random bytes; 2. truncated record; 3. well-framed record, forged ciphertext;
     * 4. replay of the captured record; 5. empty datagram; 6. oversized datagram */
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, junk, sizeof(junk), w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, rec_len - 5, w.now), 0);
    uint8_t forged[512];
    memcpy(forged, rec, rec_len);
    forged[10] ^= 0x40; /* another sequence number */
    forged[rec_len - 1] ^= 1;
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, forged, rec_len, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, rec_len, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, rec, 0, w.now), 0);
    uint8_t *big = calloc(1, DCGW_DTLS_DATAGRAM_MAX + 1);
    memcpy(big, rec, rec_len);
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, big, DCGW_DTLS_DATAGRAM_MAX + 1, w.now), 0);
    free(big);
    /* a valid record followed by junk: the record is delivered, the junk counted */
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, 50), 0);
    uint8_t mixed[512];
    size_t mlen = w.a.last_len;
    memcpy(mixed, w.a.last, mlen);
    memcpy(mixed + mlen, junk, 40);
    lossy_dispose(&w.ab); /* deliver our copy only */
    ck_assert_int_eq(dcgw_dtls_recv(w.b.d, mixed, mlen + 40, w.now), 0);

    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CONNECTED);
    ck_assert_uint_eq(w.b.msgs, 2); /* the original and the mixed one, nothing else */
    ck_assert_uint_eq(w.b.msg_len[1], 50);
    ck_assert_uint_eq(dcgw_dtls_stats(w.b.d)->bad_records - bad0, 7);
    ck_assert_int_eq(w.b.failed, 0);

    /* and it still works both ways */
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, msg, sizeof(msg)), 0);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, msg, sizeof(msg)), 0);
    dp_world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.a.msgs, 1);
    ck_assert_uint_eq(w.b.msgs, 3);
    ck_assert_mem_eq(w.a.rx, msg, sizeof(msg));
    dp_world_free(&w);
}
END_TEST

START_TEST(close_notify)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    w.b.echo = true;
    dp_world_run(&w, 10000);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, (const uint8_t *)"ping", 4), 0);
    dp_world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.a.msgs, 1); /* echoed from inside on_data */
    ck_assert_mem_eq(w.a.rx, "ping", 4);

    dcgw_dtls_close(w.a.d);
    ck_assert_int_eq(dcgw_dtls_state(w.a.d), DCGW_DTLS_CLOSED);
    dp_world_run(&w, w.now + 10);
    ck_assert_int_eq(w.b.closed, 1);
    ck_assert_int_eq(w.a.closed, 0); /* not raised for our own close */
    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CLOSED);
    ck_assert_int_eq(w.a.failed + w.b.failed, 0);
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_recv(w.a.d, w.b.last, w.b.last_len, w.now), DCGW_ECLOSED);
    dcgw_dtls_close(w.a.d); /* idempotent */
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), UINT64_MAX);
    dp_world_free(&w);
}
END_TEST

/* Issue 17: an idle leg gives its record buffers back (dcgw_dtls_trim); data, and the
 * close_notify alert both ways, still work after it. */
START_TEST(trim_then_data_and_close_notify)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    ck_assert(!dcgw_dtls_trim(w.a.d)); /* not connected yet */
    dp_world_run(&w, 10000);
    ck_assert(dcgw_dtls_trim(w.a.d));
    ck_assert(dcgw_dtls_trim(w.b.d));
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->buffer_releases, 1);
    /* a timer that is not DTLS's (the leg's consent deadline) leaves the buffers released */
    ck_assert_uint_eq(dcgw_dtls_next_timeout(w.a.d), UINT64_MAX);
    ck_assert_int_eq(dcgw_dtls_handle_timeout(w.a.d, w.now + 30000), 0);
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->buffer_regrows, 0);
    uint8_t buf[3000];
    dp_fill(buf, sizeof(buf), 7);
    ck_assert_int_eq(dcgw_dtls_send(w.a.d, buf, sizeof(buf)), 0);
    ck_assert_int_eq(dcgw_dtls_send(w.b.d, buf, 100), 0);
    dp_world_run(&w, w.now + 10);
    ck_assert_uint_eq(w.b.rx_len, sizeof(buf));
    ck_assert_mem_eq(w.b.rx, buf, sizeof(buf));
    ck_assert_uint_eq(w.a.rx_len, 100);
    ck_assert_uint_eq(dcgw_dtls_stats(w.a.d)->buffer_regrows, 1); /* a record took them */
    ck_assert(dcgw_dtls_trim(w.a.d));
    ck_assert(dcgw_dtls_trim(w.b.d));
    dcgw_dtls_close(w.a.d); /* close_notify out of a released write buffer */
    dp_world_run(&w, w.now + 10);
    ck_assert_int_eq(w.b.closed, 1); /* ... read into a released read buffer, answered */
    ck_assert_int_eq(dcgw_dtls_state(w.b.d), DCGW_DTLS_CLOSED);
    ck_assert_int_eq(w.a.failed + w.b.failed, 0);
    ck_assert(!dcgw_dtls_trim(w.b.d)); /* closed */
    dp_world_free(&w);
}
END_TEST

START_TEST(cipher_and_group_policy)
{
    struct dcgw_cert *c = NULL;
    struct dcgw_dtls_ctx *x = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c), 0);
    struct dcgw_dtls_ctx_settings s = {.cert = c, .ciphers = "ECDHE-ECDSA-AES128-SHA"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG); /* CBC: not AEAD */
    s.ciphers = "NO-SUCH-CIPHER";
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG);
    s = (struct dcgw_dtls_ctx_settings){.cert = c, .groups = "no-such-group"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_ECONFIG);
    s = (struct dcgw_dtls_ctx_settings){0};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&s, &x), DCGW_EINVAL);
    ck_assert_ptr_null(x);
    dcgw_cert_unref(c);

    /* a client that only offers ChaCha20 and P-256 gets them */
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    dcgw_dtls_ctx_free(w.xa);
    struct dcgw_dtls_ctx_settings sa = {
        .cert = w.ca, .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305", .groups = "P-256"};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sa, &w.xa), 0);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    dp_world_run(&w, 10000);
    struct dcgw_dtls_info info;
    ck_assert_int_eq(dcgw_dtls_get_info(w.b.d, &info), 0);
    ck_assert_str_eq(info.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
    ck_assert_str_eq(info.group, "prime256v1");
    ck_assert(info.aead);
    dp_world_free(&w);
}
END_TEST

/* A server with an RSA certificate: the ECDHE-RSA AEAD suites. */
START_TEST(rsa_server_certificate)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    char dir[] = "/tmp/dcgw-dtls-XXXXXX", cp[64], kp[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cp, sizeof(cp), "%s/c.pem", dir);
    snprintf(kp, sizeof(kp), "%s/k.pem", dir);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, rsa);
    ck_assert_int_gt(X509_sign(x, rsa, EVP_sha256()), 0);
    FILE *f = fopen(cp, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(kp, "w");
    PEM_write_PrivateKey(f, rsa, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(rsa);
    dcgw_dtls_ctx_free(w.xb);
    dcgw_cert_unref(w.cb);
    ck_assert_int_eq(dcgw_cert_load_pem(cp, kp, &w.cb), 0);
    unlink(cp);
    unlink(kp);
    rmdir(dir);
    struct dcgw_dtls_ctx_settings sb = {.cert = w.cb};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&sb, &w.xb), 0);
    dp_world_legs(&w, (struct dcgw_dtls_settings){0}, (struct dcgw_dtls_settings){0});
    dp_world_run(&w, 10000);
    struct dcgw_dtls_info info;
    ck_assert_int_eq(dcgw_dtls_get_info(w.a.d, &info), 0);
    ck_assert_str_eq(info.cipher, "ECDHE-RSA-AES128-GCM-SHA256");
    dp_world_free(&w);
}
END_TEST

START_TEST(api_misuse)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 1);
    struct dcgw_fingerprint fp = dp_fp_of(w.cb, DCGW_HASH_SHA256), bad = fp;
    bad.len = 20;
    struct dcgw_dtls_callbacks cbs = {.ud = &w.a, .send = dp_cb_send};
    struct dcgw_dtls *d = NULL;
    struct dcgw_dtls_settings s = {.client = true, .remote_fps = &fp, .n_remote_fps = 1};
    struct dcgw_fingerprint many[DCGW_DTLS_MAX_FINGERPRINTS + 1];
    for (unsigned i = 0; i <= DCGW_DTLS_MAX_FINGERPRINTS; i++)
        many[i] = fp;

    struct dcgw_dtls_settings t = s;
    t.n_remote_fps = 0;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.remote_fps = &bad;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.remote_fps = many;
    t.n_remote_fps = DCGW_DTLS_MAX_FINGERPRINTS + 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_EINVAL);
    t = s;
    t.mtu = DCGW_DTLS_MTU_MIN - 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    t = s;
    t.max_plaintext = DCGW_DTLS_PLAINTEXT_MAX + 1;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    t = s;
    t.initial_timeout_ms = 5000;
    t.max_timeout_ms = 1000;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &t, &cbs, &d), DCGW_ERANGE);
    struct dcgw_dtls_callbacks nosend = {0};
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &s, &nosend, &d), DCGW_EINVAL);
    ck_assert_ptr_null(d);

    /* the leg keeps the context alive after the owner frees it */
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &s, &cbs, &d), 0);
    dcgw_dtls_ctx_free(w.xa);
    w.xa = NULL;
    ck_assert_int_eq(dcgw_dtls_state(d), DCGW_DTLS_NEW);
    ck_assert_int_eq(dcgw_dtls_recv(d, w.a.last, 20, w.now), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_send(d, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dtls_get_info(d, &(struct dcgw_dtls_info){0}), DCGW_ESTATE);
    ck_assert_uint_eq(dcgw_dtls_data_mtu(d), 0);
    ck_assert_uint_eq(dcgw_dtls_next_timeout(d), UINT64_MAX);
    ck_assert_str_eq(dcgw_dtls_reason(d), "");
    ck_assert_int_eq(dcgw_dtls_start(d, w.now), 0);
    ck_assert_int_eq(dcgw_dtls_start(d, w.now), DCGW_ESTATE);
    ck_assert_uint_eq(dcgw_dtls_stats(d)->datagrams_out, 1);
    ck_assert_str_eq(dcgw_dtls_state_name(dcgw_dtls_state(d)), "handshaking");
    dcgw_dtls_free(d);
    dcgw_dtls_free(NULL);
    dcgw_dtls_ctx_free(NULL);
    dp_world_free(&w);
}
END_TEST

/* ---- record framing ------------------------------------------------------------------- */

static size_t rec(uint8_t *p, uint8_t type, uint16_t version, size_t len)
{
    memset(p, 0xab, 13 + len);
    p[0] = type;
    p[1] = (uint8_t)(version >> 8);
    p[2] = (uint8_t)version;
    p[11] = (uint8_t)(len >> 8);
    p[12] = (uint8_t)len;
    return 13 + len;
}

START_TEST(record_scan)
{
    static uint8_t b[70000];
    struct dcgw_dtls_scan sc;
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, 0, &sc), 0);
    ck_assert(!sc.trailing_garbage);
    ck_assert_uint_eq(dcgw_dtls_record_scan(NULL, 5, &sc), 0);

    size_t n = rec(b, 22, 0xfefd, 40);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(sc.records, 1);
    ck_assert_uint_eq(sc.app_records, 0);
    ck_assert(!sc.trailing_garbage);
    /* two records, the second application data, DTLS 1.0 version in the first */
    n = rec(b, 22, 0xfeff, 10);
    n += rec(b + n, 23, 0xfefd, 0);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(sc.records, 2);
    ck_assert_uint_eq(sc.app_records, 1);
    /* header only, truncated header, truncated body */
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, 12, &sc), 0);
    ck_assert(sc.trailing_garbage);
    n = rec(b, 23, 0xfefd, 100);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n - 1, &sc), 0);
    /* a good record then a truncated one: the prefix */
    size_t first = rec(b, 21, 0xfefd, 2);
    n = first + rec(b + first, 23, 0xfefd, 30);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n - 3, &sc), first);
    ck_assert_uint_eq(sc.records, 1);
    ck_assert(sc.trailing_garbage);
    /* unknown types (heartbeat 24, tls12_cid 25, 19), TLS and DTLS 1.3-style versions */
    static const uint8_t bad_types[] = {0, 19, 24, 25, 63, 255};
    for (unsigned i = 0; i < sizeof(bad_types); i++) {
        n = rec(b, bad_types[i], 0xfefd, 5);
        ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    }
    static const uint16_t bad_versions[] = {0x0303, 0xfefc, 0xfe00, 0x0000, 0xffff};
    for (unsigned i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        n = rec(b, 22, bad_versions[i], 5);
        ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    }
    /* oversized: a length above 2^14 + 2048 */
    n = rec(b, 23, 0xfefd, DCGW_DTLS_RECORD_MAX + 1);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), 0);
    n = rec(b, 23, 0xfefd, DCGW_DTLS_RECORD_MAX);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, &sc), n);
    ck_assert_uint_eq(dcgw_dtls_record_scan(b, n, NULL), n);
}
END_TEST

int main(void)
{
    const TTest *records[] = {garbage_does_not_break_connection,
                              close_notify,
                              trim_then_data_and_close_notify,
                              cipher_and_group_policy,
                              rsa_server_certificate,
                              refuses_peers_outside_policy,
                              api_misuse,
                              record_scan,
                              NULL};
    Suite *s = suite_create("dtls_records");
    tsuite_add(s, "records", 20, NULL, NULL, records);
    return tsuite_run(s);
}
