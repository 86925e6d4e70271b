/* Worker certificate: generation, PEM load/store, fingerprints (RFC 8122 §5). */
#include "dcgw/stages/cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"

struct dcgw_cert {
    unsigned refs;
    X509 *x509;
    EVP_PKEY *key;
    uint8_t *der; /* cached DER encoding, hashed for our own fingerprints */
    size_t der_len;
};

static const EVP_MD *hash_md(enum dcgw_hash alg)
{
    switch (alg) {
    case DCGW_HASH_SHA1:
        return EVP_sha1();
    case DCGW_HASH_SHA224:
        return EVP_sha224();
    case DCGW_HASH_SHA256:
        return EVP_sha256();
    case DCGW_HASH_SHA384:
        return EVP_sha384();
    case DCGW_HASH_SHA512:
        return EVP_sha512();
    case DCGW_HASH_NONE:
        break;
    }
    return NULL;
}

static void log_ssl_error(const char *what)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    DCGW_ERROR(CORE, "cert: %s: %s", what, e ? buf : "no OpenSSL error");
    ERR_clear_error();
}

/* Takes ownership of x509 and key (also on error). */
static int cert_wrap(X509 *x509, EVP_PKEY *key, struct dcgw_cert **out)
{
    struct dcgw_cert *c = calloc(1, sizeof(*c));
    int len = i2d_X509(x509, NULL);
    int rc = DCGW_ENOMEM;
    if (!c)
        goto fail;
    rc = DCGW_ETOOBIG;
    if (len <= 0 || len > DCGW_CERT_DER_MAX)
        goto fail;
    rc = DCGW_ENOMEM;
    c->der = malloc((size_t)len);
    if (!c->der)
        goto fail;
    uint8_t *p = c->der;
    if (i2d_X509(x509, &p) != len) {
        rc = DCGW_EINTERNAL;
        goto fail;
    }
    c->der_len = (size_t)len;
    c->x509 = x509;
    c->key = key;
    c->refs = 1;
    *out = c;
    return 0;
fail:
    if (c)
        free(c->der);
    free(c);
    X509_free(x509);
    EVP_PKEY_free(key);
    return rc;
}

static int set_random_serial(X509 *x)
{
    uint8_t raw[DCGW_CERT_SERIAL_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return 0;
    raw[0] &= 0x7f; /* positive INTEGER */
    raw[0] |= 0x01; /* and of full length, never zero */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

int dcgw_cert_new(const struct dcgw_cert_settings *s, struct dcgw_cert **out)
{
    const char *cn = s && s->common_name ? s->common_name : "dcgw";
    unsigned days = s && s->validity_days ? s->validity_days : DCGW_CERT_VALIDITY_DAYS_DEFAULT;
    size_t cn_len = strlen(cn);
    if (!out || cn_len == 0 || cn_len > DCGW_CERT_CN_MAX || days > DCGW_CERT_VALIDITY_DAYS_MAX)
        return DCGW_EINVAL;

    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!key || !x || !name)
        goto fail;
    if (!X509_set_version(x, X509_VERSION_3) || !set_random_serial(x) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                    (int)cn_len, -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -(long)DCGW_CERT_BACKDATE_SECONDS) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 24 * 3600) ||
        !X509_set_pubkey(x, key) || X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    X509_NAME_free(name);
    return cert_wrap(x, key, out);
fail:
    log_ssl_error("generating the certificate");
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return DCGW_EINTERNAL;
}

