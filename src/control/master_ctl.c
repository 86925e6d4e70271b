/* Master: requests from controllers (conn.c) routed to workers, the session directory and
 * event fan-out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/session.h"
#include "master_int.h"
#include "metrics_int.h"

/* ------------------------------------------------------------------ responses */

static int respond(struct controller *c, Dcgw__Response *r)
{
    if (c->sink) {
        c->sink->on_response(c->sink_ud, r);
        return 0;
    }
    return dcgw_stream_send_response(c->s, r);
}

static int respond_error(struct controller *c, uint64_t id, int code, const char *msg)
{
    Dcgw__Response r;
    Dcgw__Error e;
    dcgw_ctlmsg_error(&r, &e, id, code, msg);
    return respond(c, &r);
}

static struct controller *controller_by_id(struct master *m, uint64_t id)
{
    return g_hash_table_lookup(m->controllers, &id);
}

/* ------------------------------------------------------------------ events */

void dcgw__master_emit(struct master *m, Dcgw__Event *ev)
{
    ev->has_seq = 1;
    ev->seq = ++m->event_seq;
    if (!ev->has_time_unix_ms) {
        ev->has_time_unix_ms = 1;
        ev->time_unix_ms = dcgw_unix_ms();
    }
    DCGW_DEBUG(MASTER, "event %llu %s session=%s", (unsigned long long)ev->seq,
               dcgw_ctlmsg_event_name(ev), ev->session_id ? ev->session_id : "-");
    size_t n = 0;
    const uint8_t *frame = dcgw__replay_add(m, ev, &n); /* packed once for every socket */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->controllers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct controller *c = v;
        if (!c->subscribed)
            continue;
        if (c->filter[0] && (!ev->session_id || strcmp(c->filter, ev->session_id) != 0))
            continue;
        if (c->sink)
            c->sink->on_event(c->sink_ud, ev);
        else if (frame)
            dcgw_stream_write(c->s, frame, n);
        else
            dcgw_stream_send_event(c->s, ev);
    }
}

/* ------------------------------------------------------------------ forwarding */

static struct pending *pending_new(struct master *m, struct controller *c, uint64_t req_id,
                                   uint32_t op, uint32_t worker, const char *sid)
{
    struct pending *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->mid = ++m->next_mid;
    p->conn_id = c ? c->id : 0;
    p->req_id = req_id;
    p->op = op;
    p->worker = worker;
    p->t0_ns = uv_hrtime();
    if (sid)
        snprintf(p->session_id, sizeof(p->session_id), "%s", sid);
    g_hash_table_insert(m->pending, &p->mid, p);
    return p;
}

/* Sends req to worker w under a fresh master id; the reply comes back to c. */
static int forward(struct master *m, struct controller *c, struct worker *w, Dcgw__Request *req,
                   const char *sid, struct stats_agg *agg)
{
    uint64_t orig = req->id;
    struct pending *p = pending_new(m, c, orig, req->op_case, w->index, sid);
    if (!p)
        return DCGW_ENOMEM;
    p->agg = agg;
    req->id = p->mid;
    req->has_id = 1;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_REQUEST;
    f.request = req;
    int r = dcgw__master_send_worker(w, &f);
    req->id = orig;
    if (r < 0)
        g_hash_table_remove(m->pending, &p->mid);
    return r;
}

static struct worker *pick_worker(struct master *m)
{
    struct worker *best = NULL;
    for (uint32_t i = 0; i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        if (w->ready && w->sessions < m->cfg.sessions.max_per_worker &&
            (!best || w->sessions < best->sessions))
            best = w;
    }
    return best;
}

/* ------------------------------------------------------------------ operations */

