/* Policy: validation and the file form (negative cases), matching precedence, globs,
 * ranges and kinds, channel admission, token buckets on an injected clock, violations and
 * their event limiter, live updates and patches. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/guard/policy.h"
#include "dcgw/msg/policy_wire.h"
#include "helper_suite.h"

enum { UE = 0, AS = 1 };

static Dcgw__Policy *pol_json(const char *text, bool patch)
{
    char err[256] = "";
    Dcgw__Policy *p = NULL;
    int r = dcgw_policy_from_json(text, strlen(text), patch, &p, err, sizeof(err));
    ck_assert_msg(r == 0, "policy JSON refused: %s (%s)", err, text);
    return p;
}

/* Compiles session + leg policies (JSON, NULL for none) for legs "ue" and "as". */
static int compile3(const char *sess, const char *ue, const char *as, struct dcgw_policy **out,
                    char *err, size_t cap)
{
    Dcgw__Policy *ps = sess ? pol_json(sess, false) : NULL;
    Dcgw__Policy *pu = ue ? pol_json(ue, false) : NULL;
    Dcgw__Policy *pa = as ? pol_json(as, false) : NULL;
    struct dcgw_policy_src src = {
        .session = ps, .legs = {pu, pa}, .leg_names = {"ue", "as"}, .n_legs = 2};
    int r = dcgw_policy_compile(&src, out, err, cap);
    Dcgw__Policy *all[3] = {ps, pu, pa};
    for (int i = 0; i < 3; i++)
        if (all[i])
            protobuf_c_message_free_unpacked(&all[i]->base, NULL);
    return r;
}

static struct dcgw_policy *compiled(const char *sess, const char *ue, const char *as)
{
    struct dcgw_policy *p = NULL;
    char err[256] = "";
    int r = compile3(sess, ue, as, &p, err, sizeof(err));
    ck_assert_msg(r == 0, "compile failed: %s", err);
    return p;
}

static struct dcgw_dc_params params(uint16_t id, const char *label, const char *proto)
{
    struct dcgw_dc_params p;
    memset(&p, 0, sizeof(p));
    p.id = id;
    p.ordered = true;
    snprintf(p.label, sizeof(p.label), "%s", label);
    snprintf(p.protocol, sizeof(p.protocol), "%s", proto);
    return p;
}

static const char *lookup(const struct dcgw_policy *p, unsigned leg, uint16_t id, const char *label,
                          const char *proto, bool *allow)
{
    struct dcgw_dc_params prm = params(id, label, proto);
    return dcgw_policy_lookup(p, leg, &prm, allow);
}

/* ---- recording callbacks */

struct rec {
    unsigned events, closes;
    struct dcgw_policy_violation last;
    char last_rule[80];
    struct dcgw_dc_channel *closed[8];
};

static void on_violation(void *ud, const struct dcgw_policy_violation *v)
{
    struct rec *r = ud;
    r->events++;
    r->last = *v;
    snprintf(r->last_rule, sizeof(r->last_rule), "%s", v->rule);
}

static void on_close(void *ud, unsigned leg, struct dcgw_dc_channel *ch)
{
    struct rec *r = ud;
    (void)leg;
    if (r->closes < 8)
        r->closed[r->closes] = ch;
    r->closes++;
}

static struct dcgw_policy_state *state(struct rec *rec, struct dcgw_policy *p)
{
    struct dcgw_policy_settings set = {.session_id = "t1"};
    struct dcgw_policy_cbs cbs = {
        .ud = rec, .on_violation = on_violation, .close_channel = on_close};
    struct dcgw_policy_state *ps;
    ck_assert_int_eq(dcgw_policy_state_new(&set, &cbs, &ps), 0);
    if (p)
        dcgw_policy_set(ps, p, 0);
    return ps;
}

static void chan(struct dcgw_dc_channel *ch, uint16_t id, const char *label, const char *proto)
{
    memset(ch, 0, sizeof(*ch));
    ch->params = params(id, label, proto);
    ch->state = DCGW_DC_OPEN;
}

/* ------------------------------------------------------------------ validation */

static const char *const bad_policies[] = {
    "{\"rules\": [{\"label\": \"x\"}]}",                                      /* no verdict */
    "{\"rules\": [{\"verdict\": \"VERDICT_UNSPECIFIED\"}]}",                  /* unspecified */
    "{\"rules\": [{\"verdict\": 7}]}",                                        /* unknown enum */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"name\": \"a b\"}]}",     /* bad name */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"name\": \"default\"}]}", /* reserved */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"name\": \"a\"},"
    " {\"verdict\": \"VERDICT_DENY\", \"name\": \"a\"}]}", /* duplicate name */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"streams\": [{\"first\": 9, \"last\": 3}]}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"streams\": [{\"first\": 65535}]}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"streams\": [{\"last\": 5}]}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_DENY\", \"max_message_size\": 10}]}", /* limit on deny */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"messages_per_sec\": 0}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"messages_burst\": 5}]}", /* burst, no rate */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"bytes_per_sec\": 2000000000000}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"max_message_size\": 100,"
    " \"bytes_per_sec\": 10, \"bytes_burst\": 50}]}", /* burst < max size */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"reliable\": true, \"max_retransmits\": 2}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"kind\": 9}]}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"leg\": \"\"}]}",
    "{\"remove_rules\": [\"a\"]}", /* only in a patch */
    "{\"max_channels\": 70000}",
    /* malformed JSON and wrong types */
    "",
    "{",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\"}",
    "[]",
    "{\"rules\": {}}",
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"label\": 5}]}",
    "{\"allow_dcep\": \"yes\"}",
    "{\"max_channels\": -1}",
    "{\"no_such_field\": 1}",
    "{\"allow_dcep\": true, \"allow_dcep\": false}", /* duplicate key */
    "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"messages_per_sec\": 4294967296}]}",
    "\x01\x02garbage",
};

