/* The bridge between two terminated legs: channel twins, forwarding, back-pressure. See
 * include/dcgw/stages/bridge.h and docs/bridge.md. */
#include "dcgw/stages/bridge.h"

#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

struct pmsg {
    struct pmsg *next;
    bool is_text;
    size_t n;
    uint8_t data[];
};

/* Two channels that are each other's twin. ch->user points here. */
struct link {
    struct link *prev, *next;
    struct dcgw_dc_channel *ch[2];
    bool sendable[2];               /* ch[k] may take messages (open, or DCEP-opened by us) */
    bool close_after[2];            /* ch[1-k] closed: close ch[k] once its queue is out */
    struct pmsg *head[2], *tail[2]; /* held for ch[k] */
};

struct side {
    struct dcgw_bridge *b;
    unsigned idx;
    struct dcgw_dc *dc;
    bool up;
    bool full;   /* over buffered_limit or a send would block: waiting for on_writable */
    bool paused; /* we stopped reading this leg's association */
    size_t held; /* bytes held toward this leg */
};

struct dcgw_bridge {
    struct dcgw_bridge_settings set;
    struct dcgw_bridge_cbs cbs;
    struct side side[2];
    struct link *links;
    struct dcgw_bridge_stats stats;
};

enum fwd { FWD_SENT, FWD_FULL, FWD_DROPPED };

void dcgw_bridge_settings_default(struct dcgw_bridge_settings *s)
{
    s->buffered_limit = DCGW_BRIDGE_BUFFERED_DEFAULT;
    s->pending_limit = DCGW_BRIDGE_PENDING_DEFAULT;
}

int dcgw_bridge_new(const struct dcgw_bridge_settings *s, const struct dcgw_bridge_cbs *cbs,
                    struct dcgw_bridge **out)
{
    struct dcgw_bridge *b = calloc(1, sizeof(*b));
    if (!b)
        return DCGW_ENOMEM;
    if (s)
        b->set = *s;
    else
        dcgw_bridge_settings_default(&b->set);
    if (cbs)
        b->cbs = *cbs;
    for (unsigned i = 0; i < 2; i++) {
        b->side[i].b = b;
        b->side[i].idx = i;
    }
    *out = b;
    return 0;
}

/* ---- back-pressure: the source leg is read only while its far leg takes more */

static void set_paused(struct dcgw_bridge *b, unsigned s, bool paused)
{
    struct side *sd = &b->side[s];
    if (sd->paused == paused || !sd->dc)
        return;
    sd->paused = paused;
    if (paused)
        b->stats.pauses++;
    dcgw_sctp_pause_reading(dcgw_dc_sctp(sd->dc), paused);
}

/* Side s is read only while the far leg takes more and not too much waits for it. */
static void update_pause(struct dcgw_bridge *b, unsigned s)
{
    const struct side *far = &b->side[1 - s];
    set_paused(b, s, far->full || far->held >= b->set.pending_limit);
}

static void mark_full(struct dcgw_bridge *b, unsigned k)
{
    struct side *far = &b->side[k];
    if (!far->full) {
        far->full = true;
        /* below our own limit, or on_writable would find it still full */
        dcgw_sctp_want_writable(dcgw_dc_sctp(far->dc), b->set.buffered_limit / 2);
    }
    update_pause(b, 1 - k);
}

/* ---- held messages */

static void drop_held(struct dcgw_bridge *b, struct link *l, unsigned k)
{
    struct pmsg *m = l->head[k];
    while (m) {
        struct pmsg *next = m->next;
        b->side[k].held -= m->n;
        b->stats.dropped_closed++;
        if (l->ch[1 - k])
            l->ch[1 - k]->stats.dropped_in++;
        free(m);
        m = next;
    }
    l->head[k] = l->tail[k] = NULL;
}

static bool hold(struct dcgw_bridge *b, struct link *l, unsigned k, bool is_text, const uint8_t *p,
                 size_t n)
{
    struct pmsg *m = malloc(sizeof(*m) + n);
    if (!m) {
        b->stats.dropped_nomem++;
        DCGW_LOG_RL(BRIDGE, ERROR, "no memory to hold a %zu-byte message: dropped", n);
        return false;
    }
    m->next = NULL;
    m->is_text = is_text;
    m->n = n;
    if (n)
        memcpy(m->data, p, n);
    if (l->tail[k])
        l->tail[k]->next = m;
    else
        l->head[k] = m;
    l->tail[k] = m;
    struct side *far = &b->side[k];
    far->held += n;
    if (far->held > b->stats.held_bytes_max)
        b->stats.held_bytes_max = far->held;
    b->stats.queued++;
    return true;
}

