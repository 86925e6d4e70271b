/* Events kept for controllers that were away (docs/control.md "Usage records"): the last
 * control.event_replay events, at most control.event_replay_bytes of them, packed once.
 * A controller that subscribes with from_seq gets those after from_seq first; a
 * session_closed (every channel's final counters: the usage record) stays findable by
 * its session id while it is kept. */
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/error.h"
#include "dcgw/base/log.h"
#include "dcgw/msg/ctlmsg.h"
#include "master_int.h"

struct held {
    uint64_t seq;
    char *session_id; /* NULL: not a session's */
    bool closed;      /* a session_closed */
    size_t n;
    uint8_t *frame; /* length header and Frame{event}, as sent */
};

static void held_free(struct held *h)
{
    free(h->session_id);
    free(h->frame);
    free(h);
}

void dcgw__replay_init(struct master *m)
{
    m->replay = g_queue_new();
    m->replay_closed = g_hash_table_new(g_str_hash, g_str_equal);
}

void dcgw__replay_free(struct master *m)
{
    if (!m->replay)
        return;
    g_hash_table_destroy(m->replay_closed);
    g_queue_free_full(m->replay, (GDestroyNotify)held_free);
    m->replay = NULL;
}

static void drop_oldest(struct master *m)
{
    struct held *h = g_queue_pop_head(m->replay);
    m->replay_bytes -= h->n;
    if (h->closed && g_hash_table_lookup(m->replay_closed, h->session_id) == h)
        g_hash_table_remove(m->replay_closed, h->session_id);
    held_free(h);
}

const uint8_t *dcgw__replay_add(struct master *m, const Dcgw__Event *ev, size_t *n)
{
    Dcgw__Frame f = DCGW__FRAME__INIT;
    f.body_case = DCGW__FRAME__BODY_EVENT;
    f.event = (Dcgw__Event *)ev;
    uint8_t *b;
    size_t len;
    struct held *h = calloc(1, sizeof(*h));
    if (!h || dcgw_ctlmsg_pack(&f, DCGW_FRAME_MAX_CEILING, &b, &len) < 0) {
        free(h);
        return NULL;
    }
    h->seq = ev->seq;
    h->session_id = ev->session_id ? strdup(ev->session_id) : NULL;
    h->closed = ev->kind_case == DCGW__EVENT__KIND_SESSION_CLOSED && h->session_id;
    h->n = len;
    h->frame = b;
    g_queue_push_tail(m->replay, h);
    m->replay_bytes += len;
    if (h->closed)
        g_hash_table_replace(m->replay_closed, h->session_id, h);
    while (
        g_queue_get_length(m->replay) > m->cfg.control.event_replay ||
        (m->replay_bytes > m->cfg.control.event_replay_bytes && g_queue_get_length(m->replay) > 1))
        drop_oldest(m);
    if (g_queue_peek_tail(m->replay) != h) /* event_replay = 0: kept nothing */
        return NULL;
    *n = len;
    return h->frame;
}

uint64_t dcgw__replay_closed(struct master *m, const char *session_id)
{
    struct held *h = session_id ? g_hash_table_lookup(m->replay_closed, session_id) : NULL;
    return h ? h->seq : 0;
}

static bool wanted(const struct controller *c, const struct held *h)
{
    return !c->filter[0] || (h->session_id && strcmp(c->filter, h->session_id) == 0);
}

uint64_t dcgw__replay_plan(struct master *m, const struct controller *c, uint64_t from_seq,
                           void **start)
{
    /* At most half the controller's output bound: the rest is reported as gone (the
     * first event replayed says where it starts) rather than disconnecting it. */
    size_t budget = m->cfg.control.outbuf_limit / 2, total = 0;
    GList *first = NULL;
    for (GList *l = g_queue_peek_tail_link(m->replay); l; l = l->prev) {
        struct held *h = l->data;
        if (h->seq <= from_seq || total + h->n > budget)
            break;
        if (!wanted(c, h))
            continue;
        total += h->n;
        first = l;
    }
    *start = first;
    if (first)
        return ((struct held *)first->data)->seq;
    /* Nothing to replay: everything after from_seq that was kept went out already, or
     * nothing was kept after it. */
    struct held *oldest = g_queue_peek_head(m->replay);
    return oldest && oldest->seq > from_seq + 1 && from_seq < m->event_seq ? oldest->seq
                                                                           : m->event_seq + 1;
}

void dcgw__replay_send(struct master *m, struct controller *c, void *start)
{
    (void)m;
    for (GList *l = start; l && c->s; l = l->next) {
        struct held *h = l->data;
        if (wanted(c, h) && dcgw_stream_write(c->s, h->frame, h->n) < 0)
            break;
    }
}

uint64_t dcgw__replay_first(struct master *m)
{
    struct held *h = g_queue_peek_head(m->replay);
    return h ? h->seq : m->event_seq + 1;
}
