/* dcgwctl: the operator's CLI over the control socket. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/ctl/ctlclient.h"
#include "dcgw/ctl/ctlfmt.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/pbjson.h"
#include "dcgw/msg/policy_wire.h"
#include "dcgw/msg/session.h"

struct opts {
    struct dcgw_ctlclient_opts conn;
    bool json;
    int timeout_ms;
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dcgwctl [options] COMMAND [args]\n"
        "\n"
        "Talks to dcgwd over its control socket.\n"
        "\n"
        "Commands:\n"
        "  ping                          check that dcgwd answers\n"
        "  version                       daemon and protocol version\n"
        "  create [--id ID] [--tag TEXT] --leg SPEC [--leg SPEC] [--sdp-out DIR]\n"
        "         [--policy FILE]        create a session; SPEC is\n"
        "                                name=NAME[,mode=terminate|relay][,role=answer|offer]\n"
        "                                [,sdp=FILE] (the peer's offer, for role answer)\n"
        "                                [,policy=FILE] (the leg's policy);\n"
        "                                --sdp-out writes each leg's local SDP to DIR/NAME.sdp;\n"
        "                                --policy: the session's policy (docs/policy.md);\n"
        "                                without any policy the session passes nothing\n"
        "  create --from FILE [--policy FILE]\n"
        "                                create from a JSON Session (see docs/control.md)\n"
        "         create also takes the bootstrap HTTP proxy of a leg (docs/bootstrap.md):\n"
        "         [--bootstrap LEG:STREAM=URL]...  proxy stream 0/10/100/110 of LEG to URL\n"
        "         [--mdc1 LEG=IP:PORT]     connect to the DCSF there (else URL's host)\n"
        "         [--mdc1-ca LEG=FILE]     PEM CA certificates for an https DCSF\n"
        "  policy ID [--leg NAME] [--set FILE | --patch FILE]\n"
        "                                show the effective policy and its counters, or\n"
        "                                replace / patch the session's (or a leg's) policy\n"
        "  update ID [--leg NAME --sdp FILE] [--avatar FILE]\n"
        "                                give a leg dcgw offered (role=offer) the peer's answer;\n"
        "                                --avatar: replace the session's avatar grants, anchors\n"
        "                                and keys (JSON AvatarSettings, docs/avatar-envelope.md)\n"
        "  update ID --leg NAME [--bootstrap STREAM=URL]... [--mdc1 IP:PORT] [--mdc1-ca FILE]\n"
        "         [--no-proxy] [--proxy FILE]\n"
        "                                replace the leg's bootstrap HTTP proxy: its bindings,\n"
        "                                DCSF address, CA; --no-proxy turns it off; --proxy: a\n"
        "                                JSON DcMedia with the proxy fields (docs/bootstrap.md)\n"
        "  close-channel ID --leg NAME --stream N\n"
        "                                close one data channel of a leg\n"
        "  get ID                        show a session, its legs and local SDP\n"
        "  list [--worker N]             list sessions\n"
        "  close ID [--reason TEXT]      close a session\n"
        "  stats                         statistics per worker and totals\n"
        "  watch [--session ID] [--count N] [--for SECONDS]\n"
        "                                print events as they come\n"
        "\n"
        "Options:\n"
        "  -s, --socket PATH     Unix control socket (default /run/dcgw/control.sock)\n"
        "      --connect H:P     TCP with mutual TLS instead; needs --cert, --key, --ca\n"
        "      --cert FILE --key FILE --ca FILE\n"
        "  -j, --json            machine-readable JSON output\n"
        "  -t, --timeout MS      how long to wait for an answer (default 10000)\n"
        "  -h, --help            this help\n"
        "\n"
        "Exit status: 0 success, 1 the daemon answered with an error, 2 usage, 3 no\n"
        "connection or no answer.\n");
}

static int call(struct dcgw_ctlclient *c, const struct opts *o, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, req, &resp, o->timeout_ms);
    if (r < 0) {
        fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
        return 3;
    }
    int rc = resp->error ? 1 : 0;
    dcgw_ctlfmt_response(stdout, resp, o->json);
    dcgw__response__free_unpacked(resp, NULL);
    return rc;
}

static char *read_file(const char *path);

/* A policy file (docs/policy.md), or NULL after saying why. */
static Dcgw__Policy *load_policy(const char *path, bool patch)
{
    char *text = read_file(path), err[256];
    Dcgw__Policy *p = NULL;
    if (text && dcgw_policy_from_json(text, strlen(text), patch, &p, err, sizeof(err)) < 0)
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
    free(text);
    return p;
}

