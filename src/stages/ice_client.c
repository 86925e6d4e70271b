/* The controlling side of ICE binding checks (RFC 8445 §7.2.4, §7.2.5) and consent
 * freshness (RFC 7675 §5.1), for dcgw's test client and bench. One remote address, one
 * check at a time, aggressive nomination (USE-CANDIDATE on every check). */
#include "dcgw/base/addr.h"
#include "dcgw/stages/ice.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <stun/stunagent.h>
#include <stun/stunmessage.h>
#include <stun/usages/ice.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

enum {
    STUN_TYPE_BINDING_SUCCESS = 0x0101,
    /* RFC 8445 §5.1.2.1: type preference 110 for peer-reflexive, local preference 65535,
     * component 1; §7.1.1: a check carries the priority of a peer-reflexive candidate. */
    PRIORITY_DEFAULT = (110u << 24) | (65535u << 8) | (256u - 1u),
};

struct dcgw_ice_client {
    struct dcgw_ice_client_cbs cbs;
    enum dcgw_ice_client_state state;
    StunAgent agent; /* remembers our transactions and their key (remote_pwd) */
    char remote_pwd[DCGW_ICE_PWD_MAX + 1];
    char username[DCGW_ICE_USERNAME_MAX + 1]; /* "<remote ufrag>:<local ufrag>" */
    size_t remote_pwd_len, username_len;
    uint32_t priority, rto_ms, rto_max_ms, max_tx, consent_interval_ms, consent_timeout_ms;
    uint64_t tie_breaker;
    struct sockaddr_storage peer;

    /* The first check, retransmitted until answered. */
    uint8_t req[DCGW_ICE_MSG_MAX];
    size_t req_len;
    StunTransactionId req_id;
    uint32_t tx, rto;
    uint64_t next_tx_ms;

    /* Consent checks: sent once each, any recent one may be answered (RFC 7675 §5.1). */
    StunTransactionId pending[DCGW_ICE_CLIENT_PENDING];
    bool pending_used[DCGW_ICE_CLIENT_PENDING];
    unsigned pending_next;
    uint64_t consent_ms, next_consent_ms;

    struct dcgw_ice_client_stats stats;
};

void dcgw_ice_client_settings_default(struct dcgw_ice_client_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->priority = PRIORITY_DEFAULT;
    s->rto_ms = DCGW_ICE_CLIENT_RTO_MS_DEFAULT;
    s->rto_max_ms = DCGW_ICE_CLIENT_RTO_MAX_MS_DEFAULT;
    s->max_tx = DCGW_ICE_CLIENT_MAX_TX_DEFAULT;
    s->consent_interval_ms = DCGW_ICE_CONSENT_INTERVAL_MS_DEFAULT;
    s->consent_timeout_ms = DCGW_ICE_CONSENT_TIMEOUT_MS_DEFAULT;
}

static void rand_bytes(struct dcgw_ice_client *c, void *buf, size_t n)
{
    if (c->cbs.random) {
        c->cbs.random(c->cbs.ud, buf, n);
        return;
    }
    if (RAND_bytes(buf, (int)n) == 1)
        return;
    size_t off = 0;
    while (off < n) {
        ssize_t r = getrandom((uint8_t *)buf + off, n - off, 0);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0)
            off += (size_t)r;
    }
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

static int client_creds(struct dcgw_ice_client *c, const struct dcgw_ice_client_settings *s)
{
    struct dcgw__ice_creds cr;
    if (!s->remote_pwd) /* it keys our requests */
        return DCGW_EINVAL;
    int rc =
        dcgw__ice_creds_check(&cr, s->local_ufrag, s->local_pwd, s->remote_ufrag, s->remote_pwd);
    if (rc)
        return rc;
    memcpy(c->remote_pwd, cr.remote_pwd, sizeof(c->remote_pwd));
    c->remote_pwd_len = strlen(c->remote_pwd);
    /* RFC 8445 §7.2.2: USERNAME of a check is "<peer's ufrag>:<our ufrag>". */
    c->username_len = (size_t)snprintf(c->username, sizeof(c->username), "%s:%s", cr.remote_ufrag,
                                       cr.local_ufrag);
    return 0;
}

