/* SCTP stage, receive side: data with reassembly into a bounded buffer, and usrsctp
 * notifications (association changes, stream resets, partial delivery). Part of the
 * stage in src/stages/sctp.c, called from its drain loop. */
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "sctp_int.h"

/* ---- reading: data, reassembly, notifications ---- */

static void rx_reset(struct dcgw_sctp *s)
{
    s->rx_len = 0;
    s->rx_dropping = false;
    if (s->rx_cap > DCGW_SCTP_RX_CHUNK) { /* do not keep a large buffer while idle */
        free(s->rx_buf);
        s->rx_buf = NULL;
        s->rx_cap = 0;
    }
}

static void deliver(struct dcgw_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *p, size_t n,
                    unsigned flags)
{
    s->stats.msgs_in++;
    s->stats.msg_bytes_in += n;
    if (s->cbs.on_message)
        s->cbs.on_message(s->cbs.ud, sid, ppid, p, n, flags);
}

static void too_big_in(struct dcgw_sctp *s, uint16_t sid, bool eor)
{
    s->stats.too_big_in++;
    if (s->cbs.on_too_big)
        s->cbs.on_too_big(s->cbs.ud, sid);
    DCGW_LOG_RL(SCTP, WARN, "port %u: message on stream %u over max-message-size %u: dropped",
                s->set.local_port, sid, s->set.max_message_size);
    rx_reset(s);
    s->rx_dropping = !eor;
}

static bool rx_append(struct dcgw_sctp *s, const uint8_t *p, size_t n)
{
    size_t need = s->rx_len + n;
    if (need > s->rx_cap) {
        size_t ncap = s->rx_cap ? s->rx_cap : DCGW_SCTP_RX_CHUNK;
        while (ncap < need)
            ncap *= 2;
        if (ncap > s->set.max_message_size)
            ncap = s->set.max_message_size;
        uint8_t *nb = realloc(s->rx_buf, ncap);
        if (!nb)
            return false;
        s->rx_buf = nb;
        s->rx_cap = ncap;
    }
    memcpy(s->rx_buf + s->rx_len, p, n);
    s->rx_len = need;
    return true;
}

void dcgw__sctp_on_data(struct dcgw_sctp *s, const uint8_t *p, size_t n,
                        const struct sctp_rcvinfo *rcv, int msg_flags)
{
    bool eor = (msg_flags & MSG_EOR) != 0;
    uint16_t sid = rcv->rcv_sid;
    uint32_t ppid = ntohl(rcv->rcv_ppid);
    unsigned flags = (rcv->rcv_flags & SCTP_UNORDERED) ? DCGW_SCTP_MSG_UNORDERED : 0;

    if (s->rx_dropping) {
        s->rx_dropping = !eor;
        return;
    }
    if (s->rx_len == 0 && eor) { /* the common case: whole message in one read */
        if (n > s->set.max_message_size)
            too_big_in(s, sid, eor);
        else if (n > 0)
            deliver(s, sid, ppid, p, n, flags);
        return;
    }
    if (s->rx_len > 0 && sid != s->rx_sid) {
        /* pieces of two messages interleaved: cannot happen without interleaving enabled */
        DCGW_LOG_RL(SCTP, WARN, "port %u: interleaved partial delivery, message dropped",
                    s->set.local_port);
        rx_reset(s);
    }
    if (s->rx_len + n > s->set.max_message_size) {
        too_big_in(s, sid, eor);
        return;
    }
    if (s->rx_len == 0) {
        s->rx_sid = sid;
        s->rx_ppid = ppid;
        s->rx_flags = flags;
    }
    if (!rx_append(s, p, n)) {
        DCGW_LOG_RL(SCTP, ERROR, "port %u: out of memory reassembling a message",
                    s->set.local_port);
        rx_reset(s);
        s->rx_dropping = !eor;
        return;
    }
    if (eor) {
        size_t len = s->rx_len;
        s->rx_len = 0; /* a callback that frees s must find nothing half-done */
        deliver(s, s->rx_sid, s->rx_ppid, s->rx_buf, len, s->rx_flags);
        if (!s->zombie)
            rx_reset(s);
    }
}