static void op_create(struct master *m, struct controller *c, Dcgw__Request *req)
{
    Dcgw__Session *s = req->create_session ? req->create_session->session : NULL;
    char err[256];
    if (dcgw_session_validate(s, err, sizeof(err)) < 0) {
        respond_error(c, req->id, DCGW_EINVAL, err);
        return;
    }
    char id[DCGW_SESSION_ID_MAX];
    if (s->id && *s->id)
        snprintf(id, sizeof(id), "%s", s->id);
    else
        do
            dcgw_session_id_generate(id, sizeof(id));
        while (g_hash_table_contains(m->dir, id));
    if (g_hash_table_contains(m->dir, id)) {
        respond_error(c, req->id, DCGW_EEXIST, "a session with this id exists");
        return;
    }
    struct worker *w = pick_worker(m);
    if (!w) {
        respond_error(c, req->id, DCGW_EWORKER, "no worker ready to take a session");
        return;
    }
    struct dir_entry *d = calloc(1, sizeof(*d));
    if (!d) {
        respond_error(c, req->id, DCGW_ENOMEM, NULL);
        return;
    }
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->worker = w->index;
    d->state = DCGW__SESSION_STATE__SESSION_PENDING;
    d->legs = (uint32_t)s->n_legs;
    d->placing = true;
    d->created_unix_ms = dcgw_unix_ms();
    snprintf(d->tag, sizeof(d->tag), "%s", s->tag ? s->tag : "");
    g_hash_table_insert(m->dir, d->id, d);
    w->sessions++;

    free(s->id);
    s->id = strdup(id);
    s->has_worker = 1;
    s->worker = w->index;
    s->has_created_unix_ms = 1;
    s->created_unix_ms = d->created_unix_ms;
    int r = s->id ? forward(m, c, w, req, id, NULL) : DCGW_ENOMEM;
    if (r < 0) {
        g_hash_table_remove(m->dir, id);
        w->sessions--;
        respond_error(c, req->id, r, NULL);
    }
}

static void op_by_session(struct master *m, struct controller *c, Dcgw__Request *req,
                          const char *id)
{
    struct dir_entry *d = id ? g_hash_table_lookup(m->dir, id) : NULL;
    uint64_t closed = d ? 0 : dcgw__replay_closed(m, id);
    if (closed && req->op_case == DCGW__REQUEST__OP_CLOSE_SESSION) {
        Dcgw__Closed cl = DCGW__CLOSED__INIT; /* closed already (by itself, or before) */
        cl.id = (char *)id;
        Dcgw__Response r;
        dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_CLOSED);
        r.closed = &cl;
        respond(c, &r);
        return;
    }
    if (closed) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "session closed; its session_closed (final counters) is event %llu: "
                 "subscribe with from_seq %llu",
                 (unsigned long long)closed, (unsigned long long)(closed - 1));
        respond_error(c, req->id, DCGW_ENOENT, msg);
        return;
    }
    if (!d || d->placing) {
        respond_error(c, req->id, DCGW_ENOENT, "no such session");
        return;
    }
    int r = forward(m, c, &m->workers[d->worker], req, id, NULL);
    if (r < 0)
        respond_error(c, req->id, r, NULL);
}

static gint by_created(gconstpointer a, gconstpointer b)
{
    const struct dir_entry *x = a, *y = b;
    if (x->created_unix_ms != y->created_unix_ms)
        return x->created_unix_ms < y->created_unix_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void op_list(struct master *m, struct controller *c, Dcgw__Request *req)
{
    const Dcgw__ListSessions *ls = req->list_sessions;
    GList *all = g_list_sort(g_hash_table_get_values(m->dir), by_created);
    guint n = g_list_length(all);
    Dcgw__SessionSummary *sum = calloc(n ? n : 1, sizeof(*sum));
    Dcgw__SessionSummary **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    Dcgw__SessionList list = DCGW__SESSION_LIST__INIT;
    if (!sum || !ptrs) {
        respond_error(c, req->id, DCGW_ENOMEM, NULL);
        goto out;
    }
    for (GList *l = all; l; l = l->next) {
        struct dir_entry *d = l->data;
        if (d->placing || (ls && ls->has_worker && !ls->all_workers && d->worker != ls->worker))
            continue;
        Dcgw__SessionSummary *x = &sum[list.n_sessions];
        dcgw__session_summary__init(x);
        x->id = d->id;
        x->has_worker = x->has_state = x->has_legs = x->has_created_unix_ms = 1;
        x->worker = d->worker;
        x->state = d->state;
        x->legs = d->legs;
        x->created_unix_ms = d->created_unix_ms;
        x->tag = d->tag[0] ? d->tag : NULL;
        ptrs[list.n_sessions++] = x;
    }
    list.sessions = ptrs;
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_SESSIONS);
    r.sessions = &list;
    respond(c, &r);
out:
    free(sum);
    free(ptrs);
    g_list_free(all);
}

static void stats_finish(struct master *m, struct stats_agg *agg);

