/* The fast path's flow table (include/dcgw/net/fastpath.h) over in-memory maps with the
 * bpf(2) semantics the loader relies on: entries and their forwarding both ways, slots
 * and generations, the order of a removal (off, final read, delete), capacity and the
 * rollback of an add the maps refuse, limits as GCRA parameters. The program itself, on
 * real maps: test_fastpath_bpf.c. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/net/fastpath.h"
#include "helper_suite.h"

enum { FLOWS_CAP = 64, SLOTS = 64, LOG_MAX = 64 };

struct fake {
    struct {
        bool used;
        struct dcgw_fp_key k;
        struct dcgw_fp_fwd v;
    } flows[FLOWS_CAP];
    unsigned flows_cap; /* hash capacity: more entries fail with E2BIG */
    struct dcgw_fp_slot slots[SLOTS];
    uint32_t gens[SLOTS];
    int fail_flows_after; /* >= 0: the flows insert after this many succeeds fails (EIO) */
    char log[LOG_MAX][16];
    unsigned nlog;
};

static void note(struct fake *f, const char *what, enum dcgw_fastpath_map m)
{
    static const char *const names[] = {"flows", "slots", "gens"};
    if (f->nlog < LOG_MAX)
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s %s", what, names[m]);
}

static int find(struct fake *f, const void *key)
{
    for (int i = 0; i < FLOWS_CAP; i++)
        if (f->flows[i].used && memcmp(&f->flows[i].k, key, sizeof(struct dcgw_fp_key)) == 0)
            return i;
    return -1;
}

static unsigned nflows(const struct fake *f)
{
    unsigned n = 0;
    for (int i = 0; i < FLOWS_CAP; i++)
        n += f->flows[i].used;
    return n;
}

static int f_update(void *ud, enum dcgw_fastpath_map m, const void *key, const void *val,
                    uint64_t flags)
{
    struct fake *f = ud;
    note(f, "update", m);
    if (m == DCGW_FP_MAP_FLOWS) {
        int i = find(f, key);
        if (i >= 0 && flags == BPF_NOEXIST)
            return -EEXIST;
        if (f->fail_flows_after == 0)
            return -EIO;
        if (f->fail_flows_after > 0)
            f->fail_flows_after--;
        if (i < 0) {
            if (nflows(f) >= f->flows_cap)
                return -E2BIG;
            for (i = 0; f->flows[i].used; i++)
                ;
        }
        f->flows[i].used = true;
        memcpy(&f->flows[i].k, key, sizeof(f->flows[i].k));
        memcpy(&f->flows[i].v, val, sizeof(f->flows[i].v));
        return 0;
    }
    uint32_t s = *(const uint32_t *)key;
    if (s >= SLOTS)
        return -E2BIG;
    if (m == DCGW_FP_MAP_SLOTS) {
        ck_assert_uint_eq(flags, BPF_F_LOCK);
        memcpy(&f->slots[s], val, sizeof(f->slots[s]));
    } else {
        f->gens[s] = *(const uint32_t *)val;
    }
    return 0;
}

static int f_lookup(void *ud, enum dcgw_fastpath_map m, const void *key, void *val, uint64_t flags)
{
    struct fake *f = ud;
    note(f, "lookup", m);
    ck_assert_int_eq(m, DCGW_FP_MAP_SLOTS);
    ck_assert_uint_eq(flags, BPF_F_LOCK);
    uint32_t s = *(const uint32_t *)key;
    if (s >= SLOTS)
        return -ENOENT;
    memcpy(val, &f->slots[s], sizeof(f->slots[s]));
    return 0;
}

static int f_remove(void *ud, enum dcgw_fastpath_map m, const void *key)
{
    struct fake *f = ud;
    note(f, "delete", m);
    int i = find(f, key);
    if (i < 0)
        return -ENOENT;
    f->flows[i].used = false;
    return 0;
}

/* Peers in 198.51.100.0/24 are "on this host". */
static bool f_is_local(void *ud, const struct sockaddr *a)
{
    (void)ud;
    return a->sa_family == AF_INET &&
           (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 8) == 0xc63364;
}

static struct dcgw_fastpath *table(struct fake *f, uint32_t max_flows)
{
    memset(f, 0, sizeof(*f));
    f->flows_cap = FLOWS_CAP;
    f->fail_flows_after = -1;
    struct dcgw_fastpath_ops ops = {.ud = f,
                                    .update = f_update,
                                    .lookup = f_lookup,
                                    .remove = f_remove,
                                    .is_local = f_is_local};
    struct dcgw_fastpath *fp = NULL;
    ck_assert_int_eq(dcgw_fastpath_new_table(&ops, max_flows, &fp), 0);
    return fp;
}

