/* libFuzzer target: the data-channel layer above SCTP (datachannel.h): DCEP open/ack state
 * over received messages, PPID dispatch, stream resets, and the owner's calls between them.
 *
 * Two endpoints back to back in memory, no DTLS: G (the one under test, dcgw's side) and P
 * (the peer). Every input gets a fresh connected pair. P speaks through its own endpoint
 * and, below it, straight through its SCTP association, so it can send what no data-channel
 * implementation would: any PPID on any stream, OPENs on busy or wrong-parity streams,
 * unexpected ACKs, resets at any time. G's callbacks act on decisions taken from the input
 * (refuse an open, close or free from inside a callback), which exercises re-entrancy.
 *
 * Input: [flags] then operations [op][arguments...] until the input ends (see run_op).
 * Flags: 1 G allows in-band opens, 2 G is the DTLS client (P the server), 4 a negotiated
 * channel pair on ids 1 and 2 before connecting, 8 G caps channels at 3, 16 G tolerates
 * opens of its own parity (tolerate_parity).
 *
 * Checks: every channel reported open is reported closed at most once and nothing is
 * delivered on a channel after that; no channel opened by the peer is reported when in-band
 * opens are off, nor one of the wrong parity unless tolerated (then counted); the channel count
 * stays within the cap; messages are at most max_message_size; the stats add up. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/datachannel.h"
#include "helper.h"

enum { QMAX = 512, PKT_MAX = 2048, ROUNDS = 4, STREAMS = 16, MAXMSG = 16 * 1024, MAX_OPS = 64 };

struct pkt {
    uint16_t n;
    uint8_t p[PKT_MAX];
};

struct end {
    struct dcgw_dc *dc;
    struct pkt *q;
    size_t nq;
    bool connected;
};

static struct end G, P;
static uint16_t port_seq;
static uint8_t loss_mask; /* packet i of a delivery round is dropped when bit i%8 is set */
static bool g_allow_dcep, g_client, g_tolerate;
static uint16_t g_max_channels;

/* What G's callbacks do, taken from the input. */
static const uint8_t *decide_p;
static size_t decide_n;
static uint8_t decide(void)
{
    if (!decide_n)
        return 0;
    decide_n--;
    return *decide_p++;
}

/* Channels of G reported open and not yet closed. */
static struct dcgw_dc_channel *live[STREAMS];

static void send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct end *e = ud;
    if (n > PKT_MAX || e->nq == QMAX)
        return;
    e->q[e->nq].n = (uint16_t)n;
    memcpy(e->q[e->nq].p, p, n);
    e->nq++;
}

static void deliver_all(struct end *from, struct end *to)
{
    static struct pkt tmp[QMAX];
    size_t n = from->nq;
    memcpy(tmp, from->q, n * sizeof(tmp[0]));
    from->nq = 0;
    for (size_t i = 0; i < n && to->dc; i++)
        if (!(loss_mask & (1u << (i % 8))))
            dcgw_dc_input(to->dc, tmp[i].p, tmp[i].n);
}

static void exchange(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        deliver_all(&P, &G);
        deliver_all(&G, &P);
        dcgw_sctp_handle_timers(10);
    }
}

static void check_channel(const struct dcgw_dc_channel *ch)
{
    if (ch->params.id >= STREAMS || ch->state > DCGW_DC_CLOSED)
        abort();
    if (!ch->negotiated && !ch->locally_opened) {
        /* opened by the peer: only with in-band opens allowed, and of the peer's parity */
        if (!g_allow_dcep || (!g_tolerate && (ch->params.id % 2 == 1) != g_client))
            abort();
    }
}

/* ---- G's callbacks */

static void g_connected(void *ud)
{
    ((struct end *)ud)->connected = true;
}

static bool g_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    (void)ud;
    check_channel(ch);
    if (ch->state != DCGW_DC_CONNECTING || ch->negotiated || ch->locally_opened)
        abort();
    return (decide() & 3) != 0;
}

static void g_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct end *e = ud;
    check_channel(ch);
    if (ch->state != DCGW_DC_OPEN || live[ch->params.id])
        abort();
    live[ch->params.id] = ch;
    uint8_t d = decide();
    if (d == 'c') /* close at once, from inside the callback */
        dcgw_dc_close_channel(e->dc, ch);
    else if (d == 's')
        dcgw_dc_send(e->dc, ch, true, (const uint8_t *)"hello", 5);
}

