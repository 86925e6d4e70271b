/* Audio and video forwarding between two terminated legs. See media.h and docs/media.md. */
#include "dcgw/stages/media.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/base/tbucket.h"
#include "dcgw/stages/rtp.h"

enum { PT_NONE = 0xff };

struct mstream {
    uint32_t ssrc;     /* as the leg's peer sends it */
    uint32_t out_ssrc; /* as the other leg's peer sees it (the same unless it collided) */
    int8_t line;       /* -1: only seen in RTCP so far */
    uint8_t tp;        /* the transport it came on (its RTP session: SSRCs are per session) */
    uint64_t last_ms;
};

struct mline {
    struct dcgw_media_line_info info; /* info.tp[k]: leg k's transport that carries it */
    uint8_t pt_map[2][128];           /* payload type from leg k -> on the other leg */
    uint8_t mid_id[2];                /* the mid extension's id on leg k (0: none) */
    struct dcgw_rtp_rewrite rw[2];    /* packets from leg k toward leg 1-k */
    uint8_t n_sdp_ssrcs[2];
    uint32_t sdp_ssrcs[2][DCGW_SDP_RTP_SSRCS_MAX]; /* a=ssrc of leg k's m-line */
    struct dcgw_tbucket bucket[2];                 /* bytes of leg k's RTP */
    struct dcgw_media_counters c[2];
};

/* One ICE/DTLS transport of a leg: its SRTP keys (RFC 5764: one DTLS association each). */
struct mtp {
    struct dcgw_srtp *rx, *tx;
    enum dcgw_srtp_profile profile;
    bool failed;
    uint8_t n_lines; /* m-lines it carries */
    int8_t line;     /* the one it carries when n_lines is 1 (unbundled) */
};

struct mside {
    struct mtp tp[DCGW_MEDIA_TRANSPORTS_MAX];
    char reason[DCGW_MEDIA_REASON_MAX]; /* the first failure */
    unsigned n_streams;
    struct mstream streams[DCGW_MEDIA_STREAMS_MAX];
    struct dcgw_media_counters c; /* what fitted no m-line */
};

struct dcgw_media {
    struct dcgw_media_cbs cbs;
    struct dcgw_media_settings set;
    size_t n_lines;
    struct mline lines[DCGW_MEDIA_LINES_MAX];
    struct mside side[2];
    uint8_t in[DCGW_RTP_PACKET_MAX + DCGW_SRTP_TRAILER_MAX];
    uint8_t out[DCGW_RTP_PACKET_MAX + 512 + DCGW_SRTP_TRAILER_MAX];
};

const char *dcgw_media_drop_name(enum dcgw_media_drop d)
{
    static const char *const names[] = {
#define DCGW__MEDIA_DROP_NAME(name, str) str,
        DCGW_MEDIA_DROP_MAP(DCGW__MEDIA_DROP_NAME)
#undef DCGW__MEDIA_DROP_NAME
    };
    return (unsigned)d < DCGW_MEDIA_DROP_COUNT ? names[d] : "?";
}

/* ---- building ---- */

static void line_init(struct mline *l, const struct dcgw_sdp_pair *pr, const struct dcgw_sdp *s[2])
{
    memset(l, 0, sizeof(*l));
    l->info.kind = pr->kind;
    memset(l->pt_map, PT_NONE, sizeof(l->pt_map));
    for (int k = 0; k < 2; k++) {
        const struct dcgw_sdp_rtp *r = &s[k]->rtp[pr->rtp[k]];
        snprintf(l->info.mid[k], sizeof(l->info.mid[k]), "%s", r->mid);
        l->info.tp[k] = pr->tp[k];
        l->info.send[k] = pr->send[k];
        l->info.allowed[k] = true;
        l->mid_id[k] = dcgw_sdp_mid_ext_id(s[k], pr->rtp[k]);
        l->n_sdp_ssrcs[k] = r->n_ssrcs;
        for (unsigned i = 0; i < r->n_ssrcs; i++)
            l->sdp_ssrcs[k][i] = s[k]->ssrcs[r->first_ssrc + i].ssrc;
    }
    for (size_t i = 0; i < pr->n_codecs; i++) {
        l->pt_map[0][pr->codecs[i].pt[0] & 127] = pr->codecs[i].pt[1];
        l->pt_map[1][pr->codecs[i].pt[1] & 127] = pr->codecs[i].pt[0];
    }
    for (int k = 0; k < 2; k++) {
        struct dcgw_rtp_rewrite *rw = &l->rw[k];
        for (size_t i = 0; i < pr->n_exts; i++)
            rw->ext_map[pr->exts[i].id[k]] = pr->exts[i].id[1 - k];
        /* RFC 8843 §15: the mid the receiving leg knows the m-line by */
        rw->mid_in = l->mid_id[k];
        rw->mid_out = l->mid_id[1 - k] && rw->ext_map[l->mid_id[k]] ? l->mid_id[1 - k] : 0;
        size_t ml = strlen(l->info.mid[1 - k]);
        rw->mid_len = (uint8_t)(ml > DCGW_RTP_MID_MAX ? 0 : ml);
        memcpy(rw->mid, l->info.mid[1 - k], rw->mid_len);
        if (!rw->mid_len)
            rw->mid_out = 0;
        dcgw_tbucket_init(&l->bucket[k], 0, 0, 0);
    }
}

