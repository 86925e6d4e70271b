/* The fast path's program on this kernel (bpf/relay_fast.bpf.c, src/net/fastpath_bpf.c):
 * it passes the verifier and attaches (TCX and tc), and on lo of a private network
 * namespace forwards exactly the DTLS application data of an offloaded flow, rewritten
 * both ways, counts it, holds a rate limit, leaves everything else to dcgw's socket and
 * stops at removal. Needs root (CAP_BPF, CAP_NET_ADMIN) and BPF: without them it says so
 * and exits 77 (ctest: skipped). */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/net/fastpath.h"
#include "helper_netns.h"
#include "helper_suite.h"

struct ep {
    int fd;
    struct sockaddr_storage addr;
};

static void ep_open(struct ep *e, const char *where)
{
    struct sockaddr_storage ss;
    ck_assert_int_eq(dcgw_addr_parse(where, &ss), 0);
    e->fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    ck_assert_int_ge(e->fd, 0);
    ck_assert_int_eq(bind(e->fd, (struct sockaddr *)&ss, dcgw_addr_len((struct sockaddr *)&ss)), 0);
    socklen_t len = sizeof(e->addr);
    getsockname(e->fd, (struct sockaddr *)&e->addr, &len);
}

static void send_to(const struct ep *from, const struct ep *to, const uint8_t *p, size_t n)
{
    const struct sockaddr *a = (const struct sockaddr *)&to->addr;
    ck_assert_int_eq(sendto(from->fd, p, n, 0, a, dcgw_addr_len(a)), (ssize_t)n);
}

/* One datagram within ms, its source in *src; -1 when none came. */
static ssize_t recv_one(const struct ep *e, uint8_t *buf, size_t cap, int ms,
                        struct sockaddr_storage *src)
{
    struct pollfd p = {.fd = e->fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    socklen_t len = sizeof(*src);
    return recvfrom(e->fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)src, &len);
}

static unsigned drain(const struct ep *e, int ms)
{
    uint8_t buf[2048];
    struct sockaddr_storage src;
    unsigned n = 0;
    while (recv_one(e, buf, sizeof(buf), ms, &src) >= 0)
        n++;
    return n;
}

/* A DTLS 1.2 record of `type` in `epoch` with `len` body bytes at p; returns its size. */
static size_t record(uint8_t *p, uint8_t type, uint16_t epoch, uint16_t len, uint8_t fill)
{
    uint8_t h[13] = {type, 0xfe, 0xfd, (uint8_t)(epoch >> 8), (uint8_t)epoch, 0, 0, 0,
                     0,    0,    7,    (uint8_t)(len >> 8),   (uint8_t)len};
    memcpy(p, h, 13);
    memset(p + 13, fill, len);
    return 13u + len;
}

struct rig {
    struct ep a, b, w; /* two peers and dcgw's socket */
    struct dcgw_fastpath *fp;
    struct dcgw_fastpath_flow *flow;
};

static void rig_open(struct rig *r, const char *host, const char *attach,
                     const struct dcgw_fastpath_limits lim[2])
{
    char where[64];
    snprintf(where, sizeof(where), "%s:0", host);
    ep_open(&r->a, where);
    ep_open(&r->b, where);
    ep_open(&r->w, where);
    struct dcgw_fastpath_settings st = {.attach = attach, .max_flows = 16};
    char why[256] = "";
    int rc = dcgw_fastpath_open(&st, (struct sockaddr *)&r->w.addr, &r->fp, why, sizeof(why));
    ck_assert_msg(rc == 0, "fast path: %s", why);
    const struct sockaddr *peers[2] = {(struct sockaddr *)&r->a.addr,
                                       (struct sockaddr *)&r->b.addr};
    static const struct dcgw_fastpath_limits none[2];
    ck_assert_int_eq(
        dcgw_fastpath_add(r->fp, (struct sockaddr *)&r->w.addr, peers, lim ? lim : none, &r->flow),
        0);
}

static void rig_close(struct rig *r)
{
    dcgw_fastpath_close(r->fp);
    close(r->a.fd);
    close(r->b.fd);
    close(r->w.fd);
}

static bool same_addr(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
    return dcgw_addr_len((const struct sockaddr *)x) == dcgw_addr_len((const struct sockaddr *)y) &&
           memcmp(x, y, dcgw_addr_len((const struct sockaddr *)x)) == 0;
}

