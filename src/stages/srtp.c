/* SRTP sessions with libsrtp2, keyed from a DTLS leg (RFC 5764). See srtp.h. */
#include "dcgw/stages/srtp.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/stages/dtls.h"

struct dcgw_srtp {
    srtp_t ctx;
    bool outbound;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

static void init_lib(void)
{
    init_status = srtp_init();
}

const char *dcgw_srtp_profile_name(enum dcgw_srtp_profile p)
{
    switch (p) {
    case DCGW_SRTP_NONE:
        return "none";
    case DCGW_SRTP_AES128_CM_SHA1_80:
        return "SRTP_AES128_CM_SHA1_80";
    case DCGW_SRTP_AES128_CM_SHA1_32:
        return "SRTP_AES128_CM_SHA1_32";
    case DCGW_SRTP_AEAD_AES_128_GCM:
        return "SRTP_AEAD_AES_128_GCM";
    case DCGW_SRTP_AEAD_AES_256_GCM:
        return "SRTP_AEAD_AES_256_GCM";
    }
    return "unknown";
}

int dcgw_srtp_profile_lengths(enum dcgw_srtp_profile p, size_t *key_len, size_t *salt_len)
{
    switch (p) {
    case DCGW_SRTP_AES128_CM_SHA1_80: /* RFC 5764 §4.1.2: 128-bit key, 112-bit salt */
    case DCGW_SRTP_AES128_CM_SHA1_32:
        *key_len = 16;
        *salt_len = 14;
        return 0;
    case DCGW_SRTP_AEAD_AES_128_GCM: /* RFC 7714 §12: 96-bit salt */
        *key_len = 16;
        *salt_len = 12;
        return 0;
    case DCGW_SRTP_AEAD_AES_256_GCM:
        *key_len = 32;
        *salt_len = 12;
        return 0;
    default:
        return DCGW_EUNSUPPORTED;
    }
}

int dcgw_srtp_keys_split(enum dcgw_srtp_profile profile, const uint8_t *m, size_t n, bool client,
                         struct dcgw_srtp_keys *out)
{
    size_t kl, sl;
    int rc = dcgw_srtp_profile_lengths(profile, &kl, &sl);
    if (rc)
        return rc;
    if (!m || n != 2 * (kl + sl))
        return DCGW_EINVAL;
    memset(out, 0, sizeof(*out));
    out->profile = profile;
    out->key_len = (uint8_t)kl;
    out->salt_len = (uint8_t)sl;
    /* RFC 5764 §4.2: client_write_SRTP_master_key, server_write_SRTP_master_key,
     * client_write_SRTP_master_salt, server_write_SRTP_master_salt */
    const uint8_t *ck = m, *sk = m + kl, *cs = m + 2 * kl, *ss = m + 2 * kl + sl;
    uint8_t *local = out->local, *remote = out->remote;
    memcpy(local, client ? ck : sk, kl);
    memcpy(local + kl, client ? cs : ss, sl);
    memcpy(remote, client ? sk : ck, kl);
    memcpy(remote + kl, client ? ss : cs, sl);
    return 0;
}

void dcgw_srtp_keys_wipe(struct dcgw_srtp_keys *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

int dcgw_srtp_keys_from_dtls(const struct dcgw_dtls *d, struct dcgw_srtp_keys *out)
{
    enum dcgw_srtp_profile p = (enum dcgw_srtp_profile)dcgw_dtls_srtp_profile(d);
    if (dcgw_dtls_state(d) != DCGW_DTLS_CONNECTED)
        return DCGW_ESTATE;
    if (p == DCGW_SRTP_NONE)
        return DCGW_ENOENT;
    size_t kl, sl;
    int rc = dcgw_srtp_profile_lengths(p, &kl, &sl);
    if (rc)
        return rc;
    uint8_t m[2 * DCGW_SRTP_MASTER_MAX];
    /* RFC 5764 §4.2: the exporter of RFC 5705 with label "EXTRACTOR-dtls_srtp", no context */
    rc = dcgw_dtls_export(d, "EXTRACTOR-dtls_srtp", m, 2 * (kl + sl));
    if (rc == 0)
        rc = dcgw_srtp_keys_split(p, m, 2 * (kl + sl), dcgw_dtls_is_client(d), out);
    OPENSSL_cleanse(m, sizeof(m));
    return rc;
}

static int policy_of(enum dcgw_srtp_profile p, srtp_crypto_policy_t *c)
{
    switch (p) {
    case DCGW_SRTP_AES128_CM_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(c);
        return 0;
    case DCGW_SRTP_AES128_CM_SHA1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(c);
        return 0;
    case DCGW_SRTP_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(c);
        return 0;
    case DCGW_SRTP_AEAD_AES_256_GCM:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(c);
        return 0;
    default:
        return DCGW_EUNSUPPORTED;
    }
}

int dcgw_srtp_new(const struct dcgw_srtp_keys *k, bool outbound, unsigned window,
                  struct dcgw_srtp **out)
{
    if (!k || !out || (window && (window < 64 || window >= 0x8000)))
        return DCGW_EINVAL;
    pthread_once(&init_once, init_lib);
    if (init_status != srtp_err_status_ok)
        return DCGW_EINTERNAL;
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    int rc = policy_of(k->profile, &pol.rtp);
    if (rc)
        return rc;
    /* RFC 5764 §4.1.2 / RFC 3711 §5.1: SRTCP uses the same transform, 80-bit tag for CM */
    policy_of(k->profile == DCGW_SRTP_AES128_CM_SHA1_32 ? DCGW_SRTP_AES128_CM_SHA1_80 : k->profile,
              &pol.rtcp);
    uint8_t key[DCGW_SRTP_MASTER_MAX];
    memcpy(key, outbound ? k->local : k->remote, sizeof(key));
    pol.key = key;
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.window_size = window ? window : DCGW_SRTP_REPLAY_WINDOW_DEFAULT;
    pol.allow_repeat_tx = 0; /* RFC 3711 §3.3.2: a sender never repeats an index */
    struct dcgw_srtp *s = calloc(1, sizeof(*s));
    if (!s) {
        OPENSSL_cleanse(key, sizeof(key));
        return DCGW_ENOMEM;
    }
    s->outbound = outbound;
    srtp_err_status_t st = srtp_create(&s->ctx, &pol);
    OPENSSL_cleanse(key, sizeof(key));
    if (st != srtp_err_status_ok) {
        DCGW_ERROR(DTLS, "srtp_create: libsrtp2 error %d", (int)st);
        free(s);
        return st == srtp_err_status_alloc_fail ? DCGW_ENOMEM : DCGW_EINTERNAL;
    }
    *out = s;
    return 0;
}

void dcgw_srtp_free(struct dcgw_srtp *s)
{
    if (!s)
        return;
    srtp_dealloc(s->ctx);
    free(s);
}

int dcgw_srtp_protect(struct dcgw_srtp *s, uint8_t *p, size_t *n, size_t cap, bool rtcp)
{
    if (!s->outbound)
        return DCGW_ESTATE;
    if (*n + DCGW_SRTP_TRAILER_MAX > cap || *n > INT32_MAX)
        return DCGW_ETOOBIG;
    int len = (int)*n;
    srtp_err_status_t st =
        rtcp ? srtp_protect_rtcp(s->ctx, p, &len) : srtp_protect(s->ctx, p, &len);
    if (st != srtp_err_status_ok)
        return DCGW_EINTERNAL;
    *n = (size_t)len;
    return 0;
}

int dcgw_srtp_unprotect(struct dcgw_srtp *s, uint8_t *p, size_t *n, bool rtcp)
{
    if (s->outbound)
        return DCGW_ESTATE;
    if (*n > INT32_MAX)
        return DCGW_EMALFORMED;
    int len = (int)*n;
    srtp_err_status_t st =
        rtcp ? srtp_unprotect_rtcp(s->ctx, p, &len) : srtp_unprotect(s->ctx, p, &len);
    switch (st) {
    case srtp_err_status_ok:
        *n = (size_t)len;
        return 0;
    case srtp_err_status_auth_fail:
        return DCGW_EAUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return DCGW_EREPLAY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
        return DCGW_EMALFORMED;
    default:
        return DCGW_EINTERNAL;
    }
}

void dcgw_srtp_remove(struct dcgw_srtp *s, uint32_t ssrc)
{
    /* libsrtp2 takes the SSRC in network byte order */
    srtp_remove_stream(s->ctx, htonl(ssrc));
}