int dcgw_ice_client_new(const struct dcgw_ice_client_settings *s,
                        const struct dcgw_ice_client_cbs *cbs, struct dcgw_ice_client **out)
{
    *out = NULL;
    if (!s || !cbs || !cbs->send)
        return DCGW_EINVAL;
    if (s->max_tx > DCGW_ICE_CLIENT_MAX_TX_CEILING)
        return DCGW_ERANGE;
    struct dcgw_ice_client *c = calloc(1, sizeof(*c));
    if (!c)
        return DCGW_ENOMEM;
    c->cbs = *cbs;
    int rc = client_creds(c, s);
    if (rc) {
        free(c);
        return rc;
    }
    c->priority = or_default(s->priority, PRIORITY_DEFAULT);
    c->rto_ms = or_default(s->rto_ms, DCGW_ICE_CLIENT_RTO_MS_DEFAULT);
    c->rto_max_ms = or_default(s->rto_max_ms, DCGW_ICE_CLIENT_RTO_MAX_MS_DEFAULT);
    if (c->rto_max_ms < c->rto_ms)
        c->rto_max_ms = c->rto_ms;
    c->max_tx = or_default(s->max_tx, DCGW_ICE_CLIENT_MAX_TX_DEFAULT);
    c->consent_interval_ms =
        or_default(s->consent_interval_ms, DCGW_ICE_CONSENT_INTERVAL_MS_DEFAULT);
    c->consent_timeout_ms = or_default(s->consent_timeout_ms, DCGW_ICE_CONSENT_TIMEOUT_MS_DEFAULT);
    c->tie_breaker = s->tie_breaker;
    while (!c->tie_breaker)
        rand_bytes(c, &c->tie_breaker, sizeof(c->tie_breaker));
    stun_agent_init(&c->agent, dcgw__stun_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    *out = c;
    return 0;
}

void dcgw_ice_client_free(struct dcgw_ice_client *c)
{
    if (!c)
        return;
    memset(c->remote_pwd, 0, sizeof(c->remote_pwd));
    free(c);
}

/* Builds a check with a fresh transaction id (RFC 8445 §7.1: PRIORITY, ICE-CONTROLLING,
 * USE-CANDIDATE; USERNAME and MESSAGE-INTEGRITY with the peer's credentials; FINGERPRINT).
 * libnice remembers the transaction. Returns the length, 0 on failure. */
static size_t build_check(struct dcgw_ice_client *c, uint8_t *buf, size_t cap, StunTransactionId id)
{
    StunMessage msg;
    memset(&msg, 0, sizeof(msg));
    msg.buffer = buf;
    msg.buffer_len = cap;
    msg.agent = &c->agent;
    rand_bytes(c, id, sizeof(StunTransactionId));
    const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42}; /* RFC 8489 §5 */
    memcpy(id, cookie, sizeof(cookie));
    if (!stun_message_init(&msg, STUN_REQUEST, STUN_BINDING, id) ||
        stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, c->username, c->username_len) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        stun_message_append32(&msg, STUN_ATTRIBUTE_PRIORITY, c->priority) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        stun_message_append64(&msg, STUN_ATTRIBUTE_ICE_CONTROLLING, c->tie_breaker) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        stun_message_append_flag(&msg, STUN_ATTRIBUTE_USE_CANDIDATE) != STUN_MESSAGE_RETURN_SUCCESS)
        return 0;
    return stun_agent_finish_message(&c->agent, &msg, (const uint8_t *)c->remote_pwd,
                                     c->remote_pwd_len);
}

static void client_send(struct dcgw_ice_client *c, const uint8_t *p, size_t n)
{
    c->cbs.send(c->cbs.ud, (const struct sockaddr *)&c->peer, p, n);
}

/* RFC 7675 §5.1: the next consent check in 0.8 .. 1.2 times the interval (4-6 s). */
static uint64_t consent_jitter(struct dcgw_ice_client *c)
{
    uint32_t r = 0;
    rand_bytes(c, &r, sizeof(r));
    uint64_t base = (uint64_t)c->consent_interval_ms * 4 / 5;
    uint64_t span = (uint64_t)c->consent_interval_ms * 2 / 5 + 1;
    return base + r % span;
}

