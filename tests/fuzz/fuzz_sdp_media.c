/* libFuzzer target for the SDP audio/video paths: the input holds two SDPs separated by a
 * line "--" (or one SDP used for both legs). Both are parsed and given their transports
 * (dcgw_sdp_assign_transports, a cap from the input's length); when both parse they are
 * paired (sdp_match.c), dcgw's answer to each is written (m-lines on a transport of their own
 * with credentials of their own) and parsed back, and so is the offer dcgw would make from
 * the first. Aborts when an answer or offer does not parse, an accepted m-line lost its
 * codecs or mid, a rejected one is not port 0, a pair's transport is past the cap or one of
 * an accepted m-line has no peer side, or an m-line of its own transport came back with
 * another's credentials. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/sdp/sdp_match.h"
#include "helper.h"

static struct dcgw_sdp leg[2], back;
static unsigned cap; /* transports per leg */
static const char *const ufrags[] = {"fuzz", "tpA1", "tpB2", "tpC3", "tpD4",
                                     "tpE5", "tpF6", "tpG7", "tpH8"};
static struct dcgw_sdp_match match;
static char buf[DCGW_SDP_TEXT_MAX + 1];

static void answer(int k)
{
    struct dcgw_sdp_local l;
    fuzz_sdp_local(&l, &leg[k]);
    struct dcgw_sdp_av av[DCGW_SDP_RTP_MAX];
    memcpy(av, match.av[k], sizeof(av));
    for (size_t i = 0; i < match.n_av[k]; i++) {
        unsigned tp = leg[k].rtp[av[i].rtp].tp;
        fuzz_check(tp < cap);
        if (av[i].reject || tp == 0)
            continue;
        fuzz_check(dcgw_sdp_tp_transport(&leg[k], av, match.n_av[k], tp) != NULL);
        av[i].ice_ufrag = ufrags[tp];
        av[i].ice_pwd = "fuzzfuzzfuzzfuzzfuzzfu";
        av[i].setup = DCGW_SDP_SETUP_PASSIVE;
    }
    l.av = av;
    l.n_av = match.n_av[k];
    int n = dcgw_sdp_write_answer(&leg[k], &l, buf, sizeof(buf));
    if (n == DCGW_ETOOBIG)
        return;
    fuzz_check(n > 0);
    char err[128];
    fuzz_check(dcgw_sdp_parse(buf, (size_t)n, &back, err, sizeof(err)) == 0);
    fuzz_check(back.n_media == leg[k].n_media);
    for (size_t i = 0; i < leg[k].n_media; i++) {
        int r = leg[k].media[i].rtp;
        if (r < 0)
            continue;
        const struct dcgw_sdp_av *a = &av[r];
        int rb = back.media[i].rtp;
        fuzz_check(rb >= 0);
        fuzz_check(strcmp(back.rtp[rb].mid, leg[k].rtp[r].mid) == 0);
        if (a->reject)
            fuzz_check(back.rtp[rb].port == 0);
        else
            fuzz_check(back.rtp[rb].n_codecs == (unsigned)__builtin_popcountll(a->codecs));
        if (!a->reject && leg[k].rtp[r].tp)
            fuzz_check(strcmp(back.rtp[rb].transport.ice_ufrag, ufrags[leg[k].rtp[r].tp]) == 0);
    }
}

static void offer(void)
{
    struct dcgw_sdp_av ans[DCGW_SDP_RTP_MAX], off[DCGW_SDP_RTP_MAX];
    bool allow[2] = {true, true};
    dcgw_sdp_answer_alone(&leg[0], allow, ans);
    struct dcgw_sdp_local l;
    fuzz_sdp_local(&l, &leg[0]);
    l.setup = DCGW_SDP_SETUP_ACTPASS;
    strcpy(l.mid, "dcgw-dc");
    l.n_av = dcgw_sdp_offer_from(ans, leg[0].n_rtp, off);
    l.av = off;
    l.dc_index = l.n_av;
    int n = dcgw_sdp_write_offer(&l, buf, sizeof(buf));
    if (n == DCGW_ETOOBIG || n == DCGW_EINVAL) /* EINVAL: duplicate or missing mids */
        return;
    fuzz_check(n > 0);
    char err[128];
    fuzz_check(dcgw_sdp_parse(buf, (size_t)n, &back, err, sizeof(err)) == 0);
    fuzz_check(back.n_rtp == l.n_av);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    size_t n0 = size, off1 = 0;
    for (size_t i = 0; i + 3 < size; i++)
        if (t[i] == '\n' && t[i + 1] == '-' && t[i + 2] == '-' && t[i + 3] == '\n') {
            n0 = i + 1;
            off1 = i + 4;
            break;
        }
    char err[128];
    if (dcgw_sdp_parse(t, n0, &leg[0], err, sizeof(err)) != 0)
        return 0;
    if (off1 ? dcgw_sdp_parse(t + off1, size - off1, &leg[1], err, sizeof(err)) != 0
             : dcgw_sdp_parse(t, n0, &leg[1], err, sizeof(err)) != 0)
        return 0;
    cap = 1 + (unsigned)(size % 9);
    for (int k = 0; k < 2; k++)
        fuzz_check(dcgw_sdp_assign_transports(&leg[k], cap, "cap") >= 1);
    struct dcgw_sdp_match_opts o = {.allow = {{true, true}, {true, size % 2 == 0}}};
    dcgw_sdp_match(&leg[0], &leg[1], &o, &match);
    fuzz_check(match.n_av[0] == leg[0].n_rtp && match.n_av[1] == leg[1].n_rtp);
    for (size_t i = 0; i < match.n_pairs; i++) {
        const struct dcgw_sdp_pair *p = &match.pairs[i];
        fuzz_check(p->n_codecs > 0 && !(p->codecs[0].flags & DCGW_SDP_CODEC_RTX));
        fuzz_check(!match.av[0][p->rtp[0]].reject && !match.av[1][p->rtp[1]].reject);
        fuzz_check(p->tp[0] < cap && p->tp[1] < cap);
    }
    answer(0);
    answer(1);
    offer();
    return 0;
}
