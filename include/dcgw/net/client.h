/* A simulated WebRTC data-channel endpoint (a UE or a DC application server) for the
 * bench and for tests against a running dcgwd: one terminated leg (leg.h: ICE, DTLS,
 * SCTP data channels) on its own loopback UDP socket (io.h, libuv), or on a socket it
 * shares with other clients of the process (dcgw_client_net) under an address of its own.
 *
 * It writes its offer (dcgw_client_offer) and takes the answer (dcgw_client_start), or
 * answers somebody else's offer itself (dcgw_client_answer). The offerer is the ICE
 * controlling side and checks the first usable candidate of the answer; the answerer is
 * ICE-lite, like dcgw. The DTLS role follows a=setup (RFC 5763 §5). Channels listed as
 * a=dcmap in the offer are added on both sides (RFC 8864) and open once SCTP is up;
 * dcgw_dc_open() on dcgw_client_dc() opens more in band (DCEP).
 *
 * usrsctp is one stack per process: the owner calls dcgw_sctp_handle_timers() every
 * DCGW_SCTP_TIMER_TICK_MS from its loop (dcgw_client_tick_start does that).
 *
 * Callbacks run from the loop (inside the io's receive or the client's timer). They may
 * send on the client's channels and open or close channels, but must not free the client:
 * the owner frees it later from outside any client callback. */
#ifndef DCGW_CLIENT_H
#define DCGW_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dcgw/stages/datachannel.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/stages/leg.h"
#include "dcgw/net/io.h"
#include "dcgw/sdp/sdp.h"

enum dcgw_client_limits {
    DCGW_CLIENT_DCMAP_MAX = 16,        /* negotiated channels a client offers */
    DCGW_CLIENT_STREAMS_DEFAULT = 256, /* as dcgw; raised to cover negotiated ids */
};

struct dcgw_client_settings {
    const struct sockaddr *bind; /* local UDP address; port 0 for an ephemeral one */
    uint16_t sctp_port;          /* our a=sctp-port; 0: 5000. Give each client its own. */
    uint16_t streams;            /* SCTP streams; 0: DCGW_CLIENT_STREAMS_DEFAULT */
    uint32_t max_message_size;   /* our a=max-message-size; 0: DCGW_MAX_MESSAGE_SIZE_DEFAULT */
    const struct dcgw_sdp_dcmap *dcmap; /* channels to offer (copied); NULL/0: none */
    size_t n_dcmap;
    bool allow_dcep;                  /* accept in-band opens from the peer */
    uint32_t io_batch;                /* recvmmsg/sendmmsg batch; 0: io default */
    uint32_t socket_buffer;           /* SO_RCVBUF/SO_SNDBUF; 0: system default */
    uint32_t dtls_initial_timeout_ms; /* 0: the DTLS default */
    bool nodelay;                     /* SCTP_NODELAY, as browsers set it (request/response) */
    /* Non-NULL: no socket of its own; the client takes bind's address on net's socket (its
     * port is net's; io_batch and socket_buffer are net's too). */
    struct dcgw_client_net *net;
};

struct dcgw_client;

struct dcgw_client_cbs {
    void *ud;
    /* The SCTP association is up (negotiated channels open right after). Optional. */
    void (*on_up)(void *ud, struct dcgw_client *c);
    void (*on_channel_open)(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch);
    /* One message; p is valid during the call. */
    void (*on_message)(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *p, size_t n);
    void (*on_channel_closed)(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch);
    /* The SCTP send buffer drained after a send returned DCGW_EAGAIN. */
    void (*on_writable)(void *ud, struct dcgw_client *c);
    /* The leg or its association died (err as leg.h's on_failed, or DCGW_ECLOSED when
     * the association ended). Raised once. */
    void (*on_failed)(void *ud, struct dcgw_client *c, int err, const char *reason);
};

