/* Master process: worker supervision, signals, drain and reload. */
#include "dcgw/control/master.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "master_int.h"
#include "nmf_int.h"
#include "metrics_int.h"

static void spawn_worker(struct master *m, struct worker *w);

int dcgw__master_send_worker(struct worker *w, const Dcgw__Frame *f)
{
    if (w->m->to_worker) {
        w->m->to_worker(w->m->to_worker_ud, w->index, f);
        return 0;
    }
    if (!w->pipe)
        return DCGW_EWORKER;
    return dcgw_stream_send(w->pipe, f);
}

int dcgw__master_send_config(struct worker *w, bool initial)
{
    Dcgw__WorkerInit init = DCGW__WORKER_INIT__INIT;
    init.has_index = 1;
    init.index = w->index;
    init.config_text = w->m->cfg_text ? w->m->cfg_text : "";
    init.start_config_text = w->m->start_cfg_text;
    init.has_push_metrics = 1;
    init.push_metrics = w->m->metrics && w->m->cfg.metrics.enabled; /* served: metrics.c */
    Dcgw__Internal in = DCGW__INTERNAL__INIT;
    if (initial) {
        in.msg_case = DCGW__INTERNAL__MSG_INIT;
        in.init = &init;
    } else {
        in.msg_case = DCGW__INTERNAL__MSG_RECONFIGURE;
        in.reconfigure = &init;
    }
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_INTERNAL;
    f.internal = &in;
    return dcgw__master_send_worker(w, &f);
}

static int on_worker_frame(void *ud, struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    (void)s;
    struct worker *w = ud;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (!f) {
        DCGW_ERROR(MASTER, "worker %u sent a malformed frame", w->index);
        return DCGW_EMALFORMED;
    }
    int r = dcgw__master_from_worker(w->m, w, f);
    dcgw__frame__free_unpacked(f, NULL);
    return r;
}

static void on_worker_pipe_closed(void *ud, struct dcgw_stream *s, int err)
{
    (void)s;
    (void)err;
    struct worker *w = ud;
    w->pipe = NULL;
    /* The process exit callback reports the loss; a pipe closing first is normal. A worker
     * that said it cannot start exits by itself (else the watchdog kills it). */
    if (w->proc && !w->start_failed)
        uv_process_kill(w->proc, SIGKILL);
}

/* shutdown.flush_timeout_ms after the last worker: what controllers did not read is
 * dropped and dcgwd exits (0) anyway; one controller cannot hold it up. */
static void on_flush_timeout(uv_timer_t *t)
{
    struct master *m = t->data;
    unsigned n = 0;
    GList *all = g_hash_table_get_values(m->controllers);
    for (GList *l = all; l; l = l->next) {
        struct controller *c = l->data;
        if (c->s) {
            n++;
            dcgw_stream_abort(c->s, DCGW_ETIMEOUT);
        }
    }
    g_list_free(all);
    DCGW_WARN(MASTER, "%u controller%s did not take their last output within %u ms; exiting", n,
              n == 1 ? "" : "s", m->cfg.shutdown.flush_timeout_ms);
    uv_stop(m->loop);
}

static void all_workers_gone(struct master *m)
{
    for (uint32_t i = 0; i < m->n_workers; i++)
        if (m->workers[i].proc)
            return;
    DCGW_INFO(MASTER, "all workers stopped; exiting");
    /* Close everything; the loop ends once controllers have flushed their last events, or
     * after shutdown.flush_timeout_ms (the timer does not keep the loop alive). */
    dcgw__nmf_stop(m);
    dcgw__master_ctl_close_all(m);
    dcgw__metrics_stop(m);
    uv_timer_start(&m->flush_timer, on_flush_timeout, m->cfg.shutdown.flush_timeout_ms, 0);
    uv_unref((uv_handle_t *)&m->flush_timer);
    uv_close((uv_handle_t *)&m->drain_timer, NULL);
    uv_close((uv_handle_t *)&m->watchdog, NULL);
    uv_close((uv_handle_t *)&m->sig_term, NULL);
    uv_close((uv_handle_t *)&m->sig_int, NULL);
    uv_close((uv_handle_t *)&m->sig_hup, NULL);
    uv_close((uv_handle_t *)&m->sig_pipe, NULL);
    for (uint32_t i = 0; i < m->n_workers; i++)
        uv_close((uv_handle_t *)&m->workers[i].restart_timer, NULL);
}

