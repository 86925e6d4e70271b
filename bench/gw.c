/* The gateway under test: a dcgwd started here (or one given with --socket), its
 * processes for CPU and memory, and a pool of control connections that create and close
 * sessions off the loop thread (dcgw_ctlclient calls block). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "dcgw/ctl/ctlclient.h"
#include "dcgw/base/error.h"

extern char **environ;

enum { GW_PIDS_MAX = 64, GW_CALL_TIMEOUT_MS = 30000 };

struct gw {
    struct bench *b;
    const char *bin;    /* the daemon binary */
    const char *prefix; /* of its files in the work directory: "" or "base-" */
    pid_t spawned;      /* 0 when --socket */
    char sock[300];
    int pids[GW_PIDS_MAX]; /* master first, then workers */
    unsigned npids, workers;
    struct dcgw_ctlclient *ctl; /* the loop thread's own connection (stats) */
    uint16_t metrics_port;      /* dcgwd's /metrics on 127.0.0.1 (0: unknown, --socket) */
    /* the pool */
    pthread_t th[BENCH_CTL_THREADS];
    unsigned nth;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct ctl_job *in_head, *in_tail, *out;
    bool stop;
    unsigned reconnects;
    uv_async_t async;
};

static int connect_ctl(struct gw *g, struct dcgw_ctlclient **out, char *err, size_t errcap);

/* ---- jobs */

void ctl_job_free(struct ctl_job *j)
{
    if (!j)
        return;
    for (int i = 0; i < 2; i++) {
        free(j->offer[i]);
        free(j->answer[i]);
    }
    free(j);
}

static int call(struct dcgw_ctlclient *c, Dcgw__Request *req, Dcgw__Response **resp, char *err,
                size_t errcap)
{
    int r = dcgw_ctlclient_call(c, req, resp, GW_CALL_TIMEOUT_MS);
    if (r < 0) {
        snprintf(err, errcap, "control: %s", dcgw_strerror(r));
        return r;
    }
    if ((*resp)->error) {
        snprintf(err, errcap, "%s: %s", (*resp)->error->name ? (*resp)->error->name : "error",
                 (*resp)->error->message ? (*resp)->error->message : "");
        r = (*resp)->error->has_code ? (*resp)->error->code : DCGW_EINTERNAL;
        dcgw__response__free_unpacked(*resp, NULL);
        *resp = NULL;
        return r < 0 ? r : DCGW_EINTERNAL;
    }
    return 0;
}

/* One control call for a job: the response (the caller frees it), or NULL with j->err and
 * j->errmsg set. */
static Dcgw__Response *job_call(struct dcgw_ctlclient *c, struct ctl_job *j, Dcgw__Request *req)
{
    Dcgw__Response *resp = NULL;
    j->err = call(c, req, &resp, j->errmsg, sizeof(j->errmsg));
    if (j->err < 0 && resp) {
        dcgw__response__free_unpacked(resp, NULL);
        resp = NULL;
    }
    return resp;
}

static const char *const leg_names[2] = {"ue", "as"};

void bench_legs_init(struct bench_legs *l, bool relay, const char *sdp_ue, const char *sdp_as)
{
    const char *sdp[2] = {sdp_ue, sdp_as};
    for (int i = 0; i < 2; i++) {
        bool offers = relay && i == 1;
        dcgw__dc_media__init(&l->dc[i]);
        l->dc[i].has_mode = 1;
        l->dc[i].mode = relay ? DCGW__MEDIA_MODE__MODE_RELAY : DCGW__MEDIA_MODE__MODE_TERMINATE;
        l->dc[i].remote_sdp = offers ? NULL : (char *)sdp[i];
        dcgw__leg__init(&l->leg[i]);
        l->leg[i].name = (char *)leg_names[i];
        l->leg[i].has_role = 1;
        l->leg[i].role = offers ? DCGW__LEG_ROLE__ROLE_OFFER : DCGW__LEG_ROLE__ROLE_ANSWER;
        l->leg[i].dc = &l->dc[i];
        l->v[i] = &l->leg[i];
    }
}

void bench_allow_all_init(struct bench_allow_all *a)
{
    dcgw__policy_rule__init(&a->rule);
    a->rule.name = "bench-allow-all";
    a->rule.has_verdict = 1;
    a->rule.verdict = DCGW__POLICY_VERDICT__VERDICT_ALLOW;
    a->rules[0] = &a->rule;
    dcgw__policy__init(&a->pol);
    a->pol.rules = a->rules;
    a->pol.n_rules = 1;
}

