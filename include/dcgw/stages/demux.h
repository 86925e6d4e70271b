/* Demultiplexing of the datagrams arriving on a dcgw UDP socket (RFC 7983 §7): the first
 * byte says STUN (0..3), DTLS (20..63) or RTP/RTCP (128..191); everything else is unknown.
 * RTP/RTCP goes to the media stage of a terminated leg (media.h) or is relayed untouched
 * (relay.h); it is SRTP, so nothing here looks inside.
 *
 * Before a datagram goes to the STUN stage it passes a cheap header check (length field
 * consistent with the datagram, magic cookie, size cap), so the STUN stage only ever
 * sees well-framed RFC 5389 messages. Pure functions: no state but the caller's
 * counters, no allocation, no logging. */
#ifndef DCGW_DEMUX_H
#define DCGW_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dcgw_demux_limits {
    DCGW_STUN_HEADER_LEN = 20, /* RFC 8489 §5 */
    DCGW_STUN_MSG_MAX = 1280,  /* largest STUN message accepted (ICE checks are ~150 bytes) */
};

#define DCGW_STUN_MAGIC_COOKIE 0x2112A442u /* RFC 8489 §5 */

enum dcgw_demux_kind {
    DCGW_DEMUX_UNKNOWN = 0,
    DCGW_DEMUX_STUN,
    DCGW_DEMUX_DTLS,
    DCGW_DEMUX_RTP, /* RTP or RTCP (SRTP / SRTCP) */
};

/* Counters of one socket (or one worker); the caller owns and zeroes them. */
struct dcgw_demux_stats {
    uint64_t packets;  /* every datagram seen */
    uint64_t stun;     /* handed to the STUN stage */
    uint64_t dtls;     /* handed to the DTLS stage */
    uint64_t rtp;      /* RTP/RTCP first byte: for the media stage or the relay */
    uint64_t unknown;  /* dropped: everything not counted in stun, dtls or rtp */
    uint64_t empty;    /* of unknown: zero-length datagrams */
    uint64_t stun_bad; /* of unknown: STUN first byte but failed dcgw_demux_stun_sane() */
};

/* RFC 7983 §7 first-byte table, nothing else; an empty datagram is UNKNOWN. */
enum dcgw_demux_kind dcgw_demux_classify(const uint8_t *p, size_t n);

/* Cheap STUN framing check: at least a header, at most DCGW_STUN_MSG_MAX bytes, the two
 * top bits zero, the length field a multiple of 4 equal to n - 20, and the RFC 5389 magic
 * cookie. Attributes are not looked at (the STUN stage does that). */
bool dcgw_demux_stun_sane(const uint8_t *p, size_t n);

/* Classifies one datagram for dcgw and counts it in st: STUN only when sane, DTLS and
 * RTP/RTCP by the first byte, anything else (and empty datagrams) UNKNOWN, which the
 * caller drops. st may be NULL. */
enum dcgw_demux_kind dcgw_demux_packet(struct dcgw_demux_stats *st, const uint8_t *p, size_t n);

/* "stun", "dtls", "rtp", "unknown". Static storage. */
const char *dcgw_demux_kind_name(enum dcgw_demux_kind k);

#endif
