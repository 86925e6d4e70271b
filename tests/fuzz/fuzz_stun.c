/* libFuzzer target: STUN through demux, an ICE-lite agent, the routing helpers and the
 * check client, with the RFC 5769 credentials so that the seeds (the RFC vectors and
 * checks made by dcgw's client) authenticate and the deep paths are reached. Invariants:
 * nothing crashes, an answered check gets a well-formed response with its transaction
 * id whose FINGERPRINT and MESSAGE-INTEGRITY (the success responses' from
 * ice_integrity.c, the error responses' from libnice) verify, a peeked ufrag is made of
 * ice-chars. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/demux.h"
#include "dcgw/stages/ice.h"
#include "helper.h"

static const char PWD[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* RFC 5769 §2.1 transaction id: the client draws it, so the §2.2/2.3 responses match. */
static const uint8_t RFC_ID[16] = {0,    0,    0,    0,    0xb7, 0xe7, 0xa7, 0x01,
                                   0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

struct out {
    uint8_t txid[12];
    unsigned sent;
    struct dcgw__stun_key *key; /* PWD's, made apart from the agent's */
};

static void on_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct out *o = ud;
    struct dcgw__stun_view v;
    (void)to;
    o->sent++;
    /* every response dcgw builds is well formed and answers the request */
    if (n > DCGW_ICE_MSG_MAX || dcgw__stun_parse(p, n, &v) != 0 || !v.fingerprint || !v.integrity ||
        memcmp(p + 8, o->txid, sizeof(o->txid)) != 0 || !dcgw__stun_fingerprint_ok(p, n) ||
        dcgw__stun_integrity_check(o->key, p, n, v.integrity_off))
        abort();
}

static void on_client_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)ud, (void)to, (void)p, (void)n;
}

static void fixed_random(void *ud, uint8_t *buf, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        buf[i] = n == 16 ? RFC_ID[i] : (uint8_t)(i * 31 + 7);
}

static void lite(const uint8_t *data, size_t size, const struct sockaddr *from)
{
    struct dcgw_ice_lite_settings s;
    dcgw_ice_lite_settings_default(&s);
    s.local_ufrag = "evtj";
    s.remote_ufrag = "h6vY";
    s.local_pwd = PWD;
    s.max_addrs = 2;
    static struct dcgw__stun_key *key;
    if (!key && dcgw__stun_key_new(PWD, strlen(PWD), &key) != 0)
        abort();
    struct out o = {{0}, 0, key};
    if (size >= 20)
        memcpy(o.txid, data + 8, sizeof(o.txid));
    struct dcgw_ice_cbs cbs = {&o, on_send, NULL, NULL};
    struct dcgw_ice_lite *ice;
    if (dcgw_ice_lite_new(&s, &cbs, &ice) != 0)
        abort();
    int rc = dcgw_ice_lite_recv(ice, from, data, size, 1000);
    if (rc == 0 && o.sent != 1)
        abort();
    /* the same datagram again (a retransmission), then the consent timer */
    dcgw_ice_lite_recv(ice, from, data, size, 2000);
    dcgw_ice_lite_handle_timeout(ice, dcgw_ice_lite_next_timeout(ice));
    dcgw_ice_lite_free(ice);
}

static void client(const uint8_t *data, size_t size, const struct sockaddr *peer)
{
    struct dcgw_ice_client_settings s;
    dcgw_ice_client_settings_default(&s);
    s.local_ufrag = "h6vY";
    s.local_pwd = PWD;
    s.remote_ufrag = "evtj";
    s.remote_pwd = PWD;
    s.tie_breaker = 42;
    struct dcgw_ice_client_cbs cbs = {NULL, on_client_send, NULL, NULL, NULL, fixed_random};
    struct dcgw_ice_client *c;
    if (dcgw_ice_client_new(&s, &cbs, &c) != 0 || dcgw_ice_client_start(c, peer, 0) != 0)
        abort();
    if (dcgw_ice_client_recv(c, peer, data, size, 10) == 0 &&
        dcgw_ice_client_state(c) != DCGW_ICE_CLIENT_CONNECTED)
        abort();
    dcgw_ice_client_handle_timeout(c, dcgw_ice_client_next_timeout(c));
    dcgw_ice_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        fuzz_quiet_logs();
        quiet = true;
    }
    struct sockaddr_in from;
    memset(&from, 0, sizeof(from));
    from.sin_family = AF_INET;
    from.sin_port = htons(32853);
    from.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */

    char ufrag[DCGW_ICE_UFRAG_MAX + 1];
    int n = dcgw_stun_peek_username(data, size, ufrag, sizeof(ufrag));
    if (n > 0) {
        if ((size_t)n != strlen(ufrag) || strspn(ufrag, "abcdefghijklmnopqrstuvwxyz"
                                                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789+/") != (size_t)n)
            abort();
    }
    bool req = dcgw_stun_is_binding_request(data, size);
    if (n > 0 && !req)
        abort();

    struct dcgw_demux_stats st;
    memset(&st, 0, sizeof(st));
    if (dcgw_demux_packet(&st, data, size) != DCGW_DEMUX_STUN) {
        if (req) /* a well-formed request always passes the demux */
            abort();
        return 0;
    }
    lite(data, size, (const struct sockaddr *)&from);
    client(data, size, (const struct sockaddr *)&from);
    return 0;
}