/* A JSON AvatarSettings file (docs/avatar-envelope.md), or NULL after saying why. */
static Dcgw__AvatarSettings *load_avatar(const char *path)
{
    char *text = read_file(path), err[256] = "";
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    ProtobufCMessage *m = NULL;
    if (text && !j)
        fprintf(stderr, "dcgwctl: %s:%d: %s\n", path, je.line, je.text);
    else if (j &&
             dcgw_pb_from_json(&dcgw__avatar_settings__descriptor, j, &m, err, sizeof(err)) < 0)
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
    json_decref(j);
    free(text);
    return (Dcgw__AvatarSettings *)m;
}

/* A JSON DcMedia holding proxy fields (docs/bootstrap.md), or NULL after saying why. */
static Dcgw__DcMedia *load_dcmedia(const char *path)
{
    char *text = read_file(path), err[256] = "";
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    ProtobufCMessage *m = NULL;
    if (text && !j)
        fprintf(stderr, "dcgwctl: %s:%d: %s\n", path, je.line, je.text);
    else if (j && dcgw_pb_from_json(&dcgw__dc_media__descriptor, j, &m, err, sizeof(err)) < 0)
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
    json_decref(j);
    free(text);
    return (Dcgw__DcMedia *)m;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* ---- bootstrap HTTP proxy flags (docs/bootstrap.md) */

/* Adds STREAM=URL to dc (turning its proxy on). Strings point into arg. */
static int add_binding(Dcgw__DcMedia *dc, char *arg)
{
    char *eq = strchr(arg, '='), *end = NULL;
    long id = eq ? strtol(arg, &end, 10) : -1;
    if (!eq || end != eq || id < 0 || id > 65535) {
        fprintf(stderr, "dcgwctl: --bootstrap: expected STREAM=URL, got '%s'\n", arg);
        return -1;
    }
    Dcgw__HttpProxyBinding *b = calloc(1, sizeof(*b));
    Dcgw__HttpProxyBinding **v =
        realloc(dc->replace_http_url, (dc->n_replace_http_url + 1) * sizeof(*v));
    if (!b || !v) {
        free(b);
        return -1;
    }
    dcgw__http_proxy_binding__init(b);
    b->has_stream_id = 1;
    b->stream_id = (uint32_t)id;
    b->url = strdup(eq + 1);
    v[dc->n_replace_http_url++] = b;
    dc->replace_http_url = v;
    dc->has_media_proxy_config = 1;
    dc->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    return 0;
}

static Dcgw__Mdc1Endpoint *remote_mdc1(Dcgw__DcMedia *dc)
{
    if (!dc->remote_mdc1_endpoint &&
        (dc->remote_mdc1_endpoint = calloc(1, sizeof(Dcgw__Mdc1Endpoint))))
        dcgw__mdc1_endpoint__init(dc->remote_mdc1_endpoint);
    return dc->remote_mdc1_endpoint;
}

/* opt is 'b' (--bootstrap STREAM=URL), 'm' (--mdc1 IP:PORT) or 'c' (--mdc1-ca FILE). */
static int apply_proxy_flag(Dcgw__DcMedia *dc, int opt, char *arg)
{
    Dcgw__Mdc1Endpoint *e;
    if (opt == 'b')
        return add_binding(dc, arg);
    if (!(e = remote_mdc1(dc)))
        return -1;
    if (opt == 'm') {
        e->address = strdup(arg);
        return 0;
    }
    return (e->tls_ca_pem = read_file(arg)) ? 0 : -1;
}

/* create: LEG:STREAM=URL / LEG=VALUE, applied to the session's leg of that name. */
static int apply_leg_proxy_flag(Dcgw__Session *s, int opt, const char *arg)
{
    const char *sep = strchr(arg, opt == 'b' ? ':' : '=');
    for (size_t i = 0; sep && i < s->n_legs; i++) {
        Dcgw__Leg *l = s->legs[i];
        if (l->name && strlen(l->name) == (size_t)(sep - arg) &&
            strncmp(l->name, arg, (size_t)(sep - arg)) == 0 && l->dc)
            return apply_proxy_flag(l->dc, opt, (char *)sep + 1);
    }
    fprintf(stderr, "dcgwctl: --%s '%s': no leg of that name (--leg name=... first)\n",
            opt == 'b'   ? "bootstrap"
            : opt == 'm' ? "mdc1"
                         : "mdc1-ca",
            arg);
    return -1;
}

/* name=ue,mode=terminate,role=answer,sdp=offer.sdp */
static int parse_leg(const char *spec, Dcgw__Leg *leg, Dcgw__DcMedia *dc)
{
    dcgw__leg__init(leg);
    dcgw__dc_media__init(dc);
    leg->dc = dc;
    dc->has_mode = 1;
    dc->mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
    char *copy = strdup(spec), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "dcgwctl: --leg: '%s' is not key=value\n", kv);
            return -1;
        }
        *eq++ = '\0';
        if (strcmp(kv, "name") == 0) {
            leg->name = strdup(eq);
        } else if (strcmp(kv, "mode") == 0 && strcmp(eq, "terminate") == 0) {
            dc->mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
        } else if (strcmp(kv, "mode") == 0 && strcmp(eq, "relay") == 0) {
            dc->mode = DCGW__MEDIA_MODE__MODE_RELAY;
        } else if (strcmp(kv, "role") == 0 && strcmp(eq, "answer") == 0) {
            leg->has_role = 1;
            leg->role = DCGW__LEG_ROLE__ROLE_ANSWER;
        } else if (strcmp(kv, "role") == 0 && strcmp(eq, "offer") == 0) {
            leg->has_role = 1;
            leg->role = DCGW__LEG_ROLE__ROLE_OFFER;
        } else if (strcmp(kv, "sdp") == 0) {
            if (!(dc->remote_sdp = read_file(eq)))
                return -1;
        } else if (strcmp(kv, "policy") == 0) {
            if (!(leg->policy = load_policy(eq, false)))
                return -1;
        } else {
            fprintf(stderr, "dcgwctl: --leg: unknown or bad '%s=%s'\n", kv, eq);
            return -1;
        }
    }
    free(copy);
    if (!leg->name) {
        fprintf(stderr, "dcgwctl: --leg needs name=NAME\n");
        return -1;
    }
    if (!leg->has_role) {
        leg->has_role = 1;
        leg->role = dc->remote_sdp ? DCGW__LEG_ROLE__ROLE_ANSWER : DCGW__LEG_ROLE__ROLE_OFFER;
    }
    return 0;
}

