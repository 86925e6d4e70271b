/* A PATCHed Nmf_MRM context as control operations: what changed between the representation
 * dcgw served and the patched one, checked against what dcgw can change in a running
 * session (docs/nmf-mrm.md, "PATCH"): a leg's answer, its closed streams, its bootstrap
 * proxy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"

struct diff {
    const struct dcgw_nmf_settings *s;
    struct dcgw_nmf_ops *ops;
    struct dcgw_nmf_problem *p;
    bool denied;
};

static bool same(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

static void deny(struct diff *d, const char *ptr, const char *why)
{
    d->denied = true;
    dcgw_nmf_problem_param(d->p, ptr, "%s", why);
}

static void check_same(struct diff *d, const json_t *o, const json_t *n, const char *k,
                       const char *where, const char *why)
{
    if (same(json_object_get(o, k), json_object_get(n, k)))
        return;
    char ptr[DCGW_NMF_PARAM_SIZE];
    snprintf(ptr, sizeof(ptr), "%s/%s", where, k);
    deny(d, ptr, why);
}

static struct dcgw_nmf_op *push(struct diff *d, enum dcgw_nmf_op_kind kind, const char *leg)
{
    if (d->ops->n == DCGW_NMF_OPS_MAX)
        return NULL;
    struct dcgw_nmf_op *op = &d->ops->op[d->ops->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    snprintf(op->leg, sizeof(op->leg), "%s", leg);
    return op;
}

/* The remote's answer to dcgw's offer: securitySetup and maxMessageSize still equal to
 * dcgw's own (the representation's) were not given by the answer. */
static void answer(struct diff *d, const json_t *om, const json_t *nm, const char *leg,
                   const char *where)
{
    json_t *m = json_deep_copy(nm);
    json_t *dc = json_object_get(m, "dcMedia");
    const json_t *odc = json_object_get(om, "dcMedia");
    if (!m)
        return;
    if (same(json_object_get(dc, "securitySetup"), json_object_get(odc, "securitySetup")))
        json_object_del(dc, "securitySetup");
    if (same(json_object_get(dc, "maxMessageSize"), json_object_get(odc, "maxMessageSize")))
        json_object_del(dc, "maxMessageSize");
    char *sdp = dcgw_nmf_remote_sdp(m, where, true, d->s, d->p);
    json_decref(m);
    struct dcgw_nmf_op *op = sdp ? push(d, DCGW_NMF_OP_ANSWER, leg) : NULL;
    if (op)
        op->remote_sdp = sdp;
    else
        free(sdp);
}

static void streams(struct diff *d, const json_t *os, const json_t *ns, const char *leg,
                    bool started, const char *where)
{
    char ptr[DCGW_NMF_PARAM_SIZE];
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)os, key, v)
    {
        snprintf(ptr, sizeof(ptr), "%s/dcMedia/streams/%s", where, key);
        const json_t *nv = json_object_get(ns, key);
        if (nv && !json_equal(v, nv))
            deny(d, ptr,
                 "a negotiated channel's parameters are fixed (RFC 8864): remove it"
                 " and add another");
        else if (!nv && !started)
            deny(d, ptr, "dcgw's offer is out: channels change once the answer is in");
        else if (!nv) {
            struct dcgw_nmf_op *op = push(d, DCGW_NMF_OP_CLOSE_STREAM, leg);
            if (op)
                op->stream_id = (uint32_t)atol(key);
        }
    }
    json_object_foreach((json_t *)ns, key, v)
    {
        if (json_object_get(os, key))
            continue;
        snprintf(ptr, sizeof(ptr), "%s/dcMedia/streams/%s", where, key);
        deny(d, ptr,
             "adding a channel to a running leg is not supported yet: the SCTP "
             "association's streams are fixed when it starts");
    }
}

/* The leg's bootstrap proxy (mediaProxyConfig, replaceHttpUrl, MDC1 endpoints): what
 * changed, as one UpdateSession{leg, dc}. It may change at any time (docs/bootstrap.md:
 * requests in flight finish as they started). */
