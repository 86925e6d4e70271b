/* A framed control stream over a libuv stream handle (Unix socket, TCP, or the master's
 * socketpair to a worker), optionally inside TLS (OpenSSL over memory BIOs).
 *
 * Input is bounded by the frame decoder's max_frame, output by outbuf_limit: a peer that
 * stops reading is disconnected rather than buffered without end. */
#ifndef DCGW_STREAM_H
#define DCGW_STREAM_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dcgw.pb-c.h"

struct dcgw_stream;

struct dcgw_stream_cbs {
    void *ud;
    /* One complete payload. A non-zero return closes the stream. The stream may be
     * closed (dcgw_stream_close) from inside; it is freed only after on_close. */
    int (*on_frame)(void *ud, struct dcgw_stream *s, const uint8_t *p, size_t n);
    /* Called once when the stream is gone (peer closed, error, or dcgw_stream_close);
     * err is 0 or why. The stream pointer is invalid after this returns. */
    void (*on_close)(void *ud, struct dcgw_stream *s, int err);
};

struct dcgw_stream_settings {
    size_t max_frame;
    size_t outbuf_limit;
    SSL_CTX *tls; /* NULL: plain; else the server side of a TLS session */
};

/* Takes ownership of handle (initialised, connected; allocated with malloc, as large as
 * its type) and starts reading. On error the handle is closed and freed. */
int dcgw_stream_new(uv_stream_t *handle, const struct dcgw_stream_settings *st,
                    const struct dcgw_stream_cbs *cbs, struct dcgw_stream **out);
/* Queues bytes that are already framed. DCGW_ELIMIT when the output queue is full (the
 * stream is closed), DCGW_ECLOSED after close. */
int dcgw_stream_write(struct dcgw_stream *s, const uint8_t *p, size_t n);
/* Packs and queues a frame. */
int dcgw_stream_send(struct dcgw_stream *s, const Dcgw__Frame *f);
int dcgw_stream_send_response(struct dcgw_stream *s, const Dcgw__Response *r);
int dcgw_stream_send_event(struct dcgw_stream *s, const Dcgw__Event *ev);
/* Closes after queued output is flushed (best effort); on_close follows. Idempotent. */
void dcgw_stream_close(struct dcgw_stream *s, int err);
/* Closes at once, dropping what is queued (a peer that does not read, at shutdown);
 * on_close follows. */
void dcgw_stream_abort(struct dcgw_stream *s, int err);
/* Loop time (uv_now, ms) since when part of a frame (or of a TLS record or handshake)
 * waits for the rest; 0 when nothing is pending. */
uint64_t dcgw_stream_partial_since(const struct dcgw_stream *s);
/* Bytes queued and not yet written. */
size_t dcgw_stream_queued(const struct dcgw_stream *s);
/* Opaque per-user value. */
void dcgw_stream_set_data(struct dcgw_stream *s, void *data);
void *dcgw_stream_data(const struct dcgw_stream *s);
/* Subject CN of the TLS client certificate, or "" (plain streams, no certificate). */
const char *dcgw_stream_peer_name(const struct dcgw_stream *s);

/* A TLS server context for the control socket: cert/key, client certificates required
 * and verified against ca (mutual TLS), TLS 1.2+. NULL with a reason in err. */
SSL_CTX *dcgw_stream_tls_server_ctx(const char *cert, const char *key, const char *ca, char *err,
                                    size_t errcap);

#endif
