/* The caps that more than one module shares, and where the others live.
 *
 * Here: the caps of the control protocol, the processes, sessions, data channels, the
 * bootstrap proxy and logging (configurable limits take their defaults and their ranges
 * from here), and the wire caps several stages enforce (DTLS record sizes, stream ids,
 * certificate sizes, leg names): a module that names one of these in its own header
 * derives it from here (DCGW_DTLS_RECORD_MAX and DCGW_INSPECT_RECORD_MAX are both
 * DCGW_DTLS_CIPHERTEXT_MAX), never repeats the number.
 *
 * In the module that owns them, beside the code that enforces them (an enum of limits
 * near the top of its header): SDP (sdp/sdp.h, sdp/sdp_rtp.h), STUN and ICE (stages/demux.h,
 * stages/ice.h), DTLS (stages/dtls.h), certificates (stages/cert.h), the DTLS inspector
 * (stages/dtls_inspect.h), SCTP (stages/sctp.h), data channels (stages/datachannel.h),
 * relay flows (stages/relay.h), RTP, SRTP and media (stages/rtp.h, stages/srtp.h,
 * stages/media.h), policies (guard/policy.h), avatars, JWS and trust stores
 * (guard/avatar.h, guard/jws.h, guard/trust.h), UDP batches (net/io.h), the data-channel
 * client (net/client.h), Nmf_MRM (control/nmf.h). A few private to one file stay there
 * (src/worker/worker_int.h: routes per leg, closed channels kept per session;
 * src/worker/verify.c: avatar channels per session; src/net/mdc1.c: response heads from
 * the DCSF; src/stages/ice.c: the USERNAME attribute). Nothing fed by the network grows
 * past any of them. */
#ifndef DCGW_LIMITS_H
#define DCGW_LIMITS_H

enum dcgw_limits {
    /* control protocol */
    DCGW_FRAME_HEADER = 4,               /* 4-byte big-endian length */
    DCGW_FRAME_MAX_DEFAULT = 256 * 1024, /* largest control frame accepted */
    DCGW_FRAME_MAX_MIN = 1024,           /* the least control.max_frame may be */
    DCGW_FRAME_MAX_CEILING = 16 * 1024 * 1024,
    DCGW_CTL_OUTBUF_DEFAULT = 4 * 1024 * 1024, /* queued bytes toward one controller */
    DCGW_CTL_MAX_CONNS_DEFAULT = 64,
    DCGW_CTL_MAX_CONNS_CEILING = 4096,
    DCGW_CTL_EVICT_QUIET_MS = 1000, /* a connection quiet this long may make room */
    DCGW_CTL_SWEEP_MS = 250,        /* idle and slow connections looked at this often */

    /* processes */
    DCGW_MAX_WORKERS = 256,
    DCGW_WORKER_RESTART_BACKOFF_MS = 200,       /* first restart delay, doubled per failure */
    DCGW_WORKER_RESTART_BACKOFF_MAX_MS = 10000, /* ... up to this */
    DCGW_WORKER_EXIT_CONFIG = 78,               /* a worker's exit status: could not start */
    DCGW_DRAIN_TIMEOUT_MS_DEFAULT = 5000,

    /* sessions */
    DCGW_MAX_SESSIONS_DEFAULT = 100000,
    DCGW_MAX_LEGS = 2,
    DCGW_LEG_NAME_MAX = 32, /* a leg's name in policies and avatar grants, bytes */
    DCGW_SESSION_ID_MAX = 64,
    DCGW_LABEL_MAX = 256,
    DCGW_SDP_MAX = 64 * 1024,

    /* SDP */
    DCGW_SDP_MAX_FINGERPRINTS = 8,
    DCGW_SDP_MAX_CANDIDATES = 32,
    DCGW_SDP_MAX_DCMAP = 64,

    /* data channels */
    DCGW_STREAM_ID_MAX = 65534, /* RFC 8864 §5.1, RFC 8832: stream id 65535 is reserved */
    DCGW_MAX_MESSAGE_SIZE_DEFAULT = 256 * 1024,
    DCGW_MAX_MESSAGE_SIZE_CEILING = 64 * 1024 * 1024,
    DCGW_SCTP_STREAMS_DEFAULT = 256,
    DCGW_SCTP_STREAMS_CEILING = DCGW_STREAM_ID_MAX + 1,

