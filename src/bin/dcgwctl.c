/* dcgwctl: the operator's CLI over the control socket. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/ctl/ctlargs.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/ctl/ctlfmt.h"
#include "dcgw/ctl/ctlhelp.h"
#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/msg/policy_wire.h"

struct opts {
    struct dcgw_ctlclient_opts conn;
    bool json;
    int timeout_ms;
    struct dcgw_ctlclient *c; /* connected by the first request: usage needs no daemon */
    long long max_frame;      /* the daemon's control.max_frame; 0: not asked, -1: unknown */
};

/* A usage error of cmd: its synopsis, exit status 2. */
static int usage_error(const char *cmd)
{
    const struct dcgw_ctlhelp_cmd *h = dcgw_ctlhelp_find(cmd);
    fprintf(stderr, "dcgwctl: usage: dcgwctl [options] ");
    for (const char *p = h ? h->synopsis : "COMMAND [args]"; *p; p++)
        fprintf(stderr, *p == '\n' ? "\n       dcgwctl [options] " : "%c", *p);
    fprintf(stderr, "\n(dcgwctl %s --help)\n", h ? cmd : "");
    return 2;
}

/* A request larger than the smallest control.max_frame a daemon may have is checked against
 * the daemon's own (asked once with version): refused here, naming the limit, rather than
 * dropped with the connection by dcgwd. 0, or 1 (the exit status: not sent). */
static int fits(struct opts *o, Dcgw__Request *req)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_REQUEST;
    f.request = req;
    size_t n = protobuf_c_message_get_packed_size(&f.base);
    if (n <= DCGW_FRAME_MAX_MIN)
        return 0;
    if (o->max_frame == 0) {
        o->max_frame = -1;
        Dcgw__VersionRequest vr = DCGW__VERSION_REQUEST__INIT;
        Dcgw__Request v = DCGW__REQUEST__INIT;
        v.op_case = DCGW__REQUEST__OP_VERSION;
        v.version = &vr;
        Dcgw__Response *resp = NULL;
        if (dcgw_ctlclient_call(o->c, &v, &resp, o->timeout_ms) == 0) {
            if (resp->version && resp->version->has_max_frame)
                o->max_frame = resp->version->max_frame;
            dcgw__response__free_unpacked(resp, NULL);
        }
    }
    if (o->max_frame > 0 && n > (size_t)o->max_frame) {
        fprintf(stderr,
                "dcgwctl: the request is %zu bytes; dcgwd takes at most %lld "
                "(control.max_frame): not sent\n",
                n, o->max_frame);
        return 1;
    }
    return 0;
}

/* Sends req, connecting first if need be. 0 with *resp (dcgw__response__free_unpacked), or
 * the exit status: 3 (no connection, no answer), 1 (too large for the daemon, not sent). */
static int request(struct opts *o, Dcgw__Request *req, Dcgw__Response **resp)
{
    char err[256];
    if (!o->c && dcgw_ctlclient_connect(&o->conn, &o->c, err, sizeof(err)) < 0) {
        fprintf(stderr, "dcgwctl: cannot connect: %s\n", err);
        return 3;
    }
    int rc = fits(o, req);
    if (rc)
        return rc;
    int r = dcgw_ctlclient_call(o->c, req, resp, o->timeout_ms);
    if (r < 0) {
        fprintf(stderr, "dcgwctl: %s\n", dcgw_strerror(r));
        return 3;
    }
    return 0;
}

