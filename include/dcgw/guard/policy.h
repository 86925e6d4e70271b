/* Per-data-channel authorization policy (DESIGN.md §6, docs/policy.md).
 *
 * Two parts:
 *  - a compiled policy (struct dcgw_policy): the session's and its legs' policies, their
 *    rules put in precedence order for each source leg. Immutable; built by
 *    dcgw_policy_build from plain descriptions (struct dcgw_policy_spec). The wire form
 *    (Policy messages, proto/dcgw.proto) is compiled into those one layer up
 *    (msg/policy_wire.h), where the wire schema lives: the engine does not know it.
 *  - the enforcement state of one session (struct dcgw_policy_state): the compiled policy
 *    in force, one record per tracked channel (its rule, its token buckets), per-rule
 *    counters, the per-session violation-event limiter. Channels are looked up once, when
 *    they open; per message only counters and buckets are touched.
 *
 * A pure stage (DESIGN §4): no I/O, time comes in as now_ms; violations go out through
 * callbacks. Not thread-safe (one per session, on its worker). Default deny: a session
 * whose policies have no rules passes nothing. */
#ifndef DCGW_POLICY_H
#define DCGW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"
#include "dcgw/stages/datachannel.h"

enum dcgw_policy_limits {
    DCGW_POLICY_LEGS = DCGW_MAX_LEGS,
    DCGW_POLICY_REASONS = 16,       /* enum dcgw_policy_reason values counted (0..15) */
    DCGW_POLICY_RULES_MAX = 256,    /* rules in one Policy */
    DCGW_POLICY_RANGES_MAX = 64,    /* stream ranges in one rule */
    DCGW_POLICY_NAME_MAX = 64,      /* rule name, bytes */
    DCGW_POLICY_PATTERN_MAX = 1024, /* label / subprotocol pattern, bytes */
    DCGW_POLICY_LEG_NAME_MAX = DCGW_LEG_NAME_MAX,
    DCGW_POLICY_JSON_MAX = 1 << 20, /* a policy file */
    DCGW_POLICY_EVENTS_BURST_DEFAULT = 10,
    DCGW_POLICY_EVENTS_PER_SEC_DEFAULT = 5,
};
/* Largest rate or burst accepted (bytes or messages): keeps the token arithmetic of
 * tbucket.h (units x 10^6) inside 64 bits. */
#define DCGW_POLICY_RATE_MAX 1000000000000ull

/* Channel kinds a rule may name (the wire's ChannelKind has the same four). */
enum dcgw_policy_kind {
    DCGW_POLICY_KIND_ANY = 0, /* a rule without kind; a channel of no known kind */
    DCGW_POLICY_KIND_BOOTSTRAP,
    DCGW_POLICY_KIND_APPLICATION,
    DCGW_POLICY_KIND_AVATAR,
};

/* Which messages a rule about a leg decides. */
enum dcgw_policy_direction {
    DCGW_POLICY_DIR_BOTH = 0,
    DCGW_POLICY_DIR_FROM_LEG, /* messages the peer of the rule's leg sends */
    DCGW_POLICY_DIR_TO_LEG,   /* messages dcgw forwards to the peer of the rule's leg */
};

/* What a violation of a rule does (channel refusals always refuse the channel). */
enum dcgw_policy_action {
    DCGW_POLICY_ACTION_DROP = 0,
    DCGW_POLICY_ACTION_CLOSE_CHANNEL,
    DCGW_POLICY_ACTION_CLOSE_SESSION,
};

/* Why a channel or message was refused. */
enum dcgw_policy_reason {
    DCGW_POLICY_REASON_DENIED = 1,       /* the channel matched a deny rule, or no rule */
    DCGW_POLICY_REASON_DCEP_NOT_ALLOWED, /* an in-band open on a leg without allow_dcep */
    DCGW_POLICY_REASON_MAX_CHANNELS,
    DCGW_POLICY_REASON_CONSTRAINT, /* ordered / reliability constraint of the rule */
    DCGW_POLICY_REASON_DIRECTION,  /* a message in a direction no rule allows */
    DCGW_POLICY_REASON_MESSAGE_SIZE,
    DCGW_POLICY_REASON_MESSAGE_RATE,
    DCGW_POLICY_REASON_BYTE_RATE,
    DCGW_POLICY_REASON_UPDATE, /* a policy update no longer allows the channel */
};
/* A short text for people ("over max_message_size"). */
const char *dcgw_policy_reason_text(enum dcgw_policy_reason r);

