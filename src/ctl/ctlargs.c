/* dcgwctl's arguments: files it reads (SDP, policies, avatar settings, sessions, proxy
 * settings, all in their JSON forms), --leg specifications and the bootstrap proxy flags.
 * Each function says what is wrong on stderr ("dcgwctl: ...") and returns NULL or -1. */
#include "dcgw/ctl/ctlargs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcgw/msg/pbjson.h"
#include "dcgw/msg/policy_wire.h"

/* A policy file (docs/policy.md), or NULL after saying why. */
Dcgw__Policy *dcgw_ctlargs_policy(const char *path, bool patch)
{
    char *text = dcgw_ctlargs_read_file(path), err[256];
    Dcgw__Policy *p = NULL;
    if (text && dcgw_policy_from_json(text, strlen(text), patch, &p, err, sizeof(err)) < 0)
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
    free(text);
    return p;
}

/* A file holding a message of type desc in its JSON form, or NULL after saying why. */
static ProtobufCMessage *pb_file(const char *path, const ProtobufCMessageDescriptor *desc)
{
    char *text = dcgw_ctlargs_read_file(path), err[256] = "";
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    ProtobufCMessage *m = NULL;
    if (text && !j)
        fprintf(stderr, "dcgwctl: %s:%d: %s\n", path, je.line, je.text);
    else if (j && dcgw_pb_from_json(desc, j, &m, err, sizeof(err)) < 0)
        fprintf(stderr, "dcgwctl: %s: %s\n", path, err);
    json_decref(j);
    free(text);
    return m;
}

/* A JSON AvatarSettings file (docs/avatar-envelope.md), or NULL after saying why. */
Dcgw__AvatarSettings *dcgw_ctlargs_avatar(const char *path)
{
    return (Dcgw__AvatarSettings *)pb_file(path, &dcgw__avatar_settings__descriptor);
}

/* A JSON RelaySettings file (docs/fastpath.md), or NULL after saying why. */
Dcgw__RelaySettings *dcgw_ctlargs_relay(const char *path)
{
    return (Dcgw__RelaySettings *)pb_file(path, &dcgw__relay_settings__descriptor);
}

/* A JSON DcMedia holding proxy fields (docs/bootstrap.md), or NULL after saying why. */
Dcgw__DcMedia *dcgw_ctlargs_dcmedia(const char *path)
{
    return (Dcgw__DcMedia *)pb_file(path, &dcgw__dc_media__descriptor);
}

char *dcgw_ctlargs_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* ---- bootstrap HTTP proxy flags (docs/bootstrap.md) */

/* Adds STREAM=URL to dc (turning its proxy on). Strings point into arg. */
static int add_binding(Dcgw__DcMedia *dc, char *arg)
{
    char *eq = strchr(arg, '='), *end = NULL;
    long id = eq ? strtol(arg, &end, 10) : -1;
    if (!eq || end != eq || id < 0 || id > 65535) {
        fprintf(stderr, "dcgwctl: --bootstrap: expected STREAM=URL, got '%s'\n", arg);
        return -1;
    }
    Dcgw__HttpProxyBinding *b = calloc(1, sizeof(*b));
    Dcgw__HttpProxyBinding **v =
        realloc(dc->replace_http_url, (dc->n_replace_http_url + 1) * sizeof(*v));
    if (!b || !v) {
        free(b);
        return -1;
    }
    dcgw__http_proxy_binding__init(b);
    b->has_stream_id = 1;
    b->stream_id = (uint32_t)id;
    b->url = strdup(eq + 1);
    v[dc->n_replace_http_url++] = b;
    dc->replace_http_url = v;
    dc->has_media_proxy_config = 1;
    dc->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    return 0;
}

static Dcgw__Mdc1Endpoint *remote_mdc1(Dcgw__DcMedia *dc)
{
    if (!dc->remote_mdc1_endpoint &&
        (dc->remote_mdc1_endpoint = calloc(1, sizeof(Dcgw__Mdc1Endpoint))))
        dcgw__mdc1_endpoint__init(dc->remote_mdc1_endpoint);
    return dc->remote_mdc1_endpoint;
}

