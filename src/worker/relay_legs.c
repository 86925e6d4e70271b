/* Relay sessions in a worker (DESIGN §2 "Relay", docs/relay.md): two legs in MODE_RELAY,
 * one carrying a peer's offer (ROLE_ANSWER), one that dcgw offers to (ROLE_OFFER). Each
 * peer gets dcgw's ICE (ice-lite, credentials, candidate) and the other peer's DTLS
 * identity untouched: fingerprints, setup, tls-id, sctp-port, max-message-size, dcmap.
 * Once the offered leg's answer is in, one dcgw_relay flow (relay.h) carries the
 * datagrams; this file wires it to the worker: routing, the io, timers, events and the
 * controller's view. No DTLS object is ever created here: dcgw holds no key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/net/fastpath.h"
#include "dcgw/stages/relay.h"
#include "dcgw/sdp/sdp.h"
#include "events.h"
#include "dcgw/sdp/sdp_match.h"
#include "worker_int.h"

/* A relay session forwards one transport per leg: what is not bundled with the data channel
 * does not pass (docs/media.md). */
#define RELAY_UNBUNDLED                                                                            \
    "not bundled with the data channel: a relay session forwards one transport per leg"

struct wrelay {
    struct wsession *s;
    struct dcgw_relay *flow; /* NULL until the offered leg's answer is known */
    unsigned ans, off;       /* the leg that brought the offer, the leg dcgw offers to */
    bool closed_emitted;
    uint64_t timer_due;
    uint64_t early[2], early_bytes[2]; /* routed to a leg before the flow existed */
    uint64_t send_errors;
    /* the eBPF fast path (docs/fastpath.md): the flow's entry while offloaded, what earlier
     * entries counted, and the peers it was offloaded for */
    struct dcgw_fastpath_flow *fast;
    struct dcgw_fastpath_counts fast_done[2];
    struct sockaddr_storage fast_peer[2];
};

static const char *leg_name(const struct wsession *s, unsigned i)
{
    return s->desc->legs[i]->name;
}

/* ---- SDP: dcgw's ICE, the other peer's DTLS identity */

static void relay_local(const struct worker *w, const struct wleg *l,
                        const struct dcgw_sdp_dc *peer, struct dcgw_sdp_local *loc)
{
    dcgw_sdp_local_init(loc);
    loc->sess_id = (uint64_t)g_random_int() << 31 | g_random_int();
    snprintf(loc->ice_ufrag, sizeof(loc->ice_ufrag), "%s", l->ufrag);
    snprintf(loc->ice_pwd, sizeof(loc->ice_pwd), "%s", l->pwd);
    loc->n_addrs = 1;
    memcpy(&loc->addrs[0], &w->advertise, sizeof(w->advertise));
    /* Passed through untouched: rtpengine would strip these (issue 6). */
    loc->n_fingerprints = peer->n_fingerprints;
    memcpy(loc->fingerprints, peer->fingerprints,
           sizeof(peer->fingerprints[0]) * peer->n_fingerprints);
    snprintf(loc->tls_id, sizeof(loc->tls_id), "%s", peer->tls_id);
    loc->setup = peer->setup;
    loc->sctp_port = peer->sctp_port;
    loc->max_message_size = peer->max_message_size;
    snprintf(loc->mid, sizeof(loc->mid), "%s", peer->mid);
    loc->dcmap = peer->dcmap;
    loc->n_dcmap = peer->n_dcmap;
    loc->dcsa = peer->dcsa;
    loc->n_dcsa = peer->n_dcsa;
}

/* The offer writer says actpass (RFC 5763 §5); an offerer that said otherwise keeps its
 * word: the lines (one per m-section of the bundle) are rewritten in place in our own
 * output. */
static int set_offer_setup(char *buf, size_t cap, enum dcgw_sdp_setup setup)
{
    if (setup == DCGW_SDP_SETUP_ACTPASS)
        return 0;
    const char *want = setup == DCGW_SDP_SETUP_NONE ? NULL : dcgw_sdp_setup_name(setup);
    char *at = strstr(buf, "a=setup:actpass\r\n");
    if (!at)
        return DCGW_EINTERNAL;
    for (; at; at = strstr(at, "a=setup:actpass\r\n")) {
        size_t old = strlen("a=setup:actpass\r\n");
        char line[32] = "";
        if (want)
            snprintf(line, sizeof(line), "a=setup:%s\r\n", want); /* absent stays absent */
        size_t len = strlen(buf), nl = strlen(line);
        if (len - old + nl + 1 > cap)
            return DCGW_ETOOBIG;
        memmove(at + nl, at + old, len - (size_t)(at - buf) - old + 1);
        memcpy(at, line, nl);
        at += nl;
    }
    return 0;
}

/* Audio and video pass through (docs/media.md): the offer to the far end carries the
 * offerer's m-lines the policies of both legs allow, untouched (codecs, extensions,
 * streams); the data channel keeps its place among them. */
