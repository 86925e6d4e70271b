/* JWS compact serialization: base64url, parsing (and its refusals), signatures of every
 * accepted algorithm both ways between dcgw and tools/dcgw-avatar (python3-cryptography,
 * tests/data/avatar/gen.sh), and the trust store that names signers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/config.h"
#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "dcgw/guard/trust.h"
#include "helper_keys.h"
#include "helper_suite.h"

#define AV     DCGW_TEST_DATA "/avatar/"
#define NOW    1767225600 /* tests/data/avatar/gen.sh */
#define N_ALGS 5

static const char *const alg_files[N_ALGS] = {"es256", "es384", "eddsa", "ps256", "rs256"};
static const enum dcgw_jws_alg algs[N_ALGS] = {DCGW_JWS_ES256, DCGW_JWS_ES384, DCGW_JWS_EDDSA,
                                               DCGW_JWS_PS256, DCGW_JWS_RS256};

static char *env_manifest(const char *env, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), AV "env-%s/manifest.jws", env);
    return keys_slurp(path, n, true);
}

/* ---- base64url */

START_TEST(b64url_rfc4648_vectors)
{
    /* RFC 4648 §10, in the URL alphabet without padding */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[32];
        uint8_t dec[32];
        int n = dcgw_b64url_encode((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof(out));
        ck_assert_int_eq(n, (int)strlen(enc[i]));
        ck_assert_str_eq(out, enc[i]);
        n = dcgw_b64url_decode(enc[i], strlen(enc[i]), dec, sizeof(dec));
        ck_assert_int_eq(n, (int)strlen(plain[i]));
        ck_assert(memcmp(dec, plain[i], (size_t)n) == 0);
    }
    /* the two URL-safe characters, and a long input crossing the decoder's blocks */
    uint8_t b[3000], d[3000];
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(i * 7 + 0xfb);
    char e[4100];
    int n = dcgw_b64url_encode(b, sizeof(b), e, sizeof(e));
    ck_assert_int_eq(n, DCGW_B64URL_ENCODED_LEN(sizeof(b)));
    ck_assert(strchr(e, '-') && strchr(e, '_') && !strchr(e, '+') && !strchr(e, '/'));
    ck_assert_int_eq(dcgw_b64url_decode(e, (size_t)n, d, sizeof(d)), (int)sizeof(b));
    ck_assert(memcmp(b, d, sizeof(b)) == 0);
    ck_assert_int_eq(dcgw_b64url_decode(e, (size_t)n, d, sizeof(b) - 1), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_b64url_encode(b, 3, e, 4), DCGW_ETOOBIG);
}
END_TEST

START_TEST(b64url_refuses_foreign_forms)
{
    uint8_t d[16];
    static const char *const bad[] = {
        "Zg==",                           /* padding */
        "Zm9v+A",                         /* standard alphabet */
        "Zm9v/w", "Zm 9v", "Zm9v\n", "Z", /* 1 mod 4 */
        "Zh",                             /* unused bits set: "f" is Zg */
        "Zm8",                            /* fine: "fo" */
        "Zm9",                            /* unused bits set */
        "Zm-",                            /* unused bits set */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = dcgw_b64url_decode(bad[i], strlen(bad[i]), d, sizeof(d));
        if (strcmp(bad[i], "Zm8") == 0)
            ck_assert_int_eq(r, 2);
        else
            ck_assert_msg(r == DCGW_EMALFORMED, "%s -> %d", bad[i], r);
    }
}
END_TEST

/* ---- algorithms */

START_TEST(alg_names_exact)
{
    for (int i = 0; i < N_ALGS; i++)
        ck_assert_int_eq(dcgw_jws_alg_parse(dcgw_jws_alg_name(algs[i])), algs[i]);
    static const char *const refused[] = {"none",  "None",  "HS256", "HS384", "HS512", "es256",
                                          "EDDSA", "ES512", "RS384", "PS512", "",      "ES256 "};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        ck_assert_int_eq(dcgw_jws_alg_parse(refused[i]), DCGW_JWS_ALG_INVALID);
    ck_assert_int_eq(dcgw_jws_alg_parse(NULL), DCGW_JWS_ALG_INVALID);
    ck_assert_str_eq(dcgw_jws_alg_name(DCGW_JWS_EDDSA), "EdDSA");
}
END_TEST

