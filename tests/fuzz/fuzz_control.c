/* libFuzzer target: the control request handlers, master and workers, fed structured
 * Request messages: the master's checks (session validation, ids, filters), placement and
 * directory, forwarding, and the workers' operations (create from SDP with policies and
 * avatar settings, update, close, close a channel, stats), with their responses and
 * events travelling back. All in process (master.h, worker.h in-process forms): frames
 * go through queues, packed and unpacked as on the pipes; no socket.
 *
 * Every input gets a fresh master with two workers. Input: [flags] then records
 * [kind][2-byte big-endian length][bytes]: kind 0 a protobuf Request, 1 a Request in
 * dcgw's JSON form (what dcgwctl --from takes: readable seeds), 2 a raw frame for the
 * master, 3 a raw frame for a worker as if from the master. In a Request the harness sets
 * the id (unless flags & 1) and replaces a session id "@<k>" by the k-th session the
 * master created, so that the fuzzer reaches existing sessions. Flags & 2: one session
 * per worker at most.
 *
 * Checks: every request gets exactly one response with its id; what the master sends is
 * well-formed; nothing crashes or leaks. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dcgw.pb-c.h"
#include "dcgw/control/master.h"
#include "dcgw/msg/config.h"
#include "dcgw/msg/ctlmsg.h"
#include "dcgw/msg/pbjson.h"
#include "dcgw/stages/cert.h"
#include "dcgw/stages/sctp.h"
#include "dcgw/worker/worker.h"
#include "helper.h"

enum { NW = 2, QMAX = 256, MAX_RECORDS = 32, MAX_IDS = 8, PUMP_ROUNDS = 64 };

struct frame {
    uint32_t worker;
    size_t n;
    uint8_t *p;
};

struct queue {
    struct frame f[QMAX];
    size_t n;
};

static char certdir[64] =
    "/tmp/dcgw-fuzz-control.XXXXXX";     /* one certificate: no keygen per input */
static uv_loop_t master_loop, loops[NW]; /* one each, as in separate processes */
static struct dcgw_master_inproc *master;
static struct dcgw_worker_inproc *workers[NW];
static struct queue to_workers, to_master; /* f.worker: destination / source */
static char ids[MAX_IDS][64];              /* sessions the master created */
static size_t n_ids;
static uint64_t want_id;     /* the request whose response is awaited, 0: none */
static unsigned got_answers; /* responses with want_id */

static void push(struct queue *q, uint32_t worker, const uint8_t *p, size_t n)
{
    if (q->n == QMAX)
        abort(); /* the harness sends far less than this between pumps */
    struct frame *f = &q->f[q->n++];
    f->worker = worker;
    f->n = n;
    f->p = malloc(n ? n : 1);
    if (!f->p)
        abort();
    memcpy(f->p, p, n);
}

static void master_to_worker(void *ud, uint32_t worker, const uint8_t *p, size_t n)
{
    (void)ud;
    if (worker >= NW)
        abort();
    push(&to_workers, worker, p, n);
}

static void remember_session(const Dcgw__Response *r)
{
    if (r->result_case != DCGW__RESPONSE__RESULT_SESSION || !r->session || !r->session->id)
        return;
    for (size_t i = 0; i < n_ids; i++)
        if (strcmp(ids[i], r->session->id) == 0)
            return;
    if (n_ids < MAX_IDS)
        snprintf(ids[n_ids++], sizeof(ids[0]), "%s", r->session->id);
}

static void master_to_controller(void *ud, const uint8_t *p, size_t n)
{
    (void)ud;
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    if (!f)
        abort();                          /* the master writes well-formed frames */
    if (getenv("FUZZ_CONTROL_VERBOSE")) { /* what the seeds reach, for whoever writes them */
        json_t *j = dcgw_pb_to_json(&f->base);
        char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        fprintf(stderr, "%.300s\n", t ? t : "?");
        free(t);
        json_decref(j);
    }
    if (f->body_case == DCGW__FRAME__BODY_RESPONSE) {
        if (want_id && f->response->id == want_id)
            got_answers++;
        remember_session(f->response);
    } else if (f->body_case != DCGW__FRAME__BODY_EVENT) {
        abort();
    }
    dcgw__frame__free_unpacked(f, NULL);
}

static void worker_to_master(void *ud, const uint8_t *p, size_t n)
{
    push(&to_master, (uint32_t)(uintptr_t)ud, p, n);
}

