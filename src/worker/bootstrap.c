/* Bootstrap channels served by the HTTP proxy (docs/bootstrap.md). A terminated leg whose
 * DcMedia says MEDIA_PROXY_HTTP gets its data-channel callbacks wrapped: a channel whose
 * stream id has a binding (replace_http_url) is served here, by a proxy stage
 * (stages/http_proxy.c) whose upstream is MDC1 (net/mdc1.c); every other channel goes on
 * to the bridge. The policy still decides whether a served channel opens, and its rate
 * limits count requests. A failed request emits http_request_failed, rate-limited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/base/tbucket.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/net/mdc1.h"
#include "events.h"
#include "worker_int.h"

enum { BOOT_STREAMS = 4, EVENTS_BURST = 10, EVENTS_PER_SEC = 5 };
static const uint16_t boot_ids[BOOT_STREAMS] = {0, 10, 100, 110};

struct wboot_chan {
    struct wsession *s; /* NULL once detached (its leg or channel is gone) */
    unsigned side;
    struct dcgw_dc *dc;
    struct dcgw_dc_channel *ch;
    struct dcgw_http_proxy *proxy;
    struct dcgw_mdc1_target *target;
    struct dcgw_http_upstream_ops target_ops;
    char *url;     /* the binding's replacement URL, for get */
    size_t window; /* its window_bytes */
};

struct wboot_leg {
    struct wboot *b;
    unsigned side;
    struct dcgw_dc *dc;
    struct dcgw_dc_callbacks inner; /* the bridge's */
    struct wboot_chan *chans[BOOT_STREAMS];
};

struct wboot {
    struct wsession *s;
    struct wboot_leg legs[2];
    struct dcgw_tbucket events;
    uint64_t suppressed;
};

struct wboot_worker {
    struct dcgw_mdc1 *mdc1;
    GHashTable *live; /* every struct wboot_chan not freed yet */
};

static int boot_index(uint16_t id)
{
    for (int i = 0; i < BOOT_STREAMS; i++)
        if (boot_ids[i] == id)
            return i;
    return -1;
}

static uint64_t now_us(void)
{
    return uv_hrtime() / 1000;
}

/* ---- the binding: settings from the session's DcMedia, then the configuration */

static const Dcgw__HttpProxyBinding *binding_of(const Dcgw__DcMedia *dc, uint16_t id)
{
    if (!dc || dc->media_proxy_config != DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP)
        return NULL;
    for (size_t i = 0; i < dc->n_replace_http_url; i++)
        if (dc->replace_http_url[i]->stream_id == id)
            return dc->replace_http_url[i];
    return NULL;
}

