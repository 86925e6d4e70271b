#include "helper_sctp_pair.h"

#include <time.h>

#include "dcgw/stages/sctp.h"

enum { TICK_MS = 10 };

void sctp_pair_link_init(struct sctp_pair_link *l, uint64_t seed, lossy_deliver_fn deliver, void *a,
                         void *b)
{
    lossy_init(&l->ab, 0, 0, 0, seed);
    lossy_init(&l->ba, 0, 0, 0, seed + 1);
    l->deliver = deliver;
    l->a = a;
    l->b = b;
}

void sctp_pair_link_dispose(struct sctp_pair_link *l)
{
    lossy_dispose(&l->ab);
    lossy_dispose(&l->ba);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t last_tick_us;

void sctp_pair_tick(bool idle)
{
    uint64_t now = now_us();
    if (!last_tick_us)
        last_tick_us = now;
    uint64_t ms = (now - last_tick_us) / 1000;
    if (idle) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        ms += TICK_MS;
    }
    if (ms) {
        last_tick_us = now_us();
        dcgw_sctp_handle_timers((uint32_t)ms);
    }
}

int sctp_pair_pump(struct sctp_pair_link *l, bool (*done)(void *ctx), void *ctx, int max_ticks)
{
    for (int t = 0; t < max_ticks; t++) {
        size_t moved = lossy_pump(&l->ab, l->deliver, l->b);
        moved += lossy_pump(&l->ba, l->deliver, l->a);
        if (done && done(ctx) && !l->ab.head && !l->ba.head)
            return t;
        sctp_pair_tick(moved == 0);
    }
    return -1;
}
