/* Nmf_MRM MediaContext <-> dcgw Session (docs/nmf-mrm.md has the table): a termination is
 * a leg named by its terminationId, its DC media the leg's DcMedia. What the IMS AS says
 * of the remote peer (remoteMbEndpoint, remoteDcEndpoint, securitySetup, maxMessageSize,
 * streams, and the ICE credentials of the vendor extension) becomes the SDP the leg takes,
 * its bootstrap proxy members the leg's proxy fields (nmf_proxy.c); what dcgw allocated
 * comes back as the local endpoints. Bodies are validated before. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"
#include "dcgw/sdp/sdp.h"

enum { DEFAULT_SCTP_PORT = 5000, DEFAULT_MAX_MESSAGE_SIZE = 65536 };

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const json_t *vendor(const json_t *o, const struct dcgw_nmf_settings *s)
{
    char key[32];
    return json_object_get(o, dcgw_nmf_vendor_key(s, key, sizeof(key)));
}

int dcgw__nmf_endpoint_addr(const json_t *ep, struct sockaddr_storage *ss)
{
    const json_t *ip = json_object_get(ep, "ip");
    json_int_t port = json_integer_value(json_object_get(ep, "portNumber"));
    const char *v4 = str(ip, "ipv4Addr"), *v6 = str(ip, "ipv6Addr");
    if ((!v4 && !v6) || port < 0 || port > 65535)
        return DCGW_EINVAL;
    return dcgw_addr_from(v4 ? v4 : v6, (int)port, ss);
}

static int cmp_dcmap(const void *a, const void *b)
{
    const struct dcgw_sdp_dcmap *x = a, *y = b;
    return (int)x->stream_id - (int)y->stream_id;
}

/* DcStream (+ the label of the extension) -> a=dcmap. Reliable unless maxRetry or maxTime
 * is given: TS 29.571's defaults of 0 would make every channel drop at the first loss,
 * which no SDP without max-retr/max-time means (RFC 8864 §5.1). */
static void stream_dcmap(const char *key, const json_t *st, const struct dcgw_nmf_settings *s,
                         struct dcgw_sdp_dcmap *m)
{
    memset(m, 0, sizeof(*m));
    m->stream_id = (uint16_t)atoi(key);
    const json_t *order = json_object_get(st, "order");
    m->ordered = !json_is_false(order);
    m->has_ordered = order != NULL;
    const json_t *mr = json_object_get(st, "maxRetry"), *mt = json_object_get(st, "maxTime");
    const json_t *pr = json_object_get(st, "priority");
    m->has_max_retr = mr != NULL;
    m->max_retr = (uint32_t)json_integer_value(mr);
    m->has_max_time = mt != NULL && !mr;
    m->max_time = (uint32_t)json_integer_value(mt);
    m->has_priority = pr != NULL;
    m->priority = (uint16_t)json_integer_value(pr);
    snprintf(m->subprotocol, sizeof(m->subprotocol), "%s", str(st, "subprotocol") ?: "");
    snprintf(m->label, sizeof(m->label), "%s", str(vendor(st, s), "label") ?: "");
}

static size_t streams_dcmap(const json_t *streams, const struct dcgw_nmf_settings *s,
                            struct dcgw_sdp_dcmap *maps)
{
    size_t n = 0;
    const char *key;
    json_t *st;
    json_object_foreach((json_t *)streams, key, st)
    {
        if (n == DCGW_SDP_DCMAP_MAX)
            break;
        stream_dcmap(key, st, s, &maps[n++]);
    }
    qsort(maps, n, sizeof(*maps), cmp_dcmap);
    return n;
}

static enum dcgw_sdp_setup setup_of(const char *s, enum dcgw_sdp_setup dflt)
{
    if (!s)
        return dflt;
    return !strcmp(s, "ACTIVE")    ? DCGW_SDP_SETUP_ACTIVE
           : !strcmp(s, "PASSIVE") ? DCGW_SDP_SETUP_PASSIVE
                                   : DCGW_SDP_SETUP_ACTPASS;
}