static void relay_offer_av(struct wsession *s, struct dcgw_sdp *offer, struct dcgw_sdp_local *loc,
                           struct dcgw_sdp_av *av)
{
    bool ok[2][2];
    dcgw__wmedia_allowed(s, 0, ok[0]);
    dcgw__wmedia_allowed(s, 1, ok[1]);
    dcgw_sdp_assign_transports(offer, 1, RELAY_UNBUNDLED);
    size_t n = 0, before = 0;
    for (size_t i = 0; i < offer->n_rtp; i++) {
        const struct dcgw_sdp_rtp *r = &offer->rtp[i];
        if (!r->usable || !ok[0][r->kind] || !ok[1][r->kind])
            continue;
        dcgw_sdp_av_mirror(offer, i, &av[n]);
        before += r->media_index < offer->dc.media_index;
        n++;
    }
    loc->av = av;
    loc->n_av = n;
    loc->dc_index = before;
    loc->setup = DCGW_SDP_SETUP_ACTPASS; /* set_offer_setup puts the offerer's back */
}

/* The answer to the offerer mirrors what the far end answered dcgw's offer (by mid); what
 * was not offered is rejected with the reason. */
static void relay_answer_av(struct wsession *s, struct dcgw_sdp *offer,
                            const struct dcgw_sdp *answer, struct dcgw_sdp_local *loc,
                            struct dcgw_sdp_av *av)
{
    bool ok[2][2];
    dcgw__wmedia_allowed(s, 0, ok[0]);
    dcgw__wmedia_allowed(s, 1, ok[1]);
    dcgw_sdp_assign_transports(offer, 1, RELAY_UNBUNDLED);
    for (size_t i = 0; i < offer->n_rtp; i++) {
        const struct dcgw_sdp_rtp *r = &offer->rtp[i];
        size_t j = 0;
        while (j < answer->n_rtp && strcmp(answer->rtp[j].mid, r->mid) != 0)
            j++;
        if (r->usable && ok[0][r->kind] && ok[1][r->kind] && j < answer->n_rtp) {
            dcgw_sdp_av_mirror(answer, j, &av[i]);
            if (av[i].reject && answer->rtp[j].port == 0)
                snprintf(av[i].reason, sizeof(av[i].reason), "rejected by the far end");
            continue;
        }
        memset(&av[i], 0, sizeof(av[i]));
        av[i].src = offer;
        av[i].rtp = (uint8_t)i;
        av[i].reject = true;
        snprintf(av[i].reason, sizeof(av[i].reason), "%s",
                 !r->usable                           ? r->reason
                 : !ok[0][r->kind] || !ok[1][r->kind] ? "forbidden by policy"
                                                      : "not answered by the far end");
    }
    loc->av = av;
    loc->n_av = offer->n_rtp;
}

/* An endpoint of the controller's view: a peer's DTLS identity, with ICE ufrag/address. */
static void set_endpoint(Dcgw__DcEndpoint **slot, const struct dcgw_sdp_dc *dc, const char *ufrag,
                         const struct sockaddr *addr)
{
    dcgw__wev_endpoint(slot, dc->fingerprints, dc->n_fingerprints, dc->sctp_port, dc->tls_id, ufrag,
                       addr);
}

/* dcgw's SDP toward leg `to`: its own ICE, the DTLS identity of `from`'s peer. */
static void set_view(struct wsession *s, unsigned to, const struct dcgw_sdp *from_sdp,
                     const struct dcgw_sdp *to_sdp, char *local_sdp, enum dcgw_sdp_setup setup)
{
    Dcgw__DcMedia *dc = s->desc->legs[to]->dc;
    if (local_sdp) {
        free(dc->local_sdp);
        dc->local_sdp = local_sdp;
    }
    dc->has_setup = 1;
    dc->setup = dcgw__wev_setup(setup);
    dc->has_max_message_size = 1;
    dc->max_message_size = from_sdp->dc.max_message_size;
    set_endpoint(&dc->local, &from_sdp->dc, s->legs[to]->ufrag,
                 (struct sockaddr *)&s->w->advertise);
    if (to_sdp)
        set_endpoint(&dc->remote, &to_sdp->dc, to_sdp->dc.ice_ufrag, NULL);
}

static int parse(struct worker *w, const char *text, struct dcgw_sdp **out, const char *leg,
                 const char *what, char *err, size_t errcap)
{
    char why[256] = "";
    struct dcgw_sdp *sdp = dcgw__wsdp_take(w);
    int r = sdp ? dcgw_sdp_parse(text, strlen(text), sdp, why, sizeof(why)) : DCGW_ENOMEM;
    if (r < 0) {
        snprintf(err, errcap, "leg %s: %s: %s", leg, what, sdp ? why : "out of memory");
        dcgw__wsdp_give(w, sdp);
        return r;
    }
    *out = sdp;
    return 0;
}

