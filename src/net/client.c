/* A simulated data-channel endpoint: a leg (ICE + DTLS + SCTP) on its own UDP socket, or
 * under its own address on a socket shared with other clients (dcgw_client_net). */
#include "dcgw/net/client.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/net/io.h"
#include "dcgw/base/log.h"
#include "dcgw/stages/sctp.h"

enum { CLIENT_UFRAG_SIZE = 16, CLIENT_PWD_SIZE = 32, CLIENT_SCTP_PORT_DEFAULT = 5000 };

struct dcgw_client {
    uv_loop_t *loop;
    struct dcgw_dtls_ctx *ctx;
    struct dcgw_client_settings set;
    struct dcgw_sdp_dcmap dcmap[DCGW_CLIENT_DCMAP_MAX];
    struct dcgw_client_cbs cbs;
    struct dcgw_io *io;          /* own socket, or NULL on a shared one (net) */
    struct dcgw_client_net *net; /* the shared socket, or NULL */
    struct sockaddr_storage local;
    uv_timer_t timer;
    uint64_t timer_due; /* UINT64_MAX: stopped */
    struct dcgw_leg *leg;
    char ufrag[CLIENT_UFRAG_SIZE], pwd[CLIENT_PWD_SIZE];
    char tls_id[DCGW_SDP_TLS_ID_SIZE];
    bool offered, failed, up;
    uint64_t tie_breaker;
    uint64_t checks_answered;
    void *user;
};

struct dcgw_client_net {
    struct dcgw_io *io;
    GHashTable *by_addr; /* a client's local address (its `local`, the net's port) -> client */
    uint64_t unclaimed;
};

/* ---- sending */

static void client_send(struct dcgw_client *c, const struct sockaddr *to, const uint8_t *p,
                        size_t n)
{
    if (c->net)
        dcgw_io_send_from(c->net->io, (const struct sockaddr *)&c->local, to, p, n);
    else
        dcgw_io_send(c->io, to, p, n);
}

/* ---- timers */

static void rearm(struct dcgw_client *c);

static void on_timer(uv_timer_t *t)
{
    struct dcgw_client *c = t->data;
    c->timer_due = UINT64_MAX;
    if (c->leg && !c->failed)
        dcgw_leg_handle_timeout(c->leg, uv_now(c->loop));
    rearm(c);
}

static void rearm(struct dcgw_client *c)
{
    uint64_t due = c->leg && !c->failed ? dcgw_leg_next_timeout(c->leg) : UINT64_MAX;
    if (due == c->timer_due)
        return;
    c->timer_due = due;
    if (due == UINT64_MAX) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(c->loop);
    uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- answering the peer's checks
 *
 * The leg's controlling side only sends checks. A full ICE peer (Janus's libnice, even in
 * its lite mode) also checks the pair from its side and selects it only once its own
 * check succeeded, so the offerer answers Binding requests too (RFC 8445 §7.3), keyed
 * with our ice-pwd. */

static const uint16_t check_attrs[] = {
    STUN_ATTRIBUTE_USERNAME,           STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,         STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE,      0,
};

static bool is_binding_request(const uint8_t *p, size_t n)
{
    /* RFC 8489 §5: type 0x0001, magic cookie 0x2112A442. */
    return n >= 20 && p[0] == 0x00 && p[1] == 0x01 && p[4] == 0x21 && p[5] == 0x12 &&
           p[6] == 0xA4 && p[7] == 0x42;
}

static bool check_validater(StunAgent *agent, StunMessage *msg, uint8_t *username,
                            uint16_t username_len, uint8_t **password, size_t *password_len,
                            void *ud)
{
    (void)agent;
    (void)msg;
    struct dcgw_client *c = ud;
    size_t ul = strlen(c->ufrag);
    /* USERNAME is "<our ufrag>:<their ufrag>" (RFC 8445 §7.2.2). */
    if (!username || username_len <= ul || memcmp(username, c->ufrag, ul) != 0 ||
        username[ul] != ':')
        return false;
    *password = (uint8_t *)c->pwd;
    *password_len = strlen(c->pwd);
    return true;
}

