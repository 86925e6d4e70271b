/* SDP writer for audio/video m-sections (answers and offers). See sdp.h (struct
 * dcgw_sdp_av) and docs/sdp.md. */
#include <string.h>

#include "sdp_write_int.h"

static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

static const char *const fb_names[] = {"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"};

/* A token that may also not hold '/' (a=rtpmap encoding names). */
static bool is_name(const char *s, size_t cap)
{
    return dcgw__sdp_is_token(s, cap) && !strchr(s, '/');
}

static bool streams_valid(const struct dcgw_sdp *s, size_t rtp)
{
    if (rtp >= s->n_rtp)
        return false;
    const struct dcgw_sdp_rtp *r = &s->rtp[rtp];
    if (r->first_ssrc + r->n_ssrcs > s->n_ssrcs || r->n_ssrcs > DCGW_SDP_RTP_SSRCS_MAX ||
        r->first_group + r->n_groups > s->n_ssrc_groups)
        return false;
    if (r->has_msid &&
        (!dcgw__sdp_is_token(r->msid_stream, sizeof(r->msid_stream)) ||
         (r->msid_track[0] && !dcgw__sdp_is_token(r->msid_track, sizeof(r->msid_track)))))
        return false;
    for (unsigned i = 0; i < r->n_ssrcs; i++) {
        /* RFC 5576 §6.1: a cname is a byte-string; it only has to keep to its line */
        const struct dcgw_sdp_ssrc *x = &s->ssrcs[r->first_ssrc + i];
        if (!memchr(x->cname, 0, sizeof(x->cname)) || !dcgw__sdp_is_line_safe(x->cname))
            return false;
    }
    for (unsigned i = 0; i < r->n_groups; i++) {
        const struct dcgw_sdp_ssrc_group *g = &s->ssrc_groups[r->first_group + i];
        if (g->n == 0 || g->n > DCGW_SDP_GROUP_SSRCS_MAX ||
            !dcgw__sdp_is_token(g->semantics, sizeof(g->semantics)))
            return false;
    }
    return true;
}

bool dcgw__sdp_av_valid(const struct dcgw_sdp_av *av)
{
    if (!av->src || av->rtp >= av->src->n_rtp || (unsigned)av->dir > DCGW_SDP_DIR_INACTIVE ||
        !memchr(av->reason, 0, sizeof(av->reason)) || !dcgw__sdp_is_line_safe(av->reason))
        return false;
    const struct dcgw_sdp *s = av->src;
    const struct dcgw_sdp_rtp *r = &s->rtp[av->rtp];
    if (r->first_codec + r->n_codecs > s->n_codecs || r->n_codecs > DCGW_SDP_RTP_CODECS_MAX ||
        r->first_ext + r->n_exts > s->n_exts || r->n_exts > DCGW_SDP_RTP_EXTS_MAX ||
        !dcgw__sdp_is_token(r->proto, sizeof(r->proto)) ||
        (r->mid[0] && !dcgw__sdp_is_token(r->mid, sizeof(r->mid))))
        return false;
    if (av->reject)
        return true;
    if ((r->n_codecs < 64 && (av->codecs >> r->n_codecs)) || av->codecs == 0 ||
        (av->exts >> r->n_exts))
        return false;
    for (unsigned i = 0; i < r->n_codecs; i++) {
        const struct dcgw_sdp_codec *c = &s->codecs[r->first_codec + i];
        if (!(av->codecs >> i & 1))
            continue;
        if (c->pt > 127 || c->clock == 0 || !is_name(c->name, sizeof(c->name)) ||
            !memchr(c->fmtp, 0, sizeof(c->fmtp)) || !dcgw__sdp_is_line_safe(c->fmtp))
            return false;
    }
    for (unsigned i = 0; i < r->n_exts; i++) {
        const struct dcgw_sdp_ext *e = &s->exts[r->first_ext + i];
        if ((av->exts >> i & 1) && (e->id == 0 || !dcgw__sdp_is_token(e->uri, sizeof(e->uri))))
            return false;
    }
    if ((av->ice_ufrag || av->ice_pwd) &&
        (!av->ice_ufrag || !av->ice_pwd || !dcgw__sdp_is_token(av->ice_ufrag, 257) ||
         !dcgw__sdp_is_token(av->ice_pwd, 257) ||
         (av->setup != DCGW_SDP_SETUP_ACTIVE && av->setup != DCGW_SDP_SETUP_PASSIVE &&
          av->setup != DCGW_SDP_SETUP_ACTPASS)))
        return false;
    return !av->streams || streams_valid(av->streams, av->streams_rtp);
}

