/* dcgw-media-bench: SRTP packets/s and CPU per packet through dcgw, against the direct path,
 * in one run (bench/README.md "Media").
 *
 *   A --SRTP----------------------------------------------------------> B     direct
 *   A --SRTP--> dcgwd terminate (unprotect, route, rewrite, protect) --> B     terminate
 *   A --SRTP--> dcgwd relay (forwarded untouched) --------------------> B     relay
 *
 * A and B are dcgw's own client legs (ICE controlling + DTLS 1.2 with use_srtp,
 * include/dcgw/stages/leg.h) on two UDP sockets of this process. The terminate session is
 * created from two offers (audio + data channel each, both answered by dcgw); the relay
 * session from A's offer, dcgw's offer to B and B's answer, the DTLS handshake then runs
 * A <-> B end to end through the relay. Every path carries the same traffic: A protects
 * each packet with its SRTP session (a fresh sequence number each) and sends it, B receives
 * and unprotects it (it must authenticate); closed loop, at most --window in flight,
 * sendmmsg/recvmmsg batches of 32. The direct path keys A and B with random keys of the
 * profile the terminate legs agreed (the cipher matters: GCM costs less than CM-80).
 *
 * Per path: packets/s delivered, packets lost, the endpoints' CPU per packet (this process:
 * A's protect and send, B's receive and unprotect) and, through dcgw, the daemon's CPU per
 * packet (its workers, from get_stats) and packets per second of one of its cores. Prints
 * one JSON object. bench/media_bench.sh runs it against a fresh one-worker dcgwd in a
 * private network namespace. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/srtp.h"

enum { BATCH = 32, SLOT = 2048 };

/* The SRTP profiles the peers offer (--profile). */
static const char *peer_profiles = DCGW_SRTP_PROFILES_OFFER;

struct peer {
    const char *name;
    int fd;
    struct sockaddr_storage addr;
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_leg *leg;
    char ufrag[DCGW_SDP_UFRAG_SIZE], pwd[DCGW_SDP_PWD_SIZE];
    char fp[DCGW_FINGERPRINT_TEXT_MAX + 16];
    struct dcgw_fingerprint fpr;
    bool connected, failed;
    struct dcgw_srtp *tx, *rx;
    uint16_t seq;
    uint32_t ssrc;
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "media_bench: %s: %s\n", what, err < 0 ? dcgw_strerror(err) : strerror(errno));
    exit(1);
}

/* ---- peers */

static void leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    sendto(pe->fd, p, n, 0, to, dcgw_addr_len(to));
}

static void leg_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct peer *)ud)->connected = true;
}

static void leg_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)cause;
    struct peer *pe = ud;
    fprintf(stderr, "media_bench: peer %s failed: %s (%s)\n", pe->name, reason, dcgw_err_name(err));
    pe->failed = true;
}

static void peer_init(struct peer *pe, const char *name, uint32_t ssrc)
{
    memset(pe, 0, sizeof(*pe));
    pe->name = name;
    pe->ssrc = ssrc;
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
        (r = dcgw_sdp_ice_credentials(pe->ufrag, sizeof(pe->ufrag), pe->pwd, sizeof(pe->pwd))) <
            0 ||
        (r = dcgw_cert_fingerprint(pe->cert, DCGW_HASH_SHA256, &pe->fpr)) < 0)
        die("peer", r);
    dcgw_fingerprint_format(&pe->fpr, pe->fp, sizeof(pe->fp));
}

static void peer_reset(struct peer *pe)
{
    dcgw_leg_free(pe->leg);
    dcgw_srtp_free(pe->tx);
    dcgw_srtp_free(pe->rx);
    pe->leg = NULL;
    pe->tx = pe->rx = NULL;
    pe->connected = pe->failed = false;
}

