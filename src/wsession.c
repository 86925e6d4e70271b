/* Worker sessions: legs built from SDP, their events, and their release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/addr.h"
#include "dcgw/ctlmsg.h"
#include "dcgw/error.h"
#include "dcgw/log.h"
#include "dcgw/sdp.h"
#include "dcgw/session.h"
#include "worker_int.h"

/* ---- events */

static void emit_leg_event(struct wleg *l, Dcgw__Event *ev)
{
    ev->session_id = l->s->desc->id;
    ev->leg = l->s->desc->legs[l->idx]->name;
    dcgw__worker_emit(l->s->w, ev);
}

static void fp_to_pb(const struct dcgw_fingerprint *fp, Dcgw__Fingerprint *pb, char *hex,
                     size_t cap)
{
    dcgw__fingerprint__init(pb);
    pb->algorithm = (char *)dcgw_hash_name(fp->alg);
    dcgw_fingerprint_format_hex(fp, hex, cap);
    pb->value = hex;
}

static void leg_connected(void *ud, const struct dcgw_fingerprint *matched)
{
    struct wleg *l = ud;
    Dcgw__LegConnected lc = DCGW__LEG_CONNECTED__INIT;
    Dcgw__Fingerprint fp;
    char hex[DCGW_FINGERPRINT_TEXT_MAX + 1], peer[DCGW_ADDR_STRLEN] = "";
    fp_to_pb(matched, &fp, hex, sizeof(hex));
    lc.fingerprint = &fp;
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
              l->s->desc->legs[l->idx]->name, peer, fp.algorithm, hex);
    emit_leg_event(l, &ev);
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
    emit_leg_event(l, &ev);
}

static void leg_failed(void *ud, int err, const char *reason)
{
    struct wleg *l = ud;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    Dcgw__DtlsFailed df = DCGW__DTLS_FAILED__INIT;
    Dcgw__LegClosed lc = DCGW__LEG_CLOSED__INIT;
    bool dtls = dcgw_leg_state(l->leg) == DCGW_LEG_FAILED && strstr(reason, "consent") == NULL &&
                strstr(reason, "ICE") == NULL;
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
    emit_leg_event(l, &ev);
    Dcgw__Leg *pl = l->s->desc->legs[l->idx];
    pl->has_state = 1;
    pl->state = dtls ? DCGW__LEG_STATE__LEG_FAILED : DCGW__LEG_STATE__LEG_CLOSED;
    dcgw__wplane_leg_kill(l);
}

static void leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct wleg *l = ud;
    dcgw_io_send(l->s->w->io, to, p, n);
}

void dcgw__wleg_input(struct wleg *l, const struct sockaddr *from, const uint8_t *p, size_t n,
                      uint64_t now)
{
    int r = dcgw_leg_input(l->leg, from, p, n, now);
    if (r == 0 && !l->dead && dcgw_leg_knows(l->leg, from))
        dcgw__wplane_route_add(l->s->w, l, from);
    dcgw__wplane_rearm(l);
}

/* ---- building legs from SDP */

