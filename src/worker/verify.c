/* A worker session's avatar verifiers (avatar.h, docs/avatar-envelope.md): one per
 * direction of every channel of kind avatar, run on each message the policy let through.
 * A message is forwarded only when its verifier says so; the first refusal closes the
 * channel on both legs and emits avatar_rejected. Whole avatars and accepted request
 * tokens emit avatar_accepted.
 *
 * Trust: the configured anchors (avatar.trust_anchors, avatar.trusted_keys, read once per
 * worker configuration: at start and at each reload) plus what the controller pushed in
 * the session's AvatarSettings (checked when the session is created); a session takes its
 * store at its first avatar message and keeps it. Grants come only from
 * the session: without them no avatar passes. UpdateSession.avatar replaces grants, pushed
 * anchors and audience: every verifier switches to the new set for its next manifest or
 * token (a transfer past its manifest finishes; avatar.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcgw/guard/avatar.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "events.h"
#include "worker_int.h"

enum { WAVATAR_CHANNELS_MAX = 1024 };

struct wavatar_chan {
    unsigned side;
    const struct dcgw_dc_channel *ch; /* compared, never dereferenced after it closed */
    struct dcgw_avatar *v;
    uint64_t dropped_mark; /* ch->stats.dropped_in when we last passed a message */
};

struct wavatar {
    struct dcgw_avatar_grants *grants;
    struct dcgw_trust *pushed; /* the session's own anchors and keys */
    struct dcgw_trust *trust;  /* configured + pushed; built on first use */
    struct wavatar_chan *chans;
    size_t n, cap;
    uv_timer_t *timer;  /* transfer deadlines; made at the first, freed by its close cb */
    uint64_t timer_due; /* UINT64_MAX: stopped */
};

/* Adds as's grants to g and its anchors and keys to pushed. */
static int add_settings(struct dcgw_avatar_grants *grants, struct dcgw_trust *pushed,
                        const struct wsession *s, const Dcgw__AvatarSettings *as, char *err,
                        size_t errcap)
{
    char why[256] = "";
    if (as->audience && strlen(as->audience) > DCGW_AVATAR_IDENTITY_MAX) {
        snprintf(err, errcap, "avatar.audience: longer than %d bytes", DCGW_AVATAR_IDENTITY_MAX);
        return DCGW_EINVAL;
    }
    for (size_t i = 0; i < as->n_grants; i++) {
        const Dcgw__AvatarGrant *g = as->grants[i];
        bool leg_ok = !g->leg || !*g->leg;
        for (unsigned k = 0; !leg_ok && k < s->desc->n_legs; k++)
            leg_ok = strcmp(s->desc->legs[k]->name, g->leg) == 0;
        if (!leg_ok) {
            snprintf(err, errcap, "avatar.grants[%zu]: no leg named '%s'", i, g->leg);
            return DCGW_EINVAL;
        }
        for (size_t k = 0; k < g->n_avatar_ids; k++) {
            int r = dcgw_avatar_grants_add(grants, g->owner, g->avatar_ids[k], g->leg);
            if (r < 0) {
                snprintf(err, errcap, "avatar.grants[%zu]: %s", i,
                         r == DCGW_EINVAL ? "owner and avatar ids must be 1..256 / 1..128 bytes"
                                          : dcgw_strerror(r));
                return r;
            }
        }
    }
    for (size_t i = 0; i < as->n_trust_anchors_pem; i++) {
        const char *pem = as->trust_anchors_pem[i];
        int r = dcgw_trust_add_ca_pem(pushed, pem, strlen(pem), why, sizeof(why));
        if (r < 0) {
            snprintf(err, errcap, "avatar.trust_anchors_pem[%zu]: %s", i, why);
            return r;
        }
    }
    for (size_t i = 0; i < as->n_keys; i++) {
        const Dcgw__AvatarKey *k = as->keys[i];
        const char *pem = k->public_key_pem ? k->public_key_pem : "";
        int r = dcgw_trust_add_key_pem(pushed, k->kid, pem, strlen(pem), why, sizeof(why));
        if (r < 0) {
            snprintf(err, errcap, "avatar.keys[%zu]: %s", i, why);
            return r;
        }
    }
    return 0;
}