static void op_stats(struct master *m, struct controller *c, Dcgw__Request *req)
{
    struct stats_agg *agg = calloc(1, sizeof(*agg));
    if (!agg) {
        respond_error(c, req->id, DCGW_ENOMEM, NULL);
        return;
    }
    agg->conn_id = c->id;
    agg->req_id = req->id;
    agg->t0_ns = uv_hrtime();
    uint32_t sent = 0;
    for (uint32_t i = 0; i < m->n_workers; i++)
        if (m->workers[i].ready && forward(m, c, &m->workers[i], req, NULL, agg) == 0)
            sent++;
    /* Replies arrive on later loop turns, so counting after the loop is safe. */
    agg->remaining = sent;
    if (sent == 0)
        stats_finish(m, agg);
}

static void add_counter(GHashTable *sums, const char *name, uint64_t v)
{
    uint64_t *cur = g_hash_table_lookup(sums, name);
    if (cur) {
        *cur += v;
        return;
    }
    cur = malloc(sizeof(*cur));
    if (!cur)
        return;
    *cur = v;
    g_hash_table_insert(sums, (gpointer)name, cur);
}

static void stats_finish(struct master *m, struct stats_agg *agg)
{
    Dcgw__WorkerStats dead[DCGW_MAX_WORKERS];
    Dcgw__WorkerStats *list[DCGW_MAX_WORKERS];
    Dcgw__WorkerStats total = DCGW__WORKER_STATS__INIT;
    GHashTable *sums = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    for (uint32_t i = 0; i < m->n_workers; i++) {
        Dcgw__WorkerStats *ws = agg->per_worker[i];
        if (!ws) {
            dcgw__worker_stats__init(&dead[i]);
            ws = &dead[i];
            ws->has_index = ws->has_alive = 1;
            ws->index = i;
        }
        ws->has_restarts = 1;
        ws->restarts = m->workers[i].restarts;
        list[i] = ws;
        total.sessions += ws->sessions;
        total.cpu_user_us += ws->cpu_user_us;
        total.cpu_system_us += ws->cpu_system_us;
        total.rss_bytes += ws->rss_bytes;
        total.restarts += ws->restarts;
        for (size_t k = 0; k < ws->n_counters; k++)
            add_counter(sums, ws->counters[k]->name, ws->counters[k]->value);
    }
    total.has_sessions = total.has_cpu_user_us = total.has_cpu_system_us = 1;
    total.has_rss_bytes = total.has_restarts = 1;
    guint nc = g_hash_table_size(sums);
    Dcgw__Counter *cs = calloc(nc ? nc : 1, sizeof(*cs));
    Dcgw__Counter **cp = calloc(nc ? nc : 1, sizeof(*cp));
    GList *keys = g_list_sort(g_hash_table_get_keys(sums), (GCompareFunc)strcmp);
    size_t k = 0;
    for (GList *l = keys; l && cs && cp; l = l->next, k++) {
        dcgw__counter__init(&cs[k]);
        cs[k].name = l->data;
        cs[k].has_value = 1;
        cs[k].value = *(uint64_t *)g_hash_table_lookup(sums, l->data);
        cp[k] = &cs[k];
    }
    total.counters = cp;
    total.n_counters = cs && cp ? nc : 0;

    Dcgw__Stats st = DCGW__STATS__INIT;
    st.workers = list;
    st.n_workers = m->n_workers;
    st.total = &total;
    st.has_controllers = st.has_sessions_created = st.has_sessions_closed = 1;
    st.has_sessions_lost = st.has_frames_rejected = 1;
    st.controllers = g_hash_table_size(m->controllers) - m->in_process;
    st.sessions_created = m->sessions_created;
    st.sessions_closed = m->sessions_closed;
    st.sessions_lost = m->sessions_lost;
    st.frames_rejected = m->frames_rejected;
    st.has_connections_timed_out = st.has_connections_evicted = 1;
    st.connections_timed_out = m->conns_timed_out;
    st.connections_evicted = m->conns_evicted;
    struct controller *c = controller_by_id(m, agg->conn_id);
    dcgw__metrics_request_done(m, DCGW__REQUEST__OP_GET_STATS, agg->t0_ns);
    if (c) {
        Dcgw__Response r;
        dcgw_ctlmsg_response(&r, agg->req_id, DCGW__RESPONSE__RESULT_STATS);
        r.stats = &st;
        respond(c, &r);
    }
    g_list_free(keys);
    free(cs);
    free(cp);
    g_hash_table_destroy(sums);
    for (uint32_t i = 0; i < DCGW_MAX_WORKERS; i++)
        if (agg->per_worker[i])
            dcgw__worker_stats__free_unpacked(agg->per_worker[i], NULL);
    free(agg);
}

