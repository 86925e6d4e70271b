/* JSON views of control messages, driven by protobuf-c's descriptors: any message to a
 * jansson object and back. Field names are the .proto names; enums are written as their
 * value names and read as names or numbers; bytes are base64. Used by dcgwctl --json,
 * by files the operator writes (sessions, policies) and by tests. */
#ifndef DCGW_PBJSON_H
#define DCGW_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* New reference to a JSON object holding every present field of msg; NULL on ENOMEM. */
json_t *dcgw_pb_to_json(const ProtobufCMessage *msg);

/* Builds a message of type desc from a JSON object. Unknown keys and wrong types are
 * errors: returns DCGW_EINVAL with "path: reason" in err. On success *out is a message
 * to release with protobuf_c_message_free_unpacked(*out, NULL). */
int dcgw_pb_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj,
                      ProtobufCMessage **out, char *err, size_t errcap);

/* Enum value name for a number, or NULL. */
const char *dcgw_pb_enum_name(const ProtobufCEnumDescriptor *desc, int value);

#endif