static void answer_check(struct dcgw_client *c, const struct sockaddr *from, const uint8_t *p,
                         size_t n)
{
    StunAgent agent;
    StunMessage req, resp;
    stun_agent_init(&agent, check_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    if (stun_agent_validate(&agent, &req, p, n, check_validater, c) != STUN_VALIDATION_SUCCESS)
        return;
    struct sockaddr_storage src;
    socklen_t srclen = dcgw_addr_len(from);
    memcpy(&src, from, srclen);
    uint8_t buf[DCGW_ICE_MSG_MAX];
    size_t len = sizeof(buf);
    bool control = true;
    if (stun_usage_ice_conncheck_create_reply(
            &agent, &req, &resp, buf, &len, &src, srclen, &control, c->tie_breaker,
            STUN_USAGE_ICE_COMPATIBILITY_RFC5245) == STUN_USAGE_ICE_RETURN_SUCCESS &&
        len > 0) {
        c->checks_answered++;
        client_send(c, from, buf, len);
    }
}

/* ---- io and leg callbacks */

static void on_datagram(void *ud, const struct sockaddr *from, uint8_t *p, size_t n, uint64_t now)
{
    struct dcgw_client *c = ud;
    if (!c->leg || c->failed)
        return;
    if (c->offered && is_binding_request(p, n))
        answer_check(c, from, p, n);
    else
        dcgw_leg_input(c->leg, from, p, n, now);
    rearm(c);
}

static void leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    client_send(ud, to, p, n);
}

static void report_failure(struct dcgw_client *c, int err, const char *reason)
{
    if (c->failed)
        return;
    c->failed = true;
    c->up = false;
    DCGW_DEBUG(BENCH, "client: %s (%s)", reason, dcgw_err_name(err));
    if (c->cbs.on_failed)
        c->cbs.on_failed(c->cbs.ud, c, err, reason);
}

static void leg_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)cause;
    report_failure(ud, err, reason);
}

static void dc_up(void *ud)
{
    struct dcgw_client *c = ud;
    c->up = true;
    if (c->cbs.on_up)
        c->cbs.on_up(c->cbs.ud, c);
}

static void dc_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct dcgw_client *c = ud;
    if (c->cbs.on_channel_open)
        c->cbs.on_channel_open(c->cbs.ud, c, ch);
}

static void dc_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct dcgw_client *c = ud;
    if (c->cbs.on_message)
        c->cbs.on_message(c->cbs.ud, c, ch, is_text, p, n);
}

static void dc_closed_channel(void *ud, struct dcgw_dc_channel *ch)
{
    struct dcgw_client *c = ud;
    if (c->cbs.on_channel_closed)
        c->cbs.on_channel_closed(c->cbs.ud, c, ch);
}

static void dc_writable(void *ud)
{
    struct dcgw_client *c = ud;
    if (c->cbs.on_writable)
        c->cbs.on_writable(c->cbs.ud, c);
}

static void dc_closed(void *ud)
{
    report_failure(ud, DCGW_ECLOSED, "SCTP association ended");
}

/* ---- SDP */

static void local_side(struct dcgw_client *c, struct dcgw_sdp_local *l)
{
    dcgw_sdp_local_init(l);
    uint64_t id = 0;
    RAND_bytes((unsigned char *)&id, sizeof(id));
    l->sess_id = id & INT64_MAX;
    snprintf(l->tls_id, sizeof(l->tls_id), "%s", c->tls_id);
    snprintf(l->ice_ufrag, sizeof(l->ice_ufrag), "%s", c->ufrag);
    snprintf(l->ice_pwd, sizeof(l->ice_pwd), "%s", c->pwd);
    l->n_addrs = 1;
    const struct sockaddr *a = dcgw_client_local(c);
    memcpy(&l->addrs[0], a, dcgw_addr_len(a));
    l->n_fingerprints = 1;
    dcgw_cert_fingerprint(dcgw_dtls_ctx_cert(c->ctx), DCGW_HASH_SHA256, &l->fingerprints[0]);
    l->sctp_port = c->set.sctp_port;
    l->max_message_size = c->set.max_message_size;
    snprintf(l->mid, sizeof(l->mid), "0");
    l->dcmap = c->dcmap;
    l->n_dcmap = c->set.n_dcmap;
}