static void g_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                      size_t n)
{
    (void)is_text;
    struct end *e = ud;
    check_channel(ch);
    if (live[ch->params.id] != ch || ch->state != DCGW_DC_OPEN || n > MAXMSG || (n && !p))
        abort();
    if (n == 0)
        return;
    switch (p[0]) {
    case 'e': /* echo, from inside the callback */
        dcgw_dc_send(e->dc, ch, is_text, p, n < 64 ? n : 64);
        break;
    case 'c':
        dcgw_dc_close_channel(e->dc, ch);
        break;
    case 'F': /* free the endpoint from inside its callback */
        dcgw_dc_free(e->dc);
        e->dc = NULL;
        memset(live, 0, sizeof(live));
        break;
    case 'S':
        dcgw_dc_close(e->dc);
        break;
    default:
        break;
    }
}

static void g_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    (void)ud;
    check_channel(ch);
    if (ch->state != DCGW_DC_CLOSED)
        abort();
    /* channels G created itself may close without having been reported open */
    if (live[ch->params.id] != ch && !(ch->negotiated || ch->locally_opened))
        abort();
    if (live[ch->params.id] == ch)
        live[ch->params.id] = NULL;
}

static void g_closed(void *ud)
{
    (void)ud;
    for (size_t i = 0; i < STREAMS; i++)
        if (live[i])
            abort(); /* every channel was closed just before */
}

/* ---- P's callbacks: a plain peer that accepts everything */

static void p_connected(void *ud)
{
    ((struct end *)ud)->connected = true;
}

static int setup(uint8_t flags)
{
    g_allow_dcep = flags & 1;
    g_client = flags & 2;
    g_tolerate = flags & 16;
    g_max_channels = flags & 8 ? 3 : 0;
    loss_mask = 0;
    memset(live, 0, sizeof(live));
    uint16_t pg = (uint16_t)(1000 + (port_seq++ % 30000) * 2), pp = (uint16_t)(pg + 1);
    struct dcgw_dc_settings sg, sp;
    dcgw_dc_settings_default(&sg);
    sg.sctp.local_port = pg;
    sg.sctp.remote_port = pp;
    sg.sctp.streams = STREAMS;
    sg.sctp.max_message_size = MAXMSG;
    sg.sctp.sndbuf = 64 * 1024;
    sg.sctp.rcvbuf = 64 * 1024;
    sg.dtls_client = g_client;
    sg.allow_dcep = g_allow_dcep;
    sg.tolerate_parity = g_tolerate;
    sg.max_channels = g_max_channels;
    sp = sg;
    sp.tolerate_parity = false;
    sp.sctp.local_port = pp;
    sp.sctp.remote_port = pg;
    sp.sctp.max_send_size = MAXMSG + 4096; /* P may send what G must refuse */
    sp.dtls_client = !g_client;
    sp.allow_dcep = true;
    sp.max_channels = 0;
    G.nq = P.nq = 0;
    G.connected = P.connected = false;
    struct dcgw_dc_callbacks cg = {.ud = &G,
                                   .send_packet = send_packet,
                                   .on_connected = g_connected,
                                   .on_open_request = g_open_request,
                                   .on_channel_open = g_channel_open,
                                   .on_message = g_message,
                                   .on_channel_closed = g_channel_closed,
                                   .on_closed = g_closed};
    struct dcgw_dc_callbacks cp = {
        .ud = &P, .send_packet = send_packet, .on_connected = p_connected};
    if (dcgw_dc_new(&sg, &cg, &G.dc) != 0 || dcgw_dc_new(&sp, &cp, &P.dc) != 0)
        return -1;
    if (flags & 4) { /* SDP-negotiated channels on both sides, before the association */
        for (uint16_t id = 1; id <= 2; id++) {
            struct dcgw_dc_params p = {.id = id, .ordered = id == 1};
            struct dcgw_dc_channel *ch;
            snprintf(p.label, sizeof(p.label), "neg%u", id);
            if (dcgw_dc_add_negotiated(G.dc, &p, &ch) != 0 ||
                dcgw_dc_add_negotiated(P.dc, &p, &ch) != 0)
                return -1;
        }
    }
    dcgw_dc_connect(G.dc);
    dcgw_dc_connect(P.dc);
    for (int i = 0; i < 20 && !(G.connected && P.connected); i++)
        exchange(1);
    return G.connected && P.connected ? 0 : -1;
}

static void teardown(void)
{
    dcgw_dc_free(G.dc);
    dcgw_dc_free(P.dc);
    G.dc = P.dc = NULL;
    G.nq = P.nq = 0;
    dcgw_sctp_handle_timers(100); /* let usrsctp reap the closed sockets */
    dcgw_sctp_handle_timers(100);
}

