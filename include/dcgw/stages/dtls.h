/* DTLS 1.2 stage (RFC 6347) for WebRTC data channels, on OpenSSL 3.0 with no I/O:
 * datagrams come in through dcgw_dtls_recv() and leave through the send callback, time
 * comes in as now_ms, and the peer is authenticated by the certificate fingerprints its
 * SDP carried (RFC 8122 §5, RFC 5763 §6.7.1, RFC 8842). See docs/dtls.md.
 *
 * A struct dcgw_dtls_ctx is one per worker: an SSL_CTX holding the worker's certificate,
 * for both roles. A struct dcgw_dtls is one endpoint (one leg). Neither is thread-safe. */
#ifndef DCGW_DTLS_H
#define DCGW_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "dcgw/stages/cert.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"

enum dcgw_dtls_limits {
    DCGW_DTLS_MTU_DEFAULT = 1200, /* bytes of UDP payload per datagram */
    DCGW_DTLS_MTU_MIN = 256,      /* OpenSSL's smallest link MTU */
    DCGW_DTLS_MTU_MAX = 16384,
    DCGW_DTLS_PLAINTEXT_MAX = DCGW_TLS_PLAINTEXT_MAX, /* limits.h */
    DCGW_DTLS_RECORD_MAX = DCGW_DTLS_CIPHERTEXT_MAX,  /* DTLSCiphertext.length cap */
    /* larger datagrams are dropped */
    DCGW_DTLS_DATAGRAM_MAX = DCGW_DTLS_HEADER + DCGW_DTLS_CIPHERTEXT_MAX,
    DCGW_DTLS_TIMEOUT_INITIAL_DEFAULT_MS = 1000, /* RFC 6347 §4.2.4.1 */
    DCGW_DTLS_TIMEOUT_INITIAL_MIN_MS = 1,
    DCGW_DTLS_TIMEOUT_MAX_DEFAULT_MS = 60000, /* doubling stops here, RFC 6347 §4.2.4.1 */
    DCGW_DTLS_TIMEOUT_MAX_CEILING_MS = 600000,
    DCGW_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS = 30000,
    DCGW_DTLS_MAX_FINGERPRINTS = DCGW_SDP_MAX_FINGERPRINTS,
    /* OpenSSL 3.0's record buffers of a leg: read (a maximal record and its overhead) and
     * write (a maximal fragment and its overhead), what dcgw_dtls_trim gives back */
    DCGW_DTLS_RECORD_BUFFERS = 36 * 1024,
    DCGW_DTLS_REASON_MAX = DCGW_REASON_TEXT_MAX, /* failure reasons, NUL included */
};

enum dcgw_dtls_state {
    DCGW_DTLS_NEW, /* created, not started */
    DCGW_DTLS_HANDSHAKING,
    DCGW_DTLS_CONNECTED, /* fingerprint checked, application data flows */
    DCGW_DTLS_CLOSED,    /* close_notify sent or received */
    DCGW_DTLS_FAILED,    /* on_failed was called; the leg is dead */
};

/* "handshaking" etc. Static storage. */
const char *dcgw_dtls_state_name(enum dcgw_dtls_state s);

/* ---- per-worker context ---------------------------------------------------------------- */

struct dcgw_dtls_ctx_settings {
    struct dcgw_cert *cert; /* required; the context takes its own reference */
    /* OpenSSL cipher list; NULL: AEAD-only ECDHE suites (ECDSA and RSA; AES-GCM, ChaCha20).
     * Validated: a list that leaves a non-AEAD suite enabled is refused. */
    const char *ciphers;
    const char *groups; /* NULL: "X25519:P-256:P-384" */
    /* use_srtp profiles to offer (RFC 5764), e.g. DCGW_DTLS_SRTP_PROFILES; NULL: none. A
     * leg may override it (dcgw_dtls_settings.srtp_profiles). Some peers (Janus 1.1)
     * refuse a handshake without a profile even for data channels only. */
    const char *srtp_profiles;
};

#define DCGW_DTLS_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

struct dcgw_dtls_ctx;