/* What the owner does with a channel or a message. */
enum dcgw_policy_verdict {
    DCGW_POLICY_PASS,
    DCGW_POLICY_DROP,          /* drop this message */
    DCGW_POLICY_CLOSE_CHANNEL, /* refuse or close the channel (the bridge closes its twin) */
    DCGW_POLICY_CLOSE_SESSION, /* refuse / drop, then close the whole session */
};

/* Counters of one rule; kept across updates for a rule of the same scope and name. */
struct dcgw_policy_rule_stats {
    uint64_t hits;     /* channel directions this rule was chosen for */
    uint64_t messages; /* messages passed */
    uint64_t bytes;
    uint64_t refused_channels;
    uint64_t dropped_direction; /* messages in a direction the rule denies */
    uint64_t dropped_size;
    uint64_t dropped_rate; /* messages_per_sec or bytes_per_sec exceeded */
    uint64_t violations;
};

/* One violation, as reported to on_violation. Strings are valid during the call. */
struct dcgw_policy_violation {
    unsigned leg;
    const char *leg_name;
    uint16_t stream_id;
    const char *label;
    const char *rule;  /* deciding rule's name; "default"; "" for max_channels / allow_dcep */
    const char *scope; /* "session", a leg's name, or "" */
    enum dcgw_policy_reason reason;
    enum dcgw_policy_action action; /* what the owner is told to do */
    uint64_t size;                  /* message size, for message violations */
    uint64_t suppressed;            /* violations not reported since the previous report */
    uint64_t violations;            /* violations of this session so far */
};

struct dcgw_policy_cbs {
    void *ud;
    /* A violation that passed the per-session event limiter. Must not call back into
     * this policy state. Optional. */
    void (*on_violation)(void *ud, const struct dcgw_policy_violation *v);
    /* dcgw_policy_set found a tracked channel the new policy refuses: the owner closes
     * it (dcgw_dc_close_channel). May re-enter dcgw_policy_channel_closed. Optional. */
    void (*close_channel)(void *ud, unsigned leg, struct dcgw_dc_channel *ch);
};

struct dcgw_policy_settings {
    const char *session_id; /* for the audit log; copied */
    uint32_t events_per_sec;
    uint32_t events_burst;
};

struct dcgw_policy;
struct dcgw_policy_state;

/* ---- compiled policies */

/* Stream ids first..last, inclusive. */
struct dcgw_policy_range {
    uint16_t first, last;
};

/* One rule. Matchers left out match every channel; all given ones must hold. Limits and
 * constraints belong to allow rules (the wire validation says so; the engine applies what
 * it is given). */
struct dcgw_policy_rule_def {
    const char *name; /* NULL: "#<position in its policy, from 1>" */
    bool allow;
    int leg; /* index of the leg the rule is about; -1: any (session rules only) */
    enum dcgw_policy_direction dir; /* other than BOTH needs a leg */
    enum dcgw_policy_kind kind;
    const struct dcgw_policy_range *streams;
    size_t n_streams;
    const char *label, *subprotocol;           /* NULL: any; a glob when they hold one of * ? [ \ */
    uint32_t max_message_size;                 /* 0: none */
    uint64_t messages_per_sec, messages_burst; /* 0: no limit / burst = rate (at least 1) */
    uint64_t bytes_per_sec, bytes_burst;       /* 0: no limit / max(rate, the largest message) */
    int ordered, reliable;                     /* -1: no constraint; else 0 or 1 */
    bool has_max_retransmits, has_max_lifetime_ms;
    uint32_t max_retransmits, max_lifetime_ms;
    enum dcgw_policy_action action;
};

/* Audio and video of one policy (docs/media.md). Kinds index DCGW_POLICY_MEDIA_AUDIO and
 * DCGW_POLICY_MEDIA_VIDEO. */
