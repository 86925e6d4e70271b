/* Master: control connections. The listening sockets (Unix, TCP with mutual TLS), the
 * controllers they accept, and the frames those send, handed to master_ctl.c as
 * requests. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#ifndef SO_PEERCRED
#error "dcgw needs SO_PEERCRED (Linux)"
#endif
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/ctlmsg.h"
#include "master_int.h"

/* A frame that is no request: answered with id 0, the connection stays. */
static void reject(struct controller *c, int code, const char *msg)
{
    Dcgw__Response r;
    Dcgw__Error e;
    dcgw_ctlmsg_error(&r, &e, 0, code, msg);
    dcgw_stream_send_response(c->s, &r);
}

static int on_ctl_frame(void *ud, struct dcgw_stream *s, const uint8_t *p, size_t n)
{
    (void)s;
    struct controller *c = ud;
    struct master *m = c->m;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (!f || f->body_case != DCGW__FRAME__BODY_REQUEST || !f->request) {
        m->frames_rejected++;
        DCGW_LOG_RL(CTL, WARN, "controller %llu: %s frame rejected", (unsigned long long)c->id,
                    f ? "non-request" : "malformed");
        reject(c, f ? DCGW_EPROTO : DCGW_EMALFORMED,
               f ? "controllers send requests only" : "malformed frame");
        if (f)
            dcgw__frame__free_unpacked(f, NULL);
        return 0;
    }
    DCGW_DEBUG(CTL, "controller %llu: request %llu %s", (unsigned long long)c->id,
               (unsigned long long)f->request->id, dcgw_ctlmsg_op_name(f->request));
    c->last_request_ms = uv_now(m->loop);
    dcgw__master_ctl_request(m, c, f->request);
    dcgw__frame__free_unpacked(f, NULL);
    return 0;
}

static void on_ctl_closed(void *ud, struct dcgw_stream *s, int err)
{
    (void)s;
    struct controller *c = ud;
    DCGW_DEBUG(CTL, "controller %llu gone (%s)", (unsigned long long)c->id, dcgw_strerror(err));
    if (err == DCGW_ETOOBIG)
        c->m->frames_rejected++; /* a frame over control.max_frame: cannot resynchronise */
    g_hash_table_remove(c->m->controllers, &c->id);
    free(c);
}

/* ---- who may connect: max_connections, eviction, the operator's slots */

/* A request of c waits for a worker's answer. */
static bool busy(struct master *m, const struct controller *c)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->pending);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (((struct pending *)v)->conn_id == c->id)
            return true;
    return false;
}

/* Whether the peer of a Unix-socket connection is root or dcgwd's own user. */
static bool is_operator(uv_stream_t *h)
{
    uv_os_fd_t fd;
    struct ucred cr;
    socklen_t len = sizeof(cr);
    if (uv_fileno((uv_handle_t *)h, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return false;
    return cr.uid == 0 || cr.uid == geteuid();
}

/* At max_connections: closes the connection quiet longest (not subscribed, no request in
 * progress, no request for DCGW_CTL_EVICT_QUIET_MS) to make room. False: none. */
static bool evict_one(struct master *m)
{
    uint64_t now = uv_now(m->loop);
    struct controller *worst = NULL;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->controllers);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct controller *c = v;
        if (!c->s || c->subscribed ||
            c->operator|| now - c->last_request_ms<DCGW_CTL_EVICT_QUIET_MS || busy(m, c))
            continue;
        if (!worst || c->last_request_ms < worst->last_request_ms)
            worst = c;
    }
    if (!worst)
        return false;
    DCGW_LOG_RL(CTL, INFO, "controller %llu closed to make room (quiet for %llu ms)",
                (unsigned long long)worst->id, (unsigned long long)(now - worst->last_request_ms));
    m->conns_evicted++;
    dcgw_stream_abort(worst->s, DCGW_ELIMIT);
    return true;
}

