/* MDC1: HTTP requests to the DCSF with libcurl's multi interface on a libuv loop
 * (curl_multi_socket_action driven by uv_poll and uv_timer). One dcgw_mdc1 per worker holds
 * the connection cache, so connections (HTTP/1.1 keep-alive, HTTP/2 multiplexed) are reused
 * per upstream across channels and sessions. A target is where one binding's requests go;
 * dcgw_mdc1_target_ops gives the upstream table the proxy stage (http_proxy.h) calls.
 *
 * Re-entrancy: resume and cancel only mark the transfer; the work is done from the loop
 * (never inside curl's or the proxy's callbacks). The proxy hears of a transfer through
 * dcgw_http_xfer_* from this module's libuv callbacks only. */
#ifndef DCGW_MDC1_H
#define DCGW_MDC1_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw/stages/http_proxy.h"

struct dcgw_mdc1_settings {
    uint32_t max_transfers;        /* in flight; one more gets DCGW_ELIMIT (503) */
    uint32_t max_host_connections; /* per host:port */
};

/* A binding's upstream. Strings are copied by dcgw_mdc1_target_new. */
struct dcgw_mdc1_target_settings {
    const char *host; /* the replacement URL's host (for CONNECT_TO) and port */
    uint16_t port;
    const char *connect_to; /* "ip:port" or NULL: resolve host */
    const char *local_addr; /* "ip" or "ip:port" or NULL */
    const char *ca_pem;     /* PEM text, or NULL */
    const char *ca_file;    /* PEM file, or NULL (neither: the system store) */
    const char *cert_file;  /* client certificate, or NULL */
    const char *key_file;
    int http_version; /* 0 auto, 1 HTTP/1.1, 2 HTTP/2 */
    uint32_t connect_timeout_ms;
    uint32_t request_timeout_ms; /* to the response head, and between body pieces */
};

struct dcgw_mdc1_stats {
    uint64_t started, completed, failed, timed_out, cancelled, refused_full;
    uint64_t connections; /* new connections opened (the rest were reused) */
    uint64_t bytes_received;
};

struct dcgw_mdc1;
struct dcgw_mdc1_target;

int dcgw_mdc1_new(uv_loop_t *loop, const struct dcgw_mdc1_settings *s, struct dcgw_mdc1 **out);
/* Cancels what runs (no event follows) and closes its handles; the memory goes with the
 * last close callback. Call before the loop's last run. */
void dcgw_mdc1_free(struct dcgw_mdc1 *m);
const struct dcgw_mdc1_stats *dcgw_mdc1_stats(const struct dcgw_mdc1 *m);
size_t dcgw_mdc1_running(const struct dcgw_mdc1 *m);

int dcgw_mdc1_target_new(struct dcgw_mdc1 *m, const struct dcgw_mdc1_target_settings *s,
                         struct dcgw_mdc1_target **out);
/* Transfers started through it keep running (they copied what they need). */
void dcgw_mdc1_target_free(struct dcgw_mdc1_target *t);
void dcgw_mdc1_target_ops(struct dcgw_mdc1_target *t, struct dcgw_http_upstream_ops *out);

#endif
