#include "dcgw/ctl/ctlfmt.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "dcgw/msg/ctlmsg.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/pbjson.h"
#include "dcgw/msg/policy_wire.h"
#include "dcgw/msg/session.h"

static void print_json(FILE *out, const ProtobufCMessage *m, size_t flags)
{
    json_t *j = dcgw_pb_to_json(m);
    if (!j)
        return;
    json_dumpf(j, out, flags);
    fputc('\n', out);
    json_decref(j);
}

static const char *when(uint64_t unix_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03uZ", (unsigned)(unix_ms % 1000));
    return buf;
}

static void print_sdp(FILE *out, const char *sdp)
{
    const char *p = sdp;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n && p[n - 1] == '\r')
            n--;
        fprintf(out, "      %.*s\n", (int)n, p);
        p = nl ? nl + 1 : p + strlen(p);
    }
}

static void relay_counters(FILE *out, const Dcgw__RelayCounters *c)
{
    fprintf(out,
            "rx %" PRIu64 " pkt / %" PRIu64 " B  fwd %" PRIu64 " pkt / %" PRIu64 " B  stun %" PRIu64
            " (rejected %" PRIu64 ")  dropped: garbage %" PRIu64 " unvalidated %" PRIu64
            " no_peer %" PRIu64 " rate %" PRIu64 " inspector %" PRIu64 " blocked %" PRIu64,
            c->rx_packets, c->rx_bytes, c->forwarded_packets, c->forwarded_bytes, c->stun,
            c->stun_rejected, c->dropped_garbage, c->dropped_unvalidated, c->dropped_no_peer,
            c->dropped_rate, c->dropped_inspector, c->dropped_blocked);
    if (c->fast_path || c->fast_packets || c->fast_dropped_rate)
        fprintf(out, "  fast path%s: fwd %" PRIu64 " pkt / %" PRIu64 " B, rate %" PRIu64,
                c->fast_path ? " (on)" : "", c->fast_packets, c->fast_bytes, c->fast_dropped_rate);
}

/* The leg's bootstrap HTTP proxy (docs/bootstrap.md). */
static void print_proxy(FILE *out, const Dcgw__DcMedia *dc)
{
    if (!dc->has_media_proxy_config && !dc->n_replace_http_url)
        return;
    fprintf(out, "    http proxy %s",
            dc->media_proxy_config == DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP ? "on" : "off");
    if (dc->remote_mdc1_endpoint && dc->remote_mdc1_endpoint->address)
        fprintf(out, ", mdc1 %s", dc->remote_mdc1_endpoint->address);
    if (dc->local_mdc1_endpoint && dc->local_mdc1_endpoint->address)
        fprintf(out, ", from %s", dc->local_mdc1_endpoint->address);
    fputc('\n', out);
    for (size_t i = 0; i < dc->n_replace_http_url; i++) {
        const Dcgw__HttpProxyBinding *b = dc->replace_http_url[i];
        fprintf(out, "      stream %u -> %s", b->stream_id, b->url ? b->url : "?");
        if (b->remote_mdc1_endpoint && b->remote_mdc1_endpoint->address)
            fprintf(out, " via %s", b->remote_mdc1_endpoint->address);
        fputc('\n', out);
    }
}

static void print_http_stats(FILE *out, const Dcgw__HttpProxyStats *h)
{
    uint64_t avg = h->upstream_responses ? h->upstream_latency_us_sum / h->upstream_responses : 0;
    fprintf(out,
            "      http requests %" PRIu64 "  1xx %" PRIu64 " 2xx %" PRIu64 " 3xx %" PRIu64
            " 4xx %" PRIu64 " 5xx %" PRIu64 "  failed %" PRIu64 "  in %" PRIu64 " B  out %" PRIu64
            " B  upstream avg %" PRIu64 " us max %" PRIu64 " us  paused %" PRIu64 "\n",
            h->requests, h->responses_1xx, h->responses_2xx, h->responses_3xx, h->responses_4xx,
            h->responses_5xx, h->failed, h->request_bytes, h->response_bytes, avg,
            h->upstream_latency_us_max, h->paused);
}

