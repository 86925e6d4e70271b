/* The worker metric families and the layout of a worker's values (metrics.h). */
#include "dcgw/msg/metrics.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "dcgw.pb-c.h"
#include "dcgw/base/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const direction_values[] = {"in", "out"};
static const char *const kind_values[] = {"bootstrap", "application", "other"};
static const char *const drop_values[] = {
    [DCGW_MDROP_UDP_TRUNCATED] = "udp_truncated",
    [DCGW_MDROP_UDP_SEND_ERROR] = "udp_send_error",
    [DCGW_MDROP_UNKNOWN_SOURCE] = "unknown_source",
    [DCGW_MDROP_NO_SESSION] = "no_session",
    [DCGW_MDROP_NO_TWIN] = "no_twin",
    [DCGW_MDROP_PARTIAL] = "partially_reliable",
    [DCGW_MDROP_CLOSED] = "closed",
    [DCGW_MDROP_TOO_BIG] = "too_big",
    [DCGW_MDROP_REFUSED] = "refused",
    [DCGW_MDROP_NO_MEMORY] = "no_memory",
    [DCGW_MDROP_RELAY_GARBAGE] = "relay_garbage",
    [DCGW_MDROP_RELAY_UNVALIDATED] = "relay_unvalidated",
    [DCGW_MDROP_RELAY_NO_PEER] = "relay_no_peer",
    [DCGW_MDROP_RELAY_RATE] = "relay_rate",
    [DCGW_MDROP_RELAY_INSPECTOR] = "relay_inspector",
    [DCGW_MDROP_RELAY_BLOCKED] = "relay_blocked",
    [DCGW_MDROP_MEDIA_NOT_READY] = "media_not_ready",
    [DCGW_MDROP_MEDIA_MALFORMED] = "media_malformed",
    [DCGW_MDROP_MEDIA_AUTH] = "media_auth",
    [DCGW_MDROP_MEDIA_REPLAY] = "media_replay",
    [DCGW_MDROP_MEDIA_UNROUTABLE] = "media_unroutable",
    [DCGW_MDROP_MEDIA_STREAMS] = "media_streams",
    [DCGW_MDROP_MEDIA_CODEC] = "media_codec",
    [DCGW_MDROP_MEDIA_DIRECTION] = "media_direction",
    [DCGW_MDROP_MEDIA_POLICY] = "media_policy",
    [DCGW_MDROP_MEDIA_RATE] = "media_rate",
    [DCGW_MDROP_MEDIA_INTERNAL] = "media_internal",
    [DCGW_MDROP_MEDIA_NO_STAGE] = "media_no_stage",
    [DCGW_MDROP_RELAY_MEDIA] = "relay_media",

    [DCGW_MDROP_UNKNOWN_LIMITED] = "unknown_limited",
    [DCGW_MDROP_KERNEL_RCVBUF] = "kernel_rcvbuf",
};
static const char *const reason_values[] = {
    [DCGW_MREASON_FINGERPRINT] = "fingerprint", [DCGW_MREASON_WEAK_HASH] = "weak_hash",
    [DCGW_MREASON_TIMEOUT] = "timeout",         [DCGW_MREASON_ALERT] = "alert",
    [DCGW_MREASON_PROTOCOL] = "protocol",       [DCGW_MREASON_TLS] = "tls",
    [DCGW_MREASON_UNSUPPORTED] = "unsupported", [DCGW_MREASON_LIMIT] = "limit",
    [DCGW_MREASON_MALFORMED] = "malformed",     [DCGW_MREASON_OTHER] = "other",
};
static const char *const bool_values[] = {"true", "false"};
static const char *const avatar_type_values[] = {"transfer", "request"};
static const char *const cpu_mode_values[] = {"user", "system"};
static const char *const transfer_values[] = {
    [DCGW_MXFER_STARTED] = "started",     [DCGW_MXFER_COMPLETED] = "completed",
    [DCGW_MXFER_FAILED] = "failed",       [DCGW_MXFER_TIMED_OUT] = "timed_out",
    [DCGW_MXFER_CANCELLED] = "cancelled", [DCGW_MXFER_REFUSED] = "refused",
};