/* ---- parsing */

START_TEST(parse_vectors_of_the_tool)
{
    static const char *const envs[] = {"es256", "es384",   "eddsa", "ps256",
                                       "rs256", "chained", "kid"};
    static const enum dcgw_jws_alg want[] = {DCGW_JWS_ES256, DCGW_JWS_ES384, DCGW_JWS_EDDSA,
                                             DCGW_JWS_PS256, DCGW_JWS_RS256, DCGW_JWS_ES256,
                                             DCGW_JWS_EDDSA};
    for (int i = 0; i < 7; i++) {
        size_t n;
        char *t = env_manifest(envs[i], &n);
        struct dcgw_jws j;
        char err[200] = "";
        ck_assert_msg(dcgw_jws_parse(t, n, &j, err, sizeof(err)) == 0, "%s: %s", envs[i], err);
        ck_assert_int_eq(j.alg, want[i]);
        ck_assert_str_eq(j.typ, "avatar-manifest+jwt");
        ck_assert_str_eq(json_string_value(json_object_get(j.claims, "avatar_id")), "avatar-1");
        ck_assert_int_eq(json_array_size(json_object_get(j.claims, "chunks")), 3);
        if (strcmp(envs[i], "kid") == 0) {
            ck_assert_ptr_null(j.x5c);
            ck_assert_str_eq(j.kid, "bar-key-1");
        } else {
            ck_assert_int_eq(sk_X509_num(j.x5c), strcmp(envs[i], "chained") == 0 ? 2 : 1);
        }
        ck_assert_ptr_eq(j.signing_input, t);
        ck_assert_uint_eq(j.signing_input_len, (size_t)(strrchr(t, '.') - t));
        ck_assert_uint_eq(j.sig_len, i == 1 ? 96 : (i == 3 || i == 4) ? 256 : 64);
        dcgw_jws_dispose(&j);
        free(t);
    }
}
END_TEST

/* A compact JWS from JSON texts and a signature text, no signing. */
static char *forge(const char *header, const char *payload, const char *sig)
{
    char *out = malloc(1 << 20);
    size_t hl = strlen(header), pl = strlen(payload);
    int a = dcgw_b64url_encode((const uint8_t *)header, hl, out, 1 << 19);
    out[a] = '.';
    int b = dcgw_b64url_encode((const uint8_t *)payload, pl, out + a + 1, 1 << 19);
    snprintf(out + a + 1 + b, (1 << 20) - (size_t)(a + 1 + b), ".%s", sig);
    return out;
}

static int parse_text(const char *t, char *err)
{
    struct dcgw_jws j;
    int r = dcgw_jws_parse(t, strlen(t), &j, err, 200);
    if (r == 0)
        dcgw_jws_dispose(&j);
    return r;
}

