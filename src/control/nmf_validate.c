/* Nmf_MRM request bodies checked against the API's schema (TS 29.176 API 1.0.0-alpha.2,
 * TS 29.571 common types) and against what dcgw serves. The schema is a
 * table of nodes walked once over the body, each bad attribute named by its JSON Pointer.
 * Where the spec's own pattern or range is wrong, the table says so beside the check and
 * docs/nmf-mrm.md says what dcgw does instead. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/base/limits.h"
#include "dcgw/control/nmf.h"
#include "dcgw/msg/session.h"
#include "dcgw/stages/http_url.h"

const char *dcgw_nmf_vendor_key(const struct dcgw_nmf_settings *s, char *buf, size_t cap)
{
    unsigned pen = s && s->vendor_pen ? s->vendor_pen : DCGW_NMF_PEN_DEFAULT;
    snprintf(buf, cap, "vendorSpecific-%06u", pen % 1000000);
    return buf;
}

/* ------------------------------------------------------------------ the schema as a table */

enum vtype { V_OBJ, V_ARR, V_MAP, V_STR, V_INT, V_BOOL };

struct vnode;
typedef bool (*vcheck)(const json_t *v, char *why, size_t cap);

struct vprop {
    const char *name;
    const struct vnode *node;
    bool required;
};

struct vnode {
    enum vtype type;
    const struct vprop *props;  /* V_OBJ: terminated by a NULL name */
    const struct vnode *items;  /* V_ARR items, V_MAP values */
    size_t min_n, max_n;        /* V_ARR items, V_MAP members, V_STR length (max 0: none) */
    int64_t min, max;           /* V_INT */
    const char *const *enums;   /* V_STR: NULL-terminated */
    vcheck check;               /* patterns and dcgw's reading, after the type check */
    vcheck key_check;           /* V_MAP keys, given as JSON strings */
    const struct vnode *vendor; /* V_OBJ: the vendor-specific extension's schema */
    const char *const *one_of;  /* V_OBJ: exactly one of these members (IpAddr) */
    const char *const *refused; /* V_OBJ: members dcgw does not serve (yet) */
};

struct walk {
    struct dcgw_nmf_problem *p;
    const char *vendor_key;
    bool missing, mandatory_bad;
};

static void ptr_push(char *ptr, size_t cap, const char *base, const char *key)
{
    size_t n = (size_t)snprintf(ptr, cap, "%s/", base);
    for (const char *k = key; *k && n + 3 < cap; k++) {
        if (*k == '~' || *k == '/') {
            ptr[n++] = '~';
            ptr[n++] = *k == '~' ? '0' : '1';
        } else {
            ptr[n++] = *k;
        }
    }
    ptr[n < cap ? n : cap - 1] = '\0';
}

static bool is_ice_chars(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '+' || *s == '/'))
            return false;
    return true;
}

/* RFC 8122 §5 via TS 29.571 DcEndpoint.fingerprint: "SHA-256 AB:CD:...". The spec's
 * pattern has no end anchor, lists MD2/MD5/TOKEN and upper-case names only; dcgw anchors
 * it, takes the hash name in either case, and refuses what it cannot verify. */
static bool ck_fingerprint(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    const char *sp = strpbrk(s, " \t");
    if (!sp || sp == s) {
        snprintf(why, cap, "must be '<hash> <hex pairs>', e.g. 'SHA-256 AB:CD:...'");
        return false;
    }
    size_t hl = (size_t)(sp - s);
    enum dcgw_hash h = dcgw_hash_parse(s, hl);
    if (h == DCGW_HASH_NONE) {
        snprintf(why, cap, "hash '%.*s' is not one dcgw verifies (SHA-1 .. SHA-512)", (int)hl, s);
        return false;
    }
    const char *hex = sp + 1;
    size_t n = strlen(hex), len = dcgw_hash_len(h);
    bool ok = n == len * 3 - 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = i % 3 == 2 ? hex[i] == ':'
                        : ((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'A' && hex[i] <= 'F'));
    if (!ok)
        snprintf(why, cap, "%s needs %zu upper-case hex pairs separated by ':'", dcgw_hash_name(h),
                 len);
    return ok;
}

/* RFC 8842 §4: 20..255 of [A-Za-z0-9+/_-]. TS 29.571's pattern ([A-Fa-f0-9+/_-]) drops the
 * letters past F, which real tls-ids use: dcgw takes RFC 8842's set (and writes hex). */
