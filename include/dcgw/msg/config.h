/* dcgw configuration: parsed by libconfig into an immutable struct, validated, and
 * passed down. Every setting has a default, so an empty text is a valid configuration.
 * config/dcgw.conf documents each setting; the table in src/msg/config.c is the truth.
 *
 * The struct holds no pointers: it can be copied, compared and freed as a block.
 * Reload builds a new one and swaps it between loop turns. */
#ifndef DCGW_CONFIG_H
#define DCGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/fingerprint.h"
#include "dcgw/base/log.h"

enum { DCGW_CONFIG_PATH_MAX = 256, DCGW_CONFIG_ADDR_MAX = 64, DCGW_CONFIG_ERR_MAX = 512 };

struct dcgw_config {
    uint32_t workers; /* 0 in the file means one per core; resolved here */

    struct dcgw_log_settings log;

    struct {
        char socket[DCGW_CONFIG_PATH_MAX];
        uint32_t socket_mode;
        uint32_t max_connections;
        uint32_t max_frame;
        uint32_t outbuf_limit;
        uint32_t idle_timeout_ms;      /* unsubscribed, no request for this long: closed */
        uint32_t frame_timeout_ms;     /* a frame begun must end within this */
        uint32_t operator_connections; /* slots of their own for root / dcgwd's user */
        uint32_t event_replay;         /* events kept for controllers that come back */
        uint32_t event_replay_bytes;   /* ... at most this many bytes of them */
        bool tcp_enabled;
        char tcp_listen[DCGW_CONFIG_ADDR_MAX]; /* "host:port" */
        char tls_cert[DCGW_CONFIG_PATH_MAX];
        char tls_key[DCGW_CONFIG_PATH_MAX];
        char tls_ca[DCGW_CONFIG_PATH_MAX];
    } control;

    struct {
        char address[DCGW_CONFIG_ADDR_MAX];   /* bind address of the workers' UDP sockets */
        char advertise[DCGW_CONFIG_ADDR_MAX]; /* address put in SDP; empty: address */
        uint32_t port;                        /* 0: ephemeral; else port + worker index */
        uint32_t recv_batch;                  /* datagrams per recvmmsg */
        uint32_t socket_buffer;               /* SO_RCVBUF / SO_SNDBUF bytes */
        uint32_t idle_poll_ms; /* quiet worker: read the socket this often; 0: never wait */
        bool gso;              /* send runs of equal datagrams with UDP_SEGMENT */
        bool gro;              /* receive with UDP_GRO and split */
        /* STUN Binding requests from sources not validated yet, per source (IPv4 address,
         * IPv6 /64): per second (0: no limit), at once, sources tracked per worker */
        uint32_t unknown_source_rate, unknown_source_burst, unknown_source_table;
        bool kernel_filter; /* the same checks in the kernel too, when permitted (filter.h) */
    } data_plane;

    struct {                                   /* docs/fastpath.md: eBPF fast path of relay flows */
        bool enabled;                          /* off by default */
        char interfaces[DCGW_CONFIG_ADDR_MAX]; /* comma-separated; empty: data_plane.address's */
        char attach[16];                       /* "auto", "tcx" or "tc" */
        uint32_t max_flows;                    /* offloaded relay flows per worker */
    } fast_path;

    struct {
        uint32_t max_per_worker;
        uint32_t setup_timeout_ms; /* a leg not connected by then is closed */
        uint32_t down_timeout_ms;  /* a session down this long closes itself; 0: at once */
    } sessions;

    struct {
        uint32_t consent_timeout_ms;
    } ice;

    struct {
        char cert[DCGW_CONFIG_PATH_MAX]; /* PEM; empty: generate ECDSA P-256 at start */
        char key[DCGW_CONFIG_PATH_MAX];
        enum dcgw_hash min_hash;
        uint32_t mtu;
        uint32_t initial_timeout_ms;
    } dtls;

    struct {
        uint32_t streams;
        uint32_t max_message_size;
        uint32_t timer_interval_ms;
        uint32_t idle_timer_interval_ms; /* the tick while only heartbeats move */
        uint32_t heartbeat_interval_ms;  /* 0: dcgw sends no SCTP HEARTBEAT */
        uint32_t delayed_sack_ms;        /* a SACK is due this long after unacked DATA, */
        uint32_t sack_freq;              /* or after this many packets with DATA */
        uint32_t buffered_limit;         /* per association, queued toward a slow leg */
        bool allow_dcep;
        bool dcep_tolerate_parity; /* a peer's DCEP open of our parity (datachannel.h) */
    } sctp;

    struct {                   /* docs/media.md: audio and video of terminated legs */
        char answer_setup[16]; /* "passive" or "active": dcgw's a=setup toward an actpass offer */
        uint32_t max_transports_per_leg; /* ICE/DTLS transports of a leg, its own included */
    } media;