START_TEST(parse_refusals)
{
    static const struct {
        const char *header, *payload, *sig;
        int want;
    } cases[] = {
        {"{\"alg\":\"none\"}", "{}", "", DCGW_EUNSUPPORTED},
        {"{\"alg\":\"none\"}", "{}", "AAAA", DCGW_EUNSUPPORTED},
        {"{\"alg\":\"HS256\"}", "{}", "AAAA", DCGW_EUNSUPPORTED},
        {"{\"alg\":\"ES512\"}", "{}", "AAAA", DCGW_EUNSUPPORTED},
        {"{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", "{}", "AAAA", DCGW_EUNSUPPORTED},
        {"{\"alg\":\"ES256\",\"b64\":false}", "{}", "AAAA", DCGW_EUNSUPPORTED},
        {"{}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":256}", "{}", "AAAA", DCGW_EMALFORMED},
        {"[\"alg\",\"ES256\"]", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"alg\":\"none\"}", "{}", "AAAA", DCGW_EMALFORMED}, /* duplicate */
        {"{\"alg\":\"ES256\"", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"typ\":7}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"kid\":\"" /* 129 bytes */
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
         "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"kid\":\"a\\u0000b\"}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"x5c\":[]}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"x5c\":\"MIIB\"}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"x5c\":[\"MIIB\"]}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"x5c\":[\"not base64!\"]}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\",\"x5c\":[1]}", "{}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "[]", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "\"claims\"", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "{\"a\":1,\"a\":2}", "AAAA", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "{}", "", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "{}", "AAA=", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "{}", "A", DCGW_EMALFORMED},
        {"{\"alg\":\"ES256\"}", "", "AAAA", DCGW_EMALFORMED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = forge(cases[i].header, cases[i].payload, cases[i].sig);
        char err[200] = "";
        int r = parse_text(t, err);
        ck_assert_msg(r == cases[i].want, "case %zu (%s): %d, want %d", i, cases[i].header, r,
                      cases[i].want);
        ck_assert_msg(err[0], "case %zu: no reason", i);
        free(t);
    }
    char err[200];
    static const char *const shapes[] = {"",
                                         ".",
                                         "..",
                                         "a.b",
                                         "a.b.c.d",
                                         ".e30.AAAA",
                                         "e30..AAAA.",
                                         "eyJhbGciOiJFUzI1NiJ9.e30.AAAA.",
                                         "%%%.e30.AAAA"};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        ck_assert_msg(parse_text(shapes[i], err) == DCGW_EMALFORMED, "shape %zu", i);
    /* a NUL inside, and over the caps */
    char *ok = forge("{\"alg\":\"ES256\"}", "{}", "AAAA");
    struct dcgw_jws j;
    size_t n = strlen(ok);
    ok[3] = '\0';
    ck_assert_int_eq(dcgw_jws_parse(ok, n, &j, err, sizeof(err)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_jws_parse(ok, DCGW_JWS_TEXT_MAX + 1, &j, err, sizeof(err)), DCGW_ETOOBIG);
    free(ok);
    char *bigh = malloc(DCGW_JWS_HEADER_MAX + 64);
    memset(bigh, 'e', DCGW_JWS_HEADER_MAX + 4);
    strcpy(bigh + DCGW_JWS_HEADER_MAX + 4, ".e30.AAAA");
    ck_assert_int_eq(parse_text(bigh, err), DCGW_ETOOBIG);
    free(bigh);
}
END_TEST

START_TEST(parse_x5c_chain_limits)
{
    /* nine copies of a real certificate: over the cap; a certificate with a trailing byte */
    X509 *x = keys_load_cert(AV, "es256");
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    char *b64 = malloc((size_t)len * 2 + 8);
    int bl = EVP_EncodeBlock((unsigned char *)b64, der, len);
    char *h = malloc((size_t)bl * 10 + 200);
    strcpy(h, "{\"alg\":\"ES256\",\"x5c\":[");
    for (int i = 0; i < 9; i++) {
        strcat(h, i ? ",\"" : "\"");
        strcat(h, b64);
        strcat(h, "\"");
    }
    strcat(h, "]}");
    char *t = forge(h, "{}", "AAAA"), err[200];
    ck_assert_int_eq(parse_text(t, err), DCGW_EMALFORMED);
    free(t);
    snprintf(h, (size_t)bl + 200, "{\"alg\":\"ES256\",\"x5c\":[\"%s\"]}", b64);
    t = forge(h, "{}", "AAAA");
    ck_assert_int_eq(parse_text(t, err), 0);
    free(t);
    unsigned char *der2 = malloc((size_t)len + 3);
    memcpy(der2, der, (size_t)len);
    der2[len] = 0;
    der2[len + 1] = 0;
    der2[len + 2] = 0;
    bl = EVP_EncodeBlock((unsigned char *)b64, der2, len + 3);
    snprintf(h, (size_t)bl + 200, "{\"alg\":\"ES256\",\"x5c\":[\"%s\"]}", b64);
    t = forge(h, "{}", "AAAA");
    ck_assert_int_eq(parse_text(t, err), DCGW_EMALFORMED);
    free(t);
    free(der2);
    free(h);
    free(b64);
    OPENSSL_free(der);
    X509_free(x);
}
END_TEST

/* ---- signatures */

START_TEST(verify_vectors_of_the_tool)
{
    /* every python-signed envelope verifies with its x5c[0] key, and fails once one byte of
     * the signing input or of the signature changes */
    for (int i = 0; i < N_ALGS; i++) {
        size_t n;
        char *t = env_manifest(alg_files[i], &n);
        struct dcgw_jws j;
        char err[200];
        ck_assert_int_eq(dcgw_jws_parse(t, n, &j, err, sizeof(err)), 0);
        EVP_PKEY *k = X509_get0_pubkey(sk_X509_value(j.x5c, 0));
        ck_assert_msg(dcgw_jws_verify(&j, k, 0) == 0, "%s", alg_files[i]);
        j.sig[j.sig_len / 2] ^= 0x01;
        ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), DCGW_ESIGNATURE);
        j.sig[j.sig_len / 2] ^= 0x01;
        t[10] = t[10] == 'A' ? 'B' : 'A'; /* the header as signed */
        ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), DCGW_ESIGNATURE);
        dcgw_jws_dispose(&j);
        free(t);
    }
}
END_TEST