/* ---- create: the offer to forward */

static int check_shape(const Dcgw__Session *d, unsigned *ans, unsigned *off, char *err,
                       size_t errcap)
{
    unsigned n_ans = 0, n_off = 0;
    for (unsigned i = 0; i < d->n_legs; i++) {
        if (d->legs[i]->dc->mode != DCGW__MEDIA_MODE__MODE_RELAY) {
            snprintf(err, errcap, "leg %s: a relay session needs both legs in MODE_RELAY",
                     d->legs[i]->name);
            return DCGW_EINVAL;
        }
        if (d->legs[i]->role == DCGW__LEG_ROLE__ROLE_OFFER)
            *off = i, n_off++;
        else
            *ans = i, n_ans++;
    }
    if (d->n_legs != 2 || n_ans != 1 || n_off != 1) {
        snprintf(err, errcap,
                 "a relay session has two MODE_RELAY legs: one with the peer's "
                 "offer (ROLE_ANSWER), one dcgw offers to (ROLE_OFFER)");
        return DCGW_EINVAL;
    }
    return 0;
}

int dcgw__wrelay_create(struct wsession *s, char *err, size_t errcap)
{
    unsigned ans = 0, off = 0;
    int r = check_shape(s->desc, &ans, &off, err, errcap);
    if (r < 0)
        return r;
    struct wrelay *wr = calloc(1, sizeof(*wr));
    if (!wr)
        return DCGW_ENOMEM;
    wr->s = s;
    wr->ans = ans;
    wr->off = off;
    wr->timer_due = UINT64_MAX;
    s->relay = wr;
    struct dcgw_sdp *offer = NULL;
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    if (!buf)
        return DCGW_ENOMEM;
    r = parse(s->w, s->desc->legs[ans]->dc->remote_sdp, &offer, leg_name(s, ans), "offer", err,
              errcap);
    if (r == 0) {
        struct dcgw_sdp_local loc;
        struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
        relay_local(s->w, s->legs[off], &offer->dc, &loc);
        relay_offer_av(s, offer, &loc, av);
        int n = dcgw_sdp_write_offer(&loc, buf, DCGW_SDP_TEXT_MAX);
        r = n < 0 ? n : set_offer_setup(buf, DCGW_SDP_TEXT_MAX, offer->dc.setup);
        if (r < 0)
            snprintf(err, errcap, "leg %s: writing the offer: %s", leg_name(s, off),
                     dcgw_strerror(r));
    }
    if (r == 0) {
        set_view(s, off, offer, NULL, buf, offer->dc.setup);
        buf = NULL;
        Dcgw__DcMedia *adc = s->desc->legs[ans]->dc;
        set_endpoint(&adc->remote, &offer->dc, offer->dc.ice_ufrag, NULL);
        DCGW_INFO(RELAY, "session %s: relay %s -> %s, offer forwarded", s->desc->id,
                  leg_name(s, ans), leg_name(s, off));
    }
    dcgw__wsdp_give(s->w, offer);
    free(buf);
    return r;
}

/* ---- update: the answer, and the flow */

static void on_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n);
static void on_event(void *ud, enum dcgw_relay_event ev, int side);

static int start_flow(struct wrelay *wr, const struct dcgw_sdp *sdp[2], char *err, size_t errcap)
{
    struct wsession *s = wr->s;
    const struct worker *w = s->w;
    const Dcgw__RelaySettings *rs = s->desc->relay;
    struct dcgw_relay_settings st;
    dcgw_relay_settings_default(&st);
    for (int k = 0; k < 2; k++) {
        /* a bundled peer keeps the transport of its bundle's first m-line (RFC 8843 §7) */
        const struct dcgw_sdp_transport *t = dcgw_sdp_bundle_transport(sdp[k], NULL, 0);
        st.side[k] = (struct dcgw_relay_side_settings){
            .local_ufrag = s->legs[k]->ufrag,
            .local_pwd = s->legs[k]->pwd,
            .remote_ufrag = t->ice_ufrag,
            .remote_pwd = t->ice_pwd,
            .fps = t->fingerprints,
            .n_fps = t->n_fingerprints,
        };
    }
    st.min_hash = w->cfg.dtls.min_hash;
    st.policy =
        rs && rs->uninspectable == DCGW__UNINSPECTABLE_POLICY__UNINSPECTABLE_ALLOW_AND_REPORT
            ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT
            : DCGW_INSPECT_REJECT_UNINSPECTABLE;
    st.max_packets_per_s = rs ? rs->max_packets_per_s : 0;
    st.max_bytes_per_s = rs ? rs->max_bytes_per_s : 0;
    st.burst_ms = rs && rs->has_burst_ms ? rs->burst_ms : 0;
    st.consent_timeout_ms = w->cfg.ice.consent_timeout_ms;
    st.setup_timeout_ms = w->cfg.sessions.setup_timeout_ms;
    struct dcgw_relay_cbs cbs = {.ud = wr, .send = on_send, .on_event = on_event};
    int r = dcgw_relay_new(&st, &cbs, uv_now(w->loop), &wr->flow);
    if (r < 0)
        snprintf(err, errcap, "relay: %s", dcgw_strerror(r));
    return r;
}

