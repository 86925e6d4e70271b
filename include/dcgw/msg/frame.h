/* Control framing: a 4-byte big-endian length, then that many bytes of payload (one
 * serialized dcgw.Frame). The decoder reassembles frames from arbitrary stream reads
 * into one bounded buffer: it grows with the largest frame seen, never past max_frame. */
#ifndef DCGW_FRAME_H
#define DCGW_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct dcgw_frame_decoder {
    uint8_t *buf;
    size_t len, cap;
    size_t max_frame; /* largest payload accepted */
    uint64_t frames;  /* frames delivered */
};

/* Called once per complete payload; the bytes are valid only during the call. A non-zero
 * return stops decoding and is returned by dcgw_frame_feed (e.g. the connection closed). */
typedef int (*dcgw_frame_cb)(void *ud, const uint8_t *payload, size_t n);

void dcgw_frame_decoder_init(struct dcgw_frame_decoder *d, size_t max_frame);
void dcgw_frame_decoder_dispose(struct dcgw_frame_decoder *d);
/* Feeds stream bytes. Returns 0; DCGW_ETOOBIG when a frame announces more than max_frame
 * (the stream cannot be resynchronised: close it); DCGW_ENOMEM; or cb's non-zero value. */
int dcgw_frame_feed(struct dcgw_frame_decoder *d, const uint8_t *p, size_t n, dcgw_frame_cb cb,
                    void *ud);
/* Bytes held for an incomplete frame. */
size_t dcgw_frame_pending(const struct dcgw_frame_decoder *d);
/* Writes the 4-byte header for a payload of n bytes. */
void dcgw_frame_header(uint8_t hdr[4], uint32_t n);

#endif
