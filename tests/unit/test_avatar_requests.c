/* The avatar verifier and the UE's request token: bound to the DTLS certificate's key,
 * then a transfer on the same direction, an undelivered message breaking a transfer, and
 * the documented vectors of docs/avatar-envelope.md (fixtures: helper_avatar.c). */
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

/* ---- request tokens */

static int req(const char *leg, const char *t, X509 *cert, struct dcgw_avatar_result *res)
{
    struct dcgw_avatar *v = av_verifier(leg, "dcgw");
    int r = dcgw_avatar_input(v, true, (const uint8_t *)t, strlen(t), NOW, cert, res);
    if (r == 0) { /* forwarded: the channel stays usable */
        ck_assert(!dcgw_avatar_rejected(v));
        ck_assert_uint_eq(dcgw_avatar_stats(v)->requests, 1);
    }
    dcgw_avatar_free(v);
    return r;
}

START_TEST(request_token_bound_to_dtls_key)
{
    X509 *ue = keys_load_cert(AV, "ue"), *other = keys_load_cert(AV, "ue-other");
    struct dcgw_avatar_result res;
    size_t n;
    /* the tool's token, signed with the UE's key */
    uint8_t *py = keys_slurp(AV "request.jwt", &n, true);
    py[n] = '\0';
    ck_assert_int_eq(req("ue", (char *)py, ue, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_REQUEST);
    ck_assert(res.request);
    ck_assert_str_eq(res.owner, OWNER);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    /* the same token, but the UE authenticated with another certificate */
    ck_assert_int_eq(req("ue", (char *)py, other, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    ck_assert(res.request);
    /* no DTLS certificate known for the leg */
    ck_assert_int_eq(req("ue", (char *)py, NULL, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNTRUSTED_SIGNER);
    free(py);
    /* the tool's token signed with another key than the UE's DTLS key */
    py = keys_slurp(AV "request-other-key.jwt", &n, true);
    py[n] = '\0';
    ck_assert_int_eq(req("ue", (char *)py, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    free(py);
    /* the grant binds alice's requests to leg ue */
    char *t = av_token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), 0);
    ck_assert_int_eq(req("as", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    /* avatar-2 is granted to alice on any leg */
    t = av_token("ue", "avatar-2", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("as", t, ue, &res), 0);
    free(t);
    /* another user's avatar, with the UE naming that user or itself */
    t = av_token("ue", "avatar-9", "sip:bob@ims.example", "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    t = av_token("ue", "avatar-9", OWNER, "dcgw", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    /* expired, for another audience, without aud */
    t = av_token("ue", "avatar-1", OWNER, "dcgw", NOW - 61);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_EXPIRED);
    free(t);
    t = av_token("ue", "avatar-1", OWNER, "bar", NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    free(t);
    t = av_token("ue", "avatar-1", OWNER, NULL, NOW + 300);
    ck_assert_int_eq(req("ue", t, ue, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_MALFORMED);
    free(t);
    X509_free(ue);
    X509_free(other);
}
END_TEST

START_TEST(request_then_transfer_on_one_direction)
{
    /* a verifier takes requests and transfers in turn; a request inside a transfer is a
     * truncation */
    X509 *ue = keys_load_cert(AV, "ue");
    struct dcgw_avatar *v = av_verifier("ue", "dcgw");
    struct dcgw_avatar_result res;
    char *t = av_token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *m = av_make_manifest(&o, data, 2500);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res), 0);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res),
                     DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_SIZE_MISMATCH);
    ck_assert(!res.request);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    free(t);
    free(m);
    free(data);
    dcgw_avatar_free(v);
    X509_free(ue);
}
END_TEST

START_TEST(undelivered_breaks_the_transfer)
{
    uint8_t *data = av_pattern(2500);
    struct av_mopts o;
    av_mopts_default(&o);
    char *m = av_make_manifest(&o, data, 2500);
    struct dcgw_avatar_result res;
    X509 *ue = keys_load_cert(AV, "ue");
    char *t = av_token("ue", "avatar-1", OWNER, "dcgw", NOW + 300);
    /* nothing passed yet, or only a request token: nothing to reject */
    struct dcgw_avatar *v = av_verifier("ue", "dcgw");
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_NOTHING);
    ck_assert_int_eq(dcgw_avatar_input(v, true, (uint8_t *)t, strlen(t), NOW, ue, &res), 0);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0);
    /* a chunk of a transfer in progress was dropped downstream */
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 0, &res), 0);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNDELIVERED);
    ck_assert_str_eq(res.avatar_id, "avatar-1");
    ck_assert_uint_eq(res.chunk, 1);
    ck_assert_uint_eq(res.chunks, 3);
    ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, 1, &res), DCGW_ECLOSED);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), 0); /* once */
    dcgw_avatar_free(v);
    /* the last chunk passed, then was dropped: the whole avatar never arrived */
    v = av_verifier("as", NULL);
    ck_assert_int_eq(av_put_text(v, m, &res), 0);
    for (size_t k = 0; k < 3; k++)
        ck_assert_int_eq(av_put_chunk(v, data, 2500, 1000, k, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_int_eq(dcgw_avatar_undelivered(v, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_UNDELIVERED);
    ck_assert_uint_eq(res.chunk, 3);
    dcgw_avatar_free(v);
    free(t);
    free(m);
    free(data);
    X509_free(ue);
}
END_TEST

/* The rows of docs/avatar-envelope.md's "Expected results", exactly. */
static int doc_vector(const char *leg, const char *manifest_text, int64_t now, int first_chunk,
                      struct dcgw_avatar_result *res)
{
    size_t n;
    uint8_t *m = manifest_text ? (uint8_t *)strdup(manifest_text)
                               : keys_slurp(AV "env-kid/manifest.jws", &n, true);
    if (manifest_text)
        n = strlen(manifest_text);
    struct dcgw_avatar *v = av_verifier(leg, "dcgw");
    int r = dcgw_avatar_input(v, true, m, n, now, NULL, res);
    for (int k = 0; r == 0 && k < 3; k++) {
        char path[256];
        snprintf(path, sizeof(path), AV "env-kid/chunk-%05d.bin", k == 0 ? first_chunk : k);
        size_t cn;
        uint8_t *c = keys_slurp(path, &cn, false);
        r = dcgw_avatar_input(v, false, c, cn, now, NULL, res);
        free(c);
    }
    free(m);
    dcgw_avatar_free(v);
    return r;
}

START_TEST(documented_vectors)
{
    struct dcgw_avatar_result res;
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 0, &res), 0);
    ck_assert_int_eq(res.what, DCGW_AVATAR_COMPLETE);
    ck_assert_str_eq(res.signer, "kid:bar-key-1");
    ck_assert_uint_eq(res.size, 5000);
    ck_assert_int_eq(doc_vector("as", NULL, 2082582059, 0, &res), 0);
    ck_assert_int_eq(doc_vector("as", NULL, 2082582060, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_EXPIRED);
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 1, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_DIGEST_MISMATCH);
    ck_assert_uint_eq(res.chunk, 0);
    size_t n;
    char *t = (char *)keys_slurp(AV "env-kid/manifest.jws", &n, true);
    t[n] = '\0';
    char *none = malloc(n + 96);
    static const char none_h[] = "{\"alg\":\"none\",\"typ\":\"avatar-manifest+jwt\"}";
    int a = dcgw_b64url_encode((const uint8_t *)none_h, sizeof(none_h) - 1, none, 96);
    snprintf(none + a, n + 96 - (size_t)a, "%s", strchr(t, '.'));
    ck_assert_int_eq(doc_vector("as", none, NOW, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_BAD_SIGNATURE);
    for (size_t i = 0; i < n; i += 37) { /* any byte of header or claims */
        if (t[i] == '.' || &t[i] > strrchr(t, '.'))
            continue;
        char *u = strdup(t);
        u[i] = u[i] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(doc_vector("as", u, NOW, 0, &res), DCGW_EDENIED);
        ck_assert_msg(res.reason == DCGW_AVATAR_BAD_SIGNATURE ||
                          res.reason == DCGW_AVATAR_MALFORMED,
                      "byte %zu: %s", i, dcgw_avatar_reason_name(res.reason));
        free(u);
    }
    struct dcgw_avatar_grants *g = av_grants;
    ck_assert_int_eq(dcgw_avatar_grants_new(&av_grants), 0);
    ck_assert_int_eq(doc_vector("as", NULL, NOW, 0, &res), DCGW_EDENIED);
    ck_assert_int_eq(res.reason, DCGW_AVATAR_NOT_AUTHORIZED);
    dcgw_avatar_grants_free(av_grants);
    av_grants = g;
    /* the request token's rows */
    X509 *ue = keys_load_cert(AV, "ue"), *other = keys_load_cert(AV, "ue-other");
    char *rq = (char *)keys_slurp(AV "request.jwt", &n, true);
    rq[n] = '\0';
    static const struct {
        const char *leg;
        int64_t now;
        bool other;
        enum dcgw_avatar_reason want;
    } rows[] = {{"ue", NOW, false, DCGW_AVATAR_NONE},
                {"ue", NOW, true, DCGW_AVATAR_BAD_SIGNATURE},
                {"as", NOW, false, DCGW_AVATAR_NOT_AUTHORIZED},
                {"ue", 1767225959, false, DCGW_AVATAR_NONE},
                {"ue", 1767225960, false, DCGW_AVATAR_EXPIRED}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct dcgw_avatar *v = av_verifier(rows[i].leg, "dcgw");
        int r = dcgw_avatar_input(v, true, (uint8_t *)rq, n, rows[i].now,
                                  rows[i].other ? other : ue, &res);
        ck_assert_msg(r == 0 ? rows[i].want == DCGW_AVATAR_NONE : res.reason == rows[i].want,
                      "row %zu: %s", i, res.detail);
        dcgw_avatar_free(v);
    }
    free(rq);
    free(none);
    free(t);
    X509_free(ue);
    X509_free(other);
}
END_TEST

int main(void)
{
    const TTest *requests[] = {request_token_bound_to_dtls_key,
                               request_then_transfer_on_one_direction,
                               undelivered_breaks_the_transfer, documented_vectors, NULL};
    Suite *s = suite_create("avatar_requests");
    tsuite_add(s, "requests", 0, av_setup, av_teardown, requests);
    av_dir = AV;
    return tsuite_run(s);
}
