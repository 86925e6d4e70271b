/* dcgw-bench: shared types of the bench harness (see bench/README.md).
 *
 *   bench process (one libuv loop)                 measured process
 *   +------------------------------------+
 *   | pair: client A ---- UDP ---- client Z |        direct: none (the bench itself)
 *   | pair: client A -- dcgwd worker -- Z   |        gateway: dcgwd master + workers
 *   | pair: client A -- Janus echotest      |        janus: the janus process
 *   | pair: client A -- dcgwd relay -- Z    |        relay: dcgwd master + workers
 *   +------------------------------------+
 *
 * A "pair" is one session's endpoints; a "flow" is one stream of messages on one channel
 * of a pair. Scenarios (list.h) set pairs up, run flows and snapshot CPU time. */
#ifndef DCGW_BENCH_H
#define DCGW_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw/net/client.h"
#include "dcgw/ctl/ctlclient.h"

/* PATH_RELAY: A and Z through a MODE_RELAY session of dcgwd (DTLS end to end, dcgw
 * forwards datagrams); only the relay scenario sets it up (bench_path_available).
 * PATH_BASE: the gateway path through a second dcgwd (--base-dcgwd: a build of the tree
 * before a change), so a change is measured before and after in the same run. */
enum bench_path { PATH_DIRECT, PATH_GATEWAY, PATH_JANUS, PATH_RELAY, PATH_BASE, PATH_COUNT };

enum bench_limits {
    BENCH_SIZES_MAX = 16,
    BENCH_COUNTS_MAX = 8,
    BENCH_CHANNELS_MAX = 16,
    BENCH_FLOWS_MAX = 65535,
    BENCH_HDR = 16,        /* message header: send time, sequence, flow, kind */
    BENCH_MSG_MIN = 64,    /* smallest message size */
    BENCH_CTL_THREADS = 4, /* control connections used to create and close sessions */
    BENCH_SAMPLES_MAX = 2000000,
    BENCH_STREAM_ID_DEFAULT = 1000, /* 3GPP application channels start at 1000 */
    BENCH_REPEAT_MAX = 99,
    BENCH_JANUS_SCTP_PORT = 5000,
    /* Janus 1.1 uses SCTP port 5000 whatever the SDP says */ /* --repeat (opts.c refuses more) */
};

struct bench_opts {
    const char *dcgwd;      /* daemon binary */
    const char *base_dcgwd; /* a second daemon for PATH_BASE (NULL: none) */
    const char *socket;     /* an external dcgwd's control socket (no spawn) */
    const char *janus;      /* janus binary; NULL or "" disables the comparison */
    const char *janus_addr;
    const char *dcgwd_log; /* dcgwd's log.level */
    int janus_log;         /* Janus's debug_level */
    const char *json_path, *plot_path, *data_path;
    const char *scenarios; /* comma list, or "all" */
    unsigned workers;
    size_t sizes[BENCH_SIZES_MAX];
    unsigned n_sizes;
    unsigned sessions[BENCH_COUNTS_MAX], n_sessions;
    unsigned channels[BENCH_COUNTS_MAX], n_channels;
    double duration_s, warmup_s;
    unsigned repeat; /* tput_size: sweeps, median reported */
    size_t window;   /* bytes in flight per session */
    unsigned setup_sessions, setup_concurrency;
    unsigned crypto_handshakes; /* setup: in-memory handshakes per crypto-limit measurement */
    unsigned idle_sessions;
    double idle_s;
    unsigned ends_poll_ms; /* idle: endpoints read their shared socket every this many ms */
    unsigned peak_sessions, peak_live; /* peak: sessions set up, of which stay */
    /* soak: sessions set up and closed in all, per round, before the baseline; the growth
     * allowed (KiB) */
    unsigned soak_sessions, soak_round, soak_warmup, soak_max_growth_kib;
    double latency_s, load_fraction;
    size_t latency_size;
    uint16_t stream_id;
    uint32_t max_message_size;
    unsigned sctp_tick_ms;            /* dcgwd's sctp.timer_interval_ms */
    size_t avatar_size, avatar_chunk; /* avatar: bytes per transfer, per chunk */
    double scrape_hz;                 /* metrics: scrapes of /metrics per second */
    const char *flood;                /* flood: the dcgw-flood binary */
    double flood_s;                   /* flood: seconds per window */
    unsigned flood_rounds;            /* flood: rounds of (none, stun, dtls) windows */
    int flood_cpu;                    /* flood: the flooder's CPU; -1: the last one */
    int flood_nice;                   /* flood: the flooder's nice value */
    bool flood_idle;                  /* flood: the flooder runs as SCHED_IDLE */
    bool flood_pin;                   /* flood: the measured processes keep off its CPU */
    unsigned avatar_transfers;        /* avatar: transfers per measurement */
    const char *nginx;                /* bootstrap: the DCSF stand-in */
    unsigned boot_requests;           /* bootstrap: app-list requests per path and round */
    size_t boot_size;                 /* bootstrap: bytes of the application */
    unsigned boot_transfers;          /* bootstrap: application downloads per path and round */
    bool netns, quiet, keep;
    bool no_direct; /* --no-direct: the direct path is left out (idle and setup at scale) */
    int argc;
    char **argv;
};

