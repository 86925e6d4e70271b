/* WebRTC data channels over one SCTP association (RFC 8831, RFC 8832, RFC 8864). */
#include "dcgw/stages/datachannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/reentry.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp.h"

enum { RESET_RETRIES = 3 };

struct dcgw_dc {
    struct dcgw_sctp *sctp;
    struct dcgw_dc_settings set;
    struct dcgw_dc_callbacks cbs;
    /* The channels, sorted by stream id: a few per association, where a table indexed by
     * stream id would take 8 bytes for each of up to 65,535 streams (issue 17). */
    struct dcgw_dc_channel **chans;
    size_t count, cap;
    size_t nchans_max; /* ids below this: set.sctp.streams */
    struct dcgw_dc_stats stats;
    struct dcgw_reentry re; /* inside a callback of the association (base/reentry.h) */
    bool connected;
    bool ack_pending; /* some DATA_CHANNEL_ACK could not be queued yet */
    bool even;        /* our opens use even ids (RFC 8832 §6: the DTLS client's), else odd */
};

enum dcgw_dc_kind dcgw_dc_kind_of_stream(uint16_t id)
{
    if (id == 0 || id == 10 || id == 100 || id == 110)
        return DCGW_DC_KIND_BOOTSTRAP;
    return id >= 1000 ? DCGW_DC_KIND_APPLICATION : DCGW_DC_KIND_OTHER;
}

const char *dcgw_dc_kind_name(enum dcgw_dc_kind k)
{
    switch (k) {
    case DCGW_DC_KIND_BOOTSTRAP:
        return "bootstrap";
    case DCGW_DC_KIND_APPLICATION:
        return "application";
    default:
        return "other";
    }
}

void dcgw_dc_settings_default(struct dcgw_dc_settings *s)
{
    memset(s, 0, sizeof(*s));
    dcgw_sctp_settings_default(&s->sctp);
    s->allow_dcep = false;
}

/* ---- channel table: sorted by stream id ---- */

