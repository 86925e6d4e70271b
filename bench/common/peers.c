/* Two peers through a dcgwd session: see peers.h. */
#include "peers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"

uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void die(const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
            err < 0 ? dcgw_strerror(err) : strerror(errno));
    exit(1);
}

/* ---- peers */

static void leg_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    if (pe->quiet)
        return;
    if (pe->capture && n <= PEER_SLOT && n > 13 && p[0] == 23) {
        memcpy(pe->record, p, n);
        pe->record_n = n;
        pe->capture = false;
    }
    if (n && p[0] <= 3) {
        pe->sent_stun++;
    } else if (n && p[0] == 23) {
        pe->sent_app++;
        pe->sent_app_bytes += n;
    } else {
        pe->sent_other++;
    }
    sendto(pe->fd, p, n, 0, to, dcgw_addr_len(to));
}

static void leg_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    (void)fp;
    ((struct peer *)ud)->connected = true;
}

static void leg_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    (void)cause;
    struct peer *pe = ud;
    fprintf(stderr, "%s: peer %s: %s (%s)\n", program_invocation_short_name, pe->name, reason,
            dcgw_err_name(err));
    pe->failed = true;
}

/* relay_check's messages: 8-byte index, then bytes (index + i) up to the length. */
static void leg_data(void *ud, const uint8_t *p, size_t n)
{
    struct peer *pe = ud;
    pe->got++;
    pe->got_bytes += n;
    if (n < 8) {
        pe->got_bad++;
        return;
    }
    uint64_t seq;
    memcpy(&seq, p, 8);
    bool ok = seq == pe->expect_seq;
    for (size_t i = 8; i < n && ok; i++)
        ok = p[i] == (uint8_t)(seq + i);
    pe->got_bad += !ok;
    pe->expect_seq = seq + 1;
}

