/* libFuzzer target: one relay flow (relay.h), both hops, the way the worker feeds it.
 *
 * Input: [flags][sha-256 digest of side 0's certificate (32)][same for side 1 (32)] then a
 * sequence of [op][2-byte big-endian length][datagram]: op bit 0 is the side, bit 1 sends
 * it from an address that never passed a check, bits 2..7 advance the clock by that many
 * times 100 ms first (and run the timers). Flags: bit 0 allow uninspectable handshakes,
 * bit 1 rate limits. Before the input, each hop gets one valid connectivity check (made
 * here with dcgw_ice_client and the credentials tests/unit/helper_relay.c uses), so the
 * fuzzer starts from a latched flow; the seeds (DCGW_RELAY_CORPUS=dir test_relay) are real
 * handshakes through the relay with their certificates' digests in the header.
 *
 * Checks the stage's promises whatever comes in: results in range, forwarded bytes are
 * the input itself, to the other side's latched address, nothing forwarded after a final
 * state, counters add up. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/stages/relay.h"
#include "helper.h"

static const char *const PEER_UFRAG[2] = {"ueufrag1", "asufrag1"};
static const char *const PEER_PWD[2] = {"uepassword0123456789abcd", "aspassword0123456789abcd"};
static const char *const GW_UFRAG[2] = {"gwside0a", "gwside1b"};
static const char *const GW_PWD[2] = {"gwpassword0side0abcdefgh", "gwpassword1side1abcdefgh"};

static struct sockaddr_storage peer_addr[2], stranger, gw;
static uint8_t check[2][512];
static size_t check_n[2];

struct ctx {
    struct dcgw_relay *r;
    const uint8_t *input;
    size_t input_n;
    bool final_seen;
};

static void capture(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)to;
    int k = *(int *)ud;
    if (n > sizeof(check[k]))
        abort();
    memcpy(check[k], p, n);
    check_n[k] = n;
}

static void init(void)
{
    dcgw_addr_parse("198.51.100.7:40000", &peer_addr[0]);
    dcgw_addr_parse("203.0.113.9:50000", &peer_addr[1]);
    dcgw_addr_parse("198.51.100.99:1234", &stranger);
    dcgw_addr_parse("192.0.2.1:3478", &gw);
    for (int k = 0; k < 2; k++) {
        static int side[2] = {0, 1};
        struct dcgw_ice_client_settings cs;
        dcgw_ice_client_settings_default(&cs);
        cs.local_ufrag = PEER_UFRAG[k];
        cs.local_pwd = PEER_PWD[k];
        cs.remote_ufrag = GW_UFRAG[k];
        cs.remote_pwd = GW_PWD[k];
        struct dcgw_ice_client_cbs cc = {.ud = &side[k], .send = capture};
        struct dcgw_ice_client *ic;
        if (dcgw_ice_client_new(&cs, &cc, &ic) != 0 ||
            dcgw_ice_client_start(ic, (struct sockaddr *)&gw, 0) != 0 || check_n[k] == 0)
            abort();
        dcgw_ice_client_free(ic);
    }
}

static void on_send(void *ud, int side, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct ctx *c = ud;
    if (side < 0 || side > 1 || !to)
        abort();
    /* forwarded DTLS is the input buffer itself; STUN answers are the agent's own */
    if (p != c->input && (n < 20 || p[0] > 3))
        abort();
    if (p == c->input && (n != c->input_n || c->final_seen))
        abort();
}

static void on_event(void *ud, enum dcgw_relay_event ev, int side)
{
    struct ctx *c = ud;
    if (ev == DCGW_RELAY_EV_BLOCKED || ev == DCGW_RELAY_EV_FAILED) {
        if (c->final_seen)
            abort(); /* final states are raised once */
        c->final_seen = true;
    }
    if (side < -1 || side > 1)
        abort();
}

static void accounting(const struct dcgw_relay *r)
{
    for (int k = 0; k < 2; k++) {
        const struct dcgw_relay_side_stats *s = dcgw_relay_stats(r, k);
        uint64_t sum = s->forwarded_packets + s->stun + s->stun_rejected + s->dropped_garbage +
                       s->dropped_unvalidated + s->dropped_no_peer + s->dropped_rate +
                       s->dropped_inspector + s->dropped_blocked + s->media_forwarded_packets +
                       s->dropped_media;
        if (sum != s->rx_packets)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (check_n[0] == 0)
        init();
    if (size < 65)
        return 0;
    uint8_t flags = data[0];
    struct dcgw_fingerprint fps[2];
    struct dcgw_relay_settings s;
    dcgw_relay_settings_default(&s);
    for (int k = 0; k < 2; k++) {
        fps[k].alg = DCGW_HASH_SHA256;
        fps[k].len = 32;
        memcpy(fps[k].digest, data + 1 + 32 * k, 32);
        s.side[k] = (struct dcgw_relay_side_settings){.local_ufrag = GW_UFRAG[k],
                                                      .local_pwd = GW_PWD[k],
                                                      .remote_ufrag = PEER_UFRAG[k],
                                                      .remote_pwd = PEER_PWD[k],
                                                      .fps = &fps[k],
                                                      .n_fps = 1};
    }
    s.policy =
        flags & 1 ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : DCGW_INSPECT_REJECT_UNINSPECTABLE;
    if (flags & 2) {
        s.max_packets_per_s = 50;
        s.max_bytes_per_s = 20000;
    }
    s.consent_timeout_ms = 5000;
    s.setup_timeout_ms = 20000;
    struct ctx c = {0};
    struct dcgw_relay_cbs cbs = {.ud = &c, .send = on_send, .on_event = on_event};
    uint64_t now = 1000;
    if (dcgw_relay_new(&s, &cbs, now, &c.r) != 0)
        abort();
    for (int k = 0; k < 2; k++)
        if (dcgw_relay_input(c.r, k, (struct sockaddr *)&peer_addr[k], check[k], check_n[k], now) !=
            DCGW_RELAY_STUN_OK)
            abort();
    struct fuzz_in in = {data + 65, size - 65};
    while (in.n >= 3) {
        uint8_t op = fuzz_u8(&in);
        size_t n;
        const uint8_t *p = fuzz_bytes16(&in, &n);
        if (op >> 2) {
            now += (uint64_t)(op >> 2) * 100;
            if (dcgw_relay_next_timeout(c.r) <= now)
                dcgw_relay_handle_timeout(c.r, now);
        }
        int side = op & 1;
        const struct sockaddr *from =
            op & 2 ? (struct sockaddr *)&stranger : (struct sockaddr *)&peer_addr[side];
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        memcpy(copy, p, n);
        c.input = copy;
        c.input_n = n;
        int r = dcgw_relay_input(c.r, side, from, copy, n, now);
        c.input = NULL;
        free(copy);
        if (r < DCGW_RELAY_FORWARDED || r > DCGW_RELAY_DROPPED)
            abort();
        enum dcgw_relay_state st = dcgw_relay_state(c.r);
        if ((st == DCGW_RELAY_BLOCKED || st == DCGW_RELAY_FAILED) != c.final_seen)
            abort();
    }
    accounting(c.r);
    dcgw_relay_free(c.r);
    return 0;
}