static void op_subscribe(struct master *m, struct controller *c, Dcgw__Request *req)
{
    const Dcgw__Subscribe *sub = req->subscribe;
    const char *filter = sub && sub->session_id ? sub->session_id : "";
    if (*filter && !dcgw_session_id_valid(filter)) {
        respond_error(c, req->id, DCGW_EINVAL, "bad session id filter");
        return;
    }
    c->subscribed = !(sub && sub->unsubscribe);
    snprintf(c->filter, sizeof(c->filter), "%s", filter);
    uint32_t n = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->controllers);
    while (g_hash_table_iter_next(&it, &k, &v))
        n += ((struct controller *)v)->subscribed;
    Dcgw__Subscribed s = DCGW__SUBSCRIBED__INIT;
    s.has_subscriptions = s.has_last_seq = 1;
    s.subscriptions = n;
    s.last_seq = m->event_seq;
    void *start = NULL;
    bool replay = c->subscribed && sub && sub->has_from_seq && c->s;
    if (replay) {
        s.has_first_seq = 1;
        s.first_seq = dcgw__replay_plan(m, c, sub->from_seq, &start);
    }
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_SUBSCRIBED);
    r.subscribed = &s;
    respond(c, &r);
    if (replay)
        dcgw__replay_send(m, c, start); /* before any live event: same loop turn */
}

static void op_simple(struct master *m, struct controller *c, Dcgw__Request *req)
{
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT__NOT_SET);
    Dcgw__Pong pong = DCGW__PONG__INIT;
    Dcgw__VersionInfo vi = DCGW__VERSION_INFO__INIT;
    if (req->op_case == DCGW__REQUEST__OP_PING) {
        if (req->ping && req->ping->has_payload) {
            pong.has_payload = 1;
            pong.payload = req->ping->payload;
        }
        r.result_case = DCGW__RESPONSE__RESULT_PONG;
        r.pong = &pong;
    } else {
        vi.version = DCGW_VERSION;
        vi.has_protocol = vi.has_workers = 1;
        vi.protocol = DCGW_PROTOCOL_VERSION;
        vi.workers = m->n_workers;
        vi.has_max_frame = 1;
        vi.max_frame = m->cfg.control.max_frame;
        r.result_case = DCGW__RESPONSE__RESULT_VERSION;
        r.version = &vi;
    }
    respond(c, &r);
}

static void handle_request(struct master *m, struct controller *c, Dcgw__Request *req)
{
    if (m->draining && req->op_case != DCGW__REQUEST__OP_PING &&
        req->op_case != DCGW__REQUEST__OP_VERSION) {
        respond_error(c, req->id, DCGW_ESTATE, "dcgw is shutting down");
        return;
    }
    switch (req->op_case) {
    case DCGW__REQUEST__OP_PING:
    case DCGW__REQUEST__OP_VERSION:
        op_simple(m, c, req);
        break;
    case DCGW__REQUEST__OP_CREATE_SESSION:
        op_create(m, c, req);
        break;
    case DCGW__REQUEST__OP_GET_SESSION:
        op_by_session(m, c, req, req->get_session ? req->get_session->id : NULL);
        break;
    case DCGW__REQUEST__OP_CLOSE_SESSION:
        op_by_session(m, c, req, req->close_session ? req->close_session->id : NULL);
        break;
    case DCGW__REQUEST__OP_UPDATE_SESSION:
        op_by_session(m, c, req, req->update_session ? req->update_session->id : NULL);
        break;
    case DCGW__REQUEST__OP_CLOSE_CHANNEL:
        op_by_session(m, c, req, req->close_channel ? req->close_channel->id : NULL);
        break;
    case DCGW__REQUEST__OP_LIST_SESSIONS:
        op_list(m, c, req);
        break;
    case DCGW__REQUEST__OP_SUBSCRIBE:
        op_subscribe(m, c, req);
        break;
    case DCGW__REQUEST__OP_GET_STATS:
        op_stats(m, c, req);
        break;
    default:
        m->frames_rejected++;
        respond_error(c, req->id, DCGW_EUNSUPPORTED, "unknown operation");
        break;
    }
}

/* ------------------------------------------------------------------ controllers */

