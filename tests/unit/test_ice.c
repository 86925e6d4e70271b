/* ICE-lite agent and check client: RFC 5769 vectors, back-to-back runs in memory (no
 * sockets, injected time), and every way a check can be wrong. MESSAGE-INTEGRITY and
 * FINGERPRINT of what dcgw sends are verified here with OpenSSL's HMAC and a local CRC-32,
 * not with libnice, so the tests do not trust the library they exercise. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "dcgw/error.h"
#include "dcgw/addr.h"
#include "dcgw/ice.h"
#include "helper_lossy.h"

#define SA(x) ((const struct sockaddr *)&(x))

static const char L_UFRAG[] = "LiTe", L_PWD[] = "dcgwLitePassword0123456";
static const char U_UFRAG[] = "uE+1", U_PWD[] = "ue/Password/0123456789AB";
static const char USERNAME[] = "LiTe:uE+1"; /* what the UE puts in its checks */

/* ---- RFC 5769 §2 test vectors ------------------------------------------------------ */

static const char RFC_PWD[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t rfc_req[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};
static const uint8_t rfc_resp4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};
static const uint8_t rfc_resp6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

/* ---- independent STUN helpers ------------------------------------------------------ */

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* Offset of the value of the first attribute `type`, 0 when absent. */
static size_t find_attr(const uint8_t *p, size_t n, uint16_t type, uint16_t *len)
{
    for (size_t off = 20; off + 4 <= n;) {
        uint16_t t = rd16(p + off), l = rd16(p + off + 2);
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
static bool fp_ok(const uint8_t *p, size_t n)
{
    if (n < 28 || rd16(p + n - 8) != 0x8028)
        return false;
    uint32_t want = crc32_ieee(p, n - 8) ^ 0x5354554eu;
    uint32_t got = (uint32_t)p[n - 4] << 24 | (uint32_t)p[n - 3] << 16 | p[n - 2] << 8 | p[n - 1];
    return want == got;
}

static void fp_fix(uint8_t *p, size_t n)
{
    uint32_t v = crc32_ieee(p, n - 8) ^ 0x5354554eu;
    for (int i = 0; i < 4; i++)
        p[n - 4 + i] = (uint8_t)(v >> (24 - 8 * i));
}

/* RFC 8489 §14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the length
 * field counting up to the end of MESSAGE-INTEGRITY. Writes it when `fix`, else compares. */
static bool mi_check(uint8_t *p, size_t n, const char *key, bool fix)
{
    size_t val = find_attr(p, n, 0x0008, NULL);
    if (!val)
        return false;
    size_t start = val - 4;
    uint8_t tmp[2048], mac[EVP_MAX_MD_SIZE];
    unsigned mlen = 0;
    memcpy(tmp, p, start);
    wr16(tmp + 2, start + 24 - 20);
    HMAC(EVP_sha1(), key, (int)strlen(key), tmp, start, mac, &mlen);
    if (fix)
        memcpy(p + val, mac, 20);
    return mlen == 20 && memcmp(p + val, mac, 20) == 0;
}

static bool mi_ok(const uint8_t *p, size_t n, const char *key)
{
    return mi_check((uint8_t *)p, n, key, false);
}

/* Decodes XOR-MAPPED-ADDRESS (RFC 8489 §14.2) of an IPv4 response. */
static struct sockaddr_in xor_mapped4(const uint8_t *p, size_t n)
{
    uint16_t len = 0;
    size_t v = find_attr(p, n, 0x0020, &len);
    ck_assert_uint_gt(v, 0);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(p[v + 1], 1);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(rd16(p + v + 2) ^ 0x2112);
    uint8_t ip[4];
    for (int i = 0; i < 4; i++)
        ip[i] = p[v + 4 + i] ^ p[4 + i];
    memcpy(&a.sin_addr, ip, 4);
    return a;
}

/* Builds a check with libnice directly (a third party's request, any shape). */
static size_t make_check(uint8_t *buf, size_t cap, const char *user, const char *pwd, bool use_cand,
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

static size_t good_check(uint8_t *buf, size_t cap, bool use_cand)
{
    return make_check(buf, cap, USERNAME, L_PWD, use_cand, 1, 0, 0);
}

/* ---- a lite agent with recording callbacks ----------------------------------------- */

struct rec {
    unsigned sent, selected, lost;
    uint8_t last[2048];
    size_t last_len;
    struct sockaddr_storage to, sel;
    uint64_t lost_at, *now;
};

static void rec_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct rec *r = ud;
    r->sent++;
    ck_assert_uint_le(n, sizeof(r->last));
    memcpy(r->last, p, n);
    r->last_len = n;
    memcpy(&r->to, to, dcgw_addr_len(to));
}

static void rec_selected(void *ud, const struct sockaddr *peer)
{
    struct rec *r = ud;
    r->selected++;
    memset(&r->sel, 0, sizeof(r->sel));
    memcpy(&r->sel, peer, dcgw_addr_len(peer));
}

static void rec_lost(void *ud)
{
    struct rec *r = ud;
    r->lost++;
    if (r->now)
        r->lost_at = *r->now;
}

static struct dcgw_ice_lite *lite_with(struct rec *r, const char *lu, const char *ru,
                                       const char *lp, uint32_t consent, uint32_t max_addrs)
{
    struct dcgw_ice_lite_settings s;
    dcgw_ice_lite_settings_default(&s);
    s.local_ufrag = lu;
    s.remote_ufrag = ru;
    s.local_pwd = lp;
    s.remote_pwd = U_PWD;
    s.consent_timeout_ms = consent;
    s.max_addrs = max_addrs;
    struct dcgw_ice_cbs cbs = {r, rec_send, rec_selected, rec_lost};
    struct dcgw_ice_lite *ice = NULL;
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), 0);
    return ice;
}

