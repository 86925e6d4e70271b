/* Metrics: the worker families and their value layout (msg/metrics.c), and the text
 * exposition the master writes from worker snapshots and its own state (control/metrics.c,
 * through its internal header). The HTTP side and real traffic: test_metrics.sh. */
#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/control/master_int.h"
#include "../../src/control/metrics_int.h"
#include "dcgw/base/error.h"
#include "dcgw/msg/metrics.h"
#include "helper_suite.h"

/* ---- the family table and the layout */

static bool token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

START_TEST(families_are_named_by_the_rules)
{
    static const char *const allowed[] = {"role",      "direction", "state", "kind",   "reason",
                                          "inspected", "type",      "mode",  "outcome"};
    for (unsigned f = 0; f < DCGW_WM_COUNT; f++) {
        const struct dcgw_metric_family *fam = dcgw_metrics_family(f);
        size_t n = strlen(fam->name);
        ck_assert_msg(strncmp(fam->name, "dcgw_", 5) == 0, "%s", fam->name);
        bool total = n > 6 && strcmp(fam->name + n - 6, "_total") == 0;
        ck_assert_msg(total == (fam->type == DCGW_METRIC_COUNTER), "%s", fam->name);
        ck_assert_msg(fam->help && *fam->help, "%s has no help", fam->name);
        for (unsigned k = 0; k < 2; k++) {
            if (fam->label[k] == DCGW_ML_NONE)
                continue;
            const char *ln = dcgw_metrics_label_name(fam->label[k]);
            bool ok = false;
            for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                ok |= strcmp(ln, allowed[i]) == 0;
            ck_assert_msg(ok, "%s: label %s", fam->name, ln);
            unsigned nv = dcgw_metrics_label_count(fam->label[k]);
            ck_assert_msg(nv >= 1 && nv <= 32, "%s: %u values", ln, nv);
            for (unsigned v = 0; v < nv; v++)
                ck_assert_msg(token(dcgw_metrics_label_value(fam->label[k], v)), "%s=%s", ln,
                              dcgw_metrics_label_value(fam->label[k], v));
        }
    }
    ck_assert_ptr_null(dcgw_metrics_family(DCGW_WM_COUNT));
}
END_TEST

START_TEST(slots_cover_the_array_once)
{
    size_t n = dcgw_metrics_slots(), sum = 0;
    ck_assert_uint_gt(n, 50);
    ck_assert_uint_lt(n, 1024); /* a snapshot stays small */
    unsigned char *seen = calloc(n, 1);
    for (unsigned f = 0; f < DCGW_WM_COUNT; f++) {
        const struct dcgw_metric_family *fam = dcgw_metrics_family(f);
        unsigned na = fam->label[0] ? dcgw_metrics_label_count(fam->label[0]) : 1;
        unsigned nb = fam->label[1] ? dcgw_metrics_label_count(fam->label[1]) : 1;
        ck_assert_uint_eq(dcgw_metrics_family_size(f), (size_t)na * nb);
        sum += (size_t)na * nb;
        for (unsigned a = 0; a < na; a++)
            for (unsigned b = 0; b < nb; b++) {
                size_t i = dcgw_metrics_slot(f, a, b);
                ck_assert_uint_lt(i, n);
                ck_assert_msg(!seen[i], "slot %zu twice", i);
                seen[i] = 1;
            }
        ck_assert_uint_eq(dcgw_metrics_slot(f, na, 0), SIZE_MAX);
        ck_assert_uint_eq(dcgw_metrics_slot(f, 0, nb), SIZE_MAX);
    }
    ck_assert_uint_eq(sum, n);
    ck_assert_uint_eq(dcgw_metrics_slot(DCGW_WM_COUNT, 0, 0), SIZE_MAX);
    free(seen);
}
END_TEST

