/* Worker metrics (docs/metrics.md): what a worker counts for /metrics and the snapshot it
 * pushes to the master. Nothing here runs per datagram or per message: events are counted
 * as they are emitted, a closing session's counters are folded in once, and the rest is
 * read from the stages' own counters when a snapshot is built, every
 * metrics.push_interval_ms. The snapshot is sent only when a value changed (CPU time and
 * memory aside) or every DCGW_METRICS_PUSH_IDLE_TICKS ticks. A scrape of the master never
 * reaches a worker.
 *
 * A snapshot costs what changed, not what is live (docs/capacity.md "Idle cost"): each live
 * session keeps its last share of the values (its non-zero slots), the worker their sum.
 * What may change a session's share marks it (dcgw__wmetrics_touch: its datagrams other
 * than STUN that left its legs' states alone, its events, its leg timers that moved a state,
 * the controller's operations on it); a snapshot reads the marked sessions' stages again
 * and moves the sum by the difference. Every WMETRICS_FULL_EVERY snapshots it reads them
 * all, which bounds what a missed mark could leave stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/metrics.h"
#include "dcgw/net/mdc1.h"
#include "events.h"
#include "worker_int.h"

/* The media stage's drop reasons are the metrics' media_* reasons, in the same order. */
_Static_assert(DCGW_MDROP_MEDIA_NO_STAGE - DCGW_MDROP_MEDIA_NOT_READY == DCGW_MEDIA_DROP_COUNT,
               "media drop reasons: include/dcgw/msg/metrics.h follows DCGW_MEDIA_DROP_MAP");
_Static_assert(DCGW_MDROP_MEDIA_INTERNAL - DCGW_MDROP_MEDIA_NOT_READY == DCGW_MEDIA_DROP_INTERNAL,
               "media drop reasons: include/dcgw/msg/metrics.h follows DCGW_MEDIA_DROP_MAP");

enum {
    WMETRICS_FULL_EVERY = 60, /* snapshots between two that read every live session */
    WMETRICS_SHARE_MIN = 16,  /* slots a session's share holds at first */
};

struct wmetrics {
    uv_timer_t timer;
    uint32_t interval_ms;
    size_t n;
    uint64_t *acc;      /* counted events, and the counters of sessions that closed */
    uint64_t *live;     /* the sum of the live sessions' shares */
    uint64_t *cur;      /* the snapshot being built */
    uint64_t *last;     /* the last one pushed */
    GHashTable *marked; /* struct wsession *: shares to read again at the next snapshot */
    unsigned idle_ticks, since_full;
    bool pushed; /* once: the master has a snapshot */
    bool closing;
};

/* A session's share: the slots it adds to, with what it adds. */
struct wmshare {
    uint32_t n, cap;
    struct wmslot {
        uint32_t slot;
        uint64_t v;
    } e[];
};

/* Where add() puts a value: a dense vector (v), or a share being made (sh). */
struct msink {
    uint64_t *v;
    struct wmshare *sh;
    bool oom;
};

static void share_add(struct msink *k, size_t i, uint64_t x)
{
    struct wmshare *sh = k->sh;
    for (uint32_t j = 0; sh && j < sh->n; j++)
        if (sh->e[j].slot == i) {
            sh->e[j].v += x;
            return;
        }
    if (!sh || sh->n == sh->cap) {
        uint32_t cap = sh ? 2 * sh->cap : WMETRICS_SHARE_MIN;
        struct wmshare *g = realloc(sh, sizeof(*g) + cap * sizeof(g->e[0]));
        if (!g) {
            k->oom = true;
            return;
        }
        if (!sh)
            g->n = 0;
        g->cap = cap;
        k->sh = sh = g;
    }
    sh->e[sh->n++] = (struct wmslot){(uint32_t)i, x};
}

static void add(struct msink *k, enum dcgw_wmetric f, int a, int b, uint64_t x)
{
    size_t i = a < 0 || b < 0 ? SIZE_MAX : dcgw_metrics_slot(f, (unsigned)a, (unsigned)b);
    if (i == SIZE_MAX || x == 0)
        return;
    if (k->v)
        k->v[i] += x;
    else
        share_add(k, i, x);
}

