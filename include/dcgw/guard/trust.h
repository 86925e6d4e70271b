/* Trust anchors for avatar signers (DESIGN.md §7, docs/avatar-envelope.md): CA
 * certificates that x5c chains must lead to, and raw public keys named by a kid.
 * Loaded from the configuration (PEM files) and from what the controller pushes with a
 * session (PEM text).
 *
 * A struct dcgw_trust is filled once, then used read-only; it is reference-counted so a
 * worker's configured anchors can be shared by its sessions across a reload. Not
 * thread-safe (workers are single-threaded). */
#ifndef DCGW_TRUST_H
#define DCGW_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dcgw/guard/jws.h"

enum dcgw_trust_limits {
    DCGW_TRUST_CAS_MAX = 256,      /* CA certificates in one store */
    DCGW_TRUST_KEYS_MAX = 256,     /* raw public keys */
    DCGW_TRUST_FILE_MAX = 1 << 20, /* a PEM file read from disk */
    DCGW_TRUST_WHO_MAX = 160,      /* signer description, NUL included */
    DCGW_TRUST_AUTH_LEVEL = 2,     /* OpenSSL security level of chains: RSA/DSA >= 2048,
                                      EC >= 224 bits, no SHA-1 signatures */
};

struct dcgw_trust;

/* An empty store (trusts nothing). *out holds one reference. DCGW_ENOMEM. */
int dcgw_trust_new(struct dcgw_trust **out);
/* Takes one more reference; returns t. */
struct dcgw_trust *dcgw_trust_ref(struct dcgw_trust *t);
/* Drops one reference; the last one frees. NULL is a no-op. */
void dcgw_trust_unref(struct dcgw_trust *t);

/* Adds every certificate of a PEM text (at least one) as a trust anchor. Anchors need not
 * be self-signed: a chain that reaches any anchor is trusted (an operator may pin an
 * intermediate CA or a signing certificate itself). 0, DCGW_EMALFORMED (no certificate,
 * or text that is not PEM certificates), DCGW_ELIMIT, DCGW_ENOMEM; err says why. */
int dcgw_trust_add_ca_pem(struct dcgw_trust *t, const char *pem, size_t n, char *err,
                          size_t errcap);
/* The same from a file (at most DCGW_TRUST_FILE_MAX bytes). DCGW_EIO when unreadable. */
int dcgw_trust_add_ca_file(struct dcgw_trust *t, const char *path, char *err, size_t errcap);
/* Adds a raw public key (PEM SubjectPublicKeyInfo, "BEGIN PUBLIC KEY") under kid (1..128
 * bytes). 0, DCGW_EEXIST (kid taken), DCGW_EINVAL (bad kid), DCGW_EMALFORMED, DCGW_ELIMIT,
 * DCGW_ENOMEM. */
int dcgw_trust_add_key_pem(struct dcgw_trust *t, const char *kid, const char *pem, size_t n,
                           char *err, size_t errcap);
/* Adds every DIR/<kid>.pem public key; other names are ignored. */
int dcgw_trust_add_keys_dir(struct dcgw_trust *t, const char *dir, char *err, size_t errcap);
/* Adds src's anchors and keys to dst (a session's own store on top of the configured
 * one). A kid in both keeps dst's key. 0, DCGW_ELIMIT or DCGW_ENOMEM. */
int dcgw_trust_add_all(struct dcgw_trust *dst, const struct dcgw_trust *src);

size_t dcgw_trust_ca_count(const struct dcgw_trust *t);
size_t dcgw_trust_key_count(const struct dcgw_trust *t);

/* The key that signed j, if j names a trusted signer:
 *  - with x5c: the chain (x5c[0] the signer, the rest untrusted intermediates) must reach
 *    an anchor at now_unix (validity dates of every certificate; X509 strict; the security
 *    level above), and x5c[0] must carry the key usage extension with digitalSignature
 *    (RFC 5280 §4.2.1.3); kid is then ignored;
 *  - else with kid: the raw key of that kid;
 *  - neither: untrusted.
 * On success *key holds a reference (EVP_PKEY_free it) and who describes the signer
 * ("CN=..." or "kid:..."). DCGW_EUNTRUSTED with the reason in err, or DCGW_ENOMEM. */
int dcgw_trust_signer(const struct dcgw_trust *t, const struct dcgw_jws *j, int64_t now_unix,
                      EVP_PKEY **key, char *who, size_t whocap, char *err, size_t errcap);

#endif
