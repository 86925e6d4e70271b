#!/usr/bin/env bash
# The relay fast path end to end (docs/fastpath.md), in a private network namespace:
#
#   +------------------------- unshare -n -p (this script) -------------------------+
#   |  peer A (ue) --lo--> [TC ingress: relay_fast] --> dcgwd (1 worker) --> peer B (as)|
#   |  peers: dcgw's client legs, ICE + DTLS 1.2 end to end (bench/relay/relay_check.c)  |
#   +---------------------------------------------------------------------------------+
#
# dcgwd with fast_path.enabled attaches its program to lo; relay_check then proves:
#   forged  a forged fingerprint is blocked and nothing is ever offloaded;
#   data    300 messages each way, byte-exact; the fast path's counters equal the
#           application data datagrams the peers sent, and dcgw's userspace (the flow's
#           counters and the worker's socket) received exactly the others (STUN);
#   policy  a new policy (UpdateSession.policy) takes the entry down first, then up again;
#   rate    a rate limit set by UpdateSession.relay holds within +-10%;
#   close   closing the session removes the entry, later datagrams reach nobody;
#   consent consent lost on a hop removes the entry, later datagrams are dropped.
# Then: the same daemon with the fast path not permitted (no BPF) says why and relays in
# userspace. About 20 s. Needs root and BPF; without BPF the check fails (CI has both).
source "$(dirname "$0")/lib.sh"
netns_reexec "$@"

CHECK="$DCGW_BUILD/bench/dcgw-relay-check"
[ -x "$CHECK" ] || { fail "dcgw-relay-check not built (DCGW_BENCH=ON)"; finish; exit 1; }

cat >"$T/dcgw.conf" <<CONF
workers = 1;
log: { level = "info"; };
control: { socket = "$SOCK"; };
data_plane: { address = "127.0.0.1"; };
ice: { consent_timeout_ms = 7000; };
fast_path: { enabled = true; max_flows = 64; };
CONF
start_dcgwd "$T/dcgw.conf"
check "dcgwd attached the fast path" grep -q "fast path on (tc" "$T/dcgwd.log"
if "$CHECK" -s "$SOCK" --messages 300 --rate 2000 >"$T/check.out" 2>&1; then
    ok "relay_check: $(grep -c '^ok' "$T/check.out") checks"
else
    fail "relay_check"
fi
sed 's/^/    /' "$T/check.out"
check "the fast path logged on and off" grep -q "fast path off (session closed)" "$T/dcgwd.log"
check "no worker lost" bash -c "! grep -q 'worker .* died' '$T/dcgwd.log'"
kill "$DCGWD_PID"; wait "$DCGWD_PID" 2>/dev/null || true; DCGWD_PID=""

# An interface that does not exist: a clear log line, relay flows stay in userspace.
sed -i 's/fast_path: { enabled = true; max_flows = 64; };/fast_path: { enabled = true; interfaces = "nosuch0"; };/' "$T/dcgw.conf"
start_dcgwd "$T/dcgw.conf"
check "unavailable fast path: said why" grep -q "fast path unavailable, relaying in userspace: interface nosuch0" "$T/dcgwd.log"
fast_flows_max() {
    ctl --json stats | "$PY" -c 'import json,sys; j=json.load(sys.stdin); print(sum(c["value"] for w in j["stats"]["workers"] for c in w["counters"] if c["name"]=="fast_path_max_flows"))'
}
check "unavailable fast path: no flow can be offloaded" test "$(fast_flows_max)" = 0
finish
