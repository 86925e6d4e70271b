/* dcgw-flood: one sender flooding a UDP port with what an attacker who knows no session
 * would send (issue 13, "Floods from unknown sources"), as fast as one thread can with
 * sendmmsg, from many source ports, for a bounded time. For tests and the bench only: it
 * sends to loopback addresses unless told otherwise, and never for more than 60 s.
 *
 *   dcgw-flood --target 127.0.0.1:40000 --kind stun --duration 2 [--sources 64]
 *              [--rate N] [--batch 64] [--cpu 1] [--report FILE]
 *
 * Kinds: stun (Binding requests with random USERNAMEs and transaction ids, a correct
 * FINGERPRINT and a MESSAGE-INTEGRITY no one can check), dtls (DTLS 1.2 ClientHellos
 * with random randoms), garbage (random bytes, first byte 64..127: no protocol of RFC
 * 7983). Prints (and writes with --report) one JSON line: what was sent, in how long. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stun/stunagent.h>

enum { POOL = 4096, MSG_MAX = 256, SOURCES_MAX = 1024, BATCH_MAX = 256, DURATION_MAX = 60 };

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* A Binding request (RFC 8489, RFC 8445 §7.1.2) from someone who knows no credentials,
 * built with libnice's STUN agent: a random USERNAME and transaction id, a correct
 * FINGERPRINT, and a MESSAGE-INTEGRITY keyed with a random key no one holds. */
static size_t make_stun(uint8_t *m)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char user[17];
    for (size_t i = 0; i < sizeof(user); i++)
        user[i] = chars[rnd() % (sizeof(chars) - 1)];
    user[8] = ':';
    uint8_t key[16];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)rnd();
    StunAgent agent; /* one per message: an agent remembers at most 200 requests' ids */
    StunMessage msg;
    stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    if (!stun_agent_init_request(&agent, &msg, m, MSG_MAX, STUN_BINDING) ||
        stun_message_append_bytes(&msg, STUN_ATTRIBUTE_USERNAME, user, sizeof(user)) ||
        stun_message_append32(&msg, STUN_ATTRIBUTE_PRIORITY, 0x6e7f1eff) ||
        stun_message_append64(&msg, STUN_ATTRIBUTE_ICE_CONTROLLING,
                              (uint64_t)rnd() << 32 | rnd()) ||
        stun_message_append_flag(&msg, STUN_ATTRIBUTE_USE_CANDIDATE))
        return 0;
    return stun_agent_finish_message(&agent, &msg, key, sizeof(key));
}

/* A DTLS 1.2 ClientHello in one record (RFC 6347 §4.2.2), as a new client sends it. */
static size_t make_dtls(uint8_t *m)
{
    static const uint8_t suites[] = {0xc0, 0x2b, 0xc0, 0x2f, 0xcc, 0xa9, 0xcc, 0xa8};
    static const uint8_t ext[] = {
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, /* supported_groups */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00,                         /* ec_point_formats */
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03,             /* signature_algorithms */
        0x00, 0x0e, 0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0x00,       /* use_srtp */
        0x00, 0x17, 0x00, 0x00,                                     /* extended_master_secret */
    };
    uint8_t *b = m + 13 + 12; /* record header, handshake header */
    size_t n = 0;
    b[n++] = 0xfe, b[n++] = 0xfd; /* client_version DTLS 1.2 */
    for (int i = 0; i < 32; i++)
        b[n++] = (uint8_t)rnd(); /* random */
    b[n++] = 0;                  /* session_id */
    b[n++] = 0;                  /* cookie */
    put16(b + n, sizeof(suites));
    memcpy(b + n + 2, suites, sizeof(suites));
    n += 2 + sizeof(suites);
    b[n++] = 1, b[n++] = 0; /* compression: null */
    put16(b + n, sizeof(ext));
    memcpy(b + n + 2, ext, sizeof(ext));
    n += 2 + sizeof(ext);
    uint8_t *h = m + 13; /* handshake: client_hello, length, message_seq 0, fragment = all */
    h[0] = 1;
    h[1] = 0, put16(h + 2, (unsigned)n);
    put16(h + 4, 0);
    h[6] = 0, put16(h + 7, 0);
    h[9] = 0, put16(h + 10, (unsigned)n);
    m[0] = 22, m[1] = 0xfe, m[2] = 0xff; /* record: handshake, DTLS 1.0 record version */
    memset(m + 3, 0, 8);                 /* epoch 0, sequence 0 */
    put16(m + 11, (unsigned)(12 + n));
    return 13 + 12 + n;
}

static size_t make_garbage(uint8_t *m)
{
    size_t n = 40 + rnd() % 160;
    for (size_t i = 0; i < n; i++)
        m[i] = (uint8_t)rnd();
    m[0] = (uint8_t)(64 + m[0] % 64);
    return n;
}

static bool loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static int parse_target(const char *s, struct sockaddr_storage *out)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    int port = atoi(colon + 1);
    memset(out, 0, sizeof(*out));
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']')
        h[strlen(h) - 1] = '\0', h++;
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
    } else {
        return -1;
    }
    return port > 0 && port < 65536 ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dcgw-flood --target HOST:PORT --duration SECONDS [--kind stun|dtls|garbage]\n"
            "       [--sources N] [--rate DATAGRAMS_PER_S] [--batch N] [--cpu N] [--report FILE]\n"
            "       [--any-target] [--idle]\n"
            "Floods HOST:PORT from N source ports (default 64) with one thread, as fast as it\n"
            "can (or at --rate), for at most %d s. Loopback targets only, unless --any-target.\n"
            "--idle: run as SCHED_IDLE, on the CPU time nothing else wants.\n",
            DURATION_MAX);
}

