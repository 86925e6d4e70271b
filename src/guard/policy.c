/* Policy engine: the enforcement state of a session — lookup at channel open,
 * per-message counters and token buckets, violations, updates. Rules are compiled and
 * matched in policy_compile.c; the wire form (compiling Policy messages, the status, the
 * file form, patches) is in msg/policy_wire.c and msg/policy_json.c. */
#include "dcgw/guard/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "dcgw/base/tbucket.h"
#include "policy_int.h"

/* A tracked channel of one leg. */
struct pchan {
    struct dcgw_dc_channel *ch;
    uint16_t id;        /* ch's stream id: the table's key (never read through ch) */
    struct prule *rule; /* for messages from this leg's peer */
    struct dcgw_tbucket msgs, bytes;
    uint64_t dropped;
    bool counted;     /* counts toward the leg's open channels */
    bool doomed;      /* refused: its messages are dropped quietly until it closes */
    bool close_asked; /* the owner was told to close it */
};

/* A leg's tracked channels, sorted by stream id: a few per leg, where a table indexed by
 * stream id took 8 bytes per id up to the highest in use (issue 17). */
struct legtab {
    struct pchan **v;
    uint32_t n, cap;
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
    uint64_t by_reason[DCGW_POLICY_REASONS];
};

static const char *const reason_names[] = {
    [DCGW_POLICY_REASON_DENIED] = "denied",
    [DCGW_POLICY_REASON_DCEP_NOT_ALLOWED] = "in-band open not allowed",
    [DCGW_POLICY_REASON_MAX_CHANNELS] = "max_channels reached",
    [DCGW_POLICY_REASON_CONSTRAINT] = "ordered/reliability constraint",
    [DCGW_POLICY_REASON_DIRECTION] = "direction not allowed",
    [DCGW_POLICY_REASON_MESSAGE_SIZE] = "over max_message_size",
    [DCGW_POLICY_REASON_MESSAGE_RATE] = "over messages_per_sec",
    [DCGW_POLICY_REASON_BYTE_RATE] = "over bytes_per_sec",
    [DCGW_POLICY_REASON_UPDATE] = "no longer allowed after an update",
};

const char *dcgw_policy_reason_text(enum dcgw_policy_reason r)
{
    const char *t =
        (size_t)r < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[r] : NULL;
    return t ? t : "?";
}

struct decision {
    struct prule *from;  /* for messages from the channel's leg */
    struct prule *blame; /* when refused */
    enum dcgw_policy_reason reason;
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
        d->reason = DCGW_POLICY_REASON_DENIED;
        return;
    }
    enum dcgw_policy_kind kind = dcgw_policy_kind_of(prm->id, prm->protocol);
    struct prule *dflt = &p->rules[p->n_rules];
    struct prule *to = p->n_legs == 2 ? dcgw__policy_first_match(p, 1 - leg, prm, kind) : NULL;
    d->from = dcgw__policy_first_match(p, leg, prm, kind);
    struct prule *broken = d->from->allow && !dcgw__policy_constraints_hold(d->from, prm) ? d->from
                           : to && to->allow && !dcgw__policy_constraints_hold(to, prm)   ? to
                                                                                          : NULL;
    if (broken) {
        d->blame = broken;
        d->reason = DCGW_POLICY_REASON_CONSTRAINT;
        return;
    }
    d->ok = d->from->allow || (to && to->allow);
    if (!d->ok) {
        d->blame = d->from != dflt ? d->from : to && to != dflt ? to : dflt;
        d->reason = DCGW_POLICY_REASON_DENIED;
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
    dcgw__policy_default_rule(&ps->fallback);
    dcgw_tbucket_init(&ps->events, rate, burst, 0);
    *out = ps;
    return 0;
}