/* Into a dense vector. */
#define DENSE(vec) (&(struct msink){.v = (vec)})

static int role_of(const struct wsession *s, unsigned leg)
{
    return dcgw_metrics_label_of_enum(DCGW_ML_ROLE, s->desc->legs[leg]->role);
}

/* ---- events (dcgw__wev_emit, events.c) */

static int event_role(struct worker *w, const Dcgw__Event *ev)
{
    const struct wsession *s =
        ev->session_id ? g_hash_table_lookup(w->sessions, ev->session_id) : NULL;
    for (unsigned i = 0; s && ev->leg && i < s->n_legs; i++)
        if (strcmp(s->desc->legs[i]->name, ev->leg) == 0)
            return role_of(s, i);
    return dcgw_metrics_label_of_enum(DCGW_ML_ROLE, DCGW__LEG_ROLE__ROLE_ANSWER);
}

void dcgw__wmetrics_event(struct worker *w, const Dcgw__Event *ev)
{
    struct wmetrics *m = w->metrics;
    if (!m)
        return;
    if (ev->session_id) {
        struct wsession *s = g_hash_table_lookup(w->sessions, ev->session_id);
        if (s)
            dcgw__wmetrics_touch(s);
    }
    struct msink *v = DENSE(m->acc);
    switch (ev->kind_case) {
    case DCGW__EVENT__KIND_LEG_CONNECTED:
        add(v, DCGW_WM_DTLS_HANDSHAKES, event_role(w, ev), 0, 1);
        break;
    case DCGW__EVENT__KIND_DTLS_FAILED:
        add(v, DCGW_WM_DTLS_FAILURES, event_role(w, ev),
            (int)dcgw_metrics_reason_of(ev->dtls_failed->code), 1);
        break;
    case DCGW__EVENT__KIND_CONSENT_LOST:
        add(v, DCGW_WM_CONSENT_LOST, event_role(w, ev), 0, 1);
        break;
    case DCGW__EVENT__KIND_RELAY_CONNECTED:
        add(v, DCGW_WM_RELAY_CONNECTED, ev->relay_connected->inspected ? 0 : 1, 0, 1);
        break;
    case DCGW__EVENT__KIND_RELAY_BLOCKED:
        add(v, DCGW_WM_RELAY_BLOCKS, (int)dcgw_metrics_reason_of(ev->relay_blocked->code), 0, 1);
        break;
    case DCGW__EVENT__KIND_AVATAR_ACCEPTED:
        add(v, DCGW_WM_AVATAR_ACCEPTED, ev->avatar_accepted->request ? 1 : 0, 0, 1);
        break;
    case DCGW__EVENT__KIND_MEDIA_STARTED:
        add(v, DCGW_WM_MEDIA_STARTED, event_role(w, ev),
            dcgw_metrics_label_of_enum(DCGW_ML_MEDIA_KIND, ev->media_started->kind), 1);
        break;
    case DCGW__EVENT__KIND_MEDIA_FAILED:
        add(v, DCGW_WM_MEDIA_FAILURES, event_role(w, ev), 0, 1);
        break;
    case DCGW__EVENT__KIND_AVATAR_REJECTED:
        add(v, DCGW_WM_AVATAR_REJECTED,
            dcgw_metrics_label_of_enum(DCGW_ML_AVATAR_REASON, ev->avatar_rejected->reason), 0, 1);
        break;
    default:
        break;
    }
}

/* ---- a session's counters (folded at close) and gauges (live only) */

