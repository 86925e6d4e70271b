/* A worker's audio and video transports (src/worker/media.c, transports.c; docs/media.md),
 * in process: an in-process master and worker (helper_worker.h), frames through queues,
 * no socket. A session between Chromium without BUNDLE (a transport per m-line) and aiortc
 * (bundled): what dcgw answers each (credentials, a=setup and BUNDLE per transport), how get
 * shows the m-lines' transports, how many DTLS associations the worker made, the cap on
 * transports per leg, an unbundled leg facing a leg dcgw offers (and an answer to dcgw's
 * offer that declines BUNDLE), the leg's answer_setup, and a relay session that does not
 * carry them.
 * The transports' data path is the media stage's (test_media.c) and test_media.sh's case u.
 * Also the worker's metrics snapshot: the one a push builds, reading only the sessions
 * marked since (metrics.c), equals one built from scratch, step after step; and the legs'
 * deadlines more than a second away, kept in the worker's wheel of one-second slots
 * (datapath.c): rounded up to the second, and sessions closed through it on time, both
 * legs of each in one slot (the second leg dies while the slot's list is being run); a
 * deadline further than the wheel's 64 slots, filed in the last one, filed again when that
 * slot comes round, and fired in its own second (the test runs the wheel on a clock of its
 * own). */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dcgw.pb-c.h"
#include "dcgw/base/log.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/sdp/sdp_match.h"
#include "dcgw/stages/sctp.h"
#include "dcgw/worker/worker.h"
#include "dcgw/msg/metrics.h"
#include "helper_suite.h"
#include "helper_worker.h"
#include "../../src/worker/worker_int.h"

static void start(const char *extra)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "workers = 1;\nlog: { level = \"error\"; };\n"
             "data_plane: { address = \"192.0.2.10\"; port = 40000; };\n%s",
             extra);
    wh_start(text, false);
}

static char *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sdp/%s", DCGW_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[2][DCGW_SDP_MAX + 1];
    static int which;
    char *b = buf[which++ & 1];
    size_t n = fread(b, 1, DCGW_SDP_MAX, f);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Creates session id: leg ue (Chromium without BUNDLE) and leg as (aiortc), both offering;
 * ue_dc adds fields to ue's DcMedia. */
static const Dcgw__Session *create(const char *id, const char *mode, json_t *ue_dc)
{
    json_t *ue = json_pack("{s:s, s:s}", "mode", mode, "remote_sdp",
                           fixture("chromium-av-unbundled-offer.sdp"));
    if (ue_dc)
        json_object_update(ue, ue_dc);
    json_decref(ue_dc);
    json_t *as = json_pack("{s:s}", "mode", mode);
    json_t *as_leg = json_pack("{s:s, s:o}", "name", "as", "dc", as);
    if (strcmp(mode, "MODE_RELAY") == 0)
        json_object_set_new(as_leg, "role", json_string("ROLE_OFFER"));
    else
        json_object_set_new(as, "remote_sdp", json_string(fixture("aiortc-av-offer.sdp")));
    json_t *s = json_pack("{s:s, s:[{s:s, s:o}, o], s:o}", "id", id, "legs", "name", "ue", "dc", ue,
                          as_leg, "policy", wh_policy());
    const Dcgw__Response *r = wh_request(json_pack("{s:{s:o}}", "create_session", "session", s));
    ck_assert_msg(r->result_case == DCGW__RESPONSE__RESULT_SESSION, "%s",
                  r->error ? r->error->message : "?");
    return r->session;
}

static const Dcgw__Leg *leg(const Dcgw__Session *s, const char *name)
{
    for (size_t i = 0; i < s->n_legs; i++)
        if (strcmp(s->legs[i]->name, name) == 0)
            return s->legs[i];
    ck_abort_msg("no leg %s", name);
    return NULL;
}