/* May a new connection come in? Sets *op when it takes an operator slot. */
static bool admit(struct master *m, uv_stream_t *h, bool tcp, bool *op)
{
    uint32_t operators = 0, total = g_hash_table_size(m->controllers) - m->in_process;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->controllers);
    while (g_hash_table_iter_next(&it, &k, &v))
        operators += ((struct controller *)v)->operator;
    *op = false;
    if (total - operators < m->cfg.control.max_connections)
        return true;
    if (!tcp && operators < m->cfg.control.operator_connections && is_operator(h)) {
        *op = true;
        return true;
    }
    return evict_one(m);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct master *m = server->data;
    if (status < 0)
        return;
    bool tcp = server == (uv_stream_t *)m->tcp_listener;
    uv_stream_t *h = malloc(tcp ? sizeof(uv_tcp_t) : sizeof(uv_pipe_t));
    if (!h)
        return;
    if (tcp)
        uv_tcp_init(m->loop, (uv_tcp_t *)h);
    else
        uv_pipe_init(m->loop, (uv_pipe_t *)h, 0);
    if (uv_accept(server, h) < 0) {
        uv_close((uv_handle_t *)h, (uv_close_cb)free);
        return;
    }
    bool op;
    if (!admit(m, h, tcp, &op)) {
        DCGW_LOG_RL(CTL, WARN,
                    "control connection refused: %u connected already, none idle to replace",
                    m->cfg.control.max_connections);
        uv_close((uv_handle_t *)h, (uv_close_cb)free);
        return;
    }
    struct controller *c = calloc(1, sizeof(*c));
    if (!c) {
        uv_close((uv_handle_t *)h, (uv_close_cb)free);
        return;
    }
    c->m = m;
    c->id = ++m->next_conn_id;
    c->operator= op;
    c->last_request_ms = uv_now(m->loop);
    struct dcgw_stream_settings st = {.max_frame = m->cfg.control.max_frame,
                                      .outbuf_limit = m->cfg.control.outbuf_limit,
                                      .tls = tcp ? m->tls : NULL};
    struct dcgw_stream_cbs cbs = {.ud = c, .on_frame = on_ctl_frame, .on_close = on_ctl_closed};
    if (dcgw_stream_new(h, &st, &cbs, &c->s) < 0) {
        free(c);
        return;
    }
    g_hash_table_insert(m->controllers, &c->id, c);
    DCGW_DEBUG(CTL, "controller %llu connected (%s)", (unsigned long long)c->id,
               tcp ? "tcp+tls" : "unix");
}

/* The address of the Unix socket at path; false when path does not fit. */
static bool unix_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return false;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return true;
}

/* Whether something accepts connections on the Unix socket at path (a live daemon). */
static bool answers(const char *path)
{
    struct sockaddr_un a;
    if (!unix_addr(path, &a))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool yes = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return yes;
}

/* A Unix stream socket bound at path with mode: its descriptor, or a libuv error code.
 * Bound here rather than with uv_pipe_bind(): libuv unlinks a path it bound when the
 * handle closes, whatever lies there by then, and dcgw__master_ctl_stop_listening()
 * removes only the socket this process made. */
static int bind_unix(const char *path, unsigned mode)
{
    struct sockaddr_un a;
    if (!unix_addr(path, &a))
        return UV_ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return uv_translate_sys_error(errno);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int r = uv_translate_sys_error(errno);
        close(fd);
        return r;
    }
    if (chmod(path, mode) < 0) {
        int r = uv_translate_sys_error(errno);
        close(fd);
        unlink(path);
        return r;
    }
    return fd;
}

static int listen_unix(struct master *m)
{
    const char *path = m->cfg.control.socket;
    char dir[DCGW_CONFIG_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *d = dirname(dir);
    if (mkdir(d, 0750) < 0 && errno != EEXIST) {
        DCGW_ERROR(CTL, "cannot create %s: %s", d, strerror(errno));
        return DCGW_EIO;
    }
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
        if (answers(path)) {
            DCGW_ERROR(CTL, "control socket %s: another dcgwd answers there; not starting", path);
            return DCGW_EEXIST;
        }
        unlink(path); /* a stale socket from a previous run */
    }
    m->unix_listener = malloc(sizeof(uv_pipe_t));
    if (!m->unix_listener)
        return DCGW_ENOMEM;
    uv_pipe_init(m->loop, m->unix_listener, 0);
    m->unix_listener->data = m;
    int fd = bind_unix(path, m->cfg.control.socket_mode);
    int r = fd < 0 ? fd : uv_pipe_open(m->unix_listener, fd);
    bool adopted = r == 0; /* the handle closes fd from here on */
    if (r == 0)
        r = uv_listen((uv_stream_t *)m->unix_listener, 128, on_connection);
    if (r == 0 && lstat(path, &sb) == 0) { /* what stop_listening may remove */
        snprintf(m->sock_path, sizeof(m->sock_path), "%s", path);
        m->sock_dev = sb.st_dev;
        m->sock_ino = sb.st_ino;
    }
    if (r < 0) {
        DCGW_ERROR(CTL, "control socket %s: %s", path, uv_strerror(r));
        if (fd >= 0) { /* bound above: the file is this process's */
            unlink(path);
            if (!adopted)
                close(fd);
        }
        uv_close((uv_handle_t *)m->unix_listener, (uv_close_cb)free);
        m->unix_listener = NULL;
        return DCGW_EIO;
    }
    return 0;
}