int dcgw_media_new(const struct dcgw_sdp_match *match, const struct dcgw_sdp *sdp0,
                   const struct dcgw_sdp *sdp1, const struct dcgw_media_settings *s,
                   const struct dcgw_media_cbs *cbs, struct dcgw_media **out)
{
    if (!match || !sdp0 || !sdp1 || !cbs || !cbs->send || !out ||
        match->n_pairs > DCGW_MEDIA_LINES_MAX)
        return DCGW_EINVAL;
    const struct dcgw_sdp *sdp[2] = {sdp0, sdp1};
    for (size_t i = 0; i < match->n_pairs; i++)
        for (int k = 0; k < 2; k++)
            if (match->pairs[i].rtp[k] >= sdp[k]->n_rtp ||
                match->pairs[i].tp[k] >= DCGW_MEDIA_TRANSPORTS_MAX)
                return DCGW_EINVAL;
    struct dcgw_media *m = calloc(1, sizeof(*m));
    if (!m)
        return DCGW_ENOMEM;
    m->cbs = *cbs;
    if (s)
        m->set = *s;
    m->n_lines = match->n_pairs;
    for (size_t i = 0; i < m->n_lines; i++) {
        line_init(&m->lines[i], &match->pairs[i], sdp);
        for (int k = 0; k < 2; k++) {
            struct mtp *t = &m->side[k].tp[match->pairs[i].tp[k]];
            t->line = (int8_t)(t->n_lines++ ? -1 : (int)i);
        }
    }
    *out = m;
    return 0;
}

void dcgw_media_free(struct dcgw_media *m)
{
    if (!m)
        return;
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < DCGW_MEDIA_TRANSPORTS_MAX; t++) {
            dcgw_srtp_free(m->side[k].tp[t].rx);
            dcgw_srtp_free(m->side[k].tp[t].tx);
        }
    free(m);
}

static void emit(struct dcgw_media *m, int side, int line, enum dcgw_media_event ev,
                 const char *reason)
{
    if (m->cbs.on_event)
        m->cbs.on_event(m->cbs.ud, side, line, ev, reason);
}

static struct mtp *tp_of(struct dcgw_media *m, int side, int tp)
{
    return tp >= 0 && tp < DCGW_MEDIA_TRANSPORTS_MAX ? &m->side[side & 1].tp[tp] : NULL;
}

/* Transport tp of leg `side` carries no more media; the leg's first reason is kept. */
static void fail_tp(struct dcgw_media *m, int side, struct mtp *t, const char *reason)
{
    struct mside *ms = &m->side[side & 1];
    t->failed = true;
    dcgw_srtp_free(t->rx);
    dcgw_srtp_free(t->tx);
    t->rx = t->tx = NULL;
    if (!ms->reason[0])
        snprintf(ms->reason, sizeof(ms->reason), "%s", reason);
}

void dcgw_media_fail_transport(struct dcgw_media *m, int side, int tp, const char *reason)
{
    struct mtp *t = tp_of(m, side, tp);
    if (!t || t->failed)
        return;
    fail_tp(m, side, t, reason);
    DCGW_LOG_RL(MEDIA, INFO, "leg %d transport %d carries no media: %s", side, tp, reason);
    emit(m, side, -1, DCGW_MEDIA_EV_FAILED, reason);
}