/* Never prompt for a passphrase: an encrypted key is a configuration error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static int read_pem(const char *path, bool want_key, void **obj)
{
    BIO *b = BIO_new_file(path, "r");
    if (!b) {
        DCGW_ERROR(CORE, "cert: cannot open %s", path);
        ERR_clear_error();
        return DCGW_EIO;
    }
    if (want_key)
        *obj = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    else
        *obj = PEM_read_bio_X509(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    if (!*obj) {
        DCGW_ERROR(CORE, "cert: %s holds no %s", path, want_key ? "private key" : "certificate");
        ERR_clear_error();
        return DCGW_EMALFORMED;
    }
    return 0;
}

int dcgw_cert_load_pem(const char *cert_path, const char *key_path, struct dcgw_cert **out)
{
    if (!cert_path || !key_path || !out)
        return DCGW_EINVAL;
    void *xo = NULL, *ko = NULL;
    int rc = read_pem(cert_path, false, &xo);
    if (rc == 0)
        rc = read_pem(key_path, true, &ko);
    X509 *x = xo;
    EVP_PKEY *key = ko;
    if (rc == 0) {
        int id = EVP_PKEY_get_base_id(key);
        if (id != EVP_PKEY_EC && id != EVP_PKEY_RSA) {
            DCGW_ERROR(CORE, "cert: %s: key type %s is not usable for DTLS here", key_path,
                       OBJ_nid2sn(id));
            rc = DCGW_EUNSUPPORTED;
        } else if (X509_check_private_key(x, key) != 1) {
            DCGW_ERROR(CORE, "cert: %s does not belong to %s", key_path, cert_path);
            ERR_clear_error();
            rc = DCGW_EAUTH;
        }
    }
    if (rc != 0) {
        X509_free(x);
        EVP_PKEY_free(key);
        return rc;
    }
    return cert_wrap(x, key, out);
}

static BIO *open_private(const char *path, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return NULL;
    /* An existing file keeps its mode under O_TRUNC: tighten it. */
    if (fchmod(fd, mode) != 0) {
        close(fd);
        return NULL;
    }
    BIO *b = BIO_new_fd(fd, BIO_CLOSE);
    if (!b)
        close(fd);
    return b;
}

int dcgw_cert_write_pem(const struct dcgw_cert *c, const char *cert_path, const char *key_path)
{
    if (!c || !cert_path || !key_path)
        return DCGW_EINVAL;
    int rc = DCGW_EIO;
    BIO *cb = open_private(cert_path, 0644), *kb = NULL;
    if (!cb || PEM_write_bio_X509(cb, c->x509) != 1)
        goto out;
    kb = open_private(key_path, 0600);
    if (!kb || PEM_write_bio_PrivateKey(kb, c->key, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    if (BIO_flush(cb) == 1 && BIO_flush(kb) == 1)
        rc = 0;
out:
    if (rc != 0) {
        DCGW_ERROR(CORE, "cert: cannot write %s / %s: %s", cert_path, key_path, strerror(errno));
        ERR_clear_error();
    }
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

struct dcgw_cert *dcgw_cert_ref(struct dcgw_cert *c)
{
    c->refs++;
    return c;
}

void dcgw_cert_unref(struct dcgw_cert *c)
{
    if (!c || --c->refs > 0)
        return;
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
    free(c->der);
    free(c);
}

X509 *dcgw_cert_x509(const struct dcgw_cert *c)
{
    return c->x509;
}

EVP_PKEY *dcgw_cert_key(const struct dcgw_cert *c)
{
    return c->key;
}

const uint8_t *dcgw_cert_der(const struct dcgw_cert *c, size_t *len)
{
    *len = c->der_len;
    return c->der;
}

int dcgw_cert_fingerprint_der(const uint8_t *der, size_t len, enum dcgw_hash alg,
                              struct dcgw_fingerprint *out)
{
    const EVP_MD *md = hash_md(alg);
    unsigned n = 0;
    if (!md || !der || len == 0 || len > DCGW_CERT_DER_MAX)
        return DCGW_EINVAL;
    memset(out, 0, sizeof(*out));
    /* RFC 8122 §5: the fingerprint is the hash of the DER form of the certificate. */
    if (EVP_Digest(der, len, out->digest, &n, md, NULL) != 1 || n != dcgw_hash_len(alg)) {
        ERR_clear_error();
        return DCGW_EINTERNAL;
    }
    out->alg = alg;
    out->len = (uint8_t)n;
    return 0;
}

int dcgw_cert_fingerprint(const struct dcgw_cert *c, enum dcgw_hash alg,
                          struct dcgw_fingerprint *out)
{
    return dcgw_cert_fingerprint_der(c->der, c->der_len, alg, out);
}

int dcgw_cert_fingerprint_x509(const X509 *x, enum dcgw_hash alg, struct dcgw_fingerprint *out)
{
    const EVP_MD *md = hash_md(alg);
    unsigned n = 0;
    if (!md || !x)
        return DCGW_EINVAL;
    memset(out, 0, sizeof(*out));
    /* X509_digest hashes i2d_X509(x), which for a parsed certificate reuses the received
     * TBSCertificate bytes; peers send DER (RFC 5280), so this is the bytes they sent. */
    if (X509_digest(x, md, out->digest, &n) != 1 || n != dcgw_hash_len(alg)) {
        ERR_clear_error();
        return DCGW_EMALFORMED;
    }
    out->alg = alg;
    out->len = (uint8_t)n;
    return 0;
}