/* A worker that stops answering (an endless loop, a deadlock, SIGSTOP) is killed like
 * one that crashed: the exit handler restarts it and worker_lost names its sessions. */
static void on_watchdog(uv_timer_t *t)
{
    struct master *m = t->data;
    uint64_t now = uv_now(m->loop), hang = m->cfg.watchdog.hang_timeout_ms;
    for (uint32_t i = 0; i < m->n_workers && !m->draining; i++) {
        struct worker *w = &m->workers[i];
        if (!w->proc || w->hung)
            continue;
        if (!w->ready) { /* still starting: it has hang_timeout_ms to say hello */
            if (now - w->spawned_ms > hang) {
                DCGW_ERROR(MASTER,
                           "worker %u (pid %d) not ready %llu ms after its start; killing it",
                           w->index, w->pid, (unsigned long long)(now - w->spawned_ms));
                snprintf(w->fail_reason, sizeof(w->fail_reason),
                         "not ready within watchdog.hang_timeout_ms (%llu ms)",
                         (unsigned long long)hang);
                w->hung = true;
                uv_process_kill(w->proc, SIGKILL);
            }
            continue;
        }
        if (now - w->last_heard_ms > hang) {
            DCGW_ERROR(MASTER, "worker %u (pid %d) silent for %llu ms; killing it", w->index,
                       w->pid, (unsigned long long)(now - w->last_heard_ms));
            snprintf(w->fail_reason, sizeof(w->fail_reason),
                     "silent for watchdog.hang_timeout_ms (%llu ms)", (unsigned long long)hang);
            w->hung = true;
            uv_process_kill(w->proc, SIGKILL);
            continue;
        }
        if (now - w->last_ping_ms >= hang / 4) {
            Dcgw__Ping ping = DCGW__PING__INIT;
            Dcgw__Request req = DCGW__REQUEST__INIT;
            req.has_id = 1;
            req.id = 0; /* the watchdog's: its Pong is consumed by the master */
            req.op_case = DCGW__REQUEST__OP_PING;
            req.ping = &ping;
            Dcgw__Frame f = DCGW__FRAME__INIT;
            f.body_case = DCGW__FRAME__BODY_REQUEST;
            f.request = &req;
            dcgw__master_send_worker(w, &f);
            w->last_ping_ms = now;
        }
    }
}

static void on_restart_timer(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (!w->m->draining && !w->proc)
        spawn_worker(w->m, w);
}

static void start_drain(struct master *m);