/* ---- links */

static struct link *link_new(struct dcgw_bridge *b)
{
    struct link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->next = b->links;
    if (b->links)
        b->links->prev = l;
    b->links = l;
    return l;
}

static void link_free(struct dcgw_bridge *b, struct link *l)
{
    drop_held(b, l, 0);
    drop_held(b, l, 1);
    if (l->prev)
        l->prev->next = l->next;
    else
        b->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    free(l);
}

void dcgw_bridge_free(struct dcgw_bridge *b)
{
    if (!b)
        return;
    /* The channels are not touched: their endpoints are gone or detached by now. */
    while (b->links)
        link_free(b, b->links);
    free(b);
}

/* RFC 8831 §6.7: closing one side closes its twin. The twin is unlinked first, so its
 * own on_channel_closed (now, or after the stream resets) finds no link. */
static void close_twin(struct dcgw_bridge *b, struct link *l, unsigned o)
{
    struct dcgw_dc_channel *t = l->ch[o];
    if (!t)
        return;
    t->user = NULL;
    l->ch[o] = NULL;
    if (b->side[o].dc)
        dcgw_dc_close_channel(b->side[o].dc, t);
}

/* ---- forwarding */

/* One message on ch[k], unless the far leg has no room now. */
static enum fwd forward(struct dcgw_bridge *b, struct link *l, unsigned k, bool is_text,
                        const uint8_t *p, size_t n)
{
    struct dcgw_dc *dc = b->side[k].dc;
    if (dcgw_sctp_buffered_above(dcgw_dc_sctp(dc), b->set.buffered_limit))
        return FWD_FULL;
    int r = dcgw_dc_send(dc, l->ch[k], is_text, p, n);
    if (r == 0) {
        b->stats.forwarded++;
        b->stats.forwarded_bytes += n;
        b->stats.sent[k]++;
        b->stats.sent_bytes[k] += n;
        return FWD_SENT;
    }
    if (r == DCGW_EAGAIN)
        return FWD_FULL;
    if (r == DCGW_ETOOBIG) {
        b->stats.dropped_too_big++;
    } else { /* the twin or its association is closing */
        b->stats.dropped_closed++;
        DCGW_LOG_RL(BRIDGE, DEBUG, "forwarding on stream %u: %s", l->ch[k]->params.id,
                    dcgw_strerror(r));
    }
    return FWD_DROPPED;
}

/* Sends what is held for ch[k] in order; false when the far leg filled up first. */
static bool flush_link(struct dcgw_bridge *b, struct link *l, unsigned k)
{
    struct pmsg *m;
    while (l->sendable[k] && (m = l->head[k])) {
        enum fwd r = forward(b, l, k, m->is_text, m->data, m->n);
        if (r == FWD_FULL)
            return false;
        if (r == FWD_DROPPED && l->ch[1 - k])
            l->ch[1 - k]->stats.dropped_in++;
        l->head[k] = m->next;
        if (!l->head[k])
            l->tail[k] = NULL;
        b->side[k].held -= m->n;
        free(m);
    }
    return true;
}

/* Sends what is held toward side k; then reads side 1-k again if it may. */
static void flush_side(struct dcgw_bridge *b, unsigned k)
{
    struct side *far = &b->side[k];
    if (!far->dc)
        return;
    far->full = false; /* on_writable came: it asks again (mark_full) if it fills up */
    bool room = true;
    struct link *l = b->links;
    while (l && room) {
        struct link *next = l->next;
        room = flush_link(b, l, k);
        if (room && l->close_after[k] && !l->head[k]) {
            close_twin(b, l, k); /* the source closed: its twin goes once all is out */
            link_free(b, l);
        }
        l = next;
    }
    if (!room)
        mark_full(b, k);
    update_pause(b, 1 - k);
}

static void flush(struct dcgw_bridge *b, struct link *l, unsigned k)
{
    if (l->head[k] && !b->side[k].full && !flush_link(b, l, k))
        mark_full(b, k);
    update_pause(b, 1 - k);
}

/* ---- twins */

/* Opens the twin of l->ch[s] on side o by DCEP, with the same label, subprotocol and
 * reliability (RFC 8832 §5.1). Messages may go before the ACK (§6). */
