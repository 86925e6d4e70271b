/* The eBPF socket filter of the unknown-source path (filter.h, docs/floods.md). */
#include "dcgw/net/filter.h"

#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dcgw/base/error.h"

enum { PROG_MAX = 128, FIXUPS_MAX = 32, LOG_SIZE = 65536, ETH_IP = 0x0800, ETH_IP6 = 0x86dd };

/* The key of a validated address, the same bytes the program builds from a datagram: the
 * IP version, a pad byte, the UDP source port and the address as on the wire. */
struct known_key {
    uint8_t version; /* 4 or 6 */
    uint8_t pad;
    uint16_t port;
    uint8_t addr[16];
    uint32_t pad2;
};

/* A source's bucket key (IPv4 address, IPv6 /64) and value (tokens in ns, last refill). */
struct bucket_key {
    uint32_t version;
    uint32_t zero;
    uint32_t a0, a1;
};
struct bucket {
    uint64_t tokens_ns, last_ns;
};

struct dcgw_filter {
    int fd; /* the socket (not ours) */
    int known, buckets, counters, prog;
};

static long sys_bpf(int cmd, union bpf_attr *a)
{
    return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int map_create(uint32_t type, uint32_t ksize, uint32_t vsize, uint32_t n, uint32_t flags)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = type;
    a.key_size = ksize;
    a.value_size = vsize;
    a.max_entries = n;
    a.map_flags = flags;
    return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

/* ---- a small assembler: instructions, and jumps to labels resolved at the end */

struct asm_ {
    struct bpf_insn i[PROG_MAX];
    int n, label_pc[16];
    struct {
        int pc, label;
    } fix[FIXUPS_MAX];
    int nfix;
    bool overflow;
};

static void emit(struct asm_ *a, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    if (a->n == PROG_MAX) {
        a->overflow = true;
        return;
    }
    a->i[a->n++] = (struct bpf_insn){code, dst, src, off, imm};
}

static void label(struct asm_ *a, int l)
{
    a->label_pc[l] = a->n;
}

/* if (dst op imm) goto l; op BPF_JA: always */
static void jmp_imm(struct asm_ *a, uint8_t op, uint8_t dst, int32_t imm, int l)
{
    if (a->nfix == FIXUPS_MAX) {
        a->overflow = true;
        return;
    }
    a->fix[a->nfix].pc = a->n;
    a->fix[a->nfix++].label = l;
    emit(a, BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}

static void jmp_reg(struct asm_ *a, uint8_t op, uint8_t dst, uint8_t src, int l)
{
    if (a->nfix == FIXUPS_MAX) {
        a->overflow = true;
        return;
    }
    a->fix[a->nfix].pc = a->n;
    a->fix[a->nfix++].label = l;
    emit(a, BPF_JMP | op | BPF_X, dst, src, 0, 0);
}

static void ld_imm64(struct asm_ *a, uint8_t dst, uint8_t src, uint64_t v)
{
    emit(a, BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, (int32_t)(uint32_t)v);
    emit(a, 0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
}

static void resolve(struct asm_ *a)
{
    for (int k = 0; k < a->nfix; k++)
        a->i[a->fix[k].pc].off = (int16_t)(a->label_pc[a->fix[k].label] - a->fix[k].pc - 1);
}

#define MOV_IMM(a, d, v)         emit(a, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define MOV_REG(a, d, s)         emit(a, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(a, d, v)         emit(a, BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define ADD_REG(a, d, s)         emit(a, BPF_ALU64 | BPF_ADD | BPF_X, d, s, 0, 0)
#define SUB_REG(a, d, s)         emit(a, BPF_ALU64 | BPF_SUB | BPF_X, d, s, 0, 0)
#define LDX(a, sz, d, s, off)    emit(a, BPF_LDX | (sz) | BPF_MEM, d, s, off, 0)
#define STX(a, sz, d, s, off)    emit(a, BPF_STX | (sz) | BPF_MEM, d, s, off, 0)
#define ST_IMM(a, sz, d, off, v) emit(a, BPF_ST | (sz) | BPF_MEM, d, 0, off, v)
#define CALL(a, fn)              emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, fn)
#define EXIT(a)                  emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP(a, d, fd)         ld_imm64(a, d, BPF_PSEUDO_MAP_FD, (uint32_t)(fd))
#define FP                       BPF_REG_10

/* Stack layout (offsets from the frame pointer) */
enum {
    S_KEY = -32,     /* struct known_key (24 bytes) */
    S_ADDR = -28,    /* its address */
    S_PORT = -30,    /* its port */
    S_BKEY = -48,    /* struct bucket_key (16) */
    S_PAYLOAD = -56, /* the payload's first 8 bytes */
    S_BUCKET = -72,  /* a new struct bucket (16) */
    S_INDEX = -76,   /* a counter's index */
};

enum { L_V4, L_V6, L_PORT, L_ACCEPT, L_DROP_UNKNOWN, L_DROP, L_NEW, L_LIMITED, L_COUNT };

/* counters[idx]++, then drop. */
static void count_and_drop(struct asm_ *a, int counters, int idx)
{
    ST_IMM(a, BPF_W, FP, S_INDEX, idx);
    LD_MAP(a, BPF_REG_1, counters);
    MOV_REG(a, BPF_REG_2, FP);
    ADD_IMM(a, BPF_REG_2, S_INDEX);
    CALL(a, BPF_FUNC_map_lookup_elem);
    jmp_imm(a, BPF_JEQ, BPF_REG_0, 0, L_DROP);
    MOV_IMM(a, BPF_REG_1, 1);
    emit(a, BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, 0, BPF_ADD);
    jmp_imm(a, BPF_JA, 0, 0, L_DROP);
}

/* r0 = the source address (IP header, relative to the network header) into the key. */
static void load_addr(struct asm_ *a, int version, int32_t off, int32_t len)
{
    ST_IMM(a, BPF_B, FP, S_KEY, version);
    MOV_REG(a, BPF_REG_1, BPF_REG_6);
    MOV_IMM(a, BPF_REG_2, off);
    MOV_REG(a, BPF_REG_3, FP);
    ADD_IMM(a, BPF_REG_3, S_ADDR);
    MOV_IMM(a, BPF_REG_4, len);
    MOV_IMM(a, BPF_REG_5, BPF_HDR_START_NET);
    CALL(a, BPF_FUNC_skb_load_bytes_relative);
    jmp_imm(a, BPF_JNE, BPF_REG_0, 0, L_ACCEPT);
}

/* r1 = skb_load_bytes(skb, off, fp + at, len) */
static void load_bytes(struct asm_ *a, int32_t off, int16_t at, int32_t len)
{
    MOV_REG(a, BPF_REG_1, BPF_REG_6);
    MOV_IMM(a, BPF_REG_2, off);
    MOV_REG(a, BPF_REG_3, FP);
    ADD_IMM(a, BPF_REG_3, at);
    MOV_IMM(a, BPF_REG_4, len);
    CALL(a, BPF_FUNC_skb_load_bytes);
}

/* The program; see filter.h. A socket filter on a UDP socket sees the datagram from its UDP
 * header; it returns 0 to drop, anything else to keep (that many bytes). */
static void assemble(struct asm_ *a, const struct dcgw_filter *f, uint64_t cost_ns, uint64_t max_ns)
{
    MOV_REG(a, BPF_REG_6, BPF_REG_1);
    ST_IMM(a, BPF_DW, FP, S_KEY, 0);
    ST_IMM(a, BPF_DW, FP, S_KEY + 8, 0);
    ST_IMM(a, BPF_DW, FP, S_KEY + 16, 0);
    LDX(a, BPF_W, BPF_REG_7, BPF_REG_6, offsetof(struct __sk_buff, protocol));
    jmp_imm(a, BPF_JEQ, BPF_REG_7, htons(ETH_IP), L_V4);
    jmp_imm(a, BPF_JEQ, BPF_REG_7, htons(ETH_IP6), L_V6);
    jmp_imm(a, BPF_JA, 0, 0, L_ACCEPT); /* not IP: not ours to judge */
    label(a, L_V4);
    load_addr(a, 4, 12, 4); /* IPv4 source address */
    jmp_imm(a, BPF_JA, 0, 0, L_PORT);
    label(a, L_V6);
    load_addr(a, 6, 8, 16); /* IPv6 source address */
    label(a, L_PORT);
    load_bytes(a, 0, S_PORT, 2); /* UDP source port */
    jmp_imm(a, BPF_JNE, BPF_REG_0, 0, L_ACCEPT);
    /* a validated address: through */
    LD_MAP(a, BPF_REG_1, f->known);
    MOV_REG(a, BPF_REG_2, FP);
    ADD_IMM(a, BPF_REG_2, S_KEY);
    CALL(a, BPF_FUNC_map_lookup_elem);
    jmp_imm(a, BPF_JNE, BPF_REG_0, 0, L_ACCEPT);
    /* an unknown source: a STUN Binding request (type 0x0001, the magic cookie) or nothing */
    load_bytes(a, 8, S_PAYLOAD, 8);
    jmp_imm(a, BPF_JNE, BPF_REG_0, 0, L_DROP_UNKNOWN);
    LDX(a, BPF_H, BPF_REG_1, FP, S_PAYLOAD);
    jmp_imm(a, BPF_JNE, BPF_REG_1, htons(0x0001), L_DROP_UNKNOWN);
    LDX(a, BPF_W, BPF_REG_1, FP, S_PAYLOAD + 4);
    jmp_imm(a, BPF_JNE, BPF_REG_1, (int32_t)htonl(0x2112a442), L_DROP_UNKNOWN);
    if (cost_ns) {
        /* its source's bucket: IPv4 address or IPv6 /64 */
        LDX(a, BPF_B, BPF_REG_1, FP, S_KEY);
        STX(a, BPF_W, FP, BPF_REG_1, S_BKEY);
        ST_IMM(a, BPF_W, FP, S_BKEY + 4, 0);
        LDX(a, BPF_W, BPF_REG_1, FP, S_ADDR);
        STX(a, BPF_W, FP, BPF_REG_1, S_BKEY + 8);
        LDX(a, BPF_W, BPF_REG_1, FP, S_ADDR + 4);
        STX(a, BPF_W, FP, BPF_REG_1, S_BKEY + 12);
        LD_MAP(a, BPF_REG_1, f->buckets);
        MOV_REG(a, BPF_REG_2, FP);
        ADD_IMM(a, BPF_REG_2, S_BKEY);
        CALL(a, BPF_FUNC_map_lookup_elem);
        MOV_REG(a, BPF_REG_7, BPF_REG_0);
        CALL(a, BPF_FUNC_ktime_get_ns);
        MOV_REG(a, BPF_REG_8, BPF_REG_0);
        ld_imm64(a, BPF_REG_4, 0, max_ns);
        ld_imm64(a, BPF_REG_5, 0, cost_ns);
        jmp_imm(a, BPF_JEQ, BPF_REG_7, 0, L_NEW);
        /* tokens += now - last, at most max; a datagram costs cost */
        LDX(a, BPF_DW, BPF_REG_1, BPF_REG_7, 0);
        LDX(a, BPF_DW, BPF_REG_2, BPF_REG_7, 8);
        MOV_REG(a, BPF_REG_3, BPF_REG_8);
        SUB_REG(a, BPF_REG_3, BPF_REG_2);
        ADD_REG(a, BPF_REG_1, BPF_REG_3);
        emit(a, BPF_JMP | BPF_JLE | BPF_X, BPF_REG_1, BPF_REG_4, 1, 0); /* skip the cap */
        MOV_REG(a, BPF_REG_1, BPF_REG_4);
        STX(a, BPF_DW, BPF_REG_7, BPF_REG_8, 8);
        jmp_reg(a, BPF_JLT, BPF_REG_1, BPF_REG_5, L_LIMITED);
        SUB_REG(a, BPF_REG_1, BPF_REG_5);
        STX(a, BPF_DW, BPF_REG_7, BPF_REG_1, 0);
        jmp_imm(a, BPF_JA, 0, 0, L_ACCEPT);
        label(a, L_LIMITED);
        STX(a, BPF_DW, BPF_REG_7, BPF_REG_1, 0);
        count_and_drop(a, f->counters, 1);
        label(a, L_NEW); /* a new source: a full bucket, less this datagram */
        SUB_REG(a, BPF_REG_4, BPF_REG_5);
        STX(a, BPF_DW, FP, BPF_REG_4, S_BUCKET);
        STX(a, BPF_DW, FP, BPF_REG_8, S_BUCKET + 8);
        LD_MAP(a, BPF_REG_1, f->buckets);
        MOV_REG(a, BPF_REG_2, FP);
        ADD_IMM(a, BPF_REG_2, S_BKEY);
        MOV_REG(a, BPF_REG_3, FP);
        ADD_IMM(a, BPF_REG_3, S_BUCKET);
        MOV_IMM(a, BPF_REG_4, BPF_ANY);
        CALL(a, BPF_FUNC_map_update_elem);
    }
    label(a, L_ACCEPT);
    MOV_IMM(a, BPF_REG_0, -1);
    EXIT(a);
    label(a, L_DROP_UNKNOWN);
    count_and_drop(a, f->counters, 0);
    label(a, L_DROP);
    MOV_IMM(a, BPF_REG_0, 0);
    EXIT(a);
    resolve(a);
}

static int fail(char *err, size_t errcap, const char *what, int e)
{
    if (err)
        snprintf(err, errcap, "%s: %s", what, strerror(e));
    return DCGW_EUNSUPPORTED;
}

static int load(struct dcgw_filter *f, const struct dcgw_filter_settings *s, char *err,
                size_t errcap)
{
    uint64_t cost = 0, max = 0;
    if (s->rate) {
        cost = 1000000000ull / s->rate;
        max = cost * (s->burst ? s->burst : s->rate);
    }
    struct asm_ *a = calloc(1, sizeof(*a));
    char *log = calloc(1, LOG_SIZE);
    if (!a || !log) {
        free(a);
        free(log);
        return DCGW_ENOMEM;
    }
    assemble(a, f, cost, max);
    int r = 0;
    if (a->overflow) {
        r = DCGW_EINTERNAL;
        goto Exit;
    }
    union bpf_attr at;
    memset(&at, 0, sizeof(at));
    at.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    at.insns = (uint64_t)(uintptr_t)a->i;
    at.insn_cnt = (uint32_t)a->n;
    at.license = (uint64_t)(uintptr_t) "dcgw";
    at.log_buf = (uint64_t)(uintptr_t)log;
    at.log_size = LOG_SIZE;
    at.log_level = 1;
    f->prog = (int)sys_bpf(BPF_PROG_LOAD, &at);
    if (f->prog < 0) {
        int e = errno;
        if (err) {
            char *last = strrchr(log, '\n');
            while (last && last > log && last[1] == '\0') { /* the verifier's last words */
                *last = '\0';
                last = strrchr(log, '\n');
            }
            snprintf(err, errcap, "loading the program: %s%s%.200s", strerror(e), *log ? ": " : "",
                     last ? last + 1 : log);
        }
        r = DCGW_EUNSUPPORTED;
    }
Exit:
    free(a);
    free(log);
    return r;
}

int dcgw_filter_new(int fd, const struct dcgw_filter_settings *s, struct dcgw_filter **out,
                    char *err, size_t errcap)
{
    *out = NULL;
    if (fd < 0 || !s || !s->addresses || (s->rate && !s->sources))
        return DCGW_EINVAL;
    struct dcgw_filter *f = calloc(1, sizeof(*f));
    if (!f)
        return DCGW_ENOMEM;
    f->fd = fd;
    f->buckets = f->prog = -1;
    f->known =
        map_create(BPF_MAP_TYPE_HASH, sizeof(struct known_key), 1, s->addresses, BPF_F_NO_PREALLOC);
    f->counters = map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0);
    int r = 0;
    if (f->known < 0 || f->counters < 0)
        r = fail(err, errcap, "creating the maps", errno);
    if (r == 0 && s->rate) {
        f->buckets = map_create(BPF_MAP_TYPE_LRU_HASH, sizeof(struct bucket_key),
                                sizeof(struct bucket), s->sources, 0);
        if (f->buckets < 0)
            r = fail(err, errcap, "creating the bucket map", errno);
    }
    if (r == 0)
        r = load(f, s, err, errcap);
    if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &f->prog, sizeof(f->prog)) < 0)
        r = fail(err, errcap, "attaching it", errno);
    if (r < 0) {
        f->fd = -1; /* nothing attached */
        dcgw_filter_free(f);
        return r;
    }
    *out = f;
    return 0;
}

