/* Audio and video of a terminated session (docs/media.md): what each leg is answered or
 * offered (the legs' SDP paired, the policy applied), the media stage between the legs, its
 * keys from each leg's DTLS, its events, and what get and stats show of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/guard/policy.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/media.h"
#include "dcgw/stages/srtp.h"
#include "events.h"
#include "worker_int.h"

enum { TPS = DCGW_MEDIA_TRANSPORTS_MAX };

/* A transport that connected (or failed) before the stage existed (ROLE_OFFER legs: the
 * stage comes with the far end's answer). */
struct wpending {
    bool has_keys;
    struct dcgw_srtp_keys keys;
    char failure[DCGW_MEDIA_REASON_MAX]; /* no SRTP on it, or it failed */
};

struct wmedia {
    struct dcgw_media *stage; /* NULL until both legs' SDP are known and something pairs */
    int8_t line_of[DCGW_MAX_LEGS][DCGW_SDP_RTP_MAX]; /* leg k's m-line i -> stage line (-1) */
    bool wants_srtp[DCGW_MAX_LEGS][TPS]; /* the leg's transport carries accepted audio/video */
    struct wpending *pending[DCGW_MAX_LEGS][TPS]; /* per leg and transport; NULL: none */
};

static void pending_free(struct wpending **p)
{
    if (!*p)
        return;
    dcgw_srtp_keys_wipe(&(*p)->keys);
    free(*p);
    *p = NULL;
}

static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

static struct wmedia *wm_of(struct wsession *s)
{
    if (!s->media && (s->media = calloc(1, sizeof(*s->media))))
        memset(s->media->line_of, -1, sizeof(s->media->line_of));
    return s->media;
}

/* ---- the controller's view: Leg.media lines, from what dcgw wrote */

static Dcgw__MediaLine *line_pb(const struct dcgw_sdp_av *av)
{
    Dcgw__MediaLine *ml = calloc(1, sizeof(*ml));
    if (!ml)
        return NULL;
    dcgw__media_line__init(ml);
    const struct dcgw_sdp_rtp *r = &av->src->rtp[av->rtp];
    ml->mid = strdup(r->mid);
    ml->has_kind = ml->has_accepted = 1;
    ml->kind = r->kind == DCGW_SDP_KIND_AUDIO ? DCGW__MEDIA_KIND__MEDIA_AUDIO
                                              : DCGW__MEDIA_KIND__MEDIA_VIDEO;
    ml->accepted = !av->reject;
    if (av->reject) {
        ml->reason = strdup(av->reason);
        return ml;
    }
    ml->direction = strdup(dir_names[av->dir & 3]);
    ml->codecs = calloc(r->n_codecs ? r->n_codecs : 1, sizeof(*ml->codecs));
    for (unsigned i = 0; ml->codecs && i < r->n_codecs; i++) {
        const struct dcgw_sdp_codec *c = &av->src->codecs[r->first_codec + i];
        char t[64];
        if (!(av->codecs >> i & 1))
            continue;
        if (c->channels > 1)
            snprintf(t, sizeof(t), "%s/%u/%u pt %u", c->name, c->clock, c->channels, c->pt);
        else
            snprintf(t, sizeof(t), "%s/%u pt %u", c->name, c->clock, c->pt);
        if ((ml->codecs[ml->n_codecs] = strdup(t)))
            ml->n_codecs++;
    }
    return ml;
}

/* Replaces leg idx's media lines with those of av (what dcgw answered or offered it); own: av
 * describes the leg's own SDP (an answer dcgw writes), whose m-lines may have transports of
 * their own (else everything is on the leg's one transport). */
static void status_lines(struct wsession *s, unsigned idx, const struct dcgw_sdp_av *av, size_t n,
                         bool own)
{
    Dcgw__Leg *pl = s->desc->legs[idx];
    if (pl->media)
        protobuf_c_message_free_unpacked(&pl->media->base, NULL);
    pl->media = NULL;
    if (n == 0)
        return;
    Dcgw__MediaStatus *ms = calloc(1, sizeof(*ms));
    if (!ms)
        return;
    dcgw__media_status__init(ms);
    ms->lines = calloc(n, sizeof(*ms->lines));
    for (size_t i = 0; ms->lines && i < n; i++)
        if ((ms->lines[ms->n_lines] = line_pb(&av[i])))
            ms->n_lines++;
    pl->media = ms;
    if (!wm_of(s))
        return;
    memset(s->media->wants_srtp[idx], 0, sizeof(s->media->wants_srtp[idx]));
    for (size_t i = 0; i < n; i++)
        if (!av[i].reject)
            s->media->wants_srtp[idx][own ? av[i].src->rtp[av[i].rtp].tp % TPS : 0] = true;
}

