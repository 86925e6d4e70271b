/* Internal to the SCTP stage (src/stages/sctp.c, src/stages/sctp_rx.c): the association object. Not
 * a public header. */
#ifndef DCGW_SCTP_INT_H
#define DCGW_SCTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <usrsctp.h>

#include "dcgw/base/reentry.h"
#include "dcgw/stages/sctp.h"

struct sndbuf_use {
    sctp_assoc_t ss_assoc_id;
    uint32_t ss_total_sndbuf;
    uint32_t ss_total_recv_buf;
};

enum { TOKEN_SHIFT = 23, SLOT_NONE = UINT32_MAX, SCTP_COMMON_HEADER = 12 };

struct dcgw_sctp {
    struct socket *so;
    uintptr_t token; /* our AF_CONN address: generation and slot, never a pointer */
    uint32_t slot;
    struct dcgw_sctp_settings set;
    struct dcgw_sctp_callbacks cbs;
    enum dcgw_sctp_state state;
    uint16_t out_streams, in_streams;
    struct dcgw_sctp_stats stats;

    struct dcgw_sctp *pend_next, *pend_prev; /* on the pending list when pending */
    bool pending;
    struct dcgw_reentry re; /* callbacks of this association on the stack (base/reentry.h) */
    bool zombie;            /* freed by the owner, memory (or all) released later */
    bool silent;            /* freed from inside usrsctp: drop its remaining output */
    bool torn_down;         /* socket closed, unregistered */
    bool bound;             /* holds g.by_port[set.local_port] */
    void *addr; /* AF_CONN address: the shared one, or the token when the port was taken */
    struct dcgw_sctp *zombie_next;
    bool want_writable;   /* a send returned EAGAIN, or the owner asked */
    size_t writable_at;   /* ... then on_writable at this many buffered bytes */
    size_t queued_max;    /* buffered bytes at most: the last count plus what was sent since */
    bool read_paused;     /* back-pressure: read nothing (dcgw_sctp_pause_reading) */
    bool closed_reported; /* on_closed delivered */

    /* reassembly of a message read in pieces; bounded by max_message_size */
    uint8_t *rx_buf;
    size_t rx_len, rx_cap;
    bool rx_dropping; /* discarding the rest of an oversized message */
    bool notif_cont;  /* inside a notification larger than one read */
    uint16_t rx_sid;
    uint32_t rx_ppid;
    unsigned rx_flags;
};

static inline void mark_closed(struct dcgw_sctp *s)
{
    s->state = DCGW_SCTP_CLOSED;
    s->want_writable = false;
}

/* src/stages/sctp_settings.c */
/* Fills in defaults and checks an association's settings; DCGW_ECONFIG when unusable. */
int dcgw__sctp_normalize(struct dcgw_sctp_settings *s);
/* Whether a CRC-checked SCTP packet carries more than HEARTBEAT / HEARTBEAT-ACK chunks. */
bool dcgw__sctp_active_packet(const uint8_t *p, size_t n);
bool dcgw__sctp_data_packet(const uint8_t *p, size_t n);

/* src/stages/sctp_rx.c: what the drain loop read from an association's socket. */
void dcgw__sctp_on_data(struct dcgw_sctp *s, const uint8_t *p, size_t n,
                        const struct sctp_rcvinfo *rcv, int msg_flags);
void dcgw__sctp_on_notification(struct dcgw_sctp *s, const uint8_t *p, size_t n, int msg_flags);

#endif
