/* Shared fixtures of the relay flow tests (test_relay*.c): a dcgw_relay between two peers in
 * memory, no sockets. Each peer is either a dcgw_leg (ICE controlling + a real DTLS 1.2
 * handshake, real clock) or a bare ICE client (injected clock, crafted DTLS), joined to the
 * relay by lossy links (helper_lossy.h). Everything fails the running test (ck_assert) on a
 * broken fixture. */
#ifndef DCGW_TEST_HELPER_RELAY_H
#define DCGW_TEST_HELPER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/stages/ice.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/relay.h"
#include "helper_lossy.h"

static const char *const PEER_UFRAG[2] = {"ueufrag1", "asufrag1"};
static const char *const PEER_PWD[2] = {"uepassword0123456789abcd", "aspassword0123456789abcd"};
static const char *const GW_UFRAG[2] = {"gwside0a", "gwside1b"};
static const char *const GW_PWD[2] = {"gwpassword0side0abcdefgh", "gwpassword1side1abcdefgh"};

struct peer {
    struct world *w;
    int idx;
    struct dcgw_leg *leg;        /* real DTLS peers */
    struct dcgw_ice_client *ice; /* or ICE only */
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    struct sockaddr_storage addr;
    struct lossy_link up, down; /* peer -> relay, relay -> peer */
    int connected, failed, fail_err;
    uint8_t got[8192];
    size_t got_n;
    unsigned got_msgs;
    unsigned stun_from_relay, stun_not_response, wrong_dest;
};

struct world {
    struct peer p[2];
    struct dcgw_relay *r;
    struct sockaddr_storage gw;
    const uint8_t *input; /* the buffer being handed to the relay */
    unsigned same_buffer, copied, sends;
    unsigned ev[4], ev_side[4];
    uint64_t now; /* injected clock (ICE-only worlds) */
    bool real_clock;
    struct dcgw_cert *third; /* a certificate nobody uses: the man in the middle's SDP */
    FILE *seed;              /* DCGW_RELAY_CORPUS: what the relay got, for fuzz_relay */
};

struct opts {
    bool legs;         /* real DTLS peers; else bare ICE clients and an injected clock */
    int wrong_fp_side; /* -1, or the side whose SDP names the third certificate */
    enum dcgw_dtls_inspect_policy policy;
    unsigned loss, dup, reorder;
    uint64_t seed;
    uint64_t pps, bps;
    uint32_t burst_ms;
    uint32_t consent_ms;   /* 0: 5 s */
    const char *seed_name; /* fuzz_relay seed file written under $DCGW_RELAY_CORPUS */
};

/* The monotonic clock in ms (the worlds with legs run on it). */
uint64_t trelay_real_ms(void);
/* The relay's send callback: counts what goes where, then onto the peer's down link. */
void trelay_relay_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n);
/* Moves what is on the links and fires due timers once; returns the datagrams moved. */
size_t trelay_pump_once(struct world *w);
/* Runs until done(w) or max_ms of the world's clock. */
void trelay_run(struct world *w, bool (*done)(struct world *), uint64_t max_ms);
/* ICE client settings of hop user_hop's peer, signing its checks with hop key_hop's
 * gateway password (key_hop == user_hop: the right one). */
void trelay_ice_settings(struct dcgw_ice_client_settings *cs, int user_hop, int key_hop);
/* The SHA-256 fingerprint of c. */
void trelay_fp_of(struct dcgw_cert *c, struct dcgw_fingerprint *fp);
/* The relay and both peers, started (the far end first); free with trelay_world_dispose(). */
void trelay_world_init(struct world *w, const struct opts *o);
void trelay_world_dispose(struct world *w);
/* A DTLS 1.2 record header + body into b; returns the length. */
size_t trelay_record(uint8_t *b, uint8_t type, uint16_t epoch, uint64_t seq, const uint8_t *body,
                     size_t n);
/* A datagram straight into the relay from side's peer address; the relay's verdict. */
int trelay_inject(struct world *w, int side, const uint8_t *p, size_t n);
/* Both ICE-only peers connected. */
bool trelay_both_ice(struct world *w);
/* ICE-only world, both hops latched; then the 1.3-only ClientHello from side 0. */
void trelay_uninspectable_world(struct world *w, enum dcgw_dtls_inspect_policy policy, uint64_t pps,
                                uint64_t bps, uint32_t burst_ms);
/* Every datagram the relay got on a side is counted exactly once. */
void trelay_assert_accounting(struct world *w);

#endif
