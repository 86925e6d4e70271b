/* Nmf_MRM adapter, pure parts: schema validation (positive and negative), ProblemDetails,
 * JSON Patch (RFC 6902), the mapping of a MediaContext to a Session and back, and the
 * control operations a patch turns into. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"
#include "dcgw/sdp/sdp.h"
#include "helper_suite.h"
#include "helper_nmf.h"

/* A UE termination dcgw answers (remote side known) and an AS termination it offers to. */
static const char *const ctx_text =
    "{\"contextId\":\"ctx-1\",\"terminations\":["
    "{\"terminationId\":\"ue\",\"medias\":[{\"mediaId\":\"m0\",\"mediaResourceType\":\"DC\","
    "\"remoteMbEndpoint\":{\"ip\":{\"ipv4Addr\":\"192.0.2.7\"},\"transport\":\"UDP\","
    "\"portNumber\":40000},"
    "\"vendorSpecific-032473\":{\"remoteIce\":{\"ufrag\":\"abcd\",\"pwd\":"
    "\"0123456789abcdefghijkl\"}},"
    "\"dcMedia\":{\"streams\":{\"0\":{\"streamId\":0,\"subprotocol\":\"http\"},"
    "\"1000\":{\"subprotocol\":\"x-app\",\"order\":false,\"maxRetry\":2,\"priority\":512,"
    "\"vendorSpecific-032473\":{\"label\":\"chat \\\"1\\\"\"}}},"
    "\"maxMessageSize\":65536,\"securitySetup\":\"ACTPASS\","
    "\"remoteDcEndpoint\":{\"sctpPort\":5000,\"fingerprint\":\"" NMFH_FP "\","
    "\"tlsId\":\"abcdefghijklmnopqrstuvwxyz\"}}}]},"
    "{\"terminationId\":\"as\",\"medias\":[{\"mediaId\":\"m1\",\"mediaResourceType\":\"DC\","
    "\"dcMedia\":{\"streams\":{\"1000\":{\"subprotocol\":\"x-app\"}}}}]}]}";

START_TEST(validate_accepts_the_fixture)
{
    json_t *j = nmfh_load(ctx_text);
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), 0);
    ck_assert_uint_eq(p.n_params, 0);
    json_decref(j);
}
END_TEST

/* Each case: a JSON Patch that breaks the fixture, the pointer that must be named, and
 * the cause. */
