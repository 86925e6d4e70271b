/* Policy messages on their own: validation, the JSON file form (docs/policy.md), patches,
 * and the text dcgwctl prints. The engine is in policy.c. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/pbjson.h"
#include "dcgw/msg/policy_wire.h"

/* ------------------------------------------------------------------ validation */

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > DCGW_POLICY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:@+-", c)))
            return false;
    }
    return true;
}

static int bad(char *err, size_t cap, const char *who, const char *why)
{
    snprintf(err, cap, "%s: %s", who, why);
    return DCGW_EINVAL;
}

static bool has_limits(const Dcgw__PolicyRule *r)
{
    return r->has_max_message_size || r->has_messages_per_sec || r->has_messages_burst ||
           r->has_bytes_per_sec || r->has_bytes_burst || r->has_ordered || r->has_reliable ||
           r->has_max_retransmits || r->has_max_lifetime_ms;
}

static int validate_streams(const Dcgw__PolicyRule *r, const char *who, char *err, size_t cap)
{
    if (r->n_streams > DCGW_POLICY_RANGES_MAX)
        return bad(err, cap, who, "too many stream ranges");
    for (size_t k = 0; k < r->n_streams; k++) {
        const Dcgw__StreamRange *s = r->streams[k];
        if (!s->has_first)
            return bad(err, cap, who, "a stream range needs first");
        if (s->first > DCGW_DC_STREAM_MAX || (s->has_last && s->last > DCGW_DC_STREAM_MAX))
            return bad(err, cap, who, "stream ids go from 0 to 65534");
        if (s->has_last && s->last < s->first)
            return bad(err, cap, who, "stream range with last < first");
    }
    return 0;
}

static int validate_limits(const Dcgw__PolicyRule *r, const char *who, char *err, size_t cap)
{
    if (r->verdict == DCGW__POLICY_VERDICT__VERDICT_DENY && has_limits(r))
        return bad(err, cap, who, "limits and constraints belong to allow rules");
    if (r->has_max_message_size && r->max_message_size == 0)
        return bad(err, cap, who, "max_message_size must be at least 1 (leave it out: none)");
    if ((r->has_messages_per_sec && r->messages_per_sec == 0) ||
        (r->has_bytes_per_sec && r->bytes_per_sec == 0))
        return bad(err, cap, who, "a rate must be at least 1 (leave it out: no limit)");
    if (r->has_bytes_per_sec && r->bytes_per_sec > DCGW_POLICY_RATE_MAX)
        return bad(err, cap, who, "bytes_per_sec above 10^12");
    if (r->has_messages_burst && (!r->has_messages_per_sec || r->messages_burst == 0))
        return bad(err, cap, who, "messages_burst needs messages_per_sec and is at least 1");
    if (r->has_bytes_burst &&
        (!r->has_bytes_per_sec || r->bytes_burst == 0 || r->bytes_burst > DCGW_POLICY_RATE_MAX))
        return bad(err, cap, who, "bytes_burst needs bytes_per_sec and is 1 .. 10^12");
    if (r->has_bytes_burst && r->has_max_message_size && r->bytes_burst < r->max_message_size)
        return bad(err, cap, who, "bytes_burst below max_message_size: such messages never pass");
    if (r->has_reliable && r->reliable && (r->has_max_retransmits || r->has_max_lifetime_ms))
        return bad(err, cap, who, "reliable: true contradicts max_retransmits / max_lifetime_ms");
    return 0;
}

static int validate_rule(const Dcgw__PolicyRule *r, size_t i, char *err, size_t cap)
{
    char who[DCGW_POLICY_NAME_MAX + 32];
    if (r->name)
        snprintf(who, sizeof(who), "rules[%zu] (%.*s)", i, DCGW_POLICY_NAME_MAX, r->name);
    else
        snprintf(who, sizeof(who), "rules[%zu]", i);
    if (r->name && (!name_ok(r->name) || strcmp(r->name, "default") == 0))
        return bad(err, cap, who, "a name is 1..64 of [A-Za-z0-9._:@+-], not \"default\"");
    if (!r->has_verdict || (r->verdict != DCGW__POLICY_VERDICT__VERDICT_ALLOW &&
                            r->verdict != DCGW__POLICY_VERDICT__VERDICT_DENY))
        return bad(err, cap, who, "verdict must be VERDICT_ALLOW or VERDICT_DENY");
    if ((r->label && strlen(r->label) > DCGW_POLICY_PATTERN_MAX) ||
        (r->subprotocol && strlen(r->subprotocol) > DCGW_POLICY_PATTERN_MAX))
        return bad(err, cap, who, "pattern longer than 1024 bytes");
    if (r->has_kind && (r->kind < DCGW__CHANNEL_KIND__KIND_UNSPECIFIED ||
                        r->kind > DCGW__CHANNEL_KIND__KIND_AVATAR))
        return bad(err, cap, who, "unknown kind");
    if (r->has_direction && (r->direction < DCGW__POLICY_DIRECTION__DIRECTION_BOTH ||
                             r->direction > DCGW__POLICY_DIRECTION__DIRECTION_TO_LEG))
        return bad(err, cap, who, "unknown direction");
    if (r->has_action && (r->action < DCGW__POLICY_ACTION__ACTION_UNSPECIFIED ||
                          r->action > DCGW__POLICY_ACTION__ACTION_CLOSE_SESSION))
        return bad(err, cap, who, "unknown action");
    if (r->leg && (!*r->leg || strlen(r->leg) > DCGW_POLICY_LEG_NAME_MAX))
        return bad(err, cap, who, "leg names are 1..32 characters");
    int e = validate_streams(r, who, err, cap);
    return e ? e : validate_limits(r, who, err, cap);
}

