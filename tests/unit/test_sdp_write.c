/* SDP writer: the answer setup table, the generators, answers written for each fixture
 * and parsed back, offers round-tripped, and bad local descriptions refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/sdp/sdp.h"
#include "helper_sdp.h"

static char errbuf[256];

/* ---- writer ---- */

START_TEST(answer_setup_table)
{
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTIVE, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_PASSIVE, DCGW_SDP_SETUP_PASSIVE),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_PASSIVE),
                     DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_ACTPASS, DCGW_SDP_SETUP_ACTPASS),
                     DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(dcgw_sdp_answer_setup(DCGW_SDP_SETUP_HOLDCONN, DCGW_SDP_SETUP_ACTIVE),
                     DCGW_SDP_SETUP_HOLDCONN);
    ck_assert_str_eq(dcgw_sdp_setup_name(DCGW_SDP_SETUP_HOLDCONN), "holdconn");
    ck_assert_str_eq(dcgw_sdp_setup_name(DCGW_SDP_SETUP_NONE), "none");
    ck_assert_str_eq(dcgw_sdp_cand_type_name(DCGW_SDP_CAND_RELAY), "relay");
}
END_TEST

static bool all_in(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

START_TEST(generators)
{
    char u1[64], p1[64], u2[64], p2[64], t1[64], t2[64];
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, sizeof(u1), p1, sizeof(p1)), 0);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u2, sizeof(u2), p2, sizeof(p2)), 0);
    ck_assert_uint_eq(strlen(u1), DCGW_SDP_GEN_UFRAG_LEN);
    ck_assert_uint_eq(strlen(p1), DCGW_SDP_GEN_PWD_LEN);
    ck_assert_uint_ge(strlen(u1), 4);
    ck_assert_uint_ge(strlen(p1), 22);
    ck_assert(all_in(u1, ALNUM "+/") && all_in(p1, ALNUM "+/"));
    ck_assert_str_ne(p1, p2);
    ck_assert_int_eq(dcgw_sdp_tls_id(t1, sizeof(t1)), 0);
    ck_assert_int_eq(dcgw_sdp_tls_id(t2, sizeof(t2)), 0);
    ck_assert_uint_eq(strlen(t1), DCGW_SDP_GEN_TLS_ID_LEN);
    ck_assert(all_in(t1, "0123456789ABCDEF")); /* also TS 29.571's tlsId pattern */
    ck_assert_str_ne(t1, t2);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, 8, p1, sizeof(p1)), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_ice_credentials(u1, sizeof(u1), p1, 24), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_tls_id(t1, DCGW_SDP_GEN_TLS_ID_LEN), DCGW_ETOOBIG);
}
END_TEST

static void set_addr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a->sin_addr) == 1) {
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &a6->sin6_addr), 1);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
    }
}

static void make_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *offer)
{
    dcgw_sdp_local_init(l);
    l->sess_id = 8425307013052718201ull;
    l->sess_version = 2;
    ck_assert_int_eq(dcgw_sdp_ice_credentials(l->ice_ufrag, sizeof(l->ice_ufrag), l->ice_pwd,
                                              sizeof(l->ice_pwd)),
                     0);
    ck_assert_int_eq(dcgw_sdp_tls_id(l->tls_id, sizeof(l->tls_id)), 0);
    set_addr(&l->addrs[0], "192.0.2.1", 40000);
    set_addr(&l->addrs[1], "2001:db8::1", 40001);
    l->n_addrs = 2;
    static const enum dcgw_hash algs[] = {DCGW_HASH_SHA256, DCGW_HASH_SHA512};
    for (size_t i = 0; i < 2; i++) {
        l->fingerprints[i].alg = algs[i];
        l->fingerprints[i].len = (uint8_t)dcgw_hash_len(algs[i]);
        for (size_t j = 0; j < l->fingerprints[i].len; j++)
            l->fingerprints[i].digest[j] = (uint8_t)(j * 7 + i);
    }
    l->n_fingerprints = 2;
    l->sctp_port = 5123;
    l->max_message_size = 262144;
    if (offer) {
        l->setup = dcgw_sdp_answer_setup(offer->dc.setup, DCGW_SDP_SETUP_PASSIVE);
        l->dcmap = offer->dc.dcmap;
        l->n_dcmap = offer->dc.n_dcmap;
        l->dcsa = offer->dc.dcsa;
        l->n_dcsa = offer->dc.n_dcsa;
    }
}

