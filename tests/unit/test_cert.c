/* Worker certificate: generation, PEM round trip, key checks, fingerprints (RFC 8122 §5). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "helper_suite.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dcgw-cert-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tmp(const char *name)
{
    static char buf[4][128];
    static int i;
    char *p = buf[i++ % 4];
    snprintf(p, 128, "%s/%s", tmpdir, name);
    return p;
}

/* Seconds between t and now (positive when t is in the future). */
static long seconds_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;
    ck_assert(ASN1_TIME_diff(&days, &secs, NULL, t));
    return (long)days * 86400 + secs;
}

START_TEST(generate_defaults)
{
    struct dcgw_cert *c = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c), 0);
    X509 *x = dcgw_cert_x509(c);
    EVP_PKEY *k = dcgw_cert_key(c);

    char group[64];
    size_t glen = 0;
    ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    ck_assert(EVP_PKEY_get_group_name(k, group, sizeof(group), &glen));
    ck_assert_str_eq(group, "prime256v1");
    ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
    ck_assert_int_eq(X509_verify(x, k), 1); /* self-signed with its own key */
    ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

    char cn[64];
    ck_assert_int_eq(
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)), 4);
    ck_assert_str_eq(cn, "dcgw");

    long nb = seconds_from_now(X509_get0_notBefore(x));
    long na = seconds_from_now(X509_get0_notAfter(x));
    ck_assert_int_le(labs(nb + 86400), 120);
    ck_assert_int_le(labs(na - 30L * 86400), 120);

    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
    ck_assert_int_ge(BN_num_bytes(bn), DCGW_CERT_SERIAL_BYTES - 1);
    ck_assert_int_le(BN_num_bytes(bn), 20);

    /* a second certificate has its own key, serial and fingerprint */
    struct dcgw_cert *c2 = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c2), 0);
    BIGNUM *bn2 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(dcgw_cert_x509(c2)), NULL);
    ck_assert_int_ne(BN_cmp(bn, bn2), 0);
    struct dcgw_fingerprint f1, f2;
    ck_assert_int_eq(dcgw_cert_fingerprint(c, DCGW_HASH_SHA256, &f1), 0);
    ck_assert_int_eq(dcgw_cert_fingerprint(c2, DCGW_HASH_SHA256, &f2), 0);
    ck_assert(!dcgw_fingerprint_equal(&f1, &f2));
    ck_assert_int_ne(EVP_PKEY_eq(k, dcgw_cert_key(c2)), 1);

    BN_free(bn);
    BN_free(bn2);
    dcgw_cert_unref(c);
    dcgw_cert_unref(c2);
}
END_TEST

START_TEST(generate_settings_and_refs)
{
    struct dcgw_cert_settings s = {.common_name = "mf-worker-3", .validity_days = 5};
    struct dcgw_cert *c = NULL;
    ck_assert_int_eq(dcgw_cert_new(&s, &c), 0);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(dcgw_cert_x509(c)), NID_commonName, cn,
                              sizeof(cn));
    ck_assert_str_eq(cn, "mf-worker-3");
    ck_assert_int_le(labs(seconds_from_now(X509_get0_notAfter(dcgw_cert_x509(c))) - 5 * 86400),
                     120);

    /* references: the certificate survives the creator's unref while another holds it */
    ck_assert_ptr_eq(dcgw_cert_ref(c), c);
    dcgw_cert_unref(c);
    size_t len = 0;
    ck_assert_ptr_nonnull(dcgw_cert_der(c, &len));
    ck_assert_uint_gt(len, 100);
    dcgw_cert_unref(c);
    dcgw_cert_unref(NULL);

    char longcn[DCGW_CERT_CN_MAX + 2];
    memset(longcn, 'a', sizeof(longcn) - 1);
    longcn[sizeof(longcn) - 1] = '\0';
    struct dcgw_cert_settings bad = {.common_name = longcn};
    struct dcgw_cert *none = NULL;
    ck_assert_int_eq(dcgw_cert_new(&bad, &none), DCGW_EINVAL);
    bad = (struct dcgw_cert_settings){.common_name = ""};
    ck_assert_int_eq(dcgw_cert_new(&bad, &none), DCGW_EINVAL);
    bad = (struct dcgw_cert_settings){.validity_days = DCGW_CERT_VALIDITY_DAYS_MAX + 1};
    ck_assert_int_eq(dcgw_cert_new(&bad, &none), DCGW_EINVAL);
    ck_assert_ptr_null(none);
}
END_TEST

