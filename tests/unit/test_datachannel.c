/* Data channels back to back in memory: SDP-negotiated and DCEP channels, messages with
 * their PPIDs, closing by stream reset. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/datachannel.h"
#include "dcgw/base/error.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

enum { MAX_EV = 512 };

struct rmsg {
    uint16_t id;
    bool is_text;
    size_t n;
    uint8_t *p;
};

struct ep {
    struct dcgw_dc *dc;
    struct lossy_link *out;
    int connected, closed;
    uint16_t opened[MAX_EV], closed_ch[MAX_EV];
    size_t nopened, nclosed;
    struct rmsg msgs[MAX_EV];
    size_t nmsgs;
    bool refuse; /* on_open_request answer */
    int requests;
    struct dcgw_dc_params last_request;
    bool free_on_message;
};

struct duo {
    struct ep a, b; /* a is the DTLS client (even ids), b the server (odd ids) */
    struct sctp_pair_link l;
};

static uint16_t next_port = 6000;
/* what pump() waits for; reset for every duo so that tests also pass with CK_FORK=no */
static size_t want_a, want_b, want_open_a, want_open_b, want_closed_a, want_closed_b;

static void cb_send_packet(void *ud, const uint8_t *p, size_t n)
{
    lossy_send(((struct ep *)ud)->out, p, n);
}

static void cb_connected(void *ud)
{
    ((struct ep *)ud)->connected++;
}

static bool cb_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    struct ep *e = ud;
    e->requests++;
    e->last_request = ch->params;
    return !e->refuse;
}

static void cb_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct ep *e = ud;
    ck_assert_uint_lt(e->nopened, MAX_EV);
    ck_assert_int_eq(ch->state, DCGW_DC_OPEN);
    e->opened[e->nopened++] = ch->params.id;
}

static void cb_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct ep *e = ud;
    ck_assert_uint_lt(e->nmsgs, MAX_EV);
    struct rmsg *m = &e->msgs[e->nmsgs++];
    m->id = ch->params.id;
    m->is_text = is_text;
    m->n = n;
    m->p = malloc(n + 1);
    memcpy(m->p, p, n);
    if (e->free_on_message) {
        dcgw_dc_free(e->dc);
        e->dc = NULL;
    }
}

static void cb_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    struct ep *e = ud;
    ck_assert_uint_lt(e->nclosed, MAX_EV);
    ck_assert_int_eq(ch->state, DCGW_DC_CLOSED);
    e->closed_ch[e->nclosed++] = ch->params.id;
}

static void cb_closed(void *ud)
{
    ((struct ep *)ud)->closed++;
}

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct ep *e = ud;
    if (e->dc)
        dcgw_dc_input(e->dc, p, n);
}

static void duo_new_with(struct duo *d, struct dcgw_dc_settings *sa, struct dcgw_dc_settings *sb)
{
    memset(d, 0, sizeof(*d));
    want_a = want_b = want_open_a = want_open_b = want_closed_a = want_closed_b = 0;
    sctp_pair_link_init(&d->l, 11, deliver, &d->a, &d->b);
    d->a.out = &d->l.ab;
    d->b.out = &d->l.ba;
    uint16_t pa = next_port++, pb = next_port++;
    sa->sctp.local_port = pa;
    sa->sctp.remote_port = pb;
    sb->sctp.local_port = pb;
    sb->sctp.remote_port = pa;
    sa->dtls_client = true;
    sb->dtls_client = false;
    struct dcgw_dc_callbacks cb = {.send_packet = cb_send_packet,
                                   .on_connected = cb_connected,
                                   .on_open_request = cb_open_request,
                                   .on_channel_open = cb_channel_open,
                                   .on_message = cb_message,
                                   .on_channel_closed = cb_channel_closed,
                                   .on_closed = cb_closed};
    cb.ud = &d->a;
    ck_assert_int_eq(dcgw_dc_new(sa, &cb, &d->a.dc), 0);
    cb.ud = &d->b;
    ck_assert_int_eq(dcgw_dc_new(sb, &cb, &d->b.dc), 0);
}