/* a=msid, a=ssrc-group and a=ssrc of the streams dcgw sends (RFC 8830, RFC 5576). */
static void put_streams(struct dcgw__sdp_out *o, const struct dcgw_sdp *s, size_t rtp)
{
    const struct dcgw_sdp_rtp *r = &s->rtp[rtp];
    if (r->has_msid)
        dcgw__sdp_put(o, "a=msid:%s%s%s\r\n", r->msid_stream, r->msid_track[0] ? " " : "",
                      r->msid_track);
    for (unsigned i = 0; i < r->n_groups; i++) {
        const struct dcgw_sdp_ssrc_group *g = &s->ssrc_groups[r->first_group + i];
        dcgw__sdp_put(o, "a=ssrc-group:%s", g->semantics);
        for (unsigned k = 0; k < g->n; k++)
            dcgw__sdp_put(o, " %u", g->ssrcs[k]);
        dcgw__sdp_put(o, "\r\n");
    }
    for (unsigned i = 0; i < r->n_ssrcs; i++) {
        const struct dcgw_sdp_ssrc *x = &s->ssrcs[r->first_ssrc + i];
        if (x->cname[0])
            dcgw__sdp_put(o, "a=ssrc:%u cname:%s\r\n", x->ssrc, x->cname);
        if (r->has_msid)
            dcgw__sdp_put(o, "a=ssrc:%u msid:%s%s%s\r\n", x->ssrc, r->msid_stream,
                          r->msid_track[0] ? " " : "", r->msid_track);
    }
}

static void put_codecs(struct dcgw__sdp_out *o, const struct dcgw_sdp_av *av)
{
    const struct dcgw_sdp *s = av->src;
    const struct dcgw_sdp_rtp *r = &s->rtp[av->rtp];
    for (unsigned i = 0; i < r->n_codecs; i++) {
        const struct dcgw_sdp_codec *c = &s->codecs[r->first_codec + i];
        if (!(av->codecs >> i & 1))
            continue;
        /* RFC 8866 §6.6: channels only when not 1 */
        if (c->channels > 1)
            dcgw__sdp_put(o, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
        else
            dcgw__sdp_put(o, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
        if (c->fmtp[0])
            dcgw__sdp_put(o, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
        for (unsigned k = 0; k < sizeof(fb_names) / sizeof(fb_names[0]); k++)
            if (av->fb[i] >> k & 1)
                dcgw__sdp_put(o, "a=rtcp-fb:%u %s\r\n", c->pt, fb_names[k]);
    }
}

void dcgw__sdp_put_av(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l,
                      const struct dcgw_sdp_av *av, const char *media, const char *mid,
                      const char *fmt)
{
    const struct dcgw_sdp *s = av->src;
    const struct dcgw_sdp_rtp *r = &s->rtp[av->rtp];
    if (av->reject) {
        /* RFC 3264 §6: port 0 rejects it; i= (RFC 8866 §5.4) says why */
        dcgw__sdp_put(o, "m=%s 0 %s %s\r\n", media, r->proto, fmt[0] ? fmt : "0");
        if (av->reason[0])
            dcgw__sdp_put(o, "i=%s\r\n", av->reason);
        if (mid[0])
            dcgw__sdp_put(o, "a=mid:%s\r\n", mid);
        return;
    }
    char addr[8 + 46];
    uint16_t port;
    dcgw__sdp_addr_text(&l->addrs[0], addr, sizeof(addr), &port);
    dcgw__sdp_put(o, "m=%s %u %s", media, port, r->proto);
    for (unsigned i = 0; i < r->n_codecs; i++)
        if (av->codecs >> i & 1)
            dcgw__sdp_put(o, " %u", s->codecs[r->first_codec + i].pt);
    dcgw__sdp_put(o, "\r\n");
    if (mid[0])
        dcgw__sdp_put(o, "a=mid:%s\r\n", mid);
    bool own = av->ice_ufrag != NULL; /* a transport of its own (not the data channel's) */
    dcgw__sdp_put_transport(o, l, own ? av->ice_ufrag : l->ice_ufrag,
                            own ? av->ice_pwd : l->ice_pwd, own ? av->setup : l->setup, !own);
    dcgw__sdp_put_candidates(o, l);
    dcgw__sdp_put(o, "a=%s\r\n", dir_names[av->dir]);
    dcgw__sdp_put(o, "a=rtcp-mux\r\n"); /* RFC 5761 §5.1.1: dcgw multiplexes RTCP */
    if (av->rtcp_rsize)
        dcgw__sdp_put(o, "a=rtcp-rsize\r\n");
    for (unsigned i = 0; i < r->n_exts; i++) {
        const struct dcgw_sdp_ext *e = &s->exts[r->first_ext + i];
        if (av->exts >> i & 1)
            dcgw__sdp_put(o, "a=extmap:%u %s\r\n", e->id, e->uri);
    }
    put_codecs(o, av);
    if (av->streams)
        put_streams(o, av->streams, av->streams_rtp);
}
