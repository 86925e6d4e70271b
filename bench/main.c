/* dcgw-bench: wires the options, the namespace, the processes under test and the
 * scenarios of list.h together. See bench/README.md. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/cert.h"
#include "dcgw/error.h"
#include "dcgw/log.h"
#include "list.h"

#ifndef DCGW_BENCH_DCGWD
#define DCGW_BENCH_DCGWD "dcgwd"
#endif

/* Processes to stop if the bench is interrupted (read by the signal handler). */
static volatile pid_t children[4];

void bench_register_child(int pid)
{
    for (int i = 0; i < 4; i++)
        if (children[i] == 0 || pid == 0) {
            children[i] = pid;
            return;
        }
}

/* ---- loop helpers */

uint64_t bench_now_ns(void)
{
    return uv_hrtime();
}

const char *bench_path_name(enum bench_path p)
{
    static const char *names[] = {"direct", "gateway", "janus"};
    return (unsigned)p < PATH_COUNT ? names[p] : "?";
}

bool bench_path_available(struct bench *b, enum bench_path p)
{
    return p == PATH_DIRECT || (p == PATH_GATEWAY && b->gw) || (p == PATH_JANUS && b->jn);
}

static void until_eval(struct bench *b)
{
    bool met = b->until_cond && b->until_cond(b, b->until_arg);
    if (met || bench_now_ns() >= b->until_deadline_ns) {
        b->until_timed_out = !met;
        uv_stop(b->loop);
    }
}

static void on_until_check(uv_check_t *h)
{
    struct bench *b = h->data;
    if (b->pacing)
        traffic_pace(b); /* paced flows catch up on every loop turn, not only each ms */
    until_eval(b);
}

static void on_until_timer(uv_timer_t *t)
{
    struct bench *b = t->data;
    b->until_timed_out = !(b->until_cond && b->until_cond(b, b->until_arg));
    uv_stop(b->loop);
}

bool bench_run_until(struct bench *b, bool (*cond)(struct bench *, void *), void *arg,
                     uint64_t timeout_ms)
{
    b->until_cond = cond;
    b->until_arg = arg;
    b->until_timed_out = false;
    b->until_deadline_ns = bench_now_ns() + timeout_ms * 1000000ull;
    if (cond && cond(b, arg))
        return true;
    /* The condition can only change when the loop ran something, so it is checked after
     * every loop turn; the timer is only the deadline (no periodic wake-ups: they would
     * show up in the idle CPU of the bench). */
    uv_check_start(&b->until_check, on_until_check);
    uv_timer_start(&b->until_timer, on_until_timer, timeout_ms, 0);
    uv_run(b->loop, UV_RUN_DEFAULT);
    uv_check_stop(&b->until_check);
    uv_timer_stop(&b->until_timer);
    bool met = cond && !b->until_timed_out;
    b->until_cond = NULL;
    return met;
}

void bench_run_for(struct bench *b, uint64_t ms)
{
    bench_run_until(b, NULL, NULL, ms);
}

void bench_progress(struct bench *b, const char *fmt, ...)
{
    uint64_t now = bench_now_ns();
    bool tty = isatty(2);
    if (b->o.quiet || now - b->progress_last_ns < (tty ? 200000000ull : 2000000000ull))
        return;
    b->progress_last_ns = now;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->progress, sizeof(b->progress), fmt, ap);
    va_end(ap);
    fprintf(stderr, tty ? "\r\033[K[%s] %s" : "[%s] %s\n", "dcgw-bench", b->progress);
    b->progress_shown = tty;
}

void bench_note(struct bench *b, const char *fmt, ...)
{
    if (b->progress_shown) {
        fputs("\r\033[K", stderr);
        b->progress_shown = false;
    }
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (*line)
        fprintf(stderr, "dcgw-bench: %s\n", line);
    fflush(stderr);
}

/* ---- options */

