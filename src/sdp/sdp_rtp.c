/* Audio and video m-lines: payload types, a=rtpmap / fmtp / rtcp-fb / extmap / ssrc /
 * ssrc-group / msid, the direction, and what makes such an m-line usable for dcgw.
 * Part of the parser in src/sdp/sdp.c; see include/dcgw/sdp/sdp_rtp.h. */
#include "sdp_int.h"

/* RFC 3551 §6, tables 4 and 5: payload types that need no a=rtpmap. */
static const struct {
    uint8_t pt;
    const char *name;
    uint32_t clock;
    uint8_t channels;
} static_pts[] = {
    {0, "PCMU", 8000, 1},   {3, "GSM", 8000, 1},    {4, "G723", 8000, 1},   {5, "DVI4", 8000, 1},
    {6, "DVI4", 16000, 1},  {7, "LPC", 8000, 1},    {8, "PCMA", 8000, 1},   {9, "G722", 8000, 1},
    {10, "L16", 44100, 2},  {11, "L16", 44100, 1},  {12, "QCELP", 8000, 1}, {13, "CN", 8000, 1},
    {14, "MPA", 90000, 1},  {15, "G728", 8000, 1},  {16, "DVI4", 11025, 1}, {17, "DVI4", 22050, 1},
    {18, "G729", 8000, 1},  {25, "CelB", 90000, 0}, {26, "JPEG", 90000, 0}, {28, "nv", 90000, 0},
    {31, "H261", 90000, 0}, {32, "MPV", 90000, 0},  {33, "MP2T", 90000, 0}, {34, "H263", 90000, 0},
};

static struct dcgw_sdp_codec *codec_of(struct parser *p, uint64_t pt)
{
    struct dcgw_sdp_rtp *r = p->rtp;
    for (unsigned i = 0; i < r->n_codecs; i++)
        if (p->out->codecs[r->first_codec + i].pt == pt)
            return &p->out->codecs[r->first_codec + i];
    return NULL;
}

/* The payload type at the start of v: 0..127, or "*" when star is allowed (*pt = 128). */
static int pt_token(struct parser *p, struct span *v, const char *attr, bool star, uint64_t *pt)
{
    struct span tok;
    if (!next_tok(v, &tok))
        return fail(p, DCGW_EMALFORMED, "a=%s: expected <payload type>", attr);
    if (star && span_eq(tok, "*")) {
        *pt = 128;
        return 0;
    }
    if (!parse_uint(tok, 127, pt))
        return fail(p, DCGW_EMALFORMED, "a=%s: payload type is 0..127", attr);
    return 0;
}

