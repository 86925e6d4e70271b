/* Worker sessions: legs built from SDP, their events, and their release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/msg/session.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/srtp.h"
#include "events.h"
#include "worker_int.h"

/* ---- events */

static void leg_connected(void *ud, const struct dcgw_fingerprint *matched)
{
    struct wleg *l = ud;
    Dcgw__LegConnected lc = DCGW__LEG_CONNECTED__INIT;
    char peer[DCGW_ADDR_STRLEN] = "";
    lc.fingerprint = dcgw__wev_fingerprint(matched);
    const struct sockaddr *pa = dcgw_leg_peer(l->leg);
    if (pa)
        lc.peer_addr = (char *)dcgw_addr_format(pa, peer, sizeof(peer));
    struct dcgw_dtls_info info;
    if (dcgw_dtls_get_info(dcgw_leg_dtls(l->leg), &info) == 0)
        lc.cipher = (char *)info.cipher;
    lc.has_dtls_client = 1;
    lc.dtls_client = l->s->desc->legs[l->idx]->dc->setup == DCGW__SECURITY_SETUP__SETUP_ACTIVE;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_LEG_CONNECTED;
    ev.leg_connected = &lc;
    DCGW_INFO(SESSION, "session %s leg %s connected from %s (%s %s)", l->s->desc->id,
              l->s->desc->legs[l->idx]->name, peer,
              lc.fingerprint ? lc.fingerprint->algorithm : "?",
              lc.fingerprint ? lc.fingerprint->value : "?");
    dcgw__wev_emit_session(l->s, (int)l->idx, &ev);
    if (lc.fingerprint)
        protobuf_c_message_free_unpacked(&lc.fingerprint->base, NULL);
    dcgw__wmedia_connected(l->s, l->idx, 0, dcgw_leg_dtls(l->leg)); /* SRTP keys */
}

static void leg_media(void *ud, const uint8_t *p, size_t n)
{
    dcgw__wmedia_input(ud, p, n);
}

static void leg_consent_lost(void *ud, const struct sockaddr *peer)
{
    struct wleg *l = ud;
    char a[DCGW_ADDR_STRLEN] = "";
    Dcgw__ConsentLost cl = DCGW__CONSENT_LOST__INIT;
    if (peer)
        cl.peer_addr = (char *)dcgw_addr_format(peer, a, sizeof(a));
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_CONSENT_LOST;
    ev.consent_lost = &cl;
    dcgw__wev_emit_session(l->s, (int)l->idx, &ev);
}

/* The leg's data-channel endpoint while its stages live; NULL for a dead leg or one
 * without data channels. */
static struct dcgw_dc *wleg_dc(const struct wleg *l)
{
    return l && l->leg && !l->dead ? dcgw_leg_dc(l->leg) : NULL;
}

struct dcgw_dc *dcgw__wsession_leg_dc(const struct wsession *s, unsigned side)
{
    return wleg_dc(side < s->n_legs ? s->legs[side] : NULL);
}

static void leg_channels_final(struct wleg *l, const char *reason);

/* The leg's stages go (freed after this loop turn, datapath.c); what its data-channel
 * endpoint counted stays in the worker's totals. */
static void leg_kill(struct wleg *l)
{
    struct dcgw_dc *dc = wleg_dc(l);
    if (dc)
        l->s->w->stats.dcep_wrong_parity_closed += dcgw_dc_stats(dc)->opens_wrong_parity;
    dcgw__wtp_kill(l); /* its audio/video transports go with it */
    dcgw__wplane_leg_kill(l);
}

uint64_t dcgw__wsession_wrong_parity(struct worker *w)
{
    uint64_t n = w->stats.dcep_wrong_parity_closed;
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, w->sessions);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        struct wsession *s = val;
        for (unsigned i = 0; i < s->n_legs; i++) {
            struct wleg *l = s->legs[i];
            struct dcgw_dc *dc = wleg_dc(l);
            n += dc ? dcgw_dc_stats(dc)->opens_wrong_parity : 0;
        }
    }
    return n;
}

static void leg_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    dcgw__wleg_failed(ud, cause, err, reason);
}