enum { ENUM_VALUES_MAX = 32, ENUM_NAME_MAX = 40 };

/* A label's values: a fixed list, or the values of a proto enum (name without prefix, in
 * lower case; *_UNSPECIFIED left out), read once from its descriptor. */
struct label {
    const char *name;
    const char *const *fixed;
    unsigned n_fixed;
    const ProtobufCEnumDescriptor *desc;
    const char *prefix;
    /* proto labels, filled by load() */
    bool loaded;
    unsigned n;
    int enum_value[ENUM_VALUES_MAX];
    char text[ENUM_VALUES_MAX][ENUM_NAME_MAX];
};

#define FIXED(nm, a)                                                                               \
    {                                                                                              \
        .name = nm, .fixed = a, .n_fixed = N(a)                                                    \
    }
#define PROTO(nm, d, p)                                                                            \
    {                                                                                              \
        .name = nm, .desc = &d, .prefix = p                                                        \
    }

static struct label labels[DCGW_ML_COUNT] = {
    [DCGW_ML_NONE] = {.name = ""},
    [DCGW_ML_ROLE] = PROTO("role", dcgw__leg_role__descriptor, "ROLE_"),
    [DCGW_ML_DIRECTION] = FIXED("direction", direction_values),
    [DCGW_ML_LEG_STATE] = PROTO("state", dcgw__leg_state__descriptor, "LEG_"),
    [DCGW_ML_SESSION_STATE] = PROTO("state", dcgw__session_state__descriptor, "SESSION_"),
    [DCGW_ML_KIND] = FIXED("kind", kind_values),
    [DCGW_ML_DROP] = FIXED("reason", drop_values),
    [DCGW_ML_DTLS_REASON] = FIXED("reason", reason_values),
    [DCGW_ML_RELAY_REASON] = FIXED("reason", reason_values),
    [DCGW_ML_INSPECTED] = FIXED("inspected", bool_values),
    [DCGW_ML_POLICY_REASON] = PROTO("reason", dcgw__policy_reason__descriptor, "REASON_"),
    [DCGW_ML_AVATAR_TYPE] = FIXED("type", avatar_type_values),
    [DCGW_ML_AVATAR_REASON] = PROTO("reason", dcgw__avatar_reason__descriptor, "AVATAR_"),
    [DCGW_ML_CPU_MODE] = FIXED("mode", cpu_mode_values),
    [DCGW_ML_TRANSFER] = FIXED("outcome", transfer_values),
    [DCGW_ML_MEDIA_KIND] = PROTO("kind", dcgw__media_kind__descriptor, "MEDIA_"),
};

static void load(struct label *l)
{
    if (l->loaded || !l->desc)
        return;
    l->loaded = true;
    size_t plen = strlen(l->prefix);
    for (unsigned i = 0; i < l->desc->n_values && l->n < ENUM_VALUES_MAX; i++) {
        const char *nm = l->desc->values[i].name;
        size_t len = strlen(nm);
        if (len >= 11 && strcmp(nm + len - 11, "UNSPECIFIED") == 0)
            continue;
        if (strncmp(nm, l->prefix, plen) == 0)
            nm += plen;
        char *out = l->text[l->n];
        size_t k = 0;
        for (; nm[k] && k + 1 < ENUM_NAME_MAX; k++)
            out[k] = (char)tolower((unsigned char)nm[k]);
        out[k] = '\0';
        l->enum_value[l->n++] = l->desc->values[i].value;
    }
}

static const struct label *label(enum dcgw_metric_label id)
{
    if ((unsigned)id >= DCGW_ML_COUNT)
        return &labels[DCGW_ML_NONE];
    load(&labels[id]);
    return &labels[id];
}

unsigned dcgw_metrics_label_count(enum dcgw_metric_label id)
{
    const struct label *l = label(id);
    return l->desc ? l->n : l->n_fixed;
}

const char *dcgw_metrics_label_value(enum dcgw_metric_label id, unsigned i)
{
    const struct label *l = label(id);
    if (i >= dcgw_metrics_label_count(id))
        return "";
    return l->desc ? l->text[i] : l->fixed[i];
}

