/* The avatar verifier: whole transfers signed by tools/dcgw-avatar (every algorithm, x5c,
 * an intermediate, a kid) and by dcgw's own signer, then one test per failure reason:
 * tampered header, tampered claims, swapped / altered chunks, truncated transfers, extra
 * chunks, expiry, nbf, iat, avatar id and owner not authorized, untrusted chains, alg
 * none and HMAC, inconsistent sizes; and the UE's request token against its DTLS
 * certificate. The clock is injected (NOW, tests/data/avatar/gen.sh). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "dcgw/avatar.h"
#include "dcgw/error.h"
#include "dcgw/jws.h"
#include "helper_keys.h"

#define AV    DCGW_TEST_DATA "/avatar/"
#define NOW   1767225600
#define OWNER "sip:alice@ims.example"

static struct dcgw_trust *trust;
static struct dcgw_avatar_grants *grants;

static void setup(void)
{
    trust = keys_trust_new(AV);
    ck_assert_int_eq(dcgw_avatar_grants_new(&grants), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(grants, OWNER, "avatar-1", "ue"), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(grants, OWNER, "avatar-2", NULL), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(grants, "sip:bob@ims.example", "avatar-9", "as"), 0);
}

static void teardown(void)
{
    dcgw_trust_unref(trust);
    dcgw_avatar_grants_free(grants);
}

static struct dcgw_avatar *verifier(const char *leg, const char *audience)
{
    struct dcgw_avatar_settings s;
    dcgw_avatar_settings_default(&s);
    s.trust = trust;
    s.grants = grants;
    s.leg = leg;
    s.audience = audience;
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    return v;
}

/* ---- what dcgw's signer makes: a manifest with knobs for every test */

struct mopts {
    const char *signer; /* key and certificate name in tests/data/avatar */
    enum dcgw_jws_alg alg;
    const char *kid; /* instead of x5c */
    const char *avatar_id, *sub, *aud, *typ;
    int64_t iat, exp, nbf; /* nbf 0: absent */
    uint64_t size_claim;   /* 0: the data's size */
    size_t chunk_size;
    int n_digests_delta; /* list fewer / more digests than chunks */
    const char *drop;    /* a claim to leave out */
};

static void mopts_default(struct mopts *o)
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
static char *sign_with(const char *key, enum dcgw_jws_alg alg, json_t *h, json_t *c)
{
    EVP_PKEY *k = keys_load_priv(AV, key);
    char *t = NULL;
    ck_assert_int_eq(dcgw_jws_sign(alg, k, h, c, &t), 0);
    EVP_PKEY_free(k);
    json_decref(h);
    json_decref(c);
    return t;
}

static char *b64url_digest(const uint8_t *p, size_t n)
{
    uint8_t md[32];
    SHA256(p, n, md);
    char *out = malloc(48);
    dcgw_b64url_encode(md, 32, out, 48);
    return out;
}

static char *make_manifest(const struct mopts *o, const uint8_t *data, size_t n)
{
    json_t *h = json_pack("{s:s}", "typ", o->typ);
    if (o->kid) {
        json_object_set_new(h, "kid", json_string(o->kid));
    } else {
        X509 *x = keys_load_cert(AV, o->signer);
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
        char *d = b64url_digest(data + off, len);
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
    return sign_with(o->kid ? "raw-eddsa" : o->signer, o->alg, h, c);
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + (i >> 8));
    return p;
}

static int put_text(struct dcgw_avatar *v, const char *t, struct dcgw_avatar_result *res)
{
    return dcgw_avatar_input(v, true, (const uint8_t *)t, strlen(t), NOW, NULL, res);
}

static int put_chunk(struct dcgw_avatar *v, const uint8_t *data, size_t n, size_t csize, size_t k,
                     struct dcgw_avatar_result *res)
{
    size_t off = k * csize, len = off + csize <= n ? csize : n - off;
    return dcgw_avatar_input(v, false, data + off, len, NOW, NULL, res);
}

/* A manifest with these options and its chunks, in order; the result of the last message
 * that went in (stops at the first refusal). */
static int transfer(struct dcgw_avatar *v, const struct mopts *o, const uint8_t *data, size_t n,
                    struct dcgw_avatar_result *res)
{
    char *t = make_manifest(o, data, n);
    int r = put_text(v, t, res);
    free(t);
    size_t count = (n + o->chunk_size - 1) / o->chunk_size;
    for (size_t k = 0; r == 0 && k < count; k++)
        r = put_chunk(v, data, n, o->chunk_size, k, res);
    return r;
}

/* A manifest alone: its result. */
static enum dcgw_avatar_reason manifest_reason(const struct mopts *o, const char *audience)
{
    struct dcgw_avatar *v = verifier("as", audience);
    uint8_t *data = pattern(2500);
    char *t = make_manifest(o, data, 2500);
    struct dcgw_avatar_result res;
    int r = put_text(v, t, &res);
    ck_assert(r == 0 || r == DCGW_EDENIED);
    ck_assert_int_eq(res.what, r == 0 ? DCGW_AVATAR_MANIFEST : DCGW_AVATAR_REJECTED);
    if (r < 0)
        ck_assert(res.detail[0] != '\0');
    free(t);
    free(data);
    dcgw_avatar_free(v);
    return r == 0 ? DCGW_AVATAR_NONE : res.reason;
}

/* ---- whole transfers */

