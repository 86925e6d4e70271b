/* Configuration: one table names every setting, its type, range and default. The same
 * table fills defaults, parses, validates and rejects unknown names. */
#include "dcgw/msg/config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcgw/base/addr.h"
#include "dcgw/guard/avatar.h"
#include "dcgw/base/error.h"
#include "dcgw/base/limits.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/http_url.h"

enum opt_type { T_U32, T_BOOL, T_STR, T_MODE, T_LEVEL, T_TARGET, T_MODULES, T_HASH };

struct opt {
    const char *path;
    enum opt_type type;
    size_t off;
    size_t size; /* T_STR: buffer size */
    int64_t min, max;
    int64_t def; /* numeric defaults (enums as their value) */
    const char *sdef;
};

#define O(field) offsetof(struct dcgw_config, field), sizeof(((struct dcgw_config *)0)->field)
#define U32(path, field, lo, hi, d)                                                                \
    {                                                                                              \
        path, T_U32, O(field), lo, hi, d, NULL                                                     \
    }
#define BOOL(path, field, d)                                                                       \
    {                                                                                              \
        path, T_BOOL, O(field), 0, 1, d, NULL                                                      \
    }
#define STR(path, field, d)                                                                        \
    {                                                                                              \
        path, T_STR, O(field), 0, 0, 0, d                                                          \
    }

