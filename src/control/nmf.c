/* The Nmf_MRM adapter in the master (docs/nmf-mrm.md): routes HTTP/2 requests
 * (nmf_server.c), checks and maps their bodies (nmf_validate.c, nmf_map.c, nmf_patch.c,
 * nmf_diff.c) and turns them into control requests that take the same path as the control
 * socket's (an in-process controller, master_ctl.c). Keeps the representation of each
 * context it created, which JSON Patch applies to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/policy_wire.h"
#include "dcgw/msg/ctlmsg.h"
#include "master_int.h"
#include "nmf_int.h"

#define PREFIX "/nmf-mrm/v1/contexts"

struct nmf {
    struct master *m;
    struct controller *ctl;
    struct nmf_server *srv;
    struct dcgw_nmf_settings set;
    struct nmf_auth auth;
    char api_root[DCGW_CONFIG_PATH_MAX];
    uint32_t max_doc, timeout_ms;
    Dcgw__Policy *policy; /* nmf.policy, given to each created context */
    GHashTable *contexts; /* id -> struct nmf_ctx */
    GHashTable *calls;    /* request id -> struct nmf_call */
    uint64_t next_req;
    uv_timer_t *timer;
};

struct nmf_ctx {
    char id[DCGW_SESSION_ID_MAX];
    json_t *doc; /* the representation served last */
    bool busy;   /* a PATCH or DELETE is under way */
};

enum call_kind { CALL_CREATE, CALL_OP, CALL_GET, CALL_DELETE };

struct nmf_call {
    uint64_t req_id;
    uint64_t token; /* the HTTP/2 stream; 0 once answered (timed out) */
    enum call_kind kind;
    char ctx_id[DCGW_SESSION_ID_MAX];
    json_t *doc; /* CREATE: the request; CALL_OP/GET: the patched representation */
    struct dcgw_nmf_ops ops;
    size_t next_op;
    uint64_t deadline;
};

/* ------------------------------------------------------------------ responses */

static void reply_json(struct nmf *n, uint64_t token, int status, json_t *body, const char *type,
                       const struct nmf_header *extra, size_t n_extra)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct nmf_header h[4];
    size_t nh = 0;
    if (text)
        h[nh++] = (struct nmf_header){"content-type", type};
    for (size_t i = 0; i < n_extra && nh < 4; i++)
        h[nh++] = extra[i];
    dcgw__nmf_server_respond(n->srv, token, status, h, nh, text, text ? strlen(text) : 0);
}

static void reply_problem(struct nmf *n, uint64_t token, const struct dcgw_nmf_problem *p,
                          const struct nmf_header *extra, size_t n_extra)
{
    json_t *o = dcgw_nmf_problem_json(p);
    DCGW_LOG_RL(CTL, INFO, "nmf: %d %s: %s", p->status, p->cause ? p->cause : "-", p->detail);
    reply_json(n, token, p->status, o, "application/problem+json", extra, n_extra);
    json_decref(o);
}

static void reply_error(struct nmf *n, uint64_t token, int status, const char *cause,
                        const char *detail)
{
    struct dcgw_nmf_problem p = {0};
    dcgw_nmf_problem_set(&p, status, cause, "%s", detail);
    reply_problem(n, token, &p, NULL, 0);
}

/* A dcgw error from the control path, as HTTP (docs/nmf-mrm.md, "Errors"). */
static void reply_ctl_error(struct nmf *n, uint64_t token, const Dcgw__Error *e)
{
    int code = e->has_code ? e->code : DCGW_EINTERNAL;
    const char *msg = e->message ? e->message : dcgw_strerror(code);
    switch (code) {
    case DCGW_EINVAL:
    case DCGW_ESDP:
    case DCGW_EMALFORMED:
    case DCGW_ETOOBIG:
        reply_error(n, token, 400, DCGW_NMF_MANDATORY_IE_INCORRECT, msg);
        break;
    case DCGW_ENOENT:
        reply_error(n, token, 404, DCGW_NMF_CONTEXT_NOT_FOUND, msg);
        break;
    case DCGW_EEXIST:
        reply_error(n, token, 409, DCGW_NMF_CONTEXT_EXISTS, msg);
        break;
    case DCGW_ESTATE:
        if (n->m->draining)
            reply_error(n, token, 503, DCGW_NMF_NF_SERVICE_FAILOVER, msg);
        else
            reply_error(n, token, 409, DCGW_NMF_MODIFICATION_NOT_ALLOWED, msg);
        break;
    case DCGW_EWORKER:
    case DCGW_ELIMIT:
        reply_error(n, token, 503, DCGW_NMF_INSUFFICIENT_RESOURCES, msg);
        break;
    default:
        reply_error(n, token, 500, DCGW_NMF_SYSTEM_FAILURE, msg);
        break;
    }
}

