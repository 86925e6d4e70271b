/* Nmf_MRM DcMedia's proxy members <-> the bootstrap proxy's control fields (docs/nmf-mrm.md
 * "The bootstrap proxy", docs/bootstrap.md): mediaProxyConfig HTTP is media_proxy_config
 * MEDIA_PROXY_HTTP, replaceHttpUrl {streamId: {replaceHttpUrl}} the bindings
 * replace_http_url {stream_id, url}, remoteMdc1Endpoint the DCSF's address
 * (remote_mdc1_endpoint.address "ip:port"), localMdc1Endpoint dcgw's source address toward
 * it (local_mdc1_endpoint.address, "ip" when the port is 0: any). Bodies are validated
 * before they get here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool is_http(const json_t *dc)
{
    const char *cfg = str(dc, "mediaProxyConfig");
    return cfg && strcmp(cfg, "HTTP") == 0;
}

static int cmp_binding(const void *a, const void *b)
{
    const Dcgw__HttpProxyBinding *x = *(Dcgw__HttpProxyBinding *const *)a;
    const Dcgw__HttpProxyBinding *y = *(Dcgw__HttpProxyBinding *const *)b;
    return (int)x->stream_id - (int)y->stream_id;
}

/* replaceHttpUrl -> replace_http_url, in stream id order. */
static int bindings(const json_t *urls, Dcgw__DcMedia *d)
{
    size_t n = json_object_size(urls);
    d->replace_http_url = calloc(n ? n : 1, sizeof(*d->replace_http_url));
    if (!d->replace_http_url)
        return DCGW_ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)urls, key, v)
    {
        Dcgw__HttpProxyBinding *b = calloc(1, sizeof(*b));
        if (!b)
            return DCGW_ENOMEM;
        dcgw__http_proxy_binding__init(b);
        d->replace_http_url[d->n_replace_http_url++] = b;
        b->has_stream_id = 1;
        b->stream_id = (uint32_t)atol(key);
        if (!(b->url = strdup(str(v, "replaceHttpUrl") ?: "")))
            return DCGW_ENOMEM;
    }
    qsort(d->replace_http_url, d->n_replace_http_url, sizeof(*d->replace_http_url), cmp_binding);
    return 0;
}

/* An Endpoint -> an Mdc1Endpoint with its address; NULL ep gives an empty one (it clears
 * the leg's in an update). */
static int mdc1(const json_t *ep, Dcgw__Mdc1Endpoint **out)
{
    Dcgw__Mdc1Endpoint *e = calloc(1, sizeof(*e));
    if (!e)
        return DCGW_ENOMEM;
    dcgw__mdc1_endpoint__init(e);
    *out = e;
    if (!ep)
        return 0;
    const json_t *ip = json_object_get(ep, "ip");
    const char *v4 = str(ip, "ipv4Addr"), *v6 = str(ip, "ipv6Addr");
    json_int_t port = json_integer_value(json_object_get(ep, "portNumber"));
    char buf[96];
    if (port == 0)
        snprintf(buf, sizeof(buf), "%s", v4 ? v4 : v6 ? v6 : "");
    else if (v6)
        snprintf(buf, sizeof(buf), "[%s]:%lld", v6, (long long)port);
    else
        snprintf(buf, sizeof(buf), "%s:%lld", v4 ? v4 : "", (long long)port);
    e->address = strdup(buf);
    return e->address ? 0 : DCGW_ENOMEM;
}

int dcgw_nmf_proxy_to_dc(const json_t *dc, unsigned fields, bool update, Dcgw__DcMedia *d)
{
    int r = 0;
    if (fields & DCGW_NMF_PROXY_CONFIG) {
        bool http = is_http(dc);
        if (http || update) {
            d->has_media_proxy_config = 1;
            d->media_proxy_config = http ? DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP
                                         : DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_NONE;
        }
        /* proxy off: the bindings are not sent (the worker keeps them, unused) */
        if (http)
            r = bindings(json_object_get(dc, "replaceHttpUrl"), d);
    }
    const json_t *rep = json_object_get(dc, "remoteMdc1Endpoint");
    if (r == 0 && (fields & DCGW_NMF_PROXY_REMOTE_MDC1) && (rep || update))
        r = mdc1(rep, &d->remote_mdc1_endpoint);
    const json_t *lep = json_object_get(dc, "localMdc1Endpoint");
    if (r == 0 && (fields & DCGW_NMF_PROXY_LOCAL_MDC1) && (lep || update))
        r = mdc1(lep, &d->local_mdc1_endpoint);
    return r;
}

static void endpoint_from(json_t *dc, const char *key, const Dcgw__Mdc1Endpoint *e)
{
    json_t *ep = e && e->address && *e->address ? dcgw__nmf_endpoint_json(e->address, "TCP") : NULL;
    if (ep)
        json_object_set_new(dc, key, ep);
    else
        json_object_del(dc, key);
}

void dcgw_nmf_proxy_from_dc(json_t *dc, const Dcgw__DcMedia *d)
{
    bool http = d->has_media_proxy_config &&
                d->media_proxy_config == DCGW__MEDIA_PROXY_CONFIG__MEDIA_PROXY_HTTP;
    json_t *urls = http && d->n_replace_http_url ? json_object() : NULL;
    for (size_t i = 0; urls && i < d->n_replace_http_url; i++) {
        const Dcgw__HttpProxyBinding *b = d->replace_http_url[i];
        char key[16];
        snprintf(key, sizeof(key), "%u", b->stream_id);
        json_object_set_new(urls, key,
                            json_pack("{s:s,s:I}", "replaceHttpUrl", b->url ? b->url : "",
                                      "streamId", (json_int_t)b->stream_id));
    }
    if (urls) {
        json_object_set_new(dc, "mediaProxyConfig", json_string("HTTP"));
        json_object_set_new(dc, "replaceHttpUrl", urls);
    } else {
        json_object_del(dc, "mediaProxyConfig");
        json_object_del(dc, "replaceHttpUrl");
    }
    endpoint_from(dc, "remoteMdc1Endpoint", d->remote_mdc1_endpoint);
    endpoint_from(dc, "localMdc1Endpoint", d->local_mdc1_endpoint);
}

static bool same(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

/* replaceHttpUrl entries compared by what dcgw uses: the stream id (the key) and the URL. */
static bool same_urls(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v)
    {
        const char *u = str(v, "replaceHttpUrl"),
                   *w = str(json_object_get(b, key), "replaceHttpUrl");
        if (!json_object_get(b, key) || !u != !w || (u && strcmp(u, w)))
            return false;
    }
    return true;
}

unsigned dcgw_nmf_proxy_changed(const json_t *old_dc, const json_t *new_dc)
{
    unsigned f = 0;
    bool oh = is_http(old_dc), nh = is_http(new_dc);
    if (oh != nh || (nh && !same_urls(json_object_get(old_dc, "replaceHttpUrl"),
                                      json_object_get(new_dc, "replaceHttpUrl"))))
        f |= DCGW_NMF_PROXY_CONFIG;
    if (!same(json_object_get(old_dc, "remoteMdc1Endpoint"),
              json_object_get(new_dc, "remoteMdc1Endpoint")))
        f |= DCGW_NMF_PROXY_REMOTE_MDC1;
    if (!same(json_object_get(old_dc, "localMdc1Endpoint"),
              json_object_get(new_dc, "localMdc1Endpoint")))
        f |= DCGW_NMF_PROXY_LOCAL_MDC1;
    return f;
}
