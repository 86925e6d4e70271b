/* HTTP/1.1 requests read from a data channel treated as a byte stream (docs/bootstrap.md):
 * a request may span several messages and one message may hold several (pipelined)
 * requests. Parsing is http-parser's (libhttp-parser, RFC 7230 framing: Content-Length and
 * chunked bodies, which it decodes); this module collects what it reports into whole
 * requests, enforces the size limits and maps parser errors to the status to answer.
 * No I/O. */
#ifndef DCGW_HTTP_REQ_H
#define DCGW_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"

struct dcgw_http_field {
    char *name, *value; /* NUL-terminated, in the request's block */
    size_t name_len, value_len;
};

/* One request, owned by whoever on_request gave it to; dcgw_http_request_free. */
struct dcgw_http_request {
    char method[24];
    bool head;            /* HEAD: the response has no body */
    uint8_t major, minor; /* HTTP/major.minor */
    bool keep_alive;      /* RFC 9112 §9.3: the connection (channel) stays after it */
    bool chunked;         /* the body came chunked (it is decoded in body) */
    char *target;         /* NUL-terminated */
    size_t target_len;
    struct dcgw_http_field fields[DCGW_HTTP_HEADERS_MAX];
    size_t n_fields;
    uint8_t *body;
    size_t body_len;
    bool has_body;     /* Content-Length or chunked given (body_len may be 0) */
    size_t wire_bytes; /* about the bytes it took: fields, target, body */
    /* private */
    char *block;
    size_t block_len, block_cap;
    size_t body_cap;
};

void dcgw_http_request_free(struct dcgw_http_request *rq);
/* The value of the first field called name (case-insensitive), or NULL. */
const char *dcgw_http_request_field(const struct dcgw_http_request *rq, const char *name);

struct dcgw_http_reader_limits {
    size_t max_header_bytes; /* request line and fields: past it 431 */
    size_t max_body_bytes;   /* past it 413 */
};

struct dcgw_http_reader;

int dcgw_http_reader_new(const struct dcgw_http_reader_limits *lim, struct dcgw_http_reader **out);
void dcgw_http_reader_free(struct dcgw_http_reader *r);

/* Feeds bytes of the stream. Every request they complete goes to on_request in stream order
 * (it takes ownership; it must not free the reader). Returns 0, or DCGW_EPROTO once the
 * stream is unusable: dcgw_http_reader_error says what to answer, and all later input is
 * ignored (DCGW_ESTATE). Requests completed before the error were delivered. */
int dcgw_http_reader_feed(struct dcgw_http_reader *r, const uint8_t *p, size_t n,
                          void (*on_request)(void *ud, struct dcgw_http_request *rq), void *ud);

/* After DCGW_EPROTO: the status to answer (400 malformed, 405 CONNECT, 413 body too large,
 * 431 fields too large or too many, 505 not HTTP/1.x) and a short reason (static text). */
unsigned dcgw_http_reader_error(const struct dcgw_http_reader *r, const char **why);

/* Bytes of a request received but not complete yet (for the channel's memory bound). */
size_t dcgw_http_reader_pending(const struct dcgw_http_reader *r);

#endif
