/* Pairs: the two endpoints of one session, set up directly (A offers, Z answers as
 * ICE-lite), through dcgw (both offer, dcgw answers both legs of one bridged session),
 * through a dcgw relay session (A offers, dcgw offers to Z, Z answers; DTLS end to end) or
 * against Janus (A offers to the echotest plugin; Janus echoes). A lives in this process,
 * Z in the far end (far.c). A pair is ready when a hello message made the whole trip:
 * A -> Z (direct, gateway, relay; the far end reports it) or A -> Janus -> A. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"

enum { SDP_BUF = DCGW_SDP_TEXT_MAX, CLOSE_WAIT_MS = 60000 };

static unsigned jobs_pending;

static void kick(struct pairset *s);

static void pair_fail(struct pair *p, const char *why)
{
    if (p->state == PAIR_FAILED)
        return;
    bool counted = p->state != PAIR_READY;
    if (why != p->why)
        snprintf(p->why, sizeof(p->why), "%s", why);
    if (p->set->failed < 3)
        bench_note(p->b, "%s pair %u failed: %s", bench_path_name(p->path), p->id, why);
    p->state = PAIR_FAILED;
    p->set->failed++;
    if (counted) {
        p->set->inflight--;
        kick(p->set);
    }
}

static void pair_ready(struct pair *p)
{
    if (p->state != PAIR_CONNECTING)
        return;
    p->state = PAIR_READY;
    p->t_ready_ns = bench_now_ns();
    p->set->ready++;
    p->set->inflight--;
    kick(p->set);
}

/* Once A's channels are open. Through dcgw, the bridge holds the hello until Z's leg is
 * up too. */
static void maybe_hello(struct pair *p)
{
    if (p->open_a == p->nch && p->state == PAIR_CONNECTING &&
        traffic_send_small(p, 0, MSG_HELLO) < 0)
        pair_fail(p, "hello not sent");
}

/* ---- client callbacks */

static unsigned label_index(const struct dcgw_dc_channel *ch)
{
    unsigned i;
    if (sscanf(ch->params.label, "bench-%u", &i) != 1)
        return BENCH_CHANNELS_MAX;
    return i;
}

static void cl_up(void *ud, struct dcgw_client *c)
{
    struct pair *p = ud;
    if (p->path != PATH_JANUS || c != p->a)
        return;
    /* Janus takes channels in band only (DCEP, RFC 8832): open ours now. */
    for (unsigned i = 0; i < p->nch; i++) {
        struct dcgw_dc_params prm = {.id = DCGW_DC_ID_AUTO, .ordered = true};
        snprintf(prm.label, sizeof(prm.label), "bench-%u", i);
        struct dcgw_dc_channel *ch;
        int r = dcgw_dc_open(dcgw_client_dc(c), &prm, &ch);
        if (r < 0) {
            pair_fail(p, dcgw_strerror(r));
            return;
        }
    }
}

static void cl_open(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    struct pair *p = ud;
    (void)c;
    unsigned i = label_index(ch);
    if (i >= p->nch)
        return;
    if (!p->cha[i]) {
        p->cha[i] = ch;
        p->open_a++;
    }
    maybe_hello(p);
}

static void cl_closed_channel(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    (void)c;
    struct pair *p = ud;
    for (unsigned i = 0; i < p->nch; i++)
        if (p->cha[i] == ch)
            p->cha[i] = NULL;
}

static void cl_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *m, size_t n)
{
    (void)is_text;
    struct pair *p = ud;
    if (n >= BENCH_HDR && m[14] == MSG_HELLO) {
        if (p->path == PATH_JANUS)
            pair_ready(p); /* Janus echoed it */
        return;
    }
    traffic_on_message(p->b, p, c, ch, m, n);
}

static void cl_writable(void *ud, struct dcgw_client *c)
{
    struct pair *p = ud;
    traffic_on_writable(p->b, p, c);
}

static void cl_failed(void *ud, struct dcgw_client *c, int err, const char *reason)
{
    struct pair *p = ud;
    char why[160];
    (void)c;
    snprintf(why, sizeof(why), "A: %s (%s)", reason, dcgw_err_name(err));
    pair_fail(p, why);
}

/* ---- building a pair */

