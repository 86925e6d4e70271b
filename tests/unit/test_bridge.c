/* Two clients and the gateway back to back, no sockets (DESIGN.md §9):
 *
 *   client A ==lossy== [gw leg 0 | bridge | gw leg 1] ==lossy== client B
 *
 * Each link drops, duplicates and reorders datagrams. Every message of a reliable channel
 * must arrive exactly once and in order, with its type, whether the sender paces itself
 * or not, and while the far UE stops reading (the bridge then pushes back on the sender:
 * docs/bridge.md); partially reliable channels must not stall; DCEP channels get a twin
 * on the far leg. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/bridge.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/leg.h"
#include "dcgw/base/log.h"
#include "dcgw/stages/sctp.h"
#include "helper_lossy.h"
#include "helper_sctp_pair.h"

enum { NMSG = 300, MAXLOG = 4 * NMSG };

struct msg {
    uint16_t stream;
    bool text;
    size_t n;
    uint32_t seq;
};

struct node {
    const char *name;
    struct dcgw_leg *leg;
    struct lossy_link out;
    struct sockaddr_storage addr;
    struct node *peer;
    bool connected, failed, dc_up;
    /* client side: what arrived */
    struct msg log[MAXLOG];
    size_t nlog;
    size_t bad_content;
    struct dcgw_dc_channel *chan_by_label[4];
    char labels[4][DCGW_DCEP_LABEL_MAX + 1];
    int nlabels;
};

/* Test time: the real clock plus what idle steps skipped. usrsctp checks some timers
 * against the real clock too (docs/sctp.md), so time runs at most 10x faster than real,
 * and only while nothing is in flight. */
static uint64_t skew_ms;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + skew_ms;
}

static void on_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)to;
    lossy_send(&((struct node *)ud)->out, p, n);
}

static void on_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct node *)ud)->connected = true;
}

static void on_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)cause;
    struct node *nd = ud;
    nd->failed = true;
    fprintf(stderr, "%s failed: %s (%s)\n", nd->name, reason, dcgw_err_name(err));
}

/* ---- client data-channel callbacks */

static void cl_dc_connected(void *ud)
{
    ((struct node *)ud)->dc_up = true;
}

static void cl_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct node *nd = ud;
    if (nd->nlabels < 4) {
        snprintf(nd->labels[nd->nlabels], sizeof(nd->labels[0]), "%s", ch->params.label);
        nd->chan_by_label[nd->nlabels++] = ch;
    }
}

/* Payload: 4-byte sequence, then a byte pattern derived from it. */
static void fill(uint8_t *p, size_t n, uint32_t seq)
{
    for (size_t i = 0; i < n; i++)
        p[i] = i < 4 ? (uint8_t)(seq >> (8 * i)) : (uint8_t)(seq * 31 + i);
}

static void cl_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct node *nd = ud;
    uint32_t seq = UINT32_MAX;
    if (n >= 4) {
        seq = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint8_t *want = malloc(n);
        fill(want, n, seq);
        nd->bad_content += memcmp(want, p, n) != 0;
        free(want);
    }
    if (nd->nlog < MAXLOG)
        nd->log[nd->nlog++] = (struct msg){ch->params.id, is_text, n, seq};
}

static void cl_closed(void *ud)
{
    struct node *nd = ud;
    nd->dc_up = false;
    fprintf(stderr, "%s: association closed\n", nd->name);
}

static struct dcgw_dc_callbacks client_dc_cbs(struct node *nd)
{
    struct dcgw_dc_callbacks c = {.ud = nd,
                                  .on_connected = cl_dc_connected,
                                  .on_channel_open = cl_channel_open,
                                  .on_message = cl_message,
                                  .on_closed = cl_closed};
    return c;
}

/* ---- the world */

struct world {
    struct dcgw_cert *certs[4];
    struct dcgw_dtls_ctx *ctx[4];
    struct node a, g0, g1, b; /* a<->g0, g1<->b */
    struct dcgw_bridge *bridge;
    uint64_t last_tick;
};

struct dl {
    struct node *to, *from;
};

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct dl *d = ud;
    dcgw_leg_input(d->to->leg, (struct sockaddr *)&d->from->addr, p, n, now_ms());
}

static size_t pump_pair(struct node *x, struct node *y)
{
    struct dl to_y = {y, x}, to_x = {x, y};
    return lossy_pump(&x->out, deliver, &to_y) + lossy_pump(&y->out, deliver, &to_x);
}

static void step(struct world *w)
{
    size_t moved = pump_pair(&w->a, &w->g0) + pump_pair(&w->g1, &w->b);
    uint64_t t = now_ms();
    struct node *all[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++)
        if (dcgw_leg_next_timeout(all[i]->leg) <= t)
            dcgw_leg_handle_timeout(all[i]->leg, t);
    if (t - w->last_tick >= 10) {
        dcgw_sctp_handle_timers((uint32_t)(t - w->last_tick));
        w->last_tick = t;
    }
    if (!moved) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        skew_ms += 9;
    }
}

