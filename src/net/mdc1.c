/* MDC1 to the DCSF: libcurl multi on the worker's libuv loop (docs/bootstrap.md). */
#include "dcgw/net/mdc1.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include <glib.h>

enum {
    HEAD_BYTES_MAX = 65536, /* a response head from the DCSF */
    HEAD_FIELDS_MAX = 100,
};

struct sock {
    uv_poll_t poll;
    struct dcgw_mdc1 *m;
    curl_socket_t fd;
};

struct xfer {
    struct dcgw_mdc1 *m;
    struct xfer *prev, *next;   /* m->all */
    struct xfer *next_deferred; /* m->deferred */
    CURL *e;
    struct dcgw_http_xfer *px; /* NULL once cancelled or done */
    struct curl_slist *hdrs, *connect_to;
    uv_timer_t timer; /* head deadline, then the gap between body pieces */
    uint32_t timeout_ms;
    char *head; /* the current response head's lines */
    size_t head_len;
    unsigned status;
    bool head_sent, paused, want_resume, want_cancel, deferred, timed_out;
    bool touched; /* gave head or body since the last flush (in m->touched) */
    char errbuf[CURL_ERROR_SIZE];
};

struct dcgw_mdc1 {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* curl's timeout */
    uv_timer_t kick;  /* deferred resumes and cancels, next loop turn */
    struct dcgw_mdc1_settings set;
    struct xfer *all;
    struct xfer *deferred;
    GPtrArray *touched; /* transfers to flush after curl's callbacks */
    size_t running;
    unsigned handles_open;
    bool freeing;
    struct dcgw_mdc1_stats stats;
};

struct dcgw_mdc1_target {
    struct dcgw_mdc1 *m;
    struct dcgw_mdc1_target_settings s; /* strings below */
    char *host, *connect_to, *local_addr, *ca_pem, *ca_file, *cert_file, *key_file;
    char connect_line[320]; /* CURLOPT_CONNECT_TO entry */
};

static void check_done(struct dcgw_mdc1 *m);
static void flush_touched(struct dcgw_mdc1 *m);

static void touch(struct xfer *x)
{
    if (!x->touched) {
        x->touched = true;
        g_ptr_array_add(x->m->touched, x);
    }
}

