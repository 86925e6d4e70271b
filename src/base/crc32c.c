/* CRC32c: SSE4.2 instruction when available, slicing-by-8 tables otherwise.
 * Polynomial 0x1EDC6F41, reflected form 0x82F63B78 (RFC 3720 B.4, RFC 9260 Appendix A). */
#include "dcgw/base/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define DCGW_CRC32C_X86 1
#endif

enum { CRC32C_POLY_REFLECTED = 0x82F63B78u };

static uint32_t crc_table[8][256];
static bool use_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_setup(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY_REFLECTED & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#ifdef DCGW_CRC32C_X86
    __builtin_cpu_init();
    use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t dcgw__crc32c_sw_update(uint32_t reg, const uint8_t *p, size_t n)
{
    pthread_once(&crc_once, crc_setup);
    while (n >= 8) {
        uint32_t lo = reg ^ load_le32(p);
        uint32_t hi = load_le32(p + 4);
        reg = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
              crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
              crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        reg = (reg >> 8) ^ crc_table[0][(reg ^ *p++) & 0xff];
    return reg;
}

#ifdef DCGW_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t dcgw__crc32c_hw_update(uint32_t reg, const uint8_t *p,
                                                                  size_t n)
{
    while (n && ((uintptr_t)p & 7u)) {
        reg = _mm_crc32_u8(reg, *p++);
        n--;
    }
#ifdef __x86_64__
    uint64_t r64 = reg;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof(v)); /* aligned here; memcpy keeps it strictly defined */
        r64 = _mm_crc32_u64(r64, v);
        p += 8;
        n -= 8;
    }
    reg = (uint32_t)r64;
#endif
    while (n >= 4) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        reg = _mm_crc32_u32(reg, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        reg = _mm_crc32_u8(reg, *p++);
    return reg;
}
#else
uint32_t dcgw__crc32c_hw_update(uint32_t reg, const uint8_t *p, size_t n)
{
    return dcgw__crc32c_sw_update(reg, p, n);
}
#endif

bool dcgw_crc32c_hw(void)
{
    pthread_once(&crc_once, crc_setup);
    return use_hw;
}

uint32_t dcgw_crc32c_extend(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_setup);
    uint32_t reg = ~crc;
    if (use_hw)
        reg = dcgw__crc32c_hw_update(reg, p, n);
    else
        reg = dcgw__crc32c_sw_update(reg, p, n);
    return ~reg;
}

uint32_t dcgw_crc32c(const void *p, size_t n)
{
    return dcgw_crc32c_extend(0, p, n);
}