static const struct opt opts[] = {
    U32("workers", workers, 0, DCGW_MAX_WORKERS, 0),
    {"log.level", T_LEVEL, O(log.level), 0, 0, DCGW_LOG_INFO, NULL},
    {"log.target", T_TARGET, O(log.target), 0, 0, DCGW_LOG_STDERR, NULL},
    {"log.modules", T_MODULES, O(log.module_level), 0, 0, 0, NULL},
    STR("control.socket", control.socket, "/run/dcgw/control.sock"),
    {"control.socket_mode", T_MODE, O(control.socket_mode), 0, 0777, 0660, NULL},
    U32("control.max_connections", control.max_connections, 1, DCGW_CTL_MAX_CONNS_CEILING,
        DCGW_CTL_MAX_CONNS_DEFAULT),
    U32("control.max_frame", control.max_frame, DCGW_FRAME_MAX_MIN, DCGW_FRAME_MAX_CEILING,
        DCGW_FRAME_MAX_DEFAULT),
    U32("control.outbuf_limit", control.outbuf_limit, 65536, 1u << 30, DCGW_CTL_OUTBUF_DEFAULT),
    U32("control.idle_timeout_ms", control.idle_timeout_ms, 0, 86400000, 60000),
    U32("control.frame_timeout_ms", control.frame_timeout_ms, 0, 3600000, 10000),
    U32("control.operator_connections", control.operator_connections, 0, 64, 4),
    U32("control.event_replay", control.event_replay, 0, 1000000, 10000),
    U32("control.event_replay_bytes", control.event_replay_bytes, 0, 1u << 30, 2u << 20),
    BOOL("control.tcp.enabled", control.tcp_enabled, 0),
    STR("control.tcp.listen", control.tcp_listen, "127.0.0.1:7445"),
    STR("control.tcp.cert", control.tls_cert, ""),
    STR("control.tcp.key", control.tls_key, ""),
    STR("control.tcp.ca", control.tls_ca, ""),
    STR("data_plane.address", data_plane.address, "127.0.0.1"),
    STR("data_plane.advertise", data_plane.advertise, ""),
    U32("data_plane.port", data_plane.port, 0, 65535 - DCGW_MAX_WORKERS, 0),
    U32("data_plane.recv_batch", data_plane.recv_batch, 1, 1024, 32),
    U32("data_plane.socket_buffer", data_plane.socket_buffer, 65536, 1u << 30, 4u << 20),
    U32("data_plane.idle_poll_ms", data_plane.idle_poll_ms, 0, 100, 10),
    BOOL("data_plane.gso", data_plane.gso, 1),
    BOOL("data_plane.gro", data_plane.gro, 1),
    U32("data_plane.unknown_source_rate", data_plane.unknown_source_rate, 0, 1000000,
        DCGW_UNKNOWN_RATE_DEFAULT),
    U32("data_plane.unknown_source_burst", data_plane.unknown_source_burst, 1, 1000000,
        DCGW_UNKNOWN_BURST_DEFAULT),
    U32("data_plane.unknown_source_table", data_plane.unknown_source_table, 16,
        DCGW_RATELIMIT_SOURCES_MAX, DCGW_UNKNOWN_SOURCES_DEFAULT),
    BOOL("data_plane.kernel_filter", data_plane.kernel_filter, 1),
    BOOL("fast_path.enabled", fast_path.enabled, 0),
    STR("fast_path.interfaces", fast_path.interfaces, ""),
    STR("fast_path.attach", fast_path.attach, "auto"),
    U32("fast_path.max_flows", fast_path.max_flows, 1, DCGW_FAST_PATH_FLOWS_CEILING,
        DCGW_FAST_PATH_FLOWS_DEFAULT),
    U32("sessions.max_per_worker", sessions.max_per_worker, 1, 10000000, DCGW_MAX_SESSIONS_DEFAULT),
    U32("sessions.setup_timeout_ms", sessions.setup_timeout_ms, 1000, 3600000, 60000),
    U32("sessions.down_timeout_ms", sessions.down_timeout_ms, 0, 86400000, 30000),
    U32("ice.consent_timeout_ms", ice.consent_timeout_ms, 1000, 3600000, 30000),
    STR("dtls.cert", dtls.cert, ""),
    STR("dtls.key", dtls.key, ""),
    {"dtls.min_hash", T_HASH, O(dtls.min_hash), 0, 0, DCGW_HASH_SHA256, NULL},
    U32("dtls.mtu", dtls.mtu, 576, 9000, 1200),
    U32("dtls.initial_timeout_ms", dtls.initial_timeout_ms, 10, 60000, 1000),
    U32("sctp.streams", sctp.streams, 1, DCGW_SCTP_STREAMS_CEILING, DCGW_SCTP_STREAMS_DEFAULT),
    U32("sctp.max_message_size", sctp.max_message_size, 1024, DCGW_MAX_MESSAGE_SIZE_CEILING,
        DCGW_MAX_MESSAGE_SIZE_DEFAULT),
    U32("sctp.timer_interval_ms", sctp.timer_interval_ms, 10, 1000, 50),
    U32("sctp.idle_timer_interval_ms", sctp.idle_timer_interval_ms, 10, 60000, 1000),
    U32("sctp.heartbeat_interval_ms", sctp.heartbeat_interval_ms, 0, 3600000, 0),
    U32("sctp.delayed_sack_ms", sctp.delayed_sack_ms, 1, 200, 1),
    U32("sctp.sack_freq", sctp.sack_freq, 1, 1024, 3),
    U32("sctp.buffered_limit", sctp.buffered_limit, 16384, 1u << 30, 1u << 20),
    BOOL("sctp.allow_dcep", sctp.allow_dcep, 1),
    BOOL("sctp.dcep_tolerate_parity", sctp.dcep_tolerate_parity, 1),
    STR("media.answer_setup", media.answer_setup, "passive"),
    U32("media.max_transports_per_leg", media.max_transports_per_leg, 1,
        DCGW_MEDIA_TRANSPORTS_CEILING, DCGW_MEDIA_TRANSPORTS_DEFAULT),
    U32("watchdog.hang_timeout_ms", watchdog.hang_timeout_ms, 0, 600000, 10000),
    U32("watchdog.stable_after_ms", watchdog.stable_after_ms, 0, 86400000, 60000),
    U32("watchdog.max_start_failures", watchdog.max_start_failures, 1, 1000, 5),
    U32("shutdown.drain_timeout_ms", shutdown.drain_timeout_ms, 0, 600000,
        DCGW_DRAIN_TIMEOUT_MS_DEFAULT),
    U32("shutdown.flush_timeout_ms", shutdown.flush_timeout_ms, 0, 600000, 2000),
    STR("avatar.trust_anchors", avatar.trust_anchors, ""),
    STR("avatar.trusted_keys", avatar.trusted_keys, ""),
    STR("avatar.audience", avatar.audience, ""),
    U32("avatar.max_size", avatar.max_size, 1, 1u << 30, DCGW_AVATAR_MAX_SIZE_DEFAULT),
    U32("avatar.max_chunk_size", avatar.max_chunk_size, 1, DCGW_MAX_MESSAGE_SIZE_CEILING,
        DCGW_AVATAR_CHUNK_SIZE_DEFAULT),
    U32("avatar.max_chunks", avatar.max_chunks, 1, DCGW_AVATAR_CHUNKS_CEILING,
        DCGW_AVATAR_MAX_CHUNKS_DEFAULT),
    U32("avatar.clock_skew_s", avatar.clock_skew_s, 0, 3600, DCGW_AVATAR_CLOCK_SKEW_DEFAULT_S),
    U32("avatar.min_rsa_bits", avatar.min_rsa_bits, 2048, DCGW_JWS_RSA_MAX_BITS,
        DCGW_JWS_RSA_MIN_BITS_DEFAULT),
    U32("avatar.transfer_timeout_ms", avatar.transfer_timeout_ms, 0,
        DCGW_AVATAR_TRANSFER_TIMEOUT_MAX_MS, DCGW_AVATAR_TRANSFER_TIMEOUT_DEFAULT_MS),
    STR("bootstrap.tls_ca", bootstrap.tls_ca, ""),
    STR("bootstrap.tls_cert", bootstrap.tls_cert, ""),
    STR("bootstrap.tls_key", bootstrap.tls_key, ""),
    U32("bootstrap.connect_timeout_ms", bootstrap.connect_timeout_ms, 100, 600000, 3000),
    U32("bootstrap.request_timeout_ms", bootstrap.request_timeout_ms, 100, 3600000, 30000),
    U32("bootstrap.max_header_bytes", bootstrap.max_header_bytes, 1024,
        DCGW_HTTP_HEADER_BYTES_CEILING, DCGW_HTTP_HEADER_BYTES_DEFAULT),
    U32("bootstrap.max_body_bytes", bootstrap.max_body_bytes, 0, DCGW_HTTP_BODY_CEILING,
        DCGW_HTTP_BODY_DEFAULT),
    U32("bootstrap.max_concurrent", bootstrap.max_concurrent, 1, DCGW_HTTP_CONCURRENT_CEILING,
        DCGW_HTTP_CONCURRENT_DEFAULT),
    U32("bootstrap.window_bytes", bootstrap.window_bytes, DCGW_HTTP_WINDOW_MIN,
        DCGW_HTTP_WINDOW_CEILING, DCGW_HTTP_WINDOW_DEFAULT),
    U32("bootstrap.max_transfers", bootstrap.max_transfers, 1, 1000000, 4096),
    U32("bootstrap.max_host_connections", bootstrap.max_host_connections, 1, 10000, 16),
    STR("bootstrap.session_header", bootstrap.session_header, "X-Dcgw-Session"),
    BOOL("nmf.enabled", nmf.enabled, 0),
    STR("nmf.listen", nmf.listen, "127.0.0.1:8080"),
    STR("nmf.tls.cert", nmf.tls_cert, ""),
    STR("nmf.tls.key", nmf.tls_key, ""),
    STR("nmf.api_root", nmf.api_root, ""),
    U32("nmf.max_body", nmf.max_body, 1024, 16u << 20, 65536),
    U32("nmf.max_connections", nmf.max_connections, 1, 10000, 64),
    U32("nmf.max_streams", nmf.max_streams, 1, 1000, 100),
    U32("nmf.request_timeout_ms", nmf.request_timeout_ms, 100, 600000, 10000),
    STR("nmf.policy", nmf.policy, ""),
    U32("nmf.vendor_pen", nmf.vendor_pen, 1, 999999, 32473),
    BOOL("nmf.oauth2.enabled", nmf.oauth2_enabled, 0),
    STR("nmf.oauth2.key", nmf.oauth2_key, ""),
    STR("nmf.oauth2.audience", nmf.oauth2_audience, ""),
    U32("nmf.oauth2.clock_skew_s", nmf.oauth2_clock_skew_s, 0, 3600, 60),
    BOOL("metrics.enabled", metrics.enabled, 1),
    STR("metrics.listen", metrics.listen, DCGW_METRICS_LISTEN_DEFAULT),
    U32("metrics.push_interval_ms", metrics.push_interval_ms, DCGW_METRICS_PUSH_MIN_MS,
        DCGW_METRICS_PUSH_MAX_MS, DCGW_METRICS_PUSH_DEFAULT_MS),
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static void *field(struct dcgw_config *cfg, const struct opt *o)
{
    return (char *)cfg + o->off;
}

void dcgw_config_default(struct dcgw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    dcgw_log_settings_default(&cfg->log);
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        void *f = field(cfg, o);
        switch (o->type) {
        case T_U32:
        case T_MODE:
            *(uint32_t *)f = (uint32_t)o->def;
            break;
        case T_BOOL:
            *(bool *)f = o->def != 0;
            break;
        case T_STR:
            snprintf(f, o->size, "%s", o->sdef);
            break;
        case T_LEVEL:
            cfg->log.level = (enum dcgw_log_level)o->def;
            break;
        case T_TARGET:
            cfg->log.target = (enum dcgw_log_target)o->def;
            break;
        case T_HASH:
            cfg->dtls.min_hash = (enum dcgw_hash)o->def;
            break;
        case T_MODULES:
            break;
        }
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores > 0 ? (uint32_t)(cores < DCGW_MAX_WORKERS ? cores : DCGW_MAX_WORKERS) : 1;
}

struct perr {
    char *buf;
    size_t cap;
    const char *name;
};

static int fail(struct perr *e, const config_setting_t *s, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct perr *e, const config_setting_t *s, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (e->buf && e->cap)
        snprintf(e->buf, e->cap, "%s:%d: %s: %s", e->name, s ? config_setting_source_line(s) : 0,
                 path, msg);
    return DCGW_ECONFIG;
}

static int get_int(const config_setting_t *s, int64_t *v)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        *v = config_setting_get_int64(s);
        return 0;
    default:
        return -1;
    }
}

