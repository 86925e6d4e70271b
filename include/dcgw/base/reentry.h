/* The one re-entrancy rule (docs/datapath.md "Callbacks and freeing").
 *
 * An object that calls its owner back embeds a struct dcgw_reentry and brackets every
 * stretch of its code that may run callbacks with dcgw_reentry_enter / dcgw_reentry_leave
 * (the stages: datachannel, sctp, dtls, dtls_inspect, relay; the worker brackets each loop
 * turn, whose end frees the legs that died in it). While entered:
 *  - its entry points that would run the machinery again (input, timers, start) refuse
 *    with DCGW_ESTATE: they test dcgw_reentry_busy first;
 *  - its free is deferred: the free function asks dcgw_reentry_free_now, which says false
 *    and remembers; the outermost dcgw_reentry_leave then returns true, and the caller
 *    releases the object there and touches it no more.
 * Query functions and sends stay allowed from callbacks; each header says which calls a
 * callback may make. Nesting is counted, so a callback that leads back into a query that
 * enters again is fine. Not thread-safe (one object, one loop). */
#ifndef DCGW_REENTRY_H
#define DCGW_REENTRY_H

#include <stdbool.h>

struct dcgw_reentry {
    unsigned depth;  /* enter/leave pairs on the stack */
    bool free_asked; /* the object was freed while entered */
};

static inline void dcgw_reentry_enter(struct dcgw_reentry *r)
{
    r->depth++;
}

/* Leaves one level. True when this was the outermost level and the object was freed
 * meanwhile: the caller releases it now (the request is then forgotten, so a guard that
 * outlives what it deferred, like the worker's loop turn, starts clean). */
static inline bool dcgw_reentry_leave(struct dcgw_reentry *r)
{
    if (--r->depth > 0 || !r->free_asked)
        return false;
    r->free_asked = false;
    return true;
}

/* Inside a callback of this object (or of code that entered it). */
static inline bool dcgw_reentry_busy(const struct dcgw_reentry *r)
{
    return r->depth > 0;
}

/* From the object's free: true to release it now; false when entered (the outermost
 * leave will say so). */
static inline bool dcgw_reentry_free_now(struct dcgw_reentry *r)
{
    if (r->depth == 0)
        return true;
    r->free_asked = true;
    return false;
}

#endif
