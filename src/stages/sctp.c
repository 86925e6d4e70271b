/* SCTP associations over usrsctp (AF_CONN, no threads). See include/dcgw/stages/sctp.h and
 * docs/sctp.md for the model: a process-wide stack, upcalls that only mark associations
 * pending, and a drain loop that reads them once usrsctp has returned. */
#include "dcgw/stages/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "dcgw/base/crc32c.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

/* Read-only usrsctp option from netinet/sctp.h, not exported by usrsctp.h: bytes queued for
 * sending (struct sctp_sockstat in netinet/sctp_uio.h). */
#ifndef SCTP_GET_SNDBUF_USE
#define SCTP_GET_SNDBUF_USE 0x00001101
#endif
#include "sctp_int.h"

struct slot {
    struct dcgw_sctp *s;
    uint32_t gen;
    uint32_t next_free;
};

/* The process-wide stack state: usrsctp itself is process-global, so is this. */
static struct {
    bool inited;
    int in_usrsctp; /* depth of calls into usrsctp on the stack */
    bool draining;
    struct dcgw_sctp_stack_stats stats;
    struct slot *slots;
    uint32_t nslots, cap, free_head;
    struct dcgw_sctp *pend_head, *pend_tail;
    struct dcgw_sctp *zombies;
    uint32_t max_chunks_on_queue;
    /* Every association of the process binds the same AF_CONN address (registered once)
     * and is told apart by its local port: usrsctp keeps registered addresses in 16 hash
     * buckets, so one address per association made every bind and lookup O(n). */
    struct dcgw_sctp *by_port[65536];
    _Alignas(8) uint8_t rx[DCGW_SCTP_RX_CHUNK];
} g = {.free_head = SLOT_NONE};

static char conn_anchor; /* its address is the process's one AF_CONN address */
#define CONN_ADDR ((void *)&conn_anchor)

/* usrsctp runs on the thread that started it and on no other: this file's state has no
 * lock, and neither has the patched usrsctp (third_party/usrsctp 0003). A call from another
 * thread stops the process rather than race. */
static _Thread_local bool t_stack_thread;

static void wrong_thread(void)
{
    DCGW_ERROR(SCTP, "usrsctp entered from a thread other than the one that started it");
    abort();
}

#define IN_USRSCTP(expr)                                                                           \
    do {                                                                                           \
        if (!t_stack_thread && g.inited)                                                           \
            wrong_thread();                                                                        \
        g.in_usrsctp++;                                                                            \
        expr;                                                                                      \
        g.in_usrsctp--;                                                                            \
    } while (0)

/* ---- registry: token -> association ---- */

static uintptr_t make_token(uint32_t idx, uint32_t gen)
{
    return ((uintptr_t)gen << TOKEN_SHIFT) | (uintptr_t)(idx + 1);
}

static int registry_add(struct dcgw_sctp *s)
{
    uint32_t idx;
    if (g.free_head != SLOT_NONE) {
        idx = g.free_head;
        g.free_head = g.slots[idx].next_free;
    } else {
        if (g.nslots == g.cap) {
            uint32_t ncap = g.cap ? g.cap * 2 : 64;
            if (ncap > DCGW_SCTP_MAX_ASSOCS)
                ncap = DCGW_SCTP_MAX_ASSOCS;
            if (ncap == g.cap)
                return DCGW_ELIMIT;
            struct slot *ns = realloc(g.slots, ncap * sizeof(*ns));
            if (!ns)
                return DCGW_ENOMEM;
            g.slots = ns;
            g.cap = ncap;
        }
        idx = g.nslots++;
        g.slots[idx].gen = 0;
    }
    g.slots[idx].s = s;
    g.slots[idx].gen++;
    g.slots[idx].next_free = SLOT_NONE;
    s->slot = idx;
    s->token = make_token(idx, g.slots[idx].gen);
    g.stats.associations++;
    return 0;
}

static void registry_remove(struct dcgw_sctp *s)
{
    struct slot *sl = &g.slots[s->slot];
    sl->s = NULL;
    sl->next_free = g.free_head;
    g.free_head = s->slot;
    g.stats.associations--;
}