/* The session's verifier state, made when first needed: a session without avatar settings
 * holds none until a channel of kind avatar carries a message (most never do). */
static int ensure(struct wsession *s)
{
    if (s->avatar)
        return 0;
    struct wavatar *a = calloc(1, sizeof(*a));
    if (!a || dcgw_avatar_grants_new(&a->grants) < 0 || dcgw_trust_new(&a->pushed) < 0) {
        if (a)
            dcgw_avatar_grants_free(a->grants);
        free(a);
        return DCGW_ENOMEM;
    }
    a->timer_due = UINT64_MAX;
    s->avatar = a;
    return 0;
}

int dcgw__wavatar_create(struct wsession *s, char *err, size_t errcap)
{
    const Dcgw__AvatarSettings *as = s->desc->avatar;
    if (!as)
        return 0; /* made at the first avatar message (ensure), without grants */
    int r = ensure(s);
    return r < 0 ? r : add_settings(s->avatar->grants, s->avatar->pushed, s, as, err, errcap);
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

void dcgw__wavatar_free(struct wsession *s)
{
    struct wavatar *a = s->avatar;
    if (!a)
        return;
    if (a->timer) { /* the handle outlives the session until its close callback */
        a->timer->data = NULL;
        uv_close((uv_handle_t *)a->timer, timer_closed);
    }
    for (size_t i = 0; i < a->n; i++)
        dcgw_avatar_free(a->chans[i].v);
    free(a->chans);
    dcgw_trust_unref(a->trust);
    dcgw_trust_unref(a->pushed);
    dcgw_avatar_grants_free(a->grants);
    free(a);
    s->avatar = NULL;
}

void dcgw__wavatar_configure(struct worker *w)
{
    const struct dcgw_config *cfg = &w->cfg;
    char why[256] = "";
    struct dcgw_trust *t = NULL;
    if (dcgw_trust_new(&t) < 0)
        DCGW_ERROR(AVATAR, "no memory for the configured anchors: avatars will be refused");
    /* config.c could read them when it checked the configuration; a file that cannot be
     * read now is logged, and what loaded is used */
    if (t && *cfg->avatar.trust_anchors &&
        dcgw_trust_add_ca_file(t, cfg->avatar.trust_anchors, why, sizeof(why)) < 0)
        DCGW_WARN(AVATAR, "avatar.trust_anchors: %s", why);
    if (t && *cfg->avatar.trusted_keys &&
        dcgw_trust_add_keys_dir(t, cfg->avatar.trusted_keys, why, sizeof(why)) < 0)
        DCGW_WARN(AVATAR, "avatar.trusted_keys: %s", why);
    dcgw_trust_unref(w->avatar_trust); /* sessions that use it hold their own references */
    w->avatar_trust = t;
    if (t)
        DCGW_DEBUG(AVATAR, "configured anchors: %zu CA certificates, %zu keys",
                   dcgw_trust_ca_count(t), dcgw_trust_key_count(t));
}

void dcgw__wavatar_worker_free(struct worker *w)
{
    dcgw_trust_unref(w->avatar_trust);
    w->avatar_trust = NULL;
}

/* The worker's configured anchors plus pushed ones (which win on a kid both name); the
 * configured store itself when nothing was pushed. NULL on ENOMEM. */
static struct dcgw_trust *build_trust(const struct wsession *s, const struct dcgw_trust *pushed)
{
    struct dcgw_trust *conf = s->w->avatar_trust, *t = NULL;
    if (!conf)
        return NULL;
    if (dcgw_trust_ca_count(pushed) == 0 && dcgw_trust_key_count(pushed) == 0)
        return dcgw_trust_ref(conf);
    if (dcgw_trust_new(&t) < 0 || dcgw_trust_add_all(t, pushed) < 0) {
        dcgw_trust_unref(t);
        return NULL;
    }
    int r = dcgw_trust_add_all(t, conf);
    if (r == DCGW_ENOMEM) {
        dcgw_trust_unref(t);
        return NULL;
    }
    if (r < 0) /* over a cap: what fitted is used */
        DCGW_LOG_RL(AVATAR, WARN, "session %s: configured anchors: %s", s->desc->id,
                    dcgw_strerror(r));
    return t;
}

/* The session's trust, built at its first avatar message. */
static struct dcgw_trust *trust_of(struct wsession *s)
{
    struct wavatar *a = s->avatar;
    if (!a->trust)
        a->trust = build_trust(s, a->pushed);
    return a->trust;
}

/* The audience aud must name: the session's, else the configured one. */
static const char *audience_of(const struct wsession *s)
{
    const Dcgw__AvatarSettings *as = s->desc->avatar;
    return as && as->audience && *as->audience ? as->audience : s->w->cfg.avatar.audience;
}

/* A deep copy of as for s->desc (freed with it by protobuf_c_message_free_unpacked). */
static Dcgw__AvatarSettings *copy_settings(const Dcgw__AvatarSettings *as)
{
    size_t n = dcgw__avatar_settings__get_packed_size(as);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return NULL;
    dcgw__avatar_settings__pack(as, buf);
    Dcgw__AvatarSettings *c = dcgw__avatar_settings__unpack(NULL, n, buf);
    free(buf);
    return c;
}

int dcgw__wavatar_update(struct wsession *s, const Dcgw__AvatarSettings *as, char *err,
                         size_t errcap)
{
    if (ensure(s) < 0)
        return DCGW_ENOMEM;
    struct wavatar *a = s->avatar;
    struct dcgw_avatar_grants *grants = NULL;
    struct dcgw_trust *pushed = NULL, *trust = NULL;
    Dcgw__AvatarSettings *desc = NULL;
    int r = dcgw_avatar_grants_new(&grants) < 0 || dcgw_trust_new(&pushed) < 0 ? DCGW_ENOMEM : 0;
    if (r == 0)
        r = add_settings(grants, pushed, s, as, err, errcap);
    /* verifiers in use switch now, so the new store is built now; else at first use */
    if (r == 0 && a->n > 0 && !(trust = build_trust(s, pushed)))
        r = DCGW_ENOMEM;
    if (r == 0 && !(desc = copy_settings(as)))
        r = DCGW_ENOMEM;
    if (r < 0) { /* nothing changed */
        dcgw_avatar_grants_free(grants);
        dcgw_trust_unref(pushed);
        dcgw_trust_unref(trust);
        return r;
    }
    if (s->desc->avatar)
        protobuf_c_message_free_unpacked(&s->desc->avatar->base, NULL);
    s->desc->avatar = desc;
    const char *aud = audience_of(s);
    for (size_t i = 0; i < a->n; i++)
        dcgw_avatar_set_authority(a->chans[i].v, trust, grants, aud); /* checked: EINVAL-free */
    dcgw_avatar_grants_free(a->grants); /* no verifier borrows them any more */
    dcgw_trust_unref(a->pushed);
    dcgw_trust_unref(a->trust);
    a->grants = grants;
    a->pushed = pushed;
    a->trust = trust;
    DCGW_INFO(AVATAR, "session %s: avatar settings replaced (%zu grants, %zu verifiers switched)",
              s->desc->id, dcgw_avatar_grants_count(grants), a->n);
    return 0;
}

static struct wavatar_chan *find(struct wavatar *a, unsigned side, const struct dcgw_dc_channel *ch)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->chans[i].side == side && a->chans[i].ch == ch)
            return &a->chans[i];
    return NULL;
}