static int call(struct opts *o, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    int rc = request(o, req, &resp);
    if (rc)
        return rc;
    rc = resp->error ? 1 : 0;
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
        if (!f || fputs(leg->dc->local_sdp, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "dcgwctl: %s: %s (the session was created)\n", path, strerror(errno));
            return 4;
        }
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

static int send_create(struct opts *o, Dcgw__CreateSession *cs, const char *sdp_out)
{
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = cs;
    Dcgw__Response *resp = NULL;
    int rc = sdp_out && dcgw_ctlargs_out_dir(sdp_out) < 0 ? 2 : request(o, &req, &resp);
    if (rc)
        return rc;
    rc = resp->error ? 1 : write_sdps(sdp_out, resp);
    dcgw_ctlfmt_response(stdout, resp, o->json);
    dcgw__response__free_unpacked(resp, NULL);
    return rc;
}

/* What create's arguments make: the session (from --leg options, or --from FILE). */
struct create_args {
    Dcgw__Session s, *from;
    Dcgw__Leg legs[2], *lp[2];
    Dcgw__DcMedia dcs[2];
    Dcgw__Policy *policy;
    const char *sdp_out;
    struct pflags pf;
};

static void create_free(struct create_args *a)
{
    if (!a->from) {
        dcgw_ctlargs_free_legs(a->policy, a->legs, a->dcs, a->s.n_legs);
        return;
    }
    protobuf_c_message_free_unpacked(&a->from->base, NULL);
    if (a->policy) /* not given to the session */
        protobuf_c_message_free_unpacked(&a->policy->base, NULL);
}

/* 0, or the exit status of a usage error (said on stderr). */
static int create_parse(struct create_args *a, int argc, char **argv)
{
    static const struct option lo[] = {
        {"id", required_argument, NULL, 'i'},        {"tag", required_argument, NULL, 'T'},
        {"leg", required_argument, NULL, 'l'},       {"from", required_argument, NULL, 'f'},
        {"sdp-out", required_argument, NULL, 'o'},   {"policy", required_argument, NULL, 'p'},
        {"bootstrap", required_argument, NULL, 'b'}, {"mdc1", required_argument, NULL, 'm'},
        {"mdc1-ca", required_argument, NULL, 'c'},   {NULL, 0, NULL, 0}};
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'i')
            a->s.id = optarg;
        else if (ch == 'T')
            a->s.tag = optarg;
        else if (ch == 'o')
            a->sdp_out = optarg;
        else if (ch == 'p' && !a->policy) {
            if (!(a->policy = dcgw_ctlargs_policy(optarg, false)))
                return 2;
        } else if (ch == 'b' || ch == 'm' || ch == 'c') {
            if (pflags_add(&a->pf, ch, optarg) < 0)
                return 2;
        } else if (ch == 'l' && a->s.n_legs == 2) {
            fprintf(stderr, "dcgwctl: a session has at most two legs\n");
            return 2;
        } else if (ch == 'l') {
            if (dcgw_ctlargs_leg(optarg, &a->legs[a->s.n_legs], &a->dcs[a->s.n_legs]) < 0)
                return 2;
            a->s.n_legs++;
        } else if (ch == 'f' && !a->from) {
            if (dcgw_ctlargs_session(optarg, &a->from) < 0)
                return 2;
        } else {
            return usage_error("create");
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dcgwctl: create: unexpected argument '%s'\n", argv[optind]);
        return usage_error("create");
    }
    if (!a->from && a->s.n_legs == 0) {
        fprintf(stderr, "dcgwctl: create needs --leg (or --from FILE)\n");
        return 2;
    }
    return 0;
}

static int cmd_create(struct opts *o, int argc, char **argv)
{
    struct create_args a = {.s = DCGW__SESSION__INIT, .lp = {&a.legs[0], &a.legs[1]}};
    a.s.legs = a.lp;
    int rc = create_parse(&a, argc, argv);
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = a.from ? a.from : &a.s;
    if (rc == 0 && a.policy) {
        if (cs.session->policy && a.from)
            protobuf_c_message_free_unpacked(&cs.session->policy->base, NULL);
        cs.session->policy = a.policy;
        if (a.from)
            a.policy = NULL; /* the session owns it now */
    }
    for (size_t i = 0; rc == 0 && i < a.pf.n; i++)
        if (dcgw_ctlargs_leg_proxy_flag(cs.session, a.pf.opt[i], a.pf.arg[i]) < 0)
            rc = 2;
    if (rc == 0)
        rc = send_create(o, &cs, a.sdp_out);
    create_free(&a);
    return rc;
}