static int set_modules(struct dcgw_config *cfg, const config_setting_t *s, struct perr *e)
{
    if (!config_setting_is_group(s))
        return fail(e, s, "log.modules", "expected a group of module = \"level\"");
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(m);
        int mod = dcgw_log_module_parse(name);
        if (mod < 0)
            return fail(e, m, "log.modules", "unknown module '%s'", name);
        const char *lv = config_setting_get_string(m);
        int lvl = lv ? dcgw_log_level_parse(lv) : -1;
        if (lvl < 0)
            return fail(e, m, "log.modules", "%s: level must be error, warn, info, debug or trace",
                        name);
        cfg->log.module_level[mod] = (signed char)lvl;
    }
    return 0;
}

static int set_named(const config_setting_t *s, const struct opt *o, struct perr *e, int *out)
{
    const char *v = config_setting_get_string(s);
    int r = -1;
    if (v && o->type == T_LEVEL)
        r = dcgw_log_level_parse(v);
    else if (v && o->type == T_TARGET)
        r = strcmp(v, "stderr") == 0   ? DCGW_LOG_STDERR
            : strcmp(v, "syslog") == 0 ? DCGW_LOG_SYSLOG
                                       : -1;
    else if (v && o->type == T_HASH)
        r = v && dcgw_hash_parse(v, strlen(v)) != DCGW_HASH_NONE
                ? (int)dcgw_hash_parse(v, strlen(v))
                : -1;
    if (r < 0) {
        static const char *const want[] = {
            [T_LEVEL] = "error, warn, info, debug or trace",
            [T_TARGET] = "stderr or syslog",
            [T_HASH] = "sha-1, sha-224, sha-256, sha-384 or sha-512",
        };
        return fail(e, s, o->path, "expected one of %s", want[o->type]);
    }
    *out = r;
    return 0;
}

