/* Summaries of repeated measurements, shared by the bench tools. */
#ifndef DCGW_BENCH_STATS_H
#define DCGW_BENCH_STATS_H

/* The median of the finite values among v[0..n) (the mean of the two middle ones when
 * their count is even); NAN when there is none. v is left as it was. */
double bench_median(const double *v, unsigned n);

#endif
