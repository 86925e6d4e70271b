/* Throughput scenarios: by message size (each path, one session, one channel) and by
 * sessions x channels (1 KiB messages). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
    bench_run_until(b, drained, s, DRAIN_MS);
    struct tsum end;
    sum_flows(s, &end);
    t->secs = (double)(s1.t_ns - s0.t_ns) / 1e9;
    t->msgs = c1.recv - c0.recv;
    t->bytes = c1.bytes - c0.bytes;
    t->lost = end.sent - end.recv;
    t->send_errors = end.errors;
    t->disorder = end.disorder;
    t->cpu_meas = snap_cpu(&s0, &s1, s->path);
    t->cpu_self = s1.cpu_self - s0.cpu_self;
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
        jnum(mb > 0 ? (double)t->cpu_meas / 1e6 / mb : NAN), "bench_cpu_ns_per_msg",
        jnum((double)t->cpu_self / m), "msgs_per_cpu_s", jnum(m / ((double)t->cpu_meas / 1e9)),
        "lost", (json_int_t)t->lost, "send_errors", (json_int_t)t->send_errors, "disorder",
        (json_int_t)t->disorder);
}

static void row(struct bench *b, enum bench_path p, size_t size, const char *label,
                const struct tput *t)
{
    double m = (double)t->msgs;
    report_row(b, "%-8s %-9s %10.0f %9.1f %12.2f %11.2f %13.2f %6llu", label, bench_path_name(p),
               m / t->secs, (double)t->bytes / 1e6 / t->secs, (double)t->cpu_meas / m / 1e3,
               t->bytes ? (double)t->cpu_meas / 1e6 / ((double)t->bytes / 1e6) : NAN,
               (double)t->cpu_self / m / 1e3, (unsigned long long)(t->lost + t->send_errors));
    (void)size;
}

static const char *COLS = "size     path          msg/s      MB/s  cpu/msg(us)  cpu/MB(ms) "
                          " bench/msg(us)   lost";

int scen_tput_size(struct bench *b, json_t *res)
{
    json_t *pts = json_array(), *sum = json_array();
    json_object_set_new(res, "points", pts);
    json_object_set_new(res, "summary", sum);
    report_table_header(b, "throughput by message size (1 session, 1 channel)", COLS);
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!bench_path_available(b, p))
            continue;
        struct pairset *s = pairset_setup(b, p, 1, 1, 1, false, 20000);
        if (!s || s->ready != 1) {
            bench_note(b, "%s: no session, throughput not measured", bench_path_name(p));
            pairset_free(s);
            continue;
        }
        for (unsigned i = 0; i < b->o.n_sizes; i++) {
            size_t size = b->o.sizes[i];
            struct tput t;
            if (s->v[0]->state != PAIR_READY || tput_measure(b, s, size, b->o.duration_s, &t) < 0)
                break;
            char label[16];
            snprintf(label, sizeof(label), "%zu", size);
            row(b, p, size, label, &t);
            json_array_append_new(pts, tput_point(p, size, &t));
            if (t.msgs) {
                b->f.msgs_per_s[p][i] = (double)t.msgs / t.secs;
                b->f.mb_per_s[p][i] = (double)t.bytes / 1e6 / t.secs;
                b->f.cpu_ns_per_msg[p][i] = (double)t.cpu_meas / (double)t.msgs;
            }
        }
        pairset_free(s);
    }
    for (unsigned i = 0; i < b->o.n_sizes; i++) {
        double *c[PATH_COUNT];
        for (int p = 0; p < PATH_COUNT; p++)
            c[p] = &b->f.cpu_ns_per_msg[p][i];
        double gd = *c[PATH_GATEWAY] && *c[PATH_DIRECT] ? *c[PATH_GATEWAY] / *c[PATH_DIRECT] : NAN;
        double jg = *c[PATH_JANUS] && *c[PATH_GATEWAY] ? *c[PATH_JANUS] / *c[PATH_GATEWAY] : NAN;
        json_array_append_new(sum, json_pack("{s:I,s:o,s:o}", "size", (json_int_t)b->o.sizes[i],
                                             "gateway_over_direct", jnum(gd), "janus_over_gateway",
                                             jnum(jg)));
        if (b->o.sizes[i] == 1024) {
            b->f.gw_over_direct_1k = gd;
            b->f.janus_over_gw_1k = jg;
        } else if (b->o.sizes[i] == 16384) {
            b->f.gw_over_direct_16k = gd;
            b->f.janus_over_gw_16k = jg;
        }
        report_row(b, "%-8zu CPU per message: gateway/direct %.2fx, janus/gateway %.2fx",
                   b->o.sizes[i], gd, jg);
    }
    return 0;
}

int scen_tput_scale(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "throughput of 1 KiB messages by sessions x channels",
                        "sess x ch path          msg/s      MB/s  cpu/msg(us)  cpu/MB(ms) "
                        " bench/msg(us)   lost");
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
