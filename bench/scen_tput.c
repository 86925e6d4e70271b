/* Throughput scenarios: by message size (each path, one session, one channel) and by
 * sessions x channels (1 KiB messages). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum { DRAIN_MS = 3000 };

struct tsum {
    uint64_t sent, recv, bytes, inflight, errors, disorder;
};

static void sum_flows(struct pairset *s, struct tsum *t)
{
    *t = (struct tsum){0};
    for (unsigned i = 0; i < s->started; i++)
        for (unsigned k = 0; k < s->v[i]->nflows; k++) {
            const struct flow *f = s->v[i]->flows[k];
            t->sent += f->sent;
            t->recv += f->recv;
            t->bytes += f->recv_bytes;
            t->inflight += f->inflight;
            t->errors += f->send_errors;
            t->disorder += f->disorder;
        }
}

static bool drained(struct bench *b, void *arg)
{
    (void)b;
    struct tsum t;
    sum_flows(arg, &t);
    return t.inflight == 0;
}

struct live {
    struct pairset *s;
    uint64_t t0, base;
    const char *what;
};

static bool show(struct bench *b, void *arg)
{
    struct live *l = arg;
    struct tsum t;
    sum_flows(l->s, &t);
    double el = (double)(bench_now_ns() - l->t0) / 1e9;
    bench_progress(b, "%s: %.0f msg/s", l->what, el > 0 ? (double)(t.recv - l->base) / el : 0);
    return false;
}

int tput_measure(struct bench *b, struct pairset *s, size_t size, double seconds, struct tput *t)
{
    return tput_measure_hook(b, s, size, seconds, t, NULL, NULL);
}

int tput_measure_hook(struct bench *b, struct pairset *s, size_t size, double seconds,
                      struct tput *t, void (*at_snap)(struct bench *, void *, int), void *arg)
{
    *t = (struct tput){0};
    for (unsigned i = 0; i < s->started; i++) {
        struct pair *p = s->v[i];
        if (p->state != PAIR_READY)
            continue;
        for (unsigned c = 0; c < p->nch; c++) {
            struct flow *f = flow_new(b, p, c, FLOW_WINDOW, size);
            if (!f)
                return -1;
            /* The session's window is shared by its channels; one message at least. */
            f->window = b->o.window / p->nch;
            t->flows++;
        }
    }
    if (at_snap)
        at_snap(b, arg, 0);
    for (unsigned i = 0; i < s->started; i++)
        for (unsigned k = 0; k < s->v[i]->nflows; k++)
            flow_start(s->v[i]->flows[k]);
    char what[96];
    snprintf(what, sizeof(what), "%s %zu B x %u flows", bench_path_name(s->path), size, t->flows);
    struct live l = {s, bench_now_ns(), 0, what};
    bench_run_until(b, show, &l, (uint64_t)(b->o.warmup_s * 1000));
    struct snap s0, s1;
    struct tsum c0, c1;
    snap_take(b, &s0);
    sum_flows(s, &c0);
    l.t0 = bench_now_ns();
    l.base = c0.recv;
    bench_run_until(b, show, &l, (uint64_t)(seconds * 1000));
    snap_take(b, &s1);
    sum_flows(s, &c1);
    for (unsigned i = 0; i < s->started; i++)
        for (unsigned k = 0; k < s->v[i]->nflows; k++)
            flow_stop(s->v[i]->flows[k]);
    t->drained = bench_run_until(b, drained, s, DRAIN_MS);
    if (at_snap)
        at_snap(b, arg, 1);
    struct tsum end;
    sum_flows(s, &end);
    t->msgs_all = end.recv;
    t->secs = (double)(s1.t_ns - s0.t_ns) / 1e9;
    t->msgs = c1.recv - c0.recv;
    t->bytes = c1.bytes - c0.bytes;
    t->lost = end.sent - end.recv;
    t->send_errors = end.errors;
    t->disorder = end.disorder;
    t->cpu_meas = snap_cpu(&s0, &s1, s->path);
    t->cpu_master = s1.cpu_gw_master - s0.cpu_gw_master;
    t->cpu_ends = s1.cpu_self - s0.cpu_self + s1.cpu_far - s0.cpu_far;
    for (unsigned i = 0; i < s->started; i++)
        while (s->v[i]->nflows)
            flow_free(s->v[i]->flows[0]);
    return 0;
}

