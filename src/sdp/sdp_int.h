/* Internal to the SDP parser (src/sdp/sdp.c, src/sdp/sdp_attr.c): the parser state and the
 * lexical helpers both files use. Not a public header. */
#ifndef DCGW_SDP_INT_H
#define DCGW_SDP_INT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"

struct span {
    const char *p;
    size_t n;
};

enum section { SEC_SESSION, SEC_DC, SEC_RTP, SEC_OTHER };

/* attributes allowed once per section */
enum {
    SEEN_UFRAG = 1 << 0,
    SEEN_PWD = 1 << 1,
    SEEN_SETUP = 1 << 2,
    SEEN_TLS_ID = 1 << 3,
    SEEN_SCTP_PORT = 1 << 4,
    SEEN_SCTPMAP = 1 << 5,
    SEEN_MMS = 1 << 6,
    SEEN_MID = 1 << 7,
    SEEN_ICE_OPTIONS = 1 << 8,
    SEEN_FP = 1 << 9,
    SEEN_CONN = 1 << 10,
    SEEN_DIR = 1 << 11,
};

/* session-level values every media section inherits */
struct session_attrs {
    struct dcgw_sdp_transport t;
    unsigned fp_unknown_line; /* first fingerprint line with an unknown hash */
};

struct parser {
    struct dcgw_sdp *out;
    char *err;
    size_t errcap;
    unsigned line;
    bool seen_version;
    enum section sec;
    unsigned seen; /* SEEN_* of the current section */
    bool have_dc;  /* a usable data-channel section was committed */
    bool bundle_only;
    bool sctpmap_ok;
    unsigned fp_unknown_line;      /* same as in session_attrs, for the current section */
    struct dcgw_sdp_media *media;  /* current m-line record */
    struct dcgw_sdp_transport *tp; /* transport of the current section (or the session's) */
    struct dcgw_sdp_rtp *rtp;      /* SEC_RTP: the current audio/video m-line */
    struct session_attrs sess;
};

/* Writes "line N: <reason>" into the parser's error buffer and returns code. */
int dcgw__sdp_vfail(struct parser *p, int code, const char *fmt, va_list ap);

__attribute__((format(printf, 3, 4))) static inline int fail(struct parser *p, int code,
                                                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = dcgw__sdp_vfail(p, code, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- small lexical helpers ---- */

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static inline struct span trim(struct span s)
{
    while (s.n && is_ws(s.p[0]))
        s.p++, s.n--;
    while (s.n && (is_ws(s.p[s.n - 1]) || s.p[s.n - 1] == '\r'))
        s.n--;
    return s;
}

/* Next whitespace-separated token of *s; false when none is left. */
static inline bool next_tok(struct span *s, struct span *tok)
{
    *s = trim(*s);
    if (s->n == 0)
        return false;
    size_t i = 0;
    while (i < s->n && !is_ws(s->p[i]))
        i++;
    tok->p = s->p;
    tok->n = i;
    s->p += i;
    s->n -= i;
    return true;
}

static inline bool span_eq(struct span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static inline bool span_caseeq(struct span s, const char *lit)
{
    return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* Decimal digits only, value <= max. */
static inline bool parse_uint(struct span s, uint64_t max, uint64_t *out)
{
    if (s.n == 0 || s.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/" */
static inline bool is_ice_chars(struct span s)
{
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

/* Copies s into a buffer of size cap; false if it does not fit. */
static inline bool copy_span(char *dst, size_t cap, struct span s)
{
    if (s.n >= cap)
        return false;
    if (s.n)
        memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* Literal IPv4 or IPv6 address (no zone) and port into ss. */
static inline bool parse_addr(struct span s, uint16_t port, struct sockaddr_storage *ss)
{
    char buf[INET6_ADDRSTRLEN];
    if (!copy_span(buf, sizeof(buf), s))
        return false;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        return true;
    }
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        return true;
    }
    return false;
}

/* ---- attributes parsed in src/sdp/sdp_attr.c ---- */

int dcgw__sdp_attr_candidate(struct parser *p, struct span v);
int dcgw__sdp_attr_dcmap(struct parser *p, struct span v);
int dcgw__sdp_attr_dcsa(struct parser *p, struct span v);

/* ---- audio/video m-lines, src/sdp/sdp_rtp.c ---- */

/* m=audio|video with an RTP profile: starts p->rtp (payload types from the fmt list). */
int dcgw__sdp_rtp_start(struct parser *p, struct span media, struct span proto, struct span fmts,
                        uint16_t port);
/* Ends the current audio/video section: static payload types, usability and its reason. */
void dcgw__sdp_rtp_end(struct parser *p);
/* After the last line: bundled m-lines without a transport of their own, and the checks
 * that need the whole SDP. */
void dcgw__sdp_rtp_finish(struct parser *p);
int dcgw__sdp_attr_rtpmap(struct parser *p, struct span v);
int dcgw__sdp_attr_fmtp(struct parser *p, struct span v);
int dcgw__sdp_attr_rtcp_fb(struct parser *p, struct span v);
int dcgw__sdp_attr_extmap(struct parser *p, struct span v);
int dcgw__sdp_attr_ssrc(struct parser *p, struct span v);
int dcgw__sdp_attr_ssrc_group(struct parser *p, struct span v);
int dcgw__sdp_attr_msid(struct parser *p, struct span v);
/* a=sendrecv / sendonly / recvonly / inactive, session or media level */
int dcgw__sdp_attr_dir(struct parser *p, enum dcgw_sdp_dir d);

#endif