static void assert_local(const struct dcgw_sdp *a, const struct dcgw_sdp_local *l)
{
    const struct dcgw_sdp_dc *dc = &a->dc;
    ck_assert(a->ice_lite);
    ck_assert_str_eq(a->origin_sess_id, "8425307013052718201");
    ck_assert_str_eq(dc->ice_ufrag, l->ice_ufrag);
    ck_assert_str_eq(dc->ice_pwd, l->ice_pwd);
    ck_assert_str_eq(dc->tls_id, l->tls_id);
    ck_assert_uint_eq(dc->n_fingerprints, l->n_fingerprints);
    for (size_t i = 0; i < l->n_fingerprints; i++)
        ck_assert(dcgw_fingerprint_equal(&dc->fingerprints[i], &l->fingerprints[i]));
    ck_assert_uint_eq(dc->sctp_port, l->sctp_port);
    ck_assert_uint_eq(dc->max_message_size, l->max_message_size);
    ck_assert_uint_eq(dc->port, 40000);
    ck_assert_uint_eq(dc->n_candidates, 2);
    sdph_assert_addr(&dc->candidates[0].addr, "192.0.2.1", 40000);
    sdph_assert_addr(&dc->candidates[1].addr, "2001:db8::1", 40001);
    ck_assert_uint_gt(dc->candidates[0].priority, dc->candidates[1].priority);
    ck_assert_int_eq(dc->candidates[0].type, DCGW_SDP_CAND_HOST);
    ck_assert(dc->end_of_candidates);
    sdph_assert_addr(&dc->conn, "192.0.2.1", 40000);
    ck_assert_uint_eq(dc->n_dcmap, l->n_dcmap);
    for (size_t i = 0; i < l->n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *x = &dc->dcmap[i], *y = &l->dcmap[i];
        ck_assert_uint_eq(x->stream_id, y->stream_id);
        ck_assert_str_eq(x->label, y->label);
        ck_assert_str_eq(x->subprotocol, y->subprotocol);
        ck_assert(x->ordered == y->ordered && x->has_ordered == y->has_ordered);
        ck_assert(x->has_max_retr == y->has_max_retr && x->max_retr == y->max_retr);
        ck_assert(x->has_max_time == y->has_max_time && x->max_time == y->max_time);
        ck_assert(x->has_priority == y->has_priority && x->priority == y->priority);
    }
    ck_assert_uint_eq(dc->n_dcsa, l->n_dcsa);
    for (size_t i = 0; i < l->n_dcsa; i++) {
        ck_assert_uint_eq(dc->dcsa[i].stream_id, l->dcsa[i].stream_id);
        ck_assert_str_eq(dc->dcsa[i].attr, l->dcsa[i].attr);
    }
}

/* RFC 8866 §5: v= o= s= [c=] t= then a=, all before the first m= */
static void assert_session_order(const char *sdp)
{
    static const char order[] = "vosctam";
    const char *o = order;
    for (const char *p = sdp; p && *p && *o != 'm'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        while (*o && *o != *p)
            o++;
        ck_assert_msg(*o, "session line '%c' out of order:\n%s", *p, sdp);
    }
}

static const char *const fixtures[] = {
    "chromium-offer.sdp",    "chromium-offer-mdns.sdp",     "chromium-answer.sdp",
    "aiortc-offer.sdp",      "aiortc-answer.sdp",           "3gpp-offer.sdp",
    "legacy-offer.sdp",      "multi-fingerprint-offer.sdp", "ipv6-offer.sdp",
    "multi-media-offer.sdp",
};

START_TEST(answer_round_trip)
{
    char *t;
    struct dcgw_sdp *offer = sdph_parse_file(fixtures[_i], &t);
    struct dcgw_sdp *ans = malloc(sizeof(*ans));
    struct dcgw_sdp_local l;
    make_local(&l, offer);
    char *buf = malloc(DCGW_SDP_TEXT_MAX);
    int n = dcgw_sdp_write_answer(offer, &l, buf, DCGW_SDP_TEXT_MAX);
    ck_assert_msg(n > 0, "%s: %s", fixtures[_i], dcgw_err_name(n));
    ck_assert_uint_eq(strlen(buf), (size_t)n);
    assert_session_order(buf);
    ck_assert_msg(dcgw_sdp_parse(buf, (size_t)n, ans, errbuf, sizeof(errbuf)) == 0, "%s: %s\n%s",
                  fixtures[_i], errbuf, buf);
    assert_local(ans, &l);
    ck_assert_int_eq(ans->dc.setup, l.setup);
    ck_assert(ans->dc.setup == DCGW_SDP_SETUP_ACTIVE || ans->dc.setup == DCGW_SDP_SETUP_PASSIVE);
    /* same form, same mid, every m-line answered, the others rejected */
    ck_assert(ans->dc.legacy == offer->dc.legacy);
    if (offer->dc.legacy)
        ck_assert_uint_eq(ans->dc.legacy_streams, offer->dc.legacy_streams);
    ck_assert_str_eq(ans->dc.mid, offer->dc.mid);
    ck_assert_uint_eq(ans->n_media, offer->n_media);
    ck_assert_uint_eq(ans->dc.media_index, offer->dc.media_index);
    for (size_t i = 0; i < offer->n_media; i++) {
        ck_assert_str_eq(ans->media[i].media, offer->media[i].media);
        ck_assert_str_eq(ans->media[i].mid, offer->media[i].mid);
        if (i != offer->dc.media_index)
            ck_assert_uint_eq(ans->media[i].port, 0);
    }
    ck_assert_uint_eq(ans->n_bundle, offer->n_bundle ? 1 : 0);
    if (offer->n_bundle)
        ck_assert_str_eq(ans->bundle[0], offer->dc.mid);
    /* too small a buffer, at every size */
    for (int cap = 0; cap <= n; cap += (cap < 64 || cap > n - 64) ? 1 : 97)
        ck_assert_int_eq(dcgw_sdp_write_answer(offer, &l, buf, (size_t)cap), DCGW_ETOOBIG);
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &l, buf, (size_t)n + 1), n);
    free(buf);
    free(ans);
    free(offer);
    free(t);
}
END_TEST

