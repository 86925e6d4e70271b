/* libFuzzer target: SCTP packets into a connected association.
 *
 * Every input gets a fresh pair of associations (A, B) connected in memory, so an input
 * does the same thing each time it runs. usrsctp picks random verification tags and TSNs;
 * the harness learns them and can patch them into the fuzzed packets, so that the fuzzer
 * reaches the chunk handlers instead of bouncing off the tag check.
 *
 * Input: one flags byte, then packets as [length: 2 bytes big-endian][bytes], at most
 * MAX_PACKETS. Flags: 1 = set the verification tag A expects, 2 = set the ports, 4 = add
 * the peer's next TSN to TSN fields (DATA, I-DATA, FORWARD-TSN) and A's to SACK's
 * cumulative ack, 8 = write a correct CRC32c (else the packet keeps its own, and is almost
 * always dropped by the CRC check, which is also worth exercising). After each packet the
 * pair exchanges whatever it has to say for a few rounds, timers included. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/crc32c.h"
#include "dcgw/stages/sctp.h"
#include "helper.h"

enum { MAX_PACKETS = 16, QMAX = 256, PKT_MAX = 4096, ROUNDS = 6 };

struct pkt {
    size_t n;
    uint8_t p[PKT_MAX];
};

struct side {
    struct dcgw_sctp *s;
    struct pkt *q; /* packets this side sent, not yet delivered */
    size_t nq;
    uint32_t vtag;     /* verification tag of the packets this side sends */
    uint32_t data_tsn; /* TSN of the last DATA chunk this side sent */
    uint16_t port;
    int connected;
};

static struct side A, B;
static uint16_t port_seq;

static void send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct side *sd = ud;
    if (n < 12 || n > PKT_MAX || sd->nq == QMAX)
        return;
    sd->vtag = dcgw_be32(p + 4);
    for (size_t off = 12; off + 8 <= n;) { /* remember our last DATA TSN */
        size_t len = dcgw_be16(p + off + 2);
        if (len < 4)
            break;
        if (p[off] == 0x00 && len >= 16)
            sd->data_tsn = dcgw_be32(p + off + 4);
        off += (len + 3) & ~(size_t)3;
    }
    sd->q[sd->nq].n = n;
    memcpy(sd->q[sd->nq].p, p, n);
    sd->nq++;
}

static void on_connected(void *ud)
{
    ((struct side *)ud)->connected = 1;
}

static void on_message(void *ud, uint16_t stream, uint32_t ppid, const uint8_t *p, size_t n,
                       unsigned flags)
{
    (void)flags;
    struct side *sd = ud;
    if (sd == &A && n && p[0] == 'e') /* echo some back: exercises sending from a callback */
        dcgw_sctp_send(sd->s, stream, ppid, NULL, p, n < 64 ? n : 64);
}

static void on_stream_reset(void *ud, uint16_t stream, enum dcgw_sctp_reset what)
{
    struct side *sd = ud;
    if (what == DCGW_SCTP_RESET_INCOMING) /* answer like a data channel would */
        dcgw_sctp_reset_streams(sd->s, &stream, 1);
}

static void deliver_all(struct side *from, struct side *to)
{
    size_t n = from->nq;
    static struct pkt tmp[QMAX];
    memcpy(tmp, from->q, n * sizeof(tmp[0]));
    from->nq = 0;
    for (size_t i = 0; i < n; i++)
        if (to->s)
            dcgw_sctp_input(to->s, tmp[i].p, tmp[i].n);
}

static void exchange(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        deliver_all(&A, &B);
        deliver_all(&B, &A);
        dcgw_sctp_handle_timers(10);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    A.q = calloc(QMAX, sizeof(struct pkt));
    B.q = calloc(QMAX, sizeof(struct pkt));
    return A.q && B.q && dcgw_sctp_stack_init(NULL) == 0 ? 0 : -1;
}

