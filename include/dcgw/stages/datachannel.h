/* WebRTC data channels (RFC 8831) on one SCTP association: a table of channels by stream
 * id, SDP-negotiated channels (RFC 8864 a=dcmap) and in-band DCEP channels (RFC 8832),
 * messages with their PPIDs, and closing by stream reset. See docs/datachannel.md.
 *
 * The endpoint owns its SCTP association (sctp.h) and follows its rules: send_packet is
 * called from inside usrsctp and must not call back into dcgw_dc_* / dcgw_sctp_*; every
 * other callback comes from dcgw_dc_input() or dcgw_sctp_handle_timers(). Inside those
 * callbacks the owner may send, open and close channels, and free the endpoint (the free
 * then completes when the callback returns and no further callback follows). */
#ifndef DCGW_DATACHANNEL_H
#define DCGW_DATACHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"
#include "dcgw/stages/dcep.h"
#include "dcgw/stages/sctp.h"

struct dcgw_sdp_dcmap;

enum dcgw_dc_limits {
    DCGW_DC_ID_AUTO =
        DCGW_STREAM_ID_MAX + 1, /* dcgw_dc_open: pick a free id of our parity (65535 is invalid) */
    DCGW_DC_STREAM_MAX = DCGW_STREAM_ID_MAX, /* limits.h */
};

/* The classification helper of 3GPP TS 26.114 6.2.10: bootstrap channels use stream ids
 * 0, 10 (local) and 100, 110 (remote), application channels ids >= 1000. */
enum dcgw_dc_kind {
    DCGW_DC_KIND_BOOTSTRAP,
    DCGW_DC_KIND_APPLICATION,
    DCGW_DC_KIND_OTHER,
    DCGW_DC_KIND_COUNT
};

enum dcgw_dc_state {
    DCGW_DC_CONNECTING, /* added before the association is up, or waiting for DCEP ACK */
    DCGW_DC_OPEN,
    DCGW_DC_CLOSING, /* our outgoing stream reset requested, waiting for the peer's */
    DCGW_DC_CLOSED,  /* only inside on_channel_closed */
};

enum dcgw_dc_reliability {
    DCGW_DC_RELIABLE,
    DCGW_DC_MAX_RETR, /* at most reliability_param retransmissions */
    DCGW_DC_MAX_TIME, /* abandoned reliability_param ms after it was queued */
};

/* A channel's description: from a=dcmap (stream id, label, subprotocol, ordered,
 * max-retr / max-time, priority) or from a DATA_CHANNEL_OPEN. Strings are NUL-terminated. */
struct dcgw_dc_params {
    uint16_t id; /* stream id; DCGW_DC_ID_AUTO for dcgw_dc_open */
    bool ordered;
    enum dcgw_dc_reliability reliability;
    uint32_t reliability_param;
    uint16_t priority;
    char label[DCGW_DCEP_LABEL_MAX + 1];
    char protocol[DCGW_DCEP_PROTOCOL_MAX + 1];
};

struct dcgw_dc_channel_stats {
    uint64_t msgs_in, bytes_in, msgs_out, bytes_out;
    uint64_t dropped_in; /* arrived while closing, or with a PPID we do not accept */
    uint64_t too_big;    /* sends refused with DCGW_ETOOBIG */
    uint64_t too_big_in; /* arrived over our max-message-size: dropped by SCTP */
    uint64_t eagain;     /* sends refused with DCGW_EAGAIN */
};

/* A channel. Owned by the endpoint; valid from the call that returns it (or from
 * on_channel_open / on_open_request) until on_channel_closed returns or the endpoint is
 * freed. Read-only for the owner except `user`. */
struct dcgw_dc_channel {
    struct dcgw_dc_params params;
    enum dcgw_dc_state state;
    bool negotiated;     /* from SDP (true) or DCEP (false) */
    bool locally_opened; /* DCEP opened by us */
    enum dcgw_dc_kind kind;
    struct dcgw_dc_channel_stats stats;
    void *user; /* the owner's, untouched here */

    /* private */
    bool acked;          /* DCEP: ACK (or any message) received; negotiated: always */
    bool open_pending;   /* DCEP OPEN still to send once the association is up */
    bool reported;       /* on_channel_open delivered: on_channel_closed is due */
    bool out_reset_done; /* our outgoing stream is reset */
    bool in_reset_done;  /* the peer's outgoing stream is reset */
    bool out_reset_asked;
    bool ack_pending; /* our DATA_CHANNEL_ACK waits for send buffer space */
    bool hidden;      /* a refused DCEP open, kept only to finish the stream resets */
    uint8_t reset_failures;
};

struct dcgw_dc_settings {
    struct dcgw_sctp_settings sctp;
    bool dtls_client; /* our DTLS role: client opens even ids, server odd (RFC 8832 §6) */
    bool allow_dcep;  /* accept in-band opens at all (3GPP uses SDP-negotiated ones) */
    /* Accept a peer's DATA_CHANNEL_OPEN on a free stream of our parity (a peer that breaks
     * RFC 8832 §6: aiortc 1.4 picks its parity by its ICE role, not its DTLS role); our own
     * opens then take the other parity, the one that peer leaves free. Counted
     * (opens_wrong_parity). false: refused (the stream is reset). */
    bool tolerate_parity;
    uint16_t max_channels; /* 0: sctp.streams */
};

