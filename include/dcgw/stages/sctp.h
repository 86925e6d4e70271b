/* SCTP associations over usrsctp in AF_CONN mode: SCTP packets in and out as bytes, carried
 * by the DTLS stage (RFC 8261). See docs/sctp.md.
 *
 * The stack. usrsctp is one stack per process: each worker process initialises its own with
 * usrsctp_init_nothreads() (no timer thread, no receive thread) on the first dcgw_sctp_new()
 * or explicitly with dcgw_sctp_stack_init(), and drives its timers by calling
 * dcgw_sctp_handle_timers() every DCGW_SCTP_TIMER_TICK_MS or so from its loop. Single
 * threaded: every function here must be called from the thread that owns the stack.
 *
 * CRC32c offload: usrsctp neither computes nor checks the SCTP checksum; this module writes
 * it on every outgoing packet and checks it on every incoming one (crc32c.h, SSE4.2).
 *
 * Callbacks and re-entrancy.
 *  - send_packet is called synchronously from inside usrsctp, by any function below that
 *    enters the stack (connect, input, send, reset_streams, close, free, handle_timers).
 *    Inside it the owner must not call any dcgw_sctp_* function (they return DCGW_ESTATE):
 *    hand the packet to DTLS, or queue it.
 *  - Every other callback is called only from dcgw_sctp_input() and dcgw_sctp_handle_timers(),
 *    after usrsctp has returned, for whichever associations have events (not only the one
 *    given to dcgw_sctp_input). Inside them the owner may send, reset, close, feed input to
 *    and free any association, including this one (a free of the association whose callback
 *    is running takes effect when the callback returns; no further callbacks follow).
 *    dcgw_sctp_send() and friends never call these callbacks themselves. */
#ifndef DCGW_SCTP_H
#define DCGW_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"

enum dcgw_sctp_limits {
    DCGW_SCTP_TIMER_TICK_MS = 50,   /* call dcgw_sctp_handle_timers this often */
    DCGW_SCTP_IDLE_AFTER_MS = 2000, /* active_packets still this long: the stack is idle */
    DCGW_SCTP_PORT_DEFAULT = 5000,  /* RFC 8841 a=sctp-port default */
    DCGW_SCTP_MTU_DEFAULT = 1200,   /* SCTP packet size, fits DTLS in 1280 */
    DCGW_SCTP_MTU_MIN = 576,
    DCGW_SCTP_MTU_MAX = 8192,
    DCGW_SCTP_SNDBUF_DEFAULT = 1024 * 1024, /* queued outgoing bytes per association */
    DCGW_SCTP_SNDBUF_MARGIN = 4096,         /* sndbuf >= max_message_size + this */
    DCGW_SCTP_RCVBUF_DEFAULT = 1024 * 1024, /* receive window per association */
    DCGW_SCTP_RCVBUF_MIN = 64 * 1024,
    DCGW_SCTP_RX_CHUNK = 64 * 1024,     /* read size; larger messages reassemble */
    DCGW_SCTP_PACKET_MAX = 65535,       /* input packets larger than this are dropped */
    DCGW_SCTP_RESET_MAX = 128,          /* streams per dcgw_sctp_reset_streams call */
    DCGW_SCTP_MAX_ASSOCS = 1 << 22,     /* associations alive in one process */
    DCGW_SCTP_SOCKET_ASSOC_BUCKETS = 1, /* usrsctp's per-socket association table */
};

/* Per-association settings. Zero fields take the defaults of dcgw_sctp_settings_default(). */
struct dcgw_sctp_settings {
    uint16_t local_port;       /* our a=sctp-port; give each association its own (DESIGN §10) */
    uint16_t remote_port;      /* the peer's a=sctp-port */
    uint16_t streams;          /* outgoing and max incoming streams (default 256) */
    uint32_t max_message_size; /* largest message we take: our a=max-message-size */
    uint32_t max_send_size;    /* largest we send: the peer's (0: max_message_size) */
    bool nodelay;              /* SCTP_NODELAY; off batches small messages (DESIGN §10) */
    bool no_heartbeat;         /* send no HEARTBEAT: ICE consent (RFC 7675) watches the path */
    uint32_t sndbuf;           /* send buffer cap in bytes; raised to max_message_size+margin */
    uint32_t writable_lowat;   /* on_writable when buffered falls to this (default sndbuf/4) */
    uint32_t rcvbuf;           /* receive window in bytes; raised to 2 x max_message_size+4K */
    uint16_t mtu;              /* SCTP packet size (default 1200, no PMTU discovery) */
};

