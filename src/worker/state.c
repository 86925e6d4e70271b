/* Sessions that are down (docs/control.md "Session states"): a leg failed or closed, so
 * the session is SESSION_DOWN with the reason, and closes itself after
 * sessions.down_timeout_ms unless the controller closes it first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/base/log.h"
#include "worker_int.h"

/* Sessions that are down wait sessions.down_timeout_ms for the controller's close; one
 * timer serves them all, in the order they went down. */
struct close_later {
    uint64_t due;
    char id[DCGW_SESSION_ID_MAX];
};

static void on_close_timer(uv_timer_t *t)
{
    struct worker *w = t->data;
    uint64_t now = uv_now(w->loop);
    struct close_later *c;
    while ((c = g_queue_peek_head(w->close_later)) && c->due <= now) {
        g_queue_pop_head(w->close_later);
        struct wsession *s = g_hash_table_lookup(w->sessions, c->id);
        if (s && s->desc->state == DCGW__SESSION_STATE__SESSION_DOWN && !s->closing)
            dcgw__wsession_close(s, s->desc->reason ? s->desc->reason : "down");
        free(c);
    }
    if (c)
        uv_timer_start(&w->close_timer, on_close_timer, c->due - now, 0);
}

static gint by_due(gconstpointer a, gconstpointer b, gpointer ud)
{
    (void)ud;
    const struct close_later *x = a, *y = b;
    return x->due < y->due ? -1 : x->due > y->due;
}

static void close_later(struct worker *w, const char *id, uint32_t ms)
{
    struct close_later *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->due = uv_now(w->loop) + ms;
    snprintf(c->id, sizeof(c->id), "%s", id);
    g_queue_insert_sorted(w->close_later, c, by_due, NULL); /* a reload may shorten ms */
    struct close_later *head = g_queue_peek_head(w->close_later);
    uint64_t now = uv_now(w->loop);
    uv_timer_start(&w->close_timer, on_close_timer, head->due > now ? head->due - now : 0, 0);
}

bool dcgw__wsession_leg_down(struct wsession *s, unsigned idx, const char *reason)
{
    Dcgw__Session *d = s->desc;
    if (s->closing || d->state == DCGW__SESSION_STATE__SESSION_DOWN ||
        d->state == DCGW__SESSION_STATE__SESSION_CLOSED)
        return false; /* the first leg down gives the reason */
    char why[256];
    if (idx < s->n_legs)
        snprintf(why, sizeof(why), "leg %s: %s", d->legs[idx]->name, reason ? reason : "closed");
    else
        snprintf(why, sizeof(why), "%s", reason ? reason : "closed");
    free(d->reason);
    d->reason = strdup(why);
    d->has_state = 1;
    d->state = DCGW__SESSION_STATE__SESSION_DOWN;
    uint32_t after = s->w->cfg.sessions.down_timeout_ms;
    DCGW_INFO(SESSION, "session %s down (%s); closing it %s%u ms", d->id, why,
              after ? "unless the controller does within " : "", after);
    if (after == 0)
        return true;
    close_later(s->w, d->id, after);
    return false;
}

void dcgw__wstate_init(struct worker *w)
{
    w->close_later = g_queue_new();
    uv_timer_init(w->loop, &w->close_timer);
    w->close_timer.data = w;
}

void dcgw__wstate_stop(struct worker *w)
{
    if (!uv_is_closing((uv_handle_t *)&w->close_timer))
        uv_close((uv_handle_t *)&w->close_timer, NULL);
}

void dcgw__wstate_free(struct worker *w)
{
    g_queue_free_full(w->close_later, free);
    w->close_later = NULL;
}
