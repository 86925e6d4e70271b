/* Fixtures of the avatar verifier's tests (test_avatar*.c): a trust store and grants built
 * from tests/data/avatar, verifiers over them, and dcgw's own signer making manifests and
 * request tokens with knobs for every test. The clock is injected (AV_NOW,
 * tests/data/avatar/gen.sh). */
#include "helper_avatar.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "dcgw/base/error.h"
#include "helper_keys.h"

const char *av_dir;
struct dcgw_trust *av_trust;
struct dcgw_avatar_grants *av_grants;

void av_setup(void)
{
    av_trust = keys_trust_new(av_dir);
    ck_assert_int_eq(dcgw_avatar_grants_new(&av_grants), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(av_grants, OWNER, "avatar-1", "ue"), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(av_grants, OWNER, "avatar-2", NULL), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(av_grants, "sip:bob@ims.example", "avatar-9", "as"), 0);
}

void av_teardown(void)
{
    dcgw_trust_unref(av_trust);
    dcgw_avatar_grants_free(av_grants);
}

struct dcgw_avatar *av_verifier(const char *leg, const char *audience)
{
    struct dcgw_avatar_settings s;
    dcgw_avatar_settings_default(&s);
    s.trust = av_trust;
    s.grants = av_grants;
    s.leg = leg;
    s.audience = audience;
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    return v;
}

void av_mopts_default(struct av_mopts *o)
{
    memset(o, 0, sizeof(*o));
    o->signer = "es256";
    o->alg = DCGW_JWS_ES256;
    o->avatar_id = "avatar-1";
    o->sub = OWNER;
    o->typ = DCGW_AVATAR_TYP_MANIFEST;
    o->iat = NOW - 10;
    o->exp = NOW + 3600;
    o->chunk_size = 1000;
}

/* A JWS of header h and claims c (both released) signed with tests/data/avatar/<key>.key. */
char *av_sign_with(const char *key, enum dcgw_jws_alg alg, json_t *h, json_t *c)
{
    EVP_PKEY *k = keys_load_priv(av_dir, key);
    char *t = NULL;
    ck_assert_int_eq(dcgw_jws_sign(alg, k, h, c, &t), 0);
    EVP_PKEY_free(k);
    json_decref(h);
    json_decref(c);
    return t;
}

char *av_b64url_digest(const uint8_t *p, size_t n)
{
    uint8_t md[32];
    SHA256(p, n, md);
    char *out = malloc(48);
    dcgw_b64url_encode(md, 32, out, 48);
    return out;
}

char *av_make_manifest(const struct av_mopts *o, const uint8_t *data, size_t n)
{
    json_t *h = json_pack("{s:s}", "typ", o->typ);
    if (o->kid) {
        json_object_set_new(h, "kid", json_string(o->kid));
    } else {
        X509 *x = keys_load_cert(av_dir, o->signer);
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        char *b64 = malloc((size_t)len * 2 + 4);
        EVP_EncodeBlock((unsigned char *)b64, der, len);
        json_object_set_new(h, "x5c", json_pack("[s]", b64));
        free(b64);
        OPENSSL_free(der);
        X509_free(x);
    }
    json_t *chunks = json_array();
    size_t count = (n + o->chunk_size - 1) / o->chunk_size;
    for (size_t k = 0; (int)k < (int)count + o->n_digests_delta; k++) {
        size_t off = (k % count) * o->chunk_size;
        size_t len = off + o->chunk_size <= n ? o->chunk_size : n - off;
        char *d = av_b64url_digest(data + off, len);
        json_array_append_new(chunks, json_string(d));
        free(d);
    }
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:o}", "avatar_id", o->avatar_id, "iss",
                          "https://bar.example", "sub", o->sub, "iat", (json_int_t)o->iat, "exp",
                          (json_int_t)o->exp, "cty", "model/gltf-binary", "size",
                          (json_int_t)(o->size_claim ? o->size_claim : n), "chunk_size",
                          (json_int_t)o->chunk_size, "chunks", chunks);
    if (o->nbf)
        json_object_set_new(c, "nbf", json_integer(o->nbf));
    if (o->aud)
        json_object_set_new(c, "aud", json_string(o->aud));
    if (o->drop)
        json_object_del(c, o->drop);
    return av_sign_with(o->kid ? "raw-eddsa" : o->signer, o->alg, h, c);
}

uint8_t *av_pattern(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8));
    return p;
}

int av_put_text(struct dcgw_avatar *v, const char *t, struct dcgw_avatar_result *res)
{
    return dcgw_avatar_input(v, true, (const uint8_t *)t, strlen(t), NOW, NULL, res);
}

int av_put_chunk(struct dcgw_avatar *v, const uint8_t *data, size_t n, size_t csize, size_t k,
                 struct dcgw_avatar_result *res)
{
    size_t off = k * csize, len = off + csize <= n ? csize : n - off;
    return dcgw_avatar_input(v, false, data + off, len, NOW, NULL, res);
}

/* A manifest with these options and its chunks, in order; the result of the last message
 * that went in (stops at the first refusal). */
int av_transfer(struct dcgw_avatar *v, const struct av_mopts *o, const uint8_t *data, size_t n,
                struct dcgw_avatar_result *res)
{
    char *t = av_make_manifest(o, data, n);
    int r = av_put_text(v, t, res);
    free(t);
    size_t count = (n + o->chunk_size - 1) / o->chunk_size;
    for (size_t k = 0; r == 0 && k < count; k++)
        r = av_put_chunk(v, data, n, o->chunk_size, k, res);
    return r;
}

/* A manifest alone: its result. */
enum dcgw_avatar_reason av_manifest_reason(const struct av_mopts *o, const char *audience)
{
    struct dcgw_avatar *v = av_verifier("as", audience);
    uint8_t *data = av_pattern(2500);
    char *t = av_make_manifest(o, data, 2500);
    struct dcgw_avatar_result res;
    int r = av_put_text(v, t, &res);
    ck_assert(r == 0 || r == DCGW_EDENIED);
    ck_assert_int_eq(res.what, r == 0 ? DCGW_AVATAR_MANIFEST : DCGW_AVATAR_REJECTED);
    if (r < 0)
        ck_assert(res.detail[0] != '\0');
    free(t);
    free(data);
    dcgw_avatar_free(v);
    return r == 0 ? DCGW_AVATAR_NONE : res.reason;
}

char *av_token(const char *key, const char *avatar_id, const char *iss, const char *aud,
               int64_t exp)
{
    json_t *h = json_pack("{s:s}", "typ", DCGW_AVATAR_TYP_REQUEST);
    json_t *c =
        json_pack("{s:s,s:s,s:I}", "avatar_id", avatar_id, "iss", iss, "exp", (json_int_t)exp);
    if (aud)
        json_object_set_new(c, "aud", json_string(aud));
    return av_sign_with(key, DCGW_JWS_ES256, h, c);
}

/* A verifier on leg `leg` that borrows g (instead of the fixture's grants). */
struct dcgw_avatar *av_verifier_with(const char *leg, const struct dcgw_avatar_grants *g)
{
    struct dcgw_avatar_settings s;
    dcgw_avatar_settings_default(&s);
    s.trust = av_trust;
    s.grants = g;
    s.leg = leg;
    s.audience = "dcgw";
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    return v;
}
