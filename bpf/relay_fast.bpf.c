/* The relay fast path (docs/fastpath.md): a TC ingress program that forwards the DTLS
 * application data of relay flows that dcgw offloaded, in the kernel.
 *
 *   peer A --> [ingress] key (A, dcgw) in flows?  no  --> the stack: dcgw's socket
 *                        every record type 23?    no  --> the stack: dcgw's socket
 *                        the route to B known?    no  --> the stack: dcgw's socket
 *                        gens[slot] == gen (lock) no  --> the stack: dcgw's socket
 *                        within the rate limits?  no  --> dropped, counted
 *                        rewrite (dcgw, B) --> local: the stack delivers it
 *                                          --> else: redirect to B's interface
 *
 * Only a datagram whose every record is application data (content type 23) of DTLS 1.0
 * or 1.2 in an epoch above 0, the records covering the UDP payload exactly, is taken:
 * STUN (consent), handshake, ChangeCipherSpec and alert records, and anything that does
 * not parse stay with dcgw, which keeps its checks for them. Every read of the packet is
 * bounds-checked (direct access against data_end, or bpf_skb_load_bytes). Built with
 * clang -target bpf against the UAPI headers only: the program reads no kernel structure,
 * so it needs no CO-RE relocation and loads unchanged on 6.1 and later. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dcgw/net/fastpath_abi.h"

/* Sizes are the loader's (fast_path.max_flows); these only make the object loadable. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct dcgw_fp_key);
    __type(value, struct dcgw_fp_fwd);
    __uint(max_entries, 2);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct dcgw_fp_slot);
    __uint(max_entries, 2);
} slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 2);
} gens SEC(".maps");

/* Datagrams the program looked at but left to the stack, by reason (for tests/stats). */
enum { MISS_NOT_APP_DATA = 0, MISS_NO_ROUTE, MISS_OFF, MISS_REWRITE, MISS_N };
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, MISS_N);
} misses SEC(".maps");

/* Not ours, or not for the fast path: the next program, else the stack. */
#define PASS TC_ACT_UNSPEC

struct pkt {
    struct dcgw_fp_key key;
    __u32 l3, l4;  /* offsets of the IP and UDP headers */
    __u32 payload; /* offset of the UDP payload */
    __u32 plen;    /* UDP payload bytes */
    __u32 ip_len;  /* IP packet bytes (for the route's MTU) */
    __u16 ip_csum; /* offset of the IPv4 header checksum; 0 for IPv6 */
};

static __always_inline void miss(__u32 why)
{
    __u64 *c = bpf_map_lookup_elem(&misses, &why);
    if (c)
        *c += 1;
}

/* Ethernet, then IPv4 without fragments or IPv6 without extension headers, then UDP. */
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return -1;
    p->l3 = sizeof(*eth);
    struct udphdr *udp;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = data + sizeof(*eth);
        if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5 ||
            ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
            return -1;
        p->l4 = p->l3 + ip->ihl * 4;
        p->ip_len = bpf_ntohs(ip->tot_len);
        p->ip_csum = p->l3 + __builtin_offsetof(struct iphdr, check);
        p->key.family = 4;
        __builtin_memcpy(p->key.saddr, &ip->saddr, 4);
        __builtin_memcpy(p->key.daddr, &ip->daddr, 4);
        if (p->ip_len < p->l4 - p->l3 + sizeof(*udp))
            return -1;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = data + sizeof(*eth);
        if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
            return -1;
        p->l4 = p->l3 + sizeof(*ip6);
        p->ip_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
        p->ip_csum = 0;
        p->key.family = 6;
        __builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
        __builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
    } else {
        return -1;
    }
    if (p->l4 > 128)
        return -1;
    udp = data + p->l4;
    if ((void *)(udp + 1) > end)
        return -1;
    __u32 ulen = bpf_ntohs(udp->len);
    if (ulen < sizeof(*udp) || ulen > p->ip_len - (p->l4 - p->l3) || p->l3 + p->ip_len > skb->len)
        return -1;
    p->key.sport = udp->source;
    p->key.dport = udp->dest;
    p->payload = p->l4 + sizeof(*udp);
    p->plen = ulen - sizeof(*udp);
    return 0;
}

