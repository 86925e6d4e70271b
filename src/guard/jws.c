/* JWS compact serialization: parsing (jansson), verification and signing (OpenSSL EVP).
 * See include/dcgw/guard/jws.h and docs/avatar-envelope.md. */
#include "dcgw/guard/jws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "dcgw/base/error.h"

static const char *const alg_names[] = {[DCGW_JWS_ALG_INVALID] = "?",
#define DCGW__JWS_NAME(name, str) [DCGW_JWS_##name] = str,
                                        DCGW_JWS_ALG_MAP(DCGW__JWS_NAME)
#undef DCGW__JWS_NAME
};

const char *dcgw_jws_alg_name(enum dcgw_jws_alg a)
{
    return (unsigned)a < sizeof(alg_names) / sizeof(alg_names[0]) ? alg_names[a] : "?";
}

enum dcgw_jws_alg dcgw_jws_alg_parse(const char *s)
{
    for (unsigned a = DCGW_JWS_ES256; s && a <= DCGW_JWS_RS256; a++)
        if (strcmp(s, alg_names[a]) == 0)
            return (enum dcgw_jws_alg)a;
    return DCGW_JWS_ALG_INVALID;
}

static void seterr(char *err, size_t cap, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "%s", msg);
}

/* ---- base64 ---------------------------------------------------------------------------- */

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int dcgw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
    if (n % 4 == 1)
        return DCGW_EMALFORMED;
    for (size_t i = 0; i < n; i++)
        if (b64url_value(in[i]) < 0)
            return DCGW_EMALFORMED;
    /* one encoding per value: the bits past the last byte are zero (RFC 4648 §3.5) */
    if (n % 4 == 2 && (b64url_value(in[n - 1]) & 0x0f))
        return DCGW_EMALFORMED;
    if (n % 4 == 3 && (b64url_value(in[n - 1]) & 0x03))
        return DCGW_EMALFORMED;
    size_t want = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (want > cap || want > INT32_MAX)
        return DCGW_ETOOBIG;
    /* OpenSSL's decoder takes the standard alphabet with padding: translate in blocks */
    enum { BLOCK = 1024 };
    unsigned char tin[BLOCK + 4], tout[BLOCK / 4 * 3 + 3];
    size_t done = 0;
    for (size_t pos = 0; pos < n; pos += BLOCK) {
        size_t len = n - pos < BLOCK ? n - pos : BLOCK, pad = 0;
        for (size_t i = 0; i < len; i++) {
            char c = in[pos + i];
            tin[i] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
        }
        while ((len + pad) % 4)
            tin[len + pad++] = '=';
        int r = EVP_DecodeBlock(tout, tin, (int)(len + pad));
        if (r < 0 || (size_t)r < pad)
            return DCGW_EMALFORMED;
        memcpy(out + done, tout, (size_t)r - pad);
        done += (size_t)r - pad;
    }
    return (int)done;
}

int dcgw_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t want = DCGW_B64URL_ENCODED_LEN(n);
    if (want + 1 > cap || want > INT32_MAX)
        return DCGW_ETOOBIG;
    enum { BLOCK = 768 };
    unsigned char tout[BLOCK / 3 * 4 + 1];
    size_t done = 0;
    for (size_t pos = 0; pos < n; pos += BLOCK) {
        size_t len = n - pos < BLOCK ? n - pos : BLOCK;
        int r = EVP_EncodeBlock(tout, in + pos, (int)len);
        for (int i = 0; i < r && tout[i] != '='; i++)
            out[done++] = tout[i] == '+' ? '-' : tout[i] == '/' ? '_' : (char)tout[i];
    }
    out[done] = '\0';
    return (int)done;
}