/* The peer's SDP: one audio m-line (opus) and a data channel, bundled, setup as given. */
static void peer_sdp(const struct peer *pe, const char *setup, char *out, size_t cap)
{
    char a[DCGW_ADDR_STRLEN];
    dcgw_addr_format((const struct sockaddr *)&pe->addr, a, sizeof(a));
    char *colon = strrchr(a, ':');
    if (colon)
        *colon = '\0';
    unsigned port = ntohs(((const struct sockaddr_in *)&pe->addr)->sin_port);
    snprintf(out, cap,
             "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
             "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:%s\r\na=setup:%s\r\n"
             "m=audio %u UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 %s\r\na=mid:0\r\na=sendrecv\r\n"
             "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:%u cname:bench-%s\r\n"
             "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n"
             "m=application %u UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=sctp-port:5000\r\n",
             a, pe->ufrag, pe->pwd, pe->fp, setup, port, a, pe->ssrc, pe->name, a, port, port);
}

/* Starts the peer's leg toward what an SDP of dcgw's (toward it) says; fp: the DTLS
 * certificate the peer expects (dcgw's, or the other peer's through a relay). */
static void peer_start(struct peer *pe, const struct dcgw_sdp *s, bool dtls_client)
{
    const struct dcgw_sdp_dc *dc = &s->dc;
    if (dc->n_candidates == 0)
        die("dcgw's SDP has no candidate", DCGW_ESDP);
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = pe->ufrag,
        .local_pwd = pe->pwd,
        .remote_ufrag = dc->ice_ufrag,
        .remote_pwd = dc->ice_pwd,
        .remote_candidate = (const struct sockaddr *)&dc->candidates[0].addr,
        .dtls_client = dtls_client,
        .remote_fps = dc->fingerprints,
        .n_remote_fps = dc->n_fingerprints,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 100,
        .srtp_profiles = peer_profiles,
    };
    struct dcgw_leg_cbs cbs = {
        .ud = pe, .send = leg_send, .on_connected = leg_connected, .on_failed = leg_failed};
    int r = dcgw_leg_new(pe->ctx, &ls, &cbs, &pe->leg);
    if (r < 0 || (r = dcgw_leg_start(pe->leg, now_us() / 1000)) < 0)
        die("leg", r);
}

static void peer_keys(struct peer *pe)
{
    struct dcgw_srtp_keys k;
    int r = dcgw_srtp_keys_from_dtls(dcgw_leg_dtls(pe->leg), &k);
    if (r < 0 || (r = dcgw_srtp_new(&k, true, 0, &pe->tx)) < 0 ||
        (r = dcgw_srtp_new(&k, false, 0, &pe->rx)) < 0)
        die("SRTP keys", r);
    dcgw_srtp_keys_wipe(&k);
}

/* Runs both legs until both connected (or one failed) or ms pass. */
static void handshake(struct peer *p[2], unsigned ms)
{
    uint64_t end = now_us() + (uint64_t)ms * 1000;
    uint8_t buf[SLOT];
    while (now_us() < end && !(p[0]->connected && p[1]->connected) && !p[0]->failed &&
           !p[1]->failed) {
        struct pollfd pfd[2] = {{.fd = p[0]->fd, .events = POLLIN},
                                {.fd = p[1]->fd, .events = POLLIN}};
        poll(pfd, 2, 5);
        for (int k = 0; k < 2; k++) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n;
            while ((n = recvfrom(p[k]->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >
                   0) {
                dcgw_leg_input(p[k]->leg, (struct sockaddr *)&from, buf, (size_t)n,
                               now_us() / 1000);
                fl = sizeof(from);
            }
            uint64_t t = now_us() / 1000;
            if (dcgw_leg_next_timeout(p[k]->leg) <= t)
                dcgw_leg_handle_timeout(p[k]->leg, t);
        }
    }
    if (!p[0]->connected || !p[1]->connected)
        die("the handshakes did not complete", DCGW_ETIMEOUT);
}

/* ---- control */

static Dcgw__Response *call(struct dcgw_ctlclient *c, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, req, &resp, 10000);
    if (r < 0)
        die("control", r);
    if (resp->error) {
        fprintf(stderr, "media_bench: dcgw: %s: %s\n", resp->error->name,
                resp->error->message ? resp->error->message : "");
        exit(1);
    }
    return resp;
}

