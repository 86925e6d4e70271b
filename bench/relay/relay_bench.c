/* relay_bench: what forwarding one relayed datagram costs, by path, in the same run
 * (docs/fastpath.md "Bench"; tools/relay_bench.sh starts the daemons and the forwarder):
 *
 *   direct     peer A ------------------------------------------------> peer B
 *   fwd        peer A --> dcgw-relay-fwd (raw recvmmsg/sendmmsg) -------> peer B
 *   NAME=SOCK  peer A --> dcgwd relay session (inspected, verified) ---> peer B, one per
 *              --relay: e.g. userspace (gso, gro, fast path off), gso (gso and gro on),
 *              bpf (fast path on); NAME=SOCK,PID,netns: the daemon runs in a network
 *              namespace of its own (a fast path's program then sees only its traffic)
 *              and the path's peers are opened in it
 *
 * Each relay path gets its own pair of dcgw client legs (ICE + DTLS 1.2 end to end); the
 * flow is verified, then one real application_data record of each peer is replayed:
 * closed loop, at most --window in flight, A -> B, --packets datagrams. For every path the
 * CPU of the whole machine (/proc/stat: user, nice, system, irq, softirq, steal) and of
 * the processes involved (this one, the daemon or forwarder, ksoftirqd, plus irq and
 * softirq time) is read around the run. The forwarding's CPU is a path's minus the direct
 * path's for the same traffic, taken per repeat (paths take turns) and the median
 * reported: datagrams per CPU-second = packets / that. Prints a table, the spread over
 * the repeats and the load average; with -j, JSON with every repeat's figures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/base/error.h"
#include "peers.h"
#include "stats.h"

enum { BATCH = 32, MAX_PATHS = 6, MAX_REPEAT = 15 };

struct path {
    char name[32];
    struct peer a, b;
    const struct sockaddr *to; /* where A sends */
    struct sockaddr_storage to_ss;
    struct dcgw_ctlclient *c; /* relay paths */
    pid_t pid;                /* the daemon's / forwarder's (0: none) */
    double pps[MAX_REPEAT], sys_ns[MAX_REPEAT], own_ns[MAX_REPEAT]; /* per datagram */
    double irq_ns[MAX_REPEAT];                 /* the machine's irq + softirq, part of own_ns */
    double fsys[MAX_REPEAT], fown[MAX_REPEAT]; /* minus the direct path's, same repeat */
    double sys, own;                           /* their medians (direct: its own) */
    unsigned lost;
};

/* ---- CPU */

static uint64_t hz;
static bool gso_input; /* --gso-input: A sends runs of 32 as one UDP_SEGMENT buffer */

/* Busy jiffies of the machine, and of irq+softirq alone. */
static void machine(uint64_t *busy, uint64_t *irq)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                     &v[4], &v[5], &v[6], &v[7]) != 8)
        die("/proc/stat", DCGW_EIO);
    fclose(f);
    *busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    *irq = v[5] + v[6];
}

static uint64_t task_jiffies(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    uint64_t t = 0;
    if (fgets(line, sizeof(line), f)) {
        char *p = strrchr(line, ')');
        unsigned long long ut = 0, st = 0, cut = 0, cst = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu",
                        &ut, &st, &cut, &cst) == 4)
            t = ut + st + cut + cst;
    }
    fclose(f);
    return t;
}

/* This process, pid and its children (the daemon's workers), and ksoftirqd. */
static uint64_t own_jiffies(pid_t pid)
{
    uint64_t t = task_jiffies(getpid());
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        pid_t p = (pid_t)atoi(e->d_name);
        if (p <= 0)
            continue;
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(line, sizeof(line), f)) {
            int ppid = 0;
            char *c = strrchr(line, ')');
            if (c)
                sscanf(c + 2, "%*c %d", &ppid);
            if ((pid && (p == pid || ppid == pid)) || strstr(line, "(ksoftirqd/"))
                t += task_jiffies(p);
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return t;
}

/* ---- traffic */