/* The index of the first channel whose id is >= id (count when none). */
static size_t chan_pos(const struct dcgw_dc *dc, uint32_t id)
{
    size_t lo = 0, hi = dc->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dc->chans[mid]->params.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The channel on stream id (hidden ones included), or NULL. */
static struct dcgw_dc_channel *chan_get(const struct dcgw_dc *dc, uint32_t id)
{
    size_t i = chan_pos(dc, id);
    return i < dc->count && dc->chans[i]->params.id == id ? dc->chans[i] : NULL;
}

/* The first channel with an id >= id (hidden ones included), or NULL: walks that survive
 * callbacks which open and close channels go by id, not by index. */
static struct dcgw_dc_channel *chan_from(const struct dcgw_dc *dc, uint32_t id)
{
    size_t i = chan_pos(dc, id);
    return i < dc->count ? dc->chans[i] : NULL;
}

static struct dcgw_dc_channel *chan_new(struct dcgw_dc *dc, const struct dcgw_dc_params *p)
{
    if (dc->count == dc->cap) {
        size_t cap = dc->cap ? 2 * dc->cap : 4;
        struct dcgw_dc_channel **n = realloc(dc->chans, cap * sizeof(*n));
        if (!n)
            return NULL;
        dc->chans = n;
        dc->cap = cap;
    }
    struct dcgw_dc_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->params = *p;
    ch->kind = dcgw_dc_kind_of_stream(p->id);
    size_t i = chan_pos(dc, p->id); /* callers checked that the id is free */
    memmove(dc->chans + i + 1, dc->chans + i, (dc->count - i) * sizeof(*dc->chans));
    dc->chans[i] = ch;
    dc->count++;
    return ch;
}

static void chan_remove(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    size_t i = chan_pos(dc, ch->params.id);
    if (i >= dc->count || dc->chans[i] != ch)
        return;
    dc->count--;
    memmove(dc->chans + i, dc->chans + i + 1, (dc->count - i) * sizeof(*dc->chans));
}

/* Removes ch; the owner hears of it if it knew the channel. */
static void chan_finish(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    chan_remove(dc, ch);
    ch->state = DCGW_DC_CLOSED;
    if (ch->reported && !ch->hidden && dc->cbs.on_channel_closed)
        dc->cbs.on_channel_closed(dc->cbs.ud, ch);
    free(ch);
}

static void maybe_finish(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    /* RFC 8831 §6.7: both directions reset: closed, id reusable. A refused open needs only
     * ours: the peer may never have made a channel of it, and an incoming reset of a stream
     * without a channel is not answered (that would ping-pong). */
    if (ch->out_reset_done && (ch->in_reset_done || ch->hidden))
        chan_finish(dc, ch);
}

static void ask_out_reset(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    ch->state = DCGW_DC_CLOSING;
    if (ch->out_reset_asked)
        return;
    ch->out_reset_asked = true;
    int r = dcgw_sctp_reset_streams(dc->sctp, &ch->params.id, 1);
    if (r != 0) /* association going away: its on_closed cleans up */
        DCGW_LOG_RL(DC, DEBUG, "reset of stream %u: %s", ch->params.id, dcgw_strerror(r));
}

static bool params_ok(const struct dcgw_dc_params *p)
{
    return memchr(p->label, 0, sizeof(p->label)) && memchr(p->protocol, 0, sizeof(p->protocol)) &&
           p->reliability <= DCGW_DC_MAX_TIME;
}

static int check_id(const struct dcgw_dc *dc, uint16_t id)
{
    if (id > DCGW_DC_STREAM_MAX || id >= dc->nchans_max)
        return DCGW_ERANGE;
    if (dc->connected && id >= dcgw_sctp_streams_out(dc->sctp))
        return DCGW_ERANGE;
    if (chan_get(dc, id))
        return DCGW_EEXIST;
    if (dc->count >= dc->set.max_channels)
        return DCGW_ELIMIT;
    return 0;
}

/* ---- DCEP ---- */

static uint8_t channel_type(const struct dcgw_dc_params *p)
{
    uint8_t t = p->reliability == DCGW_DC_MAX_RETR   ? DCGW_DCEP_PARTIAL_RELIABLE_REXMIT
                : p->reliability == DCGW_DC_MAX_TIME ? DCGW_DCEP_PARTIAL_RELIABLE_TIMED
                                                     : DCGW_DCEP_RELIABLE;
    return p->ordered ? t : (uint8_t)(t | DCGW_DCEP_UNORDERED_BIT);
}

/* RFC 8832 §6: DCEP messages go ordered and reliable, on the channel's stream, PPID 50. */
static int send_dcep(struct dcgw_dc *dc, uint16_t id, const uint8_t *p, size_t n)
{
    return dcgw_sctp_send(dc->sctp, id, DCGW_PPID_DCEP, NULL, p, n);
}

static int send_open(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    const struct dcgw_dc_params *p = &ch->params;
    struct dcgw_dcep_open o = {
        .channel_type = channel_type(p),
        .priority = p->priority,
        .reliability = p->reliability_param,
        .label = (const uint8_t *)p->label,
        .label_len = (uint16_t)strlen(p->label),
        .protocol = (const uint8_t *)p->protocol,
        .protocol_len = (uint16_t)strlen(p->protocol),
    };
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    size_t n;
    int r = dcgw_dcep_encode_open(&o, buf, sizeof(buf), &n);
    if (r == 0)
        r = send_dcep(dc, p->id, buf, n);
    if (r == 0)
        ch->open_pending = false;
    return r;
}

static int send_ack(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    uint8_t buf[DCGW_DCEP_ACK_LEN];
    size_t n;
    dcgw_dcep_encode_ack(buf, sizeof(buf), &n);
    int r = send_dcep(dc, ch->params.id, buf, n);
    ch->ack_pending = r == DCGW_EAGAIN;
    if (r == DCGW_EAGAIN)
        dc->ack_pending = true;
    return r;
}

/* The channel is acknowledged (ACK, or any message on it, RFC 8832 §6) and open. */
static void chan_opened(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    ch->acked = true;
    ch->state = DCGW_DC_OPEN;
    ch->reported = true;
    if (dc->cbs.on_channel_open)
        dc->cbs.on_channel_open(dc->cbs.ud, ch);
}

static void params_from_open(struct dcgw_dc_params *p, uint16_t id, const struct dcgw_dcep_open *o)
{
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->ordered = dcgw_dcep_channel_type_ordered(o->channel_type);
    switch (o->channel_type & ~DCGW_DCEP_UNORDERED_BIT) {
    case DCGW_DCEP_PARTIAL_RELIABLE_REXMIT:
        p->reliability = DCGW_DC_MAX_RETR;
        break;
    case DCGW_DCEP_PARTIAL_RELIABLE_TIMED:
        p->reliability = DCGW_DC_MAX_TIME;
        break;
    default:
        p->reliability = DCGW_DC_RELIABLE;
    }
    p->reliability_param = o->reliability;
    p->priority = o->priority;
    memcpy(p->label, o->label, o->label_len); /* decode checked: fits, no NUL */
    memcpy(p->protocol, o->protocol, o->protocol_len);
}

/* Refuses an open on a free stream: keep a hidden record to see both resets through. */
static void refuse_open(struct dcgw_dc *dc, uint16_t id, const char *why)
{
    dc->stats.opens_refused++;
    DCGW_LOG_RL(DC, INFO, "DATA_CHANNEL_OPEN on stream %u refused: %s", id, why);
    if (id >= dc->nchans_max || chan_get(dc, id))
        return;
    struct dcgw_dc_params p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    struct dcgw_dc_channel *ch = chan_new(dc, &p);
    if (!ch)
        return;
    ch->hidden = true;
    ask_out_reset(dc, ch); /* RFC 8832 §6: MUST close, MUST NOT ACK */
}

static void on_dcep_open(struct dcgw_dc *dc, uint16_t id, const struct dcgw_dcep_open *o)
{
    struct dcgw_dc_channel *ch = chan_get(dc, id);
    if (ch) {
        /* RFC 8832 §6: an OPEN on a stream in use closes that channel */
        dc->stats.opens_refused++;
        DCGW_LOG_RL(DC, WARN, "DATA_CHANNEL_OPEN on busy stream %u: closing it", id);
        ask_out_reset(dc, ch);
        return;
    }
    /* RFC 8832 §6: the peer's ids are odd when we are the DTLS client, even when we are the
     * server. A peer that uses ours (tolerate_parity) gets the stream if it is free, and our
     * own opens move to the parity it leaves free, so the two never pick the same id. */
    bool wrong_parity = (id % 2 == 0) == dc->even;
    if (!dc->set.allow_dcep)
        return refuse_open(dc, id, "in-band opens not allowed");
    if (wrong_parity && !dc->set.tolerate_parity)
        return refuse_open(dc, id, "stream id of the wrong parity");
    if (id >= dc->nchans_max || id >= dcgw_sctp_streams_out(dc->sctp))
        return refuse_open(dc, id, "stream id out of range");
    if (dc->count >= dc->set.max_channels)
        return refuse_open(dc, id, "too many channels");
    struct dcgw_dc_params p;
    params_from_open(&p, id, o);
    ch = chan_new(dc, &p);
    if (!ch)
        return refuse_open(dc, id, "out of memory");
    ch->state = DCGW_DC_CONNECTING;
    bool accept = !dc->cbs.on_open_request || dc->cbs.on_open_request(dc->cbs.ud, ch);
    if (dc->re.free_asked)
        return;
    if (!accept) {
        ch->hidden = true;
        dc->stats.opens_refused++;
        ask_out_reset(dc, ch);
        return;
    }
    dc->stats.opens_accepted++;
    if (wrong_parity) {
        dc->stats.opens_wrong_parity++;
        dc->even = !dc->even;
        DCGW_LOG_RL(DC, INFO,
                    "peer opened stream %u, of our parity (RFC 8832 §6): accepted, our opens "
                    "now use %s ids",
                    id, dc->even ? "even" : "odd");
    }
    int r = send_ack(dc, ch);
    if (r != 0 && r != DCGW_EAGAIN) {
        ch->hidden = true;
        ask_out_reset(dc, ch);
        return;
    }
    chan_opened(dc, ch);
}

static void on_dcep(struct dcgw_dc *dc, uint16_t id, const uint8_t *p, size_t n)
{
    dc->stats.dcep_in++;
    struct dcgw_dcep_msg m;
    int r = dcgw_dcep_decode(p, n, &m);
    if (r != 0) {
        dc->stats.dcep_bad++;
        DCGW_LOG_RL(DC, WARN, "bad DCEP message on stream %u: %s", id, dcgw_strerror(r));
        if (n > 0 && p[0] == DCGW_DCEP_OPEN) { /* a malformed OPEN closes the channel */
            struct dcgw_dc_channel *ch = chan_get(dc, id);
            if (ch)
                ask_out_reset(dc, ch);
            else
                refuse_open(dc, id, "malformed");
        }
        return;
    }
    if (m.type == DCGW_DCEP_OPEN)
        return on_dcep_open(dc, id, &m.open);
    struct dcgw_dc_channel *ch = chan_get(dc, id);
    if (ch && ch->locally_opened && !ch->acked && ch->state == DCGW_DC_CONNECTING) {
        dc->stats.acks_in++;
        chan_opened(dc, ch);
    } else {
        dc->stats.acks_unexpected++;
    }
}

/* ---- association callbacks ---- */

static void sc_send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_dc *dc = ud;
    dc->cbs.send_packet(dc->cbs.ud, p, n);
}

