#include "dcgw/base/error.h"

const char *dcgw_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err <= DCGW_ALERT_BASE && err > DCGW_ALERT_BASE - 256)
        return "DTLS alert";
    switch (err) {
#define DCGW__ERR_MSG(name, val, msg)                                                              \
    case DCGW_E##name:                                                                             \
        return msg;
        DCGW_ERRNO_MAP(DCGW__ERR_MSG)
#undef DCGW__ERR_MSG
    }
    return "unknown error";
}

const char *dcgw_err_name(int err)
{
    if (err == 0)
        return "OK";
    if (err <= DCGW_ALERT_BASE && err > DCGW_ALERT_BASE - 256)
        return "EALERT";
    switch (err) {
#define DCGW__ERR_NAME(name, val, msg)                                                             \
    case DCGW_E##name:                                                                             \
        return "E" #name;
        DCGW_ERRNO_MAP(DCGW__ERR_NAME)
#undef DCGW__ERR_NAME
    }
    return "EUNKNOWN";
}