static struct sockaddr_storage A, B, W, W6, A6, B6, ANY;
static const struct dcgw_fastpath_limits NOLIM[2];

static void addrs(void)
{
    dcgw_addr_parse("192.0.2.1:1000", &A);
    dcgw_addr_parse("198.51.100.2:2000", &B);
    dcgw_addr_parse("203.0.113.9:5000", &W);
    dcgw_addr_parse("[2001:db8::1]:1000", &A6);
    dcgw_addr_parse("[2001:db8::2]:2000", &B6);
    dcgw_addr_parse("[2001:db8::9]:5000", &W6);
    dcgw_addr_parse("0.0.0.0:5000", &ANY);
}

static int add(struct dcgw_fastpath *fp, const struct sockaddr_storage *w,
               const struct sockaddr_storage *p0, const struct sockaddr_storage *p1,
               struct dcgw_fastpath_flow **out)
{
    const struct sockaddr *peers[2] = {(const struct sockaddr *)p0, (const struct sockaddr *)p1};
    return dcgw_fastpath_add(fp, (const struct sockaddr *)w, peers, NOLIM, out);
}

/* The entry of datagrams from `from` to `to`, forwarded from `src` to `dst`. */
static void expect_entry(struct fake *f, const struct sockaddr_storage *from,
                         const struct sockaddr_storage *to, const struct sockaddr_storage *src,
                         const struct sockaddr_storage *dst)
{
    struct dcgw_fp_key k, out;
    ck_assert_int_eq(dcgw_fastpath_key((void *)from, (void *)to, &k), 0);
    int i = find(f, &k);
    ck_assert_int_ge(i, 0);
    const struct dcgw_fp_fwd *v = &f->flows[i].v;
    ck_assert_int_eq(dcgw_fastpath_key((void *)src, (void *)dst, &out), 0);
    ck_assert_mem_eq(v->saddr, out.saddr, 16);
    ck_assert_mem_eq(v->daddr, out.daddr, 16);
    ck_assert_uint_eq(v->sport, out.sport);
    ck_assert_uint_eq(v->dport, out.dport);
    ck_assert_uint_lt(v->slot, SLOTS);
    ck_assert_uint_ne(v->gen, 0);
    ck_assert_uint_eq(f->gens[v->slot], v->gen); /* on */
}

START_TEST(both_directions_are_entries)
{
    addrs();
    struct fake f;
    struct dcgw_fastpath *fp = table(&f, 8);
    struct dcgw_fastpath_flow *fl = NULL, *fl6 = NULL;
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl), 0);
    ck_assert_int_eq(add(fp, &W6, &A6, &B6, &fl6), 0);
    ck_assert_uint_eq(nflows(&f), 4);
    expect_entry(&f, &A, &W, &W, &B); /* A -> dcgw becomes dcgw -> B */
    expect_entry(&f, &B, &W, &W, &A);
    expect_entry(&f, &A6, &W6, &W6, &B6);
    expect_entry(&f, &B6, &W6, &W6, &A6);
    /* toward B (on this host) the stack delivers; toward A it is routed */
    struct dcgw_fp_key ka, kb;
    dcgw_fastpath_key((void *)&A, (void *)&W, &ka);
    dcgw_fastpath_key((void *)&B, (void *)&W, &kb);
    ck_assert_uint_eq(f.flows[find(&f, &ka)].v.flags, DCGW_FP_FWD_LOCAL);
    ck_assert_uint_eq(f.flows[find(&f, &kb)].v.flags, 0);
    struct dcgw_fp_key k;
    dcgw_fastpath_key((void *)&A, (void *)&W, &k);
    ck_assert_uint_eq(k.family, 4);
    ck_assert_uint_eq(k.sport, htons(1000));
    ck_assert_uint_eq(k.dport, htons(5000));
    struct dcgw_fastpath_stats st;
    dcgw_fastpath_stats(fp, &st);
    ck_assert_uint_eq(st.flows, 2);
    ck_assert_uint_eq(st.added, 2);
    ck_assert_str_eq(st.attach, "table");
    dcgw_fastpath_close(fp); /* removes both flows */
    ck_assert_uint_eq(nflows(&f), 0);
    for (int s = 0; s < SLOTS; s++)
        ck_assert_uint_eq(f.gens[s], 0);
}
END_TEST

