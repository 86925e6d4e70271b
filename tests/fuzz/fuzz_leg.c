/* libFuzzer target: one whole terminated leg (leg.h) the way the worker builds it, demux ->
 * ICE-lite -> DTLS -> SCTP -> data channels, fed datagrams by a script.
 *
 * Every input gets a fresh pair: T, the leg under test (ICE-lite, data channels), and P, a
 * genuine peer (dcgw's controlling client leg with its own data-channel endpoint above it,
 * so the harness sees P's SCTP packets and can forge packets T will accept). Nothing moves
 * until the script pumps, so every stage can be hit before, during and after the
 * handshakes: raw datagrams from P's address or a stranger's, STUN with a correct
 * MESSAGE-INTEGRITY and FINGERPRINT recomputed over fuzzed attributes, mutated, dropped,
 * duplicated and replayed genuine datagrams, genuine DTLS from an unvalidated address,
 * forged SCTP packets inside genuine DTLS, data-channel traffic both ways, timers.
 *
 * Input: [flags] then operations [op][arguments...] (see run_op). Flags: 1 T is the DTLS
 * client, 2 T allows in-band opens, 4 a negotiated channel on id 1 on both sides, 8 short
 * consent and setup timeouts.
 *
 * Checks: T sends nothing but STUN to an address ICE has not validated, and nothing at all
 * once it failed; T connects only to P's certificate; data-channel callbacks come only
 * while T is connected; channels are reported closed at most once. */
#include <arpa/inet.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/bytes.h"
#include "dcgw/base/crc32c.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/leg.h"
#include "helper.h"

enum { QMAX = 256, DGRAM_MAX = 1600, HIST = 32, STREAMS = 16, MAX_OPS = 96, MAXMSG = 16384 };

static const char T_UFRAG[] = "gwleg001", T_PWD[] = "gatewaypassword012345678";
static const char P_UFRAG[] = "ueufrag1", P_PWD[] = "uepassword0123456789abcd";

struct dgram {
    uint16_t n;
    struct sockaddr_storage to;
    uint8_t p[DGRAM_MAX];
};

struct side {
    struct dcgw_leg *leg;
    struct dgram *q; /* sent, not yet delivered */
    size_t nq;
    struct sockaddr_storage addr;
    bool connected, failed;
};

static struct side T, P;
static struct dcgw_dc *pdc; /* P's data channels, above P's leg */
static struct dcgw_dtls_ctx *ctx_t, *ctx_p;
static struct dcgw_fingerprint fp_t, fp_p;
static struct sockaddr_storage stranger;
static uint64_t now;
static uint16_t port_seq;
static uint32_t p_vtag;         /* the verification tag T expects (seen in P's packets) */
static uint16_t p_port, t_port; /* SCTP ports of P and T */
static struct dgram hist[HIST]; /* P -> T datagrams seen, for replays */
static size_t nhist;
static struct dcgw_dc_channel *live[STREAMS];

/* A pending tamper of the P -> T datagrams: the k-th next one. */
static struct {
    bool armed;
    uint8_t k, mode; /* 0 xor a byte, 1 truncate, 2 drop, 3 duplicate, 4 from the stranger */
    uint16_t off;
    uint8_t x;
} tamper;

/* ---- T's callbacks */

static bool is_stun(const uint8_t *p, size_t n)
{
    return n > 0 && p[0] <= 3; /* RFC 7983 */
}

static void t_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)ud;
    if (T.failed || n == 0 || n > DGRAM_MAX)
        abort();
    if (!is_stun(p, n) && !dcgw_leg_knows(T.leg, to))
        abort(); /* DTLS only toward an ICE-validated address */
    if (T.nq == QMAX)
        return;
    struct dgram *d = &T.q[T.nq++];
    d->n = (uint16_t)n;
    memcpy(&d->to, to, dcgw_addr_len(to));
    memcpy(d->p, p, n);
}

static void t_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)ud;
    if (T.connected || fp->len != fp_p.len || memcmp(fp->digest, fp_p.digest, fp->len) != 0)
        abort();
    T.connected = true;
}

static void t_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)ud, (void)cause, (void)err, (void)reason;
    if (T.failed)
        abort(); /* raised once */
    T.failed = true;
}

