/* The unknown-source filter's BPF maps as both sides see them: the socket filter
 * (bpf/unknown_filter.bpf.c, clang -target bpf) and its loader (src/net/filter.c). UAPI
 * types only, so the same header compiles for the BPF target and for the host.
 * docs/floods.md.
 *
 *   known     hash      struct dcgw_uf_addr -> __u8       validated addresses: they pass
 *   buckets   lru hash  struct dcgw_uf_source -> bucket   unknown sources' token buckets
 *   counters  array     __u64 [DCGW_UF_COUNTERS]          what the filter dropped */
#ifndef DCGW_FILTER_ABI_H
#define DCGW_FILTER_ABI_H

#include <linux/types.h>

enum dcgw_uf_abi {
    DCGW_UF_DROPPED = 0, /* counters: an unknown source, not a STUN Binding request */
    DCGW_UF_LIMITED = 1, /* counters: a Binding request over its source's rate */
    DCGW_UF_COUNTERS = 2,
};

/* A datagram's source: the IP version, a pad byte, the UDP source port and the address as
 * on the wire (IPv4 in the first 4 bytes); every byte not used is 0. */
struct dcgw_uf_addr {
    __u8 version; /* 4 or 6 */
    __u8 pad;
    __be16 port;
    __u8 addr[16];
    __u32 pad2;
};

/* A source as one host: its IPv4 address, or the /64 of its IPv6 address. */
struct dcgw_uf_source {
    __u32 version;
    __u32 zero;
    __u8 prefix[8];
};

struct dcgw_uf_bucket {
    __u64 tokens_ns; /* time worth of tokens: a datagram costs 1e9 / rate */
    __u64 last_ns;   /* at the last refill */
};

#endif
