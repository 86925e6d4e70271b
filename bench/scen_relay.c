/* Relay packet rate: the same data-channel messages between the same endpoints (A in the
 * bench, Z in the far end), directly and through a MODE_RELAY session of the dcgwd the
 * bench started, in the same run:
 *
 *   direct:  A ------------------------------ UDP ------------------------------> Z
 *   relay:   A --- hop "ue" ---> dcgwd (ICE per hop, DTLS inspector) --- hop "as" ---> Z
 *            DTLS and SCTP end to end between A and Z; dcgw forwards datagrams unchanged
 *
 * For each size (64 B, 1 KiB, 16 KiB of o.sizes) the paths take turns and the sweep repeats
 * o.repeat times: points are the median repeat by CPU per message (as tput_size), ratios
 * the median of the per-repeat relay/direct ratios. The relay's CPU is dcgwd's (master and
 * workers), the direct path's both endpoints'. dcgwd's per-session relay counters
 * (get_session), read before the flows start and after they drained, give the datagrams it
 * relayed both ways (A's data, Z's SACKs) per message, hence its CPU per relayed datagram. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "stats.h"

enum { RELAY_SETUP_MS = 20000 };

/* One measurement, and what dcgwd counted from its start to its drain (relay path only). */
struct rmeas {
    struct tput t;
    bool have_counts;
    uint64_t dgrams[2]; /* forwarded, start to drain: [0] from A (leg ue), [1] from Z (leg as) */
    uint64_t bytes[2], dropped, io_rx, io_tx;
    bool connected; /* both legs LEG_CONNECTED (both certificates verified) at the end */
};

/* dcgwd's counters are read (blocking) when the path is quiet: before the flows start and
 * after they drained. Over that span every message sent was delivered (t.msgs_all), so
 * the datagrams per message are exact; the CPU per datagram is the measured window's CPU
 * per message over them. */
struct snapctx {
    const char *sid;
    struct relay_counts c[2];
    int err[2];
};

static void at_snap(struct bench *b, void *arg, int which)
{
    struct snapctx *x = arg;
    x->err[which] = gw_relay_counts(b->gw, x->sid, &x->c[which]);
}

static int measure(struct bench *b, struct pairset *s, size_t size, struct rmeas *m)
{
    *m = (struct rmeas){0};
    if (s->path != PATH_RELAY)
        return tput_measure(b, s, size, b->o.duration_s, &m->t);
    struct snapctx x = {.sid = s->v[0]->sid};
    int r = tput_measure_hook(b, s, size, b->o.duration_s, &m->t, at_snap, &x);
    if (r < 0 || x.err[0] < 0 || x.err[1] < 0 || !m->t.drained || !m->t.msgs_all)
        return r;
    m->have_counts = true;
    for (int k = 0; k < 2; k++) {
        m->dgrams[k] = x.c[1].forwarded_packets[k] - x.c[0].forwarded_packets[k];
        m->bytes[k] = x.c[1].forwarded_bytes[k] - x.c[0].forwarded_bytes[k];
        m->dropped += x.c[1].dropped[k] - x.c[0].dropped[k];
    }
    m->io_rx = x.c[1].io_rx - x.c[0].io_rx;
    m->io_tx = x.c[1].io_tx - x.c[0].io_tx;
    m->connected = x.c[1].connected;
    return 0;
}

static double cpu_per_msg(const struct rmeas *m)
{
    return m->t.msgs ? (double)m->t.cpu_meas / (double)m->t.msgs : NAN;
}

/* Datagrams relayed (both ways) from the start to the drain. */
static uint64_t relayed(const struct rmeas *m)
{
    return m->dgrams[0] + m->dgrams[1];
}

static double dgrams_per_msg(const struct rmeas *m)
{
    return m->have_counts ? (double)relayed(m) / (double)m->t.msgs_all : NAN;
}

static double cpu_per_dgram(const struct rmeas *m)
{
    double d = dgrams_per_msg(m);
    return d > 0 ? cpu_per_msg(m) / d : NAN;
}

