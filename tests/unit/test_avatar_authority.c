/* The avatar verifier's settings and grants, the controller replacing grants, anchors and
 * audience mid-session (UpdateSession.avatar), and the transfer deadline on an injected
 * monotonic clock (fixtures: helper_avatar.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/guard/avatar.h"
#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "helper_avatar.h"
#include "helper_keys.h"
#include "helper_suite.h"

/* ---- settings and grants */

START_TEST(settings_and_grants)
{
    struct dcgw_avatar_settings s;
    struct dcgw_avatar *v;
    dcgw_avatar_settings_default(&s);
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL); /* no trust, no grants */
    s.trust = av_trust;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.grants = av_grants;
    s.max_chunks = DCGW_AVATAR_CHUNKS_CEILING + 1;
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.max_chunks = 2;
    s.leg = "a-leg-name-that-is-far-too-long-to-keep";
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), DCGW_EINVAL);
    s.leg = "as";
    ck_assert_int_eq(dcgw_avatar_new(&s, &v), 0);
    /* the chunk-count limit */
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *m = av_make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    ck_assert_int_eq(av_put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TOO_LARGE);
    ck_assert_uint_eq(res.chunks, 3);
    free(m);
    free(data);
    dcgw_avatar_free(v);
    dcgw_avatar_free(NULL);

    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "", "x", NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", "", NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, NULL, "x", NULL), DCGW_EINVAL);
    char longid[DCGW_AVATAR_ID_MAX + 2];
    memset(longid, 'i', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", longid, NULL), DCGW_EINVAL);
    for (int i = 0; i < DCGW_AVATAR_GRANTS_MAX; i++) {
        char id[16];
        snprintf(id, sizeof(id), "id-%d", i);
        ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", id, i % 2 ? "ue" : ""), 0);
    }
    ck_assert_int_eq(dcgw_avatar_grants_add(g, "o", "one-more", NULL), DCGW_ELIMIT);
    ck_assert_uint_eq(dcgw_avatar_grants_count(g), DCGW_AVATAR_GRANTS_MAX);
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-7", "ue"));
    ck_assert(!dcgw_avatar_grants_allow(g, "o", "id-7", "as"));
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-7", NULL));
    ck_assert(dcgw_avatar_grants_allow(g, "o", "id-8", "as"));
    ck_assert(!dcgw_avatar_grants_allow(g, "p", "id-8", NULL));
    ck_assert(!dcgw_avatar_grants_allow(g, "o", "id-4096", NULL));
    dcgw_avatar_grants_free(g);
    ck_assert_str_eq(dcgw_avatar_reason_name(DCGW_AVATAR_DIGEST_MISMATCH), "digest mismatch");
    ck_assert_str_eq(dcgw_avatar_reason_name((enum dcgw_avatar_reason)99), "?");
}
END_TEST

/* ---- the controller replaces grants, anchors and audience (UpdateSession.avatar) */

START_TEST(authority_replaced_for_later_manifests)
{
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    o.avatar_id = "avatar-5";
    struct dcgw_avatar_result res;
    /* avatar-5 is not granted: refused */
    struct dcgw_avatar *v = av_verifier("as", "dcgw");
    ck_assert_int_eq(av_transfer(v, &o, data, 2500, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* a verifier that lives through the update: granted now, the old grants gone */
    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, OWNER, "avatar-5", NULL), 0);
    v = av_verifier("as", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, g, "dcgw"), 0);
    ck_assert_int_eq(av_transfer(v, &o, data, 2500, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.avatar_id, "avatar-5");
    o.avatar_id = "avatar-1";
    ck_assert_int_eq(av_transfer(v, &o, data, 2500, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* bad arguments change nothing */
    v = av_verifier("as", "dcgw");
    char aud[DCGW_AVATAR_IDENTITY_MAX + 2];
    memset(aud, 'a', sizeof(aud) - 1);
    aud[sizeof(aud) - 1] = '\0';
    ck_assert_int_eq(dcgw_avatar_set_authority(v, NULL, g, NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, NULL, NULL), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, g, aud), DCGW_EINVAL);
    ck_assert_int_eq(av_transfer(v, &o, data, 2500, &res), 0); /* avatar-1: still the fixture's */
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    dcgw_avatar_free(v);
    dcgw_avatar_grants_free(g);
    free(data);
}
END_TEST

START_TEST(transfer_in_progress_keeps_its_grant)
{
    uint8_t *data = av_pattern(3500);
    struct av_mopts o;
    av_mopts_default(&o);
    struct dcgw_avatar_grants *old, *none;
    ck_assert_int_eq(dcgw_avatar_grants_new(&old), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(old, OWNER, "avatar-1", NULL), 0);
    ck_assert_int_eq(dcgw_avatar_grants_new(&none), 0);
    struct dcgw_avatar *v = av_verifier_with("as", old);
    char *m = av_make_manifest(&o, data, 3500);
    struct dcgw_avatar_result res;
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 3500, 1000, 0, &res), 0);
    /* every grant revoked and an empty trust store mid-transfer; the old grants freed at
     * once (the verifier must not borrow them any more) */
    struct dcgw_trust *empty;
    ck_assert_int_eq(dcgw_trust_new(&empty), 0);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, empty, none, NULL), 0);
    dcgw_trust_unref(empty); /* the verifier holds its own reference */
    dcgw_avatar_grants_free(old);
    for (size_t k = 1; k < 4; k++)
        ck_assert_int_eq(av_put_chunk(v, data, 3500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    /* the next manifest meets the new set: the signer is no longer trusted */
    ck_assert_int_eq(av_put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNTRUSTED_SIGNER);
    dcgw_avatar_free(v);
    /* grants revoked, trust kept: not authorized */
    v = av_verifier("as", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, none, "dcgw"), 0);
    ck_assert_int_eq(av_put_text(v, m, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    dcgw_avatar_grants_free(none);
    free(m);
    free(data);
}
END_TEST

START_TEST(request_tokens_meet_the_new_grants)
{
    X509 *ue = keys_load_cert(AV, "ue");
    struct dcgw_avatar_grants *g;
    ck_assert_int_eq(dcgw_avatar_grants_new(&g), 0);
    ck_assert_int_eq(dcgw_avatar_grants_add(g, OWNER, "avatar-5", "ue"), 0);
    char *t5 = av_token("ue", "avatar-5", OWNER, "dcgw", NOW + 300);
    char *t1 = av_token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    struct dcgw_avatar_result res;
    struct dcgw_avatar *v = av_verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t1, strlen(t1), NOW, ue, &res), 0);
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, g, "dcgw"), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t5, strlen(t5), NOW, ue, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REQUEST);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t1, strlen(t1), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_free(v);
    /* the audience is replaced too */
    v = av_verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_set_authority(v, av_trust, g, "another-mf"), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t5, strlen(t5), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    ck_assert(strstr(res.detail, "another-mf") != NULL);
    dcgw_avatar_free(v);
    free(t1);
    free(t5);
    dcgw_avatar_grants_free(g);
    X509_free(ue);
}
END_TEST