/* The verifier of messages from `side` on ch, made on first use. NULL on ENOMEM / cap. */
static struct wavatar_chan *verifier_of(struct wsession *s, unsigned side,
                                        const struct dcgw_dc_channel *ch)
{
    struct wavatar *a = s->avatar;
    struct wavatar_chan *c = find(a, side, ch);
    if (c)
        return c;
    struct dcgw_trust *t = trust_of(s);
    if (!t || a->n >= WAVATAR_CHANNELS_MAX)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        struct wavatar_chan *nc = realloc(a->chans, cap * sizeof(*nc));
        if (!nc)
            return NULL;
        a->chans = nc;
        a->cap = cap;
    }
    const struct dcgw_config *cfg = &s->w->cfg;
    struct dcgw_avatar_settings set = {
        .trust = t,
        .grants = a->grants,
        .leg = s->desc->legs[side]->name,
        .audience = audience_of(s),
        .max_size = cfg->avatar.max_size,
        .max_chunk_size = cfg->avatar.max_chunk_size,
        .max_chunks = cfg->avatar.max_chunks,
        .clock_skew_s = cfg->avatar.clock_skew_s,
        .min_rsa_bits = cfg->avatar.min_rsa_bits,
        .transfer_timeout_ms = cfg->avatar.transfer_timeout_ms,
    };
    struct dcgw_avatar *v;
    if (dcgw_avatar_new(&set, &v) < 0)
        return NULL;
    a->chans[a->n] =
        (struct wavatar_chan){.side = side, .ch = ch, .v = v, .dropped_mark = ch->stats.dropped_in};
    return &a->chans[a->n++];
}

