/* Internal state of a worker process, shared by worker.c (master pipe, operations),
 * datapath.c (UDP, routing, leg timers) and legs.c (sessions and their legs). Events and
 * the shared wire forms: events.h, at the bottom. */
#ifndef DCGW_WORKER_INT_H
#define DCGW_WORKER_INT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw.pb-c.h"
#include "dcgw/stages/bridge.h"
#include "dcgw/msg/config.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/base/reentry.h"
#include "dcgw/net/io.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/media.h"
#include "dcgw/guard/policy.h"
#include "dcgw/msg/stream.h"
#include "dcgw/sdp/sdp.h"

enum {
    WLEG_MAX_ROUTES = 8,
    WLEG_UFRAG_LEN = 8,
    WLEG_PWD_LEN = 24,
    WSESSION_CLOSED_KEEP = 64,
    WSDP_SPARE = 4 /* parsed-SDP buffers a worker keeps between requests (sdpbuf.c) */
};

struct wsession;
struct wrelay;
struct dcgw_fastpath;
struct dcgw_trust;

/* A socket address as a hash key: family, port, address bytes. */
struct addrkey {
    uint8_t family;
    uint16_t port;
    uint8_t addr[16];
};

/* A terminated leg's ICE/DTLS transport: the leg's own (tp 0: its data channel and what is
 * bundled with it; s->legs[idx]), or one of its audio/video transports (tp > 0: an m-line, or
 * a BUNDLE group, outside the data channel's bundle; transports.c, held by the tp 0 wleg).
 * Routing, timers and the door (datapath.c) treat them alike. */
enum { WLEG_WHEEL_SLOTS = 64 }; /* seconds ahead the leg timers' wheel holds apart */

struct wleg {
    struct wsession *s;
    unsigned idx;         /* in s->desc->legs */
    unsigned tp;          /* 0: the leg's own transport; else one of tps[] of s->legs[idx] */
    struct dcgw_leg *leg; /* NULL until both SDPs are known (ROLE_OFFER) or after close */
    char ufrag[WLEG_UFRAG_LEN + 1], pwd[WLEG_PWD_LEN + 1];
    uv_timer_t timer;   /* deadlines within a second (and the handle that frees it) */
    uint64_t timer_due; /* UINT64_MAX when stopped */
    /* deadlines further: in the worker's wheel (datapath.c), wprev non-NULL */
    struct wleg *wnext, **wprev;
    struct addrkey routes[WLEG_MAX_ROUTES];
    unsigned n_routes;
    bool dead; /* failed or closed: stages freed at the next loop turn */
    /* tp 0 only: the leg's other transports by number (media.max_transports_per_leg) */
    struct wleg *tps[DCGW_MEDIA_TRANSPORTS_CEILING];
};

struct wsession {
    struct worker *w;
    Dcgw__Session *desc; /* the controller's view, kept current */
    struct dcgw_bridge *bridge;
    struct dcgw_policy_state *policy; /* enforce.c */
    /* final counters of closed channels, for session_closed (bounded) */
    Dcgw__DcStream *closed[WSESSION_CLOSED_KEEP];
    unsigned n_closed;
    struct wleg *legs[2];
    unsigned n_legs;
    unsigned handles_open; /* leg timers still closing before the session can go */
    struct wrelay *relay;  /* relay sessions (both legs MODE_RELAY, relay_legs.c); else NULL */
    bool closing;
    struct wavatar *avatar;        /* avatar verifiers (verify.c) */
    struct wboot *boot;            /* bootstrap channels served by the HTTP proxy (bootstrap.c) */
    struct wmedia *media;          /* audio and video (media.c); NULL: none */
    struct wmshare *metrics_share; /* its part of the metrics snapshot (metrics.c) */
    bool metrics_marked;           /* in the metrics' marked set: a touch costs no lookup */
};

struct wdeferred {
    void (*fn)(struct worker *w, void *p);
    void *p;
};

