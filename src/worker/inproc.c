/* An in-process worker (worker.h): the worker of a process, minus its pipe and socket. */
#include <stdlib.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/worker/worker.h"
#include "worker_int.h"

struct dcgw_worker_inproc {
    struct worker w;
    dcgw_worker_frame_fn fn;
    void *ud;
};

static void to_master(void *ud, const Dcgw__Frame *f)
{
    struct dcgw_worker_inproc *x = ud;
    size_t n = dcgw__frame__get_packed_size(f);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return;
    dcgw__frame__pack(f, buf);
    x->fn(x->ud, buf, n);
    free(buf);
}

int dcgw_worker_inproc_new(uv_loop_t *loop, uint32_t index, dcgw_worker_frame_fn fn, void *ud,
                           struct dcgw_worker_inproc **out)
{
    *out = NULL;
    if (!loop || !fn)
        return DCGW_EINVAL;
    struct dcgw_worker_inproc *x = calloc(1, sizeof(*x));
    if (!x)
        return DCGW_ENOMEM;
    x->fn = fn;
    x->ud = ud;
    dcgw__worker_init(&x->w, loop, index);
    x->w.inproc.to_master = to_master;
    x->w.inproc.ud = x;
    *out = x;
    return 0;
}

int dcgw_worker_inproc_input(struct dcgw_worker_inproc *x, const uint8_t *frame, size_t n)
{
    return dcgw__worker_from_master(&x->w, frame, n);
}

struct worker *dcgw__worker_of_inproc(struct dcgw_worker_inproc *x)
{
    return &x->w;
}

void dcgw_worker_inproc_free(struct dcgw_worker_inproc *x)
{
    if (!x)
        return;
    struct worker *w = &x->w;
    dcgw__worker_close_everything(w);
    uv_run(w->loop, UV_RUN_DEFAULT); /* leg timers and the data plane's handles close */
    if (w->by_addr)
        g_hash_table_destroy(w->by_addr);
    if (w->by_ufrag)
        g_hash_table_destroy(w->by_ufrag);
    if (w->deferred)
        g_array_free(w->deferred, TRUE);
    dcgw_dtls_ctx_free(w->dtls_ctx);
    dcgw__worker_dispose(w);
    free(x);
}