int dcgw_ice_client_start(struct dcgw_ice_client *c, const struct sockaddr *peer, uint64_t now_ms)
{
    if (c->state != DCGW_ICE_CLIENT_IDLE)
        return DCGW_ESTATE;
    socklen_t len = dcgw_addr_len(peer);
    if (!len)
        return DCGW_EUNSUPPORTED;
    memcpy(&c->peer, peer, len);
    c->req_len = build_check(c, c->req, sizeof(c->req), c->req_id);
    if (!c->req_len)
        return DCGW_EINTERNAL;
    c->state = DCGW_ICE_CLIENT_CHECKING;
    c->tx = 1;
    c->rto = c->rto_ms;
    c->next_tx_ms = now_ms + c->rto;
    c->stats.checks_sent++;
    client_send(c, c->req, c->req_len);
    return 0;
}

static void forget_all(struct dcgw_ice_client *c)
{
    stun_agent_forget_transaction(&c->agent, c->req_id);
    for (unsigned i = 0; i < DCGW_ICE_CLIENT_PENDING; i++)
        if (c->pending_used[i]) {
            stun_agent_forget_transaction(&c->agent, c->pending[i]);
            c->pending_used[i] = false;
        }
}

static void send_consent(struct dcgw_ice_client *c, uint64_t now_ms)
{
    uint8_t buf[DCGW_ICE_MSG_MAX];
    unsigned slot = c->pending_next;
    c->pending_next = (slot + 1) % DCGW_ICE_CLIENT_PENDING;
    /* The oldest consent check is older than the timeout by now: forget it. */
    if (c->pending_used[slot])
        stun_agent_forget_transaction(&c->agent, c->pending[slot]);
    size_t len = build_check(c, buf, sizeof(buf), c->pending[slot]);
    c->pending_used[slot] = len > 0;
    c->next_consent_ms = now_ms + consent_jitter(c);
    if (!len)
        return;
    c->stats.checks_sent++;
    c->stats.consent_sent++;
    client_send(c, buf, len);
}

void dcgw_ice_client_handle_timeout(struct dcgw_ice_client *c, uint64_t now_ms)
{
    if (c->state == DCGW_ICE_CLIENT_CHECKING && now_ms >= c->next_tx_ms) {
        if (c->tx >= c->max_tx) {
            forget_all(c);
            c->state = DCGW_ICE_CLIENT_FAILED;
            DCGW_INFO(ICE, "ice-client: no answer after %u checks", c->tx);
            if (c->cbs.on_failed)
                c->cbs.on_failed(c->cbs.ud);
            return;
        }
        /* RFC 8489 §6.2.1: same transaction, RTO doubled each time (capped). */
        c->tx++;
        c->stats.retransmits++;
        c->rto = c->rto * 2 > c->rto_max_ms ? c->rto_max_ms : c->rto * 2;
        c->next_tx_ms = now_ms + c->rto;
        client_send(c, c->req, c->req_len);
        return;
    }
    if (c->state != DCGW_ICE_CLIENT_CONNECTED)
        return;
    if (now_ms >= c->consent_ms + c->consent_timeout_ms) {
        /* RFC 7675 §5.1: consent expires; stop sending. */
        forget_all(c);
        c->state = DCGW_ICE_CLIENT_CONSENT_LOST;
        DCGW_INFO(ICE, "ice-client: consent lost");
        if (c->cbs.on_consent_lost)
            c->cbs.on_consent_lost(c->cbs.ud);
        return;
    }
    if (now_ms >= c->next_consent_ms)
        send_consent(c, now_ms);
}

uint64_t dcgw_ice_client_next_timeout(const struct dcgw_ice_client *c)
{
    if (c->state == DCGW_ICE_CLIENT_CHECKING)
        return c->next_tx_ms;
    if (c->state != DCGW_ICE_CLIENT_CONNECTED)
        return UINT64_MAX;
    uint64_t expiry = c->consent_ms + c->consent_timeout_ms;
    return c->next_consent_ms < expiry ? c->next_consent_ms : expiry;
}