/* Every record is DTLS 1.0/1.2 application data in an epoch above 0, and the records
 * cover the payload exactly (RFC 6347 §4.1). Anything else belongs to dcgw. */
static __always_inline int app_data_only(struct __sk_buff *skb, const struct pkt *p)
{
    __u32 off = 0;
    for (int i = 0; i < DCGW_FP_MAX_RECORDS; i++) {
        __u8 h[DCGW_FP_DTLS_HEADER];
        if (off + DCGW_FP_DTLS_HEADER > p->plen || off > 0xffff)
            return 0;
        if (bpf_skb_load_bytes(skb, p->payload + off, h, sizeof(h)) < 0)
            return 0;
        if (h[0] != DCGW_FP_CT_APPLICATION_DATA || h[1] != 0xfe || (h[2] != 0xfd && h[2] != 0xff))
            return 0;
        if (h[3] == 0 && h[4] == 0) /* epoch 0 carries no application data */
            return 0;
        off += DCGW_FP_DTLS_HEADER + ((__u32)h[11] << 8 | h[12]);
        if (off == p->plen)
            return 1;
    }
    return 0;
}

/* The route toward the other peer: 1 on this host (the loader said so: the stack delivers
 * the rewritten datagram), 2 through an interface (fib has its index and MAC addresses),
 * 0 unknown (dcgw's socket sends it, which also resolves the neighbour). The kernel's FIB
 * helper answers for IPv4 only where the ingress interface forwards (its forwarding
 * sysctl): elsewhere remote peers stay on the userspace path. */
static __always_inline int route(struct __sk_buff *skb, const struct pkt *p,
                                 const struct dcgw_fp_fwd *f, struct bpf_fib_lookup *fib)
{
    if (f->flags & DCGW_FP_FWD_LOCAL)
        return 1;
    __builtin_memset(fib, 0, sizeof(*fib));
    fib->l4_protocol = IPPROTO_UDP;
    fib->sport = f->sport;
    fib->dport = f->dport;
    fib->tot_len = p->ip_len;
    fib->ifindex = skb->ingress_ifindex;
    if (p->key.family == 4) {
        fib->family = 2; /* AF_INET */
        __builtin_memcpy(&fib->ipv4_src, f->saddr, 4);
        __builtin_memcpy(&fib->ipv4_dst, f->daddr, 4);
    } else {
        fib->family = 10; /* AF_INET6 */
        __builtin_memcpy(fib->ipv6_src, f->saddr, 16);
        __builtin_memcpy(fib->ipv6_dst, f->daddr, 16);
    }
    long r = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
    if (r == BPF_FIB_LKUP_RET_NOT_FWDED)
        return 1;
    return r == BPF_FIB_LKUP_RET_SUCCESS ? 2 : 0;
}

/* One GCRA step: the datagram's new tat, or 0 when it would exceed the burst. */
static __always_inline __u64 gcra(__u64 tat, __u64 cost, __u64 burst, __u64 now)
{
    __u64 t = tat > now ? tat : now;
    return t + cost - now <= burst ? t + cost : 0;
}

/* Under the slot's lock: still on, within the limits; counts it. 1 forward, 0 not ours
 * any more, -1 over a limit. */
static __always_inline int take(struct dcgw_fp_slot *s, const __u32 *gen,
                                const struct dcgw_fp_fwd *f, __u32 len, __u64 now)
{
    int v = 1;
    bpf_spin_lock(&s->lock);
    if (*gen != f->gen) {
        v = 0;
    } else {
        __u64 pt = s->pkt_cost_ns ? gcra(s->pkt_tat, s->pkt_cost_ns, s->pkt_burst_ns, now) : 1;
        __u64 bt = s->byte_cost_q16
                       ? gcra(s->byte_tat, (len * s->byte_cost_q16) >> 16, s->byte_burst_ns, now)
                       : 1;
        if (!pt || !bt) {
            s->rate_packets++;
            s->rate_bytes += len;
            v = -1;
        } else {
            if (s->pkt_cost_ns)
                s->pkt_tat = pt;
            if (s->byte_cost_q16)
                s->byte_tat = bt;
            s->packets++;
            s->bytes += len;
        }
    }
    bpf_spin_unlock(&s->lock);
    return v;
}

/* Addresses and ports rewritten, checksums updated incrementally (the helpers keep the
 * skb's checksum state right: full, partial or complete). */