int dcgw_policy_validate(const Dcgw__Policy *p, bool patch, char *err, size_t errcap)
{
    if (p->n_rules > DCGW_POLICY_RULES_MAX)
        return bad(err, errcap, "rules", "more than 256 rules");
    if (p->has_max_channels && p->max_channels > DCGW_DC_STREAM_MAX + 1)
        return bad(err, errcap, "max_channels", "at most 65535");
    if (!patch && p->n_remove_rules)
        return bad(err, errcap, "remove_rules", "only a patch removes rules");
    if (p->n_remove_rules > DCGW_POLICY_RULES_MAX)
        return bad(err, errcap, "remove_rules", "more than 256 names");
    for (size_t i = 0; i < p->n_remove_rules; i++)
        if (!name_ok(p->remove_rules[i]))
            return bad(err, errcap, "remove_rules", "not a rule name");
    const Dcgw__MediaPolicy *m = p->media;
    if (m && (m->audio_max_bitrate > DCGW_POLICY_RATE_MAX ||
              m->video_max_bitrate > DCGW_POLICY_RATE_MAX))
        return bad(err, errcap, "media", "max_bitrate above 10^12 bits/s");
    if (m && m->burst_ms > 60000)
        return bad(err, errcap, "media", "burst_ms above 60000");
    for (size_t i = 0; i < p->n_rules; i++) {
        int r = validate_rule(p->rules[i], i, err, errcap);
        if (r)
            return r;
        for (size_t k = 0; p->rules[i]->name && k < i; k++)
            if (p->rules[k]->name && strcmp(p->rules[k]->name, p->rules[i]->name) == 0)
                return bad(err, errcap, p->rules[i]->name, "two rules with this name");
    }
    return 0;
}

/* ------------------------------------------------------------------ file form */

int dcgw_policy_from_json(const char *text, size_t n, bool patch, Dcgw__Policy **out, char *err,
                          size_t errcap)
{
    if (n > DCGW_POLICY_JSON_MAX) {
        snprintf(err, errcap, "policy file larger than %d bytes", DCGW_POLICY_JSON_MAX);
        return DCGW_ETOOBIG;
    }
    json_error_t je;
    json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        snprintf(err, errcap, "%d:%d: %s", je.line, je.column, je.text);
        return DCGW_EINVAL;
    }
    Dcgw__Policy *p = NULL;
    int r = dcgw_pb_from_json(&dcgw__policy__descriptor, j, (ProtobufCMessage **)&p, err, errcap);
    json_decref(j);
    if (r == 0 && (r = dcgw_policy_validate(p, patch, err, errcap)) < 0)
        protobuf_c_message_free_unpacked(&p->base, NULL);
    if (r == 0)
        *out = p;
    return r;
}

/* ------------------------------------------------------------------ patches */

static long rule_index(const Dcgw__Policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_rules; i++)
        if (p->rules[i]->name && strcmp(p->rules[i]->name, name) == 0)
            return (long)i;
    return -1;
}

