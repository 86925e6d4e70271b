/* Audio and video between the two terminated legs of a session (DESIGN §2, docs/media.md):
 * SRTP/SRTCP from one leg is unprotected with the keys of the transport it came on, routed to
 * its m-line, its
 * payload type, header extensions, mid and (on a collision) SSRC rewritten for the other
 * leg, and protected with the keys of the other leg's transport that carries that m-line.
 * No transcoding.
 *
 * Transports: a leg's m-lines travel on one ICE/DTLS transport when bundled (RFC 8843), or
 * each on its own (the pair's tp[k]: 0 is the data channel's, others one per unbundled
 * m-line or BUNDLE group without the data channel). Each transport has its own DTLS
 * association, so its own SRTP keys (RFC 5764) and its own RTP session (SSRCs are
 * per transport).
 *
 *   leg k, transport t --SRTP--> authenticate + replay check (libsrtp2, (k, t)'s inbound)
 *                -> m-line: the one t carries when unbundled, else by mid extension, then
 *                   a=ssrc, then a unique payload type (RFC 8843 §9.2); the SSRC is
 *                   remembered for that m-line
 *                -> direction, policy, bitrate bucket, payload type of the other leg
 *                -> rewrite -> protect (outbound session of leg 1-k's transport of that
 *                   m-line) -> send(1-k, that transport)
 *   leg k, transport t --SRTCP-> authenticate -> SSRCs mapped -> protect -> send(1-k, ...)
 *
 * A pure stage: no sockets, no clock (now_ms comes in), output through callbacks. No
 * allocation per packet: two scratch buffers per session; libsrtp2 keeps per-SSRC state,
 * bounded by DCGW_MEDIA_STREAMS_MAX SSRCs per leg. Not thread-safe; one per session. */
#ifndef DCGW_MEDIA_H
#define DCGW_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/srtp.h"

enum dcgw_media_limits {
    DCGW_MEDIA_LINES_MAX = DCGW_SDP_RTP_MAX,
    DCGW_MEDIA_TRANSPORTS_MAX = DCGW_MEDIA_TRANSPORTS_CEILING, /* per leg (limits.h) */
    DCGW_MEDIA_STREAMS_MAX = 32,       /* SSRCs per leg (libsrtp2 state in two sessions) */
    DCGW_MEDIA_STREAM_IDLE_MS = 30000, /* an idle SSRC's slot may go to a new one */
    DCGW_MEDIA_REASON_MAX = 160,
    DCGW_MEDIA_BURST_MS_DEFAULT = 500,  /* bucket depth in ms of the bitrate */
    DCGW_MEDIA_BURST_BYTES_MIN = 16384, /* never shallower: a video key frame comes at once */
};

/* Why a packet a leg sent was not forwarded. */
#define DCGW_MEDIA_DROP_MAP(XX)                                                                    \
    XX(NOT_READY, "not_ready")   /* no SRTP keys on this leg or the other (yet, or never) */       \
    XX(MALFORMED, "malformed")   /* not an RTP/RTCP packet dcgw can read, or too large */          \
    XX(AUTH, "auth")             /* SRTP/SRTCP authentication failed */                            \
    XX(REPLAY, "replay")         /* replayed, or older than the replay window */                   \
    XX(UNROUTABLE, "unroutable") /* no m-line: unknown mid, SSRC and payload type */               \
    XX(STREAMS, "streams")       /* more SSRCs than DCGW_MEDIA_STREAMS_MAX */                      \
    XX(CODEC, "codec")           /* payload type not carried by both legs */                       \
    XX(DIRECTION, "direction")   /* the m-line takes no media from this leg */                     \
    XX(POLICY, "policy")         /* the policy forbids this m-line's media from this leg */        \
    XX(RATE, "rate")             /* over the m-line's bitrate limit */                             \
    XX(INTERNAL, "internal")     /* protect failed */

enum dcgw_media_drop {
#define DCGW__MEDIA_DROP(name, str) DCGW_MEDIA_DROP_##name,
    DCGW_MEDIA_DROP_MAP(DCGW__MEDIA_DROP)
#undef DCGW__MEDIA_DROP
        DCGW_MEDIA_DROP_COUNT
};

/* "not_ready", ... Static storage. */
const char *dcgw_media_drop_name(enum dcgw_media_drop d);

/* What one leg sent on one m-line (or, line -1, what could not be put on one). */
struct dcgw_media_counters {
    uint64_t rtp_packets, rtp_bytes;   /* authenticated RTP from the leg */
    uint64_t rtcp_packets, rtcp_bytes; /* authenticated RTCP */
    uint64_t fwd_packets, fwd_bytes;   /* RTP and RTCP sent on to the other leg */
    uint64_t dropped[DCGW_MEDIA_DROP_COUNT];
};

