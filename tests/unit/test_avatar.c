/* The avatar verifier: whole transfers signed by tools/dcgw-avatar (every algorithm, x5c,
 * an intermediate, a kid) and by dcgw's own signer, then one test per failure reason:
 * tampered header, tampered claims, swapped / altered chunks, truncated transfers, extra
 * chunks, expiry, nbf, iat, avatar id and owner not authorized, untrusted chains, alg
 * none and HMAC, inconsistent sizes; and the UE's request token against its DTLS
 * certificate (test_avatar_requests.c); settings, grants replaced by the controller and the
 * transfer deadline (test_avatar_authority.c). The clock is injected (NOW,
 * tests/data/avatar/gen.sh); the fixtures are in helper_avatar.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/guard/avatar.h"
#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "helper_avatar.h"
#include "helper_keys.h"
#include "helper_suite.h"

/* ---- whole transfers */

START_TEST(envelopes_of_the_tool_pass_whole)
{
    static const char *const envs[] = {"es256", "es384",   "eddsa", "ps256",
                                       "rs256", "chained", "kid"};
    size_t an;
    uint8_t *avatar = keys_slurp(AV "avatar.bin", &an, false);
    ck_assert_uint_eq(an, 5000);
    for (int e = 0; e < 7; e++) {
        struct dcgw_avatar *v = av_verifier("as", "dcgw");
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
    struct dcgw_avatar *v = av_verifier("as", NULL);
    uint8_t *data = av_pattern(10000);
    struct dcgw_avatar_result res;
    for (int i = 0; i < 5; i++) {
        struct av_mopts o;
        av_mopts_default(&o);
        o.signer = signers[i];
        o.alg = algs[i];
        o.chunk_size = 3000 + (size_t)i; /* last chunk shorter */
        int r = av_transfer(v, &o, data, 10000, &res);
        ck_assert_msg(r == 0, "%s: %s", signers[i], res.detail);
        ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    }
    /* a kid-named raw key; a one-chunk avatar; an exact multiple of the chunk size */
    struct av_mopts o;
    av_mopts_default(&o);
    o.kid = "bar-key-1";
    o.alg = DCGW_JWS_EDDSA;
    ck_assert_int_eq(av_transfer(v, &o, data, 10000, &res), 0);
    o.chunk_size = 10000;
    ck_assert_int_eq(av_transfer(v, &o, data, 10000, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_uint_eq(res.chunk, 0);
    o.chunk_size = 2500;
    ck_assert_int_eq(av_transfer(v, &o, data, 10000, &res), 0);
    ck_assert_uint_eq(dcgw_avatar_stats(v)->transfers, 8);
    free(data);
    dcgw_avatar_free(v);
}
END_TEST

START_TEST(multi_megabyte_transfer)
{
    size_t n = 6u << 20, cs = 64u << 10;
    uint8_t *data = av_pattern(n);
    struct dcgw_avatar *v = av_verifier("as", NULL);
    struct av_mopts o;
    av_mopts_default(&o);
    o.chunk_size = cs;
    struct dcgw_avatar_result res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(av_transfer(v, &o, data, n, &res), 0);
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
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
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
            char *t = av_make_manifest(&o, data, 2500);
            tamper(t, cases[i].part, cases[i].from, cases[i].to);
            struct dcgw_avatar *v = av_verifier("as", NULL);
            ck_assert_int_eq(av_put_text(v, t, &res), DCGW_EDENIED);
            ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE, "case %zu: %s", i,
                          dcgw_avatar_reason_name(res.reason));
            /* nothing after: not the chunks, not a fresh valid manifest */
            ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), DCGW_ECLOSED);
            ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
            free(t);
            o.kid = NULL;
            o.alg = DCGW_JWS_ES256;
            t = av_make_manifest(&o, data, 2500);
            ck_assert_int_eq(av_put_text(v, t, &res), DCGW_ECLOSED);
            ck_assert_uint_eq(dcgw_avatar_stats(v)->refused_after, 2);
            ck_assert(dcgw_avatar_rejected(v));
            free(t);
            dcgw_avatar_free(v);
        }
    }
    /* a signature from another trusted signer under a header naming the first */
    o.kid = NULL;
    char *t = av_make_manifest(&o, data, 2500);
    o.signer = "es384";
    o.alg = DCGW_JWS_ES384;
    char *u = av_make_manifest(&o, data, 2500);
    strcpy(strrchr(t, '.') + 1, strrchr(u, '.') + 1);
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    struct dcgw_avatar *v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, t, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    dcgw_avatar_free(v);
    free(t);
    free(u);
    free(data);
}
END_TEST