static struct dcgw_ice_lite *lite_new(struct rec *r)
{
    return lite_with(r, L_UFRAG, U_UFRAG, L_PWD, 0, 0);
}

/* ---- client and lite back to back over an in-memory link --------------------------- */

struct net {
    struct dcgw_ice_client *c;
    struct dcgw_ice_lite *l;
    struct rec lr;
    struct lossy_link c2l, l2c;
    struct sockaddr_storage caddr, laddr;
    uint64_t now, rng, send_times[64];
    unsigned c_sent, drop_first, connected, failed, c_lost;
    bool block_c2l, block_l2c;
    const uint8_t *fixed_id; /* first random draw of 16 bytes, for RFC 5769 */
    struct sockaddr_storage mapped;
    uint8_t c_last[2048];
    size_t c_last_len;
};

static void net_c_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct net *t = ud;
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
    struct net *t = ud;
    rec_send(&t->lr, to, p, n);
    ck_assert(dcgw_addr_equal(to, SA(t->caddr)));
    if (!t->block_l2c)
        lossy_send(&t->l2c, p, n);
}

static void net_l_selected(void *ud, const struct sockaddr *peer)
{
    rec_selected(&((struct net *)ud)->lr, peer);
}

static void net_l_lost(void *ud)
{
    rec_lost(&((struct net *)ud)->lr);
}

static void net_connected(void *ud, const struct sockaddr *mapped)
{
    struct net *t = ud;
    t->connected++;
    memcpy(&t->mapped, mapped, dcgw_addr_len(mapped));
}

static void net_failed(void *ud)
{
    ((struct net *)ud)->failed++;
}

static void net_c_lost(void *ud)
{
    ((struct net *)ud)->c_lost++;
}

static void net_random(void *ud, uint8_t *buf, size_t n)
{
    struct net *t = ud;
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

static void net_client(struct net *t, const char *lu, const char *ru, const char *rp)
{
    struct dcgw_ice_client_settings s;
    dcgw_ice_client_settings_default(&s);
    s.local_ufrag = lu;
    s.local_pwd = U_PWD;
    s.remote_ufrag = ru;
    s.remote_pwd = rp;
    s.tie_breaker = 0x0102030405060708ull;
    struct dcgw_ice_client_cbs cbs = {t,          net_c_send, net_connected,
                                      net_failed, net_c_lost, net_random};
    ck_assert_int_eq(dcgw_ice_client_new(&s, &cbs, &t->c), 0);
}

/* A UE client (uE+1) and a lite agent (LiTe); client at caddr, lite at laddr. */
static void net_init(struct net *t, const struct sockaddr *caddr, const struct sockaddr *laddr,
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
    s.local_ufrag = L_UFRAG;
    s.local_pwd = L_PWD;
    s.remote_ufrag = U_UFRAG;
    struct dcgw_ice_cbs cbs = {t, net_l_send, net_l_selected, net_l_lost};
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &t->l), 0);
    net_client(t, U_UFRAG, L_UFRAG, client_remote_pwd);
}

static void net_dispose(struct net *t)
{
    dcgw_ice_client_free(t->c);
    dcgw_ice_lite_free(t->l);
    lossy_dispose(&t->c2l);
    lossy_dispose(&t->l2c);
}

static void to_lite(void *ud, const uint8_t *p, size_t n)
{
    struct net *t = ud;
    dcgw_ice_lite_recv(t->l, SA(t->caddr), p, n, t->now);
}

