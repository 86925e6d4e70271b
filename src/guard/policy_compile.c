/* Policy rules: compiled from Policy messages (validated by policy_json.c), put in
 * precedence order per source leg, and matched against a channel. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "policy_int.h"

/* ------------------------------------------------------------------ compile */

static void rule_dispose(struct prule *r)
{
    free(r->ranges);
    free(r->label);
    free(r->proto);
}

void dcgw_policy_free(struct dcgw_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->rules && i <= p->n_rules; i++)
        rule_dispose(&p->rules[i]);
    free(p->rules);
    for (unsigned s = 0; s < DCGW_POLICY_LEGS; s++)
        free(p->order[s]);
    free(p);
}

void dcgw__policy_default_rule(struct prule *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "default");
    r->scope = r->leg = -1;
    r->ordered = r->reliable = -1;
    r->action = DCGW__POLICY_ACTION__ACTION_DROP;
}

static bool is_glob(const char *s)
{
    return strpbrk(s, "*?[\\") != NULL;
}

static int leg_index(const struct dcgw_policy_src *src, const char *name)
{
    for (unsigned i = 0; i < src->n_legs; i++)
        if (src->leg_names[i] && strcmp(src->leg_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Fills r from a validated rule; resolves its leg. */
static int compile_rule(struct prule *r, const Dcgw__PolicyRule *in, int scope, size_t idx,
                        const struct dcgw_policy_src *src, const char *where, char *err, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->scope = scope;
    if (in->name)
        snprintf(r->name, sizeof(r->name), "%s", in->name);
    else
        snprintf(r->name, sizeof(r->name), "#%zu", idx + 1);
    r->allow = in->verdict == DCGW__POLICY_VERDICT__VERDICT_ALLOW;
    r->kind = in->has_kind ? in->kind : DCGW__CHANNEL_KIND__KIND_UNSPECIFIED;
    r->dir = in->has_direction ? in->direction : DCGW__POLICY_DIRECTION__DIRECTION_BOTH;
    r->leg = scope;
    if (in->leg) {
        int li = leg_index(src, in->leg);
        if (li < 0 || (scope >= 0 && li != scope)) {
            snprintf(err, cap, "%s: rule %s: leg '%s' is %s", where, r->name, in->leg,
                     li < 0 ? "not a leg of the session" : "another leg than the policy's");
            return DCGW_EINVAL;
        }
        r->leg = li;
    }
    if (r->leg < 0 && r->dir != DCGW__POLICY_DIRECTION__DIRECTION_BOTH) {
        snprintf(err, cap, "%s: rule %s: a direction needs a leg", where, r->name);
        return DCGW_EINVAL;
    }
    if (in->n_streams && !(r->ranges = calloc(in->n_streams, sizeof(*r->ranges))))
        return DCGW_ENOMEM;
    for (size_t k = 0; k < in->n_streams; k++) {
        r->ranges[k].lo = (uint16_t)in->streams[k]->first;
        r->ranges[k].hi =
            (uint16_t)(in->streams[k]->has_last ? in->streams[k]->last : in->streams[k]->first);
    }
    r->n_ranges = in->n_streams;
    if ((in->label && !(r->label = strdup(in->label))) ||
        (in->subprotocol && !(r->proto = strdup(in->subprotocol))))
        return DCGW_ENOMEM;
    r->label_glob = r->label && is_glob(r->label);
    r->proto_glob = r->proto && is_glob(r->proto);
    r->max_msg = in->has_max_message_size ? in->max_message_size : 0;
    r->mps = in->has_messages_per_sec ? in->messages_per_sec : 0;
    r->mburst = in->has_messages_burst ? in->messages_burst : (r->mps ? r->mps : 1);
    r->bps = in->has_bytes_per_sec ? in->bytes_per_sec : 0;
    uint64_t big = r->max_msg ? r->max_msg : DCGW_MAX_MESSAGE_SIZE_DEFAULT;
    r->bburst = in->has_bytes_burst ? in->bytes_burst : (r->bps > big ? r->bps : big);
    r->ordered = in->has_ordered ? in->ordered : -1;
    r->reliable = in->has_reliable ? in->reliable : -1;
    r->has_max_retr = in->has_max_retransmits;
    r->max_retr = in->max_retransmits;
    r->has_max_life = in->has_max_lifetime_ms;
    r->max_life = in->max_lifetime_ms;
    r->action = in->has_action && in->action != DCGW__POLICY_ACTION__ACTION_UNSPECIFIED
                    ? in->action
                    : DCGW__POLICY_ACTION__ACTION_DROP;
    return 0;
}

/* Does rule r decide messages coming from leg s? */
static bool applies_from(const struct prule *r, unsigned s, unsigned n_legs)
{
    int o = n_legs == 2 ? 1 - (int)s : -1;
    switch (r->dir) {
    case DCGW__POLICY_DIRECTION__DIRECTION_FROM_LEG:
        return r->leg == (int)s;
    case DCGW__POLICY_DIRECTION__DIRECTION_TO_LEG:
        return o >= 0 && r->leg == o;
    default:
        return r->leg < 0 || r->leg == (int)s || r->leg == o;
    }
}

static int build_order(struct dcgw_policy *p)
{
    for (unsigned s = 0; s < p->n_legs; s++) {
        p->order[s] = calloc(p->n_rules ? p->n_rules : 1, sizeof(*p->order[s]));
        if (!p->order[s])
            return DCGW_ENOMEM;
        /* precedence: the source leg's policy, the far leg's, the session's */
        int scopes[3] = {(int)s, p->n_legs == 2 ? 1 - (int)s : -2, -1};
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].scope == scopes[k] && applies_from(&p->rules[i], s, p->n_legs))
                    p->order[s][p->n_order[s]++] = &p->rules[i];
    }
    return 0;
}

static int compile_one(struct dcgw_policy *p, const Dcgw__Policy *in, int scope,
                       const struct dcgw_policy_src *src, char *err, size_t cap)
{
    char where[64];
    if (scope < 0)
        snprintf(where, sizeof(where), "session policy");
    else
        snprintf(where, sizeof(where), "leg %s policy", p->leg_names[scope]);
    char why[256];
    if (dcgw_policy_validate(in, false, why, sizeof(why)) < 0) {
        snprintf(err, cap, "%s: %s", where, why);
        return DCGW_EINVAL;
    }
    for (size_t i = 0; i < in->n_rules; i++) {
        int r = compile_rule(&p->rules[p->n_rules], in->rules[i], scope, i, src, where, err, cap);
        p->n_rules++; /* disposed on failure too */
        if (r < 0)
            return r;
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
    struct dcgw_policy *p = calloc(1, sizeof(*p));
    size_t total = src->session ? src->session->n_rules : 0;
    for (unsigned i = 0; i < src->n_legs; i++)
        total += src->legs[i] ? src->legs[i]->n_rules : 0;
    if (!p || !(p->rules = calloc(total + 1, sizeof(*p->rules)))) {
        free(p);
        return DCGW_ENOMEM;
    }
    p->n_legs = src->n_legs;
    int r = 0;
    for (unsigned i = 0; i < src->n_legs; i++)
        snprintf(p->leg_names[i], sizeof(p->leg_names[i]), "%s",
                 src->leg_names[i] ? src->leg_names[i] : "");
    for (unsigned i = 0; r == 0 && i < src->n_legs; i++)
        if (src->legs[i])
            r = compile_one(p, src->legs[i], (int)i, src, err, errcap);
    if (r == 0 && src->session)
        r = compile_one(p, src->session, -1, src, err, errcap);
    dcgw__policy_default_rule(&p->rules[p->n_rules]);
    for (unsigned i = 0; r == 0 && i < src->n_legs; i++) {
        const Dcgw__Policy *lp = src->legs[i], *sp = src->session;
        p->max_channels[i] = lp && lp->has_max_channels   ? lp->max_channels
                             : sp && sp->has_max_channels ? sp->max_channels
                                                          : 0;
        p->allow_dcep[i] = lp && lp->has_allow_dcep   ? lp->allow_dcep
                           : sp && sp->has_allow_dcep ? sp->allow_dcep
                                                      : false;
    }
    if (r == 0)
        r = build_order(p);
    if (r < 0) {
        if (r == DCGW_ENOMEM)
            snprintf(err, errcap, "out of memory");
        dcgw_policy_free(p);
        return r;
    }
    *out = p;
    return 0;
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

/* ------------------------------------------------------------------ matching */

Dcgw__ChannelKind dcgw_policy_kind_of(uint16_t id, const char *subprotocol)
{
    if (subprotocol &&
        (strcmp(subprotocol, "avatar") == 0 || strcmp(subprotocol, "3gpp-avatar") == 0))
        return DCGW__CHANNEL_KIND__KIND_AVATAR;
    switch (dcgw_dc_kind_of_stream(id)) {
    case DCGW_DC_KIND_BOOTSTRAP:
        return DCGW__CHANNEL_KIND__KIND_BOOTSTRAP;
    case DCGW_DC_KIND_APPLICATION:
        return DCGW__CHANNEL_KIND__KIND_APPLICATION;
    default:
        return DCGW__CHANNEL_KIND__KIND_UNSPECIFIED;
    }
}

static bool text_matches(const char *pat, bool glob, const char *s)
{
    if (!pat)
        return true;
    return glob ? fnmatch(pat, s, 0) == 0 : strcmp(pat, s) == 0;
}

static bool rule_matches(const struct prule *r, const struct dcgw_dc_params *prm,
                         Dcgw__ChannelKind kind)
{
    if (r->n_ranges) {
        bool in = false;
        for (size_t i = 0; !in && i < r->n_ranges; i++)
            in = prm->id >= r->ranges[i].lo && prm->id <= r->ranges[i].hi;
        if (!in)
            return false;
    }
    if (r->kind != DCGW__CHANNEL_KIND__KIND_UNSPECIFIED && r->kind != kind)
        return false;
    return text_matches(r->label, r->label_glob, prm->label) &&
           text_matches(r->proto, r->proto_glob, prm->protocol);
}

struct prule *dcgw__policy_first_match(const struct dcgw_policy *p, unsigned s,
                                       const struct dcgw_dc_params *prm, Dcgw__ChannelKind kind)
{
    for (size_t i = 0; i < p->n_order[s]; i++)
        if (rule_matches(p->order[s][i], prm, kind))
            return p->order[s][i];
    return &p->rules[p->n_rules];
}

const char *dcgw_policy_lookup(const struct dcgw_policy *p, unsigned from_leg,
                               const struct dcgw_dc_params *params, bool *allow)
{
    const struct prule *r = &p->rules[p->n_rules];
    if (from_leg < p->n_legs)
        r = dcgw__policy_first_match(p, from_leg, params,
                                     dcgw_policy_kind_of(params->id, params->protocol));
    *allow = r->allow;
    return r->name;
}

bool dcgw__policy_constraints_hold(const struct prule *r, const struct dcgw_dc_params *prm)
{
    bool reliable = prm->reliability == DCGW_DC_RELIABLE;
    if (r->ordered >= 0 && prm->ordered != (r->ordered != 0))
        return false;
    if (r->reliable >= 0 && reliable != (r->reliable != 0))
        return false;
    if (r->has_max_retr && prm->reliability == DCGW_DC_MAX_RETR &&
        prm->reliability_param > r->max_retr)
        return false;
    return !(r->has_max_life && prm->reliability == DCGW_DC_MAX_TIME &&
             prm->reliability_param > r->max_life);
}
