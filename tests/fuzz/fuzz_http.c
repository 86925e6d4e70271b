/* libFuzzer target: the bootstrap proxy's request path (stages/http_req.c, http_url.c,
 * http_proxy.c). The input is cut into channel messages (the first byte picks the size);
 * a fake DCSF answers every request it is handed, some of them with errors. Checked:
 * every URL handed to the upstream lies under the replacement URL (the UE cannot reach
 * another host or climb out of the base path), no message is larger than the UE's
 * max-message-size, nothing leaks (ASan). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/http_proxy.h"

enum { MSG = 512, MAXX = 64 };
static const char BASE[] = "https://dcsf.example/boot/ue1/";
static const char PREFIX[] = "https://dcsf.example:443/boot/ue1/";

struct fz {
    struct dcgw_http_xfer *x[MAXX];
    size_t n;
    unsigned seed;
    struct dcgw_http_xfer *cur; /* the transfer being answered */
    bool cur_gone;              /* cancelled (and freed) while it was answered */
};

static int ch_send(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    (void)p;
    if (n > MSG)
        abort();
    return 0;
}
static size_t ch_buffered(void *ud)
{
    return ((struct fz *)ud)->seed % 3 == 0 ? 70000 : 0;
}
static void ch_nop(void *ud)
{
    (void)ud;
}
static uint64_t ch_now(void *ud)
{
    (void)ud;
    return 0;
}

static int up_start(void *ud, const struct dcgw_http_upstream_request *rq, struct dcgw_http_xfer *x,
                    void **h)
{
    struct fz *f = ud;
    const char *q = strchr(rq->url, '?');
    size_t path = q ? (size_t)(q - rq->url) : strlen(rq->url);
    if (strncmp(rq->url, PREFIX, sizeof(PREFIX) - 1) != 0 || memmem(rq->url, path, "/../", 4) ||
        memmem(rq->url, path, "/./", 3) || (path >= 3 && memcmp(rq->url + path - 3, "/..", 3) == 0))
        abort(); /* the path never leaves the base (the query may hold anything) */
    for (size_t i = 0; i < rq->n_headers; i++)
        if (memchr(rq->headers[i].value, '\n', rq->headers[i].value_len) ||
            memchr(rq->headers[i].name, ':', rq->headers[i].name_len))
            abort();
    if (f->n == MAXX)
        return DCGW_ELIMIT;
    f->x[f->n++] = x;
    *h = x;
    return 0;
}
static void up_resume(void *ud, void *h)
{
    (void)ud;
    (void)h;
}
static void up_cancel(void *ud, void *h)
{
    struct fz *f = ud;
    for (size_t i = 0; i < f->n; i++)
        if (f->x[i] == h)
            f->x[i] = NULL;
    if (h == f->cur)
        f->cur_gone = true; /* an upstream sends no event for a cancelled transfer */
}

/* Answers what was started, in a mix of ways. */
static void answer(struct fz *f)
{
    for (size_t i = 0; i < f->n; i++) { /* cancel (from a close) may clear later entries */
        struct dcgw_http_xfer *x = f->x[i];
        if (!x)
            continue;
        unsigned k = (f->seed++) % 5;
        f->x[i] = NULL;
        if (k == 0) {
            dcgw_http_xfer_done(x, DCGW_EIO, "down");
            continue;
        }
        struct dcgw_http_hdr h[2] = {{"Content-Type", "text/plain", 12, 10},
                                     {"Content-Length", "4", 14, 1}};
        f->cur = x;
        f->cur_gone = false;
        dcgw_http_xfer_head(x, k == 1 ? 404 : 200, NULL, h, k == 2 ? 1 : 2);
        if (!f->cur_gone)
            dcgw_http_xfer_body(x, (const uint8_t *)"body", 4);
        if (!f->cur_gone && k != 4)
            dcgw_http_xfer_flush(x); /* may close the channel: x cancelled */
        if (!f->cur_gone)
            dcgw_http_xfer_done(x, k == 3 ? DCGW_ETIMEOUT : 0, NULL);
        f->cur = NULL;
    }
    f->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fz f = {.n = 0, .seed = data[0]};
    struct dcgw_http_proxy_settings s;
    memset(&s, 0, sizeof(s));
    const char *why;
    if (dcgw_http_base_parse(BASE, &s.base, &why) < 0)
        abort();
    s.lim.max_header_bytes = 2048;
    s.lim.max_body_bytes = 4096;
    s.max_concurrent = 4;
    s.window_bytes = 65536;
    s.max_message_size = MSG;
    strcpy(s.header_name, "X-Dcgw-Session");
    strcpy(s.header_value, "session=f;leg=ue");
    struct dcgw_http_channel_ops ch = {.ud = &f,
                                       .send = ch_send,
                                       .buffered = ch_buffered,
                                       .want_writable = ch_nop,
                                       .close = ch_nop,
                                       .now_us = ch_now};
    struct dcgw_http_upstream_ops up = {
        .ud = &f, .start = up_start, .resume = up_resume, .cancel = up_cancel};
    struct dcgw_http_proxy *p;
    if (dcgw_http_proxy_new(&s, &ch, &up, &p) < 0)
        return 0;
    size_t cut = 1 + data[0] % 64;
    for (size_t off = 1; off < size; off += cut) {
        size_t n = size - off < cut ? size - off : cut;
        dcgw_http_proxy_input(p, data + off, n);
        answer(&f);
        dcgw_http_proxy_writable(p);
    }
    dcgw_http_proxy_free(p);
    return 0;
}
