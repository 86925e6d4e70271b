/* Latency: ping-pong round trips, A -> (dcgw | Janus | nothing) -> far end -> back to A.
 *
 *  - idle, by message size: back-to-back pings, one in flight;
 *  - at load: 1,000 probes/s while another session of the same path carries paced
 *    traffic at o.load_fraction of the gateway's maximum message rate for that size; the
 *    direct path and Janus get the same offered load (Janus that fraction of its own
 *    maximum when it is below the gateway's).
 *
 * Added latency per gateway traversal = (RTT through dcgw - direct RTT) / 2: a round trip
 * crosses dcgw twice (A->Z and Z->A); through Janus it crosses once. */
#include <math.h>
#include <stdio.h>

#include "bench.h"

enum { PROBE_RATE = 1000, CALIBRATE_MS_MIN = 1000 };

struct lat_out {
    double p50, p90, p99, p999;
    size_t n;
};

static bool never(struct bench *b, void *arg)
{
    (void)arg;
    (void)b;
    return false;
}

static void summarize(struct flow *f, struct lat_out *o)
{
    lat_sort(&f->lat);
    o->n = f->lat.n;
    o->p50 = lat_percentile(&f->lat, 0.50);
    o->p90 = lat_percentile(&f->lat, 0.90);
    o->p99 = lat_percentile(&f->lat, 0.99);
    o->p999 = lat_percentile(&f->lat, 0.999);
}

static json_t *point(enum bench_path p, size_t size, const char *load, double rate,
                     const struct lat_out *o, double cpu_ns_per_msg)
{
    return json_pack("{s:s,s:I,s:s,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "path", bench_path_name(p),
                     "size", (json_int_t)size, "load", load, "load_msgs_per_s", jnum(rate),
                     "samples", (json_int_t)o->n, "rtt_p50_us", jnum(o->p50), "rtt_p90_us",
                     jnum(o->p90), "rtt_p99_us", jnum(o->p99), "rtt_p999_us", jnum(o->p999),
                     "cpu_ns_per_msg", jnum(cpu_ns_per_msg));
}

static void row(struct bench *b, const char *label, enum bench_path p, double rate,
                const struct lat_out *o)
{
    report_row(b, "%-12s %-9s %10.0f %9zu %8.1f %8.1f %8.1f %8.1f", label, bench_path_name(p), rate,
               o->n, o->p50, o->p90, o->p99, o->p999);
}

/* Ping-pong on pair 0 for `seconds`, optionally paced. */
static int probe(struct bench *b, struct pair *pr, size_t size, double rate, double seconds,
                 struct lat_out *o)
{
    struct flow *f = flow_new(b, pr, 0, FLOW_PING, size);
    if (!f)
        return -1;
    f->rate = rate;
    flow_start(f);
    bench_progress(b, "%s ping-pong %zu B", bench_path_name(pr->path), size);
    bench_run_until(b, never, NULL, (uint64_t)(seconds * 1000));
    flow_stop(f);
    summarize(f, o);
    flow_free(f);
    return o->n ? 0 : -1;
}

/* The maximum message rate of a path for a size, measured now on one pair. */
static double calibrate(struct bench *b, struct pair *pl, size_t size)
{
    struct flow *f = flow_new(b, pl, 0, FLOW_WINDOW, size);
    if (!f)
        return 0;
    flow_start(f);
    bench_run_until(b, never, NULL, (uint64_t)(b->o.warmup_s * 1000));
    uint64_t t0 = bench_now_ns(), r0 = f->recv;
    double secs =
        b->o.duration_s < CALIBRATE_MS_MIN / 1e3 ? CALIBRATE_MS_MIN / 1e3 : b->o.duration_s;
    bench_run_until(b, never, NULL, (uint64_t)(secs * 1000));
    double rate = (double)(f->recv - r0) / ((double)(bench_now_ns() - t0) / 1e9);
    flow_stop(f);
    bench_run_for(b, 200);
    flow_free(f);
    return rate;
}

static int size_index(struct bench *b, size_t size)
{
    for (unsigned i = 0; i < b->o.n_sizes; i++)
        if (b->o.sizes[i] == size)
            return (int)i;
    return -1;
}