static const struct {
    const char *patch, *param, *cause;
} bad_cases[] = {
    {"[{\"op\":\"remove\",\"path\":\"/terminations\"}]", "/terminations",
     DCGW_NMF_MANDATORY_IE_MISSING},
    {"[{\"op\":\"remove\",\"path\":\"/terminations/0/medias/0/mediaId\"}]",
     "/terminations/0/medias/0/mediaId", DCGW_NMF_MANDATORY_IE_MISSING},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/mediaResourceType\",\"value\":"
     "\"AUDIO\"}]",
     "/terminations/0/medias/0/mediaResourceType", DCGW_NMF_MANDATORY_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/securitySetup\","
     "\"value\":\"SOMETIMES\"}]",
     "/terminations/0/medias/0/dcMedia/securitySetup", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/remoteDcEndpoint/"
     "fingerprint\",\"value\":\"SHA-256 AB:CD\"}]",
     "/terminations/0/medias/0/dcMedia/remoteDcEndpoint/fingerprint",
     DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/remoteDcEndpoint/"
     "fingerprint\",\"value\":\"MD5 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89\"}]",
     "/terminations/0/medias/0/dcMedia/remoteDcEndpoint/fingerprint",
     DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/remoteDcEndpoint/"
     "tlsId\",\"value\":\"short\"}]",
     "/terminations/0/medias/0/dcMedia/remoteDcEndpoint/tlsId", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"add\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/01\",\"value\":{}}]",
     "/terminations/0/medias/0/dcMedia/streams/01", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"add\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/7\",\"value\":"
     "{\"streamId\":8}}]",
     "/terminations/0/medias/0/dcMedia/streams/7/streamId", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/0/streamId\","
     "\"value\":70000}]",
     "/terminations/0/medias/0/dcMedia/streams/0/streamId", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/maxMessageSize\","
     "\"value\":64}]",
     "/terminations/0/medias/0/dcMedia/maxMessageSize", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/remoteMbEndpoint/ip\","
     "\"value\":{\"ipv4Addr\":\"192.0.2.300\"}}]",
     "/terminations/0/medias/0/remoteMbEndpoint/ip/ipv4Addr", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/remoteMbEndpoint/ip\","
     "\"value\":{}}]",
     "/terminations/0/medias/0/remoteMbEndpoint/ip", DCGW_NMF_MANDATORY_IE_MISSING},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/remoteMbEndpoint/transport\","
     "\"value\":\"TCP\"}]",
     "/terminations/0/medias/0/remoteMbEndpoint/transport", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"add\",\"path\":\"/terminations/0/medias/0/dcMedia/mediaProxyConfig\","
     "\"value\":\"UDP\"}]",
     "/terminations/0/medias/0/dcMedia/mediaProxyConfig", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/1/terminationId\",\"value\":\"ue\"}]",
     "/terminations/1/terminationId", DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"add\",\"path\":\"/terminations/-\",\"value\":{\"medias\":[]}}]", "/terminations",
     DCGW_NMF_MANDATORY_IE_INCORRECT},
    {"[{\"op\":\"remove\",\"path\":\"/terminations/1/medias/0/dcMedia\"}]",
     "/terminations/1/medias/0/dcMedia", DCGW_NMF_MANDATORY_IE_MISSING},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/vendorSpecific-032473/"
     "remoteIce/pwd\",\"value\":\"short\"}]",
     "/terminations/0/medias/0/vendorSpecific-032473/remoteIce/pwd",
     DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/contextId\",\"value\":\"has space\"}]", "/contextId",
     DCGW_NMF_OPTIONAL_IE_INCORRECT},
    {"[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/1000/order\","
     "\"value\":\"yes\"}]",
     "/terminations/0/medias/0/dcMedia/streams/1000/order", DCGW_NMF_OPTIONAL_IE_INCORRECT},
};

START_TEST(validate_refuses)
{
    json_t *j = nmfh_load(ctx_text), *patch = nmfh_load(bad_cases[_i].patch);
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_patch(patch, &p), 0);
    ck_assert_int_eq(dcgw_nmf_patch_apply(&j, patch, &p), 0);
    ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), DCGW_EINVAL);
    ck_assert_int_eq(p.status, 400);
    ck_assert_msg(nmfh_has_param(&p, bad_cases[_i].param), "case %d: %s not named (first: %s: %s)",
                  _i, bad_cases[_i].param, p.params[0].param, p.params[0].reason);
    ck_assert_str_eq(p.cause, bad_cases[_i].cause);
    json_t *pd = dcgw_nmf_problem_json(&p);
    ck_assert_int_eq(json_integer_value(json_object_get(pd, "status")), 400);
    ck_assert(json_array_size(json_object_get(pd, "invalidParams")) >= 1);
    json_decref(pd);
    json_decref(patch);
    json_decref(j);
}
END_TEST

START_TEST(validate_every_bad_field_named)
{
    json_t *j = nmfh_load("{\"terminations\":[{\"medias\":[{\"mediaResourceType\":\"VIDEO\"}]}],"
                          "\"contextId\":5}");
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), DCGW_EINVAL);
    ck_assert(nmfh_has_param(&p, "/contextId"));
    ck_assert(nmfh_has_param(&p, "/terminations/0/medias/0/mediaId"));
    ck_assert(nmfh_has_param(&p, "/terminations/0/medias/0/mediaResourceType"));
    ck_assert_str_eq(p.cause, DCGW_NMF_MANDATORY_IE_MISSING);
    json_decref(j);
    const char *not_objects[] = {"[]", "7", "\"x\"", "{}", "{\"terminations\":[]}"};
    for (size_t i = 0; i < 5; i++) {
        struct dcgw_nmf_problem q = {0};
        j = nmfh_load(not_objects[i]);
        ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &q), DCGW_EINVAL);
        ck_assert_uint_ge(q.n_params, 1);
        json_decref(j);
    }
}
END_TEST