static void duo_new(struct duo *d, bool allow_dcep)
{
    struct dcgw_dc_settings sa, sb;
    dcgw_dc_settings_default(&sa);
    dcgw_dc_settings_default(&sb);
    sa.allow_dcep = sb.allow_dcep = allow_dcep;
    duo_new_with(d, &sa, &sb);
}

/* Same time model as test_sctp.c (helper_sctp_pair.h). */
static int pump(struct duo *d, bool (*done)(void *), int max_ticks)
{
    return sctp_pair_pump(&d->l, done, d, max_ticks);
}

static bool both_connected(void *ctx)
{
    struct duo *d = ctx;
    return d->a.connected && d->b.connected;
}

static void duo_connect(struct duo *d)
{
    ck_assert_int_eq(dcgw_dc_connect(d->a.dc), 0);
    ck_assert_int_eq(dcgw_dc_connect(d->b.dc), 0);
    ck_assert_int_ge(pump(d, both_connected, 2000), 0);
}

static void ep_clear(struct ep *e)
{
    for (size_t i = 0; i < e->nmsgs; i++)
        free(e->msgs[i].p);
    e->nmsgs = 0;
}

static void duo_free(struct duo *d)
{
    dcgw_dc_free(d->a.dc);
    dcgw_dc_free(d->b.dc);
    ep_clear(&d->a);
    ep_clear(&d->b);
    sctp_pair_link_dispose(&d->l);
}

static void params(struct dcgw_dc_params *p, uint16_t id, const char *label, const char *proto)
{
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->ordered = true;
    strcpy(p->label, label);
    strcpy(p->protocol, proto);
}

static bool got_msgs(void *ctx)
{
    struct duo *d = ctx;
    return d->a.nmsgs >= want_a && d->b.nmsgs >= want_b;
}

static bool got_opens(void *ctx)
{
    struct duo *d = ctx;
    return d->a.nopened >= want_open_a && d->b.nopened >= want_open_b;
}

static bool got_closes(void *ctx)
{
    struct duo *d = ctx;
    return d->a.nclosed >= want_closed_a && d->b.nclosed >= want_closed_b;
}

static void send_ok(struct ep *e, struct dcgw_dc_channel *ch, bool text, const char *s)
{
    ck_assert_int_eq(dcgw_dc_send(e->dc, ch, text, (const uint8_t *)s, strlen(s)), 0);
}

static void check_rmsg(const struct rmsg *m, uint16_t id, bool text, const char *s)
{
    ck_assert_uint_eq(m->id, id);
    ck_assert(m->is_text == text);
    ck_assert_uint_eq(m->n, strlen(s));
    ck_assert(memcmp(m->p, s, m->n) == 0);
}

/* ---- tests ---- */

START_TEST(kind_of_stream)
{
    static const uint16_t boot[] = {0, 10, 100, 110};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(dcgw_dc_kind_of_stream(boot[i]), DCGW_DC_KIND_BOOTSTRAP);
    ck_assert_int_eq(dcgw_dc_kind_of_stream(1000), DCGW_DC_KIND_APPLICATION);
    ck_assert_int_eq(dcgw_dc_kind_of_stream(65534), DCGW_DC_KIND_APPLICATION);
    static const uint16_t other[] = {1, 9, 11, 99, 101, 109, 111, 999};
    for (size_t i = 0; i < 8; i++)
        ck_assert_int_eq(dcgw_dc_kind_of_stream(other[i]), DCGW_DC_KIND_OTHER);
    ck_assert_str_eq(dcgw_dc_kind_name(DCGW_DC_KIND_BOOTSTRAP), "bootstrap");
}
END_TEST