/* RFC 5763 §5: the answerer says active or passive; absent means active (RFC 4145 §4). */
static int answer_setup(const struct dcgw_sdp *answer, enum dcgw_sdp_setup *out, const char *leg,
                        char *err, size_t errcap)
{
    enum dcgw_sdp_setup a = answer->dc.setup;
    if (a != DCGW_SDP_SETUP_ACTIVE && a != DCGW_SDP_SETUP_PASSIVE && a != DCGW_SDP_SETUP_NONE) {
        snprintf(err, errcap, "leg %s: answer: a=setup:%s, expected active or passive", leg,
                 dcgw_sdp_setup_name(a));
        return DCGW_EINVAL;
    }
    *out = a == DCGW_SDP_SETUP_NONE ? DCGW_SDP_SETUP_ACTIVE : a;
    return 0;
}

static void rearm(struct wrelay *wr);

int dcgw__wrelay_update(struct wsession *s, struct wleg *l, const char *remote_sdp, char *err,
                        size_t errcap)
{
    struct wrelay *wr = s->relay;
    if (l->idx != wr->off || wr->flow || l->dead) {
        snprintf(err, errcap, "leg %s does not wait for an answer", leg_name(s, l->idx));
        return DCGW_ESTATE;
    }
    struct dcgw_sdp *sdp[2] = {NULL, NULL};
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    enum dcgw_sdp_setup setup = DCGW_SDP_SETUP_ACTIVE;
    int r = buf ? 0 : DCGW_ENOMEM;
    if (r == 0)
        r = parse(s->w, remote_sdp, &sdp[wr->off], leg_name(s, wr->off), "answer", err, errcap);
    if (r == 0)
        r = answer_setup(sdp[wr->off], &setup, leg_name(s, wr->off), err, errcap);
    if (r == 0)
        r = parse(s->w, s->desc->legs[wr->ans]->dc->remote_sdp, &sdp[wr->ans], leg_name(s, wr->ans),
                  "offer", err, errcap);
    if (r == 0) {
        struct dcgw_sdp_local loc;
        struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
        relay_local(s->w, s->legs[wr->ans], &sdp[wr->off]->dc, &loc);
        relay_answer_av(s, sdp[wr->ans], sdp[wr->off], &loc, av);
        loc.setup = setup;
        int n = dcgw_sdp_write_answer(sdp[wr->ans], &loc, buf, DCGW_SDP_TEXT_MAX);
        if (n < 0) {
            r = n;
            snprintf(err, errcap, "leg %s: writing the answer: %s", leg_name(s, wr->ans),
                     dcgw_strerror(n));
        }
    }
    if (r == 0)
        r = start_flow(wr, (const struct dcgw_sdp **)sdp, err, errcap);
    if (r == 0) {
        Dcgw__DcMedia *odc = s->desc->legs[wr->off]->dc;
        free(odc->remote_sdp);
        odc->remote_sdp = strdup(remote_sdp);
        set_view(s, wr->ans, sdp[wr->off], NULL, buf, setup);
        buf = NULL;
        set_endpoint(&odc->remote, &sdp[wr->off]->dc, sdp[wr->off]->dc.ice_ufrag, NULL);
        for (unsigned k = 0; k < 2; k++) {
            s->desc->legs[k]->has_state = 1;
            s->desc->legs[k]->state = DCGW__LEG_STATE__LEG_ICE;
        }
        s->w->stats.relay_flows++;
        DCGW_INFO(RELAY, "session %s: relay flow %s <-> %s started", s->desc->id, leg_name(s, 0),
                  leg_name(s, 1));
        rearm(wr);
    }
    dcgw__wsdp_give(s->w, sdp[0]);
    dcgw__wsdp_give(s->w, sdp[1]);
    free(buf);
    return r;
}

/* ---- the fast path (docs/fastpath.md) */

static uint64_t burst_of(uint64_t rate, uint32_t burst_ms, uint64_t floor)
{
    uint64_t b = rate / 1000 * burst_ms + rate % 1000 * burst_ms / 1000;
    return b < floor ? floor : b;
}

