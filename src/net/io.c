#include "dcgw/net/io.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

struct txslot {
    struct sockaddr_storage to;
    socklen_t alen;
    sa_family_t src_family; /* dcgw_io_send_from: the source address; 0: the socket's */
    struct in6_addr src;    /* an in_addr in its first bytes for AF_INET */
    uint32_t src_ifindex;   /* an IPv6 link-local source's interface (its scope id), else 0 */
    size_t n;
    uint8_t data[DCGW_IO_SLOT];
};

/* Control space of one message: a UDP_SEGMENT (uint16_t) or UDP_GRO (int) cmsg, and with
 * pktinfo an IP_PKTINFO / IPV6_PKTINFO one. */
#define IO_CMSG_SPACE (CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

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
    bool gso, gro, pktinfo;
    /* receive slab: rxn slots of rxslot bytes (DCGW_IO_GRO_SLOT with GRO) */
    uint32_t rxn;
    size_t rxslot;
    uint8_t *rxbuf;
    struct mmsghdr *rxmsg;
    struct iovec *rxiov;
    struct sockaddr_storage *rxaddr;
    uint8_t *rxctl;
    /* send queue: txn datagrams; at flush one message per run (txrun datagrams each) */
    struct txslot *tx;
    struct mmsghdr *txmsg;
    struct iovec *txiov;
    uint8_t *txctl;
    uint32_t *txrun;
    uint32_t txn;
};

uint64_t dcgw_io_now(const struct dcgw_io *io)
{
    return uv_now(io->loop);
}

static bool same_dest(const struct txslot *a, const struct txslot *b)
{
    return a->alen == b->alen && memcmp(&a->to, &b->to, a->alen) == 0 &&
           a->src_family == b->src_family &&
           (a->src_family == 0 ||
            (memcmp(&a->src, &b->src, sizeof(a->src)) == 0 && a->src_ifindex == b->src_ifindex));
}

/* Appends a cmsg of `len` bytes to h (its buffer has IO_CMSG_SPACE bytes); returns its
 * data. */
static void *add_cmsg(struct msghdr *h, int level, int type, size_t len)
{
    struct cmsghdr *c = (struct cmsghdr *)((uint8_t *)h->msg_control + h->msg_controllen);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    h->msg_controllen += CMSG_SPACE(len);
    return CMSG_DATA(c);
}

/* The source address of a slot sent with dcgw_io_send_from. */
static void add_source(struct msghdr *h, const struct txslot *s)
{
    if (s->src_family == AF_INET) {
        struct in_pktinfo pi = {.ipi_ifindex = 0};
        memcpy(&pi.ipi_spec_dst, &s->src, sizeof(pi.ipi_spec_dst));
        memcpy(add_cmsg(h, IPPROTO_IP, IP_PKTINFO, sizeof(pi)), &pi, sizeof(pi));
    } else if (s->src_family == AF_INET6) {
        struct in6_pktinfo pi = {.ipi6_addr = s->src, .ipi6_ifindex = s->src_ifindex};
        memcpy(add_cmsg(h, IPPROTO_IPV6, IPV6_PKTINFO, sizeof(pi)), &pi, sizeof(pi));
    }
}

/* Groups the queue into messages: with GSO a run of datagrams to one destination, all of
 * the first one's size but the last (which may be shorter), becomes one message whose
 * iovecs are the slots and whose UDP_SEGMENT is that size. Returns the message count. */
