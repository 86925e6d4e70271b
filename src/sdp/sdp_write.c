/* SDP writer for dcgw's side of a data channel, and the small helpers that go with it
 * (random ICE credentials and tls-id, the answerer's a=setup). See include/dcgw/sdp/sdp.h. */
#include "dcgw/sdp/sdp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "sdp_write_int.h"

/* ---- names and small helpers ---- */

const char *dcgw_sdp_setup_name(enum dcgw_sdp_setup s)
{
    switch (s) {
    case DCGW_SDP_SETUP_ACTIVE:
        return "active";
    case DCGW_SDP_SETUP_PASSIVE:
        return "passive";
    case DCGW_SDP_SETUP_ACTPASS:
        return "actpass";
    case DCGW_SDP_SETUP_HOLDCONN:
        return "holdconn";
    default:
        return "none";
    }
}

const char *dcgw_sdp_cand_type_name(enum dcgw_sdp_cand_type t)
{
    switch (t) {
    case DCGW_SDP_CAND_SRFLX:
        return "srflx";
    case DCGW_SDP_CAND_PRFLX:
        return "prflx";
    case DCGW_SDP_CAND_RELAY:
        return "relay";
    default:
        return "host";
    }
}

enum dcgw_sdp_setup dcgw_sdp_answer_setup(enum dcgw_sdp_setup offered, enum dcgw_sdp_setup prefer)
{
    switch (offered) {
    case DCGW_SDP_SETUP_ACTPASS:
        /* RFC 5763 §5: the answerer picks active or passive; active is RECOMMENDED */
        return prefer == DCGW_SDP_SETUP_PASSIVE ? DCGW_SDP_SETUP_PASSIVE : DCGW_SDP_SETUP_ACTIVE;
    case DCGW_SDP_SETUP_PASSIVE:
        return DCGW_SDP_SETUP_ACTIVE;
    case DCGW_SDP_SETUP_HOLDCONN:
        return DCGW_SDP_SETUP_HOLDCONN;
    case DCGW_SDP_SETUP_ACTIVE:
    default:
        /* RFC 4145 §4: an absent a=setup means active */
        return DCGW_SDP_SETUP_PASSIVE;
    }
}

/* n characters drawn uniformly from a 64-character alphabet (6 random bits each). */
static int random_chars(char *buf, size_t cap, size_t n, const char alphabet[64])
{
    unsigned char rnd[64];
    if (cap < n + 1)
        return DCGW_ETOOBIG;
    if (n > sizeof(rnd))
        return DCGW_EINVAL;
    if (RAND_bytes(rnd, (int)n) != 1)
        return DCGW_EINTERNAL;
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet[rnd[i] & 63];
    buf[n] = '\0';
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return 0;
}

static const char ice_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/* Upper-case hex, each digit 4 times (4 uniform bits a character): a subset of RFC 8842's
 * tls-id characters that also fits TS 29.571's DcEndpoint.tlsId pattern, so the tls-id
 * dcgw writes in SDP can be given unchanged through Nmf_MRM (docs/nmf-mrm.md). */
static const char tls_id_alphabet[64] = "0123456789ABCDEF0123456789ABCDEF"
                                        "0123456789ABCDEF0123456789ABCDEF";

int dcgw_sdp_ice_credentials(char *ufrag, size_t ufrag_cap, char *pwd, size_t pwd_cap)
{
    /* RFC 8839 §5.4: ufrag >= 24 random bits, pwd >= 128 random bits */
    if (ufrag_cap < DCGW_SDP_GEN_UFRAG_LEN + 1 || pwd_cap < DCGW_SDP_GEN_PWD_LEN + 1)
        return DCGW_ETOOBIG;
    int rc = random_chars(ufrag, ufrag_cap, DCGW_SDP_GEN_UFRAG_LEN, ice_alphabet);
    return rc ? rc : random_chars(pwd, pwd_cap, DCGW_SDP_GEN_PWD_LEN, ice_alphabet);
}

int dcgw_sdp_tls_id(char *buf, size_t cap)
{
    return random_chars(buf, cap, DCGW_SDP_GEN_TLS_ID_LEN, tls_id_alphabet);
}