int dcgw__sdp_rtp_start(struct parser *p, struct span media, struct span proto, struct span fmts,
                        uint16_t port)
{
    struct dcgw_sdp *o = p->out;
    /* RFC 8866 §5.14: the fmt list of an RTP profile holds payload types */
    bool rtp = false;
    for (size_t i = 0; i + 4 <= proto.n && !rtp; i++)
        rtp = memcmp(proto.p + i, "RTP/", 4) == 0;
    if (!rtp)
        return 0; /* recorded as other media, rejected in an answer */
    if (o->n_rtp == DCGW_SDP_RTP_MAX) {
        o->ignored.rtp_extra++;
        return 0;
    }
    struct dcgw_sdp_rtp *r = &o->rtp[o->n_rtp];
    memset(r, 0, sizeof(*r));
    r->kind = span_eq(media, "audio") ? DCGW_SDP_KIND_AUDIO : DCGW_SDP_KIND_VIDEO;
    r->media_index = (uint8_t)(o->n_media - 1);
    r->port = port;
    copy_span(r->proto, sizeof(r->proto), proto); /* m= checked its length */
    r->dir = o->dir;
    r->transport = p->sess.t;
    r->transport.fingerprints_from_session = true;
    r->first_codec = (uint8_t)o->n_codecs;
    r->first_ext = (uint8_t)o->n_exts;
    r->first_ssrc = (uint8_t)o->n_ssrcs;
    r->first_group = (uint8_t)o->n_ssrc_groups;
    p->rtp = r;
    struct span tok;
    while (next_tok(&fmts, &tok)) {
        uint64_t pt;
        if (!parse_uint(tok, 127, &pt))
            return fail(p, DCGW_EMALFORMED, "m=: payload type %.*s is not 0..127",
                        (int)(tok.n > 16 ? 16 : tok.n), tok.p);
        if (codec_of(p, pt))
            return fail(p, DCGW_EMALFORMED, "m=: payload type %u listed twice", (unsigned)pt);
        if (r->n_codecs == DCGW_SDP_RTP_CODECS_MAX || o->n_codecs == DCGW_SDP_CODECS_MAX)
            return fail(p, DCGW_ETOOBIG, "m=: more than %d payload types",
                        r->n_codecs == DCGW_SDP_RTP_CODECS_MAX ? DCGW_SDP_RTP_CODECS_MAX
                                                               : DCGW_SDP_CODECS_MAX);
        struct dcgw_sdp_codec *c = &o->codecs[o->n_codecs++];
        memset(c, 0, sizeof(*c));
        c->pt = (uint8_t)pt;
        r->n_codecs++;
    }
    p->media->rtp = (int8_t)o->n_rtp++;
    p->sec = SEC_RTP;
    p->tp = &r->transport;
    p->fp_unknown_line = p->sess.fp_unknown_line;
    p->bundle_only = false;
    return 0;
}

/* a=rtpmap:<pt> <encoding name>/<clock rate>[/<channels>]  (RFC 8866 §6.6) */
int dcgw__sdp_attr_rtpmap(struct parser *p, struct span v)
{
    uint64_t pt, clock, ch = 0;
    int rc = pt_token(p, &v, "rtpmap", false, &pt);
    if (rc)
        return rc;
    struct span enc, extra;
    if (!next_tok(&v, &enc) || next_tok(&v, &extra))
        return fail(p, DCGW_EMALFORMED, "a=rtpmap: expected <name>/<clock>[/<channels>]");
    struct span part[4];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= enc.n && n < 4; i++)
        if (i == enc.n || enc.p[i] == '/') {
            part[n++] = (struct span){enc.p + start, i - start};
            start = i + 1;
        }
    if (n < 2 || n > 3 || start <= enc.n || part[0].n == 0 ||
        !parse_uint(part[1], UINT32_MAX, &clock) || clock == 0 ||
        (n == 3 && (!parse_uint(part[2], 255, &ch) || ch == 0)))
        return fail(p, DCGW_EMALFORMED, "a=rtpmap: expected <name>/<clock>[/<channels>]");
    if (part[0].n >= DCGW_SDP_CODEC_NAME_SIZE)
        return fail(p, DCGW_EMALFORMED, "a=rtpmap: encoding name longer than %d",
                    DCGW_SDP_CODEC_NAME_SIZE - 1);
    struct dcgw_sdp_codec *c = codec_of(p, pt);
    if (!c) {
        p->out->ignored.rtp_unknown_pt++;
        return 0;
    }
    if (c->has_rtpmap)
        return fail(p, DCGW_EMALFORMED, "a=rtpmap: payload type %u given twice", (unsigned)pt);
    c->has_rtpmap = true;
    copy_span(c->name, sizeof(c->name), part[0]);
    c->clock = (uint32_t)clock;
    c->channels = (uint8_t)ch;
    return 0;
}

