/* Relay handshake inspector against real WebRTC stacks' captures, and DTLS 1.3-looking
 * hellos made by rewriting a real OpenSSL handshake (helper_dtls_inspect.c). With
 * DCGW_INSPECT_CORPUS=<dir> set, the DTLS 1.3 ClientHello is written there as a seed for
 * tests/fuzz/fuzz_dtls_inspect.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/cert.h"
#include "dcgw/stages/dtls_inspect.h"
#include "dcgw/base/error.h"
#include "helper_dtls_inspect.h"
#include "helper_suite.h"

/* ---- handshakes of real WebRTC stacks -------------------------------------------------------
 * Captured as a relay sees them by tools/dtls_inspect_capture.py (Chromium 156 / BoringSSL
 * and aiortc 1.4 / OpenSSL 3.0), with each side's a=fingerprint from the SDP of that
 * session. Side 0 is Chromium. Re-capturing changes the certificates: update both. */

static const struct {
    const char *file;
    const char *fp[SIDES];
    int client;
    bool dtls13;
} CAPTURES[] = {
    {"chromium_server_aiortc_client",
     {"sha-256 A5:CA:59:79:26:5F:93:4F:8C:FA:35:32:E6:6D:DB:64:44:06:1E:ED:B5:0E:D5:29:12:F9:8C:"
      "5D:4E:89:2E:77",
      "sha-256 BC:0A:67:B3:51:56:A1:7E:85:81:04:66:45:93:C4:ED:5B:08:69:EB:B4:1B:50:65:B4:A3:CA:"
      "98:B3:92:06:C3"},
     1,
     false},
    /* Chromium's ClientHello offers DTLS 1.3 and 1.2 (1413 bytes, two datagrams) */
    {"aiortc_server_chromium_client",
     {"sha-256 F1:C0:13:70:C1:39:EF:CF:DE:6B:81:49:52:A5:45:DE:BB:F3:3B:77:05:C2:76:6C:71:D5:21:"
      "0A:C9:FF:96:86",
      "sha-256 D2:64:16:1E:50:7A:18:46:55:04:DE:E4:0E:DD:ED:56:FD:9D:A1:65:44:04:D3:CB:9D:26:C1:"
      "CB:EC:F7:FB:A5"},
     0,
     false},
    /* Chromium to Chromium: DTLS 1.3 */
    {"chromium_pair_dtls13",
     {"sha-256 A2:22:F8:E6:6E:37:A2:CE:78:C8:4D:D8:1F:53:7C:23:7D:96:F9:51:16:FF:6E:0F:CB:06:6C:"
      "8A:31:EA:06:6A",
      "sha-256 52:78:91:AC:D1:66:39:74:5A:3C:B3:2F:85:86:63:F5:FD:DE:EE:69:B8:6B:C7:C6:96:A5:F9:"
      "CC:51:4B:15:F4"},
     1,
     true},
};

/* Loads a seed file ([flags] then [side][len:2][datagram]...) into w->dg. */
static void load_capture(struct world *w, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/../fuzz/corpus/dtls_inspect/%s", DCGW_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    static uint8_t buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    memset(w, 0, sizeof(*w));
    for (size_t off = 1; off + 3 <= n;) {
        size_t len = (size_t)buf[off + 1] << 8 | buf[off + 2];
        ck_assert_uint_le(off + 3 + len, n);
        ck_assert_uint_lt(w->n_dg, MAX_DG);
        struct dg *d = &w->dg[w->n_dg++];
        *d = (struct dg){.side = buf[off], .n = len, .p = malloc(len)};
        memcpy(d->p, buf + off + 3, len);
        d->app = tinsp_has_app(d->p, d->n);
        off += 3 + len;
    }
    ck_assert_uint_gt(w->n_dg, 4);
}