static uint64_t counter(const char *name)
{
    const Dcgw__Response *r = wh_request(json_pack("{s:{}}", "get_stats"));
    ck_assert_int_eq(r->result_case, DCGW__RESPONSE__RESULT_STATS);
    for (size_t i = 0; i < r->stats->workers[0]->n_counters; i++)
        if (strcmp(r->stats->workers[0]->counters[i]->name, name) == 0)
            return r->stats->workers[0]->counters[i]->value;
    ck_abort_msg("no counter %s", name);
    return 0;
}

static struct dcgw_sdp answer;

static void parse_answer(const Dcgw__Leg *l)
{
    char err[256];
    const char *sdp = l->dc->local_sdp;
    ck_assert_ptr_nonnull(sdp);
    ck_assert_msg(dcgw_sdp_parse(sdp, strlen(sdp), &answer, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(unbundled_answered_with_a_transport_each)
{
    start("");
    uint64_t dtls0 = counter("dtls_objects_created");
    const Dcgw__Session *s = create("u", "MODE_TERMINATE", NULL);
    const Dcgw__Leg *ue = leg(s, "ue");
    parse_answer(ue);
    /* no BUNDLE (the offer had none); each m-line its own credentials; the media transports
     * passive (dcgw the DTLS server: it picks GCM), the data channel's active (no SRTP) */
    ck_assert_uint_eq(answer.n_bundle, 0);
    ck_assert_uint_eq(answer.n_rtp, 2);
    const char *u0 = answer.rtp[0].transport.ice_ufrag, *u1 = answer.rtp[1].transport.ice_ufrag;
    const char *udc = answer.dc.transport.ice_ufrag;
    ck_assert(strcmp(u0, u1) != 0 && strcmp(u0, udc) != 0 && strcmp(u1, udc) != 0);
    ck_assert_int_eq(answer.rtp[0].transport.setup, DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(answer.rtp[1].transport.setup, DCGW_SDP_SETUP_PASSIVE);
    ck_assert_int_eq(answer.dc.transport.setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert(answer.rtp[0].port && answer.rtp[1].port);
    /* the same fingerprint and address for all: one certificate, one socket */
    ck_assert_mem_eq(answer.rtp[1].transport.fingerprints[0].digest,
                     answer.dc.transport.fingerprints[0].digest, 32);
    /* aiortc bundled: one transport, passive (it carries media) */
    parse_answer(leg(s, "as"));
    ck_assert_uint_eq(answer.n_bundle, 3);
    ck_assert_str_eq(answer.rtp[1].transport.ice_ufrag, answer.dc.transport.ice_ufrag);
    ck_assert_int_eq(answer.dc.transport.setup, DCGW_SDP_SETUP_PASSIVE);
    /* get: the m-lines' transports */
    const Dcgw__Response *r = wh_request(json_pack("{s:{s:s}}", "get_session", "id", "u"));
    const Dcgw__MediaStatus *ms = leg(r->session, "ue")->media;
    ck_assert_uint_eq(ms->n_lines, 2);
    ck_assert(ms->lines[0]->accepted && ms->lines[0]->has_transport);
    ck_assert_uint_eq(ms->lines[0]->transport, 1);
    ck_assert_uint_eq(ms->lines[1]->transport, 2);
    ck_assert_ptr_null(ms->lines[1]->peer_addr); /* nothing connected in process */
    ck_assert_uint_eq(leg(r->session, "as")->media->lines[1]->transport, 0);
    /* a DTLS association per transport: ue's three, aiortc's one */
    ck_assert_uint_eq(counter("dtls_objects_created") - dtls0, 4);
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "u"));
    wh_stop();
}
END_TEST

START_TEST(transports_past_the_cap)
{
    start("media: { max_transports_per_leg = 2; };\n");
    uint64_t dtls0 = counter("dtls_objects_created");
    const Dcgw__Session *s = create("c", "MODE_TERMINATE", NULL);
    parse_answer(leg(s, "ue"));
    /* the data channel's and audio's: video would be the third */
    ck_assert(answer.rtp[0].port != 0);
    ck_assert_uint_eq(answer.rtp[1].port, 0);
    const char *ans = leg(s, "ue")->dc->local_sdp;
    ck_assert_ptr_nonnull(strstr(ans, "i=not bundled, and past media.max_transports_per_leg (2)"));
    /* aiortc's video has nothing to pair with */
    ck_assert_ptr_nonnull(strstr(leg(s, "as")->dc->local_sdp, "m=video 0 "));
    ck_assert_uint_eq(counter("dtls_objects_created") - dtls0, 3);
    const Dcgw__Response *r = wh_request(json_pack("{s:{s:s}}", "get_session", "id", "c"));
    const Dcgw__MediaLine *v = leg(r->session, "ue")->media->lines[1];
    ck_assert(!v->accepted);
    ck_assert_str_eq(v->reason, "not bundled, and past media.max_transports_per_leg (2)");
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "c"));
    wh_stop();
}
END_TEST

/* An answer to dcgw's offer on leg `as`, as an ICE-lite peer would write it: every m-line
 * dcgw offered accepted; unbundled: each m-line its own credentials and no BUNDLE group. */
static char *answer_to(const char *offer_text, bool unbundled)
{
    static struct dcgw_sdp offer;
    char err[256];
    ck_assert_msg(dcgw_sdp_parse(offer_text, strlen(offer_text), &offer, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(offer.n_bundle, 3); /* dcgw offers one transport */
    static struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    const bool all[2] = {true, true};
    dcgw_sdp_answer_alone(&offer, all, av);
    static const char *const uf[] = {"peerA1", "peerV2"};
    for (size_t i = 0; unbundled && i < offer.n_rtp; i++) {
        av[i].ice_ufrag = uf[i & 1];
        av[i].ice_pwd = "peerpeerpeerpeerpeerpe";
        av[i].setup = DCGW_SDP_SETUP_ACTIVE;
    }
    struct dcgw_sdp_local l;
    dcgw_sdp_local_init(&l);
    strcpy(l.ice_ufrag, "peer");
    strcpy(l.ice_pwd, "peerpeerpeerpeerpeerpe");
    struct sockaddr_in *a = (struct sockaddr_in *)&l.addrs[0];
    a->sin_family = AF_INET;
    a->sin_port = htons(5000);
    a->sin_addr.s_addr = htonl(0xc0000202);
    l.n_addrs = 1;
    l.n_fingerprints = 1;
    l.fingerprints[0].alg = DCGW_HASH_SHA256;
    l.fingerprints[0].len = 32;
    l.setup = DCGW_SDP_SETUP_ACTIVE;
    l.av = av;
    l.n_av = offer.n_rtp;
    static char text[DCGW_SDP_TEXT_MAX + 1];
    int n = dcgw_sdp_write_answer(&offer, &l, text, sizeof(text));
    ck_assert_int_gt(n, 0);
    char *g = strstr(text, "a=group:BUNDLE");
    if (unbundled && g) { /* the answerer declines BUNDLE (RFC 8843 §7.3.3) */
        char *eol = strstr(g, "\r\n") + 2;
        memmove(g, eol, strlen(eol) + 1);
    }
    return text;
}

/* Leg ue unbundled and answered by dcgw, leg as offered by dcgw (ROLE_OFFER): ue's answer
 * comes at once with a transport per m-line; dcgw offers as one bundled transport; as's
 * answer pairs the m-lines (ue's on transports 1 and 2, as's on 0). An answer that declines
 * dcgw's BUNDLE gets its audio and video rejected, the data channel kept. */
START_TEST(unbundled_facing_an_offered_leg)
{
    start("");
    for (int declined = 0; declined < 2; declined++) {
        const char *id = declined ? "d" : "o";
        json_t *ue = json_pack("{s:s, s:s}", "mode", "MODE_TERMINATE", "remote_sdp",
                               fixture("chromium-av-unbundled-offer.sdp"));
        json_t *sess = json_pack("{s:s, s:[{s:s, s:o}, {s:s, s:s, s:{s:s}}], s:o}", "id", id,
                                 "legs", "name", "ue", "dc", ue, "name", "as", "role", "ROLE_OFFER",
                                 "dc", "mode", "MODE_TERMINATE", "policy", wh_policy());
        const Dcgw__Response *r =
            wh_request(json_pack("{s:{s:o}}", "create_session", "session", sess));
        ck_assert_msg(r->result_case == DCGW__RESPONSE__RESULT_SESSION, "%s",
                      r->error ? r->error->message : "?");
        parse_answer(leg(r->session, "ue"));
        ck_assert_uint_eq(answer.n_bundle, 0);
        ck_assert(answer.rtp[0].port && answer.rtp[1].port);
        ck_assert_str_ne(answer.rtp[0].transport.ice_ufrag, answer.dc.transport.ice_ufrag);
        ck_assert_str_ne(answer.rtp[1].transport.ice_ufrag, answer.rtp[0].transport.ice_ufrag);
        const char *ans = answer_to(leg(r->session, "as")->dc->local_sdp, declined);
        r = wh_request(json_pack("{s:{s:s, s:s, s:s}}", "update_session", "id", id, "leg", "as",
                                 "remote_sdp", ans));
        ck_assert_msg(r->error == NULL, "%s", r->error ? r->error->message : "");
        r = wh_request(json_pack("{s:{s:s}}", "get_session", "id", id));
        const Dcgw__MediaStatus *mu = leg(r->session, "ue")->media;
        const Dcgw__MediaStatus *ma = leg(r->session, "as")->media;
        ck_assert_ptr_nonnull(mu);
        ck_assert_ptr_nonnull(ma);
        ck_assert_uint_eq(ma->n_lines, 2);
        for (size_t i = 0; i < 2; i++) {
            if (declined) {
                ck_assert(!ma->lines[i]->accepted);
                ck_assert_str_eq(ma->lines[i]->reason,
                                 "not bundled in the answer to dcgw's one transport");
                continue;
            }
            ck_assert(ma->lines[i]->accepted);
            ck_assert_uint_eq(ma->lines[i]->transport, 0);
            ck_assert(mu->lines[i]->accepted && mu->lines[i]->has_transport);
            ck_assert_uint_eq(mu->lines[i]->transport, i + 1);
        }
        wh_request(json_pack("{s:{s:s}}", "close_session", "id", id));
    }
    wh_stop();
}
END_TEST

START_TEST(leg_answer_setup_and_relay)
{
    start("");
    /* the leg says active: every transport answers active */
    const Dcgw__Session *s =
        create("a", "MODE_TERMINATE", json_pack("{s:s}", "answer_setup", "SETUP_ACTIVE"));
    parse_answer(leg(s, "ue"));
    ck_assert_int_eq(answer.rtp[0].transport.setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(answer.rtp[1].transport.setup, DCGW_SDP_SETUP_ACTIVE);
    ck_assert_int_eq(answer.dc.transport.setup, DCGW_SDP_SETUP_ACTIVE);
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "a"));
    /* a relay session forwards one transport per leg: the offer to aiortc carries none of
     * the unbundled m-lines */
    s = create("r", "MODE_RELAY", NULL);
    const char *off = leg(s, "as")->dc->local_sdp;
    ck_assert_ptr_nonnull(off);
    ck_assert_ptr_null(strstr(off, "m=audio"));
    ck_assert_ptr_null(strstr(off, "m=video"));
    ck_assert_ptr_nonnull(strstr(off, "m=application"));
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "r"));
    wh_stop();
}
END_TEST

