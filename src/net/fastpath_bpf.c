/* The fast path's loader (include/dcgw/net/fastpath.h, docs/fastpath.md): opens the
 * libbpf skeleton of bpf/relay_fast.bpf.c with maps sized from the configuration, loads
 * it (the kernel's verifier checks it here) and attaches it to the ingress of each
 * interface: a TCX link (kernel 6.6+; detached when the worker's descriptors close, a
 * crash included) or a tc clsact filter (6.1; replaced by the next worker of the same
 * index, removed at close). The flow table over its maps is fastpath.c. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/base/log.h"
#include "fastpath_int.h"
#include "relay_fast.skel.h"

/* UAPI of 6.6 (Debian 12's headers are 6.1's): attach type of a TCX ingress link. */
enum { FP_TCX_INGRESS = 46, FP_MAX_IFACES = 8, FP_TC_PRIO_BASE = 0xdc00 };

struct iface {
    int ifindex;
    int link_fd; /* TCX link; -1 for tc */
    bool tc;     /* a tc filter to remove at close */
};

struct backend {
    struct relay_fast *skel;
    int fd[3]; /* flows, slots, gens */
    uint32_t prio;
    struct iface ifs[FP_MAX_IFACES];
    unsigned n_ifs;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    DCGW_DEBUG(IO, "libbpf: %s", line);
    return 0;
}

/* ---- map operations on the program's maps */

static int op_update(void *ud, enum dcgw_fastpath_map m, const void *key, const void *val,
                     uint64_t flags)
{
    struct backend *b = ud;
    int r = bpf_map_update_elem(b->fd[m], key, val, flags);
    return r < 0 ? -errno : 0;
}

static int op_lookup(void *ud, enum dcgw_fastpath_map m, const void *key, void *val, uint64_t flags)
{
    struct backend *b = ud;
    int r = bpf_map_lookup_elem_flags(b->fd[m], key, val, flags);
    return r < 0 ? -errno : 0;
}

static int op_remove(void *ud, enum dcgw_fastpath_map m, const void *key)
{
    struct backend *b = ud;
    int r = bpf_map_delete_elem(b->fd[m], key);
    return r < 0 ? -errno : 0;
}

static int iface_of(const struct sockaddr *local, char *name, size_t cap);

/* An address of this host: loopback, or one an interface holds. */
static bool op_is_local(void *ud, const struct sockaddr *addr)
{
    (void)ud;
    if (addr->sa_family == AF_INET &&
        (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127)
        return true;
    if (addr->sa_family == AF_INET6 &&
        IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)addr)->sin6_addr))
        return true;
    char name[IF_NAMESIZE];
    return iface_of(addr, name, sizeof(name)) == 0;
}

/* ---- interfaces */

/* The interface holding `local`'s address. */
static int iface_of(const struct sockaddr *local, char *name, size_t cap)
{
    struct ifaddrs *all = NULL;
    if (getifaddrs(&all) < 0)
        return DCGW_EIO;
    int r = DCGW_ENOENT;
    for (struct ifaddrs *i = all; i && r < 0; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != local->sa_family)
            continue;
        bool same = local->sa_family == AF_INET
                        ? memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
                                 &((const struct sockaddr_in *)local)->sin_addr, 4) == 0
                        : memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                                 &((const struct sockaddr_in6 *)local)->sin6_addr, 16) == 0;
        if (same) {
            snprintf(name, cap, "%s", i->ifa_name);
            r = 0;
        }
    }
    freeifaddrs(all);
    return r;
}

static int attach_tcx(struct backend *b, struct iface *f)
{
    int fd = bpf_link_create(bpf_program__fd(b->skel->progs.dcgw_relay_fast), f->ifindex,
                             (enum bpf_attach_type)FP_TCX_INGRESS, NULL);
    if (fd < 0)
        return -errno;
    f->link_fd = fd;
    return 0;
}

