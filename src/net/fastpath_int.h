/* Internal state shared by the fast path's flow table (fastpath.c) and its BPF loader
 * (fastpath_bpf.c). */
#ifndef DCGW_FASTPATH_INT_H
#define DCGW_FASTPATH_INT_H

#include "dcgw/net/fastpath.h"

struct dcgw_fastpath_flow {
    struct dcgw_fastpath_flow *prev, *next;
    struct dcgw_fp_key key[2]; /* direction k: from peer k to dcgw */
    uint32_t slot[2], gen[2];
};

struct dcgw_fastpath {
    struct dcgw_fastpath_ops ops;
    uint32_t max_flows, nslots;
    uint32_t *free_slots, nfree;
    uint32_t next_gen;
    struct dcgw_fastpath_flow *flows; /* every live flow, for close */
    struct dcgw_fastpath_stats st;
    /* the loader's: its state, the program's own counters, and its teardown */
    void *backend;
    void (*backend_stats)(struct dcgw_fastpath *fp, struct dcgw_fastpath_stats *out);
    void (*backend_close)(struct dcgw_fastpath *fp);
};

/* fastpath.c: a table over ops (copied) with 2 * max_flows slots. */
int dcgw__fastpath_table_init(struct dcgw_fastpath *fp, const struct dcgw_fastpath_ops *ops,
                              uint32_t max_flows);

#endif