static void to_client(void *ud, const uint8_t *p, size_t n)
{
    struct net *t = ud;
    dcgw_ice_client_recv(t->c, SA(t->laddr), p, n, t->now);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Delivers everything, then jumps to the next timer, until `until`. */
static void net_run(struct net *t, uint64_t until)
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

/* ---- RFC 5769 ---------------------------------------------------------------------- */

START_TEST(rfc5769_helpers_agree_with_vectors)
{
    /* The local verifiers must accept the published vectors before they judge dcgw. */
    ck_assert(fp_ok(rfc_req, sizeof(rfc_req)) && mi_ok(rfc_req, sizeof(rfc_req), RFC_PWD));
    ck_assert(fp_ok(rfc_resp4, sizeof(rfc_resp4)) && mi_ok(rfc_resp4, sizeof(rfc_resp4), RFC_PWD));
    ck_assert(fp_ok(rfc_resp6, sizeof(rfc_resp6)) && mi_ok(rfc_resp6, sizeof(rfc_resp6), RFC_PWD));
    ck_assert(!mi_ok(rfc_req, sizeof(rfc_req), "VOkJxbRl1RmTxUk/WvJxBu"));
    struct sockaddr_in m = xor_mapped4(rfc_resp4, sizeof(rfc_resp4));
    struct sockaddr_in want = v4("192.0.2.1", 32853);
    ck_assert(dcgw_addr_equal(SA(m), SA(want)));
}
END_TEST

START_TEST(rfc5769_request_role_conflict_answered_487)
{
    /* The sample request carries ICE-CONTROLLED: it authenticates, and a lite agent
     * (controlled, never switching) answers 487 with integrity. */
    struct rec r;
    struct dcgw_ice_lite *ice = lite_with(&r, "evtj", "h6vY", RFC_PWD, 0, 0);
    struct sockaddr_in from = v4("192.0.2.1", 32853);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), rfc_req, sizeof(rfc_req), 0), DCGW_EPROTO);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    ck_assert_uint_eq(st->role_conflicts, 1);
    ck_assert_uint_eq(st->bad_integrity + st->bad_fingerprint + st->bad_username, 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(rd16(r.last), 0x0111); /* Binding error response */
    ck_assert_mem_eq(r.last + 4, rfc_req + 4, 16);
    uint16_t len = 0;
    size_t ec = find_attr(r.last, r.last_len, 0x0009, &len);
    ck_assert_uint_gt(ec, 0);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 487);
    ck_assert(mi_ok(r.last, r.last_len, RFC_PWD) && fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(rfc5769_request_as_controlling_answered)
{
    /* The same request turned into a controlling one with USE-CANDIDATE kept out:
     * re-signed here, answered with a success response we verify independently. */
    uint8_t m[sizeof(rfc_req)];
    memcpy(m, rfc_req, sizeof(m));
    wr16(m + 48, 0x802a); /* ICE-CONTROLLED -> ICE-CONTROLLING */
    mi_check(m, sizeof(m), RFC_PWD, true);
    fp_fix(m, sizeof(m));
    struct rec r;
    struct dcgw_ice_lite *ice = lite_with(&r, "evtj", "h6vY", RFC_PWD, 0, 0);
    struct sockaddr_in from = v4("192.0.2.1", 32853);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(rd16(r.last), 0x0101);
    ck_assert_mem_eq(r.last + 4, m + 4, 16);
    ck_assert(mi_ok(r.last, r.last_len, RFC_PWD) && fp_ok(r.last, r.last_len));
    struct sockaddr_in mapped = xor_mapped4(r.last, r.last_len);
    ck_assert(dcgw_addr_equal(SA(mapped), SA(from)));
    ck_assert(dcgw_addr_equal(SA(r.to), SA(from)));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice)); /* no USE-CANDIDATE */
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(from)));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(rfc5769_request_rejections)
{
    struct rec r;
    struct sockaddr_in from = v4("192.0.2.1", 32853);
    uint8_t m[sizeof(rfc_req)];
    /* wrong password */
    struct dcgw_ice_lite *ice = lite_with(&r, "evtj", "h6vY", "VOkJxbRl1RmTxUk/WvJxBu", 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), rfc_req, sizeof(rfc_req), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    dcgw_ice_lite_free(ice);
    /* wrong remote ufrag */
    ice = lite_with(&r, "evtj", "h6vZ", RFC_PWD, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), rfc_req, sizeof(rfc_req), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_username, 1);
    dcgw_ice_lite_free(ice);
    ice = lite_with(&r, "evtj", "h6vY", RFC_PWD, 0, 0);
    /* a byte of SOFTWARE changed: FINGERPRINT fails first */
    memcpy(m, rfc_req, sizeof(m));
    m[30] ^= 0x20;
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 1);
    /* ... and with FINGERPRINT recomputed, MESSAGE-INTEGRITY fails */
    fp_fix(m, sizeof(m));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m), 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    /* FINGERPRINT stripped (MESSAGE-INTEGRITY still valid) */
    memcpy(m, rfc_req, sizeof(m));
    wr16(m + 2, sizeof(m) - 8 - 20);
    ck_assert(mi_ok(m, sizeof(m) - 8, RFC_PWD));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), m, sizeof(m) - 8, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 2);
    ck_assert_uint_eq(r.sent, 0);
    char u[16];
    ck_assert_int_eq(dcgw_stun_peek_username(rfc_req, sizeof(rfc_req), u, sizeof(u)), 4);
    ck_assert_str_eq(u, "evtj");
    dcgw_ice_lite_free(ice);
}
END_TEST

static void rfc5769_response(const uint8_t *resp, size_t n, const struct sockaddr *want)
{
    struct net t;
    struct sockaddr_in peer = v4("198.51.100.7", 3478), me = v4("10.0.0.1", 5000);
    net_init(&t, SA(me), SA(peer), RFC_PWD);
    dcgw_ice_client_free(t.c);
    /* The client draws the RFC's transaction id; USERNAME "evtj:h6vY". */
    static const uint8_t id[16] = {0,    0,    0,    0,    0xb7, 0xe7, 0xa7, 0x01,
                                   0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
    t.fixed_id = id;
    net_client(&t, "h6vY", "evtj", RFC_PWD);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(peer), 0), 0);
    ck_assert_uint_eq(t.c_sent, 1);
    ck_assert_mem_eq(t.c_last + 8, id + 4, 12);
    ck_assert(mi_ok(t.c_last, t.c_last_len, RFC_PWD) && fp_ok(t.c_last, t.c_last_len));
    /* the response signed by someone else's key is refused, then the RFC's accepted */
    uint8_t bad[128];
    memcpy(bad, resp, n);
    mi_check(bad, n, "VOkJxbRl1RmTxUk/WvJxBu", true);
    fp_fix(bad, n);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), bad, n, 10), DCGW_EAUTH);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(me), resp, n, 10), DCGW_EPROTO);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CHECKING);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), resp, n, 10), 0);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CONNECTED);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert(dcgw_addr_equal(SA(t.mapped), want));
    /* the same response again matches no transaction */
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(peer), resp, n, 11), DCGW_ENOENT);
    const struct dcgw_ice_client_stats *st = dcgw_ice_client_stats(t.c);
    ck_assert_uint_eq(st->bad_response, 1);
    ck_assert_uint_eq(st->wrong_source, 1);
    ck_assert_uint_eq(st->unmatched, 1);
    ck_assert_uint_eq(st->responses_ok, 1);
    net_dispose(&t);
}

START_TEST(rfc5769_response_ipv4)
{
    struct sockaddr_in want = v4("192.0.2.1", 32853);
    rfc5769_response(rfc_resp4, sizeof(rfc_resp4), SA(want));
}
END_TEST

START_TEST(rfc5769_response_ipv6)
{
    struct sockaddr_in6 want = v6("2001:db8:1234:5678:11:2233:4455:6677", 32853);
    rfc5769_response(rfc_resp6, sizeof(rfc_resp6), SA(want));
}
END_TEST