static void fill_endpoint(Dcgw__DcEndpoint **slot, const struct dcgw_fingerprint *fps, size_t n_fps,
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
    for (size_t i = 0; e->fingerprints && i < n_fps; i++) {
        Dcgw__Fingerprint *f = calloc(1, sizeof(*f));
        char hex[DCGW_FINGERPRINT_TEXT_MAX + 1];
        if (!f)
            break;
        dcgw__fingerprint__init(f);
        f->algorithm = strdup(dcgw_hash_name(fps[i].alg));
        dcgw_fingerprint_format_hex(&fps[i], hex, sizeof(hex));
        f->value = strdup(hex);
        e->fingerprints[e->n_fingerprints++] = f;
    }
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

static Dcgw__SecuritySetup setup_pb(enum dcgw_sdp_setup s)
{
    return s == DCGW_SDP_SETUP_ACTIVE    ? DCGW__SECURITY_SETUP__SETUP_ACTIVE
           : s == DCGW_SDP_SETUP_PASSIVE ? DCGW__SECURITY_SETUP__SETUP_PASSIVE
                                         : DCGW__SECURITY_SETUP__SETUP_ACTPASS;
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
}

/* Creates the leg's stages once both sides' SDP are known. */
static int start_leg(struct wleg *l, const struct dcgw_sdp *remote, enum dcgw_sdp_setup ours,
                     char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    const struct dcgw_sdp_dc *rdc = &remote->dc;
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_LITE,
        .local_ufrag = l->ufrag,
        .local_pwd = l->pwd,
        .remote_ufrag = rdc->ice_ufrag,
        .remote_pwd = rdc->ice_pwd,
        .dtls_client = ours == DCGW_SDP_SETUP_ACTIVE,
        .remote_fps = rdc->fingerprints,
        .n_remote_fps = rdc->n_fingerprints,
        .min_hash = w->cfg.dtls.min_hash,
        .consent_timeout_ms = w->cfg.ice.consent_timeout_ms,
        .dtls_mtu = w->cfg.dtls.mtu,
        .dtls_initial_timeout_ms = w->cfg.dtls.initial_timeout_ms,
    };
    struct dcgw_leg_cbs cbs = {.ud = l,
                               .send = leg_send,
                               .on_connected = leg_connected,
                               .on_failed = leg_failed,
                               .on_consent_lost = leg_consent_lost};
    int r = dcgw_leg_new(w->dtls_ctx, &ls, &cbs, &l->leg);
    if (r < 0) {
        snprintf(err, errcap, "leg %s: %s", l->s->desc->legs[l->idx]->name, dcgw_strerror(r));
        return r;
    }
    Dcgw__Leg *pl = l->s->desc->legs[l->idx];
    pl->has_state = 1;
    pl->state = DCGW__LEG_STATE__LEG_ICE;
    dcgw_leg_start(l->leg, uv_now(w->loop));
    dcgw__wplane_rearm(l);
    return 0;
}

static int answer_leg(struct wleg *l, Dcgw__Leg *pl, char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    struct dcgw_sdp *offer = malloc(sizeof(*offer));
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    struct dcgw_sdp_local loc;
    char why[256] = "";
    int r = offer && buf ? 0 : DCGW_ENOMEM;
    if (r == 0 && (r = dcgw_sdp_parse(pl->dc->remote_sdp, strlen(pl->dc->remote_sdp), offer, why,
                                      sizeof(why))) < 0)
        snprintf(err, errcap, "leg %s: remote SDP: %s", pl->name, why);
    if (r == 0) {
        local_side(w, l, &loc);
        loc.setup = dcgw_sdp_answer_setup(offer->dc.setup, DCGW_SDP_SETUP_ACTIVE);
        loc.sctp_port = offer->dc.sctp_port;
        loc.dcmap = offer->dc.dcmap;
        loc.n_dcmap = offer->dc.n_dcmap;
        loc.dcsa = offer->dc.dcsa;
        loc.n_dcsa = offer->dc.n_dcsa;
        int n = dcgw_sdp_write_answer(offer, &loc, buf, DCGW_SDP_TEXT_MAX);
        if (n < 0) {
            r = n;
            snprintf(err, errcap, "leg %s: writing the answer: %s", pl->name, dcgw_strerror(n));
        }
    }
    if (r == 0)
        r = start_leg(l, offer, loc.setup, err, errcap);
    if (r == 0) {
        Dcgw__DcMedia *dc = pl->dc;
        free(dc->local_sdp);
        dc->local_sdp = strdup(buf);
        dc->has_setup = dc->has_max_message_size = 1;
        dc->setup = setup_pb(loc.setup);
        dc->max_message_size = offer->dc.max_message_size;
        fill_endpoint(&dc->local, loc.fingerprints, 1, loc.sctp_port, loc.tls_id, l->ufrag,
                      (struct sockaddr *)&w->advertise);
        fill_endpoint(&dc->remote, offer->dc.fingerprints, offer->dc.n_fingerprints,
                      offer->dc.sctp_port, offer->dc.tls_id, offer->dc.ice_ufrag, NULL);
        fill_streams(dc, &offer->dc);
    }
    free(offer);
    free(buf);
    return r;
}