static int write_sdps(const char *dir, const Dcgw__Response *resp)
{
    if (!dir || resp->error || !resp->session)
        return 0;
    for (size_t i = 0; i < resp->session->n_legs; i++) {
        const Dcgw__Leg *leg = resp->session->legs[i];
        if (!leg->dc || !leg->dc->local_sdp)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.sdp", dir, leg->name);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 1;
        }
        fputs(leg->dc->local_sdp, f);
        fclose(f);
    }
    return 0;
}

/* --from FILE: a whole session in its JSON form. */
static int load_session(const char *path, Dcgw__Session **out)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    char err[256];
    if (!j) {
        fprintf(stderr, "dcgwctl: %s:%d: %s\n", path, je.line, je.text);
        return -1;
    }
    int r = dcgw_pb_from_json(&dcgw__session__descriptor, j, (ProtobufCMessage **)out, err,
                              sizeof(err));
    json_decref(j);
    if (r < 0) {
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
        return -1;
    }
    return 0;
}

/* Frees what parse_leg and --policy allocated for a session built from options. */
static void free_create_args(Dcgw__Policy *policy, Dcgw__Leg *legs, Dcgw__DcMedia *dcs,
                             size_t n_legs)
{
    if (policy)
        protobuf_c_message_free_unpacked(&policy->base, NULL);
    for (size_t i = 0; i < n_legs; i++) {
        if (legs[i].policy)
            protobuf_c_message_free_unpacked(&legs[i].policy->base, NULL);
        free(legs[i].name);
        free(dcs[i].remote_sdp);
        for (size_t k = 0; k < dcs[i].n_replace_http_url; k++)
            protobuf_c_message_free_unpacked(&dcs[i].replace_http_url[k]->base, NULL);
        free(dcs[i].replace_http_url);
        if (dcs[i].remote_mdc1_endpoint)
            protobuf_c_message_free_unpacked(&dcs[i].remote_mdc1_endpoint->base, NULL);
    }
}

