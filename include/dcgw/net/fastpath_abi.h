/* The fast path's BPF maps as both sides see them: the TC program (bpf/relay_fast.bpf.c,
 * clang -target bpf) and its loader (src/net/fastpath.c). UAPI types only, so the same
 * header compiles for the BPF target and for the host. docs/fastpath.md.
 *
 *   flows  hash  struct dcgw_fp_key -> struct dcgw_fp_fwd   one entry per offloaded direction
 *   slots  array struct dcgw_fp_slot                         counters and rate limits, locked
 *   gens   array __u32                                       a slot's generation; 0: off
 *
 * A direction forwards while gens[fwd.slot] == fwd.gen, read under the slot's lock, so the
 * loader turns a direction off by writing its generation (in place) and then reads the
 * slot's final counters under the same lock: nothing is counted after that read. */
#ifndef DCGW_FASTPATH_ABI_H
#define DCGW_FASTPATH_ABI_H

#include <linux/bpf.h>
#include <linux/types.h>

enum dcgw_fp_abi {
    DCGW_FP_MAX_RECORDS = 8, /* DTLS records per datagram read by the program; more: userspace */
    DCGW_FP_DTLS_HEADER = 13,
    DCGW_FP_CT_APPLICATION_DATA = 23, /* RFC 6347 §4.1 ContentType application_data */
    DCGW_FP_FWD_LOCAL = 1,            /* dcgw_fp_fwd.flags: the other peer is on this host */
};

/* A datagram as it arrives: from a peer (s*) to dcgw's socket (d*). Addresses in network
 * order, IPv4 in the first 4 bytes; every byte not used is 0. */
struct dcgw_fp_key {
    __u8 family; /* 4 or 6 */
    __u8 pad0;
    __be16 sport, dport;
    __u16 pad1;
    __u8 saddr[16], daddr[16];
};

/* What the datagram becomes: from dcgw's socket (s*) to the other peer (d*). */
struct dcgw_fp_fwd {
    __u32 slot; /* index in slots and gens */
    __u32 gen;  /* forwards while gens[slot] == gen */
    __be16 sport, dport;
    __u32 flags; /* DCGW_FP_FWD_* */
    __u8 saddr[16], daddr[16];
};

/* One direction's counters and limits. A limit is a GCRA (RFC 2698-like virtual
 * scheduling): each datagram moves tat by its cost; it passes while tat - now stays
 * within burst_ns. cost 0: unlimited. */
struct dcgw_fp_slot {
    struct bpf_spin_lock lock;
    __u32 pad;
    __u64 packets, bytes;           /* forwarded by the program */
    __u64 rate_packets, rate_bytes; /* dropped by the program's rate limits */
    __u64 pkt_tat, pkt_cost_ns, pkt_burst_ns;
    __u64 byte_tat, byte_cost_q16, byte_burst_ns; /* cost per byte, ns << 16 */
};

#endif
