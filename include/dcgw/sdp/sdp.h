/* SDP for the data-channel m-line and the audio/video m-lines beside it: a pure parser
 * and writer (no I/O, no allocation).
 *
 * The parser reads an offer or an answer and extracts what dcgw needs from the first
 * usable data-channel m-line, in the modern form
 *     m=application <port> UDP/DTLS/SCTP webrtc-datachannel   (+ a=sctp-port, RFC 8841)
 * or the legacy form still offered by aiortc 1.4
 *     m=application <port> DTLS/SCTP 5000                     (+ a=sctpmap:5000 ...)
 * with its ICE attributes and candidates (RFC 8839), fingerprints (RFC 8122), a=setup
 * (RFC 4145), a=tls-id (RFC 8842), a=max-message-size (RFC 8841) and the SDP-negotiated
 * channels a=dcmap / a=dcsa (RFC 8864). Audio and video m-lines are kept as sdp_rtp.h
 * describes (codecs, extensions, streams, their own transport); sdp_match.h pairs those of
 * two legs. Other m-lines are only recorded, in order, so an answer can reject them. See
 * docs/sdp.md for the strict-versus-tolerant rules.
 *
 * The writer makes dcgw's answer to a parsed offer (or an offer of its own) from a
 * description of the local side: ICE-lite, host candidates, fingerprints, setup.
 *
 * All structures have fixed size (caps below); struct dcgw_sdp is about 190 KiB, so keep
 * it on the heap or in a session object rather than on a worker's stack. */
#ifndef DCGW_SDP_H
#define DCGW_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"
#include "dcgw/sdp/sdp_rtp.h"

enum dcgw_sdp_caps {
    DCGW_SDP_TEXT_MAX = DCGW_SDP_MAX,                  /* whole SDP, bytes (parse and write) */
    DCGW_SDP_LINE_MAX = 4096,                          /* one line, bytes */
    DCGW_SDP_MEDIA_MAX = 16,                           /* m-lines in one SDP */
    DCGW_SDP_BUNDLE_MAX = 16,                          /* mids in the BUNDLE group */
    DCGW_SDP_CANDIDATES_MAX = DCGW_SDP_MAX_CANDIDATES, /* usable candidates kept */
    DCGW_SDP_FINGERPRINTS_MAX = DCGW_SDP_MAX_FINGERPRINTS,
    DCGW_SDP_DCMAP_MAX = DCGW_SDP_MAX_DCMAP,
    DCGW_SDP_DCSA_MAX = 64,
    DCGW_SDP_LOCAL_ADDRS_MAX = 4,                /* host candidates dcgw writes */
    DCGW_SDP_STREAM_ID_MAX = DCGW_STREAM_ID_MAX, /* RFC 8864 §5.1 (limits.h) */

    /* buffer sizes, terminating NUL included */
    DCGW_SDP_MID_SIZE = 33,
    DCGW_SDP_UFRAG_SIZE = 257, /* RFC 8839 §5.4: 4..256 ice-chars */
    DCGW_SDP_PWD_SIZE = 257,   /* RFC 8839 §5.4: 22..256 ice-chars */
    DCGW_SDP_ICE_OPTIONS_SIZE = 128,
    DCGW_SDP_TLS_ID_SIZE = 256,    /* RFC 8842 §4: 20..255 chars */
    DCGW_SDP_FOUNDATION_SIZE = 33, /* RFC 8839 §5.1: 1..32 ice-chars */
    DCGW_SDP_LABEL_SIZE = DCGW_LABEL_MAX,
    DCGW_SDP_SUBPROTO_SIZE = 128,
    DCGW_SDP_DCSA_SIZE = 256,
    DCGW_SDP_ORIGIN_SIZE = 65, /* o= username, sess-id, sess-version */
    DCGW_SDP_TOKEN_SIZE = 33,  /* m= media, proto, first fmt */

    /* defaults when the attribute is absent */
    DCGW_SDP_DEFAULT_SCTP_PORT = 5000,         /* RFC 8841 §5 */
    DCGW_SDP_DEFAULT_MAX_MESSAGE_SIZE = 65536, /* RFC 8841 §6 */
    DCGW_SDP_DEFAULT_LEGACY_STREAMS = 65535,

    /* what the generators produce */
    DCGW_SDP_GEN_UFRAG_LEN = 8,   /* 48 random bits */
    DCGW_SDP_GEN_PWD_LEN = 24,    /* 144 random bits */
    DCGW_SDP_GEN_TLS_ID_LEN = 40, /* upper-case hex: 160 random bits */
};

