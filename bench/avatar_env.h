/* The avatar scenario's envelope (docs/avatar-envelope.md), made at run time: random
 * bytes, a fresh signing key known to dcgw by a kid, and the signed manifest; and the
 * control requests of its session (blocking dcgw_ctlclient calls). */
#ifndef DCGW_BENCH_AVATAR_ENV_H
#define DCGW_BENCH_AVATAR_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct dcgw_ctlclient;

#define AV_ENV_KID       "dcgw-bench-key"
#define AV_ENV_OWNER     "sip:bench@ims.example"
#define AV_ENV_AVATAR_ID "dcgw-bench-avatar"

enum av_env_limits {
    AV_ENV_LIFETIME_S = 3600,  /* the manifest's exp: now + this */
    AV_CTL_TIMEOUT_MS = 10000, /* one control call */
};

struct av_env {
    uint8_t *data; /* size random bytes: the representation */
    size_t size, chunk;
    unsigned nchunks;    /* ceil(size / chunk) */
    char *manifest;      /* the compact JWS (ES256, kid), NUL-terminated */
    size_t manifest_len; /* strlen(manifest) */
    char *pubkey_pem;    /* the signer's public key (SubjectPublicKeyInfo) for dcgw */
    double make_ms;      /* random data, key, digests and signature */
};

/* Fills e (zeroed first): random data, an ES256 (P-256) key, the manifest with one
 * SHA-256 per chunk, exp an hour ahead. 0, or a DCGW_E* code with the reason in err; on
 * error e holds nothing to dispose. */
int av_env_make(struct av_env *e, size_t size, size_t chunk, char *err, size_t errcap);
/* Frees what av_env_make allocated; safe on a zeroed struct. */
void av_env_dispose(struct av_env *e);
/* The UE's request token for the avatar (avatar-request+jwt, ES256, iss the owner, aud
 * "dcgw", exp an hour ahead), signed with key: the private key of the UE's DTLS
 * certificate. *out is malloc'd. 0 or a DCGW_E* code. */
int av_env_request(EVP_PKEY *key, char **out);
/* The bytes of chunk k (the last one holds the rest). */
size_t av_env_chunk(const struct av_env *e, unsigned k, const uint8_t **p);

/* create_session: legs "ue" and "as" (offer[0], offer[1]), both ROLE_ANSWER and
 * terminated; a policy allowing every channel (kind avatar named explicitly); in
 * Session.avatar the grant of AV_ENV_AVATAR_ID to AV_ENV_OWNER (request tokens from leg
 * "ue") and e's public key under AV_ENV_KID. answer[] gets dcgw's SDP (malloc'd; the
 * caller frees them, also on error). 0, or a DCGW_E* code with the reason in err; on
 * DCGW_EMALFORMED (no answer in the response) the session exists and is to be closed. */
int av_ctl_create(struct dcgw_ctlclient *c, const char *sid, const char *offer[2],
                  const struct av_env *e, char *answer[2], char *err, size_t errcap);
/* A request about session sid: op is DCGW__REQUEST__OP_SUBSCRIBE (its events) or
 * DCGW__REQUEST__OP_CLOSE_SESSION. 0 or a DCGW_E* code with the reason in err. */
int av_ctl_simple(struct dcgw_ctlclient *c, int op, const char *sid, char *err, size_t errcap);

#endif
