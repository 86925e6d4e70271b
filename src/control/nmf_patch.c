/* JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), on jansson values: the PATCH of
 * Nmf_MRM contexts. Applied to a copy, so a failing item leaves the document as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/control/nmf.h"

enum { TOKEN_MAX = 256, TOKENS_MAX = 32 };

struct pointer {
    size_t n;
    char tok[TOKENS_MAX][TOKEN_MAX];
};

/* RFC 6901 §3-4: "" is the whole document; each "/"-separated token has ~1 for '/' and ~0
 * for '~', and no other '~'. */
static int pointer_parse(const char *s, struct pointer *p)
{
    p->n = 0;
    if (!*s)
        return 0;
    if (*s != '/')
        return DCGW_EMALFORMED;
    while (*s == '/') {
        if (p->n == TOKENS_MAX)
            return DCGW_ETOOBIG;
        char *t = p->tok[p->n++];
        size_t k = 0;
        for (s++; *s && *s != '/'; s++) {
            char c = *s;
            if (c == '~') {
                if (s[1] != '0' && s[1] != '1')
                    return DCGW_EMALFORMED;
                c = *++s == '0' ? '~' : '/';
            }
            if (k + 1 >= TOKEN_MAX)
                return DCGW_ETOOBIG;
            t[k++] = c;
        }
        t[k] = '\0';
    }
    return 0;
}