static void usage(FILE *f)
{
    fprintf(f, "usage: dcgw-bench [options]\n"
               "\n"
               "Drives simulated UEs and application servers through a dcgwd it starts (or the\n"
               "one at --socket), the same traffic directly endpoint to endpoint, and through\n"
               "Janus's echotest; reports throughput, latency, set-up rate, idle cost and the\n"
               "CPU time per message of each path. See bench/README.md.\n"
               "\n"
               "  -s, --scenarios LIST       comma list or 'all' (default all):\n");
#define XX(name, desc) fprintf(f, "                               %-11s %s\n", #name, desc);
    BENCH_SCENARIOS(XX)
#undef XX
    fprintf(f,
            "      --sizes LIST           message sizes (default 64,256,1024,4096,16384,65536,"
            "262144)\n"
            "      --sessions LIST        tput_scale sessions (default 1,4,16)\n"
            "      --channels LIST        tput_scale channels per session (default 1,4)\n"
            "  -d, --duration S           measured seconds per throughput point (default 3)\n"
            "      --warmup S             seconds before measuring (default 0.5)\n"
            "      --repeat N             tput_size sweeps; the median is reported (default 1)\n"
            "      --window BYTES         bytes in flight per session (default 524288)\n"
            "      --setup-sessions N     sessions in the set-up scenario (default 2000)\n"
            "      --setup-concurrency N  set-ups in flight (default 64)\n"
            "      --idle-sessions N      sessions held idle (default 10000)\n"
            "      --idle-time S          idle measurement seconds (default 30)\n"
            "      --latency-time S       seconds of probes at load (default 5)\n"
            "      --latency-size BYTES   size of the loaded latency run (default 1024)\n"
            "      --load FRACTION        load of the latency run, of the max (default 0.5)\n"
            "      --workers N            dcgwd workers (default 2)\n"
            "      --dcgwd PATH           daemon binary (default: the one built with the bench)\n"
            "      --socket PATH          use a running dcgwd (no namespace, no Janus)\n"
            "      --dcgwd-log LEVEL      dcgwd's log level (default warn; the log is in the\n"
            "                             work directory)\n"
            "      --janus PATH|none      Janus binary (default /usr/bin/janus)\n"
            "      --janus-addr ADDR      address of Janus's veth (default 10.99.0.1)\n"
            "      --janus-log N          Janus's debug_level (default 2: errors)\n"
            "      --no-netns             do not enter a private network namespace\n"
            "      --stream-id N          first negotiated stream id (default 1000)\n"
            "      --max-message-size N   a=max-message-size of every endpoint (default 262144)\n"
            "      --sctp-tick MS         dcgwd's sctp.timer_interval_ms (default 50)\n"
            "  -j, --json FILE            write the results as JSON\n"
            "  -p, --plot FILE.png        plot throughput and latency by size (gnuplot)\n"
            "      --data FILE            the plot's data file (default FILE.png.dat)\n"
            "      --quick                tiny parameters (CI smoke run)\n"
            "      --keep                 keep the work directory (logs, configurations)\n"
            "  -q, --quiet                no progress line\n"
            "  -h, --help\n");
}

static int parse_list(const char *s, size_t *out, unsigned max)
{
    unsigned n = 0;
    char *dup = strdup(s), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
        char *end;
        unsigned long long v = strtoull(t, &end, 10);
        if (*end == 'k' || *end == 'K')
            v *= 1024, end++;
        if (*end || v == 0) {
            free(dup);
            return -1;
        }
        out[n++] = (size_t)v;
    }
    free(dup);
    return (int)n;
}

static int parse_ulist(const char *s, unsigned *out, unsigned max)
{
    size_t tmp[BENCH_SIZES_MAX];
    int n = parse_list(s, tmp, max < BENCH_SIZES_MAX ? max : BENCH_SIZES_MAX);
    for (int i = 0; i < n; i++)
        out[i] = (unsigned)tmp[i];
    return n;
}

