/* relay_bench: relay packet rate and added latency against direct UDP, in the same run.
 *
 *   peer A (UE)  --- direct UDP on loopback ---------------------------->  peer B (AS)
 *   peer A (UE)  --- hop A ---> dcgwd relay session (inspected) --- hop B --->  peer B
 *
 * Needs a running dcgwd (its control socket). A and B are dcgw's own client legs (ICE
 * controlling + DTLS 1.2, each bound to the other's certificate, include/dcgw/stages/leg.h) on
 * two UDP sockets. The tool creates the relay session (docs/relay.md: A's offer on leg
 * "ue", leg "as" offered, B's answer by update), completes ICE on both hops and the DTLS
 * handshake end to end through the relay (so the flow is inspected and verified), then
 * replays one real DTLS application_data record of each peer:
 *
 *   rate     closed loop, at most --window datagrams in flight, sendmmsg/recvmmsg batches
 *            of 32: datagrams/s delivered A -> B, direct and through the relay
 *   latency  --rtts ping-pongs A -> B -> A one datagram at a time: p50/p99 in us, direct
 *            and through the relay; the relay's added latency is the difference
 *   cpu      the daemon's CPU time (all workers) per relayed datagram, from get_stats
 *
 * Prints one JSON object. Build (from a configured build directory BUILD):
 *   cc -O2 -D_GNU_SOURCE -Iinclude -IBUILD/proto tools/relay_bench.c BUILD/libdcgw.a \
 *      $(pkg-config --libs libuv libprotobuf-c libconfig openssl usrsctp nice jansson \
 *        libjwt libmicrohttpd) -lm -o relay_bench
 * tools/relay_bench.sh builds it and runs it against a fresh dcgwd in a private namespace. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/leg.h"
#include "dcgw/sdp/sdp.h"

enum { BATCH = 32, SLOT = 2048 };

struct peer {
    const char *name;
    int fd;
    struct sockaddr_storage addr;
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_leg *leg;
    char ufrag[DCGW_SDP_UFRAG_SIZE], pwd[DCGW_SDP_PWD_SIZE];
    bool connected, failed, capture;
    uint8_t record[SLOT]; /* one application_data record it sent, replayed */
    size_t record_n;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "relay_bench: %s: %s\n", what, err < 0 ? dcgw_strerror(err) : strerror(errno));
    exit(1);
}

/* ---- peers */

static void leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    if (pe->capture && n <= SLOT && n > 13 && p[0] == 23) {
        memcpy(pe->record, p, n);
        pe->record_n = n;
        pe->capture = false;
    }
    sendto(pe->fd, p, n, 0, to, dcgw_addr_len(to));
}

static void leg_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct peer *)ud)->connected = true;
}

static void leg_failed(void *ud, int err, const char *reason)
{
    struct peer *pe = ud;
    fprintf(stderr, "relay_bench: peer %s failed: %s (%s)\n", pe->name, reason, dcgw_err_name(err));
    pe->failed = true;
}