START_TEST(envelopes_of_the_tool_pass_whole)
{
    static const char *const envs[] = {"es256", "es384",   "eddsa", "ps256",
                                       "rs256", "chained", "kid"};
    size_t an;
    uint8_t *avatar = keys_slurp(AV "avatar.bin", &an, false);
    ck_assert_uint_eq(an, 5000);
    for (int e = 0; e < 7; e++) {
        struct dcgw_avatar *v = verifier("as", "dcgw");
        char path[512];
        size_t n;
        snprintf(path, sizeof(path), AV "env-%s/manifest.jws", envs[e]);
        uint8_t *m = keys_slurp(path, &n, true);
        struct dcgw_avatar_result res;
        int r = dcgw_avatar_input(v, true, m, n, NOW, NULL, &res);
        ck_assert_msg(r == 0, "%s: %s", envs[e], res.detail);
        ck_assert_int_eq(res.what, DCGW_AVATAR_MANIFEST);
        ck_assert_str_eq(res.avatar_id, "avatar-1");
        ck_assert_str_eq(res.owner, OWNER);
        ck_assert_uint_eq(res.chunks, 3);
        ck_assert_uint_eq(res.size, 5000);
        ck_assert(strstr(res.signer, e == 6 ? "kid:bar-key-1" : "CN=avatar signer") != NULL);
        ck_assert(dcgw_avatar_in_transfer(v));
        size_t off = 0;
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof(path), AV "env-%s/chunk-%05d.bin", envs[e], k);
            uint8_t *c = keys_slurp(path, &n, false);
            ck_assert(memcmp(c, avatar + off, n) == 0); /* the chunks are the file, cut */
            off += n;
            r = dcgw_avatar_input(v, false, c, n, NOW, NULL, &res);
            ck_assert_msg(r == 0, "%s chunk %d: %s", envs[e], k, res.detail);
            ck_assert_int_eq(res.what, k < 2 ? DCGW_AVATAR_CHUNK : DCGW_AVATAR_COMPLETE);
            ck_assert_uint_eq(res.chunk, (unsigned)k);
            ck_assert_str_eq(res.avatar_id, "avatar-1");
            free(c);
        }
        ck_assert_uint_eq(off, an);
        ck_assert(!dcgw_avatar_in_transfer(v));
        const struct dcgw_avatar_stats *st = dcgw_avatar_stats(v);
        ck_assert_uint_eq(st->manifests, 1);
        ck_assert_uint_eq(st->chunks, 3);
        ck_assert_uint_eq(st->bytes, 5000);
        ck_assert_uint_eq(st->transfers, 1);
        ck_assert_uint_eq(st->rejected, 0);
        /* the end of the channel after a whole transfer is no failure */
        ck_assert_int_eq(dcgw_avatar_end(v, &res), 0);
        ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
        free(m);
        dcgw_avatar_free(v);
    }
    free(avatar);
}
END_TEST

START_TEST(dcgw_signed_every_alg_and_back_to_back)
{
    static const char *const signers[] = {"es256", "es384", "eddsa", "ps256", "rs256"};
    static const enum dcgw_jws_alg algs[] = {DCGW_JWS_ES256, DCGW_JWS_ES384, DCGW_JWS_EDDSA,
                                             DCGW_JWS_PS256, DCGW_JWS_RS256};
    struct dcgw_avatar *v = verifier("as", NULL);
    uint8_t *data = pattern(10000);
    struct dcgw_avatar_result res;
    for (int i = 0; i < 5; i++) {
        struct mopts o;
        mopts_default(&o);
        o.signer = signers[i];
        o.alg = algs[i];
        o.chunk_size = 3000 + (size_t)i; /* last chunk shorter */
        int r = transfer(v, &o, data, 10000, &res);
        ck_assert_msg(r == 0, "%s: %s", signers[i], res.detail);
        ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    }
    /* a kid-named raw key; a one-chunk avatar; an exact multiple of the chunk size */
    struct mopts o;
    mopts_default(&o);
    o.kid = "bar-key-1";
    o.alg = DCGW_JWS_EDDSA;
    ck_assert_int_eq(transfer(v, &o, data, 10000, &res), 0);
    o.chunk_size = 10000;
    ck_assert_int_eq(transfer(v, &o, data, 10000, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_uint_eq(res.chunk, 0);
    o.chunk_size = 2500;
    ck_assert_int_eq(transfer(v, &o, data, 10000, &res), 0);
    ck_assert_uint_eq(dcgw_avatar_stats(v)->transfers, 8);
    free(data);
    dcgw_avatar_free(v);
}
END_TEST

START_TEST(multi_megabyte_transfer)
{
    size_t n = 6u << 20, cs = 64u << 10;
    uint8_t *data = pattern(n);
    struct dcgw_avatar *v = verifier("as", NULL);
    struct mopts o;
    mopts_default(&o);
    o.chunk_size = cs;
    struct dcgw_avatar_result res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(transfer(v, &o, data, n, &res), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_uint_eq(res.chunk, 95);
    ck_assert_uint_eq(dcgw_avatar_stats(v)->bytes, n);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    fprintf(stderr, "# verified %zu MiB in %.1f ms (%.0f MB/s, manifest signing included)\n",
            n >> 20, s * 1e3, (double)n / s / 1e6);
    free(data);
    dcgw_avatar_free(v);
}
END_TEST

/* ---- each failure reason */

/* Swaps one character of one part ("h" header, "p" payload) for another base64url one. */
static void tamper(char *t, char part, const char *from, const char *to)
{
    char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
    size_t a = part == 'h' ? 0 : (size_t)(d1 + 1 - t),
           z = part == 'h' ? (size_t)(d1 - t) : (size_t)(d2 - t);
    uint8_t dec[1 << 16];
    int n = dcgw_b64url_decode(t + a, z - a, dec, sizeof(dec));
    ck_assert_int_gt(n, 0);
    char *hit = memmem(dec, (size_t)n, from, strlen(from));
    ck_assert_ptr_nonnull(hit);
    ck_assert_uint_eq(strlen(from), strlen(to));
    memcpy(hit, to, strlen(to));
    char enc[1 << 17];
    int m = dcgw_b64url_encode(dec, (size_t)n, enc, sizeof(enc));
    ck_assert_int_eq(m, (int)(z - a));
    memcpy(t + a, enc, (size_t)m);
}

START_TEST(tampered_header_and_claims)
{
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    struct dcgw_avatar_result res;
    static const struct {
        char part;
        const char *from, *to;
    } cases[] = {
        {'h', "avatar-manifest", "Avatar-Manifest"}, /* still a manifest typ: the bytes changed */
        {'p', "avatar-1", "avatar-2"},               /* an id that is authorized too */
        {'p', "\"size\":2500", "\"size\":2400"},
        {'p', OWNER, "sip:malice@ims.exampl"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int e = 0; e < 2; e++) { /* x5c with ES256, kid with EdDSA */
            o.kid = e ? "bar-key-1" : NULL;
            o.alg = e ? DCGW_JWS_EDDSA : DCGW_JWS_ES256;
            char *t = make_manifest(&o, data, 2500);
            tamper(t, cases[i].part, cases[i].from, cases[i].to);
            struct dcgw_avatar *v = verifier("as", NULL);
            ck_assert_int_eq(put_text(v, t, &res), DCGW_EDENIED);
            ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE, "case %zu: %s", i,
                          dcgw_avatar_reason_name(res.reason));
            /* nothing after: not the chunks, not a fresh valid manifest */
            ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), DCGW_ECLOSED);
            ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
            free(t);
            o.kid = NULL;
            o.alg = DCGW_JWS_ES256;
            t = make_manifest(&o, data, 2500);
            ck_assert_int_eq(put_text(v, t, &res), DCGW_ECLOSED);
            ck_assert_uint_eq(dcgw_avatar_stats(v)->refused_after, 2);
            ck_assert(dcgw_avatar_rejected(v));
            free(t);
            dcgw_avatar_free(v);
        }
    }
    /* a signature from another trusted signer under a header naming the first */
    o.kid = NULL;
    char *t = make_manifest(&o, data, 2500);
    o.signer = "es384";
    o.alg = DCGW_JWS_ES384;
    char *u = make_manifest(&o, data, 2500);
    strcpy(strrchr(t, '.') + 1, strrchr(u, '.') + 1);
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    struct dcgw_avatar *v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, t, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    dcgw_avatar_free(v);
    free(t);
    free(u);
    free(data);
}
END_TEST