static bool run_until(struct world *w, bool (*cond)(struct world *), uint64_t max_ms)
{
    uint64_t end = now_ms() + max_ms;
    while (now_ms() < end) {
        if (cond(w))
            return true;
        step(w);
    }
    return cond(w);
}

static void make_leg(struct world *w, struct node *nd, int ci, bool lite, bool dtls_client,
                     struct node *peer, int peer_ci, const char *uf, const char *peer_uf,
                     const struct dcgw_dc_callbacks *dcb)
{
    static const char *pwd = "passwordpasswordpassword";
    struct dcgw_fingerprint fp;
    dcgw_cert_fingerprint(w->certs[peer_ci], DCGW_HASH_SHA256, &fp);
    struct dcgw_dc_settings dcs;
    dcgw_dc_settings_default(&dcs);
    dcs.sctp.local_port = 5000;
    dcs.sctp.remote_port = 5000;
    dcs.sctp.max_message_size = 65536;
    dcs.sctp.streams = 1024; /* application channels use ids >= 1000 (TS 26.114) */
    dcs.allow_dcep = true;
    struct dcgw_leg_settings s = {
        .ice_role = lite ? DCGW_LEG_ICE_LITE : DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = uf,
        .local_pwd = pwd,
        .remote_ufrag = peer_uf,
        .remote_pwd = pwd,
        .remote_candidate = lite ? NULL : (struct sockaddr *)&peer->addr,
        .dtls_client = dtls_client,
        .remote_fps = &fp,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 50,
        .dc = &dcs,
        .dc_cbs = dcb,
    };
    struct dcgw_leg_cbs cbs = {
        .ud = nd, .send = on_send, .on_connected = on_connected, .on_failed = on_failed};
    nd->peer = peer;
    ck_assert_int_eq(dcgw_leg_new(w->ctx[ci], &s, &cbs, &nd->leg), 0);
}

static void add_negotiated(struct dcgw_leg *leg, uint16_t id, const char *label, bool ordered,
                           enum dcgw_dc_reliability rel, uint32_t param)
{
    struct dcgw_dc_params p = {
        .id = id, .ordered = ordered, .reliability = rel, .reliability_param = param};
    snprintf(p.label, sizeof(p.label), "%s", label);
    struct dcgw_dc_channel *ch;
    ck_assert_int_eq(dcgw_dc_add_negotiated(dcgw_leg_dc(leg), &p, &ch), 0);
}

static size_t bridge_limit; /* 0: the bridge's defaults */

static void world_init(struct world *w, unsigned loss, unsigned dup, unsigned reorder,
                       uint64_t seed)
{
    memset(w, 0, sizeof(*w));
    ck_assert_int_eq(dcgw_sctp_stack_init(NULL), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(dcgw_cert_new(NULL, &w->certs[i]), 0);
        struct dcgw_dtls_ctx_settings cs = {.cert = w->certs[i]};
        ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &w->ctx[i]), 0);
    }
    w->a.name = "A";
    w->g0.name = "gw0";
    w->g1.name = "gw1";
    w->b.name = "B";
    dcgw_addr_parse("127.0.0.1:10001", &w->a.addr);
    dcgw_addr_parse("127.0.0.1:20000", &w->g0.addr);
    dcgw_addr_parse("127.0.0.1:20000", &w->g1.addr);
    dcgw_addr_parse("127.0.0.1:10002", &w->b.addr);
    struct node *all[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++)
        lossy_init(&all[i]->out, loss, dup, reorder, seed * 4 + (uint64_t)i + 1);
    struct dcgw_bridge_settings bset;
    dcgw_bridge_settings_default(&bset);
    if (bridge_limit) /* the far leg fills up sooner */
        bset.buffered_limit = bset.pending_limit = bridge_limit;
    ck_assert_int_eq(dcgw_bridge_new(&bset, NULL, &w->bridge), 0);
    struct dcgw_dc_callbacks ca = client_dc_cbs(&w->a), cb = client_dc_cbs(&w->b), b0, b1;
    dcgw_bridge_dc_callbacks(w->bridge, 0, &b0);
    dcgw_bridge_dc_callbacks(w->bridge, 1, &b1);
    /* UE A is the DTLS client toward leg 0; on leg 1 the gateway is the client. */
    make_leg(w, &w->a, 0, false, true, &w->g0, 1, "ufa1", "ufg0", &ca);
    make_leg(w, &w->g0, 1, true, false, &w->a, 0, "ufg0", "ufa1", &b0);
    make_leg(w, &w->g1, 2, true, true, &w->b, 3, "ufg1", "ufb1", &b1);
    make_leg(w, &w->b, 3, false, false, &w->g1, 2, "ufb1", "ufg1", &cb);
    dcgw_bridge_attach(w->bridge, 0, dcgw_leg_dc(w->g0.leg));
    dcgw_bridge_attach(w->bridge, 1, dcgw_leg_dc(w->g1.leg));
    /* Negotiated channels (a=dcmap) on every association: one reliable ordered, one
     * unordered with max-retr 0. */
    struct node *legs[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++) {
        add_negotiated(legs[i]->leg, 1000, "app", true, DCGW_DC_RELIABLE, 0);
        add_negotiated(legs[i]->leg, 1002, "lossy", false, DCGW_DC_MAX_RETR, 0);
    }
    w->last_tick = now_ms();
    for (int i = 0; i < 4; i++)
        dcgw_leg_start(legs[i]->leg, now_ms());
}

