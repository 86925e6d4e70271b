/* The relay flow stage in memory, no sockets:
 *
 *   peer 0 (UE)            dcgw_relay (ICE-lite x2, demux,          peer 1 (far end)
 *   dcgw_leg controlling <--> rate limits, DTLS inspector) <--> dcgw_leg controlling
 *   or a bare ICE client        side 0 | side 1                 or a bare ICE client
 *
 * With legs, the two peers run a real DTLS 1.2 handshake (OpenSSL, real clock) end to end
 * through the relay, each bound to the other's certificate. With bare ICE clients the
 * clock is injected and DTLS datagrams are crafted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/addr.h"
#include "dcgw/cert.h"
#include "dcgw/demux.h"
#include "dcgw/error.h"
#include "dcgw/ice.h"
#include "dcgw/leg.h"
#include "dcgw/relay.h"
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

/* A fuzz_relay seed record: [side][2-byte length][datagram]. */
static void seed_record(struct world *w, int side, const uint8_t *p, size_t n)
{
    if (!w->seed)
        return;
    uint8_t h[3] = {(uint8_t)side, (uint8_t)(n >> 8), (uint8_t)n};
    fwrite(h, 1, 3, w->seed);
    fwrite(p, 1, n, w->seed);
}

static uint64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_of(struct world *w)
{
    return w->real_clock ? real_ms() : w->now;
}

/* ---- callbacks */

static void relay_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct world *w = ud;
    struct peer *pe = &w->p[side];
    w->sends++;
    if (!dcgw_addr_equal(to, (struct sockaddr *)&pe->addr))
        pe->wrong_dest++;
    if (dcgw_demux_classify(p, n) == DCGW_DEMUX_STUN) {
        pe->stun_from_relay++;
        if (n < 2 || p[0] != 0x01 || p[1] != 0x01) /* Binding success response */
            pe->stun_not_response++;
    } else if (p == w->input) {
        w->same_buffer++; /* forwarded straight from the input buffer */
    } else {
        w->copied++;
    }
    lossy_send(&pe->down, p, n);
}

static void relay_event(void *ud, enum dcgw_relay_event ev, int side)
{
    struct world *w = ud;
    w->ev[ev]++;
    w->ev_side[ev] = (unsigned)side;
}

static void peer_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    ck_assert(dcgw_addr_equal(to, (struct sockaddr *)&pe->w->gw));
    lossy_send(&pe->up, p, n);
}

static void peer_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct peer *)ud)->connected++;
}

static void peer_failed(void *ud, int err, const char *reason)
{
    (void)reason;
    struct peer *pe = ud;
    pe->failed++;
    pe->fail_err = err;
}

static void peer_data(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    pe->got_msgs++;
    if (pe->got_n + n <= sizeof(pe->got)) {
        memcpy(pe->got + pe->got_n, p, n);
        pe->got_n += n;
    }
}

static void ice_connected(void *ud, const struct sockaddr *mapped)
{
    (void)mapped;
    ((struct peer *)ud)->connected++;
}

/* ---- pumping */

static void to_relay(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    struct world *w = pe->w;
    uint8_t buf[4096];
    memcpy(buf, p, n);
    seed_record(w, pe->idx, buf, n);
    w->input = buf;
    dcgw_relay_input(w->r, pe->idx, (struct sockaddr *)&pe->addr, buf, n, now_of(w));
    w->input = NULL;
}

static void to_peer(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    uint64_t t = now_of(pe->w);
    if (pe->leg)
        dcgw_leg_input(pe->leg, (struct sockaddr *)&pe->w->gw, p, n, t);
    else
        dcgw_ice_client_recv(pe->ice, (struct sockaddr *)&pe->w->gw, p, n, t);
}

static size_t pump_once(struct world *w)
{
    size_t moved = 0;
    for (int k = 0; k < 2; k++) {
        moved += lossy_pump(&w->p[k].up, to_relay, &w->p[k]);
        moved += lossy_pump(&w->p[k].down, to_peer, &w->p[k]);
    }
    uint64_t t = now_of(w);
    for (int k = 0; k < 2; k++) {
        struct peer *pe = &w->p[k];
        if (pe->leg && dcgw_leg_next_timeout(pe->leg) <= t)
            dcgw_leg_handle_timeout(pe->leg, t);
        if (pe->ice && dcgw_ice_client_next_timeout(pe->ice) <= t)
            dcgw_ice_client_handle_timeout(pe->ice, t);
    }
    if (dcgw_relay_next_timeout(w->r) <= t)
        dcgw_relay_handle_timeout(w->r, t);
    return moved;
}

/* Runs until done(w) or max_ms of the world's clock. */
static void run(struct world *w, bool (*done)(struct world *), uint64_t max_ms)
{
    uint64_t end = now_of(w) + max_ms;
    while (now_of(w) < end && !(done && done(w))) {
        if (pump_once(w))
            continue;
        if (w->real_clock) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        } else {
            w->now += 5;
        }
    }
}