/* AUDIO and VIDEO MediaInfo cannot be mapped onto the media stage (docs/nmf-mrm.md, "Audio
 * and video"): refused naming mediaResourceType, with the reason; likewise a termination
 * that adds them beside its DC media. */
START_TEST(audio_video_refused)
{
    static const struct {
        const char *type, *why;
    } cases[] = {{"AUDIO", "no codecs, payload types, SSRCs"},
                 {"VIDEO", "no codecs, payload types, SSRCs"},
                 {"AR", "media processing"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = nmfh_load(ctx_text);
        json_object_set_new(dcgw_json_pointer_get(j, "/terminations/1/medias/0"),
                            "mediaResourceType", json_string(cases[i].type));
        struct dcgw_nmf_problem p = {0};
        ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), DCGW_EINVAL);
        ck_assert_str_eq(p.cause, DCGW_NMF_MANDATORY_IE_INCORRECT);
        ck_assert_str_eq(p.params[0].param, "/terminations/1/medias/0/mediaResourceType");
        ck_assert_msg(strstr(p.params[0].reason, cases[i].why), "%s", p.params[0].reason);
        json_decref(j);
    }
    /* an audio media beside the DC media of a termination */
    json_t *j = nmfh_load(ctx_text);
    json_array_append_new(json_object_get(dcgw_json_pointer_get(j, "/terminations/0"), "medias"),
                          json_pack("{s:s,s:s}", "mediaId", "a0", "mediaResourceType", "AUDIO"));
    struct dcgw_nmf_problem p = {0};
    ck_assert_int_eq(dcgw_nmf_validate_context(j, &nmfh_settings, &p), DCGW_EINVAL);
    ck_assert(nmfh_has_param(&p, "/terminations/0/medias"));
    ck_assert(nmfh_has_param(&p, "/terminations/0/medias/1/mediaResourceType"));
    json_decref(j);
}
END_TEST

START_TEST(patch_items_validated)
{
    const char *bad[] = {"[]",
                         "{}",
                         "[{\"path\":\"/a\"}]",
                         "[{\"op\":\"mangle\",\"path\":\"/a\"}]",
                         "[{\"op\":\"add\",\"path\":\"/a\"}]",
                         "[{\"op\":\"move\",\"path\":\"/a\"}]",
                         "[{\"op\":\"remove\",\"path\":\"a\"}]",
                         "[5]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct dcgw_nmf_problem p = {0};
        json_t *j = nmfh_load(bad[i]);
        ck_assert_msg(dcgw_nmf_validate_patch(j, &p) == DCGW_EINVAL, "%s", bad[i]);
        ck_assert_int_eq(p.status, 400);
        json_decref(j);
    }
}
END_TEST

