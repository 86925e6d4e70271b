/* The eBPF fast path of relay flows (docs/fastpath.md): a TC ingress program forwards the
 * DTLS application data of offloaded relay flows in the kernel; this module loads it
 * (libbpf skeleton of bpf/relay_fast.bpf.c), attaches it and keeps its flow table.
 *
 * One per worker. A relay flow is offloaded (add) only once userspace decided it may be
 * (both certificates matched their SDP); it is two directions, each a map entry keyed by
 * the datagram's addresses as it arrives (peer -> dcgw's socket) and a slot with its
 * counters and rate limits. remove turns both directions off first, then reads their
 * final counters under the slot's lock, so the counters are exact: nothing the program
 * forwards is missed, nothing is counted twice. Bounded: max_flows from the
 * configuration; a full table leaves the flow on the userspace path (DCGW_ELIMIT).
 *
 * The table runs over a small vtable of map operations: the bpf(2) maps of the loaded
 * program (dcgw_fastpath_open), or any other (dcgw_fastpath_new_table, for tests). */
#ifndef DCGW_FASTPATH_H
#define DCGW_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/net/fastpath_abi.h"

enum dcgw_fastpath_map { DCGW_FP_MAP_FLOWS = 0, DCGW_FP_MAP_SLOTS, DCGW_FP_MAP_GENS };

/* Map operations, bpf(2) semantics: 0 or a negative errno. update's flags are BPF_ANY,
 * BPF_NOEXIST or BPF_F_LOCK; lookup's 0 or BPF_F_LOCK. */
struct dcgw_fastpath_ops {
    void *ud;
    int (*update)(void *ud, enum dcgw_fastpath_map m, const void *key, const void *val,
                  uint64_t flags);
    int (*lookup)(void *ud, enum dcgw_fastpath_map m, const void *key, void *val, uint64_t flags);
    int (*remove)(void *ud, enum dcgw_fastpath_map m, const void *key);
    /* Optional: whether addr is an address of this host (its datagrams are delivered by
     * the stack, not routed out). NULL: never. */
    bool (*is_local)(void *ud, const struct sockaddr *addr);
};

struct dcgw_fastpath_settings {
    const char *interfaces; /* comma-separated; NULL or "": the one holding the local address */
    const char *attach;     /* "auto" (TCX, else tc), "tcx" or "tc"; NULL: auto */
    uint32_t max_flows;     /* relay flows; 0: DCGW_FAST_PATH_FLOWS_DEFAULT */
    uint32_t owner;         /* the worker's index: names its tc filter (priority) */
};

/* Rate limits of one direction (as RelaySettings): 0 unlimited; burst_ms of the rate,
 * never below DCGW_RELAY_BURST_PACKETS_MIN / _BYTES_MIN (the caller computes bursts). */
struct dcgw_fastpath_limits {
    uint64_t packets_per_s, bytes_per_s;
    uint64_t burst_packets, burst_bytes;
};

/* What the program did for one direction (payload bytes, as the relay counts them). */
struct dcgw_fastpath_counts {
    uint64_t packets, bytes;           /* forwarded */
    uint64_t rate_packets, rate_bytes; /* dropped over the limits */
};

struct dcgw_fastpath_stats {
    uint32_t flows, max_flows;
    uint64_t added, removed;
    uint64_t full;         /* adds refused: table full (the flow stayed in userspace) */
    uint64_t errors;       /* map operations that failed otherwise */
    uint64_t not_app_data; /* datagrams of offloaded flows left to dcgw: not only type 23 */
    uint64_t no_route;     /* ... no route to the other peer known to the kernel */
    uint64_t off;          /* ... the direction was being turned off */
    const char *attach;    /* "tcx", "tc" or "table" */
};

struct dcgw_fastpath;
struct dcgw_fastpath_flow;

/* Loads the program with maps sized for st->max_flows and attaches it to the ingress of
 * the interfaces. local: the worker socket's address (a specific address: the key of
 * every entry). On failure (no BPF, not permitted, no such interface, a wildcard local
 * address) returns a negative code and writes why (one line, for the log); the caller
 * relays in userspace. */
int dcgw_fastpath_open(const struct dcgw_fastpath_settings *st, const struct sockaddr *local,
                       struct dcgw_fastpath **out, char *why, size_t whycap);
/* A table over other map operations (no program): for tests. */
int dcgw_fastpath_new_table(const struct dcgw_fastpath_ops *ops, uint32_t max_flows,
                            struct dcgw_fastpath **out);
/* Removes every flow, detaches, frees. NULL is a no-op. */
void dcgw_fastpath_close(struct dcgw_fastpath *fp);

/* Offloads the flow between peer[0] and peer[1] through `local` (dcgw's socket, the same
 * family): a datagram from peer[k] to local leaves from local to peer[1-k]; lim[k] limits
 * direction k (from peer k). Returns 0, DCGW_ELIMIT (table full: stays in userspace),
 * DCGW_EEXIST (a direction is already offloaded), DCGW_EINVAL (families, wildcard
 * address) or DCGW_EIO (a map operation failed; nothing is left behind). */
int dcgw_fastpath_add(struct dcgw_fastpath *fp, const struct sockaddr *local,
                      const struct sockaddr *const peer[2],
                      const struct dcgw_fastpath_limits lim[2], struct dcgw_fastpath_flow **out);
/* Turns both directions off, reads their final counts into final[k] (may be NULL),
 * deletes the entries and frees f. NULL f is a no-op. */
void dcgw_fastpath_remove(struct dcgw_fastpath *fp, struct dcgw_fastpath_flow *f,
                          struct dcgw_fastpath_counts final[2]);
/* The counts so far of both directions (under the slots' locks). */
int dcgw_fastpath_read(struct dcgw_fastpath *fp, const struct dcgw_fastpath_flow *f,
                       struct dcgw_fastpath_counts out[2]);
void dcgw_fastpath_stats(struct dcgw_fastpath *fp, struct dcgw_fastpath_stats *out);

/* The key of a datagram from `from` to `to` and the forwarding of one to `dst` from `src`
 * (exposed for tests). DCGW_EINVAL for families other than AF_INET/AF_INET6 or mixed. */
int dcgw_fastpath_key(const struct sockaddr *from, const struct sockaddr *to,
                      struct dcgw_fp_key *out);
/* GCRA parameters of a slot for limits lim (costs and tolerances; counters untouched). */
void dcgw_fastpath_slot_limits(const struct dcgw_fastpath_limits *lim, struct dcgw_fp_slot *s);

#endif