static void defaults(struct bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->dcgwd = DCGW_BENCH_DCGWD;
    o->janus = "/usr/bin/janus";
    o->janus_addr = "10.99.0.1";
    o->dcgwd_log = "warn";
    o->janus_log = 2; /* errors: Janus warns once per message when its SCTP queue is full */
    o->scenarios = "all";
    o->workers = 2;
    static const size_t sizes[] = {64, 256, 1024, 4096, 16384, 65536, 262144};
    o->n_sizes = sizeof(sizes) / sizeof(sizes[0]);
    memcpy(o->sizes, sizes, sizeof(sizes));
    o->sessions[0] = 1, o->sessions[1] = 4, o->sessions[2] = 16, o->n_sessions = 3;
    o->channels[0] = 1, o->channels[1] = 4, o->n_channels = 2;
    o->duration_s = 3;
    o->repeat = 1;
    o->warmup_s = 0.5;
    o->window = 512 * 1024;
    o->setup_sessions = 2000;
    o->setup_concurrency = 64;
    o->idle_sessions = 10000;
    o->idle_s = 30;
    o->latency_s = 5;
    o->latency_size = 1024;
    o->load_fraction = 0.5;
    o->stream_id = BENCH_STREAM_ID_DEFAULT;
    o->max_message_size = 262144;
    o->sctp_tick_ms = 50;
    o->netns = true;
}