struct worker_stats {
    uint64_t sessions_created, sessions_closed, requests;
    /* datagrams from sources not validated: dropped at their first bytes (no STUN Binding
     * request), over their source's rate, naming no live leg (docs/floods.md) */
    uint64_t rx_unknown_source, rx_unknown_limited, rx_no_session, rx_garbage;
    uint64_t dtls_objects_created;  /* terminated legs' DTLS stages; relay flows make none */
    uint64_t relay_flows;           /* relay flows started */
    uint64_t quiet_entered;         /* times the worker went quiet (datapath.c) */
    uint64_t quiet_left;            /* times it woke up */
    uint64_t srtp_sessions_created; /* libsrtp2 sessions (two per keyed leg); relay: none */
    uint64_t media_no_stage;        /* RTP/RTCP of a session with no media stage (yet) */
    uint64_t media_closed_forwarded, media_closed_srtp_failures; /* of sessions gone */
    uint64_t dcep_wrong_parity_closed; /* DCEP opens of dcgw's parity accepted, legs gone */
    uint64_t malloc_trims;   /* memory given back after the session count fell (memory.c) */
    uint64_t malloc_trim_us; /* time those took */
};

struct worker {
    uv_loop_t *loop;
    uint32_t index;
    struct dcgw_stream *master;
    struct dcgw_config cfg;
    bool configured, draining;
    int exit_status;      /* of the process: DCGW_WORKER_EXIT_CONFIG when it could not start */
    GHashTable *sessions; /* id -> struct wsession */
    GHashTable *by_addr;  /* struct addrkey -> struct wleg: ICE-validated sources */
    GHashTable *by_ufrag; /* local ufrag -> struct wleg */
    struct dcgw_io *io;
    struct dcgw_fastpath *fastpath;    /* relay fast path (docs/fastpath.md); NULL: userspace */
    struct dcgw_ratelimit *unknown_rl; /* per-source buckets of unknown sources (datapath.c) */
    struct dcgw_filter *filter;        /* the same in the kernel; NULL when not permitted */
    struct dcgw_dtls_ctx *dtls_ctx;
    struct dcgw_fingerprint local_fp; /* sha-256 of the worker certificate */
    uv_timer_t sctp_tick;             /* drives usrsctp's timers (DESIGN §10) */
    uint64_t sctp_tick_last;          /* usrsctp's clock: a millisecond ahead at most */
    uv_timer_t sack_timer;            /* SACKs owed while that clock was ahead */
    /* leg deadlines more than a second away, by the second they fall in (datapath.c) */
    struct wleg *wheel[WLEG_WHEEL_SLOTS];
    uv_timer_t wheel_timer;
    uint64_t wheel_sec;        /* the last second whose slot was run */
    uint64_t sctp_active_seen; /* the SCTP stack's active_packets at the last look */
    uint64_t sctp_data_seen;   /* its data_packets_in at the last burst's end */
    uint64_t busy_at;          /* last datagram or SCTP packet that was not idle chatter */
    bool quiet;                /* quiet mode (datapath.c): slow SCTP tick, timed reads */
    bool wake;                 /* leave quiet mode after this loop turn */
    uint16_t next_sctp_port;   /* a local SCTP port per association */
    char udp_address[64];
    struct sockaddr_storage advertise; /* address and port written into SDP */
    struct dcgw_reentry turn;          /* the loop turn: what dies in it is freed at its end */
    GArray *deferred;                  /* those frees: struct wdeferred */
    uv_check_t reaper;
    uv_signal_t sig_term, sig_int, sig_hup, sig_pipe;
    struct worker_stats stats;
    struct dcgw_trust *avatar_trust; /* avatar.trust_anchors + trusted_keys (verify.c) */
    GQueue *close_later;             /* struct close_later, by due time (state.c) */
    struct wboot_worker *boot;       /* MDC1 and the proxies' reaper (bootstrap.c) */
    unsigned mem_high;               /* most sessions since the last malloc_trim (memory.c) */
    uint64_t mem_released;           /* dcgw_dtls_releases_total() at the last malloc_trim */
    uv_timer_t close_timer;
    /* An in-process worker (tests, fuzzing; inproc.c): frames for the master go to
     * to_master instead of the pipe, and the worker has no UDP socket (its legs take no
     * datagrams) unless socket was set before its configuration came (tests of the data
     * path). to_master is NULL in a worker process. */
    struct {
        void (*to_master)(void *ud, const Dcgw__Frame *f);
        void *ud;
        bool socket;
    } inproc;
    struct wmetrics *metrics;               /* metrics.c; NULL when metrics are off */
    struct dcgw_sdp *sdp_spare[WSDP_SPARE]; /* parsed-SDP buffers kept (sdpbuf.c) */
    unsigned n_sdp_spare;
};