static bool ck_tls_id(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool ok = n >= 20 && n <= 255;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || strchr("+/_-", s[i]);
    if (!ok)
        snprintf(why, cap, "must be 20..255 characters of [A-Za-z0-9+/_-] (RFC 8842)");
    return ok;
}

/* TS 29.571 gives DcStream.subprotocol the pattern ^[A-Fa-f0-9]{20}$, which no real
 * subprotocol ("http", "bfcp", ...) matches: dcgw takes 1..127 printable characters. */
static bool ck_subprotocol(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 127;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f;
    if (!ok)
        snprintf(why, cap, "must be 1..127 printable ASCII characters");
    return ok;
}

static bool ck_label(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    bool ok = strlen(s) < DCGW_LABEL_MAX;
    for (; ok && *s; s++)
        ok = (unsigned char)*s >= 0x20 && *s != 0x7f;
    if (!ok)
        snprintf(why, cap, "must be under %d bytes without control characters", DCGW_LABEL_MAX);
    return ok;
}

static bool ck_ufrag(const json_t *v, char *why, size_t cap)
{
    bool ok = is_ice_chars(json_string_value(v), 4, 256);
    if (!ok)
        snprintf(why, cap, "must be 4..256 ice-chars (RFC 8839 §5.4)");
    return ok;
}

static bool ck_pwd(const json_t *v, char *why, size_t cap)
{
    bool ok = is_ice_chars(json_string_value(v), 22, 256);
    if (!ok)
        snprintf(why, cap, "must be 22..256 ice-chars (RFC 8839 §5.4)");
    return ok;
}

/* TS 29.571 Ipv4Addr: dotted decimal without leading zeros (glibc's inet_pton agrees). */
static bool ck_ipv4(const json_t *v, char *why, size_t cap)
{
    struct in_addr a;
    bool ok = inet_pton(AF_INET, json_string_value(v), &a) == 1;
    if (!ok)
        snprintf(why, cap, "must be an IPv4 address in dotted-decimal notation");
    return ok;
}

/* TS 29.571 Ipv6Addr: RFC 5952 §4 text (lower-case hex), no mixed IPv4 notation. */
static bool ck_ipv6(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    struct in6_addr a;
    bool ok = inet_pton(AF_INET6, s, &a) == 1 && !strchr(s, '.');
    for (const char *c = s; ok && *c; c++)
        ok = !(*c >= 'A' && *c <= 'F');
    if (!ok)
        snprintf(why, cap, "must be an IPv6 address as RFC 5952 writes it");
    return ok;
}

static bool ck_ipv6_prefix(const json_t *v, char *why, size_t cap)
{
    (void)v;
    snprintf(why, cap, "a prefix is not an address: dcgw needs one");
    return false;
}

/* Streams and replaceHttpUrl are keyed by the stream id: decimal, no leading zeros. RFC
 * 8864 §5.1 reserves 65535. */
static bool ck_stream_key(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 5 && (n == 1 || s[0] != '0');
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (ok && atol(s) > DCGW_STREAM_ID_MAX)
        ok = false;
    if (!ok)
        snprintf(why, cap, "the key must be a stream id, 0..65534 in decimal");
    return ok;
}

/* replaceHttpUrl is keyed by stream id too, and dcgw's proxy serves the bootstrap streams
 * (TS 26.114 6.2.10: 0 and 10 local, 100 and 110 remote). */
static bool ck_boot_key(const json_t *v, char *why, size_t cap)
{
    if (!ck_stream_key(v, why, cap))
        return false;
    long id = atol(json_string_value(v));
    bool ok = id == 0 || id == 10 || id == 100 || id == 110;
    if (!ok)
        snprintf(why, cap,
                 "dcgw proxies the bootstrap streams 0, 10, 100 and 110 only (TS 26.114 6.2.10)");
    return ok;
}

/* A replacement URL as the proxy takes it (docs/bootstrap.md, "The rewrite rule"). */
static bool ck_replace_url(const json_t *v, char *why, size_t cap)
{
    struct dcgw_http_base b;
    const char *reason = NULL;
    if (dcgw_http_base_parse(json_string_value(v), &b, &reason) == 0)
        return true;
    snprintf(why, cap, "not a replacement URL dcgw can use: %s", reason ? reason : "malformed");
    return false;
}