START_TEST(remove_turns_off_then_reads_then_deletes)
{
    addrs();
    struct fake f;
    struct dcgw_fastpath *fp = table(&f, 8);
    struct dcgw_fastpath_flow *fl = NULL;
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl), 0);
    /* what the program counted, per slot */
    struct dcgw_fp_key k;
    dcgw_fastpath_key((void *)&A, (void *)&W, &k);
    uint32_t sa = f.flows[find(&f, &k)].v.slot;
    dcgw_fastpath_key((void *)&B, (void *)&W, &k);
    uint32_t sb = f.flows[find(&f, &k)].v.slot;
    ck_assert_uint_ne(sa, sb);
    f.slots[sa].packets = 10, f.slots[sa].bytes = 12000, f.slots[sa].rate_packets = 3;
    f.slots[sb].packets = 7, f.slots[sb].bytes = 700;
    struct dcgw_fastpath_counts c[2];
    ck_assert_int_eq(dcgw_fastpath_read(fp, fl, c), 0);
    ck_assert_uint_eq(c[0].packets, 10);
    ck_assert_uint_eq(c[0].rate_packets, 3);
    ck_assert_uint_eq(c[1].bytes, 700);
    f.nlog = 0;
    f.slots[sa].packets = 11; /* one more before the removal */
    dcgw_fastpath_remove(fp, fl, c);
    ck_assert_uint_eq(c[0].packets, 11);
    ck_assert_uint_eq(c[0].bytes, 12000);
    ck_assert_uint_eq(c[1].packets, 7);
    /* both directions off before any final read, every read before any delete */
    const char *want[] = {"update gens",  "update gens",  "lookup slots",
                          "lookup slots", "delete flows", "delete flows"};
    ck_assert_uint_eq(f.nlog, 6);
    for (unsigned i = 0; i < 6; i++)
        ck_assert_str_eq(f.log[i], want[i]);
    ck_assert_uint_eq(f.gens[sa], 0);
    ck_assert_uint_eq(f.gens[sb], 0);
    ck_assert_uint_eq(nflows(&f), 0);
    dcgw_fastpath_close(fp);
}
END_TEST

START_TEST(capacity_and_slot_reuse)
{
    addrs();
    struct fake f;
    struct dcgw_fastpath *fp = table(&f, 2);
    struct dcgw_fastpath_flow *fl[3] = {NULL, NULL, NULL};
    struct sockaddr_storage C;
    dcgw_addr_parse("192.0.2.3:3000", &C);
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl[0]), 0);
    ck_assert_int_eq(add(fp, &W6, &A6, &B6, &fl[1]), 0);
    /* max_flows reached: the third stays in userspace, nothing changes in the maps */
    ck_assert_int_eq(add(fp, &W, &C, &B, &fl[2]), DCGW_ELIMIT);
    ck_assert_ptr_null(fl[2]);
    ck_assert_uint_eq(nflows(&f), 4);
    struct dcgw_fastpath_stats st;
    dcgw_fastpath_stats(fp, &st);
    ck_assert_uint_eq(st.full, 1);
    ck_assert_uint_eq(st.max_flows, 2);
    /* a removed flow frees its slots; the next one takes them with new generations */
    struct dcgw_fp_key k;
    dcgw_fastpath_key((void *)&A, (void *)&W, &k);
    struct dcgw_fp_fwd old = f.flows[find(&f, &k)].v;
    dcgw_fastpath_remove(fp, fl[0], NULL);
    ck_assert_int_eq(add(fp, &W, &C, &B, &fl[2]), 0);
    dcgw_fastpath_key((void *)&C, (void *)&W, &k);
    struct dcgw_fp_fwd now = f.flows[find(&f, &k)].v;
    ck_assert_uint_ne(now.gen, old.gen); /* an in-flight lookup of the old entry is stale */
    ck_assert_uint_eq(f.gens[now.slot], now.gen);
    ck_assert_int_lt(find(&f, &(struct dcgw_fp_key){0}), 0);
    dcgw_fastpath_close(fp);
}
END_TEST

