/* Avatar verification throughput (issue 8 "Speed", issue 7): verified MB/s through an
 * avatar channel against the same bytes as unverified binary messages on an ordinary
 * channel, in one run, one session.
 *
 *   bench process                          dcgwd worker
 *   client "as" (the BAR) --- leg "as" ---[policy, verifier]--- leg "ue" --- client "ue"
 *     bench-plain  (binary chunks) ------------------------------------> counted, compared
 *     bench-avatar (manifest + chunks) --[JWS + SHA-256 per chunk]------> counted, compared
 *
 * Both endpoints live in the bench's loop. The session is created on a control connection
 * of our own, with Session.avatar granting the avatar to its owner and carrying the
 * signer's raw public key by kid (docs/avatar-envelope.md). The two kinds take turns
 * (ABBA), so a change in the machine's load hits both alike; every received chunk is
 * compared with what was sent, and every verified transfer must produce avatar_accepted. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avatar_env.h"
#include "bench.h"
#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/base/error.h"
#include "stats.h"

enum { AV_PLAIN, AV_VERIFIED, AV_KINDS };

enum {
    AV_SETUP_TIMEOUT_MS = 20000,
    AV_EVENT_WAIT_MS = 3000,
    AV_XFER_TIMEOUT_MS = 30000, /* plus one second per MB */
    AV_WINDOW_CHUNKS_MIN = 2,
    /* In flight at most: before dcgw pushed back (docs/bridge.md), around 1 MiB in
     * flight made dcgwd's far-leg send fail and the bridge dropped; kept so that results
     * stay comparable. */
    AV_WINDOW_MAX = 768 << 10,
    AV_REQUEST_TIMEOUT_MS = 5000,
    AV_TRANSFERS_MAX = 1000,
    /* dcgwd's avatar.* defaults (the bench's dcgw.conf leaves them) */
    AV_DCGW_MAX_SIZE = 64 << 20,
    AV_DCGW_MAX_CHUNK = 256 << 10,
    AV_DCGW_MAX_CHUNKS = 4096,
};

static const char *kind_name[AV_KINDS] = {"plain", "verified"};
static const char *labels[AV_KINDS] = {"bench-plain", "bench-avatar"};

struct av;

struct av_end {
    struct av *av;
    const char *name; /* the leg's: "ue", "as" */
    struct dcgw_client *c;
    struct dcgw_dc_channel *ch[AV_KINDS];
    unsigned open;
    char *offer, *answer;
};

/* One transfer under way: "as" sends, "ue" receives. */
struct av_xfer {
    int kind;
    bool active, blocked, manifest_ok;
    unsigned next;        /* next message to send (verified: 0 is the manifest) */
    uint64_t sent, recv;  /* data bytes (the manifest is not counted) */
    unsigned recv_chunks; /* chunks that arrived, each compared */
};

struct av_meas {
    unsigned n;
    uint64_t bytes, ns, gw_cpu, ends_cpu;
    double secs[AV_TRANSFERS_MAX];
};

struct av {
    struct bench *b;
    struct av_env env;
    struct dcgw_ctlclient *ctl;
    char sid[64];
    bool created;
    struct av_end ue, as;
    size_t window;
    struct av_xfer x;
    uint64_t eagain, compared, stray;
    bool mismatch;     /* a chunk arrived that was not the one sent */
    unsigned accepted; /* avatar_accepted events for our transfers */
    char *request;     /* the UE's request token, until it reached the BAR */
    bool request_arrived;
    unsigned request_accepted; /* avatar_accepted (request: true) events */
    char fail[400];
};

static void av_fail(struct av *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void av_fail(struct av *a, const char *fmt, ...)
{
    if (a->fail[0])
        return; /* the first reason is the one that matters */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->fail, sizeof(a->fail), fmt, ap);
    va_end(ap);
}

/* ---- the sender: the BAR on leg "as" */

