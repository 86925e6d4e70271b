/* The avatar verifier: signed manifests, chunk digests, request tokens. See
 * include/dcgw/guard/avatar.h and docs/avatar-envelope.md. */
#include "dcgw/guard/avatar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "dcgw/base/log.h"

static const char *const reason_names[] = {
#define DCGW__AV_NAME(name, str) [DCGW_AVATAR_##name] = str,
    DCGW_AVATAR_REASON_MAP(DCGW__AV_NAME)
#undef DCGW__AV_NAME
};

const char *dcgw_avatar_reason_name(enum dcgw_avatar_reason r)
{
    return (unsigned)r < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[r] : "?";
}

/* ---- grants ---------------------------------------------------------------------------- */

struct grant {
    char owner[DCGW_AVATAR_IDENTITY_MAX + 1];
    char id[DCGW_AVATAR_ID_MAX + 1];
    char leg[DCGW_AVATAR_LEG_MAX + 1];
};

struct dcgw_avatar_grants {
    struct grant *v;
    size_t n, cap;
};

int dcgw_avatar_grants_new(struct dcgw_avatar_grants **out)
{
    return (*out = calloc(1, sizeof(**out))) ? 0 : DCGW_ENOMEM;
}

void dcgw_avatar_grants_free(struct dcgw_avatar_grants *g)
{
    if (g)
        free(g->v);
    free(g);
}

size_t dcgw_avatar_grants_count(const struct dcgw_avatar_grants *g)
{
    return g->n;
}

int dcgw_avatar_grants_add(struct dcgw_avatar_grants *g, const char *owner, const char *avatar_id,
                           const char *leg)
{
    if (!owner || !*owner || strlen(owner) > DCGW_AVATAR_IDENTITY_MAX || !avatar_id ||
        !*avatar_id || strlen(avatar_id) > DCGW_AVATAR_ID_MAX ||
        (leg && strlen(leg) > DCGW_AVATAR_LEG_MAX))
        return DCGW_EINVAL;
    if (g->n >= DCGW_AVATAR_GRANTS_MAX)
        return DCGW_ELIMIT;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        struct grant *nv = realloc(g->v, cap * sizeof(*nv));
        if (!nv)
            return DCGW_ENOMEM;
        g->v = nv;
        g->cap = cap;
    }
    struct grant *e = &g->v[g->n++];
    snprintf(e->owner, sizeof(e->owner), "%s", owner);
    snprintf(e->id, sizeof(e->id), "%s", avatar_id);
    snprintf(e->leg, sizeof(e->leg), "%s", leg ? leg : "");
    return 0;
}

bool dcgw_avatar_grants_allow(const struct dcgw_avatar_grants *g, const char *owner,
                              const char *avatar_id, const char *leg)
{
    for (size_t i = 0; g && i < g->n; i++) {
        const struct grant *e = &g->v[i];
        if (strcmp(e->owner, owner) == 0 && strcmp(e->id, avatar_id) == 0 &&
            (!leg || !e->leg[0] || strcmp(e->leg, leg) == 0))
            return true;
    }
    return false;
}

/* ---- verifier state -------------------------------------------------------------------- */

enum vstate { V_IDLE, V_CHUNKS, V_FAILED };

struct dcgw_avatar {
    struct dcgw_avatar_settings set;
    char leg[DCGW_AVATAR_LEG_MAX + 1];
    char audience[DCGW_AVATAR_IDENTITY_MAX + 1];
    enum vstate state;
    bool last_in_transfer; /* the last message passed was a manifest or a chunk */
    /* the transfer in progress */
    uint8_t (*digests)[DCGW_AVATAR_DIGEST_LEN];
    uint32_t n_chunks, next;
    uint64_t size, chunk_size;
    struct dcgw_avatar_result cur; /* avatar_id, owner, signer of the transfer */
    uint64_t deadline;             /* of the transfer in progress; UINT64_MAX: none */
    struct dcgw_avatar_stats stats;
};

void dcgw_avatar_settings_default(struct dcgw_avatar_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->max_size = DCGW_AVATAR_MAX_SIZE_DEFAULT;
    s->max_chunk_size = DCGW_AVATAR_CHUNK_SIZE_DEFAULT;
    s->max_chunks = DCGW_AVATAR_MAX_CHUNKS_DEFAULT;
    s->clock_skew_s = DCGW_AVATAR_CLOCK_SKEW_DEFAULT_S;
    s->transfer_timeout_ms = DCGW_AVATAR_TRANSFER_TIMEOUT_DEFAULT_MS;
}