START_TEST(real_peers_captured)
{
    struct world w;
    load_capture(&w, CAPTURES[_i].file);
    struct iopts io = {.n = {1, 1}};
    for (int k = 0; k < SIDES; k++)
        ck_assert_int_eq(
            dcgw_fingerprint_parse(CAPTURES[_i].fp[k], strlen(CAPTURES[_i].fp[k]), &io.fps[k][0]),
            0);
    struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
    struct dcgw_dtls_inspect_status st;
    if (CAPTURES[_i].dtls13) {
        /* rejected at the ServerHello (from the server, side 1 - client) ... */
        size_t i = 0;
        while (i < w.n_dg && tinsp_feed_dg(in, &w.dg[i]) == DCGW_INSPECT_PASS)
            i++;
        ck_assert_uint_lt(i, w.n_dg);
        ck_assert(tinsp_has_msg(&w.dg[i], 2));
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.side, 1 - CAPTURES[_i].client);
        ck_assert_int_eq(st.client, CAPTURES[_i].client);
        ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(st.reason, "DTLS 1.3"));
        dcgw_dtls_inspect_free(in);
        /* ... or allowed, and then everything passes */
        io.policy = DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT;
        in = tinsp_new(&io, NULL);
        tinsp_feed_all(in, &w, NULL, w.n_dg, DCGW_INSPECT_PASS);
        ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_UNINSPECTED_ALLOWED);
        dcgw_dtls_inspect_free(in);
        tinsp_world_free(&w);
        return;
    }
    bool app_before = false;
    for (size_t i = 0; i < w.n_dg; i++) {
        app_before |= w.dg[i].app && dcgw_dtls_inspect_state(in) != DCGW_INSPECT_VERIFIED;
        ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    }
    ck_assert(!app_before);
    dcgw_dtls_inspect_status(in, &st);
    ck_assert_int_eq(st.state, DCGW_INSPECT_VERIFIED);
    ck_assert_int_eq(st.client, CAPTURES[_i].client);
    dcgw_dtls_inspect_free(in);
    /* a stranger's fingerprint for either side: blocked, and the computed one is the SDP's */
    for (int k = 0; k < SIDES; k++) {
        struct iopts bad = io;
        bad.fps[k][0].digest[7] ^= 0x10;
        in = tinsp_new(&bad, NULL);
        for (size_t i = 0; i < w.n_dg; i++)
            tinsp_feed_dg(in, &w.dg[i]);
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.state, DCGW_INSPECT_BLOCKED);
        ck_assert_int_eq(st.side, k);
        ck_assert(dcgw_fingerprint_equal(&dcgw_dtls_inspect_side(in, k)->fp, &io.fps[k][0]));
        ck_assert_uint_eq(
            dcgw_dtls_inspect_stats(in, 0)->passed + dcgw_dtls_inspect_stats(in, 1)->passed +
                dcgw_dtls_inspect_stats(in, 0)->blocked + dcgw_dtls_inspect_stats(in, 1)->blocked,
            w.n_dg);
        dcgw_dtls_inspect_free(in);
    }
    tinsp_world_free(&w);
}
END_TEST

/* ---- DTLS 1.3-looking hellos --------------------------------------------------------------- */

/* Copies datagram d to out with an extension added to the first handshake message of type
 * t (whole, alone in its record) and, if version, its version field set. Returns the size. */
static size_t rewrite_hello(const struct dg *d, int t, uint16_t ext, const uint8_t *body,
                            size_t blen, uint32_t version, uint8_t *out)
{
    size_t o = 0, found = 0;
    for (size_t off = 0; off < d->n;) {
        size_t len = tinsp_rd16(d->p + off + 11);
        const uint8_t *r = d->p + off;
        if (found || r[0] != 22 || r[13] != t) {
            memcpy(out + o, r, 13 + len);
            o += 13 + len;
            off += 13 + len;
            continue;
        }
        const uint8_t *m = r + 25;
        size_t mlen = tinsp_rd24(r + 14);
        ck_assert_uint_eq(len, 12 + mlen); /* whole message, alone */
        size_t e = 34 + 1 + m[34];         /* version, random, session_id */
        if (t == 1) {
            e += 1 + m[e];              /* cookie */
            e += 2 + tinsp_rd16(m + e); /* cipher_suites */
            e += 1 + m[e];              /* compression_methods */
        } else {
            e += 3; /* cipher_suite, compression_method */
        }
        uint8_t msg[2048];
        memcpy(msg, m, mlen);
        size_t nl = mlen, exts = e < mlen ? tinsp_rd16(m + e) : 0;
        if (e == mlen)
            nl += 2;
        exts += 4 + blen;
        msg[e] = (uint8_t)(exts >> 8), msg[e + 1] = (uint8_t)exts;
        uint8_t x[4] = {(uint8_t)(ext >> 8), (uint8_t)ext, (uint8_t)(blen >> 8), (uint8_t)blen};
        memcpy(msg + nl, x, 4);
        memcpy(msg + nl + 4, body, blen);
        nl += 4 + blen;
        if (version)
            msg[0] = (uint8_t)(version >> 8), msg[1] = (uint8_t)version;
        memcpy(out + o, r, 25);
        out[o + 11] = (uint8_t)((12 + nl) >> 8), out[o + 12] = (uint8_t)(12 + nl);
        uint8_t l24[3] = {(uint8_t)(nl >> 16), (uint8_t)(nl >> 8), (uint8_t)nl};
        memcpy(out + o + 14, l24, 3);
        memcpy(out + o + 22, l24, 3);
        memcpy(out + o + 25, msg, nl);
        o += 25 + nl;
        off += 13 + len;
        found = 1;
    }
    ck_assert(found);
    return o;
}

static const uint8_t SV_ONLY13[] = {2, 0xfe, 0xfc};
static const uint8_t SV_BOTH[] = {4, 0xfe, 0xfc, 0xfe, 0xfd};
static const uint8_t SV_SEL13[] = {0xfe, 0xfc};

