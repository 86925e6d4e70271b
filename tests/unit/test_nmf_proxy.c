/* Nmf_MRM DcMedia's bootstrap proxy members (mediaProxyConfig, replaceHttpUrl,
 * remoteMdc1Endpoint, localMdc1Endpoint) <-> the proxy's control fields: the mapping both
 * ways, what the master then accepts (dcgw_session_validate), the refusals with the member
 * named, and a PATCH as UpdateSession{leg, dc}. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"
#include "dcgw/msg/session.h"
#include "helper_suite.h"
#include "helper_nmf.h"

#define DC "/terminations/0/medias/0/dcMedia"

/* A UE termination dcgw answers, with the proxy on streams 0 and 100 and both MDC1
 * endpoints; an AS termination dcgw offers to, without a proxy. */
static const char *const ctx_text =
    "{\"contextId\":\"ctx-p\",\"terminations\":["
    "{\"terminationId\":\"ue\",\"medias\":[{\"mediaId\":\"m0\",\"mediaResourceType\":\"DC\","
    "\"remoteMbEndpoint\":{\"ip\":{\"ipv4Addr\":\"192.0.2.7\"},\"transport\":\"UDP\","
    "\"portNumber\":40000},"
    "\"vendorSpecific-032473\":{\"remoteIce\":{\"ufrag\":\"abcd\",\"pwd\":"
    "\"0123456789abcdefghijkl\"}},"
    "\"dcMedia\":{\"streams\":{\"0\":{\"subprotocol\":\"http\"},\"100\":{\"subprotocol\":"
    "\"http\"},\"1000\":{}},"
    "\"mediaProxyConfig\":\"HTTP\","
    "\"replaceHttpUrl\":{\"100\":{\"replaceHttpUrl\":\"https://dcsf-b.example/boot/\","
    "\"streamId\":100},\"0\":{\"replaceHttpUrl\":\"http://dcsf.example:8080/boot/ue1/\"}},"
    "\"remoteMdc1Endpoint\":{\"ip\":{\"ipv4Addr\":\"192.0.2.80\"},\"transport\":\"TCP\","
    "\"portNumber\":8080},"
    "\"localMdc1Endpoint\":{\"ip\":{\"ipv6Addr\":\"2001:db8::7\"},\"transport\":\"TCP\","
    "\"portNumber\":0},"
    "\"remoteDcEndpoint\":{\"sctpPort\":5000,\"fingerprint\":\"" NMFH_FP "\"}}}]},"
    "{\"terminationId\":\"as\",\"medias\":[{\"mediaId\":\"m1\",\"mediaResourceType\":\"DC\","
    "\"dcMedia\":{\"streams\":{\"1000\":{}}}}]}]}";

static json_t *patched(const char *patch)
{
    json_t *j = nmfh_load(ctx_text), *pj = nmfh_load(patch);
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_patch(pj, &p), 0);
    ck_assert_msg(dcgw_nmf_patch_apply(&j, pj, &p) == 0, "%s", p.detail);
    json_decref(pj);
    return j;
}