#define LIMIT(field, deflt)                                                                        \
    (bl && bl->has_##field ? bl->field : ll && ll->has_##field ? ll->field : (deflt))

static void proxy_settings(const struct wsession *s, unsigned side, const Dcgw__HttpProxyBinding *b,
                           struct dcgw_http_proxy_settings *ps)
{
    const struct dcgw_config *cfg = &s->w->cfg;
    const Dcgw__DcMedia *dc = s->desc->legs[side]->dc;
    const Dcgw__HttpProxyLimits *bl = b->limits, *ll = dc->http_limits;
    const char *why;
    memset(ps, 0, sizeof(*ps));
    dcgw_http_base_parse(b->url, &ps->base, &why); /* validated when it was set */
    ps->lim.max_header_bytes = LIMIT(max_header_bytes, cfg->bootstrap.max_header_bytes);
    ps->lim.max_body_bytes = LIMIT(max_body_bytes, cfg->bootstrap.max_body_bytes);
    ps->max_concurrent = LIMIT(max_concurrent, cfg->bootstrap.max_concurrent);
    ps->window_bytes = LIMIT(window_bytes, cfg->bootstrap.window_bytes);
    /* RFC 8841 §6.1: what the UE takes (64 KiB when it said nothing), within ours */
    uint32_t mms = dc->has_max_message_size && dc->max_message_size ? dc->max_message_size : 65536;
    ps->max_message_size = mms < cfg->sctp.max_message_size ? mms : cfg->sctp.max_message_size;
    snprintf(ps->header_name, sizeof(ps->header_name), "%s", cfg->bootstrap.session_header);
    snprintf(ps->header_value, sizeof(ps->header_value), "session=%s;leg=%s", s->desc->id,
             s->desc->legs[side]->name);
}

static int make_target(const struct wsession *s, unsigned side, const Dcgw__HttpProxyBinding *b,
                       struct dcgw_mdc1_target **out)
{
    struct worker *w = s->w;
    const struct dcgw_config *cfg = &w->cfg;
    const Dcgw__DcMedia *dc = s->desc->legs[side]->dc;
    const Dcgw__HttpProxyLimits *bl = b->limits, *ll = dc->http_limits;
    const Dcgw__Mdc1Endpoint *e =
        b->remote_mdc1_endpoint ? b->remote_mdc1_endpoint : dc->remote_mdc1_endpoint;
    struct dcgw_http_base base;
    const char *why;
    if (dcgw_http_base_parse(b->url, &base, &why) < 0)
        return DCGW_EINVAL;
    struct dcgw_mdc1_target_settings ts = {
        .host = base.host,
        .port = base.port,
        .connect_to = e ? e->address : NULL,
        .local_addr = dc->local_mdc1_endpoint ? dc->local_mdc1_endpoint->address : NULL,
        .ca_pem = e ? e->tls_ca_pem : NULL,
        .ca_file = e && e->tls_ca_file ? e->tls_ca_file : cfg->bootstrap.tls_ca,
        .cert_file = e && e->tls_cert_file ? e->tls_cert_file : cfg->bootstrap.tls_cert,
        .key_file = e && e->tls_key_file ? e->tls_key_file : cfg->bootstrap.tls_key,
        .http_version = e && e->has_http_version ? (int)e->http_version : 0,
        .connect_timeout_ms = LIMIT(connect_timeout_ms, cfg->bootstrap.connect_timeout_ms),
        .request_timeout_ms = LIMIT(request_timeout_ms, cfg->bootstrap.request_timeout_ms),
    };
    return dcgw_mdc1_target_new(w->boot->mdc1, &ts, out);
}

/* ---- the channel as the proxy sees it */

static int op_send(void *ud, const uint8_t *p, size_t n)
{
    struct wboot_chan *c = ud;
    return c->s ? dcgw_dc_send(c->dc, c->ch, false, p, n) : DCGW_ECLOSED;
}

static size_t op_buffered(void *ud)
{
    struct wboot_chan *c = ud;
    return c->s ? dcgw_sctp_buffered_amount(dcgw_dc_sctp(c->dc)) : 0;
}

static void op_want_writable(void *ud)
{
    struct wboot_chan *c = ud;
    if (c->s)
        dcgw_sctp_want_writable(dcgw_dc_sctp(c->dc), c->window / 2); /* below our limit */
}

static void op_close(void *ud)
{
    struct wboot_chan *c = ud;
    if (c->s)
        dcgw_dc_close_channel(c->dc, c->ch); /* on_channel_closed follows, later */
}

static void op_failed(void *ud, const struct dcgw_http_failure *f)
{
    struct wboot_chan *c = ud;
    struct wsession *s = c->s;
    if (!s)
        return;
    struct wboot *b = s->boot;
    DCGW_LOG_RL(WORKER, INFO, "session %s: http request on stream %u failed (%u): %s", s->desc->id,
                c->ch->params.id, f->status, f->detail ? f->detail : "");
    if (!dcgw_tbucket_take(&b->events, 1, now_us())) {
        b->suppressed++;
        return;
    }
    Dcgw__HttpRequestFailed hf = DCGW__HTTP_REQUEST_FAILED__INIT;
    hf.has_stream_id = hf.has_failure = hf.has_status = hf.has_suppressed = 1;
    hf.stream_id = c->ch->params.id;
    hf.failure = (Dcgw__HttpFailure)f->kind;
    hf.status = f->status;
    hf.method = (char *)f->method;
    hf.target = f->target && *f->target ? (char *)f->target : NULL;
    hf.upstream = (char *)f->upstream;
    hf.detail = (char *)f->detail;
    hf.suppressed = b->suppressed;
    b->suppressed = 0;
    Dcgw__Event ev = DCGW__EVENT__INIT;
    ev.kind_case = DCGW__EVENT__KIND_HTTP_REQUEST_FAILED;
    ev.http_request_failed = &hf;
    dcgw__wev_emit_session(s, (int)c->side, &ev);
}

/* The policy's word on each request: its rate limits count requests (docs/bootstrap.md). */
static bool op_admit(void *ud, const struct dcgw_http_request *rq)
{
    struct wboot_chan *c = ud;
    return c->s && dcgw__wpolicy_message(c->s, c->side, c->ch, false, NULL, rq->wire_bytes);
}

static uint64_t op_now(void *ud)
{
    (void)ud;
    return now_us();
}

/* The upstream through the channel's current target (an update may replace it). */
static int up_start(void *ud, const struct dcgw_http_upstream_request *rq, struct dcgw_http_xfer *x,
                    void **h)
{
    struct wboot_chan *c = ud;
    return c->target ? c->target_ops.start(c->target_ops.ud, rq, x, h) : DCGW_ECLOSED;
}

static void up_resume(void *ud, void *h)
{
    struct wboot_chan *c = ud;
    c->target_ops.resume(c->target_ops.ud, h);
}

static void up_cancel(void *ud, void *h)
{
    struct wboot_chan *c = ud;
    c->target_ops.cancel(c->target_ops.ud, h);
}

/* ---- channels */

static void chan_free(struct wboot_worker *bw, struct wboot_chan *c)
{
    if (bw)
        g_hash_table_remove(bw->live, c);
    dcgw_http_proxy_free(c->proxy); /* cancels its transfers: they hold no pointer to c */
    dcgw_mdc1_target_free(c->target);
    free(c->url);
    free(c);
}

static void reap_chan(struct worker *w, void *c)
{
    chan_free(w->boot, c);
}

/* The channel or its leg is gone: nothing touches them from now on; the proxy (which may
 * be on the stack) is freed at the end of the loop turn (dcgw__wplane_free_later). */
static void chan_detach(struct wboot_leg *bl, int k)
{
    struct wboot_chan *c = bl->chans[k];
    if (!c)
        return;
    bl->chans[k] = NULL;
    c->s = NULL;
    c->dc = NULL;
    c->ch = NULL;
    struct worker *w = bl->b->s->w;
    if (!w->boot) { /* the worker is stopping: its proxies are gone already */
        chan_free(NULL, c);
        return;
    }
    dcgw__wplane_free_later(w, reap_chan, c);
}

static struct wboot_chan *served(struct wboot_leg *bl, const struct dcgw_dc_channel *ch)
{
    int k = boot_index(ch->params.id);
    return k >= 0 && bl->chans[k] && bl->chans[k]->ch == ch ? bl->chans[k] : NULL;
}

/* A channel with a binding: the proxy serves it (the policy allowing). */
static void serve(struct wboot_leg *bl, struct dcgw_dc_channel *ch, const Dcgw__HttpProxyBinding *b)
{
    struct wsession *s = bl->b->s;
    int k = boot_index(ch->params.id);
    struct wboot_chan *c = calloc(1, sizeof(*c));
    if (!c)
        goto refuse;
    *c = (struct wboot_chan){.s = s, .side = bl->side, .dc = bl->dc, .ch = ch};
    struct dcgw_http_proxy_settings ps;
    proxy_settings(s, bl->side, b, &ps);
    c->window = ps.window_bytes;
    struct dcgw_http_channel_ops ops = {.ud = c,
                                        .send = op_send,
                                        .buffered = op_buffered,
                                        .want_writable = op_want_writable,
                                        .close = op_close,
                                        .failed = op_failed,
                                        .admit = op_admit,
                                        .now_us = op_now};
    struct dcgw_http_upstream_ops up = {
        .ud = c, .start = up_start, .resume = up_resume, .cancel = up_cancel};
    g_hash_table_add(s->w->boot->live, c);
    if (make_target(s, bl->side, b, &c->target) < 0 ||
        dcgw_http_proxy_new(&ps, &ops, &up, &c->proxy) < 0 || !(c->url = strdup(b->url))) {
        chan_free(s->w->boot, c);
        goto refuse;
    }
    dcgw_mdc1_target_ops(c->target, &c->target_ops);
    ch->user = c; /* keeps the bridge from pairing it with the far leg's channel */
    bl->chans[k] = c;
    DCGW_DEBUG(WORKER, "session %s leg %s: stream %u served by the HTTP proxy (%s)", s->desc->id,
               s->desc->legs[bl->side]->name, ch->params.id, b->url);
    return;
refuse:
    DCGW_WARN(WORKER, "session %s: stream %u: no memory for its HTTP proxy", s->desc->id,
              ch->params.id);
    dcgw_dc_close_channel(bl->dc, ch);
}

/* ---- the wrapped data-channel callbacks */

static void w_connected(void *ud)
{
    struct wboot_leg *bl = ud;
    if (bl->inner.on_connected)
        bl->inner.on_connected(bl->inner.ud);
}

static bool w_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    struct wboot_leg *bl = ud;
    return bl->inner.on_open_request ? bl->inner.on_open_request(bl->inner.ud, ch) : true;
}