/* "ip:port" or "ip" into its parts (port 0 when absent). */
static int split_addr(const char *text, char *ip, size_t cap, unsigned *port)
{
    struct sockaddr_storage ss;
    if (dcgw_addr_parse(text, &ss) < 0 && dcgw_addr_from(text, 0, &ss) < 0)
        return DCGW_EINVAL;
    const void *a = ss.ss_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    if (!inet_ntop(ss.ss_family, a, ip, (socklen_t)cap))
        return DCGW_EINVAL;
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

/* ---- libuv <-> curl */

static void sock_closed(uv_handle_t *h)
{
    struct sock *s = h->data;
    struct dcgw_mdc1 *m = s->m;
    free(s);
    if (--m->handles_open == 0 && m->freeing)
        free(m);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = p->data;
    struct dcgw_mdc1 *m = s->m;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(m->multi, s->fd, flags, &running);
    flush_touched(m);
    check_done(m);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
    (void)e;
    struct dcgw_mdc1 *m = ud;
    struct sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            curl_multi_assign(m->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        s->m = m;
        s->fd = fd;
        if (uv_poll_init_socket(m->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        m->handles_open++;
        m->stats.connections++;
        curl_multi_assign(m->multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    struct dcgw_mdc1 *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    flush_touched(m);
    check_done(m);
}

static int on_timer_change(CURLM *multi, long ms, void *ud)
{
    (void)multi;
    struct dcgw_mdc1 *m = ud;
    if (ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_curl_timer, (uint64_t)ms, 0);
    return 0;
}

/* ---- transfers */

static void xfer_closed(uv_handle_t *h)
{
    struct xfer *x = h->data;
    struct dcgw_mdc1 *m = x->m;
    free(x);
    if (--m->handles_open == 0 && m->freeing)
        free(m);
}

/* Takes x out of curl and frees it (after its timer closes). No event. */
static void xfer_release(struct xfer *x)
{
    struct dcgw_mdc1 *m = x->m;
    if (x->e) {
        curl_multi_remove_handle(m->multi, x->e);
        curl_easy_cleanup(x->e);
        x->e = NULL;
        m->running--;
    }
    if (x->touched)
        g_ptr_array_remove_fast(m->touched, x);
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->connect_to);
    free(x->head);
    if (x->prev)
        x->prev->next = x->next;
    else
        m->all = x->next;
    if (x->next)
        x->next->prev = x->prev;
    uv_close((uv_handle_t *)&x->timer, xfer_closed);
}

static void on_kick(uv_timer_t *t);

static void defer(struct xfer *x)
{
    struct dcgw_mdc1 *m = x->m;
    if (!x->deferred) {
        x->deferred = true;
        x->next_deferred = m->deferred;
        m->deferred = x;
    }
    uv_timer_start(&m->kick, on_kick, 0, 0);
}

static void finish(struct xfer *x, int err, const char *detail)
{
    struct dcgw_http_xfer *px = x->px;
    x->px = NULL;
    if (x->deferred)
        x->want_cancel = true; /* the deferred pass releases it */
    else
        xfer_release(x);
    if (px)
        dcgw_http_xfer_done(px, err, detail);
}

static void on_xfer_timer(uv_timer_t *t)
{
    struct xfer *x = t->data;
    x->m->stats.timed_out++;
    finish(x, DCGW_ETIMEOUT, "no answer from the DCSF within request_timeout_ms");
}

static void arm(struct xfer *x)
{
    uv_timer_start(&x->timer, on_xfer_timer, x->timeout_ms, 0);
}

/* Splits the collected head into status and fields and hands it over. */
static void deliver_head(struct xfer *x)
{
    struct dcgw_http_hdr f[HEAD_FIELDS_MAX];
    size_t n = 0;
    char *reason = NULL, *save = NULL;
    x->head[x->head_len] = '\0';
    for (char *l = strtok_r(x->head, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        if (!reason) { /* the status line: HTTP/x[.y] NNN [reason] */
            char *sp = strchr(l, ' ');
            reason = sp && strlen(sp) > 4 ? sp + 5 : "";
            continue;
        }
        char *c = strchr(l, ':');
        if (!c || c == l || n == HEAD_FIELDS_MAX)
            continue;
        char *v = c + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        f[n++] = (struct dcgw_http_hdr){l, v, (size_t)(c - l), vl};
    }
    x->head_sent = true;
    arm(x);
    touch(x);
    dcgw_http_xfer_head(x->px, x->status, reason, f, n);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->px)
        return 0;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new head (after 1xx, or the first) */
        x->head_len = 0;
        const char *sp = memchr(p, ' ', n);
        x->status = sp && (size_t)(sp - p) + 4 <= n ? (unsigned)strtoul(sp + 1, NULL, 10) : 0;
    }
    if (x->head_len + n + 1 > HEAD_BYTES_MAX)
        return 0; /* a head that large is not passed on: the transfer fails (502) */
    if (!x->head) {
        if (!(x->head = malloc(HEAD_BYTES_MAX)))
            return 0;
    }
    memcpy(x->head + x->head_len, p, n);
    x->head_len += n;
    if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
        if (x->status >= 200 && !x->head_sent)
            deliver_head(x);
        x->head_len = 0;
    }
    return n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->px)
        return 0;
    if (!x->head_sent)
        return 0; /* curl gives the head first; anything else is broken */
    int r = dcgw_http_xfer_body(x->px, (const uint8_t *)p, n);
    if (r == DCGW_EAGAIN) {
        x->paused = true;
        uv_timer_stop(&x->timer); /* the UE is slow, not the DCSF */
        return CURL_WRITEFUNC_PAUSE;
    }
    x->m->stats.bytes_received += n;
    arm(x);
    touch(x);
    return n;
}

/* What curl gave during its callbacks goes out now, one flush per transfer. A flush may
 * cancel transfers (deferred) but frees none, so the array holds. */
static void flush_touched(struct dcgw_mdc1 *m)
{
    for (guint i = 0; i < m->touched->len; i++) {
        struct xfer *x = g_ptr_array_index(m->touched, i);
        x->touched = false;
        if (x->px)
            dcgw_http_xfer_flush(x->px);
    }
    g_ptr_array_set_size(m->touched, 0);
}

static void check_done(struct dcgw_mdc1 *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = msg->data.result;
        int err = rc == CURLE_OK ? 0 : rc == CURLE_OPERATION_TIMEDOUT ? DCGW_ETIMEOUT : DCGW_EIO;
        char detail[CURL_ERROR_SIZE + 64];
        snprintf(detail, sizeof(detail), "%s%s%s", curl_easy_strerror(rc), *x->errbuf ? ": " : "",
                 x->errbuf);
        if (err)
            m->stats.failed++;
        else
            m->stats.completed++;
        if (err)
            DCGW_LOG_RL(WORKER, DEBUG, "mdc1: %s", detail);
        finish(x, err, err ? detail : NULL);
    }
}

