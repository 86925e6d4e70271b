/* libFuzzer target: the relay's DTLS handshake inspector, both sides of one flow.
 *
 * Input: [flags] then a sequence of [side][2-byte big-endian length][datagram]. Flags: bit 0
 * allow uninspectable handshakes, bit 1 the smallest reassembly bound, bit 2 a SHA-1 floor.
 * Both sides' SDP fingerprints are those of tests/data/dtls/fixed.pem, the certificate the
 * seed handshakes were made with (tests/unit/test_dtls_inspect.c and
 * test_dtls_inspect_peers.c write them), so the fuzzer starts from flows that verify. Checks the
 * inspector's promises whatever comes in: verdicts in range, final states stay final, no
 * application data before verification, counters add up, reassembly stays within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/error.h"
#include "dcgw/base/fingerprint.h"
#include "helper.h"

static const char *const FIXED_FPS[] = {
    "sha-256 81:A5:4E:A4:F2:3C:2A:D1:FF:8B:3C:C8:74:D7:C8:BC:EF:E5:D7:EA:AC:CF:80:86:F3:57:E4:"
    "6D:4E:74:4B:37",
    "sha-1 1C:01:FF:E8:38:EE:03:FD:56:7A:A8:BB:E0:C5:69:48:62:DD:CC:AA",
};

static struct dcgw_fingerprint fps[3];

static void init_fps(void)
{
    for (int i = 0; i < 2; i++)
        if (dcgw_fingerprint_parse(FIXED_FPS[i], strlen(FIXED_FPS[i]), &fps[i]) != 0)
            abort();
    /* and one that no certificate has */
    fps[2] = fps[0];
    memset(fps[2].digest, 0x5a, fps[2].len);
}

/* Whether any well-framed record of the datagram is application_data. */
static int has_app_data(const uint8_t *p, size_t n)
{
    for (size_t off = 0; n - off >= 13;) {
        size_t len = (size_t)p[off + 11] << 8 | p[off + 12];
        if (p[off] == 23)
            return 1;
        if (len > n - off - 13)
            break;
        off += 13 + len;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fps[0].alg == DCGW_HASH_NONE)
        init_fps();
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const struct dcgw_fingerprint side_fps[3] = {fps[2], fps[1], fps[0]};
    struct dcgw_dtls_inspect_settings s = {
        .fps = {side_fps, side_fps},
        .n_fps = {3, 3},
        .min_hash = flags & 4 ? DCGW_HASH_SHA1 : DCGW_HASH_NONE,
        .max_handshake_bytes = flags & 2 ? DCGW_INSPECT_HANDSHAKE_BYTES_MIN : 0,
        .policy = flags & 1 ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : 0,
    };
    size_t bound = s.max_handshake_bytes ? s.max_handshake_bytes
                                         : (size_t)DCGW_INSPECT_HANDSHAKE_BYTES_DEFAULT;
    struct dcgw_dtls_inspect *in = NULL;
    if (dcgw_dtls_inspect_new(&s, NULL, &in) != 0)
        abort();
    enum dcgw_dtls_inspect_state prev = DCGW_INSPECT_INSPECTING;
    struct fuzz_in rec = {data + 1, size - 1};
    while (rec.n >= 3) {
        int side = fuzz_u8(&rec) & 1;
        size_t n;
        const uint8_t *p = fuzz_bytes16(&rec, &n);
        int v = dcgw_dtls_inspect_datagram(in, side, p, n);
        enum dcgw_dtls_inspect_state st = dcgw_dtls_inspect_state(in);
        if (v < DCGW_INSPECT_PASS || v > DCGW_INSPECT_BLOCK)
            abort();
        if ((v == DCGW_INSPECT_BLOCK) != (st == DCGW_INSPECT_BLOCKED))
            abort();
        if (prev != DCGW_INSPECT_INSPECTING && prev != DCGW_INSPECT_VERIFIED && st != prev)
            abort(); /* blocked and uninspected-allowed are final */
        if (prev == DCGW_INSPECT_VERIFIED && st != prev)
            abort();
        if (prev == DCGW_INSPECT_UNINSPECTED_ALLOWED && v != DCGW_INSPECT_PASS)
            abort();
        if (v == DCGW_INSPECT_PASS && has_app_data(p, n) && st != DCGW_INSPECT_VERIFIED &&
            st != DCGW_INSPECT_UNINSPECTED_ALLOWED)
            abort(); /* application data before both certificates matched */
        prev = st;
    }
    for (int k = 0; k < 2; k++) {
        const struct dcgw_dtls_inspect_stats *t = dcgw_dtls_inspect_stats(in, k);
        const struct dcgw_dtls_inspect_side *sd = dcgw_dtls_inspect_side(in, k);
        if (t->passed + t->dropped + t->blocked != t->datagrams || t->buffered_peak > bound)
            abort();
        if (prev == DCGW_INSPECT_VERIFIED &&
            (sd->cert != DCGW_INSPECT_CERT_MATCHED || sd->matched_index == 0))
            abort(); /* nothing matches the fingerprint no certificate has */
    }
    struct dcgw_dtls_inspect_status st;
    dcgw_dtls_inspect_status(in, &st);
    if ((st.state == DCGW_INSPECT_BLOCKED || st.state == DCGW_INSPECT_UNINSPECTED_ALLOWED) &&
        (st.side < 0 || st.err == 0 || st.reason[0] == '\0'))
        abort();
    dcgw_dtls_inspect_free(in);
    return 0;
}
