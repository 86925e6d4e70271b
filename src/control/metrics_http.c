/* Master: the /metrics HTTP endpoint. libmicrohttpd parses HTTP; it runs without a thread
 * of its own, driven from the master's libuv loop through its epoll descriptor
 * (MHD_DAEMON_INFO_EPOLL_FD) and MHD_get_timeout, so a request handler reads the
 * master's state directly, without locks. Bounded: DCGW_METRICS_CONNECTIONS connections,
 * DCGW_METRICS_CONN_MEMORY each for the request, one exposition of at most
 * DCGW_METRICS_BODY_MAX per response, idle connections closed after
 * DCGW_METRICS_CONN_TIMEOUT_S. */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "master_int.h"
#include "metrics_int.h"

struct metrics_http {
    struct master *m;
    struct MHD_Daemon *d;
    uv_poll_t *poll;   /* on MHD's epoll descriptor */
    uv_timer_t *timer; /* MHD_get_timeout */
};

static const char content_type[] = "text/plain; version=0.0.4; charset=utf-8";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result serve(struct metrics_http *h, struct MHD_Connection *c)
{
    char *body;
    size_t len;
    int e = dcgw__metrics_render(h->m, &body, &len);
    if (e < 0) {
        DCGW_LOG_RL(METRICS, ERROR, "cannot write the exposition: %s", dcgw_strerror(e));
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

/* libmicrohttpd's access handler: called once the headers are in (we answer on the second
 * call, the first only marks the request), then with any body, which is discarded. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    static int started;
    if (!*req_cls) {
        *req_cls = &started;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return reply(c, MHD_HTTP_NOT_FOUND, "not found: dcgw serves /metrics only\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    return serve(cls, c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    DCGW_LOG_RL(METRICS, WARN, "http: %s", line);
}

static void on_timer(uv_timer_t *t);

/* Lets libmicrohttpd do what is ready, then waits at most as long as it asks. */
static void run(struct metrics_http *h)
{
    MHD_run(h->d);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(h->d, &ms) == MHD_YES)
        uv_timer_start(h->timer, on_timer, ms, 0);
    else
        uv_timer_stop(h->timer);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    run(p->data);
}

/* A listening TCP socket on addr, or a negative error with the reason logged. */
static int listen_on(const char *text, char *bound, size_t cap)
{
    struct sockaddr_storage ss;
    if (dcgw_addr_parse(text, &ss) < 0) {
        DCGW_ERROR(METRICS, "metrics.listen: '%s' is not a numeric host:port", text);
        return DCGW_ECONFIG;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, dcgw_addr_len((struct sockaddr *)&ss)) < 0 ||
        listen(fd, 16) < 0) {
        DCGW_ERROR(METRICS, "metrics.listen %s: %s", text, strerror(errno));
        if (fd >= 0)
            close(fd);
        return DCGW_EIO;
    }
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        dcgw_addr_format((struct sockaddr *)&ss, bound, cap);
    return fd;
}

static void close_free(uv_handle_t *h)
{
    free(h);
}

int dcgw__metrics_http_start(struct master *m, const char *listen, struct metrics_http **out)
{
    char bound[DCGW_ADDR_STRLEN] = "";
    int fd = listen_on(listen, bound, sizeof(bound));
    if (fd < 0)
        return fd;
    struct metrics_http *h = calloc(1, sizeof(*h));
    uv_poll_t *poll = malloc(sizeof(*poll));
    uv_timer_t *timer = malloc(sizeof(*timer));
    if (!h || !poll || !timer) {
        free(h);
        free(poll);
        free(timer);
        close(fd);
        return DCGW_ENOMEM;
    }
    h->m = m;
    h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
                            (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)DCGW_METRICS_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            (size_t)DCGW_METRICS_CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)DCGW_METRICS_CONN_TIMEOUT_S, MHD_OPTION_END);
    const union MHD_DaemonInfo *ep =
        h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!ep) {
        DCGW_ERROR(METRICS, "metrics on %s: libmicrohttpd did not start", listen);
        if (h->d)
            MHD_stop_daemon(h->d); /* closes fd */
        else
            close(fd);
        free(h);
        free(poll);
        free(timer);
        return DCGW_EIO;
    }
    uv_poll_init(m->loop, poll, ep->epoll_fd);
    uv_timer_init(m->loop, timer);
    poll->data = timer->data = h;
    h->poll = poll;
    h->timer = timer;
    uv_poll_start(poll, UV_READABLE, on_poll);
    run(h);
    DCGW_INFO(METRICS, "serving http://%s/metrics", bound);
    *out = h;
    return 0;
}

void dcgw__metrics_http_stop(struct metrics_http *h)
{
    if (!h)
        return;
    /* The loop forgets the epoll descriptor before libmicrohttpd closes it. */
    uv_close((uv_handle_t *)h->poll, close_free);
    uv_close((uv_handle_t *)h->timer, close_free);
    MHD_stop_daemon(h->d);
    free(h);
}