/* Our checks on a datagram before libnice's: layout, source, class, attributes. */
static int client_precheck(struct dcgw_ice_client *c, const struct sockaddr *from, const uint8_t *p,
                           size_t n)
{
    struct dcgw__stun_view v;
    if (dcgw__stun_parse(p, n, &v) != 0) {
        c->stats.malformed++;
        return DCGW_EMALFORMED;
    }
    /* RFC 8445 §7.2.5.2.1: the response must come from where the check went. */
    if (!dcgw_addr_equal(from, (const struct sockaddr *)&c->peer)) {
        c->stats.wrong_source++;
        return DCGW_EPROTO;
    }
    /* Error responses are dropped unread: libnice accepts some without integrity and
     * would forget the transaction (a spoofed 400 must not end a check). */
    if (v.type != STUN_TYPE_BINDING_SUCCESS) {
        c->stats.not_response++;
        return DCGW_EPROTO;
    }
    if (!v.integrity || !v.fingerprint) {
        c->stats.bad_response++;
        return DCGW_EAUTH;
    }
    return 0;
}

static bool take_pending(struct dcgw_ice_client *c, const StunTransactionId id)
{
    for (unsigned i = 0; i < DCGW_ICE_CLIENT_PENDING; i++)
        if (c->pending_used[i] && memcmp(c->pending[i], id, sizeof(StunTransactionId)) == 0) {
            c->pending_used[i] = false;
            return true;
        }
    return false;
}

int dcgw_ice_client_recv(struct dcgw_ice_client *c, const struct sockaddr *from, const uint8_t *p,
                         size_t n, uint64_t now_ms)
{
    c->stats.rx++;
    if (c->state != DCGW_ICE_CLIENT_CHECKING && c->state != DCGW_ICE_CLIENT_CONNECTED)
        return DCGW_ESTATE;
    int rc = client_precheck(c, from, p, n);
    if (rc)
        return rc;
    StunMessage msg;
    StunValidationStatus vs = stun_agent_validate(&c->agent, &msg, p, n, NULL, NULL);
    if (vs == STUN_VALIDATION_UNMATCHED_RESPONSE) {
        c->stats.unmatched++;
        return DCGW_ENOENT;
    }
    struct sockaddr_storage mapped;
    socklen_t mlen = sizeof(mapped);
    memset(&mapped, 0, sizeof(mapped));
    if (vs != STUN_VALIDATION_SUCCESS ||
        stun_usage_ice_conncheck_process(&msg, &mapped, &mlen,
                                         STUN_USAGE_ICE_COMPATIBILITY_RFC5245) !=
            STUN_USAGE_ICE_RETURN_SUCCESS) {
        c->stats.bad_response++;
        DCGW_LOG_RL(ICE, DEBUG, "ice-client: bad response (%d)", (int)vs);
        return DCGW_EAUTH;
    }
    StunTransactionId id;
    stun_message_id(&msg, id);
    c->stats.responses_ok++;
    if (c->state == DCGW_ICE_CLIENT_CHECKING && memcmp(id, c->req_id, sizeof(id)) == 0) {
        c->state = DCGW_ICE_CLIENT_CONNECTED;
        c->consent_ms = now_ms;
        c->next_consent_ms = now_ms + consent_jitter(c);
        DCGW_DEBUG(ICE, "ice-client: connected after %u transmissions", c->tx);
        if (c->cbs.on_connected)
            c->cbs.on_connected(c->cbs.ud, (const struct sockaddr *)&mapped);
        return 0;
    }
    if (take_pending(c, id) && now_ms > c->consent_ms)
        c->consent_ms = now_ms;
    return 0;
}

enum dcgw_ice_client_state dcgw_ice_client_state(const struct dcgw_ice_client *c)
{
    return c->state;
}

const struct dcgw_ice_client_stats *dcgw_ice_client_stats(const struct dcgw_ice_client *c)
{
    return &c->stats;
}

const char *dcgw_ice_client_state_name(enum dcgw_ice_client_state st)
{
    switch (st) {
    case DCGW_ICE_CLIENT_IDLE:
        return "idle";
    case DCGW_ICE_CLIENT_CHECKING:
        return "checking";
    case DCGW_ICE_CLIENT_CONNECTED:
        return "connected";
    case DCGW_ICE_CLIENT_FAILED:
        return "failed";
    case DCGW_ICE_CLIENT_CONSENT_LOST:
        return "consent-lost";
    }
    return "?";
}
