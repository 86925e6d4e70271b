/* usrsctp patch 0004 (third_party/usrsctp/README.md): a process holds more than 40,000
 * associations. Unpatched usrsctp refuses the 40,001st (ENOBUFS from connect), which
 * capped a dcgw worker at 20,000 bridged sessions and the bench's endpoint processes at
 * 40,000. 40,010 non-blocking AF_CONN connects, each its own association (an INIT sent to
 * nobody), then all closed: every one made with the patched library, the 40,001st refused
 * with the system one. About 2 s and 300 MB. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "dcgw/stages/sctp.h"
#include "helper_suite.h"

enum { UNPATCHED_MAX = 40000, TRY = UNPATCHED_MAX + 10, FIRST_PORT = 10000 };

static char anchor;

/* A socket bound to local port `port` of the anchor address, connecting to port 5000:
 * its association exists once connect returned EINPROGRESS. NULL with *err set else. */
static struct socket *assoc(uint16_t port, int *err)
{
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    ck_assert_ptr_nonnull(so);
    ck_assert_int_eq(usrsctp_set_non_blocking(so, 1), 0);
    struct sockaddr_conn a;
    memset(&a, 0, sizeof(a));
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = &anchor;
    ck_assert_int_eq(usrsctp_bind(so, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sconn_port = htons(5000);
    if (usrsctp_connect(so, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS)
        return so;
    *err = errno;
    usrsctp_close(so);
    return NULL;
}

START_TEST(more_than_40000_associations)
{
    ck_assert_int_eq(dcgw_sctp_stack_init(NULL), 0);
    usrsctp_register_address(&anchor);
    struct socket **v = calloc(TRY, sizeof(*v));
    ck_assert_ptr_nonnull(v);
    unsigned made = 0;
    int err = 0;
    for (unsigned i = 0; i < TRY; i++) {
        v[i] = assoc((uint16_t)(FIRST_PORT + i), &err);
        if (!v[i])
            break;
        made++;
    }
#ifdef DCGW_USRSCTP_PATCHED
    ck_assert_uint_eq(made, TRY);
#else
    ck_assert_uint_eq(made, UNPATCHED_MAX);
    ck_assert_int_eq(err, ENOBUFS);
#endif
    for (unsigned i = 0; i < made; i++)
        usrsctp_close(v[i]);
    free(v);
    usrsctp_deregister_address(&anchor);
}
END_TEST

int main(void)
{
    const TTest *tests[] = {more_than_40000_associations, NULL};
    Suite *s = suite_create("sctp_many");
    tsuite_add(s, "associations", 60, NULL, NULL, tests);
    return tsuite_run(s);
}
