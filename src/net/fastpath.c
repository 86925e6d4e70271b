/* The fast path's flow table (include/dcgw/net/fastpath.h, docs/fastpath.md): slots,
 * generations and map entries of offloaded relay flows, over a vtable of map operations.
 * The BPF loader is fastpath_bpf.c. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "fastpath_int.h"

int dcgw_fastpath_key(const struct sockaddr *from, const struct sockaddr *to,
                      struct dcgw_fp_key *out)
{
    memset(out, 0, sizeof(*out));
    if (from->sa_family != to->sa_family)
        return DCGW_EINVAL;
    if (from->sa_family == AF_INET) {
        const struct sockaddr_in *f = (const void *)from, *t = (const void *)to;
        out->family = 4;
        out->sport = f->sin_port;
        out->dport = t->sin_port;
        memcpy(out->saddr, &f->sin_addr, 4);
        memcpy(out->daddr, &t->sin_addr, 4);
        return 0;
    }
    if (from->sa_family == AF_INET6) {
        const struct sockaddr_in6 *f = (const void *)from, *t = (const void *)to;
        out->family = 6;
        out->sport = f->sin6_port;
        out->dport = t->sin6_port;
        memcpy(out->saddr, &f->sin6_addr, 16);
        memcpy(out->daddr, &t->sin6_addr, 16);
        return 0;
    }
    return DCGW_EINVAL;
}

static bool wildcard(const struct dcgw_fp_key *k)
{
    static const uint8_t zero[16];
    return memcmp(k->daddr, zero, k->family == 4 ? 4 : 16) == 0 || k->dport == 0;
}

/* ns per unit at rate r, as GCRA cost; q16: in 1/65536 ns (bytes at high rates). */
static uint64_t cost_of(uint64_t rate, bool q16)
{
    if (!rate)
        return 0;
    uint64_t c = q16 ? (1000000000ull << 16) / rate : 1000000000ull / rate;
    return c ? c : 1;
}

void dcgw_fastpath_slot_limits(const struct dcgw_fastpath_limits *lim, struct dcgw_fp_slot *s)
{
    s->pkt_cost_ns = cost_of(lim->packets_per_s, false);
    s->pkt_burst_ns = s->pkt_cost_ns * (lim->burst_packets ? lim->burst_packets : 1);
    s->byte_cost_q16 = cost_of(lim->bytes_per_s, true);
    s->byte_burst_ns = (s->byte_cost_q16 * (lim->burst_bytes ? lim->burst_bytes : 1)) >> 16;
    s->pkt_tat = s->byte_tat = 0;
}

int dcgw__fastpath_table_init(struct dcgw_fastpath *fp, const struct dcgw_fastpath_ops *ops,
                              uint32_t max_flows)
{
    if (!ops || !ops->update || !ops->lookup || !ops->remove)
        return DCGW_EINVAL;
    if (!max_flows)
        max_flows = DCGW_FAST_PATH_FLOWS_DEFAULT;
    if (max_flows > DCGW_FAST_PATH_FLOWS_CEILING)
        return DCGW_ERANGE;
    fp->ops = *ops;
    fp->max_flows = max_flows;
    fp->nslots = 2 * max_flows;
    fp->free_slots = malloc(sizeof(uint32_t) * fp->nslots);
    if (!fp->free_slots)
        return DCGW_ENOMEM;
    for (uint32_t i = 0; i < fp->nslots; i++) /* slot 0 is handed out first */
        fp->free_slots[i] = fp->nslots - 1 - i;
    fp->nfree = fp->nslots;
    fp->st.max_flows = max_flows;
    fp->st.attach = "table";
    return 0;
}

int dcgw_fastpath_new_table(const struct dcgw_fastpath_ops *ops, uint32_t max_flows,
                            struct dcgw_fastpath **out)
{
    struct dcgw_fastpath *fp = calloc(1, sizeof(*fp));
    if (!fp)
        return DCGW_ENOMEM;
    int r = dcgw__fastpath_table_init(fp, ops, max_flows);
    if (r < 0) {
        free(fp);
        return r;
    }
    *out = fp;
    return 0;
}