/* Names what the remote description lacks; false when something does. */
static bool remote_complete(const json_t *media, const char *where, bool answer,
                            const struct dcgw_nmf_settings *s, struct dcgw_nmf_problem *p)
{
    const json_t *dc = json_object_get(media, "dcMedia");
    const json_t *rdc = json_object_get(dc, "remoteDcEndpoint");
    char ptr[DCGW_NMF_PARAM_SIZE], key[32];
    size_t before = p->n_params;
    if (!str(rdc, "fingerprint")) {
        snprintf(ptr, sizeof(ptr), "%s/dcMedia/remoteDcEndpoint/fingerprint", where);
        dcgw_nmf_problem_param(p, ptr, "missing: the remote's certificate fingerprint");
    }
    if (!json_object_get(media, "remoteMbEndpoint")) {
        snprintf(ptr, sizeof(ptr), "%s/remoteMbEndpoint", where);
        dcgw_nmf_problem_param(p, ptr, "missing: the remote's Mb address and port");
    }
    if (!json_object_get(vendor(media, s), "remoteIce")) {
        snprintf(ptr, sizeof(ptr), "%s/%s/remoteIce", where,
                 dcgw_nmf_vendor_key(s, key, sizeof(key)));
        dcgw_nmf_problem_param(p, ptr,
                               "missing: the remote's ICE ufrag and pwd (no Nmf_MRM field has "
                               "them; docs/nmf-mrm.md)");
    }
    if (answer && str(dc, "securitySetup") && !strcmp(str(dc, "securitySetup"), "ACTPASS")) {
        snprintf(ptr, sizeof(ptr), "%s/dcMedia/securitySetup", where);
        dcgw_nmf_problem_param(p, ptr, "an answer is ACTIVE or PASSIVE (RFC 5763 §5)");
    }
    return p->n_params == before;
}