/* ---- transfer deadline (transfer_timeout_ms), with an injected monotonic clock */

START_TEST(transfer_deadline)
{
    uint8_t *data = av_pattern(3500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *m = av_make_manifest(&o, data, 3500);
    struct dcgw_avatar_settings set;
    dcgw_avatar_settings_default(&set);
    ck_assert_uint_eq(set.transfer_timeout_ms, DCGW_AVATAR_TRANSFER_TIMEOUT_DEFAULT_MS);
    set.trust = av_trust;
    set.grants = av_grants;
    set.leg = "as";
    set.transfer_timeout_ms = 5000;
    struct dcgw_avatar *v;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    struct dcgw_avatar_result res;
    const uint64_t t0 = 1000000;
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), t0 + 5000);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data, 1000, NOW, t0 + 100, NULL, &res), 0);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 4999, &res), 0); /* not yet */
    ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
    ck_assert(dcgw_avatar_in_transfer(v));
    /* the sender stops: at the deadline the transfer fails, with its identity */
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 5000, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REJECTED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TIMEOUT);
    ck_assert_str_eq(dcgw_avatar_reason_name(res.reason), "timeout");
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 4);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert(strstr(res.detail, "1 of 4 chunks") != NULL);
    ck_assert(dcgw_avatar_rejected(v));
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t0 + 9000, &res), 0); /* reported once */
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data + 1000, 1000, NOW, t0 + 9000, NULL, &res),
                     DCGW_ECLOSED);
    dcgw_avatar_free(v);

    /* a chunk that comes after the deadline, before the timer fired: refused as late */
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, false, data, 1000, NOW, t0 + 5000, NULL, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_TIMEOUT);
    ck_assert_uint_eq(res.chunk, 0);
    dcgw_avatar_free(v);

    /* in time: the deadline goes with the transfer, the next one gets its own */
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    for (int round = 0; round < 2; round++) {
        uint64_t t = t0 + (uint64_t)round * 20000;
        ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t, NULL, &res),
                         0);
        ck_assert_uint_eq(dcgw_avatar_next_timeout(v), t + 5000);
        for (size_t k = 0; k < 4; k++) {
            size_t len = k < 3 ? 1000 : 500;
            ck_assert_int_eq(
                dcgw_avatar_input_ms(v, false, data + k * 1000, len, NOW, t + 4999, NULL, &res), 0);
        }
        ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
        ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
        ck_assert_int_eq(dcgw_avatar_handle_timeout(v, t + 99999, &res), 0);
    }
    ck_assert_uint_eq(dcgw_avatar_stats(v)->transfers, 2);
    dcgw_avatar_free(v);

    /* 0: no limit; without a monotonic clock (dcgw_avatar_input) no deadline either */
    set.transfer_timeout_ms = 0;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(dcgw_avatar_input_ms(v, true, (uint8_t *)m, strlen(m), NOW, t0, NULL, &res),
                     0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert_int_eq(dcgw_avatar_handle_timeout(v, UINT64_MAX - 1, &res), 0);
    dcgw_avatar_free(v);
    set.transfer_timeout_ms = 5000;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), 0);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_uint_eq(dcgw_avatar_next_timeout(v), UINT64_MAX);
    ck_assert(dcgw_avatar_in_transfer(v));
    dcgw_avatar_free(v);
    set.transfer_timeout_ms = DCGW_AVATAR_TRANSFER_TIMEOUT_MAX_MS + 1;
    ck_assert_int_eq(dcgw_avatar_new(&set, &v), DCGW_EINVAL);
    free(m);
    free(data);
}
END_TEST

int main(void)
{
    const TTest *settings[] = {settings_and_grants, NULL};
    const TTest *authority[] = {authority_replaced_for_later_manifests,
                                transfer_in_progress_keeps_its_grant,
                                request_tokens_meet_the_new_grants, NULL};
    const TTest *deadline[] = {transfer_deadline, NULL};
    Suite *s = suite_create("avatar_authority");
    tsuite_add(s, "settings", 0, av_setup, av_teardown, settings);
    tsuite_add(s, "authority", 0, av_setup, av_teardown, authority);
    tsuite_add(s, "deadline", 0, av_setup, av_teardown, deadline);
    av_dir = AV;
    return tsuite_run(s);
}
