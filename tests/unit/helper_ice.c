/* Shared by the ICE tests: see helper_ice.h. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"
#include "helper_lossy.h"
#include "helper_suite.h"

/* ---- RFC 5769 §2 test vectors ------------------------------------------------------ */

const uint8_t iceh_rfc_req[ICEH_RFC_REQ_LEN] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};
const uint8_t iceh_rfc_resp4[ICEH_RFC_RESP4_LEN] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};
const uint8_t iceh_rfc_resp6[ICEH_RFC_RESP6_LEN] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

/* ---- independent STUN helpers ------------------------------------------------------ */

struct sockaddr_in iceh_v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

struct sockaddr_in6 iceh_v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

uint16_t iceh_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void iceh_wr16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Offset of the value of the first attribute `type`, 0 when absent. */
size_t iceh_find_attr(const uint8_t *p, size_t n, uint16_t type, uint16_t *len)
{
    for (size_t off = 20; off + 4 <= n;) {
        uint16_t t = iceh_rd16(p + off), l = iceh_rd16(p + off + 2);
        if (t == type) {
            if (len)
                *len = l;
            return off + 4;
        }
        off += 4 + ((l + 3u) & ~3u);
    }
    return 0;
}

/* RFC 8489 §14.7: CRC-32 of everything before FINGERPRINT, xor 0x5354554e. */
bool iceh_fp_ok(const uint8_t *p, size_t n)
{
    if (n < 28 || iceh_rd16(p + n - 8) != 0x8028)
        return false;
    uint32_t want = (uint32_t)crc32(0, p, (uInt)(n - 8)) ^ 0x5354554eu;
    uint32_t got = (uint32_t)p[n - 4] << 24 | (uint32_t)p[n - 3] << 16 | p[n - 2] << 8 | p[n - 1];
    return want == got;
}

void iceh_fp_fix(uint8_t *p, size_t n)
{
    uint32_t v = (uint32_t)crc32(0, p, (uInt)(n - 8)) ^ 0x5354554eu;
    for (int i = 0; i < 4; i++)
        p[n - 4 + i] = (uint8_t)(v >> (24 - 8 * i));
}

/* RFC 8489 §14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the length
 * field counting up to the end of MESSAGE-INTEGRITY. Writes it when `fix`, else compares. */
bool iceh_mi_check(uint8_t *p, size_t n, const char *key, bool fix)
{
    size_t val = iceh_find_attr(p, n, 0x0008, NULL);
    if (!val)
        return false;
    size_t start = val - 4;
    uint8_t tmp[2048], mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    memcpy(tmp, p, start);
    iceh_wr16(tmp + 2, start + 24 - 20);
    HMAC(EVP_sha1(), key, (int)strlen(key), tmp, start, mac, &mlen);
    if (fix)
        memcpy(p + val, mac, 20);
    return mlen == 20 && memcmp(p + val, mac, 20) == 0;
}

bool iceh_mi_ok(const uint8_t *p, size_t n, const char *key)
{
    return iceh_mi_check((uint8_t *)p, n, key, false);
}

/* Decodes XOR-MAPPED-ADDRESS (RFC 8489 §14.2) of an IPv4 response. */
struct sockaddr_in iceh_xor_mapped4(const uint8_t *p, size_t n)
{
    uint16_t len = 0;
    size_t v = iceh_find_attr(p, n, 0x0020, &len);
    ck_assert_uint_gt(v, 0);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(p[v + 1], 1);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(iceh_rd16(p + v + 2) ^ 0x2112);
    uint8_t ip[4];
    for (int i = 0; i < 4; i++)
        ip[i] = p[v + 4 + i] ^ p[4 + i];
    memcpy(&a.sin_addr, ip, 4);
    return a;
}

