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
    uint64_t last_ms;
};

struct mline {
    struct dcgw_media_line_info info;
    uint8_t pt_map[2][128];        /* payload type from leg k -> on the other leg */
    uint8_t mid_id[2];             /* the mid extension's id on leg k (0: none) */
    struct dcgw_rtp_rewrite rw[2]; /* packets from leg k toward leg 1-k */
    uint8_t n_sdp_ssrcs[2];
    uint32_t sdp_ssrcs[2][DCGW_SDP_RTP_SSRCS_MAX]; /* a=ssrc of leg k's m-line */
    struct dcgw_tbucket bucket[2];                 /* bytes of leg k's RTP */
    struct dcgw_media_counters c[2];
};

struct mside {
    struct dcgw_srtp *rx, *tx;
    enum dcgw_srtp_profile profile;
    bool failed;
    char reason[DCGW_MEDIA_REASON_MAX];
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
            if (match->pairs[i].rtp[k] >= sdp[k]->n_rtp)
                return DCGW_EINVAL;
    struct dcgw_media *m = calloc(1, sizeof(*m));
    if (!m)
        return DCGW_ENOMEM;
    m->cbs = *cbs;
    if (s)
        m->set = *s;
    m->n_lines = match->n_pairs;
    for (size_t i = 0; i < m->n_lines; i++)
        line_init(&m->lines[i], &match->pairs[i], sdp);
    *out = m;
    return 0;
}

void dcgw_media_free(struct dcgw_media *m)
{
    if (!m)
        return;
    for (int k = 0; k < 2; k++) {
        dcgw_srtp_free(m->side[k].rx);
        dcgw_srtp_free(m->side[k].tx);
    }
    free(m);
}

static void emit(struct dcgw_media *m, int side, int line, enum dcgw_media_event ev,
                 const char *reason)
{
    if (m->cbs.on_event)
        m->cbs.on_event(m->cbs.ud, side, line, ev, reason);
}

void dcgw_media_fail_leg(struct dcgw_media *m, int side, const char *reason)
{
    struct mside *ms = &m->side[side & 1];
    if (ms->failed)
        return;
    ms->failed = true;
    snprintf(ms->reason, sizeof(ms->reason), "%s", reason);
    dcgw_srtp_free(ms->rx);
    dcgw_srtp_free(ms->tx);
    ms->rx = ms->tx = NULL;
    DCGW_LOG_RL(MEDIA, INFO, "leg %d carries no media: %s", side, reason);
    emit(m, side, -1, DCGW_MEDIA_EV_FAILED, ms->reason);
}