/* worker.c: the state of a worker before its configuration, and its release once the
 * loop has closed every handle. */
void dcgw__worker_init(struct worker *w, uv_loop_t *loop, uint32_t index);
void dcgw__worker_dispose(struct worker *w);
/* inproc.c, for tests: an in-process worker's worker. */
struct dcgw_worker_inproc;
struct worker *dcgw__worker_of_inproc(struct dcgw_worker_inproc *x);
/* worker.c: a frame from the master (the pipe's handler; inproc.c calls it directly). */
int dcgw__worker_from_master(struct worker *w, const uint8_t *p, size_t n);
/* Closes every session and the data plane; the handles finish closing in the loop. */
void dcgw__worker_close_everything(struct worker *w);

/* sdpbuf.c: a struct dcgw_sdp to parse into for the length of one request (NULL: out of
 * memory), and its return; free_all at the worker's end. */
struct dcgw_sdp *dcgw__wsdp_take(struct worker *w);
void dcgw__wsdp_give(struct worker *w, struct dcgw_sdp *sdp);
void dcgw__wsdp_free_all(struct worker *w);

/* memory.c: glibc's thresholds for a worker process (dcgw__wmem_init, once at start), and
 * malloc_trim once the session count fell (dcgw__wmem_after_turn, after each loop turn). */
void dcgw__wmem_init(void);
void dcgw__wmem_after_turn(struct worker *w);

/* datapath.c: the door. Every datagram enters the worker in its on_datagram (routing, then
 * the leg's stages or its relay flow, then route learning for both modes) and leaves through
 * dcgw__wplane_send (docs/datapath.md). */
/* Opens the data plane (SCTP stack, certificate, UDP socket); on error, why says what. */
int dcgw__wplane_start(struct worker *w, char *why, size_t cap);
/* What the unknown-source path turned away, in user space and in the kernel filter, and
 * what the kernel dropped for want of receive buffer (docs/floods.md). */
struct dcgw_wunknown {
    uint64_t dropped, limited, kernel_drops;
    bool filter_active;
};
void dcgw__wplane_unknown(struct worker *w, struct dcgw_wunknown *out);
void dcgw__wplane_stop(struct worker *w);
/* The one way out: a datagram to `to` on the worker's socket (copied into the send batch).
 * Returns 0 or a negative error (counted by the io as tx_errors). */
int dcgw__wplane_send(struct worker *w, const struct sockaddr *to, const uint8_t *p, size_t n);
/* A terminated leg's send callback (dcgw_leg_cbs.send; ud = the struct wleg). */
void dcgw__wplane_leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n);
void dcgw__wplane_leg_forget(struct worker *w, struct wleg *l);
void dcgw__wplane_rearm(struct wleg *l);
/* When a leg timer for deadline `due` fires, now being `now` (loop ms): due itself, or
 * rounded up to the next whole second when more than a second away (datapath.c). */
uint64_t dcgw__wplane_timer_due(uint64_t due, uint64_t now);
/* Runs the wheel's slots of the seconds up to `now` (loop ms): the legs due fire, the others
 * go back in. The wheel's timer calls it every second with the loop's time; a test that
 * stopped that timer may call it with a later one. */
void dcgw__wplane_wheel_run(struct worker *w, uint64_t now);
/* Frees the leg's stages after this loop turn (never inside their callbacks). */
void dcgw__wplane_leg_kill(struct wleg *l);
/* fn(w, p) at the end of this loop turn, when no stage's frame is on the stack
 * (base/reentry.h); at once after dcgw__wplane_stop. For what dies inside callbacks. */
