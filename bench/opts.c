/* Command-line options: one table (name, kind, field) drives getopt, parsing and help. */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "list.h"

#ifndef DCGW_BENCH_DCGWD
#define DCGW_BENCH_DCGWD "dcgwd"
#endif
#ifndef DCGW_BENCH_FLOOD
#define DCGW_BENCH_FLOOD NULL /* built with the tests (tests/tools/flood.c) */
#endif

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
            "      --crypto-handshakes N  setup: in-memory handshakes per measurement of the\n"
            "                             crypto-only limit, before each repeat (default 160)\n"
            "      --idle-sessions N      sessions held idle (default 10000)\n"
            "      --idle-time S          idle measurement seconds (default 30)\n"
            "      --ends-poll MS         idle: once set up, the endpoints read their shared\n"
            "                             socket every MS ms, as dcgwd's quiet workers do,\n"
            "                             so that dcgwd's answers do not pay to wake them\n"
            "                             (default 10; 0: woken by each datagram)\n"
            "      --peak-sessions N      peak scenario: sessions set up (default 2000)\n"
            "      --peak-live N          peak scenario: of which stay up (default 200)\n"
            "      --soak-sessions N      soak scenario: sessions set up and closed (10000)\n"
            "      --soak-round N         soak: sessions up at once before they close (500)\n"
            "      --soak-warmup N        soak: sessions before the RSS baseline (1000)\n"
            "      --soak-max-growth KIB  soak: RSS growth allowed from the warm-up to the end,\n"
            "                             of the workers and of the master; a third of it\n"
            "                             over the late half (default 6144)\n"
            "      --latency-time S       seconds of probes at load (default 5)\n"
            "      --latency-size BYTES   size of the loaded latency run (default 1024)\n"
            "      --load FRACTION        load of the latency run, of the max (default 0.5)\n"
            "      --avatar-size BYTES    avatar scenario: bytes per transfer (default 8388608)\n"
            "      --avatar-chunk BYTES   avatar scenario: chunk size (default 65536)\n"
            "      --avatar-transfers N   avatar scenario: transfers per measurement (default 8)\n"
            "      --nginx PATH           bootstrap scenario: the DCSF stand-in (default\n"
            "                             /usr/sbin/nginx, Debian's nginx-light)\n"
            "      --boot-requests N      bootstrap: app-list requests per path and round (2000)\n"
            "      --boot-size BYTES      bootstrap: the application's size (default 8388608)\n"
            "      --boot-transfers N     bootstrap: downloads of it per path and round (4)\n"
            "      --scrape-hz HZ         metrics scenario: scrapes of /metrics per second\n"
            "                             while scraped (default 50)\n"
            "      --flood PATH           dcgw-flood (default: the one built with the tests)\n"
            "      --flood-time S         flood: seconds per window (default 1)\n"
            "      --flood-rounds N       flood: rounds of (none, stun, dtls) windows (default 8)\n"
            "      --flood-cpu N          flood: the flooder's CPU (default: the last one)\n"
            "      --flood-nice N         flood: the flooder's nice value (default 10)\n"
            "      --flood-idle           flood: the flooder takes only idle CPU (SCHED_IDLE)\n"
            "      --flood-pin            flood: the bench, far end and dcgwd keep off its CPU\n"
            "      --workers N            dcgwd workers (default 2)\n"
            "      --dcgwd PATH           daemon binary (default: the one built with the bench)\n"
            "      --base-dcgwd PATH      a second daemon (e.g. built before a change): path\n"
            "                             \"base\" beside \"gateway\" in tput_size, idle and\n"
            "                             setup, ratios gateway/base in the same run\n"
            "      --socket PATH          use a running dcgwd (no namespace, no Janus)\n"
            "      --dcgwd-log LEVEL      dcgwd's log level (default warn; the log is in the\n"
            "                             work directory)\n"
            "      --janus PATH|none      Janus binary (default /usr/bin/janus)\n"
            "      --janus-addr ADDR      address of Janus's veth (default 10.99.0.1)\n"
            "      --janus-log N          Janus's debug_level (default 2: errors)\n"
            "      --no-netns             do not enter a private network namespace\n"
            "      --no-direct            leave the direct path out (it holds two endpoints\n"
            "                             per pair in the bench's processes: at 50,000 idle\n"
            "                             sessions that is the larger share of the memory)\n"
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