/* Removes a=ice-lite from SDP the writer produced (length n); returns the new length. */
static int strip_ice_lite(char *buf, int n)
{
    static const char lite[] = "a=ice-lite\r\n";
    char *at = strstr(buf, lite);
    if (at) {
        memmove(at, at + sizeof(lite) - 1, strlen(at + sizeof(lite) - 1) + 1);
        n -= (int)(sizeof(lite) - 1);
    }
    return n;
}

int dcgw_client_offer(struct dcgw_client *c, char *buf, size_t cap)
{
    if (c->leg)
        return DCGW_ESTATE;
    struct dcgw_sdp_local l;
    local_side(c, &l);
    l.setup = DCGW_SDP_SETUP_ACTPASS;
    int n = dcgw_sdp_write_offer(&l, buf, cap);
    if (n < 0)
        return n;
    /* The writer speaks for dcgw (ICE-lite). The client sends the checks: it is a full,
     * controlling agent (RFC 8445 §6.1.1), and a full peer such as Janus must see it so. */
    n = strip_ice_lite(buf, n);
    c->offered = true;
    return n;
}

/* Builds the leg from the peer's SDP and starts it. */
static int make_leg(struct dcgw_client *c, const struct dcgw_sdp *remote, bool controlling,
                    bool dtls_client, const struct sockaddr *cand)
{
    const struct dcgw_sdp_dc *rdc = &remote->dc;
    struct dcgw_dc_settings dcs;
    dcgw_dc_settings_default(&dcs);
    dcs.sctp.local_port = c->set.sctp_port;
    dcs.sctp.remote_port = rdc->sctp_port;
    uint32_t streams = c->set.streams;
    for (size_t i = 0; i < rdc->n_dcmap; i++)
        if (rdc->dcmap[i].stream_id >= streams)
            streams = (uint32_t)rdc->dcmap[i].stream_id + 1;
    dcs.sctp.streams = (uint16_t)(streams > DCGW_DC_STREAM_MAX ? DCGW_DC_STREAM_MAX : streams);
    /* RFC 8841 §6: the peer's a=max-message-size bounds what we send. */
    dcs.sctp.max_message_size = c->set.max_message_size;
    if (rdc->max_message_size && rdc->max_message_size < dcs.sctp.max_message_size)
        dcs.sctp.max_message_size = rdc->max_message_size;
    dcs.allow_dcep = c->set.allow_dcep;
    dcs.sctp.nodelay = c->set.nodelay;
    struct dcgw_dc_callbacks dcb = {.ud = c,
                                    .on_connected = dc_up,
                                    .on_channel_open = dc_open,
                                    .on_message = dc_message,
                                    .on_channel_closed = dc_closed_channel,
                                    .on_writable = dc_writable,
                                    .on_closed = dc_closed};
    struct dcgw_leg_settings ls = {
        .ice_role = controlling ? DCGW_LEG_ICE_CONTROLLING : DCGW_LEG_ICE_LITE,
        .local_ufrag = c->ufrag,
        .local_pwd = c->pwd,
        .remote_ufrag = rdc->ice_ufrag,
        .remote_pwd = rdc->ice_pwd,
        .remote_candidate = cand,
        .dtls_client = dtls_client,
        .remote_fps = rdc->fingerprints,
        .n_remote_fps = rdc->n_fingerprints,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = c->set.dtls_initial_timeout_ms,
        .dc = &dcs,
        .dc_cbs = &dcb,
    };
    struct dcgw_leg_cbs cbs = {.ud = c, .send = leg_send, .on_failed = leg_failed};
    int r = dcgw_leg_new(c->ctx, &ls, &cbs, &c->leg);
    if (r < 0)
        return r;
    for (size_t i = 0; i < rdc->n_dcmap; i++) {
        struct dcgw_dc_params p;
        struct dcgw_dc_channel *ch;
        dcgw_dc_params_from_dcmap(&rdc->dcmap[i], &p);
        r = dcgw_dc_add_negotiated(dcgw_leg_dc(c->leg), &p, &ch);
        if (r < 0)
            DCGW_WARN(BENCH, "client: dcmap %u not added: %s", p.id, dcgw_strerror(r));
    }
    r = dcgw_leg_start(c->leg, uv_now(c->loop));
    rearm(c);
    return r;
}

