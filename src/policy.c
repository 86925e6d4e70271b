/* Policy engine: compiled rules, lookup at channel open, per-message counters and token
 * buckets, violations. The file form and patches are in policy_json.c. */
#include "dcgw/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/error.h"
#include "dcgw/limits.h"
#include "dcgw/log.h"
#include "dcgw/tbucket.h"

struct range {
    uint16_t lo, hi;
};

struct prule {
    char name[DCGW_POLICY_NAME_MAX + 1];
    int scope; /* -1: the session's policy; else the leg whose policy holds it */
    bool allow;
    struct range *ranges;
    size_t n_ranges;
    char *label, *proto; /* NULL: any */
    bool label_glob, proto_glob;
    Dcgw__ChannelKind kind; /* KIND_UNSPECIFIED: any */
    Dcgw__PolicyDirection dir;
    int leg; /* the leg dir refers to; -1: any */
    uint32_t max_msg;
    uint64_t mps, mburst, bps, bburst;
    int ordered, reliable; /* -1: no constraint */
    bool has_max_retr, has_max_life;
    uint32_t max_retr, max_life;
    Dcgw__PolicyAction action;
    struct dcgw_policy_rule_stats st;
};

struct dcgw_policy {
    unsigned n_legs;
    char leg_names[DCGW_POLICY_LEGS][DCGW_POLICY_LEG_NAME_MAX + 1];
    struct prule *rules; /* n_rules + 1: the implicit deny ("default") last */
    size_t n_rules;
    struct prule **order[DCGW_POLICY_LEGS]; /* candidates for messages from leg s, in order */
    size_t n_order[DCGW_POLICY_LEGS];
    uint32_t max_channels[DCGW_POLICY_LEGS]; /* 0: no policy limit */
    bool allow_dcep[DCGW_POLICY_LEGS];
};

/* A tracked channel of one leg. */
struct pchan {
    struct dcgw_dc_channel *ch;
    struct prule *rule; /* for messages from this leg's peer */
    struct dcgw_tbucket msgs, bytes;
    uint64_t dropped;
    bool counted;     /* counts toward the leg's open channels */
    bool doomed;      /* refused: its messages are dropped quietly until it closes */
    bool close_asked; /* the owner was told to close it */
};

struct legtab {
    struct pchan **slot; /* by stream id */
    uint32_t cap;
    unsigned open;
};

struct dcgw_policy_state {
    char session_id[DCGW_SESSION_ID_MAX];
    struct dcgw_policy_cbs cbs;
    struct dcgw_policy *pol;
    struct prule fallback; /* the implicit deny before any policy is set */
    struct legtab legs[DCGW_POLICY_LEGS];
    struct dcgw_tbucket events;
    uint64_t violations, suppressed, suppressed_total, updates;
};

static const char *const reason_names[] = {
    [DCGW__POLICY_REASON__REASON_UNSPECIFIED] = "unspecified",
    [DCGW__POLICY_REASON__REASON_DENIED] = "denied",
    [DCGW__POLICY_REASON__REASON_DCEP_NOT_ALLOWED] = "in-band open not allowed",
    [DCGW__POLICY_REASON__REASON_MAX_CHANNELS] = "max_channels reached",
    [DCGW__POLICY_REASON__REASON_CONSTRAINT] = "ordered/reliability constraint",
    [DCGW__POLICY_REASON__REASON_DIRECTION] = "direction not allowed",
    [DCGW__POLICY_REASON__REASON_MESSAGE_SIZE] = "over max_message_size",
    [DCGW__POLICY_REASON__REASON_MESSAGE_RATE] = "over messages_per_sec",
    [DCGW__POLICY_REASON__REASON_BYTE_RATE] = "over bytes_per_sec",
    [DCGW__POLICY_REASON__REASON_UPDATE] = "no longer allowed after an update",
};

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

static void default_rule(struct prule *r)
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
    default_rule(&p->rules[p->n_rules]);
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
    if (subprotocol && strcmp(subprotocol, "avatar") == 0)
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

static struct prule *first_match(const struct dcgw_policy *p, unsigned s,
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
        r = first_match(p, from_leg, params, dcgw_policy_kind_of(params->id, params->protocol));
    *allow = r->allow;
    return r->name;
}

static bool constraints_hold(const struct prule *r, const struct dcgw_dc_params *prm)
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

struct decision {
    struct prule *from;  /* for messages from the channel's leg */
    struct prule *blame; /* when refused */
    Dcgw__PolicyReason reason;
    bool ok;
};