static int apply_patch(Dcgw__Policy *r, const Dcgw__Policy *patch, char *err, size_t cap)
{
    if (patch->has_version) {
        r->has_version = 1;
        r->version = patch->version;
    }
    if (patch->has_max_channels) {
        r->has_max_channels = 1;
        r->max_channels = patch->max_channels;
    }
    if (patch->has_allow_dcep) {
        r->has_allow_dcep = 1;
        r->allow_dcep = patch->allow_dcep;
    }
    if (patch->media) { /* the fields a patch gives replace the policy's */
        if (!r->media && !(r->media = calloc(1, sizeof(*r->media))))
            return DCGW_ENOMEM;
        Dcgw__MediaPolicy *rm = r->media;
        const Dcgw__MediaPolicy *pm = patch->media;
        if (!rm->base.descriptor)
            dcgw__media_policy__init(rm);
        if (pm->has_allow_audio)
            rm->has_allow_audio = 1, rm->allow_audio = pm->allow_audio;
        if (pm->has_allow_video)
            rm->has_allow_video = 1, rm->allow_video = pm->allow_video;
        if (pm->has_audio_max_bitrate)
            rm->has_audio_max_bitrate = 1, rm->audio_max_bitrate = pm->audio_max_bitrate;
        if (pm->has_video_max_bitrate)
            rm->has_video_max_bitrate = 1, rm->video_max_bitrate = pm->video_max_bitrate;
        if (pm->has_burst_ms)
            rm->has_burst_ms = 1, rm->burst_ms = pm->burst_ms;
    }
    for (size_t i = 0; i < patch->n_remove_rules; i++) {
        long k = rule_index(r, patch->remove_rules[i]);
        if (k < 0) {
            snprintf(err, cap, "remove_rules: no rule named '%s'", patch->remove_rules[i]);
            return DCGW_ENOENT;
        }
        protobuf_c_message_free_unpacked(&r->rules[k]->base, NULL);
        memmove(&r->rules[k], &r->rules[k + 1], (r->n_rules - (size_t)k - 1) * sizeof(*r->rules));
        r->n_rules--;
    }
    Dcgw__PolicyRule **arr = realloc(r->rules, (r->n_rules + patch->n_rules + 1) * sizeof(*arr));
    if (!arr)
        return DCGW_ENOMEM;
    r->rules = arr;
    for (size_t i = 0; i < patch->n_rules; i++) {
        Dcgw__PolicyRule *c = (Dcgw__PolicyRule *)dcgw_ctlmsg_clone(&patch->rules[i]->base);
        if (!c)
            return DCGW_ENOMEM;
        long k = c->name ? rule_index(r, c->name) : -1;
        if (k >= 0) {
            protobuf_c_message_free_unpacked(&r->rules[k]->base, NULL);
            r->rules[k] = c;
        } else {
            r->rules[r->n_rules++] = c;
        }
    }
    return 0;
}

