/* Verdicts of the bench's targets (verdict.h). */
#include "verdict.h"

#include <math.h>

const char *bench_verdict(double got, double noise, double limit, bool lower_is_better)
{
    if (!isfinite(got))
        return "not measured";
    double n = isfinite(noise) && noise > 0 ? noise : 0;
    if (got < 0 || fabs(got) <= n || fabs(got - limit) <= n)
        return "inside noise";
    bool met = lower_is_better ? got <= limit : got >= limit;
    return met ? "met" : "MISSED";
}
