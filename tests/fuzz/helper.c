/* What the libFuzzer targets share: see helper.h. */
#include "helper.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/log.h"

void fuzz_quiet_logs(void)
{
    struct dcgw_log_settings ls;
    dcgw_log_settings_default(&ls);
    ls.level = DCGW_LOG_ERROR;
    dcgw_log_setup(&ls, "fuzz");
}

void fuzz_check(int cond)
{
    if (!cond)
        abort();
}

void fuzz_sdp_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *o)
{
    dcgw_sdp_local_init(l);
    l->sess_id = 1;
    strcpy(l->ice_ufrag, "fuzz");
    strcpy(l->ice_pwd, "fuzzfuzzfuzzfuzzfuzzfu");
    strcpy(l->tls_id, "fuzz-tls-id-0123456789");
    struct sockaddr_in *a = (struct sockaddr_in *)&l->addrs[0];
    a->sin_family = AF_INET;
    a->sin_port = htons(40000);
    a->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
    l->n_addrs = 1;
    l->fingerprints[0].alg = DCGW_HASH_SHA256;
    l->fingerprints[0].len = 32;
    memset(l->fingerprints[0].digest, 0xab, 32);
    l->n_fingerprints = 1;
    l->setup = dcgw_sdp_answer_setup(o->dc.setup, DCGW_SDP_SETUP_PASSIVE);
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static const uint8_t *take(struct fuzz_in *in, size_t k, size_t *n)
{
    if (k > in->n)
        k = in->n;
    const uint8_t *p = in->p;
    in->p += k;
    in->n -= k;
    *n = k;
    return p;
}

const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t *n)
{
    return take(in, fuzz_u8(in), n);
}

const uint8_t *fuzz_bytes16(struct fuzz_in *in, size_t *n)
{
    size_t k = (size_t)fuzz_u8(in) << 8;
    k |= fuzz_u8(in);
    return take(in, k, n);
}

size_t fuzz_blob(struct fuzz_in *in, uint8_t *dst, size_t cap)
{
    size_t k = (size_t)fuzz_u8(in) << 8;
    k |= fuzz_u8(in);
    const uint8_t *p = take(in, k < cap ? k : cap, &k);
    memcpy(dst, p, k);
    return k;
}
