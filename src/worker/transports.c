/* The ICE/DTLS transports of a terminated leg: what every one shares (a wleg with a unique
 * ufrag and a timer, the stage settings), and the audio/video transports beyond the leg's own
 * (docs/media.md): a peer that
 * does not bundle an audio or video m-line with its data channel (RFC 8843 absent, or
 * declined) runs a separate ICE agent and DTLS association for it, so dcgw answers that
 * m-line with ICE credentials of its own and runs an ICE-lite agent and a DTLS association
 * (a dcgw_leg without data channel) for it. The worker's socket is shared: the door
 * (datapath.c) finds such a transport by its ufrag in a STUN USERNAME, then by the address
 * its checks validated, like any leg. Its SRTP keys go to the media stage under the leg and
 * the transport's number (media.c). At most media.max_transports_per_leg per leg, the leg's
 * own included (dcgw_sdp_assign_transports). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/srtp.h"
#include "worker_int.h"

enum { TPS = DCGW_MEDIA_TRANSPORTS_CEILING };

static const char *leg_name(const struct wleg *t)
{
    return t->s->desc->legs[t->idx]->name;
}

/* ---- every transport of a leg, its own included */

struct wleg *dcgw__wleg_new(struct wsession *s, unsigned idx)
{
    struct worker *w = s->w;
    struct wleg *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->s = s;
    l->idx = idx;
    l->timer_due = UINT64_MAX;
    do {
        if (dcgw_sdp_ice_credentials(l->ufrag, sizeof(l->ufrag), l->pwd, sizeof(l->pwd)) < 0) {
            free(l);
            return NULL;
        }
    } while (g_hash_table_contains(w->by_ufrag, l->ufrag));
    uv_timer_init(w->loop, &l->timer);
    l->timer.data = l;
    s->handles_open++;
    g_hash_table_insert(w->by_ufrag, l->ufrag, l);
    return l;
}

void dcgw__wleg_settings(const struct wleg *l, const struct dcgw_sdp_transport *t,
                         enum dcgw_sdp_setup ours, struct dcgw_leg_settings *ls)
{
    const struct worker *w = l->s->w;
    *ls = (struct dcgw_leg_settings){
        .ice_role = DCGW_LEG_ICE_LITE,
        .local_ufrag = l->ufrag,
        .local_pwd = l->pwd,
        .remote_ufrag = t->ice_ufrag,
        .remote_pwd = t->ice_pwd,
        .dtls_client = ours == DCGW_SDP_SETUP_ACTIVE,
        .remote_fps = t->fingerprints,
        .n_remote_fps = t->n_fingerprints,
        .min_hash = w->cfg.dtls.min_hash,
        .consent_timeout_ms = w->cfg.ice.consent_timeout_ms,
        .setup_timeout_ms = w->cfg.sessions.setup_timeout_ms,
        .dtls_mtu = w->cfg.dtls.mtu,
        .dtls_initial_timeout_ms = w->cfg.dtls.initial_timeout_ms,
    };
}

/* ---- a transport's callbacks */

static void tp_connected(void *ud, const struct dcgw_fingerprint *matched)
{
    struct wleg *t = ud;
    char a[DCGW_ADDR_STRLEN] = "";
    const struct sockaddr *pa = dcgw_leg_peer(t->leg);
    DCGW_INFO(SESSION,
              "session %s leg %s: audio/video transport %u connected from %s (%s fingerprint "
              "matched)",
              t->s->desc->id, leg_name(t), t->tp, pa ? dcgw_addr_format(pa, a, sizeof(a)) : "?",
              matched ? dcgw_hash_name(matched->alg) : "?");
    dcgw__wmedia_connected(t->s, t->idx, t->tp, dcgw_leg_dtls(t->leg)); /* SRTP keys */
}

/* A DTLS failure (a certificate that does not match the SDP, an alert) fails the whole leg:
 * its peer is not who the SDP says. Anything else (consent lost, set-up timeout, the peer's
 * close_notify) ends this transport's media; the leg and its data channels go on. */
static void tp_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    struct wleg *t = ud;
    struct wsession *s = t->s;
    char why[DCGW_REASON_TEXT_MAX];
    snprintf(why, sizeof(why), "audio/video transport %u: %s", t->tp, reason);
    struct wleg *l = s->legs[t->idx];
    if (cause == DCGW_LEG_CAUSE_DTLS && l && !l->dead) {
        dcgw__wleg_failed(l, cause, err, why); /* kills its transports, this one too */
        return;
    }
    DCGW_INFO(SESSION, "session %s leg %s: %s (%s)", s->desc->id, leg_name(t), why,
              dcgw_err_name(err));
    dcgw__wplane_leg_kill(t);
    dcgw__wmedia_tp_failed(s, t->idx, t->tp, why);
}

