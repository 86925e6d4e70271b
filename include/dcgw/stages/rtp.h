/* RTP and RTCP headers (RFC 3550), header extensions (RFC 8285) and the rewrites dcgw
 * makes when it forwards a packet from one leg to the other: payload type, SSRC, header
 * extension ids and the mid value (RFC 8843 §15). Pure functions over caller buffers: no
 * allocation, no state. Every parser bounds itself by n; nothing reads past it.
 *
 * The fixed header, CSRCs and the header extension travel in the clear in SRTP (RFC 3711
 * §3.1), so the same parser reads a protected packet's header (SSRC, sequence number) and
 * the unprotected packet. */
#ifndef DCGW_RTP_H
#define DCGW_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dcgw_rtp_limits {
    DCGW_RTP_HEADER_LEN = 12,   /* RFC 3550 §5.1 fixed header */
    DCGW_RTCP_HEADER_LEN = 8,   /* RFC 3550 §6.4: V/P/RC, PT, length, SSRC */
    DCGW_RTP_PACKET_MAX = 1500, /* datagrams dcgw forwards; larger ones are dropped */
    DCGW_RTP_EXT_IDS = 15,      /* one-byte form ids 1..14 (RFC 8285 §4.2) */
    DCGW_RTP_MID_MAX = 32,      /* a mid value dcgw writes into the extension (RFC 8843: 1..32) */
};

/* The RTP profile of the header extension (RFC 8285 §4.2, §4.3). */
#define DCGW_RTP_EXT_ONE_BYTE 0xBEDEu
#define DCGW_RTP_EXT_TWO_BYTE 0x1000u /* the low 4 bits are app bits */

struct dcgw_rtp_hdr {
    bool marker, padding;
    uint8_t pt; /* payload type, 0..127 */
    uint8_t cc; /* CSRC count */
    uint16_t seq;
    uint32_t ts, ssrc;
    uint16_t ext_profile; /* 0: no extension */
    size_t ext_off;       /* first byte of the extension's data (after its 4-byte header) */
    size_t ext_len;       /* bytes of extension data */
    size_t payload_off;   /* first payload byte (after CSRCs and extension) */
};

/* RFC 5761 §4: with RTP and RTCP multiplexed, a second byte of 192..223 is RTCP (payload
 * types 64..95 are not used for RTP). Only looks at p[1]; n must be at least 2. */
bool dcgw_rtp_is_rtcp(const uint8_t *p, size_t n);

/* Parses the header of an RTP packet (RFC 3550 §5.1, RFC 8285 §4.1): version 2, room for
 * the CSRCs and the extension its lengths announce. Padding is not checked (in SRTP it is
 * encrypted). Returns 0 or DCGW_EMALFORMED / DCGW_ETRUNC. */
int dcgw_rtp_parse(const uint8_t *p, size_t n, struct dcgw_rtp_hdr *h);

/* Calls fn for each element of the header extension (one-byte or two-byte form, padding
 * skipped). Stops at the first malformed element: returns DCGW_EMALFORMED, else 0 (also
 * when the packet has no extension or a profile of another kind). fn returns false to stop. */
int dcgw_rtp_ext_each(const uint8_t *p, const struct dcgw_rtp_hdr *h,
                      bool (*fn)(void *ud, uint8_t id, const uint8_t *v, size_t len), void *ud);
/* The value of element id (v, len), or false when absent. */
bool dcgw_rtp_ext_find(const uint8_t *p, const struct dcgw_rtp_hdr *h, uint8_t id,
                       const uint8_t **v, size_t *len);

/* How the packets of one m-line are rewritten toward the other leg. */
struct dcgw_rtp_rewrite {
    uint8_t ext_map[256]; /* extension id on input -> id on output; 0 drops the element */
    uint8_t mid_in;       /* input id of the mid extension (0: none) */
    uint8_t mid_out;      /* its output id (0: dropped) */
    uint8_t mid_len;      /* value written for it: mid[0..mid_len), 1..DCGW_RTP_MID_MAX */
    char mid[DCGW_RTP_MID_MAX];
};

/* Writes into out the packet p (header h) rewritten: payload type pt, SSRC ssrc, extension
 * elements renumbered (or dropped), the mid element's value replaced. The extension goes
 * out in the one-byte form (ids 1..14, values 1..16 bytes) when every kept element fits,
 * else in the two-byte form; without elements it is left out. CSRCs and the payload
 * (padding included) are copied unchanged. Returns the length, DCGW_ETOOBIG (cap), or
 * DCGW_EMALFORMED (a malformed extension). */
int dcgw_rtp_rewrite(const uint8_t *p, size_t n, const struct dcgw_rtp_hdr *h,
                     const struct dcgw_rtp_rewrite *rw, uint8_t pt, uint32_t ssrc, uint8_t *out,
                     size_t cap);

/* ---- RTCP ---- */

enum dcgw_rtcp_pt {
    DCGW_RTCP_SR = 200,
    DCGW_RTCP_RR = 201,
    DCGW_RTCP_SDES = 202,
    DCGW_RTCP_BYE = 203,
    DCGW_RTCP_APP = 204,
    DCGW_RTCP_RTPFB = 205, /* RFC 4585 §6.2: NACK (1), TMMBR (3), TMMBN (4), TWCC (15) */
    DCGW_RTCP_PSFB = 206,  /* RFC 4585 §6.3: PLI (1), SLI (2), RPSI (3), FIR (4), AFB (15) */
    DCGW_RTCP_XR = 207,    /* RFC 3611 */
};

/* What an SSRC field of an RTCP packet names. */
enum dcgw_rtcp_role {
    DCGW_RTCP_SENDER, /* a stream of the packet's sender (sender SSRC, SDES/BYE sources) */
    DCGW_RTCP_MEDIA,  /* a stream of the receiver's (report blocks, feedback targets) */
};

/* Counts of what a compound packet held. */
struct dcgw_rtcp_info {
    unsigned packets;                    /* RTCP packets in the compound */
    unsigned sr, rr, sdes, bye, app, xr; /* by type */
    unsigned nack, pli, fir, remb, twcc; /* feedback */
    unsigned other_fb;                   /* other RTPFB/PSFB formats (passed as they are) */
    uint32_t sender_ssrc;                /* of the first packet */
};

/* Walks a (compound or reduced-size, RFC 5506) RTCP packet: every packet version 2, its
 * length inside n, the last one ending at n, padding only on the last (RFC 3550 §6.4.1).
 * Fills info (may be NULL). Returns 0, DCGW_EMALFORMED or DCGW_ETRUNC. */
int dcgw_rtcp_check(const uint8_t *p, size_t n, struct dcgw_rtcp_info *info);

/* Replaces, in place, every SSRC field dcgw knows of in a checked RTCP packet (sender
 * SSRCs, report blocks, SDES chunks, BYE, feedback media sources, FIR and TMMBR/TMMBN
 * entries, REMB's SSRC list, XR DLRR sub-blocks) with map(ud, ssrc, role). Unknown packet
 * types and formats keep their bytes. Returns 0 or DCGW_EMALFORMED. */
int dcgw_rtcp_map_ssrcs(uint8_t *p, size_t n,
                        uint32_t (*map)(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role),
                        void *ud);

#endif