static void t_need_connected(void)
{
    if (dcgw_leg_state(T.leg) != DCGW_LEG_CONNECTED && !T.failed)
        abort();
}

static void t_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    (void)ud;
    t_need_connected();
    if (ch->params.id >= STREAMS || live[ch->params.id])
        abort();
    live[ch->params.id] = ch;
}

static void t_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                      size_t n)
{
    (void)ud;
    t_need_connected();
    if (ch->params.id >= STREAMS || live[ch->params.id] != ch || n > MAXMSG)
        abort();
    if (n && p[0] == 'e') /* echo from inside the callback, as a bridge would */
        dcgw_dc_send(dcgw_leg_dc(T.leg), ch, is_text, p, n < 256 ? n : 256);
}

static void t_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    (void)ud;
    if (ch->params.id < STREAMS && live[ch->params.id] == ch)
        live[ch->params.id] = NULL;
}

/* ---- P: a leg without data channels of its own, with pdc above it */

static void p_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)ud;
    if (P.nq == QMAX || n > DGRAM_MAX)
        return;
    struct dgram *d = &P.q[P.nq++];
    d->n = (uint16_t)n;
    memcpy(&d->to, to, dcgw_addr_len(to));
    memcpy(d->p, p, n);
}

static void p_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)ud, (void)fp;
    P.connected = true;
    if (pdc)
        dcgw_dc_connect(pdc);
}

static void p_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)ud, (void)cause, (void)err, (void)reason;
    P.failed = true;
}

static void p_data(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    if (pdc)
        dcgw_dc_input(pdc, p, n);
}

static void pdc_send_packet(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    if (n >= 12)
        p_vtag = dcgw_be32(p + 4);
    if (P.leg && dcgw_leg_state(P.leg) == DCGW_LEG_CONNECTED)
        dcgw_leg_send_data(P.leg, p, n);
}

/* ---- the pair */

static int setup(uint8_t flags)
{
    memset(live, 0, sizeof(live));
    memset(&tamper, 0, sizeof(tamper));
    T.nq = P.nq = 0;
    T.connected = T.failed = P.connected = P.failed = false;
    nhist = 0;
    p_vtag = 0;
    now = 1000;
    t_port = (uint16_t)(1000 + (port_seq++ % 30000) * 2);
    p_port = (uint16_t)(t_port + 1);

    struct dcgw_dc_settings dcs;
    dcgw_dc_settings_default(&dcs);
    dcs.sctp.local_port = t_port;
    dcs.sctp.remote_port = p_port;
    dcs.sctp.streams = STREAMS;
    dcs.sctp.max_message_size = MAXMSG;
    dcs.sctp.sndbuf = 64 * 1024;
    dcs.sctp.rcvbuf = 64 * 1024;
    dcs.allow_dcep = flags & 2;
    struct dcgw_dc_callbacks tcb = {.on_channel_open = t_channel_open,
                                    .on_message = t_message,
                                    .on_channel_closed = t_channel_closed};
    bool t_client = flags & 1;
    uint32_t timeout = flags & 8 ? 3000 : 0;
    struct dcgw_leg_settings ts = {
        .ice_role = DCGW_LEG_ICE_LITE,
        .local_ufrag = T_UFRAG,
        .local_pwd = T_PWD,
        .remote_ufrag = P_UFRAG,
        .remote_pwd = P_PWD,
        .dtls_client = t_client,
        .remote_fps = &fp_p,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .consent_timeout_ms = timeout,
        .setup_timeout_ms = timeout,
        .dtls_initial_timeout_ms = 50,
        .dc = &dcs,
        .dc_cbs = &tcb,
    };
    struct dcgw_leg_cbs tc = {
        .ud = &T, .send = t_send, .on_connected = t_connected, .on_failed = t_failed};
    if (dcgw_leg_new(ctx_t, &ts, &tc, &T.leg) != 0)
        return -1;

    struct dcgw_leg_settings ps = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = P_UFRAG,
        .local_pwd = P_PWD,
        .remote_ufrag = T_UFRAG,
        .remote_pwd = T_PWD,
        .remote_candidate = (struct sockaddr *)&T.addr,
        .dtls_client = !t_client,
        .remote_fps = &fp_t,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 50,
    };
    struct dcgw_leg_cbs pc = {.ud = &P,
                              .send = p_send,
                              .on_connected = p_connected,
                              .on_failed = p_failed,
                              .on_data = p_data};
    if (dcgw_leg_new(ctx_p, &ps, &pc, &P.leg) != 0)
        return -1;
    struct dcgw_dc_settings pds = dcs;
    pds.sctp.local_port = p_port;
    pds.sctp.remote_port = t_port;
    pds.dtls_client = !t_client;
    pds.allow_dcep = true;
    struct dcgw_dc_callbacks pcb = {.send_packet = pdc_send_packet};
    if (dcgw_dc_new(&pds, &pcb, &pdc) != 0)
        return -1;
    if (flags & 4) { /* a=dcmap:1 on both sides */
        struct dcgw_dc_params p = {.id = 1, .ordered = true};
        snprintf(p.label, sizeof(p.label), "negotiated");
        struct dcgw_dc_channel *ch;
        if (dcgw_dc_add_negotiated(dcgw_leg_dc(T.leg), &p, &ch) != 0 ||
            dcgw_dc_add_negotiated(pdc, &p, &ch) != 0)
            return -1;
    }
    dcgw_leg_start(T.leg, now);
    dcgw_leg_start(P.leg, now);
    return 0;
}