static int listen_tcp(struct master *m)
{
    char err[256];
    m->tls = dcgw_stream_tls_server_ctx(m->cfg.control.tls_cert, m->cfg.control.tls_key,
                                        m->cfg.control.tls_ca, err, sizeof(err));
    if (!m->tls) {
        DCGW_ERROR(CTL, "control TLS: %s", err);
        return DCGW_ECONFIG;
    }
    struct sockaddr_storage ss;
    if (dcgw_addr_parse(m->cfg.control.tcp_listen, &ss) < 0) {
        DCGW_ERROR(CTL, "control.tcp.listen: '%s' is not a numeric host:port",
                   m->cfg.control.tcp_listen);
        return DCGW_ECONFIG;
    }
    int r;
    m->tcp_listener = malloc(sizeof(uv_tcp_t));
    if (!m->tcp_listener)
        return DCGW_ENOMEM;
    uv_tcp_init(m->loop, m->tcp_listener);
    m->tcp_listener->data = m;
    r = uv_tcp_bind(m->tcp_listener, (struct sockaddr *)&ss, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)m->tcp_listener, 128, on_connection);
    if (r < 0) {
        DCGW_ERROR(CTL, "control TCP %s: %s", m->cfg.control.tcp_listen, uv_strerror(r));
        uv_close((uv_handle_t *)m->tcp_listener, (uv_close_cb)free);
        m->tcp_listener = NULL;
        return DCGW_EIO;
    }
    DCGW_INFO(CTL, "control over TCP with mutual TLS on %s", m->cfg.control.tcp_listen);
    return 0;
}

/* Closes connections that hold a slot for nothing: quiet past control.idle_timeout_ms (not
 * subscribed, no request in progress), or slow past control.frame_timeout_ms with a frame. */
static void on_sweep(uv_timer_t *t)
{
    struct master *m = t->data;
    uint64_t now = uv_now(m->loop), idle = m->cfg.control.idle_timeout_ms;
    uint64_t slow = m->cfg.control.frame_timeout_ms;
    GList *all = g_hash_table_get_values(m->controllers);
    for (GList *l = all; l; l = l->next) {
        struct controller *c = l->data;
        if (!c->s)
            continue;
        uint64_t since = dcgw_stream_partial_since(c->s);
        const char *why = slow && since && now - since > slow ? "a frame unfinished"
                          : idle && !c->subscribed && now - c->last_request_ms > idle && !busy(m, c)
                              ? "idle"
                              : NULL;
        if (!why)
            continue;
        DCGW_LOG_RL(CTL, INFO, "controller %llu closed: %s for too long", (unsigned long long)c->id,
                    why);
        m->conns_timed_out++;
        dcgw_stream_abort(c->s, DCGW_ETIMEOUT);
    }
    g_list_free(all);
}

int dcgw__master_ctl_listen(struct master *m)
{
    if (m->cfg.control.socket[0] && listen_unix(m) < 0)
        return DCGW_EIO;
    if (m->cfg.control.tcp_enabled && listen_tcp(m) < 0)
        return DCGW_EIO;
    uv_timer_init(m->loop, &m->ctl_sweep);
    m->ctl_sweep.data = m;
    uint64_t every = DCGW_CTL_SWEEP_MS;
    uv_timer_start(&m->ctl_sweep, on_sweep, every, every);
    return 0;
}

void dcgw__master_ctl_stop_listening(struct master *m)
{
    if (m->unix_listener) {
        uv_close((uv_handle_t *)m->unix_listener, (uv_close_cb)free);
        m->unix_listener = NULL;
        /* Only the socket this process made: not what a reload named, not a file someone
         * put there since (dcgwd may run as root). */
        struct stat sb;
        if (lstat(m->sock_path, &sb) == 0 && sb.st_dev == m->sock_dev && sb.st_ino == m->sock_ino)
            unlink(m->sock_path);
        else if (m->sock_path[0])
            DCGW_WARN(CTL, "%s is no longer the control socket dcgw made; left in place",
                      m->sock_path);
    }
    if (m->tcp_listener) {
        uv_close((uv_handle_t *)m->tcp_listener, (uv_close_cb)free);
        m->tcp_listener = NULL;
    }
}

void dcgw__master_ctl_close_all(struct master *m)
{
    dcgw__master_ctl_stop_listening(m);
    if (!uv_is_closing((uv_handle_t *)&m->ctl_sweep))
        uv_close((uv_handle_t *)&m->ctl_sweep, NULL);
    GList *all = g_hash_table_get_values(m->controllers);
    for (GList *l = all; l; l = l->next)
        if (((struct controller *)l->data)->s)
            dcgw_stream_close(((struct controller *)l->data)->s, 0);
    g_list_free(all);
}