START_TEST(chunks_swapped_altered_truncated_extra)
{
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    char *m = make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    /* swapped: chunk 1 where chunk 0 belongs (same length) */
    struct dcgw_avatar *v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 1, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 0);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), DCGW_ECLOSED);
    ck_assert(!dcgw_avatar_in_transfer(v));
    dcgw_avatar_free(v);
    /* altered: one bit of chunk 1 after chunk 0 passed */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
    data[1500] ^= 0x10;
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 1, &res), DCGW_EDENIED);
    data[1500] ^= 0x10;
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert(strstr(res.detail, "chunk 1") != NULL);
    ck_assert_uint_eq(dcgw_avatar_stats(v)->chunks, 1);
    dcgw_avatar_free(v);
    /* truncated: the channel ends after chunk 0 */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_end(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 3);
    dcgw_avatar_free(v);
    /* truncated: a new manifest comes before the last chunk */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 1, &res), 0);
    ck_assert_int_eq(put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert_uint_eq(res.chunk, 2);
    dcgw_avatar_free(v);
    /* a short last chunk, and a long one */
    for (int d = -1; d <= 1; d += 2) {
        v = verifier("as", NULL);
        ck_assert_int_eq(put_text(v, m, &res), 0);
        ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
        ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 1, &res), 0);
        ck_assert_int_eq(
            dcgw_avatar_input(v, false, data + 2000, (size_t)(500 + d), NOW, NULL, &res),
            DCGW_EDENIED);
        ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
        dcgw_avatar_free(v);
    }
    /* an extra chunk after the last */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(put_chunk(v, data, 2500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 2, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    dcgw_avatar_free(v);
    /* a chunk as a text message; a chunk without a manifest */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, data, 1000, NOW, NULL, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    dcgw_avatar_free(v);
    v = verifier("as", NULL);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
    dcgw_avatar_free(v);
    free(m);
    free(data);
}
END_TEST

START_TEST(claims_in_force)
{
    struct mopts o;
    mopts_default(&o);
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.exp = NOW - 61; /* past the 60 s leeway */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_EXPIRED);
    o.exp = NOW - 60; /* exp + skew == now: "on or after" */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_EXPIRED);
    o.exp = NOW - 59;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.exp = NOW + 3600;
    o.nbf = NOW + 3600; /* future nbf */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_YET_VALID);
    o.nbf = NOW + 60;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.nbf = NOW - 100;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.nbf = 0;
    o.iat = NOW + 600; /* issued in the future */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_YET_VALID);
    o.iat = NOW - 10;
    static const char *const required[] = {"exp", "iat",  "avatar_id",  "iss",   "sub",
                                           "cty", "size", "chunk_size", "chunks"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        o.drop = required[i];
        ck_assert_msg(manifest_reason(&o, NULL) == DCGW_AVATAR_MALFORMED, "%s", required[i]);
    }
    o.drop = NULL;
    /* aud: optional in a manifest; when present and an audience is configured, named */
    ck_assert_int_eq(manifest_reason(&o, "dcgw"), DCGW_AVATAR_NONE);
    o.aud = "dcgw";
    ck_assert_int_eq(manifest_reason(&o, "dcgw"), DCGW_AVATAR_NONE);
    o.aud = "someone-else";
    ck_assert_int_eq(manifest_reason(&o, "dcgw"), DCGW_AVATAR_NOT_AUTHORIZED);
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
}
END_TEST

