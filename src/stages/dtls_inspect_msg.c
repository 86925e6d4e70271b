/* The handshake messages the relay's inspector reads (src/stages/dtls_inspect.c): ClientHello and
 * ServerHello far enough to know the DTLS version, Certificate for the first certificate.
 * Pure functions over bytes. */
#include <stdio.h>

#include "dtls_inspect_int.h"

/* Wire values: RFC 6347 §4.1; RFC 8446 §4.2.1. */
enum { V_DTLS12 = 0xfefd, V_DTLS13 = 0xfefc, EXT_SUPPORTED_VERSIONS = 43 };

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static bool take(struct dcgw__dtls_cur *c, size_t n, const uint8_t **out)
{
    if (c->n < n)
        return false;
    if (out)
        *out = c->p;
    c->p += n;
    c->n -= n;
    return true;
}

/* A vector with a 1-, 2- or 3-byte length prefix (RFC 5246 §4.3). */
static bool vec(struct dcgw__dtls_cur *c, size_t lenlen, struct dcgw__dtls_cur *out)
{
    const uint8_t *l;
    if (!take(c, lenlen, &l))
        return false;
    size_t n = lenlen == 1 ? l[0] : lenlen == 2 ? be16(l) : be24(l);
    out->p = c->p;
    out->n = n;
    return take(c, n, NULL);
}

/* Walks the extensions block (RFC 5246 §7.4.1.4) and returns the body of supported_versions
 * (RFC 8446 §4.2.1) in *sv (n == 0 when absent). False when the block is malformed. */
static bool find_supported_versions(struct dcgw__dtls_cur *c, struct dcgw__dtls_cur *sv)
{
    sv->n = 0;
    if (c->n == 0)
        return true; /* no extensions at all */
    struct dcgw__dtls_cur exts, e;
    if (!vec(c, 2, &exts) || c->n != 0)
        return false;
    while (exts.n > 0) {
        const uint8_t *t;
        if (!take(&exts, 2, &t) || !vec(&exts, 2, &e))
            return false;
        if (be16(t) == EXT_SUPPORTED_VERSIONS && sv->n == 0 && e.n > 0)
            *sv = e;
    }
    return true;
}

/* Returns 0 (DTLS 1.2 possible), 1 (uninspectable, *why set) or -1 (malformed).
 * RFC 6347 §4.2.1 ClientHello: version, random, session_id, cookie, suites, compression. */
int dcgw__dtls_parse_client_hello(const uint8_t *p, size_t n, char *why, size_t cap)
{
    struct dcgw__dtls_cur c = {p, n}, v, sv;
    if (!take(&c, 2 + 32, NULL) || !vec(&c, 1, &v) || v.n > 32 || !vec(&c, 1, &v) ||
        !vec(&c, 2, &v) || v.n < 2 || v.n % 2 || !vec(&c, 1, &v) || v.n < 1 ||
        !find_supported_versions(&c, &sv))
        return -1;
    if (sv.n == 0)
        return 0;
    struct dcgw__dtls_cur list;
    if (!vec(&sv, 1, &list) || sv.n != 0 || list.n < 2 || list.n % 2)
        return -1;
    bool has12 = false, has13 = false;
    for (size_t i = 0; i < list.n; i += 2) {
        has12 |= be16(list.p + i) == V_DTLS12;
        has13 |= be16(list.p + i) == V_DTLS13;
    }
    if (has12)
        return 0; /* the ServerHello decides */
    snprintf(why, cap, "ClientHello offers %s", has13 ? "DTLS 1.3 only" : "no DTLS 1.2");
    return 1;
}

/* Same contract. RFC 5246 §7.4.1.3 ServerHello; RFC 8446 §4.2.1 selected_version. */
int dcgw__dtls_parse_server_hello(const uint8_t *p, size_t n, char *why, size_t cap)
{
    struct dcgw__dtls_cur c = {p, n}, v, sv;
    const uint8_t *ver;
    if (!take(&c, 2, &ver) || !take(&c, 32, NULL) || !vec(&c, 1, &v) || v.n > 32 ||
        !take(&c, 2 + 1, NULL) || !find_supported_versions(&c, &sv))
        return -1;
    uint32_t version = be16(ver);
    if (sv.n != 0) {
        if (sv.n != 2)
            return -1;
        version = be16(sv.p);
    }
    if (version == V_DTLS12)
        return 0;
    if (version == V_DTLS13)
        snprintf(why, cap, "ServerHello selects DTLS 1.3");
    else
        snprintf(why, cap, "ServerHello selects version 0x%04x, not DTLS 1.2", version);
    return 1;
}

/* RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>; the sender's own
 * certificate comes first. Returns 0 with the first one in *der (n 0: empty list) or -1. */
int dcgw__dtls_parse_certificate(const uint8_t *p, size_t n, struct dcgw__dtls_cur *der)
{
    struct dcgw__dtls_cur c = {p, n}, list, one;
    der->n = 0;
    if (!vec(&c, 3, &list) || c.n != 0)
        return -1;
    for (bool first = true; list.n > 0; first = false) {
        if (!vec(&list, 3, &one) || one.n == 0)
            return -1;
        if (first)
            *der = one;
    }
    return 0;
}