/* Delivers what is queued, both ways, until nothing moves (or a bound). */
static void pump(void)
{
    static struct frame batch[QMAX];
    for (int r = 0; r < PUMP_ROUNDS && (to_workers.n || to_master.n); r++) {
        size_t k = to_workers.n;
        memcpy(batch, to_workers.f, k * sizeof(batch[0]));
        to_workers.n = 0;
        for (size_t i = 0; i < k; i++) {
            dcgw_worker_inproc_input(workers[batch[i].worker], batch[i].p, batch[i].n);
            free(batch[i].p);
        }
        k = to_master.n;
        memcpy(batch, to_master.f, k * sizeof(batch[0]));
        to_master.n = 0;
        for (size_t i = 0; i < k; i++) {
            dcgw_master_inproc_from_worker(master, batch[i].worker, batch[i].p, batch[i].n);
            free(batch[i].p);
        }
        for (uint32_t i = 0; i < NW; i++)
            uv_run(&loops[i], UV_RUN_NOWAIT);
    }
}

static void drop_queue(struct queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->f[i].p);
    q->n = 0;
}

static int setup(uint8_t flags)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "workers = %d;\nlog: { level = \"error\"; };\n"
             "sessions: { max_per_worker = %d; };\n"
             "data_plane: { address = \"192.0.2.10\"; port = 40000; };\n"
             "dtls: { cert = \"%s/cert.pem\"; key = \"%s/key.pem\"; };\n",
             NW, flags & 2 ? 1 : 100, certdir, certdir);
    struct dcgw_config cfg;
    char err[DCGW_CONFIG_ERR_MAX];
    if (dcgw_config_parse(text, "<fuzz>", &cfg, err, sizeof(err)) < 0)
        abort();
    n_ids = 0;
    want_id = 0;
    for (uint32_t i = 0; i < NW; i++)
        if (dcgw_worker_inproc_new(&loops[i], i, worker_to_master, (void *)(uintptr_t)i,
                                   &workers[i]) != 0)
            abort();
    if (dcgw_master_inproc_new(&cfg, text, &master_loop, master_to_worker, master_to_controller,
                               NULL, &master) != 0)
        abort();
    pump(); /* init, hello: the workers are ready */
    return 0;
}

static void teardown(void)
{
    for (uint32_t i = 0; i < NW; i++) {
        dcgw_worker_inproc_free(workers[i]); /* session_closed events go to the master */
        workers[i] = NULL;
    }
    drop_queue(&to_workers);
    for (size_t i = 0; i < to_master.n; i++)
        dcgw_master_inproc_from_worker(master, to_master.f[i].worker, to_master.f[i].p,
                                       to_master.f[i].n);
    drop_queue(&to_master);
    dcgw_master_inproc_free(master);
    master = NULL;
    dcgw_sctp_handle_timers(100); /* let usrsctp reap the closed sockets */
    dcgw_sctp_handle_timers(100);
}

/* "@<k>" names the k-th session created so far. */
static void patch_id(char **id)
{
    if (!*id || (*id)[0] != '@' || n_ids == 0)
        return;
    const char *real = ids[strtoul(*id + 1, NULL, 10) % n_ids];
    free(*id);
    *id = strdup(real);
}

static void patch(Dcgw__Request *req, uint8_t flags, uint64_t seq)
{
    if (!(flags & 1)) {
        req->has_id = 1;
        req->id = seq;
    }
    switch (req->op_case) {
    case DCGW__REQUEST__OP_CREATE_SESSION:
        if (req->create_session && req->create_session->session)
            patch_id(&req->create_session->session->id);
        break;
    case DCGW__REQUEST__OP_GET_SESSION:
        patch_id(&req->get_session->id);
        break;
    case DCGW__REQUEST__OP_CLOSE_SESSION:
        patch_id(&req->close_session->id);
        break;
    case DCGW__REQUEST__OP_UPDATE_SESSION:
        patch_id(&req->update_session->id);
        break;
    case DCGW__REQUEST__OP_CLOSE_CHANNEL:
        patch_id(&req->close_channel->id);
        break;
    case DCGW__REQUEST__OP_SUBSCRIBE:
        patch_id(&req->subscribe->session_id);
        break;
    default:
        break;
    }
}

static Dcgw__Request *from_json(const uint8_t *p, size_t n)
{
    json_t *j = json_loadb((const char *)p, n, 0, NULL);
    if (!j)
        return NULL;
    ProtobufCMessage *m = NULL;
    char err[256];
    int r = dcgw_pb_from_json(&dcgw__request__descriptor, j, &m, err, sizeof(err));
    json_decref(j);
    return r == 0 ? (Dcgw__Request *)m : NULL;
}

