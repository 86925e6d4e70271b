/* Passive DTLS 1.2 handshake inspector for relay mode. See docs/relay.md.
 *
 * Each datagram is read in two passes. The first checks the framing of every record and
 * every epoch-0 handshake fragment header without touching any state: a badly framed
 * datagram is dropped and leaves no trace. The second applies the records in order (a flow
 * may be decided half-way through a datagram, e.g. by a ServerHello that selects DTLS 1.3
 * followed by DTLS 1.3 ciphertext); a record it refuses drops the datagram, while records
 * before it stay applied (the endpoint gets them again in a retransmission). */
#include "dcgw/stages/dtls_inspect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/base/reentry.h"
#include "dtls_inspect_int.h"

/* Wire values: RFC 5246 §6.2.1, §7.4; RFC 6347 §4.1, §4.2.2; RFC 8446 §4.2.1. */
enum {
    CT_CCS = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APP_DATA = 23,
    HT_CLIENT_HELLO = 1,
    HT_SERVER_HELLO = 2,
    HT_HELLO_VERIFY = 3,
    HT_CERTIFICATE = 11,
    REC_HDR = 13,
    HS_HDR = 12,
    V_DTLS10 = 0xfeff,
    V_DTLS12 = 0xfefd,
    V_DTLS13 = 0xfefc,
    EXT_SUPPORTED_VERSIONS = 43,
};

struct meta { /* what a side said about one message_seq */
    bool known, done;
    uint8_t type;
    uint32_t len;
};

struct reasm { /* one message under reassembly (RFC 6347 §4.2.3) */
    bool active;
    uint8_t type;
    uint16_t seq;
    uint32_t len, filled;
    size_t cost;
    uint8_t *buf, *have; /* one allocation: len bytes, then a bitmap of received bytes */
};

struct side {
    struct dcgw_fingerprint fps[DCGW_INSPECT_MAX_FINGERPRINTS];
    size_t n_fps;
    struct meta meta[DCGW_INSPECT_MAX_MESSAGE_SEQ];
    int hello_seq;      /* highest message_seq of a hello this side sent; -1 none */
    struct reasm hello; /* the newest ClientHello / ServerHello */
    struct reasm cert;  /* the Certificate; kept once verified to check retransmissions */
    size_t buffered;
    struct dcgw_dtls_inspect_side info;
    struct dcgw_dtls_inspect_stats st;
};

struct dcgw_dtls_inspect {
    struct side s[2];
    enum dcgw_hash min_hash;
    size_t max_bytes;
    enum dcgw_dtls_inspect_policy policy;
    struct dcgw_dtls_inspect_callbacks cbs;
    enum dcgw_dtls_inspect_state state;
    int decided_by;         /* side that decided the state, -1 */
    int client;             /* side that sent ClientHello, -1 */
    struct dcgw_reentry re; /* inside dcgw_dtls_inspect_datagram (base/reentry.h) */
};

struct frag {
    uint8_t type;
    uint32_t len;
    uint16_t seq;
    uint32_t off, flen;
    const uint8_t *data;
};

/* Outcome of one record or fragment while applying a datagram. */
enum { R_PASS, R_MALFORMED, R_CONFLICT, R_HELD, R_EARLY, R_NOMEM };

static const char *const side_names[2] = {"UE", "far end"};

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* ---- decisions ----------------------------------------------------------------------------- */