int main(int argc, char **argv)
{
    struct sockaddr_storage target;
    bool have_target = false, any_target = false;
    const char *kind = "stun", *report = NULL, *target_text = NULL;
    double duration = 0, rate = 0;
    unsigned sources = 64, batch = 64;
    int cpu = -1;
    bool idle = false;
    static const struct option opts[] = {
        {"target", required_argument, 0, 't'},   {"kind", required_argument, 0, 'k'},
        {"duration", required_argument, 0, 'd'}, {"sources", required_argument, 0, 's'},
        {"rate", required_argument, 0, 'r'},     {"batch", required_argument, 0, 'b'},
        {"cpu", required_argument, 0, 'c'},      {"report", required_argument, 0, 'o'},
        {"any-target", no_argument, 0, 'A'},     {"idle", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:k:d:s:r:b:c:o:AIh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (parse_target(optarg, &target) < 0) {
                fprintf(stderr, "dcgw-flood: bad target '%s' (numeric HOST:PORT)\n", optarg);
                return 2;
            }
            have_target = true;
            target_text = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'd':
            duration = atof(optarg);
            break;
        case 's':
            sources = (unsigned)atoi(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'b':
            batch = (unsigned)atoi(optarg);
            break;
        case 'c':
            cpu = atoi(optarg);
            break;
        case 'o':
            report = optarg;
            break;
        case 'A':
            any_target = true;
            break;
        case 'I':
            idle = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    size_t (*make)(uint8_t *) = !strcmp(kind, "stun")      ? make_stun
                                : !strcmp(kind, "dtls")    ? make_dtls
                                : !strcmp(kind, "garbage") ? make_garbage
                                                           : NULL;
    if (!have_target || !make || !(duration > 0 && duration <= DURATION_MAX) || sources == 0 ||
        sources > SOURCES_MAX || batch == 0 || batch > BATCH_MAX || rate < 0) {
        usage(stderr);
        return 2;
    }
    if (!loopback(&target) && !any_target) {
        fprintf(stderr, "dcgw-flood: %s is not a loopback target (--any-target to insist)\n",
                target_text);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof(set), &set) < 0)
            fprintf(stderr, "dcgw-flood: cpu %d: %s (not pinned)\n", cpu, strerror(errno));
    }
    if (idle) { /* only the CPU time nothing else wants (a test on a shared machine) */
        struct sched_param sp = {0};
        if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
            fprintf(stderr, "dcgw-flood: SCHED_IDLE: %s\n", strerror(errno));
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    rng ^= (uint64_t)getpid() * 0x2545f4914f6cdd1du ^ now_ns();

    static uint8_t pool[POOL][MSG_MAX];
    static size_t pool_n[POOL];
    for (int i = 0; i < POOL; i++) {
        pool_n[i] = make(pool[i]);
        if (pool_n[i] == 0) {
            fprintf(stderr, "dcgw-flood: could not build a %s message\n", kind);
            return 1;
        }
    }
    int fds[SOURCES_MAX];
    socklen_t tlen =
        target.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    for (unsigned i = 0; i < sources; i++) {
        fds[i] = socket(target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int sz = 4 << 20;
        if (fds[i] < 0 || setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0 ||
            connect(fds[i], (struct sockaddr *)&target, tlen) < 0) {
            fprintf(stderr, "dcgw-flood: socket %u: %s\n", i, strerror(errno));
            return 1;
        }
    }
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    uint64_t sent = 0, bytes = 0, errors = 0, k = 0;
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(duration * 1e9), t = t0;
    while (!stop && t < end) {
        unsigned nb = batch;
        if (rate > 0) { /* paced: what is owed by now, a batch at most */
            double owed = (double)(t - t0) / 1e9 * rate - (double)sent;
            if (owed < 1) {
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
                t = now_ns();
                continue;
            }
            nb = owed < batch ? (unsigned)owed : batch;
        }
        for (unsigned i = 0; i < nb; i++, k++) {
            size_t j = (k * 2654435761u) % POOL;
            iov[i] = (struct iovec){.iov_base = pool[j], .iov_len = pool_n[j]};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int fd = fds[(k / batch) % sources];
        int n = sendmmsg(fd, msgs, nb, 0);
        if (n < 0) {
            errors++;
            if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR)
                break;
        } else {
            sent += (uint64_t)n;
            for (int i = 0; i < n; i++)
                bytes += iov[i].iov_len;
        }
        t = now_ns();
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    char line[512];
    snprintf(line, sizeof(line),
             "{\"kind\":\"%s\",\"sent\":%llu,\"bytes\":%llu,\"errors\":%llu,\"seconds\":%.3f,"
             "\"rate\":%.0f,\"sources\":%u,\"batch\":%u,\"cpu\":%d}",
             kind, (unsigned long long)sent, (unsigned long long)bytes, (unsigned long long)errors,
             secs, secs > 0 ? (double)sent / secs : 0, sources, batch, cpu);
    printf("%s\n", line);
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0) {
            fprintf(stderr, "dcgw-flood: %s: %s\n", report, strerror(errno));
            return 1;
        }
    }
    for (unsigned i = 0; i < sources; i++)
        close(fds[i]);
    return 0;
}
