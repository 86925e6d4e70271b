/* What a scrape of /metrics costs the data path (docs/metrics.md). One bridged session,
 * 1 KiB messages through the dcgwd the bench started, measured in three windows in turn:
 *
 *   quiet:    nobody scrapes
 *   scraped:  a thread GETs http://127.0.0.1:PORT/metrics --scrape-hz times a second
 *             (default 50: Prometheus' default is one scrape every 15 s)
 *   quiet:    again, so that the two quiet windows give the noise of the figure
 *
 * and the sweep repeats o.repeat times. dcgwd's CPU is split: the workers' (the data path:
 * every message's work) and the master's (which serves the scrapes from the workers'
 * pushed snapshots, never asking them). Per repeat: scraped / quiet of the workers' CPU per
 * message, and the spread of the two quiet windows; medians are reported. The claim holds
 * when the ratio is not above 1 by more than that spread (one-sided: a scrape can only add
 * work). */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "stats.h"

enum { METRICS_SETUP_MS = 20000, METRICS_SIZE = 1024, SCRAPE_BUF = 65536 };

struct scraper {
    pthread_t th;
    uint16_t port;
    double hz;
    atomic_bool stop;
    atomic_ulong ok, failed;
    atomic_ulong bytes; /* of the last good response */
};

/* One GET /metrics over a fresh connection; true on a 200 with a body. */
static bool scrape_once(uint16_t port, size_t *len)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[SCRAPE_BUF], head[16];
    size_t hl = 0, total = 0;
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1);
    while (ok) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && hl < sizeof(head); i++)
            head[hl++] = buf[i]; /* the status line; the rest is only counted */
        total += (size_t)n;
    }
    close(fd);
    *len = total;
    return ok && hl >= 12 && memcmp(head, "HTTP/1.", 7) == 0 && memcmp(head + 9, "200", 3) == 0 &&
           total > 1000;
}

static void *scrape_loop(void *arg)
{
    struct scraper *s = arg;
    uint64_t period = (uint64_t)(1e9 / s->hz), next = bench_now_ns();
    while (!atomic_load(&s->stop)) {
        size_t len = 0;
        if (scrape_once(s->port, &len)) {
            atomic_fetch_add(&s->ok, 1);
            atomic_store(&s->bytes, len);
        } else {
            atomic_fetch_add(&s->failed, 1);
        }
        next += period;
        uint64_t now = bench_now_ns();
        if (next > now) {
            struct timespec ts = {(time_t)((next - now) / 1000000000u),
                                  (long)((next - now) % 1000000000u)};
            nanosleep(&ts, NULL);
        } else {
            next = now; /* behind: no catching up in a burst */
        }
    }
    return NULL;
}

/* One window: the tput measurement, with the scraper running through it when s is set. */
struct mwin {
    struct tput t;
    unsigned long scrapes, failed;
    bool scraped;
};

static int window(struct bench *b, struct pairset *set, struct scraper *s, struct mwin *w)
{
    *w = (struct mwin){.scraped = s != NULL};
    if (s) {
        atomic_store(&s->stop, false);
        atomic_store(&s->ok, 0);
        atomic_store(&s->failed, 0);
        if (pthread_create(&s->th, NULL, scrape_loop, s) != 0)
            return -1;
    }
    int r = tput_measure(b, set, METRICS_SIZE, b->o.duration_s, &w->t);
    if (s) {
        atomic_store(&s->stop, true);
        pthread_join(s->th, NULL);
        w->scrapes = atomic_load(&s->ok);
        w->failed = atomic_load(&s->failed);
    }
    return r;
}

static double workers_ns(const struct mwin *w)
{
    return w->t.msgs ? (double)(w->t.cpu_meas - w->t.cpu_master) / (double)w->t.msgs : NAN;
}

static double master_ns(const struct mwin *w)
{
    return w->t.msgs ? (double)w->t.cpu_master / (double)w->t.msgs : NAN;
}

static const char *COLS = "window      msg/s  workers cpu/msg(us)  master cpu/msg(us)  scrapes/s";

static void row(struct bench *b, const char *label, const struct mwin *w)
{
    if (!w->t.msgs) {
        report_row(b, "%-9s no message delivered", label);
        return;
    }
    report_row(b, "%-9s %9.0f %20.3f %19.3f %10.1f", label, (double)w->t.msgs / w->t.secs,
               workers_ns(w) / 1e3, master_ns(w) / 1e3,
               w->scraped ? (double)w->scrapes / (w->t.secs + b->o.warmup_s) : 0.0);
}

static json_t *win_json(const struct mwin *w, const char *what)
{
    return json_pack("{s:s,s:o,s:I,s:o,s:o,s:I,s:I}", "window", what, "msgs_per_s",
                     jnum(w->t.msgs ? (double)w->t.msgs / w->t.secs : NAN), "messages",
                     (json_int_t)w->t.msgs, "workers_cpu_ns_per_msg", jnum(workers_ns(w)),
                     "master_cpu_ns_per_msg", jnum(master_ns(w)), "scrapes", (json_int_t)w->scrapes,
                     "scrapes_failed", (json_int_t)w->failed);
}