static void real_free(struct dcgw_dc *dc);

static void enter(struct dcgw_dc *dc)
{
    dcgw_reentry_enter(&dc->re);
}

/* Returns false when the endpoint is gone (freed from inside a callback). */
static bool leave(struct dcgw_dc *dc)
{
    if (dcgw_reentry_leave(&dc->re)) {
        real_free(dc);
        return false;
    }
    return true;
}

static void sc_connected(void *ud)
{
    struct dcgw_dc *dc = ud;
    enter(dc);
    dc->connected = true;
    if (dc->cbs.on_connected)
        dc->cbs.on_connected(dc->cbs.ud);
    uint16_t nout = dcgw_sctp_streams_out(dc->sctp);
    struct dcgw_dc_channel *ch;
    for (uint32_t next = 0; !dc->re.free_asked && (ch = chan_from(dc, next)) != NULL;) {
        uint16_t id = ch->params.id;
        next = (uint32_t)id + 1;
        if (ch->state != DCGW_DC_CONNECTING)
            continue;
        if (id >= nout) { /* the peer offered fewer streams than the channel needs */
            DCGW_LOG_RL(DC, WARN, "stream %u beyond the %u negotiated: channel closed", id, nout);
            ch->in_reset_done = ch->out_reset_done = true;
            maybe_finish(dc, ch);
        } else if (ch->negotiated) {
            chan_opened(dc, ch);
        } else if (ch->open_pending && send_open(dc, ch) != 0) {
            ch->in_reset_done = ch->out_reset_done = true;
            maybe_finish(dc, ch);
        }
    }
    leave(dc);
}

