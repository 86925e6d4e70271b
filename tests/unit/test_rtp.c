/* RTP/RTCP headers (src/stages/rtp.c): parsing with CSRCs and both extension forms,
 * truncated and malformed headers, the rewrite (payload type, SSRC, extension ids, the mid
 * value, form changes, dropped elements), RTCP compound checks and the SSRC map over every
 * packet type dcgw knows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/stages/rtp.h"
#include "helper_suite.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        unsigned v;
        ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
        ck_assert_uint_lt(n, cap);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

/* V=2, X=1, CC=1, M=1 PT=96, seq 0x0102, ts 0x03040506, SSRC 0x11223344, CSRC 0xaabbccdd,
 * one-byte extension: id 1 "ab" (len 2), padding, id 3 "x" (len 1), then payload "PAY" */
#define PKT1                                                                                       \
    "91e0 0102 03040506 11223344 aabbccdd"                                                         \
    "bede 0002 11 6162 00 30 78 0000"                                                              \
    "504159"

START_TEST(parse_header)
{
    uint8_t p[128];
    size_t n = unhex(PKT1, p, sizeof(p));
    struct dcgw_rtp_hdr h;
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert(h.marker && !h.padding);
    ck_assert_uint_eq(h.pt, 96);
    ck_assert_uint_eq(h.cc, 1);
    ck_assert_uint_eq(h.seq, 0x0102);
    ck_assert_uint_eq(h.ts, 0x03040506);
    ck_assert_uint_eq(h.ssrc, 0x11223344);
    ck_assert_uint_eq(h.ext_profile, DCGW_RTP_EXT_ONE_BYTE);
    ck_assert_uint_eq(h.ext_off, 20);
    ck_assert_uint_eq(h.ext_len, 8);
    ck_assert_uint_eq(h.payload_off, 28);
    const uint8_t *v;
    size_t len;
    ck_assert(dcgw_rtp_ext_find(p, &h, 1, &v, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(v, "ab", 2);
    ck_assert(dcgw_rtp_ext_find(p, &h, 3, &v, &len));
    ck_assert_uint_eq(len, 1);
    ck_assert(!dcgw_rtp_ext_find(p, &h, 2, &v, &len));
    ck_assert(!dcgw_rtp_is_rtcp(p, n));
    /* truncated anywhere before the payload */
    for (size_t k = 0; k < 28; k++)
        ck_assert_int_eq(dcgw_rtp_parse(p, k, &h), DCGW_ETRUNC);
    /* version 1, extension profile 0 */
    p[0] = 0x51;
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), DCGW_EMALFORMED);
    n = unhex("9060 0001 00000001 00000002 0000 0000", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_rtp_parse(NULL, 0, &h), DCGW_ETRUNC);
}
END_TEST

