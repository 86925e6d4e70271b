/* Bootstrap HTTP proxy (issue 15, docs/bootstrap.md): requests/s and MB/s of HTTP through
 * dcgw's bootstrap proxy against the same server fetched directly with libcurl, in one run,
 * with dcgwd's CPU per request and per MB.
 *
 *   bench process                                   dcgwd worker          nginx-light
 *   client "ue" -- stream 0 "http" (DTLS/SCTP) --> [http_proxy, mdc1] --HTTP/1.1--> :P
 *   libcurl easy handle (keep-alive) --------------------------------------HTTP/1.1--> :P
 *
 * The server is Debian's nginx-light serving two files (a small "app list" and a large
 * "application"). Both paths fetch them one request at a time (the next once the previous
 * response is whole) over one kept-alive connection, and take turns (ABBA) so that a change
 * in the machine's load hits both alike. Every response is checked: status 200 and the
 * exact length (the body's bytes against the file for the large one). */
#include <curl/curl.h>
#include <http_parser.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"

enum { BT_SMALL, BT_LARGE, BT_LOADS };
enum { BT_DIRECT, BT_PROXY, BT_PATHS };
enum {
    BT_SMALL_SIZE = 300,
    BT_SETUP_TIMEOUT_MS = 20000,
    BT_REQ_TIMEOUT_MS = 30000,
    BT_CTL_TIMEOUT_MS = 5000,
};
static const char *load_name[BT_LOADS] = {"app-list", "application"};
static const char *path_name[BT_PATHS] = {"direct (curl)", "dcgw proxy"};
static const char *path_key[BT_PATHS] = {"direct", "proxy"};

struct bt_meas {
    uint64_t requests, bytes, ns, gw_cpu, self_cpu, nginx_cpu;
};

struct bt {
    struct bench *b;
    int nginx_pid;
    uint16_t port;
    char dir[300];
    uint8_t *large;
    size_t large_size;
    /* the UE */
    struct dcgw_client *c;
    struct dcgw_dc_channel *ch;
    char *offer, *answer;
    struct dcgw_ctlclient *ctl;
    char sid[64];
    bool created;
    http_parser hp;
    http_parser_settings hs;
    uint64_t body_bytes, responses;
    unsigned status;
    bool mismatch;
    int load; /* what the current request fetches */
    /* libcurl */
    CURL *curl;
    uint64_t curl_bytes;
    char fail[400];
};