static int offer_leg(struct wleg *l, Dcgw__Leg *pl, char *err, size_t errcap)
{
    struct worker *w = l->s->w;
    struct dcgw_sdp_local loc;
    local_side(w, l, &loc);
    loc.setup = DCGW_SDP_SETUP_ACTPASS;
    loc.sctp_port = 5000;
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    int n = buf ? dcgw_sdp_write_offer(&loc, buf, DCGW_SDP_TEXT_MAX) : DCGW_ENOMEM;
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
    fill_endpoint(&dc->local, loc.fingerprints, 1, loc.sctp_port, loc.tls_id, l->ufrag,
                  (struct sockaddr *)&w->advertise);
    return 0;
}

/* ---- lifecycle */

static void session_free(struct wsession *s)
{
    for (unsigned i = 0; i < s->n_legs; i++)
        free(s->legs[i]);
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
    struct worker *w = s->w;
    struct wleg *l = calloc(1, sizeof(*l));
    if (!l)
        return DCGW_ENOMEM;
    l->s = s;
    l->idx = idx;
    l->timer_due = UINT64_MAX;
    do {
        if (dcgw_sdp_ice_credentials(l->ufrag, sizeof(l->ufrag), l->pwd, sizeof(l->pwd)) < 0) {
            free(l);
            return DCGW_EINTERNAL;
        }
    } while (g_hash_table_contains(w->by_ufrag, l->ufrag));
    uv_timer_init(w->loop, &l->timer);
    l->timer.data = l;
    s->handles_open++;
    s->legs[idx] = l;
    s->n_legs = idx + 1;
    g_hash_table_insert(w->by_ufrag, l->ufrag, l);
    return 0;
}

