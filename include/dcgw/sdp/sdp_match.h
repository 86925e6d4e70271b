/* Audio and video across the two legs of a session (docs/media.md): which m-lines pair
 * up, which codecs both legs carry (dcgw does not transcode), how their payload types
 * and header-extension ids map from one leg to the other, and what dcgw answers each leg.
 * Pure functions of parsed SDPs (sdp.h); no allocation.
 *
 * Pairing: the k-th usable audio (video) m-line of leg 0 goes with the k-th usable audio
 * (video) m-line of leg 1. A pair is answered on both legs, or rejected on both (port 0,
 * with the reason in the answer's i= line and in the match).
 *
 * Codecs match on encoding name (case-insensitive), clock rate, channels, and the fmtp
 * parameters that change the bitstream (H264 profile and packetization-mode, VP9
 * profile-id, AV1 profile); rtx matches when its apt codecs match. red, ulpfec and
 * flexfec carry payload types inside their payload, so they are kept only when every
 * codec of the pair keeps its payload type. */
#ifndef DCGW_SDP_MATCH_H
#define DCGW_SDP_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/sdp/sdp.h"

/* Header extensions dcgw reads or rewrites (RFC 8285 URIs). */
enum dcgw_sdp_ext_known {
    DCGW_SDP_EXT_OTHER = 0,
    DCGW_SDP_EXT_MID,  /* urn:ietf:params:rtp-hdrext:sdes:mid (RFC 8843 §16.1) */
    DCGW_SDP_EXT_TWCC, /* transport-wide sequence number (draft-holmer-rmcat-...) */
};

#define DCGW_SDP_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define DCGW_SDP_URI_TWCC                                                                          \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

enum dcgw_sdp_codec_flags {
    DCGW_SDP_CODEC_RTX = 1 << 0,  /* RFC 4588 retransmission */
    DCGW_SDP_CODEC_WRAP = 1 << 1, /* red / ulpfec / flexfec: payload types inside */
};

struct dcgw_sdp_codec_pair {
    uint8_t pt[2]; /* the payload type on leg 0 and on leg 1 */
    uint8_t flags; /* enum dcgw_sdp_codec_flags */
    uint32_t clock;
};

struct dcgw_sdp_ext_pair {
    uint8_t id[2]; /* the extension's id on leg 0 and leg 1 (1..14: one-byte form) */
    uint8_t known; /* enum dcgw_sdp_ext_known */
};

/* One audio or video m-line carried between the legs. */
struct dcgw_sdp_pair {
    enum dcgw_sdp_kind kind;
    uint8_t rtp[2]; /* index in each leg's sdp->rtp */
    uint8_t tp[2];  /* the transport of each leg that carries it (sdp->rtp[].tp) */
    bool send[2];   /* leg k's peer may send on it (dcgw forwards it to the other leg) */
    size_t n_codecs;
    struct dcgw_sdp_codec_pair codecs[DCGW_SDP_RTP_CODECS_MAX];
    size_t n_exts;
    struct dcgw_sdp_ext_pair exts[DCGW_SDP_RTP_EXTS_MAX];
};

struct dcgw_sdp_match_opts {
    bool allow[2][2]; /* [leg][DCGW_SDP_KIND_*]: the policy of that leg lets it through */
};

struct dcgw_sdp_match {
    size_t n_pairs;
    struct dcgw_sdp_pair pairs[DCGW_SDP_RTP_MAX];
    /* What dcgw answers each leg: one per sdp->rtp[] of that leg (src = that leg's SDP,
     * streams = the paired m-line of the other leg). For dcgw_sdp_write_answer. */
    size_t n_av[2];
    struct dcgw_sdp_av av[2][DCGW_SDP_RTP_MAX];
};