void dcgw__wleg_failed(struct wleg *l, enum dcgw_leg_cause cause, int err, const char *reason)
{
    Dcgw__Event ev = DCGW__EVENT__INIT;
    Dcgw__DtlsFailed df = DCGW__DTLS_FAILED__INIT;
    Dcgw__LegClosed lc = DCGW__LEG_CLOSED__INIT;
    /* dtls_failed for what DTLS refused; ICE ends, timeouts and the peer's close: leg_closed */
    bool dtls = cause == DCGW_LEG_CAUSE_DTLS;
    if (dtls) {
        df.has_code = 1;
        df.code = err;
        df.reason = (char *)reason;
        ev.kind_case = DCGW__EVENT__KIND_DTLS_FAILED;
        ev.dtls_failed = &df;
    } else {
        lc.reason = (char *)reason;
        ev.kind_case = DCGW__EVENT__KIND_LEG_CLOSED;
        ev.leg_closed = &lc;
    }
    DCGW_INFO(SESSION, "session %s leg %s: %s (%s)", l->s->desc->id, l->s->desc->legs[l->idx]->name,
              reason, dcgw_err_name(err));
    struct wsession *s = l->s;
    Dcgw__Leg *pl = s->desc->legs[l->idx];
    pl->has_state = 1;
    pl->state = dtls ? DCGW__LEG_STATE__LEG_FAILED : DCGW__LEG_STATE__LEG_CLOSED;
    /* first, so that the event carries the session's new state */
    bool close_now = dcgw__wsession_leg_down(s, l->idx, reason);
    dcgw__wev_emit_session(s, (int)l->idx, &ev);
    leg_channels_final(l, reason);
    leg_kill(l);
    if (close_now)
        dcgw__wsession_close(s, s->desc->reason); /* released, not freed: safe in a callback */
}

/* ---- channels */

/* A channel's description and counters, its leg and its policy rule and counters. */
static Dcgw__DcStream *channel_pb(const struct wsession *s, unsigned side,
                                  const struct dcgw_dc_channel *ch)
{
    Dcgw__DcStream *st = dcgw__wev_channel(ch);
    if (!st)
        return NULL;
    st->leg = strdup(s->desc->legs[side]->name);
    dcgw__wpolicy_stream(s, side, ch, st);
    dcgw__wboot_stream(s, side, ch, st);
    return st;
}

/* channel_opened, or channel_closed (open false) with the reason when there is one. */
static void emit_channel(struct wsession *s, unsigned side, Dcgw__DcStream *st, bool open,
                         const char *reason)
{
    Dcgw__Event ev = DCGW__EVENT__INIT;
    Dcgw__ChannelOpened co = DCGW__CHANNEL_OPENED__INIT;
    Dcgw__ChannelClosed cc = DCGW__CHANNEL_CLOSED__INIT;
    if (open) {
        co.channel = st;
        ev.kind_case = DCGW__EVENT__KIND_CHANNEL_OPENED;
        ev.channel_opened = &co;
    } else {
        cc.channel = st;
        cc.reason = (char *)reason;
        ev.kind_case = DCGW__EVENT__KIND_CHANNEL_CLOSED;
        ev.channel_closed = &cc;
    }
    dcgw__wev_emit_session(s, (int)side, &ev);
}

bool dcgw__wsession_channel_opened(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch)
{
    if (!dcgw__wpolicy_channel_open(s, side, ch))
        return false; /* refused: being closed */
    Dcgw__DcStream *st = channel_pb(s, side, ch);
    if (!st)
        return true;
    DCGW_DEBUG(DC, "session %s leg %s: channel %u \"%s\" open", s->desc->id,
               s->desc->legs[side]->name, ch->params.id, ch->params.label);
    emit_channel(s, side, st, true, NULL);
    protobuf_c_message_free_unpacked(&st->base, NULL);
    return true;
}

static void br_channel_open(void *ud, unsigned side, struct dcgw_dc_channel *ch)
{
    dcgw__wsession_channel_opened(ud, side, ch);
}

static void keep_closed(struct wsession *s, Dcgw__DcStream *st);

static void br_channel_closed(void *ud, unsigned side, struct dcgw_dc_channel *ch)
{
    dcgw__wsession_channel_closed(ud, side, ch);
}

void dcgw__wsession_channel_closed(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch)
{
    if (s->legs[side]->dead)
        return; /* its leg is gone: leg_channels_final reported its channels already */
    Dcgw__DcStream *st = channel_pb(s, side, ch);
    dcgw__wpolicy_channel_closed(s, side, ch);
    if (!st)
        return;
    st->open = 0;
    emit_channel(s, side, st, false, NULL);
    keep_closed(s, st);
}

void dcgw__wsession_close_pair(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch)
{
    struct dcgw_dc *dc = dcgw__wsession_leg_dc(s, side);
    if (!dc)
        return;
    if (s->bridge) /* its twin too, at once (docs/bridge.md "Closing") */
        dcgw_bridge_close_channel(s->bridge, side, ch);
    else
        dcgw_dc_close_channel(dc, ch);
}

/* Keeps a closed channel's final counters for get and session_closed (bounded). */
static void keep_closed(struct wsession *s, Dcgw__DcStream *st)
{
    if (s->n_closed < WSESSION_CLOSED_KEEP)
        s->closed[s->n_closed++] = st;
    else
        protobuf_c_message_free_unpacked(&st->base, NULL);
}

/* A leg going away: each channel it opened is closed now, reported once by
 * channel_closed with its final counters and kept with those closed earlier. The leg's
 * endpoint is freed without callbacks after this, so nothing reports them again. */
