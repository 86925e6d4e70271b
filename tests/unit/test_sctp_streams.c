/* Sparse stream ids on associations of 1,001 streams: what dcgw's usrsctp patch changes
 * (third_party/usrsctp/README.md: streams made when first used; the unsent-data check visits
 * only those). Stream 1000 (3GPP TS 26.114 application channels) with the bootstrap ids
 * 0/10/100/110 on one association, data both ways, resets, added streams, and the heap the
 * streams hold. Each passes on the unpatched library too; the memory figure is asserted
 * against the patched bound only when the build links the patched one
 * (DCGW_USRSCTP_PATCHED), and against the unpatched floor otherwise. Check's fork mode gives
 * each test a fresh stack. Also usrsctp's per-socket association table, which dcgw sizes. */
#include <arpa/inet.h>
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "../../src/stages/sctp_int.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/sctp.h"
#include "helper_sctp_assoc.h"
#include "helper_sctp_pair.h"
#include "helper_suite.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_ASAN 1
#endif
#ifdef HEAP_ASAN
#include <sanitizer/allocator_interface.h>
#endif

enum { NIDS = 5, STREAMS = 1001 };
static const uint16_t ids[NIDS] = {0, 10, 100, 110, 1000};

/* Bytes of heap in use (ASan's allocator keeps its own count). */
static size_t heap_in_use(void)
{
#ifdef HEAP_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static void pair_with_streams(struct stp_pair *pr, uint16_t na, uint16_t nb)
{
    struct dcgw_sctp_settings sa, sb;
    stp_settings_pair(&sa, &sb);
    sa.streams = na;
    sb.streams = nb;
    stp_pair_new(pr, &sa, &sb);
    stp_pair_connect(pr);
}

/* Message i goes on stream ids[i % NIDS], i bytes long plus 5 (some over one SCTP packet),
 * every third unordered. Sent by both ends; b's messages start at index 100. */
static size_t msg_size(uint32_t i)
{
    return 5 + (i % 4 == 3 ? 3000 + i : i);
}

static void send_round(struct stp_pair *pr, uint32_t first, uint32_t n)
{
    for (uint32_t i = first; i < first + n; i++) {
        struct dcgw_sctp_sendopts o = {.unordered = i % 3 == 0};
        uint8_t *m = stp_make_msg(i, msg_size(i));
        stp_send_waiting(pr, pr->a.s, ids[i % NIDS], &o, m, msg_size(i));
        free(m);
        m = stp_make_msg(100 + i, msg_size(100 + i));
        stp_send_waiting(pr, pr->b.s, ids[i % NIDS], &o, m, msg_size(100 + i));
        free(m);
    }
}

/* Every message of indexes [first, first + n) that pe got, each on its stream, byte-exact
 * (base: 0 for a's messages, 100 for b's). */
static void check_round(const struct stp_peer *pe, uint32_t base, uint32_t first, uint32_t n)
{
    bool seen[64] = {false};
    size_t got = 0;
    for (size_t k = 0; k < pe->nmsgs; k++) {
        uint32_t i;
        memcpy(&i, pe->msgs[k].p, 4);
        if (i < base + first || i >= base + first + n)
            continue;
        uint32_t j = i - base;
        ck_assert_uint_eq(pe->msgs[k].stream, ids[j % NIDS]);
        stp_check_msg(&pe->msgs[k], i, msg_size(i));
        ck_assert(!seen[j - first]);
        seen[j - first] = true;
        got++;
    }
    ck_assert_uint_eq(got, n);
}

static bool resets_done(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->a.resets[DCGW_SCTP_RESET_OUTGOING] >= 2 &&
           pr->b.resets[DCGW_SCTP_RESET_INCOMING] >= 2;
}

START_TEST(sparse_ids_both_ways_and_reset)
{
    struct stp_pair pr;
    pair_with_streams(&pr, STREAMS, STREAMS);
    ck_assert_uint_eq(dcgw_sctp_streams_out(pr.a.s), STREAMS);
    ck_assert_uint_eq(dcgw_sctp_streams_in(pr.b.s), STREAMS);
    send_round(&pr, 0, 20);
    stp_want_a = stp_want_b = 20;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    check_round(&pr.b, 0, 0, 20);
    check_round(&pr.a, 100, 0, 20);

    /* Closing channels 10 and 1000 resets a's outgoing streams (RFC 8831 §6.7); their
     * sequence numbers start again at 0, which b must accept as the next in order. */
    const uint16_t reset[] = {10, 1000};
    ck_assert_int_eq(dcgw_sctp_reset_streams(pr.a.s, reset, 2), 0);
    ck_assert_int_ge(stp_pump(&pr, resets_done, 3000), 0);
    ck_assert_int_eq(pr.a.resets[DCGW_SCTP_RESET_FAILED], 0);
    send_round(&pr, 20, 20);
    stp_want_a = stp_want_b = 40;
    ck_assert_int_ge(stp_pump(&pr, stp_got_wanted, 5000), 0);
    check_round(&pr.b, 0, 20, 20);
    check_round(&pr.a, 100, 20, 20);
    stp_pair_free(&pr);
}
END_TEST

static uint16_t out_streams_now(struct dcgw_sctp *s)
{
    struct sctp_status st;
    memset(&st, 0, sizeof(st));
    socklen_t len = sizeof(st);
    ck_assert_int_eq(usrsctp_getsockopt(s->so, IPPROTO_SCTP, SCTP_STATUS, &st, &len), 0);
    return st.sstat_outstrms;
}

static struct stp_pair *g_pr;
static bool added(void *ctx)
{
    (void)ctx;
    return out_streams_now(g_pr->a.s) == STREAMS + 24;
}

static bool b_got(void *ctx)
{
    struct stp_pair *pr = ctx;
    return pr->b.nmsgs >= stp_want_b;
}

/* RFC 6525 add-streams: a's outgoing streams grow from 1,001 to 1,025 (the patched library
 * grows its table and keeps the streams made so far in place, with their queues), then
 * the new stream 1024 and the old 1000 carry data; then a reset of all a's streams. dcgw
 * itself neither asks for nor grants added streams: the sockets are set up by hand. */
START_TEST(added_streams_and_reset_of_all)
{
    struct stp_pair pr;
    g_pr = &pr;
    pair_with_streams(&pr, STREAMS, 2048);
    ck_assert_uint_eq(out_streams_now(pr.a.s), STREAMS);
    /* data queued on stream 1000 while the request runs */
    uint8_t *m = stp_make_msg(1, 4000);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1000, 53, NULL, m, 4000), 0);
    free(m);
    struct sctp_assoc_value av = {.assoc_id = SCTP_ALL_ASSOC,
                                  .assoc_value =
                                      SCTP_ENABLE_RESET_STREAM_REQ | SCTP_ENABLE_CHANGE_ASSOC_REQ};
    ck_assert_int_eq(
        usrsctp_setsockopt(pr.b.s->so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av)), 0);
    struct sctp_add_streams as = {.sas_assoc_id = SCTP_ALL_ASSOC, .sas_outstrms = 24};
    ck_assert_int_eq(
        usrsctp_setsockopt(pr.a.s->so, IPPROTO_SCTP, SCTP_ADD_STREAMS, &as, sizeof(as)), 0);
    ck_assert_int_ge(stp_pump(&pr, added, 3000), 0);

    /* dcgw's send checks the count it learnt at set-up: send on 1024 with usrsctp itself */
    m = stp_make_msg(2, 3000);
    struct sctp_sndinfo si = {.snd_sid = 1024, .snd_ppid = htonl(53)};
    ck_assert_int_eq(
        usrsctp_sendv(pr.a.s->so, m, 3000, NULL, 0, &si, sizeof(si), SCTP_SENDV_SNDINFO, 0), 3000);
    free(m);
    m = stp_make_msg(3, 20);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1000, 53, NULL, m, 20), 0);
    free(m);
    stp_want_b = 3;
    ck_assert_int_ge(stp_pump(&pr, b_got, 3000), 0);
    ck_assert_uint_eq(pr.b.nmsgs, 3);
    stp_check_msg(&pr.b.msgs[0], 1, 4000);
    ck_assert_uint_eq(pr.b.msgs[0].stream, 1000);
    for (size_t k = 1; k < 3; k++) {
        uint32_t i;
        memcpy(&i, pr.b.msgs[k].p, 4);
        stp_check_msg(&pr.b.msgs[k], i, i == 2 ? 3000 : 20);
        ck_assert_uint_eq(pr.b.msgs[k].stream, i == 2 ? 1024 : 1000);
    }

    /* A reset of every stream at once (no list): the patched library makes them all first. */
    struct sctp_reset_streams rs = {.srs_assoc_id = SCTP_ALL_ASSOC,
                                    .srs_flags = SCTP_STREAM_RESET_OUTGOING};
    ck_assert_int_eq(
        usrsctp_setsockopt(pr.a.s->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, &rs, sizeof(rs)), 0);
    stp_pump(&pr, NULL, 300);
    m = stp_make_msg(4, 50);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 1000, 53, NULL, m, 50), 0);
    ck_assert_int_eq(dcgw_sctp_send(pr.a.s, 7, 53, NULL, m, 50), 0);
    free(m);
    stp_want_b = 5;
    ck_assert_int_ge(stp_pump(&pr, b_got, 3000), 0);
    ck_assert_uint_eq(pr.b.msgs[3].stream, 1000);
    ck_assert_uint_eq(pr.b.msgs[4].stream, 7);
    stp_check_msg(&pr.b.msgs[3], 4, 50);
    ck_assert_int_eq(dcgw_sctp_state(pr.a.s), DCGW_SCTP_CONNECTED);
    ck_assert_int_eq(dcgw_sctp_state(pr.b.s), DCGW_SCTP_CONNECTED);
    stp_pair_free(&pr);
}
END_TEST

