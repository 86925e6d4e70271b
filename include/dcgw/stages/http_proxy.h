/* The HTTP proxy of one bootstrap data channel (docs/bootstrap.md): requests read from the
 * channel's messages (http_req.h), rewritten under the replacement URL (http_url.h) and
 * handed to an upstream (the DCSF over MDC1; net/mdc1.h implements it); responses framed
 * back in request order, in messages no larger than the UE's max-message-size, paced by
 * the channel's buffered amount: the upstream is paused while the UE has a window's worth
 * of response bytes to take, and resumed as it drains.
 *
 * A pure stage: it talks to the channel and to the upstream only through the two tables
 * below, so unit tests drive it with fakes. Neither table's functions may call back into
 * the proxy synchronously (start, resume, cancel, send, close, failed, admit); the upstream
 * reports through dcgw_http_xfer_* from its own callbacks, and calls dcgw_http_xfer_flush
 * after a batch of head and body pieces. */
#ifndef DCGW_HTTP_PROXY_H
#define DCGW_HTTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/stages/http_req.h"
#include "dcgw/stages/http_url.h"

/* The same values as proto HttpFailure. */
enum dcgw_http_failure_kind {
    DCGW_HTTP_MALFORMED = 1,
    DCGW_HTTP_HEADERS_TOO_LARGE = 2,
    DCGW_HTTP_BODY_TOO_LARGE = 3,
    DCGW_HTTP_FORBIDDEN_TARGET = 4,
    DCGW_HTTP_UNREACHABLE = 5,
    DCGW_HTTP_TIMEOUT = 6,
    DCGW_HTTP_OVERLOADED = 7,
    DCGW_HTTP_CUT_SHORT = 8,
    DCGW_HTTP_RATE_LIMITED = 9,
    DCGW_HTTP_METHOD = 10,
};

struct dcgw_http_failure {
    enum dcgw_http_failure_kind kind;
    unsigned status; /* what the UE got; 0: the channel was closed instead */
    const char *method, *target, *upstream, *detail;
};

struct dcgw_http_proxy_settings {
    struct dcgw_http_base base;
    struct dcgw_http_reader_limits lim;
    uint32_t max_concurrent; /* requests in flight; one more gets 503 */
    size_t window_bytes;     /* response bytes held: our queue + the channel's buffer */
    size_t max_message_size; /* the UE's a=max-message-size */
    char header_name[64];    /* names session and leg to the DCSF; "" none */
    char header_value[192];
};

struct dcgw_http_proxy_stats {
    uint64_t requests;
    uint64_t by_class[6]; /* [1] 1xx .. [5] 5xx */
    uint64_t request_bytes, response_bytes;
    uint64_t upstream_sent, upstream_received;
    uint64_t latency_us_sum, latency_us_max, upstream_responses;
    uint64_t failed, paused;
};

/* What the proxy needs of its channel. */
struct dcgw_http_channel_ops {
    void *ud;
    /* One message toward the UE (n <= max_message_size): 0, DCGW_EAGAIN (not sent), or
     * another error (the channel is unusable). */
    int (*send)(void *ud, const uint8_t *p, size_t n);
    size_t (*buffered)(void *ud);    /* bytes queued toward the UE */
    void (*want_writable)(void *ud); /* call dcgw_http_proxy_writable once it drained */
    void (*close)(void *ud);         /* close the channel; the proxy is freed later */
    void (*failed)(void *ud, const struct dcgw_http_failure *f); /* may be NULL */
    bool (*admit)(void *ud, const struct dcgw_http_request *rq); /* NULL: all; false: 429 */
    uint64_t (*now_us)(void *ud);
};

struct dcgw_http_hdr {
    const char *name, *value;
    size_t name_len, value_len;
};

struct dcgw_http_upstream_request {
    const char *method, *url;
    const struct dcgw_http_hdr *headers; /* end-to-end fields + the session header */
    size_t n_headers;
    const uint8_t *body; /* valid until done or cancel */
    size_t body_len;
    bool has_body, head;
};

struct dcgw_http_xfer;

struct dcgw_http_upstream_ops {
    void *ud;
    /* Starts a transfer whose events go to dcgw_http_xfer_*(x, ...), never from inside
     * this call. 0 and *handle, DCGW_ELIMIT (no room: 503), or another error (502). */
    int (*start)(void *ud, const struct dcgw_http_upstream_request *rq, struct dcgw_http_xfer *x,
                 void **handle);
    void (*resume)(void *ud, void *handle); /* after dcgw_http_xfer_body said DCGW_EAGAIN */
    void (*cancel)(void *ud, void *handle); /* no event follows */
};

struct dcgw_http_proxy;

/* set, ch and up are copied. */
int dcgw_http_proxy_new(const struct dcgw_http_proxy_settings *set,
                        const struct dcgw_http_channel_ops *ch,
                        const struct dcgw_http_upstream_ops *up, struct dcgw_http_proxy **out);
/* Cancels the transfers in flight; no callback. */
void dcgw_http_proxy_free(struct dcgw_http_proxy *p);
/* New settings for the requests read from now on (a binding changed). */
void dcgw_http_proxy_configure(struct dcgw_http_proxy *p,
                               const struct dcgw_http_proxy_settings *set);

/* One message the UE sent on the channel. */
void dcgw_http_proxy_input(struct dcgw_http_proxy *p, const uint8_t *msg, size_t n);
/* The channel drained (after want_writable). */
void dcgw_http_proxy_writable(struct dcgw_http_proxy *p);
const struct dcgw_http_proxy_stats *dcgw_http_proxy_stats(const struct dcgw_http_proxy *p);
/* Response bytes the proxy holds now (not counting the channel's buffer). */
size_t dcgw_http_proxy_held(const struct dcgw_http_proxy *p);

/* Bytes allocated for those response bytes (for tests of the memory bound). */
size_t dcgw_http_proxy_buffer_cap(const struct dcgw_http_proxy *p);

/* ---- from the upstream */

/* The response head (after any 1xx, which are not passed on). fields: as received. */
void dcgw_http_xfer_head(struct dcgw_http_xfer *x, unsigned status, const char *reason,
                         const struct dcgw_http_hdr *fields, size_t n);
/* A piece of the body: 0 taken, or DCGW_EAGAIN: not taken; pause and give it again after
 * upstream resume. */
int dcgw_http_xfer_body(struct dcgw_http_xfer *x, const uint8_t *p, size_t n);
/* What head and body gave since the last flush goes out (what the channel takes): call
 * it once the upstream read what it could for now, so that a response's head and body
 * share messages. */
void dcgw_http_xfer_flush(struct dcgw_http_xfer *x);
/* The transfer ended (what it gave is flushed): 0, DCGW_ETIMEOUT (504 / cut short), or another
 * error (502 / cut short). The handle is the upstream's to release; it is not cancelled after this.
 */
void dcgw_http_xfer_done(struct dcgw_http_xfer *x, int err, const char *detail);

#endif