/* update ID [--leg NAME --sdp FILE] [--avatar FILE] | close-channel ID --leg NAME --stream N */
static int cmd_leg_op(struct opts *o, bool update, int argc, char **argv)
{
    static const struct option lo[] = {{"leg", required_argument, NULL, 'l'},
                                       {"sdp", required_argument, NULL, 's'},
                                       {"stream", required_argument, NULL, 'n'},
                                       {"avatar", required_argument, NULL, 'a'},
                                       {"bootstrap", required_argument, NULL, 'b'},
                                       {"mdc1", required_argument, NULL, 'm'},
                                       {"mdc1-ca", required_argument, NULL, 'c'},
                                       {"no-proxy", no_argument, NULL, 'N'},
                                       {"proxy", required_argument, NULL, 'P'},
                                       {"relay", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
    const char *leg = NULL, *sdp = NULL, *avatar = NULL, *relay = NULL;
    long long stream = -1;
    int ch;
    Dcgw__DcMedia *proxy = NULL;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'l')
            leg = optarg;
        else if (ch == 's')
            sdp = optarg;
        else if (ch == 'n') {
            if (dcgw_ctlargs_number("--stream", optarg, 0, DCGW_STREAM_ID_MAX, &stream) < 0)
                return 2;
        } else if (ch == 'a' && update)
            avatar = optarg;
        else if (ch == 'r' && update)
            relay = optarg;
        else if (update && strchr("bmcNP", ch)) {
            if (dcgw_ctlargs_update_proxy_flag(&proxy, ch, optarg) < 0)
                return 2;
        } else
            return usage_error(argv[0]);
    }
    bool bad = update ? (!sdp && !avatar && !proxy && !relay) || ((sdp || proxy) && !leg)
                      : !leg || stream < 0;
    if (argc - optind != 1 || bad)
        return usage_error(argv[0]);
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
        if (relay && !(up.relay = dcgw_ctlargs_relay(relay))) {
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
    int rc = call(o, &req);
    free(up.remote_sdp);
    if (up.avatar)
        protobuf_c_message_free_unpacked(&up.avatar->base, NULL);
    if (up.relay)
        protobuf_c_message_free_unpacked(&up.relay->base, NULL);
    if (proxy)
        protobuf_c_message_free_unpacked(&proxy->base, NULL);
    return rc;
}

/* policy ID [--leg NAME] [--set FILE | --patch FILE] */
static int cmd_policy(struct opts *o, int argc, char **argv)
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
            return usage_error("policy");
    }
    if (argc - optind != 1)
        return usage_error("policy");
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
    int rc = request(o, &req, &resp);
    if (up.policy)
        protobuf_c_message_free_unpacked(&up.policy->base, NULL);
    if (rc)
        return rc;
    rc = resp->error ? 1 : 0;
    if (o->json || resp->error || !resp->session)
        dcgw_ctlfmt_response(stdout, resp, o->json);
    else
        dcgw_policy_print(stdout, resp->session);
    dcgw__response__free_unpacked(resp, NULL);
    return rc;
}