void dcgw__wplane_free_later(struct worker *w, void (*fn)(struct worker *w, void *p), void *p);

/* legs.c */
int dcgw__wsession_create(struct worker *w, const Dcgw__Session *in, struct wsession **out,
                          char *err, size_t errcap);
int dcgw__wsession_update(struct wsession *s, const char *leg, const char *remote_sdp, char *err,
                          size_t errcap);
/* Emits session_closed, closes the legs; the session is freed when its handles are. */
void dcgw__wsession_close(struct wsession *s, const char *reason);
/* Closes one data channel of a leg and its twin on the other leg (close_pair). */
int dcgw__wsession_close_channel(struct wsession *s, const char *leg, uint32_t stream, char *err,
                                 size_t errcap);
/* Refreshes states, peer addresses and counters in s->desc. */
void dcgw__wsession_refresh(struct wsession *s);
/* DCEP opens of dcgw's own parity the worker's legs accepted (sctp.dcep_tolerate_parity),
 * live legs and gone ones. */
uint64_t dcgw__wsession_wrong_parity(struct worker *w);

/* state.c. A leg (idx, or none: idx >= n_legs) failed or closed: the session is down with
 * reason, the first one given. True: the caller closes the session once its own events are
 * out (sessions.down_timeout_ms = 0); else it closes itself later unless the controller
 * does. init, stop and free: the worker's timer and queue of sessions to close. */
bool dcgw__wsession_leg_down(struct wsession *s, unsigned idx, const char *reason);
void dcgw__wstate_init(struct worker *w);
void dcgw__wstate_stop(struct worker *w);
void dcgw__wstate_free(struct worker *w);

/* enforce.c: the session's policy on its bridge (docs/policy.md). create before the legs;
 * open_request and message are bridge callbacks (ud = the session); channel_open says
 * whether a channel that opened may stay (else it is being closed); filter_sdp drops the
 * refused a=dcmap (and their a=dcsa) before SDP is written or applied; update replaces or
 * patches the session's (leg NULL) or a leg's policy. */
struct dcgw_sdp_dcmap;
struct dcgw_sdp_dcsa;
int dcgw__wpolicy_create(struct wsession *s, char *err, size_t errcap);
/* A violation reason of the engine as the wire's PolicyReason (metrics.c too). */
Dcgw__PolicyReason dcgw__wpolicy_reason_pb(enum dcgw_policy_reason r);
bool dcgw__wpolicy_open_request(void *ud, unsigned side, const struct dcgw_dc_channel *ch);
bool dcgw__wpolicy_message(void *ud, unsigned side, struct dcgw_dc_channel *ch, bool is_text,
                           const uint8_t *p, size_t n);
bool dcgw__wpolicy_channel_open(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch);
void dcgw__wpolicy_channel_closed(struct wsession *s, unsigned side,
                                  const struct dcgw_dc_channel *ch);
void dcgw__wpolicy_stream(const struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                          Dcgw__DcStream *st);
void dcgw__wpolicy_filter_sdp(struct wleg *l, struct dcgw_sdp_dcmap *maps, size_t *n_maps,
                              struct dcgw_sdp_dcsa *dcsa, size_t *n_dcsa);
void dcgw__wpolicy_refresh(struct wsession *s);
int dcgw__wpolicy_update(struct wsession *s, const char *leg, const Dcgw__Policy *p, bool patch,
                         char *err, size_t errcap);

/* verify.c: avatar verification on channels of kind avatar (docs/avatar-envelope.md).
 * create (after wpolicy_create) checks the session's AvatarSettings; message runs on each
 * message the policy passed (false: drop it; on a refusal the channel is being closed and
 * avatar_rejected emitted); channel_closed reports a transfer cut short; free from
 * session_free. */
struct wavatar;
int dcgw__wavatar_create(struct wsession *s, char *err, size_t errcap);
bool dcgw__wavatar_message(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch,
                           bool is_text, const uint8_t *p, size_t n);
/* UpdateSession.avatar: replaces the session's grants, pushed anchors and audience for
 * later manifests and tokens (transfers past their manifest keep going); on error
 * nothing changed. */