void dcgw_media_fail_leg(struct dcgw_media *m, int side, const char *reason)
{
    bool any = false;
    for (int t = 0; t < DCGW_MEDIA_TRANSPORTS_MAX; t++) {
        struct mtp *x = &m->side[side & 1].tp[t];
        if (!x->failed) {
            fail_tp(m, side, x, reason);
            any = true;
        }
    }
    if (!any)
        return;
    DCGW_LOG_RL(MEDIA, INFO, "leg %d carries no media: %s", side, reason);
    emit(m, side, -1, DCGW_MEDIA_EV_FAILED, reason);
}

int dcgw_media_set_keys(struct dcgw_media *m, int side, int tp, const struct dcgw_srtp_keys *k)
{
    struct mtp *t = tp_of(m, side, tp);
    if (!t || t->failed || t->rx)
        return DCGW_ESTATE;
    int rc = dcgw_srtp_new(k, false, m->set.replay_window, &t->rx);
    if (rc == 0)
        rc = dcgw_srtp_new(k, true, m->set.replay_window, &t->tx);
    if (rc < 0) {
        char why[DCGW_MEDIA_REASON_MAX];
        snprintf(why, sizeof(why), "SRTP session (%s): %s", dcgw_srtp_profile_name(k->profile),
                 dcgw_strerror(rc));
        dcgw_media_fail_transport(m, side, tp, why);
        return rc;
    }
    t->profile = k->profile;
    return 0;
}

void dcgw_media_set_policy(struct dcgw_media *m, int line, int side, bool allowed,
                           uint64_t max_bitrate, uint32_t burst_ms, uint64_t now_ms)
{
    if (line < 0 || (size_t)line >= m->n_lines || side < 0 || side > 1)
        return;
    struct mline *l = &m->lines[line];
    l->info.allowed[side] = allowed;
    l->info.max_bitrate[side] = max_bitrate;
    uint64_t rate = max_bitrate / 8;
    uint64_t burst = rate * (burst_ms ? burst_ms : DCGW_MEDIA_BURST_MS_DEFAULT) / 1000;
    if (rate && burst < DCGW_MEDIA_BURST_BYTES_MIN)
        burst = DCGW_MEDIA_BURST_BYTES_MIN;
    dcgw_tbucket_set(&l->bucket[side], rate, rate ? burst : 0, now_ms * 1000);
}

/* ---- streams (SSRCs) of a leg ---- */

static struct mstream *stream_find(struct mside *ms, int tp, uint32_t ssrc)
{
    for (unsigned i = 0; i < ms->n_streams; i++)
        if (ms->streams[i].ssrc == ssrc && ms->streams[i].tp == tp)
            return &ms->streams[i];
    return NULL;
}

/* True when a new SSRC has a slot, freeing the least recently used idle one if needed. */
static bool stream_room(struct dcgw_media *m, int side, uint64_t now)
{
    struct mside *ms = &m->side[side];
    if (ms->n_streams < DCGW_MEDIA_STREAMS_MAX)
        return true;
    unsigned lru = 0;
    for (unsigned i = 1; i < ms->n_streams; i++)
        if (ms->streams[i].last_ms < ms->streams[lru].last_ms)
            lru = i;
    struct mstream *st = &ms->streams[lru];
    if (st->last_ms + DCGW_MEDIA_STREAM_IDLE_MS > now)
        return false;
    if (ms->tp[st->tp].rx)
        dcgw_srtp_remove(ms->tp[st->tp].rx, st->ssrc);
    /* its RTP went to one transport of the other leg, its RTCP maybe to others */
    for (int t = 0; t < DCGW_MEDIA_TRANSPORTS_MAX; t++)
        if (m->side[1 - side].tp[t].tx)
            dcgw_srtp_remove(m->side[1 - side].tp[t].tx, st->out_ssrc);
    *st = ms->streams[--ms->n_streams];
    return true;
}

/* An SSRC the peer of leg `dest` uses or receives already (RFC 3550 §8.2). */
static bool ssrc_taken(const struct dcgw_media *m, int dest, uint32_t x)
{
    const struct mside *d = &m->side[dest], *o = &m->side[1 - dest];
    for (unsigned i = 0; i < d->n_streams; i++)
        if (d->streams[i].ssrc == x)
            return true;
    for (unsigned i = 0; i < o->n_streams; i++)
        if (o->streams[i].out_ssrc == x)
            return true;
    for (size_t i = 0; i < m->n_lines; i++)
        for (unsigned j = 0; j < m->lines[i].n_sdp_ssrcs[dest]; j++)
            if (m->lines[i].sdp_ssrcs[dest][j] == x)
                return true;
    return false;
}