/* Pairs the m-lines of two SDPs that describe the legs' peers (two offers, or an offer
 * dcgw made from leg 0 and leg 1's answer to it). Never fails: what cannot be carried is
 * rejected with a reason. The transport-wide sequence number extension and transport-cc
 * feedback are paired only where both legs group the pairs into transports alike (the
 * sequence numbers are per transport; rtp[].tp as dcgw_sdp_assign_transports gave them). */
void dcgw_sdp_match(const struct dcgw_sdp *leg0, const struct dcgw_sdp *leg1,
                    const struct dcgw_sdp_match_opts *opts, struct dcgw_sdp_match *out);

/* Answers one leg's offer before the other leg's SDP is known (dcgw will offer the other
 * leg what it accepts here): every usable m-line the policy allows, all its codecs,
 * extensions and its direction mirrored; no streams described. out[i] for sdp->rtp[i]. */
void dcgw_sdp_answer_alone(const struct dcgw_sdp *sdp, const bool allow[2],
                           struct dcgw_sdp_av out[DCGW_SDP_RTP_MAX]);

/* The offer dcgw makes to the other leg from an answer written by dcgw_sdp_answer_alone
 * (or a relay's mirror): the accepted m-lines in order, same codecs, payload types and
 * extensions, dcgw's direction reversed (what it receives on one leg it sends on the
 * other), the answered leg's streams described. Returns the number written to out. */
size_t dcgw_sdp_offer_from(const struct dcgw_sdp_av *answered, size_t n,
                           struct dcgw_sdp_av out[DCGW_SDP_RTP_MAX]);

/* Everything of m-line `rtp` of sdp as it stands (relay mode passes it on): all codecs
 * with their rtcp-fb, all extensions, its own direction, its own streams; rejected when
 * it is not usable or its port is 0. */
void dcgw_sdp_av_mirror(const struct dcgw_sdp *sdp, size_t rtp, struct dcgw_sdp_av *out);

/* Transports (RFC 8843, RFC 8839): which ICE/DTLS transport of the leg carries each usable
 * audio/video m-line of s, in s->rtp[i].tp. 0 is the data channel's, with every m-line of
 * its BUNDLE group; then, in m-line order, one for the (first) BUNDLE group when it does not
 * hold the data channel, and one for each m-line outside the group. A usable m-line whose
 * transport would be max or above is made unusable with reason why, and so are the m-lines
 * of a group without the data channel when none of them has ICE credentials and a
 * fingerprint. Unusable m-lines get tp 0. Returns the number of transports numbered (at
 * least 1: the data channel's). */
unsigned dcgw_sdp_assign_transports(struct dcgw_sdp *s, unsigned max, const char *why);

/* The transport the peer of a bundled SDP uses (RFC 8843 §7): the one of the first m-line
 * of the data channel's BUNDLE group that is accepted (the data channel always; an
 * audio/video m-line when av[i] does not reject it, or, av NULL, when it is usable) and has
 * ICE credentials and a fingerprint; else the data channel's. */
const struct dcgw_sdp_transport *
dcgw_sdp_bundle_transport(const struct dcgw_sdp *s, const struct dcgw_sdp_av *av, size_t n_av);

/* The peer's side of transport tp (dcgw_sdp_assign_transports): tp 0 as
 * dcgw_sdp_bundle_transport; another, that of its first accepted m-line (as above) with ICE
 * credentials and a fingerprint, else of another m-line of tp that has them (a BUNDLE group
 * member av rejects). NULL when no accepted m-line uses tp. */
const struct dcgw_sdp_transport *dcgw_sdp_tp_transport(const struct dcgw_sdp *s,
                                                       const struct dcgw_sdp_av *av, size_t n_av,
                                                       unsigned tp);

/* Known extension of a URI. */
enum dcgw_sdp_ext_known dcgw_sdp_ext_known_of(const char *uri);
/* The id of the mid extension (RFC 8843 §16.1) on m-line `rtp` of sdp; 0: none. */
uint8_t dcgw_sdp_mid_ext_id(const struct dcgw_sdp *sdp, size_t rtp);

#endif