START_TEST(proxy_to_session)
{
    json_t *j = nmfh_load(ctx_text);
    struct dcgw_nmf_problem p = {0};
    ck_assert_msg(dcgw_nmf_validate_context(j, &nmfh_settings, &p) == 0, "%s", p.detail);
    Dcgw__Session *s = NULL;
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    const Dcgw__DcMedia *dc = s->legs[0]->dc;
    ck_assert(dc->has_media_proxy_config);
    ck_assert_int_eq(dc->media_proxy_config, DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP);
    ck_assert_uint_eq(dc->n_replace_http_url, 2);
    /* by stream id, whatever the map's order */
    ck_assert_uint_eq(dc->replace_http_url[0]->stream_id, 0);
    ck_assert_str_eq(dc->replace_http_url[0]->url, "http://dcsf.example:8080/boot/ue1/");
    ck_assert_uint_eq(dc->replace_http_url[1]->stream_id, 100);
    ck_assert_str_eq(dc->replace_http_url[1]->url, "https://dcsf-b.example/boot/");
    ck_assert_ptr_null(dc->replace_http_url[0]->remote_mdc1_endpoint);
    ck_assert_str_eq(dc->remote_mdc1_endpoint->address, "192.0.2.80:8080");
    ck_assert_str_eq(dc->local_mdc1_endpoint->address, "2001:db8::7");
    /* the AS's leg has no proxy */
    const Dcgw__DcMedia *as = s->legs[1]->dc;
    ck_assert(!as->has_media_proxy_config && as->n_replace_http_url == 0);
    ck_assert_ptr_null(as->remote_mdc1_endpoint);
    ck_assert_ptr_null(as->local_mdc1_endpoint);
    /* what the adapter maps, the master accepts */
    char err[256] = "";
    ck_assert_msg(dcgw_session_validate(s, err, sizeof(err)) == 0, "%s", err);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    json_decref(j);

    /* an IPv6 DCSF, a local address with a port */
    j = patched("[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/ip\",\"value\":"
                "{\"ipv6Addr\":\"2001:db8::80\"}},{\"op\":\"replace\",\"path\":\"" DC
                "/localMdc1Endpoint\",\"value\":{\"ip\":{\"ipv4Addr\":\"192.0.2.9\"},"
                "\"transport\":\"TCP\",\"portNumber\":4000}}]");
    memset(&p, 0, sizeof(p));
    ck_assert_msg(dcgw_nmf_validate_context(j, &nmfh_settings, &p) == 0, "%s", p.detail);
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    ck_assert_str_eq(s->legs[0]->dc->remote_mdc1_endpoint->address, "[2001:db8::80]:8080");
    ck_assert_str_eq(s->legs[0]->dc->local_mdc1_endpoint->address, "192.0.2.9:4000");
    ck_assert_msg(dcgw_session_validate(s, err, sizeof(err)) == 0, "%s", err);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    json_decref(j);
}
END_TEST

/* The worker's answer lists the channels a leg negotiated; the representation keeps those. */
static void negotiated(Dcgw__DcMedia *dc, uint32_t id)
{
    Dcgw__DcStream *st = calloc(1, sizeof(*st));
    dcgw__dc_stream__init(st);
    st->has_stream_id = st->has_negotiated = 1;
    st->stream_id = id;
    st->negotiated = 1;
    dc->streams = realloc(dc->streams, (dc->n_streams + 1) * sizeof(*dc->streams));
    dc->streams[dc->n_streams++] = st;
}

