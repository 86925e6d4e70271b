/* Two SCTP-based endpoints of one test back to back in memory: a lossy link each way and
 * usrsctp's timers ticked on a simulated clock. The test keeps its own endpoint type and
 * callbacks; the link only knows how to hand a datagram to an endpoint (deliver). */
#ifndef DCGW_TEST_SCTP_PAIR_H
#define DCGW_TEST_SCTP_PAIR_H

#include <stdbool.h>

#include "helper_lossy.h"

struct sctp_pair_link {
    struct lossy_link ab, ba; /* a -> b, b -> a */
    lossy_deliver_fn deliver; /* hands a datagram to endpoint a or b */
    void *a, *b;
};

/* Lossless links seeded with seed (a -> b) and seed + 1 (b -> a). */
void sctp_pair_link_init(struct sctp_pair_link *l, uint64_t seed, lossy_deliver_fn deliver, void *a,
                         void *b);
void sctp_pair_link_dispose(struct sctp_pair_link *l);

/* Advances usrsctp's timers. usrsctp mixes the ticks we give it with wall-clock stamps (a
 * chunk is retransmitted on T3 only if it is older, on the real clock, than the smoothed
 * RTT plus 10 ms). So time may run faster than real time only while idle, and at most
 * 10x: an idle tick sleeps 1 ms and advances the timers by 10 ms; busy iterations advance
 * them by real time. */
void sctp_pair_tick(bool idle);

/* Moves packets both ways and ticks the timers until done(ctx) holds with both links
 * empty (returns the tick count) or max_ticks pass (returns -1). done may be NULL. */
int sctp_pair_pump(struct sctp_pair_link *l, bool (*done)(void *ctx), void *ctx, int max_ticks);

#endif