static void leg_channels_final(struct wleg *l, const char *reason)
{
    struct wsession *s = l->s;
    struct dcgw_dc *ep = wleg_dc(l);
    struct dcgw_dc_channel *ch = ep ? dcgw_dc_channel_next(ep, 0) : NULL;
    for (; ch; ch = dcgw_dc_channel_next(ep, (uint32_t)ch->params.id + 1)) {
        if (ch->state == DCGW_DC_CONNECTING)
            continue; /* never opened: nothing was reported, nothing to account */
        Dcgw__DcStream *st = channel_pb(s, l->idx, ch);
        dcgw__wpolicy_channel_closed(s, l->idx, ch);
        if (!st)
            continue;
        st->open = 0;
        emit_channel(s, l->idx, st, false, reason);
        keep_closed(s, st);
    }
}

/* ---- building legs from SDP */

static void fill_streams(Dcgw__DcMedia *dc, const struct dcgw_sdp_dc *sdc)
{
    dc->streams = calloc(sdc->n_dcmap ? sdc->n_dcmap : 1, sizeof(*dc->streams));
    for (size_t i = 0; dc->streams && i < sdc->n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *m = &sdc->dcmap[i];
        Dcgw__DcStream *st = calloc(1, sizeof(*st));
        if (!st)
            break;
        dcgw__dc_stream__init(st);
        st->has_stream_id = st->has_negotiated = st->has_unordered = 1;
        st->stream_id = m->stream_id;
        st->negotiated = 1;
        st->unordered = !m->ordered;
        st->label = strdup(m->label);
        st->subprotocol = strdup(m->subprotocol);
        st->has_max_retr = m->has_max_retr;
        st->max_retr = m->max_retr;
        st->has_max_time = m->has_max_time;
        st->max_time = m->max_time;
        st->has_priority = m->has_priority;
        st->priority = m->priority;
        dc->streams[dc->n_streams++] = st;
    }
}

static void local_side(struct worker *w, struct wleg *l, struct dcgw_sdp_local *loc)
{
    dcgw_sdp_local_init(loc);
    loc->sess_id = (uint64_t)g_random_int() << 31 | g_random_int();
    snprintf(loc->ice_ufrag, sizeof(loc->ice_ufrag), "%s", l->ufrag);
    snprintf(loc->ice_pwd, sizeof(loc->ice_pwd), "%s", l->pwd);
    loc->n_addrs = 1;
    memcpy(&loc->addrs[0], &w->advertise, sizeof(w->advertise));
    loc->n_fingerprints = 1;
    loc->fingerprints[0] = w->local_fp;
    dcgw_sdp_tls_id(loc->tls_id, sizeof(loc->tls_id));
    loc->max_message_size = w->cfg.sctp.max_message_size;
    /* DESIGN §10: a local SCTP port per association keeps usrsctp's bind cheap; the
     * associations of a worker share one AF_CONN address, so the port must be free. */
    for (unsigned tries = 0; tries < 60001; tries++) {
        loc->sctp_port = w->next_sctp_port;
        w->next_sctp_port = w->next_sctp_port >= 65000 ? 5000 : w->next_sctp_port + 1;
        if (!dcgw_sctp_port_in_use(loc->sctp_port))
            break;
    }
}

/* The leg's data-channel settings from the configuration and the peer's SDP. */
static void dc_settings(const struct wleg *l, const struct dcgw_sdp_dc *rdc,
                        uint16_t local_sctp_port, struct dcgw_dc_settings *out)
{
    const struct worker *w = l->s->w;
    struct dcgw_dc_settings dcs;
    dcgw_dc_settings_default(&dcs);
    dcs.sctp.local_port = local_sctp_port;
    dcs.sctp.remote_port = rdc->sctp_port;
    /* 256 streams by default (DESIGN §10), more when the SDP negotiates higher ids
     * (3GPP application channels start at 1000). */
    uint32_t streams = w->cfg.sctp.streams;
    for (size_t i = 0; i < rdc->n_dcmap; i++)
        if (rdc->dcmap[i].stream_id >= streams)
            streams = (uint32_t)rdc->dcmap[i].stream_id + 1;
    dcs.sctp.streams = (uint16_t)(streams > DCGW_DC_STREAM_MAX ? DCGW_DC_STREAM_MAX : streams);
    /* RFC 8841 §6: what the peer can take bounds what we send; ours bounds what we take. */
    dcs.sctp.max_message_size = w->cfg.sctp.max_message_size;
    dcs.sctp.max_send_size = w->cfg.sctp.max_message_size;
    dcs.sctp.no_heartbeat = w->cfg.sctp.heartbeat_interval_ms == 0;
    /* The bridge forwards until sctp.buffered_limit is queued toward this leg, plus the
     * message that crosses it, then holds and stops reading the other leg (docs/bridge.md):
     * the association's send buffer (a cap, not an allocation) holds that much. */
    uint64_t sndbuf = (uint64_t)w->cfg.sctp.buffered_limit + w->cfg.sctp.max_message_size;
    if (sndbuf > dcs.sctp.sndbuf)
        dcs.sctp.sndbuf = sndbuf > INT32_MAX ? INT32_MAX : (uint32_t)sndbuf;
    if (rdc->max_message_size && rdc->max_message_size < dcs.sctp.max_send_size)
        dcs.sctp.max_send_size = rdc->max_message_size;
    dcs.allow_dcep = w->cfg.sctp.allow_dcep;
    dcs.tolerate_parity = w->cfg.sctp.dcep_tolerate_parity;
    /* A leg whose bootstrap channels the HTTP proxy serves carries request/response
     * traffic: with Nagle on, each small response would wait for the UE's delayed SACK
     * (docs/bootstrap.md). */
    dcs.sctp.nodelay = l->s->desc->legs[l->idx]->dc->media_proxy_config ==
                       DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    *out = dcs;
}

