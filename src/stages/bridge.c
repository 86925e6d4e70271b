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
    struct pmsg *head[2], *tail[2]; /* waiting for ch[k] */
};

struct side {
    struct dcgw_bridge *b;
    unsigned idx;
    struct dcgw_dc *dc;
    bool up;
};

struct dcgw_bridge {
    struct dcgw_bridge_settings set;
    struct dcgw_bridge_cbs cbs;
    struct side side[2];
    struct link *links;
    size_t pending_bytes;
    struct dcgw_bridge_stats stats;
};

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

static void drop_pending(struct dcgw_bridge *b, struct link *l, unsigned k)
{
    struct pmsg *m = l->head[k];
    while (m) {
        struct pmsg *next = m->next;
        b->pending_bytes -= m->n;
        free(m);
        m = next;
    }
    l->head[k] = l->tail[k] = NULL;
}

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
    drop_pending(b, l, 0);
    drop_pending(b, l, 1);
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

/* Sends one message on ch[k], or counts why not. False when it was dropped. */
static bool deliver(struct dcgw_bridge *b, struct link *l, unsigned k, bool is_text,
                    const uint8_t *p, size_t n)
{
    struct dcgw_dc *dc = b->side[k].dc;
    if (dcgw_sctp_buffered_amount(dcgw_dc_sctp(dc)) > b->set.buffered_limit) {
        b->stats.dropped_backpressure++;
        DCGW_LOG_RL(BRIDGE, DEBUG, "far leg over its buffered limit: message dropped");
        return false;
    }
    int r = dcgw_dc_send(dc, l->ch[k], is_text, p, n);
    if (r == 0) {
        b->stats.forwarded++;
        b->stats.forwarded_bytes += n;
        return true;
    }
    if (r == DCGW_ETOOBIG) {
        b->stats.dropped_too_big++;
    } else {
        b->stats.dropped_backpressure++;
        DCGW_LOG_RL(BRIDGE, DEBUG, "forwarding on stream %u: %s", l->ch[k]->params.id,
                    dcgw_strerror(r));
    }
    return false;
}

static bool enqueue(struct dcgw_bridge *b, struct link *l, unsigned k, bool is_text,
                    const uint8_t *p, size_t n)
{
    struct pmsg *m;
    if (b->pending_bytes + n > b->set.pending_limit || !(m = malloc(sizeof(*m) + n))) {
        b->stats.dropped_pending_full++;
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
    b->pending_bytes += n;
    b->stats.queued++;
    return true;
}

static void flush(struct dcgw_bridge *b, struct link *l, unsigned k)
{
    struct pmsg *m;
    while (l->sendable[k] && (m = l->head[k])) {
        l->head[k] = m->next;
        if (!l->head[k])
            l->tail[k] = NULL;
        b->pending_bytes -= m->n;
        deliver(b, l, k, m->is_text, m->data, m->n);
        free(m);
    }
}

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

static void cb_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct side *sd = ud;
    struct dcgw_bridge *b = sd->b;
    unsigned o = 1 - sd->idx;
    struct link *l = ch->user;
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
    bool ok = l->ch[o] && l->sendable[o] && !l->head[o] ? deliver(b, l, o, is_text, p, n)
                                                        : enqueue(b, l, o, is_text, p, n);
    if (!ok)
        ch->stats.dropped_in++; /* shows in the source channel's counters */
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
    drop_pending(b, l, s);
    close_twin(b, l, o);
    link_free(b, l);
}

static void cb_writable(void *ud)
{
    (void)ud;
}

static void cb_closed(void *ud)
{
    struct side *sd = ud;
    sd->up = false;
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
}

const struct dcgw_bridge_stats *dcgw_bridge_stats(const struct dcgw_bridge *b)
{
    return &b->stats;
}