START_TEST(negotiated_both_sides)
{
    struct duo d;
    struct dcgw_dc_settings sa, sb;
    dcgw_dc_settings_default(&sa);
    dcgw_dc_settings_default(&sb);
    sa.sctp.streams = 2048; /* the peer offers only 256 */
    duo_new_with(&d, &sa, &sb);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *a0, *a1000, *b0, *b1000, *x;
    params(&p, 0, "bootstrap", "http");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &a0), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &b0), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &x), DCGW_EEXIST);
    params(&p, 1000, "app", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &a1000), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &b1000), DCGW_ERANGE); /* 256 streams */
    ck_assert_int_eq(a0->state, DCGW_DC_CONNECTING);
    ck_assert_int_eq(a0->kind, DCGW_DC_KIND_BOOTSTRAP);
    ck_assert(a0->negotiated);
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, a0, true, (const uint8_t *)"x", 1), DCGW_ESTATE);
    /* 1000 is beyond the 256 streams of the association: closed when it comes up */
    want_open_a = want_open_b = 1;
    duo_connect(&d);
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    ck_assert_uint_eq(d.a.nopened, 1);
    ck_assert_uint_eq(d.a.opened[0], 0);
    ck_assert_uint_eq(d.a.nclosed, 1);
    ck_assert_uint_eq(d.a.closed_ch[0], 1000);
    ck_assert_int_eq(a0->state, DCGW_DC_OPEN);
    send_ok(&d.a, a0, true, "GET / HTTP/1.1");
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, a0, false, (const uint8_t *)"\x01\x02\x00\x03", 4), 0);
    send_ok(&d.b, b0, false, "binary");
    send_ok(&d.b, b0, true, "HTTP/1.1 200 OK");
    want_a = want_b = 2;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    check_rmsg(&d.b.msgs[0], 0, true, "GET / HTTP/1.1");
    ck_assert_uint_eq(d.b.msgs[1].n, 4); /* binary with a NUL inside, byte exact */
    ck_assert(memcmp(d.b.msgs[1].p, "\x01\x02\x00\x03", 4) == 0);
    ck_assert(!d.b.msgs[1].is_text);
    check_rmsg(&d.a.msgs[0], 0, false, "binary");
    check_rmsg(&d.a.msgs[1], 0, true, "HTTP/1.1 200 OK");
    ck_assert_uint_eq(a0->stats.msgs_out, 2);
    ck_assert_uint_eq(b0->stats.msgs_in, 2);
    /* added after connect: open at once */
    struct dcgw_dc_channel *a10, *b10;
    params(&p, 10, "bootstrap-2", "http");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &a10), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &b10), 0);
    ck_assert_int_eq(a10->state, DCGW_DC_OPEN);
    send_ok(&d.a, a10, true, "ten");
    want_b = 3;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    check_rmsg(&d.b.msgs[2], 10, true, "ten");
    ck_assert_ptr_eq(dcgw_dc_channel_by_id(d.b.dc, 10), b10);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.b.dc), 2);
    duo_free(&d);
}
END_TEST

/* The channel table is sorted by stream id (issue 17: no table indexed by stream id): the
 * 3GPP bootstrap ids and an application id on one association, added out of order, with
 * in-band channels between them; lookups, the walk in id order, and closes in the middle. */