/* Sends what the window allows. dcgw has no flow control across legs: a verified chunk the
 * "ue" leg's SCTP buffer cannot take is dropped and the transfer rejected as
 * AVATAR_UNDELIVERED (docs/avatar-envelope.md, "Memory and speed"). So the sender keeps at
 * most `window` bytes between what it sent and what the receiver got, below the point
 * where dcgwd's sends toward "ue" start failing (AV_WINDOW_MAX); plain transfers use the
 * same window, to compare like with like. */
static void pump(struct av *a)
{
    struct av_xfer *x = &a->x;
    if (!x->active || x->blocked || a->fail[0])
        return;
    struct dcgw_dc *dc = dcgw_client_dc(a->as.c);
    struct dcgw_dc_channel *ch = a->as.ch[x->kind];
    unsigned head = x->kind == AV_VERIFIED, total = a->env.nchunks + head;
    while (x->next < total) {
        bool text = x->next < head;
        const uint8_t *p = (const uint8_t *)a->env.manifest;
        size_t n = a->env.manifest_len;
        if (!text) {
            n = av_env_chunk(&a->env, x->next - head, &p);
            if (x->sent > x->recv && x->sent - x->recv + n > a->window)
                return; /* the receiver's next chunk reopens the window */
        }
        int r = dcgw_dc_send(dc, ch, text, p, n);
        if (r == DCGW_EAGAIN) {
            x->blocked = true; /* on_writable resumes */
            a->eagain++;
            return;
        }
        if (r < 0) {
            av_fail(a, "%s send on %s: %s", kind_name[x->kind], labels[x->kind], dcgw_strerror(r));
            return;
        }
        x->next++;
        if (!text)
            x->sent += n;
    }
}

/* ---- the receiver: the UE on leg "ue" */

static void receive(struct av *a, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *m,
                    size_t n)
{
    struct av_xfer *x = &a->x;
    int kind = ch == a->ue.ch[AV_VERIFIED] ? AV_VERIFIED : ch == a->ue.ch[AV_PLAIN] ? AV_PLAIN : -1;
    if (!x->active || kind != x->kind) {
        a->stray++;
        av_fail(a, "a message on %s while no transfer used it", kind < 0 ? "?" : labels[kind]);
        return;
    }
    if (is_text) {
        if (kind == AV_VERIFIED && !x->manifest_ok && x->recv_chunks == 0 &&
            n == a->env.manifest_len && memcmp(m, a->env.manifest, n) == 0)
            x->manifest_ok = true;
        else
            av_fail(a, "%s: unexpected text message of %zu bytes", labels[kind], n);
        return;
    }
    if (kind == AV_VERIFIED && !x->manifest_ok) {
        av_fail(a, "%s: a chunk arrived before the manifest", labels[kind]);
        return;
    }
    const uint8_t *want = NULL;
    unsigned k = x->recv_chunks;
    size_t wn = k < a->env.nchunks ? av_env_chunk(&a->env, k, &want) : 0;
    if (!want || wn != n || memcmp(want, m, n) != 0) {
        a->mismatch = true;
        av_fail(a, "%s: chunk %u (%zu bytes) is not the one sent: lost, reordered or altered",
                labels[kind], k, n);
        return;
    }
    a->compared += n;
    x->recv += n;
    x->recv_chunks++;
    pump(a);
}

/* ---- client callbacks */

static void cl_open(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    struct av_end *e = ud;
    (void)c;
    for (int k = 0; k < AV_KINDS; k++)
        if (!e->ch[k] && strcmp(ch->params.label, labels[k]) == 0) {
            e->ch[k] = ch;
            e->open++;
        }
}

static void cl_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *m, size_t n)
{
    struct av_end *e = ud;
    (void)c;
    struct av *a = e->av;
    if (e == &a->ue)
        receive(a, ch, is_text, m, n);
    else if (a->request && is_text && ch == a->as.ch[AV_VERIFIED] && n == strlen(a->request) &&
             memcmp(m, a->request, n) == 0)
        a->request_arrived = true; /* forwarded unchanged (docs/avatar-envelope.md) */
    else
        a->stray++; /* nothing else is sent toward the BAR */
}