/* ---- back to back ------------------------------------------------------------------ */

static void back_to_back(const struct sockaddr *caddr, const struct sockaddr *laddr)
{
    struct net t;
    net_init(&t, caddr, laddr, L_PWD);
    ck_assert_ptr_null(dcgw_ice_lite_peer(t.l));
    ck_assert_int_eq(dcgw_ice_lite_state(t.l), DCGW_ICE_LITE_WAITING);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(t.l), UINT64_MAX);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, laddr, 0), 0);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, laddr, 0), DCGW_ESTATE);
    net_run(&t, 1000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.c_sent, 1);
    ck_assert(dcgw_addr_equal(SA(t.mapped), caddr)); /* XOR-MAPPED-ADDRESS = source */
    ck_assert_uint_eq(t.lr.selected, 1);
    ck_assert(dcgw_addr_equal(SA(t.lr.sel), caddr));
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(t.l), caddr));
    ck_assert_int_eq(dcgw_ice_lite_state(t.l), DCGW_ICE_LITE_SELECTED);
    ck_assert(mi_ok(t.c_last, t.c_last_len, L_PWD) && fp_ok(t.c_last, t.c_last_len));
    ck_assert(mi_ok(t.lr.last, t.lr.last_len, L_PWD) && fp_ok(t.lr.last, t.lr.last_len));
    ck_assert(dcgw_ice_lite_addr_known(t.l, caddr));
    ck_assert(!dcgw_ice_lite_addr_known(t.l, laddr));
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->checks_ok, 1);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->nominations, 1);
    net_dispose(&t);
}

START_TEST(back_to_back_ipv4)
{
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    back_to_back(SA(c), SA(l));
}
END_TEST

START_TEST(back_to_back_ipv6)
{
    struct sockaddr_in6 c = v6("2001:db8::1", 40000), l = v6("2001:db8::2", 3478);
    back_to_back(SA(c), SA(l));
}
END_TEST

START_TEST(client_retransmits_after_loss)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), L_PWD);
    t.drop_first = 3;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    net_run(&t, 10000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.c_sent, 4 + dcgw_ice_client_stats(t.c)->consent_sent);
    /* RTO 50 ms doubling: sends at 0, 50, 150, 350 */
    ck_assert_uint_eq(t.send_times[1], 50);
    ck_assert_uint_eq(t.send_times[2], 150);
    ck_assert_uint_eq(t.send_times[3], 350);
    ck_assert_uint_eq(dcgw_ice_client_stats(t.c)->retransmits, 3);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->checks_ok,
                      1 + dcgw_ice_client_stats(t.c)->consent_sent);
    net_dispose(&t);
}
END_TEST

START_TEST(client_gives_up)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), L_PWD);
    t.block_c2l = true;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    net_run(&t, 4749);
    ck_assert_uint_eq(t.failed, 0);
    net_run(&t, 60000);
    /* 0, 50, 150, 350, 750, then every 800 (cap) up to 9 sends; gives up 800 ms later */
    ck_assert_uint_eq(t.c_sent, DCGW_ICE_CLIENT_MAX_TX_DEFAULT);
    ck_assert_uint_eq(t.send_times[4], 750);
    ck_assert_uint_eq(t.send_times[5], 1550);
    ck_assert_uint_eq(t.send_times[8], 3950);
    ck_assert_uint_eq(t.failed, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_FAILED);
    ck_assert_uint_eq(dcgw_ice_client_next_timeout(t.c), UINT64_MAX);
    net_dispose(&t);
}
END_TEST

START_TEST(client_connects_over_lossy_link)
{
    for (uint64_t seed = 1; seed <= 25; seed++) {
        struct net t;
        struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
        net_init(&t, SA(c), SA(l), L_PWD);
        lossy_init(&t.c2l, 20, 10, 30, seed);
        lossy_init(&t.l2c, 20, 10, 30, seed * 7919);
        ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
        net_run(&t, 5000);
        ck_assert_msg(t.connected == 1, "seed %llu", (unsigned long long)seed);
        ck_assert_uint_eq(t.lr.selected, 1);
        /* lighter loss: consent must survive two minutes of it */
        lossy_init(&t.c2l, 5, 10, 30, seed);
        lossy_init(&t.l2c, 5, 10, 30, seed * 7919);
        net_run(&t, 120000);
        ck_assert_msg(t.lr.lost + t.c_lost == 0, "seed %llu", (unsigned long long)seed);
        net_dispose(&t);
    }
}
END_TEST

START_TEST(wrong_password_no_answer)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), "notTheLitePassword0123");
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    net_run(&t, 60000);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_integrity, DCGW_ICE_CLIENT_MAX_TX_DEFAULT);
    ck_assert_uint_eq(t.failed, 1);
    ck_assert_ptr_null(dcgw_ice_lite_peer(t.l));
    net_dispose(&t);
}
END_TEST

START_TEST(wrong_ufrag_no_answer)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), L_PWD);
    dcgw_ice_client_free(t.c);
    net_client(&t, "uE+2", L_UFRAG, L_PWD); /* right password, wrong remote ufrag */
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    net_run(&t, 200);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_username, 3);
    dcgw_ice_client_free(t.c);
    net_client(&t, U_UFRAG, "LiTx", L_PWD); /* wrong local ufrag */
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 300), 0);
    net_run(&t, 300);
    ck_assert_uint_eq(t.lr.sent, 0);
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->bad_username, 4);
    net_dispose(&t);
}
END_TEST

/* ---- lite agent: what gets no answer ----------------------------------------------- */

