/* First-byte demultiplexing (RFC 7983 §7) and the STUN framing check. */
#include "dcgw/stages/demux.h"

#include "dcgw/base/bytes.h"

enum dcgw_demux_kind dcgw_demux_classify(const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return DCGW_DEMUX_UNKNOWN;
    uint8_t b = p[0];
    /* RFC 7983 §7: [0..3] STUN, [16..19] ZRTP, [20..63] DTLS, [64..79] TURN channel,
     * [128..191] RTP/RTCP; everything else is dropped. */
    if (b <= 3)
        return DCGW_DEMUX_STUN;
    if (b >= 20 && b <= 63)
        return DCGW_DEMUX_DTLS;
    if (b >= 128 && b <= 191)
        return DCGW_DEMUX_RTP;
    return DCGW_DEMUX_UNKNOWN;
}

bool dcgw_demux_stun_sane(const uint8_t *p, size_t n)
{
    if (!p || n < DCGW_STUN_HEADER_LEN || n > DCGW_STUN_MSG_MAX)
        return false;
    /* RFC 8489 §5: the two most significant bits of every STUN message are zero. */
    if (p[0] & 0xc0)
        return false;
    size_t len = dcgw_be16(p + 2);
    /* RFC 8489 §5: the length excludes the header and is a multiple of 4. */
    if (len % 4 != 0 || len + DCGW_STUN_HEADER_LEN != n)
        return false;
    return dcgw_be32(p + 4) == DCGW_STUN_MAGIC_COOKIE;
}

enum dcgw_demux_kind dcgw_demux_packet(struct dcgw_demux_stats *st, const uint8_t *p, size_t n)
{
    struct dcgw_demux_stats dummy = {0};
    if (!st)
        st = &dummy;
    st->packets++;
    enum dcgw_demux_kind k = dcgw_demux_classify(p, n);
    switch (k) {
    case DCGW_DEMUX_STUN:
        if (dcgw_demux_stun_sane(p, n)) {
            st->stun++;
            return DCGW_DEMUX_STUN;
        }
        st->stun_bad++;
        break;
    case DCGW_DEMUX_DTLS:
        st->dtls++;
        return DCGW_DEMUX_DTLS;
    case DCGW_DEMUX_RTP:
        st->rtp++;
        return DCGW_DEMUX_RTP;
    case DCGW_DEMUX_UNKNOWN:
        if (n == 0)
            st->empty++;
        break;
    }
    st->unknown++;
    return DCGW_DEMUX_UNKNOWN;
}

const char *dcgw_demux_kind_name(enum dcgw_demux_kind k)
{
    switch (k) {
    case DCGW_DEMUX_STUN:
        return "stun";
    case DCGW_DEMUX_DTLS:
        return "dtls";
    case DCGW_DEMUX_RTP:
        return "rtp";
    case DCGW_DEMUX_UNKNOWN:
        break;
    }
    return "unknown";
}
