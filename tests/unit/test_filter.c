/* The eBPF socket filter of the unknown-source path (net/filter.h) on real loopback
 * sockets, in a private network namespace: validated addresses pass whatever they send,
 * unknown sources only with STUN Binding requests and only at their source's rate; the
 * kernel counts what it dropped. Loading a BPF program needs CAP_BPF: not root, the test
 * says why and exits 77 (ctest: skipped). tests/vm runs it on Debian 12's 6.1 kernel. */
#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/error.h"
#include "dcgw/net/filter.h"
#include "helper_netns.h"
#include "helper_suite.h"

static int udp(int family, struct sockaddr_storage *bound)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    memset(bound, 0, sizeof(*bound));
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)bound;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)bound;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    ck_assert_int_eq(bind(fd, (struct sockaddr *)bound, len), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)bound, &len), 0);
    return fd;
}

static const uint8_t DTLS[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
/* a Binding request's header, no attributes */
static const uint8_t STUN[20] = {0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3};

static void send_to(int from, const struct sockaddr_storage *to, const uint8_t *p, size_t n)
{
    socklen_t len =
        to->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    ck_assert_int_eq(sendto(from, p, n, 0, (const struct sockaddr *)to, len), (ssize_t)n);
}

/* Datagrams waiting on fd (drained). */
static int drain(int fd)
{
    int n = 0;
    uint8_t buf[64];
    struct pollfd pfd = {fd, POLLIN, 0};
    while (poll(&pfd, 1, 50) == 1 && recv(fd, buf, sizeof(buf), 0) >= 0)
        n++;
    return n;
}

static struct dcgw_filter *attach(int fd, uint32_t rate, uint32_t burst)
{
    struct dcgw_filter_settings s = {
        .rate = rate, .burst = burst, .sources = 64, .addresses = 1024};
    struct dcgw_filter *f = NULL;
    char err[300] = "";
    int r = dcgw_filter_new(fd, &s, &f, err, sizeof(err));
    ck_assert_msg(r == 0, "the kernel refused the filter (root, CAP_BPF?): %s", err);
    return f;
}

static void known_and_unknown(int family)
{
    struct sockaddr_storage rx_addr, a_addr, b_addr;
    int rx = udp(family, &rx_addr), a = udp(family, &a_addr), b = udp(family, &b_addr);
    struct dcgw_filter *f = attach(rx, 1, 2); /* slow: a busy machine's delays do not matter */
    ck_assert_int_eq(dcgw_filter_add(f, (struct sockaddr *)&a_addr), 0);
    /* a validated address: anything passes */
    send_to(a, &rx_addr, DTLS, sizeof(DTLS));
    send_to(a, &rx_addr, (const uint8_t *)"\x80garbage", 8);
    send_to(a, &rx_addr, STUN, sizeof(STUN));
    ck_assert_int_eq(drain(rx), 3);
    /* an unknown source: DTLS and garbage dropped, Binding requests at its rate (burst 2) */
    send_to(b, &rx_addr, DTLS, sizeof(DTLS));
    send_to(b, &rx_addr, (const uint8_t *)"\x80garbage", 8);
    send_to(b, &rx_addr, (const uint8_t *)"x", 1);
    for (int i = 0; i < 5; i++)
        send_to(b, &rx_addr, STUN, sizeof(STUN));
    ck_assert_int_eq(drain(rx), 2);
    struct dcgw_filter_stats st;
    dcgw_filter_stats(f, &st);
    ck_assert_uint_eq(st.dropped, 3);
    ck_assert_uint_eq(st.limited, 3);
    /* 1/s: one more a second later */
    usleep(1100 * 1000);
    send_to(b, &rx_addr, STUN, sizeof(STUN));
    send_to(b, &rx_addr, STUN, sizeof(STUN));
    ck_assert_int_eq(drain(rx), 1);
    /* forgotten: dropped like any unknown source */
    dcgw_filter_del(f, (struct sockaddr *)&a_addr);
    send_to(a, &rx_addr, DTLS, sizeof(DTLS));
    ck_assert_int_eq(drain(rx), 0);
    dcgw_filter_free(f);
    /* detached: everything passes again */
    send_to(b, &rx_addr, DTLS, sizeof(DTLS));
    ck_assert_int_eq(drain(rx), 1);
    close(rx), close(a), close(b);
}

START_TEST(ipv4_known_and_unknown_sources)
{
    known_and_unknown(AF_INET);
}
END_TEST

START_TEST(ipv6_known_and_unknown_sources)
{
    known_and_unknown(AF_INET6);
}
END_TEST

START_TEST(ports_are_part_of_a_validated_address)
{
    struct sockaddr_storage rx_addr, a_addr, b_addr;
    int rx = udp(AF_INET, &rx_addr), a = udp(AF_INET, &a_addr), b = udp(AF_INET, &b_addr);
    struct dcgw_filter *f = attach(rx, 0, 0); /* no rate limit: Binding requests pass */
    ck_assert_int_eq(dcgw_filter_add(f, (struct sockaddr *)&a_addr), 0);
    ck_assert_int_eq(dcgw_filter_add(f, (struct sockaddr *)&a_addr), 0); /* again: fine */
    send_to(b, &rx_addr, DTLS, sizeof(DTLS)); /* same address, another port */
    for (int i = 0; i < 20; i++)
        send_to(b, &rx_addr, STUN, sizeof(STUN));
    ck_assert_int_eq(drain(rx), 20);
    dcgw_filter_free(f);
    close(rx), close(a), close(b);
}
END_TEST

START_TEST(bad_arguments)
{
    struct dcgw_filter *f;
    struct dcgw_filter_settings s = {.rate = 1, .sources = 0, .addresses = 8};
    ck_assert_int_eq(dcgw_filter_new(3, &s, &f, NULL, 0), DCGW_EINVAL);
    s.sources = 8;
    ck_assert_int_eq(dcgw_filter_new(-1, &s, &f, NULL, 0), DCGW_EINVAL);
    s.addresses = 0;
    ck_assert_int_eq(dcgw_filter_new(3, &s, &f, NULL, 0), DCGW_EINVAL);
    dcgw_filter_free(NULL);
}
END_TEST

int main(void)
{
    char why[256];
    if (!tnetns_enter("loading BPF needs CAP_BPF", why, sizeof(why))) {
        printf("test_filter: SKIPPED, %s\n", why);
        return 77;
    }
    Suite *s = suite_create("filter");
    const TTest *tests[] = {ipv4_known_and_unknown_sources, ipv6_known_and_unknown_sources,
                            ports_are_part_of_a_validated_address, bad_arguments, NULL};
    tsuite_add(s, "kernel", 10, NULL, NULL, tests);
    return tsuite_run(s);
}