START_TEST(missing_fingerprint_or_integrity)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    /* FINGERPRINT removed: MESSAGE-INTEGRITY stays valid */
    wr16(m + 2, n - 8 - 20);
    ck_assert(mi_ok(m, n - 8, L_PWD));
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n - 8, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_fingerprint, 1);
    /* MESSAGE-INTEGRITY removed, FINGERPRINT recomputed */
    n = good_check(m, sizeof(m), true);
    size_t mi = find_attr(m, n, 0x0008, NULL) - 4;
    memmove(m + mi, m + mi + 24, 8);
    n -= 24;
    wr16(m + 2, n - 20);
    fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_credentials, 1);
    /* built without a key at all, and without USERNAME */
    n = make_check(m, sizeof(m), USERNAME, NULL, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    n = make_check(m, sizeof(m), NULL, L_PWD, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_credentials, 3);
    ck_assert_uint_eq(r.sent, 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    /* and the intact check is answered and nominates */
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_ptr_nonnull(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(every_tampered_byte_unanswered)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    uint8_t m[256], t[256];
    size_t n = good_check(m, sizeof(m), true);
    size_t mi_end = find_attr(m, n, 0x0008, NULL) + 20;
    for (size_t i = 0; i < n; i++)
        for (int fix = 0; fix < 2; fix++)
            for (unsigned bit = 0; bit < 8; bit++) {
                memcpy(t, m, n);
                t[i] ^= (uint8_t)(1u << bit);
                if (fix && i < mi_end)
                    fp_fix(t, n); /* then only MESSAGE-INTEGRITY can catch it */
                ck_assert_msg(dcgw_ice_lite_recv(ice, SA(a), t, n, 0) < 0, "byte %zu bit %u", i,
                              bit);
            }
    ck_assert_uint_eq(r.sent, 0);
    ck_assert_uint_eq(r.selected, 0);
    const struct dcgw_ice_lite_stats *st = dcgw_ice_lite_stats(ice);
    ck_assert_uint_gt(st->bad_fingerprint, 0);
    ck_assert_uint_gt(st->bad_integrity, 0);
    ck_assert_uint_gt(st->bad_username, 0);
    ck_assert_uint_gt(st->malformed, 0);
    ck_assert_uint_eq(st->checks_ok, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(truncated_oversized_garbage)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    uint8_t m[2048], t[2048];
    size_t n = good_check(m, sizeof(m), true);
    for (size_t k = 0; k < n; k++) {
        memcpy(t, m, k);
        ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, k, 0) < 0);
        if (k >= 20) { /* and with the length field made consistent */
            wr16(t + 2, k - 20);
            ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, k, 0) < 0);
        }
    }
    /* attribute length running past the end */
    memcpy(t, m, n);
    wr16(t + 22, 200);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), t, n, 0), DCGW_EMALFORMED);
    /* a valid check with 1000 bytes of an optional attribute is fine; over the cap not */
    n = make_check(m, sizeof(m), USERNAME, L_PWD, false, 1, 0x8030, 1000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    n = make_check(m, sizeof(m), USERNAME, L_PWD, false, 1, 0x8030, 1300);
    ck_assert_uint_gt(n, DCGW_STUN_MSG_MAX);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EMALFORMED);
    ck_assert_uint_eq(r.sent, 1);
    /* garbage, some of it with a STUN header and cookie */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(x % 200);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t[k] = (uint8_t)x;
        }
        if (len >= 20 && i % 2) {
            t[0] &= 0x01;
            t[1] = 0x01;
            wr16(t + 2, (len - 20) & ~3u);
            len = 20 + ((len - 20) & ~3u);
            memcpy(t + 4, m + 4, 4);
        }
        ck_assert(dcgw_ice_lite_recv(ice, SA(a), t, len, 0) < 0);
    }
    ck_assert_uint_eq(r.sent, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(not_requests_and_bad_family)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), rfc_resp4, sizeof(rfc_resp4), 0), DCGW_EPROTO);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    m[1] = 0x11; /* indication */
    fp_fix(m, n);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->not_request, 2);
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(un), m, n, 0), DCGW_EUNSUPPORTED);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_addr, 1);
    ck_assert_uint_eq(r.sent, 0);
    dcgw_ice_lite_free(ice);
}
END_TEST

/* ---- lite agent: roles, nomination, address changes -------------------------------- */