static void tp_media(void *ud, const uint8_t *p, size_t n)
{
    dcgw__wmedia_input(ud, p, n);
}

/* ---- the leg's transports */

int dcgw__wtp_answer(struct wleg *l, const struct dcgw_sdp *offer, struct dcgw_sdp_av *av,
                     size_t n_av, enum dcgw_sdp_setup prefer, char *err, size_t errcap)
{
    for (size_t i = 0; av && i < n_av; i++) {
        unsigned tp = offer->rtp[av[i].rtp].tp;
        if (av[i].reject || tp == 0)
            continue;
        const struct dcgw_sdp_transport *rt = dcgw_sdp_tp_transport(offer, av, n_av, tp);
        if (tp >= TPS || !rt) { /* assign_transports and the parser rule these out */
            snprintf(err, errcap, "leg %s: m-line %s: no transport", leg_name(l),
                     offer->rtp[av[i].rtp].mid);
            return DCGW_EINTERNAL;
        }
        if (!l->tps[tp]) {
            struct wleg *t = dcgw__wleg_new(l->s, l->idx);
            if (!t) {
                snprintf(err, errcap, "leg %s: audio/video transport: out of memory", leg_name(l));
                return DCGW_ENOMEM;
            }
            t->tp = tp;
            l->tps[tp] = t;
        }
        av[i].ice_ufrag = l->tps[tp]->ufrag;
        av[i].ice_pwd = l->tps[tp]->pwd;
        av[i].setup = dcgw_sdp_answer_setup(rt->setup, prefer);
    }
    return 0;
}

/* Starts transport t toward rt, dcgw's DTLS role as `ours` says. */
static int start_one(struct wleg *t, const struct dcgw_sdp_transport *rt, enum dcgw_sdp_setup ours,
                     char *err, size_t errcap)
{
    struct worker *w = t->s->w;
    struct dcgw_leg_settings ls;
    dcgw__wleg_settings(t, rt, ours, &ls);
    ls.srtp_profiles = DCGW_SRTP_PROFILES_OFFER; /* it carries audio or video only */
    struct dcgw_leg_cbs cbs = {.ud = t,
                               .send = dcgw__wplane_leg_send,
                               .on_connected = tp_connected,
                               .on_failed = tp_failed,
                               .on_media = tp_media};
    int r = dcgw_leg_new(w->dtls_ctx, &ls, &cbs, &t->leg);
    if (r < 0) {
        snprintf(err, errcap, "leg %s: audio/video transport %u: %s", leg_name(t), t->tp,
                 dcgw_strerror(r));
        return r;
    }
    w->stats.dtls_objects_created++;
    dcgw_leg_start(t->leg, uv_now(w->loop));
    dcgw__wplane_rearm(t);
    return 0;
}

int dcgw__wtp_start(struct wleg *l, const struct dcgw_sdp *offer, const struct dcgw_sdp_av *av,
                    size_t n_av, char *err, size_t errcap)
{
    for (unsigned tp = 1; tp < TPS; tp++) {
        struct wleg *t = l->tps[tp];
        if (!t || t->leg || t->dead)
            continue;
        const struct dcgw_sdp_transport *rt = dcgw_sdp_tp_transport(offer, av, n_av, tp);
        enum dcgw_sdp_setup ours = DCGW_SDP_SETUP_NONE;
        for (size_t i = 0; i < n_av && ours == DCGW_SDP_SETUP_NONE; i++)
            if (!av[i].reject && offer->rtp[av[i].rtp].tp == tp)
                ours = av[i].setup; /* what the answer said for it */
        if (!rt || ours == DCGW_SDP_SETUP_NONE) {
            snprintf(err, errcap, "leg %s: audio/video transport %u: nothing to carry", leg_name(l),
                     tp);
            return DCGW_EINTERNAL;
        }
        int r = start_one(t, rt, ours, err, errcap);
        if (r < 0)
            return r;
    }
    return 0;
}

void dcgw__wtp_kill(struct wleg *l)
{
    for (unsigned tp = 1; tp < TPS; tp++)
        if (l->tps[tp])
            dcgw__wplane_leg_kill(l->tps[tp]);
}

void dcgw__wtp_close(struct wleg *l, uv_close_cb cb)
{
    for (unsigned tp = 1; tp < TPS; tp++) {
        struct wleg *t = l->tps[tp];
        if (!t || uv_is_closing((uv_handle_t *)&t->timer))
            continue;
        dcgw__wplane_leg_kill(t);
        dcgw__wplane_leg_forget(t->s->w, t);
        uv_close((uv_handle_t *)&t->timer, cb);
    }
}

void dcgw__wtp_free(struct wleg *l)
{
    for (unsigned tp = 1; tp < TPS; tp++) {
        free(l->tps[tp]);
        l->tps[tp] = NULL;
    }
}
