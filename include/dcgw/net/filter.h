/* The kernel's share of the unknown-source path (docs/floods.md): an eBPF socket filter on
 * a worker's UDP socket that drops, before the kernel queues them, datagrams from sources
 * no ICE check validated unless they are STUN Binding requests, and Binding requests from
 * a source (IPv4 address, IPv6 /64) over its token bucket. A flood then neither fills the
 * socket's receive buffer (where the kernel would drop legitimate datagrams with it) nor
 * costs the worker a wake-up and a copy per datagram.
 *
 * The worker mirrors its validated addresses into the filter (add when it learns a route,
 * del when it forgets one). Loading needs CAP_BPF (or CAP_SYS_ADMIN); without it, or on a
 * kernel that refuses the program, dcgw_filter_new fails and the worker filters in user
 * space only (datapath.c does the same checks). If adding an address ever fails the owner
 * must detach the filter (dcgw_filter_free), or that address's datagrams would be dropped.
 *
 * The program is bpf/unknown_filter.bpf.c (clang -target bpf), loaded through its libbpf
 * skeleton; the maps' layout is include/dcgw/net/filter_abi.h. */
#ifndef DCGW_FILTER_H
#define DCGW_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct dcgw_filter_settings {
    uint32_t rate;      /* Binding requests per second per unknown source; 0: no limit */
    uint32_t burst;     /* bucket depth; 0: rate */
    uint32_t sources;   /* buckets held (least recently used ones go first) */
    uint32_t addresses; /* validated addresses held at most */
};

struct dcgw_filter_stats {
    uint64_t dropped; /* unknown sources, not a Binding request */
    uint64_t limited; /* Binding requests over their source's rate */
};

struct dcgw_filter;

/* Attaches the filter to UDP socket fd. DCGW_EUNSUPPORTED when the kernel refused (not
 * permitted, no bpf(2), the maps or the program refused: the reason in err),
 * DCGW_EINVAL, DCGW_ENOMEM. err may be NULL. */
int dcgw_filter_new(int fd, const struct dcgw_filter_settings *s, struct dcgw_filter **out,
                    char *err, size_t errcap);
/* Lets datagrams from addr through (a validated address: its family, address and port).
 * 0, or a negative error: then detach the filter. Adding a present address is fine. */
int dcgw_filter_add(struct dcgw_filter *f, const struct sockaddr *addr);
/* Forgets addr (ENOENT is not an error). */
void dcgw_filter_del(struct dcgw_filter *f, const struct sockaddr *addr);
/* What the kernel dropped so far (a bpf(2) call: for statistics, not per datagram). */
void dcgw_filter_stats(const struct dcgw_filter *f, struct dcgw_filter_stats *out);
/* Detaches the filter from the socket (if still open) and frees it. NULL is fine. */
void dcgw_filter_free(struct dcgw_filter *f);

#endif