START_TEST(sign_verify_every_alg)
{
    for (int i = 0; i < N_ALGS; i++) {
        EVP_PKEY *k = keys_load_priv(AV, alg_files[i]);
        json_t *h = json_pack("{s:s}", "typ", "avatar-request+jwt");
        json_t *c = json_pack("{s:s,s:I}", "avatar_id", "x", "exp", (json_int_t)NOW);
        char *t = NULL;
        ck_assert_int_eq(dcgw_jws_sign(algs[i], k, h, c, &t), 0);
        struct dcgw_jws j;
        char err[200];
        ck_assert_int_eq(dcgw_jws_parse(t, strlen(t), &j, err, sizeof(err)), 0);
        ck_assert_int_eq(j.alg, algs[i]);
        ck_assert_str_eq(j.typ, "avatar-request+jwt");
        ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), 0);
        /* the other keys never verify it: wrong type, or the same type but another key */
        for (int o = 0; o < N_ALGS; o++) {
            if (o == i)
                continue;
            EVP_PKEY *ko = keys_load_priv(AV, alg_files[o]);
            ck_assert_int_eq(dcgw_jws_verify(&j, ko, 0), DCGW_ESIGNATURE);
            EVP_PKEY_free(ko);
        }
        /* a key that does not fit the algorithm is not used for signing either */
        EVP_PKEY *other = keys_load_priv(AV, alg_files[(i + 1) % N_ALGS]);
        if (!((algs[i] == DCGW_JWS_PS256 || algs[i] == DCGW_JWS_RS256) &&
              (algs[(i + 1) % N_ALGS] == DCGW_JWS_RS256)))
            ck_assert_int_eq(dcgw_jws_sign(algs[i], other, h, c, &t), DCGW_EINVAL);
        EVP_PKEY_free(other);
        dcgw_jws_dispose(&j);
        free(t);
        json_decref(h);
        json_decref(c);
        EVP_PKEY_free(k);
    }
}
END_TEST

