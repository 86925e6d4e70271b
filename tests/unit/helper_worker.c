/* Shared by the worker's tests: see helper_worker.h. */
#include "helper_worker.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/config.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/pbjson.h"
#include "dcgw/stages/sctp.h"
#include "../../src/worker/worker_int.h"

struct wh_world wh;

static void push(struct wh_frame *q, size_t *n, const uint8_t *p, size_t len)
{
    ck_assert_uint_lt(*n, WH_QMAX);
    q[*n].p = malloc(len ? len : 1);
    memcpy(q[*n].p, p, len);
    q[*n].n = len;
    (*n)++;
}

static void master_to_worker(void *ud, uint32_t worker, const uint8_t *p, size_t n)
{
    (void)ud;
    ck_assert_uint_eq(worker, 0);
    push(wh.to_worker, &wh.n_to_worker, p, n);
}

static void worker_to_master(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    push(wh.to_master, &wh.n_to_master, p, n);
}

static void to_controller(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    ck_assert_ptr_nonnull(f);
    if (f->body_case == DCGW__FRAME__BODY_RESPONSE) {
        if (wh.last)
            dcgw__response__free_unpacked(wh.last, NULL);
        wh.last = f->response;
        f->response = NULL;
        f->body_case = DCGW__FRAME__BODY__NOT_SET;
    }
    dcgw__frame__free_unpacked(f, NULL);
}

void wh_pump(void)
{
    for (int r = 0; r < 32 && (wh.n_to_worker || wh.n_to_master); r++) {
        size_t k = wh.n_to_worker;
        wh.n_to_worker = 0;
        struct wh_frame batch[WH_QMAX];
        memcpy(batch, wh.to_worker, k * sizeof(batch[0]));
        for (size_t i = 0; i < k; i++) {
            dcgw_worker_inproc_input(wh.worker, batch[i].p, batch[i].n);
            free(batch[i].p);
        }
        k = wh.n_to_master;
        wh.n_to_master = 0;
        memcpy(batch, wh.to_master, k * sizeof(batch[0]));
        for (size_t i = 0; i < k; i++) {
            dcgw_master_inproc_from_worker(wh.master, 0, batch[i].p, batch[i].n);
            free(batch[i].p);
        }
        uv_run(&wh.worker_loop, UV_RUN_NOWAIT);
    }
}

void wh_start(const char *text, bool socket)
{
    struct dcgw_config cfg;
    char err[DCGW_CONFIG_ERR_MAX];
    ck_assert_msg(dcgw_config_parse(text, "<test>", &cfg, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(uv_loop_init(&wh.master_loop), 0);
    ck_assert_int_eq(uv_loop_init(&wh.worker_loop), 0);
    ck_assert_int_eq(dcgw_worker_inproc_new(&wh.worker_loop, 0, worker_to_master, NULL, &wh.worker),
                     0);
    dcgw__worker_of_inproc(wh.worker)->inproc.socket = socket;
    ck_assert_int_eq(dcgw_master_inproc_new(&cfg, text, &wh.master_loop, master_to_worker,
                                            to_controller, NULL, &wh.master),
                     0);
    wh_pump();
}

void wh_stop(void)
{
    dcgw_worker_inproc_free(wh.worker);
    for (size_t i = 0; i < wh.n_to_master; i++) {
        dcgw_master_inproc_from_worker(wh.master, 0, wh.to_master[i].p, wh.to_master[i].n);
        free(wh.to_master[i].p);
    }
    for (size_t i = 0; i < wh.n_to_worker; i++)
        free(wh.to_worker[i].p);
    wh.n_to_master = wh.n_to_worker = 0;
    dcgw_master_inproc_free(wh.master);
    uv_run(&wh.master_loop, UV_RUN_NOWAIT);
    uv_loop_close(&wh.master_loop);
    uv_loop_close(&wh.worker_loop);
    if (wh.last)
        dcgw__response__free_unpacked(wh.last, NULL);
    wh.last = NULL;
    dcgw_sctp_handle_timers(100);
}

const Dcgw__Response *wh_request(json_t *req)
{
    json_object_set_new(req, "id", json_integer((json_int_t)++wh.seq));
    ProtobufCMessage *m = NULL;
    char err[256];
    ck_assert_msg(dcgw_pb_from_json(&dcgw__request__descriptor, req, &m, err, sizeof(err)) == 0,
                  "%s", err);
    json_decref(req);
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_REQUEST;
    f.request = (Dcgw__Request *)m;
    size_t n = dcgw__frame__get_packed_size(&f);
    uint8_t *buf = malloc(n);
    dcgw__frame__pack(&f, buf);
    dcgw_master_inproc_request(wh.master, buf, n);
    free(buf);
    protobuf_c_message_free_unpacked(m, NULL);
    wh_pump();
    ck_assert_ptr_nonnull(wh.last);
    ck_assert_uint_eq(wh.last->id, wh.seq);
    return wh.last;
}

json_t *wh_policy(void)
{
    return json_pack("{s:i, s:b, s:{s:b, s:b}, s:[{s:s, s:s}]}", "version", 1, "allow_dcep", 1,
                     "media", "allow_audio", 1, "allow_video", 1, "rules", "name", "all", "verdict",
                     "VERDICT_ALLOW");
}