/* ---- the metrics snapshot */

static const char *family_of(size_t slot)
{
    for (unsigned f = 0; f < DCGW_WM_COUNT; f++) {
        size_t first = dcgw_metrics_slot(f, 0, 0);
        if (slot >= first && slot < first + dcgw_metrics_family_size(f))
            return dcgw_metrics_family(f)->name;
    }
    return "?";
}

/* A push's snapshot (the sessions marked since the last one read again) against one built
 * from scratch over the live sessions: equal in every slot. Returns the legs gauge's sum
 * of legs in leg state `state` (-1: any). */
static uint64_t snapshots_agree(const char *step, int state)
{
    struct worker *w = dcgw__worker_of_inproc(wh.worker);
    size_t n = dcgw_metrics_slots();
    uint64_t *inc = calloc(n, sizeof(*inc)), *full = calloc(n, sizeof(*full));
    dcgw__wmetrics_build(w, inc);
    dcgw__wmetrics_rebuild(w, full);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(inc[i] == full[i], "%s: slot %zu (%s): incremental %llu, from scratch %llu",
                      step, i, family_of(i), (unsigned long long)inc[i],
                      (unsigned long long)full[i]);
    uint64_t legs = 0;
    for (unsigned role = 0; role < 2; role++)
        for (unsigned st = 0; st < dcgw_metrics_label_count(DCGW_ML_LEG_STATE); st++)
            if (state < 0 || st == (unsigned)state)
                legs += full[dcgw_metrics_slot(DCGW_WM_LEGS, role, st)];
    free(inc);
    free(full);
    return legs;
}

