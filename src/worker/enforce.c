/* A worker session's policy (policy.h) on its bridge: DCEP opens, channels as they open,
 * every message, negotiated channels when SDP is applied, live updates, the
 * policy_violation event. The engine decides; this file carries out what it says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/policy_wire.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp.h"
#include "events.h"
#include "worker_int.h"

static uint64_t now_ms(const struct wsession *s)
{
    return uv_now(s->w->loop);
}

static void close_channel(void *ud, unsigned side, struct dcgw_dc_channel *ch)
{
    dcgw__wsession_close_pair(ud, side, ch);
}

/* The engine's words on the wire. */
Dcgw__PolicyReason dcgw__wpolicy_reason_pb(enum dcgw_policy_reason r)
{
    switch (r) {
    case DCGW_POLICY_REASON_DENIED:
        return DCGW__POLICY_REASON__REASON_DENIED;
    case DCGW_POLICY_REASON_DCEP_NOT_ALLOWED:
        return DCGW__POLICY_REASON__REASON_DCEP_NOT_ALLOWED;
    case DCGW_POLICY_REASON_MAX_CHANNELS:
        return DCGW__POLICY_REASON__REASON_MAX_CHANNELS;
    case DCGW_POLICY_REASON_CONSTRAINT:
        return DCGW__POLICY_REASON__REASON_CONSTRAINT;
    case DCGW_POLICY_REASON_DIRECTION:
        return DCGW__POLICY_REASON__REASON_DIRECTION;
    case DCGW_POLICY_REASON_MESSAGE_SIZE:
        return DCGW__POLICY_REASON__REASON_MESSAGE_SIZE;
    case DCGW_POLICY_REASON_MESSAGE_RATE:
        return DCGW__POLICY_REASON__REASON_MESSAGE_RATE;
    case DCGW_POLICY_REASON_BYTE_RATE:
        return DCGW__POLICY_REASON__REASON_BYTE_RATE;
    case DCGW_POLICY_REASON_UPDATE:
        return DCGW__POLICY_REASON__REASON_UPDATE;
    }
    return DCGW__POLICY_REASON__REASON_UNSPECIFIED;
}

static Dcgw__PolicyAction action_pb(enum dcgw_policy_action a)
{
    return a == DCGW_POLICY_ACTION_CLOSE_SESSION   ? DCGW__POLICY_ACTION__ACTION_CLOSE_SESSION
           : a == DCGW_POLICY_ACTION_CLOSE_CHANNEL ? DCGW__POLICY_ACTION__ACTION_CLOSE_CHANNEL
                                                   : DCGW__POLICY_ACTION__ACTION_DROP;
}

static void on_violation(void *ud, const struct dcgw_policy_violation *v)
{
    struct wsession *s = ud;
    Dcgw__PolicyViolation pv = DCGW__POLICY_VIOLATION__INIT;
    pv.has_stream_id = pv.has_reason = pv.has_action = pv.has_suppressed = pv.has_violations = 1;
    pv.stream_id = v->stream_id;
    pv.label = (char *)v->label;
    pv.rule = *v->rule ? (char *)v->rule : NULL;
    pv.reason = dcgw__wpolicy_reason_pb(v->reason);
    pv.action = action_pb(v->action);
    pv.has_size = v->size != 0;
    pv.size = v->size;
    pv.suppressed = v->suppressed;
    pv.violations = v->violations;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_POLICY_VIOLATION;
    ev.policy_violation = &pv;
    dcgw__wev_emit_session(s, v->leg < s->n_legs ? (int)v->leg : -1, &ev);
}

/* Carries out a refusal: close the channel (unless the caller refuses it another way),
 * and the session when the rule says so. The session is released, not freed, here: its
 * legs and bridge stay valid until the callbacks unwind (legs.c). */
static void act(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch,
                enum dcgw_policy_verdict v)
{
    if (v == DCGW_POLICY_PASS || v == DCGW_POLICY_DROP || s->closing)
        return;
    if (ch)
        close_channel(s, side, ch);
    if (v == DCGW_POLICY_CLOSE_SESSION)
        dcgw__wsession_close(s, "policy violation");
}

int dcgw__wpolicy_create(struct wsession *s, char *err, size_t errcap)
{
    struct dcgw_policy *p;
    int r = dcgw_policy_compile_session(s->desc, &p, err, errcap);
    if (r < 0)
        return r;
    struct dcgw_policy_settings set = {.session_id = s->desc->id};
    struct dcgw_policy_cbs cbs = {
        .ud = s, .on_violation = on_violation, .close_channel = close_channel};
    if ((r = dcgw_policy_state_new(&set, &cbs, &s->policy)) < 0) {
        dcgw_policy_free(p);
        return r;
    }
    dcgw_policy_set(s->policy, p, now_ms(s));
    return 0;
}

bool dcgw__wpolicy_open_request(void *ud, unsigned side, const struct dcgw_dc_channel *ch)
{
    struct wsession *s = ud;
    if (s->closing)
        return false;
    enum dcgw_policy_verdict v = dcgw_policy_check_open(s->policy, side, &ch->params, now_ms(s));
    act(s, side, NULL, v); /* refused by returning false: no ACK, stream reset */
    return v == DCGW_POLICY_PASS;
}

