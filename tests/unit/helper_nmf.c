/* Shared by the Nmf_MRM tests: see helper_nmf.h. */
#include "helper_nmf.h"

#include <check.h>
#include <string.h>

const struct dcgw_nmf_settings nmfh_settings = {.vendor_pen = 32473};

json_t *nmfh_load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    return j;
}

bool nmfh_has_param(const struct dcgw_nmf_problem *p, const char *param)
{
    for (size_t i = 0; i < p->n_params; i++)
        if (!strcmp(p->params[i].param, param))
            return true;
    return false;
}