int dcgw__wavatar_update(struct wsession *s, const Dcgw__AvatarSettings *as, char *err,
                         size_t errcap);
void dcgw__wavatar_channel_closed(struct wsession *s, unsigned side,
                                  const struct dcgw_dc_channel *ch);
void dcgw__wavatar_free(struct wsession *s);
/* The worker's configured avatar anchors, read from the files once per configuration:
 * configure (re)builds them from w->cfg (at start and at each reload; sessions keep the
 * store they started verifying with), worker_free drops them. */
void dcgw__wavatar_configure(struct worker *w);
void dcgw__wavatar_worker_free(struct worker *w);

/* legs.c, for bootstrap.c: a channel the proxy serves reports like a bridged one.
 * channel_opened runs the policy's check (false: refused, being closed) and emits
 * channel_opened; channel_closed emits channel_closed and keeps the final counters. */
bool dcgw__wsession_channel_opened(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch);
void dcgw__wsession_channel_closed(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch);
/* legs.c, for enforce.c and verify.c (and CloseChannel): dcgw closes channel ch of leg `side` (a
 * policy or avatar refusal): a bridged channel and its twin at once, without waiting for either
 * peer (dcgw_bridge_close_channel); any other just by its stream reset. Each still reports
 * channel_closed once: when its reset completes, or with its leg's end. */
void dcgw__wsession_close_pair(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch);
/* legs.c: leg `side`'s data-channel endpoint while its stages live, else NULL. */
struct dcgw_dc *dcgw__wsession_leg_dc(const struct wsession *s, unsigned side);

/* bootstrap.c: bootstrap channels served by the HTTP proxy (docs/bootstrap.md). start and
 * stop: the worker's MDC1 (curl on the loop). create (with the session) and free (from
 * session_free); wrap replaces a terminated leg's data-channel callbacks (the bridge's)
 * with ones that serve bound bootstrap streams and pass the rest on; attach gives it the
 * leg's endpoint; leg_gone: the leg's stages are going, its served channels are detached;
 * stream adds DcStream.http; update applies UpdateSession.dc to a leg. */
struct wboot;
struct wboot_worker;
struct dcgw_mdc1_stats;
int dcgw__wboot_start(struct worker *w);
void dcgw__wboot_stop(struct worker *w);
const struct dcgw_mdc1_stats *dcgw__wboot_stats(const struct worker *w);
/* metrics.c: adds the open channels the proxy serves, per leg, to out. */
void dcgw__wboot_count_open(const struct wsession *s, uint32_t out[2]);
int dcgw__wboot_create(struct wsession *s);
void dcgw__wboot_free(struct wsession *s);
void dcgw__wboot_wrap(struct wleg *l, struct dcgw_dc_callbacks *cbs);
void dcgw__wboot_attach(struct wleg *l, struct dcgw_dc *dc);
void dcgw__wboot_leg_gone(struct wsession *s, unsigned side);
void dcgw__wboot_stream(const struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                        Dcgw__DcStream *st);
int dcgw__wboot_update(struct wsession *s, const char *leg, const Dcgw__DcMedia *dc, char *err,
                       size_t errcap);

/* media.c: audio and video of terminated sessions (docs/media.md).
 * plan (at create, before the legs' SDP is written): parses the offers of ROLE_ANSWER legs
 * (each usable audio/video m-line given its transport, those past
 * media.max_transports_per_leg made unusable), decides what each leg is
 * answered or offered (both offers paired, or one answered alone and offered to the other
 * leg), under the legs' policies, and builds the media stage when both legs offered;
 * plan_offer gives leg idx's parsed offer (NULL for a ROLE_OFFER leg); plan_local fills the
 * audio/video part of leg idx's struct dcgw_sdp_local and its Leg.media lines (loc->av
 * points into the plan: transports.c gives the m-lines of other transports their own
 * credentials there before the answer is written); plan_free.
 * answered: the answer to dcgw's offer on leg idx (paired with the other leg's offer, the
 * stage built). wants_srtp: transport tp of the leg (tp < 0: any) carries accepted
 * audio/video (its DTLS offers use_srtp).
 * connected: keys from the DTLS of the leg's transport tp (or media_failed when it agreed no
 * use_srtp). input: an RTP/RTCP datagram of a transport (dcgw_leg_cbs.on_media). policy: the
 * policy's media rules applied again (after an update). refresh: counters into Leg.media. totals:
 * the worker's. sums: the session's counters added to out, by kind ([0] audio, [1] video;
 * metrics.c). free: from session_free. */