START_TEST(role_conflict_and_no_role)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    uint8_t m[256];
    size_t n = make_check(m, sizeof(m), USERNAME, L_PWD, true, -1, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert_uint_eq(rd16(r.last), 0x0111);
    size_t ec = find_attr(r.last, r.last_len, 0x0009, NULL);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 487);
    ck_assert(mi_ok(r.last, r.last_len, L_PWD) && fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    /* no role attribute: answered, but USE-CANDIDATE is not taken from it */
    n = make_check(m, sizeof(m), USERNAME, L_PWD, true, 0, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 2);
    ck_assert_uint_eq(rd16(r.last), 0x0101);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->role_conflicts, 1);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_role, 1);
    /* unknown comprehension-required attribute, authenticated: 420 */
    n = make_check(m, sizeof(m), USERNAME, L_PWD, true, 1, 0x0031, 4);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EPROTO);
    ck_assert_uint_eq(r.sent, 3);
    ec = find_attr(r.last, r.last_len, 0x0009, NULL);
    ck_assert_uint_eq(r.last[ec + 2] * 100 + r.last[ec + 3], 420);
    ck_assert_uint_gt(find_attr(r.last, r.last_len, 0x000a, NULL), 0);
    ck_assert(mi_ok(r.last, r.last_len, L_PWD));
    /* ... and the same with a wrong password gets nothing */
    n = make_check(m, sizeof(m), USERNAME, "wrongWrongWrong0123456", true, 1, 0x0031, 4);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), DCGW_EAUTH);
    ck_assert_uint_eq(r.sent, 3);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(nomination_and_address_change)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000), b = v4("10.1.2.3", 40001);
    struct sockaddr_in6 c = v6("2001:db8::7", 40000);
    uint8_t m[256];
    /* a check without USE-CANDIDATE is answered but selects nothing */
    size_t n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice));
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 10), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    /* the same transaction again (a retransmission) does not select again */
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 11), 0);
    ck_assert_uint_eq(r.selected, 1);
    /* an invalid nomination from b does not move it */
    n = make_check(m, sizeof(m), USERNAME, "wrongWrongWrong0123456", true, 1, 0, 0);
    ck_assert(dcgw_ice_lite_recv(ice, SA(b), m, n, 20) < 0);
    n = good_check(m, sizeof(m), true);
    m[n - 1] ^= 1;
    ck_assert(dcgw_ice_lite_recv(ice, SA(b), m, n, 21) < 0);
    /* a valid check without USE-CANDIDATE from b neither */
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 30), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(b)));
    ck_assert_uint_eq(r.selected, 1);
    /* a valid nomination from b moves it, then one from an IPv6 address */
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 40), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(b)));
    ck_assert(dcgw_addr_equal(SA(r.sel), SA(b)));
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(c), m, n, 50), 0);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(c)));
    ck_assert_uint_eq(r.selected, 3);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->nominations, 3);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(replay_from_other_address_dropped)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_new(&r);
    struct sockaddr_in a = v4("10.1.2.3", 40000), evil = v4("203.0.113.66", 9);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(evil), m, n, 1), DCGW_EAUTH);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(a)));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->replays, 1);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert(!dcgw_ice_lite_addr_known(ice, SA(evil)));
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(address_table_bounded)
{
    struct rec r;
    struct dcgw_ice_lite *ice = lite_with(&r, L_UFRAG, U_UFRAG, L_PWD, 0, 2);
    struct sockaddr_in a = v4("10.0.0.1", 1), b = v4("10.0.0.2", 2), c = v4("10.0.0.3", 3);
    uint8_t m[256];
    size_t n;
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 1), 0);
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, 2), 0);
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 3), 0); /* a is fresher than b */
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(c), m, n, 4), 0);
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(a)));
    ck_assert(!dcgw_ice_lite_addr_known(ice, SA(b)));
    ck_assert(dcgw_ice_lite_addr_known(ice, SA(c)));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->addrs_evicted, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

/* ---- consent ----------------------------------------------------------------------- */

START_TEST(consent_lost_after_timeout)
{
    struct rec r;
    uint64_t now = 0;
    struct dcgw_ice_lite *ice = lite_with(&r, L_UFRAG, U_UFRAG, L_PWD, 30000, 0);
    r.now = &now;
    struct sockaddr_in a = v4("10.1.2.3", 40000), b = v4("10.1.2.4", 40000);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 1000), 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 31000);
    dcgw_ice_lite_handle_timeout(ice, now = 30999);
    ck_assert_uint_eq(r.lost, 0);
    /* a valid check from the selected address refreshes ... */
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 20000), 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 50000);
    /* ... one from elsewhere or an invalid one does not */
    n = good_check(m, sizeof(m), false);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(b), m, n, now = 40000), 0);
    n = make_check(m, sizeof(m), USERNAME, "wrongWrongWrong0123456", false, 1, 0, 0);
    ck_assert(dcgw_ice_lite_recv(ice, SA(a), m, n, now = 41000) < 0);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), 50000);
    dcgw_ice_lite_handle_timeout(ice, now = 49999);
    ck_assert_uint_eq(r.lost, 0);
    dcgw_ice_lite_handle_timeout(ice, now = 50000);
    ck_assert_uint_eq(r.lost, 1);
    ck_assert_uint_eq(r.lost_at, 50000);
    ck_assert_int_eq(dcgw_ice_lite_state(ice), DCGW_ICE_LITE_CONSENT_LOST);
    ck_assert_uint_eq(dcgw_ice_lite_next_timeout(ice), UINT64_MAX);
    dcgw_ice_lite_handle_timeout(ice, now = 90000);
    ck_assert_uint_eq(r.lost, 1); /* once */
    /* after the loss nothing is answered any more */
    unsigned sent = r.sent;
    n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, now), DCGW_ESTATE);
    ck_assert_uint_eq(r.sent, sent);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->consent_lost, 1);
    dcgw_ice_lite_free(ice);
}
END_TEST

START_TEST(consent_kept_alive_then_lost)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), L_PWD);
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    net_run(&t, 120000);
    ck_assert_uint_eq(t.connected, 1);
    ck_assert_uint_eq(t.lr.lost + t.c_lost, 0);
    uint64_t consent = dcgw_ice_client_stats(t.c)->consent_sent;
    ck_assert_uint_ge(consent, 120 / 6);
    ck_assert_uint_le(consent, 120 / 4 + 1);
    /* RFC 7675: 4 to 6 s between consent checks */
    for (unsigned i = 1; i < t.c_sent && i < 64; i++) {
        ck_assert_uint_ge(t.send_times[i] - t.send_times[i - 1], 4000);
        ck_assert_uint_le(t.send_times[i] - t.send_times[i - 1], 6000);
    }
    ck_assert_uint_eq(dcgw_ice_lite_stats(t.l)->consent_refreshes, consent);
    ck_assert_uint_eq(dcgw_ice_client_stats(t.c)->responses_ok, consent + 1);
    /* the UE goes away: both sides notice within the timeout */
    t.block_c2l = true;
    uint64_t cut = t.now;
    net_run(&t, cut + 40000);
    ck_assert_uint_eq(t.lr.lost, 1);
    ck_assert_uint_ge(t.lr.lost_at, cut + 30000 - 6000);
    ck_assert_uint_le(t.lr.lost_at, cut + 30000);
    ck_assert_uint_eq(t.c_lost, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CONSENT_LOST);
    net_dispose(&t);
}
END_TEST

