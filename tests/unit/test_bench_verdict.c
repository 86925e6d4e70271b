/* dcgw-bench's verdicts (bench/verdict.c): a figure inside its noise never claims a target. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"
#include "helper_suite.h"

START_TEST(verdicts)
{
    static const struct {
        double got, noise, limit;
        bool lower;
        const char *want;
    } c[] = {
        {NAN, 0, 10, true, "not measured"},
        {5, 0, 10, true, "met"},
        {12, 0, 10, true, "MISSED"},
        {1200, 0, 1000, false, "met"},
        {900, 0, 1000, false, "MISSED"},
        /* the idle CPU of issue 12: below the baseline it was measured against */
        {-0.7, 0, 10, true, "inside noise"},
        {-3.2, 0.5, 10, true, "inside noise"},
        {0.4, 0.6, 10, true, "inside noise"},  /* cannot be told from zero */
        {9.7, 0.5, 10, true, "inside noise"},  /* cannot be told from the limit */
        {10.3, 0.5, 10, true, "inside noise"}, /* either side */
        {3.0, 0.6, 10, true, "met"},
        {14.0, 0.6, 10, true, "MISSED"},
        {3.0, NAN, 10, true, "met"}, /* no spread known */
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const char *v = bench_verdict(c[i].got, c[i].noise, c[i].limit, c[i].lower);
        ck_assert_msg(strcmp(v, c[i].want) == 0, "case %zu (%g +- %g vs %g): got %s, want %s", i,
                      c[i].got, c[i].noise, c[i].limit, v, c[i].want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bench_verdict");
    TCase *tc = tcase_create("verdict");
    tcase_add_test(tc, verdicts);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
