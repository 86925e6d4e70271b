/* SDP parser for the data-channel m-line and the transports of every m-section. See
 * include/dcgw/sdp/sdp.h and docs/sdp.md; audio/video attributes are in sdp_rtp.c.
 *
 * One pass over the lines. Session-level values are kept aside and copied into each media
 * section's transport when its m-line starts; media-level lines then override them.
 * A section is judged usable when it ends; the first usable application section wins
 * and later ones are only recorded as other media. */
#include "sdp_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

int dcgw__sdp_vfail(struct parser *p, int code, const char *fmt, va_list ap)
{
    if (p->errcap == 0)
        return code;
    int n = p->line ? snprintf(p->err, p->errcap, "line %u: ", p->line) : 0;
    if (n < 0 || (size_t)n >= p->errcap)
        return code;
    vsnprintf(p->err + n, p->errcap - (size_t)n, fmt, ap);
    return code;
}

/* ---- session-level and generic lines ---- */

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(struct parser *p, struct span v)
{
    struct span t[6];
    for (int i = 0; i < 6; i++)
        if (!next_tok(&v, &t[i]))
            return fail(p, DCGW_EMALFORMED, "o=: expected 6 fields");
    /* sess-id may be longer than 64 bits: kept as text, digits checked */
    for (int i = 1; i <= 2; i++)
        for (size_t j = 0; j < t[i].n; j++)
            if (t[i].p[j] < '0' || t[i].p[j] > '9')
                return fail(p, DCGW_EMALFORMED, "o=: session id and version are numbers");
    struct dcgw_sdp *o = p->out;
    if (!copy_span(o->origin_user, sizeof(o->origin_user), t[0]) ||
        !copy_span(o->origin_sess_id, sizeof(o->origin_sess_id), t[1]) ||
        !copy_span(o->origin_sess_version, sizeof(o->origin_sess_version), t[2]))
        return fail(p, DCGW_ETOOBIG, "o=: field too long");
    return 0;
}

/* c=IN IP4|IP6 <address>[/ttl[/n]]: kept when literal; a host name is tolerated. */
static int parse_conn(struct parser *p, struct span v, bool *has, struct sockaddr_storage *ss)
{
    struct span net, type, addr;
    if (!next_tok(&v, &net) || !next_tok(&v, &type) || !next_tok(&v, &addr))
        return fail(p, DCGW_EMALFORMED, "c=: expected <nettype> <addrtype> <address>");
    if (p->seen & SEEN_CONN)
        return fail(p, DCGW_EMALFORMED, "c=: more than one");
    p->seen |= SEEN_CONN;
    for (size_t i = 0; i < addr.n; i++)
        if (addr.p[i] == '/')
            addr.n = i;
    *has = span_eq(net, "IN") && (span_eq(type, "IP4") || span_eq(type, "IP6")) &&
           parse_addr(addr, 0, ss);
    return 0;
}

/* ---- attributes ---- */

static int attr_once(struct parser *p, unsigned bit, const char *name)
{
    if (p->seen & bit)
        return fail(p, DCGW_EMALFORMED, "a=%s: more than one", name);
    p->seen |= bit;
    return 0;
}

static int attr_ice_cred(struct parser *p, struct span v, bool pwd)
{
    const char *name = pwd ? "ice-pwd" : "ice-ufrag";
    int rc = attr_once(p, pwd ? SEEN_PWD : SEEN_UFRAG, name);
    if (rc)
        return rc;
    /* RFC 8839 §5.4: ufrag 4..256 ice-chars, pwd 22..256 ice-chars */
    size_t min = pwd ? 22 : 4;
    if (v.n < min || v.n > 256 || !is_ice_chars(v))
        return fail(p, DCGW_EMALFORMED, "a=%s: need %zu..256 ice-chars", name, min);
    copy_span(pwd ? p->tp->ice_pwd : p->tp->ice_ufrag,
              pwd ? DCGW_SDP_PWD_SIZE : DCGW_SDP_UFRAG_SIZE, v);
    if (p->rtp)
        p->rtp->own_transport = true;
    return 0;
}