START_TEST(pem_round_trip)
{
    make_tmpdir();
    struct dcgw_cert *c = NULL, *l = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(c, tmp("cert.pem"), tmp("key.pem")), 0);

    struct stat st;
    ck_assert_int_eq(stat(tmp("key.pem"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);

    ck_assert_int_eq(dcgw_cert_load_pem(tmp("cert.pem"), tmp("key.pem"), &l), 0);
    size_t n1, n2;
    const uint8_t *d1 = dcgw_cert_der(c, &n1), *d2 = dcgw_cert_der(l, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(d1, d2, n1);
    ck_assert_int_eq(EVP_PKEY_eq(dcgw_cert_key(c), dcgw_cert_key(l)), 1);
    for (enum dcgw_hash h = DCGW_HASH_SHA1; h <= DCGW_HASH_SHA512; h++) {
        struct dcgw_fingerprint a, b;
        ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &a), 0);
        ck_assert_int_eq(dcgw_cert_fingerprint(l, h, &b), 0);
        ck_assert(dcgw_fingerprint_equal(&a, &b));
    }

    /* overwriting an existing world-readable key file tightens its mode */
    ck_assert_int_eq(chmod(tmp("key.pem"), 0644), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(l, tmp("cert.pem"), tmp("key.pem")), 0);
    ck_assert_int_eq(stat(tmp("key.pem"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(dcgw_cert_write_pem(c, "/nonexistent/dir/c.pem", tmp("k2.pem")), DCGW_EIO);

    dcgw_cert_unref(c);
    dcgw_cert_unref(l);
    remove_tmpdir();
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_key(EVP_PKEY *k, const char *path, const char *passphrase)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_PrivateKey(f, k, passphrase ? EVP_aes_128_cbc() : NULL,
                                          (unsigned char *)passphrase,
                                          passphrase ? (int)strlen(passphrase) : 0, NULL, NULL),
                     1);
    fclose(f);
}

/* A self-signed certificate for key k, written to path (for key types dcgw does not make). */
static void write_selfsigned(EVP_PKEY *k, const EVP_MD *md, const char *path)
{
    X509 *x = X509_new();
    ck_assert_ptr_nonnull(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    ck_assert_int_gt(X509_sign(x, k, md), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
}

START_TEST(pem_load_errors)
{
    make_tmpdir();
    struct dcgw_cert *a = NULL, *b = NULL, *out = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &a), 0);
    ck_assert_int_eq(dcgw_cert_new(NULL, &b), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(a, tmp("a.pem"), tmp("a.key")), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(b, tmp("b.pem"), tmp("b.key")), 0);

    /* a key that is not the certificate's */
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("a.pem"), tmp("b.key"), &out), DCGW_EAUTH);
    /* missing files, garbage, swapped files */
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("none.pem"), tmp("a.key"), &out), DCGW_EIO);
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("a.pem"), tmp("none.key"), &out), DCGW_EIO);
    write_file(tmp("junk"),
               "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n");
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("junk"), tmp("a.key"), &out), DCGW_EMALFORMED);
    write_file(tmp("empty"), "");
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("empty"), tmp("a.key"), &out), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("a.key"), tmp("a.key"), &out), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("a.pem"), tmp("a.pem"), &out), DCGW_EMALFORMED);
    ck_assert_int_eq(dcgw_cert_load_pem(NULL, tmp("a.key"), &out), DCGW_EINVAL);

    /* an encrypted key is refused without prompting for a passphrase */
    write_key(dcgw_cert_key(a), tmp("enc.key"), "secret");
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("a.pem"), tmp("enc.key"), &out), DCGW_EMALFORMED);

    /* Ed25519 cannot be used with the DTLS 1.2 suites we offer */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ck_assert_ptr_nonnull(ed);
    write_key(ed, tmp("ed.key"), NULL);
    write_selfsigned(ed, NULL, tmp("ed.pem"));
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("ed.pem"), tmp("ed.key"), &out), DCGW_EUNSUPPORTED);
    EVP_PKEY_free(ed);
    ck_assert_ptr_null(out);

    /* RSA is accepted (ECDHE-RSA suites) */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(rsa);
    write_key(rsa, tmp("rsa.key"), NULL);
    write_selfsigned(rsa, EVP_sha256(), tmp("rsa.pem"));
    ck_assert_int_eq(dcgw_cert_load_pem(tmp("rsa.pem"), tmp("rsa.key"), &out), 0);
    ck_assert_int_eq(EVP_PKEY_get_base_id(dcgw_cert_key(out)), EVP_PKEY_RSA);
    dcgw_cert_unref(out);
    EVP_PKEY_free(rsa);

    dcgw_cert_unref(a);
    dcgw_cert_unref(b);
    remove_tmpdir();
}
END_TEST

