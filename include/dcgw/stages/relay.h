/* One relayed data-channel flow (DESIGN §2 "Relay", docs/relay.md): dcgw anchors only UDP
 * between two peers, side 0 and side 1 (the legs of a relay session, e.g. the UE and the
 * application server), and holds no DTLS key.
 *
 *   datagram from side k --demux (RFC 7983)--> STUN: side k's own ICE-lite agent (per hop)
 *                                           \-> DTLS: from an ICE-validated address of k,
 *                                               rate limits of k, the handshake inspector
 *                                               (dtls_inspect.h), then sent unchanged to
 *                                               side 1-k's latched address
 *                                           \-> RTP/RTCP (SRTP, keyed end to end): once the
 *                                               handshake passed, from a validated address
 *                                               of k, rate limits of k, sent unchanged
 *                                           \-> anything else: dropped, counted
 *
 * A pure stage: no sockets, no clock (now_ms comes in), output through callbacks. The
 * forwarded bytes are the caller's own buffer, handed to send() unchanged (no copy here).
 * Not thread-safe; one per relay session. */
#ifndef DCGW_RELAY_H
#define DCGW_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/fingerprint.h"

enum dcgw_relay_limits {
    /* Bucket depth: this many ms of the configured rate, but never less than the floors
     * below (a DTLS flight is a few datagrams at once; a bucket shallower than one
     * datagram would pass nothing). */
    DCGW_RELAY_BURST_MS_DEFAULT = 500,
    DCGW_RELAY_BURST_MS_MAX = 60000,
    DCGW_RELAY_BURST_PACKETS_MIN = 8,
    DCGW_RELAY_BURST_BYTES_MIN = 16384,
    /* The flow fails if the handshake is not verified (or allowed) by then. */
    DCGW_RELAY_SETUP_TIMEOUT_MS_DEFAULT = 60000,
    DCGW_RELAY_REASON_MAX = DCGW_INSPECT_REASON_MAX,
};

/* One side as its SDP and dcgw's SDP toward it describe it. Strings are copied. */
struct dcgw_relay_side_settings {
    const char *local_ufrag, *local_pwd;   /* dcgw's ICE credentials on this hop */
    const char *remote_ufrag, *remote_pwd; /* the peer's, from its SDP (pwd may be NULL) */
    const struct dcgw_fingerprint *fps;    /* the peer's a=fingerprint values (copied) */
    size_t n_fps;
};

struct dcgw_relay_settings {
    struct dcgw_relay_side_settings side[2];
    enum dcgw_hash min_hash;              /* fingerprint floor; 0: SHA-256 */
    size_t max_handshake_bytes;           /* reassembly bound per side; 0: default */
    enum dcgw_dtls_inspect_policy policy; /* DTLS 1.3 / uninspectable: reject (0) or allow */
    /* Per-side (per-direction) limits on forwarded DTLS datagrams; 0: unlimited. STUN
     * is not limited by them (consent checks must get through under load). */
    uint64_t max_packets_per_s, max_bytes_per_s;
    uint32_t burst_ms;           /* 0: DCGW_RELAY_BURST_MS_DEFAULT */
    uint32_t consent_timeout_ms; /* per hop, RFC 7675; 0: the ICE default (30 s) */
    uint32_t setup_timeout_ms;   /* 0: DCGW_RELAY_SETUP_TIMEOUT_MS_DEFAULT */
};

enum dcgw_relay_state {
    DCGW_RELAY_ICE = 0,     /* a side has no ICE-validated address yet */
    DCGW_RELAY_INSPECTING,  /* both latched; the DTLS handshake is being inspected */
    DCGW_RELAY_CONNECTED,   /* both certificates matched their SDP: everything forwarded */
    DCGW_RELAY_UNINSPECTED, /* not inspectable, allowed by policy: forwarded unread */
    DCGW_RELAY_BLOCKED,     /* a handshake refused (e.g. certificate mismatch). Final. */
    DCGW_RELAY_FAILED,      /* consent lost on a hop, or setup timed out. Final. */
};

/* What became of one datagram. */
enum dcgw_relay_result {
    DCGW_RELAY_FORWARDED = 0, /* sent to the other side unchanged */
    DCGW_RELAY_STUN_OK,       /* a valid check, answered: `from` is validated for the side */
    DCGW_RELAY_DROPPED,       /* dropped and counted (see the side's stats for why) */
};

enum dcgw_relay_event {
    DCGW_RELAY_EV_LATCHED = 0, /* `side` has a (new) destination address: dcgw_relay_peer() */
    DCGW_RELAY_EV_CONNECTED,   /* state CONNECTED or UNINSPECTED */
    DCGW_RELAY_EV_BLOCKED,     /* state BLOCKED; `side` is the side refused */
    DCGW_RELAY_EV_FAILED,      /* state FAILED; `side` lost consent, -1: setup timeout */
};

/* Callbacks run inside dcgw_relay_input / dcgw_relay_handle_timeout. They may call the
 * query functions but not input/handle_timeout (refused), and may free the relay: it is
 * then released when the call that raised them returns (base/reentry.h). */
