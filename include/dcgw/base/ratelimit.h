/* Per-source token buckets for datagrams from sources nobody validated yet (issue 13,
 * "Floods from unknown sources"). WireGuard's ratelimiter is the model: one bucket per
 * source address (IPv4 address, IPv6 /64: the part one host cannot vary), a bounded table
 * whose idle entries are taken over by new sources, and a table with no room limits the
 * newcomer rather than growing. No I/O and no clock of its own: the caller gives the time.
 * The table is hashed with a key drawn at creation, so that a sender cannot aim its
 * addresses at one probe run. Not thread-safe (one per loop). */
#ifndef DCGW_RATELIMIT_H
#define DCGW_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/base/limits.h"

struct dcgw_ratelimit_settings {
    uint32_t rate;    /* datagrams per second per source; 0: no limit */
    uint32_t burst;   /* bucket depth; 0: rate */
    uint32_t sources; /* sources tracked at once (rounded up to a power of two) */
};

struct dcgw_ratelimit_stats {
    uint64_t allowed;
    uint64_t limited;    /* a source over its rate */
    uint64_t table_full; /* a new source with no free entry in reach: limited too */
};

struct dcgw_ratelimit;

/* DCGW_EINVAL (sources 0 or over DCGW_RATELIMIT_SOURCES_MAX), DCGW_ENOMEM. */
int dcgw_ratelimit_new(const struct dcgw_ratelimit_settings *s, struct dcgw_ratelimit **out);
void dcgw_ratelimit_free(struct dcgw_ratelimit *rl);
/* True when a datagram from `from` may go on now (its source's token taken); false when
 * the source is over its rate, or is new and the table has no room for it. now_us: any
 * monotonic microsecond clock. Families other than IPv4 and IPv6 are refused. */
bool dcgw_ratelimit_allow(struct dcgw_ratelimit *rl, const struct sockaddr *from, uint64_t now_us);
const struct dcgw_ratelimit_stats *dcgw_ratelimit_stats(const struct dcgw_ratelimit *rl);

#endif