/* Builds the SSL_CTX: DTLS 1.2 only, the cipher and group policy, the certificate, peer
 * certificates required and checked only against the SDP fingerprints, no session
 * tickets, no resumption, no renegotiation, no cookie exchange (ICE already proved the
 * peer's address, RFC 8445 §7.2.2, so DTLS cookies add a round trip for nothing).
 * Returns 0, DCGW_EINVAL (no cert), DCGW_ECONFIG (cipher/group list refused) or
 * DCGW_ENOMEM/DCGW_EINTERNAL. */
int dcgw_dtls_ctx_new(const struct dcgw_dtls_ctx_settings *s, struct dcgw_dtls_ctx **out);
/* Drops the owner's reference. Legs hold their own, so the context may be freed while
 * legs made from it are alive; it goes when the last leg does. NULL is a no-op. */
void dcgw_dtls_ctx_free(struct dcgw_dtls_ctx *ctx);
/* The certificate (borrowed): its fingerprint is the local a=fingerprint. */
struct dcgw_cert *dcgw_dtls_ctx_cert(const struct dcgw_dtls_ctx *ctx);

/* ---- one leg --------------------------------------------------------------------------- */

struct dcgw_dtls_settings {
    bool client; /* from the negotiated a=setup: active => client (RFC 4145, RFC 5763 §5) */
    /* The peer's a=fingerprint values (copied; 1..DCGW_DTLS_MAX_FINGERPRINTS). */
    const struct dcgw_fingerprint *remote_fps;
    size_t n_remote_fps;
    /* Fingerprints with a weaker hash are ignored; when none is left the handshake fails
     * with DCGW_EWEAKHASH. DCGW_HASH_NONE (0): DCGW_HASH_SHA256. */
    enum dcgw_hash min_hash;
    unsigned mtu;                  /* 0: DCGW_DTLS_MTU_DEFAULT; UDP payload bytes */
    unsigned max_plaintext;        /* 0: DCGW_DTLS_PLAINTEXT_MAX; largest dcgw_dtls_send */
    unsigned initial_timeout_ms;   /* 0: DCGW_DTLS_TIMEOUT_INITIAL_DEFAULT_MS */
    unsigned max_timeout_ms;       /* 0: DCGW_DTLS_TIMEOUT_MAX_DEFAULT_MS */
    unsigned handshake_timeout_ms; /* 0: DCGW_DTLS_HANDSHAKE_TIMEOUT_DEFAULT_MS */
    /* use_srtp profiles this leg offers (client) or accepts (server), most preferred first
     * (RFC 5764 §4.1.1; OpenSSL names, e.g. DCGW_SRTP_PROFILES_OFFER in srtp.h); NULL: the
     * context's. Set it for a leg that carries audio or video. */
    const char *srtp_profiles;
};

/* Output and events. Pointers passed to callbacks are valid only during the call.
 * send runs while OpenSSL is working: it must not call any dcgw_dtls function on this leg
 * (copy or transmit the datagram, nothing else). The on_* callbacks run outside OpenSSL:
 * they may call dcgw_dtls_send and dcgw_dtls_close on this leg, and dcgw_dtls_free (the
 * leg is then released when the call that raised the event returns: base/reentry.h).
 * Any may be NULL except send. */
struct dcgw_dtls_callbacks {
    void *ud;
    /* One outgoing datagram (one or more whole DTLS records, at most mtu bytes unless a
     * single application record is larger). */
    void (*send)(void *ud, const uint8_t *p, size_t n);
    /* Handshake complete and the peer's certificate matched `matched` (one of the
     * remote fingerprints). Raised before any on_data. */
    void (*on_connected)(void *ud, const struct dcgw_fingerprint *matched);
    /* One decrypted application record (an SCTP packet, for data channels). */
    void (*on_data)(void *ud, const uint8_t *p, size_t n);
    /* The leg failed: err is DCGW_EFINGERPRINT, DCGW_EWEAKHASH, DCGW_ETIMEOUT, DCGW_ETLS
     * (local OpenSSL failure) or DCGW_EALERT(desc) (fatal alert from the peer); reason is
     * human-readable. Raised once; nothing is delivered after it. */
    void (*on_failed)(void *ud, int err, const char *reason);
    /* The peer sent close_notify (we answered with ours). Not raised for dcgw_dtls_close. */
    void (*on_closed)(void *ud);
};

