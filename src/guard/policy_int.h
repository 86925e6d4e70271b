/* Internals of the policy module shared by policy_compile.c (rules compiled from Policy
 * messages, matching) and policy.c (the enforcement state). Not for other modules. */
#ifndef DCGW_POLICY_INT_H
#define DCGW_POLICY_INT_H

#include "dcgw/guard/policy.h"

struct prule {
    char name[DCGW_POLICY_NAME_MAX + 1];
    int scope; /* -1: the session's policy; else the leg whose policy holds it */
    bool allow;
    struct dcgw_policy_range *ranges;
    size_t n_ranges;
    char *label, *proto; /* NULL: any */
    bool label_glob, proto_glob;
    enum dcgw_policy_kind kind; /* ANY: any */
    enum dcgw_policy_direction dir;
    int leg; /* the leg dir refers to; -1: any */
    uint32_t max_msg;
    uint64_t mps, mburst, bps, bburst;
    int ordered, reliable; /* -1: no constraint */
    bool has_max_retr, has_max_life;
    uint32_t max_retr, max_life;
    enum dcgw_policy_action action;
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
    bool media_allow[DCGW_POLICY_LEGS][DCGW_POLICY_MEDIA_KINDS];
    uint64_t media_bitrate[DCGW_POLICY_LEGS][DCGW_POLICY_MEDIA_KINDS];
    uint32_t media_burst_ms[DCGW_POLICY_LEGS];
};

/* The implicit deny: "default", session scope, action drop. */
void dcgw__policy_default_rule(struct prule *r);
/* The first rule of p deciding messages from leg s on a channel (never NULL: the
 * implicit deny when none matches). */
struct prule *dcgw__policy_first_match(const struct dcgw_policy *p, unsigned s,
                                       const struct dcgw_dc_params *prm,
                                       enum dcgw_policy_kind kind);
/* The ordered / reliability constraints of an allow rule hold for the channel. */
bool dcgw__policy_constraints_hold(const struct prule *r, const struct dcgw_dc_params *prm);

#endif
