/* The avatar scenario's envelope: what a BAR would send on an avatar channel, made with
 * OpenSSL and jansson the way docs/avatar-envelope.md writes it down; and the session
 * that carries it, on the scenario's own control connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "avatar_env.h"
#include "bench.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"

size_t av_env_chunk(const struct av_env *e, unsigned k, const uint8_t **p)
{
    size_t off = (size_t)k * e->chunk;
    *p = e->data + off;
    return off + e->chunk <= e->size ? e->chunk : e->size - off;
}

static char *pub_pem(EVP_PKEY *k)
{
    BIO *m = BIO_new(BIO_s_mem());
    char *s = NULL, *p;
    if (m && PEM_write_bio_PUBKEY(m, k) == 1) {
        long n = BIO_get_mem_data(m, &p);
        if (n > 0)
            s = strndup(p, (size_t)n);
    }
    BIO_free(m);
    return s;
}

static int random_fill(uint8_t *p, size_t n)
{
    while (n) {
        int part = n > (1u << 30) ? 1 << 30 : (int)n;
        if (RAND_bytes(p, part) != 1)
            return DCGW_EINTERNAL;
        p += part;
        n -= (size_t)part;
    }
    return 0;
}

/* chunks: the base64url (no padding) SHA-256 of each chunk, in order. */
static json_t *digests(const struct av_env *e)
{
    json_t *a = json_array();
    for (unsigned k = 0; a && k < e->nchunks; k++) {
        const uint8_t *p;
        size_t n = av_env_chunk(e, k, &p);
        uint8_t d[SHA256_DIGEST_LENGTH];
        char s[DCGW_B64URL_ENCODED_LEN(SHA256_DIGEST_LENGTH) + 1];
        if (!SHA256(p, n, d) || dcgw_b64url_encode(d, sizeof(d), s, sizeof(s)) < 0 ||
            json_array_append_new(a, json_string(s)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int sign_manifest(struct av_env *e, EVP_PKEY *k, char *err, size_t errcap)
{
    json_t *chunks = digests(e);
    if (!chunks) {
        snprintf(err, errcap, "avatar envelope: chunk digests failed");
        return DCGW_ENOMEM;
    }
    json_int_t now = (json_int_t)time(NULL);
    json_t *h = json_pack("{s:s,s:s}", "typ", "avatar-manifest+jwt", "kid", AV_ENV_KID);
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I,s:o}", "avatar_id", AV_ENV_AVATAR_ID, "iss",
                  "https://bar.dcgw-bench.invalid", "sub", AV_ENV_OWNER, "iat", now, "exp",
                  now + AV_ENV_LIFETIME_S, "cty", "application/octet-stream", "size",
                  (json_int_t)e->size, "chunk_size", (json_int_t)e->chunk, "chunks", chunks);
    int r = h && c ? dcgw_jws_sign(DCGW_JWS_ES256, k, h, c, &e->manifest) : DCGW_ENOMEM;
    json_decref(h);
    json_decref(c);
    if (r < 0) {
        snprintf(err, errcap, "avatar envelope: signing the manifest: %s", dcgw_strerror(r));
        return r;
    }
    e->manifest_len = strlen(e->manifest);
    return 0;
}

int av_env_request(EVP_PKEY *key, char **out)
{
    json_int_t now = (json_int_t)time(NULL);
    json_t *h = json_pack("{s:s}", "typ", "avatar-request+jwt");
    json_t *c = json_pack("{s:s,s:s,s:s,s:I,s:I}", "avatar_id", AV_ENV_AVATAR_ID, "iss",
                          AV_ENV_OWNER, "aud", "dcgw", "iat", now, "exp", now + AV_ENV_LIFETIME_S);
    int r = h && c ? dcgw_jws_sign(DCGW_JWS_ES256, key, h, c, out) : DCGW_ENOMEM;
    json_decref(h);
    json_decref(c);
    return r;
}

int av_env_make(struct av_env *e, size_t size, size_t chunk, char *err, size_t errcap)
{
    memset(e, 0, sizeof(*e));
    if (size == 0 || chunk == 0) {
        snprintf(err, errcap, "avatar envelope: size and chunk size must be >= 1");
        return DCGW_EINVAL;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    e->size = size;
    e->chunk = chunk;
    e->nchunks = (unsigned)((size + chunk - 1) / chunk);
    e->data = malloc(size);
    if (!e->data) {
        snprintf(err, errcap, "avatar envelope: out of memory for %zu bytes", size);
        return DCGW_ENOMEM;
    }
    int r = random_fill(e->data, size);
    EVP_PKEY *k = r == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") : NULL;
    if (!k) {
        snprintf(err, errcap, "avatar envelope: no random data or P-256 key from OpenSSL");
        av_env_dispose(e);
        return DCGW_EINTERNAL;
    }
    e->pubkey_pem = pub_pem(k);
    r = e->pubkey_pem ? sign_manifest(e, k, err, errcap) : DCGW_ENOMEM;
    EVP_PKEY_free(k);
    if (r < 0) {
        if (!e->pubkey_pem)
            snprintf(err, errcap, "avatar envelope: cannot write the public key");
        av_env_dispose(e);
        return r;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    e->make_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return 0;
}

void av_env_dispose(struct av_env *e)
{
    free(e->data);
    free(e->manifest);
    free(e->pubkey_pem);
    memset(e, 0, sizeof(*e));
}

/* ---- the session */

static int call(struct dcgw_ctlclient *c, Dcgw__Request *req, Dcgw__Response **resp,
                const char *what, char *err, size_t errcap)
{
    int r = dcgw_ctlclient_call(c, req, resp, AV_CTL_TIMEOUT_MS);
    if (r < 0) {
        snprintf(err, errcap, "%s: %s", what, dcgw_strerror(r));
        return r;
    }
    if ((*resp)->error) {
        snprintf(err, errcap, "%s: %s: %s", what,
                 (*resp)->error->name ? (*resp)->error->name : "error",
                 (*resp)->error->message ? (*resp)->error->message : "");
        dcgw__response__free_unpacked(*resp, NULL);
        *resp = NULL;
        return DCGW_EPROTO;
    }
    return 0;
}

int av_ctl_create(struct dcgw_ctlclient *c, const char *sid, const char *offer[2],
                  const struct av_env *e, char *answer[2], char *err, size_t errcap)
{
    struct bench_legs legs;
    bench_legs_init(&legs, false, offer[0], offer[1]);
    Dcgw__PolicyRule rav = DCGW__POLICY_RULE__INIT, rall = DCGW__POLICY_RULE__INIT;
    Dcgw__PolicyRule *rules[2] = {&rav, &rall};
    rav.name = "bench-avatar";
    rav.has_verdict = rall.has_verdict = 1;
    rav.verdict = rall.verdict = DCGW__POLICY_VERDICT__VERDICT_ALLOW;
    rav.has_kind = 1;
    rav.kind = DCGW__CHANNEL_KIND__KIND_AVATAR;
    rall.name = "bench-allow-all";
    Dcgw__Policy pol = DCGW__POLICY__INIT;
    pol.rules = rules;
    pol.n_rules = 2;
    char *ids[1] = {AV_ENV_AVATAR_ID};
    Dcgw__AvatarGrant grant = DCGW__AVATAR_GRANT__INIT, *grants[1] = {&grant};
    grant.owner = AV_ENV_OWNER;
    grant.avatar_ids = ids;
    grant.n_avatar_ids = 1;
    grant.leg = "ue"; /* the UE's request tokens only from leg "ue" */
    Dcgw__AvatarKey key = DCGW__AVATAR_KEY__INIT, *keys[1] = {&key};
    key.kid = AV_ENV_KID;
    key.public_key_pem = e->pubkey_pem;
    Dcgw__AvatarSettings av = DCGW__AVATAR_SETTINGS__INIT;
    av.grants = grants;
    av.n_grants = 1;
    av.keys = keys;
    av.n_keys = 1;
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = (char *)sid;
    s.legs = legs.v;
    s.n_legs = 2;
    s.policy = &pol;
    s.avatar = &av;
    s.tag = "dcgw-bench avatar";
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    Dcgw__Response *resp = NULL;
    int r = call(c, &req, &resp, "create_session", err, errcap);
    if (r < 0)
        return r;
    const Dcgw__Session *got = resp->session;
    for (size_t i = 0; got && i < got->n_legs && i < 2; i++)
        if (got->legs[i]->dc && got->legs[i]->dc->local_sdp)
            answer[i] = strdup(got->legs[i]->dc->local_sdp);
    dcgw__response__free_unpacked(resp, NULL);
    if (!answer[0] || !answer[1]) {
        snprintf(err, errcap, "create_session: no local SDP in the response");
        return DCGW_EMALFORMED; /* the session exists: the caller closes it */
    }
    return 0;
}

int av_ctl_simple(struct dcgw_ctlclient *c, int op, const char *sid, char *err, size_t errcap)
{
    Dcgw__Subscribe sub = DCGW__SUBSCRIBE__INIT;
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = (Dcgw__Request__OpCase)op;
    if (op == DCGW__REQUEST__OP_SUBSCRIBE) {
        sub.session_id = (char *)sid;
        req.subscribe = &sub;
    } else if (op == DCGW__REQUEST__OP_CLOSE_SESSION) {
        cl.id = (char *)sid;
        cl.reason = "bench done";
        req.close_session = &cl;
    } else {
        return DCGW_EINVAL;
    }
    Dcgw__Response *resp = NULL;
    int r = call(c, &req, &resp, op == DCGW__REQUEST__OP_SUBSCRIBE ? "subscribe" : "close_session",
                 err, errcap);
    if (resp)
        dcgw__response__free_unpacked(resp, NULL);
    return r;
}