static bool ck_proxy(const json_t *v, char *why, size_t cap)
{
    bool ok = strcmp(json_string_value(v), "HTTP") == 0;
    if (!ok)
        snprintf(why, cap, "dcgw proxies HTTP (bootstrap channels) only");
    return ok;
}

/* MDC1 carries HTTP/1.1 or HTTP/2, over TCP (dcgw speaks no HTTP/3). */
static bool ck_mdc1_transport(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    if (strcmp(s, "TCP") == 0)
        return true;
    snprintf(why, cap,
             strcmp(s, "UDP") == 0 ? "MDC1 is HTTP over TCP (dcgw speaks no HTTP/3)"
                                   : "unknown transport (UDP, TCP)");
    return false;
}

/* MaxMessageSize: TS 29.571 caps it at 64 (default 64), which reads as kilobytes while
 * a=max-message-size (RFC 8841 §6), the value it carries, is in bytes. dcgw reads bytes,
 * and refuses 1..1023 rather than guess: 0 means no limit. */
static bool ck_max_message_size(const json_t *v, char *why, size_t cap)
{
    json_int_t n = json_integer_value(v);
    bool ok = n == 0 || n >= 1024;
    if (!ok)
        snprintf(why, cap,
                 "bytes, as a=max-message-size (RFC 8841): 0 (no limit) or >= 1024;"
                 " TS 29.571's maximum of 64 looks like kilobytes");
    return ok;
}

static bool ck_context_id(const json_t *v, char *why, size_t cap)
{
    bool ok = dcgw_session_id_valid(json_string_value(v));
    if (!ok)
        snprintf(why, cap, "dcgw takes 1..63 characters of [A-Za-z0-9._:-]");
    return ok;
}

static bool ck_termination_id(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    bool ok = strlen(s) <= 32 && dcgw_session_id_valid(s);
    if (!ok)
        snprintf(why, cap, "dcgw takes 1..32 characters of [A-Za-z0-9._:-]");
    return ok;
}

/* AUDIO and VIDEO cannot be mapped onto dcgw's media stage: a MediaInfo has no codecs,
 * payload types, SSRCs, direction or BUNDLE relation to the DC media, and gives each media
 * its own Mb endpoints (docs/nmf-mrm.md, "Audio and video"). AR is media processing. */
static bool ck_media_type(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    if (strcmp(s, "DC") == 0)
        return true;
    if (!strcmp(s, "AUDIO") || !strcmp(s, "VIDEO"))
        snprintf(why, cap,
                 "%s cannot be mapped: MediaInfo has no codecs, payload types, SSRCs or BUNDLE "
                 "with the DC media, which dcgw needs; give audio/video as SDP on the control "
                 "socket",
                 s);
    else if (!strcmp(s, "AR"))
        snprintf(why, cap, "AR is media processing, which dcgw does not do: DC media only");
    else
        snprintf(why, cap, "unknown media resource type (DC, AUDIO, VIDEO, AR)");
    return false;
}

static bool ck_mb_transport(const json_t *v, char *why, size_t cap)
{
    const char *s = json_string_value(v);
    if (strcmp(s, "UDP") == 0)
        return true;
    snprintf(why, cap,
             strcmp(s, "TCP") == 0 ? "data channels run over UDP (UDP/DTLS/SCTP)"
                                   : "unknown transport (UDP, TCP)");
    return false;
}

static const char *const setup_enum[] = {"ACTIVE", "PASSIVE", "ACTPASS", NULL};
static const char *const proxy_enum[] = {"HTTP", "UDP", NULL};
static const char *const mdc2_enum[] = {"UDP/DTLS/SCTP", "TCP",       "UDP", "SCTP",
                                        "TCP/TLS",       "SCTP/DTLS", NULL};
static const char *const ip_one_of[] = {"ipv4Addr", "ipv6Addr", "ipv6Prefix", NULL};
/* Not served yet; docs/nmf-mrm.md says what each will map to. */
static const char *const dc_refused[] = {"remoteMdc2Endpoint", "localMdc2Endpoint", "mdc2Protocol",
                                         NULL};
static const char *const media_refused[] = {"mediaProcessingUri", "arMedia", NULL};