/* The answer's candidate we check: the first UDP host/srflx/... candidate of component 1
 * in our address family, else its c= address with the m-line port. */
static int pick_candidate(const struct dcgw_client *c, const struct dcgw_sdp_dc *dc,
                          struct sockaddr_storage *out)
{
    int fam = dcgw_client_local(c)->sa_family;
    for (size_t i = 0; i < dc->n_candidates; i++) {
        const struct dcgw_sdp_candidate *k = &dc->candidates[i];
        if (k->component == 1 && k->addr.ss_family == fam) {
            *out = k->addr;
            return 0;
        }
    }
    if (dc->has_conn && dc->conn.ss_family == fam && dc->port != 0 && dc->port != 9) {
        *out = dc->conn;
        return 0;
    }
    return DCGW_ESDP;
}

static int parse(const char *text, size_t len, struct dcgw_sdp **out)
{
    struct dcgw_sdp *s = malloc(sizeof(*s));
    if (!s)
        return DCGW_ENOMEM;
    char why[256];
    int r = dcgw_sdp_parse(text, len, s, why, sizeof(why));
    if (r < 0) {
        DCGW_WARN(BENCH, "client: remote SDP: %s", why);
        free(s);
        return r;
    }
    *out = s;
    return 0;
}

int dcgw_client_start(struct dcgw_client *c, const char *answer, size_t len)
{
    if (!c->offered || c->leg)
        return DCGW_ESTATE;
    struct dcgw_sdp *ans;
    int r = parse(answer, len, &ans);
    if (r < 0)
        return r;
    struct sockaddr_storage cand;
    r = pick_candidate(c, &ans->dc, &cand);
    if (r == 0) {
        /* RFC 5763 §5: we offered actpass; an active answerer makes us the server. An
         * absent a=setup reads as active (RFC 4145 §4). */
        bool client = ans->dc.setup == DCGW_SDP_SETUP_PASSIVE;
        r = make_leg(c, ans, true, client, (struct sockaddr *)&cand);
    }
    free(ans);
    return r;
}

int dcgw_client_answer(struct dcgw_client *c, const char *offer, size_t len, char *buf, size_t cap)
{
    if (c->offered || c->leg)
        return DCGW_ESTATE;
    struct dcgw_sdp *off;
    int r = parse(offer, len, &off);
    if (r < 0)
        return r;
    struct dcgw_sdp_local l;
    local_side(c, &l);
    l.setup = dcgw_sdp_answer_setup(off->dc.setup, DCGW_SDP_SETUP_ACTIVE);
    l.dcmap = off->dc.dcmap;
    l.n_dcmap = off->dc.n_dcmap;
    /* RFC 8445 §6.1.1: facing an ICE-lite offerer (dcgw's relay hop) we are the full,
     * controlling agent and send the checks; otherwise we answer as ICE-lite. */
    bool controlling = off->ice_lite;
    struct sockaddr_storage cand;
    int n = controlling ? pick_candidate(c, &off->dc, &cand) : 0;
    if (n >= 0)
        n = dcgw_sdp_write_answer(off, &l, buf, cap);
    if (n >= 0 && controlling)
        n = strip_ice_lite(buf, n);
    if (n >= 0) {
        r = make_leg(c, off, controlling, l.setup == DCGW_SDP_SETUP_ACTIVE,
                     controlling ? (struct sockaddr *)&cand : NULL);
        if (r == 0)
            r = n;
    } else {
        r = n;
    }
    free(off);
    return r;
}