const char *dcgw_metrics_label_name(enum dcgw_metric_label id)
{
    return label(id)->name;
}

int dcgw_metrics_label_of_enum(enum dcgw_metric_label id, int value)
{
    const struct label *l = label(id);
    for (unsigned i = 0; l->desc && i < l->n; i++)
        if (l->enum_value[i] == value)
            return (int)i;
    return -1;
}

enum dcgw_metric_reason dcgw_metrics_reason_of(int err)
{
    if (err <= DCGW_ALERT_BASE && err > DCGW_ALERT_BASE - 256)
        return DCGW_MREASON_ALERT;
    switch (err) {
    case DCGW_EFINGERPRINT:
        return DCGW_MREASON_FINGERPRINT;
    case DCGW_EWEAKHASH:
        return DCGW_MREASON_WEAK_HASH;
    case DCGW_ETIMEOUT:
        return DCGW_MREASON_TIMEOUT;
    case DCGW_EPROTO:
        return DCGW_MREASON_PROTOCOL;
    case DCGW_ETLS:
    case DCGW_EAUTH:
        return DCGW_MREASON_TLS;
    case DCGW_EUNSUPPORTED:
        return DCGW_MREASON_UNSUPPORTED;
    case DCGW_ELIMIT:
        return DCGW_MREASON_LIMIT;
    case DCGW_EMALFORMED:
    case DCGW_ETRUNC:
        return DCGW_MREASON_MALFORMED;
    default:
        return DCGW_MREASON_OTHER;
    }
}