/* What a worker returns (the session as created) comes back as the same members. */
START_TEST(proxy_from_session)
{
    json_t *j = nmfh_load(ctx_text);
    struct dcgw_nmf_problem p = {0};
    Dcgw__Session *s = NULL;
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    negotiated(s->legs[0]->dc, 0);
    /* as if the AS had sent nothing of it: the representation says what dcgw holds */
    json_t *bare = patched("[{\"op\":\"remove\",\"path\":\"" DC "/mediaProxyConfig\"},"
                           "{\"op\":\"remove\",\"path\":\"" DC "/replaceHttpUrl\"},"
                           "{\"op\":\"remove\",\"path\":\"" DC "/remoteMdc1Endpoint\"},"
                           "{\"op\":\"remove\",\"path\":\"" DC "/localMdc1Endpoint\"}]");
    json_t *rep = dcgw_nmf_from_session(bare, s, &nmfh_settings);
    json_t *dc = dcgw_json_pointer_get(rep, DC);
    ck_assert_str_eq(json_string_value(json_object_get(dc, "mediaProxyConfig")), "HTTP");
    ck_assert_str_eq(
        json_string_value(dcgw_json_pointer_get(dc, "/replaceHttpUrl/0/replaceHttpUrl")),
        "http://dcsf.example:8080/boot/ue1/");
    ck_assert_int_eq(json_integer_value(dcgw_json_pointer_get(dc, "/replaceHttpUrl/100/streamId")),
                     100);
    ck_assert_uint_eq(json_object_size(json_object_get(dc, "replaceHttpUrl")), 2);
    ck_assert_str_eq(
        json_string_value(dcgw_json_pointer_get(dc, "/remoteMdc1Endpoint/ip/ipv4Addr")),
        "192.0.2.80");
    ck_assert_str_eq(json_string_value(dcgw_json_pointer_get(dc, "/remoteMdc1Endpoint/transport")),
                     "TCP");
    ck_assert_int_eq(
        json_integer_value(dcgw_json_pointer_get(dc, "/remoteMdc1Endpoint/portNumber")), 8080);
    ck_assert_str_eq(json_string_value(dcgw_json_pointer_get(dc, "/localMdc1Endpoint/ip/ipv6Addr")),
                     "2001:db8::7");
    ck_assert_int_eq(json_integer_value(dcgw_json_pointer_get(dc, "/localMdc1Endpoint/portNumber")),
                     0);
    /* the other termination has none of it */
    json_t *dc1 = dcgw_json_pointer_get(rep, "/terminations/1/medias/0/dcMedia");
    ck_assert_ptr_null(json_object_get(dc1, "mediaProxyConfig"));
    ck_assert_ptr_null(json_object_get(dc1, "remoteMdc1Endpoint"));
    memset(&p, 0, sizeof(p));
    ck_assert_msg(dcgw_nmf_validate_context(rep, &nmfh_settings, &p) == 0, "%s", p.detail);
    json_decref(rep);

    /* the proxy turned off on the control socket: the members leave the representation */
    Dcgw__DcMedia *d = s->legs[0]->dc;
    d->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE;
    free(d->remote_mdc1_endpoint->address);
    d->remote_mdc1_endpoint->address = NULL; /* an endpoint cleared by an update */
    rep = dcgw_nmf_from_session(j, s, &nmfh_settings);
    dc = dcgw_json_pointer_get(rep, DC);
    ck_assert_ptr_null(json_object_get(dc, "mediaProxyConfig"));
    ck_assert_ptr_null(json_object_get(dc, "replaceHttpUrl"));
    ck_assert_ptr_null(json_object_get(dc, "remoteMdc1Endpoint"));
    ck_assert_ptr_nonnull(json_object_get(dc, "localMdc1Endpoint"));
    json_decref(rep);
    json_decref(bare);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    json_decref(j);
}
END_TEST

/* Each case: a patch that breaks the fixture's proxy and the member that must be named. */
static const struct {
    const char *patch, *param;
} bad_cases[] = {
    {"[{\"op\":\"replace\",\"path\":\"" DC "/mediaProxyConfig\",\"value\":\"UDP\"}]",
     DC "/mediaProxyConfig"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/mediaProxyConfig\",\"value\":\"SOCKS\"}]",
     DC "/mediaProxyConfig"},
    {"[{\"op\":\"remove\",\"path\":\"" DC "/replaceHttpUrl\"}]", DC "/replaceHttpUrl"},
    {"[{\"op\":\"remove\",\"path\":\"" DC "/mediaProxyConfig\"}]", DC "/mediaProxyConfig"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl\",\"value\":{}}]",
     DC "/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl\",\"value\":[]}]",
     DC "/replaceHttpUrl"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/replaceHttpUrl/1000\",\"value\":{\"replaceHttpUrl\":"
     "\"http://d/\"}}]",
     DC "/replaceHttpUrl/1000"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/replaceHttpUrl/010\",\"value\":{\"replaceHttpUrl\":"
     "\"http://d/\"}}]",
     DC "/replaceHttpUrl/010"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/replaceHttpUrl/10\",\"value\":{\"replaceHttpUrl\":"
     "\"http://d/\",\"streamId\":110}}]",
     DC "/replaceHttpUrl/10/streamId"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/replaceHttpUrl/10\",\"value\":{\"streamId\":10}}]",
     DC "/replaceHttpUrl/10/replaceHttpUrl"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/replaceHttpUrl/10\",\"value\":\"http://d/\"}]",
     DC "/replaceHttpUrl/10"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":"
     "\"ftp://dcsf.example/boot/\"}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":"
     "\"http://user:pw@dcsf.example/\"}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":"
     "\"http://dcsf.example/boot#frag\"}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":"
     "\"/boot/ue1/\"}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":\"\"}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/replaceHttpUrl\",\"value\":7}]",
     DC "/replaceHttpUrl/0/replaceHttpUrl"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/transport\",\"value\":\"UDP\"}]",
     DC "/remoteMdc1Endpoint/transport"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/portNumber\",\"value\":0}]",
     DC "/remoteMdc1Endpoint/portNumber"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/portNumber\",\"value\":65536}]",
     DC "/remoteMdc1Endpoint/portNumber"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/ip\",\"value\":"
     "{\"ipv4Addr\":\"dcsf.example\"}}]",
     DC "/remoteMdc1Endpoint/ip/ipv4Addr"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/ip\",\"value\":"
     "{\"ipv6Prefix\":\"2001:db8::/64\"}}]",
     DC "/remoteMdc1Endpoint/ip/ipv6Prefix"},
    {"[{\"op\":\"remove\",\"path\":\"" DC "/remoteMdc1Endpoint/portNumber\"}]",
     DC "/remoteMdc1Endpoint/portNumber"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/localMdc1Endpoint/transport\",\"value\":\"UDP\"}]",
     DC "/localMdc1Endpoint/transport"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/localMdc1Endpoint/portNumber\",\"value\":-1}]",
     DC "/localMdc1Endpoint/portNumber"},
    {"[{\"op\":\"replace\",\"path\":\"" DC "/localMdc1Endpoint\",\"value\":\"192.0.2.1\"}]",
     DC "/localMdc1Endpoint"},
    {"[{\"op\":\"add\",\"path\":\"" DC "/remoteMdc2Endpoint\",\"value\":{\"ip\":{\"ipv4Addr\":"
     "\"192.0.2.1\"},\"transport\":\"UDP\",\"portNumber\":9}}]",
     DC "/remoteMdc2Endpoint"},
};