int dcgw_avatar_new(const struct dcgw_avatar_settings *s, struct dcgw_avatar **out)
{
    if (!s || !s->trust || !s->grants || !s->max_size || !s->max_chunk_size || !s->max_chunks ||
        s->max_chunks > DCGW_AVATAR_CHUNKS_CEILING ||
        (s->leg && strlen(s->leg) > DCGW_AVATAR_LEG_MAX) ||
        (s->audience && strlen(s->audience) > DCGW_AVATAR_IDENTITY_MAX) ||
        s->transfer_timeout_ms > DCGW_AVATAR_TRANSFER_TIMEOUT_MAX_MS)
        return DCGW_EINVAL;
    struct dcgw_avatar *v = calloc(1, sizeof(*v));
    if (!v)
        return DCGW_ENOMEM;
    v->set = *s;
    snprintf(v->leg, sizeof(v->leg), "%s", s->leg ? s->leg : "");
    snprintf(v->audience, sizeof(v->audience), "%s", s->audience ? s->audience : "");
    v->set.leg = v->leg;
    v->set.audience = v->audience;
    v->deadline = UINT64_MAX;
    dcgw_trust_ref(v->set.trust);
    *out = v;
    return 0;
}

static void end_transfer(struct dcgw_avatar *v)
{
    free(v->digests);
    v->digests = NULL;
    v->n_chunks = v->next = 0;
    v->deadline = UINT64_MAX;
}

void dcgw_avatar_free(struct dcgw_avatar *v)
{
    if (!v)
        return;
    end_transfer(v);
    dcgw_trust_unref(v->set.trust);
    free(v);
}

int dcgw_avatar_set_authority(struct dcgw_avatar *v, struct dcgw_trust *trust,
                              const struct dcgw_avatar_grants *grants, const char *audience)
{
    if (!trust || !grants || (audience && strlen(audience) > DCGW_AVATAR_IDENTITY_MAX))
        return DCGW_EINVAL;
    dcgw_trust_ref(trust); /* before the unref: it may be the same store */
    dcgw_trust_unref(v->set.trust);
    v->set.trust = trust;
    v->set.grants = grants;
    snprintf(v->audience, sizeof(v->audience), "%s", audience ? audience : "");
    return 0;
}

bool dcgw_avatar_in_transfer(const struct dcgw_avatar *v)
{
    return v->state == V_CHUNKS;
}

bool dcgw_avatar_rejected(const struct dcgw_avatar *v)
{
    return v->state == V_FAILED;
}

const struct dcgw_avatar_stats *dcgw_avatar_stats(const struct dcgw_avatar *v)
{
    return &v->stats;
}

