/* Output: the table on stdout, JSON, the gnuplot figure, and the targets of issue 7. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "verdict.h"

#ifndef DCGW_BENCH_SRC
#define DCGW_BENCH_SRC "bench"
#endif

json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

void snap_take(struct bench *b, struct snap *s)
{
    s->t_ns = bench_now_ns();
    s->cpu_self = proc_cpu_ns(getpid());
    s->cpu_far = b->far_pid > 0 ? proc_cpu_ns(b->far_pid) : 0;
    s->cpu_gw = gw_cpu_ns(b->gw);
    s->cpu_gw_master = gw_cpu_master_ns(b->gw);
    s->cpu_janus = janus_cpu_ns(b->jn);
    s->cpu_base = gw_cpu_ns(b->gw_base);
}

uint64_t snap_cpu(const struct snap *s0, const struct snap *s1, enum bench_path p)
{
    switch (p) {
    case PATH_GATEWAY:
    case PATH_RELAY: /* dcgwd forwards the datagrams */
        return s1->cpu_gw - s0->cpu_gw;
    case PATH_JANUS:
        return s1->cpu_janus - s0->cpu_janus;
    case PATH_BASE:
        return s1->cpu_base - s0->cpu_base;
    default: /* direct: both endpoints */
        return s1->cpu_self - s0->cpu_self + s1->cpu_far - s0->cpu_far;
    }
}

void report_table_header(struct bench *b, const char *title, const char *cols)
{
    bench_note(b, "%s", "");
    report_row(b, "== %s", title);
    report_row(b, "%s", cols);
}

void report_row(struct bench *b, const char *fmt, ...)
{
    if (b->progress_shown && isatty(2)) {
        fputs("\r\033[K", stderr);
        b->progress_shown = false;
    }
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

int report_write_json(struct bench *b, const char *path)
{
    if (json_dump_file(b->out, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) < 0) {
        bench_note(b, "cannot write %s", path);
        return -1;
    }
    return 0;
}

static void v(FILE *f, double x)
{
    if (isfinite(x) && x > 0)
        fprintf(f, "\t%.3f", x);
    else
        fputs("\tNaN", f);
}

/* Columns: size, MB/s direct gateway janus, RTT p50 and p99 direct gateway janus (plot.gp
 * reads them by position: the relay path is not plotted). */
enum { PLOT_PATHS = PATH_JANUS + 1 };

static int write_data(struct bench *b, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "# size\tmbps_direct\tmbps_gateway\tmbps_janus\tp50_direct\tp50_gateway"
               "\tp50_janus\tp99_direct\tp99_gateway\tp99_janus\n");
    for (unsigned i = 0; i < b->o.n_sizes; i++) {
        fprintf(f, "%zu", b->o.sizes[i]);
        for (int p = 0; p < PLOT_PATHS; p++)
            v(f, b->f.mb_per_s[p][i]);
        for (int p = 0; p < PLOT_PATHS; p++)
            v(f, b->f.rtt_p50_us[p][i]);
        for (int p = 0; p < PLOT_PATHS; p++)
            v(f, b->f.rtt_p99_us[p][i]);
        fputc('\n', f);
    }
    fclose(f);
    return 0;
}

int report_plot(struct bench *b)
{
    json_t *pl = json_object();
    json_object_set_new(b->out, "plot", pl);
    char data[512];
    if (b->o.data_path)
        snprintf(data, sizeof(data), "%s", b->o.data_path);
    else
        snprintf(data, sizeof(data), "%s.dat", b->o.plot_path);
    if (write_data(b, data) < 0) {
        json_object_set_new(pl, "status", json_string("cannot write the data file"));
        return -1;
    }
    json_object_set_new(pl, "data", json_string(data));
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "gnuplot -e \"datafile='%s'; outfile='%s'\" '%s/plot.gp' >'%s/gnuplot.log' 2>&1", data,
             b->o.plot_path, DCGW_BENCH_SRC, b->workdir);
    int rc = system(cmd);
    if (rc != 0) {
        bench_note(b, "gnuplot failed (exit %d); is gnuplot-nox installed? data in %s",
                   WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, data);
        json_object_set_new(pl, "status", json_string("gnuplot failed"));
        return -1;
    }
    json_object_set_new(pl, "status", json_string("ok"));
    json_object_set_new(pl, "png", json_string(b->o.plot_path));
    return 0;
}

struct target {
    const char *name, *want;
    double got;
    bool lower_is_better;
    double limit;
    const char *unit;
    double noise; /* the figure's measured spread; 0: none known */
};

void report_targets(struct bench *b)
{
    const struct findings *f = &b->f;
    /* Issue 17's targets, then issue 7's that it did not tighten. */
    struct target t[] = {
        {"gateway CPU per forwarded 1 KiB message / direct path", "<= 0.6x", f->gw_over_direct_1k,
         true, 0.6, "x", 0},
        {"gateway CPU per forwarded 64 B message / direct path", "<= 0.8x", f->gw_over_direct_64,
         true, 0.8, "x", 0},
        {"Janus CPU per echoed 1 KiB message / gateway", ">= 3x", f->janus_over_gw_1k, false, 3,
         "x", 0},
        {"memory per idle bridged session", "<= 100 KiB", f->idle_mem_per_session / 1024, true, 100,
         "KiB", 0},
        {"idle CPU of 50,000 bridged sessions (projected)", "< 10% of a core", f->idle_core_pct_50k,
         true, 10, "%", f->idle_core_pct_50k_noise},
        {"set-up: 2 server handshakes alone / dcgwd CPU per session", ">= 80%",
         100 * f->setup_of_crypto_limit, false, 80, "%", 0},
        {"bridged session set-up capacity on 2 cores (from CPU)", ">= 1000/s",
         f->setup_capacity_2cores, false, 1000, "/s", 0},
        {"added p99 latency per traversal, 1 KiB at half load", "<= 50 us",
         f->added_p99_us_traversal, true, 50, "us", 0},
        {"p99 round trip under a flood from unknown sources / none", "<= 3x (issue 13)",
         f->flood_p99_ratio, true, 3, "x", 0},
    };
    json_t *arr = json_array();
    json_object_set_new(b->out, "targets", arr);
    report_table_header(b, "targets (issues 17 and 7)",
                        "target                                        "
                        "          want               measured  verdict");
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *verdict = bench_verdict(t[i].got, t[i].noise, t[i].limit, t[i].lower_is_better);
        if (t[i].noise > 0)
            report_row(b, "%-58s %-16s %10.2f%-3s %s (noise +-%.2f%s)", t[i].name, t[i].want,
                       t[i].got, t[i].unit, verdict, t[i].noise, t[i].unit);
        else
            report_row(b, "%-58s %-16s %10.2f%-3s %s", t[i].name, t[i].want, t[i].got, t[i].unit,
                       verdict);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:o,s:s}", "target", t[i].name, "want",
                                             t[i].want, "measured", jnum(t[i].got), "noise",
                                             jnum(t[i].noise), "verdict", verdict));
    }
    report_row(b, "setup rate measured with the clients on the same 2 cores: %.0f sessions/s",
               f->setup_rate);
    if (isfinite(f->relay_over_direct_1k))
        report_row(b,
                   "relay, 1 KiB: dcgwd CPU per relayed message %.2fx the direct path's; "
                   "%.2f us per relayed datagram (DESIGN §10: a raw forwarder ~2.9 us)",
                   f->relay_over_direct_1k, f->relay_cpu_ns_per_datagram_1k / 1e3);
}