static void proxy(struct diff *d, const json_t *odc, const json_t *ndc, const char *leg)
{
    unsigned changed = dcgw_nmf_proxy_changed(odc, ndc);
    if (!changed)
        return;
    Dcgw__DcMedia *dc = calloc(1, sizeof(*dc));
    struct dcgw_nmf_op *op = dc ? push(d, DCGW_NMF_OP_PROXY, leg) : NULL;
    if (!op) {
        free(dc);
        dcgw_nmf_problem_set(d->p, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory or operations");
        return;
    }
    dcgw__dc_media__init(dc);
    op->dc = dc;
    if (dcgw_nmf_proxy_to_dc(ndc, changed, true, dc) < 0)
        dcgw_nmf_problem_set(d->p, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
}

static void media(struct diff *d, const json_t *om, const json_t *nm, const char *leg,
                  const char *where)
{
    char key[32], sub[DCGW_NMF_PARAM_SIZE];
    dcgw_nmf_vendor_key(d->s, key, sizeof(key));
    const json_t *odc = json_object_get(om, "dcMedia"), *ndc = json_object_get(nm, "dcMedia");
    const json_t *oext = json_object_get(om, key), *next = json_object_get(nm, key);
    static const char *const ident = "identifies the resource: it cannot change";
    static const char *const ours = "written by the MF: it cannot be set";
    check_same(d, om, nm, "mediaId", where, ident);
    check_same(d, om, nm, "mediaResourceType", where, ident);
    check_same(d, om, nm, "localMbEndpoint", where, ours);
    snprintf(sub, sizeof(sub), "%s/dcMedia", where);
    check_same(d, odc, ndc, "localDcEndpoint", sub, ours);
    snprintf(sub, sizeof(sub), "%s/%s", where, key);
    check_same(d, oext, next, "localIce", sub, ours);
    proxy(d, odc, ndc, leg);
    bool answered = json_object_get(json_object_get(odc, "remoteDcEndpoint"), "fingerprint");
    bool answering =
        !answered && json_object_get(json_object_get(ndc, "remoteDcEndpoint"), "fingerprint");
    if (answering) {
        answer(d, om, nm, leg, where);
    } else {
        static const char *const fixed =
            "the transport of a leg cannot change: dcgw does not renegotiate DTLS/SCTP";
        static const char *const later =
            "comes with the answer to dcgw's offer (remoteDcEndpoint with its fingerprint)";
        const char *why = answered ? fixed : later;
        check_same(d, om, nm, "remoteMbEndpoint", where, why);
        snprintf(sub, sizeof(sub), "%s/dcMedia", where);
        check_same(d, odc, ndc, "remoteDcEndpoint", sub, why);
        check_same(d, odc, ndc, "securitySetup", sub, why);
        check_same(d, odc, ndc, "maxMessageSize", sub, why);
        snprintf(sub, sizeof(sub), "%s/%s", where, key);
        check_same(d, oext, next, "remoteIce", sub, why);
        streams(d, json_object_get(odc, "streams"), json_object_get(ndc, "streams"), leg, answered,
                where);
    }
}

int dcgw_nmf_diff(const json_t *old, const json_t *new_, const struct dcgw_nmf_settings *s,
                  struct dcgw_nmf_ops *ops, struct dcgw_nmf_problem *p)
{
    struct diff d = {.s = s, .ops = ops, .p = p};
    ops->n = 0;
    check_same(&d, old, new_, "contextId", "", "identifies the resource: it cannot change");
    const json_t *ot = json_object_get(old, "terminations");
    const json_t *nt = json_object_get(new_, "terminations");
    if (json_array_size(ot) != json_array_size(nt))
        deny(&d, "/terminations", "terminations cannot be added or removed");
    for (size_t i = 0; !d.denied && i < json_array_size(ot); i++) {
        const json_t *o = json_array_get(ot, i), *n = json_array_get(nt, i);
        char where[64];
        snprintf(where, sizeof(where), "/terminations/%zu", i);
        check_same(&d, o, n, "terminationId", where, "identifies the leg: it cannot change");
        const json_t *om = json_array_get(json_object_get(o, "medias"), 0);
        const json_t *nm = json_array_get(json_object_get(n, "medias"), 0);
        const char *leg = json_string_value(json_object_get(o, "terminationId"));
        snprintf(where, sizeof(where), "/terminations/%zu/medias/0", i);
        if (!d.denied)
            media(&d, om, nm, leg ? leg : "", where);
    }
    if (d.denied) {
        dcgw_nmf_ops_dispose(ops);
        dcgw_nmf_problem_set(p, 403, DCGW_NMF_MODIFICATION_NOT_ALLOWED,
                             "the patch changes what dcgw cannot change: %s: %s",
                             p->params[0].param, p->params[0].reason);
        return DCGW_EDENIED;
    }
    if (p->status) {
        dcgw_nmf_ops_dispose(ops);
        return p->status == 500 ? DCGW_ENOMEM : DCGW_EINVAL;
    }
    return 0;
}

void dcgw_nmf_ops_dispose(struct dcgw_nmf_ops *ops)
{
    for (size_t i = 0; i < ops->n; i++) {
        free(ops->op[i].remote_sdp);
        ops->op[i].remote_sdp = NULL;
        if (ops->op[i].dc)
            protobuf_c_message_free_unpacked(&ops->op[i].dc->base, NULL);
        ops->op[i].dc = NULL;
    }
    ops->n = 0;
}