START_TEST(refused_add_leaves_nothing)
{
    addrs();
    struct fake f;
    struct dcgw_fastpath *fp = table(&f, 8);
    struct dcgw_fastpath_flow *fl = NULL;
    /* the hash is full after one entry: E2BIG on the second, the first is taken back */
    f.flows_cap = 1;
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl), DCGW_ELIMIT);
    ck_assert_uint_eq(nflows(&f), 0);
    for (int s = 0; s < SLOTS; s++)
        ck_assert_uint_eq(f.gens[s], 0);
    /* an I/O error on the first entry */
    f.flows_cap = FLOWS_CAP;
    f.fail_flows_after = 0;
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl), DCGW_EIO);
    ck_assert_uint_eq(nflows(&f), 0);
    f.fail_flows_after = -1;
    /* the same flow twice: EEXIST, the first one intact */
    ck_assert_int_eq(add(fp, &W, &A, &B, &fl), 0);
    struct dcgw_fastpath_flow *again = NULL;
    ck_assert_int_eq(add(fp, &W, &A, &B, &again), DCGW_EEXIST);
    ck_assert_uint_eq(nflows(&f), 2);
    expect_entry(&f, &A, &W, &W, &B);
    struct dcgw_fastpath_stats st;
    dcgw_fastpath_stats(fp, &st);
    ck_assert_uint_eq(st.flows, 1);
    ck_assert_uint_eq(st.full, 1);
    ck_assert_uint_eq(st.errors, 2);
    /* every slot came back: 8 flows still fit */
    dcgw_fastpath_remove(fp, fl, NULL);
    struct dcgw_fastpath_flow *many[9];
    for (int i = 0; i < 9; i++) {
        struct sockaddr_storage p, q;
        char t[32];
        snprintf(t, sizeof(t), "192.0.2.%d:4000", 10 + i);
        dcgw_addr_parse(t, &p);
        snprintf(t, sizeof(t), "198.51.100.%d:4000", 10 + i);
        dcgw_addr_parse(t, &q);
        ck_assert_int_eq(add(fp, &W, &p, &q, &many[i]), i < 8 ? 0 : DCGW_ELIMIT);
    }
    ck_assert_uint_eq(nflows(&f), 16);
    dcgw_fastpath_close(fp);
}
END_TEST

START_TEST(bad_addresses_are_refused)
{
    addrs();
    struct fake f;
    struct dcgw_fastpath *fp = table(&f, 8);
    struct dcgw_fastpath_flow *fl = NULL;
    ck_assert_int_eq(add(fp, &ANY, &A, &B, &fl), DCGW_EINVAL); /* wildcard local */
    ck_assert_int_eq(add(fp, &W, &A6, &B, &fl), DCGW_EINVAL);  /* mixed families */
    ck_assert_int_eq(add(fp, &W6, &A6, &B, &fl), DCGW_EINVAL);
    struct sockaddr_storage un = {.ss_family = AF_UNIX};
    ck_assert_int_eq(add(fp, &un, &un, &un, &fl), DCGW_EINVAL);
    ck_assert_uint_eq(nflows(&f), 0);
    struct dcgw_fastpath_ops none = {0};
    struct dcgw_fastpath *bad = NULL;
    ck_assert_int_eq(dcgw_fastpath_new_table(&none, 8, &bad), DCGW_EINVAL);
    dcgw_fastpath_close(fp);
    dcgw_fastpath_close(NULL);
}
END_TEST

START_TEST(limits_as_gcra)
{
    struct dcgw_fp_slot s;
    memset(&s, 0, sizeof(s));
    struct dcgw_fastpath_limits lim = {
        .packets_per_s = 1000, .bytes_per_s = 1000000, .burst_packets = 8, .burst_bytes = 16384};
    dcgw_fastpath_slot_limits(&lim, &s);
    ck_assert_uint_eq(s.pkt_cost_ns, 1000000);       /* 1 ms per datagram */
    ck_assert_uint_eq(s.pkt_burst_ns, 8000000);      /* 8 at once */
    ck_assert_uint_eq(s.byte_cost_q16, 1000u << 16); /* 1 us per byte */
    ck_assert_uint_eq(s.byte_burst_ns, 16384000);
    struct dcgw_fastpath_limits none = {0};
    dcgw_fastpath_slot_limits(&none, &s);
    ck_assert_uint_eq(s.pkt_cost_ns, 0); /* unlimited */
    ck_assert_uint_eq(s.byte_cost_q16, 0);
    struct dcgw_fastpath_limits fast = {.bytes_per_s = 4000000000ull, .burst_bytes = 1};
    dcgw_fastpath_slot_limits(&fast, &s);
    ck_assert_uint_eq(s.byte_cost_q16, (1000000000ull << 16) / 4000000000ull); /* < 1 ns */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fastpath");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, both_directions_are_entries);
    tcase_add_test(tc, remove_turns_off_then_reads_then_deletes);
    tcase_add_test(tc, capacity_and_slot_reuse);
    tcase_add_test(tc, refused_add_leaves_nothing);
    tcase_add_test(tc, bad_addresses_are_refused);
    tcase_add_test(tc, limits_as_gcra);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
