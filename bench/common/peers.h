/* Two peers through a dcgwd session, for the relay bench (relay/relay_bench.c), the fast
 * path's integration check (relay/relay_check.c) and the media bench (media/media_bench.c):
 * dcgw's own client legs (ICE controlling + DTLS 1.2, include/dcgw/stages/leg.h) on UDP
 * sockets of this process, the session set up through the control socket as a controller
 * would. A relay session (docs/relay.md): A's offer on leg "ue", leg "as" offered, B's
 * answer by update; each peer bound to the other's certificate. Errors end the process
 * (die), the tools have nothing to clean up. */
#ifndef DCGW_BENCH_PEERS_H
#define DCGW_BENCH_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/ctl/ctlclient.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/srtp.h"

enum { PEER_SLOT = 2048 };

struct peer {
    const char *name;
    int fd;
    struct sockaddr_storage addr;
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_leg *leg;
    char ufrag[DCGW_SDP_UFRAG_SIZE], pwd[DCGW_SDP_PWD_SIZE];
    const char *srtp_profiles; /* offered on its leg (use_srtp, RFC 5764); NULL: none */
    bool connected, failed, capture, quiet; /* quiet: its leg sends nothing any more */
    uint8_t record[PEER_SLOT];              /* one application_data record it sent */
    size_t record_n;
    /* datagrams its leg sent, by kind (RFC 7983 first byte), and their bytes */
    uint64_t sent_stun, sent_app, sent_app_bytes, sent_other;
    /* application data its leg decrypted (on_data): count, bytes, a check of the bytes */
    uint64_t got, got_bytes, got_bad;
    uint64_t expect_seq; /* next message index expected (relay_check's messages) */
    /* the media bench's: SRTP sessions keyed from its leg (or at random), next RTP
     * sequence number, SSRC */
    struct dcgw_srtp *tx, *rx;
    uint16_t seq;
    uint32_t ssrc;
};

struct relay_counts {
    uint64_t rx[2], fast[2], fast_bytes[2], fast_rate[2], forwarded[2], stun[2];
    uint64_t dropped_blocked[2];
    bool fast_on;
};

uint64_t now_us(void);
/* Says what failed (a dcgw error code, or errno when err is 0) and exits 1. */
void die(const char *what, int err) __attribute__((noreturn));

void peer_init(struct peer *pe, const char *name, const char *host);
void peer_free(struct peer *pe);
/* Starts the peer's leg toward what an SDP of dcgw's (toward it) says: its ICE, its first
 * candidate, the DTLS role its a=setup leaves. expect: the certificate the peer accepts
 * (NULL: the SDP's fingerprints). */
void peer_start(struct peer *pe, const struct dcgw_sdp *dcgw_sdp,
                const struct dcgw_fingerprint *expect);
/* Creates session id (A on leg "ue", B on "as") and starts both legs. forge: dcgw gets
 * B's answer with another certificate's fingerprint (a man in the middle). */
void setup_relay(struct dcgw_ctlclient *c, const char *id, struct peer *a, struct peer *b,
                 bool forge);
/* Runs both legs (RTP and RTCP that arrive are skipped) until done() (or one failed) or
 * ms pass. */
void pump(struct peer *p[2], unsigned ms, bool (*done)(struct peer *p[2]));
bool handshaken(struct peer *p[2]);
/* pump until both legs are connected; dies when they are not after ms. */
void handshake(struct peer *p[2], unsigned ms);
/* One application_data record of about size bytes from each peer, kept for replay. */
void capture_records(struct peer *p[2], size_t size);

/* ---- control: each call dies on an error */

struct dcgw_ctlclient *ctl_connect(const char *socket);
/* One request; the response (free with dcgw__response__free_unpacked). */
Dcgw__Response *ctl_call(struct dcgw_ctlclient *c, Dcgw__Request *req);
/* CreateSession id: leg "ue" answers sdp_ue; leg "as" answers sdp_as, or offers when it
 * is NULL; both legs relay or terminate; policy may be NULL. The response. */
Dcgw__Response *ctl_create(struct dcgw_ctlclient *c, const char *id, bool relay, char *sdp_ue,
                           char *sdp_as, Dcgw__Policy *policy);
/* UpdateSession id: the remote SDP of leg (an answer to dcgw's offer). The response. */
Dcgw__Response *ctl_answer(struct dcgw_ctlclient *c, const char *id, const char *leg, char *sdp);
/* dcgw's SDP on leg, from a response holding the session, parsed into out. */
void ctl_local_sdp(const Dcgw__Response *resp, const char *leg, struct dcgw_sdp *out);
/* The session's relay counters per leg (0: ue, 1: as); 0 or a negative code. */
int relay_counts(struct dcgw_ctlclient *c, const char *id, struct relay_counts *out);
/* A worker counter summed over the workers (get_stats). */
uint64_t stat_counter(struct dcgw_ctlclient *c, const char *name);
/* CPU microseconds of all workers. */
uint64_t daemon_cpu(struct dcgw_ctlclient *c);
/* UpdateSession.relay: the session's limits. */
void update_relay(struct dcgw_ctlclient *c, const char *id, uint32_t pps, uint32_t bps,
                  uint32_t burst_ms);
void close_session(struct dcgw_ctlclient *c, const char *id);
/* UpdateSession.policy: the session's policy replaced by an empty one (deny by default). */
void update_policy(struct dcgw_ctlclient *c, const char *id);

#endif
