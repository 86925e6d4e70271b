/* ProblemDetails (RFC 7807 as TS 29.500 §5.2.7 uses it) for the Nmf_MRM adapter: the
 * status, cause and detail of an error response and its invalidParams. */
#include <stdarg.h>
#include <stdio.h>

#include "dcgw/control/nmf.h"

void dcgw_nmf_problem_set(struct dcgw_nmf_problem *p, int status, const char *cause,
                          const char *fmt, ...)
{
    p->status = status;
    p->cause = cause;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
}

void dcgw_nmf_problem_param(struct dcgw_nmf_problem *p, const char *param, const char *fmt, ...)
{
    if (p->n_params >= DCGW_NMF_PARAMS_MAX) {
        p->n_dropped++;
        return;
    }
    snprintf(p->params[p->n_params].param, DCGW_NMF_PARAM_SIZE, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->params[p->n_params].reason, DCGW_NMF_REASON_SIZE, fmt, ap);
    va_end(ap);
    p->n_params++;
}

const char *dcgw_nmf_status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

json_t *dcgw_nmf_problem_json(const struct dcgw_nmf_problem *p)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "title", json_string(dcgw_nmf_status_text(p->status)));
    json_object_set_new(o, "status", json_integer(p->status));
    if (p->detail[0])
        json_object_set_new(o, "detail", json_string(p->detail));
    if (p->cause)
        json_object_set_new(o, "cause", json_string(p->cause));
    if (p->n_params) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < p->n_params; i++) {
            json_t *ip = json_object();
            json_object_set_new(ip, "param", json_string(p->params[i].param));
            if (p->params[i].reason[0])
                json_object_set_new(ip, "reason", json_string(p->params[i].reason));
            json_array_append_new(a, ip);
        }
        json_object_set_new(o, "invalidParams", a);
    }
    return o;
}