void bench_opts_default(struct bench_opts *o)
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
    o->crypto_handshakes = 160;
    o->idle_sessions = 10000;
    o->idle_s = 30;
    o->ends_poll_ms = 10;
    o->peak_sessions = 2000;
    o->peak_live = 200;
    o->soak_sessions = 10000;
    o->soak_round = 500;
    o->soak_warmup = 1000;
    o->soak_max_growth_kib = 6144;
    o->latency_s = 5;
    o->latency_size = 1024;
    o->load_fraction = 0.5;
    o->stream_id = BENCH_STREAM_ID_DEFAULT;
    o->max_message_size = 262144;
    o->sctp_tick_ms = 50;
    o->avatar_size = 8u << 20;
    o->avatar_chunk = 65536;
    o->avatar_transfers = 8;
    o->nginx = "/usr/sbin/nginx";
    o->boot_requests = 2000;
    o->boot_size = 8u << 20;
    o->boot_transfers = 4;
    o->scrape_hz = 50;
    o->flood = DCGW_BENCH_FLOOD;
    o->flood_s = 1;
    o->flood_rounds = 8;
    o->flood_cpu = -1;
    o->flood_nice = 10;
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
    o->crypto_handshakes = 32;
    o->idle_sessions = 20;
    o->idle_s = 1;
    o->peak_sessions = 400;
    o->peak_live = 40;
    o->soak_sessions = 300;
    o->soak_round = 100;
    o->soak_warmup = 100;
    o->latency_s = 0.6;
    o->avatar_size = 1u << 20;
    o->avatar_transfers = 2;
    o->boot_requests = 100;
    o->boot_size = 1u << 20;
    o->boot_transfers = 1;
    o->flood_s = 1;
    o->flood_rounds = 2;
}

enum opt_kind {
    K_STR,    /* const char * */
    K_UINT,   /* unsigned */
    K_INT,    /* int */
    K_U16,    /* uint16_t */
    K_U32,    /* uint32_t */
    K_SIZE,   /* size_t */
    K_DOUBLE, /* double */
    K_TRUE,   /* bool set */
    K_FALSE,  /* bool cleared */
    K_SIZES,  /* size_t list + unsigned count */
    K_COUNTS, /* unsigned list + unsigned count */
    K_JANUS,  /* path, or "none" for NULL */
    K_QUICK,  /* applied before the others */
    K_HELP,
};

struct opt {
    const char *name;
    char shortc;
    enum opt_kind kind;
    size_t off, off_n;
};