/* Process-wide stack settings (usrsctp sysctls), applied once by dcgw_sctp_stack_init. */
struct dcgw_sctp_stack_settings {
    uint32_t rto_initial_ms, rto_min_ms, rto_max_ms;
    uint32_t init_rto_max_ms;
    /* A SACK is due after sack_freq packets with DATA, or delayed_sack_ms after the first
     * one not acknowledged yet (RFC 9260 §6.2: every second packet, within 200 ms). An
     * owner that reads in bursts may shorten the delay and run the timers at the end of
     * each burst (dcgw_sctp_handle_timers), then raise sack_freq a little: above 3, usrsctp
     * senders (4 packets per SACK at most) starve (docs/sctp.md "SACKs per burst"). */
    uint32_t delayed_sack_ms;
    uint32_t sack_freq;
    uint32_t heartbeat_interval_ms; /* of associations that send HEARTBEATs */
    uint32_t assoc_rtx_max, path_rtx_max, init_rtx_max;
    uint32_t max_chunks_on_queue;
};

enum dcgw_sctp_state {
    DCGW_SCTP_NEW,        /* created and bound, not connecting */
    DCGW_SCTP_CONNECTING, /* INIT sent */
    DCGW_SCTP_CONNECTED,  /* on_connected delivered */
    DCGW_SCTP_CLOSING,    /* shutdown requested or received */
    DCGW_SCTP_CLOSED,     /* on_closed delivered (or failed); only free remains */
};

/* PR-SCTP policy of a message (RFC 3758). */
enum dcgw_sctp_pr {
    DCGW_SCTP_PR_NONE, /* reliable */
    DCGW_SCTP_PR_RTX,  /* at most pr_value retransmissions */
    DCGW_SCTP_PR_TTL,  /* abandoned pr_value ms after it was queued */
};

struct dcgw_sctp_sendopts {
    bool unordered;
    enum dcgw_sctp_pr pr;
    uint32_t pr_value;
};

/* on_message flags */
#define DCGW_SCTP_MSG_UNORDERED 0x1u

/* on_stream_reset directions */
enum dcgw_sctp_reset {
    DCGW_SCTP_RESET_INCOMING, /* the peer reset its outgoing stream: no more data on it */
    DCGW_SCTP_RESET_OUTGOING, /* our reset request of the stream completed */
    DCGW_SCTP_RESET_FAILED,   /* our reset request was denied or failed */
};

/* Callbacks; see the re-entrancy rules at the top. Only send_packet is mandatory. */
struct dcgw_sctp_callbacks {
    void *ud;
    /* One SCTP packet (CRC filled in) to carry over DTLS. p is valid during the call. */
    void (*send_packet)(void *ud, const uint8_t *p, size_t n);
    void (*on_connected)(void *ud);
    /* A complete message (n >= 1) of at most max_message_size bytes; p valid during the call. */
    void (*on_message)(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags);
    void (*on_stream_reset)(void *ud, uint16_t stream, enum dcgw_sctp_reset what);
    /* A message over max_message_size arrived on `stream` and was dropped. Optional. */
    void (*on_too_big)(void *ud, uint16_t stream);
    /* The association ended (shutdown complete, aborted, lost, or never came up). Once. */
    void (*on_closed)(void *ud);
    /* A send returned DCGW_EAGAIN earlier and the buffered amount is now <= writable_lowat. */
    void (*on_writable)(void *ud);
};