static int cmp_cpu(const void *a, const void *b)
{
    double x = cpu_per_msg(a), y = cpu_per_msg(b);
    x = isnan(x) ? INFINITY : x;
    y = isnan(y) ? INFINITY : y;
    return x < y ? -1 : x > y;
}

static const char *COLS = "size     path          msg/s      MB/s  cpu/msg(us)  cpu/MB(ms) "
                          " ends/msg(us)  dgram/msg  cpu/dgram(us)   lost";

static void row(struct bench *b, enum bench_path p, const char *label, const struct rmeas *m)
{
    const struct tput *t = &m->t;
    if (!t->msgs) {
        report_row(b, "%-8s %-9s no message delivered (%llu sent and lost, %llu send errors)",
                   label, bench_path_name(p), (unsigned long long)t->lost,
                   (unsigned long long)t->send_errors);
        return;
    }
    double n = (double)t->msgs;
    char dg[32] = "", cd[32] = "";
    if (m->have_counts) {
        snprintf(dg, sizeof(dg), "%.2f", dgrams_per_msg(m));
        snprintf(cd, sizeof(cd), "%.2f", cpu_per_dgram(m) / 1e3);
    }
    report_row(
        b, "%-8s %-9s %10.0f %9.1f %12.2f %11.2f %13.2f %10s %14s %6llu", label, bench_path_name(p),
        n / t->secs, (double)t->bytes / 1e6 / t->secs, (double)t->cpu_meas / n / 1e3,
        t->bytes ? (double)t->cpu_meas / 1e6 / ((double)t->bytes / 1e6) : NAN,
        (double)t->cpu_ends / n / 1e3, dg, cd, (unsigned long long)(t->lost + t->send_errors));
}

static json_t *point(enum bench_path p, size_t size, struct rmeas *reps, unsigned n)
{
    json_t *all = json_array();
    for (unsigned r = 0; r < n; r++)
        json_array_append_new(all, jnum(cpu_per_msg(&reps[r])));
    qsort(reps, n, sizeof(*reps), cmp_cpu);
    const struct rmeas *m = &reps[n / 2];
    json_t *pt = tput_point(p, size, &m->t);
    json_object_set_new(pt, "repeats_cpu_ns_per_msg", all);
    if (m->have_counts) {
        /* Counted from the start of the warm-up to the drain (messages_all messages); the
         * rate is the measured window's messages/s times the datagrams per message. */
        json_object_set_new(
            pt, "relay",
            json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I,s:I}", "legs_connected",
                      m->connected, "messages_all", (json_int_t)m->t.msgs_all, "datagrams",
                      (json_int_t)relayed(m), "datagrams_a_to_z", (json_int_t)m->dgrams[0],
                      "datagrams_z_to_a", (json_int_t)m->dgrams[1], "bytes_a_to_z",
                      (json_int_t)m->bytes[0], "bytes_z_to_a", (json_int_t)m->bytes[1],
                      "datagrams_per_msg", jnum(dgrams_per_msg(m)), "cpu_ns_per_datagram",
                      jnum(cpu_per_dgram(m)), "datagrams_per_s",
                      jnum((double)m->t.msgs / m->t.secs * dgrams_per_msg(m)), "dropped",
                      (json_int_t)m->dropped, "io_rx_packets", (json_int_t)m->io_rx,
                      "io_tx_packets", (json_int_t)m->io_tx));
    }
    return pt;
}

/* The sizes measured (indices into o.sizes): 64 B, 1 KiB and 16 KiB when the list has
 * them, else every size of the list. */
static unsigned pick_sizes(const struct bench_opts *o, unsigned *idx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] == 64 || o->sizes[i] == 1024 || o->sizes[i] == 16384)
            idx[n++] = i;
    if (n == 0)
        for (unsigned i = 0; i < o->n_sizes; i++)
            idx[n++] = i;
    return n;
}

static double ratio(double x, double y)
{
    return isfinite(x) && isfinite(y) && y > 0 ? x / y : NAN;
}

