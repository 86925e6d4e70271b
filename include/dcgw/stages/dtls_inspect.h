/* Passive DTLS 1.2 handshake inspector for relay mode (DESIGN §2 "Relay", docs/relay.md).
 *
 * In relay mode dcgw forwards DTLS datagrams untouched between the UE (side 0) and the far
 * end (side 1) and holds no key. The inspector reads the epoch-0 handshake that travels in
 * the clear (RFC 6347 §4.1, §4.2.2), reassembles each side's Certificate message, hashes the
 * end-entity certificate and compares it with that side's SDP fingerprints (RFC 8122 §5).
 * For every datagram it returns a verdict: forward it, drop it, or block the whole flow.
 * No application data passes in either direction until both certificates matched (or the
 * policy allowed a handshake that cannot be inspected, e.g. DTLS 1.3).
 *
 * A pure stage: no I/O, no clock, no timers, no OpenSSL SSL objects (only EVP digests
 * through dcgw_cert_fingerprint_der). Not thread-safe; one inspector per relayed flow. */
#ifndef DCGW_DTLS_INSPECT_H
#define DCGW_DTLS_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"

enum dcgw_dtls_inspect_limits {
    DCGW_INSPECT_MAX_FINGERPRINTS = DCGW_SDP_MAX_FINGERPRINTS, /* per side */
    /* Bytes one side may have under reassembly (message bodies + their bitmaps). */
    DCGW_INSPECT_HANDSHAKE_BYTES_DEFAULT = 64 * 1024,
    DCGW_INSPECT_HANDSHAKE_BYTES_MIN = 1024,
    DCGW_INSPECT_HANDSHAKE_BYTES_MAX = 1024 * 1024,
    /* Epoch-0 handshake messages per side: message_seq at or above this is malformed (a
     * DTLS 1.2 handshake uses about 6, a few more after HelloVerifyRequest rounds). */
    DCGW_INSPECT_MAX_MESSAGE_SEQ = 32,
    /* A side whose ClientHello/ServerHello/Certificate fails to parse this many times is
     * uninspectable (the datagrams that completed them were dropped meanwhile). */
    DCGW_INSPECT_MAX_BAD_MESSAGES = 4,
    DCGW_INSPECT_PLAINTEXT_MAX = DCGW_TLS_PLAINTEXT_MAX, /* epoch-0 record length (limits.h) */
    DCGW_INSPECT_RECORD_MAX = DCGW_DTLS_CIPHERTEXT_MAX,  /* protected record length */
    DCGW_INSPECT_REASON_MAX = DCGW_REASON_TEXT_MAX,      /* reasons, NUL included */
};

enum dcgw_dtls_inspect_side_id {
    DCGW_INSPECT_SIDE_UE = 0,
    DCGW_INSPECT_SIDE_FAR = 1,
};

/* What the relay does with one datagram. */
enum dcgw_dtls_inspect_verdict {
    DCGW_INSPECT_PASS = 0,  /* forward it unchanged */
    DCGW_INSPECT_DROP = 1,  /* do not forward it; the flow goes on (malformed input, or
                               application data held back before verification) */
    DCGW_INSPECT_BLOCK = 2, /* do not forward it nor anything after: the flow is blocked
                               (fingerprint mismatch, no certificate, rejected as
                               uninspectable). Report it and tear the flow down. */
};

/* The flow as a whole. Every state but INSPECTING is final. */
enum dcgw_dtls_inspect_state {
    DCGW_INSPECT_INSPECTING = 0,
    DCGW_INSPECT_VERIFIED,            /* both certificates matched their SDP fingerprints */
    DCGW_INSPECT_BLOCKED,             /* see dcgw_dtls_inspect_status() for side and reason */
    DCGW_INSPECT_UNINSPECTED_ALLOWED, /* not inspectable, policy allows: everything passes */
};

/* Per side: what became of its certificate. */
enum dcgw_dtls_inspect_cert {
    DCGW_INSPECT_CERT_PENDING = 0, /* not (completely) seen yet */
    DCGW_INSPECT_CERT_MATCHED,     /* matched settings fps[side][matched_index] */
    DCGW_INSPECT_CERT_MISMATCH,    /* matched none; `fp` holds the certificate's own */
    DCGW_INSPECT_CERT_WEAK_HASH,   /* no SDP fingerprint of this side meets min_hash */
    DCGW_INSPECT_CERT_NONE,        /* the side went on without sending a certificate */
    DCGW_INSPECT_CERT_UNINSPECTABLE,
};

enum dcgw_dtls_inspect_policy {
    DCGW_INSPECT_REJECT_UNINSPECTABLE = 0,   /* block a handshake it cannot inspect */
    DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, /* let it through, report it as uninspected */
};

struct dcgw_dtls_inspect_settings {
    /* Each side's a=fingerprint values (copied at creation): [0] the UE's, [1] the far
     * end's. 1..DCGW_INSPECT_MAX_FINGERPRINTS per side. */
    const struct dcgw_fingerprint *fps[2];
    size_t n_fps[2];
    /* Fingerprints with a weaker hash are ignored; a side with none left is blocked when
     * its certificate arrives (DCGW_EWEAKHASH). DCGW_HASH_NONE (0): DCGW_HASH_SHA256. */
    enum dcgw_hash min_hash;
    /* Reassembly bound per side; 0: DCGW_INSPECT_HANDSHAKE_BYTES_DEFAULT. Above it the
     * handshake is uninspectable (DCGW_ELIMIT) and the policy decides. */
    size_t max_handshake_bytes;
    enum dcgw_dtls_inspect_policy policy; /* 0: reject */
};