static int new_client(struct pair *p, bool offer_channels, struct dcgw_client **out)
{
    struct bench *b = p->b;
    struct sockaddr_storage bind;
    if (p->path == PATH_JANUS)
        memcpy(&bind, janus_client_bind(b->jn), sizeof(struct sockaddr_in));
    else
        bench_endpoint_addr(p->id, false, &bind);
    struct dcgw_sdp_dcmap maps[BENCH_CHANNELS_MAX];
    bench_dcmap(&b->o, maps, p->nch);
    /* Janus 1.1 uses SCTP port 5000 whatever the SDP says. */
    uint16_t port = p->path == PATH_JANUS ? BENCH_JANUS_SCTP_PORT : bench_sctp_port(b);
    struct dcgw_client_settings cs = bench_client_settings(
        &b->o, &bind, port, maps, offer_channels ? p->nch : 0, true, p->set->idle);
    if (p->set->idle && p->path != PATH_JANUS) /* Janus's endpoints share one address */
        cs.net = b->net;
    struct dcgw_client_cbs cbs = {.ud = p,
                                  .on_up = cl_up,
                                  .on_channel_open = cl_open,
                                  .on_message = cl_message,
                                  .on_channel_closed = cl_closed_channel,
                                  .on_writable = cl_writable,
                                  .on_failed = cl_failed};
    struct dcgw_dtls_ctx *ctx = p->path == PATH_JANUS ? b->ctx_janus : b->ctx;
    return dcgw_client_new(b->loop, ctx, &cs, &cbs, out);
}

/* A control job of p came back. True when p goes on with j's result; false when the set
 * is closing (a session that was made is closed by pairset_free) or the job failed (p
 * failed). */
static bool job_back(struct pair *p, const struct ctl_job *j)
{
    jobs_pending--;
    if (p->set->closing) {
        if (j->err == 0)
            p->state = PAIR_CONNECTING; /* so that pairset_free closes the session */
        return false;
    }
    if (j->err < 0) {
        pair_fail(p, j->errmsg);
        return false;
    }
    return true;
}

/* A starts with dcgw's SDP for it, Z (FAR_START) with sdp_z; p fails with `why` if either
 * is refused. */
static void start_both(struct pair *p, const char *sdp_a, const char *sdp_z, const char *why)
{
    p->state = PAIR_CONNECTING;
    int r = dcgw_client_start(p->a, sdp_a, strlen(sdp_a));
    if (r == 0)
        r = far_send(p->b, FAR_START, p->id, p->nch, p->set->idle, sdp_z);
    if (r < 0)
        pair_fail(p, why);
}

static void created(struct bench *b, struct ctl_job *j)
{
    (void)b;
    if (job_back(j->p, j))
        start_both(j->p, j->answer[0], j->answer[1], "dcgw's answer not usable");
    ctl_job_free(j);
}

static int start_direct(struct pair *p, char *bufa)
{
    int n = dcgw_client_offer(p->a, bufa, SDP_BUF);
    if (n < 0)
        return n;
    p->state = PAIR_SIGNALLING;
    return far_send(p->b, FAR_ANSWER, p->id, p->nch, p->set->idle, bufa);
}

/* Both offers go to dcgw in one create_session; Z's comes from the far end first. */
static int start_gateway(struct pair *p, char *bufa)
{
    int n = dcgw_client_offer(p->a, bufa, SDP_BUF);
    if (n < 0)
        return n;
    p->offer_a = strdup(bufa);
    p->state = PAIR_SIGNALLING;
    return p->offer_a ? far_send(p->b, FAR_OFFER, p->id, p->nch, p->set->idle, NULL) : DCGW_ENOMEM;
}

/* ---- relay (docs/relay.md): A's offer -> create_session (two MODE_RELAY legs) -> dcgw's
 * offer for Z -> Z answers it (FAR_ANSWER: dcgw's hop is ICE-lite, so Z answers as the
 * full, controlling agent, RFC 8445 §6.1.1) -> update_session with Z's answer -> dcgw's
 * answer for A -> A starts. Z offers nothing: it takes A's a=dcmap through dcgw's offer. */
static void submit_relay(struct pair *p);

static int start_relay(struct pair *p, char *bufa)
{
    int n = dcgw_client_offer(p->a, bufa, SDP_BUF);
    if (n < 0)
        return n;
    p->offer_a = strdup(bufa);
    if (!p->offer_a)
        return DCGW_ENOMEM;
    p->state = PAIR_SIGNALLING;
    submit_relay(p);
    return 0;
}

static struct ctl_job *job_new(struct pair *p, enum ctl_kind kind,
                               void (*done)(struct bench *, struct ctl_job *))
{
    struct ctl_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->kind = kind;
    j->p = p;
    j->done = done;
    snprintf(j->sid, sizeof(j->sid), "%s", p->sid);
    return j;
}