static int attr_ice_options(struct parser *p, struct span v)
{
    int rc = attr_once(p, SEEN_ICE_OPTIONS, "ice-options");
    if (rc)
        return rc;
    char *dst = p->tp->ice_options;
    if (!copy_span(dst, DCGW_SDP_ICE_OPTIONS_SIZE, v)) {
        dst[0] = '\0'; /* not used by dcgw: too long is not worth failing for */
        p->out->ignored.attrs++;
    }
    bool trickle = false;
    struct span tok;
    while (next_tok(&v, &tok))
        trickle |= span_eq(tok, "trickle");
    p->tp->ice_trickle = trickle;
    return 0;
}

/* RFC 8122 §5. Unknown hashes are skipped (counted); a known hash must parse. */
static int attr_fingerprint(struct parser *p, struct span v)
{
    bool session = p->sec == SEC_SESSION;
    struct dcgw_sdp_transport *t = p->tp;
    if (!session && !(p->seen & SEEN_FP)) {
        /* the first media-level fingerprint replaces the inherited session ones */
        t->n_fingerprints = 0;
        t->fingerprints_from_session = false;
        p->fp_unknown_line = 0;
    }
    p->seen |= SEEN_FP;
    size_t *n = &t->n_fingerprints;
    struct dcgw_fingerprint *arr = t->fingerprints;
    struct dcgw_fingerprint fp;
    int rc = dcgw_fingerprint_parse(v.p, v.n, &fp);
    if (rc == DCGW_EUNSUPPORTED) {
        p->out->ignored.fp_unknown_hash++;
        unsigned *first = session ? &p->sess.fp_unknown_line : &p->fp_unknown_line;
        if (*first == 0)
            *first = p->line;
        return 0;
    }
    if (rc < 0)
        return fail(p, DCGW_EMALFORMED, "a=fingerprint: malformed digest");
    if (*n == DCGW_SDP_FINGERPRINTS_MAX)
        return fail(p, DCGW_ETOOBIG, "a=fingerprint: more than %d", DCGW_SDP_FINGERPRINTS_MAX);
    arr[(*n)++] = fp;
    return 0;
}

static int attr_setup(struct parser *p, struct span v)
{
    static const char *const names[] = {
        [DCGW_SDP_SETUP_ACTIVE] = "active",
        [DCGW_SDP_SETUP_PASSIVE] = "passive",
        [DCGW_SDP_SETUP_ACTPASS] = "actpass",
        [DCGW_SDP_SETUP_HOLDCONN] = "holdconn",
    };
    int rc = attr_once(p, SEEN_SETUP, "setup");
    if (rc)
        return rc;
    for (int s = DCGW_SDP_SETUP_ACTIVE; s <= DCGW_SDP_SETUP_HOLDCONN; s++) {
        if (span_caseeq(v, names[s])) {
            p->tp->setup = (enum dcgw_sdp_setup)s;
            return 0;
        }
    }
    return fail(p, DCGW_EMALFORMED, "a=setup: invalid value");
}

/* RFC 8842 §4: tls-id-value = 20*255(tls-id-char); ALPHA / DIGIT / "+" / "/" / "-" / "_" */
static int attr_tls_id(struct parser *p, struct span v)
{
    int rc = attr_once(p, SEEN_TLS_ID, "tls-id");
    if (rc)
        return rc;
    bool ok = v.n >= 20 && v.n <= 255;
    for (size_t i = 0; ok && i < v.n; i++)
        ok = is_ice_chars((struct span){v.p + i, 1}) || v.p[i] == '-' || v.p[i] == '_';
    if (!ok)
        return fail(p, DCGW_EMALFORMED, "a=tls-id: need 20..255 tls-id-chars");
    copy_span(p->tp->tls_id, DCGW_SDP_TLS_ID_SIZE, v);
    return 0;
}

