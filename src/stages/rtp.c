/* RTP/RTCP header parsing and rewriting. See include/dcgw/stages/rtp.h. */
#include "dcgw/stages/rtp.h"

#include <string.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/error.h"

bool dcgw_rtp_is_rtcp(const uint8_t *p, size_t n)
{
    return n >= 2 && p[1] >= 192 && p[1] <= 223;
}

int dcgw_rtp_parse(const uint8_t *p, size_t n, struct dcgw_rtp_hdr *h)
{
    if (!p || n < DCGW_RTP_HEADER_LEN)
        return DCGW_ETRUNC;
    if (p[0] >> 6 != 2) /* RFC 3550 §5.1: version 2 */
        return DCGW_EMALFORMED;
    memset(h, 0, sizeof(*h));
    h->padding = p[0] & 0x20;
    h->cc = p[0] & 0x0f;
    h->marker = p[1] & 0x80;
    h->pt = p[1] & 0x7f;
    h->seq = dcgw_be16(p + 2);
    h->ts = dcgw_be32(p + 4);
    h->ssrc = dcgw_be32(p + 8);
    size_t off = DCGW_RTP_HEADER_LEN + 4u * h->cc;
    if (off > n)
        return DCGW_ETRUNC;
    if (p[0] & 0x10) {
        /* RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words */
        if (off + 4 > n)
            return DCGW_ETRUNC;
        h->ext_profile = dcgw_be16(p + off);
        h->ext_len = 4u * dcgw_be16(p + off + 2);
        h->ext_off = off + 4;
        off = h->ext_off + h->ext_len;
        if (off > n)
            return DCGW_ETRUNC;
        if (h->ext_profile == 0) /* a profile field of 0 would read as "no extension" */
            return DCGW_EMALFORMED;
    }
    h->payload_off = off;
    return 0;
}

int dcgw_rtp_ext_each(const uint8_t *p, const struct dcgw_rtp_hdr *h,
                      bool (*fn)(void *ud, uint8_t id, const uint8_t *v, size_t len), void *ud)
{
    bool one = h->ext_profile == DCGW_RTP_EXT_ONE_BYTE;
    bool two = (h->ext_profile & 0xfff0) == DCGW_RTP_EXT_TWO_BYTE;
    if (!h->ext_profile || (!one && !two))
        return 0;
    const uint8_t *e = p + h->ext_off;
    size_t i = 0, n = h->ext_len;
    while (i < n) {
        if (e[i] == 0) { /* RFC 8285 §4.2/4.3: padding bytes between elements */
            i++;
            continue;
        }
        uint8_t id;
        size_t len;
        if (one) {
            id = e[i] >> 4;
            len = (size_t)(e[i] & 0x0f) + 1;
            if (id == 15) /* RFC 8285 §4.2: id 15 ends the extension; stop reading */
                return 0;
            if (id == 0) /* RFC 8285 §4.2: 0 is a padding byte, never an element's id */
                return DCGW_EMALFORMED;
            i += 1;
        } else {
            if (i + 2 > n)
                return DCGW_EMALFORMED;
            id = e[i];
            len = e[i + 1];
            i += 2;
        }
        if (i + len > n)
            return DCGW_EMALFORMED;
        if (fn && !fn(ud, id, e + i, len))
            return 0;
        i += len;
    }
    return 0;
}

struct find_ctx {
    uint8_t id;
    const uint8_t *v;
    size_t len;
    bool found;
};

static bool find_cb(void *ud, uint8_t id, const uint8_t *v, size_t len)
{
    struct find_ctx *f = ud;
    if (id != f->id)
        return true;
    f->v = v;
    f->len = len;
    f->found = true;
    return false;
}

bool dcgw_rtp_ext_find(const uint8_t *p, const struct dcgw_rtp_hdr *h, uint8_t id,
                       const uint8_t **v, size_t *len)
{
    struct find_ctx f = {.id = id};
    if (!id || dcgw_rtp_ext_each(p, h, find_cb, &f) < 0 || !f.found)
        return false;
    *v = f.v;
    *len = f.len;
    return true;
}

