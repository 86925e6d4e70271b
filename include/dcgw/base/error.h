/* dcgw error codes: one X-macro list generates the enum, the names and the messages.
 *
 * Functions return int: 0 is success, a negative DCGW_E* value is an error. Codes that
 * travel on a wire (DTLS alerts, SCTP error causes) keep their wire values in their own
 * ranges, see DCGW_ALERT_BASE. */
#ifndef DCGW_ERROR_H
#define DCGW_ERROR_H

#define DCGW_ERRNO_MAP(XX)                                                                         \
    XX(INVAL, -1, "invalid argument")                                                              \
    XX(NOMEM, -2, "out of memory")                                                                 \
    XX(RANGE, -3, "value out of range")                                                            \
    XX(AGAIN, -4, "try again")                                                                     \
    XX(IO, -5, "input/output error")                                                               \
    XX(NOENT, -6, "no such entry")                                                                 \
    XX(EXIST, -7, "already exists")                                                                \
    XX(TOOBIG, -8, "too big")                                                                      \
    XX(TRUNC, -9, "truncated input")                                                               \
    XX(MALFORMED, -10, "malformed input")                                                          \
    XX(UNSUPPORTED, -11, "unsupported")                                                            \
    XX(STATE, -12, "operation not valid in this state")                                            \
    XX(CONFIG, -13, "invalid configuration")                                                       \
    XX(LIMIT, -14, "limit reached")                                                                \
    XX(AUTH, -15, "authentication failed")                                                         \
    XX(FINGERPRINT, -16, "certificate does not match the SDP fingerprint")                         \
    XX(WEAKHASH, -17, "fingerprint hash algorithm below the configured floor")                     \
    XX(TLS, -18, "TLS/DTLS failure")                                                               \
    XX(TIMEOUT, -19, "timed out")                                                                  \
    XX(CLOSED, -20, "closed")                                                                      \
    XX(DENIED, -21, "denied by policy")                                                            \
    XX(WORKER, -22, "worker unavailable")                                                          \
    XX(PROTO, -23, "protocol error")                                                               \
    XX(SDP, -24, "unusable SDP")                                                                   \
    XX(SIGNATURE, -25, "bad signature")                                                            \
    XX(UNTRUSTED, -26, "untrusted signer")                                                         \
    XX(EXPIRED, -27, "expired")                                                                    \
    XX(INTERNAL, -28, "internal error")                                                            \
    XX(REPLAY, -29, "replayed packet")

enum dcgw_errno {
#define DCGW__ERR_ENUM(name, val, msg) DCGW_E##name = (val),
    DCGW_ERRNO_MAP(DCGW__ERR_ENUM)
#undef DCGW__ERR_ENUM
};

/* DTLS alerts reported as errors: DCGW_ALERT_BASE - alert description (RFC 8446 §6). */
#define DCGW_ALERT_BASE   (-1000)
#define DCGW_EALERT(desc) (DCGW_ALERT_BASE - (int)(desc))

/* Message for an error code; never NULL. Static storage. */
const char *dcgw_strerror(int err);
/* Symbolic name ("EINVAL") for an error code; never NULL. Static storage. */
const char *dcgw_err_name(int err);

#endif