static int cmd_watch(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {{"session", required_argument, NULL, 's'},
                                       {"count", required_argument, NULL, 'n'},
                                       {"for", required_argument, NULL, 'f'},
                                       {"since", required_argument, NULL, 'S'},
                                       {NULL, 0, NULL, 0}};
    long long since;
    Dcgw__Subscribe sub = DCGW__SUBSCRIBE__INIT;
    long long count = -1;
    double seconds = -1;
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 's')
            sub.session_id = optarg;
        else if (ch == 'n' && dcgw_ctlargs_number("--count", optarg, 1, INT64_MAX, &count) < 0)
            return 2;
        else if (ch == 'f' && dcgw_ctlargs_seconds("--for", optarg, 1e9, &seconds) < 0)
            return 2;
        else if (ch == 'S' && dcgw_ctlargs_number("--since", optarg, 0, INT64_MAX, &since) < 0)
            return 2;
        else if (ch == 'S') {
            sub.has_from_seq = 1;
            sub.from_seq = (uint64_t)since;
        } else if (ch != 's' && ch != 'n' && ch != 'f')
            return usage_error("watch");
    }
    if (optind < argc)
        return usage_error("watch");
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_SUBSCRIBE;
    req.subscribe = &sub;
    Dcgw__Response *resp = NULL;
    int r = request(o, &req, &resp);
    if (r)
        return r;
    if (resp->error) {
        dcgw_ctlfmt_response(stderr, resp, false);
        dcgw__response__free_unpacked(resp, NULL);
        return 1;
    }
    const Dcgw__Subscribed *sd = resp->subscribed;
    if (sub.has_from_seq && sd && sd->has_first_seq && sd->first_seq > sub.from_seq + 1)
        fprintf(stderr,
                "dcgwctl: events %llu..%llu are no longer held by dcgwd (control.event_replay)\n",
                (unsigned long long)sub.from_seq + 1, (unsigned long long)sd->first_seq - 1);
    dcgw__response__free_unpacked(resp, NULL);
    if (!o->json)
        fprintf(stderr, "watching events%s%s (Ctrl-C to stop)\n", sub.session_id ? " of " : "",
                sub.session_id ? sub.session_id : "");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long long n = 0; count < 0 || n < count; n++) {
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
        r = dcgw_ctlclient_next_event(o->c, &ev, wait);
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

/* ping, version, stats (no arguments), list [--worker N], get ID, close ID [--reason TEXT] */
static int cmd_simple(struct opts *o, int argc, char **argv)
{
    static const struct option lo[] = {{"worker", required_argument, NULL, 'w'},
                                       {"reason", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
    const char *cmd = argv[0];
    Dcgw__Request req = DCGW__REQUEST__INIT;
    Dcgw__Ping ping = DCGW__PING__INIT;
    Dcgw__VersionRequest ver = DCGW__VERSION_REQUEST__INIT;
    Dcgw__GetSession get = DCGW__GET_SESSION__INIT;
    Dcgw__ListSessions list = DCGW__LIST_SESSIONS__INIT;
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    Dcgw__GetStats st = DCGW__GET_STATS__INIT;
    bool is_list = strcmp(cmd, "list") == 0, is_close = strcmp(cmd, "close") == 0;
    bool by_id = is_close || strcmp(cmd, "get") == 0;
    long long worker;
    int ch;
    optind = 0; /* 0: glibc re-initialises, so options may follow the ID */
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'w' && is_list) {
            if (dcgw_ctlargs_number("--worker", optarg, 0, DCGW_MAX_WORKERS - 1, &worker) < 0)
                return 2;
            list.has_worker = 1;
            list.worker = (uint32_t)worker;
        } else if (ch == 'r' && is_close) {
            cl.reason = optarg;
        } else {
            return usage_error(cmd);
        }
    }
    if (argc - optind != (by_id ? 1 : 0))
        return usage_error(cmd);
    if (strcmp(cmd, "ping") == 0) {
        req.op_case = DCGW__REQUEST__OP_PING;
        req.ping = &ping;
    } else if (strcmp(cmd, "version") == 0) {
        req.op_case = DCGW__REQUEST__OP_VERSION;
        req.version = &ver;
    } else if (strcmp(cmd, "stats") == 0) {
        req.op_case = DCGW__REQUEST__OP_GET_STATS;
        req.get_stats = &st;
    } else if (is_list) {
        req.op_case = DCGW__REQUEST__OP_LIST_SESSIONS;
        req.list_sessions = &list;
    } else if (is_close) {
        req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
        cl.id = argv[optind];
        req.close_session = &cl;
    } else {
        req.op_case = DCGW__REQUEST__OP_GET_SESSION;
        get.id = argv[optind];
        req.get_session = &get;
    }
    return call(o, &req);
}

/* Global options before the command. Returns -1 to go on, or the exit code to stop with
 * (--help, --version, bad options); *argcp shrinks when --json stood after the command. */
static int parse_global(int *argcp, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
                                       {"connect", required_argument, NULL, 'C'},
                                       {"cert", required_argument, NULL, 'c'},
                                       {"key", required_argument, NULL, 'k'},
                                       {"ca", required_argument, NULL, 'a'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"version", no_argument, NULL, 'V'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"help-man", no_argument, NULL, 'M'},
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
    long long ms;
    while ((ch = getopt_long(argc, argv, "+s:t:hV", lo, NULL)) != -1) {
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
            if (dcgw_ctlargs_number("--timeout", optarg, 1, 3600000, &ms) < 0)
                return 2;
            o->timeout_ms = (int)ms;
            break;
        case 'V':
            printf("dcgwctl %s\n", DCGW_VERSION);
            return 0;
        case 'h':
            dcgw_ctlhelp_usage(stdout);
            return 0;
        case 'M':
            dcgw_ctlhelp_man(stdout, DCGW_VERSION);
            return 0;
        default:
            dcgw_ctlhelp_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        dcgw_ctlhelp_usage(stderr);
        return 2;
    }
    if (!o->conn.tcp)
        o->conn.socket = sock ? sock : "/run/dcgw/control.sock";
    return -1;
}

/* COMMAND ... --help (or -h) asks for the command's help, not the daemon. */
static bool asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int run_command(struct opts *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "help") == 0) {
        if (argc == 1) {
            dcgw_ctlhelp_usage(stdout);
            return 0;
        }
        if (argc > 2)
            return usage_error("help");
        cmd = argv[1];
    }
    if (!dcgw_ctlhelp_find(cmd)) {
        fprintf(stderr, "dcgwctl: unknown command '%s' (dcgwctl --help)\n", cmd);
        return 2;
    }
    if (cmd != argv[0] || asks_help(argc, argv)) {
        dcgw_ctlhelp_command(stdout, cmd);
        return 0;
    }
    if (strcmp(cmd, "create") == 0)
        return cmd_create(o, argc, argv);
    if (strcmp(cmd, "watch") == 0)
        return cmd_watch(o, argc, argv);
    if (strcmp(cmd, "policy") == 0)
        return cmd_policy(o, argc, argv);
    if (strcmp(cmd, "update") == 0 || strcmp(cmd, "close-channel") == 0)
        return cmd_leg_op(o, cmd[0] == 'u', argc, argv);
    return cmd_simple(o, argc, argv);
}

int main(int argc, char **argv)
{
    struct opts o = {.timeout_ms = 10000};
    int stop = parse_global(&argc, argv, &o);
    if (stop >= 0)
        return stop;
    int rc = run_command(&o, argc - optind, argv + optind);
    if (o.c)
        dcgw_ctlclient_free(o.c);
    return rc;
}
