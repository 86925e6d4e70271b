/* Worker process: the master pipe, the session store and the operations on it. */
#include "dcgw/worker/worker.h"

#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "dcgw/base/addr.h"
#include "dcgw/msg/config.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/session.h"
#include "dcgw/msg/stream.h"
#include "dcgw/net/mdc1.h"
#include "events.h"
#include "dcgw/net/fastpath.h"
#include "worker_int.h"

static void send_response(struct worker *w, Dcgw__Response *r)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_RESPONSE;
    f.response = r;
    dcgw__wev_send(w, &f);
}

static void send_error(struct worker *w, uint64_t id, int code, const char *msg)
{
    Dcgw__Response r;
    Dcgw__Error e;
    dcgw_ctlmsg_error(&r, &e, id, code, msg);
    send_response(w, &r);
}

static void respond_session(struct worker *w, uint64_t id, Dcgw__Session *s)
{
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, id, DCGW__RESPONSE__RESULT_SESSION);
    r.session = s;
    send_response(w, &r);
}

static void op_create(struct worker *w, const Dcgw__Request *req)
{
    const Dcgw__Session *in = req->create_session->session;
    if (g_hash_table_size(w->sessions) >= w->cfg.sessions.max_per_worker) {
        send_error(w, req->id, DCGW_ELIMIT, "worker is at sessions.max_per_worker");
        return;
    }
    if (g_hash_table_contains(w->sessions, in->id)) {
        send_error(w, req->id, DCGW_EEXIST, NULL);
        return;
    }
    struct wsession *s;
    char err[512] = "";
    int r = dcgw__wsession_create(w, in, &s, err, sizeof(err));
    if (r < 0) {
        send_error(w, req->id, r, err[0] ? err : NULL);
        return;
    }
    g_hash_table_insert(w->sessions, s->desc->id, s);
    dcgw__wmetrics_touch(s);
    dcgw__wsession_refresh(s); /* legs that answered are already doing ICE */
    w->stats.sessions_created++;
    DCGW_INFO(SESSION, "session %s created (%zu legs)", s->desc->id, s->desc->n_legs);
    respond_session(w, req->id, s->desc);
}

static void op_update(struct worker *w, const Dcgw__Request *req)
{
    const Dcgw__UpdateSession *u = req->update_session;
    struct wsession *s = u->id ? g_hash_table_lookup(w->sessions, u->id) : NULL;
    if (!s) {
        send_error(w, req->id, DCGW_ENOENT, "no such session");
        return;
    }
    dcgw__wmetrics_touch(s); /* its policy, legs or proxies may change */
    char err[512] = "";
    int r = u->remote_sdp || u->policy || u->avatar || u->relay ? 0 : DCGW_EINVAL;
    if (u->dc) /* the leg's bootstrap HTTP proxy (docs/bootstrap.md), with whatever else */
        r = dcgw_session_validate_proxy(u->dc, u->leg ? u->leg : "", true, err, sizeof(err));
    /* the policy first, so that new SDP is checked against it */
    if (r == 0 && u->policy)
        r = dcgw__wpolicy_update(s, u->leg, u->policy, u->policy_patch, err, sizeof(err));
    if (r == 0 && u->avatar)
        r = dcgw__wavatar_update(s, u->avatar, err, sizeof(err));
    if (r == 0 && u->dc)
        r = dcgw__wboot_update(s, u->leg, u->dc, err, sizeof(err));
    /* a relay session's new limits or policy: its fast path entry goes first */
    if (r == 0 && (u->relay || (u->policy && s->relay)))
        r = dcgw__wrelay_settings(s, u->relay, err, sizeof(err));
    if (r == 0 && u->remote_sdp)
        r = dcgw__wsession_update(s, u->leg, u->remote_sdp, err, sizeof(err));
    if (r < 0) {
        send_error(w, req->id, r,
                   err[0] ? err : "update needs remote_sdp, policy, avatar, dc or relay");
        return;
    }
    dcgw__wsession_refresh(s);
    respond_session(w, req->id, s->desc);
}

