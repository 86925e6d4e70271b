/* The Nmf_MRM adapter's decoders: a request body as the HTTP/2 server hands it over,
 * through what the master does with it. Input: one byte selecting the door (even: POST, a
 * MediaContext; odd: PATCH, a JSON Patch over the fixed context below), then the body.
 * POST: parse, validate, map to a Session (the remote side written as SDP, parsed back as
 * the worker would; the session as the master checks it, the bootstrap proxy's fields
 * included), and the representation of the result. PATCH: validate, apply (RFC 6902),
 * validate the result, diff it into control operations (a proxy update as the master
 * checks it). What the adapter accepts and maps, the master must accept: else abort. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/control/nmf.h"
#include "dcgw/msg/session.h"
#include "dcgw/sdp/sdp.h"

static const struct dcgw_nmf_settings set = {.vendor_pen = 32473};

static const char base[] =
    "{\"contextId\":\"c\",\"terminations\":[{\"terminationId\":\"ue\",\"medias\":[{\"mediaId\":"
    "\"m\",\"mediaResourceType\":\"DC\",\"remoteMbEndpoint\":{\"ip\":{\"ipv4Addr\":\"192.0.2.1"
    "\"},\"transport\":\"UDP\",\"portNumber\":9},\"vendorSpecific-032473\":{\"remoteIce\":{"
    "\"ufrag\":\"abcd\",\"pwd\":\"0123456789abcdefghijkl\"}},\"dcMedia\":{\"streams\":{\"0\":{},"
    "\"1000\":{\"subprotocol\":\"x\"}},\"mediaProxyConfig\":\"HTTP\",\"replaceHttpUrl\":{\"0\":{"
    "\"replaceHttpUrl\":\"http://192.0.2.2:8080/b/\"}},\"remoteMdc1Endpoint\":{\"ip\":{"
    "\"ipv4Addr\":\"192.0.2.2\"},\"transport\":\"TCP\",\"portNumber\":8080},\"remoteDcEndpoint\":{"
    "\"fingerprint\":\"SHA-1 00:01:02:"
    "03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13\"}}}]},{\"terminationId\":\"as\","
    "\"medias\":[{\"mediaId\":\"n\",\"mediaResourceType\":\"DC\",\"dcMedia\":{\"streams\":{"
    "\"1000\":{}}}}]}]}";

static void post(json_t *ctx)
{
    struct dcgw_nmf_problem p = {0};
    Dcgw__Session *s = NULL;
    json_t *j = dcgw_nmf_problem_json(&p);
    json_decref(j);
    if (dcgw_nmf_validate_context(ctx, &set, &p) < 0 || dcgw_nmf_to_session(ctx, &set, &s, &p) < 0)
        return;
    char err[256];
    if (dcgw_session_validate(s, err, sizeof(err)) < 0)
        abort();
    for (size_t i = 0; i < s->n_legs; i++) {
        const char *sdp = s->legs[i]->dc->remote_sdp;
        struct dcgw_sdp *o = sdp ? malloc(sizeof(*o)) : NULL;
        if (o && dcgw_sdp_parse(sdp, strlen(sdp), o, NULL, 0) < 0)
            abort(); /* what the adapter writes, the worker must read */
        free(o);
    }
    json_t *rep = dcgw_nmf_from_session(ctx, s, &set);
    json_decref(rep);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void patch(json_t *pj)
{
    struct dcgw_nmf_problem p = {0};
    json_t *doc = json_loads(base, 0, NULL), *old = json_deep_copy(doc);
    struct dcgw_nmf_ops ops = {0};
    if (dcgw_nmf_validate_patch(pj, &p) == 0 && dcgw_nmf_patch_apply(&doc, pj, &p) == 0 &&
        dcgw_nmf_validate_context(doc, &set, &p) == 0 &&
        dcgw_nmf_diff(old, doc, &set, &ops, &p) == 0) {
        char err[256];
        for (size_t i = 0; i < ops.n; i++)
            if (ops.op[i].kind == DCGW_NMF_OP_PROXY &&
                dcgw_session_validate_proxy(ops.op[i].dc, ops.op[i].leg, true, err, sizeof(err)))
                abort();
        dcgw_nmf_ops_dispose(&ops);
    }
    json_decref(doc);
    json_decref(old);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;
    if (data[0] & 1)
        patch(j);
    else
        post(j);
    json_decref(j);
    return 0;
}
