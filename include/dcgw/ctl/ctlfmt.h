/* Printing control responses and events for people (aligned text) or machines (JSON,
 * one object per response or event). Used by dcgwctl. */
#ifndef DCGW_CTLFMT_H
#define DCGW_CTLFMT_H

#include <stdbool.h>
#include <stdio.h>

#include "dcgw.pb-c.h"

void dcgw_ctlfmt_response(FILE *out, const Dcgw__Response *r, bool json);
void dcgw_ctlfmt_event(FILE *out, const Dcgw__Event *ev, bool json);

#endif