START_TEST(sparse_ids_in_order)
{
    struct duo d;
    struct dcgw_dc_settings sa, sb;
    dcgw_dc_settings_default(&sa);
    dcgw_dc_settings_default(&sb);
    sa.sctp.streams = sb.sctp.streams = 1001;
    sa.allow_dcep = sb.allow_dcep = true;
    duo_new_with(&d, &sa, &sb);
    static const uint16_t ids[] = {1000, 110, 0, 100, 10};
    struct dcgw_dc_channel *ca[5], *cb[5], *x, *y;
    struct dcgw_dc_params p;
    for (int i = 0; i < 5; i++) {
        char label[16];
        snprintf(label, sizeof(label), "ch%u", ids[i]);
        params(&p, ids[i], label, ids[i] < 1000 ? "http" : "");
        ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca[i]), 0);
        ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb[i]), 0);
    }
    params(&p, 100, "again", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &x), DCGW_EEXIST);
    want_open_a = want_open_b = 5;
    duo_connect(&d);
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    /* in-band channels take the lowest free ids of each side's parity */
    params(&p, DCGW_DC_ID_AUTO, "inband-a", "");
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &x), 0);
    params(&p, DCGW_DC_ID_AUTO, "inband-b", "");
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &y), 0);
    ck_assert_uint_eq(x->params.id, 2);
    ck_assert_uint_eq(y->params.id, 1);
    want_open_a = want_open_b = 7;
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    static const uint16_t order[] = {0, 1, 2, 10, 100, 110, 1000};
    size_t k = 0;
    for (struct dcgw_dc_channel *ch = dcgw_dc_channel_next(d.b.dc, 0); ch;
         ch = dcgw_dc_channel_next(d.b.dc, (uint32_t)ch->params.id + 1))
        ck_assert_uint_eq(ch->params.id, order[k++]);
    ck_assert_uint_eq(k, 7);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.b.dc), 7);
    ck_assert_ptr_null(dcgw_dc_channel_next(d.b.dc, 1001));
    /* a message on every channel lands on the twin with the same id, byte for byte */
    for (int i = 0; i < 5; i++) {
        char m[32];
        snprintf(m, sizeof(m), "to %u", ids[i]);
        send_ok(&d.a, ca[i], false, m);
    }
    want_b = 5;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    for (int i = 0; i < 5; i++) {
        char m[32];
        snprintf(m, sizeof(m), "to %u", ids[i]);
        check_rmsg(&d.b.msgs[i], ids[i], false, m);
        ck_assert_ptr_eq(dcgw_dc_channel_by_id(d.b.dc, ids[i]), cb[i]);
    }
    /* closing one in the middle leaves the others where they were */
    ck_assert_int_eq(dcgw_dc_close_channel(d.a.dc, ca[3]), 0); /* 100 */
    want_closed_a = want_closed_b = 1;
    ck_assert_int_ge(pump(&d, got_closes, 500), 0);
    ck_assert_uint_eq(d.b.closed_ch[0], 100);
    ck_assert_ptr_null(dcgw_dc_channel_by_id(d.b.dc, 100));
    ck_assert_ptr_eq(dcgw_dc_channel_by_id(d.b.dc, 110), cb[1]);
    ck_assert_ptr_eq(dcgw_dc_channel_next(d.b.dc, 11), cb[1]);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.b.dc), 6);
    send_ok(&d.a, ca[0], true, "still 1000");
    want_b = 6;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    check_rmsg(&d.b.msgs[5], 1000, true, "still 1000");
    duo_free(&d);
}
END_TEST

START_TEST(dcep_open_ack_even_odd)
{
    struct duo d;
    duo_new(&d, true);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca, *cb, *x;
    params(&p, DCGW_DC_ID_AUTO, "chat", "json");
    p.ordered = false;
    p.reliability = DCGW_DC_MAX_RETR;
    p.reliability_param = 3;
    p.priority = 512;
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &ca), 0);
    /* DTLS client: even; 0 and 10 are bootstrap ids (TS 26.114), never picked */
    ck_assert_uint_eq(ca->params.id, 2);
    ck_assert_int_eq(ca->state, DCGW_DC_CONNECTING);
    params(&p, DCGW_DC_ID_AUTO, "back", "");
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &cb), 0);
    ck_assert_uint_eq(cb->params.id, 1); /* DTLS server: odd */
    params(&p, 3, "wrong", "");
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &x), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &x), 0);
    ck_assert_uint_eq(x->params.id, 3);
    want_open_a = 3; /* ours acked + two of the peer's */
    want_open_b = 3;
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    ck_assert_int_eq(ca->state, DCGW_DC_OPEN);
    ck_assert(ca->acked);
    /* what the peer saw in the OPEN */
    ck_assert_int_eq(d.b.requests, 1);
    ck_assert_str_eq(d.b.last_request.label, "chat");
    ck_assert_str_eq(d.b.last_request.protocol, "json");
    ck_assert(!d.b.last_request.ordered);
    ck_assert_int_eq(d.b.last_request.reliability, DCGW_DC_MAX_RETR);
    ck_assert_uint_eq(d.b.last_request.reliability_param, 3);
    ck_assert_uint_eq(d.b.last_request.priority, 512);
    struct dcgw_dc_channel *b0 = dcgw_dc_channel_by_id(d.b.dc, 2);
    ck_assert_ptr_nonnull(b0);
    ck_assert(!b0->negotiated);
    ck_assert(!b0->locally_opened);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->opens_accepted, 1);
    ck_assert_uint_eq(dcgw_dc_stats(d.a.dc)->acks_in, 1);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->acks_in, 2);
    send_ok(&d.a, ca, true, "hello");
    send_ok(&d.b, b0, true, "hi");
    want_a = want_b = 1;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    check_rmsg(&d.b.msgs[0], 2, true, "hello");
    check_rmsg(&d.a.msgs[0], 2, true, "hi");
    duo_free(&d);
}
END_TEST