static void send_request(Dcgw__Request *req, uint8_t flags, uint64_t seq)
{
    patch(req, flags, seq);
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_REQUEST;
    f.request = req;
    size_t n = dcgw__frame__get_packed_size(&f);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    dcgw__frame__pack(&f, buf);
    want_id = req->has_id ? req->id : 0;
    got_answers = 0;
    dcgw_master_inproc_request(master, buf, n);
    free(buf);
    pump();
    /* exactly one answer to a request with an id (the master answers even what it
     * refuses; a worker answers all it is forwarded) */
    if (want_id && got_answers != 1)
        abort();
    want_id = 0;
}

static bool is_drain(const uint8_t *p, size_t n)
{
    Dcgw__Frame *f = dcgw_ctlmsg_unpack(p, n);
    bool drain = f && f->body_case == DCGW__FRAME__BODY_INTERNAL &&
                 f->internal->msg_case == DCGW__INTERNAL__MSG_DRAIN;
    if (f)
        dcgw__frame__free_unpacked(f, NULL);
    return drain;
}

static void remove_certdir(void)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/cert.pem", certdir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/key.pem", certdir);
    unlink(p);
    rmdir(certdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    struct dcgw_cert *c = NULL;
    char cp[128], kp[128];
    if (!mkdtemp(certdir) || dcgw_cert_new(NULL, &c) != 0)
        return -1;
    snprintf(cp, sizeof(cp), "%s/cert.pem", certdir);
    snprintf(kp, sizeof(kp), "%s/key.pem", certdir);
    atexit(remove_certdir);
    int r = dcgw_cert_write_pem(c, cp, kp);
    dcgw_cert_unref(c);
    if (r != 0)
        return -1;
    for (uint32_t i = 0; i < NW; i++)
        if (uv_loop_init(&loops[i]) != 0)
            return -1;
    return uv_loop_init(&master_loop) == 0 && dcgw_sctp_stack_init(NULL) == 0 ? 0 : -1;
}

/* FUZZ_CONTROL_TO_PB=file: writes the input with its JSON records as protobuf ones (kind
 * 0), to seed the binary path from readable seeds. */
static void write_pb_form(const char *path, const uint8_t *data, size_t size)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return;
    fwrite(data, 1, 1, out);
    struct fuzz_in in = {data + 1, size - 1};
    while (in.n >= 3) {
        const uint8_t *rec = in.p;
        uint8_t kind = fuzz_u8(&in);
        size_t n;
        const uint8_t *p = fuzz_bytes16(&in, &n);
        Dcgw__Request *req = kind % 4 == 1 ? from_json(p, n) : NULL;
        if (req) {
            size_t k = dcgw__request__get_packed_size(req);
            uint8_t *b = malloc(k ? k : 1), hdr[3] = {0, (uint8_t)(k >> 8), (uint8_t)k};
            if (b && k <= 0xffff) {
                dcgw__request__pack(req, b);
                fwrite(hdr, 1, 3, out);
                fwrite(b, 1, k, out);
            }
            free(b);
            dcgw__request__free_unpacked(req, NULL);
        } else {
            fwrite(rec, 1, 3 + n, out);
        }
    }
    fclose(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (getenv("FUZZ_CONTROL_TO_PB"))
        write_pb_form(getenv("FUZZ_CONTROL_TO_PB"), data, size);
    uint8_t flags = data[0];
    setup(flags);
    struct fuzz_in in = {data + 1, size - 1};
    uint64_t seq = 1000;
    for (int k = 0; k < MAX_RECORDS && in.n >= 3; k++) {
        uint8_t kind = fuzz_u8(&in);
        size_t n;
        const uint8_t *p = fuzz_bytes16(&in, &n);
        Dcgw__Request *req = NULL;
        switch (kind % 4) {
        case 0:
            req = dcgw__request__unpack(NULL, n, p);
            break;
        case 1:
            req = from_json(p, n);
            break;
        case 2:
            dcgw_master_inproc_request(master, p, n);
            pump();
            break;
        default:
            if (!is_drain(p, n)) { /* the master sends that only once it refuses requests */
                dcgw_worker_inproc_input(workers[kind / 4 % NW], p, n);
                pump();
            }
            break;
        }
        if (req) {
            send_request(req, flags, ++seq);
            dcgw__request__free_unpacked(req, NULL);
        }
    }
    teardown();
    return 0;
}
