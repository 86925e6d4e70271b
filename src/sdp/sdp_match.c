/* Pairing of two legs' audio/video m-lines and codec intersection. See sdp_match.h. */
#include "dcgw/sdp/sdp_match.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {"audio", "video"};

static bool sends(enum dcgw_sdp_dir d)
{
    return d == DCGW_SDP_DIR_SENDRECV || d == DCGW_SDP_DIR_SENDONLY;
}

static bool recvs(enum dcgw_sdp_dir d)
{
    return d == DCGW_SDP_DIR_SENDRECV || d == DCGW_SDP_DIR_RECVONLY;
}

static enum dcgw_sdp_dir dir_of(bool send, bool recv)
{
    return send && recv ? DCGW_SDP_DIR_SENDRECV
           : send       ? DCGW_SDP_DIR_SENDONLY
           : recv       ? DCGW_SDP_DIR_RECVONLY
                        : DCGW_SDP_DIR_INACTIVE;
}

enum dcgw_sdp_ext_known dcgw_sdp_ext_known_of(const char *uri)
{
    if (strcmp(uri, DCGW_SDP_URI_MID) == 0)
        return DCGW_SDP_EXT_MID;
    if (strcmp(uri, DCGW_SDP_URI_TWCC) == 0)
        return DCGW_SDP_EXT_TWCC;
    return DCGW_SDP_EXT_OTHER;
}

uint8_t dcgw_sdp_mid_ext_id(const struct dcgw_sdp *sdp, size_t rtp)
{
    const struct dcgw_sdp_rtp *r = &sdp->rtp[rtp];
    for (unsigned i = 0; i < r->n_exts; i++)
        if (dcgw_sdp_ext_known_of(sdp->exts[r->first_ext + i].uri) == DCGW_SDP_EXT_MID)
            return sdp->exts[r->first_ext + i].id;
    return 0;
}

/* ---- fmtp parameters ---- */

/* Value of key in "k=v;k2=v2" (spaces around ';' tolerated), or def. */
static void fmtp_get(const char *fmtp, const char *key, const char *def, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = fmtp; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > kl && strncasecmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = n - kl - 1;
            while (vl && p[kl + 1 + vl - 1] == ' ')
                vl--;
            snprintf(out, cap, "%.*s", (int)vl, p + kl + 1);
            return;
        }
        p += n;
    }
    snprintf(out, cap, "%s", def);
}

static bool fmtp_eq(const char *a, const char *b, const char *key, const char *def, size_t prefix)
{
    char x[64], y[64];
    fmtp_get(a, key, def, x, sizeof(x));
    fmtp_get(b, key, def, y, sizeof(y));
    return prefix ? strncasecmp(x, y, prefix) == 0 : strcasecmp(x, y) == 0;
}

static bool is_name(const struct dcgw_sdp_codec *c, const char *name)
{
    return strcasecmp(c->name, name) == 0;
}

static bool is_wrap(const struct dcgw_sdp_codec *c)
{
    return is_name(c, "red") || is_name(c, "ulpfec") || is_name(c, "flexfec-03") ||
           is_name(c, "flexfec");
}

/* Same bitstream on both legs (no transcoding). rtx is matched through its apt. */
static bool codec_eq(const struct dcgw_sdp_codec *a, const struct dcgw_sdp_codec *b)
{
    if (strcasecmp(a->name, b->name) != 0 || a->clock != b->clock || a->channels != b->channels)
        return false;
    /* RFC 6184 §8.1: profile_idc and constraints (the first two bytes of
     * profile-level-id, default 42000a) and packetization-mode must agree; the level may
     * differ (the sender's is bounded by what it is told). */
    if (is_name(a, "H264"))
        return fmtp_eq(a->fmtp, b->fmtp, "profile-level-id", "42000a", 4) &&
               fmtp_eq(a->fmtp, b->fmtp, "packetization-mode", "0", 0);
    if (is_name(a, "VP9")) /* draft-ietf-payload-vp9 §6: profile-id, default 0 */
        return fmtp_eq(a->fmtp, b->fmtp, "profile-id", "0", 0);
    if (is_name(a, "AV1")) /* AV1 RTP payload §7.2: profile, default 0 */
        return fmtp_eq(a->fmtp, b->fmtp, "profile", "0", 0);
    if (is_name(a, "H265"))
        return fmtp_eq(a->fmtp, b->fmtp, "profile-id", "1", 0);
    return true;
}

static int apt_of(const struct dcgw_sdp_codec *c)
{
    char v[8];
    unsigned apt;
    fmtp_get(c->fmtp, "apt", "", v, sizeof(v));
    return sscanf(v, "%u", &apt) == 1 && apt < 128 ? (int)apt : -1;
}

