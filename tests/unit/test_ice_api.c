/* ICE API: settings checked and copied, the routing helpers (USERNAME peeking), and
 * checks captured from real peers (tests/data/stun/capture.py) answered by the lite agent. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "helper_ice.h"

/* ---- settings ---------------------------------------------------------------------- */

START_TEST(settings_checked_and_copied)
{
    struct dcgw_ice_lite_settings s;
    struct dcgw_ice_cbs cbs = {NULL, iceh_rec_send, NULL, NULL}, nocb = {0};
    struct dcgw_ice_lite *ice = NULL;
    char lu[8], ru[8], lp[32];
    snprintf(lu, sizeof(lu), "%s", ICEH_L_UFRAG);
    snprintf(ru, sizeof(ru), "%s", ICEH_U_UFRAG);
    snprintf(lp, sizeof(lp), "%s", ICEH_L_PWD);
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
    struct iceh_rec r;
    memset(&r, 0, sizeof(r));
    cbs.ud = &r;
    ck_assert_int_eq(dcgw_ice_lite_new(&s, &cbs, &ice), 0);
    memset(lu, 'x', sizeof(lu) - 1);
    memset(ru, 'x', sizeof(ru) - 1);
    memset(lp, 'x', sizeof(lp) - 1);
    uint8_t m[256];
    size_t n = iceh_good_check(m, sizeof(m), true);
    struct sockaddr_in a = iceh_v4("10.1.2.3", 40000);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(a), m, n, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    dcgw_ice_lite_free(ice);
    dcgw_ice_lite_free(NULL);

    struct dcgw_ice_client_settings cs;
    struct dcgw_ice_client_cbs ccb = {NULL, iceh_rec_send, NULL, NULL, NULL, NULL};
    struct dcgw_ice_client *c = NULL;
    dcgw_ice_client_settings_default(&cs);
    cs.local_ufrag = ICEH_U_UFRAG, cs.local_pwd = ICEH_U_PWD, cs.remote_ufrag = ICEH_L_UFRAG;
    ck_assert_int_eq(dcgw_ice_client_new(&cs, &ccb, &c), DCGW_EINVAL); /* no remote pwd */
    cs.remote_pwd = ICEH_L_PWD;
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
    size_t n = iceh_good_check(m, sizeof(m), true);
    ck_assert(dcgw_stun_is_binding_request(m, n));
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), 4);
    ck_assert_str_eq(buf, ICEH_L_UFRAG);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, 5), 4);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, 4), DCGW_ETOOBIG);
    /* integrity is not checked: a wrong password still names the leg */
    n = iceh_make_check(m, sizeof(m), ICEH_USERNAME, "wrongWrongWrong0123456", true, 1, 0, 0);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), 4);
    ck_assert(!dcgw_stun_is_binding_request(iceh_rfc_resp4, sizeof(iceh_rfc_resp4)));
    ck_assert_int_eq(
        dcgw_stun_peek_username(iceh_rfc_resp4, sizeof(iceh_rfc_resp4), buf, sizeof(buf)),
        DCGW_EPROTO);
    n = iceh_make_check(m, sizeof(m), NULL, ICEH_L_PWD, true, 1, 0, 0);
    ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), DCGW_ENOENT);
    const char *bad[] = {"nocolonhere", ":uE+1", "abc:uE+1", "a\001bc:uE+1", "ab.c:uE+1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = iceh_make_check(m, sizeof(m), bad[i], ICEH_L_PWD, true, 1, 0, 0);
        ck_assert_int_eq(dcgw_stun_peek_username(m, n, buf, sizeof(buf)), DCGW_EMALFORMED);
    }
    n = iceh_good_check(m, sizeof(m), true);
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
    struct sockaddr_in from = iceh_v4(src, (uint16_t)atoi(src + strlen(src) + 1));
    snprintf(name, sizeof(name), "%s_first.bin", peer);
    size_t n1 = read_data(name, first, sizeof(first));
    snprintf(name, sizeof(name), "%s_nominating.bin", peer);
    size_t n2 = read_data(name, nom, sizeof(nom));

    char u[16];
    ck_assert_int_eq(dcgw_stun_peek_username(first, n1, u, sizeof(u)), (int)strlen(lu));
    ck_assert_str_eq(u, lu);
    struct iceh_rec r;
    struct dcgw_ice_lite *ice = iceh_lite_with(&r, lu, ru, "notThePasswordAtAll012", 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), nom, n2, 0), DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_ice_lite_stats(ice)->bad_integrity, 1);
    dcgw_ice_lite_free(ice);
    ice = iceh_lite_with(&r, lu, ru, lp, 0, 0);
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), first, n1, 0), 0);
    ck_assert_uint_eq(r.sent, 1);
    ck_assert(iceh_mi_ok(r.last, r.last_len, lp) && iceh_fp_ok(r.last, r.last_len));
    ck_assert_ptr_null(dcgw_ice_lite_peer(ice)); /* both peers nominate in a later check */
    ck_assert_int_eq(dcgw_ice_lite_recv(ice, SA(from), nom, n2, 10), 0);
    ck_assert_uint_eq(r.sent, 2);
    ck_assert(dcgw_addr_equal(dcgw_ice_lite_peer(ice), SA(from)));
    struct sockaddr_in mapped = iceh_xor_mapped4(r.last, r.last_len);
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
    const struct iceh_group groups[] = {
        {"api", {settings_checked_and_copied, peek_username_cases}},
        {"captured", {captured_chromium, captured_aiortc}},
    };
    return iceh_run(groups, sizeof(groups) / sizeof(groups[0]));
}
