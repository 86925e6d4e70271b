/* What the libFuzzer targets share: quiet logs, a reader of the fuzzer's input, the check
 * that aborts, dcgw's side of an SDP answer. */
#ifndef DCGW_FUZZ_HELPER_H
#define DCGW_FUZZ_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "dcgw/sdp/sdp.h"

/* dcgw's logs at errors only: a target's inputs are bad on purpose. */
void fuzz_quiet_logs(void);

/* Aborts (a finding) unless cond holds. */
void fuzz_check(int cond);

/* dcgw's side of an answer to offer o, with fixed credentials, address and fingerprint
 * (a target must be deterministic): dcgw_sdp_local as the worker fills it. */
void fuzz_sdp_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *o);

/* The input, read from the front; a read past its end gives zeros and empty runs. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

uint8_t fuzz_u8(struct fuzz_in *in);
/* [length byte][bytes], clipped to what is left: points into the input, *n its size. */
const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t *n);
/* [2-byte big-endian length][bytes], clipped to what is left and to cap, copied to dst
 * (what cap cut off stays in the input). Returns the size copied. */
size_t fuzz_blob(struct fuzz_in *in, uint8_t *dst, size_t cap);
/* [2-byte big-endian length][bytes], clipped to what is left: points into the input, *n
 * its size. */
const uint8_t *fuzz_bytes16(struct fuzz_in *in, size_t *n);

#endif