START_TEST(authorization_of_id_and_owner)
{
    struct mopts o;
    mopts_default(&o);
    o.avatar_id = "avatar-3"; /* wrong avatar id */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.avatar_id = "avatar-9"; /* bob's, not alice's: wrong owner */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.sub = "sip:bob@ims.example";
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.avatar_id = "avatar-1"; /* alice's id with bob as the owner */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.sub = "SIP:alice@ims.example"; /* identities compare exactly */
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    /* a leg binding is for request tokens: manifests about alice come from any leg */
    o.sub = OWNER;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    /* no grants at all: nothing passes */
    struct dcgw_avatar_grants *g = grants;
    ck_assert_int_eq(dcgw_avatar_grants_new(&grants), 0);
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_grants_free(grants);
    grants = g;
}
END_TEST

START_TEST(signers_not_trusted)
{
    struct mopts o;
    mopts_default(&o);
    static const char *const bad[] = {"rogue", "expired", "nodigsig", "rsa1024", "ue"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.signer = bad[i];
        o.alg = strcmp(bad[i], "rsa1024") == 0 ? DCGW_JWS_RS256 : DCGW_JWS_ES256;
        if (o.alg == DCGW_JWS_RS256)
            continue; /* dcgw's signer refuses the weak key; the raw-key case is below */
        ck_assert_msg(manifest_reason(&o, NULL) == DCGW_AVATAR_UNTRUSTED_SIGNER, "%s", bad[i]);
    }
    /* an unknown kid; no x5c and no kid; the weak RSA key under a trusted kid */
    o.signer = "es256";
    o.kid = "bar-key-404";
    o.alg = DCGW_JWS_EDDSA;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_UNTRUSTED_SIGNER);
    uint8_t *data = pattern(100);
    EVP_PKEY *weak = keys_load_priv(AV, "rsa1024");
    for (int w = 0; w < 2; w++) {
        json_t *h = json_pack("{s:s}", "typ", DCGW_AVATAR_TYP_MANIFEST);
        if (w)
            json_object_set_new(h, "kid", json_string("weak-rsa"));
        json_t *c = json_pack("{s:s}", "avatar_id", "avatar-1");
        char *t = NULL;
        EVP_PKEY *k = w ? weak : keys_load_priv(AV, "es256");
        /* dcgw_jws_sign refuses weak keys: sign with the floor lowered through fits */
        if (w) {
            ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_RS256, k, h, c, &t), DCGW_EINVAL);
            /* a hand-made signature with the same key: RS256 over the signing input */
            json_object_set_new(h, "alg", json_string("RS256"));
            char *hs = json_dumps(h, JSON_COMPACT), *cs = json_dumps(c, JSON_COMPACT);
            char buf[4096];
            int a = dcgw_b64url_encode((uint8_t *)hs, strlen(hs), buf, sizeof(buf));
            buf[a++] = '.';
            a += dcgw_b64url_encode((uint8_t *)cs, strlen(cs), buf + a, sizeof(buf) - (size_t)a);
            EVP_MD_CTX *mc = EVP_MD_CTX_new();
            uint8_t sig[512];
            size_t sl = sizeof(sig);
            ck_assert_int_eq(EVP_DigestSignInit(mc, NULL, EVP_sha256(), NULL, k), 1);
            ck_assert_int_eq(EVP_DigestSign(mc, sig, &sl, (uint8_t *)buf, (size_t)a), 1);
            EVP_MD_CTX_free(mc);
            buf[a++] = '.';
            dcgw_b64url_encode(sig, sl, buf + a, sizeof(buf) - (size_t)a);
            t = strdup(buf);
            free(hs);
            free(cs);
        } else {
            ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_ES256, k, h, c, &t), 0);
            EVP_PKEY_free(k);
        }
        struct dcgw_avatar *v = verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(put_text(v, t, &res), DCGW_EDENIED);
        ck_assert_msg(res.reason == DCGW_AVATAR_UNTRUSTED_SIGNER, "%d: %s", w, res.detail);
        dcgw_avatar_free(v);
        free(t);
        json_decref(h);
        json_decref(c);
    }
    EVP_PKEY_free(weak);
    free(data);
}
END_TEST