static void quick(struct bench_opts *o)
{
    static const size_t sizes[] = {64, 1024, 16384};
    o->n_sizes = 3;
    memcpy(o->sizes, sizes, sizeof(sizes));
    o->sessions[0] = 2, o->n_sessions = 1;
    o->channels[0] = 2, o->n_channels = 1;
    o->duration_s = 0.4;
    o->warmup_s = 0.1;
    o->setup_sessions = 20;
    o->setup_concurrency = 8;
    o->idle_sessions = 20;
    o->idle_s = 1;
    o->latency_s = 0.6;
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    enum {
        O_SIZES = 256,
        O_SESSIONS,
        O_CHANNELS,
        O_WARMUP,
        O_WINDOW,
        O_SETUP_N,
        O_SETUP_C,
        O_IDLE_N,
        O_IDLE_T,
        O_LAT_T,
        O_LAT_SIZE,
        O_LOAD,
        O_WORKERS,
        O_DCGWD,
        O_SOCKET,
        O_JANUS,
        O_JANUS_ADDR,
        O_NO_NETNS,
        O_DCGWD_LOG,
        O_JANUS_LOG,
        O_REPEAT,
        O_KEEP,
        O_SCTP_TICK,
        O_STREAM,
        O_MMS,
        O_DATA,
        O_QUICK,
    };
    static const struct option lo[] = {
        {"scenarios", required_argument, NULL, 's'},
        {"sizes", required_argument, NULL, O_SIZES},
        {"sessions", required_argument, NULL, O_SESSIONS},
        {"channels", required_argument, NULL, O_CHANNELS},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"window", required_argument, NULL, O_WINDOW},
        {"setup-sessions", required_argument, NULL, O_SETUP_N},
        {"setup-concurrency", required_argument, NULL, O_SETUP_C},
        {"idle-sessions", required_argument, NULL, O_IDLE_N},
        {"idle-time", required_argument, NULL, O_IDLE_T},
        {"latency-time", required_argument, NULL, O_LAT_T},
        {"latency-size", required_argument, NULL, O_LAT_SIZE},
        {"load", required_argument, NULL, O_LOAD},
        {"workers", required_argument, NULL, O_WORKERS},
        {"dcgwd", required_argument, NULL, O_DCGWD},
        {"socket", required_argument, NULL, O_SOCKET},
        {"dcgwd-log", required_argument, NULL, O_DCGWD_LOG},
        {"janus-log", required_argument, NULL, O_JANUS_LOG},
        {"repeat", required_argument, NULL, O_REPEAT},
        {"keep", no_argument, NULL, O_KEEP},
        {"sctp-tick", required_argument, NULL, O_SCTP_TICK},
        {"janus", required_argument, NULL, O_JANUS},
        {"janus-addr", required_argument, NULL, O_JANUS_ADDR},
        {"no-netns", no_argument, NULL, O_NO_NETNS},
        {"stream-id", required_argument, NULL, O_STREAM},
        {"max-message-size", required_argument, NULL, O_MMS},
        {"json", required_argument, NULL, 'j'},
        {"plot", required_argument, NULL, 'p'},
        {"data", required_argument, NULL, O_DATA},
        {"quick", no_argument, NULL, O_QUICK},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* --quick first, so that explicit options override its presets. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            quick(o);
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "s:d:j:p:qh", lo, NULL)) != -1) {
        int n = 0;
        switch (c) {
        case 's':
            o->scenarios = optarg;
            break;
        case O_SIZES:
            n = parse_list(optarg, o->sizes, BENCH_SIZES_MAX);
            o->n_sizes = n > 0 ? (unsigned)n : 0;
            bad |= n <= 0;
            break;
        case O_SESSIONS:
            n = parse_ulist(optarg, o->sessions, BENCH_COUNTS_MAX);
            o->n_sessions = n > 0 ? (unsigned)n : 0;
            bad |= n <= 0;
            break;
        case O_CHANNELS:
            n = parse_ulist(optarg, o->channels, BENCH_COUNTS_MAX);
            o->n_channels = n > 0 ? (unsigned)n : 0;
            bad |= n <= 0;
            break;
        case 'd':
            o->duration_s = atof(optarg);
            break;
        case O_WARMUP:
            o->warmup_s = atof(optarg);
            break;
        case O_WINDOW:
            o->window = strtoul(optarg, NULL, 10);
            break;
        case O_SETUP_N:
            o->setup_sessions = (unsigned)atoi(optarg);
            break;
        case O_SETUP_C:
            o->setup_concurrency = (unsigned)atoi(optarg);
            break;
        case O_IDLE_N:
            o->idle_sessions = (unsigned)atoi(optarg);
            break;
        case O_IDLE_T:
            o->idle_s = atof(optarg);
            break;
        case O_LAT_T:
            o->latency_s = atof(optarg);
            break;
        case O_LAT_SIZE:
            o->latency_size = strtoul(optarg, NULL, 10);
            break;
        case O_LOAD:
            o->load_fraction = atof(optarg);
            break;
        case O_WORKERS:
            o->workers = (unsigned)atoi(optarg);
            break;
        case O_DCGWD:
            o->dcgwd = optarg;
            break;
        case O_SOCKET:
            o->socket = optarg;
            break;
        case O_DCGWD_LOG:
            o->dcgwd_log = optarg;
            break;
        case O_JANUS_LOG:
            o->janus_log = atoi(optarg);
            break;
        case O_REPEAT:
            o->repeat = (unsigned)atoi(optarg);
            break;
        case O_KEEP:
            o->keep = true;
            break;
        case O_SCTP_TICK:
            o->sctp_tick_ms = (unsigned)atoi(optarg);
            break;
        case O_JANUS:
            o->janus = strcmp(optarg, "none") == 0 ? NULL : optarg;
            break;
        case O_JANUS_ADDR:
            o->janus_addr = optarg;
            break;
        case O_NO_NETNS:
            o->netns = false;
            break;
        case O_STREAM:
            o->stream_id = (uint16_t)atoi(optarg);
            break;
        case O_MMS:
            o->max_message_size = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'j':
            o->json_path = optarg;
            break;
        case 'p':
            o->plot_path = optarg;
            break;
        case O_DATA:
            o->data_path = optarg;
            break;
        case O_QUICK:
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            bad = 1;
            break;
        }
    }
    if (optind < argc || bad || o->duration_s <= 0 || o->window < 1024 || o->workers == 0 ||
        o->repeat == 0 || o->repeat > 99 || o->sctp_tick_ms < 10 || o->sctp_tick_ms > 1000 ||
        o->setup_concurrency == 0 || o->load_fraction <= 0 || o->load_fraction > 1) {
        usage(stderr);
        return -1;
    }
    for (unsigned i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] < BENCH_MSG_MIN || o->sizes[i] > o->max_message_size) {
            fprintf(stderr, "dcgw-bench: size %zu outside %d..%u (max-message-size)\n", o->sizes[i],
                    BENCH_MSG_MIN, o->max_message_size);
            return -1;
        }
    o->argc = argc;
    o->argv = argv;
    return 0;
}