/* Creates the leg's stages once both sides' SDP are known: t is the transport the peer uses
 * (its bundle's, dcgw_sdp_bundle_transport). */
static int start_leg(struct wleg *l, const struct dcgw_sdp *remote,
                     const struct dcgw_sdp_transport *t, enum dcgw_sdp_setup ours,
                     uint16_t local_sctp_port, char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    const struct dcgw_sdp_dc *rdc = &remote->dc;
    struct dcgw_dc_settings dcs;
    dc_settings(l, rdc, local_sctp_port, &dcs);
    struct dcgw_dc_callbacks dcb;
    dcgw_bridge_dc_callbacks(l->s->bridge, l->idx, &dcb);
    dcgw__wboot_wrap(l, &dcb); /* bound bootstrap streams are served, not bridged */
    struct dcgw_leg_settings ls;
    dcgw__wleg_settings(l, t, ours, &ls);
    ls.dc = &dcs;
    ls.dc_cbs = &dcb;
    /* RFC 5764: a leg with audio or video agrees SRTP keys in its handshake */
    ls.srtp_profiles = dcgw__wmedia_wants_srtp(l->s, l->idx, 0) ? DCGW_SRTP_PROFILES_OFFER : NULL;
    struct dcgw_leg_cbs cbs = {.ud = l,
                               .send = dcgw__wplane_leg_send,
                               .on_connected = leg_connected,
                               .on_failed = leg_failed,
                               .on_consent_lost = leg_consent_lost,
                               .on_media = leg_media};
    int r = dcgw_leg_new(w->dtls_ctx, &ls, &cbs, &l->leg);
    if (r == 0)
        w->stats.dtls_objects_created++; /* relay sessions never get here (no key held) */
    if (r < 0) {
        snprintf(err, errcap, "leg %s: %s", l->s->desc->legs[l->idx]->name, dcgw_strerror(r));
        return r;
    }
    struct dcgw_dc *dc = dcgw_leg_dc(l->leg);
    dcgw_bridge_attach(l->s->bridge, l->idx, dc);
    dcgw__wboot_attach(l, dc);
    /* SDP-negotiated channels (RFC 8864): both legs carry them; the bridge pairs equal ids. */
    for (size_t i = 0; i < rdc->n_dcmap; i++) {
        struct dcgw_dc_params p;
        dcgw_dc_params_from_dcmap(&rdc->dcmap[i], &p);
        struct dcgw_dc_channel *ch;
        int rr = dcgw_dc_add_negotiated(dc, &p, &ch);
        if (rr < 0)
            DCGW_WARN(DC, "session %s: dcmap %u not added: %s", l->s->desc->id, p.id,
                      dcgw_strerror(rr));
    }
    Dcgw__Leg *pl = l->s->desc->legs[l->idx];
    pl->has_state = 1;
    pl->state = DCGW__LEG_STATE__LEG_ICE;
    dcgw_leg_start(l->leg, uv_now(w->loop));
    dcgw__wplane_rearm(l);
    return 0;
}

/* What dcgw answers an actpass offer with on a transport of the leg (docs/media.md): the
 * leg's answer_setup, else media.answer_setup on a transport with audio/video (passive:
 * dcgw, the DTLS server, picks the SRTP profile by its own order), else active (RFC 5763
 * §5). */
static enum dcgw_sdp_setup answer_setup(const Dcgw__Leg *pl, const struct worker *w, bool media)
{
    if (pl->dc->has_answer_setup && pl->dc->answer_setup == DCGW__SECURITY_SETUP__SETUP_PASSIVE)
        return DCGW_SDP_SETUP_PASSIVE;
    if (pl->dc->has_answer_setup && pl->dc->answer_setup == DCGW__SECURITY_SETUP__SETUP_ACTIVE)
        return DCGW_SDP_SETUP_ACTIVE;
    if (media && strcmp(w->cfg.media.answer_setup, "passive") == 0)
        return DCGW_SDP_SETUP_PASSIVE;
    return DCGW_SDP_SETUP_ACTIVE;
}