/* Standard base64 with padding, as x5c carries DER (RFC 7515 §4.1.6). *out is malloc'd. */
static int b64std_decode(const char *in, size_t n, uint8_t **out, size_t *outlen)
{
    if (n == 0 || n % 4)
        return DCGW_EMALFORMED;
    if (n > (size_t)DCGW_JWS_CERT_DER_MAX / 3 * 4 + 4)
        return DCGW_ETOOBIG;
    size_t pad = in[n - 1] == '=' ? (in[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - pad; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return DCGW_EMALFORMED;
    }
    uint8_t *buf = malloc(n / 4 * 3);
    if (!buf)
        return DCGW_ENOMEM;
    int r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (r < 0 || (size_t)r < pad) {
        free(buf);
        return DCGW_EMALFORMED;
    }
    *out = buf;
    *outlen = (size_t)r - pad;
    return 0;
}

/* ---- parsing --------------------------------------------------------------------------- */

/* Decodes one base64url part holding a JSON object. */
static int decode_json(const char *p, size_t n, json_t **out, char *err, size_t errcap,
                       const char *what)
{
    uint8_t *buf = malloc(DCGW_B64URL_DECODED_MAX(n) + 1);
    if (!buf)
        return DCGW_ENOMEM;
    int len = dcgw_b64url_decode(p, n, buf, DCGW_B64URL_DECODED_MAX(n));
    int r = 0;
    char msg[200];
    if (len < 0) {
        snprintf(msg, sizeof(msg), "%s: not base64url", what);
        r = DCGW_EMALFORMED;
    } else {
        json_error_t je;
        /* RFC 7515 §4: duplicate member names MUST be rejected or the last one used */
        *out = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, &je);
        if (!*out) {
            snprintf(msg, sizeof(msg), "%s: %s", what, je.text);
            r = DCGW_EMALFORMED;
        } else if (!json_is_object(*out)) {
            snprintf(msg, sizeof(msg), "%s: not a JSON object", what);
            json_decref(*out);
            *out = NULL;
            r = DCGW_EMALFORMED;
        }
    }
    if (r < 0)
        seterr(err, errcap, msg);
    free(buf);
    return r;
}

static int get_short_string(json_t *obj, const char *name, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return DCGW_EMALFORMED;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int parse_x5c(json_t *arr, struct dcgw_jws *out, char *err, size_t errcap)
{
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > DCGW_JWS_X5C_MAX) {
        seterr(err, errcap, "header: x5c must be an array of 1 to 8 certificates");
        return DCGW_EMALFORMED;
    }
    if (!(out->x5c = sk_X509_new_null()))
        return DCGW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        uint8_t *der = NULL;
        size_t len = 0;
        int r = json_is_string(s)
                    ? b64std_decode(json_string_value(s), json_string_length(s), &der, &len)
                    : DCGW_EMALFORMED;
        X509 *x = NULL;
        if (r == 0) {
            const unsigned char *q = der;
            x = d2i_X509(NULL, &q, (long)len);
            if (x && q != der + len) { /* trailing bytes after the certificate */
                X509_free(x);
                x = NULL;
            }
        }
        free(der);
        if (r == DCGW_ENOMEM)
            return r;
        if (!x || !sk_X509_push(out->x5c, x)) {
            X509_free(x);
            seterr(err, errcap, "header: x5c holds something that is not a DER certificate");
            return x ? DCGW_ENOMEM : DCGW_EMALFORMED;
        }
    }
    return 0;
}

static int parse_header(struct dcgw_jws *out, char *err, size_t errcap)
{
    json_t *h = out->header;
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg)) {
        seterr(err, errcap, "header: no alg");
        return DCGW_EMALFORMED;
    }
    out->alg = dcgw_jws_alg_parse(json_string_value(alg));
    if (out->alg == DCGW_JWS_ALG_INVALID) {
        char msg[128];
        snprintf(msg, sizeof(msg), "header: alg \"%.40s\" is not accepted", json_string_value(alg));
        seterr(err, errcap, msg);
        return DCGW_EUNSUPPORTED;
    }
    /* RFC 7515 §4.1.11: extensions listed in crit that are not understood MUST make the
     * JWS invalid; dcgw understands none. RFC 7797 §6: b64 must be understood too. */
    if (json_object_get(h, "crit") || json_object_get(h, "b64")) {
        seterr(err, errcap, "header: crit / b64 extensions are not supported");
        return DCGW_EUNSUPPORTED;
    }
    if (get_short_string(h, "typ", out->typ, sizeof(out->typ)) < 0 ||
        get_short_string(h, "kid", out->kid, sizeof(out->kid)) < 0) {
        seterr(err, errcap, "header: typ or kid is not a string of the accepted length");
        return DCGW_EMALFORMED;
    }
    json_t *x5c = json_object_get(h, "x5c");
    return x5c ? parse_x5c(x5c, out, err, errcap) : 0;
}