static int set_one(struct dcgw_config *cfg, const struct opt *o, const config_setting_t *s,
                   struct perr *e)
{
    void *f = field(cfg, o);
    int64_t v = 0;
    int named = 0;
    switch (o->type) {
    case T_U32:
        if (get_int(s, &v) < 0)
            return fail(e, s, o->path, "expected an integer");
        if (v < o->min || v > o->max)
            return fail(e, s, o->path, "%lld is out of range [%lld, %lld]", (long long)v,
                        (long long)o->min, (long long)o->max);
        *(uint32_t *)f = (uint32_t)v;
        return 0;
    case T_MODE: {
        const char *str = config_setting_get_string(s);
        char *end = NULL;
        if (str)
            v = strtoll(str, &end, 8);
        if (!str || !*str || *end || v < 0 || v > o->max)
            return fail(e, s, o->path, "expected an octal mode string such as \"0660\"");
        *(uint32_t *)f = (uint32_t)v;
        return 0;
    }
    case T_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return fail(e, s, o->path, "expected true or false");
        *(bool *)f = config_setting_get_bool(s);
        return 0;
    case T_STR: {
        const char *str = config_setting_get_string(s);
        if (!str)
            return fail(e, s, o->path, "expected a string");
        if (strlen(str) >= o->size)
            return fail(e, s, o->path, "longer than %zu characters", o->size - 1);
        snprintf(f, o->size, "%s", str);
        return 0;
    }
    case T_LEVEL:
    case T_TARGET:
    case T_HASH:
        if (set_named(s, o, e, &named) < 0)
            return DCGW_ECONFIG;
        if (o->type == T_LEVEL)
            cfg->log.level = (enum dcgw_log_level)named;
        else if (o->type == T_TARGET)
            cfg->log.target = (enum dcgw_log_target)named;
        else
            cfg->dtls.min_hash = (enum dcgw_hash)named;
        return 0;
    case T_MODULES:
        return set_modules(cfg, s, e);
    }
    return DCGW_EINTERNAL;
}

