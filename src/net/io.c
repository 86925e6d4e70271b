#include "dcgw/net/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

struct txslot {
    struct sockaddr_storage to;
    size_t n;
    uint8_t data[DCGW_IO_SLOT];
};

struct dcgw_io {
    uv_loop_t *loop;
    int fd;
    uv_poll_t poll;
    uv_check_t check;      /* flushes the send queue once per loop turn */
    uv_timer_t poll_timer; /* reads every poll_ms instead of on each datagram */
    uint32_t poll_ms;
    struct dcgw_io_cbs cbs;
    uint32_t batch;
    struct sockaddr_storage local;
    struct dcgw_io_stats stats;
    int handles_open;
    /* receive slab */
    uint8_t *rxbuf;
    struct mmsghdr *rxmsg;
    struct iovec *rxiov;
    struct sockaddr_storage *rxaddr;
    /* send queue */
    struct txslot *tx;
    struct mmsghdr *txmsg;
    struct iovec *txiov;
    uint32_t txn;
};

uint64_t dcgw_io_now(const struct dcgw_io *io)
{
    return uv_now(io->loop);
}

void dcgw_io_flush(struct dcgw_io *io)
{
    uint32_t off = 0;
    while (off < io->txn) {
        int n = sendmmsg(io->fd, io->txmsg + off, io->txn - off, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN (buffer full) or a per-destination error: drop this one, go on. */
            io->stats.tx_errors++;
            DCGW_LOG_RL(IO, WARN, "sendmmsg: %s", strerror(errno));
            off++;
            continue;
        }
        io->stats.tx_batches++;
        for (int i = 0; i < n; i++) {
            io->stats.tx_packets++;
            io->stats.tx_bytes += io->tx[off + (uint32_t)i].n;
        }
        off += (uint32_t)n;
    }
    io->txn = 0;
}

int dcgw_io_send(struct dcgw_io *io, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    if (n > DCGW_IO_SLOT) {
        io->stats.tx_too_big++;
        return DCGW_ETOOBIG;
    }
    if (io->txn == io->batch)
        dcgw_io_flush(io);
    struct txslot *s = &io->tx[io->txn];
    socklen_t alen = dcgw_addr_len(to);
    memcpy(&s->to, to, alen);
    memcpy(s->data, p, n);
    s->n = n;
    io->txiov[io->txn] = (struct iovec){.iov_base = s->data, .iov_len = n};
    io->txmsg[io->txn].msg_hdr = (struct msghdr){
        .msg_name = &s->to,
        .msg_namelen = alen,
        .msg_iov = &io->txiov[io->txn],
        .msg_iovlen = 1,
    };
    io->txn++;
    return 0;
}

static void on_check(uv_check_t *h)
{
    struct dcgw_io *io = h->data;
    if (io->txn)
        dcgw_io_flush(io);
}

