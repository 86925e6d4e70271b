/* Nmf_MRM (3GPP TS 29.176, API 1.0.0-alpha.2; common types TS 29.571): the media resource
 * API an IMS AS uses toward an MF, served by the master beside the control socket
 * (docs/nmf-mrm.md). This header holds the pure parts, with no I/O, so that tests and the
 * fuzz target drive them directly:
 *
 *   - ProblemDetails (RFC 7807 as TS 29.500 §5.2.7 uses it) with invalidParams,
 *   - validation of request bodies against the API's schema (nmf_validate.c),
 *   - JSON Patch (RFC 6902) over JSON Pointers (RFC 6901) (nmf_patch.c),
 *   - the mapping between a MediaContext and dcgw's Session, both ways, and the control
 *     operations a patched context asks for (nmf_map.c, nmf_diff.c), the bootstrap proxy's
 *     fields among them (nmf_proxy.c).
 *
 * The HTTP/2 server (nmf_server.c) and the adapter on the master's loop (nmf.c) use them. */
#ifndef DCGW_NMF_H
#define DCGW_NMF_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw.pb-c.h"

enum dcgw_nmf_limits {
    DCGW_NMF_PARAMS_MAX = 16,    /* invalidParams reported in one ProblemDetails */
    DCGW_NMF_PARAM_SIZE = 160,   /* one JSON Pointer, NUL included */
    DCGW_NMF_REASON_SIZE = 200,  /* one reason */
    DCGW_NMF_DETAIL_SIZE = 320,  /* ProblemDetails.detail */
    DCGW_NMF_DEPTH_MAX = 16,     /* nesting of a request body */
    DCGW_NMF_PATCH_OPS_MAX = 64, /* items of one JSON Patch */
    DCGW_NMF_OPS_MAX = 64,       /* control operations one PATCH may turn into */
    DCGW_NMF_PEN_DEFAULT = 32473 /* RFC 5612's documentation enterprise number */
};

/* An error response: status, TS 29.500 cause, detail and the invalid parameters. */
struct dcgw_nmf_problem {
    int status; /* 0 while no problem was set */
    const char *cause;
    char detail[DCGW_NMF_DETAIL_SIZE];
    size_t n_params;
    size_t n_dropped; /* params beyond DCGW_NMF_PARAMS_MAX, counted only */
    struct {
        char param[DCGW_NMF_PARAM_SIZE];
        char reason[DCGW_NMF_REASON_SIZE];
    } params[DCGW_NMF_PARAMS_MAX];
};

/* Causes (TS 29.500 Table 5.2.7.2-1, and the MF's own for states TS 29.176 names). */
#define DCGW_NMF_INVALID_MSG_FORMAT               "INVALID_MSG_FORMAT"
#define DCGW_NMF_MANDATORY_IE_MISSING             "MANDATORY_IE_MISSING"
#define DCGW_NMF_MANDATORY_IE_INCORRECT           "MANDATORY_IE_INCORRECT"
#define DCGW_NMF_OPTIONAL_IE_INCORRECT            "OPTIONAL_IE_INCORRECT"
#define DCGW_NMF_UNSPECIFIED_MSG_FAILURE          "UNSPECIFIED_MSG_FAILURE"
#define DCGW_NMF_MODIFICATION_NOT_ALLOWED         "MODIFICATION_NOT_ALLOWED"
#define DCGW_NMF_CONTEXT_NOT_FOUND                "CONTEXT_NOT_FOUND"
#define DCGW_NMF_RESOURCE_URI_STRUCTURE_NOT_FOUND "RESOURCE_URI_STRUCTURE_NOT_FOUND"
#define DCGW_NMF_PAYLOAD_TOO_LARGE                "PAYLOAD_TOO_LARGE"
#define DCGW_NMF_UNSUPPORTED_MEDIA_TYPE           "UNSUPPORTED_MEDIA_TYPE"
#define DCGW_NMF_INSUFFICIENT_RESOURCES           "INSUFFICIENT_RESOURCES"
#define DCGW_NMF_SYSTEM_FAILURE                   "SYSTEM_FAILURE"
#define DCGW_NMF_NF_SERVICE_FAILOVER              "NF_SERVICE_FAILOVER"
#define DCGW_NMF_CONTEXT_EXISTS                   "CONTEXT_ALREADY_EXISTS"
#define DCGW_NMF_UNAUTHORIZED                     "UNAUTHORIZED"

