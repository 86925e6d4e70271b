/* SRTP stage (src/stages/srtp.c): the reference packets libsrtp2's own test driver checks
 * itself against (test/srtp_driver.c, srtp_validate and srtp_validate_gcm: the same keys,
 * plaintexts and ciphertexts, written out here as hex), the RFC 5764 §4.2 key layout,
 * keys exported from a real DTLS handshake that agreed use_srtp (both ends derive mirror
 * keys and one protects what the other unprotects), profile preference, replay and
 * tampering, and a handshake without use_srtp. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/stages/srtp.h"
#include "helper_dtls_pair.h"
#include "helper_suite.h"

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    return dp_gettimeofday(tv, tz);
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; s[0] && s[1]; s += 2) {
        while (*s == ' ')
            s++;
        unsigned v;
        ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
        ck_assert_uint_lt(n, cap);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* libsrtp2's reference RTP packet: PT 15, seq 0x1234, ts 0xdecafbad, SSRC 0xcafebabe,
 * sixteen bytes of 0xab. */
#define REF_RTP                                                                                    \
    "800f1234decafbadcafebabe"                                                                     \
    "abababababababababababababababab"
/* Its SRTCP counterpart: a sender report header of SSRC 0xcafebabe and 16 bytes of 0xab. */
#define REF_RTCP                                                                                   \
    "81c8000bcafebabe"                                                                             \
    "abababababababababababababababab"

struct vector {
    const char *name;
    enum dcgw_srtp_profile profile;
    const char *key, *salt;
    const char *plain, *cipher;
    bool rtcp;
};

static const struct vector vectors[] = {
    /* srtp_validate: AES_CM_128_HMAC_SHA1_80 */
    {"cm80 rtp", DCGW_SRTP_AES128_CM_SHA1_80, "e1f97a0d3e018be0d64fa32c06de4139",
     "0ec675ad498afeebb6960b3aabe6", REF_RTP,
     "800f1234decafbadcafebabe"
     "4e55dc4ce79978d88ca4d215949d2402"
     "b78d6acc99ea179b8dbb",
     false},
    /* srtp_validate_gcm: AEAD_AES_128_GCM (16-byte tag), RTP and RTCP */
    {"gcm rtp", DCGW_SRTP_AEAD_AES_128_GCM, "000102030405060708090a0b0c0d0e0f",
     "a0a1a2a3a4a5a6a7a8a9aaab", REF_RTP,
     "800f1234decafbadcafebabe"
     "c5002ede04cfdd2eb91159e0880aa06e"
     "d2976826f796b201df3131a127e8a392",
     false},
    {"gcm rtcp", DCGW_SRTP_AEAD_AES_128_GCM, "000102030405060708090a0b0c0d0e0f",
     "a0a1a2a3a4a5a6a7a8a9aaab", REF_RTCP,
     "81c8000bcafebabe"
     "c98b8b5df0392a55852b6c21ac8e7025"
     "c52c6fbea2b3b446ea31123ba88ce61e"
     "80000001",
     true},
};

static void keys_of(const struct vector *v, struct dcgw_srtp_keys *k)
{
    memset(k, 0, sizeof(*k));
    k->profile = v->profile;
    k->key_len = (uint8_t)unhex(v->key, k->local, DCGW_SRTP_KEY_MAX);
    k->salt_len = (uint8_t)unhex(v->salt, k->local + k->key_len, DCGW_SRTP_SALT_MAX);
    memcpy(k->remote, k->local, sizeof(k->remote));
}