/* ---- environment */

static int sh(const char *cmd)
{
    int r = system(cmd);
    return r == 0 ? 0 : -1;
}

/* A private network namespace: loopback for dcgw and the clients, and a veth pair whose
 * first end carries the Janus address (Janus gathers no loopback candidates). Nothing the
 * bench does is visible outside, and it all goes away with the bench. */
static void enter_netns(struct bench *b)
{
    if (!b->o.netns || b->o.socket) {
        snprintf(b->janus_why, sizeof(b->janus_why),
                 "no private network namespace (%s): Janus needs one for its veth",
                 b->o.socket ? "--socket" : "--no-netns");
        return;
    }
    if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
        snprintf(b->janus_why, sizeof(b->janus_why),
                 "cannot create a network namespace (%s): run as root for the Janus comparison",
                 geteuid() ? "not root" : strerror(errno));
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "ip link set lo up && ip link add dcgwb0 type veth peer name dcgwb1 && "
             "ip addr add %s/32 dev dcgwb0 && ip link set dcgwb0 up && ip link set dcgwb1 up",
             b->o.janus_addr);
    if (sh(cmd) < 0)
        snprintf(b->janus_why, sizeof(b->janus_why),
                 "could not set up the veth for Janus (ip link add ... type veth)");
}

static void start_janus(struct bench *b)
{
    if (b->janus_why[0])
        return;
    if (!b->ctx_janus) {
        /* Janus 1.1 (dtls.c) treats a handshake without a negotiated SRTP profile as failed,
         * data channels only or not, and dcgw's DTLS stage offers no use_srtp. */
        snprintf(b->janus_why, sizeof(b->janus_why),
                 "dcgw's DTLS stage cannot offer use_srtp (RFC 5764), which Janus requires "
                 "even for data-only sessions (needs dcgw_dtls_ctx_settings.srtp_profiles)");
        return;
    }
    if (!b->o.janus) {
        snprintf(b->janus_why, sizeof(b->janus_why), "disabled with --janus none");
        return;
    }
    if (access(b->o.janus, X_OK) < 0) {
        snprintf(b->janus_why, sizeof(b->janus_why), "%s not installed (apt-get install janus)",
                 b->o.janus);
        return;
    }
    char err[400];
    if (janus_start(b, err, sizeof(err)) < 0) {
        snprintf(b->janus_why, sizeof(b->janus_why), "%s", err);
        janus_stop(b);
    }
}

static void on_signal(int sig)
{
    (void)sig;
    for (int i = 0; i < 4; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    static const char msg[] = "dcgw-bench: interrupted\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
    }
    _exit(130); /* dcgwd's workers follow their master (PDEATHSIG) */
}

static json_t *describe(struct bench *b)
{
    struct utsname u;
    uname(&u);
    char cmd[2048] = "";
    for (int i = 0; i < b->o.argc; i++) {
        strncat(cmd, b->o.argv[i], sizeof(cmd) - strlen(cmd) - 2);
        if (i + 1 < b->o.argc)
            strcat(cmd, " ");
    }
    json_t *sizes = json_array();
    for (unsigned i = 0; i < b->o.n_sizes; i++)
        json_array_append_new(sizes, json_integer((json_int_t)b->o.sizes[i]));
    return json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:i},s:{s:i,s:o,s:o,s:o,s:I,s:i,s:i,s:i,s:o,s:o,s:o,"
        "s:I,s:i,s:I}}",
        "bench", "dcgw-bench " DCGW_VERSION, "command", cmd, "host", "kernel", u.release, "machine",
        u.machine, "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "config", "workers",
        (int)b->o.workers, "sizes", sizes, "duration_s", jnum(b->o.duration_s), "warmup_s",
        jnum(b->o.warmup_s), "window", (json_int_t)b->o.window, "setup_sessions",
        (int)b->o.setup_sessions, "setup_concurrency", (int)b->o.setup_concurrency, "idle_sessions",
        (int)b->o.idle_sessions, "idle_s", jnum(b->o.idle_s), "latency_s", jnum(b->o.latency_s),
        "load_fraction", jnum(b->o.load_fraction), "latency_size", (json_int_t)b->o.latency_size,
        "stream_id", (int)b->o.stream_id, "max_message_size", (json_int_t)b->o.max_message_size);
}

