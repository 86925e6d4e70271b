/* ICE for one leg, built on libnice's STUN library (stun/stunagent.h, stun/usages/ice.h)
 * and nothing else of libnice: no NiceAgent, no GLib loop. Two pure stages:
 *
 *  - dcgw_ice_lite: the network side. ICE-lite (RFC 8445 §2.5), always controlled,
 *    answering connectivity checks (§7.3), nominating on USE-CANDIDATE, and tracking
 *    consent (RFC 7675) from the checks the UE keeps sending.
 *  - dcgw_ice_client: the controlling side of binding checks, for dcgw's own test client
 *    and bench: checks with retransmission until answered, then periodic consent checks.
 *
 * Neither does I/O or reads the clock: datagrams come in with their source address and
 * the time, datagrams go out through the send callback, timers are next_timeout /
 * handle_timeout. Datagrams handed in should have passed dcgw_demux_packet() (the agents
 * check the framing again anyway). See docs/ice.md. */
#ifndef DCGW_ICE_H
#define DCGW_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dcgw/stages/demux.h"

enum dcgw_ice_limits {
    /* RFC 8839 §5.4: ice-ufrag 4..256 ice-chars, ice-pwd 22..256 ice-chars. */
    DCGW_ICE_UFRAG_MIN = 4,
    DCGW_ICE_UFRAG_MAX = 256,
    DCGW_ICE_PWD_MIN = 22,
    DCGW_ICE_PWD_MAX = 256,
    DCGW_ICE_USERNAME_MAX = 2 * DCGW_ICE_UFRAG_MAX + 1, /* "<ufrag>:<ufrag>" */
    DCGW_ICE_MSG_MAX = DCGW_STUN_MSG_MAX,               /* datagrams accepted and built */

    DCGW_ICE_CONSENT_TIMEOUT_MS_DEFAULT = 30000, /* RFC 7675 §5.1 */
    DCGW_ICE_MAX_ADDRS_DEFAULT = 8,              /* remote addresses a lite agent tracks */
    DCGW_ICE_MAX_ADDRS_CEILING = 64,

    DCGW_ICE_CLIENT_RTO_MS_DEFAULT = 50,      /* first retransmission timeout */
    DCGW_ICE_CLIENT_RTO_MAX_MS_DEFAULT = 800, /* the RTO doubles up to this */
    DCGW_ICE_CLIENT_MAX_TX_DEFAULT = 9,       /* transmissions of a check before giving up */
    DCGW_ICE_CLIENT_MAX_TX_CEILING = 64,
    DCGW_ICE_CONSENT_INTERVAL_MS_DEFAULT = 5000, /* randomized +-20%: RFC 7675 §5.1 */
    DCGW_ICE_CLIENT_PENDING = 8,                 /* consent transactions awaiting a response */
};

/* Callbacks of a lite agent. They run inside dcgw_ice_lite_recv / _handle_timeout and
 * must not re-enter the agent, except for the read-only queries (peer, state, stats,
 * addr_known); they must not free it either (the owner defers that to its loop). */
struct dcgw_ice_cbs {
    void *ud;
    /* Sends one datagram to `to`. The bytes are valid only during the call. Required. */
    void (*send)(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n);
    /* The selected peer address changed (nomination, or a new nomination from a new
     * address). peer is valid during the call; dcgw_ice_lite_peer() returns a copy. */
    void (*on_selected)(void *ud, const struct sockaddr *peer);
    /* No valid check from the selected address for consent_timeout_ms. Fires once; the
     * agent then drops every datagram and the owner should close the leg. */
    void (*on_consent_lost)(void *ud);
};

struct dcgw_ice_lite_settings {
    const char *local_ufrag;     /* ours, as in our SDP; required */
    const char *local_pwd;       /* ours; keys MESSAGE-INTEGRITY both ways; required */
    const char *remote_ufrag;    /* the UE's, from its offer; required */
    const char *remote_pwd;      /* the UE's; a lite agent sends no requests, so it is only
                                    checked for syntax; may be NULL */
    uint32_t consent_timeout_ms; /* 0: default */
    uint32_t max_addrs;          /* 0: default; at most DCGW_ICE_MAX_ADDRS_CEILING */
};

enum dcgw_ice_lite_state {
    DCGW_ICE_LITE_WAITING = 0, /* no nomination yet; dcgw_ice_lite_peer() is NULL */
    DCGW_ICE_LITE_SELECTED,    /* a peer is selected and consent is fresh */
    DCGW_ICE_LITE_CONSENT_LOST,
};

