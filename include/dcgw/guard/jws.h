/* JSON Web Signature, compact serialization (RFC 7515 §3.1, §7.1), for the avatar
 * envelopes of DESIGN.md §7 (docs/avatar-envelope.md): parse a JWS into its header and
 * claims (jansson), verify its signature with a given public key (OpenSSL EVP), and sign
 * (tests and tools).
 *
 * Algorithms (RFC 7518 §3, RFC 8037 §3.1): ES256 (P-256), ES384 (P-384), EdDSA (Ed25519
 * only), PS256, RS256. Everything else is refused at parse time: "none", the HMAC
 * algorithms (a shared secret is no signer identity), unknown names. The key must be of
 * the type the algorithm names (an ES256 header cannot make dcgw verify with an RSA key)
 * and RSA keys below a minimum size are refused.
 *
 * Pure code: no I/O, no clock. Not thread-safe per object; objects are independent. */
#ifndef DCGW_JWS_H
#define DCGW_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcgw/base/limits.h"

enum dcgw_jws_limits {
    DCGW_JWS_TEXT_MAX = 512 * 1024,            /* a whole compact JWS, bytes */
    DCGW_JWS_HEADER_MAX = 32 * 1024,           /* the encoded protected header */
    DCGW_JWS_SIG_MAX = 1024,                   /* decoded signature (RSA up to 8192 bits) */
    DCGW_JWS_X5C_MAX = 8,                      /* certificates in an x5c chain */
    DCGW_JWS_CERT_DER_MAX = DCGW_CERT_DER_MAX, /* limits.h */
    DCGW_JWS_KID_MAX = 128,
    DCGW_JWS_TYP_MAX = 64,
    DCGW_JWS_RSA_MIN_BITS_DEFAULT = 2048,
    DCGW_JWS_RSA_MAX_BITS = 8192,
};

#define DCGW_JWS_ALG_MAP(XX)                                                                       \
    XX(ES256, "ES256")                                                                             \
    XX(ES384, "ES384")                                                                             \
    XX(EDDSA, "EdDSA")                                                                             \
    XX(PS256, "PS256")                                                                             \
    XX(RS256, "RS256")

enum dcgw_jws_alg {
    DCGW_JWS_ALG_INVALID = 0,
#define DCGW__JWS_ALG(name, str) DCGW_JWS_##name,
    DCGW_JWS_ALG_MAP(DCGW__JWS_ALG)
#undef DCGW__JWS_ALG
};

/* "ES256"...; "?" for DCGW_JWS_ALG_INVALID. Static storage. */
const char *dcgw_jws_alg_name(enum dcgw_jws_alg a);
/* The accepted algorithm named exactly s (case-sensitive, RFC 7515 §4.1.1), or
 * DCGW_JWS_ALG_INVALID ("none", "HS256", anything else). */
enum dcgw_jws_alg dcgw_jws_alg_parse(const char *s);

/* A parsed JWS. header and claims are jansson objects owned by it; x5c (NULL when the
 * header has none) is the decoded chain, leaf first, owned by it. signing_input points
 * into the text given to dcgw_jws_parse: valid only as long as that text. */
struct dcgw_jws {
    enum dcgw_jws_alg alg;
    char typ[DCGW_JWS_TYP_MAX + 1]; /* "" when absent */
    char kid[DCGW_JWS_KID_MAX + 1]; /* "" when absent */
    json_t *header;
    json_t *claims;
    STACK_OF(X509) * x5c;
    const char *signing_input; /* BASE64URL(header) '.' BASE64URL(payload), RFC 7515 §5.2 */
    size_t signing_input_len;
    uint8_t sig[DCGW_JWS_SIG_MAX];
    size_t sig_len;
};

/* Parses a compact JWS of n bytes (no NUL needed; a NUL inside is malformed). Checks:
 * three base64url parts without padding or foreign characters (RFC 7515 §2, §7.1), a
 * header that is a JSON object with no duplicate member names (§4: a parser MUST reject
 * them or use the last; we reject), an accepted "alg" (§4.1.1), no "crit" (§4.1.11: we
 * understand no extension, so any listed one is a reason to reject) and no "b64"
 * (RFC 7797), "typ" and "kid" strings within their caps, "x5c" an array of 1..8 base64
 * DER certificates (§4.1.6), a payload that is a JSON object (JWT claims, RFC 7519 §7.2)
 * and a signature of 1..DCGW_JWS_SIG_MAX bytes. Nothing is verified here.
 * Returns 0 (dispose *out later), DCGW_EMALFORMED, DCGW_EUNSUPPORTED (alg none, HMAC,
 * unknown), DCGW_ETOOBIG or DCGW_ENOMEM, with a reason in err; on error *out holds
 * nothing to dispose. */
int dcgw_jws_parse(const char *text, size_t n, struct dcgw_jws *out, char *err, size_t errcap);
/* Frees what dcgw_jws_parse allocated. Safe on a zeroed struct. */
void dcgw_jws_dispose(struct dcgw_jws *j);

/* Checks that key fits alg: P-256 for ES256, P-384 for ES384, Ed25519 for EdDSA, RSA of at
 * least min_rsa_bits (0: DCGW_JWS_RSA_MIN_BITS_DEFAULT) and at most DCGW_JWS_RSA_MAX_BITS
 * for PS256/RS256. 0, DCGW_EUNTRUSTED (RSA key too small or too large) or
 * DCGW_ESIGNATURE (wrong key type for the algorithm). */
int dcgw_jws_key_fits(enum dcgw_jws_alg alg, EVP_PKEY *key, unsigned min_rsa_bits);

/* Verifies j's signature with key (RFC 7515 §5.2 step 8; RFC 7518 §3.3-3.5, RFC 8037 §3.1):
 * ECDSA signatures are the raw R || S of exactly twice the curve's byte length, PS256 uses
 * MGF1-SHA-256 and a 32-byte salt. Returns 0, DCGW_ESIGNATURE (does not verify, or wrong
 * key type), DCGW_EUNTRUSTED (key size outside bounds) or DCGW_ENOMEM. */
int dcgw_jws_verify(const struct dcgw_jws *j, EVP_PKEY *key, unsigned min_rsa_bits);

/* Signs: header gets "alg" set to alg's name (other members are the caller's: typ, kid,
 * x5c), claims is the payload. *out is a malloc'd NUL-terminated compact JWS.
 * 0, DCGW_EINVAL (key does not fit alg), DCGW_ENOMEM or DCGW_EINTERNAL. Neither json
 * argument is stolen. For tests and tools: dcgw itself only verifies. */
int dcgw_jws_sign(enum dcgw_jws_alg alg, EVP_PKEY *key, json_t *header, const json_t *claims,
                  char **out);

/* ---- base64url (RFC 4648 §5, no padding: RFC 7515 §2) ----------------------------------- */

/* Bytes that dcgw_b64url_decode makes of n characters at most. */
#define DCGW_B64URL_DECODED_MAX(n) (((n) / 4) * 3 + 2)
/* Characters of the encoding of n bytes (no NUL). */
#define DCGW_B64URL_ENCODED_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Decodes n characters into out (cap bytes). Refuses padding, characters outside
 * [A-Za-z0-9_-], a length of 1 mod 4 and non-zero unused bits (one encoding per value).
 * Returns the decoded length or DCGW_EMALFORMED / DCGW_ETOOBIG. */
int dcgw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);
/* Encodes n bytes into out (cap >= DCGW_B64URL_ENCODED_LEN(n) + 1, NUL-terminated).
 * Returns the length or DCGW_ETOOBIG. */
int dcgw_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
