/* Master: /metrics state and the text exposition (docs/metrics.md). Workers push their
 * values (worker/metrics.c); a scrape writes the latest ones with the master's own
 * (directory, supervision, control requests) and never waits on a worker. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/metrics.h"
#include "master_int.h"
#include "metrics_int.h"

enum { OP_TYPES_MAX = 32, HIST_BUCKETS = 15 };

/* Upper bounds of the control latency buckets, in ns (0.1 ms .. 5 s). */
static const uint64_t bucket_ns[HIST_BUCKETS] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000,
};

struct op_stats {
    uint64_t requests; /* arrived */
    uint64_t done;     /* answered: the histogram's count */
    uint64_t sum_ns;
    uint64_t bucket[HIST_BUCKETS]; /* not cumulative */
};

struct snapshot {
    int pid; /* the worker process it came from */
    uint64_t time_unix_ms;
    uint64_t *values; /* dcgw_metrics_slots() of them; NULL: none yet */
};

struct master_metrics {
    struct metrics_http *http;
    size_t slots;
    struct snapshot snap[DCGW_MAX_WORKERS];
    /* control request types: the Request oneof's fields, then "unknown" */
    unsigned n_ops;
    uint32_t op_id[OP_TYPES_MAX];
    const char *op_name[OP_TYPES_MAX];
    struct op_stats ops[OP_TYPES_MAX];
    uint64_t done_total;
};

/* ---- state */

int dcgw__metrics_start(struct master *m)
{
    struct master_metrics *mm = calloc(1, sizeof(*mm));
    if (!mm)
        return DCGW_ENOMEM;
    m->metrics = mm;
    mm->slots = dcgw_metrics_slots();
    const ProtobufCMessageDescriptor *d = &dcgw__request__descriptor;
    for (unsigned i = 0; i < d->n_fields && mm->n_ops + 1 < OP_TYPES_MAX; i++)
        if (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            mm->op_id[mm->n_ops] = d->fields[i].id;
            mm->op_name[mm->n_ops++] = d->fields[i].name;
        }
    mm->op_name[mm->n_ops++] = "unknown";
    if (!m->cfg.metrics.enabled) {
        DCGW_INFO(METRICS, "metrics off (metrics.enabled = false)");
        return 0;
    }
    return dcgw__metrics_http_start(m, m->cfg.metrics.listen, &mm->http);
}

void dcgw__metrics_stop(struct master *m)
{
    if (m->metrics && m->metrics->http) {
        dcgw__metrics_http_stop(m->metrics->http);
        m->metrics->http = NULL;
    }
}

void dcgw__metrics_free(struct master *m)
{
    struct master_metrics *mm = m->metrics;
    if (!mm)
        return;
    dcgw__metrics_stop(m);
    for (unsigned i = 0; i < DCGW_MAX_WORKERS; i++)
        free(mm->snap[i].values);
    free(mm);
    m->metrics = NULL;
}

void dcgw__metrics_from_worker(struct master *m, const struct worker *w,
                               const Dcgw__WorkerMetrics *wm)
{
    struct master_metrics *mm = m->metrics;
    if (!mm || w->index >= DCGW_MAX_WORKERS)
        return;
    if (wm->n_values != mm->slots) {
        DCGW_LOG_RL(METRICS, WARN, "worker %u sent %zu metric values, %zu expected; ignored",
                    w->index, wm->n_values, mm->slots);
        return;
    }
    struct snapshot *s = &mm->snap[w->index];
    if (!s->values && !(s->values = malloc(mm->slots * sizeof(*s->values))))
        return;
    memcpy(s->values, wm->values, mm->slots * sizeof(*s->values));
    s->pid = w->pid;
    s->time_unix_ms = wm->time_unix_ms;
}

static struct op_stats *op_of(struct master_metrics *mm, uint32_t op)
{
    unsigned i = 0;
    while (i + 1 < mm->n_ops && mm->op_id[i] != op)
        i++;
    return &mm->ops[i]; /* the last is "unknown" */
}

void dcgw__metrics_request(struct master *m, uint32_t op)
{
    if (m->metrics)
        op_of(m->metrics, op)->requests++;
}

void dcgw__metrics_request_done(struct master *m, uint32_t op, uint64_t t0_ns)
{
    if (!m->metrics)
        return;
    struct op_stats *s = op_of(m->metrics, op);
    uint64_t now = uv_hrtime(), ns = now > t0_ns ? now - t0_ns : 0;
    s->done++;
    s->sum_ns += ns;
    unsigned b = 0;
    while (b < HIST_BUCKETS && ns > bucket_ns[b])
        b++;
    if (b < HIST_BUCKETS)
        s->bucket[b]++;
    m->metrics->done_total++;
}

uint64_t dcgw__metrics_requests_done(const struct master *m)
{
    return m->metrics ? m->metrics->done_total : 0;
}

