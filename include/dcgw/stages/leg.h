/* A terminated leg: the protocol stages of one WebRTC transport composed (DESIGN.md §4):
 * demux -> ICE -> DTLS (bound to the SDP fingerprints) -> application data.
 *
 * The network side uses ICE-lite (answers checks, follows nomination, tracks consent);
 * dcgw's own client (tests, bench) uses the controlling side of checks toward one
 * remote candidate. Like every stage, a leg does no I/O: datagrams in with their source
 * and the time, datagrams out through send, timers through next_timeout/handle_timeout.
 *
 * With data-channel settings the leg also owns an SCTP association and its data
 * channels (datachannel.h), connected when DTLS is up; their callbacks go to the owner.
 *
 * Callbacks must not free the leg; the owner defers that to its loop. */
#ifndef DCGW_LEG_H
#define DCGW_LEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/stages/datachannel.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/fingerprint.h"

enum dcgw_leg_ice_role {
    DCGW_LEG_ICE_LITE = 0,    /* network side: answers checks */
    DCGW_LEG_ICE_CONTROLLING, /* client side: sends checks to remote_candidate */
};

enum dcgw_leg_state {
    DCGW_LEG_NEW = 0,
    DCGW_LEG_ICE,       /* waiting for / doing connectivity checks */
    DCGW_LEG_DTLS,      /* handshake under way */
    DCGW_LEG_CONNECTED, /* fingerprint matched; application data flows */
    DCGW_LEG_FAILED,
    DCGW_LEG_CLOSED,
};

/* Which stage ended a leg (on_failed): the owner reports by this, never by the text. */
enum dcgw_leg_cause {
    DCGW_LEG_CAUSE_DTLS = 0,      /* the DTLS handshake or records: err says what
                                     (DCGW_EFINGERPRINT, DCGW_EWEAKHASH, DCGW_ETLS,
                                     DCGW_ETIMEOUT, DCGW_EALERT(x)) */
    DCGW_LEG_CAUSE_PEER_CLOSED,   /* the peer's close_notify (DCGW_ECLOSED) */
    DCGW_LEG_CAUSE_CONSENT_LOST,  /* ICE consent lost (RFC 7675; DCGW_ETIMEOUT) */
    DCGW_LEG_CAUSE_ICE_FAILED,    /* controlling side: checks unanswered (DCGW_ETIMEOUT) */
    DCGW_LEG_CAUSE_SETUP_TIMEOUT, /* ICE + DTLS not done within setup_timeout_ms (ETIMEOUT) */
};

struct dcgw_leg_settings {
    enum dcgw_leg_ice_role ice_role;
    const char *local_ufrag, *local_pwd;       /* ours (our SDP) */
    const char *remote_ufrag, *remote_pwd;     /* the peer's (its SDP) */
    const struct sockaddr *remote_candidate;   /* controlling: where checks go */
    bool dtls_client;                          /* from the negotiated a=setup */
    const struct dcgw_fingerprint *remote_fps; /* the peer's a=fingerprint lines (copied) */
    size_t n_remote_fps;
    enum dcgw_hash min_hash;
    uint32_t consent_timeout_ms;      /* 0: default (30 s) */
    uint32_t setup_timeout_ms;        /* not connected (ICE + DTLS) by then: fails; 0: none */
    unsigned dtls_mtu;                /* 0: default */
    unsigned dtls_initial_timeout_ms; /* 0: default */
    /* Data channels over SCTP once DTLS is up (NULL: the leg stops at DTLS and hands
     * application data to on_data). dc.dtls_client is set from dtls_client. */
    const struct dcgw_dc_settings *dc;
    /* The owner's data-channel callbacks (ud included). send_packet is ignored: the leg
     * carries SCTP packets over its DTLS itself. Copied. */
    const struct dcgw_dc_callbacks *dc_cbs;
    /* use_srtp profiles for DTLS (dtls.h), for a leg that carries audio or video; NULL:
     * none. Copied. */
    const char *srtp_profiles;
};