#define F(f) offsetof(struct bench_opts, f)
static const struct opt opts[] = {
    {"scenarios", 's', K_STR, F(scenarios), 0},
    {"sizes", 0, K_SIZES, F(sizes), F(n_sizes)},
    {"sessions", 0, K_COUNTS, F(sessions), F(n_sessions)},
    {"channels", 0, K_COUNTS, F(channels), F(n_channels)},
    {"duration", 'd', K_DOUBLE, F(duration_s), 0},
    {"warmup", 0, K_DOUBLE, F(warmup_s), 0},
    {"repeat", 0, K_UINT, F(repeat), 0},
    {"window", 0, K_SIZE, F(window), 0},
    {"setup-sessions", 0, K_UINT, F(setup_sessions), 0},
    {"setup-concurrency", 0, K_UINT, F(setup_concurrency), 0},
    {"crypto-handshakes", 0, K_UINT, F(crypto_handshakes), 0},
    {"idle-sessions", 0, K_UINT, F(idle_sessions), 0},
    {"idle-time", 0, K_DOUBLE, F(idle_s), 0},
    {"ends-poll", 0, K_UINT, F(ends_poll_ms), 0},
    {"peak-sessions", 0, K_UINT, F(peak_sessions), 0},
    {"peak-live", 0, K_UINT, F(peak_live), 0},
    {"soak-sessions", 0, K_UINT, F(soak_sessions), 0},
    {"soak-round", 0, K_UINT, F(soak_round), 0},
    {"soak-warmup", 0, K_UINT, F(soak_warmup), 0},
    {"soak-max-growth", 0, K_UINT, F(soak_max_growth_kib), 0},
    {"latency-time", 0, K_DOUBLE, F(latency_s), 0},
    {"latency-size", 0, K_SIZE, F(latency_size), 0},
    {"load", 0, K_DOUBLE, F(load_fraction), 0},
    {"avatar-size", 0, K_SIZE, F(avatar_size), 0},
    {"avatar-chunk", 0, K_SIZE, F(avatar_chunk), 0},
    {"avatar-transfers", 0, K_UINT, F(avatar_transfers), 0},
    {"nginx", 0, K_STR, F(nginx), 0},
    {"boot-requests", 0, K_UINT, F(boot_requests), 0},
    {"boot-size", 0, K_SIZE, F(boot_size), 0},
    {"boot-transfers", 0, K_UINT, F(boot_transfers), 0},
    {"scrape-hz", 0, K_DOUBLE, F(scrape_hz), 0},
    {"flood", 0, K_STR, F(flood), 0},
    {"flood-time", 0, K_DOUBLE, F(flood_s), 0},
    {"flood-rounds", 0, K_UINT, F(flood_rounds), 0},
    {"flood-cpu", 0, K_INT, F(flood_cpu), 0},
    {"flood-nice", 0, K_INT, F(flood_nice), 0},
    {"flood-idle", 0, K_TRUE, F(flood_idle), 0},
    {"flood-pin", 0, K_TRUE, F(flood_pin), 0},
    {"workers", 0, K_UINT, F(workers), 0},
    {"dcgwd", 0, K_STR, F(dcgwd), 0},
    {"base-dcgwd", 0, K_STR, F(base_dcgwd), 0},
    {"socket", 0, K_STR, F(socket), 0},
    {"dcgwd-log", 0, K_STR, F(dcgwd_log), 0},
    {"janus", 0, K_JANUS, F(janus), 0},
    {"janus-addr", 0, K_STR, F(janus_addr), 0},
    {"janus-log", 0, K_INT, F(janus_log), 0},
    {"no-netns", 0, K_FALSE, F(netns), 0},
    {"no-direct", 0, K_TRUE, F(no_direct), 0},
    {"stream-id", 0, K_U16, F(stream_id), 0},
    {"max-message-size", 0, K_U32, F(max_message_size), 0},
    {"sctp-tick", 0, K_UINT, F(sctp_tick_ms), 0},
    {"json", 'j', K_STR, F(json_path), 0},
    {"plot", 'p', K_STR, F(plot_path), 0},
    {"data", 0, K_STR, F(data_path), 0},
    {"keep", 0, K_TRUE, F(keep), 0},
    {"quick", 0, K_QUICK, 0, 0},
    {"quiet", 'q', K_TRUE, F(quiet), 0},
    {"help", 'h', K_HELP, 0, 0},
};
#undef F
enum { N_OPTS = sizeof(opts) / sizeof(opts[0]) };

