/* Many local addresses on one socket (io.h `pktinfo`, client.h dcgw_client_net), as the
 * bench's simulated endpoints use them: a datagram reaches the io with the address it was
 * sent to, a send leaves from the address asked for (GSO never merges two sources), and
 * clients sharing one socket under addresses of their own connect to each other and to a
 * client with a socket of its own, each seeing the others' own addresses. Real sockets on
 * loopback (127.0.0.1 and 127.77.x.y, all of lo's 127/8; ::1, and 127.0.0.1 reaching a dual-stack
 * [::] socket at a v4-mapped address; fe80::1 added to lo). main() runs them in a network
 * namespace of their own, where lo can take a link-local address. */
#include <arpa/inet.h>
#include <check.h>
#include <linux/ipv6.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/net/client.h"
#include "dcgw/net/io.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/ice.h"
#include "helper_netns.h"
#include "helper_suite.h"

enum { MAXGOT = 64 };

struct got {
    unsigned n;
    struct sockaddr_storage from[MAXGOT], to[MAXGOT];
    size_t len[MAXGOT];
};

static void keep(struct got *g, const struct sockaddr *from, const struct sockaddr *to, size_t n)
{
    if (g->n < MAXGOT) {
        memcpy(&g->from[g->n], from, dcgw_addr_len(from));
        if (to)
            memcpy(&g->to[g->n], to, dcgw_addr_len(to));
        g->len[g->n] = n;
    }
    g->n++;
}

static void on_plain(void *ud, const struct sockaddr *from, uint8_t *p, size_t n, uint64_t now)
{
    (void)p;
    (void)now;
    keep(ud, from, NULL, n);
}

static void on_to(void *ud, const struct sockaddr *from, const struct sockaddr *to, uint8_t *p,
                  size_t n, uint64_t now)
{
    (void)p;
    (void)now;
    keep(ud, from, to, n);
}

static void addr(const char *text, struct sockaddr_storage *ss)
{
    ck_assert_int_eq(dcgw_addr_parse(text, ss), 0);
}

static uint16_t port_of(const struct sockaddr *sa)
{
    return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static bool same_host(const struct sockaddr_storage *a, const char *host)
{
    char buf[DCGW_ADDR_STRLEN];
    inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, buf, sizeof(buf));
    return strcmp(buf, host) == 0;
}