static void bt_fail(struct bt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bt_fail(struct bt *t, const char *fmt, ...)
{
    if (t->fail[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->fail, sizeof(t->fail), fmt, ap);
    va_end(ap);
}

/* ---- nginx-light, the DCSF stand-in */

static uint16_t tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool can_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int nginx_start(struct bt *t)
{
    const struct bench_opts *o = &t->b->o;
    char path[400], conf[2048];
    snprintf(t->dir, sizeof(t->dir), "%s/bootstrap", t->b->workdir);
    mkdir(t->dir, 0755);
    char small[BT_SMALL_SIZE];
    memset(small, 'a', sizeof(small));
    snprintf(path, sizeof(path), "%s/apps.json", t->dir);
    int r = write_file(path, small, sizeof(small));
    snprintf(path, sizeof(path), "%s/app.bin", t->dir);
    if (r == 0)
        r = write_file(path, t->large, t->large_size);
    t->port = tcp_port();
    int n = snprintf(conf, sizeof(conf),
                     "master_process off;\ndaemon off;\npid %s/nginx.pid;\n"
                     "error_log %s/error.log;\nevents { worker_connections 256; }\n"
                     "http {\n access_log off;\n client_body_temp_path %s;\n"
                     " proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s;\n"
                     " scgi_temp_path %s;\n keepalive_requests 1000000;\n"
                     " server { listen 127.0.0.1:%u; root %s; }\n}\n",
                     t->dir, t->dir, t->dir, t->dir, t->dir, t->dir, t->dir, t->port, t->dir);
    snprintf(path, sizeof(path), "%s/nginx.conf", t->dir);
    if (r < 0 || t->port == 0 || n < 0 || (size_t)n >= sizeof(conf) ||
        write_file(path, conf, (size_t)n) < 0) {
        bt_fail(t, "bootstrap: cannot write nginx's files in %s", t->dir);
        return -1;
    }
    int pid = fork();
    if (pid == 0) {
        execl(o->nginx, o->nginx, "-q", "-c", path, "-p", t->dir, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        bt_fail(t, "bootstrap: fork: %s", strerror(errno));
        return -1;
    }
    t->nginx_pid = pid;
    bench_register_child(pid);
    for (int i = 0; i < 300 && !can_connect(t->port); i++)
        usleep(10000);
    if (!can_connect(t->port)) {
        bt_fail(t, "bootstrap: nginx (%s) did not listen on 127.0.0.1:%u", o->nginx, t->port);
        return -1;
    }
    return 0;
}

static void nginx_stop(struct bt *t)
{
    if (t->nginx_pid > 0) {
        kill(t->nginx_pid, SIGTERM);
        waitpid(t->nginx_pid, NULL, 0);
        t->nginx_pid = 0;
    }
}

/* ---- the UE on stream 0: HTTP responses read with http-parser */

static int hp_body(http_parser *hp, const char *at, size_t n)
{
    struct bt *t = hp->data;
    if (t->load == BT_LARGE &&
        (t->body_bytes + n > t->large_size || memcmp(t->large + t->body_bytes, at, n) != 0))
        t->mismatch = true;
    t->body_bytes += n;
    return 0;
}

static int hp_complete(http_parser *hp)
{
    struct bt *t = hp->data;
    t->status = hp->status_code;
    t->responses++;
    return 0;
}

static void cl_open(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    struct bt *t = ud;
    (void)c;
    if (ch->params.id == 0)
        t->ch = ch;
}

static void cl_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *m, size_t n)
{
    struct bt *t = ud;
    (void)c;
    (void)is_text;
    if (ch != t->ch)
        return;
    size_t used = http_parser_execute(&t->hp, &t->hs, (const char *)m, n);
    if (used != n || HTTP_PARSER_ERRNO(&t->hp) != HPE_OK)
        bt_fail(t, "bootstrap: response not HTTP: %s",
                http_errno_description(HTTP_PARSER_ERRNO(&t->hp)));
}

static void cl_closed(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    struct bt *t = ud;
    (void)c;
    if (ch == t->ch) {
        t->ch = NULL;
        bt_fail(t, "bootstrap: dcgw closed stream 0");
    }
}

static void cl_failed(void *ud, struct dcgw_client *c, int err, const char *reason)
{
    (void)c;
    bt_fail(ud, "bootstrap: the UE failed: %s (%s)", reason, dcgw_err_name(err));
}

static bool ch_open(struct bench *b, void *arg)
{
    struct bt *t = arg;
    (void)b;
    return t->fail[0] || t->ch;
}

static int create_session(struct bt *t)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", t->port);
    Dcgw__HttpProxyBinding bind = DCGW__HTTP_PROXY_BINDING__INIT, *binds[1] = {&bind};
    bind.has_stream_id = 1;
    bind.stream_id = 0;
    bind.url = url;
    Dcgw__DcMedia dc = DCGW__DC_MEDIA__INIT;
    dc.has_mode = dc.has_media_proxy_config = 1;
    dc.mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
    dc.remote_sdp = t->offer;
    dc.media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    dc.replace_http_url = binds;
    dc.n_replace_http_url = 1;
    Dcgw__Leg leg = DCGW__LEG__INIT, *legs[1] = {&leg};
    leg.name = "ue";
    leg.dc = &dc;
    struct bench_allow_all allow;
    bench_allow_all_init(&allow);
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = t->sid;
    s.legs = legs;
    s.n_legs = 1;
    s.policy = &allow.pol;
    s.tag = "dcgw-bench bootstrap";
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(t->ctl, &req, &resp, BT_CTL_TIMEOUT_MS);
    if (r < 0 || resp->error) {
        bt_fail(t, "bootstrap: create_session: %s",
                r < 0                  ? dcgw_strerror(r)
                : resp->error->message ? resp->error->message
                                       : "error");
    } else {
        t->created = true;
        const Dcgw__Session *got = resp->session;
        if (got && got->n_legs && got->legs[0]->dc && got->legs[0]->dc->local_sdp)
            t->answer = strdup(got->legs[0]->dc->local_sdp);
    }
    if (resp)
        dcgw__response__free_unpacked(resp, NULL);
    return t->answer ? 0 : -1;
}

static int ue_setup(struct bt *t)
{
    struct bench *b = t->b;
    char err[300];
    struct dcgw_ctlclient_opts co = {.socket = gw_socket_path(b->gw)};
    if (dcgw_ctlclient_connect(&co, &t->ctl, err, sizeof(err)) < 0) {
        bt_fail(t, "bootstrap: control connection: %s", err);
        return -1;
    }
    snprintf(t->sid, sizeof(t->sid), "bench-%llx-bootstrap", (unsigned long long)b->run_id);
    struct sockaddr_storage bind;
    dcgw_addr_from("127.0.0.1", 0, &bind);
    struct dcgw_sdp_dcmap map;
    bench_dcmap(&b->o, &map, 1);
    map.stream_id = 0; /* TS 26.114 6.2.10: the local network's bootstrap channel */
    snprintf(map.label, sizeof(map.label), "bootstrap");
    snprintf(map.subprotocol, sizeof(map.subprotocol), "http");
    struct dcgw_client_settings cs =
        bench_client_settings(&b->o, &bind, bench_sctp_port(b), &map, 1, false, false);
    cs.nodelay = true; /* as Chromium's usrsctp: a UE's requests go at once */
    struct dcgw_client_cbs cbs = {.ud = t,
                                  .on_channel_open = cl_open,
                                  .on_message = cl_message,
                                  .on_channel_closed = cl_closed,
                                  .on_failed = cl_failed};
    int r = dcgw_client_new(b->loop, b->ctx, &cs, &cbs, &t->c);
    if (r == 0 && !(t->offer = malloc(DCGW_SDP_TEXT_MAX)))
        r = DCGW_ENOMEM;
    if (r == 0)
        r = dcgw_client_offer(t->c, t->offer, DCGW_SDP_TEXT_MAX);
    if (r < 0) {
        bt_fail(t, "bootstrap: the UE: %s", dcgw_strerror(r));
        return -1;
    }
    if (create_session(t) < 0)
        return -1;
    if ((r = dcgw_client_start(t->c, t->answer, strlen(t->answer))) < 0)
        bt_fail(t, "bootstrap: dcgw's answer: %s", dcgw_strerror(r));
    if (!t->fail[0] && !bench_run_until(b, ch_open, t, BT_SETUP_TIMEOUT_MS))
        bt_fail(t, "bootstrap: stream 0 did not open");
    http_parser_settings_init(&t->hs);
    t->hs.on_body = hp_body;
    t->hs.on_message_complete = hp_complete;
    http_parser_init(&t->hp, HTTP_RESPONSE);
    t->hp.data = t;
    return t->fail[0] ? -1 : 0;
}

static bool response_done(struct bench *b, void *arg)
{
    struct bt *t = arg;
    (void)b;
    return t->fail[0] || t->responses > 0;
}

/* One request through the proxy, to its whole response. */
static int proxy_get(struct bt *t, int load)
{
    static const char *req[BT_LOADS] = {"GET /apps.json HTTP/1.1\r\nHost: bootstrap\r\n\r\n",
                                        "GET /app.bin HTTP/1.1\r\nHost: bootstrap\r\n\r\n"};
    t->load = load;
    t->responses = t->body_bytes = 0;
    int r = dcgw_dc_send(dcgw_client_dc(t->c), t->ch, false, (const uint8_t *)req[load],
                         strlen(req[load]));
    if (r < 0)
        bt_fail(t, "bootstrap: sending a request: %s", dcgw_strerror(r));
    /* the client's datagrams leave at the loop's check phase: get there before blocking
     * (otherwise the request waits in the queue for the next timer) */
    uv_run(t->b->loop, UV_RUN_NOWAIT);
    if (!t->fail[0] && !bench_run_until(t->b, response_done, t, BT_REQ_TIMEOUT_MS))
        bt_fail(t, "bootstrap: no response within %d ms", BT_REQ_TIMEOUT_MS);
    size_t want = load == BT_LARGE ? t->large_size : BT_SMALL_SIZE;
    if (!t->fail[0] && (t->status != 200 || t->body_bytes != want || t->mismatch))
        bt_fail(t, "bootstrap: through dcgw: status %u, %llu of %zu bytes%s", t->status,
                (unsigned long long)t->body_bytes, want, t->mismatch ? ", altered" : "");
    return t->fail[0] ? -1 : 0;
}

/* ---- the direct path: libcurl, one kept-alive connection */

static size_t curl_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct bt *t = ud;
    size_t n = size * nmemb;
    if (t->load == BT_LARGE &&
        (t->curl_bytes + n > t->large_size || memcmp(t->large + t->curl_bytes, p, n) != 0))
        t->mismatch = true;
    t->curl_bytes += n;
    return n;
}

