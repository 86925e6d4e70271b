/* Worker data plane: the door. The UDP socket, routing of datagrams to legs, the way in
 * (on_datagram) and the way out (dcgw__wplane_send) for both modes, leg timers and the
 * deferred release of dead legs (docs/datapath.md). DESIGN.md §3: a datagram is routed
 * by its source address; an unknown source only by a STUN Binding request whose USERNAME
 * names a live leg (whose agent then checks MESSAGE-INTEGRITY before the address is
 * learnt). */
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/demux.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/base/log.h"
#include "dcgw/base/reentry.h"
#include "dcgw/net/fastpath.h"
#include "dcgw/base/ratelimit.h"
#include "dcgw/net/filter.h"
#include "dcgw/stages/relay.h"
#include "dcgw/stages/sctp.h"
#include "worker_int.h"

static void addrkey_of(const struct sockaddr *sa, struct addrkey *k)
{
    memset(k, 0, sizeof(*k));
    k->family = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        k->port = a->sin_port;
        memcpy(k->addr, &a->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        k->port = a->sin6_port;
        memcpy(k->addr, &a->sin6_addr, 16);
    }
}

/* Every datagram is looked up by its source: a few multiplications over the key's words
 * (zeroed padding included, addrkey_of) rather than one per byte. */
static guint addrkey_hash(gconstpointer p)
{
    _Static_assert(sizeof(struct addrkey) == 20, "addrkey: two words and a half");
    uint64_t a, b;
    uint32_t c;
    memcpy(&a, p, 8);
    memcpy(&b, (const uint8_t *)p + 8, 8);
    memcpy(&c, (const uint8_t *)p + 16, 4);
    uint64_t h = a * 0x9E3779B97F4A7C15u ^ b * 0xC2B2AE3D27D4EB4Fu ^ c * 0x165667B19E3779F9u;
    return (guint)(h ^ h >> 32);
}

static gboolean addrkey_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(struct addrkey)) == 0;
}

/* The kernel filter follows the routes: a validated address is let through there too.
 * If the kernel ever refuses one, the filter goes (it would drop that peer's datagrams). */