/* ------------------------------------------------------------------ calls to the master */

static void call_free(gpointer p)
{
    struct nmf_call *c = p;
    json_decref(c->doc);
    dcgw_nmf_ops_dispose(&c->ops);
    free(c);
}

static struct nmf_call *call_new(struct nmf *n, uint64_t token, enum call_kind kind,
                                 const char *ctx_id, json_t *doc)
{
    struct nmf_call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->req_id = ++n->next_req;
    c->token = token;
    c->kind = kind;
    c->doc = doc;
    c->deadline = uv_now(n->m->loop) + n->timeout_ms;
    snprintf(c->ctx_id, sizeof(c->ctx_id), "%s", ctx_id ? ctx_id : "");
    g_hash_table_insert(n->calls, &c->req_id, c);
    return c;
}

/* Sends a request under a new id for call c (the master may answer it at once). */
static void submit(struct nmf *n, struct nmf_call *c, Dcgw__Request *req)
{
    g_hash_table_steal(n->calls, &c->req_id);
    c->req_id = ++n->next_req;
    g_hash_table_insert(n->calls, &c->req_id, c);
    req->has_id = 1;
    req->id = c->req_id;
    dcgw__master_ctl_request(n->m, n->ctl, req);
}

static void send_get(struct nmf *n, struct nmf_call *c)
{
    Dcgw__GetSession g = DCGW__GET_SESSION__INIT;
    g.id = c->ctx_id;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_SESSION;
    req.get_session = &g;
    c->kind = CALL_GET;
    submit(n, c, &req);
}

/* The next control operation of a PATCH, or the final get_session. */
static void next_op(struct nmf *n, struct nmf_call *c)
{
    if (c->next_op == c->ops.n) {
        send_get(n, c);
        return;
    }
    const struct dcgw_nmf_op *op = &c->ops.op[c->next_op++];
    Dcgw__Request req = DCGW__REQUEST__INIT;
    Dcgw__UpdateSession u = DCGW__UPDATE_SESSION__INIT;
    Dcgw__CloseChannel cc = DCGW__CLOSE_CHANNEL__INIT;
    if (op->kind == DCGW_NMF_OP_ANSWER || op->kind == DCGW_NMF_OP_PROXY) {
        u.id = c->ctx_id;
        u.leg = (char *)op->leg;
        u.remote_sdp = op->remote_sdp; /* one of the two */
        u.dc = op->dc;
        req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
        req.update_session = &u;
    } else {
        cc.id = c->ctx_id;
        cc.leg = (char *)op->leg;
        cc.has_stream_id = 1;
        cc.stream_id = op->stream_id;
        req.op_case = DCGW__REQUEST__OP_CLOSE_CHANNEL;
        req.close_channel = &cc;
    }
    c->kind = CALL_OP;
    submit(n, c, &req);
}

static struct nmf_ctx *ctx_get(struct nmf *n, const char *id)
{
    return id ? g_hash_table_lookup(n->contexts, id) : NULL;
}

static void ctx_store(struct nmf *n, const char *id, json_t *doc)
{
    struct nmf_ctx *x = ctx_get(n, id);
    if (!x) {
        x = calloc(1, sizeof(*x));
        if (!x) {
            json_decref(doc);
            return;
        }
        snprintf(x->id, sizeof(x->id), "%s", id);
        g_hash_table_insert(n->contexts, x->id, x);
    }
    json_decref(x->doc);
    x->doc = doc;
    x->busy = false;
}

