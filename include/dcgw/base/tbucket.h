/* Token bucket with an injected clock: rate units per second, burst units at most.
 * Used for rate-limited logs, policy rate limits and relay flow limits. Embedded
 * (init, no dispose); no allocation; not thread-safe (one per loop). */
#ifndef DCGW_TBUCKET_H
#define DCGW_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct dcgw_tbucket {
    uint64_t rate;        /* units per second; 0 means unlimited */
    uint64_t burst;       /* bucket depth in units */
    uint64_t level_micro; /* current tokens, in millionths of a unit */
    uint64_t last_us;     /* clock at the last refill */
};

/* Starts full. now_us is any monotonic microsecond clock. */
void dcgw_tbucket_init(struct dcgw_tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_us);
/* Changes rate and burst, keeping the current level (capped at the new burst). */
void dcgw_tbucket_set(struct dcgw_tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_us);
/* Takes n units if available: true and consumed, or false and nothing consumed. */
bool dcgw_tbucket_take(struct dcgw_tbucket *b, uint64_t n, uint64_t now_us);
/* Whole units available now. */
uint64_t dcgw_tbucket_available(struct dcgw_tbucket *b, uint64_t now_us);

#endif