START_TEST(reference_packets)
{
    const struct vector *v = &vectors[_i];
    struct dcgw_srtp_keys k;
    keys_of(v, &k);
    struct dcgw_srtp *tx, *rx;
    ck_assert_int_eq(dcgw_srtp_new(&k, true, 0, &tx), 0);
    ck_assert_int_eq(dcgw_srtp_new(&k, false, 0, &rx), 0);
    uint8_t buf[256], want[256], plain[256];
    size_t n = unhex(v->plain, buf, sizeof(buf)), np = n;
    memcpy(plain, buf, n);
    size_t nw = unhex(v->cipher, want, sizeof(want));
    ck_assert_int_eq(dcgw_srtp_protect(tx, buf, &n, sizeof(buf), v->rtcp), 0);
    ck_assert_msg(n == nw && memcmp(buf, want, n) == 0, "%s: ciphertext differs", v->name);
    ck_assert_int_eq(dcgw_srtp_unprotect(rx, buf, &n, v->rtcp), 0);
    ck_assert_uint_eq(n, np);
    ck_assert_mem_eq(buf, plain, n);
    /* the wrong direction is refused */
    ck_assert_int_eq(dcgw_srtp_protect(rx, buf, &n, sizeof(buf), v->rtcp), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_srtp_unprotect(tx, buf, &n, v->rtcp), DCGW_ESTATE);
    dcgw_srtp_free(tx);
    dcgw_srtp_free(rx);
}
END_TEST

START_TEST(replay_and_tampering)
{
    struct dcgw_srtp_keys k;
    keys_of(&vectors[0], &k);
    struct dcgw_srtp *tx, *rx;
    ck_assert_int_eq(dcgw_srtp_new(&k, true, 64, &tx), 0);
    ck_assert_int_eq(dcgw_srtp_new(&k, false, 64, &rx), 0);
    uint8_t pkt[200][192];
    size_t len[200];
    for (int i = 0; i < 200; i++) {
        len[i] = unhex(REF_RTP, pkt[i], sizeof(pkt[i]));
        pkt[i][2] = (uint8_t)(i >> 8);
        pkt[i][3] = (uint8_t)i; /* sequence number i */
        ck_assert_int_eq(dcgw_srtp_protect(tx, pkt[i], &len[i], sizeof(pkt[i]), false), 0);
    }
    uint8_t b[192];
    size_t n;
    /* one bit flipped in the payload, the header or the tag: authentication fails */
    static const size_t flip[] = {12, 20, 3, 8, 37};
    for (size_t f = 0; f < sizeof(flip) / sizeof(flip[0]); f++) {
        memcpy(b, pkt[0], len[0]);
        n = len[0];
        b[flip[f]] ^= 0x01;
        ck_assert_int_eq(dcgw_srtp_unprotect(rx, b, &n, false), DCGW_EAUTH);
    }
    /* the genuine one passes once; again, it is a replay */
    memcpy(b, pkt[0], len[0]);
    n = len[0];
    ck_assert_int_eq(dcgw_srtp_unprotect(rx, b, &n, false), 0);
    memcpy(b, pkt[0], len[0]);
    n = len[0];
    ck_assert_int_eq(dcgw_srtp_unprotect(rx, b, &n, false), DCGW_EREPLAY);
    /* out of order inside the window is fine; older than the window (64) is not */
    for (int i = 199; i >= 100; i--) {
        memcpy(b, pkt[i], len[i]);
        n = len[i];
        ck_assert_int_eq(dcgw_srtp_unprotect(rx, b, &n, false), i > 199 - 64 ? 0 : DCGW_EREPLAY);
    }
    /* truncated below the tag */
    memcpy(b, pkt[1], len[1]);
    n = 14;
    ck_assert_int_lt(dcgw_srtp_unprotect(rx, b, &n, false), 0);
    ck_assert_int_eq(dcgw_srtp_new(&k, false, 10, &rx), DCGW_EINVAL); /* below RFC 3711's 64 */
    dcgw_srtp_free(tx);
    dcgw_srtp_free(rx);
}
END_TEST

