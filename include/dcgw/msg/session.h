/* The session data model (proto/dcgw.proto, shaped after Nmf_MRM): validation of what
 * a controller asks for, identifiers and summaries. Shared by master and workers. */
#ifndef DCGW_SESSION_H
#define DCGW_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "dcgw.pb-c.h"
#include "dcgw/base/limits.h"

/* Session ids: 1..63 characters of [A-Za-z0-9._:-]. */
bool dcgw_session_id_valid(const char *id);
/* A fresh random id ("s-" + 16 hex digits) into out (at least DCGW_SESSION_ID_MAX). */
void dcgw_session_id_generate(char *out, size_t cap);

/* Checks a session a controller wants created: id (if given), one or two legs with
 * distinct names, a data-channel media per leg with a mode, SDP within limits, and the
 * leg role consistent with the SDP given. Returns 0 or DCGW_EINVAL with a reason. */
int dcgw_session_validate(const Dcgw__Session *s, char *err, size_t errcap);

/* Checks the bootstrap HTTP proxy fields of a leg's DcMedia (docs/bootstrap.md):
 * media_proxy_config, replace_http_url (bootstrap stream ids, once each, usable URLs),
 * remote / local MDC1 endpoints, limits in range. update: the fields of an UpdateSession.dc,
 * where each one is optional. 0 or DCGW_EINVAL with a reason naming the leg. */
int dcgw_session_validate_proxy(const Dcgw__DcMedia *dc, const char *leg, bool update, char *err,
                                size_t errcap);

/* Fills a summary (strings borrowed from s). */
void dcgw_session_summarize(const Dcgw__Session *s, Dcgw__SessionSummary *out);

/* Human-readable names for states ("pending"), modes ("terminate"), roles. */
const char *dcgw_session_state_name(Dcgw__SessionState st);
const char *dcgw_leg_state_name(Dcgw__LegState st);
const char *dcgw_media_mode_name(Dcgw__MediaMode m);

#endif
