/* Shared fixtures of the DTLS handshake inspector tests (test_dtls_inspect*.c): two
 * OpenSSL DTLS 1.2 endpoints in memory with every datagram captured, helpers that look into
 * captured datagrams, an inspector driven with the rules that hold whatever comes in, and
 * crafted records for what a real stack never sends. Everything fails the running test
 * (ck_assert) on a broken fixture; nothing here opens a socket. */
#ifndef DCGW_TEST_HELPER_DTLS_INSPECT_H
#define DCGW_TEST_HELPER_DTLS_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls_inspect.h"

/* ---- two OpenSSL endpoints, every datagram captured ------------------------------------- */

enum { MAX_DG = 768, QCAP = 256, SIDES = 2 };

struct dg {
    int side;
    bool app; /* written by SSL_write after the handshake */
    size_t n;
    uint8_t *p;
};

struct world;

struct ep {
    struct world *w;
    int side;
    SSL_CTX *ctx;
    SSL *ssl;
    size_t q[QCAP]; /* indexes into w->dg of datagrams on their way to this endpoint */
    size_t qh, qt;
    bool dropping; /* capture what it writes but do not deliver it */
    size_t got;    /* application bytes read */
};

struct world {
    struct dg dg[MAX_DG];
    size_t n_dg;
    struct ep ep[SIDES];
    struct dcgw_cert *cert[SIDES], *extra[SIDES][3], *other;
    int client; /* side of the DTLS client */
    bool app;
    bool lose_server_flight, lost;
};

struct hs_opts {
    bool ue_server;    /* side 0 (UE) is the DTLS server */
    unsigned mtu;      /* 0: 1200 */
    bool cookie;       /* the server does a HelloVerifyRequest round */
    unsigned chain[2]; /* extra certificates after the end-entity one, per side */
    bool lose;         /* the server's first flight is lost after the relay: resent */
    bool fixed;        /* both sides use tests/data/dtls/fixed.pem (corpus seeds) */
};

/* Microseconds added to the real clock by a test program that interposes gettimeofday()
 * (OpenSSL 3.0 arms its DTLS retransmission timer with it): a lost flight (hs_opts.lose)
 * moves it 3 s on so that the server's timer resends at once. */
extern uint64_t tinsp_clock_ahead_us;

/* A complete handshake, then one application record each way; data_dir is DCGW_TEST_DATA
 * (for hs_opts.fixed). Free with tinsp_world_free(). */
void tinsp_handshake(struct world *w, const struct hs_opts *o, const char *data_dir);
/* Frees what tinsp_handshake() or a test's loader put in w. */
void tinsp_world_free(struct world *w);

/* ---- looking into captured datagrams ------------------------------------------------------ */

uint32_t tinsp_rd16(const uint8_t *p);
uint32_t tinsp_rd24(const uint8_t *p);
/* Counts handshake fragments of message type t (epoch 0) in a datagram; *partial gets
 * those that carry only part of their message. Also tells whether it has app data. */
unsigned tinsp_frags_of(const uint8_t *p, size_t n, int t, unsigned *partial, bool *app);
/* Whether datagram d carries a fragment of handshake message type t. */
bool tinsp_has_msg(const struct dg *d, int t);
/* Whether the datagram holds an application data record. */
bool tinsp_has_app(const uint8_t *p, size_t n);

/* ---- driving the inspector ----------------------------------------------------------------- */

struct seen {
    int events, last_state, last_side;
};

struct iopts {
    struct dcgw_fingerprint fps[SIDES][4];
    size_t n[SIDES];
    enum dcgw_hash min_hash;
    size_t bound;
    enum dcgw_dtls_inspect_policy policy;
};

/* The fingerprint of c with hash h. */
struct dcgw_fingerprint tinsp_fp_of(const struct dcgw_cert *c, enum dcgw_hash h);
/* Per side: a stranger's SHA-256, the right SHA-1 (under the default floor), the right
 * SHA-256: a match must be index 2. */
struct iopts tinsp_right_fps(const struct world *w);
/* An inspector with io's settings; seen (may be NULL) counts its state events. */
struct dcgw_dtls_inspect *tinsp_new(const struct iopts *io, struct seen *seen);
/* One datagram through the inspector, with the rules that hold whatever comes in. */
int tinsp_feed(struct dcgw_dtls_inspect *in, int side, const uint8_t *p, size_t n);
int tinsp_feed_dg(struct dcgw_dtls_inspect *in, const struct dg *d);
/* Feeds datagrams in the given order (NULL: capture order); every one must get `want`. */
void tinsp_feed_all(struct dcgw_dtls_inspect *in, const struct world *w, const size_t *order,
                    size_t n, int want);
/* Both sides matched the fingerprint at `index`, and the counters look like a clean run. */
void tinsp_assert_verified(const struct dcgw_dtls_inspect *in, const struct world *w, size_t index);

/* Seeds for the fuzz target ([flags] then [side][len:2][datagram]...), written under
 * $DCGW_INSPECT_CORPUS when it is set. */
void tinsp_corpus_write(const char *name, uint8_t flags, const struct dg *dgs, size_t n);

/* ---- crafted records ----------------------------------------------------------------------- */

/* A handshake of our own making: side 0 is the client, both "certificates" are opaque
 * DER-sized blobs (the inspector hashes bytes, it does not parse X.509). */
struct craft {
    uint8_t der[SIDES][300];
    struct iopts io;
    struct dcgw_dtls_inspect *in;
    uint8_t buf[8192];
};

/* a DTLS 1.3 ciphertext record: unified header 001CSLEE with sequence and length */
static const uint8_t DTLS13_CIPHERTEXT[] = {0x2f, 0x00, 0x01, 0x00, 0x04, 1, 2, 3, 4};
static const uint8_t CH_BODY[] = {0xfe, 0xfd, [34] = 0, 0, 0, 2, 0xc0, 0x2b, 1, 0};
static const uint8_t SH_BODY[] = {0xfe, 0xfd, [34] = 0, 0xc0, 0x2b, 0};

/* A DTLS 1.2 record of `type` holding body (which may already sit at o + 13) into o. */
size_t tinsp_put_rec(uint8_t *o, uint8_t type, uint16_t epoch, const uint8_t *body, size_t n);
/* One handshake fragment (RFC 6347 §4.2.2 header) into o. */
size_t tinsp_put_frag(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
                      uint32_t flen, const uint8_t *data);
/* A record holding one fragment. */
size_t tinsp_hs_rec(uint8_t *o, uint8_t type, uint32_t len, uint16_t seq, uint32_t off,
                    uint32_t flen, const uint8_t *data);
/* A Certificate message body carrying one certificate of n bytes. */
size_t tinsp_cert_msg(uint8_t *o, const uint8_t *der, size_t n);
/* Both sides' blobs and their SHA-256 fingerprints, and an inspector for them. */
void tinsp_craft_init(struct craft *c, enum dcgw_dtls_inspect_policy policy, size_t bound);
/* The first n bytes of c->buf through the inspector from side. */
int tinsp_craft_feed(struct craft *c, int side, size_t n);
/* ClientHello (side 0, seq 0) and ServerHello (side 1, seq 0). */
void tinsp_craft_hellos(struct craft *c);
/* Side k's Certificate at message_seq 1, whole. */
int tinsp_craft_cert(struct craft *c, int k);
/* Both Certificates: verified. */
void tinsp_craft_finish(struct craft *c);
/* A datagram that must be dropped as malformed without changing anything. */
void tinsp_drop_malformed(struct craft *c, int side, size_t n, const char *what);

#endif