static void teardown(void)
{
    dcgw_dc_free(pdc);
    pdc = NULL;
    dcgw_leg_free(T.leg);
    dcgw_leg_free(P.leg);
    T.leg = P.leg = NULL;
    dcgw_sctp_handle_timers(100); /* let usrsctp reap the closed sockets */
    dcgw_sctp_handle_timers(100);
}

/* ---- moving datagrams */

static void to_t(const struct sockaddr *from, const uint8_t *p, size_t n)
{
    int r = dcgw_leg_input(T.leg, from, p, n, now);
    if (r > 0)
        abort();
}

static void deliver_p_to_t(void)
{
    static struct dgram tmp[QMAX];
    size_t n = P.nq;
    memcpy(tmp, P.q, n * sizeof(tmp[0]));
    P.nq = 0;
    for (size_t i = 0; i < n; i++) {
        struct dgram *d = &tmp[i];
        hist[nhist++ % HIST] = *d;
        const struct sockaddr *from = (struct sockaddr *)&P.addr;
        if (tamper.armed && tamper.k-- == 0) {
            tamper.armed = false;
            switch (tamper.mode) {
            case 0:
                d->p[tamper.off % d->n] ^= tamper.x ? tamper.x : 1;
                break;
            case 1:
                d->n = tamper.off % d->n;
                break;
            case 2:
                continue;
            case 3:
                to_t(from, d->p, d->n);
                break;
            default:
                from = (struct sockaddr *)&stranger;
                break;
            }
        }
        to_t(from, d->p, d->n);
    }
}

static void deliver_t_to_p(void)
{
    static struct dgram tmp[QMAX];
    size_t n = T.nq;
    memcpy(tmp, T.q, n * sizeof(tmp[0]));
    T.nq = 0;
    for (size_t i = 0; i < n; i++) /* what goes to the stranger is lost */
        if (dcgw_addr_equal((struct sockaddr *)&tmp[i].to, (struct sockaddr *)&P.addr))
            dcgw_leg_input(P.leg, (struct sockaddr *)&T.addr, tmp[i].p, tmp[i].n, now);
}

static void timers(void)
{
    if (dcgw_leg_next_timeout(T.leg) <= now)
        dcgw_leg_handle_timeout(T.leg, now);
    if (dcgw_leg_next_timeout(P.leg) <= now)
        dcgw_leg_handle_timeout(P.leg, now);
}

static void pump(unsigned rounds)
{
    for (unsigned r = 0; r < rounds; r++) {
        deliver_p_to_t();
        deliver_t_to_p();
        now += 2;
        timers();
        dcgw_sctp_handle_timers(2);
    }
}

/* ---- forging */

/* Makes MESSAGE-INTEGRITY (keyed with T's password) and a FINGERPRINT right after it
 * correct, whatever else the message holds (RFC 8489 §14.5, §14.7). */
