#include "helper_lossy.h"

#include <stdlib.h>
#include <string.h>

struct lossy_pkt {
    struct lossy_pkt *next;
    size_t n;
    uint8_t data[];
};

static unsigned roll(struct lossy_link *l)
{
    /* xorshift64*: deterministic for a given seed */
    l->rng ^= l->rng >> 12;
    l->rng ^= l->rng << 25;
    l->rng ^= l->rng >> 27;
    return (unsigned)((l->rng * 2685821657736338717ull) >> 33) % 100;
}

void lossy_init(struct lossy_link *l, unsigned loss_pct, unsigned dup_pct, unsigned reorder_pct,
                uint64_t seed)
{
    memset(l, 0, sizeof(*l));
    l->loss_pct = loss_pct;
    l->dup_pct = dup_pct;
    l->reorder_pct = reorder_pct;
    l->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static void enqueue(struct lossy_link *l, const uint8_t *p, size_t n, int at_head)
{
    struct lossy_pkt *k = malloc(sizeof(*k) + n);
    if (!k)
        abort();
    k->n = n;
    memcpy(k->data, p, n);
    k->next = NULL;
    if (at_head && l->head) {
        /* reorder: jump ahead of the packet queued before it */
        k->next = l->head;
        l->head = k;
    } else if (l->tail) {
        l->tail->next = k;
        l->tail = k;
    } else {
        l->head = l->tail = k;
    }
    l->queued++;
}

void lossy_send(struct lossy_link *l, const uint8_t *p, size_t n)
{
    l->sent++;
    if (roll(l) < l->loss_pct) {
        l->dropped++;
        return;
    }
    int reorder = roll(l) < l->reorder_pct && l->head;
    if (reorder)
        l->reordered++;
    enqueue(l, p, n, reorder);
    if (roll(l) < l->dup_pct) {
        l->duplicated++;
        enqueue(l, p, n, 0);
    }
}

size_t lossy_pump(struct lossy_link *l, lossy_deliver_fn deliver, void *ud)
{
    struct lossy_pkt *k = l->head;
    l->head = l->tail = NULL;
    l->queued = 0;
    size_t count = 0;
    while (k) {
        struct lossy_pkt *next = k->next;
        deliver(ud, k->data, k->n);
        l->delivered++;
        count++;
        free(k);
        k = next;
    }
    return count;
}

void lossy_dispose(struct lossy_link *l)
{
    struct lossy_pkt *k = l->head;
    while (k) {
        struct lossy_pkt *next = k->next;
        free(k);
        k = next;
    }
    l->head = l->tail = NULL;
}