/* Application data from `from` arrives at `to`, byte-exact, from dcgw's address. */
static void expect_forwarded(struct rig *r, struct ep *from, struct ep *to, size_t body)
{
    uint8_t p[1500], got[1500];
    size_t n = record(p, 23, 1, (uint16_t)body, (uint8_t)body);
    send_to(from, &r->w, p, n);
    struct sockaddr_storage src;
    ssize_t m = recv_one(to, got, sizeof(got), 500, &src);
    ck_assert_int_eq(m, (ssize_t)n);
    ck_assert_mem_eq(got, p, n);
    ck_assert(same_addr(&src, &r->w.addr));
}

static void forwards_both_ways(const char *host, const char *attach)
{
    struct rig r;
    rig_open(&r, host, attach, NULL);
    struct dcgw_fastpath_stats st;
    dcgw_fastpath_stats(r.fp, &st);
    if (!attach || !strcmp(attach, "auto")) {
        ck_assert_msg(!strcmp(st.attach, "tcx") || !strcmp(st.attach, "tc"), "%s", st.attach);
        printf("attach auto on %s: %s\n", host, st.attach); /* tests/vm: tc on 6.1 */
    } else {
        ck_assert_str_eq(st.attach, attach);
    }
    expect_forwarded(&r, &r.a, &r.b, 1000);
    expect_forwarded(&r, &r.b, &r.a, 100);
    expect_forwarded(&r, &r.a, &r.b, 1);
    ck_assert_uint_eq(drain(&r.w, 20), 0); /* dcgw's socket saw none of it */
    struct dcgw_fastpath_counts c[2];
    ck_assert_int_eq(dcgw_fastpath_read(r.fp, r.flow, c), 0);
    ck_assert_uint_eq(c[0].packets, 2);
    ck_assert_uint_eq(c[0].bytes, 13 + 1000 + 13 + 1);
    ck_assert_uint_eq(c[1].packets, 1);
    ck_assert_uint_eq(c[1].bytes, 113);
    rig_close(&r);
}

START_TEST(forwards_ipv4_tcx_or_tc)
{
    forwards_both_ways("127.0.0.1", "auto");
}
END_TEST

START_TEST(forwards_with_a_tc_filter)
{
    forwards_both_ways("127.0.0.1", "tc"); /* the attachment of Debian 12's kernel (6.1) */
}
END_TEST

START_TEST(forwards_ipv6)
{
    forwards_both_ways("[::1]", "auto");
}
END_TEST

/* Everything but application data, and what does not parse, reaches dcgw's socket. */
START_TEST(the_rest_goes_to_userspace)
{
    struct rig r;
    rig_open(&r, "127.0.0.1", "auto", NULL);
    uint8_t p[2048];
    size_t n;
    struct {
        const char *what;
        size_t len;
    } cases[12];
    unsigned nc = 0;
    uint8_t all[12][2048];
#define CASE(w, build)                                                                             \
    do {                                                                                           \
        uint8_t *q = all[nc];                                                                      \
        (void)q;                                                                                   \
        n = 0;                                                                                     \
        build;                                                                                     \
        cases[nc].what = w;                                                                        \
        cases[nc++].len = n;                                                                       \
    } while (0)
    CASE("handshake", n = record(q, 22, 0, 100, 1));
    CASE("change_cipher_spec", n = record(q, 20, 0, 1, 1));
    CASE("alert", n = record(q, 21, 1, 2, 1));
    CASE("application data in epoch 0", n = record(q, 23, 0, 50, 1));
    CASE("app data then an alert", n = record(q, 23, 1, 50, 1); n += record(q + n, 21, 1, 2, 1));
    CASE("a record longer than the datagram", n = record(q, 23, 1, 50, 1); q[12] = 60);
    CASE("a record shorter than the datagram", n = record(q, 23, 1, 50, 1); q[12] = 40);
    CASE("a truncated header", n = record(q, 23, 1, 50, 1); n = 10);
    CASE("DTLS 1.3 version", n = record(q, 23, 1, 50, 1); q[2] = 0xfc);
    CASE("STUN", memset(q, 0, 20); q[1] = 1; q[4] = 0x21; q[5] = 0x12; q[6] = 0xa4; q[7] = 0x42;
         n = 20);
    CASE("nine records", for (int i = 0; i < 9; i++) n += record(q + n, 23, 1, 10, 1));
    CASE("empty", n = 0);
    for (unsigned i = 0; i < nc; i++) {
        memcpy(p, all[i], cases[i].len);
        send_to(&r.a, &r.w, p, cases[i].len);
        uint8_t got[2048];
        struct sockaddr_storage src;
        ssize_t m = recv_one(&r.w, got, sizeof(got), 500, &src);
        ck_assert_msg(m == (ssize_t)cases[i].len, "%s: dcgw got %zd", cases[i].what, m);
        ck_assert(same_addr(&src, &r.a.addr)); /* untouched */
    }
    ck_assert_uint_eq(drain(&r.b, 20), 0);
    struct dcgw_fastpath_counts c[2];
    dcgw_fastpath_read(r.fp, r.flow, c);
    ck_assert_uint_eq(c[0].packets, 0);
    struct dcgw_fastpath_stats st;
    dcgw_fastpath_stats(r.fp, &st);
    ck_assert_uint_eq(st.not_app_data, nc);
    /* a datagram from an address that is not the flow's: not looked at */
    struct ep other;
    ep_open(&other, "127.0.0.1:0");
    n = record(p, 23, 1, 30, 1);
    send_to(&other, &r.w, p, n);
    ck_assert_uint_eq(drain(&r.w, 100), 1);
    ck_assert_uint_eq(drain(&r.b, 20), 0);
    close(other.fd);
    rig_close(&r);
}
END_TEST