/* a=fmtp:<pt> <format specific parameters>  (RFC 8866 §6.15), kept verbatim */
int dcgw__sdp_attr_fmtp(struct parser *p, struct span v)
{
    uint64_t pt;
    int rc = pt_token(p, &v, "fmtp", false, &pt);
    if (rc)
        return rc;
    v = trim(v);
    if (v.n == 0)
        return fail(p, DCGW_EMALFORMED, "a=fmtp: no parameters");
    struct dcgw_sdp_codec *c = codec_of(p, pt);
    if (!c) {
        p->out->ignored.rtp_unknown_pt++;
        return 0;
    }
    if (c->fmtp[0])
        return fail(p, DCGW_EMALFORMED, "a=fmtp: payload type %u given twice", (unsigned)pt);
    if (!copy_span(c->fmtp, sizeof(c->fmtp), v))
        return fail(p, DCGW_ETOOBIG, "a=fmtp: longer than %d", DCGW_SDP_FMTP_SIZE - 1);
    return 0;
}

/* a=rtcp-fb:<pt>|* <type> [<subtype>]  (RFC 4585 §4.2); the kinds of enum dcgw_sdp_fb */
int dcgw__sdp_attr_rtcp_fb(struct parser *p, struct span v)
{
    uint64_t pt;
    int rc = pt_token(p, &v, "rtcp-fb", true, &pt);
    if (rc)
        return rc;
    struct span type, sub = {NULL, 0}, more;
    if (!next_tok(&v, &type))
        return fail(p, DCGW_EMALFORMED, "a=rtcp-fb: expected <payload type> <type>");
    next_tok(&v, &sub);
    uint8_t fb = 0;
    bool extra = next_tok(&v, &more);
    if (span_eq(type, "nack") && sub.n == 0)
        fb = DCGW_SDP_FB_NACK;
    else if (span_eq(type, "nack") && span_eq(sub, "pli") && !extra)
        fb = DCGW_SDP_FB_PLI;
    else if (span_eq(type, "ccm") && span_eq(sub, "fir") && !extra)
        fb = DCGW_SDP_FB_FIR;
    else if (span_eq(type, "goog-remb") && sub.n == 0)
        fb = DCGW_SDP_FB_REMB;
    else if (span_eq(type, "transport-cc") && sub.n == 0)
        fb = DCGW_SDP_FB_TWCC;
    if (!fb) {
        p->out->ignored.rtp_fb++;
        return 0;
    }
    struct dcgw_sdp_rtp *r = p->rtp;
    if (pt == 128) {
        for (unsigned i = 0; i < r->n_codecs; i++)
            p->out->codecs[r->first_codec + i].fb |= fb;
        return 0;
    }
    struct dcgw_sdp_codec *c = codec_of(p, pt);
    if (c)
        c->fb |= fb;
    else
        p->out->ignored.rtp_unknown_pt++;
    return 0;
}

static bool dir_of(struct span s, enum dcgw_sdp_dir *d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    for (int i = 0; i < 4; i++)
        if (span_eq(s, names[i])) {
            *d = (enum dcgw_sdp_dir)i;
            return true;
        }
    return false;
}