static void op_close(struct worker *w, const Dcgw__Request *req)
{
    const char *id = req->close_session->id;
    struct wsession *s = id ? g_hash_table_lookup(w->sessions, id) : NULL;
    if (!s) {
        send_error(w, req->id, DCGW_ENOENT, "no such session");
        return;
    }
    const char *why = req->close_session->reason && *req->close_session->reason
                          ? req->close_session->reason
                          : "closed by controller";
    Dcgw__Closed cl = DCGW__CLOSED__INIT;
    cl.id = strdup(id);
    dcgw__wsession_close(s, why);
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_CLOSED);
    r.closed = &cl;
    send_response(w, &r);
    free(cl.id);
}

static void op_close_channel(struct worker *w, const Dcgw__Request *req)
{
    const Dcgw__CloseChannel *cc = req->close_channel;
    struct wsession *s = cc->id ? g_hash_table_lookup(w->sessions, cc->id) : NULL;
    if (!s) {
        send_error(w, req->id, DCGW_ENOENT, "no such session");
        return;
    }
    dcgw__wmetrics_touch(s);
    char err[256] = "";
    int r = dcgw__wsession_close_channel(s, cc->leg, cc->stream_id, err, sizeof(err));
    if (r < 0) {
        send_error(w, req->id, r, err[0] ? err : NULL);
        return;
    }
    dcgw__wsession_refresh(s);
    respond_session(w, req->id, s->desc);
}

static void op_stats(struct worker *w, const Dcgw__Request *req)
{
    const struct dcgw_io_stats *io = w->io ? dcgw_io_stats(w->io) : NULL;
    const struct dcgw_mdc1_stats *hs = dcgw__wboot_stats(w);
    struct dcgw_fastpath_stats fs = {0};
    if (w->fastpath)
        dcgw_fastpath_stats(w->fastpath, &fs);
    struct dcgw_wunknown unk;
    dcgw__wplane_unknown(w, &unk);
    Dcgw__WorkerStats ws = DCGW__WORKER_STATS__INIT;
    ws.has_index = ws.has_pid = ws.has_alive = ws.has_sessions = 1;
    ws.has_cpu_user_us = ws.has_cpu_system_us = ws.has_rss_bytes = 1;
    ws.index = w->index;
    ws.pid = getpid();
    ws.alive = 1;
    ws.sessions = g_hash_table_size(w->sessions);
    dcgw__wmetrics_usage(&ws.cpu_user_us, &ws.cpu_system_us, &ws.rss_bytes);
    ws.udp_address = w->udp_address;
    uint64_t media_fwd, media_fail;
    dcgw__wmedia_totals(w, &media_fwd, &media_fail);
    struct {
        const char *name;
        uint64_t v;
    } cs[] = {
        {"sessions_created", w->stats.sessions_created},
        {"sessions_closed", w->stats.sessions_closed},
        {"requests", w->stats.requests},
        {"rx_packets", io ? io->rx_packets : 0},
        {"rx_bytes", io ? io->rx_bytes : 0},
        {"tx_packets", io ? io->tx_packets : 0},
        {"tx_bytes", io ? io->tx_bytes : 0},
        {"rx_truncated", io ? io->rx_truncated : 0},
        {"tx_errors", io ? io->tx_errors : 0},
        {"rx_unknown_source", unk.dropped},
        {"rx_unknown_limited", unk.limited},
        {"rx_filter_active", unk.filter_active},
        {"rx_no_session", w->stats.rx_no_session},
        {"rx_kernel_drops", unk.kernel_drops},
        {"rx_buffer_bytes", io ? io->rx_buffer_bytes : 0},
        {"dtls_objects_created", w->stats.dtls_objects_created},
        {"quiet_entered", w->stats.quiet_entered},
        {"quiet_left", w->stats.quiet_left},
        {"rx_timed_reads", io ? io->rx_timed_reads : 0},
        {"rx_batches", io ? io->rx_batches : 0},
        {"tx_batches", io ? io->tx_batches : 0},
        {"relay_flows", w->stats.relay_flows},
        {"rx_gro_buffers", io ? io->rx_gro_buffers : 0},
        {"rx_gro_segments", io ? io->rx_gro_segments : 0},
        {"tx_gso_sends", io ? io->tx_gso_sends : 0},
        {"tx_gso_segments", io ? io->tx_gso_segments : 0},
        {"tx_gso_fallbacks", io ? io->tx_gso_fallbacks : 0},
        {"http_transfers", hs ? hs->started : 0},
        {"http_transfers_failed", hs ? hs->failed : 0},
        {"http_transfers_timed_out", hs ? hs->timed_out : 0},
        {"http_transfers_refused", hs ? hs->refused_full : 0},
        {"http_connections", hs ? hs->connections : 0},
        {"http_bytes_received", hs ? hs->bytes_received : 0},
        {"srtp_sessions_created", w->stats.srtp_sessions_created},
        {"media_forwarded_packets", media_fwd},
        {"media_srtp_failures", media_fail},
        {"media_no_stage", w->stats.media_no_stage},
        {"dcep_wrong_parity", dcgw__wsession_wrong_parity(w)},
        {"sctp_read_pauses", dcgw_sctp_stack_stats()->read_pauses},
        {"malloc_trims", w->stats.malloc_trims},
        {"malloc_trim_us", w->stats.malloc_trim_us},
        {"fast_path_flows", fs.flows},
        {"fast_path_max_flows", fs.max_flows},
        {"fast_path_added", fs.added},
        {"fast_path_removed", fs.removed},
        {"fast_path_full", fs.full},
        {"fast_path_errors", fs.errors},
        {"fast_path_not_app_data", fs.not_app_data},
        {"fast_path_no_route", fs.no_route},
    };
    enum { NC = sizeof(cs) / sizeof(cs[0]) };
    Dcgw__Counter c[NC], *cp[NC];
    for (size_t i = 0; i < NC; i++) {
        dcgw__counter__init(&c[i]);
        c[i].name = (char *)cs[i].name;
        c[i].has_value = 1;
        c[i].value = cs[i].v;
        cp[i] = &c[i];
    }
    ws.counters = cp;
    ws.n_counters = NC;
    Dcgw__WorkerStats *wl[1] = {&ws};
    Dcgw__Stats st = DCGW__STATS__INIT;
    st.workers = wl;
    st.n_workers = 1;
    Dcgw__Response r;
    dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_STATS);
    r.stats = &st;
    send_response(w, &r);
}