/* offer: the leg's offer, parsed by dcgw__wmedia_plan (the policy's dcmap filter may edit
 * it). */
static int answer_leg(struct wleg *l, Dcgw__Leg *pl, struct dcgw_sdp *offer, struct wplan *plan,
                      char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    struct dcgw_sdp_local loc;
    const struct dcgw_sdp_transport *t = NULL;
    int r = offer && buf ? 0 : DCGW_ENOMEM;
    if (r == 0) {
        dcgw__wpolicy_filter_sdp(l, offer->dc.dcmap, &offer->dc.n_dcmap, offer->dc.dcsa,
                                 &offer->dc.n_dcsa);
        local_side(w, l, &loc);
        struct dcgw_sdp_av *av = dcgw__wmedia_plan_local(l->s, plan, l->idx, &loc);
        t = dcgw_sdp_bundle_transport(offer, loc.av, loc.n_av);
        loc.setup = dcgw_sdp_answer_setup(
            t->setup, answer_setup(pl, w, dcgw__wmedia_wants_srtp(l->s, l->idx, 0)));
        loc.dcmap = offer->dc.dcmap;
        loc.n_dcmap = offer->dc.n_dcmap;
        loc.dcsa = offer->dc.dcsa;
        loc.n_dcsa = offer->dc.n_dcsa;
        /* m-lines outside the data channel's bundle: a transport each (transports.c) */
        r = dcgw__wtp_answer(l, offer, av, loc.n_av, answer_setup(pl, w, true), err, errcap);
        int n = r < 0 ? r : dcgw_sdp_write_answer(offer, &loc, buf, DCGW_SDP_TEXT_MAX);
        if (r == 0 && n < 0) {
            r = n;
            snprintf(err, errcap, "leg %s: writing the answer: %s", pl->name, dcgw_strerror(n));
        }
    }
    if (r == 0)
        r = start_leg(l, offer, t, loc.setup, loc.sctp_port, err, errcap);
    if (r == 0)
        r = dcgw__wtp_start(l, offer, loc.av, loc.n_av, err, errcap);
    if (r == 0) {
        Dcgw__DcMedia *dc = pl->dc;
        free(dc->local_sdp);
        dc->local_sdp = strdup(buf);
        dc->has_setup = dc->has_max_message_size = 1;
        dc->setup = dcgw__wev_setup(loc.setup);
        dc->max_message_size = offer->dc.max_message_size;
        dcgw__wev_endpoint(&dc->local, loc.fingerprints, 1, loc.sctp_port, loc.tls_id, l->ufrag,
                           (struct sockaddr *)&w->advertise);
        dcgw__wev_endpoint(&dc->remote, t->fingerprints, t->n_fingerprints, offer->dc.sctp_port,
                           t->tls_id, t->ice_ufrag, NULL);
        fill_streams(dc, &offer->dc);
    }
    free(buf);
    return r;
}

static int offer_leg(struct wleg *l, Dcgw__Leg *pl, struct wplan *plan, char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    struct dcgw_sdp_local loc;
    local_side(w, l, &loc);
    loc.setup = DCGW_SDP_SETUP_ACTPASS;
    /* audio and video the other leg offered (dcgw__wmedia_plan), with its mids: the data
     * channel takes the other leg's mid too, which none of those uses */
    dcgw__wmedia_plan_local(l->s, plan, l->idx, &loc);
    const struct dcgw_sdp *other = dcgw__wmedia_plan_offer(plan, 1 - l->idx);
    if (loc.n_av && other)
        snprintf(loc.mid, sizeof(loc.mid), "%s", other->dc.mid[0] ? other->dc.mid : "dc");
    /* Offer the far end the channels the other leg negotiated, so the bridge can pair
     * them by stream id (or those the controller listed for this leg). */
    struct dcgw_sdp_dcmap *maps = calloc(DCGW_SDP_DCMAP_MAX, sizeof(*maps));
    const Dcgw__DcMedia *src = pl->dc->n_streams ? pl->dc : NULL;
    for (unsigned i = 0; !src && i < l->s->n_legs; i++)
        if (i != l->idx && l->s->desc->legs[i]->dc->n_streams)
            src = l->s->desc->legs[i]->dc;
    for (size_t i = 0; maps && src && i < src->n_streams && loc.n_dcmap < DCGW_SDP_DCMAP_MAX; i++) {
        const Dcgw__DcStream *st = src->streams[i];
        if (st->has_negotiated && !st->negotiated)
            continue;
        struct dcgw_sdp_dcmap *m = &maps[loc.n_dcmap++];
        m->stream_id = (uint16_t)st->stream_id;
        m->ordered = !st->unordered;
        m->has_ordered = st->unordered;
        m->has_max_retr = st->has_max_retr;
        m->max_retr = st->max_retr;
        m->has_max_time = !st->has_max_retr && st->has_max_time;
        m->max_time = st->max_time;
        m->has_priority = st->has_priority;
        m->priority = (uint16_t)st->priority;
        snprintf(m->label, sizeof(m->label), "%s", st->label ? st->label : "");
        snprintf(m->subprotocol, sizeof(m->subprotocol), "%s",
                 st->subprotocol ? st->subprotocol : "");
    }
    if (maps)
        dcgw__wpolicy_filter_sdp(l, maps, &loc.n_dcmap, NULL, NULL);
    loc.dcmap = maps;
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    int n = buf ? dcgw_sdp_write_offer(&loc, buf, DCGW_SDP_TEXT_MAX) : DCGW_ENOMEM;
    free(maps);
    if (n < 0) {
        snprintf(err, errcap, "leg %s: writing the offer: %s", pl->name, dcgw_strerror(n));
        free(buf);
        return n;
    }
    Dcgw__DcMedia *dc = pl->dc;
    free(dc->local_sdp);
    dc->local_sdp = buf;
    dc->has_setup = 1;
    dc->setup = DCGW__SECURITY_SETUP__SETUP_ACTPASS;
    dcgw__wev_endpoint(&dc->local, loc.fingerprints, 1, loc.sctp_port, loc.tls_id, l->ufrag,
                       (struct sockaddr *)&w->advertise);
    return 0;
}