static void cl_closed(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    struct av_end *e = ud;
    (void)c;
    for (int k = 0; k < AV_KINDS; k++)
        if (e->ch[k] == ch) {
            e->ch[k] = NULL;
            av_fail(e->av, "channel %s closed at %s (by dcgw)", labels[k], e->name);
        }
}

static void cl_writable(void *ud, struct dcgw_client *c)
{
    struct av_end *e = ud;
    (void)c;
    if (e == &e->av->as) {
        e->av->x.blocked = false;
        pump(e->av);
    }
}

static void cl_failed(void *ud, struct dcgw_client *c, int err, const char *reason)
{
    struct av_end *e = ud;
    (void)c;
    av_fail(e->av, "client %s: %s (%s)", e->name, reason, dcgw_err_name(err));
}

static int new_end(struct av *a, struct av_end *e, const char *name)
{
    struct bench *b = a->b;
    e->av = a;
    e->name = name;
    struct sockaddr_storage bind;
    dcgw_addr_from("127.0.0.1", 0, &bind);
    struct dcgw_sdp_dcmap maps[AV_KINDS];
    bench_dcmap(&b->o, maps, AV_KINDS);
    for (int k = 0; k < AV_KINDS; k++)
        snprintf(maps[k].label, sizeof(maps[k].label), "%s", labels[k]);
    /* Kind avatar is the subprotocol, whatever the stream id (docs/policy.md). */
    snprintf(maps[AV_VERIFIED].subprotocol, sizeof(maps[AV_VERIFIED].subprotocol), "avatar");
    struct dcgw_client_settings cs =
        bench_client_settings(&b->o, &bind, bench_sctp_port(b), maps, AV_KINDS, false, false);
    struct dcgw_client_cbs cbs = {.ud = e,
                                  .on_channel_open = cl_open,
                                  .on_message = cl_message,
                                  .on_channel_closed = cl_closed,
                                  .on_writable = cl_writable,
                                  .on_failed = cl_failed};
    int r = dcgw_client_new(b->loop, b->ctx, &cs, &cbs, &e->c);
    char *buf = r == 0 ? malloc(DCGW_SDP_TEXT_MAX) : NULL;
    if (r == 0 && !buf)
        r = DCGW_ENOMEM;
    if (r == 0 && (r = dcgw_client_offer(e->c, buf, DCGW_SDP_TEXT_MAX)) >= 0) {
        e->offer = buf;
        return 0;
    }
    free(buf);
    av_fail(a, "client %s: %s", name, dcgw_strerror(r));
    return r;
}

/* ---- control */

static void create_session(struct av *a)
{
    char err[300];
    const char *offers[2] = {a->ue.offer, a->as.offer};
    char *answers[2] = {NULL, NULL};
    int r = av_ctl_create(a->ctl, a->sid, offers, &a->env, answers, err, sizeof(err));
    a->created = r == 0 || r == DCGW_EMALFORMED;
    a->ue.answer = answers[0];
    a->as.answer = answers[1];
    if (r < 0)
        av_fail(a, "%s", err);
}

static void close_session(struct av *a)
{
    char err[300];
    if (a->created && a->ctl &&
        av_ctl_simple(a->ctl, DCGW__REQUEST__OP_CLOSE_SESSION, a->sid, err, sizeof(err)) < 0)
        bench_note(a->b, "avatar: %s", err);
}

/* Reads the session's events until *count (an avatar_accepted counter) reaches want, or
 * wait_ms passed.
 * An avatar_rejected is the failure's real reason: it replaces what the client saw (the
 * channel closing). */