static int reject(struct dcgw_avatar *v, struct dcgw_avatar_result *res,
                  enum dcgw_avatar_reason why, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Rejects for good: the transfer (if any) ends, every later message is refused. */
static int reject(struct dcgw_avatar *v, struct dcgw_avatar_result *res,
                  enum dcgw_avatar_reason why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    res->what = DCGW_AVATAR_REJECTED;
    res->reason = why;
    end_transfer(v);
    v->state = V_FAILED;
    v->stats.rejected++;
    DCGW_LOG_RL(AVATAR, DEBUG, "leg %s: %s: %s", v->leg, dcgw_avatar_reason_name(why), res->detail);
    return DCGW_EDENIED;
}

/* ---- claims ---------------------------------------------------------------------------- */

/* RFC 7515 §4.1.9: typ is a media type, case-insensitive, "application/" may be left out. */
static bool typ_is(const char *typ, const char *want)
{
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    return strcasecmp(typ, want) == 0;
}

/* A string claim of 1..max bytes without control characters, copied into dst. */
static bool claim_str(const json_t *c, const char *name, char *dst, size_t max)
{
    json_t *s = json_object_get(c, name);
    if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > max)
        return false;
    const char *t = json_string_value(s);
    for (size_t i = 0; i < json_string_length(s); i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return false;
    memcpy(dst, t, json_string_length(s) + 1);
    return true;
}

/* RFC 7519 §2 NumericDate: seconds, maybe fractional; negative or absurd values are not. */
static int claim_date(const json_t *c, const char *name, bool required, int64_t *out)
{
    json_t *d = json_object_get(c, name);
    if (!d)
        return required ? -1 : 0;
    double x = json_is_integer(d) ? (double)json_integer_value(d)
               : json_is_real(d)  ? json_real_value(d)
                                  : -1;
    if (!(x >= 0 && x < 1e15))
        return -1;
    *out = (int64_t)x;
    return 1;
}

/* exp, nbf and iat against the clock with the configured leeway (RFC 7519 §4.1.4-4.1.6). */
static int check_times(struct dcgw_avatar *v, const json_t *c, bool need_iat, int64_t now,
                       struct dcgw_avatar_result *res)
{
    int64_t exp = 0, nbf = 0, iat = 0, skew = v->set.clock_skew_s;
    int he = claim_date(c, "exp", true, &exp), hn = claim_date(c, "nbf", false, &nbf);
    int hi = claim_date(c, "iat", need_iat, &iat);
    if (he < 0 || hn < 0 || hi < 0)
        return reject(v, res, DCGW_AVATAR_MALFORMED, "exp%s required; exp, nbf, iat: NumericDates",
                      need_iat ? " and iat are" : " is");
    /* exp: "on or after which the JWT MUST NOT be accepted" */
    if (now >= exp + skew)
        return reject(v, res, DCGW_AVATAR_EXPIRED, "expired at %lld (now %lld)", (long long)exp,
                      (long long)now);
    /* nbf: "before which the JWT MUST NOT be accepted" */
    if (hn && now + skew < nbf)
        return reject(v, res, DCGW_AVATAR_NOT_YET_VALID, "not before %lld (now %lld)",
                      (long long)nbf, (long long)now);
    if (hi && iat > now + skew)
        return reject(v, res, DCGW_AVATAR_NOT_YET_VALID, "issued in the future: %lld (now %lld)",
                      (long long)iat, (long long)now);
    return 0;
}

/* aud: a string or an array of strings (RFC 7519 §4.1.3). Required for request tokens; when
 * an audience is configured it must be among them. */
static int check_aud(struct dcgw_avatar *v, const json_t *c, bool required,
                     struct dcgw_avatar_result *res)
{
    json_t *a = json_object_get(c, "aud");
    if (!a)
        return required ? reject(v, res, DCGW_AVATAR_MALFORMED, "no aud claim") : 0;
    size_t n = json_is_array(a) ? json_array_size(a) : 1;
    bool ok = json_is_string(a) || (json_is_array(a) && n > 0), found = !v->audience[0];
    for (size_t i = 0; ok && i < n; i++) {
        json_t *e = json_is_array(a) ? json_array_get(a, i) : a;
        ok = json_is_string(e) && json_string_length(e) <= DCGW_AVATAR_IDENTITY_MAX;
        found |= ok && strcmp(json_string_value(e), v->audience) == 0;
    }
    if (!ok)
        return reject(v, res, DCGW_AVATAR_MALFORMED, "aud is not a string or array of strings");
    if (!found)
        return reject(v, res, DCGW_AVATAR_NOT_AUTHORIZED, "aud does not name \"%s\"", v->audience);
    return 0;
}

static int claim_uint(const json_t *c, const char *name, uint64_t *out)
{
    json_t *x = json_object_get(c, name);
    if (!json_is_integer(x) || json_integer_value(x) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(x);
    return 0;
}

/* size, chunk_size and chunks agree with each other and with the limits; the digests are
 * decoded into the transfer state. */
static int take_chunks(struct dcgw_avatar *v, const json_t *c, struct dcgw_avatar_result *res)
{
    uint64_t size, csize;
    json_t *arr = json_object_get(c, "chunks");
    if (claim_uint(c, "size", &size) < 0 || claim_uint(c, "chunk_size", &csize) < 0 ||
        !json_is_array(arr) || size == 0 || csize == 0)
        return reject(v, res, DCGW_AVATAR_MALFORMED,
                      "size, chunk_size (positive integers) and chunks (array) are required");
    size_t n = json_array_size(arr);
    res->size = size;
    res->chunks = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
    if (size > v->set.max_size || csize > v->set.max_chunk_size || n > v->set.max_chunks)
        return reject(v, res, DCGW_AVATAR_TOO_LARGE,
                      "size %llu / chunk_size %llu / %zu chunks over the maximum %llu / %u / %u",
                      (unsigned long long)size, (unsigned long long)csize, n,
                      (unsigned long long)v->set.max_size, v->set.max_chunk_size,
                      v->set.max_chunks);
    if (n != (size + csize - 1) / csize)
        return reject(v, res, DCGW_AVATAR_SIZE_MISMATCH,
                      "%zu chunks listed, size %llu in chunks of %llu makes %llu", n,
                      (unsigned long long)size, (unsigned long long)csize,
                      (unsigned long long)((size + csize - 1) / csize));
    if (!(v->digests = malloc(n * sizeof(*v->digests))))
        return DCGW_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s) ||
            dcgw_b64url_decode(json_string_value(s), json_string_length(s), v->digests[i],
                               DCGW_AVATAR_DIGEST_LEN) != DCGW_AVATAR_DIGEST_LEN)
            return reject(v, res, DCGW_AVATAR_MALFORMED,
                          "chunks[%zu] is not the base64url of a SHA-256 digest", i);
    }
    v->n_chunks = (uint32_t)n;
    v->size = size;
    v->chunk_size = csize;
    v->next = 0;
    return 0;
}

