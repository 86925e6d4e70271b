/* SDP for audio and video m-lines (DESIGN §2 "Audio and video"): what the parser keeps of
 * them and the transport description every m-section may carry. Included by sdp.h; see
 * docs/sdp.md and docs/media.md.
 *
 * An audio/video m-line is kept when its proto is an RTP profile (RTP/AVP(F),
 * RTP/SAVP(F), UDP/TLS/RTP/SAVP(F)): its payload types with a=rtpmap (RFC 8866 §6.6,
 * static types from RFC 3551 when absent), a=fmtp, a=rtcp-fb (RFC 4585; the kinds dcgw
 * forwards), a=extmap (RFC 8285), a=ssrc / a=ssrc-group (RFC 5576), a=msid (RFC 8830),
 * the direction (RFC 3264 §5.1), a=rtcp-mux (RFC 5761), a=rtcp-rsize (RFC 5506) and its
 * own transport (ICE, fingerprints, setup: RFC 8843 lets each m-line have one).
 *
 * Codecs, header extensions and SSRCs live in pools of the struct dcgw_sdp; an m-line
 * names its slice (first, count). Everything has a fixed size (caps below). */
#ifndef DCGW_SDP_RTP_H
#define DCGW_SDP_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"

enum dcgw_sdp_rtp_caps {
    DCGW_SDP_RTP_MAX = 8,          /* audio/video m-lines kept per SDP */
    DCGW_SDP_RTP_CODECS_MAX = 64,  /* payload types of one m-line (a 64-bit mask) */
    DCGW_SDP_CODECS_MAX = 128,     /* payload types of every m-line */
    DCGW_SDP_RTP_EXTS_MAX = 16,    /* a=extmap of one m-line (a 16-bit mask) */
    DCGW_SDP_EXTS_MAX = 64,        /* a=extmap of every m-line */
    DCGW_SDP_SSRCS_MAX = 32,       /* a=ssrc ids of every m-line */
    DCGW_SDP_RTP_SSRCS_MAX = 16,   /* of one m-line */
    DCGW_SDP_SSRC_GROUPS_MAX = 16, /* a=ssrc-group of every m-line */
    DCGW_SDP_GROUP_SSRCS_MAX = 4,  /* ssrcs in one group (FID: 2, SIM: up to 3) */
    DCGW_SDP_TRANSPORT_CANDIDATES_MAX = DCGW_SDP_MAX_CANDIDATES,

    /* buffer sizes, terminating NUL included */
    DCGW_SDP_CODEC_NAME_SIZE = 33, /* encoding name of a=rtpmap */
    DCGW_SDP_FMTP_SIZE = 192,      /* a=fmtp parameters */
    DCGW_SDP_EXT_URI_SIZE = 160,   /* a=extmap URI */
    DCGW_SDP_CNAME_SIZE = 65,      /* a=ssrc:<id> cname: */
    DCGW_SDP_MSID_SIZE = 65,       /* RFC 8830 §2: msid-id and msid-appdata are 1*64 */
    DCGW_SDP_GROUP_SEM_SIZE = 16,  /* a=ssrc-group semantics, "FID", "SIM", "FEC-FR" */
    DCGW_SDP_REASON_SIZE = 96,     /* why an m-line is not usable / rejected */
};

/* ---- the transport of one m-section (or of the session level, inherited) ---- */

/* The fields of a transport, also embedded by name in struct dcgw_sdp_dc (sdp.h) so the
 * data-channel section reads as before (dc->ice_ufrag) and as one object (&dc->transport). */
#define DCGW__SDP_TRANSPORT_FIELDS                                                                 \
    char ice_ufrag[257];   /* RFC 8839 §5.4: 4..256 ice-chars; "" when absent */                  \
    char ice_pwd[257];     /* 22..256 ice-chars */                                                 \
    char ice_options[128]; /* raw tokens, "" when absent */                                        \
    bool ice_trickle;      /* ice-options has "trickle" */                                         \
    bool end_of_candidates;                                                                        \
    enum dcgw_sdp_setup setup;                                                                     \
    char tls_id[256];             /* "" when absent */                                             \
    bool has_conn;                /* c= held a literal address */                                  \
    struct sockaddr_storage conn; /* c= address, port from the m-line */                           \
    bool fingerprints_from_session;                                                                \
    size_t n_fingerprints; /* known hashes only */                                                 \
    struct dcgw_fingerprint fingerprints[DCGW_SDP_MAX_FINGERPRINTS];                               \
    size_t n_candidates;                                                                           \
    struct dcgw_sdp_candidate candidates[DCGW_SDP_TRANSPORT_CANDIDATES_MAX];

/* a=setup (RFC 4145 §4). NONE: the attribute was absent, which RFC 4145 reads as active. */
enum dcgw_sdp_setup {
    DCGW_SDP_SETUP_NONE = 0,
    DCGW_SDP_SETUP_ACTIVE,
    DCGW_SDP_SETUP_PASSIVE,
    DCGW_SDP_SETUP_ACTPASS,
    DCGW_SDP_SETUP_HOLDCONN,
};