static void local_of(const Dcgw__Response *resp, const char *leg, struct dcgw_sdp *out)
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

/* CPU microseconds of all workers, and SRTP sessions created so far. */
static void daemon_stats(struct dcgw_ctlclient *c, uint64_t *cpu_us, uint64_t *srtp)
{
    Dcgw__GetStats gs = DCGW__GET_STATS__INIT;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_STATS;
    req.get_stats = &gs;
    Dcgw__Response *resp = call(c, &req);
    *cpu_us = *srtp = 0;
    for (size_t i = 0; i < resp->stats->n_workers; i++) {
        const Dcgw__WorkerStats *w = resp->stats->workers[i];
        *cpu_us += w->cpu_user_us + w->cpu_system_us;
        for (size_t k = 0; k < w->n_counters; k++)
            if (strcmp(w->counters[k]->name, "srtp_sessions_created") == 0)
                *srtp += w->counters[k]->value;
    }
    dcgw__response__free_unpacked(resp, NULL);
}

static Dcgw__Response *create(struct dcgw_ctlclient *c, const char *id, bool relay, char *sdp_a,
                              char *sdp_b)
{
    static const char allow[] = "all";
    Dcgw__MediaPolicy mp = DCGW__MEDIA_POLICY__INIT;
    mp.has_allow_audio = mp.has_allow_video = 1;
    mp.allow_audio = mp.allow_video = 1;
    Dcgw__PolicyRule rule = DCGW__POLICY_RULE__INIT, *rp = &rule;
    rule.name = (char *)allow;
    rule.has_verdict = 1;
    rule.verdict = DCGW__POLICY_VERDICT__VERDICT_ALLOW;
    Dcgw__Policy pol = DCGW__POLICY__INIT;
    pol.rules = &rp;
    pol.n_rules = 1;
    pol.media = &mp;
    Dcgw__DcMedia dc[2] = {DCGW__DC_MEDIA__INIT, DCGW__DC_MEDIA__INIT};
    Dcgw__Leg legs[2] = {DCGW__LEG__INIT, DCGW__LEG__INIT}, *lp[2] = {&legs[0], &legs[1]};
    for (int k = 0; k < 2; k++) {
        dc[k].has_mode = 1;
        dc[k].mode = relay ? DCGW__MEDIA_MODE__MODE_RELAY : DCGW__MEDIA_MODE__MODE_TERMINATE;
        legs[k].dc = &dc[k];
        legs[k].has_role = 1;
    }
    legs[0].name = "ue";
    legs[0].role = DCGW__LEG_ROLE__ROLE_ANSWER;
    dc[0].remote_sdp = sdp_a;
    legs[1].name = "as";
    legs[1].role = relay ? DCGW__LEG_ROLE__ROLE_OFFER : DCGW__LEG_ROLE__ROLE_ANSWER;
    dc[1].remote_sdp = relay ? NULL : sdp_b;
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = (char *)id;
    s.legs = lp;
    s.n_legs = 2;
    s.policy = &pol;
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    return call(c, &req);
}

static void close_session(struct dcgw_ctlclient *c, const char *id)
{
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    cl.id = (char *)id;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    req.close_session = &cl;
    dcgw__response__free_unpacked(call(c, &req), NULL);
}

/* Terminate: both peers offer, dcgw answers both (media.answer_setup, passive by default:
 * each peer is the DTLS client of its leg, dcgw picks the profile among --profile's). */