static struct dcgw_sctp *registry_lookup(uintptr_t token)
{
    uintptr_t low = token & (((uintptr_t)1 << TOKEN_SHIFT) - 1);
    if (low == 0 || low > g.nslots)
        return NULL;
    struct slot *sl = &g.slots[low - 1];
    if (!sl->s || make_token((uint32_t)(low - 1), sl->gen) != token)
        return NULL;
    return sl->s;
}

/* ---- pending list: associations with usrsctp events to read ---- */

static void pend_push(struct dcgw_sctp *s)
{
    if (s->pending || s->zombie)
        return;
    s->pending = true;
    s->pend_next = NULL;
    s->pend_prev = g.pend_tail;
    if (g.pend_tail)
        g.pend_tail->pend_next = s;
    else
        g.pend_head = s;
    g.pend_tail = s;
}

static void pend_remove(struct dcgw_sctp *s)
{
    if (!s->pending)
        return;
    if (s->pend_prev)
        s->pend_prev->pend_next = s->pend_next;
    else
        g.pend_head = s->pend_next;
    if (s->pend_next)
        s->pend_next->pend_prev = s->pend_prev;
    else
        g.pend_tail = s->pend_prev;
    s->pending = false;
    s->pend_next = s->pend_prev = NULL;
}

/* on_writable is due once the association holds at most lowat bytes (the owner's
 * mark, or writable_lowat). */
static void want_writable(struct dcgw_sctp *s, size_t lowat)
{
    if (!lowat || lowat > s->set.writable_lowat)
        lowat = s->set.writable_lowat;
    if (!s->want_writable || lowat < s->writable_at)
        s->writable_at = lowat;
    s->want_writable = true;
}

/* ---- usrsctp callbacks: called from inside usrsctp ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* addr is CONN_ADDR, and then the packet's source port names the association, or the
 * token of an association with a private address. */
static int conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)addr;
    (void)tos;
    (void)set_df;
    struct dcgw_sctp *s = addr != CONN_ADDR              ? registry_lookup((uintptr_t)addr)
                          : length >= SCTP_COMMON_HEADER ? g.by_port[get_be16(buffer)]
                                                         : NULL;
    if (!s || s->silent) {
        g.stats.orphan_packets++;
        return 0;
    }
    uint8_t *p = buffer;
    if (length >= SCTP_COMMON_HEADER) {
        /* CRC offload: usrsctp left the checksum field zero (RFC 9260 §6.8) */
        put_le32(p + 8, dcgw_crc32c(p, length));
    }
    s->stats.packets_out++;
    s->stats.bytes_out += length;
    if (dcgw__sctp_active_packet(p, length))
        g.stats.active_packets++;
    s->cbs.send_packet(s->cbs.ud, p, length);
    return 0;
}

static void upcall(struct socket *so, void *arg, int flags)
{
    (void)so;
    (void)flags;
    struct dcgw_sctp *s = registry_lookup((uintptr_t)arg);
    if (s)
        pend_push(s);
}

/* ---- the stack ---- */

