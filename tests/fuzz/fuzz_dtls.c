/* libFuzzer target: the DTLS stage's own record framing scan, and a leg (server or client,
 * chosen by the first byte) fed with datagrams from the input. The input after the first
 * byte is a sequence of [2-byte big-endian length][datagram]. Checks the scan's contract
 * and that nothing the network sends reaches on_data or on_connected (no peer could have
 * completed a handshake bound to the fingerprint of a certificate that does not exist). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls.h"
#include "dcgw/base/error.h"
#include "helper.h"

static struct dcgw_dtls_ctx *ctx;

static void on_send(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    struct dcgw_dtls_scan sc;
    /* whatever we send is well-framed */
    if (n == 0 || dcgw_dtls_record_scan(p, n, &sc) != n || sc.records == 0)
        abort();
}

static void on_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)ud, (void)fp;
    abort();
}

static void on_data(void *ud, const uint8_t *p, size_t n)
{
    (void)ud, (void)p, (void)n;
    abort();
}

static void check_scan(const uint8_t *p, size_t n)
{
    struct dcgw_dtls_scan sc;
    size_t len = dcgw_dtls_record_scan(p, n, &sc);
    if (len > n || sc.app_records > sc.records || sc.trailing_garbage != (len < n))
        abort();
    if (sc.records * 13u > len || (len > 0 && sc.records == 0))
        abort();
    /* the accepted prefix scans the same on its own */
    struct dcgw_dtls_scan again;
    if (dcgw_dtls_record_scan(p, len, &again) != len || again.records != sc.records)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) {
        struct dcgw_cert *c = NULL;
        if (dcgw_cert_new(NULL, &c) != 0)
            abort();
        struct dcgw_dtls_ctx_settings s = {.cert = c};
        if (dcgw_dtls_ctx_new(&s, &ctx) != 0)
            abort();
        dcgw_cert_unref(c);
    }
    check_scan(data, size);
    if (size < 1)
        return 0;

    /* a fingerprint no certificate has */
    struct dcgw_fingerprint fp = {.alg = DCGW_HASH_SHA256, .len = 32};
    memset(fp.digest, 0x5a, sizeof(fp.digest));
    struct dcgw_dtls_settings s = {
        .client = data[0] & 1, .remote_fps = &fp, .n_remote_fps = 1, .initial_timeout_ms = 10};
    struct dcgw_dtls_callbacks cbs = {
        .send = on_send, .on_connected = on_connected, .on_data = on_data};
    struct dcgw_dtls *d = NULL;
    if (dcgw_dtls_new(ctx, &s, &cbs, &d) != 0)
        abort();
    uint64_t now = 1000;
    dcgw_dtls_start(d, now);
    struct fuzz_in in = {data + 1, size - 1};
    while (in.n >= 2) {
        size_t n;
        const uint8_t *p = fuzz_bytes16(&in, &n);
        int rc = dcgw_dtls_recv(d, p, n, now);
        if (rc > 0 || (rc < 0 && dcgw_dtls_state(d) != DCGW_DTLS_FAILED && rc != DCGW_ECLOSED))
            abort();
        now += 5;
        dcgw_dtls_handle_timeout(d, now);
    }
    if (dcgw_dtls_state(d) == DCGW_DTLS_CONNECTED)
        abort();
    dcgw_dtls_free(d);
    return 0;
}
