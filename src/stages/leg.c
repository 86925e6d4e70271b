#include "dcgw/stages/leg.h"

#include <stdlib.h>
#include <string.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/demux.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/ice.h"
#include "dcgw/base/log.h"

struct dcgw_leg {
    struct dcgw_leg_cbs cbs;
    enum dcgw_leg_ice_role role;
    enum dcgw_leg_state state;
    bool dtls_client, dtls_started, failed_reported;
    struct dcgw_ice_lite *lite;
    struct dcgw_ice_client *client;
    struct dcgw_dtls *dtls;
    struct dcgw_dc *dc;
    struct dcgw_dc_callbacks dc_cbs;   /* the owner's */
    struct sockaddr_storage candidate; /* controlling: the peer's address */
    struct sockaddr_storage dtls_peer; /* lite: where DTLS goes before nomination */
    bool has_dtls_peer;
    struct dcgw_demux_stats demux;
    struct dcgw_leg_stats stats;
    uint64_t now; /* time of the call in progress, for callbacks that need it */
    uint32_t setup_timeout_ms;
    uint64_t setup_deadline; /* UINT64_MAX once connected, or when there is none */
    uint64_t dtls_mark;      /* DTLS datagrams in + out at the last STUN message */
    bool dtls_trimmed;       /* the DTLS record buffers were given back since */
};

static void fail(struct dcgw_leg *leg, enum dcgw_leg_cause cause, int err, const char *reason)
{
    if (leg->failed_reported)
        return;
    leg->failed_reported = true;
    leg->state = cause == DCGW_LEG_CAUSE_PEER_CLOSED ? DCGW_LEG_CLOSED : DCGW_LEG_FAILED;
    if (leg->cbs.on_failed)
        leg->cbs.on_failed(leg->cbs.ud, cause, err, reason);
}

const struct sockaddr *dcgw_leg_peer(const struct dcgw_leg *leg)
{
    if (leg->role == DCGW_LEG_ICE_CONTROLLING)
        return (const struct sockaddr *)&leg->candidate;
    const struct sockaddr *sel = dcgw_ice_lite_peer(leg->lite);
    if (sel)
        return sel;
    return leg->has_dtls_peer ? (const struct sockaddr *)&leg->dtls_peer : NULL;
}

static void start_dtls(struct dcgw_leg *leg)
{
    if (leg->dtls_started || leg->failed_reported)
        return;
    leg->dtls_started = true;
    leg->state = DCGW_LEG_DTLS;
    dcgw_dtls_start(leg->dtls, leg->now);
}

/* ---- ICE callbacks */

static void ice_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct dcgw_leg *leg = ud;
    leg->cbs.send(leg->cbs.ud, to, p, n);
}

static void lite_selected(void *ud, const struct sockaddr *peer)
{
    struct dcgw_leg *leg = ud;
    char a[DCGW_ADDR_STRLEN];
    DCGW_DEBUG(ICE, "nominated %s", dcgw_addr_format(peer, a, sizeof(a)));
    start_dtls(leg);
}

static void lite_consent_lost(void *ud)
{
    struct dcgw_leg *leg = ud;
    if (leg->cbs.on_consent_lost)
        leg->cbs.on_consent_lost(leg->cbs.ud, dcgw_leg_peer(leg));
    fail(leg, DCGW_LEG_CAUSE_CONSENT_LOST, DCGW_ETIMEOUT, "ICE consent lost (RFC 7675)");
}

static void client_connected(void *ud, const struct sockaddr *mapped)
{
    (void)mapped;
    start_dtls(ud);
}

static void client_failed(void *ud)
{
    fail(ud, DCGW_LEG_CAUSE_ICE_FAILED, DCGW_ETIMEOUT,
         "ICE failed: connectivity checks unanswered");
}

static void client_consent_lost(void *ud)
{
    struct dcgw_leg *leg = ud;
    if (leg->cbs.on_consent_lost)
        leg->cbs.on_consent_lost(leg->cbs.ud, dcgw_leg_peer(leg));
    fail(leg, DCGW_LEG_CAUSE_CONSENT_LOST, DCGW_ETIMEOUT, "ICE consent lost (RFC 7675)");
}

