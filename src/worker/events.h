/* The bottom of the worker: every event leaves through here, and the wire forms
 * (protobuf) shared by the worker's files are built here. Nothing here calls up into
 * another worker file: events flow down to this one sink (STYLE.md). */
#ifndef DCGW_WORKER_EVENTS_H
#define DCGW_WORKER_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw.pb-c.h"
#include "dcgw/base/fingerprint.h"
#include "dcgw/sdp/sdp.h"
#include "dcgw/stages/datachannel.h"
#include "dcgw/stages/leg.h"

struct worker;
struct wsession;

/* The one way a frame leaves for the master: the pipe, or an in-process worker's function
 * (inproc.c). DCGW_ECLOSED when the pipe is gone. f stays the caller's. */
int dcgw__wev_send(struct worker *w, const Dcgw__Frame *f);
/* Stamps ev with the time and sends it to the master; dropped when the pipe is gone.
 * ev and what it points to stay the caller's. */
void dcgw__wev_emit(struct worker *w, Dcgw__Event *ev);
/* The same, with ev naming session s and its leg `leg` (< 0: the session as a whole), and
 * carrying the session's state (dcgw__wev_session_state) unless ev has one already. */
void dcgw__wev_emit_session(struct wsession *s, int leg, Dcgw__Event *ev);

/* Session s's state on the wire, from its legs' (terminated legs read their stages; relay
 * legs are kept current by relay_legs.c), brought up to date in s->desc with the legs'
 * own. SESSION_DOWN and SESSION_CLOSED are final: set by state.c and legs.c, kept. */
Dcgw__SessionState dcgw__wev_session_state(struct wsession *s);
/* A terminated leg's stage state st on the wire (otherwise for a state it does not know). */
Dcgw__LegState dcgw__wev_leg_state(enum dcgw_leg_state st, Dcgw__LegState otherwise);

/* Builders. Heap results (NULL when out of memory) are freed with
 * protobuf_c_message_free_unpacked, also when they hang in a larger message. */
Dcgw__Fingerprint *dcgw__wev_fingerprint(const struct dcgw_fingerprint *fp);
/* Replaces *slot with an endpoint: DTLS identity (fingerprints, tls-id, SCTP port), ICE
 * ufrag and, when known, the address. Left as it was when out of memory. */
void dcgw__wev_endpoint(Dcgw__DcEndpoint **slot, const struct dcgw_fingerprint *fps, size_t n_fps,
                        uint16_t sctp_port, const char *tls_id, const char *ufrag,
                        const struct sockaddr *addr);
/* An a=setup value on the wire; absent (DCGW_SDP_SETUP_NONE) is SETUP_UNSPECIFIED, so the
 * controller sees what the SDP said (a relayed offer without a=setup keeps none). */
Dcgw__SecuritySetup dcgw__wev_setup(enum dcgw_sdp_setup s);
/* A channel's description and counters. */
Dcgw__DcStream *dcgw__wev_channel(const struct dcgw_dc_channel *ch);

#endif
