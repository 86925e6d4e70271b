/* A blocking control-protocol client: dcgwctl, the bench and tests use it. One request
 * at a time; events that arrive meanwhile are queued (bounded) for next_event. */
#ifndef DCGW_CTLCLIENT_H
#define DCGW_CTLCLIENT_H

#include <stddef.h>

#include "dcgw.pb-c.h"

struct dcgw_ctlclient;

struct dcgw_ctlclient_opts {
    const char *socket;          /* Unix socket path, or NULL to use tcp */
    const char *tcp;             /* "host:port" */
    const char *cert, *key, *ca; /* client certificate and the CA of the server (TLS) */
    size_t max_frame;            /* 0: the protocol ceiling */
};

/* Connects. On error returns a DCGW_E* code with a reason in err. */
int dcgw_ctlclient_connect(const struct dcgw_ctlclient_opts *o, struct dcgw_ctlclient **out,
                           char *err, size_t errcap);
/* Sends req (its id is assigned here) and waits up to timeout_ms for the response.
 * *resp is freed with dcgw__response__free_unpacked(*resp, NULL). DCGW_ETIMEOUT,
 * DCGW_ECLOSED, DCGW_EMALFORMED on failure. */
int dcgw_ctlclient_call(struct dcgw_ctlclient *c, Dcgw__Request *req, Dcgw__Response **resp,
                        int timeout_ms);
/* Next event, waiting up to timeout_ms (-1: forever). Free with dcgw__event__free_unpacked. */
int dcgw_ctlclient_next_event(struct dcgw_ctlclient *c, Dcgw__Event **ev, int timeout_ms);
/* Sends raw bytes (tests of malformed input). */
int dcgw_ctlclient_send_raw(struct dcgw_ctlclient *c, const void *p, size_t n);
/* Events dropped because the queue was full. */
size_t dcgw_ctlclient_events_dropped(const struct dcgw_ctlclient *c);
void dcgw_ctlclient_free(struct dcgw_ctlclient *c);

#endif
