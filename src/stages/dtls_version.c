/* Which libssl dcgw links (cmake/libssl.cmake): the version its headers had, against the
 * libcrypto found at run time. */
#include "dcgw/stages/dtls.h"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

bool dcgw_dtls_libssl_patched(void)
{
#ifdef DCGW_LIBSSL_PATCHED
    return true;
#else
    return false;
#endif
}

bool dcgw_dtls_libssl_versions(unsigned long *built, unsigned long *runtime)
{
#ifdef DCGW_LIBSSL_VERSION_NUMBER
    *built = DCGW_LIBSSL_VERSION_NUMBER; /* the source the static libssl was built from */
#else
    *built = OPENSSL_VERSION_NUMBER; /* the system's libssl: the headers dcgw was built with */
#endif
    *runtime = OpenSSL_version_num();
    return *built == *runtime;
}