struct dcgw_relay_cbs {
    void *ud;
    /* One datagram to `to`, the address of side `side`. p is valid during the call (for
     * forwarded datagrams it is the caller's input buffer). Required. */
    void (*send)(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n);
    /* Optional. */
    void (*on_event)(void *ud, enum dcgw_relay_event ev, int side);
};

/* Counters of what one side sent to dcgw. Every datagram is counted once in rx and in
 * exactly one of: forwarded, media_forwarded, stun, stun_rejected or a dropped_* counter. */
struct dcgw_relay_side_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t forwarded_packets, forwarded_bytes; /* to the other side, unchanged */
    uint64_t stun;                               /* valid checks answered on this hop */
    uint64_t stun_rejected;                      /* STUN the hop's agent refused */
    uint64_t dropped_garbage;                    /* neither STUN nor DTLS (RFC 7983) */
    uint64_t dropped_unvalidated;                /* DTLS from an address without a valid check */
    uint64_t dropped_no_peer;                    /* the other side had no validated address yet */
    uint64_t dropped_rate;                       /* over max_packets_per_s / max_bytes_per_s */
    uint64_t dropped_inspector; /* inspector's DROP: malformed, app data held back, ... */
    uint64_t dropped_blocked;   /* the BLOCK verdict and everything after a final state */
    uint64_t media_forwarded_packets, media_forwarded_bytes; /* SRTP/SRTCP, unchanged */
    uint64_t dropped_media; /* RTP/RTCP before the handshake was verified (or allowed) */
};

struct dcgw_relay_status {
    enum dcgw_relay_state state;
    int side;            /* BLOCKED: the side refused; FAILED: the side that lost consent or
                            -1 (setup timeout); otherwise -1 */
    int err;             /* BLOCKED: the inspector's code (DCGW_EFINGERPRINT, ...); FAILED:
                            DCGW_ETIMEOUT; UNINSPECTED: why (DCGW_EUNSUPPORTED, ...); else 0 */
    const char *reason;  /* "" unless BLOCKED / FAILED / UNINSPECTED; valid while r lives */
    bool mitm_suspected; /* BLOCKED because a certificate is not the one of its SDP (or the
                            side sent none where it had to) */
    int dtls_client;     /* the side that sent ClientHello; -1 unknown */
};

struct dcgw_relay;

/* Fills s with defaults (no credentials, no fingerprints, no limits). */
void dcgw_relay_settings_default(struct dcgw_relay_settings *s);

/* Creates a flow with both hops' ICE-lite agents and the handshake inspector; now_ms
 * starts the setup deadline. Settings are copied. Returns 0, DCGW_EINVAL (credentials,
 * fingerprints, no send callback), DCGW_ERANGE (burst_ms, max_handshake_bytes) or
 * DCGW_ENOMEM; *out is untouched on error. */
int dcgw_relay_new(const struct dcgw_relay_settings *s, const struct dcgw_relay_cbs *cbs,
                   uint64_t now_ms, struct dcgw_relay **out);
/* Frees it; from inside its callbacks, once the call that raised them returns. NULL is a
 * no-op. */
void dcgw_relay_free(struct dcgw_relay *r);

/* One datagram that side `side` (0/1) sent from `from`: the owner routes by the source
 * address it learnt from DCGW_RELAY_STUN_OK results, and an unknown source only by the
 * STUN USERNAME naming this hop. Returns a dcgw_relay_result (>= 0), or DCGW_EINVAL (bad
 * arguments) / DCGW_ESTATE (called from a callback). Nothing the network sends makes it
 * fail otherwise. */
int dcgw_relay_input(struct dcgw_relay *r, int side, const struct sockaddr *from, const uint8_t *p,
                     size_t n, uint64_t now_ms);

/* Absolute ms of the next timer (consent of a hop, setup deadline); UINT64_MAX: none. */
uint64_t dcgw_relay_next_timeout(const struct dcgw_relay *r);
/* Runs the timers due at now_ms: consent loss or setup timeout fail the flow. */
void dcgw_relay_handle_timeout(struct dcgw_relay *r, uint64_t now_ms);

/* Changes the rate limits in flight (0: unlimited), keeping the buckets' levels. */
void dcgw_relay_set_limits(struct dcgw_relay *r, uint64_t max_packets_per_s,
                           uint64_t max_bytes_per_s, uint32_t burst_ms, uint64_t now_ms);

enum dcgw_relay_state dcgw_relay_state(const struct dcgw_relay *r);
void dcgw_relay_status(const struct dcgw_relay *r, struct dcgw_relay_status *out);
/* Where datagrams for `side` go: its nominated address, else its latest validated one;
 * NULL when none. Valid until the next input/handle_timeout. */
const struct sockaddr *dcgw_relay_peer(const struct dcgw_relay *r, int side);
/* NULL for a side other than 0/1. */
const struct dcgw_relay_side_stats *dcgw_relay_stats(const struct dcgw_relay *r, int side);
/* The inspector, for per-side results (which fingerprint matched, what was presented). */
const struct dcgw_dtls_inspect *dcgw_relay_inspector(const struct dcgw_relay *r);
/* "ice", "inspecting", "connected", "uninspected", "blocked", "failed"; "?" otherwise. */
const char *dcgw_relay_state_name(enum dcgw_relay_state s);

#endif