static void ctx_free(gpointer p)
{
    struct nmf_ctx *x = p;
    json_decref(x->doc);
    free(x);
}

/* Closes a session nobody will use (its answer is dropped). */
static void undo(struct nmf *n, const char *id, const char *reason)
{
    Dcgw__CloseSession cs = DCGW__CLOSE_SESSION__INIT;
    cs.id = (char *)id;
    cs.reason = (char *)reason;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.has_id = 1;
    req.id = ++n->next_req; /* no call: the answer is dropped */
    req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    req.close_session = &cs;
    dcgw__master_ctl_request(n->m, n->ctl, &req);
}

/* A termination whose streams the policy refused all of: 403 naming it. */
static bool refused_all(const json_t *rep, struct dcgw_nmf_problem *p)
{
    const json_t *terms = json_object_get(rep, "terminations");
    for (size_t i = 0; i < json_array_size(terms); i++) {
        char ptr[64];
        snprintf(ptr, sizeof(ptr), "/terminations/%zu/medias/0/dcMedia/streams", i);
        if (json_object_size(dcgw_json_pointer_get((json_t *)rep, ptr)) == 0)
            dcgw_nmf_problem_param(p, ptr, "the policy allows none of these channels");
    }
    if (p->n_params)
        dcgw_nmf_problem_set(p, 403, DCGW_NMF_MODIFICATION_NOT_ALLOWED,
                             "the session's policy (nmf.policy) allows none of the channels of "
                             "a termination: %s",
                             p->params[0].param);
    return p->n_params != 0;
}

static void created(struct nmf *n, struct nmf_call *c, Dcgw__Response *r)
{
    if (!c->token) { /* the client was told 504: undo what it does not know of */
        undo(n, r->session->id, "Nmf_MRM create timed out");
        return;
    }
    json_t *rep = dcgw_nmf_from_session(c->doc, r->session, &n->set);
    struct dcgw_nmf_problem p = {0};
    if (!rep || refused_all(rep, &p)) {
        if (rep)
            reply_problem(n, c->token, &p, NULL, 0);
        else
            reply_error(n, c->token, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
        json_decref(rep);
        undo(n, r->session->id, "Nmf_MRM create refused");
        return;
    }
    char loc[DCGW_CONFIG_PATH_MAX + 96];
    snprintf(loc, sizeof(loc), "%s" PREFIX "/%s", n->api_root, r->session->id);
    struct nmf_header h = {"location", loc};
    reply_json(n, c->token, 201, rep, "application/json", &h, 1);
    ctx_store(n, r->session->id, rep);
    DCGW_INFO(CTL, "nmf: context %s created", r->session->id);
}

static void on_response(void *ud, Dcgw__Response *r)
{
    struct nmf *n = ud;
    struct nmf_call *c = g_hash_table_lookup(n->calls, &r->id);
    if (!c)
        return;
    struct nmf_ctx *x = ctx_get(n, c->ctx_id);
    if (r->error && c->kind == CALL_OP && r->error->code == DCGW_ENOENT &&
        c->ops.op[c->next_op - 1].kind == DCGW_NMF_OP_CLOSE_STREAM) {
        next_op(n, c); /* closed already, with its twin on the other leg */
        return;
    }
    if (r->error) {
        if (c->token)
            reply_ctl_error(n, c->token, r->error);
        if (x)
            x->busy = false;
        if (x && c->kind == CALL_DELETE && r->error->code == DCGW_ENOENT)
            g_hash_table_remove(n->contexts, c->ctx_id);
        g_hash_table_remove(n->calls, &r->id);
        return;
    }
    switch (c->kind) {
    case CALL_CREATE:
        if (r->result_case == DCGW__RESPONSE__RESULT_SESSION && r->session)
            created(n, c, r);
        break;
    case CALL_OP:
        next_op(n, c); /* re-keys c */
        return;
    case CALL_GET:
        if (x && c->token && r->session) {
            json_t *rep = dcgw_nmf_from_session(c->doc, r->session, &n->set);
            if (rep) {
                reply_json(n, c->token, 200, rep, "application/json", NULL, 0);
                ctx_store(n, c->ctx_id, rep);
            } else {
                reply_error(n, c->token, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
            }
        }
        if (x)
            x->busy = false;
        break;
    case CALL_DELETE:
        if (c->token)
            dcgw__nmf_server_respond(n->srv, c->token, 204, NULL, 0, NULL, 0);
        g_hash_table_remove(n->contexts, c->ctx_id);
        DCGW_INFO(CTL, "nmf: context %s deleted", c->ctx_id);
        break;
    }
    g_hash_table_remove(n->calls, &r->id);
}

/* A session that ends otherwise (control socket, setup timeout, its worker lost) takes its
 * context with it. */
static void on_event(void *ud, const Dcgw__Event *ev)
{
    struct nmf *n = ud;
    if (ev->kind_case == DCGW__EVENT__KIND_SESSION_CLOSED && ev->session_id) {
        struct nmf_ctx *x = ctx_get(n, ev->session_id);
        if (x && !x->busy)
            g_hash_table_remove(n->contexts, ev->session_id);
    } else if (ev->kind_case == DCGW__EVENT__KIND_WORKER_LOST && ev->worker_lost) {
        for (size_t i = 0; i < ev->worker_lost->n_session_ids; i++)
            g_hash_table_remove(n->contexts, ev->worker_lost->session_ids[i]);
    }
}

static const struct dcgw__ctl_sink sink = {.on_response = on_response, .on_event = on_event};

static void on_timer(uv_timer_t *t)
{
    struct nmf *n = t->data;
    uint64_t now = uv_now(n->m->loop);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, n->calls);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct nmf_call *c = v;
        if (!c->token || now < c->deadline)
            continue;
        reply_error(n, c->token, 504, "TIMED_OUT_REQUEST", "the workers did not answer in time");
        c->token = 0; /* kept: a late create is undone when its answer comes */
        struct nmf_ctx *x = ctx_get(n, c->ctx_id);
        if (x)
            x->busy = false;
    }
}