/* The fixed certificate's fingerprints, computed by the openssl tool when the vector was
 * made (tests/data/dtls/fixed.fingerprints), must come out of all three entry points. */
START_TEST(fingerprint_known_vector)
{
    struct dcgw_cert *c = NULL;
    ck_assert_int_eq(
        dcgw_cert_load_pem(DCGW_TEST_DATA "/dtls/fixed.pem", DCGW_TEST_DATA "/dtls/fixed.key", &c),
        0);
    FILE *f = fopen(DCGW_TEST_DATA "/dtls/fixed.fingerprints", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    unsigned seen = 0;
    size_t der_len;
    const uint8_t *der = dcgw_cert_der(c, &der_len);
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, "\r\n")] = '\0';
        struct dcgw_fingerprint want, a, b, x;
        ck_assert_int_eq(dcgw_fingerprint_parse(line, strlen(line), &want), 0);
        ck_assert_int_eq(dcgw_cert_fingerprint(c, want.alg, &a), 0);
        ck_assert_int_eq(dcgw_cert_fingerprint_der(der, der_len, want.alg, &b), 0);
        ck_assert_int_eq(dcgw_cert_fingerprint_x509(dcgw_cert_x509(c), want.alg, &x), 0);
        ck_assert_msg(dcgw_fingerprint_equal(&a, &want), "%s", line);
        ck_assert(dcgw_fingerprint_equal(&b, &want));
        ck_assert(dcgw_fingerprint_equal(&x, &want));
        char text[DCGW_FINGERPRINT_TEXT_MAX + 16];
        ck_assert_int_gt(dcgw_fingerprint_format(&a, text, sizeof(text)), 0);
        ck_assert_str_eq(text, line);
        seen |= 1u << want.alg;
    }
    fclose(f);
    /* every hash is covered */
    for (enum dcgw_hash h = DCGW_HASH_SHA1; h <= DCGW_HASH_SHA512; h++)
        ck_assert(seen & (1u << h));
    /* one flipped bit of DER gives another fingerprint */
    uint8_t *copy = malloc(der_len);
    memcpy(copy, der, der_len);
    copy[der_len / 2] ^= 1;
    struct dcgw_fingerprint orig, flipped;
    dcgw_cert_fingerprint(c, DCGW_HASH_SHA256, &orig);
    ck_assert_int_eq(dcgw_cert_fingerprint_der(copy, der_len, DCGW_HASH_SHA256, &flipped), 0);
    ck_assert(!dcgw_fingerprint_equal(&orig, &flipped));
    free(copy);
    dcgw_cert_unref(c);
}
END_TEST

