/* Shared fixtures of the relay flow tests: see helper_relay.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/demux.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/relay.h"
#include "helper_lossy.h"
#include "helper_relay.h"

/* A fuzz_relay seed record: [side][2-byte length][datagram]. */
static void seed_record(struct world *w, int side, const uint8_t *p, size_t n)
{
    if (!w->seed)
        return;
    uint8_t h[3] = {(uint8_t)side, (uint8_t)(n >> 8), (uint8_t)n};
    fwrite(h, 1, 3, w->seed);
    fwrite(p, 1, n, w->seed);
}

uint64_t trelay_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_of(struct world *w)
{
    return w->real_clock ? trelay_real_ms() : w->now;
}

/* ---- callbacks */

void trelay_relay_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
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

static void peer_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)cause, (void)reason;
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

size_t trelay_pump_once(struct world *w)
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
void trelay_run(struct world *w, bool (*done)(struct world *), uint64_t max_ms)
{
    uint64_t end = now_of(w) + max_ms;
    while (now_of(w) < end && !(done && done(w))) {
        if (trelay_pump_once(w))
            continue;
        if (w->real_clock) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        } else {
            w->now += 5;
        }
    }
}

/* ---- set-up */

void trelay_fp_of(struct dcgw_cert *c, struct dcgw_fingerprint *fp)
{
    ck_assert_int_eq(dcgw_cert_fingerprint(c, DCGW_HASH_SHA256, fp), 0);
}

void trelay_ice_settings(struct dcgw_ice_client_settings *cs, int user_hop, int key_hop)
{
    dcgw_ice_client_settings_default(cs);
    cs->local_ufrag = PEER_UFRAG[user_hop];
    cs->local_pwd = PEER_PWD[user_hop];
    cs->remote_ufrag = GW_UFRAG[user_hop];
    cs->remote_pwd = GW_PWD[key_hop];
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
        trelay_ice_settings(&cs, k, k);
        struct dcgw_ice_client_cbs cc = {
            .ud = pe, .send = peer_send, .on_connected = ice_connected};
        ck_assert_int_eq(dcgw_ice_client_new(&cs, &cc, &pe->ice), 0);
        return;
    }
    struct dcgw_fingerprint other;
    trelay_fp_of(w->p[1 - k].cert,
                 &other); /* end to end: each peer checks the other's certificate */
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

void trelay_world_init(struct world *w, const struct opts *o)
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
        trelay_fp_of(k == o->wrong_fp_side ? w->third : w->p[k].cert, &fps[k]);
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
    struct dcgw_relay_cbs cbs = {.ud = w, .send = trelay_relay_send, .on_event = relay_event};
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

void trelay_world_dispose(struct world *w)
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
size_t trelay_record(uint8_t *b, uint8_t type, uint16_t epoch, uint64_t seq, const uint8_t *body,
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
    return trelay_record(out, 22, 0, 0, msg, m + n);
}

int trelay_inject(struct world *w, int side, const uint8_t *p, size_t n)
{
    seed_record(w, side, p, n);
    w->input = p;
    int r = dcgw_relay_input(w->r, side, (struct sockaddr *)&w->p[side].addr, p, n, now_of(w));
    w->input = NULL;
    return r;
}

bool trelay_both_ice(struct world *w)
{
    return w->p[0].connected && w->p[1].connected;
}

/* ICE-only world, both hops latched; then the 1.3-only ClientHello from side 0. */
void trelay_uninspectable_world(struct world *w, enum dcgw_dtls_inspect_policy policy, uint64_t pps,
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
    trelay_world_init(w, &o);
    trelay_run(w, trelay_both_ice, 2000);
    ck_assert(trelay_both_ice(w));
    ck_assert_int_eq(dcgw_relay_state(w->r), DCGW_RELAY_INSPECTING);
    uint8_t ch[256];
    size_t n = client_hello_13(ch);
    int r = trelay_inject(w, 0, ch, n);
    ck_assert_int_eq(r, policy == DCGW_INSPECT_REJECT_UNINSPECTABLE ? DCGW_RELAY_DROPPED
                                                                    : DCGW_RELAY_FORWARDED);
}

void trelay_assert_accounting(struct world *w)
{
    for (int k = 0; k < 2; k++) {
        const struct dcgw_relay_side_stats *s = dcgw_relay_stats(w->r, k);
        uint64_t sum = s->forwarded_packets + s->stun + s->stun_rejected + s->dropped_garbage +
                       s->dropped_unvalidated + s->dropped_no_peer + s->dropped_rate +
                       s->dropped_inspector + s->dropped_blocked + s->media_forwarded_packets +
                       s->dropped_media;
        ck_assert_uint_eq(s->rx_packets, sum);
    }
}