struct wplan;
struct dcgw_sdp;
struct dcgw_sdp_local;
int dcgw__wmedia_plan(struct wsession *s, struct wplan **out, char *err, size_t errcap);
struct dcgw_sdp *dcgw__wmedia_plan_offer(const struct wplan *p, unsigned idx);
struct dcgw_sdp_av *dcgw__wmedia_plan_local(struct wsession *s, struct wplan *p, unsigned idx,
                                            struct dcgw_sdp_local *loc);
void dcgw__wmedia_plan_free(struct wplan *p);
int dcgw__wmedia_answered(struct wsession *s, unsigned idx, struct dcgw_sdp *answer, char *err,
                          size_t errcap);
bool dcgw__wmedia_wants_srtp(const struct wsession *s, unsigned idx, int tp);
void dcgw__wmedia_connected(struct wsession *s, unsigned idx, unsigned tp,
                            const struct dcgw_dtls *d);
/* Transport tp of leg idx carries no more media (its consent lost, ...): media_failed. */
void dcgw__wmedia_tp_failed(struct wsession *s, unsigned idx, unsigned tp, const char *reason);
void dcgw__wmedia_input(struct wleg *l, const uint8_t *p, size_t n);
void dcgw__wmedia_policy(struct wsession *s);
/* The policy's word on leg idx's audio (out[0]) and video (out[1]); relay_legs.c too. */
void dcgw__wmedia_allowed(struct wsession *s, unsigned idx, bool out[2]);
void dcgw__wmedia_refresh(struct wsession *s);
void dcgw__wmedia_totals(struct worker *w, uint64_t *forwarded, uint64_t *srtp_failures);
struct wmedia_sums {
    uint64_t in_packets[2], in_bytes[2];   /* authenticated from the legs' peers */
    uint64_t out_packets[2], out_bytes[2]; /* re-protected and sent on */
    uint64_t dropped[DCGW_MEDIA_DROP_COUNT];
};
void dcgw__wmedia_sums(const struct wsession *s, struct wmedia_sums *out);
void dcgw__wmedia_free(struct wsession *s);

/* transports.c: the audio/video transports of a terminated leg beyond its own (docs/media.md).
 * answer: before leg l's answer to offer is written, gives each accepted m-line of av (n_av,
 * one per offer->rtp[]) that needs a transport of its own (offer->rtp[].tp > 0) that
 * transport's ICE credentials and a=setup (what dcgw answers, prefer for actpass), creating
 * it (unique ufrag, a timer). start: once the answer is out, starts each such transport's
 * stages: ICE-lite toward the offer's credentials for it, DTLS bound to its fingerprints,
 * use_srtp. A transport whose DTLS fails fails the leg (dtls_failed); one that loses consent,
 * times out or is closed by the peer stops its m-lines' media (media_failed) and the leg
 * goes on. kill: the leg's transports go with it. close: their timers close (cb as
 * uv_close's), for the session's release. free: from session_free. */
struct dcgw_sdp_av;
int dcgw__wtp_answer(struct wleg *l, const struct dcgw_sdp *offer, struct dcgw_sdp_av *av,
                     size_t n_av, enum dcgw_sdp_setup prefer, char *err, size_t errcap);
int dcgw__wtp_start(struct wleg *l, const struct dcgw_sdp *offer, const struct dcgw_sdp_av *av,
                    size_t n_av, char *err, size_t errcap);
void dcgw__wtp_kill(struct wleg *l);
void dcgw__wtp_close(struct wleg *l, uv_close_cb cb);
void dcgw__wtp_free(struct wleg *l);