static void run_ms(uv_loop_t *loop, unsigned ms, bool (*done)(void *), void *arg)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        uv_run(loop, UV_RUN_NOWAIT);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (!(done && done(arg)) &&
             (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static bool got_n(void *arg)
{
    const unsigned *want = ((const unsigned **)arg)[1];
    return ((const struct got *)((void **)arg)[0])->n >= *want;
}

static void wait_got(uv_loop_t *loop, struct got *g, unsigned want)
{
    void *arg[2] = {g, &want};
    run_ms(loop, 2000, got_n, arg);
}

START_TEST(pktinfo_gives_the_destination_and_sends_from_the_source)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct got gs = {0}, gp = {0};
    struct sockaddr_storage any, lo, a1, a2;
    addr("0.0.0.0:0", &any);
    addr("127.0.0.1:0", &lo);
    struct dcgw_io_settings sst = {.batch = 16, .gso = true, .pktinfo = true};
    struct dcgw_io_cbs scb = {.ud = &gs, .on_datagram_to = on_to};
    struct dcgw_io *shared = NULL, *plain = NULL;
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&any, &sst, &scb, &shared), 0);
    struct dcgw_io_settings pst = {.batch = 16};
    struct dcgw_io_cbs pcb = {.ud = &gp, .on_datagram = on_plain};
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&lo, &pst, &pcb, &plain), 0);
    uint16_t port = port_of(dcgw_io_local(shared));
    char text[64];
    snprintf(text, sizeof(text), "127.77.0.1:%u", port);
    addr(text, &a1);
    snprintf(text, sizeof(text), "127.77.0.2:%u", port);
    addr(text, &a2);
    uint8_t buf[200] = {0};

    /* in: each datagram with the address it was sent to */
    ck_assert_int_eq(dcgw_io_send(plain, (struct sockaddr *)&a1, buf, 10), 0);
    ck_assert_int_eq(dcgw_io_send(plain, (struct sockaddr *)&a2, buf, 20), 0);
    dcgw_io_flush(plain);
    wait_got(&loop, &gs, 2);
    ck_assert_uint_eq(gs.n, 2);
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gs.to[0], (struct sockaddr *)&a1));
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gs.to[1], (struct sockaddr *)&a2));
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gs.from[0], dcgw_io_local(plain)));

    /* out: equal sizes to one destination from two sources: two runs, never one GSO send */
    const struct sockaddr *to = dcgw_io_local(plain);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&a1, to, buf, 100), 0);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&a2, to, buf, 100), 0);
    dcgw_io_flush(shared);
    wait_got(&loop, &gp, 6);
    ck_assert_uint_eq(gp.n, 6);
    for (unsigned k = 0; k < 6; k++) {
        ck_assert(same_host(&gp.from[k], k < 3 ? "127.77.0.1" : "127.77.0.2"));
        ck_assert_uint_eq(port_of((struct sockaddr *)&gp.from[k]), port);
        ck_assert_uint_eq(gp.len[k], 100);
    }
    const struct dcgw_io_stats *st = dcgw_io_stats(shared);
    ck_assert_uint_eq(st->tx_packets, 6);
    ck_assert_uint_eq(st->tx_errors, 0);
    if (dcgw_io_gso(shared)) /* the kernel took UDP_SEGMENT with IP_PKTINFO */
        ck_assert_uint_eq(st->tx_gso_sends, 2);

    /* a plain io has no source to pick */
    ck_assert_int_eq(dcgw_io_send_from(plain, (struct sockaddr *)&a1, to, buf, 10), DCGW_EINVAL);
    dcgw_io_close(shared);
    dcgw_io_close(plain);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* The same on an IPv6 wildcard socket, with GRO and GSO too (a UDP_GRO cmsg beside the
 * IPV6_PKTINFO one: the control space is sized for both): ::1 in and out, and an IPv4 peer
 * reaching the dual-stack socket, seen at the v4-mapped address it sent to and answered
 * from it. */