int dcgw_sctp_stack_init(const struct dcgw_sctp_stack_settings *in)
{
    if (g.inited)
        return 0;
    struct dcgw_sctp_stack_settings d;
    if (!in) {
        dcgw_sctp_stack_settings_default(&d);
        in = &d;
    }
    /* Each socket holds one association: its table of associations by peer port needs one
     * bucket, not usrsctp's 256 (2 KiB a socket, 4 KiB a bridged session). A tunable: it
     * must be set before the stack starts. */
    if (usrsctp_tunable_set_sctp_pcbtblsize(DCGW_SCTP_SOCKET_ASSOC_BUCKETS) != 0)
        DCGW_WARN(SCTP, "usrsctp_tunable_set_sctp_pcbtblsize: %s", strerror(errno));
    usrsctp_init_nothreads(0, conn_output, NULL);
    usrsctp_register_address(CONN_ADDR);
    /* We compute and verify CRC32c ourselves (DESIGN §10). */
    usrsctp_enable_crc32c_offload();
    int bad = 0;
    /* DTLS/UDP carries no ECN bits to the SCTP layer. */
    bad |= usrsctp_sysctl_set_sctp_ecn_enable(0);
    /* No ABORT in reply to out-of-the-blue packets or INITs for unknown ports: nothing to
     * learn for a prober, nothing to amplify. */
    bad |= usrsctp_sysctl_set_sctp_blackhole(2);
    /* Single-homed over DTLS: no address reconfiguration; DTLS already authenticates. */
    bad |= usrsctp_sysctl_set_sctp_asconf_enable(0);
    bad |= usrsctp_sysctl_set_sctp_auth_enable(0);
    /* RFC 8831 §6.2: PR-SCTP (RFC 3758) and stream reset (RFC 6525) MUST be supported. */
    bad |= usrsctp_sysctl_set_sctp_pr_enable(1);
    bad |= usrsctp_sysctl_set_sctp_reconfig_enable(1);
    bad |= usrsctp_sysctl_set_sctp_nrsack_enable(0);
    bad |= usrsctp_sysctl_set_sctp_pktdrop_enable(0);
    bad |= usrsctp_sysctl_set_sctp_rto_initial_default(in->rto_initial_ms);
    bad |= usrsctp_sysctl_set_sctp_rto_min_default(in->rto_min_ms);
    bad |= usrsctp_sysctl_set_sctp_rto_max_default(in->rto_max_ms);
    bad |= usrsctp_sysctl_set_sctp_init_rto_max_default(in->init_rto_max_ms);
    bad |= usrsctp_sysctl_set_sctp_delayed_sack_time_default(in->delayed_sack_ms);
    bad |= usrsctp_sysctl_set_sctp_sack_freq_default(in->sack_freq ? in->sack_freq : 2);
    bad |= usrsctp_sysctl_set_sctp_heartbeat_interval_default(in->heartbeat_interval_ms);
    bad |= usrsctp_sysctl_set_sctp_assoc_rtx_max_default(in->assoc_rtx_max);
    bad |= usrsctp_sysctl_set_sctp_path_rtx_max_default(in->path_rtx_max);
    bad |= usrsctp_sysctl_set_sctp_init_rtx_max_default(in->init_rtx_max);
    bad |= usrsctp_sysctl_set_sctp_max_chunks_on_queue(in->max_chunks_on_queue);
    if (bad) {
        DCGW_ERROR(SCTP, "usrsctp refused a stack setting");
        usrsctp_finish();
        return DCGW_ECONFIG;
    }
    g.max_chunks_on_queue = in->max_chunks_on_queue;
    g.inited = true;
    t_stack_thread = true;
    DCGW_DEBUG(SCTP, "usrsctp stack up (no threads, CRC32c offloaded, %s)",
               dcgw_crc32c_hw() ? "SSE4.2" : "tables");
    return 0;
}

static void reap(void);

int dcgw_sctp_stack_finish(void)
{
    if (!g.inited)
        return 0;
    if (g.in_usrsctp || g.draining)
        return DCGW_ESTATE;
    reap();
    if (g.stats.associations)
        return DCGW_ESTATE;
    usrsctp_deregister_address(CONN_ADDR);
    /* Closed sockets linger until their kill timers run. */
    int r = -1;
    for (int i = 0; i < 100 && r != 0; i++) {
        usrsctp_handle_timers(DCGW_SCTP_TIMER_TICK_MS);
        r = usrsctp_finish();
    }
    if (r != 0)
        return DCGW_EAGAIN;
    free(g.slots);
    memset(&g, 0, sizeof(g));
    t_stack_thread = false;
    g.free_head = SLOT_NONE;
    return 0;
}

bool dcgw_sctp_port_in_use(uint16_t port)
{
    return g.by_port[port] != NULL;
}

const struct dcgw_sctp_stack_stats *dcgw_sctp_stack_stats(void)
{
    return &g.stats;
}

/* ---- the drain loop ---- */

static bool writable_now(struct dcgw_sctp *s)
{
    if (dcgw_sctp_buffered_amount(s) > s->writable_at)
        return false;
    struct sctp_status st;
    socklen_t len = sizeof(st);
    memset(&st, 0, sizeof(st));
    int r;
    IN_USRSCTP(r = usrsctp_getsockopt(s->so, IPPROTO_SCTP, SCTP_STATUS, &st, &len));
    if (r == 0 && (uint32_t)st.sstat_penddata + st.sstat_unackdata >= g.max_chunks_on_queue / 2)
        return false; /* the chunk count, not the bytes, is what blocked the send */
    return true;
}