static int direct_get(struct bt *t, int load)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/%s", t->port,
             load == BT_LARGE ? "app.bin" : "apps.json");
    t->load = load;
    t->curl_bytes = 0;
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    CURLcode rc = curl_easy_perform(t->curl);
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    size_t want = load == BT_LARGE ? t->large_size : BT_SMALL_SIZE;
    if (rc != CURLE_OK || status != 200 || t->curl_bytes != want || t->mismatch)
        bt_fail(t, "bootstrap: direct: %s, status %ld, %llu of %zu bytes", curl_easy_strerror(rc),
                status, (unsigned long long)t->curl_bytes, want);
    return t->fail[0] ? -1 : 0;
}

/* ---- measurement */

static int measure(struct bt *t, int path, int load, unsigned count, struct bt_meas *m)
{
    struct bench *b = t->b;
    uint64_t gw0 = gw_cpu_ns(b->gw), self0 = proc_cpu_ns(getpid());
    uint64_t ng0 = proc_cpu_ns(t->nginx_pid), t0 = bench_now_ns();
    for (unsigned i = 0; i < count; i++) {
        int r = path == BT_PROXY ? proxy_get(t, load) : direct_get(t, load);
        if (r < 0)
            return -1;
    }
    uint64_t t1 = bench_now_ns();
    if (m) {
        m->requests += count;
        m->bytes += (uint64_t)count * (load == BT_LARGE ? t->large_size : BT_SMALL_SIZE);
        m->ns += t1 - t0;
        m->gw_cpu += gw_cpu_ns(b->gw) - gw0;
        m->self_cpu += proc_cpu_ns(getpid()) - self0;
        m->nginx_cpu += proc_cpu_ns(t->nginx_pid) - ng0;
    }
    return 0;
}