/* ---- messages -------------------------------------------------------------------------- */

/* Signature (by a trusted signer), then claims: times, authorization, sizes. */
static int manifest(struct dcgw_avatar *v, struct dcgw_jws *j, int64_t now,
                    struct dcgw_avatar_result *res)
{
    char why[160] = "";
    EVP_PKEY *key = NULL;
    int r = dcgw_trust_signer(v->set.trust, j, now, &key, res->signer, sizeof(res->signer), why,
                              sizeof(why));
    if (r == DCGW_ENOMEM)
        return r;
    if (r < 0)
        return reject(v, res, DCGW_AVATAR_UNTRUSTED_SIGNER, "%s", why);
    r = dcgw_jws_verify(j, key, v->set.min_rsa_bits);
    EVP_PKEY_free(key);
    if (r == DCGW_EUNTRUSTED)
        return reject(v, res, DCGW_AVATAR_UNTRUSTED_SIGNER, "signer's key below the minimum size");
    if (r < 0)
        return reject(v, res, DCGW_AVATAR_BAD_SIGNATURE, "%s signature does not verify",
                      dcgw_jws_alg_name(j->alg));
    /* only signed claims are read from here on */
    char iss[DCGW_AVATAR_IDENTITY_MAX + 1], cty[DCGW_AVATAR_CTY_MAX + 1];
    if (!claim_str(j->claims, "avatar_id", res->avatar_id, DCGW_AVATAR_ID_MAX) ||
        !claim_str(j->claims, "iss", iss, DCGW_AVATAR_IDENTITY_MAX) ||
        !claim_str(j->claims, "sub", res->owner, DCGW_AVATAR_IDENTITY_MAX) ||
        !claim_str(j->claims, "cty", cty, DCGW_AVATAR_CTY_MAX))
        return reject(v, res, DCGW_AVATAR_MALFORMED,
                      "avatar_id, iss, sub and cty must be non-empty strings");
    if ((r = check_times(v, j->claims, true, now, res)) < 0 ||
        (r = check_aud(v, j->claims, false, res)) < 0)
        return r;
    if (!dcgw_avatar_grants_allow(v->set.grants, res->owner, res->avatar_id, NULL))
        return reject(v, res, DCGW_AVATAR_NOT_AUTHORIZED,
                      "avatar %s is not authorized for owner %s", res->avatar_id, res->owner);
    if ((r = take_chunks(v, j->claims, res)) < 0)
        return r;
    v->state = V_CHUNKS;
    v->last_in_transfer = true;
    v->stats.manifests++;
    v->cur = *res;
    res->what = DCGW_AVATAR_MANIFEST;
    return 0;
}

