/* The Check suite of a test program built from lists of tests, and its run: so that the
 * programs split from one module's tests share one main() shape. */
#ifndef DCGW_TEST_SUITE_H
#define DCGW_TEST_SUITE_H

#include <check.h>

/* Adds to s a test case named name with the tests of the NULL-terminated list tests, in
 * order; with the checked fixture setup / teardown if setup is not NULL, and a timeout of
 * timeout_s seconds if timeout_s is not 0 (else Check's default). */
TCase *tsuite_add(Suite *s, const char *name, int timeout_s, SFun setup, SFun teardown,
                  const TTest *const *tests);

/* Runs s (in Check's default fork mode) and frees it: EXIT_SUCCESS if every test passed,
 * else EXIT_FAILURE. */
int tsuite_run(Suite *s);

#endif
