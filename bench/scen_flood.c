/* Floods from unknown sources (issue 13): the round trips of a legitimate session through
 * dcgw while one sender floods the worker holding it, against the same session without
 * the flood, in the same run.
 *
 *   A --ping--> dcgw worker --> Z --pong--> dcgw worker --> A      (1,000 probes/s)
 *                  ^
 *   dcgw-flood ----+  STUN Binding requests with random USERNAMEs, or DTLS ClientHellos,
 *                     from 64 source ports, as fast as one thread sends (sendmmsg)
 *
 * The windows alternate (none, stun, dtls) for o.flood_rounds rounds of o.flood_s seconds
 * each, so that what else the machine does falls on all three alike; the samples of each
 * kind are pooled. The flooder runs pinned to one CPU (the last, by default) at nice 10
 * (--flood-nice), or on idle CPU time only (--flood-idle, SCHED_IDLE); with --flood-pin
 * the bench, the far end and dcgwd keep off that CPU in every window, flood or not, so
 * that on a shared machine the figures measure dcgw, not the flood taking a core (and the
 * kernel's softirq time of receiving it) from everything else. Reported per
 * kind: the probes' percentiles, the flood rate the sender reached, what dcgw counted as dropped
 * from unknown sources, and what the kernel dropped for want of receive buffer (UDP
 * RcvbufErrors of the bench's network namespace). Target: p99 with a flood <= 3x p99
 * without. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "stats.h"

enum {
    PROBE_RATE = 1000,
    KINDS = 3,
    RAMP_MS = 200,
    SETTLE_MS = 3000,
    DRAIN_MS = 300,
    ROUNDS_MAX = 20, /* opts.c refuses more */
};

static const char *const kind_name[KINDS] = {"none", "stun", "dtls"};
static const char *const counter_names[] = {"rx_packets", "rx_unknown_source", "rx_unknown_limited",
                                            "rx_no_session", "rx_kernel_drops"};
enum { NCOUNTERS = sizeof(counter_names) / sizeof(counter_names[0]) };

struct kind_result {
    struct lat lat; /* pooled samples */
    double seconds;
    uint64_t flood_sent, kernel_drops;
    uint64_t counters[NCOUNTERS];
    double flood_rate;           /* sent / flood seconds, the fastest window's */
    uint64_t probes, unanswered; /* probes sent; not answered within SETTLE_MS of the end */
    double win_p99[ROUNDS_MAX];  /* each window's own p99 (us) */
    double win_rate[ROUNDS_MAX]; /* each window's flood rate (datagrams/s) */
    unsigned nwin, nrate;
    uint64_t gw_cpu_ns; /* dcgwd's CPU time (master and workers) in the windows */
    double wall_s;      /* the windows' wall time, ramp and settling included */
};

static bool never(struct bench *b, void *arg)
{
    (void)b, (void)arg;
    return false;
}

static bool all_answered(struct bench *b, void *arg)
{
    (void)b;
    const struct flow *f = arg;
    return f->lat.n >= f->sent;
}

/* Udp RcvbufErrors of this network namespace (/proc/net/snmp). */
static uint64_t udp_rcvbuf_errors(void)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    char head[1024], vals[1024];
    uint64_t v = 0;
    if (!f)
        return 0;
    while (fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
        if (strncmp(head, "Udp:", 4) != 0 || strncmp(vals, "Udp:", 4) != 0)
            continue;
        char *hs = NULL, *vs = NULL;
        char *h = strtok_r(head, " \n", &hs), *x = strtok_r(vals, " \n", &vs);
        while (h && x) {
            if (strcmp(h, "RcvbufErrors") == 0)
                v = strtoull(x, NULL, 10);
            h = strtok_r(NULL, " \n", &hs);
            x = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return v;
}

static int flood_cpu(const struct bench *b)
{
    if (b->o.flood_cpu >= 0)
        return b->o.flood_cpu;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 1 ? (int)n - 1 : 0;
}

/* Starts the flooder for a window; its report goes to `report`. */
static int flood_start(struct bench *b, const char *kind, const char *target, const char *report)
{
    char dur[32], cpu[16];
    snprintf(dur, sizeof(dur), "%.3f", b->o.flood_s + 2);
    snprintf(cpu, sizeof(cpu), "%d", flood_cpu(b));
    int pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpriority(PRIO_PROCESS, 0, b->o.flood_nice);
        int null = open("/dev/null", 1);
        if (null >= 0)
            dup2(null, 1);
        execl(b->o.flood, b->o.flood, "--target", target, "--kind", kind, "--duration", dur,
              "--cpu", cpu, "--report", report, b->o.flood_idle ? "--idle" : (char *)NULL,
              (char *)NULL);
        _exit(127);
    }
    bench_register_child(pid);
    return pid;
}