static uint32_t new_gen(struct dcgw_fastpath *fp)
{
    if (++fp->next_gen == 0)
        fp->next_gen = 1;
    return fp->next_gen;
}

/* Direction k of f off: generation 0, written in place; the program reads it under the
 * slot's lock. */
static void dir_off(struct dcgw_fastpath *fp, struct dcgw_fastpath_flow *f, int k)
{
    uint32_t zero = 0;
    if (fp->ops.update(fp->ops.ud, DCGW_FP_MAP_GENS, &f->slot[k], &zero, BPF_ANY) < 0)
        fp->st.errors++;
}

/* Direction k's counts, read under the slot's lock. */
static int dir_read(struct dcgw_fastpath *fp, const struct dcgw_fastpath_flow *f, int k,
                    struct dcgw_fastpath_counts *out)
{
    struct dcgw_fp_slot v;
    memset(&v, 0, sizeof(v));
    int r = fp->ops.lookup(fp->ops.ud, DCGW_FP_MAP_SLOTS, &f->slot[k], &v, BPF_F_LOCK);
    if (r < 0)
        fp->st.errors++;
    *out = (struct dcgw_fastpath_counts){v.packets, v.bytes, v.rate_packets, v.rate_bytes};
    return r < 0 ? DCGW_EIO : 0;
}

