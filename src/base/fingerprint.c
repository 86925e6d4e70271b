#include "dcgw/base/fingerprint.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"

static const struct {
    const char *name;
    size_t len;
} hashes[] = {
    [DCGW_HASH_NONE] = {"none", 0},       [DCGW_HASH_SHA1] = {"sha-1", 20},
    [DCGW_HASH_SHA224] = {"sha-224", 28}, [DCGW_HASH_SHA256] = {"sha-256", 32},
    [DCGW_HASH_SHA384] = {"sha-384", 48}, [DCGW_HASH_SHA512] = {"sha-512", 64},
};

enum dcgw_hash dcgw_hash_parse(const char *name, size_t len)
{
    for (size_t i = DCGW_HASH_SHA1; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (len == strlen(hashes[i].name) && strncasecmp(name, hashes[i].name, len) == 0)
            return (enum dcgw_hash)i;
    return DCGW_HASH_NONE;
}

const char *dcgw_hash_name(enum dcgw_hash alg)
{
    return (unsigned)alg <= DCGW_HASH_SHA512 ? hashes[alg].name : "none";
}

size_t dcgw_hash_len(enum dcgw_hash alg)
{
    return (unsigned)alg <= DCGW_HASH_SHA512 ? hashes[alg].len : 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dcgw_fingerprint_parse(const char *s, size_t len, struct dcgw_fingerprint *out)
{
    size_t i = 0;
    while (i < len && s[i] != ' ')
        i++;
    enum dcgw_hash alg = dcgw_hash_parse(s, i);
    if (i == 0 || i == len)
        return DCGW_EMALFORMED;
    if (alg == DCGW_HASH_NONE)
        return DCGW_EUNSUPPORTED;
    while (i < len && s[i] == ' ')
        i++;
    /* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); lower case is accepted too. */
    size_t want = hashes[alg].len, n = 0;
    while (i < len) {
        if (n == want || i + 2 > len)
            return DCGW_EMALFORMED;
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return DCGW_EMALFORMED;
        out->digest[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
        if (i < len) {
            if (s[i] != ':' || i + 1 == len)
                return DCGW_EMALFORMED;
            i++;
        }
    }
    if (n != want)
        return DCGW_EMALFORMED;
    out->alg = alg;
    out->len = (uint8_t)want;
    return 0;
}

int dcgw_fingerprint_format_hex(const struct dcgw_fingerprint *fp, char *buf, size_t cap)
{
    if (cap < (size_t)fp->len * 3 + 1)
        return DCGW_ETOOBIG;
    size_t o = 0;
    for (size_t i = 0; i < fp->len; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ":%02X" : "%02X", fp->digest[i]);
    buf[o] = '\0';
    return (int)o;
}

int dcgw_fingerprint_format(const struct dcgw_fingerprint *fp, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s ", dcgw_hash_name(fp->alg));
    if (n < 0 || (size_t)n >= cap)
        return DCGW_ETOOBIG;
    int m = dcgw_fingerprint_format_hex(fp, buf + n, cap - (size_t)n);
    return m < 0 ? m : n + m;
}

bool dcgw_fingerprint_equal(const struct dcgw_fingerprint *a, const struct dcgw_fingerprint *b)
{
    if (a->alg != b->alg || a->len != b->len || a->len > DCGW_FINGERPRINT_MAX)
        return false;
    return CRYPTO_memcmp(a->digest, b->digest, a->len) == 0;
}