/* a=extmap:<id>[/<direction>] <uri> [<attributes>]  (RFC 8285 §8) */
int dcgw__sdp_attr_extmap(struct parser *p, struct span v)
{
    struct span idd, uri;
    if (!next_tok(&v, &idd) || !next_tok(&v, &uri))
        return fail(p, DCGW_EMALFORMED, "a=extmap: expected <id>[/<direction>] <uri>");
    struct span id = idd, dir = {NULL, 0};
    for (size_t i = 0; i < idd.n; i++)
        if (idd.p[i] == '/') {
            id.n = i;
            dir = (struct span){idd.p + i + 1, idd.n - i - 1};
            break;
        }
    uint64_t n;
    enum dcgw_sdp_dir d = DCGW_SDP_DIR_SENDRECV;
    /* RFC 8285 §5: 1..14 fit the one-byte form, up to 255 the two-byte form */
    if (!parse_uint(id, 255, &n) || n == 0)
        return fail(p, DCGW_EMALFORMED, "a=extmap: id is 1..255");
    if (dir.p && !dir_of(dir, &d))
        return fail(p, DCGW_EMALFORMED, "a=extmap: invalid direction");
    struct dcgw_sdp_rtp *r = p->rtp;
    struct dcgw_sdp *o = p->out;
    for (unsigned i = 0; i < r->n_exts; i++)
        if (o->exts[r->first_ext + i].id == n)
            return fail(p, DCGW_EMALFORMED, "a=extmap: id %u given twice", (unsigned)n);
    if (r->n_exts == DCGW_SDP_RTP_EXTS_MAX || o->n_exts == DCGW_SDP_EXTS_MAX)
        return fail(p, DCGW_ETOOBIG, "a=extmap: more than %d",
                    r->n_exts == DCGW_SDP_RTP_EXTS_MAX ? DCGW_SDP_RTP_EXTS_MAX : DCGW_SDP_EXTS_MAX);
    struct dcgw_sdp_ext *e = &o->exts[o->n_exts];
    if (!copy_span(e->uri, sizeof(e->uri), uri))
        return fail(p, DCGW_ETOOBIG, "a=extmap: URI longer than %d", DCGW_SDP_EXT_URI_SIZE - 1);
    e->id = (uint8_t)n;
    e->dir = d;
    o->n_exts++;
    r->n_exts++;
    return 0;
}

static int msid_pair(struct parser *p, struct span v, const char *attr, bool set)
{
    struct span id, app = {NULL, 0}, extra;
    if (!next_tok(&v, &id))
        return fail(p, DCGW_EMALFORMED, "%s: expected <id> [<appdata>]", attr);
    next_tok(&v, &app);
    /* RFC 8830 §2: msid-id and msid-appdata are 1*64token-char */
    if (next_tok(&v, &extra) || id.n > 64 || app.n > 64)
        return fail(p, DCGW_EMALFORMED, "%s: expected <id> [<appdata>] of 1..64 chars", attr);
    struct dcgw_sdp_rtp *r = p->rtp;
    if (!set || r->has_msid) {
        p->out->ignored.rtp_extra += !set ? 0 : 1;
        return 0;
    }
    r->has_msid = true;
    copy_span(r->msid_stream, sizeof(r->msid_stream), id);
    copy_span(r->msid_track, sizeof(r->msid_track), app);
    return 0;
}

/* a=msid:<id> [<appdata>]  (RFC 8830 §2); the first one is kept */
int dcgw__sdp_attr_msid(struct parser *p, struct span v)
{
    return msid_pair(p, v, "a=msid", true);
}

static int ssrc_num(struct parser *p, struct span s, const char *attr, uint32_t *out)
{
    uint64_t n;
    if (!parse_uint(s, UINT32_MAX, &n))
        return fail(p, DCGW_EMALFORMED, "a=%s: ssrc is a 32-bit number", attr);
    *out = (uint32_t)n;
    return 0;
}