/* The bridge drops a message it cannot deliver after we passed it (a partially reliable
 * channel meeting a full far leg, a twin or far leg that closed; it counts that in the
 * source channel's dropped_in): a transfer with a gap at the receiver is rejected
 * (UNDELIVERED). Seen at the channel's next message or its end. */
static bool gap_rejected(struct wavatar_chan *c, const struct dcgw_dc_channel *ch,
                         struct dcgw_avatar_result *res)
{
    if (ch->stats.dropped_in == c->dropped_mark)
        return false;
    c->dropped_mark = ch->stats.dropped_in;
    return dcgw_avatar_undelivered(c->v, res) < 0;
}

static void emit(struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                 const struct dcgw_avatar_result *res)
{
    Dcgw__Event ev = DCGW__EVENT__INIT;
    Dcgw__AvatarAccepted ok = DCGW__AVATAR_ACCEPTED__INIT;
    Dcgw__AvatarRejected no = DCGW__AVATAR_REJECTED__INIT;
    char *id = res->avatar_id[0] ? (char *)res->avatar_id : NULL;
    char *owner = res->owner[0] ? (char *)res->owner : NULL;
    if (res->what == DCGW_AVATAR_REJECTED) {
        no.has_stream_id = no.has_request = no.has_reason = 1;
        no.stream_id = ch->params.id;
        no.label = (char *)ch->params.label;
        no.request = res->request;
        no.reason = (Dcgw__AvatarReason)res->reason;
        no.detail = (char *)res->detail;
        no.avatar_id = id;
        no.owner = owner;
        no.has_chunk = no.has_chunks = res->chunks > 0;
        no.chunk = res->chunk;
        no.chunks = res->chunks;
        ev.kind_case = DCGW__EVENT__KIND_AVATAR_REJECTED;
        ev.avatar_rejected = &no;
    } else {
        ok.has_stream_id = ok.has_request = 1;
        ok.stream_id = ch->params.id;
        ok.label = (char *)ch->params.label;
        ok.request = res->request;
        ok.avatar_id = id;
        ok.owner = owner;
        ok.signer = res->signer[0] ? (char *)res->signer : NULL;
        ok.has_size = ok.has_chunks = !res->request;
        ok.size = res->size;
        ok.chunks = res->chunks;
        ev.kind_case = DCGW__EVENT__KIND_AVATAR_ACCEPTED;
        ev.avatar_accepted = &ok;
    }
    dcgw__wev_emit_session(s, (int)side, &ev);
}

/* Reports a refusal; closes close_ch (the channel, unless it is closing already). */
static void rejected(struct wsession *s, unsigned side, const struct dcgw_dc_channel *ch,
                     const struct dcgw_avatar_result *res, struct dcgw_dc_channel *close_ch)
{
    DCGW_LOG_RL(AVATAR, INFO, "session %s leg %s stream %u \"%s\": %s rejected: %s: %s",
                s->desc->id, s->desc->legs[side]->name, ch->params.id, ch->params.label,
                res->request ? "request token" : "avatar", dcgw_avatar_reason_name(res->reason),
                res->detail);
    emit(s, side, ch, res);
    if (close_ch)
        dcgw__wsession_close_pair(s, side, close_ch);
}

/* ---- transfer deadlines (avatar.transfer_timeout_ms): one timer per session, at the
 * earliest of its verifiers' (DESIGN §4: next_timeout / handle_timeout) */

