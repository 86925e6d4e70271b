/* Shared by the Nmf_MRM tests (test_nmf.c, test_nmf_proxy.c): their settings, a
 * fingerprint in the API's form, JSON loading and a look into a ProblemDetails. */
#ifndef DCGW_TEST_NMF_H
#define DCGW_TEST_NMF_H

#include <jansson.h>
#include <stdbool.h>

#include "dcgw/control/nmf.h"

/* The vendor PEN of the tests' vendorSpecific-032473 members. */
extern const struct dcgw_nmf_settings nmfh_settings;

#define NMFH_FP                                                                                    \
    "SHA-256 "                                                                                     \
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:"         \
    "23:45:67:89"

/* text parsed (duplicate keys refused, any value); fails the running test if it does not
 * parse. The caller frees it. */
json_t *nmfh_load(const char *text);
/* Whether p names the pointer param among its invalid parameters. */
bool nmfh_has_param(const struct dcgw_nmf_problem *p, const char *param);

#endif
