/* The peer comparison: Debian's Janus with the echotest plugin, driven over its HTTP API
 * (janus.transport.http) with a minimal blocking HTTP/1.0 client (no chunked answers to decode) and
 * jansson.
 *
 * Janus leaves loopback out when it gathers candidates, so main.c runs the whole bench in
 * a private network namespace with a veth interface (JANUS_IFACE) carrying the Janus
 * address; Janus's ice_enforce_list names that interface. Janus runs as ICE-lite, like
 * dcgw, and answers our controlling checks. Its configuration is written here from the
 * Debian defaults (/etc/janus), with every listener on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/base/error.h"

extern char **environ;

enum { JANUS_HTTP_PORT = 8088, HTTP_MAX = 1 << 20, HTTP_TIMEOUT_S = 10 };

#define JANUS_IFACE  "dcgwb0"
#define JANUS_LIBDIR "/usr/lib/x86_64-linux-gnu/janus"

struct janus {
    pid_t pid;
    struct sockaddr_in bind; /* where clients of Janus pairs bind */
    char dir[300];
};

static int write_file(const char *dir, const char *name, const char *text);

/* ---- HTTP */

/* One request on a fresh connection; returns the body (malloc'd) of a 200 answer. */
static char *http(const char *method, const char *path, const char *body, char *err, size_t errcap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(JANUS_HTTP_PORT)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    struct timeval tv = {HTTP_TIMEOUT_S * 4, 0};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errcap, "janus http: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t blen = body ? strlen(body) : 0;
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      method, path, blen);
    char *resp = malloc(HTTP_MAX + 1);
    size_t got = 0;
    bool ok = resp && send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn &&
              (!blen || send(fd, body, blen, MSG_NOSIGNAL) == (ssize_t)blen);
    while (ok && got < HTTP_MAX) {
        ssize_t r = recv(fd, resp + got, HTTP_MAX - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!ok) {
        snprintf(err, errcap, "janus http: send failed");
        free(resp);
        return NULL;
    }
    resp[got] = 0;
    char *sep = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.", 7) != 0 || !sep || atoi(resp + 9) != 200) {
        snprintf(err, errcap, "janus http: %.60s", got ? resp : "no answer");
        free(resp);
        return NULL;
    }
    char *out = strdup(sep + 4);
    free(resp);
    return out;
}