/* ---- lifecycle */

static void session_free(struct wsession *s)
{
    dcgw__wmedia_free(s); /* its last refresh reads the legs' transports */
    for (unsigned i = 0; i < s->n_legs; i++) {
        dcgw__wtp_free(s->legs[i]);
        free(s->legs[i]);
    }
    dcgw_bridge_free(s->bridge);
    dcgw_policy_state_free(s->policy);
    dcgw__wavatar_free(s);
    dcgw__wboot_free(s);
    dcgw__wrelay_free(s);
    for (unsigned i = 0; i < s->n_closed; i++)
        protobuf_c_message_free_unpacked(&s->closed[i]->base, NULL);
    protobuf_c_message_free_unpacked(&s->desc->base, NULL);
    free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct wleg *l = h->data;
    struct wsession *s = l->s;
    if (--s->handles_open == 0 && s->closing)
        session_free(s);
}

static int new_wleg(struct wsession *s, unsigned idx)
{
    struct wleg *l = dcgw__wleg_new(s, idx);
    if (!l)
        return DCGW_ENOMEM;
    s->legs[idx] = l;
    s->n_legs = idx + 1;
    return 0;
}

static void release(struct wsession *s)
{
    s->closing = true;
    for (unsigned i = 0; i < s->n_legs; i++) {
        struct wleg *l = s->legs[i];
        leg_kill(l); /* close_notify, then freed after this loop turn */
        dcgw__wplane_leg_forget(s->w, l);
        dcgw__wtp_close(l, on_timer_closed);
        uv_close((uv_handle_t *)&l->timer, on_timer_closed);
    }
    if (s->handles_open == 0)
        session_free(s);
}

int dcgw__wsession_create(struct worker *w, const Dcgw__Session *in, struct wsession **out,
                          char *err, size_t errcap)
{
    struct wsession *s = calloc(1, sizeof(*s));
    Dcgw__Session *d = s ? (Dcgw__Session *)dcgw_ctlmsg_clone(&in->base) : NULL;
    if (!d) {
        free(s);
        return DCGW_ENOMEM;
    }
    s->w = w;
    s->desc = d;
    struct dcgw_bridge_settings bs;
    dcgw_bridge_settings_default(&bs);
    bs.buffered_limit = w->cfg.sctp.buffered_limit;
    bs.pending_limit = w->cfg.sctp.max_message_size; /* then the source leg is paused */
    struct dcgw_bridge_cbs bc = {.ud = s,
                                 .on_channel_open = br_channel_open,
                                 .on_channel_closed = br_channel_closed,
                                 .on_open_request = dcgw__wpolicy_open_request,
                                 .on_message = dcgw__wpolicy_message};
    if (dcgw_bridge_new(&bs, &bc, &s->bridge) < 0) {
        protobuf_c_message_free_unpacked(&d->base, NULL);
        free(s);
        return DCGW_ENOMEM;
    }
    d->has_state = 1;
    d->state = DCGW__SESSION_STATE__SESSION_PENDING;
    int r = dcgw__wpolicy_create(s, err, errcap); /* default deny: before any leg */
    if (r == 0)
        r = dcgw__wavatar_create(s, err, errcap);
    if (r == 0)
        r = dcgw__wboot_create(s);
    bool relay = false; /* any leg in relay mode makes a relay session (relay_legs.c) */
    for (unsigned i = 0; i < d->n_legs; i++)
        relay |= d->legs[i]->dc->mode == DCGW__MEDIA_MODE__MODE_RELAY;
    for (unsigned i = 0; i < d->n_legs && r == 0; i++) {
        d->legs[i]->has_state = 1;
        d->legs[i]->state = DCGW__LEG_STATE__LEG_NEW;
        r = new_wleg(s, i);
    }
    struct wplan *plan = NULL; /* both legs' SDP first: what each carries depends on both */
    if (r == 0 && !relay)
        r = dcgw__wmedia_plan(s, &plan, err, errcap);
    for (unsigned i = 0; i < d->n_legs && r == 0 && !relay; i++) {
        Dcgw__Leg *pl = d->legs[i];
        r = pl->role == DCGW__LEG_ROLE__ROLE_OFFER
                ? offer_leg(s->legs[i], pl, plan, err, errcap)
                : answer_leg(s->legs[i], pl, dcgw__wmedia_plan_offer(plan, i), plan, err, errcap);
    }
    dcgw__wmedia_plan_free(plan);
    if (r == 0 && relay)
        r = dcgw__wrelay_create(s, err, errcap);
    if (r < 0) {
        release(s);
        return r;
    }
    *out = s;
    return 0;
}