/* Reads everything usrsctp has for s and delivers it. */
static void process(struct dcgw_sctp *s)
{
    dcgw_reentry_enter(&s->re);
    /* Paused (back-pressure): what usrsctp received stays in its receive buffer and
     * closes the window toward the peer; the owner's on_message may pause us. */
    while (!s->zombie && s->so && !s->read_paused) {
        struct sctp_rcvinfo rcv;
        struct sockaddr_conn from;
        socklen_t infolen = sizeof(rcv), fromlen = sizeof(from);
        unsigned infotype = 0;
        int flags = 0;
        ssize_t n;
        memset(&rcv, 0, sizeof(rcv));
        IN_USRSCTP(n = usrsctp_recvv(s->so, g.rx, sizeof(g.rx), (struct sockaddr *)&from, &fromlen,
                                     &rcv, &infolen, &infotype, &flags));
        if (n < 0 || (n == 0 && !(flags & MSG_NOTIFICATION)))
            break; /* EWOULDBLOCK, or the association is gone */
        if (flags & MSG_NOTIFICATION)
            dcgw__sctp_on_notification(s, g.rx, (size_t)n, flags);
        else if (infotype == SCTP_RECVV_RCVINFO)
            dcgw__sctp_on_data(s, g.rx, (size_t)n, &rcv, flags);
    }
    if (!s->zombie && s->state == DCGW_SCTP_CLOSED && !s->closed_reported) {
        s->closed_reported = true;
        if (s->cbs.on_closed)
            s->cbs.on_closed(s->cbs.ud);
    }
    if (!s->zombie && s->want_writable &&
        (s->state == DCGW_SCTP_CONNECTED || s->state == DCGW_SCTP_CLOSING) && writable_now(s)) {
        s->want_writable = false;
        if (s->cbs.on_writable)
            s->cbs.on_writable(s->cbs.ud);
    }
    if (dcgw_reentry_leave(&s->re)) { /* freed by a callback: torn down then, released now */
        free(s->rx_buf);
        free(s);
    }
}

static void drain(void)
{
    if (g.draining || g.in_usrsctp)
        return; /* the outer loop picks up whatever was marked */
    g.draining = true;
    while (g.pend_head) {
        struct dcgw_sctp *s = g.pend_head;
        pend_remove(s);
        process(s);
    }
    g.draining = false;
}

/* Closes the socket and forgets the token. Not from inside usrsctp. */
static void teardown(struct dcgw_sctp *s)
{
    if (s->torn_down)
        return;
    s->torn_down = true;
    if (s->so)
        IN_USRSCTP(usrsctp_close(s->so)); /* SO_LINGER 0: ABORT if still up */
    s->so = NULL;
    if (s->bound && g.by_port[s->set.local_port] == s)
        g.by_port[s->set.local_port] = NULL;
    if (s->addr && s->addr != CONN_ADDR)
        IN_USRSCTP(usrsctp_deregister_address(s->addr));
    registry_remove(s);
    pend_remove(s);
}

static void reap(void)
{
    if (g.in_usrsctp || g.draining)
        return;
    struct dcgw_sctp **pp = &g.zombies;
    while (*pp) {
        struct dcgw_sctp *s = *pp;
        teardown(s);
        if (dcgw_reentry_busy(&s->re)) {
            pp = &s->zombie_next;
            continue;
        }
        *pp = s->zombie_next;
        free(s->rx_buf);
        free(s);
    }
}

/* ---- associations ---- */

static int setopt(struct dcgw_sctp *s, int level, int name, const void *v, socklen_t len,
                  const char *what)
{
    int r;
    IN_USRSCTP(r = usrsctp_setsockopt(s->so, level, name, v, len));
    if (r < 0) {
        DCGW_ERROR(SCTP, "usrsctp_setsockopt(%s): %s", what, strerror(errno));
        return DCGW_EINTERNAL;
    }
    return 0;
}

