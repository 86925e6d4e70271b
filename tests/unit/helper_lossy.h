/* An in-memory datagram link for back-to-back tests (no sockets): a queue in each
 * direction with seeded loss, duplication and reordering. Stages send into it from
 * their output callbacks; the test pumps it to deliver. */
#ifndef DCGW_TEST_LOSSY_H
#define DCGW_TEST_LOSSY_H

#include <stddef.h>
#include <stdint.h>

typedef void (*lossy_deliver_fn)(void *ud, const uint8_t *p, size_t n);

struct lossy_link {
    unsigned loss_pct, dup_pct, reorder_pct; /* 0..100 */
    uint64_t rng;
    struct lossy_pkt *head, *tail; /* queued, in delivery order */
    size_t queued;
    uint64_t sent, dropped, duplicated, reordered, delivered;
};

void lossy_init(struct lossy_link *l, unsigned loss_pct, unsigned dup_pct, unsigned reorder_pct,
                uint64_t seed);
/* Queues a copy of the datagram, applying loss / duplication / reordering. */
void lossy_send(struct lossy_link *l, const uint8_t *p, size_t n);
/* Delivers everything queued so far (not what deliver() queues meanwhile); returns count. */
size_t lossy_pump(struct lossy_link *l, lossy_deliver_fn deliver, void *ud);
void lossy_dispose(struct lossy_link *l);

#endif
