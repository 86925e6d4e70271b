/* Flows: messages with a 16-byte header (send time in ns, sequence, flow id, kind) sent
 * on one channel of a pair.
 *
 *  - FLOW_WINDOW: as fast as the path takes them, at most `window` bytes in flight
 *    (sent by A, not yet received back at the end of the path).
 *  - FLOW_RATE: paced at `rate` messages per second (1 ms ticks), window as a cap.
 *  - FLOW_PING: one message in flight; the far end (Z, or Janus) sends it back and A
 *    records the round-trip time. Open loop (paced): one every 1/rate s, however many
 *    are in flight.
 *
 * The end of the path is Z for the direct and gateway paths, and A itself for Janus (the
 * echotest plugin returns every message). Either way the bench process does one send and
 * one receive of each message. */
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/base/error.h"

enum { PACE_US = 100 };

struct hdr {
    uint64_t t_ns;
    uint32_t seq;
    uint16_t flow;
    uint8_t kind;
    uint8_t pad;
};

_Static_assert(sizeof(struct hdr) == BENCH_HDR, "header layout");

static struct dcgw_dc_channel *chan(struct pair *p, unsigned chi)
{
    return chi < p->nch ? p->cha[chi] : NULL;
}

int traffic_send_small(struct pair *p, unsigned chi, enum msg_kind k)
{
    struct dcgw_client *c = p->a;
    struct dcgw_dc_channel *ch = chan(p, chi);
    if (!ch)
        return DCGW_ESTATE;
    uint8_t m[BENCH_MSG_MIN] = {0};
    struct hdr h = {.t_ns = bench_now_ns(), .kind = (uint8_t)k};
    memcpy(m, &h, sizeof(h));
    return dcgw_dc_send(dcgw_client_dc(c), ch, false, m, sizeof(m));
}

struct flow *flow_new(struct bench *b, struct pair *p, unsigned chi, enum flow_kind k, size_t size)
{
    if (p->nflows >= BENCH_CHANNELS_MAX || b->next_flow >= BENCH_FLOWS_MAX)
        return NULL;
    struct flow *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->b = b;
    f->id = (uint16_t)(++b->next_flow);
    f->kind = k;
    f->p = p;
    f->chi = chi;
    f->size = size < BENCH_MSG_MIN ? BENCH_MSG_MIN : size;
    f->buf = malloc(f->size);
    if (!f->buf) {
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < f->size; i++)
        f->buf[i] = (uint8_t)(i * 131 + 7);
    f->window = b->o.window;
    if (k == FLOW_PING) {
        f->lat.cap = BENCH_SAMPLES_MAX;
        f->lat.us10 = malloc(f->lat.cap * sizeof(*f->lat.us10));
    }
    b->flows[f->id] = f;
    p->flows[p->nflows++] = f;
    return f;
}

void flow_free(struct flow *f)
{
    if (!f)
        return;
    flow_stop(f);
    f->b->flows[f->id] = NULL;
    struct pair *p = f->p;
    for (unsigned i = 0; i < p->nflows; i++)
        if (p->flows[i] == f) {
            p->flows[i] = p->flows[--p->nflows];
            break;
        }
    free(f->lat.us10);
    free(f->buf);
    free(f);
}

static int send_one(struct flow *f, uint8_t kind)
{
    struct pair *p = f->p;
    struct dcgw_dc_channel *ch = chan(p, f->chi);
    if (!ch || p->state != PAIR_READY)
        return DCGW_ESTATE;
    struct hdr h = {.t_ns = bench_now_ns(), .seq = f->next_seq, .flow = f->id, .kind = kind};
    memcpy(f->buf, &h, sizeof(h));
    int r = dcgw_dc_send(dcgw_client_dc(p->a), ch, false, f->buf, f->size);
    if (r == 0) {
        f->next_seq++;
        f->sent++;
        f->inflight += f->size;
    } else if (r == DCGW_EAGAIN) {
        f->blocked = true;
    } else {
        f->send_errors++;
    }
    return r;
}

static bool window_open(const struct flow *f)
{
    return f->inflight == 0 || f->inflight + f->size <= f->window;
}