static int configure(struct dcgw_sctp *s)
{
    int r = 0;
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = abort if still up */
    r |= setopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER");
    int sndbuf = (int)s->set.sndbuf, rcvbuf = (int)s->set.rcvbuf;
    r |= setopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf), "SO_SNDBUF");
    r |= setopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf), "SO_RCVBUF");
    /* Partial delivery only for messages over the limit, which are dropped piece by piece
     * without being buffered whole. usrsctp 0.9.5 leaves the receive window closed after
     * PR-SCTP abandons a message in partial delivery, so conforming ones never use it. */
    uint32_t pdp = s->set.max_message_size + 1;
    r |= setopt(s, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, &pdp, sizeof(pdp), "PD_POINT");
    /* RFC 8831 §6.7: closing a channel resets its streams */
    struct sctp_assoc_value av = {.assoc_id = SCTP_FUTURE_ASSOC,
                                  .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    r |= setopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av), "STREAM_RESET");
    int on = 1, nodelay = s->set.nodelay ? 1 : 0;
    r |= setopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "RECVRCVINFO");
    r |= setopt(s, IPPROTO_SCTP, SCTP_NODELAY, &nodelay, sizeof(nodelay), "NODELAY");
    struct sctp_initmsg im = {.sinit_num_ostreams = s->set.streams,
                              .sinit_max_instreams = s->set.streams};
    r |= setopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im), "INITMSG");
    if (s->set.no_heartbeat) {
        /* No HEARTBEAT timer per association: an idle association then has no timer in
         * usrsctp's callout list, whose every entry each tick visits. Liveness comes from
         * ICE consent (RFC 7675) on the same path and from the peer's own heartbeats. */
        struct sctp_paddrparams pp;
        memset(&pp, 0, sizeof(pp));
        pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
        pp.spp_flags = SPP_HB_DISABLE;
        r |= setopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), "PEER_ADDR_PARAMS");
    }
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE,           SCTP_STREAM_RESET_EVENT,
                                      SCTP_SEND_FAILED_EVENT,      SCTP_SENDER_DRY_EVENT,
                                      SCTP_PARTIAL_DELIVERY_EVENT, SCTP_SHUTDOWN_EVENT};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1};
        r |= setopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "EVENT");
    }
    return r ? DCGW_EINTERNAL : 0;
}

static struct sockaddr_conn conn_addr(const struct dcgw_sctp *s, uint16_t port)
{
    struct sockaddr_conn a;
    memset(&a, 0, sizeof(a));
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = s->addr;
    return a;
}

static int open_socket(struct dcgw_sctp *s)
{
    IN_USRSCTP(s->so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL));
    if (!s->so) {
        DCGW_ERROR(SCTP, "usrsctp_socket: %s", strerror(errno));
        return DCGW_EINTERNAL;
    }
    int r;
    IN_USRSCTP(r = usrsctp_set_non_blocking(s->so, 1));
    if (r < 0)
        return DCGW_EINTERNAL;
    IN_USRSCTP(usrsctp_set_upcall(s->so, upcall, (void *)s->token));
    if ((r = configure(s)) != 0)
        return r;
    /* The shared address when the port is free in this process; else (two endpoints of
     * one process on one port: tests, a client on the fixed port 5000) an address of
     * its own, registered with usrsctp, which costs O(registered addresses) per lookup. */
    s->addr = CONN_ADDR;
    if (g.by_port[s->set.local_port]) {
        s->addr = (void *)s->token;
        IN_USRSCTP(usrsctp_register_address(s->addr));
    }
    struct sockaddr_conn local = conn_addr(s, s->set.local_port);
    int err = 0;
    IN_USRSCTP(r = usrsctp_bind(s->so, (struct sockaddr *)&local, sizeof(local)); err = errno);
    if (r < 0) {
        DCGW_ERROR(SCTP, "bind to SCTP port %u: %s", s->set.local_port, strerror(err));
        return err == EADDRINUSE ? DCGW_EEXIST : DCGW_EINTERNAL;
    }
    if (s->addr == CONN_ADDR) {
        g.by_port[s->set.local_port] = s;
        s->bound = true;
    }
    return 0;
}

