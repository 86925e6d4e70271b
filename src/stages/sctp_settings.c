/* The SCTP stage's settings and packet classification: pure functions, no usrsctp state
 * (src/stages/sctp.c holds the stack and the associations). */
#include <string.h>

#include "dcgw/base/error.h"
#include "sctp_int.h"

void dcgw_sctp_stack_settings_default(struct dcgw_sctp_stack_settings *s)
{
    s->rto_initial_ms = 1000;
    s->rto_min_ms = 400;
    s->rto_max_ms = 10000;
    s->init_rto_max_ms = 10000;
    s->delayed_sack_ms = 20;
    s->sack_freq = 2;                 /* RFC 9260 §6.2, usrsctp's default */
    s->heartbeat_interval_ms = 30000; /* RFC 9260 §16 HB.interval */
    s->assoc_rtx_max = 10;
    s->path_rtx_max = 10;
    s->init_rtx_max = 8;
    s->max_chunks_on_queue = 4096;
}

void dcgw_sctp_settings_default(struct dcgw_sctp_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->local_port = DCGW_SCTP_PORT_DEFAULT;
    s->remote_port = DCGW_SCTP_PORT_DEFAULT;
    s->streams = DCGW_SCTP_STREAMS_DEFAULT;
    s->max_message_size = DCGW_MAX_MESSAGE_SIZE_DEFAULT;
    s->sndbuf = DCGW_SCTP_SNDBUF_DEFAULT;
    s->rcvbuf = DCGW_SCTP_RCVBUF_DEFAULT;
    s->mtu = DCGW_SCTP_MTU_DEFAULT;
}

int dcgw__sctp_normalize(struct dcgw_sctp_settings *s)
{
    if (s->local_port == 0 || s->remote_port == 0)
        return DCGW_ECONFIG; /* both are signalled in SDP; 0 is not a usable port */
    if (!s->streams)
        s->streams = DCGW_SCTP_STREAMS_DEFAULT;
    if (!s->max_message_size)
        s->max_message_size = DCGW_MAX_MESSAGE_SIZE_DEFAULT;
    if (!s->max_send_size)
        s->max_send_size = s->max_message_size;
    if (s->max_message_size > DCGW_MAX_MESSAGE_SIZE_CEILING ||
        s->max_send_size > DCGW_MAX_MESSAGE_SIZE_CEILING)
        return DCGW_ECONFIG;
    if (!s->sndbuf)
        s->sndbuf = DCGW_SCTP_SNDBUF_DEFAULT;
    /* A message is queued whole (no explicit EOR), so the buffer must hold the largest. */
    if (s->sndbuf < s->max_send_size + DCGW_SCTP_SNDBUF_MARGIN)
        s->sndbuf = s->max_send_size + DCGW_SCTP_SNDBUF_MARGIN;
    if (!s->writable_lowat || s->writable_lowat >= s->sndbuf)
        s->writable_lowat = s->sndbuf / 4;
    if (!s->rcvbuf)
        s->rcvbuf = DCGW_SCTP_RCVBUF_DEFAULT;
    if (s->rcvbuf < DCGW_SCTP_RCVBUF_MIN)
        s->rcvbuf = DCGW_SCTP_RCVBUF_MIN;
    /* Whole messages up to max_message_size fit without partial delivery (see configure) */
    if (s->rcvbuf < 2 * s->max_message_size + DCGW_SCTP_SNDBUF_MARGIN)
        s->rcvbuf = 2 * s->max_message_size + DCGW_SCTP_SNDBUF_MARGIN;
    if (s->rcvbuf > INT32_MAX || s->sndbuf > INT32_MAX)
        return DCGW_ECONFIG;
    if (!s->mtu)
        s->mtu = DCGW_SCTP_MTU_DEFAULT;
    if (s->mtu < DCGW_SCTP_MTU_MIN || s->mtu > DCGW_SCTP_MTU_MAX)
        return DCGW_ECONFIG;
    return 0;
}

/* Whether a (CRC-checked) packet carries a DATA (0) or I-DATA (64, RFC 8260) chunk. */
bool dcgw__sctp_data_packet(const uint8_t *p, size_t n)
{
    size_t off = SCTP_COMMON_HEADER;
    while (off + 4 <= n) {
        uint8_t type = p[off];
        size_t len = (size_t)p[off + 2] << 8 | p[off + 3];
        if (type == 0 || type == 64)
            return true;
        if (len < 4)
            return false;
        off += (len + 3) & ~(size_t)3;
    }
    return false;
}

/* Whether a (CRC-checked) packet carries anything but HEARTBEAT(4)/HEARTBEAT-ACK(5)
 * chunks (RFC 9260 §3.2: type, flags, 16-bit length, padded to 4 bytes). */
bool dcgw__sctp_active_packet(const uint8_t *p, size_t n)
{
    size_t off = SCTP_COMMON_HEADER;
    while (off + 4 <= n) {
        uint8_t type = p[off];
        size_t len = (size_t)p[off + 2] << 8 | p[off + 3];
        if (type != 4 && type != 5)
            return true;
        if (len < 4)
            return true;
        off += (len + 3) & ~(size_t)3;
    }
    return off == SCTP_COMMON_HEADER; /* no chunk at all: count it */
}