static void add_relay(const struct wsession *s, struct msink *v, bool gauges)
{
    for (unsigned k = 0; k < s->n_legs; k++) {
        Dcgw__LegState state;
        Dcgw__RelayCounters c;
        dcgw__wrelay_peek(s, k, &state, &c);
        int role = role_of(s, k);
        if (gauges) {
            add(v, DCGW_WM_LEGS, role, dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, state), 1);
            continue;
        }
        add(v, DCGW_WM_RELAY_DATAGRAMS, role, 0, c.forwarded_packets);
        add(v, DCGW_WM_RELAY_BYTES, role, 0, c.forwarded_bytes);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_GARBAGE, 0, c.dropped_garbage);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_UNVALIDATED, 0, c.dropped_unvalidated);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_NO_PEER, 0, c.dropped_no_peer);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_RATE, 0, c.dropped_rate);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_INSPECTOR, 0, c.dropped_inspector);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_BLOCKED, 0, c.dropped_blocked);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_RELAY_MEDIA, 0, c.dropped_media);
        add(v, DCGW_WM_RELAY_MEDIA_DATAGRAMS, role, 0, c.media_forwarded_packets);
        add(v, DCGW_WM_RELAY_MEDIA_BYTES, role, 0, c.media_forwarded_bytes);
    }
}

/* A terminated leg's state as get reports it (legs.c dcgw__wsession_refresh). */
static Dcgw__LegState leg_state(const struct wsession *s, unsigned i)
{
    const struct wleg *l = s->legs[i];
    Dcgw__LegState kept = s->desc->legs[i]->state;
    return l->leg && !l->dead ? dcgw__wev_leg_state(dcgw_leg_state(l->leg), kept) : kept;
}

static void add_terminated_gauges(const struct wsession *s, struct msink *v)
{
    uint32_t open[2][DCGW_DC_KIND_COUNT] = {{0}}, served[2] = {0};
    dcgw_bridge_count_open(s->bridge, open);
    dcgw__wboot_count_open(s, served); /* bootstrap channels the proxy serves, not bridged */
    for (unsigned k = 0; k < 2; k++)
        open[k][DCGW_DC_KIND_BOOTSTRAP] += served[k];
    for (unsigned k = 0; k < s->n_legs && k < 2; k++) {
        int role = role_of(s, k);
        add(v, DCGW_WM_LEGS, role, dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, leg_state(s, k)),
            1);
        for (unsigned kind = 0; kind < DCGW_DC_KIND_COUNT; kind++)
            add(v, DCGW_WM_CHANNELS_OPEN, role, (int)kind, open[k][kind]);
        add(v, DCGW_WM_HELD_BYTES, role, 0, dcgw_bridge_held(s->bridge, k));
    }
}

/* The media stage's counters (audio and video of a terminated session). */
static void add_media(const struct wsession *s, struct msink *v)
{
    if (!s->media)
        return;
    struct wmedia_sums m;
    memset(&m, 0, sizeof(m));
    dcgw__wmedia_sums(s, &m);
    for (int kind = 0; kind < 2; kind++) {
        int k =
            dcgw_metrics_label_of_enum(DCGW_ML_MEDIA_KIND, kind ? DCGW__MEDIA_KIND__MEDIA_VIDEO
                                                                : DCGW__MEDIA_KIND__MEDIA_AUDIO);
        add(v, DCGW_WM_MEDIA_PACKETS, k, DCGW_METRIC_DIR_IN, m.in_packets[kind]);
        add(v, DCGW_WM_MEDIA_PACKETS, k, DCGW_METRIC_DIR_OUT, m.out_packets[kind]);
        add(v, DCGW_WM_MEDIA_BYTES, k, DCGW_METRIC_DIR_IN, m.in_bytes[kind]);
        add(v, DCGW_WM_MEDIA_BYTES, k, DCGW_METRIC_DIR_OUT, m.out_bytes[kind]);
    }
    for (int d = 0; d < DCGW_MEDIA_DROP_COUNT; d++)
        add(v, DCGW_WM_DROPS, DCGW_MDROP_MEDIA_NOT_READY + d, 0, m.dropped[d]);
}