static int attr_sctp_port(struct parser *p, struct span v)
{
    if (p->out->dc.legacy) { /* the legacy form names the port in m= and a=sctpmap */
        p->out->ignored.attrs++;
        return 0;
    }
    int rc = attr_once(p, SEEN_SCTP_PORT, "sctp-port");
    if (rc)
        return rc;
    uint64_t port;
    if (!parse_uint(v, 65535, &port) || port == 0)
        return fail(p, DCGW_EMALFORMED, "a=sctp-port: invalid port");
    p->out->dc.sctp_port = (uint16_t)port;
    return 0;
}

/* legacy: a=sctpmap:<number> webrtc-datachannel [<streams>] */
static int attr_sctpmap(struct parser *p, struct span v)
{
    int rc = attr_once(p, SEEN_SCTPMAP, "sctpmap");
    if (rc)
        return rc;
    struct span num, app, streams;
    uint64_t n, s = 0;
    if (!next_tok(&v, &num) || !next_tok(&v, &app) || !parse_uint(num, 65535, &n) ||
        (next_tok(&v, &streams) && !parse_uint(streams, 65535, &s)))
        return fail(p, DCGW_EMALFORMED, "a=sctpmap: expected <number> <app> [<streams>]");
    /* usable only when it maps the m-line's number to data channels */
    p->sctpmap_ok = span_eq(app, "webrtc-datachannel") && n == p->out->dc.sctp_port;
    p->out->dc.legacy_streams = (uint16_t)s;
    return 0;
}

/* RFC 8841 §6: 0 means any size; values past 32 bits are clamped (still "huge"). */
static int attr_max_message_size(struct parser *p, struct span v)
{
    int rc = attr_once(p, SEEN_MMS, "max-message-size");
    if (rc)
        return rc;
    uint64_t n = 0;
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < '0' || v.p[i] > '9')
            return fail(p, DCGW_EMALFORMED, "a=max-message-size: not a number");
    if (!parse_uint(v, UINT32_MAX, &n))
        n = UINT32_MAX;
    p->out->dc.max_message_size = (uint32_t)n;
    return 0;
}

static int attr_group(struct parser *p, struct span v)
{
    struct span sem, mid;
    struct dcgw_sdp *o = p->out;
    if (!next_tok(&v, &sem))
        return fail(p, DCGW_EMALFORMED, "a=group: no semantics");
    if (!span_eq(sem, "BUNDLE") || o->n_bundle > 0) {
        o->ignored.attrs++;
        return 0;
    }
    while (next_tok(&v, &mid)) {
        if (o->n_bundle == DCGW_SDP_BUNDLE_MAX)
            return fail(p, DCGW_ETOOBIG, "a=group: more than %d mids", DCGW_SDP_BUNDLE_MAX);
        if (!copy_span(o->bundle[o->n_bundle++], DCGW_SDP_MID_SIZE, mid))
            return fail(p, DCGW_ETOOBIG, "a=group: mid too long");
    }
    return 0;
}

static int attr_mid(struct parser *p, struct span v)
{
    int rc = attr_once(p, SEEN_MID, "mid");
    if (rc)
        return rc;
    for (size_t i = 0; i < v.n; i++)
        if (is_ws(v.p[i]))
            return fail(p, DCGW_EMALFORMED, "a=mid: not a token");
    if (v.n == 0 || !copy_span(p->media->mid, DCGW_SDP_MID_SIZE, v))
        return fail(p, DCGW_EMALFORMED, "a=mid: empty or longer than %d", DCGW_SDP_MID_SIZE - 1);
    if (p->sec == SEC_DC)
        memcpy(p->out->dc.mid, p->media->mid, DCGW_SDP_MID_SIZE);
    else if (p->sec == SEC_RTP)
        memcpy(p->rtp->mid, p->media->mid, DCGW_SDP_MID_SIZE);
    return 0;
}