static bool peers_connected(struct world *w)
{
    return (w->p[0].connected && w->p[1].connected) || w->p[0].failed || w->p[1].failed;
}

static bool relay_final(struct world *w)
{
    enum dcgw_relay_state st = dcgw_relay_state(w->r);
    return st == DCGW_RELAY_BLOCKED || st == DCGW_RELAY_FAILED;
}

/* ---- set-up */

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

static void fp_of(struct dcgw_cert *c, struct dcgw_fingerprint *fp)
{
    ck_assert_int_eq(dcgw_cert_fingerprint(c, DCGW_HASH_SHA256, fp), 0);
}

static void peer_make(struct world *w, int k, const struct opts *o)
{
    struct peer *pe = &w->p[k];
    pe->w = w;
    pe->idx = k;
    lossy_init(&pe->up, o->loss, o->dup, o->reorder, o->seed * 4 + (uint64_t)k);
    lossy_init(&pe->down, o->loss, o->dup, o->reorder, o->seed * 4 + 2 + (uint64_t)k);
    dcgw_addr_parse(k == 0 ? "198.51.100.7:40000" : "203.0.113.9:50000", &pe->addr);
    if (!o->legs) {
        struct dcgw_ice_client_settings cs;
        dcgw_ice_client_settings_default(&cs);
        cs.local_ufrag = PEER_UFRAG[k];
        cs.local_pwd = PEER_PWD[k];
        cs.remote_ufrag = GW_UFRAG[k];
        cs.remote_pwd = GW_PWD[k];
        struct dcgw_ice_client_cbs cc = {
            .ud = pe, .send = peer_send, .on_connected = ice_connected};
        ck_assert_int_eq(dcgw_ice_client_new(&cs, &cc, &pe->ice), 0);
        return;
    }
    struct dcgw_fingerprint other;
    fp_of(w->p[1 - k].cert, &other); /* end to end: each peer checks the other's certificate */
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = PEER_UFRAG[k],
        .local_pwd = PEER_PWD[k],
        .remote_ufrag = GW_UFRAG[k],
        .remote_pwd = GW_PWD[k],
        .remote_candidate = (struct sockaddr *)&w->gw,
        .dtls_client = k == 0,
        .remote_fps = &other,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 50,
    };
    struct dcgw_leg_cbs cb = {.ud = pe,
                              .send = peer_send,
                              .on_connected = peer_connected,
                              .on_failed = peer_failed,
                              .on_data = peer_data};
    ck_assert_int_eq(dcgw_leg_new(pe->ctx, &ls, &cb, &pe->leg), 0);
}

static void world_init(struct world *w, const struct opts *o)
{
    memset(w, 0, sizeof(*w));
    w->real_clock = o->legs;
    w->now = 1000000;
    dcgw_addr_parse("192.0.2.1:3478", &w->gw);
    ck_assert_int_eq(dcgw_cert_new(NULL, &w->third), 0);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(dcgw_cert_new(NULL, &w->p[k].cert), 0);
        struct dcgw_dtls_ctx_settings cs = {.cert = w->p[k].cert};
        ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &w->p[k].ctx), 0);
    }
    struct dcgw_fingerprint fps[2];
    struct dcgw_relay_settings rs;
    dcgw_relay_settings_default(&rs);
    for (int k = 0; k < 2; k++) {
        fp_of(k == o->wrong_fp_side ? w->third : w->p[k].cert, &fps[k]);
        rs.side[k] = (struct dcgw_relay_side_settings){.local_ufrag = GW_UFRAG[k],
                                                       .local_pwd = GW_PWD[k],
                                                       .remote_ufrag = PEER_UFRAG[k],
                                                       .remote_pwd = PEER_PWD[k],
                                                       .fps = &fps[k],
                                                       .n_fps = 1};
    }
    const char *dir = getenv("DCGW_RELAY_CORPUS");
    if (dir && o->seed_name) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, o->seed_name);
        w->seed = fopen(path, "wb");
        uint8_t flags = (uint8_t)((o->policy ? 1 : 0) | (o->pps || o->bps ? 2 : 0));
        if (w->seed) {
            fwrite(&flags, 1, 1, w->seed);
            fwrite(fps[0].digest, 1, 32, w->seed);
            fwrite(fps[1].digest, 1, 32, w->seed);
        }
    }
    rs.policy = o->policy;
    rs.max_packets_per_s = o->pps;
    rs.max_bytes_per_s = o->bps;
    rs.burst_ms = o->burst_ms;
    rs.consent_timeout_ms = o->consent_ms ? o->consent_ms : 5000;
    rs.setup_timeout_ms = 20000;
    struct dcgw_relay_cbs cbs = {.ud = w, .send = relay_send, .on_event = relay_event};
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, now_of(w), &w->r), 0);
    for (int k = 0; k < 2; k++)
        peer_make(w, k, o);
    /* the far end first, so the UE's first ClientHello finds it latched */
    for (int k = 1; k >= 0; k--) {
        if (w->p[k].leg)
            ck_assert_int_eq(dcgw_leg_start(w->p[k].leg, now_of(w)), 0);
        else
            ck_assert_int_eq(
                dcgw_ice_client_start(w->p[k].ice, (struct sockaddr *)&w->gw, now_of(w)), 0);
    }
}