/* ---- DTLS callbacks */

static void dtls_send(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_leg *leg = ud;
    const struct sockaddr *to = dcgw_leg_peer(leg);
    if (to)
        leg->cbs.send(leg->cbs.ud, to, p, n);
}

static void dtls_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    struct dcgw_leg *leg = ud;
    leg->state = DCGW_LEG_CONNECTED;
    leg->setup_deadline = UINT64_MAX;
    if (leg->cbs.on_connected)
        leg->cbs.on_connected(leg->cbs.ud, fp);
    if (leg->dc && !leg->failed_reported)
        dcgw_dc_connect(leg->dc);
}

static void dtls_data(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_leg *leg = ud;
    if (leg->dc)
        dcgw_dc_input(leg->dc, p, n);
    else if (leg->cbs.on_data)
        leg->cbs.on_data(leg->cbs.ud, p, n);
}

/* ---- data-channel callbacks: packets go over DTLS, the rest to the owner */

static void dc_send_packet(void *ud, const uint8_t *p, size_t n)
{
    struct dcgw_leg *leg = ud;
    if (leg->state == DCGW_LEG_CONNECTED)
        dcgw_dtls_send(leg->dtls, p, n);
}

#define OWNER(leg, cb) ((leg)->dc_cbs.cb)

static void dc_connected(void *ud)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_connected))
        OWNER(leg, on_connected)(leg->dc_cbs.ud);
}

static bool dc_open_request(void *ud, const struct dcgw_dc_channel *ch)
{
    struct dcgw_leg *leg = ud;
    return OWNER(leg, on_open_request) ? OWNER(leg, on_open_request)(leg->dc_cbs.ud, ch) : true;
}

static void dc_channel_open(void *ud, struct dcgw_dc_channel *ch)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_channel_open))
        OWNER(leg, on_channel_open)(leg->dc_cbs.ud, ch);
}

static void dc_message(void *ud, struct dcgw_dc_channel *ch, bool is_text, const uint8_t *p,
                       size_t n)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_message))
        OWNER(leg, on_message)(leg->dc_cbs.ud, ch, is_text, p, n);
}

static void dc_channel_closed(void *ud, struct dcgw_dc_channel *ch)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_channel_closed))
        OWNER(leg, on_channel_closed)(leg->dc_cbs.ud, ch);
}

static void dc_writable(void *ud)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_writable))
        OWNER(leg, on_writable)(leg->dc_cbs.ud);
}

static void dc_closed(void *ud)
{
    struct dcgw_leg *leg = ud;
    if (OWNER(leg, on_closed))
        OWNER(leg, on_closed)(leg->dc_cbs.ud);
}

static int make_dc(struct dcgw_leg *leg, const struct dcgw_leg_settings *s)
{
    struct dcgw_dc_settings ds = *s->dc;
    ds.dtls_client = s->dtls_client;
    if (s->dc_cbs)
        leg->dc_cbs = *s->dc_cbs;
    struct dcgw_dc_callbacks cbs = {.ud = leg,
                                    .send_packet = dc_send_packet,
                                    .on_connected = dc_connected,
                                    .on_open_request = dc_open_request,
                                    .on_channel_open = dc_channel_open,
                                    .on_message = dc_message,
                                    .on_channel_closed = dc_channel_closed,
                                    .on_writable = dc_writable,
                                    .on_closed = dc_closed};
    return dcgw_dc_new(&ds, &cbs, &leg->dc);
}

static void dtls_failed(void *ud, int err, const char *reason)
{
    fail(ud, DCGW_LEG_CAUSE_DTLS, err, reason);
}

static void dtls_closed(void *ud)
{
    fail(ud, DCGW_LEG_CAUSE_PEER_CLOSED, DCGW_ECLOSED, "peer sent close_notify");
}