typedef int (*attr_fn)(struct parser *p, struct span v);

static int attr_ufrag(struct parser *p, struct span v)
{
    return attr_ice_cred(p, v, false);
}

static int attr_pwd(struct parser *p, struct span v)
{
    return attr_ice_cred(p, v, true);
}

static int attr_ice_lite(struct parser *p, struct span v)
{
    (void)v;
    p->out->ice_lite = true;
    return 0;
}

static int attr_eoc(struct parser *p, struct span v)
{
    (void)v;
    p->tp->end_of_candidates = true;
    return 0;
}

static int attr_bundle_only(struct parser *p, struct span v)
{
    (void)v;
    p->bundle_only = true;
    return 0;
}

static int attr_sendrecv(struct parser *p, struct span v)
{
    (void)v;
    return dcgw__sdp_attr_dir(p, DCGW_SDP_DIR_SENDRECV);
}

static int attr_sendonly(struct parser *p, struct span v)
{
    (void)v;
    return dcgw__sdp_attr_dir(p, DCGW_SDP_DIR_SENDONLY);
}

static int attr_recvonly(struct parser *p, struct span v)
{
    (void)v;
    return dcgw__sdp_attr_dir(p, DCGW_SDP_DIR_RECVONLY);
}

static int attr_inactive(struct parser *p, struct span v)
{
    (void)v;
    return dcgw__sdp_attr_dir(p, DCGW_SDP_DIR_INACTIVE);
}

static int attr_rtcp_mux(struct parser *p, struct span v)
{
    (void)v;
    p->rtp->rtcp_mux = true;
    return 0;
}

static int attr_rtcp_rsize(struct parser *p, struct span v)
{
    (void)v;
    p->rtp->rtcp_rsize = true;
    return 0;
}

enum { AT_SESSION = 1, AT_DC = 2, AT_RTP = 4, AT_MEDIA = AT_DC | AT_RTP };

/* where an attribute is interpreted; elsewhere it is ignored (and counted) */
static const struct {
    const char *name;
    attr_fn fn;
    unsigned where;
    bool flag; /* property attribute: no value */
} attrs[] = {
    {"ice-ufrag", attr_ufrag, AT_SESSION | AT_MEDIA, false},
    {"ice-pwd", attr_pwd, AT_SESSION | AT_MEDIA, false},
    {"ice-options", attr_ice_options, AT_SESSION | AT_MEDIA, false},
    {"ice-lite", attr_ice_lite, AT_SESSION, true}, /* RFC 8839 §5.3: session level only */
    {"candidate", dcgw__sdp_attr_candidate, AT_MEDIA, false},
    {"end-of-candidates", attr_eoc, AT_MEDIA, true},
    {"fingerprint", attr_fingerprint, AT_SESSION | AT_MEDIA, false},
    {"setup", attr_setup, AT_SESSION | AT_MEDIA, false},
    {"tls-id", attr_tls_id, AT_SESSION | AT_MEDIA, false},
    {"sctp-port", attr_sctp_port, AT_DC, false},
    {"sctpmap", attr_sctpmap, AT_DC, false},
    {"max-message-size", attr_max_message_size, AT_DC, false},
    {"dcmap", dcgw__sdp_attr_dcmap, AT_DC, false},
    {"dcsa", dcgw__sdp_attr_dcsa, AT_DC, false},
    {"group", attr_group, AT_SESSION, false},
    {"bundle-only", attr_bundle_only, AT_MEDIA, true},
    {"rtpmap", dcgw__sdp_attr_rtpmap, AT_RTP, false},
    {"fmtp", dcgw__sdp_attr_fmtp, AT_RTP, false},
    {"rtcp-fb", dcgw__sdp_attr_rtcp_fb, AT_RTP, false},
    {"extmap", dcgw__sdp_attr_extmap, AT_RTP, false},
    {"ssrc", dcgw__sdp_attr_ssrc, AT_RTP, false},
    {"ssrc-group", dcgw__sdp_attr_ssrc_group, AT_RTP, false},
    {"msid", dcgw__sdp_attr_msid, AT_RTP, false},
    {"rtcp-mux", attr_rtcp_mux, AT_RTP, true},
    {"rtcp-rsize", attr_rtcp_rsize, AT_RTP, true},
    /* RFC 3264 §5.1: session or media level; only audio/video use them */
    {"sendrecv", attr_sendrecv, AT_SESSION | AT_RTP, true},
    {"sendonly", attr_sendonly, AT_SESSION | AT_RTP, true},
    {"recvonly", attr_recvonly, AT_SESSION | AT_RTP, true},
    {"inactive", attr_inactive, AT_SESSION | AT_RTP, true},
};