int dcgw__wsession_update(struct wsession *s, const char *leg, const char *remote_sdp, char *err,
                          size_t errcap)
{
    struct wleg *l = NULL;
    for (unsigned i = 0; i < s->n_legs; i++)
        if (leg && strcmp(s->desc->legs[i]->name, leg) == 0)
            l = s->legs[i];
    if (!l) {
        snprintf(err, errcap, "no leg named '%s'", leg ? leg : "");
        return DCGW_ENOENT;
    }
    if (s->relay)
        return dcgw__wrelay_update(s, l, remote_sdp, err, errcap);
    Dcgw__Leg *pl = s->desc->legs[l->idx];
    if (pl->role != DCGW__LEG_ROLE__ROLE_OFFER || l->leg || l->dead) {
        snprintf(err, errcap, "leg %s does not wait for an answer", pl->name);
        return DCGW_ESTATE;
    }
    struct dcgw_sdp *ans = dcgw__wsdp_take(s->w);
    char why[256];
    int r =
        ans ? dcgw_sdp_parse(remote_sdp, strlen(remote_sdp), ans, why, sizeof(why)) : DCGW_ENOMEM;
    if (r < 0)
        snprintf(err, errcap, "leg %s: answer: %s", pl->name, ans ? why : "out of memory");
    enum dcgw_sdp_setup ours = DCGW_SDP_SETUP_NONE;
    const struct dcgw_sdp_transport *t = NULL;
    if (r == 0)
        r = dcgw__wmedia_answered(s, l->idx, ans, err, errcap); /* audio/video paired */
    if (r == 0) {
        t = dcgw_sdp_bundle_transport(ans, NULL, 0); /* the answerer-tagged m-line's */
        /* RFC 5763 §5: the answerer picked; we take the other role. */
        ours = t->setup == DCGW_SDP_SETUP_PASSIVE ? DCGW_SDP_SETUP_ACTIVE : DCGW_SDP_SETUP_PASSIVE;
        dcgw__wpolicy_filter_sdp(l, ans->dc.dcmap, &ans->dc.n_dcmap, ans->dc.dcsa, &ans->dc.n_dcsa);
        r = start_leg(l, ans, t, ours, (uint16_t)pl->dc->local->sctp_port, err, errcap);
    }
    if (r == 0) {
        Dcgw__DcMedia *dc = pl->dc;
        free(dc->remote_sdp);
        dc->remote_sdp = strdup(remote_sdp);
        dc->setup = dcgw__wev_setup(ours);
        dc->has_max_message_size = 1;
        dc->max_message_size = ans->dc.max_message_size;
        dcgw__wev_endpoint(&dc->remote, t->fingerprints, t->n_fingerprints, ans->dc.sctp_port,
                           t->tls_id, t->ice_ufrag, NULL);
    }
    dcgw__wsdp_give(s->w, ans);
    return r;
}

/* Replaces a leg's streams with its channels: the live ones (negotiated and DCEP), then
 * those closed earlier, each with its counters. A leg not started yet keeps the streams
 * of its SDP. */