static void print_session(FILE *out, const Dcgw__Session *s)
{
    char t[40];
    fprintf(out, "session %s\n  worker   %u\n  state    %s\n", s->id ? s->id : "?", s->worker,
            dcgw_session_state_name(s->state));
    if (s->has_created_unix_ms)
        fprintf(out, "  created  %s\n", when(s->created_unix_ms, t, sizeof(t)));
    if (s->tag)
        fprintf(out, "  tag      %s\n", s->tag);
    for (size_t i = 0; i < s->n_legs; i++) {
        const Dcgw__Leg *l = s->legs[i];
        const Dcgw__DcMedia *dc = l->dc;
        fprintf(out, "  leg %s: %s, %s, state %s%s%s\n", l->name ? l->name : "?",
                dc ? dcgw_media_mode_name(dc->mode) : "no media",
                l->role == DCGW__LEG_ROLE__ROLE_OFFER ? "dcgw offers" : "dcgw answers",
                dcgw_leg_state_name(l->state), l->peer_addr ? ", peer " : "",
                l->peer_addr ? l->peer_addr : "");
        if (!dc)
            continue;
        if (dc->relay) {
            fprintf(out, "    relay ");
            relay_counters(out, dc->relay);
            fputc('\n', out);
        }
        for (size_t k = 0; k < dc->n_streams; k++) {
            const Dcgw__DcStream *st = dc->streams[k];
            fprintf(out,
                    "    channel %u \"%s\" %s%s  rx %" PRIu64 " msg / %" PRIu64 " B  tx %" PRIu64
                    " msg / %" PRIu64 " B  dropped %" PRIu64 "\n",
                    st->stream_id, st->label ? st->label : "",
                    st->subprotocol && *st->subprotocol ? st->subprotocol : "-",
                    st->open ? "" : " (closed)", st->rx_messages, st->rx_bytes, st->tx_messages,
                    st->tx_bytes, st->dropped_messages);
            if (st->http)
                print_http_stats(out, st->http);
        }
        print_proxy(out, dc);
        if (dc->local_sdp) {
            fprintf(out, "    local SDP:\n");
            print_sdp(out, dc->local_sdp);
        }
    }
    if (s->policy_status)
        dcgw_policy_print(out, s);
}

static void print_stats(FILE *out, const Dcgw__Stats *st)
{
    fprintf(out, "%-7s %-8s %-6s %9s %12s %12s %10s\n", "worker", "pid", "alive", "sessions",
            "cpu_user_ms", "cpu_sys_ms", "rss_kib");
    for (size_t i = 0; i < st->n_workers; i++) {
        const Dcgw__WorkerStats *w = st->workers[i];
        fprintf(out, "%-7u %-8d %-6s %9u %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "\n", w->index,
                w->pid, w->alive ? "yes" : "no", w->sessions, w->cpu_user_us / 1000,
                w->cpu_system_us / 1000, w->rss_bytes / 1024);
    }
    if (st->total) {
        const Dcgw__WorkerStats *w = st->total;
        fprintf(out, "%-7s %-8s %-6s %9u %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "\n", "total", "",
                "", w->sessions, w->cpu_user_us / 1000, w->cpu_system_us / 1000,
                w->rss_bytes / 1024);
        for (size_t k = 0; k < w->n_counters; k++)
            fprintf(out, "  %-32s %" PRIu64 "\n", w->counters[k]->name, w->counters[k]->value);
    }
    fprintf(out,
            "controllers %u, sessions created %" PRIu64 ", closed %" PRIu64 ", lost %" PRIu64
            ", frames rejected %" PRIu64 "\n",
            st->controllers, st->sessions_created, st->sessions_closed, st->sessions_lost,
            st->frames_rejected);
}