/* create_session for the job's id, legs "ue" and "as", both DataChannel media:
 * - terminating: both legs answer the job's two offers, under an allow-all policy (dcgw's
 *   default is deny: the bench measures forwarding, not refusals);
 * - relay (docs/relay.md): leg "ue" answers A's offer, leg "as" offers; no policy (a relay
 *   session forwards DTLS it cannot read).
 * The response (the caller frees it), or NULL with the error in j. */
static Dcgw__Response *job_create_session(struct dcgw_ctlclient *c, struct ctl_job *j, bool relay)
{
    struct bench_legs legs;
    bench_legs_init(&legs, relay, j->offer[0], j->offer[1]);
    struct bench_allow_all allow;
    bench_allow_all_init(&allow);
    Dcgw__Session s = DCGW__SESSION__INIT;
    s.id = j->sid;
    s.legs = legs.v;
    s.n_legs = 2;
    s.policy = relay ? NULL : &allow.pol;
    s.tag = "dcgw-bench";
    Dcgw__CreateSession cs = DCGW__CREATE_SESSION__INIT;
    cs.session = &s;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CREATE_SESSION;
    req.create_session = &cs;
    return job_call(c, j, &req);
}

/* The leg called `name` of a session in a response, or NULL. */
static const Dcgw__Leg *leg_named(const Dcgw__Session *s, const char *name)
{
    for (size_t i = 0; s && i < s->n_legs; i++)
        if (s->legs[i]->name && strcmp(s->legs[i]->name, name) == 0)
            return s->legs[i];
    return NULL;
}

/* dcgw's SDP on leg `name` of the response's session (strdup'd), or an error in j. */
static void take_local_sdp(struct ctl_job *j, const Dcgw__Response *resp, const char *name,
                           int slot, const char *op)
{
    const Dcgw__Leg *l = leg_named(resp->session, name);
    if (l && l->dc && l->dc->local_sdp && *l->dc->local_sdp)
        j->answer[slot] = strdup(l->dc->local_sdp);
    if (!j->answer[slot]) {
        j->err = DCGW_EPROTO;
        snprintf(j->errmsg, sizeof(j->errmsg), "%s: no local SDP on leg %s", op, name);
    }
}

/* A terminating session: dcgw's answers for A and Z come back on legs "ue" and "as"; a
 * relay session: dcgw's offer for Z comes back on leg "as". */
static void do_create(struct dcgw_ctlclient *c, struct ctl_job *j, bool relay)
{
    Dcgw__Response *resp = job_create_session(c, j, relay);
    if (!resp)
        return;
    for (int i = relay ? 1 : 0; i < 2 && j->err >= 0; i++)
        take_local_sdp(j, resp, leg_names[i], i,
                       relay ? "create_session (relay)" : "create_session");
    dcgw__response__free_unpacked(resp, NULL);
}

/* Z's answer on leg "as"; dcgw's answer for A comes back on leg "ue". */
static void do_relay_update(struct dcgw_ctlclient *c, struct ctl_job *j)
{
    Dcgw__UpdateSession up = DCGW__UPDATE_SESSION__INIT;
    up.id = j->sid;
    up.leg = "as";
    up.remote_sdp = j->offer[1];
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_UPDATE_SESSION;
    req.update_session = &up;
    Dcgw__Response *resp = job_call(c, j, &req);
    if (!resp)
        return;
    take_local_sdp(j, resp, "ue", 0, "update_session (relay)");
    dcgw__response__free_unpacked(resp, NULL);
}

static void do_close(struct dcgw_ctlclient *c, struct ctl_job *j)
{
    Dcgw__CloseSession cl = DCGW__CLOSE_SESSION__INIT;
    cl.id = j->sid;
    cl.reason = "bench done";
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_CLOSE_SESSION;
    req.close_session = &cl;
    Dcgw__Response *resp = job_call(c, j, &req);
    if (resp)
        dcgw__response__free_unpacked(resp, NULL);
}

struct thread_arg {
    struct gw *g;
    struct dcgw_ctlclient *c;
};

