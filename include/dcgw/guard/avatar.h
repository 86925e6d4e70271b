/* The avatar verifier (DESIGN.md §7, docs/avatar-envelope.md): what travels on a data
 * channel of kind avatar, checked before a byte of it is forwarded.
 *
 * One verifier watches one direction of one avatar channel (the messages one leg's peer
 * sends on it). It accepts, in any number and order between transfers:
 *  - a signed avatar transfer: a text message holding the manifest, a JWS of typ
 *    avatar-manifest+jwt whose signer chains to a trust anchor (trust.h), whose claims
 *    are in force and whose avatar_id the controller authorized for its owner (sub);
 *    then the chunks, one binary message each, in order, each forwarded only once its
 *    SHA-256 equals the manifest's entry. Memory per transfer: the manifest's digests
 *    (32 bytes per chunk); chunks are hashed where they lie and never copied;
 *  - a request token: a text message holding a JWS of typ avatar-request+jwt, signed with
 *    the key of the DTLS certificate the sending leg's peer authenticated with, for an
 *    avatar id authorized for its issuer (iss), unexpired.
 * The first message that fails rejects the channel direction for good: the verifier then
 * refuses everything; the owner closes the channel on both legs and reports the reason.
 *
 * A pure stage (DESIGN §4): no I/O, no clock (the wall clock comes in as now_unix, seconds,
 * because exp / nbf / iat and certificate validity are absolute dates). Nothing here
 * reports events: results go back to the caller. Not thread-safe. */
#ifndef DCGW_AVATAR_H
#define DCGW_AVATAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "dcgw/base/limits.h"
#include "dcgw/guard/trust.h"

enum dcgw_avatar_limits {
    DCGW_AVATAR_ID_MAX = 128,                /* avatar_id, bytes */
    DCGW_AVATAR_IDENTITY_MAX = 256,          /* iss, sub, aud entries */
    DCGW_AVATAR_CTY_MAX = 128,               /* cty */
    DCGW_AVATAR_LEG_MAX = DCGW_LEG_NAME_MAX, /* a leg name in a grant (limits.h) */
    DCGW_AVATAR_DETAIL_MAX = 200,            /* a rejection's text, NUL included */
    DCGW_AVATAR_GRANTS_MAX = 4096,           /* (owner, avatar id) pairs in one grant list */
    DCGW_AVATAR_CHUNKS_CEILING = 1 << 16,
    DCGW_AVATAR_DIGEST_LEN = 32, /* SHA-256 */
    DCGW_AVATAR_MAX_SIZE_DEFAULT = 64 << 20,
    DCGW_AVATAR_CHUNK_SIZE_DEFAULT = 256 << 10, /* a chunk is one message: <= max-message-size */
    DCGW_AVATAR_MAX_CHUNKS_DEFAULT = 4096,
    DCGW_AVATAR_CLOCK_SKEW_DEFAULT_S = 60,
    DCGW_AVATAR_TRANSFER_TIMEOUT_DEFAULT_MS = 30000, /* manifest to last chunk */
    DCGW_AVATAR_TRANSFER_TIMEOUT_MAX_MS = 3600000,
};

/* Why a message was refused. The order matches AvatarReason in proto/dcgw.proto. */
#define DCGW_AVATAR_REASON_MAP(XX)                                                                 \
    XX(NONE, "none")                                                                               \
    XX(BAD_SIGNATURE, "bad signature")                                                             \
    XX(UNTRUSTED_SIGNER, "untrusted signer")                                                       \
    XX(EXPIRED, "expired")                                                                         \
    XX(NOT_YET_VALID, "not yet valid")                                                             \
    XX(NOT_AUTHORIZED, "avatar id not authorized")                                                 \
    XX(DIGEST_MISMATCH, "digest mismatch")                                                         \
    XX(SIZE_MISMATCH, "size mismatch")                                                             \
    XX(TOO_LARGE, "over the policy's maximum")                                                     \
    XX(MALFORMED, "malformed")                                                                     \
    XX(UNDELIVERED, "not delivered")                                                               \
    XX(TIMEOUT, "timeout")

enum dcgw_avatar_reason {
#define DCGW__AV_REASON(name, str) DCGW_AVATAR_##name,
    DCGW_AVATAR_REASON_MAP(DCGW__AV_REASON)
#undef DCGW__AV_REASON
};