/* Closed loop: datagrams/s from `from` to `to_fd` via `dst`, at most window in flight. */
static double rate(struct peer *from, int to_fd, const struct sockaddr *dst, unsigned total,
                   unsigned window, unsigned *lost)
{
    struct mmsghdr msg[BATCH];
    struct iovec iov[BATCH];
    static uint8_t rx[BATCH][PEER_SLOT];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = from->record, .iov_len = from->record_n};
        msg[i].msg_hdr = (struct msghdr){.msg_name = (void *)dst,
                                         .msg_namelen = dcgw_addr_len(dst),
                                         .msg_iov = &iov[i],
                                         .msg_iovlen = 1};
    }
    unsigned sent = 0, got = 0;
    uint64_t t0 = now_us(), last = t0;
    while (got < total) {
        if (sent < total && sent - got + BATCH <= window) {
            unsigned n = total - sent < BATCH ? total - sent : BATCH;
            int r;
            if (gso_input) { /* one buffer of n datagrams, cut by the kernel (UDP_SEGMENT) */
                char ctl[CMSG_SPACE(sizeof(uint16_t))] = {0};
                struct msghdr h = msg[0].msg_hdr;
                h.msg_iov = iov;
                h.msg_iovlen = n;
                h.msg_control = ctl;
                h.msg_controllen = sizeof(ctl);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&h);
                cm->cmsg_level = SOL_UDP;
                cm->cmsg_type = UDP_SEGMENT;
                cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
                uint16_t seg = (uint16_t)from->record_n;
                memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
                r = sendmsg(from->fd, &h, 0) > 0 ? (int)n : -1;
            } else {
                r = sendmmsg(from->fd, msg, n, 0);
            }
            if (r > 0)
                sent += (unsigned)r;
        }
        struct mmsghdr rm[BATCH];
        struct iovec ri[BATCH];
        for (int i = 0; i < BATCH; i++) {
            ri[i] = (struct iovec){.iov_base = rx[i], .iov_len = PEER_SLOT};
            rm[i].msg_hdr = (struct msghdr){.msg_iov = &ri[i], .msg_iovlen = 1};
        }
        int r = recvmmsg(to_fd, rm, BATCH, MSG_DONTWAIT, NULL);
        if (r > 0) {
            got += (unsigned)r;
            last = now_us();
        } else if (sent - got + BATCH > window || sent == total) {
            struct pollfd p = {.fd = to_fd, .events = POLLIN};
            poll(&p, 1, 1);
            if (now_us() - last > 100000) { /* lost in a queue: the window opens again */
                *lost += sent - got;
                total -= sent - got;
                sent = got;
                last = now_us();
            }
        }
    }
    double secs = (double)(now_us() - t0) / 1e6;
    return secs > 0 ? got / secs : 0;
}

static void drain(int fd)
{
    uint8_t buf[PEER_SLOT];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
}

static void measure(struct path *p, unsigned r, unsigned packets, unsigned window)
{
    uint64_t b0, i0, b1, i1, o0 = own_jiffies(p->pid), o1;
    machine(&b0, &i0);
    unsigned lost = 0;
    p->pps[r] = rate(&p->a, p->b.fd, p->to, packets, window, &lost);
    machine(&b1, &i1);
    o1 = own_jiffies(p->pid);
    p->lost += lost;
    double n = packets - lost, j = 1e9 / (double)hz;
    p->sys_ns[r] = (double)(b1 - b0) * j / n;
    p->own_ns[r] = (double)(o1 - o0 + i1 - i0) * j / n;
    p->irq_ns[r] = (double)(i1 - i0) * j / n;
    drain(p->b.fd);
}

/* ---- set-up */

static void relay_path(struct path *p, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(p->name))
        die("--relay NAME=SOCKET[,PID]", DCGW_EINVAL);
    snprintf(p->name, sizeof(p->name), "%.*s", (int)(eq - spec), spec);
    char sock[256];
    snprintf(sock, sizeof(sock), "%s", eq + 1);
    char *comma = strchr(sock, ',');
    int home = -1;
    if (comma) {
        *comma = '\0';
        p->pid = (pid_t)atoi(comma + 1);
        comma = strchr(comma + 1, ',');
    }
    if (comma && !strcmp(comma + 1, "netns")) { /* the daemon's own network namespace */
        char ns[64];
        snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)p->pid);
        int fd = open(ns, O_RDONLY | O_CLOEXEC);
        home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || home < 0 || setns(fd, CLONE_NEWNET) < 0)
            die("--relay NAME=SOCKET,PID,netns: entering the daemon's namespace", DCGW_EIO);
        close(fd);
    }
    struct dcgw_ctlclient_opts co = {.socket = sock};
    char err[256];
    if (dcgw_ctlclient_connect(&co, &p->c, err, sizeof(err)) < 0)
        die(err, DCGW_EIO);
    peer_init(&p->a, "ue", "127.0.0.1");
    peer_init(&p->b, "as", "127.0.0.1");
    struct peer *pp[2] = {&p->a, &p->b};
    char id[64];
    snprintf(id, sizeof(id), "relay-bench-%s", p->name);
    setup_relay(p->c, id, &p->a, &p->b, false);
    pump(pp, 10000, handshaken);
    if (!handshaken(pp))
        die("the handshake through the relay did not complete", DCGW_ETIMEOUT);
    pump(pp, 300, NULL); /* the fast path takes the flow once verified */
    p->to = dcgw_leg_peer(p->a.leg);
    if (home >= 0) { /* the peers' sockets stay in the daemon's namespace */
        if (setns(home, CLONE_NEWNET) < 0)
            die("leaving the daemon's namespace", DCGW_EIO);
        close(home);
    }
}