/* a=dcmap (RFC 8864 §5.1). Strings are percent-decoded; absent means "". */
struct dcgw_sdp_dcmap {
    uint16_t stream_id; /* 0..DCGW_SDP_STREAM_ID_MAX */
    bool ordered;       /* default true */
    bool has_ordered;   /* ordered= was given (the writer repeats only what was given) */
    bool has_max_retr;  /* max-retr and max-time are mutually exclusive */
    bool has_max_time;
    bool has_priority;
    uint32_t max_retr;
    uint32_t max_time; /* milliseconds */
    uint16_t priority;
    char label[DCGW_SDP_LABEL_SIZE];
    char subprotocol[DCGW_SDP_SUBPROTO_SIZE];
};

/* a=dcsa:<stream-id> <attribute> (RFC 8864 §5.2), the attribute kept verbatim. */
struct dcgw_sdp_dcsa {
    uint16_t stream_id;
    char attr[DCGW_SDP_DCSA_SIZE]; /* e.g. "3gpp-req-app:..." */
};

/* The data-channel m-section, session-level values folded in (media level wins). Its
 * transport fields read by name (dc->ice_ufrag) or as one object (&dc->transport). */
struct dcgw_sdp_dc {
    bool legacy;                 /* DTLS/SCTP <port> + a=sctpmap */
    uint16_t port;               /* m-line port */
    uint16_t legacy_streams;     /* a=sctpmap third field, 0 if absent */
    uint8_t media_index;         /* position among all m-lines */
    char mid[DCGW_SDP_MID_SIZE]; /* "" when absent */
    uint16_t sctp_port;          /* a=sctp-port, the sctpmap number, or 5000 */
    uint32_t max_message_size;   /* 0: any size (RFC 8841 §6); absent: 65536 */
    union {
        struct dcgw_sdp_transport transport;
        struct {
            DCGW__SDP_TRANSPORT_FIELDS
        };
    };
    size_t n_dcmap;
    struct dcgw_sdp_dcmap dcmap[DCGW_SDP_DCMAP_MAX];
    size_t n_dcsa; /* only those whose stream id has a dcmap */
    struct dcgw_sdp_dcsa dcsa[DCGW_SDP_DCSA_MAX];
};

/* One m-line as written, so an answer can mirror (or reject) it. */
struct dcgw_sdp_media {
    char media[DCGW_SDP_TOKEN_SIZE]; /* "application", "audio", ... */
    char proto[DCGW_SDP_TOKEN_SIZE];
    char fmt[DCGW_SDP_TOKEN_SIZE]; /* first format */
    char mid[DCGW_SDP_MID_SIZE];
    uint16_t port;
    int8_t rtp; /* index in dcgw_sdp.rtp for an audio/video m-line, else -1 */
};

/* What the parser saw and deliberately did not use. */
struct dcgw_sdp_ignored {
    uint32_t cand_mdns;       /* "<uuid>.local" host names: not resolvable here */
    uint32_t cand_fqdn;       /* other host names */
    uint32_t cand_not_udp;    /* TCP and other transports */
    uint32_t cand_type;       /* unknown candidate types */
    uint32_t fp_unknown_hash; /* fingerprints with a hash we do not know (md5, ...) */
    uint32_t dcsa_orphan;     /* dcsa with no dcmap of the same stream id */
    uint32_t unusable_app;    /* application m-lines that were not usable */
    uint32_t attrs;           /* attributes not interpreted */
    uint32_t rtp_no_rtpmap;   /* dynamic payload types without a=rtpmap (dropped) */
    uint32_t rtp_unknown_pt;  /* rtpmap/fmtp/rtcp-fb for a payload type not in m= */
    uint32_t rtp_fb;          /* a=rtcp-fb kinds dcgw does not forward */
    uint32_t rtp_extra;       /* audio/video m-lines past DCGW_SDP_RTP_MAX, msid repeats */
};