/* The deferred pass: resumes and cancels asked for from inside callbacks. */
static void on_kick(uv_timer_t *t)
{
    struct dcgw_mdc1 *m = t->data;
    struct xfer *x;
    while ((x = m->deferred)) {
        m->deferred = x->next_deferred;
        x->deferred = false;
        if (x->want_cancel) {
            xfer_release(x);
            continue;
        }
        if (x->want_resume && x->paused && x->e) {
            x->want_resume = x->paused = false;
            arm(x);
            curl_easy_pause(x->e, CURLPAUSE_CONT); /* may deliver the held piece at once */
        }
    }
    flush_touched(m);
    check_done(m);
}

/* ---- the upstream table */

static void add_header(struct xfer *x, const struct dcgw_http_hdr *h, bool *ok)
{
    char line[8192];
    int n = h->value_len ? snprintf(line, sizeof(line), "%.*s: %.*s", (int)h->name_len, h->name,
                                    (int)h->value_len, h->value)
                         : snprintf(line, sizeof(line), "%.*s;", (int)h->name_len, h->name);
    struct curl_slist *l =
        n > 0 && (size_t)n < sizeof(line) ? curl_slist_append(x->hdrs, line) : NULL;
    if (!l)
        *ok = false;
    else
        x->hdrs = l;
}

static bool has_field(const struct dcgw_http_upstream_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_headers; i++)
        if (rq->headers[i].name_len == strlen(name) &&
            strncasecmp(rq->headers[i].name, name, rq->headers[i].name_len) == 0)
            return true;
    return false;
}