START_TEST(labels_read_from_the_proto_enums)
{
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_ROLE), 2);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_ROLE, 0), "answer");
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_ROLE, 1), "offer");
    ck_assert_int_eq(dcgw_metrics_label_of_enum(DCGW_ML_ROLE, DCGW__LEG_ROLE__ROLE_OFFER), 1);
    int c = dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, DCGW__LEG_STATE__LEG_CONNECTED);
    ck_assert_int_ge(c, 0);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_LEG_STATE, (unsigned)c), "connected");
    c = dcgw_metrics_label_of_enum(DCGW_ML_POLICY_REASON, DCGW__POLICY_REASON__REASON_MESSAGE_RATE);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_POLICY_REASON, (unsigned)c), "message_rate");
    c = dcgw_metrics_label_of_enum(DCGW_ML_AVATAR_REASON, DCGW__AVATAR_REASON__AVATAR_EXPIRED);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_AVATAR_REASON, (unsigned)c), "expired");
    /* every value but *_UNSPECIFIED, which is never a label value */
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_AVATAR_REASON),
                      dcgw__avatar_reason__descriptor.n_values - 1);
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_SESSION_STATE),
                      dcgw__session_state__descriptor.n_values - 1);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_SESSION_STATE, 0), "pending");
    ck_assert_int_eq(dcgw_metrics_label_of_enum(DCGW_ML_SESSION_STATE, 0), -1);
    ck_assert_int_eq(dcgw_metrics_label_of_enum(DCGW_ML_LEG_STATE, 999), -1);
    ck_assert_int_eq(dcgw_metrics_label_of_enum(DCGW_ML_DIRECTION, 0), -1); /* not a proto one */
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_ROLE, 2), "");
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_COUNT, 0), "");
    /* audio and video (MediaKind) */
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_MEDIA_KIND), 2);
    c = dcgw_metrics_label_of_enum(DCGW_ML_MEDIA_KIND, DCGW__MEDIA_KIND__MEDIA_VIDEO);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_MEDIA_KIND, (unsigned)c), "video");
    ck_assert_str_eq(dcgw_metrics_label_name(DCGW_ML_MEDIA_KIND), "kind");
}
END_TEST

START_TEST(reasons_of_error_codes)
{
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EFINGERPRINT), DCGW_MREASON_FINGERPRINT);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EWEAKHASH), DCGW_MREASON_WEAK_HASH);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_ETIMEOUT), DCGW_MREASON_TIMEOUT);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EALERT(40)), DCGW_MREASON_ALERT);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EALERT(0)), DCGW_MREASON_ALERT);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EUNSUPPORTED), DCGW_MREASON_UNSUPPORTED);
    ck_assert_int_eq(dcgw_metrics_reason_of(DCGW_EINVAL), DCGW_MREASON_OTHER);
    ck_assert_int_eq(dcgw_metrics_reason_of(0), DCGW_MREASON_OTHER);
    ck_assert_int_eq(dcgw_metrics_reason_of(-5000), DCGW_MREASON_OTHER);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_DTLS_REASON, DCGW_MREASON_WEAK_HASH),
                     "weak_hash");
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_DTLS_REASON), DCGW_MREASON_COUNT);
    ck_assert_uint_eq(dcgw_metrics_label_count(DCGW_ML_DROP), DCGW_MDROP_COUNT);
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_DROP, DCGW_MDROP_MEDIA_AUTH), "media_auth");
    ck_assert_str_eq(dcgw_metrics_label_value(DCGW_ML_DROP, DCGW_MDROP_RELAY_MEDIA), "relay_media");
    for (unsigned i = 0; i < DCGW_MDROP_COUNT; i++) /* no hole in the list */
        ck_assert_str_ne(dcgw_metrics_label_value(DCGW_ML_DROP, i), "");
}
END_TEST

/* ---- the exposition the master writes (no listener: metrics.enabled = false) */

static struct master *master_new(void)
{
    struct master *m = calloc(1, sizeof(*m));
    m->loop = uv_default_loop();
    dcgw_config_default(&m->cfg);
    m->cfg.metrics.enabled = false;
    m->n_workers = 2;
    m->dir = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free);
    m->controllers = g_hash_table_new(g_int64_hash, g_int64_equal);
    ck_assert_int_eq(dcgw__metrics_start(m), 0);
    for (unsigned i = 0; i < 2; i++) {
        m->workers[i].m = m;
        m->workers[i].index = i;
        m->workers[i].pid = 100 + (int)i;
        m->workers[i].ready = true;
        m->workers[i].proc = (uv_process_t *)&m->workers[i]; /* "running"; never used */
    }
    return m;
}