static void handle_request(struct worker *w, const Dcgw__Request *req)
{
    w->stats.requests++;
    switch (req->op_case) {
    case DCGW__REQUEST__OP_CREATE_SESSION:
        op_create(w, req);
        break;
    case DCGW__REQUEST__OP_GET_SESSION: {
        struct wsession *s =
            req->get_session->id ? g_hash_table_lookup(w->sessions, req->get_session->id) : NULL;
        if (s) {
            dcgw__wsession_refresh(s);
            respond_session(w, req->id, s->desc);
        } else
            send_error(w, req->id, DCGW_ENOENT, "no such session");
        break;
    }
    case DCGW__REQUEST__OP_CLOSE_SESSION:
        op_close(w, req);
        break;
    case DCGW__REQUEST__OP_UPDATE_SESSION:
        op_update(w, req);
        break;
    case DCGW__REQUEST__OP_CLOSE_CHANNEL:
        op_close_channel(w, req);
        break;
    case DCGW__REQUEST__OP_GET_STATS:
        op_stats(w, req);
        break;
    case DCGW__REQUEST__OP_PING: { /* the master's watchdog */
        Dcgw__Pong pong = DCGW__PONG__INIT;
        Dcgw__Response r;
        dcgw_ctlmsg_response(&r, req->id, DCGW__RESPONSE__RESULT_PONG);
        r.pong = &pong;
        send_response(w, &r);
        break;
    }
    default:
        send_error(w, req->id, DCGW_EUNSUPPORTED, "not a worker operation");
        break;
    }
}