/* Restart delay after the given number of deaths in a row: 200 ms, doubled each time. */
static uint32_t backoff_ms(uint32_t failures)
{
    uint64_t d = DCGW_WORKER_RESTART_BACKOFF_MS;
    for (uint32_t i = 1; i < failures && d < DCGW_WORKER_RESTART_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < DCGW_WORKER_RESTART_BACKOFF_MAX_MS ? (uint32_t)d
                                                  : DCGW_WORKER_RESTART_BACKOFF_MAX_MS;
}

static void on_worker_exit(uv_process_t *proc, int64_t status, int sig)
{
    struct worker *w = proc->data;
    struct master *m = w->m;
    uv_close((uv_handle_t *)proc, (uv_close_cb)free);
    bool was_ready = w->ready;
    uint64_t up = was_ready ? uv_now(m->loop) - w->ready_ms : 0;
    w->proc = NULL;
    w->ready = false;
    w->hung = false;
    if (w->pipe)
        dcgw_stream_close(w->pipe, 0);
    if (m->draining) {
        DCGW_INFO(MASTER, "worker %u (pid %d) exited (status %lld)", w->index, w->pid,
                  (long long)status);
        dcgw__master_worker_lost(m, w, status, sig);
        all_workers_gone(m);
        return;
    }
    dcgw__master_worker_lost(m, w, status, sig);
    w->restarts++;
    if (was_ready && up >= m->cfg.watchdog.stable_after_ms)
        w->failures = 0; /* it ran well: this death starts the backoff over */
    w->failures++;
    w->start_failures = was_ready ? 0 : w->start_failures + 1;
    if (w->start_failures >= m->cfg.watchdog.max_start_failures) {
        DCGW_ERROR(MASTER,
                   "fatal: worker %u failed to start %u times in a row (last: %s); giving up",
                   w->index, w->start_failures,
                   w->fail_reason[0] ? w->fail_reason : "exited before it was ready");
        m->exit_code = 1;
        start_drain(m);
        return;
    }
    uint32_t delay = backoff_ms(w->failures);
    DCGW_ERROR(MASTER, "worker %u (pid %d) %s (status %lld, signal %d%s%s); restarting in %u ms",
               w->index, w->pid, was_ready ? "died" : "failed to start", (long long)status, sig,
               w->fail_reason[0] ? ": " : "", w->fail_reason, delay);
    uv_timer_start(&w->restart_timer, on_restart_timer, delay, 0);
}

static void spawn_worker(struct master *m, struct worker *w)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        DCGW_ERROR(MASTER, "socketpair: %s", strerror(errno));
        uv_timer_start(&w->restart_timer, on_restart_timer, DCGW_WORKER_RESTART_BACKOFF_MS * 5, 0);
        return;
    }
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", w->index);
    char *args[] = {"dcgwd", "--worker", idx, NULL};
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_INHERIT_FD, .data.fd = 0},
        {.flags = UV_INHERIT_FD, .data.fd = 1},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
        {.flags = UV_INHERIT_FD, .data.fd = sv[1]},
    };
    uv_process_options_t o = {
        .exit_cb = on_worker_exit,
        .file = "/proc/self/exe",
        .args = args,
        .stdio_count = 4,
        .stdio = stdio,
    };
    uv_process_t *proc = calloc(1, sizeof(*proc));
    uv_pipe_t *pipe = calloc(1, sizeof(*pipe));
    int r = proc && pipe ? uv_spawn(m->loop, proc, &o) : UV_ENOMEM;
    close(sv[1]);
    if (r < 0) {
        DCGW_ERROR(MASTER, "starting worker %u: %s", w->index, uv_strerror(r));
        free(proc);
        free(pipe);
        close(sv[0]);
        uv_timer_start(&w->restart_timer, on_restart_timer, DCGW_WORKER_RESTART_BACKOFF_MS * 5, 0);
        return;
    }
    proc->data = w;
    w->proc = proc;
    w->pid = proc->pid;
    w->ready = false;
    w->spawned_ms = w->last_heard_ms = uv_now(m->loop);
    w->fail_reason[0] = '\0';
    w->start_failed = false;
    w->sessions = 0;
    uv_pipe_init(m->loop, pipe, 0);
    uv_pipe_open(pipe, sv[0]);
    struct dcgw_stream_settings st = {
        .max_frame = DCGW_FRAME_MAX_CEILING,
        .outbuf_limit = 1u << 30, /* workers are trusted; a stuck one is killed instead */
    };
    struct dcgw_stream_cbs cbs = {
        .ud = w, .on_frame = on_worker_frame, .on_close = on_worker_pipe_closed};
    if (dcgw_stream_new((uv_stream_t *)pipe, &st, &cbs, &w->pipe) < 0) {
        uv_process_kill(proc, SIGKILL);
        return;
    }
    dcgw__master_send_config(w, true);
    DCGW_INFO(MASTER, "worker %u started (pid %d)", w->index, w->pid);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct master *m = t->data;
    for (uint32_t i = 0; i < m->n_workers; i++)
        if (m->workers[i].proc) {
            DCGW_WARN(MASTER, "worker %u did not drain in time; killing it", i);
            uv_process_kill(m->workers[i].proc, SIGKILL);
        }
}