static uint32_t build_messages(struct dcgw_io *io)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < io->txn; m++) {
        const struct txslot *first = &io->tx[i];
        uint32_t j = i + 1;
        size_t total = first->n;
        while (io->gso && first->n > 0 && j < io->txn && j - i < DCGW_IO_GSO_SEGS_MAX &&
               io->tx[j - 1].n == first->n && io->tx[j].n > 0 && io->tx[j].n <= first->n &&
               total + io->tx[j].n <= DCGW_IO_GSO_BYTES_MAX && same_dest(first, &io->tx[j])) {
            total += io->tx[j].n;
            j++;
        }
        struct msghdr *h = &io->txmsg[m].msg_hdr;
        *h = (struct msghdr){.msg_name = (void *)&first->to,
                             .msg_namelen = first->alen,
                             .msg_iov = &io->txiov[i],
                             .msg_iovlen = j - i,
                             .msg_control = io->txctl + (size_t)m * IO_CMSG_SPACE};
        if (j - i > 1) {
            uint16_t seg = (uint16_t)first->n;
            memcpy(add_cmsg(h, SOL_UDP, UDP_SEGMENT, sizeof(seg)), &seg, sizeof(seg));
        }
        add_source(h, first);
        if (!h->msg_controllen)
            h->msg_control = NULL;
        io->txrun[m] = j - i;
        i = j;
    }
    return m;
}

/* The datagrams of message m, one sendmsg each (a refused GSO send). */
static void send_plain(struct dcgw_io *io, uint32_t m)
{
    struct msghdr h = io->txmsg[m].msg_hdr;
    struct iovec *iov = h.msg_iov;
    h.msg_control = io->txctl + (size_t)m * IO_CMSG_SPACE;
    h.msg_controllen = 0;
    add_source(&h, &io->tx[iov - io->txiov]); /* over the UDP_SEGMENT: one datagram each */
    if (!h.msg_controllen)
        h.msg_control = NULL;
    h.msg_iovlen = 1;
    for (uint32_t k = 0; k < io->txrun[m]; k++) {
        h.msg_iov = &iov[k];
        ssize_t r;
        do
            r = sendmsg(io->fd, &h, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            io->stats.tx_errors++;
            DCGW_LOG_RL(IO, WARN, "sendmsg: %s", strerror(errno));
            continue;
        }
        io->stats.tx_packets++;
        io->stats.tx_bytes += iov[k].iov_len;
    }
}

/* A GSO send refused by the socket or the kernel (checksum offload missing, SO_NO_CHECK,
 * a segment size past the path MTU, an old kernel): GSO goes off for this io. */
static bool gso_refused(int err)
{
    return err == EINVAL || err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT ||
           err == EMSGSIZE;
}

static void account(struct dcgw_io *io, uint32_t m)
{
    const struct msghdr *h = &io->txmsg[m].msg_hdr;
    for (size_t k = 0; k < h->msg_iovlen; k++)
        io->stats.tx_bytes += h->msg_iov[k].iov_len;
    io->stats.tx_packets += io->txrun[m];
    if (io->txrun[m] > 1) {
        io->stats.tx_gso_sends++;
        io->stats.tx_gso_segments += io->txrun[m];
    }
}

void dcgw_io_flush(struct dcgw_io *io)
{
    uint32_t nm = build_messages(io), off = 0;
    while (off < nm) {
        int n = sendmmsg(io->fd, io->txmsg + off, nm - off, 0);
        if (n < 0) {
            int err = errno;
            if (err == EINTR)
                continue;
            if (io->txrun[off] > 1 && gso_refused(err)) {
                if (err != EMSGSIZE) {
                    io->gso = false;
                    DCGW_WARN(IO, "UDP GSO refused (%s): sending datagram by datagram",
                              strerror(err));
                }
                io->stats.tx_gso_fallbacks++;
                send_plain(io, off++);
                continue;
            }
            /* EAGAIN (buffer full) or a per-destination error: drop this one, go on. */
            io->stats.tx_errors += io->txrun[off];
            DCGW_LOG_RL(IO, WARN, "sendmmsg: %s", strerror(err));
            off++;
            continue;
        }
        io->stats.tx_batches++;
        for (int i = 0; i < n; i++)
            account(io, off + (uint32_t)i);
        off += (uint32_t)n;
    }
    io->txn = 0;
}

static struct txslot *queue(struct dcgw_io *io, const struct sockaddr *to, const uint8_t *p,
                            size_t n)
{
    if (n > DCGW_IO_SLOT) {
        io->stats.tx_too_big++;
        return NULL;
    }
    if (io->txn == io->batch)
        dcgw_io_flush(io);
    struct txslot *s = &io->tx[io->txn];
    s->src_family = 0;
    s->alen = dcgw_addr_len(to);
    memcpy(&s->to, to, s->alen);
    memcpy(s->data, p, n);
    s->n = n;
    io->txiov[io->txn] = (struct iovec){.iov_base = s->data, .iov_len = n};
    io->txn++;
    return s;
}

