/* Parsed SDPs for the length of one request (docs/capacity.md "Set-up"). A struct
 * dcgw_sdp is about 190 KiB (fixed arrays: m-lines, codecs, dcmaps), above the 128 KiB at
 * which a worker's malloc maps a block on its own (memory.c): allocated per request, each
 * was mapped, faulted in page by page while the parser zeroed it, and unmapped again, two
 * or three times per bridged session (9% of dcgwd's CPU per set-up). The worker keeps a
 * few freed ones instead; a request takes them and gives them back before it returns. */
#include <stdlib.h>

#include "dcgw/sdp/sdp.h"
#include "worker_int.h"

struct dcgw_sdp *dcgw__wsdp_take(struct worker *w)
{
    if (w->n_sdp_spare > 0)
        return w->sdp_spare[--w->n_sdp_spare];
    return malloc(sizeof(struct dcgw_sdp));
}

void dcgw__wsdp_give(struct worker *w, struct dcgw_sdp *sdp)
{
    if (!sdp)
        return;
    if (w->n_sdp_spare < WSDP_SPARE)
        w->sdp_spare[w->n_sdp_spare++] = sdp;
    else
        free(sdp);
}

void dcgw__wsdp_free_all(struct worker *w)
{
    while (w->n_sdp_spare > 0)
        free(w->sdp_spare[--w->n_sdp_spare]);
}
