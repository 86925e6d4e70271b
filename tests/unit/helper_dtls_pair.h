/* Two DTLS legs of one test back to back over the in-memory lossy link (no sockets), for
 * test_dtls*.c.
 *
 * OpenSSL 3.0 runs its DTLS retransmission timer on gettimeofday() and offers no way to
 * give it another clock. So each test program defines gettimeofday() as a call of
 * dp_gettimeofday(): a virtual clock that moves with the now_ms the test hands to the
 * stage (OpenSSL resolves the symbol to the program's definition). A test that clears
 * dp_vclock_on runs on the real clock. Each call fails the running test when something
 * it needs does not work. */
#ifndef DCGW_TEST_DTLS_PAIR_H
#define DCGW_TEST_DTLS_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "helper_lossy.h"

enum { DP_RX_CAP = 256 * 1024, DP_MAX_MSGS = 512 };

struct dp_peer {
    struct dp_world *w;
    struct dcgw_dtls *d;
    struct lossy_link *out;
    int connected, failed, closed, fail_err;
    struct dcgw_fingerprint matched;
    char reason[DCGW_DTLS_REASON_MAX];
    uint8_t *rx;
    size_t rx_len;
    size_t msg_len[DP_MAX_MSGS];
    unsigned msgs;
    size_t max_dgram;
    uint8_t last[DCGW_DTLS_DATAGRAM_MAX]; /* last datagram sent */
    size_t last_len;
    bool echo;  /* send every message back from inside on_data */
    bool greet; /* send GREETING from inside on_connected */
};

#define DP_GREETING "hello from on_connected"
/* What a leg with greet set sends from inside on_connected. */
extern const uint8_t dp_greeting[sizeof(DP_GREETING)];

struct dp_world {
    uint64_t now;
    struct lossy_link ab, ba; /* a -> b, b -> a */
    struct dp_peer a, b;      /* a is the client */
    struct dcgw_cert *ca, *cb, *cother;
    struct dcgw_dtls_ctx *xa, *xb;
};

/* The virtual clock is on (world_init turns it on); false: the real clock. */
extern bool dp_vclock_on;
/* The virtual (or real) time of day for gettimeofday(). */
int dp_gettimeofday(struct timeval *tv, void *tz);
/* Clock id's time in microseconds. */
uint64_t dp_real_us(clockid_t id);
/* Sets the virtual clock to ms. */
void dp_vclock_set(uint64_t ms);

/* A world at now 1000 with links of this loss, duplication and reordering (percent), three
 * certificates and a context each for a (client) and b; no legs yet. */
void dp_world_init(struct dp_world *w, unsigned loss, unsigned dup, unsigned reorder,
                   uint64_t seed);
/* The fingerprint of c with hash h. */
struct dcgw_fingerprint dp_fp_of(const struct dcgw_cert *c, enum dcgw_hash h);
/* The leg of pe on context x with settings s and the recording callbacks. */
void dp_peer_new(struct dp_peer *pe, struct dcgw_dtls_ctx *x, struct dcgw_dtls_settings s);
/* Legs with the given settings, started; the fingerprints default to the right SHA-256 ones. */
void dp_world_legs(struct dp_world *w, struct dcgw_dtls_settings sa, struct dcgw_dtls_settings sb);
/* The send callback: records the datagram and sends it on pe's link. */
void dp_cb_send(void *ud, const uint8_t *p, size_t n);
/* A lossy_deliver_fn: hands the datagram to the leg of peer ud at its world's now. */
void dp_deliver(void *ud, const uint8_t *p, size_t n);
/* The leg is new or handshaking. */
bool dp_busy(const struct dp_peer *pe);
/* Moves datagrams (1 ms per hop) and fires timers until both legs settle or `until`. */
void dp_world_run(struct dp_world *w, uint64_t until);
/* Frees it all; asserts that the OpenSSL error queue is empty. */
void dp_world_free(struct dp_world *w);
/* n bytes of a pattern of seed. */
void dp_fill(uint8_t *p, size_t n, unsigned seed);

#endif