static void world_dispose(struct world *w)
{
    dcgw_relay_free(w->r);
    for (int k = 0; k < 2; k++) {
        struct peer *pe = &w->p[k];
        dcgw_leg_free(pe->leg);
        dcgw_ice_client_free(pe->ice);
        dcgw_dtls_ctx_free(pe->ctx);
        dcgw_cert_unref(pe->cert);
        lossy_dispose(&pe->up);
        lossy_dispose(&pe->down);
    }
    dcgw_cert_unref(w->third);
    if (w->seed)
        fclose(w->seed);
}

/* ---- crafted DTLS */

/* A DTLS 1.2 record header + body into b; returns the length. */
static size_t record(uint8_t *b, uint8_t type, uint16_t epoch, uint64_t seq, const uint8_t *body,
                     size_t n)
{
    b[0] = type;
    b[1] = 0xfe;
    b[2] = 0xfd;
    b[3] = (uint8_t)(epoch >> 8);
    b[4] = (uint8_t)epoch;
    for (int i = 0; i < 6; i++)
        b[5 + i] = (uint8_t)(seq >> (8 * (5 - i)));
    b[11] = (uint8_t)(n >> 8);
    b[12] = (uint8_t)n;
    memcpy(b + 13, body, n);
    return 13 + n;
}

/* A ClientHello offering only DTLS 1.3 (supported_versions = {0xfefc}): uninspectable. */
static size_t client_hello_13(uint8_t *out)
{
    uint8_t body[128], msg[160];
    size_t n = 0;
    body[n++] = 0xfe; /* legacy_version DTLS 1.2 */
    body[n++] = 0xfd;
    for (int i = 0; i < 32; i++)
        body[n++] = (uint8_t)(i * 7 + 1); /* random */
    body[n++] = 0;                        /* session id */
    body[n++] = 0;                        /* cookie */
    const uint8_t suites[] = {0x00, 0x02, 0x13, 0x01};
    memcpy(body + n, suites, sizeof(suites));
    n += sizeof(suites);
    body[n++] = 1; /* compression methods: null */
    body[n++] = 0;
    const uint8_t ext[] = {0x00, 0x07, 0x00, 0x2b, 0x00, 0x03, 0x02, 0xfe, 0xfc};
    memcpy(body + n, ext, sizeof(ext));
    n += sizeof(ext);
    size_t m = 0;
    msg[m++] = 1; /* client_hello */
    msg[m++] = 0;
    msg[m++] = (uint8_t)(n >> 8);
    msg[m++] = (uint8_t)n;
    msg[m++] = 0; /* message_seq */
    msg[m++] = 0;
    msg[m++] = 0; /* fragment_offset */
    msg[m++] = 0;
    msg[m++] = 0;
    msg[m++] = 0; /* fragment_length */
    msg[m++] = (uint8_t)(n >> 8);
    msg[m++] = (uint8_t)n;
    memcpy(msg + m, body, n);
    return record(out, 22, 0, 0, msg, m + n);
}

static int inject(struct world *w, int side, const uint8_t *p, size_t n)
{
    seed_record(w, side, p, n);
    w->input = p;
    int r = dcgw_relay_input(w->r, side, (struct sockaddr *)&w->p[side].addr, p, n, now_of(w));
    w->input = NULL;
    return r;
}

static bool both_ice(struct world *w)
{
    return w->p[0].connected && w->p[1].connected;
}

/* ICE-only world, both hops latched; then the 1.3-only ClientHello from side 0. */
static void uninspectable_world(struct world *w, enum dcgw_dtls_inspect_policy policy, uint64_t pps,
                                uint64_t bps, uint32_t burst_ms)
{
    struct opts o = {.wrong_fp_side = -1,
                     .policy = policy,
                     .seed = 3,
                     .pps = pps,
                     .bps = bps,
                     .burst_ms = burst_ms};
    if (!pps && !bps)
        o.seed_name = policy ? "dtls13_allowed" : "dtls13_rejected";
    world_init(w, &o);
    run(w, both_ice, 2000);
    ck_assert(both_ice(w));
    ck_assert_int_eq(dcgw_relay_state(w->r), DCGW_RELAY_INSPECTING);
    uint8_t ch[256];
    size_t n = client_hello_13(ch);
    int r = inject(w, 0, ch, n);
    ck_assert_int_eq(r, policy == DCGW_INSPECT_REJECT_UNINSPECTABLE ? DCGW_RELAY_DROPPED
                                                                    : DCGW_RELAY_FORWARDED);
}