/* Walks the parsed tree: every leaf must be a known setting, every group a prefix of one. */
static int walk(struct dcgw_config *cfg, const config_setting_t *grp, const char *prefix,
                struct perr *e)
{
    for (int i = 0; i < config_setting_length(grp); i++) {
        const config_setting_t *s = config_setting_get_elem(grp, (unsigned)i);
        const char *name = config_setting_name(s);
        char path[128];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name ? name : "?");
        const struct opt *o = NULL;
        for (size_t k = 0; k < N_OPTS && !o; k++)
            if (strcmp(opts[k].path, path) == 0)
                o = &opts[k];
        if (o) {
            int r = set_one(cfg, o, s, e);
            if (r < 0)
                return r;
            continue;
        }
        bool is_prefix = false;
        size_t plen = strlen(path);
        for (size_t k = 0; k < N_OPTS && !is_prefix; k++)
            is_prefix = strncmp(opts[k].path, path, plen) == 0 && opts[k].path[plen] == '.';
        if (!is_prefix || !config_setting_is_group(s))
            return fail(e, s, path, "unknown setting");
        int r = walk(cfg, s, path, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* dtls.cert and dtls.key are read where they are named: a worker that cannot read them
 * would not start, so they are an error of the configuration (--check-config, start,
 * reload), each file named with the reason. */
static int check_dtls_files(const struct dcgw_config *cfg, const config_t *lc, struct perr *e)
{
    const char *path[2] = {cfg->dtls.cert, cfg->dtls.key}, *name[2] = {"dtls.cert", "dtls.key"};
    for (int i = 0; i < 2; i++) {
        struct stat sb;
        if (stat(path[i], &sb) == 0 && !S_ISREG(sb.st_mode))
            return fail(e, config_lookup(lc, name[i]), name[i], "%s is not a regular file",
                        path[i]);
        FILE *f = fopen(path[i], "r");
        if (!f)
            return fail(e, config_lookup(lc, name[i]), name[i], "cannot read %s: %s", path[i],
                        strerror(errno));
        fclose(f);
    }
    struct dcgw_cert *c = NULL;
    int r = dcgw_cert_load_pem(cfg->dtls.cert, cfg->dtls.key, &c);
    dcgw_cert_unref(c);
    switch (r) {
    case 0:
        return 0;
    case DCGW_EAUTH:
        return fail(e, config_lookup(lc, "dtls.key"), "dtls.key",
                    "%s is not the private key of the certificate in %s", cfg->dtls.key,
                    cfg->dtls.cert);
    case DCGW_EMALFORMED:
        return fail(e, config_lookup(lc, "dtls"), "dtls",
                    "%s must hold a PEM certificate and %s a PEM private key", cfg->dtls.cert,
                    cfg->dtls.key);
    case DCGW_EUNSUPPORTED:
        return fail(e, config_lookup(lc, "dtls.key"), "dtls.key",
                    "%s: only EC and RSA keys are usable for DTLS", cfg->dtls.key);
    default:
        return fail(e, config_lookup(lc, "dtls"), "dtls", "%s / %s: %s", cfg->dtls.cert,
                    cfg->dtls.key, dcgw_strerror(r));
    }
}

static int validate(struct dcgw_config *cfg, const config_t *lc, struct perr *e)
{
    if (cfg->control.tcp_enabled &&
        (!*cfg->control.tls_cert || !*cfg->control.tls_key || !*cfg->control.tls_ca)) {
        const config_setting_t *s = config_lookup(lc, "control.tcp.enabled");
        return fail(e, s, "control.tcp", "TCP control needs cert, key and ca (mutual TLS)");
    }
    if (!*cfg->control.socket && !cfg->control.tcp_enabled)
        return fail(e, config_lookup(lc, "control.socket"), "control.socket",
                    "empty socket path and TCP disabled: no way to control dcgw");
    struct sockaddr_storage ss;
    if (cfg->control.tcp_enabled && dcgw_addr_parse(cfg->control.tcp_listen, &ss) < 0)
        return fail(e, config_lookup(lc, "control.tcp.listen"), "control.tcp.listen",
                    "expected a numeric host:port such as 127.0.0.1:7445 or [::1]:7445");
    if (dcgw_addr_from(cfg->data_plane.address, 0, &ss) < 0)
        return fail(e, config_lookup(lc, "data_plane.address"), "data_plane.address",
                    "expected a numeric IPv4 or IPv6 address");
    if (*cfg->data_plane.advertise && dcgw_addr_from(cfg->data_plane.advertise, 0, &ss) < 0)
        return fail(e, config_lookup(lc, "data_plane.advertise"), "data_plane.advertise",
                    "expected a numeric IPv4 or IPv6 address");
    if (dcgw_addr_parse(cfg->metrics.listen, &ss) < 0)
        return fail(e, config_lookup(lc, "metrics.listen"), "metrics.listen",
                    "expected a numeric host:port such as " DCGW_METRICS_LISTEN_DEFAULT
                    " or [::1]:9745");
    const char *as = cfg->media.answer_setup;
    if (strcmp(as, "passive") != 0 && strcmp(as, "active") != 0)
        return fail(e, config_lookup(lc, "media.answer_setup"), "media.answer_setup",
                    "expected \"passive\" or \"active\"");
    const char *at = cfg->fast_path.attach;
    if (strcmp(at, "auto") != 0 && strcmp(at, "tcx") != 0 && strcmp(at, "tc") != 0)
        return fail(e, config_lookup(lc, "fast_path.attach"), "fast_path.attach",
                    "expected \"auto\", \"tcx\" or \"tc\"");
    if (!*cfg->dtls.cert != !*cfg->dtls.key)
        return fail(e, config_lookup(lc, *cfg->dtls.cert ? "dtls.cert" : "dtls.key"), "dtls",
                    "cert and key go together");
    if (*cfg->dtls.cert && check_dtls_files(cfg, lc, e) < 0)
        return DCGW_ECONFIG;
    if (cfg->nmf.enabled && dcgw_addr_parse(cfg->nmf.listen, &ss) < 0)
        return fail(e, config_lookup(lc, "nmf.listen"), "nmf.listen",
                    "expected a numeric host:port such as 127.0.0.1:8080 or [::1]:8080");
    if (!*cfg->nmf.tls_cert != !*cfg->nmf.tls_key)
        return fail(e, config_lookup(lc, *cfg->nmf.tls_cert ? "nmf.tls.cert" : "nmf.tls.key"),
                    "nmf.tls", "cert and key go together");
    if (cfg->nmf.oauth2_enabled && !*cfg->nmf.oauth2_key)
        return fail(e, config_lookup(lc, "nmf.oauth2.enabled"), "nmf.oauth2",
                    "checking tokens needs the NRF's public key (nmf.oauth2.key)");
    /* avatar trust anchors: unreadable files are configuration errors, not silent distrust */
    char why[256] = "";
    struct dcgw_trust *t = NULL;
    int tr = dcgw_trust_new(&t);
    const char *tp = "avatar.trust_anchors";
    if (tr == 0 && *cfg->avatar.trust_anchors)
        tr = dcgw_trust_add_ca_file(t, cfg->avatar.trust_anchors, why, sizeof(why));
    if (tr == 0 && *cfg->avatar.trusted_keys) {
        tp = "avatar.trusted_keys";
        tr = dcgw_trust_add_keys_dir(t, cfg->avatar.trusted_keys, why, sizeof(why));
    }
    dcgw_trust_unref(t);
    if (tr < 0)
        return fail(e, config_lookup(lc, tp), tp, "%s", why);
    if (!*cfg->bootstrap.tls_cert != !*cfg->bootstrap.tls_key)
        return fail(e,
                    config_lookup(lc, *cfg->bootstrap.tls_cert ? "bootstrap.tls_cert"
                                                               : "bootstrap.tls_key"),
                    "bootstrap", "tls_cert and tls_key go together");
    const char *bs_files[] = {"bootstrap.tls_ca", "bootstrap.tls_cert", "bootstrap.tls_key"};
    const char *bs_paths[] = {cfg->bootstrap.tls_ca, cfg->bootstrap.tls_cert,
                              cfg->bootstrap.tls_key};
    for (size_t i = 0; i < 3; i++)
        if (*bs_paths[i] && access(bs_paths[i], R_OK) != 0)
            return fail(e, config_lookup(lc, bs_files[i]), bs_files[i], "%s: %s", bs_paths[i],
                        strerror(errno));
    if (!dcgw_http_header_name_valid(cfg->bootstrap.session_header, true))
        return fail(e, config_lookup(lc, "bootstrap.session_header"), "bootstrap.session_header",
                    "expected an HTTP header name (letters, digits, - and the like) or \"\"");
    if (cfg->workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers =
            cores > 0 ? (uint32_t)(cores < DCGW_MAX_WORKERS ? cores : DCGW_MAX_WORKERS) : 1;
    }
    return 0;
}

int dcgw_config_parse(const char *text, const char *name, struct dcgw_config *out, char *err,
                      size_t errcap)
{
    struct perr e = {err, errcap, name ? name : "<config>"};
    config_t lc;
    config_init(&lc);
    struct dcgw_config cfg;
    dcgw_config_default(&cfg);
    cfg.workers = 0;
    int r;
    if (!config_read_string(&lc, text)) {
        if (err && errcap)
            snprintf(err, errcap, "%s:%d: %s", e.name, config_error_line(&lc),
                     config_error_text(&lc));
        r = DCGW_ECONFIG;
        goto out;
    }
    r = walk(&cfg, config_root_setting(&lc), "", &e);
    if (r == 0)
        r = validate(&cfg, &lc, &e);
    if (r == 0)
        *out = cfg;
out:
    config_destroy(&lc);
    return r;
}

int dcgw_config_load(const char *path, struct dcgw_config *out, char **text_out, char *err,
                     size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return DCGW_ECONFIG;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    int r = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap >= (size_t)DCGW_FRAME_MAX_CEILING) {
                snprintf(err, errcap, "%s: larger than %d bytes", path, DCGW_FRAME_MAX_CEILING);
                r = DCGW_ECONFIG;
                goto out;
            }
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                r = DCGW_ENOMEM;
                goto out;
            }
            text = t;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errcap, "%s: read error", path);
        r = DCGW_ECONFIG;
        goto out;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        snprintf(err, errcap, "%s:1: not a text file", path);
        r = DCGW_ECONFIG;
        goto out;
    }
    r = dcgw_config_parse(text, path, out, err, errcap);
    if (r == 0 && text_out) {
        *text_out = text;
        text = NULL;
    }
out:
    fclose(f);
    free(text);
    return r;
}

const char *dcgw_config_setting_name(size_t i)
{
    return i < N_OPTS ? opts[i].path : NULL;
}