/* The raw forwarder at spec (HOST:PORT[,PID]), fed the direct path's datagram. */
static void fwd_path(struct path *f, const char *fwd, const struct path *d)
{
    snprintf(f->name, sizeof(f->name), "fwd");
    char spec[128];
    snprintf(spec, sizeof(spec), "%s", fwd);
    char *comma = strchr(spec, ',');
    if (comma) {
        *comma = '\0';
        f->pid = (pid_t)atoi(comma + 1);
    }
    if (dcgw_addr_parse(spec, &f->to_ss) < 0)
        die("--fwd", DCGW_EINVAL);
    f->to = (struct sockaddr *)&f->to_ss;
    peer_init(&f->a, "a", "127.0.0.1");
    peer_init(&f->b, "b", "127.0.0.1");
    f->a.record_n = d->a.record_n;
    memcpy(f->a.record, d->a.record, d->a.record_n);
    /* the forwarder latches A, then B */
    sendto(f->a.fd, "a", 1, 0, f->to, dcgw_addr_len(f->to));
    usleep(20000);
    sendto(f->b.fd, "b", 1, 0, f->to, dcgw_addr_len(f->to));
    usleep(20000);
    drain(f->a.fd);
}

/* ---- report */

static double loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = NAN;
    if (f && fscanf(f, "%lf", &l) != 1)
        l = NAN;
    if (f)
        fclose(f);
    return l;
}

