/* Metric families of /metrics (docs/metrics.md) that workers count: their names, types,
 * help texts and labels, and the layout of the values a worker pushes to the master
 * (Internal.metrics, WorkerMetrics.values: one flat array in the order defined here;
 * master and workers are the same binary). The master adds the label worker="N" and its
 * own families (control/metrics.c).
 *
 * Every label takes its values from a fixed list (some of them read from the enums of
 * proto/dcgw.proto), so no label can carry a session id or any other unbounded value. */
#ifndef DCGW_MSG_METRICS_H
#define DCGW_MSG_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum dcgw_metric_type { DCGW_METRIC_COUNTER, DCGW_METRIC_GAUGE, DCGW_METRIC_HISTOGRAM };

/* Labels and their value lists. */
enum dcgw_metric_label {
    DCGW_ML_NONE,
    DCGW_ML_ROLE,          /* LegRole: answer, offer */
    DCGW_ML_DIRECTION,     /* in (from the leg's peer), out (to it) */
    DCGW_ML_LEG_STATE,     /* LegState: new, ice, dtls, connected, failed, closed */
    DCGW_ML_SESSION_STATE, /* SessionState: pending, connecting, active, ... */
    DCGW_ML_KIND,          /* channel kind by stream id: bootstrap, application, other */
    DCGW_ML_DROP,          /* enum dcgw_metric_drop */
    DCGW_ML_DTLS_REASON,   /* enum dcgw_metric_reason */
    DCGW_ML_RELAY_REASON,  /* enum dcgw_metric_reason */
    DCGW_ML_INSPECTED,     /* true, false */
    DCGW_ML_POLICY_REASON, /* PolicyReason: denied, dcep_not_allowed, ... */
    DCGW_ML_AVATAR_TYPE,   /* transfer, request */
    DCGW_ML_AVATAR_REASON, /* AvatarReason: bad_signature, untrusted_signer, ... */
    DCGW_ML_CPU_MODE,      /* user, system */
    DCGW_ML_TRANSFER,      /* enum dcgw_metric_transfer */
    DCGW_ML_MEDIA_KIND,    /* MediaKind: audio, video */
    DCGW_ML_COUNT
};

enum { DCGW_METRIC_DIR_IN, DCGW_METRIC_DIR_OUT };

/* Why a datagram or a message was dropped (docs/metrics.md says where each is counted). */
enum dcgw_metric_drop {
    DCGW_MDROP_UDP_TRUNCATED,  /* datagram larger than the receive buffer */
    DCGW_MDROP_UDP_SEND_ERROR, /* sendmmsg refused it */
    DCGW_MDROP_UNKNOWN_SOURCE, /* unknown address, not a STUN request */
    DCGW_MDROP_NO_SESSION,     /* STUN whose USERNAME names no live leg */
    DCGW_MDROP_NO_TWIN,        /* message on a channel the other leg has not */
    DCGW_MDROP_PARTIAL,        /* partially reliable channel, far leg full (RFC 8831 §5) */
    DCGW_MDROP_CLOSED,         /* held for a twin or a far leg that closed meanwhile */
    DCGW_MDROP_TOO_BIG,        /* over the far peer's max-message-size */
    DCGW_MDROP_REFUSED,        /* the policy or the avatar verifier refused it */
    DCGW_MDROP_NO_MEMORY,      /* no memory to hold a message */
    DCGW_MDROP_RELAY_GARBAGE,  /* relay: neither STUN nor DTLS */
    DCGW_MDROP_RELAY_UNVALIDATED,
    DCGW_MDROP_RELAY_NO_PEER,
    DCGW_MDROP_RELAY_RATE,
    DCGW_MDROP_RELAY_INSPECTOR,
    DCGW_MDROP_RELAY_BLOCKED,
    /* audio and video of terminated sessions: the media stage's reasons, in the order of
     * DCGW_MEDIA_DROP_MAP (include/dcgw/stages/media.h; docs/media.md) */
    DCGW_MDROP_MEDIA_NOT_READY,
    DCGW_MDROP_MEDIA_MALFORMED,
    DCGW_MDROP_MEDIA_AUTH,
    DCGW_MDROP_MEDIA_REPLAY,
    DCGW_MDROP_MEDIA_UNROUTABLE,
    DCGW_MDROP_MEDIA_STREAMS,
    DCGW_MDROP_MEDIA_CODEC,
    DCGW_MDROP_MEDIA_DIRECTION,
    DCGW_MDROP_MEDIA_POLICY,
    DCGW_MDROP_MEDIA_RATE,
    DCGW_MDROP_MEDIA_INTERNAL,
    DCGW_MDROP_MEDIA_NO_STAGE,  /* RTP/RTCP of a session that carries no audio or video */
    DCGW_MDROP_RELAY_MEDIA,     /* relay: RTP/RTCP before the handshake was verified */
    DCGW_MDROP_UNKNOWN_LIMITED, /* STUN from an unknown source over its rate (docs/floods.md) */
    DCGW_MDROP_KERNEL_RCVBUF,   /* dropped by the kernel: the receive buffer was full */
    DCGW_MDROP_COUNT
};