struct gw;
struct janus;
struct flow;
struct pair;
struct pairset;

struct bench {
    struct bench_opts o;
    uv_loop_t *loop;
    uv_timer_t sctp_tick;
    struct dcgw_client_net *net; /* the socket every idle-set endpoint shares (bench_net_new) */
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_dtls_ctx *ctx_janus; /* offers use_srtp (RFC 5764): Janus insists on it */
    /* the far-end process (far.c) */
    int far_fd, far_pid;
    uv_poll_t far_poll;
    /* what the far end reports, and who hears it (set by main.c) */
    struct far_cbs {
        void (*on_credit)(struct bench *b, uint16_t flow, uint32_t msgs, uint64_t bytes,
                          uint32_t disorder);
        void (*on_pair)(struct bench *b, uint32_t op, uint32_t id, const char *text, size_t len);
    } far_cbs;
    uint8_t *far_buf;
    struct pair **pairs; /* by id, for messages from the far end */
    size_t pairs_cap;
    char workdir[256];
    struct gw *gw;
    struct gw *gw_base; /* PATH_BASE's dcgwd (--base-dcgwd), or NULL */
    struct janus *jn;
    char janus_why[512]; /* why Janus is not measured ("" when it is) */
    json_t *out;         /* the whole JSON result */
    json_t *scen;        /* out.scenarios */
    uint16_t next_sctp_port;
    uint32_t next_pair_id;
    uint64_t run_id;
    struct flow *flows[BENCH_FLOWS_MAX + 1];
    uint32_t next_flow;
    /* loop helpers */
    uv_check_t until_check;
    uv_timer_t until_timer;
    uv_poll_t pace_poll; /* a timerfd: paced flows every 100 us */
    int pace_fd;
    bool (*until_cond)(struct bench *b, void *arg);
    void *until_arg;
    void (*each_turn)(struct bench *b); /* while flows are paced: every loop turn (main.c) */
    bool until_timed_out;
    unsigned pacing; /* running paced flows */
    uint64_t until_deadline_ns, progress_last_ns;
    char progress[200];
    bool progress_shown;
    struct findings {
        /* per path and size index (o.sizes): tput_size and latency results */
        double msgs_per_s[PATH_COUNT][BENCH_SIZES_MAX];
        double mb_per_s[PATH_COUNT][BENCH_SIZES_MAX];
        double cpu_ns_per_msg[PATH_COUNT][BENCH_SIZES_MAX];
        double rtt_p50_us[PATH_COUNT][BENCH_SIZES_MAX];
        double rtt_p99_us[PATH_COUNT][BENCH_SIZES_MAX];
        /* targets (NaN when not measured) */
        double gw_over_direct_1k, janus_over_gw_1k, gw_over_direct_16k, janus_over_gw_16k;
        double gw_over_direct_64;
        double setup_capacity_2cores, setup_rate;
        /* set-up: the crypto-only limit (hs_limit.c) as a share of dcgwd's CPU per session */
        double setup_of_crypto_limit, setup_of_crypto_limit_roles;
        double idle_core_pct_50k, idle_mem_per_session;
        double idle_core_pct_50k_noise; /* the same of the measured CPU spread */
        double added_p99_us_traversal;
        /* relay scenario (not an issue-7 target; printed under the targets) */
        double relay_over_direct_1k, relay_cpu_ns_per_datagram_1k;
        double flood_p99_ratio; /* flood: worst p99 with a flood / p99 without */
    } f;
};

