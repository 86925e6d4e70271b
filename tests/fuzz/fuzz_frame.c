/* Control frames: the stream decoder fed in pieces, each payload unpacked as a Frame
 * and rendered as JSON (what the master and dcgwctl do with what they read). */
#include <stddef.h>
#include <stdint.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/frame.h"
#include "dcgw/msg/pbjson.h"

static int on_frame(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (f) {
        json_t *j = dcgw_pb_to_json(&f->base);
        json_decref(j);
        dcgw__frame__free_unpacked(f, NULL);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte picks the read size, so frame splits are explored too. */
    size_t step = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    struct dcgw_frame_decoder d;
    dcgw_frame_decoder_init(&d, 4096);
    for (size_t off = 0; off < size; off += step) {
        size_t k = off + step <= size ? step : size - off;
        if (dcgw_frame_feed(&d, data + off, k, on_frame, NULL) < 0)
            break;
    }
    dcgw_frame_decoder_dispose(&d);
    return 0;
}
