/* Trust anchors for avatar signers: an OpenSSL X509_STORE of CA certificates and a table
 * of raw public keys by kid. See include/dcgw/guard/trust.h. */
#include "dcgw/guard/trust.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "dcgw/base/error.h"

struct trust_key {
    char kid[DCGW_JWS_KID_MAX + 1];
    EVP_PKEY *key;
};

struct dcgw_trust {
    unsigned refs;
    X509_STORE *store;
    size_t n_cas;
    struct trust_key *keys; /* grown as keys are added, up to DCGW_TRUST_KEYS_MAX */
    size_t n_keys, cap_keys;
};

static int fail(char *err, size_t cap, int code, const char *fmt, const char *arg)
{
    if (err && cap)
        snprintf(err, cap, fmt, arg);
    ERR_clear_error();
    return code;
}

int dcgw_trust_new(struct dcgw_trust **out)
{
    struct dcgw_trust *t = calloc(1, sizeof(*t));
    if (!t || !(t->store = X509_STORE_new())) {
        free(t);
        return DCGW_ENOMEM;
    }
    t->refs = 1;
    *out = t;
    return 0;
}

struct dcgw_trust *dcgw_trust_ref(struct dcgw_trust *t)
{
    t->refs++;
    return t;
}

void dcgw_trust_unref(struct dcgw_trust *t)
{
    if (!t || --t->refs)
        return;
    X509_STORE_free(t->store);
    for (size_t i = 0; i < t->n_keys; i++)
        EVP_PKEY_free(t->keys[i].key);
    free(t->keys);
    free(t);
}

size_t dcgw_trust_ca_count(const struct dcgw_trust *t)
{
    return t->n_cas;
}

size_t dcgw_trust_key_count(const struct dcgw_trust *t)
{
    return t->n_keys;
}

static int add_cert(struct dcgw_trust *t, X509 *x)
{
    if (t->n_cas >= DCGW_TRUST_CAS_MAX)
        return DCGW_ELIMIT;
    if (X509_STORE_add_cert(t->store, x) != 1)
        return DCGW_ENOMEM;
    t->n_cas++;
    return 0;
}

int dcgw_trust_add_ca_pem(struct dcgw_trust *t, const char *pem, size_t n, char *err, size_t errcap)
{
    if (n > DCGW_TRUST_FILE_MAX)
        return fail(err, errcap, DCGW_ETOOBIG, "%s", "PEM text too long");
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    if (!b)
        return DCGW_ENOMEM;
    int r = 0, added = 0;
    X509 *x;
    while (r == 0 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        r = add_cert(t, x);
        X509_free(x);
        added += r == 0;
    }
    /* the loop ends on "no start line" once the text is used up; anything else is junk */
    unsigned long e = ERR_peek_last_error();
    bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    BIO_free(b);
    if (r < 0)
        return fail(err, errcap, r, "%s",
                    r == DCGW_ELIMIT ? "too many CA certificates" : "out of memory");
    if (!added || (e && !clean_end))
        return fail(err, errcap, DCGW_EMALFORMED, "%s",
                    added ? "a PEM block is not a certificate" : "no PEM certificate");
    ERR_clear_error();
    return 0;
}

/* Reads a whole regular file of at most DCGW_TRUST_FILE_MAX bytes (a FIFO or a device
 * could block or never end); *out is malloc'd. */
static int read_file(const char *path, char **out, size_t *n)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return DCGW_EIO;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return DCGW_EIO;
    }
    char *buf = malloc(DCGW_TRUST_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, DCGW_TRUST_FILE_MAX + 1, f) : 0;
    int r = !buf                        ? DCGW_ENOMEM
            : ferror(f)                 ? DCGW_EIO
            : len > DCGW_TRUST_FILE_MAX ? DCGW_ETOOBIG
                                        : 0;
    fclose(f);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    *n = len;
    return 0;
}

int dcgw_trust_add_ca_file(struct dcgw_trust *t, const char *path, char *err, size_t errcap)
{
    char *text;
    size_t n;
    int r = read_file(path, &text, &n);
    if (r < 0)
        return fail(err, errcap, r, "%s: unreadable or too large", path);
    char why[200] = "";
    r = dcgw_trust_add_ca_pem(t, text, n, why, sizeof(why));
    free(text);
    if (r < 0 && err && errcap)
        snprintf(err, errcap, "%s: %s", path, why);
    return r;
}

static bool kid_ok(const char *kid)
{
    size_t n = kid ? strlen(kid) : 0;
    return n > 0 && n <= DCGW_JWS_KID_MAX;
}

static const struct trust_key *find_key(const struct dcgw_trust *t, const char *kid)
{
    for (size_t i = 0; i < t->n_keys; i++)
        if (strcmp(t->keys[i].kid, kid) == 0)
            return &t->keys[i];
    return NULL;
}

static int add_key(struct dcgw_trust *t, const char *kid, EVP_PKEY *key)
{
    if (find_key(t, kid))
        return DCGW_EEXIST;
    if (t->n_keys >= DCGW_TRUST_KEYS_MAX)
        return DCGW_ELIMIT;
    if (t->n_keys == t->cap_keys) { /* a store is per session: no table of the cap up front */
        size_t cap = t->cap_keys ? 2 * t->cap_keys : 4;
        struct trust_key *nk = realloc(t->keys, cap * sizeof(*nk));
        if (!nk)
            return DCGW_ENOMEM;
        t->keys = nk;
        t->cap_keys = cap;
    }
    struct trust_key *k = &t->keys[t->n_keys++];
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    k->key = key;
    return 0;
}