/* Signed with the key of the DTLS certificate this leg's peer authenticated with. */
static int request(struct dcgw_avatar *v, struct dcgw_jws *j, int64_t now, X509 *peer,
                   struct dcgw_avatar_result *res)
{
    res->request = true;
    EVP_PKEY *key = peer ? X509_get0_pubkey(peer) : NULL;
    if (!key)
        return reject(v, res, DCGW_AVATAR_UNTRUSTED_SIGNER,
                      "no DTLS certificate to check the request token against");
    snprintf(res->signer, sizeof(res->signer), "DTLS certificate of leg %s", v->leg);
    int r = dcgw_jws_verify(j, key, v->set.min_rsa_bits);
    if (r == DCGW_EUNTRUSTED)
        return reject(v, res, DCGW_AVATAR_UNTRUSTED_SIGNER, "DTLS key below the minimum size");
    if (r < 0)
        return reject(v, res, DCGW_AVATAR_BAD_SIGNATURE,
                      "%s request token not signed with the DTLS certificate's key",
                      dcgw_jws_alg_name(j->alg));
    if (!claim_str(j->claims, "avatar_id", res->avatar_id, DCGW_AVATAR_ID_MAX) ||
        !claim_str(j->claims, "iss", res->owner, DCGW_AVATAR_IDENTITY_MAX))
        return reject(v, res, DCGW_AVATAR_MALFORMED, "avatar_id and iss must be strings");
    if ((r = check_times(v, j->claims, false, now, res)) < 0 ||
        (r = check_aud(v, j->claims, true, res)) < 0)
        return r;
    if (!dcgw_avatar_grants_allow(v->set.grants, res->owner, res->avatar_id, v->leg))
        return reject(v, res, DCGW_AVATAR_NOT_AUTHORIZED,
                      "avatar %s is not authorized for %s on leg %s", res->avatar_id, res->owner,
                      v->leg);
    v->stats.requests++;
    v->last_in_transfer = false;
    res->what = DCGW_AVATAR_REQUEST;
    return 0;
}

static int text_message(struct dcgw_avatar *v, const uint8_t *p, size_t n, int64_t now, X509 *peer,
                        struct dcgw_avatar_result *res)
{
    struct dcgw_jws j;
    char why[160] = "";
    int r = dcgw_jws_parse((const char *)p, n, &j, why, sizeof(why));
    if (r == DCGW_ENOMEM)
        return r;
    if (r == DCGW_EUNSUPPORTED) /* alg none, HMAC, unknown: nothing we can call a signature */
        return reject(v, res, DCGW_AVATAR_BAD_SIGNATURE, "%s", why);
    if (r < 0)
        return reject(v, res, r == DCGW_ETOOBIG ? DCGW_AVATAR_TOO_LARGE : DCGW_AVATAR_MALFORMED,
                      "%s", why);
    if (typ_is(j.typ, DCGW_AVATAR_TYP_MANIFEST))
        r = manifest(v, &j, now, res);
    else if (typ_is(j.typ, DCGW_AVATAR_TYP_REQUEST))
        r = request(v, &j, now, peer, res);
    else
        r = reject(v, res, DCGW_AVATAR_MALFORMED, "typ \"%s\" is neither %s nor %s", j.typ,
                   DCGW_AVATAR_TYP_MANIFEST, DCGW_AVATAR_TYP_REQUEST);
    dcgw_jws_dispose(&j);
    return r;
}

static int chunk(struct dcgw_avatar *v, const uint8_t *p, size_t n, struct dcgw_avatar_result *res)
{
    uint32_t k = v->next;
    res->chunk = k;
    uint64_t want = k + 1 < v->n_chunks ? v->chunk_size : v->size - (uint64_t)k * v->chunk_size;
    if (n != want)
        return reject(v, res, DCGW_AVATAR_SIZE_MISMATCH,
                      "chunk %u is %zu bytes, the manifest makes it %llu", k, n,
                      (unsigned long long)want);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
        return DCGW_ENOMEM;
    if (mdlen != DCGW_AVATAR_DIGEST_LEN || CRYPTO_memcmp(md, v->digests[k], mdlen) != 0)
        return reject(v, res, DCGW_AVATAR_DIGEST_MISMATCH, "chunk %u: SHA-256 differs", k);
    v->next++;
    v->stats.chunks++;
    v->stats.bytes += n;
    if (v->next < v->n_chunks) {
        res->what = DCGW_AVATAR_CHUNK;
        return 0;
    }
    res->what = DCGW_AVATAR_COMPLETE;
    v->stats.transfers++;
    end_transfer(v);
    v->state = V_IDLE;
    return 0;
}

/* The transfer in progress outlived its deadline; res holds its identity. */
static int timed_out(struct dcgw_avatar *v, struct dcgw_avatar_result *res)
{
    return reject(v, res, DCGW_AVATAR_TIMEOUT,
                  "transfer not finished %u ms after its manifest: %u of %u chunks",
                  v->set.transfer_timeout_ms, v->next, v->n_chunks);
}