/* create's --bootstrap / --mdc1 / --mdc1-ca, applied once the legs exist. */
struct pflags {
    size_t n;
    int opt[32];
    const char *arg[32];
};

static int pflags_add(struct pflags *pf, int opt, const char *arg)
{
    if (pf->n == sizeof(pf->opt) / sizeof(pf->opt[0])) {
        fprintf(stderr, "dcgwctl: at most %zu proxy flags\n", pf->n);
        return -1;
    }
    pf->opt[pf->n] = opt;
    pf->arg[pf->n++] = arg;
    return 0;
}

static int send_create(struct dcgw_ctlclient *c, const struct opts *o, Dcgw__CreateSession *cs,
                       const char *sdp_out)
{
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = cs;
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, &req, &resp, o->timeout_ms);
    if (r < 0) {
        fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
        return 3;
    }
    int rc = resp->error ? 1 : write_sdps(sdp_out, resp);
    dcgw_ctlfmt_response(stdout, resp, o->json);
    dcgw__response__free_unpacked(resp, NULL);
    return rc;
}

static int cmd_create(struct dcgw_ctlclient *c, const struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        {"id", required_argument, NULL, 'i'},        {"tag", required_argument, NULL, 'T'},
        {"leg", required_argument, NULL, 'l'},       {"from", required_argument, NULL, 'f'},
        {"sdp-out", required_argument, NULL, 'o'},   {"policy", required_argument, NULL, 'p'},
        {"bootstrap", required_argument, NULL, 'b'}, {"mdc1", required_argument, NULL, 'm'},
        {"mdc1-ca", required_argument, NULL, 'c'},   {NULL, 0, NULL, 0}};
    struct pflags pf = {.n = 0};
    Dcgw__Session s = DCGW__SESSION__INIT;
    Dcgw__Session *from = NULL;
    Dcgw__Leg legs[2];
    Dcgw__DcMedia dcs[2];
    Dcgw__Leg *lp[2] = {&legs[0], &legs[1]};
    const char *sdp_out = NULL;
    Dcgw__Policy *policy = NULL;
    s.legs = lp;
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'i':
            s.id = optarg;
            break;
        case 'T':
            s.tag = optarg;
            break;
        case 'o':
            sdp_out = optarg;
            break;
        case 'p':
            if (!(policy = load_policy(optarg, false)))
                return 2;
            break;
        case 'b':
        case 'm':
        case 'c':
            if (pflags_add(&pf, ch, optarg) < 0)
                return 2;
            break;
        case 'l':
            if (s.n_legs == 2) {
                fprintf(stderr, "dcgwctl: a session has at most two legs\n");
                return 2;
            }
            if (parse_leg(optarg, &legs[s.n_legs], &dcs[s.n_legs]) < 0)
                return 2;
            s.n_legs++;
            break;
        case 'f':
            if (load_session(optarg, &from) < 0)
                return 2;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = from ? from : &s;
    if (policy) {
        if (cs.session->policy && from)
            protobuf_c_message_free_unpacked(&cs.session->policy->base, NULL);
        cs.session->policy = policy;
    }
    if (!from && s.n_legs == 0) {
        fprintf(stderr, "dcgwctl: create needs --leg (or --from FILE)\n");
        return 2;
    }
    for (size_t i = 0; i < pf.n; i++)
        if (apply_leg_proxy_flag(cs.session, pf.opt[i], pf.arg[i]) < 0)
            return 2;
    int rc = send_create(c, o, &cs, sdp_out);
    if (from)
        protobuf_c_message_free_unpacked(&from->base, NULL);
    else
        free_create_args(policy, legs, dcs, s.n_legs);
    return rc;
}

