/* Associations of one process share one AF_CONN address and are told apart by their
 * local SCTP port (src/stages/sctp.c, DESIGN §10): a packet for another association's ports is
 * dropped before usrsctp sees it, and two associations on one port still work (the second
 * gets an address of its own). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/crc32c.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_lossy.h"
#include "helper_suite.h"

enum { TICK_MS = 10, PKT_MAX = 2048 };

struct end {
    struct dcgw_sctp *s;
    struct lossy_link *out;
    int connected;
    unsigned msgs;
    uint8_t last[64];
    size_t last_n;
    uint8_t data_pkt[PKT_MAX]; /* the last packet this end sent that carried DATA */
    size_t data_pkt_n;
};

struct assoc {
    struct end a, b;
    struct lossy_link ab, ba;
};

static void cb_send(void *ud, const uint8_t *p, size_t n)
{
    struct end *e = ud;
    if (n > 12 && n <= PKT_MAX && p[12] == 0) { /* RFC 9260 §3.3.1: chunk type 0, DATA */
        memcpy(e->data_pkt, p, n);
        e->data_pkt_n = n;
    }
    lossy_send(e->out, p, n);
}

static void cb_connected(void *ud)
{
    ((struct end *)ud)->connected++;
}

static void cb_message(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags)
{
    (void)stream, (void)ppid, (void)flags;
    struct end *e = ud;
    e->msgs++;
    e->last_n = n < sizeof(e->last) ? n : sizeof(e->last);
    memcpy(e->last, p, e->last_n);
}

/* RFC 9260 §6.8: CRC32c over the packet with a zero checksum field, little endian. */
static void set_crc(uint8_t *p, size_t n)
{
    memset(p + 8, 0, 4);
    uint32_t c = dcgw_crc32c(p, n);
    for (int i = 0; i < 4; i++)
        p[8 + i] = (uint8_t)(c >> (8 * i));
}

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct end *e = ud;
    dcgw_sctp_input(e->s, p, n);
}

static void assoc_new(struct assoc *x, uint16_t pa, uint16_t pb)
{
    memset(x, 0, sizeof(*x));
    lossy_init(&x->ab, 0, 0, 0, 1);
    lossy_init(&x->ba, 0, 0, 0, 2);
    x->a.out = &x->ab;
    x->b.out = &x->ba;
    struct dcgw_sctp_callbacks cb = {
        .send_packet = cb_send, .on_connected = cb_connected, .on_message = cb_message};
    struct dcgw_sctp_settings s;
    dcgw_sctp_settings_default(&s);
    s.local_port = pa;
    s.remote_port = pb;
    cb.ud = &x->a;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x->a.s), 0);
    s.local_port = pb;
    s.remote_port = pa;
    cb.ud = &x->b;
    ck_assert_int_eq(dcgw_sctp_new(&s, &cb, &x->b.s), 0);
}

static void pump(struct assoc **xs, unsigned n, unsigned ticks)
{
    for (unsigned t = 0; t < ticks; t++) {
        size_t moved = 0;
        for (unsigned i = 0; i < n; i++) {
            moved += lossy_pump(&xs[i]->ab, deliver, &xs[i]->b);
            moved += lossy_pump(&xs[i]->ba, deliver, &xs[i]->a);
        }
        if (!moved) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
            dcgw_sctp_handle_timers(TICK_MS);
        }
    }
}

static void assoc_free(struct assoc *x)
{
    dcgw_sctp_free(x->a.s);
    dcgw_sctp_free(x->b.s);
    lossy_dispose(&x->ab);
    lossy_dispose(&x->ba);
}

static void connect_all(struct assoc **xs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ck_assert_int_eq(dcgw_sctp_connect(xs[i]->a.s), 0);
        ck_assert_int_eq(dcgw_sctp_connect(xs[i]->b.s), 0);
    }
    pump(xs, n, 300);
    for (unsigned i = 0; i < n; i++)
        ck_assert(xs[i]->a.connected && xs[i]->b.connected);
}

