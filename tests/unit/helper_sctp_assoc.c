/* Two SCTP associations of one test back to back (test_sctp*.c): the endpoint that
 * records what its association reports, and the pair over helper_sctp_pair.c's link. */
#include "helper_sctp_assoc.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"

static uint16_t next_port = 5000;
size_t stp_want_a, stp_want_b;

void stp_cb_send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct stp_peer *pe = ud;
    if (pe->send_in_send_packet) {
        static const uint8_t x = 1;
        pe->nested_send_result = dcgw_sctp_send(pe->s, 0, 53, NULL, &x, 1);
    }
    if (n > pe->max_packet)
        pe->max_packet = n;
    if (n > 12 && p[12] == 4) /* RFC 9260 §3.3.5: chunk type 4, HEARTBEAT */
        pe->heartbeats++;
    lossy_send(pe->out, p, n);
}

static void cb_connected(void *ud)
{
    ((struct stp_peer *)ud)->connected++;
}

static void cb_message(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags)
{
    struct stp_peer *pe = ud;
    ck_assert_uint_lt(pe->nmsgs, STP_MAX_MSGS);
    struct stp_rmsg *m = &pe->msgs[pe->nmsgs++];
    m->stream = stream;
    m->ppid = ppid;
    m->flags = flags;
    m->n = n;
    m->p = malloc(n);
    ck_assert_ptr_nonnull(m->p);
    memcpy(m->p, p, n);
    if (pe->free_on_message) {
        dcgw_sctp_free(pe->s);
        pe->s = NULL;
    }
}

static void cb_reset(void *ud, uint16_t stream, enum dcgw_sctp_reset what)
{
    struct stp_peer *pe = ud;
    pe->resets[what]++;
    pe->last_reset[what] = stream;
}

static void cb_closed(void *ud)
{
    ((struct stp_peer *)ud)->closed++;
}

static void cb_writable(void *ud)
{
    ((struct stp_peer *)ud)->writable++;
}

void stp_deliver(void *ud, const uint8_t *p, size_t n)
{
    struct stp_peer *pe = ud;
    if (pe->s)
        dcgw_sctp_input(pe->s, p, n);
}

void stp_settings(struct dcgw_sctp_settings *s, uint16_t lport, uint16_t rport)
{
    dcgw_sctp_settings_default(s);
    s->local_port = lport;
    s->remote_port = rport;
}

/* Default settings for a and b on a fresh pair of ports. */
void stp_settings_pair(struct dcgw_sctp_settings *sa, struct dcgw_sctp_settings *sb)
{
    uint16_t pa = next_port++, pb = next_port++;
    stp_settings(sa, pa, pb);
    stp_settings(sb, pb, pa);
}

void stp_pair_new(struct stp_pair *pr, const struct dcgw_sctp_settings *sa,
                  const struct dcgw_sctp_settings *sb)
{
    memset(pr, 0, sizeof(*pr));
    stp_want_a = stp_want_b = 0;
    sctp_pair_link_init(&pr->l, 1, stp_deliver, &pr->a, &pr->b);
    pr->a.out = &pr->l.ab;
    pr->b.out = &pr->l.ba;
    struct dcgw_sctp_callbacks cb = {.send_packet = stp_cb_send_packet,
                                     .on_connected = cb_connected,
                                     .on_message = cb_message,
                                     .on_stream_reset = cb_reset,
                                     .on_closed = cb_closed,
                                     .on_writable = cb_writable};
    struct dcgw_sctp_settings da, db;
    stp_settings_pair(&da, &db);
    if (!sa)
        sa = &da;
    if (!sb)
        sb = &db;
    cb.ud = &pr->a;
    ck_assert_int_eq(dcgw_sctp_new(sa, &cb, &pr->a.s), 0);
    cb.ud = &pr->b;
    ck_assert_int_eq(dcgw_sctp_new(sb, &cb, &pr->b.s), 0);
}

/* Moves packets both ways and ticks the timers until done() or the budget runs out. */
int stp_pump(struct stp_pair *pr, bool (*done)(void *), int max_ticks)
{
    return sctp_pair_pump(&pr->l, done, pr, max_ticks);
}

static bool both_connected(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.connected && pr->b.connected;
}

void stp_pair_connect(struct stp_pair *pr)
{
    ck_assert_int_eq(dcgw_sctp_connect(pr->a.s), 0);
    ck_assert_int_eq(dcgw_sctp_connect(pr->b.s), 0);
    ck_assert_int_ge(stp_pump(pr, both_connected, 2000), 0);
}

static void peer_clear(struct stp_peer *pe)
{
    for (size_t i = 0; i < pe->nmsgs; i++)
        free(pe->msgs[i].p);
    pe->nmsgs = 0;
}

void stp_pair_free(struct stp_pair *pr)
{
    dcgw_sctp_free(pr->a.s);
    dcgw_sctp_free(pr->b.s);
    pr->a.s = pr->b.s = NULL;
    peer_clear(&pr->a);
    peer_clear(&pr->b);
    sctp_pair_link_dispose(&pr->l);
}

/* Sends a message with PPID 53 on s, pumping while its send buffer is full; asserts
 * that it was accepted. */
void stp_send_waiting(struct stp_pair *pr, struct dcgw_sctp *s, uint16_t stream,
                      const struct dcgw_sctp_sendopts *o, const uint8_t *m, size_t n)
{
    int r;
    while ((r = dcgw_sctp_send(s, stream, 53, o, m, n)) == DCGW_EAGAIN)
        stp_pump(pr, NULL, 5);
    ck_assert_int_eq(r, 0);
}

/* message i of a test: a 4-byte index then a pattern that depends on it */
uint8_t *stp_make_msg(uint32_t i, size_t n)
{
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 31 + i * 7 + (k >> 8));
    if (n >= 4)
        memcpy(p, &i, 4);
    return p;
}

void stp_check_msg(const struct stp_rmsg *m, uint32_t i, size_t n)
{
    uint8_t *want = stp_make_msg(i, n);
    ck_assert_uint_eq(m->n, n);
    ck_assert(memcmp(m->p, want, n) == 0);
    free(want);
}

bool stp_got_wanted(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.nmsgs >= stp_want_a && pr->b.nmsgs >= stp_want_b;
}

size_t stp_on_stream(const struct stp_peer *pe, uint16_t stream, const struct stp_rmsg **out,
                     size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < pe->nmsgs; i++)
        if (pe->msgs[i].stream == stream && k < max)
            out[k++] = &pe->msgs[i];
    return k;
}

/* A marker message on stream 9 (another stream: not held up by the stream under test). */
bool stp_marker_arrived(void *ctx)
{
    struct stp_pair *pr = ctx;
    const struct stp_rmsg *m[1];
    return stp_on_stream(&pr->b, 9, m, 1) == 1;
}
