/* dcgw-bench: wires the options, the namespace, the processes under test and the
 * scenarios of list.h together. See bench/README.md. */
#include <errno.h>
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
#include "dcgw/stages/sctp.h"
#include "dcgw/stages/cert.h"
#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "list.h"

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
    bench_kill_children();
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
    json_object_set_new(cfg, "ends_poll_ms", json_integer(b->o.ends_poll_ms));
    json_object_set_new(cfg, "sessions", json_integer(b->o.n_sessions ? b->o.sessions[0] : 0));
    json_object_set_new(cfg, "channels", json_integer(b->o.n_channels ? b->o.channels[0] : 0));
    json_object_set_new(cfg, "janus_addr", json_string(b->o.janus_addr));
    json_object_set_new(cfg, "peak_sessions", json_integer(b->o.peak_sessions));
    json_object_set_new(cfg, "peak_live", json_integer(b->o.peak_live));
    json_object_set_new(cfg, "soak_sessions", json_integer(b->o.soak_sessions));
    json_object_set_new(cfg, "soak_round", json_integer(b->o.soak_round));
    json_object_set_new(cfg, "soak_warmup", json_integer(b->o.soak_warmup));
    json_object_set_new(cfg, "soak_max_growth_kib", json_integer(b->o.soak_max_growth_kib));
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
    *why = 0;
    if (b->gw_base && !gw_alive(b->gw_base, why, sizeof(why))) {
        bench_note(b, "BASE GATEWAY DIED: %s; later scenarios run without it", why);
        json_object_set_new(res, "base_died", json_string(why));
        gw_stop_base(b);
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
    /* the wiring: who hears what the loop and the far end say */
    b->each_turn = traffic_pace;
    b->far_cbs = (struct far_cbs){.on_credit = traffic_on_credit, .on_pair = pair_on_far};
    b->next_sctp_port = BENCH_JANUS_SCTP_PORT + 1;
    b->run_id = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    b->f = (struct findings){.gw_over_direct_1k = NAN,
                             .janus_over_gw_1k = NAN,
                             .gw_over_direct_16k = NAN,
                             .gw_over_direct_64 = NAN,
                             .janus_over_gw_16k = NAN,
                             .setup_capacity_2cores = NAN,
                             .setup_rate = NAN,
                             .setup_of_crypto_limit = NAN,
                             .setup_of_crypto_limit_roles = NAN,
                             .idle_core_pct_50k = NAN,
                             .idle_core_pct_50k_noise = NAN,
                             .idle_mem_per_session = NAN,
                             .added_p99_us_traversal = NAN,
                             .relay_over_direct_1k = NAN,
                             .relay_cpu_ns_per_datagram_1k = NAN,
                             .flood_p99_ratio = NAN};
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
        r = bench_net_new(b->loop, &b->net);
    if (r == 0)
        r = far_start_poll(b);
    return r;
}

int main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    bench_opts_default(&b->o);
    if (bench_parse_opts(argc, argv, &b->o) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct dcgw_log_settings ls;
    dcgw_log_settings_default(&ls);
    ls.level = DCGW_LOG_ERROR;
    dcgw_log_setup(&ls, "bench");
    /* The endpoints of idle sets (idle, setup, peak, soak) share one socket per process
     * (bench_net_new); the others (throughput, latency) have one each, at most the largest
     * --sessions of tput_scale in each process, plus slack. */
    unsigned most = 16;
    for (unsigned i = 0; i < b->o.n_sessions; i++)
        if (b->o.sessions[i] > most)
            most = b->o.sessions[i];
    uint64_t want = (uint64_t)most + 1024;
    uint64_t got = proc_raise_nofile(want);
    if (got < want)
        bench_note(b,
                   "RLIMIT_NOFILE is %llu (wanted %llu, not raised): tput_scale past %llu "
                   "sessions will fail",
                   (unsigned long long)got, (unsigned long long)want,
                   (unsigned long long)(got > 1024 ? got - 1024 : 0));
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
    if (b->o.base_dcgwd && gw_start_base(b, err, sizeof(err)) < 0) {
        fprintf(stderr, "dcgw-bench: base gateway (--base-dcgwd): %s\n", err);
        gw_stop_base(b);
        gw_stop(b);
        return 1;
    }
    start_janus(b);
    if (b->janus_why[0])
        bench_note(b, "Janus comparison NOT measured: %s", b->janus_why);
    json_object_set_new(
        b->out, "janus",
        json_pack("{s:b,s:s}", "measured", b->jn != NULL, "reason", b->jn ? "" : b->janus_why));
    report_row(b, "dcgw-bench: dcgwd with %u workers%s%s; work directory %s", gw_workers(b->gw),
               b->jn ? ", Janus echotest" : "", b->gw_base ? ", base dcgwd (path \"base\")" : "",
               b->workdir);
    if (b->gw_base)
        json_object_set_new(b->out, "base_dcgwd", json_string(b->o.base_dcgwd));
    int failures = run_scenarios(b);
    report_targets(b);
    if (b->o.plot_path)
        report_plot(b);
    if (b->o.json_path && report_write_json(b, b->o.json_path) < 0)
        failures++;
    janus_stop(b);
    gw_stop_base(b);
    gw_stop(b);
    far_stop(b);
    dcgw_client_net_free(b->net);
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