/* The relay's figures against the direct path's at one size. Ratios are taken per repeat
 * (direct and relay ran back to back) and the median of those reported: a change in the
 * machine's load between repeats then hits both sides of a ratio alike. */
struct rsum {
    double msgs, mb, cpu;         /* relay / direct: msg/s, MB/s, CPU per message */
    double cpu_relay, cpu_direct; /* ns per message, medians */
    double cpu_dgram;             /* dcgwd's ns per relayed datagram, median */
};

static double rate(const struct rmeas *m, bool bytes)
{
    if (!m->t.msgs)
        return NAN;
    return (bytes ? (double)m->t.bytes / 1e6 : (double)m->t.msgs) / m->t.secs;
}

static struct rsum sum_of(const struct rmeas *d, const struct rmeas *r, unsigned n)
{
    double v[6][BENCH_REPEAT_MAX];
    for (unsigned k = 0; k < n; k++) {
        v[0][k] = ratio(rate(&r[k], false), rate(&d[k], false));
        v[1][k] = ratio(rate(&r[k], true), rate(&d[k], true));
        v[2][k] = ratio(cpu_per_msg(&r[k]), cpu_per_msg(&d[k]));
        v[3][k] = cpu_per_msg(&r[k]);
        v[4][k] = cpu_per_msg(&d[k]);
        v[5][k] = cpu_per_dgram(&r[k]);
    }
    return (struct rsum){bench_median(v[0], n), bench_median(v[1], n), bench_median(v[2], n),
                         bench_median(v[3], n), bench_median(v[4], n), bench_median(v[5], n)};
}

static void summarize(struct bench *b, json_t *sum, unsigned i, const struct rsum *x)
{
    size_t size = b->o.sizes[i];
    double per_core = x->cpu_dgram > 0 ? 1e9 / x->cpu_dgram : NAN;
    json_array_append_new(
        sum, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "size", (json_int_t)size,
                       "relay_over_direct_msgs_per_s", jnum(x->msgs), "relay_over_direct_mb_per_s",
                       jnum(x->mb), "relay_cpu_over_direct_cpu_per_msg", jnum(x->cpu),
                       "relay_cpu_ns_per_msg", jnum(x->cpu_relay), "direct_cpu_ns_per_msg",
                       jnum(x->cpu_direct), "relay_cpu_ns_per_datagram", jnum(x->cpu_dgram),
                       "relay_datagrams_per_cpu_s", jnum(per_core)));
    if (size == 1024) {
        b->f.relay_over_direct_1k = x->cpu;
        b->f.relay_cpu_ns_per_datagram_1k = x->cpu_dgram;
    }
    report_row(b,
               "%-8zu relay/direct: msg/s %.2fx, MB/s %.2fx, CPU per message %.2fx (dcgwd %.2f us "
               "vs both endpoints %.2f us); %.2f us per relayed datagram = %.0fk datagrams/s "
               "per core",
               size, x->msgs, x->mb, x->cpu, x->cpu_relay / 1e3, x->cpu_direct / 1e3,
               x->cpu_dgram / 1e3, per_core / 1e3);
}

/* The findings (by o.sizes index) from the median relay point. */
static void record(struct bench *b, unsigned i, const struct rmeas *r)
{
    if (!r->t.msgs)
        return;
    b->f.msgs_per_s[PATH_RELAY][i] = rate(r, false);
    b->f.mb_per_s[PATH_RELAY][i] = rate(r, true);
    b->f.cpu_ns_per_msg[PATH_RELAY][i] = cpu_per_msg(r);
}

/* Why a pair of the set is not ready, for the JSON. */
static const char *set_why(const struct pairset *s)
{
    for (unsigned i = 0; s && i < s->started; i++)
        if (s->v[i]->state != PAIR_READY && s->v[i]->why[0])
            return s->v[i]->why;
    return s ? "set-up timed out" : "out of memory";
}