json_t *tput_point(enum bench_path p, size_t size, const struct tput *t)
{
    double m = t->msgs ? (double)t->msgs : NAN;
    double mb = (double)t->bytes / 1e6;
    return json_pack(
        "{s:s,s:I,s:i,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I}", "path", bench_path_name(p),
        "size", (json_int_t)size, "flows", (int)t->flows, "seconds", jnum(t->secs), "messages",
        (json_int_t)t->msgs, "bytes", (json_int_t)t->bytes, "msgs_per_s",
        jnum((double)t->msgs / t->secs), "mb_per_s", jnum(mb / t->secs), "cpu_ns_per_msg",
        jnum((double)t->cpu_meas / m), "cpu_ms_per_mb",
        jnum(mb > 0 ? (double)t->cpu_meas / 1e6 / mb : NAN), "endpoints_cpu_ns_per_msg",
        jnum((double)t->cpu_ends / m), "msgs_per_cpu_s", jnum(m / ((double)t->cpu_meas / 1e9)),
        "lost", (json_int_t)t->lost, "send_errors", (json_int_t)t->send_errors, "disorder",
        (json_int_t)t->disorder);
}

/* at_snap of a gateway path: its workers' datagram counters before (0) and after (1). */
struct dg_snap {
    struct gw *gw;
    struct tput *t;
    uint64_t v0[3];
    bool ok;
};

static void dg_at_snap(struct bench *b, void *arg, int when)
{
    (void)b;
    struct dg_snap *d = arg;
    static const char *const names[3] = {"rx_packets", "tx_packets", "rx_batches"};
    uint64_t v[3];
    if (gw_counters(d->gw, names, v, 3) < 0) {
        d->ok = false;
        return;
    }
    if (when == 0) {
        memcpy(d->v0, v, sizeof(v));
        d->ok = true;
    } else if (d->ok) {
        d->t->dg_in = v[0] - d->v0[0];
        d->t->dg_out = v[1] - d->v0[1];
        d->t->reads = v[2] - d->v0[2];
    }
}

/* tput_measure, and for a gateway path its datagrams per message (dg_in, dg_out). */
static int measure_dg(struct bench *b, struct pairset *s, size_t size, struct tput *t)
{
    if (s->path != PATH_GATEWAY && s->path != PATH_BASE)
        return tput_measure(b, s, size, b->o.duration_s, t);
    struct dg_snap d = {.gw = bench_gw(b, s->path), .t = t};
    return tput_measure_hook(b, s, size, b->o.duration_s, t, dg_at_snap, &d);
}

static void row(struct bench *b, enum bench_path p, size_t size, const char *label,
                const struct tput *t)
{
    double m = (double)t->msgs;
    if (!t->msgs) {
        report_row(b, "%-8s %-9s no message delivered (%llu sent and lost, %llu send errors)",
                   label, bench_path_name(p), (unsigned long long)t->lost,
                   (unsigned long long)t->send_errors);
        return;
    }
    report_row(b, "%-8s %-9s %10.0f %9.1f %12.2f %11.2f %13.2f %6llu", label, bench_path_name(p),
               m / t->secs, (double)t->bytes / 1e6 / t->secs, (double)t->cpu_meas / m / 1e3,
               t->bytes ? (double)t->cpu_meas / 1e6 / ((double)t->bytes / 1e6) : NAN,
               (double)t->cpu_ends / m / 1e3, (unsigned long long)(t->lost + t->send_errors));
    if (t->dg_out && t->msgs_all)
        report_row(b, "%-8s %-9s datagrams per message: %.3f in, %.3f out; %.1f per read", label,
                   bench_path_name(p), (double)t->dg_in / (double)t->msgs_all,
                   (double)t->dg_out / (double)t->msgs_all,
                   t->reads ? (double)t->dg_in / (double)t->reads : NAN);
    (void)size;
}