static void unlink_flow(struct dcgw_fastpath *fp, struct dcgw_fastpath_flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else if (fp->flows == f)
        fp->flows = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

/* Undoes an add that got as far as `entries` map entries (slots and gens are set). */
static void undo(struct dcgw_fastpath *fp, struct dcgw_fastpath_flow *f, int entries)
{
    for (int k = 0; k < entries; k++)
        fp->ops.remove(fp->ops.ud, DCGW_FP_MAP_FLOWS, &f->key[k]);
    for (int k = 0; k < 2; k++) {
        uint32_t zero = 0;
        fp->ops.update(fp->ops.ud, DCGW_FP_MAP_GENS, &f->slot[k], &zero, BPF_ANY);
        fp->free_slots[fp->nfree++] = f->slot[k];
    }
    free(f);
}

static int fwd_of(const struct sockaddr *local, const struct sockaddr *to, uint32_t slot,
                  uint32_t gen, struct dcgw_fp_fwd *out)
{
    struct dcgw_fp_key k; /* local -> to, as it will leave */
    int r = dcgw_fastpath_key(local, to, &k);
    memset(out, 0, sizeof(*out));
    out->slot = slot;
    out->gen = gen;
    out->sport = k.sport;
    out->dport = k.dport;
    memcpy(out->saddr, k.saddr, sizeof(out->saddr));
    memcpy(out->daddr, k.daddr, sizeof(out->daddr));
    return r;
}

static int map_err(int r)
{
    if (r == -E2BIG || r == -ENOMEM || r == -ENOSPC)
        return DCGW_ELIMIT;
    return r == -EEXIST ? DCGW_EEXIST : DCGW_EIO;
}

int dcgw_fastpath_add(struct dcgw_fastpath *fp, const struct sockaddr *local,
                      const struct sockaddr *const peer[2],
                      const struct dcgw_fastpath_limits lim[2], struct dcgw_fastpath_flow **out)
{
    if (!fp || !local || !peer[0] || !peer[1] || !out)
        return DCGW_EINVAL;
    if (fp->st.flows >= fp->max_flows || fp->nfree < 2) {
        fp->st.full++;
        return DCGW_ELIMIT;
    }
    struct dcgw_fastpath_flow *f = calloc(1, sizeof(*f));
    if (!f)
        return DCGW_ENOMEM;
    struct dcgw_fp_fwd fwd[2];
    for (int k = 0; k < 2; k++) {
        if (dcgw_fastpath_key(peer[k], local, &f->key[k]) < 0 || wildcard(&f->key[k]) ||
            fwd_of(local, peer[1 - k], 0, 0, &fwd[k]) < 0) {
            free(f);
            return DCGW_EINVAL;
        }
    }
    for (int k = 0; k < 2; k++) {
        f->slot[k] = fp->free_slots[--fp->nfree];
        f->gen[k] = new_gen(fp);
        fwd[k].slot = f->slot[k];
        fwd[k].gen = f->gen[k];
        if (fp->ops.is_local && fp->ops.is_local(fp->ops.ud, peer[1 - k]))
            fwd[k].flags |= DCGW_FP_FWD_LOCAL;
    }
    int r = 0;
    for (int k = 0; k < 2 && r == 0; k++) {
        struct dcgw_fp_slot s;
        memset(&s, 0, sizeof(s));
        dcgw_fastpath_slot_limits(&lim[k], &s);
        r = fp->ops.update(fp->ops.ud, DCGW_FP_MAP_SLOTS, &f->slot[k], &s, BPF_F_LOCK);
        if (r == 0)
            r = fp->ops.update(fp->ops.ud, DCGW_FP_MAP_GENS, &f->slot[k], &f->gen[k], BPF_ANY);
    }
    int entries = 0; /* map entries in place */
    while (r == 0 && entries < 2) {
        r = fp->ops.update(fp->ops.ud, DCGW_FP_MAP_FLOWS, &f->key[entries], &fwd[entries],
                           BPF_NOEXIST);
        if (r == 0)
            entries++;
    }
    if (r < 0) {
        int e = map_err(r);
        if (e == DCGW_ELIMIT)
            fp->st.full++;
        else
            fp->st.errors++;
        undo(fp, f, entries);
        return e;
    }
    f->next = fp->flows;
    if (f->next)
        f->next->prev = f;
    fp->flows = f;
    fp->st.flows++;
    fp->st.added++;
    *out = f;
    return 0;
}

void dcgw_fastpath_remove(struct dcgw_fastpath *fp, struct dcgw_fastpath_flow *f,
                          struct dcgw_fastpath_counts final[2])
{
    if (!fp || !f)
        return;
    /* Off first, both directions, then the last reads: nothing is counted after them. */
    for (int k = 0; k < 2; k++)
        dir_off(fp, f, k);
    for (int k = 0; k < 2; k++) {
        struct dcgw_fastpath_counts c;
        dir_read(fp, f, k, &c);
        if (final)
            final[k] = c;
    }
    for (int k = 0; k < 2; k++) {
        if (fp->ops.remove(fp->ops.ud, DCGW_FP_MAP_FLOWS, &f->key[k]) < 0)
            fp->st.errors++;
        fp->free_slots[fp->nfree++] = f->slot[k];
    }
    unlink_flow(fp, f);
    fp->st.flows--;
    fp->st.removed++;
    free(f);
}

int dcgw_fastpath_read(struct dcgw_fastpath *fp, const struct dcgw_fastpath_flow *f,
                       struct dcgw_fastpath_counts out[2])
{
    for (int k = 0; k < 2; k++)
        if (dir_read(fp, f, k, &out[k]) < 0)
            return DCGW_EIO;
    return 0;
}

void dcgw_fastpath_stats(struct dcgw_fastpath *fp, struct dcgw_fastpath_stats *out)
{
    *out = fp->st;
    if (fp->backend_stats)
        fp->backend_stats(fp, out);
}

void dcgw_fastpath_close(struct dcgw_fastpath *fp)
{
    if (!fp)
        return;
    while (fp->flows)
        dcgw_fastpath_remove(fp, fp->flows, NULL);
    if (fp->backend_close)
        fp->backend_close(fp);
    free(fp->free_slots);
    free(fp);
}