static void add_session(const struct wsession *s, struct msink *v, bool gauges)
{
    if (s->relay) {
        add_relay(s, v, gauges);
    } else if (gauges) {
        add_terminated_gauges(s, v);
    } else {
        const struct dcgw_bridge_stats *b = dcgw_bridge_stats(s->bridge);
        for (unsigned k = 0; k < s->n_legs && k < 2; k++) {
            int role = role_of(s, k);
            add(v, DCGW_WM_DC_MESSAGES, role, DCGW_METRIC_DIR_IN, b->received[k]);
            add(v, DCGW_WM_DC_MESSAGES, role, DCGW_METRIC_DIR_OUT, b->sent[k]);
            add(v, DCGW_WM_DC_BYTES, role, DCGW_METRIC_DIR_IN, b->received_bytes[k]);
            add(v, DCGW_WM_DC_BYTES, role, DCGW_METRIC_DIR_OUT, b->sent_bytes[k]);
        }
        add(v, DCGW_WM_PAUSES, 0, 0, b->pauses);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_NO_TWIN, 0, b->dropped_no_twin);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_PARTIAL, 0, b->dropped_partial);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_CLOSED, 0, b->dropped_closed);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_TOO_BIG, 0, b->dropped_too_big);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_REFUSED, 0, b->dropped_by_owner);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_NO_MEMORY, 0, b->dropped_nomem);
        add_media(s, v);
    }
    if (gauges || !s->policy)
        return;
    uint64_t reasons[DCGW_POLICY_REASONS] = {0};
    dcgw_policy_reason_totals(s->policy, reasons, DCGW_POLICY_REASONS);
    for (int r = 0; r < DCGW_POLICY_REASONS; r++)
        if (reasons[r])
            add(v, DCGW_WM_POLICY_VIOLATIONS,
                dcgw_metrics_label_of_enum(DCGW_ML_POLICY_REASON,
                                           dcgw__wpolicy_reason_pb((enum dcgw_policy_reason)r)),
                0, reasons[r]);
}

/* ---- shares of live sessions */

static void share_apply(uint64_t *live, const struct wmshare *sh, bool plus)
{
    for (uint32_t j = 0; sh && j < sh->n; j++)
        live[sh->e[j].slot] += plus ? sh->e[j].v : (uint64_t)0 - sh->e[j].v;
}

/* Reads s's share again and moves the sum by the difference. False: out of memory (the
 * old share stays; s stays marked). */
static bool share_read(struct wmetrics *m, struct wsession *s)
{
    struct msink k = {.v = NULL};
    add_session(s, &k, false);
    add_session(s, &k, true);
    if (k.oom) {
        free(k.sh);
        return false;
    }
    share_apply(m->live, s->metrics_share, false);
    share_apply(m->live, k.sh, true);
    free(s->metrics_share);
    s->metrics_share = k.sh;
    return true;
}

void dcgw__wmetrics_touch(struct wsession *s)
{
    struct wmetrics *m = s->w->metrics;
    /* A closing session was folded and left w->sessions (dcgw__wsession_close), maybe
     * inside the very datagram or leg timer that marks it now: it is freed before the
     * next snapshot, and its counters are in acc already. */
    if (m && !m->closing && !s->closing && !s->metrics_marked) {
        g_hash_table_add(m->marked, s);
        s->metrics_marked = true;
    }
}

bool dcgw__wmetrics_marked(const struct wsession *s)
{
    const struct wmetrics *m = s->w->metrics;
    return m && g_hash_table_contains(m->marked, s);
}

void dcgw__wmetrics_fold(struct wsession *s)
{
    struct wmetrics *m = s->w->metrics;
    if (m) {
        add_session(s, DENSE(m->acc), false);
        share_apply(m->live, s->metrics_share, false);
        g_hash_table_remove(m->marked, s);
        s->metrics_marked = false;
    }
    free(s->metrics_share);
    s->metrics_share = NULL;
}

/* ---- the snapshot */