int dcgw_jws_parse(const char *text, size_t n, struct dcgw_jws *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof(*out));
    if (n > DCGW_JWS_TEXT_MAX) {
        seterr(err, errcap, "longer than the JWS cap");
        return DCGW_ETOOBIG;
    }
    const char *d1 = memchr(text, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - text)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - text)) || d1 == text) {
        seterr(err, errcap, "not three dot-separated parts (RFC 7515 §7.1)");
        return DCGW_EMALFORMED;
    }
    size_t hlen = (size_t)(d1 - text), plen = (size_t)(d2 - d1 - 1);
    size_t slen = n - (size_t)(d2 + 1 - text);
    if (hlen > DCGW_JWS_HEADER_MAX) {
        seterr(err, errcap, "header longer than its cap");
        return DCGW_ETOOBIG;
    }
    /* the header first: "alg":"none" with its empty signature is a refused algorithm */
    int r = decode_json(text, hlen, &out->header, err, errcap, "header");
    if (r == 0)
        r = parse_header(out, err, errcap);
    if (r == 0 && (plen == 0 || slen == 0 || slen > DCGW_B64URL_ENCODED_LEN(DCGW_JWS_SIG_MAX))) {
        seterr(err, errcap, plen ? "signature empty or too long" : "empty payload");
        r = DCGW_EMALFORMED;
    }
    if (r == 0)
        r = decode_json(d1 + 1, plen, &out->claims, err, errcap, "payload");
    if (r == 0) {
        int len = dcgw_b64url_decode(d2 + 1, slen, out->sig, sizeof(out->sig));
        if (len <= 0) {
            seterr(err, errcap, "signature: not base64url");
            r = DCGW_EMALFORMED;
        }
        out->sig_len = len > 0 ? (size_t)len : 0;
    }
    if (r < 0) {
        dcgw_jws_dispose(out);
        return r;
    }
    out->signing_input = text;
    out->signing_input_len = (size_t)(d2 - text);
    return 0;
}

void dcgw_jws_dispose(struct dcgw_jws *j)
{
    json_decref(j->header);
    json_decref(j->claims);
    if (j->x5c)
        sk_X509_pop_free(j->x5c, X509_free);
    memset(j, 0, sizeof(*j));
}

/* ---- keys and signatures --------------------------------------------------------------- */

static bool ec_group_is(EVP_PKEY *key, const char *want)
{
    char name[64];
    size_t len = 0;
    return EVP_PKEY_is_a(key, "EC") &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                          &len) == 1 &&
           strcmp(name, want) == 0;
}

int dcgw_jws_key_fits(enum dcgw_jws_alg alg, EVP_PKEY *key, unsigned min_rsa_bits)
{
    if (!key)
        return DCGW_ESIGNATURE;
    switch (alg) {
    case DCGW_JWS_ES256: /* RFC 7518 §3.4: P-256 with SHA-256 */
        return ec_group_is(key, "prime256v1") ? 0 : DCGW_ESIGNATURE;
    case DCGW_JWS_ES384:
        return ec_group_is(key, "secp384r1") ? 0 : DCGW_ESIGNATURE;
    case DCGW_JWS_EDDSA: /* RFC 8037 §3.1; Ed448 is not accepted */
        return EVP_PKEY_is_a(key, "ED25519") ? 0 : DCGW_ESIGNATURE;
    case DCGW_JWS_PS256:
    case DCGW_JWS_RS256: {
        if (!EVP_PKEY_is_a(key, "RSA") && !(alg == DCGW_JWS_PS256 && EVP_PKEY_is_a(key, "RSA-PSS")))
            return DCGW_ESIGNATURE;
        /* RFC 7518 §3.3, §3.5: a key of 2048 bits or larger MUST be used */
        int bits = EVP_PKEY_get_bits(key);
        unsigned min = min_rsa_bits ? min_rsa_bits : DCGW_JWS_RSA_MIN_BITS_DEFAULT;
        return bits >= (int)min && bits <= DCGW_JWS_RSA_MAX_BITS ? 0 : DCGW_EUNTRUSTED;
    }
    default:
        return DCGW_ESIGNATURE;
    }
}

static const EVP_MD *alg_md(enum dcgw_jws_alg alg)
{
    return alg == DCGW_JWS_ES384 ? EVP_sha384() : alg == DCGW_JWS_EDDSA ? NULL : EVP_sha256();
}

static size_t ec_coord_len(enum dcgw_jws_alg alg)
{
    return alg == DCGW_JWS_ES256 ? 32 : alg == DCGW_JWS_ES384 ? 48 : 0;
}

/* RFC 7518 §3.4: the JWS signature is R || S, each the curve's byte length; EVP wants the
 * DER ECDSA-Sig-Value. *der is malloc'd. */
static int ecdsa_raw_to_der(const uint8_t *sig, size_t n, size_t clen, uint8_t **der,
                            size_t *derlen)
{
    if (n != 2 * clen)
        return DCGW_ESIGNATURE;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)clen, NULL), *s = BN_bin2bn(sig + clen, (int)clen, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return DCGW_ENOMEM;
    }
    unsigned char *out = NULL;
    int len = i2d_ECDSA_SIG(es, &out);
    ECDSA_SIG_free(es);
    if (len <= 0)
        return DCGW_ENOMEM;
    *der = out;
    *derlen = (size_t)len;
    return 0;
}

static int setup_pss(EVP_PKEY_CTX *pctx)
{
    /* RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash output */
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
                   EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1
               ? 0
               : DCGW_EINTERNAL;
}

