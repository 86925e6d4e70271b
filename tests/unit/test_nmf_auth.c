/* OAuth2 bearer tokens on Nmf_MRM requests (src/control/nmf_auth.c; TS 33.501 §13.4.1,
 * RFC 6750): the NRF's key loaded from a PEM public key or certificate, and each refusal
 * with its status, ProblemDetails cause and WWW-Authenticate value (RFC 6750 §3: no error
 * code when the request has no token, invalid_token for a bad one, insufficient_scope for a
 * token without scope nmf-mrm). Tokens are signed here with OpenSSL through dcgw_jws_sign
 * or crafted by hand. */
#include <check.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/control/nmf_int.h"
#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "helper_suite.h"

#define NOW  1700000000ULL
#define SKEW 60

static EVP_PKEY *nrf, *other, *nrf_rsa;
static char pub_path[64], cert_path[64], rsa_path[64], junk_path[64];

static void write_pem(char *path, EVP_PKEY *k, X509 *x)
{
    snprintf(path, 64, "/tmp/dcgw-nmf-auth-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    if (x)
        ck_assert_int_eq(PEM_write_X509(f, x), 1);
    else if (k)
        ck_assert_int_eq(PEM_write_PUBKEY(f, k), 1);
    else
        fputs("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", f);
    fclose(f);
}

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"nrf", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    return x;
}

static void setup(void)
{
    nrf = EVP_EC_gen("P-256");
    other = EVP_EC_gen("P-256");
    nrf_rsa = EVP_RSA_gen(2048);
    ck_assert(nrf && other && nrf_rsa);
    write_pem(pub_path, nrf, NULL);
    X509 *x = self_signed(nrf);
    write_pem(cert_path, NULL, x);
    X509_free(x);
    write_pem(rsa_path, nrf_rsa, NULL);
    write_pem(junk_path, NULL, NULL);
}

static void teardown(void)
{
    EVP_PKEY_free(nrf);
    EVP_PKEY_free(other);
    EVP_PKEY_free(nrf_rsa);
    unlink(pub_path);
    unlink(cert_path);
    unlink(rsa_path);
    unlink(junk_path);
}

/* The auth of an MF configured with key file path and audience (NULL: none). */
static void auth_init(struct nmf_auth *a, const char *path, const char *aud)
{
    struct dcgw_config *cfg = calloc(1, sizeof(*cfg));
    cfg->nmf.oauth2_enabled = true;
    snprintf(cfg->nmf.oauth2_key, sizeof(cfg->nmf.oauth2_key), "%s", path);
    snprintf(cfg->nmf.oauth2_audience, sizeof(cfg->nmf.oauth2_audience), "%s", aud ? aud : "");
    cfg->nmf.oauth2_clock_skew_s = SKEW;
    char err[256] = "";
    ck_assert_msg(dcgw__nmf_auth_init(a, cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_nonnull(a->key);
    free(cfg);
}

/* "Bearer " + a token signed with key (alg) over claims given as JSON text. */
static char *bearer(enum dcgw_jws_alg alg, EVP_PKEY *key, const char *claims)
{
    json_t *h = json_pack("{s:s}", "typ", "JWT"), *c = json_loads(claims, 0, NULL);
    ck_assert_ptr_nonnull(c);
    char *t = NULL;
    ck_assert_int_eq(dcgw_jws_sign(alg, key, h, c, &t), 0);
    char *out = malloc(strlen(t) + 8);
    sprintf(out, "Bearer %s", t);
    free(t);
    json_decref(h);
    json_decref(c);
    return out;
}

/* claims with exp relative to NOW */
static char *claims(const char *scope, const char *aud_json, long exp_delta, const char *extra)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "{\"iss\":\"nrf\",\"sub\":\"as\",\"exp\":%llu%s%s%s%s%s%s}",
             (unsigned long long)((long long)NOW + exp_delta), scope ? ",\"scope\":\"" : "",
             scope ? scope : "", scope ? "\"" : "", aud_json ? ",\"aud\":" : "",
             aud_json ? aud_json : "", extra ? extra : "");
    return buf;
}