/* RFC 6902 Appendix A, a selection, and the atomicity of a failing patch. */
START_TEST(patch_rfc6902)
{
    static const struct {
        const char *doc, *patch, *want; /* want NULL: the patch fails */
    } cases[] = {
        {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
         "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
        {"{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
         "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
        {"{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
         "{\"foo\":\"bar\"}"},
        {"{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
         "{\"foo\":[\"bar\",\"baz\"]}"},
        {"{\"baz\":\"qux\",\"foo\":\"bar\"}",
         "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
         "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
        {"{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
         "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
         "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
        {"{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
         "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
         "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
        {"{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
         "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":"
         "\"/foo/1\",\"value\":2}]",
         "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
        {"{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL},
        {"{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL},
        {"{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
         "{\"/\":9,\"~1\":10}"},
        {"{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\"]}]",
         "{\"foo\":[\"bar\",[\"abc\"]]}"},
        {"{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"a\":1,\"b\":1}"},
        {"{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]", NULL},
        {"{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", NULL},
        {"{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"remove\",\"path\":\"/a\"}]",
         NULL},
        {"{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a~2\",\"value\":1}]", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = nmfh_load(cases[i].doc), *patch = nmfh_load(cases[i].patch);
        json_t *orig = json_deep_copy(doc);
        struct dcgw_nmf_problem p = {0};
        ck_assert_int_eq(dcgw_nmf_validate_patch(patch, &p), 0);
        int r = dcgw_nmf_patch_apply(&doc, patch, &p);
        if (cases[i].want) {
            json_t *want = nmfh_load(cases[i].want);
            ck_assert_msg(r == 0 && json_equal(doc, want), "case %zu", i);
            json_decref(want);
        } else {
            ck_assert_msg(r == DCGW_EINVAL && p.n_params == 1, "case %zu", i);
            ck_assert_msg(json_equal(doc, orig), "case %zu: a failed patch changed the doc", i);
            ck_assert(strstr(p.params[0].reason, "failed operation index="));
        }
        json_decref(orig);
        json_decref(doc);
        json_decref(patch);
    }
    json_t *doc = nmfh_load("{\"a\":{\"b\":[10,{\"c\":3}]}}");
    ck_assert_int_eq(json_integer_value(dcgw_json_pointer_get(doc, "/a/b/1/c")), 3);
    ck_assert_ptr_eq(dcgw_json_pointer_get(doc, ""), doc);
    ck_assert_ptr_null(dcgw_json_pointer_get(doc, "/a/b/2"));
    ck_assert_ptr_null(dcgw_json_pointer_get(doc, "a"));
    json_decref(doc);
}
END_TEST

START_TEST(map_to_session)
{
    json_t *j = nmfh_load(ctx_text);
    struct dcgw_nmf_problem p = {0};
    Dcgw__Session *s = NULL;
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    ck_assert_str_eq(s->id, "ctx-1");
    ck_assert_uint_eq(s->n_legs, 2);
    ck_assert_str_eq(s->legs[0]->name, "ue");
    ck_assert_int_eq(s->legs[0]->role, DCGW__LEG_ROLE__ROLE_ANSWER);
    ck_assert_int_eq(s->legs[0]->dc->mode, DCGW__MEDIA_MODE__MODE_TERMINATE);
    ck_assert_str_eq(s->legs[1]->name, "as");
    ck_assert_int_eq(s->legs[1]->role, DCGW__LEG_ROLE__ROLE_OFFER);
    ck_assert_uint_eq(s->legs[1]->dc->n_streams, 1);
    ck_assert_uint_eq(s->legs[1]->dc->streams[0]->stream_id, 1000);
    /* the remote fields, written as SDP, parse back to what was given */
    const char *sdp = s->legs[0]->dc->remote_sdp;
    struct dcgw_sdp *o = malloc(sizeof(*o));
    char why[200] = "";
    ck_assert_msg(dcgw_sdp_parse(sdp, strlen(sdp), o, why, sizeof(why)) == 0, "%s\n%s", why, sdp);
    ck_assert(!o->ice_lite);
    ck_assert_str_eq(o->dc.ice_ufrag, "abcd");
    ck_assert_str_eq(o->dc.ice_pwd, "0123456789abcdefghijkl");
    ck_assert_int_eq(o->dc.setup, DCGW_SDP_SETUP_ACTPASS);
    ck_assert_str_eq(o->dc.tls_id, "abcdefghijklmnopqrstuvwxyz");
    ck_assert_uint_eq(o->dc.sctp_port, 5000);
    ck_assert_uint_eq(o->dc.max_message_size, 65536);
    ck_assert_uint_eq(o->dc.n_fingerprints, 1);
    ck_assert_int_eq(o->dc.fingerprints[0].alg, DCGW_HASH_SHA256);
    ck_assert_uint_eq(o->dc.fingerprints[0].digest[0], 0xAB);
    ck_assert_uint_eq(o->dc.n_candidates, 1);
    ck_assert_uint_eq(o->dc.n_dcmap, 2);
    ck_assert_uint_eq(o->dc.dcmap[0].stream_id, 0);
    ck_assert(o->dc.dcmap[0].ordered && !o->dc.dcmap[0].has_max_retr);
    ck_assert_str_eq(o->dc.dcmap[0].subprotocol, "http");
    ck_assert_uint_eq(o->dc.dcmap[1].stream_id, 1000);
    ck_assert(!o->dc.dcmap[1].ordered && o->dc.dcmap[1].has_max_retr);
    ck_assert_uint_eq(o->dc.dcmap[1].max_retr, 2);
    ck_assert_uint_eq(o->dc.dcmap[1].priority, 512);
    ck_assert_str_eq(o->dc.dcmap[1].label, "chat \"1\"");
    free(o);
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* an answering termination without the ICE extension, or without its Mb address */
    json_t *m = dcgw_json_pointer_get(j, "/terminations/0/medias/0");
    json_object_del(m, "vendorSpecific-032473");
    json_object_del(m, "remoteMbEndpoint");
    struct dcgw_nmf_problem q = {0};
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &q), DCGW_EINVAL);
    ck_assert_int_eq(q.status, 400);
    ck_assert(nmfh_has_param(&q, "/terminations/0/medias/0/vendorSpecific-032473/remoteIce"));
    ck_assert(nmfh_has_param(&q, "/terminations/0/medias/0/remoteMbEndpoint"));
    json_decref(j);

    /* terminations without ids are named */
    j = nmfh_load("{\"terminations\":[{\"medias\":[{\"mediaId\":\"a\",\"mediaResourceType\":\"DC\","
                  "\"dcMedia\":{\"streams\":{\"1\":{}}}}]}]}");
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    ck_assert_str_eq(s->legs[0]->name, "t0");
    ck_assert_ptr_null(s->id);
    ck_assert_str_eq(json_string_value(dcgw_json_pointer_get(j, "/terminations/0/terminationId")),
                     "t0");
    protobuf_c_message_free_unpacked(&s->base, NULL);
    json_decref(j);
}
END_TEST

/* A session as a worker returns it: dcgw's side appears as the local endpoints. */
START_TEST(map_from_session)
{
    json_t *j = nmfh_load(ctx_text);
    struct dcgw_nmf_problem p = {0};
    Dcgw__Session *s = NULL;
    ck_assert_int_eq(dcgw_nmf_to_session(j, &nmfh_settings, &s, &p), 0);
    struct dcgw_sdp_local *loc = calloc(1, sizeof(*loc));
    dcgw_sdp_local_init(loc);
    snprintf(loc->ice_ufrag, sizeof(loc->ice_ufrag), "LOCL");
    snprintf(loc->ice_pwd, sizeof(loc->ice_pwd), "localpasswordlocalpass");
    loc->n_addrs = 1;
    dcgw_addr_from("127.0.0.1", 41000, &loc->addrs[0]);
    loc->n_fingerprints = 1;
    loc->fingerprints[0].alg = DCGW_HASH_SHA256;
    loc->fingerprints[0].len = 32;
    loc->max_message_size = 262144;
    char *sdp = malloc(DCGW_SDP_TEXT_MAX);
    ck_assert_int_gt(dcgw_sdp_write_offer(loc, sdp, DCGW_SDP_TEXT_MAX), 0);
    Dcgw__DcMedia *dc = s->legs[0]->dc;
    dc->local_sdp = sdp;
    dc->has_setup = 1;
    dc->setup = DCGW__SECURITY_SETUP__SETUP_ACTIVE;
    Dcgw__DcEndpoint *e = calloc(1, sizeof(*e));
    dcgw__dc_endpoint__init(e);
    e->has_sctp_port = 1;
    e->sctp_port = 5123;
    e->address = strdup("127.0.0.1:41000");
    e->tls_id = strdup("0123456789ABCDEF0123");
    e->fingerprints = calloc(1, sizeof(*e->fingerprints));
    Dcgw__Fingerprint *f = calloc(1, sizeof(*f));
    dcgw__fingerprint__init(f);
    f->algorithm = strdup("sha-256");
    f->value = strdup(&NMFH_FP[8]);
    e->fingerprints[0] = f;
    e->n_fingerprints = 1;
    dc->local = e;
    /* the worker accepted only stream 1000 */
    Dcgw__DcStream *st = calloc(1, sizeof(*st));
    dcgw__dc_stream__init(st);
    st->has_stream_id = st->has_negotiated = 1;
    st->stream_id = 1000;
    st->negotiated = 1;
    dc->streams = calloc(1, sizeof(*dc->streams));
    dc->streams[0] = st;
    dc->n_streams = 1;
    free(s->id);
    s->id = strdup("ctx-1");
    json_t *rep = dcgw_nmf_from_session(j, s, &nmfh_settings);
    ck_assert_str_eq(json_string_value(json_object_get(rep, "contextId")), "ctx-1");
    json_t *m = dcgw_json_pointer_get(rep, "/terminations/0/medias/0");
    ck_assert_int_eq(json_integer_value(dcgw_json_pointer_get(m, "/localMbEndpoint/portNumber")),
                     41000);
    ck_assert_str_eq(json_string_value(dcgw_json_pointer_get(m, "/localMbEndpoint/ip/ipv4Addr")),
                     "127.0.0.1");
    ck_assert_str_eq(
        json_string_value(dcgw_json_pointer_get(m, "/dcMedia/localDcEndpoint/fingerprint")),
        NMFH_FP);
    ck_assert_int_eq(
        json_integer_value(dcgw_json_pointer_get(m, "/dcMedia/localDcEndpoint/sctpPort")), 5123);
    ck_assert_str_eq(json_string_value(dcgw_json_pointer_get(m, "/dcMedia/securitySetup")),
                     "ACTIVE");
    ck_assert_int_eq(json_integer_value(dcgw_json_pointer_get(m, "/dcMedia/maxMessageSize")),
                     262144);
    ck_assert_str_eq(
        json_string_value(dcgw_json_pointer_get(m, "/vendorSpecific-032473/localIce/ufrag")),
        "LOCL");
    ck_assert(json_is_true(dcgw_json_pointer_get(m, "/vendorSpecific-032473/localIce/lite")));
    ck_assert_ptr_nonnull(dcgw_json_pointer_get(m, "/dcMedia/streams/1000"));
    ck_assert_ptr_null(dcgw_json_pointer_get(m, "/dcMedia/streams/0"));
    /* the representation is itself a valid context */
    struct dcgw_nmf_problem q = {0};
    ck_assert_msg(dcgw_nmf_validate_context(rep, &nmfh_settings, &q) == 0, "%s", q.detail);
    json_decref(rep);
    free(loc);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    json_decref(j);
}
END_TEST

static int diff_of(const char *doc, const char *patch, struct dcgw_nmf_ops *ops,
                   struct dcgw_nmf_problem *p)
{
    json_t *old = nmfh_load(doc), *pj = nmfh_load(patch), *new_ = json_deep_copy(old);
    ck_assert_int_eq(dcgw_nmf_patch_apply(&new_, pj, p), 0);
    int r = dcgw_nmf_diff(old, new_, &nmfh_settings, ops, p);
    json_decref(old);
    json_decref(pj);
    json_decref(new_);
    return r;
}

START_TEST(diff_ops)
{
    struct dcgw_nmf_ops ops = {0};
    struct dcgw_nmf_problem p = {0};
    /* removing a stream of the answered leg closes that channel */
    ck_assert_int_eq(diff_of(ctx_text,
                             "[{\"op\":\"remove\",\"path\":\"/terminations/0/medias/0/dcMedia/"
                             "streams/1000\"}]",
                             &ops, &p),
                     0);
    ck_assert_uint_eq(ops.n, 1);
    ck_assert_int_eq(ops.op[0].kind, DCGW_NMF_OP_CLOSE_STREAM);
    ck_assert_str_eq(ops.op[0].leg, "ue");
    ck_assert_uint_eq(ops.op[0].stream_id, 1000);
    dcgw_nmf_ops_dispose(&ops);

    /* the answer to dcgw's offer on "as" */
    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(
        diff_of(ctx_text,
                "[{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/dcMedia/remoteDcEndpoint\","
                "\"value\":{\"fingerprint\":\"" NMFH_FP "\",\"sctpPort\":5001}},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/remoteMbEndpoint\",\"value\":"
                "{\"ip\":{\"ipv6Addr\":\"2001:db8::1\"},\"transport\":\"UDP\",\"portNumber\":9}},"
                "{\"op\":\"add\",\"path\":\"/terminations/1/medias/0/vendorSpecific-032473\","
                "\"value\":{\"remoteIce\":{\"ufrag\":\"wxyz\",\"pwd\":"
                "\"zyxwvutsrqponmlkjihgfe\"}}}]",
                &ops, &p),
        0);
    ck_assert_uint_eq(ops.n, 1);
    ck_assert_int_eq(ops.op[0].kind, DCGW_NMF_OP_ANSWER);
    ck_assert_str_eq(ops.op[0].leg, "as");
    ck_assert(strstr(ops.op[0].remote_sdp, "a=setup:active\r\n"));
    ck_assert(strstr(ops.op[0].remote_sdp, "a=sctp-port:5001\r\n"));
    ck_assert(strstr(ops.op[0].remote_sdp, "IP6 2001:db8::1"));
    dcgw_nmf_ops_dispose(&ops);

    /* what dcgw cannot change: 403 naming it */
    static const char *const denied[] = {
        "[{\"op\":\"replace\",\"path\":\"/contextId\",\"value\":\"other\"}]",
        "[{\"op\":\"replace\",\"path\":\"/terminations/0/terminationId\",\"value\":\"x\"}]",
        "[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/1000/priority\","
        "\"value\":1}]",
        "[{\"op\":\"add\",\"path\":\"/terminations/0/medias/0/dcMedia/streams/"
        "1001\",\"value\":{}}]",
        "[{\"op\":\"replace\",\"path\":\"/terminations/0/medias/0/remoteMbEndpoint/portNumber\","
        "\"value\":1}]",
        "[{\"op\":\"remove\",\"path\":\"/terminations/1\"}]",
        "[{\"op\":\"remove\",\"path\":\"/terminations/1/medias/0/dcMedia/streams/1000\"}]",
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        memset(&p, 0, sizeof(p));
        ck_assert_msg(diff_of(ctx_text, denied[i], &ops, &p) == DCGW_EDENIED, "%zu", i);
        ck_assert_int_eq(p.status, 403);
        ck_assert_str_eq(p.cause, DCGW_NMF_MODIFICATION_NOT_ALLOWED);
        ck_assert_uint_ge(p.n_params, 1);
        ck_assert_uint_eq(ops.n, 0);
    }
}
END_TEST

START_TEST(problem_details)
{
    struct dcgw_nmf_problem p = {0};
    for (int i = 0; i < DCGW_NMF_PARAMS_MAX + 5; i++)
        dcgw_nmf_problem_param(&p, "/x", "reason %d", i);
    ck_assert_uint_eq(p.n_params, DCGW_NMF_PARAMS_MAX);
    ck_assert_uint_eq(p.n_dropped, 5);
    dcgw_nmf_problem_set(&p, 413, DCGW_NMF_PAYLOAD_TOO_LARGE, "too %s", "big");
    json_t *o = dcgw_nmf_problem_json(&p);
    ck_assert_str_eq(json_string_value(json_object_get(o, "title")), "Content Too Large");
    ck_assert_str_eq(json_string_value(json_object_get(o, "detail")), "too big");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cause")), "PAYLOAD_TOO_LARGE");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "invalidParams")), DCGW_NMF_PARAMS_MAX);
    json_decref(o);
    char key[32];
    struct dcgw_nmf_settings other = {.vendor_pen = 7};
    ck_assert_str_eq(dcgw_nmf_vendor_key(&other, key, sizeof(key)), "vendorSpecific-000007");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nmf");
    TCase *tc = tcase_create("nmf");
    tcase_add_test(tc, validate_accepts_the_fixture);
    tcase_add_loop_test(tc, validate_refuses, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
    tcase_add_test(tc, validate_every_bad_field_named);
    tcase_add_test(tc, audio_video_refused);
    tcase_add_test(tc, patch_items_validated);
    tcase_add_test(tc, patch_rfc6902);
    tcase_add_test(tc, map_to_session);
    tcase_add_test(tc, map_from_session);
    tcase_add_test(tc, diff_ops);
    tcase_add_test(tc, problem_details);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