/* Several datagrams in one buffer (the sender's UDP_SEGMENT): left to dcgw's socket, which
 * gets them one by one; the program counts none. */
START_TEST(coalesced_buffers_go_to_userspace)
{
    struct rig r;
    rig_open(&r, "127.0.0.1", "auto", NULL);
    uint8_t p[4 * 213];
    for (int i = 0; i < 4; i++)
        record(p + i * 213, 23, 1, 200, (uint8_t)i);
    int seg = 213;
    ck_assert_int_eq(setsockopt(r.a.fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)), 0);
    send_to(&r.a, &r.w, p, sizeof(p));
    ck_assert_uint_eq(drain(&r.w, 200), 4);
    ck_assert_uint_eq(drain(&r.b, 20), 0);
    struct dcgw_fastpath_counts c[2];
    dcgw_fastpath_read(r.fp, r.flow, c);
    ck_assert_uint_eq(c[0].packets, 0);
    rig_close(&r);
}
END_TEST

START_TEST(rate_limit_drops_and_counts)
{
    struct dcgw_fastpath_limits lim[2] = {{.packets_per_s = 100, .burst_packets = 5}, {0}};
    struct rig r;
    rig_open(&r, "127.0.0.1", "auto", lim);
    uint8_t p[256];
    size_t n = record(p, 23, 1, 100, 9);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 40; i++) /* the burst, and one more per 10 ms the loop takes */
        send_to(&r.a, &r.w, p, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned ms = (unsigned)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    unsigned got = drain(&r.b, 50);
    ck_assert_uint_ge(got, 5);
    ck_assert_msg(got <= 6 + ms / 10, "%u forwarded in %u ms", got, ms); /* usually 1 ms: 5-6 */
    ck_assert_uint_le(got, 10);
    ck_assert_uint_eq(drain(&r.w, 20), 0); /* over the limit is dropped, not handed up */
    struct dcgw_fastpath_counts c[2];
    dcgw_fastpath_read(r.fp, r.flow, c);
    ck_assert_uint_eq(c[0].packets, got);
    ck_assert_uint_eq(c[0].packets + c[0].rate_packets, 40);
    ck_assert_uint_eq(c[0].rate_bytes, c[0].rate_packets * n);
    expect_forwarded(&r, &r.b, &r.a, 100); /* the other direction is not limited */
    rig_close(&r);
}
END_TEST

START_TEST(removed_flows_go_to_userspace)
{
    struct rig r;
    rig_open(&r, "127.0.0.1", "auto", NULL);
    expect_forwarded(&r, &r.a, &r.b, 500);
    struct dcgw_fastpath_counts c[2];
    dcgw_fastpath_remove(r.fp, r.flow, c);
    ck_assert_uint_eq(c[0].packets, 1);
    ck_assert_uint_eq(c[0].bytes, 513);
    uint8_t p[600];
    size_t n = record(p, 23, 1, 500, 1);
    send_to(&r.a, &r.w, p, n);
    ck_assert_uint_eq(drain(&r.w, 200), 1);
    ck_assert_uint_eq(drain(&r.b, 20), 0);
    rig_close(&r);
}
END_TEST

