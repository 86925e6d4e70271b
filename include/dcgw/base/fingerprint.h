/* Certificate fingerprints as signalled in SDP (a=fingerprint, RFC 8122 §5):
 * hash algorithm names, hex parsing and formatting, constant-time comparison. */
#ifndef DCGW_FINGERPRINT_H
#define DCGW_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ordered weakest to strongest, so a floor is a comparison. */
enum dcgw_hash {
    DCGW_HASH_NONE = 0,
    DCGW_HASH_SHA1,
    DCGW_HASH_SHA224,
    DCGW_HASH_SHA256,
    DCGW_HASH_SHA384,
    DCGW_HASH_SHA512,
};

enum { DCGW_FINGERPRINT_MAX = 64, DCGW_FINGERPRINT_TEXT_MAX = 3 * 64 };

struct dcgw_fingerprint {
    enum dcgw_hash alg;
    uint8_t len; /* digest length for alg */
    uint8_t digest[DCGW_FINGERPRINT_MAX];
};

/* "sha-256" (case-insensitive, RFC 8122 hash-func names) -> DCGW_HASH_*; NONE if unknown. */
enum dcgw_hash dcgw_hash_parse(const char *name, size_t len);
/* "sha-256"; "none" for DCGW_HASH_NONE. Static storage. */
const char *dcgw_hash_name(enum dcgw_hash alg);
/* Digest length in bytes; 0 for NONE. */
size_t dcgw_hash_len(enum dcgw_hash alg);

/* Parses the value of a=fingerprint ("sha-256 AB:CD:..."). Returns 0, DCGW_EUNSUPPORTED
 * for an unknown hash, or DCGW_EMALFORMED. Does not need a NUL terminator. */
int dcgw_fingerprint_parse(const char *s, size_t len, struct dcgw_fingerprint *out);
/* Writes "sha-256 AB:CD:..." into buf (NUL-terminated). Returns the length or DCGW_ETOOBIG. */
int dcgw_fingerprint_format(const struct dcgw_fingerprint *fp, char *buf, size_t cap);
/* Writes only the hex part ("AB:CD:..."). Returns the length or DCGW_ETOOBIG. */
int dcgw_fingerprint_format_hex(const struct dcgw_fingerprint *fp, char *buf, size_t cap);
/* Same algorithm and same digest; the digest comparison takes constant time. */
bool dcgw_fingerprint_equal(const struct dcgw_fingerprint *a, const struct dcgw_fingerprint *b);

#endif
