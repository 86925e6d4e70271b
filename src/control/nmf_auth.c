/* OAuth2 bearer tokens on Nmf_MRM requests (TS 33.501 §13.4.1: the NRF issues access
 * tokens, JWS-signed JWTs, that NF service consumers present; the producer checks the
 * signature with the NRF's key, that the token is in force, is for it (aud) and grants the
 * service's scope, here "nmf-mrm" as TS 29.176's securitySchemes names it). Errors follow
 * RFC 6750 §3: 401 with error="invalid_token", 403 with error="insufficient_scope". */
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"
#include "dcgw/guard/jws.h"
#include "nmf_int.h"

#define SCOPE "nmf-mrm"

int dcgw__nmf_auth_init(struct nmf_auth *a, const struct dcgw_config *cfg, char *err, size_t errcap)
{
    memset(a, 0, sizeof(*a));
    if (!cfg->nmf.oauth2_enabled)
        return 0;
    FILE *f = fopen(cfg->nmf.oauth2_key, "r");
    if (!f) {
        snprintf(err, errcap, "nmf.oauth2.key: cannot open %s", cfg->nmf.oauth2_key);
        return DCGW_ECONFIG;
    }
    a->key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!a->key) {
        rewind(f);
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        a->key = x ? X509_get_pubkey(x) : NULL;
        X509_free(x);
    }
    fclose(f);
    if (!a->key) {
        snprintf(err, errcap, "nmf.oauth2.key: %s holds no public key or certificate",
                 cfg->nmf.oauth2_key);
        return DCGW_ECONFIG;
    }
    snprintf(a->audience, sizeof(a->audience), "%s", cfg->nmf.oauth2_audience);
    a->clock_skew_s = cfg->nmf.oauth2_clock_skew_s;
    return 0;
}

void dcgw__nmf_auth_dispose(struct nmf_auth *a)
{
    EVP_PKEY_free(a->key);
    a->key = NULL;
}

static bool has_scope(const json_t *scope)
{
    const char *s = json_string_value(scope); /* RFC 6749 §3.3: space-delimited */
    size_t n = strlen(SCOPE);
    for (const char *p = s; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !memcmp(p, SCOPE, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static bool has_audience(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return !strcmp(json_string_value(aud), want);
    size_t i;
    json_t *v;
    json_array_foreach(aud, i,
                       v) if (json_is_string(v) && !strcmp(json_string_value(v), want)) return true;
    return false;
}

static int invalid(struct dcgw_nmf_problem *p, const char **www, const char *why)
{
    *www = "Bearer error=\"invalid_token\"";
    dcgw_nmf_problem_set(p, 401, DCGW_NMF_UNAUTHORIZED, "access token: %s", why);
    return DCGW_EAUTH;
}

/* The claims' times against now, with the configured leeway. */
static const char *times_bad(const json_t *c, uint64_t now, uint32_t skew)
{
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    const json_t *iat = json_object_get(c, "iat");
    if (!json_is_integer(exp))
        return "no exp";
    if ((json_int_t)now > json_integer_value(exp) + (json_int_t)skew)
        return "expired";
    if (json_is_integer(nbf) && json_integer_value(nbf) > (json_int_t)(now + skew))
        return "not yet valid (nbf)";
    if (json_is_integer(iat) && json_integer_value(iat) > (json_int_t)(now + skew))
        return "issued in the future (iat)";
    return NULL;
}

int dcgw__nmf_auth_check(const struct nmf_auth *a, const char *authorization, uint64_t now_s,
                         struct dcgw_nmf_problem *p, const char **www)
{
    *www = NULL;
    if (!a->key)
        return 0;
    if (strncasecmp(authorization, "Bearer ", 7) != 0) {
        *www = "Bearer";
        dcgw_nmf_problem_set(p, 401, DCGW_NMF_UNAUTHORIZED,
                             "an access token is required "
                             "(Authorization: Bearer)");
        return DCGW_EAUTH;
    }
    const char *tok = authorization + 7;
    struct dcgw_jws j;
    char why[128] = "";
    if (dcgw_jws_parse(tok, strlen(tok), &j, why, sizeof(why)) < 0)
        return invalid(p, www, why[0] ? why : "malformed");
    int r = dcgw_jws_verify(&j, a->key, 0);
    const char *bad = r < 0 ? "the signature does not verify with the NRF's key" : NULL;
    if (!bad)
        bad = times_bad(j.claims, now_s, a->clock_skew_s);
    if (!bad && a->audience[0] && !has_audience(json_object_get(j.claims, "aud"), a->audience))
        bad = "not for this MF (aud)";
    bool scope = has_scope(json_object_get(j.claims, "scope"));
    dcgw_jws_dispose(&j);
    if (bad)
        return invalid(p, www, bad);
    if (!scope) {
        *www = "Bearer error=\"insufficient_scope\", scope=\"" SCOPE "\"";
        dcgw_nmf_problem_set(p, 403, DCGW_NMF_UNAUTHORIZED,
                             "the access token does not grant scope " SCOPE);
        return DCGW_EAUTH;
    }
    return 0;
}
