/* Session scenarios: set-up rate and idle sessions held; hooks for the later ones. */
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "stats.h"

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
    return p == PATH_GATEWAY || p == PATH_BASE ? gw_rss_bytes(bench_gw(b, p)) : ends_rss(b);
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

static bool is_dcgw(enum bench_path p)
{
    return p == PATH_GATEWAY || p == PATH_BASE;
}

static void setup_row(struct bench *b, enum bench_path p, const char *label,
                      const struct setup_run *r)
{
    /* A bridged session is two DTLS handshakes at dcgw (one per leg); a direct pair is one
     * handshake (its client half in the bench, its server half in the far end). */
    double hs = r->rate * (is_dcgw(p) ? 2 : 1);
    report_row(b, "%-9s %8u %7u %11.0f %13.0f %16.0f %18.0f %22.0f", label, r->ready, r->failed,
               r->rate, hs, r->cpu / 1e3, 2e9 / r->cpu, r->ends / 1e3);
}

/* The crypto-only limit, measured before each repeat's set-ups (the same machine load). */
struct crypto_runs {
    double server[BENCH_REPEAT_MAX], client[BENCH_REPEAT_MAX];
    unsigned n, handshakes;
};

static void crypto_once(struct bench *b, struct crypto_runs *c)
{
    struct hs_limit h;
    bench_progress(b, "crypto-only handshake limit (in memory)");
    if (hs_limit_measure(b->o.crypto_handshakes, &h) < 0) {
        bench_note(b, "the in-memory handshake loop failed: no crypto limit");
        return;
    }
    c->server[c->n] = h.server_ns;
    c->client[c->n++] = h.client_ns;
    c->handshakes += h.n;
}

/* The set-up of a bridged session against two handshakes alone: the figure uses
 * two server handshakes; dcgwd answers an actpass offer as the DTLS client (RFC 5763 §5
 * lets the answerer choose), so the bench's sessions make it the client on both legs:
 * that comparison is printed too. */
static void crypto_report(struct bench *b, json_t *res, struct crypto_runs *c, double gw_cpu)
{
    double srv = bench_median(c->server, c->n), cli = bench_median(c->client, c->n);
    double of_srv = 2 * srv / gw_cpu, of_cli = 2 * cli / gw_cpu;
    report_row(b,
               "crypto-only limit: a DTLS handshake costs the server %.0f us, the client "
               "%.0f us (%u in memory, dcgw's context settings): %.0f / %.0f per core-s",
               srv / 1e3, cli / 1e3, c->handshakes, 1e9 / srv, 1e9 / cli);
    report_row(b,
               "set-up at %.0f%% of the crypto limit (two server handshakes %.0f us / dcgwd "
               "%.0f us per session); %.0f%% with dcgw's role (client on both legs)",
               100 * of_srv, 2 * srv / 1e3, gw_cpu / 1e3, 100 * of_cli);
    json_t *runs_s = json_array(), *runs_c = json_array();
    for (unsigned i = 0; i < c->n; i++) {
        json_array_append_new(runs_s, jnum(c->server[i]));
        json_array_append_new(runs_c, jnum(c->client[i]));
    }
    json_object_set_new(res, "crypto_limit",
                        json_pack("{s:o,s:o,s:i,s:o,s:o,s:o,s:o,s:o}", "server_ns_per_handshake",
                                  jnum(srv), "client_ns_per_handshake", jnum(cli), "handshakes",
                                  (int)c->handshakes, "server_runs", runs_s, "client_runs", runs_c,
                                  "gateway_cpu_ns_per_session", jnum(gw_cpu), "setup_of_limit",
                                  jnum(of_srv), "setup_of_limit_dcgw_roles", jnum(of_cli)));
    b->f.setup_of_crypto_limit = of_srv;
    b->f.setup_of_crypto_limit_roles = of_cli;
}

/* The paths take turns, o.repeat times; the median run by CPU per session is reported.
 * Before each turn the crypto-only handshake limit is measured in memory (hs_limit.c). */
