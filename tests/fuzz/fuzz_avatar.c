/* The avatar verifier's parsers: JWS compact serialization (header, x5c, payload), manifest
 * claims, chunk lists and request tokens.
 *
 * Input: one mode byte, then a text, then 0x00, then binary messages each prefixed by a
 * 2-byte big-endian length (fed to the verifier in order, as chunks).
 *   mode % 3 == 0: the text is a whole message (a JWS as it arrives on the channel);
 *   mode % 3 == 1: the text is manifest claims (JSON); the fuzzer signs them with a key
 *                  the verifier trusts (kid "fuzz") so claim handling is reached;
 *   mode % 3 == 2: the text is request-token claims, signed with the key of the "UE"
 *                  certificate the verifier is given as the peer's DTLS certificate.
 * Bit 0x80 of the mode byte sends the text as binary instead (mode 0). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "dcgw/guard/avatar.h"
#include "dcgw/stages/cert.h"
#include "dcgw/guard/jws.h"
#include "helper.h"

#define NOW 1767225600

static struct dcgw_trust *trust;
static struct dcgw_avatar_grants *grants;
static EVP_PKEY *signer;
static struct dcgw_cert *ue;

static void init(void)
{
    if (trust)
        return;
    dcgw_trust_new(&trust);
    dcgw_avatar_grants_new(&grants);
    dcgw_avatar_grants_add(grants, "sip:alice@ims.example", "avatar-1", NULL);
    dcgw_avatar_grants_add(grants, "sip:alice@ims.example", "avatar-2", "ue");
    signer = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, signer);
    char *pem;
    long n = BIO_get_mem_data(b, &pem);
    dcgw_trust_add_key_pem(trust, "fuzz", pem, (size_t)n, NULL, 0);
    BIO_free(b);
    dcgw_cert_new(NULL, &ue);
    /* the UE's certificate doubles as a CA anchor, so x5c chains reach X509_verify_cert */
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, dcgw_cert_x509(ue));
    n = BIO_get_mem_data(b, &pem);
    dcgw_trust_add_ca_pem(trust, pem, (size_t)n, NULL, 0);
    BIO_free(b);
}

/* Signs claims text (if it is a JSON object) into a JWS; NULL otherwise. */
static char *sign_claims(const uint8_t *p, size_t n, bool request)
{
    json_t *c = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(c)) {
        json_decref(c);
        return NULL;
    }
    json_t *h = request ? json_pack("{s:s}", "typ", DCGW_AVATAR_TYP_REQUEST)
                        : json_pack("{s:s,s:s}", "typ", DCGW_AVATAR_TYP_MANIFEST, "kid", "fuzz");
    char *t = NULL;
    dcgw_jws_sign(request ? DCGW_JWS_ES256 : DCGW_JWS_EDDSA, request ? dcgw_cert_key(ue) : signer,
                  h, c, &t);
    json_decref(h);
    json_decref(c);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    data++;
    size--;
    const uint8_t *z = memchr(data, 0, size);
    size_t tlen = z ? (size_t)(z - data) : size;

    /* the parser alone, on whatever the text is */
    struct dcgw_jws j;
    char err[200];
    if (dcgw_jws_parse((const char *)data, tlen, &j, err, sizeof(err)) == 0) {
        if (j.x5c) {
            EVP_PKEY *k = NULL;
            char who[DCGW_TRUST_WHO_MAX];
            if (dcgw_trust_signer(trust, &j, NOW, &k, who, sizeof(who), err, sizeof(err)) == 0) {
                dcgw_jws_verify(&j, k, 0);
                EVP_PKEY_free(k);
            }
        }
        dcgw_jws_dispose(&j);
    }

    struct dcgw_avatar_settings s;
    dcgw_avatar_settings_default(&s);
    s.trust = trust;
    s.grants = grants;
    s.leg = "ue";
    s.audience = (mode & 0x40) ? "dcgw" : NULL;
    s.max_size = 1 << 20;
    s.max_chunk_size = 4096;
    s.max_chunks = 512;
    struct dcgw_avatar *v;
    if (dcgw_avatar_new(&s, &v) < 0)
        return 0;
    struct dcgw_avatar_result res;
    char *signed_text = mode % 3 ? sign_claims(data, tlen, mode % 3 == 2) : NULL;
    if (signed_text)
        dcgw_avatar_input(v, true, (const uint8_t *)signed_text, strlen(signed_text), NOW,
                          dcgw_cert_x509(ue), &res);
    else
        dcgw_avatar_input(v, !(mode & 0x80), data, tlen, NOW, dcgw_cert_x509(ue), &res);
    free(signed_text);
    /* then the chunks */
    size_t off = z ? tlen + 1 : size;
    struct fuzz_in in = {data + off, size - off};
    while (in.n >= 2) {
        size_t n;
        const uint8_t *p = fuzz_bytes16(&in, &n);
        dcgw_avatar_input(v, false, p, n, NOW, NULL, &res);
    }
    dcgw_avatar_end(v, &res);
    dcgw_avatar_free(v);
    return 0;
}