/* The session's RelaySettings as the program's limits (the relay stage's buckets). */
static void fast_limits(const struct wsession *s, struct dcgw_fastpath_limits lim[2])
{
    const Dcgw__RelaySettings *rs = s->desc->relay;
    uint32_t burst =
        rs && rs->has_burst_ms && rs->burst_ms ? rs->burst_ms : DCGW_RELAY_BURST_MS_DEFAULT;
    if (burst > DCGW_RELAY_BURST_MS_MAX)
        burst = DCGW_RELAY_BURST_MS_MAX;
    uint64_t pps = rs ? rs->max_packets_per_s : 0, bps = rs ? rs->max_bytes_per_s : 0;
    for (int k = 0; k < 2; k++)
        lim[k] = (struct dcgw_fastpath_limits){
            .packets_per_s = pps,
            .bytes_per_s = bps,
            .burst_packets = burst_of(pps, burst, DCGW_RELAY_BURST_PACKETS_MIN),
            .burst_bytes = burst_of(bps, burst, DCGW_RELAY_BURST_BYTES_MIN),
        };
}

/* The entry goes (first, before the flow's state or settings change): the program stops
 * forwarding, and its final counts join the flow's. */
static void fast_off(struct wrelay *wr, const char *why)
{
    if (!wr->fast)
        return;
    struct dcgw_fastpath_counts c[2];
    dcgw_fastpath_remove(wr->s->w->fastpath, wr->fast, c);
    wr->fast = NULL;
    for (int k = 0; k < 2; k++) {
        wr->fast_done[k].packets += c[k].packets;
        wr->fast_done[k].bytes += c[k].bytes;
        wr->fast_done[k].rate_packets += c[k].rate_packets;
        wr->fast_done[k].rate_bytes += c[k].rate_bytes;
    }
    DCGW_INFO(RELAY, "session %s: fast path off (%s)", wr->s->desc->id, why);
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    socklen_t n = dcgw_addr_len(b);
    return n && memcmp(a, b, n) == 0;
}

/* Offloads the flow when userspace decided it may be: both certificates matched their SDP
 * (an uninspected flow is never offloaded) and both peers have an address. A peer that
 * moved takes the entry down and up again; a full table leaves it in userspace. */
static void fast_update(struct wrelay *wr)
{
    struct worker *w = wr->s->w;
    if (!w->fastpath || !wr->flow)
        return;
    const struct sockaddr *peer[2] = {dcgw_relay_peer(wr->flow, 0), dcgw_relay_peer(wr->flow, 1)};
    bool want = dcgw_relay_state(wr->flow) == DCGW_RELAY_CONNECTED && peer[0] && peer[1] &&
                !wr->s->closing && !wr->s->legs[0]->dead && !wr->s->legs[1]->dead;
    if (wr->fast &&
        (!want || !same_peer(&wr->fast_peer[0], peer[0]) || !same_peer(&wr->fast_peer[1], peer[1])))
        fast_off(wr, want ? "a peer moved" : "flow not connected");
    if (wr->fast || !want)
        return;
    struct dcgw_fastpath_limits lim[2];
    fast_limits(wr->s, lim);
    int r = dcgw_fastpath_add(w->fastpath, dcgw_io_local(w->io), peer, lim, &wr->fast);
    if (r < 0) {
        wr->fast = NULL;
        DCGW_LOG_RL(RELAY, INFO, "session %s: stays on the userspace path: fast path: %s",
                    wr->s->desc->id,
                    r == DCGW_ELIMIT ? "full (fast_path.max_flows)" : dcgw_strerror(r));
        return;
    }
    for (int k = 0; k < 2; k++)
        memcpy(&wr->fast_peer[k], peer[k], dcgw_addr_len(peer[k]));
    DCGW_INFO(RELAY, "session %s: fast path on: application data forwarded in the kernel",
              wr->s->desc->id);
}

int dcgw__wrelay_settings(struct wsession *s, const Dcgw__RelaySettings *rs, char *err,
                          size_t errcap)
{
    struct wrelay *wr = s->relay;
    if (!wr) {
        snprintf(err, errcap, "relay settings: not a relay session");
        return DCGW_EINVAL;
    }
    if (rs && rs->has_burst_ms && rs->burst_ms > DCGW_RELAY_BURST_MS_MAX) {
        snprintf(err, errcap, "relay.burst_ms: at most %d", DCGW_RELAY_BURST_MS_MAX);
        return DCGW_ERANGE;
    }
    fast_off(wr, rs ? "relay settings changed" : "policy changed");
    if (rs) {
        if (!s->desc->relay) {
            s->desc->relay = malloc(sizeof(*s->desc->relay));
            if (!s->desc->relay)
                return DCGW_ENOMEM;
            dcgw__relay_settings__init(s->desc->relay);
        }
        Dcgw__RelaySettings *d = s->desc->relay;
        d->has_max_packets_per_s = d->has_max_bytes_per_s = 1;
        d->max_packets_per_s = rs->max_packets_per_s;
        d->max_bytes_per_s = rs->max_bytes_per_s;
        d->has_burst_ms = rs->has_burst_ms;
        d->burst_ms = rs->burst_ms;
        if (wr->flow)
            dcgw_relay_set_limits(wr->flow, d->max_packets_per_s, d->max_bytes_per_s,
                                  d->has_burst_ms ? d->burst_ms : 0, uv_now(s->w->loop));
    }
    fast_update(wr);
    return 0;
}