/* opt is 'b' (--bootstrap STREAM=URL), 'm' (--mdc1 IP:PORT) or 'c' (--mdc1-ca FILE). */
int dcgw_ctlargs_proxy_flag(Dcgw__DcMedia *dc, int opt, char *arg)
{
    Dcgw__Mdc1Endpoint *e;
    if (opt == 'b')
        return add_binding(dc, arg);
    if (!(e = remote_mdc1(dc)))
        return -1;
    if (opt == 'm') {
        e->address = strdup(arg);
        return 0;
    }
    return (e->tls_ca_pem = dcgw_ctlargs_read_file(arg)) ? 0 : -1;
}

/* create: LEG:STREAM=URL / LEG=VALUE, applied to the session's leg of that name. */
int dcgw_ctlargs_leg_proxy_flag(Dcgw__Session *s, int opt, const char *arg)
{
    const char *sep = strchr(arg, opt == 'b' ? ':' : '=');
    for (size_t i = 0; sep && i < s->n_legs; i++) {
        Dcgw__Leg *l = s->legs[i];
        if (l->name && strlen(l->name) == (size_t)(sep - arg) &&
            strncmp(l->name, arg, (size_t)(sep - arg)) == 0 && l->dc)
            return dcgw_ctlargs_proxy_flag(l->dc, opt, (char *)sep + 1);
    }
    fprintf(stderr, "dcgwctl: --%s '%s': no leg of that name (--leg name=... first)\n",
            opt == 'b'   ? "bootstrap"
            : opt == 'm' ? "mdc1"
                         : "mdc1-ca",
            arg);
    return -1;
}

/* One key=value of a --leg specification (kv is modified). 0 or -1 after saying why. */
static int leg_key(char *kv, Dcgw__Leg *leg, Dcgw__DcMedia *dc)
{
    char *eq = strchr(kv, '=');
    if (!eq) {
        fprintf(stderr, "dcgwctl: --leg: '%s' is not key=value\n", kv);
        return -1;
    }
    *eq++ = '\0';
    if (strcmp(kv, "name") == 0) {
        free(leg->name);
        leg->name = strdup(eq);
    } else if (strcmp(kv, "mode") == 0 && strcmp(eq, "terminate") == 0) {
        dc->mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
    } else if (strcmp(kv, "mode") == 0 && strcmp(eq, "relay") == 0) {
        dc->mode = DCGW__MEDIA_MODE__MODE_RELAY;
    } else if (strcmp(kv, "role") == 0 && strcmp(eq, "answer") == 0) {
        leg->has_role = 1;
        leg->role = DCGW__LEG_ROLE__ROLE_ANSWER;
    } else if (strcmp(kv, "role") == 0 && strcmp(eq, "offer") == 0) {
        leg->has_role = 1;
        leg->role = DCGW__LEG_ROLE__ROLE_OFFER;
    } else if (strcmp(kv, "setup") == 0 &&
               (strcmp(eq, "active") == 0 || strcmp(eq, "passive") == 0)) {
        dc->has_answer_setup = 1;
        dc->answer_setup =
            eq[0] == 'a' ? DCGW__SECURITY_SETUP__SETUP_ACTIVE : DCGW__SECURITY_SETUP__SETUP_PASSIVE;
    } else if (strcmp(kv, "sdp") == 0) {
        if (!(dc->remote_sdp = dcgw_ctlargs_read_file(eq)))
            return -1;
    } else if (strcmp(kv, "policy") == 0) {
        if (!(leg->policy = dcgw_ctlargs_policy(eq, false)))
            return -1;
    } else {
        fprintf(stderr, "dcgwctl: --leg: unknown or bad '%s=%s'\n", kv, eq);
        return -1;
    }
    return 0;
}

/* name=ue,mode=terminate,role=answer,setup=passive,sdp=offer.sdp */
int dcgw_ctlargs_leg(const char *spec, Dcgw__Leg *leg, Dcgw__DcMedia *dc)
{
    dcgw__leg__init(leg);
    dcgw__dc_media__init(dc);
    leg->dc = dc;
    dc->has_mode = 1;
    dc->mode = DCGW__MEDIA_MODE__MODE_TERMINATE;
    char *copy = strdup(spec), *save = NULL;
    if (!copy)
        return -1;
    int rc = 0;
    for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save))
        rc = leg_key(kv, leg, dc);
    free(copy);
    if (rc)
        return rc;
    if (!leg->name) {
        fprintf(stderr, "dcgwctl: --leg needs name=NAME\n");
        return -1;
    }
    if (!leg->has_role) {
        leg->has_role = 1;
        leg->role = dc->remote_sdp ? DCGW__LEG_ROLE__ROLE_ANSWER : DCGW__LEG_ROLE__ROLE_OFFER;
    }
    return 0;
}

