#include "helper_suite.h"

#include <stdlib.h>

TCase *tsuite_add(Suite *s, const char *name, int timeout_s, SFun setup, SFun teardown,
                  const TTest *const *tests)
{
    TCase *tc = tcase_create(name);
    if (setup)
        tcase_add_checked_fixture(tc, setup, teardown);
    if (timeout_s)
        tcase_set_timeout(tc, timeout_s);
    for (size_t i = 0; tests[i]; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return tc;
}

int tsuite_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