static void start_drain(struct master *m)
{
    if (m->draining)
        return;
    m->draining = true;
    DCGW_INFO(MASTER, "draining: closing sessions and stopping %u workers", m->n_workers);
    dcgw__notify_stopping(m);
    dcgw__master_ctl_stop_listening(m);
    dcgw__nmf_stop(m);
    Dcgw__WorkerDrain drain = DCGW__WORKER_DRAIN__INIT;
    drain.has_timeout_ms = 1;
    drain.timeout_ms = m->cfg.shutdown.drain_timeout_ms;
    Dcgw__Internal in = DCGW__INTERNAL__INIT;
    in.msg_case = DCGW__INTERNAL__MSG_DRAIN;
    in.drain = &drain;
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_INTERNAL;
    f.internal = &in;
    for (uint32_t i = 0; i < m->n_workers; i++) {
        uv_timer_stop(&m->workers[i].restart_timer);
        if (m->workers[i].proc && dcgw__master_send_worker(&m->workers[i], &f) < 0)
            uv_process_kill(m->workers[i].proc, SIGTERM);
    }
    uv_timer_start(&m->drain_timer, on_drain_timeout, m->cfg.shutdown.drain_timeout_ms + 1000, 0);
    all_workers_gone(m);
}

/* Settings that take effect at restart keep their running values in a reload: the
 * master goes on with the sockets it has (and removes only those at stop), the workers
 * with theirs (send_config gives them the start text too). */
static void keep_restart_settings(const struct dcgw_config *run, struct dcgw_config *next)
{
    if (next->workers != run->workers)
        DCGW_WARN(CONFIG, "workers changes from %u to %u at the next restart", run->workers,
                  next->workers);
    if (strcmp(next->control.socket, run->control.socket) != 0)
        DCGW_WARN(CONFIG, "control.socket changes from %s to %s at the next restart",
                  run->control.socket, next->control.socket);
    else if (memcmp(&next->control, &run->control, sizeof(run->control)) != 0)
        DCGW_WARN(CONFIG, "control.* changes take effect at the next restart");
    if (memcmp(&next->data_plane, &run->data_plane, sizeof(run->data_plane)) != 0)
        DCGW_WARN(CONFIG, "data_plane.* changes take effect at the next restart");
    if (memcmp(&next->fast_path, &run->fast_path, sizeof(run->fast_path)) != 0)
        DCGW_WARN(CONFIG, "fast_path.* changes take effect at the next restart");
    next->workers = run->workers;
    next->control = run->control;
    next->data_plane = run->data_plane;
    next->fast_path = run->fast_path;
}

static void reload_config(struct master *m)
{
    Dcgw__ConfigReloaded cr = DCGW__CONFIG_RELOADED__INIT;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_CONFIG_RELOADED;
    ev.config_reloaded = &cr;
    cr.has_accepted = 1;
    if (!m->cfg_path) {
        DCGW_WARN(CONFIG, "SIGHUP: no configuration file to reload (running on defaults)");
        cr.accepted = 0;
        cr.reason = "no configuration file";
        dcgw__master_emit(m, &ev);
        return;
    }
    struct dcgw_config cfg;
    char *text = NULL;
    char err[DCGW_CONFIG_ERR_MAX];
    if (dcgw_config_load(m->cfg_path, &cfg, &text, err, sizeof(err)) < 0) {
        DCGW_ERROR(CONFIG, "reload rejected, keeping the running configuration: %s", err);
        cr.accepted = 0;
        cr.reason = err;
        dcgw__master_emit(m, &ev);
        return;
    }
    keep_restart_settings(&m->cfg, &cfg);
    dcgw__metrics_reload(m, &cfg);
    free(m->cfg_text);
    m->cfg_text = text;
    m->cfg = cfg;
    dcgw_log_setup(&m->cfg.log, "master");
    for (uint32_t i = 0; i < m->n_workers; i++)
        if (m->workers[i].ready)
            dcgw__master_send_config(&m->workers[i], false);
    DCGW_INFO(CONFIG, "configuration reloaded from %s", m->cfg_path);
    cr.accepted = 1;
    dcgw__master_emit(m, &ev);
}

static void reload(struct master *m)
{
    dcgw__notify_reloading(m);
    reload_config(m);
    dcgw__notify_reloaded(m);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct master *m = h->data;
    switch (signum) {
    case SIGTERM:
    case SIGINT:
        start_drain(m);
        break;
    case SIGHUP:
        reload(m);
        break;
    default:
        break;
    }
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void dcgw__master_init(struct master *m, uv_loop_t *loop, const struct dcgw_config *cfg,
                       const char *cfg_text)
{
    m->loop = loop;
    m->cfg = *cfg;
    m->cfg_text = strdup(cfg_text ? cfg_text : "");
    m->n_workers = cfg->workers;
    m->controllers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, NULL);
    m->dir = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    dcgw__replay_init(m);
    m->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, free);
}

