/* Two SCTP associations of this process's stack back to back in memory for test_sctp*.c:
 * a lossy link in each direction and simulated timer ticks (helper_sctp_pair.h), each end
 * recording what its association reports. Each call fails the running test when something
 * it needs does not work. */
#ifndef DCGW_TEST_SCTP_ASSOC_H
#define DCGW_TEST_SCTP_ASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcgw/stages/sctp.h"
#include "helper_sctp_pair.h"

enum { STP_MAX_MSGS = 4096 };

struct stp_rmsg {
    uint16_t stream;
    uint32_t ppid;
    unsigned flags;
    size_t n;
    uint8_t *p;
};

struct stp_peer {
    struct dcgw_sctp *s;
    struct lossy_link *out;
    struct stp_rmsg msgs[STP_MAX_MSGS];
    size_t nmsgs;
    int connected, closed, writable;
    int resets[3];
    uint16_t last_reset[3];
    bool free_on_message; /* frees itself inside on_message */
    bool send_in_send_packet;
    int nested_send_result;
    size_t max_packet;
    unsigned heartbeats; /* packets whose first chunk is a HEARTBEAT */
};

struct stp_pair {
    struct stp_peer a, b;
    struct sctp_pair_link l;
};

/* What stp_got_wanted() waits for: messages at a and at b; reset by stp_pair_new(). */
extern size_t stp_want_a, stp_want_b;

/* The send_packet callback of an end (ud): records the packet and sends it on its link. */
void stp_cb_send_packet(void *ud, const uint8_t *p, size_t n);
/* A lossy_deliver_fn: hands the packet to the association of end ud, if it has one. */
void stp_deliver(void *ud, const uint8_t *p, size_t n);
/* Default settings with these ports. */
void stp_settings(struct dcgw_sctp_settings *s, uint16_t lport, uint16_t rport);
/* Default settings for a and b on a fresh pair of ports. */
void stp_settings_pair(struct dcgw_sctp_settings *sa, struct dcgw_sctp_settings *sb);
/* The associations of pr with settings sa and sb (NULL: the defaults on fresh ports). */
void stp_pair_new(struct stp_pair *pr, const struct dcgw_sctp_settings *sa,
                  const struct dcgw_sctp_settings *sb);
/* Moves packets both ways and ticks the timers until done() or the budget runs out: the
 * ticks it took, or -1. */
int stp_pump(struct stp_pair *pr, bool (*done)(void *), int max_ticks);
/* Connects both ends and pumps until both are connected. */
void stp_pair_connect(struct stp_pair *pr);
/* Frees both associations, the messages received and the links. */
void stp_pair_free(struct stp_pair *pr);
/* Sends a message with PPID 53 on s, pumping while its send buffer is full; asserts
 * that it was accepted. */
void stp_send_waiting(struct stp_pair *pr, struct dcgw_sctp *s, uint16_t stream,
                      const struct dcgw_sctp_sendopts *o, const uint8_t *m, size_t n);
/* Message i of a test: a 4-byte index then a pattern that depends on it. free() it. */
uint8_t *stp_make_msg(uint32_t i, size_t n);
/* Asserts that m is message i of n bytes. */
void stp_check_msg(const struct stp_rmsg *m, uint32_t i, size_t n);
/* Done when a and b got stp_want_a and stp_want_b messages (ctx: the pair). */
bool stp_got_wanted(void *ctx);
/* The first max messages pe got on stream, into out: how many. */
size_t stp_on_stream(const struct stp_peer *pe, uint16_t stream, const struct stp_rmsg **out,
                     size_t max);
/* A marker message on stream 9 (another stream: not held up by the stream under test)
 * reached b (ctx: the pair). */
bool stp_marker_arrived(void *ctx);

#endif