START_TEST(file_form_refuses_bad_policies)
{
    const char *t = bad_policies[_i];
    char err[256] = "";
    Dcgw__Policy *p = NULL;
    int r = dcgw_policy_from_json(t, strlen(t), false, &p, err, sizeof(err));
    ck_assert_msg(r < 0, "accepted: %s", t);
    ck_assert_ptr_null(p);
    ck_assert_msg(err[0], "no reason for: %s", t);
}
END_TEST

START_TEST(file_form_limits_size_and_rules)
{
    char err[256];
    Dcgw__Policy *p = NULL;
    size_t n = DCGW_POLICY_JSON_MAX + 1;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    ck_assert_int_eq(dcgw_policy_from_json(big, n, false, &p, err, sizeof(err)), DCGW_ETOOBIG);
    /* 257 rules */
    size_t cap = 64 + 300 * 40;
    char *many = malloc(cap);
    size_t off = (size_t)snprintf(many, cap, "{\"rules\": [");
    for (int i = 0; i < 257; i++)
        off += (size_t)snprintf(many + off, cap - off, "%s{\"verdict\": \"VERDICT_DENY\"}",
                                i ? "," : "");
    snprintf(many + off, cap - off, "]}");
    ck_assert_int_eq(dcgw_policy_from_json(many, strlen(many), false, &p, err, sizeof(err)),
                     DCGW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "256"));
    free(big);
    free(many);
}
END_TEST

START_TEST(compile_resolves_legs)
{
    struct dcgw_policy *p = NULL;
    char err[256] = "";
    const char *allow = "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"leg\": \"bob\"}]}";
    ck_assert_int_eq(compile3(allow, NULL, NULL, &p, err, sizeof(err)), DCGW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bob"));
    /* a direction in the session's policy needs a leg */
    const char *dir = "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"direction\": "
                      "\"DIRECTION_FROM_LEG\"}]}";
    ck_assert_int_eq(compile3(dir, NULL, NULL, &p, err, sizeof(err)), DCGW_EINVAL);
    /* a leg's policy may not name the other leg */
    const char *other = "{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", \"leg\": \"as\"}]}";
    ck_assert_int_eq(compile3(NULL, other, NULL, &p, err, sizeof(err)), DCGW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "leg ue policy"));
    /* but the same direction rule in the leg's own policy is fine */
    ck_assert_int_eq(compile3(NULL, dir, NULL, &p, err, sizeof(err)), 0);
    dcgw_policy_free(p);
}
END_TEST

/* The examples under config/examples/ (docs/policy.md) load and compile for ue + as. */
START_TEST(examples_compile)
{
    static const char *const files[] = {"policy-allow-all.json", "policy-3gpp.json"};
    for (size_t i = 0; i < 2; i++) {
        char path[512], err[256] = "";
        snprintf(path, sizeof(path), "%s/../../config/examples/%s", DCGW_TEST_DATA, files[i]);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "%s", path);
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        Dcgw__Policy *p = NULL;
        ck_assert_msg(dcgw_policy_from_json(buf, n, false, &p, err, sizeof(err)) == 0, "%s: %s",
                      files[i], err);
        struct dcgw_policy_src src = {.session = p, .leg_names = {"ue", "as"}, .n_legs = 2};
        struct dcgw_policy *c;
        ck_assert_msg(dcgw_policy_compile(&src, &c, err, sizeof(err)) == 0, "%s: %s", files[i],
                      err);
        bool allow;
        ck_assert_str_eq(lookup(c, UE, 1, "chat", "", &allow), i ? "chat" : "all");
        ck_assert(allow);
        if (i) { /* avatars only toward the UE */
            ck_assert_str_eq(lookup(c, AS, 2, "a", "avatar", &allow), "avatar-down");
            ck_assert_str_eq(lookup(c, UE, 1, "a", "avatar", &allow), "default");
            ck_assert_str_eq(lookup(c, UE, 1, "secret-x", "", &allow), "no-secret");
        }
        dcgw_policy_free(c);
        protobuf_c_message_free_unpacked(&p->base, NULL);
    }
}
END_TEST

/* ------------------------------------------------------------------ matching */