/* update's --bootstrap, --mdc1, --mdc1-ca, --no-proxy, --proxy FILE into *proxy. */
static int update_proxy_flag(Dcgw__DcMedia **proxy, int ch, char *arg)
{
    if (!*proxy && ch == 'P')
        return (*proxy = load_dcmedia(arg)) ? 0 : -1;
    if (ch == 'P') {
        fprintf(stderr, "dcgwctl: --proxy FILE goes first, before the other proxy flags\n");
        return -1;
    }
    if (!*proxy && (*proxy = calloc(1, sizeof(**proxy))))
        dcgw__dc_media__init(*proxy);
    if (!*proxy)
        return -1;
    if (ch != 'N')
        return apply_proxy_flag(*proxy, ch, arg);
    (*proxy)->has_media_proxy_config = 1;
    (*proxy)->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE;
    return 0;
}

/* update ID [--leg NAME --sdp FILE] [--avatar FILE] | close-channel ID --leg NAME --stream N */
static int cmd_leg_op(struct dcgw_ctlclient *c, const struct opts *o, bool update, int argc,
                      char **argv)
{
    static const struct option lo[] = {
        {"leg", required_argument, NULL, 'l'},       {"sdp", required_argument, NULL, 's'},
        {"stream", required_argument, NULL, 'n'},    {"avatar", required_argument, NULL, 'a'},
        {"bootstrap", required_argument, NULL, 'b'}, {"mdc1", required_argument, NULL, 'm'},
        {"mdc1-ca", required_argument, NULL, 'c'},   {"no-proxy", no_argument, NULL, 'N'},
        {"proxy", required_argument, NULL, 'P'},     {NULL, 0, NULL, 0}};
    const char *leg = NULL, *sdp = NULL, *avatar = NULL;
    long stream = -1;
    int ch;
    Dcgw__DcMedia *proxy = NULL;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'l')
            leg = optarg;
        else if (ch == 's')
            sdp = optarg;
        else if (ch == 'n')
            stream = strtol(optarg, NULL, 10);
        else if (ch == 'a' && update)
            avatar = optarg;
        else if (update && strchr("bmcNP", ch)) {
            if (update_proxy_flag(&proxy, ch, optarg) < 0)
                return 2;
        } else
            return 2;
    }
    bool bad = update ? (!sdp && !avatar && !proxy) || ((sdp || proxy) && !leg)
                      : !leg || stream < 0 || stream > 65534;
    if (optind >= argc || bad) {
        fprintf(stderr, "dcgwctl: usage: %s\n",
                update ? "update ID [--leg NAME --sdp FILE] [--avatar FILE] [--leg NAME "
                         "--bootstrap STREAM=URL... --mdc1 IP:PORT --mdc1-ca FILE --no-proxy "
                         "--proxy FILE]"
                       : "close-channel ID --leg NAME --stream N (0..65534)");
        return 2;
    }
    Dcgw__Request req = DCGW__REQUEST__INIT;
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    Dcgw__CloseChannel cc = DCGW__CLOSE_CHANNEL__INIT;
    if (update) {
        up.id = argv[optind];
        up.leg = (char *)leg;
        if (sdp && !(up.remote_sdp = read_file(sdp)))
            return 2;
        if (avatar && !(up.avatar = load_avatar(avatar))) {
            free(up.remote_sdp);
            return 2;
        }
        up.dc = proxy;
        req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
        req.update_session = &up;
    } else {
        cc.id = argv[optind];
        cc.leg = (char *)leg;
        cc.has_stream_id = 1;
        cc.stream_id = (uint32_t)stream;
        req.op_case = DCGW__REQUEST__OP_CLOSE_CHANNEL;
        req.close_channel = &cc;
    }
    int rc = call(c, o, &req);
    free(up.remote_sdp);
    if (up.avatar)
        protobuf_c_message_free_unpacked(&up.avatar->base, NULL);
    if (proxy)
        protobuf_c_message_free_unpacked(&proxy->base, NULL);
    return rc;
}