static void read_events(struct av *a, const unsigned *count, unsigned want, int wait_ms)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)wait_ms * 1000000u;
    for (;;) {
        uint64_t now = bench_now_ns();
        int left = now >= deadline || *count >= want ? 0 : (int)((deadline - now) / 1000000u);
        Dcgw__Event *ev = NULL;
        if (dcgw_ctlclient_next_event(a->ctl, &ev, left) < 0)
            return;
        if (ev->kind_case == DCGW__EVENT__KIND_AVATAR_ACCEPTED) {
            if (ev->avatar_accepted->request)
                a->request_accepted++;
            else
                a->accepted++;
        } else if (ev->kind_case == DCGW__EVENT__KIND_AVATAR_REJECTED) {
            const Dcgw__AvatarRejected *rj = ev->avatar_rejected;
            const ProtobufCEnumValue *v =
                protobuf_c_enum_descriptor_get_value(&dcgw__avatar_reason__descriptor, rj->reason);
            a->fail[0] = 0;
            av_fail(a, "avatar_rejected on leg %s: %s: %s (chunk %u of %u)",
                    ev->leg ? ev->leg : "?", v ? v->name : "?", rj->detail ? rj->detail : "",
                    rj->chunk, rj->chunks);
        }
        dcgw__event__free_unpacked(ev, NULL);
    }
}

/* ---- set-up */

static bool ends_open(struct bench *b, void *arg)
{
    struct av *a = arg;
    bench_progress(b, "avatar set-up: channels open ue %u/2, as %u/2", a->ue.open, a->as.open);
    return a->fail[0] || (a->ue.open == AV_KINDS && a->as.open == AV_KINDS);
}

static int av_setup(struct av *a)
{
    struct bench *b = a->b;
    char err[300];
    struct dcgw_ctlclient_opts co = {.socket = gw_socket_path(b->gw)};
    int r = dcgw_ctlclient_connect(&co, &a->ctl, err, sizeof(err));
    if (r < 0) {
        av_fail(a, "control connection: %s", err);
        return r;
    }
    snprintf(a->sid, sizeof(a->sid), "bench-%llx-avatar", (unsigned long long)b->run_id);
    if (new_end(a, &a->ue, "ue") < 0 || new_end(a, &a->as, "as") < 0)
        return -1;
    create_session(a);
    if (!a->fail[0] &&
        (r = av_ctl_simple(a->ctl, DCGW__REQUEST__OP_SUBSCRIBE, a->sid, err, sizeof(err))) < 0)
        av_fail(a, "%s", err);
    if (a->fail[0])
        return -1;
    struct av_end *ends[2] = {&a->ue, &a->as};
    for (int i = 0; i < 2 && !a->fail[0]; i++)
        if ((r = dcgw_client_start(ends[i]->c, ends[i]->answer, strlen(ends[i]->answer))) < 0)
            av_fail(a, "client %s: dcgw's answer not usable: %s", ends[i]->name, dcgw_strerror(r));
    if (!a->fail[0] && !bench_run_until(b, ends_open, a, AV_SETUP_TIMEOUT_MS))
        av_fail(a, "set-up timed out: channels open ue %u/2, as %u/2", a->ue.open, a->as.open);
    return a->fail[0] ? -1 : 0;
}

static void av_teardown(struct av *a)
{
    close_session(a);
    struct av_end *ends[2] = {&a->ue, &a->as};
    for (int i = 0; i < 2; i++) {
        dcgw_client_free(ends[i]->c);
        free(ends[i]->offer);
        free(ends[i]->answer);
    }
    for (int i = 0; i < 4; i++)
        uv_run(a->b->loop, UV_RUN_NOWAIT); /* libuv closes the clients' handles */
    dcgw_ctlclient_free(a->ctl);
    av_env_dispose(&a->env);
    free(a->request);
}

/* ---- the UE's request */

static bool request_done(struct bench *b, void *arg)
{
    struct av *a = arg;
    (void)b;
    return a->fail[0] || a->request_arrived;
}

/* What precedes a download in TR 33.790: the UE names the avatar in a token signed with
 * its DTLS certificate's key; dcgw checks it against that certificate and the grant, and
 * passes it on to the BAR. Not needed before a transfer, but it shows the whole avatar
 * path is on, and it is not measured. */