struct dcgw_sdp {
    char origin_user[DCGW_SDP_ORIGIN_SIZE];
    char origin_sess_id[DCGW_SDP_ORIGIN_SIZE];
    char origin_sess_version[DCGW_SDP_ORIGIN_SIZE];
    bool ice_lite;   /* session-level a=ice-lite (RFC 8839 §5.3) */
    size_t n_bundle; /* mids of the first a=group:BUNDLE */
    char bundle[DCGW_SDP_BUNDLE_MAX][DCGW_SDP_MID_SIZE];
    size_t n_media; /* every m-line, the data channel's included */
    struct dcgw_sdp_media media[DCGW_SDP_MEDIA_MAX];
    size_t n_other_media; /* m-lines other than the data channel's */
    struct dcgw_sdp_dc dc;
    enum dcgw_sdp_dir dir; /* session-level direction, the default of every m-line */
    size_t n_rtp;          /* audio/video m-lines (sdp_rtp.h), in order, usable or not */
    struct dcgw_sdp_rtp rtp[DCGW_SDP_RTP_MAX];
    size_t n_codecs, n_exts, n_ssrcs, n_ssrc_groups; /* pools the m-lines slice */
    struct dcgw_sdp_codec codecs[DCGW_SDP_CODECS_MAX];
    struct dcgw_sdp_ext exts[DCGW_SDP_EXTS_MAX];
    struct dcgw_sdp_ssrc ssrcs[DCGW_SDP_SSRCS_MAX];
    struct dcgw_sdp_ssrc_group ssrc_groups[DCGW_SDP_SSRC_GROUPS_MAX];
    struct dcgw_sdp_ignored ignored;
};

/* Parses text[0..len) (no NUL needed; CRLF or LF) into *out, which it overwrites.
 * Returns 0, or DCGW_EMALFORMED (syntax), DCGW_ETOOBIG (a size or count cap),
 * DCGW_ESDP (well-formed but unusable: no data-channel m-line, no ICE credentials, no
 * fingerprint with a known hash), DCGW_EINVAL (NULL arguments). On error *out is
 * undefined and err (if errcap > 0) holds a NUL-terminated reason such as
 * "line 7: a=fingerprint: unknown hash", fit to pass to the controller. */
int dcgw_sdp_parse(const char *text, size_t len, struct dcgw_sdp *out, char *err, size_t errcap);

/* "active", "passive", "actpass", "holdconn"; "none" for NONE. Static storage. */
const char *dcgw_sdp_setup_name(enum dcgw_sdp_setup s);
/* "host", "srflx", "prflx", "relay". Static storage. */
const char *dcgw_sdp_cand_type_name(enum dcgw_sdp_cand_type t);

/* The answerer's a=setup for an offered one (RFC 4145 §4, RFC 5763 §5): active ->
 * passive, passive -> active, holdconn -> holdconn, absent (= active) -> passive,
 * actpass -> prefer (ACTIVE or PASSIVE; anything else gives ACTIVE, RFC 5763's
 * recommendation). */
enum dcgw_sdp_setup dcgw_sdp_answer_setup(enum dcgw_sdp_setup offered, enum dcgw_sdp_setup prefer);

/* Fills ufrag (DCGW_SDP_GEN_UFRAG_LEN chars) and pwd (DCGW_SDP_GEN_PWD_LEN chars) with
 * random ice-chars (RFC 8839 §5.4) from OpenSSL's RAND_bytes, NUL-terminated.
 * Returns 0, DCGW_ETOOBIG if a buffer is too small, DCGW_EINTERNAL if RAND fails. */
int dcgw_sdp_ice_credentials(char *ufrag, size_t ufrag_cap, char *pwd, size_t pwd_cap);
/* Fills buf with a random tls-id (RFC 8842 §4) of DCGW_SDP_GEN_TLS_ID_LEN upper-case hex chars.
 * Returns 0, DCGW_ETOOBIG, or DCGW_EINTERNAL. */
int dcgw_sdp_tls_id(char *buf, size_t cap);

/* One audio/video m-section dcgw writes, in an answer or an offer. The codecs (with their
 * payload types), fmtp and extmaps come from m-line `rtp` of `src`; which of them are
 * written, and dcgw's direction, from the other fields. Borrowed for the write call. */
struct dcgw_sdp_av {
    const struct dcgw_sdp *src;
    uint8_t rtp;                         /* index in src->rtp */
    bool reject;                         /* answers: port 0 (RFC 3264 §6), with reason */
    char reason[DCGW_SDP_REASON_SIZE];   /* written as i= of the rejected m-line */
    uint64_t codecs;                     /* bit i: codec i of the m-line is written */
    uint8_t fb[DCGW_SDP_RTP_CODECS_MAX]; /* a=rtcp-fb written per codec (enum dcgw_sdp_fb) */
    uint16_t exts;                       /* bit i: extmap i of the m-line is written */
    enum dcgw_sdp_dir dir;               /* dcgw's direction on this m-line */
    bool rtcp_rsize;
    /* What dcgw sends on it (a=msid, a=ssrc cname, a=ssrc-group): the streams of m-line
     * streams_rtp of `streams` (the other leg's); NULL: none described. */
    const struct dcgw_sdp *streams;
    uint8_t streams_rtp;
    /* Not bundled: the m-line's own ICE credentials and a=setup (NULL: local's). */
    const char *ice_ufrag, *ice_pwd;
    enum dcgw_sdp_setup setup;
};