START_TEST(pktinfo_ipv6_and_v4_mapped)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct got gs = {0}, g6 = {0}, g4 = {0};
    struct sockaddr_storage any6, lo6, lo4, to6, to4;
    addr("[::]:0", &any6);
    addr("[::1]:0", &lo6);
    addr("127.0.0.1:0", &lo4);
    struct dcgw_io_settings sst = {.batch = 16, .gso = true, .gro = true, .pktinfo = true};
    struct dcgw_io_cbs scb = {.ud = &gs, .on_datagram_to = on_to};
    struct dcgw_io *shared = NULL, *p6 = NULL, *p4 = NULL;
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&any6, &sst, &scb, &shared), 0);
    struct dcgw_io_settings pst = {.batch = 16};
    struct dcgw_io_cbs c6 = {.ud = &g6, .on_datagram = on_plain};
    struct dcgw_io_cbs c4 = {.ud = &g4, .on_datagram = on_plain};
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&lo6, &pst, &c6, &p6), 0);
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&lo4, &pst, &c4, &p4), 0);
    uint16_t port = ntohs(((const struct sockaddr_in6 *)dcgw_io_local(shared))->sin6_port);
    char text[64];
    snprintf(text, sizeof(text), "[::1]:%u", port);
    addr(text, &to6);
    snprintf(text, sizeof(text), "127.0.0.1:%u", port);
    addr(text, &to4);
    uint8_t buf[200] = {0};

    ck_assert_int_eq(dcgw_io_send(p6, (struct sockaddr *)&to6, buf, 30), 0);
    dcgw_io_flush(p6);
    ck_assert_int_eq(dcgw_io_send(p4, (struct sockaddr *)&to4, buf, 40), 0);
    dcgw_io_flush(p4);
    wait_got(&loop, &gs, 2);
    ck_assert_uint_eq(gs.n, 2);
    ck_assert_uint_eq(dcgw_io_stats(shared)->rx_truncated, 0);
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gs.to[0], (struct sockaddr *)&to6));
    ck_assert_uint_eq(gs.len[0], 30);
    /* the IPv4 datagram: to ::ffff:127.0.0.1, the shared port */
    const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)&gs.to[1];
    ck_assert_int_eq(m->sin6_family, AF_INET6);
    ck_assert(IN6_IS_ADDR_V4MAPPED(&m->sin6_addr));
    ck_assert_mem_eq(&m->sin6_addr.s6_addr[12], "\x7f\x00\x00\x01", 4);
    ck_assert_uint_eq(ntohs(m->sin6_port), port);
    ck_assert_uint_eq(gs.len[1], 40);

    /* answers from the addresses they were sent to: three to each peer (GSO runs of one
     * destination and source each) */
    struct sockaddr_storage from6 = gs.to[0], from4 = gs.to[1], peer6 = gs.from[0],
                            peer4 = gs.from[1];
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&from6,
                                           (struct sockaddr *)&peer6, buf, 100),
                         0);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&from4,
                                           (struct sockaddr *)&peer4, buf, 100),
                         0);
    dcgw_io_flush(shared);
    if (dcgw_io_gso(shared))
        ck_assert_uint_eq(dcgw_io_stats(shared)->tx_gso_sends, 2);
    wait_got(&loop, &g6, 3);
    wait_got(&loop, &g4, 3);
    ck_assert_uint_eq(g6.n, 3);
    ck_assert_uint_eq(g4.n, 3);
    for (unsigned k = 0; k < 3; k++) {
        ck_assert(dcgw_addr_equal((struct sockaddr *)&g6.from[k], (struct sockaddr *)&to6));
        ck_assert(dcgw_addr_equal((struct sockaddr *)&g4.from[k], (struct sockaddr *)&to4));
    }
    ck_assert_uint_eq(dcgw_io_stats(shared)->tx_errors, 0);
    dcgw_io_close(shared);
    dcgw_io_close(p6);
    dcgw_io_close(p4);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A link-local address names its interface only with its scope id: a datagram to
 * fe80::1 on lo is seen at fe80::1%lo (the scope id a socket bound there has, so the
 * client that owns it is found), and an answer sent from fe80::1%lo leaves from it. */