START_TEST(client_drops_non_responses)
{
    struct net t;
    struct sockaddr_in c = v4("10.1.2.3", 40000), l = v4("10.9.9.9", 3478);
    net_init(&t, SA(c), SA(l), L_PWD);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), m, n, 0), DCGW_ESTATE); /* idle */
    t.block_c2l = true;
    ck_assert_int_eq(dcgw_ice_client_start(t.c, SA(l), 0), 0);
    /* a request, an error response (type changed, re-fingerprinted), garbage */
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), m, n, 1), DCGW_EPROTO);
    uint8_t e[256];
    memcpy(e, t.c_last, t.c_last_len);
    e[0] = 0x01, e[1] = 0x11;
    fp_fix(e, t.c_last_len);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, t.c_last_len, 1), DCGW_EPROTO);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, 7, 1), DCGW_EMALFORMED);
    /* a success response without integrity */
    e[1] = 0x01;
    size_t mi = find_attr(e, t.c_last_len, 0x0008, NULL) - 4;
    memmove(e + mi, e + mi + 24, 8);
    wr16(e + 2, t.c_last_len - 24 - 20);
    fp_fix(e, t.c_last_len - 24);
    ck_assert_int_eq(dcgw_ice_client_recv(t.c, SA(l), e, t.c_last_len - 24, 1), DCGW_EAUTH);
    const struct dcgw_ice_client_stats *st = dcgw_ice_client_stats(t.c);
    ck_assert_uint_eq(st->not_response, 2);
    ck_assert_uint_eq(st->malformed, 1);
    ck_assert_uint_eq(st->bad_response, 1);
    ck_assert_int_eq(dcgw_ice_client_state(t.c), DCGW_ICE_CLIENT_CHECKING);
    net_dispose(&t);
}
END_TEST

/* ---- settings ---------------------------------------------------------------------- */

START_TEST(settings_checked_and_copied)
{
    struct dcgw_ice_lite_settings s;
    struct dcgw_ice_cbs cbs = {NULL, rec_send, NULL, NULL}, nocb = {0};
    struct dcgw_ice_lite *ice = NULL;
    char lu[8], ru[8], lp[32];
    snprintf(lu, sizeof(lu), "%s", L_UFRAG);
    snprintf(ru, sizeof(ru), "%s", U_UFRAG);
    snprintf(lp, sizeof(lp), "%s", L_PWD);
    dcgw_ice_lite_settings_default(&s);
    ck_assert_uint_eq(s.consent_timeout_ms, 30000);
    s.local_ufrag = lu, s.remote_ufrag = ru, s.local_pwd = lp;
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &nocb, &ice), DCGW_EINVAL);
    s.max_addrs = DCGW_ICE_MAX_ADDRS_CEILING + 1;
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), DCGW_ERANGE);
    s.max_addrs = 0;
    const char *bad_ufrags[] = {"abc", "ab:cd", "ab cd", "", NULL};
    for (size_t i = 0; i < sizeof(bad_ufrags) / sizeof(bad_ufrags[0]); i++) {
        s.remote_ufrag = bad_ufrags[i];
        ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), DCGW_EINVAL);
        ck_assert_ptr_null(ice);
    }
    s.remote_ufrag = ru;
    s.local_pwd = "only21charsxxxxxxxxxx";
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), DCGW_EINVAL);
    s.local_pwd = lp;
    s.remote_pwd = "bad pwd with spaces inside";
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), DCGW_EINVAL);
    s.remote_pwd = NULL;
    struct rec r;
    memset(&r, 0, sizeof(r));
    cbs.ud = &r;
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), 0);
    memset(lu, 'x', sizeof(lu) - 1);
    memset(ru, 'x', sizeof(ru) - 1);
    memset(lp, 'x', sizeof(lp) - 1);
    uint8_t m[256];
    size_t n = good_check(m, sizeof(m), true);
    struct sockaddr_in a = v4("10.1.2.3", 40000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    dcgw_ice_lite_free(ice);
    dcgw_ice_lite_free(NULL);

    struct dcgw_ice_client_settings cs;
    struct dcgw_ice_client_cbs ccb = {NULL, rec_send, NULL, NULL, NULL, NULL};
    struct dcgw_ice_client *c = NULL;
    dcgw_ice_client_settings_default(&cs);
    cs.local_ufrag = U_UFRAG, cs.local_pwd = U_PWD, cs.remote_ufrag = L_UFRAG;
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &ccb, &c), DCGW_EINVAL); /* no remote pwd */
    cs.remote_pwd = L_PWD;
    cs.max_tx = DCGW_ICE_CLIENT_MAX_TX_CEILING + 1;
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &ccb, &c), DCGW_ERANGE);
    cs.max_tx = 0;
    cs.tie_breaker = 0; /* drawn from RAND_bytes */
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &ccb, &c), 0);
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    ck_assert_int_eq(dcgw_ice_client_start(c, SA(un), 0), DCGW_EUNSUPPORTED);
    ck_assert_str_eq(dcgw_ice_client_state_name(dcgw_ice_client_state(c)), "idle");
    ck_assert_str_eq(dcgw_ice_lite_state_name(DCGW_ICE_LITE_CONSENT_LOST), "consent-lost");
    dcgw_ice_client_free(c);
}
END_TEST

/* ---- routing helpers --------------------------------------------------------------- */

