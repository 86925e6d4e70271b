/* Session scenarios: set-up rate and idle sessions held; hooks for the later ones. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

enum {
    BASELINE_MAX_S = 10,
    SETTLE_MS = 2000,
    SETUP_TIMEOUT_MS_PER_SESSION = 50,
    SETUP_TIMEOUT_MS_MIN = 60000
};

static uint64_t timeout_for(unsigned n)
{
    uint64_t t = (uint64_t)n * SETUP_TIMEOUT_MS_PER_SESSION;
    return t < SETUP_TIMEOUT_MS_MIN ? SETUP_TIMEOUT_MS_MIN : t;
}

/* Ready time span: first start to last ready. */
static double span_s(const struct pairset *s)
{
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (unsigned i = 0; i < s->started; i++) {
        const struct pair *p = s->v[i];
        if (p->t_start_ns < t0)
            t0 = p->t_start_ns;
        if (p->state == PAIR_READY && p->t_ready_ns > t1)
            t1 = p->t_ready_ns;
    }
    return t1 > t0 ? (double)(t1 - t0) / 1e9 : NAN;
}

static uint64_t ends_rss(struct bench *b)
{
    return proc_rss_bytes(getpid()) + (b->far_pid > 0 ? proc_rss_bytes(b->far_pid) : 0);
}

static uint64_t measured_rss(struct bench *b, enum bench_path p)
{
    return p == PATH_GATEWAY ? gw_rss_bytes(b->gw) : ends_rss(b);
}

struct setup_run {
    unsigned ready, failed;
    double secs, rate, cpu, ends;
};

/* CPU per second of the measured process(es) between two snapshots, ns/s. */
static double rate(const struct snap *a, const struct snap *b, enum bench_path p)
{
    return (double)snap_cpu(a, b, p) / ((double)(b->t_ns - a->t_ns) / 1e9);
}

/* Snapshots at the start and end of secs, and *noise grown by how much the CPU rate of
 * its two halves differ: the spread of what the window measures. */
static void window(struct bench *b, enum bench_path p, double secs, struct snap *s0,
                   struct snap *s1, double *noise)
{
    struct snap sm;
    snap_take(b, s0);
    bench_run_for(b, (uint64_t)(secs * 500));
    snap_take(b, &sm);
    bench_run_for(b, (uint64_t)(secs * 500));
    snap_take(b, s1);
    *noise += fabs(rate(s0, &sm, p) - rate(&sm, s1, p));
}

static int cmp_setup(const void *a, const void *b)
{
    const struct setup_run *x = a, *y = b;
    return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

/* One set-up of o.setup_sessions sessions on path p, then their teardown. */
static int setup_once(struct bench *b, enum bench_path p, struct setup_run *r)
{
    unsigned n = b->o.setup_sessions;
    struct snap s0, s1;
    snap_take(b, &s0);
    struct pairset *s = pairset_setup(b, p, n, 1, b->o.setup_concurrency, true, timeout_for(n));
    snap_take(b, &s1);
    if (!s)
        return -1;
    r->ready = s->ready;
    r->failed = s->failed;
    r->secs = span_s(s);
    r->rate = s->ready / r->secs;
    r->cpu = s->ready ? (double)snap_cpu(&s0, &s1, p) / s->ready : NAN;
    r->ends =
        s->ready ? (double)(s1.cpu_self - s0.cpu_self + s1.cpu_far - s0.cpu_far) / s->ready : NAN;
    pairset_free(s);
    return 0;
}

static void setup_row(struct bench *b, enum bench_path p, const char *label,
                      const struct setup_run *r)
{
    /* A bridged session is two DTLS handshakes at dcgw (one per leg); a direct pair is one
     * handshake (its client half in the bench, its server half in the far end). */
    double hs = r->rate * (p == PATH_GATEWAY ? 2 : 1);
    report_row(b, "%-9s %8u %7u %11.0f %13.0f %16.0f %18.0f %22.0f", label, r->ready, r->failed,
               r->rate, hs, r->cpu / 1e3, 2e9 / r->cpu, r->ends / 1e3);
}

/* The paths take turns, o.repeat times; the median run by CPU per session is reported. */
int scen_setup(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "session set-up",
                        "path      sessions  failed  sessions/s  handshakes/s  cpu/session(us) "
                        " 2-core capacity/s  ends cpu/session(us)");
    enum { REPEAT_MAX = 99 };
    struct setup_run runs[2][REPEAT_MAX];
    unsigned nr = b->o.repeat, got[2] = {0, 0};
    for (unsigned r = 0; r < nr; r++)
        for (int p = PATH_DIRECT; p <= PATH_GATEWAY; p++) {
            if (!bench_path_available(b, p) || setup_once(b, p, &runs[p][got[p]]) < 0)
                continue;
            char label[32];
            snprintf(label, sizeof(label), nr > 1 ? "%s#%u" : "%s", bench_path_name(p), r + 1);
            setup_row(b, p, label, &runs[p][got[p]++]);
        }
    if (nr > 1)
        report_row(b, "-- median of %u by CPU per session", nr);
    for (int p = PATH_DIRECT; p <= PATH_GATEWAY; p++) {
        if (!got[p])
            continue;
        json_t *all = json_array();
        for (unsigned i = 0; i < got[p]; i++)
            json_array_append_new(all, jnum(runs[p][i].cpu));
        qsort(runs[p], got[p], sizeof(runs[p][0]), cmp_setup);
        const struct setup_run *m = &runs[p][got[p] / 2];
        if (nr > 1)
            setup_row(b, p, bench_path_name(p), m);
        double cap = 2e9 / m->cpu;
        json_t *pt = json_pack(
            "{s:s,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "path", bench_path_name(p), "sessions",
            (int)m->ready, "failed", (int)m->failed, "concurrency", (int)b->o.setup_concurrency,
            "seconds", jnum(m->secs), "sessions_per_s", jnum(m->rate), "handshakes_per_s",
            jnum(m->rate * (p == PATH_GATEWAY ? 2 : 1)), "cpu_ns_per_session", jnum(m->cpu),
            "capacity_per_s_2_cores", jnum(cap), "endpoints_cpu_ns_per_session", jnum(m->ends));
        json_object_set_new(pt, "repeats_cpu_ns_per_session", all);
        json_array_append_new(pts, pt);
        if (p == PATH_GATEWAY) {
            b->f.setup_rate = m->rate;
            b->f.setup_capacity_2cores = cap;
        }
    }
    if (bench_path_available(b, PATH_JANUS))
        json_array_append_new(pts, json_pack("{s:s,s:s}", "path", "janus", "status",
                                             "not-implemented (hook: janus_negotiate is "
                                             "blocking HTTP; pairset_setup would need it async)"));
    return 0;
}

