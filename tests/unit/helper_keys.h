/* Test data files for the JWS and avatar tests (tests/data/avatar/gen.sh): whole files,
 * PEM keys and certificates, and the trust store they name. Each call fails the running
 * test when a file is missing or unreadable; the caller frees what it gets. */
#ifndef DCGW_TEST_KEYS_H
#define DCGW_TEST_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcgw/guard/trust.h"

/* The file's bytes (under 1 MiB) and a NUL after them; strip drops trailing newlines.
 * *n (if n) gets the length. free() it. */
void *keys_slurp(const char *path, size_t *n, bool strip);
/* The PEM private key <dir><name>.key. EVP_PKEY_free() it. */
EVP_PKEY *keys_load_priv(const char *dir, const char *name);
/* The PEM certificate <dir><name>.pem. X509_free() it. */
X509 *keys_load_cert(const char *dir, const char *name);
/* A trust store with the CA <dir>ca.pem and the raw keys in <dir>keys. */
struct dcgw_trust *keys_trust_new(const char *dir);

#endif
