/* CRC32c: RFC 3720 B.4 vectors, both implementations, and agreement with usrsctp's own
 * CRC on random buffers of random lengths and alignments. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "dcgw/base/crc32c.h"
#include "helper_suite.h"

struct vector {
    uint8_t data[48];
    size_t len;
    uint32_t crc;
};

static void fill_vectors(struct vector *v)
{
    /* RFC 3720 B.4: 32 zero bytes, 32 0xff bytes, 0..31, 31..0, a SCSI Read(10) PDU. */
    memset(&v[0], 0, sizeof(v[0]));
    v[0].len = 32;
    v[0].crc = 0x8a9136aa;
    memset(v[1].data, 0xff, 32);
    v[1].len = 32;
    v[1].crc = 0x62a8ab43;
    for (int i = 0; i < 32; i++) {
        v[2].data[i] = (uint8_t)i;
        v[3].data[i] = (uint8_t)(31 - i);
    }
    v[2].len = v[3].len = 32;
    v[2].crc = 0x46dd794e;
    v[3].crc = 0x113fdb5c;
    static const uint8_t pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    memcpy(v[4].data, pdu, sizeof(pdu));
    v[4].len = 48;
    v[4].crc = 0xd9963a56;
    memcpy(v[5].data, "123456789", 9);
    v[5].len = 9;
    v[5].crc = 0xe3069283;
}

enum { NVEC = 6 };

START_TEST(rfc3720_vectors)
{
    struct vector v[NVEC];
    fill_vectors(v);
    struct vector *t = &v[_i];
    ck_assert_uint_eq(dcgw_crc32c(t->data, t->len), t->crc);
    ck_assert_uint_eq(~dcgw__crc32c_sw_update(~0u, t->data, t->len), t->crc);
    if (dcgw_crc32c_hw())
        ck_assert_uint_eq(~dcgw__crc32c_hw_update(~0u, t->data, t->len), t->crc);
    /* split anywhere: extend gives the same result */
    for (size_t cut = 0; cut <= t->len; cut++)
        ck_assert_uint_eq(
            dcgw_crc32c_extend(dcgw_crc32c(t->data, cut), t->data + cut, t->len - cut), t->crc);
}
END_TEST

START_TEST(empty_input)
{
    ck_assert_uint_eq(dcgw_crc32c(NULL, 0), 0);
    ck_assert_uint_eq(dcgw_crc32c_extend(0x12345678, NULL, 0), 0x12345678);
}
END_TEST

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

START_TEST(matches_usrsctp_on_random_buffers)
{
    enum { MAXLEN = 9000 };
    uint8_t *buf = malloc(MAXLEN + 16);
    ck_assert_ptr_nonnull(buf);
    for (int iter = 0; iter < 3000; iter++) {
        size_t off = rnd() % 16;
        size_t len = iter < 64 ? (size_t)iter : rnd() % MAXLEN;
        for (size_t i = 0; i < len; i++)
            buf[off + i] = (uint8_t)rnd();
        uint32_t ref = usrsctp_crc32c(buf + off, len);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        ref = __builtin_bswap32(ref); /* usrsctp returns it in wire (little-endian) order */
#endif
        uint32_t sw = ~dcgw__crc32c_sw_update(~0u, buf + off, len);
        ck_assert_uint_eq(sw, ref);
        if (dcgw_crc32c_hw())
            ck_assert_uint_eq(~dcgw__crc32c_hw_update(~0u, buf + off, len), ref);
        ck_assert_uint_eq(dcgw_crc32c(buf + off, len), ref);
    }
    free(buf);
}
END_TEST

START_TEST(single_bit_flips_change_the_crc)
{
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rnd();
    uint32_t base = dcgw_crc32c(buf, sizeof(buf));
    for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_assert_uint_ne(dcgw_crc32c(buf, sizeof(buf)), base);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("vectors");
    tcase_add_loop_test(tc, rfc3720_vectors, 0, NVEC);
    tcase_add_test(tc, empty_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("random");
    tcase_add_test(tc, matches_usrsctp_on_random_buffers);
    tcase_add_test(tc, single_bit_flips_change_the_crc);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