void dcgw_sdp_local_init(struct dcgw_sdp_local *l)
{
    memset(l, 0, sizeof(*l));
    l->sess_version = 1;
    l->setup = DCGW_SDP_SETUP_PASSIVE;
    l->sctp_port = DCGW_SDP_DEFAULT_SCTP_PORT;
    l->max_message_size = DCGW_MAX_MESSAGE_SIZE_DEFAULT;
}

/* ---- shared with sdp_write_av.c (sdp_write_int.h) ---- */

bool dcgw__sdp_is_token(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

bool dcgw__sdp_is_line_safe(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
    return true;
}

void dcgw__sdp_put(struct dcgw__sdp_out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

void dcgw__sdp_addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap, uint16_t *port)
{
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
        *port = ntohs(sin->sin_port);
        snprintf(buf, cap, "IP4 %s", ip);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
        *port = ntohs(sin6->sin6_port);
        snprintf(buf, cap, "IP6 %s", ip);
    }
}

void dcgw__sdp_put_candidates(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l)
{
    for (size_t i = 0; i < l->n_addrs; i++) {
        /* RFC 8445 §5.1.2.1: host type preference 126, descending local preference */
        uint32_t prio = (126u << 24) | ((uint32_t)(65535 - i) << 8) | (256 - 1);
        char ip[8 + INET6_ADDRSTRLEN];
        uint16_t port;
        dcgw__sdp_addr_text(&l->addrs[i], ip, sizeof(ip), &port);
        dcgw__sdp_put(o, "a=candidate:%zu 1 udp %u %s %u typ host\r\n", i + 1, prio, ip + 4, port);
    }
    /* RFC 8840 §8.2: a lite agent has gathered everything it will offer */
    dcgw__sdp_put(o, "a=end-of-candidates\r\n");
}

void dcgw__sdp_put_transport(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l,
                             const char *ufrag, const char *pwd, enum dcgw_sdp_setup setup,
                             bool tls_id)
{
    char fp[16 + DCGW_FINGERPRINT_TEXT_MAX];
    dcgw__sdp_put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd);
    for (size_t i = 0; i < l->n_fingerprints; i++) {
        if (dcgw_fingerprint_format(&l->fingerprints[i], fp, sizeof(fp)) < 0)
            o->full = true;
        dcgw__sdp_put(o, "a=fingerprint:%s\r\n", fp);
    }
    dcgw__sdp_put(o, "a=setup:%s\r\n", dcgw_sdp_setup_name(setup));
    if (tls_id && l->tls_id[0])
        dcgw__sdp_put(o, "a=tls-id:%s\r\n", l->tls_id);
}

/* ---- validation of what goes on the wire ---- */

static bool in_set(const char *s, size_t min, size_t max, const char *extra)
{
    size_t n = strnlen(s, max + 1);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return false;
    }
    return true;
}

static bool local_valid(const struct dcgw_sdp_local *l)
{
    /* RFC 8839 §5.4 lengths; RFC 8842 §4 for tls-id */
    if (!in_set(l->ice_ufrag, 4, 256, "+/") || !in_set(l->ice_pwd, 22, 256, "+/") ||
        (l->tls_id[0] && !in_set(l->tls_id, 20, 255, "+/-_")) || l->sctp_port == 0)
        return false;
    if (l->n_addrs == 0 || l->n_addrs > DCGW_SDP_LOCAL_ADDRS_MAX)
        return false;
    for (size_t i = 0; i < l->n_addrs; i++) {
        const struct sockaddr_storage *a = &l->addrs[i];
        if (a->ss_family == AF_INET    ? ((const struct sockaddr_in *)a)->sin_port == 0
            : a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port == 0
                                       : true)
            return false;
    }
    if (l->n_fingerprints == 0 || l->n_fingerprints > DCGW_SDP_FINGERPRINTS_MAX)
        return false;
    for (size_t i = 0; i < l->n_fingerprints; i++)
        if (l->fingerprints[i].alg == DCGW_HASH_NONE ||
            l->fingerprints[i].len != dcgw_hash_len(l->fingerprints[i].alg))
            return false;
    if (l->n_dcmap > DCGW_SDP_DCMAP_MAX || l->n_dcsa > DCGW_SDP_DCSA_MAX ||
        (l->n_dcmap && !l->dcmap) || (l->n_dcsa && !l->dcsa))
        return false;
    for (size_t i = 0; i < l->n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *m = &l->dcmap[i];
        if (m->stream_id > DCGW_SDP_STREAM_ID_MAX || (m->has_max_retr && m->has_max_time) ||
            !memchr(m->label, 0, sizeof(m->label)) ||
            !memchr(m->subprotocol, 0, sizeof(m->subprotocol)))
            return false;
        for (size_t j = 0; j < i; j++)
            if (l->dcmap[j].stream_id == m->stream_id)
                return false;
    }
    for (size_t i = 0; i < l->n_dcsa; i++) {
        const struct dcgw_sdp_dcsa *a = &l->dcsa[i];
        bool found = false;
        for (size_t j = 0; j < l->n_dcmap && !found; j++)
            found = l->dcmap[j].stream_id == a->stream_id;
        if (!found || !memchr(a->attr, 0, sizeof(a->attr)) || !a->attr[0] ||
            !dcgw__sdp_is_line_safe(a->attr))
            return false;
    }
    return true;
}