static int attach_tc(struct backend *b, struct iface *f)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = BPF_TC_INGRESS);
    int r = bpf_tc_hook_create(&hook);
    if (r < 0 && r != -EEXIST)
        return r;
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = b->prio,
                .prog_fd = bpf_program__fd(b->skel->progs.dcgw_relay_fast),
                .flags = BPF_TC_F_REPLACE);
    r = bpf_tc_attach(&hook, &opts);
    if (r < 0)
        return r;
    f->tc = true;
    return 0;
}

static void detach(struct backend *b, struct iface *f)
{
    if (f->link_fd >= 0)
        close(f->link_fd);
    f->link_fd = -1;
    if (f->tc) {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = BPF_TC_INGRESS);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = b->prio);
        bpf_tc_detach(&hook, &opts);
        f->tc = false;
    }
}

/* Attaches to one interface by name, as `mode` says; *used: "tcx" or "tc". */
static int attach_one(struct backend *b, const char *name, const char *mode, const char **used,
                      char *why, size_t whycap)
{
    if (b->n_ifs == FP_MAX_IFACES) {
        snprintf(why, whycap, "more than %d interfaces", FP_MAX_IFACES);
        return DCGW_ELIMIT;
    }
    struct iface *f = &b->ifs[b->n_ifs];
    *f = (struct iface){.ifindex = (int)if_nametoindex(name), .link_fd = -1};
    if (!f->ifindex) {
        snprintf(why, whycap, "interface %s: %s", name, strerror(errno));
        return DCGW_ENOENT;
    }
    int r = -EOPNOTSUPP;
    if (strcmp(mode, "tc") != 0) {
        r = attach_tcx(b, f);
        *used = "tcx";
    }
    if (r < 0 && strcmp(mode, "tcx") != 0) {
        r = attach_tc(b, f);
        *used = "tc";
    }
    if (r < 0) {
        snprintf(why, whycap, "attaching to %s (%s): %s", name, mode, strerror(-r));
        return DCGW_EIO;
    }
    b->n_ifs++;
    char path[128], v = '1';
    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", name);
    FILE *fw = strcmp(name, "lo") != 0 ? fopen(path, "r") : NULL; /* lo: only local peers */
    if (fw && fread(&v, 1, 1, fw) == 1 && v == '0')
        DCGW_INFO(IO,
                  "fast path: IPv4 forwarding is off on %s: the kernel forwards to peers on "
                  "this host only (net.ipv4.conf.%s.forwarding=1 for remote IPv4 peers)",
                  name, name);
    if (fw)
        fclose(fw);
    return 0;
}

static int attach_all(struct backend *b, const struct dcgw_fastpath_settings *st,
                      const struct sockaddr *local, const char **used, char *why, size_t whycap)
{
    const char *mode = st->attach && *st->attach ? st->attach : "auto";
    char list[256];
    if (st->interfaces && *st->interfaces) {
        snprintf(list, sizeof(list), "%s", st->interfaces);
    } else if (iface_of(local, list, sizeof(list)) < 0) {
        char a[DCGW_ADDR_STRLEN];
        snprintf(why, whycap, "no interface holds %s (set fast_path.interfaces)",
                 dcgw_addr_format(local, a, sizeof(a)));
        return DCGW_ENOENT;
    }
    char *save = NULL;
    for (char *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        int r = attach_one(b, name, mode, used, why, whycap);
        if (r < 0)
            return r;
    }
    return b->n_ifs ? 0 : DCGW_EINVAL;
}

/* ---- life */

static void backend_stats(struct dcgw_fastpath *fp, struct dcgw_fastpath_stats *out)
{
    struct backend *b = fp->backend;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0 || ncpu > 4096)
        return;
    uint64_t *v = calloc((size_t)ncpu, sizeof(uint64_t));
    uint64_t *dst[] = {&out->not_app_data, &out->no_route, &out->off};
    int fd = bpf_map__fd(b->skel->maps.misses);
    for (uint32_t k = 0; v && k < 3; k++)
        if (bpf_map_lookup_elem(fd, &k, v) == 0)
            for (int c = 0; c < ncpu; c++)
                *dst[k] += v[c];
    free(v);
}