/* ---- rewrite ---- */

struct elem {
    uint8_t id;
    uint8_t len;
    const uint8_t *v;
};

struct collect {
    const struct dcgw_rtp_rewrite *rw;
    struct elem e[32];
    unsigned n;
    bool overflow;
};

static bool collect_cb(void *ud, uint8_t id, const uint8_t *v, size_t len)
{
    struct collect *c = ud;
    const struct dcgw_rtp_rewrite *rw = c->rw;
    struct elem el = {.id = rw->ext_map[id], .len = (uint8_t)len, .v = v};
    if (id == rw->mid_in && rw->mid_in) {
        el.id = rw->mid_out;
        el.len = rw->mid_len;
        el.v = (const uint8_t *)rw->mid;
    }
    if (el.id == 0 || el.len == 0 || len > 255)
        return true; /* dropped: not negotiated on the other leg */
    if (c->n == sizeof(c->e) / sizeof(c->e[0])) {
        c->overflow = true;
        return false;
    }
    c->e[c->n++] = el;
    return true;
}

int dcgw_rtp_rewrite(const uint8_t *p, size_t n, const struct dcgw_rtp_hdr *h,
                     const struct dcgw_rtp_rewrite *rw, uint8_t pt, uint32_t ssrc, uint8_t *out,
                     size_t cap)
{
    struct collect c = {.rw = rw};
    if (dcgw_rtp_ext_each(p, h, collect_cb, &c) < 0 || c.overflow)
        return DCGW_EMALFORMED;
    bool one = true;
    size_t body = 0;
    for (unsigned i = 0; i < c.n; i++) {
        one &= c.e[i].id <= 14 && c.e[i].len <= 16;
        body += c.e[i].len;
    }
    body += c.n * (one ? 1u : 2u);
    size_t ext = c.n ? 4 + ((body + 3) & ~(size_t)3) : 0;
    size_t fixed = DCGW_RTP_HEADER_LEN + 4u * h->cc;
    size_t payload = n - h->payload_off;
    if (fixed + ext + payload > cap)
        return DCGW_ETOOBIG;
    memcpy(out, p, fixed);
    out[0] = (uint8_t)((out[0] & ~0x10) | (c.n ? 0x10 : 0));
    out[1] = (uint8_t)((out[1] & 0x80) | (pt & 0x7f));
    dcgw_put_be32(out + 8, ssrc);
    uint8_t *o = out + fixed;
    if (c.n) {
        dcgw_put_be16(o, one ? DCGW_RTP_EXT_ONE_BYTE : DCGW_RTP_EXT_TWO_BYTE);
        dcgw_put_be16(o + 2, (uint16_t)((ext - 4) / 4));
        size_t k = 4;
        for (unsigned i = 0; i < c.n; i++) {
            if (one) {
                o[k++] = (uint8_t)(c.e[i].id << 4 | (c.e[i].len - 1));
            } else {
                o[k++] = c.e[i].id;
                o[k++] = c.e[i].len;
            }
            memcpy(o + k, c.e[i].v, c.e[i].len);
            k += c.e[i].len;
        }
        memset(o + k, 0, ext - k);
        o += ext;
    }
    memcpy(o, p + h->payload_off, payload);
    return (int)(fixed + ext + payload);
}

/* ---- RTCP ---- */