START_TEST(match_precedence)
{
    /* session: allow chat*, then deny all; the ue leg denies chat-secret from its peer,
     * the as leg allows chat-secret from its peer */
    struct dcgw_policy *p = compiled(
        "{\"rules\": [{\"name\": \"chat\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"chat*\"},"
        " {\"name\": \"rest\", \"verdict\": \"VERDICT_DENY\"},"
        " {\"name\": \"never\", \"verdict\": \"VERDICT_ALLOW\"}]}",
        "{\"rules\": [{\"name\": \"nosecret\", \"verdict\": \"VERDICT_DENY\","
        " \"label\": \"chat-secret\", \"direction\": \"DIRECTION_FROM_LEG\"}]}",
        "{\"rules\": [{\"name\": \"as-secret\", \"verdict\": \"VERDICT_ALLOW\","
        " \"label\": \"chat-secret\", \"direction\": \"DIRECTION_FROM_LEG\"}]}");
    bool allow;
    /* the source leg's own rule first */
    ck_assert_str_eq(lookup(p, UE, 1, "chat-secret", "", &allow), "nosecret");
    ck_assert(!allow);
    ck_assert_str_eq(lookup(p, AS, 2, "chat-secret", "", &allow), "as-secret");
    ck_assert(allow);
    /* leg rules that do not apply fall through to the session's, first match wins */
    ck_assert_str_eq(lookup(p, UE, 1, "chat-1", "", &allow), "chat");
    ck_assert(allow);
    ck_assert_str_eq(lookup(p, UE, 1, "video", "", &allow), "rest");
    ck_assert(!allow);
    dcgw_policy_free(p);

    /* far leg's DIRECTION_TO_LEG rules come after the source leg's, before the session's */
    p = compiled("{\"rules\": [{\"name\": \"all\", \"verdict\": \"VERDICT_ALLOW\"}]}", NULL,
                 "{\"rules\": [{\"name\": \"no-downlink\", \"verdict\": \"VERDICT_DENY\","
                 " \"direction\": \"DIRECTION_TO_LEG\"}]}");
    ck_assert_str_eq(lookup(p, UE, 1, "x", "", &allow), "no-downlink");
    ck_assert(!allow);
    ck_assert_str_eq(lookup(p, AS, 2, "x", "", &allow), "all");
    ck_assert(allow);
    dcgw_policy_free(p);

    /* no rules at all: default deny */
    p = compiled(NULL, NULL, NULL);
    ck_assert_str_eq(lookup(p, UE, 0, "boot", "http", &allow), "default");
    ck_assert(!allow);
    dcgw_policy_free(p);
}
END_TEST

START_TEST(match_globs_ranges_kinds)
{
    struct dcgw_policy *p = compiled(
        "{\"rules\": ["
        " {\"name\": \"exact\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"a*b\","
        "  \"subprotocol\": \"\"},"
        " {\"name\": \"glob\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"[gh]?me-*\"},"
        " {\"name\": \"ranges\", \"verdict\": \"VERDICT_ALLOW\","
        "  \"streams\": [{\"first\": 10, \"last\": 19}, {\"first\": 500}]},"
        " {\"name\": \"boot\", \"verdict\": \"VERDICT_ALLOW\", \"kind\": \"KIND_BOOTSTRAP\","
        "  \"subprotocol\": \"http\"},"
        " {\"name\": \"avatar\", \"verdict\": \"VERDICT_ALLOW\", \"kind\": \"KIND_AVATAR\"},"
        " {\"name\": \"apps\", \"verdict\": \"VERDICT_ALLOW\", \"kind\": \"KIND_APPLICATION\","
        "  \"subprotocol\": \"*.3gpp.org\"}]}",
        NULL, NULL);
    bool allow;
    /* a glob pattern matches by fnmatch(3): "a*b" matches itself and "axxb" */
    ck_assert_str_eq(lookup(p, UE, 1, "a*b", "", &allow), "exact");
    ck_assert_str_eq(lookup(p, UE, 1, "axxb", "", &allow), "exact");
    ck_assert_str_eq(lookup(p, UE, 1, "axxb", "p", &allow), "default"); /* "" is exact */
    ck_assert_str_eq(lookup(p, UE, 1, "game-1", "x", &allow), "glob");
    ck_assert_str_eq(lookup(p, UE, 1, "home-", "x", &allow), "glob");
    ck_assert_str_eq(lookup(p, UE, 1, "name-1", "x", &allow), "default");
    ck_assert_str_eq(lookup(p, UE, 1, "Game-1", "x", &allow), "default"); /* case matters */
    /* ranges: inclusive bounds, a single id */
    ck_assert_str_eq(lookup(p, UE, 9, "z", "x", &allow), "default");
    ck_assert_str_eq(lookup(p, UE, 10, "z", "x", &allow), "ranges");
    ck_assert_str_eq(lookup(p, UE, 19, "z", "x", &allow), "ranges");
    ck_assert_str_eq(lookup(p, UE, 20, "z", "x", &allow), "default");
    ck_assert_str_eq(lookup(p, UE, 500, "z", "x", &allow), "ranges");
    ck_assert_str_eq(lookup(p, UE, 501, "z", "x", &allow), "default");
    /* kinds: bootstrap ids 0/10/100/110 (10 is caught by "ranges" first), avatar by
     * subprotocol, application >= 1000 */
    ck_assert_str_eq(lookup(p, UE, 0, "z", "http", &allow), "boot");
    ck_assert_str_eq(lookup(p, UE, 110, "z", "http", &allow), "boot");
    ck_assert_str_eq(lookup(p, UE, 111, "z", "http", &allow), "default");
    ck_assert_str_eq(lookup(p, UE, 1001, "z", "avatar", &allow), "avatar");
    ck_assert_str_eq(lookup(p, UE, 1002, "z", "game.3gpp.org", &allow), "apps");
    ck_assert_str_eq(lookup(p, UE, 999, "z", "game.3gpp.org", &allow), "default");
    ck_assert(!allow);
    ck_assert_int_eq(dcgw_policy_kind_of(100, "http"), DCGW_POLICY_KIND_BOOTSTRAP);
    ck_assert_int_eq(dcgw_policy_kind_of(5000, ""), DCGW_POLICY_KIND_APPLICATION);
    ck_assert_int_eq(dcgw_policy_kind_of(5, ""), DCGW_POLICY_KIND_ANY);
    ck_assert_int_eq(dcgw_policy_kind_of(0, "avatar"), DCGW_POLICY_KIND_AVATAR);
    ck_assert_int_eq(dcgw_policy_kind_of(1000, "3gpp-avatar"), DCGW_POLICY_KIND_AVATAR);
    ck_assert_int_eq(dcgw_policy_kind_of(1000, "Avatar"), DCGW_POLICY_KIND_APPLICATION);
    dcgw_policy_free(p);
}
END_TEST