int dcgw_trust_add_key_pem(struct dcgw_trust *t, const char *kid, const char *pem, size_t n,
                           char *err, size_t errcap)
{
    if (!kid_ok(kid))
        return fail(err, errcap, DCGW_EINVAL, "%s", "kid must be 1 to 128 bytes");
    if (n > DCGW_TRUST_FILE_MAX)
        return fail(err, errcap, DCGW_ETOOBIG, "%s", "PEM text too long");
    BIO *b = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *key = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!key)
        return fail(err, errcap, DCGW_EMALFORMED, "kid %s: not a PEM public key", kid);
    int r = add_key(t, kid, key);
    if (r < 0) {
        EVP_PKEY_free(key);
        return fail(err, errcap, r,
                    r == DCGW_EEXIST ? "kid %s: already present" : "kid %s: too many keys", kid);
    }
    ERR_clear_error();
    return 0;
}

int dcgw_trust_add_keys_dir(struct dcgw_trust *t, const char *dir, char *err, size_t errcap)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errcap, DCGW_EIO, "%s: cannot open the directory", dir);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".pem") != 0 || de->d_name[0] == '.')
            continue;
        char kid[DCGW_JWS_KID_MAX + 1], path[4096];
        if (len - 4 > DCGW_JWS_KID_MAX)
            continue;
        snprintf(kid, sizeof(kid), "%.*s", (int)(len - 4), de->d_name);
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        char *text;
        size_t n;
        if ((r = read_file(path, &text, &n)) < 0) {
            fail(err, errcap, r, "%s: unreadable or too large", path);
            break;
        }
        char why[200] = "";
        r = dcgw_trust_add_key_pem(t, kid, text, n, why, sizeof(why));
        free(text);
        if (r < 0 && err && errcap)
            snprintf(err, errcap, "%s: %s", path, why);
    }
    closedir(d);
    return r;
}

int dcgw_trust_add_all(struct dcgw_trust *dst, const struct dcgw_trust *src)
{
    STACK_OF(X509) *all = X509_STORE_get1_all_certs(src->store);
    if (!all)
        return DCGW_ENOMEM;
    int r = 0;
    for (int i = 0; r == 0 && i < sk_X509_num(all); i++)
        r = add_cert(dst, sk_X509_value(all, i));
    sk_X509_pop_free(all, X509_free);
    for (size_t i = 0; r == 0 && i < src->n_keys; i++) {
        if (find_key(dst, src->keys[i].kid))
            continue;
        if (!EVP_PKEY_up_ref(src->keys[i].key))
            return DCGW_ENOMEM;
        if ((r = add_key(dst, src->keys[i].kid, src->keys[i].key)) < 0)
            EVP_PKEY_free(src->keys[i].key);
    }
    return r;
}

/* ---- signer resolution ----------------------------------------------------------------- */

static void describe(X509 *x, char *who, size_t cap)
{
    char cn[128] = "";
    X509_NAME *nm = X509_get_subject_name(x);
    if (X509_NAME_get_text_by_NID(nm, NID_commonName, cn, sizeof(cn)) > 0)
        snprintf(who, cap, "CN=%s", cn);
    else
        X509_NAME_oneline(nm, who, (int)cap);
}

static int verify_chain(const struct dcgw_trust *t, STACK_OF(X509) * x5c, int64_t now_unix,
                        char *err, size_t errcap)
{
    X509 *leaf = sk_X509_value(x5c, 0);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int r = untrusted && ctx ? 0 : DCGW_ENOMEM;
    for (int i = 1; r == 0 && i < sk_X509_num(x5c); i++)
        if (!sk_X509_push(untrusted, sk_X509_value(x5c, i)))
            r = DCGW_ENOMEM;
    if (r == 0 && X509_STORE_CTX_init(ctx, t->store, leaf, untrusted) != 1)
        r = DCGW_ENOMEM;
    if (r == 0) {
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(vp, (time_t)now_unix); /* the caller's clock */
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
        X509_VERIFY_PARAM_set_auth_level(vp, DCGW_TRUST_AUTH_LEVEL);
        if (X509_verify_cert(ctx) != 1)
            r = fail(err, errcap, DCGW_EUNTRUSTED, "x5c chain: %s",
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    /* RFC 5280 §4.2.1.3: the signer's certificate must allow digital signatures */
    if (r == 0 && (!(X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) ||
                   !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)))
        r = fail(err, errcap, DCGW_EUNTRUSTED, "%s", "x5c[0]: key usage lacks digitalSignature");
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    return r;
}

int dcgw_trust_signer(const struct dcgw_trust *t, const struct dcgw_jws *j, int64_t now_unix,
                      EVP_PKEY **key, char *who, size_t whocap, char *err, size_t errcap)
{
    if (j->x5c && sk_X509_num(j->x5c) > 0) {
        int r = verify_chain(t, j->x5c, now_unix, err, errcap);
        if (r < 0)
            return r;
        X509 *leaf = sk_X509_value(j->x5c, 0);
        EVP_PKEY *k = X509_get0_pubkey(leaf);
        if (!k || !EVP_PKEY_up_ref(k))
            return fail(err, errcap, DCGW_EUNTRUSTED, "%s", "x5c[0]: no usable public key");
        describe(leaf, who, whocap);
        *key = k;
        return 0;
    }
    if (!j->kid[0])
        return fail(err, errcap, DCGW_EUNTRUSTED, "%s", "neither x5c nor kid names the signer");
    const struct trust_key *tk = find_key(t, j->kid);
    if (!tk)
        return fail(err, errcap, DCGW_EUNTRUSTED, "kid \"%.128s\" is not a trusted key", j->kid);
    if (!EVP_PKEY_up_ref(tk->key))
        return DCGW_ENOMEM;
    snprintf(who, whocap, "kid:%s", tk->kid);
    *key = tk->key;
    return 0;
}
