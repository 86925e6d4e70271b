#include "dcgw/msg/pbjson.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"

enum { MAX_DEPTH = 16, MAX_BYTES_JSON = 1 << 20 };

const char *dcgw_pb_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    return v ? v->name : NULL;
}

static const void *fptr(const ProtobufCMessage *m, unsigned off)
{
    return (const char *)m + off;
}

static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)fptr(m, f->quantifier_offset) == f->id;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const void *p = *(void *const *)fptr(m, f->offset);
        return p != NULL && p != f->default_value;
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)fptr(m, f->quantifier_offset);
    return true;
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    default:
        return 4;
    }
}

static json_t *scalar_to_json(const ProtobufCFieldDescriptor *f, const void *p, int depth);

static json_t *msg_to_json(const ProtobufCMessage *m, int depth)
{
    if (depth > MAX_DEPTH)
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_t *v;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)fptr(m, f->quantifier_offset);
            if (n == 0)
                continue;
            const char *arr = *(const char *const *)fptr(m, f->offset);
            size_t stride = elem_size(f);
            v = json_array();
            for (size_t k = 0; v && k < n; k++)
                json_array_append_new(v, scalar_to_json(f, arr + k * stride, depth));
        } else {
            if (!present(m, f))
                continue;
            v = scalar_to_json(f, fptr(m, f->offset), depth);
        }
        if (!v || json_object_set_new(o, f->name, v) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *scalar_to_json(const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_integer((json_int_t) * (const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const char *name = dcgw_pb_enum_name(f->descriptor, v);
        return name ? json_string(name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return json_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        if (b->len > MAX_BYTES_JSON)
            return json_null();
        char *out = malloc(4 * ((b->len + 2) / 3) + 1);
        if (!out)
            return NULL;
        EVP_EncodeBlock((unsigned char *)out, b->data, (int)b->len);
        json_t *j = json_string(out);
        free(out);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;
        return m ? msg_to_json(m, depth + 1) : json_null();
    }
    }
    return json_null();
}

json_t *dcgw_pb_to_json(const ProtobufCMessage *msg)
{
    return msg_to_json(msg, 0);
}

/* ------------------------------------------------------------------ JSON -> message */

struct jerr {
    char *buf;
    size_t cap;
};

static int jfail(struct jerr *e, const char *path, const char *what)
{
    if (e->buf && e->cap)
        snprintf(e->buf, e->cap, "%s: %s", path, what);
    return DCGW_EINVAL;
}

static int msg_from_json(const ProtobufCMessageDescriptor *d, const json_t *o,
                         ProtobufCMessage **out, const char *path, int depth, struct jerr *e);

static int int32_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *p,
                           const char *path, struct jerr *e)
{
    if (!json_is_integer(v))
        return jfail(e, path, "expected an integer");
    json_int_t i = json_integer_value(v);
    bool sign = f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
                f->type == PROTOBUF_C_TYPE_SFIXED32;
    if (sign ? (i < INT32_MIN || i > INT32_MAX) : (i < 0 || i > (json_int_t)UINT32_MAX))
        return jfail(e, path, "integer out of range");
    if (sign)
        *(int32_t *)p = (int32_t)i;
    else
        *(uint32_t *)p = (uint32_t)i;
    return 0;
}

static int enum_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *p,
                          const char *path, struct jerr *e)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    const ProtobufCEnumValue *ev = NULL;
    if (json_is_string(v))
        ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
    else if (json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
             json_integer_value(v) <= INT32_MAX)
        ev = protobuf_c_enum_descriptor_get_value(ed, (int)json_integer_value(v));
    if (!ev)
        return jfail(e, path, "unknown enum value");
    *(int *)p = ev->value;
    return 0;
}

