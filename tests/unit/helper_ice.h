/* Shared by the ICE tests (test_ice_*.c): the RFC 5769 §2 vectors, independent STUN
 * verifiers (HMAC-SHA1 with OpenSSL, CRC-32 with zlib; not libnice, so the tests do not
 * trust the library they exercise), checks built with libnice, a lite agent with
 * recording callbacks, and a client and a lite agent back to back over an in-memory
 * link (no sockets, injected time). Functions fail the running test on misuse. */
#ifndef DCGW_TEST_ICE_H
#define DCGW_TEST_ICE_H

#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/stages/ice.h"
#include "helper_lossy.h"

#define SA(x) ((const struct sockaddr *)&(x))

#define ICEH_L_UFRAG  "LiTe"
#define ICEH_L_PWD    "dcgwLitePassword0123456"
#define ICEH_U_UFRAG  "uE+1"
#define ICEH_U_PWD    "ue/Password/0123456789AB"
#define ICEH_USERNAME "LiTe:uE+1" /* what the UE puts in its checks */

/* RFC 5769 §2: the password, the sample request, the IPv4 and IPv6 sample responses. */
#define ICEH_RFC_PWD "VOkJxbRl1RmTxUk/WvJxBt"
enum { ICEH_RFC_REQ_LEN = 108, ICEH_RFC_RESP4_LEN = 80, ICEH_RFC_RESP6_LEN = 92 };
extern const uint8_t iceh_rfc_req[ICEH_RFC_REQ_LEN];
extern const uint8_t iceh_rfc_resp4[ICEH_RFC_RESP4_LEN];
extern const uint8_t iceh_rfc_resp6[ICEH_RFC_RESP6_LEN];

/* ---- independent STUN helpers ---- */

struct sockaddr_in iceh_v4(const char *ip, uint16_t port);
struct sockaddr_in6 iceh_v6(const char *ip, uint16_t port);
uint16_t iceh_rd16(const uint8_t *p);
void iceh_wr16(uint8_t *p, size_t v);
/* Offset of the value of the first attribute `type`, 0 when absent. */
size_t iceh_find_attr(const uint8_t *p, size_t n, uint16_t type, uint16_t *len);
/* RFC 8489 §14.7: whether FINGERPRINT ends the message and is right. */
bool iceh_fp_ok(const uint8_t *p, size_t n);
/* Rewrites the FINGERPRINT that ends the message. */
void iceh_fp_fix(uint8_t *p, size_t n);
/* RFC 8489 §14.5 MESSAGE-INTEGRITY with `key`: writes it when `fix`, else compares. */
bool iceh_mi_check(uint8_t *p, size_t n, const char *key, bool fix);
bool iceh_mi_ok(const uint8_t *p, size_t n, const char *key);
/* XOR-MAPPED-ADDRESS (RFC 8489 §14.2) of an IPv4 response. */
struct sockaddr_in iceh_xor_mapped4(const uint8_t *p, size_t n);
/* A Binding request built with libnice: USERNAME `user` (none if NULL), key `pwd` (none
 * if NULL), role > 0 controlling, < 0 controlled, 0 none, and an extra attribute of
 * extra_len bytes when extra_type. Returns its length. */
size_t iceh_make_check(uint8_t *buf, size_t cap, const char *user, const char *pwd, bool use_cand,
                       int role, uint16_t extra_type, size_t extra_len);
/* The UE's valid controlling check to the lite agent. */
size_t iceh_good_check(uint8_t *buf, size_t cap, bool use_cand);

/* ---- a lite agent with recording callbacks ---- */

struct iceh_rec {
    unsigned sent, selected, lost;
    uint8_t last[2048];
    size_t last_len;
    struct sockaddr_storage to, sel;
    uint64_t lost_at, *now;
};

void iceh_rec_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n);
void iceh_rec_selected(void *ud, const struct sockaddr *peer);
void iceh_rec_lost(void *ud);
/* A lite agent recording into r (cleared); consent and max_addrs 0 for the defaults. */
struct dcgw_ice_lite *iceh_lite_with(struct iceh_rec *r, const char *lu, const char *ru,
                                     const char *lp, uint32_t consent, uint32_t max_addrs);
struct dcgw_ice_lite *iceh_lite_new(struct iceh_rec *r);

/* ---- client and lite back to back over an in-memory link ---- */

struct iceh_net {
    struct dcgw_ice_client *c;
    struct dcgw_ice_lite *l;
    struct iceh_rec lr;
    struct lossy_link c2l, l2c;
    struct sockaddr_storage caddr, laddr;
    uint64_t now, rng, send_times[64];
    unsigned c_sent, drop_first, connected, failed, c_lost;
    bool block_c2l, block_l2c;
    const uint8_t *fixed_id; /* first random draw of 16 bytes, for RFC 5769 */
    struct sockaddr_storage mapped;
    uint8_t c_last[2048];
    size_t c_last_len;
};

/* (Re)creates t->c: a client with these credentials (local pwd ICEH_U_PWD). */
void iceh_net_client(struct iceh_net *t, const char *lu, const char *ru, const char *rp);
/* A UE client (uE+1) and a lite agent (LiTe); client at caddr, lite at laddr. */
void iceh_net_init(struct iceh_net *t, const struct sockaddr *caddr, const struct sockaddr *laddr,
                   const char *client_remote_pwd);
void iceh_net_dispose(struct iceh_net *t);
/* Delivers everything, then jumps to the next timer, until `until`. */
void iceh_net_run(struct iceh_net *t, uint64_t until);

/* ---- the suite ---- */

struct iceh_group {
    const char *name;
    const TTest *tests[12]; /* NULL-terminated unless full */
};
/* Runs suite "ice" with one test case per group; returns main's exit status. */
int iceh_run(const struct iceh_group *groups, size_t n);

#endif
