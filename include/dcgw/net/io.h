/* The data plane's UDP socket: the only module that touches the network. Receives in
 * batches with recvmmsg into a per-worker slab and queues sends, flushed with sendmmsg
 * once per loop turn (or when the queue is full) — DESIGN.md §10 "System calls".
 *
 * UDP GSO/GRO (docs/fastpath.md "GSO and GRO"), each when asked for and
 * accepted by the socket: with GRO the kernel may hand over several datagrams of one
 * source coalesced (equal sizes, the last maybe shorter); they are split here and each
 * reaches on_datagram alone. With GSO a run of queued datagrams to one destination, equal
 * sizes but the last, leaves in one sendmmsg slot with UDP_SEGMENT (no copy: the slots'
 * iovecs). A socket or kernel that refuses a GSO send turns GSO off for the io and the
 * run goes out datagram by datagram (counted in tx_gso_fallbacks).
 *
 * Received bytes are valid only during on_datagram: a stage that keeps them copies. */
#ifndef DCGW_IO_H
#define DCGW_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

enum dcgw_io_limits {
    DCGW_IO_SLOT = 4096,        /* largest datagram received; longer ones are dropped */
    DCGW_IO_BATCH_DEFAULT = 32, /* datagrams per recvmmsg / sendmmsg */
    DCGW_IO_BATCH_MAX = 1024,
    DCGW_IO_READS_PER_WAKEUP = 8, /* recvmmsg calls before yielding to the loop */
    /* With GRO a receive slot takes one coalesced buffer (at most 64 KiB) and a recvmmsg
     * at most this many: GRO costs DCGW_IO_GRO_SLOT x min(batch, DCGW_IO_GRO_BATCH_MAX). */
    DCGW_IO_GRO_SLOT = 65536,
    DCGW_IO_GRO_BATCH_MAX = 64,
    /* One GSO send: at most this many datagrams (the kernel's UDP_MAX_SEGMENTS) and bytes. */
    DCGW_IO_GSO_SEGS_MAX = 64,
    DCGW_IO_GSO_BYTES_MAX = 65000,
};

struct dcgw_io_cbs {
    void *ud;
    /* One datagram. May call dcgw_io_send; must not close the io. */
    void (*on_datagram)(void *ud, const struct sockaddr *from, uint8_t *p, size_t n,
                        uint64_t now_ms);
    /* Optional: the datagrams of one wake-up were all handed over (after one or more
     * recvmmsg calls); what it sends leaves with the replies to them, in one flush. */
    void (*on_burst_end)(void *ud, uint64_t now_ms);
    /* With settings.pktinfo, called instead of on_datagram: `to` is the local address the
     * datagram was sent to (the socket's port). */
    void (*on_datagram_to)(void *ud, const struct sockaddr *from, const struct sockaddr *to,
                           uint8_t *p, size_t n, uint64_t now_ms);
};

struct dcgw_io_settings {
    uint32_t batch; /* 0: default */
    /* SO_RCVBUF/SO_SNDBUF bytes; 0: system default. Forced past net.core.rmem_max /
     * wmem_max when the process may (CAP_NET_ADMIN), else capped there (logged). */
    uint32_t socket_buffer;
    bool gso; /* send runs to one destination with UDP_SEGMENT */
    bool gro; /* receive with UDP_GRO and split */
    /* Many local addresses on one socket bound to a wildcard address (a load generator's
     * simulated endpoints): each datagram's destination address is read (IP_PKTINFO /
     * IPV6_RECVPKTINFO, on_datagram_to) and dcgw_io_send_from picks the source. */
    bool pktinfo;
};

struct dcgw_io_stats {
    uint64_t rx_packets, rx_bytes, rx_batches, rx_truncated;
    uint64_t rx_timed_reads; /* reads by the poll timer (dcgw_io_set_poll_interval) */
    uint64_t tx_packets, tx_bytes, tx_batches, tx_errors, tx_too_big;
    uint64_t rx_gro_buffers;   /* coalesced buffers received (GRO) */
    uint64_t rx_gro_segments;  /* datagrams split out of them (also in rx_packets) */
    uint64_t tx_gso_sends;     /* GSO sends of two or more datagrams */
    uint64_t tx_gso_segments;  /* datagrams sent in them (also in tx_packets) */
    uint64_t tx_gso_fallbacks; /* GSO sends refused and resent one by one (GSO then off) */

    uint64_t rx_buffer_bytes; /* the receive buffer the kernel granted (its accounting) */
};

struct dcgw_io;

/* Binds a UDP socket to addr and starts reading. DCGW_EIO with errno-style detail logged.
 * GSO and GRO asked for but refused by the socket are logged once and left off. */
int dcgw_io_new(uv_loop_t *loop, const struct sockaddr *addr, const struct dcgw_io_settings *st,
                const struct dcgw_io_cbs *cbs, struct dcgw_io **out);
/* Queues a datagram (copied). Flushed at the end of this loop turn, or now if the queue
 * is full. DCGW_ETOOBIG past DCGW_IO_SLOT. */
int dcgw_io_send(struct dcgw_io *io, const struct sockaddr *to, const uint8_t *p, size_t n);
/* The same from local address `from` (its port is ignored: the socket's), on an io made
 * with pktinfo. */
int dcgw_io_send_from(struct dcgw_io *io, const struct sockaddr *from, const struct sockaddr *to,
                      const uint8_t *p, size_t n);
/* Sends everything queued now. */
void dcgw_io_flush(struct dcgw_io *io);
/* The bound address. */
const struct sockaddr *dcgw_io_local(const struct dcgw_io *io);
const struct dcgw_io_stats *dcgw_io_stats(const struct dcgw_io *io);
/* Datagrams the kernel dropped on this socket since it was opened (SO_MEMINFO; 0 when the
 * kernel cannot say): because dcgw had not read the ones before (receive buffer full),
 * and those a socket filter refused. */
uint64_t dcgw_io_kernel_drops(const struct dcgw_io *io);
/* Stops and frees (after the loop closes its handles). Queued datagrams are flushed. */
void dcgw_io_close(struct dcgw_io *io);
/* ms > 0: stop waking on each datagram and read what has arrived every ms instead (an
 * idle worker's consent checks then cost one wake-up per ms, not one each); 0: back to
 * reading as datagrams arrive (the default). */
void dcgw_io_set_poll_interval(struct dcgw_io *io, uint32_t ms);
/* Whether GSO / GRO are in use (asked for, and not refused so far). */
bool dcgw_io_gso(const struct dcgw_io *io);
bool dcgw_io_gro(const struct dcgw_io *io);
/* The socket, for socket options of callers that need them (tests, the fast path, the
 * unknown-source filter). */
int dcgw_io_fd(const struct dcgw_io *io);
/* Monotonic milliseconds of the io's loop (uv_now). */
uint64_t dcgw_io_now(const struct dcgw_io *io);

#endif
