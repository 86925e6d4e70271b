/* Relay packet rate: a pair through a MODE_RELAY session against the direct path. */
#include "bench.h"

int scen_relay(struct bench *b, json_t *res)
{
    (void)b;
    json_object_set_new(res, "status", json_string("not-implemented"));
    return 1;
}