int dcgw_io_send(struct dcgw_io *io, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    return queue(io, to, p, n) ? 0 : DCGW_ETOOBIG;
}

int dcgw_io_send_from(struct dcgw_io *io, const struct sockaddr *from, const struct sockaddr *to,
                      const uint8_t *p, size_t n)
{
    if (!io->pktinfo || from->sa_family != io->local.ss_family)
        return DCGW_EINVAL;
    struct txslot *s = queue(io, to, p, n);
    if (!s)
        return DCGW_ETOOBIG;
    /* the flush groups by source too: a slot keeps the source until overwritten */
    s->src_family = from->sa_family;
    memset(&s->src, 0, sizeof(s->src));
    s->src_ifindex = 0;
    if (from->sa_family == AF_INET) {
        memcpy(&s->src, &((const struct sockaddr_in *)from)->sin_addr, sizeof(struct in_addr));
    } else {
        const struct sockaddr_in6 *f6 = (const struct sockaddr_in6 *)from;
        s->src = f6->sin6_addr;
        /* a link-local address names its interface only with its scope id */
        if (IN6_IS_ADDR_LINKLOCAL(&f6->sin6_addr))
            s->src_ifindex = f6->sin6_scope_id;
    }
    return 0;
}

static void on_check(uv_check_t *h)
{
    struct dcgw_io *io = h->data;
    if (io->txn)
        dcgw_io_flush(io);
}

/* The coalesced size of a GRO buffer (UDP_GRO cmsg), 0 for a single datagram. */
static size_t gro_size(struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
            c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int g;
            memcpy(&g, CMSG_DATA(c), sizeof(g));
            return g > 0 ? (size_t)g : 0;
        }
    return 0;
}

/* With pktinfo: the address m was sent to (the socket's port), false when absent. */
static bool dest_of(const struct dcgw_io *io, struct msghdr *m, struct sockaddr_storage *to)
{
    memcpy(to, &io->local, sizeof(*to));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && to->ss_family == AF_INET) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            ((struct sockaddr_in *)to)->sin_addr = pi.ipi_addr;
            return true;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            to->ss_family == AF_INET6) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)to;
            t6->sin6_addr = pi.ipi6_addr;
            /* a link-local destination is the interface's own: its scope id is that
             * interface (as a socket bound to it has), so dcgw_addr_equal matches it */
            t6->sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? pi.ipi6_ifindex : 0;
            return true;
        }
    }
    return false;
}

/* One received buffer: a datagram, or with GRO several of `seg` bytes (the last maybe
 * shorter), each handed over alone. */
static void deliver(struct dcgw_io *io, struct msghdr *m, uint8_t *p, size_t len, uint64_t now)
{
    struct sockaddr_storage to;
    if (io->pktinfo && !dest_of(io, m, &to)) {
        io->stats.rx_truncated++; /* the control data did not fit: never with our buffer */
        return;
    }
    size_t seg = io->gro ? gro_size(m) : 0;
    if (seg == 0 || seg >= len)
        seg = len;
    else
        io->stats.rx_gro_buffers++;
    size_t off = 0;
    do {
        size_t n = len - off < seg ? len - off : seg;
        if (n > DCGW_IO_SLOT) {
            io->stats.rx_truncated++;
            DCGW_LOG_RL(IO, DEBUG, "dropped a datagram longer than %d bytes", DCGW_IO_SLOT);
        } else {
            io->stats.rx_packets++;
            io->stats.rx_bytes += n;
            if (seg < len)
                io->stats.rx_gro_segments++;
            if (io->pktinfo)
                io->cbs.on_datagram_to(io->cbs.ud, (struct sockaddr *)m->msg_name,
                                       (struct sockaddr *)&to, p + off, n, now);
            else
                io->cbs.on_datagram(io->cbs.ud, (struct sockaddr *)m->msg_name, p + off, n, now);
        }
        off += n;
    } while (off < len);
}