/* A channel on `leg` is admitted when a rule allows one of its directions and no
 * allowing rule's constraint is broken. */
static void decide(struct dcgw_policy_state *ps, unsigned leg, const struct dcgw_dc_params *prm,
                   struct decision *d)
{
    const struct dcgw_policy *p = ps->pol;
    memset(d, 0, sizeof(*d));
    if (!p || leg >= p->n_legs) {
        d->from = d->blame = p ? &p->rules[p->n_rules] : &ps->fallback;
        d->reason = DCGW__POLICY_REASON__REASON_DENIED;
        return;
    }
    Dcgw__ChannelKind kind = dcgw_policy_kind_of(prm->id, prm->protocol);
    struct prule *dflt = &p->rules[p->n_rules];
    struct prule *to = p->n_legs == 2 ? first_match(p, 1 - leg, prm, kind) : NULL;
    d->from = first_match(p, leg, prm, kind);
    struct prule *c[2] = {d->from, to};
    for (int i = 0; i < 2; i++)
        if (c[i] && c[i]->allow && !constraints_hold(c[i], prm)) {
            d->blame = c[i];
            d->reason = DCGW__POLICY_REASON__REASON_CONSTRAINT;
            return;
        }
    d->ok = d->from->allow || (to && to->allow);
    if (!d->ok) {
        d->blame = d->from != dflt ? d->from : to && to != dflt ? to : dflt;
        d->reason = DCGW__POLICY_REASON__REASON_DENIED;
    }
}

/* ------------------------------------------------------------------ state */

int dcgw_policy_state_new(const struct dcgw_policy_settings *set, const struct dcgw_policy_cbs *cbs,
                          struct dcgw_policy_state **out)
{
    struct dcgw_policy_state *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return DCGW_ENOMEM;
    uint32_t rate =
        set && set->events_per_sec ? set->events_per_sec : DCGW_POLICY_EVENTS_PER_SEC_DEFAULT;
    uint32_t burst =
        set && set->events_burst ? set->events_burst : DCGW_POLICY_EVENTS_BURST_DEFAULT;
    snprintf(ps->session_id, sizeof(ps->session_id), "%s",
             set && set->session_id ? set->session_id : "-");
    if (cbs)
        ps->cbs = *cbs;
    default_rule(&ps->fallback);
    dcgw_tbucket_init(&ps->events, rate, burst, 0);
    *out = ps;
    return 0;
}

void dcgw_policy_state_free(struct dcgw_policy_state *ps)
{
    if (!ps)
        return;
    for (unsigned l = 0; l < DCGW_POLICY_LEGS; l++) {
        for (uint32_t i = 0; i < ps->legs[l].cap; i++)
            free(ps->legs[l].slot[i]);
        free(ps->legs[l].slot);
    }
    dcgw_policy_free(ps->pol);
    free(ps);
}

const struct dcgw_policy *dcgw_policy_current(const struct dcgw_policy_state *ps)
{
    return ps->pol;
}

static const char *leg_name(const struct dcgw_policy_state *ps, unsigned leg)
{
    return ps->pol && leg < ps->pol->n_legs ? ps->pol->leg_names[leg] : "?";
}

static const char *scope_name(const struct dcgw_policy_state *ps, const struct prule *r)
{
    if (!r)
        return "";
    return r->scope < 0 ? "session" : leg_name(ps, (unsigned)r->scope);
}

