/* Control messages: packing a dcgw.Frame into header + payload and back, and the small
 * constructors every party uses (error responses, event headers). */
#ifndef DCGW_CTLMSG_H
#define DCGW_CTLMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dcgw.pb-c.h"

enum { DCGW_PROTOCOL_VERSION = 1 };

/* Serializes f with its 4-byte header into a malloc'd buffer (*out, *len).
 * Returns DCGW_ETOOBIG when the payload exceeds max, DCGW_ENOMEM. */
int dcgw_ctlmsg_pack(const Dcgw__Frame *f, size_t max, uint8_t **out, size_t *len);
/* Unpacks one payload (without header). NULL when malformed; free with
 * dcgw__frame__free_unpacked(f, NULL). */
Dcgw__Frame *dcgw_ctlmsg_unpack(const uint8_t *p, size_t n);

/* Fills resp (stack storage) as the response to request id with result rc; the caller
 * points rc's member at the result. */
void dcgw_ctlmsg_response(Dcgw__Response *resp, uint64_t id, Dcgw__Response__ResultCase rc);
/* Fills resp (stack storage; err must outlive it) as an error response to request id. */
void dcgw_ctlmsg_error(Dcgw__Response *resp, Dcgw__Error *err, uint64_t id, int code,
                       const char *message);

/* Deep copy through pack/unpack; NULL on ENOMEM. Free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *dcgw_ctlmsg_clone(const ProtobufCMessage *m);

/* Wall clock in ms since the epoch, for event timestamps. */
uint64_t dcgw_unix_ms(void);

/* Names of the request op / event kind oneof cases, for logs. */
const char *dcgw_ctlmsg_op_name(const Dcgw__Request *req);
const char *dcgw_ctlmsg_event_name(const Dcgw__Event *ev);

#endif