/* --from FILE: a whole session in its JSON form. */
int dcgw_ctlargs_session(const char *path, Dcgw__Session **out)
{
    *out = (Dcgw__Session *)pb_file(path, &dcgw__session__descriptor);
    return *out ? 0 : -1;
}

/* Frees what dcgw_ctlargs_leg and --policy allocated for a session built from options. */
void dcgw_ctlargs_free_legs(Dcgw__Policy *policy, Dcgw__Leg *legs, Dcgw__DcMedia *dcs,
                            size_t n_legs)
{
    if (policy)
        protobuf_c_message_free_unpacked(&policy->base, NULL);
    for (size_t i = 0; i < n_legs; i++) {
        if (legs[i].policy)
            protobuf_c_message_free_unpacked(&legs[i].policy->base, NULL);
        free(legs[i].name);
        free(dcs[i].remote_sdp);
        for (size_t k = 0; k < dcs[i].n_replace_http_url; k++)
            protobuf_c_message_free_unpacked(&dcs[i].replace_http_url[k]->base, NULL);
        free(dcs[i].replace_http_url);
        if (dcs[i].remote_mdc1_endpoint)
            protobuf_c_message_free_unpacked(&dcs[i].remote_mdc1_endpoint->base, NULL);
    }
}

/* update's --bootstrap, --mdc1, --mdc1-ca, --no-proxy, --proxy FILE into *proxy. */
int dcgw_ctlargs_update_proxy_flag(Dcgw__DcMedia **proxy, int ch, char *arg)
{
    if (!*proxy && ch == 'P')
        return (*proxy = dcgw_ctlargs_dcmedia(arg)) ? 0 : -1;
    if (ch == 'P') {
        fprintf(stderr, "dcgwctl: --proxy FILE goes first, before the other proxy flags\n");
        return -1;
    }
    if (!*proxy && (*proxy = calloc(1, sizeof(**proxy))))
        dcgw__dc_media__init(*proxy);
    if (!*proxy)
        return -1;
    if (ch != 'N')
        return dcgw_ctlargs_proxy_flag(*proxy, ch, arg);
    (*proxy)->has_media_proxy_config = 1;
    (*proxy)->media_proxy_config = DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE;
    return 0;
}

int dcgw_ctlargs_number(const char *what, const char *s, long long min, long long max,
                        long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = s && *s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "dcgwctl: %s: '%s' is not a whole number in %lld..%lld\n", what, s ? s : "",
                min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int dcgw_ctlargs_seconds(const char *what, const char *s, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : -1;
    if (!s || !*s || *end || errno || !(v >= 0 && v <= max)) {
        fprintf(stderr, "dcgwctl: %s: '%s' is not a number of seconds in 0..%g\n", what, s ? s : "",
                max);
        return -1;
    }
    *out = v;
    return 0;
}

int dcgw_ctlargs_out_dir(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path) || !*path) {
        fprintf(stderr, "dcgwctl: --sdp-out: bad directory '%s'\n", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) { /* mkdir -p */
        bool last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (mkdir(path, 0777) < 0 && errno != EEXIST) {
            fprintf(stderr, "dcgwctl: --sdp-out: cannot create %s: %s\n", path, strerror(errno));
            return -1;
        }
        if (last)
            break;
        *p = '/';
    }
    struct stat sb;
    int e = stat(dir, &sb) < 0             ? errno
            : !S_ISDIR(sb.st_mode)         ? ENOTDIR
            : access(dir, W_OK | X_OK) < 0 ? errno
                                           : 0;
    if (e) {
        fprintf(stderr, "dcgwctl: --sdp-out: %s: %s\n", dir, strerror(e));
        return -1;
    }
    return 0;
}
