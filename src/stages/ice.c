/* ICE-lite agent (RFC 8445 §2.5, §7.3; RFC 7675 consent) and the STUN helpers shared with
 * ice_client.c. dcgw__stun_parse() checks the attribute layout first, so libnice only ever
 * parses messages whose attributes fit and have their sizes. A check's FINGERPRINT and
 * MESSAGE-INTEGRITY, and those of the success response, are ice_integrity.c's (keyed once
 * per agent); libnice writes the response's XOR-MAPPED-ADDRESS and the rare error
 * responses (487, 420), with its own integrity. */
#include "dcgw/base/addr.h"
#include "dcgw/stages/ice.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stun/stunagent.h>
#include <stun/stunmessage.h>

#include "dcgw/base/bytes.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

/* STUN message types and attributes we look at (RFC 8489 §5, §18.3; RFC 8445 §16.1). */
enum {
    STUN_TYPE_BINDING_REQUEST = 0x0001,
    ATTR_USERNAME = 0x0006,
    ATTR_MESSAGE_INTEGRITY = 0x0008,
    ATTR_PRIORITY = 0x0024,
    ATTR_USE_CANDIDATE = 0x0025,
    ATTR_FINGERPRINT = 0x8028,
    ATTR_ICE_CONTROLLED = 0x8029,
    ATTR_ICE_CONTROLLING = 0x802a,
    USERNAME_ATTR_MAX = 513, /* RFC 8489 §14.3: less than 513 bytes; we allow 2*256+1 */
};