/* ------------------------------------------------------------------ admission */

START_TEST(admission_dcep_max_and_constraints)
{
    struct rec rec = {0};
    struct dcgw_policy_state *ps = state(
        &rec, compiled("{\"allow_dcep\": true, \"max_channels\": 2, \"rules\": ["
                       " {\"name\": \"deny-x\", \"verdict\": \"VERDICT_DENY\", \"label\": \"x\","
                       "  \"action\": \"ACTION_CLOSE_SESSION\"},"
                       " {\"name\": \"rel\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"rel\","
                       "  \"ordered\": true, \"reliable\": true},"
                       " {\"name\": \"any\", \"verdict\": \"VERDICT_ALLOW\"}]}",
                       NULL, "{\"allow_dcep\": false}"));
    struct dcgw_dc_params x = params(1, "x", ""), ok = params(3, "ok", "");
    /* allow_dcep: the as leg overrides the session's */
    ck_assert_int_eq(dcgw_policy_check_open(ps, AS, &ok, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_DCEP_NOT_ALLOWED);
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &ok, 0), DCGW_POLICY_PASS);
    /* a deny rule whose action closes the session */
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &x, 0), DCGW_POLICY_CLOSE_SESSION);
    ck_assert_str_eq(rec.last_rule, "deny-x");
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_DENIED);
    ck_assert_uint_eq(dcgw_policy_rule_stats(ps, -1, "deny-x")->refused_channels, 1);
    /* constraints: unordered or partially reliable "rel" is refused */
    struct dcgw_dc_params un = params(5, "rel", "");
    un.ordered = false;
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &un, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_CONSTRAINT);
    un.ordered = true;
    un.reliability = DCGW_DC_MAX_RETR;
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &un, 0), DCGW_POLICY_CLOSE_CHANNEL);
    un.reliability = DCGW_DC_RELIABLE;
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &un, 0), DCGW_POLICY_PASS);
    /* max_channels 2 per leg: the third open is refused, a close makes room */
    struct dcgw_dc_channel c[3];
    for (int i = 0; i < 3; i++)
        chan(&c[i], (uint16_t)(1 + 2 * i), "ok", "");
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &c[0], 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &c[0], 0), DCGW_POLICY_PASS); /* idem */
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &c[1], 0), DCGW_POLICY_PASS);
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 2);
    ck_assert_int_eq(dcgw_policy_check_open(ps, UE, &c[2].params, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_MAX_CHANNELS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &c[2], 0), DCGW_POLICY_CLOSE_CHANNEL);
    /* the refused one's messages are dropped quietly, no new violation */
    uint64_t v0, v1;
    dcgw_policy_totals(ps, &v0, NULL, NULL);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &c[2], 10, 0), DCGW_POLICY_DROP);
    dcgw_policy_totals(ps, &v1, NULL, NULL);
    ck_assert_uint_eq(v0, v1);
    dcgw_policy_channel_closed(ps, UE, &c[2]);
    dcgw_policy_channel_closed(ps, UE, &c[1]);
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 1);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &c[2], 0), DCGW_POLICY_PASS);
    ck_assert_uint_eq(dcgw_policy_rule_stats(ps, -1, "any")->hits, 3);
    dcgw_policy_state_free(ps);
}
END_TEST

START_TEST(no_policy_passes_nothing)
{
    struct rec rec = {0};
    struct dcgw_policy_state *ps = state(&rec, NULL);
    struct dcgw_dc_channel c;
    chan(&c, 0, "bootstrap", "http");
    ck_assert_int_eq(dcgw_policy_check_negotiated(ps, UE, &c.params, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &c, 1, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &c, 1, 0), DCGW_POLICY_DROP);
    ck_assert_str_eq(rec.last_rule, "default");
    ck_assert_uint_eq(dcgw_policy_rule_stats(ps, -1, "default")->refused_channels, 2);
    /* an empty compiled policy is the same */
    dcgw_policy_set(ps, compiled(NULL, NULL, NULL), 0);
    ck_assert_uint_eq(dcgw_policy_rule_stats(ps, -1, "default")->refused_channels, 2);
    struct dcgw_dc_params p = params(2, "x", "");
    ck_assert_int_eq(dcgw_policy_check_open(ps, AS, &p, 0), DCGW_POLICY_CLOSE_CHANNEL);
    dcgw_policy_state_free(ps);
}
END_TEST

/* ------------------------------------------------------------------ messages */