/* The largest record a data-channel leg writes: one SCTP packet, at most the association's
 * MTU. usrsctp sends past it only an INIT-ACK or a COOKIE-ECHO, each the size of what the
 * peer sent (its INIT, its cookie) plus a few hundred bytes; a datagram above 4 KiB is
 * neither received nor sent by the worker's I/O anyway (DCGW_IO_SLOT). Anything above is
 * refused by the DTLS stage (DCGW_ETOOBIG). */
static unsigned packet_max(const struct dcgw_dc_settings *dc)
{
    enum { CONTROL_MAX = 4096 };
    unsigned mtu = dc->sctp.mtu ? dc->sctp.mtu : DCGW_SCTP_MTU_DEFAULT;
    return mtu > CONTROL_MAX ? mtu : CONTROL_MAX;
}

int dcgw_leg_new(struct dcgw_dtls_ctx *ctx, const struct dcgw_leg_settings *s,
                 const struct dcgw_leg_cbs *cbs, struct dcgw_leg **out)
{
    if (!cbs->send || s->n_remote_fps == 0 ||
        (s->ice_role == DCGW_LEG_ICE_CONTROLLING && !s->remote_candidate))
        return DCGW_EINVAL;
    struct dcgw_leg *leg = calloc(1, sizeof(*leg));
    if (!leg)
        return DCGW_ENOMEM;
    leg->cbs = *cbs;
    leg->role = s->ice_role;
    leg->dtls_client = s->dtls_client;
    leg->state = DCGW_LEG_ICE;
    leg->setup_timeout_ms = s->setup_timeout_ms;
    leg->setup_deadline = UINT64_MAX;
    int r;
    if (s->ice_role == DCGW_LEG_ICE_LITE) {
        struct dcgw_ice_lite_settings is;
        dcgw_ice_lite_settings_default(&is);
        is.local_ufrag = s->local_ufrag;
        is.local_pwd = s->local_pwd;
        is.remote_ufrag = s->remote_ufrag;
        is.remote_pwd = s->remote_pwd;
        is.consent_timeout_ms = s->consent_timeout_ms;
        struct dcgw_ice_cbs ic = {.ud = leg,
                                  .send = ice_send,
                                  .on_selected = lite_selected,
                                  .on_consent_lost = lite_consent_lost};
        r = dcgw_ice_lite_new(&is, &ic, &leg->lite);
    } else {
        memcpy(&leg->candidate, s->remote_candidate, dcgw_addr_len(s->remote_candidate));
        struct dcgw_ice_client_settings cs;
        dcgw_ice_client_settings_default(&cs);
        cs.local_ufrag = s->local_ufrag;
        cs.local_pwd = s->local_pwd;
        cs.remote_ufrag = s->remote_ufrag;
        cs.remote_pwd = s->remote_pwd;
        cs.consent_timeout_ms = s->consent_timeout_ms;
        struct dcgw_ice_client_cbs cc = {.ud = leg,
                                         .send = ice_send,
                                         .on_connected = client_connected,
                                         .on_failed = client_failed,
                                         .on_consent_lost = client_consent_lost};
        r = dcgw_ice_client_new(&cs, &cc, &leg->client);
    }
    if (r == 0) {
        struct dcgw_dtls_settings ds = {
            .client = s->dtls_client,
            .remote_fps = s->remote_fps,
            .n_remote_fps = s->n_remote_fps,
            .min_hash = s->min_hash,
            .mtu = s->dtls_mtu,
            .max_plaintext = s->dc ? packet_max(s->dc) : 0,
            .initial_timeout_ms = s->dtls_initial_timeout_ms,
            .srtp_profiles = s->srtp_profiles,
        };
        struct dcgw_dtls_callbacks dc = {.ud = leg,
                                         .send = dtls_send,
                                         .on_connected = dtls_connected,
                                         .on_data = dtls_data,
                                         .on_failed = dtls_failed,
                                         .on_closed = dtls_closed};
        r = dcgw_dtls_new(ctx, &ds, &dc, &leg->dtls);
    }
    if (r == 0 && s->dc)
        r = make_dc(leg, s);
    if (r < 0) {
        dcgw_leg_free(leg);
        return r;
    }
    *out = leg;
    return 0;
}