int scen_idle(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "idle sessions held",
                        "path      sessions  lost  mem/session(KiB)  idle cpu/session(us/s) "
                        "  50k sessions(%core)  ends mem/pair(KiB)");
    for (int p = 0; p < PATH_COUNT; p++) {
        if (!bench_path_available(b, p) || p == PATH_JANUS)
            continue;
        unsigned n = b->o.idle_sessions;
        if (p == PATH_GATEWAY && !b->o.socket) {
            /* A fresh daemon: earlier scenarios' freed memory would hide the growth. */
            char err[300];
            gw_stop(b);
            if (gw_start(b, err, sizeof(err)) < 0) {
                bench_note(b, "dcgwd restart failed: %s", err);
                gw_stop(b);
                return -1;
            }
        }
        malloc_trim(0);
        far_send(b, FAR_TRIM, 0, 0, false, NULL);
        /* The process's own idle cost without sessions (timers, the SCTP tick), taken
         * out of the per-session figure. */
        struct snap b0, b1;
        double base_s = b->o.idle_s < BASELINE_MAX_S ? b->o.idle_s : BASELINE_MAX_S;
        bench_progress(b, "%s: baseline without sessions for %.0f s", bench_path_name(p), base_s);
        double noise = 0;
        window(b, p, base_s, &b0, &b1, &noise);
        double base = rate(&b0, &b1, p);
        uint64_t rss0 = measured_rss(b, p), self0 = ends_rss(b);
        struct pairset *s = pairset_setup(b, p, n, 1, b->o.setup_concurrency, true, timeout_for(n));
        if (!s)
            return -1;
        unsigned ready = s->ready;
        bench_progress(b, "%s: %u sessions idle, settling", bench_path_name(p), ready);
        bench_run_for(b, SETTLE_MS);
        struct snap s0, s1;
        bench_progress(b, "%s: %u sessions idle for %.0f s", bench_path_name(p), ready,
                       b->o.idle_s);
        window(b, p, b->o.idle_s, &s0, &s1, &noise);
        uint64_t rss1 = measured_rss(b, p), self1 = ends_rss(b);
        unsigned lost = s->failed;
        double secs = (double)(s1.t_ns - s0.t_ns) / 1e9;
        double mem = ready ? ((double)rss1 - (double)rss0) / ready : NAN;
        double total = (double)snap_cpu(&s0, &s1, p) / secs; /* ns/s */
        double cpu = ready ? (total - base) / ready : NAN;
        double pct50k = cpu * 50000 / 1e9 * 100;
        double pct50k_noise = ready ? noise / ready * 50000 / 1e9 * 100 : NAN;
        double bmem = ready ? ((double)self1 - (double)self0) / ready : NAN;
        double bcpu =
            ready ? (double)(s1.cpu_self - s0.cpu_self + s1.cpu_far - s0.cpu_far) / secs / ready
                  : NAN;
        report_row(b, "%-9s %8u %5u %17.1f %23.2f %21.2f %20.1f", bench_path_name(p), ready, lost,
                   mem / 1024, cpu / 1e3, pct50k, bmem / 1024);
        json_array_append_new(
            pts,
            json_pack("{s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "path", bench_path_name(p),
                      "sessions", (int)ready, "lost", (int)lost, "idle_seconds", jnum(secs),
                      "rss_bytes_per_session", jnum(mem), "cpu_ns_per_s_per_session", jnum(cpu),
                      "core_pct_for_50k", jnum(pct50k), "endpoints_rss_bytes_per_pair", jnum(bmem),
                      "endpoints_cpu_ns_per_s_per_pair", jnum(bcpu), "measured_rss_bytes",
                      jnum((double)rss1)));
        json_t *last = json_array_get(pts, json_array_size(pts) - 1);
        json_object_set_new(last, "cpu_ns_per_s_total", jnum(total));
        json_object_set_new(last, "cpu_ns_per_s_baseline", jnum(base));
        json_object_set_new(last, "cpu_ns_per_s_noise", jnum(noise));
        json_object_set_new(last, "core_pct_for_50k_noise", jnum(pct50k_noise));
        if (p == PATH_GATEWAY) {
            b->f.idle_core_pct_50k = pct50k;
            b->f.idle_core_pct_50k_noise = pct50k_noise;
            b->f.idle_mem_per_session = mem;
        }
        pairset_free(s);
    }
    return 0;
}