/* The transfer's identity (the one in progress, or the last one completed) into res. */
static void transfer_identity(const struct dcgw_avatar *v, struct dcgw_avatar_result *res)
{
    memcpy(res->avatar_id, v->cur.avatar_id, sizeof(res->avatar_id));
    memcpy(res->owner, v->cur.owner, sizeof(res->owner));
    memcpy(res->signer, v->cur.signer, sizeof(res->signer));
    res->chunks = v->cur.chunks;
    res->size = v->cur.size;
    res->chunk = v->state == V_CHUNKS ? v->next : v->cur.chunks;
}

/* now_ms NULL (dcgw_avatar_input): no monotonic clock, no deadline armed or checked. */
static int input(struct dcgw_avatar *v, bool is_text, const uint8_t *p, size_t n, int64_t now_unix,
                 const uint64_t *now_ms, X509 *peer_cert, struct dcgw_avatar_result *res)
{
    memset(res, 0, sizeof(*res));
    if (v->state == V_FAILED) {
        v->stats.refused_after++;
        return DCGW_ECLOSED;
    }
    if (v->state == V_CHUNKS) {
        transfer_identity(v, res);            /* the transfer's identity goes with every result */
        if (now_ms && *now_ms >= v->deadline) /* its timer has not fired yet */
            return timed_out(v, res);
        if (is_text)
            return reject(v, res, DCGW_AVATAR_SIZE_MISMATCH,
                          "text message after %u of %u chunks: transfer truncated", v->next,
                          v->n_chunks);
        return chunk(v, p, n, res);
    }
    if (!is_text)
        return reject(v, res,
                      v->stats.transfers ? DCGW_AVATAR_SIZE_MISMATCH : DCGW_AVATAR_MALFORMED,
                      v->stats.transfers ? "binary message after the last chunk"
                                         : "binary message without a manifest");
    int r = text_message(v, p, n, now_unix, peer_cert, res);
    if (r == DCGW_ENOMEM) {
        reject(v, res, DCGW_AVATAR_MALFORMED, "out of memory");
        return DCGW_ENOMEM;
    }
    if (r == 0 && res->what == DCGW_AVATAR_MANIFEST && now_ms && v->set.transfer_timeout_ms)
        v->deadline = *now_ms < UINT64_MAX - v->set.transfer_timeout_ms
                          ? *now_ms + v->set.transfer_timeout_ms
                          : UINT64_MAX - 1;
    return r;
}

int dcgw_avatar_input(struct dcgw_avatar *v, bool is_text, const uint8_t *p, size_t n,
                      int64_t now_unix, X509 *peer_cert, struct dcgw_avatar_result *res)
{
    return input(v, is_text, p, n, now_unix, NULL, peer_cert, res);
}

int dcgw_avatar_input_ms(struct dcgw_avatar *v, bool is_text, const uint8_t *p, size_t n,
                         int64_t now_unix, uint64_t now_ms, X509 *peer_cert,
                         struct dcgw_avatar_result *res)
{
    return input(v, is_text, p, n, now_unix, &now_ms, peer_cert, res);
}

uint64_t dcgw_avatar_next_timeout(const struct dcgw_avatar *v)
{
    return v->state == V_CHUNKS ? v->deadline : UINT64_MAX;
}

int dcgw_avatar_handle_timeout(struct dcgw_avatar *v, uint64_t now_ms,
                               struct dcgw_avatar_result *res)
{
    memset(res, 0, sizeof(*res));
    if (v->state != V_CHUNKS || now_ms < v->deadline)
        return 0;
    transfer_identity(v, res);
    return timed_out(v, res);
}

int dcgw_avatar_end(struct dcgw_avatar *v, struct dcgw_avatar_result *res)
{
    memset(res, 0, sizeof(*res));
    if (v->state != V_CHUNKS)
        return 0;
    transfer_identity(v, res);
    return reject(v, res, DCGW_AVATAR_SIZE_MISMATCH,
                  "channel ended after %u of %u chunks: transfer truncated", v->next, v->n_chunks);
}

int dcgw_avatar_undelivered(struct dcgw_avatar *v, struct dcgw_avatar_result *res)
{
    memset(res, 0, sizeof(*res));
    if (v->state == V_FAILED || !v->last_in_transfer)
        return 0;
    transfer_identity(v, res);
    return reject(v, res, DCGW_AVATAR_UNDELIVERED,
                  "a verified message could not be forwarded: the receiver has %u of %u chunks "
                  "at most",
                  res->chunk, res->chunks);
}
