/* Control framing: partial reads, several frames per read, oversized, garbage. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/msg/frame.h"
#include "helper_suite.h"

struct seen {
    int count;
    size_t lens[64];
    uint8_t data[64][64];
    int stop_after;
};

static int on_frame(void *ud, const uint8_t *p, size_t n)
{
    struct seen *s = ud;
    if (s->count < 64) {
        s->lens[s->count] = n;
        memcpy(s->data[s->count], p, n < 64 ? n : 64);
    }
    s->count++;
    return s->stop_after && s->count == s->stop_after ? 7 : 0;
}

static size_t put(uint8_t *out, const char *payload)
{
    size_t n = strlen(payload);
    dcgw_frame_header(out, (uint32_t)n);
    memcpy(out + 4, payload, n);
    return n + 4;
}

START_TEST(several_frames_in_one_read)
{
    uint8_t buf[256];
    size_t n = put(buf, "alpha");
    n += put(buf + n, "");
    n += put(buf + n, "gamma!");
    struct dcgw_frame_decoder d;
    dcgw_frame_decoder_init(&d, 1024);
    struct seen s = {0};
    ck_assert_int_eq(dcgw_frame_feed(&d, buf, n, on_frame, &s), 0);
    ck_assert_int_eq(s.count, 3);
    ck_assert_uint_eq(s.lens[0], 5);
    ck_assert_uint_eq(s.lens[1], 0);
    ck_assert_mem_eq(s.data[2], "gamma!", 6);
    ck_assert_uint_eq(dcgw_frame_pending(&d), 0);
    ck_assert_ptr_null(d.buf); /* whole frames need no copy */
    dcgw_frame_decoder_dispose(&d);
}
END_TEST

START_TEST(partial_reads_at_every_split)
{
    uint8_t buf[256];
    size_t n = put(buf, "first frame");
    n += put(buf + n, "second");
    for (size_t step = 1; step <= n; step++) {
        struct dcgw_frame_decoder d;
        dcgw_frame_decoder_init(&d, 1024);
        struct seen s = {0};
        for (size_t off = 0; off < n; off += step) {
            size_t k = off + step <= n ? step : n - off;
            ck_assert_int_eq(dcgw_frame_feed(&d, buf + off, k, on_frame, &s), 0);
        }
        ck_assert_int_eq(s.count, 2);
        ck_assert_mem_eq(s.data[0], "first frame", 11);
        ck_assert_mem_eq(s.data[1], "second", 6);
        ck_assert_uint_eq(dcgw_frame_pending(&d), 0);
        dcgw_frame_decoder_dispose(&d);
    }
}
END_TEST

START_TEST(oversized_frame_is_refused)
{
    uint8_t hdr[4];
    dcgw_frame_header(hdr, 1025);
    struct dcgw_frame_decoder d;
    dcgw_frame_decoder_init(&d, 1024);
    struct seen s = {0};
    ck_assert_int_eq(dcgw_frame_feed(&d, hdr, 4, on_frame, &s), DCGW_ETOOBIG);
    dcgw_frame_decoder_dispose(&d);
    /* also when the header arrives in pieces */
    dcgw_frame_decoder_init(&d, 1024);
    ck_assert_int_eq(dcgw_frame_feed(&d, hdr, 3, on_frame, &s), 0);
    ck_assert_int_eq(dcgw_frame_feed(&d, hdr + 3, 1, on_frame, &s), DCGW_ETOOBIG);
    ck_assert_int_eq(s.count, 0);
    dcgw_frame_decoder_dispose(&d);
    /* exactly max is fine, and the buffer never exceeds max + header */
    uint8_t *big = calloc(1, 1024 + 4);
    dcgw_frame_header(big, 1024);
    dcgw_frame_decoder_init(&d, 1024);
    ck_assert_int_eq(dcgw_frame_feed(&d, big, 100, on_frame, &s), 0);
    ck_assert_int_eq(dcgw_frame_feed(&d, big + 100, 1028 - 100, on_frame, &s), 0);
    ck_assert_int_eq(s.count, 1);
    ck_assert_uint_eq(s.lens[0], 1024);
    ck_assert_uint_le(d.cap, 1028);
    dcgw_frame_decoder_dispose(&d);
    free(big);
}
END_TEST

START_TEST(callback_can_stop_decoding)
{
    uint8_t buf[64];
    size_t n = put(buf, "a");
    n += put(buf + n, "b");
    struct dcgw_frame_decoder d;
    dcgw_frame_decoder_init(&d, 64);
    struct seen s = {.stop_after = 1};
    ck_assert_int_eq(dcgw_frame_feed(&d, buf, n, on_frame, &s), 7);
    ck_assert_int_eq(s.count, 1);
    dcgw_frame_decoder_dispose(&d);
}
END_TEST

START_TEST(garbage_never_overruns)
{
    srand(1234);
    for (int round = 0; round < 200; round++) {
        uint8_t junk[512];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)(rand() % (round % 2 ? 4 : 256));
        struct dcgw_frame_decoder d;
        dcgw_frame_decoder_init(&d, 300);
        struct seen s = {0};
        size_t off = 0;
        int r = 0;
        while (off < sizeof(junk) && r == 0) {
            size_t k = 1 + (size_t)rand() % 40;
            if (off + k > sizeof(junk))
                k = sizeof(junk) - off;
            r = dcgw_frame_feed(&d, junk + off, k, on_frame, &s);
            off += k;
        }
        ck_assert(r == 0 || r == DCGW_ETOOBIG);
        ck_assert_uint_le(d.cap, 304);
        ck_assert_uint_le(dcgw_frame_pending(&d), 304);
        dcgw_frame_decoder_dispose(&d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, several_frames_in_one_read);
    tcase_add_test(tc, partial_reads_at_every_split);
    tcase_add_test(tc, oversized_frame_is_refused);
    tcase_add_test(tc, callback_can_stop_decoding);
    tcase_add_test(tc, garbage_never_overruns);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