int dcgw_leg_start(struct dcgw_leg *leg, uint64_t now_ms)
{
    leg->now = now_ms;
    if (leg->setup_timeout_ms)
        leg->setup_deadline = now_ms + leg->setup_timeout_ms;
    if (leg->role == DCGW_LEG_ICE_CONTROLLING)
        return dcgw_ice_client_start(leg->client, (struct sockaddr *)&leg->candidate, now_ms);
    return 0;
}

bool dcgw_leg_knows(const struct dcgw_leg *leg, const struct sockaddr *addr)
{
    if (leg->role == DCGW_LEG_ICE_CONTROLLING)
        return dcgw_addr_equal(addr, (const struct sockaddr *)&leg->candidate);
    return dcgw_ice_lite_addr_known(leg->lite, addr);
}

static int input_dtls(struct dcgw_leg *leg, const struct sockaddr *from, const uint8_t *p, size_t n)
{
    if (!dcgw_leg_knows(leg, from)) {
        /* RFC 8445 §7.3 / DESIGN §3: DTLS only from an ICE-validated address. */
        leg->stats.rx_dropped_unknown_source++;
        return DCGW_EAUTH;
    }
    leg->stats.rx_dtls++;
    if (leg->role == DCGW_LEG_ICE_LITE && !dcgw_ice_lite_peer(leg->lite)) {
        /* A validated address may start DTLS before it nominates (regular nomination). */
        memcpy(&leg->dtls_peer, from, dcgw_addr_len(from));
        leg->has_dtls_peer = true;
    }
    if (!leg->dtls_client)
        start_dtls(leg); /* a server waits for the first ClientHello */
    if (!leg->dtls_started)
        return DCGW_ESTATE;
    return dcgw_dtls_recv(leg->dtls, p, n, leg->now);
}

/* RFC 7983 §7: RTP/RTCP, SRTP-protected: only from the validated address, only once DTLS
 * has keyed it (RFC 5764 §5.1.2: before that nothing can be authenticated). */
static int input_media(struct dcgw_leg *leg, const struct sockaddr *from, const uint8_t *p,
                       size_t n)
{
    if (!dcgw_leg_knows(leg, from)) {
        leg->stats.rx_dropped_unknown_source++;
        return DCGW_EAUTH;
    }
    if (leg->state != DCGW_LEG_CONNECTED || !leg->cbs.on_media) {
        leg->stats.rx_dropped_media++;
        return DCGW_ESTATE;
    }
    leg->stats.rx_media++;
    leg->cbs.on_media(leg->cbs.ud, p, n);
    return 0;
}

/* A connectivity check or its answer with no DTLS datagram since the previous one: the
 * leg is idle (RFC 7675 consent: every ~5 s from a WebRTC peer, answers included), and
 * its DTLS record buffers go back until the next record (issue 17: about 35 KiB per leg
 * held by idle sessions). Busy legs never pay a malloc per record for it. */
static void trim_if_idle(struct dcgw_leg *leg)
{
    if (leg->state != DCGW_LEG_CONNECTED)
        return;
    const struct dcgw_dtls_stats *st = dcgw_dtls_stats(leg->dtls);
    uint64_t mark = st->datagrams_in + st->datagrams_out;
    if (mark != leg->dtls_mark)
        leg->dtls_trimmed = false;
    else if (!leg->dtls_trimmed)
        leg->dtls_trimmed = dcgw_dtls_trim(leg->dtls);
    leg->dtls_mark = mark;
}