struct dcgw_ice_lite_stats {
    uint64_t rx;                 /* datagrams handed in */
    uint64_t malformed;          /* bad framing or attribute layout */
    uint64_t not_request;        /* responses, indications, other methods: dropped */
    uint64_t bad_fingerprint;    /* FINGERPRINT missing or wrong */
    uint64_t no_credentials;     /* USERNAME or MESSAGE-INTEGRITY missing */
    uint64_t bad_username;       /* USERNAME is not "<local ufrag>:<remote ufrag>" */
    uint64_t bad_integrity;      /* MESSAGE-INTEGRITY does not verify with the local pwd */
    uint64_t bad_addr;           /* source address family not IPv4/IPv6 */
    uint64_t replays;            /* valid check answered before for another address */
    uint64_t unknown_attrs;      /* authenticated, unknown comprehension-required attribute:
                                    answered with 420 */
    uint64_t role_conflicts;     /* authenticated, peer claims controlled: answered with 487 */
    uint64_t no_role;            /* authenticated, neither ICE-CONTROLLING nor -CONTROLLED */
    uint64_t after_consent_lost; /* dropped because consent was lost */
    uint64_t checks_ok;          /* valid checks answered with a success response */
    uint64_t responses_sent;     /* success and error responses sent */
    uint64_t nominations;        /* times the selected address was set or moved */
    uint64_t consent_refreshes;  /* valid checks from the selected address */
    uint64_t consent_lost;       /* 0 or 1 */
    uint64_t addrs_evicted;      /* tracked addresses dropped to make room */
};

struct dcgw_ice_lite;

/* Fills s with defaults (NULL credentials). */
void dcgw_ice_lite_settings_default(struct dcgw_ice_lite_settings *s);

/* Creates a lite agent. Credentials are copied and checked (RFC 8839 §5.4 lengths and
 * ice-chars); cbs is copied. Returns 0, DCGW_EINVAL (bad credentials or no send
 * callback), DCGW_ERANGE (max_addrs above the ceiling) or DCGW_ENOMEM. */
int dcgw_ice_lite_new(const struct dcgw_ice_lite_settings *s, const struct dcgw_ice_cbs *cbs,
                      struct dcgw_ice_lite **out);
/* Frees the agent; NULL is fine. Not from inside its callbacks. */
void dcgw_ice_lite_free(struct dcgw_ice_lite *ice);

/* Handles one datagram from `from`. A valid Binding request (USERNAME
 * "<local ufrag>:<remote ufrag>", MESSAGE-INTEGRITY with the local pwd, FINGERPRINT) is
 * answered with a success response to `from`; USE-CANDIDATE from the controlling peer
 * selects `from`. Anything else gets no answer (RFC 8445 §7.3 would allow a 401: dcgw
 * stays silent so it is no credentials oracle), is counted and returns an error:
 * DCGW_EMALFORMED, DCGW_EPROTO (not a request, or a role conflict answered with 487, or
 * an unknown attribute answered with 420), DCGW_EAUTH (fingerprint, credentials, or a
 * valid check replayed from another address),
 * DCGW_EUNSUPPORTED (address family), DCGW_ESTATE (consent already lost). 0 means a valid
 * check was answered: the worker may route `from` to this leg. */
int dcgw_ice_lite_recv(struct dcgw_ice_lite *ice, const struct sockaddr *from, const uint8_t *p,
                       size_t n, uint64_t now_ms);
/* The selected peer address, or NULL before nomination. Valid until the next call that
 * may change it (recv) or free. */
const struct sockaddr *dcgw_ice_lite_peer(const struct dcgw_ice_lite *ice);
enum dcgw_ice_lite_state dcgw_ice_lite_state(const struct dcgw_ice_lite *ice);
/* True when `addr` sent a valid check recently (among the max_addrs last ones). */
bool dcgw_ice_lite_addr_known(const struct dcgw_ice_lite *ice, const struct sockaddr *addr);
/* Absolute time of the consent deadline, UINT64_MAX when no timer runs. */
uint64_t dcgw_ice_lite_next_timeout(const struct dcgw_ice_lite *ice);
/* Fires on_consent_lost (once) when the deadline has passed. */
void dcgw_ice_lite_handle_timeout(struct dcgw_ice_lite *ice, uint64_t now_ms);
const struct dcgw_ice_lite_stats *dcgw_ice_lite_stats(const struct dcgw_ice_lite *ice);
const char *dcgw_ice_lite_state_name(enum dcgw_ice_lite_state st);

/* Routing helpers for the worker (datagrams from addresses it does not know yet). */

