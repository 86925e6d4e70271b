/* An in-process master and worker (master.h, worker.h) for the worker's tests
 * (test_worker_*.c): frames through queues, no pipe; the controller's requests as JSON
 * (dcgwctl's form). The worker has no UDP socket, or one on loopback that takes datagrams
 * like a worker process's (its io, then datapath.c). Each call fails the running test when
 * something it needs does not work. */
#ifndef DCGW_TEST_WORKER_H
#define DCGW_TEST_WORKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw.pb-c.h"
#include "dcgw/control/master.h"
#include "dcgw/worker/worker.h"

enum { WH_QMAX = 64 };

struct wh_frame {
    size_t n;
    uint8_t *p;
};

/* The one master and worker of the running test. */
struct wh_world {
    uv_loop_t master_loop, worker_loop;
    struct dcgw_master_inproc *master;
    struct dcgw_worker_inproc *worker;
    struct wh_frame to_worker[WH_QMAX], to_master[WH_QMAX];
    size_t n_to_worker, n_to_master;
    Dcgw__Response *last; /* the last response the controller got */
    uint64_t seq;
};
extern struct wh_world wh;

/* Starts both with the configuration text (one worker); with `socket` the worker opens its
 * UDP socket (data_plane.address and port) as a worker process does. */
void wh_start(const char *config, bool socket);
/* Frees both (the worker's sessions close first). */
void wh_stop(void);
/* Moves the queued frames both ways, running the worker's loop once (no wait) each round,
 * until none is left. */
void wh_pump(void);
/* Sends a request (JSON, dcgwctl's form; taken) and returns the response (valid until the
 * next one). */
const Dcgw__Response *wh_request(json_t *req);
/* A policy that allows everything (DCEP, audio, video, one rule allowing all). */
json_t *wh_policy(void);

#endif
