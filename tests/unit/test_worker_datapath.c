/* The worker's door (src/worker/datapath.c) with real peers: an in-process worker with its
 * UDP socket on loopback (helper_worker.h) and two simulated endpoints (net/client.h) on
 * the same loop, one for each leg of a terminated session, SCTP heartbeats every
 * sctp.heartbeat_interval_ms = 100 (the stack's own interval too: both ends send them).
 *
 * Heartbeats leave the metrics alone (docs/capacity.md, docs/metrics.md): a DTLS record
 * that moved nothing but SCTP heartbeats (the stack's active_packets still) does not mark
 * its session for the next metrics snapshot; a record that carried a message does. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/metrics.h"
#include "dcgw/net/client.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/sctp.h"
#include "helper_suite.h"
#include "helper_worker.h"
#include "../../src/worker/worker_int.h"

enum { HB_MS = 100 };

/* One simulated endpoint and what it saw. */
struct end {
    struct dcgw_client *c;
    unsigned opened, messages, failed;
};

static void on_open(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch)
{
    (void)c;
    (void)ch;
    ((struct end *)ud)->opened++;
}

static void on_message(void *ud, struct dcgw_client *c, struct dcgw_dc_channel *ch, bool is_text,
                       const uint8_t *p, size_t n)
{
    (void)c;
    (void)ch;
    (void)is_text;
    (void)p;
    (void)n;
    ((struct end *)ud)->messages++;
}

static void on_failed(void *ud, struct dcgw_client *c, int err, const char *reason)
{
    (void)c;
    (void)err;
    (void)reason;
    ((struct end *)ud)->failed++;
}

static void client(struct dcgw_dtls_ctx *ctx, uint16_t sctp_port, struct end *e)
{
    struct sockaddr_storage lo;
    ck_assert_int_eq(dcgw_addr_parse("127.0.0.1:0", &lo), 0);
    static const struct dcgw_sdp_dcmap map = {.stream_id = 1, .ordered = true, .label = "chat"};
    /* SCTP ports of their own: one usrsctp stack for the worker's associations and theirs */
    struct dcgw_client_settings s = {
        .bind = (struct sockaddr *)&lo, .sctp_port = sctp_port, .dcmap = &map, .n_dcmap = 1};
    struct dcgw_client_cbs cbs = {
        .ud = e, .on_channel_open = on_open, .on_message = on_message, .on_failed = on_failed};
    ck_assert_int_eq(dcgw_client_new(&wh.worker_loop, ctx, &s, &cbs, &e->c), 0);
}

/* Runs the loop (frames to the master delivered) until done(e) or ms pass. */
static void run_until(struct end *e, bool (*done)(const struct end *e), uint64_t ms)
{
    uv_update_time(&wh.worker_loop);
    uint64_t end = uv_now(&wh.worker_loop) + ms;
    while (!(done && done(e)) && uv_now(&wh.worker_loop) < end) {
        uv_run(&wh.worker_loop, UV_RUN_ONCE);
        wh_pump();
        uv_update_time(&wh.worker_loop);
    }
}

static bool both_open(const struct end *e)
{
    return (e[0].opened && e[1].opened) || e[0].failed || e[1].failed;
}

static bool as_got_it(const struct end *e)
{
    return e[1].messages > 0;
}

static struct worker *w;
static struct wsession *ws;
static uint64_t rx_dtls0;

/* DTLS records (application data once connected) both of the session's legs took. */
static uint64_t rx_dtls(void)
{
    return dcgw_leg_stats(ws->legs[0]->leg)->rx_dtls + dcgw_leg_stats(ws->legs[1]->leg)->rx_dtls;
}

static bool records_came(const struct end *e)
{
    (void)e;
    return rx_dtls() >= rx_dtls0 + 4;
}

/* A snapshot as a push builds it: the marks are read and cleared. */
static void snapshot(void)
{
    uint64_t *v = calloc(dcgw_metrics_slots(), sizeof(*v));
    dcgw__wmetrics_build(w, v);
    free(v);
    ck_assert(!dcgw__wmetrics_marked(ws));
}

