/* DCEP (RFC 8832) codec and PPID classification (RFC 8831 §8). */
#include "dcgw/stages/dcep.h"

#include <string.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/error.h"

bool dcgw_dcep_channel_type_valid(uint8_t t)
{
    switch (t) {
    case DCGW_DCEP_RELIABLE:
    case DCGW_DCEP_PARTIAL_RELIABLE_REXMIT:
    case DCGW_DCEP_PARTIAL_RELIABLE_TIMED:
    case DCGW_DCEP_RELIABLE_UNORDERED:
    case DCGW_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED:
    case DCGW_DCEP_PARTIAL_RELIABLE_TIMED_UNORDERED:
        return true;
    default:
        return false;
    }
}

bool dcgw_dcep_channel_type_ordered(uint8_t t)
{
    return (t & DCGW_DCEP_UNORDERED_BIT) == 0;
}

enum dcgw_ppid_class dcgw_ppid_classify(uint32_t ppid)
{
    switch (ppid) {
    case DCGW_PPID_DCEP:
        return DCGW_PPID_CLASS_DCEP;
    case DCGW_PPID_STRING:
        return DCGW_PPID_CLASS_TEXT;
    case DCGW_PPID_BINARY:
        return DCGW_PPID_CLASS_BINARY;
    case DCGW_PPID_STRING_EMPTY:
        return DCGW_PPID_CLASS_TEXT_EMPTY;
    case DCGW_PPID_BINARY_EMPTY:
        return DCGW_PPID_CLASS_BINARY_EMPTY;
    case DCGW_PPID_BINARY_PARTIAL:
    case DCGW_PPID_STRING_PARTIAL:
        return DCGW_PPID_CLASS_DEPRECATED;
    default:
        return DCGW_PPID_CLASS_UNKNOWN;
    }
}

bool dcgw_dcep_string_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp, min;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* RFC 8832 §5.1: DATA_CHANNEL_OPEN. */
static int decode_open(const uint8_t *p, size_t n, struct dcgw_dcep_open *o)
{
    if (n < DCGW_DCEP_OPEN_HEADER)
        return DCGW_ETRUNC;
    o->channel_type = p[1];
    o->priority = dcgw_be16(p + 2);
    o->reliability = dcgw_be32(p + 4);
    o->label_len = dcgw_be16(p + 8);
    o->protocol_len = dcgw_be16(p + 10);
    if (!dcgw_dcep_channel_type_valid(o->channel_type))
        return DCGW_EUNSUPPORTED;
    size_t want = (size_t)DCGW_DCEP_OPEN_HEADER + o->label_len + o->protocol_len;
    if (n < want)
        return DCGW_ETRUNC;
    if (n > want)
        return DCGW_EMALFORMED; /* trailing bytes: nobody pads DCEP */
    if (o->label_len > DCGW_DCEP_LABEL_MAX || o->protocol_len > DCGW_DCEP_PROTOCOL_MAX)
        return DCGW_ETOOBIG;
    o->label = p + DCGW_DCEP_OPEN_HEADER;
    o->protocol = o->label + o->label_len;
    if (!dcgw_dcep_string_ok(o->label, o->label_len) ||
        !dcgw_dcep_string_ok(o->protocol, o->protocol_len))
        return DCGW_EMALFORMED;
    /* §5.1: for reliable channel types the reliability parameter is ignored */
    if ((o->channel_type & ~DCGW_DCEP_UNORDERED_BIT) == DCGW_DCEP_RELIABLE)
        o->reliability = 0;
    return 0;
}

int dcgw_dcep_decode(const uint8_t *p, size_t n, struct dcgw_dcep_msg *out)
{
    if (!p || n == 0)
        return DCGW_ETRUNC;
    memset(out, 0, sizeof(*out));
    switch (p[0]) {
    case DCGW_DCEP_OPEN:
        out->type = DCGW_DCEP_OPEN;
        return decode_open(p, n, &out->open);
    case DCGW_DCEP_ACK:
        /* RFC 8832 §5.2: the ACK is the message type byte alone */
        out->type = DCGW_DCEP_ACK;
        return n == DCGW_DCEP_ACK_LEN ? 0 : DCGW_EMALFORMED;
    default:
        return DCGW_EUNSUPPORTED;
    }
}

int dcgw_dcep_encode_open(const struct dcgw_dcep_open *o, uint8_t *buf, size_t cap, size_t *len)
{
    if (!dcgw_dcep_channel_type_valid(o->channel_type) || o->label_len > DCGW_DCEP_LABEL_MAX ||
        o->protocol_len > DCGW_DCEP_PROTOCOL_MAX || (o->label_len && !o->label) ||
        (o->protocol_len && !o->protocol))
        return DCGW_EINVAL;
    size_t need = (size_t)DCGW_DCEP_OPEN_HEADER + o->label_len + o->protocol_len;
    if (cap < need)
        return DCGW_ERANGE;
    buf[0] = DCGW_DCEP_OPEN;
    buf[1] = o->channel_type;
    dcgw_put_be16(buf + 2, o->priority);
    bool reliable = (o->channel_type & ~DCGW_DCEP_UNORDERED_BIT) == DCGW_DCEP_RELIABLE;
    dcgw_put_be32(buf + 4, reliable ? 0 : o->reliability);
    dcgw_put_be16(buf + 8, o->label_len);
    dcgw_put_be16(buf + 10, o->protocol_len);
    if (o->label_len)
        memcpy(buf + DCGW_DCEP_OPEN_HEADER, o->label, o->label_len);
    if (o->protocol_len)
        memcpy(buf + DCGW_DCEP_OPEN_HEADER + o->label_len, o->protocol, o->protocol_len);
    *len = need;
    return 0;
}

int dcgw_dcep_encode_ack(uint8_t *buf, size_t cap, size_t *len)
{
    if (cap < DCGW_DCEP_ACK_LEN)
        return DCGW_ERANGE;
    buf[0] = DCGW_DCEP_ACK;
    *len = DCGW_DCEP_ACK_LEN;
    return 0;
}