static void filter_update(struct worker *w, const struct addrkey *k, bool add)
{
    if (!w->filter)
        return;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (k->family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = k->port;
        memcpy(&a->sin_addr, k->addr, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = k->port;
        memcpy(&a->sin6_addr, k->addr, 16);
    }
    if (!add) {
        dcgw_filter_del(w->filter, (struct sockaddr *)&ss);
        return;
    }
    int r = dcgw_filter_add(w->filter, (struct sockaddr *)&ss);
    if (r < 0) {
        DCGW_WARN(IO, "kernel filter refused a validated address (%s): filtering in user space",
                  dcgw_strerror(r));
        struct dcgw_filter_stats st;
        dcgw_filter_stats(w->filter, &st); /* its counts stay in the worker's */
        w->stats.rx_unknown_source += st.dropped;
        w->stats.rx_unknown_limited += st.limited;
        dcgw_filter_free(w->filter);
        w->filter = NULL;
    }
}

static void route_add(struct worker *w, struct wleg *l, const struct sockaddr *addr)
{
    struct addrkey k;
    addrkey_of(addr, &k);
    struct wleg *cur = g_hash_table_lookup(w->by_addr, &k);
    if (cur == l)
        return;
    if (cur) {
        /* The address moved to another leg (a valid check proved it): drop the old route. */
        for (unsigned i = 0; i < cur->n_routes; i++)
            if (addrkey_equal(&cur->routes[i], &k)) {
                cur->routes[i] = cur->routes[--cur->n_routes];
                break;
            }
    }
    if (l->n_routes == WLEG_MAX_ROUTES) {
        /* Oldest route goes; the ICE agent keeps its own bounded list too. */
        g_hash_table_remove(w->by_addr, &l->routes[0]);
        filter_update(w, &l->routes[0], false);
        memmove(&l->routes[0], &l->routes[1], sizeof(l->routes[0]) * (WLEG_MAX_ROUTES - 1));
        l->n_routes--;
    }
    l->routes[l->n_routes] = k;
    g_hash_table_replace(w->by_addr, &l->routes[l->n_routes], l);
    l->n_routes++;
    if (!cur)
        filter_update(w, &k, true);
}

void dcgw__wplane_leg_forget(struct worker *w, struct wleg *l)
{
    for (unsigned i = 0; i < l->n_routes; i++)
        if (g_hash_table_lookup(w->by_addr, &l->routes[i]) == l) {
            g_hash_table_remove(w->by_addr, &l->routes[i]);
            filter_update(w, &l->routes[i], false);
        }
    l->n_routes = 0;
    if (g_hash_table_lookup(w->by_ufrag, l->ufrag) == l)
        g_hash_table_remove(w->by_ufrag, l->ufrag);
}

/* A leg's deadline came (or an earlier one it was armed for): its stages run their
 * timers, and the leg is armed for the next. */
static void leg_due(struct wleg *l, uint64_t now)
{
    l->timer_due = UINT64_MAX;
    if (!l->leg || l->dead)
        return;
    enum dcgw_leg_state before = dcgw_leg_state(l->leg);
    dcgw_leg_handle_timeout(l->leg, now);
    if (l->dead || !l->leg || dcgw_leg_state(l->leg) != before)
        dcgw__wmetrics_touch(l->s);
    dcgw__wplane_rearm(l);
}

static void on_leg_timer(uv_timer_t *t)
{
    leg_due(t->data, uv_now(t->loop));
}

/* Leg deadlines more than a second away (an idle leg's consent expiry, ~25 s ahead) are
 * rounded up to the whole second and kept in a wheel of one-second slots, run by one
 * timer a second: thousands of idle legs then wake the worker once a second, and arming
 * one is a list insertion, where a libuv timer each woke the worker at its own
 * millisecond (269 wake-ups a second at 5,000 idle sessions) and moved in libuv's heap as
 * it was armed and as it fired (5% of a quiet worker). Consent expires up to a second
 * after consent_timeout_ms. Nearer deadlines (DTLS retransmissions, the set-up deadline's
 * last second) keep a libuv timer and the millisecond. */
enum { LEG_TIMER_GRAIN_MS = 1000 };

uint64_t dcgw__wplane_timer_due(uint64_t due, uint64_t now)
{
    if (due == UINT64_MAX || due <= now + LEG_TIMER_GRAIN_MS)
        return due;
    return (due + LEG_TIMER_GRAIN_MS - 1) / LEG_TIMER_GRAIN_MS * LEG_TIMER_GRAIN_MS;
}

static void wheel_del(struct wleg *l)
{
    if (!l->wprev)
        return;
    *l->wprev = l->wnext;
    if (l->wnext)
        l->wnext->wprev = l->wprev;
    l->wnext = NULL;
    l->wprev = NULL;
}

/* Into the slot of the second of l->timer_due, or of the wheel's last second ahead when
 * it is further (seen again then). */
static void wheel_put(struct worker *w, struct wleg *l, uint64_t now)
{
    uint64_t sec = l->timer_due / LEG_TIMER_GRAIN_MS, last = now / LEG_TIMER_GRAIN_MS;
    if (sec >= last + WLEG_WHEEL_SLOTS)
        sec = last + WLEG_WHEEL_SLOTS - 1;
    if (sec <= w->wheel_sec) /* that slot was run: the next one */
        sec = w->wheel_sec + 1;
    struct wleg **head = &w->wheel[sec % WLEG_WHEEL_SLOTS];
    l->wnext = *head;
    if (*head)
        (*head)->wprev = &l->wnext;
    l->wprev = head;
    *head = l;
}

/* Every second: the slots of the seconds that passed (each at most once). A leg due runs;
 * one that is not (further than the wheel holds) goes back in. A leg that dies meanwhile
 * (its session's other leg ran) leaves the list being run by wheel_del. */
void dcgw__wplane_wheel_run(struct worker *w, uint64_t now)
{
    uint64_t sec = now / LEG_TIMER_GRAIN_MS;
    if (sec - w->wheel_sec > WLEG_WHEEL_SLOTS)
        w->wheel_sec = sec - WLEG_WHEEL_SLOTS;
    while (w->wheel_sec < sec) {
        struct wleg **head = &w->wheel[++w->wheel_sec % WLEG_WHEEL_SLOTS];
        struct wleg *run = *head; /* detached: what goes back in lands in a fresh list */
        *head = NULL;
        if (run)
            run->wprev = &run;
        while (run) {
            struct wleg *l = run;
            wheel_del(l);
            if (l->timer_due <= now)
                leg_due(l, now);
            else
                wheel_put(w, l, now);
        }
    }
}

static void on_wheel(uv_timer_t *t)
{
    struct worker *w = t->data;
    dcgw__wplane_wheel_run(w, uv_now(w->loop));
}

void dcgw__wplane_rearm(struct wleg *l)
{
    if (!l->leg || l->dead) {
        uv_timer_stop(&l->timer);
        wheel_del(l);
        l->timer_due = UINT64_MAX;
        return;
    }
    uint64_t now = uv_now(l->timer.loop);
    uint64_t due = dcgw__wplane_timer_due(dcgw_leg_next_timeout(l->leg), now);
    /* Lazily: a leg armed earlier than needed stays and re-arms when that comes. Each
     * consent check moves the consent deadline later; re-arming for it every time was a
     * libuv heap removal and insertion per check (7% of a quiet worker). */
    if (due >= l->timer_due || due == UINT64_MAX)
        return;
    l->timer_due = due;
    wheel_del(l);
    if (due > now + LEG_TIMER_GRAIN_MS) {
        uv_timer_stop(&l->timer);
        wheel_put(l->s->w, l, now);
    } else {
        uv_timer_start(&l->timer, on_leg_timer, due > now ? due - now : 0, 0);
    }
}

void dcgw__wplane_free_later(struct worker *w, void (*fn)(struct worker *w, void *p), void *p)
{
    if (dcgw_reentry_free_now(&w->turn)) { /* the loop is over (dcgw__wplane_stop) */
        fn(w, p);
        return;
    }
    struct wdeferred d = {fn, p};
    g_array_append_val(w->deferred, d);
}

static void free_leg(struct worker *w, void *leg)
{
    (void)w;
    dcgw_leg_free(leg);
}

void dcgw__wplane_leg_kill(struct wleg *l)
{
    if (l->dead)
        return;
    l->dead = true;
    struct worker *w = l->s->w;
    dcgw__wplane_leg_forget(w, l);
    uv_timer_stop(&l->timer);
    wheel_del(l);
    if (l->tp == 0) { /* the leg's own transport: its data channels go */
        if (l->s->bridge)
            dcgw_bridge_detach(l->s->bridge, l->idx);
        dcgw__wboot_leg_gone(l->s, l->idx); /* its served channels: nothing touches them now */
    }
    if (l->leg) {
        dcgw_leg_close(l->leg); /* close_notify; nothing is sent after this */
        dcgw__wplane_free_later(w, free_leg, l->leg);
    }
    l->leg = NULL;
}

static void on_sctp_tick(uv_timer_t *t);

/* usrsctp's clock (sctp_tick_last, in the loop's milliseconds) follows the loop's: its
 * timers run for the time since the last run. It may be a millisecond ahead after a burst
 * (on_burst_end); then it waits for the loop's. */
static void sctp_catch_up(struct worker *w, uint64_t now)
{
    uint64_t elapsed = now > w->sctp_tick_last ? now - w->sctp_tick_last : 0;
    dcgw_sctp_handle_timers((uint32_t)elapsed);
    w->sctp_tick_last += elapsed;
}

/* The SACKs owed now (docs/sctp.md "SACKs per burst"): usrsctp's timers run with its
 * clock moved to the loop's, or one millisecond past its own, so that the delayed SACKs
 * started since (sctp.delayed_sack_ms = 1) go out with the burst's other replies, rather
 * than at the next tick. Its clock runs a millisecond ahead at most: when it already is,
 * the SACKs wait for the loop's to catch up (sack_timer). */
static void on_sack_timer(uv_timer_t *t);

static void sacks_now(struct worker *w, uint64_t now)
{
    if (w->sctp_tick_last > now) {
        if (!uv_is_active((uv_handle_t *)&w->sack_timer))
            uv_timer_start(&w->sack_timer, on_sack_timer, w->sctp_tick_last - now, 0);
        return;
    }
    uint64_t to = now > w->sctp_tick_last ? now : w->sctp_tick_last + 1;
    dcgw_sctp_handle_timers((uint32_t)(to - w->sctp_tick_last));
    w->sctp_tick_last = to;
}

static void on_sack_timer(uv_timer_t *t)
{
    struct worker *w = t->data;
    sacks_now(w, uv_now(w->loop));
}

/* The end of a read burst: SACKs are owed when SCTP data came in it. */
static void on_burst_end(void *ud, uint64_t now)
{
    struct worker *w = ud;
    uint64_t data = dcgw_sctp_stack_stats()->data_packets_in;
    if (data == w->sctp_data_seen)
        return;
    w->sctp_data_seen = data;
    sacks_now(w, now);
}

/* Quiet mode (DESIGN §10, docs/sctp.md "Idle workers"): once for DCGW_SCTP_IDLE_AFTER_MS the SCTP
 * stack moved nothing but heartbeats and no datagram but consent checks and DTLS
 * application records arrived, the worker ticks usrsctp every sctp.idle_timer_interval_ms
 * (each tick walks every pending timer) and reads its socket every data_plane.idle_poll_ms
 * (one wake-up for many consent checks). The first other datagram or SCTP packet ends it. */
static void quiet_enter(struct worker *w)
{
    w->quiet = true;
    w->stats.quiet_entered++;
    if (w->cfg.sctp.idle_timer_interval_ms > w->cfg.sctp.timer_interval_ms)
        uv_timer_start(&w->sctp_tick, on_sctp_tick, w->cfg.sctp.idle_timer_interval_ms,
                       w->cfg.sctp.idle_timer_interval_ms);
    if (w->io && w->cfg.data_plane.idle_poll_ms)
        dcgw_io_set_poll_interval(w->io, w->cfg.data_plane.idle_poll_ms);
}

/* Back to the fast tick and to reading on each datagram: runs usrsctp's timers for the
 * time that passed, then every sctp.timer_interval_ms. */
static void quiet_leave(struct worker *w)
{
    uint64_t now = uv_now(w->loop);
    sctp_catch_up(w, now);
    w->sctp_active_seen = dcgw_sctp_stack_stats()->active_packets;
    w->busy_at = now;
    w->quiet = false;
    w->wake = false;
    w->stats.quiet_left++;
    uv_timer_start(&w->sctp_tick, on_sctp_tick, w->cfg.sctp.timer_interval_ms,
                   w->cfg.sctp.timer_interval_ms);
    if (w->io)
        dcgw_io_set_poll_interval(w->io, 0);
}

static void on_sctp_tick(uv_timer_t *t)
{
    struct worker *w = t->data;
    uint64_t now = uv_now(w->loop);
    sctp_catch_up(w, now);
    uint64_t a = dcgw_sctp_stack_stats()->active_packets;
    if (a != w->sctp_active_seen) {
        w->sctp_active_seen = a;
        w->busy_at = now;
    } else if (!w->quiet && now - w->busy_at >= DCGW_SCTP_IDLE_AFTER_MS) {
        quiet_enter(w);
    }
}

/* The end of a loop turn (base/reentry.h): a leg dies inside callbacks of its own stages,
 * or of the other leg's (the bridge, the policy), entered through doors the worker does not
 * all own (datagrams, timers, the master, MDC1); the turn is the one region that holds them
 * all, so its end frees what died in it (legs, bootstrap proxies). */
static void end_turn(struct worker *w, bool again)
{
    /* not entered: dcgw__wplane_stop ran already (a worker may be closed twice) */
    bool busy = dcgw_reentry_busy(&w->turn);
    if (busy && dcgw_reentry_leave(&w->turn)) {
        GArray *all = w->deferred; /* a free that asks for another runs it at once: depth 0 */
        w->deferred = g_array_new(FALSE, FALSE, sizeof(struct wdeferred));
        for (guint i = 0; i < all->len; i++) {
            struct wdeferred *d = &g_array_index(all, struct wdeferred, i);
            d->fn(w, d->p);
        }
        g_array_free(all, TRUE);
    }
    if (busy) /* every turn: idle legs give buffers back without anything dying (memory.c) */
        dcgw__wmem_after_turn(w);
    if (again)
        dcgw_reentry_enter(&w->turn);
}

/* After each loop turn's I/O: wake the SCTP tick if needed; retire dead legs. */
static void reap_turn(struct worker *w, bool again)
{
    if (w->quiet && (w->wake || dcgw_sctp_stack_stats()->active_packets != w->sctp_active_seen))
        quiet_leave(w);
    end_turn(w, again);
}

static void reap(uv_check_t *h)
{
    reap_turn(h->data, true);
}

/* The fixed header of a STUN Binding request (RFC 8489 §5, §6): type 0x0001, a length
 * that is the rest of the datagram and a multiple of 4, the magic cookie. */
static bool binding_request_header(const uint8_t *p, size_t n)
{
    return n >= 20 && n <= DCGW_ICE_MSG_MAX && p[0] == 0x00 && p[1] == 0x01 &&
           ((size_t)p[2] << 8 | p[3]) == n - 20 && (n & 3) == 0 && p[4] == 0x21 && p[5] == 0x12 &&
           p[6] == 0xa4 && p[7] == 0x42;
}

/* DESIGN §3: an unknown source is routed only by a STUN Binding request whose USERNAME
 * names a live leg, whose agent then checks MESSAGE-INTEGRITY. The cheap checks come
 * first so that a flood from unknown sources costs little (issue 13): the first bytes,
 * then the source's token bucket (data_plane.unknown_source_rate), and only then the
 * attributes and the leg's HMAC. */
static struct wleg *route_unknown(struct worker *w, const struct sockaddr *from, const uint8_t *p,
                                  size_t n, uint64_t now)
{
    char ufrag[DCGW_ICE_UFRAG_MAX + 1];
    char a[DCGW_ADDR_STRLEN];
    if (!binding_request_header(p, n)) {
        w->stats.rx_unknown_source++;
        DCGW_LOG_RL(IO, DEBUG, "dropped a datagram from unknown source %s",
                    dcgw_addr_format(from, a, sizeof(a)));
        return NULL;
    }
    if (w->unknown_rl && !dcgw_ratelimit_allow(w->unknown_rl, from, now * 1000)) {
        w->stats.rx_unknown_limited++;
        DCGW_LOG_RL(IO, INFO, "Binding requests from %s over data_plane.unknown_source_rate",
                    dcgw_addr_format(from, a, sizeof(a)));
        return NULL;
    }
    if (dcgw_stun_peek_username(p, n, ufrag, sizeof(ufrag)) < 0) {
        w->stats.rx_unknown_source++;
        return NULL;
    }
    struct wleg *l = g_hash_table_lookup(w->by_ufrag, ufrag);
    if (!l)
        w->stats.rx_no_session++;
    return l;
}

/* What a quiet worker may take without leaving quiet mode: STUN (RFC 7983: first byte
 * 0..3; consent checks) and DTLS application data (23) of a terminated leg at a validated
 * address, which wakes the worker afterwards if it carried more than heartbeats. */
static void note_activity(struct worker *w, const struct wleg *known, const uint8_t *p, size_t n,
                          uint64_t now)
{
    if (n && known && (p[0] <= 3 || (p[0] == 23 && !known->s->relay)))
        return;
    w->busy_at = now;
    w->wake = w->quiet;
}

/* A terminated leg's stages (leg.h): ICE, DTLS, SCTP, data channels. With `learn` (the
 * source has no route yet): true when `from` is an address the leg's ICE agent validated. */
static bool leg_input(struct wleg *l, const struct sockaddr *from, const uint8_t *p, size_t n,
                      uint64_t now, bool learn)
{
    if (!l->leg || l->dead)
        return false;
    enum dcgw_leg_state before = dcgw_leg_state(l->leg);
    uint64_t active = dcgw_sctp_stack_stats()->active_packets;
    int r = dcgw_leg_input(l->leg, from, p, n, now);
    /* STUN (RFC 7983: first byte 0..3) that left the state alone (a consent check) moves
     * no metric, nor does a DTLS application record (23) that moved nothing but SCTP
     * heartbeats (a peer's every 30 s, and our answer: active_packets still): no message,
     * channel or held byte changed. Anything else may. */
    bool quiet =
        n && (p[0] <= 3 || (p[0] == 23 && dcgw_sctp_stack_stats()->active_packets == active));
    if (!quiet || l->dead || dcgw_leg_state(l->leg) != before)
        dcgw__wmetrics_touch(l->s);
    bool validated = learn && r == 0 && !l->dead && dcgw_leg_knows(l->leg, from);
    dcgw__wplane_rearm(l);
    return validated;
}

/* The way in: every datagram of the worker's socket. */
static void on_datagram(void *ud, const struct sockaddr *from, uint8_t *p, size_t n, uint64_t now)
{
    struct worker *w = ud;
    struct addrkey k;
    addrkey_of(from, &k);
    struct wleg *l = g_hash_table_lookup(w->by_addr, &k);
    note_activity(w, l, p, n, now);
    /* A routed source stays routed to l while l lives (routes only move by route_add, and
     * leave with a dead leg): nothing to learn from its datagrams. */
    bool routed = l != NULL;
    if (!l && !(l = route_unknown(w, from, p, n, now)))
        return;
    bool validated;
    if (l->s->relay) { /* relay legs: each side's validated addresses feed one flow */
        validated = dcgw__wrelay_input(l, from, p, n, now) == DCGW_RELAY_STUN_OK;
        dcgw__wmetrics_touch(l->s);
    } else
        validated = leg_input(l, from, p, n, now, !routed);
    /* Route learning, the same for both modes: a source the leg's ICE validated. */
    if (validated && !routed && !l->dead)
        route_add(w, l, from);
}

/* The way out. */
int dcgw__wplane_send(struct worker *w, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    return dcgw_io_send(w->io, to, p, n);
}

void dcgw__wplane_leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct wleg *l = ud;
    dcgw__wplane_send(l->s->w, to, p, n);
}