START_TEST(heartbeats_leave_the_metrics_alone)
{
    char text[512];
    snprintf(text, sizeof(text),
             "workers = 1;\nlog: { level = \"error\"; };\n"
             "data_plane: { address = \"127.0.0.1\"; port = 0; kernel_filter = false; };\n"
             "sctp: { heartbeat_interval_ms = %d; };\n"
             "metrics: { push_interval_ms = 60000; };\n", /* no push clears a mark meanwhile */
             HB_MS);
    wh_start(text, true);
    w = dcgw__worker_of_inproc(wh.worker);
    ck_assert_ptr_nonnull(w->io);
    if (!w->metrics)
        dcgw__wmetrics_configure(w, true);
    ck_assert_ptr_nonnull(w->metrics);
    struct dcgw_cert *cert;
    struct dcgw_dtls_ctx *ctx;
    ck_assert_int_eq(dcgw_cert_new(NULL, &cert), 0);
    struct dcgw_dtls_ctx_settings cs = {.cert = cert};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &ctx), 0);
    dcgw_cert_unref(cert);
    struct end e[2];
    memset(e, 0, sizeof(e));
    client(ctx, 7001, &e[0]);
    client(ctx, 7002, &e[1]);

    /* both endpoints offer; dcgw answers each on its leg; they start with the answers */
    static char offer[2][DCGW_SDP_TEXT_MAX];
    for (int i = 0; i < 2; i++)
        ck_assert_int_gt(dcgw_client_offer(e[i].c, offer[i], sizeof(offer[i])), 0);
    json_t *legs = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]", "name", "ue", "dc",
                             "mode", "MODE_TERMINATE", "remote_sdp", offer[0], "name", "as", "dc",
                             "mode", "MODE_TERMINATE", "remote_sdp", offer[1]);
    json_t *sess = json_pack("{s:s, s:o, s:o}", "id", "hb", "legs", legs, "policy", wh_policy());
    const Dcgw__Response *r = wh_request(json_pack("{s:{s:o}}", "create_session", "session", sess));
    ck_assert_msg(r->result_case == DCGW__RESPONSE__RESULT_SESSION, "%s",
                  r->error ? r->error->message : "?");
    for (int i = 0; i < 2; i++) {
        const char *ans = r->session->legs[i]->dc->local_sdp;
        ck_assert_ptr_nonnull(ans);
        ck_assert_int_eq(dcgw_client_start(e[i].c, ans, strlen(ans)), 0);
    }
    run_until(e, both_open, 5000);
    ck_assert_msg(e[0].opened && e[1].opened, "channels not open (failed: %u %u)", e[0].failed,
                  e[1].failed);
    ws = g_hash_table_lookup(w->sessions, "hb");
    ck_assert_ptr_nonnull(ws);
    ck_assert(ws->legs[0]->leg && ws->legs[1]->leg);

    /* Idle: windows in which both legs took DTLS records. One in which the stack's
     * active_packets did not move carried heartbeats (and their answers) only: the session
     * stays unmarked. Windows with more (the set-up's last SACKs) are skipped. */
    unsigned hb_windows = 0, windows = 0;
    for (; windows < 10 && hb_windows < 2; windows++) {
        snapshot();
        uint64_t a0 = dcgw_sctp_stack_stats()->active_packets;
        rx_dtls0 = rx_dtls();
        run_until(e, records_came, 3000);
        ck_assert_uint_ge(rx_dtls(), rx_dtls0 + 4);
        if (dcgw_sctp_stack_stats()->active_packets != a0)
            continue;
        hb_windows++;
        ck_assert_msg(!dcgw__wmetrics_marked(ws),
                      "%llu DTLS records of heartbeats marked the session",
                      (unsigned long long)(rx_dtls() - rx_dtls0));
    }
    ck_assert_msg(hb_windows == 2, "%u windows of heartbeats only in %u", hb_windows, windows);
    ck_assert_uint_eq(e[0].messages + e[1].messages, 0);

    /* a message from ue, bridged to as: the record that carried it marks the session */
    snapshot();
    uint64_t a0 = dcgw_sctp_stack_stats()->active_packets;
    struct dcgw_dc *dc = dcgw_client_dc(e[0].c);
    static const uint8_t msg[] = "hello";
    ck_assert_int_eq(dcgw_dc_send(dc, dcgw_dc_channel_by_id(dc, 1), true, msg, 5), 0);
    run_until(e, as_got_it, 3000);
    ck_assert_uint_eq(e[1].messages, 1);
    ck_assert_uint_gt(dcgw_sctp_stack_stats()->active_packets, a0);
    ck_assert(dcgw__wmetrics_marked(ws));

    for (int i = 0; i < 2; i++)
        dcgw_client_free(e[i].c);
    wh_stop();
    dcgw_dtls_ctx_free(ctx);
}
END_TEST

int main(void)
{
    struct dcgw_log_settings ls;
    dcgw_log_settings_default(&ls);
    ls.level = DCGW_LOG_ERROR;
    dcgw_log_setup(&ls, "test");
    Suite *s = suite_create("worker_datapath");
    const TTest *tests[] = {heartbeats_leave_the_metrics_alone, NULL};
    tsuite_add(s, "metrics", 30, NULL, NULL, tests);
    return tsuite_run(s);
}