static int request(struct av *a)
{
    struct bench *b = a->b;
    EVP_PKEY *key = dcgw_cert_key(dcgw_dtls_ctx_cert(b->ctx)); /* the UE's DTLS key */
    int r = av_env_request(key, &a->request);
    if (r == 0)
        r = dcgw_dc_send(dcgw_client_dc(a->ue.c), a->ue.ch[AV_VERIFIED], true,
                         (const uint8_t *)a->request, strlen(a->request));
    if (r < 0) {
        av_fail(a, "request token: %s", dcgw_strerror(r));
        return r;
    }
    if (!bench_run_until(b, request_done, a, AV_REQUEST_TIMEOUT_MS))
        av_fail(a, "the UE's request token did not reach the BAR");
    read_events(a, &a->request_accepted, a->fail[0] ? UINT32_MAX : 1,
                a->fail[0] ? AV_EVENT_WAIT_MS / 3 : AV_EVENT_WAIT_MS);
    if (!a->fail[0] && !a->request_accepted)
        av_fail(a, "no avatar_accepted event for the UE's request token");
    return a->fail[0] ? -1 : 0;
}

/* ---- measurement */

static bool xfer_done(struct bench *b, void *arg)
{
    struct av *a = arg;
    bench_progress(b, "avatar: %s transfer, %llu of %zu bytes arrived", kind_name[a->x.kind],
                   (unsigned long long)a->x.recv, a->env.size);
    return a->fail[0] || a->x.recv_chunks == a->env.nchunks;
}

/* One transfer of every byte of the envelope; m (when given) gets its time and CPU. */
static int transfer(struct av *a, int kind, struct av_meas *m)
{
    struct bench *b = a->b;
    memset(&a->x, 0, sizeof(a->x));
    a->x.kind = kind;
    a->x.active = true;
    uint64_t timeout = AV_XFER_TIMEOUT_MS + a->env.size / 1000u;
    uint64_t gw0 = gw_cpu_ns(b->gw), self0 = proc_cpu_ns(getpid()), t0 = bench_now_ns();
    pump(a);
    bool done = bench_run_until(b, xfer_done, a, timeout);
    uint64_t t1 = bench_now_ns(), gw1 = gw_cpu_ns(b->gw), self1 = proc_cpu_ns(getpid());
    a->x.active = false;
    if (!done && !a->fail[0])
        av_fail(a, "%s transfer timed out: %llu of %zu bytes arrived", kind_name[kind],
                (unsigned long long)a->x.recv, a->env.size);
    if (kind == AV_VERIFIED || a->fail[0]) /* the verdict (or the reason) is an event */
        read_events(a, &a->accepted, a->fail[0] ? UINT32_MAX : a->accepted + 1,
                    a->fail[0] ? AV_EVENT_WAIT_MS / 3 : AV_EVENT_WAIT_MS);
    if (a->fail[0])
        return -1;
    if (m && m->n < AV_TRANSFERS_MAX) {
        m->secs[m->n++] = (double)(t1 - t0) / 1e9;
        m->bytes += a->x.recv;
        m->ns += t1 - t0;
        m->gw_cpu += gw1 - gw0;
        m->ends_cpu += self1 - self0;
    }
    return 0;
}

struct av_fig {
    double secs, mb_s, gw_ns_mb, ends_ns_mb, median_s;
};

/* MB = 10^6 bytes, as in the other scenarios' MB/s. */
static struct av_fig figures(struct av_meas *m)
{
    struct av_fig f = {NAN, NAN, NAN, NAN, NAN};
    if (!m->n || !m->ns)
        return f;
    double mb = (double)m->bytes / 1e6;
    f.secs = (double)m->ns / 1e9;
    f.mb_s = mb / f.secs;
    f.gw_ns_mb = (double)m->gw_cpu / mb;
    f.ends_ns_mb = (double)m->ends_cpu / mb;
    f.median_s = bench_median(m->secs, m->n);
    return f;
}