START_TEST(peek_username_cases)
{
    uint8_t m[256];
    char buf[64];
    size_t n = good_check(m, sizeof(m), true);
    ck_assert(dcgw_stun_is_binding_request(m, n));
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), 4);
    ck_assert_str_eq(buf, L_UFRAG);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, 5), 4);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, 4), DCGW_ETOOBIG);
    /* integrity is not checked: a wrong password still names the leg */
    n = make_check(m, sizeof(m), USERNAME, "wrongWrongWrong0123456", true, 1, 0, 0);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), 4);
    ck_assert(!dcgw_stun_is_binding_request(rfc_resp4, sizeof(rfc_resp4)));
    ck_assert_int_eq(dcgw_stun_peek_username(rfc_resp4, sizeof(rfc_resp4), buf, sizeof(buf)),
                     DCGW_EPROTO);
    n = make_check(m, sizeof(m), NULL, L_PWD, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), DCGW_ENOENT);
    const char *bad[] = {"nocolonhere", ":uE+1", "abc:uE+1", "a\001bc:uE+1", "ab.c:uE+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = make_check(m, sizeof(m), bad[i], L_PWD, true, 1, 0, 0);
        ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), DCGW_EMALFORMED);
    }
    n = good_check(m, sizeof(m), true);
    for (size_t k = 0; k < n; k++) {
        ck_assert(dcgw_stun_peek_username(m, k, buf, sizeof(buf)) < 0);
        ck_assert(!dcgw_stun_is_binding_request(m, k));
    }
    uint8_t dtls[32] = {22, 0xfe, 0xfd};
    ck_assert_int_eq(dcgw_stun_peek_username(dtls, sizeof(dtls), buf, sizeof(buf)),
                     DCGW_EMALFORMED);
}
END_TEST
/* ---- checks captured from real peers (tests/data/stun/capture.py) ------------------- */

static size_t read_data(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/stun/%s", DCGW_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

/* "<key> <value>" lines of <peer>.txt */
static void data_value(const char *text, const char *key, char *out, size_t cap)
{
    const char *p = strstr(text, key);
    ck_assert_ptr_nonnull(p);
    p += strlen(key) + 1;
    size_t n = strcspn(p, "\n");
    ck_assert_uint_lt(n, cap);
    memcpy(out, p, n);
    out[n] = 0;
}

static void captured_peer(const char *peer)
{
    char name[64], meta[512], lu[64], lp[64], ru[64], src[64];
    uint8_t first[512], nom[512];
    snprintf(name, sizeof(name), "%s.txt", peer);
    read_data(name, (uint8_t *)meta, sizeof(meta));
    data_value(meta, "local_ufrag", lu, sizeof(lu));
    data_value(meta, "local_pwd", lp, sizeof(lp));
    data_value(meta, "remote_ufrag", ru, sizeof(ru));
    data_value(meta, "source", src, sizeof(src));
    *strchr(src, ':') = 0;
    struct sockaddr_in from = v4(src, (uint16_t)atoi(src + strlen(src) + 1));
    snprintf(name, sizeof(name), "%s_first.bin", peer);
    size_t n1 = read_data(name, first, sizeof(first));
    snprintf(name, sizeof(name), "%s_nominating.bin", peer);
    size_t n2 = read_data(name, nom, sizeof(nom));

    char u[16];
    ck_assert_int_eq(dcgw_stun_peek_username(first, n1, u, sizeof(u)), (int)strlen(lu));
    ck_assert_str_eq(u, lu);
    struct rec r;
    struct dcgw_ice_lite *ice = lite_with(&r, lu, ru, "notThePasswordAtAll012", 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), nom, n2, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    dcgw_ice_lite_free(ice);
    ice = lite_with(&r, lu, ru, lp, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), first, n1, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert(mi_ok(r.last, r.last_len, lp) && fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice)); /* both peers nominate in a later check */
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), nom, n2, 10), 0);
    ck_assert_uint_eq(r.sent, 2);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(from)));
    struct sockaddr_in mapped = xor_mapped4(r.last, r.last_len);
    ck_assert(dcgw_addr_equal(SA(mapped), SA(from)));
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->no_role + dcgw_ice_lite_stats(ice)->unknown_attrs,
                      0);
    dcgw_ice_lite_free(ice);
}

START_TEST(captured_chromium)
{
    captured_peer("chromium");
}
END_TEST

START_TEST(captured_aiortc)
{
    captured_peer("aiortc");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ice");
    struct {
        const char *name;
        const TTest *tests[12];
    } groups[] = {
        {"rfc5769",
         {rfc5769_helpers_agree_with_vectors, rfc5769_request_role_conflict_answered_487,
          rfc5769_request_as_controlling_answered, rfc5769_request_rejections,
          rfc5769_response_ipv4, rfc5769_response_ipv6}},
        {"back_to_back",
         {back_to_back_ipv4, back_to_back_ipv6, client_retransmits_after_loss, client_gives_up,
          client_connects_over_lossy_link, wrong_password_no_answer, wrong_ufrag_no_answer,
          client_drops_non_responses}},
        {"lite_rejects",
         {missing_fingerprint_or_integrity, every_tampered_byte_unanswered,
          truncated_oversized_garbage, not_requests_and_bad_family}},
        {"lite_nomination",
         {role_conflict_and_no_role, nomination_and_address_change,
          replay_from_other_address_dropped, address_table_bounded}},
        {"consent", {consent_lost_after_timeout, consent_kept_alive_then_lost}},
        {"api", {settings_checked_and_copied, peek_username_cases}},
        {"captured", {captured_chromium, captured_aiortc}},
    };
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        TCase *tc = tcase_create(groups[g].name);
        for (size_t i = 0; i < 12 && groups[g].tests[i]; i++)
            tcase_add_test(tc, groups[g].tests[i]);
        suite_add_tcase(s, tc);
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