static void *pool_main(void *arg)
{
    struct thread_arg *ta = arg;
    struct gw *g = ta->g;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (!g->in_head && !g->stop)
            pthread_cond_wait(&g->cv, &g->mu);
        if (g->stop) {
            pthread_mutex_unlock(&g->mu);
            break;
        }
        struct ctl_job *j = g->in_head;
        g->in_head = j->next;
        if (!g->in_head)
            g->in_tail = NULL;
        pthread_mutex_unlock(&g->mu);
        for (int attempt = 0; attempt < 2; attempt++) {
            switch (j->kind) {
            case CTL_CREATE:
            case CTL_RELAY_CREATE:
                do_create(ta->c, j, j->kind == CTL_RELAY_CREATE);
                break;
            case CTL_RELAY_UPDATE:
                do_relay_update(ta->c, j);
                break;
            case CTL_CLOSE:
                do_close(ta->c, j);
                break;
            }
            if (j->err != DCGW_ECLOSED && j->err != DCGW_ETIMEOUT)
                break;
            /* The connection went away: one new connection, one retry. */
            struct dcgw_ctlclient *nc = NULL;
            char e2[128];
            __atomic_add_fetch(&g->reconnects, 1, __ATOMIC_RELAXED);
            if (connect_ctl(g, &nc, e2, sizeof(e2)) < 0)
                break;
            dcgw_ctlclient_free(ta->c);
            ta->c = nc;
        }
        pthread_mutex_lock(&g->mu);
        j->next = g->out;
        g->out = j;
        pthread_mutex_unlock(&g->mu);
        uv_async_send(&g->async);
    }
    dcgw_ctlclient_free(ta->c);
    free(ta);
    return NULL;
}

static void on_async(uv_async_t *a)
{
    struct gw *g = a->data;
    pthread_mutex_lock(&g->mu);
    struct ctl_job *done = g->out;
    g->out = NULL;
    pthread_mutex_unlock(&g->mu);
    /* Oldest first. */
    struct ctl_job *rev = NULL;
    while (done) {
        struct ctl_job *n = done->next;
        done->next = rev;
        rev = done;
        done = n;
    }
    while (rev) {
        struct ctl_job *n = rev->next;
        rev->done(g->b, rev);
        rev = n;
    }
}

void gw_submit(struct gw *g, struct ctl_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&g->mu);
    if (g->in_tail)
        g->in_tail->next = j;
    else
        g->in_head = j;
    g->in_tail = j;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* ---- the daemon */

/* A TCP port of 127.0.0.1 nobody listens on now (for dcgwd's /metrics). */
static uint16_t free_tcp_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int write_config(struct bench *b, const char *path, const char *sock, uint16_t mport)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return DCGW_EIO;
    /* Everything on loopback; limits raised so the bench measures the data path rather
     * than the safety caps (sessions, queued bytes toward a slow leg). The bench's control
     * connections sit quiet through whole measuring windows (idle, tput): no idle close,
     * which would only make them reconnect at their next request. */
    fprintf(f,
            "# written by dcgw-bench\n"
            "workers = %u;\n"
            "log: { level = \"%s\"; };\n"
            "control: { socket = \"%s\"; max_connections = 64; outbuf_limit = 67108864;\n"
            "           idle_timeout_ms = 0; };\n"
            "data_plane: { address = \"127.0.0.1\"; socket_buffer = 8388608; };\n"
            "sessions: { max_per_worker = 1000000; setup_timeout_ms = 120000; };\n"
            "sctp: { max_message_size = %u; buffered_limit = 8388608; timer_interval_ms = %u; };\n"
            "metrics: { listen = \"127.0.0.1:%u\"; };\n",
            b->o.workers, b->o.dcgwd_log, sock, b->o.max_message_size, b->o.sctp_tick_ms,
            (unsigned)mport);
    fclose(f);
    return 0;
}

static int spawn_daemon(struct bench *b, struct gw *g, char *err, size_t errcap)
{
    char conf[300], log[300];
    snprintf(g->sock, sizeof(g->sock), "%s/%sctl.sock", b->workdir, g->prefix);
    snprintf(conf, sizeof(conf), "%s/%sdcgw.conf", b->workdir, g->prefix);
    snprintf(log, sizeof(log), "%s/%sdcgwd.log", b->workdir, g->prefix);
    g->metrics_port = free_tcp_port();
    if (write_config(b, conf, g->sock, g->metrics_port) < 0) {
        snprintf(err, errcap, "%s: %s", conf, strerror(errno));
        return DCGW_EIO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)g->bin, "-c", conf, NULL};
    int r = posix_spawn(&g->spawned, g->bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        snprintf(err, errcap, "%s: %s", g->bin, strerror(r));
        g->spawned = 0;
        return DCGW_EIO;
    }
    bench_register_child(g->spawned);
    return 0;
}