#define STR_N(lo, hi, ck)                                                                          \
    {                                                                                              \
        .type = V_STR, .min_n = lo, .max_n = hi, .check = ck                                       \
    }
#define INT_R(lo, hi, ck)                                                                          \
    {                                                                                              \
        .type = V_INT, .min = lo, .max = hi, .check = ck                                           \
    }

static const struct vnode n_string = STR_N(0, 0, NULL);
static const struct vnode n_bool = {.type = V_BOOL};
static const struct vnode n_u16 = INT_R(0, 65535, NULL);
static const struct vnode n_u32 = INT_R(0, 4294967295LL, NULL);
static const struct vnode n_port = INT_R(1, 65535, NULL);
static const struct vnode n_ipv4 = STR_N(0, 0, ck_ipv4);
static const struct vnode n_ipv6 = STR_N(0, 0, ck_ipv6);
static const struct vnode n_ipv6p = STR_N(0, 0, ck_ipv6_prefix);
static const struct vprop p_ip[] = {{"ipv4Addr", &n_ipv4, false},
                                    {"ipv6Addr", &n_ipv6, false},
                                    {"ipv6Prefix", &n_ipv6p, false},
                                    {NULL, NULL, false}};
static const struct vnode n_ip = {.type = V_OBJ, .props = p_ip, .one_of = ip_one_of};
static const struct vnode n_transport = STR_N(0, 0, ck_mb_transport);
static const struct vprop p_endpoint[] = {{"ip", &n_ip, true},
                                          {"transport", &n_transport, true},
                                          {"portNumber", &n_port, true},
                                          {NULL, NULL, false}};
static const struct vnode n_endpoint = {.type = V_OBJ, .props = p_endpoint};
/* MDC1: the DCSF's address and port (remote); dcgw's source address, port 0 for any (local) */
static const struct vnode n_mdc1_transport = STR_N(0, 0, ck_mdc1_transport);
static const struct vnode n_port0 = INT_R(0, 65535, NULL);
static const struct vprop p_mdc1_remote[] = {{"ip", &n_ip, true},
                                             {"transport", &n_mdc1_transport, true},
                                             {"portNumber", &n_port, true},
                                             {NULL, NULL, false}};
static const struct vnode n_mdc1_remote = {.type = V_OBJ, .props = p_mdc1_remote};
static const struct vprop p_mdc1_local[] = {{"ip", &n_ip, true},
                                            {"transport", &n_mdc1_transport, true},
                                            {"portNumber", &n_port0, true},
                                            {NULL, NULL, false}};
static const struct vnode n_mdc1_local = {.type = V_OBJ, .props = p_mdc1_local};

static const struct vnode n_fingerprint = STR_N(0, 0, ck_fingerprint);
static const struct vnode n_tls_id = STR_N(0, 0, ck_tls_id);
static const struct vnode n_sctp_port = INT_R(0, 65535, NULL);
static const struct vprop p_dc_endpoint[] = {{"sctpPort", &n_sctp_port, false},
                                             {"fingerprint", &n_fingerprint, false},
                                             {"tlsId", &n_tls_id, false},
                                             {NULL, NULL, false}};
static const struct vnode n_dc_endpoint = {.type = V_OBJ, .props = p_dc_endpoint};

static const struct vnode n_label = STR_N(0, 0, ck_label);
static const struct vprop p_stream_ext[] = {{"label", &n_label, false}, {NULL, NULL, false}};
static const struct vnode n_stream_ext = {.type = V_OBJ, .props = p_stream_ext};
static const struct vnode n_subprotocol = STR_N(0, 0, ck_subprotocol);
static const struct vprop p_stream[] = {{"streamId", &n_u16, false},
                                        {"subprotocol", &n_subprotocol, false},
                                        {"order", &n_bool, false},
                                        {"maxRetry", &n_u32, false},
                                        {"maxTime", &n_u32, false},
                                        {"priority", &n_u16, false},
                                        {"appBindingInfo", &n_string, false},
                                        {NULL, NULL, false}};
static const struct vnode n_stream = {.type = V_OBJ, .props = p_stream, .vendor = &n_stream_ext};

/* TS 29.571 makes replaceHttpUrl optional; an entry without it means nothing to dcgw */
static const struct vnode n_url = STR_N(1, DCGW_HTTP_URL_MAX - 1, ck_replace_url);
static const struct vprop p_replace_url[] = {
    {"replaceHttpUrl", &n_url, true}, {"streamId", &n_u16, false}, {NULL, NULL, false}};