int scen_setup(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "session set-up",
                        "path      sessions  failed  sessions/s  handshakes/s  cpu/session(us) "
                        " 2-core capacity/s  ends cpu/session(us)");
    static const enum bench_path paths[] = {PATH_DIRECT, PATH_GATEWAY, PATH_BASE};
    enum { NP = sizeof(paths) / sizeof(paths[0]) };
    struct setup_run runs[NP][BENCH_REPEAT_MAX];
    struct crypto_runs crypto = {.n = 0};
    unsigned nr = b->o.repeat, got[NP] = {0};
    for (unsigned r = 0; r < nr; r++) {
        crypto_once(b, &crypto);
        for (unsigned k = 0; k < NP; k++) {
            enum bench_path p = paths[k];
            if (!bench_path_available(b, p) || setup_once(b, p, &runs[k][got[k]]) < 0)
                continue;
            char label[32];
            snprintf(label, sizeof(label), nr > 1 ? "%s#%u" : "%s", bench_path_name(p), r + 1);
            setup_row(b, p, label, &runs[k][got[k]++]);
        }
    }
    if (nr > 1)
        report_row(b, "-- median of %u by CPU per session", nr);
    double med_cpu[NP];
    for (unsigned k = 0; k < NP; k++) {
        enum bench_path p = paths[k];
        med_cpu[k] = NAN;
        if (!got[k])
            continue;
        json_t *all = json_array();
        for (unsigned i = 0; i < got[k]; i++)
            json_array_append_new(all, jnum(runs[k][i].cpu));
        qsort(runs[k], got[k], sizeof(runs[k][0]), cmp_setup);
        const struct setup_run *m = &runs[k][got[k] / 2];
        med_cpu[k] = m->cpu;
        if (nr > 1)
            setup_row(b, p, bench_path_name(p), m);
        double cap = 2e9 / m->cpu;
        json_t *pt = json_pack(
            "{s:s,s:i,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "path", bench_path_name(p), "sessions",
            (int)m->ready, "failed", (int)m->failed, "concurrency", (int)b->o.setup_concurrency,
            "seconds", jnum(m->secs), "sessions_per_s", jnum(m->rate), "handshakes_per_s",
            jnum(m->rate * (is_dcgw(p) ? 2 : 1)), "cpu_ns_per_session", jnum(m->cpu),
            "capacity_per_s_2_cores", jnum(cap), "endpoints_cpu_ns_per_session", jnum(m->ends));
        json_object_set_new(pt, "repeats_cpu_ns_per_session", all);
        json_array_append_new(pts, pt);
        if (p == PATH_GATEWAY) {
            b->f.setup_rate = m->rate;
            b->f.setup_capacity_2cores = cap;
        }
    }
    if (crypto.n && isfinite(med_cpu[1]))
        crypto_report(b, res, &crypto, med_cpu[1]);
    if (isfinite(med_cpu[1]) && isfinite(med_cpu[2])) {
        report_row(b, "dcgwd CPU per session, gateway/base: %.2fx", med_cpu[1] / med_cpu[2]);
        json_object_set_new(res, "gateway_over_base", jnum(med_cpu[1] / med_cpu[2]));
        if (crypto.n)
            json_object_set_new(res, "base_setup_of_limit",
                                jnum(2 * bench_median(crypto.server, crypto.n) / med_cpu[2]));
    }
    if (bench_path_available(b, PATH_JANUS))
        json_array_append_new(pts, json_pack("{s:s,s:s}", "path", "janus", "status",
                                             "not-implemented (hook: janus_negotiate is "
                                             "blocking HTTP; pairset_setup would need it async)"));
    return 0;
}

/* ---- idle: the paths of a group hold their sessions at once and are measured over the
 * same windows (gateway and base together: a lever's ratio under one machine load). */

/* The idle window in slices of 30 s (the clients' SCTP heartbeat period, to which the
 * sessions set up together keep their phase: shorter slices would see one daemon's burst
 * and not the other's), at least 2, at most IDLE_SLICES. */
enum { IDLE_SLICES = 8, IDLE_SLICE_S = 30 };

static unsigned n_slices(double secs)
{
    unsigned n = (unsigned)(secs / IDLE_SLICE_S);
    return n < 2 ? 2 : n > IDLE_SLICES ? IDLE_SLICES : n;
}

struct idle_path {
    enum bench_path p;
    struct pairset *s;
    double base, setup_s;
    double slice[IDLE_SLICES]; /* ns/s of each slice of the idle window */
    unsigned nslice;
    uint64_t rss0;
};