static const struct dcgw_metric_family families[DCGW_WM_COUNT] = {
    [DCGW_WM_LEGS] = {"dcgw_legs",
                      DCGW_METRIC_GAUGE,
                      "Legs of live sessions by role and state.",
                      0,
                      {DCGW_ML_ROLE, DCGW_ML_LEG_STATE}},
    [DCGW_WM_CHANNELS_OPEN] = {"dcgw_channels_open",
                               DCGW_METRIC_GAUGE,
                               "Open data channels by leg role and kind (from the stream id).",
                               0,
                               {DCGW_ML_ROLE, DCGW_ML_KIND}},
    [DCGW_WM_DC_MESSAGES] = {"dcgw_dc_messages_total",
                             DCGW_METRIC_COUNTER,
                             "Data-channel messages of terminated legs: in = received from the "
                             "leg's peer, out = forwarded to it.",
                             0,
                             {DCGW_ML_ROLE, DCGW_ML_DIRECTION}},
    [DCGW_WM_DC_BYTES] = {"dcgw_dc_bytes_total",
                          DCGW_METRIC_COUNTER,
                          "Data-channel message bytes of terminated legs, as "
                          "dcgw_dc_messages_total.",
                          0,
                          {DCGW_ML_ROLE, DCGW_ML_DIRECTION}},
    [DCGW_WM_HELD_BYTES] = {"dcgw_held_bytes",
                            DCGW_METRIC_GAUGE,
                            "Message bytes held toward legs of this role now (back-pressure: the "
                            "far leg is full, or the twin channel not open yet).",
                            0,
                            {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_PAUSES] = {"dcgw_backpressure_pauses_total",
                        DCGW_METRIC_COUNTER,
                        "Times a leg's reading was paused because what it sends could not be "
                        "forwarded yet (reliable channels are held, never dropped).",
                        0,
                        {DCGW_ML_NONE, DCGW_ML_NONE}},
    [DCGW_WM_UDP_DATAGRAMS] = {"dcgw_udp_datagrams_total",
                               DCGW_METRIC_COUNTER,
                               "UDP datagrams of the data plane socket.",
                               0,
                               {DCGW_ML_DIRECTION, DCGW_ML_NONE}},
    [DCGW_WM_UDP_BYTES] = {"dcgw_udp_bytes_total",
                           DCGW_METRIC_COUNTER,
                           "UDP payload bytes of the data plane socket.",
                           0,
                           {DCGW_ML_DIRECTION, DCGW_ML_NONE}},
    [DCGW_WM_DROPS] = {"dcgw_drops_total",
                       DCGW_METRIC_COUNTER,
                       "Datagrams and messages dropped, by reason.",
                       0,
                       {DCGW_ML_DROP, DCGW_ML_NONE}},
    [DCGW_WM_DTLS_HANDSHAKES] = {"dcgw_dtls_handshakes_total",
                                 DCGW_METRIC_COUNTER,
                                 "DTLS handshakes completed with the SDP fingerprint matched.",
                                 0,
                                 {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_DTLS_FAILURES] = {"dcgw_dtls_failures_total",
                               DCGW_METRIC_COUNTER,
                               "DTLS handshakes or sessions that failed, by reason.",
                               0,
                               {DCGW_ML_ROLE, DCGW_ML_DTLS_REASON}},
    [DCGW_WM_CONSENT_LOST] = {"dcgw_consent_lost_total",
                              DCGW_METRIC_COUNTER,
                              "Legs whose ICE consent expired (RFC 7675).",
                              0,
                              {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_FLOWS] = {"dcgw_relay_flows_total",
                             DCGW_METRIC_COUNTER,
                             "Relay flows started (both peers' SDP known).",
                             0,
                             {DCGW_ML_NONE, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_CONNECTED] = {"dcgw_relay_connected_total",
                                 DCGW_METRIC_COUNTER,
                                 "Relay flows connected: both certificates matched their SDP "
                                 "(inspected), or allowed uninspected by policy.",
                                 0,
                                 {DCGW_ML_INSPECTED, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_BLOCKS] = {"dcgw_relay_blocks_total",
                              DCGW_METRIC_COUNTER,
                              "Relay flows blocked, by reason.",
                              0,
                              {DCGW_ML_RELAY_REASON, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_DATAGRAMS] = {"dcgw_relay_forwarded_datagrams_total",
                                 DCGW_METRIC_COUNTER,
                                 "DTLS datagrams a relay forwarded, by the role of the leg whose "
                                 "peer sent them.",
                                 0,
                                 {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_BYTES] = {"dcgw_relay_forwarded_bytes_total",
                             DCGW_METRIC_COUNTER,
                             "Bytes of the DTLS datagrams a relay forwarded.",
                             0,
                             {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_POLICY_VIOLATIONS] = {"dcgw_policy_violations_total",
                                   DCGW_METRIC_COUNTER,
                                   "Policy violations, by reason (all of them, also those not "
                                   "reported by an event).",
                                   0,
                                   {DCGW_ML_POLICY_REASON, DCGW_ML_NONE}},
    [DCGW_WM_AVATAR_ACCEPTED] = {"dcgw_avatar_accepted_total",
                                 DCGW_METRIC_COUNTER,
                                 "Avatars forwarded whole and request tokens passed on.",
                                 0,
                                 {DCGW_ML_AVATAR_TYPE, DCGW_ML_NONE}},
    [DCGW_WM_AVATAR_REJECTED] = {"dcgw_avatar_rejected_total",
                                 DCGW_METRIC_COUNTER,
                                 "Avatar transfers and requests refused, by reason.",
                                 0,
                                 {DCGW_ML_AVATAR_REASON, DCGW_ML_NONE}},
    [DCGW_WM_MDC1_TRANSFERS] = {"dcgw_mdc1_transfers_total",
                                DCGW_METRIC_COUNTER,
                                "Requests the bootstrap proxy made to the DCSF (MDC1), by outcome "
                                "(started counts every one).",
                                0,
                                {DCGW_ML_TRANSFER, DCGW_ML_NONE}},
    [DCGW_WM_MDC1_BYTES] = {"dcgw_mdc1_received_bytes_total",
                            DCGW_METRIC_COUNTER,
                            "Bytes the bootstrap proxy received from the DCSF (MDC1).",
                            0,
                            {DCGW_ML_NONE, DCGW_ML_NONE}},
    [DCGW_WM_MEDIA_PACKETS] = {"dcgw_media_packets_total",
                               DCGW_METRIC_COUNTER,
                               "Audio and video of terminated sessions: SRTP and SRTCP packets "
                               "authenticated (in) and re-protected and sent on (out).",
                               0,
                               {DCGW_ML_MEDIA_KIND, DCGW_ML_DIRECTION}},
    [DCGW_WM_MEDIA_BYTES] = {"dcgw_media_bytes_total",
                             DCGW_METRIC_COUNTER,
                             "Bytes of the packets of dcgw_media_packets_total.",
                             0,
                             {DCGW_ML_MEDIA_KIND, DCGW_ML_DIRECTION}},
    [DCGW_WM_MEDIA_STARTED] = {"dcgw_media_started_total",
                               DCGW_METRIC_COUNTER,
                               "media_started events: the first packet a leg's peer sent on an "
                               "audio or video m-line went through (terminated sessions).",
                               0,
                               {DCGW_ML_ROLE, DCGW_ML_MEDIA_KIND}},
    [DCGW_WM_MEDIA_FAILURES] = {"dcgw_media_failures_total",
                                DCGW_METRIC_COUNTER,
                                "media_failed events: a leg that can carry no audio or video "
                                "(e.g. its DTLS agreed no use_srtp).",
                                0,
                                {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_SRTP_SESSIONS] = {"dcgw_srtp_sessions_created_total",
                               DCGW_METRIC_COUNTER,
                               "libsrtp2 sessions created (two per terminated leg with audio "
                               "or video; none in relay mode).",
                               0,
                               {DCGW_ML_NONE, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_MEDIA_DATAGRAMS] = {"dcgw_relay_media_forwarded_datagrams_total",
                                       DCGW_METRIC_COUNTER,
                                       "Relay sessions: SRTP and SRTCP forwarded untouched, by "
                                       "the role of the leg whose peer sent them.",
                                       0,
                                       {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_RELAY_MEDIA_BYTES] = {"dcgw_relay_media_forwarded_bytes_total",
                                   DCGW_METRIC_COUNTER,
                                   "Bytes of dcgw_relay_media_forwarded_datagrams_total.",
                                   0,
                                   {DCGW_ML_ROLE, DCGW_ML_NONE}},
    [DCGW_WM_CPU] = {"dcgw_worker_cpu_seconds_total",
                     DCGW_METRIC_COUNTER,
                     "CPU time of the worker process.",
                     6,
                     {DCGW_ML_CPU_MODE, DCGW_ML_NONE}},
    [DCGW_WM_RSS] = {"dcgw_worker_resident_memory_bytes",
                     DCGW_METRIC_GAUGE,
                     "Resident memory of the worker process.",
                     0,
                     {DCGW_ML_NONE, DCGW_ML_NONE}},
};

const struct dcgw_metric_family *dcgw_metrics_family(enum dcgw_wmetric f)
{
    return (unsigned)f < DCGW_WM_COUNT ? &families[f] : NULL;
}

static unsigned width(enum dcgw_metric_label l)
{
    return l == DCGW_ML_NONE ? 1 : dcgw_metrics_label_count(l);
}

size_t dcgw_metrics_family_size(enum dcgw_wmetric f)
{
    if ((unsigned)f >= DCGW_WM_COUNT)
        return 0;
    return (size_t)width(families[f].label[0]) * width(families[f].label[1]);
}

/* Offset of each family's first value (computed once: the label lists do not change). */
static const size_t *offsets(void)
{
    static size_t off[DCGW_WM_COUNT + 1];
    static bool done;
    if (!done) {
        for (unsigned i = 0; i < DCGW_WM_COUNT; i++)
            off[i + 1] = off[i] + dcgw_metrics_family_size((enum dcgw_wmetric)i);
        done = true;
    }
    return off;
}

size_t dcgw_metrics_slot(enum dcgw_wmetric f, unsigned a, unsigned b)
{
    if ((unsigned)f >= DCGW_WM_COUNT)
        return SIZE_MAX;
    unsigned wa = width(families[f].label[0]), wb = width(families[f].label[1]);
    if (a >= wa || b >= wb)
        return SIZE_MAX;
    return offsets()[f] + (size_t)a * wb + b;
}

size_t dcgw_metrics_slots(void)
{
    return offsets()[DCGW_WM_COUNT];
}
