/* The scenarios of dcgw-bench, in the order they run (libuv's benchmark-list.h idea:
 * one table). XX(name, description). A scenario gets a JSON object to fill
 * with "status" and its points. */
#ifndef DCGW_BENCH_LIST_H
#define DCGW_BENCH_LIST_H

#define BENCH_SCENARIOS(XX)                                                                        \
    XX(tput_size, "throughput by message size: one session, one channel, each path")               \
    XX(tput_scale, "throughput of 1 KiB messages by sessions x channels")                          \
    XX(latency, "ping-pong round trips by size, and at half load")                                 \
    XX(idle, "idle sessions held: memory and idle CPU per session")                                \
    XX(setup, "session set-up rate: bridged sessions/s, two DTLS handshakes each")                 \
    XX(peak, "memory after a peak: workers' RSS before, at and after many sessions")               \
    XX(soak, "many set-ups and closes: dcgwd's RSS after the warm-up and at the end")              \
    XX(relay, "relay mode: messages/s and CPU per relayed datagram against the direct path")       \
    XX(avatar, "avatar verification: verified MB/s against the same bytes unverified")             \
    XX(bootstrap, "bootstrap HTTP proxy: requests/s and MB/s through dcgw against curl direct")    \
    XX(metrics, "what scraping /metrics costs the data path: workers' CPU per message")            \
    XX(flood, "a session's round trips while one sender floods its worker from unknown sources")

#endif