START_TEST(messages_size_and_direction)
{
    struct rec rec = {0};
    struct dcgw_policy_state *ps =
        state(&rec, compiled("{\"rules\": [{\"name\": \"up\", \"verdict\": \"VERDICT_ALLOW\","
                             " \"leg\": \"ue\", \"direction\": \"DIRECTION_FROM_LEG\","
                             " \"label\": \"c\", \"max_message_size\": 100},"
                             " {\"name\": \"big\", \"verdict\": \"VERDICT_ALLOW\", \"label\": "
                             "\"big\", \"max_message_size\": 10, \"action\": "
                             "\"ACTION_CLOSE_CHANNEL\"}]}",
                             NULL, NULL));
    struct dcgw_dc_channel u, a, b;
    chan(&u, 1, "c", "");
    chan(&a, 2, "c", "");
    chan(&b, 3, "big", "");
    /* uplink only: the as-side twin is admitted (the ue direction allows the channel) but
     * its messages are dropped */
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &u, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, AS, &a, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &u, 100, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &u, 101, 0), DCGW_POLICY_DROP);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_MESSAGE_SIZE);
    ck_assert_uint_eq(rec.last.size, 101);
    ck_assert_int_eq(dcgw_policy_message(ps, AS, &a, 1, 0), DCGW_POLICY_DROP);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_DIRECTION);
    ck_assert_str_eq(rec.last_rule, "default");
    const struct dcgw_policy_rule_stats *st = dcgw_policy_rule_stats(ps, -1, "up");
    ck_assert_uint_eq(st->messages, 1);
    ck_assert_uint_eq(st->bytes, 100);
    ck_assert_uint_eq(st->dropped_size, 1);
    uint64_t dropped;
    ck_assert_str_eq(dcgw_policy_channel_rule(ps, UE, &u, &dropped), "up");
    ck_assert_uint_eq(dropped, 1);
    /* a size violation whose action closes the channel */
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &b, 10, 0), DCGW_POLICY_PASS); /* first use */
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &b, 11, 0), DCGW_POLICY_CLOSE_CHANNEL);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &b, 1, 0), DCGW_POLICY_DROP);
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 1);
    dcgw_policy_state_free(ps);
}
END_TEST

START_TEST(rate_limits_on_injected_clock)
{
    struct rec rec = {0};
    struct dcgw_policy_state *ps =
        state(&rec, compiled("{\"rules\": [{\"name\": \"m\", \"verdict\": \"VERDICT_ALLOW\","
                             " \"label\": \"m\", \"messages_per_sec\": 50, \"messages_burst\": 5},"
                             " {\"name\": \"b\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"b\","
                             " \"bytes_per_sec\": 10000, \"bytes_burst\": 2000}]}",
                             NULL, NULL));
    struct dcgw_dc_channel m, b;
    chan(&m, 1, "m", "");
    chan(&b, 3, "b", "");
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &m, 1000), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &b, 1000), DCGW_POLICY_PASS);
    /* the burst, then nothing until 20 ms have passed */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(dcgw_policy_message(ps, UE, &m, 1, 1000), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &m, 1, 1000), DCGW_POLICY_DROP);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_MESSAGE_RATE);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &m, 1, 1019), DCGW_POLICY_DROP);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &m, 1, 1020), DCGW_POLICY_PASS);
    /* 500 msg/s offered for 10 s: burst-ish + 50/s pass */
    unsigned passed = 0;
    for (uint64_t t = 2000; t < 12000; t += 2)
        passed += dcgw_policy_message(ps, UE, &m, 1, t) == DCGW_POLICY_PASS;
    ck_assert_uint_ge(passed, 500);
    ck_assert_uint_le(passed, 505);
    /* bytes: 2000 burst, 10000/s: 1000-byte messages every 10 ms (100 kB/s offered) */
    passed = 0;
    for (uint64_t t = 20000; t < 22000; t += 10)
        passed += dcgw_policy_message(ps, UE, &b, 1000, t) == DCGW_POLICY_PASS;
    ck_assert_uint_ge(passed, 21); /* 2 + 20000 B / 1000 B */
    ck_assert_uint_le(passed, 23);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_BYTE_RATE);
    /* a message larger than the byte burst never passes */
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &b, 2001, 60000), DCGW_POLICY_DROP);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &b, 2000, 60000), DCGW_POLICY_PASS);
    ck_assert_uint_gt(dcgw_policy_rule_stats(ps, -1, "m")->dropped_rate, 4000);
    dcgw_policy_state_free(ps);
}
END_TEST

START_TEST(violation_events_are_rate_limited)
{
    struct rec rec = {0};
    struct dcgw_policy_settings set = {.session_id = "t", .events_per_sec = 2, .events_burst = 3};
    struct dcgw_policy_cbs cbs = {.ud = &rec, .on_violation = on_violation};
    struct dcgw_policy_state *ps;
    ck_assert_int_eq(dcgw_policy_state_new(&set, &cbs, &ps), 0);
    dcgw_policy_set(ps,
                    compiled("{\"rules\": [{\"verdict\": \"VERDICT_ALLOW\", "
                             "\"max_message_size\": 1}]}",
                             NULL, NULL),
                    0);
    struct dcgw_dc_channel c;
    chan(&c, 1, "x", "");
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(dcgw_policy_message(ps, UE, &c, 2, 5000), DCGW_POLICY_DROP);
    ck_assert_uint_eq(rec.events, 3);
    ck_assert_uint_eq(rec.last.suppressed, 0);
    ck_assert_uint_eq(rec.last.violations, 3);
    ck_assert_str_eq(rec.last_rule, "#1"); /* unnamed rules are numbered */
    /* half a second later one more event, carrying the 97 not reported */
    dcgw_policy_message(ps, UE, &c, 2, 5500);
    ck_assert_uint_eq(rec.events, 4);
    ck_assert_uint_eq(rec.last.suppressed, 97);
    ck_assert_uint_eq(rec.last.violations, 101);
    uint64_t v, s;
    dcgw_policy_totals(ps, &v, &s, NULL);
    ck_assert_uint_eq(v, 101);
    ck_assert_uint_eq(s, 97);
    dcgw_policy_state_free(ps);
}
END_TEST