int dcgw_rtcp_check(const uint8_t *p, size_t n, struct dcgw_rtcp_info *info)
{
    struct dcgw_rtcp_info in = {0};
    size_t off = 0;
    if (!p || n < DCGW_RTCP_HEADER_LEN)
        return DCGW_ETRUNC;
    while (off < n) {
        if (n - off < 4)
            return DCGW_ETRUNC;
        const uint8_t *h = p + off;
        size_t len = 4u * (dcgw_be16(h + 2) + 1u); /* RFC 3550 §6.4.1: length in words minus one */
        if (h[0] >> 6 != 2)
            return DCGW_EMALFORMED;
        if (len > n - off)
            return DCGW_ETRUNC;
        /* RFC 3550 §6.4.1: only the last packet of a compound may be padded */
        if ((h[0] & 0x20) && off + len != n)
            return DCGW_EMALFORMED;
        if (len < DCGW_RTCP_HEADER_LEN && h[1] != DCGW_RTCP_BYE)
            return DCGW_EMALFORMED;
        if (in.packets == 0 && len >= DCGW_RTCP_HEADER_LEN)
            in.sender_ssrc = dcgw_be32(h + 4);
        unsigned fmt = h[0] & 0x1f;
        switch (h[1]) {
        case DCGW_RTCP_SR:
            in.sr++;
            break;
        case DCGW_RTCP_RR:
            in.rr++;
            break;
        case DCGW_RTCP_SDES:
            in.sdes++;
            break;
        case DCGW_RTCP_BYE:
            in.bye++;
            break;
        case DCGW_RTCP_APP:
            in.app++;
            break;
        case DCGW_RTCP_XR:
            in.xr++;
            break;
        case DCGW_RTCP_RTPFB:
            if (fmt == 1)
                in.nack++;
            else if (fmt == 15)
                in.twcc++;
            else
                in.other_fb++;
            break;
        case DCGW_RTCP_PSFB:
            if (fmt == 1)
                in.pli++;
            else if (fmt == 4)
                in.fir++;
            else if (fmt == 15 && len >= 16 && memcmp(h + 12, "REMB", 4) == 0)
                in.remb++;
            else
                in.other_fb++;
            break;
        default:
            break; /* unknown types pass as they are (RFC 3550 §6.1) */
        }
        in.packets++;
        off += len;
    }
    if (info)
        *info = in;
    return 0;
}

static void map_at(uint8_t *p, uint32_t (*map)(void *, uint32_t, enum dcgw_rtcp_role), void *ud,
                   enum dcgw_rtcp_role role)
{
    dcgw_put_be32(p, map(ud, dcgw_be32(p), role));
}

typedef uint32_t (*ssrc_map_fn)(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role);

/* SDES (RFC 3550 §6.5): chunks of an SSRC and items ending with a zero byte, each chunk
 * padded to 32 bits. */
static int map_sdes(uint8_t *h, size_t len, ssrc_map_fn map, void *ud)
{
    size_t off = 4;
    for (unsigned c = 0; c < (h[0] & 0x1fu); c++) {
        if (off + 4 > len)
            return DCGW_EMALFORMED;
        map_at(h + off, map, ud, DCGW_RTCP_SENDER);
        off += 4;
        while (off < len && h[off] != 0) {
            if (off + 2 > len || off + 2 + h[off + 1] > len)
                return DCGW_EMALFORMED;
            off += 2u + h[off + 1];
        }
        off = (off + 4) & ~(size_t)3; /* the end byte, then padding to a word */
        if (off > len)
            return DCGW_EMALFORMED;
    }
    return 0;
}

static int map_psfb(uint8_t *h, size_t len, ssrc_map_fn map, void *ud)
{
    unsigned fmt = h[0] & 0x1f;
    if (fmt == 4) { /* FIR, RFC 5104 §4.3.1.1: entries of SSRC + seq + reserved */
        for (size_t off = 12; off + 8 <= len; off += 8)
            map_at(h + off, map, ud, DCGW_RTCP_MEDIA);
    } else if (fmt == 15 && len >= 20 && memcmp(h + 12, "REMB", 4) == 0) {
        /* draft-alvestrand-rmcat-remb §2.2: num SSRC, BR exp/mantissa, the SSRCs */
        size_t num = h[16];
        if (20 + 4 * num > len)
            return DCGW_EMALFORMED;
        for (size_t i = 0; i < num; i++)
            map_at(h + 20 + 4 * i, map, ud, DCGW_RTCP_MEDIA);
    }
    return 0;
}

