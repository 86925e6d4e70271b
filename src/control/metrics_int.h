/* The master's side of /metrics (docs/metrics.md): the workers' latest snapshots, the
 * master's own counters, the text exposition (metrics.c) and the HTTP server that serves
 * it inside the master's loop (metrics_http.c). Not a public header. */
#ifndef DCGW_CONTROL_METRICS_INT_H
#define DCGW_CONTROL_METRICS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dcgw.pb-c.h"
#include "dcgw/msg/config.h"

struct master;
struct worker;
struct metrics_http;

/* metrics.c */

/* Creates the state and, when metrics.enabled, the listener. An error (the address is
 * taken, not local, ...) is logged and fatal for the daemon, like the control socket's. */
int dcgw__metrics_start(struct master *m);
/* Closes the listener (the loop can end); free after the loop ended. Both idempotent. */
void dcgw__metrics_stop(struct master *m);
void dcgw__metrics_free(struct master *m);
/* A worker's snapshot (Internal.metrics): kept until the next one; never waited for. */
void dcgw__metrics_from_worker(struct master *m, const struct worker *w,
                               const Dcgw__WorkerMetrics *wm);
/* A control request arrived (counted by type), and one was answered: t0_ns is when it
 * arrived (uv_hrtime). */
void dcgw__metrics_request(struct master *m, uint32_t op);
void dcgw__metrics_request_done(struct master *m, uint32_t op, uint64_t t0_ns);
/* Requests answered so far (to tell whether a handler answered synchronously). */
uint64_t dcgw__metrics_requests_done(const struct master *m);
/* SIGHUP: metrics.enabled and metrics.listen apply at restart; next keeps the running
 * values (with a warning when the file changed them). */
void dcgw__metrics_reload(struct master *m, struct dcgw_config *next);
/* The text exposition format (0.0.4) of every family, malloc'd into *out (*len bytes).
 * DCGW_ETOOBIG past DCGW_METRICS_BODY_MAX, DCGW_ENOMEM. */
int dcgw__metrics_render(struct master *m, char **out, size_t *len);

/* metrics_http.c: GET /metrics on listen (numeric host:port), served by libmicrohttpd
 * from the master's libuv loop (no thread). */
int dcgw__metrics_http_start(struct master *m, const char *listen, struct metrics_http **out);
void dcgw__metrics_http_stop(struct metrics_http *h);

#endif