static void open_twin(struct dcgw_bridge *b, struct link *l, unsigned o)
{
    unsigned s = 1 - o;
    struct dcgw_dc_params p = l->ch[s]->params;
    p.id = DCGW_DC_ID_AUTO;
    struct dcgw_dc_channel *twin = NULL;
    int r = dcgw_dc_open(b->side[o].dc, &p, &twin);
    if (r < 0) {
        b->stats.twin_open_failed++;
        DCGW_LOG_RL(BRIDGE, WARN, "opening the twin of \"%s\" on the far leg: %s",
                    l->ch[s]->params.label, dcgw_strerror(r));
        dcgw_dc_close_channel(b->side[s].dc, l->ch[s]);
        return;
    }
    b->stats.twins_opened++;
    twin->user = l;
    l->ch[o] = twin;
    l->sendable[o] = true;
    flush(b, l, o);
}

static void link_twin(struct dcgw_bridge *b, struct link *l, unsigned o)
{
    unsigned s = 1 - o;
    struct side *far = &b->side[o];
    if (!far->dc)
        return;
    if (l->ch[s]->negotiated) {
        struct dcgw_dc_channel *twin = dcgw_dc_channel_by_id(far->dc, l->ch[s]->params.id);
        if (twin && twin->negotiated && !twin->user) {
            twin->user = l;
            l->ch[o] = twin;
            l->sendable[o] = twin->state == DCGW_DC_OPEN;
            flush(b, l, o);
        }
        return;
    }
    if (far->up)
        open_twin(b, l, o);
}

/* ---- the endpoints' callbacks */

static void cb_connected(void *ud)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    sd->up = true;
    /* DCEP channels that opened on the other leg first get their twins now. */
    for (struct link *l = b->links; l; l = l->next)
        if (!l->ch[sd->idx] && l->ch[1 - sd->idx] && !l->ch[1 - sd->idx]->negotiated)
            open_twin(b, l, sd->idx);
}

static bool cb_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    return b->cbs.on_open_request ? b->cbs.on_open_request(b->cbs.ud, sd->idx, ch) : true;
}

static void cb_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    unsigned s = sd->idx, o = 1 - s;
    struct link *l = ch->user;
    if (l) {
        /* A twin we opened got its ACK, or a negotiated channel linked early opened. */
        l->sendable[s] = true;
        flush(b, l, s);
    } else if ((l = link_new(b))) {
        ch->user = l;
        l->ch[s] = ch;
        l->sendable[s] = true;
        link_twin(b, l, o);
    }
    if (b->cbs.on_channel_open)
        b->cbs.on_channel_open(b->cbs.ud, s, ch);
}

/* A message from side s that cannot go to side o now: held, or (partially reliable
 * channels, RFC 8831 §5) dropped when the far leg is full. */
static void hold_or_drop(struct dcgw_bridge *b, struct link *l, struct dcgw_dc_channel *ch,
                         unsigned o, bool is_text, const uint8_t *p, size_t n)
{
    struct side *far = &b->side[o];
    bool reliable = ch->params.reliability == DCGW_DC_RELIABLE;
    if (!reliable && (far->full || far->held + n > b->set.pending_limit)) {
        b->stats.dropped_partial++;
        ch->stats.dropped_in++;
        return;
    }
    if (!hold(b, l, o, is_text, p, n))
        ch->stats.dropped_in++;
    update_pause(b, 1 - o);
}

static void cb_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    unsigned o = 1 - sd->idx;
    struct link *l = ch->user;
    b->stats.received[sd->idx]++;
    b->stats.received_bytes[sd->idx] += n;
    if (b->cbs.on_message && !b->cbs.on_message(b->cbs.ud, sd->idx, ch, is_text, p, n)) {
        b->stats.dropped_by_owner++;
        return;
    }
    if (l && !l->ch[o] && ch->negotiated)
        link_twin(b, l, o); /* the far negotiated channel may exist by now */
    if (!l || (!l->ch[o] && ch->negotiated)) {
        b->stats.dropped_no_twin++;
        ch->stats.dropped_in++;
        return;
    }
    if (l->ch[o] && l->sendable[o] && !l->head[o] && !b->side[o].full) {
        enum fwd r = forward(b, l, o, is_text, p, n);
        if (r == FWD_SENT)
            return;
        if (r == FWD_DROPPED) {
            ch->stats.dropped_in++; /* shows in the source channel's counters */
            return;
        }
        mark_full(b, o);
    }
    hold_or_drop(b, l, ch, o, is_text, p, n);
}

