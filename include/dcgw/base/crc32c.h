/* CRC32c (Castagnoli, RFC 3720 B.4 / RFC 9260 Appendix A), the SCTP checksum.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time, so the
 * project is not built with -msse4.2), a portable slicing-by-8 table otherwise. Pure
 * functions; the one-time CPU check and table set-up are thread-safe. */
#ifndef DCGW_CRC32C_H
#define DCGW_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC32c of n bytes: initial value ~0, reflected, final complement ("123456789" gives
 * 0xe3069283). An SCTP packet carries this value little-endian in bytes 8..11. */
uint32_t dcgw_crc32c(const void *p, size_t n);

/* Continues a CRC: dcgw_crc32c_extend(dcgw_crc32c(a, na), b, nb) == CRC of a followed by
 * b. dcgw_crc32c_extend(0, p, n) == dcgw_crc32c(p, n). */
uint32_t dcgw_crc32c_extend(uint32_t crc, const void *p, size_t n);

/* True when the SSE4.2 path is in use. */
bool dcgw_crc32c_hw(void);

/* The two implementations, exposed for tests: raw register update (no pre/post
 * complement). dcgw__crc32c_hw_update must only be called when dcgw_crc32c_hw(). */
uint32_t dcgw__crc32c_sw_update(uint32_t reg, const uint8_t *p, size_t n);
uint32_t dcgw__crc32c_hw_update(uint32_t reg, const uint8_t *p, size_t n);

#endif