/* ------------------------------------------------------------------ updates */

START_TEST(update_closes_only_what_is_no_longer_allowed)
{
    struct rec rec = {0};
    const char *v1 = "{\"allow_dcep\": true, \"rules\": ["
                     " {\"name\": \"chat\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"chat\","
                     "  \"messages_per_sec\": 10, \"messages_burst\": 4},"
                     " {\"name\": \"bulk\", \"verdict\": \"VERDICT_ALLOW\", \"label\": \"bulk\"}]}";
    struct dcgw_policy_state *ps = state(&rec, compiled(v1, NULL, NULL));
    struct dcgw_dc_channel chat, bulk, twin;
    chan(&chat, 1, "chat", "");
    chan(&bulk, 3, "bulk", "");
    chan(&twin, 2, "bulk", "");
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &chat, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &bulk, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_channel_open(ps, AS, &twin, 0), DCGW_POLICY_PASS);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(dcgw_policy_message(ps, UE, &chat, 5, 0), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &bulk, 5, 0), DCGW_POLICY_PASS);

    /* patch: bulk becomes a deny; chat keeps its name, so its counters and its empty
     * bucket carry over */
    Dcgw__Policy *base = pol_json(v1, false);
    Dcgw__Policy *patch = pol_json("{\"rules\": [{\"name\": \"bulk\", \"verdict\": "
                                   "\"VERDICT_DENY\"}]}",
                                   true);
    Dcgw__Policy *merged = NULL;
    char err[256];
    ck_assert_int_eq(dcgw_policy_patch(base, patch, &merged, err, sizeof(err)), 0);
    ck_assert_uint_eq(merged->n_rules, 2);
    ck_assert_int_eq(merged->rules[1]->verdict, DCGW__POLICY_VERDICT__VERDICT_DENY);
    struct dcgw_policy_src src = {.session = merged, .leg_names = {"ue", "as"}, .n_legs = 2};
    struct dcgw_policy *p2;
    ck_assert_int_eq(dcgw_policy_compile(&src, &p2, err, sizeof(err)), 0);
    unsigned events = rec.events;
    dcgw_policy_set(ps, p2, 50);
    ck_assert_uint_eq(rec.closes, 2); /* bulk on both legs, not chat */
    ck_assert(rec.closed[0] == &bulk || rec.closed[1] == &bulk);
    ck_assert(rec.closed[0] == &twin || rec.closed[1] == &twin);
    ck_assert_uint_eq(rec.events, events + 2);
    ck_assert_int_eq(rec.last.reason, DCGW_POLICY_REASON_UPDATE);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &bulk, 5, 60), DCGW_POLICY_DROP);
    /* chat: still flowing, bucket not refilled by the update (4 used at t=0, 10/s) */
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &chat, 5, 60), DCGW_POLICY_DROP);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &chat, 5, 100), DCGW_POLICY_PASS);
    const struct dcgw_policy_rule_stats *st = dcgw_policy_rule_stats(ps, -1, "chat");
    ck_assert_uint_eq(st->messages, 5);
    ck_assert_uint_eq(st->hits, 1);
    ck_assert_uint_eq(dcgw_policy_rule_stats(ps, -1, "bulk")->messages, 1); /* kept */
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 1);
    uint64_t updates;
    dcgw_policy_totals(ps, NULL, NULL, &updates);
    ck_assert_uint_eq(updates, 1);
    /* a second set with the same policy closes nothing more */
    ck_assert_int_eq(dcgw_policy_compile(&src, &p2, err, sizeof(err)), 0);
    dcgw_policy_set(ps, p2, 200);
    ck_assert_uint_eq(rec.closes, 2);
    /* the status message lists every rule and the default, with counters */
    Dcgw__PolicyStatus *status = dcgw_policy_status(ps);
    ck_assert_ptr_nonnull(status);
    ck_assert_uint_eq(status->n_rules, 3);
    ck_assert_str_eq(status->rules[0]->rule, "chat");
    ck_assert_str_eq(status->rules[0]->scope, "session");
    ck_assert_uint_eq(status->rules[0]->messages, 5);
    ck_assert_str_eq(status->rules[2]->rule, "default");
    ck_assert_uint_eq(status->updates, 2);
    ck_assert_uint_eq(status->n_open_channels, 2);
    ck_assert_uint_eq(status->open_channels[0], 1);
    protobuf_c_message_free_unpacked(&status->base, NULL);
    protobuf_c_message_free_unpacked(&base->base, NULL);
    protobuf_c_message_free_unpacked(&patch->base, NULL);
    protobuf_c_message_free_unpacked(&merged->base, NULL);
    dcgw_policy_state_free(ps);
}
END_TEST

/* The tracked channels are kept sorted by stream id (issue 17: no table indexed by stream
 * id): ids 1000, 110, 0, 100 and 10 on one leg, each with its own bucket; an update that
 * closes every other one, whose close callback drops the record at once (the walk goes on
 * by id); a freed id taken again starts afresh. */
