#include "dcgw/msg/ctlmsg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/error.h"
#include "dcgw/msg/frame.h"

int dcgw_ctlmsg_pack(const Dcgw__Frame *f, size_t max, uint8_t **out, size_t *len)
{
    size_t n = dcgw__frame__get_packed_size(f);
    if (n > max || n > UINT32_MAX)
        return DCGW_ETOOBIG;
    uint8_t *b = malloc(n + 4);
    if (!b)
        return DCGW_ENOMEM;
    dcgw_frame_header(b, (uint32_t)n);
    dcgw__frame__pack(f, b + 4);
    *out = b;
    *len = n + 4;
    return 0;
}

Dcgw__Frame *dcgw_ctlmsg_unpack(const uint8_t *p, size_t n)
{
    return dcgw__frame__unpack(NULL, n, p);
}

void dcgw_ctlmsg_response(Dcgw__Response *resp, uint64_t id, Dcgw__Response__ResultCase rc)
{
    dcgw__response__init(resp);
    resp->has_id = 1;
    resp->id = id;
    resp->result_case = rc;
}

void dcgw_ctlmsg_error(Dcgw__Response *resp, Dcgw__Error *err, uint64_t id, int code,
                       const char *message)
{
    dcgw_ctlmsg_response(resp, id, DCGW__RESPONSE__RESULT__NOT_SET);
    dcgw__error__init(err);
    err->has_code = 1;
    err->code = code;
    err->name = (char *)dcgw_err_name(code);
    err->message = (char *)(message ? message : dcgw_strerror(code));
    resp->error = err;
}

ProtobufCMessage *dcgw_ctlmsg_clone(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return NULL;
    protobuf_c_message_pack(m, b);
    ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    return c;
}

uint64_t dcgw_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *field_name(const ProtobufCMessageDescriptor *d, uint32_t id)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)id);
    return f ? f->name : "none";
}

const char *dcgw_ctlmsg_op_name(const Dcgw__Request *req)
{
    return field_name(&dcgw__request__descriptor, req->op_case);
}

const char *dcgw_ctlmsg_event_name(const Dcgw__Event *ev)
{
    return field_name(&dcgw__event__descriptor, ev->kind_case);
}