static void release(struct side *sd, struct reasm *r)
{
    if (!r->active)
        return;
    sd->buffered -= r->cost;
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

static void release_all(struct dcgw_dtls_inspect *insp)
{
    for (int k = 0; k < 2; k++) {
        release(&insp->s[k], &insp->s[k].hello);
        release(&insp->s[k], &insp->s[k].cert);
    }
}

static void decide(struct dcgw_dtls_inspect *insp, enum dcgw_dtls_inspect_state st, int k)
{
    if (insp->state != DCGW_INSPECT_INSPECTING)
        return;
    insp->state = st;
    insp->decided_by = k;
    if (st != DCGW_INSPECT_VERIFIED)
        release_all(insp); /* nothing is read any more (VERIFIED keeps the Certificates) */
    if (insp->cbs.on_state)
        insp->cbs.on_state(insp->cbs.ud, st, k);
}

/* Records the side's outcome and blocks the flow. */
static void block(struct dcgw_dtls_inspect *insp, int k, enum dcgw_dtls_inspect_cert c, int err,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void block(struct dcgw_dtls_inspect *insp, int k, enum dcgw_dtls_inspect_cert c, int err,
                  const char *fmt, ...)
{
    struct dcgw_dtls_inspect_side *in = &insp->s[k].info;
    if (insp->state != DCGW_INSPECT_INSPECTING)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(in->reason, sizeof(in->reason), "%s: ", side_names[k]);
    vsnprintf(in->reason + n, sizeof(in->reason) - (size_t)n, fmt, ap);
    va_end(ap);
    in->cert = c;
    in->err = err;
    DCGW_LOG_RL(RELAY, WARN, "inspect: blocked: %s", in->reason);
    decide(insp, DCGW_INSPECT_BLOCKED, k);
}

/* The handshake cannot be inspected: the policy decides. */
static void uninspectable(struct dcgw_dtls_inspect *insp, int k, int err, const char *what)
{
    struct dcgw_dtls_inspect_side *in = &insp->s[k].info;
    if (insp->state != DCGW_INSPECT_INSPECTING)
        return;
    if (insp->policy == DCGW_INSPECT_REJECT_UNINSPECTABLE) {
        block(insp, k, DCGW_INSPECT_CERT_UNINSPECTABLE, err, "uninspectable handshake: %s", what);
        return;
    }
    snprintf(in->reason, sizeof(in->reason), "%s: uninspected: %s", side_names[k], what);
    in->cert = DCGW_INSPECT_CERT_UNINSPECTABLE;
    in->err = err;
    DCGW_LOG_RL(RELAY, WARN, "inspect: allowed by policy: %s", in->reason);
    decide(insp, DCGW_INSPECT_UNINSPECTED_ALLOWED, k);
}

/* ---- outcomes of complete messages ---------------------------------------------------------- */

static void forget(struct side *sd, uint16_t seq)
{
    if (sd->hello.active && sd->hello.seq == seq)
        release(sd, &sd->hello);
    if (sd->cert.active && sd->cert.seq == seq)
        release(sd, &sd->cert);
    memset(&sd->meta[seq], 0, sizeof(sd->meta[seq]));
    sd->hello_seq = -1;
    for (int i = 0; i < DCGW_INSPECT_MAX_MESSAGE_SEQ; i++)
        if (sd->meta[i].known && sd->meta[i].type <= HT_HELLO_VERIFY && sd->meta[i].type >= 1)
            sd->hello_seq = i;
}

/* A complete message that does not parse: the datagram that completed it is dropped and
 * the message forgotten, so that a good retransmission can still be read. */
static int bad_message(struct dcgw_dtls_inspect *insp, int k, uint16_t seq, const char *what)
{
    struct side *sd = &insp->s[k];
    sd->st.bad_messages++;
    DCGW_LOG_RL(RELAY, INFO, "inspect: %s: malformed %s dropped", side_names[k], what);
    forget(sd, seq);
    if (insp->s[0].hello_seq < 0 && insp->s[1].hello_seq < 0)
        insp->client = -1; /* the roles came from that message alone */
    if (sd->st.bad_messages >= DCGW_INSPECT_MAX_BAD_MESSAGES) {
        char why[96];
        snprintf(why, sizeof(why), "%llu malformed handshake messages",
                 (unsigned long long)sd->st.bad_messages);
        uninspectable(insp, k, DCGW_EMALFORMED, why);
    }
    return R_MALFORMED;
}

/* Hashes the end-entity certificate with each acceptable SDP fingerprint's algorithm. */
static void check_certificate(struct dcgw_dtls_inspect *insp, int k,
                              const struct dcgw__dtls_cur *der)
{
    struct side *sd = &insp->s[k];
    struct dcgw_fingerprint got[DCGW_HASH_SHA512 + 1];
    bool have[DCGW_HASH_SHA512 + 1] = {false};
    enum dcgw_hash best = DCGW_HASH_NONE;
    size_t usable = 0;
    sd->info.cert_der_len = der->n;
    for (size_t i = 0; i < sd->n_fps; i++) {
        const struct dcgw_fingerprint *fp = &sd->fps[i];
        if (fp->alg < insp->min_hash)
            continue; /* below the floor: ignored */
        usable++;
        if (!have[fp->alg]) {
            if (dcgw_cert_fingerprint_der(der->p, der->n, fp->alg, &got[fp->alg]) != 0) {
                char why[96];
                snprintf(why, sizeof(why), "certificate of %zu bytes cannot be hashed", der->n);
                uninspectable(insp, k, DCGW_ELIMIT, why);
                return;
            }
            have[fp->alg] = true;
        }
        if (fp->alg > best)
            best = fp->alg;
        /* RFC 8122 §5: the certificate must match a fingerprint from that side's SDP;
         * dcgw_fingerprint_equal compares in constant time. */
        if (dcgw_fingerprint_equal(&got[fp->alg], fp)) {
            sd->info.cert = DCGW_INSPECT_CERT_MATCHED;
            sd->info.matched_index = i;
            sd->info.fp = *fp;
            DCGW_LOG_RL(RELAY, DEBUG, "inspect: %s certificate matched", side_names[k]);
            if (insp->s[1 - k].info.cert == DCGW_INSPECT_CERT_MATCHED)
                decide(insp, DCGW_INSPECT_VERIFIED, k);
            return;
        }
    }
    if (usable == 0) {
        block(insp, k, DCGW_INSPECT_CERT_WEAK_HASH, DCGW_EWEAKHASH,
              "none of %zu SDP fingerprints uses %s or a stronger hash", sd->n_fps,
              dcgw_hash_name(insp->min_hash));
        return;
    }
    char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
    sd->info.fp = got[best];
    dcgw_fingerprint_format(&got[best], text, sizeof(text));
    block(insp, k, DCGW_INSPECT_CERT_MISMATCH, DCGW_EFINGERPRINT,
          "certificate %s matches none of %zu SDP %s", text, usable,
          usable == 1 ? "fingerprint" : "fingerprints");
}

/* The Certificate is complete and belongs where it is (right after the side's hello). */
static int finish_certificate(struct dcgw_dtls_inspect *insp, int k)
{
    struct side *sd = &insp->s[k];
    struct dcgw__dtls_cur der;
    if (dcgw__dtls_parse_certificate(sd->cert.buf, sd->cert.len, &der) != 0)
        return bad_message(insp, k, sd->cert.seq, "Certificate");
    sd->meta[sd->cert.seq].done = true;
    if (der.n == 0) { /* RFC 5246 §7.4.6: an empty list is "no certificate" */
        block(insp, k, DCGW_INSPECT_CERT_NONE, DCGW_EPROTO, "empty Certificate message");
        return R_PASS;
    }
    check_certificate(insp, k, &der);
    return R_PASS;
}

/* The Certificate slot holds the message right after the side's last hello. One that came
 * before its hello (reordered within a flight) is provisional until the hello arrives. */
static bool cert_at_place(const struct side *sd)
{
    return sd->cert.active && sd->hello_seq >= 0 && sd->cert.seq == sd->hello_seq + 1;
}

static bool cert_ready(const struct side *sd)
{
    return cert_at_place(sd) && sd->cert.filled == sd->cert.len && !sd->meta[sd->cert.seq].done;
}

static int finish_hello(struct dcgw_dtls_inspect *insp, int k)
{
    struct side *sd = &insp->s[k];
    struct reasm *h = &sd->hello;
    char why[96];
    bool ch = h->type == HT_CLIENT_HELLO;
    int rc = ch ? dcgw__dtls_parse_client_hello(h->buf, h->len, why, sizeof(why))
                : dcgw__dtls_parse_server_hello(h->buf, h->len, why, sizeof(why));
    if (rc < 0)
        return bad_message(insp, k, h->seq, ch ? "ClientHello" : "ServerHello");
    sd->meta[h->seq].done = true;
    release(sd, h);
    if (rc > 0) {
        uninspectable(insp, k, DCGW_EUNSUPPORTED, why);
        return R_PASS;
    }
    if (cert_ready(sd)) /* a Certificate that overtook its ServerHello */
        return finish_certificate(insp, k);
    return R_PASS;
}

/* RFC 6347 §4.2.2: message_seq counts up by one per message, so a side's Certificate is the
 * message right after its last hello. Anything else there means it sent none. */
static void check_no_certificate(struct dcgw_dtls_inspect *insp, int k)
{
    struct side *sd = &insp->s[k];
    int next = sd->hello_seq + 1;
    if (sd->hello_seq < 0 || next >= DCGW_INSPECT_MAX_MESSAGE_SEQ || !sd->meta[next].known)
        return;
    uint8_t t = sd->meta[next].type;
    if (t != HT_CERTIFICATE && (t < HT_CLIENT_HELLO || t > HT_HELLO_VERIFY))
        block(insp, k, DCGW_INSPECT_CERT_NONE, DCGW_EPROTO,
              "no Certificate: handshake message type %u follows the hello", t);
}

/* ---- reassembly ---------------------------------------------------------------------------- */

static int slot_open(struct dcgw_dtls_inspect *insp, int k, struct reasm *r, const struct frag *f)
{
    struct side *sd = &insp->s[k];
    size_t cost = (size_t)f->len + (f->len + 7) / 8;
    if (sd->buffered + cost > insp->max_bytes) {
        char why[128];
        snprintf(why, sizeof(why), "handshake message of %u bytes exceeds the %zu-byte bound",
                 f->len, insp->max_bytes);
        uninspectable(insp, k, DCGW_ELIMIT, why);
        return R_PASS;
    }
    r->buf = calloc(1, cost + 1);
    if (!r->buf)
        return R_NOMEM;
    r->have = r->buf + f->len;
    r->active = true;
    r->type = f->type;
    r->seq = f->seq;
    r->len = f->len;
    r->filled = 0;
    r->cost = cost;
    sd->buffered += cost;
    if (sd->buffered > sd->st.buffered_peak)
        sd->st.buffered_peak = sd->buffered;
    return R_PASS;
}

/* Copies a fragment in. Bytes already received must be the same (a retransmission); a
 * fragment that contradicts them is refused whole. */
static int slot_write(struct side *sd, struct reasm *r, const struct frag *f)
{
    for (uint32_t i = 0; i < f->flen; i++) {
        uint32_t o = f->off + i;
        if ((r->have[o / 8] >> (o % 8) & 1) && r->buf[o] != f->data[i])
            return R_CONFLICT;
    }
    bool fresh = false;
    for (uint32_t i = 0; i < f->flen; i++) {
        uint32_t o = f->off + i;
        if (!(r->have[o / 8] >> (o % 8) & 1)) {
            r->have[o / 8] |= (uint8_t)(1u << (o % 8));
            r->buf[o] = f->data[i];
            r->filled++;
            fresh = true;
        }
    }
    if (!fresh)
        sd->st.duplicates++;
    return R_PASS;
}

static bool is_hello(uint8_t t)
{
    return t == HT_CLIENT_HELLO || t == HT_SERVER_HELLO || t == HT_HELLO_VERIFY;
}

/* Refuses a fragment that contradicts what the side sent before (nothing is changed). */
static bool fragment_conflicts(const struct dcgw_dtls_inspect *insp, int k, const struct frag *f)
{
    const struct side *sd = &insp->s[k];
    const struct meta *m = &sd->meta[f->seq];
    /* RFC 6347 §4.2.1: the ClientHello's sender is the client, the other side the server */
    if (is_hello(f->type) && insp->client >= 0 &&
        insp->client != (f->type == HT_CLIENT_HELLO ? k : 1 - k))
        return true;
    if (m->known && (m->type != f->type || m->len != f->len))
        return true;
    if (f->type == HT_CERTIFICATE) {
        if (sd->hello_seq >= 0 && f->seq <= sd->hello_seq)
            return true; /* a Certificate before the hello it follows */
        /* a second Certificate; one right after the hello displaces a provisional one */
        if (sd->cert.active && sd->cert.seq != f->seq &&
            (cert_at_place(sd) || f->seq != sd->hello_seq + 1))
            return true;
    }
    /* a hello after the Certificate that followed the last one (a new handshake) */
    return is_hello(f->type) && cert_at_place(sd) && f->seq >= sd->cert.seq;
}

static int on_fragment(struct dcgw_dtls_inspect *insp, int k, const struct frag *f)
{
    struct side *sd = &insp->s[k];
    struct meta *m = &sd->meta[f->seq];
    if (fragment_conflicts(insp, k, f))
        return R_CONFLICT;
    sd->st.fragments++;
    if (is_hello(f->type) && insp->client < 0)
        insp->client = f->type == HT_CLIENT_HELLO ? k : 1 - k;
    if (!m->known) {
        *m = (struct meta){.known = true, .type = f->type, .len = f->len};
        if (is_hello(f->type) && f->seq > sd->hello_seq) {
            sd->hello_seq = f->seq;
            /* a provisional Certificate that is not right after this hello was not one */
            if (sd->cert.active && sd->cert.seq != f->seq + 1)
                forget(sd, sd->cert.seq);
        }
        check_no_certificate(insp, k);
        if (insp->state != DCGW_INSPECT_INSPECTING && insp->state != DCGW_INSPECT_VERIFIED)
            return R_PASS;
    }
    struct reasm *r = NULL;
    if (f->type == HT_CERTIFICATE)
        r = &sd->cert;
    else if ((f->type == HT_CLIENT_HELLO || f->type == HT_SERVER_HELLO) && f->seq == sd->hello_seq)
        r = &sd->hello;
    if (m->done && (!r || !r->active)) {
        sd->st.duplicates++; /* a message already read and released */
        return R_PASS;
    }
    if (!r)
        return R_PASS; /* a message the inspector does not read */
    if (!r->active || r->seq != f->seq) {
        release(sd, r);
        int rc = slot_open(insp, k, r, f);
        if (rc != R_PASS || !r->active)
            return rc;
    }
    int rc = slot_write(sd, r, f);
    if (rc != R_PASS || r->filled < r->len || m->done)
        return rc;
    if (r == &sd->hello)
        return finish_hello(insp, k);
    return cert_ready(sd) ? finish_certificate(insp, k) : R_PASS;
}

/* ---- records ------------------------------------------------------------------------------- */

static struct frag frag_at(const uint8_t *h)
{
    return (struct frag){.type = h[0],
                         .len = be24(h + 1),
                         .seq = (uint16_t)be16(h + 4),
                         .off = be24(h + 6),
                         .flen = be24(h + 9),
                         .data = h + HS_HDR};
}

/* Pass 1 for a handshake record of epoch 0: whole fragments (RFC 6347 §4.2.2). */
static const char *check_handshake_record(const uint8_t *p, size_t n)
{
    if (n == 0)
        return "empty handshake record";
    while (n > 0) {
        if (n < HS_HDR)
            return "truncated handshake header";
        struct frag f = frag_at(p);
        if (f.flen > n - HS_HDR)
            return "handshake fragment beyond its record";
        if (f.off + f.flen > f.len) /* 24-bit values: no overflow in 32 bits */
            return "handshake fragment beyond its message";
        if (f.seq >= DCGW_INSPECT_MAX_MESSAGE_SEQ)
            return "message_seq out of range";
        p += HS_HDR + f.flen;
        n -= HS_HDR + f.flen;
    }
    return NULL;
}

/* Pass 1: every record well framed (RFC 6347 §4.1). Stops at a DTLS 1.3 unified header
 * (RFC 9147 §4: first byte 001xxxxx), whose offset goes to *tail13 (n when none). */
static const char *check_framing(const uint8_t *p, size_t n, uint64_t *records, size_t *tail13)
{
    size_t off = 0;
    *records = 0;
    *tail13 = n;
    if (n == 0)
        return "empty datagram";
    while (off < n) {
        const uint8_t *h = p + off;
        if ((h[0] & 0xe0) == 0x20) {
            *tail13 = off;
            return NULL;
        }
        if (n - off < REC_HDR)
            return "truncated record header";
        uint32_t version = be16(h + 1), epoch = be16(h + 3), len = be16(h + 11);
        if (h[0] < CT_CCS || h[0] > CT_APP_DATA)
            return "unknown content type";
        if (version != V_DTLS12 && version != V_DTLS10)
            return "not a DTLS 1.0/1.2 record version";
        if (len > n - off - REC_HDR)
            return "record length beyond the datagram";
        if (len > (epoch ? DCGW_INSPECT_RECORD_MAX : DCGW_INSPECT_PLAINTEXT_MAX))
            return "record too long";
        const uint8_t *body = h + REC_HDR;
        if (epoch == 0) {
            const char *why = NULL;
            if (h[0] == CT_HANDSHAKE)
                why = check_handshake_record(body, len);
            else if (h[0] == CT_CCS && (len != 1 || body[0] != 1)) /* RFC 5246 §7.1 */
                why = "malformed ChangeCipherSpec";
            else if (h[0] == CT_ALERT && len != 2) /* RFC 5246 §7.2 */
                why = "malformed alert";
            else if (h[0] == CT_APP_DATA)
                why = "application data in epoch 0";
            if (why)
                return why;
        }
        off += REC_HDR + len;
        (*records)++;
    }
    return NULL;
}

static int on_ccs(struct dcgw_dtls_inspect *insp, int k)
{
    struct side *sd = &insp->s[k];
    if (sd->hello_seq < 0)
        return R_MALFORMED; /* no handshake under way */
    sd->info.ccs_seen = true;
    /* The server's ChangeCipherSpec comes a round trip after its Certificate (RFC 5246
     * §7.3), so by now that Certificate must have been read. A client's may overtake its
     * own Certificate within one flight: there check_no_certificate() decides. */
    if (insp->client == 1 - k && sd->info.cert == DCGW_INSPECT_CERT_PENDING)
        block(insp, k, DCGW_INSPECT_CERT_NONE, DCGW_EPROTO,
              "ChangeCipherSpec without a Certificate");
    return R_PASS;
}

static int on_record(struct dcgw_dtls_inspect *insp, int k, const uint8_t *h)
{
    struct side *sd = &insp->s[k];
    uint8_t type = h[0];
    uint32_t epoch = be16(h + 3), len = be16(h + 11);
    const uint8_t *body = h + REC_HDR;
    bool verified = insp->state == DCGW_INSPECT_VERIFIED;
    if (type == CT_APP_DATA) {
        if (verified)
            return R_PASS;
        sd->st.held_app_data++; /* never before both certificates matched */
        return R_HELD;
    }
    if (epoch != 0) {
        /* Protected handshake/alert records (the encrypted Finished) of a handshake under
         * way pass unread; a Finished may overtake its ChangeCipherSpec within a flight. */
        if (verified || (epoch == 1 && type != CT_CCS && sd->hello_seq >= 0)) {
            sd->st.opaque++;
            return R_PASS;
        }
        sd->st.early_epoch++;
        return R_EARLY;
    }
    if (type == CT_CCS)
        return on_ccs(insp, k);
    if (type == CT_ALERT)
        return R_PASS;
    for (uint32_t off = 0; off < len;) {
        struct frag f = frag_at(body + off);
        int rc = on_fragment(insp, k, &f);
        if (rc != R_PASS ||
            (insp->state != DCGW_INSPECT_INSPECTING && insp->state != DCGW_INSPECT_VERIFIED))
            return rc;
        off += HS_HDR + f.flen;
    }
    return R_PASS;
}

/* ---- API ----------------------------------------------------------------------------------- */

static int verdict(struct side *sd, int v)
{
    if (v == DCGW_INSPECT_PASS)
        sd->st.passed++;
    else if (v == DCGW_INSPECT_DROP)
        sd->st.dropped++;
    else
        sd->st.blocked++;
    return v;
}

static int apply(struct dcgw_dtls_inspect *insp, int k, const uint8_t *p, size_t tail13)
{
    struct side *sd = &insp->s[k];
    for (size_t off = 0; off < tail13; off += REC_HDR + be16(p + off + 11)) {
        int rc = on_record(insp, k, p + off);
        if (insp->state == DCGW_INSPECT_BLOCKED)
            return DCGW_INSPECT_BLOCK;
        if (insp->state == DCGW_INSPECT_UNINSPECTED_ALLOWED)
            return DCGW_INSPECT_PASS;
        if (rc == R_PASS)
            continue;
        if (rc == R_CONFLICT) {
            sd->st.conflicts++;
            DCGW_LOG_RL(RELAY, INFO, "inspect: %s: fragment contradicts earlier ones, dropped",
                        side_names[k]);
        } else if (rc == R_MALFORMED) {
            sd->st.malformed++;
        }
        return DCGW_INSPECT_DROP;
    }
    return DCGW_INSPECT_PASS;
}

static int inspect(struct dcgw_dtls_inspect *insp, int side, const uint8_t *p, size_t n)
{
    struct side *sd = &insp->s[side];
    sd->st.datagrams++;
    sd->st.bytes += n;
    if (insp->state == DCGW_INSPECT_BLOCKED)
        return verdict(sd, DCGW_INSPECT_BLOCK);
    if (insp->state == DCGW_INSPECT_UNINSPECTED_ALLOWED)
        return verdict(sd, DCGW_INSPECT_PASS);

    uint64_t records;
    size_t tail13;
    const char *why = check_framing(p, n, &records, &tail13);
    if (why) {
        sd->st.malformed++;
        DCGW_LOG_RL(RELAY, INFO, "inspect: %s: %zu-byte datagram dropped: %s", side_names[side], n,
                    why);
        return verdict(sd, DCGW_INSPECT_DROP);
    }
    sd->st.records += records;
    int v = apply(insp, side, p, tail13);
    if (v == DCGW_INSPECT_PASS && tail13 < n && insp->state != DCGW_INSPECT_UNINSPECTED_ALLOWED) {
        sd->st.malformed++; /* DTLS 1.3 ciphertext, but no DTLS 1.3 handshake was seen */
        DCGW_LOG_RL(RELAY, INFO, "inspect: %s: DTLS 1.3 record while inspecting, dropped",
                    side_names[side]);
        v = DCGW_INSPECT_DROP;
    }
    return verdict(sd, v);
}

static void real_free(struct dcgw_dtls_inspect *insp)
{
    release_all(insp);
    free(insp);
}

int dcgw_dtls_inspect_datagram(struct dcgw_dtls_inspect *insp, int side, const uint8_t *p, size_t n)
{
    if (!insp || (side != 0 && side != 1) || (!p && n > 0))
        return DCGW_EINVAL;
    if (dcgw_reentry_busy(&insp->re))
        return DCGW_ESTATE;
    dcgw_reentry_enter(&insp->re); /* on_state runs inside */
    int v = inspect(insp, side, p, n);
    if (dcgw_reentry_leave(&insp->re))
        real_free(insp);
    return v;
}

static bool fps_valid(const struct dcgw_fingerprint *fps, size_t n)
{
    if (n == 0 || n > DCGW_INSPECT_MAX_FINGERPRINTS || !fps)
        return false;
    for (size_t i = 0; i < n; i++)
        if (fps[i].alg == DCGW_HASH_NONE || (unsigned)fps[i].alg > DCGW_HASH_SHA512 ||
            fps[i].len != dcgw_hash_len(fps[i].alg))
            return false;
    return true;
}

int dcgw_dtls_inspect_new(const struct dcgw_dtls_inspect_settings *s,
                          const struct dcgw_dtls_inspect_callbacks *cbs,
                          struct dcgw_dtls_inspect **out)
{
    if (!s || !out || !fps_valid(s->fps[0], s->n_fps[0]) || !fps_valid(s->fps[1], s->n_fps[1]) ||
        (unsigned)s->min_hash > DCGW_HASH_SHA512 ||
        (unsigned)s->policy > DCGW_INSPECT_ALLOW_UNINSPECTABLE_REPORT)
        return DCGW_EINVAL;
    size_t max = s->max_handshake_bytes ? s->max_handshake_bytes
                                        : (size_t)DCGW_INSPECT_HANDSHAKE_BYTES_DEFAULT;
    if (max < DCGW_INSPECT_HANDSHAKE_BYTES_MIN || max > DCGW_INSPECT_HANDSHAKE_BYTES_MAX)
        return DCGW_ERANGE;
    struct dcgw_dtls_inspect *insp = calloc(1, sizeof(*insp));
    if (!insp)
        return DCGW_ENOMEM;
    for (int k = 0; k < 2; k++) {
        memcpy(insp->s[k].fps, s->fps[k], s->n_fps[k] * sizeof(s->fps[k][0]));
        insp->s[k].n_fps = s->n_fps[k];
        insp->s[k].hello_seq = -1;
    }
    insp->min_hash = s->min_hash != DCGW_HASH_NONE ? s->min_hash : DCGW_HASH_SHA256;
    insp->max_bytes = max;
    insp->policy = s->policy;
    if (cbs)
        insp->cbs = *cbs;
    insp->decided_by = insp->client = -1;
    *out = insp;
    return 0;
}

void dcgw_dtls_inspect_free(struct dcgw_dtls_inspect *insp)
{
    if (insp && dcgw_reentry_free_now(&insp->re)) /* else from on_state: when it returns */
        real_free(insp);
}

enum dcgw_dtls_inspect_state dcgw_dtls_inspect_state(const struct dcgw_dtls_inspect *insp)
{
    return insp->state;
}

void dcgw_dtls_inspect_status(const struct dcgw_dtls_inspect *insp,
                              struct dcgw_dtls_inspect_status *out)
{
    bool final =
        insp->state == DCGW_INSPECT_BLOCKED || insp->state == DCGW_INSPECT_UNINSPECTED_ALLOWED;
    out->state = insp->state;
    out->side = insp->decided_by;
    out->err = final ? insp->s[insp->decided_by].info.err : 0;
    out->reason = final ? insp->s[insp->decided_by].info.reason : "";
    out->client = insp->client;
}

const struct dcgw_dtls_inspect_side *dcgw_dtls_inspect_side(const struct dcgw_dtls_inspect *insp,
                                                            int side)
{
    return side == 0 || side == 1 ? &insp->s[side].info : NULL;
}

const struct dcgw_dtls_inspect_stats *dcgw_dtls_inspect_stats(const struct dcgw_dtls_inspect *insp,
                                                              int side)
{
    return side == 0 || side == 1 ? &insp->s[side].st : NULL;
}

const char *dcgw_dtls_inspect_state_name(enum dcgw_dtls_inspect_state s)
{
    static const char *const names[] = {"inspecting", "verified", "blocked", "uninspected-allowed"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *dcgw_dtls_inspect_verdict_name(int verdict)
{
    static const char *const names[] = {"pass", "drop", "block"};
    return verdict >= 0 && verdict < 3 ? names[verdict] : "?";
}

const char *dcgw_dtls_inspect_cert_name(enum dcgw_dtls_inspect_cert c)
{
    static const char *const names[] = {"pending",   "matched", "mismatch",
                                        "weak-hash", "none",    "uninspectable"};
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}