enum { DCGW_POLICY_MEDIA_AUDIO = 0, DCGW_POLICY_MEDIA_VIDEO = 1, DCGW_POLICY_MEDIA_KINDS = 2 };
struct dcgw_policy_media_def {
    bool has[DCGW_POLICY_MEDIA_KINDS];             /* the policy says something of the kind */
    bool allow[DCGW_POLICY_MEDIA_KINDS];           /* default deny */
    uint64_t max_bitrate[DCGW_POLICY_MEDIA_KINDS]; /* bits/s per m-line, of the leg's media */
    uint32_t burst_ms;                             /* 0: the media stage's default */
};

/* One policy: the session's or a leg's. */
struct dcgw_policy_def {
    const struct dcgw_policy_rule_def *rules;
    size_t n_rules;
    bool has_max_channels, has_allow_dcep; /* a leg's value wins over the session's */
    uint32_t max_channels;                 /* 0: no policy limit */
    bool allow_dcep;
    const struct dcgw_policy_media_def *media; /* NULL: says nothing of audio and video */
};

/* The policies of a session: its own and one per leg (NULL: none). */
struct dcgw_policy_spec {
    const struct dcgw_policy_def *session;
    const struct dcgw_policy_def *legs[DCGW_POLICY_LEGS];
    const char *leg_names[DCGW_POLICY_LEGS];
    unsigned n_legs; /* 1 or 2 */
};

/* Builds the compiled policy (everything is copied). DCGW_EINVAL with err for a spec that
 * is not coherent (leg count, a rule's leg out of range, a direction without a leg),
 * DCGW_ENOMEM. On success *out is the caller's (dcgw_policy_free). */
int dcgw_policy_build(const struct dcgw_policy_spec *spec, struct dcgw_policy **out, char *err,
                      size_t errcap);
void dcgw_policy_free(struct dcgw_policy *p);

/* The rule deciding messages from leg `from_leg` on a channel with these parameters, in
 * precedence order (rules of from_leg's policy, of the other leg's, of the session's;
 * first match). Returns its name ("default" when none matches) and sets *allow. */
const char *dcgw_policy_lookup(const struct dcgw_policy *p, unsigned from_leg,
                               const struct dcgw_dc_params *params, bool *allow);

/* What p says of leg `leg`'s audio (kind DCGW_POLICY_MEDIA_AUDIO) or video: whether it may
 * flow, the bitrate limit in bits/s of what the leg's peer sends per m-line (0: none) and
 * the bucket depth in ms (0: the default). The leg's policy wins over the session's for a
 * kind it names; a kind neither names is refused (default deny). */
void dcgw_policy_media(const struct dcgw_policy *p, unsigned leg, unsigned kind, bool *allowed,
                       uint64_t *max_bitrate, uint32_t *burst_ms);

/* Channel kind by the 3GPP stream-id convention (TS 26.114 6.2.10), and KIND_AVATAR for
 * the subprotocols "avatar" and "3gpp-avatar" whatever the id (docs/policy.md). */
enum dcgw_policy_kind dcgw_policy_kind_of(uint16_t id, const char *subprotocol);

/* ---- enforcement state of one session */

/* cbs and settings are copied. DCGW_ENOMEM. The state starts with no policy (deny all)
 * until dcgw_policy_set. */
int dcgw_policy_state_new(const struct dcgw_policy_settings *set, const struct dcgw_policy_cbs *cbs,
                          struct dcgw_policy_state **out);
void dcgw_policy_state_free(struct dcgw_policy_state *ps);

/* Puts p in force (takes it; the previous one is freed). Counters of rules with the same
 * scope and name carry over, and so do the token levels of their channels. Each tracked
 * channel is looked up again: one the new policy refuses is reported (REASON_UPDATE) and
 * handed to cbs.close_channel; the others keep flowing. */
void dcgw_policy_set(struct dcgw_policy_state *ps, struct dcgw_policy *p, uint64_t now_ms);
const struct dcgw_policy *dcgw_policy_current(const struct dcgw_policy_state *ps);

/* A negotiated channel (a=dcmap) when the SDP is applied: PASS, or a refusal (reported,
 * counted, logged) and the channel should not be added. Nothing is tracked. */