/* ---- policy */

void dcgw__wmedia_allowed(struct wsession *s, unsigned idx, bool out[2])
{
    const struct dcgw_policy *p = dcgw_policy_current(s->policy);
    for (unsigned k = 0; k < 2; k++) {
        uint64_t br;
        uint32_t burst;
        dcgw_policy_media(p, idx, k, &out[k], &br, &burst);
    }
}

void dcgw__wmedia_policy(struct wsession *s)
{
    struct wmedia *m = s->media;
    if (!m || !m->stage)
        return;
    const struct dcgw_policy *p = dcgw_policy_current(s->policy);
    uint64_t now = uv_now(s->w->loop);
    for (size_t i = 0; i < dcgw_media_lines(m->stage); i++) {
        const struct dcgw_media_line_info *li = dcgw_media_line(m->stage, (int)i);
        for (unsigned k = 0; k < s->n_legs && k < 2; k++) {
            bool ok;
            uint64_t br;
            uint32_t burst;
            dcgw_policy_media(p, k, li->kind == DCGW_SDP_KIND_AUDIO ? 0 : 1, &ok, &br, &burst);
            dcgw_media_set_policy(m->stage, (int)i, (int)k, ok, br, burst, now);
        }
    }
}

/* ---- the stage's output */

static void stage_send(void *ud, int side, int tp, const uint8_t *p, size_t n)
{
    struct wsession *s = ud;
    struct wleg *l = side >= 0 && (unsigned)side < s->n_legs ? s->legs[side] : NULL;
    if (l && tp > 0)
        l = tp < TPS ? l->tps[tp] : NULL;
    if (l && l->leg && !l->dead)
        dcgw_leg_send_media(l->leg, p, n);
}

static void emit_failed(struct wsession *s, int side, int code, const char *reason)
{
    Dcgw__MediaFailed mf = DCGW__MEDIA_FAILED__INIT;
    mf.has_code = 1;
    mf.code = code;
    mf.reason = (char *)reason;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_MEDIA_FAILED;
    ev.media_failed = &mf;
    DCGW_INFO(MEDIA, "session %s leg %s: no audio or video: %s", s->desc->id,
              s->desc->legs[side]->name, reason);
    dcgw__wev_emit_session(s, side, &ev);
}

static void stage_event(void *ud, int side, int line, enum dcgw_media_event ev, const char *reason)
{
    struct wsession *s = ud;
    if (ev == DCGW_MEDIA_EV_FAILED) {
        emit_failed(s, side, DCGW_ENOENT, reason);
        return;
    }
    const struct dcgw_media_line_info *li = dcgw_media_line(s->media->stage, line);
    Dcgw__MediaStarted ms = DCGW__MEDIA_STARTED__INIT;
    ms.mid = (char *)li->mid[side];
    ms.has_kind = 1;
    ms.kind = li->kind == DCGW_SDP_KIND_AUDIO ? DCGW__MEDIA_KIND__MEDIA_AUDIO
                                              : DCGW__MEDIA_KIND__MEDIA_VIDEO;
    ms.srtp_profile =
        (char *)dcgw_srtp_profile_name(dcgw_media_profile(s->media->stage, side, li->tp[side]));
    Dcgw__Event e = DCGW__EVENT__INIT;
    e.kind_case = DCGW__EVENT__KIND_MEDIA_STARTED;
    e.media_started = &ms;
    DCGW_DEBUG(MEDIA, "session %s leg %s: media started on mid %s", s->desc->id,
               s->desc->legs[side]->name, li->mid[side]);
    dcgw__wev_emit_session(s, side, &e);
}