static void cb_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    unsigned s = sd->idx, o = 1 - s;
    if (b->cbs.on_channel_closed)
        b->cbs.on_channel_closed(b->cbs.ud, s, ch);
    struct link *l = ch->user;
    if (!l)
        return;
    ch->user = NULL;
    l->ch[s] = NULL;
    l->sendable[s] = false;
    drop_held(b, l, s); /* for a channel that is gone */
    if (l->head[o] && l->ch[o] && l->sendable[o]) {
        l->close_after[o] = true; /* what it sent before closing still goes first */
    } else {
        close_twin(b, l, o);
        link_free(b, l);
    }
    update_pause(b, o);
    update_pause(b, s);
}

/* dcgw closes a channel itself (policy, avatar refusal): both legs at once. Waiting for
 * the peer's own reset before closing the twin (cb_channel_closed) would leave the twin
 * open for as long as a peer that never answers (RFC 6525 gives no deadline) keeps the
 * session. What the bridge still holds either way is dropped: nothing the channel's peer
 * sent after the decision reaches the far leg (docs/bridge.md "Closing"). */
void dcgw_bridge_close_channel(struct dcgw_bridge *b, unsigned side, struct dcgw_dc_channel *ch)
{
    unsigned s = side & 1, o = 1 - s;
    struct dcgw_dc *dc = b->side[s].dc;
    struct link *l = b->links;
    while (l && l->ch[s] != ch) /* ch->user may be another owner's (served bootstrap) */
        l = l->next;
    if (!l) {
        if (dc)
            dcgw_dc_close_channel(dc, ch);
        return;
    }
    drop_held(b, l, o); /* counted in ch's dropped_in while it is still linked */
    ch->user = NULL;
    l->ch[s] = NULL;
    l->sendable[s] = false;
    drop_held(b, l, s);
    close_twin(b, l, o);
    link_free(b, l);
    if (dc)
        dcgw_dc_close_channel(dc, ch); /* its on_channel_closed finds no link */
    update_pause(b, o);
    update_pause(b, s);
}

static void cb_writable(void *ud)
{
    struct side *sd = ud;
    flush_side(sd->b, sd->idx);
}

/* The association ended: what was held for it is lost with it, the other leg reads on. */
static void cb_closed(void *ud)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    sd->up = false;
    sd->full = false;
    for (struct link *l = b->links; l; l = l->next)
        drop_held(b, l, sd->idx);
    update_pause(b, 1 - sd->idx);
}

void dcgw_bridge_dc_callbacks(struct dcgw_bridge *b, unsigned side, struct dcgw_dc_callbacks *out)
{
    memset(out, 0, sizeof(*out));
    out->ud = &b->side[side & 1];
    out->on_connected = cb_connected;
    out->on_open_request = cb_open_request;
    out->on_channel_open = cb_channel_open;
    out->on_message = cb_message;
    out->on_channel_closed = cb_channel_closed;
    out->on_writable = cb_writable;
    out->on_closed = cb_closed;
}

void dcgw_bridge_attach(struct dcgw_bridge *b, unsigned side, struct dcgw_dc *dc)
{
    b->side[side & 1].dc = dc;
}

void dcgw_bridge_detach(struct dcgw_bridge *b, unsigned side)
{
    unsigned s = side & 1, o = 1 - s;
    b->side[s].dc = NULL;
    b->side[s].up = false;
    b->side[s].full = false;
    b->side[s].paused = false;
    struct link *l = b->links;
    while (l) {
        struct link *next = l->next;
        if (l->ch[s])
            l->ch[s]->user = NULL;
        l->ch[s] = NULL;
        l->sendable[s] = false;
        close_twin(b, l, o);
        link_free(b, l);
        l = next;
    }
    update_pause(b, o); /* nothing is held toward side s any more */
}

const struct dcgw_bridge_stats *dcgw_bridge_stats(const struct dcgw_bridge *b)
{
    return &b->stats;
}

bool dcgw_bridge_paused(const struct dcgw_bridge *b, unsigned side)
{
    return b->side[side & 1].paused;
}

size_t dcgw_bridge_held(const struct dcgw_bridge *b, unsigned side)
{
    return b->side[side & 1].held;
}

void dcgw_bridge_count_open(const struct dcgw_bridge *b, uint32_t out[2][DCGW_DC_KIND_COUNT])
{
    for (const struct link *l = b->links; l; l = l->next)
        for (unsigned k = 0; k < 2; k++)
            if (l->ch[k] && l->ch[k]->state == DCGW_DC_OPEN &&
                (unsigned)l->ch[k]->kind < DCGW_DC_KIND_COUNT)
                out[k][l->ch[k]->kind]++;
}