/* ---- building what dcgw writes ---- */

static void av_reject(struct dcgw_sdp_av *av, const struct dcgw_sdp *sdp, size_t rtp,
                      const char *why)
{
    memset(av, 0, sizeof(*av));
    av->src = sdp;
    av->rtp = (uint8_t)rtp;
    av->reject = true;
    av->dir = DCGW_SDP_DIR_INACTIVE;
    snprintf(av->reason, sizeof(av->reason), "%s", why);
}

static int codec_index(const struct dcgw_sdp *s, const struct dcgw_sdp_rtp *r, uint8_t pt)
{
    for (unsigned i = 0; i < r->n_codecs; i++)
        if (s->codecs[r->first_codec + i].pt == pt)
            return (int)i;
    return -1;
}

/* Codec pairs of two m-lines: primary codecs in leg 0's order, then rtx by apt, then
 * the wrapping ones when every payload type is kept. */
static void pair_codecs(const struct dcgw_sdp *s[2], struct dcgw_sdp_pair *pr)
{
    const struct dcgw_sdp_rtp *r0 = &s[0]->rtp[pr->rtp[0]], *r1 = &s[1]->rtp[pr->rtp[1]];
    uint64_t used1 = 0;
    pr->n_codecs = 0;
    for (int pass = 0; pass < 3; pass++) {
        bool identity = true;
        for (size_t k = 0; k < pr->n_codecs; k++)
            identity &= pr->codecs[k].pt[0] == pr->codecs[k].pt[1];
        for (unsigned i = 0; i < r0->n_codecs; i++) {
            const struct dcgw_sdp_codec *a = &s[0]->codecs[r0->first_codec + i];
            bool rtx = is_name(a, "rtx"), wrap = is_wrap(a);
            if ((pass == 0 && (rtx || wrap)) || (pass == 1 && !rtx) || (pass == 2 && !wrap) ||
                (pass == 2 && !identity))
                continue;
            for (unsigned j = 0; j < r1->n_codecs; j++) {
                const struct dcgw_sdp_codec *b = &s[1]->codecs[r1->first_codec + j];
                if ((used1 >> j & 1) || !codec_eq(a, b))
                    continue;
                if (pass == 1) { /* RFC 4588 §8.6: apt names the original payload type */
                    int x = apt_of(a), y = apt_of(b);
                    bool ok = false;
                    for (size_t k = 0; k < pr->n_codecs && !ok; k++)
                        ok = !(pr->codecs[k].flags & DCGW_SDP_CODEC_RTX) &&
                             pr->codecs[k].pt[0] == x && pr->codecs[k].pt[1] == y;
                    if (!ok)
                        continue;
                }
                if (pass == 2 && a->pt != b->pt)
                    continue;
                used1 |= 1ull << j;
                struct dcgw_sdp_codec_pair *c = &pr->codecs[pr->n_codecs++];
                c->pt[0] = a->pt;
                c->pt[1] = b->pt;
                c->clock = a->clock;
                c->flags = rtx ? DCGW_SDP_CODEC_RTX : wrap ? DCGW_SDP_CODEC_WRAP : 0;
                break;
            }
        }
    }
}

/* An id the SDP gives to another URI on some m-line: bundled m-lines share one id space
 * (RFC 8843 §9.1.2), and a peer that maps ids per transport (aiortc 1.4) would read the
 * element as the other extension. */
static bool id_ambiguous(const struct dcgw_sdp *s, uint8_t id, const char *uri)
{
    for (size_t i = 0; i < s->n_exts; i++)
        if (s->exts[i].id == id && strcmp(s->exts[i].uri, uri) != 0)
            return true;
    return false;
}

/* Extensions both m-lines carry, by URI; only ids of the one-byte form (RFC 8285 §4.2),
 * since dcgw does not offer a=extmap-allow-mixed, and none whose id names another
 * extension elsewhere in either SDP. */
static void pair_exts(const struct dcgw_sdp *s[2], struct dcgw_sdp_pair *pr)
{
    const struct dcgw_sdp_rtp *r0 = &s[0]->rtp[pr->rtp[0]], *r1 = &s[1]->rtp[pr->rtp[1]];
    pr->n_exts = 0;
    for (unsigned i = 0; i < r0->n_exts; i++) {
        const struct dcgw_sdp_ext *a = &s[0]->exts[r0->first_ext + i];
        for (unsigned j = 0; j < r1->n_exts && a->id <= 14; j++) {
            const struct dcgw_sdp_ext *b = &s[1]->exts[r1->first_ext + j];
            if (b->id > 14 || strcmp(a->uri, b->uri) != 0 || id_ambiguous(s[0], a->id, a->uri) ||
                id_ambiguous(s[1], b->id, b->uri))
                continue;
            struct dcgw_sdp_ext_pair *e = &pr->exts[pr->n_exts++];
            e->id[0] = a->id;
            e->id[1] = b->id;
            e->known = (uint8_t)dcgw_sdp_ext_known_of(a->uri);
            break;
        }
    }
}