/* The relay fast path, when configured (docs/fastpath.md); without it relay flows stay in
 * userspace, which the log says once. */
static void start_fastpath(struct worker *w, const struct sockaddr *local)
{
    if (!w->cfg.fast_path.enabled)
        return;
    struct dcgw_fastpath_settings st = {.interfaces = w->cfg.fast_path.interfaces,
                                        .attach = w->cfg.fast_path.attach,
                                        .max_flows = w->cfg.fast_path.max_flows,
                                        .owner = w->index};
    char why[256] = "";
    if (dcgw_fastpath_open(&st, local, &w->fastpath, why, sizeof(why)) < 0) {
        w->fastpath = NULL;
        DCGW_WARN(RELAY, "fast path unavailable, relaying in userspace: %s", why);
        return;
    }
    struct dcgw_fastpath_stats fs;
    dcgw_fastpath_stats(w->fastpath, &fs);
    DCGW_INFO(RELAY, "fast path on (%s on %s): up to %u relay flows in the kernel", fs.attach,
              *st.interfaces ? st.interfaces : "the data plane's interface", fs.max_flows);
}

void dcgw__wplane_unknown(struct worker *w, struct dcgw_wunknown *out)
{
    struct dcgw_filter_stats fst = {0, 0}; /* what the kernel filter dropped (filter.h) */
    if (w->filter)
        dcgw_filter_stats(w->filter, &fst);
    out->dropped = w->stats.rx_unknown_source + fst.dropped;
    out->limited = w->stats.rx_unknown_limited + fst.limited;
    out->filter_active = w->filter != NULL;
    /* the socket's drop count includes what the filter dropped on purpose */
    uint64_t k = w->io ? dcgw_io_kernel_drops(w->io) : 0;
    out->kernel_drops = k > fst.dropped + fst.limited ? k - fst.dropped - fst.limited : 0;
}

