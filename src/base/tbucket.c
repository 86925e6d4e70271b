#include "dcgw/base/tbucket.h"

#define MICRO 1000000ull

static void refill(struct dcgw_tbucket *b, uint64_t now_us)
{
    if (now_us <= b->last_us)
        return;
    uint64_t cap = b->burst * MICRO;
    uint64_t elapsed = now_us - b->last_us;
    b->last_us = now_us;
    if (b->level_micro >= cap)
        return;
    /* Bound elapsed to the time that fills the bucket so the product cannot overflow. */
    uint64_t fill_us = (cap - b->level_micro) / b->rate + 1;
    if (elapsed > fill_us)
        elapsed = fill_us;
    b->level_micro += elapsed * b->rate;
    if (b->level_micro > cap)
        b->level_micro = cap;
}

void dcgw_tbucket_init(struct dcgw_tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_us)
{
    b->rate = rate;
    b->burst = burst;
    b->level_micro = burst * MICRO;
    b->last_us = now_us;
}

void dcgw_tbucket_set(struct dcgw_tbucket *b, uint64_t rate, uint64_t burst, uint64_t now_us)
{
    if (b->rate)
        refill(b, now_us);
    else
        b->last_us = now_us;
    if (!b->rate && rate)
        b->level_micro = burst * MICRO; /* from unlimited: start full */
    b->rate = rate;
    b->burst = burst;
    if (b->level_micro > burst * MICRO)
        b->level_micro = burst * MICRO;
}

bool dcgw_tbucket_take(struct dcgw_tbucket *b, uint64_t n, uint64_t now_us)
{
    if (!b->rate)
        return true;
    refill(b, now_us);
    if (n > b->burst || b->level_micro < n * MICRO)
        return false;
    b->level_micro -= n * MICRO;
    return true;
}

uint64_t dcgw_tbucket_available(struct dcgw_tbucket *b, uint64_t now_us)
{
    if (!b->rate)
        return UINT64_MAX;
    refill(b, now_us);
    return b->level_micro / MICRO;
}
