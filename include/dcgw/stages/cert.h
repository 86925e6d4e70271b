/* A worker's DTLS certificate: an ECDSA P-256 key with a self-signed X.509 certificate,
 * generated at start or loaded from PEM files, and certificate fingerprints as SDP carries
 * them (a=fingerprint, RFC 8122 §5: a hash of the DER encoding of the certificate).
 *
 * A struct dcgw_cert is immutable once made and reference-counted: every DTLS context that
 * uses it takes a reference. Not thread-safe (workers are single-threaded). */
#ifndef DCGW_CERT_H
#define DCGW_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"

enum dcgw_cert_limits {
    DCGW_CERT_VALIDITY_DAYS_DEFAULT = 30,
    DCGW_CERT_VALIDITY_DAYS_MAX = 3650,
    DCGW_CERT_BACKDATE_SECONDS = 24 * 3600, /* notBefore = now - 1 day (peer clock skew) */
    DCGW_CERT_SERIAL_BYTES = 16,            /* random, positive; RFC 5280 §4.1.2.2: <= 20 */
    DCGW_CERT_CN_MAX = 64,                  /* RFC 5280 ub-common-name */
    /* DCGW_CERT_DER_MAX: limits.h (the avatar signers' certificates share it) */
};

struct dcgw_cert_settings {
    const char *common_name; /* NULL: "dcgw" */
    unsigned validity_days;  /* 0: DCGW_CERT_VALIDITY_DAYS_DEFAULT */
};

struct dcgw_cert;

/* Generates a fresh ECDSA P-256 key and a self-signed certificate (version 3, random
 * serial, subject = issuer = CN, notBefore now - 1 day, notAfter now + validity, signed
 * with ecdsa-with-SHA256). s may be NULL for the defaults. *out gets one reference.
 * Returns 0, DCGW_EINVAL (bad settings), DCGW_ENOMEM or DCGW_EINTERNAL (OpenSSL failed). */
int dcgw_cert_new(const struct dcgw_cert_settings *s, struct dcgw_cert **out);

/* Loads a certificate and its private key from PEM files (the first certificate of
 * cert_path; an unencrypted key: no passphrase prompt is ever made) and checks that the key
 * belongs to the certificate. EC (P-256, P-384) and RSA keys are accepted.
 * Returns 0, DCGW_EIO (unreadable file), DCGW_EMALFORMED (not PEM of the right kind),
 * DCGW_EAUTH (key does not match the certificate), DCGW_EUNSUPPORTED (other key types),
 * DCGW_ETOOBIG or DCGW_ENOMEM. On error *out is untouched. */
int dcgw_cert_load_pem(const char *cert_path, const char *key_path, struct dcgw_cert **out);

/* Writes the certificate and the key (PKCS#8, unencrypted, file mode 0600) as PEM.
 * Returns 0 or DCGW_EIO. For persisting a generated certificate and for tests. */
int dcgw_cert_write_pem(const struct dcgw_cert *c, const char *cert_path, const char *key_path);

/* Takes one more reference; returns c. */
struct dcgw_cert *dcgw_cert_ref(struct dcgw_cert *c);
/* Drops one reference; the last one frees. NULL is a no-op. */
void dcgw_cert_unref(struct dcgw_cert *c);

/* Borrowed pointers, valid while the caller holds a reference. Do not modify. */
X509 *dcgw_cert_x509(const struct dcgw_cert *c);
EVP_PKEY *dcgw_cert_key(const struct dcgw_cert *c);
/* The DER encoding of the certificate (borrowed). */
const uint8_t *dcgw_cert_der(const struct dcgw_cert *c, size_t *len);

/* Fingerprint of this certificate with hash alg (for the local a=fingerprint).
 * Returns 0 or DCGW_EINVAL (alg is DCGW_HASH_NONE or unknown). */
int dcgw_cert_fingerprint(const struct dcgw_cert *c, enum dcgw_hash alg,
                          struct dcgw_fingerprint *out);
/* Fingerprint of any certificate (e.g. the DTLS peer's), over its DER encoding.
 * Returns 0, DCGW_EINVAL or DCGW_EMALFORMED (the certificate cannot be encoded). */
int dcgw_cert_fingerprint_x509(const X509 *x, enum dcgw_hash alg, struct dcgw_fingerprint *out);
/* Fingerprint of a DER certificate taken off the wire, hashed as-is (no re-encoding; the
 * relay inspector hashes exactly the bytes the peer sent). The bytes are not parsed.
 * Returns 0 or DCGW_EINVAL (alg unknown, or len 0 or above DCGW_CERT_DER_MAX). */
int dcgw_cert_fingerprint_der(const uint8_t *der, size_t len, enum dcgw_hash alg,
                              struct dcgw_fingerprint *out);

#endif