/* transports.c, for every transport of a leg (legs.c too): a new wleg of leg idx (a unique
 * ufrag in by_ufrag, its timer counted in the session's handles; NULL: out of memory), and
 * the stage settings every transport of a leg shares (ICE-lite toward t, DTLS as `ours`
 * says, bound to t's fingerprints; the leg's data channel and callbacks are the caller's). */
struct dcgw_sdp_transport;
struct wleg *dcgw__wleg_new(struct wsession *s, unsigned idx);
void dcgw__wleg_settings(const struct wleg *l, const struct dcgw_sdp_transport *t,
                         enum dcgw_sdp_setup ours, struct dcgw_leg_settings *ls);
/* legs.c, for transports.c: the end of a leg (its dtls_failed or leg_closed). */
void dcgw__wleg_failed(struct wleg *l, enum dcgw_leg_cause cause, int err, const char *reason);

/* relay_legs.c: relay sessions. create after the session's wlegs exist; update gives the
 * offered leg its answer and starts the flow; close emits relay_closed (once); free from
 * session_free, after the leg timers closed. */
int dcgw__wrelay_create(struct wsession *s, char *err, size_t errcap);
int dcgw__wrelay_update(struct wsession *s, struct wleg *l, const char *remote_sdp, char *err,
                        size_t errcap);
/* A datagram for the session's relay flow from leg l: the relay stage's verdict
 * (enum dcgw_relay_result; DCGW_RELAY_STUN_OK: `from` is validated for l). */
int dcgw__wrelay_input(struct wleg *l, const struct sockaddr *from, const uint8_t *p, size_t n,
                       uint64_t now);
void dcgw__wrelay_refresh(struct wsession *s);
/* UpdateSession.relay (rs), or a policy change (rs NULL): the fast path's entry goes
 * first, the new limits apply, then the flow is offloaded again (docs/fastpath.md). */
int dcgw__wrelay_settings(struct wsession *s, const Dcgw__RelaySettings *rs, char *err,
                          size_t errcap);
void dcgw__wrelay_close(struct wsession *s, const char *reason);
void dcgw__wrelay_free(struct wsession *s);
/* metrics.c: counters and the snapshot pushed to the master (docs/metrics.md). configure
 * at each (re)configuration (create: at start when the master asks for them
 * (WorkerInit.push_metrics); then the push interval follows w->cfg), stop when the worker
 * closes, free after its loop ended; event counts each
 * emitted event; fold adds a closing session's counters (before it leaves w->sessions)
 * and drops its share; touch marks a live session (not a closing one) whose share may
 * have changed, to be read again at the next snapshot (metrics.c: a snapshot costs the
 * sessions marked, not all);
 * usage reads the process's CPU time and resident memory. */
struct wmetrics;
struct wmshare;
void dcgw__wmetrics_configure(struct worker *w, bool create);
void dcgw__wmetrics_stop(struct worker *w);
void dcgw__wmetrics_free(struct worker *w);
void dcgw__wmetrics_event(struct worker *w, const Dcgw__Event *ev);
void dcgw__wmetrics_fold(struct wsession *s);
void dcgw__wmetrics_touch(struct wsession *s);
void dcgw__wmetrics_usage(uint64_t *user_us, uint64_t *system_us, uint64_t *rss_bytes);
/* For tests: the snapshot as a push builds it (the marked sessions read again), and one
 * built from scratch over every live session (what it must equal); vec holds
 * dcgw_metrics_slots() values, CPU time and memory left out. w->metrics must be on. */
void dcgw__wmetrics_build(struct worker *w, uint64_t *vec);
void dcgw__wmetrics_rebuild(struct worker *w, uint64_t *vec);
/* For tests: whether s is marked, to be read again at the next snapshot. */
bool dcgw__wmetrics_marked(const struct wsession *s);

/* relay_legs.c, for metrics.c: leg k's state and the counters of what its peer sent, now. */
void dcgw__wrelay_peek(const struct wsession *s, unsigned k, Dcgw__LegState *state,
                       Dcgw__RelayCounters *c);

#endif