void dcgw__worker_close_everything(struct worker *w)
{
    GList *all = g_hash_table_get_values(w->sessions);
    for (GList *l = all; l; l = l->next)
        dcgw__wsession_close(l->data, "dcgw shutting down");
    g_list_free(all);
    uv_signal_t *sigs[] = {&w->sig_term, &w->sig_int, &w->sig_hup, &w->sig_pipe};
    for (int i = 0; i < 4 && !w->inproc.to_master; i++) /* an in-process worker has none */
        if (!uv_is_closing((uv_handle_t *)sigs[i]))
            uv_close((uv_handle_t *)sigs[i], NULL);
    dcgw__wstate_stop(w);
    dcgw__wmetrics_stop(w);
    if (w->configured)
        dcgw__wplane_stop(w);
    dcgw__wboot_stop(w);
    if (w->master)
        dcgw_stream_close(w->master, 0); /* flushes the session-closed events first */
}

static void drain(struct worker *w)
{
    if (w->draining)
        return;
    w->draining = true;
    DCGW_INFO(WORKER, "draining %u sessions", g_hash_table_size(w->sessions));
    dcgw__worker_close_everything(w);
}

/* The configuration from the master: at start (initial) the worker opens its data plane
 * and says hello; why says what failed. A reconfiguration that fails keeps the old one. */
static int on_init(struct worker *w, const Dcgw__WorkerInit *init, bool initial, char *why,
                   size_t cap)
{
    char err[DCGW_CONFIG_ERR_MAX];
    struct dcgw_config cfg;
    if (dcgw_config_parse(init->config_text ? init->config_text : "", "<master>", &cfg, err,
                          sizeof(err)) < 0) {
        DCGW_ERROR(WORKER, "configuration from master rejected: %s", err);
        snprintf(why, cap, "configuration: %.*s", (int)(cap > 16 ? cap - 16 : 0), err);
        return initial ? DCGW_ECONFIG : 0;
    }
    struct dcgw_config start;
    if (init->start_config_text &&
        dcgw_config_parse(init->start_config_text, "<start>", &start, err, sizeof(err)) == 0) {
        cfg.workers = start.workers; /* restart-only settings: as dcgw started */
        cfg.control = start.control;
        cfg.data_plane = start.data_plane;
    }
    char ident[32];
    snprintf(ident, sizeof(ident), "worker%u", w->index);
    dcgw_log_setup(&cfg.log, ident);
    w->cfg = cfg;
    dcgw__wavatar_configure(w);
    dcgw__wmetrics_configure(w, initial && init->push_metrics);
    if (!initial) {
        DCGW_INFO(WORKER, "configuration updated");
        return 0;
    }
    int r = dcgw__wplane_start(w, why, cap);
    if (r == 0)
        r = dcgw__wboot_start(w);
    if (r < 0)
        return r;
    w->configured = true;
    Dcgw__WorkerHello hello = DCGW__WORKER_HELLO__INIT;
    hello.has_index = hello.has_pid = 1;
    hello.index = w->index;
    hello.pid = getpid();
    hello.udp_address = w->udp_address;
    Dcgw__Internal in = DCGW__INTERNAL__INIT;
    in.msg_case = DCGW__INTERNAL__MSG_HELLO;
    in.hello = &hello;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_INTERNAL;
    f.internal = &in;
    return dcgw__wev_send(w, &f);
}

/* The worker could not start: it tells the master why, then exits (status
 * DCGW_WORKER_EXIT_CONFIG) once that is written. */
static int start_failed(struct worker *w, int code, const char *why)
{
    if (!*why)
        why = dcgw_strerror(code);
    DCGW_ERROR(WORKER, "cannot start: %s", why);
    Dcgw__WorkerFailed fl = DCGW__WORKER_FAILED__INIT;
    fl.has_code = 1;
    fl.code = code;
    fl.reason = (char *)why;
    Dcgw__Internal in = DCGW__INTERNAL__INIT;
    in.msg_case = DCGW__INTERNAL__MSG_FAILED;
    in.failed = &fl;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_INTERNAL;
    f.internal = &in;
    dcgw__wev_send(w, &f);
    w->exit_status = DCGW_WORKER_EXIT_CONFIG;
    w->draining = true;
    if (w->master) /* once the frame is out: on_master_closed ends the loop */
        dcgw_stream_close(w->master, 0);
    return 0;
}