static size_t fix_stun(uint8_t *b, size_t n)
{
    if (n < 20)
        return n;
    for (size_t off = 20; off + 4 <= n;) {
        size_t type = dcgw_be16(b + off), len = dcgw_be16(b + off + 2);
        if (type == 0x0008 && off + 24 <= n) {
            dcgw_put_be16(b + 2, (uint16_t)(off + 24 - 20));
            unsigned mlen = 20;
            HMAC(EVP_sha1(), T_PWD, (int)strlen(T_PWD), b, off, b + off + 4, &mlen);
            dcgw_put_be16(b + off + 2, 20);
            size_t end = off + 24;
            if (end + 8 <= n && b[end] == 0x80 && b[end + 1] == 0x28) {
                dcgw_put_be16(b + 2, (uint16_t)(end + 8 - 20));
                dcgw_put_be16(b + end + 2, 4);
                uint32_t crc = (uint32_t)crc32(0, b, (uInt)end) ^ 0x5354554eu;
                dcgw_put_be32(b + end + 4, crc);
                end += 8;
            }
            return end;
        }
        off += 4 + ((len + 3) & ~(size_t)3);
    }
    return n;
}

/* An SCTP packet to carry to T in genuine DTLS: optionally the right ports, tag, CRC. */
static void forge_sctp(uint8_t *b, size_t n, uint8_t how)
{
    if (n < 12)
        return;
    if (how & 1) {
        dcgw_put_be16(b, p_port);
        dcgw_put_be16(b + 2, t_port);
    }
    if (how & 2)
        dcgw_put_be32(b + 4, p_vtag);
    if (how & 4) {
        memset(b + 8, 0, 4);
        uint32_t crc = dcgw_crc32c(b, n);
        b[8] = (uint8_t)crc, b[9] = (uint8_t)(crc >> 8);
        b[10] = (uint8_t)(crc >> 16), b[11] = (uint8_t)(crc >> 24);
    }
}

/* ---- the script */

static struct dcgw_dc_channel *p_chan(uint8_t id)
{
    return pdc ? dcgw_dc_channel_by_id(pdc, id % STREAMS) : NULL;
}