static void assert_accounting(struct world *w)
{
    for (int k = 0; k < 2; k++) {
        const struct dcgw_relay_side_stats *s = dcgw_relay_stats(w->r, k);
        uint64_t sum = s->forwarded_packets + s->stun + s->stun_rejected + s->dropped_garbage +
                       s->dropped_unvalidated + s->dropped_no_peer + s->dropped_rate +
                       s->dropped_inspector + s->dropped_blocked;
        ck_assert_uint_eq(s->rx_packets, sum);
    }
}

/* ---- forwarding */

static void handshake_and_talk(struct world *w, const struct opts *o)
{
    world_init(w, o);
    run(w, peers_connected, 8000);
    ck_assert_msg(w->p[0].connected == 1 && w->p[1].connected == 1, "ue %d/%d as %d/%d (%s)",
                  w->p[0].connected, w->p[0].failed, w->p[1].connected, w->p[1].failed,
                  dcgw_relay_state_name(dcgw_relay_state(w->r)));
    /* application data both ways, end to end through the relay */
    for (int k = 0; k < 2; k++)
        w->p[k].up.loss_pct = w->p[k].down.loss_pct = 0;
    ck_assert_int_eq(dcgw_leg_send_data(w->p[0].leg, (const uint8_t *)"hello far end", 13), 0);
    ck_assert_int_eq(dcgw_leg_send_data(w->p[1].leg, (const uint8_t *)"hello UE", 8), 0);
    run(w, NULL, 0);
    for (int i = 0; i < 20 && (w->p[1].got_n < 13 || w->p[0].got_n < 8); i++)
        pump_once(w);
}

START_TEST(forwards_a_real_handshake_end_to_end)
{
    struct world w;
    struct opts o = {.legs = true, .wrong_fp_side = -1, .seed = 1, .seed_name = "handshake"};
    handshake_and_talk(&w, &o);
    ck_assert_uint_eq(w.p[1].got_n, 13);
    ck_assert_mem_eq(w.p[1].got, "hello far end", 13);
    ck_assert_uint_eq(w.p[0].got_n, 8);
    ck_assert_mem_eq(w.p[0].got, "hello UE", 8);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_CONNECTED);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 0);
    ck_assert_uint_ge(w.ev[DCGW_RELAY_EV_LATCHED], 2);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.dtls_client, 0);
    ck_assert_int_eq(st.err, 0);
    ck_assert(!st.mitm_suspected);
    for (int k = 0; k < 2; k++) {
        const struct dcgw_relay_side_stats *s = dcgw_relay_stats(w.r, k);
        ck_assert_uint_ge(s->forwarded_packets, 3); /* a flight, CCS+Finished, data */
        ck_assert_uint_ge(s->stun, 1);
        ck_assert_uint_eq(
            s->dropped_garbage + s->dropped_unvalidated + s->dropped_rate + s->dropped_blocked, 0);
        ck_assert(dcgw_addr_equal(dcgw_relay_peer(w.r, k), (struct sockaddr *)&w.p[k].addr));
        ck_assert_uint_eq(w.p[k].wrong_dest, 0);
        /* STUN stays per hop: all a peer got from the relay were answers to its checks */
        ck_assert_uint_ge(w.p[k].stun_from_relay, 1);
        ck_assert_uint_eq(w.p[k].stun_not_response, 0);
        const struct dcgw_dtls_inspect_side *is =
            dcgw_dtls_inspect_side(dcgw_relay_inspector(w.r), k);
        ck_assert_int_eq(is->cert, DCGW_INSPECT_CERT_MATCHED);
    }
    /* every forwarded datagram was the input buffer itself */
    ck_assert_uint_ge(w.same_buffer, 6);
    ck_assert_uint_eq(w.copied, 0);
    assert_accounting(&w);
    ck_assert_uint_eq(dcgw_relay_next_timeout(w.r) < UINT64_MAX, 1); /* consent timers */
    world_dispose(&w);
}
END_TEST

START_TEST(lossy_handshake_still_verified)
{
    struct world w;
    struct opts o = {.legs = true,
                     .wrong_fp_side = -1,
                     .loss = 15,
                     .dup = 10,
                     .reorder = 20,
                     .seed = 40 + (uint64_t)_i};
    handshake_and_talk(&w, &o);
    ck_assert_uint_eq(w.p[1].got_n, 13);
    ck_assert_uint_eq(w.p[0].got_n, 8);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_CONNECTED);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

/* ---- a man in the middle: a certificate that is not the one of the side's SDP */

