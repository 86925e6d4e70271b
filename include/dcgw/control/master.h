/* The master process: loads the configuration, supervises the workers, serves the
 * control socket, keeps the session directory and fans events out (DESIGN.md §3). */
#ifndef DCGW_MASTER_H
#define DCGW_MASTER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw/msg/config.h"

/* Runs until SIGTERM/SIGINT has drained the workers. cfg_path may be NULL (defaults);
 * cfg_text is the text cfg was parsed from (given to workers). Returns the exit code. */
int dcgw_master_run(const char *cfg_path, const struct dcgw_config *cfg, const char *cfg_text);

/* An in-process master, for tests and fuzzing: dcgwd's control plane (request checks and
 * routing, placement, the session directory, events) with no control socket and no
 * worker processes. cfg->workers workers (at most DCGW_MAX_WORKERS): frames for worker i
 * go to to_worker, packed and valid during the call (the first one its Internal.init);
 * frames from it come in through dcgw_master_inproc_from_worker (it is ready once its
 * hello did). One controller, subscribed to every event: its requests (packed Frames, as
 * written on the control socket) come in through dcgw_master_inproc_request, its
 * responses and events go to to_controller as packed Frames. Callbacks may feed input
 * back in only after they return (queue it). uv_now(loop) is the master's clock. */
struct dcgw_master_inproc;
typedef void (*dcgw_master_worker_fn)(void *ud, uint32_t worker, const uint8_t *frame, size_t n);
typedef void (*dcgw_master_ctl_fn)(void *ud, const uint8_t *frame, size_t n);
int dcgw_master_inproc_new(const struct dcgw_config *cfg, const char *cfg_text, uv_loop_t *loop,
                           dcgw_master_worker_fn to_worker, dcgw_master_ctl_fn to_controller,
                           void *ud, struct dcgw_master_inproc **out);
/* A frame from worker `worker`. DCGW_EMALFORMED (the pipe would close), DCGW_ERANGE. */
int dcgw_master_inproc_from_worker(struct dcgw_master_inproc *x, uint32_t worker,
                                   const uint8_t *frame, size_t n);
/* A frame from the controller; anything but a request is answered with an error, as on
 * the socket. */
void dcgw_master_inproc_request(struct dcgw_master_inproc *x, const uint8_t *frame, size_t n);
/* Frees the master; requests still waiting for a worker are dropped. */
void dcgw_master_inproc_free(struct dcgw_master_inproc *x);

#endif