static void relay_updated(struct bench *b, struct ctl_job *j)
{
    (void)b;
    struct pair *p = j->p;
    if (job_back(p, j)) {
        p->state = PAIR_CONNECTING;
        if (dcgw_client_start(p->a, j->answer[0], strlen(j->answer[0])) < 0)
            pair_fail(p, "dcgw's relay answer not usable");
    }
    ctl_job_free(j);
}

static void relay_created(struct bench *b, struct ctl_job *j)
{
    (void)b;
    struct pair *p = j->p;
    if (job_back(p, j) && far_send(p->b, FAR_ANSWER, p->id, p->nch, p->set->idle, j->answer[1]) < 0)
        pair_fail(p, "dcgw's relay offer not sent to Z");
    ctl_job_free(j);
}

static void submit_relay(struct pair *p)
{
    snprintf(p->sid, sizeof(p->sid), "bench-%llx-%u", (unsigned long long)p->b->run_id, p->id);
    struct ctl_job *j = job_new(p, CTL_RELAY_CREATE, relay_created);
    if (!j) {
        pair_fail(p, "out of memory");
        return;
    }
    j->offer[0] = p->offer_a;
    p->offer_a = NULL;
    jobs_pending++;
    gw_submit(p->b->gw, j);
}

/* Z's answer to dcgw's relay offer goes to dcgw, whose answer for A comes back. */
static void submit_relay_update(struct pair *p, const char *z_answer, size_t len)
{
    struct ctl_job *u = job_new(p, CTL_RELAY_UPDATE, relay_updated);
    char *ans = strndup(z_answer, len);
    if (!u || !ans) {
        free(u);
        free(ans);
        pair_fail(p, "out of memory");
        return;
    }
    u->offer[1] = ans;
    jobs_pending++;
    gw_submit(p->b->gw, u);
}

static void submit_create(struct pair *p, const char *offer_z)
{
    struct ctl_job *j = calloc(1, sizeof(*j));
    if (!j) {
        pair_fail(p, "out of memory");
        return;
    }
    j->kind = CTL_CREATE;
    j->p = p;
    j->offer[0] = p->offer_a;
    p->offer_a = NULL;
    j->offer[1] = strdup(offer_z);
    j->done = created;
    snprintf(j->sid, sizeof(j->sid), "bench-%llx-%u", (unsigned long long)p->b->run_id, p->id);
    snprintf(p->sid, sizeof(p->sid), "%s", j->sid);
    jobs_pending++;
    gw_submit(bench_gw(p->b, p->path), j);
}

void pair_on_far(struct bench *b, uint32_t op, uint32_t id, const char *text, size_t len)
{
    struct pair *p = id < b->pairs_cap ? b->pairs[id] : NULL;
    if (!p || p->state == PAIR_FAILED)
        return;
    char why[200];
    switch (op) {
    case FAR_SDP:
        if (p->state != PAIR_SIGNALLING || p->set->closing)
            break;
        if (p->path == PATH_GATEWAY || p->path == PATH_BASE) {
            submit_create(p, text);
        } else if (p->path == PATH_RELAY) {
            submit_relay_update(p, text, strnlen(text, len));
        } else {
            p->state = PAIR_CONNECTING;
            if (dcgw_client_start(p->a, text, strnlen(text, len)) < 0)
                pair_fail(p, "Z's answer not usable");
        }
        break;
    case FAR_READY:
        pair_ready(p);
        break;
    case FAR_FAILED:
        snprintf(why, sizeof(why), "%.*s", (int)strnlen(text, len), text);
        pair_fail(p, why);
        break;
    default:
        break;
    }
}

static int start_janus(struct pair *p, char *bufa)
{
    int n = dcgw_client_offer(p->a, bufa, SDP_BUF);
    if (n < 0)
        return n;
    char err[256];
    char *ans = janus_negotiate(p->b->jn, bufa, p->janus_ids, err, sizeof(err));
    if (!ans) {
        snprintf(p->why, sizeof(p->why), "%s", err);
        return DCGW_EPROTO;
    }
    p->state = PAIR_CONNECTING;
    int r = dcgw_client_start(p->a, ans, strlen(ans));
    free(ans);
    return r;
}