START_TEST(pktinfo_ipv6_link_local_keeps_the_scope)
{
    unsigned lo = if_nametoindex("lo");
    ck_assert_uint_ne(lo, 0);
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct in6_ifreq ifr = {.ifr6_prefixlen = 64, .ifr6_ifindex = (int)lo};
    ck_assert_int_eq(inet_pton(AF_INET6, "fe80::1", &ifr.ifr6_addr), 1);
    ck_assert_int_eq(ioctl(fd, SIOCSIFADDR, &ifr), 0);
    /* the address is tentative until the kernel's duplicate-address work has run (at
     * once on lo, but from a work queue): bindable within a bounded wait */
    struct sockaddr_in6 probe = {
        .sin6_family = AF_INET6, .sin6_addr = ifr.ifr6_addr, .sin6_scope_id = lo};
    int bound = -1;
    for (int i = 0; i < 200 && bound < 0; i++)
        if ((bound = bind(fd, (struct sockaddr *)&probe, sizeof(probe))) < 0)
            usleep(10 * 1000);
    ck_assert_int_eq(bound, 0);
    close(fd);

    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct got gs = {0}, gp = {0};
    struct sockaddr_storage any6, ll;
    addr("[::]:0", &any6);
    struct sockaddr_in6 *ll6 = (struct sockaddr_in6 *)&ll;
    memset(&ll, 0, sizeof(ll));
    ll6->sin6_family = AF_INET6;
    ll6->sin6_addr = ifr.ifr6_addr;
    ll6->sin6_scope_id = lo;
    struct dcgw_io_settings sst = {.batch = 16, .pktinfo = true};
    struct dcgw_io_cbs scb = {.ud = &gs, .on_datagram_to = on_to};
    struct dcgw_io_settings pst = {.batch = 16};
    struct dcgw_io_cbs pcb = {.ud = &gp, .on_datagram = on_plain};
    struct dcgw_io *shared = NULL, *peer = NULL;
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&any6, &sst, &scb, &shared), 0);
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&ll, &pst, &pcb, &peer), 0);
    struct sockaddr_storage to = ll; /* fe80::1%lo at the shared socket's port */
    ((struct sockaddr_in6 *)&to)->sin6_port =
        ((const struct sockaddr_in6 *)dcgw_io_local(shared))->sin6_port;
    uint8_t buf[64] = {0};

    ck_assert_int_eq(dcgw_io_send(peer, (struct sockaddr *)&to, buf, 20), 0);
    dcgw_io_flush(peer);
    wait_got(&loop, &gs, 1);
    ck_assert_uint_eq(gs.n, 1);
    ck_assert_uint_eq(((const struct sockaddr_in6 *)&gs.to[0])->sin6_scope_id, lo);
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gs.to[0], (struct sockaddr *)&to));

    ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&gs.to[0],
                                       (struct sockaddr *)&gs.from[0], buf, 30),
                     0);
    dcgw_io_flush(shared);
    wait_got(&loop, &gp, 1);
    ck_assert_uint_eq(gp.n, 1);
    ck_assert_uint_eq(gp.len[0], 30);
    ck_assert(dcgw_addr_equal((struct sockaddr *)&gp.from[0], (struct sockaddr *)&to));
    ck_assert_uint_eq(dcgw_io_stats(shared)->tx_errors, 0);
    dcgw_io_close(shared);
    dcgw_io_close(peer);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A source the host does not have (a client given an address that is not local) is refused
 * by the kernel (ENETUNREACH on Debian 12's: not an error that turns GSO off, io.c
 * gso_refused): that run is lost and counted, and GSO stays on for the sources that are
 * fine. */
START_TEST(pktinfo_foreign_source_leaves_gso_on)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    struct got gp = {0};
    struct sockaddr_storage any, lo, bad, good;
    addr("0.0.0.0:0", &any);
    addr("127.0.0.1:0", &lo);
    addr("192.0.2.1:0", &bad); /* TEST-NET-1 (RFC 5737): on no interface */
    addr("127.77.0.1:0", &good);
    struct dcgw_io_settings sst = {.batch = 16, .gso = true, .pktinfo = true};
    struct dcgw_io_cbs scb = {.ud = NULL, .on_datagram_to = on_to};
    struct dcgw_io *shared = NULL, *plain = NULL;
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&any, &sst, &scb, &shared), 0);
    if (!dcgw_io_gso(shared)) { /* no UDP GSO here: nothing to keep on */
        dcgw_io_close(shared);
        uv_run(&loop, UV_RUN_DEFAULT);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
        return;
    }
    struct dcgw_io_settings pst = {.batch = 16};
    struct dcgw_io_cbs pcb = {.ud = &gp, .on_datagram = on_plain};
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&lo, &pst, &pcb, &plain), 0);
    const struct sockaddr *to = dcgw_io_local(plain);
    uint8_t buf[100] = {0};

    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&bad, to, buf, 100), 0);
    dcgw_io_flush(shared);
    const struct dcgw_io_stats *st = dcgw_io_stats(shared);
    ck_assert_uint_eq(st->tx_errors, 3);
    ck_assert_uint_eq(st->tx_packets, 0);
    ck_assert(dcgw_io_gso(shared));

    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(dcgw_io_send_from(shared, (struct sockaddr *)&good, to, buf, 100), 0);
    dcgw_io_flush(shared);
    wait_got(&loop, &gp, 3);
    ck_assert_uint_eq(gp.n, 3);
    ck_assert_uint_eq(st->tx_packets, 3);
    ck_assert_uint_eq(st->tx_gso_sends, 1);
    dcgw_io_close(shared);
    dcgw_io_close(plain);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- clients */