static int map_xr(uint8_t *h, size_t len, ssrc_map_fn map, void *ud)
{
    /* RFC 3611 §3: report blocks of BT, type-specific, block length (words) */
    for (size_t off = 8; off + 4 <= len;) {
        size_t blen = 4u + 4u * dcgw_be16(h + off + 2);
        if (off + blen > len)
            return DCGW_EMALFORMED;
        if (h[off] == 5) /* DLRR, RFC 3611 §4.5: sub-blocks of SSRC, LRR, DLRR */
            for (size_t s = off + 4; s + 12 <= off + blen; s += 12)
                map_at(h + s, map, ud, DCGW_RTCP_MEDIA);
        off += blen;
    }
    return 0;
}

static int map_one(uint8_t *h, size_t len, ssrc_map_fn map, void *ud)
{
    unsigned count = h[0] & 0x1f;
    switch (h[1]) {
    case DCGW_RTCP_SR:
    case DCGW_RTCP_RR: {
        size_t first = h[1] == DCGW_RTCP_SR ? 28 : 8; /* RFC 3550 §6.4.1: 20 bytes sender info */
        if (first + 24u * count > len)
            return DCGW_EMALFORMED;
        map_at(h + 4, map, ud, DCGW_RTCP_SENDER);
        for (unsigned i = 0; i < count; i++)
            map_at(h + first + 24 * i, map, ud, DCGW_RTCP_MEDIA);
        return 0;
    }
    case DCGW_RTCP_SDES:
        return map_sdes(h, len, map, ud);
    case DCGW_RTCP_BYE:
        if (4 + 4u * count > len)
            return DCGW_EMALFORMED;
        for (unsigned i = 0; i < count; i++)
            map_at(h + 4 + 4 * i, map, ud, DCGW_RTCP_SENDER);
        return 0;
    case DCGW_RTCP_APP:
        map_at(h + 4, map, ud, DCGW_RTCP_SENDER);
        return 0;
    case DCGW_RTCP_RTPFB:
    case DCGW_RTCP_PSFB:
        /* RFC 4585 §6.1: sender SSRC, media source SSRC, FCI */
        if (len < 12)
            return DCGW_EMALFORMED;
        map_at(h + 4, map, ud, DCGW_RTCP_SENDER);
        map_at(h + 8, map, ud, DCGW_RTCP_MEDIA);
        if (h[1] == DCGW_RTCP_RTPFB && (count == 3 || count == 4)) /* TMMBR/TMMBN, RFC 5104 */
            for (size_t off = 12; off + 8 <= len; off += 8)
                map_at(h + off, map, ud, DCGW_RTCP_MEDIA);
        return h[1] == DCGW_RTCP_PSFB ? map_psfb(h, len, map, ud) : 0;
    case DCGW_RTCP_XR:
        map_at(h + 4, map, ud, DCGW_RTCP_SENDER);
        return map_xr(h, len, map, ud);
    default:
        return 0;
    }
}

int dcgw_rtcp_map_ssrcs(uint8_t *p, size_t n, ssrc_map_fn map, void *ud)
{
    int rc = dcgw_rtcp_check(p, n, NULL);
    if (rc < 0)
        return rc;
    for (size_t off = 0; off < n;) {
        uint8_t *h = p + off;
        size_t len = 4u * (dcgw_be16(h + 2) + 1u);
        /* padding (last packet only) is not part of the packet's fields */
        size_t body = (h[0] & 0x20) && len > 4 && h[len - 1] < len ? len - h[len - 1] : len;
        if ((rc = map_one(h, body, map, ud)) < 0)
            return rc;
        off += len;
    }
    return 0;
}
