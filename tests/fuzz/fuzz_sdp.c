/* libFuzzer target for the SDP parser and writer: parse the input; when it parses, write
 * dcgw's answer to it and parse that back. The answer must always parse and must carry
 * what it was written from (mid, form, channels), or the target aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"
#include "helper.h"

static struct dcgw_sdp offer, answer;
static char buf[DCGW_SDP_TEXT_MAX + 1];

static void make_local(struct dcgw_sdp_local *l, const struct dcgw_sdp *o)
{
    fuzz_sdp_local(l, o);
    l->dcmap = o->dc.dcmap;
    l->n_dcmap = o->dc.n_dcmap;
    l->dcsa = o->dc.dcsa;
    l->n_dcsa = o->dc.n_dcsa;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    if (dcgw_sdp_parse((const char *)data, size, &offer, err, sizeof(err)) != 0) {
        fuzz_check(err[0] != '\0');
        return 0;
    }
    fuzz_check(offer.dc.n_fingerprints > 0 && offer.dc.ice_ufrag[0] && offer.dc.ice_pwd[0]);
    struct dcgw_sdp_local l;
    make_local(&l, &offer);
    int n = dcgw_sdp_write_answer(&offer, &l, buf, sizeof(buf));
    if (n == DCGW_ETOOBIG)
        return 0; /* many long dcmap/dcsa lines can outgrow the SDP cap */
    fuzz_check(n > 0 && (size_t)n == strlen(buf));
    int rc = dcgw_sdp_parse(buf, (size_t)n, &answer, err, sizeof(err));
    fuzz_check(rc == 0);
    fuzz_check(answer.ice_lite && answer.dc.legacy == offer.dc.legacy);
    fuzz_check(strcmp(answer.dc.mid, offer.dc.mid) == 0);
    fuzz_check(answer.n_media == offer.n_media && answer.dc.media_index == offer.dc.media_index);
    fuzz_check(answer.dc.n_dcmap == offer.dc.n_dcmap && answer.dc.n_dcsa == offer.dc.n_dcsa);
    for (size_t i = 0; i < offer.dc.n_dcmap; i++) {
        const struct dcgw_sdp_dcmap *x = &answer.dc.dcmap[i], *y = &offer.dc.dcmap[i];
        fuzz_check(x->stream_id == y->stream_id && strcmp(x->label, y->label) == 0 &&
                   strcmp(x->subprotocol, y->subprotocol) == 0 && x->ordered == y->ordered &&
                   x->has_max_retr == y->has_max_retr && x->max_retr == y->max_retr &&
                   x->has_max_time == y->has_max_time && x->max_time == y->max_time &&
                   x->has_priority == y->has_priority && x->priority == y->priority);
    }
    for (size_t i = 0; i < offer.dc.n_dcsa; i++)
        fuzz_check(strcmp(answer.dc.dcsa[i].attr, offer.dc.dcsa[i].attr) == 0);
    fuzz_check(answer.dc.setup == l.setup && answer.dc.n_candidates == 1);
    return 0;
}
