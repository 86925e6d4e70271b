/* Two peers through a dcgwd relay session, for the relay bench (relay_bench.c) and the
 * fast path's integration check (relay_check.c): dcgw's own client legs (ICE controlling
 * + DTLS 1.2, each bound to the other's certificate, include/dcgw/stages/leg.h) on two UDP
 * sockets, the session set up through the control socket as a controller would
 * (docs/relay.md: A's offer on leg "ue", leg "as" offered, B's answer by update). */
#ifndef DCGW_BENCH_RELAY_PEERS_H
#define DCGW_BENCH_RELAY_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/ctl/ctlclient.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/stages/leg.h"

enum { PEER_SLOT = 2048 };

struct peer {
    const char *name;
    int fd;
    struct sockaddr_storage addr;
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_leg *leg;
    char ufrag[DCGW_SDP_UFRAG_SIZE], pwd[DCGW_SDP_PWD_SIZE];
    bool connected, failed, capture, quiet; /* quiet: its leg sends nothing any more */
    uint8_t record[PEER_SLOT];              /* one application_data record it sent */
    size_t record_n;
    /* datagrams its leg sent, by kind (RFC 7983 first byte), and their bytes */
    uint64_t sent_stun, sent_app, sent_app_bytes, sent_other;
    /* application data its leg decrypted (on_data): count, bytes, a check of the bytes */
    uint64_t got, got_bytes, got_bad;
    uint64_t expect_seq; /* next message index expected (relay_check's messages) */
};

struct relay_counts {
    uint64_t rx[2], fast[2], fast_bytes[2], fast_rate[2], forwarded[2], stun[2];
    uint64_t dropped_blocked[2];
    bool fast_on;
};

uint64_t now_us(void);
void die(const char *what, int err) __attribute__((noreturn));

void peer_init(struct peer *pe, const char *name, const char *host);
void peer_free(struct peer *pe);
/* Creates session id (A on leg "ue", B on "as") and starts both legs. forge: dcgw gets
 * B's answer with another certificate's fingerprint (a man in the middle). */
void setup_relay(struct dcgw_ctlclient *c, const char *id, struct peer *a, struct peer *b,
                 bool forge);
/* Runs both legs until done() (or one failed) or ms pass. */
void pump(struct peer *p[2], unsigned ms, bool (*done)(struct peer *p[2]));
bool handshaken(struct peer *p[2]);
/* One application_data record of about size bytes from each peer, kept for replay. */
void capture_records(struct peer *p[2], size_t size);

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