enum dcgw_media_event {
    DCGW_MEDIA_EV_STARTED = 0, /* the first packet of leg `side` on `line` went through */
    DCGW_MEDIA_EV_FAILED,      /* leg `side`, or one of its transports, can carry no media
                                  (line -1): reason says why */
};

/* Callbacks run inside dcgw_media_* calls; they must not call back into the stage (except
 * the query functions) or free it. */
struct dcgw_media_cbs {
    void *ud;
    /* One SRTP or SRTCP packet for the peer of leg `side`, on its transport tp. p is valid
     * during the call. Required. */
    void (*send)(void *ud, int side, int tp, const uint8_t *p, size_t n);
    /* Optional. reason is "" for STARTED. */
    void (*on_event)(void *ud, int side, int line, enum dcgw_media_event ev, const char *reason);
};

struct dcgw_media_settings {
    unsigned replay_window; /* packets; 0: DCGW_SRTP_REPLAY_WINDOW_DEFAULT */
};

/* One carried m-line, for the owner's reports. */
struct dcgw_media_line_info {
    enum dcgw_sdp_kind kind;
    char mid[2][DCGW_SDP_MID_SIZE]; /* its mid on each leg */
    uint8_t tp[2];                  /* the transport of each leg that carries it */
    bool send[2];                   /* leg k's peer may send on it */
    bool allowed[2];                /* the policy lets leg k's media through */
    uint64_t max_bitrate[2];        /* bits/s of leg k's media; 0: unlimited */
    bool started[2];                /* STARTED was raised */
};

struct dcgw_media;

/* Builds the stage for the pairs of a match between sdp0 (leg 0) and sdp1 (leg 1), the
 * SDPs the match was made from (mids, a=ssrc lines). Settings and what it needs of the
 * SDPs are copied. No keys yet: packets are dropped (NOT_READY) until both legs have
 * them. Returns 0, DCGW_EINVAL or DCGW_ENOMEM. */
int dcgw_media_new(const struct dcgw_sdp_match *match, const struct dcgw_sdp *sdp0,
                   const struct dcgw_sdp *sdp1, const struct dcgw_media_settings *s,
                   const struct dcgw_media_cbs *cbs, struct dcgw_media **out);
void dcgw_media_free(struct dcgw_media *m);

/* Transport tp of leg `side` connected with these SRTP keys (srtp.h): its inbound and
 * outbound sessions are created. Returns 0, DCGW_ESTATE (already keyed, failed, or tp out of
 * range), or an error of dcgw_srtp_new (then the transport is failed, FAILED raised with the
 * reason). */
int dcgw_media_set_keys(struct dcgw_media *m, int side, int tp, const struct dcgw_srtp_keys *k);
/* Transport tp of leg `side` will carry no media (its DTLS agreed no use_srtp, its ICE
 * consent was lost, ...): FAILED is raised with reason; packets on it and those for the
 * m-lines it carries are dropped (NOT_READY), its keys wiped. Idempotent. */
void dcgw_media_fail_transport(struct dcgw_media *m, int side, int tp, const char *reason);
/* Every transport of leg `side`: one FAILED. Idempotent. */
void dcgw_media_fail_leg(struct dcgw_media *m, int side, const char *reason);

/* One RTP or RTCP datagram (RFC 7983: first byte 128..191) that leg `side`'s peer sent on
 * transport tp, from its ICE-validated address. p is not modified (the stage works on a
 * copy). Returns 0 when it was forwarded, else -1 - the enum dcgw_media_drop reason
 * (counted). */
int dcgw_media_input(struct dcgw_media *m, int side, int tp, const uint8_t *p, size_t n,
                     uint64_t now_ms);

/* Policy of leg `side`'s media on `line`: allowed or not, and a bitrate limit in bits/s
 * (0: none) with a bucket of burst_ms of it (0: DCGW_MEDIA_BURST_MS_DEFAULT). */
void dcgw_media_set_policy(struct dcgw_media *m, int line, int side, bool allowed,
                           uint64_t max_bitrate, uint32_t burst_ms, uint64_t now_ms);

size_t dcgw_media_lines(const struct dcgw_media *m);
/* NULL for a line out of range. */
const struct dcgw_media_line_info *dcgw_media_line(const struct dcgw_media *m, int line);
/* Counters of what leg `side` sent on `line`; line -1: what fitted no line. NULL when out
 * of range. */
const struct dcgw_media_counters *dcgw_media_counters(const struct dcgw_media *m, int line,
                                                      int side);
/* The leg's SRTP state: the profile of its transport tp (tp < 0: of the first one keyed;
 * DCGW_SRTP_NONE until keyed), the first failure's reason ("" if none), SSRCs it is
 * sending (on all its transports). */
enum dcgw_srtp_profile dcgw_media_profile(const struct dcgw_media *m, int side, int tp);
const char *dcgw_media_reason(const struct dcgw_media *m, int side);
unsigned dcgw_media_streams(const struct dcgw_media *m, int side);

#endif
