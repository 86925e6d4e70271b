/* The policy on the wire (Policy messages, proto/dcgw.proto; docs/policy.md): validation,
 * compilation into the engine (guard/policy.h), the status the engine's counters make,
 * the JSON file form, patches and the text dcgwctl prints. The engine knows none of the
 * wire; this is where the two meet. */
#ifndef DCGW_MSG_POLICY_WIRE_H
#define DCGW_MSG_POLICY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "dcgw.pb-c.h"
#include "dcgw/guard/policy.h"

/* ---- compiling (policy_wire.c) */

/* The sources of a session's policy: its own and one per leg (NULL: none). */
struct dcgw_policy_src {
    const Dcgw__Policy *session;
    const Dcgw__Policy *legs[DCGW_POLICY_LEGS];
    const char *leg_names[DCGW_POLICY_LEGS];
    unsigned n_legs; /* 1 or 2 */
};

/* Validates each policy (dcgw_policy_validate), resolves the rules' leg names and builds
 * the engine's policy (dcgw_policy_build). DCGW_EINVAL with "where: why" in err for a bad
 * policy (unknown leg, duplicate rule names, bad ranges, limits on a deny rule,
 * remove_rules outside a patch, ...), DCGW_ENOMEM. On success *out is the caller's
 * (dcgw_policy_free). */
int dcgw_policy_compile(const struct dcgw_policy_src *src, struct dcgw_policy **out, char *err,
                        size_t errcap);
/* The same from a Session message (its policy, its legs' names and policies). */
int dcgw_policy_compile_session(const Dcgw__Session *s, struct dcgw_policy **out, char *err,
                                size_t errcap);

/* The engine's counters as a heap PolicyStatus (protobuf_c_message_free_unpacked), or NULL
 * on ENOMEM. */
Dcgw__PolicyStatus *dcgw_policy_status(const struct dcgw_policy_state *ps);

/* ---- the message on its own, the file form and patches (policy_json.c) */

/* Checks one Policy on its own (everything but leg names). 0 or DCGW_EINVAL with err. */
int dcgw_policy_validate(const Dcgw__Policy *p, bool patch, char *err, size_t errcap);
/* Decodes a policy file: one JSON object with the Policy message's fields (.proto names,
 * enum value names), at most DCGW_POLICY_JSON_MAX bytes, duplicate keys refused, then
 * dcgw_policy_validate (patch: remove_rules allowed). *out is the caller's. DCGW_EINVAL
 * with "line:column: why" or "path: why" in err, DCGW_ETOOBIG, DCGW_ENOMEM. */
int dcgw_policy_from_json(const char *text, size_t n, bool patch, Dcgw__Policy **out, char *err,
                          size_t errcap);
/* Merges patch into base (NULL: empty): scalars present in patch replace; each patch rule
 * replaces the base rule of the same name or is appended; remove_rules deletes by name
 * (DCGW_ENOENT for a name not there). *out is a new Policy, the caller's. */
int dcgw_policy_patch(const Dcgw__Policy *base, const Dcgw__Policy *patch, Dcgw__Policy **out,
                      char *err, size_t errcap);
/* Human-readable effective policy of a session (session and leg policies) and its
 * counters, as `dcgwctl policy ID` prints it. */
void dcgw_policy_print(FILE *out, const Dcgw__Session *s);

#endif