/* Counters of one association. */
struct dcgw_sctp_stats {
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    uint64_t bad_crc;     /* input dropped: checksum mismatch */
    uint64_t wrong_ports; /* input dropped: not this association's port pair */
    uint64_t bad_size;    /* input dropped: shorter than the common header, or huge */
    uint64_t msgs_in, msg_bytes_in, msgs_out, msg_bytes_out;
    uint64_t too_big_in;  /* incoming messages over max_message_size, dropped */
    uint64_t too_big_out; /* sends refused with DCGW_ETOOBIG */
    uint64_t send_eagain; /* sends refused with DCGW_EAGAIN */
    uint64_t send_failed; /* SEND_FAILED events: one per abandoned DATA chunk (PR-SCTP) */
    uint64_t pd_aborted;  /* partially received messages abandoned by the peer */
    uint64_t resets_in, resets_out, reset_failed;
    uint64_t notifications;
    uint64_t read_pauses; /* times dcgw_sctp_pause_reading stopped the reading */
};

/* Process-wide counters. */
struct dcgw_sctp_stack_stats {
    uint64_t orphan_packets; /* usrsctp output for an association already freed: dropped */
    uint64_t associations;   /* alive now */
    /* Packets in or out that carry more than HEARTBEAT / HEARTBEAT-ACK chunks: while it
     * does not move, no association has anything for its retransmission, SACK or
     * shutdown timers to do (the owner may then tick less often). */
    uint64_t active_packets;
    uint64_t read_pauses;     /* dcgw_sctp_pause_reading stopped an association (all of them) */
    uint64_t data_packets_in; /* packets in carrying DATA or I-DATA: a SACK may be owed */
};

struct dcgw_sctp;

void dcgw_sctp_settings_default(struct dcgw_sctp_settings *s);
void dcgw_sctp_stack_settings_default(struct dcgw_sctp_stack_settings *s);

/* Initialises this process's usrsctp stack (NULL: defaults). Idempotent: later calls
 * return 0 and change nothing. Must not be called before fork() by a parent whose children
 * use SCTP: each worker initialises its own stack. */
int dcgw_sctp_stack_init(const struct dcgw_sctp_stack_settings *s);
/* Tears the stack down when no association is alive (DCGW_ESTATE otherwise, DCGW_EAGAIN
 * if usrsctp still holds closed sockets); dcgw_sctp_stack_init may be called again. */
int dcgw_sctp_stack_finish(void);
const struct dcgw_sctp_stack_stats *dcgw_sctp_stack_stats(void);
/* Whether an association of this process holds local SCTP port `port` on the shared
 * AF_CONN address. Associations on distinct ports share one address and cost O(1) per
 * bind and packet (DESIGN §10); one created on a port in use gets an address of its own,
 * which usrsctp looks up in 16 hash buckets: keep those few. */
bool dcgw_sctp_port_in_use(uint16_t port);

/* Advances usrsctp's timers by elapsed_ms (the time since the previous call, measured by the
 * owner's monotonic clock), then delivers pending callbacks. Call every 50-100 ms. */
void dcgw_sctp_handle_timers(uint32_t elapsed_ms);

/* Creates an association object: an AF_CONN socket bound to local_port, not yet
 * connecting. cbs is copied. Returns 0, DCGW_ECONFIG (bad settings), DCGW_EEXIST (bind
 * refused the port), DCGW_ENOMEM, DCGW_ELIMIT, DCGW_EINTERNAL (usrsctp refused). Never calls
 * a callback. */
int dcgw_sctp_new(const struct dcgw_sctp_settings *set, const struct dcgw_sctp_callbacks *cbs,
                  struct dcgw_sctp **out);

/* Starts the association (both sides call it: simultaneous open, RFC 8841 §10.2 / RFC 8831
 * §6.2). Call once DTLS is up. May call send_packet (INIT). DCGW_ESTATE when not NEW. */
int dcgw_sctp_connect(struct dcgw_sctp *s);

/* Feeds one SCTP packet received over DTLS. The CRC32c is checked here: a bad one (or a
 * packet shorter than 12 bytes) is dropped and counted and DCGW_EMALFORMED / DCGW_ETRUNC is
 * returned for information only. Then delivers pending callbacks. p is not kept. */
int dcgw_sctp_input(struct dcgw_sctp *s, const uint8_t *p, size_t n);

/* Queues one message. n >= 1 (empty messages are a data-channel matter, RFC 8831 §6.6).
 * 0, DCGW_EAGAIN (send buffer full: wait for on_writable), DCGW_ETOOBIG (n >
 * max_message_size), DCGW_ESTATE (not connected), DCGW_ERANGE (stream >= negotiated
 * outgoing streams), DCGW_ECLOSED (association going away), DCGW_EINVAL. Never calls a
 * callback other than send_packet. o may be NULL (ordered, reliable). */