static void world_free(struct world *w)
{
    struct node *all[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++) {
        dcgw_leg_free(all[i]->leg);
        lossy_dispose(&all[i]->out);
    }
    dcgw_bridge_free(w->bridge);
    for (int i = 0; i < 4; i++) {
        dcgw_dtls_ctx_free(w->ctx[i]);
        dcgw_cert_unref(w->certs[i]);
    }
}

static bool all_up(struct world *w)
{
    return w->a.dc_up && w->b.dc_up && w->g0.connected && w->g1.connected;
}

static int sends_failed;

static size_t varied(uint32_t i);

/* Sends messages first..first+count-1 as fast as the sender's association takes them
 * and the gateway's far association stays under the bridge's limit: an application
 * that respects back-pressure loses nothing. Returns the next sequence number to send. */
static uint32_t send_paced(struct dcgw_leg *leg, struct dcgw_leg *far, uint16_t id, uint32_t first,
                           uint32_t end)
{
    struct dcgw_dc *dc = dcgw_leg_dc(leg);
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(dc, id);
    if (!ch)
        for (uint32_t k = 0; k < 1024; k++)
            if (dcgw_dc_channel_by_id(dc, (uint16_t)k))
                fprintf(stderr, "have channel %u\n", k);
    ck_assert_msg(ch != NULL, "no channel %u: %zu channels", id, dcgw_dc_channel_count(dc));
    uint32_t i = first;
    while (i < end && dcgw_sctp_buffered_amount(dcgw_dc_sctp(dc)) < 128 * 1024 &&
           dcgw_sctp_buffered_amount(dcgw_dc_sctp(dcgw_leg_dc(far))) < 256 * 1024) {
        size_t n = varied(i);
        uint8_t *p = malloc(n ? n : 1);
        fill(p, n, i);
        int r = dcgw_dc_send(dc, ch, i % 3 == 0, p, n);
        free(p);
        if (r == DCGW_EAGAIN)
            break;
        if (r != 0)
            sends_failed++;
        i++;
    }
    return i;
}

/* Fire-and-forget, for the partially reliable channel. */
static void send_msgs(struct dcgw_leg *leg, uint16_t id, uint32_t first, uint32_t count,
                      size_t (*size_of)(uint32_t))
{
    struct dcgw_dc *dc = dcgw_leg_dc(leg);
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(dc, id);
    ck_assert_msg(ch != NULL, "no channel %u: %zu channels, state %d", id,
                  dcgw_dc_channel_count(dc), (int)dcgw_sctp_state(dcgw_dc_sctp(dc)));
    for (uint32_t i = first; i < first + count; i++) {
        size_t n = size_of(i);
        uint8_t *p = malloc(n ? n : 1);
        fill(p, n, i);
        dcgw_dc_send(dc, ch, i % 3 == 0, p, n);
        free(p);
    }
}

static size_t varied(uint32_t i)
{
    static const size_t sizes[] = {4, 100, 1200, 5000, 16384, 60000, 300};
    return sizes[i % 7];
}

/* Partially reliable traffic in single packets: usrsctp 0.9.5 aborts the association
 * (protocol violation) when abandoned fragmented unordered messages meet loss. */
static size_t small(uint32_t i)
{
    return 4 + (i * 37) % 1000;
}

static uint32_t want_b;

static bool b_got_all(struct world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->b.nlog; i++)
        n += w->b.log[i].stream == 1000;
    return n >= want_b;
}

static void check_in_order(struct node *nd, uint16_t stream, uint32_t count)
{
    uint32_t next = 0;
    for (size_t i = 0; i < nd->nlog; i++) {
        if (nd->log[i].stream != stream)
            continue;
        ck_assert_msg(nd->log[i].seq == next, "%s: stream %u: got %u, want %u", nd->name, stream,
                      nd->log[i].seq, next);
        ck_assert_uint_eq(nd->log[i].n, varied(next));
        ck_assert_int_eq(nd->log[i].text, next % 3 == 0);
        next++;
    }
    ck_assert_uint_eq(next, count);
    ck_assert_uint_eq(nd->bad_content, 0);
}

static void check_no_drops(const struct dcgw_bridge *b)
{
    const struct dcgw_bridge_stats *bs = dcgw_bridge_stats(b);
    ck_assert_uint_eq(bs->dropped_no_twin, 0);
    ck_assert_uint_eq(bs->dropped_partial, 0);
    ck_assert_uint_eq(bs->dropped_closed, 0);
    ck_assert_uint_eq(bs->dropped_too_big, 0);
    ck_assert_uint_eq(bs->dropped_nomem, 0);
}

/* B got the NMSG messages of stream 1000 (A sent `sent`), and a little longer nothing more
 * shows up (duplicates would now): in order, none failed to send, all forwarded by the
 * bridge, no drops. */