/* ---- the socket: the client's own, or a shared one */

static int own_socket(struct dcgw_client *c, const struct dcgw_client_settings *s)
{
    struct dcgw_io_settings is = {.batch = s->io_batch, .socket_buffer = s->socket_buffer};
    struct dcgw_io_cbs ic = {.ud = c, .on_datagram = on_datagram};
    int r = dcgw_io_new(c->loop, s->bind, &is, &ic, &c->io);
    if (r == 0)
        memcpy(&c->local, dcgw_io_local(c->io), dcgw_addr_len(dcgw_io_local(c->io)));
    return r;
}

/* Keys of by_addr: a local address; the port is the net's for all of them. */
static guint net_addr_hash(gconstpointer k)
{
    const struct sockaddr *sa = k;
    uint32_t w[4] = {0};
    if (sa->sa_family == AF_INET)
        memcpy(w, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else
        memcpy(w, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    return (guint)((w[0] ^ w[1] * 31u ^ w[2] * 961u ^ w[3] * 29791u) * 0x9E3779B1u >> 7);
}

static gboolean net_addr_equal(gconstpointer a, gconstpointer b)
{
    return dcgw_addr_equal(a, b);
}

static void net_datagram(void *ud, const struct sockaddr *from, const struct sockaddr *to,
                         uint8_t *p, size_t n, uint64_t now)
{
    struct dcgw_client_net *net = ud;
    struct dcgw_client *c = g_hash_table_lookup(net->by_addr, to);
    if (c)
        on_datagram(c, from, p, n, now);
    else
        net->unclaimed++;
}

static int net_join(struct dcgw_client_net *net, struct dcgw_client *c, const struct sockaddr *bind)
{
    const struct sockaddr *shared = dcgw_io_local(net->io);
    if (bind->sa_family != shared->sa_family)
        return DCGW_EINVAL;
    memcpy(&c->local, bind, dcgw_addr_len(bind));
    if (bind->sa_family == AF_INET)
        ((struct sockaddr_in *)&c->local)->sin_port =
            ((const struct sockaddr_in *)shared)->sin_port;
    else
        ((struct sockaddr_in6 *)&c->local)->sin6_port =
            ((const struct sockaddr_in6 *)shared)->sin6_port;
    if (g_hash_table_contains(net->by_addr, &c->local))
        return DCGW_EEXIST;
    g_hash_table_insert(net->by_addr, &c->local, c);
    c->net = net;
    return 0;
}

int dcgw_client_net_new(uv_loop_t *loop, int family, const struct dcgw_io_settings *st,
                        struct dcgw_client_net **out)
{
    if (family != AF_INET && family != AF_INET6)
        return DCGW_EINVAL;
    struct dcgw_client_net *net = calloc(1, sizeof(*net));
    if (!net)
        return DCGW_ENOMEM;
    struct sockaddr_storage any;
    memset(&any, 0, sizeof(any));
    any.ss_family = (sa_family_t)family; /* the wildcard address, an ephemeral port */
    struct dcgw_io_settings is = st ? *st : (struct dcgw_io_settings){.batch = 0};
    is.pktinfo = true;
    struct dcgw_io_cbs ic = {.ud = net, .on_datagram_to = net_datagram};
    int r = dcgw_io_new(loop, (struct sockaddr *)&any, &is, &ic, &net->io);
    if (r < 0) {
        free(net);
        return r;
    }
    net->by_addr = g_hash_table_new(net_addr_hash, net_addr_equal);
    *out = net;
    return 0;
}

void dcgw_client_net_set_poll_interval(struct dcgw_client_net *n, uint32_t ms)
{
    dcgw_io_set_poll_interval(n->io, ms);
}

uint64_t dcgw_client_net_unclaimed(const struct dcgw_client_net *n)
{
    return n->unclaimed;
}

void dcgw_client_net_free(struct dcgw_client_net *n)
{
    if (!n)
        return;
    dcgw_io_close(n->io);
    g_hash_table_destroy(n->by_addr);
    free(n);
}

/* ---- lifecycle */

int dcgw_client_new(uv_loop_t *loop, struct dcgw_dtls_ctx *ctx,
                    const struct dcgw_client_settings *s, const struct dcgw_client_cbs *cbs,
                    struct dcgw_client **out)
{
    if (!loop || !ctx || !s || !s->bind || s->n_dcmap > DCGW_CLIENT_DCMAP_MAX)
        return DCGW_EINVAL;
    struct dcgw_client *c = calloc(1, sizeof(*c));
    if (!c)
        return DCGW_ENOMEM;
    c->loop = loop;
    c->ctx = ctx;
    c->set = *s;
    if (s->n_dcmap)
        memcpy(c->dcmap, s->dcmap, s->n_dcmap * sizeof(*s->dcmap));
    c->set.dcmap = c->dcmap;
    if (!c->set.sctp_port)
        c->set.sctp_port = CLIENT_SCTP_PORT_DEFAULT;
    if (!c->set.streams)
        c->set.streams = DCGW_CLIENT_STREAMS_DEFAULT;
    if (!c->set.max_message_size)
        c->set.max_message_size = DCGW_MAX_MESSAGE_SIZE_DEFAULT;
    if (cbs)
        c->cbs = *cbs;
    c->timer_due = UINT64_MAX;
    RAND_bytes((unsigned char *)&c->tie_breaker, sizeof(c->tie_breaker));
    int r = dcgw_sdp_ice_credentials(c->ufrag, sizeof(c->ufrag), c->pwd, sizeof(c->pwd));
    if (r == 0)
        r = dcgw_sdp_tls_id(c->tls_id, sizeof(c->tls_id));
    if (r == 0)
        r = s->net ? net_join(s->net, c, s->bind) : own_socket(c, s);
    if (r < 0) {
        free(c);
        return r;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void dcgw_client_free(struct dcgw_client *c)
{
    if (!c)
        return;
    /* The association first (its ABORT still goes out through the socket). */
    dcgw_leg_free(c->leg);
    c->leg = NULL;
    if (c->net)
        g_hash_table_remove(c->net->by_addr, &c->local);
    else
        dcgw_io_close(c->io);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

struct dcgw_dc *dcgw_client_dc(const struct dcgw_client *c)
{
    return c->leg ? dcgw_leg_dc(c->leg) : NULL;
}

struct dcgw_leg *dcgw_client_leg(const struct dcgw_client *c)
{
    return c->leg;
}

const struct sockaddr *dcgw_client_local(const struct dcgw_client *c)
{
    return (const struct sockaddr *)&c->local;
}

bool dcgw_client_up(const struct dcgw_client *c)
{
    return c->up && !c->failed;
}

void dcgw_client_set_user(struct dcgw_client *c, void *user)
{
    c->user = user;
}

void *dcgw_client_user(const struct dcgw_client *c)
{
    return c->user;
}

/* ---- the process's SCTP timers */

static uint64_t tick_last;

static void on_tick(uv_timer_t *t)
{
    uint64_t now = uv_now(t->loop);
    dcgw_sctp_handle_timers((uint32_t)(now - tick_last));
    tick_last = now;
}

int dcgw_client_tick_start(uv_loop_t *loop, uv_timer_t *t)
{
    int r = dcgw_sctp_stack_init(NULL);
    if (r < 0)
        return r;
    uv_timer_init(loop, t);
    tick_last = uv_now(loop);
    uv_timer_start(t, on_tick, DCGW_SCTP_TIMER_TICK_MS, DCGW_SCTP_TIMER_TICK_MS);
    return 0;
}

void dcgw_client_tick_stop(uv_timer_t *t)
{
    uv_timer_stop(t);
    if (!uv_is_closing((uv_handle_t *)t))
        uv_close((uv_handle_t *)t, NULL);
}
