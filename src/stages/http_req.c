/* Whole HTTP/1.1 requests out of http-parser's callbacks (docs/bootstrap.md). */
#include "dcgw/stages/http_req.h"

#include <http_parser.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"

enum { FIELD_OVERHEAD = 4 /* ": " and CRLF */ };

struct dcgw_http_reader {
    http_parser hp;
    http_parser_settings cb;
    struct dcgw_http_reader_limits lim;
    struct dcgw_http_request *cur; /* being read */
    size_t header_bytes;           /* of cur: target + fields + overhead */
    int last;                      /* kind of the last piece (KIND_*) */
    bool headers_done;             /* of cur */
    unsigned status;               /* error status once failed */
    const char *why;
    /* during feed */
    void (*on_request)(void *ud, struct dcgw_http_request *rq);
    void *ud;
};

void dcgw_http_request_free(struct dcgw_http_request *rq)
{
    if (!rq)
        return;
    free(rq->block);
    free(rq->body);
    free(rq);
}

const char *dcgw_http_request_field(const struct dcgw_http_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_fields; i++)
        if (strcasecmp(rq->fields[i].name, name) == 0)
            return rq->fields[i].value;
    return NULL;
}

static int fail(struct dcgw_http_reader *r, unsigned status, const char *why)
{
    if (!r->status) {
        r->status = status;
        r->why = why;
    }
    return -1;
}

/* Appends to the request's block; the block grows within max_header_bytes (+ NULs). */
static int block_add(struct dcgw_http_reader *r, const char *at, size_t n, bool terminate)
{
    struct dcgw_http_request *rq = r->cur;
    r->header_bytes += n;
    if (r->header_bytes > r->lim.max_header_bytes)
        return fail(r, 431, "request line and header fields over max_header_bytes");
    size_t need = rq->block_len + n + 1;
    if (need > rq->block_cap) {
        size_t cap = rq->block_cap ? rq->block_cap * 2 : 512;
        while (cap < need)
            cap *= 2;
        char *b = realloc(rq->block, cap);
        if (!b)
            return fail(r, 503, "out of memory");
        rq->block = b;
        rq->block_cap = cap;
    }
    memcpy(rq->block + rq->block_len, at, n);
    rq->block_len += n;
    if (terminate)
        rq->block[rq->block_len++] = '\0';
    return 0;
}

/* A piece of target, name or value continues the last string: drop its NUL first. */
static int block_continue(struct dcgw_http_reader *r, const char *at, size_t n)
{
    r->cur->block_len--;
    return block_add(r, at, n, true);
}

static int on_begin(http_parser *hp)
{
    struct dcgw_http_reader *r = hp->data;
    struct dcgw_http_request *rq = calloc(1, sizeof(*rq));
    if (!rq)
        return fail(r, 503, "out of memory");
    r->cur = rq;
    r->header_bytes = 0;
    r->last = 0;
    r->headers_done = false;
    return 0;
}

/* Target, names and values arrive in pieces (a piece per callback, more than one when the
 * text spans two feeds). Offsets into the block are kept while it may still move; they
 * become pointers at headers_complete. Trailer fields of a chunked body are counted
 * against max_header_bytes and dropped. */
enum { KIND_NONE, KIND_TARGET, KIND_NAME, KIND_VALUE };

static int piece(struct dcgw_http_reader *r, int kind, const char *at, size_t n)
{
    struct dcgw_http_request *rq = r->cur;
    bool cont = r->last == kind;
    r->last = kind;
    if (r->headers_done) {
        r->header_bytes += n + (cont ? 0 : FIELD_OVERHEAD);
        return r->header_bytes > r->lim.max_header_bytes
                   ? fail(r, 431, "trailer fields over max_header_bytes")
                   : 0;
    }
    if (cont) {
        size_t *len = kind == KIND_TARGET ? &rq->target_len
                      : kind == KIND_NAME ? &rq->fields[rq->n_fields - 1].name_len
                                          : &rq->fields[rq->n_fields - 1].value_len;
        *len += n;
        return block_continue(r, at, n);
    }
    if (kind == KIND_TARGET) {
        rq->target_len = n;
    } else if (kind == KIND_NAME) {
        if (rq->n_fields == DCGW_HTTP_HEADERS_MAX)
            return fail(r, 431, "more than 100 header fields");
        struct dcgw_http_field *f = &rq->fields[rq->n_fields++];
        f->name = (char *)(uintptr_t)rq->block_len; /* an offset until headers_complete */
        f->name_len = n;
        r->header_bytes += FIELD_OVERHEAD;
    } else {
        struct dcgw_http_field *f = &rq->fields[rq->n_fields - 1];
        f->value = (char *)(uintptr_t)rq->block_len;
        f->value_len = n;
    }
    return block_add(r, at, n, true);
}

static int on_url(http_parser *hp, const char *at, size_t n)
{
    return piece(hp->data, KIND_TARGET, at, n);
}

static int on_field(http_parser *hp, const char *at, size_t n)
{
    return piece(hp->data, KIND_NAME, at, n);
}

static int on_value(http_parser *hp, const char *at, size_t n)
{
    return piece(hp->data, KIND_VALUE, at, n);
}