struct end {
    struct dcgw_client *c;
    unsigned opened, messages;
    size_t last_len;
};

static void on_open(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    (void)c;
    (void)ch;
    ((struct end *)ud)->opened++;
}

static void on_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *p, size_t n)
{
    (void)c;
    (void)is_text;
    (void)p;
    struct end *e = ud;
    e->messages++;
    e->last_len = n;
    /* echo, so that the offerer sees its message come back */
    if (n == 64)
        dcgw_dc_send(dcgw_client_dc(e->c), ch, false, p, 32);
}

static struct dcgw_client *client(uv_loop_t *loop, struct dcgw_dtls_ctx *ctx, const char *bind,
                                  struct dcgw_client_net *net, uint16_t sctp_port, struct end *e)
{
    struct sockaddr_storage ss;
    addr(bind, &ss);
    static const struct dcgw_sdp_dcmap map = {.stream_id = 1, .ordered = true, .label = "t"};
    struct dcgw_client_settings s = {.bind = (struct sockaddr *)&ss,
                                     .sctp_port = sctp_port,
                                     .dcmap = &map,
                                     .n_dcmap = 1,
                                     .net = net};
    struct dcgw_client_cbs cbs = {.ud = e, .on_channel_open = on_open, .on_message = on_message};
    ck_assert_int_eq(dcgw_client_new(loop, ctx, &s, &cbs, &e->c), 0);
    return e->c;
}

static bool both_open(void *arg)
{
    struct end *e = arg;
    return e[0].opened && e[1].opened;
}

static bool echoed(void *arg)
{
    return ((struct end *)arg)->messages > 0;
}

/* a offers, z answers; then a sends 64 bytes and z echoes 32. */
static void connect_and_talk(uv_loop_t *loop, struct end *e)
{
    static char offer[DCGW_SDP_TEXT_MAX], answer[DCGW_SDP_TEXT_MAX];
    int n = dcgw_client_offer(e[0].c, offer, sizeof(offer));
    ck_assert_int_gt(n, 0);
    int m = dcgw_client_answer(e[1].c, offer, (size_t)n, answer, sizeof(answer));
    ck_assert_int_gt(m, 0);
    ck_assert_int_eq(dcgw_client_start(e[0].c, answer, (size_t)m), 0);
    run_ms(loop, 5000, both_open, e);
    ck_assert(dcgw_client_up(e[0].c) && dcgw_client_up(e[1].c));
    ck_assert_uint_eq(e[0].opened, 1);
    uint8_t msg[64] = {1};
    struct dcgw_dc *dc = dcgw_client_dc(e[0].c);
    struct dcgw_dc_channel *ch = dcgw_dc_channel_by_id(dc, 1);
    ck_assert_ptr_nonnull(ch);
    ck_assert_int_eq(dcgw_dc_send(dc, ch, false, msg, sizeof(msg)), 0);
    run_ms(loop, 3000, echoed, &e[0]);
    ck_assert_uint_eq(e[1].messages, 1);
    ck_assert_uint_eq(e[1].last_len, 64);
    ck_assert_uint_eq(e[0].messages, 1);
    ck_assert_uint_eq(e[0].last_len, 32);
}

/* The address the leg of c selected for its peer. */
static const struct sockaddr *peer_of(struct dcgw_client *c)
{
    return dcgw_leg_peer(dcgw_client_leg(c));
}