/* Waits for the flooder, asked to stop (SIGTERM) when the window's probes stopped, and
 * reads its report. Called once the probes settled: the flooder takes only idle CPU time
 * (--flood-idle) or runs at --flood-nice (10; test_flood: 5), so on a loaded machine it
 * may take seconds to see the signal and write its report, and the bench's loop stands
 * still while it waits (3.4-5.1 s seen at load average 10): waiting before the probes
 * settled left the answers of the window's last probes unread meanwhile, and counted them
 * unanswered. */
static void flood_reap(int pid, const char *report, struct kind_result *k)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    double rate = 0; /* no report: no flood this window */
    json_t *j = json_load_file(report, 0, NULL);
    if (j) {
        uint64_t sent = (uint64_t)json_integer_value(json_object_get(j, "sent"));
        double secs = json_number_value(json_object_get(j, "seconds"));
        k->flood_sent += sent;
        /* the rate while it ran: the flood spans the probe window plus the ramp */
        if (secs > 0)
            rate = (double)sent / secs;
        json_decref(j);
    }
    k->flood_rate = fmax(k->flood_rate, rate);
    if (k->nrate < ROUNDS_MAX)
        k->win_rate[k->nrate++] = rate;
    unlink(report);
}

/* The slowest window's flood rate: a window whose flooder got no CPU measured no flood. */
static double min_rate(const struct kind_result *k)
{
    double m = k->nrate ? k->win_rate[0] : 0;
    for (unsigned i = 1; i < k->nrate; i++)
        m = fmin(m, k->win_rate[i]);
    return m;
}