static void deliver(struct dcgw_dc *dc, struct dcgw_dc_channel *ch, uint32_t ppid, const uint8_t *p,
                    size_t n)
{
    enum dcgw_ppid_class c = dcgw_ppid_classify(ppid);
    bool is_text = c == DCGW_PPID_CLASS_TEXT || c == DCGW_PPID_CLASS_TEXT_EMPTY;
    if (c == DCGW_PPID_CLASS_DEPRECATED || c == DCGW_PPID_CLASS_UNKNOWN) {
        if (c == DCGW_PPID_CLASS_DEPRECATED)
            dc->stats.deprecated_ppid++;
        else
            dc->stats.unknown_ppid++;
        ch->stats.dropped_in++;
        DCGW_LOG_RL(DC, INFO, "PPID %u on stream %u dropped", ppid, ch->params.id);
        return;
    }
    if (ch->state == DCGW_DC_CLOSING) {
        ch->stats.dropped_in++;
        return;
    }
    if (ch->state == DCGW_DC_CONNECTING) /* RFC 8832 §6: data implies the ACK */
        chan_opened(dc, ch);
    if (dc->re.free_asked)
        return;
    /* RFC 8831 §6.6: the empty PPIDs carry one byte that is not part of the message */
    if (c == DCGW_PPID_CLASS_TEXT_EMPTY || c == DCGW_PPID_CLASS_BINARY_EMPTY)
        p = (const uint8_t *)"", n = 0;
    ch->stats.msgs_in++;
    ch->stats.bytes_in += n;
    if (dc->cbs.on_message)
        dc->cbs.on_message(dc->cbs.ud, ch, is_text, p, n);
}