static int bytes_from_json(const json_t *v, void *p, const char *path, struct jerr *e)
{
    if (!json_is_string(v))
        return jfail(e, path, "expected base64 text");
    size_t len = json_string_length(v);
    if (len % 4 || len > MAX_BYTES_JSON)
        return jfail(e, path, "bad base64 length");
    ProtobufCBinaryData *b = p;
    b->data = malloc(len / 4 * 3 + 1);
    if (!b->data)
        return DCGW_ENOMEM;
    int n = EVP_DecodeBlock(b->data, (const unsigned char *)json_string_value(v), (int)len);
    if (n < 0)
        return jfail(e, path, "bad base64");
    const char *s = json_string_value(v);
    n -= (len && s[len - 1] == '=') + (len > 1 && s[len - 2] == '=');
    b->len = (size_t)n;
    return 0;
}

static int scalar_from_json(const ProtobufCFieldDescriptor *f, const json_t *v, void *p,
                            const char *path, int depth, struct jerr *e)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return int32_from_json(f, v, p, path, e);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!json_is_integer(v))
            return jfail(e, path, "expected an integer");
        if (json_integer_value(v) < 0 &&
            (f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64))
            return jfail(e, path, "integer out of range");
        *(int64_t *)p = json_integer_value(v);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v))
            return jfail(e, path, "expected a number");
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)p = (float)json_number_value(v);
        else
            *(double *)p = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return jfail(e, path, "expected true or false");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return enum_from_json(f, v, p, path, e);
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v))
            return jfail(e, path, "expected a string");
        if (!(*(char **)p = strdup(json_string_value(v))))
            return DCGW_ENOMEM;
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_from_json(v, p, path, e);
    case PROTOBUF_C_TYPE_MESSAGE:
        return msg_from_json(f->descriptor, v, (ProtobufCMessage **)p, path, depth + 1, e);
    }
    return jfail(e, path, "unsupported field type");
}

static int field_from_json(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *v,
                           const char *path, int depth, struct jerr *e)
{
    char *base = (char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array(v))
            return jfail(e, path, "expected an array");
        size_t n = json_array_size(v), sz = elem_size(f);
        void *arr = calloc(n ? n : 1, sz);
        if (!arr)
            return DCGW_ENOMEM;
        *(void **)(base + f->offset) = arr;
        for (size_t k = 0; k < n; k++) {
            char sub[256];
            if (snprintf(sub, sizeof(sub), "%s[%zu]", path, k) >= (int)sizeof(sub))
                return jfail(e, path, "path too long");
            int r = scalar_from_json(f, json_array_get(v, k), (char *)arr + k * sz, sub, depth, e);
            *(size_t *)(base + f->quantifier_offset) = k + 1; /* so free sees what exists */
            if (r)
                return r;
        }
        *(size_t *)(base + f->quantifier_offset) = n;
        return 0;
    }
    /* The oneof case first: protobuf-c frees a oneof member only when the case names it,
     * and a member that fails half way may hold allocations already. */
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    int r = scalar_from_json(f, v, base + f->offset, path, depth, e);
    if (r)
        return r;
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

static int msg_from_json(const ProtobufCMessageDescriptor *d, const json_t *o,
                         ProtobufCMessage **out, const char *path, int depth, struct jerr *e)
{
    if (depth > MAX_DEPTH)
        return jfail(e, path, "nested too deeply");
    if (!json_is_object(o))
        return jfail(e, path, "expected an object");
    ProtobufCMessage *m = malloc(d->sizeof_message);
    if (!m)
        return DCGW_ENOMEM;
    protobuf_c_message_init(d, m);
    *out = m;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        char sub[256];
        if (snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key) >= (int)sizeof(sub))
            return jfail(e, path, "path too long");
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (!f)
            return jfail(e, sub, "unknown field");
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
            *(uint32_t *)((char *)m + f->quantifier_offset))
            return jfail(e, sub, "only one of a oneof may be set");
        int r = field_from_json(m, f, v, sub, depth, e);
        if (r)
            return r;
    }
    return 0;
}

int dcgw_pb_from_json(const ProtobufCMessageDescriptor *desc, const json_t *obj,
                      ProtobufCMessage **out, char *err, size_t errcap)
{
    struct jerr e = {err, errcap};
    ProtobufCMessage *m = NULL;
    int r = msg_from_json(desc, obj, &m, "", 0, &e);
    if (r) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return r;
    }
    *out = m;
    return 0;
}