START_TEST(mitm_blocked_and_stays_blocked)
{
    int bad = _i; /* 0: the UE (DTLS client), 1: the far end (DTLS server) */
    struct world w;
    struct opts o = {.legs = true,
                     .wrong_fp_side = bad,
                     .seed = 7,
                     .seed_name = bad ? "mitm_far_end" : "mitm_ue"};
    world_init(&w, &o);
    run(&w, relay_final, 5000);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_BLOCKED);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.side, bad);
    ck_assert_int_eq(st.err, DCGW_EFINGERPRINT);
    ck_assert(st.mitm_suspected);
    ck_assert_ptr_nonnull(strstr(st.reason, "sha-256"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    ck_assert_uint_eq(w.ev_side[DCGW_RELAY_EV_BLOCKED], (unsigned)bad);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 0);
    const struct dcgw_dtls_inspect_side *is =
        dcgw_dtls_inspect_side(dcgw_relay_inspector(w.r), bad);
    ck_assert_int_eq(is->cert, DCGW_INSPECT_CERT_MISMATCH);
    struct dcgw_fingerprint real;
    fp_of(w.p[bad].cert, &real);
    ck_assert(dcgw_fingerprint_equal(&is->fp, &real)); /* what it presented */

    /* It stays blocked: retransmissions, application data, STUN checks, timers. */
    unsigned sends = w.sends;
    uint64_t fwd =
        dcgw_relay_stats(w.r, 0)->forwarded_packets + dcgw_relay_stats(w.r, 1)->forwarded_packets;
    run(&w, NULL, 400); /* OpenSSL retransmits every 50+ ms */
    uint8_t rec[64], body[32] = {0};
    for (int k = 0; k < 2; k++) {
        size_t n = record(rec, 23, 1, 1, body, sizeof(body));
        ck_assert_int_eq(inject(&w, k, rec, n), DCGW_RELAY_DROPPED);
    }
    dcgw_relay_handle_timeout(w.r, real_ms() + 3600 * 1000);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_BLOCKED);
    ck_assert_uint_eq(dcgw_relay_next_timeout(w.r), UINT64_MAX);
    ck_assert_uint_eq(w.sends, sends);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->forwarded_packets +
                          dcgw_relay_stats(w.r, 1)->forwarded_packets,
                      fwd);
    ck_assert_uint_ge(dcgw_relay_stats(w.r, bad)->dropped_blocked, 2);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    /* no application data ever reached either peer, and neither finished its handshake */
    for (int k = 0; k < 2; k++) {
        ck_assert_uint_eq(w.p[k].got_n, 0);
        ck_assert_int_eq(w.p[k].connected, 0);
        ck_assert_uint_eq(dcgw_dtls_inspect_stats(dcgw_relay_inspector(w.r), k)->held_app_data, 0);
    }
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

/* ---- STUN per hop, garbage */

struct capture {
    uint8_t buf[2048];
    size_t n;
};

static void capture_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)to;
    struct capture *c = ud;
    memcpy(c->buf, p, n);
    c->n = n;
}

/* A connectivity check as a peer of `hop` would sign it with hop `key`'s credentials. */
static void make_check(struct capture *c, int user_hop, int key_hop, uint64_t now)
{
    struct dcgw_ice_client_settings cs;
    dcgw_ice_client_settings_default(&cs);
    cs.local_ufrag = PEER_UFRAG[user_hop];
    cs.local_pwd = PEER_PWD[user_hop];
    cs.remote_ufrag = GW_UFRAG[user_hop];
    cs.remote_pwd = GW_PWD[key_hop];
    struct dcgw_ice_client_cbs cc = {.ud = c, .send = capture_send};
    struct dcgw_ice_client *ic;
    struct sockaddr_storage gw;
    dcgw_addr_parse("192.0.2.1:3478", &gw);
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &cc, &ic), 0);
    ck_assert_int_eq(dcgw_ice_client_start(ic, (struct sockaddr *)&gw, now), 0);
    ck_assert_uint_gt(c->n, 20);
    dcgw_ice_client_free(ic);
}

