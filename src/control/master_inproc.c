/* An in-process master (master.h): master.c's state without its sockets and processes. */
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/control/master.h"
#include "dcgw/msg/ctlmsg.h"
#include "master_int.h"

struct dcgw_master_inproc {
    struct master m;
    struct controller *c;
    dcgw_master_worker_fn to_worker;
    dcgw_master_ctl_fn to_controller;
    void *ud;
};

static void send_packed(struct dcgw_master_inproc *x, int worker, const Dcgw__Frame *f)
{
    size_t n = dcgw__frame__get_packed_size(f);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return;
    dcgw__frame__pack(f, buf);
    if (worker >= 0)
        x->to_worker(x->ud, (uint32_t)worker, buf, n);
    else
        x->to_controller(x->ud, buf, n);
    free(buf);
}

static void to_worker(void *ud, uint32_t index, const Dcgw__Frame *f)
{
    send_packed(ud, (int)index, f);
}

static void on_response(void *ud, Dcgw__Response *r)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_RESPONSE;
    f.response = r;
    send_packed(ud, -1, &f);
}

static void on_event(void *ud, const Dcgw__Event *ev)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_EVENT;
    f.event = (Dcgw__Event *)ev;
    send_packed(ud, -1, &f);
}

static const struct dcgw__ctl_sink sink = {.on_response = on_response, .on_event = on_event};

int dcgw_master_inproc_new(const struct dcgw_config *cfg, const char *cfg_text, uv_loop_t *loop,
                           dcgw_master_worker_fn to_worker_fn, dcgw_master_ctl_fn to_controller,
                           void *ud, struct dcgw_master_inproc **out)
{
    *out = NULL;
    if (!cfg || !loop || !to_worker_fn || !to_controller || cfg->workers == 0 ||
        cfg->workers > DCGW_MAX_WORKERS)
        return DCGW_EINVAL;
    struct dcgw_master_inproc *x = calloc(1, sizeof(*x));
    if (!x)
        return DCGW_ENOMEM;
    struct master *m = &x->m;
    x->to_worker = to_worker_fn;
    x->to_controller = to_controller;
    x->ud = ud;
    dcgw__master_init(m, loop, cfg, cfg_text);
    m->to_worker = to_worker;
    m->to_worker_ud = x;
    x->c = m->cfg_text ? dcgw__master_ctl_attach(m, &sink, x) : NULL;
    if (!x->c) {
        dcgw_master_inproc_free(x);
        return DCGW_ENOMEM;
    }
    for (uint32_t i = 0; i < m->n_workers; i++) {
        m->workers[i].m = m;
        m->workers[i].index = i;
        dcgw__master_send_config(&m->workers[i], true);
    }
    *out = x;
    return 0;
}

int dcgw_master_inproc_from_worker(struct dcgw_master_inproc *x, uint32_t worker,
                                   const uint8_t *frame, size_t n)
{
    if (worker >= x->m.n_workers)
        return DCGW_ERANGE;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(frame, n);
    if (!f)
        return DCGW_EMALFORMED;
    int r = dcgw__master_from_worker(&x->m, &x->m.workers[worker], f);
    dcgw__frame__free_unpacked(f, NULL);
    return r;
}

void dcgw_master_inproc_request(struct dcgw_master_inproc *x, const uint8_t *frame, size_t n)
{
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(frame, n);
    if (f && f->body_case == DCGW__FRAME__BODY_REQUEST && f->request) {
        dcgw__master_ctl_request(&x->m, x->c, f->request);
    } else {
        Dcgw__Response r;
        Dcgw__Error e;
        dcgw_ctlmsg_error(&r, &e, 0, f ? DCGW_EPROTO : DCGW_EMALFORMED,
                          f ? "controllers send requests only" : "malformed frame");
        on_response(x, &r);
    }
    if (f)
        dcgw__frame__free_unpacked(f, NULL);
}

void dcgw_master_inproc_free(struct dcgw_master_inproc *x)
{
    if (!x)
        return;
    dcgw__master_ctl_detach(&x->m, x->c);
    dcgw__master_release(&x->m);
    free(x);
}