static void pool(struct lat *into, const struct lat *from)
{
    for (size_t i = 0; i < from->n && into->n < into->cap; i++)
        into->us10[into->n++] = from->us10[i];
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The p99 of the samples the last window added (from `first` on). */
static void window_p99(struct kind_result *k, size_t first)
{
    size_t n = k->lat.n - first;
    uint32_t *c = n ? malloc(n * sizeof(*c)) : NULL;
    if (!c || k->nwin == ROUNDS_MAX) {
        free(c);
        return;
    }
    memcpy(c, k->lat.us10 + first, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_u32);
    k->win_p99[k->nwin++] = c[(size_t)(0.99 * (double)(n - 1) + 0.5)] / 10.0;
    free(c);
}

/* The median over the rounds of the windows' p99: one window that something else on the
 * machine stalled moves the pooled p99, not this; a flood that hurts moves every window. */
static double median_p99(const struct kind_result *k)
{
    return bench_median(k->win_p99, k->nwin);
}

/* One window of `kind` (0: no flood): probes for o.flood_s, pooled into k. */
static int window(struct bench *b, struct pair *pr, int kind, const char *target,
                  struct kind_result *k)
{
    char report[300];
    snprintf(report, sizeof(report), "%s/flood-%s.json", b->workdir, kind_name[kind]);
    uint64_t c0[NCOUNTERS], c1[NCOUNTERS];
    gw_counters(b->gw, counter_names, c0, NCOUNTERS);
    uint64_t drops0 = udp_rcvbuf_errors();
    uint64_t cpu0 = gw_cpu_ns(b->gw), w0 = bench_now_ns();
    int pid = 0;
    if (kind > 0) {
        if ((pid = flood_start(b, kind_name[kind], target, report)) < 0)
            return -1;
        bench_run_for(b, RAMP_MS);
    }
    struct flow *f = flow_new(b, pr, 0, FLOW_PING, b->o.latency_size);
    if (!f)
        return -1;
    f->rate = PROBE_RATE;
    f->open_loop = true;
    bench_progress(b, "flood %s: probes", kind_name[kind]);
    uint64_t t0 = bench_now_ns();
    flow_start(f);
    bench_run_until(b, never, NULL, (uint64_t)(b->o.flood_s * 1000));
    flow_stop(f);
    k->seconds += (double)(bench_now_ns() - t0) / 1e9;
    if (pid > 0)
        kill(pid, SIGTERM);
    /* the probes still out come back (or, after SETTLE_MS, are counted as never answered) */
    bench_run_until(b, all_answered, f, SETTLE_MS);
    if (pid > 0)
        flood_reap(pid, report, k);
    size_t first = k->lat.n;
    pool(&k->lat, &f->lat);
    k->probes += f->sent;
    k->unanswered += f->sent - f->lat.n;
    for (uint64_t i = f->lat.n; i < f->sent && k->lat.n < k->lat.cap; i++)
        k->lat.us10[k->lat.n++] = UINT32_MAX; /* an unanswered probe: slower than any */
    flow_free(f);
    window_p99(k, first);
    k->kernel_drops += udp_rcvbuf_errors() - drops0;
    bench_run_for(b, DRAIN_MS); /* queues drain before the next window */
    gw_counters(b->gw, counter_names, c1, NCOUNTERS);
    k->gw_cpu_ns += gw_cpu_ns(b->gw) - cpu0;
    k->wall_s += (double)(bench_now_ns() - w0) / 1e9;
    for (int i = 0; i < NCOUNTERS; i++)
        k->counters[i] += c1[i] - c0[i];
    return 0;
}

static json_t *kind_json(struct kind_result *k)
{
    lat_sort(&k->lat);
    json_t *c = json_object();
    for (int i = 0; i < NCOUNTERS; i++)
        json_object_set_new(c, counter_names[i], json_integer((json_int_t)k->counters[i]));
    /* dcgwd's CPU per datagram it read: what one datagram of the flood costs it */
    double per_rx = k->counters[0] ? (double)k->gw_cpu_ns / (double)k->counters[0] : NAN;
    json_t *j = json_pack(
        "{s:I,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:I,s:o}", "samples", (json_int_t)k->lat.n, "rtt_p50_us",
        jnum(lat_percentile(&k->lat, 0.50)), "rtt_p90_us", jnum(lat_percentile(&k->lat, 0.90)),
        "rtt_p99_us", jnum(lat_percentile(&k->lat, 0.99)), "rtt_max_us",
        jnum(lat_percentile(&k->lat, 1.0)), "seconds", jnum(k->seconds), "flood_sent",
        (json_int_t)k->flood_sent, "flood_rate_per_s", jnum(k->flood_rate), "kernel_rcvbuf_drops",
        (json_int_t)k->kernel_drops, "dcgw_counters", c);
    json_t *wins = json_array();
    for (unsigned i = 0; i < k->nwin; i++)
        json_array_append_new(wins, jnum(k->win_p99[i]));
    json_object_set_new(j, "window_p99_us", wins);
    json_t *rates = json_array();
    for (unsigned i = 0; i < k->nrate; i++)
        json_array_append_new(rates, jnum(k->win_rate[i]));
    json_object_set_new(j, "window_flood_rate_per_s", rates);
    json_object_set_new(j, "flood_rate_min_per_s", jnum(min_rate(k)));
    json_object_set_new(j, "window_p99_median_us", jnum(median_p99(k)));
    json_object_set_new(j, "probes", json_integer((json_int_t)k->probes));
    json_object_set_new(j, "probes_unanswered", json_integer((json_int_t)k->unanswered));
    json_object_set_new(j, "gw_cpu_s", jnum((double)k->gw_cpu_ns / 1e9));
    json_object_set_new(j, "gw_cpu_share", jnum((double)k->gw_cpu_ns / 1e9 / k->wall_s));
    json_object_set_new(j, "gw_cpu_ns_per_rx_datagram", jnum(per_rx));
    return j;
}

static void free_kinds(struct kind_result *k)
{
    for (int i = 0; i < KINDS; i++)
        free(k[i].lat.us10);
}

int scen_flood(struct bench *b, json_t *res)
{
    if (!b->o.flood || access(b->o.flood, X_OK) != 0) {
        bench_note(b, "flood: no dcgw-flood at %s (--flood PATH): not measured",
                   b->o.flood ? b->o.flood : "(none)");
        json_object_set_new(res, "status", json_string("skipped: no dcgw-flood"));
        return 0;
    }
    if (!bench_path_available(b, PATH_GATEWAY))
        return -1;
    struct pairset *s = pairset_setup(b, PATH_GATEWAY, 1, 1, 1, false, 20000);
    char target[80];
    if (!s || s->ready < 1 || gw_session_address(b->gw, s->v[0]->sid, target, sizeof(target)) < 0) {
        bench_note(b, "flood: session not ready, not measured");
        pairset_free(s);
        return -1;
    }
    struct kind_result k[KINDS];
    memset(k, 0, sizeof(k));
    size_t cap = (size_t)(b->o.flood_s * PROBE_RATE * 1.2 + 16) * b->o.flood_rounds;
    for (int i = 0; i < KINDS; i++) {
        k[i].lat.cap = cap;
        k[i].lat.us10 = malloc(cap * sizeof(*k[i].lat.us10));
        if (!k[i].lat.us10) {
            free_kinds(k);
            pairset_free(s);
            return -1;
        }
    }
    /* The flooder's CPU is its own in every window, flood or not: the kernel's share of
     * receiving the flood (loopback delivers on the sending CPU) then falls there, and what
     * is measured keeps the same CPUs throughout. */
    int fcpu = flood_cpu(b);
    bool pinned = sysconf(_SC_NPROCESSORS_ONLN) > 1 && b->o.flood_pin;
    if (pinned) {
        proc_set_affinity(getpid(), fcpu);
        proc_set_affinity(b->far_pid, fcpu);
        gw_set_affinity(b->gw, fcpu);
    }
    int r = 0;
    for (unsigned round = 0; round < b->o.flood_rounds && r == 0; round++)
        for (int kind = 0; kind < KINDS && r == 0; kind++)
            r = window(b, s->v[0], kind, target, &k[kind]);
    if (pinned) {
        proc_set_affinity(getpid(), -1);
        proc_set_affinity(b->far_pid, -1);
        gw_set_affinity(b->gw, -1);
    }
    json_object_set_new(res, "others_off_flood_cpu", json_boolean(pinned));
    report_table_header(b, "a legitimate session's round trips under a flood from unknown sources",
                        "flood  samples   p50 us   p99 us  p99/window us   max us  flood/s  "
                        "kernel drops  dcgw dropped  dcgwd cpu  ns/datagram");
    json_t *kinds = json_object();
    for (int i = 0; i < KINDS && r == 0; i++) {
        json_t *kj = kind_json(&k[i]);
        json_object_set_new(kinds, kind_name[i], kj);
        report_row(b, "%-6s %7zu %8.0f %8.0f %14.0f %8.0f %8.0f %13llu %13llu %9.0f%% %12.0f",
                   kind_name[i], k[i].lat.n, lat_percentile(&k[i].lat, 0.5),
                   lat_percentile(&k[i].lat, 0.99), median_p99(&k[i]),
                   lat_percentile(&k[i].lat, 1.0), k[i].flood_rate,
                   (unsigned long long)k[i].kernel_drops,
                   (unsigned long long)(k[i].counters[1] + k[i].counters[2]),
                   100.0 * (double)k[i].gw_cpu_ns / 1e9 / k[i].wall_s,
                   (double)k[i].gw_cpu_ns / (double)(k[i].counters[0] ? k[i].counters[0] : 1));
    }
    double base = lat_percentile(&k[0].lat, 0.99);
    double ratio_stun = lat_percentile(&k[1].lat, 0.99) / base;
    double ratio_dtls = lat_percentile(&k[2].lat, 0.99) / base;
    double wbase = median_p99(&k[0]);
    double wratio_stun = median_p99(&k[1]) / wbase, wratio_dtls = median_p99(&k[2]) / wbase;
    b->f.flood_p99_ratio = fmax(wratio_stun, wratio_dtls);
    json_object_set_new(res, "kinds", kinds);
    static const char *const active[] = {"rx_filter_active"};
    uint64_t nfilter = 0;
    gw_counters(b->gw, active, &nfilter, 1);
    json_object_set_new(res, "kernel_filter_workers", json_integer((json_int_t)nfilter));
    json_object_set_new(res, "target", json_string(target));
    json_object_set_new(res, "flood_cpu", json_integer(flood_cpu(b)));
    json_object_set_new(res, "flood_sched", json_string(b->o.flood_idle ? "idle" : "nice"));
    json_object_set_new(res, "flood_nice", json_integer(b->o.flood_nice));
    json_object_set_new(res, "p99_ratio",
                        json_pack("{s:o,s:o}", "stun", jnum(ratio_stun), "dtls", jnum(ratio_dtls)));
    json_object_set_new(
        res, "window_p99_ratio",
        json_pack("{s:o,s:o}", "stun", jnum(wratio_stun), "dtls", jnum(wratio_dtls)));
    report_row(b,
               "p99 with a flood / without, median of the %u windows' p99: STUN %.2fx, DTLS "
               "%.2fx (target <= 3x); pooled: %.2fx, %.2fx; kernel filter on %llu of %u workers; "
               "flood/s per window: STUN %.0f-%.0f, DTLS %.0f-%.0f",
               k[0].nwin, wratio_stun, wratio_dtls, ratio_stun, ratio_dtls,
               (unsigned long long)nfilter, gw_workers(b->gw), min_rate(&k[1]), k[1].flood_rate,
               min_rate(&k[2]), k[2].flood_rate);
    free_kinds(k);
    pairset_free(s);
    return r;
}