static const char *COLS = "size     path          msg/s      MB/s  cpu/msg(us)  cpu/MB(ms) "
                          " ends/msg(us)   lost";

static int cmp_cpu(const void *a, const void *b)
{
    const struct tput *x = a, *y = b;
    double cx = x->msgs ? (double)x->cpu_meas / (double)x->msgs : INFINITY;
    double cy = y->msgs ? (double)y->cpu_meas / (double)y->msgs : INFINITY;
    return cx < cy ? -1 : cx > cy;
}

/* Records the median repeat (by CPU per message) of one path and size. */
static void record(struct bench *b, json_t *pts, enum bench_path p, unsigned i, struct tput *reps,
                   unsigned n)
{
    json_t *all = json_array();
    for (unsigned r = 0; r < n; r++)
        json_array_append_new(
            all, jnum(reps[r].msgs ? (double)reps[r].cpu_meas / (double)reps[r].msgs : NAN));
    qsort(reps, n, sizeof(*reps), cmp_cpu);
    const struct tput *t = &reps[n / 2];
    json_t *pt = tput_point(p, b->o.sizes[i], t);
    json_object_set_new(pt, "repeats_cpu_ns_per_msg", all);
    if (t->dg_out && t->msgs_all) {
        json_object_set_new(pt, "dgram_in_per_msg", jnum((double)t->dg_in / (double)t->msgs_all));
        json_object_set_new(pt, "dgram_out_per_msg", jnum((double)t->dg_out / (double)t->msgs_all));
        json_object_set_new(pt, "dgram_per_read",
                            jnum(t->reads ? (double)t->dg_in / (double)t->reads : NAN));
    }
    json_array_append_new(pts, pt);
    if (t->msgs) {
        b->f.msgs_per_s[p][i] = (double)t->msgs / t->secs;
        b->f.mb_per_s[p][i] = (double)t->bytes / 1e6 / t->secs;
        b->f.cpu_ns_per_msg[p][i] = (double)t->cpu_meas / (double)t->msgs;
    }
    if (n > 1) {
        char label[16];
        snprintf(label, sizeof(label), "%zu", b->o.sizes[i]);
        row(b, p, b->o.sizes[i], label, t);
    }
}

static void summary(struct bench *b, json_t *sum)
{
    for (unsigned i = 0; i < b->o.n_sizes; i++) {
        double *c[PATH_COUNT];
        for (int p = 0; p < PATH_COUNT; p++)
            c[p] = &b->f.cpu_ns_per_msg[p][i];
        double gd = *c[PATH_GATEWAY] && *c[PATH_DIRECT] ? *c[PATH_GATEWAY] / *c[PATH_DIRECT] : NAN;
        double jg = *c[PATH_JANUS] && *c[PATH_GATEWAY] ? *c[PATH_JANUS] / *c[PATH_GATEWAY] : NAN;
        double gb = *c[PATH_GATEWAY] && *c[PATH_BASE] ? *c[PATH_GATEWAY] / *c[PATH_BASE] : NAN;
        json_array_append_new(sum, json_pack("{s:I,s:o,s:o,s:o}", "size", (json_int_t)b->o.sizes[i],
                                             "gateway_over_direct", jnum(gd), "janus_over_gateway",
                                             jnum(jg), "gateway_over_base", jnum(gb)));
        if (b->o.sizes[i] == 64)
            b->f.gw_over_direct_64 = gd;
        if (b->o.sizes[i] == 1024) {
            b->f.gw_over_direct_1k = gd;
            b->f.janus_over_gw_1k = jg;
        } else if (b->o.sizes[i] == 16384) {
            b->f.gw_over_direct_16k = gd;
            b->f.janus_over_gw_16k = jg;
        }
        if (isfinite(gb))
            report_row(b,
                       "%-8zu CPU per message: gateway/direct %.2fx, janus/gateway %.2fx, "
                       "gateway/base %.2fx",
                       b->o.sizes[i], gd, jg, gb);
        else
            report_row(b, "%-8zu CPU per message: gateway/direct %.2fx, janus/gateway %.2fx",
                       b->o.sizes[i], gd, jg);
    }
}

