/* Per-source token buckets (ratelimit.h). */
#include "dcgw/base/ratelimit.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dcgw/base/error.h"
#include "dcgw/base/tbucket.h"

enum { PROBE = 8 }; /* entries looked at per datagram: bounded work whatever the table holds */

struct entry {
    uint8_t used;
    uint8_t key[9]; /* family, then the IPv4 address or the IPv6 /64 */
    struct dcgw_tbucket b;
};

struct dcgw_ratelimit {
    struct dcgw_ratelimit_settings s;
    uint64_t hkey[2];
    size_t mask;
    struct dcgw_ratelimit_stats stats;
    struct entry *e;
};

int dcgw_ratelimit_new(const struct dcgw_ratelimit_settings *s, struct dcgw_ratelimit **out)
{
    *out = NULL;
    if (!s->sources || s->sources > DCGW_RATELIMIT_SOURCES_MAX)
        return DCGW_EINVAL;
    size_t n = 1;
    while (n < s->sources)
        n <<= 1;
    struct dcgw_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl || !(rl->e = calloc(n, sizeof(*rl->e)))) {
        free(rl);
        return DCGW_ENOMEM;
    }
    rl->s = *s;
    if (!rl->s.burst)
        rl->s.burst = rl->s.rate;
    rl->mask = n - 1;
    if (getrandom(rl->hkey, sizeof(rl->hkey), 0) != sizeof(rl->hkey)) {
        rl->hkey[0] = (uint64_t)(uintptr_t)rl * 0x9e3779b97f4a7c15u; /* still per process */
        rl->hkey[1] = (uint64_t)(uintptr_t)rl->e ^ 0xc2b2ae3d27d4eb4fu;
    }
    *out = rl;
    return 0;
}

void dcgw_ratelimit_free(struct dcgw_ratelimit *rl)
{
    if (!rl)
        return;
    free(rl->e);
    free(rl);
}

static bool key_of(const struct sockaddr *sa, uint8_t key[9])
{
    memset(key, 0, 9);
    key[0] = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
    else
        return false;
    return true;
}

/* A keyed mix of the 9 key bytes (not cryptographic: the key only keeps a sender from
 * knowing which addresses share a probe run; the run is bounded anyway). */
static size_t slot_of(const struct dcgw_ratelimit *rl, const uint8_t key[9])
{
    uint64_t a, h;
    memcpy(&a, key + 1, 8);
    h = (a ^ rl->hkey[0]) * 0x9e3779b97f4a7c15u;
    h ^= (h >> 29) ^ key[0];
    h = (h ^ rl->hkey[1]) * 0xbf58476d1ce4e5b9u;
    return (size_t)(h ^ (h >> 32)) & rl->mask;
}

bool dcgw_ratelimit_allow(struct dcgw_ratelimit *rl, const struct sockaddr *from, uint64_t now_us)
{
    if (!rl->s.rate) {
        rl->stats.allowed++;
        return true;
    }
    uint8_t key[9];
    if (!key_of(from, key)) {
        rl->stats.limited++;
        return false;
    }
    size_t i = slot_of(rl, key);
    struct entry *free_slot = NULL;
    for (int k = 0; k < PROBE; k++, i = (i + 1) & rl->mask) {
        struct entry *e = &rl->e[i];
        if (e->used && memcmp(e->key, key, sizeof(key)) == 0) {
            bool ok = dcgw_tbucket_take(&e->b, 1, now_us);
            ok ? rl->stats.allowed++ : rl->stats.limited++;
            return ok;
        }
        /* an idle source's bucket is full again: its entry is as good as free */
        if (!free_slot && (!e->used || dcgw_tbucket_available(&e->b, now_us) >= e->b.burst))
            free_slot = e;
    }
    if (!free_slot) {
        rl->stats.table_full++;
        rl->stats.limited++;
        return false;
    }
    free_slot->used = 1;
    memcpy(free_slot->key, key, sizeof(key));
    dcgw_tbucket_init(&free_slot->b, rl->s.rate, rl->s.burst, now_us);
    dcgw_tbucket_take(&free_slot->b, 1, now_us);
    rl->stats.allowed++;
    return true;
}

const struct dcgw_ratelimit_stats *dcgw_ratelimit_stats(const struct dcgw_ratelimit *rl)
{
    return &rl->stats;
}