int dcgw_policy_patch(const Dcgw__Policy *base, const Dcgw__Policy *patch, Dcgw__Policy **out,
                      char *err, size_t errcap)
{
    Dcgw__Policy *r;
    if (base) {
        r = (Dcgw__Policy *)dcgw_ctlmsg_clone(&base->base);
    } else if ((r = malloc(sizeof(*r)))) {
        dcgw__policy__init(r);
    }
    if (!r) {
        snprintf(err, errcap, "out of memory");
        return DCGW_ENOMEM;
    }
    /* a stored policy has none, but drop any before merging */
    for (size_t i = 0; i < r->n_remove_rules; i++)
        free(r->remove_rules[i]);
    r->n_remove_rules = 0;
    int e = apply_patch(r, patch, err, errcap);
    if (e == DCGW_ENOMEM)
        snprintf(err, errcap, "out of memory");
    if (e == 0)
        e = dcgw_policy_validate(r, false, err, errcap);
    if (e < 0) {
        protobuf_c_message_free_unpacked(&r->base, NULL);
        return e;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ text */

static const char *enum_short(const ProtobufCEnumDescriptor *d, int v, size_t skip)
{
    const char *n = dcgw_pb_enum_name(d, v);
    return n && strlen(n) > skip ? n + skip : "?";
}

static void print_rule(FILE *out, const Dcgw__PolicyRule *r, size_t i)
{
    char name[24];
    snprintf(name, sizeof(name), "#%zu", i + 1);
    fprintf(out, "    %-16s %-5s", r->name ? r->name : name,
            r->verdict == DCGW__POLICY_VERDICT__VERDICT_ALLOW ? "allow" : "deny");
    for (size_t k = 0; k < r->n_streams; k++) {
        const Dcgw__StreamRange *s = r->streams[k];
        fprintf(out, k ? ",%u" : " streams=%u", s->first);
        if (s->has_last && s->last != s->first)
            fprintf(out, "-%u", s->last);
    }
    if (r->label)
        fprintf(out, " label=\"%s\"", r->label);
    if (r->subprotocol)
        fprintf(out, " subprotocol=\"%s\"", r->subprotocol);
    if (r->has_kind && r->kind)
        fprintf(out, " kind=%s", enum_short(&dcgw__channel_kind__descriptor, r->kind, 5));
    if (r->has_direction && r->direction)
        fprintf(out, " %s", enum_short(&dcgw__policy_direction__descriptor, r->direction, 10));
    if (r->leg)
        fprintf(out, " leg=%s", r->leg);
    if (r->has_max_message_size)
        fprintf(out, " max=%uB", r->max_message_size);
    if (r->has_messages_per_sec)
        fprintf(out, " %umsg/s", r->messages_per_sec);
    if (r->has_messages_burst)
        fprintf(out, "(burst %u)", r->messages_burst);
    if (r->has_bytes_per_sec)
        fprintf(out, " %" PRIu64 "B/s", r->bytes_per_sec);
    if (r->has_bytes_burst)
        fprintf(out, "(burst %" PRIu64 ")", r->bytes_burst);
    if (r->has_ordered)
        fprintf(out, " ordered=%s", r->ordered ? "yes" : "no");
    if (r->has_reliable)
        fprintf(out, " reliable=%s", r->reliable ? "yes" : "no");
    if (r->has_max_retransmits)
        fprintf(out, " max-retr<=%u", r->max_retransmits);
    if (r->has_max_lifetime_ms)
        fprintf(out, " max-time<=%ums", r->max_lifetime_ms);
    if (r->has_action && r->action)
        fprintf(out, " on-violation=%s",
                enum_short(&dcgw__policy_action__descriptor, r->action, 7));
    fputc('\n', out);
}

static void print_policy(FILE *out, const char *scope, const Dcgw__Policy *p)
{
    if (!p) {
        fprintf(out, "  %s: no policy\n", scope);
        return;
    }
    fprintf(out, "  %s: version %u, allow_dcep %s, max_channels ", scope, p->version,
            p->has_allow_dcep ? (p->allow_dcep ? "yes" : "no") : "-");
    if (p->has_max_channels)
        fprintf(out, "%u\n", p->max_channels);
    else
        fprintf(out, "-\n");
    for (size_t i = 0; i < p->n_rules; i++)
        print_rule(out, p->rules[i], i);
    const Dcgw__MediaPolicy *m = p->media;
    if (m)
        fprintf(
            out, "    media: audio %s (%" PRIu64 " bit/s), video %s (%" PRIu64 " bit/s)\n",
            m->has_allow_audio ? (m->allow_audio ? "allow" : "deny") : "-", m->audio_max_bitrate,
            m->has_allow_video ? (m->allow_video ? "allow" : "deny") : "-", m->video_max_bitrate);
}

void dcgw_policy_print(FILE *out, const Dcgw__Session *s)
{
    fprintf(out, "policy of session %s (first match: source leg, far leg, session; then deny)\n",
            s->id ? s->id : "?");
    print_policy(out, "session", s->policy);
    for (size_t i = 0; i < s->n_legs; i++) {
        char scope[DCGW_POLICY_LEG_NAME_MAX + 8];
        snprintf(scope, sizeof(scope), "leg %s", s->legs[i]->name ? s->legs[i]->name : "?");
        print_policy(out, scope, s->legs[i]->policy);
    }
    const Dcgw__PolicyStatus *st = s->policy_status;
    if (!st)
        return;
    fprintf(out, "  %-10s %-16s %-5s %6s %10s %12s %7s %6s %6s %6s\n", "scope", "rule", "", "hits",
            "messages", "bytes", "refused", "dir", "size", "rate");
    for (size_t i = 0; i < st->n_rules; i++) {
        const Dcgw__PolicyRuleStats *r = st->rules[i];
        fprintf(out,
                "  %-10s %-16s %-5s %6" PRIu64 " %10" PRIu64 " %12" PRIu64 " %7" PRIu64 " %6" PRIu64
                " %6" PRIu64 " %6" PRIu64 "\n",
                r->scope ? r->scope : "", r->rule ? r->rule : "",
                r->verdict == DCGW__POLICY_VERDICT__VERDICT_ALLOW ? "allow" : "deny", r->hits,
                r->messages, r->bytes, r->refused_channels, r->dropped_direction, r->dropped_size,
                r->dropped_rate);
    }
    fprintf(out, "  violations %" PRIu64 ", not reported by an event %" PRIu64 ", updates %u",
            st->violations, st->events_suppressed, st->updates);
    for (size_t i = 0; i < st->n_open_channels && i < s->n_legs; i++)
        fprintf(out, "%s%s %u", i ? ", " : "; open channels: ", s->legs[i]->name,
                st->open_channels[i]);
    fputc('\n', out);
}
