/* A target's verdict from a measured figure and its noise (no I/O; tests/unit tests it). */
#ifndef DCGW_BENCH_VERDICT_H
#define DCGW_BENCH_VERDICT_H

#include <stdbool.h>

/* "not measured" (got NaN), "inside noise" (the figure cannot be told from zero, or from
 * the limit, at +-noise, or is below zero: a cost below nothing is noise), else "met" or
 * "MISSED". noise is the measured spread (>= 0; NaN or 0: none known). Never "met" for a
 * figure inside its noise. */
const char *bench_verdict(double got, double noise, double limit, bool lower_is_better);

#endif
