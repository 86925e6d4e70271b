/* The worker's event sink and the wire forms its files share (events.h). */
#include "events.h"

#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/stream.h"
#include "worker_int.h"

int dcgw__wev_send(struct worker *w, const Dcgw__Frame *f)
{
    if (w->inproc.to_master) {
        w->inproc.to_master(w->inproc.ud, f);
        return 0;
    }
    return w->master ? dcgw_stream_send(w->master, f) : DCGW_ECLOSED;
}

void dcgw__wev_emit(struct worker *w, Dcgw__Event *ev)
{
    ev->has_time_unix_ms = 1;
    ev->time_unix_ms = dcgw_unix_ms();
    dcgw__wmetrics_event(w, ev); /* counted for /metrics on the way (metrics.c) */
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_EVENT;
    f.event = ev;
    dcgw__wev_send(w, &f);
}

void dcgw__wev_emit_session(struct wsession *s, int leg, Dcgw__Event *ev)
{
    ev->session_id = s->desc->id;
    if (!ev->has_session_state) {
        ev->has_session_state = 1;
        ev->session_state = dcgw__wev_session_state(s);
    }
    ev->leg = leg >= 0 && (size_t)leg < s->desc->n_legs ? s->desc->legs[leg]->name : NULL;
    dcgw__wev_emit(s->w, ev);
}

Dcgw__LegState dcgw__wev_leg_state(enum dcgw_leg_state st, Dcgw__LegState otherwise)
{
    static const Dcgw__LegState map[] = {
        [DCGW_LEG_NEW] = DCGW__LEG_STATE__LEG_NEW,
        [DCGW_LEG_ICE] = DCGW__LEG_STATE__LEG_ICE,
        [DCGW_LEG_DTLS] = DCGW__LEG_STATE__LEG_DTLS,
        [DCGW_LEG_CONNECTED] = DCGW__LEG_STATE__LEG_CONNECTED,
        [DCGW_LEG_FAILED] = DCGW__LEG_STATE__LEG_FAILED,
        [DCGW_LEG_CLOSED] = DCGW__LEG_STATE__LEG_CLOSED,
    };
    return (unsigned)st < sizeof(map) / sizeof(map[0]) ? map[st] : otherwise;
}

Dcgw__SessionState dcgw__wev_session_state(struct wsession *s)
{
    Dcgw__Session *d = s->desc;
    unsigned connected = 0, started = 0;
    for (unsigned i = 0; i < s->n_legs; i++) {
        struct wleg *l = s->legs[i];
        Dcgw__Leg *pl = d->legs[i];
        if (!s->relay && l->leg && !l->dead) {
            pl->has_state = 1;
            pl->state = dcgw__wev_leg_state(dcgw_leg_state(l->leg), pl->state);
        }
        connected += pl->state == DCGW__LEG_STATE__LEG_CONNECTED;
        started += pl->state != DCGW__LEG_STATE__LEG_NEW;
    }
    if (d->state == DCGW__SESSION_STATE__SESSION_DOWN ||
        d->state == DCGW__SESSION_STATE__SESSION_CLOSED)
        return d->state; /* final */
    d->has_state = 1;
    d->state = connected == s->n_legs ? DCGW__SESSION_STATE__SESSION_ACTIVE
               : started              ? DCGW__SESSION_STATE__SESSION_CONNECTING
                                      : DCGW__SESSION_STATE__SESSION_PENDING;
    return d->state;
}

Dcgw__Fingerprint *dcgw__wev_fingerprint(const struct dcgw_fingerprint *fp)
{
    Dcgw__Fingerprint *f = calloc(1, sizeof(*f));
    char hex[DCGW_FINGERPRINT_TEXT_MAX + 1];
    if (!f)
        return NULL;
    dcgw__fingerprint__init(f);
    f->algorithm = strdup(dcgw_hash_name(fp->alg));
    dcgw_fingerprint_format_hex(fp, hex, sizeof(hex));
    f->value = strdup(hex);
    return f;
}