int dcgw__worker_from_master(struct worker *w, const uint8_t *p, size_t n)
{
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (!f)
        return DCGW_EMALFORMED;
    int r = 0;
    if (f->body_case == DCGW__FRAME__BODY_INTERNAL) {
        const Dcgw__Internal *in = f->internal;
        char why[512] = "";
        if (in->msg_case == DCGW__INTERNAL__MSG_INIT && !w->configured) {
            r = on_init(w, in->init, true, why, sizeof(why));
            if (r < 0)
                r = start_failed(w, r, why);
        } else if (in->msg_case == DCGW__INTERNAL__MSG_RECONFIGURE) {
            r = on_init(w, in->reconfigure, false, why, sizeof(why));
        } else if (in->msg_case == DCGW__INTERNAL__MSG_DRAIN)
            drain(w);
    } else if (f->body_case == DCGW__FRAME__BODY_REQUEST && w->configured && !w->draining) {
        handle_request(w, f->request);
    }
    dcgw__frame__free_unpacked(f, NULL);
    return r;
}

static int on_master_frame(void *ud, struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    (void)s;
    return dcgw__worker_from_master(ud, p, n);
}

static void on_master_closed(void *ud, struct dcgw_stream *s, int err)
{
    (void)s;
    struct worker *w = ud;
    w->master = NULL;
    if (w->exit_status) {
        uv_stop(w->loop); /* half started: exit without tearing down what never was */
        return;
    }
    if (!w->draining) {
        DCGW_ERROR(WORKER, "master connection lost (%s); exiting", dcgw_strerror(err));
        w->draining = true;
        dcgw__worker_close_everything(w);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct worker *w = h->data;
    if (signum == SIGTERM)
        drain(w);
    /* SIGINT and SIGHUP belong to the master (a terminal sends them to the group). */
}

void dcgw__worker_init(struct worker *w, uv_loop_t *loop, uint32_t index)
{
    w->loop = loop;
    w->index = index;
    w->sessions = g_hash_table_new(g_str_hash, g_str_equal);
    dcgw__wstate_init(w);
}

void dcgw__worker_dispose(struct worker *w)
{
    g_hash_table_destroy(w->sessions);
    dcgw__wstate_free(w);
    dcgw__wavatar_worker_free(w);
    dcgw__wmetrics_free(w);
    dcgw__wsdp_free_all(w);
}

int dcgw_worker_run(uint32_t index, int fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dcgw__wmem_init();
    struct worker w = {0};
    dcgw__worker_init(&w, uv_default_loop(), index);
    uv_signal_t *sigs[] = {&w.sig_term, &w.sig_int, &w.sig_hup, &w.sig_pipe};
    int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
    for (int i = 0; i < 4; i++) {
        uv_signal_init(w.loop, sigs[i]);
        sigs[i]->data = &w;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    uv_pipe_t *pipe = malloc(sizeof(*pipe));
    if (!pipe)
        return 1;
    uv_pipe_init(w.loop, pipe, 0);
    if (uv_pipe_open(pipe, fd) < 0) {
        fprintf(stderr, "dcgwd --worker: fd %d is not the master's socket\n", fd);
        return 2;
    }
    struct dcgw_stream_settings st = {.max_frame = DCGW_FRAME_MAX_CEILING,
                                      .outbuf_limit = 1u << 30};
    struct dcgw_stream_cbs cbs = {
        .ud = &w, .on_frame = on_master_frame, .on_close = on_master_closed};
    if (dcgw_stream_new((uv_stream_t *)pipe, &st, &cbs, &w.master) < 0)
        return 1;
    uv_run(w.loop, UV_RUN_DEFAULT);
    dcgw__worker_dispose(&w);
    uv_loop_close(w.loop);
    return w.exit_status;
}