/* What a transport brought before the stage existed, into the stage. */
static void apply_pending(struct wsession *s, unsigned idx, unsigned tp)
{
    struct wmedia *m = s->media;
    struct wpending *p = m->pending[idx][tp];
    if (p->failure[0])
        dcgw_media_fail_transport(m->stage, (int)idx, (int)tp, p->failure);
    else if (p->has_keys && dcgw_media_set_keys(m->stage, (int)idx, (int)tp, &p->keys) == 0)
        s->w->stats.srtp_sessions_created += 2;
    pending_free(&m->pending[idx][tp]);
}

/* Builds the stage from a match between the legs' SDPs. */
static int make_stage(struct wsession *s, const struct dcgw_sdp_match *match,
                      const struct dcgw_sdp *sdp0, const struct dcgw_sdp *sdp1)
{
    struct wmedia *m = wm_of(s);
    if (!m)
        return DCGW_ENOMEM;
    if (match->n_pairs == 0 || m->stage)
        return 0;
    struct dcgw_media_cbs cbs = {.ud = s, .send = stage_send, .on_event = stage_event};
    int r = dcgw_media_new(match, sdp0, sdp1, NULL, &cbs, &m->stage);
    if (r < 0)
        return r;
    for (size_t j = 0; j < match->n_pairs; j++)
        for (unsigned k = 0; k < 2; k++)
            m->line_of[k][match->pairs[j].rtp[k]] = (int8_t)j;
    dcgw__wmedia_policy(s);
    for (unsigned k = 0; k < 2; k++)
        for (unsigned t = 0; t < TPS; t++)
            if (m->pending[k][t])
                apply_pending(s, k, t);
    return 0;
}

/* ---- planning a session's SDP */

struct wplan {
    struct worker *w;                    /* whose SDP buffers sdp[] are (sdpbuf.c) */
    struct dcgw_sdp *sdp[DCGW_MAX_LEGS]; /* the offers of ROLE_ANSWER legs */
    struct dcgw_sdp_match match;         /* both legs offered */
    struct dcgw_sdp_av av[DCGW_MAX_LEGS][DCGW_SDP_RTP_MAX];
    size_t n_av[DCGW_MAX_LEGS];
    bool offers[DCGW_MAX_LEGS]; /* av[k] is an offer dcgw makes to leg k */
    size_t dc_index[DCGW_MAX_LEGS];
};

static int parse(struct wsession *s, unsigned idx, const char *text, struct dcgw_sdp **out,
                 char *err, size_t errcap)
{
    char why[256] = "";
    struct dcgw_sdp *sdp = dcgw__wsdp_take(s->w);
    int r = sdp ? dcgw_sdp_parse(text, strlen(text), sdp, why, sizeof(why)) : DCGW_ENOMEM;
    if (r < 0) {
        snprintf(err, errcap, "leg %s: remote SDP: %s", s->desc->legs[idx]->name,
                 sdp ? why : "out of memory");
        dcgw__wsdp_give(s->w, sdp);
        return r;
    }
    /* RFC 8843: an m-line outside the data channel's bundle needs a transport of its own */
    char cap[DCGW_SDP_REASON_SIZE];
    snprintf(cap, sizeof(cap), "not bundled, and past media.max_transports_per_leg (%u)",
             s->w->cfg.media.max_transports_per_leg);
    dcgw_sdp_assign_transports(sdp, s->w->cfg.media.max_transports_per_leg, cap);
    *out = sdp;
    return 0;
}