struct verdict {
    int r, status;
    const char *www, *cause;
};

static struct verdict check_hdr(const struct nmf_auth *a, const char *authorization)
{
    struct dcgw_nmf_problem p = {0};
    struct verdict v = {0};
    v.r = dcgw__nmf_auth_check(a, authorization, NOW, &p, &v.www);
    v.status = p.status;
    v.cause = p.cause;
    if (v.r == 0)
        ck_assert_ptr_null(v.www);
    return v;
}

static void expect(const struct nmf_auth *a, const char *hdr, int status, const char *www,
                   const char *what)
{
    struct verdict v = check_hdr(a, hdr);
    if (status == 0) {
        ck_assert_msg(v.r == 0, "%s: refused (%d)", what, v.status);
        return;
    }
    ck_assert_msg(v.r == DCGW_EAUTH, "%s: accepted", what);
    ck_assert_msg(v.status == status, "%s: status %d, want %d", what, v.status, status);
    ck_assert_str_eq(v.cause, DCGW_NMF_UNAUTHORIZED);
    ck_assert_msg(v.www && !strcmp(v.www, www), "%s: WWW-Authenticate '%s', want '%s'", what,
                  v.www ? v.www : "(none)", www);
}

#define INVALID "Bearer error=\"invalid_token\""

START_TEST(off_by_default)
{
    struct dcgw_config *cfg = calloc(1, sizeof(*cfg));
    struct nmf_auth a;
    char err[64];
    ck_assert_int_eq(dcgw__nmf_auth_init(&a, cfg, err, sizeof(err)), 0);
    ck_assert_ptr_null(a.key);
    expect(&a, "", 0, NULL, "no token, oauth2 off");
    expect(&a, "Bearer garbage", 0, NULL, "garbage, oauth2 off");
    dcgw__nmf_auth_dispose(&a);
    free(cfg);
}
END_TEST

START_TEST(key_files)
{
    struct dcgw_config *cfg = calloc(1, sizeof(*cfg));
    struct nmf_auth a;
    char err[256];
    cfg->nmf.oauth2_enabled = true;
    snprintf(cfg->nmf.oauth2_key, sizeof(cfg->nmf.oauth2_key), "/nonexistent/nrf.pem");
    ck_assert_int_eq(dcgw__nmf_auth_init(&a, cfg, err, sizeof(err)), DCGW_ECONFIG);
    ck_assert(strstr(err, "nmf.oauth2.key"));
    snprintf(cfg->nmf.oauth2_key, sizeof(cfg->nmf.oauth2_key), "%s", junk_path);
    ck_assert_int_eq(dcgw__nmf_auth_init(&a, cfg, err, sizeof(err)), DCGW_ECONFIG);
    ck_assert_ptr_null(a.key);
    free(cfg);
    /* a certificate holds the key as well */
    auth_init(&a, cert_path, NULL);
    char *h = bearer(DCGW_JWS_ES256, nrf, claims("nmf-mrm", NULL, 300, NULL));
    expect(&a, h, 0, NULL, "token checked with the certificate's key");
    free(h);
    dcgw__nmf_auth_dispose(&a);
    ck_assert_ptr_null(a.key);
}
END_TEST

