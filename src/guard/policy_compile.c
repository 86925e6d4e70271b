/* Policy rules: built from their descriptions (struct dcgw_policy_spec; the wire form is
 * compiled into those by msg/policy_wire.c), put in precedence order per source leg, and
 * matched against a channel. */
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
    r->action = DCGW_POLICY_ACTION_DROP;
}

static bool is_glob(const char *s)
{
    return strpbrk(s, "*?[\\") != NULL;
}

/* Fills r from a rule description. */
static int build_rule(struct prule *r, const struct dcgw_policy_rule_def *in, int scope, size_t idx,
                      unsigned n_legs, char *err, size_t cap)
{
    memset(r, 0, sizeof(*r));
    r->scope = scope;
    if (in->name)
        snprintf(r->name, sizeof(r->name), "%s", in->name);
    else
        snprintf(r->name, sizeof(r->name), "#%zu", idx + 1);
    if (in->leg < -1 || in->leg >= (int)n_legs ||
        (in->leg < 0 && in->dir != DCGW_POLICY_DIR_BOTH)) {
        snprintf(err, cap, "rule %s: leg %d (of %u) with direction %d", r->name, in->leg, n_legs,
                 (int)in->dir);
        return DCGW_EINVAL;
    }
    r->allow = in->allow;
    r->kind = in->kind;
    r->dir = in->dir;
    r->leg = in->leg;
    if (in->n_streams && !(r->ranges = calloc(in->n_streams, sizeof(*r->ranges))))
        return DCGW_ENOMEM;
    for (size_t k = 0; k < in->n_streams; k++)
        r->ranges[k] = in->streams[k];
    r->n_ranges = in->n_streams;
    if ((in->label && !(r->label = strdup(in->label))) ||
        (in->subprotocol && !(r->proto = strdup(in->subprotocol))))
        return DCGW_ENOMEM;
    r->label_glob = r->label && is_glob(r->label);
    r->proto_glob = r->proto && is_glob(r->proto);
    r->max_msg = in->max_message_size;
    r->mps = in->messages_per_sec;
    r->mburst = in->messages_burst ? in->messages_burst : (r->mps ? r->mps : 1);
    r->bps = in->bytes_per_sec;
    uint64_t big = r->max_msg ? r->max_msg : DCGW_MAX_MESSAGE_SIZE_DEFAULT;
    r->bburst = in->bytes_burst ? in->bytes_burst : (r->bps > big ? r->bps : big);
    r->ordered = in->ordered;
    r->reliable = in->reliable;
    r->has_max_retr = in->has_max_retransmits;
    r->max_retr = in->max_retransmits;
    r->has_max_life = in->has_max_lifetime_ms;
    r->max_life = in->max_lifetime_ms;
    r->action = in->action;
    return 0;
}