int dcgw__wmedia_plan(struct wsession *s, struct wplan **out, char *err, size_t errcap)
{
    struct wplan *p = calloc(1, sizeof(*p));
    if (!p)
        return DCGW_ENOMEM;
    p->w = s->w;
    *out = p;
    unsigned answers = 0, n = s->n_legs;
    for (unsigned i = 0; i < n; i++) {
        Dcgw__Leg *pl = s->desc->legs[i];
        if (pl->role == DCGW__LEG_ROLE__ROLE_OFFER)
            continue;
        int r = parse(s, i, pl->dc->remote_sdp ? pl->dc->remote_sdp : "", &p->sdp[i], err, errcap);
        if (r < 0)
            return r;
        answers++;
    }
    if (n == 2 && answers == 2) { /* both offered: each is answered with what both carry */
        struct dcgw_sdp_match_opts o;
        dcgw__wmedia_allowed(s, 0, o.allow[0]);
        dcgw__wmedia_allowed(s, 1, o.allow[1]);
        dcgw_sdp_match(p->sdp[0], p->sdp[1], &o, &p->match);
        for (unsigned k = 0; k < 2; k++) {
            memcpy(p->av[k], p->match.av[k], sizeof(p->av[k]));
            p->n_av[k] = p->match.n_av[k];
        }
        return make_stage(s, &p->match, p->sdp[0], p->sdp[1]);
    }
    for (unsigned i = 0; i < n; i++) {
        if (!p->sdp[i])
            continue;
        bool ok[2];
        dcgw__wmedia_allowed(s, i, ok);
        if (n == 2) /* the other leg gets what this one sends: its policy counts too */
            for (unsigned k = 0; k < 2; k++) {
                bool o2[2];
                dcgw__wmedia_allowed(s, 1 - i, o2);
                ok[k] &= o2[k];
            }
        else
            ok[0] = ok[1] = false; /* one leg: nowhere to send it */
        dcgw_sdp_answer_alone(p->sdp[i], ok, p->av[i]);
        p->n_av[i] = p->sdp[i]->n_rtp;
        if (n == 2 && !p->sdp[1 - i]) { /* dcgw offers the other leg the same */
            p->n_av[1 - i] = dcgw_sdp_offer_from(p->av[i], p->n_av[i], p->av[1 - i]);
            p->offers[1 - i] = true;
            for (size_t j = 0; j < p->sdp[i]->n_rtp; j++) /* keep the data channel's place */
                p->dc_index[1 - i] += !p->av[i][j].reject &&
                                      p->sdp[i]->rtp[j].media_index < p->sdp[i]->dc.media_index;
        }
    }
    return 0;
}

void dcgw__wmedia_plan_free(struct wplan *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < DCGW_MAX_LEGS; i++)
        dcgw__wsdp_give(p->w, p->sdp[i]);
    free(p);
}

struct dcgw_sdp *dcgw__wmedia_plan_offer(const struct wplan *p, unsigned idx)
{
    return p && idx < DCGW_MAX_LEGS ? p->sdp[idx] : NULL;
}

struct dcgw_sdp_av *dcgw__wmedia_plan_local(struct wsession *s, struct wplan *p, unsigned idx,
                                            struct dcgw_sdp_local *loc)
{
    loc->av = NULL;
    loc->n_av = loc->dc_index = 0;
    if (!p || idx >= DCGW_MAX_LEGS)
        return NULL;
    loc->av = p->av[idx];
    loc->n_av = p->n_av[idx];
    loc->dc_index = p->offers[idx] ? p->dc_index[idx] : 0;
    status_lines(s, idx, p->av[idx], p->n_av[idx], !p->offers[idx]);
    return p->av[idx];
}

/* ---- the answer to an offer dcgw made */

int dcgw__wmedia_answered(struct wsession *s, unsigned idx, struct dcgw_sdp *answer, char *err,
                          size_t errcap)
{
    /* dcgw offered one transport (everything bundled, one ICE ufrag) */
    dcgw_sdp_assign_transports(answer, 1, "not bundled in the answer to dcgw's one transport");
    unsigned other = 1 - idx;
    if (s->n_legs != 2 || s->desc->legs[other]->role == DCGW__LEG_ROLE__ROLE_OFFER) {
        struct dcgw_sdp_av none[DCGW_SDP_RTP_MAX];
        bool no[2] = {false, false};
        dcgw_sdp_answer_alone(answer, no, none);
        status_lines(s, idx, none, answer->n_rtp, true);
        return 0;
    }
    struct dcgw_sdp *offer = NULL;
    int r = parse(s, other, s->desc->legs[other]->dc->remote_sdp, &offer, err, errcap);
    struct dcgw_sdp_match *match = r == 0 ? calloc(1, sizeof(*match)) : NULL;
    if (r == 0 && !match)
        r = DCGW_ENOMEM;
    if (r == 0) {
        struct dcgw_sdp_match_opts o;
        dcgw__wmedia_allowed(s, 0, o.allow[0]);
        dcgw__wmedia_allowed(s, 1, o.allow[1]);
        /* the other leg was answered alone: the policy of both decided what it got */
        const struct dcgw_sdp *sdp0 = idx == 0 ? answer : offer, *sdp1 = idx == 0 ? offer : answer;
        dcgw_sdp_match(sdp0, sdp1, &o, match);
        status_lines(s, idx, match->av[idx], match->n_av[idx], true);
        r = make_stage(s, match, sdp0, sdp1);
        if (r < 0)
            snprintf(err, errcap, "leg %s: media: %s", s->desc->legs[idx]->name, dcgw_strerror(r));
    }
    free(match);
    dcgw__wsdp_give(s->w, offer);
    return r;
}