void dcgw_policy_state_free(struct dcgw_policy_state *ps)
{
    if (!ps)
        return;
    for (unsigned l = 0; l < DCGW_POLICY_LEGS; l++) {
        for (uint32_t i = 0; i < ps->legs[l].n; i++)
            free(ps->legs[l].v[i]);
        free(ps->legs[l].v);
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
    for (; s[k] && k + 1 < cap; k++) {
        char c = s[k];
        if ((unsigned char)c < 0x20 || c == 0x7f || c == '"')
            c = '?';
        buf[k] = c;
    }
    buf[k] = '\0';
    return buf;
}

static void count_reason(struct prule *r, enum dcgw_policy_reason why)
{
    r->st.violations++;
    switch (why) {
    case DCGW_POLICY_REASON_DIRECTION:
        r->st.dropped_direction++;
        break;
    case DCGW_POLICY_REASON_MESSAGE_SIZE:
        r->st.dropped_size++;
        break;
    case DCGW_POLICY_REASON_MESSAGE_RATE:
    case DCGW_POLICY_REASON_BYTE_RATE:
        r->st.dropped_rate++;
        break;
    default:
        r->st.refused_channels++;
        break;
    }
}

static enum dcgw_policy_action action_of(enum dcgw_policy_verdict v)
{
    return v == DCGW_POLICY_CLOSE_SESSION   ? DCGW_POLICY_ACTION_CLOSE_SESSION
           : v == DCGW_POLICY_CLOSE_CHANNEL ? DCGW_POLICY_ACTION_CLOSE_CHANNEL
                                            : DCGW_POLICY_ACTION_DROP;
}

/* The verdict for a violation of r: channel refusals close at least the channel. */
static enum dcgw_policy_verdict verdict_of(const struct prule *r, bool channel)
{
    if (r && r->action == DCGW_POLICY_ACTION_CLOSE_SESSION)
        return DCGW_POLICY_CLOSE_SESSION;
    if (channel || (r && r->action == DCGW_POLICY_ACTION_CLOSE_CHANNEL))
        return DCGW_POLICY_CLOSE_CHANNEL;
    return DCGW_POLICY_DROP;
}

/* Counts a violation, writes the audit line and, within the event budget, reports it. */
static void report(struct dcgw_policy_state *ps, unsigned leg, const struct dcgw_dc_params *prm,
                   struct prule *r, enum dcgw_policy_reason why, enum dcgw_policy_verdict v,
                   uint64_t size, uint64_t now_ms)
{
    ps->violations++;
    ps->by_reason[(unsigned)why < DCGW_POLICY_REASONS ? why : 0]++;
    if (r)
        count_reason(r, why);
    char lab[80];
    const char *rule = r ? r->name : "", *scope = scope_name(ps, r);
    const char *reason = dcgw_policy_reason_text(why);
    printable(prm->label, lab, sizeof(lab));
    if (why <= DCGW_POLICY_REASON_CONSTRAINT || why == DCGW_POLICY_REASON_UPDATE)
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

/* The index of the first record whose stream id is >= id (t->n when none). */
static uint32_t pos_of(const struct legtab *t, uint32_t id)
{
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The record on stream id, or NULL. */
static struct pchan *at_id(const struct legtab *t, uint32_t id)
{
    uint32_t i = pos_of(t, id);
    return i < t->n && t->v[i]->id == id ? t->v[i] : NULL;
}

static struct pchan *find(const struct dcgw_policy_state *ps, unsigned leg,
                          const struct dcgw_dc_channel *ch)
{
    if (leg >= DCGW_POLICY_LEGS)
        return NULL;
    struct pchan *c = at_id(&ps->legs[leg], ch->params.id);
    return c && c->ch == ch ? c : NULL;
}

static void drop_at(struct legtab *t, uint32_t i)
{
    free(t->v[i]);
    t->n--;
    memmove(t->v + i, t->v + i + 1, (t->n - i) * sizeof(*t->v));
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
    uint32_t i = pos_of(t, ch->params.id);
    struct pchan *c = i < t->n && t->v[i]->id == ch->params.id ? t->v[i] : NULL;
    if (c) {
        uncount(ps, leg, c);
        memset(c, 0, sizeof(*c));
        c->ch = ch;
        c->id = ch->params.id;
        return c;
    }
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? 2 * t->cap : 4;
        struct pchan **n = realloc(t->v, cap * sizeof(*n));
        if (!n)
            return NULL;
        t->v = n;
        t->cap = cap;
    }
    if (!(c = calloc(1, sizeof(*c))))
        return NULL;
    c->ch = ch;
    c->id = ch->params.id;
    memmove(t->v + i + 1, t->v + i, (t->n - i) * sizeof(*t->v));
    t->v[i] = c;
    t->n++;
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
               dcep ? DCGW_POLICY_REASON_MAX_CHANNELS : DCGW_POLICY_REASON_DCEP_NOT_ALLOWED,
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
        report(ps, leg, &ch->params, NULL, DCGW_POLICY_REASON_MAX_CHANNELS,
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
    enum dcgw_policy_reason why;
    if (!r->allow)
        why = DCGW_POLICY_REASON_DIRECTION;
    else if (r->max_msg && n > r->max_msg)
        why = DCGW_POLICY_REASON_MESSAGE_SIZE;
    else if (r->mps && dcgw_tbucket_available(&c->msgs, us) < 1)
        why = DCGW_POLICY_REASON_MESSAGE_RATE;
    else if (r->bps && !dcgw_tbucket_take(&c->bytes, n, us))
        why = DCGW_POLICY_REASON_BYTE_RATE;
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
    drop_at(&ps->legs[leg], pos_of(&ps->legs[leg], ch->params.id));
}

void dcgw_policy_forget_leg(struct dcgw_policy_state *ps, unsigned leg)
{
    if (leg >= DCGW_POLICY_LEGS)
        return;
    struct legtab *t = &ps->legs[leg];
    for (uint32_t i = 0; i < t->n; i++)
        free(t->v[i]);
    t->n = 0;
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
        report(ps, leg, &c->ch->params, d.blame, DCGW_POLICY_REASON_UPDATE,
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
        for (uint32_t i = 0; i < ps->legs[l].n; i++)
            reevaluate(ps, l, ps->legs[l].v[i], ps->legs[l].v[i]->rule, now_ms);
    dcgw_policy_free(old);
    /* Closing may re-enter dcgw_policy_channel_closed, which removes records: walk by
     * stream id, looking the next one up again after each call. */
    for (unsigned l = 0; l < DCGW_POLICY_LEGS; l++)
        for (uint32_t id = 0;;) {
            struct legtab *t = &ps->legs[l];
            uint32_t i = pos_of(t, id);
            if (i >= t->n)
                break;
            struct pchan *c = t->v[i];
            id = (uint32_t)c->id + 1;
            if (!c->doomed || c->close_asked)
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

void dcgw_policy_reason_totals(const struct dcgw_policy_state *ps, uint64_t *out, size_t n)
{
    for (size_t i = 0; i < n && i < DCGW_POLICY_REASONS; i++)
        out[i] += ps->by_reason[i];
}

size_t dcgw_policy_rule_count(const struct dcgw_policy_state *ps)
{
    return ps->pol ? ps->pol->n_rules + 1 : 1;
}

bool dcgw_policy_rule_at(const struct dcgw_policy_state *ps, size_t i,
                         struct dcgw_policy_rule_view *out)
{
    if (i >= dcgw_policy_rule_count(ps))
        return false;
    const struct prule *r = ps->pol ? &ps->pol->rules[i] : &ps->fallback;
    out->name = r->name;
    out->scope = scope_name(ps, r);
    out->allow = r->allow;
    out->stats = &r->st;
    return true;
}

unsigned dcgw_policy_legs(const struct dcgw_policy_state *ps)
{
    return ps->pol ? ps->pol->n_legs : 0;
}
