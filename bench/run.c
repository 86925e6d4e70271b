/* dcgw-bench: what every part of the bench uses at run time (bench.h "run.c"): the loop
 * helpers, the progress line, the child processes, ports, path names, the endpoint
 * settings. Calls no other file of the bench (the loop's per-turn work is a hook that
 * main.c sets). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/stages/sctp.h"

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

void bench_kill_children(void)
{
    for (int i = 0; i < 4; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
}

/* ---- loop helpers */

uint64_t bench_now_ns(void)
{
    return uv_hrtime();
}

uint16_t bench_next_free_port(uint16_t *next)
{
    for (unsigned tries = 0; tries < 60001; tries++) {
        uint16_t p = *next;
        *next = *next >= 65000 ? BENCH_JANUS_SCTP_PORT + 1 : (uint16_t)(*next + 1);
        if (p != BENCH_JANUS_SCTP_PORT && !dcgw_sctp_port_in_use(p))
            return p;
    }
    return *next; /* all taken: the client's creation reports it */
}

uint16_t bench_sctp_port(struct bench *b)
{
    return bench_next_free_port(&b->next_sctp_port);
}

void bench_endpoint_addr(uint32_t id, bool far, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    uint32_t hi = (far ? 65u : 1u) + ((id >> 16) & 63u); /* 127.1-64 / 127.65-128 */
    uint32_t host = (hi << 16) | (id & 0xffffu);
    a->sin_addr.s_addr = htonl((127u << 24) | host);
}

const char *bench_path_name(enum bench_path p)
{
    static const char *names[] = {"direct", "gateway", "janus", "relay", "base"};
    _Static_assert(sizeof(names) / sizeof(names[0]) == PATH_COUNT, "a name per path");
    return (unsigned)p < PATH_COUNT ? names[p] : "?";
}

bool bench_path_available(struct bench *b, enum bench_path p)
{
    /* PATH_RELAY: false on purpose, see bench.h. */
    return (p == PATH_DIRECT && !b->o.no_direct) || (p == PATH_GATEWAY && b->gw) ||
           (p == PATH_JANUS && b->jn) || (p == PATH_BASE && b->gw_base);
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
    if (b->pacing && b->each_turn)
        b->each_turn(b); /* paced flows catch up on every loop turn, not only each ms */
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
    /* from now: the loop's clock is that of its last turn, which may be long past when the
     * caller blocked since (waiting for a child on a loaded machine) */
    uv_update_time(b->loop);
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

/* ---- endpoint settings */

void bench_dcmap(const struct bench_opts *o, struct dcgw_sdp_dcmap *maps, unsigned nch)
{
    memset(maps, 0, nch * sizeof(*maps));
    for (unsigned i = 0; i < nch; i++) {
        maps[i].stream_id = (uint16_t)(o->stream_id + 2 * i);
        maps[i].ordered = true;
        snprintf(maps[i].label, sizeof(maps[i].label), "bench-%u", i);
    }
}

int bench_net_new(uv_loop_t *loop, struct dcgw_client_net **out)
{
    /* the consent checks of 50,000 endpoints arrive at ~10,000/s, set-up in bursts */
    struct dcgw_io_settings st = {.batch = DCGW_IO_BATCH_DEFAULT, .socket_buffer = 8u << 20};
    return dcgw_client_net_new(loop, AF_INET, &st, out);
}

void bench_ends_poll(struct bench *b, uint32_t ms)
{
    dcgw_client_net_set_poll_interval(b->net, ms);
    far_send(b, FAR_POLL, ms, 0, false, NULL);
}

struct dcgw_client_settings bench_client_settings(const struct bench_opts *o,
                                                  const struct sockaddr_storage *bind,
                                                  uint16_t sctp_port,
                                                  const struct dcgw_sdp_dcmap *maps, size_t n_dcmap,
                                                  bool allow_dcep, bool idle)
{
    return (struct dcgw_client_settings){
        .bind = (const struct sockaddr *)bind,
        .sctp_port = sctp_port,
        .max_message_size = o->max_message_size,
        .dcmap = maps,
        .n_dcmap = n_dcmap,
        .allow_dcep = allow_dcep,
        .io_batch = idle ? 1 : 0,
        .socket_buffer = idle ? 0 : 8u << 20,
        .dtls_initial_timeout_ms = 400,
    };
}
