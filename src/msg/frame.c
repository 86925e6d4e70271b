#include "dcgw/msg/frame.h"

#include <stdlib.h>
#include <string.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/error.h"

enum { INITIAL_CAP = 1024 };

void dcgw_frame_decoder_init(struct dcgw_frame_decoder *d, size_t max_frame)
{
    memset(d, 0, sizeof(*d));
    d->max_frame = max_frame;
}

void dcgw_frame_decoder_dispose(struct dcgw_frame_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

void dcgw_frame_header(uint8_t hdr[4], uint32_t n)
{
    dcgw_put_be32(hdr, n);
}

static int reserve(struct dcgw_frame_decoder *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = d->cap ? d->cap : INITIAL_CAP;
    while (cap < need)
        cap *= 2;
    if (cap > d->max_frame + 4)
        cap = d->max_frame + 4;
    uint8_t *b = realloc(d->buf, cap);
    if (!b)
        return DCGW_ENOMEM;
    d->buf = b;
    d->cap = cap;
    return 0;
}

/* Frames wholly inside the caller's bytes are delivered from there, without a copy;
 * only a frame split across reads is assembled in the buffer. */
int dcgw_frame_feed(struct dcgw_frame_decoder *d, const uint8_t *p, size_t n, dcgw_frame_cb cb,
                    void *ud)
{
    while (n > 0) {
        if (d->len == 0 && n >= 4) {
            uint32_t flen = dcgw_be32(p);
            if (flen > d->max_frame)
                return DCGW_ETOOBIG;
            if (n >= 4 + (size_t)flen) {
                d->frames++;
                int r = cb(ud, p + 4, flen);
                if (r)
                    return r;
                p += 4 + flen;
                n -= 4 + flen;
                continue;
            }
        }
        /* Partial: complete the header first, then the payload. */
        size_t want = 4;
        if (d->len >= 4) {
            uint32_t flen = dcgw_be32(d->buf);
            want = 4 + (size_t)flen;
        }
        int r = reserve(d, want);
        if (r)
            return r;
        size_t take = want - d->len < n ? want - d->len : n;
        memcpy(d->buf + d->len, p, take);
        d->len += take;
        p += take;
        n -= take;
        if (d->len == 4) {
            uint32_t flen = dcgw_be32(d->buf);
            if (flen > d->max_frame)
                return DCGW_ETOOBIG;
            if (flen > 0)
                continue;
        }
        if (d->len >= 4 && d->len == 4 + (size_t)dcgw_be32(d->buf)) {
            d->len = 0;
            d->frames++;
            r = cb(ud, d->buf + 4, dcgw_be32(d->buf));
            if (r)
                return r;
        }
    }
    return 0;
}

size_t dcgw_frame_pending(const struct dcgw_frame_decoder *d)
{
    return d->len;
}