/* Does rule r decide messages coming from leg s? */
static bool applies_from(const struct prule *r, unsigned s, unsigned n_legs)
{
    int o = n_legs == 2 ? 1 - (int)s : -1;
    switch (r->dir) {
    case DCGW_POLICY_DIR_FROM_LEG:
        return r->leg == (int)s;
    case DCGW_POLICY_DIR_TO_LEG:
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

static int build_one(struct dcgw_policy *p, const struct dcgw_policy_def *in, int scope, char *err,
                     size_t cap)
{
    for (size_t i = 0; i < in->n_rules; i++) {
        int r = build_rule(&p->rules[p->n_rules], &in->rules[i], scope, i, p->n_legs, err, cap);
        p->n_rules++; /* disposed on failure too */
        if (r < 0)
            return r;
    }
    return 0;
}

/* Leg i's audio and video: per kind, its own policy's word, else the session's, else deny. */
static void media_of(struct dcgw_policy *p, unsigned i, const struct dcgw_policy_media_def *lm,
                     const struct dcgw_policy_media_def *sm)
{
    for (unsigned k = 0; k < DCGW_POLICY_MEDIA_KINDS; k++) {
        const struct dcgw_policy_media_def *d = lm && lm->has[k]   ? lm
                                                : sm && sm->has[k] ? sm
                                                                   : NULL;
        p->media_allow[i][k] = d && d->allow[k];
        p->media_bitrate[i][k] = d ? d->max_bitrate[k] : 0;
    }
    p->media_burst_ms[i] = lm && lm->burst_ms ? lm->burst_ms : sm ? sm->burst_ms : 0;
}

int dcgw_policy_build(const struct dcgw_policy_spec *spec, struct dcgw_policy **out, char *err,
                      size_t errcap)
{
    if (!spec || spec->n_legs < 1 || spec->n_legs > DCGW_POLICY_LEGS) {
        snprintf(err, errcap, "a session has one or two legs");
        return DCGW_EINVAL;
    }
    struct dcgw_policy *p = calloc(1, sizeof(*p));
    size_t total = spec->session ? spec->session->n_rules : 0;
    for (unsigned i = 0; i < spec->n_legs; i++)
        total += spec->legs[i] ? spec->legs[i]->n_rules : 0;
    if (!p || !(p->rules = calloc(total + 1, sizeof(*p->rules)))) {
        free(p);
        return DCGW_ENOMEM;
    }
    p->n_legs = spec->n_legs;
    int r = 0;
    for (unsigned i = 0; i < spec->n_legs; i++)
        snprintf(p->leg_names[i], sizeof(p->leg_names[i]), "%s",
                 spec->leg_names[i] ? spec->leg_names[i] : "");
    for (unsigned i = 0; r == 0 && i < spec->n_legs; i++)
        if (spec->legs[i])
            r = build_one(p, spec->legs[i], (int)i, err, errcap);
    if (r == 0 && spec->session)
        r = build_one(p, spec->session, -1, err, errcap);
    dcgw__policy_default_rule(&p->rules[p->n_rules]);
    for (unsigned i = 0; r == 0 && i < spec->n_legs; i++) {
        const struct dcgw_policy_def *lp = spec->legs[i], *sp = spec->session;
        p->max_channels[i] = lp && lp->has_max_channels   ? lp->max_channels
                             : sp && sp->has_max_channels ? sp->max_channels
                                                          : 0;
        p->allow_dcep[i] = lp && lp->has_allow_dcep   ? lp->allow_dcep
                           : sp && sp->has_allow_dcep ? sp->allow_dcep
                                                      : false;
        media_of(p, i, lp ? lp->media : NULL, sp ? sp->media : NULL);
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

void dcgw_policy_media(const struct dcgw_policy *p, unsigned leg, unsigned kind, bool *allowed,
                       uint64_t *max_bitrate, uint32_t *burst_ms)
{
    bool in = p && leg < p->n_legs && kind < DCGW_POLICY_MEDIA_KINDS;
    *allowed = in && p->media_allow[leg][kind];
    *max_bitrate = in ? p->media_bitrate[leg][kind] : 0;
    *burst_ms = in ? p->media_burst_ms[leg] : 0;
}

/* ------------------------------------------------------------------ matching */

enum dcgw_policy_kind dcgw_policy_kind_of(uint16_t id, const char *subprotocol)
{
    if (subprotocol &&
        (strcmp(subprotocol, "avatar") == 0 || strcmp(subprotocol, "3gpp-avatar") == 0))
        return DCGW_POLICY_KIND_AVATAR;
    switch (dcgw_dc_kind_of_stream(id)) {
    case DCGW_DC_KIND_BOOTSTRAP:
        return DCGW_POLICY_KIND_BOOTSTRAP;
    case DCGW_DC_KIND_APPLICATION:
        return DCGW_POLICY_KIND_APPLICATION;
    default:
        return DCGW_POLICY_KIND_ANY;
    }
}

static bool text_matches(const char *pat, bool glob, const char *s)
{
    if (!pat)
        return true;
    return glob ? fnmatch(pat, s, 0) == 0 : strcmp(pat, s) == 0;
}

static bool rule_matches(const struct prule *r, const struct dcgw_dc_params *prm,
                         enum dcgw_policy_kind kind)
{
    if (r->n_ranges) {
        bool in = false;
        for (size_t i = 0; !in && i < r->n_ranges; i++)
            in = prm->id >= r->ranges[i].first && prm->id <= r->ranges[i].last;
        if (!in)
            return false;
    }
    if (r->kind != DCGW_POLICY_KIND_ANY && r->kind != kind)
        return false;
    return text_matches(r->label, r->label_glob, prm->label) &&
           text_matches(r->proto, r->proto_glob, prm->protocol);
}

struct prule *dcgw__policy_first_match(const struct dcgw_policy *p, unsigned s,
                                       const struct dcgw_dc_params *prm, enum dcgw_policy_kind kind)
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