static struct dcgw_policy_state *closing_ps;

static void on_close_now(void *ud, unsigned leg, struct dcgw_dc_channel *ch)
{
    on_close(ud, leg, ch);
    dcgw_policy_channel_closed(closing_ps, leg, ch);
}

START_TEST(sparse_ids_sorted)
{
    struct rec rec = {0};
    const char *v1 = "{\"rules\": [{\"name\": \"all\", \"verdict\": \"VERDICT_ALLOW\","
                     " \"messages_per_sec\": 1, \"messages_burst\": 1}]}";
    struct dcgw_policy_settings set = {.session_id = "t2"};
    struct dcgw_policy_cbs cbs = {
        .ud = &rec, .on_violation = on_violation, .close_channel = on_close_now};
    struct dcgw_policy_state *ps;
    ck_assert_int_eq(dcgw_policy_state_new(&set, &cbs, &ps), 0);
    closing_ps = ps;
    dcgw_policy_set(ps, compiled(v1, NULL, NULL), 0);
    static const uint16_t ids[] = {1000, 110, 0, 100, 10};
    struct dcgw_dc_channel ch[5];
    for (int i = 0; i < 5; i++) {
        chan(&ch[i], ids[i], ids[i] % 20 == 0 ? "keep" : "drop", "");
        ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &ch[i], 0), DCGW_POLICY_PASS);
    }
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 5);
    /* one message per second on each: every channel has its own bucket */
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(dcgw_policy_message(ps, UE, &ch[i], 10, 0), DCGW_POLICY_PASS);
        ck_assert_int_eq(dcgw_policy_message(ps, UE, &ch[i], 10, 0), DCGW_POLICY_DROP);
    }
    uint64_t dropped = 0;
    ck_assert_str_eq(dcgw_policy_channel_rule(ps, UE, &ch[3], &dropped), "all");
    ck_assert_uint_eq(dropped, 1);
    /* allow only "keep" (0, 100, 1000): 110 and 10 close, removed from inside the walk */
    const char *v2 = "{\"rules\": [{\"name\": \"all\", \"verdict\": \"VERDICT_ALLOW\","
                     " \"label\": \"keep\"}]}";
    dcgw_policy_set(ps, compiled(v2, NULL, NULL), 2000);
    ck_assert_uint_eq(rec.closes, 2);
    ck_assert(rec.closed[0] == &ch[4] && rec.closed[1] == &ch[1]); /* 10, then 110 */
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 3);
    ck_assert_ptr_null(dcgw_policy_channel_rule(ps, UE, &ch[1], NULL));
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &ch[0], 10, 2000), DCGW_POLICY_PASS);
    ck_assert_int_eq(dcgw_policy_message(ps, UE, &ch[2], 10, 2000), DCGW_POLICY_PASS);
    /* id 10 again, as a channel "keep": a fresh record */
    struct dcgw_dc_channel again;
    chan(&again, 10, "keep", "");
    ck_assert_int_eq(dcgw_policy_channel_open(ps, UE, &again, 2000), DCGW_POLICY_PASS);
    ck_assert_str_eq(dcgw_policy_channel_rule(ps, UE, &again, &dropped), "all");
    ck_assert_uint_eq(dropped, 0);
    ck_assert_uint_eq(dcgw_policy_open_channels(ps, UE), 4);
    dcgw_policy_channel_closed(ps, UE, &ch[0]);
    ck_assert_ptr_null(dcgw_policy_channel_rule(ps, UE, &ch[0], NULL));
    ck_assert_str_eq(dcgw_policy_channel_rule(ps, UE, &ch[3], NULL), "all");
    dcgw_policy_state_free(ps);
}
END_TEST

START_TEST(patch_semantics)
{
    Dcgw__Policy *base = pol_json("{\"version\": 1, \"max_channels\": 4, \"rules\": ["
                                  " {\"name\": \"a\", \"verdict\": \"VERDICT_ALLOW\"},"
                                  " {\"name\": \"b\", \"verdict\": \"VERDICT_ALLOW\"},"
                                  " {\"verdict\": \"VERDICT_DENY\"}]}",
                                  false);
    Dcgw__Policy *patch = pol_json("{\"version\": 2, \"allow_dcep\": true, \"remove_rules\": "
                                   "[\"a\"], \"rules\": [{\"name\": \"c\", \"verdict\": "
                                   "\"VERDICT_DENY\", \"label\": \"c\"}, {\"name\": \"b\", "
                                   "\"verdict\": \"VERDICT_DENY\"}]}",
                                   true);
    Dcgw__Policy *out = NULL;
    char err[256];
    ck_assert_int_eq(dcgw_policy_patch(base, patch, &out, err, sizeof(err)), 0);
    ck_assert_uint_eq(out->version, 2);
    ck_assert_uint_eq(out->max_channels, 4); /* untouched */
    ck_assert(out->has_allow_dcep && out->allow_dcep);
    ck_assert_uint_eq(out->n_remove_rules, 0);
    ck_assert_uint_eq(out->n_rules, 3); /* b (replaced in place), unnamed, c (appended) */
    ck_assert_str_eq(out->rules[0]->name, "b");
    ck_assert_int_eq(out->rules[0]->verdict, DCGW__POLICY_VERDICT__VERDICT_DENY);
    ck_assert_ptr_null(out->rules[1]->name);
    ck_assert_str_eq(out->rules[2]->name, "c");
    protobuf_c_message_free_unpacked(&out->base, NULL);
    /* removing a rule that is not there */
    Dcgw__Policy *gone = pol_json("{\"remove_rules\": [\"zzz\"]}", true);
    ck_assert_int_eq(dcgw_policy_patch(base, gone, &out, err, sizeof(err)), DCGW_ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "zzz"));
    /* patching nothing builds a policy from the patch */
    ck_assert_int_eq(dcgw_policy_patch(NULL, patch, &out, err, sizeof(err)), DCGW_ENOENT);
    Dcgw__Policy *add =
        pol_json("{\"rules\": [{\"name\": \"a\", \"verdict\": \"VERDICT_DENY\"}]}", true);
    ck_assert_int_eq(dcgw_policy_patch(NULL, add, &out, err, sizeof(err)), 0);
    ck_assert_uint_eq(out->n_rules, 1);
    protobuf_c_message_free_unpacked(&out->base, NULL);
    Dcgw__Policy *all[] = {base, patch, gone, add};
    for (int i = 0; i < 4; i++)
        protobuf_c_message_free_unpacked(&all[i]->base, NULL);
}
END_TEST