static void all_through(struct world *w, uint32_t sent)
{
    ck_assert_msg(b_got_all(w), "B got too little: sent %u", sent);
    uint64_t end = now_ms() + 300;
    while (now_ms() < end)
        step(w);
    ck_assert_int_eq(sends_failed, 0);
    check_in_order(&w->b, 1000, NMSG);
    ck_assert_uint_eq(dcgw_bridge_stats(w->bridge)->forwarded, NMSG);
    check_no_drops(w->bridge);
}

static void reliable_through_gateway(unsigned loss, unsigned dup, unsigned reorder, uint64_t seed)
{
    struct world w;
    world_init(&w, loss, dup, reorder, seed);
    ck_assert_msg(run_until(&w, all_up, 20000), "not all connected");
    sends_failed = 0;
    want_b = NMSG;
    uint32_t next = 0;
    uint64_t deadline = now_ms() + 60000;
    while (!b_got_all(&w) && now_ms() < deadline) {
        next = send_paced(w.a.leg, w.g1.leg, 1000, next, NMSG);
        step(&w);
    }
    all_through(&w, next);
    world_free(&w);
}

START_TEST(clean)
{
    reliable_through_gateway(0, 0, 0, 1);
}
END_TEST

START_TEST(lossy)
{
    reliable_through_gateway(10, 5, 10, 7 + (uint64_t)_i);
}
END_TEST

/* An unpaced sender (issue 13): A queues messages as fast as its own association takes
 * them (its send buffer, 1 MiB, is its only limit: a browser's bufferedAmount), never
 * looking at the gateway. Returns the next sequence number to send. */
static uint32_t send_unpaced(struct dcgw_leg *leg, uint16_t id, uint32_t i, uint32_t end,
                             unsigned *eagain)
{
    struct dcgw_dc *dc = dcgw_leg_dc(leg);
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(dc, id);
    ck_assert(ch != NULL);
    while (i < end) {
        size_t n = varied(i);
        uint8_t *p = malloc(n ? n : 1);
        fill(p, n, i);
        int r = dcgw_dc_send(dc, ch, i % 3 == 0, p, n);
        free(p);
        if (r == DCGW_EAGAIN) {
            (*eagain)++;
            break;
        }
        if (r != 0)
            sends_failed++;
        i++;
    }
    return i;
}

static size_t a_buffered(struct world *w)
{
    return dcgw_sctp_buffered_amount(dcgw_dc_sctp(dcgw_leg_dc(w->a.leg)));
}

/* With stall, B stops reading once the first message arrived: its window closes, the
 * gateway's leg toward B fills up, and the bridge must push back on A. B reads again once
 * the bridge stopped reading A and A's own buffer filled (the window closed toward A). */
static void unpaced_through_gateway(unsigned loss, unsigned dup, unsigned reorder, uint64_t seed,
                                    bool stall)
{
    struct world w;
    world_init(&w, loss, dup, reorder, seed);
    ck_assert_msg(run_until(&w, all_up, 20000), "not all connected");
    sends_failed = 0;
    want_b = NMSG;
    unsigned eagain = 0;
    uint32_t next = 0;
    struct dcgw_sctp *b_sctp = dcgw_dc_sctp(dcgw_leg_dc(w.b.leg));
    size_t a_buf_max = 0, held_max = 0;
    enum { BEFORE, STALLED, AFTER } phase = BEFORE;
    uint64_t deadline = now_ms() + 90000, stall_deadline = 0, pushed_back = 0;
    while (!b_got_all(&w) && now_ms() < deadline) {
        next = send_unpaced(w.a.leg, 1000, next, NMSG, &eagain);
        step(&w);
        size_t held = dcgw_bridge_held(w.bridge, 1);
        held_max = held > held_max ? held : held_max;
        if (stall && phase == BEFORE && w.b.nlog > 0) {
            phase = STALLED;
            stall_deadline = now_ms() + 30000;
            dcgw_sctp_pause_reading(b_sctp, true);
        }
        if (phase != STALLED)
            continue;
        size_t ab = a_buffered(&w);
        a_buf_max = ab > a_buf_max ? ab : a_buf_max;
        /* pushed back: the bridge stopped reading A and A's buffer filled; hold it a while */
        if (!pushed_back && dcgw_bridge_paused(w.bridge, 0) && ab > 512 * 1024)
            pushed_back = now_ms();
        if ((pushed_back && now_ms() - pushed_back > 500) || now_ms() > stall_deadline) {
            ck_assert_msg(pushed_back, "no back-pressure: bridge paused %d, A's buffer %zu",
                          dcgw_bridge_paused(w.bridge, 0), ab);
            phase = AFTER;
            dcgw_sctp_pause_reading(b_sctp, false);
        }
    }
    all_through(&w, next);
    /* what the bridge held toward B: at most pending_limit plus one message */
    ck_assert_uint_le(held_max,
                      (bridge_limit ? bridge_limit : DCGW_BRIDGE_PENDING_DEFAULT) + 65536);
    if (stall) {
        ck_assert_uint_ge(dcgw_bridge_stats(w.bridge)->pauses, 1);
        ck_assert_uint_ge(dcgw_sctp_stats(dcgw_dc_sctp(dcgw_leg_dc(w.g0.leg)))->read_pauses, 1);
        ck_assert_uint_gt(eagain, 0); /* A's own buffer was full */
        ck_assert_uint_gt(a_buf_max, 512 * 1024);
    }
    ck_assert(!dcgw_bridge_paused(w.bridge, 0));
    world_free(&w);
}