void dcgw__metrics_reload(struct master *m, struct dcgw_config *next)
{
    const struct dcgw_config *cur = &m->cfg;
    if (next->metrics.enabled != cur->metrics.enabled ||
        (cur->metrics.enabled && strcmp(next->metrics.listen, cur->metrics.listen) != 0))
        DCGW_WARN(CONFIG, "metrics.enabled and metrics.listen change at the next restart");
    next->metrics.enabled = cur->metrics.enabled;
    memcpy(next->metrics.listen, cur->metrics.listen, sizeof(next->metrics.listen));
}

/* ---- the text exposition format */

struct out {
    char *p;
    size_t len, cap;
    int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !o->err; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->err = DCGW_EINTERNAL;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t need = o->len + (size_t)n + 1, cap = o->cap;
        while (cap < need)
            cap *= 2;
        if (cap > DCGW_METRICS_BODY_MAX) {
            o->err = DCGW_ETOOBIG;
            return;
        }
        char *p = realloc(o->p, cap);
        if (!p) {
            o->err = DCGW_ENOMEM;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

/* A label value, escaped as the format asks (backslash, double quote, newline). */
static void put_value(struct out *o, const char *v)
{
    if (!strpbrk(v, "\\\"\n")) {
        put(o, "%s", v);
        return;
    }
    for (; *v && !o->err; v++) {
        if (*v == '\\' || *v == '"')
            put(o, "\\%c", *v);
        else if (*v == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *v);
    }
}

static void put_family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *type_name(enum dcgw_metric_type t)
{
    return t == DCGW_METRIC_COUNTER ? "counter" : t == DCGW_METRIC_GAUGE ? "gauge" : "histogram";
}

static void put_number(struct out *o, uint64_t v, unsigned decimals)
{
    uint64_t div = 1;
    for (unsigned i = 0; i < decimals; i++)
        div *= 10;
    if (decimals)
        put(o, " %llu.%0*llu\n", (unsigned long long)(v / div), (int)decimals,
            (unsigned long long)(v % div));
    else
        put(o, " %llu\n", (unsigned long long)v);
}

static bool snapshot_live(const struct master *m, unsigned i)
{
    const struct snapshot *s = &m->metrics->snap[i];
    return s->values && m->workers[i].proc && s->pid == m->workers[i].pid;
}

/* One worker family: a sample per live worker and label value pair. */
static void put_worker_family(struct master *m, struct out *o, enum dcgw_wmetric f)
{
    const struct dcgw_metric_family *fam = dcgw_metrics_family(f);
    put_family(o, fam->name, type_name(fam->type), fam->help);
    enum dcgw_metric_label la = fam->label[0], lb = fam->label[1];
    unsigned na = la == DCGW_ML_NONE ? 1 : dcgw_metrics_label_count(la);
    unsigned nb = lb == DCGW_ML_NONE ? 1 : dcgw_metrics_label_count(lb);
    for (unsigned w = 0; w < m->n_workers; w++) {
        if (!snapshot_live(m, w))
            continue;
        const uint64_t *v = m->metrics->snap[w].values;
        for (unsigned a = 0; a < na; a++)
            for (unsigned b = 0; b < nb; b++) {
                put(o, "%s{worker=\"%u\"", fam->name, w);
                if (la != DCGW_ML_NONE) {
                    put(o, ",%s=\"", dcgw_metrics_label_name(la));
                    put_value(o, dcgw_metrics_label_value(la, a));
                    put(o, "\"");
                }
                if (lb != DCGW_ML_NONE) {
                    put(o, ",%s=\"", dcgw_metrics_label_name(lb));
                    put_value(o, dcgw_metrics_label_value(lb, b));
                    put(o, "\"");
                }
                put(o, "}");
                put_number(o, v[dcgw_metrics_slot(f, a, b)], fam->decimals);
            }
    }
}

static void put_sessions(struct master *m, struct out *o)
{
    unsigned ns = dcgw_metrics_label_count(DCGW_ML_SESSION_STATE);
    uint32_t *n = calloc((size_t)m->n_workers * ns + 1, sizeof(*n));
    if (!n) {
        o->err = DCGW_ENOMEM;
        return;
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->dir);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const struct dir_entry *d = v;
        int st = dcgw_metrics_label_of_enum(DCGW_ML_SESSION_STATE, d->state);
        if (!d->placing && st >= 0 && d->worker < m->n_workers)
            n[d->worker * ns + (unsigned)st]++;
    }
    put_family(o, "dcgw_sessions", "gauge",
               "Sessions in the master's directory by worker and state (as dcgwctl list).");
    for (unsigned w = 0; w < m->n_workers; w++)
        for (unsigned s = 0; s < ns; s++)
            put(o, "dcgw_sessions{worker=\"%u\",state=\"%s\"} %u\n", w,
                dcgw_metrics_label_value(DCGW_ML_SESSION_STATE, s), n[w * ns + s]);
    free(n);
}

static void put_total(struct out *o, const char *name, const char *help, uint64_t v)
{
    put_family(o, name, "counter", help);
    put(o, "%s %llu\n", name, (unsigned long long)v);
}

static void put_master(struct master *m, struct out *o)
{
    put_family(o, "dcgw_build_info", "gauge", "dcgw's version; the value is 1.");
    put(o, "dcgw_build_info{version=\"");
    put_value(o, DCGW_VERSION);
    put(o, "\"} 1\n");
    put_sessions(m, o);
    put_total(o, "dcgw_sessions_created_total", "Sessions created.", m->sessions_created);
    put_total(o, "dcgw_sessions_closed_total", "Sessions closed.", m->sessions_closed);
    put_total(o, "dcgw_sessions_lost_total", "Sessions lost with a worker that died.",
              m->sessions_lost);
    put_family(o, "dcgw_worker_up", "gauge", "1 when the worker is running and ready.");
    for (unsigned w = 0; w < m->n_workers; w++)
        put(o, "dcgw_worker_up{worker=\"%u\"} %d\n", w,
            m->workers[w].proc && m->workers[w].ready ? 1 : 0);
    put_family(o, "dcgw_worker_restarts_total", "counter",
               "Times the worker was restarted after it died or hung.");
    for (unsigned w = 0; w < m->n_workers; w++)
        put(o, "dcgw_worker_restarts_total{worker=\"%u\"} %u\n", w, m->workers[w].restarts);
    put_family(o, "dcgw_worker_metrics_timestamp_seconds", "gauge",
               "When the worker took the snapshot its samples below come from (Unix time).");
    for (unsigned w = 0; w < m->n_workers; w++)
        if (snapshot_live(m, w)) {
            uint64_t t = m->metrics->snap[w].time_unix_ms;
            put(o, "dcgw_worker_metrics_timestamp_seconds{worker=\"%u\"} %llu.%03llu\n", w,
                (unsigned long long)(t / 1000), (unsigned long long)(t % 1000));
        }
}

static void put_control(struct master *m, struct out *o)
{
    struct master_metrics *mm = m->metrics;
    put_family(o, "dcgw_control_connections", "gauge", "Controllers connected.");
    put(o, "dcgw_control_connections %u\n", g_hash_table_size(m->controllers));
    put_total(o, "dcgw_control_frames_rejected_total",
              "Control frames refused: malformed, not a request, unknown operation.",
              m->frames_rejected);
    put_family(o, "dcgw_control_requests_total", "counter",
               "Control requests received, by type (types seen so far).");
    for (unsigned i = 0; i < mm->n_ops; i++)
        if (mm->ops[i].requests)
            put(o, "dcgw_control_requests_total{type=\"%s\"} %llu\n", mm->op_name[i],
                (unsigned long long)mm->ops[i].requests);
    const char *h = "dcgw_control_request_duration_seconds";
    put_family(o, h, "histogram",
               "Time from a control request's arrival to its answer, by type (types seen).");
    for (unsigned i = 0; i < mm->n_ops; i++) {
        const struct op_stats *s = &mm->ops[i];
        if (!s->done)
            continue;
        uint64_t cum = 0;
        for (unsigned b = 0; b < HIST_BUCKETS; b++) {
            cum += s->bucket[b];
            put(o, "%s_bucket{type=\"%s\",le=\"%g\"} %llu\n", h, mm->op_name[i],
                (double)bucket_ns[b] / 1e9, (unsigned long long)cum);
        }
        put(o, "%s_bucket{type=\"%s\",le=\"+Inf\"} %llu\n", h, mm->op_name[i],
            (unsigned long long)s->done);
        put(o, "%s_sum{type=\"%s\"} %llu.%09llu\n", h, mm->op_name[i],
            (unsigned long long)(s->sum_ns / 1000000000u),
            (unsigned long long)(s->sum_ns % 1000000000u));
        put(o, "%s_count{type=\"%s\"} %llu\n", h, mm->op_name[i], (unsigned long long)s->done);
    }
}

int dcgw__metrics_render(struct master *m, char **out, size_t *len)
{
    if (!m->metrics)
        return DCGW_ESTATE;
    struct out o = {.cap = 16384};
    if (!(o.p = malloc(o.cap)))
        return DCGW_ENOMEM;
    o.p[0] = '\0';
    put_master(m, &o);
    for (unsigned f = 0; f < DCGW_WM_COUNT; f++)
        put_worker_family(m, &o, (enum dcgw_wmetric)f);
    put_control(m, &o);
    if (o.err) {
        free(o.p);
        return o.err;
    }
    *out = o.p;
    *len = o.len;
    return 0;
}