int dcgw_sctp_new(const struct dcgw_sctp_settings *set, const struct dcgw_sctp_callbacks *cbs,
                  struct dcgw_sctp **out)
{
    *out = NULL;
    if (g.in_usrsctp)
        return DCGW_ESTATE;
    if (!set || !cbs || !cbs->send_packet)
        return DCGW_EINVAL;
    struct dcgw_sctp_settings norm = *set;
    int r = dcgw__sctp_normalize(&norm);
    if (r)
        return r;
    if ((r = dcgw_sctp_stack_init(NULL)) != 0)
        return r;
    struct dcgw_sctp *s = calloc(1, sizeof(*s));
    if (!s)
        return DCGW_ENOMEM;
    s->set = norm;
    s->cbs = *cbs;
    s->state = DCGW_SCTP_NEW;
    if ((r = registry_add(s)) != 0) {
        free(s);
        return r;
    }
    if ((r = open_socket(s)) != 0) {
        teardown(s);
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

int dcgw_sctp_connect(struct dcgw_sctp *s)
{
    if (g.in_usrsctp || s->zombie)
        return DCGW_ESTATE;
    if (s->state != DCGW_SCTP_NEW)
        return DCGW_ESTATE;
    struct sockaddr_conn remote = conn_addr(s, s->set.remote_port);
    int r, err = 0;
    IN_USRSCTP(r = usrsctp_connect(s->so, (struct sockaddr *)&remote, sizeof(remote)); err = errno);
    if (r < 0 && err != EINPROGRESS) {
        DCGW_ERROR(SCTP, "port %u: connect: %s", s->set.local_port, strerror(err));
        mark_closed(s);
        pend_push(s); /* on_closed at the next drain */
        reap();
        return DCGW_EINTERNAL;
    }
    s->state = DCGW_SCTP_CONNECTING;
    /* Fixed packet size, no PMTU discovery: the DTLS/UDP path is not probed by SCTP. */
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof(pp));
    memcpy(&pp.spp_address, &remote, sizeof(remote));
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = s->set.mtu - SCTP_COMMON_HEADER; /* AF_CONN: excludes the header */
    setopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), "PEER_ADDR_PARAMS");
    reap();
    return 0;
}

int dcgw_sctp_input(struct dcgw_sctp *s, const uint8_t *p, size_t n)
{
    if (g.in_usrsctp)
        return DCGW_ESTATE;
    if (s->zombie)
        return DCGW_ECLOSED;
    if (n < SCTP_COMMON_HEADER || n > DCGW_SCTP_PACKET_MAX) {
        s->stats.bad_size++;
        DCGW_LOG_RL(SCTP, WARN, "port %u: dropped a %zu-byte packet", s->set.local_port, n);
        return n < SCTP_COMMON_HEADER ? DCGW_ETRUNC : DCGW_ETOOBIG;
    }
    /* RFC 9260 §6.8: checksum over the packet with the checksum field as zero */
    static const uint8_t zero[4];
    uint32_t crc = dcgw_crc32c(p, 8);
    crc = dcgw_crc32c_extend(crc, zero, sizeof(zero));
    crc = dcgw_crc32c_extend(crc, p + SCTP_COMMON_HEADER, n - SCTP_COMMON_HEADER);
    uint32_t got =
        (uint32_t)p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24;
    if (crc != got) {
        s->stats.bad_crc++;
        DCGW_LOG_RL(SCTP, WARN, "port %u: bad CRC32c, packet dropped", s->set.local_port);
        return DCGW_EMALFORMED;
    }
    /* Associations share one address: a packet for other ports could reach another
     * association through usrsctp's lookup, so only our own port pair goes in. */
    if (get_be16(p + 2) != s->set.local_port || get_be16(p) != s->set.remote_port) {
        s->stats.wrong_ports++;
        DCGW_LOG_RL(SCTP, WARN, "port %u: packet for ports %u -> %u dropped", s->set.local_port,
                    get_be16(p), get_be16(p + 2));
        return DCGW_EMALFORMED;
    }
    s->stats.packets_in++;
    s->stats.bytes_in += n;
    if (dcgw__sctp_active_packet(p, n))
        g.stats.active_packets++;
    if (dcgw__sctp_data_packet(p, n))
        g.stats.data_packets_in++;
    IN_USRSCTP(usrsctp_conninput(s->addr, p, n, 0));
    drain();
    reap();
    return 0;
}

static int send_errno(struct dcgw_sctp *s, int err)
{
    switch (err) {
    case EWOULDBLOCK:
#if EAGAIN != EWOULDBLOCK
    case EAGAIN:
#endif
    case ENOBUFS:
        s->stats.send_eagain++;
        want_writable(s, 0);
        return DCGW_EAGAIN;
    case EMSGSIZE:
        s->stats.too_big_out++;
        return DCGW_ETOOBIG;
    case EINVAL:
        return DCGW_EINVAL;
    case ENOMEM:
        return DCGW_ENOMEM;
    default: /* ECONNRESET, ENOTCONN, EPIPE, ENOENT: the association is going away */
        return DCGW_ECLOSED;
    }
}

