/* Fixtures of the avatar verifier's tests (test_avatar*.c). Each call fails the running
 * test when something it needs does not work; the caller frees what it gets. */
#ifndef DCGW_TEST_AVATAR_H
#define DCGW_TEST_AVATAR_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <jansson.h>

#include "dcgw/guard/avatar.h"
#include "dcgw/guard/jws.h"
#include "dcgw/guard/trust.h"

#ifdef DCGW_TEST_DATA
#define AV DCGW_TEST_DATA "/avatar/"
#endif
#define NOW   1767225600
#define OWNER "sip:alice@ims.example"

/* The fixture's trust store (tests/data/avatar) and grants, made by av_setup() and
 * released by av_teardown() (a checked fixture). */
/* The directory of the avatar test data (AV): each test program's main() sets it. */
extern const char *av_dir;
extern struct dcgw_trust *av_trust;
extern struct dcgw_avatar_grants *av_grants;
void av_setup(void);
void av_teardown(void);

/* A verifier on leg `leg` with the fixture's trust and grants. dcgw_avatar_free() it. */
struct dcgw_avatar *av_verifier(const char *leg, const char *audience);
/* A verifier on leg `leg` that borrows g (instead of the fixture's grants), audience "dcgw". */
struct dcgw_avatar *av_verifier_with(const char *leg, const struct dcgw_avatar_grants *g);

/* ---- what dcgw's signer makes: a manifest with knobs for every test */

struct av_mopts {
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

/* The defaults: es256 with x5c, avatar-1 of OWNER, valid at NOW, 1000-byte chunks. */
void av_mopts_default(struct av_mopts *o);
/* A JWS of header h and claims c (both released) signed with tests/data/avatar/<key>.key.
 * free() it. */
char *av_sign_with(const char *key, enum dcgw_jws_alg alg, json_t *h, json_t *c);
/* The base64url SHA-256 of the n bytes at p. free() it. */
char *av_b64url_digest(const uint8_t *p, size_t n);
/* The manifest o describes for the n bytes of data. free() it. */
char *av_make_manifest(const struct av_mopts *o, const uint8_t *data, size_t n);
/* n bytes of a fixed pattern. free() it. */
uint8_t *av_pattern(size_t n);
/* Hands v the text message t at NOW. */
int av_put_text(struct dcgw_avatar *v, const char *t, struct dcgw_avatar_result *res);
/* Hands v chunk k (of csize bytes) of the n bytes of data at NOW. */
int av_put_chunk(struct dcgw_avatar *v, const uint8_t *data, size_t n, size_t csize, size_t k,
                 struct dcgw_avatar_result *res);
/* A manifest with these options and its chunks, in order; the result of the last message
 * that went in (stops at the first refusal). */
int av_transfer(struct dcgw_avatar *v, const struct av_mopts *o, const uint8_t *data, size_t n,
                struct dcgw_avatar_result *res);
/* A manifest alone on a fresh "as" verifier: its result (DCGW_AVATAR_NONE if accepted). */
enum dcgw_avatar_reason av_manifest_reason(const struct av_mopts *o, const char *audience);

/* A request token for avatar_id signed ES256 with <key>; aud may be NULL. free() it. */
char *av_token(const char *key, const char *avatar_id, const char *iss, const char *aud,
               int64_t exp);

#endif