static int parse_attr(struct parser *p, struct span v)
{
    size_t colon = 0;
    while (colon < v.n && v.p[colon] != ':')
        colon++;
    struct span name = {v.p, colon};
    struct span val = trim((struct span){v.p + colon + (colon < v.n), v.n - colon - (colon < v.n)});
    if (p->sec != SEC_SESSION && span_eq(name, "mid"))
        return attr_mid(p, val);
    unsigned where = p->sec == SEC_SESSION ? AT_SESSION
                     : p->sec == SEC_DC    ? AT_DC
                     : p->sec == SEC_RTP   ? AT_RTP
                                           : 0;
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        if (span_eq(name, attrs[i].name)) {
            if (!(attrs[i].where & where))
                break;
            if (val.n == 0 && !attrs[i].flag)
                return fail(p, DCGW_EMALFORMED, "a=%s: empty value", attrs[i].name);
            return attrs[i].fn(p, val);
        }
    }
    p->out->ignored.attrs++;
    return 0;
}

/* ---- sections ---- */

/* Ends the current section; a data-channel section that is not usable is forgotten. */
static void end_section(struct parser *p)
{
    if (p->sec == SEC_RTP)
        dcgw__sdp_rtp_end(p);
    if (p->sec != SEC_DC)
        return;
    struct dcgw_sdp_dc *dc = &p->out->dc;
    bool usable = dc->legacy ? p->sctpmap_ok : true;
    /* RFC 3264 §6 / RFC 8843 §6: port 0 is a rejected m-line unless bundle-only */
    if (dc->port == 0 && !p->bundle_only)
        usable = false;
    if (usable) {
        p->have_dc = true;
        if (!dc->legacy && !(p->seen & SEEN_SCTP_PORT))
            dc->sctp_port = DCGW_SDP_DEFAULT_SCTP_PORT; /* RFC 8841 §5 */
    } else {
        p->out->ignored.unusable_app++;
        memset(dc, 0, sizeof(*dc));
    }
}

/* Starts the data-channel section with the session-level values (RFC 8839 §5.4, RFC 8122
 * §5, RFC 4145 §4 allow them at session level; media level wins). */
static void start_dc(struct parser *p, bool legacy, uint16_t port, uint16_t sctp_number)
{
    struct dcgw_sdp_dc *dc = &p->out->dc;
    memset(dc, 0, sizeof(*dc));
    dc->legacy = legacy;
    dc->port = port;
    dc->sctp_port = sctp_number;
    dc->media_index = (uint8_t)(p->out->n_media - 1);
    dc->max_message_size = DCGW_SDP_DEFAULT_MAX_MESSAGE_SIZE; /* RFC 8841 §6 */
    dc->transport = p->sess.t;
    dc->fingerprints_from_session = true;
    p->tp = &dc->transport;
    p->fp_unknown_line = p->sess.fp_unknown_line;
    p->sctpmap_ok = false;
    p->bundle_only = false;
}