/* Sockets shared by many clients: a load generator with more simulated endpoints than it
 * may hold descriptors. One UDP socket bound to the wildcard address of `family` on an
 * ephemeral port; each client on it keeps its own local address (a UE's, which dcgwd's
 * per-address limits rely on): datagrams reach the client by their destination address,
 * and its own leave from it (IP_PKTINFO, io.h). Addresses must be local to the host
 * (loopback 127/8 or configured ones). st as for dcgw_io_new (its pktinfo is set here). */
struct dcgw_client_net;
int dcgw_client_net_new(uv_loop_t *loop, int family, const struct dcgw_io_settings *st,
                        struct dcgw_client_net **out);
/* dcgw_io_set_poll_interval on the shared socket: read every ms (0: on each datagram). */
void dcgw_client_net_set_poll_interval(struct dcgw_client_net *n, uint32_t ms);
/* Datagrams that arrived for an address no client holds (e.g. one just freed). */
uint64_t dcgw_client_net_unclaimed(const struct dcgw_client_net *n);
/* After every client on it was freed; the memory goes once the loop closed the socket. */
void dcgw_client_net_free(struct dcgw_client_net *n);

/* Binds the socket (or takes the address on settings.net: DCGW_EEXIST when a client of it
 * holds that address already) and prepares credentials. ctx (its certificate is our a=fingerprint)
 * must outlive the client. Returns 0, DCGW_EINVAL, DCGW_ENOMEM, DCGW_EIO (bind failed). */
int dcgw_client_new(uv_loop_t *loop, struct dcgw_dtls_ctx *ctx,
                    const struct dcgw_client_settings *s, const struct dcgw_client_cbs *cbs,
                    struct dcgw_client **out);
/* Writes our offer (a=setup:actpass, one host candidate: the socket's address) into buf,
 * NUL-terminated. Returns its length, DCGW_ETOOBIG, or DCGW_ESTATE after start/answer. */
int dcgw_client_offer(struct dcgw_client *c, char *buf, size_t cap);
/* Takes the answer to our offer and starts ICE (controlling) toward its first candidate
 * of our address family (or its c= address). Returns 0, DCGW_ESDP / DCGW_EMALFORMED (the
 * answer), DCGW_ESTATE (no offer made, or already started), or a leg_new error. */
int dcgw_client_start(struct dcgw_client *c, const char *answer, size_t len);
/* Answers a remote offer: writes the answer into buf (a=setup:active unless the offer said
 * active). Toward a full offerer (the direct path's far end) as ICE-lite, waiting for
 * checks; toward an ICE-lite offerer (a dcgw relay hop) as the full, controlling agent
 * that sends them (RFC 8445 §6.1.1). Returns the answer's length or an error as
 * dcgw_client_start / dcgw_client_offer. */
int dcgw_client_answer(struct dcgw_client *c, const char *offer, size_t len, char *buf, size_t cap);

/* The data-channel endpoint (NULL before start/answer). */
struct dcgw_dc *dcgw_client_dc(const struct dcgw_client *c);
/* The leg (NULL before start/answer). */
struct dcgw_leg *dcgw_client_leg(const struct dcgw_client *c);
/* The bound UDP address. */
const struct sockaddr *dcgw_client_local(const struct dcgw_client *c);
/* True once the association is up and not failed. */
bool dcgw_client_up(const struct dcgw_client *c);
/* Owner's pointer, untouched by the client. */
void dcgw_client_set_user(struct dcgw_client *c, void *user);
void *dcgw_client_user(const struct dcgw_client *c);

/* Closes the leg (SCTP ABORT, DTLS close_notify), the socket and the timer; the memory
 * goes when libuv has closed the handles (run the loop once more). Never from inside the
 * client's callbacks. NULL is a no-op. */
void dcgw_client_free(struct dcgw_client *c);

/* Starts (once per loop) the timer that drives this process's usrsctp stack, and
 * stops it. */
int dcgw_client_tick_start(uv_loop_t *loop, uv_timer_t *t);
void dcgw_client_tick_stop(uv_timer_t *t);

#endif