static void sc_too_big(void *ud, uint16_t stream)
{
    struct dcgw_dc *dc = ud;
    struct dcgw_dc_channel *ch = chan_get(dc, stream);
    if (ch)
        ch->stats.too_big_in++;
}

static void sc_message(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags)
{
    (void)flags;
    struct dcgw_dc *dc = ud;
    enter(dc);
    struct dcgw_dc_channel *ch = chan_get(dc, stream);
    if (ppid == DCGW_PPID_DCEP) {
        on_dcep(dc, stream, p, n);
    } else if (!ch || ch->hidden) {
        dc->stats.unknown_stream++;
        DCGW_LOG_RL(DC, INFO, "message on stream %u without a channel dropped", stream);
    } else {
        deliver(dc, ch, ppid, p, n);
    }
    leave(dc);
}

static void sc_stream_reset(void *ud, uint16_t stream, enum dcgw_sctp_reset what)
{
    struct dcgw_dc *dc = ud;
    struct dcgw_dc_channel *ch = chan_get(dc, stream);
    if (!ch)
        return;
    enter(dc);
    switch (what) {
    case DCGW_SCTP_RESET_INCOMING:
        /* RFC 8831 §6.7: the peer closed: reset ours too. Before the ACK of our own OPEN it
         * is the peer refusing the channel (RFC 8832 §6). */
        ch->in_reset_done = true;
        ask_out_reset(dc, ch);
        maybe_finish(dc, ch);
        break;
    case DCGW_SCTP_RESET_OUTGOING:
        ch->out_reset_done = true;
        maybe_finish(dc, ch);
        break;
    case DCGW_SCTP_RESET_FAILED:
        if (++ch->reset_failures <= RESET_RETRIES) {
            ch->out_reset_asked = false;
            ask_out_reset(dc, ch);
        } else {
            DCGW_LOG_RL(DC, WARN, "peer keeps refusing the reset of stream %u", stream);
            ch->out_reset_done = true;
            maybe_finish(dc, ch);
        }
        break;
    }
    leave(dc);
}

static void close_all(struct dcgw_dc *dc)
{
    while (dc->count && !dc->re.free_asked)
        chan_finish(dc, dc->chans[0]);
}

static void sc_closed(void *ud)
{
    struct dcgw_dc *dc = ud;
    enter(dc);
    dc->connected = false;
    close_all(dc);
    if (!dc->re.free_asked && dc->cbs.on_closed)
        dc->cbs.on_closed(dc->cbs.ud);
    leave(dc);
}

static void sc_writable(void *ud)
{
    struct dcgw_dc *dc = ud;
    enter(dc);
    if (dc->ack_pending) {
        dc->ack_pending = false;
        for (size_t i = 0; i < dc->count && !dc->ack_pending; i++) /* send_ack removes none */
            if (dc->chans[i]->ack_pending)
                send_ack(dc, dc->chans[i]);
    }
    if (!dc->re.free_asked && dc->cbs.on_writable)
        dc->cbs.on_writable(dc->cbs.ud);
    leave(dc);
}

/* ---- public ---- */