START_TEST(eddsa_vector_reproduces_byte_for_byte)
{
    /* docs/avatar-envelope.md's vector: Ed25519 signatures are deterministic, and dcgw
     * serializes JSON as the tool does, so re-signing the tool's header and claims with
     * the same key gives the same JWS, character for character */
    size_t n;
    char *t = env_manifest("kid", &n), err[200];
    struct dcgw_jws j;
    ck_assert_int_eq(dcgw_jws_parse(t, n, &j, err, sizeof(err)), 0);
    EVP_PKEY *k = keys_load_priv(AV, "raw-eddsa");
    char *again = NULL;
    ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_EDDSA, k, j.header, j.claims, &again), 0);
    ck_assert_str_eq(again, t);
    ck_assert(strncmp(t,
                      "eyJ0eXAiOiJhdmF0YXItbWFuaWZlc3Qrand0Iiwia2lkIjoiYmFyLWtleS0xIiwiYWxnIjoi"
                      "RWREU0EifQ.",
                      83) == 0);
    ck_assert_str_eq(strrchr(t, '.') + 1, "hihSVuq_yugoGbTiyf-Exc81T3LCFIzk1ITU4WYXi7KJM387KERsE7"
                                          "VFLJKlS5u-BMv4s6-tut3p_urzcbFkAA");
    free(again);
    EVP_PKEY_free(k);
    dcgw_jws_dispose(&j);
    free(t);
}
END_TEST

START_TEST(verify_algorithm_confusion_and_encodings)
{
    /* an RS256 signature relabelled PS256 (same key) and the reverse do not verify */
    EVP_PKEY *k = keys_load_priv(AV, "rs256");
    json_t *h = json_object(), *c = json_pack("{s:s}", "a", "b");
    char *t, err[200];
    ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_RS256, k, h, c, &t), 0);
    struct dcgw_jws j;
    ck_assert_int_eq(dcgw_jws_parse(t, strlen(t), &j, err, sizeof(err)), 0);
    j.alg = DCGW_JWS_PS256;
    ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), DCGW_ESIGNATURE);
    j.alg = DCGW_JWS_RS256;
    ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), 0);
    /* the RSA floor: 2048-bit keys refused when 3072 is the minimum */
    ck_assert_int_eq(dcgw_jws_verify(&j, k, 3072), DCGW_EUNTRUSTED);
    dcgw_jws_dispose(&j);
    free(t);
    EVP_PKEY_free(k);
    /* RSA-1024 is below the default floor, for verifying and signing */
    k = keys_load_priv(AV, "rsa1024");
    ck_assert_int_eq(dcgw_jws_key_fits(DCGW_JWS_RS256, k, 0), DCGW_EUNTRUSTED);
    ck_assert_int_eq(dcgw_jws_key_fits(DCGW_JWS_RS256, k, 1024), 0);
    ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_RS256, k, h, c, &t), DCGW_EINVAL);
    EVP_PKEY_free(k);
    /* ECDSA: only raw R || S of the curve's length (a DER signature is refused) */
    k = keys_load_priv(AV, "es256");
    ck_assert_int_eq(dcgw_jws_key_fits(DCGW_JWS_ES384, k, 0), DCGW_ESIGNATURE);
    ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_ES256, k, h, c, &t), 0);
    ck_assert_int_eq(dcgw_jws_parse(t, strlen(t), &j, err, sizeof(err)), 0);
    ck_assert_uint_eq(j.sig_len, 64);
    unsigned char der[80], *p = der;
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(j.sig, 32, NULL), BN_bin2bn(j.sig + 32, 32, NULL));
    int dl = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    memcpy(j.sig, der, (size_t)dl);
    j.sig_len = (size_t)dl;
    ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), DCGW_ESIGNATURE);
    j.sig_len = 63;
    ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), DCGW_ESIGNATURE);
    ck_assert_int_eq(dcgw_jws_verify(&j, NULL, 0), DCGW_ESIGNATURE);
    dcgw_jws_dispose(&j);
    free(t);
    EVP_PKEY_free(k);
    json_decref(h);
    json_decref(c);
}
END_TEST

/* ---- trust */

static int signer_of(struct dcgw_trust *t, const char *env, int64_t now, char *who, char *err)
{
    size_t n;
    char *text = env_manifest(env, &n);
    struct dcgw_jws j;
    ck_assert_int_eq(dcgw_jws_parse(text, n, &j, err, 300), 0);
    EVP_PKEY *k = NULL;
    int r = dcgw_trust_signer(t, &j, now, &k, who, DCGW_TRUST_WHO_MAX, err, 300);
    if (r == 0) {
        ck_assert_int_eq(dcgw_jws_verify(&j, k, 0), 0);
        EVP_PKEY_free(k);
    }
    dcgw_jws_dispose(&j);
    free(text);
    return r;
}