/* Copies the local-ufrag part (before ':') of the USERNAME of a well-formed STUN Binding
 * request into buf, NUL-terminated. Integrity is NOT checked: the caller finds the leg by
 * this ufrag and lets that leg's agent validate the whole request. Returns the ufrag
 * length, or DCGW_EMALFORMED (not a well-formed STUN message, no ':' or bad ufrag
 * characters), DCGW_EPROTO (not a Binding request), DCGW_ENOENT (no USERNAME),
 * DCGW_ETOOBIG (does not fit in cap). */
int dcgw_stun_peek_username(const uint8_t *p, size_t n, char *buf, size_t cap);
/* True for a well-formed STUN Binding request (framing and attribute layout checked, no
 * credentials). */
bool dcgw_stun_is_binding_request(const uint8_t *p, size_t n);

/* The controlling side of binding checks (test client, bench). */

struct dcgw_ice_client_cbs {
    void *ud;
    /* Sends one datagram to `to`. Required. Same rules as dcgw_ice_cbs. */
    void (*send)(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n);
    /* A check was answered; mapped (valid during the call) is our address as the peer
     * saw it. */
    void (*on_connected)(void *ud, const struct sockaddr *mapped);
    /* The first check went unanswered max_tx times. */
    void (*on_failed)(void *ud);
    /* No consent response for consent_timeout_ms. Fires once. */
    void (*on_consent_lost)(void *ud);
    /* Fills buf with random bytes (transaction ids, tie-breaker, jitter). NULL: the
     * OpenSSL's RAND_bytes(). Tests inject a deterministic one. */
    void (*random)(void *ud, uint8_t *buf, size_t n);
};

struct dcgw_ice_client_settings {
    const char *local_ufrag, *local_pwd;   /* ours; required */
    const char *remote_ufrag, *remote_pwd; /* the peer's (keys our requests); required */
    uint32_t priority;            /* PRIORITY attribute; 0: a peer-reflexive host priority */
    uint64_t tie_breaker;         /* ICE-CONTROLLING value; 0: random */
    uint32_t rto_ms;              /* 0: default */
    uint32_t rto_max_ms;          /* 0: default */
    uint32_t max_tx;              /* 0: default */
    uint32_t consent_interval_ms; /* 0: default; each wait is randomized +-20% */
    uint32_t consent_timeout_ms;  /* 0: default */
};

enum dcgw_ice_client_state {
    DCGW_ICE_CLIENT_IDLE = 0,
    DCGW_ICE_CLIENT_CHECKING,
    DCGW_ICE_CLIENT_CONNECTED,
    DCGW_ICE_CLIENT_FAILED,
    DCGW_ICE_CLIENT_CONSENT_LOST,
};

struct dcgw_ice_client_stats {
    uint64_t checks_sent; /* first transmissions of checks (incl. consent checks) */
    uint64_t retransmits;
    uint64_t consent_sent; /* of checks_sent: consent checks */
    uint64_t rx;
    uint64_t malformed;
    uint64_t wrong_source; /* not from the address we check */
    uint64_t not_response; /* requests, indications, error responses: dropped */
    uint64_t unmatched;    /* unknown transaction id */
    uint64_t bad_response; /* integrity/fingerprint failed, or no mapped address */
    uint64_t responses_ok;
};

struct dcgw_ice_client;

void dcgw_ice_client_settings_default(struct dcgw_ice_client_settings *s);
/* Creates a client; credentials are copied. Returns 0, DCGW_EINVAL, DCGW_ERANGE, or
 * DCGW_ENOMEM. */
int dcgw_ice_client_new(const struct dcgw_ice_client_settings *s,
                        const struct dcgw_ice_client_cbs *cbs, struct dcgw_ice_client **out);
void dcgw_ice_client_free(struct dcgw_ice_client *c);
/* Starts checking `peer` (sends the first check now). DCGW_ESTATE unless IDLE,
 * DCGW_EUNSUPPORTED for a family other than IPv4/IPv6. */
int dcgw_ice_client_start(struct dcgw_ice_client *c, const struct sockaddr *peer, uint64_t now_ms);
/* Handles one datagram. 0 when it was an authenticated success response to one of our
 * checks; otherwise a negative code and nothing changed (see the stats). */
int dcgw_ice_client_recv(struct dcgw_ice_client *c, const struct sockaddr *from, const uint8_t *p,
                         size_t n, uint64_t now_ms);
