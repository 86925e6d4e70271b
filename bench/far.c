/* The far end: a child process that holds every Z endpoint (the application server of a
 * bridged session, the answerer of a direct one), so that A and Z never share a loop:
 *
 *   bench (A endpoints) --UDP--> [dcgwd] --UDP--> far end (Z endpoints)
 *            ^______ socketpair: SDP, readiness, delivery credits ______|
 *
 * Z echoes pings itself. For data it counts what arrived per flow and returns the counts
 * (credits) to the bench at most every CREDIT_MS or every CREDIT_BYTES, which is what the
 * bench's windows and counters run on. The direct path's CPU is the bench's plus this
 * process's. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp.h"

enum {
    FAR_MSG_MAX = DCGW_SDP_TEXT_MAX + 64,
    FAR_SOCKBUF = 8 << 20,
    CREDIT_MS = 1,
    CREDIT_BYTES = 64 * 1024,
    CREDITS_PER_MSG = 1024,
};

struct far_hdr {
    uint32_t op, pair;
    uint16_t nch;
    uint8_t idle, pad;
    uint32_t len;
};

struct far_credit {
    uint16_t flow, pad;
    uint32_t msgs, disorder, pad2;
    uint64_t bytes;
};

/* ---- shared: one message on the socketpair */

static int far_write(int fd, uint32_t op, uint32_t pair, unsigned nch, bool idle, const void *p,
                     size_t n)
{
    struct far_hdr h = {
        .op = op, .pair = pair, .nch = (uint16_t)nch, .idle = idle, .len = (uint32_t)n};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, n}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = n ? 2 : 1};
    for (;;) {
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (r >= 0)
            return 0;
        if (errno != EINTR)
            return DCGW_EIO;
    }
}

/* ---- the child */

struct zend {
    struct farproc *f;
    uint32_t pair;
    struct dcgw_client *c;
};

struct credit {
    uint32_t msgs, disorder, expect;
    uint64_t bytes;
    bool dirty;
};

struct farproc {
    uv_loop_t *loop;
    int fd;
    uv_poll_t poll;
    uv_check_t check;
    uv_timer_t flush_timer, tick;
    struct dcgw_client_net *net; /* idle endpoints' shared socket (bench_net_new) */
    struct dcgw_dtls_ctx *ctx;
    struct bench_opts o;
    uint16_t next_port;
    struct zend **z;
    size_t zcap;
    struct credit *credits; /* by flow id */
    uint16_t *dirty;
    unsigned ndirty;
    uint64_t pending_bytes, last_flush_ns;
    uint8_t *buf;
};

static void flush_credits(struct farproc *f)
{
    struct far_credit out[CREDITS_PER_MSG];
    unsigned n = 0;
    for (unsigned i = 0; i < f->ndirty; i++) {
        struct credit *c = &f->credits[f->dirty[i]];
        out[n++] = (struct far_credit){
            .flow = f->dirty[i], .msgs = c->msgs, .disorder = c->disorder, .bytes = c->bytes};
        c->msgs = c->disorder = 0;
        c->bytes = 0;
        c->dirty = false;
        if (n == CREDITS_PER_MSG || i + 1 == f->ndirty) {
            far_write(f->fd, FAR_CREDIT, 0, 0, false, out, n * sizeof(out[0]));
            n = 0;
        }
    }
    f->ndirty = 0;
    f->pending_bytes = 0;
    f->last_flush_ns = bench_now_ns();
}

static void on_flush_timer(uv_timer_t *t)
{
    struct farproc *f = t->data;
    if (f->ndirty)
        flush_credits(f);
}

static void on_check(uv_check_t *h)
{
    struct farproc *f = h->data;
    if (!f->ndirty)
        return;
    if (f->pending_bytes >= CREDIT_BYTES ||
        bench_now_ns() - f->last_flush_ns >= CREDIT_MS * 1000000ull)
        flush_credits(f);
    else if (!uv_is_active((uv_handle_t *)&f->flush_timer))
        uv_timer_start(&f->flush_timer, on_flush_timer, CREDIT_MS, 0);
}

static struct zend *zend_of(struct farproc *f, uint32_t pair)
{
    return pair < f->zcap ? f->z[pair] : NULL;
}