START_TEST(extension_elements)
{
    uint8_t p[128];
    struct dcgw_rtp_hdr h;
    const uint8_t *v;
    size_t len;
    /* two-byte form (0x100X): id 20 "hello", id 2 empty value */
    size_t n =
        unhex("9060 0001 00000001 00000002 1000 0003 1405 68656c6c6f 0200 000000", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert(dcgw_rtp_ext_find(p, &h, 20, &v, &len));
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(v, "hello", 5);
    ck_assert(dcgw_rtp_ext_find(p, &h, 2, &v, &len));
    ck_assert_uint_eq(len, 0);
    /* an element longer than the extension: malformed */
    n = unhex("9060 0001 00000001 00000002 bede 0001 1f 616263", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert_int_eq(dcgw_rtp_ext_each(p, &h, NULL, NULL), DCGW_EMALFORMED);
    ck_assert(!dcgw_rtp_ext_find(p, &h, 1, &v, &len));
    /* id 15 ends the one-byte extension (RFC 8285 §4.2) */
    n = unhex("9060 0001 00000001 00000002 bede 0001 f0 10 41 00", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert(!dcgw_rtp_ext_find(p, &h, 1, &v, &len));
    /* another profile's extension is not read */
    n = unhex("9060 0001 00000001 00000002 abcd 0001 10410000", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert(!dcgw_rtp_ext_find(p, &h, 1, &v, &len));
}
END_TEST

START_TEST(rewrite)
{
    uint8_t p[128], o[256];
    size_t n = unhex(PKT1, p, sizeof(p));
    struct dcgw_rtp_hdr h, g;
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    struct dcgw_rtp_rewrite rw = {0};
    rw.ext_map[3] = 7; /* 3 -> 7; 1 is the mid: "ab" becomes "video" under id 4 */
    rw.ext_map[1] = 4;
    rw.mid_in = 1;
    rw.mid_out = 4;
    rw.mid_len = 5;
    memcpy(rw.mid, "video", 5);
    int len = dcgw_rtp_rewrite(p, n, &h, &rw, 111, 0x55667788, o, sizeof(o));
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(dcgw_rtp_parse(o, (size_t)len, &g), 0);
    ck_assert_uint_eq(g.pt, 111);
    ck_assert(g.marker);
    ck_assert_uint_eq(g.ssrc, 0x55667788);
    ck_assert_uint_eq(g.seq, 0x0102);
    ck_assert_uint_eq(g.cc, 1);
    ck_assert_mem_eq(o + 12, "\xaa\xbb\xcc\xdd", 4);
    ck_assert_uint_eq(g.ext_profile, DCGW_RTP_EXT_ONE_BYTE);
    const uint8_t *v;
    size_t vl;
    ck_assert(dcgw_rtp_ext_find(o, &g, 4, &v, &vl));
    ck_assert_uint_eq(vl, 5);
    ck_assert_mem_eq(v, "video", 5);
    ck_assert(dcgw_rtp_ext_find(o, &g, 7, &v, &vl));
    ck_assert_mem_eq(v, "x", 1);
    ck_assert(!dcgw_rtp_ext_find(o, &g, 1, &v, &vl));
    ck_assert_uint_eq(g.ext_len % 4, 0);
    ck_assert_uint_eq((size_t)len - g.payload_off, 3);
    ck_assert_mem_eq(o + g.payload_off, "PAY", 3);
    /* a value of 17 bytes, or an id past 14, needs the two-byte form */
    rw.mid_len = 17;
    memcpy(rw.mid, "abcdefghijklmnopq", 17);
    len = dcgw_rtp_rewrite(p, n, &h, &rw, 111, 1, o, sizeof(o));
    ck_assert_int_eq(dcgw_rtp_parse(o, (size_t)len, &g), 0);
    ck_assert_uint_eq(g.ext_profile, DCGW_RTP_EXT_TWO_BYTE);
    ck_assert(dcgw_rtp_ext_find(o, &g, 4, &v, &vl));
    ck_assert_uint_eq(vl, 17);
    ck_assert(dcgw_rtp_ext_find(o, &g, 7, &v, &vl));
    /* everything dropped: no extension at all */
    memset(&rw, 0, sizeof(rw));
    len = dcgw_rtp_rewrite(p, n, &h, &rw, 96, 0x11223344, o, sizeof(o));
    ck_assert_int_eq(len, 12 + 4 + 3);
    ck_assert_uint_eq(o[0] & 0x10, 0);
    ck_assert_int_eq(dcgw_rtp_parse(o, (size_t)len, &g), 0);
    ck_assert_uint_eq(g.ext_profile, 0);
    /* the output does not fit */
    ck_assert_int_eq(dcgw_rtp_rewrite(p, n, &h, &rw, 96, 1, o, 10), DCGW_ETOOBIG);
    /* a malformed extension is not rewritten */
    n = unhex("9060 0001 00000001 00000002 bede 0001 1f 616263", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtp_parse(p, n, &h), 0);
    ck_assert_int_eq(dcgw_rtp_rewrite(p, n, &h, &rw, 96, 1, o, sizeof(o)), DCGW_EMALFORMED);
}
END_TEST

/* ---- RTCP ---- */

static uint32_t add_one(void *ud, uint32_t ssrc, enum dcgw_rtcp_role role)
{
    unsigned *calls = ud;
    calls[role]++;
    return ssrc + (role == DCGW_RTCP_SENDER ? 0x100 : 0x1000);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

START_TEST(rtcp_compound)
{
    uint8_t p[512];
    /* SR (1 report block) + SDES (1 chunk, CNAME "ab") + BYE (1 source) */
    size_t n = unhex("81c8000c 00000001 0000000000000000 00000000 00000000 00000000"
                     " 00000002 0000000000000000000000000000000000000000"
                     "81ca0003 00000001 01026162 00000000"
                     "81cb0001 00000001",
                     p, sizeof(p));
    ck_assert(dcgw_rtp_is_rtcp(p, n));
    struct dcgw_rtcp_info info;
    ck_assert_int_eq(dcgw_rtcp_check(p, n, &info), 0);
    ck_assert_uint_eq(info.packets, 3);
    ck_assert_uint_eq(info.sr, 1);
    ck_assert_uint_eq(info.sdes, 1);
    ck_assert_uint_eq(info.bye, 1);
    ck_assert_uint_eq(info.sender_ssrc, 1);
    unsigned calls[2] = {0};
    ck_assert_int_eq(dcgw_rtcp_map_ssrcs(p, n, add_one, calls), 0);
    ck_assert_uint_eq(get32(p + 4), 0x101);   /* SR sender */
    ck_assert_uint_eq(get32(p + 28), 0x1002); /* its report block */
    ck_assert_uint_eq(get32(p + 56), 0x101);  /* SDES chunk */
    ck_assert_uint_eq(get32(p + 72), 0x101);  /* BYE source */
    ck_assert_uint_eq(calls[DCGW_RTCP_SENDER], 3);
    ck_assert_uint_eq(calls[DCGW_RTCP_MEDIA], 1);
    /* truncated, bad version, bad length, padding before the last */
    for (size_t k = 1; k < n; k++)
        if (k != 52 && k != 68)
            ck_assert_int_lt(dcgw_rtcp_check(p, k, NULL), 0);
    p[0] = 0x41;
    ck_assert_int_eq(dcgw_rtcp_check(p, n, NULL), DCGW_EMALFORMED);
    p[0] = 0xa1; /* padding bit on the first of three */
    ck_assert_int_eq(dcgw_rtcp_check(p, n, NULL), DCGW_EMALFORMED);
    p[0] = 0x81;
    p[3] = 0xff;
    ck_assert_int_eq(dcgw_rtcp_check(p, n, NULL), DCGW_ETRUNC);
}
END_TEST

START_TEST(rtcp_feedback)
{
    uint8_t p[512];
    unsigned calls[2] = {0};
    struct dcgw_rtcp_info info;
    /* PLI, NACK, TWCC (RTPFB 15), FIR with 2 entries, REMB listing 2 SSRCs, TMMBR with 1
     * entry, XR with a DLRR of 1 sub-block, an unknown type 210 */
    size_t n = unhex("81ce0002 00000001 00000002"
                     "81cd0003 00000001 00000002 00050000"
                     "8fcd0004 00000001 00000002 00010002 20000000"
                     "84ce0006 00000001 00000000 00000003 01000000 00000004 02000000"
                     "8fce0006 00000001 00000000 52454d42 02012345 00000005 00000006"
                     "83cd0004 00000001 00000000 00000007 04000000"
                     "80cf0005 00000001 05000003 00000008 00000000 00000000"
                     "80d20001 00000009",
                     p, sizeof(p));
    ck_assert_int_eq(dcgw_rtcp_check(p, n, &info), 0);
    ck_assert_uint_eq(info.pli, 1);
    ck_assert_uint_eq(info.nack, 1);
    ck_assert_uint_eq(info.twcc, 1);
    ck_assert_uint_eq(info.fir, 1);
    ck_assert_uint_eq(info.remb, 1);
    ck_assert_uint_eq(info.other_fb, 1); /* TMMBR */
    ck_assert_uint_eq(info.xr, 1);
    ck_assert_int_eq(dcgw_rtcp_map_ssrcs(p, n, add_one, calls), 0);
    ck_assert_uint_eq(get32(p + 8), 0x1002);       /* PLI media source */
    ck_assert_uint_eq(get32(p + 20), 0x1002);      /* NACK media source */
    ck_assert_uint_eq(get32(p + 24), 0x00050000);  /* NACK FCI untouched */
    ck_assert_uint_eq(get32(p + 40), 0x00010002);  /* TWCC FCI untouched */
    ck_assert_uint_eq(get32(p + 60), 0x1003);      /* FIR entry 1 */
    ck_assert_uint_eq(get32(p + 68), 0x1004);      /* FIR entry 2 */
    ck_assert_uint_eq(get32(p + 96), 0x1005);      /* REMB SSRC 1 */
    ck_assert_uint_eq(get32(p + 100), 0x1006);     /* REMB SSRC 2 */
    ck_assert_uint_eq(get32(p + 92), 0x02012345);  /* REMB bitrate untouched */
    ck_assert_uint_eq(get32(p + 116), 0x1007);     /* TMMBR entry */
    ck_assert_uint_eq(get32(p + 136), 0x1008);     /* DLRR sub-block */
    ck_assert_uint_eq(get32(p + 152), 0x00000009); /* unknown type untouched */
    ck_assert_uint_eq(calls[DCGW_RTCP_SENDER], 7);
    /* a REMB whose count runs past the packet */
    n = unhex("8fce0004 00000001 00000000 52454d42 09012345", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtcp_check(p, n, NULL), 0);
    ck_assert_int_eq(dcgw_rtcp_map_ssrcs(p, n, add_one, calls), DCGW_EMALFORMED);
    /* an SR claiming more report blocks than it holds */
    n = unhex("85c80006 00000001 0000000000000000 00000000 00000000 00000000", p, sizeof(p));
    ck_assert_int_eq(dcgw_rtcp_map_ssrcs(p, n, add_one, calls), DCGW_EMALFORMED);
    /* RR with padding on the last (only) packet: its report block is still mapped */
    n = unhex("a1c90008 00000001 0000000a 0000000000000000000000000000000000000000"
              " 00000004",
              p, sizeof(p));
    ck_assert_int_eq(dcgw_rtcp_map_ssrcs(p, n, add_one, calls), 0);
    ck_assert_uint_eq(get32(p + 8), 0x100a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rtp");
    const TTest *rtp[] = {parse_header, extension_elements, rewrite, NULL};
    tsuite_add(s, "rtp", 0, NULL, NULL, rtp);
    const TTest *rtcp[] = {rtcp_compound, rtcp_feedback, NULL};
    tsuite_add(s, "rtcp", 0, NULL, NULL, rtcp);
    return tsuite_run(s);
}