/* "bad signature"...; static storage. */
const char *dcgw_avatar_reason_name(enum dcgw_avatar_reason r);

/* ---- authorizations: which owner may use which avatar id ------------------------------- */

struct dcgw_avatar_grants;

int dcgw_avatar_grants_new(struct dcgw_avatar_grants **out);
void dcgw_avatar_grants_free(struct dcgw_avatar_grants *g);
/* Authorizes owner (a manifest's sub, a request token's iss) to use avatar_id. leg (NULL or
 * "": any) binds the owner's request tokens to the leg whose peer may present them, so a
 * UE cannot ask for another user's avatar by naming that user as iss. Copies the strings.
 * 0, DCGW_EINVAL (empty or over-long strings), DCGW_ELIMIT, DCGW_ENOMEM. */
int dcgw_avatar_grants_add(struct dcgw_avatar_grants *g, const char *owner, const char *avatar_id,
                           const char *leg);
/* True when some grant names owner and avatar_id, and (leg non-NULL) no leg or that leg. */
bool dcgw_avatar_grants_allow(const struct dcgw_avatar_grants *g, const char *owner,
                              const char *avatar_id, const char *leg);
size_t dcgw_avatar_grants_count(const struct dcgw_avatar_grants *g);

/* ---- the verifier of one channel direction --------------------------------------------- */

struct dcgw_avatar_settings {
    struct dcgw_trust *trust;                /* manifest signers; the verifier takes a ref */
    const struct dcgw_avatar_grants *grants; /* borrowed: must outlive the verifier */
    const char *leg;      /* name of the leg whose peer sends on this direction; copied */
    const char *audience; /* NULL / "": aud not compared; else it must be among aud */
    uint64_t max_size;    /* bytes of one avatar */
    uint32_t max_chunk_size;
    uint32_t max_chunks;
    uint32_t clock_skew_s; /* leeway on exp, nbf, iat */
    uint32_t min_rsa_bits; /* 0: DCGW_JWS_RSA_MIN_BITS_DEFAULT */
    /* a transfer must end within this many ms of its manifest (the clock of
     * dcgw_avatar_input_ms); 0: no limit */
    uint32_t transfer_timeout_ms;
};

/* Defaults of the limits above (no trust, no grants: nothing passes). */
void dcgw_avatar_settings_default(struct dcgw_avatar_settings *s);

enum dcgw_avatar_what {
    DCGW_AVATAR_NOTHING,  /* nothing to report (refused after an earlier rejection) */
    DCGW_AVATAR_MANIFEST, /* manifest accepted: forward it; its chunks come next */
    DCGW_AVATAR_CHUNK,    /* chunk `chunk` verified: forward it */
    DCGW_AVATAR_COMPLETE, /* the last chunk verified: forward it; the avatar is whole */
    DCGW_AVATAR_REQUEST,  /* request token accepted: forward it */
    DCGW_AVATAR_REJECTED, /* refused for `reason`: drop it, close the channel */
};

/* What one message was. Strings are NUL-terminated, possibly truncated. */
struct dcgw_avatar_result {
    enum dcgw_avatar_what what;
    enum dcgw_avatar_reason reason; /* REJECTED */
    bool request;                   /* about a request token (else a transfer) */
    uint32_t chunk;                 /* CHUNK / COMPLETE / DIGEST_MISMATCH...: index, from 0 */
    uint32_t chunks;                /* chunks in the manifest (0 before one) */
    uint64_t size;                  /* the manifest's size */
    char avatar_id[DCGW_AVATAR_ID_MAX + 1];
    char owner[DCGW_AVATAR_IDENTITY_MAX + 1]; /* sub of a manifest, iss of a request */
    char signer[DCGW_TRUST_WHO_MAX];          /* "CN=...", "kid:..." */
    char detail[DCGW_AVATAR_DETAIL_MAX];
};

struct dcgw_avatar_stats {
    uint64_t manifests, chunks, bytes, transfers; /* accepted; transfers completed */
    uint64_t requests;                            /* request tokens accepted */
    uint64_t rejected;                            /* 0 or 1: the rejection */
    uint64_t refused_after;                       /* messages refused after it */
};

struct dcgw_avatar;

/* Settings are copied (strings too); DCGW_EINVAL (no grants or trust, zero limits, chunk
 * count over the ceiling), DCGW_ENOMEM. */