static void w_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct wboot_leg *bl = ud;
    struct wsession *s = bl->b->s;
    const Dcgw__HttpProxyBinding *b = ch->kind == DCGW_DC_KIND_BOOTSTRAP && !s->closing
                                          ? binding_of(s->desc->legs[bl->side]->dc, ch->params.id)
                                          : NULL;
    if (!b || (ch->user && !served(bl, ch))) {
        bl->inner.on_channel_open(bl->inner.ud, ch); /* bridged */
        return;
    }
    /* the policy decides whether it opens; refused, it is being closed */
    if (!dcgw__wsession_channel_opened(s, bl->side, ch))
        return;
    serve(bl, ch, b);
}

static void w_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                      size_t n)
{
    struct wboot_leg *bl = ud;
    struct wboot_chan *c = served(bl, ch);
    if (!c) {
        bl->inner.on_message(bl->inner.ud, ch, is_text, p, n);
        return;
    }
    dcgw_http_proxy_input(c->proxy, p, n);
}

static void w_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    struct wboot_leg *bl = ud;
    struct wboot_chan *c = served(bl, ch);
    if (!c) {
        bl->inner.on_channel_closed(bl->inner.ud, ch);
        return;
    }
    dcgw__wsession_channel_closed(bl->b->s, bl->side, ch); /* events, counters, policy */
    ch->user = NULL;
    chan_detach(bl, boot_index(ch->params.id));
}