struct dcgw_dtls_stats {
    uint64_t datagrams_in, bytes_in; /* all datagrams offered to dcgw_dtls_recv */
    uint64_t datagrams_out, bytes_out;
    uint64_t records_in; /* well-framed records handed to OpenSSL */
    uint64_t records_out;
    uint64_t bad_records; /* malformed framing, or (once connected) records OpenSSL
                             discarded: bad MAC, replayed, wrong epoch (RFC 6347 §4.1.2.7) */
    uint64_t app_records_in, app_bytes_in, app_records_out, app_bytes_out;
    uint64_t retransmits; /* flights resent on timeout */
    uint64_t handshake_failures;
    uint64_t buffer_releases; /* dcgw_dtls_trim calls that gave the record buffers back */
    uint64_t buffer_regrows;  /* and records that took them again */
};

/* What was negotiated; pointers are static strings or valid while the leg lives. */
struct dcgw_dtls_info {
    const char *version; /* "DTLSv1.2" */
    const char *cipher;  /* OpenSSL name, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256" */
    const char *group;   /* key exchange group, e.g. "x25519"; "" when unknown */
    bool aead;
};

struct dcgw_dtls;

/* Creates a leg. Settings are validated and copied. The leg holds a reference on ctx.
 * Returns 0, DCGW_EINVAL (no send callback, no or too many fingerprints, a fingerprint
 * whose length does not fit its hash), DCGW_ERANGE (mtu, sizes or timeouts outside their
 * bounds) or DCGW_ENOMEM. */
int dcgw_dtls_new(struct dcgw_dtls_ctx *ctx, const struct dcgw_dtls_settings *s,
                  const struct dcgw_dtls_callbacks *cbs, struct dcgw_dtls **out);
/* Starts the handshake: a client sends its ClientHello, a server waits for one. Starts the
 * handshake deadline. Returns 0 or DCGW_ESTATE (already started); a failure while sending
 * is reported through on_failed and returned. */
int dcgw_dtls_start(struct dcgw_dtls *d, uint64_t now_ms);
/* One datagram from the peer (the demux already classified it as DTLS, RFC 7983). Bad
 * records are dropped and counted; they never fail the leg. May raise any callback.
 * Returns 0 (also for dropped input), DCGW_ESTATE (not started, or called from inside one
 * of this leg's callbacks), DCGW_ECLOSED (closed or failed: input ignored), or the error
 * just reported through on_failed. */
int dcgw_dtls_recv(struct dcgw_dtls *d, const uint8_t *p, size_t n, uint64_t now_ms);
/* Encrypts one application record and sends it. Returns 0, DCGW_ESTATE (not connected),
 * DCGW_ETOOBIG (n above max_plaintext), DCGW_EINVAL (n == 0) or DCGW_ETLS. */
int dcgw_dtls_send(struct dcgw_dtls *d, const uint8_t *p, size_t n);
/* Absolute time (ms, the caller's clock) of the next retransmission or deadline;
 * UINT64_MAX when none. */
uint64_t dcgw_dtls_next_timeout(const struct dcgw_dtls *d);
/* Runs due timers: retransmits the last flight, fails the leg when the handshake deadline
 * or OpenSSL's retransmission limit passes (DCGW_ETIMEOUT via on_failed). Calling it early
 * is harmless and cheap: OpenSSL is not entered (a trimmed leg stays trimmed). Returns 0
 * or the error just reported. */
int dcgw_dtls_handle_timeout(struct dcgw_dtls *d, uint64_t now_ms);
/* Sends close_notify when connected, then the leg is CLOSED; a handshake in progress is
 * abandoned silently. Idempotent; on_closed is not raised. */