static json_t *describe_more(struct bench *b, json_t *run)
{
    json_t *cfg = json_object_get(run, "config");
    json_object_set_new(cfg, "repeat", json_integer(b->o.repeat));
    json_object_set_new(cfg, "sctp_tick_ms", json_integer(b->o.sctp_tick_ms));
    json_object_set_new(cfg, "sessions", json_integer(b->o.n_sessions ? b->o.sessions[0] : 0));
    json_object_set_new(cfg, "channels", json_integer(b->o.n_channels ? b->o.channels[0] : 0));
    json_object_set_new(cfg, "janus_addr", json_string(b->o.janus_addr));
    return run;
}

static bool selected(const char *list, const char *name)
{
    if (strcmp(list, "all") == 0)
        return true;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return true;
    return false;
}

/* After each scenario: a dcgwd that died is a finding, not a silent gap. */
static void check_gateway(struct bench *b, json_t *res)
{
    char why[160] = "";
    if (!b->gw)
        return;
    if (!gw_alive(b->gw, why, sizeof(why))) {
        bench_note(b, "GATEWAY DIED: %s; later scenarios run without it", why);
        json_object_set_new(res, "gateway_died", json_string(why));
        gw_stop(b);
    } else if (*why) {
        bench_note(b, "note: %s", why);
        json_object_set_new(res, "control_note", json_string(why));
    }
}