static void master_free(struct master *m)
{
    dcgw__metrics_free(m);
    g_hash_table_destroy(m->dir);
    g_hash_table_destroy(m->controllers);
    free(m);
}

static char *render(struct master *m)
{
    char *out = NULL;
    size_t len = 0;
    ck_assert_int_eq(dcgw__metrics_render(m, &out, &len), 0);
    ck_assert_uint_eq(strlen(out), len);
    return out;
}

static void push(struct master *m, unsigned w, uint64_t *v, size_t n)
{
    Dcgw__WorkerMetrics wm = DCGW__WORKER_METRICS__INIT;
    wm.has_time_unix_ms = 1;
    wm.time_unix_ms = 1700000000123ull;
    wm.values = v;
    wm.n_values = n;
    dcgw__metrics_from_worker(m, &m->workers[w], &wm);
}

START_TEST(worker_values_are_written_with_their_labels)
{
    struct master *m = master_new();
    size_t n = dcgw_metrics_slots();
    uint64_t *v = calloc(n, sizeof(*v));
    v[dcgw_metrics_slot(DCGW_WM_CPU, 0, 0)] = 1500001; /* us */
    v[dcgw_metrics_slot(DCGW_WM_CPU, 1, 0)] = 7;
    v[dcgw_metrics_slot(DCGW_WM_DC_MESSAGES, 1, DCGW_METRIC_DIR_OUT)] = 42;
    v[dcgw_metrics_slot(DCGW_WM_DROPS, DCGW_MDROP_RELAY_RATE, 0)] = 9;
    v[dcgw_metrics_slot(DCGW_WM_RSS, 0, 0)] = 123456789;
    push(m, 0, v, n);
    char *t = render(m);
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_worker_cpu_seconds_total{worker=\"0\",mode=\"user\"} "
                                    "1.500001\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "\ndcgw_worker_cpu_seconds_total{worker=\"0\",mode=\"system\"} 0.000007\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "\ndcgw_dc_messages_total{worker=\"0\",role=\"offer\",direction=\"out\"} 42\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "\ndcgw_dc_messages_total{worker=\"0\",role=\"answer\",direction=\"in\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_drops_total{worker=\"0\",reason=\"relay_rate\"} 9\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "\ndcgw_worker_resident_memory_bytes{worker=\"0\"} 123456789\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "\ndcgw_worker_metrics_timestamp_seconds{worker=\"0\"} 1700000000.123\n"));
    ck_assert_ptr_nonnull(strstr(t, "# TYPE dcgw_drops_total counter\n"));
    ck_assert_ptr_nonnull(strstr(t, "# TYPE dcgw_legs gauge\n"));
    /* worker 1 pushed nothing: no samples of its own, but it is up */
    ck_assert_ptr_null(strstr(t, "dcgw_drops_total{worker=\"1\""));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_worker_up{worker=\"1\"} 1\n"));
    free(t);

    /* a snapshot of the wrong size is ignored; one of a process that is gone is not shown */
    push(m, 1, v, n - 1);
    m->workers[0].pid = 200; /* restarted, the new one has not pushed yet */
    t = render(m);
    ck_assert_ptr_null(strstr(t, "dcgw_drops_total{worker=\"1\""));
    ck_assert_ptr_null(strstr(t, "dcgw_drops_total{worker=\"0\""));
    free(t);
    free(v);
    master_free(m);
}
END_TEST

START_TEST(master_families)
{
    struct master *m = master_new();
    struct dir_entry *d = calloc(1, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "s1");
    d->worker = 1;
    d->state = DCGW__SESSION_STATE__SESSION_ACTIVE;
    g_hash_table_insert(m->dir, d->id, d);
    struct dir_entry *p = calloc(1, sizeof(*p)); /* still being placed: not counted */
    snprintf(p->id, sizeof(p->id), "s2");
    p->state = DCGW__SESSION_STATE__SESSION_PENDING;
    p->placing = true;
    g_hash_table_insert(m->dir, p->id, p);
    m->workers[1].restarts = 3;
    m->sessions_created = 5;
    m->workers[0].ready = false;
    char *t = render(m);
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_sessions{worker=\"1\",state=\"active\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_sessions{worker=\"0\",state=\"pending\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_worker_restarts_total{worker=\"1\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_worker_up{worker=\"0\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_sessions_created_total 5\n"));
    ck_assert_ptr_nonnull(strstr(t, "dcgw_build_info{version=\"" DCGW_VERSION "\"} 1\n"));
    ck_assert_ptr_null(strstr(t, "s1")); /* never a session id */
    free(t);
    master_free(m);
}
END_TEST

START_TEST(control_requests_and_their_latency)
{
    struct master *m = master_new();
    uint64_t now = uv_hrtime();
    dcgw__metrics_request(m, DCGW__REQUEST__OP_PING);
    dcgw__metrics_request(m, DCGW__REQUEST__OP_PING);
    dcgw__metrics_request(m, 9999); /* an operation this build does not know */
    dcgw__metrics_request_done(m, DCGW__REQUEST__OP_PING, now - 3000000);    /* 3 ms */
    dcgw__metrics_request_done(m, DCGW__REQUEST__OP_PING, now - 7000000000); /* 7 s */
    ck_assert_uint_eq(dcgw__metrics_requests_done(m), 2);
    char *t = render(m);
    const char *h = "dcgw_control_request_duration_seconds";
    char want[160];
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_control_requests_total{type=\"ping\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(t, "\ndcgw_control_requests_total{type=\"unknown\"} 1\n"));
    ck_assert_ptr_null(strstr(t, "type=\"version\"")); /* types not seen are left out */
    snprintf(want, sizeof(want), "\n%s_bucket{type=\"ping\",le=\"0.0025\"} 0\n", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    snprintf(want, sizeof(want), "\n%s_bucket{type=\"ping\",le=\"0.005\"} 1\n", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    snprintf(want, sizeof(want), "\n%s_bucket{type=\"ping\",le=\"5\"} 1\n", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    snprintf(want, sizeof(want), "\n%s_bucket{type=\"ping\",le=\"+Inf\"} 2\n", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    snprintf(want, sizeof(want), "\n%s_count{type=\"ping\"} 2\n", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    snprintf(want, sizeof(want), "\n%s_sum{type=\"ping\"} 7.003", h);
    ck_assert_ptr_nonnull(strstr(t, want));
    free(t);
    master_free(m);
}
END_TEST

START_TEST(reload_keeps_the_listener_settings)
{
    struct master *m = master_new();
    struct dcgw_config next = m->cfg;
    next.metrics.enabled = true;
    snprintf(next.metrics.listen, sizeof(next.metrics.listen), "127.0.0.1:1");
    next.metrics.push_interval_ms = 300;
    dcgw__metrics_reload(m, &next);
    ck_assert(!next.metrics.enabled);
    ck_assert_str_eq(next.metrics.listen, m->cfg.metrics.listen);
    ck_assert_uint_eq(next.metrics.push_interval_ms, 300); /* applies at once */
    master_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("families");
    tcase_add_test(tc, families_are_named_by_the_rules);
    tcase_add_test(tc, slots_cover_the_array_once);
    tcase_add_test(tc, labels_read_from_the_proto_enums);
    tcase_add_test(tc, reasons_of_error_codes);
    suite_add_tcase(s, tc);
    tc = tcase_create("exposition");
    tcase_add_test(tc, worker_values_are_written_with_their_labels);
    tcase_add_test(tc, master_families);
    tcase_add_test(tc, control_requests_and_their_latency);
    tcase_add_test(tc, reload_keeps_the_listener_settings);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