    /* audio and video (docs/media.md): ICE/DTLS transports of one terminated leg, its
     * data channel's included; each unbundled audio/video m-line needs one */
    DCGW_MEDIA_TRANSPORTS_DEFAULT = 4,
    DCGW_MEDIA_TRANSPORTS_CEILING = 9, /* the data channel's + DCGW_SDP_RTP_MAX (8) */

    /* DTLS records (RFC 6347 §4.1; RFC 5246 §6.2.1): the DTLS stage and the inspector */
    DCGW_TLS_PLAINTEXT_MAX = 16384, /* 2^14 */
    DCGW_DTLS_EXPANSION_MAX = 2048, /* DTLSCiphertext.length over the plaintext */
    DCGW_DTLS_CIPHERTEXT_MAX = DCGW_TLS_PLAINTEXT_MAX + DCGW_DTLS_EXPANSION_MAX,
    DCGW_DTLS_HEADER = 13, /* type, version, epoch, sequence number, length */

    /* certificates: DTLS peers, avatar signers (x5c) */
    DCGW_CERT_DER_MAX = 16 * 1024, /* larger certificates are refused */

    /* texts dcgw writes about a failure (DTLS, the inspector), NUL included */
    DCGW_REASON_TEXT_MAX = 320,

    /* bootstrap HTTP proxy (docs/bootstrap.md) */
    DCGW_HTTP_URL_MAX = 2048,               /* a replacement URL */
    DCGW_HTTP_HEADER_BYTES_DEFAULT = 16384, /* request line + headers */
    DCGW_HTTP_HEADER_BYTES_CEILING = 65536,
    DCGW_HTTP_HEADERS_MAX = 100, /* header fields in one request */
    DCGW_HTTP_BODY_DEFAULT = 1024 * 1024,
    DCGW_HTTP_BODY_CEILING = 64 * 1024 * 1024,
    DCGW_HTTP_CONCURRENT_DEFAULT = 4,
    DCGW_HTTP_CONCURRENT_CEILING = 64,
    DCGW_HTTP_WINDOW_DEFAULT = 256 * 1024,
    DCGW_HTTP_WINDOW_MIN = 16 * 1024,
    DCGW_HTTP_WINDOW_CEILING = 64 * 1024 * 1024,

    /* metrics (docs/metrics.md) */
    DCGW_METRICS_PUSH_DEFAULT_MS = 1000, /* a worker's snapshot, when something changed */
    DCGW_METRICS_PUSH_MIN_MS = 100,
    DCGW_METRICS_PUSH_MAX_MS = 60000,
    DCGW_METRICS_PUSH_IDLE_TICKS = 10,       /* pushed at least every 10 intervals */
    DCGW_METRICS_CONNECTIONS = 4,            /* scrapes at once */
    DCGW_METRICS_CONN_MEMORY = 32 * 1024,    /* per connection: request headers */
    DCGW_METRICS_CONN_TIMEOUT_S = 10,        /* idle HTTP connection */
    DCGW_METRICS_BODY_MAX = 8 * 1024 * 1024, /* one exposition (about 10 KiB per worker) */

    /* eBPF fast path of relay flows (docs/fastpath.md): relay flows per worker; each takes
     * two map entries and two slots (one per direction) */
    DCGW_FAST_PATH_FLOWS_DEFAULT = 4096,
    DCGW_FAST_PATH_FLOWS_CEILING = 1 << 20,

    /* datagrams from sources not validated yet (base/ratelimit.h, docs/floods.md) */
    DCGW_UNKNOWN_RATE_DEFAULT = 100,     /* STUN Binding requests per second per source */
    DCGW_UNKNOWN_BURST_DEFAULT = 50,     /* ... and at once */
    DCGW_UNKNOWN_SOURCES_DEFAULT = 4096, /* sources tracked at once per worker */
    DCGW_RATELIMIT_SOURCES_MAX = 1 << 20,
    DCGW_FILTER_ADDRESSES_MAX = 1 << 20, /* validated addresses the kernel filter holds */

    /* logging */
    DCGW_LOG_LINE_MAX = 1024,
    DCGW_LOG_RL_BURST = 10,  /* rate-limited log lines: burst ... */
    DCGW_LOG_RL_PER_SEC = 5, /* ... then this many per second */
};

/* metrics.listen when the configuration says nothing: loopback only. */
#define DCGW_METRICS_LISTEN_DEFAULT "127.0.0.1:9745"

#endif