static void read_burst(struct dcgw_io *io)
{
    for (int round = 0; round < DCGW_IO_READS_PER_WAKEUP; round++) {
        for (uint32_t i = 0; i < io->batch; i++) {
            io->rxiov[i] = (struct iovec){.iov_base = io->rxbuf + (size_t)i * DCGW_IO_SLOT,
                                          .iov_len = DCGW_IO_SLOT};
            io->rxmsg[i].msg_hdr = (struct msghdr){
                .msg_name = &io->rxaddr[i],
                .msg_namelen = sizeof(io->rxaddr[i]),
                .msg_iov = &io->rxiov[i],
                .msg_iovlen = 1,
            };
        }
        int n = recvmmsg(io->fd, io->rxmsg, io->batch, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        io->stats.rx_batches++;
        uv_update_time(io->loop);
        uint64_t now = uv_now(io->loop);
        for (int i = 0; i < n; i++) {
            struct msghdr *m = &io->rxmsg[i].msg_hdr;
            size_t len = io->rxmsg[i].msg_len;
            if (m->msg_flags & MSG_TRUNC) {
                io->stats.rx_truncated++;
                DCGW_LOG_RL(IO, DEBUG, "dropped a datagram longer than %d bytes", DCGW_IO_SLOT);
                continue;
            }
            io->stats.rx_packets++;
            io->stats.rx_bytes += len;
            io->cbs.on_datagram(io->cbs.ud, (struct sockaddr *)&io->rxaddr[i],
                                io->rxbuf + (size_t)i * DCGW_IO_SLOT, len, now);
        }
        if ((uint32_t)n < io->batch)
            break;
    }
    /* Replies produced while handling this burst go out together. */
    if (io->txn)
        dcgw_io_flush(io);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    if (status >= 0)
        read_burst(h->data);
}

static void on_poll_timer(uv_timer_t *t)
{
    struct dcgw_io *io = t->data;
    io->stats.rx_timed_reads++;
    read_burst(io);
}

void dcgw_io_set_poll_interval(struct dcgw_io *io, uint32_t ms)
{
    if (ms == io->poll_ms)
        return;
    if (ms) {
        uv_poll_stop(&io->poll);
        uv_timer_start(&io->poll_timer, on_poll_timer, ms, ms);
    } else {
        uv_timer_stop(&io->poll_timer);
        uv_poll_start(&io->poll, UV_READABLE, on_readable);
    }
    io->poll_ms = ms;
}

static void free_io(struct dcgw_io *io)
{
    free(io->rxbuf);
    free(io->rxmsg);
    free(io->rxiov);
    free(io->rxaddr);
    free(io->tx);
    free(io->txmsg);
    free(io->txiov);
    free(io);
}

static void on_closed(uv_handle_t *h)
{
    struct dcgw_io *io = h->data;
    if (--io->handles_open == 0) {
        close(io->fd);
        free_io(io);
    }
}

int dcgw_io_new(uv_loop_t *loop, const struct sockaddr *addr, const struct dcgw_io_settings *st,
                const struct dcgw_io_cbs *cbs, struct dcgw_io **out)
{
    struct dcgw_io *io = calloc(1, sizeof(*io));
    if (!io)
        return DCGW_ENOMEM;
    io->loop = loop;
    io->cbs = *cbs;
    io->batch = st && st->batch ? st->batch : DCGW_IO_BATCH_DEFAULT;
    if (io->batch > DCGW_IO_BATCH_MAX)
        io->batch = DCGW_IO_BATCH_MAX;
    io->rxbuf = malloc((size_t)io->batch * DCGW_IO_SLOT);
    io->rxmsg = calloc(io->batch, sizeof(*io->rxmsg));
    io->rxiov = calloc(io->batch, sizeof(*io->rxiov));
    io->rxaddr = calloc(io->batch, sizeof(*io->rxaddr));
    io->tx = calloc(io->batch, sizeof(*io->tx));
    io->txmsg = calloc(io->batch, sizeof(*io->txmsg));
    io->txiov = calloc(io->batch, sizeof(*io->txiov));
    io->fd = -1;
    if (!io->rxbuf || !io->rxmsg || !io->rxiov || !io->rxaddr || !io->tx || !io->txmsg ||
        !io->txiov) {
        free_io(io);
        return DCGW_ENOMEM;
    }
    io->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    socklen_t alen = dcgw_addr_len(addr);
    char a[DCGW_ADDR_STRLEN];
    if (io->fd < 0 || bind(io->fd, addr, alen) < 0) {
        DCGW_ERROR(IO, "bind %s: %s", dcgw_addr_format(addr, a, sizeof(a)), strerror(errno));
        if (io->fd >= 0)
            close(io->fd);
        free_io(io);
        return DCGW_EIO;
    }
    if (st && st->socket_buffer) {
        int sz = (int)st->socket_buffer;
        setsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        setsockopt(io->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    }
    socklen_t len = sizeof(io->local);
    getsockname(io->fd, (struct sockaddr *)&io->local, &len);
    uv_poll_init(loop, &io->poll, io->fd);
    uv_check_init(loop, &io->check);
    uv_timer_init(loop, &io->poll_timer);
    io->poll.data = io->check.data = io->poll_timer.data = io;
    io->handles_open = 3;
    uv_poll_start(&io->poll, UV_READABLE, on_readable);
    uv_check_start(&io->check, on_check);
    *out = io;
    return 0;
}

const struct sockaddr *dcgw_io_local(const struct dcgw_io *io)
{
    return (const struct sockaddr *)&io->local;
}

const struct dcgw_io_stats *dcgw_io_stats(const struct dcgw_io *io)
{
    return &io->stats;
}

void dcgw_io_close(struct dcgw_io *io)
{
    dcgw_io_flush(io);
    uv_close((uv_handle_t *)&io->poll, on_closed);
    uv_close((uv_handle_t *)&io->check, on_closed);
    uv_close((uv_handle_t *)&io->poll_timer, on_closed);
}
