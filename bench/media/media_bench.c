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
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/srtp.h"
#include "peers.h"
#include "stats.h"

enum { BATCH = 32, SLOT = PEER_SLOT };

/* The SRTP profiles the peers offer (--profile). */
static const char *peer_profiles = DCGW_SRTP_PROFILES_OFFER;

static uint64_t self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void media_peer(struct peer *pe, const char *name, uint32_t ssrc)
{
    peer_init(pe, name, "127.0.0.1");
    pe->ssrc = ssrc;
    pe->srtp_profiles = peer_profiles;
}

/* The peer's SDP: one audio m-line (opus) and a data channel, bundled, setup as given. */
static void peer_sdp(const struct peer *pe, const char *setup, char *out, size_t cap)
{
    char a[DCGW_ADDR_STRLEN], fp[DCGW_FINGERPRINT_TEXT_MAX + 16];
    struct dcgw_fingerprint fpr;
    if (dcgw_cert_fingerprint(pe->cert, DCGW_HASH_SHA256, &fpr) < 0)
        die("fingerprint", DCGW_EINTERNAL);
    dcgw_fingerprint_format(&fpr, fp, sizeof(fp));
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
             a, pe->ufrag, pe->pwd, fp, setup, port, a, pe->ssrc, pe->name, a, port, port);
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

/* ---- control */

/* A session id of A's offer (sdp_a) and B's (sdp_b, or dcgw's offer to B when NULL),
 * with a policy allowing everything, audio and video too. The response. */
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
    return ctl_create(c, id, relay, sdp_a, sdp_b, &pol);
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
        ctl_local_sdp(resp, k ? "as" : "ue", ans);
        peer_start(p[k], ans, NULL);
    }
    dcgw__response__free_unpacked(resp, NULL);
    free(ans);
    free(sdp[0]);
    free(sdp[1]);
}

/* Relay: A's offer on leg ue, dcgw's offer to B, B's answer (setup:active), then the
 * handshake A <-> B end to end through the relay. */
