/* The Nmf_MRM service inside the master: an HTTP/2 server on the master's loop
 * (nmf_server.c, nghttp2), the adapter that turns its requests into control requests
 * (nmf.c), and the bearer-token check (nmf_auth.c). Not a public header. */
#ifndef DCGW_NMF_INT_H
#define DCGW_NMF_INT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw/control/nmf.h"
#include "dcgw/msg/config.h"

struct master;

/* ---- nmf.c: started and stopped by master.c */

/* Starts the service when cfg->nmf.enabled (else does nothing and returns 0). Errors
 * (address in use, unreadable TLS key or policy) are start-up errors: DCGW_ECONFIG / EIO. */
int dcgw__nmf_start(struct master *m);
/* Closes the listener and every connection, detaches from the master; requests still
 * waiting for a worker are dropped. Safe when not started. */
void dcgw__nmf_stop(struct master *m);

/* ---- nmf_server.c */

struct nmf_server;

/* One complete request (END_STREAM seen). Strings are NUL-terminated, "" when absent;
 * everything is valid during the callback only. */
struct nmf_request {
    uint64_t token; /* names the stream for dcgw__nmf_server_respond */
    const char *method;
    const char *path; /* without the query */
    const char *content_type;
    const char *authorization;
    const uint8_t *body;
    size_t body_len;
    bool too_large; /* the body passed max_body; what came is not kept */
};
typedef void (*nmf_request_fn)(void *ud, const struct nmf_request *req);

struct nmf_header {
    const char *name; /* lower case */
    const char *value;
};

/* Listens on cfg->nmf.listen: TLS with ALPN h2 when a cert is configured, else h2c with
 * prior knowledge. fn is called once per complete request. */
int dcgw__nmf_server_start(uv_loop_t *loop, const struct dcgw_config *cfg, nmf_request_fn fn,
                           void *ud, struct nmf_server **out);
/* Answers request token with status, headers and a body (taken: malloc'd, may be NULL).
 * Returns false (and frees body) when the stream is gone (reset, connection closed). May
 * be called from inside the request callback or later. */
bool dcgw__nmf_server_respond(struct nmf_server *s, uint64_t token, int status,
                              const struct nmf_header *h, size_t nh, char *body, size_t len);
/* Closes everything; the memory goes when the last handle has closed. */
void dcgw__nmf_server_stop(struct nmf_server *s);

/* ---- nmf_auth.c */

struct nmf_auth {
    EVP_PKEY *key; /* the NRF's; NULL: no check */
    char audience[DCGW_CONFIG_ADDR_MAX];
    uint32_t clock_skew_s;
};
/* Loads the NRF's public key (PEM public key or certificate). */
int dcgw__nmf_auth_init(struct nmf_auth *a, const struct dcgw_config *cfg, char *err,
                        size_t errcap);
void dcgw__nmf_auth_dispose(struct nmf_auth *a);
/* Checks "Bearer <JWS>" (RFC 6750 §2.1; TS 33.501 §13.4.1.1: signed by the NRF, scope
 * nmf-mrm, in force, aud when configured) at time now. 0, or a problem: 401 (missing or
 * invalid token) or 403 (scope), with *www the WWW-Authenticate value (static). */
int dcgw__nmf_auth_check(const struct nmf_auth *a, const char *authorization, uint64_t now_s,
                         struct dcgw_nmf_problem *p, const char **www);

#endif