int dcgw_media_set_keys(struct dcgw_media *m, int side, const struct dcgw_srtp_keys *k)
{
    struct mside *ms = &m->side[side & 1];
    if (ms->failed || ms->rx)
        return DCGW_ESTATE;
    int rc = dcgw_srtp_new(k, false, m->set.replay_window, &ms->rx);
    if (rc == 0)
        rc = dcgw_srtp_new(k, true, m->set.replay_window, &ms->tx);
    if (rc < 0) {
        char why[DCGW_MEDIA_REASON_MAX];
        snprintf(why, sizeof(why), "SRTP session (%s): %s", dcgw_srtp_profile_name(k->profile),
                 dcgw_strerror(rc));
        dcgw_media_fail_leg(m, side, why);
        return rc;
    }
    ms->profile = k->profile;
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

static struct mstream *stream_find(struct mside *ms, uint32_t ssrc)
{
    for (unsigned i = 0; i < ms->n_streams; i++)
        if (ms->streams[i].ssrc == ssrc)
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
    dcgw_srtp_remove(ms->rx, st->ssrc);
    if (m->side[1 - side].tx)
        dcgw_srtp_remove(m->side[1 - side].tx, st->out_ssrc);
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

static struct mstream *stream_add(struct dcgw_media *m, int side, uint32_t ssrc, int line,
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
    st->last_ms = now;
    return st;
}

/* ---- routing (RFC 8843 §9.2) ---- */

static int route(struct dcgw_media *m, int side, const uint8_t *p, const struct dcgw_rtp_hdr *h)
{
    /* 1. the mid header extension */
    for (size_t i = 0; i < m->n_lines; i++) {
        const uint8_t *v;
        size_t n;
        uint8_t id = m->lines[i].mid_id[side];
        if (!id || !dcgw_rtp_ext_find(p, h, id, &v, &n))
            continue;
        for (size_t j = 0; j < m->n_lines; j++)
            if (strlen(m->lines[j].info.mid[side]) == n &&
                memcmp(m->lines[j].info.mid[side], v, n) == 0)
                return (int)j;
        return -1; /* a mid that names no carried m-line */
    }
    /* 2. the SSRCs the leg's SDP announced */
    for (size_t i = 0; i < m->n_lines; i++)
        for (unsigned j = 0; j < m->lines[i].n_sdp_ssrcs[side]; j++)
            if (m->lines[i].sdp_ssrcs[side][j] == h->ssrc)
                return (int)i;
    /* 3. a payload type only one m-line has */
    int found = -1;
    for (size_t i = 0; i < m->n_lines; i++)
        if (m->lines[i].pt_map[side][h->pt] != PT_NONE) {
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
    int side;
};

static uint32_t map_ssrc(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role)
{
    struct map_ctx *x = ud;
    if (role == DCGW_RTCP_SENDER) {
        struct mstream *st = stream_find(&x->m->side[x->side], ssrc);
        return st ? st->out_ssrc : ssrc;
    }
    /* a stream of the other leg, known here by the SSRC dcgw sent it as */
    struct mside *o = &x->m->side[1 - x->side];
    for (unsigned i = 0; i < o->n_streams; i++)
        if (o->streams[i].out_ssrc == ssrc)
            return o->streams[i].ssrc;
    return ssrc;
}

static int forward(struct dcgw_media *m, int side, uint8_t *p, size_t n, bool rtcp,
                   struct dcgw_media_counters *c)
{
    struct mside *far = &m->side[1 - side];
    if (!far->tx)
        return drop(c, DCGW_MEDIA_DROP_NOT_READY);
    if (dcgw_srtp_protect(far->tx, p, &n, sizeof(m->out), rtcp) < 0)
        return drop(c, DCGW_MEDIA_DROP_INTERNAL);
    m->cbs.send(m->cbs.ud, 1 - side, p, n);
    c->fwd_packets++;
    c->fwd_bytes += n;
    return 0;
}

static int rtcp_in(struct dcgw_media *m, int side, size_t n, uint64_t now)
{
    struct mside *ms = &m->side[side];
    uint32_t sender =
        (uint32_t)m->in[4] << 24 | (uint32_t)m->in[5] << 16 | (uint32_t)m->in[6] << 8 | m->in[7];
    struct mstream *st = stream_find(ms, sender);
    if (!st && !stream_room(m, side, now))
        return drop(&ms->c, DCGW_MEDIA_DROP_STREAMS);
    struct dcgw_media_counters *c = counters_of(m, side, st);
    int rc = dcgw_srtp_unprotect(ms->rx, m->in, &n, true);
    if (rc < 0)
        return srtp_drop(c, rc);
    if (!st) /* remembered, so libsrtp2's per-SSRC state stays bounded */
        st = stream_add(m, side, sender, -1, now);
    st->last_ms = now;
    c->rtcp_packets++;
    c->rtcp_bytes += n;
    struct map_ctx x = {m, side};
    if (dcgw_rtcp_map_ssrcs(m->in, n, map_ssrc, &x) < 0)
        return drop(c, DCGW_MEDIA_DROP_MALFORMED);
    memcpy(m->out, m->in, n);
    return forward(m, side, m->out, n, true, c);
}

static int rtp_in(struct dcgw_media *m, int side, size_t n, uint64_t now)
{
    struct mside *ms = &m->side[side];
    struct dcgw_rtp_hdr h;
    if (dcgw_rtp_parse(m->in, n, &h) < 0)
        return drop(&ms->c, DCGW_MEDIA_DROP_MALFORMED);
    struct mstream *st = stream_find(ms, h.ssrc);
    if (!st && !stream_room(m, side, now))
        return drop(&ms->c, DCGW_MEDIA_DROP_STREAMS);
    int rc = dcgw_srtp_unprotect(ms->rx, m->in, &n, false);
    if (rc < 0)
        return srtp_drop(counters_of(m, side, st), rc);
    if (dcgw_rtp_parse(m->in, n, &h) < 0 || h.payload_off > n)
        return drop(counters_of(m, side, st), DCGW_MEDIA_DROP_MALFORMED);
    if (!st || st->line < 0) {
        int line = route(m, side, m->in, &h);
        if (line < 0) {
            if (!st) /* forget the SSRC libsrtp2 just learnt */
                dcgw_srtp_remove(ms->rx, h.ssrc);
            return drop(&ms->c, DCGW_MEDIA_DROP_UNROUTABLE);
        }
        if (!st)
            st = stream_add(m, side, h.ssrc, line, now);
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
    rc = forward(m, side, m->out, (size_t)len, false, c);
    if (rc == 0 && !l->info.started[side]) {
        l->info.started[side] = true;
        emit(m, side, st->line, DCGW_MEDIA_EV_STARTED, "");
    }
    return rc;
}

int dcgw_media_input(struct dcgw_media *m, int side, const uint8_t *p, size_t n, uint64_t now_ms)
{
    if (!m)
        return -1 - DCGW_MEDIA_DROP_MALFORMED;
    if (side < 0 || side > 1 || !p)
        return drop(&m->side[0].c, DCGW_MEDIA_DROP_MALFORMED);
    struct mside *ms = &m->side[side];
    if (!ms->rx)
        return drop(&ms->c, DCGW_MEDIA_DROP_NOT_READY);
    bool rtcp = dcgw_rtp_is_rtcp(p, n);
    if (n > DCGW_RTP_PACKET_MAX || n < (rtcp ? DCGW_RTCP_HEADER_LEN : DCGW_RTP_HEADER_LEN))
        return drop(&ms->c, DCGW_MEDIA_DROP_MALFORMED);
    memcpy(m->in, p, n);
    return rtcp ? rtcp_in(m, side, n, now_ms) : rtp_in(m, side, n, now_ms);
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

enum dcgw_srtp_profile dcgw_media_profile(const struct dcgw_media *m, int side)
{
    return m->side[side & 1].profile;
}

const char *dcgw_media_reason(const struct dcgw_media *m, int side)
{
    return m->side[side & 1].reason;
}

unsigned dcgw_media_streams(const struct dcgw_media *m, int side)
{
    return m->side[side & 1].n_streams;
}