int dcgw_jws_verify(const struct dcgw_jws *j, EVP_PKEY *key, unsigned min_rsa_bits)
{
    int r = dcgw_jws_key_fits(j->alg, key, min_rsa_bits);
    if (r < 0)
        return r;
    const uint8_t *sig = j->sig;
    size_t siglen = j->sig_len;
    uint8_t *der = NULL;
    if (ec_coord_len(j->alg)) {
        if ((r = ecdsa_raw_to_der(j->sig, j->sig_len, ec_coord_len(j->alg), &der, &siglen)) < 0)
            return r;
        sig = der;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    r = ctx ? 0 : DCGW_ENOMEM;
    if (r == 0 && EVP_DigestVerifyInit(ctx, &pctx, alg_md(j->alg), NULL, key) != 1)
        r = DCGW_ESIGNATURE;
    if (r == 0 && j->alg == DCGW_JWS_PS256 && setup_pss(pctx) < 0)
        r = DCGW_ESIGNATURE;
    if (r == 0 && EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)j->signing_input,
                                   j->signing_input_len) != 1)
        r = DCGW_ESIGNATURE;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return r;
}

/* EVP's DER ECDSA signature to the JWS R || S form. */
static int ecdsa_der_to_raw(const uint8_t *der, size_t n, size_t clen, uint8_t *out)
{
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)n);
    if (!es)
        return DCGW_EINTERNAL;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    int ok = BN_bn2binpad(r, out, (int)clen) == (int)clen &&
             BN_bn2binpad(s, out + clen, (int)clen) == (int)clen;
    ECDSA_SIG_free(es);
    return ok ? 0 : DCGW_EINTERNAL;
}

static char *b64_json(const json_t *j)
{
    char *txt = json_dumps(j, JSON_COMPACT);
    if (!txt)
        return NULL;
    size_t n = strlen(txt), cap = DCGW_B64URL_ENCODED_LEN(n) + 1;
    char *b = malloc(cap);
    if (b)
        dcgw_b64url_encode((const uint8_t *)txt, n, b, cap);
    free(txt);
    return b;
}

static int sign_raw(enum dcgw_jws_alg alg, EVP_PKEY *key, const char *tbs, size_t n, uint8_t *sig,
                    size_t *siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t der[DCGW_JWS_SIG_MAX + 16];
    size_t len = sizeof(der);
    int r = ctx ? 0 : DCGW_ENOMEM;
    if (r == 0 && EVP_DigestSignInit(ctx, &pctx, alg_md(alg), NULL, key) != 1)
        r = DCGW_EINTERNAL;
    if (r == 0 && alg == DCGW_JWS_PS256)
        r = setup_pss(pctx);
    if (r == 0 && EVP_DigestSign(ctx, der, &len, (const unsigned char *)tbs, n) != 1)
        r = DCGW_EINTERNAL;
    EVP_MD_CTX_free(ctx);
    if (r < 0)
        return r;
    size_t clen = ec_coord_len(alg);
    if (clen) {
        *siglen = 2 * clen;
        return ecdsa_der_to_raw(der, len, clen, sig);
    }
    if (len > DCGW_JWS_SIG_MAX)
        return DCGW_EINTERNAL;
    memcpy(sig, der, len);
    *siglen = len;
    return 0;
}

int dcgw_jws_sign(enum dcgw_jws_alg alg, EVP_PKEY *key, json_t *header, const json_t *claims,
                  char **out)
{
    if (dcgw_jws_key_fits(alg, key, 0) < 0)
        return DCGW_EINVAL;
    if (json_object_set_new(header, "alg", json_string(dcgw_jws_alg_name(alg))) < 0)
        return DCGW_ENOMEM;
    char *h = b64_json(header), *p = b64_json(claims), *res = NULL;
    int r = h && p ? 0 : DCGW_ENOMEM;
    size_t hl = h ? strlen(h) : 0, pl = p ? strlen(p) : 0;
    size_t cap = hl + pl + 2 + DCGW_B64URL_ENCODED_LEN(DCGW_JWS_SIG_MAX) + 1;
    if (r == 0 && !(res = malloc(cap)))
        r = DCGW_ENOMEM;
    uint8_t sig[DCGW_JWS_SIG_MAX];
    size_t siglen = 0;
    if (r == 0) {
        memcpy(res, h, hl);
        res[hl] = '.';
        memcpy(res + hl + 1, p, pl);
        r = sign_raw(alg, key, res, hl + 1 + pl, sig, &siglen);
    }
    if (r == 0) {
        res[hl + 1 + pl] = '.';
        dcgw_b64url_encode(sig, siglen, res + hl + pl + 2, cap - hl - pl - 2);
        *out = res;
        res = NULL;
    }
    free(h);
    free(p);
    free(res);
    return r;
}