START_TEST(messages_before_ack_are_ordered)
{
    struct duo d;
    duo_new(&d, true);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca;
    params(&p, DCGW_DC_ID_AUTO, "early", "");
    p.ordered = false;
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &ca), 0);
    char buf[16];
    for (int i = 0; i < 20; i++) { /* sent before any ACK: must go ordered, after the OPEN */
        snprintf(buf, sizeof(buf), "m%02d", i);
        send_ok(&d.a, ca, true, buf);
    }
    d.l.ab.reorder_pct = 50;
    want_b = 20;
    ck_assert_int_ge(pump(&d, got_msgs, 2000), 0);
    ck_assert_uint_eq(d.b.nopened, 1); /* the OPEN was handled before the first message */
    for (int i = 0; i < 20; i++) {
        snprintf(buf, sizeof(buf), "m%02d", i);
        check_rmsg(&d.b.msgs[i], 2, true, buf);
    }
    ck_assert_int_eq(ca->state, DCGW_DC_OPEN);
    duo_free(&d);
}
END_TEST

static bool a_closed_one(void *ctx)
{
    struct duo *d = ctx;
    return d->a.nclosed >= 1;
}

START_TEST(refused_open_resets_the_stream)
{
    struct duo d;
    duo_new(&d, true);
    d.b.refuse = true;
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca;
    params(&p, DCGW_DC_ID_AUTO, "nope", "");
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &ca), 0);
    ck_assert_int_ge(pump(&d, a_closed_one, 1000), 0);
    ck_assert_uint_eq(d.a.closed_ch[0], 2);
    ck_assert_uint_eq(d.a.nopened, 0);
    ck_assert_int_eq(d.b.requests, 1);
    ck_assert_uint_eq(d.b.nopened, 0);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->opens_refused, 1);
    pump(&d, NULL, 100);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.a.dc), 0);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.b.dc), 0); /* hidden record gone too */
    /* the id is free again, and this time the peer accepts */
    d.b.refuse = false;
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &ca), 0);
    ck_assert_uint_eq(ca->params.id, 2);
    want_open_a = want_open_b = 1;
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    duo_free(&d);
}
END_TEST

START_TEST(dcep_disallowed_and_limits)
{
    struct dcgw_dc_settings sa, sb;
    dcgw_dc_settings_default(&sa);
    dcgw_dc_settings_default(&sb);
    sa.allow_dcep = false; /* a refuses everything in band */
    sb.allow_dcep = true;
    sb.max_channels = 2;
    struct duo d;
    duo_new_with(&d, &sa, &sb);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *c[3];
    params(&p, DCGW_DC_ID_AUTO, "x", "");
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &c[0]), 0);
    want_closed_b = 1;
    ck_assert_int_ge(pump(&d, got_closes, 1000), 0);
    ck_assert_int_eq(d.a.requests, 0); /* refused before asking the policy */
    ck_assert_uint_eq(dcgw_dc_stats(d.a.dc)->opens_refused, 1);
    /* b takes at most 2 channels */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &c[i]), 0);
    want_open_a = 2;
    want_closed_a = 1;
    ck_assert_int_ge(pump(&d, got_opens, 1000), 0);
    ck_assert_int_ge(pump(&d, got_closes, 1000), 0);
    ck_assert_uint_eq(d.b.nopened, 2);
    ck_assert_uint_eq(d.a.closed_ch[0], 6);
    duo_free(&d);
}
END_TEST