START_TEST(valid_tokens)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, "mf-1");
    static const struct {
        const char *scope, *aud, *what;
        long exp;
    } ok[] = {
        {"nmf-mrm", "\"mf-1\"", "scope and aud exact", 300},
        {"nnrf-disc nmf-mrm nudm-sdm", "\"mf-1\"", "scope among others", 300},
        {"nmf-mrm", "[\"mf-0\",\"mf-1\"]", "aud an array naming it", 300},
        {"nmf-mrm", "\"mf-1\"", "expired, within the clock skew", -SKEW},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *h = bearer(DCGW_JWS_ES256, nrf, claims(ok[i].scope, ok[i].aud, ok[i].exp, NULL));
        expect(&a, h, 0, NULL, ok[i].what);
        h[0] = 'b'; /* RFC 7235 §2.1: the scheme is case-insensitive */
        expect(&a, h, 0, NULL, ok[i].what);
        free(h);
    }
    dcgw__nmf_auth_dispose(&a);
    /* no audience configured: aud is not compared; an RSA NRF key with RS256 */
    auth_init(&a, rsa_path, NULL);
    char *h = bearer(DCGW_JWS_RS256, nrf_rsa, claims("nmf-mrm", "\"anyone\"", 300, NULL));
    expect(&a, h, 0, NULL, "RS256, any aud");
    free(h);
    h = bearer(DCGW_JWS_PS256, nrf_rsa, claims("nmf-mrm", NULL, 300, NULL));
    expect(&a, h, 0, NULL, "PS256, no aud");
    free(h);
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

START_TEST(missing_or_not_bearer)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, NULL);
    /* RFC 6750 §3.1: a request without authentication gets no error code */
    expect(&a, "", 401, "Bearer", "no Authorization header");
    expect(&a, "Basic dXNlcjpwdw==", 401, "Bearer", "another scheme");
    expect(&a, "Bearer", 401, "Bearer", "the scheme alone");
    expect(&a, "Bearer ", 401, INVALID, "an empty token");
    expect(&a, "Bearer abc.def.ghi", 401, INVALID, "not a JWS");
    expect(&a, "Bearer a.b", 401, INVALID, "two parts");
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

/* A compact JWS of these header and claims texts, with a signature of sig. */
static char *crafted(const char *header, const char *claims_text, const char *sig)
{
    char *out = malloc(4096);
    char h[1024], c[1024];
    dcgw_b64url_encode((const uint8_t *)header, strlen(header), h, sizeof(h));
    dcgw_b64url_encode((const uint8_t *)claims_text, strlen(claims_text), c, sizeof(c));
    snprintf(out, 4096, "Bearer %s.%s.%s", h, c, sig);
    return out;
}