START_TEST(unpaced)
{
    unpaced_through_gateway(0, 0, 0, 3, false);
}
END_TEST

START_TEST(unpaced_lossy)
{
    unpaced_through_gateway(10, 2, 10, 21 + (uint64_t)_i, false);
}
END_TEST

START_TEST(unpaced_far_blocked)
{
    unpaced_through_gateway(0, 0, 0, 5, true);
}
END_TEST

START_TEST(unpaced_far_blocked_lossy)
{
    unpaced_through_gateway(10, 2, 10, 31, true);
}
END_TEST

/* Limits of 64 KiB: the far leg is full most of the time; on_writable must come below the
 * bridge's own limit (a mark above it once made the bridge and the association spin). */
START_TEST(unpaced_small_limits_lossy)
{
    bridge_limit = 65536;
    unpaced_through_gateway(10, 2, 10, 41, false);
    bridge_limit = 0;
}
END_TEST

static bool a_sees_chat(struct world *w)
{
    for (int i = 0; i < w->a.nlabels; i++)
        if (strcmp(w->a.labels[i], "chat") == 0)
            return true;
    return false;
}

static bool b_has_chat_msgs(struct world *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->b.nlog; i++)
        n += w->b.log[i].stream != 1000 && w->b.log[i].stream != 1002;
    return n >= 3 && b_got_all(w);
}

START_TEST(dcep_twin_and_partial_reliability)
{
    struct world w;
    world_init(&w, 15, 5, 10, 99);
    ck_assert(run_until(&w, all_up, 20000));
    /* A opens "chat" in band; the gateway opens its twin toward B. */
    struct dcgw_dc_params p = {.id = DCGW_DC_ID_AUTO, .ordered = true};
    snprintf(p.label, sizeof(p.label), "chat");
    snprintf(p.protocol, sizeof(p.protocol), "x-test");
    struct dcgw_dc_channel *chat;
    ck_assert_int_eq(dcgw_dc_open(dcgw_leg_dc(w.a.leg), &p, &chat), 0);
    ck_assert_int_eq(chat->params.id % 2, 0); /* A is the DTLS client: even ids */
    for (uint32_t i = 0; i < 3; i++) {
        uint8_t m[8];
        fill(m, sizeof(m), i);
        ck_assert_int_eq(dcgw_dc_send(dcgw_leg_dc(w.a.leg), chat, false, m, sizeof(m)), 0);
    }
    /* and an empty message (PPID 57) */
    ck_assert_int_eq(dcgw_dc_send(dcgw_leg_dc(w.a.leg), chat, false, NULL, 0), 0);
    /* lossy channel: max-retr 0, unordered, must not stall anything */
    send_msgs(w.a.leg, 1002, 0, 50, small);
    want_b = 20;
    uint32_t next = 0;
    uint64_t deadline = now_ms() + 30000;
    while (next < 20 && now_ms() < deadline) {
        next = send_paced(w.a.leg, w.g1.leg, 1000, next, 20);
        step(&w);
    }
    ck_assert_msg(run_until(&w, b_has_chat_msgs, 30000), "chat did not reach B");
    ck_assert(run_until(&w, a_sees_chat, 10000));
    check_in_order(&w.b, 1000, 20);
    /* B's twin channel carries label and subprotocol */
    bool found = false;
    for (int i = 0; i < w.b.nlabels; i++)
        found |= strcmp(w.b.labels[i], "chat") == 0 &&
                 strcmp(w.b.chan_by_label[i]->params.protocol, "x-test") == 0;
    ck_assert(found);
    size_t empties = 0, lossy_got = 0;
    for (size_t i = 0; i < w.b.nlog; i++) {
        empties += w.b.log[i].n == 0;
        lossy_got += w.b.log[i].stream == 1002;
    }
    ck_assert_uint_eq(empties, 1);
    ck_assert_uint_le(lossy_got, 50);
    ck_assert_uint_ge(dcgw_bridge_stats(w.bridge)->twins_opened, 1);
    world_free(&w);
}
END_TEST

/* ---- dcgw closing a bridged channel itself (policy, avatar refusal)
 *
 * Plain SCTP back to back, no DTLS, so a test can see and drop SCTP chunks:
 *
 *   peer A ==pair 0== [gw side 0 | bridge | gw side 1] ==pair 1== peer B
 *
 * A peer that never answers a stream reset request must not keep the twin open on the
 * other leg (docs/bridge.md "Closing"). */

enum { SCTP_CHUNK_RECONFIG = 130, CLOSE_MS = 2000 };