/* Builds a check with libnice directly (a third party's request, any shape). */
size_t iceh_make_check(uint8_t *buf, size_t cap, const char *user, const char *pwd, bool use_cand,
                       int role, uint16_t extra_type, size_t extra_len)
{
    StunAgent ag;
    StunMessage m;
    uint8_t extra[1500];
    memset(extra, 'x', sizeof(extra));
    stun_agent_init(&ag, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    ck_assert(stun_agent_init_request(&ag, &m, buf, cap, STUN_BINDING));
    if (user)
        stun_message_append_bytes(&m, STUN_ATTRIBUTE_USERNAME, user, strlen(user));
    stun_message_append32(&m, STUN_ATTRIBUTE_PRIORITY, 0x6e0001ff);
    if (role > 0)
        stun_message_append64(&m, STUN_ATTRIBUTE_ICE_CONTROLLING, 0x1122334455667788ull);
    if (role < 0)
        stun_message_append64(&m, STUN_ATTRIBUTE_ICE_CONTROLLED, 0x1122334455667788ull);
    if (use_cand)
        stun_message_append_flag(&m, STUN_ATTRIBUTE_USE_CANDIDATE);
    if (extra_type)
        ck_assert(stun_message_append_bytes(&m, (StunAttribute)extra_type, extra, extra_len) ==
                  STUN_MESSAGE_RETURN_SUCCESS);
    size_t n = stun_agent_finish_message(&ag, &m, (const uint8_t *)pwd, pwd ? strlen(pwd) : 0);
    ck_assert_uint_gt(n, 0);
    return n;
}

size_t iceh_good_check(uint8_t *buf, size_t cap, bool use_cand)
{
    return iceh_make_check(buf, cap, ICEH_USERNAME, ICEH_L_PWD, use_cand, 1, 0, 0);
}

/* ---- a lite agent with recording callbacks ----------------------------------------- */

void iceh_rec_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct iceh_rec *r = ud;
    r->sent++;
    ck_assert_uint_le(n, sizeof(r->last));
    memcpy(r->last, p, n);
    r->last_len = n;
    memcpy(&r->to, to, dcgw_addr_len(to));
}

void iceh_rec_selected(void *ud, const struct sockaddr *peer)
{
    struct iceh_rec *r = ud;
    r->selected++;
    memset(&r->sel, 0, sizeof(r->sel));
    memcpy(&r->sel, peer, dcgw_addr_len(peer));
}

void iceh_rec_lost(void *ud)
{
    struct iceh_rec *r = ud;
    r->lost++;
    if (r->now)
        r->lost_at = *r->now;
}

struct dcgw_ice_lite *iceh_lite_with(struct iceh_rec *r, const char *lu, const char *ru,
                                     const char *lp, uint32_t consent, uint32_t max_addrs)
{
    struct dcgw_ice_lite_settings s;
    dcgw_ice_lite_settings_default(&s);
    s.local_ufrag = lu;
    s.remote_ufrag = ru;
    s.local_pwd = lp;
    s.remote_pwd = ICEH_U_PWD;
    s.consent_timeout_ms = consent;
    s.max_addrs = max_addrs;
    struct dcgw_ice_cbs cbs = {r, iceh_rec_send, iceh_rec_selected, iceh_rec_lost};
    struct dcgw_ice_lite *ice = NULL;
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), 0);
    return ice;
}

struct dcgw_ice_lite *iceh_lite_new(struct iceh_rec *r)
{
    return iceh_lite_with(r, ICEH_L_UFRAG, ICEH_U_UFRAG, ICEH_L_PWD, 0, 0);
}

/* ---- client and lite back to back over an in-memory link --------------------------- */

static void net_c_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct iceh_net *t = ud;
    ck_assert(dcgw_addr_equal(to, SA(t->laddr)));
    if (t->c_sent < 64)
        t->send_times[t->c_sent] = t->now;
    t->c_sent++;
    memcpy(t->c_last, p, n);
    t->c_last_len = n;
    if (t->c_sent <= t->drop_first || t->block_c2l)
        return;
    lossy_send(&t->c2l, p, n);
}

static void net_l_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct iceh_net *t = ud;
    iceh_rec_send(&t->lr, to, p, n);
    ck_assert(dcgw_addr_equal(to, SA(t->caddr)));
    if (!t->block_l2c)
        lossy_send(&t->l2c, p, n);
}

static void net_l_selected(void *ud, const struct sockaddr *peer)
{
    iceh_rec_selected(&((struct iceh_net *)ud)->lr, peer);
}

static void net_l_lost(void *ud)
{
    iceh_rec_lost(&((struct iceh_net *)ud)->lr);
}

static void net_connected(void *ud, const struct sockaddr *mapped)
{
    struct iceh_net *t = ud;
    t->connected++;
    memcpy(&t->mapped, mapped, dcgw_addr_len(mapped));
}

