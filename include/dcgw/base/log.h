/* Logging: levels, per-module thresholds, stderr or syslog, and a rate-limited form for
 * the data path (a token bucket per call site: a burst, then a few lines per second,
 * with the count of suppressed lines reported on the next one that passes).
 *
 * The log state is per process and set from the configuration at start and on reload.
 * Worker processes are single-threaded; the master is too. */
#ifndef DCGW_LOG_H
#define DCGW_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "dcgw/base/tbucket.h"

#define DCGW_LOG_LEVEL_MAP(XX)                                                                     \
    XX(ERROR, "error")                                                                             \
    XX(WARN, "warn")                                                                               \
    XX(INFO, "info")                                                                               \
    XX(DEBUG, "debug")                                                                             \
    XX(TRACE, "trace")

enum dcgw_log_level {
#define DCGW__LVL(name, str) DCGW_LOG_##name,
    DCGW_LOG_LEVEL_MAP(DCGW__LVL)
#undef DCGW__LVL
        DCGW_LOG_LEVEL_COUNT
};

#define DCGW_LOG_MODULE_MAP(XX)                                                                    \
    XX(CORE, "core")                                                                               \
    XX(CONFIG, "config")                                                                           \
    XX(CTL, "ctl")                                                                                 \
    XX(MASTER, "master")                                                                           \
    XX(WORKER, "worker")                                                                           \
    XX(SESSION, "session")                                                                         \
    XX(IO, "io")                                                                                   \
    XX(SDP, "sdp")                                                                                 \
    XX(ICE, "ice")                                                                                 \
    XX(DTLS, "dtls")                                                                               \
    XX(SCTP, "sctp")                                                                               \
    XX(DC, "dc")                                                                                   \
    XX(BRIDGE, "bridge")                                                                           \
    XX(POLICY, "policy")                                                                           \
    XX(RELAY, "relay")                                                                             \
    XX(AVATAR, "avatar")                                                                           \
    XX(METRICS, "metrics")                                                                         \
    XX(BENCH, "bench")                                                                             \
    XX(MEDIA, "media")

enum dcgw_log_module {
#define DCGW__MOD(name, str) DCGW_MOD_##name,
    DCGW_LOG_MODULE_MAP(DCGW__MOD)
#undef DCGW__MOD
        DCGW_LOG_MODULE_COUNT
};

enum dcgw_log_target { DCGW_LOG_STDERR, DCGW_LOG_SYSLOG };

struct dcgw_log_settings {
    enum dcgw_log_target target;
    enum dcgw_log_level level;                       /* default threshold */
    signed char module_level[DCGW_LOG_MODULE_COUNT]; /* -1: use level */
};

/* Installs thresholds and target; ident names the process in each line ("master",
 * "worker 1"). Safe to call again on reload. */
void dcgw_log_setup(const struct dcgw_log_settings *s, const char *ident);
void dcgw_log_settings_default(struct dcgw_log_settings *s);
bool dcgw_log_enabled(enum dcgw_log_module mod, enum dcgw_log_level lvl);
void dcgw_log_write(enum dcgw_log_module mod, enum dcgw_log_level lvl, uint64_t suppressed,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Names for levels and modules; -1 when unknown. */
int dcgw_log_level_parse(const char *s);
int dcgw_log_module_parse(const char *s);
const char *dcgw_log_level_name(enum dcgw_log_level lvl);
const char *dcgw_log_module_name(enum dcgw_log_module mod);
/* Monotonic clock in microseconds, shared by everything that needs one outside a loop. */
uint64_t dcgw_now_us(void);
/* Rate limiter of one call site: true to log; *suppressed gets lines dropped since. */
bool dcgw__log_rl_take(struct dcgw_tbucket *b, bool *init, uint64_t *dropped, uint64_t *suppressed);

#define DCGW_LOG(mod, lvl, ...)                                                                    \
    do {                                                                                           \
        if (dcgw_log_enabled(DCGW_MOD_##mod, DCGW_LOG_##lvl))                                      \
            dcgw_log_write(DCGW_MOD_##mod, DCGW_LOG_##lvl, 0, __VA_ARGS__);                        \
    } while (0)

#define DCGW_ERROR(mod, ...) DCGW_LOG(mod, ERROR, __VA_ARGS__)
#define DCGW_WARN(mod, ...)  DCGW_LOG(mod, WARN, __VA_ARGS__)
#define DCGW_INFO(mod, ...)  DCGW_LOG(mod, INFO, __VA_ARGS__)
#define DCGW_DEBUG(mod, ...) DCGW_LOG(mod, DEBUG, __VA_ARGS__)

/* Rate-limited form for anything the network can trigger. */
#define DCGW_LOG_RL(mod, lvl, ...)                                                                 \
    do {                                                                                           \
        static struct dcgw_tbucket rl_b__;                                                         \
        static bool rl_init__;                                                                     \
        static uint64_t rl_dropped__;                                                              \
        uint64_t rl_sup__;                                                                         \
        if (dcgw_log_enabled(DCGW_MOD_##mod, DCGW_LOG_##lvl) &&                                    \
            dcgw__log_rl_take(&rl_b__, &rl_init__, &rl_dropped__, &rl_sup__))                      \
            dcgw_log_write(DCGW_MOD_##mod, DCGW_LOG_##lvl, rl_sup__, __VA_ARGS__);                 \
    } while (0)

#endif