struct pnode {
    const char *name;
    struct dcgw_dc *dc;
    struct lossy_link *out;
    struct dcgw_dc_callbacks inner; /* the bridge's, for a gateway endpoint */
    bool up, assoc_closed;
    bool drop_resets_in; /* drops every packet toward it with a RE-CONFIG chunk */
    uint64_t resets_dropped;
    size_t n1000;      /* messages of stream 1000 received */
    uint32_t next_seq; /* the sequence number they should carry next */
    size_t out_of_order;
    uint16_t closed[16];
    size_t nclosed;
};

struct pworld {
    struct pnode a, g0, g1, b;
    struct sctp_pair_link l0, l1; /* a <-> g0, g1 <-> b */
    struct dcgw_bridge *bridge;
};

static bool has_reconfig(const uint8_t *p, size_t n)
{
    for (size_t off = 12; off + 4 <= n;) { /* RFC 9260 §3: common header, then chunks */
        size_t len = (size_t)p[off + 2] << 8 | p[off + 3];
        if (p[off] == SCTP_CHUNK_RECONFIG)
            return true;
        if (len < 4)
            break;
        off += (len + 3) & ~(size_t)3;
    }
    return false;
}

static void p_deliver(void *ud, const uint8_t *p, size_t n)
{
    struct pnode *nd = ud;
    if (nd->drop_resets_in && has_reconfig(p, n)) {
        nd->resets_dropped++;
        return;
    }
    dcgw_dc_input(nd->dc, p, n);
}

static void p_send(void *ud, const uint8_t *p, size_t n)
{
    lossy_send(((struct pnode *)ud)->out, p, n);
}

static void p_connected(void *ud)
{
    struct pnode *nd = ud;
    nd->up = true;
    if (nd->inner.on_connected)
        nd->inner.on_connected(nd->inner.ud);
}

static bool p_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    struct pnode *nd = ud;
    return nd->inner.on_open_request ? nd->inner.on_open_request(nd->inner.ud, ch) : true;
}

static void p_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct pnode *nd = ud;
    if (nd->inner.on_channel_open)
        nd->inner.on_channel_open(nd->inner.ud, ch);
}

static void p_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                      size_t n)
{
    struct pnode *nd = ud;
    if (nd->inner.on_message) {
        nd->inner.on_message(nd->inner.ud, ch, is_text, p, n);
        return;
    }
    if (ch->params.id != 1000 || n < 4)
        return;
    uint32_t seq =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    nd->out_of_order += seq != nd->next_seq;
    nd->next_seq = seq + 1;
    nd->n1000++;
}

static void p_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    struct pnode *nd = ud;
    if (nd->nclosed < 16)
        nd->closed[nd->nclosed++] = ch->params.id;
    if (nd->inner.on_channel_closed)
        nd->inner.on_channel_closed(nd->inner.ud, ch);
}

static void p_writable(void *ud)
{
    struct pnode *nd = ud;
    if (nd->inner.on_writable)
        nd->inner.on_writable(nd->inner.ud);
}

static void p_closed(void *ud)
{
    struct pnode *nd = ud;
    nd->assoc_closed = true;
    if (nd->inner.on_closed)
        nd->inner.on_closed(nd->inner.ud);
}

static uint16_t p_port = 7000;

static void p_make(struct pnode *nd, const char *name, struct lossy_link *out, bool even,
                   uint16_t lport, uint16_t rport, int gw_side, struct dcgw_bridge *br)
{
    nd->name = name;
    nd->out = out;
    if (gw_side >= 0)
        dcgw_bridge_dc_callbacks(br, (unsigned)gw_side, &nd->inner);
    struct dcgw_dc_settings s;
    dcgw_dc_settings_default(&s);
    s.sctp.local_port = lport;
    s.sctp.remote_port = rport;
    s.sctp.max_message_size = 65536;
    s.sctp.streams = 1024;
    s.dtls_client = even;
    struct dcgw_dc_callbacks cb = {.ud = nd,
                                   .send_packet = p_send,
                                   .on_connected = p_connected,
                                   .on_open_request = p_open_request,
                                   .on_channel_open = p_channel_open,
                                   .on_message = p_message,
                                   .on_channel_closed = p_channel_closed,
                                   .on_writable = p_writable,
                                   .on_closed = p_closed};
    ck_assert_int_eq(dcgw_dc_new(&s, &cb, &nd->dc), 0);
    struct dcgw_dc_params p = {.id = 1000, .ordered = true, .reliability = DCGW_DC_RELIABLE};
    snprintf(p.label, sizeof(p.label), "app");
    struct dcgw_dc_channel *ch;
    ck_assert_int_eq(dcgw_dc_add_negotiated(nd->dc, &p, &ch), 0);
}