/* m=<media> <port>[/<n>] <proto> <fmt> ... */
static int parse_media(struct parser *p, struct span v)
{
    end_section(p);
    struct dcgw_sdp *o = p->out;
    struct span media, port_s, proto, fmt;
    if (!next_tok(&v, &media) || !next_tok(&v, &port_s) || !next_tok(&v, &proto) ||
        !next_tok(&v, &fmt))
        return fail(p, DCGW_EMALFORMED, "m=: expected <media> <port> <proto> <fmt>");
    for (size_t i = 0; i < port_s.n; i++)
        if (port_s.p[i] == '/')
            port_s.n = i;
    uint64_t port, num = 0;
    if (!parse_uint(port_s, 65535, &port))
        return fail(p, DCGW_EMALFORMED, "m=: invalid port");
    if (o->n_media == DCGW_SDP_MEDIA_MAX)
        return fail(p, DCGW_ETOOBIG, "m=: more than %d m-lines", DCGW_SDP_MEDIA_MAX);
    p->media = &o->media[o->n_media++];
    if (!copy_span(p->media->media, DCGW_SDP_TOKEN_SIZE, media) ||
        !copy_span(p->media->proto, DCGW_SDP_TOKEN_SIZE, proto) ||
        !copy_span(p->media->fmt, DCGW_SDP_TOKEN_SIZE, fmt))
        return fail(p, DCGW_ETOOBIG, "m=: field longer than %d", DCGW_SDP_TOKEN_SIZE - 1);
    p->media->port = (uint16_t)port;
    p->media->rtp = -1;
    p->seen = 0;
    p->sec = SEC_OTHER;
    p->tp = NULL;
    p->rtp = NULL;
    if (span_eq(media, "audio") || span_eq(media, "video")) {
        struct span fmts = {fmt.p, (size_t)(v.p + v.n - fmt.p)};
        return dcgw__sdp_rtp_start(p, media, proto, fmts, (uint16_t)port);
    }
    if (p->have_dc || !span_eq(media, "application"))
        return 0;
    if (span_eq(proto, "UDP/DTLS/SCTP") && span_eq(fmt, "webrtc-datachannel")) {
        p->sec = SEC_DC;
        start_dc(p, false, (uint16_t)port, 0);
    } else if (span_eq(proto, "DTLS/SCTP") && parse_uint(fmt, 65535, &num)) {
        p->sec = SEC_DC; /* draft-ietf-mmusic-sctp-sdp-05 form, as aiortc 1.4 offers */
        start_dc(p, true, (uint16_t)port, (uint16_t)num);
    } else {
        o->ignored.unusable_app++;
    }
    return 0;
}