static const struct vnode n_replace_url = {.type = V_OBJ, .props = p_replace_url};

static const struct vnode n_streams = {.type = V_MAP,
                                       .items = &n_stream,
                                       .min_n = 1,
                                       .max_n = DCGW_SDP_MAX_DCMAP,
                                       .key_check = ck_stream_key};
static const struct vnode n_replace_urls = {
    .type = V_MAP, .items = &n_replace_url, .min_n = 1, .max_n = 4, .key_check = ck_boot_key};
static const struct vnode n_proxy = {.type = V_STR, .enums = proxy_enum, .check = ck_proxy};
static const struct vnode n_mdc2 = {.type = V_STR, .enums = mdc2_enum};
static const struct vnode n_setup = {.type = V_STR, .enums = setup_enum};
static const struct vnode n_max_msg = INT_R(0, 4294967295LL, ck_max_message_size);
static const struct vprop p_dc_media[] = {{"mediaProxyConfig", &n_proxy, false},
                                          {"replaceHttpUrl", &n_replace_urls, false},
                                          {"remoteMdc1Endpoint", &n_mdc1_remote, false},
                                          {"remoteMdc2Endpoint", &n_endpoint, false},
                                          {"localMdc1Endpoint", &n_mdc1_local, false},
                                          {"localMdc2Endpoint", &n_endpoint, false},
                                          {"mdc2Protocol", &n_mdc2, false},
                                          {"streams", &n_streams, true},
                                          {"maxMessageSize", &n_max_msg, false},
                                          {"localDcEndpoint", &n_dc_endpoint, false},
                                          {"remoteDcEndpoint", &n_dc_endpoint, false},
                                          {"securitySetup", &n_setup, false},
                                          {NULL, NULL, false}};
static const struct vnode n_dc_media = {.type = V_OBJ, .props = p_dc_media, .refused = dc_refused};

static const struct vnode n_ufrag = STR_N(0, 0, ck_ufrag);
static const struct vnode n_pwd = STR_N(0, 0, ck_pwd);
static const struct vprop p_ice[] = {{"ufrag", &n_ufrag, true},
                                     {"pwd", &n_pwd, true},
                                     {"lite", &n_bool, false},
                                     {NULL, NULL, false}};
static const struct vnode n_ice = {.type = V_OBJ, .props = p_ice};
static const struct vprop p_media_ext[] = {
    {"remoteIce", &n_ice, false}, {"localIce", &n_ice, false}, {NULL, NULL, false}};
static const struct vnode n_media_ext = {.type = V_OBJ, .props = p_media_ext};

static const struct vnode n_media_id = STR_N(1, 256, NULL);
static const struct vnode n_media_type = STR_N(0, 0, ck_media_type);
static const struct vprop p_media[] = {{"mediaId", &n_media_id, true},
                                       {"mediaResourceType", &n_media_type, true},
                                       {"localMbEndpoint", &n_endpoint, false},
                                       {"remoteMbEndpoint", &n_endpoint, false},
                                       {"dcMedia", &n_dc_media, false},
                                       {"mediaProcessingUri", &n_string, false},
                                       {NULL, NULL, false}};
static const struct vnode n_media = {
    .type = V_OBJ, .props = p_media, .vendor = &n_media_ext, .refused = media_refused};
/* One DcMedia per leg: a termination holds exactly one media for dcgw. */
static const struct vnode n_medias = {.type = V_ARR, .items = &n_media, .min_n = 1, .max_n = 1};
static const struct vnode n_termination_id = STR_N(0, 0, ck_termination_id);
static const struct vprop p_termination[] = {
    {"terminationId", &n_termination_id, false}, /* required from alpha.2; generated if absent */
    {"medias", &n_medias, true},
    {NULL, NULL, false}};
static const struct vnode n_termination = {.type = V_OBJ, .props = p_termination};
static const struct vnode n_terminations = {
    .type = V_ARR, .items = &n_termination, .min_n = 1, .max_n = DCGW_MAX_LEGS};
static const struct vnode n_context_id = STR_N(0, 0, ck_context_id);
static const struct vprop p_context[] = {{"contextId", &n_context_id, false},
                                         {"terminations", &n_terminations, true},
                                         {NULL, NULL, false}};