/* The unknown-source checks in the kernel too (filter.h), when the process may load BPF. */
static void start_filter(struct worker *w)
{
    if (!w->cfg.data_plane.kernel_filter)
        return;
    struct dcgw_filter_settings fs = {.rate = w->cfg.data_plane.unknown_source_rate,
                                      .burst = w->cfg.data_plane.unknown_source_burst,
                                      .sources = w->cfg.data_plane.unknown_source_table,
                                      .addresses = DCGW_FILTER_ADDRESSES_MAX};
    char err[300];
    int r = dcgw_filter_new(dcgw_io_fd(w->io), &fs, &w->filter, err, sizeof(err));
    if (r == 0)
        DCGW_INFO(IO, "%s: unknown sources filtered in the kernel (eBPF)", w->udp_address);
    else
        DCGW_INFO(IO, "%s: unknown sources filtered in user space only (kernel filter: %s)",
                  w->udp_address, r == DCGW_EUNSUPPORTED ? err : dcgw_strerror(r));
}

int dcgw__wplane_start(struct worker *w, char *why, size_t cap)
{
    w->by_addr = g_hash_table_new(addrkey_hash, addrkey_equal);
    w->by_ufrag = g_hash_table_new(g_str_hash, g_str_equal);
    w->deferred = g_array_new(FALSE, FALSE, sizeof(struct wdeferred));
    dcgw_reentry_enter(&w->turn); /* the first turn; reap() ends each and starts the next */
    struct dcgw_ratelimit_settings rls = {.rate = w->cfg.data_plane.unknown_source_rate,
                                          .burst = w->cfg.data_plane.unknown_source_burst,
                                          .sources = w->cfg.data_plane.unknown_source_table};
    int rr = dcgw_ratelimit_new(&rls, &w->unknown_rl);
    if (rr < 0)
        return rr;
    uv_check_init(w->loop, &w->reaper);
    w->reaper.data = w;
    uv_check_start(&w->reaper, reap);

    struct dcgw_sctp_stack_settings sss;
    dcgw_sctp_stack_settings_default(&sss);
    if (w->cfg.sctp.heartbeat_interval_ms)
        sss.heartbeat_interval_ms = w->cfg.sctp.heartbeat_interval_ms;
    sss.delayed_sack_ms = w->cfg.sctp.delayed_sack_ms;
    sss.sack_freq = w->cfg.sctp.sack_freq;
    int rs = dcgw_sctp_stack_init(&sss);
    if (rs < 0) {
        snprintf(why, cap, "SCTP stack: %s", dcgw_strerror(rs));
        return rs;
    }
    w->next_sctp_port = 5000;
    uv_timer_init(w->loop, &w->sctp_tick);
    w->sctp_tick.data = w;
    uv_timer_init(w->loop, &w->sack_timer);
    w->sack_timer.data = w;
    uv_timer_init(w->loop, &w->wheel_timer);
    w->wheel_timer.data = w;
    uint64_t now = uv_now(w->loop);
    w->wheel_sec = now / LEG_TIMER_GRAIN_MS;
    uv_timer_start(&w->wheel_timer, on_wheel, LEG_TIMER_GRAIN_MS - now % LEG_TIMER_GRAIN_MS,
                   LEG_TIMER_GRAIN_MS);
    w->sctp_tick_last = uv_now(w->loop);
    uv_timer_start(&w->sctp_tick, on_sctp_tick, w->cfg.sctp.timer_interval_ms,
                   w->cfg.sctp.timer_interval_ms);

    struct dcgw_cert *cert = NULL;
    int r = *w->cfg.dtls.cert ? dcgw_cert_load_pem(w->cfg.dtls.cert, w->cfg.dtls.key, &cert)
                              : dcgw_cert_new(NULL, &cert);
    if (r < 0) {
        snprintf(why, cap, "worker certificate (%s): %s",
                 *w->cfg.dtls.cert ? w->cfg.dtls.cert : "generated", dcgw_strerror(r));
        return r;
    }
    struct dcgw_dtls_ctx_settings ds = {.cert = cert};
    r = dcgw_dtls_ctx_new(&ds, &w->dtls_ctx);
    if (r == 0)
        r = dcgw_cert_fingerprint(cert, DCGW_HASH_SHA256, &w->local_fp);
    dcgw_cert_unref(cert);
    if (r < 0) {
        snprintf(why, cap, "DTLS context: %s", dcgw_strerror(r));
        return r;
    }

    struct sockaddr_storage ss;
    int port = w->cfg.data_plane.port ? (int)(w->cfg.data_plane.port + w->index) : 0;
    if (dcgw_addr_from(w->cfg.data_plane.address, port, &ss) < 0) {
        snprintf(why, cap, "data_plane.address %s: not an address", w->cfg.data_plane.address);
        return DCGW_ECONFIG;
    }
    /* An in-process worker has no socket unless asked (inproc.c): SDP names the address */
    if (w->inproc.to_master && !w->inproc.socket) {
        dcgw_addr_from(w->cfg.data_plane.address, port ? port : 9, &w->advertise);
        dcgw_addr_format((struct sockaddr *)&w->advertise, w->udp_address, sizeof(w->udp_address));
        return 0;
    }
    struct dcgw_io_settings is = {.batch = w->cfg.data_plane.recv_batch,
                                  .socket_buffer = w->cfg.data_plane.socket_buffer,
                                  .gso = w->cfg.data_plane.gso,
                                  .gro = w->cfg.data_plane.gro};
    struct dcgw_io_cbs ic = {.ud = w, .on_datagram = on_datagram, .on_burst_end = on_burst_end};
    r = dcgw_io_new(w->loop, (struct sockaddr *)&ss, &is, &ic, &w->io);
    if (r < 0) {
        snprintf(why, cap, "data plane socket %s port %d: %s", w->cfg.data_plane.address, port,
                 dcgw_strerror(r));
        return r;
    }
    const struct sockaddr *local = dcgw_io_local(w->io);
    dcgw_addr_format(local, w->udp_address, sizeof(w->udp_address));
    start_filter(w);
    memcpy(&w->advertise, local, dcgw_addr_len(local));
    if (*w->cfg.data_plane.advertise) {
        uint16_t p = local->sa_family == AF_INET ? ((const struct sockaddr_in *)local)->sin_port
                                                 : ((const struct sockaddr_in6 *)local)->sin6_port;
        dcgw_addr_from(w->cfg.data_plane.advertise, ntohs(p), &w->advertise);
    }
    start_fastpath(w, local);
    return 0;
}

void dcgw__wplane_stop(struct worker *w)
{
    dcgw_fastpath_close(w->fastpath); /* sessions' entries first: the program detaches */
    w->fastpath = NULL;
    dcgw_filter_free(w->filter); /* before the io closes the socket it is attached to */
    w->filter = NULL;
    dcgw_ratelimit_free(w->unknown_rl); /* no datagram comes in after this */
    w->unknown_rl = NULL;
    if (w->io) {
        dcgw_io_close(w->io);
        w->io = NULL;
    }
    if (!uv_is_closing((uv_handle_t *)&w->reaper))
        uv_close((uv_handle_t *)&w->reaper, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->sctp_tick))
        uv_close((uv_handle_t *)&w->sctp_tick, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->sack_timer))
        uv_close((uv_handle_t *)&w->sack_timer, NULL);
    if (!uv_is_closing((uv_handle_t *)&w->wheel_timer))
        uv_close((uv_handle_t *)&w->wheel_timer, NULL);
    reap_turn(w, false); /* legs that die after this are freed at once */
}