/* ---- opts.c: the command line */
void bench_opts_default(struct bench_opts *o);
/* Parses argv into o (defaults first, --quick presets before the other options);
 * prints the usage and returns -1 on a bad option; exits 0 after --help. */
int bench_parse_opts(int argc, char **argv, struct bench_opts *o);

/* ---- run.c: what every part uses at run time (main.c only wires the parts together) */
uint64_t bench_now_ns(void);
/* Runs the loop until cond(b, arg) holds (checked every loop turn and every ms) or
 * timeout_ms passes. Returns true when cond held. */
bool bench_run_until(struct bench *b, bool (*cond)(struct bench *, void *), void *arg,
                     uint64_t timeout_ms);
void bench_run_for(struct bench *b, uint64_t ms);
/* The progress line (stderr, rewritten in place on a terminal). */
void bench_progress(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_note(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *bench_path_name(enum bench_path p);
/* Children killed if the bench is interrupted. */
void bench_register_child(int pid);
/* Kills them (async-signal-safe: for the signal handler). */
void bench_kill_children(void);
/* Paths the general scenarios measure: direct, gateway (dcgwd up), janus (Janus up). The
 * relay path is never "available" here: only scen_relay sets it up (it needs dcgwd). */
bool bench_path_available(struct bench *b, enum bench_path p);

/* The next local SCTP port no association of this process holds, after *next (which
 * advances), never BENCH_JANUS_SCTP_PORT: every association of a process needs its own
 * (DESIGN §10; dcgw_sctp_port_in_use). */
uint16_t bench_next_free_port(uint16_t *next);
uint16_t bench_sctp_port(struct bench *b);
/* The loopback address endpoint `id` binds: 127.1.x.y for the bench's side (A), 127.65.x.y
 * for the far end's (Z), one per pair (ids wrap past 2^22). Each simulated UE has an address
 * of its own, as in a network: dcgw limits STUN Binding requests from unknown sources per
 * address (data_plane.unknown_source_rate, docs/floods.md), and one shared 127.0.0.1 made
 * every set-up past ~100/s per worker wait for that limit (and some fail). */
void bench_endpoint_addr(uint32_t id, bool far, struct sockaddr_storage *out);

/* The socket the endpoints of idle sets (many sessions) share in a process, each under its
 * own address (dcgw_client_net): one descriptor for tens of thousands of endpoints, where
 * one socket each would pass RLIMIT_NOFILE. */
int bench_net_new(uv_loop_t *loop, struct dcgw_client_net **out);
/* Both processes' shared sockets read every ms (0: as datagrams arrive; io.h). */
void bench_ends_poll(struct bench *b, uint32_t ms);

/* Fills maps[0..nch) with the negotiated channels every pair uses (a=dcmap). */
void bench_dcmap(const struct bench_opts *o, struct dcgw_sdp_dcmap *maps, unsigned nch);
/* The client settings every bench endpoint uses: bound to bind, our a=sctp-port, o's max
 * message size, maps[0..n_dcmap) offered, in-band opens accepted when allow_dcep; idle
 * (many sessions, little traffic): io batches of one and the system's socket buffers,
 * otherwise 8 MiB buffers; the first DTLS retransmission after 400 ms. bind must outlive
 * dcgw_client_new. */
struct dcgw_client_settings bench_client_settings(const struct bench_opts *o,
                                                  const struct sockaddr_storage *bind,
                                                  uint16_t sctp_port,
                                                  const struct dcgw_sdp_dcmap *maps, size_t n_dcmap,
                                                  bool allow_dcep, bool idle);

/* ---- far.c: the process holding every Z endpoint */
enum far_op {
    FAR_ANSWER = 1, /* -> far: answer the offer in the payload; <- FAR_SDP (the answer) */
    FAR_OFFER,      /* -> far: make Z's offer; <- FAR_SDP (the offer) */
    FAR_START,      /* -> far: the answer to Z's offer */
    FAR_FREE,       /* -> far: drop Z */
    FAR_SDP,        /* <- far */
    FAR_READY,      /* <- far: A's hello reached Z */
    FAR_FAILED,     /* <- far: reason */
    FAR_CREDIT,     /* <- far: per-flow delivery counts */
    FAR_TRIM,       /* -> far: return freed heap to the system (before memory baselines) */
    FAR_POLL,       /* -> far: read the shared socket every `pair` ms (0: on each datagram) */
};
/* Forks the far end (before any thread). */
int far_spawn(struct bench *b);
int far_start_poll(struct bench *b);
int far_send(struct bench *b, enum far_op op, uint32_t pair, unsigned nch, bool idle,
             const char *text);
void far_stop(struct bench *b);

/* ---- proc.c: what the kernel says about a process */
/* The fields of /proc/PID/stat after the command name, from the state on, read into buf
 * (cap bytes); NULL when it cannot be read. */
const char *proc_stat_fields(int pid, char *buf, size_t cap);
/* CPU time (user + system) in ns of every thread of pid: the sum of
 * /proc/PID/task/TID/schedstat (ns), or /proc/PID/stat utime+stime when absent. */
uint64_t proc_cpu_ns(int pid);
uint64_t proc_rss_bytes(int pid);
/* Every thread of pid on every online CPU but except_cpu (-1: all of them). 0 or -1. */
int proc_set_affinity(int pid, int except_cpu);
/* Raises RLIMIT_NOFILE as far as allowed; returns the new soft limit. */
uint64_t proc_raise_nofile(uint64_t want);

/* ---- gw.c: the daemon under test */
int gw_start(struct bench *b, char *err, size_t errcap);
void gw_stop(struct bench *b);
/* The same for PATH_BASE's daemon (o.base_dcgwd, its files named base-* in the work
 * directory). */
int gw_start_base(struct bench *b, char *err, size_t errcap);
void gw_stop_base(struct bench *b);
/* The daemon a path's sessions go through: b->gw_base for PATH_BASE, else b->gw. */
struct gw *bench_gw(struct bench *b, enum bench_path p);
uint64_t gw_cpu_ns(struct gw *g);
/* proc_set_affinity for the master and every worker. */
void gw_set_affinity(struct gw *g, int except_cpu);
/* The master's CPU alone (gw_cpu_ns minus it: the workers', the data path). */
uint64_t gw_cpu_master_ns(struct gw *g);
/* The port of dcgwd's /metrics on 127.0.0.1 (0 with --socket: not ours to know). */
uint16_t gw_metrics_port(const struct gw *g);
uint64_t gw_rss_bytes(struct gw *g);
/* The workers' resident memory (not the master's). */
uint64_t gw_rss_workers(struct gw *g);
/* The sessions the workers hold (get_stats) into *n: 0 or a negative code. */
int gw_sessions(struct gw *g, unsigned *n);
unsigned gw_workers(const struct gw *g);
/* The control socket's path (to open a connection of one's own with dcgw_ctlclient). */
const char *gw_socket_path(const struct gw *g);
/* False (with the reason) when a dcgwd process died; why also notes reconnections. */
bool gw_alive(struct gw *g, char *why, size_t cap);
/* Queues a control job; done runs on the loop. Legs: [0] "ue" (A), [1] "as" (Z).
 *  - CTL_CREATE: bridged (terminated) session; offer[0..1] in, answer[0..1] out.
 *  - CTL_RELAY_CREATE: relay session, leg ue answers A's offer[0], leg as offers:
 *    answer[1] out = dcgw's offer to forward to Z (docs/relay.md).
 *  - CTL_RELAY_UPDATE: Z's answer in offer[1] (update_session on leg as); answer[0] out =
 *    dcgw's answer for A.
 *  - CTL_CLOSE: close_session. */
enum ctl_kind { CTL_CREATE, CTL_CLOSE, CTL_RELAY_CREATE, CTL_RELAY_UPDATE };
/* What dcgwd counted for a relay session: per leg ([0] ue, [1] as), the datagrams and bytes
 * that leg's peer sent and dcgw forwarded; and the sums of the workers' io counters. */
struct relay_counts {
    uint64_t rx_packets[2], forwarded_packets[2], forwarded_bytes[2], dropped[2];
    uint64_t io_rx, io_tx; /* UDP datagrams received and sent by every worker */
    bool connected;        /* both legs LEG_CONNECTED: the inspector verified both certificates */
};
struct ctl_job {
    struct ctl_job *next;
    enum ctl_kind kind;
    struct pair *p;
    char sid[64];
    char *offer[2];  /* the peers' SDP (owned), see ctl_kind */
    char *answer[2]; /* dcgw's SDP (owned), see ctl_kind */
    int err;
    char errmsg[256];
    void (*done)(struct bench *b, struct ctl_job *j);
};
void gw_submit(struct gw *g, struct ctl_job *j);
/* The two legs of a bench session for create_session, DataChannel media: [0] "ue" (A),
 * [1] "as" (Z). v is Session.legs (n_legs 2). */
struct bench_legs {
    Dcgw__DcMedia dc[2];
    Dcgw__Leg leg[2];
    Dcgw__Leg *v[2];
};
/* Fills l. Terminating: both legs answer, sdp_ue and sdp_as; relay (docs/relay.md): leg
 * "ue" answers sdp_ue, leg "as" offers (sdp_as unused). l points at the SDP, copying
 * nothing: it must outlive the request. */
void bench_legs_init(struct bench_legs *l, bool relay, const char *sdp_ue, const char *sdp_as);
/* The allow-all policy of the bench's terminating sessions (dcgw's default is deny: the
 * bench measures forwarding, not refusals). pol points into the struct: fill it where it
 * stays. */
struct bench_allow_all {
    Dcgw__PolicyRule rule, *rules[1];
    Dcgw__Policy pol;
};
void bench_allow_all_init(struct bench_allow_all *a);
/* Reads c for relay session sid (get_session, then get_stats) on the loop thread's own
 * connection, blocking: call it when the session carries no traffic. */
int gw_relay_counts(struct gw *g, const char *sid, struct relay_counts *c);
void ctl_job_free(struct ctl_job *j);
/* The data-plane address (host:port) of the worker holding session sid. Blocking, on the
 * loop thread's own connection. */
int gw_session_address(struct gw *g, const char *sid, char *addr, size_t cap);
/* The sums over the workers of the counters names[0..n) (get_stats), into vals. */
int gw_counters(struct gw *g, const char *const *names, uint64_t *vals, size_t n);

/* ---- janus.c: the peer comparison */
int janus_start(struct bench *b, char *err, size_t errcap);
void janus_stop(struct bench *b);
uint64_t janus_cpu_ns(struct janus *j);
/* Creates a Janus session + echotest handle and exchanges SDP (blocking HTTP). *hid gets
 * an opaque handle for janus_hangup. Returns the answer (malloc'd) or NULL. */
char *janus_negotiate(struct janus *j, const char *offer, uint64_t ids[2], char *err,
                      size_t errcap);
void janus_hangup(struct janus *j, const uint64_t ids[2]);
/* Binds clients of Janus pairs here (the address Janus gathers). */
const struct sockaddr *janus_client_bind(struct janus *j);

/* ---- pair.c: sessions' endpoints */
enum pair_state { PAIR_NEW, PAIR_SIGNALLING, PAIR_CONNECTING, PAIR_READY, PAIR_FAILED };

struct pair {
    struct bench *b;
    struct pairset *set;
    enum bench_path path;
    uint32_t id;
    enum pair_state state;
    struct dcgw_client *a; /* A, in the bench; Z lives in the far end (or is Janus) */
    char *offer_a;         /* gateway, relay: A's offer, until Z's arrives */
    unsigned nch;
    struct dcgw_dc_channel *cha[BENCH_CHANNELS_MAX];
    unsigned open_a;
    char sid[64];
    uint64_t janus_ids[2];
    uint64_t t_start_ns, t_ready_ns;
    struct flow *flows[BENCH_CHANNELS_MAX];
    unsigned nflows;
    char why[256];
};

struct pairset {
    struct bench *b;
    enum bench_path path;
    struct pair **v;
    unsigned n, nch;
    unsigned started, ready, failed, inflight, concurrency;
    bool idle; /* small io batches: many sessions, little traffic */
    bool closing;
    unsigned close_pending;
};

/* Sets up n pairs with nch channels each (at most `concurrency` signalling and
 * connecting at once) and runs the loop until all are ready or failed, or timeout_ms.
 * Returns the set (check ->ready) or NULL on ENOMEM. */
struct pairset *pairset_setup(struct bench *b, enum bench_path path, unsigned n, unsigned nch,
                              unsigned concurrency, bool idle, uint64_t timeout_ms);
/* Closes sessions (control / Janus hang-up), frees the clients and the set. */
void pairset_free(struct pairset *s);
/* A message of the far end about pair `id`. */
void pair_on_far(struct bench *b, uint32_t op, uint32_t id, const char *text, size_t len);

/* ---- traffic.c: flows of messages */
enum flow_kind { FLOW_WINDOW, FLOW_RATE, FLOW_PING };

struct lat {
    uint32_t *us10; /* samples in units of 0.1 us */
    size_t n, cap;
};

struct flow {
    struct bench *b;
    uint16_t id;
    enum flow_kind kind;
    struct pair *p;
    unsigned chi;
    size_t size;
    uint8_t *buf;
    size_t window; /* bytes in flight */
    double rate;   /* messages per second (FLOW_RATE, paced FLOW_PING); 0: unpaced */
    uint64_t t_start_ns;
    bool running, blocked, ping_out;
    /* FLOW_PING at `rate`: a probe every 1/rate s whatever is in flight, so that a stall
     * delays every probe sent meanwhile (no coordinated omission) */
    bool open_loop;
    uint64_t sent, recv, recv_bytes, inflight, send_errors, disorder;
    uint32_t next_seq, expect_seq;
    struct lat lat;
};

/* Message kinds on the wire (byte 14 of the header). */
enum msg_kind { MSG_DATA = 1, MSG_PING = 2, MSG_PONG = 3, MSG_HELLO = 4 };

struct flow *flow_new(struct bench *b, struct pair *p, unsigned chi, enum flow_kind k, size_t size);
void flow_free(struct flow *f);
void flow_start(struct flow *f);
void flow_stop(struct flow *f);
/* Client callbacks route here (pair.c forwards them). */
void traffic_on_message(struct bench *b, struct pair *p, struct dcgw_client *c,
                        struct dcgw_dc_channel *ch, const uint8_t *m, size_t n);
/* Sends what paced flows owe now. */
void traffic_pace(struct bench *b);
/* Deliveries counted by the far end. */
void traffic_on_credit(struct bench *b, uint16_t flow, uint32_t msgs, uint64_t bytes,
                       uint32_t disorder);
void traffic_on_writable(struct bench *b, struct pair *p, struct dcgw_client *c);
/* Sends a header-only message of kind k on channel chi of client c. */
int traffic_send_small(struct pair *p, unsigned chi, enum msg_kind k);
/* Sorted-percentile helper: q in [0,1]; returns microseconds. */
double lat_percentile(struct lat *l, double q);
void lat_sort(struct lat *l);

/* ---- scen_tput.c: throughput measurement shared by scenarios */
struct tput {
    double secs;
    uint64_t msgs, bytes, lost, send_errors, disorder;
    uint64_t cpu_meas, cpu_ends; /* ns: the path's measured process, the endpoints (bench+far) */
    uint64_t msgs_all;           /* delivered from the start of the warm-up to the drain */
    uint64_t cpu_master;         /* gateway and relay: of cpu_meas, dcgwd's master's */
    bool drained;                /* nothing was in flight at the end */
    unsigned flows;
    /* gateway and base: UDP datagrams dcgwd's workers received and sent over msgs_all
     * messages (both legs: data, SACKs); 0 when not read */
    uint64_t dg_in, dg_out;
    uint64_t reads; /* ... and the recvmmsg calls that returned datagrams */
};
/* Runs one window flow per channel of every ready pair of s with messages of `size`
 * bytes: warm-up, then o.duration_s measured, then a drain. */
int tput_measure(struct bench *b, struct pairset *s, size_t size, double seconds, struct tput *t);
/* The same, calling at_snap(b, arg, 0) before the flows start and at_snap(b, arg, 1) once
 * they drained (or the drain timed out: t->drained false), when the path is quiet: what
 * at_snap counts there covers exactly t->msgs_all messages. NULL: none. */
int tput_measure_hook(struct bench *b, struct pairset *s, size_t size, double seconds,
                      struct tput *t, void (*at_snap)(struct bench *, void *, int), void *arg);
/* The JSON point of a measurement. */
json_t *tput_point(enum bench_path p, size_t size, const struct tput *t);

/* ---- scenarios (list.h) */
int scen_tput_size(struct bench *b, json_t *res);
int scen_tput_scale(struct bench *b, json_t *res);
int scen_latency(struct bench *b, json_t *res);
int scen_setup(struct bench *b, json_t *res);
int scen_idle(struct bench *b, json_t *res);
int scen_peak(struct bench *b, json_t *res);
int scen_soak(struct bench *b, json_t *res);
int scen_relay(struct bench *b, json_t *res);
int scen_avatar(struct bench *b, json_t *res);
int scen_bootstrap(struct bench *b, json_t *res);
int scen_metrics(struct bench *b, json_t *res);
int scen_flood(struct bench *b, json_t *res);

/* ---- hs_limit.c: the crypto-only handshake limit */
struct hs_limit {
    double server_ns, client_ns; /* CPU per handshake of each role (median batch) */
    unsigned n;                  /* handshakes measured */
};
/* About n DTLS 1.2 handshakes in memory between two dcgw_dtls stages with dcgw's context
 * settings (nothing else: no socket, ICE, SCTP or SDP), each role's calls timed on the
 * thread's CPU clock. Returns 0 or a negative error. */
int hs_limit_measure(unsigned n, struct hs_limit *out);

/* ---- report.c: output */
/* A CPU/time snapshot of every measured process. */
struct snap {
    uint64_t t_ns;
    uint64_t cpu_self, cpu_far, cpu_gw, cpu_janus;
    uint64_t cpu_gw_master; /* of cpu_gw: the master's */
    uint64_t cpu_base;      /* PATH_BASE's dcgwd */
};
void snap_take(struct bench *b, struct snap *s);
/* The measured process's CPU between two snapshots for a path. */
uint64_t snap_cpu(const struct snap *s0, const struct snap *s1, enum bench_path p);
/* A JSON number, or null for NaN and infinities (JSON has neither). */
json_t *jnum(double x);
void report_table_header(struct bench *b, const char *title, const char *cols);
void report_row(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int report_write_json(struct bench *b, const char *path);
int report_plot(struct bench *b);
void report_targets(struct bench *b);

#endif