static json_t *point(int path, int load, const struct bt_meas *m)
{
    double s = (double)m->ns / 1e9, mb = (double)m->bytes / 1e6;
    return json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "path", path_key[path],
                     "load", load_name[load], "requests", (json_int_t)m->requests, "bytes",
                     (json_int_t)m->bytes, "seconds", jnum(s), "requests_per_s",
                     jnum((double)m->requests / s), "mb_per_s", jnum(mb / s),
                     "dcgwd_cpu_ns_per_request", jnum((double)m->gw_cpu / (double)m->requests),
                     "dcgwd_cpu_ns_per_mb", jnum((double)m->gw_cpu / mb),
                     "client_cpu_ns_per_request", jnum((double)m->self_cpu / (double)m->requests),
                     "server_cpu_ns_per_request", jnum((double)m->nginx_cpu / (double)m->requests));
}

static void summary(struct bt *t, json_t *res, struct bt_meas m[BT_PATHS][BT_LOADS])
{
    struct bench *b = t->b;
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_row(b, "%s",
               "load         path            requests      req/s      MB/s  dcgwd cpu/req(us)"
               "  dcgwd cpu/MB(ms)  client cpu/req(us)");
    for (int l = 0; l < BT_LOADS; l++)
        for (int p = 0; p < BT_PATHS; p++) {
            const struct bt_meas *x = &m[p][l];
            double s = (double)x->ns / 1e9, mb = (double)x->bytes / 1e6;
            report_row(b, "%-12s %-14s %9llu %10.1f %9.1f %18.1f %17.2f %19.1f", load_name[l],
                       path_name[p], (unsigned long long)x->requests, (double)x->requests / s,
                       mb / s, (double)x->gw_cpu / (double)x->requests / 1e3,
                       (double)x->gw_cpu / mb / 1e6,
                       (double)x->self_cpu / (double)x->requests / 1e3);
            json_array_append_new(pts, point(p, l, x));
        }
    double rq = ((double)m[BT_PROXY][BT_SMALL].requests / (double)m[BT_PROXY][BT_SMALL].ns) /
                ((double)m[BT_DIRECT][BT_SMALL].requests / (double)m[BT_DIRECT][BT_SMALL].ns);
    double mbr = ((double)m[BT_PROXY][BT_LARGE].bytes / (double)m[BT_PROXY][BT_LARGE].ns) /
                 ((double)m[BT_DIRECT][BT_LARGE].bytes / (double)m[BT_DIRECT][BT_LARGE].ns);
    report_row(b, "proxy/direct: app-list req/s %.2fx, application MB/s %.2fx", rq, mbr);
    json_object_set_new(res, "ratio",
                        json_pack("{s:o,s:o}", "requests_per_s", jnum(rq), "mb_per_s", jnum(mbr)));
}

