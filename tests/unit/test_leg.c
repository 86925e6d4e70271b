/* A terminated leg (ICE-lite + DTLS) against dcgw's own client leg (ICE controlling +
 * DTLS), back to back in memory with loss, duplication and reordering; no sockets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/base/addr.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/stages/leg.h"
#include "dcgw/stages/srtp.h"
#include "helper_lossy.h"
#include "helper_suite.h"

struct end {
    struct dcgw_leg *leg;
    struct lossy_link *out; /* what this end sends */
    struct sockaddr_storage addr;
    int connected, failed, fail_err, consent_lost;
    enum dcgw_leg_cause fail_cause;
    struct dcgw_fingerprint matched;
    char reason[256];
    uint8_t got[4096];
    size_t got_n;
    unsigned media; /* datagrams on_media got; the last in last */
    uint8_t last[2048];
    size_t last_n;
    uint8_t stun[1500]; /* the last STUN message this end sent */
    size_t stun_n;
};

/* use_srtp profiles of both legs of the next setup(); on_media set when not NULL */
static const char *pair_srtp;

static void on_media(void *ud, const uint8_t *p, size_t n)
{
    struct end *e = ud;
    e->media++;
    memcpy(e->last, p, n < sizeof(e->last) ? n : sizeof(e->last));
    e->last_n = n;
}

static void on_send(void *ud, const struct sockaddr *to, const uint8_t *p, size_t n)
{
    (void)to;
    struct end *e = ud;
    if (n >= 20 && p[0] < 2 && n <= sizeof(e->stun)) { /* RFC 7983: 0..3 is STUN */
        memcpy(e->stun, p, n);
        e->stun_n = n;
    }
    lossy_send(e->out, p, n);
}

static void on_connected(void *ud, const struct dcgw_fingerprint *fp)
{
    struct end *e = ud;
    e->connected++;
    e->matched = *fp;
}