int dcgw_dc_new(const struct dcgw_dc_settings *set, const struct dcgw_dc_callbacks *cbs,
                struct dcgw_dc **out)
{
    *out = NULL;
    if (!set || !cbs || !cbs->send_packet)
        return DCGW_EINVAL;
    struct dcgw_dc *dc = calloc(1, sizeof(*dc));
    if (!dc)
        return DCGW_ENOMEM;
    dc->set = *set;
    dc->even = set->dtls_client;
    dc->cbs = *cbs;
    struct dcgw_sctp_callbacks sc = {
        .ud = dc,
        .send_packet = sc_send_packet,
        .on_connected = sc_connected,
        .on_message = sc_message,
        .on_stream_reset = sc_stream_reset,
        .on_too_big = sc_too_big,
        .on_closed = sc_closed,
        .on_writable = sc_writable,
    };
    int r = dcgw_sctp_new(&set->sctp, &sc, &dc->sctp);
    if (r != 0) {
        free(dc);
        return r;
    }
    dc->nchans_max = set->sctp.streams ? set->sctp.streams : DCGW_SCTP_STREAMS_DEFAULT;
    if (!dc->set.max_channels || dc->set.max_channels > dc->nchans_max)
        dc->set.max_channels = (uint16_t)dc->nchans_max;
    *out = dc;
    return 0;
}

static void real_free(struct dcgw_dc *dc)
{
    for (size_t i = 0; i < dc->count; i++)
        free(dc->chans[i]);
    free(dc->chans);
    dcgw_sctp_free(dc->sctp);
    free(dc);
}

void dcgw_dc_free(struct dcgw_dc *dc)
{
    if (!dc)
        return;
    if (dcgw_reentry_free_now(&dc->re)) /* else inside one of its callbacks: at their end */
        real_free(dc);
}

int dcgw_dc_connect(struct dcgw_dc *dc)
{
    return dcgw_sctp_connect(dc->sctp);
}

int dcgw_dc_input(struct dcgw_dc *dc, const uint8_t *p, size_t n)
{
    return dcgw_sctp_input(dc->sctp, p, n);
}

int dcgw_dc_close(struct dcgw_dc *dc)
{
    return dcgw_sctp_close(dc->sctp);
}

struct dcgw_sctp *dcgw_dc_sctp(struct dcgw_dc *dc)
{
    return dc->sctp;
}

int dcgw_dc_add_negotiated(struct dcgw_dc *dc, const struct dcgw_dc_params *p,
                           struct dcgw_dc_channel **out)
{
    *out = NULL;
    if (!params_ok(p))
        return DCGW_EINVAL;
    int r = check_id(dc, p->id);
    if (r != 0)
        return r;
    struct dcgw_dc_channel *ch = chan_new(dc, p);
    if (!ch)
        return DCGW_ENOMEM;
    ch->negotiated = true;
    ch->acked = true;
    ch->reported = true; /* the owner knows it: on_channel_closed is due */
    ch->state = dc->connected ? DCGW_DC_OPEN : DCGW_DC_CONNECTING;
    *out = ch;
    return 0;
}

static int pick_id(struct dcgw_dc *dc, uint16_t *id)
{
    size_t limit = dc->nchans_max;
    if (dc->connected && dcgw_sctp_streams_out(dc->sctp) < limit)
        limit = dcgw_sctp_streams_out(dc->sctp);
    /* RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones */
    for (size_t i = dc->even ? 0 : 1; i < limit && i <= DCGW_DC_STREAM_MAX; i += 2) {
        /* TS 26.114 6.2.10: 0, 10, 100 and 110 are the bootstrap channels' ids */
        if (!chan_get(dc, (uint32_t)i) &&
            dcgw_dc_kind_of_stream((uint16_t)i) != DCGW_DC_KIND_BOOTSTRAP) {
            *id = (uint16_t)i;
            return 0;
        }
    }
    return DCGW_ELIMIT;
}

int dcgw_dc_open(struct dcgw_dc *dc, const struct dcgw_dc_params *p, struct dcgw_dc_channel **out)
{
    *out = NULL;
    if (!params_ok(p))
        return DCGW_EINVAL;
    struct dcgw_dc_params q = *p;
    int r;
    if (q.id == DCGW_DC_ID_AUTO) {
        if ((r = pick_id(dc, &q.id)) != 0)
            return r;
    } else if ((q.id % 2 == 0) != dc->even) {
        return DCGW_EINVAL;
    }
    if ((r = check_id(dc, q.id)) != 0)
        return r;
    struct dcgw_dc_channel *ch = chan_new(dc, &q);
    if (!ch)
        return DCGW_ENOMEM;
    ch->locally_opened = true;
    ch->reported = true;
    ch->state = DCGW_DC_CONNECTING;
    ch->open_pending = true;
    if (dc->connected && (r = send_open(dc, ch)) != 0) {
        chan_remove(dc, ch);
        free(ch);
        return r;
    }
    *out = ch;
    return 0;
}

