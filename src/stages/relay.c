/* One relayed flow: per-hop ICE-lite, RFC 7983 demux, rate limits, the passive DTLS
 * handshake inspector, and forwarding of the caller's buffer unchanged. See relay.h and
 * docs/relay.md. */
#include "dcgw/stages/relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/demux.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/base/log.h"
#include "dcgw/base/reentry.h"
#include "dcgw/base/tbucket.h"

struct rside {
    struct dcgw_relay *r;
    int idx;
    struct dcgw_ice_lite *lite;
    struct sockaddr_storage last_ok; /* latest address that sent a valid check */
    bool has_last_ok;
    struct dcgw_tbucket packets, bytes;
    struct dcgw_relay_side_stats st;
};

struct dcgw_relay {
    struct dcgw_relay_cbs cbs;
    struct rside side[2];
    struct dcgw_dtls_inspect *insp;
    enum dcgw_relay_state final; /* CONNECTED / UNINSPECTED / BLOCKED / FAILED, or ICE */
    int fault_side, err;
    bool mitm;
    uint64_t setup_deadline; /* UINT64_MAX once connected */
    struct dcgw_reentry re;  /* inside input / handle_timeout (base/reentry.h) */
    char reason[DCGW_RELAY_REASON_MAX];
};

void dcgw_relay_settings_default(struct dcgw_relay_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->burst_ms = DCGW_RELAY_BURST_MS_DEFAULT;
    s->setup_timeout_ms = DCGW_RELAY_SETUP_TIMEOUT_MS_DEFAULT;
}