    struct {
        uint32_t drain_timeout_ms;
        uint32_t flush_timeout_ms; /* then controllers' last output, then exit regardless */
    } shutdown;

    struct {
        uint32_t hang_timeout_ms;    /* a worker silent this long is killed and restarted; 0: off */
        uint32_t stable_after_ms;    /* up this long: its next restart delay starts over */
        uint32_t max_start_failures; /* failed starts in a row before dcgwd gives up */
    } watchdog;

    struct {                                      /* docs/avatar-envelope.md */
        char trust_anchors[DCGW_CONFIG_PATH_MAX]; /* PEM CA certificates; empty: none */
        char trusted_keys[DCGW_CONFIG_PATH_MAX];  /* directory of <kid>.pem; empty: none */
        char audience[DCGW_CONFIG_ADDR_MAX];      /* expected aud; empty: not compared */
        uint32_t max_size;                        /* bytes of one avatar */
        uint32_t max_chunk_size;
        uint32_t max_chunks;
        uint32_t clock_skew_s;
        uint32_t min_rsa_bits;
        uint32_t transfer_timeout_ms; /* manifest to last chunk; 0: no limit */
    } avatar;

    struct {                                 /* docs/bootstrap.md: the HTTP proxy to MDC1 */
        char tls_ca[DCGW_CONFIG_PATH_MAX];   /* PEM CAs for https DCSFs; empty: system store */
        char tls_cert[DCGW_CONFIG_PATH_MAX]; /* client certificate (PEM); empty: none */
        char tls_key[DCGW_CONFIG_PATH_MAX];
        uint32_t connect_timeout_ms;
        uint32_t request_timeout_ms;               /* until the response head: 504 */
        uint32_t max_header_bytes;                 /* request line + headers: 431 */
        uint32_t max_body_bytes;                   /* request body: 413 */
        uint32_t max_concurrent;                   /* requests in flight per channel: 503 */
        uint32_t window_bytes;                     /* response bytes held per channel */
        uint32_t max_transfers;                    /* upstream transfers per worker: 503 */
        uint32_t max_host_connections;             /* connections per DCSF host, per worker */
        char session_header[DCGW_CONFIG_ADDR_MAX]; /* names session and leg; empty: none */
    } bootstrap;

    struct {                                 /* Nmf_MRM over HTTP/2, docs/nmf-mrm.md */
        bool enabled;                        /* off by default */
        char listen[DCGW_CONFIG_ADDR_MAX];   /* "host:port" */
        char tls_cert[DCGW_CONFIG_PATH_MAX]; /* both set: TLS with ALPN h2; empty: h2c */
        char tls_key[DCGW_CONFIG_PATH_MAX];
        char api_root[DCGW_CONFIG_PATH_MAX]; /* for Location; empty: http(s)://listen */
        uint32_t max_body;                   /* request body bytes; more: 413 */
        uint32_t max_connections;
        uint32_t max_streams;                  /* concurrent streams per connection */
        uint32_t request_timeout_ms;           /* the workers' answer; later: 504 */
        char policy[DCGW_CONFIG_PATH_MAX];     /* JSON policy given to every context; empty: none */
        uint32_t vendor_pen;                   /* vendorSpecific-NNNNNN extension (TS 29.500) */
        bool oauth2_enabled;                   /* bearer tokens (TS 33.501 §13.4.1) */
        char oauth2_key[DCGW_CONFIG_PATH_MAX]; /* the NRF's public key (PEM) */
        char oauth2_audience[DCGW_CONFIG_ADDR_MAX]; /* expected aud; empty: not compared */
        uint32_t oauth2_clock_skew_s;
    } nmf;

    struct {                               /* docs/metrics.md */
        bool enabled;                      /* serve /metrics (restart to change) */
        char listen[DCGW_CONFIG_ADDR_MAX]; /* numeric "host:port" (restart to change) */
        uint32_t push_interval_ms;         /* how often workers send their values */
    } metrics;
};

/* Fills every setting with its default (workers resolved to the core count). */
void dcgw_config_default(struct dcgw_config *cfg);

/* Parses configuration text (libconfig syntax). name is used in messages ("FILE:LINE").
 * On error returns DCGW_ECONFIG and writes "name:line: setting: reason" into err.
 * Unknown settings are errors: a typo must not silently keep a default. */
int dcgw_config_parse(const char *text, const char *name, struct dcgw_config *out, char *err,
                      size_t errcap);

/* Reads FILE and parses it; *text_out (may be NULL) gets the file's text, malloc'd, so
 * the master can hand the exact validated text to its workers. */
int dcgw_config_load(const char *path, struct dcgw_config *out, char **text_out, char *err,
                     size_t errcap);

/* The i-th known setting's dotted path ("dtls.min_hash"); NULL past the last. */
const char *dcgw_config_setting_name(size_t i);

#endif