START_TEST(key_layout)
{
    /* RFC 5764 §4.2: client key, server key, client salt, server salt */
    uint8_t m[60];
    for (int i = 0; i < 60; i++)
        m[i] = (uint8_t)i;
    struct dcgw_srtp_keys c, s;
    ck_assert_int_eq(dcgw_srtp_keys_split(DCGW_SRTP_AES128_CM_SHA1_80, m, 60, true, &c), 0);
    ck_assert_int_eq(dcgw_srtp_keys_split(DCGW_SRTP_AES128_CM_SHA1_80, m, 60, false, &s), 0);
    ck_assert_uint_eq(c.key_len, 16);
    ck_assert_uint_eq(c.salt_len, 14);
    ck_assert_uint_eq(c.local[0], 0);   /* client key */
    ck_assert_uint_eq(c.local[16], 32); /* client salt */
    ck_assert_uint_eq(c.remote[0], 16); /* server key */
    ck_assert_uint_eq(c.remote[16], 46);
    ck_assert_mem_eq(c.local, s.remote, 30);
    ck_assert_mem_eq(c.remote, s.local, 30);
    /* GCM: 16-byte keys, 12-byte salts, 56 bytes in all */
    ck_assert_int_eq(dcgw_srtp_keys_split(DCGW_SRTP_AEAD_AES_128_GCM, m, 56, true, &c), 0);
    ck_assert_uint_eq(c.local[16], 32);
    ck_assert_uint_eq(c.remote[16], 44);
    ck_assert_int_eq(dcgw_srtp_keys_split(DCGW_SRTP_AEAD_AES_128_GCM, m, 60, true, &c),
                     DCGW_EINVAL);
    ck_assert_int_eq(dcgw_srtp_keys_split((enum dcgw_srtp_profile)0x0003, m, 60, true, &c),
                     DCGW_EUNSUPPORTED);
    ck_assert_str_eq(dcgw_srtp_profile_name(DCGW_SRTP_AEAD_AES_128_GCM), "SRTP_AEAD_AES_128_GCM");
}
END_TEST

/* A handshake between a (client, offering ca) and b (server, offering cb). */
static void handshake(struct dp_world *w, const char *ca, const char *cb)
{
    dp_world_init(w, 0, 0, 0, 7);
    struct dcgw_dtls_settings sa = {.srtp_profiles = ca}, sb = {.srtp_profiles = cb};
    dp_world_legs(w, sa, sb);
    dp_world_run(w, 10000);
    ck_assert_int_eq(dcgw_dtls_state(w->a.d), DCGW_DTLS_CONNECTED);
    ck_assert_int_eq(dcgw_dtls_state(w->b.d), DCGW_DTLS_CONNECTED);
}

static void exchange(const struct dcgw_srtp_keys *from, const struct dcgw_srtp_keys *to)
{
    struct dcgw_srtp *tx, *rx;
    ck_assert_int_eq(dcgw_srtp_new(from, true, 0, &tx), 0);
    ck_assert_int_eq(dcgw_srtp_new(to, false, 0, &rx), 0);
    uint8_t b[256], p[256];
    size_t n = unhex(REF_RTP, b, sizeof(b)), np = n;
    memcpy(p, b, n);
    ck_assert_int_eq(dcgw_srtp_protect(tx, b, &n, sizeof(b), false), 0);
    ck_assert_int_eq(dcgw_srtp_unprotect(rx, b, &n, false), 0);
    ck_assert_uint_eq(n, np);
    ck_assert_mem_eq(b, p, n);
    dcgw_srtp_free(tx);
    dcgw_srtp_free(rx);
}

START_TEST(keys_from_a_handshake)
{
    struct dp_world w;
    handshake(&w, DCGW_SRTP_PROFILES_OFFER, DCGW_SRTP_PROFILES_OFFER);
    ck_assert_uint_eq(dcgw_dtls_srtp_profile(w.a.d), DCGW_SRTP_AEAD_AES_128_GCM);
    ck_assert_uint_eq(dcgw_dtls_srtp_profile(w.b.d), DCGW_SRTP_AEAD_AES_128_GCM);
    struct dcgw_srtp_keys ka, kb;
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.a.d, &ka), 0);
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.b.d, &kb), 0);
    ck_assert_uint_eq(ka.key_len, 16);
    ck_assert_uint_eq(ka.salt_len, 12);
    /* what the client writes with is what the server reads with, and back */
    ck_assert_mem_eq(ka.local, kb.remote, 28);
    ck_assert_mem_eq(ka.remote, kb.local, 28);
    ck_assert(memcmp(ka.local, ka.remote, 28) != 0);
    exchange(&ka, &kb);
    exchange(&kb, &ka);
    /* the exporter is the RFC 5705 one: the same label gives the same bytes on both ends */
    uint8_t ea[32], eb[32];
    ck_assert_int_eq(dcgw_dtls_export(w.a.d, "EXTRACTOR-dtls_srtp", ea, sizeof(ea)), 0);
    ck_assert_int_eq(dcgw_dtls_export(w.b.d, "EXTRACTOR-dtls_srtp", eb, sizeof(eb)), 0);
    ck_assert_mem_eq(ea, eb, sizeof(ea));
    ck_assert_mem_eq(ea, ka.local, 16); /* the client write key comes first */
    dcgw_srtp_keys_wipe(&ka);
    dp_world_free(&w);
}
END_TEST