/* ---- output ---- */

/* Quoted dcmap string: '"', '%' and control bytes as %HH (RFC 8864 §5.1). */
static void put_quoted(struct dcgw__sdp_out *o, const char *s)
{
    dcgw__sdp_put(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '%' || c < 0x20 || c == 0x7f)
            dcgw__sdp_put(o, "%%%02X", c);
        else
            dcgw__sdp_put(o, "%c", c);
    }
    dcgw__sdp_put(o, "\"");
}

/* bundle: the BUNDLE group's mids, space-separated ("": no group); lite: a=ice-lite. */
static void put_session(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l, const char *bundle,
                        bool lite)
{
    char addr[8 + INET6_ADDRSTRLEN];
    uint16_t port;
    dcgw__sdp_addr_text(&l->addrs[0], addr, sizeof(addr), &port);
    /* RFC 4566 §5: the session-level c= line comes before t= and the a= lines. */
    dcgw__sdp_put(o, "v=0\r\no=- %llu %llu IN %s\r\ns=-\r\nc=IN %s\r\nt=0 0\r\n",
                  (unsigned long long)l->sess_id, (unsigned long long)l->sess_version, addr, addr);
    /* RFC 8839 §5.3: ICE-lite is declared at session level */
    if (lite)
        dcgw__sdp_put(o, "a=ice-lite\r\n");
    if (bundle[0])
        dcgw__sdp_put(o, "a=group:BUNDLE %s\r\n", bundle);
}

static void put_dcmap(struct dcgw__sdp_out *o, const struct dcgw_sdp_dcmap *m)
{
    dcgw__sdp_put(o, "a=dcmap:%u", m->stream_id);
    const char *sep = " ";
    if (m->label[0]) {
        dcgw__sdp_put(o, "%slabel=", sep);
        put_quoted(o, m->label);
        sep = ";";
    }
    if (m->subprotocol[0]) {
        dcgw__sdp_put(o, "%ssubprotocol=", sep);
        put_quoted(o, m->subprotocol);
        sep = ";";
    }
    if (m->has_ordered) {
        dcgw__sdp_put(o, "%sordered=%s", sep, m->ordered ? "true" : "false");
        sep = ";";
    }
    if (m->has_max_retr) {
        dcgw__sdp_put(o, "%smax-retr=%u", sep, m->max_retr);
        sep = ";";
    }
    if (m->has_max_time) {
        dcgw__sdp_put(o, "%smax-time=%u", sep, m->max_time);
        sep = ";";
    }
    if (m->has_priority)
        dcgw__sdp_put(o, "%spriority=%u", sep, m->priority);
    dcgw__sdp_put(o, "\r\n");
}

/* The data-channel m-section. legacy_streams > 0 selects the legacy form. */
static void put_dc(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l, const char *mid,
                   enum dcgw_sdp_setup setup, uint16_t legacy_streams)
{
    char addr[8 + INET6_ADDRSTRLEN];
    uint16_t port;
    dcgw__sdp_addr_text(&l->addrs[0], addr, sizeof(addr), &port);
    if (legacy_streams)
        dcgw__sdp_put(o, "m=application %u DTLS/SCTP %u\r\n", port, l->sctp_port);
    else
        dcgw__sdp_put(o, "m=application %u UDP/DTLS/SCTP webrtc-datachannel\r\n", port);
    if (mid[0])
        dcgw__sdp_put(o, "a=mid:%s\r\n", mid);
    dcgw__sdp_put_transport(o, l, l->ice_ufrag, l->ice_pwd, setup, true);
    if (legacy_streams)
        dcgw__sdp_put(o, "a=sctpmap:%u webrtc-datachannel %u\r\n", l->sctp_port, legacy_streams);
    else
        dcgw__sdp_put(o, "a=sctp-port:%u\r\n", l->sctp_port);
    dcgw__sdp_put(o, "a=max-message-size:%u\r\n", l->max_message_size);
    dcgw__sdp_put_candidates(o, l);
    for (size_t i = 0; i < l->n_dcmap; i++)
        put_dcmap(o, &l->dcmap[i]);
    for (size_t i = 0; i < l->n_dcsa; i++)
        dcgw__sdp_put(o, "a=dcsa:%u %s\r\n", l->dcsa[i].stream_id, l->dcsa[i].attr);
}