void dcgw_ctlfmt_response(FILE *out, const Dcgw__Response *r, bool json)
{
    if (json) {
        print_json(out, &r->base, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        return;
    }
    if (r->error) {
        fprintf(stderr, "error %s: %s\n", r->error->name ? r->error->name : "?",
                r->error->message ? r->error->message : "");
        return;
    }
    switch (r->result_case) {
    case DCGW__RESPONSE__RESULT_PONG:
        fprintf(out, "pong\n");
        break;
    case DCGW__RESPONSE__RESULT_VERSION:
        fprintf(out, "dcgwd %s, protocol %u, %u workers\n", r->version->version,
                r->version->protocol, r->version->workers);
        break;
    case DCGW__RESPONSE__RESULT_SESSION:
        print_session(out, r->session);
        break;
    case DCGW__RESPONSE__RESULT_SESSIONS: {
        char t[40];
        fprintf(out, "%-24s %-6s %-11s %-4s %-24s %s\n", "ID", "WORKER", "STATE", "LEGS", "CREATED",
                "TAG");
        for (size_t i = 0; i < r->sessions->n_sessions; i++) {
            const Dcgw__SessionSummary *s = r->sessions->sessions[i];
            fprintf(out, "%-24s %-6u %-11s %-4u %-24s %s\n", s->id, s->worker,
                    dcgw_session_state_name(s->state), s->legs,
                    when(s->created_unix_ms, t, sizeof(t)), s->tag ? s->tag : "");
        }
        fprintf(out, "%zu sessions\n", r->sessions->n_sessions);
        break;
    }
    case DCGW__RESPONSE__RESULT_CLOSED:
        fprintf(out, "closed %s\n", r->closed->id ? r->closed->id : "");
        break;
    case DCGW__RESPONSE__RESULT_SUBSCRIBED:
        fprintf(out, "subscribed\n");
        break;
    case DCGW__RESPONSE__RESULT_STATS:
        print_stats(out, r->stats);
        break;
    default:
        fprintf(out, "ok\n");
        break;
    }
}

/* relay_connected / relay_blocked / relay_closed (docs/relay.md) */
static void relay_details(FILE *out, const Dcgw__Event *ev)
{
    if (ev->kind_case == DCGW__EVENT__KIND_RELAY_CONNECTED) {
        const Dcgw__RelayConnected *rc = ev->relay_connected;
        fprintf(out, " inspected=%s dtls_client=%s", rc->inspected ? "yes" : "NO",
                rc->dtls_client ? rc->dtls_client : "?");
        for (size_t i = 0; i < rc->n_peers; i++)
            fprintf(out, " %s=%s", rc->peers[i]->leg ? rc->peers[i]->leg : "?",
                    rc->peers[i]->peer_addr ? rc->peers[i]->peer_addr : "?");
        if (rc->reason)
            fprintf(out, " reason=\"%s\"", rc->reason);
    } else if (ev->kind_case == DCGW__EVENT__KIND_RELAY_BLOCKED) {
        const Dcgw__RelayBlocked *rb = ev->relay_blocked;
        fprintf(out, " code=%s%s", dcgw_err_name(rb->code),
                rb->mitm_suspected ? " MAN-IN-THE-MIDDLE-SUSPECTED" : "");
        if (rb->presented)
            fprintf(out, " presented=\"%s %s\"", rb->presented->algorithm, rb->presented->value);
        fprintf(out, " reason=\"%s\"", rb->reason ? rb->reason : "");
    } else if (ev->kind_case == DCGW__EVENT__KIND_RELAY_CLOSED) {
        const Dcgw__RelayClosed *rc = ev->relay_closed;
        fprintf(out, " state=%s reason=\"%s\"", rc->state ? rc->state : "?",
                rc->reason ? rc->reason : "");
        for (size_t i = 0; i < rc->n_legs; i++) {
            fprintf(out, "\n    %s: ", rc->legs[i]->leg ? rc->legs[i]->leg : "?");
            relay_counters(out, rc->legs[i]);
        }
    }
}

static void policy_details(FILE *out, const Dcgw__PolicyViolation *v)
{
    const char *reason = dcgw_pb_enum_name(&dcgw__policy_reason__descriptor, v->reason);
    const char *action = dcgw_pb_enum_name(&dcgw__policy_action__descriptor, v->action);
    fprintf(out, " stream=%u label=\"%s\" rule=%s reason=%s action=%s", v->stream_id,
            v->label ? v->label : "", v->rule ? v->rule : "-", reason ? reason + 7 : "?",
            action ? action + 7 : "?");
    if (v->has_size)
        fprintf(out, " size=%" PRIu64, v->size);
    fprintf(out, " violations=%" PRIu64 " suppressed=%" PRIu64, v->violations, v->suppressed);
}

static void channel_details(FILE *out, const Dcgw__DcStream *c)
{
    if (!c)
        return;
    fprintf(out, " stream=%u label=\"%s\"", c->stream_id, c->label ? c->label : "");
    if (c->subprotocol && *c->subprotocol)
        fprintf(out, " protocol=\"%s\"", c->subprotocol);
    fprintf(out, " %s", c->negotiated ? "negotiated" : "dcep");
    if (c->rx_messages || c->tx_messages || c->dropped_messages)
        fprintf(out, " rx=%" PRIu64 "/%" PRIu64 "B tx=%" PRIu64 "/%" PRIu64 "B dropped=%" PRIu64,
                c->rx_messages, c->rx_bytes, c->tx_messages, c->tx_bytes, c->dropped_messages);
}

static void leg_details(FILE *out, const Dcgw__Event *ev)
{
    if (ev->kind_case == DCGW__EVENT__KIND_LEG_CONNECTED) {
        const Dcgw__LegConnected *lc = ev->leg_connected;
        fprintf(out, " peer=%s", lc->peer_addr ? lc->peer_addr : "-");
        if (lc->fingerprint)
            fprintf(out, " fingerprint=\"%s %s\"",
                    lc->fingerprint->algorithm ? lc->fingerprint->algorithm : "",
                    lc->fingerprint->value ? lc->fingerprint->value : "");
        if (lc->cipher)
            fprintf(out, " cipher=%s", lc->cipher);
    } else if (ev->kind_case == DCGW__EVENT__KIND_DTLS_FAILED) {
        fprintf(out, " code=%s reason=\"%s\"", dcgw_err_name(ev->dtls_failed->code),
                ev->dtls_failed->reason ? ev->dtls_failed->reason : "");
    } else if (ev->kind_case == DCGW__EVENT__KIND_CONSENT_LOST) {
        fprintf(out, " peer=%s", ev->consent_lost->peer_addr ? ev->consent_lost->peer_addr : "-");
    } else if (ev->kind_case == DCGW__EVENT__KIND_LEG_CLOSED) {
        fprintf(out, " reason=\"%s\"", ev->leg_closed->reason ? ev->leg_closed->reason : "");
    }
}

static void avatar_details(FILE *out, const Dcgw__Event *ev)
{
    if (ev->kind_case == DCGW__EVENT__KIND_AVATAR_ACCEPTED) {
        const Dcgw__AvatarAccepted *a = ev->avatar_accepted;
        fprintf(out, " stream=%u %s avatar_id=%s owner=%s signer=\"%s\"", a->stream_id,
                a->request ? "request" : "transfer", a->avatar_id ? a->avatar_id : "-",
                a->owner ? a->owner : "-", a->signer ? a->signer : "");
        if (!a->request)
            fprintf(out, " size=%" PRIu64 " chunks=%u", a->size, a->chunks);
        return;
    }
    const Dcgw__AvatarRejected *r = ev->avatar_rejected;
    const char *reason = dcgw_pb_enum_name(&dcgw__avatar_reason__descriptor, r->reason);
    fprintf(out, " stream=%u %s reason=%s", r->stream_id, r->request ? "request" : "transfer",
            reason ? reason : "?");
    if (r->avatar_id)
        fprintf(out, " avatar_id=%s", r->avatar_id);
    if (!r->request)
        fprintf(out, " at_chunk=%u/%u", r->chunk, r->chunks);
    if (r->detail)
        fprintf(out, " detail=\"%s\"", r->detail);
}

static void http_details(FILE *out, const Dcgw__HttpRequestFailed *h)
{
    const char *f = dcgw_pb_enum_name(&dcgw__http_failure__descriptor, h->failure);
    fprintf(out, " stream=%u failure=%s status=%u method=%s target=\"%s\"", h->stream_id,
            f ? f + 5 : "?", h->status, h->method ? h->method : "-", h->target ? h->target : "");
    if (h->upstream)
        fprintf(out, " upstream=\"%s\"", h->upstream);
    if (h->detail)
        fprintf(out, " detail=\"%s\"", h->detail);
    fprintf(out, " suppressed=%" PRIu64, h->suppressed);
}

static void event_details(FILE *out, const Dcgw__Event *ev)
{
    switch (ev->kind_case) {
    case DCGW__EVENT__KIND_HTTP_REQUEST_FAILED:
        http_details(out, ev->http_request_failed);
        break;
    case DCGW__EVENT__KIND_AVATAR_ACCEPTED:
    case DCGW__EVENT__KIND_AVATAR_REJECTED:
        avatar_details(out, ev);
        break;
    case DCGW__EVENT__KIND_LEG_CONNECTED:
    case DCGW__EVENT__KIND_DTLS_FAILED:
    case DCGW__EVENT__KIND_CONSENT_LOST:
    case DCGW__EVENT__KIND_LEG_CLOSED:
        leg_details(out, ev);
        break;
    case DCGW__EVENT__KIND_CHANNEL_OPENED:
        channel_details(out, ev->channel_opened->channel);
        break;
    case DCGW__EVENT__KIND_CHANNEL_CLOSED:
        channel_details(out, ev->channel_closed->channel);
        break;
    case DCGW__EVENT__KIND_POLICY_VIOLATION:
        policy_details(out, ev->policy_violation);
        break;
    case DCGW__EVENT__KIND_WORKER_LOST: {
        const Dcgw__WorkerLost *w = ev->worker_lost;
        fprintf(out, " worker=%u pid=%d status=%d signal=%d sessions=%zu", w->worker, w->pid,
                w->exit_status, w->signal, w->n_session_ids);
        for (size_t i = 0; i < w->n_session_ids; i++)
            fprintf(out, "%s%s", i ? "," : " [", w->session_ids[i]);
        if (w->n_session_ids)
            fputc(']', out);
        break;
    }
    case DCGW__EVENT__KIND_WORKER_STARTED:
        fprintf(out, " worker=%u pid=%d", ev->worker_started->worker, ev->worker_started->pid);
        break;
    case DCGW__EVENT__KIND_SESSION_CREATED:
        if (ev->session_created->session)
            fprintf(out, " worker=%u", ev->session_created->session->worker);
        break;
    case DCGW__EVENT__KIND_SESSION_CLOSED:
        fprintf(out, " reason=\"%s\" channels=%zu",
                ev->session_closed->reason ? ev->session_closed->reason : "",
                ev->session_closed->n_channels);
        break;
    case DCGW__EVENT__KIND_CONFIG_RELOADED:
        fprintf(out, " accepted=%s%s%s", ev->config_reloaded->accepted ? "yes" : "no",
                ev->config_reloaded->reason ? " reason=" : "",
                ev->config_reloaded->reason ? ev->config_reloaded->reason : "");
        break;
    case DCGW__EVENT__KIND_RELAY_CONNECTED:
    case DCGW__EVENT__KIND_RELAY_BLOCKED:
    case DCGW__EVENT__KIND_RELAY_CLOSED:
        relay_details(out, ev);
        break;
    default:
        break;
    }
}

void dcgw_ctlfmt_event(FILE *out, const Dcgw__Event *ev, bool json)
{
    if (json) {
        print_json(out, &ev->base, JSON_COMPACT | JSON_PRESERVE_ORDER);
        return;
    }
    char t[40];
    fprintf(out, "%s #%" PRIu64 " %s", when(ev->time_unix_ms, t, sizeof(t)), ev->seq,
            dcgw_ctlmsg_event_name(ev));
    if (ev->session_id)
        fprintf(out, " session=%s", ev->session_id);
    if (ev->leg)
        fprintf(out, " leg=%s", ev->leg);
    event_details(out, ev);
    fputc('\n', out);
}
