/* The replacement URL, the rewrite of request targets under it, hop-by-hop fields
 * (docs/bootstrap.md). URLs are split by http-parser's http_parser_parse_url(). */
#include "dcgw/stages/http_url.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"

static bool field_eq(const char *s, const struct http_parser_url *u, int f, const char *lit)
{
    size_t n = strlen(lit);
    return (u->field_set & (1 << f)) && u->field_data[f].len == n &&
           strncasecmp(s + u->field_data[f].off, lit, n) == 0;
}

static void lower_copy(char *dst, size_t cap, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++)
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
    dst[i] = '\0';
}

/* Bytes that never pass in a path or query we build a URL from. */
static bool bad_byte(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || c == '\\' || c == '#';
}

/* "%2f" / "%5c" (an encoded separator a server may decode) at p[i]? */
static bool encoded_separator(const char *p, size_t n, size_t i)
{
    if (p[i] != '%' || n - i < 3)
        return false;
    char a = p[i + 1], b = (char)(p[i + 2] | 0x20);
    return (a == '2' && b == 'f') || (a == '5' && b == 'c');
}

static bool text_ok(const char *p, size_t n, bool path)
{
    for (size_t i = 0; i < n; i++) {
        if (bad_byte((unsigned char)p[i]))
            return false;
        if (path && encoded_separator(p, n, i))
            return false;
    }
    return true;
}

int dcgw_http_base_parse(const char *url, struct dcgw_http_base *out, const char **why)
{
    struct http_parser_url u;
    size_t n = url ? strlen(url) : 0;
    memset(out, 0, sizeof(*out));
    *why = "not an absolute http(s) URL";
    if (n == 0 || n >= DCGW_HTTP_URL_MAX)
        return *why = "empty or longer than 2047 bytes", DCGW_EINVAL;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, n, 0, &u) != 0 || !(u.field_set & (1 << UF_HOST)))
        return DCGW_EINVAL;
    if (field_eq(url, &u, UF_SCHEMA, "https"))
        out->https = true;
    else if (!field_eq(url, &u, UF_SCHEMA, "http"))
        return *why = "the scheme must be http or https", DCGW_EINVAL;
    if (u.field_set & (1 << UF_USERINFO))
        return *why = "userinfo (user@) is not allowed", DCGW_EINVAL;
    if (u.field_set & (1 << UF_FRAGMENT))
        return *why = "a fragment (#) is not allowed", DCGW_EINVAL;
    if (u.field_data[UF_HOST].len == 0 || u.field_data[UF_HOST].len >= sizeof(out->host))
        return *why = "bad host", DCGW_EINVAL;
    lower_copy(out->host, sizeof(out->host), url + u.field_data[UF_HOST].off,
               u.field_data[UF_HOST].len);
    if ((u.field_set & (1 << UF_PORT)) && u.port == 0)
        return *why = "port 0", DCGW_EINVAL;
    out->port = (u.field_set & (1 << UF_PORT)) ? u.port : out->https ? 443 : 80;
    if (u.field_set & (1 << UF_PATH)) {
        const char *p = url + u.field_data[UF_PATH].off;
        size_t pn = u.field_data[UF_PATH].len;
        if (!text_ok(p, pn, true))
            return *why = "the path holds a byte or escape that is not allowed", DCGW_EINVAL;
        while (pn && p[pn - 1] == '/')
            pn--;
        memcpy(out->path, p, pn);
        out->path[pn] = '\0';
    }
    if (u.field_set & (1 << UF_QUERY)) {
        const char *q = url + u.field_data[UF_QUERY].off;
        size_t qn = u.field_data[UF_QUERY].len;
        if (!text_ok(q, qn, false))
            return *why = "the query holds a byte that is not allowed", DCGW_EINVAL;
        memcpy(out->query, q, qn);
        out->query[qn] = '\0';
        out->has_query = qn > 0;
    }
    bool v6 = strchr(out->host, ':') != NULL;
    snprintf(out->origin, sizeof(out->origin), "%s://%s%s%s:%u", out->https ? "https" : "http",
             v6 ? "[" : "", out->host, v6 ? "]" : "", out->port);
    return 0;
}

/* A segment that means "." or ".." once "%2e" is read as '.': 1, 2, or 0. */
static int dots(const char *s, size_t n)
{
    int d = 0;
    size_t i = 0;
    while (i < n && d < 3) {
        if (s[i] == '.')
            i++;
        else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e')
            i += 3;
        else
            return 0;
        d++;
    }
    return i == n && d <= 2 ? d : 0;
}

struct seg {
    size_t off, len;
};

