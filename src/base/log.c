#include "dcgw/base/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dcgw/base/limits.h"

static const char *const level_names[] = {
#define DCGW__LVL(name, str) str,
    DCGW_LOG_LEVEL_MAP(DCGW__LVL)
#undef DCGW__LVL
};

static const char *const module_names[] = {
#define DCGW__MOD(name, str) str,
    DCGW_LOG_MODULE_MAP(DCGW__MOD)
#undef DCGW__MOD
};

/* Process-wide log state, written only by dcgw_log_setup(). */
static struct {
    struct dcgw_log_settings s;
    char ident[32];
    bool syslog_open;
} log_state = {
    .s = {.target = DCGW_LOG_STDERR,
          .level = DCGW_LOG_INFO,
          .module_level = {[0 ... DCGW_LOG_MODULE_COUNT - 1] = -1}},
    .ident = "dcgw",
};

void dcgw_log_settings_default(struct dcgw_log_settings *s)
{
    s->target = DCGW_LOG_STDERR;
    s->level = DCGW_LOG_INFO;
    memset(s->module_level, -1, sizeof(s->module_level));
}

void dcgw_log_setup(const struct dcgw_log_settings *s, const char *ident)
{
    log_state.s = *s;
    if (ident)
        snprintf(log_state.ident, sizeof(log_state.ident), "%s", ident);
    if (s->target == DCGW_LOG_SYSLOG && !log_state.syslog_open) {
        openlog("dcgwd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_state.syslog_open = true;
    }
}

bool dcgw_log_enabled(enum dcgw_log_module mod, enum dcgw_log_level lvl)
{
    int threshold = log_state.s.module_level[mod];
    if (threshold < 0)
        threshold = (int)log_state.s.level;
    return (int)lvl <= threshold;
}

uint64_t dcgw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool dcgw__log_rl_take(struct dcgw_tbucket *b, bool *init, uint64_t *dropped, uint64_t *suppressed)
{
    uint64_t now = dcgw_now_us();
    if (!*init) {
        dcgw_tbucket_init(b, DCGW_LOG_RL_PER_SEC, DCGW_LOG_RL_BURST, now);
        *init = true;
    }
    if (!dcgw_tbucket_take(b, 1, now)) {
        ++*dropped;
        return false;
    }
    *suppressed = *dropped;
    *dropped = 0;
    return true;
}

void dcgw_log_write(enum dcgw_log_module mod, enum dcgw_log_level lvl, uint64_t suppressed,
                    const char *fmt, ...)
{
    char msg[DCGW_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char extra[64] = "";
    if (suppressed)
        snprintf(extra, sizeof(extra), " (%llu similar suppressed)",
                 (unsigned long long)suppressed);

    if (log_state.s.target == DCGW_LOG_SYSLOG) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
        syslog(prio[lvl], "%s %s: %s%s", log_state.ident, module_names[mod], msg, extra);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %s[%d] %-5s %s: %s%s\n", ts, (long)(tv.tv_usec / 1000),
            log_state.ident, (int)getpid(), level_names[lvl], module_names[mod], msg, extra);
}

int dcgw_log_level_parse(const char *s)
{
    for (int i = 0; i < DCGW_LOG_LEVEL_COUNT; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

int dcgw_log_module_parse(const char *s)
{
    for (int i = 0; i < DCGW_LOG_MODULE_COUNT; i++)
        if (strcmp(s, module_names[i]) == 0)
            return i;
    return -1;
}

const char *dcgw_log_level_name(enum dcgw_log_level lvl)
{
    return (unsigned)lvl < DCGW_LOG_LEVEL_COUNT ? level_names[lvl] : "?";
}

const char *dcgw_log_module_name(enum dcgw_log_module mod)
{
    return (unsigned)mod < DCGW_LOG_MODULE_COUNT ? module_names[mod] : "?";
}
