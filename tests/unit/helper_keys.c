#include "helper_keys.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/pem.h>

void *keys_slurp(const char *path, size_t *n, bool strip)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    size_t len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    while (strip && len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    if (n)
        *n = len;
    return buf;
}

static void *read_priv(FILE *f)
{
    return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

static void *read_cert(FILE *f)
{
    return PEM_read_X509(f, NULL, NULL, NULL);
}

/* What rd() makes of the file <dir><name><ext>; fails the test if nothing. */
static void *load_pem(const char *dir, const char *name, const char *ext, void *(*rd)(FILE *))
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s%s", dir, name, ext);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    void *obj = rd(f);
    fclose(f);
    ck_assert_msg(obj != NULL, "%s", path);
    return obj;
}

EVP_PKEY *keys_load_priv(const char *dir, const char *name)
{
    return load_pem(dir, name, ".key", read_priv);
}

X509 *keys_load_cert(const char *dir, const char *name)
{
    return load_pem(dir, name, ".pem", read_cert);
}

struct dcgw_trust *keys_trust_new(const char *dir)
{
    char ca[512], keys[512], err[300] = "";
    snprintf(ca, sizeof(ca), "%sca.pem", dir);
    snprintf(keys, sizeof(keys), "%skeys", dir);
    struct dcgw_trust *t;
    ck_assert_int_eq(dcgw_trust_new(&t), 0);
    ck_assert_msg(dcgw_trust_add_ca_file(t, ca, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(dcgw_trust_add_keys_dir(t, keys, err, sizeof(err)) == 0, "%s", err);
    return t;
}
