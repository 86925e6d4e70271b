/* libFuzzer target for the RTP/RTCP header code (src/stages/rtp.c): the input is parsed as
 * an RTP packet (header, extension elements, the forwarding rewrite, whose output must
 * parse back with the same payload) and as an RTCP compound (check, then the SSRC map,
 * which must leave the length and every non-SSRC byte of a checked packet's header alone).
 * Aborts on any inconsistency; the sanitizers catch out-of-bounds reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/rtp.h"
#include "helper.h"

static bool count_cb(void *ud, uint8_t id, const uint8_t *v, size_t len)
{
    (void)v;
    unsigned *n = ud;
    fuzz_check(id != 0 && len <= 255);
    (*n)++;
    return true;
}

static uint32_t flip(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role)
{
    (void)ud;
    return role == DCGW_RTCP_SENDER ? ~ssrc : ssrc ^ 0x5a5a5a5a;
}

static uint8_t out[DCGW_RTP_PACKET_MAX + 1024];
static uint8_t copy[4096];

static void rtp(const uint8_t *p, size_t n)
{
    struct dcgw_rtp_hdr h, g;
    if (dcgw_rtp_parse(p, n, &h) != 0)
        return;
    fuzz_check(h.payload_off <= n && h.ext_off + h.ext_len <= n);
    unsigned elems = 0;
    int rc = dcgw_rtp_ext_each(p, &h, count_cb, &elems);
    struct dcgw_rtp_rewrite rw;
    memset(&rw, 0, sizeof(rw));
    for (int i = 1; i < 256; i++)
        rw.ext_map[i] = (uint8_t)(i % 3 == 0 ? 0 : 256 - i); /* drop some, move the rest */
    rw.mid_in = 1;
    rw.mid_out = 9;
    rw.mid_len = 3;
    memcpy(rw.mid, "mid", 3);
    int len = dcgw_rtp_rewrite(p, n, &h, &rw, 100, 0xfeedf00d, out, sizeof(out));
    if (rc < 0) {
        fuzz_check(len < 0);
        return;
    }
    if (len == -8) /* DCGW_ETOOBIG: more extension than the output holds */
        return;
    if (len == -10) { /* DCGW_EMALFORMED: more elements than the rewrite keeps (32) */
        fuzz_check(elems > 32);
        return;
    }
    fuzz_check(len > 0);
    fuzz_check(dcgw_rtp_parse(out, (size_t)len, &g) == 0);
    fuzz_check(g.pt == 100 && g.ssrc == 0xfeedf00d && g.seq == h.seq && g.cc == h.cc);
    fuzz_check((size_t)len - g.payload_off == n - h.payload_off);
    fuzz_check(memcmp(out + g.payload_off, p + h.payload_off, n - h.payload_off) == 0);
    unsigned after = 0;
    fuzz_check(dcgw_rtp_ext_each(out, &g, count_cb, &after) == 0);
    fuzz_check(after <= elems);
}

static void rtcp(const uint8_t *p, size_t n)
{
    struct dcgw_rtcp_info info;
    if (n > sizeof(copy) || dcgw_rtcp_check(p, n, &info) != 0)
        return;
    fuzz_check(info.packets > 0);
    memcpy(copy, p, n);
    if (dcgw_rtcp_map_ssrcs(copy, n, flip, NULL) != 0)
        return;
    /* only SSRC fields changed: the first word of every packet is untouched */
    for (size_t off = 0; off < n;) {
        fuzz_check(memcmp(copy + off, p + off, 4) == 0);
        off += 4u * (((size_t)p[off + 2] << 8 | p[off + 3]) + 1u);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtp(data, size);
    rtcp(data, size);
    (void)dcgw_rtp_is_rtcp(data, size);
    return 0;
}