static bool key_of(const struct sockaddr *sa, struct known_key *k)
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

static int map_op(int cmd, int map, const void *key, const void *value)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)map;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value;
    a.flags = cmd == BPF_MAP_UPDATE_ELEM ? BPF_ANY : 0;
    return (int)sys_bpf(cmd, &a);
}

int dcgw_filter_add(struct dcgw_filter *f, const struct sockaddr *addr)
{
    struct known_key k;
    uint8_t one = 1;
    if (!key_of(addr, &k))
        return DCGW_EINVAL;
    return map_op(BPF_MAP_UPDATE_ELEM, f->known, &k, &one) == 0 ? 0
           : errno == E2BIG || errno == ENOMEM                  ? DCGW_ELIMIT
                                                                : DCGW_EIO;
}

void dcgw_filter_del(struct dcgw_filter *f, const struct sockaddr *addr)
{
    struct known_key k;
    if (key_of(addr, &k))
        map_op(BPF_MAP_DELETE_ELEM, f->known, &k, NULL);
}

void dcgw_filter_stats(const struct dcgw_filter *f, struct dcgw_filter_stats *out)
{
    uint32_t idx[2] = {0, 1};
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        if (map_op(BPF_MAP_LOOKUP_ELEM, f->counters, &idx[i], &v[i]) < 0)
            v[i] = 0;
    out->dropped = v[0];
    out->limited = v[1];
}

void dcgw_filter_free(struct dcgw_filter *f)
{
    if (!f)
        return;
    if (f->fd >= 0 && f->prog >= 0) {
        int dummy = 0;
        setsockopt(f->fd, SOL_SOCKET, SO_DETACH_BPF, &dummy, sizeof(dummy));
    }
    int fds[] = {f->prog, f->buckets, f->known, f->counters};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(f);
}