/* ---- a leg's life */

bool dcgw__wmedia_wants_srtp(const struct wsession *s, unsigned idx, int tp)
{
    if (!s->media || idx >= DCGW_MAX_LEGS || tp >= TPS)
        return false;
    for (int t = tp < 0 ? 0 : tp; t < (tp < 0 ? TPS : tp + 1); t++)
        if (s->media->wants_srtp[idx][t])
            return true;
    return false;
}

void dcgw__wmedia_connected(struct wsession *s, unsigned idx, unsigned tp,
                            const struct dcgw_dtls *d)
{
    struct wmedia *m = s->media;
    if (!m || idx >= DCGW_MAX_LEGS || tp >= TPS || !m->wants_srtp[idx][tp])
        return;
    struct dcgw_srtp_keys keys = {0};
    char fail[DCGW_MEDIA_REASON_MAX] = "";
    int r = dcgw_srtp_keys_from_dtls(d, &keys);
    if (r == DCGW_ENOENT)
        snprintf(fail, sizeof(fail),
                 "DTLS agreed no use_srtp profile (RFC 5764): the peer offered none this "
                 "leg supports; its audio and video do not flow");
    else if (r < 0)
        snprintf(fail, sizeof(fail), "SRTP keys: %s", dcgw_strerror(r));
    if (m->stage && fail[0]) {
        dcgw_media_fail_transport(m->stage, (int)idx, (int)tp, fail);
    } else if (m->stage) {
        if (dcgw_media_set_keys(m->stage, (int)idx, (int)tp, &keys) == 0)
            s->w->stats.srtp_sessions_created += 2;
    } else if (m->pending[idx][tp] || (m->pending[idx][tp] = calloc(1, sizeof(struct wpending)))) {
        struct wpending *p = m->pending[idx][tp]; /* kept until the stage exists */
        p->has_keys = !fail[0];
        p->keys = keys;
        snprintf(p->failure, sizeof(p->failure), "%s", fail);
        if (fail[0])
            emit_failed(s, (int)idx, r, fail);
    }
    dcgw_srtp_keys_wipe(&keys);
}

void dcgw__wmedia_tp_failed(struct wsession *s, unsigned idx, unsigned tp, const char *reason)
{
    struct wmedia *m = s->media;
    if (!m || idx >= DCGW_MAX_LEGS || tp >= TPS)
        return;
    if (m->stage) {
        dcgw_media_fail_transport(m->stage, (int)idx, (int)tp, reason);
        return;
    }
    struct wpending *p = m->pending[idx][tp];
    if (!p && !(p = m->pending[idx][tp] = calloc(1, sizeof(*p))))
        return;
    if (p->failure[0])
        return;
    dcgw_srtp_keys_wipe(&p->keys);
    p->has_keys = false;
    snprintf(p->failure, sizeof(p->failure), "%s", reason);
    emit_failed(s, (int)idx, DCGW_ECLOSED, reason);
}

void dcgw__wmedia_input(struct wleg *l, const uint8_t *p, size_t n)
{
    struct wmedia *m = l->s->media;
    if (m && m->stage)
        dcgw_media_input(m->stage, (int)l->idx, (int)l->tp, p, n, uv_now(l->s->w->loop));
    else
        l->s->w->stats.media_no_stage++;
}

void dcgw__wmedia_free(struct wsession *s)
{
    struct wmedia *m = s->media;
    if (!m)
        return;
    dcgw__wmedia_refresh(s); /* the final counters stay in the worker's totals */
    struct worker *w = s->w;
    for (size_t i = 0; m->stage && i < dcgw_media_lines(m->stage); i++)
        for (int k = 0; k < 2; k++) {
            const struct dcgw_media_counters *c = dcgw_media_counters(m->stage, (int)i, k);
            w->stats.media_closed_forwarded += c->fwd_packets;
            w->stats.media_closed_srtp_failures +=
                c->dropped[DCGW_MEDIA_DROP_AUTH] + c->dropped[DCGW_MEDIA_DROP_REPLAY];
        }
    dcgw_media_free(m->stage);
    for (unsigned k = 0; k < DCGW_MAX_LEGS; k++)
        for (unsigned t = 0; t < TPS; t++)
            pending_free(&m->pending[k][t]);
    free(m);
    s->media = NULL;
}