/* A freshly generated certificate against the openssl tool, run now. */
START_TEST(fingerprint_matches_openssl_tool)
{
    make_tmpdir();
    struct dcgw_cert *c = NULL;
    ck_assert_int_eq(dcgw_cert_new(NULL, &c), 0);
    ck_assert_int_eq(dcgw_cert_write_pem(c, tmp("c.pem"), tmp("c.key")), 0);
    static const char *const tool[] = {NULL, "sha1", "sha224", "sha256", "sha384", "sha512"};
    for (enum dcgw_hash h = DCGW_HASH_SHA1; h <= DCGW_HASH_SHA512; h++) {
        char cmd[256], out[512];
        snprintf(cmd, sizeof(cmd), "openssl x509 -in %s -noout -fingerprint -%s", tmp("c.pem"),
                 tool[h]);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
        ck_assert_int_eq(pclose(p), 0);
        out[strcspn(out, "\r\n")] = '\0';
        const char *hex = strchr(out, '=');
        ck_assert_ptr_nonnull(hex);
        struct dcgw_fingerprint fp;
        ck_assert_int_eq(dcgw_cert_fingerprint(c, h, &fp), 0);
        char mine[DCGW_FINGERPRINT_TEXT_MAX + 1];
        ck_assert_int_gt(dcgw_fingerprint_format_hex(&fp, mine, sizeof(mine)), 0);
        ck_assert_str_eq(mine, hex + 1);
    }
    dcgw_cert_unref(c);
    remove_tmpdir();
}
END_TEST

START_TEST(fingerprint_bad_arguments)
{
    struct dcgw_fingerprint fp;
    uint8_t der[8] = {0x30, 0x03, 0x02, 0x01, 0x01};
    ck_assert_int_eq(dcgw_cert_fingerprint_der(der, 0, DCGW_HASH_SHA256, &fp), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_cert_fingerprint_der(der, sizeof(der), DCGW_HASH_NONE, &fp), DCGW_EINVAL);
    ck_assert_int_eq(dcgw_cert_fingerprint_der(der, sizeof(der), (enum dcgw_hash)42, &fp),
                     DCGW_EINVAL);
    ck_assert_int_eq(dcgw_cert_fingerprint_der(der, DCGW_CERT_DER_MAX + 1, DCGW_HASH_SHA256, &fp),
                     DCGW_EINVAL);
    ck_assert_int_eq(dcgw_cert_fingerprint_x509(NULL, DCGW_HASH_SHA256, &fp), DCGW_EINVAL);
    /* bytes that are not a certificate still hash: the relay inspector does not parse */
    ck_assert_int_eq(dcgw_cert_fingerprint_der(der, sizeof(der), DCGW_HASH_SHA1, &fp), 0);
    ck_assert_int_eq(fp.alg, DCGW_HASH_SHA1);
    ck_assert_uint_eq(fp.len, 20);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cert");
    TCase *gen = tcase_create("generate");
    tcase_add_test(gen, generate_defaults);
    tcase_add_test(gen, generate_settings_and_refs);
    suite_add_tcase(s, gen);
    TCase *pem = tcase_create("pem");
    tcase_set_timeout(pem, 20);
    tcase_add_test(pem, pem_round_trip);
    tcase_add_test(pem, pem_load_errors);
    suite_add_tcase(s, pem);
    TCase *fp = tcase_create("fingerprint");
    tcase_add_test(fp, fingerprint_known_vector);
    tcase_add_test(fp, fingerprint_matches_openssl_tool);
    tcase_add_test(fp, fingerprint_bad_arguments);
    suite_add_tcase(s, fp);

    return tsuite_run(s);
}