static void w_writable(void *ud)
{
    struct wboot_leg *bl = ud;
    if (bl->inner.on_writable)
        bl->inner.on_writable(bl->inner.ud);
    for (int k = 0; k < BOOT_STREAMS; k++)
        if (bl->chans[k])
            dcgw_http_proxy_writable(bl->chans[k]->proxy);
}

static void w_closed(void *ud)
{
    struct wboot_leg *bl = ud;
    if (bl->inner.on_closed)
        bl->inner.on_closed(bl->inner.ud);
}

/* ---- the worker's files call these */

void dcgw__wboot_wrap(struct wleg *l, struct dcgw_dc_callbacks *cbs)
{
    struct wsession *s = l->s;
    if (!s->boot)
        return;
    /* every terminated leg: an update may bind a stream later */
    struct wboot_leg *bl = &s->boot->legs[l->idx];
    bl->inner = *cbs;
    cbs->ud = bl;
    cbs->on_connected = w_connected;
    cbs->on_open_request = w_open_request;
    cbs->on_channel_open = w_channel_open;
    cbs->on_message = w_message;
    cbs->on_channel_closed = w_channel_closed;
    cbs->on_writable = w_writable;
    cbs->on_closed = w_closed;
}

void dcgw__wboot_attach(struct wleg *l, struct dcgw_dc *dc)
{
    if (l->s->boot)
        l->s->boot->legs[l->idx].dc = dc;
}

int dcgw__wboot_create(struct wsession *s)
{
    struct wboot *b = calloc(1, sizeof(*b));
    if (!b)
        return DCGW_ENOMEM;
    b->s = s;
    for (unsigned i = 0; i < 2; i++) {
        b->legs[i].b = b;
        b->legs[i].side = i;
    }
    dcgw_tbucket_init(&b->events, EVENTS_PER_SEC, EVENTS_BURST, now_us());
    s->boot = b;
    return 0;
}

void dcgw__wboot_leg_gone(struct wsession *s, unsigned side)
{
    if (!s->boot || side >= 2)
        return;
    for (int k = 0; k < BOOT_STREAMS; k++)
        chan_detach(&s->boot->legs[side], k);
}