/* What a message of n bytes adds to usrsctp's count of buffered bytes
 * (total_output_queue_size) at most: its length, and a DATA or I-DATA chunk header (16 or
 * 20 bytes) per fragment, fragments being far longer than 512 bytes at dcgw's MTUs. Only
 * SACKs and abandoned messages take bytes away. */
static size_t booked_max(size_t n)
{
    return n + (n / 512 + 1) * 20;
}

int dcgw_sctp_send(struct dcgw_sctp *s, uint16_t stream, uint32_t ppid,
                   const struct dcgw_sctp_sendopts *o, const uint8_t *p, size_t n)
{
    if (g.in_usrsctp || s->zombie)
        return DCGW_ESTATE;
    if (s->state != DCGW_SCTP_CONNECTED)
        return s->state == DCGW_SCTP_CLOSING || s->state == DCGW_SCTP_CLOSED ? DCGW_ECLOSED
                                                                             : DCGW_ESTATE;
    if (n == 0 || !p)
        return DCGW_EINVAL;
    if (n > s->set.max_send_size) {
        s->stats.too_big_out++;
        return DCGW_ETOOBIG;
    }
    if (stream >= s->out_streams)
        return DCGW_ERANGE;
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof(spa));
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = stream;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    if (o && o->unordered)
        spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    if (o && o->pr != DCGW_SCTP_PR_NONE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy =
            o->pr == DCGW_SCTP_PR_RTX ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = o->pr_value;
    }
    ssize_t r;
    int err = 0;
    IN_USRSCTP(r = usrsctp_sendv(s->so, p, n, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
               err = errno);
    int ret = 0;
    if (r < 0)
        ret = send_errno(s, err);
    else if ((size_t)r != n) /* not in explicit-EOR mode: all or nothing */
        ret = DCGW_EINTERNAL;
    if (ret == 0) {
        s->stats.msgs_out++;
        s->stats.msg_bytes_out += n;
        s->queued_max += booked_max(n);
    }
    reap();
    return ret;
}

int dcgw_sctp_reset_streams(struct dcgw_sctp *s, const uint16_t *streams, size_t n)
{
    if (g.in_usrsctp || s->zombie)
        return DCGW_ESTATE;
    if (s->state != DCGW_SCTP_CONNECTED)
        return DCGW_ESTATE;
    if (n == 0 || n > DCGW_SCTP_RESET_MAX || !streams)
        return DCGW_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (streams[i] >= s->out_streams)
            return DCGW_ERANGE;
    union {
        struct sctp_reset_streams rs;
        uint8_t raw[sizeof(struct sctp_reset_streams) + DCGW_SCTP_RESET_MAX * sizeof(uint16_t)];
    } u;
    memset(&u, 0, sizeof(u));
    u.rs.srs_flags = SCTP_STREAM_RESET_OUTGOING;
    u.rs.srs_number_streams = (uint16_t)n;
    memcpy(u.raw + sizeof(struct sctp_reset_streams), streams, n * sizeof(uint16_t));
    socklen_t len = (socklen_t)(sizeof(struct sctp_reset_streams) + n * sizeof(uint16_t));
    int r, err = 0;
    IN_USRSCTP(r = usrsctp_setsockopt(s->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, &u, len);
               err = errno);
    reap();
    if (r < 0) {
        DCGW_LOG_RL(SCTP, WARN, "port %u: stream reset: %s", s->set.local_port, strerror(err));
        return err == EOPNOTSUPP ? DCGW_EUNSUPPORTED : DCGW_EINTERNAL;
    }
    return 0;
}

void dcgw_sctp_pause_reading(struct dcgw_sctp *s, bool paused)
{
    if (s->zombie || s->read_paused == paused)
        return;
    s->read_paused = paused;
    if (paused) {
        s->stats.read_pauses++;
        g.stats.read_pauses++;
    } else
        pend_push(s); /* what waits is read by the running drain, or the next one */
}