START_TEST(trust_resolves_signers)
{
    struct dcgw_trust *t = keys_trust_new(AV);
    ck_assert_uint_eq(dcgw_trust_ca_count(t), 1);
    ck_assert_uint_eq(dcgw_trust_key_count(t), 3);
    char who[DCGW_TRUST_WHO_MAX], err[300];
    for (int i = 0; i < N_ALGS; i++) {
        ck_assert_msg(signer_of(t, alg_files[i], NOW, who, err) == 0, "%s: %s", alg_files[i], err);
        ck_assert(strstr(who, "CN=avatar signer") == who);
    }
    ck_assert_int_eq(signer_of(t, "chained", NOW, who, err), 0); /* via the x5c intermediate */
    ck_assert_str_eq(who, "CN=avatar signer via intermediate");
    ck_assert_int_eq(signer_of(t, "kid", NOW, who, err), 0);
    ck_assert_str_eq(who, "kid:bar-key-1");
    /* before the certificates' notBefore and after their notAfter: untrusted */
    ck_assert_int_eq(signer_of(t, "es256", 1700000000, who, err), DCGW_EUNTRUSTED);
    ck_assert(strstr(err, "not yet valid") != NULL);
    ck_assert_int_eq(signer_of(t, "es256", 2500000000, who, err), DCGW_EUNTRUSTED);
    ck_assert(strstr(err, "expired") != NULL);
    dcgw_trust_unref(t);
    /* a store with only the rogue CA trusts none of them; an empty one trusts nothing */
    ck_assert_int_eq(dcgw_trust_new(&t), 0);
    ck_assert_int_eq(signer_of(t, "kid", NOW, who, err), DCGW_EUNTRUSTED);
    ck_assert_int_eq(signer_of(t, "es256", NOW, who, err), DCGW_EUNTRUSTED);
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, AV "rogue-ca.pem", err, 300), 0);
    ck_assert_int_eq(signer_of(t, "es256", NOW, who, err), DCGW_EUNTRUSTED);
    /* pinning the intermediate alone is enough for the chained signer (partial chain) */
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, AV "inter.pem", err, 300), 0);
    ck_assert_int_eq(signer_of(t, "chained", NOW, who, err), 0);
    ck_assert_int_eq(signer_of(t, "es256", NOW, who, err), DCGW_EUNTRUSTED);
    dcgw_trust_unref(t);
}
END_TEST