static const struct vnode n_context = {.type = V_OBJ, .props = p_context};

/* ------------------------------------------------------------------ the walk */

static void bad(struct walk *w, const char *ptr, bool mandatory, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bad(struct walk *w, const char *ptr, bool mandatory, const char *fmt, ...)
{
    char reason[DCGW_NMF_REASON_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    w->mandatory_bad |= mandatory;
    dcgw_nmf_problem_param(w->p, ptr, "%s", reason);
}

static const char *type_name(enum vtype t)
{
    static const char *const n[] = {"an object", "an array",   "an object (map)",
                                    "a string",  "an integer", "a boolean"};
    return n[t];
}

static bool type_ok(enum vtype t, const json_t *v)
{
    switch (t) {
    case V_OBJ:
    case V_MAP:
        return json_is_object(v);
    case V_ARR:
        return json_is_array(v);
    case V_STR:
        return json_is_string(v);
    case V_INT:
        return json_is_integer(v);
    case V_BOOL:
        return json_is_boolean(v);
    }
    return false;
}

static void walk(struct walk *w, const struct vnode *n, const json_t *v, const char *ptr,
                 bool mandatory, int depth);

static void walk_obj(struct walk *w, const struct vnode *n, const json_t *v, const char *ptr,
                     bool mandatory, int depth)
{
    char sub[DCGW_NMF_PARAM_SIZE];
    for (const struct vprop *pr = n->props; pr && pr->name; pr++) {
        const json_t *m = json_object_get(v, pr->name);
        ptr_push(sub, sizeof(sub), ptr, pr->name);
        if (!m) {
            if (pr->required) {
                w->missing = true;
                bad(w, sub, mandatory, "missing (required)");
            }
            continue;
        }
        walk(w, pr->node, m, sub, mandatory && pr->required, depth + 1);
    }
    if (n->one_of) {
        int count = 0;
        for (const char *const *k = n->one_of; *k; k++)
            count += json_object_get(v, *k) != NULL;
        if (count != 1) {
            w->missing |= count == 0;
            bad(w, ptr, mandatory, "needs exactly one of ipv4Addr, ipv6Addr, ipv6Prefix");
        }
    }
    for (const char *const *k = n->refused; k && *k; k++)
        if (json_object_get(v, *k)) {
            ptr_push(sub, sizeof(sub), ptr, *k);
            bad(w, sub, false, "not served by this MF yet (docs/nmf-mrm.md)");
        }
    const json_t *ext = n->vendor ? json_object_get(v, w->vendor_key) : NULL;
    if (ext) {
        ptr_push(sub, sizeof(sub), ptr, w->vendor_key);
        walk(w, n->vendor, ext, sub, false, depth + 1);
    }
}

static void walk_map(struct walk *w, const struct vnode *n, const json_t *v, const char *ptr,
                     bool mandatory, int depth)
{
    char sub[DCGW_NMF_PARAM_SIZE], why[DCGW_NMF_REASON_SIZE];
    size_t size = json_object_size(v);
    if (size < n->min_n || (n->max_n && size > n->max_n))
        bad(w, ptr, mandatory, "must have %zu..%zu members", n->min_n, n->max_n);
    const char *key;
    const json_t *m;
    json_object_foreach((json_t *)v, key, m)
    {
        ptr_push(sub, sizeof(sub), ptr, key);
        json_t *k = json_string(key);
        if (n->key_check && k && !n->key_check(k, why, sizeof(why)))
            bad(w, sub, mandatory, "%s", why);
        json_decref(k);
        walk(w, n->items, m, sub, mandatory, depth + 1);
        /* the key of a stream map is the stream id the value may repeat */
        const json_t *id = json_is_object(m) ? json_object_get(m, "streamId") : NULL;
        if (json_is_integer(id) && (n->key_check == ck_stream_key || n->key_check == ck_boot_key) &&
            json_integer_value(id) != atol(key)) {
            ptr_push(sub + strlen(sub), sizeof(sub) - strlen(sub), "", "streamId");
            bad(w, sub, mandatory, "differs from the map key %s", key);
        }
    }
}

static void walk(struct walk *w, const struct vnode *n, const json_t *v, const char *ptr,
                 bool mandatory, int depth)
{
    char why[DCGW_NMF_REASON_SIZE] = "";
    if (depth > DCGW_NMF_DEPTH_MAX) {
        bad(w, ptr, mandatory, "nested too deep");
        return;
    }
    if (!type_ok(n->type, v)) {
        bad(w, ptr, mandatory, "must be %s", type_name(n->type));
        return;
    }
    switch (n->type) {
    case V_OBJ:
        walk_obj(w, n, v, ptr, mandatory, depth);
        break;
    case V_MAP:
        walk_map(w, n, v, ptr, mandatory, depth);
        break;
    case V_ARR: {
        size_t size = json_array_size(v);
        if (size < n->min_n || (n->max_n && size > n->max_n))
            bad(w, ptr, mandatory, "must have %zu..%zu items (dcgw: %s)", n->min_n, n->max_n,
                n == &n_medias ? "one DC media per termination" : "one or two terminations");
        for (size_t i = 0; i < size && i < 64; i++) {
            char sub[DCGW_NMF_PARAM_SIZE], idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            ptr_push(sub, sizeof(sub), ptr, idx);
            walk(w, n->items, json_array_get(v, i), sub, mandatory, depth + 1);
        }
        break;
    }
    case V_STR: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len) {
            bad(w, ptr, mandatory, "must not contain NUL");
            return;
        }
        if (len < n->min_n || (n->max_n && len > n->max_n)) {
            bad(w, ptr, mandatory, "must have %zu..%zu characters", n->min_n, n->max_n);
            return;
        }
        bool in = !n->enums;
        for (const char *const *e = n->enums; e && *e && !in; e++)
            in = strcmp(*e, s) == 0;
        if (!in) {
            size_t k = 0;
            char list[128] = "";
            for (const char *const *e = n->enums; *e; e++)
                k += (size_t)snprintf(list + k, k < sizeof(list) ? sizeof(list) - k : 0, "%s%s",
                                      e == n->enums ? "" : ", ", *e);
            bad(w, ptr, mandatory, "must be one of %s", list);
            return;
        }
        break;
    }
    case V_INT: {
        json_int_t i = json_integer_value(v);
        if (i < n->min || i > n->max) {
            bad(w, ptr, mandatory, "must be in %lld..%lld", (long long)n->min, (long long)n->max);
            return;
        }
        break;
    }
    case V_BOOL:
        break;
    }
    if (n->check && !n->check(v, why, sizeof(why)))
        bad(w, ptr, mandatory, "%s", why);
}