static void peer_init(struct peer *pe, const char *name)
{
    pe->name = name;
    pe->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_storage any;
    dcgw_addr_parse("127.0.0.1:0", &any);
    socklen_t len = sizeof(pe->addr);
    int buf = 8 << 20;
    if (pe->fd < 0 ||
        bind(pe->fd, (struct sockaddr *)&any, dcgw_addr_len((struct sockaddr *)&any)) < 0 ||
        getsockname(pe->fd, (struct sockaddr *)&pe->addr, &len) < 0)
        die("socket", 0);
    setsockopt(pe->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(pe->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    int r = dcgw_cert_new(NULL, &pe->cert);
    struct dcgw_dtls_ctx_settings cs = {.cert = pe->cert};
    if (r < 0 || (r = dcgw_dtls_ctx_new(&cs, &pe->ctx)) < 0 ||
        (r = dcgw_sdp_ice_credentials(pe->ufrag, sizeof(pe->ufrag), pe->pwd, sizeof(pe->pwd))) < 0)
        die("peer", r);
}

/* The peer's side of the SDP, dcgw_sdp_local style. */
static void peer_local(const struct peer *pe, struct dcgw_sdp_local *loc, enum dcgw_sdp_setup setup)
{
    dcgw_sdp_local_init(loc);
    loc->sess_id = 1;
    snprintf(loc->ice_ufrag, sizeof(loc->ice_ufrag), "%s", pe->ufrag);
    snprintf(loc->ice_pwd, sizeof(loc->ice_pwd), "%s", pe->pwd);
    loc->n_addrs = 1;
    loc->addrs[0] = pe->addr;
    loc->n_fingerprints = 1;
    dcgw_cert_fingerprint(pe->cert, DCGW_HASH_SHA256, &loc->fingerprints[0]);
    loc->setup = setup;
}

/* Starts the peer's leg toward dcgw with what dcgw's SDP (toward it) says. */
static void peer_start(struct peer *pe, const struct dcgw_sdp *dcgw_sdp, const struct peer *other)
{
    struct dcgw_fingerprint fp;
    dcgw_cert_fingerprint(other->cert, DCGW_HASH_SHA256, &fp);
    const struct dcgw_sdp_dc *dc = &dcgw_sdp->dc;
    if (dc->n_candidates == 0)
        die("dcgw's SDP has no candidate", DCGW_ESDP);
    /* dcgw passes the other peer's a=setup through: it is the other end's DTLS role */
    bool client = dc->setup == DCGW_SDP_SETUP_PASSIVE || dc->setup == DCGW_SDP_SETUP_ACTPASS;
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = pe->ufrag,
        .local_pwd = pe->pwd,
        .remote_ufrag = dc->ice_ufrag,
        .remote_pwd = dc->ice_pwd,
        .remote_candidate = (const struct sockaddr *)&dc->candidates[0].addr,
        .dtls_client = client,
        .remote_fps = &fp,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 100,
    };
    struct dcgw_leg_cbs cbs = {
        .ud = pe, .send = leg_send, .on_connected = leg_connected, .on_failed = leg_failed};
    int r = dcgw_leg_new(pe->ctx, &ls, &cbs, &pe->leg);
    if (r < 0 || (r = dcgw_leg_start(pe->leg, now_us() / 1000)) < 0)
        die("leg", r);
}

static bool handshaken(struct peer *p[2])
{
    return p[0]->connected && p[1]->connected;
}

static bool captured(struct peer *p[2])
{
    return p[0]->record_n && p[1]->record_n;
}

/* Runs both legs until done() (or one failed) or ms pass. */
static void pump(struct peer *p[2], unsigned ms, bool (*done)(struct peer *p[2]))
{
    uint64_t end = now_us() + (uint64_t)ms * 1000;
    uint8_t buf[SLOT];
    while (now_us() < end) {
        struct pollfd pfd[2] = {{.fd = p[0]->fd, .events = POLLIN},
                                {.fd = p[1]->fd, .events = POLLIN}};
        poll(pfd, 2, 5);
        for (int k = 0; k < 2; k++) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n;
            while ((n = recvfrom(p[k]->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >
                   0) {
                if (p[k]->leg)
                    dcgw_leg_input(p[k]->leg, (struct sockaddr *)&from, buf, (size_t)n,
                                   now_us() / 1000);
                fl = sizeof(from);
            }
            uint64_t t = now_us() / 1000;
            if (p[k]->leg && dcgw_leg_next_timeout(p[k]->leg) <= t)
                dcgw_leg_handle_timeout(p[k]->leg, t);
        }
        if (done(p) || p[0]->failed || p[1]->failed)
            return;
    }
}

/* ---- control */

static Dcgw__Response *call(struct dcgw_ctlclient *c, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, req, &resp, 10000);
    if (r < 0)
        die("control", r);
    if (resp->error) {
        fprintf(stderr, "relay_bench: dcgw: %s: %s\n", resp->error->name,
                resp->error->message ? resp->error->message : "");
        exit(1);
    }
    return resp;
}

static void parse_local(const Dcgw__Response *resp, const char *leg, struct dcgw_sdp *out)
{
    char err[256];
    for (size_t i = 0; resp->session && i < resp->session->n_legs; i++) {
        const Dcgw__Leg *l = resp->session->legs[i];
        if (strcmp(l->name, leg) == 0 && l->dc && l->dc->local_sdp) {
            int r =
                dcgw_sdp_parse(l->dc->local_sdp, strlen(l->dc->local_sdp), out, err, sizeof(err));
            if (r < 0)
                die(err, r);
            return;
        }
    }
    die("no local SDP for a leg", DCGW_ENOENT);
}

/* CPU microseconds of all workers, and relayed datagrams so far. */
static void daemon_cpu(struct dcgw_ctlclient *c, uint64_t *cpu_us)
{
    Dcgw__GetStats gs = DCGW__GET_STATS__INIT;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_STATS;
    req.get_stats = &gs;
    Dcgw__Response *resp = call(c, &req);
    *cpu_us = 0;
    for (size_t i = 0; i < resp->stats->n_workers; i++)
        *cpu_us += resp->stats->workers[i]->cpu_user_us + resp->stats->workers[i]->cpu_system_us;
    dcgw__response__free_unpacked(resp, NULL);
}

static void setup_relay(struct dcgw_ctlclient *c, const char *id, struct peer *a, struct peer *b)
{
    char *text = malloc(DCGW_SDP_TEXT_MAX);
    struct dcgw_sdp *sdp = malloc(sizeof(*sdp));
    struct dcgw_sdp_local loc;
    peer_local(a, &loc, DCGW_SDP_SETUP_ACTPASS);
    int n = text && sdp ? dcgw_sdp_write_offer(&loc, text, DCGW_SDP_TEXT_MAX) : DCGW_ENOMEM;
    if (n < 0)
        die("offer", n);
    Dcgw__DcMedia dc[2] = {DCGW__DC_MEDIA__INIT, DCGW__DC_MEDIA__INIT};
    Dcgw__Leg legs[2] = {DCGW__LEG__INIT, DCGW__LEG__INIT}, *lp[2] = {&legs[0], &legs[1]};
    for (int k = 0; k < 2; k++) {
        dc[k].has_mode = 1;
        dc[k].mode = DCGW__MEDIA_MODE__MODE_RELAY;
        legs[k].dc = &dc[k];
        legs[k].has_role = 1;
    }
    legs[0].name = "ue";
    legs[0].role = DCGW__LEG_ROLE__ROLE_ANSWER;
    dc[0].remote_sdp = text;
    legs[1].name = "as";
    legs[1].role = DCGW__LEG_ROLE__ROLE_OFFER;
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = (char *)id;
    s.legs = lp;
    s.n_legs = 2;
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    Dcgw__Response *resp = call(c, &req);
    parse_local(resp, "as", sdp); /* dcgw's offer to B: dcgw's ICE, A's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_local(b, &loc, DCGW_SDP_SETUP_ACTIVE);
    if ((n = dcgw_sdp_write_answer(sdp, &loc, text, DCGW_SDP_TEXT_MAX)) < 0)
        die("answer", n);
    peer_start(b, sdp, a);
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = (char *)id;
    up.leg = "as";
    up.remote_sdp = text;
    Dcgw__Request ureq = DCGW__REQUEST__INIT;
    ureq.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    ureq.update_session = &up;
    resp = call(c, &ureq);
    parse_local(resp, "ue", sdp); /* dcgw's answer to A: dcgw's ICE, B's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start(a, sdp, b);
    free(sdp);
    free(text);
}

/* ---- measurements */

/* Closed-loop rate: datagrams/s from `from` to `to_fd` via `dst`, at most window in flight. */
static double rate(struct peer *from, int to_fd, const struct sockaddr *dst, unsigned total,
                   unsigned window, unsigned *lost)
{
    struct mmsghdr msg[BATCH];
    struct iovec iov[BATCH];
    static uint8_t rx[BATCH][SLOT];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = from->record, .iov_len = from->record_n};
        msg[i].msg_hdr = (struct msghdr){.msg_name = (void *)dst,
                                         .msg_namelen = dcgw_addr_len(dst),
                                         .msg_iov = &iov[i],
                                         .msg_iovlen = 1};
    }
    unsigned sent = 0, got = 0;
    uint64_t t0 = now_us(), last_progress = t0;
    while (got < total) {
        if (sent < total && sent - got + BATCH <= window) {
            unsigned n = total - sent < BATCH ? total - sent : BATCH;
            int r = sendmmsg(from->fd, msg, n, 0);
            if (r > 0)
                sent += (unsigned)r;
        }
        struct mmsghdr rm[BATCH];
        struct iovec ri[BATCH];
        for (int i = 0; i < BATCH; i++) {
            ri[i] = (struct iovec){.iov_base = rx[i], .iov_len = SLOT};
            rm[i].msg_hdr = (struct msghdr){.msg_iov = &ri[i], .msg_iovlen = 1};
        }
        int r = recvmmsg(to_fd, rm, BATCH, MSG_DONTWAIT, NULL);
        if (r > 0) {
            got += (unsigned)r;
            last_progress = now_us();
        } else if (sent - got + BATCH > window || sent == total) {
            struct pollfd p = {.fd = to_fd, .events = POLLIN};
            poll(&p, 1, 1);
            if (now_us() - last_progress > 100000) {
                /* lost in a queue: forget them so the window opens again */
                *lost += sent - got;
                total -= sent - got;
                sent = got;
                last_progress = now_us();
            }
        }
    }
    double secs = (double)(now_us() - t0) / 1e6;
    return secs > 0 ? got / secs : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Ping-pong round trips in us: a -> b (via dst_ab) and back (via dst_ba). */
static void rtts(struct peer *a, struct peer *b, const struct sockaddr *dst_ab,
                 const struct sockaddr *dst_ba, unsigned count, uint64_t *out, unsigned *lost)
{
    uint8_t buf[SLOT];
    unsigned done = 0;
    for (unsigned i = 0; i < count; i++) {
        uint64_t t0 = now_us();
        sendto(a->fd, a->record, a->record_n, 0, dst_ab, dcgw_addr_len(dst_ab));
        struct pollfd p = {.fd = b->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0 || recv(b->fd, buf, sizeof(buf), 0) <= 0) {
            (*lost)++;
            continue;
        }
        sendto(b->fd, b->record, b->record_n, 0, dst_ba, dcgw_addr_len(dst_ba));
        p.fd = a->fd;
        if (poll(&p, 1, 200) <= 0 || recv(a->fd, buf, sizeof(buf), 0) <= 0) {
            (*lost)++;
            continue;
        }
        out[done++] = now_us() - t0;
    }
    qsort(out, done, sizeof(*out), cmp_u64);
    if (done == 0)
        out[0] = 0, done = 1;
    out[count] = out[done / 2];                                                /* p50 */
    out[count + 1] = out[done * 99 / 100 < done ? done * 99 / 100 : done - 1]; /* p99 */
}

static void drain(int fd)
{
    uint8_t buf[SLOT];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    unsigned packets = 200000, window = 256, count = 2000;
    size_t size = 1000;
    static const struct option lo[] = {
        {"socket", required_argument, NULL, 's'}, {"packets", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'z'},   {"window", required_argument, NULL, 'w'},
        {"rtts", required_argument, NULL, 'r'},   {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "s:n:z:w:r:", lo, NULL)) != -1) {
        if (ch == 's')
            sock = optarg;
        else if (ch == 'n')
            packets = (unsigned)atoi(optarg);
        else if (ch == 'z')
            size = (size_t)atoi(optarg);
        else if (ch == 'w')
            window = (unsigned)atoi(optarg);
        else if (ch == 'r')
            count = (unsigned)atoi(optarg);
        else
            return 2;
    }
    if (!sock || size < 64 || size > 1400 || window < BATCH || count == 0) {
        fprintf(stderr, "usage: relay_bench -s CONTROL_SOCKET [--packets N] [--size 64..1400] "
                        "[--window N>=32] [--rtts N]\n");
        return 2;
    }
    struct dcgw_ctlclient_opts co = {.socket = sock};
    struct dcgw_ctlclient *c;
    char err[256];
    if (dcgw_ctlclient_connect(&co, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "relay_bench: %s\n", err);
        return 1;
    }
    struct peer a = {0}, b = {0}, *p[2] = {&a, &b};
    peer_init(&a, "ue");
    peer_init(&b, "as");
    char id[64];
    snprintf(id, sizeof(id), "relay-bench-%d", (int)getpid());
    setup_relay(c, id, &a, &b);
    pump(p, 10000, handshaken); /* ICE on both hops, DTLS end to end through the relay */
    if (!a.connected || !b.connected)
        die("the handshake through the relay did not complete", DCGW_ETIMEOUT);
    /* one application_data record of each peer, of about --size bytes, to replay */
    static uint8_t payload[SLOT];
    a.capture = b.capture = true;
    dcgw_leg_send_data(a.leg, payload, size - 29);
    dcgw_leg_send_data(b.leg, payload, size - 29);
    pump(p, 1000, captured);
    if (!a.record_n || !b.record_n)
        die("no application data record captured", DCGW_ESTATE);
    const struct sockaddr *relay_a = dcgw_leg_peer(a.leg), *relay_b = dcgw_leg_peer(b.leg);
    drain(a.fd), drain(b.fd);

    unsigned lost_d = 0, lost_r = 0, rlost_d = 0, rlost_r = 0;
    double direct = rate(&a, b.fd, (struct sockaddr *)&b.addr, packets, window, &lost_d);
    uint64_t cpu0, cpu1;
    daemon_cpu(c, &cpu0);
    double relayed = rate(&a, b.fd, relay_a, packets, window, &lost_r);
    daemon_cpu(c, &cpu1);
    uint64_t *rd = calloc(count + 2, sizeof(*rd)), *rr = calloc(count + 2, sizeof(*rr));
    rtts(&a, &b, (struct sockaddr *)&b.addr, (struct sockaddr *)&a.addr, count, rd, &rlost_d);
    rtts(&a, &b, relay_a, relay_b, count, rr, &rlost_r);
    printf("{\"size\": %zu, \"packets\": %u, \"window\": %u,\n"
           " \"direct_pps\": %.0f, \"relay_pps\": %.0f, \"relay_over_direct\": %.3f,\n"
           " \"lost_direct\": %u, \"lost_relay\": %u,\n"
           " \"daemon_cpu_us_per_packet\": %.3f,\n"
           " \"rtt_direct_us\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 "},\n"
           " \"rtt_relay_us\": {\"p50\": %" PRIu64 ", \"p99\": %" PRIu64 "},\n"
           " \"added_latency_one_way_us_p50\": %.1f, \"rtt_lost\": [%u, %u]}\n",
           size, packets, window, direct, relayed, direct > 0 ? relayed / direct : 0, lost_d,
           lost_r, packets > lost_r ? (double)(cpu1 - cpu0) / (packets - lost_r) : 0, rd[count],
           rd[count + 1], rr[count], rr[count + 1], ((double)rr[count] - (double)rd[count]) / 2,
           rlost_d, rlost_r);
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    cl.id = id;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    req.close_session = &cl;
    dcgw__response__free_unpacked(call(c, &req), NULL);
    for (int k = 0; k < 2; k++) {
        dcgw_leg_free(p[k]->leg);
        dcgw_dtls_ctx_free(p[k]->ctx);
        dcgw_cert_unref(p[k]->cert);
        close(p[k]->fd);
    }
    free(rd);
    free(rr);
    dcgw_ctlclient_free(c);
    return 0;
}