bool dcgw_sctp_reading_paused(const struct dcgw_sctp *s)
{
    return s->read_paused;
}

void dcgw_sctp_want_writable(struct dcgw_sctp *s, size_t lowat)
{
    if (s->zombie || s->state == DCGW_SCTP_CLOSED)
        return;
    want_writable(s, lowat);
    /* Checked at the next drain even if no SACK comes first; not from inside its own
     * callbacks (on_writable asking again would be checked again at once). */
    if (!dcgw_reentry_busy(&s->re))
        pend_push(s);
}

size_t dcgw_sctp_buffered_amount(struct dcgw_sctp *s)
{
    if (g.in_usrsctp || !s->so)
        return 0;
    struct sndbuf_use su;
    memset(&su, 0, sizeof(su));
    socklen_t len = sizeof(su);
    int r;
    IN_USRSCTP(r = usrsctp_getsockopt(s->so, IPPROTO_SCTP, SCTP_GET_SNDBUF_USE, &su, &len));
    if (r != 0)
        return 0;
    s->queued_max = su.ss_total_sndbuf;
    return su.ss_total_sndbuf;
}

bool dcgw_sctp_buffered_above(struct dcgw_sctp *s, size_t limit)
{
    if (s->queued_max <= limit)
        return false; /* what is buffered is at most that */
    return dcgw_sctp_buffered_amount(s) > limit;
}

int dcgw_sctp_close(struct dcgw_sctp *s)
{
    if (g.in_usrsctp || s->zombie)
        return DCGW_ESTATE;
    switch (s->state) {
    case DCGW_SCTP_NEW:
        mark_closed(s);
        pend_push(s);
        return 0;
    case DCGW_SCTP_CONNECTING: /* nothing to flush: give up the handshake (ABORT if any) */
        IN_USRSCTP(usrsctp_close(s->so));
        s->so = NULL;
        mark_closed(s);
        pend_push(s);
        reap();
        return 0;
    case DCGW_SCTP_CONNECTED: {
        int r, err = 0;
        IN_USRSCTP(r = usrsctp_shutdown(s->so, SHUT_WR); err = errno);
        if (r < 0) {
            DCGW_DEBUG(SCTP, "port %u: shutdown: %s", s->set.local_port, strerror(err));
            mark_closed(s);
            pend_push(s);
        } else {
            s->state = DCGW_SCTP_CLOSING;
        }
        reap();
        return 0;
    }
    default:
        return 0;
    }
}

void dcgw_sctp_free(struct dcgw_sctp *s)
{
    if (!s || s->zombie)
        return;
    if (g.in_usrsctp) {
        /* From send_packet: cannot close inside usrsctp. Silence it and close later. */
        DCGW_ERROR(SCTP, "port %u: freed from inside send_packet", s->set.local_port);
        s->zombie = s->silent = true;
        pend_remove(s);
        s->zombie_next = g.zombies;
        g.zombies = s;
        return;
    }
    teardown(s);
    s->zombie = true;
    if (!dcgw_reentry_free_now(&s->re))
        return; /* inside one of its callbacks: released when process() leaves */
    free(s->rx_buf);
    free(s);
}

void dcgw_sctp_handle_timers(uint32_t elapsed_ms)
{
    if (!g.inited || g.in_usrsctp)
        return;
    IN_USRSCTP(usrsctp_handle_timers(elapsed_ms));
    drain();
    reap();
}

enum dcgw_sctp_state dcgw_sctp_state(const struct dcgw_sctp *s)
{
    return s->state;
}

uint16_t dcgw_sctp_streams_out(const struct dcgw_sctp *s)
{
    return s->state == DCGW_SCTP_NEW || s->state == DCGW_SCTP_CONNECTING ? 0 : s->out_streams;
}

uint16_t dcgw_sctp_streams_in(const struct dcgw_sctp *s)
{
    return s->state == DCGW_SCTP_NEW || s->state == DCGW_SCTP_CONNECTING ? 0 : s->in_streams;
}

uint32_t dcgw_sctp_max_message_size(const struct dcgw_sctp *s)
{
    return s->set.max_message_size;
}

const struct dcgw_sctp_stats *dcgw_sctp_stats(const struct dcgw_sctp *s)
{
    return &s->stats;
}