static struct mstream *stream_add(struct dcgw_media *m, int side, int tp, uint32_t ssrc, int line,
                                  uint64_t now)
{
    uint32_t out = ssrc;
    for (int tries = 0; tries < 16 && ssrc_taken(m, 1 - side, out); tries++) {
        uint32_t r;
        if (RAND_bytes((unsigned char *)&r, sizeof(r)) == 1)
            out = r;
    }
    if (out != ssrc)
        DCGW_LOG_RL(MEDIA, INFO, "leg %d ssrc %u collides on the other leg: sent as %u", side, ssrc,
                    out);
    struct mside *ms = &m->side[side];
    struct mstream *st = &ms->streams[ms->n_streams++];
    st->ssrc = ssrc;
    st->out_ssrc = out;
    st->line = (int8_t)line;
    st->tp = (uint8_t)tp;
    st->last_ms = now;
    return st;
}

/* ---- routing (RFC 8843 §9.2) ---- */

static int route(struct dcgw_media *m, int side, int tp, const uint8_t *p,
                 const struct dcgw_rtp_hdr *h)
{
    /* an unbundled transport carries one m-line: everything on it is that m-line's */
    if (m->side[side].tp[tp].n_lines == 1)
        return m->side[side].tp[tp].line;
    /* 1. the mid header extension */
    for (size_t i = 0; i < m->n_lines; i++) {
        const uint8_t *v;
        size_t n;
        uint8_t id = m->lines[i].mid_id[side];
        if (m->lines[i].info.tp[side] != tp || !id || !dcgw_rtp_ext_find(p, h, id, &v, &n))
            continue;
        for (size_t j = 0; j < m->n_lines; j++)
            if (m->lines[j].info.tp[side] == tp && strlen(m->lines[j].info.mid[side]) == n &&
                memcmp(m->lines[j].info.mid[side], v, n) == 0)
                return (int)j;
        return -1; /* a mid that names no m-line carried on this transport */
    }
    /* 2. the SSRCs the leg's SDP announced */
    for (size_t i = 0; i < m->n_lines; i++)
        for (unsigned j = 0; m->lines[i].info.tp[side] == tp && j < m->lines[i].n_sdp_ssrcs[side];
             j++)
            if (m->lines[i].sdp_ssrcs[side][j] == h->ssrc)
                return (int)i;
    /* 3. a payload type only one m-line has */
    int found = -1;
    for (size_t i = 0; i < m->n_lines; i++)
        if (m->lines[i].info.tp[side] == tp && m->lines[i].pt_map[side][h->pt] != PT_NONE) {
            if (found >= 0)
                return -1;
            found = (int)i;
        }
    return found;
}

/* ---- the data path ---- */

static int drop(struct dcgw_media_counters *c, enum dcgw_media_drop why)
{
    c->dropped[why]++;
    return -1 - (int)why;
}

static struct dcgw_media_counters *counters_of(struct dcgw_media *m, int side,
                                               const struct mstream *st)
{
    return st && st->line >= 0 ? &m->lines[st->line].c[side] : &m->side[side].c;
}

static int srtp_drop(struct dcgw_media_counters *c, int rc)
{
    return drop(c, rc == DCGW_EAUTH     ? DCGW_MEDIA_DROP_AUTH
                   : rc == DCGW_EREPLAY ? DCGW_MEDIA_DROP_REPLAY
                                        : DCGW_MEDIA_DROP_MALFORMED);
}

struct map_ctx {
    struct dcgw_media *m;
    int side, tp;
    int line; /* the m-line of the first report block or feedback target dcgw knows */
};

static uint32_t map_ssrc(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role)
{
    struct map_ctx *x = ud;
    if (role == DCGW_RTCP_SENDER) {
        struct mstream *st = stream_find(&x->m->side[x->side], x->tp, ssrc);
        return st ? st->out_ssrc : ssrc;
    }
    /* a stream of the other leg, known here by the SSRC dcgw sent it as */
    struct mside *o = &x->m->side[1 - x->side];
    for (unsigned i = 0; i < o->n_streams; i++)
        if (o->streams[i].out_ssrc == ssrc) {
            if (x->line < 0)
                x->line = o->streams[i].line;
            return o->streams[i].ssrc;
        }
    return ssrc;
}