START_TEST(trust_loading_refusals)
{
    struct dcgw_trust *t, *u;
    char err[300];
    ck_assert_int_eq(dcgw_trust_new(&t), 0);
    ck_assert_int_eq(dcgw_trust_add_ca_pem(t, "", 0, err, sizeof(err)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_trust_add_ca_pem(t, "garbage", 7, err, sizeof(err)), DCGW_EMALFORMED);
    static const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    ck_assert_int_eq(dcgw_trust_add_ca_pem(t, junk, sizeof(junk) - 1, err, sizeof(err)),
                     DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, AV "nonexistent.pem", err, sizeof(err)), DCGW_EIO);
    ck_assert_int_eq(dcgw_trust_add_keys_dir(t, AV "nonexistent", err, sizeof(err)), DCGW_EIO);
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, AV "keys", err, sizeof(err)), DCGW_EIO); /* a dir */
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, "/dev/zero", err, sizeof(err)), DCGW_EIO);
    ck_assert_int_eq(dcgw_trust_add_ca_file(t, AV "ue.key", err, sizeof(err)), DCGW_EMALFORMED);
    size_t n;
    char *pub = keys_slurp(AV "keys/bar-key-2.pem", &n, true);
    ck_assert_int_eq(dcgw_trust_add_key_pem(t, "", pub, n, err, sizeof(err)), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_trust_add_key_pem(t, "k", "nope", 4, err, sizeof(err)), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_trust_add_key_pem(t, "k", pub, n, err, sizeof(err)), 0);
    ck_assert_int_eq(dcgw_trust_add_key_pem(t, "k", pub, n, err, sizeof(err)), DCGW_EEXIST);
    ck_assert_uint_eq(dcgw_trust_ca_count(t), 0);
    ck_assert_uint_eq(dcgw_trust_key_count(t), 1);
    /* add_all: a session's store on top of the configured one */
    u = keys_trust_new(AV);
    ck_assert_int_eq(dcgw_trust_add_all(t, u), 0);
    ck_assert_uint_eq(dcgw_trust_ca_count(t), 1);
    ck_assert_uint_eq(dcgw_trust_key_count(t), 4);
    dcgw_trust_unref(u);
    char who[DCGW_TRUST_WHO_MAX];
    ck_assert_int_eq(signer_of(t, "rs256", NOW, who, err), 0);
    ck_assert_ptr_eq(dcgw_trust_ref(t), t);
    dcgw_trust_unref(t);
    dcgw_trust_unref(t);
    dcgw_trust_unref(NULL);
    free(pub);
}
END_TEST

START_TEST(configured_anchors_are_checked_at_load)
{
    /* avatar.trust_anchors / trusted_keys that cannot be loaded fail the configuration
     * (dcgwd --check-config), rather than making every signer untrusted at run time */
    struct dcgw_config cfg;
    char err[512] = "";
    const char *good = "avatar: { trust_anchors = \"" AV "ca.pem\"; trusted_keys = \"" AV
                       "keys\"; audience = \"dcgw\"; clock_skew_s = 5; };";
    ck_assert_msg(dcgw_config_parse(good, "t.conf", &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_str_eq(cfg.avatar.audience, "dcgw");
    ck_assert_uint_eq(cfg.avatar.clock_skew_s, 5);
    ck_assert_uint_eq(cfg.avatar.min_rsa_bits, 2048);
    static const char *const bad[] = {
        "avatar: { trust_anchors = \"" AV "nonexistent.pem\"; };",
        "avatar: { trust_anchors = \"" AV "ue.key\"; };",
        "avatar: { trusted_keys = \"" AV "nonexistent\"; };",
        "avatar: { min_rsa_bits = 1024; };",
        "avatar: { max_chunks = 70000; };",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(dcgw_config_parse(bad[i], "t.conf", &cfg, err, sizeof(err)), DCGW_ECONFIG);
        ck_assert_msg(strstr(err, "avatar.") != NULL, "%s", err);
    }
}
END_TEST

Suite *jws_suite(void)
{
    Suite *s = suite_create("jws");
    TCase *tc = tcase_create("base64url");
    tcase_add_test(tc, b64url_rfc4648_vectors);
    tcase_add_test(tc, b64url_refuses_foreign_forms);
    suite_add_tcase(s, tc);
    tc = tcase_create("parse");
    tcase_add_test(tc, alg_names_exact);
    tcase_add_test(tc, parse_vectors_of_the_tool);
    tcase_add_test(tc, parse_refusals);
    tcase_add_test(tc, parse_x5c_chain_limits);
    suite_add_tcase(s, tc);
    tc = tcase_create("signatures");
    tcase_add_test(tc, verify_vectors_of_the_tool);
    tcase_add_test(tc, sign_verify_every_alg);
    tcase_add_test(tc, eddsa_vector_reproduces_byte_for_byte);
    tcase_add_test(tc, verify_algorithm_confusion_and_encodings);
    suite_add_tcase(s, tc);
    tc = tcase_create("trust");
    tcase_add_test(tc, trust_resolves_signers);
    tcase_add_test(tc, trust_loading_refusals);
    tcase_add_test(tc, configured_anchors_are_checked_at_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tsuite_run(jws_suite());
}