/* ---- get and stats */

static Dcgw__MediaCounters *counters_pb(const struct dcgw_media_counters *c)
{
    Dcgw__MediaCounters *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    dcgw__media_counters__init(p);
    const uint64_t *d = c->dropped;
    struct {
        protobuf_c_boolean *has;
        uint64_t *v, x;
    } f[] = {
        {&p->has_rtp_packets, &p->rtp_packets, c->rtp_packets},
        {&p->has_rtp_bytes, &p->rtp_bytes, c->rtp_bytes},
        {&p->has_rtcp_packets, &p->rtcp_packets, c->rtcp_packets},
        {&p->has_rtcp_bytes, &p->rtcp_bytes, c->rtcp_bytes},
        {&p->has_forwarded_packets, &p->forwarded_packets, c->fwd_packets},
        {&p->has_forwarded_bytes, &p->forwarded_bytes, c->fwd_bytes},
        {&p->has_srtp_failures, &p->srtp_failures,
         d[DCGW_MEDIA_DROP_AUTH] + d[DCGW_MEDIA_DROP_REPLAY]},
        {&p->has_dropped_not_ready, &p->dropped_not_ready, d[DCGW_MEDIA_DROP_NOT_READY]},
        {&p->has_dropped_malformed, &p->dropped_malformed, d[DCGW_MEDIA_DROP_MALFORMED]},
        {&p->has_dropped_auth, &p->dropped_auth, d[DCGW_MEDIA_DROP_AUTH]},
        {&p->has_dropped_replay, &p->dropped_replay, d[DCGW_MEDIA_DROP_REPLAY]},
        {&p->has_dropped_unroutable, &p->dropped_unroutable, d[DCGW_MEDIA_DROP_UNROUTABLE]},
        {&p->has_dropped_streams, &p->dropped_streams, d[DCGW_MEDIA_DROP_STREAMS]},
        {&p->has_dropped_codec, &p->dropped_codec, d[DCGW_MEDIA_DROP_CODEC]},
        {&p->has_dropped_direction, &p->dropped_direction, d[DCGW_MEDIA_DROP_DIRECTION]},
        {&p->has_dropped_policy, &p->dropped_policy, d[DCGW_MEDIA_DROP_POLICY]},
        {&p->has_dropped_rate, &p->dropped_rate, d[DCGW_MEDIA_DROP_RATE]},
        {&p->has_dropped_internal, &p->dropped_internal, d[DCGW_MEDIA_DROP_INTERNAL]},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        *f[i].has = 1;
        *f[i].v = f[i].x;
    }
    return p;
}

static void set_counters(Dcgw__MediaCounters **slot, const struct dcgw_media_counters *c)
{
    if (*slot)
        protobuf_c_message_free_unpacked(&(*slot)->base, NULL);
    *slot = c ? counters_pb(c) : NULL;
}

/* What the transport of leg k that carries stage line `line` agreed, and where its peer is. */
static void line_transport(struct wsession *s, unsigned k, const struct dcgw_media_line_info *li,
                           Dcgw__MediaLine *ml)
{
    unsigned tp = li->tp[k];
    struct wleg *l = k < s->n_legs ? s->legs[k] : NULL;
    struct wleg *t = !l || tp >= TPS ? NULL : tp == 0 ? l : l->tps[tp];
    ml->has_transport = 1;
    ml->transport = tp;
    enum dcgw_srtp_profile prof = dcgw_media_profile(s->media->stage, (int)k, (int)tp);
    free(ml->srtp_profile);
    ml->srtp_profile = prof ? strdup(dcgw_srtp_profile_name(prof)) : NULL;
    const struct sockaddr *pa = t && t->leg && !t->dead ? dcgw_leg_peer(t->leg) : NULL;
    if (pa) {
        char a[DCGW_ADDR_STRLEN];
        free(ml->peer_addr);
        ml->peer_addr = strdup(dcgw_addr_format(pa, a, sizeof(a)));
    }
}

