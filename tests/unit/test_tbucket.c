/* Token bucket and error table: the shared primitives everything else leans on. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/tbucket.h"
#include "helper_suite.h"

START_TEST(bucket_starts_full_then_refills)
{
    struct dcgw_tbucket b;
    dcgw_tbucket_init(&b, 100, 10, 1000);
    for (int i = 0; i < 10; i++)
        ck_assert(dcgw_tbucket_take(&b, 1, 1000));
    ck_assert(!dcgw_tbucket_take(&b, 1, 1000));
    /* 100/s: one token every 10 ms */
    ck_assert(!dcgw_tbucket_take(&b, 1, 1000 + 9999));
    ck_assert(dcgw_tbucket_take(&b, 1, 1000 + 10000));
    ck_assert(!dcgw_tbucket_take(&b, 1, 1000 + 10000));
    /* a long pause refills only up to the burst */
    ck_assert_uint_eq(dcgw_tbucket_available(&b, 1000 + 100000000ull), 10);
}
END_TEST

START_TEST(bucket_rate_over_time)
{
    struct dcgw_tbucket b;
    dcgw_tbucket_init(&b, 1000, 50, 0);
    uint64_t taken = 0;
    for (uint64_t t = 0; t <= 2000000; t += 100) /* 2 s in 100 us steps */
        while (dcgw_tbucket_take(&b, 1, t))
            taken++;
    /* burst + 2 s at 1000/s */
    ck_assert_uint_ge(taken, 2049);
    ck_assert_uint_le(taken, 2051);
}
END_TEST

START_TEST(bucket_refuses_more_than_burst_and_unlimited)
{
    struct dcgw_tbucket b;
    dcgw_tbucket_init(&b, 1000, 100, 0);
    ck_assert(!dcgw_tbucket_take(&b, 101, 0));
    ck_assert_uint_eq(dcgw_tbucket_available(&b, 0), 100);
    dcgw_tbucket_set(&b, 0, 0, 0);
    ck_assert(dcgw_tbucket_take(&b, 1u << 30, 0));
    dcgw_tbucket_set(&b, 10, 5, 0);
    ck_assert_uint_eq(dcgw_tbucket_available(&b, 0), 5);
}
END_TEST

START_TEST(bucket_huge_values_do_not_overflow)
{
    struct dcgw_tbucket b;
    dcgw_tbucket_init(&b, 10000000000ull, 10000000000ull, 0);
    ck_assert(dcgw_tbucket_take(&b, 10000000000ull, 0));
    ck_assert_uint_eq(dcgw_tbucket_available(&b, ~0ull / 2), 10000000000ull);
}
END_TEST

START_TEST(errors_have_names_and_messages)
{
    ck_assert_str_eq(dcgw_err_name(DCGW_EINVAL), "EINVAL");
    ck_assert_str_eq(dcgw_strerror(DCGW_EFINGERPRINT),
                     "certificate does not match the SDP fingerprint");
    ck_assert_str_eq(dcgw_err_name(12345), "EUNKNOWN");
    ck_assert_str_eq(dcgw_err_name(DCGW_EALERT(42)), "EALERT");
    ck_assert_str_eq(dcgw_strerror(0), "success");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tbucket");
    TCase *tc = tcase_create("bucket");
    tcase_add_test(tc, bucket_starts_full_then_refills);
    tcase_add_test(tc, bucket_rate_over_time);
    tcase_add_test(tc, bucket_refuses_more_than_burst_and_unlimited);
    tcase_add_test(tc, bucket_huge_values_do_not_overflow);
    tcase_add_test(tc, errors_have_names_and_messages);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