START_TEST(alg_none_hmac_and_malformed)
{
    /* alg none and HS256 around real claims: refused before anything is believed */
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    char *good = make_manifest(&o, data, 2500);
    char *dot = strchr(good, '.');
    static const char *const headers[] = {"{\"alg\":\"none\",\"typ\":\"avatar-manifest+jwt\"}",
                                          "{\"alg\":\"HS256\",\"typ\":\"avatar-manifest+jwt\"}",
                                          "{\"alg\":\"ES256K\",\"typ\":\"avatar-manifest+jwt\"}"};
    for (int i = 0; i < 3; i++) {
        char buf[1 << 14];
        int a =
            dcgw_b64url_encode((const uint8_t *)headers[i], strlen(headers[i]), buf, sizeof(buf));
        snprintf(buf + a, sizeof(buf) - (size_t)a, "%.*s%s", (int)(strrchr(good, '.') - dot + 1),
                 dot, i == 0 ? "" : "c2lnbmF0dXJl");
        struct dcgw_avatar *v = verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(put_text(v, buf, &res), DCGW_EDENIED);
        ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE, "%s: %s", headers[i], res.detail);
        ck_assert(strstr(res.detail, "not accepted") != NULL);
        dcgw_avatar_free(v);
    }
    free(good);
    /* typ: neither manifest nor request; "application/" prefix and case are fine */
    o.typ = "JWT";
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_MALFORMED);
    o.typ = "application/Avatar-Manifest+JWT";
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.typ = DCGW_AVATAR_TYP_MANIFEST;
    /* sizes: listed digests disagree; over the maximum; a digest that is not 32 bytes */
    o.n_digests_delta = -1;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.n_digests_delta = 1;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.n_digests_delta = 0;
    o.size_claim = 3001;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.size_claim = (uint64_t)DCGW_AVATAR_MAX_SIZE_DEFAULT + 1;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_TOO_LARGE);
    o.size_claim = 0;
    o.chunk_size = DCGW_AVATAR_CHUNK_SIZE_DEFAULT + 1;
    ck_assert_int_eq(manifest_reason(&o, NULL), DCGW_AVATAR_TOO_LARGE);
    free(data);
    /* garbage text, empty text, a JSON object instead of a JWS */
    struct dcgw_avatar_result res;
    static const char *const junk[] = {"", "hello", "{\"avatar_id\":\"avatar-1\"}", "a.b.c"};
    for (int i = 0; i < 4; i++) {
        struct dcgw_avatar *v = verifier("as", NULL);
        ck_assert_int_eq(put_text(v, junk[i], &res), DCGW_EDENIED);
        ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
        dcgw_avatar_free(v);
    }
}
END_TEST

START_TEST(chunk_list_details)
{
    /* a digest of the wrong length or encoding inside an otherwise good manifest */
    uint8_t *data = pattern(2000);
    EVP_PKEY *k = keys_load_priv(AV, "raw-eddsa");
    for (int i = 0; i < 3; i++) {
        static const char *const bad[] = {"AAAA", "not-base64url!!", ""};
        json_t *h = json_pack("{s:s,s:s}", "typ", DCGW_AVATAR_TYP_MANIFEST, "kid", "bar-key-1");
        char *d0 = b64url_digest(data, 1000);
        json_t *c =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:i,s:i,s:[s,s]}", "avatar_id", "avatar-1", "iss",
                      "x", "sub", OWNER, "iat", (json_int_t)NOW, "exp", (json_int_t)NOW + 10, "cty",
                      "x", "size", 2000, "chunk_size", 1000, "chunks", d0, bad[i]);
        char *t;
        ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_EDDSA, k, h, c, &t), 0);
        struct dcgw_avatar *v = verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(put_text(v, t, &res), DCGW_EDENIED);
        ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
        ck_assert(strstr(res.detail, "chunks[1]") != NULL);
        dcgw_avatar_free(v);
        free(t);
        free(d0);
        json_decref(h);
        json_decref(c);
    }
    EVP_PKEY_free(k);
    free(data);
}
END_TEST

/* ---- request tokens */

static char *token(const char *key, const char *avatar_id, const char *iss, const char *aud,
                   int64_t exp)
{
    json_t *h = json_pack("{s:s}", "typ", DCGW_AVATAR_TYP_REQUEST);
    json_t *c =
        json_pack("{s:s,s:s,s:I}", "avatar_id", avatar_id, "iss", iss, "exp", (json_int_t)exp);
    if (aud)
        json_object_set_new(c, "aud", json_string(aud));
    return sign_with(key, DCGW_JWS_ES256, h, c);
}

static int req(const char *leg, const char *t, X509 *cert, struct dcgw_avatar_result *res)
{
    struct dcgw_avatar *v = verifier(leg, "dcgw");
    int r = dcgw_avatar_input(v, true, (const uint8_t *)t, strlen(t), NOW, cert, res);
    if (r == 0) { /* forwarded: the channel stays usable */
        ck_assert(!dcgw_avatar_rejected(v));
        ck_assert_uint_eq(dcgw_avatar_stats(v)->requests, 1);
    }
    dcgw_avatar_free(v);
    return r;
}