/* The leg's first failure: the stage's, else one from before the stage. */
static const char *leg_failure(const struct wmedia *m, unsigned k)
{
    const char *fail = m->stage ? dcgw_media_reason(m->stage, (int)k) : "";
    for (unsigned t = 0; !fail[0] && t < TPS; t++)
        fail = m->pending[k][t] ? m->pending[k][t]->failure : "";
    return fail;
}

void dcgw__wmedia_refresh(struct wsession *s)
{
    struct wmedia *m = s->media;
    for (unsigned k = 0; m && k < s->n_legs && k < DCGW_MAX_LEGS; k++) {
        Dcgw__MediaStatus *ms = s->desc->legs[k]->media;
        if (!ms)
            continue;
        const char *fail = leg_failure(m, k);
        free(ms->failure);
        ms->failure = fail[0] ? strdup(fail) : NULL;
        if (!m->stage)
            continue;
        enum dcgw_srtp_profile prof = dcgw_media_profile(m->stage, (int)k, -1);
        free(ms->srtp_profile);
        ms->srtp_profile = prof ? strdup(dcgw_srtp_profile_name(prof)) : NULL;
        ms->has_streams = 1;
        ms->streams = dcgw_media_streams(m->stage, (int)k);
        set_counters(&ms->unattributed, dcgw_media_counters(m->stage, -1, (int)k));
        for (size_t i = 0; i < ms->n_lines && i < DCGW_SDP_RTP_MAX; i++) {
            Dcgw__MediaLine *ml = ms->lines[i];
            int line = m->line_of[k][i];
            const struct dcgw_media_line_info *li = dcgw_media_line(m->stage, line);
            if (!li)
                continue;
            ml->has_started = ml->has_allowed = ml->has_max_bitrate = 1;
            ml->started = li->started[k];
            ml->allowed = li->allowed[k];
            ml->max_bitrate = li->max_bitrate[k];
            line_transport(s, k, li, ml);
            set_counters(&ml->counters, dcgw_media_counters(m->stage, line, (int)k));
        }
    }
}

void dcgw__wmedia_sums(const struct wsession *s, struct wmedia_sums *out)
{
    const struct wmedia *m = s->media;
    for (size_t i = 0; m && m->stage && i < dcgw_media_lines(m->stage); i++) {
        const struct dcgw_media_line_info *li = dcgw_media_line(m->stage, (int)i);
        unsigned kind = li->kind == DCGW_SDP_KIND_VIDEO;
        for (int k = 0; k < 2; k++) {
            const struct dcgw_media_counters *c = dcgw_media_counters(m->stage, (int)i, k);
            out->in_packets[kind] += c->rtp_packets + c->rtcp_packets;
            out->in_bytes[kind] += c->rtp_bytes + c->rtcp_bytes;
            out->out_packets[kind] += c->fwd_packets;
            out->out_bytes[kind] += c->fwd_bytes;
            for (int d = 0; d < DCGW_MEDIA_DROP_COUNT; d++)
                out->dropped[d] += c->dropped[d];
        }
    }
    for (int k = 0; m && m->stage && k < 2; k++) {
        const struct dcgw_media_counters *c = dcgw_media_counters(m->stage, -1, k);
        for (int d = 0; d < DCGW_MEDIA_DROP_COUNT; d++)
            out->dropped[d] += c->dropped[d];
    }
}

void dcgw__wmedia_totals(struct worker *w, uint64_t *forwarded, uint64_t *srtp_failures)
{
    *forwarded = w->stats.media_closed_forwarded;
    *srtp_failures = w->stats.media_closed_srtp_failures;
    GHashTableIter it;
    gpointer key, val;
    g_hash_table_iter_init(&it, w->sessions);
    while (g_hash_table_iter_next(&it, &key, &val)) {
        struct wsession *s = val;
        struct dcgw_media *st = s->media ? s->media->stage : NULL;
        for (size_t i = 0; st && i < dcgw_media_lines(st); i++)
            for (int k = 0; k < 2; k++) {
                const struct dcgw_media_counters *c = dcgw_media_counters(st, (int)i, k);
                *forwarded += c->fwd_packets;
                *srtp_failures +=
                    c->dropped[DCGW_MEDIA_DROP_AUTH] + c->dropped[DCGW_MEDIA_DROP_REPLAY];
            }
    }
}