static void pworld_init(struct pworld *w, size_t limit)
{
    memset(w, 0, sizeof(*w));
    ck_assert_int_eq(dcgw_sctp_stack_init(NULL), 0);
    struct dcgw_bridge_settings bset;
    dcgw_bridge_settings_default(&bset);
    if (limit)
        bset.buffered_limit = bset.pending_limit = limit;
    ck_assert_int_eq(dcgw_bridge_new(&bset, NULL, &w->bridge), 0);
    sctp_pair_link_init(&w->l0, 51, p_deliver, &w->a, &w->g0);
    sctp_pair_link_init(&w->l1, 53, p_deliver, &w->g1, &w->b);
    uint16_t pa = p_port++, pg0 = p_port++, pg1 = p_port++, pb = p_port++;
    p_make(&w->a, "A", &w->l0.ab, true, pa, pg0, -1, NULL);
    p_make(&w->g0, "gw0", &w->l0.ba, false, pg0, pa, 0, w->bridge);
    p_make(&w->g1, "gw1", &w->l1.ab, true, pg1, pb, 1, w->bridge);
    p_make(&w->b, "B", &w->l1.ba, false, pb, pg1, -1, NULL);
    dcgw_bridge_attach(w->bridge, 0, w->g0.dc);
    dcgw_bridge_attach(w->bridge, 1, w->g1.dc);
    struct pnode *all[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(dcgw_dc_connect(all[i]->dc), 0);
}

static void pworld_free(struct pworld *w)
{
    struct pnode *all[] = {&w->a, &w->g0, &w->g1, &w->b};
    for (int i = 0; i < 4; i++)
        dcgw_dc_free(all[i]->dc);
    dcgw_bridge_free(w->bridge);
    sctp_pair_link_dispose(&w->l0);
    sctp_pair_link_dispose(&w->l1);
}

static bool p_moved_step(struct pworld *w)
{
    size_t moved =
        lossy_pump(&w->l0.ab, p_deliver, &w->g0) + lossy_pump(&w->l0.ba, p_deliver, &w->a) +
        lossy_pump(&w->l1.ab, p_deliver, &w->b) + lossy_pump(&w->l1.ba, p_deliver, &w->g1);
    sctp_pair_tick(moved == 0);
    return moved != 0;
}

/* Steps until cond holds or max_ticks pass; returns the ticks it took, -1 on timeout. */
static int p_run(struct pworld *w, bool (*cond)(struct pworld *), int max_ticks)
{
    for (int t = 0; t < max_ticks; t++) {
        if (cond(w))
            return t;
        p_moved_step(w);
    }
    return cond(w) ? max_ticks : -1;
}

static bool p_all_up(struct pworld *w)
{
    return w->a.up && w->g0.up && w->g1.up && w->b.up;
}

static bool p_b_closed_1000(struct pworld *w)
{
    for (size_t i = 0; i < w->b.nclosed; i++)
        if (w->b.closed[i] == 1000)
            return true;
    return false;
}

static int p_send_seq(struct pnode *nd, uint32_t seq, size_t n)
{
    uint8_t *p = malloc(n);
    fill(p, n, seq);
    int r = dcgw_dc_send(nd->dc, dcgw_dc_channel_by_id(nd->dc, 1000), false, p, n);
    free(p);
    return r;
}

static uint32_t want_b_msgs;

static bool p_b_got(struct pworld *w)
{
    return w->b.n1000 >= want_b_msgs;
}

/* The time a close takes, in simulated ms: idle ticks count 10 ms (helper_sctp_pair.h). */
static uint64_t close_started_us;

static uint64_t real_ms_since(uint64_t start_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u - start_us) / 1000;
}

static uint64_t real_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Side A's peer drops every stream reset request (a hostile peer, or one that lost the
 * request and never retransmits it: aiortc 1.4). dcgw closes A's channel: B's peer must see
 * its twin reset within a bounded time, while A's channel still waits for its peer. */
START_TEST(dcgw_close_reaches_far_peer_when_peer_never_answers)
{
    struct pworld w;
    pworld_init(&w, 0);
    ck_assert_int_ge(p_run(&w, p_all_up, 3000), 0);
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_int_eq(p_send_seq(&w.a, i, 100), 0);
    want_b_msgs = 5;
    ck_assert_int_ge(p_run(&w, p_b_got, 3000), 0);
    w.a.drop_resets_in = true;
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(w.g0.dc, 1000);
    ck_assert_ptr_nonnull(ch);
    close_started_us = real_now_us();
    dcgw_bridge_close_channel(w.bridge, 0, ch);
    int ticks = p_run(&w, p_b_closed_1000, CLOSE_MS / 10);
    fprintf(stderr, "twin closed at B after %d ticks, %llu ms real, %llu resets dropped\n", ticks,
            (unsigned long long)real_ms_since(close_started_us),
            (unsigned long long)w.a.resets_dropped);
    ck_assert_msg(ticks >= 0, "B's channel still open %d ms (simulated, at most) after the close",
                  CLOSE_MS);
    ck_assert_uint_ge(w.a.resets_dropped, 1); /* A's peer really never saw the request */
    /* A's channel waits for its peer (reported closed once it answers or the association
     * ends); the association itself is up, and nothing else closed */
    ck_assert(!w.g0.assoc_closed && !w.a.assoc_closed && !w.b.assoc_closed);
    ch = dcgw_dc_channel_by_id(w.g0.dc, 1000);
    ck_assert_ptr_nonnull(ch);
    ck_assert_int_eq(ch->state, DCGW_DC_CLOSING);
    ck_assert_uint_eq(w.g0.nclosed, 0);
    ck_assert_uint_eq(w.a.nclosed, 0);
    ck_assert_uint_eq(w.g1.nclosed, 1); /* the twin: reported once */
    ck_assert_uint_eq(w.b.nclosed, 1);
    ck_assert_uint_eq(w.b.n1000, 5);
    ck_assert_uint_eq(w.b.out_of_order, 0);
    /* the peer answers at last: A's channel closes, reported once, nothing else changes */
    w.a.drop_resets_in = false;
    for (int t = 0; t < 3000 && w.g0.nclosed == 0; t++)
        p_moved_step(&w);
    ck_assert_uint_eq(w.g0.nclosed, 1);
    ck_assert_uint_eq(w.g1.nclosed, 1);
    ck_assert_uint_eq(w.b.nclosed, 1);
    pworld_free(&w);
}
END_TEST