struct dcgw_dc_callbacks {
    void *ud;
    /* SCTP packet to carry over DTLS; see sctp.h. Mandatory. */
    void (*send_packet)(void *ud, const uint8_t *p, size_t n);
    /* The association is up; negotiated channels open right after this. */
    void (*on_connected)(void *ud);
    /* A peer's DATA_CHANNEL_OPEN (already checked: parity, free id, caps, allow_dcep).
     * Return true to accept. NULL: accept. ch is valid during the call only. */
    bool (*on_open_request)(void *ud, const struct dcgw_dc_channel *ch);
    void (*on_channel_open)(void *ud, struct dcgw_dc_channel *ch);
    /* One message; p is valid during the call (n == 0 for the empty messages). */
    void (*on_message)(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n);
    /* The channel is closed (both stream directions reset, or the association ended); ch
     * is freed when this returns. Called for channels that were reported open, and for
     * channels the owner created (dcgw_dc_open / dcgw_dc_add_negotiated). */
    void (*on_channel_closed)(void *ud, struct dcgw_dc_channel *ch);
    void (*on_writable)(void *ud);
    /* The association ended; all channels were closed just before. */
    void (*on_closed)(void *ud);
};

struct dcgw_dc_stats {
    uint64_t dcep_in, dcep_bad; /* DCEP messages received / undecodable */
    uint64_t opens_accepted, opens_refused;
    uint64_t opens_wrong_parity; /* accepted with tolerate_parity (included in accepted) */
    uint64_t acks_in, acks_unexpected;
    uint64_t unknown_stream;  /* data on a stream without a channel: dropped */
    uint64_t deprecated_ppid; /* PPID 52 / 54: dropped */
    uint64_t unknown_ppid;    /* dropped */
};

struct dcgw_dc;

void dcgw_dc_settings_default(struct dcgw_dc_settings *s);

/* Creates an endpoint and its SCTP association (dcgw_sctp_new errors). cbs is copied. */
int dcgw_dc_new(const struct dcgw_dc_settings *set, const struct dcgw_dc_callbacks *cbs,
                struct dcgw_dc **out);
/* Frees the endpoint, its channels (no callbacks) and its association (ABORT if up). */
void dcgw_dc_free(struct dcgw_dc *dc);

/* Thin forwards to the association: connect once DTLS is up, feed SCTP packets. */
int dcgw_dc_connect(struct dcgw_dc *dc);
int dcgw_dc_input(struct dcgw_dc *dc, const uint8_t *p, size_t n);
/* Graceful SCTP shutdown of the whole endpoint. */
int dcgw_dc_close(struct dcgw_dc *dc);
struct dcgw_sctp *dcgw_dc_sctp(struct dcgw_dc *dc);

/* Adds an SDP-negotiated channel (a=dcmap), before or after connect. It opens when the
 * association is up (on_channel_open, from the drain after on_connected; at once from this
 * call's return when already up: no callback then, *out is open). DCGW_EEXIST (id taken),
 * DCGW_ERANGE (id >= streams or 65535), DCGW_ELIMIT (max_channels), DCGW_EINVAL. */
int dcgw_dc_add_negotiated(struct dcgw_dc *dc, const struct dcgw_dc_params *p,
                           struct dcgw_dc_channel **out);

/* Opens a channel in band (DCEP): sends DATA_CHANNEL_OPEN on p->id (or the lowest free id
 * of our parity with DCGW_DC_ID_AUTO) and waits for the ACK; messages may be sent at once
 * (they go ordered until the ACK, RFC 8832 §6). Before the association is up the OPEN is
 * sent when it comes up. on_channel_open follows the ACK. DCGW_EINVAL (wrong parity),
 * DCGW_EEXIST, DCGW_ERANGE, DCGW_ELIMIT, or a dcgw_sctp_send error. */
int dcgw_dc_open(struct dcgw_dc *dc, const struct dcgw_dc_params *p, struct dcgw_dc_channel **out);
/* The parameters of a negotiated channel an a=dcmap line describes (RFC 8864): id, label,
 * subprotocol, ordering, reliability (max-retr, else max-time, else reliable), priority. */
void dcgw_dc_params_from_dcmap(const struct dcgw_sdp_dcmap *m, struct dcgw_dc_params *p);

/* Sends one message with the channel's reliability: text (PPID 51 / 56 when empty) or
 * binary (53 / 57). 0, DCGW_EAGAIN, DCGW_ETOOBIG, DCGW_ESTATE (channel not open, or
 * closing), or another dcgw_sctp_send error. */
int dcgw_dc_send(struct dcgw_dc *dc, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                 size_t n);

/* Closes a channel (RFC 8831 §6.7): resets our outgoing stream; on_channel_closed follows
 * once the peer reset its own. Idempotent. A channel that never reached the wire (added
 * before the association came up) is dropped at once: no callback, ch is invalid on
 * return. */
int dcgw_dc_close_channel(struct dcgw_dc *dc, struct dcgw_dc_channel *ch);

struct dcgw_dc_channel *dcgw_dc_channel_by_id(struct dcgw_dc *dc, uint16_t id);
/* The channel with the lowest stream id >= id (refused opens excepted), or NULL: walk them
 * with for (ch = next(dc, 0); ch; ch = next(dc, ch->params.id + 1)). */
struct dcgw_dc_channel *dcgw_dc_channel_next(struct dcgw_dc *dc, uint32_t id);
/* Channels held, refused opens still closing included. */
size_t dcgw_dc_channel_count(const struct dcgw_dc *dc);
const struct dcgw_dc_stats *dcgw_dc_stats(const struct dcgw_dc *dc);

/* Kind of a stream id (bootstrap 0/10/100/110, application >= 1000, other). */
enum dcgw_dc_kind dcgw_dc_kind_of_stream(uint16_t id);
const char *dcgw_dc_kind_name(enum dcgw_dc_kind k);

#endif
