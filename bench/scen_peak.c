/* Memory after a peak (issue 13): a worker that served many sessions must shrink when
 * they are gone. Fresh dcgwd; the workers' RSS before, with --peak-sessions bridged
 * sessions up (of which --peak-live stay), after the others closed, and after all closed.
 * The live sessions' share is their count times the memory per session measured at the
 * peak. Pass: RSS after <= 2 x (RSS before + live share), and all closed <= 2 x before. */
#include <math.h>
#include <stdio.h>

#include "bench.h"

enum {
    PEAK_SETTLE_MS = 2000, /* after set-up or closing: the workers free and trim */
    PEAK_TIMEOUT_MS_PER_SESSION = 50,
    PEAK_TIMEOUT_MS_MIN = 60000,
};

static uint64_t timeout_for(unsigned n)
{
    uint64_t t = (uint64_t)n * PEAK_TIMEOUT_MS_PER_SESSION;
    return t < PEAK_TIMEOUT_MS_MIN ? PEAK_TIMEOUT_MS_MIN : t;
}

static double mib(uint64_t x)
{
    return (double)x / (1024.0 * 1024.0);
}

static uint64_t settled_rss(struct bench *b, const char *what)
{
    bench_progress(b, "peak: %s, settling", what);
    bench_run_for(b, PEAK_SETTLE_MS);
    return gw_rss_workers(b->gw);
}

int scen_peak(struct bench *b, json_t *res)
{
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    if (b->o.socket) {
        bench_note(b, "peak: needs a dcgwd of its own (not --socket)");
        return -1;
    }
    char err[300];
    gw_stop(b); /* a fresh daemon: earlier scenarios' peaks would hide this one */
    if (gw_start(b, err, sizeof(err)) < 0) {
        bench_note(b, "dcgwd restart failed: %s", err);
        gw_stop(b);
        return -1;
    }
    unsigned n = b->o.peak_sessions, k = b->o.peak_live < n ? b->o.peak_live : n;
    uint64_t before = settled_rss(b, "no sessions");
    struct pairset *live =
        pairset_setup(b, PATH_GATEWAY, k, 1, b->o.setup_concurrency, true, timeout_for(k));
    struct pairset *rest = live ? pairset_setup(b, PATH_GATEWAY, n - k, 1, b->o.setup_concurrency,
                                                true, timeout_for(n))
                                : NULL;
    if (!live || !rest) {
        pairset_free(live);
        return -1;
    }
    unsigned up = live->ready + rest->ready, live_up = live->ready;
    char what[64];
    snprintf(what, sizeof(what), "%u sessions up", up);
    uint64_t peak = settled_rss(b, what);
    pairset_free(rest);
    snprintf(what, sizeof(what), "%u closed, %u live", up - live_up, live_up);
    uint64_t after = settled_rss(b, what);
    pairset_free(live);
    uint64_t end = settled_rss(b, "all closed");
    double per = up ? ((double)peak - (double)before) / up : NAN;
    double share = per * live_up;
    double r_after = (double)after / ((double)before + share);
    double r_end = (double)end / (double)before;
    bool ok = up == n && r_after <= 2.0 && r_end <= 2.0;
    report_table_header(b, "memory after a peak (workers' RSS, MiB)",
                        "sessions  live  before    peak  per session(KiB)  after (live)  "
                        "after/(before+live share)  all closed  /before");
    report_row(b, "%8u %5u %7.1f %7.1f %17.1f %13.1f %26.2f %11.1f %8.2f%s", up, live_up,
               mib(before), mib(peak), per / 1024, mib(after), r_after, mib(end), r_end,
               ok ? "" : "  (over 2x)");
    json_array_append_new(pts, json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:b}",
                                         "sessions", (int)up, "live", (int)live_up, "rss_before",
                                         (json_int_t)before, "rss_peak", (json_int_t)peak,
                                         "rss_after", (json_int_t)after, "rss_end", (json_int_t)end,
                                         "rss_per_session", jnum(per), "live_share", jnum(share),
                                         "after_over_before_plus_share", jnum(r_after),
                                         "end_over_before", jnum(r_end), "within_2x", ok));
    return 0;
}