static void setup_terminate(struct dcgw_ctlclient *c, const char *id, struct peer *p[2])
{
    char *sdp[2] = {malloc(4096), malloc(4096)};
    struct dcgw_sdp *ans = malloc(sizeof(*ans));
    if (!sdp[0] || !sdp[1] || !ans)
        die("memory", DCGW_ENOMEM);
    peer_sdp(p[0], "actpass", sdp[0], 4096);
    peer_sdp(p[1], "actpass", sdp[1], 4096);
    Dcgw__Response *resp = create(c, id, false, sdp[0], sdp[1]);
    for (int k = 0; k < 2; k++) {
        local_of(resp, k ? "as" : "ue", ans);
        peer_start(p[k], ans, ans->dc.setup == DCGW_SDP_SETUP_PASSIVE);
    }
    dcgw__response__free_unpacked(resp, NULL);
    free(ans);
    free(sdp[0]);
    free(sdp[1]);
}

/* Relay: A's offer on leg ue, dcgw's offer to B, B's answer (setup:active), then the
 * handshake A <-> B end to end through the relay. */
static void setup_relay(struct dcgw_ctlclient *c, const char *id, struct peer *p[2])
{
    char *a = malloc(4096), *b = malloc(4096);
    struct dcgw_sdp *s = malloc(sizeof(*s));
    if (!a || !b || !s)
        die("memory", DCGW_ENOMEM);
    peer_sdp(p[0], "actpass", a, 4096);
    Dcgw__Response *resp = create(c, id, true, a, NULL);
    local_of(resp, "as", s); /* dcgw's ICE on the B hop, A's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start(p[1], s, true);
    peer_sdp(p[1], "active", b, 4096);
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = (char *)id;
    up.leg = "as";
    up.remote_sdp = b;
    Dcgw__Request ureq = DCGW__REQUEST__INIT;
    ureq.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    ureq.update_session = &up;
    resp = call(c, &ureq);
    local_of(resp, "ue", s); /* dcgw's ICE on the A hop, B's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start(p[0], s, false);
    free(s);
    free(a);
    free(b);
}

/* ---- the measured traffic */

struct path_result {
    double pps;
    unsigned delivered, lost, rejected;
    uint64_t ends_cpu_us, gw_cpu_us;
};

/* One SRTP packet of A's: an RTP header (PT 111, A's SSRC, the next sequence number),
 * size - 12 - tag bytes of payload, protected. */
static size_t next_packet(struct peer *a, uint8_t *b, size_t size)
{
    size_t n = size - 16;
    memset(b, 0x5a, n);
    b[0] = 0x80;
    b[1] = 111;
    b[2] = (uint8_t)(a->seq >> 8);
    b[3] = (uint8_t)a->seq;
    a->seq++;
    memset(b + 4, 0, 4);
    for (int i = 0; i < 4; i++)
        b[8 + i] = (uint8_t)(a->ssrc >> (24 - 8 * i));
    if (dcgw_srtp_protect(a->tx, b, &n, SLOT, false) < 0)
        die("protect", DCGW_EINTERNAL);
    return n;
}

/* Closed loop: A sends `total` packets to dst, B takes them (each must unprotect). */
static void run_path(struct peer *a, struct peer *b, const struct sockaddr *dst, unsigned total,
                     unsigned window, size_t size, struct path_result *res)
{
    static uint8_t tx[BATCH][SLOT], rx[BATCH][SLOT];
    struct mmsghdr sm[BATCH], rm[BATCH];
    struct iovec si[BATCH], ri[BATCH];
    unsigned sent = 0, got = 0, bad = 0, lost = 0;
    uint64_t cpu0 = self_cpu_us(), t0 = now_us(), last = t0;
    while (got + bad + lost < total) {
        if (sent < total && sent - got - bad - lost + BATCH <= window) {
            unsigned n = total - sent < BATCH ? total - sent : BATCH;
            for (unsigned i = 0; i < n; i++) {
                si[i] = (struct iovec){.iov_base = tx[i], .iov_len = next_packet(a, tx[i], size)};
                sm[i].msg_hdr = (struct msghdr){.msg_name = (void *)dst,
                                                .msg_namelen = dcgw_addr_len(dst),
                                                .msg_iov = &si[i],
                                                .msg_iovlen = 1};
            }
            int r = sendmmsg(a->fd, sm, n, 0);
            if (r > 0)
                sent += (unsigned)r;
            if (r > 0 && (unsigned)r < n)
                a->seq = (uint16_t)(a->seq - (n - (unsigned)r));
        }
        for (int i = 0; i < BATCH; i++) {
            ri[i] = (struct iovec){.iov_base = rx[i], .iov_len = SLOT};
            rm[i].msg_hdr = (struct msghdr){.msg_iov = &ri[i], .msg_iovlen = 1};
        }
        int r = recvmmsg(b->fd, rm, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < r; i++) {
            size_t n = rm[i].msg_len;
            if (n < 12 || rx[i][0] < 128 || rx[i][0] > 191 || (rx[i][1] >= 192 && rx[i][1] <= 223))
                continue; /* STUN, DTLS, RTCP: not the measured packets */
            if (dcgw_srtp_unprotect(b->rx, rx[i], &n, false) == 0)
                got++;
            else
                bad++;
            last = now_us();
        }
        if (r <= 0 && (sent - got - bad - lost + BATCH > window || sent == total)) {
            struct pollfd p = {.fd = b->fd, .events = POLLIN};
            poll(&p, 1, 1);
            if (now_us() - last > 100000) { /* lost in a queue: the window opens again */
                lost = sent - got - bad;
                last = now_us();
            }
        }
    }
    double secs = (double)(now_us() - t0) / 1e6;
    res->pps = secs > 0 ? got / secs : 0;
    res->delivered = got;
    res->lost = lost;
    res->rejected = bad;
    res->ends_cpu_us = self_cpu_us() - cpu0;
}

/* Feeds the legs what arrived and runs their timers for ms (ICE consent between runs). */
static void service(struct peer *p[2], unsigned ms)
{
    uint64_t end = now_us() + (uint64_t)ms * 1000;
    uint8_t buf[SLOT];
    while (now_us() < end) {
        poll(NULL, 0, 2);
        for (int k = 0; k < 2; k++) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n;
            while ((n = recvfrom(p[k]->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >
                   0) {
                if (p[k]->leg && (buf[0] < 128 || buf[0] > 191))
                    dcgw_leg_input(p[k]->leg, (struct sockaddr *)&from, buf, (size_t)n,
                                   now_us() / 1000);
                fl = sizeof(from);
            }
            uint64_t t = now_us() / 1000;
            if (p[k]->leg && dcgw_leg_next_timeout(p[k]->leg) <= t)
                dcgw_leg_handle_timeout(p[k]->leg, t);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n values (n <= 16). */
static double median(const double *v, unsigned n)
{
    double s[16];
    memcpy(s, v, n * sizeof(*v));
    qsort(s, n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

enum { DIRECT, TERMINATE, RELAY, PATHS };
static const char *const path_names[PATHS] = {"direct", "terminate", "relay"};

struct runs {
    double pps[16], ends[16], gw[16]; /* per repeat: packets/s, us per packet */
    unsigned delivered, lost, rejected;
};

static void add_run(struct runs *r, unsigned i, const struct path_result *x)
{
    double d = x->delivered ? x->delivered : 1;
    r->pps[i] = x->pps;
    r->ends[i] = x->ends_cpu_us / d;
    r->gw[i] = x->gw_cpu_us / d;
    r->delivered += x->delivered;
    r->lost += x->lost;
    r->rejected += x->rejected;
}

static void print_runs(int k, const struct runs *r, unsigned n, bool comma)
{
    double ends = median(r->ends, n), gw = median(r->gw, n);
    printf("  \"%s\": {\"pps\": %.0f, \"delivered\": %u, \"lost\": %u, \"rejected\": %u,\n"
           "    \"endpoints_cpu_us_per_packet\": %.3f",
           path_names[k], median(r->pps, n), r->delivered, r->lost, r->rejected, ends);
    if (k == DIRECT)
        printf(", \"endpoints_packets_per_core_s\": %.0f", ends > 0 ? 1e6 / ends : 0);
    else
        printf(",\n    \"dcgw_cpu_us_per_packet\": %.3f, \"dcgw_packets_per_core_s\": %.0f", gw,
               gw > 0 ? 1e6 / gw : 0);
    printf("}%s\n", comma ? "," : "");
}

static void usage(void)
{
    fprintf(stderr, "usage: dcgw-media-bench -s CONTROL_SOCKET [--packets N] [--size 64..1400] "
                    "[--window N>=32] [--repeat 1..16] [--profile gcm|cm80]\n"
                    "  direct, terminate and relay take turns --repeat times; medians reported\n");
}

int main(int argc, char **argv)
{
    const char *sock = NULL;
    unsigned packets = 100000, window = 256, repeat = 3;
    size_t size = 1000;
    static const struct option lo[] = {
        {"socket", required_argument, NULL, 's'}, {"packets", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'z'},   {"window", required_argument, NULL, 'w'},
        {"repeat", required_argument, NULL, 'r'}, {"profile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "s:n:z:w:r:p:h", lo, NULL)) != -1) {
        if (ch == 's')
            sock = optarg;
        else if (ch == 'n')
            packets = (unsigned)atoi(optarg);
        else if (ch == 'z')
            size = (size_t)atoi(optarg);
        else if (ch == 'w')
            window = (unsigned)atoi(optarg);
        else if (ch == 'r')
            repeat = (unsigned)atoi(optarg);
        else if (ch == 'p' && strcmp(optarg, "gcm") == 0)
            peer_profiles = "SRTP_AEAD_AES_128_GCM";
        else if (ch == 'p' && strcmp(optarg, "cm80") == 0)
            peer_profiles = "SRTP_AES128_CM_SHA1_80";
        else {
            usage();
            return ch == 'h' ? 0 : 2;
        }
    }
    if (!sock || size < 64 || size > 1400 || window < BATCH || packets == 0 || repeat < 1 ||
        repeat > 16) {
        usage();
        return 2;
    }
    struct dcgw_ctlclient_opts co = {.socket = sock};
    struct dcgw_ctlclient *c;
    char err[256];
    if (dcgw_ctlclient_connect(&co, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "media_bench: %s\n", err);
        return 1;
    }
    /* a pair of peers per path */
    static struct peer peers[PATHS][2];
    struct peer *p[PATHS][2];
    for (int k = 0; k < PATHS; k++) {
        p[k][0] = &peers[k][0];
        p[k][1] = &peers[k][1];
        peer_init(p[k][0], "ue", 0x11111111u + (unsigned)k);
        peer_init(p[k][1], "as", 0x22222222u + (unsigned)k);
    }
    /* the two sessions: terminate (unprotect with A's leg keys, protect with B's) and relay
     * (the keys of the end-to-end handshake, dcgw forwards) */
    uint64_t cpu0, cpu1, srtp[4];
    char tid[64], rid[64];
    snprintf(tid, sizeof(tid), "media-bench-t-%d", (int)getpid());
    snprintf(rid, sizeof(rid), "media-bench-r-%d", (int)getpid());
    daemon_stats(c, &cpu0, &srtp[0]);
    setup_terminate(c, tid, p[TERMINATE]);
    handshake(p[TERMINATE], 10000);
    daemon_stats(c, &cpu0, &srtp[1]);
    setup_relay(c, rid, p[RELAY]);
    handshake(p[RELAY], 10000);
    daemon_stats(c, &cpu0, &srtp[2]);
    for (int k = TERMINATE; k <= RELAY; k++) {
        peer_keys(p[k][0]);
        peer_keys(p[k][1]);
    }
    /* direct: random keys of the profile the terminate legs agreed (the same cipher on
     * every path), A's writes are B's reads */
    enum dcgw_srtp_profile prof = dcgw_dtls_srtp_profile(dcgw_leg_dtls(p[TERMINATE][0]->leg));
    const char *profile = dcgw_srtp_profile_name(prof);
    struct dcgw_srtp_keys ka, kb;
    uint8_t m[64];
    size_t kl, sl;
    if (dcgw_srtp_profile_lengths(prof, &kl, &sl) < 0 || 2 * (kl + sl) > sizeof(m))
        die("direct keys", DCGW_EINTERNAL);
    RAND_bytes(m, (int)(2 * (kl + sl)));
    dcgw_srtp_keys_split(prof, m, 2 * (kl + sl), true, &ka);
    dcgw_srtp_keys_split(prof, m, 2 * (kl + sl), false, &kb);
    if (dcgw_srtp_new(&ka, true, 0, &p[DIRECT][0]->tx) < 0 ||
        dcgw_srtp_new(&kb, false, 0, &p[DIRECT][1]->rx) < 0)
        die("direct keys", DCGW_EINTERNAL);
    dcgw_srtp_keys_wipe(&ka);
    dcgw_srtp_keys_wipe(&kb);
    /* a warm-up of each path, then the paths take turns */
    struct runs runs[PATHS];
    memset(runs, 0, sizeof(runs));
    for (unsigned i = 0; i <= repeat; i++)
        for (int k = 0; k < PATHS; k++) {
            const struct sockaddr *dst =
                k == DIRECT ? (struct sockaddr *)&p[k][1]->addr : dcgw_leg_peer(p[k][0]->leg);
            struct path_result r = {0};
            daemon_stats(c, &cpu0, &srtp[3]);
            run_path(p[k][0], p[k][1], dst, i ? packets : packets / 10 + BATCH, window, size, &r);
            daemon_stats(c, &cpu1, &srtp[3]);
            r.gw_cpu_us = cpu1 - cpu0;
            if (i)
                add_run(&runs[k], i - 1, &r);
            if (k != DIRECT) {
                service(p[TERMINATE], 20);
                service(p[RELAY], 20);
            }
        }
    double pd = median(runs[DIRECT].pps, repeat), ed = median(runs[DIRECT].ends, repeat);
    printf("{\"size\": %zu, \"packets\": %u, \"window\": %u, \"repeat\": %u,\n"
           "  \"profile\": \"%s\",\n",
           size, packets, window, repeat, profile);
    for (int k = 0; k < PATHS; k++)
        print_runs(k, &runs[k], repeat, true);
    printf("  \"terminate_over_direct_pps\": %.3f, \"relay_over_direct_pps\": %.3f,\n"
           "  \"terminate_dcgw_over_endpoints_cpu\": %.3f, \"relay_dcgw_over_endpoints_cpu\": "
           "%.3f,\n"
           "  \"srtp_sessions_created\": {\"terminate\": %" PRIu64 ", \"relay\": %" PRIu64 "}}\n",
           pd > 0 ? median(runs[TERMINATE].pps, repeat) / pd : 0,
           pd > 0 ? median(runs[RELAY].pps, repeat) / pd : 0,
           ed > 0 ? median(runs[TERMINATE].gw, repeat) / ed : 0,
           ed > 0 ? median(runs[RELAY].gw, repeat) / ed : 0, srtp[1] - srtp[0], srtp[2] - srtp[1]);
    close_session(c, tid);
    close_session(c, rid);
    bool all = true;
    for (int k = 0; k < PATHS; k++) {
        all &= runs[k].delivered > 0;
        for (int j = 0; j < 2; j++) {
            peer_reset(p[k][j]);
            dcgw_dtls_ctx_free(p[k][j]->ctx);
            dcgw_cert_unref(p[k][j]->cert);
            close(p[k][j]->fd);
        }
    }
    dcgw_ctlclient_free(c);
    return all ? 0 : 1;
}