START_TEST(stun_stays_per_hop)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 11};
    world_init(&w, &o);
    run(&w, both_ice, 2000);
    ck_assert(both_ice(&w));
    ck_assert_uint_eq(w.same_buffer + w.copied, 0); /* nothing forwarded: all STUN answered */
    unsigned sends = w.sends;
    /* hop 1's credentials are worth nothing on hop 0, and the reverse */
    struct capture c;
    make_check(&c, 1, 1, w.now);
    ck_assert_int_eq(inject(&w, 0, c.buf, c.n), DCGW_RELAY_DROPPED);
    make_check(&c, 0, 1, w.now);
    ck_assert_int_eq(inject(&w, 0, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->stun_rejected, 2);
    ck_assert_uint_eq(w.sends, sends);
    /* a good check of hop 1 is answered on hop 1 only, never forwarded to side 0 */
    make_check(&c, 1, 1, w.now);
    unsigned stun0 = w.p[0].stun_from_relay;
    ck_assert_int_eq(inject(&w, 1, c.buf, c.n), DCGW_RELAY_STUN_OK);
    ck_assert_uint_eq(w.sends, sends + 1);
    ck_assert_uint_eq(w.p[0].stun_from_relay, stun0);
    ck_assert_uint_eq(w.p[1].stun_not_response, 0);
    /* a STUN response or indication from a peer is not forwarded either */
    c.buf[0] = 0x01, c.buf[1] = 0x01;
    ck_assert_int_eq(inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    c.buf[0] = 0x00, c.buf[1] = 0x11;
    ck_assert_int_eq(inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(w.sends, sends + 1);
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

START_TEST(garbage_dropped_and_counted)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 12};
    world_init(&w, &o);
    run(&w, both_ice, 2000);
    ck_assert(both_ice(&w));
    unsigned sends = w.sends;
    const struct dcgw_relay_side_stats *s0 = dcgw_relay_stats(w.r, 0);
    uint64_t garbage0 = s0->dropped_garbage;
    /* every first byte outside STUN (0..3) and DTLS (20..63): RTP, unknown, empty */
    uint8_t d[64];
    unsigned expect = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (b <= 3 || (b >= 20 && b <= 63))
            continue;
        memset(d, (int)b, sizeof(d));
        ck_assert_int_eq(inject(&w, 0, d, 1 + b % sizeof(d)), DCGW_RELAY_DROPPED);
        expect++;
    }
    ck_assert_int_eq(inject(&w, 0, d, 0), DCGW_RELAY_DROPPED);
    expect++;
    ck_assert_uint_eq(s0->dropped_garbage, garbage0 + expect);
    /* random datagrams of every kind, seeded */
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        size_t n = 1 + (size_t)(rng % 300);
        uint8_t buf[300];
        for (size_t k = 0; k < n; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[k] = (uint8_t)rng;
        }
        if (i % 3 == 0)
            buf[0] = (uint8_t)(20 + rng % 44); /* DTLS range: the inspector sees it */
        int r = inject(&w, i % 2, buf, n);
        ck_assert(r == DCGW_RELAY_DROPPED || r == DCGW_RELAY_FORWARDED);
    }
    /* DTLS from an address that never passed a check */
    uint8_t rec[64], body[16] = {0};
    size_t n = record(rec, 22, 0, 0, body, sizeof(body));
    struct sockaddr_storage stranger;
    dcgw_addr_parse("198.51.100.99:1234", &stranger);
    uint64_t unval = s0->dropped_unvalidated;
    ck_assert_int_eq(dcgw_relay_input(w.r, 0, (struct sockaddr *)&stranger, rec, n, w.now),
                     DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(s0->dropped_unvalidated, unval + 1);
    /* The handshake is still possible: nothing garbage did fixed a wrong state. */
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_INSPECTING);
    ck_assert_uint_gt(s0->dropped_inspector + dcgw_relay_stats(w.r, 1)->dropped_inspector, 0);
    ck_assert_uint_le(w.sends - sends, 0);
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

/* ---- DTLS 1.3 / uninspectable: reject, or allow and report */

START_TEST(uninspectable_rejected)
{
    struct world w;
    uninspectable_world(&w, DCGW_INSPECT_REJECT_UNINSPECTABLE, 0, 0, 0);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_BLOCKED);
    ck_assert_int_eq(st.side, 0);
    ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
    ck_assert(!st.mitm_suspected);
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_BLOCKED], 1);
    /* a valid check is no longer answered */
    struct capture c;
    make_check(&c, 1, 1, w.now);
    unsigned sends = w.sends;
    ck_assert_int_eq(inject(&w, 1, c.buf, c.n), DCGW_RELAY_DROPPED);
    ck_assert_uint_eq(w.sends, sends);
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

START_TEST(uninspectable_allowed_and_reported)
{
    struct world w;
    uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 0, 0);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_UNINSPECTED);
    ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
    ck_assert_str_ne(st.reason, "");
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_CONNECTED], 1);
    uint8_t rec[128], body[100] = {1, 2, 3};
    size_t n = record(rec, 23, 1, 5, body, sizeof(body));
    ck_assert_int_eq(inject(&w, 1, rec, n), DCGW_RELAY_FORWARDED);
    ck_assert_int_eq(inject(&w, 0, rec, n), DCGW_RELAY_FORWARDED);
    ck_assert_uint_eq(w.copied, 0);
    world_dispose(&w);
}
END_TEST

/* ---- rate limits, injected clock */

static unsigned burst_in(struct world *w, int side, size_t size, unsigned count)
{
    uint8_t rec[2048], body[2048] = {0};
    size_t n = record(rec, 23, 1, 9, body, size - 13);
    unsigned fwd = 0;
    for (unsigned i = 0; i < count; i++)
        fwd += inject(w, side, rec, n) == DCGW_RELAY_FORWARDED;
    return fwd;
}