static int run(struct bench *b, json_t *res, struct pairset *sets[2], const unsigned *idx,
               unsigned ns)
{
    static const enum bench_path paths[2] = {PATH_DIRECT, PATH_RELAY};
    unsigned nr = b->o.repeat;
    struct rmeas *m = calloc((size_t)2 * ns * nr, sizeof(*m));
    if (!m)
        return -1;
#define M(p, i, r) m[((size_t)(p)*ns + (i)) * nr + (r)]
    for (unsigned r = 0; r < nr; r++)
        for (unsigned i = 0; i < ns; i++)
            for (int k = 0; k < 2; k++) {
                if (sets[k]->v[0]->state != PAIR_READY)
                    continue;
                size_t size = b->o.sizes[idx[i]];
                if (measure(b, sets[k], size, &M(k, i, r)) < 0)
                    continue;
                char label[16];
                snprintf(label, sizeof(label), nr > 1 ? "%zu#%u" : "%zu", size, r + 1);
                row(b, paths[k], label, &M(k, i, r));
            }
    struct rsum sums[BENCH_SIZES_MAX];
    for (unsigned i = 0; i < ns; i++)
        sums[i] = sum_of(&M(0, i, 0), &M(1, i, 0), nr); /* before point() sorts the repeats */
    json_t *pts = json_array(), *sum = json_array();
    json_object_set_new(res, "points", pts);
    json_object_set_new(res, "summary", sum);
    if (nr > 1)
        report_row(b, "-- median of %u by CPU per message", nr);
    for (unsigned i = 0; i < ns; i++) {
        for (int k = 0; k < 2; k++) {
            json_array_append_new(pts, point(paths[k], b->o.sizes[idx[i]], &M(k, i, 0), nr));
            if (nr > 1) {
                char label[16];
                snprintf(label, sizeof(label), "%zu", b->o.sizes[idx[i]]);
                row(b, paths[k], label, &M(k, i, nr / 2));
            }
        }
    }
    if (nr > 1)
        report_row(b, "-- ratios: median over the %u repeats of relay / direct in each", nr);
    for (unsigned i = 0; i < ns; i++) {
        record(b, idx[i], &M(1, i, nr / 2));
        summarize(b, sum, idx[i], &sums[i]);
    }
#undef M
    free(m);
    return 0;
}

int scen_relay(struct bench *b, json_t *res)
{
    unsigned idx[BENCH_SIZES_MAX];
    unsigned ns = pick_sizes(&b->o, idx);
    json_t *sizes = json_array();
    for (unsigned i = 0; i < ns; i++)
        json_array_append_new(sizes, json_integer((json_int_t)b->o.sizes[idx[i]]));
    json_object_set_new(res, "sizes", sizes);
    json_object_set_new(res, "repeats", json_integer(b->o.repeat));
    report_table_header(b, "relay packet rate (1 session, 1 channel; relay: DTLS end to end)",
                        COLS);
    if (!b->gw) {
        bench_note(b, "relay: no dcgwd, not measured");
        json_object_set_new(res, "error", json_string("no dcgwd"));
        return -1;
    }
    struct pairset *sets[2];
    sets[0] = pairset_setup(b, PATH_DIRECT, 1, 1, 1, false, RELAY_SETUP_MS);
    sets[1] = pairset_setup(b, PATH_RELAY, 1, 1, 1, false, RELAY_SETUP_MS);
    int r = 0;
    for (int k = 0; k < 2; k++)
        if (!sets[k] || sets[k]->ready != 1) {
            enum bench_path p = k ? PATH_RELAY : PATH_DIRECT;
            bench_note(b, "relay scenario: %s session not set up: %s", bench_path_name(p),
                       set_why(sets[k]));
            json_object_set_new(
                res, "error",
                json_pack("{s:s,s:s}", "path", bench_path_name(p), "reason", set_why(sets[k])));
            r = -1;
        }
    if (r == 0)
        r = run(b, res, sets, idx, ns);
    for (int k = 0; k < 2; k++)
        pairset_free(sets[k]);
    return r;
}
