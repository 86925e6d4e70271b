/* libFuzzer target for the SDP parser and writer: parse the input; when it parses, write
 * dcgw's answer to it and parse that back. The answer must always parse and must carry
 * what it was written from (mid, form, channels), or the target aborts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"

static struct dcgw_sdp offer, answer;
static char buf[DCGW_SDP_TEXT_MAX + 1];

static void check(int cond)
{
    if (!cond)
        abort();
}

static void make_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *o)
{
    dcgw_sdp_local_init(l);
    l->sess_id = 1;
    /* fixed credentials: the fuzzer must be deterministic */
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
    l->dcmap = o->dc.dcmap;
    l->n_dcmap = o->dc.n_dcmap;
    l->dcsa = o->dc.dcsa;
    l->n_dcsa = o->dc.n_dcsa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    if (dcgw_sdp_parse((const char *)data, size, &offer, err, sizeof(err)) != 0) {
        check(err[0] != '\0');
        return 0;
    }
    check(offer.dc.n_fingerprints > 0 && offer.dc.ice_ufrag[0] && offer.dc.ice_pwd[0]);
    struct dcgw_sdp_local l;
    make_local(&l, &offer);
    int n = dcgw_sdp_write_answer(&offer, &l, buf, sizeof(buf));
    if (n == DCGW_ETOOBIG)
        return 0; /* many long dcmap/dcsa lines can outgrow the SDP cap */
    check(n > 0 && (size_t)n == strlen(buf));
    int rc = dcgw_sdp_parse(buf, (size_t)n, &answer, err, sizeof(err));
    check(rc == 0);
    check(answer.ice_lite && answer.dc.legacy == offer.dc.legacy);
    check(strcmp(answer.dc.mid, offer.dc.mid) == 0);
    check(answer.n_media == offer.n_media && answer.dc.media_index == offer.dc.media_index);
    check(answer.dc.n_dcmap == offer.dc.n_dcmap && answer.dc.n_dcsa == offer.dc.n_dcsa);
    for (size_t i = 0; i < offer.dc.n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *x = &answer.dc.dcmap[i], *y = &offer.dc.dcmap[i];
        check(x->stream_id == y->stream_id && strcmp(x->label, y->label) == 0 &&
              strcmp(x->subprotocol, y->subprotocol) == 0 && x->ordered == y->ordered &&
              x->has_max_retr == y->has_max_retr && x->max_retr == y->max_retr &&
              x->has_max_time == y->has_max_time && x->max_time == y->max_time &&
              x->has_priority == y->has_priority && x->priority == y->priority);
    }
    for (size_t i = 0; i < offer.dc.n_dcsa; i++)
        check(strcmp(answer.dc.dcsa[i].attr, offer.dc.dcsa[i].attr) == 0);
    check(answer.dc.setup == l.setup && answer.dc.n_candidates == 1);
    return 0;
}