void dcgw_dtls_close(struct dcgw_dtls *d);
/* An idle connected leg gives OpenSSL's record buffers back (SSL_free_buffers: about 35 KiB;
 * OpenSSL allocates them again for the next record either way). Call it when the leg has
 * been quiet for a while, not per record (that would be a malloc/free per record). Returns
 * true when released; false when not connected, inside a callback, or records are
 * pending. */
bool dcgw_dtls_trim(struct dcgw_dtls *d);
/* Releases by dcgw_dtls_trim in this process so far, each about DCGW_DTLS_RECORD_BUFFERS
 * bytes: the owner may give the heap's free pages back to the system once they add up
 * (malloc_trim: the buffers leave holes between live blocks otherwise). */
uint64_t dcgw_dtls_releases_total(void);
/* The peer's certificate (borrowed, valid while the leg lives) once it has been checked
 * against the SDP fingerprints; NULL before. */
X509 *dcgw_dtls_peer_cert(const struct dcgw_dtls *d);
enum dcgw_dtls_state dcgw_dtls_state(const struct dcgw_dtls *d);
const struct dcgw_dtls_stats *dcgw_dtls_stats(const struct dcgw_dtls *d);
/* The reason of the failure, "" when the leg has not failed. */
const char *dcgw_dtls_reason(const struct dcgw_dtls *d);
/* Negotiated parameters. Returns 0 or DCGW_ESTATE before the handshake completed. */
int dcgw_dtls_get_info(const struct dcgw_dtls *d, struct dcgw_dtls_info *out);
/* The use_srtp protection profile the handshake agreed (RFC 5764 §4.1.2: the wire id, e.g.
 * 0x0007 for SRTP_AEAD_AES_128_GCM); 0 when none or before the handshake completed. */
unsigned dcgw_dtls_srtp_profile(const struct dcgw_dtls *d);
/* Keying material exporter (RFC 5705) of a connected leg: n bytes for label, no context.
 * Returns 0, DCGW_ESTATE (not connected) or DCGW_ETLS. */
int dcgw_dtls_export(const struct dcgw_dtls *d, const char *label, uint8_t *out, size_t n);
/* dcgw's role on the leg: true for the DTLS client. */
bool dcgw_dtls_is_client(const struct dcgw_dtls *d);
/* Largest plaintext that fits one datagram of mtu bytes with the negotiated cipher (what
 * the SCTP stage may put in one packet); 0 before the handshake completed. */
size_t dcgw_dtls_data_mtu(const struct dcgw_dtls *d);
/* Frees the leg (no alert is sent: call dcgw_dtls_close first for a clean close). From
 * inside an on_* callback the release waits for the call that raised it to return (not
 * from send, which runs inside OpenSSL). NULL is a no-op. */
void dcgw_dtls_free(struct dcgw_dtls *d);

/* ---- which libssl (src/stages/dtls_version.c) ------------------------------------------ */

/* true when dcgw links libssl built with its patch (third_party/openssl: the handshake buffer
 * is released at the end of the handshake), false for the system's libssl. */
bool dcgw_dtls_libssl_patched(void);
/* The OpenSSL version (OPENSSL_VERSION_NUMBER) of the headers libssl was built with, and that
 * of the libcrypto in use (OpenSSL_version_num). Returns true when they are the same: a
 * difference works (3.0.x keeps its ABI) but is worth a warning. */
bool dcgw_dtls_libssl_versions(unsigned long *built, unsigned long *runtime);

/* ---- record framing ------------------------------------------------------------------- */

struct dcgw_dtls_scan {
    unsigned records;      /* well-framed records in the accepted prefix */
    unsigned app_records;  /* of which application_data (23) */
    bool trailing_garbage; /* bytes after the prefix were not a well-framed record */
};

/* Walks the DTLS record headers of one datagram (RFC 6347 §4.1: type, version, epoch,
 * sequence number, length) and returns the length of the longest prefix made of whole
 * records with a known content type (20..23), a DTLS version (0xFEFF or 0xFEFD) and a
 * length within DCGW_DTLS_RECORD_MAX. Nothing is decrypted. 0 means nothing usable. */
size_t dcgw_dtls_record_scan(const uint8_t *p, size_t n, struct dcgw_dtls_scan *out);

#endif