/* Sets status, cause and detail (printf). Params already added stay. */
void dcgw_nmf_problem_set(struct dcgw_nmf_problem *p, int status, const char *cause,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds an invalid parameter: a JSON Pointer into the body (or "header X", "{contextId}"),
 * and a reason (printf). Past DCGW_NMF_PARAMS_MAX only n_dropped grows. */
void dcgw_nmf_problem_param(struct dcgw_nmf_problem *p, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* New reference to the ProblemDetails object: type (omitted: "about:blank"), title (the
 * status's reason phrase), status, detail, cause, invalidParams. NULL on ENOMEM. */
json_t *dcgw_nmf_problem_json(const struct dcgw_nmf_problem *p);
/* The reason phrase of an HTTP status ("Bad Request"); "Error" for unknown ones. */
const char *dcgw_nmf_status_text(int status);

/* ---- validation (nmf_validate.c) ------------------------------------------------------ */

/* What dcgw reads beyond the schema: the name of the vendor-specific extension attribute
 * (TS 29.500 §6.6.3, "vendorSpecific-" + 6-digit IANA enterprise number) carrying what
 * Nmf_MRM has no field for (ICE credentials, channel labels). */
struct dcgw_nmf_settings {
    uint32_t vendor_pen; /* 0: DCGW_NMF_PEN_DEFAULT */
};
/* "vendorSpecific-032473" for pen 32473, into buf (at least 24 bytes). */
const char *dcgw_nmf_vendor_key(const struct dcgw_nmf_settings *s, char *buf, size_t cap);

/* Checks a MediaContext body against the schema (required attributes, types, enums,
 * patterns, ranges, map keys) and dcgw's reading of it (what it can serve). Every bad
 * attribute is named in p->params by its JSON Pointer. Returns 0 or DCGW_EINVAL with
 * p set to 400 (MANDATORY_IE_MISSING when an attribute is missing, else
 * MANDATORY_IE_INCORRECT / OPTIONAL_IE_INCORRECT). */
int dcgw_nmf_validate_context(const json_t *ctx, const struct dcgw_nmf_settings *s,
                              struct dcgw_nmf_problem *p);
/* Checks a JSON Patch body: an array of 1..DCGW_NMF_PATCH_OPS_MAX PatchItems (op among
 * the six of RFC 6902, path a JSON Pointer, from for move/copy, value for add/replace/test). */
int dcgw_nmf_validate_patch(const json_t *patch, struct dcgw_nmf_problem *p);

/* ---- JSON Patch (nmf_patch.c) --------------------------------------------------------- */

/* The value at a JSON Pointer (RFC 6901: "" is the whole document, ~0 and ~1 escapes), or
 * NULL. Borrowed. */
json_t *dcgw_json_pointer_get(json_t *doc, const char *ptr);
/* Applies a validated JSON Patch to *doc (RFC 6902 §4, in order; replaces *doc when a path
 * is ""). Atomic for the caller: on error *doc is unchanged and p names the failing item
 * ("/<index>/path", with the index in the reason, as TS 29.571 InvalidParam asks).
 * Returns 0, DCGW_EINVAL (400) or DCGW_ENOMEM. */
int dcgw_nmf_patch_apply(json_t **doc, const json_t *patch, struct dcgw_nmf_problem *p);

/* ---- mapping (nmf_map.c) -------------------------------------------------------------- */

/* A validated MediaContext -> the Session to create: a leg per termination, named by its
 * terminationId (generated "t<i>" when absent, and written back into ctx); a termination
 * with the remote's DC endpoint (fingerprint) is answered (its offer is written as SDP from
 * the remote fields and the ICE extension), one without gets dcgw's offer (answered later
 * by PATCH). The context id comes from ctx (empty: dcgw picks). Returns 0, DCGW_EINVAL
 * with p (400) or DCGW_ENOMEM. *out is freed with protobuf_c_message_free_unpacked. */
int dcgw_nmf_to_session(json_t *ctx, const struct dcgw_nmf_settings *s, Dcgw__Session **out,
                        struct dcgw_nmf_problem *p);
/* The representation of a created context: ctx (as the AS sent or patched it) with the
 * context id, dcgw's local endpoints (Mb address, sctp port, fingerprint, tls-id, its ICE
 * in the extension), its securitySetup and maxMessageSize, and the streams it accepted.
 * New reference, NULL on ENOMEM. */
json_t *dcgw_nmf_from_session(const json_t *ctx, const Dcgw__Session *sess,
                              const struct dcgw_nmf_settings *s);
/* The remote SDP a termination's remote fields describe (answer: its offer; offer leg:
 * its answer), malloc'd; NULL with p set when they do not describe one. */
char *dcgw_nmf_remote_sdp(const json_t *media, const char *where, bool answer,
                          const struct dcgw_nmf_settings *s, struct dcgw_nmf_problem *p);

/* TS 29.571 Endpoint -> address and port (ipv4Addr or ipv6Addr, portNumber 0..65535).
 * 0 or DCGW_EINVAL. */
int dcgw__nmf_endpoint_addr(const json_t *ep, struct sockaddr_storage *ss);
/* "ip:port" / "[ip]:port" (or "ip" alone, with port 0) -> a TS 29.571 Endpoint with that
 * transport ("UDP", "TCP"). New reference; NULL when addr is not numeric or on ENOMEM. */
json_t *dcgw__nmf_endpoint_json(const char *addr, const char *transport);

/* ---- the bootstrap proxy's fields (nmf_proxy.c) --------------------------------------- */

/* DcMedia members that map to the proxy (docs/nmf-mrm.md, "The bootstrap proxy"). */
enum dcgw_nmf_proxy_fields {
    DCGW_NMF_PROXY_CONFIG = 1,      /* mediaProxyConfig with replaceHttpUrl */
    DCGW_NMF_PROXY_REMOTE_MDC1 = 2, /* remoteMdc1Endpoint */
    DCGW_NMF_PROXY_LOCAL_MDC1 = 4,  /* localMdc1Endpoint */
    DCGW_NMF_PROXY_ALL = 7,
};
/* The proxy fields of a validated dcMedia into d: mediaProxyConfig HTTP ->
 * media_proxy_config MEDIA_PROXY_HTTP and replace_http_url{stream_id, url} (by stream id),
 * remoteMdc1Endpoint -> remote_mdc1_endpoint.address "ip:port", localMdc1Endpoint ->
 * local_mdc1_endpoint.address ("ip" when its port is 0). Only the members in fields; with
 * update (an UpdateSession), an absent member is written as what clears it (proxy NONE, an
 * empty endpoint), else it is left out. 0 or DCGW_ENOMEM (d then holds what was made:
 * free it with d). */
int dcgw_nmf_proxy_to_dc(const json_t *dc, unsigned fields, bool update, Dcgw__DcMedia *d);
/* The leg's proxy as dcgw holds it, written into the dcMedia dc of the representation
 * (members the leg does not have are removed). */
void dcgw_nmf_proxy_from_dc(json_t *dc, const Dcgw__DcMedia *d);
/* The proxy members (enum dcgw_nmf_proxy_fields) that differ between two dcMedia. */
unsigned dcgw_nmf_proxy_changed(const json_t *old_dc, const json_t *new_dc);

/* ---- PATCH as control operations (nmf_diff.c) ----------------------------------------- */

enum dcgw_nmf_op_kind {
    DCGW_NMF_OP_ANSWER,       /* UpdateSession{leg, remote_sdp}: the answer to dcgw's offer */
    DCGW_NMF_OP_CLOSE_STREAM, /* CloseChannel{leg, stream_id} */
    DCGW_NMF_OP_PROXY,        /* UpdateSession{leg, dc}: the leg's bootstrap proxy */
};
struct dcgw_nmf_op {
    enum dcgw_nmf_op_kind kind;
    char leg[40];
    uint32_t stream_id;
    char *remote_sdp;  /* ANSWER: malloc'd */
    Dcgw__DcMedia *dc; /* PROXY: the proxy fields that changed; free_unpacked */
};
struct dcgw_nmf_ops {
    size_t n;
    struct dcgw_nmf_op op[DCGW_NMF_OPS_MAX];
};
/* What turning the representation old into new (both validated) asks dcgw to do, in
 * order (per termination: its proxy, then its answer or closed streams). A change dcgw cannot make
 * (identifiers, local endpoints written by dcgw, a negotiated channel's parameters, the transport
 * of a connected leg, terminations or medias added or removed) is refused: DCGW_EDENIED with p set
 * to 403 MODIFICATION_NOT_ALLOWED; an unusable answer gives DCGW_EINVAL (400). Free with
 * dcgw_nmf_ops_dispose. */
int dcgw_nmf_diff(const json_t *old, const json_t *new_, const struct dcgw_nmf_settings *s,
                  struct dcgw_nmf_ops *ops, struct dcgw_nmf_problem *p);
void dcgw_nmf_ops_dispose(struct dcgw_nmf_ops *ops);

#endif
