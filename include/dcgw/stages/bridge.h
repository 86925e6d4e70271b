/* The bridge between a session's two terminated legs (DESIGN.md §2): a data channel on
 * one leg maps to a channel on the other — SDP-negotiated channels by stream id, DCEP
 * channels by label and subprotocol, with dcgw opening the twin on the far leg — and
 * every message is forwarded with its type, in order, on the twin.
 *
 * Back-pressure, never loss (docs/bridge.md). A message of a reliable channel that the far
 * leg cannot take now (its SCTP send buffer holds more than buffered_limit bytes, or the
 * send would block) is held, and the bridge stops reading the source leg's association
 * (dcgw_sctp_pause_reading) so SCTP's receive window closes toward the sender; when the
 * far leg drains to its writable_lowat (on_writable) the held messages go out and reading
 * resumes. Messages for a twin that is not open yet are held too; past pending_limit
 * bytes held toward one leg the source is paused as well. A partially reliable channel
 * (max-retransmits, max-time) drops instead of holding, and counts it. So what the bridge
 * holds toward one leg is at most pending_limit plus one message.
 *
 * A pure stage: it works on the two legs' data-channel endpoints through their
 * callbacks (dcgw_bridge_dc_callbacks) and calls nothing but datachannel.h. */
#ifndef DCGW_BRIDGE_H
#define DCGW_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/stages/datachannel.h"

enum dcgw_bridge_limits {
    DCGW_BRIDGE_BUFFERED_DEFAULT = 1 << 20,
    DCGW_BRIDGE_PENDING_DEFAULT = 1 << 20,
};

struct dcgw_bridge_settings {
    size_t buffered_limit; /* far association's queued bytes above which we hold and pause */
    size_t pending_limit;  /* bytes held toward one leg above which its source is paused */
};

/* Hooks for the owner (events, and later policy). Optional each. */
struct dcgw_bridge_cbs {
    void *ud;
    /* A peer's DCEP open on side `side`: return false to refuse it (stream reset). */
    bool (*on_open_request)(void *ud, unsigned side, const struct dcgw_dc_channel *ch);
    void (*on_channel_open)(void *ud, unsigned side, struct dcgw_dc_channel *ch);
    /* ch is valid during the call; its stats are final. */
    void (*on_channel_closed)(void *ud, unsigned side, struct dcgw_dc_channel *ch);
    /* A message from side `side` about to be forwarded: return false to drop it. */
    bool (*on_message)(void *ud, unsigned side, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *p, size_t n);
};

struct dcgw_bridge_stats {
    uint64_t forwarded, forwarded_bytes;
    uint64_t queued;           /* held: twin not open yet, or the far leg full */
    uint64_t held_bytes_max;   /* most bytes held toward one leg at once */
    uint64_t pauses;           /* times a leg's reading was stopped (back-pressure) */
    uint64_t dropped_no_twin;  /* negotiated on one leg only, or twin refused */
    uint64_t dropped_partial;  /* partially reliable channel, far leg full (RFC 8831 §5) */
    uint64_t dropped_closed;   /* held for a twin or a far leg that closed meanwhile */
    uint64_t dropped_too_big;  /* far leg's max message size is smaller */
    uint64_t dropped_by_owner; /* on_message said no (policy) */
    uint64_t dropped_nomem;    /* no memory to hold a message */
    uint64_t twins_opened;     /* DCEP opens dcgw made on the far leg */
    uint64_t twin_open_failed;
    /* Per side (leg index): messages and bytes taken from that leg's channels (its peer
     * sent them: the channels' msgs_in), and sent on them (their msgs_out). */
    uint64_t received[2], received_bytes[2], sent[2], sent_bytes[2];
};

struct dcgw_bridge;

void dcgw_bridge_settings_default(struct dcgw_bridge_settings *s);
int dcgw_bridge_new(const struct dcgw_bridge_settings *s, const struct dcgw_bridge_cbs *cbs,
                    struct dcgw_bridge **out);
/* Frees the bridge and its queues without touching the endpoints' channels: free the
 * endpoints first, or detach them (their channels' `user` points into the bridge). */
void dcgw_bridge_free(struct dcgw_bridge *b);

/* The callbacks to give the data-channel endpoint of side 0 or 1 (send_packet is left
 * NULL: the leg carrying the endpoint provides it). */
void dcgw_bridge_dc_callbacks(struct dcgw_bridge *b, unsigned side, struct dcgw_dc_callbacks *out);
/* The endpoint of side `side` exists (its leg was created). */
void dcgw_bridge_attach(struct dcgw_bridge *b, unsigned side, struct dcgw_dc *dc);
/* The endpoint of side `side` is going away: its twins on the other side are closed and
 * nothing touches it any more. */
void dcgw_bridge_detach(struct dcgw_bridge *b, unsigned side);
/* dcgw closes channel ch of side `side` (a policy or avatar refusal): ch and its twin are
 * reset at once (RFC 8831 §6.7), without waiting for either peer, and what the bridge holds
 * for the pair in either direction is dropped (dropped_closed). A channel the bridge does
 * not pair (served elsewhere, no twin yet) is just closed. Each channel still reports
 * on_channel_closed once, when its own reset completes or its association ends. */
void dcgw_bridge_close_channel(struct dcgw_bridge *b, unsigned side, struct dcgw_dc_channel *ch);
const struct dcgw_bridge_stats *dcgw_bridge_stats(const struct dcgw_bridge *b);
/* Whether the bridge stopped reading side `side` (its far leg is full, or too much is
 * held for it), and how many bytes it holds toward side `side` now. */
bool dcgw_bridge_paused(const struct dcgw_bridge *b, unsigned side);
size_t dcgw_bridge_held(const struct dcgw_bridge *b, unsigned side);
/* Adds the open channels of each side, by kind (enum dcgw_dc_kind), to out. Walks the
 * session's channels (no stream-id tables): for periodic metrics, not per message. */
void dcgw_bridge_count_open(const struct dcgw_bridge *b, uint32_t out[2][DCGW_DC_KIND_COUNT]);

#endif