/* Protects p (n bytes, in m->out) toward the transport of the other leg that carries line. */
static int forward(struct dcgw_media *m, int side, int line, uint8_t *p, size_t n, bool rtcp,
                   struct dcgw_media_counters *c)
{
    int ftp = m->lines[line].info.tp[1 - side];
    struct mtp *far = &m->side[1 - side].tp[ftp];
    if (!far->tx)
        return drop(c, DCGW_MEDIA_DROP_NOT_READY);
    if (dcgw_srtp_protect(far->tx, p, &n, sizeof(m->out), rtcp) < 0)
        return drop(c, DCGW_MEDIA_DROP_INTERNAL);
    m->cbs.send(m->cbs.ud, 1 - side, ftp, p, n);
    c->fwd_packets++;
    c->fwd_bytes += n;
    return 0;
}

/* The m-line an RTCP compound from transport tp of leg `side` goes with: its sender's, else
 * the one m-line of an unbundled transport, else that of the first stream of the other leg
 * it reports on, else the first m-line tp carries. Its transport on the other leg is where
 * the compound goes (a compound that reports on streams of several transports of the other
 * leg goes whole to the first one's: docs/media.md). */
static int rtcp_line(const struct dcgw_media *m, int side, int tp, const struct mstream *st,
                     int reported)
{
    const struct mtp *t = &m->side[side].tp[tp];
    if (st && st->line >= 0)
        return st->line;
    if (t->n_lines == 1)
        return t->line;
    if (reported >= 0)
        return reported;
    for (size_t i = 0; i < m->n_lines; i++)
        if (m->lines[i].info.tp[side] == tp)
            return (int)i;
    return -1;
}

static int rtcp_in(struct dcgw_media *m, int side, int tp, size_t n, uint64_t now)
{
    struct mside *ms = &m->side[side];
    uint32_t sender =
        (uint32_t)m->in[4] << 24 | (uint32_t)m->in[5] << 16 | (uint32_t)m->in[6] << 8 | m->in[7];
    struct mstream *st = stream_find(ms, tp, sender);
    if (!st && !stream_room(m, side, now))
        return drop(&ms->c, DCGW_MEDIA_DROP_STREAMS);
    struct dcgw_media_counters *c = counters_of(m, side, st);
    int rc = dcgw_srtp_unprotect(ms->tp[tp].rx, m->in, &n, true);
    if (rc < 0)
        return srtp_drop(c, rc);
    if (!st) /* remembered, so libsrtp2's per-SSRC state stays bounded */
        st = stream_add(m, side, tp, sender, -1, now);
    st->last_ms = now;
    c->rtcp_packets++;
    c->rtcp_bytes += n;
    struct map_ctx x = {m, side, tp, -1};
    if (dcgw_rtcp_map_ssrcs(m->in, n, map_ssrc, &x) < 0)
        return drop(c, DCGW_MEDIA_DROP_MALFORMED);
    int line = rtcp_line(m, side, tp, st, x.line);
    if (line < 0)
        return drop(c, DCGW_MEDIA_DROP_UNROUTABLE);
    memcpy(m->out, m->in, n);
    return forward(m, side, line, m->out, n, true, c);
}