/* Optional. on_state is raised once, from inside dcgw_dtls_inspect_datagram, when the flow
 * leaves INSPECTING; side is the side whose datagram decided it. It may call the query
 * functions, not dcgw_dtls_inspect_datagram (refused), and may free the inspector (it is
 * released when dcgw_dtls_inspect_datagram returns: base/reentry.h). */
struct dcgw_dtls_inspect_callbacks {
    void *ud;
    void (*on_state)(void *ud, enum dcgw_dtls_inspect_state state, int side);
};

/* Per-side counters (datagrams that side sent). */
struct dcgw_dtls_inspect_stats {
    uint64_t datagrams, bytes;
    uint64_t passed, dropped, blocked; /* verdicts */
    uint64_t records;                  /* records in datagrams that framed well */
    uint64_t malformed;     /* datagrams dropped: framing, handshake header, bad message */
    uint64_t conflicts;     /* dropped: contradicted what the side sent before */
    uint64_t held_app_data; /* application_data records held back before verification */
    uint64_t early_epoch;   /* dropped: protected records before verification, other than
                               epoch-1 handshake/alert once that side sent its hello */
    uint64_t fragments;     /* epoch-0 handshake fragments accepted */
    uint64_t duplicates;    /* of which, of messages it reads, brought nothing new */
    uint64_t opaque;        /* protected records (epoch >= 1) passed unread */
    uint64_t bad_messages;  /* complete hellos / Certificates that did not parse */
    uint64_t buffered_peak; /* most bytes under reassembly at once */
};

/* The inspection result of one side. reason is "" while PENDING and for MATCHED. */
struct dcgw_dtls_inspect_side {
    enum dcgw_dtls_inspect_cert cert;
    int err;              /* 0, DCGW_EFINGERPRINT, DCGW_EWEAKHASH, DCGW_EPROTO (no
                             certificate), DCGW_EUNSUPPORTED (DTLS 1.3 / other version),
                             DCGW_ELIMIT (bounds), DCGW_EMALFORMED (repeatedly bad) */
    size_t matched_index; /* MATCHED: index into this side's settings fps */
    /* MATCHED: the SDP fingerprint that matched. MISMATCH: the certificate's fingerprint
     * with the strongest hash among this side's acceptable SDP fingerprints. */
    struct dcgw_fingerprint fp;
    size_t cert_der_len; /* MATCHED / MISMATCH: size of the end-entity certificate */
    bool ccs_seen;       /* the side sent ChangeCipherSpec */
    char reason[DCGW_INSPECT_REASON_MAX];
};

struct dcgw_dtls_inspect_status {
    enum dcgw_dtls_inspect_state state;
    int side;           /* the side that decided the state; -1 while INSPECTING */
    int err;            /* BLOCKED / UNINSPECTED_ALLOWED: that side's err; else 0 */
    const char *reason; /* "" unless BLOCKED / UNINSPECTED_ALLOWED; valid while insp lives */
    int client;         /* the side that sent ClientHello (DTLS client); -1 unknown */
};

struct dcgw_dtls_inspect;

/* Creates an inspector; settings are validated and copied, cbs may be NULL (copied).
 * Returns 0, DCGW_EINVAL (a side without fingerprints, too many, a fingerprint whose
 * length does not fit its hash, unknown min_hash or policy), DCGW_ERANGE
 * (max_handshake_bytes outside its bounds) or DCGW_ENOMEM. On error *out is untouched. */
int dcgw_dtls_inspect_new(const struct dcgw_dtls_inspect_settings *s,
                          const struct dcgw_dtls_inspect_callbacks *cbs,
                          struct dcgw_dtls_inspect **out);
/* Frees it and every reassembly buffer (from on_state: once the datagram call returns).
 * NULL is a no-op. */
void dcgw_dtls_inspect_free(struct dcgw_dtls_inspect *insp);

/* One datagram that `side` (0: UE, 1: far end) sent, as received (the demux classified it
 * as DTLS, RFC 7983). Returns a verdict (>= 0): PASS, DROP or BLOCK, or DCGW_EINVAL (side
 * not 0/1, p NULL with n > 0) / DCGW_ESTATE (called from inside on_state). Nothing the
 * network sends makes it fail otherwise; malformed input is dropped and counted. Once the
 * flow is BLOCKED every call returns BLOCK; once UNINSPECTED_ALLOWED every call returns
 * PASS without reading. Once VERIFIED the cost is a walk over the record headers (the
 * epoch-0 retransmissions that still come are checked against what was verified). */
int dcgw_dtls_inspect_datagram(struct dcgw_dtls_inspect *insp, int side, const uint8_t *p,
                               size_t n);

enum dcgw_dtls_inspect_state dcgw_dtls_inspect_state(const struct dcgw_dtls_inspect *insp);
void dcgw_dtls_inspect_status(const struct dcgw_dtls_inspect *insp,
                              struct dcgw_dtls_inspect_status *out);
/* Borrowed, valid while insp lives; NULL for a side other than 0/1. */
const struct dcgw_dtls_inspect_side *dcgw_dtls_inspect_side(const struct dcgw_dtls_inspect *insp,
                                                            int side);
const struct dcgw_dtls_inspect_stats *dcgw_dtls_inspect_stats(const struct dcgw_dtls_inspect *insp,
                                                              int side);

/* Names ("verified", "pass", "mismatch"). Static storage; "?" when out of range. */
const char *dcgw_dtls_inspect_state_name(enum dcgw_dtls_inspect_state s);
const char *dcgw_dtls_inspect_verdict_name(int verdict);
const char *dcgw_dtls_inspect_cert_name(enum dcgw_dtls_inspect_cert c);

#endif