/* One session per path, kept for every size; the paths take turns at each size and the
 * whole sweep repeats o.repeat times, so a change in the machine's background load hits
 * every path alike. Each point reports the median repeat by CPU per message. */
int scen_tput_size(struct bench *b, json_t *res)
{
    json_t *pts = json_array(), *sum = json_array();
    json_object_set_new(res, "points", pts);
    json_object_set_new(res, "summary", sum);
    json_object_set_new(res, "repeats", json_integer(b->o.repeat));
    report_table_header(b, "throughput by message size (1 session, 1 channel)", COLS);
    struct pairset *sets[PATH_COUNT] = {NULL};
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!bench_path_available(b, p))
            continue;
        sets[p] = pairset_setup(b, p, 1, 1, 1, false, 20000);
        if (!sets[p] || sets[p]->ready != 1) {
            bench_note(b, "%s: no session, throughput not measured", bench_path_name(p));
            pairset_free(sets[p]);
            sets[p] = NULL;
        }
    }
    unsigned nr = b->o.repeat, ns = b->o.n_sizes;
    struct tput *t = calloc((size_t)PATH_COUNT * ns * nr, sizeof(*t));
    if (!t)
        return -1;
#define T(p, i, r) t[((size_t)(p)*ns + (i)) * nr + (r)]
    for (unsigned r = 0; r < nr; r++)
        for (unsigned i = 0; i < ns; i++)
            for (int p = 0; p < PATH_COUNT; p++) {
                if (!sets[p] || sets[p]->v[0]->state != PAIR_READY)
                    continue;
                if (measure_dg(b, sets[p], b->o.sizes[i], &T(p, i, r)) < 0)
                    continue;
                char label[16];
                snprintf(label, sizeof(label), nr > 1 ? "%zu#%u" : "%zu", b->o.sizes[i], r + 1);
                row(b, p, b->o.sizes[i], label, &T(p, i, r));
            }
    if (nr > 1)
        report_row(b, "-- median of %u by CPU per message", nr);
    for (int p = 0; p < PATH_COUNT; p++)
        for (unsigned i = 0; sets[p] && i < ns; i++)
            if (T(p, i, 0).flows)
                record(b, pts, p, i, &T(p, i, 0), nr);
#undef T
    free(t);
    for (int p = 0; p < PATH_COUNT; p++)
        pairset_free(sets[p]);
    summary(b, sum);
    return 0;
}

int scen_tput_scale(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "throughput of 1 KiB messages by sessions x channels",
                        "sess x ch path          msg/s      MB/s  cpu/msg(us)  cpu/MB(ms) "
                        " ends/msg(us)   lost");
    for (unsigned si = 0; si < b->o.n_sessions; si++)
        for (unsigned ci = 0; ci < b->o.n_channels; ci++)
            for (int p = 0; p < PATH_COUNT; p++) {
                if (!bench_path_available(b, p) || p == PATH_JANUS)
                    continue;
                unsigned ns = b->o.sessions[si], nc = b->o.channels[ci];
                struct pairset *s = pairset_setup(b, p, ns, nc, 64, false, 60000);
                if (!s || s->ready == 0) {
                    pairset_free(s);
                    continue;
                }
                struct tput t;
                tput_measure(b, s, 1024, b->o.duration_s, &t);
                char label[16];
                snprintf(label, sizeof(label), "%ux%u", s->ready, nc);
                row(b, p, 1024, label, &t);
                json_t *pt = tput_point(p, 1024, &t);
                json_object_set_new(pt, "sessions", json_integer(s->ready));
                json_object_set_new(pt, "channels", json_integer(nc));
                json_array_append_new(pts, pt);
                pairset_free(s);
            }
    return 0;
}