static int ppid_of(int pid)
{
    char buf[512];
    const char *p = proc_stat_fields(pid, buf, sizeof(buf));
    int ppid = 0;
    if (p && sscanf(p, "%*c %d", &ppid) != 1)
        ppid = 0;
    return ppid;
}

/* get_stats: 0 and the response in *resp (the caller frees it), or an error in err. */
static int get_stats(struct dcgw_ctlclient *c, Dcgw__Response **resp, char *err, size_t errcap)
{
    Dcgw__GetStats gs = DCGW__GET_STATS__INIT;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_STATS;
    req.get_stats = &gs;
    *resp = NULL;
    return call(c, &req, resp, err, errcap);
}

/* get_session of sid: 0 and the response in *resp (the caller frees it), or an error in
 * err. */
static int get_session(struct dcgw_ctlclient *c, const char *sid, Dcgw__Response **resp, char *err,
                       size_t errcap)
{
    Dcgw__GetSession gs = DCGW__GET_SESSION__INIT;
    gs.id = (char *)sid;
    Dcgw__Request req = DCGW__REQUEST__INIT;
    req.op_case = DCGW__REQUEST__OP_GET_SESSION;
    req.get_session = &gs;
    *resp = NULL;
    return call(c, &req, resp, err, errcap);
}