START_TEST(chunks_swapped_altered_truncated_extra)
{
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *m = av_make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    /* swapped: chunk 1 where chunk 0 belongs (same length) */
    struct dcgw_avatar *v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 1, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 0);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), DCGW_ECLOSED);
    ck_assert(!dcgw_avatar_in_transfer(v));
    dcgw_avatar_free(v);
    /* altered: one bit of chunk 1 after chunk 0 passed */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
    data[1500] ^= 0x10;
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 1, &res), DCGW_EDENIED);
    data[1500] ^= 0x10;
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert(strstr(res.detail, "chunk 1") != NULL);
    ck_assert_uint_eq(dcgw_avatar_stats(v)->chunks, 1);
    dcgw_avatar_free(v);
    /* truncated: the channel ends after chunk 0 */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_end(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 3);
    dcgw_avatar_free(v);
    /* truncated: a new manifest comes before the last chunk */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 1, &res), 0);
    ck_assert_int_eq(av_put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert_uint_eq(res.chunk, 2);
    dcgw_avatar_free(v);
    /* a short last chunk, and a long one */
    for (int d = -1; d <= 1; d += 2) {
        v = av_verifier("as", NULL);
        ck_assert_int_eq(av_put_text(v, m, &res), 0);
        ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
        ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 1, &res), 0);
        ck_assert_int_eq(
            dcgw_avatar_input(v, false, data + 2000, (size_t)(500 + d), NOW, NULL, &res),
            DCGW_EDENIED);
        ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
        dcgw_avatar_free(v);
    }
    /* an extra chunk after the last */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 2, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    dcgw_avatar_free(v);
    /* a chunk as a text message; a chunk without a manifest */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, data, 1000, NOW, NULL, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    dcgw_avatar_free(v);
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
    dcgw_avatar_free(v);
    free(m);
    free(data);
}
END_TEST

START_TEST(claims_in_force)
{
    struct av_mopts o;
    av_mopts_default(&o);
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.exp = NOW - 61; /* past the 60 s leeway */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_EXPIRED);
    o.exp = NOW - 60; /* exp + skew == now: "on or after" */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_EXPIRED);
    o.exp = NOW - 59;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.exp = NOW + 3600;
    o.nbf = NOW + 3600; /* future nbf */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_YET_VALID);
    o.nbf = NOW + 60;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.nbf = NOW - 100;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.nbf = 0;
    o.iat = NOW + 600; /* issued in the future */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_YET_VALID);
    o.iat = NOW - 10;
    static const char *const required[] = {"exp", "iat",  "avatar_id",  "iss",   "sub",
                                           "cty", "size", "chunk_size", "chunks"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        o.drop = required[i];
        ck_assert_msg(av_manifest_reason(&o, NULL) == DCGW_AVATAR_MALFORMED, "%s", required[i]);
    }
    o.drop = NULL;
    /* aud: optional in a manifest; when present and an audience is configured, named */
    ck_assert_int_eq(av_manifest_reason(&o, "dcgw"), DCGW_AVATAR_NONE);
    o.aud = "dcgw";
    ck_assert_int_eq(av_manifest_reason(&o, "dcgw"), DCGW_AVATAR_NONE);
    o.aud = "someone-else";
    ck_assert_int_eq(av_manifest_reason(&o, "dcgw"), DCGW_AVATAR_NOT_AUTHORIZED);
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
}
END_TEST

START_TEST(authorization_of_id_and_owner)
{
    struct av_mopts o;
    av_mopts_default(&o);
    o.avatar_id = "avatar-3"; /* wrong avatar id */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.avatar_id = "avatar-9"; /* bob's, not alice's: wrong owner */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.sub = "sip:bob@ims.example";
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.avatar_id = "avatar-1"; /* alice's id with bob as the owner */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    o.sub = "SIP:alice@ims.example"; /* identities compare exactly */
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    /* a leg binding is for request tokens: manifests about alice come from any leg */
    o.sub = OWNER;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    /* no grants at all: nothing passes */
    struct dcgw_avatar_grants *g = av_grants;
    ck_assert_int_eq(dcgw_avatar_grants_new(&av_grants), 0);
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_grants_free(av_grants);
    av_grants = g;
}
END_TEST