START_TEST(request_token_bound_to_dtls_key)
{
    X509 *ue = keys_load_cert(AV, "ue"), *other = keys_load_cert(AV, "ue-other");
    struct dcgw_avatar_result res;
    size_t n;
    /* the tool's token, signed with the UE's key */
    uint8_t *py = keys_slurp(AV "request.jwt", &n, true);
    py[n] = '\0';
    ck_assert_int_eq(req("ue", (char *)py, ue, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REQUEST);
    ck_assert(res.request);
    ck_assert_str_eq(res.owner, OWNER);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    /* the same token, but the UE authenticated with another certificate */
    ck_assert_int_eq(req("ue", (char *)py, other, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    ck_assert(res.request);
    /* no DTLS certificate known for the leg */
    ck_assert_int_eq(req("ue", (char *)py, NULL, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNTRUSTED_SIGNER);
    free(py);
    /* the tool's token signed with another key than the UE's DTLS key */
    py = keys_slurp(AV "request-other-key.jwt", &n, true);
    py[n] = '\0';
    ck_assert_int_eq(req("ue", (char *)py, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    free(py);
    /* the grant binds alice's requests to leg ue */
    char *t = token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), 0);
    ck_assert_int_eq(req("as", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    /* avatar-2 is granted to alice on any leg */
    t = token("ue", "avatar-2", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("as", t, ue, &res), 0);
    free(t);
    /* another user's avatar, with the UE naming that user or itself */
    t = token("ue", "avatar-9", "sip:bob@ims.example", "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    t = token("ue", "avatar-9", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    /* expired, for another audience, without aud */
    t = token("ue", "avatar-1", OWNER, "dcgw", NOW - 61);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_EXPIRED);
    free(t);
    t = token("ue", "avatar-1", OWNER, "bar", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    t = token("ue", "avatar-1", OWNER, NULL, NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
    free(t);
    X509_free(ue);
    X509_free(other);
}
END_TEST

START_TEST(request_then_transfer_on_one_direction)
{
    /* a verifier takes requests and transfers in turn; a request inside a transfer is a
     * truncation */
    X509 *ue = keys_load_cert(AV, "ue");
    struct dcgw_avatar *v = verifier("ue", "dcgw");
    struct dcgw_avatar_result res;
    char *t = token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    char *m = make_manifest(&o, data, 2500);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res), 0);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert(!res.request);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    free(t);
    free(m);
    free(data);
    dcgw_avatar_free(v);
    X509_free(ue);
}
END_TEST

START_TEST(undelivered_breaks_the_transfer)
{
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    char *m = make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    X509 *ue = keys_load_cert(AV, "ue");
    char *t = token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    /* nothing passed yet, or only a request token: nothing to reject */
    struct dcgw_avatar *v = verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res), 0);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0);
    /* a chunk of a transfer in progress was dropped downstream */
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNDELIVERED);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 3);
    ck_assert_int_eq(put_chunk(v, data, 2500, 1000, 1, &res), DCGW_ECLOSED);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0); /* once */
    dcgw_avatar_free(v);
    /* the last chunk passed, then was dropped: the whole avatar never arrived */
    v = verifier("as", NULL);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(put_chunk(v, data, 2500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNDELIVERED);
    ck_assert_uint_eq(res.chunk, 3);
    dcgw_avatar_free(v);
    free(t);
    free(m);
    free(data);
    X509_free(ue);
}
END_TEST

/* The rows of docs/avatar-envelope.md's "Expected results", exactly. */
static int doc_vector(const char *leg, const char *manifest_text, int64_t now, int first_chunk,
                      struct dcgw_avatar_result *res)
{
    size_t n;
    uint8_t *m = manifest_text ? (uint8_t *)strdup(manifest_text)
                               : keys_slurp(AV "env-kid/manifest.jws", &n, true);
    if (manifest_text)
        n = strlen(manifest_text);
    struct dcgw_avatar *v = verifier(leg, "dcgw");
    int r = dcgw_avatar_input(v, true, m, n, now, NULL, res);
    for (int k = 0; r == 0 && k < 3; k++) {
        char path[256];
        snprintf(path, sizeof(path), AV "env-kid/chunk-%05d.bin", k == 0 ? first_chunk : k);
        size_t cn;
        uint8_t *c = keys_slurp(path, &cn, false);
        r = dcgw_avatar_input(v, false, c, cn, now, NULL, res);
        free(c);
    }
    free(m);
    dcgw_avatar_free(v);
    return r;
}

START_TEST(documented_vectors)
{
    struct dcgw_avatar_result res;
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 0, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.signer, "kid:bar-key-1");
    ck_assert_uint_eq(res.size, 5000);
    ck_assert_int_eq(doc_vector("as", NULL, 2082582059, 0, &res), 0);
    ck_assert_int_eq(doc_vector("as", NULL, 2082582060, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_EXPIRED);
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 1, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 0);
    size_t n;
    char *t = (char *)keys_slurp(AV "env-kid/manifest.jws", &n, true);
    t[n] = '\0';
    char *none = malloc(n + 96);
    static const char none_h[] = "{\"alg\":\"none\",\"typ\":\"avatar-manifest+jwt\"}";
    int a = dcgw_b64url_encode((const uint8_t *)none_h, sizeof(none_h) - 1, none, 96);
    snprintf(none + a, n + 96 - (size_t)a, "%s", strchr(t, '.'));
    ck_assert_int_eq(doc_vector("as", none, NOW, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    for (size_t i = 0; i < n; i += 37) { /* any byte of header or claims */
        if (t[i] == '.' || &t[i] > strrchr(t, '.'))
            continue;
        char *u = strdup(t);
        u[i] = u[i] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(doc_vector("as", u, NOW, 0, &res), DCGW_EDENIED);
        ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE ||
                          res.reason == DCGW_AVATAR_MALFORMED,
                      "byte %zu: %s", i, dcgw_avatar_reason_name(res.reason));
        free(u);
    }
    struct dcgw_avatar_grants *g = grants;
    ck_assert_int_eq(dcgw_avatar_grants_new(&grants), 0);
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_grants_free(grants);
    grants = g;
    /* the request token's rows */
    X509 *ue = keys_load_cert(AV, "ue"), *other = keys_load_cert(AV, "ue-other");
    char *rq = (char *)keys_slurp(AV "request.jwt", &n, true);
    rq[n] = '\0';
    static const struct {
        const char *leg;
        int64_t now;
        bool other;
        enum dcgw_avatar_reason want;
    } rows[] = {{"ue", NOW, false, DCGW_AVATAR_NONE},
                {"ue", NOW, true, DCGW_AVATAR_BAD_SIGNATURE},
                {"as", NOW, false, DCGW_AVATAR_NOT_AUTHORIZED},
                {"ue", 1767225959, false, DCGW_AVATAR_NONE},
                {"ue", 1767225960, false, DCGW_AVATAR_EXPIRED}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct dcgw_avatar *v = verifier(rows[i].leg, "dcgw");
        int r = dcgw_avatar_input(v, true, (uint8_t *)rq, n, rows[i].now,
                                  rows[i].other ? other : ue, &res);
        ck_assert_msg(r == 0 ? rows[i].want == DCGW_AVATAR_NONE : res.reason == rows[i].want,
                      "row %zu: %s", i, res.detail);
        dcgw_avatar_free(v);
    }
    free(rq);
    free(none);
    free(t);
    X509_free(ue);
    X509_free(other);
}
END_TEST

/* ---- settings and grants */

START_TEST(settings_and_grants)
{
    struct dcgw_avatar_settings s;
    struct dcgw_avatar *v;
    dcgw_avatar_settings_default(&s);
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL); /* no trust, no grants */
    s.trust = trust;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.grants = grants;
    s.max_chunks = DCGW_AVATAR_CHUNKS_CEILING + 1;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.max_chunks = 2;
    s.leg = "a-leg-name-that-is-far-too-long-to-keep";
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.leg = "as";
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    /* the chunk-count limit */
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    char *m = make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    ck_assert_int_eq(put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TOO_LARGE);
    ck_assert_uint_eq(res.chunks, 3);
    free(m);
    free(data);
    dcgw_avatar_free(v);
    dcgw_avatar_free(NULL);

    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "", "x", NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", "", NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, NULL, "x", NULL), DCGW_EINVAL);
    char longid[DCGW_AVATAR_ID_MAX + 2];
    memset(longid, 'i', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", longid, NULL), DCGW_EINVAL);
    for (int i = 0; i < DCGW_AVATAR_GRANTS_MAX; i++) {
        char id[16];
        snprintf(id, sizeof(id), "id-%d", i);
        ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", id, i % 2 ? "ue" : ""), 0);
    }
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", "one-more", NULL), DCGW_ELIMIT);
    ck_assert_uint_eq(dcgw_avatar_grants_count(g), DCGW_AVATAR_GRANTS_MAX);
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-7", "ue"));
    ck_assert(!dcgw_avatar_grants_allow(g, "o", "id-7", "as"));
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-7", NULL));
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-8", "as"));
    ck_assert(!dcgw_avatar_grants_allow(g, "p", "id-8", NULL));
    ck_assert(!dcgw_avatar_grants_allow(g, "o", "id-4096", NULL));
    dcgw_avatar_grants_free(g);
    ck_assert_str_eq(dcgw_avatar_reason_name(DCGW_AVATAR_DIGEST_MISMATCH), "digest mismatch");
    ck_assert_str_eq(dcgw_avatar_reason_name((enum dcgw_avatar_reason)99), "?");
}
END_TEST

/* ---- the controller replaces grants, anchors and audience (UpdateSession.avatar) */

/* A verifier on leg `leg` that borrows g (instead of the fixture's grants). */
static struct dcgw_avatar *verifier_with(const char *leg, const struct dcgw_avatar_grants *g)
{
    struct dcgw_avatar_settings s;
    dcgw_avatar_settings_default(&s);
    s.trust = trust;
    s.grants = g;
    s.leg = leg;
    s.audience = "dcgw";
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    return v;
}

START_TEST(authority_replaced_for_later_manifests)
{
    uint8_t *data = pattern(2500);
    struct mopts o;
    mopts_default(&o);
    o.avatar_id = "avatar-5";
    struct dcgw_avatar_result res;
    /* avatar-5 is not granted: refused */
    struct dcgw_avatar *v = verifier("as", "dcgw");
    ck_assert_int_eq(transfer(v, &o, data, 2500, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* a verifier that lives through the update: granted now, the old grants gone */
    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, OWNER, "avatar-5", NULL), 0);
    v = verifier("as", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, g, "dcgw"), 0);
    ck_assert_int_eq(transfer(v, &o, data, 2500, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.avatar_id, "avatar-5");
    o.avatar_id = "avatar-1";
    ck_assert_int_eq(transfer(v, &o, data, 2500, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* bad arguments change nothing */
    v = verifier("as", "dcgw");
    char aud[DCGW_AVATAR_IDENTITY_MAX + 2];
    memset(aud, 'a', sizeof(aud) - 1);
    aud[sizeof(aud) - 1] = '\0';
    ck_assert_int_eq(dcgw_avatar_set_authority(v, NULL, g, NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, NULL, NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, g, aud), DCGW_EINVAL);
    ck_assert_int_eq(transfer(v, &o, data, 2500, &res), 0); /* avatar-1: still the fixture's */
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    dcgw_avatar_free(v);
    dcgw_avatar_grants_free(g);
    free(data);
}
END_TEST

START_TEST(transfer_in_progress_keeps_its_grant)
{
    uint8_t *data = pattern(3500);
    struct mopts o;
    mopts_default(&o);
    struct dcgw_avatar_grants *old, *none;
    ck_assert_int_eq(dcgw_avatar_grants_new(&old), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(old, OWNER, "avatar-1", NULL), 0);
    ck_assert_int_eq(dcgw_avatar_grants_new(&none), 0);
    struct dcgw_avatar *v = verifier_with("as", old);
    char *m = make_manifest(&o, data, 3500);
    struct dcgw_avatar_result res;
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_int_eq(put_chunk(v, data, 3500, 1000, 0, &res), 0);
    /* every grant revoked and an empty trust store mid-transfer; the old grants freed at
     * once (the verifier must not borrow them any more) */
    struct dcgw_trust *empty;
    ck_assert_int_eq(dcgw_trust_new(&empty), 0);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, empty, none, NULL), 0);
    dcgw_trust_unref(empty); /* the verifier holds its own reference */
    dcgw_avatar_grants_free(old);
    for (size_t k = 1; k < 4; k++)
        ck_assert_int_eq(put_chunk(v, data, 3500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    /* the next manifest meets the new set: the signer is no longer trusted */
    ck_assert_int_eq(put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNTRUSTED_SIGNER);
    dcgw_avatar_free(v);
    /* grants revoked, trust kept: not authorized */
    v = verifier("as", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, none, "dcgw"), 0);
    ck_assert_int_eq(put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    dcgw_avatar_grants_free(none);
    free(m);
    free(data);
}
END_TEST

START_TEST(request_tokens_meet_the_new_grants)
{
    X509 *ue = keys_load_cert(AV, "ue");
    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, OWNER, "avatar-5", "ue"), 0);
    char *t5 = token("ue", "avatar-5", OWNER, "dcgw", NOW + 300);
    char *t1 = token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    struct dcgw_avatar_result res;
    struct dcgw_avatar *v = verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t1, strlen(t1), NOW, ue, &res), 0);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, g, "dcgw"), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t5, strlen(t5), NOW, ue, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REQUEST);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t1, strlen(t1), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* the audience is replaced too */
    v = verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, trust, g, "another-mf"), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t5, strlen(t5), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    ck_assert(strstr(res.detail, "another-mf") != NULL);
    dcgw_avatar_free(v);
    free(t1);
    free(t5);
    dcgw_avatar_grants_free(g);
    X509_free(ue);
}
END_TEST

