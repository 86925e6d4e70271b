/* Internal state of the master process, shared by master.c (processes, signals) and
 * master_ctl.c (controllers, requests, directory, events). Not a public header. */
#ifndef DCGW_MASTER_INT_H
#define DCGW_MASTER_INT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw.pb-c.h"
#include "dcgw/msg/config.h"
#include "dcgw/base/limits.h"
#include "dcgw/msg/stream.h"

struct master;

struct worker {
    struct master *m;
    uint32_t index;
    uv_process_t *proc; /* NULL when not running */
    struct dcgw_stream *pipe;
    int pid;
    bool ready;
    uint32_t sessions;
    uint32_t restarts;       /* in all */
    uint32_t failures;       /* deaths in a row without a stable run (restart backoff) */
    uint32_t start_failures; /* starts in a row that never became ready */
    uint64_t spawned_ms, ready_ms;
    char fail_reason[256]; /* why it failed to start, or was killed; "" if unknown */
    bool start_failed;     /* it said it cannot start: it exits by itself */
    char udp_address[64];
    uv_timer_t restart_timer;
    uint64_t last_heard_ms; /* any frame from it (watchdog) */
    uint64_t last_ping_ms;
    bool hung; /* killed by the watchdog, exit not seen yet */
};

/* Where an in-process controller (the Nmf_MRM adapter) gets what a socket controller
 * reads from its stream. Called from the loop, inside the master's request or event
 * handling: a callback may submit new requests but must not detach its controller. */
struct dcgw__ctl_sink {
    void (*on_response)(void *ud, Dcgw__Response *r);  /* r is valid during the call only */
    void (*on_event)(void *ud, const Dcgw__Event *ev); /* NULL: no events */
};

struct controller {
    uint64_t id; /* key in master.controllers; pending requests refer to it by id */
    struct master *m;
    struct dcgw_stream *s;             /* NULL for an in-process controller */
    const struct dcgw__ctl_sink *sink; /* in-process controllers only */
    void *sink_ud;
    bool subscribed;
    char filter[DCGW_SESSION_ID_MAX]; /* "" = every session */
    bool operator;                    /* in an operator slot (control.operator_connections) */
    uint64_t last_request_ms;         /* loop time of its last request, or of its connect */
};

struct dir_entry {
    char id[DCGW_SESSION_ID_MAX];
    uint32_t worker;
    Dcgw__SessionState state;
    uint32_t legs;
    uint64_t created_unix_ms;
    char tag[64];
    bool placing; /* forwarded to its worker, not confirmed yet */
};

struct stats_agg {
    uint64_t conn_id, req_id;
    uint32_t remaining; /* workers yet to answer */
    uint64_t t0_ns;     /* arrival of the request (metrics) */
    Dcgw__WorkerStats *per_worker[DCGW_MAX_WORKERS];
};

struct pending {
    uint64_t mid; /* id on the master<->worker stream; key in master.pending */
    uint64_t conn_id;
    uint64_t req_id;
    uint32_t op; /* Dcgw__Request__OpCase */
    uint32_t worker;
    char session_id[DCGW_SESSION_ID_MAX];
    struct stats_agg *agg; /* shared by the fan-out of one get_stats */
    uint64_t t0_ns;        /* arrival of the request (metrics) */
};

struct master {
    uv_loop_t *loop;
    struct dcgw_config cfg;
    char *cfg_text;       /* the validated text workers are given */
    char *start_cfg_text; /* the text dcgw started with (restart-only settings) */
    const char *cfg_path; /* NULL: running on defaults */
    struct worker workers[DCGW_MAX_WORKERS];
    uint32_t n_workers;

    GHashTable *controllers; /* uint64 id -> struct controller */
    uint32_t in_process;     /* of them, in-process ones (not connections) */
    uint64_t next_conn_id;
    GHashTable *dir;     /* session id -> struct dir_entry */
    GHashTable *pending; /* uint64 mid -> struct pending */
    uint64_t next_mid;
    uint64_t event_seq;
    GQueue *replay;            /* events kept (replay.c) */
    size_t replay_bytes;       /* their packed size */
    GHashTable *replay_closed; /* session id -> its kept session_closed */