/* A label made safe for one log line. */
static const char *printable(const char *s, char *buf, size_t cap)
{
    size_t k = 0;
    for (; s[k] && k + 1 < cap; k++)
        buf[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f || s[k] == '"' ? '?' : s[k];
    buf[k] = '\0';
    return buf;
}

static void count_reason(struct prule *r, Dcgw__PolicyReason why)
{
    r->st.violations++;
    switch (why) {
    case DCGW__POLICY_REASON__REASON_DIRECTION:
        r->st.dropped_direction++;
        break;
    case DCGW__POLICY_REASON__REASON_MESSAGE_SIZE:
        r->st.dropped_size++;
        break;
    case DCGW__POLICY_REASON__REASON_MESSAGE_RATE:
    case DCGW__POLICY_REASON__REASON_BYTE_RATE:
        r->st.dropped_rate++;
        break;
    default:
        r->st.refused_channels++;
        break;
    }
}

static Dcgw__PolicyAction action_of(enum dcgw_policy_verdict v)
{
    return v == DCGW_POLICY_CLOSE_SESSION   ? DCGW__POLICY_ACTION__ACTION_CLOSE_SESSION
           : v == DCGW_POLICY_CLOSE_CHANNEL ? DCGW__POLICY_ACTION__ACTION_CLOSE_CHANNEL
                                            : DCGW__POLICY_ACTION__ACTION_DROP;
}

/* The verdict for a violation of r: channel refusals close at least the channel. */
static enum dcgw_policy_verdict verdict_of(const struct prule *r, bool channel)
{
    if (r && r->action == DCGW__POLICY_ACTION__ACTION_CLOSE_SESSION)
        return DCGW_POLICY_CLOSE_SESSION;
    if (channel || (r && r->action == DCGW__POLICY_ACTION__ACTION_CLOSE_CHANNEL))
        return DCGW_POLICY_CLOSE_CHANNEL;
    return DCGW_POLICY_DROP;
}

/* Counts a violation, writes the audit line and, within the event budget, reports it. */
static void report(struct dcgw_policy_state *ps, unsigned leg, const struct dcgw_dc_params *prm,
                   struct prule *r, Dcgw__PolicyReason why, enum dcgw_policy_verdict v,
                   uint64_t size, uint64_t now_ms)
{
    ps->violations++;
    if (r)
        count_reason(r, why);
    char lab[80];
    const char *rule = r ? r->name : "", *scope = scope_name(ps, r);
    const char *reason =
        (size_t)why < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[why] : "?";
    printable(prm->label, lab, sizeof(lab));
    if (why <= DCGW__POLICY_REASON__REASON_CONSTRAINT || why == DCGW__POLICY_REASON__REASON_UPDATE)
        DCGW_LOG_RL(POLICY, INFO,
                    "audit: session %s leg %s stream %u \"%s\": channel refused, rule %s%s%s: %s",
                    ps->session_id, leg_name(ps, leg), prm->id, lab, scope, *scope ? "/" : "", rule,
                    reason);
    else
        DCGW_LOG_RL(POLICY, INFO,
                    "audit: session %s leg %s stream %u \"%s\": message of %llu bytes %s, rule "
                    "%s/%s: %s",
                    ps->session_id, leg_name(ps, leg), prm->id, lab, (unsigned long long)size,
                    v == DCGW_POLICY_DROP ? "dropped" : "dropped, closing", scope, rule, reason);
    if (!dcgw_tbucket_take(&ps->events, 1, now_ms * 1000)) {
        ps->suppressed++;
        ps->suppressed_total++;
        return;
    }
    struct dcgw_policy_violation ev = {
        .leg = leg,
        .leg_name = leg_name(ps, leg),
        .stream_id = prm->id,
        .label = prm->label,
        .rule = rule,
        .scope = scope,
        .reason = why,
        .action = action_of(v),
        .size = size,
        .suppressed = ps->suppressed,
        .violations = ps->violations,
    };
    ps->suppressed = 0;
    if (ps->cbs.on_violation)
        ps->cbs.on_violation(ps->cbs.ud, &ev);
}

/* ------------------------------------------------------------------ channels */

static struct pchan *find(const struct dcgw_policy_state *ps, unsigned leg,
                          const struct dcgw_dc_channel *ch)
{
    if (leg >= DCGW_POLICY_LEGS)
        return NULL;
    const struct legtab *t = &ps->legs[leg];
    uint16_t id = ch->params.id;
    struct pchan *c = id < t->cap ? t->slot[id] : NULL;
    return c && c->ch == ch ? c : NULL;
}

static void uncount(struct dcgw_policy_state *ps, unsigned leg, struct pchan *c)
{
    if (c->counted && ps->legs[leg].open)
        ps->legs[leg].open--;
    c->counted = false;
}

/* A fresh record in the slot of ch's id (a stale one there is dropped). */
static struct pchan *slot_take(struct dcgw_policy_state *ps, unsigned leg,
                               struct dcgw_dc_channel *ch)
{
    struct legtab *t = &ps->legs[leg];
    uint16_t id = ch->params.id;
    if (id >= t->cap) {
        uint32_t cap = t->cap ? t->cap : 16;
        while (cap <= id)
            cap *= 2;
        if (cap > DCGW_DC_STREAM_MAX + 1)
            cap = DCGW_DC_STREAM_MAX + 1;
        struct pchan **n = realloc(t->slot, cap * sizeof(*n));
        if (!n)
            return NULL;
        memset(n + t->cap, 0, (cap - t->cap) * sizeof(*n));
        t->slot = n;
        t->cap = cap;
    }
    struct pchan *c = t->slot[id];
    if (c) {
        uncount(ps, leg, c);
        memset(c, 0, sizeof(*c));
    } else if (!(c = t->slot[id] = calloc(1, sizeof(*c)))) {
        return NULL;
    }
    c->ch = ch;
    return c;
}

static void buckets_for(struct pchan *c, const struct prule *r, bool keep, uint64_t now_ms)
{
    uint64_t us = now_ms * 1000;
    if (keep) {
        dcgw_tbucket_set(&c->msgs, r->mps, r->mburst, us);
        dcgw_tbucket_set(&c->bytes, r->bps, r->bburst, us);
    } else {
        dcgw_tbucket_init(&c->msgs, r->mps, r->mburst, us);
        dcgw_tbucket_init(&c->bytes, r->bps, r->bburst, us);
    }
}

static bool over_max(const struct dcgw_policy_state *ps, unsigned leg)
{
    uint32_t max = ps->pol && leg < ps->pol->n_legs ? ps->pol->max_channels[leg] : 0;
    return max && ps->legs[leg].open >= max;
}

enum dcgw_policy_verdict dcgw_policy_check_negotiated(struct dcgw_policy_state *ps, unsigned leg,
                                                      const struct dcgw_dc_params *params,
                                                      uint64_t now_ms)
{
    struct decision d;
    decide(ps, leg, params, &d);
    if (d.ok)
        return DCGW_POLICY_PASS;
    enum dcgw_policy_verdict v = verdict_of(d.blame, true);
    report(ps, leg, params, d.blame, d.reason, v, 0, now_ms);
    return v;
}

enum dcgw_policy_verdict dcgw_policy_check_open(struct dcgw_policy_state *ps, unsigned leg,
                                                const struct dcgw_dc_params *params,
                                                uint64_t now_ms)
{
    bool dcep = ps->pol && leg < ps->pol->n_legs && ps->pol->allow_dcep[leg];
    if (!dcep || over_max(ps, leg)) {
        report(ps, leg, params, NULL,
               dcep ? DCGW__POLICY_REASON__REASON_MAX_CHANNELS
                    : DCGW__POLICY_REASON__REASON_DCEP_NOT_ALLOWED,
               DCGW_POLICY_CLOSE_CHANNEL, 0, now_ms);
        return DCGW_POLICY_CLOSE_CHANNEL;
    }
    return dcgw_policy_check_negotiated(ps, leg, params, now_ms);
}

enum dcgw_policy_verdict dcgw_policy_channel_open(struct dcgw_policy_state *ps, unsigned leg,
                                                  struct dcgw_dc_channel *ch, uint64_t now_ms)
{
    if (leg >= DCGW_POLICY_LEGS)
        return DCGW_POLICY_CLOSE_CHANNEL;
    struct pchan *c = find(ps, leg, ch);
    if (c)
        return c->doomed ? DCGW_POLICY_CLOSE_CHANNEL : DCGW_POLICY_PASS;
    if (!(c = slot_take(ps, leg, ch)))
        return DCGW_POLICY_CLOSE_CHANNEL; /* out of memory: default deny */
    struct decision d;
    decide(ps, leg, &ch->params, &d);
    if (d.ok && over_max(ps, leg)) {
        c->doomed = c->close_asked = true;
        c->rule = d.from;
        report(ps, leg, &ch->params, NULL, DCGW__POLICY_REASON__REASON_MAX_CHANNELS,
               DCGW_POLICY_CLOSE_CHANNEL, 0, now_ms);
        return DCGW_POLICY_CLOSE_CHANNEL;
    }
    if (!d.ok) {
        c->doomed = c->close_asked = true;
        c->rule = d.blame;
        enum dcgw_policy_verdict v = verdict_of(d.blame, true);
        report(ps, leg, &ch->params, d.blame, d.reason, v, 0, now_ms);
        return v;
    }
    c->rule = d.from;
    c->counted = true;
    ps->legs[leg].open++;
    d.from->st.hits++;
    buckets_for(c, d.from, false, now_ms);
    return DCGW_POLICY_PASS;
}

enum dcgw_policy_verdict dcgw_policy_message(struct dcgw_policy_state *ps, unsigned leg,
                                             struct dcgw_dc_channel *ch, size_t n, uint64_t now_ms)
{
    struct pchan *c = find(ps, leg, ch);
    if (!c) {
        enum dcgw_policy_verdict v = dcgw_policy_channel_open(ps, leg, ch, now_ms);
        if (v != DCGW_POLICY_PASS)
            return v;
        if (!(c = find(ps, leg, ch)))
            return DCGW_POLICY_DROP;
    }
    if (c->doomed) {
        c->dropped++;
        return DCGW_POLICY_DROP;
    }
    struct prule *r = c->rule;
    uint64_t us = now_ms * 1000;
    Dcgw__PolicyReason why;
    if (!r->allow)
        why = DCGW__POLICY_REASON__REASON_DIRECTION;
    else if (r->max_msg && n > r->max_msg)
        why = DCGW__POLICY_REASON__REASON_MESSAGE_SIZE;
    else if (r->mps && dcgw_tbucket_available(&c->msgs, us) < 1)
        why = DCGW__POLICY_REASON__REASON_MESSAGE_RATE;
    else if (r->bps && !dcgw_tbucket_take(&c->bytes, n, us))
        why = DCGW__POLICY_REASON__REASON_BYTE_RATE;
    else {
        if (r->mps)
            dcgw_tbucket_take(&c->msgs, 1, us); /* available: cannot fail */
        r->st.messages++;
        r->st.bytes += n;
        return DCGW_POLICY_PASS;
    }
    c->dropped++;
    enum dcgw_policy_verdict v = verdict_of(r, false);
    if (v != DCGW_POLICY_DROP) {
        c->doomed = c->close_asked = true;
        uncount(ps, leg, c);
    }
    report(ps, leg, &ch->params, r, why, v, n, now_ms);
    return v;
}

void dcgw_policy_channel_closed(struct dcgw_policy_state *ps, unsigned leg,
                                const struct dcgw_dc_channel *ch)
{
    struct pchan *c = find(ps, leg, ch);
    if (!c)
        return;
    uncount(ps, leg, c);
    ps->legs[leg].slot[ch->params.id] = NULL;
    free(c);
}

void dcgw_policy_forget_leg(struct dcgw_policy_state *ps, unsigned leg)
{
    if (leg >= DCGW_POLICY_LEGS)
        return;
    struct legtab *t = &ps->legs[leg];
    for (uint32_t i = 0; i < t->cap; i++) {
        free(t->slot[i]);
        t->slot[i] = NULL;
    }
    t->open = 0;
}

/* ------------------------------------------------------------------ updates */

static struct prule *same_rule(struct dcgw_policy *p, const struct prule *old)
{
    for (size_t i = 0; old && i <= p->n_rules; i++)
        if (p->rules[i].scope == old->scope && strcmp(p->rules[i].name, old->name) == 0)
            return &p->rules[i];
    return NULL;
}

/* Looks one tracked channel up again under p (already in force). */
static void reevaluate(struct dcgw_policy_state *ps, unsigned leg, struct pchan *c,
                       struct prule *old, uint64_t now_ms)
{
    struct dcgw_policy *p = ps->pol;
    if (c->doomed) {
        c->rule = same_rule(p, old) ? same_rule(p, old) : &p->rules[p->n_rules];
        return;
    }
    struct decision d;
    decide(ps, leg, &c->ch->params, &d);
    if (!d.ok) {
        c->doomed = true;
        c->rule = d.blame;
        uncount(ps, leg, c);
        report(ps, leg, &c->ch->params, d.blame, DCGW__POLICY_REASON__REASON_UPDATE,
               DCGW_POLICY_CLOSE_CHANNEL, 0, now_ms);
        return;
    }
    bool keep = same_rule(p, old) == d.from;
    if (!keep)
        d.from->st.hits++;
    c->rule = d.from;
    buckets_for(c, d.from, keep, now_ms);
}

void dcgw_policy_set(struct dcgw_policy_state *ps, struct dcgw_policy *p, uint64_t now_ms)
{
    struct dcgw_policy *old = ps->pol;
    for (size_t i = 0; i <= p->n_rules; i++) {
        const struct prule *o = old ? same_rule(old, &p->rules[i]) : NULL;
        if (!old && strcmp(p->rules[i].name, "default") == 0 && p->rules[i].scope < 0)
            o = &ps->fallback;
        if (o)
            p->rules[i].st = o->st;
    }
    ps->pol = p;
    ps->updates += old != NULL;
    for (unsigned l = 0; l < DCGW_POLICY_LEGS; l++)
        for (uint32_t i = 0; i < ps->legs[l].cap; i++)
            if (ps->legs[l].slot[i])
                reevaluate(ps, l, ps->legs[l].slot[i], ps->legs[l].slot[i]->rule, now_ms);
    dcgw_policy_free(old);
    /* Closing may re-enter dcgw_policy_channel_closed: walk by index, re-read each slot. */
    for (unsigned l = 0; l < DCGW_POLICY_LEGS; l++)
        for (uint32_t i = 0; i < ps->legs[l].cap; i++) {
            struct pchan *c = ps->legs[l].slot[i];
            if (!c || !c->doomed || c->close_asked)
                continue;
            c->close_asked = true;
            if (ps->cbs.close_channel)
                ps->cbs.close_channel(ps->cbs.ud, l, c->ch);
        }
}

/* ------------------------------------------------------------------ counters */

const char *dcgw_policy_channel_rule(const struct dcgw_policy_state *ps, unsigned leg,
                                     const struct dcgw_dc_channel *ch, uint64_t *dropped)
{
    const struct pchan *c = find(ps, leg, ch);
    if (dropped)
        *dropped = c ? c->dropped : 0;
    return c ? c->rule->name : NULL;
}

const struct dcgw_policy_rule_stats *dcgw_policy_rule_stats(const struct dcgw_policy_state *ps,
                                                            int scope, const char *name)
{
    if (!ps->pol)
        return scope < 0 && strcmp(name, "default") == 0 ? &ps->fallback.st : NULL;
    for (size_t i = 0; i <= ps->pol->n_rules; i++)
        if (ps->pol->rules[i].scope == scope && strcmp(ps->pol->rules[i].name, name) == 0)
            return &ps->pol->rules[i].st;
    return NULL;
}

unsigned dcgw_policy_open_channels(const struct dcgw_policy_state *ps, unsigned leg)
{
    return leg < DCGW_POLICY_LEGS ? ps->legs[leg].open : 0;
}

void dcgw_policy_totals(const struct dcgw_policy_state *ps, uint64_t *violations,
                        uint64_t *suppressed, uint64_t *updates)
{
    if (violations)
        *violations = ps->violations;
    if (suppressed)
        *suppressed = ps->suppressed_total;
    if (updates)
        *updates = ps->updates;
}

static Dcgw__PolicyRuleStats *rule_pb(const struct dcgw_policy_state *ps, const struct prule *r)
{
    Dcgw__PolicyRuleStats *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    dcgw__policy_rule_stats__init(s);
    s->rule = strdup(r->name);
    s->scope = strdup(scope_name(ps, r));
    s->has_verdict = s->has_hits = s->has_messages = s->has_bytes = 1;
    s->has_refused_channels = s->has_dropped_direction = s->has_dropped_size = 1;
    s->has_dropped_rate = s->has_violations = 1;
    s->verdict =
        r->allow ? DCGW__POLICY_VERDICT__VERDICT_ALLOW : DCGW__POLICY_VERDICT__VERDICT_DENY;
    s->hits = r->st.hits;
    s->messages = r->st.messages;
    s->bytes = r->st.bytes;
    s->refused_channels = r->st.refused_channels;
    s->dropped_direction = r->st.dropped_direction;
    s->dropped_size = r->st.dropped_size;
    s->dropped_rate = r->st.dropped_rate;
    s->violations = r->st.violations;
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
    size_t n = ps->pol ? ps->pol->n_rules + 1 : 1;
    const struct prule *rules = ps->pol ? ps->pol->rules : &ps->fallback;
    unsigned legs = ps->pol ? ps->pol->n_legs : 0;
    st->rules = calloc(n, sizeof(*st->rules));
    st->open_channels = calloc(legs ? legs : 1, sizeof(*st->open_channels));
    if (!st->rules || !st->open_channels) {
        protobuf_c_message_free_unpacked(&st->base, NULL);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(st->rules[i] = rule_pb(ps, &rules[i]))) {
            protobuf_c_message_free_unpacked(&st->base, NULL);
            return NULL;
        }
        st->n_rules = i + 1;
    }
    for (unsigned l = 0; l < legs; l++)
        st->open_channels[st->n_open_channels++] = ps->legs[l].open;
    st->has_violations = st->has_events_suppressed = st->has_updates = 1;
    st->violations = ps->violations;
    st->events_suppressed = ps->suppressed_total;
    st->updates = (uint32_t)ps->updates;
    return st;
}