bool dcgw__wpolicy_message(void *ud, unsigned side, struct dcgw_dc_channel *ch, bool is_text,
                           const uint8_t *p, size_t n)
{
    struct wsession *s = ud;
    if (s->closing)
        return false;
    enum dcgw_policy_verdict v = dcgw_policy_message(s->policy, side, ch, n, now_ms(s));
    act(s, side, ch, v);
    /* then, on channels of kind avatar, the verifier (verify.c) */
    return v == DCGW_POLICY_PASS && dcgw__wavatar_message(s, side, ch, is_text, p, n);
}

bool dcgw__wpolicy_channel_open(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch)
{
    enum dcgw_policy_verdict v = dcgw_policy_channel_open(s->policy, side, ch, now_ms(s));
    act(s, side, ch, v);
    return v == DCGW_POLICY_PASS;
}

void dcgw__wpolicy_channel_closed(struct wsession *s, unsigned side,
                                  const struct dcgw_dc_channel *ch)
{
    dcgw_policy_channel_closed(s->policy, side, ch);
    dcgw__wavatar_channel_closed(s, side, ch);
}

void dcgw__wpolicy_stream(const struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                          Dcgw__DcStream *st)
{
    uint64_t dropped = 0;
    const char *rule = dcgw_policy_channel_rule(s->policy, side, ch, &dropped);
    if (rule && !st->policy_rule)
        st->policy_rule = strdup(rule);
    st->has_policy_dropped = 1;
    st->policy_dropped = dropped;
}

/* Negotiated channels (a=dcmap) the policy refuses are left out of the SDP dcgw writes
 * and never added to the endpoint: an answerer drops the dcmap lines of channels it does
 * not accept (RFC 8864 offer/answer), and a=dcsa lines must name a kept dcmap. */
void dcgw__wpolicy_filter_sdp(struct wleg *l, struct dcgw_sdp_dcmap *maps, size_t *n_maps,
                              struct dcgw_sdp_dcsa *dcsa, size_t *n_dcsa)
{
    struct wsession *s = l->s;
    size_t k = 0;
    for (size_t i = 0; i < *n_maps; i++) {
        const struct dcgw_sdp_dcmap *m = &maps[i];
        struct dcgw_dc_params p;
        memset(&p, 0, sizeof(p));
        p.id = m->stream_id;
        p.ordered = m->ordered;
        p.reliability = m->has_max_retr   ? DCGW_DC_MAX_RETR
                        : m->has_max_time ? DCGW_DC_MAX_TIME
                                          : DCGW_DC_RELIABLE;
        p.reliability_param = m->has_max_retr ? m->max_retr : m->max_time;
        snprintf(p.label, sizeof(p.label), "%s", m->label);
        snprintf(p.protocol, sizeof(p.protocol), "%s", m->subprotocol);
        if (dcgw_policy_check_negotiated(s->policy, l->idx, &p, now_ms(s)) == DCGW_POLICY_PASS)
            maps[k++] = *m;
    }
    *n_maps = k;
    size_t j = 0;
    for (size_t i = 0; dcsa && i < *n_dcsa; i++)
        for (size_t q = 0; q < k; q++)
            if (maps[q].stream_id == dcsa[i].stream_id) {
                dcsa[j++] = dcsa[i];
                break;
            }
    if (n_dcsa)
        *n_dcsa = j;
}

void dcgw__wpolicy_refresh(struct wsession *s)
{
    Dcgw__PolicyStatus *st = dcgw_policy_status(s->policy);
    if (!st)
        return;
    if (s->desc->policy_status)
        protobuf_c_message_free_unpacked(&s->desc->policy_status->base, NULL);
    s->desc->policy_status = st;
}

int dcgw__wpolicy_update(struct wsession *s, const char *leg, const Dcgw__Policy *p, bool patch,
                         char *err, size_t errcap)
{
    Dcgw__Policy **slot = &s->desc->policy;
    unsigned li = s->n_legs;
    for (unsigned i = 0; leg && *leg && i < s->n_legs; i++)
        if (strcmp(s->desc->legs[i]->name, leg) == 0)
            li = i;
    if (leg && *leg && li == s->n_legs) {
        snprintf(err, errcap, "no leg named '%s'", leg);
        return DCGW_ENOENT;
    }
    if (li < s->n_legs)
        slot = &s->desc->legs[li]->policy;
    Dcgw__Policy *np = NULL;
    int r = patch ? dcgw_policy_patch(*slot, p, &np, err, errcap)
                  : dcgw_policy_validate(p, false, err, errcap);
    if (r == 0 && !patch && !(np = (Dcgw__Policy *)dcgw_ctlmsg_clone(&p->base)))
        r = DCGW_ENOMEM;
    if (r < 0)
        return r;
    Dcgw__Policy *old = *slot;
    *slot = np;
    struct dcgw_policy *cp;
    if ((r = dcgw_policy_compile_session(s->desc, &cp, err, errcap)) < 0) {
        *slot = old;
        protobuf_c_message_free_unpacked(&np->base, NULL);
        return r;
    }
    if (old)
        protobuf_c_message_free_unpacked(&old->base, NULL);
    /* channels of a dead leg were freed without callbacks: forget them first */
    for (unsigned i = 0; i < s->n_legs; i++)
        if (!dcgw__wsession_leg_dc(s, i))
            dcgw_policy_forget_leg(s->policy, i);
    DCGW_INFO(POLICY, "session %s: %s policy %s", s->desc->id, li < s->n_legs ? leg : "session",
              patch ? "patched" : "replaced");
    dcgw_policy_set(s->policy, cp, now_ms(s));
    dcgw__wmedia_policy(s); /* audio/video in flight: allowed or not, bitrates */
    return 0;
}