static void on_failed(void *ud, enum dcgw_leg_cause cause, int err, const char *reason)
{
    struct end *e = ud;
    e->failed++;
    e->fail_cause = cause;
    e->fail_err = err;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void on_consent_lost(void *ud, const struct sockaddr *peer)
{
    (void)peer;
    ((struct end *)ud)->consent_lost++;
}

static void on_data(void *ud, const uint8_t *p, size_t n)
{
    struct end *e = ud;
    if (e->got_n + n <= sizeof(e->got)) {
        memcpy(e->got + e->got_n, p, n);
        e->got_n += n;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct deliver_ctx {
    struct end *to, *from;
};

static void deliver(void *ud, const uint8_t *p, size_t n)
{
    struct deliver_ctx *d = ud;
    dcgw_leg_input(d->to->leg, (struct sockaddr *)&d->from->addr, p, n, now_ms());
}

/* Runs both ends until done() or the deadline; real time, since OpenSSL's DTLS timers
 * read the clock themselves. */
static void run(struct end *gw, struct end *cl, int (*done)(struct end *, struct end *),
                uint64_t max_ms)
{
    uint64_t end = now_ms() + max_ms;
    struct deliver_ctx to_gw = {gw, cl}, to_cl = {cl, gw};
    while (now_ms() < end && !done(gw, cl)) {
        size_t moved = lossy_pump(cl->out, deliver, &to_gw);
        moved += lossy_pump(gw->out, deliver, &to_cl);
        uint64_t t = now_ms();
        if (dcgw_leg_next_timeout(gw->leg) <= t)
            dcgw_leg_handle_timeout(gw->leg, t);
        if (dcgw_leg_next_timeout(cl->leg) <= t)
            dcgw_leg_handle_timeout(cl->leg, t);
        if (!moved) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}

static int both_connected(struct end *a, struct end *b)
{
    return (a->connected && b->connected) || a->failed || b->failed;
}

static int someone_failed(struct end *a, struct end *b)
{
    return a->failed && b->failed;
}

struct pair {
    struct dcgw_cert *cert_gw, *cert_cl;
    struct dcgw_dtls_ctx *ctx_gw, *ctx_cl;
    struct lossy_link link_gw, link_cl;
    struct end gw, cl;
};

/* gw_fp_of_client: the fingerprint the gateway expects (from the client's "SDP"). */
static void setup(struct pair *p, unsigned loss, unsigned dup, unsigned reorder, uint64_t seed,
                  bool gw_dtls_client, const char *gw_expects_pwd, bool wrong_fp)
{
    memset(p, 0, sizeof(*p));
    ck_assert_int_eq(dcgw_cert_new(NULL, &p->cert_gw), 0);
    ck_assert_int_eq(dcgw_cert_new(NULL, &p->cert_cl), 0);
    struct dcgw_dtls_ctx_settings cs = {.cert = p->cert_gw};
    ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &p->ctx_gw), 0);
    cs.cert = p->cert_cl;
    ck_assert_int_eq(dcgw_dtls_ctx_new(&cs, &p->ctx_cl), 0);
    lossy_init(&p->link_gw, loss, dup, reorder, seed);
    lossy_init(&p->link_cl, loss, dup, reorder, seed * 7 + 1);
    p->gw.out = &p->link_gw;
    p->cl.out = &p->link_cl;
    dcgw_addr_parse("127.0.0.1:40000", &p->gw.addr);
    dcgw_addr_parse("127.0.0.1:50000", &p->cl.addr);

    struct dcgw_fingerprint fp_gw, fp_cl;
    dcgw_cert_fingerprint(p->cert_gw, DCGW_HASH_SHA256, &fp_gw);
    dcgw_cert_fingerprint(wrong_fp ? p->cert_gw : p->cert_cl, DCGW_HASH_SHA256, &fp_cl);

    struct dcgw_leg_settings gs = {
        .ice_role = DCGW_LEG_ICE_LITE,
        .local_ufrag = "gwuf",
        .local_pwd = gw_expects_pwd,
        .remote_ufrag = "clientuf",
        .remote_pwd = "clientpassword0123456789",
        .dtls_client = gw_dtls_client,
        .remote_fps = &fp_cl,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .consent_timeout_ms = 1500,
        .dtls_initial_timeout_ms = 50,
        .srtp_profiles = pair_srtp,
    };
    struct dcgw_leg_cbs cb = {.send = on_send,
                              .on_connected = on_connected,
                              .on_failed = on_failed,
                              .on_consent_lost = on_consent_lost,
                              .on_data = on_data,
                              .on_media = pair_srtp ? on_media : NULL};
    cb.ud = &p->gw;
    ck_assert_int_eq(dcgw_leg_new(p->ctx_gw, &gs, &cb, &p->gw.leg), 0);
    struct dcgw_leg_settings ls = {
        .ice_role = DCGW_LEG_ICE_CONTROLLING,
        .local_ufrag = "clientuf",
        .local_pwd = "clientpassword0123456789",
        .remote_ufrag = "gwuf",
        .remote_pwd = "gatewaypassword012345678",
        .remote_candidate = (struct sockaddr *)&p->gw.addr,
        .dtls_client = !gw_dtls_client,
        .remote_fps = &fp_gw,
        .n_remote_fps = 1,
        .min_hash = DCGW_HASH_SHA256,
        .dtls_initial_timeout_ms = 50,
        .srtp_profiles = pair_srtp,
    };
    cb.ud = &p->cl;
    ck_assert_int_eq(dcgw_leg_new(p->ctx_cl, &ls, &cb, &p->cl.leg), 0);
    ck_assert_int_eq(dcgw_leg_start(p->gw.leg, now_ms()), 0);
    ck_assert_int_eq(dcgw_leg_start(p->cl.leg, now_ms()), 0);
}

static void teardown_pair(struct pair *p)
{
    dcgw_leg_free(p->gw.leg);
    dcgw_leg_free(p->cl.leg);
    dcgw_dtls_ctx_free(p->ctx_gw);
    dcgw_dtls_ctx_free(p->ctx_cl);
    dcgw_cert_unref(p->cert_gw);
    dcgw_cert_unref(p->cert_cl);
    lossy_dispose(&p->link_gw);
    lossy_dispose(&p->link_cl);
}

static void connect_and_talk(unsigned loss, unsigned dup, unsigned reorder, uint64_t seed,
                             bool gw_dtls_client)
{
    struct pair p;
    setup(&p, loss, dup, reorder, seed, gw_dtls_client, "gatewaypassword012345678", false);
    run(&p.gw, &p.cl, both_connected, 8000);
    ck_assert_msg(p.gw.connected == 1 && p.cl.connected == 1, "gw %d/%s cl %d/%s", p.gw.connected,
                  p.gw.reason, p.cl.connected, p.cl.reason);
    ck_assert_int_eq(dcgw_leg_state(p.gw.leg), DCGW_LEG_CONNECTED);
    struct dcgw_fingerprint want;
    dcgw_cert_fingerprint(p.cert_cl, DCGW_HASH_SHA256, &want);
    ck_assert(dcgw_fingerprint_equal(&p.gw.matched, &want));
    ck_assert(dcgw_addr_equal(dcgw_leg_peer(p.gw.leg), (struct sockaddr *)&p.cl.addr));
    /* application data both ways over a clean link */
    p.link_gw.loss_pct = p.link_cl.loss_pct = 0;
    p.link_gw.reorder_pct = p.link_cl.reorder_pct = p.link_gw.dup_pct = p.link_cl.dup_pct = 0;
    ck_assert_int_eq(dcgw_leg_send_data(p.cl.leg, (const uint8_t *)"hello gateway", 13), 0);
    ck_assert_int_eq(dcgw_leg_send_data(p.gw.leg, (const uint8_t *)"hello client", 12), 0);
    struct deliver_ctx to_gw = {&p.gw, &p.cl}, to_cl = {&p.cl, &p.gw};
    lossy_pump(p.cl.out, deliver, &to_gw);
    lossy_pump(p.gw.out, deliver, &to_cl);
    ck_assert_uint_eq(p.gw.got_n, 13);
    ck_assert_mem_eq(p.gw.got, "hello gateway", 13);
    ck_assert_uint_eq(p.cl.got_n, 12);
    teardown_pair(&p);
}

START_TEST(clean_link_both_dtls_roles)
{
    connect_and_talk(0, 0, 0, 1, false);
    connect_and_talk(0, 0, 0, 2, true);
}
END_TEST

START_TEST(lossy_link)
{
    /* 20% loss, 10% duplication, 20% reordering, several seeds, both DTLS roles */
    connect_and_talk(20, 10, 20, 100 + (uint64_t)_i, _i % 2);
}
END_TEST

START_TEST(wrong_fingerprint_fails_both_sides)
{
    struct pair p;
    setup(&p, 0, 0, 0, 5, false, "gatewaypassword012345678", true);
    run(&p.gw, &p.cl, someone_failed, 5000);
    ck_assert_int_eq(p.gw.connected, 0);
    ck_assert_int_eq(p.gw.failed, 1);
    ck_assert_int_eq(p.gw.fail_err, DCGW_EFINGERPRINT);
    ck_assert_int_eq(p.gw.fail_cause, DCGW_LEG_CAUSE_DTLS);
    ck_assert_int_eq(p.cl.failed, 1);
    ck_assert_int_eq(p.cl.fail_err, DCGW_EALERT(42));
    ck_assert_int_eq(p.cl.fail_cause, DCGW_LEG_CAUSE_DTLS);
    ck_assert_uint_eq(p.gw.got_n, 0);
    ck_assert_int_eq(dcgw_leg_send_data(p.gw.leg, (const uint8_t *)"x", 1), DCGW_ESTATE);
    /* the fatal alert was the last word: closing the failed leg sends nothing more */
    uint64_t sent = p.link_gw.sent;
    dcgw_leg_close(p.gw.leg);
    ck_assert_uint_eq(p.link_gw.sent, sent);
    teardown_pair(&p);
}
END_TEST

START_TEST(wrong_ice_password_gets_no_answer)
{
    struct pair p;
    /* The gateway's password is not the one the client was told. */
    setup(&p, 0, 0, 0, 6, false, "someotherpassword0123456", false);
    uint64_t t0 = now_ms();
    struct deliver_ctx to_gw = {&p.gw, &p.cl};
    lossy_pump(p.cl.out, deliver, &to_gw);
    ck_assert_uint_eq(p.link_gw.sent, 0); /* nothing answered */
    ck_assert_uint_ge(dcgw_leg_stats(p.gw.leg)->rx_rejected_stun, 1);
    /* garbage and DTLS from an unvalidated source change nothing either */
    dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, (const uint8_t *)"\xffgarbage", 8, t0);
    uint8_t fake_dtls[20] = {22, 0xfe, 0xfd};
    ck_assert_int_eq(
        dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, fake_dtls, sizeof(fake_dtls), t0),
        DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->rx_dropped_unknown_source, 1);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->rx_dropped_garbage, 1);
    ck_assert_uint_eq(p.link_gw.sent, 0);
    ck_assert_int_eq(dcgw_leg_state(p.gw.leg), DCGW_LEG_ICE);
    teardown_pair(&p);
}
END_TEST