int dcgw_leg_input(struct dcgw_leg *leg, const struct sockaddr *from, const uint8_t *p, size_t n,
                   uint64_t now_ms)
{
    leg->now = now_ms;
    if (leg->failed_reported)
        return DCGW_ECLOSED;
    switch (dcgw_demux_packet(&leg->demux, p, n)) {
    case DCGW_DEMUX_STUN: {
        leg->stats.rx_stun++;
        int r = leg->lite ? dcgw_ice_lite_recv(leg->lite, from, p, n, now_ms)
                          : dcgw_ice_client_recv(leg->client, from, p, n, now_ms);
        if (r < 0)
            leg->stats.rx_rejected_stun++;
        else
            trim_if_idle(leg);
        return r;
    }
    case DCGW_DEMUX_DTLS:
        return input_dtls(leg, from, p, n);
    case DCGW_DEMUX_RTP:
        return input_media(leg, from, p, n);
    default:
        leg->stats.rx_dropped_garbage++;
        return DCGW_EMALFORMED;
    }
}

int dcgw_leg_send_media(struct dcgw_leg *leg, const uint8_t *p, size_t n)
{
    const struct sockaddr *to = dcgw_leg_peer(leg);
    if (leg->state != DCGW_LEG_CONNECTED || !to) {
        leg->stats.tx_media_dropped++;
        return DCGW_ESTATE;
    }
    leg->stats.tx_media++;
    leg->cbs.send(leg->cbs.ud, to, p, n);
    return 0;
}

int dcgw_leg_send_data(struct dcgw_leg *leg, const uint8_t *p, size_t n)
{
    if (leg->state != DCGW_LEG_CONNECTED)
        return DCGW_ESTATE;
    return dcgw_dtls_send(leg->dtls, p, n);
}

uint64_t dcgw_leg_next_timeout(const struct dcgw_leg *leg)
{
    if (leg->failed_reported)
        return UINT64_MAX;
    uint64_t t = leg->lite ? dcgw_ice_lite_next_timeout(leg->lite)
                           : dcgw_ice_client_next_timeout(leg->client);
    if (leg->dtls_started) {
        uint64_t d = dcgw_dtls_next_timeout(leg->dtls);
        if (d < t)
            t = d;
    }
    return leg->setup_deadline < t ? leg->setup_deadline : t;
}

void dcgw_leg_handle_timeout(struct dcgw_leg *leg, uint64_t now_ms)
{
    leg->now = now_ms;
    if (leg->failed_reported)
        return;
    if (now_ms >= leg->setup_deadline) {
        fail(leg, DCGW_LEG_CAUSE_SETUP_TIMEOUT, DCGW_ETIMEOUT,
             "ICE and DTLS not completed within the setup timeout");
        return;
    }
    if (leg->lite)
        dcgw_ice_lite_handle_timeout(leg->lite, now_ms);
    else
        dcgw_ice_client_handle_timeout(leg->client, now_ms);
    if (leg->dtls_started && !leg->failed_reported)
        dcgw_dtls_handle_timeout(leg->dtls, now_ms);
}

enum dcgw_leg_state dcgw_leg_state(const struct dcgw_leg *leg)
{
    return leg->state;
}

struct dcgw_dc *dcgw_leg_dc(const struct dcgw_leg *leg)
{
    return leg->dc;
}

struct dcgw_dtls *dcgw_leg_dtls(const struct dcgw_leg *leg)
{
    return leg->dtls;
}

const struct dcgw_leg_stats *dcgw_leg_stats(const struct dcgw_leg *leg)
{
    return &leg->stats;
}

void dcgw_leg_close(struct dcgw_leg *leg)
{
    if (leg->state == DCGW_LEG_CLOSED)
        return;
    /* A failed leg has said its last word; after lost consent it must not send at all
     * (RFC 7675 §5.1), so no close_notify then. */
    if (leg->dtls && !leg->failed_reported)
        dcgw_dtls_close(leg->dtls);
    leg->failed_reported = true;
    leg->state = DCGW_LEG_CLOSED;
}

void dcgw_leg_free(struct dcgw_leg *leg)
{
    if (!leg)
        return;
    /* The association first: an ABORT it sends still needs the DTLS stage. */
    dcgw_dc_free(leg->dc);
    dcgw_dtls_free(leg->dtls);
    dcgw_ice_lite_free(leg->lite);
    dcgw_ice_client_free(leg->client);
    free(leg);
}
