/* The master's service notifications to systemd (Type=notify, dist/dcgwd.service):
 * READY=1 once every worker is ready, RELOADING=1 then READY=1 around a SIGHUP reload,
 * STOPPING=1 when it drains. sd_notify does nothing when NOTIFY_SOCKET is not set. */
#include <systemd/sd-daemon.h>

#include "dcgw/base/log.h"
#include "master_int.h"

void dcgw__notify_ready(struct master *m)
{
    if (m->draining)
        return;
    for (uint32_t i = 0; i < m->n_workers; i++)
        if (!m->workers[i].ready)
            return;
    if (!m->ready_notified)
        DCGW_DEBUG(MASTER, "service ready (%u workers)", m->n_workers);
    m->ready_notified = true;
    sd_notifyf(0, "READY=1\nSTATUS=%u workers ready, control socket %s", m->n_workers,
               m->cfg.control.socket);
}

void dcgw__notify_reloading(struct master *m)
{
    (void)m;
    sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void dcgw__notify_reloaded(struct master *m)
{
    if (m->ready_notified)
        dcgw__notify_ready(m);
}

void dcgw__notify_stopping(struct master *m)
{
    (void)m;
    sd_notify(0, "STOPPING=1\nSTATUS=closing sessions and stopping workers");
}