static int restart(struct bench *b, enum bench_path p)
{
    if (!is_dcgw(p) || b->o.socket)
        return 0;
    /* A fresh daemon: earlier scenarios' freed memory would hide the growth. */
    char err[300];
    int r = p == PATH_GATEWAY ? (gw_stop(b), gw_start(b, err, sizeof(err)))
                              : (gw_stop_base(b), gw_start_base(b, err, sizeof(err)));
    if (r < 0) {
        bench_note(b, "%s: dcgwd restart failed: %s", bench_path_name(p), err);
        if (p == PATH_GATEWAY)
            gw_stop(b);
        else
            gw_stop_base(b);
    }
    return r;
}

/* secs in ns slices: each path's CPU rate per slice. */
static void slices(struct bench *b, struct idle_path *v, unsigned n, double secs, unsigned ns,
                   double out[][IDLE_SLICES])
{
    struct snap s[IDLE_SLICES + 1];
    snap_take(b, &s[0]);
    for (unsigned k = 0; k < ns; k++) {
        bench_run_for(b, (uint64_t)(secs * 1000 / ns));
        snap_take(b, &s[k + 1]);
        for (unsigned i = 0; i < n; i++)
            out[i][k] = rate(&s[k], &s[k + 1], v[i].p);
    }
}

static double mean(const double *x, unsigned n)
{
    double t = 0;
    for (unsigned i = 0; i < n; i++)
        t += x[i];
    return t / n;
}