START_TEST(packet_rate_limit)
{
    struct world w;
    /* 100 packets/s, 100 ms deep: max(10, floor 8) = 10 packets */
    uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 100, 0, 100);
    w.now += 1000; /* full again after the ClientHello */
    ck_assert_uint_eq(burst_in(&w, 0, 200, 30), 10);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->dropped_rate, 20);
    ck_assert_uint_eq(burst_in(&w, 0, 200, 5), 0);
    w.now += 50; /* 5 tokens */
    ck_assert_uint_eq(burst_in(&w, 0, 200, 10), 5);
    /* per direction: the other side has its own bucket */
    ck_assert_uint_eq(burst_in(&w, 1, 200, 12), 10);
    /* over a simulated 2 s at 1 ms steps, 100/s + the burst */
    w.now += 1000;
    unsigned total = 0;
    for (int t = 0; t < 2000; t++, w.now++)
        total += burst_in(&w, 0, 100, 2);
    ck_assert_uint_ge(total, 208);
    ck_assert_uint_le(total, 211);
    /* lifted in flight */
    dcgw_relay_set_limits(w.r, 0, 0, 0, w.now);
    ck_assert_uint_eq(burst_in(&w, 0, 200, 500), 500);
    assert_accounting(&w);
    world_dispose(&w);
}
END_TEST

START_TEST(byte_rate_limit)
{
    struct world w;
    /* 20000 bytes/s, 1 s deep */
    uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 20000, 1000);
    w.now += 2000;
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 25), 20);
    w.now += 100; /* 2000 bytes */
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 5), 2);
    /* a small datagram still fits where a big one does not */
    w.now += 40; /* 800 bytes */
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 1), 0);
    ck_assert_uint_eq(burst_in(&w, 0, 500, 1), 1);
    ck_assert_uint_eq(dcgw_relay_stats(w.r, 0)->dropped_rate, 5 + 3 + 1);
    /* a shallow configured bucket still takes a few datagrams (the floor) */
    dcgw_relay_set_limits(w.r, 0, 1000, 10, w.now + 10000);
    w.now += 10000;
    ck_assert_uint_eq(burst_in(&w, 0, 1000, 40), DCGW_RELAY_BURST_BYTES_MIN / 1000);
    world_dispose(&w);
}
END_TEST

/* ---- timers */

START_TEST(setup_timeout_fails_the_flow)
{
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 13, .consent_ms = 60000};
    world_init(&w, &o);
    run(&w, both_ice, 2000);
    ck_assert(both_ice(&w));
    uint64_t due = dcgw_relay_next_timeout(w.r);
    ck_assert_uint_le(due, 1000000 + 20000);
    dcgw_relay_handle_timeout(w.r, 1000000 + 20000 - 1);
    ck_assert_int_eq(dcgw_relay_state(w.r), DCGW_RELAY_INSPECTING);
    dcgw_relay_handle_timeout(w.r, 1000000 + 20000);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_FAILED);
    ck_assert_int_eq(st.side, -1);
    ck_assert_int_eq(st.err, DCGW_ETIMEOUT);
    ck_assert_ptr_nonnull(strstr(st.reason, "DTLS"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_FAILED], 1);
    world_dispose(&w);
}
END_TEST

START_TEST(consent_loss_fails_the_flow)
{
    struct world w;
    uninspectable_world(&w, DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT, 0, 0, 0);
    /* connected: only the hops' consent timers are left (5 s here) */
    uint64_t due = dcgw_relay_next_timeout(w.r);
    ck_assert_uint_le(due, w.now + 5000);
    ck_assert_uint_gt(due, w.now);
    dcgw_relay_handle_timeout(w.r, due);
    struct dcgw_relay_status st;
    dcgw_relay_status(w.r, &st);
    ck_assert_int_eq(st.state, DCGW_RELAY_FAILED);
    ck_assert(st.side == 0 || st.side == 1);
    ck_assert_ptr_nonnull(strstr(st.reason, "consent"));
    ck_assert_uint_eq(w.ev[DCGW_RELAY_EV_FAILED], 1);
    uint8_t rec[64], body[16] = {0};
    size_t n = record(rec, 23, 1, 9, body, sizeof(body));
    ck_assert_int_eq(inject(&w, 0, rec, n), DCGW_RELAY_DROPPED);
    world_dispose(&w);
}
END_TEST

/* ---- API misuse */

static int reenter_rc;
static void reenter_event(void *ud, enum dcgw_relay_event ev, int side)
{
    (void)ev;
    (void)side;
    struct world *w = ud;
    uint8_t b[1] = {0x80};
    reenter_rc = dcgw_relay_input(w->r, 0, (struct sockaddr *)&w->p[0].addr, b, 1, w->now);
}

static void nop_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)ud, (void)side, (void)to, (void)p, (void)n;
}