/* ---- the input */

static const uint32_t PPIDS[] = {50, 51, 52, 53, 54, 56, 57, 0, 1, 55, 58, 0xffffffffu};

static void params_from(struct fuzz_in *in, struct dcgw_dc_params *p, uint16_t id)
{
    memset(p, 0, sizeof(*p));
    uint8_t t = fuzz_u8(in);
    p->id = id;
    p->ordered = t & 1;
    p->reliability = (enum dcgw_dc_reliability)((t >> 1) % 3);
    p->reliability_param = fuzz_u8(in);
    p->priority = (uint16_t)(t >> 3) * 64;
    size_t n;
    const uint8_t *l = fuzz_bytes(in, &n);
    for (size_t i = 0; i < n && i < 16; i++) /* printable: DCEP wants UTF-8 without NUL */
        p->label[i] = (char)(0x20 + l[i] % 0x5f);
}

static struct dcgw_dc_channel *chan_of(struct end *e, uint8_t id)
{
    return e->dc ? dcgw_dc_channel_by_id(e->dc, id % STREAMS) : NULL;
}

static void raw_send(struct fuzz_in *in)
{
    uint8_t sel = fuzz_u8(in);
    uint16_t stream = (uint16_t)(fuzz_u8(in) % (STREAMS + 2)); /* a few beyond the streams too */
    uint32_t ppid = PPIDS[(sel & 0x0f) % (sizeof(PPIDS) / sizeof(PPIDS[0]))];
    struct dcgw_sctp_sendopts o = {.unordered = sel & 0x10,
                                   .pr = (sel & 0x20) ? DCGW_SCTP_PR_RTX : DCGW_SCTP_PR_NONE};
    size_t n;
    const uint8_t *p = fuzz_bytes(in, &n);
    if (n == 0)
        p = (const uint8_t *)"", n = 1; /* SCTP carries no empty messages */
    dcgw_sctp_send(dcgw_dc_sctp(P.dc), stream, ppid, &o, p, n);
}

static void raw_open(struct fuzz_in *in)
{
    uint16_t stream = (uint16_t)(fuzz_u8(in) % (STREAMS + 2));
    uint8_t t = fuzz_u8(in);
    static const uint8_t types[] = {0x00, 0x01, 0x02, 0x80, 0x81, 0x82};
    size_t ln, pn;
    const uint8_t *l = fuzz_bytes(in, &ln);
    const uint8_t *pr = fuzz_bytes(in, &pn);
    struct dcgw_dcep_open o = {.channel_type = types[t % sizeof(types)],
                               .priority = (uint16_t)(t * 3),
                               .reliability = t >> 4,
                               .label = l,
                               .label_len = (uint16_t)ln,
                               .protocol = pr,
                               .protocol_len = (uint16_t)pn};
    uint8_t buf[DCGW_DCEP_OPEN_MAX];
    size_t n;
    if (dcgw_dcep_encode_open(&o, buf, sizeof(buf), &n) == 0) /* strings are not checked */
        dcgw_sctp_send(dcgw_dc_sctp(P.dc), stream, DCGW_PPID_DCEP, NULL, buf, n);
}