START_TEST(bad_opens_from_the_peer)
{
    struct duo d;
    duo_new(&d, true);
    duo_connect(&d);
    struct dcgw_sctp *sa = dcgw_dc_sctp(d.a.dc);
    /* a (client, even ids) opens on an odd stream: refused */
    uint8_t open[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 'z'};
    ck_assert_int_eq(dcgw_sctp_send(sa, 3, DCGW_PPID_DCEP, NULL, open, sizeof(open)), 0);
    /* a malformed OPEN on a good stream: refused */
    uint8_t bad[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 9, 0, 0, 'z'};
    ck_assert_int_eq(dcgw_sctp_send(sa, 2, DCGW_PPID_DCEP, NULL, bad, sizeof(bad)), 0);
    /* an unknown DCEP type, an ACK nobody waits for */
    uint8_t junk[] = {0x07, 1, 2};
    uint8_t ack[] = {0x02};
    ck_assert_int_eq(dcgw_sctp_send(sa, 4, DCGW_PPID_DCEP, NULL, junk, sizeof(junk)), 0);
    ck_assert_int_eq(dcgw_sctp_send(sa, 6, DCGW_PPID_DCEP, NULL, ack, sizeof(ack)), 0);
    /* data on a stream without a channel */
    ck_assert_int_eq(dcgw_sctp_send(sa, 8, DCGW_PPID_STRING, NULL, ack, 1), 0);
    pump(&d, NULL, 300);
    const struct dcgw_dc_stats *st = dcgw_dc_stats(d.b.dc);
    ck_assert_uint_eq(st->dcep_in, 4);
    ck_assert_uint_eq(st->dcep_bad, 2);
    ck_assert_uint_eq(st->opens_refused, 2);
    ck_assert_uint_eq(st->acks_unexpected, 1);
    ck_assert_uint_eq(st->unknown_stream, 1);
    ck_assert_uint_eq(d.b.nopened, 0);
    ck_assert_int_eq(d.b.requests, 0);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.b.dc), 0); /* resets completed both ways */
    ck_assert_uint_ge(dcgw_sctp_stats(sa)->resets_in, 2);
    duo_free(&d);
}
END_TEST

/* RFC 8832 §6 broken by the peer (aiortc 1.4 as the DTLS client of an ICE-lite dcgw uses odd
 * ids): with tolerate_parity the open is taken and counted, and our own opens move to the
 * parity the peer leaves free; without it (bad_opens_from_the_peer) it is refused. */
START_TEST(tolerated_wrong_parity)
{
    struct dcgw_dc_settings sa, sb;
    dcgw_dc_settings_default(&sa);
    dcgw_dc_settings_default(&sb);
    sa.allow_dcep = sb.allow_dcep = true;
    sa.tolerate_parity = sb.tolerate_parity = true;
    struct duo d;
    duo_new_with(&d, &sa, &sb);
    duo_connect(&d);
    /* a, the DTLS client, opens stream 3 (odd: the server's parity), raw */
    uint8_t open[] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, 'z'};
    ck_assert_int_eq(
        dcgw_sctp_send(dcgw_dc_sctp(d.a.dc), 3, DCGW_PPID_DCEP, NULL, open, sizeof(open)), 0);
    want_open_b = 1;
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    ck_assert_uint_eq(d.b.opened[0], 3);
    ck_assert_int_eq(d.b.requests, 1); /* the owner still decides */
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->opens_accepted, 1);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->opens_wrong_parity, 1);
    /* b's own opens now take even ids (0 and 10 are bootstrap ids: 2), never 5, 7, ... */
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *cb, *cb2;
    params(&p, DCGW_DC_ID_AUTO, "from-b", "");
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &cb), 0);
    ck_assert_uint_eq(cb->params.id, 2);
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &cb2), 0);
    ck_assert_uint_eq(cb2->params.id, 4);
    params(&p, 5, "odd", "");
    ck_assert_int_eq(dcgw_dc_open(d.b.dc, &p, &cb2), DCGW_EINVAL); /* the peer's parity now */
    /* a, tolerant too, takes b's even ids (its own parity): the first switches it to odd */
    want_open_a = 2;
    ck_assert_int_ge(pump(&d, got_opens, 500), 0);
    ck_assert_uint_eq(d.a.opened[0], 2);
    ck_assert_uint_eq(dcgw_dc_stats(d.a.dc)->opens_wrong_parity, 1);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->opens_wrong_parity, 1); /* only the first */
    send_ok(&d.b, cb, true, "after the switch");
    want_a = 1;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    ck_assert_uint_eq(d.a.msgs[0].id, 2);
    duo_free(&d);
}
END_TEST