static int finish(struct dcgw__sdp_out *o)
{
    if (o->full || o->len > DCGW_SDP_TEXT_MAX)
        return DCGW_ETOOBIG;
    return (int)o->len;
}

static bool answer_valid(const struct dcgw_sdp *offer, const struct dcgw_sdp_local *local)
{
    if (!local_valid(local) ||
        (local->setup != DCGW_SDP_SETUP_ACTIVE && local->setup != DCGW_SDP_SETUP_PASSIVE &&
         local->setup != DCGW_SDP_SETUP_HOLDCONN) ||
        offer->n_media == 0 || offer->n_media > DCGW_SDP_MEDIA_MAX ||
        offer->dc.media_index >= offer->n_media || offer->n_rtp > DCGW_SDP_RTP_MAX ||
        (local->n_av && (local->n_av != offer->n_rtp || !local->av)))
        return false;
    const struct dcgw_sdp_dc *dc = &offer->dc;
    if (dc->mid[0] && !dcgw__sdp_is_token(dc->mid, sizeof(dc->mid)))
        return false;
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct dcgw_sdp_media *m = &offer->media[i];
        if (i != dc->media_index && (!dcgw__sdp_is_token(m->media, sizeof(m->media)) ||
                                     !dcgw__sdp_is_token(m->proto, sizeof(m->proto)) ||
                                     !dcgw__sdp_is_token(m->fmt, sizeof(m->fmt)) ||
                                     (m->mid[0] && !dcgw__sdp_is_token(m->mid, sizeof(m->mid))) ||
                                     m->rtp >= (int)offer->n_rtp))
            return false;
    }
    for (size_t i = 0; i < local->n_av; i++)
        if (!dcgw__sdp_av_valid(&local->av[i]))
            return false;
    return true;
}

/* The answer's audio/video description of offer m-line m, NULL when it is rejected. */
static const struct dcgw_sdp_av *answer_av(const struct dcgw_sdp_local *l,
                                           const struct dcgw_sdp_media *m)
{
    if (m->rtp < 0 || (size_t)m->rtp >= l->n_av || l->av[m->rtp].reject)
        return NULL;
    return &l->av[m->rtp];
}

int dcgw_sdp_write_answer(const struct dcgw_sdp *offer, const struct dcgw_sdp_local *local,
                          char *buf, size_t cap)
{
    if (!offer || !local || !buf || !answer_valid(offer, local))
        return DCGW_EINVAL;
    if (cap == 0)
        return DCGW_ETOOBIG;
    const struct dcgw_sdp_dc *dc = &offer->dc;
    /* RFC 8843 §7.3: the accepted m-lines the offer bundled, in its group's order;
     * rejected ones leave the group */
    char group[DCGW_SDP_BUNDLE_MAX * DCGW_SDP_MID_SIZE] = "";
    for (size_t g = 0; g < offer->n_bundle; g++) {
        for (size_t i = 0; i < offer->n_media; i++) {
            const struct dcgw_sdp_media *m = &offer->media[i];
            const char *mid = i == dc->media_index ? dc->mid : m->mid;
            if (!mid[0] || strcmp(mid, offer->bundle[g]) != 0 ||
                (i != dc->media_index && !answer_av(local, m)))
                continue;
            size_t n = strlen(group);
            snprintf(group + n, sizeof(group) - n, "%s%s", n ? " " : "", mid);
            break;
        }
    }
    struct dcgw__sdp_out o = {.buf = buf, .cap = cap};
    put_session(&o, local, group, true);
    for (size_t i = 0; i < offer->n_media; i++) {
        const struct dcgw_sdp_media *m = &offer->media[i];
        if (i == dc->media_index) {
            uint16_t streams = 0;
            if (dc->legacy)
                streams = dc->legacy_streams ? dc->legacy_streams : DCGW_SDP_DEFAULT_LEGACY_STREAMS;
            put_dc(&o, local, dc->mid, local->setup, streams);
            continue;
        }
        if (m->rtp >= 0 && (size_t)m->rtp < local->n_av) {
            dcgw__sdp_put_av(&o, local, &local->av[m->rtp], m->media, m->mid, m->fmt);
            continue;
        }
        /* RFC 3264 §6: every offered m-line is answered; port 0 rejects it */
        dcgw__sdp_put(&o, "m=%s 0 %s %s\r\n", m->media, m->proto, m->fmt);
        if (m->mid[0])
            dcgw__sdp_put(&o, "a=mid:%s\r\n", m->mid);
    }
    return finish(&o);
}