/* dcgw's side of the data channel, for the writer. The dcmap/dcsa arrays are borrowed
 * for the duration of the write call (they may point into a parsed offer). */
struct dcgw_sdp_local {
    uint64_t sess_id;
    uint64_t sess_version;
    char ice_ufrag[DCGW_SDP_UFRAG_SIZE];
    char ice_pwd[DCGW_SDP_PWD_SIZE];
    size_t n_addrs; /* host candidates, the first is the default (m= and c=) */
    struct sockaddr_storage addrs[DCGW_SDP_LOCAL_ADDRS_MAX]; /* AF_INET/AF_INET6 + port */
    size_t n_fingerprints;
    struct dcgw_fingerprint fingerprints[DCGW_SDP_FINGERPRINTS_MAX];
    enum dcgw_sdp_setup setup;         /* answers: dcgw_sdp_answer_setup(); offers: actpass */
    char tls_id[DCGW_SDP_TLS_ID_SIZE]; /* "" to leave a=tls-id out */
    uint16_t sctp_port;
    uint32_t max_message_size;          /* 0: any size */
    char mid[DCGW_SDP_MID_SIZE];        /* offers only ("" gives "0"); answers mirror the offer */
    const struct dcgw_sdp_dcmap *dcmap; /* accepted (answer) or proposed (offer) channels */
    size_t n_dcmap;
    const struct dcgw_sdp_dcsa *dcsa; /* each must name a stream id of dcmap */
    size_t n_dcsa;
    /* Audio and video. Answers: one per offer->rtp[] (n_av == offer->n_rtp), or none (every
     * audio/video m-line rejected). Offers: the m-lines to offer, in order, with the data
     * channel's m-line before av[dc_index] (dc_index == n_av: last). */
    const struct dcgw_sdp_av *av;
    size_t n_av;
    size_t dc_index;
};

/* Zeroes *l and sets sctp_port 5000, max_message_size DCGW_MAX_MESSAGE_SIZE_DEFAULT,
 * setup PASSIVE, sess_version 1. */
void dcgw_sdp_local_init(struct dcgw_sdp_local *l);

/* Writes dcgw's answer to a parsed offer into buf (NUL-terminated): ICE-lite, the offer's
 * m-line form (modern or legacy), the audio/video m-lines local->av describes, every other
 * m-line rejected with port 0 (RFC 3264 §6), the offer's mids, and a BUNDLE group of the
 * accepted m-lines the offer bundled (RFC 8843 §7.3), in the offer's group order.
 * Returns the length, DCGW_ETOOBIG if cap is too small, or DCGW_EINVAL if local is
 * incomplete or invalid (no address, no fingerprint, bad credentials, setup not
 * active/passive/holdconn, a dcsa without dcmap). buf is unspecified on error. */
int dcgw_sdp_write_answer(const struct dcgw_sdp *offer, const struct dcgw_sdp_local *local,
                          char *buf, size_t cap);
/* Writes an offer with one modern data-channel m-line and the audio/video m-lines of
 * local->av, a=setup:actpass (RFC 5763 §5), all in one BUNDLE group (local->mid for the
 * data channel, the av sources' mids for the others). Same returns as
 * dcgw_sdp_write_answer. */
int dcgw_sdp_write_offer(const struct dcgw_sdp_local *local, char *buf, size_t cap);
/* Writes the SDP a peer described attribute by attribute would have sent (the Nmf_MRM
 * adapter, docs/nmf-mrm.md, turns a remote DcEndpoint into the SDP a leg takes): one modern
 * data-channel m-line, peer->setup as given (offer or answer), full ICE (no a=ice-lite),
 * its addresses as host candidates. Same returns as dcgw_sdp_write_offer; DCGW_EINVAL
 * also for setup NONE. */
int dcgw_sdp_write_described(const struct dcgw_sdp_local *peer, char *buf, size_t cap);

#endif