static void pump(struct flow *f)
{
    if (!f->running || f->blocked)
        return;
    switch (f->kind) {
    case FLOW_WINDOW:
        while (window_open(f) && send_one(f, MSG_DATA) == 0)
            ;
        break;
    case FLOW_RATE: {
        double el = (double)(bench_now_ns() - f->t_start_ns) / 1e9;
        uint64_t due = (uint64_t)(el * f->rate);
        while (f->sent < due && window_open(f) && send_one(f, MSG_DATA) == 0)
            ;
        break;
    }
    case FLOW_PING:
        if (f->rate > 0 && f->open_loop) {
            double el = (double)(bench_now_ns() - f->t_start_ns) / 1e9;
            uint64_t due = (uint64_t)(el * f->rate);
            while (f->sent < due && send_one(f, MSG_PING) == 0)
                ;
            break;
        }
        if (f->rate > 0) {
            /* paced probes: at most one per 1/rate s, never two in flight */
            double el = (double)(bench_now_ns() - f->t_start_ns) / 1e9;
            if ((double)f->sent >= el * f->rate)
                break;
        }
        if (!f->ping_out && send_one(f, MSG_PING) == 0)
            f->ping_out = true;
        break;
    }
}

void traffic_pace(struct bench *b)
{
    for (uint32_t i = 1; i <= b->next_flow; i++) {
        struct flow *f = b->flows[i];
        if (f && f->running && f->rate > 0)
            pump(f);
    }
}

/* Paced flows send what they owe every PACE_US: libuv's timers have 1 ms steps, which
 * would send the load in bursts that every probe then queues behind. */
static void on_pace(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    struct bench *b = h->data;
    uint64_t expirations;
    if (read(b->pace_fd, &expirations, sizeof(expirations)) < 0) {
        /* EAGAIN: nothing due */
    }
    traffic_pace(b);
}

static void pace_arm(struct bench *b, bool on)
{
    if (b->pace_fd < 0) {
        b->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (b->pace_fd < 0)
            return;
        uv_poll_init(b->loop, &b->pace_poll, b->pace_fd);
        b->pace_poll.data = b;
    }
    struct itimerspec its = {{0, PACE_US * 1000}, {0, PACE_US * 1000}};
    if (!on)
        its = (struct itimerspec){{0, 0}, {0, 0}};
    timerfd_settime(b->pace_fd, 0, &its, NULL);
    if (on)
        uv_poll_start(&b->pace_poll, UV_READABLE, on_pace);
    else
        uv_poll_stop(&b->pace_poll);
}

void flow_start(struct flow *f)
{
    struct bench *b = f->b;
    f->running = true;
    f->t_start_ns = bench_now_ns();
    if (f->rate > 0 && b->pacing++ == 0)
        pace_arm(b, true);
    pump(f);
}

void flow_stop(struct flow *f)
{
    if (!f->running)
        return;
    f->running = false;
    if (f->rate > 0 && --f->b->pacing == 0)
        pace_arm(f->b, false);
}

static void lat_add(struct lat *l, uint64_t ns)
{
    if (l->n < l->cap && l->us10)
        l->us10[l->n++] = (uint32_t)(ns / 100 > UINT32_MAX ? UINT32_MAX : ns / 100);
}

static void delivered(struct flow *f, uint32_t msgs, uint64_t bytes)
{
    f->recv += msgs;
    f->recv_bytes += bytes;
    f->inflight = f->inflight > bytes ? f->inflight - bytes : 0;
}

/* What comes back to A: Janus's echoes of data, and the pongs of ping flows (returned by
 * Z in the far end, or echoed by Janus). */
void traffic_on_message(struct bench *b, struct pair *p, struct dcgw_client *c,
                        struct dcgw_dc_channel *ch, const uint8_t *m, size_t n)
{
    (void)c;
    (void)ch;
    if (n < BENCH_HDR)
        return;
    struct hdr h;
    memcpy(&h, m, sizeof(h));
    struct flow *f = b->flows[h.flow];
    if (!f || f->p != p)
        return;
    delivered(f, 1, n);
    if (h.seq != f->expect_seq)
        f->disorder++;
    f->expect_seq = h.seq + 1;
    if (h.kind == MSG_PING || h.kind == MSG_PONG) {
        lat_add(&f->lat, bench_now_ns() - h.t_ns);
        f->ping_out = false;
    }
    pump(f);
}

void traffic_on_credit(struct bench *b, uint16_t flow, uint32_t msgs, uint64_t bytes,
                       uint32_t disorder)
{
    struct flow *f = b->flows[flow];
    if (!f)
        return;
    delivered(f, msgs, bytes);
    f->disorder += disorder;
    pump(f);
}

void traffic_on_writable(struct bench *b, struct pair *p, struct dcgw_client *c)
{
    (void)b;
    (void)c;
    for (unsigned i = 0; i < p->nflows; i++) {
        struct flow *f = p->flows[i];
        if (f->blocked) {
            f->blocked = false;
            pump(f);
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void lat_sort(struct lat *l)
{
    if (l->n)
        qsort(l->us10, l->n, sizeof(*l->us10), cmp_u32);
}

double lat_percentile(struct lat *l, double q)
{
    if (!l->n)
        return 0;
    size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
    return l->us10[i < l->n ? i : l->n - 1] / 10.0;
}