START_TEST(proxy_refused)
{
    json_t *j = patched(bad_cases[_i].patch);
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), DCGW_EINVAL);
    ck_assert_int_eq(p.status, 400);
    ck_assert_msg(nmfh_has_param(&p, bad_cases[_i].param), "case %d: %s not named (first: %s: %s)",
                  _i, bad_cases[_i].param, p.params[0].param, p.params[0].reason);
    json_t *pd = dcgw_nmf_problem_json(&p);
    ck_assert_str_eq(json_string_value(json_object_get(pd, "title")), "Bad Request");
    ck_assert(json_array_size(json_object_get(pd, "invalidParams")) >= 1);
    json_decref(pd);
    json_decref(j);
}
END_TEST

static int diff_of(const char *patch, struct dcgw_nmf_ops *ops, struct dcgw_nmf_problem *p)
{
    json_t *old = nmfh_load(ctx_text), *new_ = patched(patch);
    ck_assert_msg(dcgw_nmf_validate_context(new_, &nmfh_settings, p) == 0, "%s", p->detail);
    int r = dcgw_nmf_diff(old, new_, &nmfh_settings, ops, p);
    json_decref(old);
    json_decref(new_);
    return r;
}

/* Every PROXY op is an UpdateSession.dc the master accepts. */
static void assert_update_ok(const struct dcgw_nmf_op *op)
{
    char err[256] = "";
    ck_assert_int_eq(op->kind, DCGW_NMF_OP_PROXY);
    ck_assert_ptr_nonnull(op->dc);
    ck_assert_msg(dcgw_session_validate_proxy(op->dc, op->leg, true, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert(!op->dc->has_mode && !op->dc->remote_sdp && op->dc->n_streams == 0);
}

START_TEST(proxy_patch)
{
    struct dcgw_nmf_ops ops = {0};
    struct dcgw_nmf_problem p = {0};
    /* a new replacement URL for stream 0: the whole list, the proxy on */
    ck_assert_int_eq(diff_of("[{\"op\":\"replace\",\"path\":\"" DC "/replaceHttpUrl/0/"
                             "replaceHttpUrl\",\"value\":\"http://dcsf.example:8080/v2/\"}]",
                             &ops, &p),
                     0);
    ck_assert_uint_eq(ops.n, 1);
    assert_update_ok(&ops.op[0]);
    ck_assert_str_eq(ops.op[0].leg, "ue");
    Dcgw__DcMedia *d = ops.op[0].dc;
    ck_assert(d->has_media_proxy_config);
    ck_assert_int_eq(d->media_proxy_config, DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP);
    ck_assert_uint_eq(d->n_replace_http_url, 2);
    ck_assert_str_eq(d->replace_http_url[0]->url, "http://dcsf.example:8080/v2/");
    ck_assert_ptr_null(d->remote_mdc1_endpoint); /* unchanged: not sent */
    ck_assert_ptr_null(d->local_mdc1_endpoint);
    dcgw_nmf_ops_dispose(&ops);

    /* the proxy off: NONE, no bindings */
    ck_assert_int_eq(diff_of("[{\"op\":\"remove\",\"path\":\"" DC "/mediaProxyConfig\"},"
                             "{\"op\":\"remove\",\"path\":\"" DC "/replaceHttpUrl\"}]",
                             &ops, &p),
                     0);
    ck_assert_uint_eq(ops.n, 1);
    assert_update_ok(&ops.op[0]);
    ck_assert(ops.op[0].dc->has_media_proxy_config);
    ck_assert_int_eq(ops.op[0].dc->media_proxy_config, DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE);
    ck_assert_uint_eq(ops.op[0].dc->n_replace_http_url, 0);
    dcgw_nmf_ops_dispose(&ops);

    /* another DCSF port; the local endpoint removed: an empty one clears it */
    ck_assert_int_eq(diff_of("[{\"op\":\"replace\",\"path\":\"" DC "/remoteMdc1Endpoint/"
                             "portNumber\",\"value\":8443},"
                             "{\"op\":\"remove\",\"path\":\"" DC "/localMdc1Endpoint\"}]",
                             &ops, &p),
                     0);
    ck_assert_uint_eq(ops.n, 1);
    assert_update_ok(&ops.op[0]);
    d = ops.op[0].dc;
    ck_assert(!d->has_media_proxy_config && d->n_replace_http_url == 0);
    ck_assert_str_eq(d->remote_mdc1_endpoint->address, "192.0.2.80:8443");
    ck_assert_ptr_nonnull(d->local_mdc1_endpoint);
    ck_assert_ptr_null(d->local_mdc1_endpoint->address);
    dcgw_nmf_ops_dispose(&ops);

    /* the spec's streamId written into an entry changes nothing dcgw uses */
    ck_assert_int_eq(diff_of("[{\"op\":\"add\",\"path\":\"" DC
                             "/replaceHttpUrl/0/streamId\",\"value\":0}]",
                             &ops, &p),
                     0);
    ck_assert_uint_eq(ops.n, 0);

    /* the AS's answer with a proxy for its leg: the proxy first, then the answer */
    ck_assert_int_eq(
        diff_of("[{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/dcMedia/remoteDcEndpoint\","
                "\"value\":{\"fingerprint\":\"" NMFH_FP "\"}},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/remoteMbEndpoint\",\"value\":"
                "{\"ip\":{\"ipv4Addr\":\"192.0.2.8\"},\"transport\":\"UDP\",\"portNumber\":9}},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/vendorSpecific-032473\","
                "\"value\":{\"remoteIce\":{\"ufrag\":\"wxyz\",\"pwd\":"
                "\"zyxwvutsrqponmlkjihgfe\"}}},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/dcMedia/mediaProxyConfig\","
                "\"value\":\"HTTP\"},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/dcMedia/replaceHttpUrl\","
                "\"value\":{\"10\":{\"replaceHttpUrl\":\"http://192.0.2.80/as/\"}}}]",
                &ops, &p),
        0);
    ck_assert_uint_eq(ops.n, 2);
    assert_update_ok(&ops.op[0]);
    ck_assert_str_eq(ops.op[0].leg, "as");
    ck_assert_uint_eq(ops.op[0].dc->replace_http_url[0]->stream_id, 10);
    ck_assert_int_eq(ops.op[1].kind, DCGW_NMF_OP_ANSWER);
    ck_assert_str_eq(ops.op[1].leg, "as");
    dcgw_nmf_ops_dispose(&ops);
    ck_assert_ptr_null(ops.op[0].dc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nmf_proxy");
    TCase *tc = tcase_create("nmf_proxy");
    tcase_add_test(tc, proxy_to_session);
    tcase_add_test(tc, proxy_from_session);
    tcase_add_loop_test(tc, proxy_refused, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, proxy_patch);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