void dcgw__wboot_free(struct wsession *s)
{
    struct wboot *b = s->boot;
    if (!b)
        return;
    for (unsigned i = 0; i < 2; i++)
        for (int k = 0; k < BOOT_STREAMS; k++)
            if (b->legs[i].chans[k])
                chan_free(s->w->boot, b->legs[i].chans[k]);
    free(b);
    s->boot = NULL;
}

void dcgw__wboot_stream(const struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                        Dcgw__DcStream *st)
{
    if (!s->boot || side >= 2)
        return;
    struct wboot_chan *c = served((struct wboot_leg *)&s->boot->legs[side], ch);
    if (!c || st->http)
        return;
    const struct dcgw_http_proxy_stats *ps = dcgw_http_proxy_stats(c->proxy);
    Dcgw__HttpProxyStats *h = calloc(1, sizeof(*h));
    if (!h)
        return;
    dcgw__http_proxy_stats__init(h);
    h->has_requests = h->has_responses_1xx = h->has_responses_2xx = h->has_responses_3xx = 1;
    h->has_responses_4xx = h->has_responses_5xx = h->has_request_bytes = 1;
    h->has_response_bytes = h->has_upstream_bytes_sent = h->has_upstream_bytes_received = 1;
    h->has_upstream_latency_us_sum = h->has_upstream_latency_us_max = 1;
    h->has_upstream_responses = h->has_failed = h->has_paused = 1;
    h->requests = ps->requests;
    h->responses_1xx = ps->by_class[1];
    h->responses_2xx = ps->by_class[2];
    h->responses_3xx = ps->by_class[3];
    h->responses_4xx = ps->by_class[4];
    h->responses_5xx = ps->by_class[5];
    h->request_bytes = ps->request_bytes;
    h->response_bytes = ps->response_bytes;
    h->upstream_bytes_sent = ps->upstream_sent;
    h->upstream_bytes_received = ps->upstream_received;
    h->upstream_latency_us_sum = ps->latency_us_sum;
    h->upstream_latency_us_max = ps->latency_us_max;
    h->upstream_responses = ps->upstream_responses;
    h->failed = ps->failed;
    h->paused = ps->paused;
    h->upstream = strdup(c->url);
    st->http = h;
}

/* ---- update_session with dc: the leg's proxy fields */

static void replace_msg(ProtobufCMessage **slot, const ProtobufCMessage *m)
{
    ProtobufCMessage *copy = dcgw_ctlmsg_clone(m);
    if (!copy)
        return;
    if (*slot)
        protobuf_c_message_free_unpacked(*slot, NULL);
    *slot = copy;
}

static void apply_fields(Dcgw__DcMedia *dc, const Dcgw__DcMedia *u)
{
    if (u->has_media_proxy_config) {
        dc->has_media_proxy_config = 1;
        dc->media_proxy_config = u->media_proxy_config;
    }
    if (u->n_replace_http_url) {
        Dcgw__HttpProxyBinding **v = calloc(u->n_replace_http_url, sizeof(*v));
        size_t n = 0;
        for (size_t i = 0; v && i < u->n_replace_http_url; i++)
            if ((v[n] = (Dcgw__HttpProxyBinding *)dcgw_ctlmsg_clone(&u->replace_http_url[i]->base)))
                n++;
        if (v) {
            for (size_t i = 0; i < dc->n_replace_http_url; i++)
                protobuf_c_message_free_unpacked(&dc->replace_http_url[i]->base, NULL);
            free(dc->replace_http_url);
            dc->replace_http_url = v;
            dc->n_replace_http_url = n;
        }
    }
    if (u->remote_mdc1_endpoint)
        replace_msg((ProtobufCMessage **)&dc->remote_mdc1_endpoint, &u->remote_mdc1_endpoint->base);
    if (u->local_mdc1_endpoint)
        replace_msg((ProtobufCMessage **)&dc->local_mdc1_endpoint, &u->local_mdc1_endpoint->base);
    if (u->http_limits)
        replace_msg((ProtobufCMessage **)&dc->http_limits, &u->http_limits->base);
}