START_TEST(metrics_incremental_equals_a_full_build)
{
    start("sessions: { setup_timeout_ms = 1000; down_timeout_ms = 60000; };\n");
    struct worker *w = dcgw__worker_of_inproc(wh.worker);
    if (!w->metrics)
        dcgw__wmetrics_configure(w, true);
    ck_assert_ptr_nonnull(w->metrics);
    int failed = dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, DCGW__LEG_STATE__LEG_FAILED);
    int closed = dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, DCGW__LEG_STATE__LEG_CLOSED);
    int fresh_state = dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, DCGW__LEG_STATE__LEG_NEW);
    ck_assert_uint_eq(snapshots_agree("empty", -1), 0);
    create("a", "MODE_TERMINATE", NULL);
    ck_assert_uint_eq(snapshots_agree("a created", -1), 2);
    create("b", "MODE_TERMINATE", NULL);
    create("r", "MODE_RELAY", NULL);
    ck_assert_uint_eq(snapshots_agree("b and r created", -1), 6);
    ck_assert_uint_eq(snapshots_agree("nothing moved", -1), 6);
    /* o: leg as offered by dcgw, new until its answer comes */
    json_t *ue = json_pack("{s:s, s:s}", "mode", "MODE_TERMINATE", "remote_sdp",
                           fixture("chromium-av-unbundled-offer.sdp"));
    json_t *sess = json_pack("{s:s, s:[{s:s, s:o}, {s:s, s:s, s:{s:s}}], s:o}", "id", "o", "legs",
                             "name", "ue", "dc", ue, "name", "as", "role", "ROLE_OFFER", "dc",
                             "mode", "MODE_TERMINATE", "policy", wh_policy());
    const Dcgw__Response *r = wh_request(json_pack("{s:{s:o}}", "create_session", "session", sess));
    ck_assert_int_eq(r->result_case, DCGW__RESPONSE__RESULT_SESSION);
    const char *ans = answer_to(leg(r->session, "as")->dc->local_sdp, false);
    uint64_t fresh = snapshots_agree("o created", fresh_state);
    /* the controller's operations: the answer (as starts), a new policy, a channel closed
     * that is not open */
    r = wh_request(json_pack("{s:{s:s, s:s, s:s}}", "update_session", "id", "o", "leg", "as",
                             "remote_sdp", ans));
    ck_assert_ptr_null(r->error);
    ck_assert_uint_eq(snapshots_agree("o's answer", fresh_state), fresh - 1);
    json_t *u = json_pack("{s:s, s:o}", "id", "a", "policy", wh_policy());
    wh_request(json_pack("{s:o}", "update_session", u));
    snapshots_agree("a's policy updated", -1);
    wh_request(
        json_pack("{s:{s:s, s:s, s:i}}", "close_channel", "id", "b", "leg", "ue", "stream_id", 1));
    snapshots_agree("a channel of b closed", -1);
    /* nothing connects in process: the setup timers (1 s) fail the terminated sessions'
     * legs (leg timers, events); the relay session's wait longer */
    uint64_t down = 0;
    for (int i = 0; i < 20 && down < 6; i++) {
        uv_run(&wh.worker_loop, UV_RUN_ONCE);
        wh_pump();
        uint64_t *v = calloc(dcgw_metrics_slots(), sizeof(*v));
        dcgw__wmetrics_rebuild(w, v);
        down = 0;
        for (unsigned role = 0; role < 2; role++)
            down += v[dcgw_metrics_slot(DCGW_WM_LEGS, role, (unsigned)failed)] +
                    v[dcgw_metrics_slot(DCGW_WM_LEGS, role, (unsigned)closed)];
        free(v);
        if (down && down < 6)
            snapshots_agree("some legs down", -1);
    }
    ck_assert_uint_eq(down, 6);
    ck_assert_uint_eq(snapshots_agree("legs failed", failed) + snapshots_agree("", closed), 6);
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "b"));
    ck_assert_uint_eq(snapshots_agree("b closed", -1), 6);
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "a"));
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "o"));
    wh_request(json_pack("{s:{s:s}}", "close_session", "id", "r"));
    ck_assert_uint_eq(snapshots_agree("all closed", -1), 0);
    wh_stop();
}
END_TEST