void dcgw__wmetrics_usage(uint64_t *user_us, uint64_t *system_us, uint64_t *rss_bytes)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec;
    *system_us = (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    *rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The live sessions' sum, up to date: the marked sessions' shares read again, or every
 * session's every WMETRICS_FULL_EVERY snapshots. */
static void refresh_live(struct wmetrics *m, struct worker *w)
{
    GHashTableIter it;
    gpointer k, val;
    bool full = ++m->since_full >= WMETRICS_FULL_EVERY;
    g_hash_table_iter_init(&it, full ? w->sessions : m->marked);
    while (g_hash_table_iter_next(&it, &k, &val)) {
        struct wsession *s = full ? val : k;
        bool read = share_read(m, s);
        if (full)
            s->metrics_marked = false; /* the set is emptied below */
        else if (read) {
            g_hash_table_iter_remove(&it);
            s->metrics_marked = false;
        }
    }
    if (full) {
        m->since_full = 0;
        g_hash_table_remove_all(m->marked);
    }
}

/* What is the worker's own, not a session's. */
static void add_worker(struct worker *w, struct msink *v)
{
    const struct dcgw_io_stats *io = w->io ? dcgw_io_stats(w->io) : NULL;
    if (io) {
        add(v, DCGW_WM_UDP_DATAGRAMS, DCGW_METRIC_DIR_IN, 0, io->rx_packets);
        add(v, DCGW_WM_UDP_DATAGRAMS, DCGW_METRIC_DIR_OUT, 0, io->tx_packets);
        add(v, DCGW_WM_UDP_BYTES, DCGW_METRIC_DIR_IN, 0, io->rx_bytes);
        add(v, DCGW_WM_UDP_BYTES, DCGW_METRIC_DIR_OUT, 0, io->tx_bytes);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_UDP_TRUNCATED, 0, io->rx_truncated);
        add(v, DCGW_WM_DROPS, DCGW_MDROP_UDP_SEND_ERROR, 0, io->tx_errors);
    }
    struct dcgw_wunknown u;
    dcgw__wplane_unknown(w, &u);
    add(v, DCGW_WM_DROPS, DCGW_MDROP_UNKNOWN_SOURCE, 0, u.dropped);
    add(v, DCGW_WM_DROPS, DCGW_MDROP_UNKNOWN_LIMITED, 0, u.limited);
    add(v, DCGW_WM_DROPS, DCGW_MDROP_KERNEL_RCVBUF, 0, u.kernel_drops);
    add(v, DCGW_WM_DROPS, DCGW_MDROP_NO_SESSION, 0, w->stats.rx_no_session);
    add(v, DCGW_WM_RELAY_FLOWS, 0, 0, w->stats.relay_flows);
    const struct dcgw_mdc1_stats *hs = dcgw__wboot_stats(w);
    if (hs) {
        const uint64_t outcome[DCGW_MXFER_COUNT] = {
            [DCGW_MXFER_STARTED] = hs->started,     [DCGW_MXFER_COMPLETED] = hs->completed,
            [DCGW_MXFER_FAILED] = hs->failed,       [DCGW_MXFER_TIMED_OUT] = hs->timed_out,
            [DCGW_MXFER_CANCELLED] = hs->cancelled, [DCGW_MXFER_REFUSED] = hs->refused_full,
        };
        for (int i = 0; i < DCGW_MXFER_COUNT; i++)
            add(v, DCGW_WM_MDC1_TRANSFERS, i, 0, outcome[i]);
        add(v, DCGW_WM_MDC1_BYTES, 0, 0, hs->bytes_received);
    }
    add(v, DCGW_WM_SRTP_SESSIONS, 0, 0, w->stats.srtp_sessions_created);
    add(v, DCGW_WM_DROPS, DCGW_MDROP_MEDIA_NO_STAGE, 0, w->stats.media_no_stage);
}

static void build(struct worker *w, uint64_t *vec)
{
    struct wmetrics *m = w->metrics;
    refresh_live(m, w);
    for (size_t i = 0; i < m->n; i++)
        vec[i] = m->acc[i] + m->live[i];
    add_worker(w, DENSE(vec));
}

void dcgw__wmetrics_build(struct worker *w, uint64_t *vec)
{
    build(w, vec);
}

