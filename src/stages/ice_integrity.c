/* STUN short-term integrity of one password: MESSAGE-INTEGRITY (RFC 8489 §14.5) with
 * nettle's HMAC-SHA1, FINGERPRINT (§14.7) with zlib's CRC-32. A lite agent answers a
 * consent check every few seconds for the life of a leg with the same password, so the
 * HMAC's key schedule is done once here; libnice's stun_agent_validate / _finish_message
 * redo it for every message (a GnuTLS HMAC context, over nettle, made and freed per call).
 *
 * Why nettle and not OpenSSL: OpenSSL 3.0 can keep the keyed states (EVP_MD_CTX), but
 * EVP_MD_CTX_copy_ex frees and allocates the copy's state on every copy; with nettle's
 * plain structures the workers took 0.94x the idle CPU of that (10,000 idle sessions,
 * docs/capacity.md "Idle cost"). OpenSSL's SHA1_Init family, as cheap, is deprecated.
 * nettle is what libnice's GnuTLS ran underneath. */
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <openssl/crypto.h>
#include <zlib.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"

enum {
    SHA1_LEN = 20,
    ATTR_MESSAGE_INTEGRITY = 0x0008,
    ATTR_FINGERPRINT = 0x8028,
    MI_ATTR_LEN = 4 + SHA1_LEN,
    FP_ATTR_LEN = 4 + 4,
};

#define FINGERPRINT_XOR 0x5354554eu /* RFC 8489 §14.7 */

struct dcgw__stun_key {
    /* the SHA-1 states after the key xor ipad and xor opad (RFC 2104), and the running
     * one; hmac_sha1_digest() puts the running one back to the keyed inner state */
    struct hmac_sha1_ctx hmac;
};

int dcgw__stun_key_new(const char *pwd, size_t pwd_len, struct dcgw__stun_key **out)
{
    struct dcgw__stun_key *k = calloc(1, sizeof(*k));
    *out = k;
    if (!k)
        return DCGW_ENOMEM;
    /* a key longer than SHA-1's block (an ice-pwd may be 256) is hashed first (§2) */
    hmac_sha1_set_key(&k->hmac, pwd_len, (const uint8_t *)pwd);
    return 0;
}

void dcgw__stun_key_free(struct dcgw__stun_key *k)
{
    if (!k)
        return;
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

/* HMAC-SHA1 of a STUN header, then of the attributes that follow it. */
static void key_hmac(struct dcgw__stun_key *k, const uint8_t head[DCGW_STUN_HEADER_LEN],
                     const uint8_t *attrs, size_t attrs_len, uint8_t mac[SHA1_LEN])
{
    hmac_sha1_update(&k->hmac, DCGW_STUN_HEADER_LEN, head);
    hmac_sha1_update(&k->hmac, attrs_len, attrs);
    hmac_sha1_digest(&k->hmac, SHA1_LEN, mac);
}

static uint32_t fingerprint(const uint8_t *p, size_t len)
{
    return (uint32_t)crc32(0, p, (uInt)len) ^ FINGERPRINT_XOR;
}

bool dcgw__stun_fingerprint_ok(const uint8_t *p, size_t n)
{
    /* The header's length already ends at FINGERPRINT, the last attribute. */
    if (n < DCGW_STUN_HEADER_LEN + FP_ATTR_LEN ||
        dcgw_be16(p + n - FP_ATTR_LEN) != ATTR_FINGERPRINT)
        return false;
    return fingerprint(p, n - FP_ATTR_LEN) == dcgw_be32(p + n - 4);
}

int dcgw__stun_integrity_check(struct dcgw__stun_key *k, const uint8_t *p, size_t n, size_t mi_off)
{
    uint8_t head[DCGW_STUN_HEADER_LEN], mac[SHA1_LEN];
    if (mi_off < DCGW_STUN_HEADER_LEN || mi_off > n || n - mi_off < MI_ATTR_LEN ||
        dcgw_be16(p + mi_off) != ATTR_MESSAGE_INTEGRITY || dcgw_be16(p + mi_off + 2) != SHA1_LEN)
        return DCGW_EMALFORMED;
    /* §14.5: the HMAC covers the message up to the attribute before MESSAGE-INTEGRITY,
     * with the header's length as if MESSAGE-INTEGRITY ended the message. */
    memcpy(head, p, sizeof(head));
    dcgw_put_be16(head + 2, (uint16_t)(mi_off + MI_ATTR_LEN - DCGW_STUN_HEADER_LEN));
    key_hmac(k, head, p + sizeof(head), mi_off - sizeof(head), mac);
    return CRYPTO_memcmp(mac, p + mi_off + 4, SHA1_LEN) == 0 ? 0 : DCGW_EAUTH;
}

size_t dcgw__stun_seal(struct dcgw__stun_key *k, uint8_t *buf, size_t len, size_t cap)
{
    if (len < DCGW_STUN_HEADER_LEN || cap < len || cap - len < DCGW__STUN_SEAL_LEN ||
        len + DCGW__STUN_SEAL_LEN - DCGW_STUN_HEADER_LEN > UINT16_MAX)
        return 0;
    uint8_t *mi = buf + len, *fp = mi + MI_ATTR_LEN;
    dcgw_put_be16(mi, ATTR_MESSAGE_INTEGRITY);
    dcgw_put_be16(mi + 2, SHA1_LEN);
    dcgw_put_be16(buf + 2, (uint16_t)(len + MI_ATTR_LEN - DCGW_STUN_HEADER_LEN));
    key_hmac(k, buf, buf + DCGW_STUN_HEADER_LEN, len - DCGW_STUN_HEADER_LEN, mi + 4);
    dcgw_put_be16(fp, ATTR_FINGERPRINT);
    dcgw_put_be16(fp + 2, 4);
    dcgw_put_be16(buf + 2, (uint16_t)(len + DCGW__STUN_SEAL_LEN - DCGW_STUN_HEADER_LEN));
    dcgw_put_be32(fp + 4, fingerprint(buf, len + MI_ATTR_LEN));
    return len + DCGW__STUN_SEAL_LEN;
}