static int run(struct bench *b, json_t *res, struct pairset *set, struct scraper *s)
{
    unsigned nr = b->o.repeat;
    double ratio[BENCH_REPEAT_MAX], noise[BENCH_REPEAT_MAX], master[BENCH_REPEAT_MAX];
    double quiet[BENCH_REPEAT_MAX], scraped[BENCH_REPEAT_MAX];
    unsigned long scrapes = 0, failed = 0;
    double scrape_s = 0;
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    for (unsigned r = 0; r < nr; r++) {
        struct mwin w[3];
        static const char *names[3] = {"quiet", "scraped", "quiet"};
        for (int k = 0; k < 3; k++) {
            if (window(b, set, k == 1 ? s : NULL, &w[k]) < 0)
                return -1;
            char label[16];
            snprintf(label, sizeof(label), "%s#%u", names[k], r + 1);
            row(b, label, &w[k]);
            json_array_append_new(pts, win_json(&w[k], names[k]));
        }
        double q0 = workers_ns(&w[0]), q1 = workers_ns(&w[2]), q = (q0 + q1) / 2;
        quiet[r] = q;
        scraped[r] = workers_ns(&w[1]);
        ratio[r] = q > 0 ? scraped[r] / q : NAN;
        noise[r] = q > 0 ? fabs(q0 - q1) / q : NAN;
        /* the master's extra CPU while scraped, per scrape */
        double extra =
            (double)w[1].t.cpu_master / w[1].t.secs -
            ((double)w[0].t.cpu_master / w[0].t.secs + (double)w[2].t.cpu_master / w[2].t.secs) / 2;
        double rate = (double)w[1].scrapes / (w[1].t.secs + b->o.warmup_s);
        master[r] = rate > 0 ? extra / rate : NAN;
        scrapes += w[1].scrapes;
        failed += w[1].failed;
        scrape_s += w[1].t.secs + b->o.warmup_s;
    }
    double mr = bench_median(ratio, nr), mn = bench_median(noise, nr),
           mm = bench_median(master, nr);
    double mq = bench_median(quiet, nr), ms = bench_median(scraped, nr);
    /* One-sided: a scrape can only add work to the workers; a ratio below 1 is the
     * machine's noise (the quiet spread underestimates it then), not a gain. */
    bool within = isfinite(mr) && isfinite(mn) && mr - 1 <= mn;
    json_object_set_new(res, "summary",
                        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:s}", "scrape_hz",
                                  jnum(s->hz), "workers_cpu_ns_per_msg_quiet", jnum(mq),
                                  "workers_cpu_ns_per_msg_scraped", jnum(ms), "scraped_over_quiet",
                                  jnum(mr), "quiet_noise", jnum(mn), "master_cpu_ns_per_scrape",
                                  jnum(mm), "scrapes", (json_int_t)scrapes, "scrapes_failed",
                                  (json_int_t)failed, "exposition_bytes",
                                  (json_int_t)atomic_load(&s->bytes), "verdict",
                                  within ? "not above noise" : "above noise"));
    report_row(b,
               "-- median of %u: workers' CPU per message scraped / quiet %.3fx (quiet windows "
               "differ by %.1f%%): %s; %.0f scrapes/s, %lu failed, the master %.0f us per "
               "scrape of %lu bytes",
               nr, mr, mn * 100, within ? "not above the noise" : "ABOVE the noise",
               scrape_s > 0 ? (double)scrapes / scrape_s : 0, failed, mm / 1e3,
               (unsigned long)atomic_load(&s->bytes));
    return 0;
}

int scen_metrics(struct bench *b, json_t *res)
{
    report_table_header(b, "metrics: what scraping /metrics costs the data path (1 session, 1 KiB)",
                        COLS);
    uint16_t port = gw_metrics_port(b->gw);
    if (!b->gw || !port || !(b->o.scrape_hz > 0)) {
        const char *why = !b->gw  ? "no dcgwd"
                          : !port ? "dcgwd not ours (--socket)"
                                  : "--scrape-hz 0";
        bench_note(b, "metrics: not measured: %s", why);
        json_object_set_new(res, "error", json_string(why));
        return -1;
    }
    struct scraper s = {.port = port, .hz = b->o.scrape_hz};
    size_t len = 0;
    if (!scrape_once(port, &len)) {
        bench_note(b, "metrics: GET http://127.0.0.1:%u/metrics failed", (unsigned)port);
        json_object_set_new(res, "error", json_string("/metrics does not answer"));
        return -1;
    }
    json_object_set_new(res, "scrape_hz", jnum(s.hz));
    json_object_set_new(res, "repeats", json_integer(b->o.repeat));
    struct pairset *set = pairset_setup(b, PATH_GATEWAY, 1, 1, 1, false, METRICS_SETUP_MS);
    int r = set && set->ready == 1 ? run(b, res, set, &s) : -1;
    if (r < 0 && !json_object_get(res, "error"))
        json_object_set_new(res, "error", json_string("the session was not set up"));
    pairset_free(set);
    return r;
}