void peer_init(struct peer *pe, const char *name, const char *host)
{
    memset(pe, 0, sizeof(*pe));
    pe->name = name;
    struct sockaddr_storage any;
    char where[64];
    snprintf(where, sizeof(where), "%s:0", host);
    if (dcgw_addr_parse(where, &any) < 0)
        die("peer address", DCGW_EINVAL);
    pe->fd = socket(any.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    socklen_t len = sizeof(pe->addr);
    int buf = 8 << 20;
    if (pe->fd < 0 ||
        bind(pe->fd, (struct sockaddr *)&any, dcgw_addr_len((struct sockaddr *)&any)) < 0 ||
        getsockname(pe->fd, (struct sockaddr *)&pe->addr, &len) < 0)
        die("socket", 0);
    setsockopt(pe->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    setsockopt(pe->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    int r = dcgw_cert_new(NULL, &pe->cert);
    struct dcgw_dtls_ctx_settings cs = {.cert = pe->cert};
    if (r < 0 || (r = dcgw_dtls_ctx_new(&cs, &pe->ctx)) < 0 ||
        (r = dcgw_sdp_ice_credentials(pe->ufrag, sizeof(pe->ufrag), pe->pwd, sizeof(pe->pwd))) < 0)
        die("peer", r);
}

void peer_free(struct peer *pe)
{
    dcgw_srtp_free(pe->tx);
    dcgw_srtp_free(pe->rx);
    dcgw_leg_free(pe->leg);
    dcgw_dtls_ctx_free(pe->ctx);
    dcgw_cert_unref(pe->cert);
    close(pe->fd);
}

/* The peer's side of the SDP, dcgw_sdp_local style; fp_of: whose fingerprint it shows. */
static void peer_local(const struct peer *pe, const struct dcgw_cert *fp_of,
                       struct dcgw_sdp_local *loc, enum dcgw_sdp_setup setup)
{
    dcgw_sdp_local_init(loc);
    loc->sess_id = 1;
    snprintf(loc->ice_ufrag, sizeof(loc->ice_ufrag), "%s", pe->ufrag);
    snprintf(loc->ice_pwd, sizeof(loc->ice_pwd), "%s", pe->pwd);
    loc->n_addrs = 1;
    loc->addrs[0] = pe->addr;
    loc->n_fingerprints = 1;
    dcgw_cert_fingerprint(fp_of, DCGW_HASH_SHA256, &loc->fingerprints[0]);
    loc->setup = setup;
}

void peer_start(struct peer *pe, const struct dcgw_sdp *dcgw_sdp,
                const struct dcgw_fingerprint *expect)
{
    const struct dcgw_sdp_dc *dc = &dcgw_sdp->dc;
    if (dc->n_candidates == 0)
        die("dcgw's SDP has no candidate", DCGW_ESDP);
    /* dcgw passes the other peer's a=setup through: it is the other end's DTLS role */
    bool client = dc->setup == DCGW_SDP_SETUP_PASSIVE || dc->setup == DCGW_SDP_SETUP_ACTPASS;
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = pe->ufrag,
        .local_pwd = pe->pwd,
        .remote_ufrag = dc->ice_ufrag,
        .remote_pwd = dc->ice_pwd,
        .remote_candidate = (const struct sockaddr *)&dc->candidates[0].addr,
        .dtls_client = client,
        .remote_fps = expect ? expect : dc->fingerprints,
        .n_remote_fps = expect ? 1 : dc->n_fingerprints,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 100,
        .srtp_profiles = pe->srtp_profiles,
    };
    struct dcgw_leg_cbs cbs = {.ud = pe,
                               .send = leg_send,
                               .on_connected = leg_connected,
                               .on_failed = leg_failed,
                               .on_data = leg_data};
    int r = dcgw_leg_new(pe->ctx, &ls, &cbs, &pe->leg);
    if (r < 0 || (r = dcgw_leg_start(pe->leg, now_us() / 1000)) < 0)
        die("leg", r);
}

/* Starts pe's leg toward dcgw's SDP, bound to other's certificate. */
static void peer_start_to(struct peer *pe, const struct dcgw_sdp *dcgw_sdp,
                          const struct peer *other)
{
    struct dcgw_fingerprint fp;
    dcgw_cert_fingerprint(other->cert, DCGW_HASH_SHA256, &fp);
    peer_start(pe, dcgw_sdp, &fp);
}

bool handshaken(struct peer *p[2])
{
    return p[0]->connected && p[1]->connected;
}

void handshake(struct peer *p[2], unsigned ms)
{
    pump(p, ms, handshaken);
    if (!handshaken(p))
        die("the handshakes did not complete", DCGW_ETIMEOUT);
}

static bool captured(struct peer *p[2])
{
    return p[0]->record_n && p[1]->record_n;
}

void pump(struct peer *p[2], unsigned ms, bool (*done)(struct peer *p[2]))
{
    uint64_t end = now_us() + (uint64_t)ms * 1000;
    uint8_t buf[PEER_SLOT];
    while (now_us() < end) {
        struct pollfd pfd[2] = {{.fd = p[0]->fd, .events = POLLIN},
                                {.fd = p[1]->fd, .events = POLLIN}};
        poll(pfd, 2, 5);
        for (int k = 0; k < 2; k++) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n;
            while ((n = recvfrom(p[k]->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >
                   0) {
                bool rtp = buf[0] >= 128 && buf[0] <= 191; /* the media bench's, late */
                if (p[k]->leg && !p[k]->quiet && !rtp)
                    dcgw_leg_input(p[k]->leg, (struct sockaddr *)&from, buf, (size_t)n,
                                   now_us() / 1000);
                fl = sizeof(from);
            }
            uint64_t t = now_us() / 1000;
            if (p[k]->leg && !p[k]->quiet && dcgw_leg_next_timeout(p[k]->leg) <= t)
                dcgw_leg_handle_timeout(p[k]->leg, t);
        }
        if ((done && done(p)) || p[0]->failed || p[1]->failed)
            return;
    }
}

void capture_records(struct peer *p[2], size_t size)
{
    static uint8_t payload[PEER_SLOT];
    for (int k = 0; k < 2; k++) {
        p[k]->capture = true;
        memset(payload, 0, 8); /* index 0: relay_check's on_data takes it as message 0 */
        for (size_t i = 8; i < size - 29; i++)
            payload[i] = (uint8_t)i;
        dcgw_leg_send_data(p[k]->leg, payload, size - 29);
    }
    pump(p, 1000, captured);
    if (!captured(p))
        die("no application data record captured", DCGW_ESTATE);
}

/* ---- control */

struct dcgw_ctlclient *ctl_connect(const char *socket)
{
    struct dcgw_ctlclient_opts co = {.socket = socket};
    struct dcgw_ctlclient *c;
    char err[256];
    if (dcgw_ctlclient_connect(&co, &c, err, sizeof(err)) < 0)
        die(err, DCGW_EIO);
    return c;
}

Dcgw__Response *ctl_call(struct dcgw_ctlclient *c, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    int r = dcgw_ctlclient_call(c, req, &resp, 10000);
    if (r < 0)
        die("control", r);
    if (resp->error) {
        fprintf(stderr, "%s: dcgw: %s: %s\n", program_invocation_short_name, resp->error->name,
                resp->error->message ? resp->error->message : "");
        exit(1);
    }
    return resp;
}

void ctl_local_sdp(const Dcgw__Response *resp, const char *leg, struct dcgw_sdp *out)
{
    char err[256];
    for (size_t i = 0; resp->session && i < resp->session->n_legs; i++) {
        const Dcgw__Leg *l = resp->session->legs[i];
        if (strcmp(l->name, leg) == 0 && l->dc && l->dc->local_sdp) {
            int r =
                dcgw_sdp_parse(l->dc->local_sdp, strlen(l->dc->local_sdp), out, err, sizeof(err));
            if (r < 0)
                die(err, r);
            return;
        }
    }
    die("no local SDP for a leg", DCGW_ENOENT);
}

Dcgw__Response *ctl_create(struct dcgw_ctlclient *c, const char *id, bool relay, char *sdp_ue,
                           char *sdp_as, Dcgw__Policy *policy)
{
    Dcgw__DcMedia dc[2] = {DCGW__DC_MEDIA__INIT, DCGW__DC_MEDIA__INIT};
    Dcgw__Leg legs[2] = {DCGW__LEG__INIT, DCGW__LEG__INIT}, *lp[2] = {&legs[0], &legs[1]};
    char *sdp[2] = {sdp_ue, sdp_as};
    for (int k = 0; k < 2; k++) {
        dc[k].has_mode = 1;
        dc[k].mode = relay ? DCGW__MEDIA_MODE__MODE_RELAY : DCGW__MEDIA_MODE__MODE_TERMINATE;
        dc[k].remote_sdp = sdp[k];
        legs[k].name = k ? "as" : "ue";
        legs[k].dc = &dc[k];
        legs[k].has_role = 1;
        legs[k].role = sdp[k] ? DCGW__LEG_ROLE__ROLE_ANSWER : DCGW__LEG_ROLE__ROLE_OFFER;
    }
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = (char *)id;
    s.legs = lp;
    s.n_legs = 2;
    s.policy = policy;
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    return ctl_call(c, &req);
}

Dcgw__Response *ctl_answer(struct dcgw_ctlclient *c, const char *id, const char *leg, char *sdp)
{
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = (char *)id;
    up.leg = (char *)leg;
    up.remote_sdp = sdp;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    req.update_session = &up;
    return ctl_call(c, &req);
}

void setup_relay(struct dcgw_ctlclient *c, const char *id, struct peer *a, struct peer *b,
                 bool forge)
{
    char *text = malloc(DCGW_SDP_TEXT_MAX);
    struct dcgw_sdp *sdp = malloc(sizeof(*sdp));
    struct dcgw_sdp_local loc;
    peer_local(a, a->cert, &loc, DCGW_SDP_SETUP_ACTPASS);
    int n = text && sdp ? dcgw_sdp_write_offer(&loc, text, DCGW_SDP_TEXT_MAX) : DCGW_ENOMEM;
    if (n < 0)
        die("offer", n);
    Dcgw__Response *resp = ctl_create(c, id, true, text, NULL, NULL);
    ctl_local_sdp(resp, "as", sdp); /* dcgw's offer to B: dcgw's ICE, A's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    struct dcgw_cert *shown = b->cert, *other = NULL;
    if (forge) {
        if (dcgw_cert_new(NULL, &other) < 0)
            die("certificate", DCGW_ENOMEM);
        shown = other;
    }
    peer_local(b, shown, &loc, DCGW_SDP_SETUP_ACTIVE);
    if ((n = dcgw_sdp_write_answer(sdp, &loc, text, DCGW_SDP_TEXT_MAX)) < 0)
        die("answer", n);
    dcgw_cert_unref(other);
    peer_start_to(b, sdp, a);
    resp = ctl_answer(c, id, "as", text);
    ctl_local_sdp(resp, "ue", sdp); /* dcgw's answer to A: dcgw's ICE, B's DTLS identity */
    dcgw__response__free_unpacked(resp, NULL);
    peer_start_to(a, sdp, b);
    free(sdp);
    free(text);
}

int relay_counts(struct dcgw_ctlclient *c, const char *id, struct relay_counts *out)
{
    memset(out, 0, sizeof(*out));
    Dcgw__GetSession gs = DCGW__GET_SESSION__INIT;
    gs.id = (char *)id;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_SESSION;
    req.get_session = &gs;
    Dcgw__Response *resp = ctl_call(c, &req);
    int r = DCGW_ENOENT;
    for (size_t i = 0; resp->session && i < resp->session->n_legs && i < 2; i++) {
        const Dcgw__Leg *l = resp->session->legs[i];
        const Dcgw__RelayCounters *rc = l->dc ? l->dc->relay : NULL;
        if (!rc)
            continue;
        int k = strcmp(l->name, "ue") == 0 ? 0 : 1;
        out->rx[k] = rc->rx_packets;
        out->fast[k] = rc->fast_packets;
        out->fast_bytes[k] = rc->fast_bytes;
        out->fast_rate[k] = rc->fast_dropped_rate;
        out->forwarded[k] = rc->forwarded_packets;
        out->stun[k] = rc->stun;
        out->dropped_blocked[k] = rc->dropped_blocked;
        out->fast_on = rc->fast_path;
        r = 0;
    }
    dcgw__response__free_unpacked(resp, NULL);
    return r;
}

static Dcgw__Response *get_stats(struct dcgw_ctlclient *c)
{
    Dcgw__GetStats gs = DCGW__GET_STATS__INIT;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_STATS;
    req.get_stats = &gs;
    return ctl_call(c, &req);
}

uint64_t stat_counter(struct dcgw_ctlclient *c, const char *name)
{
    Dcgw__Response *resp = get_stats(c);
    uint64_t v = 0;
    for (size_t i = 0; i < resp->stats->n_workers; i++)
        for (size_t j = 0; j < resp->stats->workers[i]->n_counters; j++)
            if (strcmp(resp->stats->workers[i]->counters[j]->name, name) == 0)
                v += resp->stats->workers[i]->counters[j]->value;
    dcgw__response__free_unpacked(resp, NULL);
    return v;
}

uint64_t daemon_cpu(struct dcgw_ctlclient *c)
{
    Dcgw__Response *resp = get_stats(c);
    uint64_t us = 0;
    for (size_t i = 0; i < resp->stats->n_workers; i++)
        us += resp->stats->workers[i]->cpu_user_us + resp->stats->workers[i]->cpu_system_us;
    dcgw__response__free_unpacked(resp, NULL);
    return us;
}

void update_relay(struct dcgw_ctlclient *c, const char *id, uint32_t pps, uint32_t bps,
                  uint32_t burst_ms)
{
    Dcgw__RelaySettings rs = DCGW__RELAY_SETTINGS__INIT;
    rs.has_max_packets_per_s = rs.has_max_bytes_per_s = 1;
    rs.max_packets_per_s = pps;
    rs.max_bytes_per_s = bps;
    rs.has_burst_ms = burst_ms != 0;
    rs.burst_ms = burst_ms;
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = (char *)id;
    up.relay = &rs;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    req.update_session = &up;
    dcgw__response__free_unpacked(ctl_call(c, &req), NULL);
}

void close_session(struct dcgw_ctlclient *c, const char *id)
{
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    cl.id = (char *)id;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    req.close_session = &cl;
    dcgw__response__free_unpacked(ctl_call(c, &req), NULL);
}

void update_policy(struct dcgw_ctlclient *c, const char *id)
{
    Dcgw__Policy pol = DCGW__POLICY__INIT;
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = (char *)id;
    up.policy = &pol;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    req.update_session = &up;
    dcgw__response__free_unpacked(ctl_call(c, &req), NULL);
}