/* ---- remote peers: the redirect through the FIB, over a veth pair
 *
 *   this namespace: W 10.77.0.1 on dcgwv0 (fast path on its ingress, IPv4 forwarding on)
 *        | veth
 *   child namespace: A 10.77.0.2, B 10.77.0.3 on dcgwv1
 *
 * A -> W arrives on dcgwv0, leaves rewritten W -> B by dcgwv0's egress (MACs from the FIB
 * and the neighbour table) and reaches B in the child; B -> W reaches A the same way. */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* The child's side: A and B, each sends one record to W and expects the other's. */
static int remote_peers(int go)
{
    char c;
    if (read(go, &c, 1) != 1 ||
        sh("ip link set lo up && ip addr add 10.77.0.2/24 dev dcgwv1 && "
           "ip addr add 10.77.0.3/24 dev dcgwv1 && ip link set dcgwv1 up") != 0)
        return 10;
    struct ep a, b, w;
    ep_open(&a, "10.77.0.2:4000");
    ep_open(&b, "10.77.0.3:5000");
    dcgw_addr_parse("10.77.0.1:6000", &w.addr);
    usleep(200000); /* the link comes up */
    for (int k = 0; k < 2; k++) {
        struct ep *from = k ? &b : &a, *to = k ? &a : &b;
        uint8_t p[600], got[600];
        size_t n = record(p, 23, 1, (uint16_t)(300 + k), (uint8_t)(7 + k));
        struct sockaddr_storage src;
        ssize_t m = -1;
        for (int tries = 0; tries < 20 && m < 0; tries++) { /* ARP for W on the first */
            send_to(from, &w, p, n);
            m = recv_one(to, got, sizeof(got), 100, &src);
        }
        if (m != (ssize_t)n || memcmp(got, p, n) != 0)
            return 20 + k;
        if (!same_addr(&src, &w.addr))
            return 30 + k;
    }
    return 0;
}

START_TEST(forwards_to_remote_peers_through_veth)
{
    ck_assert_int_eq(sh("ip link add dcgwv0 type veth peer name dcgwv1"), 0);
    int up[2], go[2];
    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c = 'u';
        if (unshare(CLONE_NEWNET) < 0 || write(up[1], &c, 1) != 1)
            _exit(2);
        _exit(remote_peers(go[0]));
    }
    char c, mac[32] = "";
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "dcgwv1");
    ck_assert_int_eq(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
    close(fd);
    const uint8_t *hw = (const uint8_t *)ifr.ifr_hwaddr.sa_data;
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", hw[0], hw[1], hw[2], hw[3], hw[4],
             hw[5]);
    ck_assert_int_eq(sh("ip link set dcgwv1 netns %d && ip addr add 10.77.0.1/24 dev dcgwv0 && "
                        "ip link set dcgwv0 up && "
                        "ip neigh replace 10.77.0.2 lladdr %s dev dcgwv0 nud permanent && "
                        "ip neigh replace 10.77.0.3 lladdr %s dev dcgwv0 nud permanent && "
                        "echo 1 > /proc/sys/net/ipv4/conf/dcgwv0/forwarding",
                        (int)pid, mac, mac),
                     0);
    struct ep w;
    ep_open(&w, "10.77.0.1:6000");
    struct dcgw_fastpath_settings st = {.interfaces = "dcgwv0", .max_flows = 4};
    struct dcgw_fastpath *fp = NULL;
    char why[256] = "";
    ck_assert_msg(dcgw_fastpath_open(&st, (struct sockaddr *)&w.addr, &fp, why, sizeof(why)) == 0,
                  "%s", why);
    struct sockaddr_storage a, b;
    dcgw_addr_parse("10.77.0.2:4000", &a);
    dcgw_addr_parse("10.77.0.3:5000", &b);
    const struct sockaddr *peers[2] = {(struct sockaddr *)&a, (struct sockaddr *)&b};
    static const struct dcgw_fastpath_limits none[2];
    struct dcgw_fastpath_flow *flow = NULL;
    ck_assert_int_eq(dcgw_fastpath_add(fp, (struct sockaddr *)&w.addr, peers, none, &flow), 0);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    int status = -1;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peers: status %d",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    struct dcgw_fastpath_counts cn[2];
    ck_assert_int_eq(dcgw_fastpath_read(fp, flow, cn), 0);
    ck_assert_uint_ge(cn[0].packets, 1); /* a retry before ARP resolved counts too */
    ck_assert_uint_ge(cn[1].packets, 1);
    ck_assert_uint_eq(drain(&w, 20), 0); /* dcgw's socket saw none of the data */
    dcgw_fastpath_close(fp);
    close(w.fd);
    sh("ip link del dcgwv0 2>/dev/null");
}
END_TEST

