/* The bridge between a session's two terminated legs (DESIGN.md §2): a data channel on
 * one leg maps to a channel on the other — SDP-negotiated channels by stream id, DCEP
 * channels by label and subprotocol, with dcgw opening the twin on the far leg — and
 * every message is forwarded with its type, in order, on the twin.
 *
 * Memory is bounded: messages for a twin that is not open yet wait in a queue capped by
 * pending_limit bytes; a far leg whose SCTP send buffer holds more than buffered_limit
 * bytes gets no more messages until it drains — those are dropped and counted.
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
    size_t buffered_limit; /* far association's queued bytes above which we drop */
    size_t pending_limit;  /* bytes waiting for twins to open, whole bridge */
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
    uint64_t queued;               /* held until the twin opened */
    uint64_t dropped_no_twin;      /* negotiated on one leg only, or twin refused */
    uint64_t dropped_backpressure; /* far leg over buffered_limit, or EAGAIN */
    uint64_t dropped_pending_full; /* pending_limit reached */
    uint64_t dropped_too_big;      /* far leg's max message size is smaller */
    uint64_t dropped_by_owner;     /* on_message said no */
    uint64_t twins_opened;         /* DCEP opens dcgw made on the far leg */
    uint64_t twin_open_failed;
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
const struct dcgw_bridge_stats *dcgw_bridge_stats(const struct dcgw_bridge *b);

#endif