START_TEST(close_resets_both_ways)
{
    struct duo d;
    duo_new(&d, true);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca, *cb;
    params(&p, 1000, "app", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), DCGW_ERANGE);
    params(&p, 100, "remote-bootstrap", "http");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb), 0);
    send_ok(&d.a, ca, true, "last words");
    ck_assert_int_eq(dcgw_dc_close_channel(d.a.dc, ca), 0);
    ck_assert_int_eq(ca->state, DCGW_DC_CLOSING);
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, ca, true, (const uint8_t *)"x", 1), DCGW_ESTATE);
    ck_assert_int_eq(dcgw_dc_close_channel(d.a.dc, ca), 0); /* idempotent */
    want_closed_a = want_closed_b = 1;
    ck_assert_int_ge(pump(&d, got_closes, 1000), 0);
    ck_assert_uint_eq(d.b.nmsgs, 1); /* data before the reset was delivered */
    check_rmsg(&d.b.msgs[0], 100, true, "last words");
    ck_assert_uint_eq(d.a.closed_ch[0], 100);
    ck_assert_uint_eq(d.b.closed_ch[0], 100);
    ck_assert_ptr_null(dcgw_dc_channel_by_id(d.a.dc, 100));
    ck_assert_ptr_null(dcgw_dc_channel_by_id(d.b.dc, 100));
    /* the id can be used again, with fresh sequence numbers */
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb), 0);
    send_ok(&d.b, cb, false, "again");
    want_a = 1;
    want_b = 1;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    check_rmsg(&d.a.msgs[0], 100, false, "again");
    /* the peer closes this time */
    ck_assert_int_eq(dcgw_dc_close_channel(d.b.dc, cb), 0);
    want_closed_a = want_closed_b = 2;
    ck_assert_int_ge(pump(&d, got_closes, 1000), 0);
    duo_free(&d);
}
END_TEST

START_TEST(empty_text_and_binary)
{
    struct duo d;
    duo_new(&d, false);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca, *cb;
    params(&p, 5, "e", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb), 0);
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, ca, true, NULL, 0), 0);
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, ca, false, NULL, 0), 0);
    send_ok(&d.a, ca, true, "\0"); /* strlen 0: another empty text */
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, ca, false, (const uint8_t *)"\0", 1), 0);
    ck_assert_int_eq(dcgw_dc_send(d.a.dc, ca, true, (const uint8_t *)"\0", 1), 0);
    want_b = 5;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    ck_assert_uint_eq(d.b.msgs[0].n, 0);
    ck_assert(d.b.msgs[0].is_text);
    ck_assert_uint_eq(d.b.msgs[1].n, 0);
    ck_assert(!d.b.msgs[1].is_text);
    ck_assert_uint_eq(d.b.msgs[2].n, 0);
    ck_assert(d.b.msgs[2].is_text);
    /* a one-byte zero message is not an empty one */
    ck_assert_uint_eq(d.b.msgs[3].n, 1);
    ck_assert(!d.b.msgs[3].is_text);
    ck_assert_uint_eq(d.b.msgs[4].n, 1);
    ck_assert(d.b.msgs[4].is_text);
    ck_assert_uint_eq(cb->stats.msgs_in, 5);
    ck_assert_uint_eq(cb->stats.bytes_in, 2);
    duo_free(&d);
}
END_TEST