/* One operation; returns false when the pair is gone. */
static bool run_op(struct fuzz_in *in)
{
    uint8_t op = fuzz_u8(in);
    struct dcgw_dc_channel *ch;
    struct dcgw_dc_params p;
    size_t n;
    const uint8_t *b;
    uint16_t ids[2];
    switch (op % 16) {
    case 0: /* P: any message, any PPID, any stream, straight through SCTP */
        raw_send(in);
        break;
    case 1: /* P: a DATA_CHANNEL_OPEN on any stream */
        raw_open(in);
        break;
    case 2: { /* P: a DATA_CHANNEL_ACK on any stream */
        uint8_t ack = DCGW_DCEP_ACK;
        dcgw_sctp_send(dcgw_dc_sctp(P.dc), (uint16_t)(fuzz_u8(in) % STREAMS), DCGW_PPID_DCEP, NULL,
                       &ack, 1);
        break;
    }
    case 3: /* P: resets one or two outgoing streams, channel or not */
        ids[0] = (uint16_t)(fuzz_u8(in) % (STREAMS + 2));
        ids[1] = (uint16_t)(fuzz_u8(in) % STREAMS);
        dcgw_sctp_reset_streams(dcgw_dc_sctp(P.dc), ids, (op & 0x10) ? 2 : 1);
        break;
    case 4: /* G opens a channel in band */
        if (G.dc) {
            uint8_t id = fuzz_u8(in);
            params_from(in, &p, id & 0x80 ? DCGW_DC_ID_AUTO : id % STREAMS);
            dcgw_dc_open(G.dc, &p, &ch);
        }
        break;
    case 5: /* P opens a channel in band (its endpoint follows the rules) */
        params_from(in, &p, DCGW_DC_ID_AUTO);
        dcgw_dc_open(P.dc, &p, &ch);
        break;
    case 6: /* G sends */
        ch = chan_of(&G, fuzz_u8(in));
        b = fuzz_bytes(in, &n);
        if (ch)
            dcgw_dc_send(G.dc, ch, op & 0x10, b, n);
        break;
    case 7: /* G closes a channel */
        if ((ch = chan_of(&G, fuzz_u8(in))))
            dcgw_dc_close_channel(G.dc, ch);
        break;
    case 8: /* P closes a channel */
        if ((ch = chan_of(&P, fuzz_u8(in))))
            dcgw_dc_close_channel(P.dc, ch);
        break;
    case 9: /* G adds a negotiated channel while connected */
        if (G.dc) {
            params_from(in, &p, (uint16_t)(fuzz_u8(in) % (STREAMS + 1)));
            /* open at once, without a callback */
            if (dcgw_dc_add_negotiated(G.dc, &p, &ch) == 0 && ch->state == DCGW_DC_OPEN)
                live[ch->params.id] = ch;
        }
        break;
    case 10: /* time passes */
        dcgw_sctp_handle_timers((uint32_t)fuzz_u8(in) * 20);
        break;
    case 11: /* P sends on one of its channels */
        ch = chan_of(&P, fuzz_u8(in));
        b = fuzz_bytes(in, &n);
        if (ch)
            dcgw_dc_send(P.dc, ch, op & 0x10, b, n);
        break;
    case 12: /* loss on the link from now on */
        loss_mask = fuzz_u8(in);
        break;
    case 13: /* G shuts the association down gracefully */
        if (G.dc)
            dcgw_dc_close(G.dc);
        break;
    case 14: /* P aborts: its endpoint goes away */
        dcgw_dc_free(P.dc);
        P.dc = NULL;
        exchange(ROUNDS);
        return false;
    default: /* P: a burst of one message on several streams; with 0x10 a big one, up to
              * beyond G's max_message_size */
        b = fuzz_bytes(in, &n);
        if ((op & 0x10) && n) {
            static uint8_t big[MAXMSG + 4096];
            size_t k = n * 80 < sizeof(big) ? n * 80 : sizeof(big);
            for (size_t i = 0; i < k; i++)
                big[i] = b[i % n];
            b = big, n = k;
        }
        for (uint16_t s = 0; s < STREAMS && n; s += 3)
            dcgw_sctp_send(dcgw_dc_sctp(P.dc), s, DCGW_PPID_BINARY, NULL, b, n);
        break;
    }
    exchange(ROUNDS);
    return G.dc != NULL;
}

static void check_stats(void)
{
    if (!G.dc)
        return;
    const struct dcgw_dc_stats *st = dcgw_dc_stats(G.dc);
    if (st->dcep_bad > st->dcep_in || st->acks_in + st->acks_unexpected > st->dcep_in ||
        st->opens_accepted > st->dcep_in)
        abort();
    size_t open = 0; /* channels the owner can see; refused ones wait hidden for resets */
    for (uint16_t id = 0; id < STREAMS; id++) {
        struct dcgw_dc_channel *c = dcgw_dc_channel_by_id(G.dc, id);
        if (live[id] && c != live[id])
            abort();
        open += c != NULL;
    }
    if (open > dcgw_dc_channel_count(G.dc) || (g_max_channels && open > g_max_channels))
        abort();
    if (!g_allow_dcep && st->opens_accepted)
        abort();
    if ((!g_tolerate && st->opens_wrong_parity) || st->opens_wrong_parity > st->opens_accepted)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    G.q = calloc(QMAX, sizeof(struct pkt));
    P.q = calloc(QMAX, sizeof(struct pkt));
    return G.q && P.q && dcgw_sctp_stack_init(NULL) == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fuzz_in in = {data + 1, size - 1};
    /* the decisions of G's callbacks come from the end of the input */
    size_t nd = in.n / 8;
    decide_p = in.p + in.n - nd;
    decide_n = nd;
    in.n -= nd;
    if (setup(data[0]) == 0) {
        for (int k = 0; k < MAX_OPS && in.n && run_op(&in); k++)
            check_stats();
        check_stats();
    }
    teardown();
    return 0;
}