/* Audio and video (docs/media.md): default deny, a leg's word over the session's per kind,
 * bitrates, validation, patches. */
START_TEST(media_rules)
{
    bool ok;
    uint64_t br;
    uint32_t burst;
    struct dcgw_policy *p = compiled(NULL, NULL, NULL);
    dcgw_policy_media(p, 0, DCGW_POLICY_MEDIA_AUDIO, &ok, &br, &burst);
    ck_assert(!ok); /* nothing said: refused */
    dcgw_policy_free(p);
    p = compiled("{\"media\": {\"allow_audio\": true, \"burst_ms\": 300}}",
                 "{\"media\": {\"allow_audio\": false}}",
                 "{\"media\": {\"allow_video\": true, \"video_max_bitrate\": 500000}}");
    dcgw_policy_media(p, 0, DCGW_POLICY_MEDIA_AUDIO, &ok, &br, &burst);
    ck_assert(!ok); /* the ue leg's own word */
    dcgw_policy_media(p, 1, DCGW_POLICY_MEDIA_AUDIO, &ok, &br, &burst);
    ck_assert(ok && br == 0 && burst == 300); /* the session's */
    dcgw_policy_media(p, 1, DCGW_POLICY_MEDIA_VIDEO, &ok, &br, &burst);
    ck_assert(ok && br == 500000);
    dcgw_policy_media(p, 0, DCGW_POLICY_MEDIA_VIDEO, &ok, &br, &burst);
    ck_assert(!ok);
    dcgw_policy_media(p, 5, DCGW_POLICY_MEDIA_VIDEO, &ok, &br, &burst);
    ck_assert(!ok);
    dcgw_policy_free(p);
    char err[256];
    Dcgw__Policy *bad = NULL;
    const char *t = "{\"media\": {\"audio_max_bitrate\": 2000000000000}}";
    ck_assert_int_eq(dcgw_policy_from_json(t, strlen(t), false, &bad, err, sizeof(err)),
                     DCGW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "media"));
    t = "{\"media\": {\"burst_ms\": 60001}}";
    ck_assert_int_eq(dcgw_policy_from_json(t, strlen(t), false, &bad, err, sizeof(err)),
                     DCGW_EINVAL);
    /* a patch sets the fields it gives */
    Dcgw__Policy *base = pol_json("{\"media\": {\"allow_audio\": true}}", false);
    Dcgw__Policy *patch = pol_json("{\"media\": {\"allow_video\": true, "
                                   "\"video_max_bitrate\": 64000}}",
                                   true);
    Dcgw__Policy *out = NULL;
    ck_assert_int_eq(dcgw_policy_patch(base, patch, &out, err, sizeof(err)), 0);
    ck_assert(out->media->allow_audio && out->media->allow_video);
    ck_assert_uint_eq(out->media->video_max_bitrate, 64000);
    Dcgw__Policy *all[] = {base, patch, out};
    for (int i = 0; i < 3; i++)
        protobuf_c_message_free_unpacked(&all[i]->base, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("file_form");
    tcase_add_loop_test(tc, file_form_refuses_bad_policies, 0,
                        (int)(sizeof(bad_policies) / sizeof(bad_policies[0])));
    tcase_add_test(tc, file_form_limits_size_and_rules);
    tcase_add_test(tc, compile_resolves_legs);
    tcase_add_test(tc, examples_compile);
    suite_add_tcase(s, tc);
    tc = tcase_create("match");
    tcase_add_test(tc, match_precedence);
    tcase_add_test(tc, match_globs_ranges_kinds);
    suite_add_tcase(s, tc);
    tc = tcase_create("enforce");
    tcase_add_test(tc, admission_dcep_max_and_constraints);
    tcase_add_test(tc, no_policy_passes_nothing);
    tcase_add_test(tc, messages_size_and_direction);
    tcase_add_test(tc, rate_limits_on_injected_clock);
    tcase_add_test(tc, violation_events_are_rate_limited);
    suite_add_tcase(s, tc);
    tc = tcase_create("update");
    tcase_add_test(tc, update_closes_only_what_is_no_longer_allowed);
    tcase_add_test(tc, sparse_ids_sorted);
    tcase_add_test(tc, patch_semantics);
    tcase_add_test(tc, media_rules);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