START_TEST(consent_lost_after_silence)
{
    struct pair p;
    setup(&p, 0, 0, 0, 7, false, "gatewaypassword012345678", false);
    run(&p.gw, &p.cl, both_connected, 5000);
    ck_assert_int_eq(p.gw.connected, 1);
    /* the client goes silent: its checks are dropped from now on */
    p.link_cl.loss_pct = 100;
    uint64_t end = now_ms() + 4000;
    while (now_ms() < end && !p.gw.failed) {
        uint64_t t = now_ms();
        if (dcgw_leg_next_timeout(p.gw.leg) <= t)
            dcgw_leg_handle_timeout(p.gw.leg, t);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(p.gw.consent_lost, 1);
    ck_assert_int_eq(p.gw.failed, 1);
    ck_assert_int_eq(p.gw.fail_cause, DCGW_LEG_CAUSE_CONSENT_LOST);
    ck_assert(strstr(p.gw.reason, "consent"));
    /* RFC 7675 §5.1: once consent expired nothing more goes to the peer, not even the
     * close_notify of the close that follows (found by fuzz_leg) */
    uint64_t sent = p.link_gw.sent;
    dcgw_leg_close(p.gw.leg);
    ck_assert_uint_eq(p.link_gw.sent, sent);
    ck_assert_int_eq(dcgw_leg_state(p.gw.leg), DCGW_LEG_CLOSED);
    teardown_pair(&p);
}
END_TEST

/* Issue 17: a check (RFC 7675 consent) with no DTLS since the previous one gives the
 * DTLS record buffers back; the next record takes them again and data flows as before. */
START_TEST(idle_leg_gives_dtls_buffers_back)
{
    struct pair p;
    setup(&p, 0, 0, 0, 8, false, "gatewaypassword012345678", false);
    run(&p.gw, &p.cl, both_connected, 5000);
    ck_assert_int_eq(p.gw.connected, 1);
    ck_assert_uint_gt(p.cl.stun_n, 0);
    struct deliver_ctx to_gw = {&p.gw, &p.cl}, to_cl = {&p.cl, &p.gw};
    const struct dcgw_dtls_stats *st = dcgw_dtls_stats(dcgw_leg_dtls(p.gw.leg));
    for (int round = 0; round < 2; round++) {
        /* DTLS since the last check: the first check keeps the buffers */
        ck_assert_int_eq(dcgw_leg_send_data(p.cl.leg, (const uint8_t *)"ping", 4), 0);
        lossy_pump(p.cl.out, deliver, &to_gw);
        ck_assert_uint_eq(p.gw.got_n, 4 * (size_t)(round + 1));
        uint64_t releases = st->buffer_releases;
        dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, p.cl.stun, p.cl.stun_n, now_ms());
        ck_assert_uint_eq(st->buffer_releases, releases);
        /* nothing since: the next check gives them back, once */
        dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, p.cl.stun, p.cl.stun_n, now_ms());
        ck_assert_uint_eq(st->buffer_releases, releases + 1);
        dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, p.cl.stun, p.cl.stun_n, now_ms());
        ck_assert_uint_eq(st->buffer_releases, releases + 1);
        lossy_pump(p.gw.out, deliver, &to_cl); /* the answers to the checks */
    }
    /* after the release both ways still work, byte for byte */
    ck_assert_int_eq(dcgw_leg_send_data(p.gw.leg, (const uint8_t *)"after release", 13), 0);
    lossy_pump(p.gw.out, deliver, &to_cl);
    ck_assert_uint_eq(p.cl.got_n, 13);
    ck_assert_mem_eq(p.cl.got, "after release", 13);
    ck_assert_int_eq(p.gw.failed + p.cl.failed, 0);
    teardown_pair(&p);
}
END_TEST