/* The smallest and largest finite value of v[0..n): the spread over repeats. */
static void range(const double *v, unsigned n, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (unsigned i = 0; i < n; i++)
        if (isfinite(v[i])) {
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
}

static void json_array(FILE *js, const char *key, const double *v, unsigned n, const char *fmt)
{
    fprintf(js, ", \"%s\": [", key);
    for (unsigned r = 0; r < n; r++) {
        fprintf(js, "%s", r ? ", " : "");
        fprintf(js, isfinite(v[r]) ? fmt : "null", v[r]);
    }
    fprintf(js, "]");
}

/* The forwarder's datagrams per CPU-second over a path's, paired by repeat. */
static void over_fwd(const struct path *p, const struct path *f, unsigned repeat, double sys[],
                     double own[])
{
    for (unsigned r = 0; r < repeat; r++) {
        sys[r] = f->fsys[r] / p->fsys[r];
        own[r] = f->fown[r] / p->fown[r];
    }
}

static void report_json(const char *json, struct path *paths, unsigned np, unsigned repeat,
                        unsigned packets, unsigned window, const double load[2],
                        const struct path *f)
{
    FILE *js = fopen(json, "w");
    if (!js)
        die(json, DCGW_EIO);
    fprintf(js,
            "{\"size\": %zu, \"packets\": %u, \"window\": %u, \"repeat\": %u, "
            "\"gso_input\": %s, \"loadavg_start\": %.2f, \"loadavg_end\": %.2f, \"paths\": [",
            paths[0].a.record_n, packets, window, repeat, gso_input ? "true" : "false", load[0],
            load[1]);
    for (unsigned i = 0; i < np; i++) {
        const struct path *p = &paths[i];
        fprintf(js,
                "%s{\"path\": \"%s\", \"datagrams_per_s\": %.0f, \"lost\": %u, "
                "\"system_cpu_ns_per_datagram\": %.1f, \"own_cpu_ns_per_datagram\": %.1f, "
                "\"forwarding\": %s",
                i ? ", " : "", p->name, bench_median(p->pps, repeat), p->lost, p->sys, p->own,
                i ? "true" : "false");
        /* before the direct path's is subtracted, then after */
        json_array(js, "system_cpu_ns_per_datagram_by_repeat", p->sys_ns, repeat, "%.1f");
        json_array(js, "own_cpu_ns_per_datagram_by_repeat", p->own_ns, repeat, "%.1f");
        json_array(js, "irq_softirq_ns_per_datagram_by_repeat", p->irq_ns, repeat, "%.1f");
        json_array(js, "forwarding_system_ns_by_repeat", p->fsys, repeat, "%.1f");
        json_array(js, "forwarding_own_ns_by_repeat", p->fown, repeat, "%.1f");
        fprintf(js, "}");
    }
    fprintf(js, "]");
    if (f) {
        fprintf(js, ", \"over_fwd_datagrams_per_cpu_s\": {");
        for (unsigned i = 1, first = 1; i < np; i++)
            if (&paths[i] != f) {
                double rs[MAX_REPEAT], ro[MAX_REPEAT];
                over_fwd(&paths[i], f, repeat, rs, ro);
                fprintf(js, "%s\"%s\": {\"system\": %.3f, \"own\": %.3f", first ? "" : ", ",
                        paths[i].name, f->sys / paths[i].sys, f->own / paths[i].own);
                json_array(js, "system_by_repeat", rs, repeat, "%.3f");
                json_array(js, "own_by_repeat", ro, repeat, "%.3f");
                fprintf(js, "}");
                first = 0;
            }
        fprintf(js, "}");
    }
    fprintf(js, "}\n");
    fclose(js);
}

/* The forwarding's CPU: a path's minus the direct path's, per repeat, then medians; the
 * spread over repeats of each; each path over the raw forwarder, from the medians and
 * paired by repeat. */
static void report(struct path *paths, unsigned np, unsigned repeat, unsigned packets,
                   unsigned window, const char *json, const double load[2])
{
    struct path *d = &paths[0], *f = NULL;
    for (unsigned i = 0; i < np; i++) {
        struct path *p = &paths[i];
        for (unsigned r = 0; r < repeat; r++) {
            p->fsys[r] = i ? p->sys_ns[r] - d->sys_ns[r] : p->sys_ns[r];
            p->fown[r] = i ? p->own_ns[r] - d->own_ns[r] : p->own_ns[r];
        }
        p->sys = bench_median(p->fsys, repeat);
        p->own = bench_median(p->fown, repeat);
        if (i && !strcmp(p->name, "fwd"))
            f = p;
    }
    printf("relay bench: %u datagrams of %zu bytes A -> B per path, window %u, median of %u%s; "
           "load average %.2f at the start, %.2f at the end\n",
           packets, d->a.record_n, window, repeat,
           gso_input ? ", A sends runs of 32 as one GSO buffer" : "", load[0], load[1]);
    printf("%-10s %12s %16s %16s %18s %18s\n", "path", "datagrams/s", "fwd CPU/dgram",
           "fwd dgrams/CPU-s", "(own) CPU/dgram", "(own) dgrams/CPU-s");
    for (unsigned i = 0; i < np; i++) {
        const struct path *p = &paths[i];
        double pps = bench_median(p->pps, repeat);
        if (i == 0)
            printf("%-10s %12.0f %13.2f us %16s %15.2f us %18s   (the endpoints alone)\n", "direct",
                   pps, p->sys / 1e3, "-", p->own / 1e3, "-");
        else
            printf("%-10s %12.0f %13.2f us %15.0fk %15.2f us %17.0fk\n", p->name, pps, p->sys / 1e3,
                   1e6 / p->sys, p->own / 1e3, 1e6 / p->own);
    }
    printf("spread over the %u repeats, CPU per datagram, min .. max (system-wide / own):\n",
           repeat);
    for (unsigned i = 0; i < np; i++) {
        double sl, sh, ol, oh;
        range(paths[i].fsys, repeat, &sl, &sh);
        range(paths[i].fown, repeat, &ol, &oh);
        printf("  %-10s %7.2f .. %7.2f us / %5.2f .. %5.2f us\n", paths[i].name, sl / 1e3, sh / 1e3,
               ol / 1e3, oh / 1e3);
    }
    if (f) {
        printf("datagrams per CPU-second over the raw forwarder's, system-wide / own processes "
               "(of the medians; [paired by repeat: min .. max]):\n");
        for (unsigned i = 1; i < np; i++)
            if (&paths[i] != f) {
                double rs[MAX_REPEAT], ro[MAX_REPEAT], sl, sh, ol, oh;
                over_fwd(&paths[i], f, repeat, rs, ro);
                range(rs, repeat, &sl, &sh);
                range(ro, repeat, &ol, &oh);
                printf("  %-10s %.2fx [%.2f .. %.2f] / %.2fx [%.2f .. %.2f]\n", paths[i].name,
                       f->sys / paths[i].sys, sl, sh, f->own / paths[i].own, ol, oh);
            }
    }
    if (json)
        report_json(json, paths, np, repeat, packets, window, load, f);
}

int main(int argc, char **argv)
{
    unsigned packets = 200000, window = 256, repeat = 3, np = 1;
    size_t size = 1000;
    const char *fwd = NULL, *json = NULL;
    static struct path paths[MAX_PATHS];
    static const struct option lo[] = {{"relay", required_argument, NULL, 'r'},
                                       {"fwd", required_argument, NULL, 'f'},
                                       {"packets", required_argument, NULL, 'n'},
                                       {"size", required_argument, NULL, 'z'},
                                       {"window", required_argument, NULL, 'w'},
                                       {"repeat", required_argument, NULL, 'R'},
                                       {"json", required_argument, NULL, 'j'},
                                       {"gso-input", no_argument, NULL, 'G'},
                                       {NULL, 0, NULL, 0}};
    int ch;
    char *specs[MAX_PATHS];
    unsigned nspecs = 0;
    while ((ch = getopt_long(argc, argv, "r:f:n:z:w:R:j:", lo, NULL)) != -1) {
        if (ch == 'r' && nspecs < MAX_PATHS - 2)
            specs[nspecs++] = optarg;
        else if (ch == 'f')
            fwd = optarg;
        else if (ch == 'n')
            packets = (unsigned)atoi(optarg);
        else if (ch == 'z')
            size = (size_t)atoi(optarg);
        else if (ch == 'w')
            window = (unsigned)atoi(optarg);
        else if (ch == 'R')
            repeat = (unsigned)atoi(optarg);
        else if (ch == 'j')
            json = optarg;
        else if (ch == 'G')
            gso_input = true;
        else
            return 2;
    }
    if (size < 64 || size > 1400 || window < BATCH || !packets || !repeat || repeat > MAX_REPEAT) {
        fprintf(stderr, "usage: dcgw-relay-bench [--relay NAME=SOCKET[,PID[,netns]]]... "
                        "[--fwd HOST:PORT[,PID]] [--packets N] [--size 64..1400] "
                        "[--window N>=32] [--repeat 1..15] [--gso-input] [-j FILE]\n");
        return 2;
    }
    hz = (uint64_t)sysconf(_SC_CLK_TCK);
    double load0 = loadavg();
    for (unsigned i = 0; i < nspecs; i++, np++)
        relay_path(&paths[np], specs[i]);
    /* direct and the forwarder: the first relay pair's records, from plain sockets */
    struct path *d = &paths[0];
    snprintf(d->name, sizeof(d->name), "direct");
    peer_init(&d->a, "a", "127.0.0.1");
    peer_init(&d->b, "b", "127.0.0.1");
    d->a.record_n = size;
    memset(d->a.record, 23, size); /* a datagram of the size; nobody reads it */
    if (np > 1) {
        struct peer *pp[2] = {&paths[1].a, &paths[1].b};
        capture_records(pp, size);
        memcpy(d->a.record, paths[1].a.record, paths[1].a.record_n);
        d->a.record_n = paths[1].a.record_n;
    }
    for (unsigned i = 1; i < np; i++) {
        paths[i].a.record_n = d->a.record_n;
        memcpy(paths[i].a.record, d->a.record, d->a.record_n);
    }
    d->to = (struct sockaddr *)&d->b.addr;
    if (fwd)
        fwd_path(&paths[np++], fwd, d);
    for (unsigned r = 0; r < repeat; r++)
        for (unsigned i = 0; i < np; i++) {
            measure(&paths[i], r, packets, window);
            for (unsigned k = 0; k < np; k++) /* consent checks on every relay hop */
                if (paths[k].c) {
                    struct peer *pp[2] = {&paths[k].a, &paths[k].b};
                    pump(pp, 20, NULL);
                }
            fprintf(stderr, "relay_bench: repeat %u %-10s %8.0f datagrams/s (lost so far %u)\n",
                    r + 1, paths[i].name, paths[i].pps[r], paths[i].lost);
        }
    double load1 = loadavg();
    report(paths, np, repeat, packets, window, json, (double[2]){load0, load1});
    /* The daemons go with the script (their control connections may have idled out). */
    for (unsigned i = 1; i < np; i++)
        if (paths[i].c)
            dcgw_ctlclient_free(paths[i].c);
    return 0;
}