/* Messages from A the bridge holds toward B (B stopped reading: the far leg is full) when
 * dcgw closes A's channel are dropped: B gets exactly what had gone to its association
 * before the close, in order, then its channel closes. A's peer answers normally here:
 * the rule does not depend on it. */
START_TEST(dcgw_close_drops_what_the_bridge_held)
{
    struct pworld w;
    pworld_init(&w, 65536);
    ck_assert_int_ge(p_run(&w, p_all_up, 3000), 0);
    dcgw_sctp_pause_reading(dcgw_dc_sctp(w.b.dc), true);
    /* A sends until the bridge holds something toward B */
    uint32_t seq = 0;
    for (int t = 0; t < 20000 && dcgw_bridge_held(w.bridge, 1) == 0; t++) {
        int r;
        while ((r = p_send_seq(&w.a, seq, 4000)) == 0) /* as much as A's buffer takes */
            seq++;
        ck_assert_int_eq(r, DCGW_EAGAIN);
        p_moved_step(&w);
    }
    ck_assert_uint_gt(dcgw_bridge_held(w.bridge, 1), 0);
    fprintf(stderr, "held toward B: %zu bytes, A sent %u\n", dcgw_bridge_held(w.bridge, 1), seq);
    const struct dcgw_bridge_stats *bs = dcgw_bridge_stats(w.bridge);
    uint64_t sent_before = bs->sent[1], dropped_before = bs->dropped_closed;
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(w.g0.dc, 1000);
    ck_assert_ptr_nonnull(ch);
    dcgw_bridge_close_channel(w.bridge, 0, ch);
    ck_assert_uint_eq(dcgw_bridge_held(w.bridge, 1), 0); /* nothing left to deliver */
    ck_assert_uint_gt(bs->dropped_closed, dropped_before);
    dcgw_sctp_pause_reading(dcgw_dc_sctp(w.b.dc), false);
    ck_assert_int_ge(p_run(&w, p_b_closed_1000, CLOSE_MS / 10 + 3000), 0);
    for (int t = 0; t < 300; t++) /* anything still on its way would show now */
        p_moved_step(&w);
    ck_assert_uint_eq(bs->sent[1], sent_before);
    ck_assert_uint_eq(w.b.n1000, sent_before);
    ck_assert_uint_lt(w.b.n1000, seq);
    ck_assert_uint_eq(w.b.out_of_order, 0);
    ck_assert_uint_eq(w.b.nclosed, 1);
    ck_assert_uint_eq(w.g1.nclosed, 1);
    ck_assert(!dcgw_bridge_paused(w.bridge, 0)); /* B drained: A's leg is read again */
    for (int t = 0; t < 3000 && w.g0.nclosed == 0; t++)
        p_moved_step(&w);
    ck_assert_uint_eq(w.g0.nclosed, 1); /* A's peer answered: reported once */
    pworld_free(&w);
}
END_TEST

int main(void)
{
    /* DCGW_TEST_LOG=debug shows what the stages say */
    const char *lv = getenv("DCGW_TEST_LOG");
    if (lv && dcgw_log_level_parse(lv) >= 0) {
        struct dcgw_log_settings ls;
        dcgw_log_settings_default(&ls);
        ls.level = (enum dcgw_log_level)dcgw_log_level_parse(lv);
        dcgw_log_setup(&ls, "test");
    }
    Suite *s = suite_create("bridge");
    TCase *tc = tcase_create("through_gateway");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clean);
    tcase_add_loop_test(tc, lossy, 0, 3);
    tcase_add_test(tc, dcep_twin_and_partial_reliability);
    tcase_add_test(tc, unpaced);
    tcase_add_loop_test(tc, unpaced_lossy, 0, 2);
    tcase_add_test(tc, unpaced_far_blocked);
    tcase_add_test(tc, unpaced_far_blocked_lossy);
    tcase_add_test(tc, unpaced_small_limits_lossy);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("dcgw_closes");
    tcase_set_timeout(tcc, 60);
    tcase_add_test(tcc, dcgw_close_reaches_far_peer_when_peer_never_answers);
    tcase_add_test(tcc, dcgw_close_drops_what_the_bridge_held);
    suite_add_tcase(s, tcc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* one usrsctp stack per process, kept */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