START_TEST(open_refusals_say_why)
{
    struct sockaddr_storage any, lo;
    dcgw_addr_parse("0.0.0.0:5000", &any);
    dcgw_addr_parse("127.0.0.1:5000", &lo);
    struct dcgw_fastpath_settings st = {.max_flows = 4};
    struct dcgw_fastpath *fp = NULL;
    char why[256] = "";
    ck_assert_int_eq(dcgw_fastpath_open(&st, (struct sockaddr *)&any, &fp, why, sizeof(why)),
                     DCGW_EINVAL);
    ck_assert_msg(strstr(why, "wildcard"), "%s", why);
    st.interfaces = "nosuch0";
    ck_assert_int_eq(dcgw_fastpath_open(&st, (struct sockaddr *)&lo, &fp, why, sizeof(why)),
                     DCGW_ENOENT);
    ck_assert_msg(strstr(why, "nosuch0"), "%s", why);
    ck_assert_ptr_null(fp);
}
END_TEST

/* The object as built passes this kernel's verifier; its statistics are printed with the
 * kernel's release (tests/vm runs this on Debian 12's 6.1; docs/fastpath.md quotes them).
 * On a refusal the verifier's own log says why. */
START_TEST(verifier_accepts_the_object)
{
    static char log[1 << 20];
    struct utsname u;
    ck_assert_int_eq(uname(&u), 0);
    for (unsigned level = 4; level; level = level == 4 ? 1 : 0) { /* stats, then the log */
        struct bpf_object *obj = bpf_object__open_file(DCGW_BPF_OBJECT, NULL);
        ck_assert_ptr_nonnull(obj);
        struct bpf_program *prog = bpf_object__find_program_by_name(obj, "dcgw_relay_fast");
        ck_assert_ptr_nonnull(prog);
        log[0] = '\0';
        bpf_program__set_log_buf(prog, log, sizeof(log));
        bpf_program__set_log_level(prog, level);
        int r = bpf_object__load(obj);
        bpf_object__close(obj);
        if (r == 0) {
            const char *p = strstr(log, "processed ");
            ck_assert_msg(p, "no verifier statistics in: %s", log);
            printf("verifier on %s %s: %.*s\n", u.release, u.version, (int)strcspn(p, "\n"), p);
            p = strstr(log, "verification time");
            if (p)
                printf("verifier on %s: %.*s\n", u.release, (int)strcspn(p, "\n"), p);
            return;
        }
        if (level == 1) {
            size_t n = strlen(log);
            ck_abort_msg("%s refused the program (%s); the verifier's log ends:\n%s", u.release,
                         strerror(-r), log + (n > 3000 ? n - 3000 : 0));
        }
    }
}
END_TEST

/* BPF usable here: root, a private network namespace, SCHED_CLS programs. */
static bool available(char *why, size_t cap)
{
    if (!tnetns_enter("needs CAP_BPF and CAP_NET_ADMIN", why, cap))
        return false;
    if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) != 1) {
        snprintf(why, cap, "the kernel does not load SCHED_CLS BPF programs here");
        return false;
    }
    return true;
}

int main(void)
{
    char why[256];
    if (!available(why, sizeof(why))) {
        printf("test_fastpath_bpf: SKIPPED, BPF not available: %s\n", why);
        return 77;
    }
    Suite *s = suite_create("fastpath_bpf");
    TCase *tc = tcase_create("program");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, verifier_accepts_the_object);
    tcase_add_test(tc, forwards_ipv4_tcx_or_tc);
    tcase_add_test(tc, forwards_with_a_tc_filter);
    tcase_add_test(tc, forwards_ipv6);
    tcase_add_test(tc, the_rest_goes_to_userspace);
    tcase_add_test(tc, coalesced_buffers_go_to_userspace);
    tcase_add_test(tc, rate_limit_drops_and_counts);
    tcase_add_test(tc, removed_flows_go_to_userspace);
    tcase_add_test(tc, open_refusals_say_why);
    tcase_add_test(tc, forwards_to_remote_peers_through_veth);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