START_TEST(bad_arguments)
{
    struct dcgw_fingerprint fp = {.alg = DCGW_HASH_SHA256, .len = 32};
    struct dcgw_relay_settings rs;
    dcgw_relay_settings_default(&rs);
    struct dcgw_relay_cbs cbs = {.send = nop_send};
    struct dcgw_relay *r = NULL;
    for (int k = 0; k < 2; k++)
        rs.side[k] = (struct dcgw_relay_side_settings){.local_ufrag = GW_UFRAG[k],
                                                       .local_pwd = GW_PWD[k],
                                                       .remote_ufrag = PEER_UFRAG[k],
                                                       .fps = &fp,
                                                       .n_fps = 1};
    struct dcgw_relay_cbs none = {0};
    ck_assert_int_eq(dcgw_relay_new(&rs, &none, 0, &r), DCGW_EINVAL);
    rs.side[1].n_fps = 0;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[1].n_fps = 1;
    rs.side[0].local_pwd = "short";
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[0].local_pwd = GW_PWD[0];
    rs.side[0].remote_ufrag = NULL;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_EINVAL);
    rs.side[0].remote_ufrag = PEER_UFRAG[0];
    rs.burst_ms = DCGW_RELAY_BURST_MS_MAX + 1;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), DCGW_ERANGE);
    ck_assert_ptr_null(r);
    rs.burst_ms = 0;
    ck_assert_int_eq(dcgw_relay_new(&rs, &cbs, 0, &r), 0);
    struct sockaddr_storage a;
    dcgw_addr_parse("127.0.0.1:9", &a);
    uint8_t b[4] = {0x80};
    ck_assert_int_eq(dcgw_relay_input(r, 2, (struct sockaddr *)&a, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, -1, (struct sockaddr *)&a, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, 0, NULL, b, 4, 0), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_relay_input(r, 0, (struct sockaddr *)&a, NULL, 4, 0), DCGW_EINVAL);
    ck_assert_ptr_null(dcgw_relay_stats(r, 2));
    ck_assert_ptr_null(dcgw_relay_peer(r, 0));
    ck_assert_int_eq(dcgw_relay_state(r), DCGW_RELAY_ICE);
    ck_assert_str_eq(dcgw_relay_state_name(DCGW_RELAY_BLOCKED), "blocked");
    ck_assert_str_eq(dcgw_relay_state_name((enum dcgw_relay_state)99), "?");
    dcgw_relay_free(r);
    dcgw_relay_free(NULL);

    /* input from inside a callback is refused */
    struct world w;
    struct opts o = {.wrong_fp_side = -1, .seed = 14};
    world_init(&w, &o);
    dcgw_relay_free(w.r);
    for (int k = 0; k < 2; k++)
        rs.side[k].remote_pwd = PEER_PWD[k];
    struct dcgw_relay_cbs rc = {.ud = &w, .send = relay_send, .on_event = reenter_event};
    ck_assert_int_eq(dcgw_relay_new(&rs, &rc, w.now, &w.r), 0);
    reenter_rc = 0;
    run(&w, both_ice, 2000);
    ck_assert_int_eq(reenter_rc, DCGW_ESTATE);
    world_dispose(&w);
}
END_TEST

static Suite *relay_suite(void)
{
    Suite *s = suite_create("relay");
    TCase *fwd = tcase_create("forwarding");
    tcase_set_timeout(fwd, 60);
    tcase_add_test(fwd, forwards_a_real_handshake_end_to_end);
    tcase_add_loop_test(fwd, lossy_handshake_still_verified, 0, 3);
    suite_add_tcase(s, fwd);
    TCase *mitm = tcase_create("mitm");
    tcase_set_timeout(mitm, 60);
    tcase_add_loop_test(mitm, mitm_blocked_and_stays_blocked, 0, 2);
    suite_add_tcase(s, mitm);
    TCase *hop = tcase_create("stun_and_garbage");
    tcase_add_test(hop, stun_stays_per_hop);
    tcase_add_test(hop, garbage_dropped_and_counted);
    suite_add_tcase(s, hop);
    TCase *pol = tcase_create("uninspectable");
    tcase_add_test(pol, uninspectable_rejected);
    tcase_add_test(pol, uninspectable_allowed_and_reported);
    suite_add_tcase(s, pol);
    TCase *rate = tcase_create("rate_limits");
    tcase_add_test(rate, packet_rate_limit);
    tcase_add_test(rate, byte_rate_limit);
    suite_add_tcase(s, rate);
    TCase *tm = tcase_create("timers");
    tcase_add_test(tm, setup_timeout_fails_the_flow);
    tcase_add_test(tm, consent_loss_fails_the_flow);
    suite_add_tcase(s, tm);
    TCase *api = tcase_create("api");
    tcase_add_test(api, bad_arguments);
    suite_add_tcase(s, api);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(relay_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