/* Half the range of x: the spread of what a window measures. */
static double spread(const double *x, unsigned n)
{
    double lo = x[0], hi = x[0];
    for (unsigned i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    return (hi - lo) / 2;
}

static void idle_report(struct bench *b, json_t *pts, struct idle_path *e, double noise_base,
                        double secs, uint64_t ends0, uint64_t ends1, unsigned ends_pairs)
{
    unsigned ready = e->s->ready;
    uint64_t rss1 = measured_rss(b, e->p);
    double total = mean(e->slice, e->nslice);
    double cpu = ready ? (total - e->base) / ready : NAN;
    double noise = ready ? (spread(e->slice, e->nslice) + noise_base) / ready : NAN;
    double mem = ready ? ((double)rss1 - (double)e->rss0) / ready : NAN;
    double pct50k = cpu * 50000 / 1e9 * 100, pct50k_noise = noise * 50000 / 1e9 * 100;
    double bmem = ends_pairs ? ((double)ends1 - (double)ends0) / ends_pairs : NAN;
    report_row(b, "%-9s %8u %5u %17.1f %23.2f %6.2f %21.2f %20.1f %10.1f", bench_path_name(e->p),
               ready, e->s->failed, mem / 1024, cpu / 1e3, noise / 1e3, pct50k, bmem / 1024,
               e->setup_s);
    json_t *pt = json_pack(
        "{s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:o}", "path", bench_path_name(e->p), "sessions",
        (int)ready, "lost", (int)e->s->failed, "idle_seconds", jnum(secs), "rss_bytes_per_session",
        jnum(mem), "cpu_ns_per_s_per_session", jnum(cpu), "core_pct_for_50k", jnum(pct50k),
        "endpoints_rss_bytes_per_pair", jnum(bmem), "measured_rss_bytes", jnum((double)rss1));
    json_object_set_new(pt, "cpu_ns_per_s_total", jnum(total));
    json_object_set_new(pt, "cpu_ns_per_s_baseline", jnum(e->base));
    json_object_set_new(pt, "cpu_ns_per_s_noise", jnum(noise * ready));
    json_object_set_new(pt, "cpu_ns_per_s_per_session_noise", jnum(noise));
    json_object_set_new(pt, "core_pct_for_50k_noise", jnum(pct50k_noise));
    json_object_set_new(pt, "setup_seconds", jnum(e->setup_s));
    json_t *sl = json_array();
    for (unsigned k = 0; k < e->nslice; k++)
        json_array_append_new(sl, jnum(e->slice[k]));
    json_object_set_new(pt, "cpu_ns_per_s_slices", sl);
    json_array_append_new(pts, pt);
    if (e->p == PATH_GATEWAY) {
        b->f.idle_core_pct_50k = pct50k;
        b->f.idle_core_pct_50k_noise = pct50k_noise;
        b->f.idle_mem_per_session = mem;
    }
}

/* gateway/base per slice (each net of its baseline): their median, and the range. */
static void idle_ratio(struct bench *b, json_t *res, const struct idle_path *g,
                       const struct idle_path *r)
{
    if (!g->s->ready || !r->s->ready)
        return;
    double q[IDLE_SLICES];
    unsigned ns = g->nslice;
    for (unsigned k = 0; k < ns; k++)
        q[k] = ((g->slice[k] - g->base) / g->s->ready) / ((r->slice[k] - r->base) / r->s->ready);
    double med = bench_median(q, ns), lo = q[0], hi = q[0];
    json_t *a = json_array();
    for (unsigned k = 0; k < ns; k++) {
        lo = q[k] < lo ? q[k] : lo;
        hi = q[k] > hi ? q[k] : hi;
        json_array_append_new(a, jnum(q[k]));
    }
    report_row(b,
               "idle CPU per session, gateway/base (the same windows): %.2fx (median of %u "
               "slices of %.0f s: %.2f .. %.2f)",
               med, ns, b->o.idle_s / ns, lo, hi);
    json_object_set_new(res, "gateway_over_base", jnum(med));
    json_object_set_new(res, "gateway_over_base_slices", a);
}

/* One group: restarted, a baseline without sessions, each path's sessions set up in turn,
 * then all idle over the same windows. */
static int idle_group(struct bench *b, json_t *pts, json_t *res, const enum bench_path *paths,
                      unsigned n)
{
    struct idle_path v[2];
    double base[2][IDLE_SLICES];
    memset(v, 0, sizeof(v));
    for (unsigned i = 0; i < n; i++) {
        v[i].p = paths[i];
        if (restart(b, paths[i]) < 0)
            return -1;
    }
    malloc_trim(0);
    far_send(b, FAR_TRIM, 0, 0, false, NULL);
    /* The processes' own idle cost without sessions (timers, the SCTP tick), taken out of
     * the per-session figure. */
    double base_s = b->o.idle_s < BASELINE_MAX_S ? b->o.idle_s : BASELINE_MAX_S;
    bench_progress(b, "%s: baseline without sessions for %.0f s", bench_path_name(paths[0]),
                   base_s);
    slices(b, v, n, base_s, 2, base);
    uint64_t ends0 = ends_rss(b);
    unsigned pairs = 0;
    for (unsigned i = 0; i < n; i++) {
        v[i].base = mean(base[i], 2);
        v[i].rss0 = measured_rss(b, v[i].p);
        unsigned k = b->o.idle_sessions;
        v[i].s = pairset_setup(b, v[i].p, k, 1, b->o.setup_concurrency, true, timeout_for(k));
        if (!v[i].s)
            return -1;
        v[i].setup_s = span_s(v[i].s);
        pairs += v[i].s->ready;
    }
    bench_progress(b, "%u sessions idle, settling", pairs);
    /* A UE's wake-up is not dcgw's work: on loopback the kernel charges it to the sender
     * (dcgwd's sendmmsg), once per answer when the endpoints sleep on their socket. Read
     * every --ends-poll ms, they are not woken by each answer. */
    bench_ends_poll(b, b->o.ends_poll_ms);
    bench_run_for(b, SETTLE_MS);
    bench_progress(b, "%u sessions idle for %.0f s", pairs, b->o.idle_s);
    double sl[2][IDLE_SLICES];
    unsigned ns = n_slices(b->o.idle_s);
    slices(b, v, n, b->o.idle_s, ns, sl);
    uint64_t ends1 = ends_rss(b);
    bench_ends_poll(b, 0);
    for (unsigned i = 0; i < n; i++) {
        memcpy(v[i].slice, sl[i], sizeof(sl[i]));
        v[i].nslice = ns;
        idle_report(b, pts, &v[i], spread(base[i], 2), b->o.idle_s, ends0, ends1, pairs);
    }
    if (n == 2)
        idle_ratio(b, res, &v[0], &v[1]);
    for (unsigned i = 0; i < n; i++)
        pairset_free(v[i].s);
    return 0;
}

/* The direct path alone (its memory is the endpoints'), then dcgw's daemons together. */
int scen_idle(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_table_header(b, "idle sessions held",
                        "path      sessions  lost  mem/session(KiB)  idle cpu/session(us/s) "
                        "  noise  50k sessions(%core)  ends mem/pair(KiB)  set-up(s)");
    enum bench_path direct = PATH_DIRECT, gws[2];
    unsigned ng = 0;
    if (bench_path_available(b, PATH_GATEWAY))
        gws[ng++] = PATH_GATEWAY;
    if (bench_path_available(b, PATH_BASE))
        gws[ng++] = PATH_BASE;
    if (bench_path_available(b, PATH_DIRECT) && idle_group(b, pts, res, &direct, 1) < 0)
        return -1;
    return ng ? idle_group(b, pts, res, gws, ng) : 0;
}