static int finish(struct walk *w, const char *what)
{
    struct dcgw_nmf_problem *p = w->p;
    if (p->n_params == 0)
        return 0;
    const char *cause = w->missing         ? DCGW_NMF_MANDATORY_IE_MISSING
                        : w->mandatory_bad ? DCGW_NMF_MANDATORY_IE_INCORRECT
                                           : DCGW_NMF_OPTIONAL_IE_INCORRECT;
    dcgw_nmf_problem_set(p, 400, cause, "%s: %zu invalid parameter(s); first: %s: %s", what,
                         p->n_params + p->n_dropped, p->params[0].param, p->params[0].reason);
    return DCGW_EINVAL;
}

/* The proxy's members go together (docs/nmf-mrm.md, "The bootstrap proxy"): mediaProxyConfig
 * HTTP needs its replacement URLs, and replacement URLs mean nothing without it. */
static void check_proxy(struct walk *w, const json_t *dc, size_t i)
{
    const json_t *cfg = json_object_get(dc, "mediaProxyConfig");
    bool http = json_is_string(cfg) && !strcmp(json_string_value(cfg), "HTTP");
    bool urls = json_object_get(dc, "replaceHttpUrl") != NULL;
    char ptr[80];
    if (http && !urls) {
        snprintf(ptr, sizeof(ptr), "/terminations/%zu/medias/0/dcMedia/replaceHttpUrl", i);
        bad(w, ptr, false, "missing: mediaProxyConfig HTTP needs a replacement URL per stream");
    } else if (urls && !cfg) {
        snprintf(ptr, sizeof(ptr), "/terminations/%zu/medias/0/dcMedia/mediaProxyConfig", i);
        bad(w, ptr, false, "missing: replaceHttpUrl needs mediaProxyConfig HTTP");
    }
}