START_TEST(foreign_ports_are_dropped)
{
    struct assoc x, y, *xs[2] = {&x, &y};
    assoc_new(&x, 7001, 7002);
    assoc_new(&y, 7003, 7004);
    ck_assert(dcgw_sctp_port_in_use(7001) && dcgw_sctp_port_in_use(7004));
    ck_assert(!dcgw_sctp_port_in_use(7005));
    connect_all(xs, 2);
    /* a real DATA packet of y's B toward y's A ... */
    ck_assert_int_eq(dcgw_sctp_send(y.b.s, 1, 53, NULL, (const uint8_t *)"for y", 5), 0);
    ck_assert_uint_gt(y.b.data_pkt_n, 0);
    uint8_t pkt[PKT_MAX];
    size_t n = y.b.data_pkt_n;
    memcpy(pkt, y.b.data_pkt, n);
    pump(xs, 2, 50);
    ck_assert_uint_eq(y.a.msgs, 1);
    /* ... replayed into x's A (as a peer of x could craft it) reaches nobody */
    ck_assert_int_eq(dcgw_sctp_input(x.a.s, pkt, n), DCGW_EMALFORMED);
    ck_assert_uint_eq(dcgw_sctp_stats(x.a.s)->wrong_ports, 1);
    pump(xs, 2, 50);
    ck_assert_uint_eq(y.a.msgs, 1);
    ck_assert_uint_eq(x.a.msgs, 0);
    /* x's own destination port but a source port other than x's B (CRC made valid) */
    pkt[0] = 7999 >> 8, pkt[1] = 7999 & 0xff;
    pkt[2] = 7001 >> 8, pkt[3] = 7001 & 0xff;
    set_crc(pkt, n);
    ck_assert_int_eq(dcgw_sctp_input(x.a.s, pkt, n), DCGW_EMALFORMED);
    ck_assert_uint_eq(dcgw_sctp_stats(x.a.s)->wrong_ports, 2);
    /* both associations still carry their own messages */
    ck_assert_int_eq(dcgw_sctp_send(x.b.s, 1, 53, NULL, (const uint8_t *)"for x", 5), 0);
    pump(xs, 2, 50);
    ck_assert_uint_eq(x.a.msgs, 1);
    ck_assert(x.a.last_n == 5 && memcmp(x.a.last, "for x", 5) == 0);
    assoc_free(&x);
    assoc_free(&y);
    ck_assert(!dcgw_sctp_port_in_use(7001));
}
END_TEST

START_TEST(shared_port_falls_back_to_own_address)
{
    /* x and y both bind local port 7101 (and 7102): the second of each pair gets a
     * private address; all four ends still exchange messages with their own peer. */
    struct assoc x, y, *xs[2] = {&x, &y};
    assoc_new(&x, 7101, 7102);
    assoc_new(&y, 7101, 7102);
    connect_all(xs, 2);
    ck_assert_int_eq(dcgw_sctp_send(x.a.s, 1, 53, NULL, (const uint8_t *)"x", 1), 0);
    ck_assert_int_eq(dcgw_sctp_send(y.a.s, 1, 53, NULL, (const uint8_t *)"yy", 2), 0);
    ck_assert_int_eq(dcgw_sctp_send(y.b.s, 1, 53, NULL, (const uint8_t *)"zzz", 3), 0);
    pump(xs, 2, 50);
    ck_assert_uint_eq(x.b.msgs, 1);
    ck_assert_uint_eq(x.b.last_n, 1);
    ck_assert_uint_eq(y.b.msgs, 1);
    ck_assert_uint_eq(y.b.last_n, 2);
    ck_assert_uint_eq(y.a.msgs, 1);
    ck_assert_uint_eq(y.a.last_n, 3);
    ck_assert_uint_eq(x.a.msgs, 0);
    assoc_free(&y);
    ck_assert(dcgw_sctp_port_in_use(7101)); /* x's A still holds it */
    assoc_free(&x);
    ck_assert(!dcgw_sctp_port_in_use(7101));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sctp_ports");
    const TTest *const ports[] = {foreign_ports_are_dropped, shared_port_falls_back_to_own_address,
                                  NULL};
    tsuite_add(s, "ports", 30, NULL, NULL, ports);
    return tsuite_run(s);
}