/* ---- data path and timers */

static void on_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)side;
    struct wrelay *wr = ud;
    /* The one copy between receive and send: into the io's sendmmsg slab (docs/relay.md). */
    if (dcgw__wplane_send(wr->s->w, to, p, n) < 0)
        wr->send_errors++;
}

static void on_timer(uv_timer_t *t)
{
    struct wleg *l = t->data;
    struct wrelay *wr = l->s->relay;
    wr->timer_due = UINT64_MAX;
    if (!wr->flow || l->dead)
        return;
    dcgw_relay_handle_timeout(wr->flow, uv_now(t->loop));
    rearm(wr);
}

/* The flow's timers run on the first leg's timer handle, which the session closes. */
static void rearm(struct wrelay *wr)
{
    struct wleg *l = wr->s->legs[0];
    uint64_t due = wr->flow && !l->dead ? dcgw_relay_next_timeout(wr->flow) : UINT64_MAX;
    if (due == wr->timer_due)
        return;
    wr->timer_due = due;
    if (due == UINT64_MAX) {
        uv_timer_stop(&l->timer);
        return;
    }
    uint64_t now = uv_now(l->timer.loop);
    uv_timer_start(&l->timer, on_timer, due > now ? due - now : 0, 0);
}

int dcgw__wrelay_input(struct wleg *l, const struct sockaddr *from, const uint8_t *p, size_t n,
                       uint64_t now)
{
    struct wrelay *wr = l->s->relay;
    if (!wr->flow || l->dead) {
        wr->early[l->idx]++;
        wr->early_bytes[l->idx] += n;
        return DCGW_RELAY_DROPPED;
    }
    int r = dcgw_relay_input(wr->flow, (int)l->idx, from, p, n, now);
    if (r != DCGW_RELAY_FORWARDED)
        rearm(wr); /* consent deadlines move with checks; final states stop the timers */
    return r;
}

/* ---- events */

static void fill_counters(const struct wrelay *wr, unsigned k, Dcgw__RelayCounters *c)
{
    const struct dcgw_relay_side_stats *st = dcgw_relay_stats(wr->flow, (int)k);
    const struct dcgw_dtls_inspect_stats *is =
        dcgw_dtls_inspect_stats(dcgw_relay_inspector(wr->flow), (int)k);
    dcgw__relay_counters__init(c);
    c->has_rx_packets = c->has_rx_bytes = c->has_forwarded_packets = c->has_forwarded_bytes = 1;
    c->has_stun = c->has_stun_rejected = c->has_dropped_garbage = c->has_dropped_unvalidated = 1;
    c->has_dropped_no_peer = c->has_dropped_rate = c->has_dropped_inspector = 1;
    c->has_dropped_blocked = c->has_held_app_data = 1;
    c->rx_packets = st->rx_packets + wr->early[k];
    c->rx_bytes = st->rx_bytes + wr->early_bytes[k];
    c->forwarded_packets = st->forwarded_packets;
    c->forwarded_bytes = st->forwarded_bytes;
    c->stun = st->stun;
    c->stun_rejected = st->stun_rejected;
    c->dropped_garbage = st->dropped_garbage;
    c->dropped_unvalidated = st->dropped_unvalidated;
    /* before the answer was in there was nowhere to forward to either */
    c->dropped_no_peer = st->dropped_no_peer + wr->early[k];
    c->dropped_rate = st->dropped_rate;
    c->dropped_inspector = st->dropped_inspector;
    c->dropped_blocked = st->dropped_blocked;
    c->held_app_data = is->held_app_data;
    c->has_media_forwarded_packets = c->has_media_forwarded_bytes = c->has_dropped_media = 1;
    c->media_forwarded_packets = st->media_forwarded_packets;
    c->media_forwarded_bytes = st->media_forwarded_bytes;
    c->dropped_media = st->dropped_media;
    /* the fast path's, live and of earlier entries: part of rx, forwarded, dropped_rate */
    struct dcgw_fastpath_counts f = wr->fast_done[k], live[2];
    if (wr->fast && dcgw_fastpath_read(wr->s->w->fastpath, wr->fast, live) == 0) {
        f.packets += live[k].packets;
        f.bytes += live[k].bytes;
        f.rate_packets += live[k].rate_packets;
        f.rate_bytes += live[k].rate_bytes;
    }
    c->has_fast_packets = c->has_fast_bytes = c->has_fast_dropped_rate = c->has_fast_path = 1;
    c->fast_packets = f.packets;
    c->fast_bytes = f.bytes;
    c->fast_dropped_rate = f.rate_packets;
    c->fast_path = wr->fast != NULL;
    c->rx_packets += f.packets + f.rate_packets;
    c->rx_bytes += f.bytes + f.rate_bytes;
    c->forwarded_packets += f.packets;
    c->forwarded_bytes += f.bytes;
    c->dropped_rate += f.rate_packets;
}