int dcgw_nmf_validate_context(const json_t *ctx, const struct dcgw_nmf_settings *s,
                              struct dcgw_nmf_problem *p)
{
    char key[32];
    struct walk w = {.p = p, .vendor_key = dcgw_nmf_vendor_key(s, key, sizeof(key))};
    walk(&w, &n_context, ctx, "", true, 0);
    /* dcgw's reading: names must be unique, a DC media needs its dcMedia, the proxy's
     * members go together */
    const json_t *terms = json_object_get(ctx, "terminations");
    for (size_t i = 0; json_is_array(terms) && i < json_array_size(terms) && i < 8; i++) {
        const json_t *t = json_array_get(terms, i);
        const json_t *id = json_object_get(t, "terminationId");
        char ptr[64];
        for (size_t k = 0; json_is_string(id) && k < i; k++)
            if (json_equal(id, json_object_get(json_array_get(terms, k), "terminationId"))) {
                snprintf(ptr, sizeof(ptr), "/terminations/%zu/terminationId", i);
                bad(&w, ptr, false, "two terminations have this id");
            }
        const json_t *m = json_array_get(json_object_get(t, "medias"), 0);
        const json_t *type = json_object_get(m, "mediaResourceType");
        if (json_is_string(type) && !strcmp(json_string_value(type), "DC") &&
            !json_object_get(m, "dcMedia")) {
            snprintf(ptr, sizeof(ptr), "/terminations/%zu/medias/0/dcMedia", i);
            w.missing = true;
            bad(&w, ptr, true, "missing (a DC media needs its dcMedia)");
        }
        if (json_is_object(json_object_get(m, "dcMedia")))
            check_proxy(&w, json_object_get(m, "dcMedia"), i);
    }
    return finish(&w, "MediaContext");
}

/* TS 29.571 PatchItem: op, path required; from for move/copy; value for add/replace/test. */
int dcgw_nmf_validate_patch(const json_t *patch, struct dcgw_nmf_problem *p)
{
    static const char *const ops[] = {"add", "copy", "move", "remove", "replace", "test", NULL};
    struct walk w = {.p = p, .vendor_key = ""};
    if (!json_is_array(patch) || json_array_size(patch) == 0 ||
        json_array_size(patch) > DCGW_NMF_PATCH_OPS_MAX) {
        bad(&w, "", true, "must be an array of 1..%d PatchItems", DCGW_NMF_PATCH_OPS_MAX);
        return finish(&w, "JSON Patch");
    }
    for (size_t i = 0; i < json_array_size(patch); i++) {
        const json_t *it = json_array_get(patch, i);
        char ptr[48];
        snprintf(ptr, sizeof(ptr), "/%zu", i);
        if (!json_is_object(it)) {
            bad(&w, ptr, true, "must be a PatchItem object");
            continue;
        }
        const json_t *op = json_object_get(it, "op"), *path = json_object_get(it, "path");
        const char *o = json_string_value(op);
        bool known = false;
        for (const char *const *k = ops; o && *k && !known; k++)
            known = strcmp(*k, o) == 0;
        snprintf(ptr, sizeof(ptr), "/%zu/op", i);
        if (!op)
            w.missing = true;
        if (!known)
            bad(&w, ptr, true,
                op ? "must be add, copy, move, remove, replace or test" : "missing (required)");
        snprintf(ptr, sizeof(ptr), "/%zu/path", i);
        const char *ps = json_string_value(path);
        if (!path)
            w.missing = true;
        if (!ps || (ps[0] && ps[0] != '/'))
            bad(&w, ptr, true, path ? "must be a JSON Pointer (RFC 6901)" : "missing (required)");
        if (known && (!strcmp(o, "move") || !strcmp(o, "copy"))) {
            const char *from = json_string_value(json_object_get(it, "from"));
            snprintf(ptr, sizeof(ptr), "/%zu/from", i);
            if (!from || (from[0] && from[0] != '/')) {
                w.missing |= !from;
                bad(&w, ptr, true, "%s needs from, a JSON Pointer", o);
            }
        }
        if (known && (!strcmp(o, "add") || !strcmp(o, "replace") || !strcmp(o, "test")) &&
            !json_object_get(it, "value")) {
            snprintf(ptr, sizeof(ptr), "/%zu/value", i);
            w.missing = true;
            bad(&w, ptr, true, "%s needs a value", o);
        }
    }
    return finish(&w, "JSON Patch");
}
