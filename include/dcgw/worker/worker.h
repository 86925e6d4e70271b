/* A worker process: one libuv loop, its UDP socket(s), its sessions (DESIGN.md §3).
 * Started by the master with the socketpair as fd 3; gets its configuration over it. */
#ifndef DCGW_WORKER_H
#define DCGW_WORKER_H

#include <stdint.h>

/* Runs worker `index` talking to the master on fd. Returns the exit code. */
int dcgw_worker_run(uint32_t index, int fd);

#endif
