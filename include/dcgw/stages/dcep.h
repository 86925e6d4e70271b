/* Data Channel Establishment Protocol (RFC 8832) codec and the WebRTC payload protocol
 * identifiers (RFC 8831 §8). Pure functions, no allocation: decoded strings point into
 * the caller's buffer. */
#ifndef DCGW_DCEP_H
#define DCGW_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/base/limits.h"

enum dcgw_dcep_limits {
    DCGW_DCEP_LABEL_MAX = DCGW_LABEL_MAX,    /* longest label accepted (bytes) */
    DCGW_DCEP_PROTOCOL_MAX = DCGW_LABEL_MAX, /* longest subprotocol accepted (bytes) */
    DCGW_DCEP_OPEN_HEADER = 12,              /* fixed part of DATA_CHANNEL_OPEN */
    DCGW_DCEP_OPEN_MAX = DCGW_DCEP_OPEN_HEADER + DCGW_DCEP_LABEL_MAX + DCGW_DCEP_PROTOCOL_MAX,
    DCGW_DCEP_ACK_LEN = 1,
};

/* Message types (RFC 8832 §8.2.1). 0x00, 0x01 and 0xff are reserved. */
enum dcgw_dcep_type {
    DCGW_DCEP_ACK = 0x02,
    DCGW_DCEP_OPEN = 0x03,
};

/* Channel types (RFC 8832 §5.1): the high bit means unordered. */
enum dcgw_dcep_channel_type {
    DCGW_DCEP_RELIABLE = 0x00,
    DCGW_DCEP_PARTIAL_RELIABLE_REXMIT = 0x01,
    DCGW_DCEP_PARTIAL_RELIABLE_TIMED = 0x02,
    DCGW_DCEP_RELIABLE_UNORDERED = 0x80,
    DCGW_DCEP_PARTIAL_RELIABLE_REXMIT_UNORDERED = 0x81,
    DCGW_DCEP_PARTIAL_RELIABLE_TIMED_UNORDERED = 0x82,
};
#define DCGW_DCEP_UNORDERED_BIT 0x80u

/* SCTP payload protocol identifiers of WebRTC (RFC 8831 §8). 52 and 54 are the deprecated
 * partial-message PPIDs: dcgw drops and counts them. */
enum dcgw_ppid {
    DCGW_PPID_DCEP = 50,
    DCGW_PPID_STRING = 51,
    DCGW_PPID_BINARY_PARTIAL = 52,
    DCGW_PPID_BINARY = 53,
    DCGW_PPID_STRING_PARTIAL = 54,
    DCGW_PPID_STRING_EMPTY = 56,
    DCGW_PPID_BINARY_EMPTY = 57,
};

/* What a PPID means to a data-channel receiver. */
enum dcgw_ppid_class {
    DCGW_PPID_CLASS_DCEP,
    DCGW_PPID_CLASS_TEXT,
    DCGW_PPID_CLASS_BINARY,
    DCGW_PPID_CLASS_TEXT_EMPTY,
    DCGW_PPID_CLASS_BINARY_EMPTY,
    DCGW_PPID_CLASS_DEPRECATED, /* 52, 54 */
    DCGW_PPID_CLASS_UNKNOWN,
};

/* A DATA_CHANNEL_OPEN. label/protocol are not NUL-terminated; after a decode they point
 * into the decoded buffer and live as long as it. */
struct dcgw_dcep_open {
    uint8_t channel_type; /* enum dcgw_dcep_channel_type */
    uint16_t priority;    /* 128 / 256 / 512 / 1024 in WebRTC, any value accepted */
    uint32_t reliability; /* retransmissions or lifetime in ms; 0 for reliable types */
    const uint8_t *label;
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
};

/* A decoded DCEP message. */
struct dcgw_dcep_msg {
    enum dcgw_dcep_type type;
    struct dcgw_dcep_open open; /* only for DCGW_DCEP_OPEN */
};

/* Decodes one DCEP message (the whole SCTP user message of PPID 50). Strict: the length
 * must be exactly what the header announces, the channel type must be known, label and
 * protocol must fit the caps above and be valid UTF-8 without NUL (so that policy compares
 * exactly what the peer sent). Returns 0, or DCGW_ETRUNC (short), DCGW_EMALFORMED (bad
 * length or string), DCGW_ETOOBIG (label/protocol over the caps), DCGW_EUNSUPPORTED
 * (unknown message or channel type). On error *out is unspecified. */
int dcgw_dcep_decode(const uint8_t *p, size_t n, struct dcgw_dcep_msg *out);

/* Encodes a DATA_CHANNEL_OPEN into buf[cap]; *len gets the size. DCGW_EINVAL for an
 * unknown channel type or over-long strings, DCGW_ERANGE when cap is too small. */
int dcgw_dcep_encode_open(const struct dcgw_dcep_open *o, uint8_t *buf, size_t cap, size_t *len);

/* Encodes a DATA_CHANNEL_ACK (one byte). DCGW_ERANGE when cap is 0. */
int dcgw_dcep_encode_ack(uint8_t *buf, size_t cap, size_t *len);

/* Channel type helpers. */
bool dcgw_dcep_channel_type_valid(uint8_t t);
bool dcgw_dcep_channel_type_ordered(uint8_t t);

/* Classifies a PPID. */
enum dcgw_ppid_class dcgw_ppid_classify(uint32_t ppid);

/* True when p[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
 * and contains no NUL byte. */
bool dcgw_dcep_string_ok(const uint8_t *p, size_t n);

#endif