/* POST a JSON request, parse the JSON answer; NULL with err on failure or "error". */
static json_t *api(const char *path, json_t *req, char *err, size_t errcap)
{
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *txt = body ? http(body[0] ? "POST" : "GET", path, body, err, errcap) : NULL;
    free(body);
    if (!txt)
        return NULL;
    json_error_t je;
    json_t *j = json_loads(txt, 0, &je);
    free(txt);
    if (!j) {
        snprintf(err, errcap, "janus: bad JSON: %s", je.text);
        return NULL;
    }
    const char *kind = json_string_value(json_object_get(j, "janus"));
    if (kind && strcmp(kind, "error") == 0) {
        json_t *e = json_object_get(j, "error");
        snprintf(err, errcap, "janus: %s", json_string_value(json_object_get(e, "reason")));
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *get_events(uint64_t sid, char *err, size_t errcap)
{
    char path[96];
    snprintf(path, sizeof(path), "/janus/%llu?maxev=1", (unsigned long long)sid);
    char *txt = http("GET", path, NULL, err, errcap);
    if (!txt)
        return NULL;
    json_t *j = json_loads(txt, 0, NULL);
    free(txt);
    return j;
}

static uint64_t data_id(json_t *j)
{
    return (uint64_t)json_integer_value(json_object_get(json_object_get(j, "data"), "id"));
}

/* Keeps the last offer and answer in the work directory, for whoever debugs. */
static void keep(struct janus *jn, const char *name, const char *sdp)
{
    write_file(jn->dir, name, sdp);
}

char *janus_negotiate(struct janus *jn, const char *offer, uint64_t ids[2], char *err,
                      size_t errcap)
{
    keep(jn, "last-offer.sdp", offer);
    json_t *r =
        api("/janus", json_pack("{s:s,s:s}", "janus", "create", "transaction", "c"), err, errcap);
    if (!r)
        return NULL;
    ids[0] = data_id(r);
    json_decref(r);
    char path[96];
    snprintf(path, sizeof(path), "/janus/%llu", (unsigned long long)ids[0]);
    r = api(path,
            json_pack("{s:s,s:s,s:s}", "janus", "attach", "plugin", "janus.plugin.echotest",
                      "transaction", "a"),
            err, errcap);
    if (!r)
        return NULL;
    ids[1] = data_id(r);
    json_decref(r);
    snprintf(path, sizeof(path), "/janus/%llu/%llu", (unsigned long long)ids[0],
             (unsigned long long)ids[1]);
    /* Binary data only: echotest returns binary messages unchanged. No trickle: our one
     * candidate is in the offer. */
    r = api(path,
            json_pack("{s:s,s:s,s:{s:b,s:b,s:b},s:{s:s,s:s,s:b}}", "janus", "message",
                      "transaction", "m", "body", "audio", 0, "video", 0, "data", 1, "jsep", "type",
                      "offer", "sdp", offer, "trickle", 0),
            err, errcap);
    if (!r)
        return NULL;
    char *answer = NULL;
    for (int i = 0; i < 20 && !answer; i++) {
        json_t *jsep = json_object_get(r, "jsep");
        const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
        if (sdp)
            answer = strdup(sdp);
        json_decref(r);
        if (!answer && !(r = get_events(ids[0], err, errcap)))
            return NULL;
    }
    if (!answer) {
        json_decref(r);
        snprintf(err, errcap, "janus: no answer to the offer");
    } else {
        keep(jn, "last-answer.sdp", answer);
    }
    return answer;
}

void janus_hangup(struct janus *jn, const uint64_t ids[2])
{
    (void)jn;
    char path[96], err[128];
    snprintf(path, sizeof(path), "/janus/%llu", (unsigned long long)ids[0]);
    json_t *r =
        api(path, json_pack("{s:s,s:s}", "janus", "destroy", "transaction", "d"), err, sizeof(err));
    json_decref(r);
}

/* ---- the process */

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return DCGW_EIO;
    fputs(text, f);
    fclose(f);
    return 0;
}

static int write_config(struct bench *b, struct janus *jn)
{
    char main_cfg[4096];
    snprintf(main_cfg, sizeof(main_cfg),
             "# written by dcgw-bench from the Debian defaults in /etc/janus\n"
             "general: {\n"
             "  configs_folder = \"%s\"\n"
             "  plugins_folder = \"" JANUS_LIBDIR "/plugins\"\n"
             "  transports_folder = \"" JANUS_LIBDIR "/transports\"\n"
             "  events_folder = \"" JANUS_LIBDIR "/events\"\n"
             "  loggers_folder = \"" JANUS_LIBDIR "/loggers\"\n"
             "  debug_level = %d\n"
             "  interface = \"%s\"\n"
             "  session_timeout = 0\n"
             "  hide_dependencies = true\n"
             "}\n"
             "certificates: {\n}\n"
             "media: {\n  rtp_port_range = \"20000-40000\"\n}\n"
             "nat: {\n"
             "  nice_debug = %s\n"
             "  ice_lite = true\n"
             "  ice_enforce_list = \"" JANUS_IFACE "\"\n"
             "  ignore_mdns = true\n"
             "}\n"
             "plugins: {\n"
             "  disable = \"libjanus_audiobridge.so,libjanus_duktape.so,libjanus_lua.so,"
             "libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,"
             "libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,"
             "libjanus_voicemail.so\"\n"
             "}\n"
             "transports: {\n"
             "  disable = \"libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,"
             "libjanus_rabbitmq.so,libjanus_websockets.so\"\n"
             "}\n"
             "loggers: {\n  disable = \"libjanus_jsonlog.so\"\n}\n"
             "events: {\n}\n",
             jn->dir, b->o.janus_log, b->o.janus_addr, b->o.janus_log >= 7 ? "true" : "false");
    char http_cfg[512];
    snprintf(http_cfg, sizeof(http_cfg),
             "general: {\n  json = \"plain\"\n  base_path = \"/janus\"\n  http = true\n"
             "  port = %d\n  ip = \"127.0.0.1\"\n  https = false\n}\n"
             "admin: {\n  admin_http = false\n  admin_https = false\n}\n",
             JANUS_HTTP_PORT);
    int r = write_file(jn->dir, "janus.jcfg", main_cfg);
    if (r == 0)
        r = write_file(jn->dir, "janus.transport.http.jcfg", http_cfg);
    if (r == 0)
        r = write_file(jn->dir, "janus.plugin.echotest.jcfg", "general: {\n}\n");
    return r;
}

int janus_start(struct bench *b, char *err, size_t errcap)
{
    struct janus *jn = calloc(1, sizeof(*jn));
    if (!jn)
        return DCGW_ENOMEM;
    jn->bind.sin_family = AF_INET;
    if (inet_pton(AF_INET, b->o.janus_addr, &jn->bind.sin_addr) != 1) {
        snprintf(err, errcap, "--janus-addr %s: not an IPv4 address", b->o.janus_addr);
        free(jn);
        return DCGW_EINVAL;
    }
    snprintf(jn->dir, sizeof(jn->dir), "%s/janus", b->workdir);
    mkdir(jn->dir, 0755);
    if (write_config(b, jn) < 0) {
        snprintf(err, errcap, "%s: %s", jn->dir, strerror(errno));
        free(jn);
        return DCGW_EIO;
    }
    char cfg[400], log[400];
    snprintf(cfg, sizeof(cfg), "%s/janus.jcfg", jn->dir);
    snprintf(log, sizeof(log), "%s/janus.log", jn->dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)b->o.janus, "-C", cfg, "-F", jn->dir, "-o", NULL};
    int r = posix_spawn(&jn->pid, b->o.janus, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        snprintf(err, errcap, "%s: %s", b->o.janus, strerror(r));
        free(jn);
        return DCGW_EIO;
    }
    b->jn = jn;
    bench_register_child(jn->pid);
    for (int i = 0; i < 100; i++) {
        char e2[128];
        char *info = http("GET", "/janus/info", NULL, e2, sizeof(e2));
        if (info) {
            free(info);
            return 0;
        }
        if (waitpid(jn->pid, NULL, WNOHANG) == jn->pid) {
            jn->pid = 0;
            snprintf(err, errcap, "janus exited at start (log: %s)", log);
            return DCGW_EIO;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errcap, "janus HTTP API did not answer (log: %s)", log);
    return DCGW_ETIMEOUT;
}

void janus_stop(struct bench *b)
{
    struct janus *jn = b->jn;
    if (!jn)
        return;
    if (jn->pid > 0) {
        kill(jn->pid, SIGTERM);
        int st;
        for (int i = 0; i < 100 && waitpid(jn->pid, &st, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (i == 99) {
                kill(jn->pid, SIGKILL);
                waitpid(jn->pid, &st, 0);
            }
        }
    }
    free(jn);
    b->jn = NULL;
}

uint64_t janus_cpu_ns(struct janus *jn)
{
    return jn && jn->pid > 0 ? proc_cpu_ns(jn->pid) : 0;
}

const struct sockaddr *janus_client_bind(struct janus *jn)
{
    return (const struct sockaddr *)&jn->bind;
}