static void on_timer(uv_timer_t *t);

static void rearm(struct wsession *s)
{
    struct wavatar *a = s->avatar;
    uint64_t due = UINT64_MAX;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t d = dcgw_avatar_next_timeout(a->chans[i].v);
        due = d < due ? d : due;
    }
    if (due == a->timer_due)
        return;
    a->timer_due = due;
    if (due == UINT64_MAX) {
        if (a->timer)
            uv_timer_stop(a->timer);
        return;
    }
    if (!a->timer) {
        if (!(a->timer = malloc(sizeof(*a->timer)))) {
            a->timer_due = UINT64_MAX; /* retried at the next message */
            DCGW_LOG_RL(AVATAR, ERROR, "session %s: no memory for the transfer timer", s->desc->id);
            return;
        }
        uv_timer_init(s->w->loop, a->timer);
        a->timer->data = s;
    }
    uint64_t now = uv_now(s->w->loop);
    uv_timer_start(a->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    struct wsession *s = t->data;
    if (!s)
        return;
    struct wavatar *a = s->avatar;
    uint64_t now = uv_now(t->loop);
    a->timer_due = UINT64_MAX;
    for (size_t i = 0; i < a->n; i++) {
        struct wavatar_chan *c = &a->chans[i];
        struct dcgw_avatar_result res;
        if (dcgw_avatar_handle_timeout(c->v, now, &res) == 0)
            continue;
        /* the channel is open while it is listed (channel_closed removes it) */
        struct dcgw_dc_channel *ch = (struct dcgw_dc_channel *)c->ch;
        rejected(s, c->side, ch, &res, ch);
        i = (size_t)-1; /* closing may have changed the list: again from the start */
    }
    rearm(s);
}

bool dcgw__wavatar_message(struct wsession *s, unsigned side, struct dcgw_dc_channel *ch,
                           bool is_text, const uint8_t *p, size_t n)
{
    if (dcgw_policy_kind_of(ch->params.id, ch->params.protocol) != DCGW_POLICY_KIND_AVATAR)
        return true;
    struct wavatar_chan *c = ensure(s) == 0 ? verifier_of(s, side, ch) : NULL;
    struct dcgw_avatar_result res;
    if (!c) { /* fail closed */
        memset(&res, 0, sizeof(res));
        res.what = DCGW_AVATAR_REJECTED;
        res.reason = DCGW_AVATAR_MALFORMED;
        snprintf(res.detail, sizeof(res.detail), "no verifier (out of memory or channel cap)");
        rejected(s, side, ch, &res, ch);
        return false;
    }
    if (gap_rejected(c, ch, &res)) {
        rejected(s, side, ch, &res, ch);
        return false;
    }
    struct wleg *l = s->legs[side];
    X509 *peer = l && l->leg && !l->dead ? dcgw_dtls_peer_cert(dcgw_leg_dtls(l->leg)) : NULL;
    int r = dcgw_avatar_input_ms(c->v, is_text, p, n, (int64_t)time(NULL), uv_now(s->w->loop), peer,
                                 &res);
    if (res.what != DCGW_AVATAR_CHUNK) /* a deadline was armed or dropped */
        rearm(s);
    if (r == 0) {
        if (res.what == DCGW_AVATAR_COMPLETE || res.what == DCGW_AVATAR_REQUEST)
            emit(s, side, ch, &res);
        return true;
    }
    if (res.what == DCGW_AVATAR_REJECTED)
        rejected(s, side, ch, &res, ch);
    return false;
}

void dcgw__wavatar_channel_closed(struct wsession *s, unsigned side,
                                  const struct dcgw_dc_channel *ch)
{
    struct wavatar *a = s->avatar;
    struct wavatar_chan *c = a ? find(a, side, ch) : NULL;
    if (!c)
        return;
    struct dcgw_avatar_result res;
    if (gap_rejected(c, ch, &res) ||
        (dcgw_avatar_end(c->v, &res) < 0 && res.what == DCGW_AVATAR_REJECTED))
        rejected(s, side, ch, &res, NULL);
    dcgw_avatar_free(c->v);
    *c = a->chans[--a->n];
    rearm(s);
}