    uv_pipe_t *unix_listener;
    char sock_path[DCGW_CONFIG_PATH_MAX]; /* the socket this process bound, and its inode */
    dev_t sock_dev;
    ino_t sock_ino;
    uv_tcp_t *tcp_listener;
    SSL_CTX *tls;
    uv_signal_t sig_term, sig_int, sig_hup, sig_pipe;
    uv_timer_t drain_timer;
    uv_timer_t watchdog; /* pings workers, kills one silent past watchdog.hang_timeout_ms */
    bool draining;
    int exit_code;       /* of dcgwd: 1 when it gave up on a worker that cannot start */
    bool ready_notified; /* systemd was told READY=1 (notify.c) */

    uint64_t sessions_created, sessions_closed, sessions_lost, frames_rejected;
    uint64_t conns_timed_out, conns_evicted;
    uv_timer_t ctl_sweep;   /* idle and slow connections (conn.c) */
    uv_timer_t flush_timer; /* the bound on the last flush at exit (master.c) */
    struct nmf *nmf;        /* the Nmf_MRM service (nmf.c), NULL when off */
    /* An in-process master (tests, fuzzing; master_inproc.c): frames for worker i go here
     * instead of its pipe. NULL in dcgwd. */
    void (*to_worker)(void *ud, uint32_t index, const Dcgw__Frame *f);
    void *to_worker_ud;
    struct master_metrics *metrics; /* metrics.c */
};

/* conn.c: the listening sockets and the connections they accept */
int dcgw__master_ctl_listen(struct master *m);
void dcgw__master_ctl_stop_listening(struct master *m);
void dcgw__master_ctl_close_all(struct master *m);

/* master_ctl.c */
/* An in-process controller: its requests take the same path as a socket controller's
 * (validation, placement, forwarding, the directory); responses and events go to sink.
 * Not counted against control.max_connections. Detach it outside its callbacks; replies
 * still pending for it are then dropped. */
struct controller *dcgw__master_ctl_attach(struct master *m, const struct dcgw__ctl_sink *sink,
                                           void *ud);
void dcgw__master_ctl_detach(struct master *m, struct controller *c);
/* Handles req as if c had sent it (req->id is c's to choose); req stays the caller's. */
void dcgw__master_ctl_request(struct master *m, struct controller *c, Dcgw__Request *req);
void dcgw__master_emit(struct master *m, Dcgw__Event *ev);
/* A frame from worker w (response, event or internal hello). */
int dcgw__master_from_worker(struct master *m, struct worker *w, const Dcgw__Frame *f);
/* Worker w is gone: drop its sessions, fail its pending requests, emit worker_lost. */
void dcgw__master_worker_lost(struct master *m, struct worker *w, int64_t status, int sig);

/* replay.c: the last control.event_replay events. add keeps ev (seq assigned) and returns
 * its packed frame (valid until the next add; NULL when none is kept); plan finds where a
 * replay after from_seq to c starts (the seq of its first event, or the next seq) and
 * send writes it; closed gives the seq of a session's kept session_closed, or 0. */
void dcgw__replay_init(struct master *m);
void dcgw__replay_free(struct master *m);
const uint8_t *dcgw__replay_add(struct master *m, const Dcgw__Event *ev, size_t *n);
uint64_t dcgw__replay_plan(struct master *m, const struct controller *c, uint64_t from_seq,
                           void **start);
void dcgw__replay_send(struct master *m, struct controller *c, void *start);
uint64_t dcgw__replay_closed(struct master *m, const char *session_id);
uint64_t dcgw__replay_first(struct master *m);

/* notify.c: systemd notifications. ready: when every worker is ready (READY=1; repeated
 * after a reload); reloading / reloaded around a reload; stopping when draining. */
void dcgw__notify_ready(struct master *m);
void dcgw__notify_reloading(struct master *m);
void dcgw__notify_reloaded(struct master *m);
void dcgw__notify_stopping(struct master *m);

/* master.c */
/* The state every master starts with (dcgwd's and an in-process one): m zeroed before;
 * m->cfg_text is NULL when out of memory. dcgw__master_release frees what init and the
 * master's run made (not m itself). */
void dcgw__master_init(struct master *m, uv_loop_t *loop, const struct dcgw_config *cfg,
                       const char *cfg_text);
void dcgw__master_release(struct master *m);
int dcgw__master_send_worker(struct worker *w, const Dcgw__Frame *f);
/* Sends the worker its configuration: Internal.init (initial) or .reconfigure. */
int dcgw__master_send_config(struct worker *w, bool initial);

#endif