/* An array index: "0" or digits without a leading zero (RFC 6901 §4). */
static bool array_index(const char *t, size_t *out)
{
    size_t n = strlen(t);
    if (n == 0 || n > 9 || (n > 1 && t[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return false;
    *out = (size_t)atol(t);
    return true;
}

static json_t *child(json_t *v, const char *t)
{
    size_t i;
    if (json_is_object(v))
        return json_object_get(v, t);
    if (json_is_array(v) && array_index(t, &i))
        return json_array_get(v, i);
    return NULL;
}

static json_t *resolve(json_t *doc, const struct pointer *p, size_t upto)
{
    json_t *v = doc;
    for (size_t i = 0; v && i < upto; i++)
        v = child(v, p->tok[i]);
    return v;
}

json_t *dcgw_json_pointer_get(json_t *doc, const char *ptr)
{
    struct pointer p;
    if (!doc || !ptr || pointer_parse(ptr, &p) < 0)
        return NULL;
    return resolve(doc, &p, p.n);
}

/* The operations on the parent of the last token. On failure *why says why. */
static int op_add(json_t **doc, const struct pointer *p, json_t *value, const char **why)
{
    if (p->n == 0) {
        json_decref(*doc);
        *doc = json_incref(value);
        return 0;
    }
    json_t *parent = resolve(*doc, p, p->n - 1);
    const char *t = p->tok[p->n - 1];
    size_t i;
    if (json_is_object(parent))
        return json_object_set(parent, t, value) == 0 ? 0 : DCGW_ENOMEM;
    if (json_is_array(parent)) {
        if (strcmp(t, "-") == 0)
            return json_array_append(parent, value) == 0 ? 0 : DCGW_ENOMEM;
        if (!array_index(t, &i) || i > json_array_size(parent)) {
            *why = "array index out of range";
            return DCGW_EINVAL;
        }
        return json_array_insert(parent, i, value) == 0 ? 0 : DCGW_ENOMEM;
    }
    *why = "the parent of path does not exist";
    return DCGW_EINVAL;
}

static int op_remove(json_t *doc, const struct pointer *p, const char **why)
{
    json_t *parent = p->n ? resolve(doc, p, p->n - 1) : NULL;
    const char *t = p->n ? p->tok[p->n - 1] : "";
    size_t i;
    if (json_is_object(parent) && json_object_get(parent, t))
        return json_object_del(parent, t) == 0 ? 0 : DCGW_EINVAL;
    if (json_is_array(parent) && array_index(t, &i) && i < json_array_size(parent))
        return json_array_remove(parent, i) == 0 ? 0 : DCGW_EINVAL;
    *why = p->n ? "path does not exist" : "the whole document cannot be removed";
    return DCGW_EINVAL;
}

static int op_replace(json_t **doc, const struct pointer *p, json_t *value, const char **why)
{
    if (p->n == 0)
        return op_add(doc, p, value, why);
    if (!resolve(*doc, p, p->n)) {
        *why = "path does not exist";
        return DCGW_EINVAL;
    }
    json_t *parent = resolve(*doc, p, p->n - 1);
    size_t i;
    if (json_is_object(parent))
        return json_object_set(parent, p->tok[p->n - 1], value) == 0 ? 0 : DCGW_ENOMEM;
    if (array_index(p->tok[p->n - 1], &i))
        return json_array_set(parent, i, value) == 0 ? 0 : DCGW_ENOMEM;
    *why = "path does not exist";
    return DCGW_EINVAL;
}

static bool is_prefix(const struct pointer *a, const struct pointer *b)
{
    if (a->n >= b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0)
            return false;
    return true;
}

/* One PatchItem (validated) on *doc; *why set on failure; *field the failing member. */
static int apply_one(json_t **doc, const json_t *it, const char **why, const char **field)
{
    const char *op = json_string_value(json_object_get(it, "op"));
    json_t *value = json_object_get(it, "value");
    struct pointer path, from;
    *field = "path";
    if (pointer_parse(json_string_value(json_object_get(it, "path")), &path) < 0) {
        *why = "not a JSON Pointer";
        return DCGW_EINVAL;
    }
    if (!strcmp(op, "add"))
        return op_add(doc, &path, value, why);
    if (!strcmp(op, "remove"))
        return op_remove(*doc, &path, why);
    if (!strcmp(op, "replace"))
        return op_replace(doc, &path, value, why);
    if (!strcmp(op, "test")) {
        json_t *cur = resolve(*doc, &path, path.n);
        if (!cur || !json_equal(cur, value)) {
            *field = "value";
            *why = cur ? "test failed: the value differs" : "path does not exist";
            return DCGW_EINVAL;
        }
        return 0;
    }
    /* move and copy */
    *field = "from";
    if (pointer_parse(json_string_value(json_object_get(it, "from")), &from) < 0) {
        *why = "not a JSON Pointer";
        return DCGW_EINVAL;
    }
    json_t *src = resolve(*doc, &from, from.n);
    if (!src) {
        *why = "from does not exist";
        return DCGW_EINVAL;
    }
    bool move = !strcmp(op, "move");
    if (move && is_prefix(&from, &path)) {
        *why = "a value cannot move into itself (RFC 6902 §4.4)";
        return DCGW_EINVAL;
    }
    json_t *val = move ? json_incref(src) : json_deep_copy(src);
    if (!val)
        return DCGW_ENOMEM;
    int r = move ? op_remove(*doc, &from, why) : 0;
    *field = "path";
    if (r == 0)
        r = op_add(doc, &path, val, why);
    json_decref(val);
    return r;
}

int dcgw_nmf_patch_apply(json_t **doc, const json_t *patch, struct dcgw_nmf_problem *p)
{
    json_t *work = json_deep_copy(*doc);
    if (!work)
        return DCGW_ENOMEM;
    for (size_t i = 0; i < json_array_size(patch); i++) {
        const char *why = "cannot be applied", *field = "path";
        int r = apply_one(&work, json_array_get(patch, i), &why, &field);
        if (r == DCGW_ENOMEM) {
            json_decref(work);
            return r;
        }
        if (r < 0) {
            char param[48];
            snprintf(param, sizeof(param), "/%zu/%s", i, field);
            dcgw_nmf_problem_param(p, param, "%s (failed operation index= %zu)", why, i);
            dcgw_nmf_problem_set(
                p, 400, DCGW_NMF_MANDATORY_IE_INCORRECT, "JSON Patch operation %zu (%s %s): %s", i,
                json_string_value(json_object_get(json_array_get(patch, i), "op")),
                json_string_value(json_object_get(json_array_get(patch, i), "path")), why);
            json_decref(work);
            return DCGW_EINVAL;
        }
    }
    json_decref(*doc);
    *doc = work;
    return 0;
}