/* a=ssrc:<ssrc> <attribute>[:<value>]  (RFC 5576 §4.1): cname kept, msid as a fallback */
int dcgw__sdp_attr_ssrc(struct parser *p, struct span v)
{
    struct span id, attr;
    uint32_t ssrc = 0;
    if (!next_tok(&v, &id) || !(v = trim(v)).n)
        return fail(p, DCGW_EMALFORMED, "a=ssrc: expected <ssrc> <attribute>");
    int rc = ssrc_num(p, id, "ssrc", &ssrc);
    if (rc)
        return rc;
    size_t colon = 0;
    while (colon < v.n && v.p[colon] != ':')
        colon++;
    attr = (struct span){v.p, colon};
    struct span val = {v.p + colon + (colon < v.n), v.n - colon - (colon < v.n)};
    struct dcgw_sdp *o = p->out;
    struct dcgw_sdp_rtp *r = p->rtp;
    struct dcgw_sdp_ssrc *s = NULL;
    for (unsigned i = 0; i < o->n_ssrcs && !s; i++) {
        if (o->ssrcs[i].ssrc != ssrc)
            continue;
        if (i < r->first_ssrc) /* RFC 8843 §9.2: an SSRC names one m-line of a bundle */
            return fail(p, DCGW_EMALFORMED, "a=ssrc: %u belongs to an earlier m-line", ssrc);
        s = &o->ssrcs[i];
    }
    if (!s) {
        if (r->n_ssrcs == DCGW_SDP_RTP_SSRCS_MAX || o->n_ssrcs == DCGW_SDP_SSRCS_MAX)
            return fail(p, DCGW_ETOOBIG, "a=ssrc: more than %d ssrcs",
                        r->n_ssrcs == DCGW_SDP_RTP_SSRCS_MAX ? DCGW_SDP_RTP_SSRCS_MAX
                                                             : DCGW_SDP_SSRCS_MAX);
        s = &o->ssrcs[o->n_ssrcs++];
        memset(s, 0, sizeof(*s));
        s->ssrc = ssrc;
        r->n_ssrcs++;
    }
    if (span_eq(attr, "cname")) {
        val = trim(val);
        if (val.n == 0 || s->cname[0])
            return fail(p, DCGW_EMALFORMED, "a=ssrc: cname empty or given twice");
        if (!copy_span(s->cname, sizeof(s->cname), val))
            return fail(p, DCGW_ETOOBIG, "a=ssrc: cname longer than %d", DCGW_SDP_CNAME_SIZE - 1);
    } else if (span_eq(attr, "msid")) {
        return msid_pair(p, val, "a=ssrc msid", !r->has_msid);
    } else {
        o->ignored.attrs++;
    }
    return 0;
}

/* a=ssrc-group:<semantics> <ssrc> ...  (RFC 5576 §4.2) */
int dcgw__sdp_attr_ssrc_group(struct parser *p, struct span v)
{
    struct dcgw_sdp *o = p->out;
    struct span sem, tok;
    if (!next_tok(&v, &sem))
        return fail(p, DCGW_EMALFORMED, "a=ssrc-group: expected <semantics> <ssrc>...");
    if (o->n_ssrc_groups == DCGW_SDP_SSRC_GROUPS_MAX)
        return fail(p, DCGW_ETOOBIG, "a=ssrc-group: more than %d", DCGW_SDP_SSRC_GROUPS_MAX);
    struct dcgw_sdp_ssrc_group *g = &o->ssrc_groups[o->n_ssrc_groups];
    memset(g, 0, sizeof(*g));
    if (!copy_span(g->semantics, sizeof(g->semantics), sem))
        return fail(p, DCGW_EMALFORMED, "a=ssrc-group: semantics longer than %d",
                    DCGW_SDP_GROUP_SEM_SIZE - 1);
    while (next_tok(&v, &tok)) {
        if (g->n == DCGW_SDP_GROUP_SSRCS_MAX)
            return fail(p, DCGW_ETOOBIG, "a=ssrc-group: more than %d ssrcs",
                        DCGW_SDP_GROUP_SSRCS_MAX);
        int rc = ssrc_num(p, tok, "ssrc-group", &g->ssrcs[g->n]);
        if (rc)
            return rc;
        g->n++;
    }
    if (g->n == 0)
        return fail(p, DCGW_EMALFORMED, "a=ssrc-group: no ssrc");
    o->n_ssrc_groups++;
    p->rtp->n_groups++;
    return 0;
}

int dcgw__sdp_attr_dir(struct parser *p, enum dcgw_sdp_dir d)
{
    static const char *const names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};
    if (p->seen & SEEN_DIR)
        return fail(p, DCGW_EMALFORMED, "a=%s: more than one direction", names[d]);
    p->seen |= SEEN_DIR;
    if (p->sec == SEC_SESSION)
        p->out->dir = d;
    else
        p->rtp->dir = d;
    return 0;
}