/* ---- transfer deadline (transfer_timeout_ms), with an injected monotonic clock */

START_TEST(transfer_deadline)
{
    uint8_t *data = pattern(3500);
    struct mopts o;
    mopts_default(&o);
    char *m = make_manifest(&o, data, 3500);
    struct dcgw_avatar_settings set;
    dcgw_avatar_settings_default(&set);
    ck_assert_uint_eq(set.transfer_timeout_ms, DCGW_AVATAR_TRANSFER_TIMEOUT_DEFAULT_MS);
    set.trust = trust;
    set.grants = grants;
    set.leg = "as";
    set.transfer_timeout_ms = 5000;
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    struct dcgw_avatar_result res;
    const uint64_t t0 = 1000000;
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), t0 + 5000);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data, 1000, NOW, t0 + 100, NULL, &res), 0);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 4999, &res), 0); /* not yet */
    ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
    ck_assert(dcgw_avatar_in_transfer(v));
    /* the sender stops: at the deadline the transfer fails, with its identity */
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 5000, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REJECTED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TIMEOUT);
    ck_assert_str_eq(dcgw_avatar_reason_name(res.reason), "timeout");
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 4);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert(strstr(res.detail, "1 of 4 chunks") != NULL);
    ck_assert(dcgw_avatar_rejected(v));
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 9000, &res), 0); /* reported once */
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data + 1000, 1000, NOW, t0 + 9000, NULL, &res),
                     DCGW_ECLOSED);
    dcgw_avatar_free(v);

    /* a chunk that comes after the deadline, before the timer fired: refused as late */
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data, 1000, NOW, t0 + 5000, NULL, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TIMEOUT);
    ck_assert_uint_eq(res.chunk, 0);
    dcgw_avatar_free(v);

    /* in time: the deadline goes with the transfer, the next one gets its own */
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    for (int round = 0; round < 2; round++) {
        uint64_t t = t0 + (uint64_t)round * 20000;
        ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t, NULL, &res),
                         0);
        ck_assert_uint_eq(dcgw_avatar_next_timeout(v), t + 5000);
        for (size_t k = 0; k < 4; k++) {
            size_t len = k < 3 ? 1000 : 500;
            ck_assert_int_eq(
                dcgw_avatar_input_ms(v, false, data + k * 1000, len, NOW, t + 4999, NULL, &res), 0);
        }
        ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
        ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
        ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t + 99999, &res), 0);
    }
    ck_assert_uint_eq(dcgw_avatar_stats(v)->transfers, 2);
    dcgw_avatar_free(v);

    /* 0: no limit; without a monotonic clock (dcgw_avatar_input) no deadline either */
    set.transfer_timeout_ms = 0;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, UINT64_MAX - 1, &res), 0);
    dcgw_avatar_free(v);
    set.transfer_timeout_ms = 5000;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(put_text(v, m, &res), 0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert(dcgw_avatar_in_transfer(v));
    dcgw_avatar_free(v);
    set.transfer_timeout_ms = DCGW_AVATAR_TRANSFER_TIMEOUT_MAX_MS + 1;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), DCGW_EINVAL);
    free(m);
    free(data);
}
END_TEST