const uint16_t dcgw__stun_known_attrs[] = {
    STUN_ATTRIBUTE_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_USERNAME,
    STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,
    STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

/* ---- shared helpers ---------------------------------------------------------------- */

/* RFC 8489 §14: attributes 0x0000-0x7fff are comprehension-required. */
static bool attr_unknown(uint16_t type)
{
    if (type & 0x8000)
        return false;
    for (const uint16_t *k = dcgw__stun_known_attrs; *k; k++)
        if (*k == type)
            return false;
    return true;
}

/* Checks the size of the attributes we read; everything else is only walked over. */
static bool attr_size_ok(uint16_t type, uint16_t len)
{
    switch (type) {
    case ATTR_USERNAME:
        return len > 0 && len <= USERNAME_ATTR_MAX;
    case ATTR_MESSAGE_INTEGRITY:
        return len == 20; /* RFC 8489 §14.5: HMAC-SHA1 */
    case ATTR_FINGERPRINT:
    case ATTR_PRIORITY:
        return len == 4;
    case ATTR_USE_CANDIDATE:
        return len == 0;
    case ATTR_ICE_CONTROLLED:
    case ATTR_ICE_CONTROLLING:
        return len == 8;
    default:
        return true;
    }
}

int dcgw__stun_parse(const uint8_t *p, size_t n, struct dcgw__stun_view *v)
{
    memset(v, 0, sizeof(*v));
    if (!dcgw_demux_stun_sane(p, n))
        return DCGW_EMALFORMED;
    v->type = dcgw_be16(p);
    size_t off = DCGW_STUN_HEADER_LEN;
    while (off < n) {
        /* RFC 8489 §14.7: FINGERPRINT is the last attribute. */
        if (v->fingerprint || n - off < 4)
            return DCGW_EMALFORMED;
        uint16_t type = dcgw_be16(p + off), len = dcgw_be16(p + off + 2);
        size_t padded = ((size_t)len + 3u) & ~(size_t)3u;
        off += 4;
        if (padded > n - off || !attr_size_ok(type, len))
            return DCGW_EMALFORMED;
        const uint8_t *val = p + off;
        off += padded;
        if (type == ATTR_FINGERPRINT) {
            v->fingerprint = true;
            continue;
        }
        /* RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (but FINGERPRINT) are ignored. */
        if (v->integrity)
            continue;
        switch (type) {
        case ATTR_MESSAGE_INTEGRITY:
            v->integrity = true;
            v->integrity_off = (uint16_t)(val - 4 - p);
            break;
        case ATTR_USERNAME:
            if (!v->username) {
                v->username = val;
                v->username_len = len;
            }
            break;
        case ATTR_USE_CANDIDATE:
            v->use_candidate = true;
            break;
        case ATTR_ICE_CONTROLLING:
            v->controlling = true;
            break;
        case ATTR_ICE_CONTROLLED:
            v->controlled = true;
            break;
        default:
            v->unknown = v->unknown || attr_unknown(type);
            break;
        }
    }
    return 0;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
static bool is_ice_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Copies a ufrag or pwd into dst (cap bytes) after checking ice-chars and the [min, max]
 * length. 0 or DCGW_EINVAL. */
static int cred_copy(char *dst, size_t cap, const char *src, size_t min, size_t max)
{
    if (!src)
        return DCGW_EINVAL;
    size_t len = strnlen(src, max + 1);
    if (len < min || len > max || len >= cap)
        return DCGW_EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!is_ice_char((uint8_t)src[i]))
            return DCGW_EINVAL;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

int dcgw__ice_creds_check(struct dcgw__ice_creds *c, const char *local_ufrag, const char *local_pwd,
                          const char *remote_ufrag, const char *remote_pwd)
{
    int rc = cred_copy(c->local_ufrag, sizeof(c->local_ufrag), local_ufrag, DCGW_ICE_UFRAG_MIN,
                       DCGW_ICE_UFRAG_MAX);
    if (!rc)
        rc = cred_copy(c->remote_ufrag, sizeof(c->remote_ufrag), remote_ufrag, DCGW_ICE_UFRAG_MIN,
                       DCGW_ICE_UFRAG_MAX);
    if (!rc)
        rc = cred_copy(c->local_pwd, sizeof(c->local_pwd), local_pwd, DCGW_ICE_PWD_MIN,
                       DCGW_ICE_PWD_MAX);
    c->remote_pwd[0] = '\0';
    if (!rc && remote_pwd)
        rc = cred_copy(c->remote_pwd, sizeof(c->remote_pwd), remote_pwd, DCGW_ICE_PWD_MIN,
                       DCGW_ICE_PWD_MAX);
    return rc;
}

/* ---- routing helpers --------------------------------------------------------------- */

bool dcgw_stun_is_binding_request(const uint8_t *p, size_t n)
{
    struct dcgw__stun_view v;
    return dcgw__stun_parse(p, n, &v) == 0 && v.type == STUN_TYPE_BINDING_REQUEST;
}

int dcgw_stun_peek_username(const uint8_t *p, size_t n, char *buf, size_t cap)
{
    struct dcgw__stun_view v;
    if (dcgw__stun_parse(p, n, &v) != 0)
        return DCGW_EMALFORMED;
    if (v.type != STUN_TYPE_BINDING_REQUEST)
        return DCGW_EPROTO;
    if (!v.username)
        return DCGW_ENOENT;
    const uint8_t *colon = memchr(v.username, ':', v.username_len);
    if (!colon)
        return DCGW_EMALFORMED;
    size_t len = (size_t)(colon - v.username);
    if (len < DCGW_ICE_UFRAG_MIN || len > DCGW_ICE_UFRAG_MAX)
        return DCGW_EMALFORMED;
    for (size_t i = 0; i < len; i++)
        if (!is_ice_char(v.username[i]))
            return DCGW_EMALFORMED;
    if (!buf || len >= cap)
        return DCGW_ETOOBIG;
    memcpy(buf, v.username, len);
    buf[len] = '\0';
    return (int)len;
}

/* ---- lite agent -------------------------------------------------------------------- */

/* An IPv4 or IPv6 address, smaller than sockaddr_storage. */
union lite_sa {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
};

struct lite_addr {
    union lite_sa a;
    uint64_t last_ms;
    bool used;
};

/* A transaction recently answered, and where it came from. */
struct lite_txn {
    uint8_t id[12];
    union lite_sa from;
    bool used;
};

enum { LITE_RECENT_TXNS = 16 };

struct dcgw_ice_lite {
    struct dcgw_ice_cbs cbs;
    enum dcgw_ice_lite_state state;
    uint32_t consent_timeout_ms;
    uint32_t max_addrs;
    char local_pwd[DCGW_ICE_PWD_MAX + 1];     /* keys libnice's error responses */
    struct dcgw__stun_key *key;               /* local_pwd's, for checks and their answers */
    char username[DCGW_ICE_USERNAME_MAX + 1]; /* expected "<local ufrag>:<remote ufrag>" */
    size_t username_len, local_pwd_len;
    struct sockaddr_storage peer; /* selected, valid in SELECTED and CONSENT_LOST */
    uint64_t consent_ms;          /* last valid check from the selected address */
    struct dcgw_ice_lite_stats stats;
    struct lite_txn recent[LITE_RECENT_TXNS]; /* ring, to spot replays from elsewhere */
    unsigned recent_next;
    struct lite_addr *addrs; /* max_addrs entries */
};

void dcgw_ice_lite_settings_default(struct dcgw_ice_lite_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->consent_timeout_ms = DCGW_ICE_CONSENT_TIMEOUT_MS_DEFAULT;
    s->max_addrs = DCGW_ICE_MAX_ADDRS_DEFAULT;
}

int dcgw_ice_lite_new(const struct dcgw_ice_lite_settings *s, const struct dcgw_ice_cbs *cbs,
                      struct dcgw_ice_lite **out)
{
    struct dcgw__ice_creds cr;
    *out = NULL;
    if (!s || !cbs || !cbs->send)
        return DCGW_EINVAL;
    if (s->max_addrs > DCGW_ICE_MAX_ADDRS_CEILING)
        return DCGW_ERANGE;
    struct dcgw_ice_lite *ice = calloc(1, sizeof(*ice));
    if (!ice)
        return DCGW_ENOMEM;
    /* the remote pwd keys nothing here (a lite agent sends no request): syntax only */
    int rc =
        dcgw__ice_creds_check(&cr, s->local_ufrag, s->local_pwd, s->remote_ufrag, s->remote_pwd);
    if (rc)
        goto fail;
    ice->cbs = *cbs;
    ice->consent_timeout_ms =
        s->consent_timeout_ms ? s->consent_timeout_ms : DCGW_ICE_CONSENT_TIMEOUT_MS_DEFAULT;
    ice->max_addrs = s->max_addrs ? s->max_addrs : DCGW_ICE_MAX_ADDRS_DEFAULT;
    memcpy(ice->local_pwd, cr.local_pwd, sizeof(ice->local_pwd));
    ice->local_pwd_len = strlen(ice->local_pwd);
    /* RFC 8445 §7.2.2: the controlled agent expects "<its ufrag>:<peer's ufrag>". */
    ice->username_len = (size_t)snprintf(ice->username, sizeof(ice->username), "%s:%s",
                                         cr.local_ufrag, cr.remote_ufrag);
    rc = dcgw__stun_key_new(ice->local_pwd, ice->local_pwd_len, &ice->key);
    if (rc)
        goto fail;
    ice->addrs = calloc(ice->max_addrs, sizeof(*ice->addrs));
    if (!ice->addrs) {
        rc = DCGW_ENOMEM;
        goto fail;
    }
    *out = ice;
    return 0;
fail:
    dcgw_ice_lite_free(ice);
    return rc;
}

void dcgw_ice_lite_free(struct dcgw_ice_lite *ice)
{
    if (!ice)
        return;
    free(ice->addrs);
    dcgw__stun_key_free(ice->key);
    memset(ice->local_pwd, 0, sizeof(ice->local_pwd));
    free(ice);
}

/* libnice asks for the password of the USERNAME it found; only ours is accepted. */
static bool lite_validater(StunAgent *agent, StunMessage *msg, uint8_t *username,
                           uint16_t username_len, uint8_t **password, size_t *password_len,
                           void *ud)
{
    (void)agent;
    (void)msg;
    struct dcgw_ice_lite *ice = ud;
    if (!username || username_len != ice->username_len ||
        memcmp(username, ice->username, username_len) != 0)
        return false;
    *password = (uint8_t *)ice->local_pwd;
    *password_len = ice->local_pwd_len;
    return true;
}

/* Our own checks before any crypto: layout, class, credentials present, USERNAME ours. */
static int lite_precheck(struct dcgw_ice_lite *ice, const uint8_t *p, size_t n,
                         struct dcgw__stun_view *v)
{
    if (dcgw__stun_parse(p, n, v) != 0) {
        ice->stats.malformed++;
        return DCGW_EMALFORMED;
    }
    if (v->type != STUN_TYPE_BINDING_REQUEST) {
        ice->stats.not_request++;
        return DCGW_EPROTO;
    }
    /* RFC 8445 §7.3: a request without FINGERPRINT, USERNAME or MESSAGE-INTEGRITY is
     * rejected; dcgw rejects silently (docs/ice.md). */
    if (!v->fingerprint) {
        ice->stats.bad_fingerprint++;
        return DCGW_EAUTH;
    }
    if (!v->username || !v->integrity) {
        ice->stats.no_credentials++;
        return DCGW_EAUTH;
    }
    if (v->username_len != ice->username_len ||
        memcmp(v->username, ice->username, ice->username_len) != 0) {
        ice->stats.bad_username++;
        return DCGW_EAUTH;
    }
    return 0;
}

/* RFC 8489 §14.7, then §14.5: FINGERPRINT, then MESSAGE-INTEGRITY with the local pwd.
 * lite_precheck() found both, FINGERPRINT last. */
static int lite_authenticate(struct dcgw_ice_lite *ice, const uint8_t *p, size_t n,
                             const struct dcgw__stun_view *v)
{
    if (!dcgw__stun_fingerprint_ok(p, n)) {
        ice->stats.bad_fingerprint++;
        return DCGW_EAUTH;
    }
    int rc = dcgw__stun_integrity_check(ice->key, p, n, v->integrity_off);
    if (rc == DCGW_EAUTH)
        ice->stats.bad_integrity++;
    else if (rc == DCGW_EMALFORMED)
        ice->stats.malformed++;
    return rc;
}

static void lite_send(struct dcgw_ice_lite *ice, const struct sockaddr *to, const uint8_t *p,
                      size_t n)
{
    ice->stats.responses_sent++;
    ice->cbs.send(ice->cbs.ud, to, p, n);
}

/* Remembers `from` as a source of valid checks; evicts the least recently seen. */
static void lite_track(struct dcgw_ice_lite *ice, const struct sockaddr *from, uint64_t now)
{
    struct lite_addr *slot = NULL;
    for (uint32_t i = 0; i < ice->max_addrs; i++) {
        struct lite_addr *a = &ice->addrs[i];
        if (a->used && dcgw_addr_equal(&a->a.sa, from)) {
            a->last_ms = now;
            return;
        }
        if (!slot || (slot->used && (!a->used || a->last_ms < slot->last_ms)))
            slot = a;
    }
    if (!slot) /* max_addrs is at least 1 */
        return;
    if (slot->used)
        ice->stats.addrs_evicted++;
    memset(&slot->a, 0, sizeof(slot->a));
    memcpy(&slot->a, from, dcgw_addr_len(from));
    slot->last_ms = now;
    slot->used = true;
}

/* MESSAGE-INTEGRITY does not cover the source address, so a check captured on the path
 * and sent again from elsewhere verifies. A transaction id already answered for another
 * address is such a replay (a retransmission comes from the same address): dropped, so
 * it can neither move the selected pair nor refresh consent. */
static bool lite_replayed(struct dcgw_ice_lite *ice, const uint8_t *id, const struct sockaddr *from)
{
    for (unsigned i = 0; i < LITE_RECENT_TXNS; i++) {
        const struct lite_txn *t = &ice->recent[i];
        if (t->used && memcmp(t->id, id, sizeof(t->id)) == 0)
            return !dcgw_addr_equal(&t->from.sa, from);
    }
    return false;
}

static void lite_remember(struct dcgw_ice_lite *ice, const uint8_t *id, const struct sockaddr *from)
{
    for (unsigned i = 0; i < LITE_RECENT_TXNS; i++)
        if (ice->recent[i].used && memcmp(ice->recent[i].id, id, sizeof(ice->recent[i].id)) == 0)
            return; /* a retransmission, already there */
    struct lite_txn *t = &ice->recent[ice->recent_next];
    ice->recent_next = (ice->recent_next + 1) % LITE_RECENT_TXNS;
    memcpy(t->id, id, sizeof(t->id));
    memset(&t->from, 0, sizeof(t->from));
    memcpy(&t->from, from, dcgw_addr_len(from));
    t->used = true;
}

/* RFC 8445 §7.3.1.5 (lite): USE-CANDIDATE from the controlling agent nominates the pair;
 * a later nomination from another address moves it. RFC 7675: valid checks from the
 * selected address keep consent fresh. */
static void lite_nominate(struct dcgw_ice_lite *ice, const struct dcgw__stun_view *v,
                          const struct sockaddr *from, uint64_t now)
{
    bool selected = ice->state == DCGW_ICE_LITE_SELECTED &&
                    dcgw_addr_equal((const struct sockaddr *)&ice->peer, from);
    if (!selected && v->use_candidate && v->controlling) {
        char a[64];
        memset(&ice->peer, 0, sizeof(ice->peer));
        memcpy(&ice->peer, from, dcgw_addr_len(from));
        ice->state = DCGW_ICE_LITE_SELECTED;
        ice->stats.nominations++;
        ice->consent_ms = now;
        DCGW_LOG_RL(ICE, INFO, "ice-lite: selected %s", dcgw_addr_format(from, a, sizeof(a)));
        if (ice->cbs.on_selected)
            ice->cbs.on_selected(ice->cbs.ud, (const struct sockaddr *)&ice->peer);
        return;
    }
    if (selected) {
        ice->stats.consent_refreshes++;
        if (now > ice->consent_ms)
            ice->consent_ms = now;
    }
}

/* Refuses an authenticated request with an error response built by libnice (rare, so
 * its HMAC key schedule per message does not matter): 487 for a peer that claims to be
 * controlled (a lite agent never switches role, RFC 8445 §6.1.1 / §7.3.1.1), 420 for an
 * unknown comprehension-required attribute (RFC 8489 §6.3.1.1). libnice takes the key of
 * its error response from the request it validated, so it validates the request again. */
static int lite_refuse(struct dcgw_ice_lite *ice, const uint8_t *p, size_t n,
                       const struct dcgw__stun_view *v, const struct sockaddr *from)
{
    uint8_t buf[DCGW_ICE_MSG_MAX];
    StunAgent agent; /* per call: libnice's agent holds 12 KB of client state we never use */
    StunMessage req, resp;
    size_t len = 0;

    stun_agent_init(&agent, dcgw__stun_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    StunValidationStatus vs = stun_agent_validate(&agent, &req, p, n, lite_validater, ice);
    if (vs != STUN_VALIDATION_SUCCESS && vs != STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE) {
        DCGW_LOG_RL(ICE, WARN, "ice-lite: libnice rejects a check that verified (%d)", (int)vs);
        return DCGW_EINTERNAL;
    }
    if (v->controlled) {
        ice->stats.role_conflicts++;
        if (stun_agent_init_error(&agent, &resp, buf, sizeof(buf), &req, STUN_ERROR_ROLE_CONFLICT))
            len = stun_agent_finish_message(&agent, &resp, NULL, 0);
    } else {
        ice->stats.unknown_attrs++;
        len = stun_agent_build_unknown_attributes_error(&agent, &resp, buf, sizeof(buf), &req);
    }
    if (len)
        lite_send(ice, from, buf, len);
    return DCGW_EPROTO;
}

/* Answers an authenticated request with a success response: XOR-MAPPED-ADDRESS (the
 * source) and the request's USERNAME written by libnice, as its
 * stun_usage_ice_conncheck_create_reply() would, then MESSAGE-INTEGRITY and FINGERPRINT
 * with the agent's key. */
static int lite_accept(struct dcgw_ice_lite *ice, const uint8_t *p, const struct dcgw__stun_view *v,
                       const struct sockaddr *from)
{
    uint8_t buf[DCGW_ICE_MSG_MAX];
    /* no StunAgent: libnice's message writers then use RFC 5389's layout */
    StunMessage resp = {.buffer = buf, .buffer_len = sizeof(buf) - DCGW__STUN_SEAL_LEN};
    struct sockaddr_storage src;
    socklen_t srclen = dcgw_addr_len(from);
    size_t len = 0;

    if (!v->controlling)
        ice->stats.no_role++;
    memset(&src, 0, sizeof(src));
    memcpy(&src, from, srclen);
    /* the transaction id as libnice counts it: the cookie and the 12 bytes after it */
    if (stun_message_init(&resp, STUN_RESPONSE, STUN_BINDING, p + 4) &&
        stun_message_append_xor_addr(&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &src, srclen) ==
            STUN_MESSAGE_RETURN_SUCCESS &&
        stun_message_append_bytes(&resp, STUN_ATTRIBUTE_USERNAME, v->username, v->username_len) ==
            STUN_MESSAGE_RETURN_SUCCESS)
        len = dcgw__stun_seal(ice->key, buf, stun_message_length(&resp), sizeof(buf));
    if (len == 0) {
        DCGW_LOG_RL(ICE, WARN, "ice-lite: cannot build a response");
        return DCGW_EINTERNAL;
    }
    ice->stats.checks_ok++;
    lite_send(ice, from, buf, len);
    return 0;
}

int dcgw_ice_lite_recv(struct dcgw_ice_lite *ice, const struct sockaddr *from, const uint8_t *p,
                       size_t n, uint64_t now_ms)
{
    struct dcgw__stun_view v;
    char a[64];

    ice->stats.rx++;
    if (ice->state == DCGW_ICE_LITE_CONSENT_LOST) {
        ice->stats.after_consent_lost++;
        return DCGW_ESTATE;
    }
    if (dcgw_addr_len(from) == 0) {
        ice->stats.bad_addr++;
        return DCGW_EUNSUPPORTED;
    }
    int rc = lite_precheck(ice, p, n, &v);
    if (!rc)
        rc = lite_authenticate(ice, p, n, &v);
    if (rc) {
        DCGW_LOG_RL(ICE, DEBUG, "ice-lite: dropped %zu bytes from %s: %s", n,
                    dcgw_addr_format(from, a, sizeof(a)), dcgw_strerror(rc));
        return rc;
    }
    const uint8_t *txid = p + 8; /* after type, length and cookie */
    if (lite_replayed(ice, txid, from)) {
        ice->stats.replays++;
        DCGW_LOG_RL(ICE, INFO, "ice-lite: replayed check from %s dropped",
                    dcgw_addr_format(from, a, sizeof(a)));
        return DCGW_EAUTH;
    }
    if (v.controlled || v.unknown)
        rc = lite_refuse(ice, p, n, &v, from);
    else
        rc = lite_accept(ice, p, &v, from);
    if (rc)
        return rc;
    lite_remember(ice, txid, from);
    lite_track(ice, from, now_ms);
    lite_nominate(ice, &v, from, now_ms);
    return 0;
}

const struct sockaddr *dcgw_ice_lite_peer(const struct dcgw_ice_lite *ice)
{
    return ice->state == DCGW_ICE_LITE_WAITING ? NULL : (const struct sockaddr *)&ice->peer;
}

enum dcgw_ice_lite_state dcgw_ice_lite_state(const struct dcgw_ice_lite *ice)
{
    return ice->state;
}

bool dcgw_ice_lite_addr_known(const struct dcgw_ice_lite *ice, const struct sockaddr *addr)
{
    for (uint32_t i = 0; i < ice->max_addrs; i++)
        if (ice->addrs[i].used && dcgw_addr_equal(&ice->addrs[i].a.sa, addr))
            return true;
    return false;
}

uint64_t dcgw_ice_lite_next_timeout(const struct dcgw_ice_lite *ice)
{
    if (ice->state != DCGW_ICE_LITE_SELECTED)
        return UINT64_MAX;
    return ice->consent_ms + ice->consent_timeout_ms;
}

void dcgw_ice_lite_handle_timeout(struct dcgw_ice_lite *ice, uint64_t now_ms)
{
    if (ice->state != DCGW_ICE_LITE_SELECTED || now_ms < dcgw_ice_lite_next_timeout(ice))
        return;
    /* RFC 7675 §5.1: consent expires when nothing verified it for the timeout. */
    ice->state = DCGW_ICE_LITE_CONSENT_LOST;
    ice->stats.consent_lost++;
    char a[64];
    DCGW_LOG_RL(ICE, INFO, "ice-lite: consent lost for %s after %u ms",
                dcgw_addr_format((const struct sockaddr *)&ice->peer, a, sizeof(a)),
                ice->consent_timeout_ms);
    if (ice->cbs.on_consent_lost)
        ice->cbs.on_consent_lost(ice->cbs.ud);
}

const struct dcgw_ice_lite_stats *dcgw_ice_lite_stats(const struct dcgw_ice_lite *ice)
{
    return &ice->stats;
}

const char *dcgw_ice_lite_state_name(enum dcgw_ice_lite_state st)
{
    switch (st) {
    case DCGW_ICE_LITE_WAITING:
        return "waiting";
    case DCGW_ICE_LITE_SELECTED:
        return "selected";
    case DCGW_ICE_LITE_CONSENT_LOST:
        return "consent-lost";
    }
    return "?";
}