START_TEST(offer_round_trip)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    struct dcgw_sdp_local l;
    make_local(&l, NULL);
    struct dcgw_sdp_dcmap maps[2] = {
        {.stream_id = 0, .ordered = true, .subprotocol = "http"},
        {.stream_id = 1000,
         .label = "q\"uote %\x01 caf\xc3\xa9",
         .has_ordered = true,
         .ordered = false,
         .has_max_retr = true,
         .max_retr = 0,
         .has_priority = true,
         .priority = 512},
    };
    struct dcgw_sdp_dcsa sa = {.stream_id = 1000, .attr = "3gpp-req-app:urn:x"};
    l.dcmap = maps;
    l.n_dcmap = 2;
    l.dcsa = &sa;
    l.n_dcsa = 1;
    l.setup = DCGW_SDP_SETUP_PASSIVE; /* ignored in offers */
    char buf[4096];
    int n = dcgw_sdp_write_offer(&l, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    assert_session_order(buf);
    ck_assert_ptr_nonnull(strstr(buf, "label=\"q%22uote %25%01 caf\xc3\xa9\""));
    ck_assert_msg(dcgw_sdp_parse(buf, (size_t)n, s, errbuf, sizeof(errbuf)) == 0, "%s\n%s", errbuf,
                  buf);
    assert_local(s, &l);
    ck_assert_int_eq(s->dc.setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert(!s->dc.legacy);
    ck_assert_str_eq(s->dc.mid, "0");
    ck_assert_uint_eq(s->n_bundle, 1);
    ck_assert_str_eq(s->bundle[0], "0");
    strcpy(l.mid, "data");
    l.tls_id[0] = '\0';
    n = dcgw_sdp_write_offer(&l, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(dcgw_sdp_parse(buf, (size_t)n, s, errbuf, sizeof(errbuf)), 0);
    ck_assert_str_eq(s->dc.mid, "data");
    ck_assert_str_eq(s->dc.tls_id, "");
    free(s);
}
END_TEST

START_TEST(write_rejects_bad_local)
{
    char *t;
    struct dcgw_sdp *offer = sdph_parse_file("3gpp-offer.sdp", &t);
    struct dcgw_sdp_local l;
    char buf[8192];
    make_local(&l, offer);
    ck_assert_int_gt(dcgw_sdp_write_answer(offer, &l, buf, sizeof(buf)), 0);
    struct dcgw_sdp_local b = l;
    b.n_addrs = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.addrs[1].ss_family = AF_UNIX;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.ice_ufrag, "ab");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.ice_pwd, "has\r\nnewline-and-long-enough");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.n_fingerprints = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.fingerprints[0].len = 3;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.setup = DCGW_SDP_SETUP_ACTPASS; /* RFC 5763 §5: not in an answer */
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    strcpy(b.tls_id, "short");
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    b = l;
    b.n_dcmap = 4; /* dcsa for 1000 now has no dcmap */
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    struct dcgw_sdp_dcsa evil = {.stream_id = 0, .attr = "x\r\na=fingerprint:sha-1 00"};
    b = l;
    b.dcsa = &evil;
    b.n_dcsa = 1;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    struct dcgw_sdp_dcmap both = {.stream_id = 3, .has_max_retr = true, .has_max_time = true};
    b = l;
    b.dcmap = &both;
    b.n_dcmap = 1;
    b.n_dcsa = 0;
    ck_assert_int_eq(dcgw_sdp_write_answer(offer, &b, buf, sizeof(buf)), DCGW_EINVAL);
    /* an injected mid in a hand-built offer is refused */
    struct dcgw_sdp *o2 = malloc(sizeof(*o2));
    *o2 = *offer;
    strcpy(o2->media[0].mid, "a\r\nb");
    ck_assert_int_eq(dcgw_sdp_write_answer(o2, &l, buf, sizeof(buf)), DCGW_EINVAL);
    strcpy(l.mid, "bad mid");
    ck_assert_int_eq(dcgw_sdp_write_offer(&l, buf, sizeof(buf)), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_sdp_write_offer(NULL, buf, sizeof(buf)), DCGW_EINVAL);
    free(o2);
    free(offer);
    free(t);
}
END_TEST

int main(void)
{
    const struct sdph_tcase tc = {
        "write",
        {answer_setup_table, generators, offer_round_trip, write_rejects_bad_local},
        answer_round_trip,
        (int)(sizeof(fixtures) / sizeof(fixtures[0])),
        2};
    return sdph_run(&tc);
}