static __always_inline int rewrite(struct __sk_buff *skb, const struct pkt *p,
                                   const struct dcgw_fp_fwd *f)
{
    __u32 alen = p->key.family == 4 ? 4 : 16;
    __u32 saddr_off = p->key.family == 4 ? p->l3 + __builtin_offsetof(struct iphdr, saddr)
                                         : p->l3 + __builtin_offsetof(struct ipv6hdr, saddr);
    __u32 ucsum = p->l4 + __builtin_offsetof(struct udphdr, check);
    __u8 old[32], now[32];
    __builtin_memset(old, 0, sizeof(old));
    __builtin_memset(now, 0, sizeof(now));
    __builtin_memcpy(old, p->key.saddr, 16);
    __builtin_memcpy(old + 16, p->key.daddr, 16);
    __builtin_memcpy(now, f->saddr, 16);
    __builtin_memcpy(now + 16, f->daddr, 16);
    __s64 d;
    if (alen == 4) {
        /* IPv4: saddr and daddr are adjacent; the diff covers both */
        __u8 o4[8], n4[8];
        __builtin_memcpy(o4, old, 4);
        __builtin_memcpy(o4 + 4, old + 16, 4);
        __builtin_memcpy(n4, now, 4);
        __builtin_memcpy(n4 + 4, now + 16, 4);
        d = bpf_csum_diff((__be32 *)o4, 8, (__be32 *)n4, 8, 0);
        if (d < 0 || bpf_l3_csum_replace(skb, p->ip_csum, 0, d, 0) < 0 ||
            bpf_l4_csum_replace(skb, ucsum, 0, d, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) < 0 ||
            bpf_skb_store_bytes(skb, saddr_off, n4, 8, 0) < 0)
            return -1;
    } else {
        d = bpf_csum_diff((__be32 *)old, 32, (__be32 *)now, 32, 0);
        if (d < 0 ||
            bpf_l4_csum_replace(skb, ucsum, 0, d, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) < 0 ||
            bpf_skb_store_bytes(skb, saddr_off, now, 32, 0) < 0)
            return -1;
    }
    __be16 op[2] = {p->key.sport, p->key.dport}, np[2] = {f->sport, f->dport};
    d = bpf_csum_diff((__be32 *)op, 4, (__be32 *)np, 4, 0);
    if (d < 0 || bpf_l4_csum_replace(skb, ucsum, 0, d, BPF_F_MARK_MANGLED_0) < 0 ||
        bpf_skb_store_bytes(skb, p->l4, np, 4, 0) < 0)
        return -1;
    return 0;
}

SEC("tc")
int dcgw_relay_fast(struct __sk_buff *skb)
{
    struct pkt p;
    __builtin_memset(&p, 0, sizeof(p));
    /* A coalesced buffer (GSO/GRO: several datagrams in one skb) is left to dcgw, whose io
     * splits it: counted here it would be one datagram. */
    if (skb->gso_segs > 1 || parse(skb, &p) < 0)
        return PASS;
    const struct dcgw_fp_fwd *f = bpf_map_lookup_elem(&flows, &p.key);
    if (!f)
        return PASS;
    if (!app_data_only(skb, &p)) {
        miss(MISS_NOT_APP_DATA);
        return PASS;
    }
    struct bpf_fib_lookup fib;
    int where = route(skb, &p, f, &fib);
    if (!where) {
        miss(MISS_NO_ROUTE);
        return PASS;
    }
    __u32 slot = f->slot;
    struct dcgw_fp_slot *s = bpf_map_lookup_elem(&slots, &slot);
    __u32 *gen = bpf_map_lookup_elem(&gens, &slot);
    if (!s || !gen)
        return PASS;
    int v = take(s, gen, f, p.plen, bpf_ktime_get_ns());
    if (v == 0) {
        miss(MISS_OFF);
        return PASS;
    }
    if (v < 0)
        return TC_ACT_SHOT;
    if (rewrite(skb, &p, f) < 0) {
        miss(MISS_REWRITE);
        return TC_ACT_SHOT;
    }
    if (where == 1)
        return TC_ACT_OK; /* on this host: the stack delivers it to the new address */
    if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) < 0 ||
        bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0) < 0)
        return TC_ACT_SHOT;
    return bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
