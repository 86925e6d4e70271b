#include "dcgw/msg/session.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/http_url.h"

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

static bool bootstrap_stream(uint32_t id)
{
    return id == 0 || id == 10 || id == 100 || id == 110;
}

static int validate_mdc1(const Dcgw__Mdc1Endpoint *e, bool local, const char *leg, const char *what,
                         char *err, size_t cap)
{
    struct sockaddr_storage ss;
    if (!e)
        return 0;
    if (e->address && *e->address) {
        bool ok = dcgw_addr_parse(e->address, &ss) == 0 ||
                  (local && dcgw_addr_from(e->address, 0, &ss) == 0);
        if (!ok) {
            snprintf(err, cap, "leg %s: %s.address '%.64s' must be a numeric %s", leg, what,
                     e->address, local ? "ip or ip:port" : "ip:port");
            return DCGW_EINVAL;
        }
    }
    if (!local && e->tls_ca_pem && strlen(e->tls_ca_pem) > DCGW_SDP_MAX) {
        snprintf(err, cap, "leg %s: %s.tls_ca_pem larger than 64 KiB", leg, what);
        return DCGW_EINVAL;
    }
    if (!local && !e->tls_cert_file != !e->tls_key_file) {
        snprintf(err, cap, "leg %s: %s: tls_cert_file and tls_key_file go together", leg, what);
        return DCGW_EINVAL;
    }
    const char *files[] = {e->tls_ca_file, e->tls_cert_file, e->tls_key_file};
    for (size_t i = 0; i < 3; i++)
        if (files[i] && strlen(files[i]) >= 256) {
            snprintf(err, cap, "leg %s: %s: a file name longer than 255 bytes", leg, what);
            return DCGW_EINVAL;
        }
    if (local && (e->tls_ca_pem || e->tls_ca_file || e->tls_cert_file || e->has_http_version)) {
        snprintf(err, cap, "leg %s: %s takes only an address", leg, what);
        return DCGW_EINVAL;
    }
    return 0;
}

static int validate_limits(const Dcgw__HttpProxyLimits *l, const char *leg, char *err, size_t cap)
{
    if (!l)
        return 0;
    struct {
        bool has;
        uint32_t v, lo, hi;
        const char *name;
    } f[] = {
        {l->has_connect_timeout_ms, l->connect_timeout_ms, 100, 600000, "connect_timeout_ms"},
        {l->has_request_timeout_ms, l->request_timeout_ms, 100, 3600000, "request_timeout_ms"},
        {l->has_max_header_bytes, l->max_header_bytes, 1024, DCGW_HTTP_HEADER_BYTES_CEILING,
         "max_header_bytes"},
        {l->has_max_body_bytes, l->max_body_bytes, 0, DCGW_HTTP_BODY_CEILING, "max_body_bytes"},
        {l->has_max_concurrent, l->max_concurrent, 1, DCGW_HTTP_CONCURRENT_CEILING,
         "max_concurrent"},
        {l->has_window_bytes, l->window_bytes, DCGW_HTTP_WINDOW_MIN, DCGW_HTTP_WINDOW_CEILING,
         "window_bytes"},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].has && (f[i].v < f[i].lo || f[i].v > f[i].hi)) {
            snprintf(err, cap, "leg %s: http limits: %s %u out of range [%u, %u]", leg, f[i].name,
                     f[i].v, f[i].lo, f[i].hi);
            return DCGW_EINVAL;
        }
    return 0;
}

int dcgw_session_validate_proxy(const Dcgw__DcMedia *dc, const char *leg, bool update, char *err,
                                size_t cap)
{
    bool http = dc->has_media_proxy_config &&
                dc->media_proxy_config == DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    if (dc->has_media_proxy_config && !http &&
        dc->media_proxy_config != DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE) {
        snprintf(err, cap, "leg %s: unknown media_proxy_config", leg);
        return DCGW_EINVAL;
    }
    if (dc->n_replace_http_url && !http && (!update || dc->has_media_proxy_config)) {
        snprintf(err, cap, "leg %s: replace_http_url needs media_proxy_config MEDIA_PROXY_HTTP",
                 leg);
        return DCGW_EINVAL;
    }
    if (http && dc->n_replace_http_url == 0 && !update) {
        snprintf(err, cap, "leg %s: MEDIA_PROXY_HTTP needs replace_http_url entries", leg);
        return DCGW_EINVAL;
    }
    if (dc->has_mode && dc->mode == DCGW__MEDIA_MODE__MODE_RELAY &&
        (http || dc->n_replace_http_url)) {
        snprintf(err, cap, "leg %s: a relay leg cannot proxy HTTP (it holds no keys)", leg);
        return DCGW_EINVAL;
    }
    for (size_t i = 0; i < dc->n_replace_http_url; i++) {
        const Dcgw__HttpProxyBinding *b = dc->replace_http_url[i];
        struct dcgw_http_base base;
        const char *why = NULL;
        if (!b->has_stream_id || !bootstrap_stream(b->stream_id)) {
            snprintf(err, cap, "leg %s: replace_http_url[%zu]: stream_id must be 0, 10, 100 or 110",
                     leg, i);
            return DCGW_EINVAL;
        }
        for (size_t k = 0; k < i; k++)
            if (dc->replace_http_url[k]->stream_id == b->stream_id) {
                snprintf(err, cap, "leg %s: replace_http_url: stream %u given twice", leg,
                         b->stream_id);
                return DCGW_EINVAL;
            }
        if (dcgw_http_base_parse(b->url, &base, &why) < 0) {
            snprintf(err, cap, "leg %s: replace_http_url[%zu] (stream %u): url: %s", leg, i,
                     b->stream_id, why);
            return DCGW_EINVAL;
        }
        int r =
            validate_mdc1(b->remote_mdc1_endpoint, false, leg, "remote_mdc1_endpoint", err, cap);
        if (r == 0)
            r = validate_limits(b->limits, leg, err, cap);
        if (r < 0)
            return r;
    }
    int r = validate_mdc1(dc->remote_mdc1_endpoint, false, leg, "remote_mdc1_endpoint", err, cap);
    if (r == 0)
        r = validate_mdc1(dc->local_mdc1_endpoint, true, leg, "local_mdc1_endpoint", err, cap);
    if (r == 0)
        r = validate_limits(dc->http_limits, leg, err, cap);
    return r;
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
    return dcgw_session_validate_proxy(dc, leg->name, false, err, cap);
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
                                        "closing",     "closed",  "lost",       "down"};
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