static int parse_line(struct parser *p, struct span l)
{
    if (l.n < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
        return fail(p, DCGW_EMALFORMED, "expected <type>=<value>");
    char type = l.p[0];
    struct span v = trim((struct span){l.p + 2, l.n - 2});
    if (!p->seen_version) {
        /* RFC 8866 §5: the description starts with v=0 */
        if (type != 'v' || !span_eq(v, "0"))
            return fail(p, DCGW_EMALFORMED, "expected v=0 first");
        p->seen_version = true;
        return 0;
    }
    switch (type) {
    case 'o':
        return p->sec == SEC_SESSION ? parse_origin(p, v) : 0;
    case 'c':
        if (p->sec == SEC_SESSION || p->sec == SEC_DC || p->sec == SEC_RTP)
            return parse_conn(p, v, &p->tp->has_conn, &p->tp->conn);
        return 0;
    case 'm':
        return parse_media(p, v);
    case 'a':
        return parse_attr(p, v);
    case 'v':
        return fail(p, DCGW_EMALFORMED, "v= after the first line");
    default:
        return 0; /* s= t= b= i= ...: not ours */
    }
}

/* Checks the result once every line is read: what dcgw cannot work without. */
static int finish(struct parser *p)
{
    end_section(p);
    p->line = 0;
    struct dcgw_sdp *o = p->out;
    dcgw__sdp_rtp_finish(p);
    struct dcgw_sdp_dc *dc = &o->dc;
    if (!p->seen_version)
        return fail(p, DCGW_EMALFORMED, "empty SDP");
    if (!p->have_dc)
        return fail(p, DCGW_ESDP,
                    "no usable data-channel m-line "
                    "(UDP/DTLS/SCTP webrtc-datachannel or DTLS/SCTP + sctpmap)");
    o->n_other_media = o->n_media - 1;
    if (dc->ice_ufrag[0] == '\0')
        return fail(p, DCGW_ESDP, "no a=ice-ufrag for the data channel");
    if (dc->ice_pwd[0] == '\0')
        return fail(p, DCGW_ESDP, "no a=ice-pwd for the data channel");
    if (dc->n_fingerprints == 0) {
        unsigned bad = p->fp_unknown_line;
        if (bad) {
            p->line = bad;
            return fail(p, DCGW_ESDP, "a=fingerprint: unknown hash");
        }
        return fail(p, DCGW_ESDP, "no a=fingerprint for the data channel");
    }
    if (dc->has_conn) {
        struct sockaddr_storage *c = &dc->conn;
        if (c->ss_family == AF_INET)
            ((struct sockaddr_in *)c)->sin_port = htons(dc->port);
        else
            ((struct sockaddr_in6 *)c)->sin6_port = htons(dc->port);
    }
    /* RFC 8864 §5.2: a dcsa belongs to the dcmap of the same stream id */
    size_t keep = 0;
    for (size_t i = 0; i < dc->n_dcsa; i++) {
        bool found = false;
        for (size_t j = 0; j < dc->n_dcmap && !found; j++)
            found = dc->dcmap[j].stream_id == dc->dcsa[i].stream_id;
        if (found)
            dc->dcsa[keep++] = dc->dcsa[i];
        else
            o->ignored.dcsa_orphan++;
    }
    dc->n_dcsa = keep;
    return 0;
}

/* Bytes no SDP line may hold: NUL and other controls (tab and CR are whitespace). */
static bool bad_byte(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f;
}

int dcgw_sdp_parse(const char *text, size_t len, struct dcgw_sdp *out, char *err, size_t errcap)
{
    struct parser p = {.out = out, .err = err, .errcap = err ? errcap : 0};
    p.tp = &p.sess.t;
    if (p.errcap)
        err[0] = '\0';
    if (!text || !out)
        return fail(&p, DCGW_EINVAL, "no input");
    memset(out, 0, sizeof(*out));
    if (len > DCGW_SDP_TEXT_MAX)
        return fail(&p, DCGW_ETOOBIG, "SDP of %zu bytes, more than %d", len, DCGW_SDP_TEXT_MAX);
    int rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        size_t eol = pos;
        while (eol < len && text[eol] != '\n')
            eol++;
        p.line++;
        struct span l = {text + pos, eol - pos};
        pos = eol + 1;
        if (l.n > DCGW_SDP_LINE_MAX)
            return fail(&p, DCGW_ETOOBIG, "line longer than %d bytes", DCGW_SDP_LINE_MAX);
        for (size_t i = 0; i < l.n; i++)
            if (bad_byte((unsigned char)l.p[i]) || (l.p[i] == '\r' && i + 1 != l.n))
                return fail(&p, DCGW_EMALFORMED, "control byte 0x%02x", (unsigned char)l.p[i]);
        l = trim(l);
        if (l.n)
            rc = parse_line(&p, l);
    }
    if (rc == 0)
        rc = finish(&p);
    if (rc < 0)
        DCGW_LOG_RL(SDP, DEBUG, "SDP rejected: %s", p.errcap ? err : dcgw_strerror(rc));
    return rc;
}