/* Heap a connected pair holds after one message each way on `lo` and on `hi`. */
static size_t pair_heap(uint16_t streams, uint16_t lo, uint16_t hi)
{
    struct stp_pair *pr = calloc(1, sizeof(*pr));
    ck_assert_ptr_nonnull(pr);
    size_t before = heap_in_use();
    pair_with_streams(pr, streams, streams);
    uint8_t *m = stp_make_msg(0, 100);
    stp_send_waiting(pr, pr->a.s, lo, NULL, m, 100);
    stp_send_waiting(pr, pr->a.s, hi, NULL, m, 100);
    stp_send_waiting(pr, pr->b.s, lo, NULL, m, 100);
    stp_send_waiting(pr, pr->b.s, hi, NULL, m, 100);
    free(m);
    stp_want_a = stp_want_b = 2;
    ck_assert_int_ge(stp_pump(pr, stp_got_wanted, 3000), 0);
    stp_pump(pr, NULL, 50); /* SACKs: nothing left queued */
    size_t held = heap_in_use() - before;
    stp_pair_free(pr);
    free(pr);
    return held;
}

/* What 985 more streams cost a pair of associations (both ends) that use two of them:
 * 1,001 streams with ids 0 and 1000 in use against 16 streams with 0 and 15. Unpatched,
 * usrsctp holds every stream negotiated (64 bytes out, 40 in, per association): about
 * 200 KiB. Patched, two chunk tables and one more chunk of 16 streams each way. */