/* policy ID [--leg NAME] [--set FILE | --patch FILE] */
static int cmd_policy(struct dcgw_ctlclient *c, const struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {{"leg", required_argument, NULL, 'l'},
                                       {"set", required_argument, NULL, 's'},
                                       {"patch", required_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
    const char *leg = NULL, *file = NULL;
    bool patch = false;
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'l')
            leg = optarg;
        else if ((ch == 's' || ch == 'p') && !file) {
            file = optarg;
            patch = ch == 'p';
        } else
            return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "dcgwctl: usage: policy ID [--leg NAME] [--set FILE | --patch FILE]\n");
        return 2;
    }
    Dcgw__Request req = DCGW__REQUEST__INIT;
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    Dcgw__GetSession get = DCGW__GET_SESSION__INIT;
    if (file) {
        up.id = argv[optind];
        up.leg = (char *)leg;
        up.has_policy_patch = 1;
        up.policy_patch = patch;
        if (!(up.policy = load_policy(file, patch)))
            return 2;
        req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
        req.update_session = &up;
    } else {
        get.id = argv[optind];
        req.op_case = DCGW__REQUEST__OP_GET_SESSION;
        req.get_session = &get;
    }
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, &req, &resp, o->timeout_ms);
    if (up.policy)
        protobuf_c_message_free_unpacked(&up.policy->base, NULL);
    if (r < 0) {
        fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
        return 3;
    }
    int rc = resp->error ? 1 : 0;
    if (o->json || resp->error || !resp->session)
        dcgw_ctlfmt_response(stdout, resp, o->json);
    else
        dcgw_policy_print(stdout, resp->session);
    dcgw__response__free_unpacked(resp, NULL);
    return rc;
}

static int cmd_watch(struct dcgw_ctlclient *c, const struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {{"session", required_argument, NULL, 's'},
                                       {"count", required_argument, NULL, 'n'},
                                       {"for", required_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
    Dcgw__Subscribe sub = DCGW__SUBSCRIBE__INIT;
    long count = -1;
    double seconds = -1;
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 's')
            sub.session_id = optarg;
        else if (ch == 'n')
            count = strtol(optarg, NULL, 10);
        else if (ch == 'f')
            seconds = strtod(optarg, NULL);
        else
            return 2;
    }
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_SUBSCRIBE;
    req.subscribe = &sub;
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, &req, &resp, o->timeout_ms);
    if (r < 0 || resp->error) {
        if (r == 0)
            dcgw_ctlfmt_response(stderr, resp, false);
        else
            fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
        if (resp)
            dcgw__response__free_unpacked(resp, NULL);
        return r < 0 ? 3 : 1;
    }
    dcgw__response__free_unpacked(resp, NULL);
    if (!o->json)
        fprintf(stderr, "watching events%s%s (Ctrl-C to stop)\n", sub.session_id ? " of " : "",
                sub.session_id ? sub.session_id : "");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long n = 0; count < 0 || n < count; n++) {
        int wait = -1;
        if (seconds >= 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            double left =
                seconds - ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
            if (left <= 0)
                return 0;
            wait = (int)(left * 1000) + 1;
        }
        Dcgw__Event *ev;
        r = dcgw_ctlclient_next_event(c, &ev, wait);
        if (r == DCGW_ETIMEOUT)
            return 0;
        if (r < 0) {
            fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
            return 3;
        }
        dcgw_ctlfmt_event(stdout, ev, o->json);
        fflush(stdout);
        dcgw__event__free_unpacked(ev, NULL);
    }
    return 0;
}