struct dcgw_leg_cbs {
    void *ud;
    /* One datagram to send to `to`. Required. */
    void (*send)(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n);
    /* ICE and DTLS done; the peer's certificate matched `matched`. */
    void (*on_connected)(void *ud, const struct dcgw_fingerprint *matched);
    /* The leg is dead: cause says which stage ended it, err the error code (see enum
     * dcgw_leg_cause), reason a text for people. Raised once. */
    void (*on_failed)(void *ud, enum dcgw_leg_cause cause, int err, const char *reason);
    /* ICE consent lost (RFC 7675); on_failed follows. Optional. */
    void (*on_consent_lost)(void *ud, const struct sockaddr *peer);
    /* Decrypted application data (SCTP packets). Optional. */
    void (*on_data)(void *ud, const uint8_t *p, size_t n);
    /* One RTP or RTCP datagram (RFC 7983: first byte 128..191) from the peer's
     * ICE-validated address, once DTLS is connected: still SRTP/SRTCP, for the owner's media
     * stage (media.h). Optional: without it such datagrams are dropped and counted. */
    void (*on_media)(void *ud, const uint8_t *p, size_t n);
};

struct dcgw_leg_stats {
    uint64_t rx_stun, rx_dtls, rx_dropped_unknown_source, rx_dropped_garbage, rx_rejected_stun;
    uint64_t rx_media;         /* RTP/RTCP handed to on_media */
    uint64_t rx_dropped_media; /* RTP/RTCP before DTLS was connected, or without on_media */
    uint64_t tx_media, tx_media_dropped; /* dcgw_leg_send_media: sent / refused (no peer yet) */
};

struct dcgw_leg;

/* Creates the leg and its stages. Returns 0, DCGW_EINVAL (bad credentials or no
 * fingerprints), DCGW_ENOMEM. */
int dcgw_leg_new(struct dcgw_dtls_ctx *ctx, const struct dcgw_leg_settings *s,
                 const struct dcgw_leg_cbs *cbs, struct dcgw_leg **out);
/* Controlling legs start checking; lite legs wait for checks. */
int dcgw_leg_start(struct dcgw_leg *leg, uint64_t now_ms);
/* One datagram from `from`. Returns 0 when it was taken by a stage, a negative code when
 * dropped (counted in the leg's stats). */
int dcgw_leg_input(struct dcgw_leg *leg, const struct sockaddr *from, const uint8_t *p, size_t n,
                   uint64_t now_ms);
/* Sends one SRTP/SRTCP datagram to the peer (the address DTLS goes to), unchanged.
 * DCGW_ESTATE before the leg is connected. */
int dcgw_leg_send_media(struct dcgw_leg *leg, const uint8_t *p, size_t n);
/* Sends application data (one SCTP packet) over DTLS. DCGW_ESTATE before connected. */
int dcgw_leg_send_data(struct dcgw_leg *leg, const uint8_t *p, size_t n);
uint64_t dcgw_leg_next_timeout(const struct dcgw_leg *leg);
void dcgw_leg_handle_timeout(struct dcgw_leg *leg, uint64_t now_ms);
/* True when datagrams from addr belong to this leg (an ICE-validated address). */
bool dcgw_leg_knows(const struct dcgw_leg *leg, const struct sockaddr *addr);
/* The address DTLS goes to: the nominated peer (lite) or the candidate (controlling);
 * NULL when none yet. */
const struct sockaddr *dcgw_leg_peer(const struct dcgw_leg *leg);
enum dcgw_leg_state dcgw_leg_state(const struct dcgw_leg *leg);
struct dcgw_dtls *dcgw_leg_dtls(const struct dcgw_leg *leg);
/* The data-channel endpoint, or NULL when the leg has none. */
struct dcgw_dc *dcgw_leg_dc(const struct dcgw_leg *leg);
const struct dcgw_leg_stats *dcgw_leg_stats(const struct dcgw_leg *leg);
/* Sends close_notify (when connected and not failed: after lost consent nothing more may go
 * out, RFC 7675 §5.1) and marks the leg closed. Idempotent. */
void dcgw_leg_close(struct dcgw_leg *leg);
/* Frees the leg. Never from inside its callbacks. NULL is a no-op. */
void dcgw_leg_free(struct dcgw_leg *leg);

#endif