static void set_reason(struct dcgw_sdp_rtp *r, const char *why)
{
    r->usable = false;
    snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* Payload types without a=rtpmap take RFC 3551's static mapping or are dropped. */
static void static_types(struct parser *p, struct dcgw_sdp_rtp *r)
{
    struct dcgw_sdp *o = p->out;
    unsigned keep = 0;
    for (unsigned i = 0; i < r->n_codecs; i++) {
        struct dcgw_sdp_codec c = o->codecs[r->first_codec + i];
        for (size_t k = 0; !c.has_rtpmap && k < sizeof(static_pts) / sizeof(static_pts[0]); k++)
            if (static_pts[k].pt == c.pt) {
                snprintf(c.name, sizeof(c.name), "%s", static_pts[k].name);
                c.clock = static_pts[k].clock;
                c.channels = static_pts[k].channels;
            }
        if (!c.name[0]) {
            o->ignored.rtp_no_rtpmap++;
            continue;
        }
        if (c.channels == 0 && r->kind == DCGW_SDP_KIND_AUDIO)
            c.channels = 1; /* RFC 8866 §6.6: absent means one channel */
        o->codecs[r->first_codec + keep++] = c;
    }
    o->n_codecs -= r->n_codecs - keep;
    r->n_codecs = (uint8_t)keep;
}

void dcgw__sdp_rtp_end(struct parser *p)
{
    struct dcgw_sdp_rtp *r = p->rtp;
    static_types(p, r);
    r->bundle_only = p->bundle_only;
    r->usable = true;
    const char *proto = r->proto;
    bool srtp = strcmp(proto, "UDP/TLS/RTP/SAVPF") == 0 || strcmp(proto, "UDP/TLS/RTP/SAVP") == 0 ||
                strcmp(proto, "RTP/SAVPF") == 0 || strcmp(proto, "RTP/SAVP") == 0;
    char why[DCGW_SDP_REASON_SIZE];
    if (!srtp) {
        snprintf(why, sizeof(why), "%s is not carried: dcgw takes DTLS-SRTP over UDP only", proto);
        set_reason(r, why);
    } else if (r->port == 0 && !r->bundle_only) {
        set_reason(r, "rejected by the offerer (port 0)"); /* RFC 3264 §6 */
    } else if (r->n_codecs == 0) {
        set_reason(r, "no payload type with a known encoding");
    } else if (!r->rtcp_mux) {
        set_reason(r, "no a=rtcp-mux: dcgw multiplexes RTCP with RTP (RFC 5761)");
    }
    p->rtp = NULL;
}

static bool in_bundle(const struct dcgw_sdp *o, const char *mid)
{
    for (size_t i = 0; mid[0] && i < o->n_bundle; i++)
        if (strcmp(o->bundle[i], mid) == 0)
            return true;
    return false;
}

void dcgw__sdp_rtp_finish(struct parser *p)
{
    struct dcgw_sdp *o = p->out;
    for (size_t i = 0; i < o->n_rtp; i++) {
        struct dcgw_sdp_rtp *r = &o->rtp[i];
        struct dcgw_sdp_transport *t = &r->transport;
        if (t->has_conn) {
            struct sockaddr_storage *c = &t->conn;
            if (c->ss_family == AF_INET)
                ((struct sockaddr_in *)c)->sin_port = htons(r->port);
            else
                ((struct sockaddr_in6 *)c)->sin6_port = htons(r->port);
        }
        /* A bundled m-line may leave its transport to the group's (RFC 8843 §7); an
         * unbundled one needs its own, and a bundle-only one (port 0, RFC 8843 §6) has no
         * transport outside a group. */
        if (!r->usable || in_bundle(o, r->mid))
            continue;
        if (r->bundle_only && r->port == 0)
            set_reason(r, "a=bundle-only with port 0 outside a BUNDLE group");
        else if (!t->ice_ufrag[0] || !t->ice_pwd[0] || t->n_fingerprints == 0)
            set_reason(r, "not bundled and without ICE credentials or a known fingerprint");
    }
}