static int cmd_simple(struct dcgw_ctlclient *c, const struct opts *o, const char *cmd, int argc,
                      char **argv)
{
    Dcgw__Request req = DCGW__REQUEST__INIT;
    Dcgw__Ping ping = DCGW__PING__INIT;
    Dcgw__VersionRequest ver = DCGW__VERSION_REQUEST__INIT;
    Dcgw__GetSession get = DCGW__GET_SESSION__INIT;
    Dcgw__ListSessions list = DCGW__LIST_SESSIONS__INIT;
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    Dcgw__GetStats st = DCGW__GET_STATS__INIT;
    if (strcmp(cmd, "ping") == 0) {
        req.op_case = DCGW__REQUEST__OP_PING;
        req.ping = &ping;
    } else if (strcmp(cmd, "version") == 0) {
        req.op_case = DCGW__REQUEST__OP_VERSION;
        req.version = &ver;
    } else if (strcmp(cmd, "stats") == 0) {
        req.op_case = DCGW__REQUEST__OP_GET_STATS;
        req.get_stats = &st;
    } else if (strcmp(cmd, "list") == 0) {
        req.op_case = DCGW__REQUEST__OP_LIST_SESSIONS;
        req.list_sessions = &list;
        if (argc == 3 && strcmp(argv[1], "--worker") == 0) {
            list.has_worker = 1;
            list.worker = (uint32_t)strtoul(argv[2], NULL, 10);
        } else if (argc != 1) {
            fprintf(stderr, "dcgwctl: usage: list [--worker N]\n");
            return 2;
        }
    } else if (strcmp(cmd, "get") == 0 || strcmp(cmd, "close") == 0) {
        if (argc < 2) {
            fprintf(stderr, "dcgwctl: %s needs a session id\n", cmd);
            return 2;
        }
        if (cmd[0] == 'g') {
            req.op_case = DCGW__REQUEST__OP_GET_SESSION;
            get.id = argv[1];
            req.get_session = &get;
        } else {
            req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
            cl.id = argv[1];
            if (argc == 4 && strcmp(argv[2], "--reason") == 0)
                cl.reason = argv[3];
            req.close_session = &cl;
        }
    } else {
        fprintf(stderr, "dcgwctl: unknown command '%s' (dcgwctl --help)\n", cmd);
        return 2;
    }
    return call(c, o, &req);
}

/* Global options before the command. Returns -1 to go on, or the exit code to stop with
 * (--help, bad options); *argcp shrinks when --json stood after the command. */
static int parse_global(int *argcp, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
                                       {"connect", required_argument, NULL, 'C'},
                                       {"cert", required_argument, NULL, 'c'},
                                       {"key", required_argument, NULL, 'k'},
                                       {"ca", required_argument, NULL, 'a'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *sock = getenv("DCGW_SOCKET");
    /* --json may stand anywhere, also after the command. */
    int kept = 1;
    for (int i = 1; i < *argcp; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
            o->json = true;
        else
            argv[kept++] = argv[i];
    }
    int argc = *argcp = kept;
    argv[argc] = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "+s:t:h", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            sock = optarg;
            break;
        case 'C':
            o->conn.tcp = optarg;
            break;
        case 'c':
            o->conn.cert = optarg;
            break;
        case 'k':
            o->conn.key = optarg;
            break;
        case 'a':
            o->conn.ca = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 't':
            o->timeout_ms = atoi(optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (!o->conn.tcp)
        o->conn.socket = sock ? sock : "/run/dcgw/control.sock";
    return -1;
}

static int run_command(struct dcgw_ctlclient *c, const struct opts *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "create") == 0)
        return cmd_create(c, o, argc, argv);
    if (strcmp(cmd, "watch") == 0)
        return cmd_watch(c, o, argc, argv);
    if (strcmp(cmd, "policy") == 0)
        return cmd_policy(c, o, argc, argv);
    if (strcmp(cmd, "update") == 0 || strcmp(cmd, "close-channel") == 0)
        return cmd_leg_op(c, o, cmd[0] == 'u', argc, argv);
    return cmd_simple(c, o, cmd, argc, argv);
}

int main(int argc, char **argv)
{
    struct opts o = {.timeout_ms = 10000};
    int stop = parse_global(&argc, argv, &o);
    if (stop >= 0)
        return stop;
    char err[256];
    struct dcgw_ctlclient *c;
    if (dcgw_ctlclient_connect(&o.conn, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "dcgwctl: cannot connect: %s\n", err);
        return 3;
    }
    int rc = run_command(c, &o, argc - optind, argv + optind);
    dcgw_ctlclient_free(c);
    return rc;
}
