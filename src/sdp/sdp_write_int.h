/* Internal to the SDP writer (src/sdp/sdp_write.c, src/sdp/sdp_write_av.c): the output
 * buffer, the checks on what goes on the wire, and the pieces both files write. */
#ifndef DCGW_SDP_WRITE_INT_H
#define DCGW_SDP_WRITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/sdp/sdp.h"

struct dcgw__sdp_out {
    char *buf;
    size_t cap;
    size_t len;
    bool full; /* something did not fit: the result is DCGW_ETOOBIG */
};

/* Appends printf output; sets full when it does not fit. */
void dcgw__sdp_put(struct dcgw__sdp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A token within a buffer of size cap: no whitespace, no control bytes, so it cannot
 * break a line. */
bool dcgw__sdp_is_token(const char *s, size_t cap);
/* No control byte but tab. */
bool dcgw__sdp_is_line_safe(const char *s);
/* "IP4 192.0.2.1" or "IP6 2001:db8::1"; the port goes in *port. */
void dcgw__sdp_addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap, uint16_t *port);
/* ICE credentials, fingerprints, a=setup, a=tls-id (when tls_id), host candidates and
 * a=end-of-candidates of one m-section. */
void dcgw__sdp_put_transport(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l,
                             const char *ufrag, const char *pwd, enum dcgw_sdp_setup setup,
                             bool tls_id);
/* Host candidates and a=end-of-candidates (RFC 8840 §8.2: a lite agent has all). */
void dcgw__sdp_put_candidates(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l);

/* sdp_write_av.c: an audio/video description is safe to write (indices in range, every
 * string a token or line-safe). */
bool dcgw__sdp_av_valid(const struct dcgw_sdp_av *av);
/* One audio/video m-section: kind from `media` ("audio"/"video"), mid, port (0 and the
 * first of `fmt` when av->reject), and everything av describes: the transport of local (the
 * data channel's), or its own when av->ice_ufrag is set. */
void dcgw__sdp_put_av(struct dcgw__sdp_out *o, const struct dcgw_sdp_local *l,
                      const struct dcgw_sdp_av *av, const char *media, const char *mid,
                      const char *fmt);

#endif
