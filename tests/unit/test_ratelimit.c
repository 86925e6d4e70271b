/* Per-source token buckets (base/ratelimit.h): rate and burst per source, sources keyed by
 * IPv4 address or IPv6 /64 (ports ignored), a bounded table that limits newcomers when
 * full and lets idle sources go. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/ratelimit.h"
#include "helper_suite.h"

static struct sockaddr_storage addr(const char *s)
{
    struct sockaddr_storage ss;
    ck_assert_int_eq(dcgw_addr_parse(s, &ss), 0);
    return ss;
}

static bool allow(struct dcgw_ratelimit *rl, const char *s, uint64_t t)
{
    struct sockaddr_storage ss = addr(s);
    return dcgw_ratelimit_allow(rl, (struct sockaddr *)&ss, t);
}

START_TEST(burst_then_rate_per_source)
{
    struct dcgw_ratelimit_settings s = {.rate = 100, .burst = 5, .sources = 64};
    struct dcgw_ratelimit *rl;
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    for (int i = 0; i < 5; i++) /* the burst, whatever the source port */
        ck_assert(allow(rl, i % 2 ? "192.0.2.1:1000" : "192.0.2.1:2000", 1000));
    ck_assert(!allow(rl, "192.0.2.1:3000", 1000));
    ck_assert(allow(rl, "192.0.2.2:1000", 1000));         /* another source has its own bucket */
    ck_assert(!allow(rl, "192.0.2.1:1000", 1000 + 9999)); /* 100/s: a token per 10 ms */
    ck_assert(allow(rl, "192.0.2.1:1000", 1000 + 10000));
    ck_assert(!allow(rl, "192.0.2.1:1000", 1000 + 10000));
    const struct dcgw_ratelimit_stats *st = dcgw_ratelimit_stats(rl);
    ck_assert_uint_eq(st->allowed, 7);
    ck_assert_uint_eq(st->limited, 3);
    ck_assert_uint_eq(st->table_full, 0);
    dcgw_ratelimit_free(rl);
}
END_TEST

START_TEST(ipv6_sources_are_64_bit_prefixes)
{
    struct dcgw_ratelimit_settings s = {.rate = 10, .burst = 2, .sources = 64};
    struct dcgw_ratelimit *rl;
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    ck_assert(allow(rl, "[2001:db8:0:1::1]:5000", 0));
    ck_assert(allow(rl, "[2001:db8:0:1::ffff]:6000", 0)); /* the same /64 */
    ck_assert(!allow(rl, "[2001:db8:0:1:8000::2]:7000", 0));
    ck_assert(allow(rl, "[2001:db8:0:2::1]:5000", 0)); /* another /64 */
    /* an IPv4 address and an IPv6 one with the same first bytes are different sources */
    ck_assert(allow(rl, "32.1.13.184:1", 0));
    dcgw_ratelimit_free(rl);
}
END_TEST

START_TEST(full_table_limits_newcomers_until_sources_go_idle)
{
    struct dcgw_ratelimit_settings s = {.rate = 10, .burst = 3, .sources = 8};
    struct dcgw_ratelimit *rl;
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    char a[32];
    for (int i = 0; i < 8; i++) { /* eight busy sources fill the eight entries */
        snprintf(a, sizeof(a), "198.51.100.%d:9", i + 1);
        ck_assert(allow(rl, a, 0));
    }
    ck_assert(!allow(rl, "203.0.113.1:9", 0));
    ck_assert_uint_eq(dcgw_ratelimit_stats(rl)->table_full, 1);
    ck_assert(allow(rl, "198.51.100.1:9", 0)); /* the known ones still pass */
    /* 0.3 s later every bucket is full again: idle sources make room */
    ck_assert(allow(rl, "203.0.113.1:9", 300000));
    dcgw_ratelimit_free(rl);
}
END_TEST

START_TEST(flood_from_one_source_passes_only_its_rate)
{
    struct dcgw_ratelimit_settings s = {.rate = 100, .burst = 50, .sources = 4096};
    struct dcgw_ratelimit *rl;
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    struct sockaddr_storage ports[64]; /* one sender, 64 source ports */
    for (int i = 0; i < 64; i++) {
        char a[32];
        snprintf(a, sizeof(a), "127.0.0.1:%d", 40000 + i);
        ports[i] = addr(a);
    }
    uint64_t passed = 0;
    for (uint64_t t = 0; t < 1000000; t += 4) /* 250,000 datagrams in 1 s */
        passed += dcgw_ratelimit_allow(rl, (struct sockaddr *)&ports[t % 64], t);
    ck_assert_uint_ge(passed, 149); /* the burst + 1 s at 100/s */
    ck_assert_uint_le(passed, 151);
    dcgw_ratelimit_free(rl);
}
END_TEST

START_TEST(edges)
{
    struct dcgw_ratelimit *rl;
    struct dcgw_ratelimit_settings s = {.rate = 1, .sources = 0};
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), DCGW_EINVAL);
    s.sources = DCGW_RATELIMIT_SOURCES_MAX + 1;
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), DCGW_EINVAL);
    s = (struct dcgw_ratelimit_settings){.rate = 0, .sources = 4}; /* no limit */
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert(allow(rl, "192.0.2.1:1", 0));
    dcgw_ratelimit_free(rl);
    s = (struct dcgw_ratelimit_settings){.rate = 5, .sources = 4}; /* burst 0: the rate */
    ck_assert_int_eq(dcgw_ratelimit_new(&s, &rl), 0);
    for (int i = 0; i < 5; i++)
        ck_assert(allow(rl, "192.0.2.1:1", 0));
    ck_assert(!allow(rl, "192.0.2.1:1", 0));
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    ck_assert(!dcgw_ratelimit_allow(rl, (struct sockaddr *)&un, 0));
    dcgw_ratelimit_free(rl);
    dcgw_ratelimit_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ratelimit");
    const TTest *tests[] = {burst_then_rate_per_source,
                            ipv6_sources_are_64_bit_prefixes,
                            full_table_limits_newcomers_until_sources_go_idle,
                            flood_from_one_source_passes_only_its_rate,
                            edges,
                            NULL};
    tsuite_add(s, "per_source", 0, NULL, NULL, tests);
    return tsuite_run(s);
}