static void z_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                      const uint8_t *m, size_t n)
{
    (void)is_text;
    struct zend *z = ud;
    struct farproc *f = z->f;
    if (n < BENCH_HDR)
        return;
    uint8_t kind = m[14];
    uint16_t flow;
    uint32_t seq;
    memcpy(&seq, m + 8, 4);
    memcpy(&flow, m + 12, 2);
    if (kind == MSG_PING) {
        /* Echo on the channel it came in on. */
        uint8_t *copy = malloc(n);
        if (copy) {
            memcpy(copy, m, n);
            copy[14] = MSG_PONG;
            dcgw_dc_send(dcgw_client_dc(c), ch, false, copy, n);
            free(copy);
        }
    } else if (kind == MSG_HELLO) {
        far_write(f->fd, FAR_READY, z->pair, 0, false, NULL, 0);
    } else if (kind == MSG_DATA) {
        struct credit *cr = &f->credits[flow];
        cr->msgs++;
        cr->bytes += n;
        cr->disorder += seq != cr->expect;
        cr->expect = seq + 1;
        f->pending_bytes += n;
        if (!cr->dirty) {
            cr->dirty = true;
            f->dirty[f->ndirty++] = flow;
        }
    }
}

static void z_failed(void *ud, struct dcgw_client *c, int err, const char *reason)
{
    (void)c;
    struct zend *z = ud;
    char why[200];
    snprintf(why, sizeof(why), "Z: %s (%s)", reason, dcgw_err_name(err));
    far_write(z->f->fd, FAR_FAILED, z->pair, 0, false, why, strlen(why) + 1);
}

static int z_new(struct farproc *f, uint32_t pair, unsigned nch, bool idle, bool offer_channels,
                 struct zend **out)
{
    if (pair >= f->zcap) {
        size_t cap = f->zcap ? f->zcap * 2 : 1024;
        while (cap <= pair)
            cap *= 2;
        struct zend **nz = realloc(f->z, cap * sizeof(*nz));
        if (!nz)
            return DCGW_ENOMEM;
        memset(nz + f->zcap, 0, (cap - f->zcap) * sizeof(*nz));
        f->z = nz;
        f->zcap = cap;
    }
    struct zend *z = calloc(1, sizeof(*z));
    if (!z)
        return DCGW_ENOMEM;
    z->f = f;
    z->pair = pair;
    struct sockaddr_storage bind;
    bench_endpoint_addr(pair, true, &bind);
    struct dcgw_sdp_dcmap maps[BENCH_CHANNELS_MAX];
    bench_dcmap(&f->o, maps, nch);
    struct dcgw_client_settings cs =
        bench_client_settings(&f->o, &bind, bench_next_free_port(&f->next_port), maps,
                              offer_channels ? nch : 0, true, idle);
    if (idle)
        cs.net = f->net;
    struct dcgw_client_cbs cbs = {.ud = z, .on_message = z_message, .on_failed = z_failed};
    int r = dcgw_client_new(f->loop, f->ctx, &cs, &cbs, &z->c);
    if (r < 0) {
        free(z);
        return r;
    }
    f->z[pair] = z;
    *out = z;
    return 0;
}

static void handle(struct farproc *f, const struct far_hdr *h, const char *payload)
{
    struct zend *z = zend_of(f, h->pair);
    char *sdp = (char *)f->buf + sizeof(*h) + h->len + 1; /* scratch after the message */
    int n;
    switch (h->op) {
    case FAR_ANSWER:
    case FAR_OFFER:
        n = z ? DCGW_EEXIST : z_new(f, h->pair, h->nch, h->idle, h->op == FAR_OFFER, &z);
        if (n == 0)
            n = h->op == FAR_OFFER
                    ? dcgw_client_offer(z->c, sdp, DCGW_SDP_TEXT_MAX)
                    : dcgw_client_answer(z->c, payload, h->len, sdp, DCGW_SDP_TEXT_MAX);
        if (n < 0) {
            snprintf(sdp, 200, "Z: %s", dcgw_strerror(n));
            far_write(f->fd, FAR_FAILED, h->pair, 0, false, sdp, strlen(sdp) + 1);
        } else {
            far_write(f->fd, FAR_SDP, h->pair, 0, false, sdp, (size_t)n + 1);
        }
        break;
    case FAR_START:
        n = z ? dcgw_client_start(z->c, payload, h->len) : DCGW_ENOENT;
        if (n < 0) {
            snprintf(sdp, 200, "Z: start: %s", dcgw_strerror(n));
            far_write(f->fd, FAR_FAILED, h->pair, 0, false, sdp, strlen(sdp) + 1);
        }
        break;
    case FAR_TRIM:
        malloc_trim(0);
        break;
    case FAR_POLL:
        dcgw_client_net_set_poll_interval(f->net, h->pair);
        break;
    case FAR_FREE:
        if (z) {
            dcgw_client_free(z->c);
            free(z);
            f->z[h->pair] = NULL;
        }
        break;
    default:
        break;
    }
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct farproc *f = p->data;
    for (;;) {
        ssize_t n = status < 0 ? -1 : recv(f->fd, f->buf, FAR_MSG_MAX, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            uv_stop(f->loop); /* the bench is gone */
            return;
        }
        if (n < 0)
            return;
        struct far_hdr h;
        if ((size_t)n < sizeof(h))
            continue;
        memcpy(&h, f->buf, sizeof(h));
        if (h.len > (size_t)n - sizeof(h))
            continue;
        f->buf[sizeof(h) + h.len] = 0;
        handle(f, &h, (const char *)f->buf + sizeof(h));
    }
}