/* Probes at 1,000/s while pair 1 carries `rate` messages/s. */
static int loaded(struct bench *b, struct pairset *s, double rate, struct lat_out *o,
                  double *achieved, double *cpu_per_msg)
{
    size_t size = b->o.latency_size;
    struct flow *load = flow_new(b, s->v[1], 0, FLOW_RATE, size);
    if (!load)
        return -1;
    load->rate = rate;
    load->window = b->o.window;
    flow_start(load);
    bench_run_for(b, (uint64_t)(b->o.warmup_s * 1000));
    struct snap s0, s1;
    snap_take(b, &s0);
    uint64_t r0 = load->recv;
    int r = probe(b, s->v[0], size, PROBE_RATE, b->o.latency_s, o);
    snap_take(b, &s1);
    double secs = (double)(s1.t_ns - s0.t_ns) / 1e9;
    *achieved = (double)(load->recv - r0) / secs;
    uint64_t msgs = load->recv - r0 + o->n;
    *cpu_per_msg = msgs ? (double)snap_cpu(&s0, &s1, s->path) / (double)msgs : NAN;
    flow_stop(load);
    bench_run_for(b, 200);
    flow_free(load);
    return r;
}

int scen_latency(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "ping-pong round trips (us)",
                        "size/load    path        load/s   samples      p50      p90      p99 "
                        "   p99.9");
    static const enum bench_path order[] = {PATH_GATEWAY, PATH_DIRECT, PATH_JANUS};
    double half_p99[PATH_COUNT] = {NAN, NAN, NAN}, idle_p99[PATH_COUNT] = {NAN, NAN, NAN};
    int li = size_index(b, b->o.latency_size);
    for (int k = 0; k < 3; k++) {
        enum bench_path p = order[k];
        if (!bench_path_available(b, p))
            continue;
        struct pairset *s = pairset_setup(b, p, 2, 1, 2, false, 20000);
        if (!s || s->ready < 2) {
            bench_note(b, "%s: sessions not ready, latency not measured", bench_path_name(p));
            pairset_free(s);
            continue;
        }
        for (unsigned i = 0; i < b->o.n_sizes; i++) {
            struct lat_out o;
            double secs = b->o.latency_s / 2 > 0.2 ? b->o.latency_s / 2 : 0.2;
            if (probe(b, s->v[0], b->o.sizes[i], 0, secs, &o) < 0)
                break;
            char label[24];
            snprintf(label, sizeof(label), "%zu idle", b->o.sizes[i]);
            row(b, label, p, 0, &o);
            json_array_append_new(pts, point(p, b->o.sizes[i], "idle", 0, &o, NAN));
            b->f.rtt_p50_us[p][i] = o.p50;
            b->f.rtt_p99_us[p][i] = o.p99;
            if (b->o.sizes[i] == b->o.latency_size)
                idle_p99[p] = o.p99;
        }
        /* The offered load: a fraction of the gateway's maximum for every path (the
         * same traffic), or of Janus's own maximum when that is lower. */
        double max = li >= 0 ? b->f.msgs_per_s[p][li] : 0;
        if (!(max > 0)) {
            max = calibrate(b, s->v[1], b->o.latency_size);
            if (li >= 0)
                b->f.msgs_per_s[p][li] = max;
        }
        double gwmax = li >= 0 ? b->f.msgs_per_s[PATH_GATEWAY][li] : 0;
        if (gwmax > 0 && (p != PATH_JANUS || gwmax < max))
            max = gwmax;
        struct lat_out o;
        double achieved = 0, cpm = NAN;
        if (max > 0 && s->v[1]->state == PAIR_READY &&
            loaded(b, s, max * b->o.load_fraction, &o, &achieved, &cpm) == 0) {
            char label[24];
            snprintf(label, sizeof(label), "%zu @%.0f%%", b->o.latency_size,
                     b->o.load_fraction * 100);
            row(b, label, p, achieved, &o);
            json_t *pt = point(p, b->o.latency_size, "fraction", achieved, &o, cpm);
            json_object_set_new(pt, "load_fraction", jnum(b->o.load_fraction));
            json_object_set_new(pt, "reference_max_msgs_per_s", jnum(max));
            json_array_append_new(pts, pt);
            half_p99[p] = o.p99;
        }
        pairset_free(s);
    }
    double gw = (half_p99[PATH_GATEWAY] - half_p99[PATH_DIRECT]) / 2;
    double gwi = (idle_p99[PATH_GATEWAY] - idle_p99[PATH_DIRECT]) / 2;
    double jn = half_p99[PATH_JANUS] - half_p99[PATH_DIRECT];
    b->f.added_p99_us_traversal = gw;
    json_object_set_new(res, "added_p99_us_per_traversal",
                        json_pack("{s:o,s:o,s:o}", "gateway_at_load", jnum(gw), "gateway_idle",
                                  jnum(gwi), "janus_at_load", jnum(jn)));
    report_row(b,
               "added p99 per traversal (%zu B): gateway %.1f us at load, %.1f us idle; "
               "janus %.1f us at load",
               b->o.latency_size, gw, gwi, jn);
    return 0;
}