/* Stores one value; -1 when it does not parse. */
static int apply(struct bench_opts *o, const struct opt *d, const char *arg)
{
    char *p = (char *)o + d->off, *end = NULL;
    int n;
    switch (d->kind) {
    case K_STR:
        *(const char **)p = arg;
        return 0;
    case K_JANUS:
        *(const char **)p = strcmp(arg, "none") == 0 ? NULL : arg;
        return 0;
    case K_TRUE:
    case K_FALSE:
        *(bool *)p = d->kind == K_TRUE;
        return 0;
    case K_DOUBLE:
        *(double *)p = strtod(arg, &end);
        break;
    case K_SIZES:
    case K_COUNTS:
        n = d->kind == K_SIZES ? parse_list(arg, (size_t *)p, BENCH_SIZES_MAX)
                               : parse_ulist(arg, (unsigned *)p, BENCH_COUNTS_MAX);
        *(unsigned *)((char *)o + d->off_n) = n > 0 ? (unsigned)n : 0;
        return n > 0 ? 0 : -1;
    default: {
        unsigned long long v = strtoull(arg, &end, 10);
        if (d->kind == K_UINT || d->kind == K_INT)
            *(unsigned *)p = (unsigned)v;
        else if (d->kind == K_U16)
            *(uint16_t *)p = (uint16_t)v;
        else if (d->kind == K_U32)
            *(uint32_t *)p = (uint32_t)v;
        else
            *(size_t *)p = (size_t)v;
        break;
    }
    }
    return end && *end == 0 && end != arg ? 0 : -1;
}

static int validate(struct bench_opts *o)
{
    if (o->duration_s <= 0 || o->window < 1024 || o->workers == 0 || o->repeat == 0 ||
        o->repeat > BENCH_REPEAT_MAX || o->sctp_tick_ms < 10 || o->sctp_tick_ms > 1000 ||
        o->setup_concurrency == 0 || o->ends_poll_ms > 1000 || o->soak_round == 0 ||
        o->soak_warmup > o->soak_sessions || o->load_fraction <= 0 || o->load_fraction > 1 ||
        o->crypto_handshakes == 0 || !(o->flood_s > 0 && o->flood_s <= 30) ||
        o->flood_rounds == 0 || o->flood_rounds > 20)
        return -1;
    if (o->base_dcgwd && o->socket) {
        fprintf(stderr, "dcgw-bench: --base-dcgwd needs a dcgwd the bench starts (no --socket)\n");
        return -1;
    }
    for (unsigned i = 0; i < o->n_sizes; i++)
        if (o->sizes[i] < BENCH_MSG_MIN || o->sizes[i] > o->max_message_size) {
            fprintf(stderr, "dcgw-bench: size %zu outside %d..%u (max-message-size)\n", o->sizes[i],
                    BENCH_MSG_MIN, o->max_message_size);
            return -1;
        }
    return 0;
}

int bench_parse_opts(int argc, char **argv, struct bench_opts *o)
{
    struct option lo[N_OPTS + 1];
    char shorts[2 * N_OPTS + 1] = "";
    for (size_t i = 0; i < N_OPTS; i++) {
        bool arg = opts[i].kind != K_TRUE && opts[i].kind != K_FALSE && opts[i].kind != K_QUICK &&
                   opts[i].kind != K_HELP;
        lo[i] = (struct option){opts[i].name, arg ? required_argument : no_argument, NULL,
                                opts[i].shortc ? opts[i].shortc : 256 + (int)i};
        if (opts[i].shortc) {
            size_t n = strlen(shorts);
            shorts[n] = opts[i].shortc;
            shorts[n + 1] = arg ? ':' : 0;
            shorts[n + 2] = 0;
        }
    }
    lo[N_OPTS] = (struct option){NULL, 0, NULL, 0};
    /* --quick first, so that explicit options override its presets. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--quick") == 0)
            quick(o);
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const struct opt *d = NULL;
        for (size_t i = 0; i < N_OPTS && !d; i++)
            if (c == (opts[i].shortc ? opts[i].shortc : 256 + (int)i))
                d = &opts[i];
        if (!d) {
            bad = 1;
        } else if (d->kind == K_HELP) {
            usage(stdout);
            exit(0);
        } else if (d->kind != K_QUICK && apply(o, d, optarg) < 0) {
            fprintf(stderr, "dcgw-bench: --%s %s: not a valid value\n", d->name, optarg);
            bad = 1;
        }
    }
    if (optind < argc || bad || validate(o) < 0) {
        usage(stderr);
        return -1;
    }
    o->argc = argc;
    o->argv = argv;
    return 0;
}