START_TEST(clients_share_a_socket_under_addresses_of_their_own)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    uv_timer_t tick;
    ck_assert_int_eq(dcgw_client_tick_start(&loop, &tick), 0);
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    ck_assert_int_eq(dcgw_cert_new(NULL, &cert), 0);
    struct dcgw_dtls_ctx_settings cs = {.cert = cert};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &ctx), 0);
    dcgw_cert_unref(cert);
    struct dcgw_client_net *net;
    ck_assert_int_eq(dcgw_client_net_new(&loop, AF_INET, NULL, &net), 0);

    /* two clients of the net, each with its address and the net's port */
    struct end e[4];
    memset(e, 0, sizeof(e));
    client(&loop, ctx, "127.77.1.1:0", net, 5001, &e[0]);
    client(&loop, ctx, "127.77.1.2:0", net, 5002, &e[1]);
    const struct sockaddr *l0 = dcgw_client_local(e[0].c), *l1 = dcgw_client_local(e[1].c);
    ck_assert_uint_eq(port_of(l0), port_of(l1));
    ck_assert_uint_ne(port_of(l0), 0);
    ck_assert(!dcgw_addr_equal(l0, l1));
    /* an address a client of the net holds is not given twice */
    struct sockaddr_storage dup;
    addr("127.77.1.1:0", &dup);
    struct dcgw_client_settings ds = {.bind = (struct sockaddr *)&dup, .net = net};
    struct dcgw_client *c2 = NULL;
    ck_assert_int_eq(dcgw_client_new(&loop, ctx, &ds, NULL, &c2), DCGW_EEXIST);

    connect_and_talk(&loop, e); /* both on the net */
    ck_assert(dcgw_addr_equal(peer_of(e[0].c), l1));
    ck_assert(dcgw_addr_equal(peer_of(e[1].c), l0));

    /* a net client offers, a client with a socket of its own answers */
    client(&loop, ctx, "127.77.1.3:0", net, 5003, &e[2]);
    client(&loop, ctx, "127.0.0.1:0", NULL, 5004, &e[3]);
    connect_and_talk(&loop, &e[2]);
    ck_assert(dcgw_addr_equal(peer_of(e[3].c), dcgw_client_local(e[2].c)));
    ck_assert(dcgw_addr_equal(peer_of(e[2].c), dcgw_client_local(e[3].c)));
    ck_assert_uint_eq(dcgw_client_net_unclaimed(net), 0);

    /* freed: its address is no one's, what still arrives for it is counted */
    struct sockaddr_storage gone;
    memcpy(&gone, dcgw_client_local(e[0].c), sizeof(struct sockaddr_in));
    for (int i = 0; i < 4; i++)
        dcgw_client_free(e[i].c);
    run_ms(&loop, 100, NULL, NULL); /* the ABORTs between freed clients are unclaimed too */
    uint64_t before = dcgw_client_net_unclaimed(net);
    struct got g = {0};
    struct sockaddr_storage lo;
    addr("127.0.0.1:0", &lo);
    struct dcgw_io_settings pst = {.batch = 4};
    struct dcgw_io_cbs pcb = {.ud = &g, .on_datagram = on_plain};
    struct dcgw_io *plain;
    ck_assert_int_eq(dcgw_io_new(&loop, (struct sockaddr *)&lo, &pst, &pcb, &plain), 0);
    uint8_t b[8] = {0};
    dcgw_io_send(plain, (struct sockaddr *)&gone, b, sizeof(b));
    dcgw_io_flush(plain);
    run_ms(&loop, 200, NULL, NULL);
    ck_assert_uint_eq(dcgw_client_net_unclaimed(net), before + 1);
    dcgw_io_close(plain);
    dcgw_client_net_free(net);
    dcgw_client_tick_stop(&tick);
    uv_run(&loop, UV_RUN_DEFAULT);
    dcgw_dtls_ctx_free(ctx);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    char why[256];
    if (!tnetns_enter("a network namespace needs CAP_SYS_ADMIN", why, sizeof(why))) {
        printf("test_client_net: SKIPPED, %s\n", why);
        return 77;
    }
    Suite *s = suite_create("client_net");
    TCase *tc = tcase_create("shared");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, pktinfo_gives_the_destination_and_sends_from_the_source);
    tcase_add_test(tc, pktinfo_ipv6_and_v4_mapped);
    tcase_add_test(tc, pktinfo_ipv6_link_local_keeps_the_scope);
    tcase_add_test(tc, pktinfo_foreign_source_leaves_gso_on);
    tcase_add_test(tc, clients_share_a_socket_under_addresses_of_their_own);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
