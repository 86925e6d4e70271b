/* dcgwctl: the operator's CLI over the control socket. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/ctl/ctlargs.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/ctl/ctlfmt.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/policy_wire.h"

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
            if (!(policy = dcgw_ctlargs_policy(optarg, false)))
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
            if (dcgw_ctlargs_leg(optarg, &legs[s.n_legs], &dcs[s.n_legs]) < 0)
                return 2;
            s.n_legs++;
            break;
        case 'f':
            if (dcgw_ctlargs_session(optarg, &from) < 0)
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
        if (dcgw_ctlargs_leg_proxy_flag(cs.session, pf.opt[i], pf.arg[i]) < 0)
            return 2;
    int rc = send_create(c, o, &cs, sdp_out);
    if (from)
        protobuf_c_message_free_unpacked(&from->base, NULL);
    else
        dcgw_ctlargs_free_legs(policy, legs, dcs, s.n_legs);
    return rc;
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
            if (dcgw_ctlargs_update_proxy_flag(&proxy, ch, optarg) < 0)
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
        if (sdp && !(up.remote_sdp = dcgw_ctlargs_read_file(sdp)))
            return 2;
        if (avatar && !(up.avatar = dcgw_ctlargs_avatar(avatar))) {
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
        if (!(up.policy = dcgw_ctlargs_policy(file, patch)))
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