const char *dcgw_relay_state_name(enum dcgw_relay_state s)
{
    static const char *const names[] = {"ice",         "inspecting", "connected",
                                        "uninspected", "blocked",    "failed"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static bool is_final(const struct dcgw_relay *r)
{
    return r->final == DCGW_RELAY_BLOCKED || r->final == DCGW_RELAY_FAILED;
}

static void emit(struct dcgw_relay *r, enum dcgw_relay_event ev, int side)
{
    if (r->cbs.on_event)
        r->cbs.on_event(r->cbs.ud, ev, side);
}

static void send_to(struct dcgw_relay *r, int side, const struct sockaddr *to, const uint8_t *p,
                    size_t n)
{
    r->cbs.send(r->cbs.ud, side, to, p, n);
}

/* ---- rate limits */

static uint64_t burst_of(uint64_t rate, uint32_t burst_ms, uint64_t floor)
{
    if (!rate)
        return 0;
    uint64_t b = rate / 1000 * burst_ms + rate % 1000 * burst_ms / 1000;
    return b < floor ? floor : b;
}

void dcgw_relay_set_limits(struct dcgw_relay *r, uint64_t max_packets_per_s,
                           uint64_t max_bytes_per_s, uint32_t burst_ms, uint64_t now_ms)
{
    if (!burst_ms)
        burst_ms = DCGW_RELAY_BURST_MS_DEFAULT;
    if (burst_ms > DCGW_RELAY_BURST_MS_MAX)
        burst_ms = DCGW_RELAY_BURST_MS_MAX;
    uint64_t now_us = now_ms * 1000;
    for (int k = 0; k < 2; k++) {
        dcgw_tbucket_set(&r->side[k].packets, max_packets_per_s,
                         burst_of(max_packets_per_s, burst_ms, DCGW_RELAY_BURST_PACKETS_MIN),
                         now_us);
        dcgw_tbucket_set(&r->side[k].bytes, max_bytes_per_s,
                         burst_of(max_bytes_per_s, burst_ms, DCGW_RELAY_BURST_BYTES_MIN), now_us);
    }
}

static bool within_limits(struct rside *s, size_t n, uint64_t now_ms)
{
    uint64_t now_us = now_ms * 1000;
    if (dcgw_tbucket_available(&s->packets, now_us) < 1 ||
        dcgw_tbucket_available(&s->bytes, now_us) < n)
        return false;
    dcgw_tbucket_take(&s->packets, 1, now_us);
    dcgw_tbucket_take(&s->bytes, n, now_us);
    return true;
}

/* ---- ICE callbacks (per hop) */

static void ice_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct rside *s = ud;
    send_to(s->r, s->idx, to, p, n);
}

static void ice_selected(void *ud, const struct sockaddr *peer)
{
    struct rside *s = ud;
    char a[DCGW_ADDR_STRLEN];
    DCGW_DEBUG(RELAY, "side %d nominated %s", s->idx, dcgw_addr_format(peer, a, sizeof(a)));
    emit(s->r, DCGW_RELAY_EV_LATCHED, s->idx);
}

static void fail(struct dcgw_relay *r, enum dcgw_relay_state st, int side, int err,
                 const char *reason)
{
    if (is_final(r))
        return;
    r->final = st;
    r->fault_side = side;
    r->err = err;
    r->setup_deadline = UINT64_MAX;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    emit(r, st == DCGW_RELAY_BLOCKED ? DCGW_RELAY_EV_BLOCKED : DCGW_RELAY_EV_FAILED, side);
}

static void ice_consent_lost(void *ud)
{
    struct rside *s = ud;
    char why[96];
    snprintf(why, sizeof(why), "ICE consent lost on side %d (RFC 7675)", s->idx);
    fail(s->r, DCGW_RELAY_FAILED, s->idx, DCGW_ETIMEOUT, why);
}

/* ---- life */

static int side_new(struct dcgw_relay *r, int k, const struct dcgw_relay_settings *s)
{
    const struct dcgw_relay_side_settings *ss = &s->side[k];
    struct rside *side = &r->side[k];
    side->r = r;
    side->idx = k;
    struct dcgw_ice_lite_settings is;
    dcgw_ice_lite_settings_default(&is);
    is.local_ufrag = ss->local_ufrag;
    is.local_pwd = ss->local_pwd;
    is.remote_ufrag = ss->remote_ufrag;
    is.remote_pwd = ss->remote_pwd;
    is.consent_timeout_ms = s->consent_timeout_ms;
    struct dcgw_ice_cbs ic = {.ud = side,
                              .send = ice_send,
                              .on_selected = ice_selected,
                              .on_consent_lost = ice_consent_lost};
    if (!ss->local_ufrag || !ss->local_pwd || !ss->remote_ufrag)
        return DCGW_EINVAL;
    return dcgw_ice_lite_new(&is, &ic, &side->lite);
}

int dcgw_relay_new(const struct dcgw_relay_settings *s, const struct dcgw_relay_cbs *cbs,
                   uint64_t now_ms, struct dcgw_relay **out)
{
    if (!s || !cbs || !cbs->send || !out)
        return DCGW_EINVAL;
    if (s->burst_ms > DCGW_RELAY_BURST_MS_MAX)
        return DCGW_ERANGE;
    struct dcgw_relay *r = calloc(1, sizeof(*r));
    if (!r)
        return DCGW_ENOMEM;
    r->cbs = *cbs;
    r->final = DCGW_RELAY_ICE;
    r->fault_side = -1;
    uint32_t setup =
        s->setup_timeout_ms ? s->setup_timeout_ms : DCGW_RELAY_SETUP_TIMEOUT_MS_DEFAULT;
    r->setup_deadline = now_ms + setup;
    struct dcgw_dtls_inspect_settings is = {
        .fps = {s->side[0].fps, s->side[1].fps},
        .n_fps = {s->side[0].n_fps, s->side[1].n_fps},
        .min_hash = s->min_hash,
        .max_handshake_bytes = s->max_handshake_bytes,
        .policy = s->policy,
    };
    int rc = side_new(r, 0, s);
    if (rc == 0)
        rc = side_new(r, 1, s);
    if (rc == 0)
        rc = dcgw_dtls_inspect_new(&is, NULL, &r->insp);
    if (rc < 0) {
        dcgw_relay_free(r);
        return rc;
    }
    for (int k = 0; k < 2; k++) {
        dcgw_tbucket_init(&r->side[k].packets, 0, 0, now_ms * 1000);
        dcgw_tbucket_init(&r->side[k].bytes, 0, 0, now_ms * 1000);
    }
    dcgw_relay_set_limits(r, s->max_packets_per_s, s->max_bytes_per_s, s->burst_ms, now_ms);
    *out = r;
    return 0;
}

static void real_free(struct dcgw_relay *r)
{
    dcgw_ice_lite_free(r->side[0].lite);
    dcgw_ice_lite_free(r->side[1].lite);
    dcgw_dtls_inspect_free(r->insp);
    free(r);
}

void dcgw_relay_free(struct dcgw_relay *r)
{
    if (r && dcgw_reentry_free_now(&r->re)) /* else from a callback: when the call returns */
        real_free(r);
}

/* ---- the data path */

const struct sockaddr *dcgw_relay_peer(const struct dcgw_relay *r, int side)
{
    if (!r || side < 0 || side > 1)
        return NULL;
    const struct rside *s = &r->side[side];
    const struct sockaddr *sel = dcgw_ice_lite_peer(s->lite);
    if (sel)
        return sel;
    /* Regular nomination: a validated address may carry DTLS before it nominates. */
    return s->has_last_ok ? (const struct sockaddr *)&s->last_ok : NULL;
}

static int stun_in(struct rside *s, const struct sockaddr *from, const uint8_t *p, size_t n,
                   uint64_t now_ms)
{
    bool had_peer = dcgw_relay_peer(s->r, s->idx) != NULL;
    int rc = dcgw_ice_lite_recv(s->lite, from, p, n, now_ms);
    if (rc < 0) {
        s->st.stun_rejected++;
        return DCGW_RELAY_DROPPED;
    }
    s->st.stun++;
    memcpy(&s->last_ok, from, dcgw_addr_len(from));
    s->has_last_ok = true;
    if (!had_peer && !dcgw_ice_lite_peer(s->lite)) /* a nomination already emitted it */
        emit(s->r, DCGW_RELAY_EV_LATCHED, s->idx);
    return DCGW_RELAY_STUN_OK;
}

/* The inspector left INSPECTING: connected, allowed uninspected, or blocked. */
static void inspector_decided(struct dcgw_relay *r)
{
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(r->insp, &st);
    if (st.state == DCGW_INSPECT_BLOCKED) {
        const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(r->insp, st.side);
        r->mitm =
            sd && (sd->cert == DCGW_INSPECT_CERT_MISMATCH || sd->cert == DCGW_INSPECT_CERT_NONE);
        DCGW_LOG_RL(RELAY, WARN, "relay blocked, side %d%s: %s", st.side,
                    r->mitm ? " (man in the middle suspected)" : "", st.reason);
        fail(r, DCGW_RELAY_BLOCKED, st.side, st.err, st.reason);
        return;
    }
    r->final = st.state == DCGW_INSPECT_VERIFIED ? DCGW_RELAY_CONNECTED : DCGW_RELAY_UNINSPECTED;
    r->err = st.state == DCGW_INSPECT_VERIFIED ? 0 : st.err;
    snprintf(r->reason, sizeof(r->reason), "%s", st.reason ? st.reason : "");
    r->setup_deadline = UINT64_MAX;
    emit(r, DCGW_RELAY_EV_CONNECTED, -1);
}

static int dtls_in(struct rside *s, const struct sockaddr *from, const uint8_t *p, size_t n,
                   uint64_t now_ms)
{
    struct dcgw_relay *r = s->r;
    /* RFC 8445 §7.3 / DESIGN §3: DTLS only from an address that passed a check. */
    if (!dcgw_ice_lite_addr_known(s->lite, from)) {
        s->st.dropped_unvalidated++;
        return DCGW_RELAY_DROPPED;
    }
    const struct sockaddr *to = dcgw_relay_peer(r, 1 - s->idx);
    if (!to) {
        s->st.dropped_no_peer++;
        return DCGW_RELAY_DROPPED;
    }
    if (!within_limits(s, n, now_ms)) {
        s->st.dropped_rate++;
        return DCGW_RELAY_DROPPED;
    }
    int v = dcgw_dtls_inspect_datagram(r->insp, s->idx, p, n);
    bool decided =
        r->final == DCGW_RELAY_ICE && dcgw_dtls_inspect_state(r->insp) != DCGW_INSPECT_INSPECTING;
    if (v == DCGW_INSPECT_PASS) {
        send_to(r, 1 - s->idx, to, p, n);
        s->st.forwarded_packets++;
        s->st.forwarded_bytes += n;
    } else if (v == DCGW_INSPECT_BLOCK) {
        s->st.dropped_blocked++;
    } else {
        s->st.dropped_inspector++;
    }
    if (decided)
        inspector_decided(r);
    return v == DCGW_INSPECT_PASS ? DCGW_RELAY_FORWARDED : DCGW_RELAY_DROPPED;
}

/* RFC 7983: RTP/RTCP. The peers key SRTP from their own handshake (RFC 5764), which dcgw
 * only inspected: it forwards the datagrams untouched, once that handshake was verified
 * (or allowed uninspected), from a validated address, within the side's limits. */
static int media_in(struct rside *s, const struct sockaddr *from, const uint8_t *p, size_t n,
                    uint64_t now_ms)
{
    struct dcgw_relay *r = s->r;
    if (!dcgw_ice_lite_addr_known(s->lite, from)) {
        s->st.dropped_unvalidated++;
        return DCGW_RELAY_DROPPED;
    }
    if (r->final != DCGW_RELAY_CONNECTED && r->final != DCGW_RELAY_UNINSPECTED) {
        s->st.dropped_media++;
        return DCGW_RELAY_DROPPED;
    }
    const struct sockaddr *to = dcgw_relay_peer(r, 1 - s->idx);
    if (!to) {
        s->st.dropped_no_peer++;
        return DCGW_RELAY_DROPPED;
    }
    if (!within_limits(s, n, now_ms)) {
        s->st.dropped_rate++;
        return DCGW_RELAY_DROPPED;
    }
    send_to(r, 1 - s->idx, to, p, n);
    s->st.media_forwarded_packets++;
    s->st.media_forwarded_bytes += n;
    return DCGW_RELAY_FORWARDED;
}

static int input(struct dcgw_relay *r, int side, const struct sockaddr *from, const uint8_t *p,
                 size_t n, uint64_t now_ms)
{
    struct rside *s = &r->side[side];
    s->st.rx_packets++;
    s->st.rx_bytes += n;
    if (is_final(r)) {
        /* A blocked flow stays blocked: nothing is answered or forwarded any more. */
        s->st.dropped_blocked++;
        return DCGW_RELAY_DROPPED;
    }
    switch (dcgw_demux_packet(NULL, p, n)) {
    case DCGW_DEMUX_STUN:
        return stun_in(s, from, p, n, now_ms);
    case DCGW_DEMUX_DTLS:
        return dtls_in(s, from, p, n, now_ms);
    case DCGW_DEMUX_RTP:
        return media_in(s, from, p, n, now_ms);
    default: {
        char a[DCGW_ADDR_STRLEN];
        s->st.dropped_garbage++;
        DCGW_LOG_RL(RELAY, DEBUG,
                    "relay side %d: dropped %zu bytes of neither STUN nor DTLS from %s", side, n,
                    dcgw_addr_format(from, a, sizeof(a)));
        return DCGW_RELAY_DROPPED;
    }
    }
}

int dcgw_relay_input(struct dcgw_relay *r, int side, const struct sockaddr *from, const uint8_t *p,
                     size_t n, uint64_t now_ms)
{
    if (!r || side < 0 || side > 1 || !from || (!p && n))
        return DCGW_EINVAL;
    if (dcgw_reentry_busy(&r->re))
        return DCGW_ESTATE;
    dcgw_reentry_enter(&r->re); /* the agents', the inspector's and our callbacks run inside */
    int rc = input(r, side, from, p, n, now_ms);
    if (dcgw_reentry_leave(&r->re))
        real_free(r);
    return rc;
}

/* ---- timers */

uint64_t dcgw_relay_next_timeout(const struct dcgw_relay *r)
{
    if (is_final(r))
        return UINT64_MAX;
    uint64_t t = r->setup_deadline;
    for (int k = 0; k < 2; k++) {
        uint64_t c = dcgw_ice_lite_next_timeout(r->side[k].lite);
        if (c < t)
            t = c;
    }
    return t;
}

void dcgw_relay_handle_timeout(struct dcgw_relay *r, uint64_t now_ms)
{
    if (dcgw_reentry_busy(&r->re) || is_final(r))
        return;
    dcgw_reentry_enter(&r->re);
    for (int k = 0; k < 2 && !is_final(r); k++)
        dcgw_ice_lite_handle_timeout(r->side[k].lite, now_ms);
    if (!is_final(r) && now_ms >= r->setup_deadline)
        fail(r, DCGW_RELAY_FAILED, -1, DCGW_ETIMEOUT,
             r->final == DCGW_RELAY_ICE && dcgw_relay_peer(r, 0) && dcgw_relay_peer(r, 1)
                 ? "relay setup timed out: DTLS handshake not verified"
                 : "relay setup timed out: ICE not done on both hops");
    if (dcgw_reentry_leave(&r->re))
        real_free(r);
}

/* ---- queries */

enum dcgw_relay_state dcgw_relay_state(const struct dcgw_relay *r)
{
    if (r->final != DCGW_RELAY_ICE)
        return r->final;
    return dcgw_relay_peer(r, 0) && dcgw_relay_peer(r, 1) ? DCGW_RELAY_INSPECTING : DCGW_RELAY_ICE;
}

void dcgw_relay_status(const struct dcgw_relay *r, struct dcgw_relay_status *out)
{
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(r->insp, &st);
    out->state = dcgw_relay_state(r);
    out->side = r->fault_side;
    out->err = r->err;
    out->reason = r->reason;
    out->mitm_suspected = r->mitm;
    out->dtls_client = st.client;
}

const struct dcgw_relay_side_stats *dcgw_relay_stats(const struct dcgw_relay *r, int side)
{
    return r && side >= 0 && side <= 1 ? &r->side[side].st : NULL;
}

const struct dcgw_dtls_inspect *dcgw_relay_inspector(const struct dcgw_relay *r)
{
    return r->insp;
}