static void setup_media_relay(struct dcgw_ctlclient *c, const char *id, struct peer *p[2])
{
    char *a = malloc(4096), *b = malloc(4096);
    struct dcgw_sdp *s = malloc(sizeof(*s));
    if (!a || !b || !s)
        die("memory", DCGW_ENOMEM);
    peer_sdp(p[0], "actpass", a, 4096);
    Dcgw__Response *resp = create(c, id, true, a, NULL);
    ctl_local_sdp(resp, "as", s); /* dcgw's ICE on the B hop, A's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start(p[1], s, NULL);
    peer_sdp(p[1], "active", b, 4096);
    resp = ctl_answer(c, id, "as", b);
    ctl_local_sdp(resp, "ue", s); /* dcgw's ICE on the A hop, B's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start(p[0], s, NULL);
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
    double ends = bench_median(r->ends, n), gw = bench_median(r->gw, n);
    printf("  \"%s\": {\"pps\": %.0f, \"delivered\": %u, \"lost\": %u, \"rejected\": %u,\n"
           "    \"endpoints_cpu_us_per_packet\": %.3f",
           path_names[k], bench_median(r->pps, n), r->delivered, r->lost, r->rejected, ends);
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

struct opts {
    const char *sock;
    unsigned packets, window, repeat;
    size_t size;
};

/* -1: go on; else the exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"socket", required_argument, NULL, 's'}, {"packets", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, 'z'},   {"window", required_argument, NULL, 'w'},
        {"repeat", required_argument, NULL, 'r'}, {"profile", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    *o = (struct opts){.packets = 100000, .window = 256, .repeat = 3, .size = 1000};
    int ch;
    while ((ch = getopt_long(argc, argv, "s:n:z:w:r:p:h", lo, NULL)) != -1) {
        if (ch == 's')
            o->sock = optarg;
        else if (ch == 'n')
            o->packets = (unsigned)atoi(optarg);
        else if (ch == 'z')
            o->size = (size_t)atoi(optarg);
        else if (ch == 'w')
            o->window = (unsigned)atoi(optarg);
        else if (ch == 'r')
            o->repeat = (unsigned)atoi(optarg);
        else if (ch == 'p' && strcmp(optarg, "gcm") == 0)
            peer_profiles = "SRTP_AEAD_AES_128_GCM";
        else if (ch == 'p' && strcmp(optarg, "cm80") == 0)
            peer_profiles = "SRTP_AES128_CM_SHA1_80";
        else {
            usage();
            return ch == 'h' ? 0 : 2;
        }
    }
    if (!o->sock || o->size < 64 || o->size > 1400 || o->window < BATCH || o->packets == 0 ||
        o->repeat < 1 || o->repeat > 16) {
        usage();
        return 2;
    }
    return -1;
}

/* direct: random keys of the profile the terminate legs agreed (the same cipher on every
 * path), A's writes are B's reads. */
static void direct_keys(struct peer *p[2], enum dcgw_srtp_profile prof)
{
    struct dcgw_srtp_keys ka, kb;
    uint8_t m[64];
    size_t kl, sl;
    if (dcgw_srtp_profile_lengths(prof, &kl, &sl) < 0 || 2 * (kl + sl) > sizeof(m))
        die("direct keys", DCGW_EINTERNAL);
    RAND_bytes(m, (int)(2 * (kl + sl)));
    dcgw_srtp_keys_split(prof, m, 2 * (kl + sl), true, &ka);
    dcgw_srtp_keys_split(prof, m, 2 * (kl + sl), false, &kb);
    if (dcgw_srtp_new(&ka, true, 0, &p[0]->tx) < 0 || dcgw_srtp_new(&kb, false, 0, &p[1]->rx) < 0)
        die("direct keys", DCGW_EINTERNAL);
    dcgw_srtp_keys_wipe(&ka);
    dcgw_srtp_keys_wipe(&kb);
}

/* A warm-up of each path, then the paths take turns o->repeat times. */
static void run_all(struct dcgw_ctlclient *c, struct peer *p[PATHS][2], const struct opts *o,
                    struct runs runs[PATHS])
{
    memset(runs, 0, PATHS * sizeof(*runs));
    for (unsigned i = 0; i <= o->repeat; i++)
        for (int k = 0; k < PATHS; k++) {
            const struct sockaddr *dst =
                k == DIRECT ? (struct sockaddr *)&p[k][1]->addr : dcgw_leg_peer(p[k][0]->leg);
            struct path_result r = {0};
            uint64_t cpu0 = daemon_cpu(c);
            run_path(p[k][0], p[k][1], dst, i ? o->packets : o->packets / 10 + BATCH, o->window,
                     o->size, &r);
            r.gw_cpu_us = daemon_cpu(c) - cpu0;
            if (i)
                add_run(&runs[k], i - 1, &r);
            if (k != DIRECT) {
                pump(p[TERMINATE], 20, NULL); /* ICE consent between runs */
                pump(p[RELAY], 20, NULL);
            }
        }
}

static void print_report(const struct opts *o, const char *profile, const struct runs runs[PATHS],
                         const uint64_t srtp[3])
{
    unsigned n = o->repeat;
    double pd = bench_median(runs[DIRECT].pps, n), ed = bench_median(runs[DIRECT].ends, n);
    printf("{\"size\": %zu, \"packets\": %u, \"window\": %u, \"repeat\": %u,\n"
           "  \"profile\": \"%s\",\n",
           o->size, o->packets, o->window, n, profile);
    for (int k = 0; k < PATHS; k++)
        print_runs(k, &runs[k], n, true);
    printf("  \"terminate_over_direct_pps\": %.3f, \"relay_over_direct_pps\": %.3f,\n"
           "  \"terminate_dcgw_over_endpoints_cpu\": %.3f, \"relay_dcgw_over_endpoints_cpu\": "
           "%.3f,\n"
           "  \"srtp_sessions_created\": {\"terminate\": %" PRIu64 ", \"relay\": %" PRIu64 "}}\n",
           pd > 0 ? bench_median(runs[TERMINATE].pps, n) / pd : 0,
           pd > 0 ? bench_median(runs[RELAY].pps, n) / pd : 0,
           ed > 0 ? bench_median(runs[TERMINATE].gw, n) / ed : 0,
           ed > 0 ? bench_median(runs[RELAY].gw, n) / ed : 0, srtp[1] - srtp[0], srtp[2] - srtp[1]);
}

int main(int argc, char **argv)
{
    struct opts o;
    int st = parse_opts(argc, argv, &o);
    if (st >= 0)
        return st;
    struct dcgw_ctlclient *c = ctl_connect(o.sock);
    /* a pair of peers per path */
    static struct peer peers[PATHS][2];
    struct peer *p[PATHS][2];
    for (int k = 0; k < PATHS; k++) {
        p[k][0] = &peers[k][0];
        p[k][1] = &peers[k][1];
        media_peer(p[k][0], "ue", 0x11111111u + (unsigned)k);
        media_peer(p[k][1], "as", 0x22222222u + (unsigned)k);
    }
    /* the two sessions: terminate (unprotect with A's leg keys, protect with B's) and relay
     * (the keys of the end-to-end handshake, dcgw forwards) */
    uint64_t srtp[3];
    char tid[64], rid[64];
    snprintf(tid, sizeof(tid), "media-bench-t-%d", (int)getpid());
    snprintf(rid, sizeof(rid), "media-bench-r-%d", (int)getpid());
    srtp[0] = stat_counter(c, "srtp_sessions_created");
    setup_terminate(c, tid, p[TERMINATE]);
    handshake(p[TERMINATE], 10000);
    srtp[1] = stat_counter(c, "srtp_sessions_created");
    setup_media_relay(c, rid, p[RELAY]);
    handshake(p[RELAY], 10000);
    srtp[2] = stat_counter(c, "srtp_sessions_created");
    for (int k = TERMINATE; k <= RELAY; k++) {
        peer_keys(p[k][0]);
        peer_keys(p[k][1]);
    }
    enum dcgw_srtp_profile prof = dcgw_dtls_srtp_profile(dcgw_leg_dtls(p[TERMINATE][0]->leg));
    direct_keys(p[DIRECT], prof);
    struct runs runs[PATHS];
    run_all(c, p, &o, runs);
    print_report(&o, dcgw_srtp_profile_name(prof), runs, srtp);
    close_session(c, tid);
    close_session(c, rid);
    bool all = true;
    for (int k = 0; k < PATHS; k++) {
        all &= runs[k].delivered > 0;
        peer_free(p[k][0]);
        peer_free(p[k][1]);
    }
    dcgw_ctlclient_free(c);
    return all ? 0 : 1;
}