static void refresh_streams(struct wleg *l, Dcgw__DcMedia *dc)
{
    struct wsession *s = l->s;
    struct dcgw_dc *ep = wleg_dc(l);
    if (!ep && !l->dead)
        return;
    const char *name = s->desc->legs[l->idx]->name;
    for (size_t i = 0; i < dc->n_streams; i++)
        protobuf_c_message_free_unpacked(&dc->streams[i]->base, NULL);
    free(dc->streams);
    dc->n_streams = 0;
    size_t n = ep ? dcgw_dc_channel_count(ep) : 0, live = n;
    for (unsigned i = 0; i < s->n_closed; i++)
        n += strcmp(s->closed[i]->leg, name) == 0;
    dc->streams = calloc(n ? n : 1, sizeof(*dc->streams));
    struct dcgw_dc_channel *ch = ep && dc->streams ? dcgw_dc_channel_next(ep, 0) : NULL;
    for (; ch && dc->n_streams < live; ch = dcgw_dc_channel_next(ep, (uint32_t)ch->params.id + 1)) {
        Dcgw__DcStream *st = channel_pb(s, l->idx, ch);
        if (st)
            dc->streams[dc->n_streams++] = st;
    }
    for (unsigned i = 0; dc->streams && i < s->n_closed && dc->n_streams < n; i++) {
        if (strcmp(s->closed[i]->leg, name) != 0)
            continue;
        Dcgw__DcStream *st = (Dcgw__DcStream *)dcgw_ctlmsg_clone(&s->closed[i]->base);
        if (st)
            dc->streams[dc->n_streams++] = st;
    }
}

void dcgw__wsession_refresh(struct wsession *s)
{
    dcgw__wpolicy_refresh(s);
    dcgw__wmedia_refresh(s);
    if (s->relay)
        dcgw__wrelay_refresh(s); /* relay legs have no dcgw_leg: their state comes from there */
    dcgw__wev_session_state(s);  /* the legs' states, also once the session's is final */
    for (unsigned i = 0; i < s->n_legs; i++) {
        struct wleg *l = s->legs[i];
        Dcgw__Leg *pl = s->desc->legs[i];
        const struct sockaddr *pa = !s->relay && l->leg && !l->dead ? dcgw_leg_peer(l->leg) : NULL;
        if (pa) {
            char a[DCGW_ADDR_STRLEN];
            free(pl->peer_addr);
            pl->peer_addr = strdup(dcgw_addr_format(pa, a, sizeof(a)));
        }
        refresh_streams(l, pl->dc);
    }
}

void dcgw__wsession_close(struct wsession *s, const char *reason)
{
    struct worker *w = s->w;
    Dcgw__SessionClosed sc = DCGW__SESSION_CLOSED__INIT;
    sc.reason = (char *)reason;
    /* Final counters, each channel once: every leg's streams (refresh_streams), its live
     * channels and those closed earlier, also the channels of legs that went away. */
    dcgw__wsession_refresh(s);
    if (reason != s->desc->reason) {
        free(s->desc->reason);
        s->desc->reason = strdup(reason);
    }
    s->desc->has_state = 1;
    s->desc->state = DCGW__SESSION_STATE__SESSION_CLOSED;
    if (s->relay)
        dcgw__wrelay_close(s, reason); /* relay_closed with the flow's counters, once */
    size_t total = 0;
    for (unsigned i = 0; i < s->n_legs; i++)
        total += s->desc->legs[i]->dc->n_streams;
    Dcgw__DcStream **all = calloc(total ? total : 1, sizeof(*all));
    for (unsigned i = 0; all && i < s->n_legs; i++) {
        if (!s->relay && !s->legs[i]->leg && !s->legs[i]->dead)
            continue; /* an offer still waiting for its answer: its SDP, no channel yet */
        for (size_t k = 0; k < s->desc->legs[i]->dc->n_streams; k++) {
            all[sc.n_channels] = s->desc->legs[i]->dc->streams[k];
            all[sc.n_channels++]->open = 0; /* closed with the session */
        }
    }
    sc.channels = all;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.session_id = s->desc->id;
    ev.has_session_state = 1;
    ev.session_state = DCGW__SESSION_STATE__SESSION_CLOSED;
    ev.kind_case = DCGW__EVENT__KIND_SESSION_CLOSED;
    ev.session_closed = &sc;
    dcgw__wev_emit(w, &ev);
    free(all);
    DCGW_INFO(SESSION, "session %s closed (%s)", s->desc->id, reason);
    w->stats.sessions_closed++;
    dcgw__wmetrics_fold(s);
    g_hash_table_steal(w->sessions, s->desc->id);
    release(s);
}

int dcgw__wsession_close_channel(struct wsession *s, const char *leg, uint32_t stream, char *err,
                                 size_t errcap)
{
    for (unsigned i = 0; i < s->n_legs; i++) {
        if (!leg || strcmp(s->desc->legs[i]->name, leg) != 0)
            continue;
        struct wleg *l = s->legs[i];
        struct dcgw_dc *dc = wleg_dc(l);
        struct dcgw_dc_channel *ch =
            dc && stream <= DCGW_DC_STREAM_MAX ? dcgw_dc_channel_by_id(dc, (uint16_t)stream) : NULL;
        if (!ch) {
            snprintf(err, errcap, "leg %s has no channel %u", leg, stream);
            return DCGW_ENOENT;
        }
        dcgw__wsession_close_pair(s, i, ch);
        return 0;
    }
    snprintf(err, errcap, "no leg named '%s'", leg ? leg : "");
    return DCGW_ENOENT;
}