/* ------------------------------------------------------------------ operations */

static bool type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static json_t *parse_body(struct nmf *n, const struct nmf_request *req, const char *type)
{
    if (!type_is(req->content_type, type)) {
        char d[160];
        snprintf(d, sizeof(d), "the body must be %s", type);
        reply_error(n, req->token, 415, DCGW_NMF_UNSUPPORTED_MEDIA_TYPE, d);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        char d[300];
        snprintf(d, sizeof(d), "not JSON: line %d column %d: %s", e.line, e.column, e.text);
        reply_error(n, req->token, 400, DCGW_NMF_INVALID_MSG_FORMAT, d);
    }
    return j;
}

static void op_create(struct nmf *n, const struct nmf_request *req)
{
    struct dcgw_nmf_problem p = {0};
    json_t *ctx = parse_body(n, req, "application/json");
    Dcgw__Session *s = NULL;
    if (!ctx)
        return;
    if (dcgw_nmf_validate_context(ctx, &n->set, &p) < 0 ||
        dcgw_nmf_to_session(ctx, &n->set, &s, &p) < 0) {
        reply_problem(n, req->token, &p, NULL, 0);
        json_decref(ctx);
        return;
    }
    if (n->policy)
        s->policy = (Dcgw__Policy *)dcgw_ctlmsg_clone(&n->policy->base);
    struct nmf_call *c = call_new(n, req->token, CALL_CREATE, s->id, ctx);
    if (!c) {
        json_decref(ctx);
        protobuf_c_message_free_unpacked(&s->base, NULL);
        reply_error(n, req->token, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
        return;
    }
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = s;
    Dcgw__Request r = DCGW__REQUEST__INIT;
    r.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    r.create_session = &cs;
    submit(n, c, &r);
    protobuf_c_message_free_unpacked(&s->base, NULL);
}

static void op_delete(struct nmf *n, const struct nmf_request *req, struct nmf_ctx *x)
{
    struct nmf_call *c = call_new(n, req->token, CALL_DELETE, x->id, NULL);
    if (!c) {
        reply_error(n, req->token, 500, DCGW_NMF_SYSTEM_FAILURE, "out of memory");
        return;
    }
    x->busy = true;
    Dcgw__CloseSession cs = DCGW__CLOSE_SESSION__INIT;
    cs.id = x->id;
    cs.reason = "Nmf_MRM delete";
    Dcgw__Request r = DCGW__REQUEST__INIT;
    r.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    r.close_session = &cs;
    submit(n, c, &r);
}

static void op_patch(struct nmf *n, const struct nmf_request *req, struct nmf_ctx *x)
{
    struct dcgw_nmf_problem p = {0};
    json_t *patch = parse_body(n, req, "application/json-patch+json");
    if (!patch)
        return;
    json_t *doc = json_incref(x->doc);
    struct nmf_call *c = NULL;
    int r = dcgw_nmf_validate_patch(patch, &p);
    if (r == 0)
        r = dcgw_nmf_patch_apply(&doc, patch, &p);
    if (r == 0 && dcgw_nmf_validate_context(doc, &n->set, &p) < 0) {
        snprintf(p.detail + strlen(p.detail), sizeof(p.detail) - strlen(p.detail),
                 " (the context as patched)");
        r = DCGW_EINVAL;
    }
    char *text = r == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (r == 0 && (!text || strlen(text) > n->max_doc)) {
        dcgw_nmf_problem_set(&p, 413, DCGW_NMF_PAYLOAD_TOO_LARGE,
                             "the context as patched would exceed %u bytes", n->max_doc);
        r = DCGW_ETOOBIG;
    }
    free(text);
    if (r == 0) {
        c = call_new(n, req->token, CALL_OP, x->id, doc);
        r = c ? dcgw_nmf_diff(x->doc, doc, &n->set, &c->ops, &p) : DCGW_ENOMEM;
    }
    json_decref(patch);
    if (r < 0) {
        if (!p.status)
            dcgw_nmf_problem_set(&p, 500, DCGW_NMF_SYSTEM_FAILURE, "%s", dcgw_strerror(r));
        reply_problem(n, req->token, &p, NULL, 0);
        if (c)
            g_hash_table_remove(n->calls, &c->req_id); /* frees doc */
        else
            json_decref(doc);
        return;
    }
    x->busy = true;
    next_op(n, c);
}

static void on_request(void *ud, const struct nmf_request *req)
{
    struct nmf *n = ud;
    DCGW_DEBUG(CTL, "nmf: %s %s (%zu bytes)", req->method, req->path, req->body_len);
    const char *path = req->path;
    bool coll = strcmp(path, PREFIX) == 0 || strcmp(path, PREFIX "/") == 0;
    const char *id = !coll && strncmp(path, PREFIX "/", strlen(PREFIX) + 1) == 0
                         ? path + strlen(PREFIX) + 1
                         : NULL;
    if (!coll && (!id || !*id || strchr(id, '/'))) {
        reply_error(n, req->token, 404, DCGW_NMF_RESOURCE_URI_STRUCTURE_NOT_FOUND,
                    "no such resource: Nmf_MRM has " PREFIX " and " PREFIX "/{contextId}");
        return;
    }
    bool post = !strcmp(req->method, "POST"), patch = !strcmp(req->method, "PATCH");
    bool del = !strcmp(req->method, "DELETE");
    if (coll ? !post : !(patch || del)) {
        struct nmf_header h = {"allow", coll ? "POST" : "PATCH, DELETE"};
        dcgw__nmf_server_respond(n->srv, req->token, 405, &h, 1, NULL, 0);
        return;
    }
    struct dcgw_nmf_problem p = {0};
    const char *www = NULL;
    if (dcgw__nmf_auth_check(&n->auth, req->authorization, dcgw_unix_ms() / 1000, &p, &www) < 0) {
        struct nmf_header h = {"www-authenticate", www ? www : "Bearer"};
        reply_problem(n, req->token, &p, &h, 1);
        return;
    }
    if (req->too_large) {
        reply_error(n, req->token, 413, DCGW_NMF_PAYLOAD_TOO_LARGE,
                    "the body is larger than nmf.max_body");
        return;
    }
    if (n->m->draining) {
        reply_error(n, req->token, 503, DCGW_NMF_NF_SERVICE_FAILOVER, "dcgw is shutting down");
        return;
    }
    if (post) {
        op_create(n, req);
        return;
    }
    struct nmf_ctx *x = ctx_get(n, id);
    if (!x) {
        reply_error(n, req->token, 404, DCGW_NMF_CONTEXT_NOT_FOUND, "no such context");
        return;
    }
    if (x->busy) {
        reply_error(n, req->token, 409, DCGW_NMF_MODIFICATION_NOT_ALLOWED,
                    "another request on this context is under way");
        return;
    }
    if (patch)
        op_patch(n, req, x);
    else
        op_delete(n, req, x);
}

/* ------------------------------------------------------------------ start and stop */

static int load_policy(struct nmf *n, const char *path)
{
    gchar *text = NULL;
    gsize len = 0;
    char err[256];
    if (!g_file_get_contents(path, &text, &len, NULL)) {
        DCGW_ERROR(CONFIG, "nmf.policy: cannot read %s", path);
        return DCGW_ECONFIG;
    }
    int r = dcgw_policy_from_json(text, len, false, &n->policy, err, sizeof(err));
    g_free(text);
    if (r < 0)
        DCGW_ERROR(CONFIG, "nmf.policy: %s: %s", path, err);
    return r < 0 ? DCGW_ECONFIG : 0;
}

int dcgw__nmf_start(struct master *m)
{
    const struct dcgw_config *cfg = &m->cfg;
    if (!cfg->nmf.enabled)
        return 0;
    struct nmf *n = calloc(1, sizeof(*n));
    if (!n)
        return DCGW_ENOMEM;
    m->nmf = n;
    n->m = m;
    n->set.vendor_pen = cfg->nmf.vendor_pen;
    n->timeout_ms = cfg->nmf.request_timeout_ms;
    n->max_doc = 2 * cfg->nmf.max_body;
    if (*cfg->nmf.api_root)
        snprintf(n->api_root, sizeof(n->api_root), "%s", cfg->nmf.api_root);
    else
        snprintf(n->api_root, sizeof(n->api_root), "%s://%s", *cfg->nmf.tls_cert ? "https" : "http",
                 cfg->nmf.listen);
    size_t l = strlen(n->api_root);
    if (l && n->api_root[l - 1] == '/')
        n->api_root[l - 1] = '\0';
    n->contexts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, ctx_free);
    n->calls = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, call_free);
    char err[256];
    int r = dcgw__nmf_auth_init(&n->auth, cfg, err, sizeof(err));
    if (r < 0)
        DCGW_ERROR(CONFIG, "%s", err);
    if (r == 0 && *cfg->nmf.policy)
        r = load_policy(n, cfg->nmf.policy);
    if (r == 0 && !(n->ctl = dcgw__master_ctl_attach(m, &sink, n)))
        r = DCGW_ENOMEM;
    if (r == 0)
        r = dcgw__nmf_server_start(m->loop, cfg, on_request, n, &n->srv);
    if (r == 0 && (n->timer = malloc(sizeof(*n->timer)))) {
        uv_timer_init(m->loop, n->timer);
        n->timer->data = n;
        uv_timer_start(n->timer, on_timer, 250, 250);
    }
    if (r < 0)
        dcgw__nmf_stop(m);
    return r;
}

void dcgw__nmf_stop(struct master *m)
{
    struct nmf *n = m->nmf;
    if (!n)
        return;
    m->nmf = NULL;
    dcgw__nmf_server_stop(n->srv);
    if (n->timer)
        uv_close((uv_handle_t *)n->timer, (uv_close_cb)free);
    dcgw__master_ctl_detach(m, n->ctl);
    g_hash_table_destroy(n->calls);
    g_hash_table_destroy(n->contexts);
    if (n->policy)
        protobuf_c_message_free_unpacked(&n->policy->base, NULL);
    dcgw__nmf_auth_dispose(&n->auth);
    free(n);
}