START_TEST(setup_timeout_closes_a_leg_that_never_connects)
{
    struct pair p;
    setup(&p, 100, 0, 0, 8, false, "gatewaypassword012345678", false); /* nothing arrives */
    dcgw_leg_free(p.gw.leg);
    struct dcgw_fingerprint fp;
    dcgw_cert_fingerprint(p.cert_cl, DCGW_HASH_SHA256, &fp);
    struct dcgw_leg_settings gs = {
        .ice_role = DCGW_LEG_ICE_LITE,
        .local_ufrag = "gwuf",
        .local_pwd = "gatewaypassword012345678",
        .remote_ufrag = "clientuf",
        .remote_pwd = "clientpassword0123456789",
        .remote_fps = &fp,
        .n_remote_fps = 1,
        .setup_timeout_ms = 300,
    };
    struct dcgw_leg_cbs cb = {.ud = &p.gw, .send = on_send, .on_failed = on_failed};
    uint64_t t0 = now_ms();
    ck_assert_int_eq(dcgw_leg_new(p.ctx_gw, &gs, &cb, &p.gw.leg), 0);
    ck_assert_int_eq(dcgw_leg_start(p.gw.leg, t0), 0);
    ck_assert_uint_eq(dcgw_leg_next_timeout(p.gw.leg), t0 + 300);
    dcgw_leg_handle_timeout(p.gw.leg, t0 + 299);
    ck_assert_int_eq(p.gw.failed, 0);
    dcgw_leg_handle_timeout(p.gw.leg, t0 + 300);
    ck_assert_int_eq(p.gw.failed, 1);
    ck_assert_int_eq(p.gw.fail_err, DCGW_ETIMEOUT);
    ck_assert_int_eq(p.gw.fail_cause, DCGW_LEG_CAUSE_SETUP_TIMEOUT);
    ck_assert(strstr(p.gw.reason, "setup timeout"));
    ck_assert_uint_eq(dcgw_leg_next_timeout(p.gw.leg), UINT64_MAX);
    teardown_pair(&p);
}
END_TEST

