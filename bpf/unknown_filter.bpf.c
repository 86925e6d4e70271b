/* The kernel's share of the unknown-source path (docs/floods.md): a socket filter on a
 * worker's UDP socket, run before the kernel queues a datagram.
 *
 *   datagram --> its source (address, port) in known?   yes --> queued
 *                a STUN Binding request's header?         no  --> dropped, counted
 *                its source's bucket has a token?         no  --> dropped, counted
 *                                                         yes --> queued
 *
 * A socket filter on a UDP socket sees the datagram from its UDP header on; the source
 * address is read relative to the network header. It returns 0 to drop the datagram and
 * anything else to keep it whole. The buckets are not updated atomically: datagrams of one
 * source handled on two CPUs at once may both take the same token, which errs by a
 * datagram, not more. The program reads no kernel structure (UAPI headers only). */
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dcgw/net/filter_abi.h"

#define STUN_BINDING_REQUEST 0x0001
#define STUN_MAGIC_COOKIE    0x2112a442

/* Sizes are the loader's (the configuration); these only make the object loadable. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct dcgw_uf_addr);
    __type(value, __u8);
    __uint(max_entries, 1);
} known SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, struct dcgw_uf_source);
    __type(value, struct dcgw_uf_bucket);
    __uint(max_entries, 1);
} buckets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, DCGW_UF_COUNTERS);
} counters SEC(".maps");

/* Set by the loader before it loads the program: 0 = no rate limit. */
const volatile __u64 cost_ns = 0; /* a datagram's worth of tokens: 1e9 / rate */
const volatile __u64 max_ns = 0;  /* a full bucket: cost_ns x burst */

static __always_inline int drop(__u32 counter)
{
    __u64 *c = bpf_map_lookup_elem(&counters, &counter);
    if (c)
        __sync_fetch_and_add(c, 1);
    return 0;
}

/* The source's bucket takes a token: 1 when it had one. */
static __always_inline int take(const struct dcgw_uf_addr *a)
{
    struct dcgw_uf_source s = {.version = a->version};
    __builtin_memcpy(s.prefix, a->addr, sizeof(s.prefix));
    __u64 now = bpf_ktime_get_ns();
    struct dcgw_uf_bucket *b = bpf_map_lookup_elem(&buckets, &s);
    if (!b) { /* a new source: a full bucket, less this datagram */
        struct dcgw_uf_bucket nb = {.tokens_ns = max_ns - cost_ns, .last_ns = now};
        bpf_map_update_elem(&buckets, &s, &nb, BPF_ANY);
        return 1;
    }
    __u64 tokens = b->tokens_ns + (now - b->last_ns);
    if (tokens > max_ns)
        tokens = max_ns;
    b->last_ns = now;
    if (tokens < cost_ns) {
        b->tokens_ns = tokens;
        return 0;
    }
    b->tokens_ns = tokens - cost_ns;
    return 1;
}

SEC("socket")
int dcgw_unknown_filter(struct __sk_buff *skb)
{
    struct dcgw_uf_addr a = {};
    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        a.version = 4;
        if (bpf_skb_load_bytes_relative(skb, 12, a.addr, 4, BPF_HDR_START_NET) < 0)
            return -1;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        a.version = 6;
        if (bpf_skb_load_bytes_relative(skb, 8, a.addr, 16, BPF_HDR_START_NET) < 0)
            return -1;
    } else {
        return -1; /* not IP: not ours to judge */
    }
    if (bpf_skb_load_bytes(skb, 0, &a.port, sizeof(a.port)) < 0) /* UDP source port */
        return -1;
    if (bpf_map_lookup_elem(&known, &a))
        return -1;
    /* an unknown source: a STUN Binding request (RFC 8489 §5-6), or nothing */
    struct {
        __be16 type, length;
        __be32 cookie;
    } h;
    if (bpf_skb_load_bytes(skb, 8, &h, sizeof(h)) < 0 ||
        h.type != bpf_htons(STUN_BINDING_REQUEST) || h.cookie != bpf_htonl(STUN_MAGIC_COOKIE))
        return drop(DCGW_UF_DROPPED);
    if (cost_ns && !take(&a))
        return drop(DCGW_UF_LIMITED);
    return -1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