/* The answer of leg k for an accepted pair. */
static void av_accept(const struct dcgw_sdp *s[2], const struct dcgw_sdp_pair *pr, int k,
                      struct dcgw_sdp_av *av)
{
    const struct dcgw_sdp *me = s[k];
    const struct dcgw_sdp_rtp *r = &me->rtp[pr->rtp[k]], *o = &s[1 - k]->rtp[pr->rtp[1 - k]];
    memset(av, 0, sizeof(*av));
    av->src = me;
    av->rtp = pr->rtp[k];
    for (size_t i = 0; i < pr->n_codecs; i++) {
        int ci = codec_index(me, r, pr->codecs[i].pt[k]);
        int co = codec_index(s[1 - k], o, pr->codecs[i].pt[1 - k]);
        if (ci < 0 || co < 0)
            continue;
        av->codecs |= 1ull << ci;
        av->fb[ci] = me->codecs[r->first_codec + ci].fb & s[1 - k]->codecs[o->first_codec + co].fb;
    }
    for (size_t i = 0; i < pr->n_exts; i++)
        for (unsigned j = 0; j < r->n_exts; j++)
            if (me->exts[r->first_ext + j].id == pr->exts[i].id[k])
                av->exts |= (uint16_t)(1u << j);
    /* dcgw receives from leg k what leg k sends, and sends it what the other leg sends */
    av->dir = dir_of(pr->send[1 - k], pr->send[k]);
    av->rtcp_rsize = r->rtcp_rsize && o->rtcp_rsize;
    av->streams = s[1 - k];
    av->streams_rtp = pr->rtp[1 - k];
}

/* Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 * numbers the packets of one transport, and its feedback reports on them: it holds end to
 * end only when pair j shares its transport with the same pairs on both legs (both
 * bundled, or both unbundled alike). */
static bool same_grouping(const struct dcgw_sdp_match *m, size_t j)
{
    const struct dcgw_sdp_pair *a = &m->pairs[j];
    for (size_t i = 0; i < m->n_pairs; i++) {
        const struct dcgw_sdp_pair *b = &m->pairs[i];
        if ((a->tp[0] == b->tp[0]) != (a->tp[1] == b->tp[1]))
            return false;
    }
    return true;
}

/* Elsewhere the extension is not paired and transport-cc feedback not answered. */
static void drop_twcc(const struct dcgw_sdp *s[2], struct dcgw_sdp_match *m)
{
    for (size_t j = 0; j < m->n_pairs; j++) {
        struct dcgw_sdp_pair *pr = &m->pairs[j];
        if (same_grouping(m, j))
            continue;
        size_t keep = 0;
        for (size_t e = 0; e < pr->n_exts; e++)
            if (pr->exts[e].known != DCGW_SDP_EXT_TWCC)
                pr->exts[keep++] = pr->exts[e];
        pr->n_exts = keep;
        for (int k = 0; k < 2; k++) {
            struct dcgw_sdp_av *av = &m->av[k][pr->rtp[k]];
            av_accept(s, pr, k, av);
            for (size_t c = 0; c < DCGW_SDP_RTP_CODECS_MAX; c++)
                av->fb[c] &= (uint8_t)~DCGW_SDP_FB_TWCC;
        }
    }
}

/* Index of the n-th usable m-line of a kind, or -1. */
static int nth(const struct dcgw_sdp *s, enum dcgw_sdp_kind kind, unsigned n)
{
    for (size_t i = 0; i < s->n_rtp; i++)
        if (s->rtp[i].kind == kind && s->rtp[i].usable && n-- == 0)
            return (int)i;
    return -1;
}