static int on_headers_complete(http_parser *hp)
{
    struct dcgw_http_reader *r = hp->data;
    struct dcgw_http_request *rq = r->cur;
    if (!rq->target_len)
        return fail(r, 400, "no request target");
    if (hp->http_major != 1)
        return fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    if (hp->method == HTTP_CONNECT)
        return fail(r, 405, "CONNECT is not proxied");
    /* offsets become pointers: the block does not move any more (offset 0 is the target,
     * so a value offset of 0 means no value was reported: it is the name's NUL) */
    r->headers_done = true;
    rq->target = rq->block;
    for (size_t i = 0; i < rq->n_fields; i++) {
        struct dcgw_http_field *f = &rq->fields[i];
        f->name = rq->block + (uintptr_t)f->name;
        f->value = f->value ? rq->block + (uintptr_t)f->value : f->name + f->name_len;
    }
    const char *m = http_method_str((enum http_method)hp->method);
    size_t ml = strlen(m);
    if (ml >= sizeof(rq->method))
        return fail(r, 400, "unknown method");
    memcpy(rq->method, m, ml + 1);
    rq->head = hp->method == HTTP_HEAD;
    rq->major = (uint8_t)hp->http_major;
    rq->minor = (uint8_t)hp->http_minor;
    rq->chunked = (hp->flags & F_CHUNKED) != 0;
    rq->has_body = rq->chunked || (hp->content_length != ULLONG_MAX && hp->content_length > 0);
    if (hp->content_length != ULLONG_MAX && hp->content_length > r->lim.max_body_bytes)
        return fail(r, 413, "Content-Length over max_body_bytes");
    return 0;
}

static int on_body(http_parser *hp, const char *at, size_t n)
{
    struct dcgw_http_reader *r = hp->data;
    struct dcgw_http_request *rq = r->cur;
    if (rq->body_len + n > r->lim.max_body_bytes)
        return fail(r, 413, "request body over max_body_bytes");
    if (rq->body_len + n > rq->body_cap) {
        size_t cap = rq->body_cap ? rq->body_cap * 2 : 4096;
        while (cap < rq->body_len + n)
            cap *= 2;
        if (cap > r->lim.max_body_bytes)
            cap = r->lim.max_body_bytes;
        uint8_t *b = realloc(rq->body, cap);
        if (!b)
            return fail(r, 503, "out of memory");
        rq->body = b;
        rq->body_cap = cap;
    }
    memcpy(rq->body + rq->body_len, at, n);
    rq->body_len += n;
    return 0;
}

static int on_complete(http_parser *hp)
{
    struct dcgw_http_reader *r = hp->data;
    struct dcgw_http_request *rq = r->cur;
    rq->keep_alive = http_should_keep_alive(hp) != 0;
    rq->wire_bytes = r->header_bytes + rq->body_len;
    r->cur = NULL;
    r->on_request(r->ud, rq);
    return 0;
}

int dcgw_http_reader_new(const struct dcgw_http_reader_limits *lim, struct dcgw_http_reader **out)
{
    struct dcgw_http_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return DCGW_ENOMEM;
    r->lim = *lim;
    http_parser_init(&r->hp, HTTP_REQUEST);
    r->hp.data = r;
    http_parser_settings_init(&r->cb);
    r->cb.on_message_begin = on_begin;
    r->cb.on_url = on_url;
    r->cb.on_header_field = on_field;
    r->cb.on_header_value = on_value;
    r->cb.on_headers_complete = on_headers_complete;
    r->cb.on_body = on_body;
    r->cb.on_message_complete = on_complete;
    *out = r;
    return 0;
}

void dcgw_http_reader_free(struct dcgw_http_reader *r)
{
    if (!r)
        return;
    dcgw_http_request_free(r->cur);
    free(r);
}

static unsigned status_of(enum http_errno e)
{
    return e == HPE_HEADER_OVERFLOW ? 431 : 400;
}

int dcgw_http_reader_feed(struct dcgw_http_reader *r, const uint8_t *p, size_t n,
                          void (*on_request)(void *ud, struct dcgw_http_request *rq), void *ud)
{
    if (r->status)
        return DCGW_ESTATE;
    r->on_request = on_request;
    r->ud = ud;
    const char *s = (const char *)p;
    while (n) {
        size_t used = http_parser_execute(&r->hp, &r->cb, s, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&r->hp);
        if (e != HPE_OK) {
            if (!r->status) {
                r->status = status_of(e);
                r->why = http_errno_description(e);
            }
            dcgw_http_request_free(r->cur);
            r->cur = NULL;
            return DCGW_EPROTO;
        }
        if (!r->hp.upgrade)
            break; /* all of it consumed */
        /* An Upgrade request (not CONNECT, refused above) was read whole; dcgw does not
         * switch protocols (Upgrade is hop-by-hop and removed), so the stream goes on. */
        http_parser_init(&r->hp, HTTP_REQUEST);
        r->hp.data = r;
        s += used;
        n -= used;
    }
    return 0;
}

unsigned dcgw_http_reader_error(const struct dcgw_http_reader *r, const char **why)
{
    if (why)
        *why = r->why ? r->why : "";
    return r->status;
}

size_t dcgw_http_reader_pending(const struct dcgw_http_reader *r)
{
    return r->cur ? r->cur->block_len + r->cur->body_len : 0;
}