int dcgw_avatar_new(const struct dcgw_avatar_settings *s, struct dcgw_avatar **out);
void dcgw_avatar_free(struct dcgw_avatar *v);

/* One message the peer sent (p valid during the call; it is not kept). now_unix is the
 * wall clock, seconds. peer_cert is the certificate that peer authenticated with in DTLS
 * (dcgw_dtls_peer_cert), for request tokens; NULL refuses them. res is filled.
 * Returns 0: forward the message (res->what says what it was); DCGW_EDENIED: rejected
 * now (res->reason), drop it and close the channel; DCGW_ECLOSED: refused because of an
 * earlier rejection (res->what NOTHING); DCGW_ENOMEM (treat as a rejection). */
int dcgw_avatar_input(struct dcgw_avatar *v, bool is_text, const uint8_t *p, size_t n,
                      int64_t now_unix, X509 *peer_cert, struct dcgw_avatar_result *res);
/* dcgw_avatar_input with the monotonic clock now_ms (milliseconds): an accepted manifest
 * arms the transfer's deadline, now_ms + transfer_timeout_ms (dcgw_avatar_next_timeout),
 * and a message of a transfer arriving at or after its deadline is refused (TIMEOUT).
 * dcgw_avatar_input is this without a monotonic clock: it arms no deadline. */
int dcgw_avatar_input_ms(struct dcgw_avatar *v, bool is_text, const uint8_t *p, size_t n,
                         int64_t now_unix, uint64_t now_ms, X509 *peer_cert,
                         struct dcgw_avatar_result *res);

/* DESIGN §4 timers: the deadline of the transfer in progress (absolute ms, the clock of
 * dcgw_avatar_input_ms), UINT64_MAX when there is none. */
uint64_t dcgw_avatar_next_timeout(const struct dcgw_avatar *v);
/* At or after the deadline the transfer is rejected for good (DCGW_EDENIED, TIMEOUT,
 * res->chunk = the chunks that passed): drop what comes next and close the channel, as
 * for any other rejection. Otherwise 0 with res->what NOTHING. */
int dcgw_avatar_handle_timeout(struct dcgw_avatar *v, uint64_t now_ms,
                               struct dcgw_avatar_result *res);

/* Replaces what later manifests and request tokens are checked against (the controller
 * updated the session): trust (a ref is taken, the old one dropped), grants (borrowed, as
 * in the settings: the old ones may be freed once this returns) and audience (copied; NULL
 * or "": aud not compared). A transfer past its manifest keeps going: it was authorized
 * by the grants and anchors of its time, and its chunks are checked against its signed
 * digests only. DCGW_EINVAL (NULL trust or grants, audience too long; nothing changed). */
int dcgw_avatar_set_authority(struct dcgw_avatar *v, struct dcgw_trust *trust,
                              const struct dcgw_avatar_grants *grants, const char *audience);

/* The channel is going away (closed, or the leg died). A transfer in progress is rejected
 * as truncated (DCGW_EDENIED, SIZE_MISMATCH, res->chunk = the chunks that arrived);
 * otherwise 0 with res->what NOTHING. */
int dcgw_avatar_end(struct dcgw_avatar *v, struct dcgw_avatar_result *res);

/* The owner could not deliver a message this verifier passed (the far leg refused it: its
 * buffers were full). When that message belonged to a transfer (in progress, or the last
 * chunk just passed) the receiver now holds a gap: the transfer is rejected for good
 * (DCGW_EDENIED, UNDELIVERED, res->chunk = chunks passed). Otherwise (a request token, or
 * nothing passed yet) 0 with res->what NOTHING. */
int dcgw_avatar_undelivered(struct dcgw_avatar *v, struct dcgw_avatar_result *res);

/* True between an accepted manifest and its last chunk. */
bool dcgw_avatar_in_transfer(const struct dcgw_avatar *v);
bool dcgw_avatar_rejected(const struct dcgw_avatar *v);
const struct dcgw_avatar_stats *dcgw_avatar_stats(const struct dcgw_avatar *v);

/* typ values (RFC 7515 §4.1.9: compared case-insensitively, "application/" optional). */
#define DCGW_AVATAR_TYP_MANIFEST "avatar-manifest+jwt"
#define DCGW_AVATAR_TYP_REQUEST  "avatar-request+jwt"

#endif