void dcgw_sdp_match(const struct dcgw_sdp *leg0, const struct dcgw_sdp *leg1,
                    const struct dcgw_sdp_match_opts *opts, struct dcgw_sdp_match *out)
{
    const struct dcgw_sdp *s[2] = {leg0, leg1};
    memset(out, 0, sizeof(*out));
    char why[DCGW_SDP_REASON_SIZE];
    for (int k = 0; k < 2; k++) {
        out->n_av[k] = s[k]->n_rtp;
        for (size_t i = 0; i < s[k]->n_rtp; i++)
            av_reject(&out->av[k][i], s[k], i, s[k]->rtp[i].reason);
    }
    for (int kind = 0; kind < 2; kind++) {
        for (unsigned n = 0;; n++) {
            int i0 = nth(s[0], (enum dcgw_sdp_kind)kind, n), i1 = nth(s[1], kind, n);
            if (i0 < 0 && i1 < 0)
                break;
            if (i0 < 0 || i1 < 0) {
                int k = i0 < 0 ? 1 : 0;
                snprintf(why, sizeof(why), "no %s m-line to pair with on the other leg",
                         kind_names[kind]);
                av_reject(&out->av[k][k ? i1 : i0], s[k], (size_t)(k ? i1 : i0), why);
                continue;
            }
            int idx[2] = {i0, i1};
            struct dcgw_sdp_pair *pr = &out->pairs[out->n_pairs];
            memset(pr, 0, sizeof(*pr));
            pr->kind = (enum dcgw_sdp_kind)kind;
            pr->rtp[0] = (uint8_t)i0;
            pr->rtp[1] = (uint8_t)i1;
            pr->tp[0] = s[0]->rtp[i0].tp;
            pr->tp[1] = s[1]->rtp[i1].tp;
            bool forbidden = !opts->allow[0][kind] || !opts->allow[1][kind];
            if (!forbidden) {
                pair_codecs(s, pr);
                pair_exts(s, pr);
            }
            if (forbidden || pr->n_codecs == 0 ||
                (pr->codecs[0].flags & (DCGW_SDP_CODEC_RTX | DCGW_SDP_CODEC_WRAP))) {
                if (forbidden)
                    snprintf(why, sizeof(why), "%s forbidden by the policy of leg %d",
                             kind_names[kind], opts->allow[0][kind] ? 1 : 0);
                else
                    snprintf(why, sizeof(why), "no common codec with the other leg");
                for (int k = 0; k < 2; k++)
                    av_reject(&out->av[k][idx[k]], s[k], (size_t)idx[k], why);
                continue;
            }
            for (int k = 0; k < 2; k++)
                pr->send[k] = sends(s[k]->rtp[idx[k]].dir) && recvs(s[1 - k]->rtp[idx[1 - k]].dir);
            for (int k = 0; k < 2; k++)
                av_accept(s, pr, k, &out->av[k][idx[k]]);
            out->n_pairs++;
        }
    }
    drop_twcc(s, out);
}

void dcgw_sdp_av_mirror(const struct dcgw_sdp *sdp, size_t rtp, struct dcgw_sdp_av *out)
{
    const struct dcgw_sdp_rtp *r = &sdp->rtp[rtp];
    if (!r->usable) {
        av_reject(out, sdp, rtp, r->reason);
        return;
    }
    memset(out, 0, sizeof(*out));
    out->src = sdp;
    out->rtp = (uint8_t)rtp;
    for (unsigned i = 0; i < r->n_codecs; i++) {
        out->codecs |= 1ull << i;
        out->fb[i] = sdp->codecs[r->first_codec + i].fb;
    }
    out->exts = (uint16_t)((1u << r->n_exts) - 1);
    out->dir = r->dir;
    out->rtcp_rsize = r->rtcp_rsize;
    out->streams = sdp;
    out->streams_rtp = (uint8_t)rtp;
}

void dcgw_sdp_answer_alone(const struct dcgw_sdp *sdp, const bool allow[2],
                           struct dcgw_sdp_av out[DCGW_SDP_RTP_MAX])
{
    char why[DCGW_SDP_REASON_SIZE];
    for (size_t i = 0; i < sdp->n_rtp; i++) {
        const struct dcgw_sdp_rtp *r = &sdp->rtp[i];
        if (r->usable && !allow[r->kind]) {
            snprintf(why, sizeof(why), "%s forbidden by policy", kind_names[r->kind]);
            av_reject(&out[i], sdp, i, why);
            continue;
        }
        dcgw_sdp_av_mirror(sdp, i, &out[i]);
        if (out[i].reject)
            continue;
        /* dcgw's direction toward this leg is the mirror of the leg's */
        out[i].dir = dir_of(recvs(r->dir), sends(r->dir));
        out[i].streams = NULL; /* the other leg's streams are not known yet */
    }
}

