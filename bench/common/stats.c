/* Summaries of repeated measurements: see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(const double *v, unsigned n)
{
    double *s = n ? malloc(n * sizeof(*s)) : NULL;
    unsigned k = 0;
    for (unsigned i = 0; s && i < n; i++)
        if (isfinite(v[i]))
            s[k++] = v[i];
    double m = NAN;
    if (k) {
        qsort(s, k, sizeof(*s), cmp_double);
        m = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
    }
    free(s);
    return m;
}