static void start_pair(struct pairset *s)
{
    struct bench *b = s->b;
    struct pair *p = calloc(1, sizeof(*p));
    if (!p)
        return;
    p->b = b;
    p->set = s;
    p->path = s->path;
    p->id = b->next_pair_id++;
    p->nch = s->nch;
    p->t_start_ns = bench_now_ns();
    s->v[s->started++] = p;
    s->inflight++;
    if (p->id >= b->pairs_cap) {
        size_t cap = b->pairs_cap ? b->pairs_cap * 2 : 4096;
        while (cap <= p->id)
            cap *= 2;
        struct pair **np = realloc(b->pairs, cap * sizeof(*np));
        if (!np) {
            pair_fail(p, "out of memory");
            return;
        }
        memset(np + b->pairs_cap, 0, (cap - b->pairs_cap) * sizeof(*np));
        b->pairs = np;
        b->pairs_cap = cap;
    }
    b->pairs[p->id] = p;
    char *bufa = malloc(SDP_BUF);
    int r = bufa ? new_client(p, p->path != PATH_JANUS, &p->a) : DCGW_ENOMEM;
    if (r == 0)
        r = p->path == PATH_DIRECT    ? start_direct(p, bufa)
            : p->path == PATH_GATEWAY ? start_gateway(p, bufa)
            : p->path == PATH_BASE    ? start_gateway(p, bufa)
            : p->path == PATH_RELAY   ? start_relay(p, bufa)
                                      : start_janus(p, bufa);
    free(bufa);
    if (r < 0)
        pair_fail(p, p->why[0] ? p->why : dcgw_strerror(r));
}

static bool in_kick;

static void kick(struct pairset *s)
{
    if (in_kick || s->closing)
        return; /* start_pair may fail synchronously and call back here */
    in_kick = true;
    while (s->started < s->n && s->inflight < s->concurrency)
        start_pair(s);
    in_kick = false;
}

static bool set_done(struct bench *b, void *arg)
{
    struct pairset *s = arg;
    bench_progress(b, "%s set-up: %u/%u ready, %u failed", bench_path_name(s->path), s->ready, s->n,
                   s->failed);
    kick(s);
    return s->ready + s->failed >= s->n;
}

struct pairset *pairset_setup(struct bench *b, enum bench_path path, unsigned n, unsigned nch,
                              unsigned concurrency, bool idle, uint64_t timeout_ms)
{
    struct pairset *s = calloc(1, sizeof(*s));
    if (!s || !(s->v = calloc(n ? n : 1, sizeof(*s->v)))) {
        free(s);
        return NULL;
    }
    s->b = b;
    s->path = path;
    s->n = n;
    s->nch = nch ? nch : 1;
    s->concurrency = concurrency ? concurrency : 1;
    s->idle = idle;
    kick(s);
    if (!bench_run_until(b, set_done, s, timeout_ms))
        bench_note(b, "%s set-up timed out: %u of %u ready", bench_path_name(path), s->ready, n);
    return s;
}

/* ---- teardown */

static void closed(struct bench *b, struct ctl_job *j)
{
    (void)b;
    jobs_pending--;
    ctl_job_free(j);
}

static bool jobs_done(struct bench *b, void *arg)
{
    (void)arg;
    bench_progress(b, "closing sessions: %u to go", jobs_pending);
    return jobs_pending == 0;
}

void pairset_free(struct pairset *s)
{
    if (!s)
        return;
    struct bench *b = s->b;
    s->closing = true;
    /* Creates still under way come back first; their sessions are closed below. */
    bench_run_until(b, jobs_done, NULL, CLOSE_WAIT_MS);
    for (unsigned i = 0; i < s->started; i++) {
        struct pair *p = s->v[i];
        for (unsigned k = 0; k < p->nflows; k++)
            flow_free(p->flows[k]);
        bool dcgw_session =
            p->path == PATH_GATEWAY || p->path == PATH_RELAY || p->path == PATH_BASE;
        struct gw *gw = bench_gw(b, p->path);
        if (dcgw_session && p->sid[0] && p->state != PAIR_SIGNALLING && gw) {
            struct ctl_job *j = calloc(1, sizeof(*j));
            if (j) {
                j->kind = CTL_CLOSE;
                snprintf(j->sid, sizeof(j->sid), "%s", p->sid);
                j->done = closed;
                jobs_pending++;
                gw_submit(gw, j);
            }
        }
        if (p->path == PATH_JANUS && p->janus_ids[0] && b->jn)
            janus_hangup(b->jn, p->janus_ids);
        if (p->path != PATH_JANUS)
            far_send(b, FAR_FREE, p->id, 0, false, NULL);
        dcgw_client_free(p->a);
        b->pairs[p->id] = NULL;
        free(p->offer_a);
        p->offer_a = NULL;
    }
    bench_run_until(b, jobs_done, NULL, CLOSE_WAIT_MS);
    for (unsigned i = 0; i < s->started; i++)
        free(s->v[i]);
    free(s->v);
    free(s);
    /* Let libuv finish closing the clients' handles. */
    for (int i = 0; i < 4; i++)
        uv_run(b->loop, UV_RUN_NOWAIT);
}