START_TEST(stream_memory_follows_use)
{
    (void)pair_heap(16, 0, 15); /* the stack's first-use allocations */
    size_t small = pair_heap(16, 0, 15);
    size_t big = pair_heap(STREAMS, 0, 1000);
    long extra = (long)big - (long)small;
#ifdef DCGW_USRSCTP_PATCHED
    const char *kind = "patched";
#else
    const char *kind = "system (unpatched)";
#endif
    printf("stream_memory_follows_use: usrsctp %s: a pair holds %zu bytes with 16 streams, "
           "%zu with 1001: %ld more\n",
           kind, small, big, extra);
#ifdef DCGW_USRSCTP_PATCHED
    ck_assert_int_lt(extra, 16 * 1024);
#else
    ck_assert_int_gt(extra, 150 * 1024);
#endif
}
END_TEST

/* Each socket holds one association, so its table of associations by peer port has one
 * bucket (usrsctp's default: 256, 2 KiB a socket); associations on many sockets still find
 * their packets. */
START_TEST(one_association_bucket_per_socket)
{
    struct stp_pair pr[3];
    for (int i = 0; i < 3; i++)
        pair_with_streams(&pr[i], 16, 16);
    ck_assert_uint_eq(usrsctp_sysctl_get_sctp_pcbtblsize(), DCGW_SCTP_SOCKET_ASSOC_BUCKETS);
    for (int i = 0; i < 3; i++) {
        uint8_t *m = stp_make_msg((uint32_t)i, 100);
        stp_send_waiting(&pr[i], pr[i].b.s, 3, NULL, m, 100);
        free(m);
        stp_want_a = 1;
        stp_want_b = 0;
        ck_assert_int_ge(stp_pump(&pr[i], stp_got_wanted, 1000), 0);
        stp_check_msg(&pr[i].a.msgs[0], (uint32_t)i, 100);
    }
    for (int i = 0; i < 3; i++)
        stp_pair_free(&pr[i]);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {sparse_ids_both_ways_and_reset, added_streams_and_reset_of_all,
                            stream_memory_follows_use, one_association_bucket_per_socket, NULL};
    Suite *s = suite_create("sctp_streams");
    tsuite_add(s, "streams", 60, NULL, NULL, tests);
    return tsuite_run(s);
}
