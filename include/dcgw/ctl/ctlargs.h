/* dcgwctl's arguments: the files it reads and the specifications it parses. Each function
 * reports a problem on stderr ("dcgwctl: ...") and returns NULL or -1; results are the
 * caller's (protobuf_c_message_free_unpacked, or free for text). */
#ifndef DCGW_CTLARGS_H
#define DCGW_CTLARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "dcgw.pb-c.h"

/* A whole file as a NUL-terminated string (malloc'd). */
char *dcgw_ctlargs_read_file(const char *path);
/* A policy file (docs/policy.md); patch: a patch of one (rules by name, remove_rules). */
Dcgw__Policy *dcgw_ctlargs_policy(const char *path, bool patch);
/* A JSON AvatarSettings file (docs/avatar-envelope.md). */
Dcgw__AvatarSettings *dcgw_ctlargs_avatar(const char *path);
/* A JSON RelaySettings file (a relay session's limits, docs/fastpath.md), or NULL after
 * saying why on stderr. */
Dcgw__RelaySettings *dcgw_ctlargs_relay(const char *path);
/* A JSON DcMedia holding bootstrap proxy fields (docs/bootstrap.md). */
Dcgw__DcMedia *dcgw_ctlargs_dcmedia(const char *path);
/* create --from FILE: a whole JSON Session. */
int dcgw_ctlargs_session(const char *path, Dcgw__Session **out);
/* --leg name=NAME[,mode=terminate|relay][,role=answer|offer][,sdp=FILE][,policy=FILE] into
 * leg and dc (leg->dc = dc); the SDP and policy files are read. */
int dcgw_ctlargs_leg(const char *spec, Dcgw__Leg *leg, Dcgw__DcMedia *dc);
/* Frees what dcgw_ctlargs_leg and create's --policy allocated (not legs and dcs). */
void dcgw_ctlargs_free_legs(Dcgw__Policy *policy, Dcgw__Leg *legs, Dcgw__DcMedia *dcs,
                            size_t n_legs);
/* The bootstrap proxy flags: opt 'b' --bootstrap STREAM=URL, 'm' --mdc1 IP:PORT, 'c'
 * --mdc1-ca FILE, into dc (strings may point into arg). */
int dcgw_ctlargs_proxy_flag(Dcgw__DcMedia *dc, int opt, char *arg);
/* create's form, LEG:STREAM=URL / LEG=VALUE: applied to s's leg of that name. */
int dcgw_ctlargs_leg_proxy_flag(Dcgw__Session *s, int opt, const char *arg);
/* update's: the flags above, 'N' --no-proxy and 'P' --proxy FILE, into *proxy (made on
 * the first one). */
int dcgw_ctlargs_update_proxy_flag(Dcgw__DcMedia **proxy, int ch, char *arg);

/* A whole decimal number in min..max (what names the option in the message). */
int dcgw_ctlargs_number(const char *what, const char *s, long long min, long long max,
                        long long *out);
/* A number of seconds, fractions allowed, in 0..max. */
int dcgw_ctlargs_seconds(const char *what, const char *s, double max, double *out);
/* --sdp-out DIR: made if missing (with its parents), and writable, before anything is sent. */
int dcgw_ctlargs_out_dir(const char *dir);

#endif
