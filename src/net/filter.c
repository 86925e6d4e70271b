/* The unknown-source filter (filter.h, docs/floods.md): the libbpf skeleton of
 * bpf/unknown_filter.bpf.c with maps sized from the settings, loaded and attached to the
 * socket with SO_ATTACH_BPF. */
#include "dcgw/net/filter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/net/filter_abi.h"
#include "unknown_filter.skel.h"

struct dcgw_filter {
    int fd; /* the socket (not ours); -1 once nothing is attached */
    struct unknown_filter *skel;
};

/* libbpf's own messages: the caller reports the failure once, with its reason. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level, (void)fmt, (void)ap;
    return 0;
}

static int load(struct dcgw_filter *f, const struct dcgw_filter_settings *s, char *err,
                size_t errcap)
{
    f->skel = unknown_filter__open();
    if (!f->skel) {
        snprintf(err, errcap, "opening the BPF object: %s", strerror(errno));
        return DCGW_EUNSUPPORTED;
    }
    if (s->rate) {
        f->skel->rodata->cost_ns = 1000000000ull / s->rate;
        f->skel->rodata->max_ns = f->skel->rodata->cost_ns * (s->burst ? s->burst : s->rate);
    }
    if (bpf_map__set_max_entries(f->skel->maps.known, s->addresses) < 0 ||
        bpf_map__set_max_entries(f->skel->maps.buckets, s->sources ? s->sources : 1) < 0) {
        snprintf(err, errcap, "sizing the maps: %s", strerror(errno));
        return DCGW_EINTERNAL;
    }
    int r = unknown_filter__load(f->skel);
    if (r < 0) {
        snprintf(err, errcap, "loading the BPF program: %s%s", strerror(-r),
                 -r == EPERM || -r == EACCES ? " (needs CAP_BPF)" : "");
        return DCGW_EUNSUPPORTED;
    }
    int prog = bpf_program__fd(f->skel->progs.dcgw_unknown_filter);
    if (setsockopt(f->fd, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)) < 0) {
        snprintf(err, errcap, "attaching it to the socket: %s", strerror(errno));
        return DCGW_EUNSUPPORTED;
    }
    return 0;
}

int dcgw_filter_new(int fd, const struct dcgw_filter_settings *s, struct dcgw_filter **out,
                    char *err, size_t errcap)
{
    char dummy[1];
    if (!err)
        err = dummy, errcap = sizeof(dummy);
    *out = NULL;
    if (fd < 0 || !s || !s->addresses || (s->rate && !s->sources))
        return DCGW_EINVAL;
    struct dcgw_filter *f = calloc(1, sizeof(*f));
    if (!f)
        return DCGW_ENOMEM;
    f->fd = fd;
    libbpf_print_fn_t prev = libbpf_set_print(quiet);
    int r = load(f, s, err, errcap);
    libbpf_set_print(prev);
    if (r < 0) {
        f->fd = -1; /* nothing attached */
        dcgw_filter_free(f);
        return r;
    }
    *out = f;
    return 0;
}

static bool key_of(const struct sockaddr *sa, struct dcgw_uf_addr *k)
{
    memset(k, 0, sizeof(*k));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        k->version = 4;
        k->port = a->sin_port;
        memcpy(k->addr, &a->sin_addr, 4);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    k->port = a->sin6_port;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) { /* on the wire: IPv4 */
        k->version = 4;
        memcpy(k->addr, a->sin6_addr.s6_addr + 12, 4);
    } else {
        k->version = 6;
        memcpy(k->addr, &a->sin6_addr, 16);
    }
    return true;
}

int dcgw_filter_add(struct dcgw_filter *f, const struct sockaddr *addr)
{
    struct dcgw_uf_addr k;
    uint8_t one = 1;
    if (!key_of(addr, &k))
        return DCGW_EINVAL;
    int r = bpf_map_update_elem(bpf_map__fd(f->skel->maps.known), &k, &one, BPF_ANY);
    return r == 0 ? 0 : r == -E2BIG || r == -ENOMEM ? DCGW_ELIMIT : DCGW_EIO;
}

void dcgw_filter_del(struct dcgw_filter *f, const struct sockaddr *addr)
{
    struct dcgw_uf_addr k;
    if (key_of(addr, &k))
        bpf_map_delete_elem(bpf_map__fd(f->skel->maps.known), &k);
}

void dcgw_filter_stats(const struct dcgw_filter *f, struct dcgw_filter_stats *out)
{
    uint64_t v[DCGW_UF_COUNTERS] = {0};
    int fd = bpf_map__fd(f->skel->maps.counters);
    for (uint32_t i = 0; i < DCGW_UF_COUNTERS; i++)
        if (bpf_map_lookup_elem(fd, &i, &v[i]) < 0)
            v[i] = 0;
    out->dropped = v[DCGW_UF_DROPPED];
    out->limited = v[DCGW_UF_LIMITED];
}

void dcgw_filter_free(struct dcgw_filter *f)
{
    if (!f)
        return;
    if (f->fd >= 0) {
        int dummy = 0;
        setsockopt(f->fd, SOL_SOCKET, SO_DETACH_BPF, &dummy, sizeof(dummy));
    }
    unknown_filter__destroy(f->skel);
    free(f);
}