START_TEST(signers_not_trusted)
{
    struct av_mopts o;
    av_mopts_default(&o);
    static const char *const bad[] = {"rogue", "expired", "nodigsig", "rsa1024", "ue"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.signer = bad[i];
        o.alg = strcmp(bad[i], "rsa1024") == 0 ? DCGW_JWS_RS256 : DCGW_JWS_ES256;
        if (o.alg == DCGW_JWS_RS256)
            continue; /* dcgw's signer refuses the weak key; the raw-key case is below */
        ck_assert_msg(av_manifest_reason(&o, NULL) == DCGW_AVATAR_UNTRUSTED_SIGNER, "%s", bad[i]);
    }
    /* an unknown kid; no x5c and no kid; the weak RSA key under a trusted kid */
    o.signer = "es256";
    o.kid = "bar-key-404";
    o.alg = DCGW_JWS_EDDSA;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_UNTRUSTED_SIGNER);
    uint8_t *data = av_pattern(100);
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
        struct dcgw_avatar *v = av_verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(av_put_text(v, t, &res), DCGW_EDENIED);
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
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *good = av_make_manifest(&o, data, 2500);
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
        struct dcgw_avatar *v = av_verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(av_put_text(v, buf, &res), DCGW_EDENIED);
        ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE, "%s: %s", headers[i], res.detail);
        ck_assert(strstr(res.detail, "not accepted") != NULL);
        dcgw_avatar_free(v);
    }
    free(good);
    /* typ: neither manifest nor request; "application/" prefix and case are fine */
    o.typ = "JWT";
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_MALFORMED);
    o.typ = "application/Avatar-Manifest+JWT";
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_NONE);
    o.typ = DCGW_AVATAR_TYP_MANIFEST;
    /* sizes: listed digests disagree; over the maximum; a digest that is not 32 bytes */
    o.n_digests_delta = -1;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.n_digests_delta = 1;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.n_digests_delta = 0;
    o.size_claim = 3001;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_SIZE_MISMATCH);
    o.size_claim = (uint64_t)DCGW_AVATAR_MAX_SIZE_DEFAULT + 1;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_TOO_LARGE);
    o.size_claim = 0;
    o.chunk_size = DCGW_AVATAR_CHUNK_SIZE_DEFAULT + 1;
    ck_assert_int_eq(av_manifest_reason(&o, NULL), DCGW_AVATAR_TOO_LARGE);
    free(data);
    /* garbage text, empty text, a JSON object instead of a JWS */
    struct dcgw_avatar_result res;
    static const char *const junk[] = {"", "hello", "{\"avatar_id\":\"avatar-1\"}", "a.b.c"};
    for (int i = 0; i < 4; i++) {
        struct dcgw_avatar *v = av_verifier("as", NULL);
        ck_assert_int_eq(av_put_text(v, junk[i], &res), DCGW_EDENIED);
        ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
        dcgw_avatar_free(v);
    }
}
END_TEST

START_TEST(chunk_list_details)
{
    /* a digest of the wrong length or encoding inside an otherwise good manifest */
    uint8_t *data = av_pattern(2000);
    EVP_PKEY *k = keys_load_priv(AV, "raw-eddsa");
    for (int i = 0; i < 3; i++) {
        static const char *const bad[] = {"AAAA", "not-base64url!!", ""};
        json_t *h = json_pack("{s:s,s:s}", "typ", DCGW_AVATAR_TYP_MANIFEST, "kid", "bar-key-1");
        char *d0 = av_b64url_digest(data, 1000);
        json_t *c =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:i,s:i,s:[s,s]}", "avatar_id", "avatar-1", "iss",
                      "x", "sub", OWNER, "iat", (json_int_t)NOW, "exp", (json_int_t)NOW + 10, "cty",
                      "x", "size", 2000, "chunk_size", 1000, "chunks", d0, bad[i]);
        char *t;
        ck_assert_int_eq(dcgw_jws_sign(DCGW_JWS_EDDSA, k, h, c, &t), 0);
        struct dcgw_avatar *v = av_verifier("as", NULL);
        struct dcgw_avatar_result res;
        ck_assert_int_eq(av_put_text(v, t, &res), DCGW_EDENIED);
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

int main(void)
{
    const TTest *transfers[] = {envelopes_of_the_tool_pass_whole,
                                dcgw_signed_every_alg_and_back_to_back, multi_megabyte_transfer,
                                NULL};
    const TTest *rejections[] = {tampered_header_and_claims,
                                 chunks_swapped_altered_truncated_extra,
                                 claims_in_force,
                                 authorization_of_id_and_owner,
                                 signers_not_trusted,
                                 alg_none_hmac_and_malformed,
                                 chunk_list_details,
                                 NULL};
    Suite *s = suite_create("avatar");
    tsuite_add(s, "transfers", 30, av_setup, av_teardown, transfers);
    tsuite_add(s, "rejections", 30, av_setup, av_teardown, rejections);
    av_dir = AV;
    return tsuite_run(s);
}