static void emit_connected(struct wrelay *wr)
{
    struct wsession *s = wr->s;
    struct dcgw_relay_status st;
    dcgw_relay_status(wr->flow, &st);
    Dcgw__RelayConnected rc = DCGW__RELAY_CONNECTED__INIT;
    Dcgw__RelayPeer peers[2], *pp[2];
    char addr[2][DCGW_ADDR_STRLEN];
    rc.has_inspected = 1;
    rc.inspected = st.state == DCGW_RELAY_CONNECTED;
    rc.reason = st.reason[0] ? (char *)st.reason : NULL;
    rc.dtls_client = st.dtls_client >= 0 ? (char *)leg_name(s, (unsigned)st.dtls_client) : NULL;
    for (int k = 0; k < 2; k++) {
        dcgw__relay_peer__init(&peers[k]);
        pp[k] = &peers[k];
        peers[k].leg = (char *)leg_name(s, (unsigned)k);
        const struct sockaddr *pa = dcgw_relay_peer(wr->flow, k);
        peers[k].peer_addr = pa ? (char *)dcgw_addr_format(pa, addr[k], sizeof(addr[k])) : NULL;
        const struct dcgw_dtls_inspect_side *is =
            dcgw_dtls_inspect_side(dcgw_relay_inspector(wr->flow), k);
        if (rc.inspected && is->cert == DCGW_INSPECT_CERT_MATCHED)
            peers[k].fingerprint = dcgw__wev_fingerprint(&is->fp);
    }
    rc.peers = pp;
    rc.n_peers = 2;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_RELAY_CONNECTED;
    ev.relay_connected = &rc;
    DCGW_INFO(RELAY, "session %s: relay connected (%s%s)", s->desc->id,
              rc.inspected ? "both certificates match their SDP" : "not inspected: ",
              rc.inspected ? "" : st.reason);
    dcgw__wev_emit_session(s, -1, &ev);
    for (int k = 0; k < 2; k++)
        if (peers[k].fingerprint)
            protobuf_c_message_free_unpacked(&peers[k].fingerprint->base, NULL);
}

static void emit_blocked(struct wrelay *wr)
{
    struct wsession *s = wr->s;
    struct dcgw_relay_status st;
    dcgw_relay_status(wr->flow, &st);
    Dcgw__RelayBlocked rb = DCGW__RELAY_BLOCKED__INIT;
    rb.has_code = rb.has_mitm_suspected = 1;
    rb.code = st.err;
    rb.reason = (char *)st.reason;
    rb.mitm_suspected = st.mitm_suspected;
    const struct dcgw_dtls_inspect_side *is =
        st.side >= 0 ? dcgw_dtls_inspect_side(dcgw_relay_inspector(wr->flow), st.side) : NULL;
    if (is && is->cert == DCGW_INSPECT_CERT_MISMATCH)
        rb.presented = dcgw__wev_fingerprint(&is->fp);
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_RELAY_BLOCKED;
    ev.relay_blocked = &rb;
    DCGW_WARN(RELAY, "session %s: relay blocked, leg %s%s: %s", s->desc->id,
              st.side >= 0 ? leg_name(s, (unsigned)st.side) : "?",
              st.mitm_suspected ? " (man in the middle suspected)" : "", st.reason);
    dcgw__wev_emit_session(s, st.side, &ev);
    if (rb.presented)
        protobuf_c_message_free_unpacked(&rb.presented->base, NULL);
}

static void emit_closed(struct wrelay *wr, const char *reason)
{
    if (wr->closed_emitted)
        return;
    wr->closed_emitted = true;
    struct wsession *s = wr->s;
    Dcgw__RelayClosed rc = DCGW__RELAY_CLOSED__INIT;
    Dcgw__RelayCounters c[2], *cp[2];
    rc.reason = (char *)reason;
    if (wr->flow) {
        rc.state = (char *)dcgw_relay_state_name(dcgw_relay_state(wr->flow));
        for (unsigned k = 0; k < 2; k++) {
            fill_counters(wr, k, &c[k]);
            c[k].leg = (char *)leg_name(s, k);
            cp[k] = &c[k];
        }
        rc.legs = cp;
        rc.n_legs = 2;
    } else {
        rc.state = "pending";
    }
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_RELAY_CLOSED;
    ev.relay_closed = &rc;
    dcgw__wev_emit_session(s, -1, &ev);
}

static Dcgw__LegState leg_state(const struct wrelay *wr, unsigned k);