void dcgw__wmetrics_rebuild(struct worker *w, uint64_t *vec)
{
    struct wmetrics *m = w->metrics;
    memcpy(vec, m->acc, m->n * sizeof(*vec));
    GHashTableIter it;
    gpointer k, val;
    g_hash_table_iter_init(&it, w->sessions);
    while (g_hash_table_iter_next(&it, &k, &val)) {
        add_session(val, DENSE(vec), false);
        add_session(val, DENSE(vec), true);
    }
    add_worker(w, DENSE(vec));
}

/* Whether v differs from the last snapshot pushed, CPU time and memory aside. */
static bool changed(const struct wmetrics *m, const uint64_t *v)
{
    size_t cpu = dcgw_metrics_slot(DCGW_WM_CPU, 0, 0), ncpu = dcgw_metrics_family_size(DCGW_WM_CPU);
    size_t rss = dcgw_metrics_slot(DCGW_WM_RSS, 0, 0);
    for (size_t i = 0; i < m->n; i++)
        if ((i < cpu || i >= cpu + ncpu) && i != rss && v[i] != m->last[i])
            return true;
    return false;
}

static void push(struct worker *w)
{
    struct wmetrics *m = w->metrics;
    uint64_t *v = m->cur;
    build(w, v);
    if (m->pushed && !changed(m, v) && ++m->idle_ticks < DCGW_METRICS_PUSH_IDLE_TICKS)
        return;
    m->pushed = true;
    m->idle_ticks = 0;
    uint64_t user, sys, rss;
    dcgw__wmetrics_usage(&user, &sys, &rss);
    add(DENSE(v), DCGW_WM_CPU, 0, 0, user);
    add(DENSE(v), DCGW_WM_CPU, 1, 0, sys);
    add(DENSE(v), DCGW_WM_RSS, 0, 0, rss);
    memcpy(m->last, v, m->n * sizeof(*v));
    Dcgw__WorkerMetrics wm = DCGW__WORKER_METRICS__INIT;
    wm.has_time_unix_ms = 1;
    wm.time_unix_ms = dcgw_unix_ms();
    wm.n_values = m->n;
    wm.values = v;
    Dcgw__Internal in = DCGW__INTERNAL__INIT;
    in.msg_case = DCGW__INTERNAL__MSG_METRICS;
    in.metrics = &wm;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_INTERNAL;
    f.internal = &in;
    dcgw__wev_send(w, &f);
}

static void on_tick(uv_timer_t *t)
{
    push(t->data);
}

void dcgw__wmetrics_configure(struct worker *w, bool create)
{
    struct wmetrics *m = w->metrics;
    if (create && !m) {
        size_t n = dcgw_metrics_slots();
        m = calloc(1, sizeof(*m));
        uint64_t *a = calloc(4 * n, sizeof(*a));
        if (!m || !a) {
            DCGW_ERROR(WORKER, "metrics: out of memory; this worker pushes none");
            free(m);
            free(a);
            return;
        }
        m->n = n;
        m->acc = a;
        m->cur = a + n;
        m->last = a + 2 * n;
        m->live = a + 3 * n;
        m->marked = g_hash_table_new(g_direct_hash, g_direct_equal);
        /* sessions made before metrics were on count from the first snapshot */
        m->since_full = WMETRICS_FULL_EVERY;
        uv_timer_init(w->loop, &m->timer);
        m->timer.data = w;
        w->metrics = m;
    }
    if (!m || m->closing || m->interval_ms == w->cfg.metrics.push_interval_ms)
        return;
    m->interval_ms = w->cfg.metrics.push_interval_ms;
    uv_timer_start(&m->timer, on_tick, m->interval_ms, m->interval_ms);
}

void dcgw__wmetrics_stop(struct worker *w)
{
    struct wmetrics *m = w->metrics;
    if (!m || m->closing)
        return;
    m->closing = true;
    uv_close((uv_handle_t *)&m->timer, NULL);
}

void dcgw__wmetrics_free(struct worker *w)
{
    struct wmetrics *m = w->metrics;
    if (!m)
        return;
    g_hash_table_destroy(m->marked);
    free(m->acc);
    free(m);
    w->metrics = NULL;
}
