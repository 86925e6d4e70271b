/* Every hard cap in dcgw, in one place. Configurable limits take their defaults and
 * their allowed ranges from here; nothing fed by the network grows past these. */
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

    /* processes */
    DCGW_MAX_WORKERS = 256,
    DCGW_WORKER_RESTART_BACKOFF_MS = 200,       /* first restart delay, doubled per failure */
    DCGW_WORKER_RESTART_BACKOFF_MAX_MS = 10000, /* ... up to this */
    DCGW_WORKER_EXIT_CONFIG = 78,               /* a worker's exit status: could not start */
    DCGW_DRAIN_TIMEOUT_MS_DEFAULT = 5000,

    /* sessions */
    DCGW_MAX_SESSIONS_DEFAULT = 100000,
    DCGW_MAX_LEGS = 2,
    DCGW_SESSION_ID_MAX = 64,
    DCGW_LABEL_MAX = 256,
    DCGW_SDP_MAX = 64 * 1024,

    /* SDP */
    DCGW_SDP_MAX_FINGERPRINTS = 8,
    DCGW_SDP_MAX_CANDIDATES = 32,
    DCGW_SDP_MAX_DCMAP = 64,

    /* data channels */
    DCGW_MAX_MESSAGE_SIZE_DEFAULT = 256 * 1024,
    DCGW_MAX_MESSAGE_SIZE_CEILING = 64 * 1024 * 1024,
    DCGW_SCTP_STREAMS_DEFAULT = 256,
    DCGW_SCTP_STREAMS_CEILING = 65535,

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

    /* logging */
    DCGW_LOG_LINE_MAX = 1024,
    DCGW_LOG_RL_BURST = 10,  /* rate-limited log lines: burst ... */
    DCGW_LOG_RL_PER_SEC = 5, /* ... then this many per second */
};

#endif