uint64_t dcgw_ice_client_next_timeout(const struct dcgw_ice_client *c);
/* Retransmits, sends consent checks, gives up, detects consent loss. */
void dcgw_ice_client_handle_timeout(struct dcgw_ice_client *c, uint64_t now_ms);
enum dcgw_ice_client_state dcgw_ice_client_state(const struct dcgw_ice_client *c);
const struct dcgw_ice_client_stats *dcgw_ice_client_stats(const struct dcgw_ice_client *c);
const char *dcgw_ice_client_state_name(enum dcgw_ice_client_state st);

/* Internal, shared by src/stages/ice.c and src/stages/ice_client.c. */

/* What a strict walk over a STUN message found (pointers into the message). */
struct dcgw__stun_view {
    uint16_t type;           /* message type (class and method bits) */
    const uint8_t *username; /* NULL when absent */
    uint16_t username_len;
    uint16_t integrity_off; /* offset of the MESSAGE-INTEGRITY attribute, when integrity */
    bool integrity, fingerprint;
    bool use_candidate, controlling, controlled;
    bool unknown; /* a comprehension-required attribute not in dcgw__stun_known_attrs */
};
/* Framing (dcgw_demux_stun_sane) plus attribute layout: every attribute fits, known
 * attributes have their sizes, FINGERPRINT is last. The same rules libnice's parser
 * relies on without checking all of them. Only the first MESSAGE-INTEGRITY counts, and
 * of what follows it only FINGERPRINT (RFC 8489 §14.5): the view (USERNAME, roles,
 * unknown) is taken from the attributes before it. 0 or DCGW_EMALFORMED. */
int dcgw__stun_parse(const uint8_t *p, size_t n, struct dcgw__stun_view *v);
/* An agent's ufrags and passwords, checked (RFC 8839 §5.4: ice-chars, 4..256 and 22..256
 * of them) and copied. */
struct dcgw__ice_creds {
    char local_ufrag[DCGW_ICE_UFRAG_MAX + 1], remote_ufrag[DCGW_ICE_UFRAG_MAX + 1];
    char local_pwd[DCGW_ICE_PWD_MAX + 1], remote_pwd[DCGW_ICE_PWD_MAX + 1];
};
/* Fills c from the four settings strings; remote_pwd may be NULL (left empty) where the
 * role does not need it. 0 or DCGW_EINVAL. */
int dcgw__ice_creds_check(struct dcgw__ice_creds *c, const char *local_ufrag, const char *local_pwd,
                          const char *remote_ufrag, const char *remote_pwd);
/* The comprehension-required attributes a check may carry, zero-terminated, as
 * stun_agent_init() wants them; any other one in 0x0000-0x7fff makes an authenticated
 * request get a 420 (RFC 8489 §6.3.1). */
extern const uint16_t dcgw__stun_known_attrs[];

/* Short-term credentials (RFC 8489 §9.1) of one password, for MESSAGE-INTEGRITY
 * (HMAC-SHA1, §14.5) and FINGERPRINT (§14.7) without libnice (src/stages/ice_integrity.c).
 * The HMAC's key schedule (the SHA-1 states after the key xor ipad and xor opad, RFC 2104)
 * is done once, not per message. A key holds the state of the HMAC it computes: one
 * thread at a time. */
struct dcgw__stun_key;
enum { DCGW__STUN_SEAL_LEN = 24 + 8 }; /* MESSAGE-INTEGRITY and FINGERPRINT, with headers */
/* Keys from pwd (pwd_len bytes, not kept). 0 or DCGW_ENOMEM. */
int dcgw__stun_key_new(const char *pwd, size_t pwd_len, struct dcgw__stun_key **out);
/* Wipes and frees; NULL is fine. */
void dcgw__stun_key_free(struct dcgw__stun_key *k);
/* Whether the FINGERPRINT that ends p (n bytes; dcgw__stun_parse found it there) is right. */
bool dcgw__stun_fingerprint_ok(const uint8_t *p, size_t n);
/* Checks the MESSAGE-INTEGRITY attribute at mi_off (dcgw__stun_view.integrity_off) of p
 * (n bytes), comparing in constant time. 0, DCGW_EAUTH (it does not verify) or
 * DCGW_EMALFORMED (no 20-byte MESSAGE-INTEGRITY fits there). */
int dcgw__stun_integrity_check(struct dcgw__stun_key *k, const uint8_t *p, size_t n, size_t mi_off);
/* Ends the message of len bytes in buf (its header's length field is rewritten) with
 * MESSAGE-INTEGRITY and FINGERPRINT. Returns the new length, or 0 when cap has no room for
 * DCGW__STUN_SEAL_LEN more bytes. */
size_t dcgw__stun_seal(struct dcgw__stun_key *k, uint8_t *buf, size_t len, size_t cap);

#endif