void dcgw__wev_endpoint(Dcgw__DcEndpoint **slot, const struct dcgw_fingerprint *fps, size_t n_fps,
                        uint16_t sctp_port, const char *tls_id, const char *ufrag,
                        const struct sockaddr *addr)
{
    Dcgw__DcEndpoint *e = calloc(1, sizeof(*e));
    if (!e)
        return;
    dcgw__dc_endpoint__init(e);
    e->has_sctp_port = 1;
    e->sctp_port = sctp_port;
    e->fingerprints = calloc(n_fps ? n_fps : 1, sizeof(*e->fingerprints));
    for (size_t i = 0; e->fingerprints && i < n_fps; i++)
        if ((e->fingerprints[e->n_fingerprints] = dcgw__wev_fingerprint(&fps[i])))
            e->n_fingerprints++;
    if (tls_id && *tls_id)
        e->tls_id = strdup(tls_id);
    e->ice_ufrag = strdup(ufrag);
    if (addr) {
        char a[DCGW_ADDR_STRLEN];
        e->address = strdup(dcgw_addr_format(addr, a, sizeof(a)));
    }
    if (*slot)
        protobuf_c_message_free_unpacked(&(*slot)->base, NULL);
    *slot = e;
}

Dcgw__SecuritySetup dcgw__wev_setup(enum dcgw_sdp_setup s)
{
    return s == DCGW_SDP_SETUP_ACTIVE    ? DCGW__SECURITY_SETUP__SETUP_ACTIVE
           : s == DCGW_SDP_SETUP_PASSIVE ? DCGW__SECURITY_SETUP__SETUP_PASSIVE
           : s == DCGW_SDP_SETUP_ACTPASS ? DCGW__SECURITY_SETUP__SETUP_ACTPASS
                                         : DCGW__SECURITY_SETUP__SETUP_UNSPECIFIED;
}

static Dcgw__ChannelKind kind_pb(enum dcgw_dc_kind k)
{
    return k == DCGW_DC_KIND_BOOTSTRAP     ? DCGW__CHANNEL_KIND__KIND_BOOTSTRAP
           : k == DCGW_DC_KIND_APPLICATION ? DCGW__CHANNEL_KIND__KIND_APPLICATION
                                           : DCGW__CHANNEL_KIND__KIND_UNSPECIFIED;
}

Dcgw__DcStream *dcgw__wev_channel(const struct dcgw_dc_channel *ch)
{
    Dcgw__DcStream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    dcgw__dc_stream__init(st);
    const struct dcgw_dc_params *p = &ch->params;
    st->has_stream_id = st->has_unordered = st->has_negotiated = st->has_open = 1;
    st->has_kind = st->has_priority = 1;
    st->stream_id = p->id;
    st->label = strdup(p->label);
    st->subprotocol = strdup(p->protocol);
    st->unordered = !p->ordered;
    st->negotiated = ch->negotiated;
    st->open = ch->state == DCGW_DC_OPEN;
    st->kind = kind_pb(ch->kind);
    st->priority = p->priority;
    st->has_max_retr = p->reliability == DCGW_DC_MAX_RETR;
    st->max_retr = p->reliability_param;
    st->has_max_time = p->reliability == DCGW_DC_MAX_TIME;
    st->max_time = p->reliability_param;
    st->has_rx_messages = st->has_rx_bytes = st->has_tx_messages = st->has_tx_bytes = 1;
    st->has_dropped_messages = 1;
    st->rx_messages = ch->stats.msgs_in;
    st->rx_bytes = ch->stats.bytes_in;
    st->tx_messages = ch->stats.msgs_out;
    st->tx_bytes = ch->stats.bytes_out;
    /* A send the far leg refused with EAGAIN is held by the bridge, not lost (eagain). */
    st->dropped_messages = ch->stats.dropped_in + ch->stats.too_big_in + ch->stats.too_big;
    return st;
}