static const char *av_mid(const struct dcgw_sdp_av *av)
{
    return av->src->rtp[av->rtp].mid;
}

static bool offer_valid(const struct dcgw_sdp_local *local, const char *dc_mid)
{
    if (!local_valid(local) ||
        (local->mid[0] && !dcgw__sdp_is_token(local->mid, sizeof(local->mid))) ||
        local->n_av > DCGW_SDP_RTP_MAX || (local->n_av && !local->av) ||
        local->dc_index > local->n_av)
        return false;
    for (size_t i = 0; i < local->n_av; i++) {
        const struct dcgw_sdp_av *av = &local->av[i];
        /* RFC 8843 §7.2: every m-line of the offer's group has a mid, all distinct */
        if (!dcgw__sdp_av_valid(av) || av->reject || !av_mid(av)[0] ||
            strcmp(av_mid(av), dc_mid) == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(av_mid(&local->av[j]), av_mid(av)) == 0)
                return false;
    }
    return true;
}

int dcgw_sdp_write_offer(const struct dcgw_sdp_local *local, char *buf, size_t cap)
{
    const char *mid = local && local->mid[0] ? local->mid : "0";
    if (!local || !buf || !offer_valid(local, mid))
        return DCGW_EINVAL;
    if (cap == 0)
        return DCGW_ETOOBIG;
    char group[DCGW_SDP_BUNDLE_MAX * DCGW_SDP_MID_SIZE] = "";
    for (size_t i = 0; i <= local->n_av; i++) {
        size_t n = strlen(group);
        if (i == local->dc_index)
            snprintf(group + n, sizeof(group) - n, "%s%s", n ? " " : "", mid);
        n = strlen(group);
        if (i < local->n_av)
            snprintf(group + n, sizeof(group) - n, "%s%s", n ? " " : "", av_mid(&local->av[i]));
    }
    struct dcgw__sdp_out o = {.buf = buf, .cap = cap};
    put_session(&o, local, group, true);
    for (size_t i = 0; i <= local->n_av; i++) {
        /* RFC 5763 §5: the offerer uses actpass */
        if (i == local->dc_index)
            put_dc(&o, local, mid, DCGW_SDP_SETUP_ACTPASS, 0);
        if (i < local->n_av) {
            const struct dcgw_sdp_av *av = &local->av[i];
            const struct dcgw_sdp_rtp *r = &av->src->rtp[av->rtp];
            dcgw__sdp_put_av(&o, local, av, r->kind == DCGW_SDP_KIND_AUDIO ? "audio" : "video",
                             av_mid(av), "");
        }
    }
    return finish(&o);
}

int dcgw_sdp_write_described(const struct dcgw_sdp_local *peer, char *buf, size_t cap)
{
    if (!peer || !buf || !local_valid(peer) ||
        (peer->mid[0] && !dcgw__sdp_is_token(peer->mid, sizeof(peer->mid))) ||
        peer->setup == DCGW_SDP_SETUP_NONE)
        return DCGW_EINVAL;
    if (cap == 0)
        return DCGW_ETOOBIG;
    const char *mid = peer->mid[0] ? peer->mid : "0";
    struct dcgw__sdp_out o = {.buf = buf, .cap = cap};
    put_session(&o, peer, mid, false);
    put_dc(&o, peer, mid, peer->setup, 0);
    return finish(&o);
}
