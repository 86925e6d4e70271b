/* Shared by the SDP tests: see helper_sdp.h. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/sdp/sdp.h"
#include "helper_sdp.h"
#include "helper_suite.h"

static char errbuf[256];

void sdph_local_answer(struct dcgw_sdp_local *l, const struct dcgw_sdp *offer,
                       const struct dcgw_sdp_match *m, int leg)
{
    dcgw_sdp_local_init(l);
    strcpy(l->ice_ufrag, "dcgw");
    strcpy(l->ice_pwd, "dcgwdcgwdcgwdcgwdcgwdc");
    struct sockaddr_in *a = (struct sockaddr_in *)&l->addrs[0];
    a->sin_family = AF_INET;
    a->sin_port = htons(4000);
    a->sin_addr.s_addr = htonl(0x7f000001);
    l->n_addrs = 1;
    l->n_fingerprints = 1;
    l->fingerprints[0].alg = DCGW_HASH_SHA256;
    l->fingerprints[0].len = 32;
    l->setup = dcgw_sdp_answer_setup(offer->dc.setup, DCGW_SDP_SETUP_ACTIVE);
    l->av = m->av[leg];
    l->n_av = m->n_av[leg];
}

static char *load(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sdp/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(DCGW_SDP_TEXT_MAX + 1);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, DCGW_SDP_TEXT_MAX, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

struct dcgw_sdp *sdph_parse_file_in(const char *dir, const char *name, char **text)
{
    size_t len;
    *text = load(dir, name, &len);
    struct dcgw_sdp *s = malloc(sizeof(*s));
    ck_assert_ptr_nonnull(s);
    int rc = dcgw_sdp_parse(*text, len, s, errbuf, sizeof(errbuf));
    ck_assert_msg(rc == 0, "%s: %s (%s)", name, dcgw_err_name(rc), errbuf);
    return s;
}

void sdph_assert_addr(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char buf[INET6_ADDRSTRLEN] = "";
    int p;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
        p = ntohs(a->sin_port);
    } else {
        ck_assert_int_eq(ss->ss_family, AF_INET6);
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
        p = ntohs(a->sin6_port);
    }
    ck_assert_str_eq(buf, ip);
    if (port >= 0)
        ck_assert_int_eq(p, port);
}

int sdph_run(const struct sdph_tcase *tc)
{
    Suite *s = suite_create("sdp");
    TCase *t = tcase_create(tc->name);
    for (size_t i = 0; i <= 10; i++) {
        if (tc->loop && i == tc->loop_pos)
            tcase_add_loop_test(t, tc->loop, 0, tc->loop_end);
        if (i == 10 || !tc->tests[i])
            break;
        tcase_add_test(t, tc->tests[i]);
    }
    suite_add_tcase(s, t);
    return tsuite_run(s);
}