static size_t first_with(const struct world *w, int t)
{
    for (size_t i = 0; i < w->n_dg; i++)
        if (tinsp_has_msg(&w->dg[i], t))
            return i;
    ck_abort_msg("no handshake message of type %d", t);
    return 0;
}

START_TEST(dtls13_hellos_follow_the_policy)
{
    /* _i: 0 ClientHello offering 1.3 only, 1 ServerHello selecting 1.3, 2 ServerHello
     * with version DTLS 1.0; each under both policies */
    struct hs_opts o = {.ue_server = _i == 1, .fixed = true};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    int t = _i == 0 ? 1 : 2;
    size_t at = first_with(&w, t);
    uint8_t mod[4096];
    size_t n = _i == 0 ? rewrite_hello(&w.dg[at], 1, 43, SV_ONLY13, 3, 0, mod)
               : _i == 1
                   ? rewrite_hello(&w.dg[at], 2, 43, SV_SEL13, 2, 0, mod)
                   : rewrite_hello(&w.dg[at], 2, 0xff01, (const uint8_t *)"\0", 1, 0xfeff, mod);
    int who = w.dg[at].side;
    ck_assert_int_eq(who, t == 1 ? w.client : 1 - w.client);
    for (int allow = 0; allow < 2; allow++) {
        struct iopts io = tinsp_right_fps(&w);
        io.policy = allow ? DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT : 0;
        struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
        tinsp_feed_all(in, &w, NULL, at, DCGW_INSPECT_PASS);
        ck_assert_int_eq(tinsp_feed(in, who, mod, n),
                         allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK);
        struct dcgw_dtls_inspect_status st;
        dcgw_dtls_inspect_status(in, &st);
        ck_assert_int_eq(st.state, allow ? DCGW_INSPECT_UNINSPECTED_ALLOWED : DCGW_INSPECT_BLOCKED);
        ck_assert_int_eq(st.side, who);
        ck_assert_int_eq(st.err, DCGW_EUNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(st.reason, _i == 2 ? "0xfeff" : "DTLS 1.3"));
        ck_assert_int_eq(dcgw_dtls_inspect_side(in, who)->cert, DCGW_INSPECT_CERT_UNINSPECTABLE);
        /* from then on: everything passes (allowed) or nothing does (rejected) */
        int want = allow ? DCGW_INSPECT_PASS : DCGW_INSPECT_BLOCK;
        tinsp_feed_all(in, &w, NULL, w.n_dg, want);
        ck_assert_int_eq(tinsp_feed(in, 0, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT)), want);
        ck_assert_int_eq(tinsp_feed(in, 1, (const uint8_t *)"garbage", 7), want);
        dcgw_dtls_inspect_free(in);
    }
    if (_i == 0) {
        struct dg one = {.side = who, .n = n, .p = mod};
        tinsp_corpus_write("dtls13_client_hello", 0, &one, 1);
    }
    tinsp_world_free(&w);
}
END_TEST

START_TEST(client_offering_13_and_12_is_inspected)
{
    struct hs_opts o = {0};
    struct world w;
    tinsp_handshake(&w, &o, DCGW_TEST_DATA);
    size_t at = first_with(&w, 1);
    uint8_t mod[4096];
    size_t n = rewrite_hello(&w.dg[at], 1, 43, SV_BOTH, 5, 0, mod);
    struct iopts io = tinsp_right_fps(&w);
    struct dcgw_dtls_inspect *in = tinsp_new(&io, NULL);
    ck_assert_int_eq(tinsp_feed(in, w.dg[at].side, mod, n), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_INSPECTING);
    /* DTLS 1.3 ciphertext without a DTLS 1.3 ServerHello is garbage */
    ck_assert_int_eq(tinsp_feed(in, 1, DTLS13_CIPHERTEXT, sizeof(DTLS13_CIPHERTEXT)),
                     DCGW_INSPECT_DROP);
    for (size_t i = at + 1; i < w.n_dg; i++)
        ck_assert_int_eq(tinsp_feed_dg(in, &w.dg[i]), DCGW_INSPECT_PASS);
    ck_assert_int_eq(dcgw_dtls_inspect_state(in), DCGW_INSPECT_VERIFIED);
    dcgw_dtls_inspect_free(in);
    tinsp_world_free(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_inspect_peers");
    const TTest *const tests[] = {client_offering_13_and_12_is_inspected, NULL};
    TCase *tc = tsuite_add(s, "real_handshakes", 60, NULL, NULL, tests);
    tcase_add_loop_test(tc, dtls13_hellos_follow_the_policy, 0, 3);
    tcase_add_loop_test(tc, real_peers_captured, 0, 3);
    return tsuite_run(s);
}