struct controller *dcgw__master_ctl_attach(struct master *m, const struct dcgw__ctl_sink *sink,
                                           void *ud)
{
    struct controller *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->m = m;
    c->id = ++m->next_conn_id;
    c->sink = sink;
    c->sink_ud = ud;
    c->subscribed = sink->on_event != NULL;
    g_hash_table_insert(m->controllers, &c->id, c);
    m->in_process++;
    return c;
}

void dcgw__master_ctl_detach(struct master *m, struct controller *c)
{
    if (!c)
        return;
    g_hash_table_remove(m->controllers, &c->id);
    m->in_process--;
    free(c);
}

void dcgw__master_ctl_request(struct master *m, struct controller *c, Dcgw__Request *req)
{
    /* metrics: a request answered here, not forwarded to a worker, is timed now */
    uint32_t op = req->op_case;
    uint64_t t0 = uv_hrtime(), mid0 = m->next_mid, done0 = dcgw__metrics_requests_done(m);
    dcgw__metrics_request(m, op);
    handle_request(m, c, req);
    bool waiting = m->next_mid != mid0 && g_hash_table_contains(m->pending, &m->next_mid);
    if (!waiting && dcgw__metrics_requests_done(m) == done0)
        dcgw__metrics_request_done(m, op, t0);
}

/* ------------------------------------------------------------------ from workers */

static void after_response(struct master *m, struct pending *p, const Dcgw__Response *r)
{
    struct dir_entry *d = p->session_id[0] ? g_hash_table_lookup(m->dir, p->session_id) : NULL;
    bool ok = !r->error;
    /* The directory follows what the worker says (list agrees with get). */
    if (d && ok && r->result_case == DCGW__RESPONSE__RESULT_SESSION && r->session &&
        r->session->has_state)
        d->state = r->session->state;
    if (p->op == DCGW__REQUEST__OP_CREATE_SESSION && d) {
        if (!ok) {
            m->workers[d->worker].sessions--;
            g_hash_table_remove(m->dir, p->session_id);
            return;
        }
        d->placing = false;
        m->sessions_created++;
        Dcgw__SessionSummary sum = DCGW__SESSION_SUMMARY__INIT;
        if (r->session)
            dcgw_session_summarize(r->session, &sum);
        Dcgw__SessionCreated sc = DCGW__SESSION_CREATED__INIT;
        sc.session = &sum;
        Dcgw__Event ev = DCGW__EVENT__INIT;
        ev.session_id = d->id;
        ev.kind_case = DCGW__EVENT__KIND_SESSION_CREATED;
        ev.session_created = &sc;
        dcgw__master_emit(m, &ev);
    }
}

static void on_worker_response(struct master *m, struct worker *w, Dcgw__Response *r)
{
    uint64_t mid = r->id;
    if (mid == 0 && r->result_case == DCGW__RESPONSE__RESULT_PONG)
        return; /* the watchdog's ping (master.c): hearing it was the point */
    struct pending *p = g_hash_table_lookup(m->pending, &mid);
    if (!p) {
        DCGW_WARN(MASTER, "worker %u answered unknown request %llu", w->index,
                  (unsigned long long)mid);
        return;
    }
    if (p->agg) {
        struct stats_agg *agg = p->agg;
        if (r->result_case == DCGW__RESPONSE__RESULT_STATS && r->stats &&
            r->stats->n_workers == 1) {
            agg->per_worker[w->index] = r->stats->workers[0];
            r->stats->workers[0] = NULL; /* taken */
            r->stats->n_workers = 0;
        }
        g_hash_table_remove(m->pending, &mid);
        if (--agg->remaining == 0)
            stats_finish(m, agg);
        return;
    }
    after_response(m, p, r);
    dcgw__metrics_request_done(m, p->op, p->t0_ns);
    struct controller *c = controller_by_id(m, p->conn_id);
    if (c) {
        r->id = p->req_id;
        respond(c, r);
    }
    g_hash_table_remove(m->pending, &mid);
}

static void on_worker_event(struct master *m, struct worker *w, Dcgw__Event *ev)
{
    struct dir_entry *d = ev->session_id ? g_hash_table_lookup(m->dir, ev->session_id) : NULL;
    if (d && d->worker == w->index && ev->has_session_state)
        d->state = ev->session_state; /* leg events move the state the directory lists */
    if (ev->kind_case == DCGW__EVENT__KIND_SESSION_CLOSED && d && d->worker == w->index) {
        w->sessions--;
        m->sessions_closed++;
        g_hash_table_remove(m->dir, ev->session_id);
    }
    dcgw__master_emit(m, ev);
}

