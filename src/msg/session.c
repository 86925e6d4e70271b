#include "dcgw/msg/session.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "dcgw/base/error.h"

bool dcgw_session_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= DCGW_SESSION_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

void dcgw_session_id_generate(char *out, size_t cap)
{
    uint8_t r[8];
    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0,
               sizeof(r)); /* RAND failing is not recoverable here; ids stay unique by check */
    snprintf(out, cap, "s-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

static int bad(char *err, size_t cap, const char *fmt, const char *arg)
{
    snprintf(err, cap, fmt, arg);
    return DCGW_EINVAL;
}

static int validate_leg(const Dcgw__Leg *leg, size_t idx, char *err, size_t cap)
{
    char where[32];
    snprintf(where, sizeof(where), "legs[%zu]", idx);
    if (!leg->name || !*leg->name || strlen(leg->name) > 32)
        return bad(err, cap, "%s: a leg needs a name of 1..32 characters", where);
    const Dcgw__DcMedia *dc = leg->dc;
    if (!dc)
        return bad(err, cap, "leg %s: no data-channel media (dc)", leg->name);
    if (dc->mode != DCGW__MEDIA_MODE__MODE_TERMINATE && dc->mode != DCGW__MEDIA_MODE__MODE_RELAY)
        return bad(err, cap, "leg %s: dc.mode must be MODE_TERMINATE or MODE_RELAY", leg->name);
    size_t sdp = dc->remote_sdp ? strlen(dc->remote_sdp) : 0;
    if (sdp > DCGW_SDP_MAX)
        return bad(err, cap, "leg %s: remote SDP larger than the limit", leg->name);
    if (leg->role == DCGW__LEG_ROLE__ROLE_ANSWER && sdp == 0)
        return bad(err, cap, "leg %s: ROLE_ANSWER needs the peer's offer in dc.remote_sdp",
                   leg->name);
    if (leg->role == DCGW__LEG_ROLE__ROLE_OFFER && sdp != 0)
        return bad(err, cap, "leg %s: ROLE_OFFER takes the peer's answer later, not now",
                   leg->name);
    return 0;
}

int dcgw_session_validate(const Dcgw__Session *s, char *err, size_t cap)
{
    if (!s)
        return bad(err, cap, "%s", "no session given");
    if (s->id && *s->id && !dcgw_session_id_valid(s->id))
        return bad(err, cap, "session id '%.64s' must be 1..63 of [A-Za-z0-9._:-]", s->id);
    if (s->n_legs < 1 || s->n_legs > DCGW_MAX_LEGS)
        return bad(err, cap, "%s", "a session has one or two legs");
    for (size_t i = 0; i < s->n_legs; i++) {
        int r = validate_leg(s->legs[i], i, err, cap);
        if (r)
            return r;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->legs[k]->name, s->legs[i]->name) == 0)
                return bad(err, cap, "two legs are named '%s'", s->legs[i]->name);
    }
    if (s->tag && strlen(s->tag) > 256)
        return bad(err, cap, "%s", "tag longer than 256 characters");
    return 0;
}

void dcgw_session_summarize(const Dcgw__Session *s, Dcgw__SessionSummary *out)
{
    dcgw__session_summary__init(out);
    out->id = s->id;
    out->has_worker = 1;
    out->worker = s->worker;
    out->has_state = 1;
    out->state = s->state;
    out->has_legs = 1;
    out->legs = (uint32_t)s->n_legs;
    out->tag = s->tag;
    out->has_created_unix_ms = s->has_created_unix_ms;
    out->created_unix_ms = s->created_unix_ms;
}

const char *dcgw_session_state_name(Dcgw__SessionState st)
{
    static const char *const names[] = {"unspecified", "pending", "connecting", "active",
                                        "closing",     "closed",  "lost"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

const char *dcgw_leg_state_name(Dcgw__LegState st)
{
    static const char *const names[] = {"unspecified", "new",    "ice",   "dtls",
                                        "connected",   "failed", "closed"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

const char *dcgw_media_mode_name(Dcgw__MediaMode m)
{
    static const char *const names[] = {"unspecified", "terminate", "relay"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}