static void net_failed(void *ud)
{
    ((struct iceh_net *)ud)->failed++;
}

static void net_c_lost(void *ud)
{
    ((struct iceh_net *)ud)->c_lost++;
}

static void net_random(void *ud, uint8_t *buf, size_t n)
{
    struct iceh_net *t = ud;
    if (t->fixed_id && n == 16) {
        memcpy(buf, t->fixed_id, 16);
        t->fixed_id = NULL;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        t->rng ^= t->rng << 13;
        t->rng ^= t->rng >> 7;
        t->rng ^= t->rng << 17;
        buf[i] = (uint8_t)(t->rng >> 24);
    }
}

void iceh_net_client(struct iceh_net *t, const char *lu, const char *ru, const char *rp)
{
    struct dcgw_ice_client_settings s;
    dcgw_ice_client_settings_default(&s);
    s.local_ufrag = lu;
    s.local_pwd = ICEH_U_PWD;
    s.remote_ufrag = ru;
    s.remote_pwd = rp;
    s.tie_breaker = 0x0102030405060708ull;
    struct dcgw_ice_client_cbs cbs = {t,          net_c_send, net_connected,
                                      net_failed, net_c_lost, net_random};
    ck_assert_int_eq(dcgw_ice_client_new(&s, &cbs, &t->c), 0);
}

/* A UE client (uE+1) and a lite agent (LiTe); client at caddr, lite at laddr. */
void iceh_net_init(struct iceh_net *t, const struct sockaddr *caddr, const struct sockaddr *laddr,
                   const char *client_remote_pwd)
{
    memset(t, 0, sizeof(*t));
    t->rng = 0x2545f4914f6cdd1dull;
    t->lr.now = &t->now;
    memcpy(&t->caddr, caddr, dcgw_addr_len(caddr));
    memcpy(&t->laddr, laddr, dcgw_addr_len(laddr));
    lossy_init(&t->c2l, 0, 0, 0, 1);
    lossy_init(&t->l2c, 0, 0, 0, 2);
    struct dcgw_ice_lite_settings s;
    dcgw_ice_lite_settings_default(&s);
    s.local_ufrag = ICEH_L_UFRAG;
    s.local_pwd = ICEH_L_PWD;
    s.remote_ufrag = ICEH_U_UFRAG;
    struct dcgw_ice_cbs cbs = {t, net_l_send, net_l_selected, net_l_lost};
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &t->l), 0);
    iceh_net_client(t, ICEH_U_UFRAG, ICEH_L_UFRAG, client_remote_pwd);
}

void iceh_net_dispose(struct iceh_net *t)
{
    dcgw_ice_client_free(t->c);
    dcgw_ice_lite_free(t->l);
    lossy_dispose(&t->c2l);
    lossy_dispose(&t->l2c);
}

static void to_lite(void *ud, const uint8_t *p, size_t n)
{
    struct iceh_net *t = ud;
    dcgw_ice_lite_recv(t->l, SA(t->caddr), p, n, t->now);
}

static void to_client(void *ud, const uint8_t *p, size_t n)
{
    struct iceh_net *t = ud;
    dcgw_ice_client_recv(t->c, SA(t->laddr), p, n, t->now);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Delivers everything, then jumps to the next timer, until `until`. */
void iceh_net_run(struct iceh_net *t, uint64_t until)
{
    for (;;) {
        while (t->c2l.head || t->l2c.head) {
            lossy_pump(&t->c2l, to_lite, t);
            lossy_pump(&t->l2c, to_client, t);
        }
        uint64_t next = min64(dcgw_ice_client_next_timeout(t->c), dcgw_ice_lite_next_timeout(t->l));
        if (next > until) {
            t->now = until;
            return;
        }
        if (next > t->now)
            t->now = next;
        dcgw_ice_client_handle_timeout(t->c, t->now);
        dcgw_ice_lite_handle_timeout(t->l, t->now);
    }
}

int iceh_run(const struct iceh_group *groups, size_t n)
{
    Suite *s = suite_create("ice");
    for (size_t g = 0; g < n; g++) {
        TCase *tc = tcase_create(groups[g].name);
        for (size_t i = 0; i < 12 && groups[g].tests[i]; i++)
            tcase_add_test(tc, groups[g].tests[i]);
        suite_add_tcase(s, tc);
    }
    return tsuite_run(s);
}