START_TEST(server_preference_wins)
{
    /* the client prefers AES-CM; dcgw as the server prefers GCM (RFC 5764 §4.1.1: the
     * server picks one the client offered) */
    struct dp_world w;
    handshake(&w, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM", DCGW_SRTP_PROFILES_OFFER);
    ck_assert_uint_eq(dcgw_dtls_srtp_profile(w.b.d), DCGW_SRTP_AEAD_AES_128_GCM);
    dp_world_free(&w);
    /* a client that offers only AES-CM gets it */
    handshake(&w, "SRTP_AES128_CM_SHA1_80", DCGW_SRTP_PROFILES_OFFER);
    ck_assert_uint_eq(dcgw_dtls_srtp_profile(w.a.d), DCGW_SRTP_AES128_CM_SHA1_80);
    struct dcgw_srtp_keys ka, kb;
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.a.d, &ka), 0);
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.b.d, &kb), 0);
    ck_assert_uint_eq(ka.salt_len, 14);
    exchange(&ka, &kb);
    dp_world_free(&w);
}
END_TEST

START_TEST(no_use_srtp)
{
    /* a peer that offers no use_srtp: the handshake completes (data channels work), but
     * there are no SRTP keys */
    struct dp_world w;
    handshake(&w, NULL, DCGW_SRTP_PROFILES_OFFER);
    ck_assert_uint_eq(dcgw_dtls_srtp_profile(w.b.d), 0);
    struct dcgw_srtp_keys k;
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.b.d, &k), DCGW_ENOENT);
    dp_world_free(&w);
    /* and before the handshake there is nothing to export */
    dp_world_init(&w, 0, 0, 0, 7);
    dp_world_legs(&w, (struct dcgw_dtls_settings){.srtp_profiles = DCGW_SRTP_PROFILES_OFFER},
                  (struct dcgw_dtls_settings){.srtp_profiles = DCGW_SRTP_PROFILES_OFFER});
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(w.a.d, &k), DCGW_ESTATE);
    uint8_t e[8];
    ck_assert_int_eq(dcgw_dtls_export(w.a.d, "EXTRACTOR-dtls_srtp", e, sizeof(e)), DCGW_ESTATE);
    dp_world_free(&w);
}
END_TEST

START_TEST(bad_profile_list)
{
    struct dp_world w;
    dp_world_init(&w, 0, 0, 0, 7);
    struct dcgw_fingerprint fp = dp_fp_of(w.cb, DCGW_HASH_SHA256);
    struct dcgw_dtls_settings s = {.client = true,
                                   .remote_fps = &fp,
                                   .n_remote_fps = 1,
                                   .srtp_profiles = "SRTP_NO_SUCH_PROFILE"};
    struct dcgw_dtls_callbacks cb = {.send = dp_cb_send};
    struct dcgw_dtls *d = NULL;
    ck_assert_int_eq(dcgw_dtls_new(w.xa, &s, &cb, &d), DCGW_ECONFIG);
    ck_assert_ptr_null(d);
    dp_world_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("srtp");
    TCase *tc = tcase_create("vectors");
    tcase_add_loop_test(tc, reference_packets, 0, (int)(sizeof(vectors) / sizeof(vectors[0])));
    tcase_add_test(tc, replay_and_tampering);
    tcase_add_test(tc, key_layout);
    suite_add_tcase(s, tc);
    const TTest *dtls[] = {keys_from_a_handshake, server_preference_wins, no_use_srtp,
                           bad_profile_list, NULL};
    tsuite_add(s, "dtls", 60, NULL, NULL, dtls);
    return tsuite_run(s);
}