static bool set_request(struct xfer *x, const struct dcgw_http_upstream_request *rq)
{
    CURL *e = x->e;
    bool ok = true;
    for (size_t i = 0; i < rq->n_headers && ok; i++)
        add_header(x, &rq->headers[i], &ok);
    /* what curl would add on its own and the UE did not send */
    static const struct dcgw_http_hdr none[] = {
        {"Accept", "", 6, 0}, {"Content-Type", "", 12, 0}, {"Expect", "", 6, 0}};
    for (size_t i = 0; i < 3 && ok; i++) {
        if (has_field(rq, none[i].name))
            continue;
        char line[32];
        snprintf(line, sizeof(line), "%s:", none[i].name);
        struct curl_slist *l = curl_slist_append(x->hdrs, line);
        ok = l != NULL;
        if (l)
            x->hdrs = l;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (rq->head) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (rq->has_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body_len ? (const char *)rq->body : "");
        if (strcmp(rq->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    return ok;
}

/* TLS toward the DCSF: the CA (inline PEM, else a file, else the system's store) and the
 * client certificate for mutual TLS (TS 33.328); the peer and its name are verified. */
static void set_tls(CURL *e, const struct dcgw_mdc1_target *t)
{
    if (t->ca_pem) {
        struct curl_blob b = {t->ca_pem, strlen(t->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
    } else if (t->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    }
    if (t->cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    }
}

static void set_target(struct xfer *x, const struct dcgw_mdc1_target *t)
{
    CURL *e = x->e;
    const struct dcgw_mdc1_target_settings *s = &t->s;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)s->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     s->http_version == 1   ? CURL_HTTP_VERSION_1_1
                     : s->http_version == 2 ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                            : CURL_HTTP_VERSION_2TLS);
    if (*t->connect_line && (x->connect_to = curl_slist_append(NULL, t->connect_line)))
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, x->connect_to);
    char ip[64], iface[80];
    unsigned port = 0;
    if (t->local_addr && split_addr(t->local_addr, ip, sizeof(ip), &port) == 0) {
        snprintf(iface, sizeof(iface), "host!%s", ip);
        curl_easy_setopt(e, CURLOPT_INTERFACE, iface);
        if (port)
            curl_easy_setopt(e, CURLOPT_LOCALPORT, (long)port);
    }
    set_tls(e, t);
}

static int up_start(void *ud, const struct dcgw_http_upstream_request *rq,
                    struct dcgw_http_xfer *px, void **handle)
{
    struct dcgw_mdc1_target *t = ud;
    struct dcgw_mdc1 *m = t->m;
    if (m->running >= m->set.max_transfers) {
        m->stats.refused_full++;
        return DCGW_ELIMIT;
    }
    struct xfer *x = calloc(1, sizeof(*x));
    if (!x || !(x->e = curl_easy_init())) {
        free(x);
        return DCGW_ENOMEM;
    }
    x->m = m;
    x->px = px;
    x->timeout_ms = t->s.request_timeout_ms;
    uv_timer_init(m->loop, &x->timer);
    x->timer.data = x;
    m->handles_open++;
    x->next = m->all;
    if (m->all)
        m->all->prev = x;
    m->all = x;
    m->running++;
    CURL *e = x->e;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    set_target(x, t);
    if (!set_request(x, rq) || curl_multi_add_handle(m->multi, e) != CURLM_OK) {
        x->px = NULL;
        xfer_release(x);
        return DCGW_ENOMEM;
    }
    arm(x);
    m->stats.started++;
    DCGW_DEBUG(WORKER, "mdc1: %s %s%s%s", rq->method, rq->url, *t->connect_line ? " via " : "",
               t->connect_line);
    *handle = x;
    return 0;
}

static void up_resume(void *ud, void *h)
{
    (void)ud;
    struct xfer *x = h;
    x->want_resume = true;
    defer(x);
}

static void up_cancel(void *ud, void *h)
{
    (void)ud;
    struct xfer *x = h;
    x->px = NULL; /* no event from now on */
    x->want_cancel = true;
    x->m->stats.cancelled++;
    uv_timer_stop(&x->timer);
    defer(x);
}

/* ---- life */

int dcgw_mdc1_new(uv_loop_t *loop, const struct dcgw_mdc1_settings *s, struct dcgw_mdc1 **out)
{
    static bool global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return DCGW_EINTERNAL;
        global_done = true;
    }
    struct dcgw_mdc1 *m = calloc(1, sizeof(*m));
    if (!m || !(m->multi = curl_multi_init())) {
        free(m);
        return DCGW_ENOMEM;
    }
    m->loop = loop;
    m->set = *s;
    m->touched = g_ptr_array_new();
    uv_timer_init(loop, &m->timer);
    uv_timer_init(loop, &m->kick);
    m->timer.data = m->kick.data = m;
    m->handles_open = 2;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->max_host_connections);
    curl_multi_setopt(m->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    *out = m;
    return 0;
}

static void loop_handle_closed(uv_handle_t *h)
{
    struct dcgw_mdc1 *m = h->data;
    if (--m->handles_open == 0 && m->freeing)
        free(m);
}

void dcgw_mdc1_free(struct dcgw_mdc1 *m)
{
    if (!m)
        return;
    while (m->all) {
        m->all->px = NULL;
        xfer_release(m->all);
    }
    m->deferred = NULL;
    curl_multi_cleanup(m->multi); /* closes the cached connections: on_socket REMOVEs */
    g_ptr_array_free(m->touched, TRUE);
    m->touched = NULL;
    m->multi = NULL;
    m->freeing = true;
    uv_close((uv_handle_t *)&m->timer, loop_handle_closed);
    uv_close((uv_handle_t *)&m->kick, loop_handle_closed);
}

const struct dcgw_mdc1_stats *dcgw_mdc1_stats(const struct dcgw_mdc1 *m)
{
    return &m->stats;
}

size_t dcgw_mdc1_running(const struct dcgw_mdc1 *m)
{
    return m->running;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int dcgw_mdc1_target_new(struct dcgw_mdc1 *m, const struct dcgw_mdc1_target_settings *s,
                         struct dcgw_mdc1_target **out)
{
    struct dcgw_mdc1_target *t = calloc(1, sizeof(*t));
    if (!t)
        return DCGW_ENOMEM;
    t->m = m;
    t->s = *s;
    t->host = dup_or_null(s->host);
    t->connect_to = dup_or_null(s->connect_to);
    t->local_addr = dup_or_null(s->local_addr);
    t->ca_pem = dup_or_null(s->ca_pem);
    t->ca_file = dup_or_null(s->ca_file);
    t->cert_file = dup_or_null(s->cert_file);
    t->key_file = dup_or_null(s->key_file);
    if (t->connect_to && t->host) {
        char ip[64];
        unsigned port = 0;
        if (split_addr(t->connect_to, ip, sizeof(ip), &port) < 0 || port == 0) {
            dcgw_mdc1_target_free(t);
            return DCGW_EINVAL;
        }
        bool v6h = strchr(t->host, ':') != NULL, v6 = strchr(ip, ':') != NULL;
        snprintf(t->connect_line, sizeof(t->connect_line), "%s%s%s:%u:%s%s%s:%u", v6h ? "[" : "",
                 t->host, v6h ? "]" : "", s->port, v6 ? "[" : "", ip, v6 ? "]" : "", port);
    }
    *out = t;
    return 0;
}

void dcgw_mdc1_target_free(struct dcgw_mdc1_target *t)
{
    if (!t)
        return;
    free(t->host);
    free(t->connect_to);
    free(t->local_addr);
    free(t->ca_pem);
    free(t->ca_file);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}

void dcgw_mdc1_target_ops(struct dcgw_mdc1_target *t, struct dcgw_http_upstream_ops *out)
{
    out->ud = t;
    out->start = up_start;
    out->resume = up_resume;
    out->cancel = up_cancel;
}