enum dcgw_policy_verdict dcgw_policy_check_negotiated(struct dcgw_policy_state *ps, unsigned leg,
                                                      const struct dcgw_dc_params *params,
                                                      uint64_t now_ms);
/* A peer's DATA_CHANNEL_OPEN on leg: allow_dcep, max_channels and the rules. PASS: accept
 * (dcgw_policy_channel_open follows when it opens); otherwise refuse it (stream reset),
 * and close the session on DCGW_POLICY_CLOSE_SESSION. Nothing is tracked. */
enum dcgw_policy_verdict dcgw_policy_check_open(struct dcgw_policy_state *ps, unsigned leg,
                                                const struct dcgw_dc_params *params,
                                                uint64_t now_ms);
/* A channel opened on leg (any kind: negotiated, the peer's, a twin dcgw opened): looks it
 * up once and tracks it. PASS, or CLOSE_CHANNEL / CLOSE_SESSION for a channel the policy
 * refuses (max_channels included); a refused channel stays tracked as closing so its
 * messages are dropped quietly. Idempotent for a channel already tracked. */
enum dcgw_policy_verdict dcgw_policy_channel_open(struct dcgw_policy_state *ps, unsigned leg,
                                                  struct dcgw_dc_channel *ch, uint64_t now_ms);
/* One message of n bytes from the peer of leg on ch. A channel not tracked yet is opened
 * first (first use). PASS, DROP, CLOSE_CHANNEL (drop and close) or CLOSE_SESSION. */
enum dcgw_policy_verdict dcgw_policy_message(struct dcgw_policy_state *ps, unsigned leg,
                                             struct dcgw_dc_channel *ch, size_t n, uint64_t now_ms);
/* ch is going away: forget it. Safe for channels never tracked. */
void dcgw_policy_channel_closed(struct dcgw_policy_state *ps, unsigned leg,
                                const struct dcgw_dc_channel *ch);

/* Forgets every channel of leg without touching them: its endpoint was freed without
 * close callbacks (the leg died). */
void dcgw_policy_forget_leg(struct dcgw_policy_state *ps, unsigned leg);

/* The rule name tracked for ch (NULL if untracked) and the messages the policy dropped. */
const char *dcgw_policy_channel_rule(const struct dcgw_policy_state *ps, unsigned leg,
                                     const struct dcgw_dc_channel *ch, uint64_t *dropped);
/* Counters of the rule (scope -1: the session's policy; else a leg index; the implicit
 * deny is scope -1, "default"), or NULL. */
const struct dcgw_policy_rule_stats *dcgw_policy_rule_stats(const struct dcgw_policy_state *ps,
                                                            int scope, const char *name);
/* Channels open (tracked and allowed) on leg. */
unsigned dcgw_policy_open_channels(const struct dcgw_policy_state *ps, unsigned leg);
/* Totals: violations so far, violations not reported by an event, updates applied. */
void dcgw_policy_totals(const struct dcgw_policy_state *ps, uint64_t *violations,
                        uint64_t *suppressed, uint64_t *updates);
/* Violations so far by reason: out[r] += those of reason r (enum dcgw_policy_reason), r < n. */
void dcgw_policy_reason_totals(const struct dcgw_policy_state *ps, uint64_t *out, size_t n);

/* The rules in force, for a status: the compiled rules then the implicit deny
 * ("default"; alone before any policy is set). */
struct dcgw_policy_rule_view {
    const char *name;
    const char *scope; /* "session" or the leg's name */
    bool allow;
    const struct dcgw_policy_rule_stats *stats;
};
/* Rules in force (at least 1: the implicit deny). */
size_t dcgw_policy_rule_count(const struct dcgw_policy_state *ps);
/* The i-th of them; false past the end. Valid until the next dcgw_policy_set. */
bool dcgw_policy_rule_at(const struct dcgw_policy_state *ps, size_t i,
                         struct dcgw_policy_rule_view *out);
/* Legs of the policy in force (0 before any). */
unsigned dcgw_policy_legs(const struct dcgw_policy_state *ps);

#endif