static void backend_close(struct dcgw_fastpath *fp)
{
    struct backend *b = fp->backend;
    for (unsigned i = 0; i < b->n_ifs; i++)
        detach(b, &b->ifs[i]);
    relay_fast__destroy(b->skel);
    free(b);
}

static int load(struct backend *b, uint32_t max_flows, char *why, size_t whycap)
{
    b->skel = relay_fast__open();
    if (!b->skel) {
        snprintf(why, whycap, "opening the BPF object: %s", strerror(errno));
        return DCGW_EUNSUPPORTED;
    }
    uint32_t n = 2 * max_flows;
    if (bpf_map__set_max_entries(b->skel->maps.flows, n) < 0 ||
        bpf_map__set_max_entries(b->skel->maps.slots, n) < 0 ||
        bpf_map__set_max_entries(b->skel->maps.gens, n) < 0) {
        snprintf(why, whycap, "sizing the maps: %s", strerror(errno));
        return DCGW_EINTERNAL;
    }
    int r = relay_fast__load(b->skel);
    if (r < 0) {
        int e = -r;
        snprintf(why, whycap, "loading the BPF program: %s%s", strerror(e),
                 e == EPERM || e == EACCES ? " (needs CAP_BPF and CAP_NET_ADMIN)" : "");
        return DCGW_EUNSUPPORTED;
    }
    b->fd[DCGW_FP_MAP_FLOWS] = bpf_map__fd(b->skel->maps.flows);
    b->fd[DCGW_FP_MAP_SLOTS] = bpf_map__fd(b->skel->maps.slots);
    b->fd[DCGW_FP_MAP_GENS] = bpf_map__fd(b->skel->maps.gens);
    return 0;
}

int dcgw_fastpath_open(const struct dcgw_fastpath_settings *st, const struct sockaddr *local,
                       struct dcgw_fastpath **out, char *why, size_t whycap)
{
    static bool log_set;
    if (!log_set) {
        libbpf_set_print(libbpf_log);
        log_set = true;
    }
    struct dcgw_fp_key k;
    if (dcgw_fastpath_key(local, local, &k) < 0 || !memcmp(k.daddr, (uint8_t[16]){0}, 16)) {
        snprintf(why, whycap,
                 "needs a specific local address (data_plane.address), not a "
                 "wildcard");
        return DCGW_EINVAL;
    }
    struct backend *b = calloc(1, sizeof(*b));
    struct dcgw_fastpath *fp = calloc(1, sizeof(*fp));
    if (!b || !fp) {
        free(b);
        free(fp);
        snprintf(why, whycap, "out of memory");
        return DCGW_ENOMEM;
    }
    b->prio = FP_TC_PRIO_BASE + (st->owner & 0xff);
    uint32_t max = st->max_flows ? st->max_flows : DCGW_FAST_PATH_FLOWS_DEFAULT;
    const char *used = "tcx";
    struct dcgw_fastpath_ops ops = {.ud = b,
                                    .update = op_update,
                                    .lookup = op_lookup,
                                    .remove = op_remove,
                                    .is_local = op_is_local};
    int r = load(b, max, why, whycap);
    if (r == 0)
        r = dcgw__fastpath_table_init(fp, &ops, max);
    fp->backend = b;
    fp->backend_stats = backend_stats;
    fp->backend_close = backend_close;
    if (r == 0)
        r = attach_all(b, st, local, &used, why, whycap);
    if (r < 0) {
        dcgw_fastpath_close(fp);
        return r;
    }
    fp->st.attach = used;
    *out = fp;
    return 0;
}
