/* The policy between the wire and the engine: Policy messages validated (policy_json.c),
 * their leg names resolved and their enums mapped into the engine's descriptions
 * (guard/policy.h), and the engine's counters as a PolicyStatus. */
#include "dcgw/msg/policy_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"

static enum dcgw_policy_kind kind_of_pb(Dcgw__ChannelKind k)
{
    switch (k) {
    case DCGW__CHANNEL_KIND__KIND_BOOTSTRAP:
        return DCGW_POLICY_KIND_BOOTSTRAP;
    case DCGW__CHANNEL_KIND__KIND_APPLICATION:
        return DCGW_POLICY_KIND_APPLICATION;
    case DCGW__CHANNEL_KIND__KIND_AVATAR:
        return DCGW_POLICY_KIND_AVATAR;
    default:
        return DCGW_POLICY_KIND_ANY;
    }
}

static enum dcgw_policy_direction dir_of_pb(Dcgw__PolicyDirection d)
{
    return d == DCGW__POLICY_DIRECTION__DIRECTION_FROM_LEG ? DCGW_POLICY_DIR_FROM_LEG
           : d == DCGW__POLICY_DIRECTION__DIRECTION_TO_LEG ? DCGW_POLICY_DIR_TO_LEG
                                                           : DCGW_POLICY_DIR_BOTH;
}

/* ACTION_UNSPECIFIED drops, like ACTION_DROP. */
static enum dcgw_policy_action action_of_pb(Dcgw__PolicyAction a)
{
    return a == DCGW__POLICY_ACTION__ACTION_CLOSE_SESSION   ? DCGW_POLICY_ACTION_CLOSE_SESSION
           : a == DCGW__POLICY_ACTION__ACTION_CLOSE_CHANNEL ? DCGW_POLICY_ACTION_CLOSE_CHANNEL
                                                            : DCGW_POLICY_ACTION_DROP;
}

