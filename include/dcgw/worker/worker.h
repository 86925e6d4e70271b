/* A worker process: one libuv loop, its UDP socket(s), its sessions (DESIGN.md §3).
 * Started by the master with the socketpair as fd 3; gets its configuration over it. */
#ifndef DCGW_WORKER_H
#define DCGW_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Runs worker `index` talking to the master on fd. Returns the exit code. */
int dcgw_worker_run(uint32_t index, int fd);

/* An in-process worker, for tests and fuzzing: a worker process's request handling,
 * sessions and events, without its pipe and without a UDP socket (its legs take no
 * datagrams; SDP names data_plane.address). Frames from the master go in through
 * dcgw_worker_inproc_input, exactly as they would arrive on the pipe (the first one an
 * Internal.init with the configuration); frames for the master (the hello, responses,
 * events) go to to_master, packed, valid during the call. to_master may feed input back
 * in only after it returns (queue it). Timers run on `loop`, which the caller runs. */
struct dcgw_worker_inproc;
typedef void (*dcgw_worker_frame_fn)(void *ud, const uint8_t *frame, size_t n);
int dcgw_worker_inproc_new(uv_loop_t *loop, uint32_t index, dcgw_worker_frame_fn to_master,
                           void *ud, struct dcgw_worker_inproc **out);
/* One frame from the master. 0, or the error the pipe would close on (DCGW_EMALFORMED, a
 * refused initial configuration). */
int dcgw_worker_inproc_input(struct dcgw_worker_inproc *x, const uint8_t *frame, size_t n);
/* Closes every session (session_closed events go to to_master), runs the loop until the
 * worker's handles are closed (it should hold nothing else) and frees everything. */
void dcgw_worker_inproc_free(struct dcgw_worker_inproc *x);

#endif