int dcgw__wboot_update(struct wsession *s, const char *leg, const Dcgw__DcMedia *u, char *err,
                       size_t errcap)
{
    unsigned side = s->n_legs;
    for (unsigned i = 0; leg && i < s->n_legs; i++)
        if (strcmp(s->desc->legs[i]->name, leg) == 0)
            side = i;
    if (side == s->n_legs) {
        snprintf(err, errcap, "dc: no leg named '%s'", leg ? leg : "");
        return DCGW_ENOENT;
    }
    Dcgw__DcMedia *dc = s->desc->legs[side]->dc;
    if (dc->mode == DCGW__MEDIA_MODE__MODE_RELAY) {
        snprintf(err, errcap, "leg %s: a relay leg cannot proxy HTTP", leg);
        return DCGW_EINVAL;
    }
    if (u->has_mode || u->remote_sdp || u->n_streams || u->local || u->remote) {
        snprintf(err, errcap, "dc: only the proxy fields may be updated");
        return DCGW_EINVAL;
    }
    apply_fields(dc, u);
    bool on = dc->media_proxy_config == DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    if (on && dc->n_replace_http_url == 0) {
        snprintf(err, errcap, "leg %s: MEDIA_PROXY_HTTP needs replace_http_url entries", leg);
        dc->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE;
        return DCGW_EINVAL;
    }
    struct wboot_leg *bl = s->boot ? &s->boot->legs[side] : NULL;
    for (int k = 0; bl && k < BOOT_STREAMS; k++) {
        struct wboot_chan *c = bl->chans[k];
        const Dcgw__HttpProxyBinding *b = c ? binding_of(dc, boot_ids[k]) : NULL;
        if (c && !b) {
            dcgw_dc_close_channel(c->dc, c->ch); /* its binding is gone */
            continue;
        }
        struct dcgw_mdc1_target *t;
        if (!c || make_target(s, side, b, &t) < 0)
            continue;
        dcgw_mdc1_target_free(c->target); /* transfers in flight copied what they need */
        c->target = t;
        dcgw_mdc1_target_ops(t, &c->target_ops);
        free(c->url);
        c->url = strdup(b->url);
        struct dcgw_http_proxy_settings ps;
        proxy_settings(s, side, b, &ps);
        c->window = ps.window_bytes;
        dcgw_http_proxy_configure(c->proxy, &ps);
    }
    DCGW_INFO(WORKER, "session %s leg %s: HTTP proxy %s, %zu bindings", s->desc->id, leg,
              on ? "on" : "off", dc->n_replace_http_url);
    return 0;
}

/* ---- the worker */

int dcgw__wboot_start(struct worker *w)
{
    struct wboot_worker *bw = calloc(1, sizeof(*bw));
    if (!bw)
        return DCGW_ENOMEM;
    struct dcgw_mdc1_settings ms = {.max_transfers = w->cfg.bootstrap.max_transfers,
                                    .max_host_connections = w->cfg.bootstrap.max_host_connections};
    int r = dcgw_mdc1_new(w->loop, &ms, &bw->mdc1);
    if (r < 0) {
        free(bw);
        return r;
    }
    bw->live = g_hash_table_new(g_direct_hash, g_direct_equal);
    w->boot = bw;
    return 0;
}

void dcgw__wboot_stop(struct worker *w)
{
    struct wboot_worker *bw = w->boot;
    if (!bw)
        return;
    /* channels detached in this turn were freed by dcgw__wplane_stop, which comes first;
     * sessions still closing free their channels later: their transfers go now */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, bw->live);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        struct wboot_chan *c = key;
        dcgw_http_proxy_free(c->proxy);
        c->proxy = NULL;
    }
    dcgw_mdc1_free(bw->mdc1);
    bw->mdc1 = NULL;
    g_hash_table_destroy(bw->live);
    free(bw);
    w->boot = NULL;
}

const struct dcgw_mdc1_stats *dcgw__wboot_stats(const struct worker *w)
{
    return w->boot ? dcgw_mdc1_stats(w->boot->mdc1) : NULL;
}

void dcgw__wboot_count_open(const struct wsession *s, uint32_t out[2])
{
    for (unsigned k = 0; s->boot && k < 2; k++)
        for (unsigned i = 0; i < BOOT_STREAMS; i++) {
            const struct wboot_chan *c = s->boot->legs[k].chans[i];
            if (c && c->s && c->ch && c->ch->state == DCGW_DC_OPEN)
                out[k]++;
        }
}