/* Sessions that close themselves the moment a leg fails (sessions.down_timeout_ms = 0),
 * inside the leg timer that failed it: nothing of theirs stays in the sum, and nothing
 * reads them once they are gone. */
START_TEST(metrics_of_sessions_that_close_themselves)
{
    start("sessions: { setup_timeout_ms = 1000; down_timeout_ms = 0; };\n");
    struct worker *w = dcgw__worker_of_inproc(wh.worker);
    if (!w->metrics)
        dcgw__wmetrics_configure(w, true);
    ck_assert_uint_eq(snapshots_agree("empty", -1), 0);
    create("a", "MODE_TERMINATE", NULL);
    create("b", "MODE_TERMINATE", NULL);
    ck_assert_uint_eq(snapshots_agree("a and b created", -1), 4);
    for (int i = 0; i < 20 && g_hash_table_size(w->sessions); i++) {
        uv_run(&wh.worker_loop, UV_RUN_ONCE);
        wh_pump();
    }
    ck_assert_uint_eq(g_hash_table_size(w->sessions), 0);
    ck_assert_uint_eq(snapshots_agree("a and b closed themselves", -1), 0);
    ck_assert_uint_eq(snapshots_agree("and after", -1), 0);
    wh_stop();
}
END_TEST

START_TEST(deadlines_rounded_up_to_the_second)
{
    uint64_t now = 123456;
    ck_assert_uint_eq(dcgw__wplane_timer_due(UINT64_MAX, now), UINT64_MAX);
    ck_assert_uint_eq(dcgw__wplane_timer_due(now, now), now);               /* due now */
    ck_assert_uint_eq(dcgw__wplane_timer_due(now + 1000, now), now + 1000); /* a second: kept */
    ck_assert_uint_eq(dcgw__wplane_timer_due(now + 1001, now), 125000);     /* further: rounded */
    ck_assert_uint_eq(dcgw__wplane_timer_due(126000, now), 126000);         /* already whole */
    ck_assert_uint_eq(dcgw__wplane_timer_due(126001, now), 127000);
}
END_TEST