/* Writes path p (starting with '/') without dot segments into out (room for n + 1). */
static int remove_dots(const char *p, size_t n, char *out, size_t *outn)
{
    size_t cap = n + 1, k = 0; /* every byte may end a segment ("////") */
    struct seg *st = malloc(cap * sizeof(*st));
    if (!st)
        return DCGW_ENOMEM;
    bool trailing = false;
    size_t i = 1;
    for (;;) {
        size_t e = i;
        while (e < n && p[e] != '/')
            e++;
        int d = dots(p + i, e - i);
        bool last = e >= n;
        if (d == 1) {
            trailing = last;
        } else if (d == 2) {
            if (k)
                k--;
            trailing = last;
        } else {
            st[k].off = i;
            st[k].len = e - i;
            k++;
            trailing = false;
        }
        if (last)
            break;
        i = e + 1;
    }
    size_t o = 0;
    for (size_t j = 0; j < k; j++) {
        out[o++] = '/';
        memcpy(out + o, p + st[j].off, st[j].len);
        o += st[j].len;
    }
    if (trailing || o == 0)
        out[o++] = '/';
    out[o] = '\0';
    *outn = o;
    free(st);
    return 0;
}

int dcgw_http_rewrite(const struct dcgw_http_base *b, const char *target, size_t n, char **out,
                      const char **why)
{
    const char *path = target, *query = NULL;
    size_t pn = n, qn = 0;
    *out = NULL;
    *why = "not an origin-form or absolute-form target";
    if (n == 0)
        return DCGW_EMALFORMED;
    if (target[0] != '/') {
        struct http_parser_url u;
        http_parser_url_init(&u);
        if (http_parser_parse_url(target, n, 0, &u) != 0 || !(u.field_set & (1 << UF_SCHEMA)) ||
            !(u.field_set & (1 << UF_HOST)))
            return DCGW_EMALFORMED;
        bool https = field_eq(target, &u, UF_SCHEMA, "https");
        if (!https && !field_eq(target, &u, UF_SCHEMA, "http"))
            return *why = "the scheme must be http or https", DCGW_EMALFORMED;
        if (u.field_set & ((1 << UF_USERINFO) | (1 << UF_FRAGMENT)))
            return *why = "userinfo or fragment in the target", DCGW_EMALFORMED;
        char host[256];
        if (u.field_data[UF_HOST].len >= sizeof(host))
            return *why = "another host", DCGW_EDENIED;
        lower_copy(host, sizeof(host), target + u.field_data[UF_HOST].off,
                   u.field_data[UF_HOST].len);
        uint16_t port = (u.field_set & (1 << UF_PORT)) ? u.port : https ? 443 : 80;
        if (strcmp(host, b->host) != 0 || port != b->port || https != b->https)
            return *why = "an absolute URL naming another origin than the replacement URL's",
                   DCGW_EDENIED;
        path = "/";
        pn = 1;
        if (u.field_set & (1 << UF_PATH)) {
            path = target + u.field_data[UF_PATH].off;
            pn = u.field_data[UF_PATH].len;
        }
        if (u.field_set & (1 << UF_QUERY)) {
            query = target + u.field_data[UF_QUERY].off;
            qn = u.field_data[UF_QUERY].len;
        }
    } else {
        const char *q = memchr(target, '?', n);
        if (q) {
            pn = (size_t)(q - target);
            query = q + 1;
            qn = n - pn - 1;
        }
    }
    if (!text_ok(path, pn, true) || (query && !text_ok(query, qn, false)))
        return *why = "a byte or escape that is not allowed in the target (control, space, "
                      "'\\\\', '#', %2f, %5c)",
               DCGW_EMALFORMED;
    size_t plen = strlen(b->path), blen = strlen(b->query);
    size_t cap = strlen(b->origin) + plen + pn + 2 + blen + qn + 3;
    char *u = malloc(cap), *np = malloc(pn + 2);
    if (!u || !np) {
        free(u);
        free(np);
        return DCGW_ENOMEM;
    }
    size_t nn;
    if (remove_dots(path, pn, np, &nn) < 0) {
        free(u);
        free(np);
        return DCGW_ENOMEM;
    }
    int o = snprintf(u, cap, "%s%s%s", b->origin, b->path, np);
    if (b->has_query || qn)
        snprintf(u + o, cap - (size_t)o, "?%s%s%.*s", b->query, b->has_query && qn ? "&" : "",
                 (int)qn, query ? query : "");
    free(np);
    *out = u;
    *why = NULL;
    return 0;
}

bool dcgw_http_header_name_valid(const char *name, bool empty_ok)
{
    if (!name || !*name)
        return empty_ok && name;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     (c && strchr("!#$%&'*+-.^_`|~", c));
        if (!tchar)
            return false;
    }
    return strlen(name) <= 64;
}

/* Does the comma-separated list v name the field (name, n)? */
static bool list_names(const char *v, const char *name, size_t n)
{
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *e = v;
        while (*e && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        if ((size_t)(e - v) == n && strncasecmp(v, name, n) == 0)
            return true;
        v = e;
    }
    return false;
}

bool dcgw_http_hop_by_hop(const char *name, size_t n, const char *connection_value)
{
    static const char *const fixed[] = {"connection",
                                        "keep-alive",
                                        "proxy-connection",
                                        "te",
                                        "trailer",
                                        "transfer-encoding",
                                        "upgrade",
                                        "proxy-authenticate",
                                        "proxy-authorization"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strlen(fixed[i]) == n && strncasecmp(fixed[i], name, n) == 0)
            return true;
    return list_names(connection_value, name, n);
}