static void on_event(void *ud, enum dcgw_relay_event ev, int side)
{
    struct wrelay *wr = ud;
    struct wsession *s = wr->s;
    bool close_now = false;
    if (ev == DCGW_RELAY_EV_BLOCKED || ev == DCGW_RELAY_EV_FAILED) /* consent lost, ... */
        fast_off(wr, ev == DCGW_RELAY_EV_BLOCKED ? "flow blocked" : "flow failed");
    for (unsigned k = 0; k < 2; k++) { /* the events carry the session's state: legs first */
        s->desc->legs[k]->has_state = 1;
        s->desc->legs[k]->state = leg_state(wr, k);
    }
    if (ev == DCGW_RELAY_EV_CONNECTED) {
        emit_connected(wr);
        fast_update(wr);
    } else if (ev == DCGW_RELAY_EV_LATCHED) {
        fast_update(wr); /* a peer's new address: the entry follows it */
    } else if (ev == DCGW_RELAY_EV_BLOCKED) {
        struct dcgw_relay_status st;
        dcgw_relay_status(wr->flow, &st);
        close_now = dcgw__wsession_leg_down(s, (unsigned)st.side, st.reason);
        emit_blocked(wr);
    } else if (ev == DCGW_RELAY_EV_FAILED) {
        struct dcgw_relay_status st;
        dcgw_relay_status(wr->flow, &st);
        close_now = dcgw__wsession_leg_down(s, (unsigned)side, st.reason);
        if (side >= 0) {
            char a[DCGW_ADDR_STRLEN];
            const struct sockaddr *pa = dcgw_relay_peer(wr->flow, side);
            Dcgw__ConsentLost cl = DCGW__CONSENT_LOST__INIT;
            cl.peer_addr = pa ? (char *)dcgw_addr_format(pa, a, sizeof(a)) : NULL;
            Dcgw__Event e = DCGW__EVENT__INIT;
            e.kind_case = DCGW__EVENT__KIND_CONSENT_LOST;
            e.consent_lost = &cl;
            dcgw__wev_emit_session(wr->s, side, &e);
        }
        DCGW_INFO(RELAY, "session %s: relay failed: %s", wr->s->desc->id, st.reason);
        emit_closed(wr, st.reason);
    }
    if (close_now)
        dcgw__wsession_close(s, s->desc->reason); /* released, not freed: safe here */
}

/* ---- the controller's view, close, free */

static Dcgw__LegState leg_state(const struct wrelay *wr, unsigned k)
{
    struct dcgw_relay_status st;
    dcgw_relay_status(wr->flow, &st);
    switch (st.state) {
    case DCGW_RELAY_CONNECTED:
    case DCGW_RELAY_UNINSPECTED:
        return DCGW__LEG_STATE__LEG_CONNECTED;
    case DCGW_RELAY_BLOCKED:
        return st.side == (int)k ? DCGW__LEG_STATE__LEG_FAILED : DCGW__LEG_STATE__LEG_CLOSED;
    case DCGW_RELAY_FAILED:
        return DCGW__LEG_STATE__LEG_CLOSED;
    default:
        return dcgw_relay_peer(wr->flow, (int)k) ? DCGW__LEG_STATE__LEG_DTLS
                                                 : DCGW__LEG_STATE__LEG_ICE;
    }
}

void dcgw__wrelay_refresh(struct wsession *s)
{
    struct wrelay *wr = s->relay;
    if (!wr->flow)
        return;
    for (unsigned k = 0; k < 2; k++) {
        Dcgw__Leg *pl = s->desc->legs[k];
        pl->has_state = 1;
        pl->state = leg_state(wr, k);
        const struct sockaddr *pa = dcgw_relay_peer(wr->flow, (int)k);
        if (pa) {
            char a[DCGW_ADDR_STRLEN];
            free(pl->peer_addr);
            pl->peer_addr = strdup(dcgw_addr_format(pa, a, sizeof(a)));
        }
        if (pl->dc->relay)
            protobuf_c_message_free_unpacked(&pl->dc->relay->base, NULL);
        pl->dc->relay = malloc(sizeof(*pl->dc->relay));
        if (pl->dc->relay)
            fill_counters(wr, k, pl->dc->relay);
    }
}

void dcgw__wrelay_close(struct wsession *s, const char *reason)
{
    fast_off(s->relay, "session closed");
    emit_closed(s->relay, reason);
}

void dcgw__wrelay_free(struct wsession *s)
{
    struct wrelay *wr = s->relay;
    if (!wr)
        return;
    fast_off(wr, "session freed");
    dcgw_relay_free(wr->flow);
    free(wr);
    s->relay = NULL;
}

void dcgw__wrelay_peek(const struct wsession *s, unsigned k, Dcgw__LegState *state,
                       Dcgw__RelayCounters *c)
{
    const struct wrelay *wr = s->relay;
    if (!wr->flow) {
        dcgw__relay_counters__init(c);
        c->rx_packets = c->dropped_no_peer = wr->early[k];
        c->rx_bytes = wr->early_bytes[k];
        *state = s->desc->legs[k]->state;
        return;
    }
    fill_counters(wr, k, c);
    *state = leg_state(wr, k);
}