START_TEST(bad_signatures)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, NULL);
    const char *cl = claims("nmf-mrm", NULL, 300, NULL);
    char *h = bearer(DCGW_JWS_ES256, other, cl);
    expect(&a, h, 401, INVALID, "signed by another key");
    free(h);
    h = bearer(DCGW_JWS_RS256, nrf_rsa, cl);
    expect(&a, h, 401, INVALID, "RS256 against the NRF's EC key");
    free(h);
    /* the claims changed after signing: scope widened */
    h = bearer(DCGW_JWS_ES256, nrf, claims("nudm-sdm", NULL, 300, NULL));
    char *dot1 = strchr(h, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *forged = crafted("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", cl, dot2 + 1);
    expect(&a, forged, 401, INVALID, "claims changed after signing");
    free(forged);
    /* "none" and HMAC are refused whatever the signature */
    forged = crafted("{\"alg\":\"none\"}", cl, "");
    expect(&a, forged, 401, INVALID, "alg none");
    free(forged);
    forged = crafted("{\"alg\":\"HS256\"}", cl, "c2lnbmF0dXJl");
    expect(&a, forged, 401, INVALID, "alg HS256");
    free(forged);
    free(h);
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

START_TEST(times)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, NULL);
    static const struct {
        long exp;
        const char *extra, *what;
    } bad[] = {
        {-SKEW - 1, NULL, "expired beyond the skew"},
        {-86400, NULL, "expired a day ago"},
        {300, ",\"nbf\":1700000100", "not yet valid (nbf beyond the skew)"},
        {300, ",\"iat\":1700000100", "issued in the future"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *h = bearer(DCGW_JWS_ES256, nrf, claims("nmf-mrm", NULL, bad[i].exp, bad[i].extra));
        expect(&a, h, 401, INVALID, bad[i].what);
        free(h);
    }
    char *h = bearer(DCGW_JWS_ES256, nrf, "{\"scope\":\"nmf-mrm\"}");
    expect(&a, h, 401, INVALID, "no exp");
    free(h);
    h = bearer(DCGW_JWS_ES256, nrf, "{\"scope\":\"nmf-mrm\",\"exp\":\"1800000000\"}");
    expect(&a, h, 401, INVALID, "exp not a number");
    free(h);
    h = bearer(DCGW_JWS_ES256, nrf, claims("nmf-mrm", NULL, 300, ",\"nbf\":1700000030"));
    expect(&a, h, 0, NULL, "nbf within the skew");
    free(h);
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

START_TEST(audience_and_scope)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, "mf-1");
    static const struct {
        const char *scope, *aud, *what;
        int status;
        const char *www;
    } bad[] = {
        {"nmf-mrm", "\"mf-2\"", "another MF's aud", 401, INVALID},
        {"nmf-mrm", "[\"mf-2\",\"mf-3\"]", "aud array without it", 401, INVALID},
        {"nmf-mrm", NULL, "no aud though one is configured", 401, INVALID},
        {"nmf-mrm", "[\"mf\",1]", "aud array of junk", 401, INVALID},
        {NULL, "\"mf-1\"", "no scope", 403,
         "Bearer error=\"insufficient_scope\", scope=\"nmf-mrm\""},
        {"nudm-sdm nnrf-disc", "\"mf-1\"", "other scopes only", 403,
         "Bearer error=\"insufficient_scope\", scope=\"nmf-mrm\""},
        {"nmf-mrmx", "\"mf-1\"", "a scope that starts like it", 403,
         "Bearer error=\"insufficient_scope\", scope=\"nmf-mrm\""},
        {"xnmf-mrm", "\"mf-1\"", "a scope that ends like it", 403,
         "Bearer error=\"insufficient_scope\", scope=\"nmf-mrm\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *h = bearer(DCGW_JWS_ES256, nrf, claims(bad[i].scope, bad[i].aud, 300, NULL));
        expect(&a, h, bad[i].status, bad[i].www, bad[i].what);
        free(h);
    }
    /* the scope as an array is not RFC 6749 §3.3's space-delimited string */
    char *h =
        bearer(DCGW_JWS_ES256, nrf, claims(NULL, "\"mf-1\"", 300, ",\"scope\":[\"nmf-mrm\"]"));
    expect(&a, h, 403, "Bearer error=\"insufficient_scope\", scope=\"nmf-mrm\"", "scope array");
    free(h);
    /* a bad signature is reported before a missing scope */
    h = bearer(DCGW_JWS_ES256, other, claims(NULL, "\"mf-1\"", 300, NULL));
    expect(&a, h, 401, INVALID, "bad signature and no scope");
    free(h);
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

/* What the server sends: a ProblemDetails with status and cause. */
START_TEST(problem_details)
{
    struct nmf_auth a;
    auth_init(&a, pub_path, NULL);
    struct dcgw_nmf_problem p = {0};
    const char *www = NULL;
    ck_assert_int_eq(dcgw__nmf_auth_check(&a, "", NOW, &p, &www), DCGW_EAUTH);
    json_t *o = dcgw_nmf_problem_json(&p);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 401);
    ck_assert_str_eq(json_string_value(json_object_get(o, "title")), "Unauthorized");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cause")), "UNAUTHORIZED");
    ck_assert(strstr(json_string_value(json_object_get(o, "detail")), "Bearer"));
    json_decref(o);
    dcgw__nmf_auth_dispose(&a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nmf_auth");
    TCase *tc = tcase_create("nmf_auth");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, off_by_default);
    tcase_add_test(tc, key_files);
    tcase_add_test(tc, valid_tokens);
    tcase_add_test(tc, missing_or_not_bearer);
    tcase_add_test(tc, bad_signatures);
    tcase_add_test(tc, times);
    tcase_add_test(tc, audience_and_scope);
    tcase_add_test(tc, problem_details);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