static void release(struct wsession *s)
{
    s->closing = true;
    for (unsigned i = 0; i < s->n_legs; i++) {
        struct wleg *l = s->legs[i];
        if (l->leg && !l->dead)
            dcgw_leg_close(l->leg); /* close_notify */
        dcgw__wplane_leg_kill(l);
        dcgw__wplane_leg_forget(s->w, l);
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
    d->has_state = 1;
    d->state = DCGW__SESSION_STATE__SESSION_PENDING;
    int r = 0;
    for (unsigned i = 0; i < d->n_legs && r == 0; i++) {
        Dcgw__Leg *pl = d->legs[i];
        pl->has_state = 1;
        pl->state = DCGW__LEG_STATE__LEG_NEW;
        r = new_wleg(s, i);
        if (r == 0 && pl->dc->mode == DCGW__MEDIA_MODE__MODE_RELAY) {
            snprintf(err, errcap, "leg %s: relay mode is not implemented yet", pl->name);
            r = DCGW_EUNSUPPORTED;
        } else if (r == 0) {
            r = pl->role == DCGW__LEG_ROLE__ROLE_OFFER ? offer_leg(s->legs[i], pl, err, errcap)
                                                       : answer_leg(s->legs[i], pl, err, errcap);
        }
    }
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
    Dcgw__Leg *pl = s->desc->legs[l->idx];
    if (pl->role != DCGW__LEG_ROLE__ROLE_OFFER || l->leg || l->dead) {
        snprintf(err, errcap, "leg %s does not wait for an answer", pl->name);
        return DCGW_ESTATE;
    }
    struct dcgw_sdp *ans = malloc(sizeof(*ans));
    char why[256];
    int r =
        ans ? dcgw_sdp_parse(remote_sdp, strlen(remote_sdp), ans, why, sizeof(why)) : DCGW_ENOMEM;
    if (r < 0)
        snprintf(err, errcap, "leg %s: answer: %s", pl->name, ans ? why : "out of memory");
    enum dcgw_sdp_setup ours = DCGW_SDP_SETUP_NONE;
    if (r == 0) {
        /* RFC 5763 §5: the answerer picked; we take the other role. */
        ours = ans->dc.setup == DCGW_SDP_SETUP_PASSIVE ? DCGW_SDP_SETUP_ACTIVE
                                                       : DCGW_SDP_SETUP_PASSIVE;
        r = start_leg(l, ans, ours, err, errcap);
    }
    if (r == 0) {
        Dcgw__DcMedia *dc = pl->dc;
        free(dc->remote_sdp);
        dc->remote_sdp = strdup(remote_sdp);
        dc->setup = setup_pb(ours);
        dc->has_max_message_size = 1;
        dc->max_message_size = ans->dc.max_message_size;
        fill_endpoint(&dc->remote, ans->dc.fingerprints, ans->dc.n_fingerprints, ans->dc.sctp_port,
                      ans->dc.tls_id, ans->dc.ice_ufrag, NULL);
    }
    free(ans);
    return r;
}

void dcgw__wsession_refresh(struct wsession *s)
{
    unsigned connected = 0, started = 0;
    for (unsigned i = 0; i < s->n_legs; i++) {
        struct wleg *l = s->legs[i];
        Dcgw__Leg *pl = s->desc->legs[i];
        if (l->leg && !l->dead) {
            static const Dcgw__LegState map[] = {
                [DCGW_LEG_NEW] = DCGW__LEG_STATE__LEG_NEW,
                [DCGW_LEG_ICE] = DCGW__LEG_STATE__LEG_ICE,
                [DCGW_LEG_DTLS] = DCGW__LEG_STATE__LEG_DTLS,
                [DCGW_LEG_CONNECTED] = DCGW__LEG_STATE__LEG_CONNECTED,
                [DCGW_LEG_FAILED] = DCGW__LEG_STATE__LEG_FAILED,
                [DCGW_LEG_CLOSED] = DCGW__LEG_STATE__LEG_CLOSED,
            };
            pl->has_state = 1;
            pl->state = map[dcgw_leg_state(l->leg)];
            const struct sockaddr *pa = dcgw_leg_peer(l->leg);
            if (pa) {
                char a[DCGW_ADDR_STRLEN];
                free(pl->peer_addr);
                pl->peer_addr = strdup(dcgw_addr_format(pa, a, sizeof(a)));
            }
        }
        connected += pl->state == DCGW__LEG_STATE__LEG_CONNECTED;
        started += pl->state != DCGW__LEG_STATE__LEG_NEW;
    }
    if (s->desc->state == DCGW__SESSION_STATE__SESSION_PENDING ||
        s->desc->state == DCGW__SESSION_STATE__SESSION_CONNECTING ||
        s->desc->state == DCGW__SESSION_STATE__SESSION_ACTIVE)
        s->desc->state = connected == s->n_legs ? DCGW__SESSION_STATE__SESSION_ACTIVE
                         : started              ? DCGW__SESSION_STATE__SESSION_CONNECTING
                                                : DCGW__SESSION_STATE__SESSION_PENDING;
}

void dcgw__wsession_close(struct wsession *s, const char *reason)
{
    struct worker *w = s->w;
    Dcgw__SessionClosed sc = DCGW__SESSION_CLOSED__INIT;
    sc.reason = (char *)reason;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.session_id = s->desc->id;
    ev.kind_case = DCGW__EVENT__KIND_SESSION_CLOSED;
    ev.session_closed = &sc;
    dcgw__worker_emit(w, &ev);
    DCGW_INFO(SESSION, "session %s closed (%s)", s->desc->id, reason);
    w->stats.sessions_closed++;
    g_hash_table_steal(w->sessions, s->desc->id);
    release(s);
}