static void teardown(struct bt *t)
{
    if (t->created && t->ctl) {
        Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
        cl.id = t->sid;
        Dcgw__Request req = DCGW__REQUEST__INIT;
        req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
        req.close_session = &cl;
        Dcgw__Response *resp = NULL;
        if (dcgw_ctlclient_call(t->ctl, &req, &resp, BT_CTL_TIMEOUT_MS) == 0)
            dcgw__response__free_unpacked(resp, NULL);
    }
    dcgw_client_free(t->c);
    for (int i = 0; i < 4; i++)
        uv_run(t->b->loop, UV_RUN_NOWAIT);
    dcgw_ctlclient_free(t->ctl);
    if (t->curl)
        curl_easy_cleanup(t->curl);
    nginx_stop(t);
    free(t->offer);
    free(t->answer);
    free(t->large);
}

static int run(struct bt *t, struct bt_meas m[BT_PATHS][BT_LOADS])
{
    const struct bench_opts *o = &t->b->o;
    if (nginx_start(t) < 0 || ue_setup(t) < 0)
        return -1;
    if (!(t->curl = curl_easy_init())) {
        bt_fail(t, "bootstrap: curl_easy_init failed");
        return -1;
    }
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    /* unmeasured: connections up, buffers at their working size */
    for (int p = 0; p < BT_PATHS; p++)
        if (measure(t, p, BT_SMALL, 10, NULL) < 0 || measure(t, p, BT_LARGE, 1, NULL) < 0)
            return -1;
    for (unsigned round = 0; round < o->repeat * 2; round++) {
        int first = round % 2 == 0 ? BT_DIRECT : BT_PROXY; /* ABBA */
        for (int k = 0; k < 2; k++) {
            int p = k == 0 ? first : !first;
            if (measure(t, p, BT_SMALL, o->boot_requests, &m[p][BT_SMALL]) < 0 ||
                measure(t, p, BT_LARGE, o->boot_transfers, &m[p][BT_LARGE]) < 0)
                return -1;
        }
        bench_progress(t->b, "bootstrap: %u of %u rounds", round + 1, o->repeat * 2);
    }
    return 0;
}

int scen_bootstrap(struct bench *b, json_t *res)
{
    const struct bench_opts *o = &b->o;
    if (!b->gw || access(o->nginx, X_OK) != 0) {
        json_object_set_new(res, "status", json_string("skipped"));
        json_object_set_new(res, "reason",
                            json_string(!b->gw ? "no dcgwd (it failed or died earlier)"
                                               : "no nginx (nginx-light)"));
        return 0;
    }
    struct bt *t = calloc(1, sizeof(*t));
    struct bt_meas(*m)[BT_LOADS] = calloc(BT_PATHS, sizeof(*m));
    if (!t || !m || !(t->large = malloc(o->boot_size ? o->boot_size : 1))) {
        free(t ? t->large : NULL);
        free(t);
        free(m);
        return -1;
    }
    t->b = b;
    t->large_size = o->boot_size;
    for (size_t i = 0; i < t->large_size; i++)
        t->large[i] = (uint8_t)(i * 7 + (i >> 9));
    report_table_header(b,
                        "bootstrap HTTP proxy: the UE's HTTP through dcgw to nginx-light, "
                        "against curl straight to it",
                        "");
    report_row(b, "app list %d B x %u, application %zu B x %u, per path and round; %u rounds",
               BT_SMALL_SIZE, o->boot_requests, o->boot_size, o->boot_transfers, o->repeat * 2);
    json_object_set_new(res, "config",
                        json_pack("{s:i,s:i,s:I,s:i,s:i,s:s}", "app_list_bytes", BT_SMALL_SIZE,
                                  "app_list_requests", (int)o->boot_requests, "application_bytes",
                                  (json_int_t)o->boot_size, "application_transfers",
                                  (int)o->boot_transfers, "rounds", (int)(o->repeat * 2), "server",
                                  o->nginx));
    int r = run(t, m);
    if (r == 0)
        summary(t, res, m);
    if (t->fail[0]) {
        report_row(b, "FAILED: %s", t->fail);
        json_object_set_new(res, "status", json_string("failed"));
        json_object_set_new(res, "reason", json_string(t->fail));
    } else {
        json_object_set_new(res, "status", json_string("ok"));
    }
    r = t->fail[0] ? -1 : 0;
    teardown(t);
    free(t);
    free(m);
    return r;
}