enum dcgw_sdp_cand_type {
    DCGW_SDP_CAND_HOST = 0,
    DCGW_SDP_CAND_SRFLX,
    DCGW_SDP_CAND_PRFLX,
    DCGW_SDP_CAND_RELAY,
};

/* One UDP candidate with a literal IPv4 or IPv6 address (RFC 8839 §5.1). */
struct dcgw_sdp_candidate {
    char foundation[33]; /* RFC 8839 §5.1: 1..32 ice-chars */
    uint32_t priority;
    uint16_t component; /* 1..256; dcgw uses 1 (RTCP is multiplexed) */
    enum dcgw_sdp_cand_type type;
    struct sockaddr_storage addr; /* address and port */
    bool has_related;
    struct sockaddr_storage related; /* raddr/rport, when both are literal */
};

struct dcgw_sdp_transport {
    DCGW__SDP_TRANSPORT_FIELDS
};

/* ---- audio and video ---- */

enum dcgw_sdp_kind {
    DCGW_SDP_KIND_AUDIO = 0,
    DCGW_SDP_KIND_VIDEO,
};

/* RFC 3264 §5.1; absent is sendrecv (also at session level). */
enum dcgw_sdp_dir {
    DCGW_SDP_DIR_SENDRECV = 0,
    DCGW_SDP_DIR_SENDONLY,
    DCGW_SDP_DIR_RECVONLY,
    DCGW_SDP_DIR_INACTIVE,
};

/* a=rtcp-fb kinds dcgw forwards (RFC 4585 §4.2, RFC 5104 §7.1, draft-alvestrand-rmcat-remb,
 * draft-holmer-rmcat-transport-wide-cc-extensions); others are ignored and counted. */
enum dcgw_sdp_fb {
    DCGW_SDP_FB_NACK = 1 << 0, /* nack */
    DCGW_SDP_FB_PLI = 1 << 1,  /* nack pli */
    DCGW_SDP_FB_FIR = 1 << 2,  /* ccm fir */
    DCGW_SDP_FB_REMB = 1 << 3, /* goog-remb */
    DCGW_SDP_FB_TWCC = 1 << 4, /* transport-cc */
};

/* One payload type of an m-line. */
struct dcgw_sdp_codec {
    uint8_t pt;                          /* 0..127 */
    bool has_rtpmap;                     /* a=rtpmap given (else a static type, RFC 3551) */
    uint8_t channels;                    /* audio channels; 1 when absent */
    uint8_t fb;                          /* enum dcgw_sdp_fb flags */
    uint32_t clock;                      /* clock rate, Hz */
    char name[DCGW_SDP_CODEC_NAME_SIZE]; /* "opus", "VP8", "rtx", ... as written */
    char fmtp[DCGW_SDP_FMTP_SIZE];       /* a=fmtp parameters, "" when absent */
};

/* a=extmap:<id>[/<direction>] <uri> (RFC 8285 §8). */
struct dcgw_sdp_ext {
    uint8_t id; /* 1..255 (1..14 fit the one-byte header) */
    enum dcgw_sdp_dir dir;
    char uri[DCGW_SDP_EXT_URI_SIZE];
};

/* a=ssrc:<id> cname:<cname> (RFC 5576 §4.1). */
struct dcgw_sdp_ssrc {
    uint32_t ssrc;
    char cname[DCGW_SDP_CNAME_SIZE]; /* "" when absent */
};

/* a=ssrc-group:<semantics> <ssrc>... (RFC 5576 §4.2). */
struct dcgw_sdp_ssrc_group {
    char semantics[DCGW_SDP_GROUP_SEM_SIZE];
    uint8_t n;
    uint32_t ssrcs[DCGW_SDP_GROUP_SSRCS_MAX];
};

/* One audio or video m-line. */
struct dcgw_sdp_rtp {
    enum dcgw_sdp_kind kind;
    uint8_t media_index; /* position among all m-lines */
    uint16_t port;
    char proto[33]; /* "UDP/TLS/RTP/SAVPF", ... as written */
    char mid[33];   /* "" when absent */
    bool usable;    /* dcgw can carry it (else reason says why) */
    char reason[DCGW_SDP_REASON_SIZE];
    bool bundle_only; /* a=bundle-only (RFC 8843 §6) */
    bool rtcp_mux, rtcp_rsize;
    enum dcgw_sdp_dir dir;
    bool has_msid;
    char msid_stream[DCGW_SDP_MSID_SIZE]; /* a=msid:<stream> <track> (RFC 8830) */
    char msid_track[DCGW_SDP_MSID_SIZE];  /* "" when absent */
    uint8_t first_codec, n_codecs;        /* slice of dcgw_sdp.codecs, in m= order */
    uint8_t first_ext, n_exts;            /* slice of dcgw_sdp.exts */
    uint8_t first_ssrc, n_ssrcs;          /* slice of dcgw_sdp.ssrcs */
    uint8_t first_group, n_groups;        /* slice of dcgw_sdp.ssrc_groups */
    bool own_transport; /* ICE credentials at media level (else the session's, if any) */
    uint8_t tp;         /* the leg's transport that carries it (dcgw_sdp_assign_transports); 0: the
                           data channel's */
    struct dcgw_sdp_transport transport; /* session-level values folded in */
};

#endif