static json_t *point(int kind, struct av_meas *m, const struct av_fig *f)
{
    json_t *per = json_array();
    for (unsigned i = 0; i < m->n; i++)
        json_array_append_new(per, jnum(m->secs[i]));
    return json_pack("{s:s,s:i,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "kind", kind_name[kind],
                     "transfers", (int)m->n, "bytes", (json_int_t)m->bytes, "seconds",
                     jnum(f->secs), "mb_per_s", jnum(f->mb_s), "gw_cpu_ns", jnum((double)m->gw_cpu),
                     "gw_cpu_ns_per_mb", jnum(f->gw_ns_mb), "ends_cpu_ns_per_mb",
                     jnum(f->ends_ns_mb), "median_transfer_s", jnum(f->median_s), "transfer_s",
                     per);
}

static void row(struct bench *b, int kind, const struct av_meas *m, const struct av_fig *f)
{
    report_row(b, "%-9s %9u %9.1f %8.3f %9.1f %14.2f %16.2f %14.1f", kind_name[kind], m->n,
               (double)m->bytes / 1e6, f->secs, f->mb_s, f->gw_ns_mb / 1e6, f->ends_ns_mb / 1e6,
               f->median_s * 1e3);
}

/* What the options ask must fit dcgwd's avatar limits, or every transfer would be refused
 * as AVATAR_TOO_LARGE: a configuration error, not a finding. */
static bool fits(struct bench *b, char *why, size_t cap)
{
    const struct bench_opts *o = &b->o;
    size_t chunks = o->avatar_chunk ? (o->avatar_size + o->avatar_chunk - 1) / o->avatar_chunk : 0;
    if (!o->avatar_size || !o->avatar_chunk || o->avatar_size > AV_DCGW_MAX_SIZE ||
        o->avatar_chunk > AV_DCGW_MAX_CHUNK || o->avatar_chunk > o->max_message_size ||
        chunks > AV_DCGW_MAX_CHUNKS)
        snprintf(why, cap,
                 "--avatar-size %zu / --avatar-chunk %zu: needs 1..%d bytes, chunks of 1..%d "
                 "bytes (and <= max message size %u), at most %d chunks",
                 o->avatar_size, o->avatar_chunk, AV_DCGW_MAX_SIZE, AV_DCGW_MAX_CHUNK,
                 o->max_message_size, AV_DCGW_MAX_CHUNKS);
    else if (!o->avatar_transfers || o->avatar_transfers > AV_TRANSFERS_MAX)
        snprintf(why, cap, "--avatar-transfers must be 1..%d", AV_TRANSFERS_MAX);
    else
        return true;
    return false;
}

static void summary(struct bench *b, json_t *res, struct av *a, struct av_meas m[AV_KINDS])
{
    struct av_fig f[AV_KINDS];
    json_t *pts = json_array();
    json_object_set_new(res, "points", pts);
    report_row(b, "%s",
               "kind      transfers        MB        s      MB/s  gw cpu/MB(ms) "
               " ends cpu/MB(ms)  median xfer(ms)");
    for (int k = 0; k < AV_KINDS; k++) {
        f[k] = figures(&m[k]);
        row(b, k, &m[k], &f[k]);
        json_array_append_new(pts, point(k, &m[k], &f[k]));
    }
    double r_mb = f[AV_VERIFIED].mb_s / f[AV_PLAIN].mb_s;
    double r_cpu = f[AV_VERIFIED].gw_ns_mb / f[AV_PLAIN].gw_ns_mb;
    report_row(b, "verified/plain: MB/s %.2fx, dcgwd CPU per MB %.2fx", r_mb, r_cpu);
    json_object_set_new(
        res, "ratio", json_pack("{s:o,s:o}", "mb_per_s", jnum(r_mb), "gw_cpu_per_mb", jnum(r_cpu)));
    json_object_set_new(res, "checks",
                        json_pack("{s:b,s:I,s:i,s:i,s:b,s:i,s:I,s:I}", "byte_exact",
                                  a->compared > 0 && !a->mismatch, "bytes_compared",
                                  (json_int_t)a->compared, "avatar_accepted", (int)a->accepted,
                                  "verified_transfers", (int)(m[AV_VERIFIED].n + 1),
                                  "request_forwarded", a->request_arrived, "request_accepted",
                                  (int)a->request_accepted, "eagain", (json_int_t)a->eagain,
                                  "stray_messages", (json_int_t)a->stray));
}

