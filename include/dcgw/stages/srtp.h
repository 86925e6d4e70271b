/* SRTP and SRTCP (RFC 3711, RFC 7714) with libsrtp2, keyed from DTLS (RFC 5764): one
 * session per leg and direction. No I/O; packets are protected and unprotected in the
 * caller's buffer.
 *
 * Keys: the DTLS handshake agrees a protection profile through the use_srtp extension
 * (RFC 5764 §4.1.2) and both ends export 2 * (key + salt) bytes with the label
 * "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2), laid out as client key, server key, client salt,
 * server salt. The client writes with the client's key and salt, the server with the
 * server's. */
#ifndef DCGW_SRTP_H
#define DCGW_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dcgw_dtls;

/* Protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2): the wire ids. */
enum dcgw_srtp_profile {
    DCGW_SRTP_NONE = 0,
    DCGW_SRTP_AES128_CM_SHA1_80 = 0x0001,
    DCGW_SRTP_AES128_CM_SHA1_32 = 0x0002,
    DCGW_SRTP_AEAD_AES_128_GCM = 0x0007,
    DCGW_SRTP_AEAD_AES_256_GCM = 0x0008,
};

/* The profiles dcgw offers for media, most preferred first (OpenSSL names). */
#define DCGW_SRTP_PROFILES_OFFER "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

enum dcgw_srtp_limits {
    DCGW_SRTP_KEY_MAX = 32,                                        /* AES-256 */
    DCGW_SRTP_SALT_MAX = 14,                                       /* AES-CM; GCM uses 12 */
    DCGW_SRTP_MASTER_MAX = DCGW_SRTP_KEY_MAX + DCGW_SRTP_SALT_MAX, /* key || salt */
    DCGW_SRTP_TRAILER_MAX = 16 + 4 + 128,   /* tag, SRTCP index, MKI (libsrtp2's bounds) */
    DCGW_SRTP_REPLAY_WINDOW_DEFAULT = 1024, /* packets (RFC 3711 §3.3.2: at least 64) */
};

/* The master keys of one leg, from dcgw's point of view. */
struct dcgw_srtp_keys {
    enum dcgw_srtp_profile profile;
    uint8_t key_len, salt_len;
    uint8_t local[DCGW_SRTP_MASTER_MAX];  /* dcgw's writes: key || salt */
    uint8_t remote[DCGW_SRTP_MASTER_MAX]; /* the peer's writes */
};

/* "SRTP_AEAD_AES_128_GCM", ... ; "none"; "unknown". Static storage. */
const char *dcgw_srtp_profile_name(enum dcgw_srtp_profile p);

/* Key and salt lengths of a profile; DCGW_EUNSUPPORTED for one dcgw does not carry. */
int dcgw_srtp_profile_lengths(enum dcgw_srtp_profile p, size_t *key_len, size_t *salt_len);

/* Splits exported keying material (RFC 5764 §4.2: client key, server key, client salt,
 * server salt) into dcgw's and the peer's master keys; `client` is dcgw's DTLS role.
 * Returns 0, DCGW_EUNSUPPORTED (profile) or DCGW_EINVAL (n is not 2 * (key + salt)). */
int dcgw_srtp_keys_split(enum dcgw_srtp_profile profile, const uint8_t *material, size_t n,
                         bool client, struct dcgw_srtp_keys *out);

/* The keys of a connected DTLS leg: the profile its handshake agreed and the exported
 * material. DCGW_ESTATE before the handshake completed, DCGW_ENOENT when the peers agreed
 * no profile (no use_srtp), DCGW_EUNSUPPORTED for a profile dcgw does not carry,
 * DCGW_ETLS when the export fails. */
int dcgw_srtp_keys_from_dtls(const struct dcgw_dtls *d, struct dcgw_srtp_keys *out);

/* Wipes keys (OPENSSL_cleanse). */
void dcgw_srtp_keys_wipe(struct dcgw_srtp_keys *k);

struct dcgw_srtp;

/* One libsrtp2 session for one direction of a leg: outbound protects with the local
 * key, inbound unprotects with the remote key. Any SSRC (libsrtp2's ssrc_any templates);
 * replay protection on with a window of `window` packets (0: the default). Returns 0,
 * DCGW_EINVAL, DCGW_EUNSUPPORTED, DCGW_ENOMEM or DCGW_EINTERNAL (libsrtp2 refused). */
int dcgw_srtp_new(const struct dcgw_srtp_keys *k, bool outbound, unsigned window,
                  struct dcgw_srtp **out);
void dcgw_srtp_free(struct dcgw_srtp *s);

/* Protects the RTP (rtcp false) or RTCP packet p[0..*n) in place; cap must leave
 * DCGW_SRTP_TRAILER_MAX bytes past *n. *n becomes the protected length. Returns 0,
 * DCGW_ETOOBIG (cap), DCGW_ESTATE (an inbound session) or DCGW_EINTERNAL. */
int dcgw_srtp_protect(struct dcgw_srtp *s, uint8_t *p, size_t *n, size_t cap, bool rtcp);
/* Authenticates, checks replay and decrypts in place. Returns 0 (*n the plain length),
 * DCGW_EAUTH (authentication failed), DCGW_EREPLAY (replayed or too old), DCGW_EMALFORMED
 * (too short or not parseable) or DCGW_EINTERNAL. Never keeps a pointer to p. */
int dcgw_srtp_unprotect(struct dcgw_srtp *s, uint8_t *p, size_t *n, bool rtcp);
/* Forgets the state of one SSRC (its replay window and rollover counter). */
void dcgw_srtp_remove(struct dcgw_srtp *s, uint32_t ssrc);

#endif