static int run_scenarios(struct bench *b)
{
    int failures = 0;
#define XX(name, desc)                                                                             \
    if (selected(b->o.scenarios, #name)) {                                                         \
        json_t *res = json_object();                                                               \
        json_object_set_new(b->scen, #name, res);                                                  \
        json_object_set_new(res, "description", json_string(desc));                                \
        uint64_t t0 = bench_now_ns();                                                              \
        int r = scen_##name(b, res);                                                               \
        json_object_set_new(res, "wall_s", jnum((double)(bench_now_ns() - t0) / 1e9));             \
        if (!json_object_get(res, "status"))                                                       \
            json_object_set_new(res, "status", json_string(r < 0 ? "failed" : "ok"));              \
        if (r > 0)                                                                                 \
            report_row(b, "\n== %s: %s (not implemented yet; reported as such in the JSON)",       \
                       #name, desc);                                                               \
        failures += r < 0;                                                                         \
        check_gateway(b, res);                                                                     \
    }
    BENCH_SCENARIOS(XX)
#undef XX
    return failures;
}

static int setup(struct bench *b)
{
    b->loop = uv_default_loop();
    uv_check_init(b->loop, &b->until_check);
    uv_timer_init(b->loop, &b->until_timer);
    b->until_check.data = b->until_timer.data = b;
    b->pace_fd = -1;
    b->next_sctp_port = 5000;
    b->run_id = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    b->f = (struct findings){.gw_over_direct_1k = NAN,
                             .janus_over_gw_1k = NAN,
                             .gw_over_direct_16k = NAN,
                             .janus_over_gw_16k = NAN,
                             .setup_capacity_2cores = NAN,
                             .setup_rate = NAN,
                             .idle_core_pct_50k = NAN,
                             .idle_mem_per_session = NAN,
                             .added_p99_us_traversal = NAN};
    for (int p = 0; p < PATH_COUNT; p++)
        for (unsigned i = 0; i < BENCH_SIZES_MAX; i++)
            b->f.rtt_p50_us[p][i] = b->f.rtt_p99_us[p][i] = NAN;
    struct dcgw_cert *cert;
    int r = dcgw_cert_new(NULL, &cert);
    if (r == 0) {
        struct dcgw_dtls_ctx_settings cs = {.cert = cert};
        r = dcgw_dtls_ctx_new(&cs, &b->ctx);
#ifdef DCGW_DTLS_SRTP_PROFILES
        /* Janus completes a handshake only with a DTLS-SRTP profile, data-only or not. */
        cs.srtp_profiles = DCGW_DTLS_SRTP_PROFILES;
        if (r == 0)
            r = dcgw_dtls_ctx_new(&cs, &b->ctx_janus);
#endif
        dcgw_cert_unref(cert);
    }
    if (r == 0)
        r = dcgw_client_tick_start(b->loop, &b->sctp_tick);
    if (r == 0)
        r = far_start_poll(b);
    return r;
}

int main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    defaults(&b->o);
    if (parse_opts(argc, argv, &b->o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct dcgw_log_settings ls;
    dcgw_log_settings_default(&ls);
    ls.level = DCGW_LOG_ERROR;
    dcgw_log_setup(&ls, "bench");
    /* One socket per endpoint in each process (A here, Z in the far end), plus slack. */
    uint64_t want = (uint64_t)(b->o.idle_sessions > b->o.setup_sessions ? b->o.idle_sessions
                                                                        : b->o.setup_sessions) +
                    1024;
    if (proc_raise_nofile(want) < want)
        bench_note(b, "RLIMIT_NOFILE below %llu: large session counts will fail",
                   (unsigned long long)want);
    enter_netns(b); /* first: before any thread or child */
    if (far_spawn(b) < 0) {
        fprintf(stderr, "dcgw-bench: cannot start the far-end process\n");
        return 1;
    }
    snprintf(b->workdir, sizeof(b->workdir), "/tmp/dcgw-bench.XXXXXX");
    if (!mkdtemp(b->workdir)) {
        perror("dcgw-bench: mkdtemp");
        return 1;
    }
    if (setup(b) < 0) {
        fprintf(stderr, "dcgw-bench: cannot set up the client stack\n");
        return 1;
    }
    b->out = json_object();
    json_object_set_new(b->out, "run", describe_more(b, describe(b)));
    b->scen = json_object();
    json_object_set_new(b->out, "scenarios", b->scen);
    char err[400];
    if (gw_start(b, err, sizeof(err)) < 0) {
        fprintf(stderr, "dcgw-bench: gateway: %s\n", err);
        gw_stop(b);
        return 1;
    }
    start_janus(b);
    if (b->janus_why[0])
        bench_note(b, "Janus comparison NOT measured: %s", b->janus_why);
    json_object_set_new(
        b->out, "janus",
        json_pack("{s:b,s:s}", "measured", b->jn != NULL, "reason", b->jn ? "" : b->janus_why));
    report_row(b, "dcgw-bench: dcgwd with %u workers%s; work directory %s", gw_workers(b->gw),
               b->jn ? ", Janus echotest" : "", b->workdir);
    int failures = run_scenarios(b);
    report_targets(b);
    if (b->o.plot_path)
        report_plot(b);
    if (b->o.json_path && report_write_json(b, b->o.json_path) < 0)
        failures++;
    janus_stop(b);
    gw_stop(b);
    far_stop(b);
    dcgw_client_tick_stop(&b->sctp_tick);
    dcgw_dtls_ctx_free(b->ctx);
    dcgw_dtls_ctx_free(b->ctx_janus);
    json_decref(b->out);
    if (failures || b->o.keep) {
        bench_note(b, "work directory kept: %s (dcgwd.log, janus/)", b->workdir);
    } else {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%.255s'", b->workdir);
        if (system(cmd) != 0)
            bench_note(b, "could not remove %s", b->workdir);
    }
    return failures ? 1 : 0;
}