Suite *avatar_suite(void)
{
    Suite *s = suite_create("avatar");
    TCase *tc = tcase_create("transfers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, envelopes_of_the_tool_pass_whole);
    tcase_add_test(tc, dcgw_signed_every_alg_and_back_to_back);
    tcase_add_test(tc, multi_megabyte_transfer);
    suite_add_tcase(s, tc);
    tc = tcase_create("rejections");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tampered_header_and_claims);
    tcase_add_test(tc, chunks_swapped_altered_truncated_extra);
    tcase_add_test(tc, claims_in_force);
    tcase_add_test(tc, authorization_of_id_and_owner);
    tcase_add_test(tc, signers_not_trusted);
    tcase_add_test(tc, alg_none_hmac_and_malformed);
    tcase_add_test(tc, chunk_list_details);
    suite_add_tcase(s, tc);
    tc = tcase_create("requests");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, request_token_bound_to_dtls_key);
    tcase_add_test(tc, request_then_transfer_on_one_direction);
    tcase_add_test(tc, undelivered_breaks_the_transfer);
    tcase_add_test(tc, documented_vectors);
    suite_add_tcase(s, tc);
    tc = tcase_create("settings");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, settings_and_grants);
    suite_add_tcase(s, tc);
    tc = tcase_create("authority");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, authority_replaced_for_later_manifests);
    tcase_add_test(tc, transfer_in_progress_keeps_its_grant);
    tcase_add_test(tc, request_tokens_meet_the_new_grants);
    suite_add_tcase(s, tc);
    tc = tcase_create("deadline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, transfer_deadline);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(avatar_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