static int far_main(int fd, const struct bench_opts *o)
{
    static struct farproc far;
    struct farproc *f = &far;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    f->fd = fd;
    f->o = *o;
    f->next_port = BENCH_JANUS_SCTP_PORT + 1;
    f->loop = uv_default_loop();
    f->credits = calloc(BENCH_FLOWS_MAX + 1, sizeof(*f->credits));
    f->dirty = calloc(BENCH_FLOWS_MAX + 1, sizeof(*f->dirty));
    f->buf = malloc(2 * FAR_MSG_MAX + 64);
    struct dcgw_cert *cert;
    if (!f->credits || !f->dirty || !f->buf || dcgw_cert_new(NULL, &cert) < 0)
        return 1;
    struct dcgw_dtls_ctx_settings cs = {.cert = cert};
    int r = dcgw_dtls_ctx_new(&cs, &f->ctx);
    dcgw_cert_unref(cert);
    if (r < 0 || dcgw_client_tick_start(f->loop, &f->tick) < 0 ||
        bench_net_new(f->loop, &f->net) < 0)
        return 1;
    uv_poll_init(f->loop, &f->poll, fd);
    uv_check_init(f->loop, &f->check);
    uv_timer_init(f->loop, &f->flush_timer);
    f->poll.data = f->check.data = f->flush_timer.data = f;
    uv_poll_start(&f->poll, UV_READABLE, on_readable);
    uv_check_start(&f->check, on_check);
    uv_run(f->loop, UV_RUN_DEFAULT);
    return 0;
}

/* ---- the bench's side */

static void bench_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct bench *b = p->data;
    for (;;) {
        ssize_t n = status < 0 ? -1 : recv(b->far_fd, b->far_buf, FAR_MSG_MAX, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            bench_note(b, "the far-end process is gone");
            uv_poll_stop(p);
            return;
        }
        if (n < 0)
            return;
        struct far_hdr h;
        if ((size_t)n < sizeof(h))
            continue;
        memcpy(&h, b->far_buf, sizeof(h));
        if (h.len > (size_t)n - sizeof(h))
            continue;
        const uint8_t *pl = b->far_buf + sizeof(h);
        if (h.op == FAR_CREDIT) {
            for (size_t i = 0; i + sizeof(struct far_credit) <= h.len;
                 i += sizeof(struct far_credit)) {
                struct far_credit c;
                memcpy(&c, pl + i, sizeof(c));
                b->far_cbs.on_credit(b, c.flow, c.msgs, c.bytes, c.disorder);
            }
        } else {
            b->far_cbs.on_pair(b, h.op, h.pair, (const char *)pl, h.len);
        }
    }
}

int far_spawn(struct bench *b)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return DCGW_EIO;
    int sz = FAR_SOCKBUF;
    for (int i = 0; i < 2; i++) {
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    pid_t pid = fork();
    if (pid < 0)
        return DCGW_EIO;
    if (pid == 0) {
        close(sv[0]);
        _exit(far_main(sv[1], &b->o));
    }
    close(sv[1]);
    b->far_fd = sv[0];
    b->far_pid = pid;
    bench_register_child(pid);
    b->far_buf = malloc(FAR_MSG_MAX + 1);
    return b->far_buf ? 0 : DCGW_ENOMEM;
}

int far_start_poll(struct bench *b)
{
    uv_poll_init(b->loop, &b->far_poll, b->far_fd);
    b->far_poll.data = b;
    return uv_poll_start(&b->far_poll, UV_READABLE, bench_readable);
}

int far_send(struct bench *b, enum far_op op, uint32_t pair, unsigned nch, bool idle,
             const char *text)
{
    return far_write(b->far_fd, op, pair, nch, idle, text, text ? strlen(text) : 0);
}

void far_stop(struct bench *b)
{
    if (b->far_pid <= 0)
        return;
    uv_poll_stop(&b->far_poll);
    uv_close((uv_handle_t *)&b->far_poll, NULL);
    close(b->far_fd);
    int st;
    for (int i = 0; i < 100 && waitpid(b->far_pid, &st, WNOHANG) == 0; i++) {
        usleep(20000);
        if (i == 99) {
            kill(b->far_pid, SIGKILL);
            waitpid(b->far_pid, &st, 0);
        }
    }
    free(b->far_buf);
    b->far_pid = 0;
}