size_t dcgw_sdp_offer_from(const struct dcgw_sdp_av *answered, size_t n,
                           struct dcgw_sdp_av out[DCGW_SDP_RTP_MAX])
{
    size_t m = 0;
    for (size_t i = 0; i < n && m < DCGW_SDP_RTP_MAX; i++) {
        if (answered[i].reject)
            continue;
        out[m] = answered[i];
        /* what dcgw receives on the answered leg it sends here, and the reverse */
        out[m].dir = dir_of(recvs(answered[i].dir), sends(answered[i].dir));
        out[m].streams = answered[i].src;
        out[m].streams_rtp = answered[i].rtp;
        m++;
    }
    return m;
}

static bool in_bundle(const struct dcgw_sdp *s, const char *mid)
{
    for (size_t i = 0; mid[0] && i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0)
            return true;
    return false;
}

static bool has_transport(const struct dcgw_sdp_rtp *r)
{
    const struct dcgw_sdp_transport *t = &r->transport;
    return t->ice_ufrag[0] && t->ice_pwd[0] && t->n_fingerprints;
}

unsigned dcgw_sdp_assign_transports(struct dcgw_sdp *s, unsigned max, const char *why)
{
    int group_tp = in_bundle(s, s->dc.mid) ? 0 : -1; /* the BUNDLE group's transport */
    bool group_ok = false;                           /* ... has ICE and DTLS parameters */
    unsigned next = 1;
    for (size_t i = 0; i < s->n_rtp; i++) {
        struct dcgw_sdp_rtp *r = &s->rtp[i];
        r->tp = 0;
        if (!r->usable)
            continue;
        unsigned tp;
        if (in_bundle(s, r->mid)) {
            if (group_tp < 0)
                group_tp = (int)next++;
            tp = (unsigned)group_tp;
            group_ok |= has_transport(r);
        } else {
            tp = next++; /* RFC 8843 §7: not bundled, its own transport */
        }
        if (tp >= max || tp > UINT8_MAX) {
            r->usable = false;
            snprintf(r->reason, sizeof(r->reason), "%s", why);
            continue;
        }
        r->tp = (uint8_t)tp;
    }
    /* a group without the data channel whose m-lines all leave their transport to it */
    for (size_t i = 0; group_tp > 0 && !group_ok && i < s->n_rtp; i++) {
        struct dcgw_sdp_rtp *r = &s->rtp[i];
        if (!r->usable || r->tp != group_tp)
            continue;
        r->usable = false;
        r->tp = 0;
        snprintf(r->reason, sizeof(r->reason),
                 "its BUNDLE group has no ICE credentials or fingerprint");
    }
    return next;
}

static bool accepted(const struct dcgw_sdp *s, const struct dcgw_sdp_av *av, size_t n_av, size_t i)
{
    const struct dcgw_sdp_transport *t = &s->rtp[i].transport;
    bool ok = av ? i < n_av && !av[i].reject : s->rtp[i].usable;
    return ok && t->ice_ufrag[0] && t->ice_pwd[0] && t->n_fingerprints;
}

const struct dcgw_sdp_transport *
dcgw_sdp_bundle_transport(const struct dcgw_sdp *s, const struct dcgw_sdp_av *av, size_t n_av)
{
    if (!in_bundle(s, s->dc.mid))
        return &s->dc.transport;
    for (size_t g = 0; g < s->n_bundle; g++) {
        if (strcmp(s->bundle[g], s->dc.mid) == 0)
            return &s->dc.transport;
        for (size_t i = 0; i < s->n_rtp; i++)
            if (strcmp(s->bundle[g], s->rtp[i].mid) == 0 && accepted(s, av, n_av, i))
                return &s->rtp[i].transport;
    }
    return &s->dc.transport;
}

const struct dcgw_sdp_transport *dcgw_sdp_tp_transport(const struct dcgw_sdp *s,
                                                       const struct dcgw_sdp_av *av, size_t n_av,
                                                       unsigned tp)
{
    if (tp == 0)
        return dcgw_sdp_bundle_transport(s, av, n_av);
    /* the first accepted m-line of tp with ICE and DTLS parameters; else, when an m-line of
     * tp is accepted, those of another of its BUNDLE group (one the answer rejects still
     * tells the group's transport, RFC 8843 §7) */
    const struct dcgw_sdp_transport *group = NULL;
    bool any_accepted = false;
    for (size_t i = 0; i < s->n_rtp; i++) {
        const struct dcgw_sdp_rtp *r = &s->rtp[i];
        if (r->tp != tp)
            continue;
        bool ok = av ? i < n_av && !av[i].reject : r->usable;
        if (ok && has_transport(r))
            return &r->transport;
        any_accepted |= ok;
        if (!group && has_transport(r))
            group = &r->transport;
    }
    return any_accepted ? group : NULL;
}
