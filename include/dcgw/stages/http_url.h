/* HTTP for the bootstrap proxy, the parts that are pure text: the replacement URL a
 * controller gives for a bootstrap stream, the rewrite of a UE's request target under it
 * (docs/bootstrap.md "The rewrite rule"), and which header fields are hop-by-hop.
 * No I/O, no allocation except where a function says it returns a heap string. */
#ifndef DCGW_HTTP_URL_H
#define DCGW_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"

/* A parsed replacement URL: http(s)://host[:port][/path][?query], no userinfo, no fragment. */
struct dcgw_http_base {
    bool https;
    uint16_t port;                 /* explicit, else 80 / 443 */
    char host[256];                /* lower case; an IPv6 address without brackets */
    char path[DCGW_HTTP_URL_MAX];  /* "" or "/..." without a trailing '/' */
    char query[DCGW_HTTP_URL_MAX]; /* without the '?' */
    bool has_query;
    char origin[300]; /* "https://host:port", for curl's URL */
};

/* Parses a replacement URL. 0, or DCGW_EINVAL with *why (static text). */
int dcgw_http_base_parse(const char *url, struct dcgw_http_base *out, const char **why);

/* The URL dcgw asks the DCSF for a UE's request target (origin-form "/p?q", or absolute-form
 * "http://host/p?q" naming the base's own host and port), as a heap string in *out.
 * Dot segments are removed (RFC 3986 §5.2.4; "%2e" counts as '.') so the result never
 * leaves the base path; the base's query comes first, then '&' and the target's.
 * DCGW_EMALFORMED (400: not a usable target: asterisk-form, fragment, encoded '/' or '\',
 * control bytes, userinfo, another scheme), DCGW_EDENIED (403: absolute-form naming another
 * host or port), DCGW_ENOMEM. *why says which (static text). */
int dcgw_http_rewrite(const struct dcgw_http_base *b, const char *target, size_t n, char **out,
                      const char **why);

/* RFC 9110 §5.1 token (a header name); empty_ok admits "". */
bool dcgw_http_header_name_valid(const char *name, bool empty_ok);

/* Header fields a proxy never forwards (RFC 9110 §7.6.1): Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding,
 * Upgrade; and any field the message's Connection header names (connection_value, may be
 * NULL). Names compare case-insensitively. */
bool dcgw_http_hop_by_hop(const char *name, size_t n, const char *connection_value);

#endif