/* What became of the bootstrap proxy's requests to the DCSF (MDC1, net/mdc1.h). */
enum dcgw_metric_transfer {
    DCGW_MXFER_STARTED,
    DCGW_MXFER_COMPLETED,
    DCGW_MXFER_FAILED,
    DCGW_MXFER_TIMED_OUT,
    DCGW_MXFER_CANCELLED,
    DCGW_MXFER_REFUSED, /* max_transfers reached */
    DCGW_MXFER_COUNT
};

/* Reasons of DTLS failures and relay blocks, from the dcgw error code reported. */
enum dcgw_metric_reason {
    DCGW_MREASON_FINGERPRINT,
    DCGW_MREASON_WEAK_HASH,
    DCGW_MREASON_TIMEOUT,
    DCGW_MREASON_ALERT,
    DCGW_MREASON_PROTOCOL,
    DCGW_MREASON_TLS,
    DCGW_MREASON_UNSUPPORTED,
    DCGW_MREASON_LIMIT,
    DCGW_MREASON_MALFORMED,
    DCGW_MREASON_OTHER,
    DCGW_MREASON_COUNT
};

/* The families a worker counts, in the order of its values. */
enum dcgw_wmetric {
    DCGW_WM_LEGS,
    DCGW_WM_CHANNELS_OPEN,
    DCGW_WM_DC_MESSAGES,
    DCGW_WM_DC_BYTES,
    DCGW_WM_HELD_BYTES,
    DCGW_WM_PAUSES,
    DCGW_WM_UDP_DATAGRAMS,
    DCGW_WM_UDP_BYTES,
    DCGW_WM_DROPS,
    DCGW_WM_DTLS_HANDSHAKES,
    DCGW_WM_DTLS_FAILURES,
    DCGW_WM_CONSENT_LOST,
    DCGW_WM_RELAY_FLOWS,
    DCGW_WM_RELAY_CONNECTED,
    DCGW_WM_RELAY_BLOCKS,
    DCGW_WM_RELAY_DATAGRAMS,
    DCGW_WM_RELAY_BYTES,
    DCGW_WM_POLICY_VIOLATIONS,
    DCGW_WM_AVATAR_ACCEPTED,
    DCGW_WM_AVATAR_REJECTED,
    DCGW_WM_MDC1_TRANSFERS,
    DCGW_WM_MDC1_BYTES,
    DCGW_WM_MEDIA_PACKETS,
    DCGW_WM_MEDIA_BYTES,
    DCGW_WM_MEDIA_STARTED,
    DCGW_WM_MEDIA_FAILURES,
    DCGW_WM_SRTP_SESSIONS,
    DCGW_WM_RELAY_MEDIA_DATAGRAMS,
    DCGW_WM_RELAY_MEDIA_BYTES,
    DCGW_WM_CPU,
    DCGW_WM_RSS,
    DCGW_WM_COUNT
};

struct dcgw_metric_family {
    const char *name; /* counters end in _total */
    enum dcgw_metric_type type;
    const char *help;
    unsigned decimals; /* the value counts 10^-decimals of the unit (CPU time: 6, us) */
    enum dcgw_metric_label label[2]; /* besides worker; DCGW_ML_NONE when fewer */
};

/* The family table of worker metrics. */
const struct dcgw_metric_family *dcgw_metrics_family(enum dcgw_wmetric f);

/* Number of values of label l, and the i-th one ("" past the end); names of labels. */
unsigned dcgw_metrics_label_count(enum dcgw_metric_label l);
const char *dcgw_metrics_label_value(enum dcgw_metric_label l, unsigned i);
const char *dcgw_metrics_label_name(enum dcgw_metric_label l);
/* Index of the value a proto enum value maps to for labels read from proto/dcgw.proto
 * (role, leg and session state, policy and avatar reasons); -1 if none. */
int dcgw_metrics_label_of_enum(enum dcgw_metric_label l, int value);
/* Reason of a dcgw error code (dtls_failed, relay_blocked). */
enum dcgw_metric_reason dcgw_metrics_reason_of(int err);

/* Values a worker pushes, and the slot of family f's sample with label value indices a
 * and b (0 for a missing label). Out-of-range indices give SIZE_MAX. */
size_t dcgw_metrics_slots(void);
size_t dcgw_metrics_slot(enum dcgw_wmetric f, unsigned a, unsigned b);
/* Samples of family f (the product of its labels' value counts). */
size_t dcgw_metrics_family_size(enum dcgw_wmetric f);

#endif