/* Whether every leg of every session waits in the wheel (no libuv timer running). */
static bool legs_in_wheel(struct worker *w)
{
    GHashTableIter it;
    gpointer k, v;
    unsigned legs = 0;
    g_hash_table_iter_init(&it, w->sessions);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        struct wsession *ws = v;
        for (unsigned i = 0; i < ws->n_legs; i++, legs++)
            if (!ws->legs[i]->wprev || uv_is_active((uv_handle_t *)&ws->legs[i]->timer))
                return false;
    }
    return legs > 0;
}

START_TEST(sessions_closed_on_time_through_the_wheel)
{
    /* 2.5 s: more than a second away, so each leg waits in the wheel until the slot of
     * its second (3 s or less after now, rounded up) is run */
    start("sessions: { setup_timeout_ms = 2500; down_timeout_ms = 0; };\n");
    struct worker *w = dcgw__worker_of_inproc(wh.worker);
    uv_update_time(&wh.worker_loop);
    uint64_t t0 = uv_now(&wh.worker_loop);
    static const char *ids[] = {"w1", "w2", "w3", "w4", "w5"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        create(ids[i], "MODE_TERMINATE", NULL);
    ck_assert_uint_eq(g_hash_table_size(w->sessions), 5);
    ck_assert(legs_in_wheel(w));
    uint64_t first_close = 0, elapsed = 0;
    for (int i = 0; i < 100 && g_hash_table_size(w->sessions) && elapsed < 6000; i++) {
        uv_run(&wh.worker_loop, UV_RUN_ONCE);
        wh_pump();
        uv_update_time(&wh.worker_loop);
        elapsed = uv_now(&wh.worker_loop) - t0;
        if (!first_close && g_hash_table_size(w->sessions) < 5)
            first_close = elapsed;
    }
    ck_assert_uint_eq(g_hash_table_size(w->sessions), 0);
    ck_assert_msg(first_close >= 2500, "a session closed %llu ms after its creation",
                  (unsigned long long)first_close);
    ck_assert_msg(elapsed <= 4500, "the last closed %llu ms after", (unsigned long long)elapsed);
    ck_assert_uint_eq(w->stats.sessions_closed, 5);
    wh_stop();
}
END_TEST

/* The slot of the wheel l waits in (-1: none). */
static int slot_of(const struct worker *w, const struct wleg *l)
{
    for (int i = 0; i < WLEG_WHEEL_SLOTS; i++)
        for (const struct wleg *x = w->wheel[i]; x; x = x->wnext)
            if (x == l)
                return i;
    return -1;
}

START_TEST(deadline_beyond_the_wheel_refiled_then_on_time)
{
    /* 100 s: further than the wheel's 64 slots hold apart. The wheel's timer is stopped and
     * the test runs the wheel itself, second after second, with a clock of its own (the
     * loop's time plus what the test says passed): 100 s in a few milliseconds. */
    start("sessions: { setup_timeout_ms = 100000; down_timeout_ms = 0; };\n");
    struct worker *w = dcgw__worker_of_inproc(wh.worker);
    uv_timer_stop(&w->wheel_timer);
    uv_update_time(&wh.worker_loop);
    uint64_t t0 = uv_now(&wh.worker_loop);
    create("far", "MODE_TERMINATE", NULL);
    ck_assert(legs_in_wheel(w));
    struct wsession *s = g_hash_table_lookup(w->sessions, "far");
    ck_assert_ptr_nonnull(s);
    /* the set-up deadline, rounded up to its second: the same for both legs */
    uint64_t due = s->legs[0]->timer_due, sec0 = uv_now(&wh.worker_loop) / 1000;
    ck_assert_uint_eq(due % 1000, 0);
    ck_assert_uint_ge(due, t0 + 100000);
    ck_assert_uint_lt(due, uv_now(&wh.worker_loop) + 100000 + 1000);
    ck_assert_uint_eq(s->legs[1]->timer_due, due);
    /* filed in the slot of the wheel's last second ahead of when it was armed (t0's second,
     * or a later one), not in the slot of its own second */
    int first = slot_of(w, s->legs[0]);
    ck_assert_int_eq(slot_of(w, s->legs[1]), first);
    bool last_ahead = false;
    for (uint64_t armed = t0 / 1000; armed <= sec0; armed++)
        last_ahead |= first == (int)((armed + WLEG_WHEEL_SLOTS - 1) % WLEG_WHEEL_SLOTS);
    ck_assert_msg(last_ahead, "filed in slot %d", first);
    ck_assert_int_ne(first, (int)(due / 1000 % WLEG_WHEEL_SLOTS));
    unsigned refiled = 0;
    uint64_t closed_at = 0;
    for (uint64_t sec = sec0 + 1; sec <= due / 1000 + 2 && !closed_at; sec++) {
        dcgw__wplane_wheel_run(w, sec * 1000);
        uv_run(&wh.worker_loop, UV_RUN_NOWAIT); /* the turn ends: what died in it is freed */
        wh_pump();
        if (!g_hash_table_lookup(w->sessions, "far")) {
            closed_at = sec * 1000;
            break;
        }
        /* not due yet: both legs still wait in the wheel, the slot of this second run */
        ck_assert_msg(s->legs[0]->timer_due == due && s->legs[1]->timer_due == due,
                      "a leg fired at %llu s, %llu s before its deadline",
                      (unsigned long long)(sec - sec0),
                      (unsigned long long)((due - sec * 1000) / 1000));
        ck_assert(legs_in_wheel(w));
        int slot = slot_of(w, s->legs[0]);
        ck_assert_int_ne(slot, (int)(sec % WLEG_WHEEL_SLOTS));
        if (sec % WLEG_WHEEL_SLOTS == (uint64_t)first) {
            /* its slot came round: filed again, now in the slot of its own second (a leg
             * that fired early would be armed anew, in the last slot ahead again) */
            ck_assert_msg(slot == (int)(due / 1000 % WLEG_WHEEL_SLOTS),
                          "back in slot %d, not in %d: fired %llu s early?", slot,
                          (int)(due / 1000 % WLEG_WHEEL_SLOTS),
                          (unsigned long long)((due - sec * 1000) / 1000));
            refiled++;
        }
    }
    ck_assert_uint_eq(refiled, 1);
    ck_assert_msg(closed_at == due, "closed at %llu ms, due at %llu ms",
                  (unsigned long long)closed_at, (unsigned long long)due);
    ck_assert_uint_eq(w->stats.sessions_closed, 1);
    wh_stop();
}
END_TEST

int main(void)
{
    struct dcgw_log_settings ls;
    dcgw_log_settings_default(&ls);
    ls.level = DCGW_LOG_ERROR;
    dcgw_log_setup(&ls, "test");
    dcgw_sctp_stack_init(NULL);
    Suite *s = suite_create("worker_media");
    const TTest *tests[] = {unbundled_answered_with_a_transport_each, transports_past_the_cap,
                            unbundled_facing_an_offered_leg, leg_answer_setup_and_relay, NULL};
    tsuite_add(s, "transports", 60, NULL, NULL, tests);
    const TTest *mtests[] = {metrics_incremental_equals_a_full_build,
                             metrics_of_sessions_that_close_themselves, NULL};
    tsuite_add(s, "metrics", 60, NULL, NULL, mtests);
    const TTest *dtests[] = {deadlines_rounded_up_to_the_second,
                             sessions_closed_on_time_through_the_wheel,
                             deadline_beyond_the_wheel_refiled_then_on_time, NULL};
    tsuite_add(s, "deadlines", 60, NULL, NULL, dtests);
    return tsuite_run(s);
}