static int rtp_in(struct dcgw_media *m, int side, int tp, size_t n, uint64_t now)
{
    struct mside *ms = &m->side[side];
    struct dcgw_rtp_hdr h;
    if (dcgw_rtp_parse(m->in, n, &h) < 0)
        return drop(&ms->c, DCGW_MEDIA_DROP_MALFORMED);
    struct mstream *st = stream_find(ms, tp, h.ssrc);
    if (!st && !stream_room(m, side, now))
        return drop(&ms->c, DCGW_MEDIA_DROP_STREAMS);
    struct dcgw_srtp *rx = ms->tp[tp].rx;
    int rc = dcgw_srtp_unprotect(rx, m->in, &n, false);
    if (rc < 0)
        return srtp_drop(counters_of(m, side, st), rc);
    if (dcgw_rtp_parse(m->in, n, &h) < 0 || h.payload_off > n)
        return drop(counters_of(m, side, st), DCGW_MEDIA_DROP_MALFORMED);
    if (!st || st->line < 0) {
        int line = route(m, side, tp, m->in, &h);
        if (line < 0) {
            if (!st) /* forget the SSRC libsrtp2 just learnt */
                dcgw_srtp_remove(rx, h.ssrc);
            return drop(&ms->c, DCGW_MEDIA_DROP_UNROUTABLE);
        }
        if (!st)
            st = stream_add(m, side, tp, h.ssrc, line, now);
        st->line = (int8_t)line;
    }
    st->last_ms = now;
    struct mline *l = &m->lines[st->line];
    struct dcgw_media_counters *c = &l->c[side];
    c->rtp_packets++;
    c->rtp_bytes += n;
    if (!l->info.send[side])
        return drop(c, DCGW_MEDIA_DROP_DIRECTION);
    if (!l->info.allowed[side])
        return drop(c, DCGW_MEDIA_DROP_POLICY);
    uint8_t pt = l->pt_map[side][h.pt];
    if (pt == PT_NONE)
        return drop(c, DCGW_MEDIA_DROP_CODEC);
    if (!dcgw_tbucket_take(&l->bucket[side], n, now * 1000))
        return drop(c, DCGW_MEDIA_DROP_RATE);
    int len = dcgw_rtp_rewrite(m->in, n, &h, &l->rw[side], pt, st->out_ssrc, m->out,
                               sizeof(m->out) - DCGW_SRTP_TRAILER_MAX);
    if (len < 0)
        return drop(c, DCGW_MEDIA_DROP_MALFORMED);
    rc = forward(m, side, st->line, m->out, (size_t)len, false, c);
    if (rc == 0 && !l->info.started[side]) {
        l->info.started[side] = true;
        emit(m, side, st->line, DCGW_MEDIA_EV_STARTED, "");
    }
    return rc;
}

int dcgw_media_input(struct dcgw_media *m, int side, int tp, const uint8_t *p, size_t n,
                     uint64_t now_ms)
{
    if (!m)
        return -1 - DCGW_MEDIA_DROP_MALFORMED;
    if (side < 0 || side > 1 || !p || tp < 0 || tp >= DCGW_MEDIA_TRANSPORTS_MAX)
        return drop(&m->side[side == 1].c, DCGW_MEDIA_DROP_MALFORMED);
    struct mside *ms = &m->side[side];
    if (!ms->tp[tp].rx)
        return drop(&ms->c, DCGW_MEDIA_DROP_NOT_READY);
    bool rtcp = dcgw_rtp_is_rtcp(p, n);
    if (n > DCGW_RTP_PACKET_MAX || n < (rtcp ? DCGW_RTCP_HEADER_LEN : DCGW_RTP_HEADER_LEN))
        return drop(&ms->c, DCGW_MEDIA_DROP_MALFORMED);
    memcpy(m->in, p, n);
    return rtcp ? rtcp_in(m, side, tp, n, now_ms) : rtp_in(m, side, tp, n, now_ms);
}

/* ---- queries ---- */

size_t dcgw_media_lines(const struct dcgw_media *m)
{
    return m->n_lines;
}

const struct dcgw_media_line_info *dcgw_media_line(const struct dcgw_media *m, int line)
{
    return line >= 0 && (size_t)line < m->n_lines ? &m->lines[line].info : NULL;
}

const struct dcgw_media_counters *dcgw_media_counters(const struct dcgw_media *m, int line,
                                                      int side)
{
    if (side < 0 || side > 1 || line < -1 || line >= (int)m->n_lines)
        return NULL;
    return line < 0 ? &m->side[side].c : &m->lines[line].c[side];
}

enum dcgw_srtp_profile dcgw_media_profile(const struct dcgw_media *m, int side, int tp)
{
    const struct mside *ms = &m->side[side & 1];
    if (tp >= 0)
        return tp < DCGW_MEDIA_TRANSPORTS_MAX ? ms->tp[tp].profile : DCGW_SRTP_NONE;
    for (int t = 0; t < DCGW_MEDIA_TRANSPORTS_MAX; t++)
        if (ms->tp[t].profile != DCGW_SRTP_NONE)
            return ms->tp[t].profile;
    return DCGW_SRTP_NONE;
}

const char *dcgw_media_reason(const struct dcgw_media *m, int side)
{
    return m->side[side & 1].reason;
}

unsigned dcgw_media_streams(const struct dcgw_media *m, int side)
{
    return m->side[side & 1].n_streams;
}