START_TEST(deprecated_and_unknown_ppids_dropped)
{
    struct duo d;
    duo_new(&d, false);
    duo_connect(&d);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca, *cb;
    params(&p, 7, "p", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb), 0);
    struct dcgw_sctp *sa = dcgw_dc_sctp(d.a.dc);
    const uint8_t x[] = "abc";
    ck_assert_int_eq(dcgw_sctp_send(sa, 7, DCGW_PPID_BINARY_PARTIAL, NULL, x, 3), 0);
    ck_assert_int_eq(dcgw_sctp_send(sa, 7, DCGW_PPID_STRING_PARTIAL, NULL, x, 3), 0);
    ck_assert_int_eq(dcgw_sctp_send(sa, 7, 1234, NULL, x, 3), 0);
    send_ok(&d.a, ca, false, "ok");
    want_b = 1;
    ck_assert_int_ge(pump(&d, got_msgs, 500), 0);
    ck_assert_uint_eq(d.b.nmsgs, 1);
    check_rmsg(&d.b.msgs[0], 7, false, "ok");
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->deprecated_ppid, 2);
    ck_assert_uint_eq(dcgw_dc_stats(d.b.dc)->unknown_ppid, 1);
    ck_assert_uint_eq(cb->stats.dropped_in, 3);
    duo_free(&d);
}
END_TEST

START_TEST(association_end_closes_channels)
{
    struct duo d;
    duo_new(&d, true);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *c;
    params(&p, 0, "a", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &c), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &c), 0);
    params(&p, DCGW_DC_ID_AUTO, "pre", ""); /* DCEP open before the association is up */
    ck_assert_int_eq(dcgw_dc_open(d.a.dc, &p, &c), 0);
    ck_assert_uint_eq(c->params.id, 2);
    want_open_a = 2;
    want_open_b = 2;
    duo_connect(&d);
    ck_assert_int_ge(pump(&d, got_opens, 1000), 0);
    ck_assert_int_eq(dcgw_dc_close(d.a.dc), 0);
    want_closed_a = want_closed_b = 2;
    ck_assert_int_ge(pump(&d, got_closes, 2000), 0);
    pump(&d, NULL, 50);
    ck_assert_int_eq(d.a.closed, 1);
    ck_assert_int_eq(d.b.closed, 1);
    ck_assert_uint_eq(dcgw_dc_channel_count(d.a.dc), 0);
    duo_free(&d);
}
END_TEST

START_TEST(free_inside_callback)
{
    struct duo d;
    duo_new(&d, false);
    struct dcgw_dc_params p;
    struct dcgw_dc_channel *ca, *cb;
    params(&p, 1, "f", "");
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.a.dc, &p, &ca), 0);
    ck_assert_int_eq(dcgw_dc_add_negotiated(d.b.dc, &p, &cb), 0);
    duo_connect(&d);
    d.b.free_on_message = true;
    for (int i = 0; i < 5; i++)
        send_ok(&d.a, ca, true, "m");
    pump(&d, NULL, 200);
    ck_assert_uint_eq(d.b.nmsgs, 1);
    ck_assert_ptr_null(d.b.dc);
    ck_assert_int_eq(d.a.closed, 1); /* the peer saw the ABORT */
    duo_free(&d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datachannel");
    TCase *tc = tcase_create("negotiated");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, kind_of_stream);
    tcase_add_test(tc, negotiated_both_sides);
    tcase_add_test(tc, sparse_ids_in_order);
    tcase_add_test(tc, empty_text_and_binary);
    tcase_add_test(tc, deprecated_and_unknown_ppids_dropped);
    suite_add_tcase(s, tc);
    tc = tcase_create("dcep");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dcep_open_ack_even_odd);
    tcase_add_test(tc, messages_before_ack_are_ordered);
    tcase_add_test(tc, refused_open_resets_the_stream);
    tcase_add_test(tc, dcep_disallowed_and_limits);
    tcase_add_test(tc, bad_opens_from_the_peer);
    tcase_add_test(tc, tolerated_wrong_parity);
    suite_add_tcase(s, tc);
    tc = tcase_create("close");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, close_resets_both_ways);
    tcase_add_test(tc, association_end_closes_channels);
    tcase_add_test(tc, free_inside_callback);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