int dcgw_sctp_send(struct dcgw_sctp *s, uint16_t stream, uint32_t ppid,
                   const struct dcgw_sctp_sendopts *o, const uint8_t *p, size_t n);

/* Resets our outgoing streams (RFC 6525; closing a data channel, RFC 8831 §6.7). usrsctp
 * sends the request once queued data of the stream is out and earlier requests completed;
 * completion comes as on_stream_reset(DCGW_SCTP_RESET_OUTGOING). Sends on a stream being
 * reset return DCGW_EAGAIN. 0, DCGW_ESTATE, DCGW_ERANGE, DCGW_EINVAL (n == 0 or n >
 * DCGW_SCTP_RESET_MAX), DCGW_EUNSUPPORTED (peer lacks RE-CONFIG). */
int dcgw_sctp_reset_streams(struct dcgw_sctp *s, const uint16_t *streams, size_t n);

/* Back-pressure (DESIGN §2). Paused, the association reads nothing more from usrsctp:
 * received messages (and notifications, which share the queue) stay in usrsctp's receive
 * buffer, whose free space is the window advertised to the peer (RFC 9260 §6.2), so the
 * peer stops sending once about rcvbuf bytes wait; usrsctp drops DATA beyond the window
 * and the peer retransmits it later. Memory held: at most rcvbuf (plus usrsctp's
 * per-chunk overhead). Takes effect before the next message is read (inside on_message,
 * the message being delivered is the last one). Resumed, what waits is delivered from the
 * running drain loop when called inside a callback, else from the next dcgw_sctp_input()
 * or dcgw_sctp_handle_timers(). Never calls a callback. */
void dcgw_sctp_pause_reading(struct dcgw_sctp *s, bool paused);
bool dcgw_sctp_reading_paused(const struct dcgw_sctp *s);

/* Asks for on_writable once the buffered amount is <= lowat (0, or more than
 * writable_lowat: writable_lowat), as after a send that returned DCGW_EAGAIN; an owner
 * that stops sending at a limit of its own gives a mark below that limit. The check runs
 * when the association has events (SACKs), and from the next drain when called outside
 * this association's callbacks. */
void dcgw_sctp_want_writable(struct dcgw_sctp *s, size_t lowat);

/* Bytes queued in usrsctp and not yet acknowledged (includes usrsctp's per-chunk
 * overhead, so slightly above the payload). */
size_t dcgw_sctp_buffered_amount(struct dcgw_sctp *s);
/* dcgw_sctp_buffered_amount(s) > limit, asking usrsctp only when the count at the last ask
 * plus what the messages sent since add at most (an upper bound: only SACKs lower it)
 * exceeds limit: a sender that checks before each message (the bridge) asks seldom. */
bool dcgw_sctp_buffered_above(struct dcgw_sctp *s, size_t limit);

/* Graceful shutdown (SHUTDOWN once queued data is acknowledged); on_closed follows. While
 * still connecting it gives the handshake up instead; before connect it only marks the
 * object closed (on_closed still follows, once). A no-op when closing or closed. */
int dcgw_sctp_close(struct dcgw_sctp *s);

/* Frees the association. If it is still up, it is aborted (an ABORT goes out through
 * send_packet before this returns, so free the SCTP association before its DTLS stage).
 * No callbacks after this (except that ABORT). Safe inside callbacks, see the top. NULL ok. */
void dcgw_sctp_free(struct dcgw_sctp *s);

enum dcgw_sctp_state dcgw_sctp_state(const struct dcgw_sctp *s);
/* Negotiated stream counts (0 before connected). */
uint16_t dcgw_sctp_streams_out(const struct dcgw_sctp *s);
uint16_t dcgw_sctp_streams_in(const struct dcgw_sctp *s);
uint32_t dcgw_sctp_max_message_size(const struct dcgw_sctp *s);
const struct dcgw_sctp_stats *dcgw_sctp_stats(const struct dcgw_sctp *s);

#endif