int scen_avatar(struct bench *b, json_t *res)
{
    char why[300];
    if (!b->gw) {
        json_object_set_new(res, "status", json_string("skipped"));
        json_object_set_new(res, "reason", json_string("no dcgwd (it failed or died earlier)"));
        return 0;
    }
    if (!fits(b, why, sizeof(why))) {
        json_object_set_new(res, "status", json_string("failed"));
        json_object_set_new(res, "reason", json_string(why));
        bench_note(b, "avatar: %s", why);
        return -1;
    }
    struct av *a = calloc(1, sizeof(*a));
    struct av_meas *m = calloc(AV_KINDS, sizeof(*m));
    if (!a || !m) {
        free(a);
        free(m);
        return -1;
    }
    a->b = b;
    const struct bench_opts *o = &b->o;
    /* the bench's per-session window (capped, see AV_WINDOW_MAX), at least two chunks */
    a->window = o->window < AV_WINDOW_MAX ? o->window : AV_WINDOW_MAX;
    if (a->window < AV_WINDOW_CHUNKS_MIN * o->avatar_chunk)
        a->window = AV_WINDOW_CHUNKS_MIN * o->avatar_chunk;
    int r = av_env_make(&a->env, o->avatar_size, o->avatar_chunk, why, sizeof(why));
    if (r < 0)
        av_fail(a, "%s", why);
    report_table_header(b, "avatar verification throughput (1 session; ES256 manifest by kid)", "");
    report_row(b, "%zu bytes in %u chunks of %zu, %u transfers of each kind, window %zu bytes",
               a->env.size, a->env.nchunks, a->env.chunk, o->avatar_transfers, a->window);
    json_object_set_new(
        res, "config",
        json_pack("{s:I,s:I,s:i,s:i,s:I,s:s,s:s,s:I,s:o}", "size", (json_int_t)o->avatar_size,
                  "chunk", (json_int_t)o->avatar_chunk, "chunks", (int)a->env.nchunks, "transfers",
                  (int)o->avatar_transfers, "window", (json_int_t)a->window, "alg", "ES256",
                  "signer", "raw key by kid (Session.avatar.keys)", "manifest_bytes",
                  (json_int_t)a->env.manifest_len, "envelope_make_ms", jnum(a->env.make_ms)));
    if (r == 0 && av_setup(a) == 0) {
        /* One unmeasured transfer of each kind first: dcgwd builds the session's trust
         * store at its first avatar message, and buffers grow to their working size. */
        bool ok = request(a) == 0 && transfer(a, AV_PLAIN, NULL) == 0 &&
                  transfer(a, AV_VERIFIED, NULL) == 0;
        for (unsigned i = 0; ok && i < o->avatar_transfers; i++) {
            int first = i % 2 == 0 ? AV_PLAIN : AV_VERIFIED; /* ABBA */
            ok = transfer(a, first, &m[first]) == 0 && transfer(a, !first, &m[!first]) == 0;
            bench_progress(b, "avatar: %u of %u rounds", i + 1, o->avatar_transfers);
        }
        if (ok && a->accepted != m[AV_VERIFIED].n + 1)
            av_fail(a, "%u avatar_accepted events for %u verified transfers", a->accepted,
                    m[AV_VERIFIED].n + 1);
    }
    summary(b, res, a, m);
    if (a->fail[0]) {
        report_row(b, "FAILED: %s", a->fail);
        json_object_set_new(res, "status", json_string("failed"));
        json_object_set_new(res, "reason", json_string(a->fail));
    } else {
        json_object_set_new(res, "status", json_string("ok"));
    }
    r = a->fail[0] ? -1 : 0;
    av_teardown(a);
    free(m);
    free(a);
    return r;
}