static int leg_index(const struct dcgw_policy_src *src, const char *name)
{
    for (unsigned i = 0; i < src->n_legs; i++)
        if (src->leg_names[i] && strcmp(src->leg_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* One validated rule of the policy of `scope` (-1: the session's) as the engine takes it;
 * its stream ranges go to `ranges`. */
static int map_rule(struct dcgw_policy_rule_def *d, struct dcgw_policy_range *ranges,
                    const Dcgw__PolicyRule *in, int scope, size_t idx,
                    const struct dcgw_policy_src *src, const char *where, char *err, size_t cap)
{
    char name[DCGW_POLICY_NAME_MAX + 1]; /* as the engine will call it, for errors */
    if (in->name)
        snprintf(name, sizeof(name), "%s", in->name);
    else
        snprintf(name, sizeof(name), "#%zu", idx + 1);
    memset(d, 0, sizeof(*d));
    d->name = in->name;
    d->allow = in->verdict == DCGW__POLICY_VERDICT__VERDICT_ALLOW;
    d->kind = in->has_kind ? kind_of_pb(in->kind) : DCGW_POLICY_KIND_ANY;
    d->dir = in->has_direction ? dir_of_pb(in->direction) : DCGW_POLICY_DIR_BOTH;
    d->leg = scope; /* a leg's rule is about that leg */
    if (in->leg) {
        int li = leg_index(src, in->leg);
        if (li < 0 || (scope >= 0 && li != scope)) {
            snprintf(err, cap, "%s: rule %s: leg '%s' is %s", where, name, in->leg,
                     li < 0 ? "not a leg of the session" : "another leg than the policy's");
            return DCGW_EINVAL;
        }
        d->leg = li;
    }
    if (d->leg < 0 && d->dir != DCGW_POLICY_DIR_BOTH) {
        snprintf(err, cap, "%s: rule %s: a direction needs a leg", where, name);
        return DCGW_EINVAL;
    }
    for (size_t k = 0; k < in->n_streams; k++) {
        ranges[k].first = (uint16_t)in->streams[k]->first;
        ranges[k].last =
            (uint16_t)(in->streams[k]->has_last ? in->streams[k]->last : in->streams[k]->first);
    }
    d->streams = ranges;
    d->n_streams = in->n_streams;
    d->label = in->label;
    d->subprotocol = in->subprotocol;
    d->max_message_size = in->has_max_message_size ? in->max_message_size : 0;
    d->messages_per_sec = in->has_messages_per_sec ? in->messages_per_sec : 0;
    d->messages_burst = in->has_messages_burst ? in->messages_burst : 0;
    d->bytes_per_sec = in->has_bytes_per_sec ? in->bytes_per_sec : 0;
    d->bytes_burst = in->has_bytes_burst ? in->bytes_burst : 0;
    d->ordered = in->has_ordered ? in->ordered : -1;
    d->reliable = in->has_reliable ? in->reliable : -1;
    d->has_max_retransmits = in->has_max_retransmits;
    d->max_retransmits = in->max_retransmits;
    d->has_max_lifetime_ms = in->has_max_lifetime_ms;
    d->max_lifetime_ms = in->max_lifetime_ms;
    d->action = in->has_action ? action_of_pb(in->action) : DCGW_POLICY_ACTION_DROP;
    return 0;
}

/* A policy's rules and ranges, owned by the compile call. */
struct mapped {
    struct dcgw_policy_def def;
    struct dcgw_policy_media_def media;
    struct dcgw_policy_rule_def *rules;
    struct dcgw_policy_range *ranges;
};

/* Validates one Policy (scope -1: the session's; else a leg's) and maps it into m. */
static int map_policy(struct mapped *m, const Dcgw__Policy *in, int scope,
                      const struct dcgw_policy_src *src, char *err, size_t cap)
{
    char where[64], why[256];
    if (scope < 0)
        snprintf(where, sizeof(where), "session policy");
    else
        snprintf(where, sizeof(where), "leg %.*s policy", DCGW_POLICY_LEG_NAME_MAX,
                 src->leg_names[scope] ? src->leg_names[scope] : "");
    if (dcgw_policy_validate(in, false, why, sizeof(why)) < 0) {
        snprintf(err, cap, "%s: %s", where, why);
        return DCGW_EINVAL;
    }
    size_t n_ranges = 0;
    for (size_t i = 0; i < in->n_rules; i++)
        n_ranges += in->rules[i]->n_streams;
    m->rules = calloc(in->n_rules ? in->n_rules : 1, sizeof(*m->rules));
    m->ranges = calloc(n_ranges ? n_ranges : 1, sizeof(*m->ranges));
    if (!m->rules || !m->ranges) {
        snprintf(err, cap, "out of memory");
        return DCGW_ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < in->n_rules; i++) {
        int r =
            map_rule(&m->rules[i], &m->ranges[at], in->rules[i], scope, i, src, where, err, cap);
        if (r < 0)
            return r;
        at += in->rules[i]->n_streams;
    }
    m->def = (struct dcgw_policy_def){
        .rules = m->rules,
        .n_rules = in->n_rules,
        .has_max_channels = in->has_max_channels,
        .max_channels = in->max_channels,
        .has_allow_dcep = in->has_allow_dcep,
        .allow_dcep = in->allow_dcep,
    };
    const Dcgw__MediaPolicy *mp = in->media;
    if (mp) {
        m->media = (struct dcgw_policy_media_def){
            .has = {mp->has_allow_audio, mp->has_allow_video},
            .allow = {mp->allow_audio, mp->allow_video},
            .max_bitrate = {mp->audio_max_bitrate, mp->video_max_bitrate},
            .burst_ms = mp->burst_ms,
        };
        m->def.media = &m->media;
    }
    return 0;
}

int dcgw_policy_compile(const struct dcgw_policy_src *src, struct dcgw_policy **out, char *err,
                        size_t errcap)
{
    if (!src || src->n_legs < 1 || src->n_legs > DCGW_POLICY_LEGS) {
        snprintf(err, errcap, "a session has one or two legs");
        return DCGW_EINVAL;
    }
    struct mapped m[DCGW_POLICY_LEGS + 1];
    memset(m, 0, sizeof(m));
    struct dcgw_policy_spec spec = {.n_legs = src->n_legs};
    int r = 0;
    /* the legs' policies first, then the session's: the order errors are found in */
    for (unsigned i = 0; i < src->n_legs; i++) {
        spec.leg_names[i] = src->leg_names[i];
        if (r == 0 && src->legs[i] &&
            (r = map_policy(&m[i], src->legs[i], (int)i, src, err, errcap)) == 0)
            spec.legs[i] = &m[i].def;
    }
    if (r == 0 && src->session &&
        (r = map_policy(&m[DCGW_POLICY_LEGS], src->session, -1, src, err, errcap)) == 0)
        spec.session = &m[DCGW_POLICY_LEGS].def;
    if (r == 0)
        r = dcgw_policy_build(&spec, out, err, errcap);
    for (unsigned i = 0; i <= DCGW_POLICY_LEGS; i++) {
        free(m[i].rules);
        free(m[i].ranges);
    }
    return r;
}

int dcgw_policy_compile_session(const Dcgw__Session *s, struct dcgw_policy **out, char *err,
                                size_t errcap)
{
    struct dcgw_policy_src src = {.session = s->policy};
    if (s->n_legs > DCGW_POLICY_LEGS) {
        snprintf(err, errcap, "a session has one or two legs");
        return DCGW_EINVAL;
    }
    for (size_t i = 0; i < s->n_legs; i++) {
        src.legs[i] = s->legs[i]->policy;
        src.leg_names[i] = s->legs[i]->name;
    }
    src.n_legs = (unsigned)s->n_legs;
    return dcgw_policy_compile(&src, out, err, errcap);
}

/* ------------------------------------------------------------------ status */

static Dcgw__PolicyRuleStats *rule_pb(const struct dcgw_policy_rule_view *v)
{
    Dcgw__PolicyRuleStats *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    dcgw__policy_rule_stats__init(s);
    s->rule = strdup(v->name);
    s->scope = strdup(v->scope);
    s->has_verdict = s->has_hits = s->has_messages = s->has_bytes = 1;
    s->has_refused_channels = s->has_dropped_direction = s->has_dropped_size = 1;
    s->has_dropped_rate = s->has_violations = 1;
    s->verdict =
        v->allow ? DCGW__POLICY_VERDICT__VERDICT_ALLOW : DCGW__POLICY_VERDICT__VERDICT_DENY;
    const struct dcgw_policy_rule_stats *st = v->stats;
    s->hits = st->hits;
    s->messages = st->messages;
    s->bytes = st->bytes;
    s->refused_channels = st->refused_channels;
    s->dropped_direction = st->dropped_direction;
    s->dropped_size = st->dropped_size;
    s->dropped_rate = st->dropped_rate;
    s->violations = st->violations;
    if (!s->rule || !s->scope) {
        protobuf_c_message_free_unpacked(&s->base, NULL);
        return NULL;
    }
    return s;
}

Dcgw__PolicyStatus *dcgw_policy_status(const struct dcgw_policy_state *ps)
{
    Dcgw__PolicyStatus *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    dcgw__policy_status__init(st);
    size_t n = dcgw_policy_rule_count(ps);
    unsigned legs = dcgw_policy_legs(ps);
    st->rules = calloc(n, sizeof(*st->rules));
    st->open_channels = calloc(legs ? legs : 1, sizeof(*st->open_channels));
    if (!st->rules || !st->open_channels) {
        protobuf_c_message_free_unpacked(&st->base, NULL);
        return NULL;
    }
    struct dcgw_policy_rule_view v;
    for (size_t i = 0; dcgw_policy_rule_at(ps, i, &v); i++) {
        if (!(st->rules[i] = rule_pb(&v))) {
            protobuf_c_message_free_unpacked(&st->base, NULL);
            return NULL;
        }
        st->n_rules = i + 1;
    }
    for (unsigned l = 0; l < legs; l++)
        st->open_channels[st->n_open_channels++] = dcgw_policy_open_channels(ps, l);
    uint64_t violations, suppressed, updates;
    dcgw_policy_totals(ps, &violations, &suppressed, &updates);
    st->has_violations = st->has_events_suppressed = st->has_updates = 1;
    st->violations = violations;
    st->events_suppressed = suppressed;
    st->updates = (uint32_t)updates;
    return st;
}