char *dcgw_nmf_remote_sdp(const json_t *media, const char *where, bool answer,
                          const struct dcgw_nmf_settings *s, struct dcgw_nmf_problem *p)
{
    if (!remote_complete(media, where, answer, s, p)) {
        dcgw_nmf_problem_set(p, 400, DCGW_NMF_MANDATORY_IE_MISSING,
                             "%s: the remote peer's description is incomplete: %s: %s", where,
                             p->params[0].param, p->params[0].reason);
        return NULL;
    }
    const json_t *dc = json_object_get(media, "dcMedia");
    const json_t *rdc = json_object_get(dc, "remoteDcEndpoint");
    const json_t *ice = json_object_get(vendor(media, s), "remoteIce");
    struct dcgw_sdp_local *peer = calloc(1, sizeof(*peer));
    struct dcgw_sdp_dcmap *maps = calloc(DCGW_SDP_DCMAP_MAX, sizeof(*maps));
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    int r = peer && maps && buf ? 0 : DCGW_ENOMEM;
    if (r == 0) {
        dcgw_sdp_local_init(peer);
        peer->sess_id = 1;
        snprintf(peer->ice_ufrag, sizeof(peer->ice_ufrag), "%s", str(ice, "ufrag"));
        snprintf(peer->ice_pwd, sizeof(peer->ice_pwd), "%s", str(ice, "pwd"));
        peer->n_addrs = 1;
        r = dcgw__nmf_endpoint_addr(json_object_get(media, "remoteMbEndpoint"), &peer->addrs[0]);
    }
    if (r == 0) {
        const char *fp = str(rdc, "fingerprint");
        peer->n_fingerprints = 1;
        r = dcgw_fingerprint_parse(fp, strlen(fp), &peer->fingerprints[0]);
    }
    if (r == 0) {
        /* RFC 5763 §5: an offerer is actpass; an answerer that says nothing is active */
        peer->setup = setup_of(str(dc, "securitySetup"),
                               answer ? DCGW_SDP_SETUP_ACTIVE : DCGW_SDP_SETUP_ACTPASS);
        snprintf(peer->tls_id, sizeof(peer->tls_id), "%s", str(rdc, "tlsId") ?: "");
        const json_t *port = json_object_get(rdc, "sctpPort");
        peer->sctp_port = port ? (uint16_t)json_integer_value(port) : DEFAULT_SCTP_PORT;
        const json_t *mms = json_object_get(dc, "maxMessageSize");
        peer->max_message_size = mms ? (uint32_t)json_integer_value(mms) : DEFAULT_MAX_MESSAGE_SIZE;
        peer->n_dcmap = streams_dcmap(json_object_get(dc, "streams"), s, maps);
        peer->dcmap = maps;
        int n = dcgw_sdp_write_described(peer, buf, DCGW_SDP_TEXT_MAX);
        r = n < 0 ? n : 0;
    }
    free(peer);
    free(maps);
    if (r < 0) {
        free(buf);
        if (r == DCGW_ENOMEM)
            dcgw_nmf_problem_set(p, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
        else
            dcgw_nmf_problem_set(p, 400, DCGW_NMF_MANDATORY_IE_INCORRECT,
                                 "%s: the remote description makes no usable SDP (%s)", where,
                                 dcgw_strerror(r));
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------------ request -> Session */

static Dcgw__DcStream *stream_pb(const char *key, const json_t *st,
                                 const struct dcgw_nmf_settings *s)
{
    struct dcgw_sdp_dcmap m;
    stream_dcmap(key, st, s, &m);
    Dcgw__DcStream *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    dcgw__dc_stream__init(d);
    d->has_stream_id = d->has_unordered = d->has_negotiated = 1;
    d->stream_id = m.stream_id;
    d->unordered = !m.ordered;
    d->negotiated = 1;
    d->has_max_retr = m.has_max_retr;
    d->max_retr = m.max_retr;
    d->has_max_time = m.has_max_time;
    d->max_time = m.max_time;
    d->has_priority = m.has_priority;
    d->priority = m.priority;
    d->label = strdup(m.label);
    d->subprotocol = strdup(m.subprotocol);
    return d;
}

static int offer_streams(Dcgw__DcMedia *dc, const json_t *streams,
                         const struct dcgw_nmf_settings *s)
{
    size_t n = json_object_size(streams);
    dc->streams = calloc(n ? n : 1, sizeof(*dc->streams));
    if (!dc->streams)
        return DCGW_ENOMEM;
    const char *key;
    json_t *st;
    json_object_foreach((json_t *)streams, key, st)
    {
        Dcgw__DcStream *d = stream_pb(key, st, s);
        if (!d)
            return DCGW_ENOMEM;
        dc->streams[dc->n_streams++] = d;
    }
    return 0;
}

/* Names unnamed terminations "t<i>" (unique among the given names) in ctx. */
static int name_terminations(json_t *terms)
{
    for (size_t i = 0; i < json_array_size(terms); i++) {
        json_t *t = json_array_get(terms, i);
        if (json_object_get(t, "terminationId"))
            continue;
        char name[32];
        for (unsigned k = 0;; k++) {
            snprintf(name, sizeof(name), k ? "t%zu-%u" : "t%zu", i, k);
            bool used = false;
            for (size_t j = 0; j < json_array_size(terms) && !used; j++)
                used = !strcmp(str(json_array_get(terms, j), "terminationId") ?: "", name);
            if (!used)
                break;
        }
        if (json_object_set_new(t, "terminationId", json_string(name)) < 0)
            return DCGW_ENOMEM;
    }
    return 0;
}

static int map_leg(json_t *t, size_t i, const struct dcgw_nmf_settings *s, Dcgw__Leg *leg,
                   struct dcgw_nmf_problem *p)
{
    const json_t *media = json_array_get(json_object_get(t, "medias"), 0);
    const json_t *dc = json_object_get(media, "dcMedia");
    dcgw__leg__init(leg);
    leg->name = strdup(str(t, "terminationId"));
    Dcgw__DcMedia *d = calloc(1, sizeof(*d));
    if (!leg->name || !d) {
        free(d);
        return DCGW_ENOMEM;
    }
    dcgw__dc_media__init(d);
    leg->dc = d;
    d->has_mode = 1;
    d->mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
    leg->has_role = 1;
    if (dcgw_nmf_proxy_to_dc(dc, DCGW_NMF_PROXY_ALL, false, d) < 0)
        return DCGW_ENOMEM;
    if (!str(json_object_get(dc, "remoteDcEndpoint"), "fingerprint")) {
        /* nothing known of the remote yet: dcgw offers, the answer comes by PATCH */
        leg->role = DCGW__LEG_ROLE__ROLE_OFFER;
        return offer_streams(d, json_object_get(dc, "streams"), s);
    }
    leg->role = DCGW__LEG_ROLE__ROLE_ANSWER;
    char where[48];
    snprintf(where, sizeof(where), "/terminations/%zu/medias/0", i);
    d->remote_sdp = dcgw_nmf_remote_sdp(media, where, false, s, p);
    if (!d->remote_sdp)
        return p->status == 500 ? DCGW_ENOMEM : DCGW_EINVAL;
    return 0;
}

int dcgw_nmf_to_session(json_t *ctx, const struct dcgw_nmf_settings *s, Dcgw__Session **out,
                        struct dcgw_nmf_problem *p)
{
    json_t *terms = json_object_get(ctx, "terminations");
    Dcgw__Session *sess = calloc(1, sizeof(*sess));
    int r = sess ? name_terminations(terms) : DCGW_ENOMEM;
    if (sess)
        dcgw__session__init(sess);
    size_t n = json_array_size(terms);
    if (r == 0) {
        sess->id = str(ctx, "contextId") ? strdup(str(ctx, "contextId")) : NULL;
        sess->tag = strdup("nmf-mrm");
        sess->legs = calloc(n ? n : 1, sizeof(*sess->legs));
        r = sess->legs && sess->tag ? 0 : DCGW_ENOMEM;
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        Dcgw__Leg *leg = calloc(1, sizeof(*leg));
        if (!leg) {
            r = DCGW_ENOMEM;
            break;
        }
        sess->legs[sess->n_legs++] = leg;
        r = map_leg(json_array_get(terms, i), i, s, leg, p);
    }
    if (r < 0) {
        if (r == DCGW_ENOMEM && !p->status)
            dcgw_nmf_problem_set(p, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
        if (sess)
            protobuf_c_message_free_unpacked(&sess->base, NULL);
        return r;
    }
    *out = sess;
    return 0;
}

/* ------------------------------------------------------------------ Session -> representation */

json_t *dcgw__nmf_endpoint_json(const char *addr, const char *transport)
{
    struct sockaddr_storage ss;
    if (!addr || (dcgw_addr_parse(addr, &ss) < 0 && dcgw_addr_from(addr, 0, &ss) < 0))
        return NULL;
    char ip[INET6_ADDRSTRLEN];
    uint16_t port;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    return json_pack("{s:{s:s},s:s,s:I}", "ip", ss.ss_family == AF_INET ? "ipv4Addr" : "ipv6Addr",
                     ip, "transport", transport, "portNumber", (json_int_t)port);
}

/* "SHA-256 AB:CD:..." from a Fingerprint message (TS 29.571 writes the name upper-case). */
static json_t *fingerprint_json(const Dcgw__DcEndpoint *e)
{
    if (!e || e->n_fingerprints == 0 || !e->fingerprints[0]->algorithm ||
        !e->fingerprints[0]->value)
        return NULL;
    char buf[16 + 3 * 64];
    snprintf(buf, sizeof(buf), "%s %s", e->fingerprints[0]->algorithm, e->fingerprints[0]->value);
    for (char *c = buf; *c && *c != ' '; c++)
        *c = (char)toupper((unsigned char)*c);
    return json_string(buf);
}

static const char *setup_json(Dcgw__SecuritySetup st)
{
    return st == DCGW__SECURITY_SETUP__SETUP_ACTIVE    ? "ACTIVE"
           : st == DCGW__SECURITY_SETUP__SETUP_PASSIVE ? "PASSIVE"
                                                       : "ACTPASS";
}

/* Keeps the streams of the representation that the leg has as negotiated channels. */
static void keep_negotiated(json_t *streams, const Dcgw__DcMedia *d)
{
    const char *key;
    json_t *st, *tmp;
    json_object_foreach_safe(streams, tmp, key, st)
    {
        bool found = false;
        for (size_t i = 0; i < d->n_streams && !found; i++)
            found = d->streams[i]->stream_id == (uint32_t)atol(key) &&
                    (!d->streams[i]->has_negotiated || d->streams[i]->negotiated);
        if (!found)
            json_object_del(streams, key);
    }
}

/* dcgw's own side, from its SDP: ICE credentials and a=max-message-size. */
static void local_from_sdp(json_t *media, json_t *dc, const char *sdp_text,
                           const struct dcgw_nmf_settings *s)
{
    struct dcgw_sdp *sdp = sdp_text ? malloc(sizeof(*sdp)) : NULL;
    if (!sdp || dcgw_sdp_parse(sdp_text, strlen(sdp_text), sdp, NULL, 0) < 0) {
        free(sdp);
        return;
    }
    char key[32];
    dcgw_nmf_vendor_key(s, key, sizeof(key));
    json_t *ext = json_object_get(media, key);
    if (!json_is_object(ext)) {
        ext = json_object();
        json_object_set_new(media, key, ext);
    }
    json_object_set_new(ext, "localIce",
                        json_pack("{s:s,s:s,s:b}", "ufrag", sdp->dc.ice_ufrag, "pwd",
                                  sdp->dc.ice_pwd, "lite", sdp->ice_lite));
    json_object_set_new(dc, "maxMessageSize", json_integer(sdp->dc.max_message_size));
    free(sdp);
}

static void local_side(json_t *media, const Dcgw__Leg *leg, const struct dcgw_nmf_settings *s)
{
    json_t *dc = json_object_get(media, "dcMedia");
    const Dcgw__DcMedia *d = leg->dc;
    if (!json_is_object(dc) || !d)
        return;
    const Dcgw__DcEndpoint *loc = d->local;
    json_t *mb = loc ? dcgw__nmf_endpoint_json(loc->address, "UDP") : NULL;
    if (mb)
        json_object_set_new(media, "localMbEndpoint", mb);
    if (loc) {
        json_t *e = json_object();
        if (loc->has_sctp_port)
            json_object_set_new(e, "sctpPort", json_integer(loc->sctp_port));
        json_t *fp = fingerprint_json(loc);
        if (fp)
            json_object_set_new(e, "fingerprint", fp);
        if (loc->tls_id)
            json_object_set_new(e, "tlsId", json_string(loc->tls_id));
        json_object_set_new(dc, "localDcEndpoint", e);
    }
    if (d->has_setup)
        json_object_set_new(dc, "securitySetup", json_string(setup_json(d->setup)));
    local_from_sdp(media, dc, d->local_sdp, s);
    dcgw_nmf_proxy_from_dc(dc, d);
    json_t *streams = json_object_get(dc, "streams");
    if (json_is_object(streams))
        keep_negotiated(streams, d);
}

json_t *dcgw_nmf_from_session(const json_t *ctx, const Dcgw__Session *sess,
                              const struct dcgw_nmf_settings *s)
{
    json_t *out = json_deep_copy(ctx);
    if (!out)
        return NULL;
    if (sess->id)
        json_object_set_new(out, "contextId", json_string(sess->id));
    json_t *terms = json_object_get(out, "terminations");
    for (size_t i = 0; i < json_array_size(terms); i++) {
        json_t *t = json_array_get(terms, i);
        const char *name = str(t, "terminationId");
        for (size_t k = 0; name && k < sess->n_legs; k++)
            if (sess->legs[k]->name && !strcmp(sess->legs[k]->name, name))
                local_side(json_array_get(json_object_get(t, "medias"), 0), sess->legs[k], s);
    }
    return out;
}