/* Waits until every worker reports its data-plane address; records the processes. */
static int wait_workers(struct gw *g, char *err, size_t errcap)
{
    for (int tries = 0; tries < 200; tries++) {
        Dcgw__Response *resp;
        int r = get_stats(g->ctl, &resp, err, errcap);
        if (r < 0)
            return r;
        unsigned ready = 0, nw = 0;
        const Dcgw__Stats *st = resp->stats;
        g->npids = 1;
        for (size_t i = 0; st && i < st->n_workers; i++) {
            const Dcgw__WorkerStats *w = st->workers[i];
            nw++;
            if (w->alive && w->udp_address && *w->udp_address && w->pid > 0) {
                ready++;
                if (g->npids < GW_PIDS_MAX)
                    g->pids[g->npids++] = w->pid;
            }
        }
        dcgw__response__free_unpacked(resp, NULL);
        if (nw > 0 && ready == nw) {
            g->workers = nw;
            g->pids[0] = g->spawned ? g->spawned : ppid_of(g->pids[1]);
            return 0;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(err, errcap, "dcgwd workers did not become ready");
    return DCGW_ETIMEOUT;
}

static int connect_ctl(struct gw *g, struct dcgw_ctlclient **out, char *err, size_t errcap)
{
    struct dcgw_ctlclient_opts o = {.socket = g->sock};
    int r = DCGW_EIO;
    for (int tries = 0; tries < 100; tries++) {
        r = dcgw_ctlclient_connect(&o, out, err, errcap);
        if (r == 0)
            return 0;
        if (g->spawned && waitpid(g->spawned, NULL, WNOHANG) == g->spawned) {
            g->spawned = 0;
            snprintf(err, errcap, "dcgwd exited at start (see its log in the work directory)");
            return DCGW_EIO;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return r;
}

static int start_one(struct bench *b, struct gw **slot, const char *bin, const char *prefix,
                     const char *socket, char *err, size_t errcap)
{
    struct gw *g = calloc(1, sizeof(*g));
    if (!g)
        return DCGW_ENOMEM;
    g->b = b;
    g->bin = bin;
    g->prefix = prefix;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    int r = 0;
    if (socket)
        snprintf(g->sock, sizeof(g->sock), "%s", socket);
    else
        r = spawn_daemon(b, g, err, errcap);
    *slot = g; /* stop_one cleans up from here on */
    if (r == 0)
        r = connect_ctl(g, &g->ctl, err, errcap);
    if (r == 0)
        r = wait_workers(g, err, errcap);
    uv_async_init(b->loop, &g->async, on_async);
    g->async.data = g;
    for (unsigned i = 0; r == 0 && i < BENCH_CTL_THREADS; i++) {
        struct thread_arg *ta = calloc(1, sizeof(*ta));
        if (!ta) {
            r = DCGW_ENOMEM;
            break;
        }
        ta->g = g;
        r = connect_ctl(g, &ta->c, err, errcap);
        if (r == 0 && pthread_create(&g->th[i], NULL, pool_main, ta) != 0)
            r = DCGW_EINTERNAL;
        if (r < 0) {
            dcgw_ctlclient_free(ta->c);
            free(ta);
            break;
        }
        g->nth++;
    }
    return r;
}

int gw_start(struct bench *b, char *err, size_t errcap)
{
    return start_one(b, &b->gw, b->o.dcgwd, "", b->o.socket, err, errcap);
}

int gw_start_base(struct bench *b, char *err, size_t errcap)
{
    return start_one(b, &b->gw_base, b->o.base_dcgwd, "base-", NULL, err, errcap);
}

struct gw *bench_gw(struct bench *b, enum bench_path p)
{
    return p == PATH_BASE ? b->gw_base : b->gw;
}

static void stop_one(struct bench *b, struct gw **slot)
{
    struct gw *g = *slot;
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (unsigned i = 0; i < g->nth; i++)
        pthread_join(g->th[i], NULL);
    if (!uv_is_closing((uv_handle_t *)&g->async))
        uv_close((uv_handle_t *)&g->async, NULL);
    uv_run(b->loop, UV_RUN_NOWAIT);
    dcgw_ctlclient_free(g->ctl);
    if (g->spawned > 0) {
        kill(g->spawned, SIGTERM);
        int st;
        for (int i = 0; i < 100 && waitpid(g->spawned, &st, WNOHANG) == 0; i++) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (i == 99) {
                kill(g->spawned, SIGKILL);
                waitpid(g->spawned, &st, 0);
            }
        }
    }
    struct ctl_job *lists[2] = {g->in_head, g->out};
    for (int i = 0; i < 2; i++)
        while (lists[i]) {
            struct ctl_job *n = lists[i]->next;
            ctl_job_free(lists[i]);
            lists[i] = n;
        }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g);
    *slot = NULL;
}

void gw_stop(struct bench *b)
{
    stop_one(b, &b->gw);
}

void gw_stop_base(struct bench *b)
{
    stop_one(b, &b->gw_base);
}

uint64_t gw_cpu_master_ns(struct gw *g)
{
    return g && g->npids ? proc_cpu_ns(g->pids[0]) : 0;
}

uint16_t gw_metrics_port(const struct gw *g)
{
    return g ? g->metrics_port : 0;
}

void gw_set_affinity(struct gw *g, int except_cpu)
{
    for (unsigned i = 0; g && i < g->npids; i++)
        proc_set_affinity(g->pids[i], except_cpu);
}

uint64_t gw_cpu_ns(struct gw *g)
{
    uint64_t sum = 0;
    for (unsigned i = 0; g && i < g->npids; i++)
        sum += proc_cpu_ns(g->pids[i]);
    return sum;
}

uint64_t gw_rss_bytes(struct gw *g)
{
    uint64_t sum = 0;
    for (unsigned i = 0; g && i < g->npids; i++)
        sum += proc_rss_bytes(g->pids[i]);
    return sum;
}

uint64_t gw_rss_workers(struct gw *g)
{
    uint64_t sum = 0;
    for (unsigned i = 1; g && i < g->npids; i++)
        sum += proc_rss_bytes(g->pids[i]);
    return sum;
}

bool gw_alive(struct gw *g, char *why, size_t cap)
{
    for (unsigned i = 0; g && i < g->npids; i++)
        if (kill(g->pids[i], 0) < 0) {
            snprintf(why, cap, "dcgwd %s (pid %d) is gone", i ? "worker" : "master", g->pids[i]);
            return false;
        }
    unsigned rc = __atomic_load_n(&g->reconnects, __ATOMIC_RELAXED);
    if (rc)
        snprintf(why, cap, "%u control reconnections", rc);
    return true;
}

unsigned gw_workers(const struct gw *g)
{
    return g ? g->workers : 0;
}

const char *gw_socket_path(const struct gw *g)
{
    return g ? g->sock : NULL;
}

static int relay_counts(struct dcgw_ctlclient *cl, const char *sid, struct relay_counts *c)
{
    Dcgw__Response *resp = NULL;
    char err[256];
    int r = get_session(cl, sid, &resp, err, sizeof(err));
    if (r < 0)
        return r;
    c->connected = true;
    for (int k = 0; k < 2; k++) {
        const Dcgw__Leg *l = leg_named(resp->session, leg_names[k]);
        c->connected = c->connected && l && l->state == DCGW__LEG_STATE__LEG_CONNECTED;
        const Dcgw__RelayCounters *rc = l && l->dc ? l->dc->relay : NULL;
        if (!rc) {
            r = DCGW_ENOENT;
            continue;
        }
        c->rx_packets[k] = rc->rx_packets;
        c->forwarded_packets[k] = rc->forwarded_packets;
        c->forwarded_bytes[k] = rc->forwarded_bytes;
        c->dropped[k] = rc->dropped_garbage + rc->dropped_unvalidated + rc->dropped_no_peer +
                        rc->dropped_rate + rc->dropped_inspector + rc->dropped_blocked;
    }
    dcgw__response__free_unpacked(resp, NULL);
    return r;
}

static int io_packets(struct dcgw_ctlclient *cl, uint64_t *rx, uint64_t *tx)
{
    Dcgw__Response *resp;
    char err[256];
    int r = get_stats(cl, &resp, err, sizeof(err));
    if (r < 0)
        return r;
    for (size_t i = 0; resp->stats && i < resp->stats->n_workers; i++) {
        const Dcgw__WorkerStats *w = resp->stats->workers[i];
        for (size_t k = 0; k < w->n_counters; k++) {
            const Dcgw__Counter *cn = w->counters[k];
            if (!cn->name)
                continue;
            if (strcmp(cn->name, "rx_packets") == 0)
                *rx += cn->value;
            else if (strcmp(cn->name, "tx_packets") == 0)
                *tx += cn->value;
        }
    }
    dcgw__response__free_unpacked(resp, NULL);
    return 0;
}

int gw_relay_counts(struct gw *g, const char *sid, struct relay_counts *c)
{
    memset(c, 0, sizeof(*c));
    if (!g)
        return DCGW_ESTATE;
    int r = relay_counts(g->ctl, sid, c);
    return r < 0 ? r : io_packets(g->ctl, &c->io_rx, &c->io_tx);
}

int gw_session_address(struct gw *g, const char *sid, char *addr, size_t cap)
{
    if (!g)
        return DCGW_ESTATE;
    Dcgw__Response *resp = NULL;
    char err[256];
    int r = get_session(g->ctl, sid, &resp, err, sizeof(err));
    if (r < 0)
        return r;
    uint32_t worker = resp->session ? resp->session->worker : UINT32_MAX;
    dcgw__response__free_unpacked(resp, NULL);
    if ((r = get_stats(g->ctl, &resp, err, sizeof(err))) < 0)
        return r;
    r = DCGW_ENOENT;
    for (size_t i = 0; resp->stats && i < resp->stats->n_workers; i++) {
        const Dcgw__WorkerStats *w = resp->stats->workers[i];
        if (w->index == worker && w->udp_address) {
            snprintf(addr, cap, "%s", w->udp_address);
            r = 0;
        }
    }
    dcgw__response__free_unpacked(resp, NULL);
    return r;
}

/* get_stats on the bench's own connection to g: 0 and the response (the caller frees it),
 * or an error (DCGW_ESTATE without a gateway). */
static int gw_stats(struct gw *g, Dcgw__Response **resp)
{
    char err[256];
    return g ? get_stats(g->ctl, resp, err, sizeof(err)) : DCGW_ESTATE;
}

int gw_sessions(struct gw *g, unsigned *n)
{
    *n = 0;
    Dcgw__Response *resp;
    int r = gw_stats(g, &resp);
    if (r < 0)
        return r;
    for (size_t i = 0; resp->stats && i < resp->stats->n_workers; i++)
        *n += resp->stats->workers[i]->sessions;
    dcgw__response__free_unpacked(resp, NULL);
    return 0;
}

int gw_counters(struct gw *g, const char *const *names, uint64_t *vals, size_t n)
{
    memset(vals, 0, n * sizeof(*vals));
    Dcgw__Response *resp;
    int r = gw_stats(g, &resp);
    if (r < 0)
        return r;
    for (size_t i = 0; resp->stats && i < resp->stats->n_workers; i++) {
        const Dcgw__WorkerStats *w = resp->stats->workers[i];
        for (size_t k = 0; k < w->n_counters; k++)
            for (size_t j = 0; j < n && w->counters[k]->name; j++)
                if (strcmp(w->counters[k]->name, names[j]) == 0)
                    vals[j] += w->counters[k]->value;
    }
    dcgw__response__free_unpacked(resp, NULL);
    return 0;
}