static void run_op(struct fuzz_in *in)
{
    static uint8_t b[DGRAM_MAX];
    uint8_t op = fuzz_u8(in), a;
    size_t n;
    struct sockaddr_in *sin = (struct sockaddr_in *)&stranger;
    struct dcgw_dc_channel *ch;
    switch (op % 16) {
    case 0:
    case 15: /* let both sides talk */
        pump(1 + (op >> 4));
        break;
    case 1: /* anything, from P's address */
        n = fuzz_blob(in, b, sizeof(b));
        to_t((struct sockaddr *)&P.addr, b, n);
        break;
    case 2: /* anything, from a stranger */
        sin->sin_port = htons((uint16_t)(40000 + fuzz_u8(in)));
        n = fuzz_blob(in, b, sizeof(b));
        to_t((struct sockaddr *)&stranger, b, n);
        break;
    case 3: /* STUN with correct integrity, from P or a stranger */
        n = fix_stun(b, fuzz_blob(in, b, sizeof(b)));
        to_t(op & 0x10 ? (struct sockaddr *)&stranger : (struct sockaddr *)&P.addr, b, n);
        break;
    case 4: /* tamper with a coming P -> T datagram */
        tamper.armed = true;
        tamper.k = fuzz_u8(in) % 8;
        tamper.mode = (uint8_t)((op >> 4) % 5);
        a = fuzz_u8(in); /* the high byte first (the operands of | are not sequenced) */
        tamper.off = (uint16_t)(a << 8 | fuzz_u8(in));
        tamper.x = fuzz_u8(in);
        break;
    case 5: { /* P opens a channel in band */
        struct dcgw_dc_params p;
        memset(&p, 0, sizeof(p));
        p.id = DCGW_DC_ID_AUTO;
        a = fuzz_u8(in);
        p.ordered = a & 1;
        p.reliability = (enum dcgw_dc_reliability)((a >> 1) % 3);
        p.reliability_param = a >> 3;
        snprintf(p.label, sizeof(p.label), "ch%u", a);
        if (pdc)
            dcgw_dc_open(pdc, &p, &ch);
        break;
    }
    case 6: /* P sends on a channel */
        ch = p_chan(fuzz_u8(in));
        n = fuzz_blob(in, b, MAXMSG < sizeof(b) ? MAXMSG : sizeof(b));
        if (ch)
            dcgw_dc_send(pdc, ch, op & 0x10, b, n);
        break;
    case 7: /* P closes a channel */
        if ((ch = p_chan(fuzz_u8(in))))
            dcgw_dc_close_channel(pdc, ch);
        break;
    case 8: /* a forged SCTP packet inside genuine DTLS */
        a = fuzz_u8(in);
        n = fuzz_blob(in, b, sizeof(b));
        forge_sctp(b, n, a);
        if (dcgw_leg_state(P.leg) == DCGW_LEG_CONNECTED && n)
            dcgw_leg_send_data(P.leg, b, n);
        break;
    case 9: /* time passes */
        now += (uint64_t)fuzz_u8(in) * 100;
        timers();
        dcgw_sctp_handle_timers(200);
        break;
    case 10: { /* T sends on a channel */
        struct dcgw_dc *tdc = dcgw_leg_dc(T.leg);
        a = fuzz_u8(in);
        n = fuzz_blob(in, b, MAXMSG < sizeof(b) ? MAXMSG : sizeof(b));
        ch = dcgw_dc_channel_by_id(tdc, a % STREAMS);
        if (ch)
            dcgw_dc_send(tdc, ch, op & 0x10, b, n);
        break;
    }
    case 11: /* T closes, as the worker does when a session ends */
        dcgw_leg_close(T.leg);
        T.failed = true; /* nothing may be sent after the close_notify */
        break;
    case 12: /* a genuine P -> T datagram again, from P or from a stranger */
        if (nhist) {
            struct dgram *d = &hist[fuzz_u8(in) % (nhist < HIST ? nhist : HIST)];
            to_t(op & 0x10 ? (struct sockaddr *)&stranger : (struct sockaddr *)&P.addr, d->p, d->n);
        }
        break;
    case 13: /* P's SCTP association goes away */
        dcgw_dc_free(pdc);
        pdc = NULL;
        break;
    default: /* straight to T's next deadline */
        if (dcgw_leg_next_timeout(T.leg) != UINT64_MAX && dcgw_leg_next_timeout(T.leg) > now)
            now = dcgw_leg_next_timeout(T.leg);
        timers();
        break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    T.q = calloc(QMAX, sizeof(struct dgram));
    P.q = calloc(QMAX, sizeof(struct dgram));
    struct dcgw_cert *ct = NULL, *cp = NULL;
    if (!T.q || !P.q || dcgw_cert_new(NULL, &ct) != 0 || dcgw_cert_new(NULL, &cp) != 0)
        return -1;
    struct dcgw_dtls_ctx_settings cs = {.cert = ct};
    if (dcgw_dtls_ctx_new(&cs, &ctx_t) != 0)
        return -1;
    cs.cert = cp;
    if (dcgw_dtls_ctx_new(&cs, &ctx_p) != 0)
        return -1;
    dcgw_cert_fingerprint(ct, DCGW_HASH_SHA256, &fp_t);
    dcgw_cert_fingerprint(cp, DCGW_HASH_SHA256, &fp_p);
    dcgw_cert_unref(ct);
    dcgw_cert_unref(cp);
    dcgw_addr_parse("192.0.2.1:3478", &T.addr);
    dcgw_addr_parse("198.51.100.7:40000", &P.addr);
    dcgw_addr_parse("198.51.100.99:40001", &stranger);
    return dcgw_sctp_stack_init(NULL) == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fuzz_in in = {data + 1, size - 1};
    if (setup(data[0]) == 0) {
        for (int k = 0; k < MAX_OPS && in.n; k++)
            run_op(&in);
        pump(4);
    }
    if (getenv("FUZZ_LEG_VERBOSE")) { /* how far an input got, for whoever writes seeds */
        const struct dcgw_leg_stats *st = dcgw_leg_stats(T.leg);
        struct dcgw_dc *tdc = dcgw_leg_dc(T.leg);
        fprintf(stderr, "leg state %d connected %d failed %d stun %llu dtls %llu channels %zu\n",
                (int)dcgw_leg_state(T.leg), T.connected, T.failed, (unsigned long long)st->rx_stun,
                (unsigned long long)st->rx_dtls, tdc ? dcgw_dc_channel_count(tdc) : 0);
    }
    teardown();
    return 0;
}