void dcgw__master_release(struct master *m)
{
    g_hash_table_destroy(m->controllers);
    g_hash_table_destroy(m->dir);
    g_hash_table_destroy(m->pending);
    dcgw__replay_free(m);
    free(m->cfg_text);
    free(m->start_cfg_text);
}

/* libssl built from one OpenSSL version and run beside another's libcrypto (cmake/libssl.cmake:
 * an update of the system since the build, or a libssl built newer than an outdated system).
 * OpenSSL 3.0 keeps its ABI, so it works; the warning says what is stale. */
static void warn_libssl_version(void)
{
    unsigned long built, runtime;
    if (dcgw_dtls_libssl_versions(&built, &runtime))
        return;
    DCGW_WARN(MASTER,
              "%s libssl was built with OpenSSL %lu.%lu.%lu headers, but the libcrypto in use is "
              "%lu.%lu.%lu: %s",
              dcgw_dtls_libssl_patched() ? "dcgw's patched" : "the", (built >> 28) & 0xf,
              (built >> 20) & 0xff, (built >> 4) & 0xff, (runtime >> 28) & 0xf,
              (runtime >> 20) & 0xff, (runtime >> 4) & 0xff,
              built > runtime ? "upgrade the system's OpenSSL (libssl3)"
                              : "rebuild dcgw after the OpenSSL update");
}

int dcgw_master_run(const char *cfg_path, const struct dcgw_config *cfg, const char *cfg_text)
{
    struct master *m = calloc(1, sizeof(*m));
    if (!m)
        return 1;
    dcgw__master_init(m, uv_default_loop(), cfg, cfg_text);
    m->start_cfg_text = strdup(m->cfg_text ? m->cfg_text : "");
    m->cfg_path = cfg_path;
    dcgw_log_setup(&m->cfg.log, "master");

    int rc = 1;
    if (dcgw__metrics_start(m) < 0 || dcgw__master_ctl_listen(m) < 0 || dcgw__nmf_start(m) < 0)
        goto out;
    uv_timer_init(m->loop, &m->drain_timer);
    m->drain_timer.data = m;
    uv_timer_init(m->loop, &m->flush_timer);
    m->flush_timer.data = m;
    uv_timer_init(m->loop, &m->watchdog);
    m->watchdog.data = m;
    if (m->cfg.watchdog.hang_timeout_ms) {
        uint64_t period = m->cfg.watchdog.hang_timeout_ms / 4;
        uv_timer_start(&m->watchdog, on_watchdog, period, period);
    }
    uv_signal_t *sigs[] = {&m->sig_term, &m->sig_int, &m->sig_hup, &m->sig_pipe};
    int nums[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};
    for (int i = 0; i < 4; i++) {
        uv_signal_init(m->loop, sigs[i]);
        sigs[i]->data = m;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    for (uint32_t i = 0; i < m->n_workers; i++) {
        struct worker *w = &m->workers[i];
        w->m = m;
        w->index = i;
        uv_timer_init(m->loop, &w->restart_timer);
        w->restart_timer.data = w;
        spawn_worker(m, w);
    }
    DCGW_INFO(MASTER, "dcgw %s: %u workers, control socket %s", DCGW_VERSION, m->n_workers,
              m->cfg.control.socket);
    warn_libssl_version();
    uv_run(m->loop, UV_RUN_DEFAULT);
    rc = m->exit_code;
out:
    dcgw__nmf_stop(m);
    dcgw__metrics_stop(m);
    uv_walk(m->loop, close_walk, NULL);
    uv_run(m->loop, UV_RUN_DEFAULT);
    uv_loop_close(m->loop);
    dcgw__metrics_free(m);
    if (m->tls)
        SSL_CTX_free(m->tls);
    dcgw__master_release(m);
    free(m);
    return rc;
}