int dcgw__master_from_worker(struct master *m, struct worker *w, const Dcgw__Frame *f)
{
    w->last_heard_ms = uv_now(m->loop);
    switch (f->body_case) {
    case DCGW__FRAME__BODY_RESPONSE:
        on_worker_response(m, w, f->response);
        return 0;
    case DCGW__FRAME__BODY_EVENT:
        on_worker_event(m, w, f->event);
        return 0;
    case DCGW__FRAME__BODY_INTERNAL:
        if (f->internal->msg_case == DCGW__INTERNAL__MSG_METRICS)
            dcgw__metrics_from_worker(m, w, f->internal->metrics);
        if (f->internal->msg_case == DCGW__INTERNAL__MSG_HELLO) {
            const Dcgw__WorkerHello *h = f->internal->hello;
            w->ready = true;
            w->ready_ms = uv_now(m->loop);
            snprintf(w->udp_address, sizeof(w->udp_address), "%s",
                     h->udp_address ? h->udp_address : "");
            DCGW_INFO(MASTER, "worker %u ready (pid %d, data plane %s)", w->index, w->pid,
                      w->udp_address);
            Dcgw__WorkerStarted ws = DCGW__WORKER_STARTED__INIT;
            ws.has_worker = ws.has_pid = 1;
            ws.worker = w->index;
            ws.pid = w->pid;
            Dcgw__Event ev = DCGW__EVENT__INIT;
            ev.kind_case = DCGW__EVENT__KIND_WORKER_STARTED;
            ev.worker_started = &ws;
            dcgw__master_emit(m, &ev);
            dcgw__notify_ready(m);
        } else if (f->internal->msg_case == DCGW__INTERNAL__MSG_FAILED && f->internal->failed) {
            const Dcgw__WorkerFailed *fl = f->internal->failed;
            w->start_failed = true;
            snprintf(w->fail_reason, sizeof(w->fail_reason), "%s",
                     fl->reason ? fl->reason : dcgw_strerror(fl->code));
            DCGW_ERROR(MASTER, "worker %u (pid %d) cannot start: %s", w->index, w->pid,
                       w->fail_reason);
        }
        return 0;
    default:
        DCGW_WARN(MASTER, "worker %u sent an unexpected frame", w->index);
        return 0;
    }
}

void dcgw__master_worker_lost(struct master *m, struct worker *w, int64_t status, int sig)
{
    /* Fail what was waiting on it. */
    GList *pend = g_hash_table_get_values(m->pending);
    for (GList *l = pend; l; l = l->next) {
        struct pending *p = l->data;
        if (p->worker != w->index)
            continue;
        uint64_t mid = p->mid;
        if (p->agg) {
            struct stats_agg *agg = p->agg;
            g_hash_table_remove(m->pending, &mid);
            if (--agg->remaining == 0)
                stats_finish(m, agg);
            continue;
        }
        struct controller *c = controller_by_id(m, p->conn_id);
        dcgw__metrics_request_done(m, p->op, p->t0_ns);
        if (c)
            respond_error(c, p->req_id, DCGW_EWORKER, "the worker holding the session died");
        g_hash_table_remove(m->pending, &mid);
    }
    g_list_free(pend);

    GPtrArray *ids = g_ptr_array_new_with_free_func(free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->dir);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct dir_entry *d = v;
        if (d->worker != w->index)
            continue;
        if (!d->placing)
            g_ptr_array_add(ids, strdup(d->id));
        g_hash_table_iter_remove(&it);
    }
    m->sessions_lost += m->draining ? 0 : ids->len;
    w->sessions = 0;
    if (!m->draining || ids->len) {
        Dcgw__WorkerLost wl = DCGW__WORKER_LOST__INIT;
        wl.has_worker = wl.has_pid = wl.has_exit_status = wl.has_signal = 1;
        wl.worker = w->index;
        wl.pid = w->pid;
        wl.exit_status = (int32_t)status;
        wl.signal = sig;
        wl.session_ids = (char **)ids->pdata;
        wl.n_session_ids = ids->len;
        wl.reason = w->fail_reason[0] ? w->fail_reason : NULL;
        Dcgw__Event ev = DCGW__EVENT__INIT;
        ev.kind_case = DCGW__EVENT__KIND_WORKER_LOST;
        ev.worker_lost = &wl;
        dcgw__master_emit(m, &ev);
    }
    g_ptr_array_free(ids, TRUE);
}