/* RTP/RTCP (RFC 7983: 128..191) goes to on_media as it came, once DTLS is up and only from
 * the validated address; dcgw_leg_send_media sends to the peer; the DTLS keys of both ends
 * mirror each other (what the media stage is keyed with). */
START_TEST(media_datagrams)
{
    struct pair p;
    pair_srtp = DCGW_SRTP_PROFILES_OFFER;
    setup(&p, 0, 0, 0, 3, false, "gatewaypassword012345678", false);
    pair_srtp = NULL;
    uint8_t pkt[64] = {0x80, 96, 0, 1, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe, 'h', 'i'};
    /* before anything: not from a validated address */
    ck_assert_int_eq(dcgw_leg_input(p.gw.leg, (struct sockaddr *)&p.cl.addr, pkt, 14, now_ms()),
                     DCGW_EAUTH);
    ck_assert_int_eq(dcgw_leg_send_media(p.gw.leg, pkt, 14), DCGW_ESTATE);
    run(&p.gw, &p.cl, both_connected, 8000);
    ck_assert_int_eq(dcgw_leg_state(p.gw.leg), DCGW_LEG_CONNECTED);
    /* SRTP both ways, keyed from the handshake */
    struct dcgw_srtp_keys kg, kc;
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(dcgw_leg_dtls(p.gw.leg), &kg), 0);
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(dcgw_leg_dtls(p.cl.leg), &kc), 0);
    ck_assert_int_eq(kg.profile, DCGW_SRTP_AEAD_AES_128_GCM);
    struct dcgw_srtp *ctx, *grx;
    ck_assert_int_eq(dcgw_srtp_new(&kc, true, 0, &ctx), 0);
    ck_assert_int_eq(dcgw_srtp_new(&kg, false, 0, &grx), 0);
    uint8_t b[256];
    memcpy(b, pkt, 14);
    size_t n = 14;
    ck_assert_int_eq(dcgw_srtp_protect(ctx, b, &n, sizeof(b), false), 0);
    ck_assert_int_eq(dcgw_leg_send_media(p.cl.leg, b, n), 0);
    struct deliver_ctx to_gw = {&p.gw, &p.cl}, to_cl = {&p.cl, &p.gw};
    lossy_pump(p.cl.out, deliver, &to_gw);
    ck_assert_uint_eq(p.gw.media, 1);
    ck_assert_uint_eq(p.gw.last_n, n);
    ck_assert_mem_eq(p.gw.last, b, n); /* untouched: the owner's media stage unprotects */
    ck_assert_int_eq(dcgw_srtp_unprotect(grx, p.gw.last, &p.gw.last_n, false), 0);
    ck_assert_mem_eq(p.gw.last, "\x80\x60\x00\x01", 4);
    ck_assert_mem_eq(p.gw.last + 12, "hi", 2);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->rx_media, 1);
    /* the other way */
    ck_assert_int_eq(dcgw_leg_send_media(p.gw.leg, pkt, 14), 0);
    lossy_pump(p.gw.out, deliver, &to_cl);
    ck_assert_uint_eq(p.cl.media, 1);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->tx_media, 1);
    /* from an address ICE never validated: dropped and counted */
    struct sockaddr_storage stranger;
    dcgw_addr_parse("127.0.0.1:50001", &stranger);
    uint64_t unk = dcgw_leg_stats(p.gw.leg)->rx_dropped_unknown_source;
    ck_assert_int_eq(dcgw_leg_input(p.gw.leg, (struct sockaddr *)&stranger, b, n, now_ms()),
                     DCGW_EAUTH);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->rx_dropped_unknown_source, unk + 1);
    ck_assert_uint_eq(p.gw.media, 1);
    dcgw_srtp_free(ctx);
    dcgw_srtp_free(grx);
    teardown_pair(&p);
    /* a leg without on_media drops RTP/RTCP and counts it */
    setup(&p, 0, 0, 0, 4, false, "gatewaypassword012345678", false);
    run(&p.gw, &p.cl, both_connected, 8000);
    ck_assert_int_eq(dcgw_leg_send_media(p.cl.leg, pkt, 14), 0);
    lossy_pump(p.cl.out, deliver, &to_gw);
    ck_assert_uint_eq(dcgw_leg_stats(p.gw.leg)->rx_dropped_media, 1);
    ck_assert_int_eq(dcgw_srtp_keys_from_dtls(dcgw_leg_dtls(p.gw.leg), &kg), DCGW_ENOENT);
    teardown_pair(&p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("leg");
    TCase *tc = tcase_create("back_to_back");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, clean_link_both_dtls_roles);
    tcase_add_loop_test(tc, lossy_link, 0, 6);
    tcase_add_test(tc, wrong_fingerprint_fails_both_sides);
    tcase_add_test(tc, wrong_ice_password_gets_no_answer);
    tcase_add_test(tc, consent_lost_after_silence);
    tcase_add_test(tc, idle_leg_gives_dtls_buffers_back);
    tcase_add_test(tc, setup_timeout_closes_a_leg_that_never_connects);
    tcase_add_test(tc, media_datagrams);
    suite_add_tcase(s, tc);
    return tsuite_run(s);
}