static int setup(void)
{
    struct dcgw_sctp_settings sa, sb;
    uint16_t pa = (uint16_t)(1000 + (port_seq++ % 30000) * 2), pb = (uint16_t)(pa + 1);
    dcgw_sctp_settings_default(&sa);
    sa.local_port = pa;
    sa.remote_port = pb;
    sa.streams = 16;
    sa.max_message_size = 64 * 1024;
    sb = sa;
    sb.local_port = pb;
    sb.remote_port = pa;
    A.port = pa;
    B.port = pb;
    struct dcgw_sctp_callbacks cb = {.send_packet = send_packet,
                                     .on_connected = on_connected,
                                     .on_message = on_message,
                                     .on_stream_reset = on_stream_reset};
    A.nq = B.nq = 0;
    A.connected = B.connected = 0;
    cb.ud = &A;
    if (dcgw_sctp_new(&sa, &cb, &A.s) != 0)
        return -1;
    cb.ud = &B;
    if (dcgw_sctp_new(&sb, &cb, &B.s) != 0)
        return -1;
    dcgw_sctp_connect(A.s);
    dcgw_sctp_connect(B.s);
    for (int i = 0; i < 20 && !(A.connected && B.connected); i++)
        exchange(1);
    if (!(A.connected && B.connected))
        return -1;
    /* one message each way: now every tag and TSN in use is known */
    static const uint8_t hello[] = "hello";
    dcgw_sctp_send(A.s, 0, 51, NULL, hello, 5);
    dcgw_sctp_send(B.s, 0, 51, NULL, hello, 5);
    exchange(4);
    return 0;
}

static void teardown(void)
{
    dcgw_sctp_free(A.s);
    dcgw_sctp_free(B.s);
    A.s = B.s = NULL;
    A.nq = B.nq = 0;
    dcgw_sctp_handle_timers(100); /* let usrsctp reap the closed sockets */
    dcgw_sctp_handle_timers(100);
}

static void fix_tsns(uint8_t *p, size_t n)
{
    for (size_t off = 12; off + 8 <= n;) {
        size_t len = dcgw_be16(p + off + 2);
        if (len < 4)
            break;
        uint8_t type = p[off];
        if (type == 0x00 || type == 0x40 || type == 0xc0) /* DATA, I-DATA, FORWARD-TSN */
            dcgw_put_be32(p + off + 4, dcgw_be32(p + off + 4) + B.data_tsn + 1);
        else if (type == 0x03) /* SACK: cumulative TSN ack */
            dcgw_put_be32(p + off + 4, dcgw_be32(p + off + 4) + A.data_tsn);
        off += (len + 3) & ~(size_t)3;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (setup() != 0) {
        teardown();
        return 0;
    }
    uint8_t flags = data[0];
    size_t off = 1;
    static uint8_t buf[PKT_MAX];
    for (int k = 0; k < MAX_PACKETS && off + 2 <= size && A.s; k++) {
        size_t n = dcgw_be16(data + off);
        off += 2;
        if (n > size - off)
            n = size - off;
        if (n > sizeof(buf))
            n = sizeof(buf);
        memcpy(buf, data + off, n);
        off += n;
        if (n >= 12) {
            if (flags & 1)
                dcgw_put_be32(buf + 4, B.vtag);
            if (flags & 2) {
                buf[0] = (uint8_t)(B.port >> 8), buf[1] = (uint8_t)B.port;
                buf[2] = (uint8_t)(A.port >> 8), buf[3] = (uint8_t)A.port;
            }
            if (flags & 4)
                fix_tsns(buf, n);
            if (flags & 8) {
                memset(buf + 8, 0, 4);
                uint32_t crc = dcgw_crc32c(buf, n);
                buf[8] = (uint8_t)crc, buf[9] = (uint8_t)(crc >> 8);
                buf[10] = (uint8_t)(crc >> 16), buf[11] = (uint8_t)(crc >> 24);
            }
        }
        dcgw_sctp_input(A.s, buf, n);
        exchange(ROUNDS);
    }
    teardown();
    return 0;
}
