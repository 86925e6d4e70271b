/* Internal to the relay's DTLS inspector (src/stages/dtls_inspect.c,
 * src/stages/dtls_inspect_msg.c). Not a public header. */
#ifndef DCGW_DTLS_INSPECT_INT_H
#define DCGW_DTLS_INSPECT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes still to read. */
struct dcgw__dtls_cur {
    const uint8_t *p;
    size_t n;
};

/* ClientHello (RFC 6347 §4.2.1): 0 (DTLS 1.2 possible), 1 (uninspectable: why says
 * why) or -1 (malformed). */
int dcgw__dtls_parse_client_hello(const uint8_t *p, size_t n, char *why, size_t cap);
/* ServerHello (RFC 5246 §7.4.1.3, RFC 8446 §4.2.1 selected_version): same contract. */
int dcgw__dtls_parse_server_hello(const uint8_t *p, size_t n, char *why, size_t cap);
/* Certificate (RFC 5246 §7.4.2): 0 with the sender's own (first) certificate in *der
 * (n 0: an empty list), or -1 when malformed. */
int dcgw__dtls_parse_certificate(const uint8_t *p, size_t n, struct dcgw__dtls_cur *der);

#endif