static void on_assoc_change(struct dcgw_sctp *s, const uint8_t *p, size_t n)
{
    struct sctp_assoc_change ac;
    if (n < sizeof(ac))
        return;
    memcpy(&ac, p, sizeof(ac));
    switch (ac.sac_state) {
    case SCTP_COMM_UP:
    case SCTP_RESTART:
        s->out_streams = ac.sac_outbound_streams;
        s->in_streams = ac.sac_inbound_streams;
        if (ac.sac_state == SCTP_RESTART)
            DCGW_LOG_RL(SCTP, WARN, "port %u: peer restarted the association", s->set.local_port);
        if (s->state == DCGW_SCTP_NEW || s->state == DCGW_SCTP_CONNECTING) {
            s->state = DCGW_SCTP_CONNECTED;
            DCGW_DEBUG(SCTP, "port %u: up, streams out %u in %u", s->set.local_port, s->out_streams,
                       s->in_streams);
            if (s->cbs.on_connected)
                s->cbs.on_connected(s->cbs.ud);
        }
        break;
    case SCTP_COMM_LOST:
    case SCTP_SHUTDOWN_COMP:
    case SCTP_CANT_STR_ASSOC:
        DCGW_DEBUG(SCTP, "port %u: association ended (state %u, error %u)", s->set.local_port,
                   ac.sac_state, ac.sac_error);
        mark_closed(s);
        break;
    default:
        break;
    }
}

static void on_stream_reset_event(struct dcgw_sctp *s, const uint8_t *p, size_t n)
{
    struct sctp_stream_reset_event ev;
    if (n < sizeof(ev))
        return;
    memcpy(&ev, p, sizeof(ev));
    size_t len = ev.strreset_length < n ? ev.strreset_length : n;
    if (len < sizeof(ev))
        return;
    size_t count = (len - sizeof(ev)) / sizeof(uint16_t);
    enum dcgw_sctp_reset what[2];
    int nwhat = 0;
    if (ev.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
        what[nwhat++] = DCGW_SCTP_RESET_FAILED;
    } else {
        if (ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)
            what[nwhat++] = DCGW_SCTP_RESET_INCOMING;
        if (ev.strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN)
            what[nwhat++] = DCGW_SCTP_RESET_OUTGOING;
    }
    for (size_t i = 0; i < count && !s->zombie; i++) {
        uint16_t sid;
        memcpy(&sid, p + sizeof(ev) + i * sizeof(uint16_t), sizeof(sid));
        for (int k = 0; k < nwhat && !s->zombie; k++) {
            if (what[k] == DCGW_SCTP_RESET_INCOMING)
                s->stats.resets_in++;
            else if (what[k] == DCGW_SCTP_RESET_OUTGOING)
                s->stats.resets_out++;
            else
                s->stats.reset_failed++;
            if (s->cbs.on_stream_reset)
                s->cbs.on_stream_reset(s->cbs.ud, sid, what[k]);
        }
    }
}

void dcgw__sctp_on_notification(struct dcgw_sctp *s, const uint8_t *p, size_t n, int msg_flags)
{
    bool first = !s->notif_cont;
    s->notif_cont = !(msg_flags & MSG_EOR);
    if (!first)
        return; /* the tail of a long one (SEND_FAILED carries the whole message) */
    struct sctp_tlv h;
    if (n < sizeof(h))
        return;
    memcpy(&h, p, sizeof(h));
    s->stats.notifications++;
    switch (h.sn_type) {
    case SCTP_ASSOC_CHANGE:
        on_assoc_change(s, p, n);
        break;
    case SCTP_STREAM_RESET_EVENT:
        on_stream_reset_event(s, p, n);
        break;
    case SCTP_SEND_FAILED_EVENT:
        s->stats.send_failed++;
        break;
    case SCTP_PARTIAL_DELIVERY_EVENT: {
        /* usrsctp.h declares 32-bit stream/seq fields, the library sends 16-bit ones: read
         * only the indication, right after the common 8-byte header */
        uint32_t ind;
        if (n >= 12) {
            memcpy(&ind, p + 8, sizeof(ind));
            if (ind == SCTP_PARTIAL_DELIVERY_ABORTED) {
                s->stats.pd_aborted++;
                rx_reset(s); /* the rest of that message will never come */
            }
        }
        break;
    }
    case SCTP_SHUTDOWN_EVENT:
        if (s->state == DCGW_SCTP_CONNECTED || s->state == DCGW_SCTP_CONNECTING)
            s->state = DCGW_SCTP_CLOSING;
        break;
    default: /* SENDER_DRY and others: the writable check below covers them */
        break;
    }
}