int dcgw_dc_send(struct dcgw_dc *dc, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                 size_t n)
{
    bool may_send = ch->state == DCGW_DC_OPEN ||
                    (ch->state == DCGW_DC_CONNECTING && ch->locally_opened && !ch->open_pending);
    if (!may_send || ch->hidden)
        return DCGW_ESTATE;
    static const uint8_t zero = 0;
    uint32_t ppid = is_text ? DCGW_PPID_STRING : DCGW_PPID_BINARY;
    size_t len = n;
    if (n == 0) { /* RFC 8831 §6.6: empty message = one zero byte with the empty PPID */
        ppid = is_text ? DCGW_PPID_STRING_EMPTY : DCGW_PPID_BINARY_EMPTY;
        p = &zero;
        len = 1;
    }
    struct dcgw_sctp_sendopts o = {
        /* RFC 8832 §6: ordered until the channel is acknowledged */
        .unordered = !ch->params.ordered && ch->acked,
        .pr = ch->params.reliability == DCGW_DC_MAX_RETR   ? DCGW_SCTP_PR_RTX
              : ch->params.reliability == DCGW_DC_MAX_TIME ? DCGW_SCTP_PR_TTL
                                                           : DCGW_SCTP_PR_NONE,
        .pr_value = ch->params.reliability_param,
    };
    int r = dcgw_sctp_send(dc->sctp, ch->params.id, ppid, &o, p, len);
    if (r == 0) {
        ch->stats.msgs_out++;
        ch->stats.bytes_out += n;
    } else if (r == DCGW_ETOOBIG) {
        ch->stats.too_big++;
    } else if (r == DCGW_EAGAIN) {
        ch->stats.eagain++;
    }
    return r;
}

int dcgw_dc_close_channel(struct dcgw_dc *dc, struct dcgw_dc_channel *ch)
{
    if (ch->state == DCGW_DC_CLOSING || ch->state == DCGW_DC_CLOSED)
        return 0;
    if (!dc->connected || ch->open_pending) {
        /* never on the wire: nothing to reset */
        chan_remove(dc, ch);
        free(ch);
        return 0;
    }
    ask_out_reset(dc, ch);
    return 0;
}

struct dcgw_dc_channel *dcgw_dc_channel_by_id(struct dcgw_dc *dc, uint16_t id)
{
    struct dcgw_dc_channel *ch = chan_get(dc, id);
    return ch && !ch->hidden ? ch : NULL;
}

struct dcgw_dc_channel *dcgw_dc_channel_next(struct dcgw_dc *dc, uint32_t id)
{
    for (size_t i = chan_pos(dc, id); i < dc->count; i++)
        if (!dc->chans[i]->hidden)
            return dc->chans[i];
    return NULL;
}

size_t dcgw_dc_channel_count(const struct dcgw_dc *dc)
{
    return dc->count;
}

const struct dcgw_dc_stats *dcgw_dc_stats(const struct dcgw_dc *dc)
{
    return &dc->stats;
}

void dcgw_dc_params_from_dcmap(const struct dcgw_sdp_dcmap *m, struct dcgw_dc_params *p)
{
    memset(p, 0, sizeof(*p));
    p->id = m->stream_id;
    p->ordered = m->ordered;
    p->reliability = m->has_max_retr   ? DCGW_DC_MAX_RETR
                     : m->has_max_time ? DCGW_DC_MAX_TIME
                                       : DCGW_DC_RELIABLE;
    p->reliability_param = m->has_max_retr ? m->max_retr : m->max_time;
    p->priority = m->priority;
    snprintf(p->label, sizeof(p->label), "%s", m->label);
    snprintf(p->protocol, sizeof(p->protocol), "%s", m->subprotocol);
}