static void read_burst(struct dcgw_io *io)
{
    uint64_t batches_before = io->stats.rx_batches;
    for (int round = 0; round < DCGW_IO_READS_PER_WAKEUP; round++) {
        for (uint32_t i = 0; i < io->rxn; i++) {
            io->rxiov[i] = (struct iovec){.iov_base = io->rxbuf + (size_t)i * io->rxslot,
                                          .iov_len = io->rxslot};
            io->rxmsg[i].msg_hdr = (struct msghdr){
                .msg_name = &io->rxaddr[i],
                .msg_namelen = sizeof(io->rxaddr[i]),
                .msg_iov = &io->rxiov[i],
                .msg_iovlen = 1,
                .msg_control =
                    io->gro || io->pktinfo ? io->rxctl + (size_t)i * IO_CMSG_SPACE : NULL,
                .msg_controllen = io->gro || io->pktinfo ? IO_CMSG_SPACE : 0,
            };
        }
        int n = recvmmsg(io->fd, io->rxmsg, io->rxn, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        io->stats.rx_batches++;
        uv_update_time(io->loop);
        uint64_t now = uv_now(io->loop);
        for (int i = 0; i < n; i++) {
            struct msghdr *m = &io->rxmsg[i].msg_hdr;
            if (m->msg_flags & MSG_TRUNC) {
                io->stats.rx_truncated++;
                DCGW_LOG_RL(IO, DEBUG, "dropped a datagram longer than %zu bytes", io->rxslot);
                continue;
            }
            deliver(io, m, io->rxbuf + (size_t)i * io->rxslot, io->rxmsg[i].msg_len, now);
        }
        if ((uint32_t)n < io->rxn)
            break;
    }
    if (io->stats.rx_batches != batches_before && io->cbs.on_burst_end)
        io->cbs.on_burst_end(io->cbs.ud, uv_now(io->loop));
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
    free(io->rxctl);
    free(io->tx);
    free(io->txmsg);
    free(io->txiov);
    free(io->txctl);
    free(io->txrun);
    free(io);
}

/* GSO and GRO as asked, where the socket accepts them (UDP_SEGMENT 0 only probes). */
static void set_offloads(struct dcgw_io *io, const struct dcgw_io_settings *st)
{
    int zero = 0, one = 1;
    if (st && st->gso) {
        io->gso = setsockopt(io->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
        if (!io->gso)
            DCGW_WARN(IO, "UDP GSO unavailable (%s): sending datagram by datagram",
                      strerror(errno));
    }
    if (st && st->gro) {
        io->gro = setsockopt(io->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
        if (!io->gro)
            DCGW_WARN(IO, "UDP GRO unavailable (%s): receiving datagram by datagram",
                      strerror(errno));
    }
}

/* pktinfo: each datagram's destination address is read (and the source of a send set). */
static int set_pktinfo(struct dcgw_io *io, const struct sockaddr *addr)
{
    int one = 1;
    int r = addr->sa_family == AF_INET
                ? setsockopt(io->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
                : setsockopt(io->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    if (r < 0 || !io->cbs.on_datagram_to) {
        DCGW_ERROR(IO, "IP_PKTINFO: %s", r < 0 ? strerror(errno) : "no on_datagram_to");
        return DCGW_EIO;
    }
    io->pktinfo = true;
    return 0;
}

/* The receive slab: batch slots of DCGW_IO_SLOT, or with GRO up to
 * DCGW_IO_GRO_BATCH_MAX slots of DCGW_IO_GRO_SLOT. */
static int alloc_rx(struct dcgw_io *io)
{
    io->rxn = io->batch;
    io->rxslot = DCGW_IO_SLOT;
    if (io->gro) {
        io->rxslot = DCGW_IO_GRO_SLOT;
        if (io->rxn > DCGW_IO_GRO_BATCH_MAX)
            io->rxn = DCGW_IO_GRO_BATCH_MAX;
    }
    io->rxbuf = malloc((size_t)io->rxn * io->rxslot);
    io->rxmsg = calloc(io->rxn, sizeof(*io->rxmsg));
    io->rxiov = calloc(io->rxn, sizeof(*io->rxiov));
    io->rxaddr = calloc(io->rxn, sizeof(*io->rxaddr));
    io->rxctl = calloc(io->rxn, IO_CMSG_SPACE);
    return io->rxbuf && io->rxmsg && io->rxiov && io->rxaddr && io->rxctl ? 0 : DCGW_ENOMEM;
}

static void on_closed(uv_handle_t *h)
{
    struct dcgw_io *io = h->data;
    if (--io->handles_open == 0) {
        close(io->fd);
        free_io(io);
    }
}

/* Sets a socket buffer: forced (past the sysctl cap) when the process may, else as far as
 * the cap allows. Returns what the kernel reports granted. */
static int set_buffer(int fd, int force_opt, int opt, uint32_t bytes)
{
    int sz = bytes > INT32_MAX / 2 ? INT32_MAX / 2 : (int)bytes;
    if (setsockopt(fd, SOL_SOCKET, force_opt, &sz, sizeof(sz)) < 0)
        setsockopt(fd, SOL_SOCKET, opt, &sz, sizeof(sz));
    int got = 0;
    socklen_t len = sizeof(got);
    getsockopt(fd, SOL_SOCKET, opt, &got, &len);
    return got;
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
    set_offloads(io, st);
    if (st && st->pktinfo && set_pktinfo(io, addr) < 0) {
        close(io->fd);
        free_io(io);
        return DCGW_EIO;
    }
    io->tx = calloc(io->batch, sizeof(*io->tx));
    io->txmsg = calloc(io->batch, sizeof(*io->txmsg));
    io->txiov = calloc(io->batch, sizeof(*io->txiov));
    io->txctl = calloc(io->batch, IO_CMSG_SPACE);
    io->txrun = calloc(io->batch, sizeof(*io->txrun));
    if (alloc_rx(io) < 0 || !io->tx || !io->txmsg || !io->txiov || !io->txctl || !io->txrun) {
        close(io->fd);
        free_io(io);
        return DCGW_ENOMEM;
    }
    if (st && st->socket_buffer) {
        int got = set_buffer(io->fd, SO_RCVBUFFORCE, SO_RCVBUF, st->socket_buffer);
        set_buffer(io->fd, SO_SNDBUFFORCE, SO_SNDBUF, st->socket_buffer);
        /* the kernel doubles what it grants for its own bookkeeping */
        if (got < (int)(st->socket_buffer > INT32_MAX / 2 ? INT32_MAX : st->socket_buffer * 2))
            DCGW_WARN(IO,
                      "receive buffer of %s: %d bytes granted for %u asked: raise "
                      "net.core.rmem_max or give dcgwd CAP_NET_ADMIN (floods overflow it)",
                      dcgw_addr_format(addr, a, sizeof(a)), got / 2, st->socket_buffer);
    }
    int rcv = 0;
    socklen_t rlen = sizeof(rcv);
    if (getsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &rcv, &rlen) == 0)
        io->stats.rx_buffer_bytes = (uint64_t)rcv;
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

bool dcgw_io_gso(const struct dcgw_io *io)
{
    return io->gso;
}

bool dcgw_io_gro(const struct dcgw_io *io)
{
    return io->gro;
}

int dcgw_io_fd(const struct dcgw_io *io)
{
    return io->fd;
}

const struct dcgw_io_stats *dcgw_io_stats(const struct dcgw_io *io)
{
    return &io->stats;
}

uint64_t dcgw_io_kernel_drops(const struct dcgw_io *io)
{
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mi);
    if (getsockopt(io->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0 ||
        len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
        return 0;
    return mi[SK_MEMINFO_DROPS];
}

void dcgw_io_close(struct dcgw_io *io)
{
    dcgw_io_flush(io);
    uv_close((uv_handle_t *)&io->poll, on_closed);
    uv_close((uv_handle_t *)&io->check, on_closed);
    uv_close((uv_handle_t *)&io->poll_timer, on_closed);
}
